/*
 * layer.c — the transaction layer as the rest of the stack sees it (RFC
 * 3261 §17): messages come in through tsx_layer_recv(), time through
 * tsx_layer_tick(), and everything the machines decide goes out through
 * the ops table: sends, the requests that start server transactions, the
 * responses client transactions receive, ACKs for 2xx and stray responses.
 *
 * Why effects: no lock may be held while a send or a callback runs (a
 * callback may well call tsx_respond() or start a transaction, and a send
 * may block on a socket). So a machine runs under its shard lock and only
 * records what must happen (struct tsx_fx); tsx_fx_run() does it once the
 * lock is released, then relocks briefly to settle the consequences: a
 * failed send is the machine's transport error, and when no effect naming
 * a terminated transaction remains, its end is reported. That last rule
 * makes the end report (the client's final callback, server_done) the last
 * word about a transaction even when several workers handle its messages.
 */
#include <stdlib.h>

#include "tsx_priv.h"

/* ---- effects ----------------------------------------------------------------- */

struct tsx_effect *tsx_fx_push(struct tsx_fx *fx, enum tsx_fx_kind kind, struct tsx *t)
{
	struct tsx_effect *e;

	/* TSX_FX_MAX covers the largest batch (see tsx_priv.h); more would
	 * be a bug in a machine, not a condition to handle. */
	if (fx->n == TSX_FX_MAX)
		abort();
	e = &fx->v[fx->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->t = t;
	tsx_ref(t);
	t->busy++;
	return e;
}

void tsx_fx_send(struct tsx_fx *fx, struct tsx *t, struct tsx_blob *b)
{
	if (b)
		tsx_fx_push(fx, TSX_FX_SEND, t)->blob = tsx_blob_ref(b);
}

static void report_end(struct tsx_layer *l, struct tsx *t)
{
	if (t->kind == TSX_CLIENT_INVITE || t->kind == TSX_CLIENT) {
		if (t->cb)
			t->cb(t, NULL, 0, t->cb_arg);
	} else if (l->ops.server_done) {
		l->ops.server_done(l->arg, t, t->end_reason);
	}
}

/* Does e, with no lock held. */
static void perform(struct tsx_layer *l, struct tsx_effect *e)
{
	struct tsx *t = e->t;

	switch (e->kind) {
	case TSX_FX_SEND:
		if (atomic_fetch_add_explicit(&e->blob->sends, 1, memory_order_relaxed))
			atomic_fetch_add_explicit(&l->retransmissions, 1, memory_order_relaxed);
		e->err = l->ops.send(l->arg, &t->peer, e->blob->data, e->blob->len);
		break;
	case TSX_FX_RESP:
	case TSX_FX_FAIL:
		if (t->cb)
			t->cb(t, e->msg, e->status, t->cb_arg);
		break;
	case TSX_FX_REQUEST:
		if (l->ops.request)
			l->ops.request(l->arg, t, e->msg, e->from);
		break;
	case TSX_FX_ACK:
		if (l->ops.ack)
			l->ops.ack(l->arg, e->msg, e->from);
		break;
	case TSX_FX_CANCEL: tsx_ict_cancel_now(t, e->cb, e->cb_arg); break;
	case TSX_FX_TOUCH: break;
	case TSX_FX_END: report_end(l, t); break;
	}
}

/* Under the lock, after e ran: its consequences go to next. */
static void settle(struct tsx_effect *e, struct tsx_fx *next)
{
	struct tsx *t = e->t;

	if (e->kind == TSX_FX_SEND && e->err < 0) {
		if (t->state != TSX_TERMINATED)
			t->m->tp_error(t, next);
		else if (!t->ended && t->end_reason == 0)
			t->end_reason = 503; /* a zero wait timer ended it before the send */
	}
	if (--t->busy == 0 && t->end_pending && !t->ended) {
		t->ended = true;
		tsx_fx_push(next, TSX_FX_END, t);
	}
	if (t->busy == 0)
		tsx_shed_if_idle(t); /* released by its holders, waiting for this */
}

int tsx_fx_run(struct tsx_fx *fx)
{
	struct tsx_fx other, *cur = fx, *next = &other, *swap;
	int first_err = 0;
	bool first = true;

	while (cur->n) {
		for (size_t i = 0; i < cur->n; i++) {
			perform(cur->l, &cur->v[i]);
			if (first && !first_err && cur->v[i].kind == TSX_FX_SEND)
				first_err = cur->v[i].err;
		}
		tsx_fx_init(next, cur->l, cur->sh);
		pthread_mutex_lock(&cur->sh->mu);
		for (size_t i = 0; i < cur->n; i++)
			settle(&cur->v[i], next);
		pthread_mutex_unlock(&cur->sh->mu);
		for (size_t i = 0; i < cur->n; i++) {
			tsx_blob_unref(cur->v[i].blob);
			tsx_unref(cur->v[i].t);
		}
		cur->n = 0;
		swap = cur;
		cur = next;
		next = swap;
		first = false;
	}
	return first_err < 0 ? first_err : 0;
}

/* ---- the layer ------------------------------------------------------------------- */

int tsx_layer_new(struct tsx_layer **out, const struct tsx_cfg *cfg, const struct tsx_ops *ops,
                  void *arg)
{
	struct tsx_layer *l;

	if (!ops || !ops->send)
		return SIP_ERR_UNSUPPORTED; /* a layer that cannot send is no layer */
	if (!(l = calloc(1, sizeof(*l))))
		return SIP_ERR_NOMEM;
	tsx_cfg_default(&l->cfg);
	if (cfg && cfg->t1_ms)
		l->cfg.t1_ms = cfg->t1_ms;
	if (cfg && cfg->t2_ms)
		l->cfg.t2_ms = cfg->t2_ms;
	if (cfg && cfg->t4_ms)
		l->cfg.t4_ms = cfg->t4_ms;
	if (cfg && cfg->shards)
		l->cfg.shards = cfg->shards;
	l->ops = *ops;
	l->arg = arg;
	l->nshards = l->cfg.shards;
	atomic_init(&l->now, 0);
	atomic_init(&l->live, 0);
	atomic_init(&l->retransmissions, 0);
	if (tsx_shards_init(l) < 0) {
		free(l);
		return SIP_ERR_NOMEM;
	}
	*out = l;
	return 0;
}

void tsx_layer_free(struct tsx_layer *l)
{
	if (!l)
		return;
	tsx_shards_fini(l);
	free(l);
}

uint64_t tsx_now(const struct tsx_layer *l)
{
	return atomic_load_explicit(&l->now, memory_order_relaxed);
}

uint64_t tsx_layer_now(const struct tsx_layer *l)
{
	return tsx_now(l);
}

void tsx_layer_set_max(struct tsx_layer *l, size_t max)
{
	atomic_store(&l->max, max);
}

size_t tsx_layer_count(const struct tsx_layer *l)
{
	return atomic_load(&l->live);
}

unsigned long tsx_layer_retransmissions(const struct tsx_layer *l)
{
	return atomic_load_explicit(&l->retransmissions, memory_order_relaxed);
}

/* ---- receiving ---------------------------------------------------------------------- */

/* Hands m to the transaction of key k when one exists, and runs what that
 * did once the shard is unlocked. False when no transaction matches. */
static bool recv_known(struct tsx_layer *l, struct tsx_shard *sh, const struct tsx_key *k,
                       const struct sip_msg *m, const struct tsx_peer *from)
{
	struct tsx *t;
	struct tsx_fx fx;

	tsx_fx_init(&fx, l, sh);
	pthread_mutex_lock(&sh->mu);
	if ((t = tsx_table_find(sh, k)))
		t->m->recv(t, m, from, &fx);
	pthread_mutex_unlock(&sh->mu);
	if (t)
		tsx_fx_run(&fx);
	return t != NULL;
}

static void recv_response(struct tsx_layer *l, const struct sip_msg *m, const struct tsx_peer *from)
{
	struct tsx_key k;

	if (tsx_key_response(&k, m) && recv_known(l, tsx_shard_of(l, k.hash), &k, m, from))
		return;
	if (l->ops.stray_response)
		l->ops.stray_response(l->arg, m, from);
}

/* A request no transaction knows: an ACK goes up as it is (§17.2.3: the
 * ACK for a 2xx is the TU's); anything else starts a server transaction
 * (or is dropped when memory is short: the client will retransmit). */
static void recv_new_request(struct tsx_layer *l, struct tsx_shard *sh, const struct tsx_key *k,
                             const struct sip_msg *m, const struct tsx_peer *from)
{
	struct tsx *t, *nt;
	struct tsx_effect *e;
	struct tsx_fx fx;

	if (sip_msg_method(m) == SIP_METHOD_ACK) {
		if (l->ops.ack)
			l->ops.ack(l->arg, m, from);
		return;
	}
	/* At the cap, a new transaction is not made: memory stays bounded
	 * whatever arrives, and the TU answers statelessly (503). A
	 * retransmission of a live one still found it above. */
	size_t max = atomic_load_explicit(&l->max, memory_order_relaxed);
	if (max && atomic_load_explicit(&l->live, memory_order_relaxed) >= max) {
		if (l->ops.overload)
			l->ops.overload(l->arg, m, from);
		return;
	}
	/* Parse the copy before taking the lock, then look again: another
	 * worker may have created it for a retransmission meanwhile. */
	if (tsx_server_new(&nt, l, m, from) < 0)
		return;
	tsx_fx_init(&fx, l, sh);
	pthread_mutex_lock(&sh->mu);
	if ((t = tsx_table_find(sh, k))) {
		t->m->recv(t, m, from, &fx);
	} else {
		tsx_table_insert(sh, nt);
		e = tsx_fx_push(&fx, TSX_FX_REQUEST, nt);
		e->msg = m;
		e->from = from;
		nt->m->start(nt, &fx);
	}
	pthread_mutex_unlock(&sh->mu);
	if (t)
		tsx_discard(nt);
	tsx_fx_run(&fx);
}

static void recv_request(struct tsx_layer *l, const struct sip_msg *m, const struct tsx_peer *from)
{
	struct tsx_key k;
	struct tsx_shard *sh;

	if (!tsx_key_request(&k, m))
		return; /* no Via or CSeq: nothing to match, nowhere to answer */
	sh = tsx_shard_of(l, k.hash);
	if (!recv_known(l, sh, &k, m, from))
		recv_new_request(l, sh, &k, m, from);
}

void tsx_layer_recv(struct tsx_layer *l, const struct sip_msg *m, const struct tsx_peer *from)
{
	if (sip_msg_is_request(m))
		recv_request(l, m, from);
	else
		recv_response(l, m, from);
}

/* ---- transport failures ----------------------------------------------------------- */

/* A client transaction that a transport failure toward addr concerns:
 * its request (or ACK) may still be on its way there. */
static bool waits_on(const struct tsx *t, enum tp_proto proto, const struct tp_addr *addr)
{
	bool client = t->kind == TSX_CLIENT || t->kind == TSX_CLIENT_INVITE;
	bool waiting = t->state == TSX_CALLING || t->state == TSX_TRYING;

	return client && waiting && t->peer.proto == proto && tp_addr_eq(&t->peer.addr, addr);
}

void tsx_layer_peer_failed(struct tsx_layer *l, enum tp_proto proto, const struct tp_addr *addr)
{
	/* Rare (a refused connection or certificate): a walk of every shard
	 * is cheaper than an index by peer kept for it on every request. A
	 * batch at a time, as timers are: a failed transaction is no longer
	 * a candidate, so each pass finds only the ones left. */
	for (unsigned s = 0; s < l->nshards; s++) {
		struct tsx_shard *sh = &l->shards[s];
		size_t n;

		do {
			struct tsx_fx fx;

			n = 0;
			if (__atomic_load_n(&sh->count, __ATOMIC_RELAXED) == 0)
				break;
			tsx_fx_init(&fx, l, sh);
			pthread_mutex_lock(&sh->mu);
			for (size_t b = 0; b < sh->nbuckets && n < TSX_FX_BATCH; b++)
				for (struct tsx *t = sh->buckets[b]; t && n < TSX_FX_BATCH;
				     t = t->hnext)
					if (waits_on(t, proto, addr)) {
						t->m->tp_error(t, &fx);
						n++;
					}
			pthread_mutex_unlock(&sh->mu);
			tsx_fx_run(&fx);
		} while (n == TSX_FX_BATCH);
	}
}

/* ---- time ------------------------------------------------------------------------------ */

/* Fires the due timers of one shard, a batch at a time: the effects of a
 * batch run unlocked before the next batch, so a tick that finds
 * thousands of timers due never holds the lock long nor needs a big list. */
static void tick_shard(struct tsx_layer *l, struct tsx_shard *sh, uint64_t now)
{
	struct tsx_timer *due = NULL, *tm;
	struct tsx_fx fx;

	/* An empty shard has no timers: skip its lock (most shards of an idle
	 * server, 100 times a second). A transaction added meanwhile is seen
	 * by the next tick; its wheel then catches up on its own. */
	if (__atomic_load_n(&sh->count, __ATOMIC_RELAXED) == 0)
		return;
	pthread_mutex_lock(&sh->mu);
	tsx_wheel_expire(&sh->wheel, now, &due);
	while (due) {
		tsx_fx_init(&fx, l, sh);
		/* `due` is on this stack but other workers may unlink from it
		 * (under the lock) when they stop a timer that is in it. */
		while (fx.n < TSX_FX_BATCH && (tm = tsx_timer_pop(&due)))
			tm->owner->m->timer(tm->owner, tm->id, &fx);
		pthread_mutex_unlock(&sh->mu);
		tsx_fx_run(&fx);
		pthread_mutex_lock(&sh->mu);
	}
	pthread_mutex_unlock(&sh->mu);
}

void tsx_layer_tick(struct tsx_layer *l, unsigned worker, unsigned nworkers, uint64_t now_ms)
{
	uint64_t cur = tsx_now(l);

	/* The layer's clock only moves forward, whichever worker ticks. */
	while (cur < now_ms && !atomic_compare_exchange_weak(&l->now, &cur, now_ms))
		;
	if (nworkers == 0)
		nworkers = 1;
	for (unsigned s = worker % nworkers; s < l->nshards; s += nworkers)
		tick_shard(l, &l->shards[s], now_ms);
}
