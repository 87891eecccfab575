/*
 * frame.c — message boundaries in a byte stream (RFC 3261 §18.3, §7.5)
 * and RFC 5626 keep-alives. Only the Content-Length header is read here:
 * the message parser does the rest once a whole message is framed.
 */
#include "scan.h"
#include "libsip/frame.h"
#include "libsip/hdr.h"

/* The end of the header section: offset just past CRLFCRLF, or 0. Resumes
 * three bytes before where the previous call stopped. */
static size_t find_hdr_end(struct sip_framer *fr, const char *buf, size_t len)
{
	size_t i = fr->scanned > 3 ? fr->scanned - 3 : 0;

	while (i + 4 <= len) {
		const char *cr = memchr(buf + i, '\r', len - i);

		if (!cr)
			break;
		i = (size_t)(cr - buf);
		if (i + 4 <= len && memcmp(cr, "\r\n\r\n", 4) == 0)
			return i + 4;
		i++;
	}
	fr->scanned = len;
	return 0;
}

static bool is_clen_name(struct sip_pl name)
{
	return (name.len == 1 && (name.p[0] | 0x20) == 'l') ||
	       sip_pl_caseeq_str(name, "Content-Length");
}

/* Content-Length of the header block [buf, buf+n): -1 when absent,
 * SIP_ERR_CLEN when malformed or repeated with another value,
 * SIP_ERR_TOO_BIG when over max_len. The start line is skipped: an
 * extension method may be spelled "l". */
static long content_length(const char *buf, size_t n, size_t max_len)
{
	const char *end = buf + n, *p = memchr(buf, '\n', n);
	uint32_t max = max_len < UINT32_MAX ? (uint32_t)max_len : UINT32_MAX;
	long clen = -1;

	p = p ? p + 1 : end;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *s = p, *e;

		while (nl && nl + 1 < end && (nl[1] == ' ' || nl[1] == '\t'))
			nl = memchr(nl + 1, '\n', (size_t)(end - nl - 1));
		e = nl ? nl : end;
		p = scan_class(p, e, CH_TOKEN);
		if (is_clen_name(pl_span(s, p))) {
			const char *c = p;
			uint32_t v;
			int r;

			while (c < e && (*c == ' ' || *c == '\t'))
				c++;
			if (c == e || *c != ':')
				return SIP_ERR_CLEN;
			r = sip_hdr_u32(pl_span(c + 1, e), max, &v);
			if (r < 0)
				return r == SIP_ERR_RANGE ? SIP_ERR_TOO_BIG : SIP_ERR_CLEN;
			if (clen >= 0 && clen != (long)v)
				return SIP_ERR_CLEN;
			clen = (long)v;
		}
		p = e + 1;
	}
	return clen;
}

static int keepalive(const struct sip_framer *fr, const char *buf, size_t len, struct sip_frame *f)
{
	if (len >= 4 && memcmp(buf, "\r\n\r\n", 4) == 0) {
		f->kind = SIP_FRAME_PING;
		f->len = 4;
	} else if ((len == 3 && buf[2] == '\r') || (len == 2 && fr->pings)) {
		f->kind = SIP_FRAME_NEED_MORE; /* maybe the rest of a ping */
		f->len = 0;
	} else {
		f->kind = SIP_FRAME_PONG;
		f->len = 2;
	}
	return 0;
}

int sip_frame_next(struct sip_framer *fr, const char *buf, size_t len, size_t max_len,
                   struct sip_frame *f)
{
	size_t hdr;
	long clen;

	f->kind = SIP_FRAME_NEED_MORE;
	f->len = 0;
	if (len == 0 || (len == 1 && buf[0] == '\r'))
		return 0;
	if (buf[0] == '\r' && buf[1] == '\n')
		return keepalive(fr, buf, len, f);
	hdr = find_hdr_end(fr, buf, len);
	if (hdr == 0)
		return len > max_len ? SIP_ERR_TOO_BIG : 0;
	if (hdr > max_len)
		return SIP_ERR_TOO_BIG;
	clen = content_length(buf, hdr - 2, max_len);
	if (clen == SIP_ERR_TOO_BIG)
		return SIP_ERR_TOO_BIG;
	if (clen < 0)
		return SIP_ERR_CLEN; /* absent (-1) or malformed: framing is lost */
	if ((size_t)clen > max_len - hdr)
		return SIP_ERR_TOO_BIG;
	if (len < hdr + (size_t)clen) {
		fr->scanned = hdr - 1; /* headers known; resume cheaply */
		return 0;
	}
	f->kind = SIP_FRAME_MESSAGE;
	f->len = hdr + (size_t)clen;
	fr->scanned = 0;
	return 0;
}
