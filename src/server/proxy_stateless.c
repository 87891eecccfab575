/*
 * proxy_stateless.c — what the proxy forwards without a transaction
 * (RFC 3261 §16.11): the ACK of a 2xx along its route, and a 2xx that
 * came after its client transaction ended, by the next Via.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "libsip/build.h"
#include "libsip/hdr.h"
#include "sipd.h"

#include "proxy_priv.h"

/* ---- stateless forwarding (§16.11) ------------------------------------------------------ */

void sipd_proxy_ack(struct sipd *s, const struct sip_msg *ack, const struct tsx_peer *from)
{
	/* An ACK for a 2xx follows the Route set: drop our Route, send to the
	 * next one or the Request-URI. */
	const struct sip_hdr *rt = sip_msg_hdr(ack, SIP_HDR_ROUTE);
	struct sip_edit *e;
	struct tsx_peer to;
	char buf[FWD_MAX], host[80], via[256];
	uint16_t port;
	unsigned char rnd[8];
	char rhex[17];
	int n;

	if (sip_edit_new(&e, ack) < 0)
		return;
	/* Our own entries on top go: one, or two after a transport change
	 * (RFC 5658). */
	size_t pos = 0;
	struct tp_addr flow;
	bool has_flow = false;
	rt = sip_msg_hdr_next(ack, SIP_HDR_ROUTE, &pos);
	for (int i = 0; rt && i < 2; i++) {
		const struct sip_addr *ra;
		const struct sip_uri *ru;
		if (sip_msg_hdr_addr(ack, rt, &ra) < 0 || sip_msg_addr_uri(ack, ra, &ru) < 0 ||
		    !sipd_is_local_host(s, ru))
			break;
		has_flow = ru->user.len && sipd_flow_decode(s, ru->user, &flow);
		sip_edit_hdr_remove(e, rt);
		rt = sip_msg_hdr_next(ack, SIP_HDR_ROUTE, &pos);
	}
	if (rt ? px_pl_uri_dest(rt->value, &to) < 0 : px_uri_dest(sip_msg_ruri(ack), &to) < 0)
		return; /* nowhere we can reach: an ACK gets no answer anyway */
	if (!rt && has_flow && to.proto == TP_TLS && tp_conn_open(s->tp, TP_TLS, &flow))
		to.addr = flow; /* as flow_hop() */
	if (!px_local_for(s, to.proto, to.addr.ss.ss_family, host, sizeof(host), &port) ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		return;
	sip_hex_encode(rhex, rnd, sizeof(rnd));
	snprintf(via, sizeof(via), "SIP/2.0/%s %s:%u;branch=z9hG4bK%s", tp_proto_name(to.proto),
	         host, port, rhex);
	if (sip_edit_max_forwards(e) < 0 || sip_edit_via_push(e, sip_pl_cstr(via)) < 0 ||
	    (n = sip_edit_print(e, buf, sizeof(buf))) < 0)
		return;
	(void)from;
	sipd_send(s, to.proto, &to.addr, 0, buf, (size_t)n);
}

/* Over TCP or TLS, the connection the request came on is the way back
 * (§18.2.2, RFC 5923): its source port is the rport we filled in, while
 * the sent-by port is where a UA without a certificate listens for
 * nothing. */
static void stream_source(struct sipd *s, enum tp_proto proto, const struct sip_via *via,
                          struct tp_addr *dst)
{
	struct tp_addr src;
	char host[64];

	if (proto == TP_UDP || !via->rport)
		return;
	tp_addr_host(dst, host, sizeof(host));
	if (tp_addr_from_host(&src, sip_pl_cstr(host), via->rport) == 0 &&
	    tp_conn_open(s->tp, proto, &src))
		*dst = src;
}

void sipd_proxy_stray(struct sipd *s, const struct sip_msg *resp)
{
	/* A 2xx after its client transaction ended (a retransmission, or
	 * another fork's): forwarded statelessly by the next Via (§16.7). */
	const struct sip_via *top = sip_msg_via(resp);
	const struct sip_hdr *h;
	const struct sip_via *next = NULL;
	struct sip_uri u = {.scheme = SIP_SCHEME_SIP, .host_type = SIP_HOST_DOMAIN};
	struct sip_edit *e;
	struct tp_addr dst;
	uint64_t conn = 0;
	char buf[FWD_MAX];
	size_t pos = 0;
	int n;

	if (sip_msg_status(resp) / 100 != 2 || !top)
		return;
	u.host = top->host;
	u.port = top->port;
	if (!sipd_is_local_host(s, &u))
		return;
	sip_msg_hdr_next(resp, SIP_HDR_VIA, &pos);
	if (!(h = sip_msg_hdr_next(resp, SIP_HDR_VIA, &pos)) || sip_msg_hdr_via(resp, h, &next) < 0)
		return;
	if (tp_response_dest(NULL, next, &dst, &conn) < 0 || sip_edit_new(&e, resp) < 0 ||
	    sip_edit_via_pop(e) < 0 || (n = sip_edit_print(e, buf, sizeof(buf))) < 0)
		return;
	enum tp_proto proto = next->tp == SIP_TP_TLS   ? TP_TLS
	                      : next->tp == SIP_TP_TCP ? TP_TCP
	                                               : TP_UDP;
	stream_source(s, proto, next, &dst);
	sipd_send(s, proto, &dst, 0, buf, (size_t)n);
}
