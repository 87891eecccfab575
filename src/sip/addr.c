/*
 * addr.c — name-addr / addr-spec with header parameters (RFC 3261 §20.10,
 * §20.20, §20.39, §25.1): From, To, Contact (and "*"), Route, Record-Route,
 * Path, Reply-To. The URI itself is only located here; uri.c parses it on
 * demand.
 */
#include "scan.h"
#include "libsip/hdr.h"

static int addr_param(struct sip_addr *a, struct sip_pl name, struct sip_pl value)
{
	struct sip_pl *slot = NULL;

	if (PL_IS(name, "tag"))
		slot = &a->tag;
	else if (PL_IS(name, "q"))
		slot = &a->q;
	else if (PL_IS(name, "expires"))
		slot = &a->expires;
	else if (PL_IS(name, "+sip.instance"))
		slot = &a->instance;
	else if (PL_IS(name, "reg-id"))
		slot = &a->reg_id;
	if (!slot)
		return 0;
	/* tag, q, expires and reg-id need a value; a repeated one is ambiguous. */
	if (!value.p || slot->p)
		return SIP_ERR_ADDR;
	*slot = value;
	return 0;
}

static int addr_params(struct sip_addr *a, const char *p, const char *end)
{
	struct sip_pl name, value;
	int r;

	p = scan_lws(p, end);
	if (p < end && *p != ';')
		return SIP_ERR_ADDR;
	a->params = pl_span(p, end);
	while ((r = param_next(&p, end, &name, &value)) > 0)
		if (addr_param(a, name, value) < 0)
			return SIP_ERR_ADDR;
	return r < 0 ? SIP_ERR_ADDR : 0;
}

/* name-addr: [display-name] LAQUOT addr-spec RAQUOT. No white space is
 * allowed just inside the brackets (RFC 4475 badaspec). display-name is
 * *(token LWS) / quoted-string; the unquoted form may be written straight
 * against '<' (RFC 4475 lwsdisp is accepted), and is already known to be
 * tokens and LWS: that is how sip_addr_parse() found the '<'. */
static int name_addr(struct sip_addr *a, const char *p, const char *end, const char *lt)
{
	const char *gt = memchr(lt, '>', (size_t)(end - lt));

	if (!gt || gt == lt + 1 || ch_is((unsigned char)lt[1], CH_LWS) ||
	    ch_is((unsigned char)gt[-1], CH_LWS))
		return SIP_ERR_ADDR;
	if (!a->display.p)
		a->display = sip_pl_trim(pl_span(p, lt));
	else if (scan_lws(a->display.p + a->display.len, end) != lt)
		return SIP_ERR_ADDR;
	a->uri = pl_span(lt + 1, gt);
	a->bracketed = true;
	return addr_params(a, gt + 1, end);
}

/* addr-spec without brackets: the URI ends at the first ';' or white space,
 * and may not carry '?' headers or ',' (§20.10). */
static int bare_addr(struct sip_addr *a, const char *p, const char *end)
{
	const char *s = p;

	while (p < end && *p != ';' && !ch_is((unsigned char)*p, CH_LWS)) {
		if (*p == '?' || *p == ',' || *p == '"' || *p == '>')
			return SIP_ERR_ADDR;
		p++;
	}
	if (p == s || !memchr(s, ':', (size_t)(p - s)))
		return SIP_ERR_ADDR;
	a->uri = pl_span(s, p);
	return addr_params(a, p, end);
}

int sip_addr_parse(struct sip_addr *a, struct sip_pl value)
{
	const char *p = value.p, *end = value.p + value.len, *q;

	clear_struct(a, sizeof(*a));
	p = scan_lws(p, end);
	if (p == end)
		return SIP_ERR_ADDR;
	if (*p == '*') {
		a->star = true;
		return addr_params(a, p + 1, end);
	}
	if (*p == '"') {
		if (!(q = scan_quoted(p, end)))
			return SIP_ERR_ADDR;
		a->display = pl_span(p, q);
		q = scan_lws(q, end);
		if (q == end || *q != '<')
			return SIP_ERR_ADDR;
		return name_addr(a, p, end, q);
	}
	/* Only tokens and LWS may stand before the '<' of a name-addr. A '<'
	 * further on belongs to a bare addr-spec's quoted param value
	 * (+sip.instance="<urn:...>", RFC 5626), not to a name-addr. */
	q = scan_class(p, end, CH_TOKEN | CH_LWS);
	if (q < end && *q == '<')
		return name_addr(a, p, end, q);
	return bare_addr(a, p, end);
}

int sip_addr_display(const struct sip_addr *a, char *buf, size_t cap)
{
	struct sip_pl d = a->display;
	size_t n = 0;

	if (d.len >= 2 && d.p[0] == '"') {
		d.p++;
		d.len -= 2;
	}
	for (size_t i = 0; i < d.len; i++) {
		if (d.p[i] == '\\' && a->display.p[0] == '"' && i + 1 < d.len)
			i++;
		if (n >= cap)
			return SIP_ERR_NOSPACE;
		buf[n++] = d.p[i];
	}
	return (int)n;
}

int sip_addr_q(const struct sip_addr *a, int def)
{
	struct sip_pl q = a->q;
	int v = 0, digits = 0;

	if (!q.p)
		return def;
	/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
	if (q.len == 0 || (q.p[0] != '0' && q.p[0] != '1'))
		return SIP_ERR_RANGE;
	v = (q.p[0] - '0') * 1000;
	if (q.len > 1) {
		if (q.p[1] != '.' || q.len > 5)
			return SIP_ERR_RANGE;
		for (size_t i = 2; i < q.len; i++, digits++) {
			if (q.p[i] < '0' || q.p[i] > '9')
				return SIP_ERR_RANGE;
			v += (q.p[i] - '0') * (digits == 0 ? 100 : digits == 1 ? 10 : 1);
		}
	}
	return v > 1000 ? SIP_ERR_RANGE : v;
}
