/*
 * g711.c — G.711 companding by arithmetic (ITU-T G.711 §2/§3): a sample is a
 * sign, a 3-bit segment (the position of its highest set bit) and the four
 * bits below that. µ-law adds a bias of 132 so every segment starts on a
 * power of two and inverts all bits; A-law works on 13 bits and inverts the
 * even bits (XOR 0x55). Both are a few shifts per sample, so no tables.
 */
#include "media/g711.h"

#define ULAW_BIAS 0x84
#define ULAW_CLIP 32635

/* Index of the highest set bit of v at or above bit `low`, minus low, capped
 * at 7: the segment number. */
static unsigned segment(unsigned v, unsigned low)
{
	unsigned seg = 0;

	v >>= low;
	while (v > 1 && seg < 7) {
		v >>= 1;
		seg++;
	}
	return seg;
}

uint8_t g711_ulaw_encode(int16_t pcm)
{
	int v = pcm;
	unsigned sign = 0, seg, mant;

	if (v < 0) {
		v = -v;
		sign = 0x80;
	}
	if (v > ULAW_CLIP)
		v = ULAW_CLIP;
	v += ULAW_BIAS;
	/* v is now at least 0x84: its top bit is between 7 and 14. */
	seg = segment((unsigned)v, 7);
	mant = ((unsigned)v >> (seg + 3)) & 0x0f;
	return (uint8_t) ~(sign | (seg << 4) | mant);
}

int16_t g711_ulaw_decode(uint8_t u)
{
	unsigned x = (uint8_t)~u;
	int t = (int)((((x & 0x0f) << 3) + ULAW_BIAS) << ((x & 0x70) >> 4));

	return (int16_t)((x & 0x80) ? ULAW_BIAS - t : t - ULAW_BIAS);
}

uint8_t g711_alaw_encode(int16_t pcm)
{
	int v = pcm >> 3; /* A-law quantizes 13 bits */
	unsigned mask, seg, a;

	if (v >= 0) {
		mask = 0xd5; /* sign bit set for positive, then even-bit inversion */
	} else {
		mask = 0x55;
		v = -v - 1;
	}
	if (v > 0xfff)
		return (uint8_t)(0x7f ^ mask);
	/* Segments 0 and 1 share one step size (the linear part of the curve). */
	seg = v < 0x20 ? 0 : segment((unsigned)v, 4);
	a = seg << 4;
	a |= seg < 2 ? ((unsigned)v >> 1) & 0x0f : ((unsigned)v >> seg) & 0x0f;
	return (uint8_t)(a ^ mask);
}

int16_t g711_alaw_decode(uint8_t a)
{
	unsigned x = a ^ 0x55u;
	unsigned seg = (x & 0x70) >> 4;
	int t = (int)((x & 0x0f) << 4);

	if (seg == 0) {
		t += 8;
	} else {
		t += 0x108;
		t <<= seg - 1;
	}
	return (int16_t)((x & 0x80) ? t : -t);
}

void g711_encode(uint8_t pt, uint8_t *out, const int16_t *pcm, size_t n)
{
	if (pt == 8) {
		for (size_t i = 0; i < n; i++)
			out[i] = g711_alaw_encode(pcm[i]);
	} else {
		for (size_t i = 0; i < n; i++)
			out[i] = g711_ulaw_encode(pcm[i]);
	}
}

void g711_decode(uint8_t pt, int16_t *pcm, const uint8_t *in, size_t n)
{
	if (pt == 8) {
		for (size_t i = 0; i < n; i++)
			pcm[i] = g711_alaw_decode(in[i]);
	} else {
		for (size_t i = 0; i < n; i++)
			pcm[i] = g711_ulaw_decode(in[i]);
	}
}
