/*
 * via.c — the Via header field (RFC 3261 §20.42, §25.1 via-parm; RFC 3581
 * rport): sent-protocol, sent-by and the parameters a transaction layer and
 * a transport need (branch, received, rport, maddr, ttl).
 */
#include "scan.h"
#include "libsip/hdr.h"

static const struct {
	const char *name;
	enum sip_transport tp;
} transports[] = {
        {"UDP", SIP_TP_UDP},   {"TCP", SIP_TP_TCP},           {"TLS", SIP_TP_TLS},
        {"SCTP", SIP_TP_SCTP}, {"TLS-SCTP", SIP_TP_TLS_SCTP}, {"WS", SIP_TP_WS},
        {"WSS", SIP_TP_WSS},
};

static enum sip_transport transport_id(struct sip_pl t)
{
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (t.len == strlen(transports[i].name) && sip_pl_caseeq_str(t, transports[i].name))
			return transports[i].tp;
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

/* [COLON port] after the host, COLON being SWS ":" SWS. */
static const char *via_port(struct sip_via *via, const char *p, const char *end)
{
	const char *q = scan_lws(p, end), *d;
	uint32_t port = 0;

	if (q == end || *q != ':')
		return p;
	q = scan_lws(q + 1, end);
	d = scan_class(q, end, CH_DIGIT);
	if (d - q > 5 || sip_pl_u32(pl_span(q, d), 65535, &port) < 0 || port == 0)
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
	struct sip_pl cur = pl_span(p, end), name, value;
	int r;

	via->params = cur;
	while ((r = sip_param_next(&cur, &name, &value)) > 0)
		if (via_param(via, name, value) < 0)
			return SIP_ERR_VIA;
	return r < 0 ? SIP_ERR_VIA : 0;
}

int sip_via_parse(struct sip_via *via, struct sip_pl value)
{
	const char *p = value.p, *end = value.p + value.len, *s;

	memset(via, 0, sizeof(*via));
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
	else if (!PL_IS(via->proto, "SIP"))
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
