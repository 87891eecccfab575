/*
 * msg_get.c — reading a parsed message: start-line fields, header lookup
 * by id or name, hot fields, headers decoded on first use, and the
 * semantic checks a server makes before acting (RFC 3261 §8.2, §16.3).
 */
#include "msg_priv.h"
#include "scan.h"

bool sip_msg_is_request(const struct sip_msg *m)
{
	return m->request;
}

enum sip_method sip_msg_method(const struct sip_msg *m)
{
	return m->method;
}

struct sip_pl sip_msg_method_name(const struct sip_msg *m)
{
	return m->method_pl;
}

struct sip_pl sip_msg_ruri_pl(const struct sip_msg *m)
{
	return m->ruri_pl;
}

const struct sip_uri *sip_msg_ruri(const struct sip_msg *m)
{
	return m->request ? &m->ruri : NULL;
}

int sip_msg_status(const struct sip_msg *m)
{
	return m->status;
}

struct sip_pl sip_msg_reason(const struct sip_msg *m)
{
	return m->reason;
}

struct sip_pl sip_msg_start_line(const struct sip_msg *m)
{
	return m->start_line;
}

struct sip_pl sip_msg_raw(const struct sip_msg *m)
{
	return sip_pl(m->buf, m->len);
}

struct sip_pl sip_msg_body(const struct sip_msg *m)
{
	return m->body;
}

size_t sip_msg_headers_end(const struct sip_msg *m)
{
	return m->hdr_end;
}

struct sip_arena *sip_msg_arena(const struct sip_msg *m)
{
	return m->arena;
}

size_t sip_msg_hdr_count(const struct sip_msg *m)
{
	return m->nhdr;
}

const struct sip_hdr *sip_msg_hdr_at(const struct sip_msg *m, size_t i)
{
	return i < m->nhdr ? &m->hdrs[i].h : NULL;
}

const struct sip_hdr *sip_msg_hdr_next(const struct sip_msg *m, enum sip_hdr_id id, size_t *pos)
{
	size_t i = *pos;

	if ((unsigned)id >= SIP_HDR_COUNT || m->first[id] == 0)
		return NULL;
	if (i < (size_t)m->first[id] - 1)
		i = (size_t)m->first[id] - 1;
	for (; i < m->nhdr; i++) {
		if (m->hdrs[i].h.id == id) {
			*pos = i + 1;
			return &m->hdrs[i].h;
		}
	}
	*pos = m->nhdr;
	return NULL;
}

const struct sip_hdr *sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id)
{
	if ((unsigned)id >= SIP_HDR_COUNT || m->first[id] == 0)
		return NULL;
	return &m->hdrs[m->first[id] - 1].h;
}

const struct sip_hdr *sip_msg_hdr_by_name(const struct sip_msg *m, struct sip_pl name)
{
	enum sip_hdr_id id = sip_hdr_id_from_name(name);

	if (id != SIP_HDR_OTHER)
		return sip_msg_hdr(m, id);
	for (size_t i = 0; i < m->nhdr; i++)
		if (m->hdrs[i].h.id == SIP_HDR_OTHER && sip_pl_caseeq(m->hdrs[i].h.name, name))
			return &m->hdrs[i].h;
	return NULL;
}

size_t sip_msg_hdr_num(const struct sip_msg *m, enum sip_hdr_id id)
{
	return (unsigned)id < SIP_HDR_COUNT ? m->num[id] : 0;
}

size_t sip_msg_hdr_index(const struct sip_msg *m, const struct sip_hdr *h)
{
	return (size_t)((const struct hdr_slot *)(const void *)h - m->hdrs);
}

const struct sip_via *sip_msg_via(const struct sip_msg *m)
{
	return m->via;
}

const struct sip_addr *sip_msg_from(const struct sip_msg *m)
{
	return m->from ? &m->from->a : NULL;
}

const struct sip_addr *sip_msg_to(const struct sip_msg *m)
{
	return m->to ? &m->to->a : NULL;
}

const struct sip_addr *sip_msg_contact(const struct sip_msg *m)
{
	return m->contact ? &m->contact->a : NULL;
}

const struct sip_cseq *sip_msg_cseq(const struct sip_msg *m)
{
	return m->has_cseq ? &m->cseq : NULL;
}

struct sip_pl sip_msg_call_id(const struct sip_msg *m)
{
	return m->call_id;
}

int sip_msg_max_forwards(const struct sip_msg *m)
{
	return m->max_fwd;
}

long sip_msg_content_length(const struct sip_msg *m)
{
	return m->clen;
}

/* The slot behind a header handed out by this message. The cache lives in
 * the message's arena; a message is read by one thread at a time. */
static struct hdr_slot *slot_of(const struct sip_msg *m, const struct sip_hdr *h)
{
	size_t i = sip_msg_hdr_index(m, h);

	return i < m->nhdr ? (struct hdr_slot *)&m->hdrs[i] : NULL;
}

int sip_msg_hdr_via(const struct sip_msg *m, const struct sip_hdr *h, const struct sip_via **out)
{
	struct hdr_slot *slot = slot_of(m, h);
	struct sip_via *v;
	int err;

	if (!slot || h->id != SIP_HDR_VIA)
		return SIP_ERR_NOT_FOUND;
	if (!slot->parsed) {
		if (!(v = sip_arena_alloc(m->arena, sizeof(*v))))
			return SIP_ERR_NOMEM;
		if ((err = sip_via_parse(v, h->value)) < 0)
			return err;
		slot->parsed = v;
	}
	*out = slot->parsed;
	return 0;
}

int sip_msg_hdr_addr(const struct sip_msg *m, const struct sip_hdr *h, const struct sip_addr **out)
{
	struct hdr_slot *slot = slot_of(m, h);
	struct addr_slot *a;

	if (!slot || h->id == SIP_HDR_VIA)
		return SIP_ERR_NOT_FOUND;
	if (!slot->parsed) {
		if (!(a = sip_arena_alloc(m->arena, sizeof(*a))))
			return SIP_ERR_NOMEM;
		a->uri = NULL;
		if (sip_addr_parse(&a->a, h->value) < 0)
			return SIP_ERR_ADDR;
		slot->parsed = a;
	}
	*out = &((struct addr_slot *)slot->parsed)->a;
	return 0;
}

int sip_msg_addr_uri(const struct sip_msg *m, const struct sip_addr *addr,
                     const struct sip_uri **out)
{
	/* Every sip_addr this module hands out is the head of an addr_slot. */
	struct addr_slot *a = (struct addr_slot *)(void *)addr;

	if (addr->star)
		return SIP_ERR_NOT_FOUND;
	if (!a->uri) {
		struct sip_uri *u = sip_arena_alloc(m->arena, sizeof(*u));

		if (!u)
			return SIP_ERR_NOMEM;
		if (sip_uri_parse(u, addr->uri) < 0)
			return SIP_ERR_URI;
		a->uri = u;
	}
	*out = a->uri;
	return 0;
}

bool sip_msg_has_token(const struct sip_msg *m, enum sip_hdr_id id, const char *tok)
{
	size_t pos = 0;
	const struct sip_hdr *h;

	while ((h = sip_msg_hdr_next(m, id, &pos)))
		if (sip_pl_caseeq_str(h->value, tok))
			return true;
	return false;
}

/* ---- semantic checks ------------------------------------------------- */

static const enum sip_hdr_id mandatory[] = {
        SIP_HDR_TO, SIP_HDR_FROM, SIP_HDR_CSEQ, SIP_HDR_CALL_ID, SIP_HDR_VIA,
};
static const enum sip_hdr_id single[] = {
        SIP_HDR_TO,      SIP_HDR_FROM,         SIP_HDR_CSEQ,
        SIP_HDR_CALL_ID, SIP_HDR_MAX_FORWARDS, SIP_HDR_CONTENT_LENGTH,
};

static int check_fail(struct sip_parse_err *perr, const struct sip_msg *m, int err,
                      struct sip_pl where)
{
	if (perr)
		sip_parse_err_set(perr, err, where, !m->request);
	return err;
}

static int check_addr_uri(const struct sip_msg *m, const struct sip_addr *a)
{
	const struct sip_uri *u;

	return a && sip_msg_addr_uri(m, a, &u) < 0 ? SIP_ERR_ADDR : 0;
}

static int check_date(const struct sip_msg *m)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_DATE);
	int64_t t;

	return h ? sip_date_parse(h->value, &t) : 0;
}

int sip_msg_check(const struct sip_msg *m, struct sip_parse_err *perr)
{
	for (size_t i = 0; i < sizeof(mandatory) / sizeof(mandatory[0]); i++)
		if (m->num[mandatory[i]] == 0)
			return check_fail(perr, m, SIP_ERR_NO_HEADER,
			                  sip_pl_cstr(sip_hdr_name(mandatory[i])));
	for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
		enum sip_hdr_id id = single[i];
		/* Repeating an identical Content-Length is harmless. */
		if (m->num[id] > 1 && (id != SIP_HDR_CONTENT_LENGTH || m->clen_conflict))
			return check_fail(perr, m, SIP_ERR_DUP_HEADER,
			                  sip_pl_cstr(sip_hdr_name(id)));
	}
	if (check_addr_uri(m, sip_msg_from(m)) < 0)
		return check_fail(perr, m, SIP_ERR_ADDR, SIP_PL("From"));
	if (check_addr_uri(m, sip_msg_to(m)) < 0)
		return check_fail(perr, m, SIP_ERR_ADDR, SIP_PL("To"));
	if (m->request && m->ruri.scheme == SIP_SCHEME_OTHER)
		return check_fail(perr, m, SIP_ERR_SCHEME, m->ruri.scheme_pl);
	/* Date is checked here, not while parsing: a proxy forwards a bad one
	 * untouched, an element that acts on it refuses it (RFC 4475 baddate). */
	if (check_date(m) < 0)
		return check_fail(perr, m, SIP_ERR_DATE, SIP_PL("Date"));
	if (m->via && sip_pl_eq(m->via->branch, SIP_PL("z9hG4bK")))
		return check_fail(perr, m, SIP_ERR_BRANCH, m->via->branch);
	if (perr)
		sip_parse_err_set(perr, 0, SIP_PL_NULL, !m->request);
	return 0;
}
