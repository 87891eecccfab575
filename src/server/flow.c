/*
 * flow.c — flow tokens in sipd's Record-Route (the idea of RFC 5626 §5.3,
 * used for TLS): a user agent reached over TLS usually listens for
 * nothing a proxy could connect to (no certificate of its own, or one
 * made for a client), so the requests of its dialogs must come down the
 * connection it opened. When sipd record-routes a request, the entry on a
 * TLS side carries, as its user part, the address of the peer on that
 * side; an in-dialog request that comes back through that entry is sent
 * over the open connection to that address. The token is authenticated
 * with a key made at start, so a Route cannot steer requests into another
 * user's connection; after a restart old tokens fail and the request goes
 * to its Request-URI as without them.
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sipd.h"

#define PREFIX "ft"
#define MAC_LEN 8
#define RAW_MAX (1 + 16 + 2)

int sipd_flow_init(struct sipd *s)
{
	return RAND_bytes(s->flow_key, sizeof(s->flow_key)) == 1 ? 0 : SIP_ERR_NOMEM;
}

/* family, address and port as bytes: what the token names. */
static size_t flow_raw(const struct tp_addr *a, unsigned char *out)
{
	uint16_t port = tp_addr_port(a);

	if (a->ss.ss_family == AF_INET) {
		out[0] = 4;
		memcpy(out + 1, &((const struct sockaddr_in *)&a->ss)->sin_addr, 4);
	} else if (a->ss.ss_family == AF_INET6) {
		out[0] = 6;
		memcpy(out + 1, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 16);
	} else {
		return 0;
	}
	size_t n = out[0] == 4 ? 5 : 17;
	out[n] = (unsigned char)(port >> 8);
	out[n + 1] = (unsigned char)port;
	return n + 2;
}

/*
 * Each thread's HMAC-SHA256 context and the key it holds. Why: a one-shot
 * HMAC() looks HMAC and SHA-256 up in the provider store, allocates a
 * context and runs the key schedule on every token; a context kept per
 * thread, re-initialised with the key it already has, does none of it
 * (the commit message has the instruction counts). Per thread, as struct
 * sipd (whose key it is) has no place for it and workers must not share
 * one; the key's destructor frees it when the thread ends. A context whose
 * key differs (another struct sipd, as in tests) is keyed again.
 */
struct flow_hmac {
	EVP_MAC_CTX *ctx;
	unsigned char key[sizeof(((struct sipd *)0)->flow_key)];
	bool keyed; /* ctx holds key */
};

static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static pthread_key_t hmac_key;
static bool hmac_keyed; /* false if pthread_key_create failed: no reuse */

static void hmac_free(void *p)
{
	struct flow_hmac *h = p;

	EVP_MAC_CTX_free(h->ctx);
	OPENSSL_cleanse(h, sizeof(*h));
	free(h);
}

static void hmac_init(void)
{
	hmac_keyed = pthread_key_create(&hmac_key, hmac_free) == 0;
}

/* An HMAC-SHA256 context with no key yet, or NULL. */
static EVP_MAC_CTX *hmac_new(void)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;

	EVP_MAC_free(mac); /* ctx holds its own reference */
	return ctx;
}

/* This thread's context, made on first use; NULL when memory or the
 * thread-specific key is lacking (the caller then works without it). */
static struct flow_hmac *hmac_get(void)
{
	struct flow_hmac *h;

	pthread_once(&hmac_once, hmac_init);
	if (!hmac_keyed)
		return NULL;
	if ((h = pthread_getspecific(hmac_key)))
		return h;
	if (!(h = calloc(1, sizeof(*h))))
		return NULL;
	if (!(h->ctx = hmac_new()) || pthread_setspecific(hmac_key, h) != 0) {
		hmac_free(h);
		return NULL;
	}
	return h;
}

/* Re-initialises ctx for key: with no new key when it holds that one
 * already (the costly part of HMAC is the lookup and the key schedule). */
static bool hmac_start(EVP_MAC_CTX *ctx, bool same, const unsigned char *key, size_t len)
{
	OSSL_PARAM params[] = {
	        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA2-256", 0),
	        OSSL_PARAM_construct_end()};

	/* A NULL key re-initialises with the key already set (OpenSSL 3). */
	return same ? EVP_MAC_init(ctx, NULL, 0, NULL) : EVP_MAC_init(ctx, key, len, params);
}

/* The first MAC_LEN bytes of HMAC-SHA256(flow_key, raw): true, or false
 * when OpenSSL fails (lack of memory). */
static bool flow_mac(const struct sipd *s, const unsigned char *raw, size_t n,
                     unsigned char mac[MAC_LEN])
{
	struct flow_hmac *h = hmac_get();
	EVP_MAC_CTX *ctx = h ? h->ctx : hmac_new();
	unsigned char full[EVP_MAX_MD_SIZE];
	size_t len = 0;
	bool same = h && h->keyed && !memcmp(h->key, s->flow_key, sizeof(h->key)), ok;

	if (!ctx)
		return false;
	if (h && !same)
		h->keyed = false; /* until the new key is in */
	ok = hmac_start(ctx, same, s->flow_key, sizeof(s->flow_key)) &&
	     EVP_MAC_update(ctx, raw, n) && EVP_MAC_final(ctx, full, &len, sizeof(full)) &&
	     len >= MAC_LEN;
	if (h && ok && !same) {
		memcpy(h->key, s->flow_key, sizeof(h->key));
		h->keyed = true;
	}
	if (!h)
		EVP_MAC_CTX_free(ctx);
	if (ok)
		memcpy(mac, full, MAC_LEN);
	return ok;
}

int sipd_flow_token(const struct sipd *s, const struct tp_addr *peer, char *buf, size_t cap)
{
	unsigned char raw[RAW_MAX + MAC_LEN];
	size_t n = flow_raw(peer, raw);

	if (!n || cap < sizeof(PREFIX) + 2 * (n + MAC_LEN))
		return SIP_ERR_NOSPACE;
	if (!flow_mac(s, raw, n, raw + n))
		return SIP_ERR_NOMEM;
	memcpy(buf, PREFIX, sizeof(PREFIX) - 1);
	sip_hex_encode(buf + sizeof(PREFIX) - 1, raw, n + MAC_LEN);
	return 0;
}

bool sipd_flow_decode(const struct sipd *s, struct sip_pl user, struct tp_addr *peer)
{
	unsigned char raw[RAW_MAX + MAC_LEN], mac[MAC_LEN];
	size_t skip = sizeof(PREFIX) - 1, n;

	if (user.len < skip || memcmp(user.p, PREFIX, skip) || (user.len - skip) % 2)
		return false;
	n = (user.len - skip) / 2;
	if (n > sizeof(raw) || n <= MAC_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = sip_hex_digit(user.p[sizeof(PREFIX) - 1 + 2 * i]);
		int lo = sip_hex_digit(user.p[sizeof(PREFIX) + 2 * i]);
		if (hi < 0 || lo < 0)
			return false;
		raw[i] = (unsigned char)(hi << 4 | lo);
	}
	n -= MAC_LEN;
	if ((raw[0] != 4 || n != 7) && (raw[0] != 6 || n != 19))
		return false;
	if (!flow_mac(s, raw, n, mac) || CRYPTO_memcmp(mac, raw + n, MAC_LEN) != 0)
		return false;
	memset(peer, 0, sizeof(*peer));
	if (raw[0] == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&peer->ss;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, raw + 1, 4);
		s4->sin_port = htons((uint16_t)(raw[5] << 8 | raw[6]));
		peer->len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&peer->ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, raw + 1, 16);
		s6->sin6_port = htons((uint16_t)(raw[17] << 8 | raw[18]));
		peer->len = sizeof(*s6);
	}
	return true;
}
