/*
 * loop.c — the event loop of one worker thread (RFC 3261 §18 leaves the
 * I/O model to us; DESIGN.md "Concurrency" sets it): an epoll set with the
 * worker's sockets, an eventfd that wakes it for queued sends or to stop,
 * and two clocks folded into the epoll_wait timeout — the tick handed to
 * the transaction layer and the idle deadline of its oldest connection.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "tp_priv.h"

#define MAX_EVENTS 64

/* The worker running on this thread, so that tp_send on a worker writes
 * its own connections at once instead of queueing to itself. It is the
 * thread's identity, not shared state. */
static _Thread_local struct tp_worker *self;

uint64_t tp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct tp_worker *tp_worker_self(const struct tp *t)
{
	return self && self->t == t ? self : NULL;
}

int tp_worker_init(struct tp_worker *w, struct tp *t, unsigned idx)
{
	int err;

	memset(w, 0, sizeof(*w));
	w->t = t;
	w->idx = idx;
	w->ep = -1;
	w->wake.kind = TP_IO_WAKE;
	w->wake.fd = -1;
	w->spare_fd = -1;
	w->jobs_tail = &w->jobs;
	w->next_seq = 1;
	if ((err = pthread_mutex_init(&w->mu, NULL)) != 0)
		return -err;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (w->ep < 0 || w->wake.fd < 0 || w->spare_fd < 0)
		return -errno;
	return tp_worker_watch(w, &w->wake, EPOLLIN);
}

void tp_worker_fini(struct tp_worker *w)
{
	struct tp_job *j;

	tp_conn_free_all(w);
	while ((j = w->jobs)) {
		w->jobs = j->next;
		free(j);
	}
	tp_udp_batch_free(w);
	if (w->wake.fd >= 0)
		close(w->wake.fd);
	if (w->spare_fd >= 0)
		close(w->spare_fd);
	if (w->ep >= 0)
		close(w->ep);
	pthread_mutex_destroy(&w->mu);
}

int tp_worker_watch(struct tp_worker *w, struct tp_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};

	return epoll_ctl(w->ep, EPOLL_CTL_ADD, io->fd, &ev) < 0 ? -errno : 0;
}

void tp_worker_wake(struct tp_worker *w)
{
	uint64_t one = 1;

	/* A full counter (EAGAIN) is still a pending wake-up: nothing lost. */
	if (write(w->wake.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		sip_log(SIP_LOG_ERROR, "transport: worker %u: wake: %s", w->idx, strerror(errno));
}

/* Queues a job; only the push onto an empty queue wakes the worker, the
 * others find it awake already or about to drain. */
void tp_worker_post(struct tp_worker *w, struct tp_job *job)
{
	bool was_empty;

	job->next = NULL;
	pthread_mutex_lock(&w->mu);
	was_empty = w->jobs == NULL;
	*w->jobs_tail = job;
	w->jobs_tail = &job->next;
	pthread_mutex_unlock(&w->mu);
	if (was_empty)
		tp_worker_wake(w);
}

/* Takes the whole queue at once and runs it without the lock held. */
static void drain_jobs(struct tp_worker *w)
{
	struct tp_job *list, *next;
	uint64_t n;

	if (read(w->wake.fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		sip_log(SIP_LOG_ERROR, "transport: worker %u: eventfd: %s", w->idx,
		        strerror(errno));
	pthread_mutex_lock(&w->mu);
	list = w->jobs;
	w->jobs = NULL;
	w->jobs_tail = &w->jobs;
	pthread_mutex_unlock(&w->mu);
	for (; list; list = next) {
		next = list->next;
		tp_tcp_job(w, list); /* frees or passes on the job */
	}
}

static void dispatch(struct tp_worker *w, struct epoll_event *ev)
{
	struct tp_io *io = ev->data.ptr;

	switch (io->kind) {
	case TP_IO_WAKE: drain_jobs(w); break;
	case TP_IO_UDP: tp_udp_readable(w, (struct tp_lsock *)io); break;
	case TP_IO_LISTEN: tp_tcp_acceptable(w, (struct tp_lsock *)io); break;
	case TP_IO_CONN: {
		struct tp_conn *c = (struct tp_conn *)io;

		/* Closed earlier in this batch: its memory waits in the
		 * grave until the batch is done, so this check is safe. */
		if (!c->dead)
			tp_tcp_event(w, c, ev->events);
		break;
	}
	}
}

/* Milliseconds until the next tick or idle deadline; -1: none. */
static int wait_ms(const struct tp_worker *w)
{
	uint64_t next = tp_conn_next_expiry(w);

	if (w->t->tick && w->next_tick < next)
		next = w->next_tick;
	if (next == UINT64_MAX)
		return -1;
	if (next <= w->now)
		return 0;
	return next - w->now > 60000 ? 60000 : (int)(next - w->now);
}

static void run_timers(struct tp_worker *w)
{
	struct tp *t = w->t;

	if (t->tick && w->now >= w->next_tick) {
		t->tick(w->idx, w->now, t->tick_arg);
		/* Keep the cadence, but do not burst to catch up after a
		 * long callback: the timer wheel copes with late ticks. */
		w->next_tick += t->tick_ms;
		if (w->next_tick <= w->now)
			w->next_tick = w->now + t->tick_ms;
	}
	tp_conn_expire(w);
}

void *tp_worker_main(void *arg)
{
	struct tp_worker *w = arg;
	struct tp *t = w->t;
	struct epoll_event evs[MAX_EVENTS];

	self = w;
	w->now = tp_now_ms();
	w->next_tick = w->now + t->tick_ms;
	while (!atomic_load_explicit(&t->stop, memory_order_acquire)) {
		int n = epoll_wait(w->ep, evs, MAX_EVENTS, wait_ms(w));

		if (n < 0 && errno != EINTR) {
			sip_log(SIP_LOG_ERROR, "transport: worker %u: epoll_wait: %s", w->idx,
			        strerror(errno));
			break;
		}
		w->now = tp_now_ms();
		for (int i = 0; i < n; i++)
			dispatch(w, &evs[i]);
		run_timers(w);
		tp_conn_reap(w);
	}
	self = NULL;
	return NULL;
}
