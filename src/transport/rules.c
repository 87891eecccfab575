/*
 * rules.c — the transport rules a server applies to the top Via (RFC 3261
 * §18.2.1 "received", §18.2.2 where a response goes, RFC 3581 §4 "rport").
 * Pure functions on a parsed Via and socket addresses: no I/O, no DNS (a
 * host name destination is refused here and left to RFC 3263 above).
 */
#include "tp_priv.h"

#define DEFAULT_PORT 5060

bool tp_via_needs_received(const struct sip_via *via, const struct tp_addr *src)
{
	struct tp_addr sent_by;

	/* RFC 3581 §4: with rport, received is added even when it equals
	 * sent-by, so the response rules below always find it. */
	if (via->has_rport)
		return true;
	if (via->host_type != SIP_HOST_IPV4 && via->host_type != SIP_HOST_IPV6)
		return true;
	if (tp_addr_from_host(&sent_by, via->host, 0) < 0)
		return true;
	/* Compare as addresses, not text: "::1" and "0::1" are one host. */
	return !tp_addr_ip_eq(&sent_by, src);
}

static uint16_t sent_by_port(const struct sip_via *via)
{
	return via->port ? via->port : DEFAULT_PORT;
}

/* The source address with another port: §18.2.1 makes the source IP the
 * "received" value, so it stands in for the parameter the server adds. */
static void src_at(struct tp_addr *dst, const struct tp_addr *src, uint16_t port)
{
	*dst = *src;
	if (dst->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&dst->ss)->sin_port = htons(port);
	else if (dst->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&dst->ss)->sin6_port = htons(port);
}

/* A numeric host from the Via; a name needs DNS, which is not done here. */
static int via_host_at(struct tp_addr *dst, struct sip_pl host, uint16_t port)
{
	return tp_addr_from_host(dst, host, port) < 0 ? SIP_ERR_UNSUPPORTED : 0;
}

/* Without the request's rx (a proxy forwarding a response): received=
 * when the previous hop added it, else the sent-by host. */
static int from_via(const struct sip_via *via, struct tp_addr *dst, uint16_t port)
{
	if (sip_pl_isset(via->received) && via->received.len)
		return via_host_at(dst, via->received, port);
	return via_host_at(dst, via->host, port);
}

/* §18.2.2 bullets 2–4 with RFC 3581: unreliable transport. */
static int unreliable_dest(const struct tp_rx *rx, const struct sip_via *via, struct tp_addr *dst)
{
	uint16_t port = sent_by_port(via);

	if (sip_pl_isset(via->maddr) && via->maddr.len)
		return via_host_at(dst, via->maddr, port);
	if (via->has_rport) {
		if (rx)
			port = tp_addr_port(&rx->src);
		else if (via->rport)
			port = via->rport;
	}
	if (!rx)
		return from_via(via, dst, port);
	src_at(dst, &rx->src, port);
	return 0;
}

int tp_response_dest(const struct tp_rx *rx, const struct sip_via *via, struct tp_addr *dst,
                     uint64_t *conn_id)
{
	bool reliable = rx ? rx->proto != TP_UDP : via->tp != SIP_TP_UDP;

	*conn_id = 0;
	if (!reliable)
		return unreliable_dest(rx, via, dst);
	/* §18.2.2 bullet 1: the connection the request came on; should it
	 * have closed, a new one to the received address at the sent-by
	 * port (the peer's listening port, not its ephemeral one). */
	if (!rx)
		return from_via(via, dst, sent_by_port(via));
	*conn_id = rx->conn_id;
	src_at(dst, &rx->src, sent_by_port(via));
	return 0;
}
