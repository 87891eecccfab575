/*
 * metrics.h — sipd's counters for operators: messages in and out by
 * method and response class, calls, authentication failures, the store's
 * update latency. Cheap on the hot path: each worker thread counts into a
 * cache-line aligned block of its own with relaxed atomic adds (threads
 * that are not workers — the store's, the resolver's — share block 0), and
 * a reader sums the blocks when someone asks (/metrics, /api/stats).
 */
#ifndef SIPD_METRICS_H
#define SIPD_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "libsip/msg.h"

#define SIPD_NMETHODS (SIP_METHOD_UPDATE + 1)
/* Upper bounds of the store latency histogram, in microseconds. */
#define SIPD_LAT_BOUNDS                                                                            \
	{                                                                                          \
		100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000      \
	}
#define SIPD_LAT_N 12
#define SIPD_RATE_WINDOW 10 /* seconds over which calls per second is averaged */

/* One thread's counts. Response classes 1..6 are [0..5]. */
struct sipd_counters {
	_Alignas(64) atomic_ulong req_in[SIPD_NMETHODS];
	atomic_ulong req_out[SIPD_NMETHODS];
	atomic_ulong resp_in[SIPD_NMETHODS][6];
	atomic_ulong resp_out[SIPD_NMETHODS][6];
	atomic_ulong calls;         /* initial INVITEs that started a proxy transaction */
	atomic_ulong auth_failures; /* 403/400/503 answers to credentials */
};

struct sipd_metrics {
	struct sipd_counters *slot; /* [nslots]: 0 shared, 1 + worker index */
	unsigned nslots;
	atomic_ulong lat_bucket[SIPD_LAT_N + 1]; /* the last one is +Inf */
	atomic_ulong lat_sum_us, lat_count;
	/* Calls counted at each of the last seconds (worker 0's tick writes,
	 * readers tolerate a torn window: it is a gauge for eyes). */
	atomic_ulong calls_at[SIPD_RATE_WINDOW + 1];
	atomic_uint calls_pos;
	int64_t started; /* unix seconds */
	/* The store's last counts, and when they were taken (metrics.c). */
	pthread_mutex_t count_mu;
	int64_t count_at;
	size_t count_aors, count_bindings;
};

/* The calling thread's block: sipd sets it on its workers (0 elsewhere). */
extern _Thread_local unsigned sipd_metrics_slot;

/* Allocates one block per worker plus the shared one. 0 or SIP_ERR_NOMEM. */
int sipd_metrics_init(struct sipd_metrics *m, unsigned workers);
void sipd_metrics_free(struct sipd_metrics *m);

static inline struct sipd_counters *sipd_ctr(struct sipd_metrics *m)
{
	unsigned i = sipd_metrics_slot;

	return &m->slot[i < m->nslots ? i : 0];
}

static inline void sipd_inc(atomic_ulong *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static inline unsigned sipd_method_ix(int method)
{
	return method > 0 && method < SIPD_NMETHODS ? (unsigned)method : 0;
}

/* A message counted by direction: a request's method, or a response's
 * status and the method of its CSeq. */
static inline void sipd_count_msg(struct sipd_metrics *m, bool out, bool request, int method,
                                  int status)
{
	struct sipd_counters *c = sipd_ctr(m);
	unsigned k = sipd_method_ix(method);

	if (request)
		sipd_inc(out ? &c->req_out[k] : &c->req_in[k]);
	else if (status >= 100 && status < 700)
		sipd_inc(out ? &c->resp_out[k][status / 100 - 1]
		             : &c->resp_in[k][status / 100 - 1]);
}

/* Monotonic microseconds, for latencies. */
static inline uint64_t sipd_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* One store update took us microseconds. */
void sipd_metrics_latency(struct sipd_metrics *m, uint64_t us);
/* Once a second (worker 0): the calls-per-second window moves on. */
void sipd_metrics_second(struct sipd_metrics *m);

/* ---- reading (metrics.c) ------------------------------------------------------ */

/* Everything a reader shows, summed over the blocks. */
struct sipd_snapshot {
	unsigned long req_in[SIPD_NMETHODS], req_out[SIPD_NMETHODS];
	unsigned long resp_in[SIPD_NMETHODS][6], resp_out[SIPD_NMETHODS][6];
	unsigned long requests_in, responses_in, requests_out, responses_out;
	unsigned long calls, auth_failures;
	double calls_per_second;
	unsigned long lat_bucket[SIPD_LAT_N + 1], lat_sum_us, lat_count;
	unsigned long parse_errors, dropped, oversize, stray_responses, retransmissions;
	unsigned long rate_limited, overloaded;
	size_t transactions, aors, bindings;
	unsigned long calls_active, trace_calls;
	double cpu_seconds;
	unsigned long rss_bytes, vsize_bytes, open_fds;
	int64_t started, now;
};

struct sipd;
struct jbuf;

/* Takes a snapshot of s (the store is asked for its counts). */
void sipd_snapshot(struct sipd *s, struct sipd_snapshot *out);
/* The snapshot as Prometheus text exposition format 0.0.4. */
void sipd_metrics_prometheus(const struct sipd_snapshot *x, struct jbuf *b);
/* The snapshot as the JSON object of /api/stats. */
void sipd_metrics_json(const struct sipd_snapshot *x, struct jbuf *b);

#endif /* SIPD_METRICS_H */
