/*
 * via.c — the Via header field (RFC 3261 §20.42, §25.1 via-parm; RFC 3581
 * rport): sent-protocol, sent-by and the parameters a transaction layer and
 * a transport need (branch, received, rport, maddr, ttl).
 */
#include "scan.h"
#include "libsip/hdr.h"

/* The transport token, case-insensitive; each test compares the length
 * first, so the common UDP costs a few compares. */
static enum sip_transport transport_id(struct sip_pl t)
{
	if (PL_IS(t, "udp"))
		return SIP_TP_UDP;
	if (PL_IS(t, "tcp"))
		return SIP_TP_TCP;
	if (PL_IS(t, "tls"))
		return SIP_TP_TLS;
	if (PL_IS(t, "sctp"))
		return SIP_TP_SCTP;
	if (PL_IS(t, "tls-sctp"))
		return SIP_TP_TLS_SCTP;
	if (PL_IS(t, "ws"))
		return SIP_TP_WS;
	if (PL_IS(t, "wss"))
		return SIP_TP_WSS;
	return SIP_TP_OTHER;
}

/* One token of sent-protocol followed by SLASH (SWS "/" SWS) when want_slash. */
static const char *proto_part(const char *p, const char *end, struct sip_pl *out, bool want_slash)
{
	const char *s = p;

	p = scan_class(p, end, CH_TOKEN);
	if (p == s)
		return NULL;
	*out = pl_span(s, p);
	if (!want_slash)
		return p;
	p = scan_lws(p, end);
	if (p == end || *p != '/')
		return NULL;
	return scan_lws(p + 1, end);
}

/* [COLON port] after the host, COLON being SWS ":" SWS; 1-5 digits, 1 to
 * 65535 (a sixth digit is refused without reading further). */
static const char *via_port(struct sip_via *via, const char *p, const char *end)
{
	const char *q = scan_lws(p, end), *d;
	uint32_t port = 0;

	if (q == end || *q != ':')
		return p;
	q = scan_lws(q + 1, end);
	for (d = q; d < end && d - q < 6 && *d >= '0' && *d <= '9'; d++)
		port = port * 10 + (uint32_t)(*d - '0');
	if (d == q || d - q > 5 || port > 65535 || port == 0)
		return NULL;
	via->port = (uint16_t)port;
	return d;
}

static int via_param(struct sip_via *via, struct sip_pl name, struct sip_pl value)
{
	if (PL_IS(name, "branch")) {
		if (!value.p)
			return SIP_ERR_VIA;
		via->branch = value;
	} else if (PL_IS(name, "received")) {
		via->received = value;
	} else if (PL_IS(name, "rport")) {
		uint32_t port = 0;

		if (value.p && (sip_pl_u32(value, 65535, &port) < 0))
			return SIP_ERR_VIA;
		via->has_rport = true;
		via->rport = (uint16_t)port;
	} else if (PL_IS(name, "maddr")) {
		via->maddr = value;
	} else if (PL_IS(name, "ttl")) {
		uint32_t ttl;

		if (!value.p || sip_pl_u32(value, 255, &ttl) < 0)
			return SIP_ERR_VIA;
		via->ttl = value;
	}
	return 0;
}

static int via_params(struct sip_via *via, const char *p, const char *end)
{
	struct sip_pl name, value;
	int r;

	via->params = pl_span(p, end);
	while ((r = param_next(&p, end, &name, &value)) > 0)
		if (via_param(via, name, value) < 0)
			return SIP_ERR_VIA;
	return r < 0 ? SIP_ERR_VIA : 0;
}

int sip_via_parse(struct sip_via *via, struct sip_pl value)
{
	const char *p = value.p, *end = value.p + value.len, *s;

	clear_struct(via, sizeof(*via));
	p = scan_lws(p, end);
	/* Nearly every Via starts "SIP/2.0/": take it in one compare. */
	if (end - p > 8 && memcmp(p, "SIP/2.0/", 8) == 0) {
		via->proto = sip_pl(p, 3);
		via->version = sip_pl(p + 4, 3);
		if (!(p = proto_part(p + 8, end, &via->transport, false)))
			return SIP_ERR_VIA;
	} else if (!(p = proto_part(p, end, &via->proto, true)) ||
	           !(p = proto_part(p, end, &via->version, true)) ||
	           !(p = proto_part(p, end, &via->transport, false)))
		return SIP_ERR_VIA;
	else if (!PL_IS(via->proto, "sip"))
		return SIP_ERR_VIA;
	else if (!sip_pl_eq(via->version, SIP_PL("2.0")))
		return SIP_ERR_VERSION;
	via->tp = transport_id(via->transport);
	s = p;
	p = scan_lws(p, end);
	if (p == s)
		return SIP_ERR_VIA;
	s = p;
	if (!(p = scan_host(p, end, &via->host, &via->host_type)))
		return SIP_ERR_VIA;
	if (!(p = via_port(via, p, end)))
		return SIP_ERR_VIA;
	via->sent_by = pl_span(s, p);
	p = scan_lws(p, end);
	if (p < end && *p != ';')
		return SIP_ERR_VIA;
	return via_params(via, p, end);
}

bool sip_via_branch_is_3261(const struct sip_via *via)
{
	return via->branch.len >= 7 && memcmp(via->branch.p, "z9hG4bK", 7) == 0;
}
