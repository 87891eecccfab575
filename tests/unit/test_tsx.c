/*
 * test_tsx.c — the transaction layer (src/transaction, RFC 3261 §17 and
 * RFC 6026), driven on one thread with a fake clock (tsx_layer_tick at
 * chosen times, every 10 ms) and a fake send that records every message
 * the layer sends, which the tests parse to check.
 *
 * Every transition of Figures 5-8 and of RFC 6026's Accepted states is
 * walked over UDP and TCP, with exact retransmission times; then matching
 * (sent-by, methods, CANCEL, RFC 2543 rules, strays), transport errors,
 * the end reports, and 10,000 idle transactions. test_tsx_threads.c has
 * the multi-threaded smoke test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <arpa/inet.h>

#include <cmocka.h>

#include "libsip/build.h"
#include "libsip/hdr.h"
#include "libsip/tsx.h"
#include "tsx_util.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_SENT 512
#define MAX_EV 512
#define MAX_ST 64
#define STEP_MS 10

/* ---- the harness ------------------------------------------------------------- */

struct sent {
	char *buf;
	size_t len;
	struct tsx_peer to;
	uint64_t at;
};

enum ev_kind { EV_RESP, EV_FAIL, EV_END, EV_REQUEST, EV_ACK, EV_STRAY, EV_DONE };

struct ev {
	enum ev_kind kind;
	int status; /* response status, failure status, or server_done reason */
	struct tsx *t;
	const void *arg;
	uint64_t at;
};

struct h {
	struct tsx_layer *l;
	struct sip_arena *a; /* every message a test makes or parses */
	uint64_t now;
	struct sent sent[MAX_SENT];
	size_t nsent, nsent_total;
	bool keep_sent; /* false: only count (the 10,000-transaction test) */
	struct ev ev[MAX_EV];
	size_t nev;
	size_t nkind[EV_DONE + 1]; /* events of each kind, past MAX_EV too */
	int send_err;              /* what send returns */
	int auto_status;           /* the request callback answers at once with it */
	struct tsx *st[MAX_ST];    /* server transactions seen, referenced */
	size_t nst;
	bool in_request;        /* the request callback is running */
	size_t done_in_request; /* server_done while it was: must stay 0 */
};

static struct h *H;

static void record(enum ev_kind kind, int status, struct tsx *t, const void *arg)
{
	H->nkind[kind]++;
	if (H->nev < MAX_EV)
		H->ev[H->nev++] = (struct ev){kind, status, t, arg, H->now};
}

static int on_send(void *arg, const struct tsx_peer *to, const char *buf, size_t len)
{
	(void)arg;
	H->nsent_total++;
	if (H->keep_sent && H->nsent < MAX_SENT) {
		struct sent *s = &H->sent[H->nsent++];

		s->buf = malloc(len);
		memcpy(s->buf, buf, len);
		s->len = len;
		s->to = *to;
		s->at = H->now;
	}
	return H->send_err;
}

static int answer(struct tsx *st, int status);

static void on_request(void *arg, struct tsx *st, const struct sip_msg *req,
                       const struct tsx_peer *from)
{
	(void)arg;
	(void)from;
	record(EV_REQUEST, sip_msg_method(req), st, NULL);
	if (H->nst < MAX_ST) {
		tsx_ref(st);
		H->st[H->nst++] = st;
	}
	H->in_request = true;
	if (H->auto_status)
		answer(st, H->auto_status);
	H->in_request = false;
}

static void on_ack(void *arg, const struct sip_msg *ack, const struct tsx_peer *from)
{
	(void)arg;
	(void)from;
	record(EV_ACK, (int)sip_msg_cseq(ack)->num, NULL, NULL);
}

static void on_stray(void *arg, const struct sip_msg *resp, const struct tsx_peer *from)
{
	(void)arg;
	(void)from;
	record(EV_STRAY, sip_msg_status(resp), NULL, NULL);
}

static void on_done(void *arg, struct tsx *st, int reason)
{
	(void)arg;
	H->done_in_request += H->in_request;
	record(EV_DONE, reason, st, NULL);
}

/* The client callback: arg is a tag telling transactions apart. */
static void on_resp(struct tsx *ct, const struct sip_msg *resp, int status, void *arg)
{
	record(resp ? EV_RESP : status ? EV_FAIL : EV_END, status, ct, arg);
}

static const struct tsx_ops ops = {
        .send = on_send,
        .request = on_request,
        .ack = on_ack,
        .stray_response = on_stray,
        .server_done = on_done,
};

static int setup(void **state)
{
	H = calloc(1, sizeof(*H));
	if (!H || sip_arena_new(&H->a, 64u << 20) < 0 || tsx_layer_new(&H->l, NULL, &ops, H) < 0)
		return -1;
	H->keep_sent = true;
	*state = H;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	/* Layer first: references held past it only take tsx_unref(). */
	tsx_layer_free(H->l);
	for (size_t i = 0; i < H->nst; i++)
		tsx_unref(H->st[i]);
	for (size_t i = 0; i < H->nsent; i++)
		free(H->sent[i].buf);
	sip_arena_free(H->a);
	free(H);
	return 0;
}

/* Advances the fake clock to t, ticking every STEP_MS like a worker. */
static void run_to(uint64_t t)
{
	while (H->now < t) {
		H->now = H->now + STEP_MS < t ? H->now + STEP_MS : t;
		tsx_layer_tick(H->l, 0, 1, H->now);
	}
}

/* ---- messages ----------------------------------------------------------------------- */

/* A request; unset fields take the defaults in req(). */
struct rq {
	const char *method, *branch, *sent_by, *ruri, *from_tag, *to_tag, *call_id;
	const char *cseq_method, *extra;
	unsigned cseq;
};

#define RQ(...) (&(struct rq){__VA_ARGS__})

static char *arena_text(size_t cap)
{
	char *p = sip_arena_alloc(H->a, cap);

	assert_non_null(p);
	return p;
}

static char *req(const struct rq *r)
{
	char *p = arena_text(2048);
	const char *method = r->method ? r->method : "INVITE";

	snprintf(p, 2048,
	         "%s %s SIP/2.0\r\n"
	         "Via: SIP/2.0/UDP %s;branch=%s\r\n"
	         "Max-Forwards: 70\r\n"
	         "From: Alice <sip:alice@example.com>;tag=%s\r\n"
	         "To: Bob <sip:bob@example.com>%s%s\r\n"
	         "Call-ID: %s\r\n"
	         "CSeq: %u %s\r\n"
	         "%s"
	         "Content-Length: 0\r\n\r\n",
	         method, r->ruri ? r->ruri : "sip:bob@example.com",
	         r->sent_by ? r->sent_by : "192.0.2.1:5060", r->branch ? r->branch : "z9hG4bKb1",
	         r->from_tag ? r->from_tag : "f1", r->to_tag ? ";tag=" : "",
	         r->to_tag ? r->to_tag : "", r->call_id ? r->call_id : "c1@example.com",
	         r->cseq ? r->cseq : 1, r->cseq_method ? r->cseq_method : method,
	         r->extra ? r->extra : "");
	return p;
}

static struct sip_msg *parse(const char *buf, size_t len)
{
	struct sip_msg *m = NULL;
	struct sip_parse_err perr;

	if (sip_msg_parse(&m, H->a, buf, len, SIP_PARSE_COPY, &perr) < 0)
		fail_msg("does not parse: %s (%.*s)", sip_err_name(perr.err), (int)len, buf);
	return m;
}

/* A response to the request in buf (§8.2.6.2), with to_tag added. */
static char *resp_to(const char *buf, size_t len, int status, const char *to_tag)
{
	struct sip_msg *rq = parse(buf, len);
	char *p = arena_text(2048);
	struct sip_wbuf w;
	int n;

	sip_wbuf_init(&w, p, 2047);
	sip_build_response(&w, rq, status, SIP_PL_NULL, sip_pl_cstr(to_tag));
	assert_true((n = sip_build_finish(&w, SIP_PL_NULL, SIP_PL_NULL)) > 0);
	p[n] = '\0';
	return p;
}

static const struct sip_msg *inject(const char *text, const struct tsx_peer *from)
{
	struct sip_msg *m = parse(text, strlen(text));

	tsx_layer_recv(H->l, m, from);
	return m;
}

/* The TU's response on a server transaction (To tag "s1"). */
static size_t build_answer(struct tsx *st, int status, char *buf, size_t cap)
{
	struct sip_wbuf w;
	int n;

	sip_wbuf_init(&w, buf, cap);
	sip_build_response(&w, tsx_request(st), status, SIP_PL_NULL, SIP_PL("s1"));
	n = sip_build_finish(&w, SIP_PL_NULL, SIP_PL_NULL);
	assert_true(n > 0);
	return (size_t)n;
}

static int answer(struct tsx *st, int status)
{
	char buf[2048];
	size_t n = build_answer(st, status, buf, sizeof(buf));

	return tsx_respond(st, status, buf, n);
}

static struct sip_msg *sent_msg(size_t i)
{
	assert_true(i < H->nsent);
	return parse(H->sent[i].buf, H->sent[i].len);
}

/* True when sent message i starts with prefix ("INVITE ", "SIP/2.0 100"). */
static bool sent_is(size_t i, const char *prefix)
{
	size_t n = strlen(prefix);

	return H->sent[i].len >= n && memcmp(H->sent[i].buf, prefix, n) == 0;
}

static size_t count_sent(const char *prefix)
{
	size_t n = 0;

	for (size_t i = 0; i < H->nsent; i++)
		n += sent_is(i, prefix);
	return n;
}

/* The times of the messages sent that start with prefix. */
static size_t sent_times(const char *prefix, uint64_t *at, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < H->nsent; i++)
		if (sent_is(i, prefix) && n < cap)
			at[n++] = H->sent[i].at;
	return n;
}

static void assert_times_at(const char *prefix, const uint64_t *want, size_t nwant,
                            const char *file, int line)
{
	uint64_t got[MAX_SENT];
	size_t n = sent_times(prefix, got, MAX_SENT);

	if (n != nwant)
		fail_msg("%s:%d: %zu '%s' sent, want %zu", file, line, n, prefix, nwant);
	for (size_t i = 0; i < n; i++)
		if (got[i] != want[i])
			fail_msg("%s:%d: '%s' #%zu at %llu, want %llu", file, line, prefix, i,
			         (unsigned long long)got[i], (unsigned long long)want[i]);
}

#define assert_times(prefix, ...)                                                                  \
	do {                                                                                       \
		const uint64_t want_[] = {__VA_ARGS__};                                            \
		assert_times_at(prefix, want_, N_ELEMS(want_), __FILE__, __LINE__);                \
	} while (0)

static size_t count_ev(enum ev_kind kind)
{
	return H->nkind[kind];
}

/* The n-th event of this kind (0-based), or a failed test. */
static const struct ev *ev_nth(enum ev_kind kind, size_t n)
{
	for (size_t i = 0; i < H->nev; i++)
		if (H->ev[i].kind == kind && n-- == 0)
			return &H->ev[i];
	fail_msg("no event %d #%zu", kind, n);
	return NULL;
}

static const struct ev *last_ev(void)
{
	assert_true(H->nev > 0);
	return &H->ev[H->nev - 1];
}

static bool pl_is(struct sip_pl pl, const char *s)
{
	return pl.p && sip_pl_eq(pl, sip_pl_cstr(s));
}

static struct sip_pl hdr_value(const struct sip_msg *m, enum sip_hdr_id id)
{
	const struct sip_hdr *h = sip_msg_hdr(m, id);

	return h ? h->value : SIP_PL_NULL;
}

/* Starts a client transaction for text to p; returns it (referenced). */
static struct tsx *client(const char *text, const struct tsx_peer *p, const void *tag)
{
	struct tsx *ct = NULL;

	assert_int_equal(tsx_client_new(H->l, &ct, text, strlen(text), p, on_resp, (void *)tag), 0);
	assert_non_null(ct);
	return ct;
}

static const char TAG_INV[] = "invite", TAG_CANCEL[] = "cancel", TAG_OPT[] = "options";

#define ROUTES                                                                                     \
	"Route: <sip:p1.example.com;lr>\r\n"                                                       \
	"Route: <sip:p2.example.com;lr>, <sip:p3.example.com;lr>\r\n"

/* Injects a response with this status to client request text. */
static void reply(const char *text, int status, const char *to_tag, const struct tsx_peer *p)
{
	inject(resp_to(text, strlen(text), status, to_tag), p);
}

/* ---- INVITE client: Figure 5, RFC 6026 §7.2 --------------------------------------- */

static void test_ict_udp_timer_b(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	struct tsx *ct = client(req(RQ(0)), &p, TAG_INV);

	(void)state;
	assert_int_equal(tsx_kind(ct), TSX_CLIENT_INVITE);
	assert_int_equal(tsx_state(ct), TSX_CALLING);
	assert_int_equal(tsx_layer_count(H->l), 1);
	assert_int_equal(H->sent[0].to.proto, TP_UDP);
	run_to(31990);
	assert_int_equal(count_ev(EV_FAIL), 0);
	run_to(40000);
	/* Timer A doubles from T1 with no cap; timer B = 64*T1. */
	assert_times("INVITE ", 0, 500, 1500, 3500, 7500, 15500, 31500);
	assert_int_equal(count_ev(EV_FAIL), 1);
	assert_int_equal(ev_nth(EV_FAIL, 0)->status, 408);
	assert_int_equal(ev_nth(EV_FAIL, 0)->at, 32000);
	assert_ptr_equal(ev_nth(EV_FAIL, 0)->arg, TAG_INV);
	assert_int_equal(last_ev()->kind, EV_END);
	assert_int_equal(count_ev(EV_END), 1);
	assert_int_equal(tsx_state(ct), TSX_TERMINATED);
	assert_int_equal(tsx_layer_count(H->l), 0);
	tsx_unref(ct);
}

static void test_ict_tcp_timer_b(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_TCP);
	struct tsx *ct = client(req(RQ(0)), &p, TAG_INV);

	(void)state;
	run_to(40000);
	assert_times("INVITE ", 0); /* reliable: no timer A */
	assert_int_equal(H->sent[0].to.conn_id, 7);
	assert_int_equal(ev_nth(EV_FAIL, 0)->status, 408);
	assert_int_equal(ev_nth(EV_FAIL, 0)->at, 32000);
	assert_int_equal(last_ev()->kind, EV_END);
	assert_int_equal(tsx_layer_count(H->l), 0);
	tsx_unref(ct);
}

/* The ACK of §17.1.1.3 for sent message i, answering inv's response whose
 * To carries to_tag. */
static void check_ack(size_t i, const char *inv, const char *to_tag)
{
	const struct sip_msg *a = sent_msg(i), *m = parse(inv, strlen(inv));
	size_t pos = 0;
	const struct sip_hdr *h;
	const char *route[] = {"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>",
	                       "<sip:p3.example.com;lr>"};

	assert_int_equal(sip_msg_method(a), SIP_METHOD_ACK);
	assert_true(pl_is(sip_msg_ruri_pl(a), "sip:bob@example.com"));
	assert_int_equal(sip_msg_hdr_num(a, SIP_HDR_VIA), 1);
	assert_true(sip_pl_eq(hdr_value(a, SIP_HDR_VIA), hdr_value(m, SIP_HDR_VIA)));
	for (size_t k = 0; k < N_ELEMS(route); k++) {
		assert_non_null(h = sip_msg_hdr_next(a, SIP_HDR_ROUTE, &pos));
		assert_true(pl_is(h->value, route[k]));
	}
	assert_null(sip_msg_hdr_next(a, SIP_HDR_ROUTE, &pos));
	assert_int_equal(sip_msg_max_forwards(a), 70);
	assert_true(sip_pl_eq(hdr_value(a, SIP_HDR_FROM), hdr_value(m, SIP_HDR_FROM)));
	assert_true(pl_is(sip_msg_to(a)->tag, to_tag));
	assert_true(sip_pl_eq(sip_msg_call_id(a), sip_msg_call_id(m)));
	assert_int_equal(sip_msg_cseq(a)->num, sip_msg_cseq(m)->num);
	assert_true(pl_is(sip_msg_cseq(a)->method, "ACK"));
	assert_int_equal(sip_msg_content_length(a), 0);
}

static void test_ict_udp_non2xx(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *inv = req(RQ(.extra = ROUTES));
	struct tsx *ct = client(inv, &p, TAG_INV);

	(void)state;
	run_to(600);
	reply(inv, 180, "t9", &p);
	assert_int_equal(ev_nth(EV_RESP, 0)->status, 180);
	assert_int_equal(tsx_state(ct), TSX_PROCEEDING);
	run_to(20000); /* Proceeding: A and B are stopped */
	assert_times("INVITE ", 0, 500);
	reply(inv, 486, "t9", &p);
	assert_int_equal(ev_nth(EV_RESP, 1)->status, 486);
	assert_int_equal(tsx_state(ct), TSX_COMPLETED);
	assert_times("ACK ", 20000);
	check_ack(H->nsent - 1, inv, "t9");
	run_to(25000);
	reply(inv, 486, "t9", &p); /* a retransmission: ACK again, not to the TU */
	assert_times("ACK ", 20000, 25000);
	assert_int_equal(count_ev(EV_RESP), 2);
	run_to(51990);
	assert_int_equal(count_ev(EV_END), 0);
	run_to(52000); /* timer D: 32 s */
	assert_int_equal(last_ev()->kind, EV_END);
	assert_int_equal(tsx_layer_count(H->l), 0);
	tsx_unref(ct);
}

static void test_ict_tcp_non2xx(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_TCP);
	const char *inv = req(RQ(.extra = ROUTES));
	struct tsx *ct = client(inv, &p, TAG_INV);

	(void)state;
	run_to(100);
	reply(inv, 603, "t9", &p); /* straight from Calling */
	assert_times("ACK ", 100);
	check_ack(H->nsent - 1, inv, "t9");
	assert_int_equal(ev_nth(EV_RESP, 0)->status, 603);
	assert_int_equal(last_ev()->kind, EV_END); /* timer D is 0 */
	assert_int_equal(tsx_state(ct), TSX_TERMINATED);
	assert_int_equal(tsx_layer_count(H->l), 0);
	reply(inv, 603, "t9", &p); /* now nobody's */
	assert_int_equal(last_ev()->kind, EV_STRAY);
	tsx_unref(ct);
}

static void test_ict_2xx_accepted(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *inv = req(RQ(0));
	struct tsx *ct = client(inv, &p, TAG_INV);

	(void)state;
	run_to(100);
	reply(inv, 180, "t1", &p);
	run_to(1000);
	reply(inv, 200, "t1", &p);
	assert_int_equal(tsx_state(ct), TSX_ACCEPTED);
	assert_int_equal(ev_nth(EV_RESP, 1)->status, 200);
	assert_int_equal(H->nsent, 1); /* no ACK: the TU acknowledges a 2xx */
	run_to(2000);
	reply(inv, 200, "t1", &p); /* retransmission */
	reply(inv, 200, "t2", &p); /* another fork */
	reply(inv, 183, "t3", &p); /* ignored */
	reply(inv, 486, "t3", &p); /* ignored */
	assert_int_equal(count_ev(EV_RESP), 4);
	assert_int_equal(ev_nth(EV_RESP, 3)->status, 200);
	run_to(32990);
	assert_int_equal(count_ev(EV_END), 0);
	run_to(33000); /* timer M: 64*T1 after the 2xx */
	assert_int_equal(last_ev()->kind, EV_END);
	assert_int_equal(tsx_layer_count(H->l), 0);
	reply(inv, 200, "t1", &p); /* a late 2xx is a stray (a proxy forwards it) */
	assert_int_equal(last_ev()->kind, EV_STRAY);
	assert_int_equal(last_ev()->status, 200);
	tsx_unref(ct);
}

static void test_ict_tcp_2xx_from_calling(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_TCP);
	const char *inv = req(RQ(0));
	struct tsx *ct = client(inv, &p, TAG_INV);

	(void)state;
	reply(inv, 200, "t1", &p);
	assert_int_equal(tsx_state(ct), TSX_ACCEPTED);
	run_to(31990);
	assert_int_equal(count_ev(EV_END), 0); /* M runs on reliable transports too */
	run_to(32000);
	assert_int_equal(last_ev()->kind, EV_END);
	assert_int_equal(tsx_layer_count(H->l), 0);
	tsx_unref(ct);
}

static void test_ict_transport_errors(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *inv2 = req(RQ(.branch = "z9hG4bKb2")), *inv3 = req(RQ(.branch = "z9hG4bKb3"));
	struct tsx *ct;

	(void)state;
	H->send_err = -5; /* the first send fails: reported through cb */
	ct = client(req(RQ(0)), &p, TAG_INV);
	assert_int_equal(ev_nth(EV_FAIL, 0)->status, 503);
	assert_int_equal(last_ev()->kind, EV_END);
	assert_int_equal(tsx_state(ct), TSX_TERMINATED);
	tsx_unref(ct);

	H->send_err = 0; /* a retransmission fails */
	ct = client(inv2, &p, TAG_INV);
	run_to(400);
	H->send_err = -5;
	run_to(600);
	assert_int_equal(ev_nth(EV_FAIL, 1)->status, 503);
	assert_int_equal(ev_nth(EV_FAIL, 1)->at, 500);
	assert_int_equal(last_ev()->kind, EV_END);
	tsx_unref(ct);

	H->send_err = 0; /* the ACK fails in Completed */
	ct = client(inv3, &p, TAG_INV);
	H->send_err = -5;
	reply(inv3, 486, "t1", &p);
	assert_int_equal(H->ev[H->nev - 3].kind, EV_RESP);
	assert_int_equal(H->ev[H->nev - 2].kind, EV_FAIL);
	assert_int_equal(H->ev[H->nev - 2].status, 503);
	assert_int_equal(last_ev()->kind, EV_END);
	assert_int_equal(tsx_layer_count(H->l), 0);
	tsx_unref(ct);
}

/* The CANCEL of §9.1 for sent message i, cancelling inv. */
static void check_cancel(size_t i, const char *inv)
{
	const struct sip_msg *c = sent_msg(i), *m = parse(inv, strlen(inv));

	assert_int_equal(sip_msg_method(c), SIP_METHOD_CANCEL);
	assert_true(sip_pl_eq(sip_msg_ruri_pl(c), sip_msg_ruri_pl(m)));
	assert_int_equal(sip_msg_hdr_num(c, SIP_HDR_VIA), 1);
	assert_true(sip_pl_eq(hdr_value(c, SIP_HDR_VIA), hdr_value(m, SIP_HDR_VIA)));
	assert_int_equal(sip_msg_hdr_num(c, SIP_HDR_ROUTE), 3);
	assert_true(sip_pl_eq(hdr_value(c, SIP_HDR_FROM), hdr_value(m, SIP_HDR_FROM)));
	assert_true(sip_pl_eq(hdr_value(c, SIP_HDR_TO), hdr_value(m, SIP_HDR_TO)));
	assert_true(sip_pl_eq(sip_msg_call_id(c), sip_msg_call_id(m)));
	assert_int_equal(sip_msg_cseq(c)->num, sip_msg_cseq(m)->num);
	assert_true(pl_is(sip_msg_cseq(c)->method, "CANCEL"));
	assert_int_equal(sip_msg_max_forwards(c), 70);
	assert_int_equal(sip_msg_content_length(c), 0);
}

static void test_ict_cancel_held_until_provisional(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *inv = req(RQ(.extra = ROUTES)), *cancel;
	struct tsx *ct = client(inv, &p, TAG_INV);

	(void)state;
	assert_int_equal(tsx_client_cancel(ct, on_resp, (void *)TAG_CANCEL), 0);
	run_to(100);
	assert_int_equal(count_sent("CANCEL "), 0); /* §9.1: not before a provisional */
	reply(inv, 180, "t1", &p);
	assert_times("CANCEL ", 100);
	check_cancel(H->nsent - 1, inv);
	assert_int_equal(tsx_layer_count(H->l), 2);
	cancel = H->sent[H->nsent - 1].buf;
	inject(resp_to(cancel, H->sent[H->nsent - 1].len, 200, "t1"), &p);
	assert_ptr_equal(last_ev()->arg, TAG_CANCEL); /* CSeq CANCEL: the CANCEL's */
	assert_int_equal(last_ev()->status, 200);
	reply(inv, 487, "t1", &p);
	assert_ptr_equal(last_ev()->arg, TAG_INV);
	assert_int_equal(last_ev()->status, 487);
	assert_times("ACK ", 100);
	assert_int_equal(tsx_client_cancel(ct, on_resp, NULL), SIP_ERR_NOT_FOUND);
	run_to(40000);
	assert_int_equal(count_ev(EV_END), 2);
	assert_int_equal(tsx_layer_count(H->l), 0);
	tsx_unref(ct);
}

static void test_ict_cancel_in_proceeding(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_TCP);
	const char *inv = req(RQ(.extra = ROUTES)), *opt = req(RQ(.method = "OPTIONS"));
	struct tsx *ct = client(inv, &p, TAG_INV), *ot = client(opt, &p, TAG_OPT);

	(void)state;
	assert_int_equal(tsx_client_cancel(ot, on_resp, NULL), SIP_ERR_NOT_FOUND);
	reply(inv, 183, "t1", &p);
	assert_int_equal(tsx_client_cancel(ct, on_resp, (void *)TAG_CANCEL), 0);
	assert_times("CANCEL ", 0);
	check_cancel(H->nsent - 1, inv);
	/* The same branch: a second CANCEL while the first lives is refused. */
	assert_int_equal(tsx_client_cancel(ct, on_resp, NULL), SIP_ERR_BRANCH);
	tsx_unref(ct);
	tsx_unref(ot);
}

static void test_ict_cancel_dropped_by_final(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *inv = req(RQ(0));
	struct tsx *ct = client(inv, &p, TAG_INV);

	(void)state;
	assert_int_equal(tsx_client_cancel(ct, on_resp, (void *)TAG_CANCEL), 0);
	reply(inv, 486, "t1", &p);
	reply(inv, 180, "t1", &p); /* too late to matter */
	run_to(40000);
	assert_int_equal(count_sent("CANCEL "), 0);
	assert_int_equal(count_ev(EV_END), 1);
	assert_ptr_equal(last_ev()->arg, TAG_INV);
	assert_int_equal(tsx_layer_count(H->l), 0);
	tsx_unref(ct);
}

/* ---- non-INVITE client: Figure 6 ---------------------------------------------------- */

static void test_nict_udp_timer_f(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	struct tsx *ct = client(req(RQ(.method = "OPTIONS")), &p, TAG_OPT);

	(void)state;
	assert_int_equal(tsx_kind(ct), TSX_CLIENT);
	assert_int_equal(tsx_state(ct), TSX_TRYING);
	run_to(40000);
	/* Timer E doubles from T1 up to T2, timer F = 64*T1. */
	assert_times("OPTIONS ", 0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500,
	             31500);
	assert_int_equal(ev_nth(EV_FAIL, 0)->status, 408);
	assert_int_equal(ev_nth(EV_FAIL, 0)->at, 32000);
	assert_int_equal(last_ev()->kind, EV_END);
	assert_int_equal(tsx_layer_count(H->l), 0);
	tsx_unref(ct);
}

static void test_nict_proceeding_every_t2(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *opt = req(RQ(.method = "OPTIONS"));
	struct tsx *ct = client(opt, &p, TAG_OPT);

	(void)state;
	run_to(600);
	reply(opt, 100, NULL, &p);
	assert_int_equal(tsx_state(ct), TSX_PROCEEDING);
	assert_int_equal(ev_nth(EV_RESP, 0)->status, 100);
	run_to(40000);
	/* E armed in Trying fires at 1500, then every T2 (§17.1.2.2). */
	assert_times("OPTIONS ", 0, 500, 1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500);
	assert_int_equal(ev_nth(EV_FAIL, 0)->status, 408);
	assert_int_equal(ev_nth(EV_FAIL, 0)->at, 32000);
	assert_int_equal(tsx_layer_count(H->l), 0);
	tsx_unref(ct);
}

static void test_nict_udp_final_timer_k(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *opt = req(RQ(.method = "OPTIONS"));
	struct tsx *ct = client(opt, &p, TAG_OPT);

	(void)state;
	run_to(700);
	reply(opt, 100, NULL, &p);
	reply(opt, 200, "t1", &p);
	assert_int_equal(tsx_state(ct), TSX_COMPLETED);
	run_to(800);
	reply(opt, 200, "t1", &p); /* absorbed */
	assert_int_equal(count_ev(EV_RESP), 2);
	run_to(5690);
	assert_int_equal(count_ev(EV_END), 0);
	run_to(5700); /* timer K = T4 */
	assert_int_equal(last_ev()->kind, EV_END);
	assert_times("OPTIONS ", 0, 500);
	assert_int_equal(tsx_layer_count(H->l), 0);
	tsx_unref(ct);
}

static void test_nict_tcp(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_TCP);
	const char *opt = req(RQ(.method = "OPTIONS"));
	const char *bye = req(RQ(.method = "BYE", .branch = "z9hG4bKbye"));
	struct tsx *ct = client(opt, &p, TAG_OPT), *bt = client(bye, &p, TAG_OPT);

	(void)state;
	run_to(100);
	reply(bye, 200, "t1", &p); /* K = 0: ends at once */
	assert_int_equal(last_ev()->kind, EV_END);
	assert_ptr_equal(last_ev()->t, bt);
	run_to(40000);
	assert_times("OPTIONS ", 0); /* no timer E */
	assert_int_equal(ev_nth(EV_FAIL, 0)->status, 408);
	assert_int_equal(ev_nth(EV_FAIL, 0)->at, 32000);
	assert_int_equal(tsx_layer_count(H->l), 0);
	tsx_unref(ct);
	tsx_unref(bt);
}

static void test_nict_transport_error(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *opt = req(RQ(.method = "OPTIONS"));
	struct tsx *ct = client(opt, &p, TAG_OPT);

	(void)state;
	reply(opt, 100, NULL, &p);
	H->send_err = -1; /* a retransmission in Proceeding */
	run_to(500);
	assert_int_equal(ev_nth(EV_FAIL, 0)->status, 503);
	assert_int_equal(last_ev()->kind, EV_END);
	assert_int_equal(tsx_layer_count(H->l), 0);
	tsx_unref(ct);
}

/* ---- INVITE server: Figure 7, RFC 6026 §7.1 ------------------------------------------ */

/* The n-th server transaction the TU was given. */
static struct tsx *st_nth(size_t n)
{
	assert_true(n < H->nst);
	return H->st[n];
}

static void test_ist_udp_trying_g_h(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *inv = req(RQ(.extra = "Timestamp: 54\r\n"));
	const struct sip_msg *t100;
	struct tsx *st;

	(void)state;
	inject(inv, &p);
	assert_int_equal(ev_nth(EV_REQUEST, 0)->status, SIP_METHOD_INVITE);
	st = st_nth(0);
	assert_int_equal(tsx_kind(st), TSX_SERVER_INVITE);
	assert_int_equal(tsx_state(st), TSX_PROCEEDING);
	assert_int_equal(sip_msg_method(tsx_request(st)), SIP_METHOD_INVITE);
	run_to(190);
	assert_int_equal(H->nsent, 0);
	run_to(200); /* §17.2.1: the TU said nothing for 200 ms */
	assert_times("SIP/2.0 100 ", 200);
	t100 = sent_msg(0);
	assert_true(sip_pl_eq(hdr_value(t100, SIP_HDR_VIA),
	                      SIP_PL("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKb1")));
	assert_null(sip_msg_to(t100)->tag.p);
	assert_true(pl_is(sip_msg_cseq(t100)->method, "INVITE"));
	assert_true(pl_is(hdr_value(t100, SIP_HDR_TIMESTAMP), "54"));
	assert_memory_equal(&H->sent[0].to.addr.ss, &p.addr.ss, p.addr.len);
	run_to(500);
	inject(inv, &p); /* a retransmission gets the last response */
	assert_times("SIP/2.0 100 ", 200, 500);
	assert_int_equal(answer(st, 180), 0);
	inject(inv, &p);
	assert_times("SIP/2.0 180 ", 500, 500);
	assert_int_equal(count_ev(EV_REQUEST), 1);
	run_to(1000);
	assert_int_equal(answer(st, 486), 0);
	assert_int_equal(tsx_state(st), TSX_COMPLETED);
	assert_int_equal(answer(st, 500), SIP_ERR_NOT_FOUND);
	run_to(32990);
	assert_int_equal(count_ev(EV_DONE), 0);
	run_to(40000);
	/* Timer G from T1, doubling up to T2; timer H = 64*T1. */
	assert_times("SIP/2.0 486 ", 1000, 1500, 2500, 4500, 8500, 12500, 16500, 20500, 24500,
	             28500, 32500);
	assert_int_equal(last_ev()->kind, EV_DONE);
	assert_int_equal(last_ev()->status, 408);
	assert_int_equal(last_ev()->at, 33000);
	assert_int_equal(tsx_state(st), TSX_TERMINATED);
	assert_int_equal(answer(st, 486), SIP_ERR_NOT_FOUND);
	assert_int_equal(tsx_layer_count(H->l), 0);
}

static void test_ist_udp_ack_confirmed(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *inv = req(RQ(0)), *ack = req(RQ(.method = "ACK", .to_tag = "s1"));
	struct tsx *st;

	(void)state;
	inject(inv, &p);
	st = st_nth(0);
	assert_int_equal(answer(st, 100), 0);
	run_to(1000);
	assert_times("SIP/2.0 100 ", 0); /* the TU's: none of ours */
	assert_int_equal(answer(st, 486), 0);
	run_to(1600);
	inject(ack, &p);
	assert_int_equal(tsx_state(st), TSX_CONFIRMED);
	inject(ack, &p); /* absorbed */
	inject(inv, &p); /* absorbed */
	assert_int_equal(count_ev(EV_ACK), 0);
	run_to(6590);
	assert_int_equal(count_ev(EV_DONE), 0);
	run_to(40000);
	assert_times("SIP/2.0 486 ", 1000, 1500);
	assert_int_equal(ev_nth(EV_DONE, 0)->status, 0);
	assert_int_equal(ev_nth(EV_DONE, 0)->at, 6600); /* timer I = T4 */
	assert_int_equal(tsx_layer_count(H->l), 0);
}

static void test_ist_tcp(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_TCP);
	const char *inv = req(RQ(0)), *ack = req(RQ(.method = "ACK", .to_tag = "s1"));
	const char *inv2 = req(RQ(.branch = "z9hG4bKb2"));

	(void)state;
	inject(inv, &p);
	run_to(100);
	assert_int_equal(answer(st_nth(0), 486), 0);
	run_to(1000);
	assert_times("SIP/2.0 486 ", 100); /* no timer G */
	assert_int_equal(H->sent[0].to.conn_id, 7);
	inject(ack, &p); /* Confirmed, and timer I is 0 */
	assert_int_equal(last_ev()->kind, EV_DONE);
	assert_int_equal(last_ev()->status, 0);
	assert_int_equal(tsx_state(st_nth(0)), TSX_TERMINATED);

	inject(inv2, &p);
	assert_int_equal(answer(st_nth(1), 500), 0);
	run_to(32990);
	assert_int_equal(count_ev(EV_DONE), 1);
	run_to(33000); /* timer H runs on reliable transports too */
	assert_int_equal(last_ev()->kind, EV_DONE);
	assert_int_equal(last_ev()->status, 408);
	assert_int_equal(tsx_layer_count(H->l), 0);
}

static void test_ist_2xx_accepted(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *inv = req(RQ(0));
	const char *ack_own = req(RQ(.method = "ACK", .to_tag = "s1"));
	const char *ack_new = req(RQ(.method = "ACK", .to_tag = "s1", .branch = "z9hG4bKack"));
	struct tsx *st;

	(void)state;
	inject(inv, &p);
	st = st_nth(0);
	assert_int_equal(answer(st, 180), 0);
	run_to(300);
	assert_int_equal(answer(st, 200), 0);
	assert_int_equal(tsx_state(st), TSX_ACCEPTED);
	inject(inv, &p); /* RFC 6026: absorbed, not answered */
	assert_int_equal(H->nsent, 2);
	run_to(800);
	assert_int_equal(answer(st, 200), 0); /* the TU's 2xx retransmission passes */
	assert_int_equal(answer(st, 486), SIP_ERR_NOT_FOUND);
	assert_int_equal(answer(st, 180), SIP_ERR_NOT_FOUND);
	assert_times("SIP/2.0 200 ", 300, 800);
	inject(ack_new, &p); /* §17.2.3: the ACK for a 2xx is the TU's */
	assert_int_equal(count_ev(EV_ACK), 1);
	inject(ack_own, &p); /* one that matches: Accepted passes it up */
	assert_int_equal(count_ev(EV_ACK), 2);
	run_to(32290);
	assert_int_equal(count_ev(EV_DONE), 0);
	run_to(32300); /* timer L */
	assert_int_equal(last_ev()->kind, EV_DONE);
	assert_int_equal(last_ev()->status, 0);
	assert_int_equal(tsx_layer_count(H->l), 0);
	assert_int_equal(count_ev(EV_REQUEST), 1);
}

static void test_ist_transport_errors(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *inv1 = req(RQ(0)), *inv2 = req(RQ(.branch = "z9hG4bKb2"));
	const char *inv3 = req(RQ(.branch = "z9hG4bKb3")), *inv4 = req(RQ(.branch = "z9hG4bKb4"));

	(void)state;
	inject(inv1, &p); /* the TU's provisional fails */
	H->send_err = -7;
	assert_int_equal(answer(st_nth(0), 180), -7);
	assert_int_equal(last_ev()->kind, EV_DONE);
	assert_int_equal(last_ev()->status, 503);
	assert_int_equal(tsx_state(st_nth(0)), TSX_TERMINATED);
	assert_int_equal(answer(st_nth(0), 180), SIP_ERR_NOT_FOUND);

	inject(inv2, &p); /* our own 100 Trying fails */
	run_to(200);
	assert_ptr_equal(last_ev()->t, st_nth(1));
	assert_int_equal(last_ev()->status, 503);

	inject(inv3, &p); /* the final response fails */
	assert_int_equal(answer(st_nth(2), 486), -7);
	assert_int_equal(last_ev()->status, 503);

	inject(inv4, &p); /* a 2xx fails: RFC 6026 keeps Accepted */
	assert_int_equal(answer(st_nth(3), 200), -7);
	assert_int_equal(tsx_state(st_nth(3)), TSX_ACCEPTED);
	H->send_err = 0;
	assert_int_equal(answer(st_nth(3), 200), 0);
	run_to(40000);
	assert_int_equal(last_ev()->status, 0);
	assert_int_equal(count_ev(EV_DONE), 4);
	assert_int_equal(tsx_layer_count(H->l), 0);
}

static void test_server_answers_inside_request(void **state)
{
	struct tsx_peer u = test_tsx_peer(TP_UDP), t = test_tsx_peer(TP_TCP);

	(void)state;
	H->auto_status = 200;
	inject(req(RQ(0)), &u);
	assert_int_equal(tsx_state(st_nth(0)), TSX_ACCEPTED);
	assert_times("SIP/2.0 200 ", 0);
	/* TCP non-INVITE: J is 0, yet server_done waits for the callback. */
	inject(req(RQ(.method = "OPTIONS", .branch = "z9hG4bKo1")), &t);
	assert_int_equal(H->ev[H->nev - 2].kind, EV_REQUEST);
	assert_int_equal(last_ev()->kind, EV_DONE);
	assert_int_equal(last_ev()->status, 0);
	assert_int_equal(H->done_in_request, 0);
	assert_int_equal(tsx_layer_count(H->l), 1);
}

/* ---- non-INVITE server: Figure 8 -------------------------------------------------------- */

static void test_nist_udp(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *opt = req(RQ(.method = "OPTIONS"));
	struct tsx *st;

	(void)state;
	inject(opt, &p);
	st = st_nth(0);
	assert_int_equal(tsx_kind(st), TSX_SERVER);
	assert_int_equal(tsx_state(st), TSX_TRYING);
	inject(opt, &p); /* Trying: absorbed */
	run_to(1000);
	assert_int_equal(H->nsent, 0);
	assert_int_equal(answer(st, 100), 0);
	assert_int_equal(tsx_state(st), TSX_PROCEEDING);
	inject(opt, &p);
	assert_times("SIP/2.0 100 ", 1000, 1000);
	run_to(2000);
	assert_int_equal(answer(st, 200), 0);
	assert_int_equal(tsx_state(st), TSX_COMPLETED);
	assert_int_equal(answer(st, 404), SIP_ERR_NOT_FOUND);
	run_to(3000);
	inject(opt, &p);
	assert_times("SIP/2.0 200 ", 2000, 3000);
	assert_int_equal(count_ev(EV_REQUEST), 1);
	run_to(33990);
	assert_int_equal(count_ev(EV_DONE), 0);
	run_to(34000); /* timer J = 64*T1 */
	assert_int_equal(last_ev()->kind, EV_DONE);
	assert_int_equal(last_ev()->status, 0);
	assert_int_equal(tsx_layer_count(H->l), 0);
}

static void test_nist_tcp(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_TCP);
	const char *opt = req(RQ(.method = "OPTIONS"));

	(void)state;
	inject(opt, &p);
	assert_int_equal(answer(st_nth(0), 200), 0);
	assert_int_equal(last_ev()->kind, EV_DONE); /* J = 0 */
	assert_int_equal(tsx_layer_count(H->l), 0);
}

static void test_nist_transport_errors(void **state)
{
	struct tsx_peer u = test_tsx_peer(TP_UDP), t = test_tsx_peer(TP_TCP);

	(void)state;
	inject(req(RQ(.method = "OPTIONS")), &u);
	inject(req(RQ(.method = "OPTIONS", .branch = "z9hG4bKb2")), &t);
	inject(req(RQ(.method = "OPTIONS", .branch = "z9hG4bKb3")), &u);
	H->send_err = -3;
	assert_int_equal(answer(st_nth(0), 200), -3);
	assert_int_equal(last_ev()->status, 503);
	/* TCP: J = 0 ended it before the send; the error still shows. */
	assert_int_equal(answer(st_nth(1), 200), -3);
	assert_int_equal(last_ev()->status, 503);
	assert_int_equal(answer(st_nth(2), 100), -3);
	assert_int_equal(last_ev()->status, 503);
	assert_int_equal(tsx_layer_count(H->l), 0);
}

/* ---- matching: §17.1.3, §17.2.3, §9.2 -------------------------------------------------- */

static void test_match_server_keys(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *inv = req(RQ(0));
	struct tsx *t;

	(void)state;
	inject(inv, &p);
	inject(req(RQ(.sent_by = "192.0.2.2:5060")), &p); /* other sent-by */
	inject(req(RQ(.sent_by = "192.0.2.1")), &p);      /* other port */
	inject(req(RQ(.method = "OPTIONS")), &p);         /* other method */
	inject(req(RQ(.method = "CANCEL")), &p);          /* CANCEL: its own */
	inject(req(RQ(.branch = "z9hG4bKB1")), &p);       /* branches are exact */
	inject(inv, &p);                                  /* the same */
	inject(req(RQ(.sent_by = "192.0.2.1:5060", .ruri = "sip:x@example.com")), &p);
	assert_int_equal(count_ev(EV_REQUEST), 6);
	assert_int_equal(tsx_layer_count(H->l), 6);
	assert_int_equal(ev_nth(EV_REQUEST, 4)->status, SIP_METHOD_CANCEL);
	inject(req(RQ(.method = "ACK", .to_tag = "s1")), &p); /* to the INVITE */
	assert_int_equal(count_ev(EV_ACK), 0);

	assert_ptr_equal(t = tsx_cancel_target(st_nth(4)), st_nth(0));
	tsx_unref(t);
	assert_null(tsx_cancel_target(st_nth(0))); /* not a CANCEL */
	assert_null(tsx_cancel_target(st_nth(3)));
	inject(req(RQ(.method = "CANCEL", .sent_by = "192.0.2.9:5060")), &p);
	assert_null(tsx_cancel_target(st_nth(6))); /* no INVITE from there */
	assert_int_equal(answer(st_nth(0), 487), 0);
	inject(req(RQ(.method = "ACK", .to_tag = "s1")), &p);
	assert_int_equal(tsx_state(st_nth(0)), TSX_CONFIRMED);
	assert_ptr_equal(t = tsx_cancel_target(st_nth(4)), st_nth(0));
	tsx_unref(t);
	run_to(40000);
	assert_null(tsx_cancel_target(st_nth(4))); /* the INVITE ended */
}

static void test_match_responses(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *opt = req(RQ(.method = "OPTIONS"));
	struct tsx *ct = client(opt, &p, TAG_OPT), *x = NULL;
	char *other;

	(void)state;
	reply(req(RQ(.method = "OPTIONS", .branch = "z9hG4bKzz")), 200, "t", &p);
	reply(req(RQ(.method = "OPTIONS", .branch = "rfc2543")), 200, "t", &p);
	reply(req(RQ(.method = "INFO")), 200, "t", &p); /* CSeq method differs */
	assert_int_equal(count_ev(EV_STRAY), 3);
	other = resp_to(opt, strlen(opt), 200, "t");
	memcpy(strstr(other, "branch=z9hG4bKb1"), "branch=z9hG4bKb2", 16);
	inject(other, &p);
	assert_int_equal(count_ev(EV_STRAY), 4);
	assert_int_equal(count_ev(EV_RESP), 0);
	reply(opt, 200, "t", &p);
	assert_int_equal(count_ev(EV_RESP), 1);

	/* What tsx_client_new refuses. */
	assert_int_equal(tsx_client_new(H->l, &x, opt, strlen(opt), &p, on_resp, NULL),
	                 SIP_ERR_BRANCH); /* in use */
	opt = req(RQ(.method = "OPTIONS", .branch = "z9hG4bK"));
	assert_int_equal(tsx_client_new(H->l, &x, opt, strlen(opt), &p, on_resp, NULL),
	                 SIP_ERR_BRANCH);
	opt = req(RQ(.method = "OPTIONS", .branch = "abc"));
	assert_int_equal(tsx_client_new(H->l, &x, opt, strlen(opt), &p, on_resp, NULL),
	                 SIP_ERR_BRANCH);
	opt = req(RQ(.method = "ACK"));
	assert_int_equal(tsx_client_new(H->l, &x, opt, strlen(opt), &p, on_resp, NULL),
	                 SIP_ERR_UNSUPPORTED);
	opt = resp_to(opt, strlen(opt), 200, "t");
	assert_int_equal(tsx_client_new(H->l, &x, opt, strlen(opt), &p, on_resp, NULL),
	                 SIP_ERR_UNSUPPORTED);
	assert_true(tsx_client_new(H->l, &x, "garbage\r\n", 9, &p, on_resp, NULL) < 0);
	assert_null(x);
	/* A client without out, and an extension method. */
	opt = req(RQ(.method = "FOO", .branch = "z9hG4bKfoo"));
	assert_int_equal(tsx_client_new(H->l, NULL, opt, strlen(opt), &p, on_resp, NULL), 0);
	reply(opt, 200, "t", &p);
	assert_int_equal(count_ev(EV_RESP), 2);
	run_to(40000);
	assert_int_equal(tsx_layer_count(H->l), 0);
	tsx_unref(ct);
}

static void test_rfc2543_matching(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *inv = req(RQ(.branch = "2543a"));
	const char *inv_f = req(RQ(.branch = "2543a", .from_tag = "f2"));
	const char *inv_r = req(RQ(.branch = "2543a", .ruri = "sip:carol@example.com"));
	struct tsx *t;

	(void)state;
	inject(inv, &p);
	inject(inv, &p); /* a retransmission: matched, answered with a 100 */
	assert_int_equal(count_ev(EV_REQUEST), 1);
	assert_times("SIP/2.0 100 ", 0);
	inject(inv_f, &p); /* another From tag: another transaction */
	inject(inv_r, &p); /* another Request-URI */
	inject(req(RQ(.branch = "2543a", .call_id = "c2@example.com")), &p);
	inject(req(RQ(.branch = "2543a", .cseq = 2)), &p);
	inject(req(RQ(.branch = "2543b")), &p); /* another top Via */
	assert_int_equal(count_ev(EV_REQUEST), 6);

	assert_int_equal(answer(st_nth(0), 486), 0);
	inject(req(RQ(.method = "ACK", .branch = "2543a", .to_tag = "zz")), &p);
	assert_int_equal(count_ev(EV_ACK), 1); /* not the To tag we sent */
	inject(req(RQ(.method = "ACK", .branch = "2543a", .to_tag = "s1")), &p);
	assert_int_equal(count_ev(EV_ACK), 1);
	assert_int_equal(tsx_state(st_nth(0)), TSX_CONFIRMED);

	inject(req(RQ(.method = "CANCEL", .branch = "2543a", .from_tag = "f2")), &p);
	assert_ptr_equal(t = tsx_cancel_target(st_nth(6)), st_nth(1));
	tsx_unref(t);
	inject(req(RQ(.method = "CANCEL", .branch = "2543a", .from_tag = "f9")), &p);
	assert_null(tsx_cancel_target(st_nth(7)));

	assert_int_equal(answer(st_nth(2), 200), 0); /* Accepted: its ACK goes up */
	inject(req(RQ(.method = "ACK", .branch = "2543a", .ruri = "sip:carol@example.com",
	              .to_tag = "s1")),
	       &p);
	assert_int_equal(count_ev(EV_ACK), 2);

	inject(req(RQ(.method = "OPTIONS", .branch = "2543o", .cseq = 5)), &p);
	inject(req(RQ(.method = "OPTIONS", .branch = "2543o", .cseq = 5)), &p);
	assert_int_equal(count_ev(EV_REQUEST), 9);
	assert_int_equal(answer(st_nth(8), 200), 0);
	inject(req(RQ(.method = "OPTIONS", .branch = "2543o", .cseq = 5)), &p);
	assert_times("SIP/2.0 200 ", 0, 0, 0);
}

/* ---- the layer ---------------------------------------------------------------------------- */

static void test_worker_partition(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	struct tsx *ct[20];
	char branch[32];
	size_t first;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(ct); i++) {
		snprintf(branch, sizeof(branch), "z9hG4bKw%zu", i);
		ct[i] = client(req(RQ(.method = "OPTIONS", .branch = branch)), &p, TAG_OPT);
	}
	tsx_layer_tick(H->l, 0, 2, 500); /* worker 0 of 2: the even shards */
	first = count_sent("OPTIONS ");
	assert_true(first > N_ELEMS(ct) && first < 2 * N_ELEMS(ct));
	assert_int_equal(tsx_layer_now(H->l), 500);
	tsx_layer_tick(H->l, 1, 2, 500); /* worker 1: the rest */
	assert_int_equal(count_sent("OPTIONS "), 2 * N_ELEMS(ct));
	for (size_t i = 0; i < N_ELEMS(ct); i++)
		tsx_unref(ct[i]);
}

static void test_free_with_live_transactions(void **state)
{
	struct tsx_peer u = test_tsx_peer(TP_UDP), t = test_tsx_peer(TP_TCP);
	struct tsx *ct = client(req(RQ(0)), &u, TAG_INV);

	(void)state;
	inject(req(RQ(.branch = "z9hG4bKs1")), &u);
	inject(req(RQ(.method = "OPTIONS", .branch = "z9hG4bKs2")), &t);
	assert_int_equal(answer(st_nth(0), 486), 0);
	assert_int_equal(tsx_layer_count(H->l), 3);
	tsx_layer_free(H->l); /* no callbacks; the references stay valid */
	H->l = NULL;
	assert_int_equal(count_ev(EV_DONE) + count_ev(EV_END), 0);
	assert_int_equal(tsx_kind(ct), TSX_CLIENT_INVITE);
	assert_non_null(tsx_request(st_nth(1)));
	tsx_unref(ct);
}

/* ---- shedding: a transaction that only waits drops its request ------------------ */

/* Lets go of the test's reference to server transaction n: the layer's
 * own is then the only one. */
static struct tsx *release(size_t n)
{
	struct tsx *st = st_nth(n);

	H->st[n] = NULL;
	tsx_unref(st);
	return st; /* still linked: valid until its timer ends it */
}

/* NIST in Completed (timer J): kept whole while someone holds it, shed
 * once only the table does; retransmissions still match by the shed key
 * and get the same 200, a request on another branch does not. */
static void test_shed_nist_completed(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *opt = req(RQ(.method = "OPTIONS", .branch = "z9hG4bKshed1",
	                         .sent_by = "shed.example.com:5070"));
	struct tsx *st;

	(void)state;
	inject(opt, &p);
	assert_int_equal(answer(st_nth(0), 200), 0);
	assert_int_equal(tsx_state(st_nth(0)), TSX_COMPLETED);
	assert_non_null(tsx_request(st_nth(0))); /* we hold it */
	st = release(0);
	assert_null(tsx_request(st));
	run_to(1000);
	inject(opt, &p); /* the retransmission: the same 200 again */
	assert_times("SIP/2.0 200 ", 0, 1000);
	assert_int_equal(H->sent[0].len, H->sent[1].len);
	assert_memory_equal(H->sent[0].buf, H->sent[1].buf, H->sent[0].len);
	assert_int_equal(count_ev(EV_REQUEST), 1);
	/* Same branch, other sent-by: another transaction (§17.2.3). */
	inject(req(RQ(.method = "OPTIONS", .branch = "z9hG4bKshed1")), &p);
	assert_int_equal(count_ev(EV_REQUEST), 2);
	assert_int_equal(answer(st_nth(1), 200), 0);
	run_to(40000);
	assert_int_equal(ev_nth(EV_DONE, 0)->status, 0);
	assert_int_equal(ev_nth(EV_DONE, 0)->at, 32000); /* timer J, as before */
	assert_int_equal(tsx_layer_count(H->l), 0);
}

/* A TU answering inside the request callback without keeping a reference
 * (sipd's registrar, stateless-looking UAs): shed when the callback and
 * the send are over, never during them. */
static void test_shed_after_answer_inside_request(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *reg = req(RQ(.method = "REGISTER", .branch = "z9hG4bKshed2"));
	struct tsx *st;

	(void)state;
	H->auto_status = 200;
	inject(reg, &p);
	st = release(0);
	assert_int_equal(tsx_state(st), TSX_COMPLETED);
	assert_null(tsx_request(st));
	inject(reg, &p);
	assert_int_equal(count_sent("SIP/2.0 200 "), 2);
	assert_int_equal(count_ev(EV_REQUEST), 1);
}

/* NICT in Completed (timer K) and ICT in Completed (timer D): shed once
 * their starter lets go; a retransmitted 486 still gets its ACK again. */
static void test_shed_clients_completed(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *opt = req(RQ(.method = "OPTIONS", .branch = "z9hG4bKshed3"));
	const char *inv = req(RQ(.branch = "z9hG4bKshed4", .extra = ROUTES));
	struct tsx *ct = client(opt, &p, TAG_OPT), *ci = client(inv, &p, TAG_INV);

	(void)state;
	reply(opt, 200, "t1", &p);
	reply(inv, 486, "t9", &p);
	assert_int_equal(tsx_state(ct), TSX_COMPLETED);
	assert_int_equal(tsx_state(ci), TSX_COMPLETED);
	assert_non_null(tsx_request(ct));
	assert_non_null(tsx_request(ci));
	tsx_unref(ct);
	tsx_unref(ci);
	assert_null(tsx_request(ct));
	assert_null(tsx_request(ci));
	run_to(1000);
	reply(opt, 200, "t1", &p); /* absorbed */
	reply(inv, 486, "t9", &p); /* ACK again */
	assert_int_equal(count_ev(EV_RESP), 2);
	assert_times("ACK ", 0, 1000);
	check_ack(H->nsent - 1, inv, "t9");
	run_to(40000);
	assert_int_equal(count_ev(EV_END), 2);
	assert_int_equal(tsx_layer_count(H->l), 0);
}

/* IST in Confirmed (timer I): shed; the ACK's retransmission is absorbed. */
static void test_shed_ist_confirmed(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *inv = req(RQ(.branch = "z9hG4bKshed5"));
	const char *ack = req(RQ(.method = "ACK", .branch = "z9hG4bKshed5", .to_tag = "s1"));
	struct tsx *st;

	(void)state;
	inject(inv, &p);
	assert_int_equal(answer(st_nth(0), 486), 0);
	st = release(0);
	assert_non_null(tsx_request(st)); /* Completed: timer G and H, not a wait */
	inject(ack, &p);
	assert_int_equal(tsx_state(st), TSX_CONFIRMED);
	assert_null(tsx_request(st));
	inject(ack, &p);
	inject(inv, &p);
	assert_int_equal(count_ev(EV_ACK), 0);
	assert_int_equal(count_ev(EV_REQUEST), 1);
	assert_int_equal(count_sent("SIP/2.0 486 "), 1);
	run_to(10000);
	assert_int_equal(ev_nth(EV_DONE, 0)->at, 5000); /* timer I = T4 */
}

/* Not shed: an RFC 2543 transaction (matched by its request's fields),
 * and one in Accepted (2xx retransmissions still reach the TU). */
static void test_shed_not_2543_nor_accepted(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *old = req(RQ(.method = "OPTIONS", .branch = "1234"));
	const char *inv = req(RQ(.branch = "z9hG4bKshed6"));

	(void)state;
	inject(old, &p);
	inject(inv, &p);
	assert_int_equal(answer(st_nth(0), 200), 0);
	assert_int_equal(answer(st_nth(1), 200), 0);
	assert_non_null(tsx_request(release(0)));
	assert_int_equal(tsx_state(st_nth(1)), TSX_ACCEPTED);
	assert_non_null(tsx_request(release(1)));
	inject(old, &p);
	assert_int_equal(count_sent("SIP/2.0 200 "), 3);
}

/* tsx_release_request(): the holder is done with the request, so an
 * Accepted transaction (IST timer L, ICT timer M) is shed while still
 * held; 2xx retransmissions still pass both ways, and a server 2xx the TU
 * resends still goes out. Without the call, Accepted keeps it. */
static void test_shed_released_accepted(void **state)
{
	struct tsx_peer p = test_tsx_peer(TP_UDP);
	const char *inv = req(RQ(.branch = "z9hG4bKshed7"));
	const char *out = req(RQ(.branch = "z9hG4bKshed8"));
	struct tsx *ct = client(out, &p, TAG_INV), *st;
	char ok[2048];
	size_t n;

	(void)state;
	inject(inv, &p);
	st = st_nth(0);
	n = build_answer(st, 200, ok, sizeof(ok)); /* kept: the TU resends it below */
	assert_int_equal(tsx_respond(st, 200, ok, n), 0);
	reply(out, 200, "t1", &p);
	assert_int_equal(tsx_state(st), TSX_ACCEPTED);
	assert_int_equal(tsx_state(ct), TSX_ACCEPTED);
	assert_non_null(tsx_request(st)); /* held, not released */
	assert_non_null(tsx_request(ct));
	tsx_release_request(st);
	tsx_release_request(ct);
	assert_null(tsx_request(st));
	assert_null(tsx_request(ct));
	run_to(1000);
	reply(out, 200, "t1", &p); /* a 2xx retransmission: to the TU */
	assert_int_equal(count_ev(EV_RESP), 2);
	inject(inv, &p); /* the INVITE again: absorbed */
	assert_int_equal(count_ev(EV_REQUEST), 1);
	assert_int_equal(tsx_respond(st, 200, ok, n), 0); /* the TU's resend */
	assert_int_equal(count_sent("SIP/2.0 200 "), 2);
	run_to(40000); /* timers L and M */
	assert_int_equal(count_ev(EV_DONE), 1);
	assert_int_equal(count_ev(EV_END), 1);
	assert_int_equal(tsx_layer_count(H->l), 0);
	tsx_unref(ct);
}

/* 10,000 transactions waiting on timer F: ticks only look at what is due,
 * and at 64*T1 every one of them fires. */
static void test_many_idle(void **state)
{
	enum { N = 10000 };
	struct tsx_peer p = test_tsx_peer(TP_TCP);
	char buf[1024];

	(void)state;
	H->keep_sent = false;
	for (int i = 0; i < N; i++) {
		int n = snprintf(
		        buf, sizeof(buf),
		        "OPTIONS sip:bob@example.com SIP/2.0\r\n"
		        "Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKidle%d\r\n"
		        "From: <sip:alice@example.com>;tag=f\r\nTo: <sip:bob@example.com>\r\n"
		        "Call-ID: idle%d\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		        i, i);

		assert_int_equal(tsx_client_new(H->l, NULL, buf, (size_t)n, &p, on_resp, NULL), 0);
	}
	run_to(31990);
	assert_int_equal(tsx_layer_count(H->l), N);
	assert_int_equal(H->nsent_total, N);
	assert_int_equal(count_ev(EV_FAIL), 0);
	run_to(32000);
	assert_int_equal(count_ev(EV_FAIL), N);
	assert_int_equal(count_ev(EV_END), N);
	assert_int_equal(tsx_layer_count(H->l), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	        T(test_ict_udp_timer_b),
	        T(test_ict_tcp_timer_b),
	        T(test_ict_udp_non2xx),
	        T(test_ict_tcp_non2xx),
	        T(test_ict_2xx_accepted),
	        T(test_ict_tcp_2xx_from_calling),
	        T(test_ict_transport_errors),
	        T(test_ict_cancel_held_until_provisional),
	        T(test_ict_cancel_in_proceeding),
	        T(test_ict_cancel_dropped_by_final),
	        T(test_nict_udp_timer_f),
	        T(test_nict_proceeding_every_t2),
	        T(test_nict_udp_final_timer_k),
	        T(test_nict_tcp),
	        T(test_nict_transport_error),
	        T(test_ist_udp_trying_g_h),
	        T(test_ist_udp_ack_confirmed),
	        T(test_ist_tcp),
	        T(test_ist_2xx_accepted),
	        T(test_ist_transport_errors),
	        T(test_server_answers_inside_request),
	        T(test_nist_udp),
	        T(test_nist_tcp),
	        T(test_nist_transport_errors),
	        T(test_match_server_keys),
	        T(test_match_responses),
	        T(test_rfc2543_matching),
	        T(test_worker_partition),
	        T(test_free_with_live_transactions),
	        T(test_shed_nist_completed),
	        T(test_shed_after_answer_inside_request),
	        T(test_shed_clients_completed),
	        T(test_shed_ist_confirmed),
	        T(test_shed_not_2543_nor_accepted),
	        T(test_shed_released_accepted),
	        T(test_many_idle),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
