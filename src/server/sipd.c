/*
 * sipd.c — the server's spine: the transport hands up whole messages, which
 * are parsed (per-worker arena, reset per message), checked (RFC 3261
 * §8.2, §16.3), and given to the transaction layer; requests that start a
 * transaction come back to the policy. Bad requests are answered with the
 * parser's status; bad responses and garbage are dropped and counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>

#include "libsip/build.h"
#include "libsip/hdr.h"
#include "auth.h"
#include "http.h"
#include "libsip/log.h"
#include "resolve/resolve.h"
#include "sipd.h"
#include "limits.h"
#include "trace.h"

#define RX_ARENA_LIMIT (4u * 1024 * 1024)

/* The receiving worker's arena, reset for this message: a worker parses
 * one message at a time and nothing else touches its arena. */
static struct sip_arena *worker_arena(struct sipd *s, unsigned worker)
{
	if (worker >= SIPD_MAX_WORKERS)
		return NULL;
	if (!s->arenas[worker] && sip_arena_new(&s->arenas[worker], RX_ARENA_LIMIT) < 0)
		return NULL;
	sip_arena_reset(s->arenas[worker]);
	return s->arenas[worker];
}

static void refuse(struct sipd *s, const struct tp_rx *rx, const struct sip_parse_err *perr)
{
	char src[80], where[61];

	atomic_fetch_add(&s->stats.parse_errors, 1);
	if (sip_log_enabled(SIP_LOG_DEBUG)) {
		sip_printable(where, sizeof(where), perr->where);
		sip_log(SIP_LOG_DEBUG, "%s %s: %s (%s)", tp_proto_name(rx->proto),
		        tp_addr_str(&rx->src, src, sizeof(src)), perr->reason, where);
	}
	if (perr->status)
		sipd_reply_broken(s, rx, perr->status, perr->reason);
	else
		atomic_fetch_add(&s->stats.dropped, 1);
}

/* Where responses to this request go (§18.2.2, RFC 3581). */
static int response_peer(const struct tp_rx *rx, const struct sip_msg *m, struct tsx_peer *peer)
{
	const struct sip_via *via = sip_msg_via(m);

	peer->proto = rx->proto;
	peer->src = rx->src;
	if (!via)
		return SIP_ERR_NO_HEADER;
	return tp_response_dest(rx, via, &peer->addr, &peer->conn_id);
}

/* 503 with Retry-After to a request, statelessly: for a source over its
 * rate and for a server at its transaction cap. Never to an ACK (it
 * takes no answer) nor to a response. */
static void overloaded(struct sipd *s, const struct sip_msg *req, const struct tsx_peer *peer)
{
	struct sipd_extra ra = {"Retry-After", SIP_PL("1")};

	if (sip_msg_is_request(req) && sip_msg_method(req) != SIP_METHOD_ACK)
		sipd_reply_stateless(s, req, peer, 503, &ra, 1);
}

/* Over its source's budget: a few 503s a second (the message parsed only
 * for them), the rest dropped unread. True when it is not to be handled. */
static bool rate_limited(struct sipd *s, const struct tp_rx *rx, struct sip_arena *a)
{
	const struct sipd_cfg *cfg = s->cfg;
	struct sip_msg *m;
	struct tsx_peer peer;
	enum limit_verdict v;

	if (!cfg->rate_limit || !s->limits)
		return false;
	v = limits_check(s->limits, &rx->src, cfg->rate_limit,
	                 cfg->rate_burst ? cfg->rate_burst : 2.0 * cfg->rate_limit,
	                 (int64_t)tp_now_ms());
	if (v == LIMIT_PASS)
		return false;
	atomic_fetch_add(&s->stats.rate_limited, 1);
	if (v == LIMIT_REFUSE && !cfg->rate_drop &&
	    sip_msg_parse(&m, a, rx->buf, rx->len, rx->proto == TP_UDP ? 0 : SIP_PARSE_STREAM,
	                  NULL) == 0 &&
	    sip_msg_is_request(m)) {
		peer = (struct tsx_peer){.proto = rx->proto, .src = rx->src};
		if (sip_msg_method(m) != SIP_METHOD_ACK && sip_msg_via(m) &&
		    tp_response_dest(rx, sip_msg_via(m), &peer.addr, &peer.conn_id) == 0) {
			overloaded(s, m, &peer);
			limits_told(s->limits, &rx->src);
		}
	}
	return true;
}

static void on_recv(const struct tp_rx *rx, void *arg)
{
	struct sipd *s = arg;
	struct sip_arena *a = worker_arena(s, rx->worker);
	struct sip_parse_err perr;
	struct sip_msg *m;
	struct tsx_peer peer;

	sipd_metrics_slot = rx->worker + 1; /* this worker's counters */
	if (!a || rate_limited(s, rx, a))
		return;
	if (sip_msg_parse(&m, a, rx->buf, rx->len, rx->proto == TP_UDP ? 0 : SIP_PARSE_STREAM,
	                  &perr) < 0 ||
	    sip_msg_check(m, &perr) < 0) {
		refuse(s, rx, &perr);
		return;
	}
	sipd_tap_rx(s, rx, m);
	if (sip_msg_is_request(m)) {
		if (response_peer(rx, m, &peer) < 0) {
			atomic_fetch_add(&s->stats.dropped, 1);
			return;
		}
		if (sipd_handle_stateless(s, m, &peer))
			return;
	} else {
		peer.proto = rx->proto;
		peer.addr = rx->src;
		peer.src = rx->src;
		peer.conn_id = rx->conn_id;
	}
	tsx_layer_recv(s->tsx, m, &peer);
}

/* A connection sipd opened failed before use (refused, a certificate
 * refused): the branches waiting on it get their 503 now. */
static void on_conn_error(enum tp_proto proto, const struct tp_addr *peer, void *arg)
{
	struct sipd *s = arg;

	tsx_layer_peer_failed(s->tsx, proto, peer);
}

static void on_oversize(const struct tp_rx *rx, void *arg)
{
	struct sipd *s = arg;

	atomic_fetch_add(&s->stats.oversize, 1);
	/* A request whose headers arrived can still learn why (§21.5.14). */
	sipd_reply_broken(s, rx, 513, "Message Too Large");
}

/* After a burst, give the memory of its ended transactions back to the
 * system: glibc keeps freed chunks in the middle of its heaps otherwise
 * (a load of 1,000 calls/s left ~700 MB resident a minute later). Once a
 * second, on worker 0: when the live transactions fell below a quarter of
 * their peak since the last trim. The trim walks the heaps (milliseconds
 * for gigabytes), so only when the load has just dropped. */
static void release_idle_memory(struct sipd *s)
{
	size_t live = tsx_layer_count(s->tsx);

	if (live > s->tsx_peak)
		s->tsx_peak = live;
	if (s->tsx_peak >= 1000 && live < s->tsx_peak / 4) {
		malloc_trim(0);
		s->tsx_peak = live;
	}
}

static void on_tick(unsigned worker, uint64_t now_ms, void *arg)
{
	struct sipd *s = arg;

	sipd_metrics_slot = worker + 1;
	tsx_layer_tick(s->tsx, worker, tp_worker_count(s->tp), now_ms);
	/* Bindings end on time by themselves: worker 0 sweeps once a second
	 * (a no-op for Redis, whose TTLs do it). */
	if (worker == 0) {
		int64_t now = auth_now();
		if (now != s->last_expire) {
			sipd_proxy_tick(s, now_ms);
			sipd_metrics_second(&s->metrics);
			release_idle_memory(s);
			long n = loc_expire(s->loc, now);
			s->last_expire = now;
			if (n > 0 && sip_log_enabled(SIP_LOG_DEBUG))
				sip_log(SIP_LOG_DEBUG, "location: %ld bindings expired", n);
		}
	}
}

/* ---- transaction layer callbacks ---------------------------------------- */

static int on_tsx_send(void *arg, const struct tsx_peer *to, const char *buf, size_t len)
{
	struct sipd *s = arg;

	return sipd_send(s, to->proto, &to->addr, to->conn_id, buf, len);
}

static void on_tsx_request(void *arg, struct tsx *st, const struct sip_msg *req,
                           const struct tsx_peer *from)
{
	sipd_handle_request(arg, st, req, from);
}

static void on_tsx_ack(void *arg, const struct sip_msg *ack, const struct tsx_peer *from)
{
	/* An ACK for a 2xx is its own transaction-less request (§17.2.3):
	 * it follows the dialog's route set through us. */
	sipd_proxy_ack(arg, ack, from);
}

static void on_tsx_stray(void *arg, const struct sip_msg *resp, const struct tsx_peer *from)
{
	struct sipd *s = arg;

	(void)from;
	atomic_fetch_add(&s->stats.stray_responses, 1);
	sipd_proxy_stray(s, resp);
}

static void on_tsx_done(void *arg, struct tsx *st, int reason)
{
	(void)arg;
	const struct sip_msg *req = tsx_request(st); /* NULL once shed */

	if (reason && req && sip_log_enabled(SIP_LOG_DEBUG)) {
		struct sip_pl cid = sip_msg_call_id(req);

		sip_log(SIP_LOG_DEBUG, "server transaction %.*s ended: %d", (int)cid.len, cid.p,
		        reason);
	}
}

static void on_tsx_overload(void *arg, const struct sip_msg *req, const struct tsx_peer *from)
{
	struct sipd *s = arg;

	atomic_fetch_add(&s->stats.overloaded, 1);
	overloaded(s, req, from);
}

static const struct tsx_ops tsx_ops = {
        .send = on_tsx_send,
        .request = on_tsx_request,
        .ack = on_tsx_ack,
        .stray_response = on_tsx_stray,
        .overload = on_tsx_overload,
        .server_done = on_tsx_done,
};

/* The location store and, unless switched off, authentication over it. */
static int open_store(struct sipd *s, const struct sipd_cfg *cfg)
{
	struct loc_cfg lc;
	struct auth_cfg ac;
	int err;

	loc_cfg_default(&lc);
	lc.max_contacts = cfg->max_contacts;
	if ((err = loc_open(&s->loc, cfg->location, &lc)) < 0) {
		sip_log(SIP_LOG_ERROR, "cannot open the location store %s (%s)", cfg->location,
		        loc_err_name(err));
		return err;
	}
	/* Made even when off: SIGHUP may switch it on (sipd_auth()). */
	if (!cfg->auth)
		sip_log(SIP_LOG_WARN, "authentication is off: anyone can register any address of "
		                      "this server's domains");
	auth_cfg_default(&ac);
	ac.nonce_ttl_s = cfg->nonce_ttl;
	auth_algs_parse(&ac, cfg->auth_algs); /* checked by sipd_cfg_parse */
	return auth_new(&s->auth, &ac, s->loc);
}

static struct tp_tls_cfg tls_cfg(const struct sipd_cfg *cfg)
{
	return (struct tp_tls_cfg){
	        .cert = cfg->tls_cert[0] ? cfg->tls_cert : NULL,
	        .key = cfg->tls_key[0] ? cfg->tls_key : NULL,
	        .ca = cfg->tls_ca[0] ? cfg->tls_ca : NULL,
	        .verify_client = cfg->tls_verify_client,
	};
}

/* TLS for the tls: listeners and the proxy's outgoing TLS (sips), when
 * configured: a certificate, or a CA file alone for verifying servers. */
static int setup_tls(struct sipd *s, const struct sipd_cfg *cfg)
{
	struct tp_tls_cfg tc = tls_cfg(cfg);
	int err;

	if (!tc.cert && !tc.ca)
		return 0;
	if ((err = tp_tls_setup(s->tp, &tc)) < 0)
		sip_log(SIP_LOG_ERROR, "cannot set TLS up (%s)", strerror(-err));
	return err;
}

int sipd_tls_reload(struct sipd *s, const struct sipd_cfg *cfg)
{
	struct tp_tls_cfg tc = tls_cfg(cfg);
	int err;

	if (!tc.cert && !tc.ca)
		return 0; /* TLS was never set up: config_file.c keeps it so */
	if ((err = tp_tls_reload(s->tp, &tc)) < 0)
		sip_log(SIP_LOG_ERROR, "reload: TLS files refused (%s): the ones read before stay",
		        strerror(-err));
	else
		sip_log(SIP_LOG_INFO, "reload: TLS certificate and CA files read again");
	return err;
}

int sipd_init(struct sipd *s, const struct sipd_cfg *cfg)
{
	char addr[80];
	int err;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	pthread_mutex_init(&s->calls_mu, NULL);
	if ((err = open_store(s, cfg)) < 0)
		return err;
	/* 2 s a try, 2 tries: a dead DNS costs a call 4 s, well inside
	 * timer B, and the caller gets a 503 rather than silence. */
	if ((err = rs_new(&s->dns, cfg->dns[0] ? cfg->dns : NULL, 2000, 2)) < 0) {
		sip_log(SIP_LOG_ERROR, "cannot start the DNS resolver (%s)",
		        cfg->dns[0] ? cfg->dns : "resolv.conf");
		return err;
	}
	if ((err = tp_new(&s->tp, &cfg->tp, on_recv, on_oversize, s)) < 0 ||
	    (err = limits_new(&s->limits, 65536)) < 0 ||
	    (err = tsx_layer_new(&s->tsx, &cfg->tsx, &tsx_ops, s)) < 0 ||
	    (err = sipd_metrics_init(&s->metrics, tp_worker_count(s->tp))) < 0)
		return err;
	tsx_layer_set_max(s->tsx, cfg->max_transactions);
	if ((err = setup_tls(s, cfg)) < 0 || (err = sipd_flow_init(s)) < 0)
		return err;
	/* The trace exists only for the dashboard: without the admin HTTP
	 * nobody could look at it. */
	if (cfg->http[0] && (err = trace_new(&s->trace)) < 0)
		return err;
	for (unsigned i = 0; i < cfg->nlisten; i++) {
		if ((err = tp_listen(s->tp, cfg->listen[i].proto, &cfg->listen[i].addr)) < 0) {
			sip_log(SIP_LOG_ERROR, "cannot listen on %s (%s:%s)", cfg->listen[i].spec,
			        tp_proto_name(cfg->listen[i].proto),
			        tp_addr_str(&cfg->listen[i].addr, addr, sizeof(addr)));
			return err;
		}
	}
	for (unsigned i = 0; i < tp_listener_count(s->tp) && i < SIPD_MAX_LISTEN; i++) {
		enum tp_proto proto;
		const struct tp_addr *a = tp_listener_addr(s->tp, i, &proto);

		tp_addr_host(a, s->local[i].host, sizeof(s->local[i].host));
		s->local[i].port = tp_addr_port(a);
		s->nlocal = i + 1;
	}
	/* The layer knows the time only from ticks: give it the clock now, or
	 * timers armed before the first worker tick would count from zero. */
	tsx_layer_tick(s->tsx, 0, 1, tp_now_ms());
	tp_set_tick(s->tp, 10, on_tick, s);
	tp_set_conn_error(s->tp, on_conn_error);
	return 0;
}

int sipd_start(struct sipd *s)
{
	const struct sipd_cfg *cfg = s->cfg;
	int err;

	if ((err = tp_start(s->tp)) < 0)
		return err;
	return cfg->http[0] ? sipd_http_start(&s->http, s) : 0;
}

void sipd_shutdown(struct sipd *s)
{
	/* The admin side first: its handlers read the store and the layers. */
	sipd_http_stop(s->http);
	s->http = NULL;
	if (s->tp)
		tp_stop(s->tp);
	/* Pending lookups and store writes finish (and answer) before the
	 * layers go. */
	rs_free(s->dns);
	s->dns = NULL;
	loc_close(s->loc);
	s->loc = NULL;
	if (s->tsx)
		tsx_layer_free(s->tsx);
	sipd_proxy_shutdown(s);
	if (s->tp)
		tp_free(s->tp);
	limits_free(s->limits);
	s->limits = NULL;
	auth_free(s->auth);
	s->auth = NULL;
	for (unsigned i = 0; i < SIPD_MAX_WORKERS; i++)
		sip_arena_free(s->arenas[i]);
	memset(s->arenas, 0, sizeof(s->arenas));
	trace_free(s->trace);
	sipd_flow_fini(s);
	s->trace = NULL;
	sipd_metrics_free(&s->metrics);
	s->tp = NULL;
	s->tsx = NULL;
}
