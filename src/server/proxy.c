/*
 * proxy.c — the stateful proxy (RFC 3261 §16): validation (loop
 * detection, §16.3), route preprocessing (§16.4), targets from the
 * location service (§16.5), forwarding with Record-Route and a fresh Via
 * (§16.6), forking — parallel within a q-value, sequential across them —
 * and the response context (§16.7), CANCEL (§16.10), ACK for 2xx and
 * stray 2xx forwarded statelessly (§16.11), and 407 challenges for local
 * callers.
 *
 * One struct pcall per proxied request holds a private parsed copy of it,
 * its branches (client transactions) and the best response so far. Its
 * callbacks arrive on any worker and on the store's thread; a mutex
 * orders them, and nothing is sent while it is held.
 */
#include <ctype.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
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

/* ---- small helpers ----------------------------------------------------------- */

static void unlist_ringing_locked(struct pcall *pc)
{
	struct sipd *s = pc->s;

	if (pc->ringing) {
		if (pc->rprev)
			pc->rprev->rnext = pc->rnext;
		else
			s->ringing = pc->rnext;
		if (pc->rnext)
			pc->rnext->rprev = pc->rprev;
		pc->ringing = false;
	}
}

static void unlist_locked(struct pcall *pc)
{
	struct sipd *s = pc->s;

	unlist_ringing_locked(pc);
	if (pc->listed) {
		if (pc->lprev)
			pc->lprev->lnext = pc->lnext;
		else
			s->calls = pc->lnext;
		if (pc->lnext)
			pc->lnext->lprev = pc->lprev;
		pc->listed = false;
	}
}

/* Every call is listed from birth to its last reference, so that shutdown
 * can free what is left; an INVITE is listed as ringing too, so that timer
 * C walks only the calls that may still ring, not the thousands that wait
 * out their transactions' 32 s with calls_mu held. */
static void list_call(struct pcall *pc)
{
	struct sipd *s = pc->s;

	atomic_store(&pc->timer_c, UINT64_MAX);
	pthread_mutex_lock(&s->calls_mu);
	pc->lprev = NULL;
	pc->lnext = s->calls;
	if (s->calls)
		s->calls->lprev = pc;
	s->calls = pc;
	pc->listed = true;
	if (pc->invite) {
		pc->rprev = NULL;
		pc->rnext = s->ringing;
		if (s->ringing)
			s->ringing->rprev = pc;
		s->ringing = pc;
		pc->ringing = true;
	}
	pthread_mutex_unlock(&s->calls_mu);
}

static void pcall_free(struct pcall *pc);

/* The last reference goes under calls_mu, together with the unlisting
 * and the unlinking from the INVITE transaction: a CANCEL looking the
 * call up (under calls_mu) either finds it alive and referenced, or not
 * at all. */
void pcall_unref(struct pcall *pc)
{
	struct sipd *s = pc->s;

	pthread_mutex_lock(&s->calls_mu);
	pthread_mutex_lock(&pc->mu);
	int left = --pc->refs;
	pthread_mutex_unlock(&pc->mu);
	if (!left) {
		unlist_locked(pc);
		tsx_set_user(pc->st, NULL);
	}
	pthread_mutex_unlock(&s->calls_mu);
	if (!left)
		pcall_free(pc);
}

static void pcall_free(struct pcall *pc)
{
	tsx_set_user(pc->st, NULL);
	tsx_unref(pc->st);
	for (size_t i = 0; i < pc->nchal; i++)
		free((void *)pc->challenges[i].p);
	free(pc->best_buf);
	sip_arena_free(pc->arena);
	pthread_mutex_destroy(&pc->mu);
	free(pc);
}

/* The loop-detection part of our branch (§16.6 step 8, RFC 5393 §4.2):
 * a hash of what would be the same if the request came back unchanged. */
static uint32_t loop_hash(const struct sip_msg *m)
{
	const struct sip_addr *from = sip_msg_from(m), *to = sip_msg_to(m);
	const struct sip_cseq *cseq = sip_msg_cseq(m);
	static const enum sip_hdr_id ids[] = {SIP_HDR_ROUTE, SIP_HDR_PROXY_REQUIRE,
	                                      SIP_HDR_PROXY_AUTHORIZATION};
	uint64_t h = SIP_FNV_BASIS;

	h = sip_pl_hash(h, sip_msg_ruri_pl(m));
	h = sip_pl_hash(h, from ? from->tag : SIP_PL_NULL);
	h = sip_pl_hash(h, to ? to->tag : SIP_PL_NULL);
	h = sip_pl_hash(h, sip_msg_call_id(m));
	if (cseq)
		h = sip_fnv1a(h, &cseq->num, sizeof(cseq->num));
	for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
		const struct sip_hdr *hd;
		size_t pos = 0;
		while ((hd = sip_msg_hdr_next(m, ids[k], &pos)))
			h = sip_pl_hash(h, hd->value);
	}
	return (uint32_t)(h ^ (h >> 32));
}

/* Our listener for proto in family, as "host:port" for a Via sent-by or a
 * Record-Route URI. */
bool px_local_for(const struct sipd *s, enum tp_proto proto, sa_family_t fam, char *host,
                  size_t cap, uint16_t *port)
{
	for (unsigned i = 0; i < tp_listener_count(s->tp); i++) {
		enum tp_proto p;
		const struct tp_addr *a = tp_listener_addr(s->tp, i, &p);
		if (p != proto || a->ss.ss_family != fam)
			continue;
		char h[64];
		tp_addr_host(a, h, sizeof(h));
		snprintf(host, cap, fam == AF_INET6 ? "[%s]" : "%s", h);
		*port = tp_addr_port(a);
		return true;
	}
	return false;
}

/* True when one of the request's Vias is ours with the loop hash of this
 * very request: it came back unchanged (§16.3 step 4). */
static bool is_loop(const struct sipd *s, const struct sip_msg *m, uint32_t lh)
{
	const struct sip_hdr *h;
	size_t pos = 0;
	char want[16];

	snprintf(want, sizeof(want), ".%08x", lh);
	while ((h = sip_msg_hdr_next(m, SIP_HDR_VIA, &pos))) {
		const struct sip_via *via;
		struct sip_uri u = {.host_type = SIP_HOST_DOMAIN};
		if (sip_msg_hdr_via(m, h, &via) < 0)
			continue;
		u.scheme = SIP_SCHEME_SIP;
		u.host = via->host;
		u.port = via->port;
		if (!sipd_is_local_host(s, &u) || via->branch.len < 9)
			continue;
		if (sip_pl_eq(sip_pl(via->branch.p + via->branch.len - 9, 9), sip_pl_cstr(want)))
			return true;
	}
	return false;
}

/* ---- sending upstream ------------------------------------------------------------ */

/* A response from a branch, our Via removed, into a malloc'd buffer. */
static char *strip_via(const struct sip_msg *resp, size_t *len)
{
	struct sip_edit *e;
	size_t cap = sip_msg_raw(resp).len + 64;
	char *buf = malloc(cap);
	int n;

	if (!buf || sip_edit_new(&e, resp) < 0 || sip_edit_via_pop(e) < 0 ||
	    (n = sip_edit_print(e, buf, cap)) < 0) {
		free(buf);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

static void forward_response(struct pcall *pc, const struct sip_msg *resp, int status)
{
	size_t len;
	char *buf = strip_via(resp, &len);

	if (buf) {
		tsx_respond(pc->st, status, buf, len);
		free(buf);
	}
}

/* §16.7 step 6: 6xx first; else the lowest class, preferring within it
 * the responses that let the caller retry (401, 407, 415, 420, 484). */
static int rank(int status)
{
	int cls = status / 100;
	bool useful =
	        status == 401 || status == 407 || status == 415 || status == 420 || status == 484;

	if (cls == 6)
		return 0;
	return cls * 10 + (useful ? 0 : 1);
}

/* Sends the chosen final response (called without the lock, once). */
static void send_best(struct pcall *pc)
{
	int status = pc->best ? pc->best : 408;

	if (pc->cancelled && status < 300)
		status = 487;
	if (pc->cancelled && !pc->got_2xx) {
		/* §16.10: the caller gets 487 for its cancelled INVITE. */
		sipd_reply(pc->s, pc->st, tsx_request(pc->st), 487, NULL, NULL, 0);
		return;
	}
	if (!pc->best_buf || status == 503) {
		/* §16.7 step 6: a 503 from downstream becomes 500 here. */
		sipd_reply(pc->s, pc->st, tsx_request(pc->st), status == 503 ? 500 : status, NULL,
		           NULL, 0);
		return;
	}
	if ((status == 401 || status == 407) && pc->nchal > 1) {
		/* §16.7 step 7: every branch's challenges in one response. */
		struct sip_msg *m;
		struct sip_parse_err perr;
		struct sip_edit *e;
		char *out;
		size_t cap = pc->best_len + 64;
		for (size_t i = 0; i < pc->nchal; i++)
			cap += pc->challenges[i].len + 32;
		out = malloc(cap);
		if (out &&
		    sip_msg_parse(&m, pc->arena, pc->best_buf, pc->best_len, 0, &perr) == 0 &&
		    sip_edit_new(&e, m) == 0) {
			const struct sip_hdr *h;
			size_t pos = 0;
			while ((h = sip_msg_hdr_next(m, SIP_HDR_WWW_AUTHENTICATE, &pos)))
				sip_edit_hdr_remove(e, h);
			pos = 0;
			while ((h = sip_msg_hdr_next(m, SIP_HDR_PROXY_AUTHENTICATE, &pos)))
				sip_edit_hdr_remove(e, h);
			for (size_t i = 0; i < pc->nchal; i++)
				sip_edit_hdr_add(e,
				                 pc->chal_proxy[i] ? SIP_PL("Proxy-Authenticate")
				                                   : SIP_PL("WWW-Authenticate"),
				                 pc->challenges[i]);
			int n = sip_edit_print(e, out, cap);
			if (n > 0) {
				tsx_respond(pc->st, status, out, (size_t)n);
				free(out);
				return;
			}
		}
		free(out);
	}
	tsx_respond(pc->st, status, pc->best_buf, pc->best_len);
}

/* ---- branches ---------------------------------------------------------------------- */

static size_t plan_group(struct pcall *pc);
static void launch_group(struct pcall *pc, size_t first, size_t count);

/* Keeps a final response if it beats the best one; remembers challenges. */
static void consider(struct pcall *pc, const struct sip_msg *resp, int status)
{
	if (resp && (status == 401 || status == 407)) {
		enum sip_hdr_id id =
		        status == 401 ? SIP_HDR_WWW_AUTHENTICATE : SIP_HDR_PROXY_AUTHENTICATE;
		const struct sip_hdr *h;
		size_t pos = 0;
		while ((h = sip_msg_hdr_next(resp, id, &pos)) && pc->nchal < CHALLENGES_MAX) {
			char *copy = malloc(h->value.len);
			if (!copy)
				break;
			memcpy(copy, h->value.p, h->value.len);
			pc->chal_proxy[pc->nchal] = status == 407;
			pc->challenges[pc->nchal++] = sip_pl(copy, h->value.len);
		}
	}
	if (pc->best && rank(status) >= rank(pc->best))
		return;
	free(pc->best_buf);
	pc->best_buf = resp ? strip_via(resp, &pc->best_len) : NULL;
	pc->best = status;
}

static void on_branch(struct tsx *ct, const struct sip_msg *resp, int status, void *arg)
{
	struct branch *b = arg;
	struct pcall *pc = b->pc;
	struct tsx *cancel[MAX_TARGETS];
	size_t ncancel = 0;
	bool forward = false, finish = false, end = false, answered = false;
	size_t first = 0, count = 0;

	pthread_mutex_lock(&pc->mu);
	if (!resp && status == 0) {
		end = true; /* the transaction is over: let it go */
	} else if (status < 200) {
		if (!b->provisional && pc->cancelled)
			cancel[ncancel++] = b->ct; /* it may be cancelled now */
		b->provisional = true;
		forward = status > 100 && !pc->answered;
		if (status > 100) /* §16.7 step 2: each provisional restarts timer C */
			atomic_store(&pc->timer_c,
			             tp_now_ms() + (uint64_t)pc->s->cfg->timer_c * 1000);
	} else if (!b->final) {
		b->final = true;
		pc->pending--;
		if (status < 300) {
			forward = true; /* every 2xx goes up (§16.7 step 5) */
			if (!pc->got_2xx) {
				pc->got_2xx = true;
				pc->answered = true;
				answered = true;
				for (size_t i = 0; i < pc->nbr; i++)
					if (&pc->br[i] != b && !pc->br[i].final && pc->br[i].ct)
						cancel[ncancel++] = pc->br[i].ct;
			}
		} else {
			consider(pc, resp, status);
			if (status >= 600 && !pc->got_6xx) {
				pc->got_6xx = true; /* ends the search (§16.7 step 5) */
				for (size_t i = 0; i < pc->nbr; i++)
					if (!pc->br[i].final && pc->br[i].ct)
						cancel[ncancel++] = pc->br[i].ct;
			}
		}
		if (!pc->pending && !pc->answered) {
			if (!pc->got_6xx && !pc->cancelled && pc->next < pc->nt) {
				first = pc->nbr;
				count = plan_group(pc); /* sequential forking (§16.6) */
			}
			if (!pc->pending) {
				pc->answered = true;
				finish = true;
			}
		}
	} else if (status < 300) {
		forward = true; /* a further 2xx on this branch (another fork) */
	}
	pthread_mutex_unlock(&pc->mu);

	if (forward && resp)
		forward_response(pc, resp, status);
	for (size_t i = 0; i < ncancel; i++)
		if (pc->invite)
			tsx_client_cancel(cancel[i], NULL, NULL);
	if (count)
		launch_group(pc, first, count);
	if (finish)
		send_best(pc);
	/* The request of a branch is never read here, nor the caller's once
	 * the answer went up (further 2xx are forwarded as they come): the
	 * layer may drop both while they wait out their 32 s. */
	if (ct && status >= 200)
		tsx_release_request(ct);
	if (finish || answered)
		tsx_release_request(pc->st);
	if (end) {
		pthread_mutex_lock(&pc->mu);
		b->ended = true;
		pthread_mutex_unlock(&pc->mu);
		if (b->ct)
			tsx_unref(b->ct);
		pcall_unref(pc);
	}
}

/* A TLS target found by name gets its connection opened first, so the
 * server's certificate is checked against that name (the transport
 * checks an address otherwise); the branch's send then reuses it. */
static void open_tls(struct sipd *s, const struct target *t)
{
	char name[256];

	if (t->to.proto != TP_TLS || !t->name.len || t->name.len >= sizeof(name))
		return;
	sip_pl_strcpy(name, sizeof(name), t->name);
	(void)tp_connect(s->tp, TP_TLS, &t->to.addr, name); /* a failure shows in the send */
}

/* Our Record-Route URI on the side of proto: a sips request's TLS side
 * records a sips URI, so the dialog's requests stay on TLS (RFC 5630
 * §3.1.3); otherwise the transport is named. */
static void rr_uri(const struct sipd *s, char *buf, size_t cap, const char *host, uint16_t port,
                   enum tp_proto proto, bool sips, const struct tp_addr *peer)
{
	char user[96] = "";

	/* A TLS side's entry names the peer's flow (flow.c). */
	if (proto == TP_TLS && sipd_flow_token(s, peer, user, sizeof(user) - 1) == 0)
		strcat(user, "@");
	if (proto == TP_TLS && sips)
		snprintf(buf, cap, "<sips:%s%s:%u;lr>", user, host, port);
	else
		snprintf(buf, cap, "<sip:%s%s:%u;transport=%s;lr>", user, host, port,
		         proto == TP_TLS   ? "tls"
		         : proto == TP_TCP ? "tcp"
		                           : "udp");
}

/* Builds and sends the request of branch b (its slot reserved by
 * plan_group). Called without the lock: the layer may report on the
 * branch before tsx_client_new returns, even on this thread. Returns
 * false when it could not start. */
static bool start_branch(struct pcall *pc, struct branch *b)
{
	struct target *t = &pc->t[b->target];
	struct sipd *s = pc->s;
	struct sip_edit *e;
	char host[80], via[256], rr[2][256];
	uint16_t port;
	unsigned char rnd[8];
	char rhex[17];
	const struct sip_hdr *h;
	size_t pos = 0;

	if (!px_local_for(s, t->to.proto, t->to.addr.ss.ss_family, host, sizeof(host), &port))
		return false;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return false;
	sip_hex_encode(rhex, rnd, sizeof(rnd));
	snprintf(via, sizeof(via), "SIP/2.0/%s %s:%u;branch=z9hG4bK%s.%08x",
	         tp_proto_name(t->to.proto), host, port, rhex, pc->loop);
	if (sip_edit_new(&e, pc->req) < 0 || sip_edit_ruri(e, t->uri) < 0 ||
	    sip_edit_max_forwards(e) < 0 || sip_edit_via_push(e, sip_pl_cstr(via)) < 0)
		return false;
	/* Our own credentials stay here (§22.3): remove those for our realm. */
	while ((h = sip_msg_hdr_next(pc->req, SIP_HDR_PROXY_AUTHORIZATION, &pos))) {
		struct sip_auth a;
		if (sip_auth_parse(&a, h->value) == 0 && sip_pl_eq(a.realm, sip_pl_cstr(pc->realm)))
			sip_edit_hdr_remove(e, h);
	}
	if (pc->invite && s->cfg->record_route) {
		/* Record-Route (§16.6 step 4); two when the transport changes,
		 * so each side sees the address it can reach (RFC 5658). */
		char inhost[80];
		uint16_t inport;
		int nrr = 0;
		/* The callee reads the set top first, the caller bottom first:
		 * the outgoing side's entry goes on top. Pushes at one place
		 * keep their order, so it is pushed first. */
		rr_uri(s, rr[nrr++], sizeof(rr[0]), host, port, t->to.proto, px_sips(pc),
		       &t->to.addr);
		/* TLS on both sides: an entry each, for the flow of each. */
		if ((pc->in.proto != t->to.proto || t->to.proto == TP_TLS) &&
		    px_local_for(s, pc->in.proto, pc->in.src.ss.ss_family, inhost, sizeof(inhost),
		                 &inport))
			rr_uri(s, rr[nrr++], sizeof(rr[0]), inhost, inport, pc->in.proto,
			       px_sips(pc), &pc->in.src);
		for (int k = 0; k < nrr; k++)
			if (sip_edit_rr_push(e, sip_pl_cstr(rr[k])) < 0)
				return false;
	}
	if (t->route.len && sip_edit_hdr_add(e, SIP_PL("Route"), t->route) < 0)
		return false;

	char *buf = malloc(FWD_MAX);
	int n = buf ? sip_edit_print(e, buf, FWD_MAX) : -1;
	if (n < 0) {
		free(buf);
		return false;
	}
	open_tls(s, t);
	/* b->ct is set through out before the first send, so a report
	 * arriving meanwhile finds it. */
	int err = tsx_client_new(s->tsx, &b->ct, buf, (size_t)n, &t->to, on_branch, b);
	free(buf);
	if (err < 0) {
		sip_log(SIP_LOG_WARN, "proxy: cannot start a branch: %s", sip_err_reason(err));
		return false;
	}
	return true;
}

/* Reserves a branch for every target of the next q-value (parallel
 * within it, §16.6); under the lock. Returns how many. */
static size_t plan_group(struct pcall *pc)
{
	size_t n = 0;

	if (pc->next >= pc->nt)
		return 0;
	int q = pc->t[pc->next].q;
	while (pc->next < pc->nt && pc->t[pc->next].q == q) {
		pc->br[pc->nbr++] = (struct branch){.pc = pc, .target = pc->next++};
		pc->refs++;
		pc->pending++;
		n++;
	}
	return n;
}

/* Sends the reserved branches; one that cannot start counts as a 503
 * from it, so the response context carries on without it. */
static void launch_group(struct pcall *pc, size_t first, size_t count)
{
	for (size_t i = first; i < first + count; i++) {
		struct branch *b = &pc->br[i];
		/* An earlier branch of the group may have been answered (or
		 * the call cancelled) already: then this one never starts. */
		pthread_mutex_lock(&pc->mu);
		bool moot = pc->got_2xx || pc->got_6xx || pc->cancelled;
		pthread_mutex_unlock(&pc->mu);
		if (moot) {
			on_branch(NULL, NULL, 487, b);
			on_branch(NULL, NULL, 0, b);
		} else if (!start_branch(pc, b)) {
			on_branch(NULL, NULL, 503, b);
			on_branch(NULL, NULL, 0, b);
		}
	}
}

/* Highest q first; a binding without q counts as 1.0 (RFC 3261 §16.6). */
static int by_q(const void *a, const void *b)
{
	const struct target *x = a, *y = b;
	return (y->q < 0 ? 1000 : y->q) - (x->q < 0 ? 1000 : x->q);
}

void pcall_begin(struct pcall *pc)
{
	if (pc->invite)
		atomic_store(&pc->timer_c, tp_now_ms() + (uint64_t)pc->s->cfg->timer_c * 1000);
	pthread_mutex_lock(&pc->mu);
	qsort(pc->t, pc->nt, sizeof(pc->t[0]), by_q);
	size_t count = plan_group(pc);
	bool none = !count && !pc->answered;
	if (none)
		pc->answered = true;
	pthread_mutex_unlock(&pc->mu);
	if (count)
		launch_group(pc, 0, count);
	if (none) {
		/* No branch could start: nothing reachable. */
		sipd_reply(pc->s, pc->st, tsx_request(pc->st), 480, "Temporarily Unavailable", NULL,
		           0);
	}
	pcall_unref(pc); /* the reference pcall_begin() was handed */
}

/* ---- entry points ----------------------------------------------------------------------- */

bool pcall_set_request(struct pcall *pc, const char *buf, size_t n)
{
	struct sip_parse_err perr;
	struct sip_arena *a;
	struct sip_msg *m;

	/* The first block fits the parsed copy (as a transaction's does):
	 * the default 8 KiB would be mostly idle for the call's 32 s. */
	if (sip_arena_new_sized(&a, PCALL_ARENA, 3584 + 2 * n) < 0)
		return false;
	if (sip_msg_parse(&m, a, buf, n, SIP_PARSE_COPY, &perr) < 0) {
		sip_arena_free(a);
		return false;
	}
	/* A fresh arena rather than the old one's next block: a request
	 * rewritten twice (Via, Route) is held once, not three times. */
	sip_arena_free(pc->arena);
	pc->arena = a;
	pc->req = m;
	return true;
}

/* The call's copy of req, the base of every branch's request: req with
 * its top Via marked with where it came from (§18.2.1). The edit is made
 * on the received message (this worker's, valid during the request
 * callback), so the copy is parsed once. */
static bool copy_marked(struct pcall *pc, const struct sip_msg *req, const struct tsx_peer *peer)
{
	char via[1024];
	struct sip_edit *e;
	char *buf = malloc(FWD_MAX);
	int n = -1;

	if (buf && sipd_via_received(via, sizeof(via), req, peer) >= 0 &&
	    sip_edit_new(&e, req) == 0 && sip_edit_via_pop(e) == 0 &&
	    sip_edit_via_push(e, sip_pl_cstr(via)) == 0)
		n = sip_edit_print(e, buf, FWD_MAX);
	bool ok = n > 0 && pcall_set_request(pc, buf, (size_t)n);
	free(buf);
	return ok;
}

static struct pcall *pcall_new(struct sipd *s, struct tsx *st, const struct sip_msg *req,
                               const struct tsx_peer *peer)
{
	struct pcall *pc = calloc(1, sizeof(*pc));

	if (!pc)
		return NULL;
	if (!copy_marked(pc, req, peer)) {
		free(pc); /* copy_marked set no arena */
		return NULL;
	}
	pthread_mutex_init(&pc->mu, NULL);
	pc->t = &pc->t1;
	pc->br = &pc->br1;
	pc->cap = 1;
	pc->refs = 1;
	pc->s = s;
	pc->st = st;
	tsx_ref(st);
	pc->in = *peer;
	pc->invite = sip_msg_method(pc->req) == SIP_METHOD_INVITE;
	list_call(pc);
	return pc;
}

void sipd_proxy(struct sipd *s, struct tsx *st, const struct sip_msg *req,
                const struct tsx_peer *peer)
{
	struct pcall *pc;
	const struct sip_addr *to = sip_msg_to(req);
	bool in_dialog = to && to->tag.len;

	uint32_t lh = loop_hash(req);
	if (is_loop(s, req, lh)) {
		sipd_reply(s, st, req, 482, NULL, NULL, 0);
		return;
	}
	if (!(pc = pcall_new(s, st, req, peer))) {
		sipd_reply(s, st, req, 500, NULL, NULL, 0);
		return;
	}
	/* The hash is of the request as it arrived, the same thing is_loop
	 * compares: one that passed our own Route entries has a shorter
	 * Route set the next time round and is a spiral, not a loop. */
	pc->loop = lh;
	if (sip_msg_method(req) == SIP_METHOD_INVITE)
		tsx_set_user(st, pc);

	px_admit(pc, peer, in_dialog);
}

void sipd_proxy_cancel(struct sipd *s, struct tsx *inv)
{
	struct tsx *cancel[MAX_TARGETS];
	struct pcall *pc;
	size_t n = 0;

	pthread_mutex_lock(&s->calls_mu);
	if ((pc = tsx_user(inv))) {
		pthread_mutex_lock(&pc->mu);
		pc->refs++;
		pthread_mutex_unlock(&pc->mu);
	}
	pthread_mutex_unlock(&s->calls_mu);
	if (!pc)
		return;
	pthread_mutex_lock(&pc->mu);
	if (!pc->cancelled && !pc->answered) {
		pc->cancelled = true;
		for (size_t i = 0; i < pc->nbr; i++)
			if (!pc->br[i].final && pc->br[i].ct)
				cancel[n++] = pc->br[i].ct;
	}
	pthread_mutex_unlock(&pc->mu);
	/* A branch without a provisional holds its CANCEL until one comes
	 * (§9.1); the layer does that. */
	for (size_t i = 0; i < n; i++)
		tsx_client_cancel(cancel[i], NULL, NULL);
	pcall_unref(pc);
}

void sipd_proxy_shutdown(struct sipd *s)
{
	/* The layer is gone: no end report will come. Let go of what the
	 * calls still hold. */
	struct pcall *pc;

	while ((pc = s->calls)) {
		s->calls = pc->lnext;
		for (size_t i = 0; i < pc->nbr; i++)
			if (!pc->br[i].ended && pc->br[i].ct)
				tsx_unref(pc->br[i].ct);
		pcall_free(pc);
	}
}

void sipd_proxy_tick(struct sipd *s, uint64_t now_ms)
{
	struct pcall *due[64];
	size_t n = 0;

	struct pcall *next;

	pthread_mutex_lock(&s->calls_mu);
	for (struct pcall *pc = s->ringing; pc && n < 64; pc = next) {
		next = pc->rnext;
		pthread_mutex_lock(&pc->mu);
		bool answered = pc->answered;
		pthread_mutex_unlock(&pc->mu);
		if (answered) {
			unlist_ringing_locked(pc); /* timer C is over for it */
			continue;
		}
		if (atomic_load(&pc->timer_c) > now_ms)
			continue;
		atomic_store(&pc->timer_c, UINT64_MAX); /* fires once per ringing spell */
		pthread_mutex_lock(&pc->mu);
		pc->refs++;
		pthread_mutex_unlock(&pc->mu);
		due[n++] = pc;
	}
	pthread_mutex_unlock(&s->calls_mu);
	for (size_t i = 0; i < n; i++) {
		struct pcall *pc = due[i];
		struct tsx *cancel[MAX_TARGETS];
		size_t nc = 0;

		/* §16.8: a branch that rang too long is cancelled (its 487
		 * ends it); one that never answered ends by timer B (408). */
		pthread_mutex_lock(&pc->mu);
		if (!pc->answered)
			for (size_t k = 0; k < pc->nbr; k++)
				if (!pc->br[k].final && pc->br[k].provisional && pc->br[k].ct)
					cancel[nc++] = pc->br[k].ct;
		pthread_mutex_unlock(&pc->mu);
		if (nc)
			sip_log(SIP_LOG_INFO, "proxy: timer C: cancelling %zu ringing branch(es)",
			        nc);
		for (size_t k = 0; k < nc; k++)
			tsx_client_cancel(cancel[k], NULL, NULL);
		pcall_unref(pc);
	}
}
