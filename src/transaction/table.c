/*
 * table.c — finding the transaction a message belongs to (RFC 3261
 * §17.1.3 for responses, §17.2.3 for requests, §9.2 for the INVITE a
 * CANCEL cancels), in a table sharded by the hash of the key.
 *
 * Keys. A response matches the client transaction whose request had the
 * same top Via branch and the same CSeq method (so a CANCEL and its INVITE,
 * which share a branch, are told apart). A request whose top Via branch
 * starts with the magic cookie z9hG4bK matches the server transaction with
 * the same branch, sent-by and method, an ACK counting as INVITE. Older
 * (RFC 2543) requests carry no such branch; they match by Request-URI, To
 * tag, From tag, Call-ID, CSeq and top Via, with the variations §17.2.3
 * gives for ACK. Those are hashed by Call-ID and CSeq number, which an
 * INVITE, its ACK and its CANCEL share, so all three land in one shard.
 *
 * Why shards: many workers match messages at once. Each shard has its own
 * mutex, hash table and timer wheel, so workers contend only when two
 * messages hash to one shard, and a CANCEL always finds its INVITE in the
 * shard it is in itself.
 */
#include <stdlib.h>

#include "tsx_priv.h"

#define BUCKETS_INITIAL 16u
#define BUCKETS_MAX (1u << 24)
/* ---- keys ------------------------------------------------------------------ */

static void key_method(struct tsx_key *k, enum sip_method method, struct sip_pl name)
{
	k->method = method;
	k->mname = name;
	if (method == SIP_METHOD_ACK) { /* §17.2.3: the ACK belongs to its INVITE */
		k->method = SIP_METHOD_INVITE;
		k->mname = SIP_PL("INVITE");
	}
}

bool tsx_key_request(struct tsx_key *k, const struct sip_msg *m)
{
	const struct sip_via *via = sip_msg_via(m);
	const struct sip_cseq *cseq = sip_msg_cseq(m);

	if (!via || !cseq)
		return false;
	memset(k, 0, sizeof(*k));
	k->server = true;
	k->m = m;
	key_method(k, sip_msg_method(m), sip_msg_method_name(m));
	if (sip_via_branch_is_3261(via)) {
		k->branch = via->branch;
		k->host = via->host;
		k->port = via->port;
		k->hash = (uint32_t)sip_pl_hash(SIP_FNV_BASIS, via->branch);
	} else {
		k->rfc2543 = true;
		k->hash = (uint32_t)sip_pl_hash(SIP_FNV_BASIS, sip_msg_call_id(m)) ^
		          (cseq->num * 2654435761u);
	}
	return true;
}

bool tsx_key_response(struct tsx_key *k, const struct sip_msg *m)
{
	const struct sip_via *via = sip_msg_via(m);
	const struct sip_cseq *cseq = sip_msg_cseq(m);

	/* Our client transactions always send cookie branches, so a response
	 * without one is nobody's. */
	if (!via || !cseq || !sip_via_branch_is_3261(via))
		return false;
	memset(k, 0, sizeof(*k));
	k->m = m;
	k->method = (enum sip_method)cseq->method_id;
	k->mname = cseq->method;
	k->branch = via->branch;
	k->hash = (uint32_t)sip_pl_hash(SIP_FNV_BASIS, via->branch);
	return true;
}

int tsx_key_client(struct tsx_key *k, const struct sip_msg *req)
{
	const struct sip_via *via = sip_msg_via(req);

	if (!via || !sip_msg_cseq(req))
		return SIP_ERR_NO_HEADER;
	if (!sip_via_branch_is_3261(via) || via->branch.len <= 7)
		return SIP_ERR_BRANCH; /* §8.1.1.7: we must be able to match */
	memset(k, 0, sizeof(*k));
	k->m = req;
	k->method = sip_msg_method(req);
	k->mname = sip_msg_method_name(req);
	k->branch = via->branch;
	k->hash = (uint32_t)sip_pl_hash(SIP_FNV_BASIS, via->branch);
	return 0;
}

/* ---- matching ----------------------------------------------------------------- */

static bool same_method(const struct tsx_key *a, const struct tsx_key *b)
{
	return a->method == b->method &&
	       (a->method != SIP_METHOD_OTHER || sip_pl_eq(a->mname, b->mname));
}

static bool match_3261(const struct tsx_key *t, const struct tsx_key *k)
{
	if (t->rfc2543 || t->server != k->server || !same_method(t, k) ||
	    !sip_pl_eq(t->branch, k->branch))
		return false;
	/* §17.2.3: a server also compares the sent-by, since two clients may
	 * pick one branch; a client made its branches unique itself. */
	return !k->server || (t->port == k->port && sip_pl_caseeq(t->host, k->host));
}

static struct sip_pl tag_of(const struct sip_addr *a)
{
	return a ? a->tag : SIP_PL_NULL;
}

/* What every RFC 2543 rule compares: Request-URI, From tag, Call-ID, CSeq
 * number and top Via (§17.2.3, §9.2). */
static bool same_2543_base(const struct sip_msg *a, const struct sip_msg *b)
{
	const struct sip_cseq *ca = sip_msg_cseq(a), *cb = sip_msg_cseq(b);
	const struct sip_hdr *va = sip_msg_hdr(a, SIP_HDR_VIA), *vb = sip_msg_hdr(b, SIP_HDR_VIA);

	return ca && cb && ca->num == cb->num && va && vb && sip_pl_eq(va->value, vb->value) &&
	       sip_pl_eq(sip_msg_call_id(a), sip_msg_call_id(b)) &&
	       sip_pl_eq(tag_of(sip_msg_from(a)), tag_of(sip_msg_from(b))) &&
	       sip_uri_eq(sip_msg_ruri(a), sip_msg_ruri(b));
}

static bool match_2543(const struct tsx *t, const struct tsx_key *k)
{
	const struct sip_msg *m = k->m;

	if (!t->key.rfc2543 || !same_2543_base(t->req, m))
		return false;
	/* An ACK carries the To tag of the response it acknowledges and
	 * matches whatever the CSeq method says. */
	if (sip_msg_method(m) == SIP_METHOD_ACK)
		return t->kind == TSX_SERVER_INVITE &&
		       sip_pl_eq(tag_of(sip_msg_to(m)), t->resp_to_tag);
	return same_method(&t->key, k) &&
	       sip_pl_eq(tag_of(sip_msg_to(m)), tag_of(sip_msg_to(t->req)));
}

/* Bucket from the high bits of a Fibonacci product: the shard took the
 * hash modulo the shard count, so the low bits alone would repeat. */
static size_t bucket_of(const struct tsx_shard *sh, uint32_t hash)
{
	unsigned bits = (unsigned)__builtin_ctzll(sh->nbuckets);

	return (size_t)((uint32_t)(hash * 2654435769u) >> (32 - bits));
}

struct tsx *tsx_table_find(struct tsx_shard *sh, const struct tsx_key *k)
{
	struct tsx *t = sh->buckets[bucket_of(sh, k->hash)];

	for (; t; t = t->hnext) {
		if (t->key.hash != k->hash)
			continue;
		if (k->rfc2543 ? match_2543(t, k) : match_3261(&t->key, k))
			return t;
	}
	return NULL;
}

/* §9.2: the INVITE server transaction a CANCEL's server transaction
 * cancels. Under the shard lock. */
static struct tsx *find_cancelled(struct tsx_shard *sh, const struct tsx *cst)
{
	struct tsx_key k = cst->key;
	struct tsx *t;

	key_method(&k, SIP_METHOD_INVITE, SIP_PL("INVITE"));
	if (!k.rfc2543)
		return tsx_table_find(sh, &k);
	for (t = sh->buckets[bucket_of(sh, k.hash)]; t; t = t->hnext)
		if (t->kind == TSX_SERVER_INVITE && t->key.rfc2543 && t->key.hash == k.hash &&
		    same_2543_base(t->req, cst->req) &&
		    sip_pl_eq(tag_of(sip_msg_to(t->req)), tag_of(sip_msg_to(cst->req))))
			return t;
	return NULL;
}

struct tsx *tsx_cancel_target(struct tsx *cst)
{
	struct tsx *t;

	if (!cst || cst->kind != TSX_SERVER || sip_msg_method(cst->req) != SIP_METHOD_CANCEL)
		return NULL;
	pthread_mutex_lock(&cst->sh->mu);
	if ((t = find_cancelled(cst->sh, cst)))
		tsx_ref(t);
	pthread_mutex_unlock(&cst->sh->mu);
	return t;
}

/* ---- storage ------------------------------------------------------------------- */

struct tsx_shard *tsx_shard_of(struct tsx_layer *l, uint32_t hash)
{
	return &l->shards[hash % l->nshards];
}

/* Doubles the buckets when chains grow past two on average; on no memory
 * the chains just get longer. */
static void maybe_grow(struct tsx_shard *sh)
{
	size_t nb = sh->nbuckets * 2, i;
	struct tsx **old = sh->buckets, *t, *next;

	if (sh->count <= sh->nbuckets * 2 || nb > BUCKETS_MAX)
		return;
	if (!(sh->buckets = calloc(nb, sizeof(*sh->buckets)))) {
		sh->buckets = old;
		return;
	}
	for (i = 0, sh->nbuckets = nb; i < nb / 2; i++) {
		for (t = old[i]; t; t = next) {
			size_t b = bucket_of(sh, t->key.hash);

			next = t->hnext;
			t->hnext = sh->buckets[b];
			sh->buckets[b] = t;
		}
	}
	free(old);
}

void tsx_table_insert(struct tsx_shard *sh, struct tsx *t)
{
	size_t b = bucket_of(sh, t->key.hash);

	t->hnext = sh->buckets[b];
	sh->buckets[b] = t;
	/* Atomic so that a tick may peek without the lock (tick_shard). */
	__atomic_store_n(&sh->count, sh->count + 1, __ATOMIC_RELAXED);
	atomic_fetch_add(&t->l->live, 1);
	maybe_grow(sh);
}

void tsx_table_remove(struct tsx_shard *sh, struct tsx *t)
{
	struct tsx **pp = &sh->buckets[bucket_of(sh, t->key.hash)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == t) {
			*pp = t->hnext;
			t->hnext = NULL;
			__atomic_store_n(&sh->count, sh->count - 1, __ATOMIC_RELAXED);
			atomic_fetch_sub(&t->l->live, 1);
			return;
		}
	}
}

int tsx_shards_init(struct tsx_layer *l)
{
	if (!(l->shards = calloc(l->nshards, sizeof(*l->shards))))
		return SIP_ERR_NOMEM;
	for (unsigned i = 0; i < l->nshards; i++) {
		struct tsx_shard *sh = &l->shards[i];

		sh->nbuckets = BUCKETS_INITIAL;
		sh->buckets = calloc(sh->nbuckets, sizeof(*sh->buckets));
		if (!sh->buckets || tsx_wheel_init(&sh->wheel, 0) < 0 ||
		    pthread_mutex_init(&sh->mu, NULL) != 0) {
			free(sh->buckets);
			tsx_wheel_fini(&sh->wheel);
			l->nshards = i; /* the ones before are whole */
			tsx_shards_fini(l);
			return SIP_ERR_NOMEM;
		}
	}
	return 0;
}

/* Drops the table's reference of every transaction of sh, silently. */
static void drain(struct tsx_shard *sh)
{
	for (size_t i = 0; i < sh->nbuckets; i++) {
		struct tsx *t = sh->buckets[i], *next;

		for (; t; t = next) {
			next = t->hnext;
			t->hnext = NULL;
			for (int s = 0; s < TSX_NSLOTS; s++)
				tsx_timer_cancel(&t->tmr[s]);
			t->state = TSX_TERMINATED;
			t->ended = true;
			atomic_store_explicit(&t->shed_pending, false, memory_order_relaxed);
			tsx_unref(t);
		}
		sh->buckets[i] = NULL;
	}
	sh->count = 0;
}

void tsx_shards_fini(struct tsx_layer *l)
{
	for (unsigned i = 0; i < l->nshards; i++) {
		struct tsx_shard *sh = &l->shards[i];

		drain(sh);
		free(sh->buckets);
		tsx_wheel_fini(&sh->wheel);
		pthread_mutex_destroy(&sh->mu);
	}
	free(l->shards);
	l->shards = NULL;
	atomic_store(&l->live, 0);
}
