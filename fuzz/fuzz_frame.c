/*
 * fuzz_frame.c — libFuzzer target for the TCP stream framer (RFC 3261
 * §18.3 Content-Length framing, RFC 5626 keep-alives): the input after two
 * parameter bytes is one connection's byte stream. It is framed twice the
 * way the TCP transport does (one framer kept across reads, items consumed
 * from the front): once with every byte already read, once arriving in
 * small reads whose sizes come from the second parameter byte. Both must
 * find the same messages at the same offsets, the same keep-alive bytes
 * between them and the same end (an error, or the same unfinished rest —
 * but for keep-alives at the very end: a ping cut after its first CRLF is
 * a pong there, frame.c keeping no lone CRLF waiting); each framed message
 * that parses must end where its body ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libsip/frame.h"
#include "libsip/msg.h"

#define MAX_ITEMS 4096

struct run {
	size_t off[MAX_ITEMS], len[MAX_ITEMS]; /* the messages */
	size_t ka[MAX_ITEMS + 1];              /* keep-alive bytes before message i */
	size_t n;
	size_t consumed; /* bytes taken off the front */
	int err;         /* 0, or the error that ended framing */
};

static void must(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_frame: %s\n", what);
		abort();
	}
}

/* The transport's loop over what has arrived (avail bytes of the stream):
 * frame and consume items until more is needed; false once framing failed. */
static bool frames(struct run *r, struct sip_framer *fr, const char *s, size_t avail,
                   size_t max_len)
{
	struct sip_frame f;

	while (r->consumed < avail) {
		int e = sip_frame_next(fr, s + r->consumed, avail - r->consumed, max_len, &f);

		if (e < 0) {
			r->err = e;
			return false;
		}
		if (f.kind == SIP_FRAME_NEED_MORE) {
			must(f.len == 0, "NEED_MORE with a length");
			return true;
		}
		must(f.len > 0 && f.len <= avail - r->consumed, "item length out of bounds");
		if (f.kind == SIP_FRAME_MESSAGE) {
			must(f.len <= max_len, "message over max_len");
			if (r->n == MAX_ITEMS)
				return false;
			r->off[r->n] = r->consumed;
			r->len[r->n++] = f.len;
		} else {
			must(f.kind == SIP_FRAME_PING || f.kind == SIP_FRAME_PONG, "unknown kind");
			must(s[r->consumed] == '\r' && s[r->consumed + 1] == '\n',
			     "keep-alive that is not CRLF");
			r->ka[r->n] += f.len;
		}
		r->consumed += f.len;
	}
	return true;
}

/* Read sizes from a small LCG: mostly short reads, sometimes long ones. */
static size_t next_read(uint32_t *st)
{
	*st = *st * 1103515245u + 12345u;
	return (*st >> 16) % 8 == 0 ? 1 + (*st >> 8) % 600 : 1 + (*st >> 20) % 9;
}

static bool is_ping_start(const char *p, size_t n)
{
	return n < 4 && memcmp(p, "\r\n\r", n) == 0;
}

/* A framed message the parser accepts must end where its body does. */
static void agree_with_parser(const char *p, size_t len)
{
	struct sip_arena *a;
	struct sip_msg *m;

	if (sip_arena_new(&a, 4u * 1024 * 1024) < 0)
		return;
	if (sip_msg_parse(&m, a, p, len, SIP_PARSE_STREAM, NULL) == 0) {
		struct sip_pl body = sip_msg_body(m);

		if (body.len)
			must(body.p >= p && (size_t)(body.p - p) + body.len == len,
			     "parser and framer disagree on the message end");
	}
	sip_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, piece;
	static const size_t limits[] = {65536, 4096, 512, 128, 64, 16};
	struct sip_framer fr;
	const char *s;
	size_t max_len, avail;
	uint32_t st;

	if (size < 2)
		return 0;
	max_len = limits[data[0] % (sizeof(limits) / sizeof(limits[0]))];
	st = data[1];
	s = (const char *)data + 2;
	size -= 2;

	memset(&whole, 0, sizeof(whole));
	memset(&fr, 0, sizeof(fr));
	frames(&whole, &fr, s, size, max_len);

	memset(&piece, 0, sizeof(piece));
	memset(&fr, 0, sizeof(fr));
	for (avail = 0; avail < size;) {
		size_t n = next_read(&st);

		avail = n < size - avail ? avail + n : size;
		if (!frames(&piece, &fr, s, avail, max_len))
			break;
	}

	if (whole.n == MAX_ITEMS || piece.n == MAX_ITEMS)
		return 0;
	must(whole.n == piece.n, "a different number of messages when read in pieces");
	for (size_t i = 0; i < whole.n; i++) {
		must(whole.off[i] == piece.off[i] && whole.len[i] == piece.len[i],
		     "a message framed differently when read in pieces");
		must(whole.ka[i] == piece.ka[i], "different keep-alives when read in pieces");
		agree_with_parser(s + whole.off[i], whole.len[i]);
	}
	must(whole.err == piece.err, "a different error when read in pieces");
	if (whole.err == 0 && whole.consumed != piece.consumed) {
		/* Only the keep-alives at the end may differ: a read that ended
		 * after the "\r\n" of a final "\r\n\r\n" took it as a pong (frame.c
		 * keeps no lone CRLF waiting), and what is left must then be the
		 * start of a ping either way. */
		must(whole.consumed - whole.ka[whole.n] == piece.consumed - piece.ka[piece.n],
		     "different rests when read in pieces");
		must(is_ping_start(s + whole.consumed, size - whole.consumed) &&
		             is_ping_start(s + piece.consumed, size - piece.consumed),
		     "a rest that is not the start of a ping");
		return 0;
	}
	must(whole.ka[whole.n] == piece.ka[piece.n], "different trailing keep-alives");
	must(whole.consumed == piece.consumed, "a different rest when read in pieces");
	return 0;
}
