/*
 * nonce.c — signed, expiring digest nonces and the nonce-count replay
 * table (see nonce.h).
 *
 * The table is a fixed array of slots, 4 per bucket, found by the nonce's
 * random part: memory is bounded whatever clients send. A nonce first seen
 * takes its bucket's oldest slot; if a busy server evicts a live nonce,
 * that nonce's next use looks like a first use again — the bound costs
 * that much replay protection, never a false refusal of a fresh nonce.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hmac.h"
#include "nonce.h"

#define TS_BYTES 8
#define RND_BYTES 8
#define MAC_BYTES 16
#define RAW_BYTES (TS_BYTES + RND_BYTES + MAC_BYTES)
#define WAYS 4
#define WINDOW 64 /* nonce-counts accepted out of order behind the highest */
#define LOCKS 64

struct slot {
	uint64_t id; /* the random part */
	int64_t made;
	uint32_t max_nc;
	uint64_t seen; /* bit i: max_nc - i was used */
};

struct nonce_ctx {
	struct hmac_pool *mac; /* keyed with the secret */
	unsigned ttl_s;
	size_t nbuckets; /* power of two */
	struct slot *slots;
	pthread_mutex_t locks[LOCKS];
};

int nonce_ctx_new(struct nonce_ctx **out, const uint8_t secret[32], unsigned ttl_s, unsigned slots)
{
	struct nonce_ctx *c = calloc(1, sizeof(*c));
	size_t nb = 1;
	int err;

	if (!c)
		return SIP_ERR_NOMEM;
	while (nb * WAYS < slots)
		nb <<= 1;
	c->slots = calloc(nb * WAYS, sizeof(*c->slots));
	if (!c->slots) {
		free(c);
		return SIP_ERR_NOMEM;
	}
	c->ttl_s = ttl_s;
	c->nbuckets = nb;
	for (int i = 0; i < LOCKS; i++)
		pthread_mutex_init(&c->locks[i], NULL);
	if ((err = hmac_pool_new(&c->mac, secret, 32)) < 0) {
		nonce_ctx_free(c);
		return err;
	}
	*out = c;
	return 0;
}

void nonce_ctx_free(struct nonce_ctx *c)
{
	if (!c)
		return;
	for (int i = 0; i < LOCKS; i++)
		pthread_mutex_destroy(&c->locks[i]);
	hmac_pool_free(c->mac);
	free(c->slots);
	free(c);
}

/* The first MAC_BYTES of HMAC-SHA256(secret, timestamp | random | realm)
 * into out: true, or false (out zeroed) when OpenSSL fails, which only
 * lack of memory can cause. */
static bool mac(struct nonce_ctx *c, const uint8_t *head, struct sip_pl realm,
                uint8_t out[MAC_BYTES])
{
	/* Realms are domain names; a longer one is cut, which still binds
	 * the nonce to it for every realm a server can have. The random part
	 * spreads the workers over the pool's contexts. */
	size_t rl = realm.len > 256 ? 256 : realm.len;

	return hmac_pool_mac(c->mac, head[TS_BYTES], head, TS_BYTES + RND_BYTES, realm.p, rl, out,
	                     MAC_BYTES);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void nonce_make(struct nonce_ctx *c, struct sip_pl realm, int64_t now, char out[NONCE_LEN + 1])
{
	uint8_t raw[RAW_BYTES];

	put_be64(raw, (uint64_t)now);
	if (RAND_bytes(raw + TS_BYTES, RND_BYTES) != 1)
		abort(); /* no randomness: nonces would be guessable */
	/* Without a MAC the nonce goes out all the same, with zeros where the
	 * MAC belongs: nonce_check refuses it (NONCE_BAD) and the client is
	 * challenged again, rather than the server stopping. */
	(void)mac(c, raw, realm, raw + TS_BYTES + RND_BYTES);
	sip_hex_encode(out, raw, RAW_BYTES);
}

static int parse_nc(struct sip_pl nc, uint32_t *out)
{
	uint32_t v = 0;

	if (nc.len != 8)
		return -1;
	for (size_t i = 0; i < 8; i++) {
		int d = sip_hex_digit(nc.p[i]);
		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

/* Records nc for nonce id; false when it was used before. */
static bool record(struct nonce_ctx *c, uint64_t id, int64_t made, uint32_t nc)
{
	size_t b = (size_t)(id & (c->nbuckets - 1));
	struct slot *s = &c->slots[b * WAYS], *victim = NULL;
	pthread_mutex_t *lock = &c->locks[b % LOCKS];
	bool ok = true;

	pthread_mutex_lock(lock);
	for (int i = 0; i < WAYS; i++) {
		if (s[i].id == id && s[i].made == made) {
			victim = &s[i];
			break;
		}
	}
	if (!victim) {
		/* First sight: take the oldest slot (expired ones are oldest). */
		victim = &s[0];
		for (int i = 1; i < WAYS; i++)
			if (s[i].made < victim->made)
				victim = &s[i];
		*victim = (struct slot){.id = id, .made = made, .max_nc = nc, .seen = 1};
	} else if (nc > victim->max_nc) {
		uint32_t shift = nc - victim->max_nc;
		victim->seen = shift >= WINDOW ? 1 : (victim->seen << shift) | 1;
		victim->max_nc = nc;
	} else {
		uint32_t back = victim->max_nc - nc;
		if (back >= WINDOW || (victim->seen >> back & 1))
			ok = false;
		else
			victim->seen |= (uint64_t)1 << back;
	}
	pthread_mutex_unlock(lock);
	return ok;
}

static bool decode(struct sip_pl nonce, uint8_t raw[RAW_BYTES])
{
	if (nonce.len != NONCE_LEN)
		return false;
	for (int i = 0; i < RAW_BYTES; i++) {
		int hi = sip_hex_digit(nonce.p[2 * i]), lo = sip_hex_digit(nonce.p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		raw[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

enum nonce_check nonce_check(struct nonce_ctx *c, struct sip_pl nonce, struct sip_pl realm,
                             int64_t now)
{
	uint8_t raw[RAW_BYTES], want[MAC_BYTES];

	if (!decode(nonce, raw))
		return NONCE_BAD;
	if (!mac(c, raw, realm, want))
		return NONCE_BAD;
	if (CRYPTO_memcmp(want, raw + TS_BYTES + RND_BYTES, MAC_BYTES) != 0)
		return NONCE_BAD;
	int64_t made = (int64_t)get_be64(raw);
	/* A few seconds of clock skew between the nodes of a cluster. */
	if (made > now + 5 || now - made > (int64_t)c->ttl_s)
		return NONCE_STALE;
	return NONCE_OK;
}

enum nonce_check nonce_use(struct nonce_ctx *c, struct sip_pl nonce, struct sip_pl nc)
{
	uint8_t raw[RAW_BYTES];
	uint32_t ncv = 0;

	/* Without a valid nc (no qop) a nonce could be replayed at will. */
	if (!decode(nonce, raw) || parse_nc(nc, &ncv) < 0 || ncv == 0)
		return NONCE_REPLAY;
	if (!record(c, get_be64(raw + TS_BYTES), (int64_t)get_be64(raw), ncv))
		return NONCE_REPLAY;
	return NONCE_OK;
}
