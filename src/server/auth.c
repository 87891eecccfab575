/*
 * auth.c — digest authentication (see auth.h): parse the credentials for
 * our realm, check the nonce, find the user's HA1 in the store (possibly
 * asynchronously), compare the response in constant time, then record
 * the nonce-count.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "libsip/digest.h"
#include "libsip/hdr.h"
#include "libsip/log.h"
#include "libsip/uri.h"
#include "nonce.h"

#define FAIL_SLOTS 4096
#define FAIL_LOCKS 64

/* Failures per source IP as a token bucket: fail_burst failures at once,
 * then one more every fail_window_s / fail_burst seconds. The table is
 * bounded; a collision only makes two sources share a budget. */
struct fail_slot {
	uint64_t key;
	int64_t last_ms;
	double tokens;
};

struct auth {
	struct auth_cfg cfg;
	struct loc_store *store;
	struct nonce_ctx *nonces;
	struct fail_slot fails[FAIL_SLOTS];
	pthread_mutex_t fail_locks[FAIL_LOCKS];
};

void auth_cfg_default(struct auth_cfg *cfg)
{
	cfg->algs[0] = SIP_DIGEST_SHA256;
	cfg->algs[1] = SIP_DIGEST_MD5;
	cfg->nalgs = 2;
	cfg->nonce_ttl_s = 300;
	cfg->nonce_slots = 65536;
	cfg->fail_burst = 10;
	cfg->fail_window_s = 10;
}

int64_t auth_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

int auth_new(struct auth **out, const struct auth_cfg *cfg, struct loc_store *store)
{
	uint8_t secret[32];
	struct auth *a;
	int err;

	if ((err = loc_secret(store, secret)) < 0) {
		sip_log(SIP_LOG_ERROR,
		        "auth: cannot read or create the nonce secret in the store (%s)",
		        loc_err_name(err));
		return err;
	}
	if (!(a = calloc(1, sizeof(*a))))
		return SIP_ERR_NOMEM;
	a->cfg = *cfg;
	a->store = store;
	if ((err = nonce_ctx_new(&a->nonces, secret, cfg->nonce_ttl_s, cfg->nonce_slots)) < 0) {
		free(a);
		return err;
	}
	for (int i = 0; i < FAIL_LOCKS; i++)
		pthread_mutex_init(&a->fail_locks[i], NULL);
	*out = a;
	return 0;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	nonce_ctx_free(a->nonces);
	for (int i = 0; i < FAIL_LOCKS; i++)
		pthread_mutex_destroy(&a->fail_locks[i]);
	free(a);
}

unsigned auth_retry_after(const struct auth *a)
{
	/* The time one more attempt takes to earn, at least a second. */
	unsigned t = a->cfg.fail_window_s / (a->cfg.fail_burst ? a->cfg.fail_burst : 1);
	return t ? t : 1;
}

/* ---- failures per source --------------------------------------------------- */

static uint64_t source_key(const struct tp_addr *src)
{
	const struct sockaddr *sa = (const struct sockaddr *)&src->ss;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return sip_fnv1a(SIP_FNV_BASIS, &in->sin_addr, sizeof(in->sin_addr));
	}
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
	return sip_fnv1a(SIP_FNV_BASIS, &in6->sin6_addr, sizeof(in6->sin6_addr));
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Counts a failure (add) or asks whether the source is over its budget. */
static bool fail_limited(struct auth *a, const struct tp_addr *src, bool add)
{
	uint64_t key = source_key(src);
	size_t i = key % FAIL_SLOTS;
	struct fail_slot *s = &a->fails[i];
	double burst = a->cfg.fail_burst, per_ms = burst / (a->cfg.fail_window_s * 1000.0);
	int64_t now = mono_ms();
	bool limited;

	pthread_mutex_lock(&a->fail_locks[i % FAIL_LOCKS]);
	if (s->key != key)
		*s = (struct fail_slot){.key = key, .last_ms = now, .tokens = burst};
	s->tokens += (double)(now - s->last_ms) * per_ms;
	if (s->tokens > burst)
		s->tokens = burst;
	s->last_ms = now;
	if (add)
		s->tokens -= 1;
	limited = s->tokens < 1;
	pthread_mutex_unlock(&a->fail_locks[i % FAIL_LOCKS]);
	return limited;
}

/* ---- challenge ----------------------------------------------------------------- */

int auth_challenge(struct auth *a, struct sip_pl realm, bool stale, char *buf, size_t cap,
                   struct sip_pl out[AUTH_MAX_ALGS])
{
	char nonce[NONCE_LEN + 1];
	size_t used = 0;

	for (unsigned i = 0; i < a->cfg.nalgs; i++) {
		struct sip_auth_challenge ch = {
		        .realm = realm,
		        .algorithm = sip_pl_cstr(sip_digest_alg_name(a->cfg.algs[i])),
		        .qop = SIP_PL("auth"),
		        .stale = stale,
		};
		nonce_make(a->nonces, realm, auth_now(), nonce);
		ch.nonce = sip_pl(nonce, NONCE_LEN);
		int n = sip_auth_print_challenge(buf + used, cap - used, &ch);
		if (n < 0)
			return SIP_ERR_NOSPACE;
		out[i] = sip_pl(buf + used, (size_t)n);
		used += (size_t)n + 1;
	}
	return (int)a->cfg.nalgs;
}

int auth_algs_parse(struct auth_cfg *cfg, const char *list)
{
	struct sip_pl rest = sip_pl_cstr(list);
	unsigned n = 0;

	while (rest.len) {
		const char *comma = memchr(rest.p, ',', rest.len);
		struct sip_pl item =
		        sip_pl_trim(sip_pl(rest.p, comma ? (size_t)(comma - rest.p) : rest.len));
		enum sip_digest_alg alg;

		rest = comma ? sip_pl(comma + 1, rest.len - (size_t)(comma + 1 - rest.p))
		             : SIP_PL("");
		/* -sess variants are for the client to pick, never challenged. */
		if (!item.len || n == AUTH_MAX_ALGS || sip_digest_alg_parse(item, &alg) < 0 ||
		    sip_digest_alg_is_sess(alg))
			return SIP_ERR_SYNTAX;
		for (unsigned i = 0; i < n; i++)
			if (cfg->algs[i] == alg)
				return SIP_ERR_SYNTAX;
		cfg->algs[n++] = alg;
	}
	if (!n)
		return SIP_ERR_SYNTAX;
	cfg->nalgs = n;
	return 0;
}

/* ---- checking credentials ---------------------------------------------------------- */

struct check {
	struct auth *a;
	const struct sip_msg *req;
	struct sip_auth cred;
	enum sip_digest_alg alg;
	enum sip_digest_qop qop;
	struct tp_addr src;
	auth_done_fn done;
	void *arg;
};

/* The credentials for realm among the headers of id, or NULL. A UA may
 * send several (one per realm it was challenged for, §22.3). */
static int find_credentials(const struct sip_msg *req, enum sip_hdr_id id, struct sip_pl realm,
                            struct sip_auth *out)
{
	const struct sip_hdr *h;
	size_t pos = 0;

	while ((h = sip_msg_hdr_next(req, id, &pos))) {
		if (sip_auth_parse(out, h->value) < 0)
			return AUTH_BAD;
		if (out->is_digest && sip_pl_eq(out->realm, realm))
			return AUTH_OK;
	}
	return AUTH_NONE;
}

/* The digest-uri must name the Request-URI (RFC 7616 §3.4.6 / §22.4),
 * or credentials captured for one request would serve another. */
static bool uri_matches(const struct sip_msg *req, struct sip_pl uri)
{
	struct sip_uri u;

	if (sip_pl_eq(uri, sip_msg_ruri_pl(req)))
		return true;
	return sip_uri_parse(&u, uri) == 0 && sip_uri_eq(&u, sip_msg_ruri(req));
}

static struct sip_pl ha1_for(const struct loc_user *u, enum sip_digest_alg alg)
{
	switch (alg) {
	case SIP_DIGEST_MD5:
	case SIP_DIGEST_MD5_SESS: return u->ha1_md5;
	case SIP_DIGEST_SHA256:
	case SIP_DIGEST_SHA256_SESS: return u->ha1_sha256;
	default: return u->ha1_sha512_256;
	}
}

static void finish(struct check *c, enum auth_result r, struct sip_pl user)
{
	auth_done_fn done = c->done;
	void *arg = c->arg;

	free(c);
	done(arg, r, user);
}

static void on_user(void *arg, int err, const struct loc_user *u)
{
	struct check *c = arg;
	char want[SIP_DIGEST_HEX_MAX];
	struct sip_pl ha1;

	if (err == LOC_ERR_STORE || err == LOC_ERR_CLOSED) {
		finish(c, AUTH_STORE, SIP_PL_NULL);
		return;
	}
	if (err < 0 || !(ha1 = ha1_for(u, c->alg)).len) {
		fail_limited(c->a, &c->src, true);
		finish(c, AUTH_FAILED, SIP_PL_NULL);
		return;
	}
	struct sip_digest_req dr = {
	        .alg = c->alg,
	        .qop = c->qop,
	        .nonce = c->cred.nonce,
	        .nc = c->cred.nc,
	        .cnonce = c->cred.cnonce,
	        .method = sip_msg_method_name(c->req),
	        .uri = c->cred.uri,
	        .body = sip_msg_body(c->req),
	};
	if (sip_digest_compute(&dr, ha1, want, sizeof(want)) < 0 ||
	    !sip_digest_hex_eq(sip_pl_cstr(want), c->cred.response)) {
		fail_limited(c->a, &c->src, true);
		finish(c, AUTH_FAILED, SIP_PL_NULL);
		return;
	}
	if (nonce_use(c->a->nonces, c->cred.nonce, c->cred.nc) != NONCE_OK) {
		finish(c, AUTH_STALE, SIP_PL_NULL);
		return;
	}
	finish(c, AUTH_OK, c->cred.username);
}

void auth_check(struct auth *a, const struct sip_msg *req, enum sip_hdr_id id, struct sip_pl realm,
                const struct tp_addr *src, auth_done_fn done, void *arg)
{
	struct check *c = calloc(1, sizeof(*c));
	int r;

	if (!c) {
		done(arg, AUTH_STORE, SIP_PL_NULL);
		return;
	}
	*c = (struct check){.a = a, .req = req, .src = *src, .done = done, .arg = arg};
	if ((r = find_credentials(req, id, realm, &c->cred)) != AUTH_OK) {
		finish(c, (enum auth_result)r, SIP_PL_NULL);
		return;
	}
	struct sip_auth *cr = &c->cred;
	if (!cr->username.len || !cr->nonce.p || !cr->uri.p || !cr->response.p) {
		finish(c, AUTH_BAD, SIP_PL_NULL);
		return;
	}
	/* An algorithm or qop we did not offer: challenge afresh. */
	if (sip_digest_alg_parse(cr->algorithm, &c->alg) < 0 ||
	    sip_digest_qop_parse(cr->qop, &c->qop) < 0) {
		finish(c, AUTH_NONE, SIP_PL_NULL);
		return;
	}
	switch (nonce_check(a->nonces, cr->nonce, realm, auth_now())) {
	case NONCE_OK: break;
	case NONCE_STALE: finish(c, AUTH_STALE, SIP_PL_NULL); return;
	default: finish(c, AUTH_NONE, SIP_PL_NULL); return;
	}
	if (!uri_matches(req, cr->uri)) {
		finish(c, AUTH_BAD, SIP_PL_NULL);
		return;
	}
	if (fail_limited(a, src, false)) {
		finish(c, AUTH_LIMITED, SIP_PL_NULL);
		return;
	}
	if (loc_user_get(a->store, cr->username, realm, on_user, c) < 0)
		finish(c, AUTH_STORE, SIP_PL_NULL);
}
