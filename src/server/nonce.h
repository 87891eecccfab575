/*
 * nonce.h — digest nonces any worker or node can verify without shared
 * state: hex(timestamp | random | HMAC-SHA256(secret, timestamp | random |
 * realm)), checked for forgery and age, plus a bounded table of the
 * nonce-counts seen so that a replayed or backwards nc is refused (RFC
 * 7616 §3.4, §5.13).
 */
#ifndef SIPD_NONCE_H
#define SIPD_NONCE_H

#include <stdint.h>

#include "libsip/base.h"

#define NONCE_LEN 64 /* hex characters */

struct nonce_ctx;

/* secret: 32 bytes (the store's, so a cluster agrees); ttl_s: how long a
 * nonce lives; slots: entries of the nonce-count table (rounded up to a
 * power of two; memory is slots * 32 bytes). Returns 0, SIP_ERR_NOMEM, or
 * SIP_ERR_UNSUPPORTED when the crypto provider has no HMAC-SHA256. */
int nonce_ctx_new(struct nonce_ctx **out, const uint8_t secret[32], unsigned ttl_s, unsigned slots);
void nonce_ctx_free(struct nonce_ctx *c);

/* Writes a fresh nonce for realm (NONCE_LEN chars + NUL) made at now. */
void nonce_make(struct nonce_ctx *c, struct sip_pl realm, int64_t now, char out[NONCE_LEN + 1]);

enum nonce_check {
	NONCE_OK,
	NONCE_BAD,    /* not ours (forged, malformed, another realm) */
	NONCE_STALE,  /* ours but expired */
	NONCE_REPLAY, /* nc missing, repeated or too far behind */
};

/* Checks that a nonce received for realm is ours and still young:
 * NONCE_OK, NONCE_BAD or NONCE_STALE. Records nothing. */
enum nonce_check nonce_check(struct nonce_ctx *c, struct sip_pl nonce, struct sip_pl realm,
                             int64_t now);

/* Records the use of nonce (already checked) with nc (8 hex digits):
 * NONCE_OK, or NONCE_REPLAY when that count was used before, is too far
 * behind the highest, or is missing. Call it once the credentials proved
 * right, so that forged requests cannot burn a client's counts. */
enum nonce_check nonce_use(struct nonce_ctx *c, struct sip_pl nonce, struct sip_pl nc);

#endif /* SIPD_NONCE_H */
