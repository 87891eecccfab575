/*
 * tp_priv.h — the transport layer's private structures (RFC 3261 §18):
 * the transport, its worker threads with their epoll loops, listeners,
 * TCP and TLS connections and the index that finds a connection by id or by peer.
 *
 * Ownership: a worker owns the connections it accepted or opened; only its
 * thread touches their sockets and buffers. Other threads reach them
 * through the worker's job queue (tp_send). The index is the one structure
 * shared by all workers, under its own mutex, and other threads read only
 * a connection's immutable fields (id, peer, worker) through it.
 */
#ifndef SIPD_TP_PRIV_H
#define SIPD_TP_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "libsip/frame.h"
#include "libsip/log.h"
#include "libsip/transport.h"

/* A conn_id carries its worker in the low bits, so a sender finds the
 * owning worker without a lookup. */
#define TP_WORKER_BITS 12
#define TP_MAX_WORKERS (1u << TP_WORKER_BITS)

/* What an epoll event points at: every registered object starts with one. */
enum tp_io_kind {
	TP_IO_WAKE,   /* the worker's eventfd: jobs queued, or stop */
	TP_IO_UDP,    /* a UDP listening socket */
	TP_IO_LISTEN, /* a TCP or TLS listening socket */
	TP_IO_CONN,   /* a TCP or TLS connection */
};

struct tp_io {
	enum tp_io_kind kind;
	int fd;
};

struct tp_listener;

/* One socket of a listener (UDP with SO_REUSEPORT has one per worker). */
struct tp_lsock {
	struct tp_io io;
	struct tp_listener *l;
};

struct tp_listener {
	enum tp_proto proto;
	struct tp_addr addr; /* as bound (port filled in) */
	unsigned nsock;
	struct tp_lsock *socks;
};

struct tp_conn;
struct ssl_st; /* OpenSSL's SSL */

/* How a connection moves its bytes: plain TCP (tcp.c) or TLS (tls.c).
 * Framing, buffers, limits and timeouts are the same for both. */
struct tp_stream_ops {
	const char *name; /* "tcp", "tls": for log lines */
	/* n > 0 bytes moved; 0: the peer closed (read only); -EAGAIN: wait
	 * for the next event; another -errno: the connection is lost. */
	ssize_t (*read)(struct tp_conn *c, char *buf, size_t len);
	ssize_t (*write)(struct tp_conn *c, const char *buf, size_t len);
	/* Bytes already read from the socket and waiting in the stream (TLS
	 * records), which no epoll event will announce. */
	bool (*pending)(const struct tp_conn *c);
	/* Lets go of the stream's own state as the connection closes. */
	void (*release)(struct tp_conn *c);
};

struct tp_conn {
	struct tp_io io;
	const struct tp_stream_ops *ops;
	enum tp_proto proto; /* TP_TCP or TP_TLS */
	struct ssl_st *ssl;  /* TLS only */
	uint64_t id;
	struct tp_addr peer, local;
	unsigned worker;
	/* index chains (under the index mutex) */
	struct tp_conn *id_next, *peer_next;
	/* the worker's idle list, least recently active first; also the
	 * worker's list of closed connections waiting to be freed */
	struct tp_conn *lru_prev, *lru_next;
	uint64_t last_ms;
	bool connecting;        /* outgoing connect in progress */
	bool handshaking;       /* TLS handshake not finished: output waits */
	bool dead;              /* closed: its events in this epoll batch are stale */
	bool want_out;          /* EPOLLOUT is armed */
	bool per_source;        /* accepted: counted in the index's per-source counts */
	bool outgoing;          /* we opened it: a failure before it served is reported */
	bool served;            /* a message went out or came in over it */
	uint64_t partial_since; /* when the unfinished message in `in` began, 0: none */
	struct sip_framer fr;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_off, out_len, out_cap; /* pending bytes: out[out_off..out_len) */
};

/* Bytes for a TCP/TLS connection owned by another worker, or (connect)
 * a connection to open. */
struct tp_job {
	struct tp_job *next;
	uint64_t conn_id;
	enum tp_proto proto;
	bool connect;
	struct tp_addr dst; /* family AF_UNSPEC: none */
	unsigned hops;      /* times passed on between workers */
	size_t len;
	char data[];
};

struct tp_udp_batch; /* recvmmsg buffers, udp.c */
struct tp_tls;       /* TLS contexts, tls.c */

struct tp_worker {
	struct tp *t;
	unsigned idx;
	pthread_t thread;
	bool started;
	int ep;
	struct tp_io wake; /* eventfd */
	pthread_mutex_t mu;
	struct tp_job *jobs, **jobs_tail; /* under mu */
	uint64_t now;                     /* tp_now_ms() after the last wait */
	uint64_t next_tick;
	uint64_t next_seq; /* connection ids */
	struct tp_conn *lru_head, *lru_tail;
	struct tp_conn *grave;
	struct tp_udp_batch *udp;
	uint64_t refuse_log_ms;   /* last "connection refused" log line */
	uint64_t next_slow_sweep; /* when to look for slow senders again */
	int spare_fd;             /* given up to accept-and-close at EMFILE */
};

/* Accepted connections per source address (open addressing, linear
 * probing, room for twice max_conns addresses: it never fills). */
struct tp_src_count {
	uint8_t addr[16]; /* IPv4 mapped into IPv6 */
	uint32_t n;       /* 0: free */
};

/* Connections of all workers by id and by peer address (chained hash). */
struct tp_index {
	pthread_mutex_t mu;
	struct tp_conn **by_id, **by_peer;
	size_t nbuckets, count, max;
	struct tp_src_count *src;
	size_t src_mask;
	unsigned max_per_source;
};

struct tp {
	struct tp_cfg cfg;
	tp_recv_fn recv;
	tp_oversize_fn oversize;
	tp_conn_error_fn conn_error;
	void *arg;
	tp_tick_fn tick;
	void *tick_arg;
	unsigned tick_ms;
	struct tp_listener **ls; /* pointers: sockets point back at them */
	unsigned nls;
	struct tp_worker *w;
	unsigned nw;
	struct tp_index index;
	struct tp_tls *tls; /* NULL until tp_tls_setup */
	atomic_bool stop;
	bool started;
};

/* ---- addr.c ---- */
void tp_addr_set(struct tp_addr *a, const struct sockaddr *sa, socklen_t len);
/* Same IP (an IPv4 address equals its IPv4-mapped IPv6 form); ports aside. */
bool tp_addr_ip_eq(const struct tp_addr *a, const struct tp_addr *b);
uint64_t tp_addr_hash(const struct tp_addr *a);

/* ---- loop.c ---- */
int tp_worker_init(struct tp_worker *w, struct tp *t, unsigned idx);
void tp_worker_fini(struct tp_worker *w);
int tp_worker_watch(struct tp_worker *w, struct tp_io *io, uint32_t events);
void *tp_worker_main(void *arg);
void tp_worker_post(struct tp_worker *w, struct tp_job *job);
void tp_worker_wake(struct tp_worker *w);
struct tp_worker *tp_worker_self(const struct tp *t);

/* ---- udp.c ---- */
int tp_udp_listen(struct tp *t, struct tp_listener *l);
int tp_udp_batch_new(struct tp_worker *w);
void tp_udp_batch_free(struct tp_worker *w);
void tp_udp_readable(struct tp_worker *w, struct tp_lsock *s);
int tp_udp_send(struct tp *t, const struct tp_addr *dst, const char *buf, size_t len);

/* ---- conn.c ---- */
int tp_index_init(struct tp_index *ix, size_t max, unsigned max_per_source);
void tp_index_fini(struct tp_index *ix);
/* Takes fd (closed on failure, *err set: -ECONNREFUSED over max_conns).
 * proto TP_TLS: tp_tls_attach follows. */
struct tp_conn *tp_conn_new(struct tp_worker *w, int fd, enum tp_proto proto,
                            const struct tp_addr *peer, const struct tp_addr *local,
                            bool connecting, int *err);
/* This worker's connection with this id, or NULL. */
struct tp_conn *tp_conn_find(struct tp_worker *w, uint64_t id);
/* Any worker's newest connection over proto to peer: its id and worker. */
bool tp_conn_peer(struct tp *t, enum tp_proto proto, const struct tp_addr *peer, uint64_t *id,
                  unsigned *worker);
/* Asks for EPOLLOUT (on) or stops asking. */
void tp_conn_arm_out(struct tp_worker *w, struct tp_conn *c, bool on);
void tp_conn_touch(struct tp_worker *w, struct tp_conn *c);
void tp_conn_close(struct tp_worker *w, struct tp_conn *c, const char *why);
int tp_conn_write(struct tp_worker *w, struct tp_conn *c, const char *buf, size_t len);
void tp_conn_flush(struct tp_worker *w, struct tp_conn *c);
void tp_conn_expire(struct tp_worker *w);
uint64_t tp_conn_next_expiry(const struct tp_worker *w);
void tp_conn_reap(struct tp_worker *w);
void tp_conn_free_all(struct tp_worker *w);

/* ---- tcp.c ---- */
int tp_tcp_listen(struct tp *t, struct tp_listener *l);
void tp_tcp_acceptable(struct tp_worker *w, struct tp_lsock *s);
void tp_tcp_event(struct tp_worker *w, struct tp_conn *c, uint32_t events);
/* Runs a queued send on its worker; frees the job or passes it on. */
void tp_tcp_job(struct tp_worker *w, struct tp_job *job);
/* Where a send goes: proto, the connection (0: any), the peer (NULL: only
 * that connection). */
struct tp_dst {
	enum tp_proto proto;
	uint64_t conn_id;
	const struct tp_addr *addr;
};
/* Sends on a connection of this worker (finding or opening it); buf NULL
 * only opens it. Returns 0, -errno, or TP_ELSEWHERE with *owner set when
 * another worker has the connection to dst (owner NULL: open one here
 * instead). */
#define TP_ELSEWHERE 1
int tp_tcp_send_local(struct tp_worker *w, const struct tp_dst *d, const char *buf, size_t len,
                      unsigned *owner);
extern const struct tp_stream_ops tp_stream_tcp;

/* ---- tls.c ---- */
extern const struct tp_stream_ops tp_stream_tls;
void tp_tls_free(struct tp_tls *tls);
/* True when TLS is set up with a certificate to serve (NULL: false). */
bool tp_tls_can_serve(const struct tp_tls *tls);
/* Gives new connection c its TLS session: the server side of a listener's,
 * or the client side, checking the name tp_tls_expect gave c->peer (else
 * its address). Returns 0 or -errno (the caller closes c). */
int tp_tls_attach(struct tp_worker *w, struct tp_conn *c, bool server);
/* Remembers name (NULL: none) as what the certificate of a TLS server at
 * dst must name, for every connection opened to dst from now on. Returns
 * 0, -EINVAL (name too long) or -ENOMEM. */
int tp_tls_expect(struct tp_tls *tls, const struct tp_addr *dst, const char *name);
/* Moves the handshake on; at its end the queued output is flushed. */
void tp_tls_handshake(struct tp_worker *w, struct tp_conn *c);

#endif /* SIPD_TP_PRIV_H */
