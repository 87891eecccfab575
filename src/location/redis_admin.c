/*
 * redis_admin.c — the synchronous operations of the Redis location backend
 * (sipctl, tests): removing bindings, walking and counting the AORs,
 * managing users, the shared secret. They share one extra connection
 * under a mutex; the workers' connections stay free for REGISTERs.
 *
 * Callbacks of the walks (loc_iterate, loc_user_iterate) run without the
 * mutex held, so they may call other operations of the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "libsip/log.h"
#include "libsip/uri.h"
#include "location/index.h" /* loc_bindings_sort: one order for every backend */
#include "location/redis_priv.h"

/* Keys fetched per pipeline by the walks. */
#define RDS_BATCH 256

typedef int (*admin_fn)(struct rds_store *st, struct rds_conn *c, void *ctx);

/* Runs fn on the admin connection, reconnecting first if it is down, and
 * once more on a fresh connection if it found its connection stale. fn
 * must start afresh when re-run. */
static int admin_run(struct rds_store *st, admin_fn fn, void *ctx)
{
	struct rds_sigpipe g;
	int err = LOC_ERR_STORE;

	pthread_mutex_lock(&st->admin_mu);
	rds_sigpipe_block(&g);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (rds_conn_open(st, &st->admin)) {
			err = LOC_ERR_STORE;
			break;
		}
		err = fn(st, &st->admin, ctx);
		if (st->admin.c)
			st->admin.used = true;
		if (err != RDS_ERR_RETRY)
			break;
		err = LOC_ERR_STORE;
	}
	rds_sigpipe_restore(&g);
	pthread_mutex_unlock(&st->admin_mu);
	return err;
}

/* A command with one key argument. */
static void cmd_key(struct rds_cmd *cmd, const char *name, const char *key, size_t klen)
{
	rds_cmd_start(cmd, name);
	rds_cmd_arg(cmd, key, klen);
}

/* ---- bindings ---- */

/* URI equality as loc_apply sees it (§19.1.4), for loc_remove. */
static bool uri_same(struct sip_pl a, struct sip_pl b)
{
	struct sip_uri ua, ub;
	if (sip_pl_eq(a, b))
		return true;
	return sip_uri_parse(&ua, a) == 0 && sip_uri_parse(&ub, b) == 0 && sip_uri_eq(&ua, &ub);
}

struct remove_ctx {
	struct sip_pl aor, uri;
	const char *key;
	size_t klen;
};

static int remove_fn(struct rds_store *st, struct rds_conn *c, void *arg)
{
	struct remove_ctx *x = arg;
	int64_t now = (int64_t)time(NULL), give_up = rds_now_ms() + RDS_WATCH_BUDGET_MS;

	for (unsigned round = 0; round == 0 || rds_now_ms() < give_up; round++) {
		struct rds_cmd cmds[2];
		redisReply *r[2];
		struct loc_binding *b = NULL;
		size_t n = 0, k = 0;

		cmd_key(&cmds[0], "WATCH", x->key, x->klen);
		cmd_key(&cmds[1], "GET", x->key, x->klen);
		int err = rds_exchange(st, c, cmds, 2, r, round == 0);
		if (err)
			return err;
		if (r[1]->type == REDIS_REPLY_STRING)
			err = rds_decode(r[1]->str, r[1]->len, x->aor, &b, &n);
		else if (r[1]->type != REDIS_REPLY_NIL)
			err = LOC_ERR_STORE;
		n = rds_live(b, n, now);
		for (size_t i = 0; i < n; i++)
			if (!uri_same(b[i].uri, x->uri))
				b[k++] = b[i];
		if (!err && k == n)
			err = SIP_ERR_NOT_FOUND;
		if (!err)
			err = rds_write_set(st, c, x->key, x->klen, b, k);
		else
			rds_unwatch(st, c);
		free(b);
		rds_replies_free(r, 2);
		if (err != 1)
			return err;
	}
	return LOC_ERR_STORE;
}

int rds_remove(struct loc_store *s, struct sip_pl aor, struct sip_pl uri)
{
	struct remove_ctx x = {.aor = aor, .uri = uri};
	size_t klen;
	char *key = rds_key(RDS_AOR_PREFIX, aor, 0, SIP_PL_NULL, &klen);
	if (!key)
		return SIP_ERR_NOMEM;
	x.key = key;
	x.klen = klen;
	int err = admin_run((struct rds_store *)s, remove_fn, &x);
	free(key);
	return err;
}

struct del_ctx {
	struct rds_cmd cmd;
};

static int del_fn(struct rds_store *st, struct rds_conn *c, void *arg)
{
	struct del_ctx *x = arg;
	redisReply *r;
	int err = rds_exchange(st, c, &x->cmd, 1, &r, true);
	if (err)
		return err;
	err = r->type != REDIS_REPLY_INTEGER ? LOC_ERR_STORE : r->integer ? 0 : SIP_ERR_NOT_FOUND;
	freeReplyObject(r);
	return err;
}

int rds_remove_all(struct loc_store *s, struct sip_pl aor)
{
	struct del_ctx x;
	size_t klen;
	char *key = rds_key(RDS_AOR_PREFIX, aor, 0, SIP_PL_NULL, &klen);
	if (!key)
		return SIP_ERR_NOMEM;
	cmd_key(&x.cmd, "DEL", key, klen);
	int err = admin_run((struct rds_store *)s, del_fn, &x);
	free(key);
	return err;
}

long rds_expire(struct loc_store *s, int64_t now)
{
	/* Redis's TTL expires the sets; a sweeper here would delete the
	 * bindings other nodes own. */
	(void)s;
	(void)now;
	return 0;
}

/* Every AOR key, sorted and without the duplicates SCAN may return while
 * Redis rehashes (so a count is exact and a walk visits each AOR once). */
struct keys {
	char **k;
	size_t *len;
	size_t n, cap;
};

static void keys_free(struct keys *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		free(ks->k[i]);
	free(ks->k);
	free(ks->len);
	memset(ks, 0, sizeof(*ks));
}

static int keys_add(struct keys *ks, const char *p, size_t len)
{
	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? 2 * ks->cap : 64;
		char **k = realloc(ks->k, cap * sizeof(*k));
		if (k)
			ks->k = k;
		size_t *l = k ? realloc(ks->len, cap * sizeof(*l)) : NULL;
		if (!l)
			return SIP_ERR_NOMEM;
		ks->len = l;
		ks->cap = cap;
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return SIP_ERR_NOMEM;
	memcpy(copy, p, len);
	copy[len] = '\0';
	ks->k[ks->n] = copy;
	ks->len[ks->n++] = len;
	return 0;
}

static int scan_fn(struct rds_store *st, struct rds_conn *c, void *arg)
{
	struct keys *ks = arg;
	char cursor[32] = "0";
	static const char match[] = RDS_AOR_PREFIX "*";

	keys_free(ks);
	do {
		struct rds_cmd cmd;
		redisReply *r;
		rds_cmd_start(&cmd, "SCAN");
		rds_cmd_arg(&cmd, cursor, strlen(cursor));
		rds_cmd_arg(&cmd, "MATCH", 5);
		rds_cmd_arg(&cmd, match, sizeof(match) - 1);
		rds_cmd_arg(&cmd, "COUNT", 5);
		rds_cmd_arg(&cmd, "1000", 4);
		/* Every SCAN is a read: safe to run the walk again. */
		int err = rds_exchange(st, c, &cmd, 1, &r, true);
		if (err)
			return err;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY ||
		    r->element[0]->len >= sizeof(cursor)) {
			freeReplyObject(r);
			return LOC_ERR_STORE;
		}
		memcpy(cursor, r->element[0]->str, r->element[0]->len);
		cursor[r->element[0]->len] = '\0';
		const redisReply *keys = r->element[1];
		for (size_t i = 0; !err && i < keys->elements; i++)
			if (keys->element[i]->type == REDIS_REPLY_STRING)
				err = keys_add(ks, keys->element[i]->str, keys->element[i]->len);
		freeReplyObject(r);
		if (err)
			return err;
	} while (strcmp(cursor, "0") != 0);
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int collect_keys(struct rds_store *st, struct keys *ks)
{
	int err = admin_run(st, scan_fn, ks);
	if (err) {
		keys_free(ks);
		return err;
	}
	/* Keys are strings with no NUL inside (AORs are printable): strcmp
	 * orders them; lengths follow their keys after the sort. */
	qsort(ks->k, ks->n, sizeof(*ks->k), key_cmp);
	size_t u = 0;
	for (size_t i = 0; i < ks->n; i++) {
		if (u && strcmp(ks->k[u - 1], ks->k[i]) == 0) {
			free(ks->k[i]);
			continue;
		}
		ks->k[u] = ks->k[i];
		ks->len[u++] = strlen(ks->k[i]);
	}
	ks->n = u;
	return 0;
}

/* GETs of keys[from, from+n) in one pipeline. */
struct get_ctx {
	const struct keys *ks;
	size_t from, n;
	redisReply **r;
};

static int get_fn(struct rds_store *st, struct rds_conn *c, void *arg)
{
	struct get_ctx *x = arg;
	struct rds_cmd *cmds = malloc(x->n * sizeof(*cmds));
	if (!cmds)
		return SIP_ERR_NOMEM;
	for (size_t i = 0; i < x->n; i++)
		cmd_key(&cmds[i], "GET", x->ks->k[x->from + i], x->ks->len[x->from + i]);
	int err = rds_exchange(st, c, cmds, x->n, x->r, true);
	free(cmds);
	return err;
}

/* Decodes and visits every live AOR; fn may be NULL (count only). */
static int walk(struct rds_store *st, int64_t now, loc_iter_fn fn, void *arg, size_t *aors,
                size_t *bindings)
{
	struct keys ks = {0};
	redisReply *r[RDS_BATCH];
	size_t plen = strlen(RDS_AOR_PREFIX);
	int err = collect_keys(st, &ks), ret = 0;

	*aors = *bindings = 0;
	for (size_t from = 0; !err && !ret && from < ks.n; from += RDS_BATCH) {
		struct get_ctx x = {&ks, from, ks.n - from < RDS_BATCH ? ks.n - from : RDS_BATCH,
		                    r};
		if ((err = admin_run(st, get_fn, &x)) != 0)
			break;
		for (size_t i = 0; i < x.n && !ret; i++) {
			struct sip_pl aor = sip_pl(ks.k[from + i] + plen, ks.len[from + i] - plen);
			struct loc_binding *b = NULL;
			size_t n = 0;
			/* A key gone between SCAN and GET is simply not there
			 * any more; a corrupt one is skipped with a line. */
			if (r[i]->type != REDIS_REPLY_STRING)
				continue;
			if (rds_decode(r[i]->str, r[i]->len, aor, &b, &n) != 0) {
				sip_log(SIP_LOG_WARN, "location: redis value of %s is corrupt",
				        ks.k[from + i]);
				continue;
			}
			n = rds_live(b, n, now);
			if (n) {
				loc_bindings_sort(b, n);
				++*aors;
				*bindings += n;
				if (fn)
					ret = fn(arg, aor, b, n);
			}
			free(b);
		}
		rds_replies_free(r, x.n);
	}
	keys_free(&ks);
	return err ? err : ret;
}

int rds_iterate(struct loc_store *s, int64_t now, loc_iter_fn fn, void *arg)
{
	size_t aors, bindings;
	return walk((struct rds_store *)s, now, fn, arg, &aors, &bindings);
}

int rds_count(struct loc_store *s, int64_t now, size_t *aors, size_t *bindings)
{
	return walk((struct rds_store *)s, now, NULL, NULL, aors, bindings);
}

/* ---- users ---- */

/* A pipeline whose last reply decides: `check` maps it to a result. */
struct pipe_ctx {
	struct rds_cmd cmds[5];
	size_t n;
	int (*check)(redisReply *last);
};

static int pipe_fn(struct rds_store *st, struct rds_conn *c, void *arg)
{
	struct pipe_ctx *x = arg;
	redisReply *r[5];
	/* Only a user's MULTI/EXEC comes here, and running it again on a
	 * fresh connection (after a stale one) ends in the same state: it
	 * writes the whole user, or deletes it. */
	int err = rds_exchange(st, c, x->cmds, x->n, r, true);
	if (err)
		return err;
	err = x->check(r[x->n - 1]);
	rds_replies_free(r, x->n);
	return err;
}

static int exec_ok(redisReply *exec)
{
	if (exec->type != REDIS_REPLY_ARRAY)
		return LOC_ERR_STORE;
	for (size_t i = 0; i < exec->elements; i++)
		if (exec->element[i]->type == REDIS_REPLY_ERROR) {
			sip_log(SIP_LOG_ERROR, "location: redis: %s", exec->element[i]->str);
			return LOC_ERR_STORE;
		}
	return 0;
}

static int exec_deleted(redisReply *exec)
{
	int err = exec_ok(exec);
	if (err)
		return err;
	return exec->elements && exec->element[0]->type == REDIS_REPLY_INTEGER &&
	                       exec->element[0]->integer
	               ? 0
	               : SIP_ERR_NOT_FOUND;
}

int rds_user_put(struct loc_store *s, const struct loc_user *u)
{
	struct pipe_ctx x = {.n = 5, .check = exec_ok};
	const struct sip_pl ha1[3] = {u->ha1_md5, u->ha1_sha256, u->ha1_sha512_256};
	size_t klen, mlen;
	char *key = rds_key(RDS_USER_PREFIX, u->domain, ':', u->user, &klen);
	char *member = rds_key("", u->domain, '\t', u->user, &mlen);
	int err = SIP_ERR_NOMEM;

	if (key && member) {
		/* Replace the whole hash: a new password drops HA1s of
		 * algorithms it no longer provides. */
		rds_cmd_start(&x.cmds[0], "MULTI");
		cmd_key(&x.cmds[1], "DEL", key, klen);
		cmd_key(&x.cmds[2], "HSET", key, klen);
		for (size_t i = 0; i < 3; i++) {
			rds_cmd_arg(&x.cmds[2], rds_user_fields[i], strlen(rds_user_fields[i]));
			rds_cmd_arg(&x.cmds[2], ha1[i].p, ha1[i].len);
		}
		cmd_key(&x.cmds[3], "SADD", RDS_USERS_KEY, strlen(RDS_USERS_KEY));
		rds_cmd_arg(&x.cmds[3], member, mlen);
		rds_cmd_start(&x.cmds[4], "EXEC");
		err = admin_run((struct rds_store *)s, pipe_fn, &x);
	}
	free(key);
	free(member);
	return err;
}

int rds_user_del(struct loc_store *s, struct sip_pl user, struct sip_pl domain)
{
	struct pipe_ctx x = {.n = 4, .check = exec_deleted};
	size_t klen, mlen;
	char *key = rds_key(RDS_USER_PREFIX, domain, ':', user, &klen);
	char *member = rds_key("", domain, '\t', user, &mlen);
	int err = SIP_ERR_NOMEM;

	if (key && member) {
		rds_cmd_start(&x.cmds[0], "MULTI");
		cmd_key(&x.cmds[1], "DEL", key, klen);
		cmd_key(&x.cmds[2], "SREM", RDS_USERS_KEY, strlen(RDS_USERS_KEY));
		rds_cmd_arg(&x.cmds[2], member, mlen);
		rds_cmd_start(&x.cmds[3], "EXEC");
		err = admin_run((struct rds_store *)s, pipe_fn, &x);
	}
	free(key);
	free(member);
	return err;
}

/* The users, as "domain\tuser" members, sorted by (domain, user). */
static int members_fn(struct rds_store *st, struct rds_conn *c, void *arg)
{
	struct keys *ks = arg;
	struct rds_cmd cmd;
	redisReply *r;

	keys_free(ks);
	cmd_key(&cmd, "SMEMBERS", RDS_USERS_KEY, strlen(RDS_USERS_KEY));
	int err = rds_exchange(st, c, &cmd, 1, &r, true);
	if (err)
		return err;
	if (r->type != REDIS_REPLY_ARRAY)
		err = LOC_ERR_STORE;
	for (size_t i = 0; !err && i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    memchr(r->element[i]->str, '\t', r->element[i]->len))
			err = keys_add(ks, r->element[i]->str, r->element[i]->len);
	freeReplyObject(r);
	return err;
}

static int member_cmp(const void *a, const void *b)
{
	/* '\t' sorts below every byte a domain may hold, so comparing the
	 * members bytewise orders by domain, then user. */
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* HMGETs of the users ks[from, from+n) in one pipeline. */
static int hmget_fn(struct rds_store *st, struct rds_conn *c, void *arg)
{
	struct get_ctx *x = arg;
	struct rds_cmd *cmds = malloc(x->n * sizeof(*cmds));
	char **keys = calloc(x->n, sizeof(*keys));
	int err = SIP_ERR_NOMEM;

	for (size_t i = 0; cmds && keys && i < x->n; i++) {
		const char *m = x->ks->k[x->from + i], *tab = strchr(m, '\t');
		size_t klen;
		keys[i] = rds_key(RDS_USER_PREFIX, sip_pl(m, (size_t)(tab - m)), ':',
		                  sip_pl_cstr(tab + 1), &klen);
		if (!keys[i])
			goto out;
		cmd_key(&cmds[i], "HMGET", keys[i], klen);
		for (size_t f = 0; f < 3; f++)
			rds_cmd_arg(&cmds[i], rds_user_fields[f], strlen(rds_user_fields[f]));
	}
	if (cmds && keys)
		err = rds_exchange(st, c, cmds, x->n, x->r, true);
out:
	for (size_t i = 0; keys && i < x->n; i++)
		free(keys[i]);
	free(keys);
	free(cmds);
	return err;
}

int rds_user_iterate(struct loc_store *s, loc_user_iter_fn fn, void *arg)
{
	struct rds_store *st = (struct rds_store *)s;
	struct keys ks = {0};
	redisReply *r[RDS_BATCH];
	int err = admin_run(st, members_fn, &ks), ret = 0;

	if (!err)
		qsort(ks.k, ks.n, sizeof(*ks.k), member_cmp);
	for (size_t from = 0; !err && !ret && from < ks.n; from += RDS_BATCH) {
		struct get_ctx x = {&ks, from, ks.n - from < RDS_BATCH ? ks.n - from : RDS_BATCH,
		                    r};
		if ((err = admin_run(st, hmget_fn, &x)) != 0)
			break;
		for (size_t i = 0; i < x.n && !ret; i++) {
			const char *m = ks.k[from + i], *tab = strchr(m, '\t');
			struct loc_user u = {.domain = sip_pl(m, (size_t)(tab - m)),
			                     .user = sip_pl_cstr(tab + 1)};
			/* A member whose hash is gone (deleted meanwhile) is
			 * not a user any more. */
			if (rds_user_from_reply(r[i], &u))
				ret = fn(arg, &u);
		}
		rds_replies_free(r, x.n);
	}
	keys_free(&ks);
	return err ? err : ret;
}

/* ---- the secret ---- */

struct secret_ctx {
	uint8_t fresh[32];
	uint8_t *out;
};

static int secret_fn(struct rds_store *st, struct rds_conn *c, void *arg)
{
	struct secret_ctx *x = arg;
	struct rds_cmd cmds[2];
	redisReply *r[2];

	/* SET NX then GET: the first node to get here decides, every other
	 * one reads its value, so all nodes sign nonces alike. */
	cmd_key(&cmds[0], "SET", RDS_SECRET_KEY, strlen(RDS_SECRET_KEY));
	rds_cmd_arg(&cmds[0], (const char *)x->fresh, sizeof(x->fresh));
	rds_cmd_arg(&cmds[0], "NX", 2);
	cmd_key(&cmds[1], "GET", RDS_SECRET_KEY, strlen(RDS_SECRET_KEY));
	int err = rds_exchange(st, c, cmds, 2, r, true);
	if (err)
		return err;
	if (r[1]->type == REDIS_REPLY_STRING && r[1]->len == 32) {
		memcpy(x->out, r[1]->str, 32);
	} else {
		sip_log(SIP_LOG_ERROR, "location: redis %s is not 32 bytes", RDS_SECRET_KEY);
		err = LOC_ERR_STORE;
	}
	rds_replies_free(r, 2);
	return err;
}

int rds_secret(struct loc_store *s, uint8_t out[32])
{
	struct secret_ctx x = {.out = out};
	if (RAND_bytes(x.fresh, sizeof(x.fresh)) != 1)
		return LOC_ERR_STORE;
	return admin_run((struct rds_store *)s, secret_fn, &x);
}
