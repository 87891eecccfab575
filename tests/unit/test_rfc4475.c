/*
 * test_rfc4475.c — the 49 torture messages of RFC 4475 (tests/data/rfc4475,
 * byte-exact) through the message layer. Every "valid" message must parse,
 * with the tricky fields the RFC discusses asserted; every "invalid" one
 * must be refused with the status the RFC asks for (400, 505, 501, or a
 * silent drop for responses) and a reason naming the fault; every
 * "valid-but-semantically-bad" one must parse, and sip_msg_check() must
 * report what the message layer can see (the rest is checked as the fields
 * the layers above will read). A table of per-file expectations is checked
 * against MANIFEST.tsv and the directory, so a new file cannot be forgotten.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libsip/base.h"
#include "libsip/hdr.h"
#include "libsip/msg.h"
#include "libsip/uri.h"

#include "test_util.h"

#define DATA_DIR SIPD_TESTDATA "/rfc4475/"
#define ARENA_LIMIT (1u << 20)

/* ---- helpers ------------------------------------------------------------ */

struct fx {
	char *buf;
	size_t len;
	struct sip_arena *a;
	struct sip_msg *m;
	struct sip_parse_err perr;
	int rc;
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
	free(fx->buf);
	free(fx);
	return 0;
}

/* Loads tests/data/rfc4475/<name>.dat and parses it as one UDP datagram. */
static int load(struct fx *fx, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), DATA_DIR "%s.dat", name);
	free(fx->buf);
	sip_arena_reset(fx->a);
	fx->buf = test_read_file(path, &fx->len);
	if (!fx->buf)
		fail_msg("cannot read %s", path);
	fx->m = NULL;
	memset(&fx->perr, 0, sizeof(fx->perr));
	fx->rc = sip_msg_parse(&fx->m, fx->a, fx->buf, fx->len, 0, &fx->perr);
	return fx->rc;
}

static struct sip_msg *parse_ok(struct fx *fx, const char *name)
{
	if (load(fx, name) != 0)
		fail_msg("%s: sip_msg_parse = %d (%s), reason \"%s\", where \"%.*s\"", name, fx->rc,
		         sip_err_name(fx->rc), fx->perr.reason ? fx->perr.reason : "",
		         (int)fx->perr.where.len, fx->perr.where.p ? fx->perr.where.p : "");
	assert_non_null(fx->m);
	return fx->m;
}

static bool pl_contains(struct sip_pl hay, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; hay.p && i + n <= hay.len; i++)
		if (memcmp(hay.p + i, needle, n) == 0)
			return true;
	return false;
}

static void expect_pl(struct sip_pl got, const char *want, size_t n, const char *file, int line)
{
	if (got.len == n && (n == 0 || (got.p && memcmp(got.p, want, n) == 0)))
		return;
	print_error("slice \"%.*s\" (%zu octets, %s) != \"%.*s\" (%zu octets)\n", (int)got.len,
	            got.p ? got.p : "", got.len, got.p ? "set" : "unset", (int)n, want, n);
	_fail(file, line);
}

/* Slice equals a string literal (which may hold NULs) / a C string. */
#define assert_pl(got, lit) expect_pl((got), (lit), sizeof(lit) - 1, __FILE__, __LINE__)
#define assert_pl_str(got, s) expect_pl((got), (s), strlen(s), __FILE__, __LINE__)

static void expect_unesc(struct sip_pl in, const char *want, size_t n, const char *file, int line)
{
	char buf[1024];
	int r = sip_unescape(buf, sizeof(buf), in);

	if (r < 0) {
		print_error("sip_unescape(\"%.*s\") = %d\n", (int)in.len, in.p ? in.p : "", r);
		_fail(file, line);
	}
	expect_pl(sip_pl(buf, (size_t)r), want, n, file, line);
}

/* The escaped slice decodes (once) to the literal. */
#define assert_unesc(in, lit) expect_unesc((in), (lit), sizeof(lit) - 1, __FILE__, __LINE__)

static void expect_display(const struct sip_addr *a, const char *want, size_t n, const char *file,
                           int line)
{
	char buf[512];
	int r = sip_addr_display(a, buf, sizeof(buf));

	if (r < 0) {
		print_error("sip_addr_display = %d\n", r);
		_fail(file, line);
	}
	expect_pl(sip_pl(buf, (size_t)r), want, n, file, line);
}

/* The display name, unquoted and with quoted-pairs decoded. */
#define assert_display(a, lit) expect_display((a), (lit), sizeof(lit) - 1, __FILE__, __LINE__)

/* The n-th (0-based) value of header id, or a failure. */
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

static const struct sip_via *via_nth(const struct sip_msg *m, size_t n)
{
	const struct sip_via *v = NULL;

	assert_int_equal(sip_msg_hdr_via(m, hdr_nth(m, SIP_HDR_VIA, n), &v), 0);
	assert_non_null(v);
	return v;
}

static const struct sip_addr *addr_of(const struct sip_msg *m, const struct sip_hdr *h)
{
	const struct sip_addr *a = NULL;

	assert_non_null(h);
	assert_int_equal(sip_msg_hdr_addr(m, h, &a), 0);
	assert_non_null(a);
	return a;
}

static const struct sip_addr *addr_nth(const struct sip_msg *m, enum sip_hdr_id id, size_t n)
{
	return addr_of(m, hdr_nth(m, id, n));
}

static const struct sip_uri *uri_of(const struct sip_msg *m, const struct sip_addr *a)
{
	const struct sip_uri *u = NULL;

	assert_non_null(a);
	assert_int_equal(sip_msg_addr_uri(m, a, &u), 0);
	assert_non_null(u);
	return u;
}

static struct sip_pl uri_param(const struct sip_uri *u, const char *name)
{
	struct sip_pl v = SIP_PL_NULL;

	if (sip_uri_param(u, name, &v) != 0)
		fail_msg("URI %.*s has no parameter %s", (int)u->raw.len, u->raw.p, name);
	return v;
}

static struct sip_pl hdr_param(struct sip_pl params, const char *name)
{
	struct sip_pl v = SIP_PL_NULL;

	if (sip_param_find(params, name, &v) != 0)
		fail_msg("no header parameter %s in \"%.*s\"", name, (int)params.len,
		         params.p ? params.p : "");
	return v;
}

static void check_result(const struct sip_msg *m, int err, int status)
{
	struct sip_parse_err perr;

	memset(&perr, 0, sizeof(perr));
	assert_int_equal(sip_msg_check(m, &perr), err);
	assert_int_equal(perr.err, err);
	assert_int_equal(perr.status, status);
	if (err) {
		assert_non_null(perr.reason);
		assert_true(perr.reason[0] != '\0');
		assert_true(perr.where.len > 0);
	}
}

static void check_passes(const struct sip_msg *m)
{
	check_result(m, 0, 0);
}

/* The message is refused by the parser with err (or err_alt when not 0),
 * answered with status (0: dropped silently, a response), with a reason
 * phrase containing reason_word and a "where" containing where_word. */
static void expect_reject(struct fx *fx, const char *name, int err, int err_alt, int status,
                          const char *reason_word, const char *where_word)
{
	int rc = load(fx, name);

	if (rc == 0)
		fail_msg("%s: parsed, but RFC 4475 calls it invalid", name);
	if (rc != err && (err_alt == 0 || rc != err_alt))
		fail_msg("%s: rejected with %s, expected %s", name, sip_err_name(rc),
		         sip_err_name(err));
	assert_int_equal(fx->perr.err, rc);
	assert_int_equal(fx->perr.status, status);
	assert_int_equal(fx->perr.is_response, status == 0);
	assert_non_null(fx->perr.reason);
	if (!strstr(fx->perr.reason, reason_word))
		fail_msg("%s: reason \"%s\" does not name \"%s\"", name, fx->perr.reason,
		         reason_word);
	if (fx->perr.where.len == 0 || !pl_contains(fx->perr.where, where_word))
		fail_msg("%s: where \"%.*s\" does not point at \"%s\"", name,
		         (int)fx->perr.where.len, fx->perr.where.p ? fx->perr.where.p : "",
		         where_word);
}

/* pre + n * unit + suf, as the long values of longreq are built. */
static const char *rep(char *buf, size_t cap, const char *pre, const char *unit, int n,
                       const char *suf)
{
	size_t len = 0;

	len += (size_t)snprintf(buf + len, cap - len, "%s", pre);
	for (int i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s", unit);
	if (len < cap)
		snprintf(buf + len, cap - len, "%s", suf);
	return buf;
}

/* ---- 3.1.1: valid messages ---------------------------------------------- */

static void test_wsinv(void **state)
{
	static const enum sip_hdr_id order[] = {
	        SIP_HDR_TO,
	        SIP_HDR_FROM,
	        SIP_HDR_MAX_FORWARDS,
	        SIP_HDR_CALL_ID,
	        SIP_HDR_CONTENT_LENGTH,
	        SIP_HDR_CSEQ,
	        SIP_HDR_VIA,
	        SIP_HDR_SUBJECT,
	        SIP_HDR_OTHER,
	        SIP_HDR_OTHER,
	        SIP_HDR_CONTENT_TYPE,
	        SIP_HDR_ROUTE,
	        SIP_HDR_VIA,
	        SIP_HDR_VIA,
	        SIP_HDR_CONTACT,
	};
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "wsinv");
	const struct sip_uri *ru = sip_msg_ruri(m), *u;
	const struct sip_addr *a;
	const struct sip_hdr *h, *h2;
	const struct sip_via *v;
	const struct sip_cseq *cs;
	struct sip_pl body;

	assert_true(sip_msg_is_request(m));
	assert_int_equal(sip_msg_method(m), SIP_METHOD_INVITE);
	assert_pl(sip_msg_method_name(m), "INVITE");
	assert_pl(sip_msg_ruri_pl(m), "sip:vivekg@chair-dnrc.example.com;unknownparam");
	assert_non_null(ru);
	assert_int_equal(ru->scheme, SIP_SCHEME_SIP);
	assert_pl(ru->user, "vivekg");
	assert_pl(ru->host, "chair-dnrc.example.com");
	assert_int_equal(ru->host_type, SIP_HOST_DOMAIN);
	assert_int_equal(uri_param(ru, "unknownparam").len, 0);

	/* Every header, in order, with its name as written. */
	assert_int_equal(sip_msg_hdr_count(m), sizeof(order) / sizeof(order[0]));
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		assert_int_equal(sip_msg_hdr_at(m, i)->id, order[i]);
	assert_null(sip_msg_hdr_at(m, sizeof(order) / sizeof(order[0])));

	/* To: bare URI, white space around ';' and '=' of the tag. */
	h = sip_msg_hdr(m, SIP_HDR_TO);
	assert_pl(h->name, "TO");
	a = sip_msg_to(m);
	assert_non_null(a);
	assert_false(a->bracketed);
	assert_pl(a->uri, "sip:vivekg@chair-dnrc.example.com");
	assert_pl(a->tag, "1918181833n");
	u = uri_of(m, a);
	assert_pl(u->user, "vivekg");

	/* From: escaped backslash and quote in the display name; the tag
	 * parameter is folded over two continuation lines. */
	assert_pl(sip_msg_hdr(m, SIP_HDR_FROM)->name, "from");
	a = sip_msg_from(m);
	assert_non_null(a);
	assert_pl(a->display, "\"J Rosenberg \\\\\\\"\"");
	assert_display(a, "J Rosenberg \\\"");
	assert_pl(a->uri, "sip:jdrosen@example.com");
	assert_pl(a->tag, "98asjd8");

	/* Zero-padded numbers, odd-cased names, CSeq folded. */
	assert_pl(sip_msg_hdr(m, SIP_HDR_MAX_FORWARDS)->name, "MaX-fOrWaRdS");
	assert_int_equal(sip_msg_max_forwards(m), 68);
	cs = sip_msg_cseq(m);
	assert_non_null(cs);
	assert_int_equal(cs->num, 9);
	assert_pl(cs->method, "INVITE");
	assert_int_equal(cs->method_id, SIP_METHOD_INVITE);
	assert_pl(sip_msg_call_id(m), "wsinv.ndaksdj@192.0.2.1");
	assert_int_equal(sip_msg_content_length(m), 150);

	/* Three Via values, in order: one folded over three lines, two on a
	 * compact "v" line split at the comma. */
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_VIA), 3);
	v = via_nth(m, 0);
	assert_pl(v->proto, "SIP");
	assert_pl(v->version, "2.0");
	assert_pl(v->transport, "UDP");
	assert_int_equal(v->tp, SIP_TP_UDP);
	assert_pl(v->host, "192.0.2.2");
	assert_int_equal(v->host_type, SIP_HOST_IPV4);
	assert_int_equal(v->port, 0);
	assert_pl(v->branch, "390skdjuw");
	assert_false(sip_via_branch_is_3261(v));
	assert_non_null(sip_msg_via(m));
	assert_pl(sip_msg_via(m)->branch, "390skdjuw");
	v = via_nth(m, 1);
	assert_pl(v->transport, "TCP");
	assert_int_equal(v->tp, SIP_TP_TCP);
	assert_pl(v->host, "spindle.example.com");
	assert_pl(v->branch, "z9hG4bK9ikj8");
	assert_true(sip_via_branch_is_3261(v));
	v = via_nth(m, 2);
	assert_pl(v->transport, "UDP");
	assert_pl(v->host, "192.168.255.111");
	assert_pl(v->branch, "z9hG4bK30239");
	h = hdr_nth(m, SIP_HDR_VIA, 1);
	h2 = hdr_nth(m, SIP_HDR_VIA, 2);
	assert_pl(h->name, "v");
	assert_int_equal(h->elem, 0);
	assert_int_equal(h2->elem, 1);
	assert_int_equal(h->nelem, 2);
	assert_int_equal(h2->nelem, 2);
	assert_ptr_equal(h->line.p, h2->line.p);

	/* Empty Subject written "s :". */
	h = sip_msg_hdr(m, SIP_HDR_SUBJECT);
	assert_non_null(h);
	assert_pl(h->name, "s");
	assert_int_equal(h->value.len, 0);

	/* Unknown headers kept opaque, in order, the folded one whole. */
	h = sip_msg_hdr_by_name(m, SIP_PL("NewFangledHeader"));
	assert_non_null(h);
	assert_int_equal(h->id, SIP_HDR_OTHER);
	assert_pl(h->value, "newfangled value\r\n continued newfangled value");
	assert_ptr_equal(sip_msg_hdr_by_name(m, SIP_PL("newfangledheader")), h);
	h2 = sip_msg_hdr_by_name(m, SIP_PL("UnknownHeaderWithUnusualValue"));
	assert_non_null(h2);
	assert_int_equal(h2->id, SIP_HDR_OTHER);
	assert_pl(h2->value, ";;,,;;,;");
	assert_int_equal(h2->nelem, 1);
	assert_int_equal(sip_msg_hdr_index(m, h2), sip_msg_hdr_index(m, h) + 1);

	assert_pl(sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE)->value, "application/sdp");

	/* Route folded right after its colon; unknown URI parameters kept. */
	h = sip_msg_hdr(m, SIP_HDR_ROUTE);
	assert_pl(h->value, "<sip:services.example.com;lr;unknownwith=value;unknown-no-value>");
	u = uri_of(m, addr_of(m, h));
	assert_true(u->lr);
	assert_pl(u->host, "services.example.com");
	assert_pl(uri_param(u, "unknownwith"), "value");
	assert_int_equal(uri_param(u, "unknown-no-value").len, 0);

	/* Contact: compact "m", no space after the colon, escaped quotes,
	 * parameters with white space and a fold, q=0.33. */
	a = sip_msg_contact(m);
	assert_non_null(a);
	assert_pl(sip_msg_hdr(m, SIP_HDR_CONTACT)->name, "m");
	assert_display(a, "Quoted string \"\"");
	assert_pl(a->uri, "sip:jdrosen@example.com");
	assert_int_equal(sip_addr_q(a, 1000), 330);
	assert_pl(hdr_param(a->params, "newparam"), "newvalue");
	assert_null(hdr_param(a->params, "secondparam").p);

	body = sip_msg_body(m);
	assert_int_equal(body.len, 150);
	assert_ptr_equal(body.p + body.len, fx->buf + fx->len);
	assert_memory_equal(body.p, "v=0\r\n", 5);
	assert_memory_equal(body.p + 150 - 17, "a=rtpmap:31 LPC\r\n", 17);
	check_passes(m);
}

static void test_intmeth(void **state)
{
	static const char method[] = "!interesting-Method0123456789_*+`.%indeed'~";
	static const char user[] = "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*";
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "intmeth");
	const struct sip_uri *ru = sip_msg_ruri(m), *u;
	const struct sip_addr *a;
	const struct sip_hdr *h;
	const struct sip_cseq *cs;

	assert_int_equal(sip_msg_method(m), SIP_METHOD_OTHER);
	assert_pl(sip_msg_method_name(m), method);
	assert_non_null(ru);
	assert_int_equal(ru->scheme, SIP_SCHEME_SIP);
	assert_pl(ru->user, user);
	assert_pl(ru->password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
	assert_pl(ru->host, "example.com");
	assert_int_equal(ru->params.len, 0);

	assert_pl(sip_msg_via(m)->branch, "z9hG4bK-.!%66*_+`'~");
	assert_int_equal(sip_msg_via(m)->tp, SIP_TP_TCP);

	/* Quoted-pair BEL, raw NUL and DEL in the To display name. */
	a = sip_msg_to(m);
	assert_non_null(a);
	assert_pl(a->display, "\"BEL:\\\x07 NUL:\\\0 DEL:\\\x7f\"");
	assert_display(a, "BEL:\x07 NUL:\0 DEL:\x7f");
	assert_pl(a->uri, "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com");
	u = uri_of(m, a);
	assert_pl(u->user, user);
	assert_null(u->password.p);
	assert_pl(u->host, "example.com");

	/* Token display name; parameters with all token punctuation. */
	a = sip_msg_from(m);
	assert_non_null(a);
	assert_display(a, "token1~` token2'+_ token3*%!.-");
	assert_pl(a->tag, "_token~1'+`*%!-.");
	assert_pl(hdr_param(a->params, "fromParam''~+*_!.-%"),
	          "\"\xd1\x80\xd0\xb0\xd0\xb1\xd0\xbe\xd1\x82\xd0\xb0\xd1\x8e\xd1\x89\xd0\xb8"
	          "\xd0\xb9\"");

	assert_pl(sip_msg_call_id(m), "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
	cs = sip_msg_cseq(m);
	assert_non_null(cs);
	assert_int_equal(cs->num, 139122385);
	assert_pl(cs->method, method);
	assert_int_equal(cs->method_id, SIP_METHOD_OTHER);
	assert_int_equal(sip_msg_max_forwards(m), 255);

	h = sip_msg_hdr_by_name(m, SIP_PL("extensionHeader-!.%*+_`'~"));
	assert_non_null(h);
	assert_int_equal(h->id, SIP_HDR_OTHER);
	assert_pl(h->value, "\xef\xbb\xbf\xe5\xa4\xa7\xe5\x81\x9c\xe9\x9b\xbb");
	assert_int_equal(sip_msg_content_length(m), 0);
	assert_int_equal(sip_msg_body(m).len, 0);
	check_passes(m);
}

static void test_esc01(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "esc01");
	const struct sip_uri *ru = sip_msg_ruri(m), *u;
	const struct sip_addr *a;

	assert_int_equal(sip_msg_method(m), SIP_METHOD_INVITE);
	assert_pl(ru->user, "sips%3Auser%40example.com");
	assert_unesc(ru->user, "sips:user@example.com");
	assert_pl(ru->host, "example.net");

	a = sip_msg_to(m);
	assert_false(a->bracketed);
	u = uri_of(m, a);
	assert_pl(u->user, "%75se%72");
	assert_unesc(u->user, "user");
	assert_pl(u->host, "example.com");

	a = sip_msg_from(m);
	assert_pl(a->tag, "938");
	assert_unesc(uri_of(m, a)->user, "I have spaces");

	/* Escaped parameter names and a value that decodes only once. */
	a = sip_msg_contact(m);
	assert_non_null(a);
	u = uri_of(m, a);
	assert_unesc(u->user, "caller");
	assert_pl(u->host, "host5.example.net");
	assert_true(u->lr);
	assert_pl(uri_param(u, "name"), "v%61lue%25%34%31");
	assert_unesc(uri_param(u, "name"), "value%41");

	assert_pl(sip_msg_call_id(m), "esc01.239409asdfakjkn23onasd0-3234");
	assert_pl(sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE)->name, "C");
	assert_int_equal(sip_msg_body(m).len, 150);
	check_passes(m);
}

static void test_escnull(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "escnull");
	const struct sip_uri *c1, *c2;

	assert_int_equal(sip_msg_method(m), SIP_METHOD_REGISTER);
	assert_unesc(uri_of(m, sip_msg_to(m))->user, "null-\0-null");
	assert_unesc(uri_of(m, sip_msg_from(m))->user, "null-\0-null");
	assert_pl(sip_msg_from(m)->tag, "839923423");

	/* Two bindings: %00 and %00%00, distinct. */
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_CONTACT), 2);
	c1 = uri_of(m, addr_nth(m, SIP_HDR_CONTACT, 0));
	c2 = uri_of(m, addr_nth(m, SIP_HDR_CONTACT, 1));
	assert_pl(c1->user, "%00");
	assert_unesc(c1->user, "\0");
	assert_pl(c2->user, "%00%00");
	assert_unesc(c2->user, "\0\0");
	assert_pl(c1->host, "host5.example.com");
	assert_pl(c2->host, "host5.example.com");
	assert_false(sip_uri_eq(c1, c2));
	assert_false(sip_uri_eq(c2, c1));
	assert_true(sip_uri_eq(c1, c1));

	assert_pl(sip_msg_hdr(m, SIP_HDR_CONTENT_LENGTH)->name, "L");
	assert_int_equal(sip_msg_content_length(m), 0);
	check_passes(m);
}

static void test_esc02(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "esc02");
	const struct sip_hdr *h;

	/* RE%47IST%45R is not REGISTER: method names are never unescaped. */
	assert_int_equal(sip_msg_method(m), SIP_METHOD_OTHER);
	assert_pl(sip_msg_method_name(m), "RE%47IST%45R");
	assert_pl(sip_msg_cseq(m)->method, "RE%47IST%45R");
	assert_int_equal(sip_msg_cseq(m)->method_id, SIP_METHOD_OTHER);

	assert_pl(sip_msg_to(m)->display, "\"%Z%45\"");
	assert_display(sip_msg_to(m), "%Z%45");
	assert_display(sip_msg_from(m), "%Z%45");
	assert_pl(sip_msg_via(m)->branch, "z9hG4bK209%fzsnel234");

	/* C%6Fntact is an extension header: two Contact values, not three. */
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_CONTACT), 2);
	assert_pl(uri_of(m, addr_nth(m, SIP_HDR_CONTACT, 0))->host, "host1.example.com");
	assert_pl(uri_of(m, addr_nth(m, SIP_HDR_CONTACT, 1))->host, "host3.example.com");
	h = sip_msg_hdr_by_name(m, SIP_PL("C%6Fntact"));
	assert_non_null(h);
	assert_int_equal(h->id, SIP_HDR_OTHER);
	assert_pl(h->value, "<sip:alias2@host2.example.com>");
	assert_int_equal(sip_msg_hdr_index(m, h),
	                 sip_msg_hdr_index(m, hdr_nth(m, SIP_HDR_CONTACT, 0)) + 1);
	check_passes(m);
}

static void test_lwsdisp(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "lwsdisp");
	const struct sip_addr *a = sip_msg_from(m);

	assert_int_equal(sip_msg_method(m), SIP_METHOD_OPTIONS);
	assert_non_null(a);
	assert_true(a->bracketed);
	assert_pl(a->display, "caller");
	assert_display(a, "caller");
	assert_pl(a->uri, "sip:caller@example.com");
	assert_pl(a->tag, "323");
	assert_pl(sip_msg_to(m)->uri, "sip:user@example.com");
	check_passes(m);
}

static void test_longreq(void **state)
{
	static const char *const names[] = {
	        "Via", "v",   "V", "Via", "ViA", "VIa", "VIA", "via", "viA",
	        "vIa", "vIA", "V", "v",   "V",   "v",   "Via", "Via",
	};
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "longreq");
	const struct sip_addr *a;
	const struct sip_uri *u;
	const struct sip_via *v;
	const struct sip_hdr *h;
	char want[1024], host[64];

	assert_int_equal(sip_msg_method(m), SIP_METHOD_INVITE);

	/* 34 Via values in order, every spelling of Via and v. */
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_VIA), 34);
	for (int i = 0; i < 33; i++) {
		h = hdr_nth(m, SIP_HDR_VIA, (size_t)i);
		if (i < (int)(sizeof(names) / sizeof(names[0])))
			assert_pl_str(h->name, names[i]);
		else
			assert_pl(h->name, "Via");
		v = via_nth(m, (size_t)i);
		snprintf(host, sizeof(host), "sip%d.example.com", 33 - i);
		assert_pl_str(v->host, host);
		assert_int_equal(v->tp, SIP_TP_TCP);
		assert_null(v->branch.p);
	}
	v = via_nth(m, 33);
	assert_pl(v->host, "host.example.com");
	assert_pl(v->received, "192.0.2.5");
	assert_pl_str(v->branch, rep(want, sizeof(want), "very", "long", 50, "branchvalue"));
	assert_pl(sip_msg_via(m)->host, "sip33.example.com");

	/* The long display name and URI parameters intact. */
	a = sip_msg_to(m);
	assert_display(a, "I have a user name of extremeextremeextremeextremeextremeextreme"
	                  "extremeextremeextremeextreme proportion");
	assert_null(a->tag.p);
	u = uri_of(m, a);
	assert_pl(u->user, "user");
	assert_int_equal(u->port, 6000);
	assert_pl_str(uri_param(u, "unknownparam1"),
	              rep(want, sizeof(want), "very", "long", 20, "value"));
	assert_pl(uri_param(u, rep(want, sizeof(want), "longparam", "name", 25, "")), "shortvalue");
	rep(want, sizeof(want), "very", "long", 25, "ParameterNameWithNoValue");
	assert_int_equal(uri_param(u, want).len, 0);

	a = sip_msg_from(m);
	assert_pl(sip_msg_hdr(m, SIP_HDR_FROM)->name, "F");
	assert_pl_str(a->tag, rep(want, sizeof(want), "12", "982", 50, "424"));
	assert_pl_str(uri_of(m, a)->user,
	              rep(want, sizeof(want), "", "amazinglylongcallername", 5, ""));
	assert_pl(
	        hdr_param(a->params, rep(want, sizeof(want), "unknownheaderparam", "name", 20, "")),
	        "unknowheaderparamvaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevalue"
	        "valuevaluevalue");
	assert_null(hdr_param(a->params,
	                      rep(want, sizeof(want), "unknownValueless", "paramname", 10, ""))
	                    .p);

	assert_pl_str(sip_msg_call_id(m),
	              rep(want, sizeof(want), "longreq.one", "really", 20, "longcallid"));
	assert_int_equal(sip_msg_cseq(m)->num, 3882340);
	h = sip_msg_hdr_by_name(
	        m, sip_pl_cstr(rep(want, sizeof(want), "Unknown-", "Long", 20, "-Name")));
	assert_non_null(h);
	assert_int_equal(h->id, SIP_HDR_OTHER);
	assert_pl(h->value,
	          "unknown-longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglong"
	          "longlonglong-value; unknown-longlonglonglonglonglonglonglonglonglonglonglong"
	          "longlonglonglonglonglonglonglong-parameter-name = unknown-longlonglonglonglong"
	          "longlonglonglonglonglonglonglonglonglonglonglonglonglonglong-parameter-value");
	assert_pl_str(uri_of(m, sip_msg_contact(m))->user,
	              rep(want, sizeof(want), "", "amazinglylongcallername", 5, ""));
	assert_int_equal(sip_msg_max_forwards(m), 70);
	assert_int_equal(sip_msg_content_length(m), 150);
	assert_int_equal(sip_msg_body(m).len, 150);
	check_passes(m);
}

static void test_dblreq(void **state)
{
	/* The REGISTER ends after its empty line: 300 octets of the file. */
	static const size_t reg_len = 300;
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "dblreq");
	struct sip_pl raw = sip_msg_raw(m);

	assert_int_equal(sip_msg_method(m), SIP_METHOD_REGISTER);
	assert_ptr_equal(raw.p, fx->buf);
	assert_int_equal(raw.len, reg_len);
	assert_memory_equal(raw.p + raw.len - 4, "\r\n\r\n", 4);
	assert_int_equal(sip_msg_headers_end(m), reg_len - 2);
	assert_int_equal(sip_msg_body(m).len, 0);
	assert_int_equal(sip_msg_content_length(m), 0);

	/* Nothing of the INVITE that follows. */
	assert_int_equal(sip_msg_hdr_count(m), 8);
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_VIA), 1);
	assert_null(sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE));
	assert_pl(sip_msg_call_id(m), "dblreq.0ha0isndaksdj99sdfafnl3lk233412");
	assert_int_equal(sip_msg_cseq(m)->num, 8);
	assert_int_equal(sip_msg_cseq(m)->method_id, SIP_METHOD_REGISTER);
	assert_pl(sip_msg_contact(m)->uri, "sip:j.user@host.example.com");
	check_passes(m);
}

static void test_semiuri(void **state)
{
	static const char *const accept[] = {
	        "application/sdp", "application/pkcs7-mime", "multipart/mixed", "multipart/signed",
	        "message/sip",     "message/sipfrag",
	};
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "semiuri");
	const struct sip_uri *ru = sip_msg_ruri(m);

	assert_pl(ru->user, "user;par=u%40example.net");
	assert_unesc(ru->user, "user;par=u@example.net");
	assert_pl(ru->host, "example.com");
	assert_int_equal(ru->params.len, 0);

	/* A folded Accept list. */
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_ACCEPT), 6);
	for (size_t i = 0; i < 6; i++)
		assert_pl_str(hdr_nth(m, SIP_HDR_ACCEPT, i)->value, accept[i]);
	check_passes(m);
}

static void test_transports(void **state)
{
	static const struct {
		const char *name;
		enum sip_transport tp;
	} want[] = {
	        {"UDP", SIP_TP_UDP},       {"SCTP", SIP_TP_SCTP}, {"TLS", SIP_TP_TLS},
	        {"UNKNOWN", SIP_TP_OTHER}, {"TCP", SIP_TP_TCP},
	};
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "transports");
	char host[32];

	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_VIA), 5);
	for (size_t i = 0; i < 5; i++) {
		const struct sip_via *v = via_nth(m, i);

		assert_pl_str(v->transport, want[i].name);
		assert_int_equal(v->tp, want[i].tp);
		snprintf(host, sizeof(host), "t%zu.example.com", i + 1);
		assert_pl_str(v->host, host);
	}
	assert_pl(sip_msg_call_id(m), "transports.kijh4akdnaqjkwendsasfdj");
	check_passes(m);
}

static void test_mpart01(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "mpart01");
	struct sip_pl body = sip_msg_body(m);
	const struct sip_via *v = sip_msg_via(m);
	size_t nul = 0;

	assert_int_equal(sip_msg_method(m), SIP_METHOD_MESSAGE);
	assert_int_equal(sip_msg_content_length(m), 553);
	assert_int_equal(body.len, 553);
	assert_ptr_equal(body.p, fx->buf + fx->len - 553);
	for (size_t i = 0; i < body.len; i++)
		nul += body.p[i] == '\0';
	assert_int_equal(nul, 2);
	assert_memory_equal(body.p, "--7a9cbec02ceef655\r\n", 20);
	assert_memory_equal(body.p + body.len - 24, "\r\n--7a9cbec02ceef655--\r\n", 24);
	assert_pl(sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE)->value,
	          "multipart/mixed;boundary=7a9cbec02ceef655");
	assert_non_null(sip_msg_hdr(m, SIP_HDR_IDENTITY));
	assert_non_null(sip_msg_hdr(m, SIP_HDR_DATE));
	assert_int_equal(v->port, 5070);
	assert_true(v->has_rport);
	assert_int_equal(v->rport, 0);
	assert_pl(v->branch, "z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-");
	check_passes(m);
}

static void test_unreason(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "unreason");

	assert_false(sip_msg_is_request(m));
	assert_null(sip_msg_ruri(m));
	assert_int_equal(sip_msg_status(m), 200);
	assert_pl(sip_msg_reason(m),
	          "= 2**3 * 5**2 \xd0\xbd\xd0\xbe \xd1\x81\xd1\x82\xd0\xbe "
	          "\xd0\xb4\xd0\xb5\xd0\xb2\xd1\x8f\xd0\xbd\xd0\xbe\xd1\x81\xd1\x82\xd0\xbe "
	          "\xd0\xb4\xd0\xb5\xd0\xb2\xd1\x8f\xd1\x82\xd1\x8c - "
	          "\xd0\xbf\xd1\x80\xd0\xbe\xd1\x81\xd1\x82\xd0\xbe\xd0\xb5");
	assert_int_equal(sip_msg_cseq(m)->num, 35);
	assert_int_equal(sip_msg_body(m).len, 154);
	check_passes(m);
}

static void test_noreason(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "noreason");

	assert_false(sip_msg_is_request(m));
	assert_int_equal(sip_msg_status(m), 100);
	assert_int_equal(sip_msg_reason(m).len, 0);
	assert_pl(sip_msg_start_line(m), "SIP/2.0 100 ");
	assert_pl(sip_msg_to(m)->tag, "902jndnke3");
	check_passes(m);
}

static void test_inv2543(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "inv2543");
	struct sip_pl body = sip_msg_body(m);
	const struct sip_via *v = sip_msg_via(m);
	const struct sip_addr *a;
	const struct sip_uri *u;

	/* No Content-Length: the body is the rest of the datagram. */
	assert_int_equal(sip_msg_content_length(m), -1);
	assert_int_equal(body.len, 105);
	assert_ptr_equal(body.p + body.len, fx->buf + fx->len);
	assert_memory_equal(body.p, "v=0\r\n", 5);

	/* No branch, no From tag, no Max-Forwards. */
	assert_non_null(v);
	assert_null(v->branch.p);
	assert_false(sip_via_branch_is_3261(v));
	assert_pl(v->host, "iftgw.example.com");
	a = sip_msg_from(m);
	assert_null(a->tag.p);
	u = uri_of(m, a);
	assert_pl(u->user, "+13035551111");
	assert_pl(u->user_param, "phone");
	assert_int_equal(sip_msg_max_forwards(m), -1);

	/* A bare To: ";user=phone" is a header parameter there (§20.10). */
	a = sip_msg_to(m);
	assert_false(a->bracketed);
	assert_pl(a->uri, "sip:+16505552222@ss1.example.net");
	assert_pl(a->params, ";user=phone");

	u = uri_of(m, addr_nth(m, SIP_HDR_RECORD_ROUTE, 0));
	assert_pl(u->maddr, "ss1.example.com");
	check_passes(m);
}

/* ---- 3.1.2: invalid messages -------------------------------------------- */

static void test_badinv01(void **state)
{
	expect_reject(*state, "badinv01", SIP_ERR_VIA, 0, 400, "Via", "Via");
}

static void test_clerr(void **state)
{
	expect_reject(*state, "clerr", SIP_ERR_BODY_SHORT, 0, 400, "Content-Length",
	              "Content-Length");
}

static void test_ncl(void **state)
{
	expect_reject(*state, "ncl", SIP_ERR_CLEN, 0, 400, "Content-Length", "Content-Length");
}

static void test_scalar02(void **state)
{
	/* The CSeq comes first in the file and is fatal on its own. */
	expect_reject(*state, "scalar02", SIP_ERR_CSEQ, 0, 400, "CSeq", "CSeq");
}

static void test_scalarlg(void **state)
{
	expect_reject(*state, "scalarlg", SIP_ERR_CSEQ, 0, 0, "CSeq", "CSeq");
}

static void test_quotbal(void **state)
{
	expect_reject(*state, "quotbal", SIP_ERR_ADDR, 0, 400, "Address", "To");
}

static void test_ltgtruri(void **state)
{
	expect_reject(*state, "ltgtruri", SIP_ERR_URI, 0, 400, "Request-URI",
	              "<sip:user@example.com>");
}

static void test_lwsruri(void **state)
{
	expect_reject(*state, "lwsruri", SIP_ERR_URI, SIP_ERR_START_LINE, 400, "Request",
	              "sip:user@example.com;");
}

static void test_lwsstart(void **state)
{
	expect_reject(*state, "lwsstart", SIP_ERR_URI, SIP_ERR_START_LINE, 400, "Request",
	              "sip:user@example.com");
}

static void test_trws(void **state)
{
	expect_reject(*state, "trws", SIP_ERR_START_LINE, 0, 400, "Request-Line", "SIP/2.0");
}

static void test_escruri(void **state)
{
	expect_reject(*state, "escruri", SIP_ERR_URI, 0, 400, "Request-URI", "?Route=");
}

static void test_baddate(void **state)
{
	struct fx *fx = *state;

	/* Refusing at parse time or at sip_msg_check() both satisfy the RFC. */
	if (load(fx, "baddate") == 0) {
		check_result(fx->m, SIP_ERR_DATE, 400);
		return;
	}
	expect_reject(fx, "baddate", SIP_ERR_DATE, 0, 400, "Date", "Date");
}

static void test_regbadct(void **state)
{
	expect_reject(*state, "regbadct", SIP_ERR_ADDR, 0, 400, "Address", "Contact");
}

static void test_badaspec(void **state)
{
	expect_reject(*state, "badaspec", SIP_ERR_ADDR, 0, 400, "Address", "To");
}

static void test_baddn(void **state)
{
	expect_reject(*state, "baddn", SIP_ERR_ADDR, 0, 400, "Address", "From");
}

static void test_badvers(void **state)
{
	expect_reject(*state, "badvers", SIP_ERR_VERSION, 0, 505, "Version", "SIP/7.0");
}

static void test_mismatch01(void **state)
{
	expect_reject(*state, "mismatch01", SIP_ERR_CSEQ_METHOD, 0, 400, "CSeq", "INVITE");
}

static void test_mismatch02(void **state)
{
	expect_reject(*state, "mismatch02", SIP_ERR_NOT_IMPL, 0, 501, "Not Implemented", "INVITE");
}

static void test_bigcode(void **state)
{
	expect_reject(*state, "bigcode", SIP_ERR_STATUS_CODE, 0, 0, "Status Code", "4294967301");
}

/* ---- 3.2-3.3: valid but semantically bad ------------------------------- */

static void test_badbranch(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "badbranch");

	assert_pl(sip_msg_via(m)->branch, "z9hG4bK");
	check_result(m, SIP_ERR_BRANCH, 400);
}

static void test_insuf(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "insuf");

	assert_null(sip_msg_to(m));
	assert_null(sip_msg_from(m));
	assert_null(sip_msg_call_id(m).p);
	assert_int_equal(sip_msg_body(m).len, 152);
	check_result(m, SIP_ERR_NO_HEADER, 400);
}

static void test_unkscm(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "unkscm");
	const struct sip_uri *ru = sip_msg_ruri(m);

	assert_int_equal(ru->scheme, SIP_SCHEME_OTHER);
	assert_pl(ru->scheme_pl, "nobodyKnowsThisScheme");
	assert_pl(ru->opaque, "totallyopaquecontent");
	check_result(m, SIP_ERR_SCHEME, 416);
}

static void test_novelsc(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "novelsc");
	const struct sip_uri *ru = sip_msg_ruri(m);

	assert_int_equal(ru->scheme, SIP_SCHEME_OTHER);
	assert_pl(ru->scheme_pl, "soap.beep");
	assert_pl(ru->opaque, "//192.0.2.103:3002");
	check_result(m, SIP_ERR_SCHEME, 416);
}

static void test_unksm2(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "unksm2");
	const struct sip_uri *u;

	/* Non-SIP URIs in To, From and Contact parse; refusing them is the
	 * registrar's business. */
	u = uri_of(m, sip_msg_to(m));
	assert_int_equal(u->scheme, SIP_SCHEME_OTHER);
	assert_pl(u->scheme_pl, "isbn");
	assert_pl(u->opaque, "2983792873");
	u = uri_of(m, sip_msg_from(m));
	assert_pl(u->scheme_pl, "http");
	assert_pl(sip_msg_from(m)->tag, "3234233");
	u = uri_of(m, sip_msg_contact(m));
	assert_pl(u->scheme_pl, "name");
	assert_pl(u->opaque, "John_Smith");
	check_passes(m);
}

static void test_bext01(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "bext01");

	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_REQUIRE), 2);
	assert_true(sip_msg_has_token(m, SIP_HDR_REQUIRE, "nothingSupportsThis"));
	assert_true(sip_msg_has_token(m, SIP_HDR_REQUIRE, "nothingSupportsThisEither"));
	assert_false(sip_msg_has_token(m, SIP_HDR_REQUIRE, "nothing"));
	assert_false(sip_msg_has_token(m, SIP_HDR_REQUIRE, "noProxiesSupportThis"));
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_PROXY_REQUIRE), 2);
	assert_true(sip_msg_has_token(m, SIP_HDR_PROXY_REQUIRE, "noProxiesSupportThis"));
	assert_true(sip_msg_has_token(m, SIP_HDR_PROXY_REQUIRE, "norDoAnyProxiesSupportThis"));
	assert_int_equal(sip_msg_via(m)->tp, SIP_TP_TLS);
	check_passes(m);
}

static void test_invut(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "invut");
	struct sip_ctype ct;

	assert_int_equal(sip_ctype_parse(&ct, sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE)->value), 0);
	assert_pl(ct.type, "application");
	assert_pl(ct.subtype, "unknownformat");
	assert_int_equal(sip_msg_body(m).len, 40);
	assert_memory_equal(sip_msg_body(m).p, "<audio>\r\n", 9);
	check_passes(m);
}

static void test_regaut01(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "regaut01");
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_AUTHORIZATION);
	struct sip_auth auth;

	assert_non_null(h);
	assert_pl(h->value, "NoOneKnowsThisScheme opaque-data=here");
	assert_int_equal(sip_auth_parse(&auth, h->value), 0);
	assert_pl(auth.scheme, "NoOneKnowsThisScheme");
	assert_false(auth.is_digest);
	assert_int_equal(sip_msg_content_length(m), 0);
	check_passes(m);
}

static void test_multi01(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "multi01");

	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_CALL_ID), 2);
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_CSEQ), 2);
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_TO), 2);
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_FROM), 2);
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_MAX_FORWARDS), 2);
	/* The hot fields hold the first of each. */
	assert_int_equal(sip_msg_cseq(m)->num, 5);
	assert_pl(sip_msg_call_id(m), "multi01.98asdh@192.0.2.1");
	assert_pl(sip_msg_from(m)->tag, "3413415");
	assert_pl(sip_msg_to(m)->uri, "sip:user@example.com");
	assert_int_equal(sip_msg_max_forwards(m), 70);
	check_result(m, SIP_ERR_DUP_HEADER, 400);
}

static void test_mcl01(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "mcl01");
	struct sip_parse_err perr;

	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_CONTENT_LENGTH), 2);
	memset(&perr, 0, sizeof(perr));
	assert_true(sip_msg_check(m, &perr) < 0);
	assert_int_equal(perr.status, 400);
	assert_true(pl_contains(perr.where, "Content-Length"));
}

static void test_bcast(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "bcast");
	const struct sip_via *v;

	assert_int_equal(sip_msg_status(m), 200);
	v = via_nth(m, 1);
	assert_pl(v->host, "255.255.255.255");
	assert_int_equal(v->host_type, SIP_HOST_IPV4);
	check_passes(m);
}

static void test_zeromf(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "zeromf");

	assert_int_equal(sip_msg_max_forwards(m), 0);
	check_passes(m);
}

static void test_cparam01(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "cparam01");
	const struct sip_addr *a = sip_msg_contact(m);
	const struct sip_uri *u = uri_of(m, a);
	struct sip_pl v;

	/* A bare URI: ;unknownparam belongs to the Contact, not the URI. */
	assert_false(a->bracketed);
	assert_pl(a->uri, "sip:+19725552222@gw1.example.net");
	assert_pl(a->params, ";unknownparam");
	assert_null(hdr_param(a->params, "unknownparam").p);
	assert_int_equal(u->params.len, 0);
	assert_int_equal(sip_uri_param(u, "unknownparam", &v), SIP_ERR_NOT_FOUND);
	assert_pl(u->user, "+19725552222");
	assert_pl(u->host, "gw1.example.net");
	check_passes(m);
}

static void test_cparam02(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "cparam02");
	const struct sip_addr *a = sip_msg_contact(m);
	const struct sip_uri *u = uri_of(m, a);
	struct sip_pl v;

	assert_true(a->bracketed);
	assert_int_equal(a->params.len, 0);
	assert_int_not_equal(sip_param_find(a->params, "unknownparam", &v), 0);
	assert_pl(u->params, ";unknownparam");
	assert_int_equal(uri_param(u, "unknownparam").len, 0);
	check_passes(m);
}

static void test_regescrt(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "regescrt");
	const struct sip_addr *a = sip_msg_contact(m);
	const struct sip_uri *u = uri_of(m, a);

	assert_pl(sip_msg_hdr(m, SIP_HDR_CONTACT)->name, "M");
	assert_true(a->bracketed);
	assert_pl(a->uri, "sip:user@example.com?Route=%3Csip:sip.example.com%3E");
	assert_pl(u->headers, "Route=%3Csip:sip.example.com%3E");
	/* The escaped Route never becomes a real one. */
	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_ROUTE), 0);
	check_passes(m);
}

static void test_sdp01(void **state)
{
	struct fx *fx = *state;
	struct sip_msg *m = parse_ok(fx, "sdp01");

	assert_int_equal(sip_msg_hdr_num(m, SIP_HDR_ACCEPT), 1);
	assert_pl(sip_msg_hdr(m, SIP_HDR_ACCEPT)->value, "text/nobodyKnowsThis");
	assert_pl(sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE)->value, "application/sdp");
	assert_int_equal(sip_msg_body(m).len, 150);
	check_passes(m);
}

/* ---- the table, checked against MANIFEST.tsv ---------------------------- */

enum cls { VALID, INVALID, SEMBAD };

static const char *const cls_names[] = {
        [VALID] = "valid",
        [INVALID] = "invalid",
        [SEMBAD] = "valid-but-semantically-bad",
};

struct torture {
	const char *file;
	const char *test;
	enum cls cls;
	CMUnitTestFunction fn;
};

#define T(name, cls)                                                                               \
	{                                                                                          \
#name ".dat", "test_" #name, cls, test_##name                                      \
	}

static const struct torture table[] = {
        /* 3.1.1 valid */
        T(wsinv, VALID),
        T(intmeth, VALID),
        T(esc01, VALID),
        T(escnull, VALID),
        T(esc02, VALID),
        T(lwsdisp, VALID),
        T(longreq, VALID),
        T(dblreq, VALID),
        T(semiuri, VALID),
        T(transports, VALID),
        T(mpart01, VALID),
        T(unreason, VALID),
        T(noreason, VALID),
        /* 3.1.2 invalid */
        T(badinv01, INVALID),
        T(clerr, INVALID),
        T(ncl, INVALID),
        T(scalar02, INVALID),
        T(scalarlg, INVALID),
        T(quotbal, INVALID),
        T(ltgtruri, INVALID),
        T(lwsruri, INVALID),
        T(lwsstart, INVALID),
        T(trws, INVALID),
        T(escruri, INVALID),
        T(baddate, INVALID),
        T(regbadct, INVALID),
        T(badaspec, INVALID),
        T(baddn, INVALID),
        T(badvers, INVALID),
        T(mismatch01, INVALID),
        T(mismatch02, INVALID),
        T(bigcode, INVALID),
        /* 3.2, 3.3 valid but semantically bad */
        T(badbranch, SEMBAD),
        T(insuf, SEMBAD),
        T(unkscm, SEMBAD),
        T(novelsc, SEMBAD),
        T(unksm2, SEMBAD),
        T(bext01, SEMBAD),
        T(invut, SEMBAD),
        T(regaut01, SEMBAD),
        T(multi01, SEMBAD),
        T(mcl01, SEMBAD),
        T(bcast, SEMBAD),
        T(zeromf, SEMBAD),
        T(cparam01, SEMBAD),
        T(cparam02, SEMBAD),
        T(regescrt, SEMBAD),
        T(sdp01, SEMBAD),
        /* 3.4 backward compatibility */
        T(inv2543, VALID),
};

#define NTABLE (sizeof(table) / sizeof(table[0]))

static const struct torture *table_find(const char *file, size_t len)
{
	for (size_t i = 0; i < NTABLE; i++)
		if (strlen(table[i].file) == len && memcmp(table[i].file, file, len) == 0)
			return &table[i];
	return NULL;
}

/* Every row of MANIFEST.tsv has a test whose class agrees, every test has
 * a row, and every .dat file of the directory is in the manifest. */
static void test_manifest(void **state)
{
	bool seen[NTABLE] = {false};
	size_t len = 0, rows = 0;
	char *text = test_read_file(DATA_DIR "MANIFEST.tsv", &len), *line, *save = NULL;
	DIR *dir;
	struct dirent *de;

	(void)state;
	assert_non_null(text);
	text = realloc(text, len + 1);
	assert_non_null(text);
	text[len] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4], *tab = line, path[512], *data;
		const struct torture *t;
		size_t dlen;
		int n = 0;

		for (; n < 4 && tab; n++) {
			f[n] = tab;
			tab = strchr(tab, '\t');
			if (tab)
				*tab++ = '\0';
		}
		if (rows++ == 0) {
			assert_string_equal(f[0], "file"); /* the heading */
			continue;
		}
		assert_int_equal(n, 4);
		t = table_find(f[0], strlen(f[0]));
		if (!t)
			fail_msg("MANIFEST.tsv lists %s, which has no test", f[0]);
		assert_false(seen[t - table]);
		seen[t - table] = true;
		if (strcmp(f[2], cls_names[t->cls]) != 0)
			fail_msg("%s: manifest says %s, the test expects %s", f[0], f[2],
			         cls_names[t->cls]);
		snprintf(path, sizeof(path), DATA_DIR "%s", f[0]);
		data = test_read_file(path, &dlen);
		if (!data)
			fail_msg("%s is listed but missing", f[0]);
		assert_true(dlen > 0);
		free(data);
	}
	free(text);
	assert_int_equal(rows - 1, NTABLE);
	for (size_t i = 0; i < NTABLE; i++)
		if (!seen[i])
			fail_msg("%s has a test but no manifest row", table[i].file);

	dir = opendir(DATA_DIR);
	assert_non_null(dir);
	while ((de = readdir(dir))) {
		size_t n = strlen(de->d_name);

		if (n > 4 && strcmp(de->d_name + n - 4, ".dat") == 0 &&
		    !table_find(de->d_name, n)) {
			closedir(dir);
			fail_msg("%s is in %s but neither in MANIFEST.tsv nor tested", de->d_name,
			         DATA_DIR);
		}
	}
	closedir(dir);
}

int main(void)
{
	/* The test list is built from the table, so a file in the table is
	 * always run, under the name of its test function. */
	static struct CMUnitTest tests[NTABLE + 1];

	tests[0] = (struct CMUnitTest)cmocka_unit_test(test_manifest);
	for (size_t i = 0; i < NTABLE; i++)
		tests[i + 1] = (struct CMUnitTest){
		        .name = table[i].test,
		        .test_func = table[i].fn,
		        .setup_func = fx_setup,
		        .teardown_func = fx_teardown,
		};
	return cmocka_run_group_tests_name("rfc4475", tests, NULL, NULL);
}
