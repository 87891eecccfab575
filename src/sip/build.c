/*
 * build.c — writing SIP messages from parts (RFC 3261 §7, §8.2.6.2 for a
 * response built from its request) and printing a parsed message in
 * canonical form. Everything writes into a bounded struct sip_wbuf.
 */
#include "msg_priv.h"
#include "libsip/build.h"

void sip_wbuf_init(struct sip_wbuf *w, char *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->err = 0;
}

void sip_wbuf_put(struct sip_wbuf *w, struct sip_pl pl)
{
	if (w->err)
		return;
	if (pl.len > w->cap - w->len) {
		w->err = SIP_ERR_NOSPACE;
		return;
	}
	if (pl.len)
		memcpy(w->buf + w->len, pl.p, pl.len);
	w->len += pl.len;
}

void sip_wbuf_puts(struct sip_wbuf *w, const char *s)
{
	sip_wbuf_put(w, sip_pl_cstr(s));
}

void sip_wbuf_putu(struct sip_wbuf *w, uint64_t v)
{
	char tmp[24];
	size_t n = sizeof(tmp);

	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sip_wbuf_put(w, sip_pl(tmp + n, sizeof(tmp) - n));
}

void sip_build_request_line(struct sip_wbuf *w, struct sip_pl method, struct sip_pl ruri)
{
	sip_wbuf_put(w, method);
	sip_wbuf_put(w, SIP_PL(" "));
	sip_wbuf_put(w, ruri);
	sip_wbuf_put(w, SIP_PL(" SIP/2.0\r\n"));
}

void sip_build_status_line(struct sip_wbuf *w, int status, struct sip_pl reason)
{
	if (status < 100 || status > 699) {
		w->err = w->err ? w->err : SIP_ERR_RANGE;
		return;
	}
	sip_wbuf_put(w, SIP_PL("SIP/2.0 "));
	sip_wbuf_putu(w, (uint64_t)status);
	sip_wbuf_put(w, SIP_PL(" "));
	sip_wbuf_put(w, reason.len ? reason : sip_pl_cstr(sip_status_phrase(status)));
	sip_wbuf_put(w, SIP_PL("\r\n"));
}

void sip_build_hdr_named(struct sip_wbuf *w, struct sip_pl name, struct sip_pl value)
{
	sip_wbuf_put(w, name);
	sip_wbuf_put(w, SIP_PL(": "));
	sip_wbuf_put(w, value);
	sip_wbuf_put(w, SIP_PL("\r\n"));
}

void sip_build_hdr(struct sip_wbuf *w, enum sip_hdr_id id, struct sip_pl value)
{
	const char *name = sip_hdr_name(id);

	if (!name) {
		w->err = w->err ? w->err : SIP_ERR_NOT_FOUND;
		return;
	}
	sip_build_hdr_named(w, sip_pl_cstr(name), value);
}

int sip_build_finish(struct sip_wbuf *w, struct sip_pl ctype, struct sip_pl body)
{
	if (ctype.len && body.len)
		sip_build_hdr(w, SIP_HDR_CONTENT_TYPE, ctype);
	sip_wbuf_put(w, SIP_PL("Content-Length: "));
	sip_wbuf_putu(w, body.len);
	sip_wbuf_put(w, SIP_PL("\r\n\r\n"));
	sip_wbuf_put(w, body);
	return w->err ? w->err : (int)w->len;
}

/* Copies every value of id as received, one line per value. */
static void copy_all(struct sip_wbuf *w, const struct sip_msg *req, enum sip_hdr_id id)
{
	size_t pos = 0;
	const struct sip_hdr *h;

	while ((h = sip_msg_hdr_next(req, id, &pos)))
		sip_build_hdr(w, id, h->value);
}

void sip_build_response(struct sip_wbuf *w, const struct sip_msg *req, int status,
                        struct sip_pl reason, struct sip_pl to_tag)
{
	const struct sip_hdr *to = sip_msg_hdr(req, SIP_HDR_TO);
	const struct sip_addr *ta = sip_msg_to(req);

	sip_build_status_line(w, status, reason);
	copy_all(w, req, SIP_HDR_VIA);
	copy_all(w, req, SIP_HDR_FROM);
	if (to) {
		sip_wbuf_put(w, SIP_PL("To: "));
		sip_wbuf_put(w, to->value);
		/* §8.2.6.2: a UAS adds a tag unless the request had one or the
		 * response is 100 Trying. */
		if (to_tag.len && status > 100 && ta && !ta->tag.p) {
			sip_wbuf_put(w, SIP_PL(";tag="));
			sip_wbuf_put(w, to_tag);
		}
		sip_wbuf_put(w, SIP_PL("\r\n"));
	}
	copy_all(w, req, SIP_HDR_CALL_ID);
	copy_all(w, req, SIP_HDR_CSEQ);
}

/* The raw header line starting at p (folded continuation lines included):
 * returns the position after its CRLF, or NULL at the end of the headers
 * or the input. */
static const char *raw_line(const char *p, const char *end, struct sip_pl *line)
{
	const char *s = p, *nl;

	if (end - p < 2 || (p[0] == '\r' && p[1] == '\n'))
		return NULL;
	for (;;) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return NULL;
		if (nl + 1 < end && (nl[1] == ' ' || nl[1] == '\t')) {
			p = nl + 1;
			continue;
		}
		*line = sip_pl(s, (size_t)(nl + 1 - s));
		return nl + 1;
	}
}

static bool raw_line_wanted(struct sip_pl line, bool *is_via)
{
	const char *colon = memchr(line.p, ':', line.len);
	struct sip_pl name;
	enum sip_hdr_id id;

	if (!colon)
		return false;
	name = sip_pl_trim(sip_pl(line.p, (size_t)(colon - line.p)));
	id = sip_hdr_id_from_name(name);
	*is_via = id == SIP_HDR_VIA;
	return id == SIP_HDR_VIA || id == SIP_HDR_FROM || id == SIP_HDR_TO ||
	       id == SIP_HDR_CALL_ID || id == SIP_HDR_CSEQ;
}

int sip_build_response_raw(struct sip_wbuf *w, const char *buf, size_t len, int status,
                           struct sip_pl reason)
{
	const char *end = buf + len, *p = memchr(buf, '\n', len);
	struct sip_pl line;
	bool via, any_via = false;

	if (!p)
		return SIP_ERR_NOT_FOUND;
	sip_build_status_line(w, status, reason);
	for (p++; (p = raw_line(p, end, &line));) {
		/* Lines not ended by CRLF would make the response malformed. */
		if (line.len < 2 || line.p[line.len - 2] != '\r' || !raw_line_wanted(line, &via))
			continue;
		sip_wbuf_put(w, line);
		any_via |= via;
	}
	return any_via ? 0 : SIP_ERR_NOT_FOUND;
}

const char *sip_status_phrase(int status)
{
	switch (status) {
	case 100: return "Trying";
	case 180: return "Ringing";
	case 181: return "Call Is Being Forwarded";
	case 182: return "Queued";
	case 183: return "Session Progress";
	case 200: return "OK";
	case 202: return "Accepted";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Moved Temporarily";
	case 305: return "Use Proxy";
	case 380: return "Alternative Service";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 410: return "Gone";
	case 413: return "Request Entity Too Large";
	case 414: return "Request-URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Unsupported URI Scheme";
	case 420: return "Bad Extension";
	case 421: return "Extension Required";
	case 423: return "Interval Too Brief";
	case 480: return "Temporarily Unavailable";
	case 481: return "Call/Transaction Does Not Exist";
	case 482: return "Loop Detected";
	case 483: return "Too Many Hops";
	case 484: return "Address Incomplete";
	case 485: return "Ambiguous";
	case 486: return "Busy Here";
	case 487: return "Request Terminated";
	case 488: return "Not Acceptable Here";
	case 491: return "Request Pending";
	case 493: return "Undecipherable";
	case 500: return "Server Internal Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Server Time-out";
	case 505: return "Version Not Supported";
	case 513: return "Message Too Large";
	case 600: return "Busy Everywhere";
	case 603: return "Decline";
	case 604: return "Does Not Exist Anywhere";
	case 606: return "Not Acceptable";
	default: return "";
	}
}

/* Writes v with every run of LWS that contains a line break (folding)
 * replaced by one space. */
static void put_unfolded(struct sip_wbuf *w, struct sip_pl v)
{
	size_t i = 0, s = 0;

	while (i < v.len) {
		if (v.p[i] != '\r' && v.p[i] != '\n') {
			i++;
			continue;
		}
		size_t ws = i;
		while (ws > s && (v.p[ws - 1] == ' ' || v.p[ws - 1] == '\t'))
			ws--;
		sip_wbuf_put(w, sip_pl(v.p + s, ws - s));
		sip_wbuf_put(w, SIP_PL(" "));
		while (i < v.len && sip_is_lws(v.p[i]))
			i++;
		s = i;
	}
	sip_wbuf_put(w, sip_pl(v.p + s, v.len - s));
}

int sip_msg_print(const struct sip_msg *m, char *buf, size_t cap)
{
	struct sip_wbuf w;

	sip_wbuf_init(&w, buf, cap);
	if (m->request) {
		sip_build_request_line(&w, m->method_pl, m->ruri_pl);
	} else {
		sip_wbuf_put(&w, SIP_PL("SIP/2.0 "));
		sip_wbuf_putu(&w, (uint64_t)m->status);
		sip_wbuf_put(&w, SIP_PL(" "));
		sip_wbuf_put(&w, m->reason);
		sip_wbuf_put(&w, SIP_PL("\r\n"));
	}
	for (size_t i = 0; i < m->nhdr; i++) {
		const struct sip_hdr *h = &m->hdrs[i].h;
		const char *name = sip_hdr_name(h->id);

		if (h->id == SIP_HDR_CONTENT_LENGTH)
			continue;
		sip_wbuf_put(&w, name ? sip_pl_cstr(name) : h->name);
		sip_wbuf_put(&w, h->value.len ? SIP_PL(": ") : SIP_PL(":"));
		put_unfolded(&w, h->value);
		sip_wbuf_put(&w, SIP_PL("\r\n"));
	}
	return sip_build_finish(&w, SIP_PL_NULL, m->body);
}
