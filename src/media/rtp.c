/*
 * rtp.c — RTP data packets (RFC 3550 §5.1) and the receiver's statistics of
 * one source: sequence tracking with wrap, probation and resync (A.1), the
 * cumulative loss of A.3 and the interarrival jitter of A.8.
 */
#include <errno.h>
#include <sys/random.h>

#include <openssl/rand.h>

#include "media/bytes.h"
#include "media/rtp.h"

#define RTP_SEQ_MOD (1u << 16)
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100
#define MIN_SEQUENTIAL 2

int rtp_pack(uint8_t *buf, size_t cap, const struct rtp_hdr *h, const uint8_t *payload, size_t plen)
{
	if (cap < RTP_HDR_LEN || plen > cap - RTP_HDR_LEN)
		return SIP_ERR_NOSPACE;
	buf[0] = 0x80; /* V=2, no padding, no extension, no CSRC */
	buf[1] = (uint8_t)((h->marker ? 0x80 : 0) | (h->pt & 0x7f));
	put16(buf + 2, h->seq);
	put32(buf + 4, h->ts);
	put32(buf + 8, h->ssrc);
	if (plen)
		memcpy(buf + RTP_HDR_LEN, payload, plen);
	return (int)(RTP_HDR_LEN + plen);
}

int rtp_parse(struct rtp_hdr *h, const uint8_t *buf, size_t len)
{
	size_t off = RTP_HDR_LEN, end = len;

	if (len < RTP_HDR_LEN || (buf[0] >> 6) != 2)
		return SIP_ERR_SYNTAX;
	h->cc = buf[0] & 0x0f;
	h->marker = (buf[1] & 0x80) != 0;
	h->pt = buf[1] & 0x7f;
	/* RFC 5761 demultiplexing: 72-76 in this octet are RTCP SR/RR/...;
	 * never audio. */
	if (h->pt >= 72 && h->pt <= 76)
		return SIP_ERR_SYNTAX;
	h->seq = get16(buf + 2);
	h->ts = get32(buf + 4);
	h->ssrc = get32(buf + 8);
	off += 4u * h->cc;
	if (off > len)
		return SIP_ERR_SYNTAX;
	if (buf[0] & 0x10) {
		/* Extension: 16-bit profile, 16-bit length in words, then data. */
		if (off + 4 > len)
			return SIP_ERR_SYNTAX;
		off += 4 + 4u * get16(buf + off + 2);
		if (off > len)
			return SIP_ERR_SYNTAX;
	}
	if (buf[0] & 0x20) {
		/* The last octet counts the padding, itself included. */
		uint8_t pad = buf[len - 1];
		if (pad == 0 || pad > len - off)
			return SIP_ERR_SYNTAX;
		end = len - pad;
	}
	h->payload = buf + off;
	h->plen = end - off;
	return 0;
}

void rtp_random(void *out, size_t n)
{
	uint8_t *p = out;

	while (n) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* A kernel without getrandom(2): OpenSSL's pool. */
			if (RAND_bytes(p, (int)n) != 1)
				memset(p, 0x5a, n);
			return;
		}
		p += r;
		n -= (size_t)r;
	}
}

/* ---- receive statistics (RFC 3550 A.1, A.3, A.8) -------------------------- */

static void seq_restart(struct rtp_stats *s, uint16_t seq)
{
	s->base_seq = seq;
	s->max_seq = seq;
	s->bad_seq = RTP_SEQ_MOD + 1; /* so seq == bad_seq is false */
	s->cycles = 0;
	s->received = 0;
	s->received_prior = 0;
	s->expected_prior = 0;
}

void rtp_stats_init(struct rtp_stats *s, uint32_t ssrc, uint16_t seq)
{
	memset(s, 0, sizeof(*s));
	s->ssrc = ssrc;
	seq_restart(s, seq);
	s->max_seq = (uint16_t)(seq - 1);
	s->probation = MIN_SEQUENTIAL;
}

bool rtp_stats_update(struct rtp_stats *s, uint16_t seq)
{
	uint16_t udelta = (uint16_t)(seq - s->max_seq);

	if (s->probation) {
		/* A source is valid once MIN_SEQUENTIAL packets came in order. */
		if (seq == (uint16_t)(s->max_seq + 1)) {
			s->probation--;
			s->max_seq = seq;
			if (s->probation == 0) {
				seq_restart(s, seq);
				s->received++;
				return true;
			}
		} else {
			s->probation = MIN_SEQUENTIAL - 1;
			s->max_seq = seq;
		}
		return false;
	}
	if (udelta < MAX_DROPOUT) {
		/* in order, with a permissible gap */
		if (seq < s->max_seq)
			s->cycles += RTP_SEQ_MOD;
		s->max_seq = seq;
	} else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
		/* A very large jump: believe it only when the next packet
		 * follows it (the other side restarted without a new SSRC). */
		if (seq == s->bad_seq) {
			seq_restart(s, seq);
		} else {
			s->bad_seq = (seq + 1) & (RTP_SEQ_MOD - 1);
			return false;
		}
	}
	/* else: a duplicate or a reordered packet, counted as received */
	s->received++;
	return true;
}

void rtp_stats_transit(struct rtp_stats *s, uint32_t rtp_ts, uint32_t arrival)
{
	uint32_t transit = arrival - rtp_ts;
	int32_t d;

	if (!s->have_transit) {
		s->transit = transit;
		s->have_transit = true;
		return;
	}
	d = (int32_t)(transit - s->transit);
	s->transit = transit;
	if (d < 0)
		d = -d;
	/* J += (|D| - J) / 16, kept scaled by 16 to stay in integers (A.8). */
	s->jitter += (uint32_t)d - ((s->jitter + 8) >> 4);
}

uint32_t rtp_stats_ext_max(const struct rtp_stats *s)
{
	return s->cycles + s->max_seq;
}

int32_t rtp_stats_lost(const struct rtp_stats *s)
{
	uint32_t expected;

	if (s->probation)
		return 0;
	expected = rtp_stats_ext_max(s) - s->base_seq + 1;
	return (int32_t)(expected - s->received);
}

uint32_t rtp_stats_jitter(const struct rtp_stats *s)
{
	return s->jitter >> 4;
}
