/*
 * tcp.c — SIP over TCP (RFC 3261 §18.3 framing by Content-Length, §18.2.2
 * responses over the request's connection, RFC 5626 §3.5.1 CRLFCRLF ping
 * answered by a CRLF pong): listening, accepting under max_conns, opening
 * outgoing connections without blocking, reading and framing with
 * sip_frame_next, and sending on the connection a worker owns.
 *
 * TLS connections take the same paths: tls.c only adds the handshake
 * and its stream ops (SSL_read/SSL_write instead of recv/send).
 *
 * A framing fault (no or bad Content-Length) or a message over max_msg
 * loses the message boundaries for good, so the connection is closed; a
 * peer closing in the middle of a message loses only that message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tp_priv.h"

#define BACKLOG 1024
#define ACCEPTS_PER_WAKE 32
#define IN_START 4096
#define KEEP_BUF 65536

int tp_tcp_listen(struct tp *t, struct tp_listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1, fd;

	(void)t;
	l->nsock = 1;
	if (!(l->socks = calloc(1, sizeof(*l->socks))))
		return -ENOMEM;
	fd = socket(l->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	l->socks[0] = (struct tp_lsock){.io = {.kind = TP_IO_LISTEN, .fd = fd}, .l = l};
	if (fd < 0)
		return -errno;
	/* REUSEADDR: a restarted server binds despite TIME_WAIT leftovers. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (l->addr.ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&l->addr.ss, l->addr.len) < 0 || listen(fd, BACKLOG) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno; /* the caller closes the socket */
	tp_addr_set(&l->addr, (struct sockaddr *)&ss, len);
	return 0;
}

/* Requests and responses are small and latency-bound: no Nagle. */
static void set_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static ssize_t tcp_read(struct tp_conn *c, char *buf, size_t len)
{
	ssize_t n = recv(c->io.fd, buf, len, MSG_DONTWAIT);

	return n < 0 ? (errno == EINTR ? -EAGAIN : -errno) : n;
}

static ssize_t tcp_write(struct tp_conn *c, const char *buf, size_t len)
{
	ssize_t n = send(c->io.fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	return n < 0 ? (errno == EINTR ? -EAGAIN : -errno) : n;
}

static bool tcp_pending(const struct tp_conn *c)
{
	(void)c;
	return false; /* the kernel's buffer: epoll tells */
}

static void tcp_release(struct tp_conn *c)
{
	(void)c;
}

const struct tp_stream_ops tp_stream_tcp = {
        .name = "tcp",
        .read = tcp_read,
        .write = tcp_write,
        .pending = tcp_pending,
        .release = tcp_release,
};

/* what: "refusing a connection from" a peer, or "shedding connections
 * on" a listener. */
static void refused(struct tp_worker *w, const char *what, const struct tp_addr *a, const char *why)
{
	char buf[64];

	/* A flood of refusals must not become a flood of log lines. */
	if (w->now - w->refuse_log_ms < 1000 && w->refuse_log_ms)
		return;
	w->refuse_log_ms = w->now;
	sip_log(SIP_LOG_WARN, "transport: %s %s: %s", what, tp_addr_str(a, buf, sizeof(buf)), why);
}

/* Out of file descriptors (RLIMIT_NOFILE below max_conns): the pending
 * connection would keep the level-triggered listener ready and the worker
 * spinning. Freeing the spare descriptor lets us accept it and close it. */
static void shed(struct tp_worker *w, struct tp_lsock *s)
{
	int fd;

	refused(w, "shedding connections on", &s->l->addr, strerror(errno));
	if (w->spare_fd < 0) /* lost to another thread last time: try again */
		w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (w->spare_fd < 0)
		return;
	close(w->spare_fd);
	fd = accept(s->io.fd, NULL, NULL);
	if (fd >= 0)
		close(fd);
	w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void tp_tcp_acceptable(struct tp_worker *w, struct tp_lsock *s)
{
	for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct tp_addr peer;
		struct tp_conn *c;
		int fd = accept4(s->io.fd, (struct sockaddr *)&ss, &len,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		int err;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE)
				shed(w, s);
			else if (errno != EAGAIN)
				refused(w, "cannot accept on", &s->l->addr, strerror(errno));
			return;
		}
		tp_addr_set(&peer, (struct sockaddr *)&ss, len);
		set_nodelay(fd);
		/* Over max_conns the connection is accepted and closed at
		 * once: left in the backlog it would wake us forever. */
		if (!(c = tp_conn_new(w, fd, s->l->proto, &peer, &s->l->addr, false, &err)))
			refused(w, "refusing a connection from", &peer,
			        err == -ECONNREFUSED ? "max_conns reached"
			        : err == -EDQUOT     ? "max_conns_per_source reached"
			                             : strerror(-err));
		else if (c->proto == TP_TLS && (err = tp_tls_attach(w, c, true)) < 0)
			tp_conn_close(w, c, strerror(-err));
	}
}

/* Opens a connection to d's peer; bytes written before it is up (and,
 * for TLS, before the handshake is done) are queued. */
static struct tp_conn *tcp_connect(struct tp_worker *w, const struct tp_dst *d, int *err)
{
	const struct tp_addr *dst = d->addr;
	int fd = socket(dst->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct tp_conn *c;
	char buf[64];

	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	set_nodelay(fd);
	/* Registered (and counted against max_conns) before the SYN. */
	if (!(c = tp_conn_new(w, fd, d->proto, dst, NULL, true, err)))
		return NULL;
	if (d->proto == TP_TLS && (*err = tp_tls_attach(w, c, false)) < 0) {
		tp_conn_close(w, c, strerror(-*err));
		return NULL;
	}
	if (connect(fd, (const struct sockaddr *)&dst->ss, dst->len) < 0 && errno != EINPROGRESS) {
		*err = -errno;
		sip_log(SIP_LOG_WARN, "transport: %s: connect to %s: %s", c->ops->name,
		        tp_addr_str(dst, buf, sizeof(buf)), strerror(errno));
		tp_conn_close(w, c, NULL);
		return NULL;
	}
	return c;
}

/* EPOLLOUT: the connect finished (or failed), or the socket takes more. */
static void writable(struct tp_worker *w, struct tp_conn *c)
{
	if (c->connecting) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(int);
		int soerr = 0;

		if (getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			soerr = errno;
		if (soerr) {
			tp_conn_close(w, c, strerror(soerr));
			return;
		}
		c->connecting = false;
		len = sizeof(ss);
		if (getsockname(c->io.fd, (struct sockaddr *)&ss, &len) == 0)
			tp_addr_set(&c->local, (struct sockaddr *)&ss, len);
	}
	if (c->handshaking)
		tp_tls_handshake(w, c); /* flushes the queue when done */
	else
		tp_conn_flush(w, c);
}

/* Room to read into: the buffer doubles up to max_conn_buf. */
static int in_room(struct tp *t, struct tp_conn *c)
{
	size_t cap;
	char *p;

	if (c->in_len < c->in_cap)
		return 0;
	if (c->in_cap >= t->cfg.max_conn_buf)
		return -ENOBUFS;
	cap = c->in_cap ? c->in_cap * 2 : IN_START;
	if (cap > t->cfg.max_conn_buf)
		cap = t->cfg.max_conn_buf;
	if (!(p = realloc(c->in, cap)))
		return -ENOMEM;
	c->in = p;
	c->in_cap = cap;
	return 0;
}

static void deliver(struct tp_worker *w, struct tp_conn *c, size_t off, size_t len, bool big)
{
	struct tp *t = w->t;
	struct tp_rx rx = {.buf = c->in + off,
	                   .len = len,
	                   .proto = c->proto,
	                   .src = c->peer,
	                   .local = c->local,
	                   .conn_id = c->id,
	                   .worker = w->idx};

	if (!big)
		t->recv(&rx, t->arg);
	else if (t->oversize)
		t->oversize(&rx, t->arg);
}

/* Hands up every whole message in the input buffer, answers pings, and
 * keeps the unfinished rest at the front. */
static void frames(struct tp_worker *w, struct tp_conn *c)
{
	size_t off = 0, max = w->t->cfg.max_msg;
	struct sip_frame f = {0};

	while (!c->dead && off < c->in_len) {
		int r = sip_frame_next(&c->fr, c->in + off, c->in_len - off, max, &f);

		if (r == SIP_ERR_TOO_BIG) {
			size_t have = c->in_len - off;

			deliver(w, c, off, have < max ? have : max, true);
			tp_conn_close(w, c, "message over max_msg");
			return;
		}
		if (r < 0) {
			tp_conn_close(w, c, sip_err_reason(r));
			return;
		}
		if (f.kind == SIP_FRAME_NEED_MORE)
			break;
		if (f.kind == SIP_FRAME_PING)
			tp_conn_write(w, c, "\r\n", 2);
		else if (f.kind == SIP_FRAME_MESSAGE)
			deliver(w, c, off, f.len, false);
		off += f.len;
	}
	if (c->dead)
		return;
	/* The clock of msg_timeout_ms (conn.c): from the first byte of the
	 * message still unfinished. */
	if (off == c->in_len || (c->in_len - off == 2 && !memcmp(c->in + off, "\r\n", 2)))
		c->partial_since = 0; /* nothing, or a keep-alive CRLF held back */
	else if (off || !c->partial_since)
		c->partial_since = w->now ? w->now : 1;
	if (off == 0)
		return;
	c->in_len -= off;
	memmove(c->in, c->in + off, c->in_len);
}

/* One read into the input buffer and the framing of what it completed.
 * False when there is nothing more to read now (or the connection went). */
static bool read_once(struct tp_worker *w, struct tp_conn *c)
{
	ssize_t n;
	int err;

	if ((err = in_room(w->t, c)) < 0) {
		tp_conn_close(w, c, strerror(-err));
		return false;
	}
	n = c->ops->read(c, c->in + c->in_len, c->in_cap - c->in_len);
	if (n == -EAGAIN)
		return false;
	if (n <= 0) {
		/* EOF is the peer's normal goodbye: closed without a log line. */
		tp_conn_close(w, c, n < 0 ? strerror((int)-n) : NULL);
		return false;
	}
	c->in_len += (size_t)n;
	c->served = true;
	tp_conn_touch(w, c);
	frames(w, c);
	return !c->dead;
}

static void readable(struct tp_worker *w, struct tp_conn *c)
{
	if (c->handshaking) {
		tp_tls_handshake(w, c);
		if (c->dead || c->handshaking)
			return;
	}
	/* TLS may hold decrypted bytes no epoll event will announce: read
	 * them all now (TCP reads once; epoll is level-triggered). */
	while (read_once(w, c) && c->ops->pending(c))
		;
	if (!c->dead && c->in_len == 0 && c->in_cap > KEEP_BUF) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
}

void tp_tcp_event(struct tp_worker *w, struct tp_conn *c, uint32_t events)
{
	bool was_handshaking = c->handshaking;

	if (events & EPOLLOUT || (c->connecting && events & (EPOLLERR | EPOLLHUP)))
		writable(w, c);
	/* A handshake finished by a write may leave the peer's first
	 * records in OpenSSL's buffer: read as if the socket were ready. */
	if (!c->dead && !c->connecting &&
	    (events & (EPOLLIN | EPOLLERR | EPOLLHUP) || (was_handshaking && !c->handshaking)))
		readable(w, c);
}

int tp_tcp_send_local(struct tp_worker *w, const struct tp_dst *d, const char *buf, size_t len,
                      unsigned *owner)
{
	struct tp_conn *c = d->conn_id ? tp_conn_find(w, d->conn_id) : NULL;
	unsigned o;
	uint64_t id;
	int err;

	if (!c && !d->addr)
		return -ENOTCONN;
	if (!c && tp_conn_peer(w->t, d->proto, d->addr, &id, &o)) {
		if (o == w->idx)
			c = tp_conn_find(w, id);
		else if (owner) {
			*owner = o;
			return TP_ELSEWHERE;
		}
	}
	if (!c && !(c = tcp_connect(w, d, &err)))
		return err;
	return buf ? tp_conn_write(w, c, buf, len) : 0;
}

void tp_tcp_job(struct tp_worker *w, struct tp_job *job)
{
	struct tp_dst d = {.proto = job->proto,
	                   .conn_id = job->conn_id,
	                   .addr = job->dst.ss.ss_family == AF_UNSPEC ? NULL : &job->dst};
	const char *buf = job->connect ? NULL : job->data;
	unsigned owner = w->idx;
	char a[64];
	int r;

	r = tp_tcp_send_local(w, &d, buf, job->len, &owner);
	/* The connection moved while the job was queued (closed, and the
	 * peer reconnected elsewhere): pass it on, once. */
	if (r == TP_ELSEWHERE && job->hops++ == 0) {
		tp_worker_post(&w->t->w[owner], job);
		return;
	}
	if (r == TP_ELSEWHERE) { /* moved again: a connection of our own */
		d.conn_id = 0;
		r = tp_tcp_send_local(w, &d, buf, job->len, NULL);
	}
	if (r < 0)
		sip_log(SIP_LOG_WARN, "transport: %s: queued %s %s dropped: %s",
		        job->proto == TP_TLS ? "tls" : "tcp",
		        job->connect ? "connect to" : "send to",
		        d.addr ? tp_addr_str(d.addr, a, sizeof(a)) : "closed connection",
		        strerror(-r));
	free(job);
}
