/*
 * redis_conn.c — the Redis backend's connections (hiredis, blocking, with
 * a connect and a command timeout so that a dead Redis fails an operation
 * instead of hanging it), its DSN, the pipelined command exchange, and the
 * one-line-per-outage log of a lost and a recovered Redis.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libsip/log.h"
#include "location/redis_priv.h"

/* Both timeouts: long enough for a busy Redis on a LAN, short enough that
 * a REGISTER still gets its 500 before the UAC's transaction times out. */
#define RDS_TIMEOUT_MS 1000

int64_t rds_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_num(const char *p, size_t len, long max, long *out)
{
	long v = 0;
	if (!len || len > 9)
		return LOC_ERR_DSN;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return LOC_ERR_DSN;
		v = v * 10 + (p[i] - '0');
	}
	if (v > max)
		return LOC_ERR_DSN;
	*out = v;
	return 0;
}

int rds_dsn_parse(const char *rest, char **host, int *port, int *db)
{
	const char *p = rest, *h, *end = rest + strlen(rest);
	size_t hlen;

	/* An IPv6 literal keeps its colons inside brackets; hiredis wants it
	 * bare (it resolves with getaddrinfo, which takes either family). */
	if (*p == '[') {
		const char *rb = strchr(p, ']');
		if (!rb || rb == p + 1)
			return LOC_ERR_DSN;
		h = p + 1;
		hlen = (size_t)(rb - h);
		p = rb + 1;
	} else {
		h = p;
		while (p < end && *p != ':' && *p != '/')
			p++;
		hlen = (size_t)(p - h);
		if (!hlen)
			return LOC_ERR_DSN;
	}
	for (size_t i = 0; i < hlen; i++)
		if (h[i] == '@' || h[i] == '?' || h[i] == ' ')
			return LOC_ERR_DSN; /* no credentials or options (yet) */
	long v = 6379, d = 0;
	if (*p == ':') {
		const char *q = ++p;
		while (p < end && *p != '/')
			p++;
		if (parse_num(q, (size_t)(p - q), 65535, &v) || v == 0)
			return LOC_ERR_DSN;
	}
	if (*p == '/') {
		p++;
		if (parse_num(p, (size_t)(end - p), 1000000, &d))
			return LOC_ERR_DSN;
		p = end;
	}
	if (p != end)
		return LOC_ERR_DSN;
	*host = malloc(hlen + 1);
	if (!*host)
		return SIP_ERR_NOMEM;
	memcpy(*host, h, hlen);
	(*host)[hlen] = '\0';
	*port = (int)v;
	*db = (int)d;
	return 0;
}

void rds_mark_down(struct rds_store *st, const char *why)
{
	if (!atomic_exchange(&st->down, true))
		sip_log(SIP_LOG_WARN,
		        "location: redis %s:%d unreachable (%s); operations fail until it is back",
		        st->host, st->port, why);
}

void rds_mark_up(struct rds_store *st)
{
	if (atomic_exchange(&st->down, false))
		sip_log(SIP_LOG_INFO, "location: redis %s:%d is back", st->host, st->port);
}

void rds_conn_drop(struct rds_conn *c)
{
	if (c->c)
		redisFree(c->c);
	c->c = NULL;
	c->used = false;
}

int rds_conn_open(struct rds_store *st, struct rds_conn *c)
{
	struct timeval tv = {RDS_TIMEOUT_MS / 1000, (RDS_TIMEOUT_MS % 1000) * 1000};
	char why[160];

	if (c->c)
		return 0;
	c->used = false;
	redisContext *ctx = redisConnectWithTimeout(st->host, st->port, tv);
	if (!ctx) {
		rds_mark_down(st, "out of memory");
		return LOC_ERR_STORE;
	}
	/* The connect timeout does not bound later reads and writes in every
	 * hiredis version: set the command timeout explicitly. */
	if (ctx->err || redisSetTimeout(ctx, tv) != REDIS_OK) {
		snprintf(why, sizeof(why), "%s", ctx->errstr[0] ? ctx->errstr : "timeout setup");
		redisFree(ctx);
		rds_mark_down(st, why);
		return LOC_ERR_STORE;
	}
	if (st->db) {
		/* A refused SELECT is a configuration error (no such
		 * database), not an outage: LOC_ERR_DSN tells loc_open. */
		redisReply *r = redisCommand(ctx, "SELECT %d", st->db);
		int err = r && r->type == REDIS_REPLY_STATUS  ? 0
		          : r && r->type == REDIS_REPLY_ERROR ? LOC_ERR_DSN
		                                              : LOC_ERR_STORE;
		snprintf(why, sizeof(why), "SELECT %d: %s", st->db,
		         r && r->type == REDIS_REPLY_ERROR ? r->str : ctx->errstr);
		if (r)
			freeReplyObject(r);
		if (err) {
			redisFree(ctx);
			rds_mark_down(st, why);
			return err;
		}
	}
	c->c = ctx;
	rds_mark_up(st);
	return 0;
}

void rds_replies_free(redisReply **r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (r[i])
			freeReplyObject(r[i]);
		r[i] = NULL;
	}
}

int rds_exchange(struct rds_store *st, struct rds_conn *c, const struct rds_cmd *cmds, size_t n,
                 redisReply **r, bool safe)
{
	for (size_t i = 0; i < n; i++)
		r[i] = NULL;
	if (!c->c)
		return LOC_ERR_STORE;
	/* One pipeline: every command is buffered, then one write and as
	 * many reads as replies — a round trip per exchange, not per command. */
	for (size_t i = 0; i < n; i++) {
		/* hiredis declares argv without the inner const but only
		 * reads it. */
		const char **argv = (const char **)(uintptr_t)cmds[i].argv;
		if (redisAppendCommandArgv(c->c, cmds[i].argc, argv, cmds[i].len) != REDIS_OK)
			goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		void *rep = NULL;
		if (redisGetReply(c->c, &rep) != REDIS_OK || !rep)
			goto fail;
		r[i] = rep;
	}
	return 0;
fail:;
	/* A connection that worked before and failed at the first exchange
	 * of an operation is most likely stale (Redis restarted, an idle
	 * timeout): the caller reconnects once before calling Redis lost. */
	bool stale = c->used && safe;
	char why[160];
	snprintf(why, sizeof(why), "%s", c->c->errstr[0] ? c->c->errstr : "connection failed");
	rds_replies_free(r, n);
	rds_conn_drop(c);
	if (stale)
		return RDS_ERR_RETRY;
	rds_mark_down(st, why);
	return LOC_ERR_STORE;
}

void rds_cmd_start(struct rds_cmd *cmd, const char *name)
{
	cmd->argc = 1;
	cmd->argv[0] = name;
	cmd->len[0] = strlen(name);
}

void rds_cmd_arg(struct rds_cmd *cmd, const char *p, size_t len)
{
	/* Our commands have at most 8 words (HSET with three fields). */
	if (cmd->argc < 8) {
		cmd->argv[cmd->argc] = p ? p : "";
		cmd->len[cmd->argc++] = len;
	}
}

char *rds_key(const char *prefix, struct sip_pl a, char sep, struct sip_pl b, size_t *len)
{
	size_t pl = strlen(prefix), n = pl + a.len + (sep ? 1 + b.len : 0);
	char *k = malloc(n + 1);
	if (!k)
		return NULL;
	memcpy(k, prefix, pl);
	if (a.len)
		memcpy(k + pl, a.p, a.len);
	if (sep) {
		k[pl + a.len] = sep;
		if (b.len)
			memcpy(k + pl + a.len + 1, b.p, b.len);
	}
	k[n] = '\0';
	*len = n;
	return k;
}

void rds_sigpipe_block(struct rds_sigpipe *g)
{
	sigset_t set, pend;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
	sigpending(&pend);
	g->pending = sigismember(&pend, SIGPIPE) == 1;
}

void rds_sigpipe_restore(struct rds_sigpipe *g)
{
	/* A SIGPIPE raised by our write is pending now; take it before
	 * unblocking, or it would be delivered (and kill) after all. */
	if (!g->pending) {
		sigset_t set, pend;
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		sigpending(&pend);
		if (sigismember(&pend, SIGPIPE) == 1) {
			struct timespec zero = {0, 0};
			while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
				;
		}
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}
