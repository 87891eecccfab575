/*
 * rtcp.c — RTCP compound packets (RFC 3550 §6): we send SR when we sent RTP
 * since the last report, else RR, always followed by SDES with our CNAME
 * (§6.1: every compound packet carries one) and, when a stream ends, BYE
 * last. The parser validates a compound packet as in A.2 and reads the
 * sender info and the report blocks; other packet types are skipped.
 */
#include <stdio.h>

#include "media/bytes.h"
#include "media/rtp.h"

enum { RTCP_SR = 200, RTCP_RR = 201, RTCP_SDES = 202, RTCP_BYE = 203 };

#define SDES_CNAME 1

/* Common header: V=2, count, type, length in 32-bit words minus one. */
static void put_hdr(uint8_t *p, unsigned count, unsigned type, size_t len)
{
	p[0] = (uint8_t)(0x80 | (count & 0x1f));
	p[1] = (uint8_t)type;
	put16(p + 2, (uint16_t)(len / 4 - 1));
}

static void put_rb(uint8_t *p, const struct rtcp_rb *rb)
{
	int32_t lost = rb->lost;

	/* The cumulative loss is a 24-bit signed field: clamp (A.3). */
	if (lost > 0x7fffff)
		lost = 0x7fffff;
	if (lost < -0x800000)
		lost = -0x800000;
	put32(p, rb->ssrc);
	put32(p + 4, (uint32_t)rb->fraction << 24 | ((uint32_t)lost & 0xffffff));
	put32(p + 8, rb->ext_max);
	put32(p + 12, rb->jitter);
	put32(p + 16, rb->lsr);
	put32(p + 20, rb->dlsr);
}

int rtcp_build(uint8_t *buf, size_t cap, const struct rtcp_out *o)
{
	size_t n = 0, len, clen = o->cname ? strlen(o->cname) : 0;
	unsigned nrb = o->have_rb ? 1 : 0;

	if (clen > 255)
		clen = 255;
	/* report + SDES (ssrc, type, length, text, at least one END, padded) + BYE */
	len = (o->sender ? 28 : 8) + 24u * nrb;
	if (cap < len + 4 + ((4 + 2 + clen + 1 + 3) & ~(size_t)3) + (o->bye ? 8 : 0))
		return SIP_ERR_NOSPACE;
	put_hdr(buf, nrb, o->sender ? RTCP_SR : RTCP_RR, len);
	put32(buf + 4, o->ssrc);
	n = 8;
	if (o->sender) {
		put32(buf + 8, (uint32_t)(o->ntp >> 32));
		put32(buf + 12, (uint32_t)o->ntp);
		put32(buf + 16, o->rtp_ts);
		put32(buf + 20, o->pkts);
		put32(buf + 24, o->octets);
		n = 28;
	}
	if (nrb) {
		put_rb(buf + n, &o->rb);
		n += 24;
	}
	len = 4 + ((4 + 2 + clen + 1 + 3) & ~(size_t)3);
	memset(buf + n, 0, len);
	put_hdr(buf + n, 1, RTCP_SDES, len);
	put32(buf + n + 4, o->ssrc);
	buf[n + 8] = SDES_CNAME;
	buf[n + 9] = (uint8_t)clen;
	if (clen)
		memcpy(buf + n + 10, o->cname, clen);
	n += len;
	if (o->bye) {
		put_hdr(buf + n, 1, RTCP_BYE, 8);
		put32(buf + n + 4, o->ssrc);
		n += 8;
	}
	return (int)n;
}

static void get_rb(struct rtcp_rb *rb, const uint8_t *p)
{
	uint32_t w = get32(p + 4);

	rb->ssrc = get32(p);
	rb->fraction = (uint8_t)(w >> 24);
	/* sign-extend the 24-bit cumulative loss */
	rb->lost = (int32_t)((w & 0xffffff) ^ 0x800000) - 0x800000;
	rb->ext_max = get32(p + 8);
	rb->jitter = get32(p + 12);
	rb->lsr = get32(p + 16);
	rb->dlsr = get32(p + 20);
}

static void get_rbs(struct rtcp_info *info, const uint8_t *p, size_t avail, unsigned count)
{
	for (unsigned i = 0; i < count && avail >= 24; i++, p += 24, avail -= 24)
		if (info->nrb < sizeof(info->rb) / sizeof(info->rb[0]))
			get_rb(&info->rb[info->nrb++], p);
}

/* The first CNAME item of the first SDES chunk. */
static void get_cname(struct rtcp_info *info, const uint8_t *p, size_t avail)
{
	size_t i = 4; /* skip the chunk's SSRC */

	while (i + 2 <= avail && p[i] != 0) {
		size_t ilen = p[i + 1];
		if (i + 2 + ilen > avail)
			return;
		if (p[i] == SDES_CNAME) {
			size_t n = ilen < sizeof(info->cname) - 1 ? ilen : sizeof(info->cname) - 1;
			memcpy(info->cname, p + i + 2, n);
			info->cname[n] = '\0';
			return;
		}
		i += 2 + ilen;
	}
}

int rtcp_parse(struct rtcp_info *info, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	memset(info, 0, sizeof(*info));
	/* A.2: the first packet is SR or RR, without padding. */
	if (len < 8 || (buf[0] & 0xe0) != 0x80 || (buf[1] != RTCP_SR && buf[1] != RTCP_RR))
		return SIP_ERR_SYNTAX;
	while (off < len) {
		const uint8_t *p = buf + off;
		size_t plen;
		unsigned count, type;

		if (len - off < 4 || (p[0] >> 6) != 2)
			return SIP_ERR_SYNTAX;
		plen = 4u * ((size_t)get16(p + 2) + 1);
		if (plen > len - off)
			return SIP_ERR_SYNTAX;
		count = p[0] & 0x1f;
		type = p[1];
		if (type == RTCP_SR && plen >= 28) {
			info->sr = true;
			info->ssrc = get32(p + 4);
			info->ntp = (uint64_t)get32(p + 8) << 32 | get32(p + 12);
			info->rtp_ts = get32(p + 16);
			info->pkts = get32(p + 20);
			info->octets = get32(p + 24);
			get_rbs(info, p + 28, plen - 28, count);
		} else if (type == RTCP_RR && plen >= 8) {
			info->ssrc = get32(p + 4);
			get_rbs(info, p + 8, plen - 8, count);
		} else if (type == RTCP_SDES && count && plen >= 8) {
			get_cname(info, p + 4, plen - 4);
		} else if (type == RTCP_BYE) {
			info->bye = true;
		}
		off += plen;
	}
	return 0;
}

void rtcp_fill_rb(struct rtcp_rb *rb, struct rtp_stats *s)
{
	uint32_t expected = rtp_stats_ext_max(s) - s->base_seq + 1;
	uint32_t exp_int = expected - s->expected_prior;
	uint32_t rec_int = s->received - s->received_prior;
	int64_t lost_int = (int64_t)exp_int - rec_int;

	s->expected_prior = expected;
	s->received_prior = s->received;
	memset(rb, 0, sizeof(*rb));
	rb->ssrc = s->ssrc;
	rb->lost = rtp_stats_lost(s);
	if (exp_int && lost_int > 0) {
		/* all lost would be 256/256: the field's top is 255 */
		int64_t f = (lost_int << 8) / exp_int;
		rb->fraction = (uint8_t)(f > 255 ? 255 : f);
	}
	rb->ext_max = rtp_stats_ext_max(s);
	rb->jitter = rtp_stats_jitter(s);
}
