/*
 * metrics.c — sipd's counters summed into a snapshot and written out as
 * Prometheus text (exposition format 0.0.4, every family with # HELP and
 * # TYPE) for /metrics and as JSON for /api/stats. Process figures come
 * from /proc/self (CPU time, resident and virtual memory, open files).
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "json.h"
#include "metrics.h"
#include "sipd.h"
#include "trace.h"

_Thread_local unsigned sipd_metrics_slot;

static const unsigned long lat_bounds[SIPD_LAT_N] = SIPD_LAT_BOUNDS;

int sipd_metrics_init(struct sipd_metrics *m, unsigned workers)
{
	size_t n = (size_t)workers + 1;

	memset(m, 0, sizeof(*m));
	/* Aligned blocks: two workers never write one cache line. */
	m->slot = aligned_alloc(64, n * sizeof(*m->slot));
	if (!m->slot)
		return SIP_ERR_NOMEM;
	memset(m->slot, 0, n * sizeof(*m->slot));
	m->nslots = (unsigned)n;
	m->started = auth_now();
	pthread_mutex_init(&m->count_mu, NULL);
	return 0;
}

void sipd_metrics_free(struct sipd_metrics *m)
{
	if (m->slot)
		pthread_mutex_destroy(&m->count_mu);
	free(m->slot);
	m->slot = NULL;
	m->nslots = 0;
}

void sipd_metrics_latency(struct sipd_metrics *m, uint64_t us)
{
	size_t k = 0;

	while (k < SIPD_LAT_N && us > lat_bounds[k])
		k++;
	sipd_inc(&m->lat_bucket[k]);
	atomic_fetch_add_explicit(&m->lat_sum_us, us, memory_order_relaxed);
	sipd_inc(&m->lat_count);
}

static unsigned long sum_calls(const struct sipd_metrics *m)
{
	unsigned long n = 0;

	for (unsigned i = 0; i < m->nslots; i++)
		n += atomic_load_explicit(&m->slot[i].calls, memory_order_relaxed);
	return n;
}

void sipd_metrics_second(struct sipd_metrics *m)
{
	unsigned pos = (atomic_load_explicit(&m->calls_pos, memory_order_relaxed) + 1) %
	               (SIPD_RATE_WINDOW + 1);

	atomic_store_explicit(&m->calls_at[pos], sum_calls(m), memory_order_relaxed);
	atomic_store_explicit(&m->calls_pos, pos, memory_order_release);
}

/* ---- the snapshot ---------------------------------------------------------------- */

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

static void sum_blocks(const struct sipd_metrics *m, struct sipd_snapshot *x)
{
	for (unsigned i = 0; i < m->nslots; i++) {
		const struct sipd_counters *c = &m->slot[i];
		for (unsigned k = 0; k < SIPD_NMETHODS; k++) {
			x->req_in[k] += LOAD(c->req_in[k]);
			x->req_out[k] += LOAD(c->req_out[k]);
			for (unsigned j = 0; j < 6; j++) {
				x->resp_in[k][j] += LOAD(c->resp_in[k][j]);
				x->resp_out[k][j] += LOAD(c->resp_out[k][j]);
			}
		}
		x->calls += LOAD(c->calls);
		x->auth_failures += LOAD(c->auth_failures);
	}
	for (unsigned k = 0; k < SIPD_NMETHODS; k++) {
		x->requests_in += x->req_in[k];
		x->requests_out += x->req_out[k];
		for (unsigned j = 0; j < 6; j++) {
			x->responses_in += x->resp_in[k][j];
			x->responses_out += x->resp_out[k][j];
		}
	}
}

/* Calls per second: the calls counted now less those of the sample taken
 * SIPD_RATE_WINDOW seconds ago (or zero at start-up), over that time. */
static void rates(struct sipd_metrics *m, struct sipd_snapshot *x)
{
	unsigned pos = atomic_load_explicit(&m->calls_pos, memory_order_acquire);
	unsigned long then = LOAD(m->calls_at[(pos + 1) % (SIPD_RATE_WINDOW + 1)]);
	int64_t up = x->now - m->started;
	double span = SIPD_RATE_WINDOW;

	if (up < SIPD_RATE_WINDOW) {
		then = 0;
		span = up > 0 ? (double)up : 1;
	}
	x->calls_per_second = x->calls >= then ? (double)(x->calls - then) / span : 0;
}

/* CPU time and memory from /proc/self/stat (proc(5): fields 14, 15, 23,
 * 24, counted after the command name, which may hold spaces). */
static void proc_self(struct sipd_snapshot *x)
{
	char buf[1024], *p;
	FILE *f = fopen("/proc/self/stat", "r");
	unsigned long ut = 0, st = 0, vsize = 0;
	long rss = 0;
	DIR *d;

	if (f) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		if ((p = strrchr(buf, ')')) && sscanf(p + 2,
		                                      "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
		                                      "%lu %lu %*d %*d %*d %*d %*d "
		                                      "%*d %*u %lu %ld",
		                                      &ut, &st, &vsize, &rss) == 4) {
			x->cpu_seconds = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
			x->vsize_bytes = vsize;
			x->rss_bytes = (unsigned long)rss * (unsigned long)sysconf(_SC_PAGESIZE);
		}
	}
	if ((d = opendir("/proc/self/fd"))) {
		struct dirent *e;
		while ((e = readdir(d)))
			x->open_fds += e->d_name[0] != '.';
		closedir(d);
		x->open_fds--; /* the one opendir holds */
	}
}

/* The store's counts walk every AOR under its shard locks, which REGISTERs
 * wait for. A small store is counted for every request; a big one at most
 * once per COUNT_TTL_S seconds however many dashboards and scrapers ask
 * (the callers are HTTP threads only). */
#define COUNT_TTL_S 2
#define COUNT_CHEAP 20000 /* bindings a walk may visit each time */

static void store_counts(struct sipd *s, int64_t now, size_t *aors, size_t *bindings)
{
	struct sipd_metrics *m = &s->metrics;

	pthread_mutex_lock(&m->count_mu);
	if (m->count_bindings < COUNT_CHEAP || now - m->count_at >= COUNT_TTL_S ||
	    now < m->count_at) {
		size_t a = 0, b = 0;
		if (loc_count(s->loc, now, &a, &b) == 0) {
			m->count_at = now;
			m->count_aors = a;
			m->count_bindings = b;
		}
	}
	*aors = m->count_aors;
	*bindings = m->count_bindings;
	pthread_mutex_unlock(&m->count_mu);
}

void sipd_snapshot(struct sipd *s, struct sipd_snapshot *x)
{
	memset(x, 0, sizeof(*x));
	x->now = auth_now();
	x->started = s->metrics.started;
	sum_blocks(&s->metrics, x);
	rates(&s->metrics, x);
	for (unsigned k = 0; k <= SIPD_LAT_N; k++)
		x->lat_bucket[k] = LOAD(s->metrics.lat_bucket[k]);
	x->lat_sum_us = LOAD(s->metrics.lat_sum_us);
	x->lat_count = LOAD(s->metrics.lat_count);
	x->parse_errors = LOAD(s->stats.parse_errors);
	x->dropped = LOAD(s->stats.dropped);
	x->oversize = LOAD(s->stats.oversize);
	x->stray_responses = LOAD(s->stats.stray_responses);
	x->rate_limited = LOAD(s->stats.rate_limited);
	x->overloaded = LOAD(s->stats.overloaded);
	x->transactions = tsx_layer_count(s->tsx);
	x->retransmissions = tsx_layer_retransmissions(s->tsx);
	store_counts(s, x->now, &x->aors, &x->bindings);
	if (s->trace)
		trace_counts(s->trace, &x->calls_active, &x->trace_calls);
	proc_self(x);
}

/* ---- Prometheus text ---------------------------------------------------------------- */

static const char *method_label(unsigned k)
{
	return k ? sip_method_name((enum sip_method)k) : "OTHER";
}

static void family(struct jbuf *b, const char *name, const char *type, const char *help)
{
	jb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void by_method(struct jbuf *b, const char *name, const char *help,
                      const unsigned long v[SIPD_NMETHODS])
{
	family(b, name, "counter", help);
	for (unsigned k = 0; k < SIPD_NMETHODS; k++)
		if (v[k] || k == SIP_METHOD_INVITE || k == SIP_METHOD_REGISTER)
			jb_printf(b, "%s{method=\"%s\"} %lu\n", name, method_label(k), v[k]);
}

static void by_class(struct jbuf *b, const char *name, const char *help,
                     const unsigned long v[SIPD_NMETHODS][6])
{
	family(b, name, "counter", help);
	for (unsigned k = 0; k < SIPD_NMETHODS; k++)
		for (unsigned j = 0; j < 6; j++)
			if (v[k][j])
				jb_printf(b, "%s{method=\"%s\",class=\"%uxx\"} %lu\n", name,
				          method_label(k), j + 1, v[k][j]);
}

static void one(struct jbuf *b, const char *name, const char *type, const char *help, double v)
{
	family(b, name, type, help);
	jb_printf(b, "%s %.17g\n", name, v);
}

void sipd_metrics_prometheus(const struct sipd_snapshot *x, struct jbuf *b)
{
	by_method(b, "sipd_requests_received_total", "SIP requests received, by method.",
	          x->req_in);
	by_method(b, "sipd_requests_sent_total", "SIP requests sent (forwarded), by method.",
	          x->req_out);
	by_class(b, "sipd_responses_received_total",
	         "SIP responses received, by CSeq method and status class.", x->resp_in);
	by_class(b, "sipd_responses_sent_total",
	         "SIP responses sent (own and forwarded), by CSeq method and status class.",
	         x->resp_out);
	one(b, "sipd_transactions_active", "gauge", "Live SIP transactions.",
	    (double)x->transactions);
	one(b, "sipd_retransmissions_total", "counter",
	    "Messages sent again by the transaction layer (timers, repeated requests).",
	    (double)x->retransmissions);
	one(b, "sipd_bindings", "gauge", "Live registered contacts.", (double)x->bindings);
	one(b, "sipd_aors", "gauge", "Addresses-of-record with live bindings.", (double)x->aors);
	one(b, "sipd_calls_total", "counter", "Proxied initial INVITEs.", (double)x->calls);
	one(b, "sipd_calls_active", "gauge",
	    "Calls calling, ringing or answered among the traced recent calls.",
	    (double)x->calls_active);
	one(b, "sipd_calls_per_second", "gauge", "Proxied initial INVITEs per second, last 10 s.",
	    x->calls_per_second);
	one(b, "sipd_auth_failures_total", "counter",
	    "Credentials refused (wrong, malformed, or from a limited source).",
	    (double)x->auth_failures);
	one(b, "sipd_dropped_messages_total", "counter",
	    "Messages dropped unanswered (unparseable responses, no Via).", (double)x->dropped);
	one(b, "sipd_oversize_messages_total", "counter", "Messages over --max-msg.",
	    (double)x->oversize);
	one(b, "sipd_parse_errors_total", "counter", "Messages that did not parse or check.",
	    (double)x->parse_errors);
	one(b, "sipd_stray_responses_total", "counter", "Responses matching no transaction.",
	    (double)x->stray_responses);
	one(b, "sipd_rate_limited_total", "counter",
	    "Messages over their source's --rate-limit (dropped, a few answered 503).",
	    (double)x->rate_limited);
	one(b, "sipd_overloaded_total", "counter",
	    "Requests refused with 503 at --max-transactions.", (double)x->overloaded);
	family(b, "sipd_store_update_seconds", "histogram",
	       "Time from a REGISTER's store update to its commit.");
	unsigned long cum = 0;
	for (unsigned k = 0; k < SIPD_LAT_N; k++) {
		cum += x->lat_bucket[k];
		jb_printf(b, "sipd_store_update_seconds_bucket{le=\"%g\"} %lu\n",
		          (double)lat_bounds[k] / 1e6, cum);
	}
	cum += x->lat_bucket[SIPD_LAT_N];
	jb_printf(b, "sipd_store_update_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
	jb_printf(b, "sipd_store_update_seconds_sum %.6f\nsipd_store_update_seconds_count %lu\n",
	          (double)x->lat_sum_us / 1e6, x->lat_count);
	one(b, "process_cpu_seconds_total", "counter", "User and system CPU time.", x->cpu_seconds);
	one(b, "process_resident_memory_bytes", "gauge", "Resident memory.", (double)x->rss_bytes);
	one(b, "process_virtual_memory_bytes", "gauge", "Virtual memory.", (double)x->vsize_bytes);
	one(b, "process_open_fds", "gauge", "Open file descriptors.", (double)x->open_fds);
	one(b, "process_start_time_seconds", "gauge", "Start time, unix seconds.",
	    (double)x->started);
}

/* ---- JSON ------------------------------------------------------------------------------ */

static void method_obj(struct jbuf *b, const char *key, const unsigned long v[SIPD_NMETHODS])
{
	bool first = true;

	jb_printf(b, ",\"%s\":{", key);
	for (unsigned k = 0; k < SIPD_NMETHODS; k++)
		if (v[k]) {
			jb_printf(b, "%s\"%s\":%lu", first ? "" : ",", method_label(k), v[k]);
			first = false;
		}
	jb_put(b, "}", 1);
}

static void class_obj(struct jbuf *b, const char *key, const unsigned long v[SIPD_NMETHODS][6])
{
	bool first = true;

	jb_printf(b, ",\"%s\":{", key);
	for (unsigned k = 0; k < SIPD_NMETHODS; k++)
		for (unsigned j = 0; j < 6; j++)
			if (v[k][j]) {
				jb_printf(b, "%s\"%s %uxx\":%lu", first ? "" : ",", method_label(k),
				          j + 1, v[k][j]);
				first = false;
			}
	jb_put(b, "}", 1);
}

void sipd_metrics_json(const struct sipd_snapshot *x, struct jbuf *b)
{
	jb_printf(b,
	          "{\"time\":%lld,\"uptime\":%lld,\"requests_received\":%lu,"
	          "\"responses_received\":%lu,\"requests_sent\":%lu,\"responses_sent\":%lu",
	          (long long)x->now, (long long)(x->now - x->started), x->requests_in,
	          x->responses_in, x->requests_out, x->responses_out);
	method_obj(b, "requests_received_by_method", x->req_in);
	method_obj(b, "requests_sent_by_method", x->req_out);
	class_obj(b, "responses_received_by_class", x->resp_in);
	class_obj(b, "responses_sent_by_class", x->resp_out);
	jb_printf(b,
	          ",\"transactions\":%zu,\"retransmissions\":%lu,\"bindings\":%zu,\"aors\":%zu,"
	          "\"calls_total\":%lu,\"calls_active\":%lu,\"calls_per_second\":%.3f,"
	          "\"calls_traced\":%lu,\"auth_failures\":%lu,\"dropped\":%lu,\"oversize\":%lu,"
	          "\"parse_errors\":%lu,\"stray_responses\":%lu,\"store_updates\":%lu,"
	          "\"store_update_avg_ms\":%.3f,\"cpu_seconds\":%.2f,\"rss_bytes\":%lu,"
	          "\"open_fds\":%lu,\"rate_limited\":%lu,\"overloaded\":%lu}",
	          x->transactions, x->retransmissions, x->bindings, x->aors, x->calls,
	          x->calls_active, x->calls_per_second, x->trace_calls, x->auth_failures,
	          x->dropped, x->oversize, x->parse_errors, x->stray_responses, x->lat_count,
	          x->lat_count ? (double)x->lat_sum_us / 1e3 / (double)x->lat_count : 0.0,
	          x->cpu_seconds, x->rss_bytes, x->open_fds, x->rate_limited, x->overloaded);
}
