/*
 * memory.c — the "memory:" location backend: bindings in the shared index
 * (index.c), users in a hash table behind one mutex, and a server secret
 * drawn at open. Nothing persists; every callback runs inline, before the
 * call returns. For tests, benchmarks and a sipd that needs no restarts.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/rand.h>

#include "libsip/log.h"
#include "location/index.h"
#include "location/store_priv.h"

#define USER_BUCKETS_INITIAL 64u

/* A user in one allocation: the slices of u point into chars. */
struct mem_user {
	struct mem_user *next;
	uint64_t hash;
	struct loc_user u;
	char chars[];
};

struct mem_store {
	struct loc_store base; /* first: the store.c view */
	struct loc_index *ix;
	pthread_mutex_t ulock; /* guards the users table */
	struct mem_user **ubucket;
	size_t nubucket; /* a power of two */
	size_t nusers;
	uint8_t secret[32];
};

static struct mem_store *mem(struct loc_store *s)
{
	return (struct mem_store *)s;
}

/* ---- bindings ---------------------------------------------------------------------- */

static void done_set(loc_done_fn done, void *arg, const struct loc_set *set)
{
	done(arg, 0, set ? set->b : NULL, set ? set->n : 0);
}

static int mem_update(struct loc_store *s, const struct loc_update *u, loc_done_fn done, void *arg)
{
	struct loc_set *set = NULL;
	int err = loc_index_apply(mem(s)->ix, u, s->cfg.max_contacts, NULL, NULL, &set);

	if (err == SIP_ERR_NOMEM)
		return err;
	if (err)
		done(arg, err, NULL, 0);
	else
		done_set(done, arg, set);
	free(set);
	return 0;
}

static int mem_lookup(struct loc_store *s, struct sip_pl aor, int64_t now, loc_done_fn done,
                      void *arg)
{
	struct loc_set *set = NULL;
	int err = loc_index_get(mem(s)->ix, aor, now, &set);

	if (err)
		return err;
	done_set(done, arg, set);
	free(set);
	return 0;
}

static int mem_remove(struct loc_store *s, struct sip_pl aor, struct sip_pl uri)
{
	if (!uri.len) /* the index reads an empty URI as "all" */
		return SIP_ERR_NOT_FOUND;
	return loc_index_remove(mem(s)->ix, aor, uri, (int64_t)time(NULL), NULL, NULL);
}

static int mem_remove_all(struct loc_store *s, struct sip_pl aor)
{
	return loc_index_remove(mem(s)->ix, aor, SIP_PL_NULL, (int64_t)time(NULL), NULL, NULL);
}

static long mem_expire(struct loc_store *s, int64_t now)
{
	return (long)loc_index_expire(mem(s)->ix, now, NULL, NULL);
}

static int mem_iterate(struct loc_store *s, int64_t now, loc_iter_fn fn, void *arg)
{
	return loc_index_iterate(mem(s)->ix, now, fn, arg);
}

static int mem_count(struct loc_store *s, int64_t now, size_t *aors, size_t *bindings)
{
	loc_index_count(mem(s)->ix, now, aors, bindings);
	return 0;
}

/* ---- users --------------------------------------------------------------------------- */

/* Domains are host names, compared case-insensitively (as loc_aor folds
 * them); user names compare exactly. */
static uint64_t user_hash(struct sip_pl user, struct sip_pl domain)
{
	uint64_t h = SIP_FNV_BASIS;

	for (size_t i = 0; i < domain.len; i++) {
		char c = (char)tolower((unsigned char)domain.p[i]);
		h = sip_fnv1a(h, &c, 1);
	}
	h = sip_fnv1a(h, "@", 1);
	return sip_pl_hash(h, user);
}

static struct mem_user **user_find(struct mem_store *m, uint64_t h, struct sip_pl user,
                                   struct sip_pl domain)
{
	struct mem_user **pp = &m->ubucket[h & (m->nubucket - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && sip_pl_eq((*pp)->u.user, user) &&
		    sip_pl_caseeq((*pp)->u.domain, domain))
			return pp;
	return NULL;
}

static struct sip_pl put_str(char **p, struct sip_pl pl, bool lower)
{
	struct sip_pl out = {*p, pl.len};

	for (size_t i = 0; i < pl.len; i++)
		(*p)[i] = lower ? (char)tolower((unsigned char)pl.p[i]) : pl.p[i];
	*p += pl.len;
	return out;
}

/* A copy of u in one allocation, its domain lowercased. */
static struct mem_user *user_copy(const struct loc_user *u, uint64_t h)
{
	size_t len = u->user.len + u->domain.len + u->ha1_md5.len + u->ha1_sha256.len +
	             u->ha1_sha512_256.len;
	struct mem_user *n = malloc(sizeof(*n) + len);

	if (!n)
		return NULL;
	char *p = n->chars;
	n->next = NULL;
	n->hash = h;
	n->u.user = put_str(&p, u->user, false);
	n->u.domain = put_str(&p, u->domain, true);
	n->u.ha1_md5 = put_str(&p, u->ha1_md5, false);
	n->u.ha1_sha256 = put_str(&p, u->ha1_sha256, false);
	n->u.ha1_sha512_256 = put_str(&p, u->ha1_sha512_256, false);
	return n;
}

static void users_grow(struct mem_store *m)
{
	size_t nb = m->nubucket * 2;
	struct mem_user **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < m->nubucket; i++)
		while (m->ubucket[i]) {
			struct mem_user *n = m->ubucket[i];
			m->ubucket[i] = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	free(m->ubucket);
	m->ubucket = b;
	m->nubucket = nb;
}

static int mem_user_put(struct loc_store *s, const struct loc_user *u)
{
	struct mem_store *m = mem(s);
	int err = loc_user_check(u);

	if (err)
		return err;
	uint64_t h = user_hash(u->user, u->domain);
	struct mem_user *n = user_copy(u, h);
	if (!n)
		return SIP_ERR_NOMEM;
	pthread_mutex_lock(&m->ulock);
	struct mem_user **pp = user_find(m, h, u->user, u->domain);
	if (pp) {
		n->next = (*pp)->next;
		free(*pp);
		*pp = n;
	} else {
		n->next = m->ubucket[h & (m->nubucket - 1)];
		m->ubucket[h & (m->nubucket - 1)] = n;
		if (++m->nusers > m->nubucket)
			users_grow(m);
	}
	pthread_mutex_unlock(&m->ulock);
	return 0;
}

static int mem_user_del(struct loc_store *s, struct sip_pl user, struct sip_pl domain)
{
	struct mem_store *m = mem(s);
	uint64_t h = user_hash(user, domain);
	struct mem_user *gone = NULL;

	pthread_mutex_lock(&m->ulock);
	struct mem_user **pp = user_find(m, h, user, domain);
	if (pp) {
		gone = *pp;
		*pp = gone->next;
		m->nusers--;
	}
	pthread_mutex_unlock(&m->ulock);
	free(gone);
	return gone ? 0 : SIP_ERR_NOT_FOUND;
}

static int mem_user_get(struct loc_store *s, struct sip_pl user, struct sip_pl domain,
                        loc_user_fn done, void *arg)
{
	struct mem_store *m = mem(s);
	uint64_t h = user_hash(user, domain);
	struct mem_user *copy = NULL;

	/* A copy, so that done runs unlocked and may call the store. */
	pthread_mutex_lock(&m->ulock);
	struct mem_user **pp = user_find(m, h, user, domain);
	bool found = pp != NULL;
	if (found)
		copy = user_copy(&(*pp)->u, h);
	pthread_mutex_unlock(&m->ulock);
	if (found && !copy)
		return SIP_ERR_NOMEM;
	done(arg, found ? 0 : SIP_ERR_NOT_FOUND, found ? &copy->u : NULL);
	free(copy);
	return 0;
}

static int pl_cmp(struct sip_pl a, struct sip_pl b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = n ? memcmp(a.p, b.p, n) : 0;

	return c ? c : (a.len > b.len) - (a.len < b.len);
}

static int user_order(const void *pa, const void *pb)
{
	const struct loc_user *a = &(*(struct mem_user *const *)pa)->u;
	const struct loc_user *b = &(*(struct mem_user *const *)pb)->u;
	int c = pl_cmp(a->domain, b->domain);

	return c ? c : pl_cmp(a->user, b->user);
}

/* Copies of every user into *out (malloc'd array of *n copies). */
static int users_snapshot(struct mem_store *m, struct mem_user ***out, size_t *n)
{
	size_t k = 0;
	struct mem_user **v = malloc((m->nusers ? m->nusers : 1) * sizeof(*v));

	if (!v)
		return SIP_ERR_NOMEM;
	for (size_t i = 0; i < m->nubucket; i++)
		for (struct mem_user *u = m->ubucket[i]; u; u = u->next) {
			if (!(v[k] = user_copy(&u->u, u->hash))) {
				while (k)
					free(v[--k]);
				free(v);
				return SIP_ERR_NOMEM;
			}
			k++;
		}
	*out = v;
	*n = k;
	return 0;
}

static int mem_user_iterate(struct loc_store *s, loc_user_iter_fn fn, void *arg)
{
	struct mem_store *m = mem(s);
	struct mem_user **v;
	size_t n;

	pthread_mutex_lock(&m->ulock);
	int err = users_snapshot(m, &v, &n);
	pthread_mutex_unlock(&m->ulock);
	if (err)
		return err;
	qsort(v, n, sizeof(*v), user_order);
	int ret = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ret)
			ret = fn(arg, &v[i]->u);
		free(v[i]);
	}
	free(v);
	return ret;
}

static int mem_secret(struct loc_store *s, uint8_t out[32])
{
	memcpy(out, mem(s)->secret, 32);
	return 0;
}

/* ---- open and close ----------------------------------------------------------------- */

static void mem_close(struct loc_store *s)
{
	struct mem_store *m = mem(s);

	for (size_t i = 0; i < m->nubucket; i++)
		while (m->ubucket[i]) {
			struct mem_user *n = m->ubucket[i];
			m->ubucket[i] = n->next;
			free(n);
		}
	free(m->ubucket);
	pthread_mutex_destroy(&m->ulock);
	loc_index_free(m->ix);
	free(m);
}

static int mem_open(struct loc_store **out, const char *rest, const struct loc_cfg *cfg)
{
	(void)cfg;
	if (*rest) {
		sip_log(SIP_LOG_ERROR, "location: \"memory:\" takes nothing after the colon");
		return LOC_ERR_DSN;
	}
	struct mem_store *m = calloc(1, sizeof(*m));
	if (!m)
		return SIP_ERR_NOMEM;
	m->nubucket = USER_BUCKETS_INITIAL;
	m->ubucket = calloc(m->nubucket, sizeof(*m->ubucket));
	if (!m->ubucket || loc_index_new(&m->ix) != 0) {
		free(m->ubucket);
		free(m);
		return SIP_ERR_NOMEM;
	}
	pthread_mutex_init(&m->ulock, NULL);
	if (RAND_bytes(m->secret, sizeof(m->secret)) != 1) {
		sip_log(SIP_LOG_ERROR, "location: no random bytes for the server secret");
		mem_close(&m->base);
		return LOC_ERR_STORE;
	}
	*out = &m->base;
	return 0;
}

/* clang-format off */
const struct loc_backend_ops loc_memory_ops = {
	.name = "memory",
	.prefix = "memory:",
	.open = mem_open,
	.close = mem_close,
	.update = mem_update,
	.lookup = mem_lookup,
	.remove = mem_remove,
	.remove_all = mem_remove_all,
	.expire = mem_expire,
	.iterate = mem_iterate,
	.count = mem_count,
	.user_put = mem_user_put,
	.user_del = mem_user_del,
	.user_get = mem_user_get,
	.user_iterate = mem_user_iterate,
	.secret = mem_secret,
};
/* clang-format on */
