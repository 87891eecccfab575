/*
 * test_dialog.c — the session layer's pieces (src/dialog): dialogs made
 * from a 2xx with Record-Route as the UAC and the UAS see them, requests
 * built with loose and strict routes, the CSeq rules, the UAS's 2xx
 * retransmission schedule, the digest client checked the way a server
 * checks it (libsip's digest functions), and the REGISTER refresh timing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dialog/dialog.h"
#include "libsip/hdr.h"

struct fx {
	struct sip_arena *a;
};

static int setup(void **state)
{
	static struct fx f;

	assert_int_equal(sip_arena_new(&f.a, 1u << 20), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	sip_arena_free(f->a);
	return 0;
}

static const struct sip_msg *parse(struct fx *f, const char *text)
{
	struct sip_msg *m;
	struct sip_parse_err perr;

	if (sip_msg_parse(&m, f->a, text, strlen(text), SIP_PARSE_COPY, &perr) < 0)
		fail_msg("parse: %s", perr.reason);
	return m;
}

/* The request dlg_request writes, with an empty body, parsed. */
static const struct sip_msg *build(struct fx *f, struct dlg *d, const char *method, uint32_t cseq)
{
	static char buf[8][4096];
	static unsigned k;
	char *b = buf[k++ % 8];
	struct sip_wbuf w;
	struct dlg_req r = {.method = method,
	                    .via = "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKabc",
	                    .contact = "<sip:alice@192.0.2.1:5062>",
	                    .cseq = cseq};
	int n;

	sip_wbuf_init(&w, b, 4096);
	dlg_request(d, &w, &r);
	n = sip_build_finish(&w, SIP_PL_NULL, SIP_PL_NULL);
	assert_true(n > 0);
	return parse(f, b);
}

static void assert_pl(struct sip_pl pl, const char *want)
{
	char got[512];

	assert_string_equal(sip_pl_strcpy(got, sizeof(got), pl), want);
}

/* The i-th Route value's URI of m. */
static void assert_route(const struct sip_msg *m, size_t i, const char *want)
{
	const struct sip_hdr *h = NULL;
	const struct sip_addr *a;
	size_t pos = 0;

	for (size_t k = 0; k <= i; k++)
		h = sip_msg_hdr_next(m, SIP_HDR_ROUTE, &pos);
	assert_non_null(h);
	assert_int_equal(sip_msg_hdr_addr(m, h, &a), 0);
	assert_pl(a->uri, want);
}

#define OK_200                                                                                     \
	"SIP/2.0 200 OK\r\n"                                                                       \
	"Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKabc\r\n"                                    \
	"Record-Route: <sip:p2.example.com;lr>\r\n"                                                \
	"Record-Route: <sip:p1.example.com;lr>\r\n"                                                \
	"From: <sip:alice@example.com>;tag=a1\r\n"                                                 \
	"To: <sip:bob@example.com>;tag=b2\r\n"                                                     \
	"Call-ID: cid1\r\n"                                                                        \
	"CSeq: 1 INVITE\r\n"                                                                       \
	"Contact: <sip:bob@198.51.100.7:5070>\r\n"                                                 \
	"Content-Length: 0\r\n\r\n"

static void uac_dialog_from_2xx(void **state)
{
	struct fx *f = *state;
	struct dlg pre, d;
	const struct sip_msg *inv, *bye;

	assert_int_equal(
	        dlg_uac_init(&pre, "sip:alice@example.com", "sip:bob@example.com", "cid1", "a1"),
	        0);
	inv = build(f, &pre, "INVITE", 0);
	assert_pl(sip_msg_ruri_pl(inv), "sip:bob@example.com");
	assert_true(sip_msg_to(inv)->tag.p == NULL);
	assert_int_equal(sip_msg_cseq(inv)->num, 1);
	assert_int_equal(dlg_uac_update(&d, &pre, parse(f, OK_200)), 0);
	assert_int_equal(d.state, DLG_CONFIRMED);
	assert_string_equal(d.remote_tag, "b2");
	assert_string_equal(d.remote_target, "sip:bob@198.51.100.7:5070");
	/* §12.1.2: Record-Route reversed. */
	assert_int_equal(d.nroute, 2);
	assert_string_equal(d.route[0], "sip:p1.example.com;lr");
	assert_string_equal(dlg_next_hop(&d), "sip:p1.example.com;lr");
	bye = build(f, &d, "BYE", 0);
	assert_pl(sip_msg_ruri_pl(bye), "sip:bob@198.51.100.7:5070");
	assert_route(bye, 0, "sip:p1.example.com;lr");
	assert_route(bye, 1, "sip:p2.example.com;lr");
	assert_pl(sip_msg_to(bye)->tag, "b2");
	assert_pl(sip_msg_from(bye)->tag, "a1");
	assert_pl(sip_msg_call_id(bye), "cid1");
	assert_int_equal(sip_msg_cseq(bye)->num, 2); /* after the INVITE's 1 */
	/* An ACK carries the INVITE's number and does not count. */
	assert_int_equal(sip_msg_cseq(build(f, &d, "ACK", 1))->num, 1);
	assert_int_equal(sip_msg_cseq(build(f, &d, "BYE", 0))->num, 3);
}

static void uac_early_then_confirmed(void **state)
{
	struct fx *f = *state;
	struct dlg d;
	const char *ringing = "SIP/2.0 180 Ringing\r\n"
	                      "Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKabc\r\n"
	                      "From: <sip:alice@example.com>;tag=a1\r\n"
	                      "To: <sip:bob@example.com>;tag=b2\r\n"
	                      "Call-ID: cid1\r\nCSeq: 1 INVITE\r\n"
	                      "Content-Length: 0\r\n\r\n";
	const char *trying = "SIP/2.0 100 Trying\r\n"
	                     "Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKabc\r\n"
	                     "From: <sip:alice@example.com>;tag=a1\r\n"
	                     "To: <sip:bob@example.com>\r\n"
	                     "Call-ID: cid1\r\nCSeq: 1 INVITE\r\n"
	                     "Content-Length: 0\r\n\r\n";

	dlg_uac_init(&d, "sip:alice@example.com", "sip:bob@example.com", "cid1", "a1");
	assert_int_equal(dlg_uac_update(&d, &d, parse(f, trying)), SIP_ERR_NOT_FOUND);
	assert_int_equal(dlg_uac_update(&d, &d, parse(f, ringing)), 0);
	assert_int_equal(d.state, DLG_EARLY);
	assert_int_equal(d.nroute, 0);
	assert_string_equal(d.remote_target, "sip:bob@example.com"); /* no Contact yet */
	assert_int_equal(dlg_uac_update(&d, &d, parse(f, OK_200)), 0);
	assert_int_equal(d.state, DLG_CONFIRMED);
	assert_int_equal(d.nroute, 2); /* the 2xx sets the route set anew */
}

#define INVITE_IN                                                                                  \
	"INVITE sip:bob@198.51.100.7:5070 SIP/2.0\r\n"                                             \
	"Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bKp2\r\n"                                     \
	"Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKabc\r\n"                                    \
	"Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>\r\n"                       \
	"Max-Forwards: 69\r\n"                                                                     \
	"From: \"Alice\" <sip:alice@example.com>;tag=a1\r\n"                                       \
	"To: <sip:bob@example.com>\r\n"                                                            \
	"Call-ID: cid1\r\n"                                                                        \
	"CSeq: 5 INVITE\r\n"                                                                       \
	"Contact: <sip:alice@192.0.2.1:5062>\r\n"                                                  \
	"Content-Length: 0\r\n\r\n"

static void uas_dialog_and_cseq(void **state)
{
	struct fx *f = *state;
	struct dlg d;
	const struct sip_msg *inv = parse(f, INVITE_IN), *bye;
	char buf[1024];
	struct sip_wbuf w;

	assert_int_equal(dlg_uas_new(&d, inv, "b2"), 0);
	assert_false(d.caller);
	assert_string_equal(d.remote_tag, "a1");
	assert_string_equal(d.local_tag, "b2");
	assert_string_equal(d.remote_target, "sip:alice@192.0.2.1:5062");
	/* §12.1.1: the UAS keeps Record-Route in order. */
	assert_int_equal(d.nroute, 2);
	assert_string_equal(d.route[0], "sip:p2.example.com;lr");
	bye = build(f, &d, "BYE", 0);
	assert_pl(sip_msg_ruri_pl(bye), "sip:alice@192.0.2.1:5062");
	assert_route(bye, 0, "sip:p2.example.com;lr");
	assert_pl(sip_msg_from(bye)->tag, "b2");
	assert_pl(sip_msg_to(bye)->tag, "a1");
	assert_pl(sip_msg_to(bye)->uri, "sip:alice@example.com");

	/* The response that creates the dialog copies the Record-Route line. */
	sip_wbuf_init(&w, buf, sizeof(buf));
	dlg_copy_record_route(&w, inv);
	assert_string_equal((buf[w.len] = '\0', buf),
	                    "Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>\r\n");

	/* §12.2.2: lower CSeq refused, equal or higher taken; ACK unchecked. */
	const char *fmt = "%s sip:bob@198.51.100.7:5070 SIP/2.0\r\n"
	                  "Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK%u\r\n"
	                  "From: <sip:alice@example.com>;tag=a1\r\n"
	                  "To: <sip:bob@example.com>;tag=b2\r\n"
	                  "Call-ID: cid1\r\nCSeq: %u %s\r\nMax-Forwards: 70\r\n"
	                  "Content-Length: 0\r\n\r\n";
	char text[1024];
	snprintf(text, sizeof(text), fmt, "BYE", 4u, 4u, "BYE");
	assert_true(dlg_match_request(&d, parse(f, text)));
	assert_int_equal(dlg_remote_cseq(&d, parse(f, text)), SIP_ERR_RANGE);
	snprintf(text, sizeof(text), fmt, "ACK", 5u, 5u, "ACK");
	assert_int_equal(dlg_remote_cseq(&d, parse(f, text)), 0);
	snprintf(text, sizeof(text), fmt, "INVITE", 6u, 6u, "INVITE");
	assert_int_equal(dlg_remote_cseq(&d, parse(f, text)), 0);
	assert_int_equal(d.remote_cseq, 6);
	snprintf(text, sizeof(text), fmt, "BYE", 6u, 6u, "BYE");
	assert_int_equal(dlg_remote_cseq(&d, parse(f, text)), 0);
	assert_int_equal(dlg_remote_cseq(&d, parse(f, INVITE_IN)), SIP_ERR_RANGE);
	/* Another dialog's request does not match. */
	assert_false(dlg_match_request(&d, inv)); /* no To tag */
}

static void strict_route(void **state)
{
	struct fx *f = *state;
	struct dlg d;
	const struct sip_msg *bye;

	dlg_uac_init(&d, "sip:alice@example.com", "sip:bob@example.com", "cid1", "a1");
	const char *resp = "SIP/2.0 200 OK\r\n"
	                   "Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKabc\r\n"
	                   "Record-Route: <sip:p2.example.com;lr>\r\n"
	                   "Record-Route: <sip:p1.example.com>\r\n"
	                   "From: <sip:alice@example.com>;tag=a1\r\n"
	                   "To: <sip:bob@example.com>;tag=b2\r\n"
	                   "Call-ID: cid1\r\nCSeq: 1 INVITE\r\n"
	                   "Contact: <sip:bob@198.51.100.7:5070>\r\n"
	                   "Content-Length: 0\r\n\r\n";
	assert_int_equal(dlg_uac_update(&d, &d, parse(f, resp)), 0);
	assert_true(dlg_strict_route(&d));
	bye = build(f, &d, "BYE", 0);
	/* §12.2.1.1: the strict router's URI is the Request-URI, the remote
	 * target goes last in Route. */
	assert_pl(sip_msg_ruri_pl(bye), "sip:p1.example.com");
	assert_int_equal(sip_msg_hdr_num(bye, SIP_HDR_ROUTE), 2);
	assert_route(bye, 0, "sip:p2.example.com;lr");
	assert_route(bye, 1, "sip:bob@198.51.100.7:5070");
	assert_string_equal(dlg_next_hop(&d), "sip:p1.example.com");
}

static void target_refresh(void **state)
{
	struct fx *f = *state;
	struct dlg d;
	const char *reinv = "INVITE sip:bob@198.51.100.7:5070 SIP/2.0\r\n"
	                    "Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKr\r\n"
	                    "From: <sip:alice@example.com>;tag=a1\r\n"
	                    "To: <sip:bob@example.com>;tag=b2\r\n"
	                    "Call-ID: cid1\r\nCSeq: 7 INVITE\r\nMax-Forwards: 70\r\n"
	                    "Contact: <sip:alice@192.0.2.9:5099;transport=tcp>\r\n"
	                    "Content-Length: 0\r\n\r\n";

	assert_int_equal(dlg_uas_new(&d, parse(f, INVITE_IN), "b2"), 0);
	assert_int_equal(dlg_target_refresh(&d, parse(f, reinv)), 0);
	assert_string_equal(d.remote_target, "sip:alice@192.0.2.9:5099;transport=tcp");
}

static void rtx_schedule(void **state)
{
	struct dlg_rtx r = {0};
	uint64_t want[] = {500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500};
	size_t k = 0;

	(void)state;
	assert_int_equal(dlg_rtx_poll(&r, 0), DLG_RTX_WAIT);
	dlg_rtx_start(&r, 0, 500, 4000);
	for (uint64_t t = 0; t < 32000; t += 10) {
		enum dlg_rtx_action a = dlg_rtx_poll(&r, t);

		if (a == DLG_RTX_RESEND) {
			assert_true(k < sizeof(want) / sizeof(want[0]));
			assert_int_equal(t, want[k++]);
		} else {
			assert_int_equal(a, DLG_RTX_WAIT);
		}
	}
	assert_int_equal(k, 10);
	assert_int_equal(dlg_rtx_poll(&r, 32000), DLG_RTX_GIVE_UP);
	assert_int_equal(dlg_rtx_poll(&r, 40000), DLG_RTX_WAIT);
	dlg_rtx_start(&r, 0, 500, 4000);
	dlg_rtx_stop(&r);
	assert_int_equal(dlg_rtx_poll(&r, 600), DLG_RTX_WAIT);
}

/* ---- digest client, checked as a server checks -------------------------------- */

#define CHALLENGE                                                                                  \
	"SIP/2.0 %d Unauthorized\r\n"                                                              \
	"Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKabc\r\n"                                    \
	"From: <sip:alice@example.com>;tag=a1\r\n"                                                 \
	"To: <sip:alice@example.com>;tag=s1\r\n"                                                   \
	"Call-ID: cid1\r\nCSeq: 1 REGISTER\r\n"                                                    \
	"%s: Digest realm=\"example.com\", nonce=\"%s\", qop=\"auth\", "                           \
	"algorithm=MD5, opaque=\"op\"\r\n"                                                         \
	"%s: Digest realm=\"example.com\", nonce=\"%s\", qop=\"auth,auth-int\", "                  \
	"algorithm=SHA-256\r\n"                                                                    \
	"Content-Length: 0\r\n\r\n"

static const struct sip_msg *challenge(struct fx *f, int status, const char *nonce)
{
	static char text[2][2048];
	static unsigned k;
	char *t = text[k++ % 2];
	const char *h = status == 401 ? "WWW-Authenticate" : "Proxy-Authenticate";

	snprintf(t, 2048, CHALLENGE, status, h, nonce, h, nonce);
	return parse(f, t);
}

/* Writes the credentials for method/uri and checks them like a server:
 * recompute with libsip from the stored password's HA1. Returns nc. */
static uint32_t verify(struct fx *f, struct dlg_auth *a, enum sip_hdr_id id, const char *method,
                       const char *uri, const char *password)
{
	char buf[4096], text[4200], ha1[SIP_DIGEST_HEX_MAX], want[SIP_DIGEST_HEX_MAX];
	struct sip_wbuf w;
	struct sip_auth cr;
	enum sip_digest_alg alg;
	uint32_t nc;

	sip_wbuf_init(&w, buf, sizeof(buf));
	dlg_auth_write(a, &w, method, sip_pl_cstr(uri));
	assert_int_equal(w.err, 0);
	snprintf(text, sizeof(text),
	         "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
	         "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 2 %s\r\n"
	         "Max-Forwards: 70\r\n%.*sContent-Length: 0\r\n\r\n",
	         method, uri, method, (int)w.len, buf);
	const struct sip_msg *m = parse(f, text);
	const struct sip_hdr *h = sip_msg_hdr(m, id);
	assert_non_null(h);
	assert_int_equal(sip_msg_hdr_num(m, id), 1);
	assert_int_equal(sip_auth_parse(&cr, h->value), 0);
	assert_int_equal(sip_digest_alg_parse(cr.algorithm, &alg), 0);
	assert_int_equal(alg, SIP_DIGEST_SHA256); /* preferred when offered */
	assert_pl(cr.username, "alice");
	assert_pl(cr.uri, uri);
	assert_pl(cr.qop, "auth");
	assert_int_equal(cr.cnonce.len, 32);
	assert_true(cr.opaque.p == NULL); /* the SHA-256 challenge had none */
	assert_true(sip_digest_ha1(alg, SIP_PL("alice"), cr.realm, sip_pl_cstr(password), ha1,
	                           sizeof(ha1)) > 0);
	struct sip_digest_req r = {.alg = alg,
	                           .qop = SIP_DIGEST_QOP_AUTH,
	                           .nonce = cr.nonce,
	                           .nc = cr.nc,
	                           .cnonce = cr.cnonce,
	                           .method = sip_pl_cstr(method),
	                           .uri = cr.uri};
	assert_true(sip_digest_compute(&r, sip_pl_cstr(ha1), want, sizeof(want)) > 0);
	assert_true(sip_digest_hex_eq(sip_pl_cstr(want), cr.response));
	assert_int_equal(sip_hdr_u32(cr.nc, UINT32_MAX, &nc), 0); /* decimal digits here */
	return nc;
}

static void digest_client(void **state)
{
	struct fx *f = *state;
	struct dlg_auth a, none;

	dlg_auth_init(&a, "alice", "secret");
	assert_int_equal(dlg_auth_update(&a, challenge(f, 401, "n1")), 0);
	assert_int_equal(a.nch, 1); /* one realm: the strongest of its two */
	assert_int_equal(
	        verify(f, &a, SIP_HDR_AUTHORIZATION, "REGISTER", "sip:example.com", "secret"), 1);
	/* The same nonce again: nc goes on counting. */
	assert_int_equal(dlg_auth_update(&a, challenge(f, 401, "n1")), 0);
	assert_int_equal(
	        verify(f, &a, SIP_HDR_AUTHORIZATION, "REGISTER", "sip:example.com", "secret"), 2);
	/* A proxy challenge with a new nonce: Proxy-Authorization, nc 1. */
	assert_int_equal(dlg_auth_update(&a, challenge(f, 407, "n2")), 0);
	assert_int_equal(verify(f, &a, SIP_HDR_PROXY_AUTHORIZATION, "INVITE", "sip:bob@example.com",
	                        "secret"),
	                 1);
	/* No password: nothing to answer with. */
	dlg_auth_init(&none, "alice", NULL);
	assert_int_equal(dlg_auth_update(&none, challenge(f, 401, "n1")), SIP_ERR_AUTH);
}

static void digest_md5_only(void **state)
{
	struct fx *f = *state;
	struct dlg_auth a;
	char buf[2048], ha1[SIP_DIGEST_HEX_MAX], want[SIP_DIGEST_HEX_MAX];
	struct sip_wbuf w;
	struct sip_auth cr;
	const char *resp = "SIP/2.0 407 Proxy Authentication Required\r\n"
	                   "Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKabc\r\n"
	                   "From: <sip:alice@example.com>;tag=a1\r\n"
	                   "To: <sip:bob@example.com>;tag=s1\r\n"
	                   "Call-ID: cid1\r\nCSeq: 1 INVITE\r\n"
	                   "Proxy-Authenticate: Digest realm=\"r\", nonce=\"xyz\"\r\n"
	                   "Content-Length: 0\r\n\r\n";

	dlg_auth_init(&a, "bob", "pw");
	assert_int_equal(dlg_auth_update(&a, parse(f, resp)), 0);
	sip_wbuf_init(&w, buf, sizeof(buf));
	dlg_auth_write(&a, &w, "BYE", SIP_PL("sip:x@y"));
	buf[w.len] = '\0';
	assert_true(strncmp(buf, "Proxy-Authorization: Digest ", 28) == 0);
	/* RFC 2069 style: no qop, so neither nc nor cnonce. */
	assert_null(strstr(buf, "nc="));
	assert_int_equal(sip_auth_parse(&cr, sip_pl(buf + 21, w.len - 23)), 0);
	assert_int_equal(sip_digest_ha1(SIP_DIGEST_MD5, SIP_PL("bob"), SIP_PL("r"), SIP_PL("pw"),
	                                ha1, sizeof(ha1)),
	                 32);
	struct sip_digest_req r = {.alg = SIP_DIGEST_MD5,
	                           .nonce = SIP_PL("xyz"),
	                           .method = SIP_PL("BYE"),
	                           .uri = SIP_PL("sip:x@y")};
	assert_int_equal(sip_digest_compute(&r, sip_pl_cstr(ha1), want, sizeof(want)), 32);
	assert_true(sip_digest_hex_eq(sip_pl_cstr(want), cr.response));
}

/* ---- registration timing ------------------------------------------------------- */

static void register_refresh(void **state)
{
	struct fx *f = *state;
	const char *both = "SIP/2.0 200 OK\r\n"
	                   "Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKabc\r\n"
	                   "From: <sip:alice@example.com>;tag=a1\r\n"
	                   "To: <sip:alice@example.com>;tag=s1\r\n"
	                   "Call-ID: cid1\r\nCSeq: 2 REGISTER\r\n"
	                   "Contact: <sip:alice@192.0.2.9:5000>;expires=3600\r\n"
	                   "Contact: <sip:alice@192.0.2.1:5062>;expires=120\r\n"
	                   "Expires: 60\r\n"
	                   "Content-Length: 0\r\n\r\n";
	const char *expires_only = "SIP/2.0 200 OK\r\n"
	                           "Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKabc\r\n"
	                           "From: <sip:alice@example.com>;tag=a1\r\n"
	                           "To: <sip:alice@example.com>;tag=s1\r\n"
	                           "Call-ID: cid1\r\nCSeq: 2 REGISTER\r\n"
	                           "Expires: 60\r\n"
	                           "Content-Length: 0\r\n\r\n";
	const char *bare = "SIP/2.0 200 OK\r\n"
	                   "Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKabc\r\n"
	                   "From: <sip:alice@example.com>;tag=a1\r\n"
	                   "To: <sip:alice@example.com>;tag=s1\r\n"
	                   "Call-ID: cid1\r\nCSeq: 2 REGISTER\r\n"
	                   "Content-Length: 0\r\n\r\n";

	assert_int_equal(dlg_reg_granted(parse(f, both), SIP_PL("sip:alice@192.0.2.1:5062"), 3600),
	                 120);
	/* Not our contact: the Expires header. */
	assert_int_equal(dlg_reg_granted(parse(f, both), SIP_PL("sip:alice@192.0.2.2:5062"), 3600),
	                 60);
	assert_int_equal(
	        dlg_reg_granted(parse(f, expires_only), SIP_PL("sip:alice@192.0.2.1:5062"), 3600),
	        60);
	assert_int_equal(dlg_reg_granted(parse(f, bare), SIP_PL("sip:alice@192.0.2.1:5062"), 300),
	                 300);
	assert_int_equal(dlg_reg_refresh_ms(3600), 1800000);
	assert_int_equal(dlg_reg_refresh_ms(120), 60000);
	assert_int_equal(dlg_reg_refresh_ms(1), 1000);
	assert_int_equal(dlg_reg_refresh_ms(0), 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(uac_dialog_from_2xx), cmocka_unit_test(uac_early_then_confirmed),
	        cmocka_unit_test(uas_dialog_and_cseq), cmocka_unit_test(strict_route),
	        cmocka_unit_test(target_refresh),      cmocka_unit_test(rtx_schedule),
	        cmocka_unit_test(digest_client),       cmocka_unit_test(digest_md5_only),
	        cmocka_unit_test(register_refresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
