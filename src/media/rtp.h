/*
 * rtp.h — RTP and RTCP (RFC 3550) on plain buffers: header pack and parse,
 * receive statistics (Appendix A.1, A.3, A.8), RTCP SR/RR/SDES/BYE compound
 * packets. No sockets or clocks: times come in as arguments.
 */
#ifndef LIBSIP_MEDIA_RTP_H
#define LIBSIP_MEDIA_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libsip/base.h"

#define RTP_HDR_LEN 12

struct rtp_hdr {
	bool marker;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	uint8_t cc;             /* CSRC count; the CSRCs themselves are skipped */
	const uint8_t *payload; /* into the parsed buffer (parse only) */
	size_t plen;
};

/* Header h and plen payload octets into buf (no CSRC, extension or padding).
 * Length, or SIP_ERR_NOSPACE. */
int rtp_pack(uint8_t *buf, size_t cap, const struct rtp_hdr *h, const uint8_t *payload,
             size_t plen);
/* Parses an RTP packet of len octets: version 2, CSRCs, header extension and
 * padding checked against len. 0 or SIP_ERR_SYNTAX. */
int rtp_parse(struct rtp_hdr *h, const uint8_t *buf, size_t len);
/* n random octets from the kernel (SSRC, sequence and timestamp bases). */
void rtp_random(void *out, size_t n);

/* Receive statistics of one source (RFC 3550 A.1 and A.8). */
struct rtp_stats {
	uint32_t ssrc;
	uint16_t max_seq;
	uint32_t cycles; /* shifted count of sequence number cycles */
	uint32_t base_seq;
	uint32_t bad_seq;
	uint32_t probation;
	uint32_t received;
	uint32_t expected_prior, received_prior;
	uint32_t transit;
	uint32_t jitter; /* estimate in timestamp units, scaled by 16 */
	bool have_transit;
};

void rtp_stats_init(struct rtp_stats *s, uint32_t ssrc, uint16_t seq);
/* Accounts one packet's sequence number (A.1). False while the source is on
 * probation or for the first packet after a big jump. */
bool rtp_stats_update(struct rtp_stats *s, uint16_t seq);
/* Feeds the jitter estimate (A.8) with a packet's timestamp and its arrival
 * time in the same units. Only for packets whose timestamp tracks the
 * sampling clock (audio, not repeated RFC 4733 event packets). */
void rtp_stats_transit(struct rtp_stats *s, uint32_t rtp_ts, uint32_t arrival);
uint32_t rtp_stats_ext_max(const struct rtp_stats *s);
/* Cumulative packets lost (A.3; negative with duplicates). */
int32_t rtp_stats_lost(const struct rtp_stats *s);
/* Interarrival jitter in timestamp units (A.8). */
uint32_t rtp_stats_jitter(const struct rtp_stats *s);

/* ---- RTCP ---------------------------------------------------------------- */

struct rtcp_rb {
	uint32_t ssrc;
	uint8_t fraction;
	int32_t lost; /* 24-bit signed */
	uint32_t ext_max, jitter, lsr, dlsr;
};

/* What a compound RTCP packet says (the parts we use). */
struct rtcp_info {
	uint32_t ssrc; /* of the SR/RR sender */
	bool sr, bye;
	uint64_t ntp; /* SR only */
	uint32_t rtp_ts, pkts, octets;
	struct rtcp_rb rb[4];
	size_t nrb;
	char cname[64];
};

/* What we report: our sender info (when we sent since the last report) and
 * at most one reception report block. */
struct rtcp_out {
	uint32_t ssrc;
	bool sender;
	uint64_t ntp;
	uint32_t rtp_ts, pkts, octets;
	bool have_rb;
	struct rtcp_rb rb;
	const char *cname;
	bool bye;
};

/* Builds SR or RR, SDES CNAME and, with bye, a BYE last. Length or SIP_ERR_NOSPACE. */
int rtcp_build(uint8_t *buf, size_t cap, const struct rtcp_out *o);
/* Parses a compound packet: version 2, lengths inside len, first packet SR or
 * RR (RFC 3550 A.2). 0 or SIP_ERR_SYNTAX. */
int rtcp_parse(struct rtcp_info *info, const uint8_t *buf, size_t len);
/* Fills a report block for source s (A.3 fraction and cumulative loss),
 * advancing its interval counters. lsr/dlsr are the caller's. */
void rtcp_fill_rb(struct rtcp_rb *rb, struct rtp_stats *s);

#endif /* LIBSIP_MEDIA_RTP_H */
