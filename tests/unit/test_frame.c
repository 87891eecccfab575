/*
 * test_frame.c — stream framing (src/sip/frame.c): message boundaries by
 * Content-Length on TCP/TLS (RFC 3261 §18.3, §7.5) and the RFC 5626 §3.5.1
 * keep-alives (CRLFCRLF ping, lone CRLF pong). Messages arrive whole, split
 * at every byte, several to a buffer, with bodies that hold CRLFCRLF; the
 * faults that lose framing (no, bad or conflicting Content-Length) and the
 * size bound close the connection. Every framed message is then parsed with
 * sip_msg_parse(SIP_PARSE_STREAM) to show framer and parser agree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "libsip/frame.h"
#include "libsip/msg.h"

#define MAX_LEN 65536
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define INVITE_MSG                                                                                 \
	"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"                                            \
	"Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n"                 \
	"Max-Forwards: 70\r\n"                                                                     \
	"From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"                           \
	"To: Bob <sip:bob@biloxi.example.com>\r\n"                                                 \
	"Call-ID: 3848276298220188511@atlanta.example.com\r\n"                                     \
	"CSeq: 1 INVITE\r\n"                                                                       \
	"Contact: <sip:alice@client.atlanta.example.com;transport=tcp>\r\n"                        \
	"Content-Type: application/sdp\r\n"                                                        \
	"Content-Length: 10\r\n"                                                                   \
	"\r\n"                                                                                     \
	"v=0\r\ns=-\r\n"

#define RESPONSE_MSG                                                                               \
	"SIP/2.0 180 Ringing\r\n"                                                                  \
	"Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n"                 \
	"From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"                           \
	"To: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n"                                  \
	"Call-ID: 3848276298220188511@atlanta.example.com\r\n"                                     \
	"CSeq: 1 INVITE\r\n"                                                                       \
	"Content-Length: 0\r\n"                                                                    \
	"\r\n"

/* The body holds CRLFCRLF twice: only Content-Length can frame it. */
#define CRLF_BODY "part one\r\n\r\npart two\r\n\r\n"
#define MESSAGE_MSG                                                                                \
	"MESSAGE sip:bob@biloxi.example.com SIP/2.0\r\n"                                           \
	"Via: SIP/2.0/TCP c.example.com;branch=z9hG4bKm1\r\n"                                      \
	"Max-Forwards: 70\r\n"                                                                     \
	"From: <sip:alice@atlanta.example.com>;tag=49583\r\n"                                      \
	"To: <sip:bob@biloxi.example.com>\r\n"                                                     \
	"Call-ID: asd88asd77a@1.2.3.4\r\n"                                                         \
	"CSeq: 1 MESSAGE\r\n"                                                                      \
	"Content-Type: text/plain\r\n"                                                             \
	"Content-Length: 24\r\n"                                                                   \
	"\r\n" CRLF_BODY

/* Compact l:, an odd-cased name with space before the colon. */
#define COMPACT_MSG                                                                                \
	"OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n"                                           \
	"v: SIP/2.0/TCP c.example.com;branch=z9hG4bKo1\r\n"                                        \
	"f: <sip:alice@atlanta.example.com>;tag=1\r\n"                                             \
	"t: <sip:bob@biloxi.example.com>\r\n"                                                      \
	"i: opt1@c.example.com\r\n"                                                                \
	"CSeq: 7 OPTIONS\r\n"                                                                      \
	"l: 5\r\n"                                                                                 \
	"\r\n"                                                                                     \
	"hello"

/* Content-Length folded onto a continuation line, and a folded Subject
 * whose continuation line reads like a Content-Length header. */
#define FOLDED_MSG                                                                                 \
	"BYE sip:bob@biloxi.example.com SIP/2.0\r\n"                                               \
	"Via: SIP/2.0/TCP c.example.com;branch=z9hG4bKb1\r\n"                                      \
	"From: <sip:alice@atlanta.example.com>;tag=1\r\n"                                          \
	"To: <sip:bob@biloxi.example.com>;tag=2\r\n"                                               \
	"Call-ID: bye1@c.example.com\r\n"                                                          \
	"CSeq: 8 BYE\r\n"                                                                          \
	"Subject: not a header\r\n"                                                                \
	" Content-Length: 999\r\n"                                                                 \
	"content-length  :\r\n"                                                                    \
	"\t 3\r\n"                                                                                 \
	"\r\n"                                                                                     \
	"abc"

struct sample {
	const char *text;
	enum sip_method method; /* SIP_METHOD_OTHER for the response */
	const char *body;
};

static const struct sample samples[] = {
        {INVITE_MSG, SIP_METHOD_INVITE, "v=0\r\ns=-\r\n"},
        {RESPONSE_MSG, SIP_METHOD_OTHER, ""},
        {MESSAGE_MSG, SIP_METHOD_MESSAGE, CRLF_BODY},
        {COMPACT_MSG, SIP_METHOD_OPTIONS, "hello"},
        {FOLDED_MSG, SIP_METHOD_BYE, "abc"},
};

/* Parses one framed message as a stream transport would and checks its
 * method (or status line), body and Content-Length. */
static void check_parse(const char *buf, size_t len, const struct sample *want)
{
	struct sip_arena *a;
	struct sip_msg *m = NULL;
	struct sip_parse_err perr;
	struct sip_pl body;
	size_t blen = strlen(want->body);

	assert_int_equal(sip_arena_new(&a, 1 << 20), 0);
	assert_int_equal(sip_msg_parse(&m, a, buf, len, SIP_PARSE_STREAM, &perr), 0);
	if (want->method == SIP_METHOD_OTHER) {
		assert_false(sip_msg_is_request(m));
		assert_int_equal(sip_msg_status(m), 180);
	} else {
		assert_true(sip_msg_is_request(m));
		assert_int_equal(sip_msg_method(m), want->method);
	}
	assert_int_equal(sip_msg_content_length(m), (long)blen);
	body = sip_msg_body(m);
	assert_int_equal(body.len, blen);
	if (blen)
		assert_memory_equal(body.p, want->body, blen);
	assert_int_equal(sip_msg_raw(m).len, len);
	sip_arena_free(a);
}

/* One call on a fresh framer. */
static int frame_once(const char *buf, size_t len, size_t max_len, struct sip_frame *f)
{
	struct sip_framer fr = {0};

	f->kind = (enum sip_frame_kind) - 1;
	f->len = 12345;
	return sip_frame_next(&fr, buf, len, max_len, f);
}

static void test_whole_message(void **state)
{
	struct sip_frame f;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(samples); i++) {
		const char *s = samples[i].text;
		size_t len = strlen(s);

		assert_int_equal(frame_once(s, len, MAX_LEN, &f), 0);
		assert_int_equal(f.kind, SIP_FRAME_MESSAGE);
		assert_int_equal(f.len, len);
		check_parse(s, f.len, &samples[i]);
	}
}

/* Byte by byte: NEED_MORE until the last octet, then the exact length; one
 * framer kept across the calls (its scan state is what is tested). */
static void test_byte_by_byte(void **state)
{
	struct sip_framer fr = {0};
	struct sip_frame f;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(samples); i++) {
		const char *s = samples[i].text;
		size_t len = strlen(s);

		for (size_t n = 1; n < len; n++) {
			assert_int_equal(sip_frame_next(&fr, s, n, MAX_LEN, &f), 0);
			if (f.kind != SIP_FRAME_NEED_MORE)
				fail_msg("sample %zu: kind %d after %zu of %zu bytes", i, f.kind, n,
				         len);
			assert_int_equal(f.len, 0);
		}
		assert_int_equal(sip_frame_next(&fr, s, len, MAX_LEN, &f), 0);
		assert_int_equal(f.kind, SIP_FRAME_MESSAGE);
		assert_int_equal(f.len, len);
		memset(&fr, 0, sizeof(fr));
		check_parse(s, f.len, &samples[i]);
	}
}

/* Split in two at every position; the second read also brings the first
 * bytes of the next message, which must not be counted. */
static void test_split_everywhere(void **state)
{
	struct sip_frame f;
	char buf[2048];

	(void)state;
	for (size_t i = 0; i < N_ELEMS(samples); i++) {
		const char *s = samples[i].text;
		size_t len = strlen(s);

		assert_true(len + 20 < sizeof(buf));
		memcpy(buf, s, len);
		memcpy(buf + len, "INVITE sip:x SIP/2.0", 20);
		for (size_t k = 1; k < len; k++) {
			struct sip_framer fr = {0};

			assert_int_equal(sip_frame_next(&fr, buf, k, MAX_LEN, &f), 0);
			assert_int_equal(f.kind, SIP_FRAME_NEED_MORE);
			assert_int_equal(sip_frame_next(&fr, buf, len + 20, MAX_LEN, &f), 0);
			if (f.kind != SIP_FRAME_MESSAGE || f.len != len)
				fail_msg("sample %zu split at %zu: kind %d len %zu", i, k, f.kind,
				         f.len);
		}
	}
}

/* A receive loop: frame and consume items from the front of buf[0..len). */
struct items {
	struct sip_frame it[16];
	size_t off[16];
	size_t n;
	size_t consumed;
	struct sip_framer fr;
};

static void consume(struct items *x, const char *buf, size_t len)
{
	struct sip_frame f;

	for (;;) {
		assert_int_equal(
		        sip_frame_next(&x->fr, buf + x->consumed, len - x->consumed, MAX_LEN, &f),
		        0);
		if (f.kind == SIP_FRAME_NEED_MORE)
			return;
		assert_true(f.len > 0 && f.len <= len - x->consumed);
		assert_true(x->n < N_ELEMS(x->it));
		x->off[x->n] = x->consumed;
		x->it[x->n++] = f;
		x->consumed += f.len;
		memset(&x->fr, 0, sizeof(x->fr)); /* one framer, reset after each item */
	}
}

/* The stream every loop test uses: a pong, three messages, a ping, a
 * message, with the messages parsed once framed. */
static char *build_stream(size_t *len)
{
	static const char *const parts[] = {
	        "\r\n", INVITE_MSG, MESSAGE_MSG, RESPONSE_MSG, "\r\n\r\n", COMPACT_MSG, FOLDED_MSG,
	};
	size_t n = 0;
	char *s;

	for (size_t i = 0; i < N_ELEMS(parts); i++)
		n += strlen(parts[i]);
	s = malloc(n);
	assert_non_null(s);
	n = 0;
	for (size_t i = 0; i < N_ELEMS(parts); i++) {
		memcpy(s + n, parts[i], strlen(parts[i]));
		n += strlen(parts[i]);
	}
	*len = n;
	return s;
}

static void check_stream_items(const struct items *x, const char *buf, bool ping_whole)
{
	static const struct sample *const order[] = {
	        NULL, &samples[0], &samples[2], &samples[1], NULL, NULL, &samples[3], &samples[4],
	};
	size_t k = 0;

	assert_int_equal(x->it[k].kind, SIP_FRAME_PONG);
	assert_int_equal(x->it[k++].len, 2);
	for (size_t i = 1; i < 4; i++, k++) {
		assert_int_equal(x->it[k].kind, SIP_FRAME_MESSAGE);
		assert_int_equal(x->it[k].len, strlen(order[i]->text));
		check_parse(buf + x->off[k], x->it[k].len, order[i]);
	}
	if (ping_whole) {
		assert_int_equal(x->it[k].kind, SIP_FRAME_PING);
		assert_int_equal(x->it[k++].len, 4);
	} else {
		/* A ping cut after its first CRLF is two pongs: a lone CRLF
		 * cannot wait for more (RFC 5626 pongs end the exchange). */
		for (int j = 0; j < 2; j++, k++) {
			assert_int_equal(x->it[k].kind, SIP_FRAME_PONG);
			assert_int_equal(x->it[k].len, 2);
		}
	}
	for (size_t i = 6; i < 8; i++, k++) {
		assert_int_equal(x->it[k].kind, SIP_FRAME_MESSAGE);
		assert_int_equal(x->it[k].len, strlen(order[i]->text));
		check_parse(buf + x->off[k], x->it[k].len, order[i]);
	}
	assert_int_equal(x->n, k);
}

static void test_several_in_one_buffer(void **state)
{
	struct items x = {.n = 0};
	size_t len;
	char *s = build_stream(&len);

	(void)state;
	consume(&x, s, len);
	assert_int_equal(x.consumed, len);
	check_stream_items(&x, s, true);
	free(s);
}

static void test_stream_byte_by_byte(void **state)
{
	struct items x = {.n = 0};
	size_t len;
	char *s = build_stream(&len);

	(void)state;
	for (size_t n = 1; n <= len; n++)
		consume(&x, s, n);
	assert_int_equal(x.consumed, len);
	check_stream_items(&x, s, false);
	free(s);
}

/* Reads of 1..64 bytes at a time. The ping reads as two pongs only when a
 * read ends right after its first CRLF. */
static void test_stream_chunks(void **state)
{
	size_t ping = 2 + strlen(INVITE_MSG) + strlen(MESSAGE_MSG) + strlen(RESPONSE_MSG);
	size_t len;
	char *s = build_stream(&len);

	(void)state;
	for (size_t step = 1; step <= 64; step++) {
		struct items x = {.n = 0};

		for (size_t n = step; n < len + step; n += step)
			consume(&x, s, n < len ? n : len);
		assert_int_equal(x.consumed, len);
		check_stream_items(&x, s, (ping + 2) % step != 0);
	}
	free(s);
}

static void test_keepalive(void **state)
{
	static const char inv_after_crlf[] = "\r\n\r\n\r\n" INVITE_MSG;
	struct sip_frame f;
	struct sip_arena *a;
	struct sip_msg *m;

	(void)state;
	assert_int_equal(frame_once("\r\n\r\n", 4, MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_PING);
	assert_int_equal(f.len, 4);
	assert_int_equal(frame_once("\r\n", 2, MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_PONG);
	assert_int_equal(f.len, 2);
	assert_int_equal(frame_once("\r\n\r", 3, MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_NEED_MORE); /* maybe the rest of a ping */
	assert_int_equal(frame_once("\r", 1, MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_NEED_MORE);
	assert_int_equal(f.len, 0);
	assert_int_equal(frame_once("", 0, MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_NEED_MORE);
	assert_int_equal(frame_once("\r\nI", 3, MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_PONG);
	assert_int_equal(f.len, 2);
	assert_int_equal(frame_once("\r\n\r\n\r\n", 6, MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_PING);
	assert_int_equal(f.len, 4);

	/* CRLFs before a message: a ping, a pong, then the message. */
	assert_int_equal(frame_once(inv_after_crlf, sizeof(inv_after_crlf) - 1, MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_PING);
	assert_int_equal(frame_once(inv_after_crlf + 4, sizeof(inv_after_crlf) - 5, MAX_LEN, &f),
	                 0);
	assert_int_equal(f.kind, SIP_FRAME_PONG);
	assert_int_equal(frame_once(inv_after_crlf + 6, sizeof(inv_after_crlf) - 7, MAX_LEN, &f),
	                 0);
	assert_int_equal(f.kind, SIP_FRAME_MESSAGE);
	assert_int_equal(f.len, strlen(INVITE_MSG));

	/* The parser itself ignores CRLFs before the start line (§7.5). */
	assert_int_equal(sip_arena_new(&a, 1 << 20), 0);
	assert_int_equal(sip_msg_parse(&m, a, inv_after_crlf, sizeof(inv_after_crlf) - 1,
	                               SIP_PARSE_STREAM, NULL),
	                 0);
	assert_int_equal(sip_msg_method(m), SIP_METHOD_INVITE);
	assert_int_equal(sip_msg_raw(m).len, strlen(INVITE_MSG));
	sip_arena_free(a);
}

/* Headers complete, body arriving in pieces: NEED_MORE until the last body
 * octet, resuming without rescanning the headers. */
static void test_body_split(void **state)
{
	const char *s = MESSAGE_MSG;
	size_t len = strlen(s), body = strlen(CRLF_BODY), hdr = len - body;
	struct sip_framer fr = {0};
	struct sip_frame f;

	(void)state;
	for (size_t n = hdr; n < len; n++) {
		assert_int_equal(sip_frame_next(&fr, s, n, MAX_LEN, &f), 0);
		assert_int_equal(f.kind, SIP_FRAME_NEED_MORE);
		assert_true(fr.scanned <= n);
	}
	assert_int_equal(sip_frame_next(&fr, s, len, MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_MESSAGE);
	assert_int_equal(f.len, len);
	check_parse(s, f.len, &samples[2]);
}

/* On a connection whose far end pings (one sipd accepted), a ping split
 * after its first CRLF is still a ping: the lone CRLF waits for what
 * follows; CRLF then a message is a pong (leading whitespace) and the
 * message. A client's framer takes the lone CRLF as its pong at once. */
static void test_split_ping_held_for_pinging_peers(void **state)
{
	struct sip_framer server = {.pings = true}, client = {0};
	struct sip_frame f;
	char buf[512];

	(void)state;
	assert_int_equal(sip_frame_next(&server, "\r\n", 2, MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_NEED_MORE);
	assert_int_equal(sip_frame_next(&server, "\r\n\r\n", 4, MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_PING);
	assert_int_equal(f.len, 4);
	snprintf(buf, sizeof(buf), "\r\n%s", MESSAGE_MSG);
	assert_int_equal(sip_frame_next(&server, buf, strlen(buf), MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_PONG);
	assert_int_equal(f.len, 2);
	assert_int_equal(sip_frame_next(&server, buf + 2, strlen(buf) - 2, MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_MESSAGE);
	assert_int_equal(sip_frame_next(&client, "\r\n", 2, MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_PONG);
}

/* Builds "OPTIONS ... <clen lines> \r\n <body>" into buf. */
static size_t with_clen(char *buf, size_t cap, const char *clen_lines, const char *body)
{
	int n = snprintf(buf, cap,
	                 "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n"
	                 "Via: SIP/2.0/TCP c.example.com;branch=z9hG4bKc1\r\n"
	                 "From: <sip:alice@atlanta.example.com>;tag=1\r\n"
	                 "To: <sip:bob@biloxi.example.com>\r\n"
	                 "Call-ID: c1@c.example.com\r\n"
	                 "CSeq: 1 OPTIONS\r\n"
	                 "%s\r\n%s",
	                 clen_lines, body);

	assert_true(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

static void test_clen_forms(void **state)
{
	static const struct {
		const char *lines;
		size_t body;
	} good[] = {
	        {"Content-Length: 5\r\n", 5},
	        {"l: 5\r\n", 5},
	        {"L:5\r\n", 5},
	        {"CONTENT-LENGTH\t :  5 \r\n", 5},
	        {"Content-Length:\r\n 5\r\n", 5},
	        {"Content-Length: 5\r\nl: 5\r\n", 5}, /* repeated, same value */
	        {"Content-Length: 005\r\n", 5},
	        {"Content-Length: 0\r\n", 0},
	        {"X-Content-Length: 9\r\nContent-Lengthy: 7\r\nContent-Length: 5\r\n", 5},
	};
	char buf[1024];
	struct sip_frame f;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(good); i++) {
		size_t len = with_clen(buf, sizeof(buf), good[i].lines, "hello-and-more");
		size_t want = len - strlen("hello-and-more") + good[i].body;

		assert_int_equal(frame_once(buf, len, MAX_LEN, &f), 0);
		if (f.kind != SIP_FRAME_MESSAGE || f.len != want)
			fail_msg("case %zu: kind %d len %zu, want %zu", i, f.kind, f.len, want);
	}
}

/* An extension method spelled like a compact header name is a start line,
 * not a Content-Length. */
static void test_clen_start_line(void **state)
{
	static const char msg[] = "l sip:bob@biloxi.example.com SIP/2.0\r\n"
	                          "Via: SIP/2.0/TCP c.example.com;branch=z9hG4bKl1\r\n"
	                          "From: <sip:alice@atlanta.example.com>;tag=1\r\n"
	                          "To: <sip:bob@biloxi.example.com>\r\n"
	                          "Call-ID: l1@c.example.com\r\n"
	                          "CSeq: 1 l\r\n"
	                          "Content-Length: 2\r\n"
	                          "\r\n"
	                          "ok";
	struct sip_frame f;

	(void)state;
	assert_int_equal(frame_once(msg, sizeof(msg) - 1, MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_MESSAGE);
	assert_int_equal(f.len, sizeof(msg) - 1);
}

static void test_clen_errors(void **state)
{
	static const char *const bad[] = {
	        "",                                           /* missing */
	        "Content-Length: 5\r\nContent-Length: 6\r\n", /* two different values */
	        "l: 5\r\nContent-Length: 4\r\n",
	        "Content-Length: -5\r\n", /* negative */
	        "Content-Length: -0\r\n",
	        "Content-Length: +5\r\n",
	        "Content-Length: abc\r\n",
	        "Content-Length: 5 5\r\n",
	        "Content-Length: 5;x\r\n",
	        "Content-Length:\r\n",
	        "Content-Length 5\r\n",
	        "Content-Length: 0x5\r\n",
	};
	char buf[1024];
	struct sip_frame f;
	struct sip_arena *a;
	struct sip_msg *m;
	size_t len;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		len = with_clen(buf, sizeof(buf), bad[i], "hello");
		if (frame_once(buf, len, MAX_LEN, &f) != SIP_ERR_CLEN)
			fail_msg("case %zu (%s) not refused with SIP_ERR_CLEN", i, bad[i]);
		assert_int_equal(f.kind, SIP_FRAME_NEED_MORE);
	}

	/* The parser agrees: no Content-Length on a stream is an error. */
	len = with_clen(buf, sizeof(buf), "", "");
	assert_int_equal(sip_arena_new(&a, 1 << 20), 0);
	assert_int_equal(sip_msg_parse(&m, a, buf, len, SIP_PARSE_STREAM, NULL), SIP_ERR_CLEN);
	assert_int_equal(sip_msg_parse(&m, a, buf, len, 0, NULL), 0);
	sip_arena_free(a);
}

static void test_too_big(void **state)
{
	char buf[4096];
	struct sip_frame f;
	size_t len, msglen;

	(void)state;
	/* Headers that never end, past max_len. */
	memset(buf, 0, sizeof(buf));
	len = (size_t)snprintf(buf, sizeof(buf),
	                       "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
	                       "X-Pad: ");
	memset(buf + len, 'a', 1000);
	len += 1000;
	assert_int_equal(frame_once(buf, len, 2000, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_NEED_MORE);
	assert_int_equal(frame_once(buf, len, 1000, &f), SIP_ERR_TOO_BIG);
	assert_int_equal(frame_once(buf, len, len - 1, &f), SIP_ERR_TOO_BIG);
	assert_int_equal(frame_once(buf, len, len, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_NEED_MORE);

	/* Headers that end only past max_len. */
	msglen = with_clen(buf, sizeof(buf), "Content-Length: 5\r\n", "hello");
	assert_int_equal(frame_once(buf, msglen, msglen - 6, &f), SIP_ERR_TOO_BIG);

	/* The whole message exactly at, and one octet over, max_len. */
	assert_int_equal(frame_once(buf, msglen, msglen, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_MESSAGE);
	assert_int_equal(f.len, msglen);
	assert_int_equal(frame_once(buf, msglen, msglen - 1, &f), SIP_ERR_TOO_BIG);

	/* A Content-Length over max_len is refused before any body arrives,
	 * however large, without overflow. */
	len = with_clen(buf, sizeof(buf), "Content-Length: 100000\r\n", "");
	assert_int_equal(frame_once(buf, len, 4096, &f), SIP_ERR_TOO_BIG);
	len = with_clen(buf, sizeof(buf), "Content-Length: 4096\r\n", "");
	assert_int_equal(frame_once(buf, len, 4096, &f), SIP_ERR_TOO_BIG);
	len = with_clen(buf, sizeof(buf), "Content-Length: 4294967296\r\n", "");
	assert_int_equal(frame_once(buf, len, 4096, &f), SIP_ERR_TOO_BIG);
	len = with_clen(buf, sizeof(buf), "Content-Length: 99999999999999999999999999\r\n", "");
	assert_int_equal(frame_once(buf, len, 4096, &f), SIP_ERR_TOO_BIG);
	/* A large max_len does not wrap the Content-Length bound. */
	if (sizeof(size_t) > 4) {
		len = with_clen(buf, sizeof(buf), "Content-Length: 5\r\n", "hello");
		assert_int_equal(frame_once(buf, len, (size_t)UINT32_MAX + 1, &f), 0);
		assert_int_equal(f.kind, SIP_FRAME_MESSAGE);
		assert_int_equal(f.len, len);
	}
}

/* Framing uses Content-Length: a CRLFCRLF inside the body is body. */
static void test_body_with_crlfcrlf(void **state)
{
	static const char two[] = MESSAGE_MSG RESPONSE_MSG;
	struct sip_frame f;

	(void)state;
	assert_int_equal(frame_once(two, sizeof(two) - 1, MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_MESSAGE);
	assert_int_equal(f.len, strlen(MESSAGE_MSG));
	check_parse(two, f.len, &samples[2]);
	assert_int_equal(frame_once(two + f.len, sizeof(two) - 1 - f.len, MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_MESSAGE);
	assert_int_equal(f.len, strlen(RESPONSE_MSG));

	/* Cut inside the body right after a CRLFCRLF: still incomplete. */
	assert_int_equal(frame_once(two, strlen(MESSAGE_MSG) - 12, MAX_LEN, &f), 0);
	assert_int_equal(f.kind, SIP_FRAME_NEED_MORE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_whole_message),
	        cmocka_unit_test(test_byte_by_byte),
	        cmocka_unit_test(test_split_everywhere),
	        cmocka_unit_test(test_several_in_one_buffer),
	        cmocka_unit_test(test_stream_byte_by_byte),
	        cmocka_unit_test(test_stream_chunks),
	        cmocka_unit_test(test_keepalive),
	        cmocka_unit_test(test_body_split),
	        cmocka_unit_test(test_clen_forms),
	        cmocka_unit_test(test_clen_start_line),
	        cmocka_unit_test(test_clen_errors),
	        cmocka_unit_test(test_too_big),
	        cmocka_unit_test(test_body_with_crlfcrlf),
	        cmocka_unit_test(test_split_ping_held_for_pinging_peers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
