/*
 * host.c — the host and port productions of RFC 3261 §25.1 (hostname,
 * IPv4address, IPv6reference) and quoted strings, shared by the URI, Via
 * and name-addr parsers.
 */
#include "scan.h"

const char *scan_quoted(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\') {
			if (++p == end)
				return NULL;
		} else if (*p == '"') {
			return p + 1;
		}
	}
	return NULL;
}

/* Four dec-octets at p, each 1-3 digits up to 255: the position after the
 * fourth, or NULL. */
static const char *scan_ipv4(const char *p, const char *end)
{
	for (int part = 0; part < 4; part++) {
		unsigned v = 0, n = 0;

		if (part > 0 && (p == end || *p++ != '.'))
			return NULL;
		for (; p < end && n < 4 && *p >= '0' && *p <= '9'; p++, n++)
			v = v * 10 + (unsigned)(*p - '0');
		if (n == 0 || n > 3 || v > 255)
			return NULL;
	}
	return p;
}

/* IPv4address: four dec-octets 0..255 filling all of s. Fills the four
 * octets of out when given (addresses compare by value). */
bool sip_ipv4_parse(struct sip_pl s, uint8_t *out)
{
	const char *p = s.p, *end = s.p + s.len;

	if (scan_ipv4(p, end) != end || s.len == 0)
		return false;
	for (int k = 0; out && k < 4; k++, p++) {
		unsigned v = 0;

		for (; p < end && *p != '.'; p++)
			v = v * 10 + (unsigned)(*p - '0');
		out[k] = (uint8_t)v;
	}
	return true;
}

/* One hex4 group of an IPv6 address: 1-4 hex digits filling all of s. */
static bool hex4(struct sip_pl s, uint8_t *out)
{
	unsigned v = 0;

	if (s.len < 1 || s.len > 4)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (!ch_is(c, CH_HEX))
			return false;
		v = v << 4 | (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	out[0] = (uint8_t)(v >> 8);
	out[1] = (uint8_t)v;
	return true;
}

/* Places the groups read before and after "::" (gap) into 16 octets. */
static void ipv6_place(const uint8_t *head, size_t n, int gap, uint8_t *out)
{
	size_t tail;

	if (!out)
		return;
	memset(out, 0, 16);
	if (gap < 0)
		gap = (int)n;
	tail = n - (size_t)gap;
	memcpy(out, head, (size_t)gap);
	memcpy(out + 16 - tail, head + gap, tail);
}

/* IPv6address of RFC 3261 §25.1 (the text form of RFC 4291 §2.2): groups
 * of hex4 separated by ':', at most one "::" standing for one or more zero
 * groups, optionally ending in an IPv4address worth two groups. Fills the
 * 16 octets of out when given, so that equal addresses compare equal
 * whatever their spelling. */
bool sip_ipv6_parse(struct sip_pl s, uint8_t *out)
{
	const char *p = s.p, *end = s.p + s.len;
	uint8_t head[16];
	size_t n = 0;
	int gap = -1;

	if (end - p >= 2 && p[0] == ':' && p[1] == ':') {
		gap = 0;
		p += 2;
	}
	while (p < end) {
		const char *g = memchr(p, ':', (size_t)(end - p));
		struct sip_pl grp = pl_span(p, g ? g : end);

		if (memchr(grp.p, '.', grp.len)) {
			/* The IPv4 tail must end the address. */
			if (g || n > 12 || !sip_ipv4_parse(grp, head + n))
				return false;
			n += 4;
			break;
		}
		if (n > 14 || !hex4(grp, head + n))
			return false;
		n += 2;
		if (!g)
			break;
		p = g + 1;
		if (p < end && *p == ':') {
			if (gap >= 0)
				return false;
			gap = (int)n;
			p++;
		} else if (p == end) {
			return false; /* a single trailing ':' */
		}
	}
	if (gap < 0 ? n != 16 : n > 14)
		return false;
	ipv6_place(head, n, gap, out);
	return true;
}

/* The hostname at p (the grammar of sip_hostname_ok() below), checked in
 * the one pass that also finds where it ends (this runs for the host of
 * every Request-URI and Via): the position after it, or NULL. */
static const char *scan_hostname(const char *p, const char *end)
{
	const char *s = p, *label = p, *top = p;

	for (; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.') {
			if (p == label || p[-1] == '-')
				return NULL;
			top = label;
			label = p + 1;
		} else if (!ch_is(c, CH_HOST)) {
			break;
		} else if (c == '-' && p == label) {
			return NULL;
		}
	}
	/* A final dot is allowed: then the top label is the one before it. */
	if (p == s || (label < p && p[-1] == '-'))
		return NULL;
	return ch_is((unsigned char)*(label < p ? label : top), CH_ALPHA) ? p : NULL;
}

/* hostname: labels of alphanum and '-', separated by '.', optional final
 * dot; a label neither starts nor ends with '-'; the top label starts with
 * a letter (which tells a name from "1.2.3.256"). '_' is accepted inside
 * labels because real deployments use it. */
bool sip_hostname_ok(struct sip_pl s)
{
	return s.len && scan_hostname(s.p, s.p + s.len) == s.p + s.len;
}

/* A hostname or an IPv4address at p, in one pass: the position after it,
 * with *type set, or NULL when neither starts at p. The run of host octets
 * (alphanum . - _) at p is taken whole, as the grammar's longest match. */
static const char *scan_host_name(const char *p, const char *end, enum sip_host_type *type)
{
	const char *q;

	/* An IPv4address is the whole run of host octets or not there at all:
	 * followed by another host octet, the run can only be a hostname
	 * ("1.2.3.4.example.com"). */
	if (p < end && *p >= '0' && *p <= '9' && (q = scan_ipv4(p, end)) &&
	    (q == end || !ch_is((unsigned char)*q, CH_HOST))) {
		*type = SIP_HOST_IPV4;
		return q;
	}
	if ((q = scan_hostname(p, end)))
		*type = SIP_HOST_DOMAIN;
	return q;
}

const char *scan_host(const char *p, const char *end, struct sip_pl *host, enum sip_host_type *type)
{
	const char *s = p;

	if (p < end && *p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (!close || !sip_ipv6_parse(pl_span(p + 1, close), NULL))
			return NULL;
		*host = pl_span(p + 1, close);
		*type = SIP_HOST_IPV6;
		return close + 1;
	}
	if (!(p = scan_host_name(p, end, type)))
		return NULL;
	*host = pl_span(s, p);
	return p;
}
