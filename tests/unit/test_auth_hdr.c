/*
 * test_auth_hdr.c — WWW-/Proxy-Authenticate and (Proxy-)Authorization
 * values (src/sip/auth_hdr.c): headers as real phones and servers send them,
 * folding and spacing, unknown parameters and schemes, every error case,
 * and printer round trips, ending with a full challenge/response exchange.
 *
 * Every value is parsed from a heap copy of exactly its length, so that the
 * sanitizer build catches a read past the end of a value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "libsip/digest.h"
#include "libsip/hdr.h"

#define PL(s) sip_pl_cstr(s)

/* The heap copy behind the last parse; freed by the next parse or teardown. */
static char *held;

static int parse_n(struct sip_auth *a, const char *s, size_t n)
{
	free(held);
	held = malloc(n ? n : 1);
	assert_non_null(held);
	memcpy(held, s, n);
	return sip_auth_parse(a, sip_pl(held, n));
}

static int parse(struct sip_auth *a, const char *s)
{
	return parse_n(a, s, strlen(s));
}

static int teardown(void **state)
{
	(void)state;
	free(held);
	held = NULL;
	return 0;
}

/* True when pl is set and holds exactly s. */
static bool pl_is(struct sip_pl pl, const char *s)
{
	if (!sip_pl_isset(pl) || !sip_pl_eq(pl, PL(s))) {
		fprintf(stderr, "got '%.*s' (%s), want '%s'\n", (int)pl.len, pl.p ? pl.p : "",
		        pl.p ? "set" : "unset", s);
		return false;
	}
	return true;
}

/* Flexisip (sip.linphone.org) offers SHA-256 and MD5 in two headers. */
static void test_linphone_challenge(void **state)
{
	struct sip_auth a;

	(void)state;
	assert_int_equal(parse(&a, "Digest realm=\"sip.linphone.org\", "
	                           "nonce=\"2OKZEAAAAAC0s2uKAACQ3d6yP4oAAAAA\", "
	                           "opaque=\"+GNywA==\", algorithm=SHA-256, qop=\"auth\""),
	                 0);
	assert_true(a.is_digest);
	assert_true(pl_is(a.scheme, "Digest"));
	assert_true(pl_is(a.realm, "sip.linphone.org"));
	assert_true(pl_is(a.nonce, "2OKZEAAAAAC0s2uKAACQ3d6yP4oAAAAA"));
	assert_true(pl_is(a.opaque, "+GNywA=="));
	assert_true(pl_is(a.algorithm, "SHA-256"));
	assert_true(pl_is(a.qop, "auth"));
	assert_false(sip_pl_isset(a.stale));
	assert_false(sip_pl_isset(a.username));
	assert_false(sip_pl_isset(a.domain));
	assert_true(sip_pl_caseeq_str(sip_pl(a.params.p, 6), "realm="));
}

static void test_linphone_credentials(void **state)
{
	struct sip_auth a;

	(void)state;
	assert_int_equal(parse(&a, "Digest realm=\"sip.linphone.org\", "
	                           "nonce=\"2OKZEAAAAAC0s2uKAACQ3d6yP4oAAAAA\", algorithm=MD5, "
	                           "opaque=\"+GNywA==\", username=\"alice\",  "
	                           "uri=\"sip:sip.linphone.org\", "
	                           "response=\"7a4b6cb9e4e5a3a0c7d21e1f7c4f9a2b\", "
	                           "cnonce=\"Vj3Mvh0x2aLD8T7W\", nc=00000001, qop=auth"),
	                 0);
	assert_true(a.is_digest);
	assert_true(pl_is(a.username, "alice"));
	assert_true(pl_is(a.realm, "sip.linphone.org"));
	assert_true(pl_is(a.uri, "sip:sip.linphone.org"));
	assert_true(pl_is(a.response, "7a4b6cb9e4e5a3a0c7d21e1f7c4f9a2b"));
	assert_true(pl_is(a.algorithm, "MD5"));
	assert_true(pl_is(a.cnonce, "Vj3Mvh0x2aLD8T7W"));
	assert_true(pl_is(a.nc, "00000001"));
	assert_true(pl_is(a.qop, "auth"));
	assert_true(pl_is(a.opaque, "+GNywA=="));
}

/* Yealink and Grandstream phones write no space after the commas; Asterisk
 * puts algorithm first and in lower case. */
static void test_yealink_asterisk(void **state)
{
	struct sip_auth a;

	(void)state;
	assert_int_equal(parse(&a, "Digest username=\"1001\",realm=\"asterisk\","
	                           "nonce=\"1638354417/7f1c0a6e2d8c0f4d5e6b7a8c9d0e1f2a\","
	                           "uri=\"sip:192.168.1.10:5060\","
	                           "response=\"e1b5f3c2d4a6b8c0e2f4a6b8c0d2e4f6\",algorithm=MD5,"
	                           "cnonce=\"0a1b2c3d\",opaque=\"4b8e1c53\",qop=auth,nc=00000001"),
	                 0);
	assert_true(pl_is(a.username, "1001"));
	assert_true(pl_is(a.nonce, "1638354417/7f1c0a6e2d8c0f4d5e6b7a8c9d0e1f2a"));
	assert_true(pl_is(a.uri, "sip:192.168.1.10:5060"));
	assert_true(pl_is(a.nc, "00000001"));

	assert_int_equal(parse(&a, "Digest algorithm=md5, realm=\"asterisk\", "
	                           "nonce=\"5e0c2f11\""),
	                 0);
	assert_true(pl_is(a.algorithm, "md5"));
	assert_false(sip_pl_isset(a.qop));

	/* Proxy-Authenticate of a proxy whose nonce expired. */
	assert_int_equal(parse(&a, "Digest realm=\"example.com\", "
	                           "domain=\"sip:example.com sip:proxy.example.com\", "
	                           "nonce=\"Y5f7OGOX9gwNxW1jLq1B4lVg3yY2EzZs\", stale=TRUE, "
	                           "qop=\"auth,auth-int\", algorithm=MD5-sess, charset=UTF-8, "
	                           "userhash=true"),
	                 0);
	assert_true(pl_is(a.domain, "sip:example.com sip:proxy.example.com"));
	assert_true(pl_is(a.stale, "TRUE"));
	assert_true(pl_is(a.qop, "auth,auth-int"));
	assert_true(pl_is(a.algorithm, "MD5-sess"));
	assert_true(pl_is(a.charset, "UTF-8"));
	assert_true(pl_is(a.userhash, "true"));
}

static void test_folded_lines(void **state)
{
	struct sip_auth a;
	char buf[32];

	(void)state;
	assert_int_equal(parse(&a, "Digest\r\n realm=\"a\",\r\n nonce=\"b\"\r\n\t, opaque\r\n"
	                           " =\r\n  \"c\"\r\n ,\r\n\tqop=auth"),
	                 0);
	assert_true(pl_is(a.realm, "a"));
	assert_true(pl_is(a.nonce, "b"));
	assert_true(pl_is(a.opaque, "c"));
	assert_true(pl_is(a.qop, "auth"));

	/* A fold inside a quoted value is white space; unquoting unfolds it. */
	assert_int_equal(parse(&a, "Digest nonce=\"abc\r\n def\", realm=\"r\r\n\tx\""), 0);
	assert_true(pl_is(a.nonce, "abc\r\n def"));
	assert_int_equal(sip_auth_unquote(a.nonce, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "abc def");
	assert_int_equal(sip_auth_unquote(a.realm, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "r\tx");
	assert_int_equal(parse(&a, "Digest nonce=\"abc\n def\""), 0);
}

static void test_odd_spacing(void **state)
{
	struct sip_auth a;

	(void)state;
	assert_int_equal(parse(&a, "  Digest \t realm\t=\t\"x\"  ,nonce = y ,\tqop =  \"auth\"   "),
	                 0);
	assert_true(pl_is(a.realm, "x"));
	assert_true(pl_is(a.nonce, "y"));
	assert_true(pl_is(a.qop, "auth"));
	assert_true(pl_is(a.params, "realm\t=\t\"x\"  ,nonce = y ,\tqop =  \"auth\""));

	assert_int_equal(parse(&a, "dIgEsT REALM=\"x\",NoNcE=\"y\",Algorithm=\"sha-256\""), 0);
	assert_true(a.is_digest);
	assert_true(pl_is(a.scheme, "dIgEsT"));
	assert_true(pl_is(a.realm, "x"));
	assert_true(pl_is(a.nonce, "y"));
	assert_true(pl_is(a.algorithm, "sha-256"));

	/* "Digest" alone: a Digest value with no parameters; the caller
	 * finds realm and nonce missing. */
	assert_int_equal(parse(&a, "Digest"), 0);
	assert_true(a.is_digest);
	assert_int_equal(a.params.len, 0);
	assert_false(sip_pl_isset(a.realm));
}

static void test_unknown_params(void **state)
{
	struct sip_auth a;

	(void)state;
	assert_int_equal(parse(&a, "Digest foo=bar, realm=\"x\", baz=\"q,u\\\"o=,\", "
	                           "username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, nonce=\"n\", "
	                           "foo=again, x-vendor=\"\""),
	                 0);
	assert_true(pl_is(a.realm, "x"));
	assert_true(pl_is(a.nonce, "n"));
	/* username* (RFC 7616 §3.4) is not username. */
	assert_false(sip_pl_isset(a.username));
}

static void test_unknown_scheme(void **state)
{
	char path[512], line[256];
	struct sip_auth a;
	FILE *f;
	bool found = false;

	(void)state;
	/* RFC 4475 §3.3.15 (regaut01), read from the torture message itself. */
	snprintf(path, sizeof(path), "%s/rfc4475/regaut01.dat", SIPD_TESTDATA);
	f = fopen(path, "rb");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Authorization:", 14) != 0)
			continue;
		assert_int_equal(parse(&a, line + 14), 0);
		found = true;
	}
	fclose(f);
	assert_true(found);
	assert_false(a.is_digest);
	assert_true(pl_is(a.scheme, "NoOneKnowsThisScheme"));
	assert_true(pl_is(a.params, "opaque-data=here"));
	assert_false(sip_pl_isset(a.opaque));
	assert_false(sip_pl_isset(a.realm));

	/* Basic's token68 and odd quoting stay opaque in other schemes. */
	assert_int_equal(parse(&a, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="), 0);
	assert_true(pl_is(a.params, "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
	assert_int_equal(parse(&a, "Bearer realm=\"x, error"), 0);
	assert_false(a.is_digest);
	assert_int_equal(parse(&a, "Negotiate"), 0);
	assert_true(pl_is(a.scheme, "Negotiate"));
	assert_int_equal(a.params.len, 0);
	/* "Digested" is not "Digest". */
	assert_int_equal(parse(&a, "Digested realm"), 0);
	assert_false(a.is_digest);
}

static void test_quoted_pairs(void **state)
{
	struct sip_auth a;
	char buf[16];

	(void)state;
	assert_int_equal(parse(&a, "Digest username=\"a\\\"b\\\\c\", realm=\"x\\\\\", "
	                           "opaque=\"\", nonce=\"\\q\""),
	                 0);
	assert_true(pl_is(a.username, "a\\\"b\\\\c"));
	assert_int_equal(sip_auth_unquote(a.username, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "a\"b\\c");
	assert_int_equal(sip_auth_unquote(a.realm, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "x\\");
	assert_true(pl_is(a.opaque, ""));
	assert_int_equal(sip_auth_unquote(a.opaque, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(sip_auth_unquote(a.nonce, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "q");

	/* Room for the text and its NUL, no less. */
	assert_int_equal(sip_auth_unquote(a.username, buf, 6), 5);
	assert_int_equal(sip_auth_unquote(a.username, buf, 5), SIP_ERR_NOSPACE);
	assert_int_equal(sip_auth_unquote(a.username, NULL, 0), SIP_ERR_NOSPACE);
	assert_int_equal(sip_auth_unquote(SIP_PL_NULL, buf, 1), 0);
}

static void test_errors(void **state)
{
	static const struct {
		const char *s;
		size_t len; /* 0: strlen */
	} bad[] = {
	        {"", 0},
	        {"   \r\n ", 0},
	        /* unclosed quotes */
	        {"Digest realm=\"abc", 0},
	        {"Digest realm=\"abc\\\"", 0},
	        {"Digest realm=\"abc\\", 0},
	        {"Digest realm=\"x\", nonce=\"", 0},
	        /* empty parameter names, empty list elements */
	        {"Digest =\"x\"", 0},
	        {"Digest , realm=\"x\"", 0},
	        {"Digest realm=\"x\",, nonce=\"y\"", 0},
	        {"Digest realm=\"x\" , , nonce=\"y\"", 0},
	        {"Digest realm=\"x\",", 0},
	        {"Digest realm=\"x\" ,\r\n ", 0},
	        /* missing '=' */
	        {"Digest realm", 0},
	        {"Digest realm \"x\"", 0},
	        {"Digest realm=\"x\", stale", 0},
	        {"Digest realm=\"x\", stale, nonce=\"y\"", 0},
	        /* duplicate well-known parameters */
	        {"Digest realm=\"a\", realm=\"a\"", 0},
	        {"Digest realm=\"a\", REALM=b", 0},
	        {"Digest nonce=\"a\", opaque=\"\", opaque=\"\"", 0},
	        {"Digest response=\"1\", uri=\"x\", Response=\"2\"", 0},
	        /* garbage */
	        {"Digest realm=\"x\" nonce=\"y\"", 0},
	        {"Digest realm=\"x\"y", 0},
	        {"Digest realm=x\"y\"", 0},
	        {"Digest realm=", 0},
	        {"Digest realm= , nonce=\"y\"", 0},
	        {"Digest realm=<sip:x>", 0},
	        {"Digest uri=sip:bob@example.com", 0},
	        {"Digest realm=\"x\";nonce=\"y\"", 0},
	        {"Digest realm==\"x\"", 0},
	        {"Digest re@lm=\"x\"", 0},
	        {"\"Digest\" realm=\"x\"", 0},
	        {"Digest,realm=\"x\"", 0},
	        {"Digest;realm=\"x\"", 0},
	        {", Digest realm=\"x\"", 0},
	        /* characters a quoted-string cannot hold */
	        {"Digest realm=\"a\x01z\"", 0},
	        {"Digest realm=\"a\x7fz\"", 0},
	        {"Digest realm=\"a\0z\"", 18},
	        {"Digest realm=\"a\\\0z\"", 19},
	        {"Digest realm=\"a\\\r\n z\"", 0},
	        {"Digest realm=\"a\rz\"", 0},
	        {"Digest realm=\"a\r\nz\"", 0},
	        {"Digest realm=\"a\r\n\"", 0},
	        {"Digest realm=\"a\r", 0},
	        {"Digest nonce=\"n\", realm=\"a\nz\"", 0},
	        /* a NUL outside quotes */
	        {"Digest realm=x\0", 15},
	        {"Dig\0est realm=x", 15},
	};
	struct sip_auth a;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = bad[i].len ? bad[i].len : strlen(bad[i].s);
		int err = parse_n(&a, bad[i].s, n);

		if (err != SIP_ERR_AUTH)
			fprintf(stderr, "case %zu '%s': %d\n", i, bad[i].s, err);
		assert_int_equal(err, SIP_ERR_AUTH);
	}
	assert_int_equal(sip_auth_parse(&a, SIP_PL_NULL), SIP_ERR_AUTH);
}

/* Every field a successful parse returns must lie inside the value. */
static void check_inside(const struct sip_auth *a, const char *base, size_t n)
{
	const struct sip_pl *f[] = {
	        &a->scheme, &a->realm,    &a->nonce,    &a->opaque, &a->algorithm, &a->qop,
	        &a->domain, &a->stale,    &a->username, &a->uri,    &a->response,  &a->cnonce,
	        &a->nc,     &a->userhash, &a->charset,  &a->params,
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (!sip_pl_isset(*f[i]))
			continue;
		assert_true(f[i]->p >= base && f[i]->p + f[i]->len <= base + n);
	}
}

/* Every prefix of a real header, and every position replaced by each of the
 * characters the grammar cares about: only 0 or SIP_ERR_AUTH, and (under
 * ASan) no read outside the value. */
static void test_truncate_and_mutate(void **state)
{
	static const char hdr[] =
	        "Digest username=\"bob\", realm=\"biloxi.com\", nonce=\"dcd98b7102dd2f0e\","
	        "\r\n uri=\"sip:bob@biloxi.com\", qop=auth, nc=00000001, cnonce=\"0a4f\\\"113b\","
	        " response=\"6629fae49393a05397450978507c4ef1\", opaque=\"5ccc069c403ebaf9\"";
	static const char special[] = {'"', '\\', ',', '=', ' ', '\r', '\n', '\0', 'x', ';'};
	char copy[sizeof(hdr)];
	size_t n = sizeof(hdr) - 1;
	struct sip_auth a;
	int err;

	(void)state;
	assert_int_equal(parse_n(&a, hdr, n), 0);
	for (size_t len = 0; len <= n; len++) {
		err = parse_n(&a, hdr, len);
		assert_true(err == 0 || err == SIP_ERR_AUTH);
		if (err == 0)
			check_inside(&a, held, len);
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < sizeof(special); k++) {
			memcpy(copy, hdr, n);
			copy[i] = special[k];
			err = parse_n(&a, copy, n);
			assert_true(err == 0 || err == SIP_ERR_AUTH);
			if (err == 0)
				check_inside(&a, held, n);
		}
	}
}

static void test_print_challenge(void **state)
{
	struct sip_auth_challenge ch = {
	        .realm = PL("sip.example.org"),
	        .nonce = PL("abc/123+="),
	        .opaque = PL("xyz"),
	        .algorithm = PL("MD5"),
	        .qop = PL("auth"),
	        .stale = true,
	};
	const char *want;
	char buf[256];
	struct sip_auth a;

	(void)state;
	want = "Digest realm=\"sip.example.org\", nonce=\"abc/123+=\", opaque=\"xyz\", "
	       "stale=true, algorithm=MD5, qop=\"auth\"";
	assert_int_equal(sip_auth_print_challenge(buf, sizeof(buf), &ch), (int)strlen(want));
	assert_string_equal(buf, want);
	assert_int_equal(parse(&a, buf), 0);
	assert_true(pl_is(a.realm, "sip.example.org"));
	assert_true(pl_is(a.nonce, "abc/123+="));
	assert_true(pl_is(a.stale, "true"));
	assert_true(pl_is(a.qop, "auth"));

	/* All fields, stale false: left out. */
	ch = (struct sip_auth_challenge){
	        .realm = PL("r"),
	        .domain = PL("sip:a sip:b"),
	        .nonce = PL("n"),
	        .opaque = PL(""),
	        .algorithm = PL("SHA-512-256"),
	        .qop = PL("auth,auth-int"),
	        .charset = PL("UTF-8"),
	        .userhash = true,
	};
	assert_true(sip_auth_print_challenge(buf, sizeof(buf), &ch) > 0);
	assert_string_equal(buf, "Digest realm=\"r\", domain=\"sip:a sip:b\", nonce=\"n\", "
	                         "opaque=\"\", algorithm=SHA-512-256, qop=\"auth,auth-int\", "
	                         "charset=UTF-8, userhash=true");

	ch = (struct sip_auth_challenge){.stale = false};
	assert_int_equal(sip_auth_print_challenge(buf, sizeof(buf), &ch), 6);
	assert_string_equal(buf, "Digest");
}

static void test_print_credentials(void **state)
{
	struct sip_auth_credentials cr = {
	        .username = PL("Mufasa"),
	        .realm = PL("testrealm@host.com"),
	        .nonce = PL("dcd98b7102dd2f0e8b11d0f600bfb0c093"),
	        .uri = PL("/dir/index.html"),
	        .response = PL("6629fae49393a05397450978507c4ef1"),
	        .algorithm = PL("MD5"),
	        .cnonce = PL("0a4f113b"),
	        .opaque = PL("5ccc069c403ebaf9f0171e9517f40e41"),
	        .qop = PL("auth"),
	        .nc = PL("00000001"),
	};
	const char *want = "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
	                   "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", "
	                   "response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5, "
	                   "cnonce=\"0a4f113b\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", "
	                   "qop=auth, nc=00000001";
	char buf[512];
	size_t n = strlen(want);

	(void)state;
	assert_int_equal(sip_auth_print_credentials(buf, sizeof(buf), &cr), (int)n);
	assert_string_equal(buf, want);
	/* Every short buffer fails cleanly; len + 1 is enough. */
	for (size_t cap = 0; cap <= n; cap++)
		assert_int_equal(sip_auth_print_credentials(buf, cap, &cr), SIP_ERR_NOSPACE);
	assert_int_equal(sip_auth_print_credentials(buf, n + 1, &cr), (int)n);
	assert_string_equal(buf, want);

	cr.userhash = true;
	assert_int_equal(sip_auth_print_credentials(buf, sizeof(buf), &cr), (int)n + 15);
	assert_string_equal(buf + n, ", userhash=true");
}

static void test_print_errors(void **state)
{
	struct sip_auth_credentials cr = {.username = PL("a"), .qop = PL("auth int")};
	struct sip_auth_challenge ch = {.realm = PL("a\r\n b")};
	char buf[128];

	(void)state;
	assert_int_equal(sip_auth_print_credentials(buf, sizeof(buf), &cr), SIP_ERR_AUTH);
	cr.qop = PL("");
	assert_int_equal(sip_auth_print_credentials(buf, sizeof(buf), &cr), SIP_ERR_AUTH);
	cr.qop = PL("\"auth\"");
	assert_int_equal(sip_auth_print_credentials(buf, sizeof(buf), &cr), SIP_ERR_AUTH);
	cr.qop = SIP_PL_NULL;
	cr.nc = PL("0000,001");
	assert_int_equal(sip_auth_print_credentials(buf, sizeof(buf), &cr), SIP_ERR_AUTH);
	cr.nc = SIP_PL_NULL;
	cr.username = sip_pl("a\0b", 3);
	assert_int_equal(sip_auth_print_credentials(buf, sizeof(buf), &cr), SIP_ERR_AUTH);

	assert_int_equal(sip_auth_print_challenge(buf, sizeof(buf), &ch), SIP_ERR_AUTH);
	ch.realm = PL("tab\tok");
	assert_int_equal(sip_auth_print_challenge(buf, sizeof(buf), &ch), 21);
	ch.charset = PL("UTF 8");
	assert_int_equal(sip_auth_print_challenge(buf, sizeof(buf), &ch), SIP_ERR_AUTH);
	ch.charset = SIP_PL_NULL;
	ch.algorithm = PL("MD5;x");
	assert_int_equal(sip_auth_print_challenge(buf, sizeof(buf), &ch), SIP_ERR_AUTH);
	assert_int_equal(sip_auth_print_challenge(NULL, 0, &ch), SIP_ERR_AUTH);
	ch.algorithm = SIP_PL_NULL;
	assert_int_equal(sip_auth_print_challenge(NULL, 0, &ch), SIP_ERR_NOSPACE);
}

/* Unquotes a parsed field into buf and returns it as a slice (unset stays
 * unset), the form the printers take. */
static struct sip_pl plain(struct sip_pl raw, char *buf, size_t cap)
{
	int n;

	if (!sip_pl_isset(raw))
		return SIP_PL_NULL;
	n = sip_auth_unquote(raw, buf, cap);
	assert_true(n >= 0);
	return sip_pl(buf, (size_t)n);
}

/* Parse a credentials header full of quoted-pairs, print it from the
 * unquoted fields, parse again: the unquoted fields must be the same. */
static void test_round_trip(void **state)
{
	struct sip_auth a, b;
	struct sip_auth_credentials cr;
	char f[10][64], g[64], h[64], out[512];
	const struct sip_pl *pa[] = {&a.username, &a.realm,  &a.nonce, &a.uri,
	                             &a.response, &a.cnonce, &a.opaque};
	const struct sip_pl *pb[] = {&b.username, &b.realm,  &b.nonce, &b.uri,
	                             &b.response, &b.cnonce, &b.opaque};
	char *copy;

	(void)state;
	assert_int_equal(parse(&a,
	                       "Digest username=\"Jo \\\"the\\\" \\\\Bo\", realm=\"r\\eal\","
	                       "\r\n\tnonce=\"n\\\"\", uri=\"sip:x@y;a=\\\"b\\\"\", "
	                       "response=\"0123456789abcdef0123456789abcdef\", algorithm=\"MD5\","
	                       " cnonce=\"c, d\", opaque=\"\", qop=\"auth\", nc=00000002, "
	                       "userhash=false, x=y"),
	                 0);
	copy = held;
	held = NULL;
	cr = (struct sip_auth_credentials){
	        .username = plain(a.username, f[0], 64),
	        .realm = plain(a.realm, f[1], 64),
	        .nonce = plain(a.nonce, f[2], 64),
	        .uri = plain(a.uri, f[3], 64),
	        .response = plain(a.response, f[4], 64),
	        .algorithm = plain(a.algorithm, f[5], 64),
	        .cnonce = plain(a.cnonce, f[6], 64),
	        .opaque = plain(a.opaque, f[7], 64),
	        .qop = plain(a.qop, f[8], 64),
	        .nc = plain(a.nc, f[9], 64),
	        .userhash = sip_pl_caseeq_str(a.userhash, "true"),
	};
	assert_true(sip_pl_eq(cr.username, PL("Jo \"the\" \\Bo")));
	assert_true(sip_auth_print_credentials(out, sizeof(out), &cr) > 0);
	assert_int_equal(parse(&b, out), 0);
	for (size_t i = 0; i < sizeof(pa) / sizeof(pa[0]); i++) {
		int n = sip_auth_unquote(*pb[i], g, sizeof(g));

		assert_true(n >= 0);
		assert_true(sip_pl_eq(plain(*pa[i], h, sizeof(h)), sip_pl(g, (size_t)n)));
	}
	assert_true(pl_is(b.algorithm, "MD5"));
	assert_true(pl_is(b.qop, "auth"));
	assert_true(pl_is(b.nc, "00000002"));
	assert_false(sip_pl_isset(b.userhash));
	free(copy);
}

/* A registrar and a phone, as libsip would drive them: the server prints a
 * challenge, the client parses it and answers, the server verifies. */
static void test_exchange(void **state)
{
	struct sip_auth_challenge ch = {
	        .realm = PL("biloxi.com"),
	        .nonce = PL("b8f0\"9a"),
	        .opaque = PL("o"),
	        .algorithm = PL("SHA-256"),
	        .qop = PL("auth-int,auth"),
	};
	char chal[256], cred[512], realm[64], nonce[64], ha1[SIP_DIGEST_HEX_MAX];
	char resp[SIP_DIGEST_HEX_MAX], want[SIP_DIGEST_HEX_MAX], sent[SIP_DIGEST_HEX_MAX];
	struct sip_auth a;
	enum sip_digest_alg alg;
	struct sip_digest_req req;
	int n;

	(void)state;
	assert_true(sip_auth_print_challenge(chal, sizeof(chal), &ch) > 0);

	/* Phone. */
	assert_int_equal(parse(&a, chal), 0);
	assert_int_equal(sip_digest_alg_parse(a.algorithm, &alg), 0);
	assert_int_equal(alg, SIP_DIGEST_SHA256);
	assert_true(sip_digest_qop_offered(a.qop, SIP_DIGEST_QOP_AUTH));
	n = sip_auth_unquote(a.realm, realm, sizeof(realm));
	assert_int_equal(n, 10);
	n = sip_auth_unquote(a.nonce, nonce, sizeof(nonce));
	assert_int_equal(n, 7);
	assert_int_equal(
	        sip_digest_ha1(alg, PL("bob"), PL(realm), PL("zanzibar"), ha1, sizeof(ha1)), 64);
	req = (struct sip_digest_req){
	        .alg = alg,
	        .qop = SIP_DIGEST_QOP_AUTH,
	        .nonce = PL(nonce),
	        .nc = PL("00000001"),
	        .cnonce = PL("0a4f113b"),
	        .method = PL("REGISTER"),
	        .uri = PL("sip:biloxi.com"),
	};
	assert_int_equal(sip_digest_compute(&req, PL(ha1), resp, sizeof(resp)), 64);
	struct sip_auth_credentials cr = {
	        .username = PL("bob"),
	        .realm = PL(realm),
	        .nonce = PL(nonce),
	        .uri = PL("sip:biloxi.com"),
	        .response = PL(resp),
	        .algorithm = PL("SHA-256"),
	        .cnonce = PL("0a4f113b"),
	        .opaque = PL("o"),
	        .qop = PL("auth"),
	        .nc = PL("00000001"),
	};
	assert_true(sip_auth_print_credentials(cred, sizeof(cred), &cr) > 0);

	/* Registrar: knows HA1 for bob, rebuilds the request digest. */
	assert_int_equal(parse(&a, cred), 0);
	assert_true(pl_is(a.nonce, "b8f0\\\"9a"));
	sip_auth_unquote(a.nonce, nonce, sizeof(nonce));
	assert_string_equal(nonce, "b8f0\"9a");
	req.nonce = PL(nonce);
	req.nc = a.nc;
	req.cnonce = a.cnonce;
	assert_int_equal(sip_digest_qop_parse(a.qop, &req.qop), 0);
	assert_int_equal(sip_digest_compute(&req, PL(ha1), want, sizeof(want)), 64);
	sip_auth_unquote(a.response, sent, sizeof(sent));
	assert_true(sip_digest_hex_eq(PL(want), PL(sent)));

	/* The same response under a HA1 of another password fails. */
	sip_digest_ha1(alg, PL("bob"), PL(realm), PL("Zanzibar"), ha1, sizeof(ha1));
	assert_int_equal(sip_digest_compute(&req, PL(ha1), want, sizeof(want)), 64);
	assert_false(sip_digest_hex_eq(PL(want), PL(sent)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_teardown(test_linphone_challenge, teardown),
	        cmocka_unit_test_teardown(test_linphone_credentials, teardown),
	        cmocka_unit_test_teardown(test_yealink_asterisk, teardown),
	        cmocka_unit_test_teardown(test_folded_lines, teardown),
	        cmocka_unit_test_teardown(test_odd_spacing, teardown),
	        cmocka_unit_test_teardown(test_unknown_params, teardown),
	        cmocka_unit_test_teardown(test_unknown_scheme, teardown),
	        cmocka_unit_test_teardown(test_quoted_pairs, teardown),
	        cmocka_unit_test_teardown(test_errors, teardown),
	        cmocka_unit_test_teardown(test_truncate_and_mutate, teardown),
	        cmocka_unit_test_teardown(test_print_challenge, teardown),
	        cmocka_unit_test_teardown(test_print_credentials, teardown),
	        cmocka_unit_test_teardown(test_print_errors, teardown),
	        cmocka_unit_test_teardown(test_round_trip, teardown),
	        cmocka_unit_test_teardown(test_exchange, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
