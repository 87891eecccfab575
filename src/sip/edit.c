/*
 * edit.c — deriving a message from a received one (RFC 3261 §16.6) by
 * edits on the received bytes: each edit deletes a span and/or inserts
 * text at an offset, and printing copies the unchanged bytes around them.
 * Headers that did not change are never re-serialised.
 */
#include "msg_priv.h"
#include "libsip/build.h"

/* A proxy makes a handful of edits; more grow the list in the arena, up
 * to a bound that keeps a hostile caller's list finite. */
#define EDITS_INLINE 8
#define EDITS_MAX 1024

struct edit {
	size_t off;               /* offset in the raw message */
	size_t del;               /* bytes deleted from off */
	struct sip_pl ins;        /* text inserted at off */
	struct sip_pl ins2, ins3; /* more pieces of the same insertion */
	unsigned seq;             /* order of equal offsets */
	size_t hdr;               /* removal of one value of a list line: its index */
};

#define NOT_ELEM ((size_t)-1)
#define SETTLED ((size_t)-2) /* a value removal already turned into a deletion */

struct sip_edit {
	const struct sip_msg *m;
	struct edit *e; /* inline_e, or a larger copy in the arena */
	unsigned n, cap;
	bool body_set;
	struct sip_pl body;
	struct edit inline_e[EDITS_INLINE];
};

int sip_edit_new(struct sip_edit **out, const struct sip_msg *m)
{
	struct sip_edit *e = sip_arena_alloc(m->arena, sizeof(*e));

	if (!e)
		return SIP_ERR_NOMEM;
	e->m = m;
	e->e = e->inline_e;
	e->n = 0;
	e->cap = EDITS_INLINE;
	e->body_set = false;
	e->body = SIP_PL_NULL;
	*out = e;
	return 0;
}

static size_t off_of(const struct sip_edit *e, const char *p)
{
	return (size_t)(p - e->m->buf);
}

static int grow(struct sip_edit *e)
{
	struct edit *n;

	if (e->cap >= EDITS_MAX)
		return SIP_ERR_NOMEM;
	if (!(n = sip_arena_alloc(e->m->arena, 2 * e->cap * sizeof(*n))))
		return SIP_ERR_NOMEM;
	memcpy(n, e->e, e->n * sizeof(*n));
	e->e = n;
	e->cap *= 2;
	return 0;
}

static int add(struct sip_edit *e, size_t off, size_t del, struct sip_pl a, struct sip_pl b,
               struct sip_pl c)
{
	struct edit *x;

	if (e->n == e->cap && grow(e) < 0)
		return SIP_ERR_NOMEM;
	x = &e->e[e->n];
	x->off = off;
	x->del = del;
	x->ins = a;
	x->ins2 = b;
	x->ins3 = c;
	x->seq = e->n++;
	x->hdr = NOT_ELEM;
	return 0;
}

/* Inserts "Name: value\r\n" as a whole line at off. */
static int add_line(struct sip_edit *e, size_t off, struct sip_pl name, struct sip_pl value)
{
	struct sip_pl v;
	char *p = sip_arena_alloc(e->m->arena, name.len + 2);

	if (!p)
		return SIP_ERR_NOMEM;
	memcpy(p, name.p, name.len);
	memcpy(p + name.len, ": ", 2);
	if (sip_arena_dup(e->m->arena, value, &v) < 0)
		return SIP_ERR_NOMEM;
	return add(e, off, 0, sip_pl(p, name.len + 2), v, SIP_PL("\r\n"));
}

/* Offset of the first header line (just after the start line). */
static size_t headers_start(const struct sip_msg *m)
{
	return (size_t)(m->start_line.p + m->start_line.len + 2 - m->buf);
}

/* Inserts a line above every line of id, or at the top of the headers. */
static int push_line(struct sip_edit *e, enum sip_hdr_id id, struct sip_pl value)
{
	const struct sip_hdr *h = sip_msg_hdr(e->m, id);
	size_t off = h ? off_of(e, h->line.p) : headers_start(e->m);

	return add_line(e, off, sip_pl_cstr(sip_hdr_name(id)), value);
}

int sip_edit_via_push(struct sip_edit *e, struct sip_pl value)
{
	return push_line(e, SIP_HDR_VIA, value);
}

int sip_edit_rr_push(struct sip_edit *e, struct sip_pl value)
{
	return push_line(e, SIP_HDR_RECORD_ROUTE, value);
}

int sip_edit_hdr_remove(struct sip_edit *e, const struct sip_hdr *h)
{
	const struct sip_msg *m = e->m;
	size_t i = sip_msg_hdr_index(m, h);
	int err;

	if (i >= m->nhdr)
		return SIP_ERR_NOT_FOUND;
	if (h->nelem <= 1)
		return add(e, off_of(e, h->line.p), h->line.len, SIP_PL_NULL, SIP_PL_NULL,
		           SIP_PL_NULL);
	/* One value of several on a line: which bytes go depends on which
	 * other values of the line go too, so the span is settled at print
	 * time (expand_removals). */
	if ((err = add(e, off_of(e, h->value.p), 0, SIP_PL_NULL, SIP_PL_NULL, SIP_PL_NULL)) < 0)
		return err;
	e->e[e->n - 1].hdr = i;
	return 0;
}

static int pop_top(struct sip_edit *e, enum sip_hdr_id id)
{
	const struct sip_hdr *h = sip_msg_hdr(e->m, id);

	return h ? sip_edit_hdr_remove(e, h) : SIP_ERR_NOT_FOUND;
}

int sip_edit_via_pop(struct sip_edit *e)
{
	return pop_top(e, SIP_HDR_VIA);
}

int sip_edit_route_pop(struct sip_edit *e)
{
	return pop_top(e, SIP_HDR_ROUTE);
}

int sip_edit_ruri(struct sip_edit *e, struct sip_pl uri)
{
	struct sip_pl v;

	if (!e->m->request)
		return SIP_ERR_NOT_FOUND;
	if (sip_arena_dup(e->m->arena, uri, &v) < 0)
		return SIP_ERR_NOMEM;
	return add(e, off_of(e, e->m->ruri_pl.p), e->m->ruri_pl.len, v, SIP_PL_NULL, SIP_PL_NULL);
}

int sip_edit_max_forwards(struct sip_edit *e)
{
	const struct sip_hdr *h = sip_msg_hdr(e->m, SIP_HDR_MAX_FORWARDS);
	char *p;
	int n;

	if (!h)
		return add_line(e, headers_start(e->m), SIP_PL("Max-Forwards"), SIP_PL("70"));
	if (e->m->max_fwd <= 0)
		return SIP_ERR_RANGE;
	if (!(p = sip_arena_alloc(e->m->arena, 4)))
		return SIP_ERR_NOMEM;
	n = e->m->max_fwd - 1;
	/* Value is 0..254 here: at most three digits. */
	size_t len = 0;
	if (n >= 100)
		p[len++] = (char)('0' + n / 100);
	if (n >= 10)
		p[len++] = (char)('0' + n / 10 % 10);
	p[len++] = (char)('0' + n % 10);
	return add(e, off_of(e, h->value.p), h->value.len, sip_pl(p, len), SIP_PL_NULL,
	           SIP_PL_NULL);
}

int sip_edit_hdr_add(struct sip_edit *e, struct sip_pl name, struct sip_pl value)
{
	return add_line(e, e->m->hdr_end, name, value);
}

int sip_edit_body(struct sip_edit *e, struct sip_pl ctype, struct sip_pl body)
{
	const struct sip_hdr *ct = sip_msg_hdr(e->m, SIP_HDR_CONTENT_TYPE);
	int err;

	if (sip_arena_dup(e->m->arena, body, &e->body) < 0)
		return SIP_ERR_NOMEM;
	e->body_set = true;
	if (!ctype.len)
		return 0;
	if (ct && (err = sip_edit_hdr_remove(e, ct)) < 0)
		return err;
	return add_line(e, e->m->hdr_end, SIP_PL("Content-Type"), ctype);
}

/* Content-Length made right: every existing value rewritten to the body's
 * length (one kept, repeats dropped), or a new line when there was none. */
static int fix_content_length(struct sip_edit *e, char *num, size_t numlen)
{
	size_t pos = 0;
	const struct sip_hdr *h;
	bool first = true;
	int err = 0;

	while ((h = sip_msg_hdr_next(e->m, SIP_HDR_CONTENT_LENGTH, &pos)) && !err) {
		if (first)
			err = add(e, off_of(e, h->value.p), h->value.len, sip_pl(num, numlen),
			          SIP_PL_NULL, SIP_PL_NULL);
		else
			err = sip_edit_hdr_remove(e, h);
		first = false;
	}
	if (first && !err)
		err = add(e, e->m->hdr_end, 0, SIP_PL("Content-Length: "), sip_pl(num, numlen),
		          SIP_PL("\r\n"));
	return err;
}

/* Order of application: by offset; at one offset, pure insertions before
 * deletions (a line pushed where a popped line starts must survive the
 * pop, whichever was asked first); then in the order asked. */
static bool edit_before(const struct edit *a, const struct edit *b)
{
	if (a->off != b->off)
		return a->off < b->off;
	if ((a->del == 0) != (b->del == 0))
		return a->del == 0;
	return a->seq < b->seq;
}

static void sort_edits(struct edit *x, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct edit t = x[i];
		unsigned j = i;

		while (j > 0 && edit_before(&t, &x[j - 1])) {
			x[j] = x[j - 1];
			j--;
		}
		x[j] = t;
	}
}

/* Copies the edit list so that printing leaves it untouched (printing
 * twice gives the same bytes); room is left for the Content-Length fix,
 * one edit per Content-Length header plus one. */
static int work_copy(const struct sip_edit *ec, struct sip_edit *e, struct edit *stack,
                     unsigned stack_cap)
{
	unsigned need = ec->n + (unsigned)ec->m->num[SIP_HDR_CONTENT_LENGTH] + 1;

	*e = *ec;
	e->cap = need;
	if (need <= stack_cap)
		e->e = stack;
	else if (!(e->e = sip_arena_alloc(ec->m->arena, need * sizeof(*e->e))))
		return SIP_ERR_NOMEM;
	memcpy(e->e, ec->e, ec->n * sizeof(*e->e));
	return 0;
}

/* Turns the removals of values of one list line into deletions: a run of
 * removed values goes with the separator after it, or, when the run ends
 * the line, with the separator before it; a line losing every value goes
 * whole. The removal edits of the line are rewritten in place: one per
 * run becomes the deletion, the others no-ops. */
static void expand_line(struct sip_edit *e, size_t first, unsigned nelem)
{
	const struct sip_msg *m = e->m;
	unsigned slots[EDITS_MAX], elems[EDITS_MAX], r = 0, u = 0, used = 0;

	for (unsigned k = 0; k < e->n; k++) {
		if (e->e[k].hdr >= first && e->e[k].hdr < first + nelem) {
			slots[r] = k;
			elems[r++] = (unsigned)(e->e[k].hdr - first);
			e->e[k].hdr = SETTLED;
			e->e[k].del = 0;
		}
	}
	/* Sort the removed value numbers and drop repeats (pop twice = once). */
	for (unsigned i = 1; i < r; i++)
		for (unsigned j = i; j > 0 && elems[j - 1] > elems[j]; j--) {
			unsigned t = elems[j];
			elems[j] = elems[j - 1];
			elems[j - 1] = t;
		}
	for (unsigned i = 0; i < r; i++)
		if (u == 0 || elems[u - 1] != elems[i])
			elems[u++] = elems[i];
	for (unsigned i = 0; i < u;) {
		unsigned a = elems[i], b = a;
		struct edit *x = &e->e[slots[used++]];

		while (i + 1 < u && elems[i + 1] == b + 1)
			b = elems[++i];
		i++;
		if (u == nelem) { /* every value goes: the whole line */
			x->off = off_of(e, m->hdrs[first].h.line.p);
			x->del = m->hdrs[first].h.line.len;
			break;
		}
		if (b + 1 < nelem) {
			x->off = off_of(e, m->hdrs[first + a].h.value.p);
			x->del = off_of(e, m->hdrs[first + b + 1].h.value.p) - x->off;
		} else {
			const struct sip_hdr *hp = &m->hdrs[first + a - 1].h,
			                     *hb = &m->hdrs[first + b].h;
			x->off = off_of(e, hp->value.p + hp->value.len);
			x->del = off_of(e, hb->value.p + hb->value.len) - x->off;
		}
	}
}

static void expand_removals(struct sip_edit *e)
{
	for (unsigned k = 0; k < e->n; k++) {
		size_t i = e->e[k].hdr;

		if (i == NOT_ELEM || i == SETTLED)
			continue;
		const struct sip_hdr *h = &e->m->hdrs[i].h;
		expand_line(e, i - h->elem, h->nelem);
	}
}

int sip_edit_print(const struct sip_edit *ec, char *buf, size_t cap)
{
	struct edit stack[EDITS_INLINE + 4];
	struct sip_edit e;
	const struct sip_msg *m = ec->m;
	struct sip_pl body = ec->body_set ? ec->body : m->body;
	char num[24];
	struct sip_wbuf w;
	size_t at = 0, bodyoff = m->hdr_end + 2;
	int err;

	if ((err = work_copy(ec, &e, stack, EDITS_INLINE + 4)) < 0)
		return err;
	expand_removals(&e);
	sip_wbuf_init(&w, num, sizeof(num));
	sip_wbuf_putu(&w, body.len);
	if (!(m->clen >= 0 && (size_t)m->clen == body.len && !m->clen_conflict) &&
	    (err = fix_content_length(&e, num, w.len)) < 0)
		return err;
	sort_edits(e.e, e.n);
	sip_wbuf_init(&w, buf, cap);
	for (unsigned i = 0; i < e.n; i++) {
		const struct edit *x = &e.e[i];

		if (x->off < at) /* overlapping edits: the later one loses */
			continue;
		sip_wbuf_put(&w, sip_pl(m->buf + at, x->off - at));
		sip_wbuf_put(&w, x->ins);
		sip_wbuf_put(&w, x->ins2);
		sip_wbuf_put(&w, x->ins3);
		at = x->off + x->del;
	}
	sip_wbuf_put(&w, sip_pl(m->buf + at, bodyoff > at ? bodyoff - at : 0));
	sip_wbuf_put(&w, body);
	return w.err ? w.err : (int)w.len;
}
