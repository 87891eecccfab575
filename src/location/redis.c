/*
 * redis.c — the Redis location backend (DSN redis://HOST:PORT[/DB]), for
 * several sipd nodes sharing one Redis: open/close, the worker threads and
 * the asynchronous operations (update, lookup, user lookup).
 *
 * An AOR is one key holding its serialised binding set (redis_codec.c)
 * with EXPIREAT = its latest binding's expiry, so Redis's own TTL drops a
 * set nobody refreshed and no node ever deletes another's bindings;
 * readers leave out the bindings whose own expiry has passed. An update is
 * an optimistic read-modify-write — WATCH, GET, loc_apply (the same rule
 * as every backend), MULTI, SET + EXPIREAT (or DEL), EXEC — retried when
 * another node wrote the key meanwhile (nil EXEC): nothing is half-written
 * and the rules stay in C.
 *
 * Threads: redis_conns workers, each with its own blocking connection and
 * queue. An AOR always goes to the same worker (hash of the AOR), so one
 * node never reorders the updates of an AOR; WATCH guards against the
 * other nodes. A lost connection fails the operations with LOC_ERR_STORE
 * (500 + Retry-After) and the worker reconnects every redis_retry_ms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libsip/log.h"
#include "location/index.h" /* loc_bindings_sort: one order for every backend */
#include "location/redis_priv.h"

enum rds_job_kind { JOB_UPDATE, JOB_LOOKUP, JOB_USER_GET };

/* One queued operation with copies of everything it was handed. */
struct rds_job {
	struct rds_job *next;
	enum rds_job_kind kind;
	loc_done_fn done;
	loc_user_fn udone;
	void *arg;
	struct loc_update u; /* JOB_UPDATE; u.aor and u.now for JOB_LOOKUP */
	struct sip_pl user, domain;
	struct loc_contact contacts[]; /* u.ncontacts, then the string bytes */
};

/* ---- copying what the caller handed in ---- */

static void copy_pl(char **p, struct sip_pl *pl)
{
	if (pl->len)
		memcpy(*p, pl->p, pl->len);
	pl->p = *p;
	*p += pl->len;
}

static struct rds_job *job_new(enum rds_job_kind kind, const struct loc_update *u,
                               struct sip_pl user, struct sip_pl domain)
{
	size_t bytes = u->aor.len + u->call_id.len + u->path.len + u->received.len +
	               u->user_agent.len + user.len + domain.len;
	for (size_t i = 0; i < u->ncontacts; i++)
		bytes += u->contacts[i].uri.len + u->contacts[i].params.len +
		         u->contacts[i].instance.len;
	struct rds_job *j =
	        malloc(sizeof(*j) + u->ncontacts * sizeof(struct loc_contact) + bytes + 1);
	if (!j)
		return NULL;
	memset(j, 0, sizeof(*j));
	j->kind = kind;
	j->u = *u;
	j->user = user;
	j->domain = domain;
	char *p = (char *)&j->contacts[u->ncontacts];
	copy_pl(&p, &j->u.aor);
	copy_pl(&p, &j->u.call_id);
	copy_pl(&p, &j->u.path);
	copy_pl(&p, &j->u.received);
	copy_pl(&p, &j->u.user_agent);
	copy_pl(&p, &j->user);
	copy_pl(&p, &j->domain);
	for (size_t i = 0; i < u->ncontacts; i++) {
		j->contacts[i] = u->contacts[i];
		copy_pl(&p, &j->contacts[i].uri);
		copy_pl(&p, &j->contacts[i].params);
		copy_pl(&p, &j->contacts[i].instance);
	}
	j->u.contacts = j->contacts;
	return j;
}

static int job_submit(struct rds_store *st, struct rds_job *j, struct sip_pl route)
{
	struct rds_worker *w = &st->workers[sip_pl_hash(SIP_FNV_BASIS, route) % st->nworkers];

	pthread_mutex_lock(&w->mu);
	if (w->stop) {
		pthread_mutex_unlock(&w->mu);
		free(j);
		return LOC_ERR_CLOSED;
	}
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/* ---- the operations, on a worker's connection ---- */

/* What an update or lookup hands its callback; owns what the slices of
 * b point into (besides the job). */
struct rds_result {
	redisReply *get;         /* the GET reply the current set was decoded from */
	struct loc_binding *cur; /* decoded */
	struct loc_binding *out; /* loc_apply's result */
	const struct loc_binding *b;
	size_t n;
};

static void result_clear(struct rds_result *res)
{
	if (res->get)
		freeReplyObject(res->get);
	free(res->cur);
	free(res->out);
	memset(res, 0, sizeof(*res));
}

/* Decodes a GET reply into res->cur (taking the reply). */
static int take_set(struct rds_result *res, redisReply *get, struct sip_pl aor, size_t *ncur)
{
	res->get = get;
	*ncur = 0;
	if (get->type == REDIS_REPLY_NIL)
		return 0;
	if (get->type != REDIS_REPLY_STRING) {
		sip_log(SIP_LOG_ERROR, "location: redis GET %.*s: %s", (int)aor.len, aor.p,
		        get->type == REDIS_REPLY_ERROR ? get->str : "unexpected reply");
		return LOC_ERR_STORE;
	}
	int err = rds_decode(get->str, get->len, aor, &res->cur, ncur);
	if (err == LOC_ERR_STORE)
		sip_log(SIP_LOG_ERROR, "location: redis value of %.*s is corrupt", (int)aor.len,
		        aor.p);
	return err;
}

static int op_lookup(struct rds_store *st, struct rds_conn *c, struct sip_pl aor, int64_t now,
                     struct rds_result *res)
{
	struct rds_cmd cmd;
	redisReply *r;
	size_t klen, n;
	char *key = rds_key(RDS_AOR_PREFIX, aor, 0, SIP_PL_NULL, &klen);
	if (!key)
		return SIP_ERR_NOMEM;
	rds_cmd_start(&cmd, "GET");
	rds_cmd_arg(&cmd, key, klen);
	int err = rds_exchange(st, c, &cmd, 1, &r, true);
	free(key);
	if (err)
		return err;
	err = take_set(res, r, aor, &n);
	if (err)
		return err;
	n = rds_live(res->cur, n, now);
	loc_bindings_sort(res->cur, n);
	res->b = res->cur;
	res->n = n;
	return 0;
}

int rds_write_set(struct rds_store *st, struct rds_conn *c, const char *key, size_t klen,
                  const struct loc_binding *out, size_t n)
{
	struct rds_cmd cmds[4];
	redisReply *r[4];
	char *val = NULL, at[24];
	size_t ncmd = 0;

	rds_cmd_start(&cmds[ncmd++], "MULTI");
	if (n) {
		size_t vlen = rds_encoded_size(out, n);
		if (!(val = malloc(vlen)))
			return SIP_ERR_NOMEM;
		vlen = rds_encode(out, n, val);
		/* SET then EXPIREAT inside the transaction rather than SET EXAT:
		 * as atomic, and it works on a Redis older than 6.2 too. */
		rds_cmd_start(&cmds[ncmd], "SET");
		rds_cmd_arg(&cmds[ncmd], key, klen);
		rds_cmd_arg(&cmds[ncmd++], val, vlen);
		rds_cmd_start(&cmds[ncmd], "EXPIREAT");
		rds_cmd_arg(&cmds[ncmd], key, klen);
		int alen = snprintf(at, sizeof(at), "%lld", (long long)rds_latest(out, n));
		rds_cmd_arg(&cmds[ncmd++], at, (size_t)alen);
	} else {
		rds_cmd_start(&cmds[ncmd], "DEL");
		rds_cmd_arg(&cmds[ncmd++], key, klen);
	}
	rds_cmd_start(&cmds[ncmd++], "EXEC");
	int err = rds_exchange(st, c, cmds, ncmd, r, false);
	free(val);
	if (err)
		return err;
	redisReply *exec = r[ncmd - 1];
	if (exec->type == REDIS_REPLY_NIL)
		err = 1;
	else if (exec->type != REDIS_REPLY_ARRAY || exec->elements != ncmd - 2)
		err = LOC_ERR_STORE;
	for (size_t i = 0; !err && i < exec->elements; i++)
		if (exec->element[i]->type == REDIS_REPLY_ERROR)
			err = LOC_ERR_STORE;
	if (err == LOC_ERR_STORE)
		sip_log(SIP_LOG_ERROR, "location: redis write of %s failed: %s", key,
		        exec->type == REDIS_REPLY_ERROR ? exec->str : "unexpected reply");
	rds_replies_free(r, ncmd);
	return err;
}

void rds_unwatch(struct rds_store *st, struct rds_conn *c)
{
	struct rds_cmd cmd;
	redisReply *r;
	rds_cmd_start(&cmd, "UNWATCH");
	if (rds_exchange(st, c, &cmd, 1, &r, false) == 0)
		freeReplyObject(r);
}

static int op_update(struct rds_store *st, struct rds_conn *c, const struct loc_update *u,
                     struct rds_result *res)
{
	/* A REGISTER without contacts only asks (§10.3 step 8). */
	if (!u->remove_all && !u->ncontacts)
		return op_lookup(st, c, u->aor, u->now, res);

	size_t klen;
	char *key = rds_key(RDS_AOR_PREFIX, u->aor, 0, SIP_PL_NULL, &klen);
	if (!key)
		return SIP_ERR_NOMEM;
	int64_t give_up = rds_now_ms() + RDS_WATCH_BUDGET_MS;
	unsigned round;
	int err = 0;
	for (round = 0; round == 0 || rds_now_ms() < give_up; round++) {
		struct rds_cmd cmds[2];
		redisReply *r[2];
		size_t ncur, cap, nout;

		result_clear(res);
		rds_cmd_start(&cmds[0], "WATCH");
		rds_cmd_arg(&cmds[0], key, klen);
		rds_cmd_start(&cmds[1], "GET");
		rds_cmd_arg(&cmds[1], key, klen);
		/* Only the first round may be re-run on a fresh connection. */
		err = rds_exchange(st, c, cmds, 2, r, round == 0);
		if (err)
			break;
		freeReplyObject(r[0]);
		err = take_set(res, r[1], u->aor, &ncur);
		cap = ncur + u->ncontacts;
		if (!err && !(res->out = malloc((cap ? cap : 1) * sizeof(*res->out))))
			err = SIP_ERR_NOMEM;
		if (!err)
			err = loc_apply(res->cur, ncur, u, st->max_contacts, res->out, cap, &nout);
		if (err) {
			rds_unwatch(st, c);
			break;
		}
		err = rds_write_set(st, c, key, klen, res->out, nout);
		if (err == 1)
			continue; /* another client wrote the AOR: read it again */
		if (!err) {
			loc_bindings_sort(res->out, nout);
			res->b = res->out;
			res->n = nout;
		}
		break;
	}
	if (err == 1) {
		sip_log(SIP_LOG_WARN, "location: redis update of %.*s lost %u races in a row",
		        (int)u->aor.len, u->aor.p, round);
		err = LOC_ERR_STORE;
	}
	free(key);
	return err;
}

const char *const rds_user_fields[3] = {"ha1_md5", "ha1_sha256", "ha1_sha512_256"};

bool rds_user_from_reply(const redisReply *r, struct loc_user *u)
{
	struct sip_pl *ha1[3] = {&u->ha1_md5, &u->ha1_sha256, &u->ha1_sha512_256};
	bool found = false;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3)
		return false;
	for (size_t i = 0; i < 3; i++) {
		const redisReply *e = r->element[i];
		*ha1[i] = e->type == REDIS_REPLY_STRING ? sip_pl(e->str, e->len) : sip_pl("", 0);
		found |= e->type == REDIS_REPLY_STRING;
	}
	return found;
}

static int op_user_get(struct rds_store *st, struct rds_conn *c, struct rds_job *j)
{
	struct rds_cmd cmd;
	redisReply *r;
	size_t klen;
	char *key = rds_key(RDS_USER_PREFIX, j->domain, ':', j->user, &klen);
	if (!key)
		return SIP_ERR_NOMEM;
	rds_cmd_start(&cmd, "HMGET");
	rds_cmd_arg(&cmd, key, klen);
	for (size_t i = 0; i < 3; i++)
		rds_cmd_arg(&cmd, rds_user_fields[i], strlen(rds_user_fields[i]));
	int err = rds_exchange(st, c, &cmd, 1, &r, true);
	free(key);
	if (err)
		return err;
	struct loc_user u = {.user = j->user, .domain = j->domain};
	if (r->type == REDIS_REPLY_ERROR) {
		sip_log(SIP_LOG_ERROR, "location: redis HMGET: %s", r->str);
		err = LOC_ERR_STORE;
	} else if (!rds_user_from_reply(r, &u)) {
		err = SIP_ERR_NOT_FOUND;
	}
	j->udone(j->arg, err, err ? NULL : &u);
	freeReplyObject(r);
	return 0;
}

/* ---- the workers ---- */

/* Runs one job and calls its callback exactly once. */
static void job_run(struct rds_worker *w, struct rds_job *j, bool closing)
{
	struct rds_store *st = w->st;
	struct rds_result res = {0};
	int err = LOC_ERR_STORE;

	for (int attempt = 0; attempt < 2; attempt++) {
		/* While down, reconnect at most every retry_ms: a dead Redis
		 * then costs a request nothing but its 500. */
		if (!w->conn.c && rds_now_ms() >= w->conn.retry_at) {
			if (rds_conn_open(st, &w->conn))
				w->conn.retry_at = rds_now_ms() + st->retry_ms;
		}
		if (!w->conn.c) {
			err = closing ? LOC_ERR_CLOSED : LOC_ERR_STORE;
			break;
		}
		result_clear(&res);
		switch (j->kind) {
		case JOB_UPDATE: err = op_update(st, &w->conn, &j->u, &res); break;
		case JOB_LOOKUP: err = op_lookup(st, &w->conn, j->u.aor, j->u.now, &res); break;
		case JOB_USER_GET: err = op_user_get(st, &w->conn, j); break;
		}
		if (w->conn.c)
			w->conn.used = true;
		if (err != RDS_ERR_RETRY)
			break;
		/* A stale connection: one immediate reconnect (the error path
		 * below logs the loss if that fails too). */
		w->conn.retry_at = 0;
		err = LOC_ERR_STORE;
	}
	if (err == RDS_ERR_RETRY)
		err = LOC_ERR_STORE;
	if (j->kind == JOB_USER_GET) {
		if (err)
			j->udone(j->arg, err, NULL);
	} else {
		j->done(j->arg, err, err ? NULL : res.b, err ? 0 : res.n);
	}
	result_clear(&res);
}

static void *worker_main(void *arg)
{
	struct rds_worker *w = arg;
	sigset_t set;

	/* hiredis writes with write(2): a Redis gone away must give EPIPE
	 * here, not a process-killing SIGPIPE. */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (!w->head && !w->stop) {
			if (w->conn.c) {
				pthread_cond_wait(&w->cv, &w->mu);
				continue;
			}
			/* Down: wake up to reconnect, so the "back" line and a
			 * ready connection do not wait for the next request. */
			int64_t at = w->conn.retry_at;
			if (rds_now_ms() >= at)
				break;
			struct timespec ts = {(time_t)(at / 1000), (long)(at % 1000) * 1000000};
			pthread_cond_timedwait(&w->cv, &w->mu, &ts);
		}
		struct rds_job *j = w->head;
		if (j && !(w->head = j->next))
			w->tail = NULL;
		bool stop = w->stop;
		pthread_mutex_unlock(&w->mu);
		if (j) {
			job_run(w, j, stop);
			free(j);
		} else if (stop) {
			break;
		} else if (rds_conn_open(w->st, &w->conn)) {
			w->conn.retry_at = rds_now_ms() + w->st->retry_ms;
		}
	}
	rds_conn_drop(&w->conn);
	return NULL;
}

/* ---- the store ---- */

static void redis_close(struct loc_store *s)
{
	struct rds_store *st = (struct rds_store *)s;

	/* Stop accepting, let every worker drain its queue (callbacks run),
	 * then join. */
	for (unsigned i = 0; i < st->nworkers; i++) {
		struct rds_worker *w = &st->workers[i];
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
	for (unsigned i = 0; i < st->nworkers; i++) {
		struct rds_worker *w = &st->workers[i];
		if (w->started)
			pthread_join(w->th, NULL);
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
	}
	rds_conn_drop(&st->admin);
	pthread_mutex_destroy(&st->admin_mu);
	free(st->workers);
	free(st->host);
	free(st);
}

static int worker_init(struct rds_store *st, struct rds_worker *w)
{
	pthread_condattr_t ca;

	w->st = st;
	pthread_mutex_init(&w->mu, NULL);
	/* Reconnect deadlines are monotonic: a clock step must not stall
	 * or hurry them. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&w->th, NULL, worker_main, w) != 0)
		return SIP_ERR_NOMEM;
	w->started = true;
	return 0;
}

static int redis_open(struct loc_store **out, const char *rest, const struct loc_cfg *cfg)
{
	struct rds_store *st = calloc(1, sizeof(*st));
	int err;

	if (!st)
		return SIP_ERR_NOMEM;
	if ((err = rds_dsn_parse(rest, &st->host, &st->port, &st->db)) != 0) {
		if (err == LOC_ERR_DSN)
			sip_log(SIP_LOG_ERROR,
			        "location: bad DSN \"redis://%s\" (expected "
			        "redis://HOST:PORT[/DB])",
			        rest);
		free(st);
		return err;
	}
	st->max_contacts = cfg->max_contacts;
	st->retry_ms = cfg->redis_retry_ms ? cfg->redis_retry_ms : 500;
	atomic_init(&st->down, false);
	pthread_mutex_init(&st->admin_mu, NULL);
	/* One synchronous try tells a bad DB number (a configuration error)
	 * from a Redis that is merely down (not an error: ops fail until it
	 * is back). */
	struct rds_sigpipe g;
	rds_sigpipe_block(&g);
	err = rds_conn_open(st, &st->admin);
	rds_sigpipe_restore(&g);
	if (err == LOC_ERR_DSN) {
		sip_log(SIP_LOG_ERROR, "location: redis://%s: no such database", rest);
		redis_close(&st->base);
		return LOC_ERR_DSN;
	}
	unsigned nworkers = cfg->redis_conns ? cfg->redis_conns : 1;
	if (!(st->workers = calloc(nworkers, sizeof(*st->workers)))) {
		redis_close(&st->base);
		return SIP_ERR_NOMEM;
	}
	st->nworkers = nworkers;
	for (unsigned i = 0; i < nworkers; i++) {
		if ((err = worker_init(st, &st->workers[i])) != 0) {
			st->nworkers = i + 1;
			redis_close(&st->base);
			return err;
		}
	}
	*out = &st->base;
	return 0;
}

static int redis_update(struct loc_store *s, const struct loc_update *u, loc_done_fn done,
                        void *arg)
{
	struct rds_job *j = job_new(JOB_UPDATE, u, SIP_PL_NULL, SIP_PL_NULL);
	if (!j)
		return SIP_ERR_NOMEM;
	j->done = done;
	j->arg = arg;
	return job_submit((struct rds_store *)s, j, j->u.aor);
}

static int redis_lookup(struct loc_store *s, struct sip_pl aor, int64_t now, loc_done_fn done,
                        void *arg)
{
	struct loc_update u = {.aor = aor, .now = now};
	struct rds_job *j = job_new(JOB_LOOKUP, &u, SIP_PL_NULL, SIP_PL_NULL);
	if (!j)
		return SIP_ERR_NOMEM;
	j->done = done;
	j->arg = arg;
	return job_submit((struct rds_store *)s, j, j->u.aor);
}

static int redis_user_get(struct loc_store *s, struct sip_pl user, struct sip_pl domain,
                          loc_user_fn done, void *arg)
{
	struct loc_update u = {0};
	struct rds_job *j = job_new(JOB_USER_GET, &u, user, domain);
	if (!j)
		return SIP_ERR_NOMEM;
	j->udone = done;
	j->arg = arg;
	return job_submit((struct rds_store *)s, j, j->user);
}

const struct loc_backend_ops loc_redis_ops = {
        .name = "redis",
        .prefix = "redis://",
        .open = redis_open,
        .close = redis_close,
        .update = redis_update,
        .lookup = redis_lookup,
        .remove = rds_remove,
        .remove_all = rds_remove_all,
        .expire = rds_expire,
        .iterate = rds_iterate,
        .count = rds_count,
        .user_put = rds_user_put,
        .user_del = rds_user_del,
        .user_get = redis_user_get,
        .user_iterate = rds_user_iterate,
        .secret = rds_secret,
};
