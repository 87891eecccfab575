/*
 * ua.h — the user agent's core: a transport bound to a local address, a
 * transaction layer over it, and requests built the way RFC 3261 §8.1.1
 * says (Via with a fresh branch, From tag, Call-ID, CSeq, Max-Forwards).
 * The sipua commands are built on it.
 */
#ifndef SIPD_UA_H
#define SIPD_UA_H

#include <pthread.h>

#include "libsip/msg.h"
#include "libsip/transport.h"
#include "libsip/tsx.h"

/* What the program above hears (every hook optional; without a request
 * hook every request is refused with 501). All run on the worker thread,
 * except that the layer may report inline on the caller's. */
#define UA_VERSION "0.1.0"

struct ua_hooks {
	void (*request)(void *arg, struct tsx *st, const struct sip_msg *req,
	                const struct tsx_peer *from);
	void (*ack)(void *arg, const struct sip_msg *ack, const struct tsx_peer *from);
	void (*stray)(void *arg, const struct sip_msg *resp, const struct tsx_peer *from);
	void (*tick)(void *arg, uint64_t now_ms); /* every 10 ms */
};

struct ua_cfg {
	const char *local; /* "127.0.0.1" (port 0: any) or "127.0.0.1:5070" */
	const char *dns;   /* DNS server for RFC 3263 ("127.0.0.1:5353"), NULL: the system's */
	/* TLS (sips:, transport=tls): CA certificates servers are verified
	 * against, and an optional client certificate; all NULL: no TLS. */
	const char *tls_ca, *tls_cert, *tls_key;
	struct tsx_cfg tsx;
	const struct ua_hooks *hooks;
	void *hooks_arg;
};

struct rs_resolver;

struct ua {
	struct ua_cfg cfg;
	struct tp *tp;
	struct tsx_layer *tsx;
	struct sip_arena *arena; /* the receive path's, one worker */
	struct tp_addr udp, tcp; /* bound local addresses */
	struct rs_resolver *rs;  /* made on the first host name, NULL before */
	bool tls;                /* TLS set up (cfg.tls_*): sips: and transport=tls */
	pthread_mutex_t rs_mu;
};

/* Binds UDP and TCP on cfg->local (the same port) and starts one worker.
 * Returns 0 or a negative error, logged. */
int ua_start(struct ua *ua, const struct ua_cfg *cfg);
void ua_stop(struct ua *ua);

/* Where a request for uri goes: its numeric host and port, over its
 * transport= parameter (UDP default; TLS and port 5061 for sips:, which
 * needs TLS set up). Returns 0, or SIP_ERR_UNSUPPORTED with a message on
 * stderr. */
int ua_target(const struct ua *ua, const struct sip_uri *uri, struct tsx_peer *to);

/* Where a request may go, in the order to try (RFC 3263 §4.3: on a
 * transport error or a timeout, the next one). */
#define UA_MAX_TARGETS 4
struct ua_targets {
	struct tsx_peer t[UA_MAX_TARGETS];
	size_t n, cur;
};

/* Where a request for uri goes, per RFC 3263 (src/resolve): fn runs once
 * with err 0 and at least one target (cur 0), or an error — inline for a
 * numeric host, else later on the resolver's thread. Returns 0 when fn
 * will run, else the error (a bad URI, an unsupported scheme or
 * transport). */
typedef void (*ua_locate_fn)(void *arg, int err, const struct ua_targets *ts);
int ua_locate(struct ua *ua, struct sip_pl uri, ua_locate_fn fn, void *arg);

/* The name of an error of ua_locate (RS_ERR_* included). */
const char *ua_err_name(int err);

/* Writes a Via value for a request over proto from our listener, with a
 * fresh branch and rport (RFC 3581). */
void ua_via(const struct ua *ua, enum tp_proto proto, char *buf, size_t cap);

/* Sends bytes outside any transaction (an ACK for a 2xx). 0 or -errno. */
int ua_send(struct ua *ua, const struct tsx_peer *to, const char *buf, size_t len);

/* Random lower-case hex of n chars (branch, tag, Call-ID material). */
void ua_random_hex(char *out, size_t n);

/* Builds an out-of-dialog request (§8.1.1) for method to ruri over the
 * transport of `to`, with extra header lines (each "Name: value", no
 * CRLF). Returns its length or SIP_ERR_NOSPACE. */
int ua_build_request(struct ua *ua, char *buf, size_t cap, const char *method, struct sip_pl ruri,
                     const struct tsx_peer *to, const char *const *extra, size_t nextra);

#endif /* SIPD_UA_H */
