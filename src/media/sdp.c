/*
 * sdp.c — RFC 4566 session descriptions: a parser that fills the bounded
 * struct sdp_session and a builder that prints one.
 *
 * The parser reads only what a G.711 phone negotiates: o=, c= (session and
 * media level), m=, and the attributes rtpmap, fmtp, ptime and the four
 * direction attributes (RFC 3264 §5.1). Every other line is skipped, as
 * RFC 4566 §5 asks of unknown attributes. It takes a length, never reads past
 * it, and turns any malformed line it needs into SIP_ERR_SYNTAX with a reason
 * naming the line, so the UA can answer 400/488 instead of guessing.
 */
#include <stdarg.h>
#include <stdio.h>

#include "media/sdp.h"

/* More formats than an m-line keeps may be offered (baresip offers a dozen);
 * the parser collects up to this many and keeps the ones we can use. */
#define SDP_PARSE_FMT 32

struct parse {
	struct sdp_session *s;
	char *err;
	size_t errcap;
	unsigned line;
	char sess_addr[64];
	enum sdp_dir sess_dir;
	/* the m-line being parsed */
	struct sdp_fmt fmt[SDP_PARSE_FMT];
	size_t nfmt;
	bool media_dir_set, media_addr_set;
};

static int fail(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (p->err && p->errcap) {
		if (p->line)
			n = snprintf(p->err, p->errcap, "SDP line %u: ", p->line);
		if (n >= 0 && (size_t)n < p->errcap) {
			va_start(ap, fmt);
			vsnprintf(p->err + n, p->errcap - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return SIP_ERR_SYNTAX;
}

/* Next space-separated token of *rest (RFC 4566 uses single spaces; runs of
 * blanks are tolerated because real UAs send them). */
static struct sip_pl next_tok(struct sip_pl *rest)
{
	struct sip_pl t;
	size_t i = 0, start;

	if (rest->len == 0)
		return *rest; /* p may be NULL: no arithmetic on it */
	while (i < rest->len && (rest->p[i] == ' ' || rest->p[i] == '\t'))
		i++;
	start = i;
	while (i < rest->len && rest->p[i] != ' ' && rest->p[i] != '\t')
		i++;
	t = sip_pl(rest->p + start, i - start);
	rest->p += i;
	rest->len -= i;
	return t;
}

static int pl_u64(struct sip_pl pl, uint64_t *out)
{
	uint64_t v = 0;

	if (pl.len == 0 || pl.len > 20)
		return SIP_ERR_SYNTAX;
	for (size_t i = 0; i < pl.len; i++) {
		unsigned d = (unsigned char)pl.p[i] - '0';
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return SIP_ERR_SYNTAX;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Cuts pl at the first c, returning the part before it; *after gets the rest
 * (empty, p NULL, when c is absent). */
static struct sip_pl split_at(struct sip_pl pl, char c, struct sip_pl *after)
{
	const char *q = pl.len ? memchr(pl.p, c, pl.len) : NULL;

	if (!q) {
		*after = SIP_PL_NULL;
		return pl;
	}
	*after = sip_pl(q + 1, pl.len - (size_t)(q + 1 - pl.p));
	return sip_pl(pl.p, (size_t)(q - pl.p));
}

/* Encodings of the static payload types (RFC 3551 §6) an offer may list
 * without rtpmap. Only 0 and 8 matter to us; the others name themselves in
 * answers and logs. */
static void static_fmt(struct sdp_fmt *f)
{
	static const struct {
		uint8_t pt;
		const char *enc;
	} tab[] = {{0, "PCMU"}, {3, "GSM"}, {4, "G723"}, {8, "PCMA"},
	           {9, "G722"}, {13, "CN"}, {18, "G729"}};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (tab[i].pt == f->pt) {
			snprintf(f->enc, sizeof(f->enc), "%s", tab[i].enc);
			f->rate = 8000;
			return;
		}
	}
}

static bool fmt_useful(const struct sdp_fmt *f)
{
	struct sip_pl enc = sip_pl_cstr(f->enc);

	return sip_pl_caseeq_str(enc, "PCMU") || sip_pl_caseeq_str(enc, "PCMA") ||
	       sip_pl_caseeq_str(enc, "telephone-event");
}

/* Moves the collected formats into the media, at most SDP_MAX_FMT of them:
 * the ones we can use first, then the earliest others, in offer order. */
static void media_finish(struct parse *p)
{
	struct sdp_media *m;
	bool keep[SDP_PARSE_FMT] = {false};
	size_t nkeep = 0;

	if (p->s->nmedia == 0)
		return;
	m = &p->s->media[p->s->nmedia - 1];
	for (size_t i = 0; i < p->nfmt && nkeep < SDP_MAX_FMT; i++)
		if (fmt_useful(&p->fmt[i]))
			keep[i] = true, nkeep++;
	for (size_t i = 0; i < p->nfmt && nkeep < SDP_MAX_FMT; i++)
		if (!keep[i])
			keep[i] = true, nkeep++;
	m->nfmt = 0;
	for (size_t i = 0; i < p->nfmt; i++)
		if (keep[i])
			m->fmt[m->nfmt++] = p->fmt[i];
	if (!p->media_dir_set)
		m->dir = p->sess_dir;
	if (!p->media_addr_set)
		snprintf(m->addr, sizeof(m->addr), "%s", p->sess_addr);
	p->nfmt = 0;
}

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> */
static int parse_origin(struct parse *p, struct sip_pl v)
{
	struct sip_pl user = next_tok(&v), id = next_tok(&v), ver = next_tok(&v);
	struct sip_pl net = next_tok(&v), type = next_tok(&v), addr = next_tok(&v);

	if (!addr.len)
		return fail(p, "o= needs six fields");
	if (pl_u64(id, &p->s->id) || pl_u64(ver, &p->s->version))
		return fail(p, "o= session id/version not a number");
	(void)net;
	(void)type;
	sip_pl_strcpy(p->s->origin_user, sizeof(p->s->origin_user), user);
	sip_pl_strcpy(p->s->origin_addr, sizeof(p->s->origin_addr), addr);
	return 0;
}

/* c=<nettype> <addrtype> <connection-address>[/ttl[/n]] */
static int parse_conn(struct parse *p, struct sip_pl v)
{
	struct sip_pl net = next_tok(&v), type = next_tok(&v), addr = next_tok(&v), rest;
	char *dst;

	if (!addr.len)
		return fail(p, "c= needs three fields");
	if (!sip_pl_caseeq_str(net, "IN"))
		return fail(p, "c= network type is not IN");
	(void)type;
	addr = split_at(addr, '/', &rest);
	if (addr.len == 0 || addr.len >= 64)
		return fail(p, "c= address empty or too long");
	if (p->s->nmedia) {
		dst = p->s->media[p->s->nmedia - 1].addr;
		p->media_addr_set = true;
	} else {
		dst = p->sess_addr;
	}
	sip_pl_strcpy(dst, 64, addr);
	return 0;
}

/* m=<media> <port>[/<number of ports>] <proto> <fmt> ... */
static int parse_media(struct parse *p, struct sip_pl v)
{
	struct sip_pl type = next_tok(&v), port = next_tok(&v), proto = next_tok(&v), rest, f;
	struct sdp_media *m;
	uint32_t n;

	media_finish(p);
	if (p->s->nmedia >= SDP_MAX_MEDIA)
		return fail(p, "more than %d m= lines", SDP_MAX_MEDIA);
	if (!proto.len)
		return fail(p, "m= needs media, port, proto and formats");
	port = split_at(port, '/', &rest);
	if (sip_pl_u32(port, 65535, &n))
		return fail(p, "m= port not a number 0-65535");
	m = &p->s->media[p->s->nmedia++];
	memset(m, 0, sizeof(*m));
	m->port = (uint16_t)n;
	sip_pl_strcpy(m->type, sizeof(m->type), type);
	sip_pl_strcpy(m->proto, sizeof(m->proto), proto);
	p->media_dir_set = p->media_addr_set = false;
	for (f = next_tok(&v); f.len; f = next_tok(&v)) {
		struct sdp_fmt *sf;
		/* Non-RTP formats ("t38", "*") have no payload type: an m-line
		 * we will only ever reject, so they are not kept. */
		if (sip_pl_u32(f, 127, &n) || p->nfmt >= SDP_PARSE_FMT)
			continue;
		sf = &p->fmt[p->nfmt++];
		memset(sf, 0, sizeof(*sf));
		sf->pt = (uint8_t)n;
		static_fmt(sf);
	}
	return 0;
}

static struct sdp_fmt *find_fmt(struct parse *p, struct sip_pl pt)
{
	uint32_t n;

	if (sip_pl_u32(pt, 127, &n))
		return NULL;
	for (size_t i = 0; i < p->nfmt; i++)
		if (p->fmt[i].pt == n)
			return &p->fmt[i];
	return NULL;
}

/* a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>] */
static int parse_rtpmap(struct parse *p, struct sip_pl v)
{
	struct sip_pl pt = next_tok(&v), enc, rate, chans;
	struct sdp_fmt *f = find_fmt(p, pt);
	uint32_t n;

	if (!f)
		return 0; /* for a format not on the m-line: nothing to map */
	v = sip_pl_trim(v);
	enc = split_at(v, '/', &rate);
	rate = split_at(rate, '/', &chans);
	if (!enc.len || sip_pl_u32(rate, 1000000, &n))
		return fail(p, "a=rtpmap needs <encoding>/<clock rate>");
	sip_pl_strcpy(f->enc, sizeof(f->enc), enc);
	f->rate = n;
	return 0;
}

static int parse_attr(struct parse *p, struct sip_pl v)
{
	struct sip_pl val, name = split_at(v, ':', &val);
	static const char *const dirs[] = {"sendrecv", "sendonly", "recvonly", "inactive"};
	uint32_t n;

	for (int d = 0; d < 4; d++) {
		if (!sip_pl_caseeq_str(name, dirs[d]))
			continue;
		if (p->s->nmedia) {
			p->s->media[p->s->nmedia - 1].dir = (enum sdp_dir)d;
			p->media_dir_set = true;
		} else {
			p->sess_dir = (enum sdp_dir)d;
		}
		return 0;
	}
	if (!p->s->nmedia)
		return 0; /* no other session-level attribute concerns us */
	if (sip_pl_caseeq_str(name, "rtpmap"))
		return parse_rtpmap(p, val);
	if (sip_pl_caseeq_str(name, "fmtp")) {
		struct sdp_fmt *f = find_fmt(p, next_tok(&val));
		if (f)
			sip_pl_strcpy(f->fmtp, sizeof(f->fmtp), sip_pl_trim(val));
		return 0;
	}
	if (sip_pl_caseeq_str(name, "ptime")) {
		/* A fractional ptime ("20.0") is legal; its integer part will do. */
		val = split_at(sip_pl_trim(val), '.', &v);
		if (sip_pl_u32(val, 1000, &n))
			return fail(p, "a=ptime not a number");
		p->s->media[p->s->nmedia - 1].ptime = n;
	}
	return 0;
}

static int parse_line(struct parse *p, struct sip_pl line)
{
	struct sip_pl v;

	if (line.len < 2 || line.p[1] != '=')
		return fail(p, "not <type>=<value>");
	v = sip_pl(line.p + 2, line.len - 2);
	if (p->line == 1 && line.p[0] != 'v')
		return fail(p, "v= must come first");
	switch (line.p[0]) {
	case 'v':
		if (!sip_pl_eq(sip_pl_trim(v), SIP_PL("0")))
			return fail(p, "unknown SDP version");
		return 0;
	case 'o': return parse_origin(p, v);
	case 'c': return parse_conn(p, v);
	case 'm': return parse_media(p, v);
	case 'a': return parse_attr(p, v);
	default: return 0; /* s=, t=, b=, i=, k=, ... and unknown types */
	}
}

int sdp_parse(struct sdp_session *s, const char *buf, size_t len, char *err, size_t errcap)
{
	struct parse p = {.s = s, .err = err, .errcap = errcap};
	size_t i = 0;
	int rc;

	memset(s, 0, sizeof(*s));
	if (err && errcap)
		err[0] = '\0';
	/* SDP is text (RFC 4566 §5): a NUL would cut the C strings we fill. */
	if (len && memchr(buf, '\0', len))
		return fail(&p, "NUL byte in SDP");
	while (i < len) {
		const char *q = memchr(buf + i, '\n', len - i);
		size_t end = q ? (size_t)(q - buf) : len;
		struct sip_pl line = sip_pl(buf + i, end - i);

		/* CRLF per the RFC; a bare LF is accepted (§5: "SHOULD"). */
		if (line.len && line.p[line.len - 1] == '\r')
			line.len--;
		i = end + 1;
		if (line.len == 0)
			continue;
		p.line++;
		rc = parse_line(&p, line);
		if (rc)
			return rc;
	}
	media_finish(&p);
	if (p.line == 0)
		return fail(&p, "empty SDP");
	if (!s->origin_addr[0])
		return fail(&p, "no o= line");
	return 0;
}

/* ---- builder ------------------------------------------------------------ */

struct out {
	char *buf;
	size_t cap, len;
	bool full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->full = true;
		return;
	}
	o->len += (size_t)n;
}

static const char *addr_type(const char *addr)
{
	return strchr(addr, ':') ? "IP6" : "IP4";
}

static void build_media(struct out *o, const struct sdp_media *m, const char *sess_addr)
{
	put(o, "m=%s %u %s", m->type, m->port, m->proto);
	for (size_t i = 0; i < m->nfmt; i++)
		put(o, " %u", m->fmt[i].pt);
	if (m->nfmt == 0)
		put(o, " 0"); /* the grammar wants a format, even on a rejected line */
	put(o, "\r\n");
	if (m->addr[0] && strcmp(m->addr, sess_addr) != 0)
		put(o, "c=IN %s %s\r\n", addr_type(m->addr), m->addr);
	for (size_t i = 0; i < m->nfmt; i++) {
		const struct sdp_fmt *f = &m->fmt[i];
		if (f->enc[0])
			put(o, "a=rtpmap:%u %s/%u\r\n", f->pt, f->enc, f->rate);
		if (f->fmtp[0])
			put(o, "a=fmtp:%u %s\r\n", f->pt, f->fmtp);
	}
	if (m->port == 0)
		return; /* a rejected stream needs no attributes */
	if (m->ptime)
		put(o, "a=ptime:%u\r\n", m->ptime);
	put(o, "a=%s\r\n", sdp_dir_name(m->dir));
}

int sdp_build(const struct sdp_session *s, char *buf, size_t cap)
{
	struct out o = {buf, cap, 0, cap == 0};
	const char *caddr = "";

	/* One session-level c= (the first stream's address) keeps the common
	 * case short; streams elsewhere get their own c=. */
	for (size_t i = 0; i < s->nmedia; i++) {
		if (s->media[i].addr[0]) {
			caddr = s->media[i].addr;
			break;
		}
	}
	put(&o, "v=0\r\n");
	put(&o, "o=%s %llu %llu IN %s %s\r\n", s->origin_user[0] ? s->origin_user : "-",
	    (unsigned long long)s->id, (unsigned long long)s->version, addr_type(s->origin_addr),
	    s->origin_addr);
	put(&o, "s=sipua\r\n");
	if (caddr[0])
		put(&o, "c=IN %s %s\r\n", addr_type(caddr), caddr);
	put(&o, "t=0 0\r\n");
	for (size_t i = 0; i < s->nmedia && i < SDP_MAX_MEDIA; i++)
		build_media(&o, &s->media[i], caddr);
	if (o.full)
		return SIP_ERR_NOSPACE;
	return (int)o.len;
}

const char *sdp_dir_name(enum sdp_dir d)
{
	switch (d) {
	case SDP_SENDRECV: return "sendrecv";
	case SDP_SENDONLY: return "sendonly";
	case SDP_RECVONLY: return "recvonly";
	case SDP_INACTIVE: return "inactive";
	}
	return "sendrecv";
}
