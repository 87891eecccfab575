/*
 * fuzz_sdp.c — libFuzzer target for src/media/sdp.c and offer_answer.c:
 * parses the input as SDP and, when it is valid, checks what the UA relies
 * on: building it succeeds (and reports SIP_ERR_NOSPACE rather than
 * truncating when short by one octet), the built text parses again to the
 * same media lines, and an answer to it keeps the m-line count, negotiates
 * only G.711, builds, parses, and is taken by sdp_take_answer consistently.
 * Any violation aborts, so libFuzzer records the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 16384

static char out[CAP];

static int build_checked(const struct sdp_session *s)
{
	int n = sdp_build(s, out, CAP);

	if (n <= 0 || n >= CAP)
		abort();
	if (sdp_build(s, out, (size_t)n) != SIP_ERR_NOSPACE)
		abort();
	if (sdp_build(s, out, (size_t)n + 1) != n)
		abort();
	return n;
}

/* The media lines survive a build and a parse. */
static void check_same(const struct sdp_session *a, const struct sdp_session *b)
{
	if (a->nmedia != b->nmedia || a->id != b->id || a->version != b->version)
		abort();
	for (size_t i = 0; i < a->nmedia; i++) {
		const struct sdp_media *x = &a->media[i], *y = &b->media[i];
		if (x->port != y->port || strcmp(x->type, y->type) || strcmp(x->proto, y->proto))
			abort();
		if (x->addr[0] && strcmp(x->addr, y->addr))
			abort();
		if (x->port && (x->dir != y->dir || x->ptime != y->ptime))
			abort();
		if (x->nfmt && x->nfmt != y->nfmt)
			abort();
		for (size_t k = 0; x->nfmt && k < x->nfmt; k++)
			if (x->fmt[k].pt != y->fmt[k].pt)
				abort();
	}
}

static void check_answer(const struct sdp_session *offer)
{
	const struct sdp_local l = {"127.0.0.1", 4000, SDP_SENDRECV, 20};
	struct sdp_session ans, back;
	struct media_params neg, taken;
	int rc = sdp_make_answer(&ans, offer, &l, 1, 1, &neg);
	int n;

	if (ans.nmedia != offer->nmedia)
		abort();
	if (rc != 0) {
		if (rc != SIP_ERR_UNSUPPORTED || neg.remote_port != 0)
			abort();
		return;
	}
	if ((neg.pt != 0 && neg.pt != 8) || neg.remote_port == 0 || !neg.remote_addr[0])
		abort();
	n = build_checked(&ans);
	if (sdp_parse(&back, out, (size_t)n, NULL, 0) != 0)
		abort();
	check_same(&ans, &back);
	/* the offerer's view of our answer agrees on the codec */
	if (sdp_take_answer(offer, &back, &taken) == 0 && taken.pt != neg.pt)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sdp_session a, b;
	char err[64];
	int n;

	if (sdp_parse(&a, (const char *)data, size, err, sizeof(err)) != 0) {
		if (!err[0])
			abort(); /* every failure says why */
		return 0;
	}
	n = build_checked(&a);
	if (sdp_parse(&b, out, (size_t)n, err, sizeof(err)) != 0)
		abort();
	check_same(&a, &b);
	check_answer(&a);
	return 0;
}
