/*
 * api.c — the admin HTTP API: /metrics (Prometheus text), and JSON under
 * /api — stats, registrations (?aor=; DELETE ?aor=[&contact=] removes
 * them, as `sipctl reg remove`), calls (?active=1) and one call's
 * messages, users (the operations of `sipctl user`: list, add, change the
 * password, delete; HA1 per algorithm, never the password). Runs on the
 * HTTP server's threads; store calls that complete by callback are
 * waited for here, never on a SIP worker.
 */
#include <ctype.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "http.h"
#include "json.h"
#include "libsip/digest.h"
#include "libsip/uri.h"
#include "sipd.h"
#include "trace.h"

#define NAME_LEN 256
#define PASS_LEN 256
#define JSON_TYPE "application/json"

static void reply(struct api_resp *r, int status, struct jbuf *b)
{
	r->status = status;
	r->type = JSON_TYPE;
	r->body = jb_take(b, &r->len);
}

static void reply_error(struct api_resp *r, int status, const char *msg)
{
	struct jbuf b = {0};

	jb_put(&b, "{\"error\":", 9);
	jb_cstr(&b, msg);
	jb_put(&b, "}", 1);
	reply(r, status, &b);
}

static bool is_get(const struct api_req *q)
{
	return !strcmp(q->method, "GET") || !strcmp(q->method, "HEAD");
}

static void not_allowed(struct api_resp *r, const char *allow)
{
	reply_error(r, 405, "method not allowed");
	r->allow = allow;
}

/* ---- waiting for a store callback --------------------------------------------- */

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int err;
	struct jbuf *b; /* where a lookup writes */
	int64_t now;
};

static void waiter_init(struct waiter *w, struct jbuf *b, int64_t now)
{
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->done = false;
	w->err = 0;
	w->b = b;
	w->now = now;
}

static void waiter_signal(struct waiter *w, int err)
{
	pthread_mutex_lock(&w->mu);
	w->err = err;
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static int waiter_wait(struct waiter *w)
{
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	return w->err;
}

/* ---- registrations --------------------------------------------------------------------- */

/* Bindings listed at most: a big store is looked at by AOR (?aor=), not
 * copied whole once a second. */
#define LIST_MAX 2000

struct bind_list {
	struct jbuf *b;
	int64_t now;
	size_t n;
};

static void pl_member(struct jbuf *b, const char *key, struct sip_pl v)
{
	jb_printf(b, ",\"%s\":", key);
	jb_str(b, v.p ? v.p : "", v.len);
}

static int list_bindings(void *arg, struct sip_pl aor, const struct loc_binding *b, size_t n)
{
	struct bind_list *l = arg;

	for (size_t i = 0; i < n; i++) {
		if (l->n++)
			jb_put(l->b, ",", 1);
		jb_put(l->b, "{\"aor\":", 7);
		jb_str(l->b, aor.p, aor.len);
		pl_member(l->b, "contact", b[i].uri);
		jb_printf(l->b, ",\"expires\":%lld,\"expires_at\":%lld,\"updated\":%lld,\"q\":",
		          (long long)(b[i].expires - l->now), (long long)b[i].expires,
		          (long long)b[i].updated);
		if (b[i].q >= 0)
			jb_printf(l->b, "%d.%03d", b[i].q / 1000, b[i].q % 1000);
		else
			jb_put(l->b, "null", 4);
		pl_member(l->b, "received", b[i].received);
		pl_member(l->b, "user_agent", b[i].user_agent);
		pl_member(l->b, "instance", b[i].instance);
		pl_member(l->b, "path", b[i].path);
		pl_member(l->b, "call_id", b[i].call_id);
		jb_printf(l->b, ",\"cseq\":%u}", b[i].cseq);
	}
	return l->n >= LIST_MAX; /* non-zero stops the walk */
}

static void on_lookup(void *arg, int err, const struct loc_binding *b, size_t n)
{
	struct waiter *w = arg;
	struct bind_list l = {w->b, w->now, 0};

	if (!err && n)
		list_bindings(&l, b[0].aor, b, n);
	waiter_signal(w, err == SIP_ERR_NOT_FOUND ? 0 : err);
}

/* ?aor= as the registrar keys it: "bob@example.com", "sip:bob@example.com". */
static void registrations(struct sipd *s, const struct api_req *q, struct api_resp *r)
{
	struct jbuf b = {0};
	int64_t now = auth_now();
	int err;

	jb_put(&b, "[", 1);
	if (q->aor && *q->aor) {
		char text[NAME_LEN + 8], key[NAME_LEN + 8];
		struct sip_uri uri;
		snprintf(text, sizeof(text), "%s%s", strncmp(q->aor, "sip", 3) ? "sip:" : "",
		         q->aor);
		if (sip_uri_parse(&uri, sip_pl_cstr(text)) < 0 ||
		    loc_aor(&uri, key, sizeof(key)) < 0) {
			jb_free(&b);
			reply_error(r, 400, "aor is not an address-of-record");
			return;
		}
		struct waiter w;
		waiter_init(&w, &b, now);
		if ((err = loc_lookup(s->loc, sip_pl_cstr(key), now, on_lookup, &w)) < 0)
			waiter_signal(&w, err);
		err = waiter_wait(&w);
	} else {
		struct bind_list l = {&b, now, 0};
		err = loc_iterate(s->loc, now, list_bindings, &l);
		r->truncated = err > 0;
	}
	if (err < 0) {
		jb_free(&b);
		reply_error(r, 503, loc_err_name(err));
		return;
	}
	jb_put(&b, "]", 1);
	reply(r, 200, &b);
}

/* The registrar's key of ?aor=, or false. */
static bool aor_key(const char *arg, char *key, size_t cap)
{
	char text[NAME_LEN + 8];
	struct sip_uri uri;

	snprintf(text, sizeof(text), "%s%s", strncmp(arg, "sip", 3) ? "sip:" : "", arg);
	return sip_uri_parse(&uri, sip_pl_cstr(text)) == 0 && loc_aor(&uri, key, cap) >= 0;
}

/* DELETE ?aor=[&contact=URI]: the AOR's bindings, or the one binding
 * whose contact is URI (compared as the registrar does, §19.1.4). Through
 * sipd, so its memory and the store stay one. */
static void remove_registrations(struct sipd *s, const struct api_req *q, struct api_resp *r)
{
	char key[NAME_LEN + 8];
	struct jbuf b = {0};
	int err;

	if (!q->aor || !*q->aor || !aor_key(q->aor, key, sizeof(key))) {
		reply_error(r, 400, "aor= is missing or not an address-of-record");
		return;
	}
	if (q->contact && *q->contact)
		err = loc_remove(s->loc, sip_pl_cstr(key), sip_pl_cstr(q->contact));
	else
		err = loc_remove_all(s->loc, sip_pl_cstr(key));
	if (err == SIP_ERR_NOT_FOUND) {
		reply_error(r, 404, "no such binding");
		return;
	}
	if (err < 0) {
		reply_error(r, 503, loc_err_name(err));
		return;
	}
	jb_put(&b, "{\"removed\":", 12);
	jb_cstr(&b, key);
	jb_put(&b, "}", 1);
	reply(r, 200, &b);
}

/* ---- users ------------------------------------------------------------------------------ */

/* "alice@Example.com" → "alice", "example.com" (the realm is the
 * lower-cased domain, as sipctl stores it); "alice" alone takes the
 * server's first domain. */
static bool split_user(struct sipd *s, const char *arg, char *user, char *domain)
{
	const struct sipd_cfg *cfg = s->cfg;
	const char *at, *dom;
	size_t ulen;

	if (!strncmp(arg, "sip:", 4))
		arg += 4;
	at = strrchr(arg, '@');
	if (at) {
		ulen = (size_t)(at - arg);
		dom = at + 1;
	} else {
		ulen = strlen(arg);
		dom = cfg->ndomains ? cfg->domains[0] : "";
	}
	if (!ulen || ulen >= NAME_LEN || !*dom || strlen(dom) >= NAME_LEN)
		return false;
	for (size_t i = 0; i < ulen; i++)
		if ((unsigned char)arg[i] < 0x21 || arg[i] == ':' || arg[i] == '/')
			return false;
	memcpy(user, arg, ulen);
	user[ulen] = '\0';
	size_t i = 0;
	for (; dom[i]; i++)
		domain[i] = (char)tolower((unsigned char)dom[i]);
	domain[i] = '\0';
	return true;
}

static int list_user(void *arg, const struct loc_user *u)
{
	struct bind_list *l = arg;

	if (l->n++)
		jb_put(l->b, ",", 1);
	jb_put(l->b, "{\"user\":", 8);
	jb_str(l->b, u->user.p, u->user.len);
	jb_put(l->b, ",\"domain\":", 10);
	jb_str(l->b, u->domain.p, u->domain.len);
	char aor[2 * NAME_LEN + 8];
	int n = snprintf(aor, sizeof(aor), "sip:%.*s@%.*s", (int)u->user.len, u->user.p,
	                 (int)u->domain.len, u->domain.p);
	jb_put(l->b, ",\"aor\":", 7);
	jb_str(l->b, aor, n < 0 ? 0 : (size_t)n < sizeof(aor) ? (size_t)n : sizeof(aor) - 1);
	jb_printf(l->b, ",\"algorithms\":[%s%s%s]}", u->ha1_md5.len ? "\"MD5\"" : "",
	          u->ha1_md5.len && u->ha1_sha256.len ? "," : "",
	          u->ha1_sha256.len ? "\"SHA-256\"" : "");
	return 0;
}

static void on_user(void *arg, int err, const struct loc_user *u)
{
	(void)u;
	waiter_signal(arg, err);
}

static int user_exists(struct sipd *s, const char *user, const char *domain)
{
	struct waiter w;
	int err;

	waiter_init(&w, NULL, 0);
	if ((err = loc_user_get(s->loc, sip_pl_cstr(user), sip_pl_cstr(domain), on_user, &w)) < 0)
		waiter_signal(&w, err);
	return waiter_wait(&w);
}

/* Stores the HA1 of every algorithm, as `sipctl user add` does. */
static int put_user(struct sipd *s, const char *user, const char *domain, const char *pass)
{
	char md5[SIP_DIGEST_HEX_MAX], sha256[SIP_DIGEST_HEX_MAX], sha512[SIP_DIGEST_HEX_MAX];
	struct sip_pl u = sip_pl_cstr(user), d = sip_pl_cstr(domain), p = sip_pl_cstr(pass);

	if (sip_digest_ha1(SIP_DIGEST_MD5, u, d, p, md5, sizeof(md5)) < 0 ||
	    sip_digest_ha1(SIP_DIGEST_SHA256, u, d, p, sha256, sizeof(sha256)) < 0 ||
	    sip_digest_ha1(SIP_DIGEST_SHA512_256, u, d, p, sha512, sizeof(sha512)) < 0)
		return SIP_ERR_UNSUPPORTED;
	struct loc_user lu = {u, d, sip_pl_cstr(md5), sip_pl_cstr(sha256), sip_pl_cstr(sha512)};
	return loc_user_put(s->loc, &lu);
}

/* POST /api/users {user, password}: a new user (409 when it exists);
 * PUT /api/users/NAME {password}: a new password (404 when absent). */
static void user_set(struct sipd *s, const struct api_req *q, const char *name, struct api_resp *r)
{
	char who[NAME_LEN * 2], user[NAME_LEN], domain[NAME_LEN], pass[PASS_LEN];
	bool add = name == NULL;
	int err;

	if (add && json_get_str(q->body, q->body_len, "user", who, sizeof(who)) < 0) {
		reply_error(r, 400, "expected {\"user\": \"USER@DOMAIN\", \"password\": \"...\"}");
		return;
	}
	if (!add)
		snprintf(who, sizeof(who), "%s", name);
	if (json_get_str(q->body, q->body_len, "password", pass, sizeof(pass)) <= 0) {
		reply_error(r, 400, "a non-empty password is required");
		return;
	}
	if (!split_user(s, who, user, domain)) {
		OPENSSL_cleanse(pass, sizeof(pass));
		reply_error(r, 400, "user is not USER@DOMAIN");
		return;
	}
	err = user_exists(s, user, domain);
	if (add && err == 0)
		reply_error(r, 409, "the user exists");
	else if (!add && err == SIP_ERR_NOT_FOUND)
		reply_error(r, 404, "no such user");
	else if (err < 0 && err != SIP_ERR_NOT_FOUND)
		reply_error(r, 503, loc_err_name(err));
	else if ((err = put_user(s, user, domain, pass)) < 0)
		reply_error(r, 503, loc_err_name(err));
	else {
		struct jbuf b = {0};
		char aor[NAME_LEN * 2 + 8];
		snprintf(aor, sizeof(aor), "%s@%s", user, domain);
		jb_put(&b, "{\"user\":", 8);
		jb_cstr(&b, aor);
		jb_put(&b, "}", 1);
		reply(r, add ? 201 : 200, &b);
	}
	OPENSSL_cleanse(pass, sizeof(pass));
}

static void user_del(struct sipd *s, const char *name, struct api_resp *r)
{
	char user[NAME_LEN], domain[NAME_LEN];
	int err;

	if (!split_user(s, name, user, domain)) {
		reply_error(r, 400, "user is not USER@DOMAIN");
		return;
	}
	if ((err = loc_user_del(s->loc, sip_pl_cstr(user), sip_pl_cstr(domain))) < 0) {
		reply_error(r, err == SIP_ERR_NOT_FOUND ? 404 : 503,
		            err == SIP_ERR_NOT_FOUND ? "no such user" : loc_err_name(err));
		return;
	}
	struct jbuf b = {0};
	char aor[NAME_LEN * 2 + 8];
	snprintf(aor, sizeof(aor), "%s@%s", user, domain);
	jb_put(&b, "{\"deleted\":", 11);
	jb_cstr(&b, aor);
	jb_put(&b, "}", 1);
	reply(r, 200, &b);
}

static void users(struct sipd *s, const struct api_req *q, const char *name, struct api_resp *r)
{
	if (!name && is_get(q)) {
		struct jbuf b = {0};
		struct bind_list l = {&b, 0, 0};
		jb_put(&b, "[", 1);
		int err = loc_user_iterate(s->loc, list_user, &l);
		if (err < 0) {
			jb_free(&b);
			reply_error(r, 503, loc_err_name(err));
			return;
		}
		jb_put(&b, "]", 1);
		reply(r, 200, &b);
	} else if (!name && !strcmp(q->method, "POST")) {
		user_set(s, q, NULL, r);
	} else if (name && !strcmp(q->method, "PUT")) {
		user_set(s, q, name, r);
	} else if (name && !strcmp(q->method, "DELETE")) {
		user_del(s, name, r);
	} else {
		not_allowed(r, name ? "PUT, DELETE" : "GET, POST");
	}
}

/* ---- calls, stats, metrics --------------------------------------------------------------- */

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void calls(struct sipd *s, const struct api_req *q, const char *rest, struct api_resp *r)
{
	struct jbuf b = {0};
	size_t n = rest ? strlen(rest) : 0;

	if (!s->trace) {
		reply_error(r, 503, "no call trace");
		return;
	}
	if (!rest) {
		trace_calls_json(s->trace, q->active_only, wall_us(), &b);
		reply(r, 200, &b);
		return;
	}
	/* ID/messages: the Call-ID may itself hold '/', so the suffix is
	 * matched from the end. */
	if (n <= 9 || strcmp(rest + n - 9, "/messages") != 0) {
		reply_error(r, 404, "not found");
		return;
	}
	if (trace_messages_json(s->trace, sip_pl(rest, n - 9), &b) < 0) {
		jb_free(&b);
		reply_error(r, 404, "no such call in the trace");
		return;
	}
	reply(r, 200, &b);
}

static void stats(struct sipd *s, bool prometheus, struct api_resp *r)
{
	struct sipd_snapshot x;
	struct jbuf b = {0};

	sipd_snapshot(s, &x);
	if (prometheus)
		sipd_metrics_prometheus(&x, &b);
	else
		sipd_metrics_json(&x, &b);
	reply(r, 200, &b);
	if (prometheus)
		r->type = "text/plain; version=0.0.4; charset=utf-8";
}

bool sipd_api(struct sipd *s, const struct api_req *q, struct api_resp *r)
{
	const char *p = q->path;
	bool get = is_get(q);

	if (!strcmp(p, "/metrics") || !strcmp(p, "/api/stats")) {
		if (get)
			stats(s, p[1] == 'm', r);
		else
			not_allowed(r, "GET");
	} else if (!strcmp(p, "/api/registrations")) {
		if (get)
			registrations(s, q, r);
		else if (!strcmp(q->method, "DELETE"))
			remove_registrations(s, q, r);
		else
			not_allowed(r, "GET, DELETE");
	} else if (!strcmp(p, "/api/calls") || !strncmp(p, "/api/calls/", 11)) {
		if (get)
			calls(s, q, p[10] ? p + 11 : NULL, r);
		else
			not_allowed(r, "GET");
	} else if (!strcmp(p, "/api/users") || (!strncmp(p, "/api/users/", 11) && p[11])) {
		users(s, q, p[10] ? p + 11 : NULL, r);
	} else {
		return false;
	}
	return true;
}
