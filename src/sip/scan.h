/*
 * scan.h — small scanning helpers shared by the header parsers of src/sip
 * (layer-private): white space, tokens, quoted strings and hosts, all on
 * (p, end) pointer pairs that never pass end.
 */
#ifndef SIP_SCAN_H
#define SIP_SCAN_H

#include "chars.h"
#include "libsip/uri.h"

static inline const char *scan_lws(const char *p, const char *end)
{
	while (p < end && ch_is((unsigned char)*p, CH_LWS))
		p++;
	return p;
}

static inline const char *scan_class(const char *p, const char *end, unsigned short cls)
{
	while (p < end && ch_is((unsigned char)*p, cls))
		p++;
	return p;
}

/* From an opening '"': the position after the closing quote, or NULL when
 * the string never closes. A backslash escapes any one octet (quoted-pair). */
const char *scan_quoted(const char *p, const char *end);

/* The host grammars of RFC 3261 §25.1 on a whole slice: hostname (labels,
 * top label starting with a letter), IPv4address, and the inside of an
 * IPv6reference (without brackets). */
bool sip_hostname_ok(struct sip_pl s);
bool sip_ipv4_ok(struct sip_pl s);
bool sip_ipv6_ok(struct sip_pl s);

/* Scans a host (hostname, IPv4address or [IPv6reference]) at p. Returns the
 * position after it and fills *host (brackets excluded) and *type, or NULL
 * when no valid host starts at p. */
const char *scan_host(const char *p, const char *end, struct sip_pl *host,
                      enum sip_host_type *type);

/* Scans ":port" if present at p (1-5 digits, at most 65535). Returns the
 * position after it (p itself when there is no ':'), NULL when malformed. */
const char *scan_port(const char *p, const char *end, uint16_t *port);

/* Case-insensitive match of a slice against a string literal, length
 * first: the common miss costs one compare. */
#define PL_IS(pl, lit) ((pl).len == sizeof(lit) - 1 && sip_pl_caseeq((pl), SIP_PL(lit)))

static inline struct sip_pl pl_span(const char *s, const char *e)
{
	return sip_pl(s, (size_t)(e - s));
}

#endif /* SIP_SCAN_H */
