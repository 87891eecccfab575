/*
 * test_msg.c — the SIP message parser (src/sip/msg.c, msg_get.c) beyond the
 * RFC 4475 torture set: compact and odd-cased header names, comma lists
 * split outside quotes and angle brackets, folded lines, the route and
 * token lists, framing (leading CRLFs, Content-Length in stream and
 * datagram mode, bare LF, a missing empty line), start lines and status
 * codes, the hot-header errors, and the allocation-failure and arena-limit
 * passes every parser here must survive (RFC 3261 §7, §18.3, §20, §25).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libsip/base.h"
#include "libsip/hdr.h"
#include "libsip/msg.h"
#include "libsip/uri.h"

#define ARENA_LIMIT (1u << 20)

/* ---- helpers ------------------------------------------------------------ */

struct fx {
	struct sip_arena *a;
	struct sip_msg *m;
	struct sip_parse_err perr;
	char *copy; /* the input, in a buffer of exactly its size */
};

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx || sip_arena_new(&fx->a, ARENA_LIMIT) < 0) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	sip_arena_free(fx->a);
	free(fx->copy);
	free(fx);
	return 0;
}

/* Parses len bytes of s. The bytes are first copied into a heap buffer of
 * exactly len bytes so that AddressSanitizer sees any read past the end. */
static int parse_n(struct fx *fx, const char *s, size_t len, unsigned flags)
{
	free(fx->copy);
	fx->copy = malloc(len ? len : 1);
	assert_non_null(fx->copy);
	memcpy(fx->copy, s, len);
	sip_arena_reset(fx->a);
	fx->m = NULL;
	memset(&fx->perr, 0, sizeof(fx->perr));
	return sip_msg_parse(&fx->m, fx->a, fx->copy, len, flags, &fx->perr);
}

static int parse(struct fx *fx, const char *s, unsigned flags)
{
	return parse_n(fx, s, strlen(s), flags);
}

static struct sip_msg *parse_ok(struct fx *fx, const char *s, unsigned flags)
{
	int rc = parse(fx, s, flags);

	if (rc != 0)
		fail_msg("sip_msg_parse = %s (%s) at \"%.*s\"", sip_err_name(rc),
		         fx->perr.reason ? fx->perr.reason : "", (int)fx->perr.where.len,
		         fx->perr.where.p ? fx->perr.where.p : "");
	assert_non_null(fx->m);
	return fx->m;
}

/* The parser refuses s with err, and perr says status and is_response. */
static void expect_err(struct fx *fx, const char *s, unsigned flags, int err, int status)
{
	int rc = parse(fx, s, flags);

	if (rc != err)
		fail_msg("sip_msg_parse = %s, expected %s for:\n%s", sip_err_name(rc),
		         sip_err_name(err), s);
	assert_null(fx->m);
	assert_int_equal(fx->perr.err, err);
	assert_int_equal(fx->perr.status, status);
	assert_non_null(fx->perr.reason);
	assert_true(fx->perr.reason[0] != '\0');
}

static void expect_pl(struct sip_pl got, const char *want, size_t n, const char *file, int line)
{
	if (got.len == n && (n == 0 || (got.p && memcmp(got.p, want, n) == 0)))
		return;
	print_error("slice \"%.*s\" (%zu octets) != \"%.*s\" (%zu octets)\n", (int)got.len,
	            got.p ? got.p : "", got.len, (int)n, want, n);
	_fail(file, line);
}

#define assert_pl(got, lit) expect_pl((got), (lit), sizeof(lit) - 1, __FILE__, __LINE__)
#define assert_pl_str(got, s) expect_pl((got), (s), strlen(s), __FILE__, __LINE__)

static const struct sip_hdr *hdr_nth(const struct sip_msg *m, enum sip_hdr_id id, size_t n)
{
	const struct sip_hdr *h = NULL;
	size_t pos = 0;

	for (size_t i = 0; i <= n; i++) {
		h = sip_msg_hdr_next(m, id, &pos);
		if (!h)
			fail_msg("no value %zu of header %s", n, sip_hdr_name(id));
	}
	return h;
}

static const struct sip_uri *addr_uri(const struct sip_msg *m, const struct sip_hdr *h)
{
	const struct sip_addr *a = NULL;
	const struct sip_uri *u = NULL;

	assert_int_equal(sip_msg_hdr_addr(m, h, &a), 0);
	assert_int_equal(sip_msg_addr_uri(m, a, &u), 0);
	return u;
}

/* The mandatory headers of a request, ready to follow a Request-Line. */
#define BASE_HDRS                                                                                  \
	"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"                    \
	"Max-Forwards: 70\r\n"                                                                     \
	"To: Bob <sip:bob@biloxi.example.com>\r\n"                                                 \
	"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"                           \
	"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"

#define OPTIONS_HEAD                                                                               \
	"OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n" BASE_HDRS "CSeq: 1 OPTIONS\r\n"

/* An OPTIONS request with extra header lines and no body. */
#define OPTIONS_WITH(extra) OPTIONS_HEAD extra "Content-Length: 0\r\n\r\n"

static const char sdp[] = "v=0\r\n"
                          "o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n"
                          "s=-\r\n"
                          "c=IN IP4 192.0.2.101\r\n"
                          "t=0 0\r\n"
                          "m=audio 49172 RTP/AVP 0\r\n"
                          "a=rtpmap:0 PCMU/8000\r\n";

/* A realistic INVITE (RFC 3261 §24.2 F1 with a route set). */
static char *realistic_invite(size_t *len)
{
	static char buf[2048];
	int n = snprintf(buf, sizeof(buf),
	                 "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
	                 "Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n"
	                 "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK1;received=192.0.2.7\r\n"
	                 "Max-Forwards: 70\r\n"
	                 "Route: <sip:ss1.atlanta.example.com;lr>,"
	                 " <sip:ss2.biloxi.example.com;lr>\r\n"
	                 "Record-Route: <sip:rr.example.com;lr>\r\n"
	                 "From: \"Alice A.\" <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
	                 "To: Bob <sip:bob@biloxi.example.com>\r\n"
	                 "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
	                 "CSeq: 1 INVITE\r\n"
	                 "Contact: <sip:alice@client.atlanta.example.com;transport=tcp>\r\n"
	                 "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE\r\n"
	                 "Supported: timer, 100rel\r\n"
	                 "Subject: lunch\r\n"
	                 "Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n"
	                 "X-Custom: whatever\r\n"
	                 "Content-Type: application/sdp\r\n"
	                 "Content-Length: %zu\r\n"
	                 "\r\n"
	                 "%s",
	                 strlen(sdp), sdp);

	*len = (size_t)n;
	return buf;
}

/* ---- header names ------------------------------------------------------- */

static const struct {
	char letter;
	enum sip_hdr_id id;
} compact[] = {
        {'i', SIP_HDR_CALL_ID},
        {'m', SIP_HDR_CONTACT},
        {'e', SIP_HDR_CONTENT_ENCODING},
        {'l', SIP_HDR_CONTENT_LENGTH},
        {'c', SIP_HDR_CONTENT_TYPE},
        {'f', SIP_HDR_FROM},
        {'s', SIP_HDR_SUBJECT},
        {'k', SIP_HDR_SUPPORTED},
        {'t', SIP_HDR_TO},
        {'v', SIP_HDR_VIA},
        {'o', SIP_HDR_EVENT},
        {'u', SIP_HDR_ALLOW_EVENTS},
        {'r', SIP_HDR_REFER_TO},
        {'b', SIP_HDR_REFERRED_BY},
        {'x', SIP_HDR_SESSION_EXPIRES},
        {'y', SIP_HDR_IDENTITY},
        {'a', SIP_HDR_ACCEPT_CONTACT},
        {'j', SIP_HDR_REJECT_CONTACT},
        {'d', SIP_HDR_REQUEST_DISPOSITION},
};

#define NCOMPACT (sizeof(compact) / sizeof(compact[0]))

static void test_compact_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCOMPACT; i++) {
		char lo = compact[i].letter, up = (char)(lo - 'a' + 'A');

		assert_int_equal(sip_hdr_id_from_name(sip_pl(&lo, 1)), compact[i].id);
		assert_int_equal(sip_hdr_id_from_name(sip_pl(&up, 1)), compact[i].id);
	}
	/* Letters that are no compact form, and non-letters. */
	for (const char *p = "ghnpqwzGHNPQWZ-!%0"; *p; p++)
		assert_int_equal(sip_hdr_id_from_name(sip_pl(p, 1)), SIP_HDR_OTHER);
	assert_int_equal(sip_hdr_id_from_name(SIP_PL("")), SIP_HDR_OTHER);
}

/* Every compact letter used in one message, each found with its id. */
static void test_compact_in_message(void **state)
{
	static const char msg[] = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
	                          "v: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\r\n"
	                          "f: Alice <sip:alice@example.com>;tag=1928301774\r\n"
	                          "t: Bob <sip:bob@biloxi.example.com>\r\n"
	                          "i: a84b4c76e66710@pc33.example.com\r\n"
	                          "m: <sip:alice@pc33.example.com>\r\n"
	                          "e: gzip\r\n"
	                          "c: application/sdp\r\n"
	                          "s: hello\r\n"
	                          "k: 100rel\r\n"
	                          "o: presence\r\n"
	                          "u: presence\r\n"
	                          "r: <sip:carol@example.com>\r\n"
	                          "b: <sip:alice@example.com>\r\n"
	                          "x: 1800\r\n"
	                          "y: c2lnbmF0dXJl\r\n"
	                          "a: *;audio\r\n"
	                          "j: *;video\r\n"
	                          "d: proxy\r\n"
	                          "CSeq: 1 INVITE\r\n"
	                          "l: 0\r\n"
	                          "\r\n";
	static const enum sip_hdr_id order[] = {
	        SIP_HDR_VIA,
	        SIP_HDR_FROM,
	        SIP_HDR_TO,
	        SIP_HDR_CALL_ID,
	        SIP_HDR_CONTACT,
	        SIP_HDR_CONTENT_ENCODING,
	        SIP_HDR_CONTENT_TYPE,
	        SIP_HDR_SUBJECT,
	        SIP_HDR_SUPPORTED,
	        SIP_HDR_EVENT,
	        SIP_HDR_ALLOW_EVENTS,
	        SIP_HDR_REFER_TO,
	        SIP_HDR_REFERRED_BY,
	        SIP_HDR_SESSION_EXPIRES,
	        SIP_HDR_IDENTITY,
	        SIP_HDR_ACCEPT_CONTACT,
	        SIP_HDR_REJECT_CONTACT,
	        SIP_HDR_REQUEST_DISPOSITION,
	        SIP_HDR_CSEQ,
	        SIP_HDR_CONTENT_LENGTH,
	};
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, msg, SIP_PARSE_STREAM);

	assert_int_equal(sip_msg_hdr_count(m), sizeof(order) / sizeof(order[0]));
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const struct sip_hdr *h = sip_msg_hdr_at(m, i);

		assert_int_equal(h->id, order[i]);
		assert_int_equal(h->name.len, order[i] == SIP_HDR_CSEQ ? 4 : 1);
	}
	/* The hot ones are decoded through their compact names. */
	assert_pl(sip_msg_via(m)->branch, "z9hG4bK776asdhds");
	assert_pl(sip_msg_from(m)->tag, "1928301774");
	assert_pl(sip_msg_to(m)->uri, "sip:bob@biloxi.example.com");
	assert_pl(sip_msg_call_id(m), "a84b4c76e66710@pc33.example.com");
	assert_pl(sip_msg_contact(m)->uri, "sip:alice@pc33.example.com");
	assert_int_equal(sip_msg_content_length(m), 0);
	assert_pl(sip_msg_hdr(m, SIP_HDR_SUBJECT)->value, "hello");
	assert_pl(sip_msg_hdr(m, SIP_HDR_SESSION_EXPIRES)->value, "1800");
	/* Lookup by name honours compact forms both ways. */
	assert_ptr_equal(sip_msg_hdr_by_name(m, SIP_PL("Via")), sip_msg_hdr(m, SIP_HDR_VIA));
	assert_ptr_equal(sip_msg_hdr_by_name(m, SIP_PL("V")), sip_msg_hdr(m, SIP_HDR_VIA));
	assert_ptr_equal(sip_msg_hdr_by_name(m, SIP_PL("CALL-ID")),
	                 sip_msg_hdr(m, SIP_HDR_CALL_ID));
	assert_int_equal(sip_msg_check(m, NULL), 0);
}

static void upper(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Every canonical name maps back to its id in any case; near misses
 * (one letter more, less or different) are unknown headers. */
static void test_long_names_any_case(void **state)
{
	(void)state;
	for (int id = 1; id < SIP_HDR_COUNT; id++) {
		const char *name = sip_hdr_name((enum sip_hdr_id)id);
		char buf[64];
		size_t n;

		assert_non_null(name);
		n = strlen(name);
		assert_true(n > 1 && n < sizeof(buf) - 2);
		assert_int_equal(sip_hdr_id_from_name(sip_pl_cstr(name)), id);
		strcpy(buf, name);
		upper(buf);
		assert_int_equal(sip_hdr_id_from_name(sip_pl_cstr(buf)), id);
		lower(buf);
		assert_int_equal(sip_hdr_id_from_name(sip_pl_cstr(buf)), id);
		for (size_t i = 0; i < n; i += 2)
			if (buf[i] >= 'a' && buf[i] <= 'z')
				buf[i] = (char)(buf[i] - 'a' + 'A');
		assert_int_equal(sip_hdr_id_from_name(sip_pl_cstr(buf)), id);

		if (n > 2) /* "To" less one letter is the compact "T" */
			assert_int_equal(sip_hdr_id_from_name(sip_pl(name, n - 1)), SIP_HDR_OTHER);
		strcpy(buf, name);
		strcat(buf, "x");
		assert_int_equal(sip_hdr_id_from_name(sip_pl_cstr(buf)), SIP_HDR_OTHER);
		strcpy(buf, name);
		buf[n - 1] = buf[n - 1] == 'q' ? 'z' : 'q';
		assert_int_equal(sip_hdr_id_from_name(sip_pl_cstr(buf)), SIP_HDR_OTHER);
		strcpy(buf, name);
		buf[1] = buf[1] == '_' ? '.' : '_';
		assert_int_equal(sip_hdr_id_from_name(sip_pl_cstr(buf)), SIP_HDR_OTHER);
	}
	assert_null(sip_hdr_name(SIP_HDR_OTHER));
	assert_int_equal(sip_hdr_id_from_name(SIP_PL("X-Via")), SIP_HDR_OTHER);
	assert_int_equal(sip_hdr_id_from_name(SIP_PL("Vias")), SIP_HDR_OTHER);
	assert_int_equal(sip_hdr_id_from_name(SIP_PL("Call_ID")), SIP_HDR_OTHER);
	assert_int_equal(sip_hdr_id_from_name(SIP_PL("Content-Lengths")), SIP_HDR_OTHER);
}

static void test_odd_case_in_message(void **state)
{
	static const char msg[] = "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n"
	                          "VIA: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1\r\n"
	                          "mAX-fORWARDS: 7\r\n"
	                          "tO: <sip:bob@biloxi.example.com>\r\n"
	                          "FROM: <sip:alice@example.com>;tag=1\r\n"
	                          "cALL-iD: abc@def\r\n"
	                          "cseq: 2 OPTIONS\r\n"
	                          "rEcOrD-rOuTe: <sip:p1.example.com;lr>\r\n"
	                          "x-unknown: 1\r\n"
	                          "CONTENT-LENGTH: 0\r\n"
	                          "\r\n";
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, msg, SIP_PARSE_STREAM);

	assert_int_equal(sip_msg_max_forwards(m), 7);
	assert_int_equal(sip_msg_cseq(m)->num, 2);
	assert_pl(sip_msg_call_id(m), "abc@def");
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_RECORD_ROUTE), 1);
	assert_pl(sip_msg_hdr(m, SIP_HDR_RECORD_ROUTE)->name, "rEcOrD-rOuTe");
	assert_pl(sip_msg_hdr_by_name(m, SIP_PL("X-Unknown"))->value, "1");
	assert_int_equal(sip_msg_content_length(m), 0);
	assert_int_equal(sip_msg_check(m, NULL), 0);
}

/* ---- lists and folding ------------------------------------------------- */

static void test_comma_split(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m;
	const struct sip_hdr *h0, *h1;
	const struct sip_addr *a;
	char disp[64];

	/* Commas inside quotes and inside < > never split. */
	m = parse_ok(fx, OPTIONS_WITH("Contact: \"a,b\" <sip:a@b;x=1,2>, <sip:c@d>\r\n"), 0);
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_CONTACT), 2);
	h0 = hdr_nth(m, SIP_HDR_CONTACT, 0);
	h1 = hdr_nth(m, SIP_HDR_CONTACT, 1);
	assert_pl(h0->value, "\"a,b\" <sip:a@b;x=1,2>");
	assert_pl(h1->value, "<sip:c@d>");
	assert_int_equal(h0->elem, 0);
	assert_int_equal(h1->elem, 1);
	assert_int_equal(h0->nelem, 2);
	assert_int_equal(h1->nelem, 2);
	assert_ptr_equal(h0->line.p, h1->line.p);
	assert_int_equal(h0->line.len, h1->line.len);
	assert_memory_equal(h0->line.p + h0->line.len - 2, "\r\n", 2);
	a = sip_msg_contact(m);
	assert_int_equal(sip_addr_display(a, disp, sizeof(disp)), 3);
	assert_memory_equal(disp, "a,b", 3);
	assert_pl(a->uri, "sip:a@b;x=1,2");

	/* An escaped quote does not close the string; '<' inside quotes does
	 * not open brackets. */
	m = parse_ok(fx,
	             OPTIONS_WITH("Contact: \"x\\\",<y\" <sip:a@b>,<sip:c@d> ,"
	                          " \"z\" <sip:e@f>\r\n"),
	             0);
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_CONTACT), 3);
	assert_pl(hdr_nth(m, SIP_HDR_CONTACT, 0)->value, "\"x\\\",<y\" <sip:a@b>");
	assert_pl(hdr_nth(m, SIP_HDR_CONTACT, 1)->value, "<sip:c@d>");
	assert_pl(hdr_nth(m, SIP_HDR_CONTACT, 2)->value, "\"z\" <sip:e@f>");

	/* Three Via values on one line. */
	m = parse_ok(fx,
	             "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n"
	             "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1 , SIP/2.0/TCP b.example.com"
	             ";branch=z9hG4bK2,SIP/2.0/TLS c.example.com:5061;branch=z9hG4bK3\r\n"
	             "Max-Forwards: 70\r\nTo: <sip:bob@biloxi.example.com>\r\n"
	             "From: <sip:a@example.com>;tag=1\r\nCall-ID: x@y\r\nCSeq: 1 OPTIONS\r\n"
	             "Content-Length: 0\r\n\r\n",
	             0);
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_VIA), 3);
	assert_pl(hdr_nth(m, SIP_HDR_VIA, 2)->value,
	          "SIP/2.0/TLS c.example.com:5061;branch=z9hG4bK3");
	assert_pl(sip_msg_via(m)->host, "a.example.com");

	/* Single-valued and unknown headers are never split. */
	m = parse_ok(fx, OPTIONS_WITH("Subject: a, b\r\nX-List: 1, 2, 3\r\n"), 0);
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_SUBJECT), 1);
	assert_pl(sip_msg_hdr(m, SIP_HDR_SUBJECT)->value, "a, b");
	assert_pl(sip_msg_hdr_by_name(m, SIP_PL("x-list"))->value, "1, 2, 3");
	assert_int_equal(sip_msg_hdr_by_name(m, SIP_PL("x-list"))->nelem, 1);
}

static void test_folding(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m;
	const struct sip_via *v;

	m = parse_ok(fx,
	             "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n"
	             "Via: SIP/2.0/UDP\r\n pc33.example.com\r\n\t;branch=z9hG4bK9\r\n"
	             "Max-Forwards:\r\n 70\r\n"
	             "To:\r\n\t<sip:bob@biloxi.example.com>\r\n"
	             "From: <sip:a@example.com>\r\n ;tag=1\r\n"
	             "Call-ID: x@y\r\n"
	             "CSeq: 1\r\n  OPTIONS\r\n"
	             "Subject: one\r\n two\r\n\tthree\r\n"
	             "Content-Length: 0\r\n\r\n",
	             SIP_PARSE_STREAM);
	v = sip_msg_via(m);
	assert_pl(v->host, "pc33.example.com");
	assert_pl(v->branch, "z9hG4bK9");
	assert_int_equal(sip_msg_max_forwards(m), 70);
	assert_pl(sip_msg_to(m)->uri, "sip:bob@biloxi.example.com");
	assert_pl(sip_msg_from(m)->tag, "1");
	assert_int_equal(sip_msg_cseq(m)->method_id, SIP_METHOD_OPTIONS);
	assert_pl(sip_msg_hdr(m, SIP_HDR_SUBJECT)->value, "one\r\n two\r\n\tthree");
	assert_int_equal(sip_msg_hdr_count(m), 8);
	assert_int_equal(sip_msg_check(m, NULL), 0);

	/* A continuation line with no header before it is no header. */
	expect_err(fx,
	           "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n continued\r\n" BASE_HDRS
	           "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	           0, SIP_ERR_HEADER, 400);
}

static void test_route_and_token_lists(void **state)
{
	struct fx *fx = *state;
	size_t len;
	const char *msg = realistic_invite(&len);
	struct sip_msg *m;
	const struct sip_uri *u;

	assert_int_equal(parse_n(fx, msg, len, SIP_PARSE_STREAM), 0);
	m = fx->m;
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_ROUTE), 2);
	u = addr_uri(m, hdr_nth(m, SIP_HDR_ROUTE, 0));
	assert_pl(u->host, "ss1.atlanta.example.com");
	assert_true(u->lr);
	u = addr_uri(m, hdr_nth(m, SIP_HDR_ROUTE, 1));
	assert_pl(u->host, "ss2.biloxi.example.com");
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_RECORD_ROUTE), 1);
	assert_pl(addr_uri(m, sip_msg_hdr(m, SIP_HDR_RECORD_ROUTE))->host, "rr.example.com");

	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_ALLOW), 5);
	assert_pl(hdr_nth(m, SIP_HDR_ALLOW, 4)->value, "BYE");
	assert_true(sip_msg_has_token(m, SIP_HDR_ALLOW, "INVITE"));
	assert_true(sip_msg_has_token(m, SIP_HDR_ALLOW, "CANCEL"));
	assert_false(sip_msg_has_token(m, SIP_HDR_ALLOW, "REGISTER"));
	assert_false(sip_msg_has_token(m, SIP_HDR_ALLOW, "INV"));
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_SUPPORTED), 2);
	assert_true(sip_msg_has_token(m, SIP_HDR_SUPPORTED, "100rel"));
	assert_true(sip_msg_has_token(m, SIP_HDR_SUPPORTED, "TIMER"));
	assert_false(sip_msg_has_token(m, SIP_HDR_REQUIRE, "timer"));

	/* Values spread over several lines keep their order. */
	m = parse_ok(fx,
	             OPTIONS_WITH("Route: <sip:p1.example.com;lr>\r\n"
	                          "Supported: path\r\n"
	                          "Route: <sip:p2.example.com;lr>, <sip:p3.example.com;lr>\r\n"
	                          "Route: <sip:p4.example.com;lr>\r\n"),
	             0);
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_ROUTE), 4);
	for (size_t i = 0; i < 4; i++) {
		char host[32];

		snprintf(host, sizeof(host), "p%zu.example.com", i + 1);
		assert_pl_str(addr_uri(m, hdr_nth(m, SIP_HDR_ROUTE, i))->host, host);
	}
	assert_true(sip_msg_hdr_index(m, hdr_nth(m, SIP_HDR_ROUTE, 0)) <
	            sip_msg_hdr_index(m, sip_msg_hdr(m, SIP_HDR_SUPPORTED)));
	assert_true(sip_msg_hdr_index(m, hdr_nth(m, SIP_HDR_ROUTE, 1)) >
	            sip_msg_hdr_index(m, sip_msg_hdr(m, SIP_HDR_SUPPORTED)));
}

static void test_contact_star(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m;

	m = parse_ok(fx,
	             "REGISTER sip:example.com SIP/2.0\r\n" BASE_HDRS
	             "CSeq: 2 REGISTER\r\nContact: *\r\nExpires: 0\r\nContent-Length: 0\r\n\r\n",
	             0);
	assert_true(sip_msg_contact(m)->star);
	assert_int_equal(sip_msg_check(m, NULL), 0);
}

/* Via and Contact fields a transport and a registrar read: IPv6 sent-by
 * and received, rport with and without a value, and a quoted parameter
 * holding '<', '>' and ',' that must not split the Contact list. */
static void test_via_contact_fields(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m;
	const struct sip_via *v;
	const struct sip_addr *c;

	m = parse_ok(fx,
	             "REGISTER sip:example.com SIP/2.0\r\n"
	             "Via: SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK1;rport=5080;"
	             "received=2001:db8::2\r\n"
	             "Via: SIP/2.0/TCP h.example.com ;branch=z9hG4bK2 ;rport\r\n"
	             "To: <sip:a@example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\n"
	             "Call-ID: x@y\r\nCSeq: 1 REGISTER\r\n"
	             "Contact: <sip:a@[2001:db8::1]:5070>;+sip.instance=\"<urn:uuid:1,2>\";"
	             "reg-id=1;q=0.5, sip:b@example.com;expires=30\r\n"
	             "Content-Length: 0\r\n\r\n",
	             SIP_PARSE_STREAM);
	v = sip_msg_via(m);
	assert_pl(v->host, "2001:db8::1");
	assert_int_equal(v->host_type, SIP_HOST_IPV6);
	assert_int_equal(v->port, 5070);
	assert_pl(v->sent_by, "[2001:db8::1]:5070");
	assert_true(v->has_rport);
	assert_int_equal(v->rport, 5080);
	assert_pl(v->received, "2001:db8::2");
	assert_int_equal(sip_msg_hdr_via(m, hdr_nth(m, SIP_HDR_VIA, 1), &v), 0);
	assert_pl(v->host, "h.example.com");
	assert_true(v->has_rport);
	assert_int_equal(v->rport, 0);
	assert_pl(v->branch, "z9hG4bK2");

	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_CONTACT), 2);
	c = sip_msg_contact(m);
	assert_pl(c->instance, "\"<urn:uuid:1,2>\"");
	assert_pl(c->reg_id, "1");
	assert_int_equal(sip_addr_q(c, 1000), 500);
	assert_int_equal(addr_uri(m, hdr_nth(m, SIP_HDR_CONTACT, 0))->host_type, SIP_HOST_IPV6);
	assert_int_equal(sip_msg_hdr_addr(m, hdr_nth(m, SIP_HDR_CONTACT, 1), &c), 0);
	assert_false(c->bracketed);
	assert_pl(c->uri, "sip:b@example.com");
	assert_pl(c->expires, "30");
	assert_int_equal(sip_addr_q(c, 1000), 1000);
	assert_int_equal(sip_msg_check(m, NULL), 0);
}

/* ---- framing ------------------------------------------------------------- */

static void test_leading_crlf(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m;

	m = parse_ok(fx, "\r\n\r\n\r\n" OPTIONS_WITH(""), SIP_PARSE_STREAM);
	assert_memory_equal(sip_msg_raw(m).p, "OPTIONS ", 8);
	assert_int_equal(sip_msg_raw(m).len, strlen(OPTIONS_WITH("")));
	assert_pl(sip_msg_start_line(m), "OPTIONS sip:bob@biloxi.example.com SIP/2.0");
	assert_int_equal(sip_msg_method(m), SIP_METHOD_OPTIONS);

	/* Nothing but CRLFs, or nothing at all, is no message. */
	assert_true(parse(fx, "\r\n\r\n", 0) < 0);
	assert_int_equal(fx->perr.status, 400);
	assert_true(parse_n(fx, "", 0, 0) < 0);
	assert_true(parse(fx, "\r\n\r", 0) < 0);
}

static void test_stream_needs_content_length(void **state)
{
	static const char no_clen[] = OPTIONS_HEAD "\r\nbody";
	struct fx *fx = *state;
	struct sip_msg *m;
	struct sip_pl raw;

	expect_err(fx, no_clen, SIP_PARSE_STREAM, SIP_ERR_CLEN, 400);
	/* A datagram without it: the body is the rest. */
	m = parse_ok(fx, no_clen, 0);
	assert_int_equal(sip_msg_content_length(m), -1);
	assert_pl(sip_msg_body(m), "body");

	/* In a stream the next message starts after Content-Length octets. */
	m = parse_ok(fx, OPTIONS_HEAD "Content-Length: 3\r\n\r\nabc" OPTIONS_WITH(""),
	             SIP_PARSE_STREAM);
	raw = sip_msg_raw(m);
	assert_pl(sip_msg_body(m), "abc");
	assert_int_equal(raw.len, strlen(OPTIONS_HEAD "Content-Length: 3\r\n\r\nabc"));
}

static void test_content_length(void **state)
{
	static const char *const bad[] = {
	        "-1",
	        "abc",
	        "",
	        "1 2",
	        "0x10",
	        "+5",
	        "4294967295",
	        "4294967296",
	        "18446744073709551617",
	        "99999999999999999999999999999999999999",
	};
	struct fx *fx = *state;
	struct sip_msg *m;

	/* Fewer octets than announced. */
	expect_err(fx, OPTIONS_HEAD "Content-Length: 10\r\n\r\n12345", 0, SIP_ERR_BODY_SHORT, 400);
	expect_err(fx, OPTIONS_HEAD "Content-Length: 10\r\n\r\n12345", SIP_PARSE_STREAM,
	           SIP_ERR_BODY_SHORT, 400);
	assert_true(fx->perr.where.len > 0);

	/* More octets than announced (datagram): the rest is dropped. */
	m = parse_ok(fx, OPTIONS_HEAD "Content-Length: 3\r\n\r\nabcdef", 0);
	assert_pl(sip_msg_body(m), "abc");
	assert_memory_equal(sip_msg_raw(m).p + sip_msg_raw(m).len - 3, "abc", 3);

	/* Compact l and white space around the number. */
	m = parse_ok(fx, OPTIONS_HEAD "l:   4  \r\n\r\nabcd", SIP_PARSE_STREAM);
	assert_int_equal(sip_msg_content_length(m), 4);

	/* Malformed or huge values are refused before they are used. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char msg[1024];
		int rc;

		snprintf(msg, sizeof(msg), OPTIONS_HEAD "Content-Length: %s\r\n\r\nabc", bad[i]);
		rc = parse(fx, msg, 0);
		if (rc != SIP_ERR_CLEN && rc != SIP_ERR_BODY_SHORT)
			fail_msg("Content-Length: %s gave %s", bad[i], sip_err_name(rc));
		assert_int_equal(fx->perr.status, 400);
	}

	/* Two equal Content-Lengths are harmless, two different are not. */
	m = parse_ok(fx, OPTIONS_HEAD "Content-Length: 2\r\nl: 2\r\n\r\nab", 0);
	assert_int_equal(sip_msg_check(m, NULL), 0);
	m = parse_ok(fx, OPTIONS_HEAD "Content-Length: 2\r\nl: 1\r\n\r\nab", 0);
	assert_int_equal(sip_msg_check(m, NULL), SIP_ERR_DUP_HEADER);
}

static void test_bare_lf(void **state)
{
	struct fx *fx = *state;
	int rc;

	rc = parse(fx,
	           "OPTIONS sip:bob@biloxi.example.com SIP/2.0\n"
	           "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1\n"
	           "To: <sip:bob@biloxi.example.com>\nFrom: <sip:a@b.com>;tag=1\n"
	           "Call-ID: x@y\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n",
	           0);
	assert_true(rc < 0);
	assert_int_equal(fx->perr.status, 400);

	/* CRLF start line, one header ending in a bare LF. */
	rc = parse(fx, OPTIONS_HEAD "Subject: x\nContent-Length: 0\r\n\r\n", 0);
	assert_true(rc < 0);
	assert_int_equal(fx->perr.status, 400);

	/* The empty line written as a bare LF. */
	rc = parse(fx, OPTIONS_HEAD "Content-Length: 0\r\n\n", 0);
	assert_true(rc < 0);
	assert_int_equal(fx->perr.status, 400);
}

static void test_missing_empty_line(void **state)
{
	struct fx *fx = *state;

	expect_err(fx, OPTIONS_HEAD "Content-Length: 0\r\n", 0, SIP_ERR_HEADER, 400);
	expect_err(fx, OPTIONS_HEAD "Content-Length: 0\r\n", SIP_PARSE_STREAM, SIP_ERR_HEADER, 400);
	/* Cut inside a header line. */
	expect_err(fx, OPTIONS_HEAD "Content-Len", 0, SIP_ERR_HEADER, 400);
	expect_err(fx, OPTIONS_HEAD "Content-Length: 0\r", 0, SIP_ERR_HEADER, 400);
	/* Cut inside the start line. */
	assert_true(parse(fx, "OPTIONS sip:bob@biloxi.example.com SIP/2.0", 0) < 0);
	assert_int_equal(fx->perr.status, 400);
}

static void test_header_without_colon(void **state)
{
	struct fx *fx = *state;

	expect_err(fx, OPTIONS_WITH("Foo bar\r\n"), 0, SIP_ERR_HEADER, 400);
	assert_pl(fx->perr.where, "Foo");
	expect_err(fx, OPTIONS_WITH(": no name\r\n"), 0, SIP_ERR_HEADER, 400);
	expect_err(fx, OPTIONS_WITH("Subject\r\n"), 0, SIP_ERR_HEADER, 400);
	expect_err(fx, OPTIONS_WITH("Sub ject: x\r\n"), 0, SIP_ERR_HEADER, 400);
	expect_err(fx, OPTIONS_WITH("Sub\"ject: x\r\n"), 0, SIP_ERR_HEADER, 400);

	/* White space between name and colon is allowed (HCOLON). */
	assert_pl(sip_msg_hdr(parse_ok(fx, OPTIONS_WITH("Subject \t : x\r\n"), 0), SIP_HDR_SUBJECT)
	                  ->value,
	          "x");
}

/* A name is looked up in place when its colon is among the first 16
 * octets of a line of 16 or more, and by the general path otherwise (a
 * longer name, white space before the colon, a short last line, a name the
 * table lacks): both must name alike and refuse alike. */
static void test_name_paths(void **state)
{
	static const char msg[] =
	        "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n" BASE_HDRS "CSeq: 1 OPTIONS\r\n"
	        "Proxy-Authorization: Digest username=\"a\"\r\n"
	        "Subscription-State: active\r\n"
	        "Subject :x\r\n"
	        "X-Fifteen-Octs: 1\r\n"
	        "X-Sixteen-Octs1: 2\r\n"
	        "Call.ID: 3\r\n"
	        "s:4\r\n"
	        "k: 100rel\r\n"
	        "l:0\r\n"
	        "\r\n";
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, msg, SIP_PARSE_STREAM);

	assert_pl(sip_msg_hdr(m, SIP_HDR_PROXY_AUTHORIZATION)->name, "Proxy-Authorization");
	assert_pl(sip_msg_hdr(m, SIP_HDR_SUBSCRIPTION_STATE)->value, "active");
	assert_pl(sip_msg_hdr(m, SIP_HDR_SUBJECT)->name, "Subject");
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_SUBJECT), 2);
	assert_pl(hdr_nth(m, SIP_HDR_SUBJECT, 1)->value, "4");
	assert_pl(sip_msg_hdr_by_name(m, SIP_PL("x-fifteen-octs"))->value, "1");
	assert_pl(sip_msg_hdr_by_name(m, SIP_PL("X-Sixteen-Octs1"))->value, "2");
	assert_int_equal(sip_msg_hdr_by_name(m, SIP_PL("Call.ID"))->id, SIP_HDR_OTHER);
	assert_pl(sip_msg_call_id(m), "a84b4c76e66710@pc33.atlanta.example.com");
	assert_int_equal(sip_msg_hdr(m, SIP_HDR_SUPPORTED)->id, SIP_HDR_SUPPORTED);
	assert_int_equal(sip_msg_content_length(m), 0);

	/* Octets that fold onto a name's letters or '-' do not pass for them. */
	expect_err(fx, OPTIONS_WITH("Call\rID: x\r\n"), 0, SIP_ERR_HEADER, 400);
	expect_err(fx, OPTIONS_WITH("Vi;a: SIP/2.0/UDP h\r\n"), 0, SIP_ERR_HEADER, 400);
	assert_pl(fx->perr.where, "Vi");
	assert_int_equal(parse_n(fx, OPTIONS_WITH("To\0: <sip:x@y>\r\n"),
	                         sizeof(OPTIONS_WITH("To\0: <sip:x@y>\r\n")) - 1, 0),
	                 SIP_ERR_HEADER);
}

/* ---- start lines ----------------------------------------------------------- */

static void test_unknown_scheme(void **state)
{
	struct fx *fx = *state;
	struct sip_parse_err perr;
	struct sip_msg *m;

	m = parse_ok(fx, "OPTIONS foo:bar SIP/2.0\r\n" BASE_HDRS "CSeq: 1 OPTIONS\r\n\r\n", 0);
	assert_int_equal(sip_msg_ruri(m)->scheme, SIP_SCHEME_OTHER);
	assert_pl(sip_msg_ruri(m)->scheme_pl, "foo");
	assert_int_equal(sip_msg_check(m, &perr), SIP_ERR_SCHEME);
	assert_int_equal(perr.status, 416);
	assert_pl(perr.where, "foo");

	/* sips: and tel: are known. */
	m = parse_ok(fx,
	             "OPTIONS sips:bob@biloxi.example.com SIP/2.0\r\n" BASE_HDRS
	             "CSeq: 1 OPTIONS\r\n\r\n",
	             0);
	assert_int_equal(sip_msg_check(m, NULL), 0);
	m = parse_ok(fx,
	             "OPTIONS tel:+1-201-555-0123 SIP/2.0\r\n" BASE_HDRS "CSeq: 1 OPTIONS\r\n\r\n",
	             0);
	assert_int_equal(sip_msg_ruri(m)->scheme, SIP_SCHEME_TEL);
	assert_int_equal(sip_msg_check(m, NULL), 0);
}

static void test_request_lines(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m;

	assert_true(parse(fx, "INVITE  sip:a@b.com SIP/2.0\r\n" BASE_HDRS "\r\n", 0) < 0);
	assert_int_equal(fx->perr.status, 400);
	assert_true(parse(fx, "INVITE sip:a@b.com  SIP/2.0\r\n" BASE_HDRS "\r\n", 0) < 0);
	assert_int_equal(fx->perr.status, 400);
	assert_true(parse(fx, "INVITE sip:a@b.com\r\n" BASE_HDRS "\r\n", 0) < 0);
	assert_int_equal(fx->perr.status, 400);
	assert_true(parse(fx, "INVITE\r\n" BASE_HDRS "\r\n", 0) < 0);
	assert_int_equal(fx->perr.status, 400);
	assert_true(parse(fx, "INVITE sip:a@b.com HTTP/1.1\r\n" BASE_HDRS "\r\n", 0) < 0);
	assert_int_equal(fx->perr.status, 400);
	assert_true(parse(fx, " INVITE sip:a@b.com SIP/2.0\r\n" BASE_HDRS "\r\n", 0) < 0);
	assert_int_equal(fx->perr.status, 400);
	expect_err(fx, "INVITE sip:a@b.com SIP/2.1\r\n" BASE_HDRS "CSeq: 1 INVITE\r\n\r\n", 0,
	           SIP_ERR_VERSION, 505);
	expect_err(fx, "INVITE sip:a@b.com SIP/3.0\r\n" BASE_HDRS "CSeq: 1 INVITE\r\n\r\n", 0,
	           SIP_ERR_VERSION, 505);

	/* Methods are case-sensitive: "invite" is an extension method. */
	m = parse_ok(fx, "invite sip:a@b.com SIP/2.0\r\n" BASE_HDRS "CSeq: 1 invite\r\n\r\n", 0);
	assert_int_equal(sip_msg_method(m), SIP_METHOD_OTHER);
	assert_pl(sip_msg_method_name(m), "invite");

	/* Every known method has its id; a longer name sharing a prefix or
	 * a last letter is not it. */
	for (int id = 1; id <= SIP_METHOD_UPDATE; id++) {
		const char *name = sip_method_name((enum sip_method)id);
		char buf[64];

		assert_int_equal(sip_method_from_name(sip_pl_cstr(name)), id);
		snprintf(buf, sizeof(buf), "%sX", name);
		assert_int_equal(sip_method_from_name(sip_pl_cstr(buf)), SIP_METHOD_OTHER);
		snprintf(buf, sizeof(buf), "%sXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX%s", name, name);
		assert_int_equal(sip_method_from_name(sip_pl_cstr(buf)), SIP_METHOD_OTHER);
		assert_int_equal(sip_method_from_name(sip_pl(name, strlen(name) - 1)),
		                 SIP_METHOD_OTHER);
	}
	assert_int_equal(sip_method_from_name(SIP_PL("")), SIP_METHOD_OTHER);
	assert_string_equal(sip_method_name(SIP_METHOD_OTHER), "");
}

static void test_status_lines(void **state)
{
	static const char hdrs[] = "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1\r\n"
	                           "To: <sip:bob@biloxi.example.com>;tag=2\r\n"
	                           "From: <sip:alice@example.com>;tag=1\r\n"
	                           "Call-ID: x@y\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
	static const char *const bad[] = {
	        "SIP/2.0 99 x",   "SIP/2.0 099 x",   "SIP/2.0 700 x",
	        "SIP/2.0 999 x",  "SIP/2.0 1800 x",  "SIP/2.0 2OO OK",
	        "SIP/2.0 -200 x", "SIP/2.0  200 OK", "SIP/2.0 20 OK",
	};
	struct fx *fx = *state;
	struct sip_msg *m;
	char msg[1024];

	snprintf(msg, sizeof(msg), "SIP/2.0 180 Ringing\r\n%s", hdrs);
	m = parse_ok(fx, msg, SIP_PARSE_STREAM);
	assert_false(sip_msg_is_request(m));
	assert_int_equal(sip_msg_status(m), 180);
	assert_pl(sip_msg_reason(m), "Ringing");
	assert_null(sip_msg_ruri(m));
	assert_int_equal(sip_msg_check(m, NULL), 0);

	snprintf(msg, sizeof(msg), "SIP/2.0 699 Whatever It Says\r\n%s", hdrs);
	m = parse_ok(fx, msg, 0);
	assert_int_equal(sip_msg_status(m), 699);
	assert_pl(sip_msg_reason(m), "Whatever It Says");
	snprintf(msg, sizeof(msg), "SIP/2.0 100 \r\n%s", hdrs);
	assert_int_equal(sip_msg_status(parse_ok(fx, msg, 0)), 100);

	/* Status codes outside 100..699 (RFC 3261 §21 classes 1xx-6xx): the
	 * response is dropped silently. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		snprintf(msg, sizeof(msg), "%s\r\n%s", bad[i], hdrs);
		rc = parse(fx, msg, 0);
		if (rc >= 0)
			fail_msg("\"%s\" parsed as status %d", bad[i], sip_msg_status(fx->m));
		assert_int_equal(fx->perr.status, 0);
		assert_true(fx->perr.is_response);
	}
	snprintf(msg, sizeof(msg), "SIP/2.0 700 x\r\n%s", hdrs);
	expect_err(fx, msg, 0, SIP_ERR_STATUS_CODE, 0);

	/* Other versions: dropped too. */
	snprintf(msg, sizeof(msg), "SIP/3.0 200 OK\r\n%s", hdrs);
	expect_err(fx, msg, 0, SIP_ERR_VERSION, 0);
	assert_true(fx->perr.is_response);

	/* A response's errors in headers are also silent drops. */
	assert_true(parse(fx, "SIP/2.0 200 OK\r\nCSeq: x\r\n\r\n", 0) < 0);
	assert_int_equal(fx->perr.status, 0);
	assert_true(fx->perr.is_response);
}

/* ---- hot headers ------------------------------------------------------------ */

static void test_hot_header_errors(void **state)
{
	static const struct {
		const char *hdr;
		int err;
	} bad[] = {
	        {"Max-Forwards: abc", SIP_ERR_MAX_FWD},
	        {"Max-Forwards: 256", SIP_ERR_MAX_FWD},
	        {"Max-Forwards: -1", SIP_ERR_MAX_FWD},
	        {"Max-Forwards:", SIP_ERR_MAX_FWD},
	        {"CSeq: abc OPTIONS", SIP_ERR_CSEQ},
	        {"CSeq: 1", SIP_ERR_CSEQ},
	        {"CSeq: OPTIONS", SIP_ERR_CSEQ},
	        {"CSeq: 4294967296 OPTIONS", SIP_ERR_CSEQ},
	        {"CSeq: 1 OPTIONS x", SIP_ERR_CSEQ},
	        {"Call-ID: a b", SIP_ERR_CALL_ID},
	        {"Call-ID:", SIP_ERR_CALL_ID},
	        {"Call-ID: a@", SIP_ERR_CALL_ID},
	        {"Via: SIP/2.0/UDP", SIP_ERR_VIA},
	        {"Via: SIP/2.0 pc33.example.com", SIP_ERR_VIA},
	        {"Via: SIP/2.0/UDP pc33.example.com;branch", SIP_ERR_VIA},
	        {"Via: SIP/2.0/UDP pc33.example.com:99999", SIP_ERR_VIA},
	        {"Via: , SIP/2.0/UDP pc33.example.com", SIP_ERR_VIA},
	        {"Via: SIP/2.1/UDP pc33.example.com", SIP_ERR_VERSION},
	        {"Contact: <sip:a@b.com", SIP_ERR_ADDR},
	        {"Contact: sip:a@b.com?x=y", SIP_ERR_ADDR},
	        {"Contact: \"unclosed <sip:a@b.com>", SIP_ERR_ADDR},
	        {"Contact: <sip:a@b.com>;tag", SIP_ERR_ADDR},
	};
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char msg[1024];
		int rc;

		/* The bad header comes first so that it is the first fault. */
		snprintf(msg, sizeof(msg),
		         "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n%s\r\n" BASE_HDRS
		         "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		         bad[i].hdr);
		rc = parse(fx, msg, 0);
		if (rc != bad[i].err)
			fail_msg("\"%s\" gave %s, expected %s", bad[i].hdr, sip_err_name(rc),
			         sip_err_name(bad[i].err));
		assert_int_equal(fx->perr.status, sip_err_status(bad[i].err));
		assert_true(fx->perr.where.len > 0);
	}

	/* A bad Date parses (a proxy forwards it untouched) and fails the
	 * check of an element that acts on the request (RFC 4475 baddate). */
	assert_int_equal(parse(fx,
	                       "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n"
	                       "Date: Sat, 13 Nov 2010 23:29:00 EST\r\n" BASE_HDRS
	                       "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	                       0),
	                 0);
	assert_int_equal(sip_msg_check(fx->m, &fx->perr), SIP_ERR_DATE);
	assert_int_equal(fx->perr.status, 400);

	/* CSeq method against the request method. */
	expect_err(fx,
	           "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n" BASE_HDRS
	           "CSeq: 1 INVITE\r\n\r\n",
	           0, SIP_ERR_CSEQ_METHOD, 400);
	expect_err(fx, "FOO sip:bob@biloxi.example.com SIP/2.0\r\n" BASE_HDRS "CSeq: 1 BAR\r\n\r\n",
	           0, SIP_ERR_NOT_IMPL, 501);
}

static void test_check(void **state)
{
	struct fx *fx = *state;
	struct sip_parse_err perr;
	struct sip_msg *m;

	/* Each mandatory header missing in turn. */
	static const char *const hdr[] = {
	        "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1\r\n",
	        "To: <sip:bob@biloxi.example.com>\r\n",
	        "From: <sip:alice@example.com>;tag=1\r\n",
	        "Call-ID: x@y\r\n",
	        "CSeq: 1 OPTIONS\r\n",
	};
	for (size_t skip = 0; skip < 5; skip++) {
		char msg[1024];
		size_t n = (size_t)snprintf(msg, sizeof(msg), "OPTIONS sip:b@c.com SIP/2.0\r\n");

		for (size_t i = 0; i < 5; i++)
			if (i != skip)
				n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s", hdr[i]);
		snprintf(msg + n, sizeof(msg) - n, "\r\n");
		m = parse_ok(fx, msg, 0);
		assert_int_equal(sip_msg_check(m, &perr), SIP_ERR_NO_HEADER);
		assert_int_equal(perr.status, 400);
		assert_true(perr.where.len > 0);
	}

	/* A From whose URI does not parse. */
	m = parse_ok(fx,
	             "OPTIONS sip:b@c.com SIP/2.0\r\nVia: SIP/2.0/UDP h.com;branch=z9hG4bK1\r\n"
	             "To: <sip:b@c.com>\r\nFrom: <sip:@@>;tag=1\r\nCall-ID: x@y\r\n"
	             "CSeq: 1 OPTIONS\r\n\r\n",
	             0);
	assert_int_equal(sip_msg_check(m, &perr), SIP_ERR_ADDR);
	assert_int_equal(perr.status, 400);
}

static void test_hdr_lookup(void **state)
{
	struct fx *fx = *state;
	size_t len, pos = 0, n = 0;
	const char *msg = realistic_invite(&len);
	const struct sip_hdr *h;
	struct sip_msg *m;

	assert_int_equal(parse_n(fx, msg, len, 0), 0);
	m = fx->m;
	assert_int_equal(sip_msg_hdr_count(m), 23);
	while ((h = sip_msg_hdr_next(m, SIP_HDR_VIA, &pos)))
		assert_int_equal(sip_msg_hdr_index(m, h), n++);
	assert_int_equal(n, 2);
	assert_null(sip_msg_hdr_next(m, SIP_HDR_VIA, &pos));
	assert_null(sip_msg_hdr(m, SIP_HDR_REQUIRE));
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_REQUIRE), 0);
	pos = 0;
	assert_null(sip_msg_hdr_next(m, SIP_HDR_REQUIRE, &pos));
	assert_null(sip_msg_hdr_at(m, 23));
	assert_pl(sip_msg_hdr_by_name(m, SIP_PL("x-CUSTOM"))->value, "whatever");
	assert_null(sip_msg_hdr_by_name(m, SIP_PL("X-Other")));
	assert_pl(sip_msg_body(m), sdp);
	assert_int_equal(sip_msg_headers_end(m), len - strlen(sdp) - 2);
	assert_pl(sip_msg_from(m)->tag, "9fxced76sl");
	assert_int_equal(sip_msg_check(m, NULL), 0);
}

/* ---- memory ------------------------------------------------------------------ */

/* Fails the 1st, 2nd, ... allocation until parsing succeeds: each run must
 * return SIP_ERR_NOMEM and nothing else (and never crash or leak). */
static void alloc_failure_pass(unsigned flags)
{
	size_t len;
	const char *msg = realistic_invite(&len);
	char *buf = malloc(len);
	struct sip_arena *a;
	struct sip_parse_err perr;
	struct sip_msg *m = NULL;
	unsigned n;
	int rc = SIP_ERR_NOMEM;

	assert_non_null(buf);
	memcpy(buf, msg, len);
	assert_int_equal(sip_arena_new(&a, ARENA_LIMIT), 0);
	for (n = 1; n < 10000; n++) {
		sip_arena_reset(a);
		sip_arena_fail_after(a, n);
		m = NULL;
		rc = sip_msg_parse(&m, a, buf, len, flags, &perr);
		if (rc == 0)
			break;
		if (rc != SIP_ERR_NOMEM)
			fail_msg("allocation %u failed: got %s", n, sip_err_name(rc));
		assert_null(m);
		assert_int_equal(perr.err, SIP_ERR_NOMEM);
		assert_int_equal(perr.status, 500);
	}
	assert_int_equal(rc, 0);
	assert_true(n > 1);
	/* Then with no failure injected. */
	sip_arena_reset(a);
	sip_arena_fail_after(a, 0);
	assert_int_equal(sip_msg_parse(&m, a, buf, len, flags, &perr), 0);
	assert_int_equal(sip_msg_hdr_count(m), 23);
	if (flags & SIP_PARSE_COPY) {
		/* The message no longer needs the caller's buffer. */
		memset(buf, 'x', len);
		assert_pl(sip_msg_call_id(m), "3848276298220188511@atlanta.example.com");
		assert_pl(sip_msg_body(m), sdp);
	}
	sip_arena_free(a);
	free(buf);
}

static void test_alloc_failure(void **state)
{
	(void)state;
	alloc_failure_pass(0);
	alloc_failure_pass(SIP_PARSE_STREAM);
	alloc_failure_pass(SIP_PARSE_COPY);
}

/* Headers decoded on first use: a failed allocation is reported and not
 * cached, so the next call succeeds. */
static void test_lazy_decode_nomem(void **state)
{
	struct fx *fx = *state;
	size_t len;
	const char *msg = realistic_invite(&len);
	const struct sip_hdr *h;
	const struct sip_addr *a = NULL;
	const struct sip_via *v = NULL;
	const struct sip_uri *u = NULL;
	struct sip_msg *m;

	assert_int_equal(parse_n(fx, msg, len, 0), 0);
	m = fx->m;
	h = sip_msg_hdr(m, SIP_HDR_ROUTE);
	sip_arena_fail_after(fx->a, 1);
	assert_int_equal(sip_msg_hdr_addr(m, h, &a), SIP_ERR_NOMEM);
	sip_arena_fail_after(fx->a, 0);
	assert_int_equal(sip_msg_hdr_addr(m, h, &a), 0);
	sip_arena_fail_after(fx->a, 1);
	assert_int_equal(sip_msg_addr_uri(m, a, &u), SIP_ERR_NOMEM);
	sip_arena_fail_after(fx->a, 0);
	assert_int_equal(sip_msg_addr_uri(m, a, &u), 0);
	assert_true(u->lr);

	/* A Via already decoded at parse time needs no allocation. */
	sip_arena_fail_after(fx->a, 1);
	assert_int_equal(sip_msg_hdr_via(m, sip_msg_hdr(m, SIP_HDR_VIA), &v), 0);
	assert_pl(v->branch, "z9hG4bK74bf9");
	sip_arena_fail_after(fx->a, 0);

	/* Asking a non-Via header for a Via, or a Via for an address. */
	assert_int_equal(sip_msg_hdr_via(m, h, &v), SIP_ERR_NOT_FOUND);
	assert_int_equal(sip_msg_hdr_addr(m, sip_msg_hdr(m, SIP_HDR_VIA), &a), SIP_ERR_NOT_FOUND);
}

/* 10,000 tiny headers against a small arena: SIP_ERR_NOMEM, within the
 * bound; against a large one: every header indexed. */
static void test_arena_limit(void **state)
{
	enum { NTINY = 10000 };
	static const char head[] = OPTIONS_HEAD;
	size_t cap = sizeof(head) + NTINY * 8 + 64, len = 0;
	char *buf = malloc(cap);
	struct sip_arena *a;
	struct sip_parse_err perr;
	struct sip_msg *m = NULL;
	size_t limits[] = {4096, 64 * 1024, 256 * 1024};

	(void)state;
	assert_non_null(buf);
	len += (size_t)snprintf(buf, cap, "%s", head);
	for (int i = 0; i < NTINY; i++)
		len += (size_t)snprintf(buf + len, cap - len, "X: y\r\n");
	len += (size_t)snprintf(buf + len, cap - len, "Content-Length: 0\r\n\r\n");
	assert_true(len < cap);

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		assert_int_equal(sip_arena_new(&a, limits[i]), 0);
		assert_int_equal(sip_msg_parse(&m, a, buf, len, SIP_PARSE_STREAM, &perr),
		                 SIP_ERR_NOMEM);
		assert_int_equal(perr.status, 500);
		assert_true(sip_arena_used(a) <= limits[i]);
		sip_arena_free(a);
	}

	assert_int_equal(sip_arena_new(&a, 64u * 1024 * 1024), 0);
	assert_int_equal(sip_msg_parse(&m, a, buf, len, SIP_PARSE_STREAM, &perr), 0);
	assert_int_equal(sip_msg_hdr_count(m), NTINY + 7);
	assert_pl(sip_msg_hdr_at(m, 6 + NTINY - 1)->value, "y");
	assert_int_equal(sip_msg_check(m, NULL), 0);
	sip_arena_free(a);
	free(buf);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	        T(test_compact_names),
	        T(test_compact_in_message),
	        T(test_long_names_any_case),
	        T(test_odd_case_in_message),
	        T(test_comma_split),
	        T(test_folding),
	        T(test_route_and_token_lists),
	        T(test_contact_star),
	        T(test_via_contact_fields),
	        T(test_leading_crlf),
	        T(test_stream_needs_content_length),
	        T(test_content_length),
	        T(test_bare_lf),
	        T(test_missing_empty_line),
	        T(test_header_without_colon),
	        T(test_name_paths),
	        T(test_unknown_scheme),
	        T(test_request_lines),
	        T(test_status_lines),
	        T(test_hot_header_errors),
	        T(test_check),
	        T(test_hdr_lookup),
	        T(test_alloc_failure),
	        T(test_lazy_decode_nomem),
	        T(test_arena_limit),
	};
#undef T
	return cmocka_run_group_tests_name("msg", tests, NULL, NULL);
}
