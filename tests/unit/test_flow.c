/*
 * test_flow.c — sipd's flow tokens (src/server/flow.c): tokens for an
 * IPv4 and an IPv6 peer against MACs computed independently (`openssl dgst
 * -sha256 -mac HMAC`), their decoding, the refusal of forged, truncated and
 * foreign tokens, two keys used in turn by one thread, and several threads
 * at once. flow.c is a part of sipd, not of a library, so it is compiled in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/flow.c"
#include "server/hmac.c"

#define PL(s) sip_pl_cstr(s)

/* Key: 32 bytes of a5. 192.0.2.1:5061 and [2001:db8::1]:5060; the MAC is
 * the first 8 bytes of HMAC-SHA256 over family, address and port. */
#define KAT4 "ft04c000020113c51a826d3874289b87"
#define KAT6 "ft0620010db800000000000000000000000113c4cbc21d15924f952e"

/* s keyed with 32 bytes of a5, or of a5 with the last byte changed (as
 * if another run's key). */
static void key_a5(struct sipd *s, bool other)
{
	unsigned char key[KEY_LEN];

	memset(key, 0xa5, sizeof(key));
	key[KEY_LEN - 1] ^= other;
	sipd_flow_fini(s);
	memset(s, 0, sizeof(*s));
	assert_int_equal(flow_key_set(s, key), 0);
}

static struct tp_addr v4(uint32_t ip, uint16_t port)
{
	struct tp_addr a;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a.ss;

	memset(&a, 0, sizeof(a));
	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(ip);
	s4->sin_port = htons(port);
	a.len = sizeof(*s4);
	return a;
}

static struct tp_addr v6_doc1(uint16_t port)
{
	struct tp_addr a;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a.ss;
	static const uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

	memset(&a, 0, sizeof(a));
	s6->sin6_family = AF_INET6;
	memcpy(&s6->sin6_addr, ip, 16);
	s6->sin6_port = htons(port);
	a.len = sizeof(*s6);
	return a;
}

static void test_known_answer(void **state)
{
	static struct sipd s; /* large: not on the stack */
	struct tp_addr a4 = v4(0xc0000201, 5061), a6 = v6_doc1(5060), got;
	char buf[96];

	(void)state;
	key_a5(&s, false);
	assert_int_equal(sipd_flow_token(&s, &a4, buf, sizeof(buf)), 0);
	assert_string_equal(buf, KAT4);
	assert_int_equal(sipd_flow_token(&s, &a6, buf, sizeof(buf)), 0);
	assert_string_equal(buf, KAT6);
	assert_true(sipd_flow_decode(&s, PL(KAT4), &got));
	assert_true(tp_addr_eq(&got, &a4));
	assert_true(sipd_flow_decode(&s, PL(KAT6), &got));
	assert_true(tp_addr_eq(&got, &a6));
	assert_int_equal(sipd_flow_token(&s, &a4, buf, sizeof(KAT4) - 1), SIP_ERR_NOSPACE);
	assert_int_equal(sipd_flow_token(&s, &a4, buf, sizeof(KAT4)), 0);
	sipd_flow_fini(&s);
}

static void test_refused(void **state)
{
	static struct sipd s;
	struct tp_addr got;
	char bad[] = KAT4;

	(void)state;
	key_a5(&s, false);
	bad[sizeof(bad) - 2] ^= 1; /* the MAC */
	assert_false(sipd_flow_decode(&s, PL(bad), &got));
	memcpy(bad, KAT4, sizeof(bad));
	bad[5] = '1'; /* the address */
	assert_false(sipd_flow_decode(&s, PL(bad), &got));
	assert_false(sipd_flow_decode(&s, sip_pl(KAT4, sizeof(KAT4) - 3), &got));
	assert_false(sipd_flow_decode(&s, PL("ft"), &got));
	assert_false(sipd_flow_decode(&s, PL("alice"), &got));
	assert_false(sipd_flow_decode(&s, PL(""), &got));
	key_a5(&s, true); /* another run's key */
	assert_false(sipd_flow_decode(&s, PL(KAT4), &got));
	assert_false(sipd_flow_decode(&s, PL(KAT6), &got));
	sipd_flow_fini(&s);
}

/* One thread, two keys in turn: each token is made and checked with its
 * own key, never the other's. */
static void test_two_keys(void **state)
{
	static struct sipd a, b;
	struct tp_addr peer = v4(0xc0000201, 5061), got;
	char ta[96], tb[96];

	(void)state;
	key_a5(&a, false);
	memset(&b, 0, sizeof(b));
	assert_int_equal(sipd_flow_init(&b), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sipd_flow_token(&a, &peer, ta, sizeof(ta)), 0);
		assert_string_equal(ta, KAT4);
		assert_int_equal(sipd_flow_token(&b, &peer, tb, sizeof(tb)), 0);
		assert_string_not_equal(ta, tb);
		assert_true(sipd_flow_decode(&b, PL(tb), &got));
		assert_false(sipd_flow_decode(&b, PL(ta), &got));
		assert_false(sipd_flow_decode(&a, PL(tb), &got));
		assert_true(sipd_flow_decode(&a, PL(ta), &got));
	}
	sipd_flow_fini(&a);
	sipd_flow_fini(&b);
}

#define THREADS 6
#define ROUNDS 2000

struct worker {
	const struct sipd *s;
	int failures;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct tp_addr got, peer;
	char buf[96];

	for (int i = 0; i < ROUNDS; i++) {
		peer = v4(0x0a000000u + (uint32_t)i, (uint16_t)(5060 + i));
		if (sipd_flow_token(w->s, &peer, buf, sizeof(buf)) != 0 ||
		    !sipd_flow_decode(w->s, PL(buf), &got) || !tp_addr_eq(&got, &peer) ||
		    !sipd_flow_decode(w->s, PL(KAT4), &got))
			w->failures++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	static struct sipd s;
	struct worker w[THREADS];
	pthread_t t[THREADS];

	(void)state;
	key_a5(&s, false);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.s = &s};
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	sipd_flow_fini(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_known_answer),
	        cmocka_unit_test(test_refused),
	        cmocka_unit_test(test_two_keys),
	        cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
