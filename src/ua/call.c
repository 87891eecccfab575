/*
 * call.c — a call: one dialog (invite.c as the caller, uas.c as the
 * callee) tied to one media stream of the engine (src/media). Here: the
 * call's life (made, answered, ended with its summary, freed once no
 * transaction can report on it), the SDP offer and answer of RFC 3264 with
 * a new session version for every description we send, hold and resume,
 * DTMF, and the per-call timers the 10 ms tick drives (--duration,
 * --dtmf, --hold-after, --resume-after, --cancel-after, --ring-ms).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "app.h"
#include "libsip/log.h"

/* On the media engine's thread: only print (the call outlives its stream,
 * which is freed in call_end before the call itself). */
static void on_dtmf(void *arg, char digit, unsigned duration_ms)
{
	struct call *c = arg;
	char d[2] = {digit, '\0'};
	struct ev e;

	ev_begin(&e, c->app, "dtmf");
	ev_str(&e, "call", c->id);
	ev_str(&e, "digit", d);
	ev_int(&e, "duration_ms", duration_ms);
	ev_end(&e);
}

/* --record FILE for the first call; FILE-cN.wav for call cN after it, so
 * concurrent calls never write one file. */
static const char *record_path(struct call *c, char *buf, size_t cap)
{
	const char *f = c->app->cfg->record, *dot;

	if (!f || !strcmp(c->id, "c1"))
		return f;
	dot = strrchr(f, '.');
	if (!dot || strchr(dot, '/'))
		dot = f + strlen(f);
	snprintf(buf, cap, "%.*s-%s%s", (int)(dot - f), f, c->id, dot);
	return buf;
}

struct call *call_new(struct app *a, bool uac)
{
	struct call *c = calloc(1, sizeof(*c));
	char err[256], rec[1024];
	uint32_t rnd;
	int rc;

	if (!c)
		return NULL;
	c->app = a;
	c->uac = uac;
	snprintf(c->id, sizeof(c->id), "c%u", ++a->next_id);
	c->t_start = tp_now_ms();
	c->want_dir = SDP_SENDRECV;
	c->bye_cause = "local-bye";
	if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
		rnd = (uint32_t)c->t_start;
	c->sdp_id = rnd;
	struct media_stream_cfg mc = {
	        .play = a->cfg->play,
	        .loop = a->cfg->loop,
	        .record = record_path(c, rec, sizeof(rec)),
	        .echo = a->cfg->echo,
	        .on_dtmf = on_dtmf,
	        .arg = c,
	};
	if ((rc = media_stream_new(a->media, &c->ms, &mc, err, sizeof(err))) < 0) {
		ev_error(a, "call %s: no media: %s", c->id, err);
		free(c);
		return NULL;
	}
	c->next = a->calls;
	a->calls = c;
	a->started++;
	return c;
}

static struct sdp_local local_sdp(struct call *c)
{
	struct sdp_local l = {
	        .addr = c->app->local_ip,
	        .port = media_stream_port(c->ms),
	        .dir = c->want_dir,
	        .ptime = 20,
	};
	return l;
}

int call_offer(struct call *c, char *body, size_t cap)
{
	struct sdp_local l = local_sdp(c);
	int err;

	if ((err = sdp_make_offer(&c->offer, &l, c->sdp_id, ++c->sdp_ver)) < 0)
		return err;
	c->offer_ours = true;
	return sdp_build(&c->offer, body, cap);
}

static const struct sdp_media *audio(const struct sdp_session *s)
{
	for (size_t i = 0; i < s->nmedia; i++)
		if (!strcmp(s->media[i].type, "audio") && s->media[i].port)
			return &s->media[i];
	return NULL;
}

int call_answer_sdp(struct call *c, struct sip_pl offer, char *body, size_t cap)
{
	struct sdp_local l = local_sdp(c);
	struct sdp_session ans;
	char why[128];
	int err;

	if ((err = sdp_parse(&c->offer, offer.p, offer.len, why, sizeof(why))) < 0) {
		sip_log(SIP_LOG_INFO, "call %s: bad SDP offer: %s", c->id, why);
		return err;
	}
	c->offer_ours = false;
	if ((err = sdp_make_answer(&ans, &c->offer, &l, c->sdp_id, ++c->sdp_ver, &c->mp)) < 0)
		return err;
	return sdp_build(&ans, body, cap);
}

int call_take_answer(struct call *c, struct sip_pl body)
{
	struct sdp_session ans;
	char why[128];
	int err;

	if (!c->offer_ours)
		return SIP_ERR_NOT_FOUND;
	if ((err = sdp_parse(&ans, body.p, body.len, why, sizeof(why))) < 0) {
		sip_log(SIP_LOG_INFO, "call %s: bad SDP answer: %s", c->id, why);
		return err;
	}
	c->offer_ours = false;
	return sdp_take_answer(&c->offer, &ans, &c->mp);
}

void call_media_start(struct call *c)
{
	int err;

	if ((err = media_stream_start(c->ms, &c->mp)) < 0)
		ev_error(c->app, "call %s: media did not start: %s", c->id, sip_err_name(err));
	c->media_up = err == 0;
}

/* held/resumed, with the direction the holding side's offer had. */
static void hold_event(struct call *c, bool held, const char *by, enum sdp_dir dir)
{
	struct ev e;

	ev_begin(&e, c->app, held ? "held" : "resumed");
	ev_str(&e, "call", c->id);
	ev_str(&e, "by", by);
	ev_str(&e, "direction", sdp_dir_name(dir));
	ev_end(&e);
}

/* A re-INVITE we answered: its offer's direction says whether the peer
 * holds the call (sendonly or inactive) or resumes it. */
void call_remote_hold(struct call *c)
{
	const struct sdp_media *m = audio(&c->offer);
	bool held = m && (m->dir == SDP_SENDONLY || m->dir == SDP_INACTIVE);

	if (!m || held == c->held_remote)
		return;
	c->held_remote = held;
	hold_event(c, held, "remote", m->dir);
}

/* Our re-INVITE was answered: the hold or resume took effect. */
void call_local_hold_done(struct call *c)
{
	bool held = c->want_dir != SDP_SENDRECV;

	if (held == c->held_local)
		return;
	c->held_local = held;
	hold_event(c, held, "local", c->want_dir);
	if (held && c->app->cfg->resume_after_ms)
		c->at_resume = tp_now_ms() + c->app->cfg->resume_after_ms;
}

static const char *codec_name(uint8_t pt)
{
	return pt == 0 ? "PCMU" : pt == 8 ? "PCMA" : "unknown";
}

void call_answered(struct call *c, int status)
{
	const struct sipua_cfg *cfg = c->app->cfg;
	uint64_t now = tp_now_ms();
	struct ev e;

	c->state = CALL_ACTIVE;
	c->status = status;
	c->t_answer = now;
	if (cfg->duration_ms)
		c->at_bye = now + cfg->duration_ms;
	if (cfg->dtmf && *cfg->dtmf)
		c->at_dtmf = now + 1000;
	if (cfg->hold_after_ms)
		c->at_hold = now + cfg->hold_after_ms;
	ev_begin(&e, c->app, "answered");
	ev_str(&e, "call", c->id);
	ev_str(&e, "codec", codec_name(c->mp.pt));
	ev_end(&e);
}

void call_end(struct call *c, const char *cause, int status)
{
	struct app *a = c->app;
	struct media_stats st;

	if (c->state == CALL_ENDED)
		return;
	c->state = CALL_ENDED;
	c->t_end = tp_now_ms();
	c->cause = cause;
	if (status)
		c->status = status;
	memset(&st, 0, sizeof(st));
	if (c->ms) {
		media_stream_stats(c->ms, &st);
		media_stream_free(c->ms);
		c->ms = NULL;
	}
	dlg_rtx_stop(&c->rtx);
	ev_ended(c, &st);
	a->ended++;
	if (c->t_answer && (!strcmp(cause, "local-bye") || !strcmp(cause, "remote-bye")))
		a->good++;
	/* Transactions of the call may still report until their timers end
	 * (64*T1 at most, plus T4): only then is it freed. */
	c->at_free = c->t_end + 64ull * a->cfg->tsx.t1_ms + 10000;
}

void call_hangup(struct call *c)
{
	switch (c->state) {
	case CALL_OUTGOING: uac_cancel(c); break;
	case CALL_INCOMING: uas_reject(c, 603); break;
	case CALL_ACTIVE:
		c->state = CALL_ENDING;
		c->at_bye = 0;
		c->auth_tries = 0;
		uac_locate(c, OUT_BYE);
		break;
	case CALL_ENDING:
	case CALL_ENDED: break;
	}
}

void call_hold(struct call *c, bool hold)
{
	if (c->state != CALL_ACTIVE)
		return;
	c->want_dir = hold ? SDP_SENDONLY : SDP_SENDRECV;
	/* One offer at a time (RFC 3264 §4): a pending INVITE either way
	 * means try again shortly. */
	if ((c->ict && !c->ict_final) || c->rtx.active) {
		c->at_glare = tp_now_ms() + 200;
		return;
	}
	c->auth_tries = 0;
	uac_locate(c, OUT_REINVITE);
}

void call_dtmf(struct call *c, const char *digits)
{
	int err;

	if (c->state != CALL_ACTIVE || !c->ms)
		return;
	if ((err = media_stream_dtmf(c->ms, digits)) < 0)
		ev_error(c->app, "call %s: cannot send DTMF: %s", c->id,
		         err == SIP_ERR_UNSUPPORTED ? "the peer took no telephone-event"
		                                    : sip_err_name(err));
}

static bool due(uint64_t *at, uint64_t now)
{
	if (!*at || now < *at)
		return false;
	*at = 0;
	return true;
}

void call_tick(struct call *c, uint64_t now)
{
	if (c->state == CALL_ENDED)
		return;
	if (due(&c->at_cancel, now) && c->state == CALL_OUTGOING)
		uac_cancel(c);
	if (due(&c->at_answer, now) && c->state == CALL_INCOMING)
		uas_answer(c);
	if (due(&c->at_dtmf, now))
		call_dtmf(c, c->app->cfg->dtmf);
	if (due(&c->at_hold, now))
		call_hold(c, true);
	if (due(&c->at_resume, now))
		call_hold(c, false);
	if (due(&c->at_glare, now) && c->state == CALL_ACTIVE)
		call_hold(c, c->want_dir != SDP_SENDRECV);
	if (due(&c->at_bye, now))
		call_hangup(c);
	uas_tick(c, now);
}

void call_free(struct call *c)
{
	if (c->ms)
		media_stream_free(c->ms);
	if (c->ict)
		tsx_unref(c->ict);
	if (c->ist)
		tsx_unref(c->ist);
	free(c->ok);
	free(c->ack);
	free(c);
}

struct call *call_by_id(struct app *a, const char *id)
{
	for (struct call *c = a->calls; c; c = c->next)
		if (id ? !strcmp(c->id, id) : c->state != CALL_ENDED)
			return c;
	return NULL;
}

void app_status(struct app *a)
{
	static const char *const names[] = {"calling", "incoming", "active", "ending", "ended"};
	struct ev e;

	for (struct call *c = a->calls; c; c = c->next) {
		if (c->state == CALL_ENDED)
			continue;
		ev_begin(&e, a, "status");
		ev_str(&e, "call", c->id);
		ev_str(&e, "state", names[c->state]);
		ev_str(&e, "peer", c->peer_uri);
		ev_str(&e, "direction", sdp_dir_name(c->want_dir));
		ev_end(&e);
	}
}
