/*
 * auth_hdr.c — the values of WWW-Authenticate, Proxy-Authenticate,
 * Authorization and Proxy-Authorization (RFC 3261 §20.7, §20.27, §20.28,
 * §20.44 and the challenge/credentials grammar of §25.1), with the newer
 * digest parameters of RFC 7616 §3.3-3.4 and RFC 8760.
 *
 * A value is an auth-scheme, LWS, then comma-separated name=value pairs whose
 * value is a token or a quoted-string. Parsing fills slices into the value
 * and allocates nothing; printing builds a Digest value from plain text.
 */
#include <stddef.h>

#include "libsip/hdr.h"
#include "scan.h"

static const char *scan_token(const char *p, const char *end)
{
	return scan_class(p, end, CH_TOKEN);
}

/* qdtext and the character after a backslash (§25.1), minus the controls
 * the grammar would allow in a quoted-pair: a NUL or a bare CR inside a
 * username or nonce would be cut short or misread by whatever stores it. */
static bool qchar_ok(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* A folded line inside a quoted-string: [CR] LF followed by SP or HTAB.
 * p is at the CR or LF; returns the position of that SP/HTAB, or NULL. */
static const char *scan_fold(const char *p, const char *end)
{
	if (*p == '\r')
		p++;
	if (p == end || *p != '\n')
		return NULL;
	p++;
	if (p == end || (*p != ' ' && *p != '\t'))
		return NULL;
	return p;
}

/* Scans a quoted-string from its opening quote; returns the position after
 * the closing quote, or NULL when it is unclosed or holds a bad character.
 * Stricter than scan.h's scan_quoted(), which other headers may keep lax:
 * these values end up hashed and stored as credentials. */
static const char *scan_auth_quoted(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"')
			return p + 1;
		if (c == '\\') {
			if (++p == end || !qchar_ok((unsigned char)*p))
				return NULL;
		} else if (c == '\r' || c == '\n') {
			if (!(p = scan_fold(p, end)))
				return NULL;
		} else if (!qchar_ok(c)) {
			return NULL;
		}
	}
	return NULL;
}

/* Reads one auth-param "name LWS = LWS value" at *pp (no leading LWS) and
 * advances *pp past the value. The value slice excludes the quotes. */
static int next_param(const char **pp, const char *end, struct sip_pl *name, struct sip_pl *value)
{
	const char *p = *pp, *s = p;

	p = scan_token(p, end);
	if (p == s)
		return SIP_ERR_AUTH;
	*name = pl_span(s, p);
	p = scan_lws(p, end);
	if (p == end || *p != '=')
		return SIP_ERR_AUTH;
	p = scan_lws(p + 1, end);
	if (p < end && *p == '"') {
		s = p + 1;
		if (!(p = scan_auth_quoted(p, end)))
			return SIP_ERR_AUTH;
		*value = pl_span(s, p - 1);
	} else {
		s = p;
		p = scan_token(p, end);
		if (p == s)
			return SIP_ERR_AUTH;
		*value = pl_span(s, p);
	}
	*pp = p;
	return 0;
}

/* The parameters struct sip_auth names, by their offset in it. */
static const struct {
	const char *name;
	size_t off;
} known_params[] = {
        {"realm", offsetof(struct sip_auth, realm)},
        {"nonce", offsetof(struct sip_auth, nonce)},
        {"opaque", offsetof(struct sip_auth, opaque)},
        {"algorithm", offsetof(struct sip_auth, algorithm)},
        {"qop", offsetof(struct sip_auth, qop)},
        {"domain", offsetof(struct sip_auth, domain)},
        {"stale", offsetof(struct sip_auth, stale)},
        {"username", offsetof(struct sip_auth, username)},
        {"uri", offsetof(struct sip_auth, uri)},
        {"response", offsetof(struct sip_auth, response)},
        {"cnonce", offsetof(struct sip_auth, cnonce)},
        {"nc", offsetof(struct sip_auth, nc)},
        {"userhash", offsetof(struct sip_auth, userhash)},
        {"charset", offsetof(struct sip_auth, charset)},
};

/* Files a well-known parameter; others are skipped (RFC 7616 §3.3: unknown
 * parameters MUST be ignored). A repeat is an error rather than first- or
 * last-wins, because two readers picking different copies of, say, realm
 * is how authentication bypasses happen. */
static int store_param(struct sip_auth *auth, struct sip_pl name, struct sip_pl value)
{
	for (size_t i = 0; i < sizeof(known_params) / sizeof(known_params[0]); i++) {
		struct sip_pl *slot;

		if (!sip_pl_caseeq_str(name, known_params[i].name))
			continue;
		slot = (struct sip_pl *)(void *)((char *)auth + known_params[i].off);
		if (sip_pl_isset(*slot))
			return SIP_ERR_AUTH;
		*slot = value;
		return 0;
	}
	return 0;
}

/* digest-cln *(COMMA digest-cln): list starts at a parameter name and has
 * no trailing LWS. An empty element (",,", trailing ',') is an error. */
static int parse_digest_params(struct sip_auth *auth, struct sip_pl list)
{
	const char *p = list.p, *end = list.p + list.len;
	struct sip_pl name, value;
	int err;

	while (p < end) {
		if ((err = next_param(&p, end, &name, &value)) < 0)
			return err;
		if ((err = store_param(auth, name, value)) < 0)
			return err;
		p = scan_lws(p, end);
		if (p == end)
			break;
		if (*p != ',')
			return SIP_ERR_AUTH;
		p = scan_lws(p + 1, end);
		if (p == end)
			return SIP_ERR_AUTH;
	}
	return 0;
}

int sip_auth_parse(struct sip_auth *auth, struct sip_pl value)
{
	const char *p, *end;

	memset(auth, 0, sizeof(*auth));
	value = sip_pl_trim(value);
	if (value.len == 0)
		return SIP_ERR_AUTH;
	p = value.p;
	end = value.p + value.len;
	p = scan_token(p, end);
	if (p == value.p || (p < end && !ch_is((unsigned char)*p, CH_LWS)))
		return SIP_ERR_AUTH;
	auth->scheme = pl_span(value.p, p);
	p = scan_lws(p, end);
	auth->params = pl_span(p, end);
	auth->is_digest = sip_pl_caseeq_str(auth->scheme, "Digest");
	/* Other schemes stay opaque: a proxy must pass credentials it cannot
	 * read unchanged (RFC 3261 §22.3), and Basic-style token68 values do
	 * not even follow the auth-param grammar. */
	if (!auth->is_digest)
		return 0;
	return parse_digest_params(auth, auth->params);
}

/* Quoted-pairs decoded; the CR LF of a folded line dropped (unfolding as in
 * RFC 5322 §2.2.3, keeping the SP/HTAB). Always NUL-terminates, so the
 * result needs cap > length. */
int sip_auth_unquote(struct sip_pl in, char *buf, size_t cap)
{
	size_t n = 0;

	if (cap == 0)
		return SIP_ERR_NOSPACE;
	for (size_t i = 0; i < in.len; i++) {
		char c = in.p[i];

		if (c == '\r' || c == '\n')
			continue;
		if (c == '\\' && i + 1 < in.len)
			c = in.p[++i];
		if (n + 1 >= cap)
			return SIP_ERR_NOSPACE;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return (int)n;
}

/* ---- printing ---------------------------------------------------------- */

/* An output cursor that remembers failures, so the printers read as a list
 * of fields. Once the buffer is full, values are still checked: a value
 * that can never be printed (SIP_ERR_AUTH) is reported before a short
 * buffer, which a retry could fix. len < cap holds throughout when cap > 0. */
struct auth_out {
	char *buf;
	size_t cap, len;
	unsigned nparams;
	bool full;
	int err;
};

static void out_put(struct auth_out *o, const char *s, size_t n)
{
	if (o->full || n == 0)
		return;
	if (n >= o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void out_name(struct auth_out *o, const char *name)
{
	if (o->nparams++ == 0)
		out_put(o, " ", 1);
	else
		out_put(o, ", ", 2);
	out_put(o, name, strlen(name));
	out_put(o, "=", 1);
}

/* name="value", escaping '"' and '\' as quoted-pairs. Control characters
 * have no quoted form (a CR LF would fold or end the header): refused. */
static void out_quoted(struct auth_out *o, const char *name, struct sip_pl v)
{
	size_t s = 0;

	if (!sip_pl_isset(v) || o->err)
		return;
	for (size_t i = 0; i < v.len; i++) {
		if (!qchar_ok((unsigned char)v.p[i])) {
			o->err = SIP_ERR_AUTH;
			return;
		}
	}
	out_name(o, name);
	out_put(o, "\"", 1);
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] != '"' && v.p[i] != '\\')
			continue;
		out_put(o, v.p + s, i - s);
		out_put(o, "\\", 1);
		s = i;
	}
	out_put(o, v.p + s, v.len - s);
	out_put(o, "\"", 1);
}

/* name=value for the parameters RFC 7616 writes unquoted. */
static void out_token(struct auth_out *o, const char *name, struct sip_pl v)
{
	if (!sip_pl_isset(v) || o->err)
		return;
	if (v.len == 0 || scan_token(v.p, v.p + v.len) != v.p + v.len) {
		o->err = SIP_ERR_AUTH;
		return;
	}
	out_name(o, name);
	out_put(o, v.p, v.len);
}

static void out_flag(struct auth_out *o, const char *name, bool on)
{
	if (on)
		out_token(o, name, SIP_PL("true"));
}

static int out_finish(struct auth_out *o)
{
	if (o->err)
		return o->err;
	if (o->full)
		return SIP_ERR_NOSPACE;
	o->buf[o->len] = '\0';
	return (int)o->len;
}

int sip_auth_print_challenge(char *buf, size_t cap, const struct sip_auth_challenge *ch)
{
	struct auth_out o = {buf, cap, 0, 0, false, 0};

	out_put(&o, "Digest", 6);
	out_quoted(&o, "realm", ch->realm);
	out_quoted(&o, "domain", ch->domain);
	out_quoted(&o, "nonce", ch->nonce);
	out_quoted(&o, "opaque", ch->opaque);
	out_flag(&o, "stale", ch->stale);
	out_token(&o, "algorithm", ch->algorithm);
	out_quoted(&o, "qop", ch->qop);
	out_token(&o, "charset", ch->charset);
	out_flag(&o, "userhash", ch->userhash);
	return out_finish(&o);
}

int sip_auth_print_credentials(char *buf, size_t cap, const struct sip_auth_credentials *cr)
{
	struct auth_out o = {buf, cap, 0, 0, false, 0};

	out_put(&o, "Digest", 6);
	out_quoted(&o, "username", cr->username);
	out_quoted(&o, "realm", cr->realm);
	out_quoted(&o, "nonce", cr->nonce);
	out_quoted(&o, "uri", cr->uri);
	out_quoted(&o, "response", cr->response);
	out_token(&o, "algorithm", cr->algorithm);
	out_quoted(&o, "cnonce", cr->cnonce);
	out_quoted(&o, "opaque", cr->opaque);
	out_token(&o, "qop", cr->qop);
	out_token(&o, "nc", cr->nc);
	out_flag(&o, "userhash", cr->userhash);
	return out_finish(&o);
}
