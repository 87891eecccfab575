/*
 * transport.h — the transport layer (RFC 3261 §18): UDP, TCP and TLS (RFC
 * 3261 §26.2, RFC 5630) listeners on IPv4 and IPv6, an epoll event loop per worker thread with timers,
 * TCP framing with the message core's framer, connection reuse, idle
 * timeouts, RFC 5626 keep-alives, size and connection caps.
 *
 * The layer moves bytes: it hands each whole received message up through a
 * callback with where it came from, and sends bytes to a destination.
 * Parsing and the §18 rules about where a response goes live in the layer
 * above, which gets the helpers at the bottom of this file.
 *
 * Errors: the address helpers return 0 or a SIP_ERR_* code; the functions
 * that touch sockets (tp_new, tp_listen, tp_start, tp_send) return 0 or a
 * negative errno value (-ENOMEM, -EADDRINUSE ...).
 */
#ifndef LIBSIP_TRANSPORT_H
#define LIBSIP_TRANSPORT_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "libsip/base.h"
#include "libsip/hdr.h"

enum tp_proto {
	TP_UDP = 0,
	TP_TCP,
	TP_TLS, /* TCP with TLS 1.2+ (tls.c); framed and limited as TCP */
};

/* A socket address, IPv4 or IPv6. */
struct tp_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Parses "udp:127.0.0.1:5060", "tcp:[::1]:5060", "tls:127.0.0.1:5061"
 * (port optional: 5060, 5061 for tls).
 * Returns 0 or SIP_ERR_SYNTAX. */
int tp_listen_spec_parse(const char *spec, enum tp_proto *proto, struct tp_addr *addr);
/* Parses a numeric host ("192.0.2.1", "::1", "[::1]") and a port. */
int tp_addr_from_host(struct tp_addr *addr, struct sip_pl host, uint16_t port);
/* "127.0.0.1:5060" / "[::1]:5060" into buf; returns buf. */
const char *tp_addr_str(const struct tp_addr *addr, char *buf, size_t cap);
/* Numeric host without brackets, and port. */
void tp_addr_host(const struct tp_addr *addr, char *buf, size_t cap);
uint16_t tp_addr_port(const struct tp_addr *addr);
bool tp_addr_eq(const struct tp_addr *a, const struct tp_addr *b);
/* The address as 16 bytes of IPv6 (IPv4 as ::ffff:a.b.c.d), so that a
 * dual-stack peer compares equal in either form. false for no IP. */
bool tp_addr_ip16(const struct tp_addr *a, uint8_t out[16]);
const char *tp_proto_name(enum tp_proto p); /* "UDP", "TCP", "TLS" */

/* ---- configuration ------------------------------------------------------- */

struct tp_cfg {
	size_t max_msg;      /* largest message/datagram accepted (default 65536) */
	unsigned max_conns;  /* TCP connections in total (default 4096) */
	size_t max_conn_buf; /* bytes buffered per connection, in and out (default 256 KiB) */
	unsigned idle_ms;    /* TCP/TLS idle timeout, handshakes included (default 300000) */
	/* Accepted TCP/TLS connections from one source address at most
	 * (default 64; 0: no cap). */
	unsigned max_conns_per_source;
	/* A message begun on a connection must be complete within this many
	 * ms, or the connection is closed: a slow sender dribbling bytes never
	 * idles (default 20000; 0: no limit). */
	unsigned msg_timeout_ms;
	unsigned workers;   /* worker threads (default: number of cores) */
	int udp_rcvbuf;     /* SO_RCVBUF for UDP sockets (default 4 MiB) */
	bool udp_reuseport; /* UDP: a SO_REUSEPORT socket per worker (default: one shared) */
};

/* Fills cfg with the defaults above. max_conn_buf is raised to max_msg + 1
 * by tp_new when smaller (a whole message must fit). */
void tp_cfg_default(struct tp_cfg *cfg);

/* ---- received messages ---------------------------------------------------- */

/* One whole message as received. The bytes are valid only during the
 * callback (copy or parse with SIP_PARSE_COPY to keep them). */
struct tp_rx {
	const char *buf;
	size_t len;
	enum tp_proto proto;
	struct tp_addr src;   /* the peer */
	struct tp_addr local; /* the listener's address (outgoing TCP: the socket's) */
	uint64_t conn_id;     /* TCP/TLS connection it came on (0 for UDP), never 0 otherwise */
	unsigned worker;      /* index of the worker thread running the callback */
};

/* Called on a worker thread for every whole message (TCP: framed by
 * Content-Length; UDP: one datagram; keep-alives — CRLFCRLF pings on TCP,
 * datagrams of only CR/LF — are handled below and never get here).
 * Oversized input never gets here either (see tp_oversize_fn). The
 * callback may call tp_send; not tp_stop or tp_free. */
typedef void (*tp_recv_fn)(const struct tp_rx *rx, void *arg);

/* Called when a datagram or a framed TCP message is over max_msg, with
 * its first bytes (up to max_msg), so the layer above can answer 513 to a
 * request whose headers it can still read. A TCP connection is closed
 * after the callback (framing is lost), so a 513 can only go by UDP. May
 * be NULL (oversized input is then dropped). */
typedef void (*tp_oversize_fn)(const struct tp_rx *rx, void *arg);

/* ---- the transport --------------------------------------------------------- */

struct tp;

/* Creates the transport with cfg (copied; NULL: defaults), not yet
 * listening. recv must not be NULL. */
int tp_new(struct tp **out, const struct tp_cfg *cfg, tp_recv_fn recv, tp_oversize_fn oversize,
           void *arg);
/* Adds a listener before tp_start (UDP: one SO_REUSEPORT socket per
 * worker, or one socket all workers read, per cfg.udp_reuseport — see
 * DESIGN.md; TCP: one listening socket all workers accept from). IPv6
 * listeners are IPv6-only: add "[::]" and "0.0.0.0" for both. Returns 0
 * or -errno (-EBUSY once started) with the address in the log. */
int tp_listen(struct tp *t, enum tp_proto proto, const struct tp_addr *addr);
/* The bound address of listener i (port filled when 0 was asked). */
const struct tp_addr *tp_listener_addr(const struct tp *t, unsigned i, enum tp_proto *proto);
unsigned tp_listener_count(const struct tp *t);
/* Number of worker threads (cfg.workers, 0 resolved to the core count):
 * the nworkers of tsx_layer_tick. */
unsigned tp_worker_count(const struct tp *t);
/* Starts the worker threads; returns at once. */
int tp_start(struct tp *t);
/* Stops the workers and waits for them; safe from a signal-driven thread
 * (not from a signal handler, nor from a callback). Idempotent. */
void tp_stop(struct tp *t);
/* Frees everything, closing every socket and dropping queued bytes (calls
 * tp_stop first if needed). NULL is a no-op. */
void tp_free(struct tp *t);

/* Sends buf to dst over proto (buf is copied or written before it
 * returns). For TCP and TLS, conn_id != 0 sends on that connection if it is still
 * open; otherwise an open connection to dst is reused, else one is opened
 * (non-blocking; bytes are queued until it connects). UDP goes out of the
 * first UDP listener of dst's family. Thread-safe. Returns 0 or -errno
 * (the message is then not sent: a transport error for the transaction
 * layer). A TCP connection owned by another worker gets the bytes through
 * that worker's queue: 0 then means queued, and a later failure (refused
 * connect, output over max_conn_buf) is only logged. dst may be NULL when
 * conn_id is given (no fallback then). Errors: -EINVAL, -EMSGSIZE (over
 * max_conn_buf), -ESHUTDOWN (stopped), -EAFNOSUPPORT (no UDP listener of
 * that family), -ECONNREFUSED (max_conns reached), -ENOBUFS (output
 * buffer full), -ENOTCONN, -EPROTONOSUPPORT (TLS without
 * tp_tls_setup), or the socket's own error. A TLS connection queues the
 * bytes until its handshake is done; a failed handshake is logged. */
int tp_send(struct tp *t, enum tp_proto proto, const struct tp_addr *dst, uint64_t conn_id,
            const char *buf, size_t len);

/* An outgoing TCP/TLS connection that failed before it was of use (the
 * connect refused or timed out, the TLS handshake refused): the bytes
 * queued for peer are lost. Called on a worker thread, no lock held. */
typedef void (*tp_conn_error_fn)(enum tp_proto proto, const struct tp_addr *peer, void *arg);

/* Reports such failures to fn (with tp_new's arg); set before tp_start. */
void tp_set_conn_error(struct tp *t, tp_conn_error_fn fn);

/* ---- TLS (tls.c) ------------------------------------------------------------ */

/* TLS for a transport: the files are read by tp_tls_setup. A server needs
 * cert and key (TLS listeners serve them whatever name a client asks for
 * with SNI); a user agent may give only ca. */
struct tp_tls_cfg {
	const char *cert;   /* PEM certificate (chain), or NULL: no TLS listener */
	const char *key;    /* PEM private key of cert */
	const char *ca;     /* PEM CA certificates: outgoing connections verify the
	                       server against them (NULL: not verified) */
	bool verify_client; /* listeners require a client certificate signed by ca */
};

/* Sets TLS up (TLS 1.2 and later, forward-secret AEAD ciphers) before
 * tp_listen(TP_TLS) and tp_start. May be called once. Returns 0, -EINVAL
 * (key without cert, verify_client without ca, or a second call), -ENOENT
 * or -EPROTO (a file unreadable, or cert and key do not match; the reason
 * logged), -ENOMEM. Without it TP_TLS listens and sends fail with
 * -EPROTONOSUPPORT. */
int tp_tls_setup(struct tp *t, const struct tp_tls_cfg *cfg);

/* Reads cfg's files again (a renewed certificate, another CA file) after
 * tp_tls_setup, also while running: connections opened from then on use
 * them, open ones keep theirs. Same errors as tp_tls_setup, and -EINVAL
 * before tp_tls_setup or without a certificate while a TLS listener
 * exists; on error the contexts in use stay. */
int tp_tls_reload(struct tp *t, const struct tp_tls_cfg *cfg);

/* Opens a TCP or TLS connection to dst unless one is open (any worker's,
 * inbound ones included: RFC 5923 reuse), without blocking; the next
 * tp_send to dst uses it. For TLS, name (a host name, also sent as SNI;
 * NULL: dst's IP address) is remembered for dst as what the server's
 * certificate must name on every connection opened to dst from then on,
 * by this call or a later tp_send (the last 256 or so destinations are
 * remembered; one without a name has its IP address checked).
 * Thread-safe. Returns 0 (done or queued) or a tp_send error. */
int tp_connect(struct tp *t, enum tp_proto proto, const struct tp_addr *dst, const char *name);

/* True when a connection over proto to dst is open now (a flow a
 * registered user agent opened, which the layer above may reuse). */
bool tp_conn_open(struct tp *t, enum tp_proto proto, const struct tp_addr *dst);

/* ---- timers on the worker loops -------------------------------------------- */

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t tp_now_ms(void);

/* Called every tick_ms on every worker thread (worker = its index), for
 * the transaction layer's timer wheel. Set it before tp_start. */
typedef void (*tp_tick_fn)(unsigned worker, uint64_t now_ms, void *arg);
void tp_set_tick(struct tp *t, unsigned tick_ms, tp_tick_fn tick, void *arg);

/* ---- RFC 3261 §18 helpers for the layer above --------------------------------- */

/* §18.2.1 and RFC 3581 §4: true when the server must add received=<source
 * IP> to this top Via: the sent-by host is not the source IP (a host name
 * always differs), or the Via carries rport (then received is added even
 * when equal). rport= is to be filled with the source port exactly when
 * via->has_rport. */
bool tp_via_needs_received(const struct sip_via *via, const struct tp_addr *src);

/* §18.2.2 and RFC 3581 §4: where a response to a request that arrived as
 * rx with top Via via goes: for TCP back over rx's connection (*conn_id),
 * with *dst = source IP at the sent-by port (or 5060) as the fallback when
 * it has closed; for UDP to maddr at the sent-by port (or 5060), else to
 * the source IP at rport (the source port) or the sent-by port. rx may be
 * NULL (a proxy forwarding a response by the next Via, which carries the
 * received and rport it added): then received= (else the sent-by host)
 * and rport's value serve, with *conn_id 0. Returns 0, or
 * SIP_ERR_UNSUPPORTED when the destination is a host name (RFC 3263 DNS
 * is the caller's job). */
int tp_response_dest(const struct tp_rx *rx, const struct sip_via *via, struct tp_addr *dst,
                     uint64_t *conn_id);

#endif /* LIBSIP_TRANSPORT_H */
