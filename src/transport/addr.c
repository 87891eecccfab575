/*
 * addr.c — socket addresses of the transport layer (RFC 3261 §18, and the
 * host forms of §19.1.2 / §25.1: IPv4 dotted quads, IPv6 references in
 * brackets): listen specs such as "udp:127.0.0.1:5060", "tcp:[::1]" or
 * "tls:127.0.0.1:5061", numeric hosts taken from a Via or a URI,
 * printing, comparing, hashing. Host names are not resolved here: RFC 3263 lookups belong above.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>

#include "tp_priv.h"

#define DEFAULT_PORT 5060
#define DEFAULT_TLS_PORT 5061

void tp_addr_set(struct tp_addr *a, const struct sockaddr *sa, socklen_t len)
{
	memset(a, 0, sizeof(*a));
	if (len > sizeof(a->ss))
		len = sizeof(a->ss);
	memcpy(&a->ss, sa, len);
	a->len = len;
}

int tp_addr_from_host(struct tp_addr *addr, struct sip_pl host, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (host.len >= 2 && host.p[0] == '[' && host.p[host.len - 1] == ']') {
		host.p++;
		host.len -= 2;
	}
	/* inet_pton needs a C string; anything longer is no numeric host. */
	if (host.len == 0 || host.len >= sizeof(buf))
		return SIP_ERR_SYNTAX;
	sip_pl_strcpy(buf, sizeof(buf), host);
	memset(addr, 0, sizeof(*addr));
	if (memchr(host.p, ':', host.len)) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&addr->ss;

		if (inet_pton(AF_INET6, buf, &s6->sin6_addr) != 1)
			return SIP_ERR_SYNTAX;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		addr->len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&addr->ss;

		if (inet_pton(AF_INET, buf, &s4->sin_addr) != 1)
			return SIP_ERR_SYNTAX;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		addr->len = sizeof(*s4);
	}
	return 0;
}

static int spec_proto(struct sip_pl p, enum tp_proto *proto)
{
	if (sip_pl_caseeq_str(p, "udp"))
		*proto = TP_UDP;
	else if (sip_pl_caseeq_str(p, "tcp"))
		*proto = TP_TCP;
	else if (sip_pl_caseeq_str(p, "tls"))
		*proto = TP_TLS;
	else
		return SIP_ERR_SYNTAX;
	return 0;
}

/* Splits "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address
 * (more than one colon: no port) into host and port slices. */
static int spec_split(struct sip_pl s, struct sip_pl *host, struct sip_pl *port)
{
	const char *colon;

	*port = SIP_PL_NULL;
	if (s.len && s.p[0] == '[') {
		const char *rb = memchr(s.p, ']', s.len);
		size_t used;

		if (!rb)
			return SIP_ERR_SYNTAX;
		used = (size_t)(rb - s.p) + 1;
		*host = sip_pl(s.p, used);
		if (used == s.len)
			return 0;
		if (s.p[used] != ':')
			return SIP_ERR_SYNTAX;
		*port = sip_pl(s.p + used + 1, s.len - used - 1);
		return 0;
	}
	colon = memchr(s.p, ':', s.len);
	if (!colon || memchr(colon + 1, ':', s.len - (size_t)(colon + 1 - s.p))) {
		*host = s;
		return 0;
	}
	*host = sip_pl(s.p, (size_t)(colon - s.p));
	*port = sip_pl(colon + 1, s.len - (size_t)(colon + 1 - s.p));
	return 0;
}

int tp_listen_spec_parse(const char *spec, enum tp_proto *proto, struct tp_addr *addr)
{
	struct sip_pl s = sip_pl_cstr(spec), host, port;
	const char *colon = s.len ? memchr(s.p, ':', s.len) : NULL;
	uint32_t pnum = DEFAULT_PORT;
	enum tp_proto pr;

	if (!colon || spec_proto(sip_pl(s.p, (size_t)(colon - s.p)), &pr) < 0)
		return SIP_ERR_SYNTAX;
	s = sip_pl(colon + 1, s.len - (size_t)(colon + 1 - s.p));
	if (spec_split(s, &host, &port) < 0)
		return SIP_ERR_SYNTAX;
	if (pr == TP_TLS)
		pnum = DEFAULT_TLS_PORT; /* RFC 3261 §19.1.2: sips and TLS */
	if (sip_pl_isset(port) && sip_pl_u32(port, 65535, &pnum) < 0)
		return SIP_ERR_SYNTAX;
	if (tp_addr_from_host(addr, host, (uint16_t)pnum) < 0)
		return SIP_ERR_SYNTAX;
	*proto = pr;
	return 0;
}

/* Dotted quad without inet_ntop: glibc formats IPv4 with sprintf, and a
 * server prints the source address into every response's Via. */
static void ipv4_str(const struct in_addr *in, char *buf)
{
	const unsigned char *b = (const unsigned char *)&in->s_addr;
	char *p = buf;

	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
}

void tp_addr_host(const struct tp_addr *addr, char *buf, size_t cap)
{
	const void *ip = NULL;
	int af = addr->ss.ss_family;

	if (cap == 0)
		return;
	if (af == AF_INET && cap >= INET_ADDRSTRLEN) {
		ipv4_str(&((const struct sockaddr_in *)&addr->ss)->sin_addr, buf);
		return;
	}
	if (af == AF_INET)
		ip = &((const struct sockaddr_in *)&addr->ss)->sin_addr;
	else if (af == AF_INET6)
		ip = &((const struct sockaddr_in6 *)&addr->ss)->sin6_addr;
	if (!ip || !inet_ntop(af, ip, buf, (socklen_t)cap))
		snprintf(buf, cap, "?");
}

uint16_t tp_addr_port(const struct tp_addr *addr)
{
	if (addr->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&addr->ss)->sin_port);
	if (addr->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&addr->ss)->sin6_port);
	return 0;
}

const char *tp_addr_str(const struct tp_addr *addr, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN];

	if (cap == 0)
		return buf;
	tp_addr_host(addr, host, sizeof(host));
	if (addr->ss.ss_family == AF_INET6)
		snprintf(buf, cap, "[%s]:%u", host, tp_addr_port(addr));
	else
		snprintf(buf, cap, "%s:%u", host, tp_addr_port(addr));
	return buf;
}

bool tp_addr_ip16(const struct tp_addr *a, uint8_t out[16])
{
	if (a->ss.ss_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 16);
		return true;
	}
	if (a->ss.ss_family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)&a->ss)->sin_addr, 4);
		return true;
	}
	return false;
}

bool tp_addr_ip_eq(const struct tp_addr *a, const struct tp_addr *b)
{
	uint8_t x[16], y[16];

	return tp_addr_ip16(a, x) && tp_addr_ip16(b, y) && memcmp(x, y, 16) == 0;
}

bool tp_addr_eq(const struct tp_addr *a, const struct tp_addr *b)
{
	return a->ss.ss_family == b->ss.ss_family && tp_addr_port(a) == tp_addr_port(b) &&
	       tp_addr_ip_eq(a, b);
}

/* FNV-1a over the IP and port: spreads peers over the index buckets. */
uint64_t tp_addr_hash(const struct tp_addr *a)
{
	uint8_t ip[16];
	uint16_t port = tp_addr_port(a);
	const uint8_t pb[2] = {(uint8_t)(port & 0xff), (uint8_t)(port >> 8)};

	if (!tp_addr_ip16(a, ip))
		memset(ip, 0, sizeof(ip));
	return sip_fnv1a(sip_fnv1a(SIP_FNV_BASIS, ip, sizeof(ip)), pb, sizeof(pb));
}

const char *tp_proto_name(enum tp_proto p)
{
	return p == TP_TLS ? "TLS" : p == TP_TCP ? "TCP" : "UDP";
}
