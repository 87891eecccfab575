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

/* IPv4address: four dec-octets 0..255, no leading sign, 1-3 digits each. */
static bool is_ipv4(struct sip_pl s)
{
	const char *p = s.p, *end = s.p + s.len;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0, n = 0;

		while (p < end && *p >= '0' && *p <= '9' && n < 4) {
			v = v * 10 + (unsigned)(*p++ - '0');
			n++;
		}
		if (n == 0 || n > 3 || v > 255)
			return false;
		if (part < 3) {
			if (p == end || *p != '.')
				return false;
			p++;
		}
	}
	return p == end;
}

/* hostname: labels of alphanum and '-', separated by '.', optional final
 * dot; the top label starts with a letter (which tells it from IPv4). '_'
 * is accepted inside labels because real deployments use it. */
static bool is_hostname(struct sip_pl s)
{
	const char *p = s.p, *end = s.p + s.len, *label = p, *last = p;

	if (s.len == 0)
		return false;
	for (; p <= end; p++) {
		if (p == end || *p == '.') {
			if (p == label)
				return p == end && p != s.p; /* trailing dot */
			if (label[0] == '-' || p[-1] == '-')
				return false;
			last = label;
			label = p + 1;
			if (p == end)
				break;
			continue;
		}
		if (!ch_is((unsigned char)*p, CH_HOST))
			return false;
	}
	return ch_is((unsigned char)*last, CH_ALPHA);
}

/* IPv6reference contents: up to 8 groups of 1-4 hex digits, at most one
 * "::", optionally ending in an IPv4 address counting as two groups. */
static bool is_ipv6(struct sip_pl s)
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
			if (!is_ipv4(pl_span(g, end)))
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

const char *scan_host(const char *p, const char *end, struct sip_pl *host,
		      enum sip_host_type *type)
{
	const char *s = p;

	if (p < end && *p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (!close || !is_ipv6(pl_span(p + 1, close)))
			return NULL;
		*host = pl_span(p + 1, close);
		*type = SIP_HOST_IPV6;
		return close + 1;
	}
	p = scan_class(p, end, CH_HOST);
	*host = pl_span(s, p);
	if (is_ipv4(*host))
		*type = SIP_HOST_IPV4;
	else if (is_hostname(*host))
		*type = SIP_HOST_DOMAIN;
	else
		return NULL;
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
