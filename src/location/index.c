/*
 * index.c — the in-memory binding index (index.h): AOR → bindings in 256
 * mutex-guarded shards, each a chained hash table that doubles as it fills.
 *
 * Why one block per AOR: loc_apply() always computes an AOR's whole new
 * set, so the index stores each AOR as one allocation — a small header,
 * one fixed-size record per binding, then every string (the AOR once, then
 * each binding's strings back to back, lengths in the records). An update
 * builds the new block and frees the old one; a lookup copies the block's
 * string bytes with one memcpy. One block per AOR, about 100 bytes per
 * binding beyond its strings, no pointer per string. Blocks come from the
 * index's own slabs (slab.h), away from the heap requests churn through.
 */
#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "libsip/uri.h"
#include "location/index.h"
#include "location/slab.h"

#define SHARDS 256u
#define BUCKETS_INITIAL 16u
#define LOCAL_BINDINGS 24u /* bindings handled without a heap buffer */

/* The strings of a binding kept in its record, in storage order (the AOR
 * is the block's, stored once). */
enum { STR_URI, STR_PARAMS, STR_PATH, STR_INSTANCE, STR_CALL_ID, STR_RECEIVED, STR_UA, NSTR };

/* clang-format off */
static const size_t str_field[NSTR] = {
	offsetof(struct loc_binding, uri),
	offsetof(struct loc_binding, params),
	offsetof(struct loc_binding, path),
	offsetof(struct loc_binding, instance),
	offsetof(struct loc_binding, call_id),
	offsetof(struct loc_binding, received),
	offsetof(struct loc_binding, user_agent),
};
/* clang-format on */

/* A binding's fixed fields. */
struct ix_rec {
	int64_t expires;
	int64_t updated;
	uint32_t cseq;
	uint32_t reg_id;
	int32_t q;
	uint32_t len[NSTR];
};

/* An AOR and its bindings (sorted by q), in one allocation: the header,
 * rec[n], then nchars bytes of strings. */
struct ix_aor {
	struct ix_aor *next; /* in its bucket */
	uint32_t hash;       /* low bits of the AOR's hash, for the bucket */
	uint32_t n;
	uint32_t aor_len;
	uint32_t nchars;
	struct ix_rec rec[];
};

/* Aligned to a cache line so that two workers locking neighbouring shards
 * do not share one. */
struct ix_shard {
	alignas(64) pthread_mutex_t lock;
	struct ix_aor **bucket;
	size_t nbucket; /* a power of two */
	size_t naor;
	int64_t min_expires;    /* no binding of the shard expires before this */
	struct slab_pool *slab; /* the index's: every block comes from it */
};

struct loc_index {
	struct ix_shard *shard; /* [SHARDS] */
	struct slab_pool *slab;
};

/* ---- sets and views ------------------------------------------------------------ */

static struct sip_pl *field(struct loc_binding *b, int k)
{
	return (struct sip_pl *)(void *)((char *)b + str_field[k]);
}

static struct sip_pl cfield(const struct loc_binding *b, int k)
{
	return *(const struct sip_pl *)(const void *)((const char *)b + str_field[k]);
}

/* Appends pl at *p (memcpy of a NULL source is undefined, even for 0 bytes). */
static struct sip_pl put(char **p, struct sip_pl pl)
{
	struct sip_pl out = {*p, pl.len};

	if (pl.len)
		memcpy(*p, pl.p, pl.len);
	*p += pl.len;
	return out;
}

static int sort_q(int q)
{
	return q < 0 ? 1000 : q; /* RFC 3261 §20.10: no q means 1.0 */
}

void loc_bindings_sort(struct loc_binding *b, size_t n)
{
	/* Insertion sort: stable, and an AOR has a handful of bindings. */
	for (size_t i = 1; i < n; i++) {
		struct loc_binding t = b[i];
		size_t j = i;
		for (; j > 0 && sort_q(b[j - 1].q) < sort_q(t.q); j--)
			b[j] = b[j - 1];
		b[j] = t;
	}
}

struct loc_set *loc_set_copy(struct sip_pl aor, const struct loc_binding *b, size_t n)
{
	size_t chars = aor.len;

	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < NSTR; k++)
			chars += cfield(&b[i], k).len;
	struct loc_set *set = malloc(sizeof(*set) + n * sizeof(set->b[0]) + chars);
	if (!set)
		return NULL;
	char *p = (char *)&set->b[n];
	struct sip_pl a = put(&p, aor);
	set->n = n;
	for (size_t i = 0; i < n; i++) {
		set->b[i] = b[i];
		set->b[i].aor = a;
		for (int k = 0; k < NSTR; k++)
			*field(&set->b[i], k) = put(&p, cfield(&b[i], k));
	}
	return set;
}

/* Room for n bindings: the caller's local array when it is large enough. */
static struct loc_binding *bufs_get(struct loc_binding *local, size_t n)
{
	return n <= LOCAL_BINDINGS ? local : malloc(n * sizeof(*local));
}

static void bufs_put(struct loc_binding *local, struct loc_binding *b)
{
	if (b != local)
		free(b);
}

/* ---- AOR blocks ------------------------------------------------------------------ */

static char *block_chars(const struct ix_aor *a)
{
	return (char *)&a->rec[a->n];
}

/* A block for aor holding b[0..n) (already sorted), or NULL when out of
 * memory. */
static size_t block_size(const struct ix_aor *a)
{
	return sizeof(*a) + a->n * sizeof(a->rec[0]) + a->nchars;
}

static void block_free(struct ix_shard *sh, struct ix_aor *a)
{
	if (a)
		slab_release(sh->slab, a, block_size(a));
}

static struct ix_aor *block_new(struct ix_shard *sh, struct sip_pl aor, uint32_t hash,
                                const struct loc_binding *b, size_t n)
{
	size_t chars = aor.len;

	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < NSTR; k++)
			chars += cfield(&b[i], k).len;
	if (chars > UINT32_MAX || n > UINT32_MAX)
		return NULL;
	struct ix_aor *a = slab_alloc(sh->slab, sizeof(*a) + n * sizeof(a->rec[0]) + chars);
	if (!a)
		return NULL;
	a->next = NULL;
	a->hash = hash;
	a->n = (uint32_t)n;
	a->aor_len = (uint32_t)aor.len;
	a->nchars = (uint32_t)chars;
	char *p = block_chars(a);
	put(&p, aor);
	for (size_t i = 0; i < n; i++) {
		struct ix_rec *r = &a->rec[i];
		r->expires = b[i].expires;
		r->updated = b[i].updated;
		r->cseq = b[i].cseq;
		r->reg_id = b[i].reg_id;
		r->q = b[i].q;
		for (int k = 0; k < NSTR; k++) {
			struct sip_pl s = cfield(&b[i], k);
			r->len[k] = (uint32_t)s.len;
			put(&p, s);
		}
	}
	return a;
}

static struct sip_pl block_aor(const struct ix_aor *a)
{
	return sip_pl(block_chars(a), a->aor_len);
}

/* Fills out[] with the bindings of a live at now (INT64_MIN: all), their
 * strings pointing into chars — the block's own, or a copy of them.
 * Returns how many. */
static size_t block_views(const struct ix_aor *a, const char *chars, int64_t now,
                          struct loc_binding *out)
{
	struct sip_pl aor = sip_pl(chars, a->aor_len);
	const char *p = chars + a->aor_len;
	size_t n = 0;

	for (uint32_t i = 0; i < a->n; i++) {
		const struct ix_rec *r = &a->rec[i];
		size_t len = 0;
		for (int k = 0; k < NSTR; k++)
			len += r->len[k];
		if (r->expires <= now) {
			p += len;
			continue;
		}
		struct loc_binding *b = &out[n++];
		b->aor = aor;
		for (int k = 0; k < NSTR; k++) {
			*field(b, k) = sip_pl(p, r->len[k]);
			p += r->len[k];
		}
		b->reg_id = r->reg_id;
		b->cseq = r->cseq;
		b->q = r->q;
		b->expires = r->expires;
		b->updated = r->updated;
	}
	return n;
}

static size_t block_live(const struct ix_aor *a, int64_t now)
{
	size_t n = 0;

	for (uint32_t i = 0; i < a->n; i++)
		n += a->rec[i].expires > now;
	return n;
}

static int64_t block_min_expires(const struct ix_aor *a)
{
	int64_t m = INT64_MAX;

	for (uint32_t i = 0; i < a->n; i++)
		if (a->rec[i].expires < m)
			m = a->rec[i].expires;
	return m;
}

/* A copy of a's live bindings in *out (NULL when none). */
static int block_snapshot(const struct ix_aor *a, int64_t now, struct loc_set **out)
{
	size_t live = block_live(a, now);

	*out = NULL;
	if (!live)
		return 0;
	struct loc_set *set = malloc(sizeof(*set) + live * sizeof(set->b[0]) + a->nchars);
	if (!set)
		return SIP_ERR_NOMEM;
	char *chars = (char *)&set->b[live];
	memcpy(chars, block_chars(a), a->nchars);
	set->n = block_views(a, chars, now, set->b);
	*out = set;
	return 0;
}

/* ---- shards ------------------------------------------------------------------------ */

static uint64_t aor_hash(struct sip_pl aor)
{
	uint64_t h = sip_pl_hash(SIP_FNV_BASIS, aor);

	/* FNV's low bits see only the inputs' low bits: fold the high half
	 * in before the low bits pick a bucket. */
	return h ^ (h >> 32);
}

static struct ix_shard *shard_of(struct loc_index *ix, uint64_t h)
{
	return &ix->shard[(h >> 40) % SHARDS];
}

/* The link pointing at aor's block, or NULL when it has none. */
static struct ix_aor **shard_find(struct ix_shard *sh, uint32_t hash, struct sip_pl aor)
{
	struct ix_aor **pp = &sh->bucket[hash & (sh->nbucket - 1)];

	for (; *pp; pp = &(*pp)->next) {
		const struct ix_aor *a = *pp;
		if (a->hash == hash && sip_pl_eq(block_aor(a), aor))
			return pp;
	}
	return NULL;
}

/* Doubles the buckets; on allocation failure the table stays as it is
 * (only chains grow longer). */
static void shard_grow(struct ix_shard *sh)
{
	size_t nb = sh->nbucket * 2;
	struct ix_aor **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < sh->nbucket; i++) {
		struct ix_aor *a = sh->bucket[i];
		while (a) {
			struct ix_aor *next = a->next;
			struct ix_aor **head = &b[a->hash & (nb - 1)];
			a->next = *head;
			*head = a;
			a = next;
		}
	}
	free(sh->bucket);
	sh->bucket = b;
	sh->nbucket = nb;
}

/* Puts nw (NULL: nothing) where link points (NULL: aor had no block),
 * freeing the block it replaces. */
static void shard_replace(struct ix_shard *sh, struct ix_aor **link, struct ix_aor *nw)
{
	if (link) {
		struct ix_aor *old = *link;
		if (nw) {
			nw->next = old->next;
			*link = nw;
		} else {
			*link = old->next;
			sh->naor--;
		}
		block_free(sh, old);
	} else if (nw) {
		struct ix_aor **head = &sh->bucket[nw->hash & (sh->nbucket - 1)];
		nw->next = *head;
		*head = nw;
		if (++sh->naor > sh->nbucket)
			shard_grow(sh);
	}
	if (nw) {
		int64_t m = block_min_expires(nw);
		if (m < sh->min_expires)
			sh->min_expires = m;
	}
}

int loc_index_new(struct loc_index **out)
{
	struct loc_index *ix = calloc(1, sizeof(*ix));

	*out = NULL;
	if (!ix)
		return SIP_ERR_NOMEM;
	ix->shard = aligned_alloc(alignof(struct ix_shard), SHARDS * sizeof(struct ix_shard));
	if (!ix->shard || slab_pool_new(&ix->slab) != 0) {
		free(ix->shard);
		free(ix);
		return SIP_ERR_NOMEM;
	}
	memset(ix->shard, 0, SHARDS * sizeof(struct ix_shard));
	for (unsigned i = 0; i < SHARDS; i++) {
		struct ix_shard *sh = &ix->shard[i];
		sh->bucket = calloc(BUCKETS_INITIAL, sizeof(*sh->bucket));
		if (!sh->bucket) {
			for (unsigned j = 0; j < i; j++) {
				pthread_mutex_destroy(&ix->shard[j].lock);
				free(ix->shard[j].bucket);
			}
			slab_pool_free(ix->slab);
			free(ix->shard);
			free(ix);
			return SIP_ERR_NOMEM;
		}
		sh->nbucket = BUCKETS_INITIAL;
		sh->min_expires = INT64_MAX;
		sh->slab = ix->slab;
		pthread_mutex_init(&sh->lock, NULL);
	}
	*out = ix;
	return 0;
}

void loc_index_free(struct loc_index *ix)
{
	if (!ix)
		return;
	for (unsigned i = 0; i < SHARDS; i++) {
		struct ix_shard *sh = &ix->shard[i];
		for (size_t j = 0; j < sh->nbucket; j++) {
			struct ix_aor *a = sh->bucket[j];
			while (a) {
				struct ix_aor *next = a->next;
				block_free(sh, a);
				a = next;
			}
		}
		free(sh->bucket);
		pthread_mutex_destroy(&sh->lock);
	}
	slab_pool_free(ix->slab);
	free(ix->shard);
	free(ix);
}

/* ---- changes ------------------------------------------------------------------------ */

/* With sh locked: makes b[0..n) (sorted) the set of aor, after hook agrees;
 * *out gets a copy when out is not NULL. */
static int commit_set(struct ix_shard *sh, struct ix_aor **link, struct sip_pl aor, uint32_t hash,
                      const struct loc_binding *b, size_t n, loc_index_hook_fn hook, void *arg,
                      struct loc_set **out)
{
	struct ix_aor *nw = NULL;
	struct loc_set *copy = NULL;

	if (n && !(nw = block_new(sh, aor, hash, b, n)))
		return SIP_ERR_NOMEM;
	if (out && nw && block_snapshot(nw, INT64_MIN, &copy) != 0) {
		block_free(sh, nw);
		return SIP_ERR_NOMEM;
	}
	int err = hook ? hook(arg, aor, b, n) : 0;
	if (err) {
		block_free(sh, nw);
		free(copy);
		return err;
	}
	shard_replace(sh, link, nw);
	if (out)
		*out = copy;
	return 0;
}

/* With sh locked: loc_apply on the AOR's block. */
static int apply_locked(struct ix_shard *sh, uint32_t hash, const struct loc_update *u, size_t max,
                        loc_index_hook_fn hook, void *arg, struct loc_set **out)
{
	struct ix_aor **link = shard_find(sh, hash, u->aor);
	const struct ix_aor *old = link ? *link : NULL;
	size_t ncur = old ? old->n : 0, cap = ncur + u->ncontacts, nout = 0;
	struct loc_binding local_cur[LOCAL_BINDINGS], local_out[LOCAL_BINDINGS];
	struct loc_binding *cur = bufs_get(local_cur, ncur);
	struct loc_binding *res = bufs_get(local_out, cap);
	int err = SIP_ERR_NOMEM;

	if (!cur || !res)
		goto done;
	if (old)
		block_views(old, block_chars(old), INT64_MIN, cur);
	err = loc_apply(cur, ncur, u, max, res, cap, &nout);
	if (err)
		goto done;
	if (!u->remove_all && !u->ncontacts) {
		/* A query: the live set as it is (already sorted). */
		err = hook ? hook(arg, u->aor, res, nout) : 0;
		if (!err && out && nout && !(*out = loc_set_copy(u->aor, res, nout)))
			err = SIP_ERR_NOMEM;
		goto done;
	}
	loc_bindings_sort(res, nout);
	err = commit_set(sh, link, u->aor, hash, res, nout, hook, arg, out);
done:
	if (cur)
		bufs_put(local_cur, cur);
	if (res)
		bufs_put(local_out, res);
	return err;
}

int loc_index_apply(struct loc_index *ix, const struct loc_update *u, size_t max,
                    loc_index_hook_fn hook, void *arg, struct loc_set **out)
{
	uint64_t h = aor_hash(u->aor);
	struct ix_shard *sh = shard_of(ix, h);

	if (out)
		*out = NULL;
	pthread_mutex_lock(&sh->lock);
	int err = apply_locked(sh, (uint32_t)h, u, max, hook, arg, out);
	pthread_mutex_unlock(&sh->lock);
	return err;
}

/* Byte-equal, or equal by §19.1.4 when both parse. */
static bool uri_eq(struct sip_pl a, struct sip_pl b)
{
	struct sip_uri ua, ub;

	if (sip_pl_eq(a, b))
		return true;
	return sip_uri_parse(&ua, a) == 0 && sip_uri_parse(&ub, b) == 0 && sip_uri_eq(&ua, &ub);
}

static int remove_locked(struct ix_shard *sh, uint32_t hash, struct sip_pl aor, struct sip_pl uri,
                         int64_t now, loc_index_hook_fn hook, void *arg)
{
	struct ix_aor **link = shard_find(sh, hash, aor);

	if (!link)
		return SIP_ERR_NOT_FOUND;
	struct loc_binding local[LOCAL_BINDINGS];
	struct loc_binding *b = bufs_get(local, (*link)->n);
	if (!b)
		return SIP_ERR_NOMEM;
	size_t live = block_views(*link, block_chars(*link), now, b), keep = 0;
	for (size_t i = 0; i < live; i++)
		if (uri.len && !uri_eq(b[i].uri, uri))
			b[keep++] = b[i];
	int err = SIP_ERR_NOT_FOUND;
	if (keep < live)
		err = commit_set(sh, link, aor, hash, b, keep, hook, arg, NULL);
	bufs_put(local, b);
	return err;
}

int loc_index_remove(struct loc_index *ix, struct sip_pl aor, struct sip_pl uri, int64_t now,
                     loc_index_hook_fn hook, void *arg)
{
	uint64_t h = aor_hash(aor);
	struct ix_shard *sh = shard_of(ix, h);

	pthread_mutex_lock(&sh->lock);
	int err = remove_locked(sh, (uint32_t)h, aor, uri, now, hook, arg);
	pthread_mutex_unlock(&sh->lock);
	return err;
}

int loc_index_set(struct loc_index *ix, struct sip_pl aor, const struct loc_binding *b, size_t n)
{
	uint64_t h = aor_hash(aor);
	struct ix_shard *sh = shard_of(ix, h);
	struct loc_binding local[LOCAL_BINDINGS];
	struct loc_binding *sorted = bufs_get(local, n);
	struct ix_aor *nw = NULL;

	if (!sorted)
		return SIP_ERR_NOMEM;
	if (n)
		memcpy(sorted, b, n * sizeof(*b));
	loc_bindings_sort(sorted, n);
	if (n && !(nw = block_new(sh, aor, (uint32_t)h, sorted, n))) {
		bufs_put(local, sorted);
		return SIP_ERR_NOMEM;
	}
	bufs_put(local, sorted);
	pthread_mutex_lock(&sh->lock);
	shard_replace(sh, shard_find(sh, (uint32_t)h, aor), nw);
	pthread_mutex_unlock(&sh->lock);
	return 0;
}

static int reload_locked(struct ix_shard *sh, uint32_t hash, struct sip_pl aor,
                         loc_index_load_fn load, void *arg)
{
	struct loc_set *set = NULL;
	struct ix_aor *nw = NULL;
	bool keep = false;
	int err = load(arg, aor, &set, &keep);

	if (err || keep) {
		free(set);
		return err;
	}
	if (set && set->n) {
		loc_bindings_sort(set->b, set->n);
		nw = block_new(sh, aor, hash, set->b, set->n);
		if (!nw) {
			free(set);
			return SIP_ERR_NOMEM;
		}
	}
	free(set);
	shard_replace(sh, shard_find(sh, hash, aor), nw);
	return 0;
}

int loc_index_reload(struct loc_index *ix, struct sip_pl aor, loc_index_load_fn load, void *arg)
{
	uint64_t h = aor_hash(aor);
	struct ix_shard *sh = shard_of(ix, h);

	pthread_mutex_lock(&sh->lock);
	int err = reload_locked(sh, (uint32_t)h, aor, load, arg);
	pthread_mutex_unlock(&sh->lock);
	return err;
}

/* ---- reads ------------------------------------------------------------------------------- */

int loc_index_get(struct loc_index *ix, struct sip_pl aor, int64_t now, struct loc_set **out)
{
	uint64_t h = aor_hash(aor);
	struct ix_shard *sh = shard_of(ix, h);
	int err = 0;

	*out = NULL;
	pthread_mutex_lock(&sh->lock);
	struct ix_aor **link = shard_find(sh, (uint32_t)h, aor);
	if (link)
		err = block_snapshot(*link, now, out);
	pthread_mutex_unlock(&sh->lock);
	return err;
}

/* With sh locked: drops a's expired bindings. Returns how many went; a
 * block that cannot be rebuilt (no memory) keeps them for the next sweep,
 * reads skipping them meanwhile. */
static size_t expire_block(struct ix_shard *sh, struct ix_aor **link, int64_t now,
                           loc_index_hook_fn hook, void *arg)
{
	struct ix_aor *a = *link;
	size_t live = block_live(a, now);

	if (live == a->n)
		return 0;
	struct loc_binding local[LOCAL_BINDINGS];
	struct loc_binding *b = bufs_get(local, live);
	struct ix_aor *nw = NULL;
	if (!b)
		return 0;
	block_views(a, block_chars(a), now, b);
	if (live && !(nw = block_new(sh, block_aor(a), a->hash, b, live))) {
		bufs_put(local, b);
		return 0;
	}
	if (hook)
		hook(arg, block_aor(a), b, live);
	bufs_put(local, b);
	size_t gone = a->n - live;
	shard_replace(sh, link, nw);
	return gone;
}

static size_t expire_shard(struct ix_shard *sh, int64_t now, loc_index_hook_fn hook, void *arg)
{
	size_t gone = 0;
	int64_t min = INT64_MAX;

	for (size_t i = 0; i < sh->nbucket; i++) {
		struct ix_aor **pp = &sh->bucket[i];
		while (*pp) {
			struct ix_aor *next = (*pp)->next;
			gone += expire_block(sh, pp, now, hook, arg);
			if (*pp == next)
				continue; /* the AOR went: *pp is the next one */
			int64_t m = block_min_expires(*pp);
			if (m < min)
				min = m;
			pp = &(*pp)->next;
		}
	}
	sh->min_expires = min;
	return gone;
}

size_t loc_index_expire(struct loc_index *ix, int64_t now, loc_index_hook_fn hook, void *arg)
{
	size_t gone = 0;

	for (unsigned i = 0; i < SHARDS; i++) {
		struct ix_shard *sh = &ix->shard[i];
		pthread_mutex_lock(&sh->lock);
		/* Most sweeps find nothing due: skip the walk. */
		if (sh->min_expires <= now)
			gone += expire_shard(sh, now, hook, arg);
		pthread_mutex_unlock(&sh->lock);
	}
	return gone;
}

/* Copies the shard's AORs that have live bindings into sets[] (room for
 * sh->naor). Returns how many, or SIP_ERR_NOMEM (nothing kept). */
static long snapshot_shard(struct ix_shard *sh, int64_t now, struct loc_set **sets)
{
	long n = 0;

	for (size_t i = 0; i < sh->nbucket; i++)
		for (const struct ix_aor *a = sh->bucket[i]; a; a = a->next) {
			if (block_snapshot(a, now, &sets[n]) != 0) {
				while (n > 0)
					free(sets[--n]);
				return SIP_ERR_NOMEM;
			}
			n += sets[n] != NULL;
		}
	return n;
}

/* Calls fn for each set; frees them all. Returns fn's first non-zero. */
static int visit_sets(struct loc_set **sets, long n, loc_iter_fn fn, void *arg)
{
	int ret = 0;

	for (long i = 0; i < n; i++) {
		if (!ret)
			ret = fn(arg, sets[i]->b[0].aor, sets[i]->b, sets[i]->n);
		free(sets[i]);
	}
	return ret;
}

int loc_index_iterate(struct loc_index *ix, int64_t now, loc_iter_fn fn, void *arg)
{
	/* A shard at a time: copied under its lock, visited without it, so
	 * fn may call the store (and a slow fn, printing for sipctl, holds
	 * no worker up). */
	for (unsigned i = 0; i < SHARDS; i++) {
		struct ix_shard *sh = &ix->shard[i];
		pthread_mutex_lock(&sh->lock);
		struct loc_set **sets = sh->naor ? malloc(sh->naor * sizeof(*sets)) : NULL;
		long n = sets ? snapshot_shard(sh, now, sets) : sh->naor ? SIP_ERR_NOMEM : 0;
		pthread_mutex_unlock(&sh->lock);
		if (n < 0) {
			free(sets);
			return (int)n;
		}
		int ret = visit_sets(sets, n, fn, arg);
		free(sets);
		if (ret)
			return ret;
	}
	return 0;
}

void loc_index_count(struct loc_index *ix, int64_t now, size_t *aors, size_t *bindings)
{
	*aors = *bindings = 0;
	for (unsigned i = 0; i < SHARDS; i++) {
		struct ix_shard *sh = &ix->shard[i];
		pthread_mutex_lock(&sh->lock);
		for (size_t j = 0; j < sh->nbucket; j++)
			for (const struct ix_aor *a = sh->bucket[j]; a; a = a->next) {
				size_t live = block_live(a, now);
				*aors += live > 0;
				*bindings += live;
			}
		pthread_mutex_unlock(&sh->lock);
	}
}

/* ---- shared by the backends ------------------------------------------------------------ */

static bool hex_ok(struct sip_pl h, size_t len)
{
	if (!h.len)
		return true;
	if (h.len != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((h.p[i] >= '0' && h.p[i] <= '9') || (h.p[i] >= 'a' && h.p[i] <= 'f')))
			return false;
	return true;
}

int loc_user_check(const struct loc_user *u)
{
	if (!u->user.len || !u->domain.len)
		return SIP_ERR_SYNTAX;
	if (!u->ha1_md5.len && !u->ha1_sha256.len && !u->ha1_sha512_256.len)
		return SIP_ERR_SYNTAX;
	if (!hex_ok(u->ha1_md5, 32) || !hex_ok(u->ha1_sha256, 64) || !hex_ok(u->ha1_sha512_256, 64))
		return SIP_ERR_SYNTAX;
	return 0;
}
