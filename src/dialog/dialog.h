/*
 * dialog.h — the session layer's UA core pieces (RFC 3261 §8, §12-§15,
 * §22): dialogs (id, early/confirmed, route set, remote target, CSeq),
 * requests built inside or outside one, the 2xx retransmission schedule
 * of a UAS, a digest client, and the REGISTER refresh arithmetic.
 *
 * Nothing here touches a socket or a clock: the user agent (src/ua) sends
 * what these functions write and passes the time in. A struct dlg holds
 * its strings inline (no allocation), so a call can embed one; its fields
 * are read by the user agent and changed only through these functions.
 */
#ifndef SIPD_DIALOG_H
#define SIPD_DIALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "libsip/build.h"
#include "libsip/digest.h"
#include "libsip/msg.h"

#define DLG_URI_MAX 256
#define DLG_TAG_MAX 128
#define DLG_MAX_ROUTE 8

enum dlg_state {
	DLG_NONE = 0,  /* a UAC's request not answered with a tag yet */
	DLG_EARLY,     /* a 101-199 with a To tag (§12.1) */
	DLG_CONFIRMED, /* a 2xx */
};

struct dlg {
	enum dlg_state state;
	char call_id[DLG_URI_MAX];
	char local_tag[DLG_TAG_MAX], remote_tag[DLG_TAG_MAX];
	char local_uri[DLG_URI_MAX], remote_uri[DLG_URI_MAX]; /* From / To URIs */
	char remote_target[DLG_URI_MAX];
	char route[DLG_MAX_ROUTE][DLG_URI_MAX]; /* URIs, in the order Route lists them */
	size_t nroute;
	uint32_t local_cseq;  /* last CSeq we sent (0: none yet) */
	uint32_t remote_cseq; /* last CSeq the peer sent, when remote_cseq_set */
	bool remote_cseq_set;
	bool caller; /* we sent the INVITE that made it (owner of the Call-ID) */
};

/* Starts a UAC's pre-dialog for an out-of-dialog request (§8.1.1): From
 * local_uri with tag local_tag, To and Request-URI target, Call-ID call_id.
 * Strings too long for the struct give SIP_ERR_NOSPACE. */
int dlg_uac_init(struct dlg *d, const char *local_uri, const char *target, const char *call_id,
                 const char *local_tag);

/* The UAC's dialog from a 101-299 response with a To tag to the request
 * of pre (§12.1.2): remote tag, route set the Record-Route reversed, remote
 * target the Contact; early for 1xx, confirmed for 2xx. d may be pre.
 * SIP_ERR_NOT_FOUND without a To tag, SIP_ERR_ADDR for bad headers. */
int dlg_uac_update(struct dlg *d, const struct dlg *pre, const struct sip_msg *resp);

/* The UAS's dialog from a dialog-creating request (§12.1.1): route set the
 * Record-Route in order, remote target its Contact, remote CSeq its CSeq,
 * local tag local_tag; confirmed (the caller sends the 2xx). Errors as
 * above. */
int dlg_uas_new(struct dlg *d, const struct sip_msg *req, const char *local_tag);

/* Target refresh (§12.2): a re-INVITE or its 2xx replaces the remote
 * target with its Contact. 0, or SIP_ERR_NOT_FOUND without a Contact. */
int dlg_target_refresh(struct dlg *d, const struct sip_msg *m);

/* §12.2.2: a request inside the dialog must not have a lower CSeq than
 * the last; records it. 0, or SIP_ERR_RANGE (answer 500). ACK and CANCEL
 * carry the INVITE's number and are not checked. */
int dlg_remote_cseq(struct dlg *d, const struct sip_msg *req);

/* True when req (received) belongs to d: Call-ID, its To tag is our tag,
 * its From tag the remote tag. */
bool dlg_match_request(const struct dlg *d, const struct sip_msg *req);

/* True when the route set's first URI has no lr parameter: the strict
 * routing rules of §12.2.1.1 apply. */
bool dlg_strict_route(const struct dlg *d);

/* The URI the next hop is found from (§12.2.1.1, §8.1.2): the first of
 * the route set, else the remote target. */
const char *dlg_next_hop(const struct dlg *d);

/* The Request-URI of the dialog's next request: the remote target, or
 * the strict router's URI (§12.2.1.1). The digest-uri of its credentials. */
const char *dlg_request_uri(const struct dlg *d);

/* What a request needs besides the dialog. */
struct dlg_req {
	const char *method;  /* "INVITE", "BYE", "ACK", ... */
	const char *via;     /* the whole Via value, branch included */
	const char *contact; /* Contact value, or NULL */
	uint32_t cseq;       /* 0: the next local CSeq (counted); ACK: the INVITE's */
};

/* Writes a request of the dialog (or pre-dialog): the Request-URI and
 * Route headers per the loose and strict rules of §12.2.1.1, Via,
 * Max-Forwards, From, To (with the remote tag once known), Call-ID, CSeq,
 * Contact. The caller adds headers and calls sip_build_finish(). Errors
 * in w->err. */
void dlg_request(struct dlg *d, struct sip_wbuf *w, const struct dlg_req *r);

/* Copies the request's Record-Route lines into a response being built
 * (§12.1.1: a dialog-creating response carries them). */
void dlg_copy_record_route(struct sip_wbuf *w, const struct sip_msg *req);

/* Copies the Authorization and Proxy-Authorization lines of req (an ACK
 * for a 2xx carries the INVITE's credentials, §22.1). */
void dlg_copy_credentials(struct sip_wbuf *w, const struct sip_msg *req);

/* ---- the UAS's 2xx retransmissions (§13.3.1.4) ------------------------------ */

struct dlg_rtx {
	bool active;
	unsigned interval_ms, t2_ms;
	uint64_t next_ms, give_up_ms;
};

enum dlg_rtx_action {
	DLG_RTX_WAIT,    /* nothing to do now */
	DLG_RTX_RESEND,  /* send the 2xx again */
	DLG_RTX_GIVE_UP, /* 64*T1 without ACK: end the session (BYE) */
};

/* Starts the schedule when the 2xx is first sent: again after T1, then
 * doubling up to T2, giving up at 64*T1. */
void dlg_rtx_start(struct dlg_rtx *r, uint64_t now_ms, unsigned t1_ms, unsigned t2_ms);
/* What to do at now_ms (advances the schedule on RESEND, stops on
 * GIVE_UP). An inactive schedule always WAITs. */
enum dlg_rtx_action dlg_rtx_poll(struct dlg_rtx *r, uint64_t now_ms);
/* The ACK came. */
void dlg_rtx_stop(struct dlg_rtx *r);

/* ---- digest client (RFC 3261 §22.2, §22.3; RFC 7616; RFC 8760) -------------- */

#define DLG_AUTH_MAX 4

struct dlg_auth_ch {
	bool proxy; /* Proxy-Authenticate (else WWW-Authenticate) */
	enum sip_digest_alg alg;
	bool qop; /* qop=auth offered: answered with nc and cnonce */
	char realm[128], nonce[256], opaque[256];
	uint32_t nc; /* requests answered with this nonce */
};

struct dlg_auth {
	char user[128], password[128];
	struct dlg_auth_ch ch[DLG_AUTH_MAX];
	size_t nch;
};

/* Credentials: digest username and password (copied, truncated to fit). */
void dlg_auth_init(struct dlg_auth *a, const char *user, const char *password);

/* Takes the challenges of a 401/407: per realm the strongest algorithm we
 * can answer (SHA-256 over MD5), replacing that realm's earlier nonce (a
 * nonce seen again keeps its count). 0 when a retry can carry credentials;
 * SIP_ERR_AUTH with no password or no usable challenge. */
int dlg_auth_update(struct dlg_auth *a, const struct sip_msg *resp);

/* Writes one Authorization / Proxy-Authorization line per stored challenge
 * for method and digest-uri uri, counting nc per nonce, with a random
 * cnonce. Errors in w->err (SIP_ERR_UNSUPPORTED when a hash fails). */
void dlg_auth_write(struct dlg_auth *a, struct sip_wbuf *w, const char *method, struct sip_pl uri);

/* ---- registration (§10.2.4) ------------------------------------------------- */

/* The expiry the registrar granted: the expires parameter of the 200's
 * Contact that is ours (URI equality, §19.1.4), else its Expires header,
 * else asked. */
uint32_t dlg_reg_granted(const struct sip_msg *ok, struct sip_pl our_contact, uint32_t asked);

/* Milliseconds after the 200 at which to send the refresh: about half the
 * granted time, so a lost REGISTER still has time to be retried, and at
 * least one second. */
uint64_t dlg_reg_refresh_ms(uint32_t granted_s);

#endif /* SIPD_DIALOG_H */
