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

/* IPv4address: four dec-octets 0..255, no leading sign, 1-3 digits each. */
bool sip_ipv4_ok(struct sip_pl s)
{
	const char *q = scan_ipv4(s.p, s.p + s.len);

	return q && q == s.p + s.len;
}

/* hostname: labels of alphanum and '-', separated by '.', optional final
 * dot; a label neither starts nor ends with '-'; the top label starts with
 * a letter (which tells a name from "1.2.3.256"). '_' is accepted inside
 * labels because real deployments use it. */
bool sip_hostname_ok(struct sip_pl s)
{
	const char *p = s.p, *end = s.p + s.len, *label = p;

	if (s.len && end[-1] == '.')
		end--;
	if (p == end)
		return false;
	for (; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.') {
			if (p == label || p[-1] == '-')
				return false;
			label = p + 1;
		} else if (!ch_is(c, CH_HOST) || (c == '-' && p == label)) {
			return false;
		}
	}
	return p != label && p[-1] != '-' && ch_is((unsigned char)*label, CH_ALPHA);
}

/* IPv6reference contents: up to 8 groups of 1-4 hex digits, at most one
 * "::", optionally ending in an IPv4 address counting as two groups. */
bool sip_ipv6_ok(struct sip_pl s)
{
	const char *p = s.p, *end = s.p + s.len;
	int groups = 0;
	bool gap = false;

	if (s.len < 2)
		return false;
	if (p[0] == ':') {
		if (p[1] != ':')
			return false;
		gap = true;
		p += 2;
	}
	while (p < end) {
		const char *g = p;

		while (p < end && p - g < 5 && ch_is((unsigned char)*p, CH_HEX))
			p++;
		if (p < end && *p == '.') {
			if (!sip_ipv4_ok(pl_span(g, end)))
				return false;
			groups += 2;
			p = end;
			break;
		}
		if (p == g || p - g > 4)
			return false;
		groups++;
		if (p == end)
			break;
		if (*p != ':')
			return false;
		p++;
		if (p < end && *p == ':') {
			if (gap)
				return false;
			gap = true;
			p++;
		} else if (p == end) {
			return false;
		}
	}
	return gap ? groups <= 7 : groups == 8;
}

/* The hostname at p, checked as sip_hostname_ok() does but in the one
 * pass that also finds where it ends (this runs for the host of every
 * Request-URI and Via): the position after it, or NULL. */
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

const char *scan_host_name(const char *p, const char *end, enum sip_host_type *type)
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

		if (!close || !sip_ipv6_ok(pl_span(p + 1, close)))
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

const char *scan_port(const char *p, const char *end, uint16_t *port)
{
	uint32_t v = 0;
	const char *s;

	*port = 0;
	if (p == end || *p != ':')
		return p;
	s = ++p;
	while (p < end && *p >= '0' && *p <= '9' && p - s < 6)
		v = v * 10 + (uint32_t)(*p++ - '0');
	if (p == s || p - s > 5 || v > 65535)
		return NULL;
	*port = (uint16_t)v;
	return p;
}
