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

#define MAX_TARGETS 16
#define PCALL_ARENA (256u * 1024)
#define FWD_MAX 65536
#define CHALLENGES_MAX 8

struct target {
	struct sip_pl uri;   /* the new Request-URI */
	struct sip_pl route; /* Route to add (a binding's Path), or empty */
	struct tsx_peer to;  /* where the branch goes */
	struct sip_pl name;  /* TLS: the host name its certificate must show, or empty */
	int q;
};

struct branch {
	struct pcall *pc;
	size_t target;    /* index in pc->t */
	struct tsx *ct;   /* referenced until its end report */
	bool provisional; /* a 1xx came: a CANCEL may go */
	bool final;       /* a final response (or the layer's 408/503) came */
	bool ended;       /* its end report came and ct was let go */
};

struct pcall {
	pthread_mutex_t mu;
	int refs;
	/* In s->calls (under s->calls_mu) from birth to the last reference;
	 * an INVITE also in s->ringing until the timer C sweep sees it
	 * answered. timer_c is the time (ms) its ringing branches give up. */
	struct pcall *lprev, *lnext;
	struct pcall *rprev, *rnext;
	bool listed, ringing;
	_Atomic uint64_t timer_c;
	struct sipd *s;
	struct tsx *st; /* the server transaction (referenced) */
	struct sip_arena *arena;
	struct sip_msg *req; /* private parsed copy: edits allocate here */
	struct tsx_peer in;  /* where it came from */
	bool invite;
	uint32_t loop;  /* loop_hash of the request as received (before §16.4) */
	bool our_route; /* it came with a Route naming us (a dialog we record-route) */
	bool has_flow;  /* that Route named a TLS flow (flow.c): the next hop's */
	struct tp_addr flow;
	char realm[256];

	/* Targets, sorted by q (next: not yet tried), and a branch per target
	 * tried: room for one in the call itself, the common case; more come
	 * from the arena before the first branch starts (branches are
	 * callback arguments and never move). A call is held for 32 s after
	 * its end (timer M), so its size counts many thousand times. */
	struct target *t;
	struct branch *br;
	size_t cap, nt, next, nbr;
	struct target t1;
	struct branch br1;
	unsigned pending; /* branches without their final response */

	bool answered; /* a final response went upstream */
	bool got_2xx, got_6xx, cancelled;
	int best;       /* best final status so far (0: none) */
	char *best_buf; /* its bytes, our Via removed (NULL: synthesise) */
	size_t best_len;
	struct sip_pl challenges[CHALLENGES_MAX]; /* from every 401/407 */
	bool chal_proxy[CHALLENGES_MAX];
	size_t nchal;
};

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
static void pcall_unref(struct pcall *pc)
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
static bool local_for(const struct sipd *s, enum tp_proto proto, sa_family_t fam, char *host,
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
static int uri_dest(const struct sip_uri *u, struct tsx_peer *to)
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

/* A sips Request-URI is secured hop by hop: the request goes out over
 * TLS only (RFC 3261 §26.2.2, RFC 5630 §3.1.3). */
static bool sips_request(const struct pcall *pc)
{
	return sip_msg_ruri(pc->req)->scheme == SIP_SCHEME_SIPS;
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

static int pl_uri_dest(struct sip_pl text, struct tsx_peer *to)
{
	struct sip_uri u;
	struct sip_addr a;

	/* A Route/Path value is a name-addr; a Contact URI is bare. */
	if (text.len && text.p[0] != 's' && sip_addr_parse(&a, text) == 0)
		text = a.uri;
	if (sip_uri_parse(&u, text) < 0)
		return SIP_ERR_URI;
	return uri_dest(&u, to);
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
	bool forward = false, finish = false, end = false;
	size_t first = 0, count = 0;

	(void)ct;
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

	if (!local_for(s, t->to.proto, t->to.addr.ss.ss_family, host, sizeof(host), &port))
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
		rr_uri(s, rr[nrr++], sizeof(rr[0]), host, port, t->to.proto, sips_request(pc),
		       &t->to.addr);
		/* TLS on both sides: an entry each, for the flow of each. */
		if ((pc->in.proto != t->to.proto || t->to.proto == TP_TLS) &&
		    local_for(s, pc->in.proto, pc->in.src.ss.ss_family, inhost, sizeof(inhost),
		              &inport))
			rr_uri(s, rr[nrr++], sizeof(rr[0]), inhost, inport, pc->in.proto,
			       sips_request(pc), &pc->in.src);
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

/* ---- targets -------------------------------------------------------------------------- */

static int by_q(const void *a, const void *b)
{
	const struct target *x = a, *y = b;
	return (y->q < 0 ? 1000 : y->q) - (x->q < 0 ? 1000 : x->q);
}

/* Copies a slice into the call's arena. */
static struct sip_pl keep(struct pcall *pc, struct sip_pl v)
{
	struct sip_pl out = SIP_PL_NULL;

	if (v.len && sip_arena_dup(pc->arena, v, &out) < 0)
		return SIP_PL_NULL;
	return out;
}

static void begin(struct pcall *pc)
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
	pcall_unref(pc); /* the reference begin() was handed */
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
	bool sips = sips_request(pc);
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
		if (!t->uri.len || pl_uri_dest(hop, &t->to) < 0)
			continue; /* unreachable without DNS: skip this binding */
		flow_dest(pc->s, &b[i], &t->to);
		if (sips && t->to.proto != TP_TLS)
			continue; /* never a sips request over UDP or TCP */
		pc->nt++;
	}
	begin(pc);
}

/* ---- entry points ----------------------------------------------------------------------- */

static struct pcall *pcall_new(struct sipd *s, struct tsx *st, const struct tsx_peer *peer)
{
	struct pcall *pc = calloc(1, sizeof(*pc));
	struct sip_parse_err perr;
	struct sip_pl raw = sip_msg_raw(tsx_request(st));

	if (!pc)
		return NULL;
	/* The first block fits the parsed copy (as a transaction's does):
	 * the default 8 KiB would be mostly idle for the call's 32 s. */
	if (sip_arena_new_sized(&pc->arena, PCALL_ARENA, 3584 + 2 * raw.len) < 0 ||
	    sip_msg_parse(&pc->req, pc->arena, raw.p, raw.len, SIP_PARSE_COPY, &perr) < 0) {
		sip_arena_free(pc->arena);
		free(pc);
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

static void lowercase_host(char *out, size_t cap, struct sip_pl host)
{
	size_t n = host.len < cap - 1 ? host.len : cap - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)host.p[i]);
	out[n] = '\0';
}

/* Replaces the call's request by the result of edits on it. */
static bool reparse(struct pcall *pc, struct sip_edit *e)
{
	char *buf = malloc(FWD_MAX);
	struct sip_parse_err perr;
	struct sip_msg *m;
	int n;
	bool ok = buf && (n = sip_edit_print(e, buf, FWD_MAX)) > 0 &&
	          sip_msg_parse(&m, pc->arena, buf, (size_t)n, SIP_PARSE_COPY, &perr) == 0;

	if (ok)
		pc->req = m;
	free(buf);
	return ok;
}

/* §18.2.1: the Via we forward carries where the request came from. */
static bool mark_received(struct pcall *pc)
{
	char via[1024];
	struct sip_edit *e;

	if (sipd_via_received(via, sizeof(via), pc->req, &pc->in) < 0)
		return false;
	return sip_edit_new(&e, pc->req) == 0 && sip_edit_via_pop(e) == 0 &&
	       sip_edit_via_push(e, sip_pl_cstr(via)) == 0 && reparse(pc, e);
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
	if (sips_request(pc) && t[0].proto != TP_TLS) {
		begin(pc); /* no TLS path: 480 */
		return;
	}
	pc->nt++;
	tg->to.proto = t[0].proto;
	tg->to.addr = t[0].addr;
	begin(pc);
}

/* The call's single next hop is uri (a Route or a foreign Request-URI):
 * numeric at once, a host name through DNS. */
static void single_target(struct pcall *pc, const struct sip_uri *uri)
{
	struct target *t = &pc->t[pc->nt];

	t->q = -1;
	t->name = SIP_PL_NULL;
	if (uri_dest(uri, &t->to) == 0) {
		flow_hop(pc, &t->to);
		/* A sips request along a Route that is not TLS: no TLS path. */
		if (t->to.proto == TP_TLS || !sips_request(pc))
			pc->nt++;
		begin(pc);
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

void sipd_proxy(struct sipd *s, struct tsx *st, const struct sip_msg *req,
                const struct tsx_peer *peer)
{
	struct pcall *pc;
	const struct sip_addr *from = sip_msg_from(req), *to = sip_msg_to(req);
	const struct sip_uri *fu = NULL;
	bool in_dialog = to && to->tag.len;

	uint32_t lh = loop_hash(req);
	if (is_loop(s, req, lh)) {
		sipd_reply(s, st, req, 482, NULL, NULL, 0);
		return;
	}
	if (!(pc = pcall_new(s, st, peer))) {
		sipd_reply(s, st, req, 500, NULL, NULL, 0);
		return;
	}
	/* The hash is of the request as it arrived, the same thing is_loop
	 * compares: one that passed our own Route entries has a shorter
	 * Route set the next time round and is a spiral, not a loop. */
	pc->loop = lh;
	if (sip_msg_method(req) == SIP_METHOD_INVITE)
		tsx_set_user(st, pc);

	if (!mark_received(pc) || !route_preprocess(pc)) {
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

/* ---- stateless forwarding (§16.11) ------------------------------------------------------ */

void sipd_proxy_ack(struct sipd *s, const struct sip_msg *ack, const struct tsx_peer *from)
{
	/* An ACK for a 2xx follows the Route set: drop our Route, send to the
	 * next one or the Request-URI. */
	const struct sip_hdr *rt = sip_msg_hdr(ack, SIP_HDR_ROUTE);
	struct sip_edit *e;
	struct tsx_peer to;
	char buf[FWD_MAX], host[80], via[256];
	uint16_t port;
	unsigned char rnd[8];
	char rhex[17];
	int n;

	if (sip_edit_new(&e, ack) < 0)
		return;
	/* Our own entries on top go: one, or two after a transport change
	 * (RFC 5658). */
	size_t pos = 0;
	struct tp_addr flow;
	bool has_flow = false;
	rt = sip_msg_hdr_next(ack, SIP_HDR_ROUTE, &pos);
	for (int i = 0; rt && i < 2; i++) {
		const struct sip_addr *ra;
		const struct sip_uri *ru;
		if (sip_msg_hdr_addr(ack, rt, &ra) < 0 || sip_msg_addr_uri(ack, ra, &ru) < 0 ||
		    !sipd_is_local_host(s, ru))
			break;
		has_flow = ru->user.len && sipd_flow_decode(s, ru->user, &flow);
		sip_edit_hdr_remove(e, rt);
		rt = sip_msg_hdr_next(ack, SIP_HDR_ROUTE, &pos);
	}
	if (rt ? pl_uri_dest(rt->value, &to) < 0 : uri_dest(sip_msg_ruri(ack), &to) < 0)
		return; /* nowhere we can reach: an ACK gets no answer anyway */
	if (!rt && has_flow && to.proto == TP_TLS && tp_conn_open(s->tp, TP_TLS, &flow))
		to.addr = flow; /* as flow_hop() */
	if (!local_for(s, to.proto, to.addr.ss.ss_family, host, sizeof(host), &port) ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		return;
	sip_hex_encode(rhex, rnd, sizeof(rnd));
	snprintf(via, sizeof(via), "SIP/2.0/%s %s:%u;branch=z9hG4bK%s", tp_proto_name(to.proto),
	         host, port, rhex);
	if (sip_edit_max_forwards(e) < 0 || sip_edit_via_push(e, sip_pl_cstr(via)) < 0 ||
	    (n = sip_edit_print(e, buf, sizeof(buf))) < 0)
		return;
	(void)from;
	sipd_send(s, to.proto, &to.addr, 0, buf, (size_t)n);
}

/* Over TCP or TLS, the connection the request came on is the way back
 * (§18.2.2, RFC 5923): its source port is the rport we filled in, while
 * the sent-by port is where a UA without a certificate listens for
 * nothing. */
static void stream_source(struct sipd *s, enum tp_proto proto, const struct sip_via *via,
                          struct tp_addr *dst)
{
	struct tp_addr src;
	char host[64];

	if (proto == TP_UDP || !via->rport)
		return;
	tp_addr_host(dst, host, sizeof(host));
	if (tp_addr_from_host(&src, sip_pl_cstr(host), via->rport) == 0 &&
	    tp_conn_open(s->tp, proto, &src))
		*dst = src;
}

void sipd_proxy_stray(struct sipd *s, const struct sip_msg *resp)
{
	/* A 2xx after its client transaction ended (a retransmission, or
	 * another fork's): forwarded statelessly by the next Via (§16.7). */
	const struct sip_via *top = sip_msg_via(resp);
	const struct sip_hdr *h;
	const struct sip_via *next = NULL;
	struct sip_uri u = {.scheme = SIP_SCHEME_SIP, .host_type = SIP_HOST_DOMAIN};
	struct sip_edit *e;
	struct tp_addr dst;
	uint64_t conn = 0;
	char buf[FWD_MAX];
	size_t pos = 0;
	int n;

	if (sip_msg_status(resp) / 100 != 2 || !top)
		return;
	u.host = top->host;
	u.port = top->port;
	if (!sipd_is_local_host(s, &u))
		return;
	sip_msg_hdr_next(resp, SIP_HDR_VIA, &pos);
	if (!(h = sip_msg_hdr_next(resp, SIP_HDR_VIA, &pos)) || sip_msg_hdr_via(resp, h, &next) < 0)
		return;
	if (tp_response_dest(NULL, next, &dst, &conn) < 0 || sip_edit_new(&e, resp) < 0 ||
	    sip_edit_via_pop(e) < 0 || (n = sip_edit_print(e, buf, sizeof(buf))) < 0)
		return;
	enum tp_proto proto = next->tp == SIP_TP_TLS   ? TP_TLS
	                      : next->tp == SIP_TP_TCP ? TP_TCP
	                                               : TP_UDP;
	stream_source(s, proto, next, &dst);
	sipd_send(s, proto, &dst, 0, buf, (size_t)n);
}
