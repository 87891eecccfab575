/*
 * params.c — ';'-separated name[=value] lists: uri-parameters (RFC 3261
 * §19.1.1) and header generic-params (§25.1, with LWS around ';' and '='
 * and quoted-string values). One iterator serves both.
 */
#include "scan.h"

int sip_param_next(struct sip_pl *cur, struct sip_pl *name, struct sip_pl *value)
{
	const char *p = cur->p, *end = cur->p + cur->len, *s;

	p = scan_lws(p, end);
	if (p == end) {
		*cur = sip_pl(end, 0);
		return 0;
	}
	if (*p == ';')
		p = scan_lws(p + 1, end);
	s = p;
	p = scan_class(p, end, CH_PARAM);
	if (p == s)
		return SIP_ERR_SYNTAX;
	*name = sip_pl(s, (size_t)(p - s));
	*value = SIP_PL_NULL;
	p = scan_lws(p, end);
	if (p < end && *p == '=') {
		p = scan_lws(p + 1, end);
		s = p;
		if (p < end && *p == '"')
			p = scan_quoted(p, end);
		else
			p = scan_class(p, end, CH_PARAM);
		if (!p || p == s)
			return SIP_ERR_SYNTAX;
		*value = sip_pl(s, (size_t)(p - s));
		p = scan_lws(p, end);
	}
	if (p < end && *p != ';')
		return SIP_ERR_SYNTAX;
	*cur = sip_pl(p, (size_t)(end - p));
	return 1;
}

int sip_param_find(struct sip_pl list, const char *name, struct sip_pl *value)
{
	struct sip_pl n, v;
	int r;

	while ((r = sip_param_next(&list, &n, &v)) > 0) {
		if (sip_pl_caseeq_str(n, name)) {
			*value = v;
			return 0;
		}
	}
	return r < 0 ? r : SIP_ERR_NOT_FOUND;
}
