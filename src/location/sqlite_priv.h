/*
 * sqlite_priv.h — what the files of the sqlite backend share: the store,
 * the queue of changes its one writer thread commits in groups
 * (sqlite_writer.c), and the read connections the user lookups take
 * (sqlite_users.c).
 */
#ifndef SIPD_LOCATION_SQLITE_PRIV_H
#define SIPD_LOCATION_SQLITE_PRIV_H

#include <pthread.h>
#include <sqlite3.h>

#include "location/index.h"
#include "location/store_priv.h"

#define SQ_BUSY_TIMEOUT_MS 5000

/* The writer connection's statements. */
enum sq_stmt {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_DEL_AOR,
	SQ_INSERT,
	SQ_SELECT_AOR,
	SQ_USER_PUT,
	SQ_USER_DEL,
	SQ_NSTMT,
};

/* What the writer does with one queued change. */
enum sq_op {
	SQ_OP_SET,      /* replace the AOR's rows by set */
	SQ_OP_NOP,      /* a query: answered after the commit of what precedes it */
	SQ_OP_USER_PUT, /* insert or replace user */
	SQ_OP_USER_DEL, /* delete user; err SIP_ERR_NOT_FOUND when absent */
};

/* A change queued for the writer. Asynchronous ones (updates, expiry) are
 * heap-allocated and freed by the writer after calling done; synchronous
 * ones live on the caller's stack until finished. */
struct sq_item {
	struct sq_item *next;
	enum sq_op op;
	bool sync;
	bool finished;    /* sync: set by the writer under qlock */
	bool failed;      /* its transaction did not commit */
	int err;          /* its own outcome (SIP_ERR_NOT_FOUND for a user_del) */
	loc_done_fn done; /* async: NULL for none */
	void *arg;
	struct sip_pl aor;    /* SQ_OP_SET, SQ_OP_NOP */
	struct loc_set *set;  /* the AOR's bindings after the change; NULL: none */
	struct loc_user user; /* SQ_OP_USER_*: the caller's slices */
	char chars[];         /* async: the AOR's bytes */
};

struct sq_reader;

struct sq_store {
	struct loc_store base; /* first: the store.c view */
	struct loc_index *ix;
	char *path;
	uint8_t secret[32];

	/* The writer: its connection and statements are its own once the
	 * thread runs. */
	sqlite3 *db;
	sqlite3_stmt *st[SQ_NSTMT];
	pthread_t writer;
	bool writer_started;

	pthread_mutex_t qlock; /* guards the queue and the items' finished flags */
	pthread_cond_t qcond;  /* work for the writer, or closing */
	pthread_cond_t dcond;  /* a synchronous item finished */
	struct sq_item *head, **tail;
	bool closing;

	pthread_mutex_t rlock; /* guards readers */
	struct sq_reader *readers;
};

/* Statements and connections (sqlite.c). */
int sq_connect(const char *path, int flags, sqlite3 **out);
int sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out);
void sq_bind_pl(sqlite3_stmt *st, int i, struct sip_pl pl);
struct sip_pl sq_column_pl(sqlite3_stmt *st, int i);
/* Steps a statement that returns no row and resets it: SQLITE_OK or the error. */
int sq_run(sqlite3_stmt *st);
/* The live bindings of aor at now through the writer's connection. */
int sq_load_aor(struct sq_store *s, struct sip_pl aor, int64_t now, struct loc_set **out);

/* The writer (sqlite_writer.c). */
int sq_writer_start(struct sq_store *s);
/* Drains the queue (callbacks run) and joins the thread. */
void sq_writer_stop(struct sq_store *s);
/* Appends it; LOC_ERR_CLOSED once closing. */
int sq_enqueue(struct sq_store *s, struct sq_item *it);
/* Enqueues a synchronous item and waits for its commit: its err, or
 * LOC_ERR_STORE when it failed. */
int sq_run_sync(struct sq_store *s, struct sq_item *it);
/* Waits for an already enqueued synchronous item. */
int sq_wait(struct sq_store *s, struct sq_item *it);
/* True on the writer thread, where waiting for it would never end. */
bool sq_on_writer(struct sq_store *s);

/* Users (sqlite_users.c). */
int sq_user_put(struct loc_store *s, const struct loc_user *u);
int sq_user_del(struct loc_store *s, struct sip_pl user, struct sip_pl domain);
int sq_user_get(struct loc_store *s, struct sip_pl user, struct sip_pl domain, loc_user_fn done,
                void *arg);
int sq_user_iterate(struct loc_store *s, loc_user_iter_fn fn, void *arg);
void sq_readers_close(struct sq_store *s);

#endif /* SIPD_LOCATION_SQLITE_PRIV_H */
