/*
 * rs_priv.h — the resolver's private pieces (RFC 3263 §4): the key of a
 * lookup, the plan an answer boils down to (SRV records with their
 * addresses, ordered afresh per answer), the cache of plans, and the
 * lookups running on the resolver thread.
 *
 * Ownership: the resolver thread alone runs lookups and touches the c-ares
 * channel. The submission queue, the cache, the pending count and the
 * random state are shared with the callers of rs_resolve, under the
 * resolver's one mutex, which is never held while a done callback runs.
 */
#ifndef SIPD_RS_PRIV_H
#define SIPD_RS_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* ares.h names fd_set without including its header under _POSIX_C_SOURCE. */
#include <sys/select.h>

#include <ares.h>

#include "resolve/resolve.h"

/* A domain name with its NUL (RFC 1035: at most 253 characters). */
#define RS_NAME_MAX 256
/* SRV records kept per lookup (all transports together). */
#define RS_MAX_SRV 16
/* NAPTR records followed per lookup. */
#define RS_MAX_NAPTR 4
/* Addresses kept per name and family. */
#define RS_MAX_ADDR 8

/* What a lookup is for: equal keys share one lookup and one cache entry. */
struct rs_key {
	char host[RS_NAME_MAX]; /* lower-case, without a trailing dot */
	uint16_t port;          /* from the URI; 0 when absent */
	bool has_proto;         /* a transport= parameter was given */
	enum tp_proto proto;
	uint64_t hash;
};

/* Fills k->hash from the other fields. */
void rs_key_hash(struct rs_key *k);
bool rs_key_eq(const struct rs_key *a, const struct rs_key *b);

/* An address without a port. */
struct rs_ip {
	int family; /* AF_INET or AF_INET6 */
	unsigned char a[16];
};

/* One SRV record (or the A/AAAA fallback as a record of its own) with the
 * addresses of its target: ip[first .. first+nip-1] of the plan. */
struct rs_srv {
	uint16_t rank; /* transport preference: lower first (NAPTR order, UDP before TCP) */
	uint16_t prio, weight, port;
	enum tp_proto proto;
	uint16_t first, nip;
};

/* An answer before ordering: what the cache keeps. nsrv 0 is a negative
 * answer (SIP_ERR_NOT_FOUND). */
struct rs_plan {
	unsigned nsrv, nip;
	struct rs_srv srv[RS_MAX_SRV];
	struct rs_ip ip[RS_MAX_TARGETS];
};

/* xorshift64*: the weighted choice of RFC 2782 needs no more. */
static inline uint64_t rs_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* Orders p into out (RFC 2782: by rank and priority, then weighted random
 * within equal ones; each record's addresses in turn), dropping repeated
 * targets and stopping at cap. Returns the number of targets. */
size_t rs_plan_order(const struct rs_plan *p, uint64_t *rng, struct rs_target *out, size_t cap);

/* ---- cache (cache.c) ---------------------------------------------------- */

struct rs_cache_ent {
	struct rs_key key;
	uint64_t expires_ms; /* 0: free */
	struct rs_plan plan;
};

/* Set-associative: a key lives in one set of RS_CACHE_WAYS entries, so a
 * lookup compares a handful of hashes whatever the size. */
#define RS_CACHE_WAYS 4

struct rs_cache {
	struct rs_cache_ent *ent;
	size_t nsets;
};

int rs_cache_init(struct rs_cache *c, size_t entries);
void rs_cache_fini(struct rs_cache *c);
/* The live plan for k, or NULL. */
const struct rs_plan *rs_cache_get(struct rs_cache *c, const struct rs_key *k, uint64_t now_ms);
/* Keeps p for ttl_s seconds (0: not at all), evicting the entry of the set
 * closest to expiry when the set is full. */
void rs_cache_put(struct rs_cache *c, const struct rs_key *k, const struct rs_plan *p,
                  uint32_t ttl_s, uint64_t now_ms);

/* ---- the resolver ----------------------------------------------------- */

/* One call of rs_resolve waiting for DNS. */
struct rs_req {
	struct rs_req *next;
	struct rs_key key;
	rs_done_fn done;
	void *arg;
};

struct rs_job;

struct rs_resolver {
	ares_channel ch;
	unsigned tries;
	pthread_t thread;
	int wake_fd; /* eventfd: submissions queued, or stop */

	pthread_mutex_t mu; /* guards what follows */
	struct rs_req *queue, **queue_tail;
	unsigned pending; /* requests queued or attached to a job */
	bool stopping;
	struct rs_cache cache;
	uint64_t rng;

	/* resolver thread only */
	struct rs_job *jobs; /* running lookups */
	bool closing;        /* stopping was seen: cancel, start nothing */
};

/* ---- lookups (lookup.c), on the resolver thread ------------------------- */

/* Starts a lookup for req, or attaches req to the running one of the same
 * key. Completes it at once (done called) when it cannot start. */
void rs_job_submit(struct rs_resolver *r, struct rs_req *req);

/* Answers req with p (NULL: err) and frees it; counts it off pending. */
void rs_req_complete(struct rs_resolver *r, struct rs_req *req, int err, const struct rs_plan *p);

/* Maps an ares status to RS_ERR_* / SIP_ERR_*. */
int rs_ares_err(int status);

#endif /* SIPD_RS_PRIV_H */
