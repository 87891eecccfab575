/*
 * nist.c — the non-INVITE server transaction: RFC 3261 §17.2.2 and
 * Figure 8 (BYE, OPTIONS, REGISTER, CANCEL and extension methods).
 *
 *   Trying      the request went up to the TU; retransmissions of it are
 *               absorbed, since there is nothing to answer them with yet.
 *   Proceeding  the TU sent a provisional response; a retransmitted
 *               request gets the latest one again.
 *   Completed   the TU sent its final response; a retransmitted request
 *               gets it again, further final responses from the TU are
 *               refused, and timer J (64*T1; 0 on a reliable transport)
 *               ends the transaction. J covers the client's whole
 *               retransmission window (its timer F), so a late copy of the
 *               request can never start a second transaction.
 *
 * No timer retransmits here: a non-INVITE server only answers what the
 * client resends. A transport error in Proceeding or Completed ends the
 * transaction and tells the TU (server_done 503).
 */
#include "tsx_priv.h"

static void nist_start(struct tsx *t, struct tsx_fx *fx)
{
	(void)fx;
	t->state = TSX_TRYING;
}

static void nist_recv(struct tsx *t, const struct sip_msg *m, const struct tsx_peer *from,
                      struct tsx_fx *fx)
{
	(void)m;
	(void)from;
	switch (t->state) {
	case TSX_PROCEEDING:
	case TSX_COMPLETED: tsx_fx_send(fx, t, t->last); break;
	default: break; /* Trying: absorbed */
	}
}

/* Trying and Proceeding take the TU's responses alike; Completed takes
 * none (Figure 8: "any other final responses ... MUST be discarded"). */
static int nist_respond(struct tsx *t, int status, struct tsx_blob *b, struct tsx_fx *fx)
{
	if (t->state != TSX_TRYING && t->state != TSX_PROCEEDING)
		return SIP_ERR_NOT_FOUND;
	tsx_server_send(t, status, b, fx);
	if (status < 200) {
		t->state = TSX_PROCEEDING;
		return 0;
	}
	t->state = TSX_COMPLETED;
	tsx_wait_or_end(t, TSX_TID_J, fx);
	return 0;
}

static void nist_timer(struct tsx *t, enum tsx_tid id, struct tsx_fx *fx)
{
	if (id == TSX_TID_J && t->state == TSX_COMPLETED)
		tsx_terminate(t, 0, fx);
}

static void nist_tp_error(struct tsx *t, struct tsx_fx *fx)
{
	if (t->state == TSX_PROCEEDING || t->state == TSX_COMPLETED)
		tsx_terminate(t, 503, fx);
}

const struct tsx_machine tsx_nist_machine = {
        .start = nist_start,
        .recv = nist_recv,
        .timer = nist_timer,
        .tp_error = nist_tp_error,
        .respond = nist_respond,
};
