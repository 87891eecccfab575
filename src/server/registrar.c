/*
 * registrar.c — REGISTER processing (RFC 3261 §10.3) with Path (RFC 3327)
 * and the registrar part of outbound (RFC 5626 §6): check the domain,
 * authenticate, authorise the AOR, read the contacts and their expiries,
 * have the location store apply and commit the change, then answer with
 * every current binding. The store may complete later on its own thread;
 * the request state lives in a struct reg that holds a reference to the
 * server transaction until the answer is sent.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "libsip/hdr.h"
#include "libsip/log.h"
#include "libsip/uri.h"
#include "sipd.h"

#define MAX_REG_CONTACTS 32 /* Contact values in one REGISTER */
#define AOR_MAX 256
#define PARAMS_BUF 4096
#define PATH_BUF 2048

struct reg {
	struct sipd *s;
	struct tsx *st;            /* referenced */
	const struct sip_msg *req; /* the transaction's own copy */
	struct tp_addr src;
	const struct sip_uri *to;
	size_t aor_len; /* the key may hold an unescaped %00: never a C string */
	size_t ncontacts;
	size_t params_used;
	bool remove_all;
	bool outbound;  /* reg-id honoured: answer with Require: outbound */
	bool want_path; /* Supported: path — the 200 echoes Path */
	/* Buffers, filled before they are read: not cleared (a REGISTER
	 * would otherwise pay for zeroing some 10 KiB). */
	char aor[AOR_MAX];
	char realm[AOR_MAX]; /* the AOR's domain, lower-cased: the digest realm */
	struct loc_contact contacts[MAX_REG_CONTACTS];
	char params[PARAMS_BUF];
	char path[PATH_BUF];
	char received[80];
	uint64_t update_us; /* when loc_update was called (0: a lookup) */
};

static void reg_free(struct reg *r)
{
	tsx_unref(r->st);
	free(r);
}

/* Answers and ends the request. */
static void reg_reply(struct reg *r, int status, const char *reason, const struct sipd_extra *extra,
                      size_t nextra)
{
	sipd_reply(r->s, r->st, r->req, status, reason, extra, nextra);
	reg_free(r);
}

static void reg_reply_retry(struct reg *r, int status, const char *reason, unsigned secs)
{
	char v[16];
	struct sipd_extra ra = {"Retry-After", SIP_PL_NULL};

	snprintf(v, sizeof(v), "%u", secs);
	ra.value = sip_pl_cstr(v);
	reg_reply(r, status, reason, &ra, 1);
}

/* ---- the answer ------------------------------------------------------------ */

/* "Sat, 13 Nov 2010 23:29:00 GMT" (RFC 1123, §20.17). */
static void http_date(char *buf, size_t cap, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* One Contact value: <uri>;expires=N[;q=0.xyz][;other params]. */
static int print_contact(char *buf, size_t cap, const struct loc_binding *b, int64_t now)
{
	int64_t left = b->expires > now ? b->expires - now : 0;
	int n = snprintf(buf, cap, "<%.*s>;expires=%lld", (int)b->uri.len, b->uri.p,
	                 (long long)left);

	if (n < 0 || (size_t)n >= cap)
		return SIP_ERR_NOSPACE;
	if (b->q >= 0) {
		int m = snprintf(buf + n, cap - (size_t)n, ";q=%d.%03d", b->q / 1000, b->q % 1000);
		if (m < 0 || (size_t)(n + m) >= cap)
			return SIP_ERR_NOSPACE;
		n += m;
	}
	if ((size_t)n + b->params.len >= cap)
		return SIP_ERR_NOSPACE;
	memcpy(buf + n, b->params.p, b->params.len);
	return n + (int)b->params.len;
}

/* 200 with every binding of the AOR (§10.3 step 8), a Date, and Path /
 * Require: outbound when they apply. */
static void reply_bindings(struct reg *r, const struct loc_binding *b, size_t n)
{
	struct sipd_extra extra[MAX_REG_CONTACTS + 8];
	char buf[6144], date[64];
	size_t ne = 0, used = 0;
	int64_t now = auth_now();

	for (size_t i = 0; i < n && ne < MAX_REG_CONTACTS; i++) {
		int len = print_contact(buf + used, sizeof(buf) - used, &b[i], now);
		if (len < 0) {
			sip_log(SIP_LOG_WARN,
			        "registrar: %.*s has more bindings than fit in a response",
			        (int)r->aor_len, r->aor);
			break;
		}
		extra[ne++] = (struct sipd_extra){"Contact", sip_pl(buf + used, (size_t)len)};
		used += (size_t)len;
	}
	if (r->want_path) {
		const struct sip_hdr *h;
		size_t pos = 0;
		while ((h = sip_msg_hdr_next(r->req, SIP_HDR_PATH, &pos)) &&
		       ne < MAX_REG_CONTACTS + 4)
			extra[ne++] = (struct sipd_extra){"Path", h->value};
	}
	if (r->outbound)
		extra[ne++] = (struct sipd_extra){"Require", SIP_PL("outbound")};
	http_date(date, sizeof(date), (time_t)now);
	extra[ne++] = (struct sipd_extra){"Date", sip_pl_cstr(date)};
	reg_reply(r, 200, NULL, extra, ne);
}

static void on_stored(void *arg, int err, const struct loc_binding *b, size_t n)
{
	struct reg *r = arg;

	if (r->update_us)
		sipd_metrics_latency(&r->s->metrics, sipd_mono_us() - r->update_us);
	switch (err) {
	case 0: reply_bindings(r, b, n); return;
	case LOC_ERR_ORDER:
		/* §10.3 step 7: an older request must not undo a newer one. */
		reg_reply(r, 500, "Server Internal Error (CSeq Out of Order)", NULL, 0);
		return;
	case LOC_ERR_TOO_MANY: reg_reply(r, 403, "Forbidden (Too Many Contacts)", NULL, 0); return;
	default:
		sip_log(SIP_LOG_WARN, "registrar: store failed for %.*s: %s", (int)r->aor_len,
		        r->aor, loc_err_name(err));
		reg_reply_retry(r, 500, "Server Internal Error (Location Store Unavailable)", 5);
		return;
	}
}

/* ---- reading the request ----------------------------------------------------- */

/* Copies the Contact's params but expires and q (kept separately) into
 * the request's buffer. */
static int keep_params(struct reg *r, const struct sip_addr *a, struct sip_pl *out)
{
	struct sip_pl cur = a->params, name, value;
	char *start = r->params + r->params_used;
	size_t room = sizeof(r->params) - r->params_used, n = 0;
	int rc;

	while ((rc = sip_param_next(&cur, &name, &value)) > 0) {
		if (sip_pl_caseeq_str(name, "expires") || sip_pl_caseeq_str(name, "q"))
			continue;
		size_t need = 1 + name.len + (value.p ? 1 + value.len : 0);
		if (n + need > room)
			return SIP_ERR_NOSPACE;
		start[n++] = ';';
		memcpy(start + n, name.p, name.len);
		n += name.len;
		if (value.p) {
			start[n++] = '=';
			memcpy(start + n, value.p, value.len);
			n += value.len;
		}
	}
	if (rc < 0)
		return SIP_ERR_ADDR;
	*out = sip_pl(start, n);
	r->params_used += n;
	return 0;
}

/* Reads every Contact and its expiry; answers and returns false when the
 * request is refused. */
static bool read_contacts(struct reg *r)
{
	const struct sipd_cfg *cfg = r->s->cfg;
	const struct sip_hdr *eh = sip_msg_hdr(r->req, SIP_HDR_EXPIRES), *h;
	uint32_t hdr_exp = cfg->reg.default_expires;
	bool has_hdr_exp = false, star = false;
	size_t pos = 0, nvalues = 0;

	if (eh) {
		if (sip_hdr_u32(eh->value, UINT32_MAX, &hdr_exp) < 0) {
			reg_reply(r, 400, "Bad Request (Malformed Expires)", NULL, 0);
			return false;
		}
		has_hdr_exp = true;
	}
	while ((h = sip_msg_hdr_next(r->req, SIP_HDR_CONTACT, &pos))) {
		const struct sip_addr *a;
		struct loc_contact *c;
		uint32_t exp = hdr_exp;

		nvalues++;
		if (sip_msg_hdr_addr(r->req, h, &a) < 0) {
			reg_reply(r, 400, "Bad Request (Malformed Contact)", NULL, 0);
			return false;
		}
		if (a->star) {
			star = true;
			continue;
		}
		if (r->ncontacts == MAX_REG_CONTACTS) {
			reg_reply(r, 403, "Forbidden (Too Many Contacts)", NULL, 0);
			return false;
		}
		c = &r->contacts[r->ncontacts++];
		memset(c, 0, sizeof(*c));
		c->uri = a->uri;
		if (a->expires.p && sip_hdr_u32(a->expires, UINT32_MAX, &exp) < 0) {
			reg_reply(r, 400, "Bad Request (Malformed Contact expires)", NULL, 0);
			return false;
		}
		if ((c->q = sip_addr_q(a, -1)) < -1 || c->q > 1000) {
			reg_reply(r, 400, "Bad Request (Malformed Contact q)", NULL, 0);
			return false;
		}
		if (exp && exp < cfg->reg.min_expires) {
			char v[16];
			struct sipd_extra me = {"Min-Expires", SIP_PL_NULL};

			snprintf(v, sizeof(v), "%u", cfg->reg.min_expires);
			me.value = sip_pl_cstr(v);
			reg_reply(r, 423, NULL, &me, 1);
			return false;
		}
		c->expires = exp > cfg->reg.max_expires ? cfg->reg.max_expires : exp;
		c->instance = a->instance;
		if (a->reg_id.p && a->instance.p && r->outbound &&
		    (sip_hdr_u32(a->reg_id, UINT32_MAX, &c->reg_id) < 0 || c->reg_id == 0)) {
			reg_reply(r, 400, "Bad Request (Malformed reg-id)", NULL, 0);
			return false;
		}
		if (keep_params(r, a, &c->params) < 0) {
			reg_reply(r, 400, "Bad Request (Contact Parameters Too Long)", NULL, 0);
			return false;
		}
	}
	if (star) {
		/* §10.3 step 6: "*" only alone and with Expires: 0. */
		if (nvalues != 1 || !has_hdr_exp || hdr_exp != 0) {
			reg_reply(r, 400, "Bad Request (Invalid Contact: *)", NULL, 0);
			return false;
		}
		r->remove_all = true;
	}
	return true;
}

/* Path values joined with "," into r->path (RFC 3327 §5.3). */
static bool read_path(struct reg *r, struct sip_pl *out)
{
	const struct sip_hdr *h;
	size_t pos = 0, n = 0;

	while ((h = sip_msg_hdr_next(r->req, SIP_HDR_PATH, &pos))) {
		if (n + h->value.len + 1 > sizeof(r->path)) {
			reg_reply(r, 400, "Bad Request (Path Too Long)", NULL, 0);
			return false;
		}
		if (n)
			r->path[n++] = ',';
		memcpy(r->path + n, h->value.p, h->value.len);
		n += h->value.len;
	}
	*out = sip_pl(r->path, n);
	return true;
}

static void store_change(struct reg *r)
{
	const struct sip_hdr *ua = sip_msg_hdr(r->req, SIP_HDR_USER_AGENT);
	const struct sip_cseq *cseq = sip_msg_cseq(r->req);
	struct loc_update u = {
	        .aor = sip_pl(r->aor, r->aor_len),
	        .call_id = sip_msg_call_id(r->req),
	        .cseq = cseq ? cseq->num : 0,
	        .remove_all = r->remove_all,
	        .contacts = r->contacts,
	        .ncontacts = r->ncontacts,
	        .user_agent = ua ? ua->value : SIP_PL_NULL,
	        .now = auth_now(),
	};
	char host[64];
	int err;

	if (!read_path(r, &u.path))
		return;
	tp_addr_host(&r->src, host, sizeof(host));
	snprintf(r->received, sizeof(r->received), strchr(host, ':') ? "%s:[%s]:%u" : "%s:%s:%u",
	         tp_proto_name(tsx_peer(r->st)->proto), host, tp_addr_port(&r->src));
	for (char *p = r->received; *p && *p != ':'; p++)
		*p = (char)(*p | 0x20); /* "udp:", as in a URI transport */
	u.received = sip_pl_cstr(r->received);

	r->update_us = 0;
	if (!r->ncontacts && !r->remove_all) {
		err = loc_lookup(r->s->loc, u.aor, u.now, on_stored, r);
	} else {
		r->update_us = sipd_mono_us();
		err = loc_update(r->s->loc, &u, on_stored, r);
	}
	if (err < 0)
		on_stored(r, err, NULL, 0);
}

/* ---- authentication ---------------------------------------------------------------- */

static void challenge(struct reg *r, bool stale)
{
	char buf[1536];
	struct sip_pl v[AUTH_MAX_ALGS];
	struct sipd_extra extra[AUTH_MAX_ALGS];
	int n = auth_challenge(r->s->auth, sip_pl_cstr(r->realm), stale, buf, sizeof(buf), v);

	if (n < 0) {
		reg_reply(r, 500, NULL, NULL, 0);
		return;
	}
	for (int i = 0; i < n; i++)
		extra[i] = (struct sipd_extra){"WWW-Authenticate", v[i]};
	reg_reply(r, 401, NULL, extra, (size_t)n);
}

/* The authenticated user must own the AOR: its user part, in its realm
 * (the realm is the AOR's domain). */
static bool owns_aor(const struct reg *r, struct sip_pl user)
{
	char want[AOR_MAX];
	int n = sip_unescape(want, sizeof(want), r->to->user);

	return n >= 0 && sip_pl_eq(user, sip_pl(want, (size_t)n));
}

/* §10.3 steps 6–8 for an authorised request. */
static void bind_contacts(struct reg *r)
{
	/* RFC 5626 §6: reg-id counts only when the UA supports outbound; a
	 * registrar that is not the first hop needs an edge proxy's Path. */
	r->outbound = sip_msg_has_token(r->req, SIP_HDR_SUPPORTED, "outbound");
	if (!read_contacts(r))
		return;
	bool uses_regid = false;
	for (size_t i = 0; i < r->ncontacts; i++)
		uses_regid |= r->contacts[i].reg_id != 0;
	if (uses_regid && sip_msg_hdr_num(r->req, SIP_HDR_VIA) > 1 &&
	    !sip_msg_hdr(r->req, SIP_HDR_PATH)) {
		reg_reply(r, 439, "First Hop Lacks Outbound Support", NULL, 0);
		return;
	}
	r->outbound = uses_regid;
	store_change(r);
}

static void on_auth(void *arg, enum auth_result res, struct sip_pl user)
{
	struct reg *r = arg;

	if (res == AUTH_FAILED || res == AUTH_BAD || res == AUTH_LIMITED)
		sipd_auth_failed(r->s);
	switch (res) {
	case AUTH_OK:
		if (!owns_aor(r, user)) {
			reg_reply(r, 403, "Forbidden (Not Your Address-of-Record)", NULL, 0);
			return;
		}
		bind_contacts(r);
		return;
	case AUTH_NONE: challenge(r, false); return;
	case AUTH_STALE: challenge(r, true); return;
	case AUTH_FAILED: reg_reply(r, 403, "Forbidden (Bad Credentials)", NULL, 0); return;
	case AUTH_BAD: reg_reply(r, 400, "Bad Request (Malformed Credentials)", NULL, 0); return;
	case AUTH_LIMITED:
		reg_reply_retry(r, 503, "Service Unavailable (Too Many Failed Attempts)",
		                auth_retry_after(r->s->auth));
		return;
	case AUTH_STORE:
		reg_reply_retry(r, 500, "Server Internal Error (User Store Unavailable)", 5);
		return;
	}
}

/* ---- entry --------------------------------------------------------------------------- */

/* Option tags a registrar understands in Require (RFC 3327, RFC 5626). */
static bool require_ok(const struct sip_msg *req, struct sip_pl *bad)
{
	const struct sip_hdr *h;
	size_t pos = 0;

	while ((h = sip_msg_hdr_next(req, SIP_HDR_REQUIRE, &pos))) {
		if (!h->value.len || sip_pl_caseeq_str(h->value, "path") ||
		    sip_pl_caseeq_str(h->value, "outbound"))
			continue;
		*bad = h->value;
		return false;
	}
	return true;
}

void sipd_register(struct sipd *s, struct tsx *st, const struct tsx_peer *peer)
{
	struct reg *r = malloc(sizeof(*r));
	const struct sip_addr *to;
	struct sip_pl bad;

	if (!r) {
		sipd_reply(s, st, tsx_request(st), 500, NULL, NULL, 0);
		return;
	}
	memset(r, 0, offsetof(struct reg, aor));
	r->realm[0] = '\0';
	tsx_ref(st);
	r->s = s;
	r->st = st;
	r->req = tsx_request(st);
	r->src = peer->src;

	if (!require_ok(r->req, &bad)) {
		struct sipd_extra u = {"Unsupported", bad};
		reg_reply(r, 420, NULL, &u, 1);
		return;
	}
	int n;
	if (!(to = sip_msg_to(r->req)) || sip_msg_addr_uri(r->req, to, &r->to) < 0 ||
	    (n = loc_aor(r->to, r->aor, sizeof(r->aor))) < 0) {
		/* §10.3 step 5: the address-of-record must be a sip or sips URI. */
		reg_reply(r, 400, "Bad Request (Invalid To: Not a SIP Address)", NULL, 0);
		return;
	}
	r->aor_len = (size_t)n;
	if (!sipd_is_local_host(s, r->to)) {
		reg_reply(r, 403, "Forbidden (Not a Domain of This Server)", NULL, 0);
		return;
	}
	/* The realm is the AOR's domain, lower-cased like the AOR key. */
	for (size_t i = 0; i < r->to->host.len && i < sizeof(r->realm) - 1; i++)
		r->realm[i] = (char)tolower((unsigned char)r->to->host.p[i]),
		r->realm[i + 1] = '\0';
	if (!r->to->user.len) {
		reg_reply(r, 404, "Not Found (No User in To)", NULL, 0);
		return;
	}
	r->want_path = sip_msg_has_token(r->req, SIP_HDR_SUPPORTED, "path");
	/* §10.3: authentication (step 3) comes before the contacts are
	 * looked at (step 6), so a stranger learns nothing of the rules. */
	struct auth *auth = sipd_auth(s);
	if (auth)
		auth_check(auth, r->req, SIP_HDR_AUTHORIZATION, sip_pl_cstr(r->realm), &r->src,
		           on_auth, r);
	else
		bind_contacts(r);
}
