/*
 * hmac.h — HMAC-SHA256 under one secret, computed by many threads at once
 * (digest nonces, flow tokens). A one-shot HMAC() looks HMAC and SHA-256
 * up in OpenSSL 3's provider store, allocates a context and runs the key
 * schedule on every call; a pool keeps a few contexts keyed at creation,
 * each behind its own mutex, and re-initialises one per MAC with the key
 * it already holds.
 */
#ifndef SIPD_HMAC_H
#define SIPD_HMAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmac_pool;

/* A pool keyed with key[0..len). Returns 0, SIP_ERR_NOMEM, or
 * SIP_ERR_UNSUPPORTED when the crypto provider has no HMAC-SHA256. */
int hmac_pool_new(struct hmac_pool **out, const void *key, size_t len);
/* NULL ok. */
void hmac_pool_free(struct hmac_pool *p);

/* The first outlen (at most 32) bytes of HMAC-SHA256(key, a | b) into out:
 * true, or false with out zeroed when OpenSSL fails (only lack of memory
 * can). hint picks the context tried first, so that callers spread over
 * them (any varying byte of the input will do). */
bool hmac_pool_mac(struct hmac_pool *p, unsigned hint, const void *a, size_t alen, const void *b,
                   size_t blen, uint8_t *out, size_t outlen);

#endif /* SIPD_HMAC_H */
