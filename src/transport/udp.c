/*
 * udp.c — SIP over UDP (RFC 3261 §18.1.1, §18.2.1: one message per
 * datagram). Datagrams are read in batches with recvmmsg into buffers of
 * max_msg + 1 bytes, so a datagram over max_msg shows itself by its length
 * and goes to the oversize callback (the layer above answers 513).
 *
 * Socket model (cfg.udp_reuseport; DESIGN.md "Concurrency"): either one
 * socket that every worker polls (EPOLLEXCLUSIVE wakes one of them per
 * event), or one SO_REUSEPORT socket per worker. The kernel spreads
 * reuseport sockets by a hash of the source address, so one busy peer —
 * an upstream proxy, an SBC, one SIPp — lands on a single worker; the
 * shared socket spreads every peer over all workers. bench/tp_udp.c
 * measures both.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tp_priv.h"

#define BATCH 16

struct tp_udp_batch {
	size_t bufsz; /* max_msg + 1 */
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage src[BATCH];
	char data[];
};

int tp_udp_batch_new(struct tp_worker *w)
{
	size_t bufsz = w->t->cfg.max_msg + 1;
	struct tp_udp_batch *b;

	if (w->udp)
		return 0;
	b = malloc(sizeof(*b) + BATCH * bufsz);
	if (!b)
		return -ENOMEM;
	b->bufsz = bufsz;
	w->udp = b;
	return 0;
}

void tp_udp_batch_free(struct tp_worker *w)
{
	free(w->udp);
	w->udp = NULL;
}

/* Options before bind: IPv6-only (an IPv4 peer then never appears as
 * ::ffff:a.b.c.d), reuseport when asked, and a receive buffer deep enough
 * for bursts (the kernel caps it at net.core.rmem_max). */
static int udp_socket(const struct tp *t, int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, rcv = t->cfg.udp_rcvbuf;

	if (fd < 0)
		return -errno;
	if ((family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    (t->cfg.udp_reuseport &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    (rcv > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)) < 0)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Binds socket i; the first one's bound address (port 0 filled in) is
 * where the others go. */
static int udp_bind_one(struct tp *t, struct tp_listener *l, unsigned i)
{
	struct tp_lsock *s = &l->socks[i];
	int fd = udp_socket(t, l->addr.ss.ss_family);

	if (fd < 0)
		return fd;
	s->io.kind = TP_IO_UDP;
	s->io.fd = fd;
	s->l = l;
	if (bind(fd, (struct sockaddr *)&l->addr.ss, l->addr.len) < 0)
		return -errno;
	if (i == 0) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
			return -errno;
		tp_addr_set(&l->addr, (struct sockaddr *)&ss, len);
	}
	return 0;
}

int tp_udp_listen(struct tp *t, struct tp_listener *l)
{
	l->nsock = t->cfg.udp_reuseport ? t->nw : 1;
	l->socks = calloc(l->nsock, sizeof(*l->socks));
	if (!l->socks)
		return -ENOMEM;
	for (unsigned i = 0; i < l->nsock; i++)
		l->socks[i].io.fd = -1;
	for (unsigned i = 0; i < l->nsock; i++) {
		int err = udp_bind_one(t, l, i);

		if (err < 0)
			return err; /* the caller closes what was opened */
	}
	return 0;
}

/* A datagram of nothing but CR and LF: a keep-alive some UAs send (RFC
 * 5626 wants STUN on UDP, but CRLF is common). Not a message: dropped. */
static bool is_keepalive(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

static void deliver(struct tp_worker *w, struct tp_lsock *s, unsigned i)
{
	struct tp_udp_batch *b = w->udp;
	struct tp *t = w->t;
	struct mmsghdr *m = &b->msgs[i];
	struct tp_rx rx = {.buf = b->iov[i].iov_base, .len = m->msg_len, .proto = TP_UDP};

	if (is_keepalive(rx.buf, rx.len))
		return;
	tp_addr_set(&rx.src, (struct sockaddr *)&b->src[i], m->msg_hdr.msg_namelen);
	rx.local = s->l->addr;
	rx.worker = w->idx;
	if (rx.len > t->cfg.max_msg || (m->msg_hdr.msg_flags & MSG_TRUNC)) {
		rx.len = t->cfg.max_msg;
		if (t->oversize)
			t->oversize(&rx, t->arg);
		return;
	}
	t->recv(&rx, t->arg);
}

void tp_udp_readable(struct tp_worker *w, struct tp_lsock *s)
{
	struct tp_udp_batch *b = w->udp;
	int n;

	for (unsigned i = 0; i < BATCH; i++) {
		b->iov[i].iov_base = b->data + i * b->bufsz;
		b->iov[i].iov_len = b->bufsz;
		b->msgs[i].msg_hdr = (struct msghdr){.msg_name = &b->src[i],
		                                     .msg_namelen = sizeof(b->src[i]),
		                                     .msg_iov = &b->iov[i],
		                                     .msg_iovlen = 1};
	}
	/* With a shared socket another worker may have emptied it: EAGAIN
	 * is the normal answer then. */
	n = recvmmsg(s->io.fd, b->msgs, BATCH, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			sip_log(SIP_LOG_ERROR, "transport: udp: recvmmsg: %s", strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++)
		deliver(w, s, (unsigned)i);
}

int tp_udp_send(struct tp *t, const struct tp_addr *dst, const char *buf, size_t len)
{
	struct tp_worker *w = tp_worker_self(t);

	for (unsigned i = 0; i < t->nls; i++) {
		struct tp_listener *l = t->ls[i];
		int fd;

		if (l->proto != TP_UDP || l->addr.ss.ss_family != dst->ss.ss_family)
			continue;
		/* A worker sends from its own reuseport socket: same address,
		 * and no sharing of one socket's send path between threads. */
		fd = l->socks[w && l->nsock > w->idx ? w->idx : 0].io.fd;
		if (sendto(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
		           (const struct sockaddr *)&dst->ss, dst->len) < 0)
			return -errno;
		return 0;
	}
	return -EAFNOSUPPORT;
}
