/*
 * msg.c — parsing a SIP message in place (RFC 3261 §7, §18.3, §20, §25):
 * the start line, every header line (folding, compact names, comma lists
 * split outside quotes and angle brackets), the hot headers decoded at
 * once, and the body framed by Content-Length.
 *
 * The parser never reads outside [buf, buf+len) and allocates only from
 * the caller's arena, so a hostile message costs at most the arena limit.
 */
#include <stdlib.h>

#include "msg_priv.h"
#include "scan.h"

/* Header slots at first (72 bytes each), doubled when full. Most requests
 * carry 8-15 header lines; parsed copies live in transactions for 32 s,
 * tens of thousands at once, so a first array of 32 was 1.1 KiB idle in
 * each of them. */
#define HDRS_INITIAL 16

/* The largest Content-Length we believe; anything above is an error before
 * it can be used as a size. */
#define CLEN_MAX (64u * 1024 * 1024)

struct parse {
	struct sip_msg *m;
	unsigned flags;
	struct sip_pl where; /* what to blame when an error is returned */
	/* The header line being parsed: [line, name_end) is its name, eol the
	 * CR of its final CRLF. Kept here as single words rather than passed
	 * as slices: a slice argument past the sixth register goes through the
	 * stack as two 8-octet stores that the callee reloads as one 16-octet
	 * load, which the CPU cannot forward from its store buffer (perf put
	 * 12% of the parse on that one load). */
	const char *line, *name_end, *eol;
	enum sip_hdr_id id;
};

static int fail(struct parse *ps, int err, struct sip_pl where)
{
	ps->where = where;
	return err;
}

/* ---- start line ------------------------------------------------------ */

/* SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT; only 2.0 is supported. */
static int parse_version(struct sip_pl v)
{
	const char *p = v.p, *end = v.p + v.len, *s;

	if (v.len == 7 && memcmp(p, "SIP/2.0", 7) == 0)
		return 0; /* what every peer sends */
	if (v.len < 4 || !sip_pl_caseeq_str(sip_pl(p, 4), "SIP/"))
		return SIP_ERR_START_LINE;
	p += 4;
	s = p;
	p = scan_class(p, end, CH_DIGIT);
	if (p == s || p == end || *p != '.')
		return SIP_ERR_START_LINE;
	s = ++p;
	p = scan_class(p, end, CH_DIGIT);
	if (p == s || p != end)
		return SIP_ERR_START_LINE;
	if (!sip_pl_eq(sip_pl(v.p + 4, v.len - 4), SIP_PL("2.0")))
		return SIP_ERR_VERSION;
	return 0;
}

/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase */
static int parse_status_line(struct parse *ps, const char *p, const char *eol)
{
	struct sip_msg *m = ps->m;
	const char *sp = memchr(p, ' ', (size_t)(eol - p)), *c;
	int err;

	if (!sp)
		return fail(ps, SIP_ERR_START_LINE, m->start_line);
	if ((err = parse_version(pl_span(p, sp))) < 0)
		return fail(ps, err, pl_span(p, sp));
	c = sp + 1;
	if (eol - c < 3 || !ch_is((unsigned char)c[0], CH_DIGIT) ||
	    !ch_is((unsigned char)c[1], CH_DIGIT) || !ch_is((unsigned char)c[2], CH_DIGIT) ||
	    (c + 3 < eol && c[3] != ' '))
		return fail(ps, SIP_ERR_STATUS_CODE, pl_span(c, eol));
	m->status = (c[0] - '0') * 100 + (c[1] - '0') * 10 + (c[2] - '0');
	if (m->status < 100 || m->status > 699) /* §21: classes 1xx-6xx only */
		return fail(ps, SIP_ERR_STATUS_CODE, pl_span(c, c + 3));
	c += 3;
	m->reason = c < eol ? pl_span(c + 1, eol) : pl_span(eol, eol);
	return 0;
}

/* Request-Line = Method SP Request-URI SP SIP-Version, exactly one SP each
 * (RFC 4475 lwsstart, trws and lwsruri are refused, not guessed at). */
static int parse_request_line(struct parse *ps, const char *p, const char *eol)
{
	struct sip_msg *m = ps->m;
	const char *s = p, *sp2 = eol;
	int err;

	p = scan_class(p, eol, CH_TOKEN);
	if (p == s || p == eol || *p != ' ')
		return fail(ps, SIP_ERR_START_LINE, m->start_line);
	m->method_pl = pl_span(s, p);
	m->method = sip_method_from_name(m->method_pl);
	if (eol - p > 8 && memcmp(eol - 8, " SIP/2.0", 8) == 0)
		sp2 = eol - 7;
	while (sp2 > p && sp2[-1] != ' ')
		sp2--;
	if (sp2 - 1 == p)
		return fail(ps, SIP_ERR_START_LINE, m->start_line);
	if ((err = parse_version(pl_span(sp2, eol))) < 0)
		return fail(ps, err, sp2 == eol ? m->start_line : pl_span(sp2, eol));
	m->ruri_pl = pl_span(p + 1, sp2 - 1);
	if (sip_uri_parse_into(&m->ruri, m->ruri_pl) < 0)
		return fail(ps, SIP_ERR_URI, m->ruri_pl);
	/* §19.1.1: headers are not allowed in a Request-URI (RFC 4475 escruri). */
	if (m->ruri.scheme != SIP_SCHEME_OTHER && m->ruri.headers.len)
		return fail(ps, SIP_ERR_URI, m->ruri_pl);
	return 0;
}

static int parse_start_line(struct parse *ps, const char *p, const char *eol)
{
	struct sip_msg *m = ps->m;

	m->start_line = pl_span(p, eol);
	if (eol - p >= 4 && (memcmp(p, "SIP/", 4) == 0 || PL_IS(sip_pl(p, 4), "sip/"))) {
		m->request = false;
		return parse_status_line(ps, p, eol);
	}
	m->request = true;
	return parse_request_line(ps, p, eol);
}

/* ---- header storage ---------------------------------------------------- */

/* Room for more slots, called when nhdr == cap. cap stops at
 * SIP_MSG_MAX_HDRS, so that one test on the common path also catches a
 * message with too many values. */
static int grow_slots(struct parse *ps, struct sip_pl name)
{
	struct sip_msg *m = ps->m;
	size_t cap = m->cap ? m->cap * 2 : HDRS_INITIAL;
	struct hdr_slot *n;

	if (m->nhdr >= SIP_MSG_MAX_HDRS)
		return fail(ps, SIP_ERR_TOO_BIG, name);
	if (cap > SIP_MSG_MAX_HDRS)
		cap = SIP_MSG_MAX_HDRS;
	if (!(n = sip_arena_alloc(m->arena, cap * sizeof(*n))))
		return fail(ps, SIP_ERR_NOMEM, name);
	if (m->nhdr)
		memcpy(n, m->hdrs, m->nhdr * sizeof(*n));
	m->hdrs = n;
	m->cap = cap;
	return 0;
}

/* ---- hot headers ------------------------------------------------------- */

static int decode_addr(struct sip_msg *m, struct hdr_slot *slot, struct sip_pl v,
                       struct addr_slot **out)
{
	struct addr_slot *a = sip_arena_alloc(m->arena, sizeof(*a));

	if (!a)
		return SIP_ERR_NOMEM;
	a->uri = NULL;
	if (sip_addr_parse(&a->a, v) < 0)
		return SIP_ERR_ADDR;
	slot->parsed = a;
	if (out)
		*out = a;
	return 0;
}

static int decode_via(struct sip_msg *m, struct hdr_slot *slot, struct sip_pl value)
{
	struct sip_via *v = sip_arena_alloc(m->arena, sizeof(*v));
	int err;

	if (!v)
		return SIP_ERR_NOMEM;
	if ((err = sip_via_parse(v, value)) < 0)
		return err;
	slot->parsed = v;
	if (!m->via)
		m->via = v;
	return 0;
}

static int decode_clen(struct sip_msg *m, struct sip_pl value)
{
	uint32_t n;

	if (sip_hdr_u32(value, CLEN_MAX, &n) < 0)
		return SIP_ERR_CLEN;
	if (m->clen < 0)
		m->clen = n;
	else if (m->clen != (long)n)
		m->clen_conflict = true; /* sip_msg_check() refuses it (RFC 4475 mcl01) */
	return 0;
}

/* Decodes the headers every layer reads, when they arrive. Only the first
 * of a single-valued header is decoded: repeats are a semantic fault that
 * sip_msg_check() reports (RFC 4475 multi01 must still parse). */
static int decode_hot(struct sip_msg *m, struct hdr_slot *slot, enum sip_hdr_id id, struct sip_pl v,
                      bool first)
{
	uint32_t n;

	switch (id) {
	case SIP_HDR_VIA: return decode_via(m, slot, v);
	case SIP_HDR_CONTACT: return decode_addr(m, slot, v, first ? &m->contact : NULL);
	case SIP_HDR_FROM: return first ? decode_addr(m, slot, v, &m->from) : 0;
	case SIP_HDR_TO: return first ? decode_addr(m, slot, v, &m->to) : 0;
	case SIP_HDR_CSEQ:
		if (!first)
			return 0;
		m->has_cseq = true;
		return sip_cseq_parse(&m->cseq, v) < 0 ? SIP_ERR_CSEQ : 0;
	case SIP_HDR_CALL_ID:
		if (!first)
			return 0;
		m->call_id = v;
		return sip_call_id_valid(v) ? 0 : SIP_ERR_CALL_ID;
	case SIP_HDR_MAX_FORWARDS:
		if (!first)
			return 0;
		if (sip_hdr_u32(v, 255, &n) < 0)
			return SIP_ERR_MAX_FWD;
		m->max_fwd = (int)n;
		return 0;
	case SIP_HDR_CONTENT_LENGTH: return decode_clen(m, v);
	default: return 0;
	}
}

/* Adds one element of the current header line and decodes it if it is
 * hot. elem is its index on the line; split_list() sets nelem once it
 * knows the count. Neither needs clamping to 16 bits: each element holds a
 * slot, and there are at most SIP_MSG_MAX_HDRS of those. */
static int add_value(struct parse *ps, struct sip_pl value, unsigned elem)
{
	struct sip_msg *m = ps->m;
	struct sip_pl name = pl_span(ps->line, ps->name_end);
	enum sip_hdr_id id = ps->id;
	struct hdr_slot *slot;
	bool first;
	int err;

	if (m->nhdr == m->cap && (err = grow_slots(ps, name)) < 0)
		return err;
	slot = &m->hdrs[m->nhdr];
	slot->h.id = id;
	slot->h.name = name;
	slot->h.value = value;
	slot->h.line = pl_span(ps->line, ps->eol + 2);
	slot->h.elem = (uint16_t)elem;
	slot->h.nelem = 1;
	slot->parsed = NULL;
	first = m->first[id] == 0;
	if (first)
		m->first[id] = (uint16_t)(m->nhdr + 1);
	m->num[id]++;
	m->nhdr++;
	if (id != SIP_HDR_OTHER && (err = decode_hot(m, slot, id, value, first)) < 0)
		return fail(ps, err, name);
	return 0;
}

/* What can end or nest a list element; CR too, so that a scan stops at the
 * end of its header line at the latest (see split_list). */
static const bool list_special[256] = {
        [','] = true, ['"'] = true, ['<'] = true, ['>'] = true, ['\r'] = true};

/* Splits a list header's value at commas outside quoted strings and angle
 * brackets (§7.3.1), trimming each element. The value lies in a header
 * line ending in CRLF, which is what lets the inner scan run unbounded:
 * it stops at that CR at the latest. */
static int split_list(struct parse *ps, struct sip_pl value)
{
	const char *p = value.p, *end = value.p + value.len, *s = p;
	size_t before = ps->m->nhdr;
	unsigned elem = 0;
	bool angle = false;
	int err;

	/* Most list headers hold one value: no comma, nothing to split. */
	if (!memchr(p, ',', value.len))
		return add_value(ps, value, 0);
	for (;; p++) {
		while (!list_special[(unsigned char)*p])
			p++;
		if (p >= end)
			p = end;
		if (p == end || (*p == ',' && !angle)) {
			struct sip_pl e = sip_pl_trim(pl_span(s, p));

			if (e.len == 0 && ps->id == SIP_HDR_VIA)
				return fail(ps, SIP_ERR_VIA, pl_span(ps->line, ps->name_end));
			if (e.len || (elem == 0 && p == end)) {
				if ((err = add_value(ps, e, elem++)) < 0)
					return err;
			}
			if (p == end)
				break;
			s = p + 1;
		} else if (*p == '"') {
			const char *q = scan_quoted(p, end);
			p = q ? q - 1 : end - 1; /* unclosed: the element parser fails */
		} else if (*p == '<') {
			angle = true;
		} else if (*p == '>') {
			angle = false;
		} /* else a CR of a folded line: white space inside the element */
	}
	for (size_t i = before; i < ps->m->nhdr; i++)
		ps->m->hdrs[i].h.nelem = (uint16_t)elem;
	return 0;
}

/* The header name before the colon, trimmed. A name the table knows is a
 * valid token by construction (the table compare folds letters only), so
 * only unknown names are checked octet by octet: the common case skips
 * that loop. */
static int header_name(struct parse *ps, const char *p, const char *colon)
{
	const char *e = colon;

	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	ps->name_end = e;
	ps->id = sip_hdr_id_from_name(pl_span(p, e));
	if (ps->id != SIP_HDR_OTHER)
		return 0;
	return e > p && scan_class(p, e, CH_TOKEN) == e ? 0 : SIP_ERR_HEADER;
}

/* The common case of naming a header: the colon among the first 16
 * octets, right after a name the table knows. Then the name is found and
 * looked up with a few word operations, and no octet loop runs. Returns
 * the colon, or NULL to take the general path (a line under 16 octets, a
 * longer name, white space before the colon, an unknown name). */
static const char *name_fast(struct parse *ps, const char *p, const char *eol)
{
	const char *colon;

	if (eol - p < 16 || (colon = scan_to(p, p + 16, ':')) == p + 16)
		return NULL;
	ps->id = sip_hdr_id_prefix16(p, (size_t)(colon - p));
	ps->name_end = colon;
	return ps->id != SIP_HDR_OTHER ? colon : NULL;
}

/* One header line [p, eol) where eol is the CR of its final CRLF. */
static int parse_header(struct parse *ps, const char *p, const char *eol)
{
	const char *colon, *v, *ve = eol;

	ps->line = p;
	ps->eol = eol;
	if (!(colon = name_fast(ps, p, eol)) &&
	    ((colon = scan_to(p, eol, ':')) == eol || header_name(ps, p, colon) < 0)) {
		/* Blame the name as far as it goes, else the whole line. */
		const char *t = scan_class(p, eol, CH_TOKEN);
		return fail(ps, SIP_ERR_HEADER, pl_span(p, t > p ? t : eol));
	}
	/* The value, trimmed of LWS (folded CRLFs included, as sip_pl_trim). */
	for (v = colon + 1; v < ve && sip_is_lws(*v); v++)
		;
	while (ve > v && sip_is_lws(ve[-1]))
		ve--;
	if (sip_hdr_is_list(ps->id))
		return split_list(ps, pl_span(v, ve));
	return add_value(ps, pl_span(v, ve), 0);
}

/* End of the logical line starting at p: the '\n' of the first CRLF not
 * followed by SP or HTAB (folding, §7.3.1). NULL when the input ends first
 * or a line ends in a bare LF. */
static const char *line_end(const char *p, const char *end)
{
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl || nl == p || nl[-1] != '\r')
			return NULL;
		if (nl + 1 < end && (nl[1] == ' ' || nl[1] == '\t')) {
			p = nl + 1;
			continue;
		}
		return nl;
	}
}

static int parse_headers(struct parse *ps, const char **pp, const char *end)
{
	const char *p = *pp, *nl;
	int err;

	for (;;) {
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
			ps->m->hdr_end = (size_t)(p - ps->m->buf);
			*pp = p + 2;
			return 0;
		}
		if (p == end || !(nl = line_end(p, end)))
			return fail(ps, SIP_ERR_HEADER, SIP_PL("end of headers"));
		if ((err = parse_header(ps, p, nl - 1)) < 0)
			return err;
		p = nl + 1;
	}
}

/* ---- body and checks ---------------------------------------------------- */

static int frame_body(struct parse *ps, const char *p, const char *end)
{
	struct sip_msg *m = ps->m;
	size_t rest = (size_t)(end - p);

	if (m->clen < 0) {
		if (ps->flags & SIP_PARSE_STREAM)
			return fail(ps, SIP_ERR_CLEN, SIP_PL("Content-Length"));
		m->body = pl_span(p, end); /* datagram: the rest of it (§18.3) */
	} else {
		if ((size_t)m->clen > rest)
			return fail(ps, SIP_ERR_BODY_SHORT, SIP_PL("Content-Length"));
		m->body = sip_pl(p, (size_t)m->clen); /* octets past it are dropped */
	}
	m->len = (size_t)(m->body.p + m->body.len - m->buf);
	return 0;
}

static int check_cseq_method(struct parse *ps)
{
	struct sip_msg *m = ps->m;

	if (!m->request || !m->has_cseq || sip_pl_eq(m->cseq.method, m->method_pl))
		return 0;
	/* An unknown method we could not act on anyway is 501 (RFC 4475
	 * mismatch02); a known one with the wrong CSeq is a plain 400. */
	return fail(ps, m->method == SIP_METHOD_OTHER ? SIP_ERR_NOT_IMPL : SIP_ERR_CSEQ_METHOD,
	            m->cseq.method);
}

static int parse_all(struct parse *ps, const char *buf, size_t len)
{
	struct sip_msg *m = ps->m;
	const char *p = buf, *end = buf + len, *nl;
	int err;

	/* §7.5: CRLFs before the start line are ignored. */
	while (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		p += 2;
	m->buf = p;
	if (p == end)
		return fail(ps, SIP_ERR_START_LINE, SIP_PL("empty message"));
	nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl || nl == p || nl[-1] != '\r')
		return fail(ps, SIP_ERR_START_LINE, pl_span(p, nl ? nl : end));
	if ((err = parse_start_line(ps, p, nl - 1)) < 0)
		return err;
	p = nl + 1;
	if ((err = parse_headers(ps, &p, end)) < 0)
		return err;
	if ((err = frame_body(ps, p, end)) < 0)
		return err;
	return check_cseq_method(ps);
}

void sip_parse_err_set(struct sip_parse_err *perr, int err, struct sip_pl where, bool is_response)
{
	perr->err = err;
	perr->is_response = is_response;
	perr->status = is_response || err == 0 ? 0 : sip_err_status(err);
	perr->reason = sip_err_reason(err);
	perr->where = where;
}

int sip_msg_parse(struct sip_msg **out, struct sip_arena *a, const char *buf, size_t len,
                  unsigned flags, struct sip_parse_err *perr)
{
	struct parse ps = {.flags = flags, .where = SIP_PL_NULL};
	struct sip_msg *m = sip_arena_alloc(a, sizeof(*m));
	int err;

	if (!m) {
		err = SIP_ERR_NOMEM;
		goto out;
	}
	clear_struct(m, offsetof(struct sip_msg, ruri));
	m->arena = a;
	m->max_fwd = -1;
	m->clen = -1;
	ps.m = m;
	if (flags & SIP_PARSE_COPY) {
		char *copy = sip_arena_alloc(a, len ? len : 1);

		if (!copy) {
			err = SIP_ERR_NOMEM;
			goto out;
		}
		memcpy(copy, buf, len);
		buf = copy;
	}
	err = parse_all(&ps, buf, len);
out:
	if (err == 0)
		*out = m;
	if (perr) {
		bool resp = m ? !m->request && m->start_line.p : false;

		if (!m || !m->start_line.p)
			resp = len >= 4 && sip_pl_caseeq_str(sip_pl(buf, 4), "SIP/");
		sip_parse_err_set(perr, err, ps.where, resp);
	}
	return err;
}
