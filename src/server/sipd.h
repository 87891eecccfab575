/*
 * sipd.h — the server context shared by the files of src/server: the
 * configuration, the transport, the transaction layer and the counters.
 */
#ifndef SIPD_SIPD_H
#define SIPD_SIPD_H

#include <pthread.h>
#include <stdatomic.h>

#include "config.h"
#include "libsip/msg.h"
#include "libsip/transport.h"
#include "libsip/tsx.h"
#include "location/location.h"
#include "metrics.h"

struct auth;
struct hmac_pool;
struct pcall;
struct rs_resolver;
struct trace;
struct sipd_http;

/* Rare events, shared by all threads. Messages by method are counted per
 * worker in metrics. */
struct sipd_stats {
	atomic_ulong parse_errors, dropped, oversize, stray_responses;
	/* over a source's --rate-limit; refused at --max-transactions */
	atomic_ulong rate_limited, overloaded;
};

#define SIPD_MAX_WORKERS 256

struct sipd {
	/* Swapped whole on SIGHUP (main.c); read it once per decision. */
	_Atomic(const struct sipd_cfg *) cfg;
	struct sip_arena *arenas[SIPD_MAX_WORKERS]; /* one per worker, for parsing */
	struct tp *tp;
	struct tsx_layer *tsx;
	struct loc_store *loc;
	struct limits *limits;   /* per-source rate limits (limits.h) */
	struct auth *auth;       /* used while cfg->auth is on: see sipd_auth() */
	struct rs_resolver *dns; /* RFC 3263 lookups for host names */
	int64_t last_expire;     /* when bindings were last expired (unix s) */
	size_t tsx_peak;         /* most live transactions since the last trim */
	/* Proxied INVITEs waiting for a final response, for timer C. */
	pthread_mutex_t calls_mu;
	struct pcall *calls;
	struct pcall *ringing; /* the INVITEs of calls not yet seen answered */
	struct sipd_stats stats;
	struct sipd_metrics metrics;
	struct trace *trace;        /* recent calls, while the admin HTTP is on */
	struct sipd_http *http;     /* the admin HTTP server, or NULL */
	struct hmac_pool *flow_mac; /* authenticates flow tokens (flow.c), keyed at start */
	/* The listeners' numeric hosts and ports, printed once at start-up
	 * for sipd_is_local_host(), which runs for every request. */
	struct {
		char host[64];
		uint16_t port;
	} local[SIPD_MAX_LISTEN];
	unsigned nlocal;
};

/* Digest authentication, or NULL while the configuration has it off. */
static inline struct auth *sipd_auth(const struct sipd *s)
{
	const struct sipd_cfg *cfg = s->cfg;

	return cfg->auth ? s->auth : NULL;
}

/* Creates the transport and transaction layer and binds every listener.
 * Returns 0 or a negative error (logged). */
int sipd_init(struct sipd *s, const struct sipd_cfg *cfg);
/* Starts the workers. */
int sipd_start(struct sipd *s);
/* Stops the workers and frees everything. */
void sipd_shutdown(struct sipd *s);
/* SIGHUP: reads cfg's TLS files again for the connections to come.
 * Returns 0 or an error (logged; the files read before stay). */
int sipd_tls_reload(struct sipd *s, const struct sipd_cfg *cfg);

/* Counts a refused credential (registrar and proxy). */
static inline void sipd_auth_failed(struct sipd *s)
{
	sipd_inc(&sipd_ctr(&s->metrics)->auth_failures);
}

/* ---- the taps on the wire (tap.c) ------------------------------------------ */

/* Notes a received, parsed message: counters, and the call trace. */
void sipd_tap_rx(struct sipd *s, const struct tp_rx *rx, const struct sip_msg *m);
/* tp_send with the same noting: every message sipd sends goes here. */
int sipd_send(struct sipd *s, enum tp_proto proto, const struct tp_addr *dst, uint64_t conn_id,
              const char *buf, size_t len);

/* ---- request policy (policy.c) ---------------------------------------- */

/* Handles a request that created server transaction st: answers it. */
void sipd_handle_request(struct sipd *s, struct tsx *st, const struct sip_msg *req,
                         const struct tsx_peer *peer);

/* Answers statelessly the requests that need no transaction: OPTIONS to
 * the server itself (as Kamailio's sl_send_reply does), which is what
 * keep-alive probes send by the thousand. True when it answered. */
bool sipd_handle_stateless(struct sipd *s, const struct sip_msg *req, const struct tsx_peer *peer);

/* True when the URI names this server: one of its domains, or the host of
 * one of its listeners (any port for a domain, the listener's for an IP). */
bool sipd_is_local_host(const struct sipd *s, const struct sip_uri *uri);

/* ---- registrar (registrar.c) ------------------------------------------------ */

/* Handles a REGISTER for one of the server's domains on server
 * transaction st (RFC 3261 §10.3); answers now or when the store has
 * committed the change. */
void sipd_register(struct sipd *s, struct tsx *st, const struct tsx_peer *peer);

/* ---- proxy (proxy.c) ----------------------------------------------------------- */

/* Routes a request that is not for the server itself (§16): to the
 * bindings of a local AOR, along its Route set, or — for an
 * authenticated local caller — to another domain. Answers it itself
 * when it cannot (403, 404, 407, 480, 482 ...). */
void sipd_proxy(struct sipd *s, struct tsx *st, const struct sip_msg *req,
                const struct tsx_peer *peer);
/* A CANCEL matched INVITE server transaction inv: cancels its branches. */
void sipd_proxy_cancel(struct sipd *s, struct tsx *inv);
/* An ACK that belongs to no transaction (for a 2xx): along its route. */
void sipd_proxy_ack(struct sipd *s, const struct sip_msg *ack, const struct tsx_peer *from);
/* Timer C (§16.6 step 11, §16.8): an INVITE branch that rang for longer
 * than --timer-c without a final response is cancelled. Called once a
 * second. */
void sipd_proxy_tick(struct sipd *s, uint64_t now_ms);
/* Frees the calls still open when the server stops (after the
 * transaction layer is gone). */
void sipd_proxy_shutdown(struct sipd *s);
/* A response without its client transaction: a late 2xx, forwarded. */
void sipd_proxy_stray(struct sipd *s, const struct sip_msg *resp);

/* ---- flow tokens (flow.c) ------------------------------------------------ */

/* Makes the key of this run's flow tokens. Returns 0, SIP_ERR_NOMEM or
 * SIP_ERR_UNSUPPORTED (no HMAC-SHA256 in the crypto provider). */
int sipd_flow_init(struct sipd *s);
/* Lets go of the key. */
void sipd_flow_fini(struct sipd *s);
/* The token naming peer (a connection's far end) as a URI user part, NUL-
 * terminated in buf (80 bytes hold any). Returns 0, SIP_ERR_NOSPACE, or
 * SIP_ERR_NOMEM when OpenSSL cannot compute the MAC. */
int sipd_flow_token(const struct sipd *s, const struct tp_addr *peer, char *buf, size_t cap);
/* True, with *peer, when user is a token this run made. */
bool sipd_flow_decode(const struct sipd *s, struct sip_pl user, struct tp_addr *peer);

/* ---- responses (reply.c) ------------------------------------------------ */

/* Headers added to a response besides the ones copied from the request. */
struct sipd_extra {
	const char *name;
	struct sip_pl value;
};

/* Builds the response (status, reason or the default phrase) to req on
 * server transaction st with the extra headers, and sends it through the
 * transaction. The top Via gets received/rport from the peer (§18.2.1,
 * RFC 3581). */
int sipd_reply(struct sipd *s, struct tsx *st, const struct sip_msg *req, int status,
               const char *reason, const struct sipd_extra *extra, size_t nextra);

/* The same without a transaction (§8.2.7 stateless UAS): sent straight to
 * peer. A retransmitted request gets an identical response (the To tag is
 * derived from the request). */
int sipd_reply_stateless(struct sipd *s, const struct sip_msg *req, const struct tsx_peer *peer,
                         int status, const struct sipd_extra *extra, size_t nextra);

/* The request's top Via value as a proxy forwards it: with received and
 * a filled rport (§18.2.1, RFC 3581), NUL-terminated in buf. Returns its
 * length or an error. */
int sipd_via_received(char *buf, size_t cap, const struct sip_msg *req,
                      const struct tsx_peer *peer);

/* Answers a request that did not parse, statelessly, to where it came
 * from. Does nothing when no response can be built (no Via). */
void sipd_reply_broken(struct sipd *s, const struct tp_rx *rx, int status, const char *reason);

#endif /* SIPD_SIPD_H */
