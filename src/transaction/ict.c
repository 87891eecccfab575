/*
 * ict.c — the INVITE client transaction: RFC 3261 §17.1.1 and Figure 5,
 * with the Accepted state of RFC 6026 §7.2.
 *
 *   Calling     the INVITE is sent; timer A retransmits it (unreliable
 *               transports only), doubling from T1, until timer B (64*T1)
 *               ends the transaction with a 408 for the TU.
 *   Proceeding  a provisional response stopped A and B; provisionals pass
 *               up; the TU's timer C or CANCEL bounds this state.
 *   Completed   a 300-699 final response: this file builds the ACK
 *               (§17.1.1.3) and sends it again for every retransmission
 *               of that response, until timer D (at least 32 s; 0 on a
 *               reliable transport).
 *   Accepted    a 2xx: the TU acknowledges it, not us (§13.2.2.4); further
 *               2xx (retransmissions, other forks) pass up until timer M.
 *
 * It also builds the CANCEL of §9.1 for tsx_client_cancel(), which may be
 * sent only once a provisional response has arrived: asked earlier, it is
 * held here and sent on the first provisional.
 */
#include "libsip/build.h"
#include "tsx_priv.h"

/* Room for the request line, Max-Forwards, CSeq and Content-Length lines
 * an ACK or CANCEL has that are not copied; each copied Route value may
 * gain a header name of its own. */
#define BUILD_SLACK 160u
#define BUILD_PER_ROUTE 16u

/* A request with the headers §17.1.1.3 (ACK) and §9.1 (CANCEL) take from
 * the INVITE: its Request-URI, top Via, Route set, From, Call-ID and CSeq
 * number, with the To given (the response's for an ACK, the INVITE's for
 * a CANCEL), Max-Forwards 70 and no body. NULL when memory is short. */
static struct tsx_blob *build_from_invite(const struct sip_msg *inv, const char *method,
                                          struct sip_pl to)
{
	const struct sip_hdr *via = sip_msg_hdr(inv, SIP_HDR_VIA), *h;
	const struct sip_hdr *from = sip_msg_hdr(inv, SIP_HDR_FROM);
	size_t cap = sip_msg_raw(inv).len + to.len + BUILD_SLACK +
	             BUILD_PER_ROUTE * sip_msg_hdr_num(inv, SIP_HDR_ROUTE);
	struct tsx_blob *b = tsx_blob_new(NULL, cap);
	struct sip_wbuf w;
	size_t pos = 0;
	int n;

	if (!b)
		return NULL;
	sip_wbuf_init(&w, b->data, cap);
	sip_build_request_line(&w, sip_pl_cstr(method), sip_msg_ruri_pl(inv));
	sip_build_hdr(&w, SIP_HDR_VIA, via->value);
	while ((h = sip_msg_hdr_next(inv, SIP_HDR_ROUTE, &pos)))
		sip_build_hdr(&w, SIP_HDR_ROUTE, h->value);
	sip_build_hdr(&w, SIP_HDR_MAX_FORWARDS, SIP_PL("70"));
	if (from)
		sip_build_hdr(&w, SIP_HDR_FROM, from->value);
	if (to.p)
		sip_build_hdr(&w, SIP_HDR_TO, to);
	sip_build_hdr(&w, SIP_HDR_CALL_ID, sip_msg_call_id(inv));
	sip_wbuf_puts(&w, "CSeq: ");
	sip_wbuf_putu(&w, sip_msg_cseq(inv)->num);
	sip_wbuf_puts(&w, " ");
	sip_wbuf_puts(&w, method);
	sip_wbuf_puts(&w, "\r\n");
	if ((n = sip_build_finish(&w, SIP_PL_NULL, SIP_PL_NULL)) < 0) {
		tsx_blob_unref(b);
		return NULL;
	}
	b->len = (size_t)n;
	return b;
}

static struct sip_pl to_value(const struct sip_msg *m)
{
	const struct sip_hdr *to = sip_msg_hdr(m, SIP_HDR_TO);

	return to ? to->value : SIP_PL_NULL;
}

static void pass_up(struct tsx *t, const struct sip_msg *resp, int status, struct tsx_fx *fx)
{
	struct tsx_effect *e = tsx_fx_push(fx, TSX_FX_RESP, t);

	e->msg = resp;
	e->status = status;
}

/* Enters Completed on a 300-699: the ACK is sent and kept for the
 * retransmissions of the response. */
static void complete(struct tsx *t, const struct sip_msg *resp, int status, struct tsx_fx *fx)
{
	struct tsx_blob *ack = build_from_invite(t->req, "ACK", to_value(resp));

	t->state = TSX_COMPLETED;
	t->cancel_pending = false; /* nothing left to cancel */
	if (ack) {                 /* else the server's next retransmission asks again */
		tsx_blob_unref(t->last);
		t->last = ack;
		tsx_fx_send(fx, t, ack);
	}
	pass_up(t, resp, status, fx);
	tsx_wait_or_end(t, TSX_TID_D, fx);
}

/* ---- the states ------------------------------------------------------------- */

static void ict_start(struct tsx *t, struct tsx_fx *fx)
{
	t->state = TSX_CALLING;
	tsx_fx_send(fx, t, t->req_bytes);
	if (!tsx_peer_reliable(&t->peer)) {
		t->interval = tsx_timer_ms(t, TSX_TID_A);
		tsx_timer_start(t, TSX_SLOT_RETRANS, TSX_TID_A, t->interval);
	}
	tsx_timer_start(t, TSX_SLOT_TIMEOUT, TSX_TID_B, tsx_timer_ms(t, TSX_TID_B));
}

/* Calling and Proceeding differ only in the timers running, which every
 * response stops. */
static void calling_or_proceeding(struct tsx *t, const struct sip_msg *resp, int status,
                                  struct tsx_fx *fx)
{
	struct tsx_effect *e;

	tsx_timer_stop(t, TSX_SLOT_RETRANS);
	tsx_timer_stop(t, TSX_SLOT_TIMEOUT);
	if (status >= 300) {
		complete(t, resp, status, fx);
	} else if (status >= 200) {
		t->state = TSX_ACCEPTED; /* RFC 6026 §7.2 */
		t->cancel_pending = false;
		pass_up(t, resp, status, fx);
		tsx_timer_start(t, TSX_SLOT_TIMEOUT, TSX_TID_M, tsx_timer_ms(t, TSX_TID_M));
		tsx_waiting(t); /* only 2xx retransmissions to pass up */
	} else {
		t->state = TSX_PROCEEDING;
		pass_up(t, resp, status, fx);
		if (t->cancel_pending) { /* §9.1: now the CANCEL may go */
			t->cancel_pending = false;
			e = tsx_fx_push(fx, TSX_FX_CANCEL, t);
			e->cb = t->cancel_cb;
			e->cb_arg = t->cancel_arg;
		}
	}
}

static void completed(struct tsx *t, const struct sip_msg *resp, int status, struct tsx_fx *fx)
{
	if (status >= 300)
		tsx_fx_send(fx, t, t->last); /* a retransmission: ACK it again */
	else if (status >= 200)
		pass_up(t, resp, status, fx); /* a 2xx of another fork: the TU must ACK it */
}

static void accepted(struct tsx *t, const struct sip_msg *resp, int status, struct tsx_fx *fx)
{
	if (status >= 200 && status < 300)
		pass_up(t, resp, status, fx);
}

static void ict_recv(struct tsx *t, const struct sip_msg *resp, const struct tsx_peer *from,
                     struct tsx_fx *fx)
{
	int status = sip_msg_status(resp);

	(void)from;
	switch (t->state) {
	case TSX_CALLING:
	case TSX_PROCEEDING: calling_or_proceeding(t, resp, status, fx); break;
	case TSX_COMPLETED: completed(t, resp, status, fx); break;
	case TSX_ACCEPTED: accepted(t, resp, status, fx); break;
	default: break;
	}
}

static void ict_timer(struct tsx *t, enum tsx_tid id, struct tsx_fx *fx)
{
	switch (id) {
	case TSX_TID_A:
		if (t->state != TSX_CALLING)
			break;
		tsx_fx_send(fx, t, t->req_bytes);
		t->interval *= 2; /* no T2 cap for INVITE: B bounds it */
		tsx_timer_start(t, TSX_SLOT_RETRANS, TSX_TID_A, t->interval);
		break;
	case TSX_TID_B:
		if (t->state == TSX_CALLING)
			tsx_client_fail(t, 408, fx);
		break;
	case TSX_TID_D:
	case TSX_TID_M: tsx_terminate(t, 0, fx); break;
	default: break;
	}
}

static void ict_tp_error(struct tsx *t, struct tsx_fx *fx)
{
	/* The ICT sends in Calling (the INVITE) and Completed (the ACK). A
	 * failed retransmission found in Proceeding is stale: the server
	 * has the INVITE, it answered. */
	if (t->state == TSX_CALLING || t->state == TSX_COMPLETED)
		tsx_client_fail(t, 503, fx);
}

const struct tsx_machine tsx_ict_machine = {
        .start = ict_start,
        .recv = ict_recv,
        .timer = ict_timer,
        .tp_error = ict_tp_error,
};

/* ---- CANCEL (§9.1) --------------------------------------------------------------- */

static int cancel_send(struct tsx *ict, tsx_resp_fn cb, void *arg)
{
	/* The INVITE's copy never changes: no lock needed to read it. */
	struct tsx_blob *b = build_from_invite(ict->req, "CANCEL", to_value(ict->req));

	if (!b)
		return SIP_ERR_NOMEM;
	return tsx_client_start(ict->l, NULL, b, &ict->peer, cb, arg);
}

void tsx_ict_cancel_now(struct tsx *ict, tsx_resp_fn cb, void *arg)
{
	/* Nobody to tell if this fails: the TU's timer C or the INVITE's
	 * own end covers it. */
	(void)cancel_send(ict, cb, arg);
}

int tsx_client_cancel(struct tsx *ict, tsx_resp_fn cb, void *arg)
{
	enum tsx_state s;

	if (!ict || ict->kind != TSX_CLIENT_INVITE)
		return SIP_ERR_NOT_FOUND;
	pthread_mutex_lock(&ict->sh->mu);
	s = ict->state;
	if (s == TSX_CALLING) {
		ict->cancel_pending = true;
		ict->cancel_cb = cb;
		ict->cancel_arg = arg;
	}
	pthread_mutex_unlock(&ict->sh->mu);
	if (s == TSX_CALLING)
		return 0;
	if (s != TSX_PROCEEDING)
		return SIP_ERR_NOT_FOUND; /* a final response came: nothing to cancel */
	return cancel_send(ict, cb, arg);
}
