/*
 * app.h — the sipua program's state, shared by its files: the options
 * (cli.c), the user agent context with its calls (call.c, invite.c,
 * uas.c), the registration client (register.c) and the events printed on
 * stdout (events.c).
 *
 * Threads: the transport worker runs every SIP callback and the 10 ms
 * tick that drives the calls' timers; the resolver thread reports name
 * lookups; the main thread reads stdin and signals. All of them take
 * app.mu, a recursive mutex because the layers below may call back inline
 * (a send error reported inside tsx_client_new, a numeric host resolved
 * inside rs_resolve). The media engine's thread never takes it: its DTMF
 * reports only print an event.
 */
#ifndef SIPD_UA_APP_H
#define SIPD_UA_APP_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "dialog/dialog.h"
#include "media/media.h"
#include "media/sdp.h"
#include "ua.h"

/* ---- options (cli.c) --------------------------------------------------------- */

struct sipua_cfg {
	const char *user, *password, *auth_user, *proxy, *listen, *dns;
	const char *play, *record, *dtmf;
	const char *tls_ca, *tls_cert, *tls_key; /* TLS: NULL for none */
	uint16_t rtp_lo, rtp_hi;
	bool loop, echo, json, auto_answer;
	unsigned duration_ms, hold_after_ms, resume_after_ms, cancel_after_ms, ring_ms;
	unsigned max_calls, calls, expires, answer_status;
	struct tsx_cfg tsx;
	int log_level;
	const char *cmd;    /* "register", "call", "answer", "options"; NULL: interactive */
	const char *target; /* the URI of call and options */
	char **owned;       /* the --config file's values, which the strings above may point into */
	size_t nowned;
};

/* Fills cfg from --config FILE then the command line. Returns 0, or the
 * exit status to leave with (2 bad usage, 3 for --help: exit 0). */
int cli_parse(struct sipua_cfg *cfg, int argc, char **argv);
void cli_free(struct sipua_cfg *cfg);
void cli_usage(FILE *f);

/* ---- calls ------------------------------------------------------------------- */

enum call_state {
	CALL_OUTGOING, /* our INVITE is pending */
	CALL_INCOMING, /* an INVITE came, not answered yet */
	CALL_ACTIVE,   /* answered (2xx sent or received) */
	CALL_ENDING,   /* our BYE is pending */
	CALL_ENDED,
};

/* What a located request is (the request is built once its next hop, and
 * so its transport, is known). */
enum call_out {
	OUT_INVITE, /* the initial INVITE, again after a challenge */
	OUT_REINVITE,
	OUT_ACK,
	OUT_BYE,
	OUT_FORK_BYE, /* ends an extra dialog of a forked INVITE */
};

struct app;

struct call {
	struct call *next;
	struct app *app;
	char id[16];
	bool uac;
	enum call_state state;
	struct dlg dlg;         /* UAC: the pre-dialog until a response with a tag */
	struct ua_targets hops; /* where the initial INVITE goes (RFC 3263 order) */
	char peer_uri[DLG_URI_MAX], local_aor[DLG_URI_MAX]; /* for the events */
	struct tsx *ict; /* our pending INVITE or re-INVITE (referenced) */
	bool ict_reinvite;
	bool ict_final;       /* it has its final response (2xx: Accepted until timer M) */
	uint32_t invite_cseq; /* CSeq of our last INVITE (the ACK's) */
	struct tsx *ist;      /* the INVITE we answer (referenced) until its end */
	char *ok;             /* the 2xx we retransmit until the ACK (UAS) */
	size_t ok_len;
	struct dlg_rtx rtx;
	bool ok_reinvite; /* that 2xx answers a re-INVITE */
	char *ack;        /* our ACK for the last 2xx, for its retransmissions */
	size_t ack_len;
	struct tsx_peer ack_to;
	uint32_t acked_cseq; /* the INVITE the ACK in ack is for */
	char creds[2048];    /* our INVITE's credentials, which its ACK repeats */
	struct dlg fork;     /* the extra dialog of a forked 2xx being ended */
	uint32_t fork_cseq;
	unsigned auth_tries, pending;
	bool cancelled;        /* we sent (or meant to send) CANCEL */
	bool rang;             /* a ringing event was given */
	bool provisional;      /* some 1xx came: a CANCEL can go out (§9.1) */
	const char *bye_cause; /* cause of the end once our BYE is answered */
	/* media */
	struct media_stream *ms;
	struct sdp_session offer; /* the offer awaiting its answer (ours or theirs) */
	bool offer_ours, offer_remote;
	uint64_t sdp_id, sdp_ver;
	enum sdp_dir want_dir; /* sendrecv, or sendonly while we hold */
	bool held_remote, held_local;
	struct media_params mp;
	bool media_up;
	/* times (ms of tp_now_ms; 0: not set) */
	uint64_t t_start, t_answer, t_end;
	uint64_t at_bye, at_dtmf, at_hold, at_resume, at_cancel, at_answer, at_glare, at_free;
	int status;        /* the INVITE's final status */
	const char *cause; /* when ended */
};

struct reg_client;

struct app {
	struct sipua_cfg *cfg;
	struct ua ua;
	pthread_mutex_t mu;
	pthread_mutex_t out_mu; /* stdout, for the media thread's events too */
	struct media_engine *media;
	struct dlg_auth auth;
	struct reg_client *reg;
	struct call *calls; /* newest first */
	unsigned next_id;
	unsigned started, ended, good; /* good: answered and ended by a BYE */
	bool stopping;
	bool registered_once;
	char aor[DLG_URI_MAX];         /* our identity, From of our requests */
	char contact[DLG_URI_MAX];     /* "<sip:user@ip:port>" */
	char contact_tcp[DLG_URI_MAX]; /* the same with ;transport=tcp */
	char contact_tls[DLG_URI_MAX]; /* ;transport=tls (sips: for a sips: identity) */
	char local_ip[64];             /* numeric, for SDP */
};

/* Our Contact for messages over proto. */
static inline const char *app_contact(const struct app *a, enum tp_proto proto)
{
	return proto == TP_TCP ? a->contact_tcp : proto == TP_TLS ? a->contact_tls : a->contact;
}

/* call.c: the call object and its media. */
struct call *call_new(struct app *a, bool uac);
int call_offer(struct call *c, char *body, size_t cap);
int call_answer_sdp(struct call *c, struct sip_pl offer, char *body, size_t cap);
int call_take_answer(struct call *c, struct sip_pl body);
void call_media_start(struct call *c);
void call_remote_hold(struct call *c);
void call_local_hold_done(struct call *c);
void call_answered(struct call *c, int status);
void call_end(struct call *c, const char *cause, int status);
void call_hangup(struct call *c);
void call_hold(struct call *c, bool hold);
void call_dtmf(struct call *c, const char *digits);
void call_tick(struct call *c, uint64_t now);
void call_free(struct call *c);
struct call *call_by_id(struct app *a, const char *id);
void app_status(struct app *a);

/* invite.c: the UAC side (INVITE, ACK for every 2xx, forks, CANCEL,
 * re-INVITE, BYE). */
int uac_call(struct app *a, const char *target);
void uac_locate(struct call *c, enum call_out kind);
void uac_cancel(struct call *c);
void uac_stray_2xx(struct app *a, const struct sip_msg *resp);

/* uas.c: requests that come to us. */
void uas_request(struct app *a, struct tsx *st, const struct sip_msg *req,
                 const struct tsx_peer *from);
void uas_ack(struct app *a, const struct sip_msg *ack);
int uas_answer(struct call *c);
void uas_reject(struct call *c, int status);
void uas_tick(struct call *c, uint64_t now);

/* register.c: the registration client. */
int reg_start(struct app *a);
void reg_stop(struct app *a);
/* 1 registered, 0 pending, -1 failed (status in *status), 2 unregistered */
int reg_state(struct app *a, int *status);
void reg_tick(struct app *a, uint64_t now);
void reg_free(struct app *a);

/* events.c: one JSON object per line with --json, else readable lines. */
struct ev {
	struct app *app;
	char json[2048], text[2048];
	size_t jlen, tlen;
};
void ev_begin(struct ev *e, struct app *a, const char *event);
void ev_str(struct ev *e, const char *key, const char *v);
void ev_int(struct ev *e, const char *key, long long v);
void ev_num(struct ev *e, const char *key, double v);
void ev_end(struct ev *e);
void ev_ended(struct call *c, const struct media_stats *st);
void ev_error(struct app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* SIPD_UA_APP_H */
