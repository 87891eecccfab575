/*
 * fuzz_msg.c — libFuzzer target for the message layer: the input is fed
 * to the stream framer, then parsed as a datagram; a message that parses
 * is checked, printed and re-parsed (the fields must survive), and derived
 * with the proxy's edits, whose output must parse too.
 */
#include <stdio.h>
#include <stdlib.h>

#include "libsip/build.h"
#include "libsip/frame.h"
#include "libsip/msg.h"

#define ARENA_LIMIT (8u * 1024 * 1024)

static void must(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_msg: %s\n", what);
		abort();
	}
}

static void frame_all(const uint8_t *data, size_t size)
{
	struct sip_framer fr = {0};
	struct sip_frame f;
	size_t off = 0;

	while (off < size &&
	       sip_frame_next(&fr, (const char *)data + off, size - off, 65536, &f) == 0) {
		if (f.kind == SIP_FRAME_NEED_MORE)
			break;
		must(f.len > 0 && f.len <= size - off, "frame length out of bounds");
		off += f.len;
	}
}

static void reparse(struct sip_arena *a, const struct sip_msg *m, char *out, size_t cap)
{
	struct sip_msg *m2;
	int n = sip_msg_print(m, out, cap);

	if (n < 0)
		return;
	must(sip_msg_parse(&m2, a, out, (size_t)n, SIP_PARSE_STREAM, NULL) == 0,
	     "printed message does not parse");
	must(sip_msg_is_request(m2) == sip_msg_is_request(m), "kind changed");
	must(sip_msg_status(m2) == sip_msg_status(m), "status changed");
	must(sip_pl_eq(sip_msg_body(m2), sip_msg_body(m)), "body changed");
	must(sip_pl_eq(sip_msg_call_id(m2), sip_msg_call_id(m)), "Call-ID changed");
	must(sip_msg_max_forwards(m2) == sip_msg_max_forwards(m), "Max-Forwards changed");
}

static void derive(struct sip_arena *a, const struct sip_msg *m, char *out, size_t cap)
{
	struct sip_edit *e;
	struct sip_msg *m2;
	int n;

	if (sip_edit_new(&e, m) < 0)
		return;
	sip_edit_via_push(e, SIP_PL("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfuzz"));
	sip_edit_rr_push(e, SIP_PL("<sip:192.0.2.1;lr>"));
	if (sip_msg_is_request(m)) {
		sip_edit_ruri(e, SIP_PL("sip:target@192.0.2.2"));
		sip_edit_max_forwards(e);
	}
	n = sip_edit_print(e, out, cap);
	if (n < 0)
		return;
	must(sip_msg_parse(&m2, a, out, (size_t)n, SIP_PARSE_STREAM, NULL) == 0,
	     "derived message does not parse");
	must(sip_pl_eq(sip_msg_body(m2), sip_msg_body(m)), "derived body changed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[256 * 1024];
	struct sip_arena *a;
	struct sip_msg *m;
	struct sip_parse_err perr;

	frame_all(data, size);
	if (sip_arena_new(&a, ARENA_LIMIT) < 0)
		return 0;
	if (sip_msg_parse(&m, a, (const char *)data, size, 0, &perr) == 0) {
		sip_msg_check(m, &perr);
		reparse(a, m, out, sizeof(out));
		derive(a, m, out, sizeof(out));
	} else {
		must(perr.err < 0 && perr.reason && perr.reason[0], "error without reason");
	}
	sip_arena_free(a);
	return 0;
}
