/*
 * tp.c — the transport as a whole (RFC 3261 §18): configuration, listeners,
 * the worker threads and their start and stop, and tp_send, which picks
 * the worker owning a TCP or TLS connection (§18.2.2: a response goes back on the
 * request's connection) and either writes at once — when called on that
 * worker — or queues the bytes to it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "tp_priv.h"

void tp_cfg_default(struct tp_cfg *cfg)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	cfg->max_msg = 65536;
	cfg->max_conns = 4096;
	cfg->max_conn_buf = 256 * 1024;
	cfg->idle_ms = 300000;
	cfg->max_conns_per_source = 64;
	cfg->msg_timeout_ms = 20000;
	cfg->workers = n > 0 ? (unsigned)n : 1;
	cfg->udp_rcvbuf = 4 * 1024 * 1024;
	/* One shared socket: a single busy peer (an upstream proxy, an SBC)
	 * still reaches every worker, where reuseport caps it at one core;
	 * bench/tp_udp.c has the figures. */
	cfg->udp_reuseport = false;
}

/* Workers 0 means one per core; a whole message must fit a connection's
 * buffer. */
static int cfg_fix(struct tp_cfg *cfg)
{
	if (cfg->max_msg == 0 || cfg->max_msg > (1u << 30))
		return -EINVAL;
	if (cfg->workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		cfg->workers = n > 0 ? (unsigned)n : 1;
	}
	if (cfg->workers > TP_MAX_WORKERS)
		cfg->workers = TP_MAX_WORKERS;
	if (cfg->max_conn_buf < cfg->max_msg + 1)
		cfg->max_conn_buf = cfg->max_msg + 1;
	return 0;
}

int tp_new(struct tp **out, const struct tp_cfg *cfg, tp_recv_fn recv, tp_oversize_fn oversize,
           void *arg)
{
	struct tp *t;
	int err;

	if (!out || !recv)
		return -EINVAL;
	if (!(t = calloc(1, sizeof(*t))))
		return -ENOMEM;
	if (cfg)
		t->cfg = *cfg;
	else
		tp_cfg_default(&t->cfg);
	t->recv = recv;
	t->oversize = oversize;
	t->arg = arg;
	atomic_init(&t->stop, false);
	if ((err = cfg_fix(&t->cfg)) < 0 ||
	    (err = tp_index_init(&t->index, t->cfg.max_conns, t->cfg.max_conns_per_source)) < 0)
		goto fail;
	if (!(t->w = calloc(t->cfg.workers, sizeof(*t->w)))) {
		err = -ENOMEM;
		goto fail;
	}
	while (t->nw < t->cfg.workers) {
		/* Counted before init: tp_free undoes a half-made worker. */
		err = tp_worker_init(&t->w[t->nw], t, t->nw);
		t->nw++;
		if (err < 0)
			goto fail;
	}
	*out = t;
	return 0;
fail:
	tp_free(t);
	return err;
}

static void listener_free(struct tp_listener *l)
{
	for (unsigned i = 0; l->socks && i < l->nsock; i++)
		if (l->socks[i].io.fd >= 0)
			close(l->socks[i].io.fd);
	free(l->socks);
	free(l);
}

/* As in a listen spec, so a log line can be pasted into a config. */
static const char *spec_name(enum tp_proto proto)
{
	return proto == TP_TLS ? "tls" : proto == TP_TCP ? "tcp" : "udp";
}

int tp_listen(struct tp *t, enum tp_proto proto, const struct tp_addr *addr)
{
	struct tp_listener *l, **ls;
	char buf[64];
	int err;

	if (t->started)
		return -EBUSY;
	if (proto == TP_TLS && !tp_tls_can_serve(t->tls)) {
		sip_log(SIP_LOG_ERROR, "transport: cannot listen on tls:%s: no certificate",
		        tp_addr_str(addr, buf, sizeof(buf)));
		return -EPROTONOSUPPORT;
	}
	if (!(ls = realloc(t->ls, (t->nls + 1) * sizeof(*ls))))
		return -ENOMEM;
	t->ls = ls;
	if (!(l = calloc(1, sizeof(*l))))
		return -ENOMEM;
	l->proto = proto;
	l->addr = *addr;
	err = proto == TP_UDP ? tp_udp_listen(t, l) : tp_tcp_listen(t, l);
	if (err < 0) {
		sip_log(SIP_LOG_ERROR, "transport: cannot listen on %s:%s: %s", spec_name(proto),
		        tp_addr_str(addr, buf, sizeof(buf)), strerror(-err));
		listener_free(l);
		return err;
	}
	t->ls[t->nls++] = l;
	sip_log(SIP_LOG_DEBUG, "transport: listening on %s:%s%s", spec_name(proto),
	        tp_addr_str(&l->addr, buf, sizeof(buf)),
	        proto == TP_UDP && l->nsock > 1 ? " (SO_REUSEPORT socket per worker)" : "");
	return 0;
}

const struct tp_addr *tp_listener_addr(const struct tp *t, unsigned i, enum tp_proto *proto)
{
	if (i >= t->nls)
		return NULL;
	if (proto)
		*proto = t->ls[i]->proto;
	return &t->ls[i]->addr;
}

unsigned tp_listener_count(const struct tp *t)
{
	return t->nls;
}

unsigned tp_worker_count(const struct tp *t)
{
	return t->nw;
}

void tp_set_tick(struct tp *t, unsigned tick_ms, tp_tick_fn tick, void *arg)
{
	t->tick_ms = tick_ms ? tick_ms : 1;
	t->tick = tick;
	t->tick_arg = arg;
}

/* Puts the listening sockets in worker w's epoll set. Shared sockets are
 * EPOLLEXCLUSIVE: one event wakes one worker, not all of them. */
static int watch_listeners(struct tp *t, struct tp_worker *w)
{
	for (unsigned i = 0; i < t->nls; i++) {
		struct tp_listener *l = t->ls[i];
		bool own = l->nsock > 1;
		struct tp_lsock *s = &l->socks[own ? w->idx : 0];
		int err;

		if (l->proto == TP_UDP && (err = tp_udp_batch_new(w)) < 0)
			return err;
		if ((err = tp_worker_watch(w, &s->io, EPOLLIN | (own ? 0 : EPOLLEXCLUSIVE))) < 0)
			return err;
	}
	return 0;
}

/* Workers block every signal: the application's main thread (or its
 * signalfd) handles them, never a thread in the middle of a send. */
static int spawn(struct tp_worker *w)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&w->thread, NULL, tp_worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	w->started = true;
	return 0;
}

int tp_start(struct tp *t)
{
	int err = 0;

	if (t->started)
		return -EBUSY;
	t->started = true;
	for (unsigned i = 0; i < t->nw && !err; i++)
		err = watch_listeners(t, &t->w[i]);
	for (unsigned i = 0; i < t->nw && !err; i++)
		err = spawn(&t->w[i]);
	if (err < 0) {
		sip_log(SIP_LOG_ERROR, "transport: cannot start the workers: %s", strerror(-err));
		tp_stop(t);
	}
	return err;
}

void tp_stop(struct tp *t)
{
	atomic_store_explicit(&t->stop, true, memory_order_release);
	for (unsigned i = 0; i < t->nw; i++) {
		struct tp_worker *w = &t->w[i];

		if (!w->started)
			continue;
		tp_worker_wake(w);
		pthread_join(w->thread, NULL);
		w->started = false;
	}
}

void tp_free(struct tp *t)
{
	if (!t)
		return;
	tp_stop(t);
	for (unsigned i = 0; i < t->nw; i++)
		tp_worker_fini(&t->w[i]);
	for (unsigned i = 0; i < t->nls; i++)
		listener_free(t->ls[i]);
	tp_index_fini(&t->index);
	tp_tls_free(t->tls);
	free(t->ls);
	free(t->w);
	free(t);
}

/* The worker that should send: the one named in conn_id, else the owner
 * of a connection to dst, else the caller (when a worker) or a worker
 * picked by dst, so two threads opening to one new peer meet on one
 * worker and one connection. */
static unsigned route(struct tp *t, const struct tp_dst *d)
{
	struct tp_worker *self = tp_worker_self(t);
	unsigned owner;
	uint64_t id;

	if (d->conn_id && (d->conn_id & (TP_MAX_WORKERS - 1)) < t->nw)
		return (unsigned)(d->conn_id & (TP_MAX_WORKERS - 1));
	if (!d->addr)
		return 0;
	if (tp_conn_peer(t, d->proto, d->addr, &id, &owner))
		return owner;
	return self ? self->idx : (unsigned)(tp_addr_hash(d->addr) % t->nw);
}

/* A job for worker target: the bytes to send, or (buf NULL) a
 * connection to open. */
static int post_job(struct tp *t, unsigned target, const struct tp_dst *d, const char *buf,
                    size_t len)
{
	size_t n = buf ? len : 0;
	struct tp_job *job = malloc(sizeof(*job) + n);

	if (!job)
		return -ENOMEM;
	job->conn_id = d->conn_id;
	job->proto = d->proto;
	job->connect = buf == NULL;
	if (d->addr)
		job->dst = *d->addr;
	else
		memset(&job->dst, 0, sizeof(job->dst)); /* AF_UNSPEC */
	job->hops = 0;
	job->len = n;
	if (n)
		memcpy(job->data, buf, n);
	tp_worker_post(&t->w[target], job);
	return 0;
}

/* A send (or, buf NULL, a connect) over a stream: written at once on the
 * worker owning the connection, else queued to it. */
static int stream_send(struct tp *t, const struct tp_dst *d, const char *buf, size_t len)
{
	struct tp_worker *self;
	unsigned target;

	if (!d->addr && !d->conn_id)
		return -EINVAL;
	if (d->proto == TP_TLS && !t->tls)
		return -EPROTONOSUPPORT;
	if (len > t->cfg.max_conn_buf)
		return -EMSGSIZE;
	if (atomic_load_explicit(&t->stop, memory_order_acquire))
		return -ESHUTDOWN;
	target = route(t, d);
	self = tp_worker_self(t);
	if (self && self->idx == target) {
		int r = tp_tcp_send_local(self, d, buf, len, &target);

		if (r != TP_ELSEWHERE)
			return r;
	}
	return post_job(t, target, d, buf, len);
}

int tp_send(struct tp *t, enum tp_proto proto, const struct tp_addr *dst, uint64_t conn_id,
            const char *buf, size_t len)
{
	struct tp_dst d = {.proto = proto, .conn_id = conn_id, .addr = dst};

	if (proto == TP_UDP)
		return dst ? tp_udp_send(t, dst, buf, len) : -EINVAL;
	if (!buf)
		return -EINVAL;
	return stream_send(t, &d, buf, len);
}

int tp_connect(struct tp *t, enum tp_proto proto, const struct tp_addr *dst, const char *name)
{
	struct tp_dst d = {.proto = proto, .addr = dst};
	int err;

	if (proto == TP_UDP || !dst)
		return -EINVAL;
	/* Remembered before the connection is asked for: whichever send or
	 * connect opens it then checks the name. */
	if (proto == TP_TLS &&
	    (!t->tls ? (err = -EPROTONOSUPPORT) : (err = tp_tls_expect(t->tls, dst, name))) < 0)
		return err;
	return stream_send(t, &d, NULL, 0);
}

void tp_set_conn_error(struct tp *t, tp_conn_error_fn fn)
{
	t->conn_error = fn;
}
