/*
 * hmac.c — a pool of keyed HMAC-SHA256 contexts (see hmac.h). A MAC takes
 * the first free context from the one its hint names, or waits for that
 * one when all are busy.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hmac.h"
#include "libsip/base.h"

#define CTXS 16 /* workers signing at once, or wait */

struct hmac_pool {
	struct {
		pthread_mutex_t mu;
		EVP_MAC_CTX *ctx;
	} c[CTXS];
};

int hmac_pool_new(struct hmac_pool **out, const void *key, size_t len)
{
	struct hmac_pool *p = calloc(1, sizeof(*p));
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM params[] = {
	        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA2-256", 0),
	        OSSL_PARAM_construct_end()};
	int err = !p ? SIP_ERR_NOMEM : !hmac ? SIP_ERR_UNSUPPORTED : 0;

	for (int i = 0; p && i < CTXS; i++) {
		pthread_mutex_init(&p->c[i].mu, NULL);
		if (err)
			continue;
		/* Each context holds its own reference to hmac. */
		if (!(p->c[i].ctx = EVP_MAC_CTX_new(hmac)))
			err = SIP_ERR_NOMEM;
		else if (!EVP_MAC_init(p->c[i].ctx, key, len, params))
			err = SIP_ERR_UNSUPPORTED;
	}
	EVP_MAC_free(hmac);
	if (err) {
		hmac_pool_free(p);
		p = NULL;
	}
	*out = p;
	return err;
}

void hmac_pool_free(struct hmac_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < CTXS; i++) {
		EVP_MAC_CTX_free(p->c[i].ctx); /* it wipes its key */
		pthread_mutex_destroy(&p->c[i].mu);
	}
	free(p);
}

bool hmac_pool_mac(struct hmac_pool *p, unsigned hint, const void *a, size_t alen, const void *b,
                   size_t blen, uint8_t *out, size_t outlen)
{
	unsigned first = hint % CTXS, i;
	uint8_t md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;
	EVP_MAC_CTX *ctx;
	bool ok;

	for (i = 0; i < CTXS; i++)
		if (pthread_mutex_trylock(&p->c[(first + i) % CTXS].mu) == 0)
			break;
	if (i == CTXS) {
		i = 0;
		pthread_mutex_lock(&p->c[first].mu);
	}
	i = (first + i) % CTXS;
	ctx = p->c[i].ctx;
	/* A NULL key re-initialises with the key already set (OpenSSL 3). */
	ok = EVP_MAC_init(ctx, NULL, 0, NULL) && (alen == 0 || EVP_MAC_update(ctx, a, alen)) &&
	     (blen == 0 || EVP_MAC_update(ctx, b, blen)) &&
	     EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) && mdlen >= outlen;
	pthread_mutex_unlock(&p->c[i].mu);
	if (ok)
		memcpy(out, md, outlen);
	else
		memset(out, 0, outlen);
	return ok;
}
