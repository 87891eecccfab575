/*
 * register.c — the registration client (RFC 3261 §10.2): binds our
 * Contact to --user at its domain's registrar (through --proxy when set),
 * answers 401/407 challenges, follows a 423's Min-Expires, refreshes at
 * about half the granted expiry (dlg_reg_refresh_ms) and removes the
 * binding with Expires: 0 on the way out. One Call-ID for all of them and
 * a CSeq that grows (§10.2.4), from one pre-dialog.
 */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "libsip/hdr.h"
#include "libsip/log.h"

enum reg_state { REG_PENDING, REG_OK, REG_FAILED, REG_DONE };

struct reg_client {
	struct app *app;
	struct dlg dlg;
	char registrar[DLG_URI_MAX], contact_uri[DLG_URI_MAX];
	enum reg_state state;
	int status;
	uint32_t asked;
	uint64_t refresh_at;
	unsigned auth_tries;
	bool unregistering, announced;
	struct ua_targets hops; /* where the last REGISTER went, and what is left */
};

static void on_reg_resp(struct tsx *ct, const struct sip_msg *resp, int status, void *arg);

static void send_to(struct reg_client *r, const struct tsx_peer *to)
{
	struct app *a = r->app;
	char buf[8192], via[256], exp[32];
	const char *contact = app_contact(a, to->proto);
	struct dlg_req q = {.method = "REGISTER", .via = via, .contact = contact};
	struct sip_wbuf w;
	size_t cl = strlen(contact);
	int n;

	/* The Contact's URI without its angle brackets, to find it in the 200. */
	snprintf(r->contact_uri, sizeof(r->contact_uri), "%.*s", (int)(cl - 2), contact + 1);
	ua_via(&a->ua, to->proto, via, sizeof(via));
	sip_wbuf_init(&w, buf, sizeof(buf));
	dlg_request(&r->dlg, &w, &q);
	snprintf(exp, sizeof(exp), "%u", r->unregistering ? 0 : r->asked);
	sip_build_hdr(&w, SIP_HDR_EXPIRES, sip_pl_cstr(exp));
	/* After a first challenge, refreshes answer it at once with the next
	 * nc (RFC 7616 §3.4: nonce-count lets a nonce serve several requests);
	 * a stale or refused nonce is challenged again and retried. */
	if (r->auth_tries || (r->announced && a->auth.nch))
		dlg_auth_write(&a->auth, &w, "REGISTER", sip_pl_cstr(r->registrar));
	sip_build_hdr(&w, SIP_HDR_USER_AGENT, SIP_PL("sipua/" UA_VERSION));
	if ((n = sip_build_finish(&w, SIP_PL_NULL, SIP_PL_NULL)) < 0 ||
	    tsx_client_new(a->ua.tsx, NULL, buf, (size_t)n, to, on_reg_resp, r) < 0)
		on_reg_resp(NULL, NULL, 503, r);
}

static void on_located(void *arg, int err, const struct ua_targets *ts)
{
	struct reg_client *r = arg;

	pthread_mutex_lock(&r->app->mu);
	if (err < 0) {
		ev_error(r->app, "registrar %s: %s", r->registrar, ua_err_name(err));
		r->hops.n = 0;
		on_reg_resp(NULL, NULL, err == SIP_ERR_NOT_FOUND ? 404 : 503, r);
	} else {
		r->hops = *ts;
		send_to(r, &r->hops.t[0]);
	}
	pthread_mutex_unlock(&r->app->mu);
}

/* A new registration transaction: a fresh lookup (the answer is cached by
 * the resolver for its TTL). */
static void locate(struct reg_client *r)
{
	const char *uri = r->app->cfg->proxy ? r->app->cfg->proxy : r->registrar;
	int err;

	r->refresh_at = 0;
	if ((err = ua_locate(&r->app->ua, sip_pl_cstr(uri), on_located, r)) < 0)
		on_located(r, err, NULL);
}

/* The same REGISTER again (with credentials, or a longer expiry): where
 * the last one went. */
static void resend(struct reg_client *r)
{
	if (r->hops.n)
		send_to(r, &r->hops.t[r->hops.cur]);
	else
		locate(r);
}

static void registered(struct reg_client *r, const struct sip_msg *resp)
{
	uint32_t granted = dlg_reg_granted(resp, sip_pl_cstr(r->contact_uri), r->asked);
	struct ev e;

	r->state = REG_OK;
	r->refresh_at = tp_now_ms() + dlg_reg_refresh_ms(granted);
	if (r->announced)
		return;
	r->announced = true;
	r->app->registered_once = true;
	ev_begin(&e, r->app, "registered");
	ev_str(&e, "aor", r->app->aor);
	char contact[DLG_URI_MAX + 2];
	snprintf(contact, sizeof(contact), "<%s>", r->contact_uri);
	ev_str(&e, "contact", contact);
	ev_int(&e, "expires", granted);
	ev_end(&e);
}

/* 423 Interval Too Brief: ask again for at least Min-Expires (§10.2.8). */
static bool retry_longer(struct reg_client *r, const struct sip_msg *resp)
{
	const struct sip_hdr *h = sip_msg_hdr(resp, SIP_HDR_MIN_EXPIRES);
	uint32_t min;

	if (!h || sip_hdr_u32(h->value, UINT32_MAX, &min) < 0 || min <= r->asked)
		return false;
	r->asked = min;
	return true;
}

static void failed(struct reg_client *r, int status)
{
	struct ev e;

	r->status = status;
	ev_begin(&e, r->app, "register_failed");
	ev_str(&e, "aor", r->app->aor);
	ev_int(&e, "status", status);
	ev_end(&e);
	if (r->announced) { /* a refresh failed: keep trying while we run */
		r->refresh_at = tp_now_ms() + 30000;
		r->hops.n = 0; /* with a fresh lookup */
		return;
	}
	r->state = REG_FAILED;
}

static void final(struct reg_client *r, const struct sip_msg *resp, int status)
{
	struct ev e;

	if (resp && (status == 401 || status == 407) && r->auth_tries < 2 &&
	    dlg_auth_update(&r->app->auth, resp) == 0) {
		r->auth_tries++;
		resend(r);
		return;
	}
	if (!resp && (status == 503 || status == 408) && r->hops.cur + 1 < r->hops.n) {
		r->hops.cur++; /* RFC 3263 §4.3: the next target */
		send_to(r, &r->hops.t[r->hops.cur]);
		return;
	}
	r->auth_tries = 0;
	if (r->unregistering) {
		r->state = REG_DONE;
		ev_begin(&e, r->app, "unregistered");
		ev_str(&e, "aor", r->app->aor);
		ev_end(&e);
	} else if (status >= 200 && status < 300) {
		registered(r, resp);
	} else if (status == 423 && resp && retry_longer(r, resp)) {
		resend(r);
	} else {
		failed(r, status);
	}
}

static void on_reg_resp(struct tsx *ct, const struct sip_msg *resp, int status, void *arg)
{
	struct reg_client *r = arg;

	(void)ct;
	if (status < 200) /* provisional, or the transaction's end */
		return;
	pthread_mutex_lock(&r->app->mu);
	final(r, resp, status);
	pthread_mutex_unlock(&r->app->mu);
}

/* The registrar of an AOR: its domain (§10.2: the Request-URI names the
 * domain of the location service, without user). */
static int registrar_of(const char *aor, char *out, size_t cap)
{
	struct sip_uri u;
	bool v6;

	if (sip_uri_parse(&u, sip_pl_cstr(aor)) < 0 ||
	    (u.scheme != SIP_SCHEME_SIP && u.scheme != SIP_SCHEME_SIPS) || !u.host.len)
		return SIP_ERR_URI;
	v6 = u.host_type == SIP_HOST_IPV6;
	const char *scheme = u.scheme == SIP_SCHEME_SIPS ? "sips" : "sip";
	if (u.port)
		snprintf(out, cap, "%s:%s%.*s%s:%u", scheme, v6 ? "[" : "", (int)u.host.len,
		         u.host.p, v6 ? "]" : "", u.port);
	else
		snprintf(out, cap, "%s:%s%.*s%s", scheme, v6 ? "[" : "", (int)u.host.len, u.host.p,
		         v6 ? "]" : "");
	return 0;
}

int reg_start(struct app *a)
{
	struct reg_client *r = calloc(1, sizeof(*r));
	char cid[80], tag[17];

	if (!r)
		return SIP_ERR_NOMEM;
	a->reg = r;
	r->app = a;
	r->asked = a->cfg->expires;
	if (registrar_of(a->aor, r->registrar, sizeof(r->registrar)) < 0) {
		ev_error(a, "--user %s is not a sip: URI with a domain", a->aor);
		r->state = REG_FAILED;
		return SIP_ERR_URI;
	}
	ua_random_hex(cid, 32);
	strcat(cid, "@");
	strcat(cid, a->local_ip);
	ua_random_hex(tag, 16);
	dlg_uac_init(&r->dlg, a->aor, a->aor, cid, tag);
	snprintf(r->dlg.remote_target, sizeof(r->dlg.remote_target), "%s", r->registrar);
	locate(r);
	return 0;
}

void reg_stop(struct app *a)
{
	struct reg_client *r = a->reg;

	if (!r || r->unregistering)
		return;
	if (r->state != REG_OK) {
		r->state = REG_DONE; /* nothing bound (or it failed): nothing to remove */
		return;
	}
	r->unregistering = true;
	r->auth_tries = 0;
	resend(r);
}

int reg_state(struct app *a, int *status)
{
	struct reg_client *r = a->reg;

	if (!r)
		return 2;
	*status = r->status;
	switch (r->state) {
	case REG_PENDING: return 0;
	case REG_OK: return r->unregistering ? 0 : 1;
	case REG_FAILED: return -1;
	case REG_DONE: return 2;
	}
	return -1;
}

void reg_tick(struct app *a, uint64_t now)
{
	struct reg_client *r = a->reg;

	if (r && !r->unregistering && r->refresh_at && now >= r->refresh_at) {
		r->refresh_at = 0;
		resend(r); /* the registrar that answered, not the first of a lookup */
	}
}

void reg_free(struct app *a)
{
	free(a->reg);
	a->reg = NULL;
}
