/*
 * location.h — the location service: bindings of addresses-of-record to
 * contacts (RFC 3261 §10), and the credentials of local users (HA1 per
 * digest algorithm), behind one interface with interchangeable backends
 * chosen by a DSN:
 *
 *   memory:                no persistence (tests, benchmarks)
 *   sqlite:PATH            the embedded default: WAL, group commit, lookups
 *                          from memory, bindings reloaded on start
 *   redis://HOST:PORT[/DB] shared by several sipd nodes; expiry is Redis's
 *                          own TTL so no node deletes another's bindings
 *
 * Operations that may wait for a disk or a network (an update, a lookup, a
 * user lookup) complete through a callback: inline for memory (and for
 * sqlite lookups), from the backend's own thread otherwise. A callback
 * must not block; it may call tsx_respond()/tp_send() and start other
 * location operations. Everything handed in is copied before the call
 * returns; what a callback receives is valid during the callback only.
 *
 * Time is wall-clock unix seconds (bindings outlive the process and are
 * shared between machines).
 */
#ifndef SIPD_LOCATION_H
#define SIPD_LOCATION_H

#include <stddef.h>
#include <stdint.h>

#include "libsip/base.h"

/* Errors besides SIP_ERR_NOMEM / SIP_ERR_SYNTAX / SIP_ERR_NOT_FOUND. */
enum loc_err {
	LOC_ERR_ORDER = -200,    /* same Call-ID, CSeq not higher (§10.3 step 7): 500 */
	LOC_ERR_TOO_MANY = -201, /* over max_contacts for the AOR: 403 */
	LOC_ERR_STORE = -202,    /* the store failed (disk, lost connection): 500 + Retry-After */
	LOC_ERR_DSN = -203,      /* malformed or unsupported DSN */
	LOC_ERR_CLOSED = -204,   /* the store is shutting down */
};

/* "ORDER" etc. for logs. */
const char *loc_err_name(int err);

/* One binding of an AOR. Strings are not NUL-terminated slices. */
struct loc_binding {
	struct sip_pl aor;        /* "sip:alice@example.com", canonical (see loc_aor) */
	struct sip_pl uri;        /* the Contact URI */
	struct sip_pl params;     /* the Contact's other params, raw (";a=b;c"), or empty:
	                             everything but expires and q */
	struct sip_pl path;       /* Path header values (RFC 3327) joined by ",", or empty */
	struct sip_pl instance;   /* +sip.instance value as received (RFC 5626), or empty */
	struct sip_pl call_id;    /* of the REGISTER that made or last refreshed it */
	struct sip_pl received;   /* where that REGISTER came from: "udp:192.0.2.1:5060" */
	struct sip_pl user_agent; /* its User-Agent, or empty (for operators) */
	uint32_t reg_id;          /* reg-id (RFC 5626), 0: none */
	uint32_t cseq;
	int q;           /* q-value in thousandths 0..1000, or -1 when not given */
	int64_t expires; /* absolute, unix seconds */
	int64_t updated; /* when last written, unix seconds */
};

/* One Contact of a REGISTER as the registrar decided it (expiry already
 * clamped to [min, max]; 0 removes). */
struct loc_contact {
	struct sip_pl uri, params, instance;
	uint32_t reg_id;
	int q;
	uint32_t expires; /* seconds from now; 0: remove this binding */
};

/* What one REGISTER asks of an AOR (§10.3 steps 6–8). */
struct loc_update {
	struct sip_pl aor;
	struct sip_pl call_id;
	uint32_t cseq;
	bool remove_all; /* "Contact: *" with Expires 0 */
	const struct loc_contact *contacts;
	size_t ncontacts; /* 0 and !remove_all: a query, nothing changes */
	struct sip_pl path, received, user_agent;
	int64_t now; /* unix seconds */
};

/* ---- the pure rule (shared by every backend) ------------------------------- */

/* Applies u to the AOR's current bindings cur[0..ncur) and writes the new
 * set to out[0..*nout) (cap entries; its slices point into cur and u).
 * Bindings expired at u->now are dropped. A contact matches an existing
 * binding by +sip.instance and reg-id when both carry an instance (RFC
 * 5626: the device replaces its own binding), else by URI equality
 * (§19.1.4). For a match, a different Call-ID replaces (or removes, with
 * expires 0) the binding; the same Call-ID needs a higher CSeq, else the
 * whole update fails with LOC_ERR_ORDER (§10.3 step 7: all or nothing).
 * An unmatched contact with expires 0 changes nothing. Returns 0,
 * LOC_ERR_ORDER, LOC_ERR_TOO_MANY (the result would exceed max, 0: no
 * limit) or SIP_ERR_NOSPACE (cap too small). */
int loc_apply(const struct loc_binding *cur, size_t ncur, const struct loc_update *u, size_t max,
              struct loc_binding *out, size_t cap, size_t *nout);

/* The AOR key of a URI (§10.3 step 5): "sip:" + user + "@" + host with the
 * host lowercased and the user as given (unescaped), no port, params or
 * headers; sips URIs map to the same "sip:" key. Returns the length or
 * SIP_ERR_URI / SIP_ERR_NOSPACE. */
struct sip_uri;
int loc_aor(const struct sip_uri *uri, char *buf, size_t cap);

/* ---- the store ---------------------------------------------------------------- */

struct loc_store;

struct loc_cfg {
	size_t max_contacts;     /* per AOR (default 16; 0: no limit) */
	unsigned commit_ms;      /* sqlite: longest wait to gather a group commit (default 2) */
	unsigned redis_conns;    /* redis: connections/threads (default 2) */
	unsigned redis_retry_ms; /* redis: reconnect interval (default 500) */
};
void loc_cfg_default(struct loc_cfg *cfg);

/* Opens the store named by dsn (loading sqlite's bindings and dropping the
 * expired ones, connecting to Redis). cfg NULL: defaults. Returns 0,
 * LOC_ERR_DSN, LOC_ERR_STORE (with the cause in the log) or SIP_ERR_NOMEM.
 * A Redis that is down at open is not an error: operations fail with
 * LOC_ERR_STORE until it is back. */
int loc_open(struct loc_store **out, const char *dsn, const struct loc_cfg *cfg);
/* Finishes pending writes (their callbacks run), closes, frees. NULL ok. */
void loc_close(struct loc_store *s);
/* "memory", "sqlite", "redis". */
const char *loc_backend(const struct loc_store *s);

/* Result of an update or a lookup: err 0 and the AOR's bindings after it
 * (expired ones left out), or an error and none. */
typedef void (*loc_done_fn)(void *arg, int err, const struct loc_binding *b, size_t n);

/* Applies a REGISTER (loc_apply on the stored set) and calls done once the
 * change is durable (sqlite: committed; redis: written), with the set
 * after it. Concurrent updates of one AOR are serialised. Returns 0 (done
 * will be called, possibly before this returns) or an error (done is not
 * called): SIP_ERR_NOMEM, LOC_ERR_CLOSED. */
int loc_update(struct loc_store *s, const struct loc_update *u, loc_done_fn done, void *arg);

/* The AOR's live bindings at `now`. Same return convention. */
int loc_lookup(struct loc_store *s, struct sip_pl aor, int64_t now, loc_done_fn done, void *arg);

/* Synchronous administration (sipctl, tests): each waits for durability.
 * Return 0, SIP_ERR_NOT_FOUND, LOC_ERR_STORE ... */
int loc_remove(struct loc_store *s, struct sip_pl aor, struct sip_pl uri);
int loc_remove_all(struct loc_store *s, struct sip_pl aor);
/* Drops the bindings expired at now (memory and sqlite; Redis expires by
 * itself and this is a no-op). sipd calls it every second. Returns the
 * number removed or an error. */
long loc_expire(struct loc_store *s, int64_t now);
/* Calls fn for every AOR with live bindings at now (its bindings sorted
 * by q, highest first); stop early by returning non-zero (then returned).
 * The store is not changed meanwhile for the AOR being visited. */
typedef int (*loc_iter_fn)(void *arg, struct sip_pl aor, const struct loc_binding *b, size_t n);
int loc_iterate(struct loc_store *s, int64_t now, loc_iter_fn fn, void *arg);
/* Live AORs and bindings at now. */
int loc_count(struct loc_store *s, int64_t now, size_t *aors, size_t *bindings);

/* ---- users (credentials) -------------------------------------------------------- */

/* A local user: HA1 = H(user:realm:password) for each algorithm, lowercase
 * hex, realm = the domain. Never the password. */
struct loc_user {
	struct sip_pl user, domain;
	struct sip_pl ha1_md5;        /* 32 hex */
	struct sip_pl ha1_sha256;     /* 64 hex */
	struct sip_pl ha1_sha512_256; /* 64 hex */
};

/* Adds or replaces (passwd) a user. Synchronous, durable on return. */
int loc_user_put(struct loc_store *s, const struct loc_user *u);
/* Deletes; SIP_ERR_NOT_FOUND when absent. Synchronous. */
int loc_user_del(struct loc_store *s, struct sip_pl user, struct sip_pl domain);
/* Finds a user: done(arg, 0, user) or done(arg, SIP_ERR_NOT_FOUND or
 * LOC_ERR_STORE, NULL). Sees users added by another process (sipctl) on
 * the same store without a restart. Return convention of loc_update. */
typedef void (*loc_user_fn)(void *arg, int err, const struct loc_user *u);
int loc_user_get(struct loc_store *s, struct sip_pl user, struct sip_pl domain, loc_user_fn done,
                 void *arg);
/* Every user, in (domain, user) order. Synchronous. */
typedef int (*loc_user_iter_fn)(void *arg, const struct loc_user *u);
int loc_user_iterate(struct loc_store *s, loc_user_iter_fn fn, void *arg);

/* The server secret for nonces (32 random bytes), created once and kept in
 * the store so every node of a cluster signs alike. Synchronous. */
int loc_secret(struct loc_store *s, uint8_t out[32]);

#endif /* SIPD_LOCATION_H */
