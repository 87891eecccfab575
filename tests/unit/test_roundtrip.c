/*
 * test_roundtrip.c — parse, print, parse again: every RFC 4475 message that
 * must parse (valid and valid-but-semantically-bad) is parsed as a datagram,
 * printed with sip_msg_print(), and the output parsed as a stream message
 * (so it must carry a right Content-Length). Both parses must agree on the
 * start line, every header (id, name when unknown, value with runs of LWS
 * collapsed), the hot fields (Via, From, To, CSeq, Call-ID, Max-Forwards),
 * the body octets and what sip_msg_check() says; printing the second parse
 * must give the same bytes again.
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
#include "libsip/build.h"
#include "libsip/hdr.h"
#include "libsip/msg.h"
#include "libsip/uri.h"

#include "test_util.h"

#define DATA_DIR SIPD_TESTDATA "/rfc4475/"
#define ARENA_LIMIT (1u << 20)
#define OUT_CAP (64u * 1024)

/* Every file RFC 4475 calls valid or valid-but-semantically-bad. */
static const char *const files[] = {
        "wsinv",    "intmeth", "esc01",     "escnull",    "esc02",    "lwsdisp",
        "longreq",  "dblreq",  "semiuri",   "transports", "mpart01",  "unreason",
        "noreason", "inv2543", "badbranch", "insuf",      "unkscm",   "novelsc",
        "unksm2",   "bext01",  "invut",     "regaut01",   "multi01",  "mcl01",
        "bcast",    "zeromf",  "cparam01",  "cparam02",   "regescrt", "sdp01",
};

#define NFILES (sizeof(files) / sizeof(files[0]))

struct fx {
	const char *name;
	char *in;
	size_t in_len;
	char *out, *out2;
	struct sip_arena *a1, *a2;
};

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->name = *state;
	fx->out = malloc(OUT_CAP);
	fx->out2 = malloc(OUT_CAP);
	if (!fx->out || !fx->out2 || sip_arena_new(&fx->a1, ARENA_LIMIT) < 0 ||
	    sip_arena_new(&fx->a2, ARENA_LIMIT) < 0)
		return -1;
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	sip_arena_free(fx->a1);
	sip_arena_free(fx->a2);
	free(fx->in);
	free(fx->out);
	free(fx->out2);
	free(fx);
	return 0;
}

/* ---- comparisons ---------------------------------------------------------- */

/* Copies pl into buf with every run of SP, HTAB, CR, LF made one space. */
static size_t collapse(struct sip_pl pl, char *buf, size_t cap)
{
	size_t n = 0;
	bool ws = false;

	for (size_t i = 0; i < pl.len && n < cap; i++) {
		if (sip_is_lws(pl.p[i])) {
			ws = true;
			continue;
		}
		if (ws && n > 0 && n < cap)
			buf[n++] = ' ';
		ws = false;
		if (n < cap)
			buf[n++] = pl.p[i];
	}
	return n;
}

static void expect_same_pl(const char *what, struct sip_pl a, struct sip_pl b)
{
	if (sip_pl_isset(a) != sip_pl_isset(b) || !sip_pl_eq(a, b))
		fail_msg("%s: \"%.*s\" (%s) became \"%.*s\" (%s)", what, (int)a.len, a.p ? a.p : "",
		         a.p ? "set" : "unset", (int)b.len, b.p ? b.p : "", b.p ? "set" : "unset");
}

/* Equal once runs of LWS are collapsed (folding is undone by printing). */
static void same_lws(const char *what, struct sip_pl a, struct sip_pl b)
{
	static char x[8192], y[8192];
	size_t nx = collapse(a, x, sizeof(x)), ny = collapse(b, y, sizeof(y));

	if (nx != ny || memcmp(x, y, nx) != 0)
		fail_msg("%s: \"%.*s\" became \"%.*s\"", what, (int)nx, x, (int)ny, y);
}

static void same_via(const struct sip_via *a, const struct sip_via *b)
{
	assert_int_equal(a == NULL, b == NULL);
	if (!a)
		return;
	expect_same_pl("Via transport", a->transport, b->transport);
	assert_int_equal(a->tp, b->tp);
	expect_same_pl("Via host", a->host, b->host);
	assert_int_equal(a->host_type, b->host_type);
	assert_int_equal(a->port, b->port);
	expect_same_pl("Via branch", a->branch, b->branch);
	expect_same_pl("Via received", a->received, b->received);
	assert_int_equal(a->has_rport, b->has_rport);
	assert_int_equal(a->rport, b->rport);
	same_lws("Via params", a->params, b->params);
}

static void same_addr(const char *what, const struct sip_addr *a, const struct sip_addr *b)
{
	char da[512], db[512];
	int na, nb;

	if ((a == NULL) != (b == NULL))
		fail_msg("%s: present in one parse only", what);
	if (!a)
		return;
	na = sip_addr_display(a, da, sizeof(da));
	nb = sip_addr_display(b, db, sizeof(db));
	assert_true(na >= 0);
	assert_int_equal(na, nb);
	assert_memory_equal(da, db, (size_t)na);
	expect_same_pl("URI", a->uri, b->uri);
	expect_same_pl("tag", a->tag, b->tag);
	same_lws("header params", a->params, b->params);
	assert_int_equal(a->bracketed, b->bracketed);
	assert_int_equal(a->star, b->star);
}

/* Indices of the headers other than Content-Length, which the printer is
 * free to rewrite (it prints one, with the real body length). */
static size_t non_clen(const struct sip_msg *m, size_t *idx, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < sip_msg_hdr_count(m); i++)
		if (sip_msg_hdr_at(m, i)->id != SIP_HDR_CONTENT_LENGTH && n < cap)
			idx[n++] = i;
	return n;
}

static void same_headers(const struct sip_msg *m1, const struct sip_msg *m2)
{
	static size_t i1[256], i2[256];
	size_t n1 = non_clen(m1, i1, 256), n2 = non_clen(m2, i2, 256);
	char what[160];

	assert_int_equal(n1, n2);
	for (size_t k = 0; k < n1; k++) {
		const struct sip_hdr *a = sip_msg_hdr_at(m1, i1[k]), *b = sip_msg_hdr_at(m2, i2[k]);

		if (a->id != b->id)
			fail_msg("header %zu: %.*s became %.*s", k, (int)a->name.len, a->name.p,
			         (int)b->name.len, b->name.p);
		if (a->id == SIP_HDR_OTHER && !sip_pl_caseeq(a->name, b->name))
			fail_msg("header %zu: name %.*s became %.*s", k, (int)a->name.len,
			         a->name.p, (int)b->name.len, b->name.p);
		snprintf(what, sizeof(what), "header %zu (%.*s)", k, (int)a->name.len, a->name.p);
		same_lws(what, a->value, b->value);
	}
	/* Exactly one Content-Length comes out, and it is right. */
	assert_int_equal(sip_msg_hdr_num(m2, SIP_HDR_CONTENT_LENGTH), 1);
	assert_int_equal(sip_msg_content_length(m2), (long)sip_msg_body(m2).len);
}

static void same_vias(const struct sip_msg *m1, const struct sip_msg *m2)
{
	size_t p1 = 0, p2 = 0;
	const struct sip_hdr *h1, *h2;

	same_via(sip_msg_via(m1), sip_msg_via(m2));
	assert_int_equal(sip_msg_hdr_num(m1, SIP_HDR_VIA), sip_msg_hdr_num(m2, SIP_HDR_VIA));
	while ((h1 = sip_msg_hdr_next(m1, SIP_HDR_VIA, &p1))) {
		const struct sip_via *v1, *v2;

		h2 = sip_msg_hdr_next(m2, SIP_HDR_VIA, &p2);
		assert_non_null(h2);
		assert_int_equal(sip_msg_hdr_via(m1, h1, &v1), 0);
		assert_int_equal(sip_msg_hdr_via(m2, h2, &v2), 0);
		same_via(v1, v2);
	}
}

static void same_message(const struct sip_msg *m1, const struct sip_msg *m2)
{
	const struct sip_cseq *c1 = sip_msg_cseq(m1), *c2 = sip_msg_cseq(m2);
	struct sip_parse_err e1, e2;

	assert_int_equal(sip_msg_is_request(m1), sip_msg_is_request(m2));
	if (sip_msg_is_request(m1)) {
		assert_int_equal(sip_msg_method(m1), sip_msg_method(m2));
		expect_same_pl("method", sip_msg_method_name(m1), sip_msg_method_name(m2));
		expect_same_pl("Request-URI", sip_msg_ruri_pl(m1), sip_msg_ruri_pl(m2));
	} else {
		assert_int_equal(sip_msg_status(m1), sip_msg_status(m2));
		assert_int_equal(sip_msg_reason(m1).len, sip_msg_reason(m2).len);
		if (sip_msg_reason(m1).len)
			expect_same_pl("reason", sip_msg_reason(m1), sip_msg_reason(m2));
	}
	same_headers(m1, m2);
	same_vias(m1, m2);
	same_addr("From", sip_msg_from(m1), sip_msg_from(m2));
	same_addr("To", sip_msg_to(m1), sip_msg_to(m2));
	same_addr("Contact", sip_msg_contact(m1), sip_msg_contact(m2));
	assert_int_equal(c1 == NULL, c2 == NULL);
	if (c1) {
		assert_int_equal(c1->num, c2->num);
		expect_same_pl("CSeq method", c1->method, c2->method);
		assert_int_equal(c1->method_id, c2->method_id);
	}
	expect_same_pl("Call-ID", sip_msg_call_id(m1), sip_msg_call_id(m2));
	assert_int_equal(sip_msg_max_forwards(m1), sip_msg_max_forwards(m2));
	assert_int_equal(sip_msg_body(m1).len, sip_msg_body(m2).len);
	if (sip_msg_body(m1).len)
		assert_memory_equal(sip_msg_body(m1).p, sip_msg_body(m2).p, sip_msg_body(m1).len);

	/* The semantic verdict survives printing, except for what printing
	 * repairs: conflicting Content-Lengths (RFC 4475 mcl01). */
	memset(&e1, 0, sizeof(e1));
	memset(&e2, 0, sizeof(e2));
	if (sip_msg_hdr_num(m1, SIP_HDR_CONTENT_LENGTH) <= 1)
		assert_int_equal(sip_msg_check(m1, &e1), sip_msg_check(m2, &e2));
}

/* ---- the test ------------------------------------------------------------- */

static void test_roundtrip(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m1 = NULL, *m2 = NULL;
	struct sip_parse_err perr;
	char path[512];
	int n, n2, rc;

	snprintf(path, sizeof(path), DATA_DIR "%s.dat", fx->name);
	fx->in = test_read_file(path, &fx->in_len);
	if (!fx->in)
		fail_msg("cannot read %s", path);
	memset(&perr, 0, sizeof(perr));
	rc = sip_msg_parse(&m1, fx->a1, fx->in, fx->in_len, 0, &perr);
	if (rc != 0)
		fail_msg("%s: first parse: %s (%s)", fx->name, sip_err_name(rc), perr.reason);

	n = sip_msg_print(m1, fx->out, OUT_CAP);
	if (n <= 0)
		fail_msg("%s: sip_msg_print = %d", fx->name, n);
	assert_true((size_t)n <= OUT_CAP);
	rc = sip_msg_parse(&m2, fx->a2, fx->out, (size_t)n, SIP_PARSE_STREAM, &perr);
	if (rc != 0)
		fail_msg("%s: printed message does not parse: %s (%s) at \"%.*s\"\n%.*s", fx->name,
		         sip_err_name(rc), perr.reason, (int)perr.where.len,
		         perr.where.p ? perr.where.p : "", n, fx->out);
	/* The whole output is one framed message, nothing left over. */
	assert_int_equal(sip_msg_raw(m2).len, (size_t)n);
	same_message(m1, m2);

	/* Printing is idempotent on its own output. */
	n2 = sip_msg_print(m2, fx->out2, OUT_CAP);
	assert_int_equal(n2, n);
	assert_memory_equal(fx->out, fx->out2, (size_t)n);

	/* A buffer one octet short is refused, not overrun. */
	assert_int_equal(sip_msg_print(m1, fx->out2, (size_t)n - 1), SIP_ERR_NOSPACE);
}

int main(void)
{
	static struct CMUnitTest tests[NFILES];
	static char names[NFILES][48];

	for (size_t i = 0; i < NFILES; i++) {
		snprintf(names[i], sizeof(names[i]), "roundtrip_%s", files[i]);
		tests[i] = (struct CMUnitTest){
		        .name = names[i],
		        .test_func = test_roundtrip,
		        .setup_func = fx_setup,
		        .teardown_func = fx_teardown,
		        .initial_state = (void *)(uintptr_t)files[i],
		};
	}
	return cmocka_run_group_tests_name("roundtrip", tests, NULL, NULL);
}
