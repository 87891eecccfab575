/*
 * trace.c — the recent calls and their messages (see trace.h), for the
 * dashboard's call list and ladder diagrams. Memory is bounded three
 * ways: TRACE_CALLS calls, TRACE_CALL_BYTES of text per call and
 * TRACE_MSG_MAX per message. A new call takes a free slot of its shard,
 * else the oldest finished call's, else the oldest call's. Message copies
 * are made before the shard's lock is taken and freed after it is let go,
 * so the lock covers only linking and a few comparisons.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "libsip/msg.h"
#include "trace.h"

#define SHARDS 8
#define PER_SHARD (TRACE_CALLS / SHARDS)
#define MSGS_MAX 256 /* messages of one call */
#define ADDR_MAX 64
#define NAME_MAX_ 256

enum tstate { T_CALLING, T_RINGING, T_ANSWERED, T_ENDED, T_FAILED, T_CANCELLED };

static const char *const state_names[] = {"calling", "ringing", "answered",
                                          "ended",   "failed",  "cancelled"};

struct tmsg {
	struct tmsg *next;
	int64_t at_us;
	bool out;
	enum tp_proto proto;
	char src[ADDR_MAX], dst[ADDR_MAX];
	size_t len, orig_len; /* kept, and as it was */
	char text[];
};

struct tcall {
	bool used;
	uint64_t hash, seq;
	char call_id[NAME_MAX_], from[NAME_MAX_], to[NAME_MAX_];
	enum tstate state;
	int final_status;
	int64_t start_us, answer_us, end_us;
	struct tmsg *head, *tail;
	unsigned nmsgs, dropped;
	size_t bytes;
};

struct tshard {
	pthread_mutex_t mu;
	unsigned active; /* calls in a live state */
	struct tcall calls[PER_SHARD];
};

struct trace {
	struct tshard sh[SHARDS];
	atomic_ulong seq;
};

int trace_new(struct trace **out)
{
	struct trace *t = calloc(1, sizeof(*t));

	if (!t)
		return SIP_ERR_NOMEM;
	for (unsigned i = 0; i < SHARDS; i++)
		pthread_mutex_init(&t->sh[i].mu, NULL);
	*out = t;
	return 0;
}

static void free_msgs(struct tmsg *m)
{
	while (m) {
		struct tmsg *next = m->next;
		free(m);
		m = next;
	}
}

void trace_free(struct trace *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < SHARDS; i++) {
		for (unsigned k = 0; k < PER_SHARD; k++)
			free_msgs(t->sh[i].calls[k].head);
		pthread_mutex_destroy(&t->sh[i].mu);
	}
	free(t);
}

bool trace_wants(int m)
{
	switch (m) {
	case SIP_METHOD_INVITE:
	case SIP_METHOD_ACK:
	case SIP_METHOD_BYE:
	case SIP_METHOD_CANCEL:
	case SIP_METHOD_PRACK:
	case SIP_METHOD_UPDATE:
	case SIP_METHOD_INFO:
	case SIP_METHOD_REFER: return true;
	default: return false;
	}
}

static bool live(enum tstate s)
{
	return s == T_CALLING || s == T_RINGING || s == T_ANSWERED;
}

/* The URI of a From or To value ("Bob" <sip:bob@x>;tag=1 → sip:bob@x). */
static void name_of(char *out, struct sip_pl v)
{
	const char *lt = v.p ? memchr(v.p, '<', v.len) : NULL, *end;
	size_t n;

	if (lt) {
		end = memchr(lt, '>', v.len - (size_t)(lt - v.p));
		v = sip_pl(lt + 1, end ? (size_t)(end - lt - 1) : v.len - (size_t)(lt - v.p) - 1);
	} else if (v.p && (end = memchr(v.p, ';', v.len))) {
		v.len = (size_t)(end - v.p);
	}
	n = v.len < NAME_MAX_ - 1 ? v.len : NAME_MAX_ - 1;
	if (n)
		memcpy(out, v.p, n);
	out[n] = '\0';
}

static struct tcall *find(struct tshard *sh, uint64_t h, struct sip_pl cid)
{
	for (unsigned k = 0; k < PER_SHARD; k++) {
		struct tcall *c = &sh->calls[k];
		if (c->used && c->hash == h && strlen(c->call_id) == cid.len &&
		    !memcmp(c->call_id, cid.p, cid.len))
			return c;
	}
	return NULL;
}

/* The slot a new call takes: free, else the oldest finished, else the
 * oldest. Its old messages are handed back in *old to free unlocked. */
static struct tcall *take_slot(struct tshard *sh, struct tmsg **old)
{
	struct tcall *oldest = NULL, *done = NULL;

	for (unsigned k = 0; k < PER_SHARD; k++) {
		struct tcall *c = &sh->calls[k];
		if (!c->used)
			return c;
		if (!oldest || c->seq < oldest->seq)
			oldest = c;
		if (!live(c->state) && (!done || c->seq < done->seq))
			done = c;
	}
	struct tcall *c = done ? done : oldest;
	if (live(c->state))
		sh->active--;
	*old = c->head;
	return c;
}

static void start_call(struct trace *t, struct tshard *sh, struct tcall *c, uint64_t h,
                       const struct trace_ev *ev)
{
	size_t n = ev->call_id.len < NAME_MAX_ - 1 ? ev->call_id.len : NAME_MAX_ - 1;

	memset(c, 0, sizeof(*c));
	c->used = true;
	c->hash = h;
	c->seq = atomic_fetch_add_explicit(&t->seq, 1, memory_order_relaxed) + 1;
	memcpy(c->call_id, ev->call_id.p, n);
	c->call_id[n] = '\0';
	name_of(c->from, ev->from);
	name_of(c->to, ev->to);
	c->state = T_CALLING;
	c->start_us = ev->at_us;
	sh->active++;
}

/* The call's state after this message (RFC 3261 §13, §15, §9). */
static void advance(struct tshard *sh, struct tcall *c, const struct trace_ev *ev)
{
	enum tstate was = c->state;

	if (ev->request) {
		if (ev->method == SIP_METHOD_BYE && was == T_ANSWERED) {
			c->state = T_ENDED;
			c->end_us = ev->at_us;
		}
	} else if (ev->cseq_method == SIP_METHOD_INVITE && (was == T_CALLING || was == T_RINGING)) {
		if (ev->status > 100 && ev->status < 200) {
			c->state = T_RINGING;
		} else if (ev->status >= 200 && ev->status < 300) {
			c->state = T_ANSWERED;
			c->answer_us = ev->at_us;
			c->final_status = ev->status;
		} else if (ev->status >= 300) {
			c->state = ev->status == 487 ? T_CANCELLED : T_FAILED;
			c->final_status = ev->status;
			c->end_us = ev->at_us;
		}
	}
	if (live(was) && !live(c->state))
		sh->active--;
}

static struct tmsg *copy_msg(const struct trace_ev *ev)
{
	size_t n = ev->len < TRACE_MSG_MAX ? ev->len : TRACE_MSG_MAX;
	struct tmsg *m = malloc(sizeof(*m) + n);

	if (!m)
		return NULL;
	m->next = NULL;
	m->at_us = ev->at_us;
	m->out = ev->out;
	m->proto = ev->proto;
	tp_addr_str(ev->src, m->src, sizeof(m->src));
	tp_addr_str(ev->dst, m->dst, sizeof(m->dst));
	m->len = n;
	m->orig_len = ev->len;
	memcpy(m->text, ev->text, n);
	return m;
}

void trace_record(struct trace *t, const struct trace_ev *ev)
{
	uint64_t h = sip_pl_hash(SIP_FNV_BASIS, ev->call_id);
	struct tshard *sh = &t->sh[(h >> 32) % SHARDS];
	struct tmsg *m, *old = NULL;
	struct tcall *c;

	if (!ev->call_id.len || !(m = copy_msg(ev)))
		return;
	pthread_mutex_lock(&sh->mu);
	c = find(sh, h, ev->call_id);
	if (!c && ev->initial && !ev->out) {
		c = take_slot(sh, &old);
		start_call(t, sh, c, h, ev);
	}
	if (c && (c->nmsgs >= MSGS_MAX || c->bytes + m->len > TRACE_CALL_BYTES)) {
		c->dropped++;
		advance(sh, c, ev);
		c = NULL;
	}
	if (c) {
		if (c->tail)
			c->tail->next = m;
		else
			c->head = m;
		c->tail = m;
		c->nmsgs++;
		c->bytes += m->len;
		advance(sh, c, ev);
		m = NULL;
	}
	pthread_mutex_unlock(&sh->mu);
	free(m);
	free_msgs(old);
}

void trace_counts(struct trace *t, unsigned long *active, unsigned long *kept)
{
	*active = *kept = 0;
	for (unsigned i = 0; i < SHARDS; i++) {
		struct tshard *sh = &t->sh[i];
		pthread_mutex_lock(&sh->mu);
		*active += sh->active;
		for (unsigned k = 0; k < PER_SHARD; k++)
			*kept += sh->calls[k].used;
		pthread_mutex_unlock(&sh->mu);
	}
}

static double secs(int64_t us)
{
	return (double)us / 1e6;
}

static void call_json(const struct tcall *c, int64_t now_us, struct jbuf *b)
{
	int64_t end = c->end_us ? c->end_us : now_us;

	jb_put(b, "{\"call_id\":", 11);
	jb_cstr(b, c->call_id);
	jb_put(b, ",\"from\":", 8);
	jb_cstr(b, c->from);
	jb_put(b, ",\"to\":", 6);
	jb_cstr(b, c->to);
	jb_printf(b, ",\"state\":\"%s\",\"status\":%d,\"start\":%.3f,\"answered\":",
	          state_names[c->state], c->final_status, secs(c->start_us));
	if (c->answer_us)
		jb_printf(b, "%.3f", secs(c->answer_us));
	else
		jb_put(b, "null", 4);
	jb_put(b, ",\"end\":", 7);
	if (c->end_us)
		jb_printf(b, "%.3f", secs(c->end_us));
	else
		jb_put(b, "null", 4);
	jb_printf(b,
	          ",\"duration\":%.3f,\"talk\":%.3f,\"messages\":%u,\"dropped\":%u,\"seq\":%llu}",
	          secs(end - c->start_us), c->answer_us ? secs(end - c->answer_us) : 0.0, c->nmsgs,
	          c->dropped, (unsigned long long)c->seq);
}

struct pick {
	unsigned shard, slot;
	uint64_t seq;
};

static int newest_first(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;

	return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

/* Each shard is listed under its own lock; the merged order is by seq.
 * Copying shard by shard means a snapshot that is not atomic across
 * shards, which a once-a-second view does not notice. */
void trace_calls_json(struct trace *t, bool active_only, int64_t now_us, struct jbuf *b)
{
	struct jbuf part[SHARDS] = {0};
	struct pick order[TRACE_CALLS];
	size_t n = 0;
	/* Each call's JSON is written into its shard's buffer; offsets kept
	 * to stitch them in order afterwards. */
	size_t off[SHARDS][PER_SHARD + 1];

	for (unsigned i = 0; i < SHARDS; i++) {
		struct tshard *sh = &t->sh[i];
		pthread_mutex_lock(&sh->mu);
		for (unsigned k = 0; k < PER_SHARD; k++) {
			const struct tcall *c = &sh->calls[k];
			off[i][k] = part[i].len;
			if (!c->used || (active_only && !live(c->state)))
				continue;
			call_json(c, now_us, &part[i]);
			order[n++] = (struct pick){i, k, c->seq};
		}
		off[i][PER_SHARD] = part[i].len;
		pthread_mutex_unlock(&sh->mu);
	}
	qsort(order, n, sizeof(order[0]), newest_first);
	jb_put(b, "[", 1);
	for (size_t j = 0; j < n; j++) {
		const struct pick *p = &order[j];
		size_t from = off[p->shard][p->slot], to = off[p->shard][p->slot + 1];
		if (j)
			jb_put(b, ",", 1);
		if (!part[p->shard].oom)
			jb_put(b, part[p->shard].p + from, to - from);
		else
			b->oom = true;
	}
	jb_put(b, "]", 1);
	for (unsigned i = 0; i < SHARDS; i++)
		jb_free(&part[i]);
}

/* The first line of a message's text (without its CRLF). */
static size_t first_line(const char *p, size_t n)
{
	const char *e = memchr(p, '\n', n);
	size_t k = e ? (size_t)(e - p) : n;

	return k && p[k - 1] == '\r' ? k - 1 : k;
}

int trace_messages_json(struct trace *t, struct sip_pl call_id, struct jbuf *b)
{
	uint64_t h = sip_pl_hash(SIP_FNV_BASIS, call_id);
	struct tshard *sh = &t->sh[(h >> 32) % SHARDS];
	struct tcall *c;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&sh->mu);
	if (!(c = find(sh, h, call_id))) {
		pthread_mutex_unlock(&sh->mu);
		return SIP_ERR_NOT_FOUND;
	}
	jb_put(b, "{\"call\":", 8);
	call_json(c, (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, b);
	jb_put(b, ",\"messages\":[", 13);
	for (const struct tmsg *m = c->head; m; m = m->next) {
		jb_printf(b, "%s{\"time\":%.6f,\"dir\":\"%s\",\"proto\":\"%s\",\"src\":",
		          m == c->head ? "" : ",", secs(m->at_us), m->out ? "out" : "in",
		          tp_proto_name(m->proto));
		jb_cstr(b, m->src);
		jb_put(b, ",\"dst\":", 7);
		jb_cstr(b, m->dst);
		jb_put(b, ",\"first_line\":", 14);
		jb_str(b, m->text, first_line(m->text, m->len));
		jb_printf(b,
		          ",\"truncated\":%s,\"text\":", m->len < m->orig_len ? "true" : "false");
		jb_str(b, m->text, m->len);
		jb_put(b, "}", 1);
	}
	jb_put(b, "]}", 2);
	pthread_mutex_unlock(&sh->mu);
	return 0;
}
