/*
 * test_digest.c — digest arithmetic (src/sip/digest.c) against the worked
 * examples of RFC 7616 §3.9 and RFC 2617 §3.5, and against vectors computed
 * independently with `openssl dgst` for the cases the RFCs do not cover
 * (SHA-512-256, the -sess variants, auth-int, no qop); and several threads
 * hashing at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "libsip/digest.h"

#define PL(s) sip_pl_cstr(s)

/* RFC 7616 §3.9.1 inputs. */
#define MUFASA "Mufasa"
#define HTTP_REALM "http-auth@example.org"
#define LION_PW "Circle of Life"
#define N7616 "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define C7616 "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
#define DIR_URI "/dir/index.html"

/* One full computation: the inputs of RFC 7616 §3.9.1 with the given
 * algorithm, qop and body; checks HA1, HA2 and the response against the
 * expected hex (NULL skips a check). */
static void check_chain(enum sip_digest_alg alg, enum sip_digest_qop qop, const char *body,
                        const char *want_ha1, const char *want_ha2, const char *want_resp)
{
	char ha1[SIP_DIGEST_HEX_MAX], key[SIP_DIGEST_HEX_MAX], ha2[SIP_DIGEST_HEX_MAX];
	char resp[SIP_DIGEST_HEX_MAX], resp2[SIP_DIGEST_HEX_MAX];
	struct sip_pl b = body ? PL(body) : SIP_PL_NULL;
	int n = sip_digest_hex_len(alg), r;

	assert_int_equal(
	        sip_digest_ha1(alg, PL(MUFASA), PL(HTTP_REALM), PL(LION_PW), ha1, sizeof(ha1)), n);
	r = sip_digest_ha1_sess(alg, sip_pl(ha1, (size_t)n), PL(N7616), PL(C7616), key,
	                        sizeof(key));
	assert_int_equal(r, n);
	if (want_ha1)
		assert_string_equal(key, want_ha1);
	assert_int_equal(sip_digest_ha2(alg, qop, PL("GET"), PL(DIR_URI), b, ha2, sizeof(ha2)), n);
	if (want_ha2)
		assert_string_equal(ha2, want_ha2);
	r = sip_digest_response(alg, qop, sip_pl(key, (size_t)n), PL(N7616), PL("00000001"),
	                        PL(C7616), sip_pl(ha2, (size_t)n), resp, sizeof(resp));
	assert_int_equal(r, n);
	assert_string_equal(resp, want_resp);

	/* The one-call form must agree with the chain of building blocks. */
	struct sip_digest_req req = {
	        .alg = alg,
	        .qop = qop,
	        .nonce = PL(N7616),
	        .nc = PL("00000001"),
	        .cnonce = PL(C7616),
	        .method = PL("GET"),
	        .uri = PL(DIR_URI),
	        .body = b,
	};
	assert_int_equal(sip_digest_compute(&req, sip_pl(ha1, (size_t)n), resp2, sizeof(resp2)), n);
	assert_string_equal(resp2, want_resp);
}

static void test_rfc7616_md5(void **state)
{
	(void)state;
	check_chain(SIP_DIGEST_MD5, SIP_DIGEST_QOP_AUTH, NULL, "3d78807defe7de2157e2b0b6573a855f",
	            "39aff3a2bab6126f332b942af96d3366", "8ca523f5e9506fed4657c9700eebdbec");
}

static void test_rfc7616_sha256(void **state)
{
	(void)state;
	check_chain(SIP_DIGEST_SHA256, SIP_DIGEST_QOP_AUTH, NULL,
	            "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232",
	            "9a3fdae9a622fe8de177c24fa9c070f2b181ec85e15dcbdc32e10c82ad450b04",
	            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

/* RFC 2617 §3.5: note "Circle Of Life" with a capital O there. */
static void test_rfc2617(void **state)
{
	struct sip_digest_req req = {
	        .alg = SIP_DIGEST_MD5,
	        .qop = SIP_DIGEST_QOP_AUTH,
	        .nonce = PL("dcd98b7102dd2f0e8b11d0f600bfb0c093"),
	        .nc = PL("00000001"),
	        .cnonce = PL("0a4f113b"),
	        .method = PL("GET"),
	        .uri = PL(DIR_URI),
	};
	char ha1[SIP_DIGEST_HEX_MAX], resp[SIP_DIGEST_HEX_MAX];

	(void)state;
	assert_int_equal(sip_digest_ha1(SIP_DIGEST_MD5, PL(MUFASA), PL("testrealm@host.com"),
	                                PL("Circle Of Life"), ha1, sizeof(ha1)),
	                 32);
	assert_int_equal(sip_digest_compute(&req, PL(ha1), resp, sizeof(resp)), 32);
	assert_string_equal(resp, "6629fae49393a05397450978507c4ef1");
}

/* RFC 7616 §3.9.2 (SHA-512-256, userhash, UTF-8 username). The RFC prints
 * userhash 488869477bf2... and response ae66e67d6b42..., which are SHA-512
 * cut to 256 bits, not SHA-512/256 (erratum 4897 reports the example as
 * wrong). The values below come from `openssl dgst -sha512-256`. */
#define JASON "J\xc3\xa4s\xc3\xb8n Doe"

static void test_rfc7616_userhash(void **state)
{
	struct sip_digest_req req = {
	        .alg = SIP_DIGEST_SHA512_256,
	        .qop = SIP_DIGEST_QOP_AUTH,
	        .nonce = PL("5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK"),
	        .nc = PL("00000001"),
	        .cnonce = PL("NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v"),
	        .method = PL("GET"),
	        .uri = PL("/doe.json"),
	};
	char uh[SIP_DIGEST_HEX_MAX], ha1[SIP_DIGEST_HEX_MAX], resp[SIP_DIGEST_HEX_MAX];

	(void)state;
	assert_int_equal(sip_digest_userhash(SIP_DIGEST_SHA512_256, PL(JASON),
	                                     PL("api@example.org"), uh, sizeof(uh)),
	                 64);
	assert_string_equal(uh, "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b");
	assert_string_not_equal(uh,
	                        "488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254ec");
	assert_int_equal(sip_digest_ha1(SIP_DIGEST_SHA512_256, PL(JASON), PL("api@example.org"),
	                                PL("Secret, or not?"), ha1, sizeof(ha1)),
	                 64);
	assert_int_equal(sip_digest_compute(&req, PL(ha1), resp, sizeof(resp)), 64);
	assert_string_equal(resp,
	                    "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5");

	/* MD5 userhash of the §3.9.1 user, for a second algorithm. */
	assert_int_equal(
	        sip_digest_userhash(SIP_DIGEST_MD5, PL(MUFASA), PL(HTTP_REALM), uh, sizeof(uh)),
	        32);
	assert_int_equal(sip_digest_hex_len(SIP_DIGEST_MD5), (int)strlen(uh));
}

static void test_sha512_256(void **state)
{
	(void)state;
	check_chain(SIP_DIGEST_SHA512_256, SIP_DIGEST_QOP_AUTH, NULL,
	            "fb174f5c3c7802721517cae13b98e2b8dae2e0118cb705d94ee29946319204ce",
	            "c2cc924c647b13c41e0fb8825bdaa97d0a1f2a7afb15e1e03c994229b20e1c92",
	            "430d05014cecc49cab6fbe03176d41a1da86cbfe24a16580e22aaad928d960d0");
}

static void test_sess(void **state)
{
	(void)state;
	check_chain(SIP_DIGEST_MD5_SESS, SIP_DIGEST_QOP_AUTH, NULL,
	            "2b3d906f52651c3136e1502b3d6f38ee", NULL, "e783283f46242139c486a698fec7211d");
	check_chain(SIP_DIGEST_SHA256_SESS, SIP_DIGEST_QOP_AUTH, NULL,
	            "bca21f4c7d7e8bf70d96361085370c7d219947abc1b8cd628f710917b89bed5b", NULL,
	            "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7");
	check_chain(SIP_DIGEST_SHA512_256_SESS, SIP_DIGEST_QOP_AUTH, NULL,
	            "7bda9d6d426c30b563dd560a3fcddd2be830ed2f46019752dcf95ea629c4e570", NULL,
	            "3f2a34f923c38b0fb26dce2fdfc2ce326c23cecf86fbb1444f3e51fbbc2cb92e");
}

static void test_auth_int(void **state)
{
	char ha2[SIP_DIGEST_HEX_MAX];

	(void)state;
	check_chain(SIP_DIGEST_MD5, SIP_DIGEST_QOP_AUTH_INT, "hello body", NULL,
	            "c1c84a9c35cdd37ba40ccd77716ad539", "2ac87308cc2858088fd7f87446ffc6c3");
	check_chain(SIP_DIGEST_SHA256, SIP_DIGEST_QOP_AUTH_INT, "hello body", NULL,
	            "19f386f1538619f071263a7ea2951e20258bef992b4eb52e51cb85196e21176d",
	            "df27de8b595f7b210e37b481d386bffee1ea940d51f5a70746127b2563efba1b");
	check_chain(SIP_DIGEST_SHA512_256, SIP_DIGEST_QOP_AUTH_INT, "hello body", NULL,
	            "4a69333a7bb4044ade7139fbb546aac4caa35ea7ae3362cfb107e486940622f2",
	            "909aebdf4d1eb757c50e78bccdc64b5e2951eb4aa9f2f6d0b0f7e9bd6f1a5903");
	/* No body (REGISTER, BYE) hashes as the empty string, set or not. */
	assert_int_equal(sip_digest_ha2(SIP_DIGEST_MD5, SIP_DIGEST_QOP_AUTH_INT, PL("GET"),
	                                PL(DIR_URI), SIP_PL_NULL, ha2, sizeof(ha2)),
	                 32);
	assert_string_equal(ha2, "76b926065592515b4fc702c0da67b40f");
	assert_int_equal(sip_digest_ha2(SIP_DIGEST_SHA512_256, SIP_DIGEST_QOP_AUTH_INT, PL("GET"),
	                                PL(DIR_URI), PL(""), ha2, sizeof(ha2)),
	                 64);
	assert_string_equal(ha2,
	                    "c74dd4926d3b5bf50bb221102b5411970fb2ea1640d3b087c13482939c636dfb");
}

/* RFC 2069 form: no qop, so neither nc nor cnonce enter the hash. */
static void test_no_qop(void **state)
{
	char ha1[SIP_DIGEST_HEX_MAX], resp[SIP_DIGEST_HEX_MAX];
	struct sip_digest_req req = {
	        .alg = SIP_DIGEST_MD5,
	        .nonce = PL("abc123"),
	        .method = PL("REGISTER"),
	        .uri = PL("sip:sip.example.org"),
	};

	(void)state;
	check_chain(SIP_DIGEST_MD5, SIP_DIGEST_QOP_NONE, NULL, NULL, NULL,
	            "7b2cc3b30e75b4777ea31027084363fd");
	check_chain(SIP_DIGEST_SHA256, SIP_DIGEST_QOP_NONE, NULL, NULL, NULL,
	            "a1306b0595a6c7fe96c448631fb5cfbd5107bd1fe1da729d978dd7446b812363");
	check_chain(SIP_DIGEST_SHA512_256, SIP_DIGEST_QOP_NONE, NULL, NULL, NULL,
	            "93e9122020ea0624d2ca801426d5bfbeb93d10ff4cc24cb410af3920fa4730e7");

	/* A SIP REGISTER as old phones send it. */
	assert_int_equal(sip_digest_ha1(SIP_DIGEST_MD5, PL("alice"), PL("sip.example.org"),
	                                PL("s3cret"), ha1, sizeof(ha1)),
	                 32);
	assert_string_equal(ha1, "4cded4200e3c5f94806db4a26bd45166");
	assert_int_equal(sip_digest_compute(&req, PL(ha1), resp, sizeof(resp)), 32);
	assert_string_equal(resp, "ecb97a94f5ba5cf0ec1f2a16f349e003");
}

/* A server verifying a response: right password matches, wrong does not. */
static void test_verify(void **state)
{
	struct sip_digest_req req = {
	        .alg = SIP_DIGEST_MD5,
	        .qop = SIP_DIGEST_QOP_AUTH,
	        .nonce = PL(N7616),
	        .nc = PL("00000001"),
	        .cnonce = PL(C7616),
	        .method = PL("GET"),
	        .uri = PL(DIR_URI),
	};
	const char *sent = "8ca523f5e9506fed4657c9700eebdbec";
	char ha1[SIP_DIGEST_HEX_MAX], want[SIP_DIGEST_HEX_MAX];

	(void)state;
	sip_digest_ha1(req.alg, PL(MUFASA), PL(HTTP_REALM), PL(LION_PW), ha1, sizeof(ha1));
	assert_int_equal(sip_digest_compute(&req, PL(ha1), want, sizeof(want)), 32);
	assert_true(sip_digest_hex_eq(PL(want), PL(sent)));
	assert_true(sip_digest_hex_eq(PL(want), PL("8CA523F5E9506FED4657C9700EEBDBEC")));

	sip_digest_ha1(req.alg, PL(MUFASA), PL(HTTP_REALM), PL("circle of life"), ha1, sizeof(ha1));
	assert_int_equal(sip_digest_compute(&req, PL(ha1), want, sizeof(want)), 32);
	assert_false(sip_digest_hex_eq(PL(want), PL(sent)));

	/* Same password, other nonce count: a replayed response fails. */
	sip_digest_ha1(req.alg, PL(MUFASA), PL(HTTP_REALM), PL(LION_PW), ha1, sizeof(ha1));
	req.nc = PL("00000002");
	assert_int_equal(sip_digest_compute(&req, PL(ha1), want, sizeof(want)), 32);
	assert_false(sip_digest_hex_eq(PL(want), PL(sent)));

	assert_false(sip_digest_hex_eq(PL(sent), PL("8ca523f5e9506fed4657c9700eebdbe")));
	assert_false(sip_digest_hex_eq(PL(sent), PL("")));
	assert_false(sip_digest_hex_eq(PL(""), PL("")));
	assert_false(sip_digest_hex_eq(SIP_PL_NULL, SIP_PL_NULL));
	assert_false(sip_digest_hex_eq(PL(sent), PL("8ca523f5e9506fed4657c9700eebdbeD")));
}

static void test_alg_names(void **state)
{
	static const struct {
		const char *name;
		enum sip_digest_alg alg;
		int hex;
		bool sess;
	} t[] = {
	        {"MD5", SIP_DIGEST_MD5, 32, false},
	        {"md5-SESS", SIP_DIGEST_MD5_SESS, 32, true},
	        {"sha-256", SIP_DIGEST_SHA256, 64, false},
	        {"SHA-256-sess", SIP_DIGEST_SHA256_SESS, 64, true},
	        {"SHA-512-256", SIP_DIGEST_SHA512_256, 64, false},
	        {"Sha-512-256-Sess", SIP_DIGEST_SHA512_256_SESS, 64, true},
	};
	enum sip_digest_alg alg;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		alg = SIP_DIGEST_SHA256;
		assert_int_equal(sip_digest_alg_parse(PL(t[i].name), &alg), 0);
		assert_int_equal(alg, t[i].alg);
		assert_true(sip_pl_caseeq_str(PL(t[i].name), sip_digest_alg_name(alg)));
		assert_int_equal(sip_digest_hex_len(alg), t[i].hex);
		assert_int_equal(sip_digest_alg_is_sess(alg), t[i].sess);
	}
	alg = SIP_DIGEST_SHA256;
	assert_int_equal(sip_digest_alg_parse(SIP_PL_NULL, &alg), 0);
	assert_int_equal(alg, SIP_DIGEST_MD5);
	alg = SIP_DIGEST_SHA256;
	assert_int_equal(sip_digest_alg_parse(PL(""), &alg), 0);
	assert_int_equal(alg, SIP_DIGEST_MD5);
	assert_int_equal(sip_digest_alg_parse(PL("SHA-1"), &alg), SIP_ERR_UNSUPPORTED);
	assert_int_equal(sip_digest_alg_parse(PL("SHA-512"), &alg), SIP_ERR_UNSUPPORTED);
	assert_int_equal(sip_digest_alg_parse(PL("MD5 "), &alg), SIP_ERR_UNSUPPORTED);
	assert_int_equal(sip_digest_alg_parse(PL("AKAv1-MD5"), &alg), SIP_ERR_UNSUPPORTED);
	assert_null(sip_digest_alg_name((enum sip_digest_alg)42));
	assert_int_equal(sip_digest_hex_len((enum sip_digest_alg)42), SIP_ERR_UNSUPPORTED);
	assert_false(sip_digest_alg_is_sess((enum sip_digest_alg)42));
}

static void test_qop(void **state)
{
	enum sip_digest_qop qop = SIP_DIGEST_QOP_AUTH;

	(void)state;
	assert_int_equal(sip_digest_qop_parse(SIP_PL_NULL, &qop), 0);
	assert_int_equal(qop, SIP_DIGEST_QOP_NONE);
	assert_int_equal(sip_digest_qop_parse(PL("Auth"), &qop), 0);
	assert_int_equal(qop, SIP_DIGEST_QOP_AUTH);
	assert_int_equal(sip_digest_qop_parse(PL("auth-int"), &qop), 0);
	assert_int_equal(qop, SIP_DIGEST_QOP_AUTH_INT);
	assert_int_equal(sip_digest_qop_parse(PL("auth,auth-int"), &qop), SIP_ERR_UNSUPPORTED);
	assert_int_equal(sip_digest_qop_parse(PL("auth-conf"), &qop), SIP_ERR_UNSUPPORTED);
	assert_string_equal(sip_digest_qop_name(SIP_DIGEST_QOP_AUTH), "auth");
	assert_string_equal(sip_digest_qop_name(SIP_DIGEST_QOP_AUTH_INT), "auth-int");
	assert_null(sip_digest_qop_name(SIP_DIGEST_QOP_NONE));
	assert_null(sip_digest_qop_name((enum sip_digest_qop)9));

	assert_true(sip_digest_qop_offered(PL("auth"), SIP_DIGEST_QOP_AUTH));
	assert_false(sip_digest_qop_offered(PL("auth"), SIP_DIGEST_QOP_AUTH_INT));
	assert_true(sip_digest_qop_offered(PL("auth-int, AUTH"), SIP_DIGEST_QOP_AUTH));
	assert_true(sip_digest_qop_offered(PL("auth ,\tauth-int "), SIP_DIGEST_QOP_AUTH_INT));
	assert_false(sip_digest_qop_offered(PL("auth-intx,authx"), SIP_DIGEST_QOP_AUTH));
	assert_false(sip_digest_qop_offered(PL(",,"), SIP_DIGEST_QOP_AUTH));
	assert_false(sip_digest_qop_offered(SIP_PL_NULL, SIP_DIGEST_QOP_AUTH));
	assert_true(sip_digest_qop_offered(SIP_PL_NULL, SIP_DIGEST_QOP_NONE));
	assert_false(sip_digest_qop_offered(PL("auth"), SIP_DIGEST_QOP_NONE));
	assert_false(sip_digest_qop_offered(PL("auth"), (enum sip_digest_qop)9));
}

static void test_errors(void **state)
{
	const char *ha1 = "3d78807defe7de2157e2b0b6573a855f";
	const char *ha2 = "39aff3a2bab6126f332b942af96d3366";
	char out[SIP_DIGEST_HEX_MAX];
	enum sip_digest_alg bad = (enum sip_digest_alg) - 1;

	(void)state;
	/* Output room: 32 hex + NUL needs 33 bytes; 65 for the SHA-2 family. */
	assert_int_equal(sip_digest_ha1(SIP_DIGEST_MD5, PL("a"), PL("b"), PL("c"), out, 32),
	                 SIP_ERR_NOSPACE);
	assert_int_equal(sip_digest_ha1(SIP_DIGEST_MD5, PL("a"), PL("b"), PL("c"), out, 33), 32);
	assert_int_equal(sip_digest_ha1(SIP_DIGEST_SHA256, PL("a"), PL("b"), PL("c"), out, 64),
	                 SIP_ERR_NOSPACE);
	assert_int_equal(sip_digest_ha1(SIP_DIGEST_MD5, PL("a"), PL("b"), PL("c"), NULL, 0),
	                 SIP_ERR_NOSPACE);
	assert_int_equal(sip_digest_ha1_sess(SIP_DIGEST_MD5, PL(ha1), PL("n"), PL("c"), out, 32),
	                 SIP_ERR_NOSPACE);
	assert_int_equal(sip_digest_userhash(bad, PL("a"), PL("b"), out, sizeof(out)),
	                 SIP_ERR_UNSUPPORTED);
	assert_int_equal(sip_digest_ha2(SIP_DIGEST_MD5, (enum sip_digest_qop)7, PL("GET"), PL("/"),
	                                SIP_PL_NULL, out, sizeof(out)),
	                 SIP_ERR_UNSUPPORTED);
	assert_int_equal(sip_digest_response(SIP_DIGEST_MD5, (enum sip_digest_qop)7, PL(ha1),
	                                     PL("n"), PL("1"), PL("c"), PL(ha2), out, sizeof(out)),
	                 SIP_ERR_UNSUPPORTED);

	/* A hash of the wrong length or not hex: refused, not hashed. */
	assert_int_equal(
	        sip_digest_ha1_sess(SIP_DIGEST_SHA256, PL(ha1), PL("n"), PL("c"), out, sizeof(out)),
	        SIP_ERR_AUTH);
	assert_int_equal(sip_digest_ha1_sess(SIP_DIGEST_MD5, PL("3d78807defe7de2157e2b0b6573a855g"),
	                                     PL("n"), PL("c"), out, sizeof(out)),
	                 SIP_ERR_AUTH);
	assert_int_equal(sip_digest_response(SIP_DIGEST_MD5, SIP_DIGEST_QOP_NONE, PL(ha1), PL("n"),
	                                     SIP_PL_NULL, SIP_PL_NULL, PL("xyz"), out, sizeof(out)),
	                 SIP_ERR_AUTH);

	/* qop without nc or cnonce, -sess without cnonce. */
	assert_int_equal(sip_digest_response(SIP_DIGEST_MD5, SIP_DIGEST_QOP_AUTH, PL(ha1), PL("n"),
	                                     SIP_PL_NULL, PL("c"), PL(ha2), out, sizeof(out)),
	                 SIP_ERR_AUTH);
	assert_int_equal(sip_digest_response(SIP_DIGEST_MD5, SIP_DIGEST_QOP_AUTH, PL(ha1), PL("n"),
	                                     PL("00000001"), PL(""), PL(ha2), out, sizeof(out)),
	                 SIP_ERR_AUTH);
	assert_int_equal(sip_digest_ha1_sess(SIP_DIGEST_MD5_SESS, PL(ha1), PL("n"), SIP_PL_NULL,
	                                     out, sizeof(out)),
	                 SIP_ERR_AUTH);
}

/* A stored HA1 may be upper-case; the formulas hash lower-case hex. */
static void test_ha1_normalised(void **state)
{
	char out[SIP_DIGEST_HEX_MAX];

	(void)state;
	assert_int_equal(sip_digest_ha1_sess(SIP_DIGEST_MD5, PL("3D78807DEFE7DE2157E2B0B6573A855F"),
	                                     PL(N7616), PL(C7616), out, sizeof(out)),
	                 32);
	assert_string_equal(out, "3d78807defe7de2157e2b0b6573a855f");
	assert_int_equal(sip_digest_response(SIP_DIGEST_MD5, SIP_DIGEST_QOP_AUTH,
	                                     PL("3D78807DEFE7DE2157E2B0B6573A855F"), PL(N7616),
	                                     PL("00000001"), PL(C7616),
	                                     PL("39AFF3A2BAB6126F332B942AF96D3366"), out,
	                                     sizeof(out)),
	                 32);
	assert_string_equal(out, "8ca523f5e9506fed4657c9700eebdbec");
	assert_int_equal(sip_digest_ha1_sess(SIP_DIGEST_MD5_SESS,
	                                     PL("3D78807DEFE7DE2157E2B0B6573A855F"), PL(N7616),
	                                     PL(C7616), out, sizeof(out)),
	                 32);
	assert_string_equal(out, "2b3d906f52651c3136e1502b3d6f38ee");
}

/* Workers hash at once, each going round the three hashes (so that each
 * thread's reusable contexts meet every algorithm in turn), and every
 * response is the RFC's or openssl dgst's. No cmocka asserts off the main
 * thread: a worker counts what went wrong. */
#define THREADS 6
#define ROUNDS 1000

static void *digest_worker(void *arg)
{
	static const struct {
		enum sip_digest_alg alg;
		const char *resp;
	} want[] = {
	        {SIP_DIGEST_MD5, "8ca523f5e9506fed4657c9700eebdbec"},
	        {SIP_DIGEST_SHA256,
	         "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	        {SIP_DIGEST_SHA512_256,
	         "430d05014cecc49cab6fbe03176d41a1da86cbfe24a16580e22aaad928d960d0"},
	};
	int *failures = arg;

	for (int i = 0; i < ROUNDS; i++) {
		enum sip_digest_alg alg = want[i % 3].alg;
		char ha1[SIP_DIGEST_HEX_MAX], resp[SIP_DIGEST_HEX_MAX];
		struct sip_digest_req req = {
		        .alg = alg,
		        .qop = SIP_DIGEST_QOP_AUTH,
		        .nonce = PL(N7616),
		        .nc = PL("00000001"),
		        .cnonce = PL(C7616),
		        .method = PL("GET"),
		        .uri = PL(DIR_URI),
		};
		int n = sip_digest_ha1(alg, PL(MUFASA), PL(HTTP_REALM), PL(LION_PW), ha1,
		                       sizeof(ha1));

		if (n < 0 ||
		    sip_digest_compute(&req, sip_pl(ha1, (size_t)n), resp, sizeof(resp)) != n ||
		    strcmp(resp, want[i % 3].resp) != 0)
			(*failures)++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[THREADS];
	int failures[THREADS] = {0};

	(void)state;
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, digest_worker, &failures[i]), 0);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(failures[i], 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rfc7616_md5),
	        cmocka_unit_test(test_rfc7616_sha256),
	        cmocka_unit_test(test_rfc2617),
	        cmocka_unit_test(test_rfc7616_userhash),
	        cmocka_unit_test(test_sha512_256),
	        cmocka_unit_test(test_sess),
	        cmocka_unit_test(test_auth_int),
	        cmocka_unit_test(test_no_qop),
	        cmocka_unit_test(test_verify),
	        cmocka_unit_test(test_alg_names),
	        cmocka_unit_test(test_qop),
	        cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_ha1_normalised),
	        cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
