/*
 * nict.c — the non-INVITE client transaction: RFC 3261 §17.1.2 and
 * Figure 6 (BYE, OPTIONS, REGISTER, CANCEL, and every extension method).
 *
 *   Trying      the request is sent; timer E retransmits it (unreliable
 *               transports only) at T1, 2*T1, 4*T1 ... capped at T2, until
 *               timer F (64*T1) ends the transaction with a 408.
 *   Proceeding  a provisional response came: E keeps retransmitting, now
 *               every T2 (§17.1.2.2), and F still runs, since a
 *               non-INVITE must end within 64*T1 whatever the server says.
 *   Completed   a final response passed up; its retransmissions are
 *               absorbed until timer K (T4; 0 on a reliable transport).
 *
 * Unlike an INVITE, a non-INVITE request gets no ACK and no CANCEL of its
 * own, so this is the smallest client machine.
 */
#include "tsx_priv.h"

static void pass_up(struct tsx *t, const struct sip_msg *resp, int status, struct tsx_fx *fx)
{
	struct tsx_effect *e = tsx_fx_push(fx, TSX_FX_RESP, t);

	e->msg = resp;
	e->status = status;
}

static void nict_start(struct tsx *t, struct tsx_fx *fx)
{
	t->state = TSX_TRYING;
	tsx_fx_send(fx, t, t->req_bytes);
	if (!tsx_peer_reliable(&t->peer)) {
		t->interval = tsx_timer_ms(t, TSX_TID_E);
		tsx_timer_start(t, TSX_SLOT_RETRANS, TSX_TID_E, t->interval);
	}
	tsx_timer_start(t, TSX_SLOT_TIMEOUT, TSX_TID_F, tsx_timer_ms(t, TSX_TID_F));
}

/* Trying and Proceeding take the same responses; only E's pace differs,
 * which the timer handler reads from the state. */
static void trying_or_proceeding(struct tsx *t, const struct sip_msg *resp, int status,
                                 struct tsx_fx *fx)
{
	if (status < 200) {
		t->state = TSX_PROCEEDING;
		pass_up(t, resp, status, fx);
		return;
	}
	t->state = TSX_COMPLETED;
	tsx_timer_stop(t, TSX_SLOT_RETRANS);
	tsx_timer_stop(t, TSX_SLOT_TIMEOUT);
	pass_up(t, resp, status, fx);
	tsx_wait_or_end(t, TSX_TID_K, fx);
}

static void nict_recv(struct tsx *t, const struct sip_msg *resp, const struct tsx_peer *from,
                      struct tsx_fx *fx)
{
	(void)from;
	switch (t->state) {
	case TSX_TRYING:
	case TSX_PROCEEDING: trying_or_proceeding(t, resp, sip_msg_status(resp), fx); break;
	default: break; /* Completed: retransmitted responses are absorbed */
	}
}

/* Timer E: retransmit, then back off — doubling up to T2 in Trying, T2
 * flat in Proceeding (the server is known to be alive). */
static void retransmit(struct tsx *t, struct tsx_fx *fx)
{
	uint64_t t2 = t->l->cfg.t2_ms;

	tsx_fx_send(fx, t, t->req_bytes);
	if (t->state == TSX_PROCEEDING)
		t->interval = t2;
	else
		t->interval = t->interval * 2 < t2 ? t->interval * 2 : t2;
	tsx_timer_start(t, TSX_SLOT_RETRANS, TSX_TID_E, t->interval);
}

static void nict_timer(struct tsx *t, enum tsx_tid id, struct tsx_fx *fx)
{
	bool live = t->state == TSX_TRYING || t->state == TSX_PROCEEDING;

	switch (id) {
	case TSX_TID_E:
		if (live)
			retransmit(t, fx);
		break;
	case TSX_TID_F:
		if (live)
			tsx_client_fail(t, 408, fx);
		break;
	case TSX_TID_K: tsx_terminate(t, 0, fx); break;
	default: break;
	}
}

static void nict_tp_error(struct tsx *t, struct tsx_fx *fx)
{
	/* Figure 6: a transport error in Trying or Proceeding informs the TU
	 * and ends the transaction; in Completed nothing is sent any more. */
	if (t->state == TSX_TRYING || t->state == TSX_PROCEEDING)
		tsx_client_fail(t, 503, fx);
}

const struct tsx_machine tsx_nict_machine = {
        .start = nict_start,
        .recv = nict_recv,
        .timer = nict_timer,
        .tp_error = nict_tp_error,
};
