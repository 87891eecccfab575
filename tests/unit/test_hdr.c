/*
 * test_hdr.c — the structured header parsers of include/libsip/hdr.h and the
 * parameter iterator of uri.h (src/sip/via.c, addr.c, hdr_misc.c, params.c):
 * Via (RFC 3261 §20.42, RFC 3581 rport), name-addr / addr-spec with header
 * parameters (§20.10, RFC 5626 +sip.instance and reg-id), qvalues, CSeq,
 * decimal values, Content-Type, Retry-After, Call-ID, Date (RFC 1123 in GMT)
 * and ;name=value lists, each with the well-formed and the malformed inputs
 * RFC 4475 and the grammar of §25.1 single out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "libsip/hdr.h"
#include "libsip/msg.h"

#define PL(s) sip_pl_cstr(s)
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Asserts that slice pl is set and holds exactly the bytes of want. */
#define assert_pl(pl, want) assert_pl_at((pl), (want), __FILE__, __LINE__)

static void assert_pl_at(struct sip_pl pl, const char *want, const char *file, int line)
{
	char buf[512];

	_assert_true(pl.p != NULL, "slice is set", file, line);
	_assert_true(pl.len < sizeof(buf), "slice fits the test buffer", file, line);
	sip_pl_strcpy(buf, sizeof(buf), pl);
	_assert_int_equal(strlen(buf), pl.len, file, line); /* no NUL inside */
	_assert_string_equal(buf, want, file, line);
}

/* ---- Via ---------------------------------------------------------------- */

static void test_via_basic(void **state)
{
	struct sip_via v;

	(void)state;
	assert_int_equal(sip_via_parse(&v, PL("SIP/2.0/UDP pc33.atlanta.com:5066"
	                                      ";branch=z9hG4bK776asdhds;received=192.0.2.1")),
	                 0);
	assert_pl(v.proto, "SIP");
	assert_pl(v.version, "2.0");
	assert_pl(v.transport, "UDP");
	assert_int_equal(v.tp, SIP_TP_UDP);
	assert_pl(v.host, "pc33.atlanta.com");
	assert_int_equal(v.host_type, SIP_HOST_DOMAIN);
	assert_int_equal(v.port, 5066);
	assert_pl(v.sent_by, "pc33.atlanta.com:5066");
	assert_pl(v.params, ";branch=z9hG4bK776asdhds;received=192.0.2.1");
	assert_pl(v.branch, "z9hG4bK776asdhds");
	assert_pl(v.received, "192.0.2.1");
	assert_null(v.maddr.p);
	assert_null(v.ttl.p);
	assert_false(v.has_rport);
	assert_int_equal(v.rport, 0);
	assert_true(sip_via_branch_is_3261(&v));
}

static void test_via_transports(void **state)
{
	static const struct {
		const char *written;
		enum sip_transport tp;
	} cases[] = {
	        {"UDP", SIP_TP_UDP},         {"udp", SIP_TP_UDP},    {"TCP", SIP_TP_TCP},
	        {"Tls", SIP_TP_TLS},         {"SCTP", SIP_TP_SCTP},  {"TLS-SCTP", SIP_TP_TLS_SCTP},
	        {"WS", SIP_TP_WS},           {"WSS", SIP_TP_WSS},    {"UNKNOWN", SIP_TP_OTHER},
	        {"x-quic.v1", SIP_TP_OTHER}, {"UDPX", SIP_TP_OTHER}, {"TL", SIP_TP_OTHER},
	};
	char buf[128];
	struct sip_via v;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		snprintf(buf, sizeof(buf), "SIP/2.0/%s t.example.com;branch=z9hG4bKx",
		         cases[i].written);
		assert_int_equal(sip_via_parse(&v, PL(buf)), 0);
		assert_pl(v.transport, cases[i].written);
		assert_int_equal(v.tp, cases[i].tp);
		assert_pl(v.host, "t.example.com");
	}
}

static void test_via_hosts(void **state)
{
	struct sip_via v;

	(void)state;
	assert_int_equal(sip_via_parse(&v, PL("SIP/2.0/UDP 192.0.2.1:5060")), 0);
	assert_pl(v.host, "192.0.2.1");
	assert_int_equal(v.host_type, SIP_HOST_IPV4);
	assert_int_equal(v.port, 5060);
	assert_int_equal(v.params.len, 0);
	assert_null(v.branch.p);
	assert_false(sip_via_branch_is_3261(&v));

	assert_int_equal(sip_via_parse(&v, PL("SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bK6")),
	                 0);
	assert_pl(v.host, "2001:db8::1");
	assert_int_equal(v.host_type, SIP_HOST_IPV6);
	assert_int_equal(v.port, 5070);
	assert_pl(v.sent_by, "[2001:db8::1]:5070");
	assert_pl(v.branch, "z9hG4bK6");

	assert_int_equal(sip_via_parse(&v, PL("SIP/2.0/TLS [::1];branch=z9hG4bK7")), 0);
	assert_pl(v.host, "::1");
	assert_int_equal(v.host_type, SIP_HOST_IPV6);
	assert_int_equal(v.port, 0);
	assert_pl(v.sent_by, "[::1]");

	assert_int_equal(sip_via_parse(&v, PL("SIP/2.0/UDP example.com")), 0);
	assert_pl(v.host, "example.com");
	assert_int_equal(v.port, 0);
	assert_pl(v.sent_by, "example.com");

	/* COLON is SWS ":" SWS (§25.1). */
	assert_int_equal(sip_via_parse(&v, PL("SIP/2.0/UDP example.com : 5060 ;branch=z9hG4bK1")),
	                 0);
	assert_pl(v.host, "example.com");
	assert_int_equal(v.port, 5060);
	assert_pl(v.sent_by, "example.com : 5060");
	assert_pl(v.branch, "z9hG4bK1");

	assert_int_equal(sip_via_parse(&v, PL("SIP/2.0/UDP h.example:65535")), 0);
	assert_int_equal(v.port, 65535);
	assert_int_equal(sip_via_parse(&v, PL("SIP/2.0/UDP h.example:05060")), 0);
	assert_int_equal(v.port, 5060);
}

static void test_via_params(void **state)
{
	struct sip_via v;

	(void)state;
	assert_int_equal(sip_via_parse(&v, PL("SIP/2.0/UDP h.example;rport;maddr=224.2.0.1"
	                                      ";ttl=16;BRANCH=z9hG4bKa;x-ext=1;flag")),
	                 0);
	assert_true(v.has_rport);
	assert_int_equal(v.rport, 0);
	assert_pl(v.maddr, "224.2.0.1");
	assert_pl(v.ttl, "16");
	assert_pl(v.branch, "z9hG4bKa");
	assert_null(v.received.p);

	assert_int_equal(sip_via_parse(&v, PL("SIP/2.0/UDP h.example;branch=z9hG4bKb"
	                                      ";received=192.0.2.7;rport=5061")),
	                 0);
	assert_true(v.has_rport);
	assert_int_equal(v.rport, 5061);
	assert_pl(v.received, "192.0.2.7");

	/* received may be an IPv6 address (RFC 5118). */
	assert_int_equal(sip_via_parse(&v, PL("SIP/2.0/UDP h.example;received=2001:db8::9"
	                                      ";branch=z9hG4bKc;ttl=0;ttl=255")),
	                 0);
	assert_pl(v.received, "2001:db8::9");
	assert_pl(v.ttl, "255");

	/* Not the magic cookie: an RFC 2543 branch. */
	assert_int_equal(sip_via_parse(&v, PL("SIP/2.0/UDP h.example;branch=776asdhds")), 0);
	assert_false(sip_via_branch_is_3261(&v));
	assert_int_equal(sip_via_parse(&v, PL("SIP/2.0/UDP h.example;branch=z9hG4b")), 0);
	assert_false(sip_via_branch_is_3261(&v));
	assert_int_equal(sip_via_parse(&v, PL("SIP/2.0/UDP h.example;branch=Z9HG4BK1")), 0);
	assert_false(sip_via_branch_is_3261(&v));
	assert_int_equal(sip_via_parse(&v, PL("SIP/2.0/UDP h.example;branch=z9hG4bK")), 0);
	assert_true(sip_via_branch_is_3261(&v));
}

static void test_via_lws(void **state)
{
	struct sip_via v;

	(void)state;
	assert_int_equal(sip_via_parse(&v, PL("SIP / 2.0 / UDP host.example ; branch = z9hG4bK1"
	                                      " ; rport = 5062")),
	                 0);
	assert_pl(v.proto, "SIP");
	assert_pl(v.version, "2.0");
	assert_pl(v.transport, "UDP");
	assert_pl(v.host, "host.example");
	assert_pl(v.branch, "z9hG4bK1");
	assert_int_equal(v.rport, 5062);

	/* Folded lines (CRLF + white space) count as LWS everywhere. */
	assert_int_equal(sip_via_parse(&v, PL("SIP\r\n /2.0\r\n\t/ TCP\r\n host.example"
	                                      "\r\n :5070\r\n ;branch\r\n =\r\n z9hG4bK2"
	                                      "\r\n ;rport")),
	                 0);
	assert_pl(v.transport, "TCP");
	assert_int_equal(v.tp, SIP_TP_TCP);
	assert_pl(v.host, "host.example");
	assert_int_equal(v.port, 5070);
	assert_pl(v.branch, "z9hG4bK2");
	assert_true(v.has_rport);

	/* RFC 4475 transports.dat: "SIP  /2.0/ TCP". */
	assert_int_equal(sip_via_parse(&v, PL("SIP  /2.0/ TCP t2.example.com;branch=z9hG4bKa")), 0);
	assert_pl(v.transport, "TCP");
	assert_pl(v.host, "t2.example.com");
}

static void test_via_version(void **state)
{
	static const char *const bad[] = {
	        "SIP/1.0/UDP h.example;branch=z9hG4bK1", "SIP/3.0/UDP h.example",
	        "SIP/2.00/UDP h.example",
	        "SIP/1.0/UDP", /* the version is refused before the missing host */
	};
	struct sip_via v;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++)
		assert_int_equal(sip_via_parse(&v, PL(bad[i])), SIP_ERR_VERSION);
}

static void test_via_bad(void **state)
{
	static const char *const bad[] = {
	        "",
	        "SIP/2.0/UDP",
	        "SIP/2.0/UDP ",
	        "SIP/2.0/UDP ;branch=z9hG4bK1",
	        "SIP/2.0/UDP h.example;;branch=z9hG4bK1",
	        "SIP/2.0/UDP h.example;branch=z9hG4bK1;;",
	        "SIP/2.0/UDP h.example;=x",
	        "SIP/2.0/UDP h.example:70000",
	        "SIP/2.0/UDP h.example:0", /* no port 0 */
	        "SIP/2.0/UDP h.example:123456",
	        "SIP/2.0/UDP h.example:",
	        "SIP/2.0/UDP h.example:-1",
	        "SIP/2.0/UDP h.example garbage",
	        "SIP/2.0/UDP h.example;branch=z9hG4bK1 garbage",
	        "SIP/2.0/UDP h@example;branch=z9hG4bK1",
	        "SIP/2.0/UDP h.example, SIP/2.0/UDP b.example",
	        "SIP/2.0/UDP h.example;ttl=300",
	        "SIP/2.0/UDP h.example;ttl=",
	        "SIP/2.0/UDP h.example;ttl",
	        "SIP/2.0/UDP h.example;ttl=abc",
	        "SIP/2.0/UDP h.example;branch",
	        "SIP/2.0/UDP h.example;rport=x",
	        "SIP/2.0/UDP h.example;rport=70000",
	        "SIP/2.0/UDP [2001:db8::1",
	        "SIP/2.0/UDP [2001:db8::zz]:5060",
	        "SIP/2.0/UDP 2001:db8::1",
	        "SIP/2.0/UDP -h.example",
	        "SIP/2.0/UDP 1.2.3.4.5",
	        "SIP/2.0UDP h.example",
	        "SIP/2.0/ h.example",
	        "SIP/2.0/UDPh.example",
	        "SIP/2.0",
	        "SIP",
	        "XIP/2.0/UDP h.example",
	        "SIP/2.0/UDP\th.example;branch=\"z9hG4bK1",
	};
	struct sip_via v;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		int r = sip_via_parse(&v, PL(bad[i]));

		if (r != SIP_ERR_VIA)
			fail_msg("\"%s\": got %d, want SIP_ERR_VIA", bad[i], r);
	}
}

/* ---- name-addr / addr-spec -------------------------------------------- */

static void test_addr_name_addr(void **state)
{
	struct sip_addr a;
	char buf[64];

	(void)state;
	assert_int_equal(sip_addr_parse(&a, PL("\"Alice \\\"A\\\" Liddell\" "
	                                       "<sip:alice@atlanta.com>;tag=1928301774")),
	                 0);
	assert_pl(a.display, "\"Alice \\\"A\\\" Liddell\"");
	assert_pl(a.uri, "sip:alice@atlanta.com");
	assert_pl(a.params, ";tag=1928301774");
	assert_pl(a.tag, "1928301774");
	assert_true(a.bracketed);
	assert_false(a.star);
	assert_int_equal(sip_addr_display(&a, buf, sizeof(buf)), 17);
	assert_memory_equal(buf, "Alice \"A\" Liddell", 17);

	/* Quoted display name written against '<', params with LWS. */
	assert_int_equal(sip_addr_parse(&a, PL("\"Bob\"<sips:bob@biloxi.com> ; tag = a48s")), 0);
	assert_pl(a.display, "\"Bob\"");
	assert_pl(a.uri, "sips:bob@biloxi.com");
	assert_pl(a.tag, "a48s");

	/* Token display names: the run of tokens, trimmed, kept as written. */
	assert_int_equal(sip_addr_parse(&a, PL("  Mr. Bob   Smith <sip:bob@biloxi.com>")), 0);
	assert_pl(a.display, "Mr. Bob   Smith");
	assert_pl(a.uri, "sip:bob@biloxi.com");
	assert_int_equal(a.params.len, 0);
	assert_null(a.tag.p);
	assert_int_equal(sip_addr_display(&a, buf, sizeof(buf)), 15);
	assert_memory_equal(buf, "Mr. Bob   Smith", 15);

	/* RFC 4475 lwsdisp: a token display name runs straight into '<'. */
	assert_int_equal(sip_addr_parse(&a, PL("caller<sip:caller@example.com>;tag=323")), 0);
	assert_pl(a.display, "caller");
	assert_pl(a.uri, "sip:caller@example.com");
	assert_pl(a.tag, "323");

	/* No display name at all. */
	assert_int_equal(sip_addr_parse(&a, PL("<sip:carol@chicago.com;lr>")), 0);
	assert_int_equal(a.display.len, 0);
	assert_pl(a.uri, "sip:carol@chicago.com;lr");
	assert_int_equal(sip_addr_display(&a, buf, sizeof(buf)), 0);

	/* The URI inside < > may carry params, headers and commas (§20.10). */
	assert_int_equal(sip_addr_parse(&a, PL("<sip:a@b.example;transport=tcp?subject=x,y>"
	                                       ";expires=60")),
	                 0);
	assert_pl(a.uri, "sip:a@b.example;transport=tcp?subject=x,y");
	assert_pl(a.expires, "60");
}

static void test_addr_contact_params(void **state)
{
	struct sip_addr a;

	(void)state;
	assert_int_equal(sip_addr_parse(&a, PL("<sip:bob@192.0.2.4>;q=0.7;expires=3600"
	                                       ";+sip.instance=\"<urn:uuid:f81d4fae-7dec-11d0"
	                                       "-a765-00a0c91e6bf6>\";reg-id=1;other;x=y")),
	                 0);
	assert_pl(a.uri, "sip:bob@192.0.2.4");
	assert_pl(a.q, "0.7");
	assert_pl(a.expires, "3600");
	assert_pl(a.instance, "\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\"");
	assert_pl(a.reg_id, "1");
	assert_int_equal(sip_addr_q(&a, -1), 700);
}

static void test_addr_spec(void **state)
{
	struct sip_addr a;

	(void)state;
	/* A bare addr-spec: the first ';' starts header params (§20.10). */
	assert_int_equal(sip_addr_parse(&a, PL("sip:alice@atlanta.com;tag=88sja8x")), 0);
	assert_pl(a.uri, "sip:alice@atlanta.com");
	assert_pl(a.params, ";tag=88sja8x");
	assert_pl(a.tag, "88sja8x");
	assert_int_equal(a.display.len, 0);
	assert_false(a.bracketed);

	assert_int_equal(sip_addr_parse(&a, PL("sip:bob@192.0.2.4 ; expires=60;q=0.5;reg-id=2"
	                                       ";+sip.instance=\"<urn:uuid:00000000-0000-1000"
	                                       "-8000-000A95A0E128>\"")),
	                 0);
	assert_pl(a.uri, "sip:bob@192.0.2.4");
	assert_pl(a.expires, "60");
	assert_pl(a.q, "0.5");
	assert_pl(a.reg_id, "2");
	assert_pl(a.instance, "\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"");
	assert_false(a.bracketed);
	assert_int_equal(sip_addr_q(&a, -1), 500);

	assert_int_equal(sip_addr_parse(&a, PL("tel:+1-201-555-0123")), 0);
	assert_pl(a.uri, "tel:+1-201-555-0123");
	assert_int_equal(a.params.len, 0);

	/* Contact: * (with the expires a REGISTER of §10.2.2 carries elsewhere). */
	assert_int_equal(sip_addr_parse(&a, PL("*")), 0);
	assert_true(a.star);
	assert_false(a.bracketed);
	assert_int_equal(a.uri.len, 0);
	assert_int_equal(sip_addr_parse(&a, PL(" * ")), 0);
	assert_true(a.star);
}

static void test_addr_bad(void **state)
{
	static const char *const bad[] = {
	        "",
	        "   ",
	        "\"Alice <sip:alice@atlanta.com>",     /* unclosed quote */
	        "\"Alice\\\" <sip:alice@atlanta.com>", /* escaped closing quote */
	        "< sip:alice@atlanta.com>",            /* space inside < > */
	        "<sip:alice@atlanta.com >",
	        "Alice <\tsip:alice@atlanta.com>",
	        "<sip:alice@atlanta.com", /* missing > */
	        "Alice <sip:alice@atlanta.com;tag=1",
	        "<>",
	        "sip:alice@atlanta.com?subject=x",          /* bare URI with headers */
	        "sip:alice@atlanta.com,sip:bob@biloxi.com", /* bare URI with ',' */
	        "sip:alice@atlanta.com>",
	        "<sip:a@b.example>;tag=1;tag=2", /* repeated tag */
	        "<sip:a@b.example>;TAG=1;tag=1",
	        "<sip:a@b.example>;q=0.5;Q=1",
	        "<sip:a@b.example>;tag", /* tag without value */
	        "<sip:a@b.example>;expires",
	        "<sip:a@b.example>;;tag=1",
	        "<sip:a@b.example>;",
	        "<sip:a@b.example> junk",
	        "<sip:a@b.example>junk",
	        "\"Alice\" sip:a@b.example", /* quoted name without < > */
	        "\"Alice\" x <sip:a@b.example>",
	        "Alice Smith sip:a@b.example",
	        "a@b.example <sip:x@y.example>", /* '@' is not a token char */
	        "Alice, Bob <sip:x@y.example>",
	        "alice", /* not a URI */
	        "*junk",
	        "*;",
	};
	struct sip_addr a;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		int r = sip_addr_parse(&a, PL(bad[i]));

		if (r != SIP_ERR_ADDR)
			fail_msg("\"%s\": got %d, want SIP_ERR_ADDR", bad[i], r);
	}
}

static void test_addr_display(void **state)
{
	struct sip_addr a;
	char buf[32];

	(void)state;
	/* quoted-pair: a backslash escapes any one octet, itself included. */
	assert_int_equal(sip_addr_parse(&a, PL("\"a\\\\b \\\"c\\\" \\d\" <sip:x@y.example>")), 0);
	assert_int_equal(sip_addr_display(&a, buf, sizeof(buf)), 9);
	assert_memory_equal(buf, "a\\b \"c\" d", 9);

	/* An empty quoted string. */
	assert_int_equal(sip_addr_parse(&a, PL("\"\" <sip:x@y.example>")), 0);
	assert_int_equal(sip_addr_display(&a, buf, sizeof(buf)), 0);

	/* A token display name keeps its backslash-free bytes as they are. */
	assert_int_equal(sip_addr_parse(&a, PL("Alice <sip:x@y.example>")), 0);
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(sip_addr_display(&a, buf, 5), 5);
	assert_memory_equal(buf, "Alice", 5);
	assert_int_equal(buf[5], 'X');
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(sip_addr_display(&a, buf, 4), SIP_ERR_NOSPACE);
	assert_int_equal(buf[4], 'X');
	assert_int_equal(sip_addr_display(&a, buf, 0), SIP_ERR_NOSPACE);

	/* The decoded length is what must fit, not the raw one. */
	assert_int_equal(sip_addr_parse(&a, PL("\"\\\"ab\\\"\" <sip:x@y.example>")), 0);
	assert_int_equal(sip_addr_display(&a, buf, 4), 4);
	assert_memory_equal(buf, "\"ab\"", 4);
	assert_int_equal(sip_addr_display(&a, buf, 3), SIP_ERR_NOSPACE);
}

static void test_addr_q(void **state)
{
	static const struct {
		const char *q;
		int want;
	} cases[] = {
	        {"0", 0},
	        {"0.", 0},
	        {"0.0", 0},
	        {"0.5", 500},
	        {"0.05", 50},
	        {"0.005", 5},
	        {"0.333", 333},
	        {"0.999", 999},
	        {"1", 1000},
	        {"1.", 1000},
	        {"1.0", 1000},
	        {"1.000", 1000},
	        {"1.5", SIP_ERR_RANGE},
	        {"1.001", SIP_ERR_RANGE},
	        {"2", SIP_ERR_RANGE},
	        {"0.1234", SIP_ERR_RANGE},
	        {"abc", SIP_ERR_RANGE},
	        {"00.5", SIP_ERR_RANGE},
	        {"0.5a", SIP_ERR_RANGE},
	        {".5", SIP_ERR_RANGE},
	};
	char buf[64];
	struct sip_addr a;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		snprintf(buf, sizeof(buf), "<sip:a@b.example>;q=%s", cases[i].q);
		assert_int_equal(sip_addr_parse(&a, PL(buf)), 0);
		if (sip_addr_q(&a, -1) != cases[i].want)
			fail_msg("q=%s: got %d, want %d", cases[i].q, sip_addr_q(&a, -1),
			         cases[i].want);
	}
	assert_int_equal(sip_addr_parse(&a, PL("<sip:a@b.example>")), 0);
	assert_int_equal(sip_addr_q(&a, 1000), 1000);
	assert_int_equal(sip_addr_q(&a, -7), -7);
}

/* ---- CSeq and numbers ----------------------------------------------------- */

static void test_cseq(void **state)
{
	struct sip_cseq c;

	(void)state;
	assert_int_equal(sip_cseq_parse(&c, PL("4711 INVITE")), 0);
	assert_int_equal(c.num, 4711);
	assert_pl(c.method, "INVITE");
	assert_int_equal(c.method_id, SIP_METHOD_INVITE);

	assert_int_equal(sip_cseq_parse(&c, PL("4294967295 ACK")), 0);
	assert_int_equal(c.num, 4294967295u);
	assert_int_equal(c.method_id, SIP_METHOD_ACK);

	assert_int_equal(sip_cseq_parse(&c, PL("0 REGISTER")), 0);
	assert_int_equal(c.num, 0);
	assert_int_equal(c.method_id, SIP_METHOD_REGISTER);

	/* Leading zeros and folding (RFC 4475 wsinv: "0009\r\n  INVITE"). */
	assert_int_equal(sip_cseq_parse(&c, PL("0009\r\n  INVITE")), 0);
	assert_int_equal(c.num, 9);
	assert_pl(c.method, "INVITE");
	assert_int_equal(sip_cseq_parse(&c, PL(" \t 12 \t BYE \r\n ")), 0);
	assert_int_equal(c.num, 12);
	assert_pl(c.method, "BYE");

	/* Methods are case-sensitive: "invite" is an extension method. */
	assert_int_equal(sip_cseq_parse(&c, PL("1 invite")), 0);
	assert_int_equal(c.method_id, SIP_METHOD_OTHER);
	assert_int_equal(sip_cseq_parse(&c, PL("1 NEWMETHOD")), 0);
	assert_int_equal(c.method_id, SIP_METHOD_OTHER);
	assert_pl(c.method, "NEWMETHOD");
}

static void test_cseq_bad(void **state)
{
	static const char *const bad[] = {
	        "4294967296 INVITE",
	        "99999999999999999999 INVITE",
	        "4711",
	        "4711 ",
	        "INVITE",
	        "",
	        "-1 INVITE",
	        "+1 INVITE",
	        "1.0 INVITE",
	        "4711INVITE",
	        "4711 INVITE ACK",
	        "4711 INVITE;x",
	        "4711 INV\"ITE",
	        "0x10 INVITE",
	};
	struct sip_cseq c;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		int r = sip_cseq_parse(&c, PL(bad[i]));

		if (r != SIP_ERR_CSEQ)
			fail_msg("\"%s\": got %d, want SIP_ERR_CSEQ", bad[i], r);
	}
}

static void test_hdr_u32(void **state)
{
	uint32_t v = 12345;

	(void)state;
	assert_int_equal(sip_hdr_u32(PL("70"), 255, &v), 0);
	assert_int_equal(v, 70);
	assert_int_equal(sip_hdr_u32(PL(" \t70 "), 255, &v), 0);
	assert_int_equal(v, 70);
	assert_int_equal(sip_hdr_u32(PL("\r\n 42\r\n "), 255, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(sip_hdr_u32(PL("0068"), 255, &v), 0);
	assert_int_equal(v, 68);
	assert_int_equal(sip_hdr_u32(PL("0"), 0, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(sip_hdr_u32(PL("255"), 255, &v), 0);
	assert_int_equal(v, 255);
	assert_int_equal(sip_hdr_u32(PL("4294967295"), UINT32_MAX, &v), 0);
	assert_int_equal(v, 4294967295u);

	v = 7;
	assert_int_equal(sip_hdr_u32(PL("256"), 255, &v), SIP_ERR_RANGE);
	assert_int_equal(sip_hdr_u32(PL("4294967296"), UINT32_MAX, &v), SIP_ERR_RANGE);
	assert_int_equal(
	        sip_hdr_u32(PL("1000000000000000000000000000000000000000"), UINT32_MAX, &v),
	        SIP_ERR_RANGE);
	assert_int_equal(sip_hdr_u32(PL(""), 255, &v), SIP_ERR_SYNTAX);
	assert_int_equal(sip_hdr_u32(PL("  "), 255, &v), SIP_ERR_SYNTAX);
	assert_int_equal(sip_hdr_u32(PL("-1"), 255, &v), SIP_ERR_SYNTAX);
	assert_int_equal(sip_hdr_u32(PL("+1"), 255, &v), SIP_ERR_SYNTAX);
	assert_int_equal(sip_hdr_u32(PL("7 0"), 255, &v), SIP_ERR_SYNTAX);
	assert_int_equal(sip_hdr_u32(PL("0x10"), 255, &v), SIP_ERR_SYNTAX);
	assert_int_equal(sip_hdr_u32(PL("12;x"), 255, &v), SIP_ERR_SYNTAX);
	assert_int_equal(v, 7); /* untouched on failure */
}

/* ---- Content-Type, Retry-After, Call-ID ---------------------------------- */

static void test_ctype(void **state)
{
	static const char *const bad[] = {
	        "",
	        "application",
	        "application/",
	        "/sdp",
	        "application/sdp x",
	        "application/sdp;",
	        "application/sdp;;a=b",
	        "application/sdp;a=",
	        "app lication/sdp",
	        "application/sdp/x",
	        "text/plain;charset=\"utf-8",
	};
	struct sip_ctype ct;

	(void)state;
	assert_int_equal(sip_ctype_parse(&ct, PL("application/sdp")), 0);
	assert_pl(ct.type, "application");
	assert_pl(ct.subtype, "sdp");
	assert_int_equal(ct.params.len, 0);

	assert_int_equal(
	        sip_ctype_parse(&ct, PL("multipart/mixed ; boundary=\"7a9cbec02ceef655\"")), 0);
	assert_pl(ct.type, "multipart");
	assert_pl(ct.subtype, "mixed");
	assert_pl(ct.params, "; boundary=\"7a9cbec02ceef655\"");

	assert_int_equal(sip_ctype_parse(&ct, PL("text / plain\r\n ;charset=utf-8")), 0);
	assert_pl(ct.type, "text");
	assert_pl(ct.subtype, "plain");
	assert_pl(ct.params, ";charset=utf-8");

	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		int r = sip_ctype_parse(&ct, PL(bad[i]));

		if (r != SIP_ERR_CTYPE)
			fail_msg("\"%s\": got %d, want SIP_ERR_CTYPE", bad[i], r);
	}
}

static void test_retry_after(void **state)
{
	static const char *const bad[] = {
	        "",
	        "abc",
	        "-5",
	        "120 (unclosed",
	        "120 (a (b)",
	        "120;duration",
	        "120;duration=x",
	        "120;duration=4294967296",
	        "120 junk",
	        "120 (c) junk",
	        "4294967296",
	        "120;;x",
	};
	struct sip_retry_after ra;

	(void)state;
	assert_int_equal(sip_retry_after_parse(&ra, PL("18000")), 0);
	assert_int_equal(ra.seconds, 18000);
	assert_null(ra.comment.p);
	assert_int_equal(ra.params.len, 0);
	assert_int_equal(ra.duration, 0);

	assert_int_equal(sip_retry_after_parse(&ra, PL("120 (I'm in a meeting) ;duration=3600")),
	                 0);
	assert_int_equal(ra.seconds, 120);
	assert_pl(ra.comment, "I'm in a meeting");
	assert_pl(ra.params, ";duration=3600");
	assert_int_equal(ra.duration, 3600);

	assert_int_equal(sip_retry_after_parse(&ra, PL("5(a (nested) comment);x=1;Duration=9")), 0);
	assert_int_equal(ra.seconds, 5);
	assert_pl(ra.comment, "a (nested) comment");
	assert_int_equal(ra.duration, 9);

	assert_int_equal(sip_retry_after_parse(&ra, PL("5 (esc \\) paren)")), 0);
	assert_pl(ra.comment, "esc \\) paren");

	assert_int_equal(sip_retry_after_parse(&ra, PL("4294967295")), 0);
	assert_int_equal(ra.seconds, 4294967295u);

	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		if (sip_retry_after_parse(&ra, PL(bad[i])) >= 0)
			fail_msg("\"%s\" was accepted", bad[i]);
	}
}

static void test_call_id(void **state)
{
	static const char *const good[] = {
	        "a84b4c76e66710@pc33.atlanta.com",
	        "f81d4fae-7dec-11d0-a765-00a0c91e6bf6@192.0.2.4",
	        "abc",
	        "0ha0isndaksdj@10.0.0.1",
	        "word-.!%*_+`'~()<>:\\\"/[]?{}@[2001:db8::1]",
	};
	static const char *const bad[] = {
	        "", "a b", "a@b@c", "@b", "a@", "a;b", "a,b", "@", "a\r\n b", "a=b",
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMS(good); i++)
		if (!sip_call_id_valid(PL(good[i])))
			fail_msg("\"%s\" refused", good[i]);
	for (size_t i = 0; i < N_ELEMS(bad); i++)
		if (sip_call_id_valid(PL(bad[i])))
			fail_msg("\"%s\" accepted", bad[i]);
}

/* ---- Date ----------------------------------------------------------------- */

static void test_date(void **state)
{
	static const struct {
		const char *date;
		int64_t epoch;
	} good[] = {
	        {"Sat, 13 Nov 2010 23:29:00 GMT", 1289690940},
	        {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
	        {"Tue, 29 Feb 2000 12:00:00 GMT", 951825600},
	        {"Tue, 19 Jan 2038 03:14:08 GMT", 2147483648LL}, /* past 2^31 - 1 */
	        {"  Sat, 13 Nov 2010 23:29:00 GMT\r\n ", 1289690940},
	};
	static const char *const bad[] = {
	        "Sat, 13 Nov 2010 23:29:00 EST", /* RFC 4475 baddate: only GMT (§20.17) */
	        "Fri, 01 Jan 2010 16:00:00 EST",
	        "Sat, 13 Nov 2010 23:29:00 UTC",
	        "Sut, 13 Nov 2010 23:29:00 GMT", /* weekday names */
	        "Xyz, 13 Nov 2010 23:29:00 GMT",
	        "Saturday, 13 Nov 2010 23:29:00 GMT",
	        "Sa, 13 Nov 2010 23:29:00 GMT",
	        "Sat, 13 Nox 2010 23:29:00 GMT", /* month names */
	        "Sat, 13 November 2010 23:29:00 GMT",
	        "Sat, 13 11 2010 23:29:00 GMT",
	        "Sat, 00 Nov 2010 23:29:00 GMT",
	        "Sat, 32 Nov 2010 23:29:00 GMT",
	        "Sat, 1 Nov 2010 23:29:00 GMT",
	        "Sat, 13 Nov 10 23:29:00 GMT",
	        "Sat, 13 Nov 20x0 23:29:00 GMT",
	        "Sat, 13 Nov 2010 24:00:00 GMT",
	        "Sat, 13 Nov 2010 23:60:00 GMT",
	        "Sat, 13 Nov 2010 23:29:61 GMT",
	        "Sat, 13 Nov 2010 23:29 GMT",
	        "Sat 13 Nov 2010 23:29:00 GMT",
	        "Sat,13 Nov 2010 23:29:00 GMT ",
	        "Sat, 13-Nov-2010 23:29:00 GMT",
	        "Sat, 13 Nov 2010 23:29:00 GMT x",
	        "Sat, 13 Nov 2010 23:29:00",
	        "",
	};
	int64_t t;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(good); i++) {
		t = -1;
		assert_int_equal(sip_date_parse(PL(good[i].date), &t), 0);
		assert_true(t == good[i].epoch);
	}
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		int r = sip_date_parse(PL(bad[i]), &t);

		if (r != SIP_ERR_DATE)
			fail_msg("\"%s\": got %d, want SIP_ERR_DATE", bad[i], r);
	}
}

/* ---- parameter lists ------------------------------------------------------ */

static void test_param_next(void **state)
{
	struct sip_pl cur = PL(";transport=tcp ; lr ;maddr = 239.255.255.1\r\n ;x=\"a;b\\\"c\""
	                       ";flag;Y=[2001:db8::1]"),
	              n, v;

	(void)state;
	assert_int_equal(sip_param_next(&cur, &n, &v), 1);
	assert_pl(n, "transport");
	assert_pl(v, "tcp");
	assert_int_equal(sip_param_next(&cur, &n, &v), 1);
	assert_pl(n, "lr");
	assert_null(v.p);
	assert_int_equal(sip_param_next(&cur, &n, &v), 1);
	assert_pl(n, "maddr");
	assert_pl(v, "239.255.255.1");
	assert_int_equal(sip_param_next(&cur, &n, &v), 1);
	assert_pl(n, "x");
	assert_pl(v, "\"a;b\\\"c\""); /* with its quotes, quoted-pairs as written */
	assert_int_equal(sip_param_next(&cur, &n, &v), 1);
	assert_pl(n, "flag");
	assert_null(v.p);
	assert_int_equal(sip_param_next(&cur, &n, &v), 1);
	assert_pl(n, "Y");
	assert_pl(v, "[2001:db8::1]");
	assert_int_equal(sip_param_next(&cur, &n, &v), 0);
	assert_int_equal(cur.len, 0);
	assert_int_equal(sip_param_next(&cur, &n, &v), 0);

	/* The leading ';' is optional. */
	cur = PL("a=1;b");
	assert_int_equal(sip_param_next(&cur, &n, &v), 1);
	assert_pl(n, "a");
	assert_pl(v, "1");
	assert_int_equal(sip_param_next(&cur, &n, &v), 1);
	assert_pl(n, "b");
	assert_int_equal(sip_param_next(&cur, &n, &v), 0);

	/* Empty lists. */
	cur = PL("");
	assert_int_equal(sip_param_next(&cur, &n, &v), 0);
	cur = PL(" \r\n ");
	assert_int_equal(sip_param_next(&cur, &n, &v), 0);
}

static void test_param_bad(void **state)
{
	static const char *const bad[] = {
	        ";;a", ";",     ";=x",      "=x",   "a=",  "a= ;b", "a=\"unterminated",
	        "a b", "a=b c", "a=\"q\"x", "a==b", "a,b", "a=b,c",
	};
	struct sip_pl cur, n, v;
	int r;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		cur = PL(bad[i]);
		while ((r = sip_param_next(&cur, &n, &v)) > 0)
			;
		if (r != SIP_ERR_SYNTAX)
			fail_msg("\"%s\": got %d, want SIP_ERR_SYNTAX", bad[i], r);
	}
	/* A good name before the fault is still returned. */
	cur = PL("a=1;;b");
	assert_int_equal(sip_param_next(&cur, &n, &v), 1);
	assert_pl(n, "a");
	assert_int_equal(sip_param_next(&cur, &n, &v), SIP_ERR_SYNTAX);
}

static void test_param_find(void **state)
{
	struct sip_pl list = PL(";transport=TCP;LR ; maddr= 10.0.0.1;q=\"x y\"");
	struct sip_pl v;

	(void)state;
	v = PL("junk");
	assert_int_equal(sip_param_find(list, "lr", &v), 0);
	assert_null(v.p);
	assert_int_equal(sip_param_find(list, "Transport", &v), 0);
	assert_pl(v, "TCP");
	assert_int_equal(sip_param_find(list, "maddr", &v), 0);
	assert_pl(v, "10.0.0.1");
	assert_int_equal(sip_param_find(list, "q", &v), 0);
	assert_pl(v, "\"x y\"");
	assert_int_equal(sip_param_find(list, "nope", &v), SIP_ERR_NOT_FOUND);
	assert_int_equal(sip_param_find(list, "l", &v), SIP_ERR_NOT_FOUND);
	assert_int_equal(sip_param_find(PL(""), "lr", &v), SIP_ERR_NOT_FOUND);
	assert_int_equal(sip_param_find(PL("a;;b"), "b", &v), SIP_ERR_SYNTAX);
	/* The first match wins, even before a later fault. */
	assert_int_equal(sip_param_find(PL("a=1;;b"), "a", &v), 0);
	assert_pl(v, "1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_via_basic),
	        cmocka_unit_test(test_via_transports),
	        cmocka_unit_test(test_via_hosts),
	        cmocka_unit_test(test_via_params),
	        cmocka_unit_test(test_via_lws),
	        cmocka_unit_test(test_via_version),
	        cmocka_unit_test(test_via_bad),
	        cmocka_unit_test(test_addr_name_addr),
	        cmocka_unit_test(test_addr_contact_params),
	        cmocka_unit_test(test_addr_spec),
	        cmocka_unit_test(test_addr_bad),
	        cmocka_unit_test(test_addr_display),
	        cmocka_unit_test(test_addr_q),
	        cmocka_unit_test(test_cseq),
	        cmocka_unit_test(test_cseq_bad),
	        cmocka_unit_test(test_hdr_u32),
	        cmocka_unit_test(test_ctype),
	        cmocka_unit_test(test_retry_after),
	        cmocka_unit_test(test_call_id),
	        cmocka_unit_test(test_date),
	        cmocka_unit_test(test_param_next),
	        cmocka_unit_test(test_param_bad),
	        cmocka_unit_test(test_param_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
