/*
 * reply.c — sipd's responses: built from the request as RFC 3261 §8.2.6
 * says, with received/rport on the top Via (§18.2.1, RFC 3581), a To tag
 * for final responses, a Server header; and the stateless answer to a
 * request that did not parse.
 */
#include <stdio.h>
#include <string.h>

#include "libsip/build.h"
#include "libsip/hdr.h"
#include "libsip/log.h"
#include "sipd.h"

#define REPLY_MAX 8192
#define SERVER_HDR "sipd/" SIPD_VERSION

/* The top Via value with ;received= (when the sent-by is not the address
 * the request came from) and ;rport=PORT (when the Via asks for it). */
static void put_via_value(struct sip_wbuf *w, const struct sip_hdr *h, const struct sip_via *via,
                          const struct tsx_peer *peer)
{
	char host[64];
	/* received/rport tell where the request came from: the source, not
	 * where the response goes (those differ with maddr, or over TCP). */
	bool received = tp_via_needs_received(via, &peer->src);
	struct sip_pl v = h->value;

	if (via->has_rport && via->rport == 0) {
		/* Drop the bare ";rport" (it is re-added with its value). */
		struct sip_pl cur = via->params, name, value;
		const char *pstart = via->params.p;

		sip_wbuf_put(w, sip_pl(v.p, (size_t)(pstart - v.p)));
		while (sip_param_next(&cur, &name, &value) > 0) {
			if (name.len == 5 && sip_pl_caseeq_str(name, "rport"))
				continue;
			sip_wbuf_put(w, SIP_PL(";"));
			sip_wbuf_put(w, name);
			if (value.p) {
				sip_wbuf_put(w, SIP_PL("="));
				sip_wbuf_put(w, value);
			}
		}
		sip_wbuf_put(w, SIP_PL(";rport="));
		sip_wbuf_putu(w, tp_addr_port(&peer->src));
	} else {
		sip_wbuf_put(w, v);
	}
	if (received && !via->received.p) {
		tp_addr_host(&peer->src, host, sizeof(host));
		sip_wbuf_put(w, SIP_PL(";received="));
		sip_wbuf_puts(w, host);
	}
}

static void put_top_via(struct sip_wbuf *w, const struct sip_hdr *h, const struct sip_via *via,
                        const struct tsx_peer *peer)
{
	sip_wbuf_put(w, SIP_PL("Via: "));
	put_via_value(w, h, via, peer);
	sip_wbuf_put(w, SIP_PL("\r\n"));
}

int sipd_via_received(char *buf, size_t cap, const struct sip_msg *req, const struct tsx_peer *peer)
{
	const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_VIA);
	const struct sip_via *via;
	struct sip_wbuf w;

	if (!h || sip_msg_hdr_via(req, h, &via) < 0)
		return SIP_ERR_NO_HEADER;
	sip_wbuf_init(&w, buf, cap);
	put_via_value(&w, h, via, peer);
	sip_wbuf_put(&w, sip_pl("", 1)); /* the NUL */
	return w.err ? w.err : (int)w.len - 1;
}

/* A To tag that is the same for every response of one request, so that
 * retransmitted requests answered anew still look like one dialog: a hash
 * of the Call-ID, the From tag and the top branch. */
static void to_tag(const struct sip_msg *req, char *buf, size_t cap)
{
	const struct sip_via *via = sip_msg_via(req);
	const struct sip_addr *from = sip_msg_from(req);
	struct sip_pl parts[3] = {sip_msg_call_id(req), from ? from->tag : SIP_PL_NULL,
	                          via ? via->branch : SIP_PL_NULL};
	uint64_t h = SIP_FNV_BASIS;

	for (int i = 0; i < 3; i++)
		h = sip_pl_hash(h, parts[i]);
	if (cap < 17)
		return;
	for (int i = 15; i >= 0; i--, h >>= 4)
		buf[i] = "0123456789abcdef"[h & 15];
	buf[16] = '\0';
}

static void put_copied(struct sip_wbuf *w, const struct sip_msg *req, int status,
                       const struct tsx_peer *peer)
{
	const struct sip_addr *to = sip_msg_to(req);
	const struct sip_hdr *h;
	size_t pos = 0;
	char tag[24];
	bool top = true;

	while ((h = sip_msg_hdr_next(req, SIP_HDR_VIA, &pos))) {
		const struct sip_via *via;

		if (top && sip_msg_hdr_via(req, h, &via) == 0)
			put_top_via(w, h, via, peer);
		else
			sip_build_hdr(w, SIP_HDR_VIA, h->value);
		top = false;
	}
	if ((h = sip_msg_hdr(req, SIP_HDR_FROM)))
		sip_build_hdr(w, SIP_HDR_FROM, h->value);
	if ((h = sip_msg_hdr(req, SIP_HDR_TO))) {
		sip_wbuf_put(w, SIP_PL("To: "));
		sip_wbuf_put(w, h->value);
		if (status > 100 && to && !to->tag.p) {
			to_tag(req, tag, sizeof(tag));
			sip_wbuf_put(w, SIP_PL(";tag="));
			sip_wbuf_puts(w, tag);
		}
		sip_wbuf_put(w, SIP_PL("\r\n"));
	}
	if ((h = sip_msg_hdr(req, SIP_HDR_CALL_ID)))
		sip_build_hdr(w, SIP_HDR_CALL_ID, h->value);
	if ((h = sip_msg_hdr(req, SIP_HDR_CSEQ)))
		sip_build_hdr(w, SIP_HDR_CSEQ, h->value);
}

/* The whole response into buf; its length, or an error (logged). */
static int build(char *buf, size_t cap, const struct sip_msg *req, const struct tsx_peer *peer,
                 int status, const char *reason, const struct sipd_extra *extra, size_t nextra)
{
	struct sip_wbuf w;
	int n;

	sip_wbuf_init(&w, buf, cap);
	sip_build_status_line(&w, status, reason ? sip_pl_cstr(reason) : SIP_PL_NULL);
	put_copied(&w, req, status, peer);
	for (size_t i = 0; i < nextra; i++)
		sip_build_hdr_named(&w, sip_pl_cstr(extra[i].name), extra[i].value);
	sip_build_hdr(&w, SIP_HDR_SERVER, SIP_PL(SERVER_HDR));
	n = sip_build_finish(&w, SIP_PL_NULL, SIP_PL_NULL);
	if (n < 0)
		sip_log(SIP_LOG_WARN, "response %d does not fit in %zu bytes: not sent", status,
		        cap);
	return n;
}

int sipd_reply(struct sipd *s, struct tsx *st, const struct sip_msg *req, int status,
               const char *reason, const struct sipd_extra *extra, size_t nextra)
{
	char buf[REPLY_MAX];
	int n = build(buf, sizeof(buf), req, tsx_peer(st), status, reason, extra, nextra);

	(void)s;
	return n < 0 ? n : tsx_respond(st, status, buf, (size_t)n);
}

int sipd_reply_stateless(struct sipd *s, const struct sip_msg *req, const struct tsx_peer *peer,
                         int status, const struct sipd_extra *extra, size_t nextra)
{
	char buf[REPLY_MAX];
	int n = build(buf, sizeof(buf), req, peer, status, NULL, extra, nextra);

	return n < 0 ? n : sipd_send(s, peer->proto, &peer->addr, peer->conn_id, buf, (size_t)n);
}

void sipd_reply_broken(struct sipd *s, const struct tp_rx *rx, int status, const char *reason)
{
	char buf[REPLY_MAX];
	struct sip_wbuf w;
	int n;

	sip_wbuf_init(&w, buf, sizeof(buf));
	if (sip_build_response_raw(&w, rx->buf, rx->len, status, sip_pl_cstr(reason)) < 0)
		return;
	sip_build_hdr(&w, SIP_HDR_SERVER, SIP_PL(SERVER_HDR));
	if ((n = sip_build_finish(&w, SIP_PL_NULL, SIP_PL_NULL)) < 0)
		return;
	/* Stateless and without a parsed Via: back to the source, as rport
	 * would (RFC 3581), or over the same connection. */
	sipd_send(s, rx->proto, &rx->src, rx->conn_id, buf, (size_t)n);
}
