/*
 * redis_priv.h — the pieces of the Redis location backend shared by its
 * files: redis.c (the store, its worker threads and the asynchronous
 * operations), redis_conn.c (DSN, connections, commands, the lost/back
 * log), redis_codec.c (the serialised binding set) and redis_admin.c (the
 * synchronous operations on an extra, mutex-protected connection).
 *
 * Keys (a DB number in the DSN selects the database on every connection):
 *   sipd:aor:<aor>             the AOR's binding set (redis_codec.c), with
 *                              EXPIREAT = its latest binding's expiry
 *   sipd:user:<domain>:<user>  hash: ha1_md5, ha1_sha256, ha1_sha512_256
 *   sipd:users                 set of "<domain>\t<user>" (for iteration)
 *   sipd:secret                32 bytes, written once with SET NX
 */
#ifndef SIPD_LOCATION_REDIS_PRIV_H
#define SIPD_LOCATION_REDIS_PRIV_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include <hiredis/hiredis.h>

#include "location/store_priv.h"

#define RDS_AOR_PREFIX "sipd:aor:"
#define RDS_USER_PREFIX "sipd:user:"
#define RDS_USERS_KEY "sipd:users"
#define RDS_SECRET_KEY "sipd:secret"

/* How long a read-modify-write (update, remove) keeps re-running after
 * lost WATCH races before it gives up with LOC_ERR_STORE. Every lost race
 * means another client committed, so the store as a whole progresses; but
 * a node writing one AOR in a burst (REGISTERs queued for it) wins the
 * races until its burst is over, and the loser must outlast that. A time
 * budget (not a count) bounds what a REGISTER waits whatever the RTT.
 * Measured on loopback: bursts of 200 updates of one AOR from each of two
 * nodes cost the loser at most ~25 rounds with an immediate re-run, and
 * more with a random pause (which only shifts the loser's window). */
#define RDS_WATCH_BUDGET_MS 1000

/* Internal result of a command exchange: the connection broke before any
 * write of the operation could have reached Redis (so re-running it on a
 * new connection is safe). Never leaves the backend. */
#define RDS_ERR_RETRY (-1000)

/* One blocking connection. */
struct rds_conn {
	redisContext *c;  /* NULL while down */
	bool used;        /* c served an operation before: it may be stale now */
	int64_t retry_at; /* monotonic ms: no reconnect before (workers only) */
};

struct rds_job;

/* A worker thread: its own connection and the queue of the AORs hashed to it. */
struct rds_worker {
	struct rds_store *st;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rds_job *head, *tail;
	bool stop;
	bool started;
	struct rds_conn conn;
};

struct rds_store {
	struct loc_store base; /* first: store.c sees a struct loc_store */
	char *host;
	int port;
	int db;
	size_t max_contacts;
	unsigned retry_ms;
	atomic_bool down; /* for the lost/back log lines (one each per outage) */
	unsigned nworkers;
	struct rds_worker *workers;
	pthread_mutex_t admin_mu; /* guards admin */
	struct rds_conn admin;
};

/* ---- redis_conn.c ---- */

/* Parses "HOST:PORT[/DB]" (HOST a name, IPv4 or [IPv6]; PORT 6379 when
 * left out). *host is malloc'd. Returns 0, LOC_ERR_DSN or SIP_ERR_NOMEM. */
int rds_dsn_parse(const char *rest, char **host, int *port, int *db);
int64_t rds_now_ms(void);
/* Connects c if it is down (SELECT db included). Returns 0, LOC_ERR_STORE
 * (and logs the loss once per outage) or LOC_ERR_DSN (Redis refused the
 * SELECT: no such database). */
int rds_conn_open(struct rds_store *st, struct rds_conn *c);
/* Drops a broken connection. */
void rds_conn_drop(struct rds_conn *c);
/* Sends cmds (n command lines) as one pipeline and reads n replies into
 * r[] (all NULL on failure). Returns 0 or, when the connection failed
 * (it is then dropped), RDS_ERR_RETRY if it had served an earlier
 * operation (so it may merely be stale: Redis restarted) and `safe` says
 * this is the operation's first exchange (running the whole operation
 * again applies nothing twice), else LOC_ERR_STORE (logged once per
 * outage). */
struct rds_cmd {
	int argc;
	const char *argv[8];
	size_t len[8];
};
int rds_exchange(struct rds_store *st, struct rds_conn *c, const struct rds_cmd *cmds, size_t n,
                 redisReply **r, bool safe);
void rds_replies_free(redisReply **r, size_t n);
/* Marks the store up or down; logs only on a change. */
void rds_mark_down(struct rds_store *st, const char *why);
void rds_mark_up(struct rds_store *st);
/* A command line: its name, then its arguments one by one (binary safe). */
void rds_cmd_start(struct rds_cmd *cmd, const char *name);
void rds_cmd_arg(struct rds_cmd *cmd, const char *p, size_t len);
/* "prefix" + a + (sep + b): a malloc'd key; NULL on no memory. */
char *rds_key(const char *prefix, struct sip_pl a, char sep, struct sip_pl b, size_t *len);

/* Blocks SIGPIPE on the calling thread for the span of an exchange: hiredis
 * writes with write(2), and a Redis that went away must fail the call, not
 * kill a process that left SIGPIPE at its default (sipctl, tests). */
struct rds_sigpipe {
	sigset_t old;
	bool pending;
};
void rds_sigpipe_block(struct rds_sigpipe *g);
void rds_sigpipe_restore(struct rds_sigpipe *g);

/* ---- redis_codec.c ---- */

/* Bytes rds_encode needs for b[0..n). */
size_t rds_encoded_size(const struct loc_binding *b, size_t n);
/* Writes the set into buf (rds_encoded_size bytes); returns the length. */
size_t rds_encode(const struct loc_binding *b, size_t n, char *buf);
/* Decodes a stored set: *out is malloc'd (NULL when n is 0), its slices
 * point into buf and aor. Returns 0, LOC_ERR_STORE (corrupt value) or
 * SIP_ERR_NOMEM. */
int rds_decode(const char *buf, size_t len, struct sip_pl aor, struct loc_binding **out, size_t *n);
/* Keeps the bindings live at now, in place; returns how many. */
size_t rds_live(struct loc_binding *b, size_t n, int64_t now);
/* The latest expiry of b[0..n) (n > 0). */
int64_t rds_latest(const struct loc_binding *b, size_t n);

/* ---- redis.c ---- */

/* The MULTI/EXEC half of a read-modify-write after WATCH key: writes
 * b[0..n) with EXPIREAT = the latest expiry (or deletes the key when n is
 * 0). Returns 0, 1 when EXEC was aborted because another client wrote
 * the key meanwhile, or an error. */
int rds_write_set(struct rds_store *st, struct rds_conn *c, const char *key, size_t klen,
                  const struct loc_binding *b, size_t n);
/* Forgets a WATCH (after a read-modify-write decided not to write). */
void rds_unwatch(struct rds_store *st, struct rds_conn *c);

/* ---- redis_admin.c (synchronous operations) ---- */

int rds_remove(struct loc_store *s, struct sip_pl aor, struct sip_pl uri);
int rds_remove_all(struct loc_store *s, struct sip_pl aor);
long rds_expire(struct loc_store *s, int64_t now);
int rds_iterate(struct loc_store *s, int64_t now, loc_iter_fn fn, void *arg);
int rds_count(struct loc_store *s, int64_t now, size_t *aors, size_t *bindings);
int rds_user_put(struct loc_store *s, const struct loc_user *u);
int rds_user_del(struct loc_store *s, struct sip_pl user, struct sip_pl domain);
int rds_user_iterate(struct loc_store *s, loc_user_iter_fn fn, void *arg);
int rds_secret(struct loc_store *s, uint8_t out[32]);

/* The user hash's fields, in the order of struct loc_user's HA1s. */
extern const char *const rds_user_fields[3];
/* Fills u's HA1s from an HMGET reply of rds_user_fields; returns false
 * when the user does not exist (every field nil). */
bool rds_user_from_reply(const redisReply *r, struct loc_user *u);

#endif /* SIPD_LOCATION_REDIS_PRIV_H */
