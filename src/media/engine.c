/*
 * engine.c — the media engine: one thread, one epoll set over every stream's
 * RTP and RTCP sockets, and one timerfd firing every 20 ms that ticks all
 * streams. One thread for all calls keeps a UA with hundreds of calls at a
 * few wake-ups per tick instead of a thread and a timer per call.
 *
 * Locking: one mutex per engine guards the engine and all its streams; the
 * engine thread holds it while it ticks or reads, API calls hold it briefly.
 * DTMF reports are queued under the lock and delivered one at a time with
 * it released, so a callback may call any media_* function. A stream being
 * freed by another thread waits for a callback in progress to return, and
 * its undelivered reports are dropped, so after media_stream_free() no
 * callback for it runs.
 *
 * epoll data names a stream by slot and generation, never by pointer: a
 * stream freed between epoll_wait() and the lock is then simply not found.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "libsip/log.h"
#include "media/media_priv.h"

#define ID_TIMER UINT64_MAX
#define ID_WAKE (UINT64_MAX - 1)
#define MAX_CATCHUP 5 /* ticks run at once after the thread was held up */
#define EVENTS 64

static uint64_t ev_id(const struct media_stream *s, bool rtcp)
{
	return (uint64_t)s->gen << 32 | (uint64_t)s->slot << 1 | (rtcp ? 1 : 0);
}

void engine_report(struct media_engine *e, struct media_stream *s, char digit, unsigned ms)
{
	if (e->npend >= MEDIA_PENDING)
		return; /* a flood of digits in one tick: drop the excess */
	e->pend[e->npend++] = (struct media_report){s, s->on_dtmf, s->arg, digit, ms};
}

/* Delivers queued reports with the lock released; called and returns with it held. */
static void deliver(struct media_engine *e)
{
	while (e->npend) {
		struct media_report r = e->pend[0];
		memmove(e->pend, e->pend + 1, --e->npend * sizeof(e->pend[0]));
		e->in_callback = true;
		pthread_mutex_unlock(&e->mu);
		r.fn(r.arg, r.digit, r.ms);
		pthread_mutex_lock(&e->mu);
		e->in_callback = false;
		pthread_cond_broadcast(&e->cb_done);
	}
}

static void on_timer(struct media_engine *e)
{
	uint64_t n = 0;

	if (read(e->tfd, &n, sizeof(n)) != sizeof(n) || n == 0)
		return;
	/* Behind by several ticks (a loaded machine): catch up a little, so
	 * recordings and timestamps keep real time, but never spiral. */
	if (n > MAX_CATCHUP)
		n = MAX_CATCHUP;
	while (n--)
		for (size_t i = 0; i < e->nslots; i++)
			if (e->slots[i])
				stream_tick(e->slots[i]);
}

static void on_socket(struct media_engine *e, uint64_t id)
{
	size_t slot = (size_t)((id & 0xffffffffu) >> 1);
	struct media_stream *s = slot < e->nslots ? e->slots[slot] : NULL;

	if (!s || s->gen != (uint32_t)(id >> 32))
		return; /* freed meanwhile */
	if (id & 1)
		stream_read_rtcp(s);
	else
		stream_read_rtp(s);
}

static void *engine_main(void *arg)
{
	struct media_engine *e = arg;
	struct epoll_event evs[EVENTS];

	for (;;) {
		int n = epoll_wait(e->epfd, evs, EVENTS, -1);
		if (n < 0 && errno != EINTR) {
			sip_log(SIP_LOG_ERROR, "media: epoll_wait: %s", strerror(errno));
			return NULL;
		}
		pthread_mutex_lock(&e->mu);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 == ID_TIMER)
				on_timer(e);
			else if (evs[i].data.u64 != ID_WAKE)
				on_socket(e, evs[i].data.u64);
		}
		deliver(e);
		if (e->stop) {
			pthread_mutex_unlock(&e->mu);
			return NULL;
		}
		pthread_mutex_unlock(&e->mu);
	}
}

static int watch(struct media_engine *e, int fd, uint64_t id)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = id};

	return epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int engine_fail(struct media_engine *e, char *err, size_t errcap, const char *what, int rc)
{
	snprintf(err, errcap, "media engine: %s: %s", what, strerror(errno));
	media_engine_free(e);
	return rc;
}

static int parse_local(struct media_engine *e, const char *addr)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE,
	                         .ai_socktype = SOCK_DGRAM};
	struct addrinfo *ai;

	if (getaddrinfo(addr, "0", &hints, &ai) != 0)
		return SIP_ERR_ADDR;
	memcpy(&e->local, ai->ai_addr, ai->ai_addrlen);
	e->local_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

int media_engine_new(struct media_engine **out, const struct media_engine_cfg *cfg, char *err,
                     size_t errcap)
{
	struct itimerspec its = {{0, MEDIA_TICK_MS * 1000000L}, {0, MEDIA_TICK_MS * 1000000L}};
	struct media_engine *e = calloc(1, sizeof(*e));
	const char *addr = cfg && cfg->local_addr ? cfg->local_addr : "0.0.0.0";

	if (!e) {
		snprintf(err, errcap, "media engine: out of memory");
		return SIP_ERR_NOMEM;
	}
	e->epfd = e->tfd = e->evfd = -1;
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cb_done, NULL);
	snprintf(e->local_addr, sizeof(e->local_addr), "%s", addr);
	e->port_min = cfg && cfg->port_min ? cfg->port_min : 16384;
	e->port_max = cfg && cfg->port_max ? cfg->port_max : 32767;
	e->port_min = (uint16_t)((e->port_min + 1) & ~1u); /* RTP on even ports */
	if (e->port_min == 0 || e->port_max <= e->port_min) {
		snprintf(err, errcap, "media engine: bad RTP port range %u-%u", e->port_min,
		         e->port_max);
		media_engine_free(e);
		return SIP_ERR_RANGE;
	}
	e->next_port = e->port_min;
	if (parse_local(e, addr) != 0) {
		snprintf(err, errcap, "media engine: %s is not a numeric IP address", addr);
		media_engine_free(e);
		return SIP_ERR_ADDR;
	}
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0)
		return engine_fail(e, err, errcap, "epoll", SIP_ERR_NOMEM);
	e->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (e->tfd < 0 || timerfd_settime(e->tfd, 0, &its, NULL) < 0 ||
	    watch(e, e->tfd, ID_TIMER) < 0)
		return engine_fail(e, err, errcap, "timerfd", SIP_ERR_NOMEM);
	e->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->evfd < 0 || watch(e, e->evfd, ID_WAKE) < 0)
		return engine_fail(e, err, errcap, "eventfd", SIP_ERR_NOMEM);
	if (pthread_create(&e->thread, NULL, engine_main, e) != 0) {
		close(e->evfd); /* so free does not try to join */
		e->evfd = -1;
		return engine_fail(e, err, errcap, "thread", SIP_ERR_NOMEM);
	}
	*out = e;
	return 0;
}

void media_engine_free(struct media_engine *e)
{
	uint64_t one = 1;

	if (!e)
		return;
	for (size_t i = 0; i < e->nslots; i++) {
		if (e->slots[i]) {
			sip_log(SIP_LOG_WARN, "media: engine freed with a stream still open");
			media_stream_free(e->slots[i]);
		}
	}
	if (e->evfd >= 0) {
		pthread_mutex_lock(&e->mu);
		e->stop = true;
		pthread_mutex_unlock(&e->mu);
		if (write(e->evfd, &one, sizeof(one)) != sizeof(one))
			sip_log(SIP_LOG_ERROR, "media: cannot wake the engine thread");
		pthread_join(e->thread, NULL);
		close(e->evfd);
	}
	if (e->tfd >= 0)
		close(e->tfd);
	if (e->epfd >= 0)
		close(e->epfd);
	pthread_cond_destroy(&e->cb_done);
	pthread_mutex_destroy(&e->mu);
	free(e->slots);
	free(e);
}

/* ---- streams ------------------------------------------------------------------ */

static int bind_port(struct media_engine *e, uint16_t port)
{
	struct sockaddr_storage a = e->local;
	int fd = socket(a.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (a.ss_family == AF_INET)
		((struct sockaddr_in *)&a)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&a)->sin6_port = htons(port);
	if (bind(fd, (struct sockaddr *)&a, e->local_len) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* An even RTP port and the RTCP port above it, both free, from the range:
 * the search starts where the last one ended, so ports are not reused at
 * once (a late packet of the old call would land in the new one). */
static int bind_pair(struct media_engine *e, struct media_stream *s, char *err, size_t errcap)
{
	unsigned count = (unsigned)(e->port_max - e->port_min + 1) / 2;

	for (unsigned i = 0; i < count; i++) {
		uint16_t p = e->next_port;
		e->next_port = (uint16_t)(p + 2);
		if (e->next_port < e->port_min || e->next_port + 1 > e->port_max)
			e->next_port = e->port_min;
		s->rtp_fd = bind_port(e, p);
		if (s->rtp_fd < 0) {
			if (errno == EADDRINUSE)
				continue;
			break;
		}
		s->rtcp_fd = bind_port(e, (uint16_t)(p + 1));
		if (s->rtcp_fd >= 0) {
			s->port = p;
			return 0;
		}
		close(s->rtp_fd);
		s->rtp_fd = -1;
		if (errno != EADDRINUSE)
			break;
	}
	if (errno == EADDRINUSE || count == 0)
		snprintf(err, errcap, "no free RTP port in %u-%u", e->port_min, e->port_max);
	else
		snprintf(err, errcap, "cannot bind RTP on %s: %s", e->local_addr, strerror(errno));
	return SIP_ERR_NOT_FOUND;
}

static int add_slot(struct media_engine *e, struct media_stream *s)
{
	size_t i;

	for (i = 0; i < e->nslots && e->slots[i]; i++)
		;
	if (i == e->nslots) {
		size_t n = e->nslots ? e->nslots * 2 : 16;
		struct media_stream **ns = realloc(e->slots, n * sizeof(*ns));
		if (!ns)
			return SIP_ERR_NOMEM;
		memset(ns + e->nslots, 0, (n - e->nslots) * sizeof(*ns));
		e->slots = ns;
		e->nslots = n;
	}
	s->slot = i;
	s->gen = ++e->gen;
	e->slots[i] = s;
	return 0;
}

static void stream_release(struct media_stream *s)
{
	if (s->rtp_fd >= 0)
		close(s->rtp_fd);
	if (s->rtcp_fd >= 0)
		close(s->rtcp_fd);
	wav_reader_close(s->play);
	wav_writer_close(s->rec);
	free(s);
}

int media_stream_new(struct media_engine *e, struct media_stream **out,
                     const struct media_stream_cfg *cfg, char *err, size_t errcap)
{
	struct media_stream *s = calloc(1, sizeof(*s));
	int rc;

	if (!s) {
		snprintf(err, errcap, "out of memory");
		return SIP_ERR_NOMEM;
	}
	s->e = e;
	s->rtp_fd = s->rtcp_fd = -1;
	s->echo = cfg->echo;
	s->on_dtmf = cfg->on_dtmf;
	s->arg = cfg->arg;
	stream_init_tx(s);
	if (cfg->play && (rc = wav_reader_open(&s->play, cfg->play, cfg->loop, err, errcap)) != 0)
		goto fail;
	if (cfg->record && (rc = wav_writer_open(&s->rec, cfg->record, err, errcap)) != 0)
		goto fail;
	pthread_mutex_lock(&e->mu);
	rc = bind_pair(e, s, err, errcap);
	if (rc == 0 && (rc = add_slot(e, s)) != 0)
		snprintf(err, errcap, "out of memory");
	if (rc == 0 && (watch(e, s->rtp_fd, ev_id(s, false)) < 0 ||
	                watch(e, s->rtcp_fd, ev_id(s, true)) < 0)) {
		snprintf(err, errcap, "epoll: %s", strerror(errno));
		e->slots[s->slot] = NULL;
		rc = SIP_ERR_NOMEM;
	}
	pthread_mutex_unlock(&e->mu);
	if (rc)
		goto fail;
	*out = s;
	return 0;
fail:
	stream_release(s);
	return rc;
}

void media_stream_free(struct media_stream *s)
{
	struct media_engine *e;
	size_t k = 0;

	if (!s)
		return;
	e = s->e;
	pthread_mutex_lock(&e->mu);
	e->slots[s->slot] = NULL;
	/* undelivered reports of this stream go with it */
	for (size_t i = 0; i < e->npend; i++)
		if (e->pend[i].s != s)
			e->pend[k++] = e->pend[i];
	e->npend = k;
	if (!pthread_equal(pthread_self(), e->thread))
		while (e->in_callback)
			pthread_cond_wait(&e->cb_done, &e->mu);
	stream_send_rtcp(s, true);
	epoll_ctl(e->epfd, EPOLL_CTL_DEL, s->rtp_fd, NULL);
	epoll_ctl(e->epfd, EPOLL_CTL_DEL, s->rtcp_fd, NULL);
	pthread_mutex_unlock(&e->mu);
	stream_release(s);
}
