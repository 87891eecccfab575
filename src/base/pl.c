/*
 * pl.c — byte slices (struct sip_pl): comparison, trimming, numbers.
 * Slices are never NUL-terminated, so nothing here uses str* on them.
 */
#include "libsip/base.h"

static inline unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

bool sip_pl_eq(struct sip_pl a, struct sip_pl b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool sip_pl_caseeq(struct sip_pl a, struct sip_pl b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (a.p[i] != b.p[i] &&
		    lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
			return false;
	return true;
}

bool sip_pl_caseeq_str(struct sip_pl a, const char *s)
{
	return sip_pl_caseeq(a, sip_pl_cstr(s));
}

int sip_pl_u32(struct sip_pl pl, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (pl.len == 0)
		return SIP_ERR_SYNTAX;
	for (size_t i = 0; i < pl.len; i++) {
		unsigned char c = (unsigned char)pl.p[i];
		if (c < '0' || c > '9')
			return SIP_ERR_SYNTAX;
		v = v * 10 + (c - '0');
		/* Stop before the accumulator can overflow: leading zeros are
		 * fine ("0068"), a long run of real digits is out of range. */
		if (v > max)
			return SIP_ERR_RANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

char *sip_pl_strcpy(char *buf, size_t cap, struct sip_pl pl)
{
	size_t n;

	if (cap == 0)
		return buf;
	n = pl.len < cap - 1 ? pl.len : cap - 1;
	if (n)
		memcpy(buf, pl.p, n);
	buf[n] = '\0';
	return buf;
}

int sip_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void sip_hex_encode(char *out, const void *raw, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = raw;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void sip_printable(char *out, size_t cap, struct sip_pl in)
{
	size_t n = 0;

	if (!cap)
		return;
	for (; n < in.len && n + 1 < cap; n++) {
		unsigned char c = (unsigned char)in.p[n];
		out[n] = c >= 0x20 && c < 0x7f ? (char)c : '.';
	}
	out[n] = '\0';
}
