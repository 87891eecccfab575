/*
 * invite.c — the UAC side of a call (RFC 3261 §13.2, §14.1, §15.1, §9.1):
 * the INVITE with our offer, again with credentials after a 401/407
 * (§22.2), the dialog from a provisional or 2xx response, the ACK the UAC
 * core sends itself for every 2xx (and again for each retransmission),
 * the extra dialogs of a forked INVITE ACKed and ended with BYE (§13.2.2.4),
 * CANCEL of a pending INVITE, re-INVITE for hold and resume with the 491
 * back-off of §14.1, and BYE.
 *
 * Every request is built once its next hop is located (ua_locate: the
 * proxy or RFC 3263 for the initial INVITE, the route set or remote target
 * inside the dialog), because the Via names the transport.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "app.h"
#include "libsip/log.h"

#define REQ_MAX 8192
#define SDP_MAX 2048

struct out {
	struct call *c;
	enum call_out kind;
};

static void on_invite_resp(struct tsx *ct, const struct sip_msg *resp, int status, void *arg);
static void on_bye_resp(struct tsx *ct, const struct sip_msg *resp, int status, void *arg);

/* Headers every request and response of ours carries besides the dialog's. */
static void put_common(struct sip_wbuf *w)
{
	sip_build_hdr(w, SIP_HDR_ALLOW, SIP_PL("INVITE, ACK, CANCEL, BYE, OPTIONS"));
	sip_build_hdr(w, SIP_HDR_USER_AGENT, SIP_PL("sipua/" UA_VERSION));
}

/* Starts a client transaction for the request in w; its reports go to cb
 * with the call. out, when set, receives the referenced transaction. */
static int start_tsx(struct call *c, struct sip_wbuf *w, int n, const struct tsx_peer *to,
                     tsx_resp_fn cb, struct tsx **out)
{
	int err;

	if (n < 0)
		return n;
	c->pending++;
	if ((err = tsx_client_new(c->app->ua.tsx, out, w->buf, (size_t)n, to, cb, c)) < 0) {
		c->pending--;
		ev_error(c->app, "call %s: cannot send: %s", c->id, sip_err_reason(err));
	}
	return err;
}

static void send_invite(struct call *c, const struct tsx_peer *to, bool reinvite)
{
	struct app *a = c->app;
	char *buf = malloc(REQ_MAX), body[SDP_MAX], via[256];
	struct sip_wbuf w;
	int blen, err = SIP_ERR_NOMEM;

	if (buf && (blen = call_offer(c, body, sizeof(body))) > 0) {
		struct dlg_req r = {
		        .method = "INVITE", .via = via, .contact = app_contact(a, to->proto)};

		ua_via(&a->ua, to->proto, via, sizeof(via));
		sip_wbuf_init(&w, buf, REQ_MAX);
		dlg_request(&c->dlg, &w, &r);
		c->invite_cseq = c->dlg.local_cseq;
		if (c->auth_tries)
			dlg_auth_write(&a->auth, &w, "INVITE",
			               sip_pl_cstr(dlg_request_uri(&c->dlg)));
		put_common(&w);
		int n = sip_build_finish(&w, SIP_PL("application/sdp"), sip_pl(body, (size_t)blen));
		if (c->ict) {
			tsx_unref(c->ict);
			c->ict = NULL;
		}
		c->ict_reinvite = reinvite;
		c->ict_final = false;
		err = start_tsx(c, &w, n, to, on_invite_resp, &c->ict);
	}
	free(buf);
	if (err < 0 && !reinvite)
		call_end(c, "error", 500);
}

/* The ACK for the 2xx of the INVITE with CSeq cseq, on dialog d (§13.2.2.4:
 * a new transaction-less request with the INVITE's CSeq number and
 * credentials). Kept for the 2xx's retransmissions when it is the call's. */
static void send_ack(struct call *c, struct dlg *d, uint32_t cseq, const struct tsx_peer *to,
                     bool keep)
{
	char buf[REQ_MAX], via[256];
	struct dlg_req r = {.method = "ACK", .via = via, .cseq = cseq};
	struct sip_wbuf w;
	int n, err;

	ua_via(&c->app->ua, to->proto, via, sizeof(via));
	sip_wbuf_init(&w, buf, sizeof(buf));
	dlg_request(d, &w, &r);
	if (keep)
		sip_wbuf_puts(&w, c->creds);
	sip_build_hdr(&w, SIP_HDR_USER_AGENT, SIP_PL("sipua/" UA_VERSION));
	if ((n = sip_build_finish(&w, SIP_PL_NULL, SIP_PL_NULL)) < 0)
		return;
	if ((err = ua_send(&c->app->ua, to, buf, (size_t)n)) < 0)
		sip_log(SIP_LOG_INFO, "call %s: ACK not sent: %s", c->id, strerror(-err));
	if (!keep)
		return;
	free(c->ack);
	if ((c->ack = malloc((size_t)n))) {
		memcpy(c->ack, buf, (size_t)n);
		c->ack_len = (size_t)n;
		c->ack_to = *to;
	}
}

static void send_bye(struct call *c, struct dlg *d, const struct tsx_peer *to, tsx_resp_fn cb)
{
	char buf[REQ_MAX], via[256];
	struct dlg_req r = {.method = "BYE", .via = via};
	struct sip_wbuf w;

	ua_via(&c->app->ua, to->proto, via, sizeof(via));
	sip_wbuf_init(&w, buf, sizeof(buf));
	dlg_request(d, &w, &r);
	if (c->auth_tries && d == &c->dlg)
		dlg_auth_write(&c->app->auth, &w, "BYE", sip_pl_cstr(dlg_request_uri(d)));
	put_common(&w);
	if (start_tsx(c, &w, sip_build_finish(&w, SIP_PL_NULL, SIP_PL_NULL), to, cb, NULL) < 0 &&
	    d == &c->dlg)
		call_end(c, "error", 0);
}

static void on_fork_bye(struct tsx *ct, const struct sip_msg *resp, int status, void *arg)
{
	struct call *c = arg;

	(void)ct;
	if (resp || status)
		return;
	pthread_mutex_lock(&c->app->mu);
	c->pending--;
	pthread_mutex_unlock(&c->app->mu);
}

/* A request of kind could not be located or sent. */
static void not_sent(struct call *c, enum call_out kind, int err)
{
	ev_error(c->app, "call %s: no route to the next hop: %s", c->id, ua_err_name(err));
	if (kind == OUT_INVITE)
		call_end(c, "error", err == SIP_ERR_NOT_FOUND ? 404 : 503);
	else if (kind == OUT_BYE)
		call_end(c, "error", 0);
}

static void on_located(void *arg, int err, const struct ua_targets *ts)
{
	struct out *o = arg;
	struct call *c = o->c;
	const struct tsx_peer *to = &ts->t[0];

	pthread_mutex_lock(&c->app->mu);
	c->pending--;
	if (!err && o->kind == OUT_INVITE)
		c->hops = *ts; /* kept: retries and failover reuse them */
	if (err < 0)
		not_sent(c, o->kind, err);
	else if (o->kind == OUT_ACK)
		send_ack(c, &c->dlg, c->acked_cseq, to, true);
	else if (o->kind == OUT_FORK_BYE) {
		send_ack(c, &c->fork, c->fork_cseq, to, false);
		send_bye(c, &c->fork, to, on_fork_bye);
	} else if (c->state == CALL_ENDED)
		; /* ended while its next hop was looked up */
	else if (o->kind == OUT_BYE)
		send_bye(c, &c->dlg, to, on_bye_resp);
	else
		send_invite(c, to, o->kind == OUT_REINVITE);
	pthread_mutex_unlock(&c->app->mu);
	free(o);
}

void uac_locate(struct call *c, enum call_out kind)
{
	struct app *a = c->app;
	const char *uri = kind == OUT_FORK_BYE ? dlg_next_hop(&c->fork) : dlg_next_hop(&c->dlg);
	struct out *o = malloc(sizeof(*o));
	int err;

	/* The outbound proxy takes the requests outside a dialog; inside one
	 * the route set says where they go (§8.1.2, §12.2.1.1). */
	if (kind == OUT_INVITE && a->cfg->proxy)
		uri = a->cfg->proxy;
	/* The INVITE again (after a challenge, or to the next target): where
	 * the first one went, not a fresh lookup that might pick another. */
	if (kind == OUT_INVITE && c->hops.n) {
		free(o);
		send_invite(c, &c->hops.t[c->hops.cur], false);
		return;
	}
	if (!o) {
		not_sent(c, kind, SIP_ERR_NOMEM);
		return;
	}
	o->c = c;
	o->kind = kind;
	c->pending++;
	if ((err = ua_locate(&a->ua, sip_pl_cstr(uri), on_located, o)) < 0) {
		c->pending--;
		free(o);
		not_sent(c, kind, err);
	}
}

int uac_call(struct app *a, const char *target)
{
	char cid[80], tag[17];
	struct call *c;
	struct sip_uri u;

	if (sip_uri_parse(&u, sip_pl_cstr(target)) < 0 || u.scheme != SIP_SCHEME_SIP) {
		ev_error(a, "'%s' is not a sip: URI", target);
		return SIP_ERR_URI;
	}
	if (!(c = call_new(a, true)))
		return SIP_ERR_NOMEM;
	ua_random_hex(cid, 32);
	strcat(cid, "@");
	strcat(cid, a->local_ip);
	ua_random_hex(tag, 16);
	if (dlg_uac_init(&c->dlg, a->aor, target, cid, tag) < 0) {
		call_end(c, "error", 0);
		return SIP_ERR_NOSPACE;
	}
	snprintf(c->peer_uri, sizeof(c->peer_uri), "%s", target);
	snprintf(c->local_aor, sizeof(c->local_aor), "%s", a->aor);
	c->state = CALL_OUTGOING;
	if (a->cfg->cancel_after_ms)
		c->at_cancel = tp_now_ms() + a->cfg->cancel_after_ms;
	uac_locate(c, OUT_INVITE);
	return 0;
}

static void on_cancel_resp(struct tsx *ct, const struct sip_msg *resp, int status, void *arg)
{
	/* The INVITE's 487 (or 2xx) decides the call, not the CANCEL's 200. */
	(void)ct;
	(void)resp;
	(void)status;
	(void)arg;
}

void uac_cancel(struct call *c)
{
	int err;

	if (c->state != CALL_OUTGOING || c->cancelled)
		return;
	c->cancelled = true;
	if (!c->ict) { /* the INVITE is not out yet: nothing to cancel on the wire */
		call_end(c, "cancelled", 487);
		return;
	}
	if ((err = tsx_client_cancel(c->ict, on_cancel_resp, NULL)) < 0)
		sip_log(SIP_LOG_INFO, "call %s: no CANCEL: %s", c->id, sip_err_name(err));
	/* §9.1: without a provisional response the CANCEL waits for one (the
	 * layer holds it), maybe until timer B; the user asked to give up now,
	 * so the call ends here. A 2xx that still comes is ACKed and ended. */
	if (!c->provisional)
		call_end(c, "cancelled", 487);
}

static void provisional(struct call *c, const struct sip_msg *resp, int status)
{
	struct ev e;

	c->provisional = true;
	if (status == 100 || c->state != CALL_OUTGOING)
		return;
	if (c->dlg.state != DLG_CONFIRMED)
		dlg_uac_update(&c->dlg, &c->dlg, resp); /* an early dialog when tagged */
	if (c->rang)
		return;
	c->rang = true;
	ev_begin(&e, c->app, "ringing");
	ev_str(&e, "call", c->id);
	ev_int(&e, "status", status);
	ev_end(&e);
}

/* The 2xx of another fork than the call's: ACK it and end it (§13.2.2.4). */
static void fork_2xx(struct call *c, const struct sip_msg *resp)
{
	if (c->fork.state == DLG_CONFIRMED &&
	    sip_pl_eq(sip_msg_to(resp)->tag, sip_pl_cstr(c->fork.remote_tag)))
		return; /* a retransmission of the fork we are ending */
	if (dlg_uac_update(&c->fork, &c->dlg, resp) < 0)
		return;
	c->fork_cseq = sip_msg_cseq(resp)->num;
	uac_locate(c, OUT_FORK_BYE);
}

static void first_2xx(struct call *c, struct tsx *ct, const struct sip_msg *resp, int status)
{
	struct sip_wbuf w;

	dlg_uac_update(&c->dlg, &c->dlg, resp);
	c->acked_cseq = c->invite_cseq;
	sip_wbuf_init(&w, c->creds, sizeof(c->creds) - 1);
	dlg_copy_credentials(&w, tsx_request(ct));
	c->creds[w.err ? 0 : w.len] = '\0';
	uac_locate(c, OUT_ACK);
	if (call_take_answer(c, sip_msg_body(resp)) < 0) {
		ev_error(c->app, "call %s: the answer's SDP is unusable", c->id);
		c->state = CALL_ACTIVE;
		c->bye_cause = "error";
		call_hangup(c);
		return;
	}
	call_media_start(c);
	call_answered(c, status);
	if (c->cancelled || c->app->stopping)
		call_hangup(c); /* the 2xx crossed our CANCEL: the call must end */
}

static void reinvite_2xx(struct call *c, const struct sip_msg *resp)
{
	dlg_target_refresh(&c->dlg, resp);
	c->acked_cseq = c->invite_cseq;
	uac_locate(c, OUT_ACK);
	if (call_take_answer(c, sip_msg_body(resp)) == 0)
		call_media_start(c);
	call_local_hold_done(c);
}

static void on_2xx(struct call *c, struct tsx *ct, const struct sip_msg *resp, int status)
{
	const struct sip_addr *to = sip_msg_to(resp);
	uint32_t cseq = sip_msg_cseq(resp)->num;

	if (!to || !to->tag.len)
		return;
	if (c->dlg.state == DLG_CONFIRMED && !sip_pl_eq(to->tag, sip_pl_cstr(c->dlg.remote_tag))) {
		fork_2xx(c, resp);
		return;
	}
	if (c->dlg.state == DLG_CONFIRMED && cseq == c->acked_cseq) {
		if (c->ack)
			ua_send(&c->app->ua, &c->ack_to, c->ack, c->ack_len); /* a retransmission */
		return;
	}
	if (c->state == CALL_ENDED) { /* the caller gave up meanwhile */
		memset(&c->fork, 0, sizeof(c->fork));
		fork_2xx(c, resp);
		return;
	}
	c->auth_tries = 0;
	if (c->ict_reinvite && cseq == c->invite_cseq)
		reinvite_2xx(c, resp);
	else if (c->dlg.state != DLG_CONFIRMED)
		first_2xx(c, ct, resp, status);
}

/* §14.1: after a 491 the owner of the Call-ID waits 2.1-4 s, the other
 * side 0-2 s, in units of 10 ms. */
static unsigned glare_wait_ms(bool owner)
{
	uint16_t r;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = 0;
	return owner ? 2100 + (r % 191) * 10 : (r % 201) * 10;
}

static void failed(struct call *c, const struct sip_msg *resp, int status)
{
	bool re = c->ict_reinvite;

	if (resp && (status == 401 || status == 407) && c->auth_tries < 2 &&
	    dlg_auth_update(&c->app->auth, resp) == 0) {
		c->auth_tries++;
		if (!re) { /* the retry is a new INVITE outside any dialog */
			c->dlg.remote_tag[0] = '\0';
			c->dlg.nroute = 0;
			c->dlg.state = DLG_NONE;
			snprintf(c->dlg.remote_target, DLG_URI_MAX, "%s", c->peer_uri);
		}
		uac_locate(c, re ? OUT_REINVITE : OUT_INVITE);
		return;
	}
	if (!re && !resp && (status == 503 || status == 408) && !c->cancelled &&
	    c->hops.cur + 1 < c->hops.n) {
		/* RFC 3263 §4.3: a transport error or a timeout moves on to the
		 * next target, in a new transaction. */
		c->hops.cur++;
		sip_log(SIP_LOG_INFO, "call %s: INVITE got %d: next target", c->id, status);
		send_invite(c, &c->hops.t[c->hops.cur], false);
		return;
	}
	if (!re) {
		call_end(c,
		         status == 487            ? "cancelled"
		         : !resp && status == 408 ? "timeout"
		         : resp                   ? "rejected"
		                                  : "error",
		         status);
		return;
	}
	if (status == 491) {
		unsigned ms = glare_wait_ms(c->dlg.caller);

		sip_log(SIP_LOG_INFO, "call %s: re-INVITE glare (491): again in %u ms", c->id, ms);
		c->at_glare = tp_now_ms() + ms;
	} else if (status == 408 || status == 481) {
		call_hangup(c); /* §14.1: the dialog is gone */
	} else {
		c->want_dir = c->held_local ? SDP_SENDONLY : SDP_SENDRECV; /* nothing changed */
		c->offer_ours = false;
	}
}

/* The end of a transaction: it no longer names the call. */
static void tsx_ended(struct call *c, struct tsx *ct)
{
	c->pending--;
	if (c->ict == ct) {
		tsx_unref(c->ict);
		c->ict = NULL;
	}
}

static void on_invite_resp(struct tsx *ct, const struct sip_msg *resp, int status, void *arg)
{
	struct call *c = arg;

	pthread_mutex_lock(&c->app->mu);
	if (!resp && !status) {
		tsx_ended(c, ct);
	} else if (resp && status < 200) {
		provisional(c, resp, status);
	} else {
		if (ct == c->ict)
			c->ict_final = true;
		if (resp && status < 300)
			on_2xx(c, ct, resp, status);
		else if (c->state != CALL_ENDED && c->ict == ct)
			failed(c, resp, status);
	}
	pthread_mutex_unlock(&c->app->mu);
}

static void on_bye_resp(struct tsx *ct, const struct sip_msg *resp, int status, void *arg)
{
	struct call *c = arg;

	(void)ct;
	pthread_mutex_lock(&c->app->mu);
	if (!resp && !status) {
		c->pending--;
	} else if (resp && status < 200) {
		/* provisional: wait */
	} else if (resp && (status == 401 || status == 407) && c->auth_tries < 2 &&
	           dlg_auth_update(&c->app->auth, resp) == 0) {
		c->auth_tries++;
		uac_locate(c, OUT_BYE);
	} else {
		call_end(c, c->bye_cause, 0); /* any final answer, or none, ends it */
	}
	pthread_mutex_unlock(&c->app->mu);
}

void uac_stray_2xx(struct app *a, const struct sip_msg *resp)
{
	const struct sip_addr *from = sip_msg_from(resp), *to = sip_msg_to(resp);
	const struct sip_cseq *cs = sip_msg_cseq(resp);

	if (!from || !to || !cs || cs->method_id != SIP_METHOD_INVITE)
		return;
	for (struct call *c = a->calls; c; c = c->next) {
		if (!sip_pl_eq(sip_msg_call_id(resp), sip_pl_cstr(c->dlg.call_id)) ||
		    !sip_pl_eq(from->tag, sip_pl_cstr(c->dlg.local_tag)))
			continue;
		if (sip_pl_eq(to->tag, sip_pl_cstr(c->dlg.remote_tag)) &&
		    cs->num == c->acked_cseq && c->ack)
			ua_send(&a->ua, &c->ack_to, c->ack, c->ack_len);
		else if (!sip_pl_eq(to->tag, sip_pl_cstr(c->dlg.remote_tag)))
			fork_2xx(c, resp);
		return;
	}
}
