/*
 * uas.c — the UAS side (RFC 3261 §8.2, §12.1.1, §13.3, §14.2, §15.1.2):
 * requests that come to us. A new INVITE makes a call (180, then 200 with
 * our answer, or the status of --answer-status); the UAS core retransmits
 * its 2xx until the ACK (T1 doubling to T2) and ends the call with BYE
 * after 64*T1 without one (§13.3.1.4); CANCEL ends a pending INVITE with
 * 487; BYE ends a call; a re-INVITE is answered (491 while our own offer
 * is pending, 500 while our 2xx still waits for its ACK, §14.2); OPTIONS
 * is answered in and out of dialogs; the rest is refused properly.
 */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "libsip/log.h"

#define RESP_MAX 8192
#define SDP_MAX 2048
#define ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS"

/* Builds and sends a response to req on st. c, when given, supplies the
 * To tag; a 1xx/2xx to an INVITE also carries Contact and the Record-Route
 * (§12.1.1); a 2xx to an INVITE is kept for retransmission. */
static int respond(struct app *a, struct call *c, struct tsx *st, const struct sip_msg *req,
                   int status, struct sip_pl body, const char *extra)
{
	char buf[RESP_MAX], tag[17];
	bool invite = sip_msg_method(req) == SIP_METHOD_INVITE;
	struct sip_wbuf w;
	int n;

	if (!c)
		ua_random_hex(tag, 16);
	sip_wbuf_init(&w, buf, sizeof(buf));
	sip_build_response(&w, req, status, SIP_PL_NULL, sip_pl_cstr(c ? c->dlg.local_tag : tag));
	if (c && invite && status < 300) {
		dlg_copy_record_route(&w, req);
		sip_build_hdr(&w, SIP_HDR_CONTACT,
		              sip_pl_cstr(app_contact(a, tsx_peer(st)->proto)));
	}
	if (status == 405 || (status >= 200 && status < 300))
		sip_build_hdr(&w, SIP_HDR_ALLOW, SIP_PL(ALLOW));
	sip_build_hdr(&w, SIP_HDR_SERVER, SIP_PL("sipua/" UA_VERSION));
	if (extra)
		sip_wbuf_puts(&w, extra);
	if ((n = sip_build_finish(&w, body.len ? SIP_PL("application/sdp") : SIP_PL_NULL, body)) <
	    0)
		return n;
	if (c && invite && status >= 200 && status < 300) {
		free(c->ok);
		if ((c->ok = malloc((size_t)n))) {
			memcpy(c->ok, buf, (size_t)n);
			c->ok_len = (size_t)n;
			dlg_rtx_start(&c->rtx, tp_now_ms(), a->cfg->tsx.t1_ms, a->cfg->tsx.t2_ms);
		}
	}
	return tsx_respond(st, status, buf, (size_t)n);
}

static int reply(struct app *a, struct tsx *st, const struct sip_msg *req, int status)
{
	return respond(a, NULL, st, req, status, SIP_PL_NULL, NULL);
}

static struct call *find_dialog(struct app *a, const struct sip_msg *req)
{
	for (struct call *c = a->calls; c; c = c->next)
		if (c->state != CALL_ENDED && c->dlg.state != DLG_NONE &&
		    dlg_match_request(&c->dlg, req))
			return c;
	return NULL;
}

/* Who may get calls: answer mode and the interactive one. */
static bool takes_calls(const struct app *a)
{
	return !a->cfg->cmd || !strcmp(a->cfg->cmd, "answer");
}

static void incoming(struct app *a, struct tsx *st, const struct sip_msg *req)
{
	char tag[17];
	struct call *c;
	struct ev e;

	if (a->stopping || !takes_calls(a)) {
		reply(a, st, req, a->stopping ? 480 : 486);
		return;
	}
	if (!(c = call_new(a, false))) {
		reply(a, st, req, 503);
		return;
	}
	tsx_ref(st);
	c->ist = st;
	ua_random_hex(tag, 16);
	if (dlg_uas_new(&c->dlg, req, tag) < 0) {
		reply(a, st, req, 400);
		call_end(c, "error", 400);
		return;
	}
	c->state = CALL_INCOMING;
	snprintf(c->peer_uri, sizeof(c->peer_uri), "%s", c->dlg.remote_uri);
	snprintf(c->local_aor, sizeof(c->local_aor), "%s", c->dlg.local_uri);
	ev_begin(&e, a, "incoming");
	ev_str(&e, "call", c->id);
	ev_str(&e, "from", c->dlg.remote_uri);
	ev_str(&e, "to", c->dlg.local_uri);
	ev_end(&e);
	if (a->cfg->answer_status) {
		uas_reject(c, (int)a->cfg->answer_status);
		return;
	}
	respond(a, c, st, req, 180, SIP_PL_NULL, NULL);
	if (a->cfg->auto_answer)
		c->at_answer = tp_now_ms() + a->cfg->ring_ms + 1; /* 0 means unset */
}

int uas_answer(struct call *c)
{
	const struct sip_msg *req;
	struct sip_pl offer;
	char sdp[SDP_MAX];
	int n;

	if (c->state != CALL_INCOMING || !c->ist)
		return SIP_ERR_NOT_FOUND;
	req = tsx_request(c->ist); /* the transaction's own copy, ours while referenced */
	offer = sip_msg_body(req);
	n = offer.len ? call_answer_sdp(c, offer, sdp, sizeof(sdp))
	              : call_offer(c, sdp, sizeof(sdp));
	if (n < 0) {
		uas_reject(c, 488);
		return n;
	}
	if (respond(c->app, c, c->ist, req, 200, sip_pl(sdp, (size_t)n), NULL) < 0) {
		call_end(c, "error", 500);
		return SIP_ERR_NOT_FOUND;
	}
	if (offer.len)
		call_media_start(c); /* else the answer comes in the ACK */
	call_answered(c, 200);
	return 0;
}

void uas_reject(struct call *c, int status)
{
	if (c->state != CALL_INCOMING)
		return;
	respond(c->app, c, c->ist, tsx_request(c->ist), status, SIP_PL_NULL, NULL);
	call_end(c, "rejected", status);
}

static void reinvite(struct app *a, struct call *c, struct tsx *st, const struct sip_msg *req)
{
	struct sip_pl offer = sip_msg_body(req);
	char sdp[SDP_MAX];
	int n;

	if (c->state != CALL_ACTIVE || (c->ict && c->ict_reinvite && !c->ict_final)) {
		reply(a, st, req, 491); /* §14.2: our own offer is pending */
		return;
	}
	if (c->rtx.active) {
		respond(a, NULL, st, req, 500, SIP_PL_NULL, "Retry-After: 1\r\n");
		return;
	}
	n = offer.len ? call_answer_sdp(c, offer, sdp, sizeof(sdp))
	              : call_offer(c, sdp, sizeof(sdp));
	if (n < 0) {
		respond(a, c, st, req, 488, SIP_PL_NULL, NULL); /* the old session stays */
		return;
	}
	dlg_target_refresh(&c->dlg, req);
	if (c->ist)
		tsx_unref(c->ist);
	tsx_ref(st);
	c->ist = st;
	respond(a, c, st, req, 200, sip_pl(sdp, (size_t)n), NULL);
	if (offer.len) {
		call_media_start(c);
		call_remote_hold(c);
	}
}

static void bye(struct app *a, struct call *c, struct tsx *st, const struct sip_msg *req)
{
	respond(a, c, st, req, 200, SIP_PL_NULL, NULL);
	if (c->state == CALL_INCOMING) /* §15.1.2: BYE in an early dialog */
		respond(a, c, c->ist, tsx_request(c->ist), 487, SIP_PL_NULL, NULL);
	call_end(c, "remote-bye", 0);
}

static void cancel(struct app *a, struct tsx *st, const struct sip_msg *req)
{
	struct tsx *inv = tsx_cancel_target(st);

	reply(a, st, req, inv ? 200 : 481);
	if (!inv)
		return;
	for (struct call *c = a->calls; c; c = c->next) {
		if (c->ist == inv && c->state == CALL_INCOMING) {
			respond(a, c, inv, tsx_request(inv), 487, SIP_PL_NULL, NULL);
			call_end(c, "cancelled", 487);
			break;
		}
	}
	tsx_unref(inv);
}

static void options(struct app *a, struct call *c, struct tsx *st, const struct sip_msg *req)
{
	respond(a, c, st, req, 200, SIP_PL_NULL, "Accept: application/sdp\r\n");
}

/* §8.2.2.3: an option tag we do not know in Require is refused with 420. */
static bool unsupported_require(struct app *a, struct tsx *st, const struct sip_msg *req)
{
	const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_REQUIRE);
	char line[512];

	if (!h || sip_msg_method(req) == SIP_METHOD_ACK || sip_msg_method(req) == SIP_METHOD_CANCEL)
		return false;
	snprintf(line, sizeof(line), "Unsupported: %.*s\r\n", (int)h->value.len, h->value.p);
	respond(a, NULL, st, req, 420, SIP_PL_NULL, line);
	return true;
}

static void in_dialog(struct app *a, struct tsx *st, const struct sip_msg *req)
{
	struct call *c = find_dialog(a, req);
	enum sip_method m = sip_msg_method(req);

	if (!c) {
		reply(a, st, req, 481);
		return;
	}
	if (dlg_remote_cseq(&c->dlg, req) < 0) {
		respond(a, c, st, req, 500, SIP_PL_NULL, NULL);
		return;
	}
	switch (m) {
	case SIP_METHOD_INVITE: reinvite(a, c, st, req); break;
	case SIP_METHOD_BYE: bye(a, c, st, req); break;
	case SIP_METHOD_OPTIONS: options(a, c, st, req); break;
	case SIP_METHOD_OTHER: respond(a, c, st, req, 501, SIP_PL_NULL, NULL); break;
	default: respond(a, c, st, req, 405, SIP_PL_NULL, NULL); break;
	}
}

void uas_request(struct app *a, struct tsx *st, const struct sip_msg *req,
                 const struct tsx_peer *from)
{
	const struct sip_addr *to = sip_msg_to(req);
	enum sip_method m = sip_msg_method(req);

	(void)from;
	pthread_mutex_lock(&a->mu);
	if (m == SIP_METHOD_CANCEL)
		cancel(a, st, req);
	else if (unsupported_require(a, st, req))
		;
	else if (to && to->tag.len)
		in_dialog(a, st, req);
	else if (m == SIP_METHOD_INVITE)
		incoming(a, st, req);
	else if (m == SIP_METHOD_OPTIONS)
		options(a, NULL, st, req);
	else if (m == SIP_METHOD_BYE)
		reply(a, st, req, 481);
	else
		reply(a, st, req, m == SIP_METHOD_OTHER ? 501 : 405);
	pthread_mutex_unlock(&a->mu);
}

void uas_ack(struct app *a, const struct sip_msg *ack)
{
	struct call *c;

	pthread_mutex_lock(&a->mu);
	if ((c = find_dialog(a, ack)) && c->rtx.active) {
		dlg_rtx_stop(&c->rtx);
		/* Our 2xx carried the offer: the answer is in the ACK. */
		if (c->offer_ours && call_take_answer(c, sip_msg_body(ack)) == 0)
			call_media_start(c);
	}
	pthread_mutex_unlock(&a->mu);
}

void uas_tick(struct call *c, uint64_t now)
{
	switch (dlg_rtx_poll(&c->rtx, now)) {
	case DLG_RTX_WAIT: break;
	case DLG_RTX_RESEND:
		if (c->ist && c->ok)
			tsx_respond(c->ist, 200, c->ok, c->ok_len);
		break;
	case DLG_RTX_GIVE_UP:
		/* §13.3.1.4: no ACK in 64*T1: confirm and end the session. */
		ev_error(c->app, "call %s: no ACK for our 2xx", c->id);
		c->bye_cause = "timeout";
		if (c->state == CALL_ACTIVE)
			call_hangup(c);
		break;
	}
}
