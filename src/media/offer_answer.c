/*
 * offer_answer.c — the RFC 3264 offer/answer model for one G.711 audio
 * stream: the offer we make, the answer we give to someone else's offer, and
 * what an answer to our offer means for the stream.
 *
 * We speak PCMU (0) and PCMA (8) with RFC 4733 telephone-event. An answer has
 * as many m-lines as the offer (§6): the first usable audio stream is
 * accepted, every other line is rejected with port 0. Directions are kept as
 * two bits (may send, may receive) so that mirroring the peer (§6.1) and
 * honouring our own wish (hold) is one AND.
 */
#include <stdio.h>

#include "media/sdp.h"

#define SDP_TE_PT 101
#define SDP_TE_EVENTS "0-16"
#define SDP_DEFAULT_PTIME 20

static bool dir_sends(enum sdp_dir d)
{
	return d == SDP_SENDRECV || d == SDP_SENDONLY;
}

static bool dir_recvs(enum sdp_dir d)
{
	return d == SDP_SENDRECV || d == SDP_RECVONLY;
}

static enum sdp_dir dir_make(bool send, bool recv)
{
	if (send && recv)
		return SDP_SENDRECV;
	if (send)
		return SDP_SENDONLY;
	return recv ? SDP_RECVONLY : SDP_INACTIVE;
}

/* RFC 2543 put a stream on hold with c=0.0.0.0 instead of a=sendonly; such
 * a peer does not want to receive (RFC 3264 §8.4 asks us to understand it). */
static bool peer_recvs(const struct sdp_media *m)
{
	return dir_recvs(m->dir) && strcmp(m->addr, "0.0.0.0") != 0;
}

static bool enc_is(const struct sdp_fmt *f, const char *name)
{
	return sip_pl_caseeq_str(sip_pl_cstr(f->enc), name) && (f->rate == 8000 || f->rate == 0);
}

/* A payload type our G.711 codec handles: the static 0/8 with their own
 * encoding (the parser names them even without rtpmap). */
static bool fmt_is_g711(const struct sdp_fmt *f)
{
	return (f->pt == 0 && enc_is(f, "PCMU")) || (f->pt == 8 && enc_is(f, "PCMA"));
}

static const struct sdp_fmt *find_te(const struct sdp_media *m)
{
	for (size_t i = 0; i < m->nfmt; i++)
		if (enc_is(&m->fmt[i], "telephone-event"))
			return &m->fmt[i];
	return NULL;
}

static void set_fmt(struct sdp_fmt *f, uint8_t pt, const char *enc, const char *fmtp)
{
	memset(f, 0, sizeof(*f));
	f->pt = pt;
	snprintf(f->enc, sizeof(f->enc), "%s", enc);
	f->rate = 8000;
	snprintf(f->fmtp, sizeof(f->fmtp), "%s", fmtp);
}

static void session_init(struct sdp_session *out, const struct sdp_local *l, uint64_t id,
                         uint64_t version)
{
	memset(out, 0, sizeof(*out));
	out->id = id;
	out->version = version;
	snprintf(out->origin_user, sizeof(out->origin_user), "sipua");
	snprintf(out->origin_addr, sizeof(out->origin_addr), "%s", l->addr ? l->addr : "");
}

static void audio_init(struct sdp_media *m, const struct sdp_local *l)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->type, sizeof(m->type), "audio");
	snprintf(m->proto, sizeof(m->proto), "RTP/AVP");
	snprintf(m->addr, sizeof(m->addr), "%s", l->addr ? l->addr : "");
	m->port = l->port;
	m->ptime = l->ptime ? l->ptime : SDP_DEFAULT_PTIME;
	m->dir = l->dir;
}

int sdp_make_offer(struct sdp_session *out, const struct sdp_local *l, uint64_t id,
                   uint64_t version)
{
	struct sdp_media *m;

	if (!l->addr || !l->addr[0])
		return SIP_ERR_SYNTAX;
	session_init(out, l, id, version);
	m = &out->media[out->nmedia++];
	audio_init(m, l);
	set_fmt(&m->fmt[m->nfmt++], 0, "PCMU", "");
	set_fmt(&m->fmt[m->nfmt++], 8, "PCMA", "");
	set_fmt(&m->fmt[m->nfmt++], SDP_TE_PT, "telephone-event", SDP_TE_EVENTS);
	return 0;
}

/* A rejected m-line (§6): same media and proto, port 0, the offer's formats. */
static void reject(struct sdp_media *a, const struct sdp_media *o)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->type, sizeof(a->type), "%s", o->type);
	snprintf(a->proto, sizeof(a->proto), "%s", o->proto);
	a->nfmt = o->nfmt < 1 ? o->nfmt : 1;
	if (a->nfmt)
		a->fmt[0].pt = o->fmt[0].pt;
	a->dir = SDP_INACTIVE;
}

static bool audio_usable(const struct sdp_media *o)
{
	return sip_pl_caseeq_str(sip_pl_cstr(o->type), "audio") && o->port != 0 &&
	       sip_pl_caseeq_str(sip_pl_cstr(o->proto), "RTP/AVP") && o->addr[0];
}

/* Accepts offered stream o into answer line a, or returns false. */
static bool accept_audio(struct sdp_media *a, const struct sdp_media *o, const struct sdp_local *l,
                         struct media_params *neg)
{
	const struct sdp_fmt *codec = NULL, *te;

	if (!audio_usable(o))
		return false;
	for (size_t i = 0; i < o->nfmt && !codec; i++)
		if (fmt_is_g711(&o->fmt[i]))
			codec = &o->fmt[i];
	if (!codec)
		return false;
	audio_init(a, l);
	set_fmt(&a->fmt[a->nfmt++], codec->pt, codec->pt == 0 ? "PCMU" : "PCMA", "");
	te = find_te(o);
	if (te)
		set_fmt(&a->fmt[a->nfmt++], te->pt, "telephone-event", SDP_TE_EVENTS);
	/* §6.1: we may send only if they receive, receive only if they send. */
	a->dir = dir_make(peer_recvs(o) && dir_sends(l->dir),
	                  dir_sends(o->dir) && dir_recvs(l->dir));

	memset(neg, 0, sizeof(*neg));
	snprintf(neg->remote_addr, sizeof(neg->remote_addr), "%s", o->addr);
	neg->remote_port = o->port;
	neg->pt = codec->pt;
	neg->te_pt = te ? te->pt : -1;
	neg->dir = a->dir;
	/* ptime is what the SDP's author wants to receive (RFC 4566 §6). */
	neg->ptime = o->ptime ? o->ptime : SDP_DEFAULT_PTIME;
	return true;
}

int sdp_make_answer(struct sdp_session *out, const struct sdp_session *offer,
                    const struct sdp_local *l, uint64_t id, uint64_t version,
                    struct media_params *neg)
{
	bool have_audio = false;

	memset(neg, 0, sizeof(*neg));
	neg->te_pt = -1;
	neg->dir = SDP_INACTIVE;
	session_init(out, l, id, version);
	out->nmedia = offer->nmedia < SDP_MAX_MEDIA ? offer->nmedia : SDP_MAX_MEDIA;
	for (size_t i = 0; i < out->nmedia; i++) {
		/* One audio stream per call: a second one is rejected. */
		if (!have_audio && accept_audio(&out->media[i], &offer->media[i], l, neg))
			have_audio = true;
		else
			reject(&out->media[i], &offer->media[i]);
	}
	return have_audio ? 0 : SIP_ERR_UNSUPPORTED;
}

int sdp_take_answer(const struct sdp_session *offer, const struct sdp_session *answer,
                    struct media_params *neg)
{
	memset(neg, 0, sizeof(*neg));
	neg->te_pt = -1;
	neg->dir = SDP_INACTIVE;
	for (size_t i = 0; i < offer->nmedia && i < answer->nmedia; i++) {
		const struct sdp_media *o = &offer->media[i], *a = &answer->media[i];
		const struct sdp_fmt *codec = NULL, *te;

		if (!audio_usable(o) || !audio_usable(a))
			continue;
		/* The answerer lists what it will use; the first G.711 one we
		 * offered is the codec (§6.1 lets it list several). */
		for (size_t k = 0; k < a->nfmt && !codec; k++)
			for (size_t j = 0; j < o->nfmt && !codec; j++)
				if (fmt_is_g711(&a->fmt[k]) && a->fmt[k].pt == o->fmt[j].pt)
					codec = &a->fmt[k];
		if (!codec)
			continue;
		te = find_te(o) ? find_te(a) : NULL;
		snprintf(neg->remote_addr, sizeof(neg->remote_addr), "%s", a->addr);
		neg->remote_port = a->port;
		neg->pt = codec->pt;
		neg->te_pt = te ? te->pt : -1;
		neg->dir = dir_make(peer_recvs(a) && dir_sends(o->dir),
		                    dir_sends(a->dir) && dir_recvs(o->dir));
		neg->ptime = a->ptime ? a->ptime : SDP_DEFAULT_PTIME;
		return 0;
	}
	return SIP_ERR_UNSUPPORTED;
}
