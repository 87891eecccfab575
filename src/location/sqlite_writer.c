/*
 * sqlite_writer.c — the sqlite backend's one writer thread: group commit
 * of the queued changes, then their callbacks.
 *
 * Why one writer: SQLite takes one writer at a time anyway; one thread
 * with a FIFO queue never fights itself for the lock (no SQLITE_BUSY
 * between workers), writes one AOR's changes in the order the index took
 * them, and pays one fsync for everything queued while the previous
 * commit was on its way to the disk — so batches grow by themselves with
 * the load, and an idle server commits a lone REGISTER at once. (So
 * loc_cfg's commit_ms, a wait to gather more, is not used: measured in
 * bench/loc_update.c, it gained nothing and costs a lone REGISTER.)
 *
 * When a commit fails, its callbacks get LOC_ERR_STORE and the index is
 * put back in line with the file: each AOR the batch touched is reloaded
 * from it, unless a later change of that AOR is already queued (that
 * change rewrites the AOR's rows whole, so the index is what the file
 * will hold once it commits).
 */
#include <stdlib.h>
#include <time.h>

#include "libsip/log.h"
#include "location/sqlite_priv.h"

/* ---- the queue ---------------------------------------------------------------------- */

int sq_enqueue(struct sq_store *s, struct sq_item *it)
{
	pthread_mutex_lock(&s->qlock);
	if (s->closing) {
		pthread_mutex_unlock(&s->qlock);
		return LOC_ERR_CLOSED;
	}
	it->next = NULL;
	*s->tail = it;
	s->tail = &it->next;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	return 0;
}

bool sq_on_writer(struct sq_store *s)
{
	if (!s->writer_started || !pthread_equal(pthread_self(), s->writer))
		return false;
	sip_log(SIP_LOG_ERROR, "location: a synchronous store call from a done callback would "
	                       "wait for itself; refused");
	return true;
}

int sq_wait(struct sq_store *s, struct sq_item *it)
{
	pthread_mutex_lock(&s->qlock);
	while (!it->finished)
		pthread_cond_wait(&s->dcond, &s->qlock);
	int err = it->failed ? LOC_ERR_STORE : it->err;
	pthread_mutex_unlock(&s->qlock);
	return err;
}

int sq_run_sync(struct sq_store *s, struct sq_item *it)
{
	if (sq_on_writer(s))
		return LOC_ERR_STORE;
	it->sync = true;
	int err = sq_enqueue(s, it);
	return err ? err : sq_wait(s, it);
}

/* Everything queued; NULL once closing with an empty queue. */
static struct sq_item *take_all(struct sq_store *s)
{
	pthread_mutex_lock(&s->qlock);
	while (!s->head && !s->closing)
		pthread_cond_wait(&s->qcond, &s->qlock);
	struct sq_item *batch = s->head;
	s->head = NULL;
	s->tail = &s->head;
	pthread_mutex_unlock(&s->qlock);
	return batch;
}

/* ---- one change ------------------------------------------------------------------------ */

static void bind_binding(sqlite3_stmt *st, struct sip_pl aor, const struct loc_binding *b)
{
	sq_bind_pl(st, 1, aor);
	sq_bind_pl(st, 2, b->uri);
	sq_bind_pl(st, 3, b->params);
	sq_bind_pl(st, 4, b->path);
	sq_bind_pl(st, 5, b->instance);
	sq_bind_pl(st, 6, b->call_id);
	sq_bind_pl(st, 7, b->received);
	sq_bind_pl(st, 8, b->user_agent);
	sqlite3_bind_int64(st, 9, b->reg_id);
	sqlite3_bind_int64(st, 10, b->cseq);
	sqlite3_bind_int(st, 11, b->q);
	sqlite3_bind_int64(st, 12, b->expires);
	sqlite3_bind_int64(st, 13, b->updated);
}

/* The AOR's rows become its set: delete them all, insert the set. An AOR
 * has a handful of rows, next to each other in the key's order, so this
 * costs about what a diff would and never disagrees with the index. */
static int exec_set(struct sq_store *s, const struct sq_item *it)
{
	sqlite3_stmt *ins = s->st[SQ_INSERT];

	sq_bind_pl(s->st[SQ_DEL_AOR], 1, it->aor);
	int rc = sq_run(s->st[SQ_DEL_AOR]);
	for (size_t i = 0; rc == SQLITE_OK && it->set && i < it->set->n; i++) {
		bind_binding(ins, it->aor, &it->set->b[i]);
		rc = sq_run(ins);
	}
	return rc;
}

static int exec_user_put(struct sq_store *s, const struct sq_item *it)
{
	sqlite3_stmt *st = s->st[SQ_USER_PUT];

	sq_bind_pl(st, 1, it->user.user);
	sq_bind_pl(st, 2, it->user.domain);
	sq_bind_pl(st, 3, it->user.ha1_md5);
	sq_bind_pl(st, 4, it->user.ha1_sha256);
	sq_bind_pl(st, 5, it->user.ha1_sha512_256);
	return sq_run(st);
}

static int exec_user_del(struct sq_store *s, struct sq_item *it)
{
	sqlite3_stmt *st = s->st[SQ_USER_DEL];

	sq_bind_pl(st, 1, it->user.user);
	sq_bind_pl(st, 2, it->user.domain);
	int rc = sq_run(st);
	it->err = rc == SQLITE_OK && sqlite3_changes(s->db) == 0 ? SIP_ERR_NOT_FOUND : 0;
	return rc;
}

static int exec_item(struct sq_store *s, struct sq_item *it)
{
	switch (it->op) {
	case SQ_OP_SET: return exec_set(s, it);
	case SQ_OP_USER_PUT: return exec_user_put(s, it);
	case SQ_OP_USER_DEL: return exec_user_del(s, it);
	case SQ_OP_NOP: break;
	}
	return SQLITE_OK;
}

/* ---- group commit ---------------------------------------------------------------------- */

/* Runs first .. stop (exclusive) in one transaction. Returns SQLITE_OK or
 * the error, logged, the transaction rolled back. */
static int exec_txn(struct sq_store *s, struct sq_item *first, struct sq_item *stop)
{
	int rc = sq_run(s->st[SQ_BEGIN]);

	for (struct sq_item *it = first; rc == SQLITE_OK && it != stop; it = it->next)
		rc = exec_item(s, it);
	if (rc == SQLITE_OK)
		rc = sq_run(s->st[SQ_COMMIT]);
	if (rc == SQLITE_OK)
		return rc;
	size_t n = 0;
	for (struct sq_item *it = first; it != stop; it = it->next)
		n++;
	sip_log(SIP_LOG_ERROR, "location: sqlite \"%s\": commit of %zu changes failed: %s (%s)",
	        s->path, n, sqlite3_errmsg(s->db), sqlite3_errstr(rc));
	if (!sqlite3_get_autocommit(s->db))
		sq_run(s->st[SQ_ROLLBACK]);
	return rc;
}

static size_t count_writes(const struct sq_item *batch)
{
	size_t n = 0;

	for (; batch; batch = batch->next)
		n += batch->op != SQ_OP_NOP;
	return n;
}

/* Failures that belong to one change (a value the table refuses), not to
 * the file or the disk: worth retrying the others without it. */
static bool item_specific(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
	case SQLITE_TOOBIG:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE: return true;
	default: return false;
	}
}

/* After a failed group: each change again in a transaction of its own,
 * so that one bad change does not fail the others. */
static void retry_alone(struct sq_store *s, struct sq_item *batch)
{
	for (struct sq_item *it = batch; it; it = it->next)
		if (it->op != SQ_OP_NOP)
			it->failed = exec_txn(s, it, it->next) != SQLITE_OK;
}

/* Told under the AOR's shard lock: reload it from the file unless a later
 * change of it is queued. */
static int repair_load(void *arg, struct sip_pl aor, struct loc_set **set, bool *keep)
{
	struct sq_store *s = arg;

	pthread_mutex_lock(&s->qlock);
	for (const struct sq_item *q = s->head; q && !*keep; q = q->next)
		*keep = q->op == SQ_OP_SET && sip_pl_eq(q->aor, aor);
	pthread_mutex_unlock(&s->qlock);
	if (*keep)
		return 0;
	if (sq_load_aor(s, aor, (int64_t)time(NULL), set) != 0) {
		/* Claim nothing rather than what the file may not hold. */
		sip_log(SIP_LOG_ERROR,
		        "location: sqlite \"%s\": cannot reload %.*s; its bindings "
		        "are dropped from memory",
		        s->path, (int)aor.len, aor.p);
		*set = NULL;
	}
	return 0;
}

static void repair(struct sq_store *s, struct sq_item *batch)
{
	for (struct sq_item *it = batch; it; it = it->next)
		if (it->failed && it->op == SQ_OP_SET)
			loc_index_reload(s->ix, it->aor, repair_load, s);
}

/* Calls back or wakes up each change's owner, in queue order. */
static void finish(struct sq_store *s, struct sq_item *batch)
{
	while (batch) {
		struct sq_item *it = batch, *next = it->next;
		int err = it->failed ? LOC_ERR_STORE : it->err;
		batch = next;
		if (it->sync) {
			free(it->set);
			it->set = NULL;
			pthread_mutex_lock(&s->qlock);
			it->finished = true; /* from here on the waiter owns it */
			pthread_cond_broadcast(&s->dcond);
			pthread_mutex_unlock(&s->qlock);
			continue;
		}
		if (it->done && err)
			it->done(it->arg, err, NULL, 0);
		else if (it->done)
			it->done(it->arg, 0, it->set ? it->set->b : NULL, it->set ? it->set->n : 0);
		free(it->set);
		free(it);
	}
}

static void run_batch(struct sq_store *s, struct sq_item *batch)
{
	size_t writes = count_writes(batch);
	int rc = writes ? exec_txn(s, batch, NULL) : SQLITE_OK;

	if (rc != SQLITE_OK) {
		if (writes > 1 && item_specific(rc)) {
			retry_alone(s, batch);
		} else {
			for (struct sq_item *it = batch; it; it = it->next)
				it->failed = true;
		}
		repair(s, batch);
	}
	finish(s, batch);
}

static void *writer_main(void *arg)
{
	struct sq_store *s = arg;
	struct sq_item *batch;

	while ((batch = take_all(s)) != NULL)
		run_batch(s, batch);
	return NULL;
}

int sq_writer_start(struct sq_store *s)
{
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
		sip_log(SIP_LOG_ERROR, "location: sqlite: cannot start the writer thread");
		return LOC_ERR_STORE;
	}
	s->writer_started = true;
	return 0;
}

void sq_writer_stop(struct sq_store *s)
{
	if (!s->writer_started)
		return;
	pthread_mutex_lock(&s->qlock);
	s->closing = true;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	pthread_join(s->writer, NULL);
	s->writer_started = false;
}
