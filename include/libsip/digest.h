/*
 * digest.h — HTTP/SIP digest arithmetic (RFC 3261 §22.4, RFC 7616 §3.4,
 * RFC 8760): HA1, HA2, the request-digest and the userhash for MD5, SHA-256
 * and SHA-512/256 and their -sess variants.
 *
 * Pure functions on OpenSSL's EVP hashes: no sockets, clocks or state. Inputs
 * are slices of already-unquoted values (see sip_auth_unquote()); every hash
 * is written as lower-case hex plus a NUL into a caller buffer.
 */
#ifndef LIBSIP_DIGEST_H
#define LIBSIP_DIGEST_H

#include "libsip/base.h"

/* Room for the longest hex digest (SHA-256, SHA-512/256: 64 digits) + NUL. */
#define SIP_DIGEST_HEX_MAX 65

enum sip_digest_alg {
	SIP_DIGEST_MD5 = 0,
	SIP_DIGEST_MD5_SESS,
	SIP_DIGEST_SHA256,
	SIP_DIGEST_SHA256_SESS,
	SIP_DIGEST_SHA512_256,
	SIP_DIGEST_SHA512_256_SESS,
};

enum sip_digest_qop {
	SIP_DIGEST_QOP_NONE = 0, /* RFC 2069 compatibility: no qop parameter */
	SIP_DIGEST_QOP_AUTH,
	SIP_DIGEST_QOP_AUTH_INT,
};

/* Maps an algorithm parameter ("MD5", "sha-256-sess", ...; case-insensitive)
 * to *alg; an unset or empty slice means MD5 (RFC 7616 §3.3). Returns 0 or
 * SIP_ERR_UNSUPPORTED. */
int sip_digest_alg_parse(struct sip_pl name, enum sip_digest_alg *alg);
/* The canonical name ("SHA-512-256-sess"), or NULL for a value out of range. */
const char *sip_digest_alg_name(enum sip_digest_alg alg);
/* True for the -sess variants, whose HA1 also covers nonce and cnonce. */
bool sip_digest_alg_is_sess(enum sip_digest_alg alg);
/* Hex digits of one hash of alg (32 or 64), or SIP_ERR_UNSUPPORTED. */
int sip_digest_hex_len(enum sip_digest_alg alg);

/* Maps a credentials qop value ("auth", "auth-int"; case-insensitive) to
 * *qop; an unset or empty slice means SIP_DIGEST_QOP_NONE. Returns 0 or
 * SIP_ERR_UNSUPPORTED. */
int sip_digest_qop_parse(struct sip_pl name, enum sip_digest_qop *qop);
/* "auth" or "auth-int"; NULL for SIP_DIGEST_QOP_NONE or a value out of range. */
const char *sip_digest_qop_name(enum sip_digest_qop qop);
/* True when a challenge's qop-options list ("auth,auth-int", LWS allowed)
 * offers qop. SIP_DIGEST_QOP_NONE is offered only by an unset or empty list. */
bool sip_digest_qop_offered(struct sip_pl list, enum sip_digest_qop qop);

/* All hash functions below write hex + NUL into out and return the number of
 * hex digits, or SIP_ERR_NOSPACE (cap too small), SIP_ERR_UNSUPPORTED (bad
 * enum, or the hash is unavailable, e.g. MD5 under FIPS), SIP_ERR_NOMEM. */

/* HA1 = H(user ":" realm ":" password), the secret a server stores. For a
 * -sess alg this is the stored part; pass it on to sip_digest_ha1_sess(). */
int sip_digest_ha1(enum sip_digest_alg alg, struct sip_pl user, struct sip_pl realm,
                   struct sip_pl password, char *out, size_t cap);
/* Session key H(ha1 ":" nonce ":" cnonce) for -sess algs; other algs copy
 * ha1 unchanged, so callers may apply it unconditionally. SIP_ERR_AUTH when
 * a -sess alg has an empty cnonce or ha1 is not a hash of alg's length. */
int sip_digest_ha1_sess(enum sip_digest_alg alg, struct sip_pl ha1, struct sip_pl nonce,
                        struct sip_pl cnonce, char *out, size_t cap);
/* HA2 = H(method ":" uri), or H(method ":" uri ":" H(body)) for auth-int
 * (an unset body hashes as empty). */
int sip_digest_ha2(enum sip_digest_alg alg, enum sip_digest_qop qop, struct sip_pl method,
                   struct sip_pl uri, struct sip_pl body, char *out, size_t cap);
/* The request-digest: H(ha1 ":" nonce ":" ha2) without qop, else
 * H(ha1 ":" nonce ":" nc ":" cnonce ":" qop ":" ha2). ha1 is the session key
 * for -sess algs. SIP_ERR_AUTH when qop is set and nc or cnonce is empty. */
int sip_digest_response(enum sip_digest_alg alg, enum sip_digest_qop qop, struct sip_pl ha1,
                        struct sip_pl nonce, struct sip_pl nc, struct sip_pl cnonce,
                        struct sip_pl ha2, char *out, size_t cap);
/* userhash = H(user ":" realm) (RFC 7616 §3.4.4), sent as the username when
 * the challenge says userhash=true. */
int sip_digest_userhash(enum sip_digest_alg alg, struct sip_pl user, struct sip_pl realm, char *out,
                        size_t cap);

/* Everything a request-digest depends on besides the secret HA1. */
struct sip_digest_req {
	enum sip_digest_alg alg;
	enum sip_digest_qop qop;
	struct sip_pl nonce, nc, cnonce; /* nc and cnonce: with qop or a -sess alg */
	struct sip_pl method, uri;       /* the request method and digest-uri */
	struct sip_pl body;              /* auth-int only */
};

/* The request-digest from a stored HA1 in one call (session key, HA2,
 * response). Errors as for the functions it chains. */
int sip_digest_compute(const struct sip_digest_req *req, struct sip_pl ha1, char *out, size_t cap);

/* Constant-time comparison of the response we computed (expected) with the
 * one received (its hex may be upper-case). False when the lengths differ or
 * either is empty: an empty response never authenticates. */
bool sip_digest_hex_eq(struct sip_pl expected, struct sip_pl received);

#endif /* LIBSIP_DIGEST_H */
