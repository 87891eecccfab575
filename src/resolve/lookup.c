/*
 * lookup.c — one RFC 3263 §4 lookup on the resolver thread, in up to three
 * rounds of parallel c-ares queries: NAPTR of the target (§4.1), SRV of the
 * transports found or assumed (§4.1, RFC 2782), then A and AAAA of every
 * SRV target, or of the target itself when there is no SRV (§4.2). Each
 * round ends when its last answer is in; the next round is chosen from
 * what came back. Requests for a key already being looked up wait on that
 * lookup instead of asking DNS again.
 *
 * A timeout or a server failure ends the lookup at the round where it
 * happened — falling back to the next kind of record would wait once more
 * for a server that just failed to answer — unless another answer of the
 * round still gives somewhere to go. Lookups that met such a failure are
 * not cached; clean answers are, for their smallest TTL (RFC 2308 for the
 * negative ones).
 *
 * c-ares is told to try each query once; rs_new's tries are counted here,
 * so that a try waits timeout_ms and no more (c-ares doubles the wait of
 * every further try of its own).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "libsip/log.h"

#include "rs_priv.h"

#define T_A 1
#define T_SOA 6
#define T_AAAA 28
#define T_SRV 33
#define T_NAPTR 35
#define C_IN 1
#define SIP_PORT 5060
#define SIPS_PORT 5061

enum job_stage {
	ST_NAPTR,
	ST_SRV,
	ST_ADDR,
};

/* An SRV name to ask, from a NAPTR record or the §4.1 default. */
struct srv_query {
	uint16_t rank;
	enum tp_proto proto;
	char name[RS_NAME_MAX];
};

/* A distinct name to ask A and AAAA of, with what came back. */
struct host_addrs {
	char name[RS_NAME_MAX];
	struct rs_ip v4[RS_MAX_ADDR], v6[RS_MAX_ADDR];
	unsigned n4, n6;
};

struct rs_job {
	struct rs_job *next;
	struct rs_resolver *r;
	struct rs_key key;
	struct rs_req *waiters;
	enum job_stage stage;
	unsigned pending; /* queries in flight */
	bool issuing;     /* queries of a round are being sent: do not step yet */
	int err;          /* first failure other than "no such record" */
	uint32_t ttl;     /* smallest TTL of the answers used */
	bool srv_seen;    /* some SRV answer had records, "." included */
	unsigned nsq, nsrv, nhost;
	struct srv_query sq[RS_MAX_NAPTR];
	struct rs_srv srv[RS_MAX_SRV]; /* first: index into host[] until the plan is built */
	struct host_addrs host[RS_MAX_SRV];
};

/* One c-ares query; name points into its job. */
struct rs_q {
	struct rs_job *job;
	const char *name;
	int type;
	unsigned idx; /* sq[] for SRV, host[] for A/AAAA */
	unsigned sent;
};

static void job_step(struct rs_job *j);

int rs_ares_err(int status)
{
	switch (status) {
	case ARES_SUCCESS: return 0;
	case ARES_ENODATA:
	case ARES_ENOTFOUND:
	case ARES_EBADNAME: return SIP_ERR_NOT_FOUND; /* a name c-ares refuses cannot exist */
	case ARES_ETIMEOUT: return RS_ERR_TIMEOUT;
	case ARES_ENOMEM: return SIP_ERR_NOMEM;
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION: return RS_ERR_CANCELLED;
	default: return RS_ERR_SERVER;
	}
}

/* ---- TTLs: c-ares 1.18 parses SRV and NAPTR without them ---------------- */

static unsigned rd16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Offset past the (possibly compressed) name at off, or -1. */
static int skip_name(const unsigned char *b, int len, int off)
{
	while (off < len) {
		unsigned l = b[off];

		if (l == 0)
			return off + 1;
		if ((l & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : -1;
		if (l & 0xc0)
			return -1;
		off += (int)l + 1;
	}
	return -1;
}

/* RFC 2181 §8: a TTL with the top bit set means zero. */
static uint32_t ttl_val(uint32_t t)
{
	return t & 0x80000000u ? 0 : t;
}

/* How long an answer may be kept: the smallest TTL of its answer records;
 * for a negative one (RFC 2308 §5) the smaller of the SOA's TTL and its
 * MINIMUM field, or RS_NEG_TTL when the server sent no SOA. A positive
 * answer that cannot be walked is not kept (0). */
static uint32_t reply_ttl(const unsigned char *b, int len, bool negative)
{
	uint32_t min = UINT32_MAX, soa = UINT32_MAX;
	unsigned qd, an, ns;
	int off = 12;

	if (!b || len < 12)
		return negative ? RS_NEG_TTL : 0;
	qd = rd16(b + 4);
	an = rd16(b + 6);
	ns = rd16(b + 8);
	for (unsigned i = 0; i < qd && off >= 0; i++)
		if ((off = skip_name(b, len, off)) >= 0)
			off += 4;
	for (unsigned i = 0; i < an + ns && off >= 0; i++) {
		unsigned type, rdlen;
		uint32_t ttl;

		off = skip_name(b, len, off);
		if (off < 0 || off + 10 > len)
			break;
		type = rd16(b + off);
		ttl = ttl_val(rd32(b + off + 4));
		rdlen = rd16(b + off + 8);
		off += 10;
		if (off + (int)rdlen > len)
			break;
		if (i < an && ttl < min)
			min = ttl;
		else if (i >= an && type == T_SOA && rdlen >= 20) {
			uint32_t m = ttl_val(rd32(b + off + rdlen - 4));

			soa = ttl < m ? ttl : m;
		}
		off += (int)rdlen;
	}
	if (!negative)
		return min == UINT32_MAX ? 0 : min;
	return soa == UINT32_MAX ? RS_NEG_TTL : soa;
}

/* ---- answers ----------------------------------------------------------- */

static void set_err(struct rs_job *j, int err)
{
	if (!j->err)
		j->err = err;
}

static bool is_root(const char *name)
{
	return name[0] == '\0' || strcmp(name, ".") == 0;
}

/* Copies a name from DNS lower-cased and without a trailing dot; false
 * when it does not fit. */
static bool name_copy(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n && src[n - 1] == '.')
		n--;
	if (n == 0 || n >= RS_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)((src[i] >= 'A' && src[i] <= 'Z') ? src[i] + 32 : src[i]);
	dst[n] = '\0';
	return true;
}

static int naptr_cmp(const void *a, const void *b)
{
	const struct ares_naptr_reply *x = *(const struct ares_naptr_reply *const *)a;
	const struct ares_naptr_reply *y = *(const struct ares_naptr_reply *const *)b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	if (x->preference != y->preference)
		return x->preference < y->preference ? -1 : 1;
	return 0;
}

/* §4.1: keep the records a sip: client can follow — flag "s" (an SRV
 * lookup comes next), service SIP+D2U or SIP+D2T — in order, then
 * preference. All of them, not only those of the best order: the later
 * ones are the fallback transports of the list. */
static void on_naptr(struct rs_job *j, const unsigned char *abuf, int alen)
{
	struct ares_naptr_reply *list = NULL, *keep[RS_MAX_NAPTR * 4];
	size_t n = 0;
	int rc = ares_parse_naptr_reply(abuf, alen, &list);

	if (rc != ARES_SUCCESS) {
		set_err(j, rc == ARES_ENODATA ? 0 : rs_ares_err(rc));
		return;
	}
	for (struct ares_naptr_reply *x = list; x && n < sizeof(keep) / sizeof(*keep);
	     x = x->next) {
		const char *svc = (const char *)x->service, *fl = (const char *)x->flags;

		if (strcasecmp(fl, "s") != 0 || is_root(x->replacement))
			continue;
		if (strcasecmp(svc, "SIP+D2U") == 0 || strcasecmp(svc, "SIP+D2T") == 0)
			keep[n++] = x;
	}
	/* qsort is not stable, but records of equal order and preference are
	 * equal choices (RFC 3403 §4.1), so any order among them will do. */
	qsort(keep, n, sizeof(*keep), naptr_cmp);
	for (size_t i = 0; i < n && j->nsq < RS_MAX_NAPTR; i++) {
		struct srv_query *q = &j->sq[j->nsq];

		if (!name_copy(q->name, keep[i]->replacement))
			continue;
		q->rank = (uint16_t)j->nsq;
		q->proto = strcasecmp((const char *)keep[i]->service, "SIP+D2T") == 0 ? TP_TCP
		                                                                      : TP_UDP;
		j->nsq++;
	}
	ares_free_data(list);
}

static unsigned host_index(struct rs_job *j, const char *name)
{
	for (unsigned i = 0; i < j->nhost; i++)
		if (strcmp(j->host[i].name, name) == 0)
			return i;
	if (j->nhost == RS_MAX_SRV)
		return RS_MAX_SRV;
	strcpy(j->host[j->nhost].name, name);
	j->host[j->nhost].n4 = j->host[j->nhost].n6 = 0;
	return j->nhost++;
}

/* Adds one record per SRV target; "." records only say that SRV exists. */
static void on_srv(struct rs_job *j, const struct srv_query *sq, const unsigned char *abuf,
                   int alen)
{
	struct ares_srv_reply *list = NULL;
	int rc = ares_parse_srv_reply(abuf, alen, &list);

	if (rc != ARES_SUCCESS) {
		set_err(j, rc == ARES_ENODATA ? 0 : rs_ares_err(rc));
		return;
	}
	for (struct ares_srv_reply *x = list; x; x = x->next) {
		char name[RS_NAME_MAX];
		unsigned h;

		j->srv_seen = true;
		if (is_root(x->host) || !name_copy(name, x->host) || j->nsrv == RS_MAX_SRV)
			continue;
		if ((h = host_index(j, name)) == RS_MAX_SRV)
			continue;
		j->srv[j->nsrv++] = (struct rs_srv){.rank = sq->rank,
		                                    .prio = x->priority,
		                                    .weight = x->weight,
		                                    .port = x->port,
		                                    .proto = sq->proto,
		                                    .first = (uint16_t)h};
	}
	ares_free_data(list);
}

static void on_addr(struct rs_job *j, struct host_addrs *h, int type, const unsigned char *abuf,
                    int alen)
{
	int rc, n = RS_MAX_ADDR;

	if (type == T_A) {
		struct ares_addrttl at[RS_MAX_ADDR];

		rc = ares_parse_a_reply(abuf, alen, NULL, at, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++) {
			h->v4[h->n4].family = AF_INET;
			memcpy(h->v4[h->n4++].a, &at[i].ipaddr, 4);
		}
	} else {
		struct ares_addr6ttl at[RS_MAX_ADDR];

		rc = ares_parse_aaaa_reply(abuf, alen, NULL, at, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++) {
			h->v6[h->n6].family = AF_INET6;
			memcpy(h->v6[h->n6++].a, &at[i].ip6addr, 16);
		}
	}
	if (rc != ARES_SUCCESS)
		set_err(j, rc == ARES_ENODATA ? 0 : rs_ares_err(rc));
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct rs_q *q = arg;
	struct rs_job *j = q->job;
	struct rs_resolver *r = j->r;
	/* A name c-ares refuses to ask cannot exist either. */
	bool negative =
	        status == ARES_ENODATA || status == ARES_ENOTFOUND || status == ARES_EBADNAME;

	(void)timeouts;
	if (status == ARES_ETIMEOUT && ++q->sent < r->tries && !r->closing) {
		ares_query(r->ch, q->name, C_IN, q->type, on_answer, q);
		return;
	}
	if (status == ARES_SUCCESS || negative) {
		uint32_t ttl = reply_ttl(abuf, alen, negative);

		if (ttl < j->ttl)
			j->ttl = ttl;
	}
	if (status == ARES_SUCCESS) {
		switch (q->type) {
		case T_NAPTR: on_naptr(j, abuf, alen); break;
		case T_SRV: on_srv(j, &j->sq[q->idx], abuf, alen); break;
		default: on_addr(j, &j->host[q->idx], q->type, abuf, alen); break;
		}
	} else if (!negative) {
		set_err(j, rs_ares_err(status));
	}
	free(q);
	if (--j->pending == 0 && !j->issuing)
		job_step(j);
}

/* ---- rounds ------------------------------------------------------------ */

static void job_query(struct rs_job *j, const char *name, int type, unsigned idx)
{
	struct rs_q *q = malloc(sizeof(*q));

	if (!q) {
		set_err(j, SIP_ERR_NOMEM);
		return;
	}
	*q = (struct rs_q){.job = j, .name = name, .type = type, .idx = idx};
	j->pending++;
	/* ares_query asks exactly this name: no search list, no hosts file. */
	ares_query(j->r->ch, name, C_IN, type, on_answer, q);
}

/* Sends a round; the step runs when its last answer is in, which may be
 * before this returns (c-ares reports some failures at once). */
static void job_round(struct rs_job *j, enum job_stage stage)
{
	j->stage = stage;
	j->issuing = true;
	switch (stage) {
	case ST_NAPTR: job_query(j, j->key.host, T_NAPTR, 0); break;
	case ST_SRV:
		for (unsigned i = 0; i < j->nsq; i++)
			job_query(j, j->sq[i].name, T_SRV, i);
		break;
	case ST_ADDR:
		for (unsigned i = 0; i < j->nhost; i++) {
			job_query(j, j->host[i].name, T_A, i);
			job_query(j, j->host[i].name, T_AAAA, i);
		}
		break;
	}
	j->issuing = false;
	if (j->pending == 0)
		job_step(j);
}

static void add_srv_query(struct rs_job *j, uint16_t rank, enum tp_proto proto)
{
	struct srv_query *q = &j->sq[j->nsq];
	int n = snprintf(q->name, sizeof(q->name), "_%s._%s.%s", proto == TP_TLS ? "sips" : "sip",
	                 proto == TP_UDP ? "udp" : "tcp", j->key.host);

	/* Too long a name for DNS has no SRV records: leave it out. */
	if (n > 0 && (size_t)n < sizeof(q->name)) {
		q->rank = rank;
		q->proto = proto;
		j->nsq++;
	}
}

/* §4.2: the target itself at the URI's port or 5060, as one record, over
 * the transport given, else the one NAPTR preferred (its SRV names had no
 * records), else UDP (§4.1) — which is what sq[0] holds when there is one. */
static void add_fallback(struct rs_job *j)
{
	enum tp_proto proto = j->key.has_proto ? j->key.proto : TP_UDP;

	if (j->nsq)
		proto = j->sq[0].proto;
	j->nhost = 0;
	j->srv[0] = (struct rs_srv){
	        .port = j->key.port       ? j->key.port
	                : proto == TP_TLS ? SIPS_PORT
	                                  : SIP_PORT,
	        .proto = proto,
	        .first = (uint16_t)host_index(j, j->key.host),
	};
	j->nsrv = 1;
}

/* Puts each record's addresses, A then AAAA, after one another. */
static void build_plan(const struct rs_job *j, struct rs_plan *p)
{
	p->nsrv = p->nip = 0;
	for (unsigned i = 0; i < j->nsrv && p->nip < RS_MAX_TARGETS; i++) {
		const struct host_addrs *h = &j->host[j->srv[i].first];
		struct rs_srv *s = &p->srv[p->nsrv];

		*s = j->srv[i];
		s->first = (uint16_t)p->nip;
		for (unsigned a = 0; a < h->n4 && p->nip < RS_MAX_TARGETS; a++)
			p->ip[p->nip++] = h->v4[a];
		for (unsigned a = 0; a < h->n6 && p->nip < RS_MAX_TARGETS; a++)
			p->ip[p->nip++] = h->v6[a];
		s->nip = (uint16_t)(p->nip - s->first);
		if (s->nip)
			p->nsrv++;
	}
}

static void job_finish(struct rs_job *j, int err, const struct rs_plan *p)
{
	struct rs_resolver *r = j->r;
	struct rs_job **pp;

	for (pp = &r->jobs; *pp != j; pp = &(*pp)->next)
		;
	*pp = j->next;
	/* Only clean answers are kept: a failure may hide records. */
	if (!j->err && (err == 0 || err == SIP_ERR_NOT_FOUND)) {
		static const struct rs_plan none;
		uint32_t ttl = j->ttl < RS_MAX_TTL ? j->ttl : RS_MAX_TTL;

		pthread_mutex_lock(&r->mu);
		rs_cache_put(&r->cache, &j->key, err ? &none : p, ttl, tp_now_ms());
		pthread_mutex_unlock(&r->mu);
	}
	if (err && err != SIP_ERR_NOT_FOUND && sip_log_enabled(SIP_LOG_DEBUG))
		sip_log(SIP_LOG_DEBUG, "resolve %s: %s", j->key.host, rs_err_name(err));
	while (j->waiters) {
		struct rs_req *w = j->waiters;

		j->waiters = w->next;
		rs_req_complete(r, w, err, p);
	}
	free(j);
}

static void job_step(struct rs_job *j)
{
	struct rs_plan plan;

	if (j->r->closing) {
		job_finish(j, RS_ERR_CANCELLED, NULL);
		return;
	}
	switch (j->stage) {
	case ST_NAPTR:
		if (j->err) {
			job_finish(j, j->err, NULL);
			return;
		}
		/* §4.1: no usable NAPTR — ask SRV of each transport, UDP first. */
		if (j->nsq == 0) {
			add_srv_query(j, 0, TP_UDP);
			add_srv_query(j, 1, TP_TCP);
		}
		job_round(j, ST_SRV);
		return;
	case ST_SRV:
		if (j->nsrv == 0) {
			if (j->err || j->srv_seen) {
				job_finish(j, j->err ? j->err : SIP_ERR_NOT_FOUND, NULL);
				return;
			}
			add_fallback(j);
		}
		job_round(j, ST_ADDR);
		return;
	case ST_ADDR:
		build_plan(j, &plan);
		if (plan.nsrv == 0)
			job_finish(j, j->err ? j->err : SIP_ERR_NOT_FOUND, NULL);
		else
			job_finish(j, 0, &plan);
		return;
	}
}

void rs_job_submit(struct rs_resolver *r, struct rs_req *req)
{
	const struct rs_plan *hit;
	struct rs_plan plan;
	struct rs_job *j;

	if (r->closing) {
		rs_req_complete(r, req, RS_ERR_CANCELLED, NULL);
		return;
	}
	/* A lookup that ended since rs_resolve missed the cache. */
	pthread_mutex_lock(&r->mu);
	hit = rs_cache_get(&r->cache, &req->key, tp_now_ms());
	if (hit)
		plan = *hit;
	pthread_mutex_unlock(&r->mu);
	if (hit) {
		rs_req_complete(r, req, plan.nsrv ? 0 : SIP_ERR_NOT_FOUND, &plan);
		return;
	}
	for (j = r->jobs; j; j = j->next) {
		if (rs_key_eq(&j->key, &req->key)) {
			req->next = j->waiters;
			j->waiters = req;
			return;
		}
	}
	if (!(j = calloc(1, sizeof(*j)))) {
		rs_req_complete(r, req, SIP_ERR_NOMEM, NULL);
		return;
	}
	j->r = r;
	j->key = req->key;
	j->ttl = RS_MAX_TTL;
	req->next = NULL;
	j->waiters = req;
	j->next = r->jobs;
	r->jobs = j;
	if (j->key.port) {
		add_fallback(j); /* §4.2: a port means no SRV */
		job_round(j, ST_ADDR);
	} else if (j->key.has_proto) {
		add_srv_query(j, 0, j->key.proto);
		job_round(j, ST_SRV);
	} else {
		job_round(j, ST_NAPTR);
	}
}
