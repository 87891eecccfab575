/*
 * redis_codec.c — the value of a sipd:aor:<aor> key: an AOR's binding set
 * in a compact, unambiguous binary form, and the helpers readers apply to
 * a decoded set (drop the expired).
 *
 * Format (version 1): one byte 0x01, then a varint count, then per
 * binding the strings uri, params, path, instance, call_id, received,
 * user_agent (each a varint length and its bytes), then reg_id, cseq, q+1
 * (0: no q), expires, updated as varints (the last two zigzag-coded, so a
 * strange clock cannot make them ambiguous). Varints are LEB128. The AOR
 * is the key's own suffix and not repeated. Every length is checked
 * against the value's size on decoding: a corrupt value is an error, never
 * a read past its end.
 */
#include <stdlib.h>
#include <string.h>

#include "location/redis_priv.h"

enum { RDS_CODEC_V1 = 1, RDS_NSTR = 7, RDS_NINT = 5 };

static size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static char *varint_put(char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (char)(0x80 | (v & 0x7f));
		v >>= 7;
	}
	*p++ = (char)v;
	return p;
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static void fields(const struct loc_binding *b, struct sip_pl s[RDS_NSTR], uint64_t v[RDS_NINT])
{
	s[0] = b->uri;
	s[1] = b->params;
	s[2] = b->path;
	s[3] = b->instance;
	s[4] = b->call_id;
	s[5] = b->received;
	s[6] = b->user_agent;
	v[0] = b->reg_id;
	v[1] = b->cseq;
	v[2] = b->q < 0 ? 0 : (uint64_t)b->q + 1;
	v[3] = zigzag(b->expires);
	v[4] = zigzag(b->updated);
}

size_t rds_encoded_size(const struct loc_binding *b, size_t n)
{
	size_t size = 1 + varint_size(n);
	for (size_t i = 0; i < n; i++) {
		struct sip_pl s[RDS_NSTR];
		uint64_t v[RDS_NINT];
		fields(&b[i], s, v);
		for (int k = 0; k < RDS_NSTR; k++)
			size += varint_size(s[k].len) + s[k].len;
		for (int k = 0; k < RDS_NINT; k++)
			size += varint_size(v[k]);
	}
	return size;
}

size_t rds_encode(const struct loc_binding *b, size_t n, char *buf)
{
	char *p = buf;
	*p++ = RDS_CODEC_V1;
	p = varint_put(p, n);
	for (size_t i = 0; i < n; i++) {
		struct sip_pl s[RDS_NSTR];
		uint64_t v[RDS_NINT];
		fields(&b[i], s, v);
		for (int k = 0; k < RDS_NSTR; k++) {
			p = varint_put(p, s[k].len);
			if (s[k].len)
				memcpy(p, s[k].p, s[k].len);
			p += s[k].len;
		}
		for (int k = 0; k < RDS_NINT; k++)
			p = varint_put(p, v[k]);
	}
	return (size_t)(p - buf);
}

struct reader {
	const unsigned char *p, *end;
	bool bad;
};

static uint64_t varint_get(struct reader *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (r->p == r->end)
			break;
		unsigned char c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

static struct sip_pl str_get(struct reader *r)
{
	uint64_t len = varint_get(r);
	if (r->bad || len > (uint64_t)(r->end - r->p)) {
		r->bad = true;
		return SIP_PL_NULL;
	}
	/* Empty fields stay (p, 0) inside the value, never NULL: some
	 * callers print them with %.*s. */
	struct sip_pl s = sip_pl((const char *)r->p, (size_t)len);
	r->p += len;
	return s;
}

static void binding_get(struct reader *r, struct loc_binding *b, struct sip_pl aor)
{
	b->aor = aor;
	b->uri = str_get(r);
	b->params = str_get(r);
	b->path = str_get(r);
	b->instance = str_get(r);
	b->call_id = str_get(r);
	b->received = str_get(r);
	b->user_agent = str_get(r);
	uint64_t reg_id = varint_get(r), cseq = varint_get(r), q = varint_get(r);
	b->expires = unzigzag(varint_get(r));
	b->updated = unzigzag(varint_get(r));
	if (reg_id > UINT32_MAX || cseq > UINT32_MAX || q > 1001)
		r->bad = true;
	b->reg_id = (uint32_t)reg_id;
	b->cseq = (uint32_t)cseq;
	b->q = (int)q - 1;
}

int rds_decode(const char *buf, size_t len, struct sip_pl aor, struct loc_binding **out, size_t *n)
{
	struct reader r = {(const unsigned char *)buf, (const unsigned char *)buf + len, false};

	*out = NULL;
	*n = 0;
	if (!len || r.p[0] != RDS_CODEC_V1)
		return LOC_ERR_STORE;
	r.p++;
	uint64_t count = varint_get(&r);
	/* Each binding takes at least one byte per field: a count the value
	 * cannot hold is corrupt (and must not size an allocation). */
	if (r.bad || count > (uint64_t)(r.end - r.p) / (RDS_NSTR + RDS_NINT))
		return LOC_ERR_STORE;
	if (!count)
		return r.p == r.end ? 0 : LOC_ERR_STORE;
	struct loc_binding *b = calloc((size_t)count, sizeof(*b));
	if (!b)
		return SIP_ERR_NOMEM;
	for (size_t i = 0; i < count && !r.bad; i++)
		binding_get(&r, &b[i], aor);
	if (r.bad || r.p != r.end) {
		free(b);
		return LOC_ERR_STORE;
	}
	*out = b;
	*n = (size_t)count;
	return 0;
}

size_t rds_live(struct loc_binding *b, size_t n, int64_t now)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (b[i].expires > now)
			b[k++] = b[i];
	return k;
}

int64_t rds_latest(const struct loc_binding *b, size_t n)
{
	int64_t t = b[0].expires;
	for (size_t i = 1; i < n; i++)
		if (b[i].expires > t)
			t = b[i].expires;
	return t;
}
