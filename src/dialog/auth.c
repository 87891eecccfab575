/*
 * auth.c — the digest client (RFC 3261 §22.2-§22.3, RFC 7616, RFC 8760):
 * takes the WWW-Authenticate / Proxy-Authenticate challenges of a 401 or
 * 407, keeps per realm the strongest algorithm it can answer and the
 * nonce with its count, and writes the credentials of the retried request.
 * The hashes are libsip's (digest.h), the header syntax auth_hdr.c's.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog.h"
#include "libsip/hdr.h"
#include "libsip/log.h"

void dlg_auth_init(struct dlg_auth *a, const char *user, const char *password)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->user, sizeof(a->user), "%s", user ? user : "");
	snprintf(a->password, sizeof(a->password), "%s", password ? password : "");
}

/* Preference among what a server may offer at once (RFC 8760 §2.4: the
 * client takes the strongest it supports); 0 for what we cannot answer. */
static int alg_rank(enum sip_digest_alg alg)
{
	switch (alg) {
	case SIP_DIGEST_SHA256:
	case SIP_DIGEST_SHA256_SESS: return 3;
	case SIP_DIGEST_SHA512_256:
	case SIP_DIGEST_SHA512_256_SESS: return 2;
	case SIP_DIGEST_MD5:
	case SIP_DIGEST_MD5_SESS: return 1;
	}
	return 0;
}

static int unquote_into(char *dst, size_t cap, struct sip_pl v)
{
	int n = sip_auth_unquote(v, dst, cap - 1);

	if (n < 0)
		return n;
	dst[n] = '\0';
	return 0;
}

/* One challenge as a candidate; SIP_ERR_UNSUPPORTED when we cannot answer
 * it (another scheme, an unknown algorithm, only qop=auth-int). */
static int parse_challenge(const struct sip_hdr *h, bool proxy, struct dlg_auth_ch *c)
{
	struct sip_auth au;

	memset(c, 0, sizeof(*c));
	c->proxy = proxy;
	if (sip_auth_parse(&au, h->value) < 0 || !au.is_digest || !au.nonce.len)
		return SIP_ERR_UNSUPPORTED;
	if (sip_digest_alg_parse(au.algorithm, &c->alg) < 0 || !alg_rank(c->alg))
		return SIP_ERR_UNSUPPORTED;
	if (au.qop.len) {
		if (!sip_digest_qop_offered(au.qop, SIP_DIGEST_QOP_AUTH))
			return SIP_ERR_UNSUPPORTED;
		c->qop = true;
	}
	if (unquote_into(c->realm, sizeof(c->realm), au.realm) < 0 ||
	    unquote_into(c->nonce, sizeof(c->nonce), au.nonce) < 0 ||
	    unquote_into(c->opaque, sizeof(c->opaque), au.opaque) < 0)
		return SIP_ERR_UNSUPPORTED;
	return 0;
}

static struct dlg_auth_ch *find(struct dlg_auth_ch *v, size_t n, const struct dlg_auth_ch *c)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].proxy == c->proxy && strcmp(v[i].realm, c->realm) == 0)
			return &v[i];
	return NULL;
}

/* The best challenge per (kind, realm) of the response, into got. */
static size_t collect(const struct sip_msg *resp, struct dlg_auth_ch *got)
{
	static const enum sip_hdr_id ids[] = {SIP_HDR_WWW_AUTHENTICATE, SIP_HDR_PROXY_AUTHENTICATE};
	size_t n = 0;

	for (size_t k = 0; k < 2; k++) {
		const struct sip_hdr *h;
		size_t pos = 0;

		while ((h = sip_msg_hdr_next(resp, ids[k], &pos))) {
			struct dlg_auth_ch c, *same;

			if (parse_challenge(h, k == 1, &c) < 0)
				continue;
			if ((same = find(got, n, &c))) {
				if (alg_rank(c.alg) > alg_rank(same->alg))
					*same = c;
			} else if (n < DLG_AUTH_MAX) {
				got[n++] = c;
			}
		}
	}
	return n;
}

int dlg_auth_update(struct dlg_auth *a, const struct sip_msg *resp)
{
	struct dlg_auth_ch got[DLG_AUTH_MAX];
	size_t n;

	if (!a->password[0])
		return SIP_ERR_AUTH;
	if (!(n = collect(resp, got)))
		return SIP_ERR_AUTH;
	/* A nonce we answered before keeps counting (the server checks that
	 * nc grows); a new one starts again at 1. */
	for (size_t i = 0; i < n; i++) {
		struct dlg_auth_ch *old = find(a->ch, a->nch, &got[i]);

		if (old && strcmp(old->nonce, got[i].nonce) == 0 && old->alg == got[i].alg)
			got[i].nc = old->nc;
	}
	/* Only this response's challenges are answered: the retry goes where
	 * they came from, and credentials for other realms would leak. */
	memcpy(a->ch, got, n * sizeof(got[0]));
	a->nch = n;
	return 0;
}

static void random_hex(char *out, size_t nbytes)
{
	unsigned char raw[32];

	if (nbytes > sizeof(raw) || RAND_bytes(raw, (int)nbytes) != 1)
		abort(); /* a predictable cnonce defeats its purpose */
	sip_hex_encode(out, raw, nbytes);
}

/* The response value for one challenge into out. */
static int compute(const struct dlg_auth *a, const struct dlg_auth_ch *c, const char *method,
                   struct sip_pl uri, const char *nc, const char *cnonce, char *out, size_t cap)
{
	char ha1[SIP_DIGEST_HEX_MAX];
	struct sip_digest_req r = {
	        .alg = c->alg,
	        .qop = c->qop ? SIP_DIGEST_QOP_AUTH : SIP_DIGEST_QOP_NONE,
	        .nonce = sip_pl_cstr(c->nonce),
	        .nc = sip_pl_cstr(nc),
	        .cnonce = sip_pl_cstr(cnonce),
	        .method = sip_pl_cstr(method),
	        .uri = uri,
	};
	int err;

	if ((err = sip_digest_ha1(c->alg, sip_pl_cstr(a->user), sip_pl_cstr(c->realm),
	                          sip_pl_cstr(a->password), ha1, sizeof(ha1))) < 0)
		return err;
	return sip_digest_compute(&r, sip_pl_cstr(ha1), out, cap);
}

static void write_one(struct dlg_auth *a, struct dlg_auth_ch *c, struct sip_wbuf *w,
                      const char *method, struct sip_pl uri)
{
	char nc[9], cnonce[33], resp[SIP_DIGEST_HEX_MAX], line[2048];
	bool with_cnonce = c->qop || sip_digest_alg_is_sess(c->alg);
	struct sip_auth_credentials cr = {
	        .username = sip_pl_cstr(a->user),
	        .realm = sip_pl_cstr(c->realm),
	        .nonce = sip_pl_cstr(c->nonce),
	        .uri = uri,
	        .algorithm = sip_pl_cstr(sip_digest_alg_name(c->alg)),
	        .opaque = c->opaque[0] ? sip_pl_cstr(c->opaque) : SIP_PL_NULL,
	};

	snprintf(nc, sizeof(nc), "%08x", ++c->nc);
	random_hex(cnonce, 16);
	if (compute(a, c, method, uri, nc, cnonce, resp, sizeof(resp)) < 0) {
		w->err = SIP_ERR_UNSUPPORTED;
		return;
	}
	cr.response = sip_pl_cstr(resp);
	if (with_cnonce)
		cr.cnonce = sip_pl_cstr(cnonce);
	if (c->qop) {
		cr.qop = SIP_PL("auth");
		cr.nc = sip_pl_cstr(nc);
	}
	if (sip_auth_print_credentials(line, sizeof(line), &cr) < 0) {
		w->err = SIP_ERR_AUTH;
		return;
	}
	sip_build_hdr(w, c->proxy ? SIP_HDR_PROXY_AUTHORIZATION : SIP_HDR_AUTHORIZATION,
	              sip_pl_cstr(line));
}

void dlg_auth_write(struct dlg_auth *a, struct sip_wbuf *w, const char *method, struct sip_pl uri)
{
	for (size_t i = 0; i < a->nch; i++)
		write_one(a, &a->ch[i], w, method, uri);
}
