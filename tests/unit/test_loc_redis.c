/*
 * test_loc_redis.c — the Redis location backend (src/location/redis*.c)
 * against a real redis-server the test starts on a free loopback port:
 * updates and lookups, the loc_apply rules reaching Redis, the key's TTL
 * and Redis expiring a set by itself, two stores on one Redis acting as
 * two sipd nodes (seeing each other's bindings, racing on one AOR without
 * losing a contact), users, the shared secret, database selection, and a
 * Redis that goes away and comes back under an open store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "libsip/log.h"
#include "location/location.h"
#include "location/redis_priv.h"

/* ---- the redis-server under test ---------------------------------------- */

static struct {
	pid_t pid;
	int port;
	char dir[64];
	char dsn[64];
} srv;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* A direct connection for checks behind the store's back (NULL if down). */
static redisContext *direct(int db)
{
	struct timeval tv = {1, 0};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", srv.port, tv);
	if (c && c->err) {
		redisFree(c);
		return NULL;
	}
	if (c && db) {
		redisReply *r = redisCommand(c, "SELECT %d", db);
		if (r)
			freeReplyObject(r);
	}
	return c;
}

static long long direct_int(int db, const char *fmt, const char *arg)
{
	redisContext *c = direct(db);
	long long v = -1000;
	if (!c)
		return v;
	redisReply *r = redisCommand(c, fmt, arg);
	if (r && r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	if (r)
		freeReplyObject(r);
	redisFree(c);
	return v;
}

static bool redis_start(void)
{
	char port[16];
	snprintf(port, sizeof(port), "%d", srv.port);
	pid_t parent = getpid(), pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		/* If the test dies without its teardown (an abort, a
		 * sanitizer report), redis-server must not outlive it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		/* Quiet: redis-server's banner is not the test's output. */
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
		       "--save", "", "--appendonly", "no", "--dir", srv.dir, (char *)NULL);
		_exit(127);
	}
	srv.pid = pid;
	for (int64_t end = mono_ms() + 10000; mono_ms() < end; sleep_ms(20)) {
		redisContext *c = direct(0);
		if (c) {
			redisReply *r = redisCommand(c, "PING");
			bool ok = r && r->type == REDIS_REPLY_STATUS;
			if (r)
				freeReplyObject(r);
			redisFree(c);
			if (ok)
				return true;
		}
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			srv.pid = 0;
			return false;
		}
	}
	return false;
}

static void redis_stop(void)
{
	if (srv.pid > 0) {
		int status;
		kill(srv.pid, SIGTERM);
		waitpid(srv.pid, &status, 0);
		srv.pid = 0;
	}
}

static int group_setup(void **state)
{
	(void)state;
	sip_log_set_level(SIP_LOG_ERROR);
	if (access("/usr/bin/redis-server", X_OK) != 0 &&
	    system("command -v redis-server >/dev/null")) {
		fprintf(stderr,
		        "test_loc_redis: redis-server is not installed; run `make bootstrap` "
		        "(Debian package redis-server)\n");
		return -1;
	}
	snprintf(srv.dir, sizeof(srv.dir), "/tmp/test_loc_redis.XXXXXX");
	if (!mkdtemp(srv.dir) || (srv.port = free_port()) < 0)
		return -1;
	snprintf(srv.dsn, sizeof(srv.dsn), "redis://127.0.0.1:%d", srv.port);
	if (!redis_start()) {
		fprintf(stderr, "test_loc_redis: redis-server did not start on 127.0.0.1:%d\n",
		        srv.port);
		redis_stop();
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	redis_stop();
	/* With --save "" it should have written nothing; remove what it did. */
	DIR *d = opendir(srv.dir);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		char path[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", srv.dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(srv.dir);
	return 0;
}

static int flush(void **state)
{
	(void)state;
	redisContext *c = direct(0);
	if (!c)
		return -1;
	redisReply *r = redisCommand(c, "FLUSHALL");
	bool ok = r && r->type == REDIS_REPLY_STATUS;
	if (r)
		freeReplyObject(r);
	redisFree(c);
	return ok ? 0 : -1;
}

/* ---- waiting for callbacks ------------------------------------------------ */

enum { MAXB = 128 };

/* A copy of what a callback received (valid only during the callback). */
struct got {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int calls;
	int errs; /* callbacks with an error */
	int err;
	size_t n;
	struct {
		char uri[96], params[64], path[96], instance[64], call_id[64], received[64], ua[64],
		        aor[96];
		uint32_t reg_id, cseq;
		int q;
		int64_t expires, updated;
	} b[MAXB];
	char user[64], md5[80], sha256[80];
};

static struct got *got_new(void)
{
	struct got *g = calloc(1, sizeof(*g));
	assert_non_null(g);
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	return g;
}

static void got_free(struct got *g)
{
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	free(g);
}

static void got_reset(struct got *g)
{
	pthread_mutex_lock(&g->mu);
	g->calls = 0;
	g->errs = 0;
	g->err = 0;
	g->n = 0;
	pthread_mutex_unlock(&g->mu);
}

static void cp(char *dst, size_t cap, struct sip_pl pl)
{
	sip_pl_strcpy(dst, cap, pl);
}

static void on_done(void *arg, int err, const struct loc_binding *b, size_t n)
{
	struct got *g = arg;
	pthread_mutex_lock(&g->mu);
	g->err = err;
	g->errs += err != 0;
	g->n = n;
	for (size_t i = 0; i < n && i < MAXB; i++) {
		cp(g->b[i].uri, sizeof(g->b[i].uri), b[i].uri);
		cp(g->b[i].params, sizeof(g->b[i].params), b[i].params);
		cp(g->b[i].path, sizeof(g->b[i].path), b[i].path);
		cp(g->b[i].instance, sizeof(g->b[i].instance), b[i].instance);
		cp(g->b[i].call_id, sizeof(g->b[i].call_id), b[i].call_id);
		cp(g->b[i].received, sizeof(g->b[i].received), b[i].received);
		cp(g->b[i].ua, sizeof(g->b[i].ua), b[i].user_agent);
		cp(g->b[i].aor, sizeof(g->b[i].aor), b[i].aor);
		g->b[i].reg_id = b[i].reg_id;
		g->b[i].cseq = b[i].cseq;
		g->b[i].q = b[i].q;
		g->b[i].expires = b[i].expires;
		g->b[i].updated = b[i].updated;
	}
	g->calls++;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void on_user(void *arg, int err, const struct loc_user *u)
{
	struct got *g = arg;
	pthread_mutex_lock(&g->mu);
	g->err = err;
	g->user[0] = g->md5[0] = g->sha256[0] = '\0';
	if (u) {
		cp(g->user, sizeof(g->user), u->user);
		cp(g->md5, sizeof(g->md5), u->ha1_md5);
		cp(g->sha256, sizeof(g->sha256), u->ha1_sha256);
	}
	g->calls++;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

/* Waits until `calls` callbacks came (at most ms); returns how many did. */
static int got_wait(struct got *g, int calls, long ms)
{
	int64_t end = mono_ms() + ms;
	pthread_mutex_lock(&g->mu);
	while (g->calls < calls && mono_ms() < end) {
		pthread_mutex_unlock(&g->mu);
		sleep_ms(2);
		pthread_mutex_lock(&g->mu);
	}
	int n = g->calls;
	pthread_mutex_unlock(&g->mu);
	return n;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static struct loc_contact ct(const char *uri, int q, uint32_t expires)
{
	struct loc_contact c = {.uri = sip_pl_cstr(uri), .q = q, .expires = expires};
	return c;
}

/* The callback's error once it came; the call's own error when it
 * refused; NO_CALLBACK when none came within 5 s. No assertion inside, so
 * the helpers also serve while stderr is captured. */
enum { NO_CALLBACK = 9999 };

static int finish(struct got *g, int rc)
{
	if (rc)
		return rc;
	return got_wait(g, 1, 5000) == 1 ? g->err : NO_CALLBACK;
}

/* An update, waited for. */
static int update(struct loc_store *s, struct got *g, const char *aor, const char *call_id,
                  uint32_t cseq, const struct loc_contact *c, size_t nc, bool remove_all)
{
	struct loc_update u = {.aor = sip_pl_cstr(aor),
	                       .call_id = sip_pl_cstr(call_id),
	                       .cseq = cseq,
	                       .remove_all = remove_all,
	                       .contacts = c,
	                       .ncontacts = nc,
	                       .received = SIP_PL("udp:192.0.2.1:5060"),
	                       .now = now_s()};
	got_reset(g);
	return finish(g, loc_update(s, &u, on_done, g));
}

static int lookup_at(struct loc_store *s, struct got *g, const char *aor, int64_t now)
{
	got_reset(g);
	return finish(g, loc_lookup(s, sip_pl_cstr(aor), now, on_done, g));
}

static int lookup(struct loc_store *s, struct got *g, const char *aor)
{
	return lookup_at(s, g, aor, now_s());
}

static struct loc_store *open_store(const char *dsn, size_t max_contacts)
{
	struct loc_cfg cfg;
	struct loc_store *s = NULL;
	loc_cfg_default(&cfg);
	cfg.max_contacts = max_contacts;
	cfg.redis_retry_ms = 100;
	assert_int_equal(loc_open(&s, dsn, &cfg), 0);
	assert_string_equal(loc_backend(s), "redis");
	return s;
}

#define AOR "sip:alice@example.com"
#define KEY "sipd:aor:" AOR

/* ---- bindings ------------------------------------------------------------- */

static void test_update_lookup(void **state)
{
	(void)state;
	struct loc_store *s = open_store(srv.dsn, 16);
	struct got *g = got_new();
	struct loc_contact c[3] = {ct("sip:a@192.0.2.1", 500, 600),
	                           ct("sip:b@192.0.2.2", 1000, 600),
	                           ct("sip:c@192.0.2.3", 100, 600)};
	/* Every field survives the trip through Redis. */
	c[1].params = SIP_PL(";transport=tcp;+sip.x");
	c[1].instance = SIP_PL("\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"");
	c[1].reg_id = 7;
	struct loc_update u = {.aor = SIP_PL(AOR),
	                       .call_id = SIP_PL("cid-1@host"),
	                       .cseq = 10,
	                       .contacts = c,
	                       .ncontacts = 3,
	                       .path = SIP_PL("<sip:edge.example.com;lr>"),
	                       .received = SIP_PL("tcp:192.0.2.9:5070"),
	                       .user_agent = SIP_PL("test-ua/1.0"),
	                       .now = now_s()};

	assert_int_equal(loc_update(s, &u, on_done, g), 0);
	assert_int_equal(got_wait(g, 1, 5000), 1);
	assert_int_equal(g->err, 0);
	assert_int_equal(g->n, 3);
	assert_string_equal(g->b[0].uri, "sip:b@192.0.2.2");

	assert_int_equal(lookup(s, g, AOR), 0);
	assert_int_equal(g->n, 3);
	/* q highest first. */
	assert_string_equal(g->b[0].uri, "sip:b@192.0.2.2");
	assert_string_equal(g->b[1].uri, "sip:a@192.0.2.1");
	assert_string_equal(g->b[2].uri, "sip:c@192.0.2.3");
	assert_int_equal(g->b[0].q, 1000);
	assert_int_equal(g->b[2].q, 100);
	assert_string_equal(g->b[0].aor, AOR);
	assert_string_equal(g->b[0].params, ";transport=tcp;+sip.x");
	assert_string_equal(g->b[0].instance,
	                    "\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"");
	assert_int_equal(g->b[0].reg_id, 7);
	assert_string_equal(g->b[0].path, "<sip:edge.example.com;lr>");
	assert_string_equal(g->b[0].call_id, "cid-1@host");
	assert_int_equal(g->b[0].cseq, 10);
	assert_string_equal(g->b[0].received, "tcp:192.0.2.9:5070");
	assert_string_equal(g->b[0].ua, "test-ua/1.0");
	assert_int_equal(g->b[0].expires, u.now + 600);
	assert_int_equal(g->b[0].updated, u.now);
	assert_string_equal(g->b[1].params, "");
	assert_int_equal(g->b[1].reg_id, 0);

	/* A contact without q ranks as 1.0, before q=0.5. */
	struct loc_contact noq = ct("sip:d@192.0.2.4", -1, 600);
	assert_int_equal(update(s, g, AOR, "cid-2", 1, &noq, 1, false), 0);
	assert_int_equal(g->n, 4);
	assert_int_equal(g->b[2].q, 500);
	assert_true(g->b[0].q == -1 || g->b[1].q == -1);

	/* Readers leave out what expired; an unknown AOR has nothing. */
	assert_int_equal(lookup_at(s, g, AOR, u.now + 601), 0);
	assert_int_equal(g->n, 0);
	assert_int_equal(lookup(s, g, "sip:nobody@example.com"), 0);
	assert_int_equal(g->n, 0);
	/* A REGISTER without contacts is a query. */
	assert_int_equal(update(s, g, AOR, "cid-3", 1, NULL, 0, false), 0);
	assert_int_equal(g->n, 4);

	got_free(g);
	loc_close(s);
}

static void test_rules(void **state)
{
	(void)state;
	struct loc_store *s = open_store(srv.dsn, 3);
	struct got *g = got_new();
	struct loc_contact a = ct("sip:a@example.net", -1, 600), b = ct("sip:b@192.0.2.2", -1, 600);

	assert_int_equal(update(s, g, AOR, "cid-1", 5, &a, 1, false), 0);
	assert_int_equal(update(s, g, AOR, "cid-1", 6, &b, 1, false), 0);
	assert_int_equal(g->n, 2);
	/* Same Call-ID, CSeq not higher: all or nothing (§10.3 step 7). */
	struct loc_contact both[2] = {ct("sip:c@192.0.2.3", -1, 600), a};
	assert_int_equal(update(s, g, AOR, "cid-1", 5, both, 2, false), LOC_ERR_ORDER);
	assert_int_equal(g->n, 0);
	assert_int_equal(lookup(s, g, AOR), 0);
	assert_int_equal(g->n, 2);
	/* Over max_contacts (3). */
	struct loc_contact more[2] = {ct("sip:c@192.0.2.3", -1, 600),
	                              ct("sip:d@192.0.2.4", -1, 600)};
	assert_int_equal(update(s, g, AOR, "cid-2", 1, more, 2, false), LOC_ERR_TOO_MANY);
	/* Expires 0 removes one binding (URI equality of §19.1.4). */
	struct loc_contact rm = ct("sip:a@EXAMPLE.net", -1, 0);
	assert_int_equal(update(s, g, AOR, "cid-1", 7, &rm, 1, false), 0);
	assert_int_equal(g->n, 1);
	assert_string_equal(g->b[0].uri, "sip:b@192.0.2.2");
	assert_int_equal(lookup(s, g, AOR), 0);
	assert_int_equal(g->n, 1);
	/* Contact: * with a stale CSeq of the same Call-ID fails... */
	assert_int_equal(update(s, g, AOR, "cid-1", 6, NULL, 0, true), LOC_ERR_ORDER);
	assert_int_equal(direct_int(0, "EXISTS %s", KEY), 1);
	/* ...and with a fresh one empties the set: the key is gone. */
	assert_int_equal(update(s, g, AOR, "cid-1", 8, NULL, 0, true), 0);
	assert_int_equal(g->n, 0);
	assert_int_equal(direct_int(0, "EXISTS %s", KEY), 0);

	got_free(g);
	loc_close(s);
}

static void test_ttl(void **state)
{
	(void)state;
	struct loc_store *s = open_store(srv.dsn, 16);
	struct got *g = got_new();
	struct loc_contact c[2] = {ct("sip:a@192.0.2.1", -1, 60), ct("sip:b@192.0.2.2", -1, 3600)};

	assert_int_equal(update(s, g, AOR, "cid-1", 1, c, 2, false), 0);
	/* The key lives as long as its latest binding. */
	long long ttl = direct_int(0, "TTL %s", KEY);
	assert_in_range(ttl, 3597, 3600);
	/* Dropping that binding shortens it. */
	c[1].expires = 0;
	assert_int_equal(update(s, g, AOR, "cid-1", 2, &c[1], 1, false), 0);
	ttl = direct_int(0, "TTL %s", KEY);
	assert_in_range(ttl, 57, 60);

	got_free(g);
	loc_close(s);
}

static void test_corrupt_value(void **state)
{
	(void)state;
	struct loc_store *s = open_store(srv.dsn, 16);
	struct got *g = got_new();
	redisContext *c = direct(0);
	assert_non_null(c);
	/* Empty; no count; a count with nothing; another version; a string
	 * running past the end; trailing bytes. */
	static const struct {
		const char *p;
		size_t len;
	} junk[] = {{"", 0},         {"\x01", 1},         {"\x01\x05", 2},
	            {"\x02\x00", 2}, {"\x01\x01\x7f", 3}, {"\x01\x00x", 3}};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		redisReply *r = redisCommand(c, "SET %s %b", KEY, junk[i].p, junk[i].len);
		freeReplyObject(r);
		/* A value we cannot read fails the operation; it never crashes
		 * or reads past the value. */
		assert_int_equal(lookup(s, g, AOR), LOC_ERR_STORE);
		struct loc_contact a = ct("sip:a@192.0.2.1", -1, 60);
		assert_int_equal(update(s, g, AOR, "cid", 1, &a, 1, false), LOC_ERR_STORE);
	}
	redisFree(c);
	got_free(g);
	loc_close(s);
}

/* The stored form on its own: every field round-trips (empty and
 * extreme values too), and no truncation or byte flip of a valid value
 * makes the decoder read past it (ASan) or accept a torn set. */
static void test_codec(void **state)
{
	(void)state;
	struct loc_binding b[3] = {
	        {.uri = SIP_PL("sip:a@192.0.2.1"),
	         .params = SIP_PL(";x=1"),
	         .path = SIP_PL("<sip:p1;lr>,<sip:p2;lr>"),
	         .instance = SIP_PL("\"<urn:uuid:1>\""),
	         .call_id = SIP_PL("c"),
	         .received = SIP_PL("udp:192.0.2.1:5060"),
	         .user_agent = SIP_PL("ua"),
	         .reg_id = UINT32_MAX,
	         .cseq = UINT32_MAX,
	         .q = 1000,
	         .expires = INT64_MAX,
	         .updated = -5},
	        {.uri = SIP_PL("sip:b@h"), .q = -1, .expires = 1, .updated = 0},
	        {.uri = SIP_PL("sip:c@h"), .q = 0, .expires = 1700000000, .updated = 1699999000},
	};
	size_t size = rds_encoded_size(b, 3);
	char *buf = malloc(size);
	assert_non_null(buf);
	assert_int_equal(rds_encode(b, 3, buf), size);

	struct loc_binding *d = NULL;
	size_t n = 0;
	assert_int_equal(rds_decode(buf, size, SIP_PL(AOR), &d, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_true(sip_pl_eq(d[i].aor, SIP_PL(AOR)));
		assert_true(sip_pl_eq(d[i].uri, b[i].uri));
		assert_true(sip_pl_eq(d[i].params, b[i].params));
		assert_true(sip_pl_eq(d[i].path, b[i].path));
		assert_true(sip_pl_eq(d[i].instance, b[i].instance));
		assert_true(sip_pl_eq(d[i].call_id, b[i].call_id));
		assert_true(sip_pl_eq(d[i].received, b[i].received));
		assert_true(sip_pl_eq(d[i].user_agent, b[i].user_agent));
		assert_int_equal(d[i].reg_id, b[i].reg_id);
		assert_int_equal(d[i].cseq, b[i].cseq);
		assert_int_equal(d[i].q, b[i].q);
		assert_true(d[i].expires == b[i].expires);
		assert_true(d[i].updated == b[i].updated);
	}
	free(d);

	for (size_t len = 0; len < size; len++) {
		char *cut = malloc(len ? len : 1); /* exact size: ASan sees overreads */
		assert_non_null(cut);
		memcpy(cut, buf, len);
		assert_int_equal(rds_decode(cut, len, SIP_PL(AOR), &d, &n), LOC_ERR_STORE);
		assert_null(d);
		free(cut);
	}
	char *flip = malloc(size);
	assert_non_null(flip);
	for (size_t i = 0; i < size; i++) {
		for (unsigned x = 1; x < 256; x <<= 1) {
			memcpy(flip, buf, size);
			flip[i] = (char)(flip[i] ^ x);
			int err = rds_decode(flip, size, SIP_PL(AOR), &d, &n);
			assert_true(err == 0 || err == LOC_ERR_STORE);
			assert_true(err == 0 || (d == NULL && n == 0));
			free(d);
		}
	}
	free(flip);
	free(buf);

	/* An empty set has a form too (never stored: the key is deleted). */
	char empty[2];
	assert_int_equal(rds_encode(NULL, 0, empty), 2);
	assert_int_equal(rds_decode(empty, 2, SIP_PL(AOR), &d, &n), 0);
	assert_int_equal(n, 0);
}

/* ---- two nodes on one Redis ---------------------------------------------- */

static void test_short_expiry(void **state)
{
	(void)state;
	struct loc_store *a = open_store(srv.dsn, 16), *b = open_store(srv.dsn, 16);
	struct got *g = got_new();
	struct loc_contact c = ct("sip:a@192.0.2.1", -1, 2);

	assert_int_equal(update(a, g, AOR, "cid-1", 1, &c, 1, false), 0);
	assert_int_equal(lookup(b, g, AOR), 0);
	assert_int_equal(g->n, 1);
	/* Nobody sweeps: Redis drops the key at its EXPIREAT. */
	assert_int_equal(loc_expire(a, now_s() + 10), 0);
	assert_int_equal(loc_expire(b, now_s() + 10), 0);
	int64_t end = mono_ms() + 6000;
	while (direct_int(0, "EXISTS %s", KEY) != 0 && mono_ms() < end)
		sleep_ms(100);
	assert_int_equal(direct_int(0, "EXISTS %s", KEY), 0);
	assert_int_equal(lookup(b, g, AOR), 0);
	assert_int_equal(g->n, 0);

	got_free(g);
	loc_close(a);
	loc_close(b);
}

static void test_two_nodes(void **state)
{
	(void)state;
	struct loc_store *a = open_store(srv.dsn, 16), *b = open_store(srv.dsn, 16);
	struct got *g = got_new();
	struct loc_contact c[2] = {ct("sip:a@192.0.2.1", -1, 600), ct("sip:b@192.0.2.2", -1, 600)};

	assert_int_equal(update(a, g, AOR, "cid-a", 1, &c[0], 1, false), 0);
	assert_int_equal(update(b, g, AOR, "cid-b", 1, &c[1], 1, false), 0);
	assert_int_equal(g->n, 2);
	assert_int_equal(lookup(a, g, AOR), 0);
	assert_int_equal(g->n, 2);
	/* A removal at one node is seen at the other. */
	assert_int_equal(loc_remove(b, SIP_PL(AOR), SIP_PL("sip:a@192.0.2.1")), 0);
	assert_int_equal(loc_remove(b, SIP_PL(AOR), SIP_PL("sip:a@192.0.2.1")), SIP_ERR_NOT_FOUND);
	assert_int_equal(lookup(a, g, AOR), 0);
	assert_int_equal(g->n, 1);
	assert_string_equal(g->b[0].uri, "sip:b@192.0.2.2");
	c[1].expires = 0;
	assert_int_equal(update(a, g, AOR, "cid-a", 2, &c[1], 1, false), 0);
	assert_int_equal(lookup(b, g, AOR), 0);
	assert_int_equal(g->n, 0);
	assert_int_equal(loc_remove(b, SIP_PL(AOR), SIP_PL("sip:b@192.0.2.2")), SIP_ERR_NOT_FOUND);

	got_free(g);
	loc_close(a);
	loc_close(b);
}

enum { RACE_N = 100 };

static void test_concurrent(void **state)
{
	(void)state;
	struct loc_store *node[2] = {open_store(srv.dsn, 0), open_store(srv.dsn, 0)};
	struct got *g[2] = {got_new(), got_new()};
	static char uris[2][RACE_N][48], cids[2][RACE_N][32];
	struct loc_contact c[2][RACE_N];
	int64_t now = now_s();

	/* Both nodes fire all their updates of one AOR at once: every lost
	 * WATCH race must be re-run, never dropped or overwritten. */
	for (int k = 0; k < RACE_N; k++) {
		for (int n = 0; n < 2; n++) {
			snprintf(uris[n][k], sizeof(uris[n][k]), "sip:u%d-%d@192.0.2.%d", n, k, k);
			snprintf(cids[n][k], sizeof(cids[n][k]), "cid-%d-%d", n, k);
			c[n][k] = ct(uris[n][k], -1, 600);
			struct loc_update u = {.aor = SIP_PL(AOR),
			                       .call_id = sip_pl_cstr(cids[n][k]),
			                       .cseq = 1,
			                       .contacts = &c[n][k],
			                       .ncontacts = 1,
			                       .now = now};
			assert_int_equal(loc_update(node[n], &u, on_done, g[n]), 0);
		}
	}
	assert_int_equal(got_wait(g[0], RACE_N, 20000), RACE_N);
	assert_int_equal(got_wait(g[1], RACE_N, 20000), RACE_N);
	assert_int_equal(g[0]->errs, 0);
	assert_int_equal(g[1]->errs, 0);
	assert_int_equal(lookup(node[1], g[1], AOR), 0);
	assert_int_equal(g[1]->n, 2 * RACE_N);
	size_t aors = 0, bindings = 0;
	assert_int_equal(loc_count(node[0], now_s(), &aors, &bindings), 0);
	assert_int_equal(aors, 1);
	assert_int_equal(bindings, 2 * RACE_N);

	for (int n = 0; n < 2; n++) {
		got_free(g[n]);
		loc_close(node[n]);
	}
}

struct walk {
	int calls;
	char aor[4][64];
	size_t n[4];
	int first_q[4];
};

static int on_aor(void *arg, struct sip_pl aor, const struct loc_binding *b, size_t n)
{
	struct walk *w = arg;
	if (w->calls < 4) {
		sip_pl_strcpy(w->aor[w->calls], sizeof(w->aor[0]), aor);
		w->n[w->calls] = n;
		w->first_q[w->calls] = b[0].q;
	}
	return ++w->calls == 2 && n == 99 ? 1 : 0;
}

static int stop_at_first(void *arg, struct sip_pl aor, const struct loc_binding *b, size_t n)
{
	(void)aor;
	(void)b;
	(void)n;
	++*(int *)arg;
	return 42;
}

static void test_iterate_count(void **state)
{
	(void)state;
	struct loc_store *s = open_store(srv.dsn, 16);
	struct got *g = got_new();
	struct loc_contact c[2] = {ct("sip:a@192.0.2.1", 300, 600), ct("sip:b@192.0.2.2", 900, 5)};

	assert_int_equal(update(s, g, "sip:carol@example.com", "c1", 1, c, 2, false), 0);
	assert_int_equal(update(s, g, "sip:bob@example.com", "c2", 1, &c[0], 1, false), 0);
	assert_int_equal(update(s, g, "sip:dave@example.com", "c3", 1, &c[1], 1, false), 0);

	struct walk w = {0};
	assert_int_equal(loc_iterate(s, now_s(), on_aor, &w), 0);
	assert_int_equal(w.calls, 3);
	assert_string_equal(w.aor[0], "sip:bob@example.com");
	assert_string_equal(w.aor[1], "sip:carol@example.com");
	assert_int_equal(w.n[1], 2);
	assert_int_equal(w.first_q[1], 900);
	size_t aors, bindings;
	assert_int_equal(loc_count(s, now_s(), &aors, &bindings), 0);
	assert_int_equal(aors, 3);
	assert_int_equal(bindings, 4);
	/* At a later time the short bindings are not live any more. */
	assert_int_equal(loc_count(s, now_s() + 10, &aors, &bindings), 0);
	assert_int_equal(aors, 2);
	assert_int_equal(bindings, 2);
	int calls = 0;
	assert_int_equal(loc_iterate(s, now_s(), stop_at_first, &calls), 42);
	assert_int_equal(calls, 1);

	assert_int_equal(loc_remove_all(s, SIP_PL("sip:carol@example.com")), 0);
	assert_int_equal(loc_remove_all(s, SIP_PL("sip:carol@example.com")), SIP_ERR_NOT_FOUND);
	assert_int_equal(loc_count(s, now_s(), &aors, &bindings), 0);
	assert_int_equal(aors, 2);

	got_free(g);
	loc_close(s);
}

/* ---- users and the secret --------------------------------------------------- */

static struct loc_user user(const char *name, const char *domain, const char *md5)
{
	struct loc_user u = {.user = sip_pl_cstr(name),
	                     .domain = sip_pl_cstr(domain),
	                     .ha1_md5 = sip_pl_cstr(md5),
	                     .ha1_sha256 = SIP_PL("5e884898da28047151d0e56f8dc6292773603d0d6aabbdd6"
	                                          "2a11ef721d1542d8"),
	                     .ha1_sha512_256 = SIP_PL("")};
	return u;
}

struct ulist {
	int n;
	char name[8][64];
};

static int on_each_user(void *arg, const struct loc_user *u)
{
	struct ulist *l = arg;
	if (l->n < 8) {
		char d[32], n[32];
		sip_pl_strcpy(d, sizeof(d), u->domain);
		sip_pl_strcpy(n, sizeof(n), u->user);
		snprintf(l->name[l->n], sizeof(l->name[0]), "%s/%s", d, n);
	}
	l->n++;
	return 0;
}

static int user_get(struct loc_store *s, struct got *g, const char *name, const char *domain)
{
	got_reset(g);
	return finish(g, loc_user_get(s, sip_pl_cstr(name), sip_pl_cstr(domain), on_user, g));
}

static void test_users(void **state)
{
	(void)state;
	struct loc_store *a = open_store(srv.dsn, 16), *b = open_store(srv.dsn, 16);
	struct got *g = got_new();
	struct loc_user u[3] = {user("bob", "example.com", "11111111111111111111111111111111"),
	                        user("alice", "example.com", "22222222222222222222222222222222"),
	                        user("carol", "a.org", "33333333333333333333333333333333")};

	for (int i = 0; i < 3; i++)
		assert_int_equal(loc_user_put(a, &u[i]), 0);
	/* The other node sees them without a restart. */
	assert_int_equal(user_get(b, g, "alice", "example.com"), 0);
	assert_string_equal(g->user, "alice");
	assert_string_equal(g->md5, "22222222222222222222222222222222");
	assert_int_equal(strlen(g->sha256), 64);
	assert_int_equal(user_get(b, g, "alice", "example.org"), SIP_ERR_NOT_FOUND);

	struct ulist l = {0};
	assert_int_equal(loc_user_iterate(b, on_each_user, &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.name[0], "a.org/carol");
	assert_string_equal(l.name[1], "example.com/alice");
	assert_string_equal(l.name[2], "example.com/bob");

	/* A new password replaces the whole user. */
	struct loc_user re = user("alice", "example.com", "44444444444444444444444444444444");
	re.ha1_sha256 = SIP_PL("");
	assert_int_equal(loc_user_put(b, &re), 0);
	assert_int_equal(user_get(a, g, "alice", "example.com"), 0);
	assert_string_equal(g->md5, "44444444444444444444444444444444");
	assert_string_equal(g->sha256, "");

	assert_int_equal(loc_user_del(a, SIP_PL("bob"), SIP_PL("example.com")), 0);
	assert_int_equal(loc_user_del(b, SIP_PL("bob"), SIP_PL("example.com")), SIP_ERR_NOT_FOUND);
	assert_int_equal(user_get(b, g, "bob", "example.com"), SIP_ERR_NOT_FOUND);
	l.n = 0;
	assert_int_equal(loc_user_iterate(a, on_each_user, &l), 0);
	assert_int_equal(l.n, 2);

	got_free(g);
	loc_close(a);
	loc_close(b);
}

static void test_secret(void **state)
{
	(void)state;
	struct loc_store *a = open_store(srv.dsn, 16), *b = open_store(srv.dsn, 16);
	uint8_t sa[32], sb[32], again[32], zero[32] = {0};

	assert_int_equal(loc_secret(b, sb), 0);
	assert_int_equal(loc_secret(a, sa), 0);
	assert_int_equal(loc_secret(a, again), 0);
	assert_memory_equal(sa, sb, 32);
	assert_memory_equal(sa, again, 32);
	assert_memory_not_equal(sa, zero, 32);
	loc_close(a);
	loc_close(b);
}

/* ---- DSNs and databases ------------------------------------------------------ */

static void test_dsn_db(void **state)
{
	(void)state;
	struct loc_store *s = NULL;
	static const char *const bad[] = {"redis://",      "redis://:6379",   "redis://h:0",
	                                  "redis://h:x",   "redis://h:70000", "redis://h:1/x",
	                                  "redis://h:1/",  "redis://[::1",    "redis://[]:1",
	                                  "redis://u@h:1", "redis://h:1/2/3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(loc_open(&s, bad[i], NULL), LOC_ERR_DSN);
	char dsn[96];
	snprintf(dsn, sizeof(dsn), "%s/100000", srv.dsn);
	assert_int_equal(loc_open(&s, dsn, NULL), LOC_ERR_DSN); /* Redis has 16 databases */

	snprintf(dsn, sizeof(dsn), "%s/3", srv.dsn);
	struct loc_store *three = open_store(dsn, 16), *zero = open_store(srv.dsn, 16);
	struct got *g = got_new();
	struct loc_contact c = ct("sip:a@192.0.2.1", -1, 600);
	assert_int_equal(update(three, g, AOR, "cid", 1, &c, 1, false), 0);
	assert_int_equal(lookup(zero, g, AOR), 0);
	assert_int_equal(g->n, 0);
	assert_int_equal(lookup(three, g, AOR), 0);
	assert_int_equal(g->n, 1);
	assert_int_equal(direct_int(3, "EXISTS %s", KEY), 1);
	assert_int_equal(direct_int(0, "EXISTS %s", KEY), 0);
	loc_close(three);
	loc_close(zero);

	/* A name and an IPv6 literal parse; a Redis that is not there is no
	 * error at open, only for the operations. */
	snprintf(dsn, sizeof(dsn), "redis://localhost:%d", srv.port);
	s = open_store(dsn, 16);
	assert_int_equal(lookup(s, g, AOR), 0);
	loc_close(s);
	int dead = free_port();
	snprintf(dsn, sizeof(dsn), "redis://[::1]:%d/2", dead);
	s = open_store(dsn, 16);
	struct loc_contact d = ct("sip:a@192.0.2.1", -1, 60);
	assert_int_equal(update(s, g, AOR, "cid", 1, &d, 1, false), LOC_ERR_STORE);
	assert_int_equal(
	        loc_user_put(s, &(struct loc_user){.user = SIP_PL("x"), .domain = SIP_PL("y")}),
	        LOC_ERR_STORE);
	loc_close(s);
	got_free(g);
}

/* ---- losing Redis ---------------------------------------------------------- */

static void test_close_drains(void **state)
{
	(void)state;
	struct loc_store *s = open_store(srv.dsn, 0);
	struct got *g = got_new();
	static char uris[64][40];
	struct loc_contact c[64];

	/* loc_close runs every pending callback before it returns. */
	for (int i = 0; i < 64; i++) {
		snprintf(uris[i], sizeof(uris[i]), "sip:d%d@192.0.2.1", i);
		c[i] = ct(uris[i], -1, 600);
		struct loc_update u = {.aor = i % 2 ? SIP_PL(AOR) : SIP_PL("sip:bob@example.com"),
		                       .call_id = SIP_PL("cid"),
		                       .cseq = (uint32_t)i + 1,
		                       .contacts = &c[i],
		                       .ncontacts = 1,
		                       .now = now_s()};
		assert_int_equal(loc_update(s, &u, on_done, g), 0);
	}
	loc_close(s);
	assert_int_equal(g->calls, 64);
	assert_int_equal(g->errs, 0);
	got_free(g);
}

/* Catches what the store logs (stderr) over a stretch of the test. No
 * assertion may run meanwhile: cmocka's messages would be caught too. */
struct capture {
	int saved;
	char path[96];
};

static void capture_start(struct capture *cap)
{
	snprintf(cap->path, sizeof(cap->path), "%s/log", srv.dir);
	fflush(stderr);
	int fd = open(cap->path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	cap->saved = dup(2);
	if (fd >= 0) {
		dup2(fd, 2);
		close(fd);
	}
}

static void capture_end(struct capture *cap, char *text, size_t cap_len)
{
	fflush(stderr);
	dup2(cap->saved, 2);
	close(cap->saved);
	FILE *f = fopen(cap->path, "r");
	size_t n = f ? fread(text, 1, cap_len - 1, f) : 0;
	if (f)
		fclose(f);
	unlink(cap->path);
	text[n] = '\0';
	fputs(text, stderr); /* still shown */
}

static int count_of(const char *text, const char *needle)
{
	int count = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		count++;
	return count;
}

static void test_outage(void **state)
{
	(void)state;
	struct loc_store *s = open_store(srv.dsn, 16);
	struct got *g = got_new();
	struct loc_contact c = ct("sip:a@192.0.2.1", -1, 600);
	struct loc_user u = user("alice", "example.com", "22222222222222222222222222222222");
	uint8_t secret[32];
	size_t aors, bindings;
	struct capture cap;
	int err[12], n = 0;

	assert_int_equal(update(s, g, AOR, "cid", 1, &c, 1, false), 0);
	assert_int_equal(loc_user_put(s, &u), 0);

	/* Redis goes away: operations fail promptly (500 + Retry-After),
	 * they do not hang. SIGPIPE stays at its default here: a write to
	 * the dead connection must not kill the process. */
	sip_log_set_level(SIP_LOG_INFO);
	capture_start(&cap);
	redis_stop();
	int64_t t0 = mono_ms();
	err[n++] = update(s, g, AOR, "cid", 2, &c, 1, false);
	err[n++] = lookup(s, g, AOR);
	err[n++] = user_get(s, g, "alice", "example.com");
	err[n++] = loc_user_put(s, &u);
	err[n++] = loc_secret(s, secret);
	err[n++] = loc_count(s, now_s(), &aors, &bindings);
	for (int i = 0; i < 20; i++)
		err[n] = lookup(s, g, i % 2 ? AOR : "sip:bob@example.com");
	n++;
	int64_t took = mono_ms() - t0;

	/* It comes back (empty: it saved nothing): the same store works
	 * again, without being reopened. */
	bool started = redis_start();
	int back = -1;
	for (int64_t end = mono_ms() + 5000; started && back && mono_ms() < end; sleep_ms(50))
		back = update(s, g, AOR, "cid", 3, &c, 1, false);
	char log[8192];
	capture_end(&cap, log, sizeof(log));
	sip_log_set_level(SIP_LOG_ERROR);

	for (int i = 0; i < n; i++)
		assert_int_equal(err[i], LOC_ERR_STORE);
	assert_in_range(took, 0, 3000);
	assert_true(started);
	assert_int_equal(back, 0);
	/* One line when lost and one when back, not one per request. */
	assert_int_equal(count_of(log, "unreachable"), 1);
	char back_line[64]; /* not "until it is back" of the other line */
	snprintf(back_line, sizeof(back_line), ":%d is back", srv.port);
	assert_int_equal(count_of(log, back_line), 1);
	assert_int_equal(g->n, 1);
	assert_int_equal(lookup(s, g, AOR), 0);
	assert_int_equal(g->n, 1);
	assert_int_equal(loc_user_put(s, &u), 0);
	assert_int_equal(user_get(s, g, "alice", "example.com"), 0);

	got_free(g);
	loc_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_update_lookup, flush),
	        cmocka_unit_test_setup(test_rules, flush),
	        cmocka_unit_test_setup(test_ttl, flush),
	        cmocka_unit_test_setup(test_corrupt_value, flush),
	        cmocka_unit_test(test_codec),
	        cmocka_unit_test_setup(test_short_expiry, flush),
	        cmocka_unit_test_setup(test_two_nodes, flush),
	        cmocka_unit_test_setup(test_concurrent, flush),
	        cmocka_unit_test_setup(test_iterate_count, flush),
	        cmocka_unit_test_setup(test_users, flush),
	        cmocka_unit_test_setup(test_secret, flush),
	        cmocka_unit_test_setup(test_dsn_db, flush),
	        cmocka_unit_test_setup(test_close_drains, flush),
	        cmocka_unit_test_setup(test_outage, flush),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
