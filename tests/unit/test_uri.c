/*
 * test_uri.c — unit tests of src/sip/uri.c: SIP/SIPS/tel/other URI parsing
 * (RFC 3261 §19.1.1, §25.1; RFC 3966 §3; RFC 2396 absoluteURI), canonical
 * printing and round trips, the equivalence rules of RFC 3261 §19.1.4 (every
 * example pair of that section) and RFC 3966 §4, escapes (RFC 4475 esc01,
 * escnull, intmeth, semiuri) and malformed input.
 *
 * Every URI is parsed from a heap copy of exactly its length, with no NUL
 * after it, so AddressSanitizer catches any read past the slice.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "libsip/uri.h"

#include "test_util.h"

/* ---- helpers ------------------------------------------------------------ */

/* A URI parsed from its own exact-size heap buffer. */
struct parsed {
	char *buf;
	struct sip_uri u;
	int err;
};

static struct parsed parse_n(const char *s, size_t len)
{
	struct parsed p = {malloc(len ? len : 1), {0}, 0};

	assert_non_null(p.buf);
	if (len)
		memcpy(p.buf, s, len);
	p.err = sip_uri_parse(&p.u, sip_pl(p.buf, len));
	return p;
}

static struct parsed parse(const char *s)
{
	return parse_n(s, strlen(s));
}

static struct parsed parse_ok_at(const char *s, int line)
{
	struct parsed p = parse(s);

	if (p.err != 0)
		fail_msg("line %d: '%s' should parse, got %d", line, s, p.err);
	return p;
}
#define PARSE_OK(s) parse_ok_at((s), __LINE__)

static void done(struct parsed *p)
{
	free(p->buf);
	p->buf = NULL;
}

/* want NULL: the slice must be unset; otherwise equal to want. */
static void pl_is_at(struct sip_pl pl, const char *want, const char *what, int line)
{
	if (!want) {
		if (pl.p)
			fail_msg("line %d: %s should be unset, is '%.*s'", line, what, (int)pl.len,
			         pl.p);
		return;
	}
	if (!pl.p || pl.len != strlen(want) || memcmp(pl.p, want, pl.len) != 0)
		fail_msg("line %d: %s should be '%s', is '%.*s'%s", line, what, want,
		         pl.p ? (int)pl.len : 0, pl.p ? pl.p : "", pl.p ? "" : " (unset)");
}
#define PL_IS(pl, want) pl_is_at((pl), (want), #pl, __LINE__)

/* ---- valid URIs, every field ----------------------------------------------- */

struct want {
	const char *in;
	enum sip_uri_scheme scheme;
	const char *scheme_pl, *user, *password, *host;
	enum sip_host_type ht;
	uint16_t port;
	const char *params, *headers, *opaque;
};

#define S SIP_SCHEME_SIP
#define SS SIP_SCHEME_SIPS
#define T SIP_SCHEME_TEL
#define O SIP_SCHEME_OTHER
#define DOM SIP_HOST_DOMAIN
#define V4 SIP_HOST_IPV4
#define V6 SIP_HOST_IPV6
#define NOH SIP_HOST_NONE

static const char intmeth[] =
        "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too."
        "(doesn't-it)@example.com";
static const char esc01_contact[] = "sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31";

static const struct want valid[] = {
        {"sip:alice@atlanta.com", S, "sip", "alice", NULL, "atlanta.com", DOM, 0, "", "", NULL},
        {"sips:alice:secretword@atlanta.com;transport=tcp", SS, "sips", "alice", "secretword",
         "atlanta.com", DOM, 0, ";transport=tcp", "", NULL},
        {"sip:+1-212-555-1212:1234@gateway.com;user=phone", S, "sip", "+1-212-555-1212", "1234",
         "gateway.com", DOM, 0, ";user=phone", "", NULL},
        {"sip:alice@192.0.2.4", S, "sip", "alice", NULL, "192.0.2.4", V4, 0, "", "", NULL},
        {"sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com", S, "sip", NULL, NULL,
         "atlanta.com", DOM, 0, ";method=REGISTER", "to=alice%40atlanta.com", NULL},
        {"sip:alice;day=tuesday@atlanta.com", S, "sip", "alice;day=tuesday", NULL, "atlanta.com",
         DOM, 0, "", "", NULL},
        {"SIP:Bob@Biloxi.COM:5060", S, "SIP", "Bob", NULL, "Biloxi.COM", DOM, 5060, "", "", NULL},
        {"sip:[2001:db8::10]:5070", S, "sip", NULL, NULL, "2001:db8::10", V6, 5070, "", "", NULL},
        {"sip:user@[::ffff:192.0.2.1]", S, "sip", "user", NULL, "::ffff:192.0.2.1", V6, 0, "", "",
         NULL},
        {"sips:[::1]:5061;lr", SS, "sips", NULL, NULL, "::1", V6, 5061, ";lr", "", NULL},
        {"sip:[::]", S, "sip", NULL, NULL, "::", V6, 0, "", "", NULL},
        {"sip:[2001:DB8:0:0:8:800:200C:417A]", S, "sip", NULL, NULL, "2001:DB8:0:0:8:800:200C:417A",
         V6, 0, "", "", NULL},
        {"sip:[1:2:3:4:5:6:1.2.3.4]", S, "sip", NULL, NULL, "1:2:3:4:5:6:1.2.3.4", V6, 0, "", "",
         NULL},
        {"sip:[1::]:1", S, "sip", NULL, NULL, "1::", V6, 1, "", "", NULL},
        {"sip:[1:2:3:4:5:6:7::]", S, "sip", NULL, NULL, "1:2:3:4:5:6:7::", V6, 0, "", "", NULL},
        {"sip:alice@atlanta.com;lr;foo=bar?subject=x&priority=urgent", S, "sip", "alice", NULL,
         "atlanta.com", DOM, 0, ";lr;foo=bar", "subject=x&priority=urgent", NULL},
        {"sip:user;par=u%40example.net@example.com", S, "sip", "user;par=u%40example.net", NULL,
         "example.com", DOM, 0, "", "", NULL},
        {intmeth, S, "sip", "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*",
         "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)", "example.com", DOM, 0, "", "", NULL},
        {"sip:%75se%72@example.com", S, "sip", "%75se%72", NULL, "example.com", DOM, 0, "", "",
         NULL},
        {"sip:sips%3Auser%40example.com@example.net", S, "sip", "sips%3Auser%40example.com", NULL,
         "example.net", DOM, 0, "", "", NULL},
        {esc01_contact, S, "sip", "cal%6Cer", NULL, "host5.example.net", DOM, 0,
         ";%6C%72;n%61me=v%61lue%25%34%31", "", NULL},
        {"sip:null-%00-null@example.com", S, "sip", "null-%00-null", NULL, "example.com", DOM, 0,
         "", "", NULL},
        {"sip:user@example.com?Route=%3Csip:example.com%3E", S, "sip", "user", NULL, "example.com",
         DOM, 0, "", "Route=%3Csip:example.com%3E", NULL},
        {"sip:user:@host.example.com", S, "sip", "user", "", "host.example.com", DOM, 0, "", "",
         NULL},
        {"sip:example.com.:65535", S, "sip", NULL, NULL, "example.com.", DOM, 65535, "", "", NULL},
        {"sip:a@x-1.b_c.example.com", S, "sip", "a", NULL, "x-1.b_c.example.com", DOM, 0, "", "",
         NULL},
        {"sip:127.0.0.1:5080", S, "sip", NULL, NULL, "127.0.0.1", V4, 5080, "", "", NULL},
        {"sip:u@1.2.3.4:5060;maddr=239.255.255.1;ttl=15;transport=udp;x", S, "sip", "u", NULL,
         "1.2.3.4", V4, 5060, ";maddr=239.255.255.1;ttl=15;transport=udp;x", "", NULL},
        {"sip:services.example.com;lr;unknownwith=value;unknown-no-value", S, "sip", NULL, NULL,
         "services.example.com", DOM, 0, ";lr;unknownwith=value;unknown-no-value", "", NULL},
        {"sip:h.example.com;p=[a]/:&+$-_.!~*'()%20?h=[]/?:+$&i=", S, "sip", NULL, NULL,
         "h.example.com", DOM, 0, ";p=[a]/:&+$-_.!~*'()%20", "h=[]/?:+$&i=", NULL},
        {"tel:+1-201-555-0123", T, "tel", "+1-201-555-0123", NULL, NULL, NOH, 0, "", "", NULL},
        {"tel:+1-201-555-0123;phone-context=example.com", T, "tel", "+1-201-555-0123", NULL, NULL,
         NOH, 0, ";phone-context=example.com", "", NULL},
        {"tel:7042;phone-context=example.com", T, "tel", "7042", NULL, NULL, NOH, 0,
         ";phone-context=example.com", "", NULL},
        {"tel:863-1234;phone-context=+1-914-555", T, "tel", "863-1234", NULL, NULL, NOH, 0,
         ";phone-context=+1-914-555", "", NULL},
        {"TEL:+1(201)555.0123;ext=12-34;isub=abc;foo", T, "TEL", "+1(201)555.0123", NULL, NULL, NOH,
         0, ";ext=12-34;isub=abc;foo", "", NULL},
        {"tel:*21#;phone-context=example.com", T, "tel", "*21#", NULL, NULL, NOH, 0,
         ";phone-context=example.com", "", NULL},
        {"nobodyKnowsThisScheme:totallyopaquecontent", O, "nobodyKnowsThisScheme", NULL, NULL, NULL,
         NOH, 0, "", "", "totallyopaquecontent"},
        {"soap.beep://192.0.2.103:3002", O, "soap.beep", NULL, NULL, NULL, NOH, 0, "", "",
         "//192.0.2.103:3002"},
        {"isbn:2983792873", O, "isbn", NULL, NULL, NULL, NOH, 0, "", "", "2983792873"},
        {"http://www.example.com", O, "http", NULL, NULL, NULL, NOH, 0, "", "",
         "//www.example.com"},
        {"name:John_Smith", O, "name", NULL, NULL, NULL, NOH, 0, "", "", "John_Smith"},
        {"urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", O, "urn", NULL, NULL, NULL, NOH, 0, "",
         "", "uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"},
        {"mailto:a%20b@example.com?subject=x;y", O, "mailto", NULL, NULL, NULL, NOH, 0, "", "",
         "a%20b@example.com?subject=x;y"},
        {"sipx+1.-:x", O, "sipx+1.-", NULL, NULL, NULL, NOH, 0, "", "", "x"},
};

/* Field f of the parsed URI against the table; messages name the input. */
#define FIELD(f) pl_is_at(p.u.f, w->f, w->in, __LINE__)

static void check_want(const struct want *w)
{
	struct parsed p = PARSE_OK(w->in);

	if (p.u.scheme != w->scheme || p.u.host_type != w->ht || p.u.port != w->port)
		fail_msg("%s: scheme %d host_type %d port %u", w->in, p.u.scheme, p.u.host_type,
		         p.u.port);
	FIELD(scheme_pl);
	FIELD(user);
	FIELD(password);
	FIELD(host);
	FIELD(params);
	FIELD(headers);
	FIELD(opaque);
	assert_ptr_equal(p.u.raw.p, p.buf);
	assert_int_equal(p.u.raw.len, strlen(w->in));
	done(&p);
}

static void test_valid_fields(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		check_want(&valid[i]);
}

/* Well-known uri-parameters are located at parse time, escaped or not. */
static void test_known_params(void **state)
{
	struct parsed p = PARSE_OK("sip:u@h.com;Transport=TCP;user=phone;method=INVITE;ttl=15;"
	                           "maddr=239.1.2.3;lr;transport=udp");

	(void)state;
	PL_IS(p.u.transport, "TCP"); /* the first of two */
	PL_IS(p.u.user_param, "phone");
	PL_IS(p.u.method, "INVITE");
	PL_IS(p.u.ttl, "15");
	PL_IS(p.u.maddr, "239.1.2.3");
	assert_true(p.u.lr);
	done(&p);

	p = PARSE_OK("sip:u@h.com;foo=bar");
	PL_IS(p.u.transport, NULL);
	PL_IS(p.u.user_param, NULL);
	PL_IS(p.u.method, NULL);
	PL_IS(p.u.ttl, NULL);
	PL_IS(p.u.maddr, NULL);
	assert_false(p.u.lr);
	done(&p);

	/* RFC 4475 esc01: %6C%72 is lr, escaped. */
	p = PARSE_OK(esc01_contact);
	assert_true(p.u.lr);
	done(&p);

	/* A valueless well-known parameter is located as an empty slice. */
	p = PARSE_OK("sip:h.com;transport");
	assert_non_null(p.u.transport.p);
	assert_int_equal(p.u.transport.len, 0);
	done(&p);

	/* tel: has no SIP uri-parameters to locate. */
	p = PARSE_OK("tel:+1;transport=udp;lr");
	PL_IS(p.u.transport, NULL);
	assert_false(p.u.lr);
	done(&p);
}

static void test_uri_param(void **state)
{
	struct parsed p = PARSE_OK(esc01_contact);
	struct sip_pl v;
	char buf[32];

	(void)state;
	assert_int_equal(sip_uri_param(&p.u, "name", &v), 0);
	PL_IS(v, "v%61lue%25%34%31");
	/* Decoded exactly once: value%41, not valueA. */
	assert_int_equal(sip_unescape(buf, sizeof(buf), v), 8);
	assert_memory_equal(buf, "value%41", 8);
	assert_int_equal(sip_uri_param(&p.u, "LR", &v), 0);
	assert_non_null(v.p);
	assert_int_equal(v.len, 0);
	assert_int_equal(sip_uri_param(&p.u, "nam", &v), SIP_ERR_NOT_FOUND);
	assert_int_equal(sip_uri_param(&p.u, "names", &v), SIP_ERR_NOT_FOUND);
	done(&p);

	p = PARSE_OK("sip:alice@atlanta.com");
	assert_int_equal(sip_uri_param(&p.u, "lr", &v), SIP_ERR_NOT_FOUND);
	done(&p);

	p = PARSE_OK("tel:7042;phone-context=example.com");
	assert_int_equal(sip_uri_param(&p.u, "Phone-Context", &v), 0);
	PL_IS(v, "example.com");
	done(&p);
}

/* ---- RFC 4475 URIs ---------------------------------------------------------- */

static void unescaped_is(struct sip_pl pl, const char *want, size_t len)
{
	char buf[128];

	assert_int_equal(sip_unescape(buf, sizeof(buf), pl), (int)len);
	assert_memory_equal(buf, want, len);
}

static void test_rfc4475(void **state)
{
	struct parsed p, q;

	(void)state;
	/* semiuri: the ;par=... belongs to the user part. */
	p = PARSE_OK("sip:user;par=u%40example.net@example.com");
	unescaped_is(p.u.user, "user;par=u@example.net", 22);
	PL_IS(p.u.params, "");
	done(&p);

	/* esc01: an escaped sips: URI as user part; escaped user of To. */
	p = PARSE_OK("sip:sips%3Auser%40example.com@example.net");
	unescaped_is(p.u.user, "sips:user@example.com", 21);
	assert_int_equal(p.u.scheme, SIP_SCHEME_SIP);
	done(&p);
	p = PARSE_OK("sip:%75se%72@example.com");
	q = PARSE_OK("sip:user@example.com");
	unescaped_is(p.u.user, "user", 4);
	assert_true(sip_uri_eq(&p.u, &q.u));
	done(&p);
	done(&q);

	/* escnull: %00 is one octet; %00 and %00%00 are distinct users. */
	p = PARSE_OK("sip:null-%00-null@example.com");
	unescaped_is(p.u.user, "null-\0-null", 11);
	done(&p);
	p = PARSE_OK("sip:%00@host5.example.com");
	q = PARSE_OK("sip:%00%00@host5.example.com");
	unescaped_is(p.u.user, "\0", 1);
	unescaped_is(q.u.user, "\0\0", 2);
	assert_false(sip_uri_eq(&p.u, &q.u));
	assert_false(sip_uri_eq(&q.u, &p.u));
	done(&p);
	done(&q);

	/* intmeth: every odd user and password character. */
	p = PARSE_OK(intmeth);
	PL_IS(p.u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
	PL_IS(p.u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
	PL_IS(p.u.host, "example.com");
	done(&p);

	/* unkscm, novelsc, unksm2: other schemes are parsed, kept opaque. */
	p = PARSE_OK("nobodyKnowsThisScheme:totallyopaquecontent");
	assert_int_equal(p.u.scheme, SIP_SCHEME_OTHER);
	done(&p);

	/* ltgtruri, lwsruri: brackets and white space are errors. */
	p = parse("<sip:user@example.com>");
	assert_int_equal(p.err, SIP_ERR_URI);
	done(&p);
	p = parse("sip:user@example.com; lr");
	assert_int_equal(p.err, SIP_ERR_URI);
	done(&p);
}

/* ---- malformed input -------------------------------------------------------- */

static const char *const invalid[] = {
        "",
        "sip",
        "sip:",
        "sips:",
        ":x",
        "1sip:x",
        "s p:x",
        "sip:@host",
        "sip::pw@host",
        "sip:user@",
        "sip:user@;lr",
        "sip:host:65536",
        "sip:host:abc",
        "sip:host:",
        "sip:host:0",
        "sip:host:123456",
        "sip:host:99999",
        "sip:host:-1",
        "sip:[::1",
        "sip:[::1]x",
        "sip:[]",
        "sip:[1:2:3]",
        "sip:[::1::2]",
        "sip:[12345::]",
        "sip:[1:2:3:4:5:6:7:8:9]",
        "sip:[1:2:3:4:5:6:7]",
        "sip:[:1]",
        "sip:[1:]",
        "sip:[1:::2]",
        "sip:[::1.2.3.256]",
        "sip:[1.2.3.4::]",
        "sip:[1.2.3.4]",
        "sip:[g::1]",
        "sip:[1:2:3:4:5:6:7:1.2.3.4]",
        "sip:[::1%eth0]",
        "sip:[::1]]",
        "sip:%4@h",
        "sip:%GG@h",
        "sip:a%4",
        "sip:u%@h",
        "sip:u:p%@h",
        "sip:u@h;p=%4",
        "sip:u@h;%zz",
        "sip:u@h?a=%zz",
        "sip:a b@h",
        " sip:a@b",
        "sip:a@b ",
        "sip:a@b; lr",
        "sip:a@b ;lr",
        "sip:a@b\r\n",
        "sip:a@b\t",
        "<sip:a@b>",
        "sip:<a@b>",
        "sip:a@b>",
        "\"sip:a@b\"",
        "sip:\"a\"@b",
        "sip:a@b;x=\"q\"",
        "sip:a@b;x=`",
        "sip:1.2.3.256",
        "sip:256.1.1.1",
        "sip:1.2.3",
        "sip:1.2.3.4.5",
        "sip:1234.1.1.1",
        "sip:a@b@c",
        "sip:a@b;",
        "sip:a@b;;x",
        "sip:a@b;x=",
        "sip:a@b;=x",
        "sip:a@b;x=y=z",
        "sip:a@b?",
        "sip:a@b?x",
        "sip:a@b?=y",
        "sip:a@b?x=y&",
        "sip:a@b?x=y&&z=w",
        "sip:a@b?x=y?z=w;q",
        "sip:-a.com",
        "sip:a-.com",
        "sip:a..com",
        "sip:.a.com",
        "sip:a.com..",
        "sip:a.1com",
        "sip:a:b:c@d",
        "sip:a@b/c",
        "sip:a@b:5060:5060",
        "sip:a@h\xc3\xa9.com",
        "sip:\xc3\xa9@h.com",
        "sip:a@b;x=\xff",
        "tel:",
        "tel:+",
        "tel:+-",
        "tel:abc",
        "tel:1234",
        "tel:+1;ext=",
        "tel:+1;ext=x",
        "tel:+1;ext",
        "tel:+1;phone-context=",
        "tel:1;phone-context=-bad",
        "tel:1;phone-context=+",
        "tel:+1@host",
        "tel:+1;a b",
        "tel:+1;a_b=c",
        "tel:+1;",
        "tel:+1?x=y",
        "tel:+1;isub",
        "tel:+1x",
        "tel:+ 1",
        "foo:",
        "foo: bar",
        "foo:<x>",
        "http://a b",
        "x:%zz",
        "x:a\"b",
        "x:a#frag",
        "x:a{b}",
        "x:a\\b",
        "x:a|b",
        "x:a^b",
        "x:a`b",
};

static void test_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		struct parsed p = parse(invalid[i]);

		if (p.err != SIP_ERR_URI)
			fail_msg("'%s' should fail with SIP_ERR_URI, got %d", invalid[i], p.err);
		done(&p);
	}
}

/* Embedded NUL octets, a NULL slice, and slices cut short of their buffer. */
static void test_invalid_bytes(void **state)
{
	struct sip_uri u;
	struct parsed p;

	(void)state;
	assert_int_equal(sip_uri_parse(&u, SIP_PL_NULL), SIP_ERR_URI);
	p = parse_n("sip:a\0b@h", 9);
	assert_int_equal(p.err, SIP_ERR_URI);
	done(&p);
	p = parse_n("sip:ab@h\0", 9);
	assert_int_equal(p.err, SIP_ERR_URI);
	done(&p);
	p = parse_n("x:\0", 3);
	assert_int_equal(p.err, SIP_ERR_URI);
	done(&p);
	/* The slice ends inside an escape: the octets after it are not read. */
	p = parse_n("sip:a%41@h", 6);
	assert_int_equal(p.err, SIP_ERR_URI);
	done(&p);
	p = parse_n("sip:a@h;lr=1", 7);
	assert_int_equal(p.err, 0);
	PL_IS(p.u.host, "h");
	PL_IS(p.u.params, "");
	done(&p);
	p = parse_n("sip:a@[::1]", 10);
	assert_int_equal(p.err, SIP_ERR_URI);
	done(&p);
	/* On failure the output struct is left alone. */
	memset(&u, 0x5a, sizeof(u));
	assert_int_equal(sip_uri_parse(&u, sip_pl_cstr("sip:a@")), SIP_ERR_URI);
	assert_int_equal(u.port, 0x5a5a);
}

/* At most 64 parameters and 64 headers: comparison is quadratic in them. */
static void test_limits(void **state)
{
	char in[2048];
	struct parsed p;
	size_t n;

	(void)state;
	n = (size_t)snprintf(in, sizeof(in), "sip:h.com");
	for (int i = 0; i < 64; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, ";p%d=%d", i, i);
	p = parse_n(in, n);
	assert_int_equal(p.err, 0);
	done(&p);
	n += (size_t)snprintf(in + n, sizeof(in) - n, ";lr");
	p = parse_n(in, n);
	assert_int_equal(p.err, SIP_ERR_URI);
	done(&p);

	n = (size_t)snprintf(in, sizeof(in), "sip:h.com?h0=0");
	for (int i = 1; i < 64; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "&h%d=%d", i, i);
	p = parse_n(in, n);
	assert_int_equal(p.err, 0);
	done(&p);
	n += (size_t)snprintf(in + n, sizeof(in) - n, "&x=");
	p = parse_n(in, n);
	assert_int_equal(p.err, SIP_ERR_URI);
	done(&p);
}

/* ---- printing ---------------------------------------------------------------- */

static void printed_is(const char *in, const char *want)
{
	struct parsed p = PARSE_OK(in);
	char buf[512];
	int n = sip_uri_print(&p.u, buf, sizeof(buf));

	if (n < 0 || (size_t)n != strlen(want) || memcmp(buf, want, (size_t)n) != 0)
		fail_msg("print(%s) = '%.*s', want '%s'", in, n < 0 ? 0 : n, buf, want);
	done(&p);
}

static void test_print(void **state)
{
	(void)state;
	printed_is("SIP:Alice@AtLanTa.CoM:05060;Transport=TCP",
	           "sip:Alice@AtLanTa.CoM:5060;Transport=TCP");
	printed_is("SIPS:[::1]:5061", "sips:[::1]:5061");
	printed_is("sips:[2001:DB8::10]", "sips:[2001:DB8::10]");
	printed_is("HTTP://Www.Example.com", "http://Www.Example.com");
	printed_is("Soap.BEEP://x", "soap.beep://x");
	printed_is("TEL:+1-201-555-0123;Ext=1", "tel:+1-201-555-0123;Ext=1");
	printed_is("sip:%61lice:p%40ss@h.com;%6C%72?s=%20",
	           "sip:%61lice:p%40ss@h.com;%6C%72?s=%20");
	printed_is("sip:user:@h.com", "sip:user:@h.com");
	printed_is("sip:h.com:1", "sip:h.com:1");
	printed_is("sip:h.com:65535", "sip:h.com:65535");
}

static void test_print_nospace(void **state)
{
	struct parsed p = PARSE_OK("sip:alice@atlanta.com;lr");
	char buf[64];

	(void)state;
	assert_int_equal(sip_uri_print(&p.u, buf, 24), 24);
	assert_int_equal(sip_uri_print(&p.u, buf, 23), SIP_ERR_NOSPACE);
	assert_int_equal(sip_uri_print(&p.u, buf, 0), SIP_ERR_NOSPACE);
	assert_int_equal(sip_uri_print(&p.u, NULL, 0), SIP_ERR_NOSPACE);
	done(&p);
}

/* parse(print(parse(x))) has the same fields and is equivalent; for these
 * inputs the printed form is the input with its scheme in lower case. */
static void test_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		struct parsed p = PARSE_OK(valid[i].in), q;
		char buf[512], want[512];
		int n = sip_uri_print(&p.u, buf, sizeof(buf));

		assert_true(n > 0);
		q = parse_n(buf, (size_t)n);
		assert_int_equal(q.err, 0);
		if (!test_same_uri(&p.u, &q.u) || !sip_uri_eq(&p.u, &q.u) ||
		    !sip_uri_eq(&q.u, &p.u))
			fail_msg("round trip of %s gave %.*s", valid[i].in, n, buf);
		snprintf(want, sizeof(want), "%s", valid[i].in);
		for (size_t k = 0; k < p.u.scheme_pl.len; k++)
			want[k] = (char)(want[k] | 0x20);
		if ((size_t)n != strlen(want) || memcmp(buf, want, (size_t)n) != 0)
			fail_msg("print(%s) = '%.*s'", valid[i].in, n, buf);
		done(&p);
		done(&q);
	}
}

/* ---- equivalence -------------------------------------------------------------- */

static void eq_at(const char *a, const char *b, bool want, int line)
{
	struct parsed p = parse_ok_at(a, line), q = parse_ok_at(b, line);

	if (sip_uri_eq(&p.u, &q.u) != want || sip_uri_eq(&q.u, &p.u) != want)
		fail_msg("line %d: %s and %s should %sbe equivalent", line, a, b,
		         want ? "" : "not ");
	if (!sip_uri_eq(&p.u, &p.u) || !sip_uri_eq(&q.u, &q.u))
		fail_msg("line %d: equivalence is not reflexive", line);
	done(&p);
	done(&q);
}
#define EQ(a, b) eq_at((a), (b), true, __LINE__)
#define NE(a, b) eq_at((a), (b), false, __LINE__)

/* Every example pair of RFC 3261 §19.1.4. */
static void test_eq_rfc3261(void **state)
{
	(void)state;
	/* "The URIs within each of the following sets are equivalent". */
	EQ("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp");
	EQ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5");
	EQ("sip:carol@chicago.com", "sip:carol@chicago.com;security=on");
	EQ("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on");
	EQ("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
	   "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com");
	EQ("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
	   "sip:alice@atlanta.com?priority=urgent&subject=project%20x");
	/* "The URIs within each of the following sets are not equivalent". */
	NE("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP");
	NE("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060");
	NE("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp");
	NE("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp");
	NE("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting");
	NE("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4");
	/* "Note that equality is not transitive". */
	EQ("sip:carol@chicago.com", "sip:carol@chicago.com;security=off");
	NE("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off");
}

static void test_eq_sip(void **state)
{
	(void)state;
	NE("sip:alice@atlanta.com", "sips:alice@atlanta.com");
	NE("sip:alice@atlanta.com", "tel:+1;phone-context=atlanta.com");
	EQ("SIP:alice@atlanta.com", "sip:alice@atlanta.com");
	/* userinfo: exact after unescaping. */
	EQ("sip:%41lice@h.com", "sip:Alice@h.com");
	NE("sip:alice@h.com", "sip:Alice@h.com");
	NE("sip:h.com", "sip:alice@h.com");
	EQ("sip:a:p%61ss@h.com", "sip:a:pass@h.com");
	NE("sip:a:pass@h.com", "sip:a:PASS@h.com");
	NE("sip:a:pass@h.com", "sip:a@h.com");
	NE("sip:a:@h.com", "sip:a@h.com");
	EQ("sip:user;par=u%40example.net@example.com",
	   "sip:user;p%61r=u%40example.net@example.com");
	NE("sip:user;par=u%40example.net@example.com", "sip:user;par=u%40Example.net@example.com");
	/* hosts: case-insensitive, IP addresses by value. */
	EQ("sip:[2001:db8::10]", "sip:[2001:DB8:0:0:0:0:0:10]");
	EQ("sip:[::ffff:192.0.2.1]", "sip:[::ffff:c000:201]");
	EQ("sip:[1::]", "sip:[1:0:0:0:0:0:0:0]");
	NE("sip:[::1]", "sip:[::2]");
	NE("sip:[::1]", "sip:[1::]");
	EQ("sip:010.0.0.1", "sip:10.0.0.1");
	NE("sip:10.0.0.1", "sip:10.0.0.2");
	NE("sip:example.com", "sip:example.com.");
	/* ports. */
	EQ("sip:h.com:5060", "sip:h.com:05060");
	NE("sip:h.com:5060", "sip:h.com:5061");
	NE("sips:h.com", "sips:h.com:5061");
	/* parameters: names and values ignoring case and escapes, any order. */
	EQ("sip:h.com;%6C%72", "sip:h.com;LR");
	EQ("sip:h.com;lr", "sip:h.com");
	NE("sip:h.com;lr", "sip:h.com;lr=on");
	EQ("sip:h.com;a=1;b=2", "sip:h.com;B=2;A=1");
	NE("sip:h.com;a=1", "sip:h.com;a=2");
	EQ("sip:h.com;n%61me=v%61lue%25%34%31", "sip:h.com;name=VALUE%2541");
	NE("sip:h.com;name=v%61lue%25%34%31", "sip:h.com;name=valueA");
	NE("sip:h.com;maddr=x.com", "sip:h.com");
	NE("sip:h.com;ttl=1", "sip:h.com");
	NE("sip:h.com;user=phone", "sip:h.com");
	NE("sip:h.com;method=INVITE", "sip:h.com");
	NE("sip:h.com;transport=udp", "sip:h.com;transport=tcp");
	NE("sip:h.com;%74ransport=udp", "sip:h.com");
	EQ("sip:h.com;maddr=X.com;ttl=1", "sip:h.com;ttl=1;maddr=x.COM");
	EQ("sip:h.com;x=1;x=2", "sip:h.com;x=2;x=1");
	NE("sip:h.com;x=1;x=2", "sip:h.com;x=1");
	/* headers: every one in both, names ignoring case, values exact. */
	EQ("sip:h.com?Subject=a%20b", "sip:h.com?SUBJECT=a%20b");
	NE("sip:h.com?subject=X", "sip:h.com?subject=x");
	NE("sip:h.com?a=1", "sip:h.com?a=1&b=2");
	EQ("sip:h.com?a=1&a=2", "sip:h.com?a=2&a=1");
	EQ("sip:h.com?a=&b=%41", "sip:h.com?b=A&a=");
}

/* RFC 3966 §4: numbers without visual separators, parameters in any order,
 * all present in both, ignoring case. */
static void test_eq_tel(void **state)
{
	(void)state;
	EQ("tel:+1-201-555-0123", "tel:+12015550123");
	EQ("tel:+1(201)555.0123", "TEL:+1-201-555-0123");
	NE("tel:+12015550123", "tel:+12015550124");
	NE("tel:+12015550123", "tel:+1201555012");
	EQ("tel:7042;phone-context=example.com", "tel:7042;PHONE-CONTEXT=EXAMPLE.COM");
	NE("tel:7042;phone-context=example.com", "tel:7042;phone-context=example.net");
	EQ("tel:863-1234;phone-context=+1-914-555", "tel:8631234;phone-context=+1914555");
	NE("tel:1234;phone-context=+1", "tel:+11234");
	EQ("tel:ab-CD;phone-context=example.com", "tel:AbcD;phone-context=example.com");
	EQ("tel:+1-201-555-0123;a=b;c=d", "tel:+12015550123;C=D;a=B");
	NE("tel:+12015550123;ext=1", "tel:+12015550123");
	EQ("tel:+12015550123;ext=1-2", "tel:+12015550123;ext=12");
	NE("tel:+12015550123;foo", "tel:+12015550123");
	NE("tel:+12015550123;foo", "tel:+12015550123;foo=1");
	EQ("tel:+1;isub=%41bc", "tel:+1;isub=abc");
}

static void test_eq_other(void **state)
{
	(void)state;
	EQ("http://www.example.com", "HTTP://www.example.com");
	NE("http://www.example.com", "http://WWW.example.com");
	NE("http://www.example.com", "https://www.example.com");
	NE("name:John_Smith", "name:John%5FSmith");
	NE("isbn:2983792873", "sip:2983792873@example.com");
}

/* ---- escapes ------------------------------------------------------------------- */

static void test_unescape(void **state)
{
	char buf[16];

	(void)state;
	unescaped_is(sip_pl_cstr("%00"), "\0", 1);
	unescaped_is(sip_pl_cstr("%00%00"), "\0\0", 2);
	unescaped_is(sip_pl_cstr("null-%00-null"), "null-\0-null", 11);
	unescaped_is(sip_pl_cstr("v%61lue%25%34%31"), "value%41", 8);
	unescaped_is(sip_pl_cstr("%2525"), "%25", 3);
	unescaped_is(sip_pl_cstr("%c3%A9"), "\xc3\xa9", 2);
	unescaped_is(sip_pl_cstr("plain"), "plain", 5);
	assert_int_equal(sip_unescape(buf, sizeof(buf), sip_pl_cstr("")), 0);
	assert_int_equal(sip_unescape(NULL, 0, SIP_PL_NULL), 0);
	assert_int_equal(sip_unescape(buf, sizeof(buf), sip_pl_cstr("%4")), SIP_ERR_SYNTAX);
	assert_int_equal(sip_unescape(buf, sizeof(buf), sip_pl_cstr("a%")), SIP_ERR_SYNTAX);
	assert_int_equal(sip_unescape(buf, sizeof(buf), sip_pl_cstr("%GG")), SIP_ERR_SYNTAX);
	assert_int_equal(sip_unescape(buf, sizeof(buf), sip_pl_cstr("%4G")), SIP_ERR_SYNTAX);
	assert_int_equal(sip_unescape(buf, 2, sip_pl_cstr("%41%42")), 2);
	assert_int_equal(sip_unescape(buf, 2, sip_pl_cstr("%41%42%43")), SIP_ERR_NOSPACE);
	assert_int_equal(sip_unescape(buf, 0, sip_pl_cstr("a")), SIP_ERR_NOSPACE);
	/* Never reads past the slice, even into a valid-looking escape. */
	assert_int_equal(sip_unescape(buf, sizeof(buf), sip_pl("a%41", 3)), SIP_ERR_SYNTAX);
}

static void test_escaped_eq(void **state)
{
	(void)state;
	assert_true(sip_escaped_eq(sip_pl_cstr("%61"), sip_pl_cstr("a"), false));
	assert_true(sip_escaped_eq(sip_pl_cstr("%41"), sip_pl_cstr("a"), true));
	assert_false(sip_escaped_eq(sip_pl_cstr("%41"), sip_pl_cstr("a"), false));
	assert_false(sip_escaped_eq(sip_pl_cstr("%00"), sip_pl_cstr("%00%00"), false));
	assert_false(sip_escaped_eq(sip_pl_cstr("%00"), sip_pl_cstr(""), false));
	assert_true(sip_escaped_eq(sip_pl_cstr("%2541"), sip_pl_cstr("%2541"), false));
	assert_false(sip_escaped_eq(sip_pl_cstr("%2541"), sip_pl_cstr("A"), true));
	assert_true(sip_escaped_eq(SIP_PL_NULL, sip_pl_cstr(""), false));
	assert_true(sip_escaped_eq(SIP_PL_NULL, SIP_PL_NULL, true));
	assert_false(sip_escaped_eq(SIP_PL_NULL, sip_pl_cstr("a"), true));
	/* A '%' that starts no escape compares as itself. */
	assert_true(sip_escaped_eq(sip_pl_cstr("100%"), sip_pl_cstr("100%25"), false));
	assert_true(sip_escaped_eq(sip_pl("%41", 2), sip_pl_cstr("%4"), false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_valid_fields), cmocka_unit_test(test_known_params),
	        cmocka_unit_test(test_uri_param),    cmocka_unit_test(test_rfc4475),
	        cmocka_unit_test(test_invalid),      cmocka_unit_test(test_invalid_bytes),
	        cmocka_unit_test(test_print),        cmocka_unit_test(test_print_nospace),
	        cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_eq_rfc3261),
	        cmocka_unit_test(test_eq_sip),       cmocka_unit_test(test_eq_tel),
	        cmocka_unit_test(test_eq_other),     cmocka_unit_test(test_unescape),
	        cmocka_unit_test(test_escaped_eq),   cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
