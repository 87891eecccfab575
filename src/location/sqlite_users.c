/*
 * sqlite_users.c — users (HA1 credentials) of the sqlite backend.
 *
 * Reads go to the file, never to a cache, so that a user sipctl adds
 * through its own connection is seen at the next lookup. Each read takes
 * a connection from a small pool (opened on demand, one per concurrent
 * reader): WAL lets them all read while the writer commits, and no
 * worker waits for another's query. Writes go through the writer thread
 * like every other change, and are waited for.
 */
#include <stdlib.h>

#include "libsip/log.h"
#include "location/sqlite_priv.h"

#define USER_COLUMNS "user, domain, ha1_md5, ha1_sha256, ha1_sha512_256"

/* A read connection and its statements. */
struct sq_reader {
	struct sq_reader *next; /* in the idle list */
	sqlite3 *db;
	sqlite3_stmt *get;
	sqlite3_stmt *iter;
};

static void reader_free(struct sq_reader *r)
{
	sqlite3_finalize(r->get);
	sqlite3_finalize(r->iter);
	sqlite3_close(r->db);
	free(r);
}

static int reader_open(struct sq_store *s, struct sq_reader **out)
{
	struct sq_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return SIP_ERR_NOMEM;
	/* Read-write, not read-only: a WAL reader writes the -shm index. */
	int err = sq_connect(s->path, SQLITE_OPEN_READWRITE, &r->db);
	if (!err)
		err = sq_prepare(r->db,
		                 "SELECT " USER_COLUMNS " FROM users "
		                 "WHERE domain = lower(?2) AND user = ?1",
		                 &r->get);
	if (!err)
		err = sq_prepare(r->db, "SELECT " USER_COLUMNS " FROM users ORDER BY domain, user",
		                 &r->iter);
	if (err) {
		reader_free(r);
		return err;
	}
	*out = r;
	return 0;
}

static int reader_take(struct sq_store *s, struct sq_reader **out)
{
	pthread_mutex_lock(&s->rlock);
	struct sq_reader *r = s->readers;
	if (r)
		s->readers = r->next;
	pthread_mutex_unlock(&s->rlock);
	if (!r)
		return reader_open(s, out);
	*out = r;
	return 0;
}

static void reader_give(struct sq_store *s, struct sq_reader *r)
{
	pthread_mutex_lock(&s->rlock);
	r->next = s->readers;
	s->readers = r;
	pthread_mutex_unlock(&s->rlock);
}

void sq_readers_close(struct sq_store *s)
{
	while (s->readers) {
		struct sq_reader *r = s->readers;
		s->readers = r->next;
		reader_free(r);
	}
}

/* The user in the current row (slices valid until the next step). */
static void row_user(sqlite3_stmt *st, struct loc_user *u)
{
	u->user = sq_column_pl(st, 0);
	u->domain = sq_column_pl(st, 1);
	u->ha1_md5 = sq_column_pl(st, 2);
	u->ha1_sha256 = sq_column_pl(st, 3);
	u->ha1_sha512_256 = sq_column_pl(st, 4);
}

static int read_failed(struct sq_store *s, sqlite3 *db)
{
	sip_log(SIP_LOG_ERROR, "location: sqlite \"%s\": reading users: %s", s->path,
	        sqlite3_errmsg(db));
	return LOC_ERR_STORE;
}

int sq_user_get(struct loc_store *base, struct sip_pl user, struct sip_pl domain, loc_user_fn done,
                void *arg)
{
	struct sq_store *s = (struct sq_store *)base;
	struct sq_reader *r;
	int err = reader_take(s, &r);

	if (err == SIP_ERR_NOMEM)
		return err;
	if (err) {
		done(arg, LOC_ERR_STORE, NULL);
		return 0;
	}
	sq_bind_pl(r->get, 1, user);
	sq_bind_pl(r->get, 2, domain);
	int rc = sqlite3_step(r->get);
	if (rc == SQLITE_ROW) {
		struct loc_user u;
		row_user(r->get, &u);
		done(arg, 0, &u);
	} else {
		done(arg, rc == SQLITE_DONE ? SIP_ERR_NOT_FOUND : read_failed(s, r->db), NULL);
	}
	/* Ends the read transaction: the next lookup sees newer commits. */
	sqlite3_reset(r->get);
	reader_give(s, r);
	return 0;
}

int sq_user_iterate(struct loc_store *base, loc_user_iter_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)base;
	struct sq_reader *r;
	int rc = SQLITE_DONE, ret = 0, err = reader_take(s, &r);

	if (err)
		return err;
	while (!ret && (rc = sqlite3_step(r->iter)) == SQLITE_ROW) {
		struct loc_user u;
		row_user(r->iter, &u);
		ret = fn(arg, &u);
	}
	if (!ret && rc != SQLITE_DONE)
		ret = read_failed(s, r->db);
	sqlite3_reset(r->iter);
	reader_give(s, r);
	return ret;
}

int sq_user_put(struct loc_store *base, const struct loc_user *u)
{
	struct sq_item it = {.op = SQ_OP_USER_PUT, .user = *u};
	int err = loc_user_check(u);

	return err ? err : sq_run_sync((struct sq_store *)base, &it);
}

int sq_user_del(struct loc_store *base, struct sip_pl user, struct sip_pl domain)
{
	struct sq_item it = {.op = SQ_OP_USER_DEL};

	it.user.user = user;
	it.user.domain = domain;
	return sq_run_sync((struct sq_store *)base, &it);
}
