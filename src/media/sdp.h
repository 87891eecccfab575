/*
 * sdp.h — SDP for the user agent's audio: RFC 4566 parse and build, and the
 * RFC 3264 offer/answer model reduced to what a G.711 phone needs (PCMU,
 * PCMA, RFC 4733 telephone-event, ptime, direction attributes).
 *
 * Everything here is pure: bytes in, struct out and back; no sockets, clocks
 * or files, so the parser is fuzzable (fuzz/fuzz_sdp.c).
 */
#ifndef LIBSIP_MEDIA_SDP_H
#define LIBSIP_MEDIA_SDP_H

#include <stddef.h>
#include <stdint.h>

#include "libsip/base.h"

#define SDP_MAX_MEDIA 4
#define SDP_MAX_FMT 8

enum sdp_dir { SDP_SENDRECV, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE };

struct sdp_fmt {
	uint8_t pt;
	char enc[16];
	unsigned rate;
	char fmtp[48];
};

struct sdp_media {
	char type[16];  /* "audio", "video", ... */
	uint16_t port;  /* 0: rejected/disabled */
	char proto[24]; /* "RTP/AVP" */
	char addr[64];  /* effective c= address (media level, else session level) */
	struct sdp_fmt fmt[SDP_MAX_FMT];
	size_t nfmt;
	enum sdp_dir
	        dir;    /* from a=sendrecv etc., media level over session level; default sendrecv */
	unsigned ptime; /* 0 when absent */
};

struct sdp_session {
	uint64_t id, version; /* o= sess-id, sess-version */
	char origin_user[32], origin_addr[64];
	struct sdp_media media[SDP_MAX_MEDIA];
	size_t nmedia;
};

/* Parses len bytes (no NUL needed). 0, or SIP_ERR_SYNTAX with a reason in err. */
int sdp_parse(struct sdp_session *s, const char *buf, size_t len, char *err, size_t errcap);
/* Writes s as SDP text (CRLF lines). Length, or SIP_ERR_NOSPACE. */
int sdp_build(const struct sdp_session *s, char *buf, size_t cap);

/* What the local side offers/answers with. */
struct sdp_local {
	const char *addr; /* numeric IP for c= and o= */
	uint16_t port;    /* RTP port (RTCP = port+1) */
	enum sdp_dir dir; /* what we want: sendrecv normally, sendonly to hold */
	unsigned ptime;   /* 20 */
};

/* The negotiated result a stream needs. */
struct media_params {
	char remote_addr[64];
	uint16_t remote_port; /* port 0: media rejected/none */
	uint8_t pt;           /* 0 PCMU or 8 PCMA */
	int te_pt;            /* telephone-event payload type, -1 when not agreed */
	enum sdp_dir dir;     /* OUR effective direction: may we send / receive */
	unsigned ptime;
};

/* Offer: audio PCMU(0), PCMA(8), telephone-event/8000 (101, fmtp 0-16), a=ptime, direction. */
int sdp_make_offer(struct sdp_session *out, const struct sdp_local *l, uint64_t id,
                   uint64_t version);
/* Answer to an offer: same number of m-lines, non-audio and codec-less ones rejected with port 0,
 * first common codec in the offerer's order, telephone-event kept if offered, direction per
 * RFC 3264 §6.1 (offer sendonly -> recvonly, etc., combined with l->dir). neg filled.
 * SIP_ERR_UNSUPPORTED when no audio stream can be accepted (caller answers 488). */
int sdp_make_answer(struct sdp_session *out, const struct sdp_session *offer,
                    const struct sdp_local *l, uint64_t id, uint64_t version,
                    struct media_params *neg);
/* The offerer's view of the answer. SIP_ERR_UNSUPPORTED if unusable. */
int sdp_take_answer(const struct sdp_session *offer, const struct sdp_session *answer,
                    struct media_params *neg);
/* "sendrecv", "sendonly", "recvonly", "inactive". */
const char *sdp_dir_name(enum sdp_dir d);

#endif /* LIBSIP_MEDIA_SDP_H */
