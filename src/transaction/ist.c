/*
 * ist.c — the INVITE server transaction: RFC 3261 §17.2.1 and Figure 7,
 * with the Accepted state of RFC 6026 §7.1 (its Figure 5).
 *
 *   Proceeding  the INVITE went up to the TU. If the TU has said nothing
 *               within 200 ms, this machine sends 100 Trying itself, so
 *               the client's timer A stops. A retransmitted INVITE gets the
 *               last provisional response again.
 *   Completed   the TU sent a 300-699: it is retransmitted on timer G
 *               (unreliable transports; T1 doubling up to T2) and for
 *               every retransmitted INVITE, until the ACK comes or timer H
 *               (64*T1) gives up and tells the TU (server_done 408).
 *   Confirmed   the ACK came; further ACKs are absorbed until timer I (T4;
 *               0 on a reliable transport).
 *   Accepted    the TU sent a 2xx. The TU retransmits it, not us (§13.3.1.4)
 *               and this state passes those on; retransmitted INVITEs are
 *               absorbed, an ACK that matches goes up to the TU, and timer
 *               L (64*T1) ends it.
 *
 * Transport errors end the transaction in Proceeding and Completed
 * (server_done 503), as RFC 3261's Figure 7 has it. In Accepted the only
 * sends are the TU's own 2xx, whose errors tsx_respond() returns to it,
 * and the transaction stays to absorb the INVITE (RFC 6026).
 */
#include "libsip/build.h"
#include "tsx_priv.h"

/* A 100 Trying copies Via, From, To, Call-ID, CSeq (and Timestamp) from
 * the INVITE: never more than the INVITE, but each line may gain its
 * canonical name and a comma list becomes several lines. */
#define TRYING_SLACK 64u
#define TRYING_PER_HDR 8u

/* §8.2.6.1: a 100 Trying built from the INVITE, with its Timestamp. */
static struct tsx_blob *build_trying(const struct sip_msg *req)
{
	size_t cap = sip_msg_raw(req).len + TRYING_SLACK + TRYING_PER_HDR * sip_msg_hdr_count(req);
	struct tsx_blob *b = tsx_blob_new(NULL, cap);
	const struct sip_hdr *ts = sip_msg_hdr(req, SIP_HDR_TIMESTAMP);
	struct sip_wbuf w;
	int n;

	if (!b)
		return NULL;
	sip_wbuf_init(&w, b->data, cap);
	sip_build_response(&w, req, 100, SIP_PL_NULL, SIP_PL_NULL);
	if (ts)
		sip_build_hdr(&w, SIP_HDR_TIMESTAMP, ts->value);
	if ((n = sip_build_finish(&w, SIP_PL_NULL, SIP_PL_NULL)) < 0) {
		tsx_blob_unref(b);
		return NULL;
	}
	b->len = (size_t)n;
	return b;
}

static void send_trying(struct tsx *t, struct tsx_fx *fx)
{
	struct tsx_blob *b = build_trying(t->req);

	tsx_timer_stop(t, TSX_SLOT_RETRANS); /* the 200 ms are served */
	if (!b)
		return; /* out of memory: the client retransmits */
	tsx_server_send(t, 100, b, fx);
	tsx_blob_unref(b);
}

/* RFC 2543 clients acknowledge a final response by its To tag (§17.2.3),
 * so the transaction remembers it. Rare enough to parse the response for. */
static void note_to_tag(struct tsx *t, const struct tsx_blob *b)
{
	struct sip_arena *a;
	struct sip_msg *r;
	const struct sip_addr *to;

	if (sip_arena_new(&a, 4096 + 32 * b->len) < 0)
		return;
	if (sip_msg_parse(&r, a, b->data, b->len, 0, NULL) == 0 && (to = sip_msg_to(r)) &&
	    to->tag.p)
		sip_arena_dup(t->arena, to->tag, &t->resp_to_tag);
	sip_arena_free(a);
}

/* ---- the states ----------------------------------------------------------------- */

static void ist_start(struct tsx *t, struct tsx_fx *fx)
{
	(void)fx;
	t->state = TSX_PROCEEDING;
	tsx_timer_start(t, TSX_SLOT_RETRANS, TSX_TID_TRYING, tsx_timer_ms(t, TSX_TID_TRYING));
}

static void proceeding(struct tsx *t, bool ack, struct tsx_fx *fx)
{
	if (ack)
		return; /* no final response yet: nothing it could acknowledge */
	if (t->last)
		tsx_fx_send(fx, t, t->last);
	else
		send_trying(t, fx); /* retransmitted before the 200 ms were up */
}

static void completed(struct tsx *t, bool ack, struct tsx_fx *fx)
{
	if (!ack) {
		tsx_fx_send(fx, t, t->last);
		return;
	}
	tsx_timer_stop(t, TSX_SLOT_RETRANS);
	tsx_timer_stop(t, TSX_SLOT_TIMEOUT);
	t->state = TSX_CONFIRMED;
	tsx_wait_or_end(t, TSX_TID_I, fx);
}

static void accepted(struct tsx *t, const struct sip_msg *m, const struct tsx_peer *from, bool ack,
                     struct tsx_fx *fx)
{
	struct tsx_effect *e;

	if (!ack)
		return; /* RFC 6026: the INVITE is absorbed */
	e = tsx_fx_push(fx, TSX_FX_ACK, t);
	e->msg = m;
	e->from = from;
}

static void ist_recv(struct tsx *t, const struct sip_msg *m, const struct tsx_peer *from,
                     struct tsx_fx *fx)
{
	bool ack = sip_msg_method(m) == SIP_METHOD_ACK;

	switch (t->state) {
	case TSX_PROCEEDING: proceeding(t, ack, fx); break;
	case TSX_COMPLETED: completed(t, ack, fx); break;
	case TSX_ACCEPTED: accepted(t, m, from, ack, fx); break;
	default: break; /* Confirmed: INVITE and ACK are absorbed */
	}
}

static int ist_respond(struct tsx *t, int status, struct tsx_blob *b, struct tsx_fx *fx)
{
	if (t->state == TSX_ACCEPTED && status >= 200 && status < 300) {
		tsx_server_send(t, status, b, fx); /* the TU's 2xx retransmission */
		return 0;
	}
	if (t->state != TSX_PROCEEDING)
		return SIP_ERR_NOT_FOUND;    /* a final response was sent already */
	tsx_timer_stop(t, TSX_SLOT_RETRANS); /* the TU spoke: no 100 of ours */
	if (status >= 200 && t->key.rfc2543)
		note_to_tag(t, b);
	tsx_server_send(t, status, b, fx);
	if (status < 200)
		return 0;
	if (status < 300) {
		t->state = TSX_ACCEPTED;
		tsx_timer_start(t, TSX_SLOT_TIMEOUT, TSX_TID_L, tsx_timer_ms(t, TSX_TID_L));
		tsx_waiting(t); /* only the TU's 2xx retransmissions still pass */
		return 0;
	}
	t->state = TSX_COMPLETED;
	if (!tsx_peer_reliable(&t->peer)) {
		t->interval = tsx_timer_ms(t, TSX_TID_G);
		tsx_timer_start(t, TSX_SLOT_RETRANS, TSX_TID_G, t->interval);
	}
	tsx_timer_start(t, TSX_SLOT_TIMEOUT, TSX_TID_H, tsx_timer_ms(t, TSX_TID_H));
	return 0;
}

static void ist_timer(struct tsx *t, enum tsx_tid id, struct tsx_fx *fx)
{
	uint64_t t2 = t->l->cfg.t2_ms;

	switch (id) {
	case TSX_TID_TRYING:
		if (t->state == TSX_PROCEEDING && !t->last)
			send_trying(t, fx);
		break;
	case TSX_TID_G:
		if (t->state != TSX_COMPLETED)
			break;
		tsx_fx_send(fx, t, t->last);
		t->interval = t->interval * 2 < t2 ? t->interval * 2 : t2;
		tsx_timer_start(t, TSX_SLOT_RETRANS, TSX_TID_G, t->interval);
		break;
	case TSX_TID_H:
		if (t->state == TSX_COMPLETED)
			tsx_terminate(t, 408, fx); /* the ACK never came */
		break;
	case TSX_TID_I:
	case TSX_TID_L: tsx_terminate(t, 0, fx); break;
	default: break;
	}
}

static void ist_tp_error(struct tsx *t, struct tsx_fx *fx)
{
	if (t->state == TSX_PROCEEDING || t->state == TSX_COMPLETED)
		tsx_terminate(t, 503, fx);
}

const struct tsx_machine tsx_ist_machine = {
        .start = ist_start,
        .recv = ist_recv,
        .timer = ist_timer,
        .tp_error = ist_tp_error,
        .respond = ist_respond,
};
