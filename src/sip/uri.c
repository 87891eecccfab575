/*
 * uri.c — SIP, SIPS and tel URIs (RFC 3261 §19.1.1 and §25.1; RFC 3966 §3
 * for tel): parsing into slices of the input, canonical printing, and the
 * equivalence rules of RFC 3261 §19.1.4 and RFC 3966 §4. Any other scheme is
 * checked against the absoluteURI grammar of RFC 2396 and kept opaque.
 *
 * Nothing here allocates. The parser keeps every part %-escaped, as written;
 * comparison decodes escapes on the fly, exactly once, so "%2541" stays
 * "%41" and "%00" is one octet like any other (RFC 4475 esc01, escnull).
 */
#include <limits.h>

#include "msg_priv.h"
#include "scan.h"

/* Comparison looks each parameter and header of one URI up in the other (no
 * allocation, so no sorting): quadratic in their number. This bound keeps a
 * hostile 64 KB URI of 10000 parameters from costing seconds per compare;
 * real URIs carry a handful, and more is refused as malformed. */
#define URI_MAX_ITEMS 64

/* ---- octets and escapes -------------------------------------------------- */

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* One past the last octet; a NULL slice stays NULL (NULL + 0 is undefined). */
static const char *pl_end(struct sip_pl s)
{
	return s.len ? s.p + s.len : s.p;
}

static bool is_escape(const char *p, const char *end)
{
	return end - p >= 3 && p[0] == '%' && sip_hex_digit((char)p[1]) >= 0 &&
	       sip_hex_digit((char)p[2]) >= 0;
}

/* The octet at *p, decoding a %HH escape, and advances *p past it. A '%'
 * that starts no escape (only in slices the parser never checked) is taken
 * literally, so comparing such slices is still well defined. */
static unsigned char next_octet(const char **p, const char *end)
{
	const char *s = *p;

	if (is_escape(s, end)) {
		*p = s + 3;
		return (unsigned char)(sip_hex_digit((char)s[1]) << 4 | sip_hex_digit((char)s[2]));
	}
	*p = s + 1;
	return (unsigned char)*s;
}

/* Scans octets of class cls, of the string also, and %HH escapes. Returns
 * where the run stops, or NULL at a '%' that starts no escape: a bad escape
 * is an error in every part of a URI. */
static const char *scan_esc(const char *p, const char *end, unsigned short cls, const char *also)
{
	while (p < end) {
		unsigned char c = (unsigned char)*p;

		if (c == '%') {
			if (!is_escape(p, end))
				return NULL;
			p += 3;
		} else if (ch_is(c, cls) || (also && c && strchr(also, c))) {
			p++;
		} else {
			break;
		}
	}
	return p;
}

/* True when all of s is octets of cls, of also, and %HH escapes. */
static bool all_esc(struct sip_pl s, unsigned short cls, const char *also)
{
	return scan_esc(s.p, pl_end(s), cls, also) == pl_end(s);
}

/* One pass, one decoding per escape: "%2541" gives "%41", never "A". */
int sip_unescape(char *out, size_t cap, struct sip_pl in)
{
	const char *p = in.p, *end = pl_end(in);
	size_t n = 0;

	while (p != end) {
		if (*p == '%' && !is_escape(p, end))
			return SIP_ERR_SYNTAX;
		if (n == cap)
			return SIP_ERR_NOSPACE;
		out[n++] = (char)next_octet(&p, end);
	}
	return n > INT_MAX ? SIP_ERR_NOSPACE : (int)n;
}

/* Decodes both sides on the fly; a '%' that starts no escape (in a slice
 * the parser never checked) compares as itself. */
bool sip_escaped_eq(struct sip_pl a, struct sip_pl b, bool ci)
{
	const char *pa = a.p, *ea = pl_end(a), *pb = b.p, *eb = pl_end(b);

	while (pa != ea && pb != eb) {
		unsigned char x = next_octet(&pa, ea), y = next_octet(&pb, eb);

		if (ci ? lower(x) != lower(y) : x != y)
			return false;
	}
	return pa == ea && pb == eb;
}

/* An escaped name against a plain C string, case-insensitive: parameter
 * names may be escaped too (RFC 4475 esc01 writes lr as %6C%72). */
static bool name_is(struct sip_pl esc, const char *plain)
{
	const char *p = esc.p, *end = pl_end(esc);

	for (; *plain; plain++)
		if (p == end || lower(next_octet(&p, end)) != lower((unsigned char)*plain))
			return false;
	return p == end;
}

/* ---- hosts (RFC 3261 §25.1) ---------------------------------------------- */

/* ":" port, 1-5 digits, 1..65535. Port 0 is refused: the struct stores 0
 * for "absent", and §19.1.4 tells an absent port from any explicit one. */
static const char *parse_port(struct sip_uri *u, const char *p, const char *end)
{
	const char *s;
	unsigned v = 0;

	if (p == end || *p != ':')
		return p;
	for (s = ++p; p < end && p - s < 5 && ch_is((unsigned char)*p, CH_DIGIT); p++)
		v = v * 10 + (unsigned)(*p - '0');
	if (p == s || v == 0 || v > 65535)
		return NULL;
	u->port = (uint16_t)v;
	return p;
}

/* hostport: a [IPv6reference], an IPv4address or a hostname (the shared
 * scan_host of host.c), then an optional port. Returns the position after
 * it, or NULL. */
static const char *parse_hostport(struct sip_uri *u, const char *p, const char *end)
{
	if (!(p = scan_host(p, end, &u->host, &u->host_type)))
		return NULL;
	return parse_port(u, p, end);
}

/* ---- sip: and sips: (RFC 3261 §19.1.1) ----------------------------------- */

/* userinfo before the '@': user (1 or more, may hold ; ? / , & = + $) and an
 * optional ":" password (possibly empty). The user cannot contain ':', so
 * the first ':' starts the password. */
static int parse_userinfo(struct sip_uri *u, const char *p, const char *at)
{
	const char *colon = memchr(p, ':', (size_t)(at - p));

	u->user = pl_span(p, colon ? colon : at);
	if (u->user.len == 0 || !all_esc(u->user, CH_USER, NULL))
		return SIP_ERR_URI;
	if (colon) {
		u->password = pl_span(colon + 1, at);
		if (!all_esc(u->password, CH_PASS, NULL))
			return SIP_ERR_URI;
	}
	return 0;
}

/* Remembers the well-known uri-parameters (the first of each); a parameter
 * without a value is located as an empty slice just after its name. */
static void note_param(struct sip_uri *u, struct sip_pl name, struct sip_pl value)
{
	struct sip_pl *slot = NULL;

	if (name_is(name, "lr"))
		u->lr = true;
	else if (name_is(name, "transport"))
		slot = &u->transport;
	else if (name_is(name, "user"))
		slot = &u->user_param;
	else if (name_is(name, "method"))
		slot = &u->method;
	else if (name_is(name, "ttl"))
		slot = &u->ttl;
	else if (name_is(name, "maddr"))
		slot = &u->maddr;
	if (slot && !slot->p)
		*slot = value.p ? value : sip_pl(name.p + name.len, 0);
}

/* *( ";" pname [ "=" pvalue ] ) with pname and pvalue 1*paramchar. The
 * characters are checked here (sip_param_next would skip white space and
 * take quoted strings, which a URI never holds); sip_param_next then finds
 * empty names and values. paramchar is CH_PARAM without '`', which that
 * class only carries for header token values. At most URI_MAX_ITEMS. */
static int check_params(struct sip_pl params, struct sip_uri *note)
{
	struct sip_pl cur = params, name, value;
	unsigned count = 0;
	int r;

	if (params.len == 0)
		return 0;
	if (!all_esc(params, CH_PARAM, ";=") || memchr(params.p, '`', params.len))
		return SIP_ERR_URI;
	if (params.p[0] != ';')
		return SIP_ERR_URI;
	while ((r = sip_param_next(&cur, &name, &value)) > 0) {
		if (++count > URI_MAX_ITEMS)
			return SIP_ERR_URI;
		if (note)
			note_param(note, name, value);
	}
	return r < 0 ? SIP_ERR_URI : 0;
}

/* headers = header *( "&" header ), header = hname "=" hvalue, hname not
 * empty (RFC 3261 §25.1); at most URI_MAX_ITEMS of them. */
static int check_headers(struct sip_pl h)
{
	const char *p = h.p, *end = h.p + h.len, *s;

	for (unsigned count = 1; count <= URI_MAX_ITEMS; count++) {
		s = p;
		p = scan_esc(p, end, CH_HNV, NULL);
		if (!p || p == s || p == end || *p != '=')
			return SIP_ERR_URI;
		p = scan_esc(p + 1, end, CH_HNV, NULL);
		if (!p)
			return SIP_ERR_URI;
		if (p == end)
			return 0;
		if (*p++ != '&')
			return SIP_ERR_URI;
	}
	return SIP_ERR_URI;
}

/* "sip:" [ userinfo ] hostport uri-parameters [ headers ]. An unescaped '@'
 * can only end the userinfo (host, parameters and headers never hold one),
 * which is how a user part full of ; ? / is told from what follows it. */
static int parse_sip(struct sip_uri *u, const char *p, const char *end)
{
	const char *at = memchr(p, '@', (size_t)(end - p)), *q;

	if (at) {
		if (parse_userinfo(u, p, at) < 0)
			return SIP_ERR_URI;
		p = at + 1;
	}
	p = parse_hostport(u, p, end);
	if (!p)
		return SIP_ERR_URI;
	q = memchr(p, '?', (size_t)(end - p));
	if (!q)
		q = end;
	u->params = pl_span(p, q);
	if (check_params(u->params, u) < 0)
		return SIP_ERR_URI;
	if (q == end) {
		u->headers = sip_pl(end, 0);
		return 0;
	}
	u->headers = pl_span(q + 1, end);
	return check_headers(u->headers);
}

/* ---- tel: (RFC 3966 §3) --------------------------------------------------- */

static bool is_visual_sep(unsigned char c)
{
	return c == '-' || c == '.' || c == '(' || c == ')';
}

/* global-number-digits ("+" phonedigits, at least one DIGIT) when s starts
 * with '+'; otherwise local-number-digits (phonedigit-hex, at least one of
 * HEXDIG * #) when local, else false. */
static bool tel_digits(struct sip_pl s, bool local)
{
	bool global = s.len > 0 && s.p[0] == '+', seen = false;

	if (!global && !local)
		return false;
	for (size_t i = global ? 1 : 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (is_visual_sep(c))
			continue;
		if (global ? !ch_is(c, CH_DIGIT) : !(ch_is(c, CH_HEX) || c == '*' || c == '#'))
			return false;
		seen = true;
	}
	return seen;
}

/* ext = 1*phonedigit (here: with at least one DIGIT). */
static bool tel_ext(struct sip_pl s)
{
	bool seen = false;

	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (!ch_is(c, CH_DIGIT) && !is_visual_sep(c))
			return false;
		seen |= ch_is(c, CH_DIGIT);
	}
	return seen;
}

/* One tel parameter: pname = 1*( alphanum / "-" ); phone-context holds a
 * domainname or global-number-digits, ext phonedigits; isub (1*uric in the
 * RFC) is held to paramchar so it cannot swallow the parameters after it. */
static int check_tel_param(struct sip_pl name, struct sip_pl value, bool *context)
{
	for (size_t i = 0; i < name.len; i++)
		if (name.p[i] != '-' && !ch_is((unsigned char)name.p[i], CH_ALPHA | CH_DIGIT))
			return SIP_ERR_URI;
	if (sip_pl_caseeq_str(name, "phone-context")) {
		if (!value.p || !(tel_digits(value, false) || sip_hostname_ok(value)))
			return SIP_ERR_URI;
		*context = true;
	} else if (sip_pl_caseeq_str(name, "ext")) {
		if (!value.p || !tel_ext(value))
			return SIP_ERR_URI;
	} else if (sip_pl_caseeq_str(name, "isub") && !value.p) {
		return SIP_ERR_URI;
	}
	return 0;
}

/* telephone-subscriber: the number up to the first ';' goes to user, the
 * parameters to params. A local number needs a phone-context. */
static int parse_tel(struct sip_uri *u, const char *p, const char *end)
{
	const char *semi = memchr(p, ';', (size_t)(end - p));
	struct sip_pl cur, name, value;
	bool context = false;
	int r;

	u->user = pl_span(p, semi ? semi : end);
	u->params = pl_span(u->user.p + u->user.len, end);
	u->headers = sip_pl(end, 0);
	if (!tel_digits(u->user, true) || check_params(u->params, NULL) < 0)
		return SIP_ERR_URI;
	cur = u->params;
	while ((r = sip_param_next(&cur, &name, &value)) > 0)
		if (check_tel_param(name, value, &context) < 0)
			return SIP_ERR_URI;
	if (r < 0 || (u->user.p[0] != '+' && !context))
		return SIP_ERR_URI;
	return 0;
}

/* ---- the scheme and the whole URI ----------------------------------------- */

/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ':'. */
static const char *parse_scheme(struct sip_uri *u, const char *p, const char *end)
{
	const char *s = p;

	/* Nearly every URI is "sip:": take it in one folded compare. */
	if (end - p > 4 && lit_caseeq(p, "sip:", 4)) {
		u->scheme_pl = sip_pl(p, 3);
		u->scheme = SIP_SCHEME_SIP;
		return p + 4;
	}
	if (p == end || !ch_is((unsigned char)*p, CH_ALPHA))
		return NULL;
	while (p < end && (ch_is((unsigned char)*p, CH_ALPHA | CH_DIGIT) || *p == '+' ||
	                   *p == '-' || *p == '.'))
		p++;
	if (p == end || *p != ':')
		return NULL;
	u->scheme_pl = pl_span(s, p);
	if (PL_IS(u->scheme_pl, "sip"))
		u->scheme = SIP_SCHEME_SIP;
	else if (PL_IS(u->scheme_pl, "sips"))
		u->scheme = SIP_SCHEME_SIPS;
	else if (PL_IS(u->scheme_pl, "tel"))
		u->scheme = SIP_SCHEME_TEL;
	else
		u->scheme = SIP_SCHEME_OTHER;
	return p + 1;
}

/* Absent params and headers are empty slices at their place, not NULL:
 * callers hand them to sip_param_next(), which does arithmetic on them. */
int sip_uri_parse_into(struct sip_uri *u, struct sip_pl in)
{
	const char *p, *end;
	int err;

	if (!in.p || in.len == 0)
		return SIP_ERR_URI;
	end = in.p + in.len;
	clear_struct(u, sizeof(*u));
	u->raw = in;
	p = parse_scheme(u, in.p, end);
	if (!p)
		return SIP_ERR_URI;
	if (u->scheme == SIP_SCHEME_SIP || u->scheme == SIP_SCHEME_SIPS) {
		err = parse_sip(u, p, end);
	} else if (u->scheme == SIP_SCHEME_TEL) {
		err = parse_tel(u, p, end);
	} else {
		/* absoluteURI of RFC 2396, kept whole: 1 or more uric. */
		u->opaque = pl_span(p, end);
		u->params = u->headers = sip_pl(end, 0);
		err = (p < end && all_esc(u->opaque, CH_URIC, NULL)) ? 0 : SIP_ERR_URI;
	}
	return err < 0 ? SIP_ERR_URI : 0;
}

/* Parses into a local struct so that *uri is written only on success. */
int sip_uri_parse(struct sip_uri *uri, struct sip_pl in)
{
	struct sip_uri u;

	if (sip_uri_parse_into(&u, in) < 0)
		return SIP_ERR_URI;
	*uri = u;
	return 0;
}

/* The first parameter of that name, the name compared after unescaping. */
int sip_uri_param(const struct sip_uri *uri, const char *name, struct sip_pl *value)
{
	struct sip_pl cur = uri->params, n, v;

	if (cur.len == 0)
		return SIP_ERR_NOT_FOUND;
	while (sip_param_next(&cur, &n, &v) > 0) {
		if (name_is(n, name)) {
			*value = v.p ? v : sip_pl(n.p + n.len, 0);
			return 0;
		}
	}
	return SIP_ERR_NOT_FOUND;
}

/* ---- printing -------------------------------------------------------------- */

struct out {
	char *buf;
	size_t cap, len;
	bool over;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (n == 0 || o->over)
		return;
	if (o->cap - o->len < n) {
		o->over = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void put_pl(struct out *o, struct sip_pl pl)
{
	put(o, pl.p, pl.len);
}

static void put_port(struct out *o, uint16_t port)
{
	char d[5];
	size_t n = sizeof(d);

	do {
		d[--n] = (char)('0' + port % 10);
		port /= 10;
	} while (port);
	put(o, d + n, sizeof(d) - n);
}

/* The scheme in lower case: a known scheme by its name, another one as it
 * was written, folded octet by octet. */
static void put_scheme(struct out *o, const struct sip_uri *u)
{
	static const char *const names[] = {
	        [SIP_SCHEME_SIP] = "sip",
	        [SIP_SCHEME_SIPS] = "sips",
	        [SIP_SCHEME_TEL] = "tel",
	};

	if (u->scheme != SIP_SCHEME_OTHER) {
		put(o, names[u->scheme], strlen(names[u->scheme]));
	} else {
		for (size_t i = 0; i < u->scheme_pl.len; i++) {
			char c = (char)lower((unsigned char)u->scheme_pl.p[i]);

			put(o, &c, 1);
		}
	}
	put(o, ":", 1);
}

static void put_sip(struct out *o, const struct sip_uri *u)
{
	if (sip_pl_isset(u->user)) {
		put_pl(o, u->user);
		if (sip_pl_isset(u->password)) {
			put(o, ":", 1);
			put_pl(o, u->password);
		}
		put(o, "@", 1);
	}
	if (u->host_type == SIP_HOST_IPV6)
		put(o, "[", 1);
	put_pl(o, u->host);
	if (u->host_type == SIP_HOST_IPV6)
		put(o, "]", 1);
	if (u->port) {
		put(o, ":", 1);
		put_port(o, u->port);
	}
	put_pl(o, u->params);
	if (u->headers.len) {
		put(o, "?", 1);
		put_pl(o, u->headers);
	}
}

/* Never NUL-terminates; nothing is written past cap, but on
 * SIP_ERR_NOSPACE the first cap octets may have been written. */
int sip_uri_print(const struct sip_uri *uri, char *buf, size_t cap)
{
	struct out o = {buf, cap, 0, false};

	put_scheme(&o, uri);
	if (uri->scheme == SIP_SCHEME_SIP || uri->scheme == SIP_SCHEME_SIPS) {
		put_sip(&o, uri);
	} else if (uri->scheme == SIP_SCHEME_TEL) {
		put_pl(&o, uri->user);
		put_pl(&o, uri->params);
	} else {
		put_pl(&o, uri->opaque);
	}
	if (o.over || o.len > INT_MAX)
		return SIP_ERR_NOSPACE;
	return (int)o.len;
}

/* ---- comparison (RFC 3261 §19.1.4, RFC 3966 §4) ---------------------------- */

enum { P_ABSENT, P_DIFFERS, P_MATCH };

/* Number digits with visual separators removed, hex case-insensitive (RFC
 * 3966 §4); a leading '+' compares as an ordinary octet. */
static bool tel_number_eq(struct sip_pl a, struct sip_pl b)
{
	const char *pa = a.p, *ea = pl_end(a), *pb = b.p, *eb = pl_end(b);

	for (;;) {
		while (pa != ea && is_visual_sep((unsigned char)*pa))
			pa++;
		while (pb != eb && is_visual_sep((unsigned char)*pb))
			pb++;
		if (pa == ea || pb == eb)
			return pa == ea && pb == eb;
		if (lower((unsigned char)*pa++) != lower((unsigned char)*pb++))
			return false;
	}
}

/* Parameter values: both absent, or equal after unescaping, ignoring case.
 * For tel, ext and a global phone-context compare as numbers. */
static bool value_eq(struct sip_pl name, struct sip_pl a, struct sip_pl b, bool tel)
{
	if (sip_pl_isset(a) != sip_pl_isset(b))
		return false;
	if (tel &&
	    (name_is(name, "ext") || (name_is(name, "phone-context") && a.len && a.p[0] == '+')))
		return tel_number_eq(a, b);
	return sip_escaped_eq(a, b, true);
}

/* Whether list holds a parameter called name with this value (P_MATCH),
 * only with other values (P_DIFFERS), or not at all (P_ABSENT). */
static int param_lookup(struct sip_pl list, struct sip_pl name, struct sip_pl value, bool tel)
{
	struct sip_pl n, v;
	int res = P_ABSENT;

	if (list.len == 0)
		return P_ABSENT;
	while (sip_param_next(&list, &n, &v) > 0) {
		if (!sip_escaped_eq(n, name, true))
			continue;
		if (value_eq(n, v, value, tel))
			return P_MATCH;
		res = P_DIFFERS;
	}
	return res;
}

/* §19.1.4: these must appear in both URIs or in neither. lr is not listed
 * and compares like any other parameter. */
static bool must_match(struct sip_pl name)
{
	return name_is(name, "user") || name_is(name, "ttl") || name_is(name, "method") ||
	       name_is(name, "maddr") || name_is(name, "transport");
}

/* Every parameter of a agrees with b. For sip a parameter absent from b is
 * fine unless it is one of must_match(); for tel (RFC 3966 §4) every
 * parameter must be in both. Run both ways, this is the whole rule. */
static bool params_cover(struct sip_pl a, struct sip_pl b, bool tel)
{
	struct sip_pl n, v;

	if (a.len == 0)
		return true;
	while (sip_param_next(&a, &n, &v) > 0) {
		int r = param_lookup(b, n, v, tel);

		if (r == P_DIFFERS || (r == P_ABSENT && (tel || must_match(n))))
			return false;
	}
	return true;
}

/* Next hname=hvalue of a header list already checked by the parser. */
static bool header_next(struct sip_pl *cur, struct sip_pl *name, struct sip_pl *value)
{
	const char *p = cur->p, *end = pl_end(*cur), *amp, *eq;

	if (p == end)
		return false;
	amp = memchr(p, '&', (size_t)(end - p));
	if (!amp)
		amp = end;
	eq = memchr(p, '=', (size_t)(amp - p));
	if (!eq)
		eq = amp;
	*name = pl_span(p, eq);
	*value = pl_span(eq < amp ? eq + 1 : amp, amp);
	*cur = amp < end ? pl_span(amp + 1, end) : sip_pl(end, 0);
	return true;
}

/* Every header of a is in b: same name ignoring case, same value after
 * unescaping (values are compared exactly; their per-header rules of §20 are
 * beyond a URI comparison). Run both ways. */
static bool headers_cover(struct sip_pl a, struct sip_pl b)
{
	struct sip_pl an, av, bn, bv, cur;
	bool found;

	while (header_next(&a, &an, &av)) {
		found = false;
		cur = b;
		while (!found && header_next(&cur, &bn, &bv))
			found = sip_escaped_eq(an, bn, true) && sip_escaped_eq(av, bv, false);
		if (!found)
			return false;
	}
	return true;
}

/* Hosts compare ignoring case; IP addresses by value, so that [::1] equals
 * [0:0::1]. No name is ever resolved. */
static bool host_eq(const struct sip_uri *a, const struct sip_uri *b)
{
	uint8_t x[16], y[16];

	if (a->host_type != b->host_type)
		return false;
	if (a->host_type == SIP_HOST_IPV6 && sip_ipv6_parse(a->host, x) &&
	    sip_ipv6_parse(b->host, y))
		return memcmp(x, y, 16) == 0;
	if (a->host_type == SIP_HOST_IPV4 && sip_ipv4_parse(a->host, x) &&
	    sip_ipv4_parse(b->host, y))
		return memcmp(x, y, 4) == 0;
	return sip_pl_caseeq(a->host, b->host);
}

/* RFC 3261 §19.1.4: userinfo exactly (after unescaping), host ignoring case,
 * port present in both or neither, then parameters and headers. */
static bool sip_eq(const struct sip_uri *a, const struct sip_uri *b)
{
	if (!sip_escaped_eq(a->user, b->user, false) ||
	    sip_pl_isset(a->password) != sip_pl_isset(b->password) ||
	    !sip_escaped_eq(a->password, b->password, false))
		return false;
	if (!host_eq(a, b) || a->port != b->port)
		return false;
	return params_cover(a->params, b->params, false) &&
	       params_cover(b->params, a->params, false) && headers_cover(a->headers, b->headers) &&
	       headers_cover(b->headers, a->headers);
}

/* Other schemes compare octet by octet, the scheme ignoring case. */
bool sip_uri_eq(const struct sip_uri *a, const struct sip_uri *b)
{
	if (a->scheme != b->scheme)
		return false;
	switch (a->scheme) {
	case SIP_SCHEME_SIP:
	case SIP_SCHEME_SIPS: return sip_eq(a, b);
	case SIP_SCHEME_TEL:
		return tel_number_eq(a->user, b->user) &&
		       params_cover(a->params, b->params, true) &&
		       params_cover(b->params, a->params, true);
	default:
		return sip_pl_caseeq(a->scheme_pl, b->scheme_pl) && sip_pl_eq(a->opaque, b->opaque);
	}
}
