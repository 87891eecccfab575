/*
 * policy.c — how sipd dispatches a request that started a transaction:
 * REGISTER for its domains to the registrar (registrar.c); requests for
 * the server itself answered here — OPTIONS (RFC 3261 §11.2), unknown
 * methods (501 + Allow, §8.2.1), known ones it does not serve (405);
 * unknown option tags (420 + Unsupported, §8.2.2.3, §16.3 step 6);
 * Max-Forwards 0 on a request it would forward (483, §16.3 step 3); CANCEL
 * (§16.10); everything else to the proxy (proxy.c).
 */
#include <string.h>

#include "libsip/hdr.h"
#include "libsip/log.h"
#include "sipd.h"

#define ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER"
#define ACCEPT "application/sdp"
#define SUPPORTED ""
#define ACCEPT_LANGUAGE "en"

bool sipd_is_local_host(const struct sipd *s, const struct sip_uri *uri)
{
	const struct sipd_cfg *cfg = s->cfg;

	if (uri->scheme != SIP_SCHEME_SIP && uri->scheme != SIP_SCHEME_SIPS)
		return false;
	for (unsigned i = 0; i < cfg->ndomains; i++)
		if (sip_pl_caseeq_str(uri->host, cfg->domains[i]))
			return true;
	for (unsigned i = 0; i < s->nlocal; i++)
		if (sip_pl_caseeq_str(uri->host, s->local[i].host) &&
		    (uri->port                        ? uri->port
		     : uri->scheme == SIP_SCHEME_SIPS ? 5061
		                                      : 5060) == s->local[i].port)
			return true;
	return false;
}

/* The first option tag of hdr (Require or Proxy-Require) we do not
 * support; this version supports none. */
static const struct sip_hdr *unsupported_tag(const struct sip_msg *req, enum sip_hdr_id id)
{
	size_t pos = 0;
	const struct sip_hdr *h = sip_msg_hdr_next(req, id, &pos);

	return h && h->value.len ? h : NULL;
}

/* 420 with Unsupported listing every tag of the header (§8.2.2.3). */
static void reply_420(struct sipd *s, struct tsx *st, const struct sip_msg *req, enum sip_hdr_id id)
{
	struct sipd_extra extra[16];
	size_t n = 0, pos = 0;
	const struct sip_hdr *h;

	while ((h = sip_msg_hdr_next(req, id, &pos)) && n < 16)
		if (h->value.len)
			extra[n++] = (struct sipd_extra){"Unsupported", h->value};
	sipd_reply(s, st, req, 420, NULL, extra, n);
}

static const struct sipd_extra options_hdrs[] = {
        {"Allow", SIP_PL(ALLOW)},
        {"Accept", SIP_PL(ACCEPT)},
        {"Accept-Language", SIP_PL(ACCEPT_LANGUAGE)},
        {"Supported", SIP_PL(SUPPORTED)},
};

static void reply_options(struct sipd *s, struct tsx *st, const struct sip_msg *req)
{
	sipd_reply(s, st, req, 200, NULL, options_hdrs,
	           sizeof(options_hdrs) / sizeof(options_hdrs[0]));
}

bool sipd_handle_stateless(struct sipd *s, const struct sip_msg *req, const struct tsx_peer *peer)
{
	const struct sip_uri *ruri = sip_msg_ruri(req);

	if (sip_msg_method(req) != SIP_METHOD_OPTIONS || ruri->user.p ||
	    unsupported_tag(req, SIP_HDR_REQUIRE) || !sipd_is_local_host(s, ruri))
		return false;
	sipd_reply_stateless(s, req, peer, 200, options_hdrs,
	                     sizeof(options_hdrs) / sizeof(options_hdrs[0]));
	return true;
}

static void reply_allow(struct sipd *s, struct tsx *st, const struct sip_msg *req, int status)
{
	const struct sipd_extra allow = {"Allow", SIP_PL(ALLOW)};

	sipd_reply(s, st, req, status, NULL, &allow, 1);
}

/* A request for this server itself (no user part): it acts as a UAS. */
static void to_self(struct sipd *s, struct tsx *st, const struct sip_msg *req)
{
	if (unsupported_tag(req, SIP_HDR_REQUIRE) && sip_msg_method(req) != SIP_METHOD_CANCEL) {
		reply_420(s, st, req, SIP_HDR_REQUIRE);
		return;
	}
	switch (sip_msg_method(req)) {
	case SIP_METHOD_OPTIONS: reply_options(s, st, req); return;
	case SIP_METHOD_BYE: sipd_reply(s, st, req, 481, NULL, NULL, 0); return;
	case SIP_METHOD_OTHER: reply_allow(s, st, req, 501); return;
	default: reply_allow(s, st, req, 405); return;
	}
}

/* A request a proxy would forward (§16.3 checks, then routing). */
static void to_route(struct sipd *s, struct tsx *st, const struct sip_msg *req,
                     const struct tsx_peer *peer)
{
	if (sip_msg_max_forwards(req) == 0) {
		sipd_reply(s, st, req, 483, NULL, NULL, 0);
		return;
	}
	if (unsupported_tag(req, SIP_HDR_PROXY_REQUIRE)) {
		reply_420(s, st, req, SIP_HDR_PROXY_REQUIRE);
		return;
	}
	const struct sip_addr *to = sip_msg_to(req);
	if (sip_msg_method(req) == SIP_METHOD_INVITE && !(to && to->tag.len))
		sipd_inc(&sipd_ctr(&s->metrics)->calls); /* a call attempt, not a re-INVITE */
	sipd_proxy(s, st, req, peer);
}

void sipd_handle_request(struct sipd *s, struct tsx *st, const struct sip_msg *req,
                         const struct tsx_peer *peer)
{
	const struct sip_uri *ruri = sip_msg_ruri(req);
	enum sip_method method = sip_msg_method(req);

	if (method == SIP_METHOD_INVITE)
		sipd_reply(s, st, req, 100, NULL, NULL, 0); /* §16.2: at once */
	if (method == SIP_METHOD_CANCEL) {
		struct tsx *inv = tsx_cancel_target(st);

		/* §16.10: 200 to a CANCEL that matches, at once; then the
		 * INVITE's pending branches are cancelled. */
		sipd_reply(s, st, req, inv ? 200 : 481, NULL, NULL, 0);
		if (inv) {
			sipd_proxy_cancel(s, inv);
			tsx_unref(inv);
		}
		return;
	}
	if (method == SIP_METHOD_REGISTER) {
		if (sipd_is_local_host(s, ruri))
			sipd_register(s, st, peer);
		else
			sipd_reply(s, st, req, 403, "Forbidden (Not a Domain of This Server)", NULL,
			           0);
		return;
	}
	if (!ruri->user.p && sipd_is_local_host(s, ruri))
		to_self(s, st, req);
	else
		to_route(s, st, req, peer);
}
