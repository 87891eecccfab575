/*
 * hdr_misc.c — the small header grammars of RFC 3261 §20/§25.1: CSeq,
 * decimal values (Max-Forwards, Expires, Content-Length ...), Content-Type,
 * Retry-After, Call-ID and Date (RFC 1123 in GMT, §20.17).
 */
#include "scan.h"
#include "libsip/hdr.h"
#include "libsip/msg.h"

int sip_hdr_u32(struct sip_pl value, uint32_t max, uint32_t *out)
{
	return sip_pl_u32(sip_pl_trim(value), max, out);
}

int sip_cseq_parse(struct sip_cseq *cseq, struct sip_pl value)
{
	const char *p = value.p, *end = value.p + value.len, *s;
	uint64_t n = 0;

	memset(cseq, 0, sizeof(*cseq));
	p = scan_lws(p, end);
	/* The number in the one pass that finds its end; leading zeros are
	 * fine, a value over 2^32-1 is not. */
	for (s = p; p < end && *p >= '0' && *p <= '9'; p++)
		if ((n = n * 10 + (uint64_t)(*p - '0')) > UINT32_MAX)
			return SIP_ERR_CSEQ;
	if (p == s)
		return SIP_ERR_CSEQ;
	cseq->num = (uint32_t)n;
	s = p;
	p = scan_lws(p, end);
	if (p == s)
		return SIP_ERR_CSEQ;
	s = p;
	p = scan_class(p, end, CH_TOKEN);
	if (p == s || scan_lws(p, end) != end)
		return SIP_ERR_CSEQ;
	cseq->method = pl_span(s, p);
	cseq->method_id = (int)sip_method_from_name(cseq->method);
	return 0;
}

/* m-type SLASH m-subtype *(SEMI m-parameter) */
int sip_ctype_parse(struct sip_ctype *ct, struct sip_pl value)
{
	const char *p = value.p, *end = value.p + value.len, *s;
	struct sip_pl cur, n, v;
	int r;

	memset(ct, 0, sizeof(*ct));
	p = scan_lws(p, end);
	s = p;
	p = scan_class(p, end, CH_TOKEN);
	ct->type = pl_span(s, p);
	p = scan_lws(p, end);
	if (ct->type.len == 0 || p == end || *p != '/')
		return SIP_ERR_CTYPE;
	p = scan_lws(p + 1, end);
	s = p;
	p = scan_class(p, end, CH_TOKEN);
	ct->subtype = pl_span(s, p);
	p = scan_lws(p, end);
	if (ct->subtype.len == 0 || (p < end && *p != ';'))
		return SIP_ERR_CTYPE;
	ct->params = cur = pl_span(p, end);
	while ((r = sip_param_next(&cur, &n, &v)) > 0)
		;
	return r < 0 ? SIP_ERR_CTYPE : 0;
}

/* delta-seconds [ comment ] *( SEMI retry-param ) */
int sip_retry_after_parse(struct sip_retry_after *ra, struct sip_pl value)
{
	const char *p = value.p, *end = value.p + value.len, *s;
	struct sip_pl cur, n, v;
	int r;

	memset(ra, 0, sizeof(*ra));
	p = scan_lws(p, end);
	s = p;
	p = scan_class(p, end, CH_DIGIT);
	if (sip_pl_u32(pl_span(s, p), UINT32_MAX, &ra->seconds) < 0)
		return SIP_ERR_RANGE;
	p = scan_lws(p, end);
	if (p < end && *p == '(') {
		/* Comments nest; a depth bound keeps hostile input cheap. */
		int depth = 0;

		s = p + 1;
		for (; p < end; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == '(' && ++depth > 32)
				return SIP_ERR_SYNTAX;
			else if (*p == ')' && --depth == 0)
				break;
		}
		if (p == end)
			return SIP_ERR_SYNTAX;
		ra->comment = pl_span(s, p);
		p = scan_lws(p + 1, end);
	}
	if (p < end && *p != ';')
		return SIP_ERR_SYNTAX;
	ra->params = cur = pl_span(p, end);
	while ((r = sip_param_next(&cur, &n, &v)) > 0) {
		if (sip_pl_caseeq_str(n, "duration") &&
		    (!v.p || sip_pl_u32(v, UINT32_MAX, &ra->duration) < 0))
			return SIP_ERR_RANGE;
	}
	return r < 0 ? SIP_ERR_SYNTAX : 0;
}

/* callid = word [ "@" word ]. '@' is no word octet, so the first one
 * splits the two words, and each must be all word octets. */
bool sip_call_id_valid(struct sip_pl value)
{
	const char *p = value.p, *end = value.p + value.len, *at;

	if (value.len == 0)
		return false;
	at = scan_to(p, end, '@');
	if (at == p || !all_class(p, at, CH_WORD))
		return false;
	return at == end || (at + 1 < end && all_class(at + 1, end, CH_WORD));
}

static int two_digits(const char *p)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's
 * civil-from-days inverse). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* rfc1123-date = wkday "," SP date1 SP time SP "GMT";
 * date1 = 2DIGIT SP month SP 4DIGIT; time = 2DIGIT ":" 2DIGIT ":" 2DIGIT */
int sip_date_parse(struct sip_pl value, int64_t *epoch)
{
	static const char wkdays[] = "MonTueWedThuFriSatSun";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct sip_pl v = sip_pl_trim(value);
	const char *p = v.p;
	int day, mon = -1, year, hh, mm, ss;

	if (v.len != 29 || p[3] != ',' || p[4] != ' ' || p[7] != ' ' || p[11] != ' ' ||
	    p[16] != ' ' || p[19] != ':' || p[22] != ':' || p[25] != ' ' ||
	    memcmp(p + 26, "GMT", 3) != 0)
		return SIP_ERR_DATE;
	for (int i = 0; i < 7 && mon == -1; i++)
		if (memcmp(p, wkdays + 3 * i, 3) == 0)
			mon = -2;
	if (mon != -2)
		return SIP_ERR_DATE;
	for (int i = 0; i < 12; i++)
		if (memcmp(p + 8, months + 3 * i, 3) == 0)
			mon = i + 1;
	day = two_digits(p + 5);
	year = two_digits(p + 12) * 100 + two_digits(p + 14);
	hh = two_digits(p + 17);
	mm = two_digits(p + 20);
	ss = two_digits(p + 23);
	if (mon < 1 || day < 1 || day > 31 || two_digits(p + 12) < 0 || two_digits(p + 14) < 0 ||
	    hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
		return SIP_ERR_DATE;
	*epoch = days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss;
	return 0;
}
