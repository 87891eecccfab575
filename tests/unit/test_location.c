/*
 * test_location.c — the location service (src/location) through its
 * public interface, for the memory: and sqlite: backends alike: updates
 * and lookups sorted by q, concurrent updates of distinct and of one AOR,
 * expiry, removal, iteration and counts, users, the secret. For sqlite
 * also: persistence across reopen (expired bindings dropped), callbacks
 * only after the commit (seen by a second connection), FIFO order of one
 * AOR's writes, a failed commit (answered LOC_ERR_STORE, memory put back
 * in line with the file), and a second store on the same file (sipctl).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "location/location.h"

#define MAXB 16

/* ---- fixture: one store, in memory or in a temporary file ------------------------------ */

struct fx {
	bool sqlite;
	char dir[64];
	char path[128];
	char dsn[160];
	struct loc_store *s;
};

static int fx_setup(void **state, bool sqlite)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->sqlite = sqlite;
	if (sqlite) {
		strcpy(f->dir, "/tmp/sipd-loc-XXXXXX");
		assert_non_null(mkdtemp(f->dir));
		snprintf(f->path, sizeof(f->path), "%s/loc.db", f->dir);
		snprintf(f->dsn, sizeof(f->dsn), "sqlite:%s", f->path);
	} else {
		strcpy(f->dsn, "memory:");
	}
	assert_int_equal(loc_open(&f->s, f->dsn, NULL), 0);
	*state = f;
	return 0;
}

static int setup_memory(void **state)
{
	return fx_setup(state, false);
}

static int setup_sqlite(void **state)
{
	return fx_setup(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[192];

	loc_close(f->s);
	if (f->sqlite) {
		const char *suffix[] = {"", "-wal", "-shm", "-journal"};
		for (int i = 0; i < 4; i++) {
			snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
			unlink(p);
		}
		rmdir(f->dir);
	}
	free(f);
	return 0;
}

static void fx_reopen(struct fx *f)
{
	loc_close(f->s);
	f->s = NULL;
	assert_int_equal(loc_open(&f->s, f->dsn, NULL), 0);
}

/* ---- waiting for a callback ---------------------------------------------------------- */

struct rb {
	char uri[128];
	char call_id[64];
	int q;
	uint32_t cseq;
	int64_t expires;
};

/* What a done callback reported, copied out. */
struct result {
	pthread_mutex_t m;
	pthread_cond_t c;
	bool done;
	int err;
	size_t n;
	struct rb b[MAXB];
	const char *check_path; /* sqlite: look for b[0] in the file at callback time */
	long rows_seen;
};

static void result_init(struct result *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->m, NULL);
	pthread_cond_init(&r->c, NULL);
}

static void result_fini(struct result *r)
{
	pthread_mutex_destroy(&r->m);
	pthread_cond_destroy(&r->c);
}

/* Rows of (aor, uri) in the file, through a connection of our own. */
static long rows_in_file(const char *path, struct sip_pl aor, struct sip_pl uri)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long n = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_prepare_v2(db,
	                       "SELECT count(*) FROM bindings WHERE aor = ?1 AND "
	                       "(uri = ?2 OR ?2 = '')",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, aor.p, (int)aor.len, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, uri.len ? uri.p : "", (int)uri.len, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return n;
}

static void on_done(void *arg, int err, const struct loc_binding *b, size_t n)
{
	struct result *r = arg;

	pthread_mutex_lock(&r->m);
	r->err = err;
	r->n = n;
	for (size_t i = 0; i < n && i < MAXB; i++) {
		snprintf(r->b[i].uri, sizeof(r->b[i].uri), "%.*s", (int)b[i].uri.len, b[i].uri.p);
		snprintf(r->b[i].call_id, sizeof(r->b[i].call_id), "%.*s", (int)b[i].call_id.len,
		         b[i].call_id.p);
		r->b[i].q = b[i].q;
		r->b[i].cseq = b[i].cseq;
		r->b[i].expires = b[i].expires;
	}
	if (r->check_path && n)
		r->rows_seen = rows_in_file(r->check_path, b[0].aor, b[0].uri);
	r->done = true;
	pthread_cond_signal(&r->c);
	pthread_mutex_unlock(&r->m);
}

static void result_wait(struct result *r)
{
	pthread_mutex_lock(&r->m);
	while (!r->done)
		pthread_cond_wait(&r->c, &r->m);
	pthread_mutex_unlock(&r->m);
}

static struct loc_contact ct(const char *uri, int q, uint32_t expires)
{
	struct loc_contact c;

	memset(&c, 0, sizeof(c));
	c.uri = sip_pl_cstr(uri);
	c.q = q;
	c.expires = expires;
	return c;
}

static struct loc_update upd(const char *aor, const char *call_id, uint32_t cseq, int64_t now,
                             const struct loc_contact *c, size_t n)
{
	struct loc_update u;

	memset(&u, 0, sizeof(u));
	u.aor = sip_pl_cstr(aor);
	u.call_id = sip_pl_cstr(call_id);
	u.cseq = cseq;
	u.contacts = c;
	u.ncontacts = n;
	u.received = SIP_PL("udp:192.0.2.1:5060");
	u.now = now;
	return u;
}

/* loc_update, waiting for its callback; the error it reported. */
static int update_wait(struct loc_store *s, const struct loc_update *u, struct result *r)
{
	result_init(r);
	int err = loc_update(s, u, on_done, r);
	if (err)
		return err;
	result_wait(r);
	return r->err;
}

static int update1(struct loc_store *s, const char *aor, const char *uri, const char *call_id,
                   uint32_t cseq, int64_t now, uint32_t expires)
{
	struct loc_contact c = ct(uri, -1, expires);
	struct loc_update u = upd(aor, call_id, cseq, now, &c, 1);
	struct result r;
	int err = update_wait(s, &u, &r);

	result_fini(&r);
	return err;
}

static void lookup(struct loc_store *s, const char *aor, int64_t now, struct result *r)
{
	result_init(r);
	assert_int_equal(loc_lookup(s, sip_pl_cstr(aor), now, on_done, r), 0);
	result_wait(r); /* inline for both backends, but do not rely on it */
	assert_int_equal(r->err, 0);
}

static size_t lookup_n(struct loc_store *s, const char *aor, int64_t now)
{
	struct result r;

	lookup(s, aor, now, &r);
	result_fini(&r);
	return r.n;
}

/* ---- both backends --------------------------------------------------------------------- */

static void test_update_lookup_sorted(void **state)
{
	struct fx *f = *state;
	int64_t now = time(NULL);
	struct loc_contact c[3] = {ct("sip:a@192.0.2.1", 500, 60), ct("sip:b@192.0.2.2", -1, 60),
	                           ct("sip:c@192.0.2.3", 900, 60)};
	struct loc_update u = upd("sip:alice@example.com", "call-1", 1, now, c, 3);
	struct result r;

	assert_int_equal(update_wait(f->s, &u, &r), 0);
	assert_int_equal(r.n, 3);
	/* q highest first; no q counts as 1.0. */
	assert_string_equal(r.b[0].uri, "sip:b@192.0.2.2");
	assert_string_equal(r.b[1].uri, "sip:c@192.0.2.3");
	assert_string_equal(r.b[2].uri, "sip:a@192.0.2.1");
	assert_int_equal(r.b[0].expires, now + 60);
	result_fini(&r);

	lookup(f->s, "sip:alice@example.com", now, &r);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.b[0].uri, "sip:b@192.0.2.2");
	assert_string_equal(r.b[2].uri, "sip:a@192.0.2.1");
	assert_string_equal(r.b[1].call_id, "call-1");
	result_fini(&r);
	assert_int_equal(lookup_n(f->s, "sip:bob@example.com", now), 0);
	/* Not live any more at its expiry. */
	assert_int_equal(lookup_n(f->s, "sip:alice@example.com", now + 60), 0);

	/* A refused update reports its error and changes nothing. */
	assert_int_equal(
	        update1(f->s, "sip:alice@example.com", "sip:a@192.0.2.1", "call-1", 1, now, 60),
	        LOC_ERR_ORDER);
	assert_int_equal(lookup_n(f->s, "sip:alice@example.com", now), 3);

	/* A query answers the set as it is. */
	u = upd("sip:alice@example.com", "call-9", 1, now, NULL, 0);
	assert_int_equal(update_wait(f->s, &u, &r), 0);
	assert_int_equal(r.n, 3);
	result_fini(&r);
	assert_string_equal(loc_backend(f->s), f->sqlite ? "sqlite" : "memory");
}

static void test_max_contacts(void **state)
{
	struct fx *f = *state;
	int64_t now = time(NULL);
	struct loc_cfg cfg;
	char uri[64];

	loc_close(f->s);
	loc_cfg_default(&cfg);
	cfg.max_contacts = 3;
	assert_int_equal(loc_open(&f->s, f->dsn, &cfg), 0);
	for (int i = 0; i < 3; i++) {
		snprintf(uri, sizeof(uri), "sip:u@192.0.2.%d", i + 1);
		assert_int_equal(
		        update1(f->s, "sip:m@example.com", uri, "c", (uint32_t)i + 1, now, 60), 0);
	}
	assert_int_equal(update1(f->s, "sip:m@example.com", "sip:u@192.0.2.9", "c", 9, now, 60),
	                 LOC_ERR_TOO_MANY);
	assert_int_equal(lookup_n(f->s, "sip:m@example.com", now), 3);
}

/* ---- concurrent updates ---- */

enum { THREADS = 4, ROUNDS = 60 };

struct worker {
	struct loc_store *s;
	int id;
	bool shared; /* all threads on one AOR */
	int64_t now;
	int ok, order, other;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char aor[64], uri[64], call_id[32];

	snprintf(aor, sizeof(aor), w->shared ? "sip:shared@example.com" : "sip:w%d@example.com",
	         w->id);
	snprintf(uri, sizeof(uri), "sip:dev%d@192.0.2.%d", w->id, w->id + 1);
	snprintf(call_id, sizeof(call_id), "call-%d", w->id);
	for (uint32_t i = 1; i <= ROUNDS; i++) {
		int err = update1(w->s, aor, uri, call_id, i, w->now, 60 + i);
		if (err == 0)
			w->ok++;
		else if (err == LOC_ERR_ORDER)
			w->order++;
		else
			w->other++;
	}
	return NULL;
}

static void run_workers(struct loc_store *s, bool shared, int64_t now, struct worker *w)
{
	pthread_t t[THREADS];

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.s = s, .id = i, .shared = shared, .now = now};
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(w[i].other, 0);
		assert_int_equal(w[i].ok + w[i].order, ROUNDS);
	}
}

/* Every thread's last write is there: its binding with its last CSeq. */
static void check_last_writes(struct loc_store *s, const char *aor, int64_t now, int nthreads)
{
	struct result r;
	char call_id[32];

	lookup(s, aor, now, &r);
	assert_int_equal(r.n, (size_t)nthreads);
	for (int i = 0; i < nthreads; i++) {
		snprintf(call_id, sizeof(call_id), "call-%d", i);
		size_t k = 0;
		while (k < r.n && strcmp(r.b[k].call_id, call_id) != 0)
			k++;
		assert_true(k < r.n);
		assert_int_equal(r.b[k].cseq, ROUNDS);
		assert_int_equal(r.b[k].expires, now + 60 + ROUNDS);
	}
	result_fini(&r);
}

static void test_concurrent(void **state)
{
	struct fx *f = *state;
	int64_t now = time(NULL);
	struct worker w[THREADS];
	char aor[64];

	run_workers(f->s, false, now, w);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(w[i].ok, ROUNDS); /* distinct AORs: never out of order */
		snprintf(aor, sizeof(aor), "sip:w%d@example.com", i);
		assert_int_equal(lookup_n(f->s, aor, now), 1);
	}
	run_workers(f->s, true, now, w);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(w[i].ok, ROUNDS); /* one Call-ID each, rising CSeq */
	check_last_writes(f->s, "sip:shared@example.com", now, THREADS);
	if (f->sqlite) {
		fx_reopen(f);
		check_last_writes(f->s, "sip:shared@example.com", now, THREADS);
	}
}

static void test_expire(void **state)
{
	struct fx *f = *state;
	int64_t now = time(NULL);

	assert_int_equal(update1(f->s, "sip:e@example.com", "sip:a@192.0.2.1", "c1", 1, now, 10),
	                 0);
	assert_int_equal(update1(f->s, "sip:e@example.com", "sip:b@192.0.2.2", "c1", 2, now, 20),
	                 0);
	assert_int_equal(update1(f->s, "sip:f@example.com", "sip:c@192.0.2.3", "c2", 1, now, 10),
	                 0);
	assert_int_equal(loc_expire(f->s, now + 9), 0);
	assert_int_equal(loc_expire(f->s, now + 10), 2);
	assert_int_equal(loc_expire(f->s, now + 10), 0);
	assert_int_equal(lookup_n(f->s, "sip:e@example.com", now), 1);
	assert_int_equal(lookup_n(f->s, "sip:f@example.com", now), 0);
	size_t aors, bindings;
	assert_int_equal(loc_count(f->s, now, &aors, &bindings), 0);
	assert_int_equal(aors, 1);
	assert_int_equal(bindings, 1);
	if (f->sqlite) {
		/* The expired rows leave the file too (once the queue drains). */
		loc_close(f->s);
		f->s = NULL;
		assert_int_equal(rows_in_file(f->path, SIP_PL("sip:f@example.com"), SIP_PL("")), 0);
		assert_int_equal(rows_in_file(f->path, SIP_PL("sip:e@example.com"), SIP_PL("")), 1);
		assert_int_equal(loc_open(&f->s, f->dsn, NULL), 0);
	}
}

static void test_remove(void **state)
{
	struct fx *f = *state;
	int64_t now = time(NULL);
	struct sip_pl aor = SIP_PL("sip:r@example.com");

	assert_int_equal(
	        update1(f->s, "sip:r@example.com", "sip:a@HOST.example.com", "c", 1, now, 60), 0);
	assert_int_equal(update1(f->s, "sip:r@example.com", "sip:b@192.0.2.2", "c", 2, now, 60), 0);
	/* §19.1.4 equality: the host's case does not matter. */
	assert_int_equal(loc_remove(f->s, aor, SIP_PL("sip:a@host.example.com")), 0);
	assert_int_equal(loc_remove(f->s, aor, SIP_PL("sip:a@host.example.com")),
	                 SIP_ERR_NOT_FOUND);
	assert_int_equal(loc_remove(f->s, aor, SIP_PL("")), SIP_ERR_NOT_FOUND);
	assert_int_equal(
	        loc_remove(f->s, SIP_PL("sip:nobody@example.com"), SIP_PL("sip:b@192.0.2.2")),
	        SIP_ERR_NOT_FOUND);
	assert_int_equal(lookup_n(f->s, "sip:r@example.com", now), 1);
	if (f->sqlite) /* synchronous: in the file on return */
		assert_int_equal(rows_in_file(f->path, aor, SIP_PL("")), 1);
	assert_int_equal(loc_remove_all(f->s, aor), 0);
	assert_int_equal(loc_remove_all(f->s, aor), SIP_ERR_NOT_FOUND);
	assert_int_equal(lookup_n(f->s, "sip:r@example.com", now), 0);
	if (f->sqlite)
		assert_int_equal(rows_in_file(f->path, aor, SIP_PL("")), 0);
}

struct visit {
	size_t aors, bindings;
	bool sorted;
	int stop_after;
};

static int on_visit(void *arg, struct sip_pl aor, const struct loc_binding *b, size_t n)
{
	struct visit *v = arg;

	v->aors++;
	v->bindings += n;
	for (size_t i = 0; i < n; i++) {
		if (!sip_pl_eq(b[i].aor, aor))
			v->sorted = false;
		int q = b[i].q < 0 ? 1000 : b[i].q;
		int prev = i ? (b[i - 1].q < 0 ? 1000 : b[i - 1].q) : 1000;
		if (q > prev)
			v->sorted = false;
	}
	return v->stop_after && (int)v->aors == v->stop_after ? 7 : 0;
}

static void test_iterate_count(void **state)
{
	struct fx *f = *state;
	int64_t now = time(NULL);
	char aor[64], uri[64];

	for (int a = 1; a <= 3; a++)
		for (int k = 0; k < a; k++) {
			struct loc_contact c;
			snprintf(aor, sizeof(aor), "sip:it%d@example.com", a);
			snprintf(uri, sizeof(uri), "sip:x@192.0.2.%d", k + 1);
			c = ct(uri, k * 300, 60);
			struct loc_update u = upd(aor, "c", (uint32_t)k + 1, now, &c, 1);
			struct result r;
			assert_int_equal(update_wait(f->s, &u, &r), 0);
			result_fini(&r);
		}
	/* One that will have expired. */
	assert_int_equal(update1(f->s, "sip:gone@example.com", "sip:g@192.0.2.9", "c", 1, now, 5),
	                 0);
	size_t aors, bindings;
	assert_int_equal(loc_count(f->s, now + 5, &aors, &bindings), 0);
	assert_int_equal(aors, 3);
	assert_int_equal(bindings, 6);
	struct visit v = {.sorted = true};
	assert_int_equal(loc_iterate(f->s, now + 5, on_visit, &v), 0);
	assert_int_equal(v.aors, 3);
	assert_int_equal(v.bindings, 6);
	assert_true(v.sorted);
	v = (struct visit){.sorted = true, .stop_after = 2};
	assert_int_equal(loc_iterate(f->s, now, on_visit, &v), 7);
	assert_int_equal(v.aors, 2);
}

/* ---- users ---- */

#define MD5_A "0123456789abcdef0123456789abcdef"
#define SHA_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define MD5_B "fedcba9876543210fedcba9876543210"

struct got_user {
	int err;
	int calls;
	char user[64], domain[64], md5[40], sha[70];
};

static void on_user(void *arg, int err, const struct loc_user *u)
{
	struct got_user *g = arg;

	g->calls++;
	g->err = err;
	if (!u)
		return;
	snprintf(g->user, sizeof(g->user), "%.*s", (int)u->user.len, u->user.p);
	snprintf(g->domain, sizeof(g->domain), "%.*s", (int)u->domain.len, u->domain.p);
	snprintf(g->md5, sizeof(g->md5), "%.*s", (int)u->ha1_md5.len, u->ha1_md5.p);
	snprintf(g->sha, sizeof(g->sha), "%.*s", (int)u->ha1_sha256.len, u->ha1_sha256.p);
}

static struct got_user get_user(struct loc_store *s, const char *user, const char *domain)
{
	struct got_user g;

	memset(&g, 0, sizeof(g));
	assert_int_equal(loc_user_get(s, sip_pl_cstr(user), sip_pl_cstr(domain), on_user, &g), 0);
	assert_int_equal(g.calls, 1); /* inline */
	return g;
}

static struct loc_user user(const char *name, const char *domain, const char *md5, const char *sha)
{
	struct loc_user u = {sip_pl_cstr(name), sip_pl_cstr(domain), sip_pl_cstr(md5),
	                     sip_pl_cstr(sha), SIP_PL("")};
	return u;
}

struct user_list {
	int n;
	char names[8][80];
	int stop_after;
};

static int on_user_iter(void *arg, const struct loc_user *u)
{
	struct user_list *l = arg;

	if (l->n < 8)
		snprintf(l->names[l->n], sizeof(l->names[0]), "%.*s@%.*s", (int)u->user.len,
		         u->user.p, (int)u->domain.len, u->domain.p);
	l->n++;
	return l->stop_after && l->n == l->stop_after ? 5 : 0;
}

static void test_users(void **state)
{
	struct fx *f = *state;
	struct loc_user u = user("alice", "Example.COM", MD5_A, SHA_A);

	assert_int_equal(loc_user_put(f->s, &u), 0);
	struct got_user g = get_user(f->s, "alice", "example.com");
	assert_int_equal(g.err, 0);
	assert_string_equal(g.user, "alice");
	assert_string_equal(g.domain, "example.com"); /* domains fold to lower case */
	assert_string_equal(g.md5, MD5_A);
	assert_string_equal(g.sha, SHA_A);
	assert_int_equal(get_user(f->s, "ALICE", "example.com").err, SIP_ERR_NOT_FOUND);
	assert_int_equal(get_user(f->s, "alice", "EXAMPLE.com").err, 0);

	/* Replace (a new password). */
	u = user("alice", "example.com", MD5_B, "");
	assert_int_equal(loc_user_put(f->s, &u), 0);
	g = get_user(f->s, "alice", "example.com");
	assert_string_equal(g.md5, MD5_B);
	assert_string_equal(g.sha, "");

	/* Refused: no HA1, wrong length, upper-case hex, no user. */
	u = user("bob", "example.com", "", "");
	assert_int_equal(loc_user_put(f->s, &u), SIP_ERR_SYNTAX);
	u = user("bob", "example.com", "abc", "");
	assert_int_equal(loc_user_put(f->s, &u), SIP_ERR_SYNTAX);
	u = user("bob", "example.com", "0123456789ABCDEF0123456789ABCDEF", "");
	assert_int_equal(loc_user_put(f->s, &u), SIP_ERR_SYNTAX);
	u = user("", "example.com", MD5_A, "");
	assert_int_equal(loc_user_put(f->s, &u), SIP_ERR_SYNTAX);

	/* Iteration in (domain, user) order. */
	const char *names[][2] = {
	        {"zed", "a.example"}, {"bob", "example.com"}, {"carol", "b.example"}};
	for (int i = 0; i < 3; i++) {
		u = user(names[i][0], names[i][1], MD5_A, "");
		assert_int_equal(loc_user_put(f->s, &u), 0);
	}
	struct user_list l = {0};
	assert_int_equal(loc_user_iterate(f->s, on_user_iter, &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.names[0], "zed@a.example");
	assert_string_equal(l.names[1], "carol@b.example");
	assert_string_equal(l.names[2], "alice@example.com");
	assert_string_equal(l.names[3], "bob@example.com");
	l = (struct user_list){.stop_after = 2};
	assert_int_equal(loc_user_iterate(f->s, on_user_iter, &l), 5);
	assert_int_equal(l.n, 2);

	assert_int_equal(loc_user_del(f->s, SIP_PL("alice"), SIP_PL("EXAMPLE.COM")), 0);
	assert_int_equal(loc_user_del(f->s, SIP_PL("alice"), SIP_PL("example.com")),
	                 SIP_ERR_NOT_FOUND);
	assert_int_equal(get_user(f->s, "alice", "example.com").err, SIP_ERR_NOT_FOUND);
}

static void test_secret(void **state)
{
	struct fx *f = *state;
	uint8_t a[32], b[32], zero[32] = {0};

	assert_int_equal(loc_secret(f->s, a), 0);
	assert_int_equal(loc_secret(f->s, b), 0);
	assert_memory_equal(a, b, 32);
	assert_memory_not_equal(a, zero, 32);
	if (f->sqlite) { /* kept in the file */
		fx_reopen(f);
		assert_int_equal(loc_secret(f->s, b), 0);
		assert_memory_equal(a, b, 32);
	} else { /* drawn anew for each memory store */
		struct loc_store *other;
		assert_int_equal(loc_open(&other, "memory:", NULL), 0);
		assert_int_equal(loc_secret(other, b), 0);
		assert_memory_not_equal(a, b, 32);
		loc_close(other);
	}
}

/* ---- sqlite only ------------------------------------------------------------------------- */

static void test_sqlite_persistence(void **state)
{
	struct fx *f = *state;
	int64_t now = time(NULL);
	char aor[64];
	enum { N = 40 };

	for (int i = 0; i < N; i++) {
		snprintf(aor, sizeof(aor), "sip:p%d@example.com", i);
		/* Every fourth was registered long ago and has expired by now. */
		int64_t at = i % 4 == 0 ? now - 1000 : now;
		assert_int_equal(update1(f->s, aor, "sip:p@192.0.2.1", "c", 1, at, 600), 0);
	}
	fx_reopen(f);
	size_t aors, bindings;
	assert_int_equal(loc_count(f->s, now, &aors, &bindings), 0);
	assert_int_equal(aors, N - N / 4);
	assert_int_equal(bindings, N - N / 4);
	for (int i = 0; i < N; i++) {
		snprintf(aor, sizeof(aor), "sip:p%d@example.com", i);
		struct result r;
		lookup(f->s, aor, now, &r);
		assert_int_equal(r.n, i % 4 == 0 ? 0 : 1);
		if (r.n) {
			assert_string_equal(r.b[0].uri, "sip:p@192.0.2.1");
			assert_int_equal(r.b[0].expires, now + 600);
		}
		result_fini(&r);
		/* The expired rows were deleted at open. */
		assert_int_equal(rows_in_file(f->path, sip_pl_cstr(aor), SIP_PL("")),
		                 i % 4 == 0 ? 0 : 1);
	}
}

static void test_sqlite_done_after_commit(void **state)
{
	struct fx *f = *state;
	struct loc_contact c = ct("sip:d@192.0.2.1", -1, 60);
	struct loc_update u = upd("sip:durable@example.com", "c", 1, time(NULL), &c, 1);
	struct result r;

	result_init(&r);
	r.check_path = f->path;
	r.rows_seen = -5;
	assert_int_equal(loc_update(f->s, &u, on_done, &r), 0);
	result_wait(&r);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.rows_seen, 1); /* in the file when done was called */
	result_fini(&r);
}

/* ---- kill -9 ---- */

enum { KILL_UPDATES = 2000, KILL_ACKS = 300 };

static int ack_fd = -1;

static void on_ack(void *arg, int err, const struct loc_binding *b, size_t n)
{
	uint32_t i = (uint32_t)(uintptr_t)arg;

	(void)b;
	(void)n;
	if (err == 0 && write(ack_fd, &i, sizeof(i)) != sizeof(i))
		_exit(3);
}

/* The child: registers AOR k0, k1, ... and acknowledges each on the pipe
 * from its done callback, as sipd would send its 200. */
static void kill_child(const char *dsn, int fd)
{
	struct loc_store *s;
	struct loc_contact c = ct("sip:k@192.0.2.1", -1, 600);
	char aor[64];

	ack_fd = fd;
	if (loc_open(&s, dsn, NULL) != 0)
		_exit(1);
	for (uint32_t i = 0; i < KILL_UPDATES; i++) {
		snprintf(aor, sizeof(aor), "sip:k%u@example.com", i);
		struct loc_update u = upd(aor, "c", 1, time(NULL), &c, 1);
		if (loc_update(s, &u, on_ack, (void *)(uintptr_t)i) != 0)
			_exit(2);
	}
	for (;;)
		pause();
}

static void test_sqlite_kill9(void **state)
{
	struct fx *f = *state;
	static bool acked[KILL_UPDATES];
	int fds[2];
	char aor[64];

	loc_close(f->s); /* the child's store is the only one */
	f->s = NULL;
	memset(acked, 0, sizeof(acked));
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		kill_child(f->dsn, fds[1]);
	}
	close(fds[1]);
	/* Killed while updates are still being committed. */
	for (int n = 0; n < KILL_ACKS; n++) {
		uint32_t i;
		assert_int_equal(read(fds[0], &i, sizeof(i)), sizeof(i));
		assert_true(i < KILL_UPDATES);
		acked[i] = true;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	uint32_t i;
	while (read(fds[0], &i, sizeof(i)) == sizeof(i)) /* acks already in the pipe */
		acked[i] = true;
	close(fds[0]);

	assert_int_equal(loc_open(&f->s, f->dsn, NULL), 0);
	for (i = 0; i < KILL_UPDATES; i++) {
		snprintf(aor, sizeof(aor), "sip:k%u@example.com", i);
		if (acked[i])
			assert_int_equal(lookup_n(f->s, aor, time(NULL)), 1);
	}
}

static void test_sqlite_fifo_and_close_drains(void **state)
{
	struct fx *f = *state;
	int64_t now = time(NULL);
	struct loc_contact a = ct("sip:a@192.0.2.1", -1, 60);
	struct loc_contact b[2] = {ct("sip:a@192.0.2.1", -1, 0), ct("sip:b@192.0.2.2", -1, 60)};
	struct loc_update u1 = upd("sip:fifo@example.com", "c", 1, now, &a, 1);
	struct loc_update u2 = upd("sip:fifo@example.com", "c", 2, now, b, 2);
	struct result r[2 + 20];
	char aor[64];

	/* Two updates of one AOR queued back to back, then twenty more of
	 * other AORs, and the store closed at once: every callback runs, and
	 * the file holds the second update's set. */
	result_init(&r[0]);
	result_init(&r[1]);
	assert_int_equal(loc_update(f->s, &u1, on_done, &r[0]), 0);
	assert_int_equal(loc_update(f->s, &u2, on_done, &r[1]), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(aor, sizeof(aor), "sip:drain%d@example.com", i);
		struct loc_update u = upd(aor, "c", 1, now, &a, 1);
		result_init(&r[2 + i]);
		assert_int_equal(loc_update(f->s, &u, on_done, &r[2 + i]), 0);
	}
	loc_close(f->s);
	f->s = NULL;
	for (int i = 0; i < 22; i++) {
		assert_true(r[i].done);
		assert_int_equal(r[i].err, 0);
		result_fini(&r[i]);
	}
	assert_int_equal(r[1].n, 1);
	assert_string_equal(r[1].b[0].uri, "sip:b@192.0.2.2");
	assert_int_equal(rows_in_file(f->path, SIP_PL("sip:fifo@example.com"), SIP_PL("")), 1);
	assert_int_equal(
	        rows_in_file(f->path, SIP_PL("sip:fifo@example.com"), SIP_PL("sip:b@192.0.2.2")),
	        1);
	assert_int_equal(loc_open(&f->s, f->dsn, NULL), 0);
	assert_int_equal(lookup_n(f->s, "sip:drain19@example.com", now), 1);
}

static void exec_sql(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_sqlite_commit_failure(void **state)
{
	struct fx *f = *state;
	int64_t now = time(NULL);

	assert_int_equal(update1(f->s, "sip:fail@example.com", "sip:a@192.0.2.1", "c", 1, now, 60),
	                 0);
	/* The file refuses any further row of this AOR (a trigger through a
	 * connection of our own), as a full disk would. */
	exec_sql(f->path, "CREATE TRIGGER no_fail BEFORE INSERT ON bindings "
	                  "WHEN NEW.aor IN ('sip:fail@example.com', 'sip:new@example.com') "
	                  "BEGIN SELECT RAISE(ABORT, 'injected'); END;");
	assert_int_equal(update1(f->s, "sip:fail@example.com", "sip:b@192.0.2.2", "c", 2, now, 60),
	                 LOC_ERR_STORE);
	assert_int_equal(update1(f->s, "sip:new@example.com", "sip:b@192.0.2.2", "c", 1, now, 60),
	                 LOC_ERR_STORE);
	/* Memory claims nothing the file does not hold. */
	struct result r;
	lookup(f->s, "sip:fail@example.com", now, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.b[0].uri, "sip:a@192.0.2.1");
	result_fini(&r);
	assert_int_equal(lookup_n(f->s, "sip:new@example.com", now), 0);
	/* Other AORs are not held up, even in one group commit with it. */
	struct loc_contact c = ct("sip:b@192.0.2.2", -1, 60);
	struct result rs[12];
	char aor[64];
	for (int i = 0; i < 12; i++) {
		snprintf(aor, sizeof(aor), i % 3 ? "sip:ok%d@example.com" : "sip:new@example.com",
		         i);
		struct loc_update u = upd(aor, "c", 10 + (uint32_t)i, now, &c, 1);
		result_init(&rs[i]);
		assert_int_equal(loc_update(f->s, &u, on_done, &rs[i]), 0);
	}
	for (int i = 0; i < 12; i++) {
		result_wait(&rs[i]);
		assert_int_equal(rs[i].err, i % 3 ? 0 : LOC_ERR_STORE);
		result_fini(&rs[i]);
		snprintf(aor, sizeof(aor), "sip:ok%d@example.com", i);
		if (i % 3)
			assert_int_equal(rows_in_file(f->path, sip_pl_cstr(aor), SIP_PL("")), 1);
	}
	assert_int_equal(lookup_n(f->s, "sip:new@example.com", now), 0);

	exec_sql(f->path, "DROP TRIGGER no_fail");
	assert_int_equal(update1(f->s, "sip:fail@example.com", "sip:b@192.0.2.2", "c", 3, now, 60),
	                 0);
	assert_int_equal(lookup_n(f->s, "sip:fail@example.com", now), 2);
	assert_int_equal(rows_in_file(f->path, SIP_PL("sip:fail@example.com"), SIP_PL("")), 2);
}

static void test_sqlite_second_store(void **state)
{
	struct fx *f = *state;
	struct loc_store *ctl;
	struct loc_user u = user("dave", "example.com", MD5_A, "");
	int64_t now = time(NULL);

	assert_int_equal(update1(f->s, "sip:seen@example.com", "sip:a@192.0.2.1", "c", 1, now, 60),
	                 0);
	/* sipctl opens the same file while sipd runs. */
	assert_int_equal(loc_open(&ctl, f->dsn, NULL), 0);
	assert_int_equal(lookup_n(ctl, "sip:seen@example.com", now), 1);
	assert_int_equal(get_user(f->s, "dave", "example.com").err, SIP_ERR_NOT_FOUND);
	assert_int_equal(loc_user_put(ctl, &u), 0);
	assert_int_equal(get_user(f->s, "dave", "example.com").err, 0);
	assert_int_equal(loc_user_del(ctl, SIP_PL("dave"), SIP_PL("example.com")), 0);
	assert_int_equal(get_user(f->s, "dave", "example.com").err, SIP_ERR_NOT_FOUND);
	uint8_t a[32], b[32];
	assert_int_equal(loc_secret(f->s, a), 0);
	assert_int_equal(loc_secret(ctl, b), 0);
	assert_memory_equal(a, b, 32);
	loc_close(ctl);
}

static void test_dsn_errors(void **state)
{
	struct loc_store *s = (struct loc_store *)1;

	(void)state;
	assert_int_equal(loc_open(&s, "sqlite:", NULL), LOC_ERR_DSN);
	assert_null(s);
	assert_int_equal(loc_open(&s, "memory:x", NULL), LOC_ERR_DSN);
	assert_int_equal(loc_open(&s, "postgres://x", NULL), LOC_ERR_DSN);
	/* A directory that is not there is the operator's to create. */
	assert_int_equal(loc_open(&s, "sqlite:/nonexistent-sipd-dir/loc.db", NULL), LOC_ERR_STORE);
	assert_null(s);
	loc_close(NULL);
}

#define BOTH(t)                                                                                    \
	cmocka_unit_test_setup_teardown(t, setup_memory, teardown),                                \
	        cmocka_unit_test_setup_teardown(t, setup_sqlite, teardown)
#define SQLITE(t) cmocka_unit_test_setup_teardown(t, setup_sqlite, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        BOTH(test_update_lookup_sorted),
	        BOTH(test_max_contacts),
	        BOTH(test_concurrent),
	        BOTH(test_expire),
	        BOTH(test_remove),
	        BOTH(test_iterate_count),
	        BOTH(test_users),
	        BOTH(test_secret),
	        SQLITE(test_sqlite_persistence),
	        SQLITE(test_sqlite_done_after_commit),
	        SQLITE(test_sqlite_fifo_and_close_drains),
	        SQLITE(test_sqlite_kill9),
	        SQLITE(test_sqlite_commit_failure),
	        SQLITE(test_sqlite_second_store),
	        cmocka_unit_test(test_dsn_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
