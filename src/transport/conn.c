/*
 * conn.c — TCP and TLS connections as objects (RFC 3261 §18.3 connection
 * management, §18.2.2 responses over the request's connection, RFC 5923's
 * idea of reuse by peer address): the index that finds a connection by id
 * or by peer and enforces max_conns and max_conns_per_source, each
 * worker's idle list (closing after idle_ms, and senders too slow to finish
 * a message within msg_timeout_ms), output buffering up to max_conn_buf,
 * and deferred freeing so an epoll batch never touches freed memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tp_priv.h"

#define INDEX_MIN_BUCKETS 64
#define KEEP_BUF 65536 /* larger idle buffers are given back */

/* ---- the index ---------------------------------------------------------- */

int tp_index_init(struct tp_index *ix, size_t max, unsigned max_per_source)
{
	int err = pthread_mutex_init(&ix->mu, NULL);
	size_t n = 64;

	if (err)
		return -err;
	ix->nbuckets = INDEX_MIN_BUCKETS;
	ix->count = 0;
	ix->max = max;
	ix->max_per_source = max_per_source;
	ix->by_id = calloc(ix->nbuckets, sizeof(*ix->by_id));
	ix->by_peer = calloc(ix->nbuckets, sizeof(*ix->by_peer));
	if (max_per_source) {
		while (n < 2 * max)
			n <<= 1;
		ix->src = calloc(n, sizeof(*ix->src));
		ix->src_mask = n - 1;
	}
	return ix->by_id && ix->by_peer && (ix->src || !max_per_source) ? 0 : -ENOMEM;
}

void tp_index_fini(struct tp_index *ix)
{
	free(ix->src);
	free(ix->by_id);
	free(ix->by_peer);
	pthread_mutex_destroy(&ix->mu);
}

static size_t id_slot(const struct tp_index *ix, uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdull; /* murmur3 finalizer: ids are sequential */
	id ^= id >> 33;
	return (size_t)id & (ix->nbuckets - 1);
}

static size_t peer_slot(const struct tp_index *ix, const struct tp_addr *a)
{
	return (size_t)tp_addr_hash(a) & (ix->nbuckets - 1);
}

static void link_conn(struct tp_index *ix, struct tp_conn *c)
{
	struct tp_conn **b = &ix->by_id[id_slot(ix, c->id)];
	struct tp_conn **p = &ix->by_peer[peer_slot(ix, &c->peer)];

	c->id_next = *b;
	*b = c;
	/* In front: a later connection to the same peer is the one reused. */
	c->peer_next = *p;
	*p = c;
}

/* Doubles the tables when they fill; on no memory it keeps the old ones
 * (longer chains, still correct). */
static void grow(struct tp_index *ix)
{
	struct tp_index old = *ix;

	ix->nbuckets *= 2;
	ix->by_id = calloc(ix->nbuckets, sizeof(*ix->by_id));
	ix->by_peer = calloc(ix->nbuckets, sizeof(*ix->by_peer));
	if (!ix->by_id || !ix->by_peer) {
		free(ix->by_id);
		free(ix->by_peer);
		*ix = old;
		return;
	}
	for (size_t i = 0; i < old.nbuckets; i++)
		for (struct tp_conn *c = old.by_id[i], *n; c; c = n) {
			n = c->id_next;
			link_conn(ix, c);
		}
	free(old.by_id);
	free(old.by_peer);
}

/* ---- connections per source (under the index mutex) ---- */

/* The slot of addr, or the free slot where it would go. The table holds
 * at most max_conns addresses in twice as many slots: a free one is
 * always found. */
static size_t src_slot(const struct tp_index *ix, const uint8_t addr[16])
{
	size_t i = (size_t)sip_fnv1a(SIP_FNV_BASIS, addr, 16) & ix->src_mask;

	while (ix->src[i].n && memcmp(ix->src[i].addr, addr, 16))
		i = (i + 1) & ix->src_mask;
	return i;
}

/* One more connection from c's peer, unless it has max_per_source. */
static bool src_take(struct tp_index *ix, const struct tp_conn *c)
{
	uint8_t addr[16] = {0};
	size_t i;

	tp_addr_ip16(&c->peer, addr);
	i = src_slot(ix, addr);
	if (ix->src[i].n >= ix->max_per_source)
		return false;
	memcpy(ix->src[i].addr, addr, 16);
	ix->src[i].n++;
	return true;
}

/* One less; an address down to none leaves the table (backward-shift
 * deletion keeps every other address reachable by its probe). */
static void src_give(struct tp_index *ix, const struct tp_conn *c)
{
	uint8_t addr[16] = {0};
	size_t i, j, home;

	tp_addr_ip16(&c->peer, addr);
	i = src_slot(ix, addr);
	if (!ix->src[i].n || --ix->src[i].n)
		return;
	for (j = (i + 1) & ix->src_mask; ix->src[j].n; j = (j + 1) & ix->src_mask) {
		home = (size_t)sip_fnv1a(SIP_FNV_BASIS, ix->src[j].addr, 16) & ix->src_mask;
		/* Movable into the hole when its home is not in (i, j]. */
		if (((j - home) & ix->src_mask) >= ((j - i) & ix->src_mask)) {
			ix->src[i] = ix->src[j];
			ix->src[j].n = 0;
			i = j;
		}
	}
}

static int index_add(struct tp_index *ix, struct tp_conn *c)
{
	int err = 0;

	pthread_mutex_lock(&ix->mu);
	if (ix->count >= ix->max) {
		err = -ECONNREFUSED; /* max_conns: the transport refuses */
	} else if (c->per_source && !src_take(ix, c)) {
		err = -EDQUOT; /* max_conns_per_source */
	} else {
		if (ix->count >= ix->nbuckets)
			grow(ix);
		link_conn(ix, c);
		ix->count++;
	}
	pthread_mutex_unlock(&ix->mu);
	return err;
}

static void index_del(struct tp_index *ix, struct tp_conn *c)
{
	struct tp_conn **p;

	pthread_mutex_lock(&ix->mu);
	for (p = &ix->by_id[id_slot(ix, c->id)]; *p && *p != c; p = &(*p)->id_next)
		;
	if (*p) {
		*p = c->id_next;
		ix->count--;
		if (c->per_source)
			src_give(ix, c);
	}
	for (p = &ix->by_peer[peer_slot(ix, &c->peer)]; *p && *p != c; p = &(*p)->peer_next)
		;
	if (*p)
		*p = c->peer_next;
	pthread_mutex_unlock(&ix->mu);
}

/* Only the owning worker may use the result: others could see it freed. */
struct tp_conn *tp_conn_find(struct tp_worker *w, uint64_t id)
{
	struct tp_index *ix = &w->t->index;
	struct tp_conn *c;

	pthread_mutex_lock(&ix->mu);
	for (c = ix->by_id[id_slot(ix, id)]; c && c->id != id; c = c->id_next)
		;
	/* Checked under the lock: another worker's connection may be freed
	 * the moment the lock is released. */
	if (c && c->worker != w->idx)
		c = NULL;
	pthread_mutex_unlock(&ix->mu);
	return c;
}

bool tp_conn_peer(struct tp *t, enum tp_proto proto, const struct tp_addr *peer, uint64_t *id,
                  unsigned *worker)
{
	struct tp_index *ix = &t->index;
	struct tp_conn *c;

	pthread_mutex_lock(&ix->mu);
	/* A TCP and a TLS connection to one peer are different paths. */
	for (c = ix->by_peer[peer_slot(ix, peer)];
	     c && (c->proto != proto || !tp_addr_eq(&c->peer, peer)); c = c->peer_next)
		;
	if (c) {
		*id = c->id; /* immutable fields: safe to read under the lock */
		*worker = c->worker;
	}
	pthread_mutex_unlock(&ix->mu);
	return c != NULL;
}

bool tp_conn_open(struct tp *t, enum tp_proto proto, const struct tp_addr *dst)
{
	uint64_t id;
	unsigned worker;

	return proto != TP_UDP && tp_conn_peer(t, proto, dst, &id, &worker);
}

/* ---- the idle list ------------------------------------------------------ */

static void lru_unlink(struct tp_worker *w, struct tp_conn *c)
{
	*(c->lru_prev ? &c->lru_prev->lru_next : &w->lru_head) = c->lru_next;
	*(c->lru_next ? &c->lru_next->lru_prev : &w->lru_tail) = c->lru_prev;
	c->lru_prev = c->lru_next = NULL;
}

static void lru_append(struct tp_worker *w, struct tp_conn *c)
{
	c->lru_prev = w->lru_tail;
	c->lru_next = NULL;
	*(w->lru_tail ? &w->lru_tail->lru_next : &w->lru_head) = c;
	w->lru_tail = c;
}

void tp_conn_touch(struct tp_worker *w, struct tp_conn *c)
{
	c->last_ms = w->now;
	if (w->lru_tail != c) {
		lru_unlink(w, c);
		lru_append(w, c);
	}
}

uint64_t tp_conn_next_expiry(const struct tp_worker *w)
{
	if (!w->lru_head || w->t->cfg.idle_ms == 0)
		return UINT64_MAX;
	return w->lru_head->last_ms + w->t->cfg.idle_ms;
}

/* Once a second: a connection whose unfinished message began more than
 * msg_timeout_ms ago is closed, however recently its last byte came (a
 * slowloris keeps a connection from ever idling). */
static void expire_slow(struct tp_worker *w)
{
	unsigned limit = w->t->cfg.msg_timeout_ms;
	struct tp_conn *c, *next;

	if (!limit || w->now < w->next_slow_sweep)
		return;
	w->next_slow_sweep = w->now + 1000;
	for (c = w->lru_head; c; c = next) {
		next = c->lru_next;
		if (c->partial_since && w->now - c->partial_since >= limit)
			tp_conn_close(w, c,
			              c->handshaking
			                      ? "TLS handshake not completed in time"
			                      : "a message not completed in time (slow sender)");
	}
}

void tp_conn_expire(struct tp_worker *w)
{
	expire_slow(w);
	while (w->lru_head && tp_conn_next_expiry(w) <= w->now) {
		struct tp_conn *c = w->lru_head;
		char peer[64];

		/* Routine on a busy server: a debug line, not an info one. */
		if (sip_log_enabled(SIP_LOG_DEBUG))
			sip_log(SIP_LOG_DEBUG, "transport: %s: connection %llu with %s idle",
			        c->ops->name, (unsigned long long)c->id,
			        tp_addr_str(&c->peer, peer, sizeof(peer)));
		tp_conn_close(w, c, NULL);
	}
}

/* ---- life cycle --------------------------------------------------------- */

struct tp_conn *tp_conn_new(struct tp_worker *w, int fd, enum tp_proto proto,
                            const struct tp_addr *peer, const struct tp_addr *local,
                            bool connecting, int *err)
{
	struct tp_conn *c = calloc(1, sizeof(*c));

	*err = -ENOMEM;
	if (!c)
		goto fail;
	c->io.kind = TP_IO_CONN;
	c->io.fd = fd;
	c->proto = proto;
	c->ops = proto == TP_TLS ? &tp_stream_tls : &tp_stream_tcp;
	c->id = (w->next_seq++ << TP_WORKER_BITS) | w->idx;
	c->peer = *peer;
	if (local)
		c->local = *local;
	c->worker = w->idx;
	c->connecting = c->want_out = connecting;
	c->per_source = !connecting && w->t->index.max_per_source;
	c->fr.pings = !connecting; /* the far end of an accepted connection pings */
	c->outgoing = connecting;
	if ((*err = index_add(&w->t->index, c)) < 0)
		goto fail;
	if ((*err = tp_worker_watch(w, &c->io, EPOLLIN | (connecting ? EPOLLOUT : 0))) < 0) {
		index_del(&w->t->index, c);
		goto fail;
	}
	c->last_ms = w->now;
	lru_append(w, c);
	return c;
fail:
	free(c);
	close(fd);
	return NULL;
}

void tp_conn_close(struct tp_worker *w, struct tp_conn *c, const char *why)
{
	char peer[64];

	if (c->dead)
		return;
	if (why)
		sip_log(SIP_LOG_INFO, "transport: %s: closing connection %llu with %s: %s",
		        c->ops->name, (unsigned long long)c->id,
		        tp_addr_str(&c->peer, peer, sizeof(peer)), why);
	c->ops->release(c); /* TLS: a close_notify while the socket is open */
	close(c->io.fd);    /* also leaves the epoll set */
	c->io.fd = -1;
	index_del(&w->t->index, c);
	lru_unlink(w, c);
	c->dead = true;
	/* Freed after the current epoll batch, which may still name it. */
	c->lru_next = w->grave;
	w->grave = c;
	/* What was queued for it will never go: the layer above learns it
	 * now, not by its timers (a refused certificate, a dead port). */
	if (c->outgoing && !c->served && w->t->conn_error)
		w->t->conn_error(c->proto, &c->peer, w->t->arg);
}

void tp_conn_reap(struct tp_worker *w)
{
	struct tp_conn *c;

	while ((c = w->grave)) {
		w->grave = c->lru_next;
		free(c->in);
		free(c->out);
		free(c);
	}
}

void tp_conn_free_all(struct tp_worker *w)
{
	while (w->lru_head)
		tp_conn_close(w, w->lru_head, NULL);
	tp_conn_reap(w);
}

/* ---- output ------------------------------------------------------------- */

void tp_conn_arm_out(struct tp_worker *w, struct tp_conn *c, bool on)
{
	struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = &c->io};

	if (c->want_out == on)
		return;
	if (epoll_ctl(w->ep, EPOLL_CTL_MOD, c->io.fd, &ev) == 0)
		c->want_out = on;
	else
		tp_conn_close(w, c, "epoll_ctl failed");
}

/* Appends to the pending output, within max_conn_buf. */
static int out_append(struct tp *t, struct tp_conn *c, const char *buf, size_t len)
{
	size_t pending = c->out_len - c->out_off, need = pending + len;

	if (need > t->cfg.max_conn_buf)
		return -ENOBUFS;
	if (c->out_off && c->out_len + len > c->out_cap) {
		memmove(c->out, c->out + c->out_off, pending);
		c->out_off = 0;
		c->out_len = pending;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap * 2 : 4096;
		char *p;

		while (cap < need)
			cap *= 2;
		if (!(p = realloc(c->out, cap)))
			return -ENOMEM;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	return 0;
}

int tp_conn_write(struct tp_worker *w, struct tp_conn *c, const char *buf, size_t len)
{
	ssize_t n = 0;
	int err;

	if (c->dead)
		return -ENOTCONN;
	/* Nothing queued: write at once, buffering only what the socket
	 * does not take (keeps bytes in order). A connection still being
	 * set up (connect, TLS handshake) queues everything. */
	if (c->out_len == c->out_off && !c->connecting && !c->handshaking) {
		n = c->ops->write(c, buf, len);
		if (n < 0 && n != -EAGAIN) {
			tp_conn_close(w, c, strerror((int)-n));
			return (int)n;
		}
		if (n < 0)
			n = 0;
		c->served |= n > 0;
		tp_conn_touch(w, c);
		if ((size_t)n == len)
			return 0;
	}
	if ((err = out_append(w->t, c, buf + n, len - (size_t)n)) < 0) {
		/* Half a message went out: the stream cannot be resumed. */
		if (n > 0)
			tp_conn_close(w, c, "output over max_conn_buf");
		return err;
	}
	tp_conn_arm_out(w, c, true);
	return c->dead ? -ENOTCONN : 0;
}

void tp_conn_flush(struct tp_worker *w, struct tp_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = c->ops->write(c, c->out + c->out_off, c->out_len - c->out_off);

		if (n < 0) {
			if (n != -EAGAIN)
				tp_conn_close(w, c, strerror((int)-n));
			return;
		}
		c->out_off += (size_t)n;
		c->served |= n > 0;
		tp_conn_touch(w, c);
	}
	c->out_off = c->out_len = 0;
	if (c->out_cap > KEEP_BUF) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	tp_conn_arm_out(w, c, false);
}
