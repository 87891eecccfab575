/*
 * sqlite.c — the "sqlite:PATH" location backend, the embedded default
 * (DESIGN.md, Storage): bindings and users in one SQLite file in WAL mode
 * with synchronous=FULL, so that a committed change survives kill -9 and
 * power loss.
 *
 * Bindings are read from memory: the whole table is loaded into the index
 * (index.c) at open, the expired rows dropped. An update is applied to the
 * index at once, under its AOR's lock, so the next REGISTER of that AOR
 * sees it; its write is queued to the one writer thread (sqlite_writer.c),
 * which commits whatever is queued in one transaction and only then calls
 * the done callbacks — so a 200 is never sent for a binding a crash could
 * lose. Users are read from the file itself (sqlite_users.c), so a user
 * that sipctl adds through its own connection is seen at once.
 *
 * Schema (PRAGMA user_version 1):
 *   bindings  one row per binding, clustered by AOR
 *   users     HA1s by (domain, user)
 *   meta      the server secret
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "libsip/log.h"
#include "location/sqlite_priv.h"

#define SCHEMA_VERSION 1
#define ROWS_ARENA_LIMIT (64u << 20) /* bytes of strings of one AOR being loaded */

/* Why the key (aor, uri, instance, reg_id) and not (aor, uri): loc_apply
 * keeps two bindings with one URI when two RFC 5626 instances (or reg-ids)
 * claim it, which (aor, uri) would refuse. WITHOUT ROWID clusters an AOR's
 * rows, so replacing them touches one place of one B-tree. */
/* clang-format off */
static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS bindings ("
	"aor TEXT NOT NULL, uri TEXT NOT NULL, params TEXT NOT NULL, path TEXT NOT NULL, "
	"instance TEXT NOT NULL, call_id TEXT NOT NULL, received TEXT NOT NULL, "
	"user_agent TEXT NOT NULL, reg_id INTEGER NOT NULL, cseq INTEGER NOT NULL, "
	"q INTEGER NOT NULL, expires INTEGER NOT NULL, updated INTEGER NOT NULL, "
	"PRIMARY KEY (aor, uri, instance, reg_id)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS users ("
	"user TEXT NOT NULL, domain TEXT NOT NULL, ha1_md5 TEXT NOT NULL, "
	"ha1_sha256 TEXT NOT NULL, ha1_sha512_256 TEXT NOT NULL, "
	"PRIMARY KEY (domain, user)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;"
	"PRAGMA user_version = 1;";
/* clang-format on */

#define BINDING_COLUMNS                                                                            \
	"aor, uri, params, path, instance, call_id, received, user_agent, reg_id, cseq, q, "       \
	"expires, updated"

/* clang-format off */
static const char *const stmt_sql[SQ_NSTMT] = {
	[SQ_BEGIN] = "BEGIN IMMEDIATE",
	[SQ_COMMIT] = "COMMIT",
	[SQ_ROLLBACK] = "ROLLBACK",
	[SQ_DEL_AOR] = "DELETE FROM bindings WHERE aor = ?1",
	[SQ_INSERT] = "INSERT OR REPLACE INTO bindings (" BINDING_COLUMNS ") "
		      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[SQ_SELECT_AOR] = "SELECT " BINDING_COLUMNS " FROM bindings "
			  "WHERE aor = ?1 AND expires > ?2",
	[SQ_USER_PUT] = "INSERT OR REPLACE INTO users "
			"(user, domain, ha1_md5, ha1_sha256, ha1_sha512_256) "
			"VALUES (?1, lower(?2), ?3, ?4, ?5)",
	[SQ_USER_DEL] = "DELETE FROM users WHERE domain = lower(?2) AND user = ?1",
};
/* clang-format on */

static struct sq_store *sq(struct loc_store *s)
{
	return (struct sq_store *)s;
}

static int64_t wall_now(void)
{
	return (int64_t)time(NULL);
}

/* ---- connections and statements ------------------------------------------------------ */

int sq_connect(const char *path, int flags, sqlite3 **out)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);

	if (rc != SQLITE_OK) {
		sip_log(SIP_LOG_ERROR, "location: cannot open sqlite database \"%s\": %s", path,
		        db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return LOC_ERR_STORE;
	}
	/* Another process (sipctl) may hold the write lock for a moment. */
	sqlite3_busy_timeout(db, SQ_BUSY_TIMEOUT_MS);
	*out = db;
	return 0;
}

int sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) != SQLITE_OK) {
		sip_log(SIP_LOG_ERROR, "location: sqlite: cannot prepare \"%s\": %s", sql,
		        sqlite3_errmsg(db));
		return LOC_ERR_STORE;
	}
	return 0;
}

void sq_bind_pl(sqlite3_stmt *st, int i, struct sip_pl pl)
{
	/* Static: the bytes outlive the step (an item or the caller's). */
	sqlite3_bind_text(st, i, pl.len ? pl.p : "", (int)pl.len, SQLITE_STATIC);
}

struct sip_pl sq_column_pl(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	int len = sqlite3_column_bytes(st, i);

	return t && len > 0 ? sip_pl(t, (size_t)len) : SIP_PL("");
}

int sq_run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Runs SQL without parameters or rows; logs a failure. */
static int exec_sql(sqlite3 *db, const char *path, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	sip_log(SIP_LOG_ERROR, "location: sqlite \"%s\": %s: %s", path, sql, msg ? msg : "?");
	sqlite3_free(msg);
	return LOC_ERR_STORE;
}

/* ---- bindings read back ------------------------------------------------------------ */

/* Rows of one AOR, their strings copied out of sqlite's buffers. */
struct rows {
	struct sip_arena *arena;
	struct loc_binding *b;
	size_t n, cap;
};

static int rows_init(struct rows *r)
{
	memset(r, 0, sizeof(*r));
	return sip_arena_new(&r->arena, ROWS_ARENA_LIMIT);
}

static void rows_fini(struct rows *r)
{
	sip_arena_free(r->arena);
	free(r->b);
}

static void rows_reset(struct rows *r)
{
	sip_arena_reset(r->arena);
	r->n = 0;
}

static int dup_col(struct rows *r, sqlite3_stmt *st, int i, struct sip_pl *out)
{
	return sip_arena_dup(r->arena, sq_column_pl(st, i), out);
}

/* Appends the current row (columns BINDING_COLUMNS). */
static int rows_add(struct rows *r, sqlite3_stmt *st)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct loc_binding *b = realloc(r->b, cap * sizeof(*b));
		if (!b)
			return SIP_ERR_NOMEM;
		r->b = b;
		r->cap = cap;
	}
	struct loc_binding *b = &r->b[r->n];
	struct sip_pl *str[] = {&b->aor,      &b->uri,     &b->params,   &b->path,
	                        &b->instance, &b->call_id, &b->received, &b->user_agent};
	for (int i = 0; i < 8; i++)
		if (dup_col(r, st, i, str[i]) != 0)
			return SIP_ERR_NOMEM;
	b->reg_id = (uint32_t)sqlite3_column_int64(st, 8);
	b->cseq = (uint32_t)sqlite3_column_int64(st, 9);
	b->q = sqlite3_column_int(st, 10);
	b->expires = sqlite3_column_int64(st, 11);
	b->updated = sqlite3_column_int64(st, 12);
	r->n++;
	return 0;
}

int sq_load_aor(struct sq_store *s, struct sip_pl aor, int64_t now, struct loc_set **out)
{
	sqlite3_stmt *st = s->st[SQ_SELECT_AOR];
	struct rows r;
	int rc = SQLITE_DONE, err = rows_init(&r);

	*out = NULL;
	if (err)
		return err;
	sq_bind_pl(st, 1, aor);
	sqlite3_bind_int64(st, 2, now);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
		err = rows_add(&r, st);
	if (!err && rc != SQLITE_DONE)
		err = LOC_ERR_STORE;
	sqlite3_reset(st);
	if (!err && r.n && !(*out = loc_set_copy(aor, r.b, r.n)))
		err = SIP_ERR_NOMEM;
	rows_fini(&r);
	return err;
}

/* Gives the index the AOR gathered in r. */
static int rows_flush(struct sq_store *s, struct rows *r)
{
	int err = r->n ? loc_index_set(s->ix, r->b[0].aor, r->b, r->n) : 0;

	rows_reset(r);
	return err;
}

/* Loads every live binding into the index, in AOR order (the key's). */
static int load_all(struct sq_store *s, int64_t now)
{
	sqlite3_stmt *st;
	struct rows r;
	int rc = SQLITE_DONE, err;

	if ((err = sq_prepare(s->db, "SELECT " BINDING_COLUMNS " FROM bindings WHERE expires > ?1",
	                      &st)) != 0)
		return err;
	if ((err = rows_init(&r)) != 0) {
		sqlite3_finalize(st);
		return err;
	}
	sqlite3_bind_int64(st, 1, now);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (r.n && !sip_pl_eq(r.b[0].aor, sq_column_pl(st, 0)))
			err = rows_flush(s, &r);
		if (!err)
			err = rows_add(&r, st);
	}
	if (!err && rc != SQLITE_DONE) {
		sip_log(SIP_LOG_ERROR, "location: sqlite \"%s\": loading bindings: %s", s->path,
		        sqlite3_errmsg(s->db));
		err = LOC_ERR_STORE;
	}
	if (!err)
		err = rows_flush(s, &r);
	sqlite3_finalize(st);
	rows_fini(&r);
	return err;
}

/* ---- open ----------------------------------------------------------------------------- */

static int schema_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *st;

	if (sq_prepare(db, "PRAGMA user_version", &st) != 0)
		return LOC_ERR_STORE;
	int rc = sqlite3_step(st);
	*version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : LOC_ERR_STORE;
}

/* Creates the tables in a new file; refuses a file of a newer schema. */
static int schema_ensure(struct sq_store *s)
{
	int version;

	if (schema_version(s->db, &version) != 0)
		return LOC_ERR_STORE;
	if (version == 0)
		return exec_sql(s->db, s->path, schema_sql);
	if (version != SCHEMA_VERSION) {
		sip_log(SIP_LOG_ERROR,
		        "location: sqlite \"%s\" has schema version %d; this sipd knows %d",
		        s->path, version, SCHEMA_VERSION);
		return LOC_ERR_STORE;
	}
	return 0;
}

/* The secret: the first opener's random bytes; INSERT OR IGNORE then
 * SELECT, so two processes opening a new file at once agree. */
static int secret_ensure(struct sq_store *s)
{
	uint8_t fresh[32];
	sqlite3_stmt *ins, *sel;
	int err = LOC_ERR_STORE;

	if (RAND_bytes(fresh, sizeof(fresh)) != 1) {
		sip_log(SIP_LOG_ERROR, "location: no random bytes for the server secret");
		return LOC_ERR_STORE;
	}
	if (sq_prepare(s->db, "INSERT OR IGNORE INTO meta (key, value) VALUES ('secret', ?1)",
	               &ins) != 0)
		return LOC_ERR_STORE;
	if (sq_prepare(s->db, "SELECT value FROM meta WHERE key = 'secret'", &sel) != 0) {
		sqlite3_finalize(ins);
		return LOC_ERR_STORE;
	}
	sqlite3_bind_blob(ins, 1, fresh, sizeof(fresh), SQLITE_STATIC);
	if (sq_run(ins) == SQLITE_OK && sqlite3_step(sel) == SQLITE_ROW &&
	    sqlite3_column_bytes(sel, 0) == (int)sizeof(s->secret)) {
		memcpy(s->secret, sqlite3_column_blob(sel, 0), sizeof(s->secret));
		err = 0;
	} else {
		sip_log(SIP_LOG_ERROR, "location: sqlite \"%s\": no server secret: %s", s->path,
		        sqlite3_errmsg(s->db));
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(sel);
	return err;
}

/* WAL lets sipctl read while sipd writes; FULL makes each commit reach
 * the disk before it returns (NORMAL in WAL may lose the last commits on
 * power loss, and a 200 promises the binding is kept). */
static int pragmas(struct sq_store *s)
{
	sqlite3_stmt *st;

	if (sq_prepare(s->db, "PRAGMA journal_mode = WAL", &st) != 0)
		return LOC_ERR_STORE;
	int rc = sqlite3_step(st);
	bool wal = rc == SQLITE_ROW &&
	           sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		sip_log(SIP_LOG_ERROR, "location: sqlite \"%s\": %s", s->path,
		        sqlite3_errmsg(s->db));
		return LOC_ERR_STORE;
	}
	if (!wal)
		sip_log(SIP_LOG_WARN,
		        "location: sqlite \"%s\": no WAL mode here; readers will wait "
		        "for writers",
		        s->path);
	return exec_sql(s->db, s->path, "PRAGMA synchronous = FULL");
}

/* Schema, secret and bindings, in one write transaction: a second
 * process opening the file meanwhile waits (busy_timeout), then sees it
 * all. Expired rows are deleted here, once. */
static int prepare_file(struct sq_store *s, int64_t now)
{
	int err = exec_sql(s->db, s->path, "BEGIN IMMEDIATE");

	if (err)
		return err;
	if (!(err = schema_ensure(s)) && !(err = secret_ensure(s))) {
		char sql[96];
		snprintf(sql, sizeof(sql), "DELETE FROM bindings WHERE expires <= %lld",
		         (long long)now);
		if (!(err = exec_sql(s->db, s->path, sql)))
			err = load_all(s, now);
	}
	if (!err)
		return exec_sql(s->db, s->path, "COMMIT");
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

static int prepare_stmts(struct sq_store *s)
{
	for (int i = 0; i < SQ_NSTMT; i++)
		if (sq_prepare(s->db, stmt_sql[i], &s->st[i]) != 0)
			return LOC_ERR_STORE;
	return 0;
}

static void sq_free(struct sq_store *s)
{
	sq_readers_close(s);
	for (int i = 0; i < SQ_NSTMT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	loc_index_free(s->ix);
	pthread_mutex_destroy(&s->qlock);
	pthread_cond_destroy(&s->qcond);
	pthread_cond_destroy(&s->dcond);
	pthread_mutex_destroy(&s->rlock);
	free(s->path);
	free(s);
}

static struct sq_store *sq_alloc(const char *path)
{
	struct sq_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->qcond, NULL);
	pthread_cond_init(&s->dcond, NULL);
	pthread_mutex_init(&s->rlock, NULL);
	s->tail = &s->head;
	if (!(s->path = strdup(path)) || loc_index_new(&s->ix) != 0) {
		sq_free(s);
		return NULL;
	}
	return s;
}

static int sq_open(struct loc_store **out, const char *rest, const struct loc_cfg *cfg)
{
	(void)cfg;
	if (!*rest) {
		sip_log(SIP_LOG_ERROR, "location: \"sqlite:\" needs a file: sqlite:PATH");
		return LOC_ERR_DSN;
	}
	if (!sqlite3_threadsafe()) {
		sip_log(SIP_LOG_ERROR, "location: this libsqlite3 is built without threads");
		return LOC_ERR_STORE;
	}
	struct sq_store *s = sq_alloc(rest);
	if (!s)
		return SIP_ERR_NOMEM;
	int err = sq_connect(rest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &s->db);
	if (!err && !(err = pragmas(s)) && !(err = prepare_file(s, wall_now())) &&
	    !(err = prepare_stmts(s)))
		err = sq_writer_start(s);
	if (err) {
		sq_free(s);
		return err;
	}
	*out = &s->base;
	return 0;
}

static void sq_close(struct loc_store *base)
{
	struct sq_store *s = sq(base);

	sq_writer_stop(s);
	sq_free(s);
}

/* ---- bindings ---------------------------------------------------------------------------- */

/* The item a change of the index is to be queued with. */
struct queue_ctx {
	struct sq_store *s;
	struct sq_item *it;
};

/* Queues the AOR's new set, told under its shard lock: the queue then
 * holds one AOR's writes in the order the index took them. */
static int queue_set(void *arg, struct sip_pl aor, const struct loc_binding *b, size_t n)
{
	struct queue_ctx *c = arg;
	struct sq_item *it = c->it;
	struct sq_store *s = c->s;

	(void)aor;
	if (n && !(it->set = loc_set_copy(it->aor, b, n)))
		return SIP_ERR_NOMEM;
	int err = sq_enqueue(s, it);
	if (err) {
		free(it->set);
		it->set = NULL;
	}
	return err;
}

static struct sq_item *item_new(enum sq_op op, struct sip_pl aor)
{
	struct sq_item *it = calloc(1, sizeof(*it) + aor.len);

	if (!it)
		return NULL;
	it->op = op;
	if (aor.len)
		memcpy(it->chars, aor.p, aor.len);
	it->aor = sip_pl(it->chars, aor.len);
	return it;
}

static int sq_update(struct loc_store *base, const struct loc_update *u, loc_done_fn done,
                     void *arg)
{
	struct sq_store *s = sq(base);
	bool query = !u->remove_all && !u->ncontacts;
	struct sq_item *it = item_new(query ? SQ_OP_NOP : SQ_OP_SET, u->aor);

	if (!it)
		return SIP_ERR_NOMEM;
	it->done = done;
	it->arg = arg;
	struct queue_ctx ctx = {s, it};
	/* Once queued, the item is the writer's: not touched here again. */
	int err = loc_index_apply(s->ix, u, base->cfg.max_contacts, queue_set, &ctx, NULL);
	if (!err)
		return 0;
	free(it);
	if (err == SIP_ERR_NOMEM || err == LOC_ERR_CLOSED)
		return err;
	done(arg, err, NULL, 0); /* refused by the rules: nothing to commit */
	return 0;
}

static int sq_lookup(struct loc_store *base, struct sip_pl aor, int64_t now, loc_done_fn done,
                     void *arg)
{
	struct loc_set *set = NULL;
	int err = loc_index_get(sq(base)->ix, aor, now, &set);

	if (err)
		return err;
	done(arg, 0, set ? set->b : NULL, set ? set->n : 0);
	free(set);
	return 0;
}

/* Removes through the index and waits for the commit. */
static int remove_sync(struct sq_store *s, struct sip_pl aor, struct sip_pl uri)
{
	struct sq_item it = {.op = SQ_OP_SET, .sync = true, .aor = aor};
	struct queue_ctx ctx = {s, &it};

	if (sq_on_writer(s))
		return LOC_ERR_STORE;
	int err = loc_index_remove(s->ix, aor, uri, wall_now(), queue_set, &ctx);
	return err ? err : sq_wait(s, &it);
}

static int sq_remove(struct loc_store *base, struct sip_pl aor, struct sip_pl uri)
{
	if (!uri.len) /* the index reads an empty URI as "all" */
		return SIP_ERR_NOT_FOUND;
	return remove_sync(sq(base), aor, uri);
}

static int sq_remove_all(struct loc_store *base, struct sip_pl aor)
{
	return remove_sync(sq(base), aor, SIP_PL_NULL);
}

/* Queues the rewrite of an AOR that lost expired bindings (no callback;
 * if it cannot be queued, the rows stay until the AOR's next write or
 * the next open, which drops them). */
static int queue_expired(void *arg, struct sip_pl aor, const struct loc_binding *b, size_t n)
{
	struct queue_ctx ctx = {arg, item_new(SQ_OP_SET, aor)};

	if (!ctx.it)
		return SIP_ERR_NOMEM;
	int err = queue_set(&ctx, aor, b, n);
	if (err)
		free(ctx.it);
	return err;
}

static long sq_expire(struct loc_store *base, int64_t now)
{
	struct sq_store *s = sq(base);

	return (long)loc_index_expire(s->ix, now, queue_expired, s);
}

static int sq_iterate(struct loc_store *base, int64_t now, loc_iter_fn fn, void *arg)
{
	return loc_index_iterate(sq(base)->ix, now, fn, arg);
}

static int sq_count(struct loc_store *base, int64_t now, size_t *aors, size_t *bindings)
{
	loc_index_count(sq(base)->ix, now, aors, bindings);
	return 0;
}

static int sq_secret(struct loc_store *base, uint8_t out[32])
{
	memcpy(out, sq(base)->secret, 32);
	return 0;
}

/* clang-format off */
const struct loc_backend_ops loc_sqlite_ops = {
	.name = "sqlite",
	.prefix = "sqlite:",
	.open = sq_open,
	.close = sq_close,
	.update = sq_update,
	.lookup = sq_lookup,
	.remove = sq_remove,
	.remove_all = sq_remove_all,
	.expire = sq_expire,
	.iterate = sq_iterate,
	.count = sq_count,
	.user_put = sq_user_put,
	.user_del = sq_user_del,
	.user_get = sq_user_get,
	.user_iterate = sq_user_iterate,
	.secret = sq_secret,
};
/* clang-format on */
