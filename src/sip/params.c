/*
 * params.c — ';'-separated name[=value] lists: uri-parameters (RFC 3261
 * §19.1.1) and header generic-params (§25.1, with LWS around ';' and '='
 * and quoted-string values). One iterator serves both.
 */
#include "scan.h"

int sip_param_next(struct sip_pl *cur, struct sip_pl *name, struct sip_pl *value)
{
	const char *p = cur->p, *end = cur->p + cur->len;
	int r = param_next(&p, end, name, value);

	if (r >= 0)
		*cur = sip_pl(p, (size_t)(end - p));
	return r;
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
