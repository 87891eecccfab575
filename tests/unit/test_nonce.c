/*
 * test_nonce.c — sipd's signed digest nonces (src/server/nonce.c): a nonce
 * built by hand with a MAC computed independently (`openssl dgst -sha256
 * -mac HMAC`) is accepted, and nonce_make's MAC is the one-shot HMAC()'s;
 * forged, other-realm, malformed, stale and future nonces are refused; the
 * nonce-count table refuses replays; several threads make and check at
 * once. nonce.c is a part of sipd, not of a library, so it is compiled in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/hmac.h>

#include "server/hmac.c"
#include "server/nonce.c"

#define PL(s) sip_pl_cstr(s)
#define REALM "example.com"
#define T0 1700000000 /* 0x6553f100 */

/* secret 00 01 .. 1f; timestamp T0, random part 01 02 .. 08, realm REALM;
 * MAC: the first 16 bytes of HMAC-SHA256 over those 27 bytes. */
#define KAT_NONCE                                                                                  \
	"000000006553f100"                                                                         \
	"0102030405060708"                                                                         \
	"c4d265d045c724c738501f2937de22eb"

static struct nonce_ctx *kat_ctx(void)
{
	uint8_t secret[32];
	struct nonce_ctx *c = NULL;

	for (int i = 0; i < 32; i++)
		secret[i] = (uint8_t)i;
	assert_int_equal(nonce_ctx_new(&c, secret, 300, 64), 0);
	return c;
}

/* The MAC part of a nonce made by nonce_make, checked against a one-shot
 * HMAC() over the same bytes: the way nonce.c computed it before. */
static void assert_mac_is_hmac(const char *nonce, const char *realm)
{
	uint8_t raw[RAW_BYTES], in[TS_BYTES + RND_BYTES + 256], md[EVP_MAX_MD_SIZE], secret[32];
	unsigned mdlen = 0;
	size_t rl = strlen(realm) > 256 ? 256 : strlen(realm);

	for (int i = 0; i < 32; i++)
		secret[i] = (uint8_t)i;
	assert_true(decode(PL(nonce), raw));
	memcpy(in, raw, TS_BYTES + RND_BYTES);
	memcpy(in + TS_BYTES + RND_BYTES, realm, rl);
	assert_non_null(HMAC(EVP_sha256(), secret, 32, in, TS_BYTES + RND_BYTES + rl, md, &mdlen));
	assert_memory_equal(raw + TS_BYTES + RND_BYTES, md, MAC_BYTES);
}

static void test_known_answer(void **state)
{
	struct nonce_ctx *c = kat_ctx();
	char bad[] = KAT_NONCE;

	(void)state;
	assert_int_equal(strlen(KAT_NONCE), NONCE_LEN);
	assert_int_equal(nonce_check(c, PL(KAT_NONCE), PL(REALM), T0), NONCE_OK);
	assert_int_equal(nonce_check(c, PL(KAT_NONCE), PL(REALM), T0 + 300), NONCE_OK);
	/* Upper-case hex decodes to the same bytes. */
	assert_int_equal(nonce_check(c,
	                             PL("000000006553F100"
	                                "0102030405060708"
	                                "C4D265D045C724C738501F2937DE22EB"),
	                             PL(REALM), T0),
	                 NONCE_OK);
	bad[NONCE_LEN - 1] ^= 1; /* one bit of the MAC */
	assert_int_equal(nonce_check(c, PL(bad), PL(REALM), T0), NONCE_BAD);
	memcpy(bad, KAT_NONCE, sizeof(bad));
	bad[20] = '9'; /* the random part */
	assert_int_equal(nonce_check(c, PL(bad), PL(REALM), T0), NONCE_BAD);
	assert_int_equal(nonce_check(c, PL(KAT_NONCE), PL("example.org"), T0), NONCE_BAD);
	assert_int_equal(nonce_check(c, PL(KAT_NONCE), PL(""), T0), NONCE_BAD);
	nonce_ctx_free(c);
}

static void test_make_check(void **state)
{
	struct nonce_ctx *c = kat_ctx();
	char n1[NONCE_LEN + 1], n2[NONCE_LEN + 1], long_realm[301];

	(void)state;
	nonce_make(c, PL(REALM), T0, n1);
	nonce_make(c, PL(REALM), T0, n2);
	assert_int_equal(strlen(n1), NONCE_LEN);
	assert_string_not_equal(n1, n2); /* the random part */
	assert_mac_is_hmac(n1, REALM);
	assert_mac_is_hmac(n2, REALM);
	assert_int_equal(nonce_check(c, PL(n1), PL(REALM), T0), NONCE_OK);
	assert_int_equal(nonce_check(c, PL(n1), PL(REALM), T0 + 300), NONCE_OK);
	assert_int_equal(nonce_check(c, PL(n1), PL(REALM), T0 + 301), NONCE_STALE);
	assert_int_equal(nonce_check(c, PL(n1), PL(REALM), T0 - 5), NONCE_OK); /* skew */
	assert_int_equal(nonce_check(c, PL(n1), PL(REALM), T0 - 6), NONCE_STALE);
	assert_int_equal(nonce_check(c, PL(n1), PL("other"), T0), NONCE_BAD);
	assert_int_equal(nonce_check(c, sip_pl(n1, NONCE_LEN - 2), PL(REALM), T0), NONCE_BAD);
	n2[3] = 'x';
	assert_int_equal(nonce_check(c, PL(n2), PL(REALM), T0), NONCE_BAD);

	/* A realm past 256 bytes is cut there, as it always was. */
	memset(long_realm, 'r', 300);
	long_realm[300] = '\0';
	nonce_make(c, PL(long_realm), T0, n1);
	assert_mac_is_hmac(n1, long_realm);
	assert_int_equal(nonce_check(c, PL(n1), sip_pl(long_realm, 256), T0), NONCE_OK);
	assert_int_equal(nonce_check(c, PL(n1), sip_pl(long_realm, 255), T0), NONCE_BAD);

	/* Another secret does not know our nonces. */
	uint8_t other[32] = {1};
	struct nonce_ctx *d = NULL;
	assert_int_equal(nonce_ctx_new(&d, other, 300, 64), 0);
	assert_int_equal(nonce_check(d, PL(KAT_NONCE), PL(REALM), T0), NONCE_BAD);
	nonce_ctx_free(d);
	nonce_ctx_free(c);
}

static void test_use(void **state)
{
	struct nonce_ctx *c = kat_ctx();

	(void)state;
	assert_int_equal(nonce_use(c, PL(KAT_NONCE), PL("00000001")), NONCE_OK);
	assert_int_equal(nonce_use(c, PL(KAT_NONCE), PL("00000001")), NONCE_REPLAY);
	assert_int_equal(nonce_use(c, PL(KAT_NONCE), PL("00000003")), NONCE_OK);
	assert_int_equal(nonce_use(c, PL(KAT_NONCE), PL("00000002")), NONCE_OK);
	assert_int_equal(nonce_use(c, PL(KAT_NONCE), PL("00000002")), NONCE_REPLAY);
	assert_int_equal(nonce_use(c, PL(KAT_NONCE), PL("00000000")), NONCE_REPLAY);
	assert_int_equal(nonce_use(c, PL(KAT_NONCE), PL("")), NONCE_REPLAY);
	assert_int_equal(nonce_use(c, PL(KAT_NONCE), PL("0000004g")), NONCE_REPLAY);
	assert_int_equal(nonce_use(c, PL(KAT_NONCE), PL("00000050")), NONCE_OK);
	assert_int_equal(nonce_use(c, PL(KAT_NONCE), PL("00000004")), NONCE_REPLAY); /* behind */
	nonce_ctx_free(c);
}

#define THREADS 6
#define ROUNDS 2000

struct worker {
	struct nonce_ctx *c;
	int failures;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char n[NONCE_LEN + 1];

	for (int i = 0; i < ROUNDS; i++) {
		nonce_make(w->c, PL(REALM), T0 + i, n);
		if (nonce_check(w->c, PL(n), PL(REALM), T0 + i) != NONCE_OK ||
		    nonce_check(w->c, PL(KAT_NONCE), PL(REALM), T0) != NONCE_OK ||
		    nonce_check(w->c, PL(n), PL("other"), T0 + i) != NONCE_BAD)
			w->failures++;
	}
	return NULL;
}

/* More threads than keyed contexts would fit on two cores: they share
 * the contexts under their locks and every MAC still comes out right. */
static void test_threads(void **state)
{
	struct nonce_ctx *c = kat_ctx();
	struct worker w[THREADS];
	pthread_t t[THREADS];

	(void)state;
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.c = c};
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	nonce_ctx_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_known_answer),
	        cmocka_unit_test(test_make_check),
	        cmocka_unit_test(test_use),
	        cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
