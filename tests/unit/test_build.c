/*
 * test_build.c — making messages (src/sip/build.c) and deriving them by
 * edits on the received bytes (src/sip/edit.c, RFC 3261 §16.6): the bounded
 * output buffer, request and status lines, a response built from its
 * request (§8.2.6.2), and each proxy edit — Via push/pop, Record-Route
 * push, Route pop, new Request-URI, Max-Forwards, header add/remove, body
 * replacement, Content-Length repair. Every output is checked byte for byte
 * and parsed again; unchanged headers must come out exactly as received.
 * An allocation-failure pass fails each allocation of the edits in turn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "libsip/build.h"
#include "libsip/hdr.h"

#define PL(s) sip_pl_cstr(s)
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define OUT_MAX 4096
#define GUARD 0x5a

/* The lines most messages below are made of. */
#define L_RL "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
#define L_VIA "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
#define L_VIA2 "Via: SIP/2.0/TCP p1.atlanta.example.com;branch=z9hG4bKp1\r\n"
#define L_MF "Max-Forwards: 70\r\n"
#define L_TO "To: Bob <sip:bob@biloxi.example.com>\r\n"
#define L_FROM "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
#define L_CID "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
#define L_CSEQ "CSeq: 314159 INVITE\r\n"
#define L_CL0 "Content-Length: 0\r\n"
#define L_SDP "Content-Type: application/sdp\r\n"
#define DLG L_TO L_FROM L_CID L_CSEQ /* the dialog-identifying lines */

#define REQ0 L_RL L_VIA L_MF DLG L_CL0 "\r\n"

#define NEW_VIA_V "SIP/2.0/UDP p2.biloxi.example.com;branch=z9hG4bKp2"
#define NEW_VIA "Via: " NEW_VIA_V "\r\n"
#define NEW_RR_V "<sip:p2.biloxi.example.com;lr>"
#define NEW_RR "Record-Route: " NEW_RR_V "\r\n"

/* ---- helpers ------------------------------------------------------------- */

struct ctx {
	struct sip_arena *a;  /* the received message and its edits */
	struct sip_arena *a2; /* re-parsed outputs */
	struct sip_msg *m;
	struct sip_edit *e;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c || sip_arena_new(&c->a, 1 << 20) < 0 || sip_arena_new(&c->a2, 1 << 20) < 0)
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	sip_arena_free(c->a);
	sip_arena_free(c->a2);
	free(c);
	return 0;
}

/* Parses text (datagram rules unless flags say otherwise) and starts an
 * empty edit list for it. */
static struct sip_msg *load(struct ctx *c, const char *text, unsigned flags)
{
	struct sip_parse_err perr;

	sip_arena_reset(c->a);
	sip_arena_reset(c->a2);
	c->m = NULL;
	c->e = NULL;
	if (sip_msg_parse(&c->m, c->a, text, strlen(text), flags, &perr) != 0)
		fail_msg("input does not parse: %s (%.*s)", sip_err_name(perr.err),
		         (int)perr.where.len, perr.where.p ? perr.where.p : "");
	assert_int_equal(sip_edit_new(&c->e, c->m), 0);
	return c->m;
}

static void assert_out_at(const char *got, int n, const char *want, const char *file, int line)
{
	char buf[OUT_MAX + 1];

	_assert_true(n >= 0, "print succeeded", file, line);
	memcpy(buf, got, (size_t)n);
	buf[n] = '\0';
	_assert_string_equal(buf, want, file, line);
	_assert_int_equal((size_t)n, strlen(want), file, line);
}

#define assert_out(got, n, want) assert_out_at((got), (n), (want), __FILE__, __LINE__)

/* Prints the edits of c and checks: the exact bytes; the same bytes when
 * printed again; SIP_ERR_NOSPACE without a write past cap when one octet
 * short; and that the output parses as a stream message (so its
 * Content-Length is right). Returns the re-parsed message. */
static struct sip_msg *expect_at(struct ctx *c, const char *want, const char *file, int line)
{
	static char out[OUT_MAX + 1], again[OUT_MAX];
	size_t wl = strlen(want);
	struct sip_msg *m2 = NULL;
	struct sip_parse_err perr;
	int n;

	memset(out, GUARD, sizeof(out));
	n = sip_edit_print(c->e, out, OUT_MAX);
	assert_out_at(out, n, want, file, line);
	_assert_int_equal((unsigned char)out[n], GUARD, file, line);
	_assert_int_equal(sip_edit_print(c->e, again, sizeof(again)), (size_t)n, file, line);
	_assert_true(memcmp(out, again, (size_t)n) == 0, "printed twice alike", file, line);

	memset(out, GUARD, sizeof(out));
	_assert_int_equal(sip_edit_print(c->e, out, wl - 1), SIP_ERR_NOSPACE, file, line);
	_assert_int_equal((unsigned char)out[wl - 1], GUARD, file, line);

	if (sip_msg_parse(&m2, c->a2, again, (size_t)n, SIP_PARSE_STREAM | SIP_PARSE_COPY, &perr) !=
	    0)
		fail_msg("%s:%d: output does not parse: %s", file, line, sip_err_name(perr.err));
	_assert_int_equal(sip_msg_raw(m2).len, (size_t)n, file, line);
	_assert_int_equal(sip_msg_content_length(m2), sip_msg_body(m2).len, file, line);
	return m2;
}

#define expect(c, want) expect_at((c), (want), __FILE__, __LINE__)

/* Slice equals a C string. */
static bool pl_is(struct sip_pl pl, const char *s)
{
	return pl.p && sip_pl_eq(pl, PL(s));
}

/* The i-th Via value of m, parsed. */
static const struct sip_via *via_at(const struct sip_msg *m, size_t i)
{
	size_t pos = 0;
	const struct sip_hdr *h = NULL;
	const struct sip_via *v;

	for (size_t k = 0; k <= i; k++)
		assert_non_null(h = sip_msg_hdr_next(m, SIP_HDR_VIA, &pos));
	assert_int_equal(sip_msg_hdr_via(m, h, &v), 0);
	return v;
}

/* The i-th value of a name-addr header id of m. */
static const struct sip_addr *addr_at(const struct sip_msg *m, enum sip_hdr_id id, size_t i)
{
	size_t pos = 0;
	const struct sip_hdr *h = NULL;
	const struct sip_addr *a;

	for (size_t k = 0; k <= i; k++)
		assert_non_null(h = sip_msg_hdr_next(m, id, &pos));
	assert_int_equal(sip_msg_hdr_addr(m, h, &a), 0);
	return a;
}

/* The i-th header value of id (any header). */
static const struct sip_hdr *hdr_at(const struct sip_msg *m, enum sip_hdr_id id, size_t i)
{
	size_t pos = 0;
	const struct sip_hdr *h = NULL;

	for (size_t k = 0; k <= i; k++)
		assert_non_null(h = sip_msg_hdr_next(m, id, &pos));
	return h;
}

/* ---- sip_wbuf -------------------------------------------------------------- */

static void test_wbuf_overflow(void **state)
{
	char mem[9];
	struct sip_wbuf w;

	(void)state;
	memset(mem, '#', sizeof(mem));
	sip_wbuf_init(&w, mem, 8);
	sip_wbuf_puts(&w, "hello");
	assert_int_equal(w.len, 5);
	assert_int_equal(w.err, 0);
	sip_wbuf_put(&w, PL("world")); /* does not fit: nothing of it is written */
	assert_int_equal(w.err, SIP_ERR_NOSPACE);
	assert_int_equal(w.len, 5);
	sip_wbuf_puts(&w, "ab"); /* would fit, but the error is sticky */
	sip_wbuf_putu(&w, 1);
	sip_wbuf_put(&w, SIP_PL_NULL);
	assert_int_equal(w.len, 5);
	assert_int_equal(w.err, SIP_ERR_NOSPACE);
	assert_memory_equal(mem, "hello###", 8);
	assert_int_equal(mem[8], '#');

	/* Filling exactly to cap is fine; one more octet is not. */
	memset(mem, '#', sizeof(mem));
	sip_wbuf_init(&w, mem, 8);
	sip_wbuf_puts(&w, "hello");
	sip_wbuf_put(&w, PL("abc"));
	sip_wbuf_put(&w, PL(""));
	assert_int_equal(w.err, 0);
	assert_int_equal(w.len, 8);
	sip_wbuf_puts(&w, "x");
	assert_int_equal(w.err, SIP_ERR_NOSPACE);
	assert_int_equal(w.len, 8);
	assert_memory_equal(mem, "helloabc", 8);
	assert_int_equal(mem[8], '#');

	/* A number is written whole or not at all. */
	memset(mem, '#', sizeof(mem));
	sip_wbuf_init(&w, mem, 4);
	sip_wbuf_putu(&w, 12345);
	assert_int_equal(w.err, SIP_ERR_NOSPACE);
	assert_int_equal(w.len, 0);
	assert_int_equal(mem[0], '#');

	/* A zero-capacity buffer takes empty writes only. */
	sip_wbuf_init(&w, NULL, 0);
	sip_wbuf_puts(&w, "");
	assert_int_equal(w.err, 0);
	sip_wbuf_puts(&w, "a");
	assert_int_equal(w.err, SIP_ERR_NOSPACE);
	assert_int_equal(w.len, 0);
}

static void test_wbuf_putu(void **state)
{
	static const struct {
		uint64_t v;
		const char *s;
	} cases[] = {
	        {0, "0"},
	        {7, "7"},
	        {10, "10"},
	        {4294967296ull, "4294967296"},
	        {UINT64_MAX, "18446744073709551615"},
	};
	char mem[32];
	struct sip_wbuf w;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		sip_wbuf_init(&w, mem, sizeof(mem));
		sip_wbuf_putu(&w, cases[i].v);
		assert_int_equal(w.err, 0);
		assert_int_equal(w.len, strlen(cases[i].s));
		assert_memory_equal(mem, cases[i].s, w.len);
	}
}

/* ---- building from parts --------------------------------------------------- */

#define BUILT_REQ                                                                                  \
	L_RL L_VIA L_MF DLG "X-Custom: yes\r\n" L_SDP "Content-Length: 5\r\n"                      \
	                    "\r\n"                                                                 \
	                    "v=0\r\n"

static int build_req(char *buf, size_t cap)
{
	struct sip_wbuf w;

	sip_wbuf_init(&w, buf, cap);
	sip_build_request_line(&w, PL("INVITE"), PL("sip:bob@biloxi.example.com"));
	sip_build_hdr(&w, SIP_HDR_VIA,
	              PL("SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"));
	sip_build_hdr(&w, SIP_HDR_MAX_FORWARDS, PL("70"));
	sip_build_hdr(&w, SIP_HDR_TO, PL("Bob <sip:bob@biloxi.example.com>"));
	sip_build_hdr(&w, SIP_HDR_FROM, PL("Alice <sip:alice@atlanta.example.com>;tag=1928301774"));
	sip_build_hdr(&w, SIP_HDR_CALL_ID, PL("a84b4c76e66710@pc33.atlanta.example.com"));
	sip_build_hdr(&w, SIP_HDR_CSEQ, PL("314159 INVITE"));
	sip_build_hdr_named(&w, PL("X-Custom"), PL("yes"));
	return sip_build_finish(&w, PL("application/sdp"), PL("v=0\r\n"));
}

static void test_build_request(void **state)
{
	struct ctx *c = *state;
	char buf[1024];
	struct sip_msg *m;
	int n;

	n = build_req(buf, sizeof(buf));
	assert_out(buf, n, BUILT_REQ);

	assert_int_equal(sip_msg_parse(&m, c->a, buf, (size_t)n, SIP_PARSE_STREAM, NULL), 0);
	assert_int_equal(sip_msg_method(m), SIP_METHOD_INVITE);
	assert_true(pl_is(sip_msg_ruri_pl(m), "sip:bob@biloxi.example.com"));
	assert_true(pl_is(sip_msg_via(m)->branch, "z9hG4bK776asdhds"));
	assert_int_equal(sip_msg_max_forwards(m), 70);
	assert_true(pl_is(sip_msg_from(m)->tag, "1928301774"));
	assert_int_equal(sip_msg_cseq(m)->num, 314159);
	assert_true(pl_is(sip_msg_hdr_by_name(m, PL("x-custom"))->value, "yes"));
	assert_true(pl_is(sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE)->value, "application/sdp"));
	assert_int_equal(sip_msg_content_length(m), 5);
	assert_true(pl_is(sip_msg_body(m), "v=0\r\n"));
	assert_int_equal(sip_msg_check(m, NULL), 0);
}

/* Every buffer one octet short or more: NOSPACE, never a write past cap. */
static void test_build_request_nospace(void **state)
{
	size_t len = strlen(BUILT_REQ);
	char buf[1024];

	(void)state;
	for (size_t cap = 0; cap < len; cap++) {
		memset(buf, GUARD, sizeof(buf));
		assert_int_equal(build_req(buf, cap), SIP_ERR_NOSPACE);
		assert_int_equal((unsigned char)buf[cap], GUARD);
	}
	assert_int_equal(build_req(buf, len), (int)len);
}

static void test_build_finish_and_lines(void **state)
{
	char buf[256];
	struct sip_wbuf w;
	int n;

	(void)state;
	/* No body: no Content-Type even when one is given. */
	sip_wbuf_init(&w, buf, sizeof(buf));
	n = sip_build_finish(&w, PL("application/sdp"), SIP_PL_NULL);
	assert_out(buf, n, "Content-Length: 0\r\n\r\n");

	sip_wbuf_init(&w, buf, sizeof(buf));
	sip_build_status_line(&w, 200, SIP_PL_NULL);
	sip_build_status_line(&w, 486, PL("Busy Here Now"));
	sip_build_status_line(&w, 299, SIP_PL_NULL); /* no default phrase: empty */
	sip_build_status_line(&w, 100, PL(""));
	assert_out(buf, (int)w.len,
	           "SIP/2.0 200 OK\r\nSIP/2.0 486 Busy Here Now\r\nSIP/2.0 299 \r\n"
	           "SIP/2.0 100 Trying\r\n");
	assert_int_equal(w.err, 0);

	/* A status code outside 100..699 writes nothing and sticks. */
	sip_wbuf_init(&w, buf, sizeof(buf));
	sip_build_status_line(&w, 99, SIP_PL_NULL);
	assert_int_equal(w.err, SIP_ERR_RANGE);
	assert_int_equal(w.len, 0);
	sip_build_hdr(&w, SIP_HDR_TO, PL("x"));
	assert_int_equal(w.len, 0);
	assert_int_equal(sip_build_finish(&w, SIP_PL_NULL, SIP_PL_NULL), SIP_ERR_RANGE);
	sip_wbuf_init(&w, buf, sizeof(buf));
	sip_build_status_line(&w, 700, SIP_PL_NULL);
	assert_int_equal(w.err, SIP_ERR_RANGE);

	/* A header id without a canonical name. */
	sip_wbuf_init(&w, buf, sizeof(buf));
	sip_build_hdr(&w, SIP_HDR_OTHER, PL("x"));
	assert_int_equal(w.err, SIP_ERR_NOT_FOUND);
	assert_int_equal(w.len, 0);

	/* Canonical spellings. */
	sip_wbuf_init(&w, buf, sizeof(buf));
	sip_build_hdr(&w, SIP_HDR_CALL_ID, PL("a"));
	sip_build_hdr(&w, SIP_HDR_CSEQ, PL("1 BYE"));
	sip_build_hdr(&w, SIP_HDR_WWW_AUTHENTICATE, PL("Digest realm=\"r\""));
	assert_out(buf, (int)w.len,
	           "Call-ID: a\r\nCSeq: 1 BYE\r\nWWW-Authenticate: Digest realm=\"r\"\r\n");
}

static void test_status_phrase(void **state)
{
	static const struct {
		int code;
		const char *phrase;
	} cases[] = {
	        {100, "Trying"},
	        {180, "Ringing"},
	        {183, "Session Progress"},
	        {200, "OK"},
	        {302, "Moved Temporarily"},
	        {401, "Unauthorized"},
	        {404, "Not Found"},
	        {407, "Proxy Authentication Required"},
	        {423, "Interval Too Brief"},
	        {481, "Call/Transaction Does Not Exist"},
	        {483, "Too Many Hops"},
	        {486, "Busy Here"},
	        {487, "Request Terminated"},
	        {503, "Service Unavailable"},
	        {505, "Version Not Supported"},
	        {513, "Message Too Large"},
	        {603, "Decline"},
	        {299, ""},
	        {0, ""},
	        {-1, ""},
	        {999, ""},
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++)
		assert_string_equal(sip_status_phrase(cases[i].code), cases[i].phrase);
}

/* ---- a response from its request (§8.2.6.2) ---------------------------------- */

#define RESP_REQ                                                                                   \
	L_RL "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1, "                                   \
	     "SIP/2.0/TCP p2.example.com;branch=z9hG4bK2\r\n"                                      \
	     "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK3"                           \
	     ";received=192.0.2.1\r\n" L_MF DLG                                                    \
	     "Contact: <sip:alice@pc33.atlanta.example.com>\r\n" L_SDP "Content-Length: 5\r\n"     \
	     "\r\n"                                                                                \
	     "v=0\r\n"

#define RESP_VIAS                                                                                  \
	"Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1\r\n"                                      \
	"Via: SIP/2.0/TCP p2.example.com;branch=z9hG4bK2\r\n"                                      \
	"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK3;received=192.0.2.1\r\n"

static int respond(const struct sip_msg *req, int status, const char *reason, const char *tag,
                   char *buf, size_t cap)
{
	struct sip_wbuf w;

	sip_wbuf_init(&w, buf, cap);
	sip_build_response(&w, req, status, reason ? PL(reason) : SIP_PL_NULL,
	                   tag ? PL(tag) : SIP_PL_NULL);
	return sip_build_finish(&w, SIP_PL_NULL, SIP_PL_NULL);
}

static void test_build_response(void **state)
{
	struct ctx *c = *state;
	struct sip_msg *req = load(c, RESP_REQ, 0), *r;
	char buf[2048];
	int n;

	n = respond(req, 180, NULL, "a6c85cf", buf, sizeof(buf));
	assert_out(buf, n,
	           "SIP/2.0 180 Ringing\r\n" RESP_VIAS L_FROM
	           "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n" L_CID L_CSEQ L_CL0
	           "\r\n");
	assert_int_equal(sip_msg_parse(&r, c->a2, buf, (size_t)n, SIP_PARSE_STREAM, NULL), 0);
	assert_int_equal(sip_msg_status(r), 180);
	assert_int_equal(sip_msg_hdr_num(r, SIP_HDR_VIA), 3);
	assert_true(pl_is(via_at(r, 0)->branch, "z9hG4bK1"));
	assert_true(pl_is(via_at(r, 1)->branch, "z9hG4bK2"));
	assert_int_equal(via_at(r, 1)->tp, SIP_TP_TCP);
	assert_true(pl_is(via_at(r, 2)->received, "192.0.2.1"));
	assert_true(pl_is(sip_msg_to(r)->tag, "a6c85cf"));
	assert_true(pl_is(sip_msg_from(r)->tag, "1928301774"));
	assert_true(sip_pl_eq(sip_msg_call_id(r), sip_msg_call_id(req)));
	assert_int_equal(sip_msg_cseq(r)->num, 314159);
	assert_int_equal(sip_msg_cseq(r)->method_id, SIP_METHOD_INVITE);
	assert_int_equal(sip_msg_content_length(r), 0);

	/* 100 Trying: no To tag, whatever the caller passes. */
	n = respond(req, 100, NULL, "a6c85cf", buf, sizeof(buf));
	assert_out(buf, n,
	           "SIP/2.0 100 Trying\r\n" RESP_VIAS L_FROM L_TO L_CID L_CSEQ L_CL0 "\r\n");

	/* No tag given: none added; an explicit reason phrase. */
	n = respond(req, 486, "Busy", NULL, buf, sizeof(buf));
	assert_out(buf, n, "SIP/2.0 486 Busy\r\n" RESP_VIAS L_FROM L_TO L_CID L_CSEQ L_CL0 "\r\n");
}

static void test_build_response_body(void **state)
{
	struct ctx *c = *state;
	struct sip_msg *req = load(c, RESP_REQ, 0), *r;
	char buf[2048];
	struct sip_wbuf w;
	int n;

	sip_wbuf_init(&w, buf, sizeof(buf));
	sip_build_response(&w, req, 200, SIP_PL_NULL, PL("8321234356"));
	sip_build_hdr(&w, SIP_HDR_CONTACT, PL("<sip:bob@192.0.2.4>"));
	n = sip_build_finish(&w, PL("application/sdp"), PL("v=0\r\no=-\r\n"));
	assert_out(buf, n,
	           "SIP/2.0 200 OK\r\n" RESP_VIAS L_FROM
	           "To: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n" L_CID L_CSEQ
	           "Contact: <sip:bob@192.0.2.4>\r\n" L_SDP
	           "Content-Length: 10\r\n\r\nv=0\r\no=-\r\n");
	assert_int_equal(sip_msg_parse(&r, c->a2, buf, (size_t)n, SIP_PARSE_STREAM, NULL), 0);
	assert_int_equal(sip_msg_content_length(r), 10);
	assert_true(pl_is(sip_msg_body(r), "v=0\r\no=-\r\n"));
	assert_true(pl_is(sip_msg_contact(r)->uri, "sip:bob@192.0.2.4"));

	/* Too small a buffer for the response: NOSPACE, guard intact. */
	for (size_t cap = 0; cap < (size_t)n; cap += 7) {
		memset(buf, GUARD, sizeof(buf));
		sip_wbuf_init(&w, buf, cap);
		sip_build_response(&w, req, 200, SIP_PL_NULL, PL("8321234356"));
		sip_build_hdr(&w, SIP_HDR_CONTACT, PL("<sip:bob@192.0.2.4>"));
		assert_int_equal(sip_build_finish(&w, PL("application/sdp"), PL("v=0\r\no=-\r\n")),
		                 SIP_ERR_NOSPACE);
		assert_int_equal((unsigned char)buf[cap], GUARD);
	}
}

/* A request whose To already has a tag (in dialog), written in compact
 * forms: the tag is not added again; names come out canonical. */
static void test_build_response_in_dialog(void **state)
{
	struct ctx *c = *state;
	static const char bye[] = "BYE sip:alice@pc33.atlanta.example.com SIP/2.0\r\n"
	                          "v: SIP/2.0/TCP b.example.com;branch=z9hG4bKb\r\n"
	                          "f: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n"
	                          "t: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
	                          "i: a84b4c76e66710@pc33.atlanta.example.com\r\n"
	                          "CSeq: 231 BYE\r\n"
	                          "l: 0\r\n\r\n";
	struct sip_msg *req = load(c, bye, SIP_PARSE_STREAM);
	char buf[1024];
	int n;

	n = respond(req, 200, NULL, "zzz", buf, sizeof(buf));
	assert_out(buf, n,
	           "SIP/2.0 200 OK\r\n"
	           "Via: SIP/2.0/TCP b.example.com;branch=z9hG4bKb\r\n"
	           "From: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n"
	           "To: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n" L_CID
	           "CSeq: 231 BYE\r\n" L_CL0 "\r\n");
}

/* ---- edits: Via ------------------------------------------------------------- */

static void test_edit_via_push(void **state)
{
	struct ctx *c = *state;
	struct sip_msg *r;

	load(c, REQ0, 0);
	assert_int_equal(sip_edit_via_push(c->e, PL(NEW_VIA_V)), 0);
	r = expect(c, L_RL NEW_VIA L_VIA L_MF DLG L_CL0 "\r\n");
	assert_int_equal(sip_msg_hdr_num(r, SIP_HDR_VIA), 2);
	assert_true(pl_is(sip_msg_via(r)->host, "p2.biloxi.example.com"));
	assert_true(pl_is(via_at(r, 1)->branch, "z9hG4bK776asdhds"));

	/* Above a compact "v:" line, and above every other Via. */
	load(c,
	     L_RL "Max-Forwards: 70\r\nv: SIP/2.0/UDP a.example.com;branch=z9hG4bKa\r\n"
	          "Via: SIP/2.0/UDP b.example.com;branch=z9hG4bKb\r\n" DLG L_CL0 "\r\n",
	     0);
	assert_int_equal(sip_edit_via_push(c->e, PL(NEW_VIA_V)), 0);
	r = expect(c, L_RL "Max-Forwards: 70\r\n" NEW_VIA
	                   "v: SIP/2.0/UDP a.example.com;branch=z9hG4bKa\r\n"
	                   "Via: SIP/2.0/UDP b.example.com;branch=z9hG4bKb\r\n" DLG L_CL0 "\r\n");
	assert_int_equal(sip_msg_hdr_num(r, SIP_HDR_VIA), 3);
	assert_true(pl_is(sip_msg_via(r)->branch, "z9hG4bKp2"));
}

static void test_edit_via_pop(void **state)
{
	struct ctx *c = *state;
	struct sip_msg *r;

	/* A single-value line goes whole. */
	load(c, L_RL L_VIA2 L_VIA L_MF DLG L_CL0 "\r\n", 0);
	assert_int_equal(sip_edit_via_pop(c->e), 0);
	r = expect(c, L_RL L_VIA L_MF DLG L_CL0 "\r\n");
	assert_int_equal(sip_msg_hdr_num(r, SIP_HDR_VIA), 1);
	assert_true(pl_is(sip_msg_via(r)->host, "pc33.atlanta.example.com"));

	/* The first value of a comma list: the rest of the line stays a Via. */
	load(c,
	     L_RL
	     "Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\n" L_MF DLG L_CL0
	     "\r\n",
	     0);
	assert_int_equal(sip_edit_via_pop(c->e), 0);
	r = expect(c, L_RL "Via: SIP/2.0/UDP b;branch=z9hG4bK2\r\n" L_MF DLG L_CL0 "\r\n");
	assert_int_equal(sip_msg_hdr_num(r, SIP_HDR_VIA), 1);
	assert_true(pl_is(sip_msg_via(r)->host, "b"));
	assert_true(pl_is(sip_msg_via(r)->branch, "z9hG4bK2"));
	assert_int_equal(hdr_at(r, SIP_HDR_VIA, 0)->nelem, 1);

	/* Three values, odd spacing and folding between them. */
	load(c,
	     L_RL "Via: SIP/2.0/UDP a;branch=z9hG4bK1 ,\r\n SIP/2.0/UDP b;branch=z9hG4bK2 ,"
	          "SIP/2.0/UDP c;branch=z9hG4bK3\r\n" L_MF DLG L_CL0 "\r\n",
	     0);
	assert_int_equal(sip_edit_via_pop(c->e), 0);
	r = expect(c, L_RL
	           "Via: SIP/2.0/UDP b;branch=z9hG4bK2 ,SIP/2.0/UDP c;branch=z9hG4bK3\r\n" L_MF DLG
	                   L_CL0 "\r\n");
	assert_int_equal(sip_msg_hdr_num(r, SIP_HDR_VIA), 2);
	assert_true(pl_is(via_at(r, 1)->host, "c"));

	/* A response loses its top Via on the way back (§18.1.2). */
	load(c, "SIP/2.0 200 OK\r\n" L_VIA2 L_VIA DLG L_CL0 "\r\n", 0);
	assert_int_equal(sip_edit_via_pop(c->e), 0);
	r = expect(c, "SIP/2.0 200 OK\r\n" L_VIA DLG L_CL0 "\r\n");
	assert_int_equal(sip_msg_status(r), 200);

	/* No Via at all. */
	load(c, L_RL L_MF DLG L_CL0 "\r\n", 0);
	assert_int_equal(sip_edit_via_pop(c->e), SIP_ERR_NOT_FOUND);
	expect(c, L_RL L_MF DLG L_CL0 "\r\n");
}

/* ---- edits: Record-Route, Route, Request-URI ---------------------------------- */

static void test_edit_rr_push(void **state)
{
	struct ctx *c = *state;
	struct sip_msg *r;

	load(c,
	     L_RL L_VIA L_MF "Record-Route: <sip:p1.atlanta.example.com;lr>\r\n" DLG L_CL0 "\r\n",
	     0);
	assert_int_equal(sip_edit_rr_push(c->e, PL(NEW_RR_V)), 0);
	r = expect(c, L_RL L_VIA L_MF NEW_RR
	           "Record-Route: <sip:p1.atlanta.example.com;lr>\r\n" DLG L_CL0 "\r\n");
	assert_int_equal(sip_msg_hdr_num(r, SIP_HDR_RECORD_ROUTE), 2);
	assert_true(
	        pl_is(addr_at(r, SIP_HDR_RECORD_ROUTE, 0)->uri, "sip:p2.biloxi.example.com;lr"));
	assert_true(
	        pl_is(addr_at(r, SIP_HDR_RECORD_ROUTE, 1)->uri, "sip:p1.atlanta.example.com;lr"));

	/* None yet: at the top of the headers. */
	load(c, REQ0, 0);
	assert_int_equal(sip_edit_rr_push(c->e, PL(NEW_RR_V)), 0);
	r = expect(c, L_RL NEW_RR L_VIA L_MF DLG L_CL0 "\r\n");
	assert_int_equal(sip_msg_hdr_num(r, SIP_HDR_RECORD_ROUTE), 1);
}

static void test_edit_route_pop(void **state)
{
	struct ctx *c = *state;
	struct sip_msg *r;

	load(c,
	     L_RL L_VIA L_MF "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
	                     "Route: <sip:p3.example.com;lr>\r\n" DLG L_CL0 "\r\n",
	     0);
	assert_int_equal(sip_edit_route_pop(c->e), 0);
	r = expect(c, L_RL L_VIA L_MF "Route: <sip:p2.example.com;lr>\r\n"
	                              "Route: <sip:p3.example.com;lr>\r\n" DLG L_CL0 "\r\n");
	assert_int_equal(sip_msg_hdr_num(r, SIP_HDR_ROUTE), 2);
	assert_true(pl_is(addr_at(r, SIP_HDR_ROUTE, 0)->uri, "sip:p2.example.com;lr"));

	/* A Route line of its own goes whole. */
	load(c,
	     L_RL "Route: <sip:p1.example.com;lr>\r\n" L_VIA L_MF
	          "Route: <sip:p3.example.com;lr>\r\n" DLG L_CL0 "\r\n",
	     0);
	assert_int_equal(sip_edit_route_pop(c->e), 0);
	expect(c, L_RL L_VIA L_MF "Route: <sip:p3.example.com;lr>\r\n" DLG L_CL0 "\r\n");

	load(c, REQ0, 0);
	assert_int_equal(sip_edit_route_pop(c->e), SIP_ERR_NOT_FOUND);
	expect(c, REQ0);
}

static void test_edit_ruri(void **state)
{
	struct ctx *c = *state;
	struct sip_msg *r;

	load(c, REQ0, 0);
	assert_int_equal(sip_edit_ruri(c->e, PL("sip:bob@192.0.2.4:5070;transport=tcp")), 0);
	r = expect(c, "INVITE sip:bob@192.0.2.4:5070;transport=tcp SIP/2.0\r\n" L_VIA L_MF DLG L_CL0
	              "\r\n");
	assert_true(pl_is(sip_msg_ruri(r)->host, "192.0.2.4"));
	assert_int_equal(sip_msg_ruri(r)->port, 5070);
	assert_true(pl_is(sip_msg_ruri(r)->transport, "tcp"));

	/* A response has no Request-URI. */
	load(c, "SIP/2.0 200 OK\r\n" L_VIA DLG L_CL0 "\r\n", 0);
	assert_int_equal(sip_edit_ruri(c->e, PL("sip:x@y.example")), SIP_ERR_NOT_FOUND);
}

/* ---- edits: Max-Forwards ------------------------------------------------------ */

static void test_edit_max_forwards(void **state)
{
	static const struct {
		const char *in, *out;
		int want;
	} cases[] = {
	        {"70", "69", 69},    {"10", "9", 9}, {"100", "99", 99}, {"1", "0", 0},
	        {"255", "254", 254}, {"2", "1", 1},  {"070", "69", 69}, {"  11 ", "10", 10},
	};
	struct ctx *c = *state;
	char in[1024], want[1024];
	struct sip_msg *r;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		snprintf(in, sizeof(in), L_RL L_VIA "Max-Forwards:%s\r\n" DLG L_CL0 "\r\n",
		         cases[i].in);
		snprintf(want, sizeof(want), L_RL L_VIA "Max-Forwards:%s%s%s\r\n" DLG L_CL0 "\r\n",
		         cases[i].in[0] == ' ' ? "  " : "", cases[i].out,
		         cases[i].in[0] == ' ' ? " " : "");
		load(c, in, 0);
		assert_int_equal(sip_edit_max_forwards(c->e), 0);
		r = expect(c, want);
		assert_int_equal(sip_msg_max_forwards(r), cases[i].want);
	}

	/* 0: the caller answers 483 Too Many Hops; nothing is changed. */
	load(c, L_RL L_VIA "Max-Forwards: 0\r\n" DLG L_CL0 "\r\n", 0);
	assert_int_equal(sip_edit_max_forwards(c->e), SIP_ERR_RANGE);
	expect(c, L_RL L_VIA "Max-Forwards: 0\r\n" DLG L_CL0 "\r\n");

	/* Absent: "Max-Forwards: 70" is added at the top of the headers. */
	load(c, L_RL L_VIA DLG L_CL0 "\r\n", 0);
	assert_int_equal(sip_edit_max_forwards(c->e), 0);
	r = expect(c, L_RL "Max-Forwards: 70\r\n" L_VIA DLG L_CL0 "\r\n");
	assert_int_equal(sip_msg_max_forwards(r), 70);
}

/* ---- edits: any header, the body, Content-Length -------------------------------- */

static void test_edit_hdr_add(void **state)
{
	struct ctx *c = *state;
	struct sip_msg *r;

	load(c, REQ0, 0);
	assert_int_equal(sip_edit_hdr_add(c->e, PL("Subject"), PL("lunch")), 0);
	assert_int_equal(sip_edit_hdr_add(c->e, PL("X-Trace"), PL("a=1;b=2")), 0);
	r = expect(c, L_RL L_VIA L_MF DLG L_CL0 "Subject: lunch\r\nX-Trace: a=1;b=2\r\n\r\n");
	assert_true(pl_is(sip_msg_hdr(r, SIP_HDR_SUBJECT)->value, "lunch"));
	assert_true(pl_is(sip_msg_hdr_by_name(r, PL("X-TRACE"))->value, "a=1;b=2"));
}

#define L_ALLOW3 "Allow: INVITE, ACK, BYE\r\n"

static void remove_allow(struct ctx *c, size_t i)
{
	assert_int_equal(sip_edit_hdr_remove(c->e, hdr_at(c->m, SIP_HDR_ALLOW, i)), 0);
}

static void test_edit_hdr_remove(void **state)
{
	struct ctx *c = *state;
	struct sip_msg *r;

	/* The middle value of three. */
	load(c, L_RL L_VIA L_MF L_ALLOW3 DLG L_CL0 "\r\n", 0);
	remove_allow(c, 1);
	r = expect(c, L_RL L_VIA L_MF "Allow: INVITE, BYE\r\n" DLG L_CL0 "\r\n");
	assert_int_equal(sip_msg_hdr_num(r, SIP_HDR_ALLOW), 2);
	assert_true(pl_is(hdr_at(r, SIP_HDR_ALLOW, 1)->value, "BYE"));

	/* The last value. */
	load(c, L_RL L_VIA L_MF L_ALLOW3 DLG L_CL0 "\r\n", 0);
	remove_allow(c, 2);
	r = expect(c, L_RL L_VIA L_MF "Allow: INVITE, ACK\r\n" DLG L_CL0 "\r\n");
	assert_int_equal(sip_msg_hdr_num(r, SIP_HDR_ALLOW), 2);

	/* The first value. */
	load(c, L_RL L_VIA L_MF L_ALLOW3 DLG L_CL0 "\r\n", 0);
	remove_allow(c, 0);
	expect(c, L_RL L_VIA L_MF "Allow: ACK, BYE\r\n" DLG L_CL0 "\r\n");

	/* First and last of one line, in either order. */
	load(c, L_RL L_VIA L_MF L_ALLOW3 DLG L_CL0 "\r\n", 0);
	remove_allow(c, 2);
	remove_allow(c, 0);
	expect(c, L_RL L_VIA L_MF "Allow: ACK\r\n" DLG L_CL0 "\r\n");

	/* A Contact list keeps its other values with their params. */
	load(c,
	     L_RL L_VIA L_MF DLG "Contact: <sip:a@x.example>;q=0.5,\"B\" <sip:b@y.example>;"
	                         "expires=60\r\n" L_CL0 "\r\n",
	     0);
	assert_int_equal(sip_edit_hdr_remove(c->e, hdr_at(c->m, SIP_HDR_CONTACT, 1)), 0);
	r = expect(c, L_RL L_VIA L_MF DLG "Contact: <sip:a@x.example>;q=0.5\r\n" L_CL0 "\r\n");
	assert_true(pl_is(sip_msg_contact(r)->q, "0.5"));

	/* A whole single-valued line; values of other lines stay. */
	load(c, L_RL L_VIA L_MF "Subject: lunch\r\n" DLG "Subject: again\r\n" L_CL0 "\r\n", 0);
	assert_int_equal(sip_edit_hdr_remove(c->e, hdr_at(c->m, SIP_HDR_SUBJECT, 0)), 0);
	r = expect(c, L_RL L_VIA L_MF DLG "Subject: again\r\n" L_CL0 "\r\n");
	assert_int_equal(sip_msg_hdr_num(r, SIP_HDR_SUBJECT), 1);
}

/* Several values of one comma list removed by one edit list: the line must
 * keep exactly the values not removed, or go when none is left. */
static void test_edit_remove_several_on_one_line(void **state)
{
	struct ctx *c = *state;
	struct sip_msg *r;

	load(c, L_RL L_VIA L_MF L_ALLOW3 DLG L_CL0 "\r\n", 0);
	remove_allow(c, 1);
	remove_allow(c, 2);
	r = expect(c, L_RL L_VIA L_MF "Allow: INVITE\r\n" DLG L_CL0 "\r\n");
	assert_int_equal(sip_msg_hdr_num(r, SIP_HDR_ALLOW), 1);

	load(c, L_RL L_VIA L_MF L_ALLOW3 DLG L_CL0 "\r\n", 0);
	remove_allow(c, 0);
	remove_allow(c, 1);
	expect(c, L_RL L_VIA L_MF "Allow: BYE\r\n" DLG L_CL0 "\r\n");

	load(c, L_RL L_VIA L_MF L_ALLOW3 DLG L_CL0 "\r\n", 0);
	remove_allow(c, 0);
	remove_allow(c, 1);
	remove_allow(c, 2);
	expect(c, L_RL L_VIA L_MF DLG L_CL0 "\r\n");

	load(c,
	     L_RL "Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\n" L_VIA L_MF
	             DLG L_CL0 "\r\n",
	     0);
	assert_int_equal(sip_edit_hdr_remove(c->e, hdr_at(c->m, SIP_HDR_VIA, 0)), 0);
	assert_int_equal(sip_edit_hdr_remove(c->e, hdr_at(c->m, SIP_HDR_VIA, 1)), 0);
	r = expect(c, L_RL L_VIA L_MF DLG L_CL0 "\r\n");
	assert_true(pl_is(sip_msg_via(r)->branch, "z9hG4bK776asdhds"));
}

#define SDP_REQ L_RL L_VIA L_MF DLG L_SDP "Content-Length: 5\r\n\r\nv=0\r\n"

static void test_edit_body(void **state)
{
	struct ctx *c = *state;
	struct sip_msg *r;

	/* New body and type: Content-Type replaced, Content-Length follows. */
	load(c, SDP_REQ, 0);
	assert_int_equal(sip_edit_body(c->e, PL("text/plain"), PL("hello world")), 0);
	r = expect(c, L_RL L_VIA L_MF DLG "Content-Length: 11\r\nContent-Type: text/plain\r\n\r\n"
	                                  "hello world");
	assert_int_equal(sip_msg_hdr_num(r, SIP_HDR_CONTENT_TYPE), 1);
	assert_true(pl_is(sip_msg_hdr(r, SIP_HDR_CONTENT_TYPE)->value, "text/plain"));
	assert_true(pl_is(sip_msg_body(r), "hello world"));

	/* New body only: Content-Type kept where it was. */
	load(c, SDP_REQ, 0);
	assert_int_equal(
	        sip_edit_body(c->e, SIP_PL_NULL, PL("v=0\r\no=- 1 1 IN IP4 192.0.2.4\r\n")), 0);
	expect(c, L_RL L_VIA L_MF DLG L_SDP
	       "Content-Length: 31\r\n\r\nv=0\r\no=- 1 1 IN IP4 192.0.2.4\r\n");

	/* Body emptied. */
	load(c, SDP_REQ, 0);
	assert_int_equal(sip_edit_body(c->e, SIP_PL_NULL, SIP_PL_NULL), 0);
	expect(c, L_RL L_VIA L_MF DLG L_SDP "Content-Length: 0\r\n\r\n");

	/* A body where there was none, with its type. */
	load(c, REQ0, 0);
	assert_int_equal(sip_edit_body(c->e, PL("application/sdp"), PL("v=0\r\n")), 0);
	expect(c, L_RL L_VIA L_MF DLG "Content-Length: 5\r\n" L_SDP "\r\nv=0\r\n");

	/* Compact l: keeps its spelling, only the value changes. */
	load(c, L_RL L_VIA L_MF DLG "l:  5\r\n\r\nv=0\r\n", 0);
	assert_int_equal(sip_edit_body(c->e, SIP_PL_NULL, PL("ab")), 0);
	expect(c, L_RL L_VIA L_MF DLG "l:  2\r\n\r\nab");
}

/* A datagram without Content-Length (RFC 2543 style): one is added. */
static void test_edit_adds_content_length(void **state)
{
	struct ctx *c = *state;
	struct sip_msg *r;

	load(c, L_RL L_VIA L_MF DLG L_SDP "\r\nv=0\r\n", 0);
	assert_int_equal(sip_msg_content_length(c->m), -1);
	r = expect(c, L_RL L_VIA L_MF DLG L_SDP "Content-Length: 5\r\n\r\nv=0\r\n");
	assert_true(pl_is(sip_msg_body(r), "v=0\r\n"));

	load(c, L_RL L_VIA L_MF DLG "\r\n", 0);
	assert_int_equal(sip_edit_via_push(c->e, PL(NEW_VIA_V)), 0);
	expect(c, L_RL NEW_VIA L_VIA L_MF DLG "Content-Length: 0\r\n\r\n");

	/* Octets past Content-Length in a datagram are not forwarded. */
	load(c, L_RL L_VIA L_MF DLG "Content-Length: 3\r\n\r\nabcXYZ", 0);
	expect(c, L_RL L_VIA L_MF DLG "Content-Length: 3\r\n\r\nabc");

	/* Two Content-Lengths that disagree: one kept, made right. */
	load(c, L_RL L_VIA L_MF DLG "Content-Length: 3\r\nl: 4\r\n\r\nabcd", 0);
	expect(c, L_RL L_VIA L_MF DLG "Content-Length: 3\r\n\r\nabc");
}

/* Headers that are not edited come out exactly as received. */
#define ODD_TAIL "max-forwards:070\r\n" ODD_REST
#define ODD_REST                                                                                   \
	"TO :Bob<sip:bob@biloxi.example.com>\r\n"                                                  \
	"f: \"Alice\"  <sip:alice@atlanta.example.com> ;tag=1928301774\r\n"                        \
	"i:a84b4c76e66710@pc33.atlanta.example.com\r\n"                                            \
	"cseq: 0009\r\n  INVITE\r\n"                                                               \
	"X-Odd :  keep   this\t spacing \r\n"                                                      \
	"Subject:\r\n"                                                                             \
	"l: 4\r\n"                                                                                 \
	"\r\n"                                                                                     \
	"body"
#define ODD_VIA "v:  SIP/2.0/UDP pc33.atlanta.example.com ; branch = z9hG4bK776asdhds\r\n"

static void test_edit_keeps_bytes(void **state)
{
	struct ctx *c = *state;
	struct sip_msg *r;

	load(c, L_RL ODD_VIA ODD_TAIL, SIP_PARSE_STREAM);
	assert_int_equal(sip_edit_via_push(c->e, PL(NEW_VIA_V)), 0);
	r = expect(c, L_RL NEW_VIA ODD_VIA ODD_TAIL);
	assert_int_equal(sip_msg_cseq(r)->num, 9);

	/* Only the digits of Max-Forwards change. */
	load(c, L_RL ODD_VIA ODD_TAIL, SIP_PARSE_STREAM);
	assert_int_equal(sip_edit_max_forwards(c->e), 0);
	expect(c, L_RL ODD_VIA "max-forwards:69\r\n" ODD_REST);

	/* No edits: the message exactly. */
	load(c, L_RL ODD_VIA ODD_TAIL, SIP_PARSE_STREAM);
	expect(c, L_RL ODD_VIA ODD_TAIL);
}

/* A proxy forwarding a request (§16.6): new Request-URI, Max-Forwards
 * decremented, Record-Route and Via pushed — in one output. */
static void test_edit_proxy_forward(void **state)
{
	struct ctx *c = *state;
	struct sip_msg *r;

	load(c,
	     L_RL L_VIA L_MF "Record-Route: <sip:p1.atlanta.example.com;lr>\r\n" DLG L_SDP
	                     "Content-Length: 5\r\n\r\nv=0\r\n",
	     0);
	assert_int_equal(sip_edit_via_push(c->e, PL(NEW_VIA_V)), 0);
	assert_int_equal(sip_edit_max_forwards(c->e), 0);
	assert_int_equal(sip_edit_rr_push(c->e, PL(NEW_RR_V)), 0);
	assert_int_equal(sip_edit_ruri(c->e, PL("sip:bob@192.0.2.4")), 0);
	r = expect(c, "INVITE sip:bob@192.0.2.4 SIP/2.0\r\n" NEW_VIA L_VIA
	              "Max-Forwards: 69\r\n" NEW_RR
	              "Record-Route: <sip:p1.atlanta.example.com;lr>\r\n" DLG L_SDP
	              "Content-Length: 5\r\n\r\nv=0\r\n");
	assert_true(pl_is(sip_msg_ruri(r)->host, "192.0.2.4"));
	assert_int_equal(sip_msg_hdr_num(r, SIP_HDR_VIA), 2);
	assert_true(pl_is(sip_msg_via(r)->branch, "z9hG4bKp2"));
	assert_int_equal(sip_msg_max_forwards(r), 69);
	assert_int_equal(sip_msg_hdr_num(r, SIP_HDR_RECORD_ROUTE), 2);
	assert_true(pl_is(sip_msg_body(r), "v=0\r\n"));
	assert_int_equal(sip_msg_check(r, NULL), 0);
}

/* Loose routing (§16.4, §16.6): the proxy's own Route is the first header
 * line, there is no Record-Route and no Max-Forwards yet. Every insertion
 * at the start of the popped line must survive the pop, in either order. */
static void test_edit_proxy_loose_route(void **state)
{
	static const char in[] = L_RL "Route: <sip:p2.biloxi.example.com;lr>\r\n"
	                              "Route: <sip:p3.example.com;lr>\r\n" L_VIA DLG L_CL0 "\r\n";
	static const char want[] =
	        "INVITE sip:bob@192.0.2.4 SIP/2.0\r\n"
	        "Max-Forwards: 70\r\n" NEW_RR
	        "Route: <sip:p3.example.com;lr>\r\n" NEW_VIA L_VIA DLG L_CL0 "\r\n";
	struct ctx *c = *state;
	struct sip_msg *r;

	load(c, in, 0);
	assert_int_equal(sip_edit_route_pop(c->e), 0);
	assert_int_equal(sip_edit_via_push(c->e, PL(NEW_VIA_V)), 0);
	assert_int_equal(sip_edit_max_forwards(c->e), 0);
	assert_int_equal(sip_edit_rr_push(c->e, PL(NEW_RR_V)), 0);
	assert_int_equal(sip_edit_ruri(c->e, PL("sip:bob@192.0.2.4")), 0);
	r = expect(c, want);
	assert_int_equal(sip_msg_hdr_num(r, SIP_HDR_ROUTE), 1);
	assert_int_equal(sip_msg_max_forwards(r), 70);

	load(c, in, 0);
	assert_int_equal(sip_edit_max_forwards(c->e), 0);
	assert_int_equal(sip_edit_rr_push(c->e, PL(NEW_RR_V)), 0);
	assert_int_equal(sip_edit_ruri(c->e, PL("sip:bob@192.0.2.4")), 0);
	assert_int_equal(sip_edit_via_push(c->e, PL(NEW_VIA_V)), 0);
	assert_int_equal(sip_edit_route_pop(c->e), 0);
	expect(c, want);
}

/* Printing does not consume the edits; more can be added afterwards. */
static void test_edit_print_twice(void **state)
{
	struct ctx *c = *state;
	char a[1024], b[1024];
	int n1, n2;

	load(c, L_RL L_VIA L_MF DLG "\r\nxyz", 0); /* needs a Content-Length */
	assert_int_equal(sip_edit_via_push(c->e, PL(NEW_VIA_V)), 0);
	n1 = sip_edit_print(c->e, a, sizeof(a));
	n2 = sip_edit_print(c->e, b, sizeof(b));
	assert_true(n1 > 0);
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, (size_t)n1);
	assert_out(a, n1, L_RL NEW_VIA L_VIA L_MF DLG "Content-Length: 3\r\n\r\nxyz");

	assert_int_equal(sip_edit_hdr_add(c->e, PL("Subject"), PL("late")), 0);
	expect(c, L_RL NEW_VIA L_VIA L_MF DLG "Subject: late\r\nContent-Length: 3\r\n\r\nxyz");
}

/* The edit list is bounded (a hostile caller cannot grow it forever): an
 * edit past the bound fails cleanly, and the list still prints. */
static void test_edit_list_full(void **state)
{
	struct ctx *c = *state;
	size_t line = strlen("X-N: 1\r\n"), want;
	unsigned added = 0;
	char *out;
	int r, n;

	load(c, REQ0, 0);
	while ((r = sip_edit_hdr_add(c->e, PL("X-N"), PL("1"))) == 0 && added < 100000)
		added++;
	assert_int_equal(r, SIP_ERR_NOMEM);
	assert_true(added >= 8);
	want = strlen(REQ0) + added * line;
	assert_non_null(out = malloc(want + 1));
	out[want] = (char)GUARD;
	n = sip_edit_print(c->e, out, want);
	assert_int_equal((size_t)n, want);
	assert_int_equal((unsigned char)out[want], GUARD);
	assert_memory_equal(out + want - line - 2, "X-N: 1\r\n\r\n", line + 2);
	free(out);
}

/* ---- allocation failures ------------------------------------------------------ */

/* The edits of a forwarding proxy, stopping at the first error; more than
 * a handful, so the edit list has to grow too. */
static int proxy_edits(struct sip_msg *m, struct sip_edit **out)
{
	struct sip_edit *e = NULL;
	int err;

	*out = NULL;
	if ((err = sip_edit_new(&e, m)) < 0)
		return err;
	*out = e;
	if ((err = sip_edit_via_push(e, PL(NEW_VIA_V))) < 0 ||
	    (err = sip_edit_max_forwards(e)) < 0 || (err = sip_edit_rr_push(e, PL(NEW_RR_V))) < 0 ||
	    (err = sip_edit_ruri(e, PL("sip:bob@192.0.2.4"))) < 0 ||
	    (err = sip_edit_route_pop(e)) < 0 ||
	    (err = sip_edit_hdr_add(e, PL("Subject"), PL("x"))) < 0 ||
	    (err = sip_edit_hdr_add(e, PL("X-A"), PL("1"))) < 0 ||
	    (err = sip_edit_hdr_add(e, PL("X-B"), PL("2"))) < 0 ||
	    (err = sip_edit_body(e, PL("text/plain"), PL("hello"))) < 0)
		return err;
	return 0;
}

static void test_edit_alloc_failures(void **state)
{
	static const char in[] = L_RL "Route: <sip:p2.biloxi.example.com;lr>\r\n" L_VIA DLG L_SDP
	                              "Content-Length: 5\r\n\r\nv=0\r\n";
	static const char want[] = "INVITE sip:bob@192.0.2.4 SIP/2.0\r\n"
	                           "Max-Forwards: 70\r\n" NEW_RR NEW_VIA L_VIA DLG
	                           "Content-Length: 5\r\nSubject: x\r\nX-A: 1\r\nX-B: 2\r\n"
	                           "Content-Type: text/plain\r\n\r\nhello";
	struct sip_arena *a, *a2;
	struct sip_msg *m, *r;
	struct sip_edit *e;
	char out[OUT_MAX];
	unsigned failures = 0;
	int err, n;

	(void)state;
	for (unsigned nth = 1;; nth++) {
		assert_true(nth < 200);
		assert_int_equal(sip_arena_new(&a, 1 << 20), 0);
		assert_int_equal(sip_arena_new(&a2, 1 << 20), 0);
		assert_int_equal(sip_msg_parse(&m, a, in, sizeof(in) - 1, 0, NULL), 0);
		sip_arena_fail_after(a, nth);
		err = proxy_edits(m, &e);
		if (err == 0) {
			n = sip_edit_print(e, out, sizeof(out));
			assert_out(out, n, want);
			sip_arena_free(a);
			sip_arena_free(a2);
			break;
		}
		assert_int_equal(err, SIP_ERR_NOMEM);
		failures++;
		/* What was applied before the failure still prints as a
		 * well-formed message. */
		sip_arena_fail_after(a, 0);
		if (e) {
			n = sip_edit_print(e, out, sizeof(out));
			assert_true(n > 0);
			assert_int_equal(
			        sip_msg_parse(&r, a2, out, (size_t)n, SIP_PARSE_STREAM, NULL), 0);
		}
		sip_arena_free(a);
		sip_arena_free(a2);
	}
	assert_true(failures >= 5);
}

/* A request that did not parse still gets its answer: the Via, From, To,
 * Call-ID and CSeq lines are copied as they are, folded ones included;
 * without a Via there is nowhere to answer. */
static void test_build_response_raw(void **state)
{
	static const char bad[] = "INVITE sip:u@example.com SIP/2.0\r\n"
	                          "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
	                          "v: SIP/2.0/UDP 192.0.2.2\r\n ;branch=z9hG4bK2\r\n"
	                          "To: \"unclosed <sip:u@example.com>\r\n"
	                          "From: <sip:a@example.com>;tag=9\r\n"
	                          "Call-ID: raw@x\r\n"
	                          "CSeq: 99999999999 INVITE\r\n"
	                          "Subject: not copied\r\n"
	                          "Bare-LF: not copied\n"
	                          "Content-Length: 0\r\n\r\n";
	static const char want[] = "SIP/2.0 400 Bad Request\r\n"
	                           "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
	                           "v: SIP/2.0/UDP 192.0.2.2\r\n ;branch=z9hG4bK2\r\n"
	                           "To: \"unclosed <sip:u@example.com>\r\n"
	                           "From: <sip:a@example.com>;tag=9\r\n"
	                           "Call-ID: raw@x\r\n"
	                           "CSeq: 99999999999 INVITE\r\n"
	                           "Content-Length: 0\r\n\r\n";
	static const char nohdr[] = "INVITE x SIP/2.0\r\nTo: <sip:a@b>\r\n\r\n";
	char out[1024];
	struct sip_wbuf w;

	(void)state;
	sip_wbuf_init(&w, out, sizeof(out));
	assert_int_equal(sip_build_response_raw(&w, bad, sizeof(bad) - 1, 400, SIP_PL_NULL), 0);
	assert_int_equal(sip_build_finish(&w, SIP_PL_NULL, SIP_PL_NULL), (int)sizeof(want) - 1);
	assert_memory_equal(out, want, sizeof(want) - 1);

	sip_wbuf_init(&w, out, sizeof(out));
	assert_int_equal(sip_build_response_raw(&w, nohdr, strlen(nohdr), 400, SIP_PL_NULL),
	                 SIP_ERR_NOT_FOUND);
	sip_wbuf_init(&w, out, sizeof(out));
	assert_int_equal(sip_build_response_raw(&w, "no line end", 11, 400, SIP_PL_NULL),
	                 SIP_ERR_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_wbuf_overflow),
	        cmocka_unit_test(test_wbuf_putu),
	        cmocka_unit_test_setup_teardown(test_build_request, setup, teardown),
	        cmocka_unit_test(test_build_request_nospace),
	        cmocka_unit_test(test_build_finish_and_lines),
	        cmocka_unit_test(test_status_phrase),
	        cmocka_unit_test_setup_teardown(test_build_response, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_build_response_body, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_build_response_in_dialog, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_edit_via_push, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_edit_via_pop, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_edit_rr_push, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_edit_route_pop, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_edit_ruri, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_edit_max_forwards, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_edit_hdr_add, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_edit_hdr_remove, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_edit_body, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_edit_adds_content_length, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_edit_keeps_bytes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_edit_proxy_forward, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_edit_proxy_loose_route, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_edit_print_twice, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_edit_list_full, setup, teardown),
	        cmocka_unit_test(test_edit_alloc_failures),
	        cmocka_unit_test(test_build_response_raw),
	        cmocka_unit_test_setup_teardown(test_edit_remove_several_on_one_line, setup,
	                                        teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
