/*
 * scan.h — small scanning helpers shared by the header parsers of src/sip
 * (layer-private): white space, tokens, quoted strings and hosts, all on
 * (p, end) pointer pairs that never pass end.
 */
#ifndef SIP_SCAN_H
#define SIP_SCAN_H

#include "chars.h"
#include "libsip/uri.h"

/* Index in memory order of the first octet marked by its high bit in a
 * word loaded with memcpy: its lowest marked octet on a little-endian
 * machine. */
static inline unsigned first_marked(uint64_t t)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (unsigned)__builtin_ctzll(t) >> 3;
#else
	unsigned i = 0;
	unsigned char b[8];

	memcpy(b, &t, 8);
	while (!(b[i] & 0x80))
		i++;
	return i;
#endif
}

/* The first octet c in [p, end), or end. Eight octets a step: the byte loop
 * costs about five instructions an octet and a libc memchr call about
 * twenty, both too much for a header name. In x = word ^ c*1s the octets
 * equal to c are zero, and ~(((x & 7Fs) + 7Fs) | x) & 80s marks exactly
 * those (no carry crosses an octet, so any byte order will do). */
static inline const char *scan_to(const char *p, const char *end, char c)
{
	const uint64_t lows = 0x7f7f7f7f7f7f7f7full, pat = 0x0101010101010101ull * (unsigned char)c;

	for (; end - p >= 8; p += 8) {
		uint64_t x, t;

		memcpy(&x, p, 8);
		x ^= pat;
		t = ~(((x & lows) + lows) | x | lows);
		if (t)
			return p + first_marked(t);
	}
	while (p < end && *p != c)
		p++;
	return p;
}

/* LWS octets are all at or below SP: the one compare settles the common
 * case, an octet of something else, without the table load. */
static inline const char *scan_lws(const char *p, const char *end)
{
	while (p < end && (unsigned char)*p <= ' ' && ch_is((unsigned char)*p, CH_LWS))
		p++;
	return p;
}

static inline const char *scan_class(const char *p, const char *end, unsigned short cls)
{
	while (p < end && ch_is((unsigned char)*p, cls))
		p++;
	return p;
}

/* True when every octet of [p, end) is of class cls. The classes of all
 * octets are ANDed and tested once at the end, eight a step: no branch per
 * octet, where a scan that stops at the first outsider has one (the case
 * in point: a Call-ID, forty octets of one class). */
static inline bool all_class(const char *p, const char *end, unsigned short cls)
{
	unsigned acc = cls;

	for (; end - p >= 8; p += 8)
		acc &= (unsigned)sip_chars[(unsigned char)p[0]] & sip_chars[(unsigned char)p[1]] &
		       sip_chars[(unsigned char)p[2]] & sip_chars[(unsigned char)p[3]] &
		       sip_chars[(unsigned char)p[4]] & sip_chars[(unsigned char)p[5]] &
		       sip_chars[(unsigned char)p[6]] & sip_chars[(unsigned char)p[7]];
	for (; p < end; p++)
		acc &= sip_chars[(unsigned char)*p];
	return (acc & cls) == cls;
}

/* From an opening '"': the position after the closing quote, or NULL when
 * the string never closes. A backslash escapes any one octet (quoted-pair). */
const char *scan_quoted(const char *p, const char *end);

/* The host grammars of RFC 3261 §25.1 on a whole slice: hostname (labels,
 * top label starting with a letter), IPv4address, and the inside of an
 * IPv6reference (without brackets). The address parsers fill out (4 or 16
 * octets) when it is not NULL, so that addresses compare by value. */
bool sip_hostname_ok(struct sip_pl s);
bool sip_ipv4_parse(struct sip_pl s, uint8_t *out);
bool sip_ipv6_parse(struct sip_pl s, uint8_t *out);

/* Scans a host (hostname, IPv4address or [IPv6reference]) at p. Returns the
 * position after it and fills *host (brackets excluded) and *type, or NULL
 * when no valid host starts at p. */
const char *scan_host(const char *p, const char *end, struct sip_pl *host,
                      enum sip_host_type *type);

/* Case-insensitive compare of n octets at p against lit, which must be in
 * lower case and hold no octet of @[\]^_`{|}~ (letters, digits and the
 * punctuation of parameter and scheme names). Only the literal's letter
 * positions are folded: bit 0x40 marks a letter there, and shifted right
 * it is the 0x20 that folds case; so each octet is one OR and one compare,
 * unrolled against the constant, where sip_pl_caseeq is a call and a loop. */
static inline bool lit_caseeq(const char *p, const char *lit, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char y = (unsigned char)lit[i];

		if ((unsigned char)((unsigned char)p[i] | ((y & 0x40) >> 1)) != y)
			return false;
	}
	return true;
}

/* Case-insensitive match of a slice against a string literal as above,
 * length first: the common miss costs one compare. */
#define PL_IS(pl, lit) ((pl).len == sizeof(lit) - 1 && lit_caseeq((pl).p, (lit), sizeof(lit) - 1))

/* memset(p, 0, n) for a struct of at least 64 octets. GCC turns a memset
 * of more than 64 octets into rep stos, whose start-up (some 30 cycles)
 * costs more than the whole clear done with the vector stores it emits
 * for 64 octets. This clears 64 octets a step, the last step ending at the
 * end of the struct (overlapping the one before it). For the structs a
 * parse clears per message or header (sip_msg, sip_uri, sip_via,
 * sip_addr): with the copy of the Request-URI gone too, a sixth of the
 * parse time when measured. */
static inline void clear_struct(void *p, size_t n)
{
	char *c = p;

	for (size_t i = 0; i + 64 < n; i += 64)
		memset(c + i, 0, 64);
	memset(c + n - 64, 0, 64);
}

static inline struct sip_pl pl_span(const char *s, const char *e)
{
	return sip_pl(s, (size_t)(e - s));
}

/* The engine of sip_param_next() (uri.h) on the pointers *pp and end, for
 * the header parsers' own loops: inlined there, the cursor and the name and
 * value slices stay in registers instead of going through memory on every
 * parameter. Same contract: 1 and *pp moved past one name[=value], 0 at
 * the end (*pp = end), or SIP_ERR_SYNTAX with *pp unchanged. */
static inline int param_next(const char **pp, const char *end, struct sip_pl *name,
                             struct sip_pl *value)
{
	const char *p = scan_lws(*pp, end), *s;

	if (p == end) {
		*pp = end;
		return 0;
	}
	if (*p == ';')
		p = scan_lws(p + 1, end);
	s = p;
	p = scan_class(p, end, CH_PARAM);
	if (p == s)
		return SIP_ERR_SYNTAX;
	*name = pl_span(s, p);
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
		*value = pl_span(s, p);
		p = scan_lws(p, end);
	}
	if (p < end && *p != ';')
		return SIP_ERR_SYNTAX;
	*pp = p;
	return 1;
}

#endif /* SIP_SCAN_H */
