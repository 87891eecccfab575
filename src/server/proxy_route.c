/*
 * proxy_route.c — where a proxied request goes: route preprocessing
 * (RFC 3261 §16.4: our own Route entries, strict routers, TLS flows),
 * proxy authentication of local callers, and the targets (§16.5): the
 * bindings of a local AOR (or a 302 listing them in redirect mode), the
 * next Route, or another domain by RFC 3263; then the call begins.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "libsip/build.h"
#include "libsip/hdr.h"
#include "libsip/log.h"
#include "libsip/uri.h"
#include "resolve/resolve.h"
#include "sipd.h"

#include "proxy_priv.h"

/* The transport a URI asks for: a sips URI always TLS, whatever its
 * transport parameter says (RFC 3261 §26.2.2, RFC 5630 §3.1.3). */
static enum tp_proto uri_proto(const struct sip_uri *u)
{
	if (u->scheme == SIP_SCHEME_SIPS || sip_pl_caseeq_str(u->transport, "tls"))
		return TP_TLS;
	return sip_pl_caseeq_str(u->transport, "tcp") ? TP_TCP : TP_UDP;
}

/* Where a URI's request goes: its numeric host and port over its
 * transport (names need RFC 3263 resolution: SIP_ERR_UNSUPPORTED). */
int px_uri_dest(const struct sip_uri *u, struct tsx_peer *to)
{
	memset(to, 0, sizeof(*to));
	if ((u->scheme != SIP_SCHEME_SIP && u->scheme != SIP_SCHEME_SIPS) ||
	    u->host_type == SIP_HOST_DOMAIN || u->host_type == SIP_HOST_NONE)
		return SIP_ERR_UNSUPPORTED;
	to->proto = uri_proto(u);
	struct sip_pl host = u->maddr.len ? u->maddr : u->host;
	return tp_addr_from_host(&to->addr, host,
	                         u->port               ? u->port
	                         : to->proto == TP_TLS ? 5061
	                                               : 5060);
}

/* RFC 5626 §5.3 and RFC 5923: a binding registered over a connection that
 * is still open is reached over it (a UA behind NAT, or one that listens
 * for nothing, as TLS user agents without a certificate): TLS when its
 * Contact asks for TLS, TCP when it registered an outbound flow (reg-id).
 * The binding's received ("tls:IP:PORT") names the connection's peer. */
static void flow_dest(const struct sipd *s, const struct loc_binding *b, struct tsx_peer *to)
{
	char spec[96];
	enum tp_proto proto;
	struct tp_addr addr;

	if (b->path.len || b->received.len >= sizeof(spec))
		return; /* the first Path entry is the next hop instead */
	sip_pl_strcpy(spec, sizeof(spec), b->received);
	if (tp_listen_spec_parse(spec, &proto, &addr) < 0 || proto == TP_UDP)
		return;
	if (proto == TP_TLS ? to->proto != TP_TLS : (!b->reg_id || to->proto != TP_TCP))
		return;
	if (tp_conn_open(s->tp, proto, &addr)) {
		to->proto = proto;
		to->addr = addr;
	}
}

int px_pl_uri_dest(struct sip_pl text, struct tsx_peer *to)
{
	struct sip_uri u;
	struct sip_addr a;

	/* A Route/Path value is a name-addr; a Contact URI is bare. */
	if (text.len && text.p[0] != 's' && sip_addr_parse(&a, text) == 0)
		text = a.uri;
	if (sip_uri_parse(&u, text) < 0)
		return SIP_ERR_URI;
	return px_uri_dest(&u, to);
}

/* ---- targets -------------------------------------------------------------------------- */

/* Copies a slice into the call's arena. */
static struct sip_pl keep(struct pcall *pc, struct sip_pl v)
{
	struct sip_pl out = SIP_PL_NULL;

	if (v.len && sip_arena_dup(pc->arena, v, &out) < 0)
		return SIP_PL_NULL;
	return out;
}

/* Room for n targets (at most MAX_TARGETS), before any branch starts. */
static void reserve_targets(struct pcall *pc, size_t n)
{
	struct target *t;
	struct branch *br;

	if (n > MAX_TARGETS)
		n = MAX_TARGETS;
	if (n <= pc->cap || pc->nbr)
		return;
	t = sip_arena_alloc(pc->arena, n * sizeof(*t));
	br = sip_arena_alloc(pc->arena, n * sizeof(*br));
	if (!t || !br)
		return; /* out of memory: the first target is still tried */
	memcpy(t, pc->t, pc->nt * sizeof(*t));
	pc->t = t;
	pc->br = br;
	pc->cap = n;
}

static void on_found_user(void *arg, int err, const struct loc_user *u)
{
	struct pcall *pc = arg;

	(void)u;
	/* §16.5 / the issue: a user without bindings is 480, no user 404. */
	if (err == 0)
		sipd_reply(pc->s, pc->st, tsx_request(pc->st), 480, NULL, NULL, 0);
	else
		sipd_reply(pc->s, pc->st, tsx_request(pc->st), 404, NULL, NULL, 0);
	pcall_unref(pc);
}

/* Redirect mode: 302 listing the bindings, best q first, each with its
 * remaining time (§8.3, §21.3.3). */
static void redirect(struct pcall *pc, const struct loc_binding *b, size_t n)
{
	struct sipd_extra extra[MAX_TARGETS];
	char buf[8192];
	size_t used = 0, ne = 0;
	int64_t now = auth_now();

	for (size_t i = 0; i < n && ne < MAX_TARGETS; i++) {
		int64_t left = b[i].expires > now ? b[i].expires - now : 0;
		char q[16] = "";
		if (b[i].q >= 0)
			snprintf(q, sizeof(q), ";q=%d.%03d", b[i].q / 1000, b[i].q % 1000);
		int len = snprintf(buf + used, sizeof(buf) - used, "<%.*s>%s;expires=%lld",
		                   (int)b[i].uri.len, b[i].uri.p, q, (long long)left);
		if (len < 0 || (size_t)len >= sizeof(buf) - used)
			break;
		extra[ne++] = (struct sipd_extra){"Contact", sip_pl(buf + used, (size_t)len)};
		used += (size_t)len;
	}
	sipd_reply(pc->s, pc->st, tsx_request(pc->st), 302, NULL, extra, ne);
	pcall_unref(pc);
}

static void on_bindings(void *arg, int err, const struct loc_binding *b, size_t n)
{
	struct pcall *pc = arg;

	if (err) {
		sipd_reply(pc->s, pc->st, tsx_request(pc->st), 500,
		           "Server Internal Error (Location Store Unavailable)", NULL, 0);
		pcall_unref(pc);
		return;
	}
	if (n == 0) {
		const struct sip_uri *ru = sip_msg_ruri(pc->req);
		char user[256];
		int ul = sip_unescape(user, sizeof(user), ru->user);
		if (ul < 0 || loc_user_get(pc->s->loc, sip_pl(user, (size_t)ul),
		                           sip_pl_cstr(pc->realm), on_found_user, pc) < 0)
			on_found_user(pc, SIP_ERR_NOT_FOUND, NULL);
		return;
	}
	if (pc->s->cfg->redirect) {
		redirect(pc, b, n);
		return;
	}
	reserve_targets(pc, n);
	bool sips = px_sips(pc);
	for (size_t i = 0; i < n && pc->nt < pc->cap; i++) {
		struct target *t = &pc->t[pc->nt];
		struct sip_pl hop = b[i].uri;
		t->uri = keep(pc, b[i].uri);
		t->route = keep(pc, b[i].path);
		t->name = SIP_PL_NULL;
		t->q = b[i].q;
		if (t->route.len) {
			/* The first Path entry is the next hop (RFC 3327 §5.2). */
			const char *comma = memchr(t->route.p, ',', t->route.len);
			hop = sip_pl(t->route.p,
			             comma ? (size_t)(comma - t->route.p) : t->route.len);
		}
		if (!t->uri.len || px_pl_uri_dest(hop, &t->to) < 0)
			continue; /* unreachable without DNS: skip this binding */
		flow_dest(pc->s, &b[i], &t->to);
		if (sips && t->to.proto != TP_TLS)
			continue; /* never a sips request over UDP or TCP */
		pc->nt++;
	}
	pcall_begin(pc);
}

static void lowercase_host(char *out, size_t cap, struct sip_pl host)
{
	size_t n = host.len < cap - 1 ? host.len : cap - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)host.p[i]);
	out[n] = '\0';
}

/* Replaces the call's request by the result of edits on it (the old
 * copy, the edits' arena, goes: nothing else lives there yet). */
static bool reparse(struct pcall *pc, struct sip_edit *e)
{
	char *buf = malloc(FWD_MAX);
	int n;
	bool ok = buf && (n = sip_edit_print(e, buf, FWD_MAX)) > 0 &&
	          pcall_set_request(pc, buf, (size_t)n);

	free(buf);
	return ok;
}

static bool route_is_ours(struct pcall *pc, const struct sip_hdr *h, const struct sip_uri **out)
{
	const struct sip_addr *a;
	const struct sip_uri *u;

	if (sip_msg_hdr_addr(pc->req, h, &a) < 0 || sip_msg_addr_uri(pc->req, a, &u) < 0)
		return false;
	if (out)
		*out = u;
	return sipd_is_local_host(pc->s, u);
}

/* §16.4. A Request-URI that is one of our Record-Route URIs (ours, lr,
 * no user or a flow token) means a strict router sent this: the real
 * Request-URI is the last Route, which is removed. Then a top Route
 * naming us is removed.
 * Returns false when the request cannot be rewritten (answered 500). */
static bool route_preprocess(struct pcall *pc)
{
	const struct sip_uri *ru = sip_msg_ruri(pc->req);
	const struct sip_hdr *h, *last = NULL;
	struct sip_edit *e;
	size_t pos = 0;

	while ((h = sip_msg_hdr_next(pc->req, SIP_HDR_ROUTE, &pos)))
		last = h;
	struct tp_addr ftok;
	if (last && ru->lr && sipd_is_local_host(pc->s, ru) &&
	    (!ru->user.len || sipd_flow_decode(pc->s, ru->user, &ftok))) {
		const struct sip_addr *a;
		if (sip_msg_hdr_addr(pc->req, last, &a) < 0 || sip_edit_new(&e, pc->req) < 0 ||
		    sip_edit_ruri(e, a->uri) < 0 || sip_edit_hdr_remove(e, last) < 0 ||
		    !reparse(pc, e))
			return false;
		pc->our_route = true;
	}
	/* Our top Route goes; with the two entries of a transport change
	 * (RFC 5658) or of a TLS side the next is ours too and goes as well:
	 * the last one faces the next hop and may name its flow. */
	for (int i = 0; i < 2; i++) {
		const struct sip_uri *u;
		h = sip_msg_hdr(pc->req, SIP_HDR_ROUTE);
		if (!h || !route_is_ours(pc, h, &u))
			break;
		pc->has_flow = u->user.len && sipd_flow_decode(pc->s, u->user, &pc->flow);
		if (sip_edit_new(&e, pc->req) < 0 || sip_edit_route_pop(e) < 0 || !reparse(pc, e))
			return false;
		pc->our_route = true;
	}
	return true;
}

static void challenge(struct pcall *pc, bool stale)
{
	char buf[1536];
	struct sip_pl v[AUTH_MAX_ALGS];
	struct sipd_extra extra[AUTH_MAX_ALGS];
	int n = auth_challenge(pc->s->auth, sip_pl_cstr(pc->realm), stale, buf, sizeof(buf), v);

	for (int i = 0; i < n; i++)
		extra[i] = (struct sipd_extra){"Proxy-Authenticate", v[i]};
	sipd_reply(pc->s, pc->st, tsx_request(pc->st), n < 0 ? 500 : 407, NULL, extra,
	           n < 0 ? 0 : (size_t)n);
}

static void route(struct pcall *pc);

/* An in-dialog request whose Route named a TLS flow of ours goes down
 * that connection while it is open, whatever the Request-URI's address:
 * the user agent at its end may listen for nothing. */
static void flow_hop(const struct pcall *pc, struct tsx_peer *to)
{
	if (pc->has_flow && to->proto == TP_TLS && tp_conn_open(pc->s->tp, TP_TLS, &pc->flow))
		to->addr = pc->flow;
}

/* RFC 3263 answered for the call's one target (pc->t[pc->nt], prepared):
 * the first server found is used. */
static void on_resolved(void *arg, int err, const struct rs_target *t, size_t n)
{
	struct pcall *pc = arg;

	if (err || !n) {
		sip_log(SIP_LOG_INFO, "proxy: RFC 3263 lookup failed: %s",
		        err == SIP_ERR_NOT_FOUND ? "no such domain or address" : "DNS failure");
		sipd_reply(pc->s, pc->st, tsx_request(pc->st), err == SIP_ERR_NOT_FOUND ? 404 : 503,
		           err == SIP_ERR_NOT_FOUND ? "Not Found (Unresolvable Destination)"
		                                    : "Service Unavailable (DNS Failure)",
		           NULL, 0);
		pcall_unref(pc);
		return;
	}
	struct target *tg = &pc->t[pc->nt];
	memset(&tg->to, 0, sizeof(tg->to));
	if (px_sips(pc) && t[0].proto != TP_TLS) {
		pcall_begin(pc); /* no TLS path: 480 */
		return;
	}
	pc->nt++;
	tg->to.proto = t[0].proto;
	tg->to.addr = t[0].addr;
	pcall_begin(pc);
}

/* The call's single next hop is uri (a Route or a foreign Request-URI):
 * numeric at once, a host name through DNS. */
static void single_target(struct pcall *pc, const struct sip_uri *uri)
{
	struct target *t = &pc->t[pc->nt];

	t->q = -1;
	t->name = SIP_PL_NULL;
	if (px_uri_dest(uri, &t->to) == 0) {
		flow_hop(pc, &t->to);
		/* A sips request along a Route that is not TLS: no TLS path. */
		if (t->to.proto == TP_TLS || !px_sips(pc))
			pc->nt++;
		pcall_begin(pc);
		return;
	}
	/* RFC 5922 §4.1: a TLS server found through DNS proves the domain
	 * the request was for, not the SRV target's name. */
	t->name = keep(pc, uri->host);
	int err = rs_resolve(pc->s->dns, uri, on_resolved, pc);
	if (err < 0) {
		sipd_reply(pc->s, pc->st, tsx_request(pc->st),
		           err == SIP_ERR_UNSUPPORTED || err == SIP_ERR_SCHEME ? 416 : 503, NULL,
		           NULL, 0);
		pcall_unref(pc);
	}
}

static void on_caller_auth(void *arg, enum auth_result res, struct sip_pl user)
{
	struct pcall *pc = arg;
	const struct sip_addr *from = sip_msg_from(pc->req);
	const struct sip_uri *fu;
	char want[256];
	int n;

	if (res == AUTH_FAILED || res == AUTH_BAD || res == AUTH_LIMITED)
		sipd_auth_failed(pc->s);
	switch (res) {
	case AUTH_OK:
		/* The caller may only call as itself. */
		if (sip_msg_addr_uri(pc->req, from, &fu) < 0 ||
		    (n = sip_unescape(want, sizeof(want), fu->user)) < 0 ||
		    !sip_pl_eq(user, sip_pl(want, (size_t)n))) {
			sipd_reply(pc->s, pc->st, tsx_request(pc->st), 403,
			           "Forbidden (From Is Not the Authenticated User)", NULL, 0);
			break;
		}
		route(pc);
		return;
	case AUTH_NONE: challenge(pc, false); break;
	case AUTH_STALE: challenge(pc, true); break;
	case AUTH_FAILED:
		sipd_reply(pc->s, pc->st, tsx_request(pc->st), 403, "Forbidden (Bad Credentials)",
		           NULL, 0);
		break;
	case AUTH_BAD:
		sipd_reply(pc->s, pc->st, tsx_request(pc->st), 400,
		           "Bad Request (Malformed Credentials)", NULL, 0);
		break;
	case AUTH_LIMITED: {
		/* As the registrar does: when this source may try again. */
		char secs[16];
		snprintf(secs, sizeof(secs), "%u", auth_retry_after(pc->s->auth));
		struct sipd_extra ra = {"Retry-After", sip_pl_cstr(secs)};
		sipd_reply(pc->s, pc->st, tsx_request(pc->st), 503,
		           "Service Unavailable (Too Many Failed Attempts)", &ra, 1);
		break;
	}
	case AUTH_STORE: sipd_reply(pc->s, pc->st, tsx_request(pc->st), 503, NULL, NULL, 0); break;
	}
	pcall_unref(pc);
}

/* Targets for the (preprocessed) request, then the branches. */
static void route(struct pcall *pc)
{
	const struct sip_hdr *rt = sip_msg_hdr(pc->req, SIP_HDR_ROUTE);
	const struct sip_uri *ru = sip_msg_ruri(pc->req);

	if (rt) {
		/* Loose routing: the request follows its Route set, the
		 * Request-URI unchanged (§16.6 step 7). */
		const struct sip_addr *ra;
		const struct sip_uri *nu;
		pc->t[pc->nt].uri = sip_msg_ruri_pl(pc->req);
		if (sip_msg_hdr_addr(pc->req, rt, &ra) < 0 ||
		    sip_msg_addr_uri(pc->req, ra, &nu) < 0) {
			sipd_reply(pc->s, pc->st, tsx_request(pc->st), 400,
			           "Bad Request (Malformed Route)", NULL, 0);
			pcall_unref(pc);
			return;
		}
		single_target(pc, nu);
		return;
	}
	if (sipd_is_local_host(pc->s, ru) && ru->user.len) {
		char aor[512];
		int n = loc_aor(ru, aor, sizeof(aor));
		lowercase_host(pc->realm, sizeof(pc->realm), ru->host);
		if (n < 0 || loc_lookup(pc->s->loc, sip_pl(aor, (size_t)n), auth_now(), on_bindings,
		                        pc) < 0) {
			sipd_reply(pc->s, pc->st, tsx_request(pc->st), 404, NULL, NULL, 0);
			pcall_unref(pc);
		}
		return;
	}
	/* Another domain, for an authenticated local caller: its host is
	 * the next hop (RFC 3263 for names comes with the resolver). */
	pc->t[pc->nt].uri = sip_msg_ruri_pl(pc->req);
	single_target(pc, ru);
}

void px_admit(struct pcall *pc, const struct tsx_peer *peer, bool in_dialog)
{
	struct sipd *s = pc->s;
	struct tsx *st = pc->st;
	const struct sip_msg *req = tsx_request(st);
	const struct sip_addr *from = sip_msg_from(req);
	const struct sip_uri *fu = NULL;

	if (!route_preprocess(pc)) {
		sipd_reply(s, st, req, 500, NULL, NULL, 0);
		pcall_unref(pc);
		return;
	}
	bool routed = sip_msg_hdr(pc->req, SIP_HDR_ROUTE) != NULL;
	const struct sip_uri *ru = sip_msg_ruri(pc->req);
	bool local_target = !routed && sipd_is_local_host(s, ru) && ru->user.len;
	bool local_caller =
	        from && sip_msg_addr_uri(req, from, &fu) == 0 && sipd_is_local_host(s, fu);
	enum sip_method method = sip_msg_method(req);

	/* Callers of our domains prove who they are; in-dialog requests
	 * (they follow a Record-Route we placed), ACK and CANCEL do not. */
	struct auth *auth = sipd_auth(s);
	if (auth && local_caller && !in_dialog && method != SIP_METHOD_ACK &&
	    method != SIP_METHOD_CANCEL) {
		lowercase_host(pc->realm, sizeof(pc->realm), fu->host);
		auth_check(auth, tsx_request(st), SIP_HDR_PROXY_AUTHORIZATION,
		           sip_pl_cstr(pc->realm), &peer->src, on_caller_auth, pc);
		return;
	}
	/* Never an open relay: strangers may only reach our users, or follow
	 * a dialog's route. */
	/* An in-dialog request passes only along a route we recorded: a
	 * To tag alone proves nothing. */
	if (!local_target && !(in_dialog && pc->our_route)) {
		sipd_reply(s, st, req, 403, "Forbidden (Relaying Denied)", NULL, 0);
		pcall_unref(pc);
		return;
	}
	route(pc);
}
