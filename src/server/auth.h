/*
 * auth.h — digest authentication of requests (RFC 3261 §22, RFC 7616,
 * RFC 8760): challenges for SHA-256 and MD5 with stateless signed nonces,
 * credentials checked against the HA1s in the location store, nonce-count
 * replay refused, and sources that keep failing slowed down.
 */
#ifndef SIPD_AUTH_H
#define SIPD_AUTH_H

#include "libsip/digest.h"
#include "libsip/msg.h"
#include "libsip/transport.h"
#include "location/location.h"

struct auth;

#define AUTH_MAX_ALGS 3

struct auth_cfg {
	/* The algorithms challenged for, in this order (default SHA-256,
	 * MD5). Some deployed UAs give up on a challenge list holding an
	 * algorithm they do not know, against RFC 8760 §2.5: for them, MD5
	 * alone. */
	enum sip_digest_alg algs[AUTH_MAX_ALGS];
	unsigned nalgs;
	unsigned nonce_ttl_s;   /* nonce lifetime (default 300) */
	unsigned nonce_slots;   /* nonce-count table entries (default 65536) */
	unsigned fail_burst;    /* failed attempts a source may make at once (default 10) */
	unsigned fail_window_s; /* ...and again after this many seconds (default 10) */
};
void auth_cfg_default(struct auth_cfg *cfg);

/* The store gives the users and the nonce secret. */
int auth_new(struct auth **out, const struct auth_cfg *cfg, struct loc_store *store);
void auth_free(struct auth *a);

enum auth_result {
	AUTH_OK,
	AUTH_NONE,    /* no usable credentials for the realm: challenge */
	AUTH_STALE,   /* right password, old or replayed nonce: challenge with stale=true */
	AUTH_FAILED,  /* unknown user or wrong password: 403 */
	AUTH_BAD,     /* malformed credentials, or for another URI: 400 */
	AUTH_LIMITED, /* this source failed too often: 503 + Retry-After */
	AUTH_STORE,   /* the user store failed: 500 + Retry-After */
};

/* done gets the result and, for AUTH_OK, the authenticated user name
 * (valid during the call). */
typedef void (*auth_done_fn)(void *arg, enum auth_result r, struct sip_pl user);

/* Checks req's credentials in header id (SIP_HDR_AUTHORIZATION or
 * SIP_HDR_PROXY_AUTHORIZATION) for realm, from source src. done runs
 * exactly once, inline or later from the store's thread: req and realm
 * must stay valid until then (a transaction's own request). */
void auth_check(struct auth *a, const struct sip_msg *req, enum sip_hdr_id id, struct sip_pl realm,
                const struct tp_addr *src, auth_done_fn done, void *arg);

/* The challenge header values for realm, one per configured algorithm in
 * order, in buf; out[i] point into it. Returns how many, or
 * SIP_ERR_NOSPACE. */
int auth_challenge(struct auth *a, struct sip_pl realm, bool stale, char *buf, size_t cap,
                   struct sip_pl out[AUTH_MAX_ALGS]);

/* Parses "SHA-256,MD5" into cfg's list. Returns 0 or SIP_ERR_SYNTAX. */
int auth_algs_parse(struct auth_cfg *cfg, const char *list);

/* Seconds a limited source should wait (for Retry-After). */
unsigned auth_retry_after(const struct auth *a);

/* Unix seconds now (wall clock: nonces and bindings are shared). */
int64_t auth_now(void);

#endif /* SIPD_AUTH_H */
