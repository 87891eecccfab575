/*
 * test_tsx_threads.c — the transaction layer (src/transaction, RFC 3261
 * §17) under several worker threads at once, as sipd runs it: a smoke
 * test for the sanitizer build (ASan/UBSan; gcc's TSan catches an
 * unlocked transaction with it when built by hand), with counts that
 * catch lost or doubled end reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>

#include <cmocka.h>

#include "libsip/build.h"
#include "libsip/hdr.h"
#include "libsip/tsx.h"
#include "tsx_util.h"

/* Several workers hammer one layer. Each receives its own requests (and
 * their retransmissions), answers them from the request callback, starts
 * client transactions and feeds them their responses, and ticks its share
 * of the shards. Two transactions are shared by all workers, so effects
 * for one transaction run on several threads at once: an INVITE whose 486
 * every worker's retransmission sends again, and a client INVITE every
 * worker feeds a provisional response. Run under ASan/UBSan (and, built by
 * hand, gcc's TSan), this catches lost references and unlocked state; the
 * counts catch lost or doubled end reports. */
enum { MT_THREADS = 4, MT_ROUNDS = 1500 };

struct mt {
	struct tsx_layer *l;
	atomic_ullong clock;
	atomic_size_t requests, done, ends, provisionals, late;
	atomic_bool ended_shared; /* the shared client INVITE's end came */
	pthread_barrier_t go;
};

struct mt_worker {
	struct mt *mt;
	unsigned idx;
	struct sip_arena *a;
};

static int mt_send(void *arg, const struct tsx_peer *to, const char *buf, size_t len)
{
	(void)arg;
	(void)to;
	(void)buf;
	(void)len;
	return 0;
}

static void mt_request(void *arg, struct tsx *st, const struct sip_msg *req,
                       const struct tsx_peer *from)
{
	struct mt *mt = arg;
	char buf[1024];
	struct sip_wbuf w;
	int n, status = sip_msg_method(req) == SIP_METHOD_INVITE ? 486 : 200;

	(void)from;
	atomic_fetch_add(&mt->requests, 1);
	sip_wbuf_init(&w, buf, sizeof(buf));
	sip_build_response(&w, req, status, SIP_PL_NULL, SIP_PL("mt"));
	n = sip_build_finish(&w, SIP_PL_NULL, SIP_PL_NULL);
	if (n < 0 || tsx_respond(st, status, buf, (size_t)n) != 0)
		abort(); /* no cmocka asserts off the main thread */
}

static void mt_done(void *arg, struct tsx *st, int reason)
{
	(void)st;
	if (reason != 0)
		abort();
	atomic_fetch_add(&((struct mt *)arg)->done, 1);
}

static void mt_resp(struct tsx *ct, const struct sip_msg *resp, int status, void *arg)
{
	struct mt *mt = arg;

	(void)ct;
	if (resp && status < 200 && atomic_load(&mt->ended_shared))
		atomic_fetch_add(&mt->late, 1); /* a callback after the end: a bug */
	if (resp && status < 200)
		atomic_fetch_add(&mt->provisionals, 1);
	if (!resp && status == 0)
		atomic_fetch_add(&mt->ends, 1);
}

/* The shared client INVITE's callback remembers its end. */
static void mt_shared_resp(struct tsx *ct, const struct sip_msg *resp, int status, void *arg)
{
	struct mt *mt = arg;

	mt_resp(ct, resp, status, arg);
	if (!resp && status == 0)
		atomic_store(&mt->ended_shared, true);
}

/* Parses text in the worker's arena and hands it to the layer. */
static void mt_recv(struct sip_arena *a, struct tsx_layer *l, const char *text, size_t len)
{
	struct sip_msg *m;
	struct tsx_peer p = test_tsx_peer(TP_UDP);

	sip_arena_reset(a);
	if (sip_msg_parse(&m, a, text, len, 0, NULL) < 0)
		abort();
	tsx_layer_recv(l, m, &p);
}

static int mt_text(char *buf, size_t cap, const char *method, const char *kind, unsigned idx, int i)
{
	return snprintf(buf, cap,
	                "%s sip:bob@example.com SIP/2.0\r\n"
	                "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK%s%u_%d\r\n"
	                "From: <sip:alice@example.com>;tag=f\r\nTo: <sip:bob@example.com>\r\n"
	                "Call-ID: %s%u_%d\r\nCSeq: 1 %s\r\nContent-Length: 0\r\n\r\n",
	                method, kind, idx, i, kind, idx, i, method);
}

/* The response with this status to the request in text. */
static int mt_reply(struct sip_arena *a, const char *text, int n, int status, char *out, size_t cap)
{
	struct sip_msg *m;
	struct sip_wbuf w;

	sip_arena_reset(a);
	if (sip_msg_parse(&m, a, text, (size_t)n, 0, NULL) < 0)
		abort();
	sip_wbuf_init(&w, out, cap);
	sip_build_response(&w, m, status, SIP_PL_NULL, SIP_PL("t"));
	return sip_build_finish(&w, SIP_PL_NULL, SIP_PL_NULL);
}

static void mt_round(struct mt_worker *w, int i)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	struct tsx_layer *l = w->mt->l;
	char rq[1024], rs[1024];
	int n = mt_text(rq, sizeof(rq), "OPTIONS", "s", w->idx, i), rn;

	mt_recv(w->a, l, rq, (size_t)n); /* a server transaction... */
	mt_recv(w->a, l, rq, (size_t)n); /* ...and its retransmission */
	n = mt_text(rq, sizeof(rq), "OPTIONS", "c", w->idx, i);
	if (tsx_client_new(l, NULL, rq, (size_t)n, &p, mt_resp, w->mt) != 0)
		abort();
	rn = mt_reply(w->a, rq, n, 200, rs, sizeof(rs));
	mt_recv(w->a, l, rs, (size_t)rn);
	n = mt_text(rq, sizeof(rq), "INVITE", "shared", 0, 0); /* resends its 486 */
	mt_recv(w->a, l, rq, (size_t)n);
	n = mt_text(rq, sizeof(rq), "INVITE", "call", 0, 0); /* the shared client's */
	rn = mt_reply(w->a, rq, n, 180, rs, sizeof(rs));
	mt_recv(w->a, l, rs, (size_t)rn);
	tsx_layer_tick(l, w->idx, MT_THREADS, atomic_fetch_add(&w->mt->clock, 1) + 1);
}

static void *mt_main(void *arg)
{
	struct mt_worker *w = arg;

	pthread_barrier_wait(&w->mt->go);
	for (int i = 0; i < MT_ROUNDS; i++)
		mt_round(w, i);
	return NULL;
}

/* After the workers: the ACK for the shared INVITE and the 200 for the
 * shared client INVITE, then every timer runs out. */
static void mt_finish(struct mt *mt, struct sip_arena *a)
{
	char rq[1024], rs[1024];
	int n = mt_text(rq, sizeof(rq), "ACK", "shared", 0, 0), rn;

	mt_recv(a, mt->l, rq, (size_t)n);
	n = mt_text(rq, sizeof(rq), "INVITE", "call", 0, 0);
	rn = mt_reply(a, rq, n, 200, rs, sizeof(rs));
	mt_recv(a, mt->l, rs, (size_t)rn);
	for (uint64_t now = atomic_load(&mt->clock), end = now + 70000; now < end; now += 10)
		tsx_layer_tick(mt->l, 0, 1, now);
}

static void test_threads_smoke(void **state)
{
	static const struct tsx_ops mt_ops = {
	        .send = mt_send,
	        .request = mt_request,
	        .server_done = mt_done,
	};
	struct mt mt = {0};
	struct mt_worker w[MT_THREADS];
	pthread_t th[MT_THREADS];
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	struct tsx_cfg cfg;
	char rq[1024];
	int n = mt_text(rq, sizeof(rq), "INVITE", "call", 0, 0);

	(void)state;
	tsx_cfg_default(&cfg);
	cfg.shards = 8; /* fewer shards: more sharing between workers */
	assert_int_equal(tsx_layer_new(&mt.l, &cfg, &mt_ops, &mt), 0);
	assert_int_equal(tsx_client_new(mt.l, NULL, rq, (size_t)n, &p, mt_shared_resp, &mt), 0);
	pthread_barrier_init(&mt.go, NULL, MT_THREADS);
	for (unsigned i = 0; i < MT_THREADS; i++) {
		w[i] = (struct mt_worker){&mt, i, NULL};
		assert_int_equal(sip_arena_new(&w[i].a, 1 << 20), 0);
		assert_int_equal(pthread_create(&th[i], NULL, mt_main, &w[i]), 0);
	}
	for (unsigned i = 0; i < MT_THREADS; i++)
		pthread_join(th[i], NULL);
	mt_finish(&mt, w[0].a);
	assert_int_equal(tsx_layer_count(mt.l), 0);
	/* Every server transaction (the shared INVITE once) ended once. */
	assert_int_equal(atomic_load(&mt.requests), MT_THREADS * MT_ROUNDS + 1);
	assert_int_equal(atomic_load(&mt.done), atomic_load(&mt.requests));
	assert_int_equal(atomic_load(&mt.ends), MT_THREADS * MT_ROUNDS + 1);
	assert_int_equal(atomic_load(&mt.provisionals), MT_THREADS * MT_ROUNDS);
	assert_int_equal(atomic_load(&mt.late), 0);
	tsx_layer_free(mt.l);
	for (unsigned i = 0; i < MT_THREADS; i++)
		sip_arena_free(w[i].a);
	pthread_barrier_destroy(&mt.go);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_threads_smoke),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
