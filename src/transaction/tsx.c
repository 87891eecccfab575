/*
 * tsx.c — the transaction object of RFC 3261 §17: what the four machines
 * share (its own copies of the bytes it needs, its timers with the
 * durations of §17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2 and RFC 6026, how it
 * ends), and the public calls that start a client transaction and answer
 * on a server one.
 *
 * Ownership: a transaction is reference counted. The table holds one
 * reference from creation until the transaction terminates, every pending
 * effect holds one, and so does whoever asked for one (tsx_client_new's
 * *out, tsx_ref). It keeps a parsed copy of its request in its own arena,
 * bounded in proportion to the request's size, and the bytes it may have
 * to send again (request, last response, ACK) in shared blobs.
 */
#include <stdlib.h>

#include "tsx_priv.h"

/* A parsed copy of an ordinary request takes about 4 KiB plus the request;
 * one made of many tiny headers up to about 30 bytes per request byte (a
 * slot per header value). What remains is room for the headers the TU
 * decodes later. */
#define TSX_ARENA_BASE 8192u
#define TSX_ARENA_PER_BYTE 32u
#define TSX_ARENA_FIRST 3584u

/* §17.1.1.2: timer D is at least 32 s on unreliable transports. */
#define TSX_TIMER_D_MIN 32000u
/* §17.2.1: 100 Trying unless the TU answers within 200 ms. */
#define TSX_TRYING_MS 200u

/* ---- blobs ------------------------------------------------------------------- */

struct tsx_blob *tsx_blob_new(const char *p, size_t len)
{
	struct tsx_blob *b = malloc(sizeof(*b) + (len ? len : 1));

	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	atomic_init(&b->sends, 0);
	b->len = len;
	if (p && len)
		memcpy(b->data, p, len);
	return b;
}

struct tsx_blob *tsx_blob_ref(struct tsx_blob *b)
{
	atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
	return b;
}

void tsx_blob_unref(struct tsx_blob *b)
{
	if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
		free(b);
}

/* ---- life ------------------------------------------------------------------------ */

void tsx_cfg_default(struct tsx_cfg *cfg)
{
	cfg->t1_ms = 500;
	cfg->t2_ms = 4000;
	cfg->t4_ms = 5000;
	cfg->shards = 64;
}

static struct tsx *tsx_alloc(struct tsx_layer *l, size_t msg_len)
{
	struct tsx *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	/* A transaction lives for seconds after its final response (timers
	 * J, K, D, M), tens of thousands at once under load: its arena starts
	 * at about what the parsed copy of its request takes (the bytes, the
	 * header table and the hot headers), not at the default block. */
	if (sip_arena_new_sized(&t->arena, TSX_ARENA_BASE + TSX_ARENA_PER_BYTE * msg_len,
	                        TSX_ARENA_FIRST + 2 * msg_len) < 0) {
		free(t);
		return NULL;
	}
	atomic_init(&t->refs, 1);
	t->l = l;
	for (int i = 0; i < TSX_NSLOTS; i++)
		t->tmr[i].owner = t;
	return t;
}

static void tsx_free(struct tsx *t)
{
	sip_arena_free(t->arena);
	tsx_blob_unref(t->req_bytes);
	tsx_blob_unref(t->last);
	free(t->keybuf);
	free(t);
}

/* Moves the key's slices into one small buffer of t's own, then lets the
 * request go. Under the lock, with nobody reading the request (see
 * tsx_shed_if_idle). Without memory for the buffer t just keeps it. */
static void shed(struct tsx *t)
{
	struct sip_pl *slice[] = {&t->key.branch, &t->key.host, &t->key.mname};
	size_t n = 0;
	char *p;

	atomic_store_explicit(&t->shed_pending, false, memory_order_relaxed);
	for (size_t i = 0; i < sizeof(slice) / sizeof(slice[0]); i++)
		n += slice[i]->len;
	if (!(t->keybuf = p = malloc(n ? n : 1)))
		return;
	for (size_t i = 0; i < sizeof(slice) / sizeof(slice[0]); i++) {
		if (slice[i]->len)
			memcpy(p, slice[i]->p, slice[i]->len);
		slice[i]->p = slice[i]->len ? p : NULL;
		p += slice[i]->len;
	}
	t->key.m = NULL;
	t->req = NULL;
	sip_arena_free(t->arena);
	t->arena = NULL;
	tsx_blob_unref(t->req_bytes);
	t->req_bytes = NULL;
}

void tsx_shed_if_idle(struct tsx *t)
{
	if (!atomic_load_explicit(&t->shed_pending, memory_order_relaxed))
		return; /* the common case: every settled effect asks */
	/* Only the table: nobody can take another reference without this
	 * lock. Released: the holders said they are done with it, and no
	 * effect (a CANCEL being built from it) is under way. */
	bool alone = atomic_load_explicit(&t->refs, memory_order_acquire) == 1 &&
	             t->state != TSX_ACCEPTED;
	bool released = t->req_released && t->busy == 0;

	if (alone || released)
		shed(t);
}

void tsx_waiting(struct tsx *t)
{
	/* RFC 2543 transactions keep their request: they are matched by its
	 * fields (table.c). A transaction enters one waiting state at most. */
	if (t->key.rfc2543)
		return;
	atomic_store_explicit(&t->shed_pending, true, memory_order_relaxed);
	tsx_shed_if_idle(t);
}

void tsx_release_request(struct tsx *t)
{
	pthread_mutex_lock(&t->sh->mu);
	t->req_released = true;
	tsx_shed_if_idle(t);
	pthread_mutex_unlock(&t->sh->mu);
}

void tsx_discard(struct tsx *t)
{
	tsx_free(t);
}

void tsx_ref(struct tsx *t)
{
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void tsx_unref(struct tsx *t)
{
	if (!t)
		return;
	if (atomic_load_explicit(&t->shed_pending, memory_order_relaxed)) {
		/* A transaction that only waits: let go under its lock, so
		 * that if the table is left the only holder, t is shed before
		 * anything (its timer) can end and free it. No caller of
		 * tsx_unref holds a shard lock while the flag is set
		 * (tsx_terminate and the shutdown drain clear it first). */
		pthread_mutex_lock(&t->sh->mu);
		if (atomic_load_explicit(&t->shed_pending, memory_order_relaxed)) {
			/* Still linked, so the table's reference remains. */
			atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel);
			tsx_shed_if_idle(t);
			pthread_mutex_unlock(&t->sh->mu);
			return;
		}
		pthread_mutex_unlock(&t->sh->mu);
	}
	/* No lock otherwise: the last reference goes only after the table
	 * and every effect let go, so nothing else can reach t any more. */
	if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
		tsx_free(t);
}

int tsx_server_new(struct tsx **out, struct tsx_layer *l, const struct sip_msg *m,
                   const struct tsx_peer *from)
{
	struct sip_pl raw = sip_msg_raw(m);
	struct tsx *t = tsx_alloc(l, raw.len);
	int err;

	if (!t)
		return SIP_ERR_NOMEM;
	/* The received bytes live only as long as the receive call: copy. */
	err = sip_msg_parse(&t->req, t->arena, raw.p, raw.len, SIP_PARSE_COPY, NULL);
	if (err == 0 && !tsx_key_request(&t->key, t->req))
		err = SIP_ERR_NO_HEADER;
	if (err < 0) {
		tsx_free(t);
		return err;
	}
	if (sip_msg_method(t->req) == SIP_METHOD_INVITE) {
		t->kind = TSX_SERVER_INVITE;
		t->m = &tsx_ist_machine;
	} else {
		t->kind = TSX_SERVER;
		t->m = &tsx_nist_machine;
	}
	t->peer = *from;
	t->sh = tsx_shard_of(l, t->key.hash);
	*out = t;
	return 0;
}

/* Parses the request in b (which t now owns) and picks the machine. */
static int client_init(struct tsx *t, struct tsx_blob *b)
{
	int err;

	t->req_bytes = b;
	/* In place: the blob lives as long as t, and holds the exact bytes
	 * every retransmission sends. */
	if ((err = sip_msg_parse(&t->req, t->arena, b->data, b->len, 0, NULL)) < 0)
		return err;
	if (!sip_msg_is_request(t->req) || sip_msg_method(t->req) == SIP_METHOD_ACK)
		return SIP_ERR_UNSUPPORTED; /* §17: an ACK is no transaction */
	if ((err = tsx_key_client(&t->key, t->req)) < 0)
		return err;
	if (sip_msg_method(t->req) == SIP_METHOD_INVITE) {
		t->kind = TSX_CLIENT_INVITE;
		t->m = &tsx_ict_machine;
	} else {
		t->kind = TSX_CLIENT;
		t->m = &tsx_nict_machine;
	}
	t->sh = tsx_shard_of(t->l, t->key.hash);
	return 0;
}

int tsx_client_start(struct tsx_layer *l, struct tsx **out, struct tsx_blob *b,
                     const struct tsx_peer *to, tsx_resp_fn cb, void *arg)
{
	struct tsx *t = tsx_alloc(l, b->len);
	struct tsx_fx fx;
	int err;

	if (!t) {
		tsx_blob_unref(b);
		return SIP_ERR_NOMEM;
	}
	if ((err = client_init(t, b)) < 0) {
		tsx_free(t);
		return err;
	}
	t->peer = *to;
	t->cb = cb;
	t->cb_arg = arg;
	tsx_fx_init(&fx, l, t->sh);
	pthread_mutex_lock(&t->sh->mu);
	if (tsx_table_find(t->sh, &t->key)) {
		pthread_mutex_unlock(&t->sh->mu);
		tsx_free(t);
		return SIP_ERR_BRANCH; /* the branch is in use by a live transaction */
	}
	tsx_table_insert(t->sh, t);
	t->m->start(t, &fx);
	if (out) {
		/* Set before the first send: a response may come back (and
		 * run cb) before this call returns. */
		tsx_ref(t);
		*out = t;
	}
	pthread_mutex_unlock(&t->sh->mu);
	tsx_fx_run(&fx);
	return 0;
}

int tsx_client_new(struct tsx_layer *l, struct tsx **out, const char *buf, size_t len,
                   const struct tsx_peer *to, tsx_resp_fn cb, void *arg)
{
	struct tsx_blob *b;

	if (!l || !buf || !len || !to)
		return SIP_ERR_SYNTAX;
	if (!(b = tsx_blob_new(buf, len)))
		return SIP_ERR_NOMEM;
	return tsx_client_start(l, out, b, to, cb, arg);
}

int tsx_respond(struct tsx *st, int status, const char *buf, size_t len)
{
	struct tsx_blob *b;
	struct tsx_fx fx;
	int err;

	if (!st || !st->m->respond)
		return SIP_ERR_NOT_FOUND;
	if (status < 100 || status > 699 || !buf || !len)
		return SIP_ERR_RANGE;
	if (!(b = tsx_blob_new(buf, len)))
		return SIP_ERR_NOMEM;
	tsx_fx_init(&fx, st->l, st->sh);
	pthread_mutex_lock(&st->sh->mu);
	if (st->state == TSX_TERMINATED)
		err = SIP_ERR_NOT_FOUND;
	else
		err = st->m->respond(st, status, b, &fx);
	pthread_mutex_unlock(&st->sh->mu);
	tsx_blob_unref(b);
	if (err < 0)
		return err;
	return tsx_fx_run(&fx);
}

/* ---- what the machines share (all under the shard lock) ------------------------- */

uint64_t tsx_timer_ms(const struct tsx *t, enum tsx_tid id)
{
	const struct tsx_cfg *c = &t->l->cfg;
	uint64_t t1 = c->t1_ms, t64 = 64 * t1;
	bool reliable = tsx_peer_reliable(&t->peer);

	switch (id) {
	case TSX_TID_A:
	case TSX_TID_E:
	case TSX_TID_G: return t1;
	case TSX_TID_B:
	case TSX_TID_F:
	case TSX_TID_H:
	case TSX_TID_L:
	case TSX_TID_M: return t64;
	case TSX_TID_D: return reliable ? 0 : (t64 > TSX_TIMER_D_MIN ? t64 : TSX_TIMER_D_MIN);
	case TSX_TID_I:
	case TSX_TID_K: return reliable ? 0 : c->t4_ms;
	case TSX_TID_J: return reliable ? 0 : t64;
	case TSX_TID_TRYING: return TSX_TRYING_MS;
	}
	return t64;
}

void tsx_timer_start(struct tsx *t, enum tsx_slot slot, enum tsx_tid id, uint64_t ms)
{
	t->tmr[slot].id = id;
	tsx_wheel_add(&t->sh->wheel, &t->tmr[slot], tsx_now(t->l) + ms);
}

void tsx_timer_stop(struct tsx *t, enum tsx_slot slot)
{
	tsx_timer_cancel(&t->tmr[slot]);
}

void tsx_terminate(struct tsx *t, int reason, struct tsx_fx *fx)
{
	if (t->state == TSX_TERMINATED)
		return;
	tsx_timer_stop(t, TSX_SLOT_RETRANS);
	tsx_timer_stop(t, TSX_SLOT_TIMEOUT);
	t->state = TSX_TERMINATED;
	t->end_reason = reason;
	t->end_pending = true;
	t->cancel_pending = false;
	atomic_store_explicit(&t->shed_pending, false, memory_order_relaxed);
	tsx_table_remove(t->sh, t);
	/* The end report waits for every effect naming t (this one too),
	 * so it is always the last thing the TU hears of t. */
	tsx_fx_push(fx, TSX_FX_TOUCH, t);
	tsx_unref(t); /* the table's; the effect holds t now */
}

void tsx_wait_or_end(struct tsx *t, enum tsx_tid id, struct tsx_fx *fx)
{
	uint64_t ms = tsx_timer_ms(t, id);

	if (ms == 0) {
		tsx_terminate(t, 0, fx);
		return;
	}
	tsx_timer_start(t, TSX_SLOT_TIMEOUT, id, ms);
	/* D, I, J, K: only retransmissions to absorb (or the ACK to repeat)
	 * until the timer ends t. The effects recorded now still hold t; the
	 * last to let go sheds it. */
	tsx_waiting(t);
}

void tsx_client_fail(struct tsx *t, int status, struct tsx_fx *fx)
{
	tsx_fx_push(fx, TSX_FX_FAIL, t)->status = status;
	tsx_terminate(t, status, fx);
}

void tsx_server_send(struct tsx *t, int status, struct tsx_blob *b, struct tsx_fx *fx)
{
	if (t->last != b) {
		tsx_blob_unref(t->last);
		t->last = tsx_blob_ref(b);
	}
	t->last_status = status;
	tsx_fx_send(fx, t, b);
}

/* ---- accessors ------------------------------------------------------------------------ */

enum tsx_kind tsx_kind(const struct tsx *t)
{
	return t->kind;
}

enum tsx_state tsx_state(const struct tsx *t)
{
	enum tsx_state s;

	/* Under the lock: another worker may be moving it on. */
	pthread_mutex_lock(&t->sh->mu);
	s = t->state;
	pthread_mutex_unlock(&t->sh->mu);
	return s;
}

const struct sip_msg *tsx_request(const struct tsx *t)
{
	/* t->req changes only while nobody but the table holds t: a caller
	 * holding a reference reads a stable value. */
	return t->req;
}

const struct tsx_peer *tsx_peer(const struct tsx *t)
{
	return &t->peer;
}

void tsx_set_user(struct tsx *t, void *user)
{
	atomic_store_explicit(&t->user, user, memory_order_release);
}

void *tsx_user(struct tsx *t)
{
	return atomic_load_explicit(&t->user, memory_order_acquire);
}

const char *tsx_state_name(enum tsx_state s)
{
	switch (s) {
	case TSX_CALLING: return "Calling";
	case TSX_TRYING: return "Trying";
	case TSX_PROCEEDING: return "Proceeding";
	case TSX_COMPLETED: return "Completed";
	case TSX_CONFIRMED: return "Confirmed";
	case TSX_ACCEPTED: return "Accepted";
	case TSX_TERMINATED: return "Terminated";
	}
	return "?";
}
