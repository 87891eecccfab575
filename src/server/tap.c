/*
 * tap.c — what sipd notes of every message it receives or sends, for the
 * admin HTTP side: the counters by method and status class (metrics.h)
 * and, while the admin HTTP is on, the messages of INVITE dialogs for the
 * call trace (trace.h). Received messages are already parsed; sent ones
 * are bytes sipd built or forwarded, so a short scan of their first line
 * and a few headers (Call-ID, CSeq, From, To) finds what is needed
 * without parsing them again. With --trace on, each message is also one
 * log line: direction, transport, addresses, first line, Call-ID.
 */
#include <string.h>
#include <time.h>

#include "libsip/hdr.h"
#include "libsip/log.h"
#include "sipd.h"
#include "trace.h"

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* --trace: "in UDP 127.0.0.1:5070 -> 127.0.0.1:5060 INVITE sip:bob@x SIP/2.0
 * [Call-ID]". Off (the default), this costs one load and a branch. */
static void trace_line(struct sipd *s, bool out, enum tp_proto proto, const struct tp_addr *src,
                       const struct tp_addr *dst, const char *buf, size_t len,
                       struct sip_pl call_id)
{
	const struct sipd_cfg *cfg = s->cfg;
	char a[80] = "?", b[80] = "?", line[201], cid[129];
	const char *eol;

	if (!cfg->trace)
		return;
	eol = memchr(buf, '\r', len < 200 ? len : 200);
	sip_printable(line, sizeof(line), sip_pl(buf, eol ? (size_t)(eol - buf) : len));
	sip_printable(cid, sizeof(cid), call_id);
	if (src)
		tp_addr_str(src, a, sizeof(a));
	tp_addr_str(dst, b, sizeof(b));
	sip_log(SIP_LOG_INFO, "%s %s %s -> %s %s [%s]", out ? "out" : "in", tp_proto_name(proto), a,
	        b, line, cid);
}

void sipd_tap_rx(struct sipd *s, const struct tp_rx *rx, const struct sip_msg *m)
{
	const struct sip_cseq *cseq = sip_msg_cseq(m);
	bool req = sip_msg_is_request(m);
	int cm = cseq ? cseq->method_id : 0;

	sipd_count_msg(&s->metrics, false, req, req ? (int)sip_msg_method(m) : cm,
	               req ? 0 : sip_msg_status(m));
	trace_line(s, false, rx->proto, &rx->src, &rx->local, rx->buf, rx->len, sip_msg_call_id(m));
	if (!s->trace || !trace_wants(cm))
		return;
	const struct sip_hdr *from = sip_msg_hdr(m, SIP_HDR_FROM), *to = sip_msg_hdr(m, SIP_HDR_TO);
	const struct sip_addr *to_addr = sip_msg_to(m);
	struct trace_ev ev = {
	        .out = false,
	        .request = req,
	        .method = req ? (int)sip_msg_method(m) : 0,
	        .cseq_method = cm,
	        .status = req ? 0 : sip_msg_status(m),
	        .initial = req && sip_msg_method(m) == SIP_METHOD_INVITE &&
	                   !(to_addr && to_addr->tag.len),
	        .call_id = sip_msg_call_id(m),
	        .from = from ? from->value : SIP_PL_NULL,
	        .to = to ? to->value : SIP_PL_NULL,
	        .text = rx->buf,
	        .len = rx->len,
	        .proto = rx->proto,
	        .src = &rx->src,
	        .dst = &rx->local,
	        .at_us = wall_us(),
	};
	trace_record(s->trace, &ev);
}

/* ---- outgoing bytes -------------------------------------------------------------- */

struct peek {
	bool request;
	int method, status, cseq_method;
	struct sip_pl call_id;
};

static bool name_is(struct sip_pl name, const char *full, const char *compact)
{
	return sip_pl_caseeq_str(name, full) || (compact && sip_pl_caseeq_str(name, compact));
}

/* The first line, and the CSeq method and Call-ID of a response (whose
 * method is its CSeq's) or, with request_hdrs, of a request too. Folded header lines are not joined:
 * sipd writes none, and forwarded ones keep Call-ID and CSeq on one line
 * in practice; a miss only leaves a message uncounted by method. */
static void peek(const char *buf, size_t len, bool request_hdrs, struct peek *p)
{
	bool hdrs;

	const char *end = buf + len, *eol = memchr(buf, '\n', len), *sp;

	memset(p, 0, sizeof(*p));
	if (!eol)
		return;
	if (len > 12 && !memcmp(buf, "SIP/2.0 ", 8)) {
		p->status = (buf[8] - '0') * 100 + (buf[9] - '0') * 10 + (buf[10] - '0');
	} else if ((sp = memchr(buf, ' ', (size_t)(eol - buf)))) {
		p->request = true;
		p->method = (int)sip_method_from_name(sip_pl(buf, (size_t)(sp - buf)));
	}
	hdrs = !p->request || request_hdrs;
	for (const char *l = eol + 1; hdrs && l < end;) {
		const char *e = memchr(l, '\n', (size_t)(end - l)), *colon;
		size_t n = e ? (size_t)(e - l) : (size_t)(end - l);
		if (n == 0 || (n == 1 && l[0] == '\r'))
			break; /* the body starts */
		if ((colon = memchr(l, ':', n))) {
			struct sip_pl name = sip_pl_trim(sip_pl(l, (size_t)(colon - l)));
			struct sip_pl v =
			        sip_pl_trim(sip_pl(colon + 1, n - (size_t)(colon + 1 - l)));
			if (name_is(name, "Call-ID", "i")) {
				p->call_id = v;
			} else if (name_is(name, "CSeq", NULL)) {
				const char *m = memchr(v.p, ' ', v.len);
				if (m)
					p->cseq_method = (int)sip_method_from_name(
					        sip_pl_trim(sip_pl(m, v.len - (size_t)(m - v.p))));
			}
		}
		l = e ? e + 1 : end;
	}
}

/* Our listener that sends to dst: same protocol and address family. */
static const struct tp_addr *local_addr(struct sipd *s, enum tp_proto proto,
                                        const struct tp_addr *dst)
{
	for (unsigned i = 0; i < tp_listener_count(s->tp); i++) {
		enum tp_proto p;
		const struct tp_addr *a = tp_listener_addr(s->tp, i, &p);
		if (p == proto && a->ss.ss_family == dst->ss.ss_family)
			return a;
	}
	return NULL;
}

/* The To and From values of an outgoing message are not needed: a call
 * is created only by the INVITE sipd receives, which has them parsed. */
static void tap_tx(struct sipd *s, enum tp_proto proto, const struct tp_addr *dst, const char *buf,
                   size_t len)
{
	const struct sipd_cfg *cfg = s->cfg;
	struct peek p;

	peek(buf, len, s->trace != NULL || cfg->trace, &p);
	sipd_count_msg(&s->metrics, true, p.request, p.request ? p.method : p.cseq_method,
	               p.status);
	if (cfg->trace)
		trace_line(s, true, proto, local_addr(s, proto, dst), dst, buf, len, p.call_id);
	if (!s->trace || !trace_wants(p.request ? p.method : p.cseq_method))
		return;
	const struct tp_addr *src = local_addr(s, proto, dst);
	if (!src)
		return;
	struct trace_ev ev = {
	        .out = true,
	        .request = p.request,
	        .method = p.method,
	        .cseq_method = p.cseq_method,
	        .status = p.status,
	        .call_id = p.call_id,
	        .text = buf,
	        .len = len,
	        .proto = proto,
	        .src = src,
	        .dst = dst,
	        .at_us = wall_us(),
	};
	trace_record(s->trace, &ev);
}

int sipd_send(struct sipd *s, enum tp_proto proto, const struct tp_addr *dst, uint64_t conn_id,
              const char *buf, size_t len)
{
	/* Noted before it goes: the answer to it may come back and be
	 * noted by another worker before tp_send returns. */
	tap_tx(s, proto, dst, buf, len);
	return tp_send(s->tp, proto, dst, conn_id, buf, len);
}
