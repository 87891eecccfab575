/*
 * dialog.c — dialogs of RFC 3261 §12: creation by the UAC (§12.1.2) from a
 * response and by the UAS (§12.1.1) from the request, the route set and
 * remote target, CSeq rules (§12.2.2), target refresh, and requests built
 * within a dialog with the loose and strict routing rules of §12.2.1.1.
 * A "pre-dialog" (state DLG_NONE) serves the out-of-dialog requests of
 * §8.1.1 with the same builder, so INVITE, REGISTER and BYE share it.
 */
#include <stdio.h>
#include <string.h>

#include "dialog.h"
#include "libsip/hdr.h"

/* Copies pl into a fixed field; SIP_ERR_NOSPACE rather than a truncated
 * URI or tag that would silently break matching. */
static int put(char *dst, size_t cap, struct sip_pl pl)
{
	if (pl.len >= cap)
		return SIP_ERR_NOSPACE;
	memcpy(dst, pl.p, pl.len);
	dst[pl.len] = '\0';
	return 0;
}

static int put_str(char *dst, size_t cap, const char *s)
{
	return put(dst, cap, sip_pl_cstr(s));
}

int dlg_uac_init(struct dlg *d, const char *local_uri, const char *target, const char *call_id,
                 const char *local_tag)
{
	memset(d, 0, sizeof(*d));
	d->caller = true;
	if (put_str(d->local_uri, sizeof(d->local_uri), local_uri) < 0 ||
	    put_str(d->remote_uri, sizeof(d->remote_uri), target) < 0 ||
	    put_str(d->remote_target, sizeof(d->remote_target), target) < 0 ||
	    put_str(d->call_id, sizeof(d->call_id), call_id) < 0 ||
	    put_str(d->local_tag, sizeof(d->local_tag), local_tag) < 0)
		return SIP_ERR_NOSPACE;
	return 0;
}

/* The URIs of every Record-Route value of m, in message order. */
static int read_record_route(const struct sip_msg *m, char out[][DLG_URI_MAX], size_t *n)
{
	const struct sip_hdr *h;
	const struct sip_addr *a;
	size_t pos = 0;
	int err;

	*n = 0;
	while ((h = sip_msg_hdr_next(m, SIP_HDR_RECORD_ROUTE, &pos))) {
		if (*n == DLG_MAX_ROUTE)
			return SIP_ERR_NOSPACE;
		if ((err = sip_msg_hdr_addr(m, h, &a)) < 0)
			return err;
		if ((err = put(out[*n], DLG_URI_MAX, a->uri)) < 0)
			return err;
		(*n)++;
	}
	return 0;
}

int dlg_target_refresh(struct dlg *d, const struct sip_msg *m)
{
	const struct sip_addr *c = sip_msg_contact(m);

	if (!c || c->star)
		return SIP_ERR_NOT_FOUND;
	return put(d->remote_target, sizeof(d->remote_target), c->uri);
}

int dlg_uac_update(struct dlg *d, const struct dlg *pre, const struct sip_msg *resp)
{
	const struct sip_addr *to = sip_msg_to(resp);
	char rr[DLG_MAX_ROUTE][DLG_URI_MAX];
	size_t n;
	int err;

	if (!to || !to->tag.len)
		return SIP_ERR_NOT_FOUND;
	if ((err = read_record_route(resp, rr, &n)) < 0)
		return err;
	if (d != pre)
		*d = *pre;
	if ((err = put(d->remote_tag, sizeof(d->remote_tag), to->tag)) < 0)
		return err;
	/* §12.1.2: the route set is the Record-Route in reverse order; a 2xx
	 * after an early dialog sets it anew (§13.2.2.4). */
	for (size_t i = 0; i < n; i++)
		memcpy(d->route[i], rr[n - 1 - i], DLG_URI_MAX);
	d->nroute = n;
	dlg_target_refresh(d, resp); /* no Contact: keep the Request-URI */
	d->state = sip_msg_status(resp) >= 200 ? DLG_CONFIRMED : DLG_EARLY;
	return 0;
}

int dlg_uas_new(struct dlg *d, const struct sip_msg *req, const char *local_tag)
{
	const struct sip_addr *from = sip_msg_from(req), *to = sip_msg_to(req);
	const struct sip_cseq *cs = sip_msg_cseq(req);
	int err;

	memset(d, 0, sizeof(*d));
	if (!from || !to || !cs || !from->tag.len)
		return SIP_ERR_ADDR;
	if ((err = put(d->call_id, sizeof(d->call_id), sip_msg_call_id(req))) < 0 ||
	    (err = put(d->remote_tag, sizeof(d->remote_tag), from->tag)) < 0 ||
	    (err = put(d->remote_uri, sizeof(d->remote_uri), from->uri)) < 0 ||
	    (err = put(d->local_uri, sizeof(d->local_uri), to->uri)) < 0 ||
	    (err = put_str(d->local_tag, sizeof(d->local_tag), local_tag)) < 0 ||
	    (err = read_record_route(req, d->route, &d->nroute)) < 0)
		return err;
	/* Without a Contact (a broken peer) the From URI is the best guess. */
	if (dlg_target_refresh(d, req) < 0)
		memcpy(d->remote_target, d->remote_uri, sizeof(d->remote_target));
	d->remote_cseq = cs->num;
	d->remote_cseq_set = true;
	d->state = DLG_CONFIRMED;
	return 0;
}

int dlg_remote_cseq(struct dlg *d, const struct sip_msg *req)
{
	const struct sip_cseq *cs = sip_msg_cseq(req);
	enum sip_method m = sip_msg_method(req);

	if (!cs)
		return SIP_ERR_CSEQ;
	if (m == SIP_METHOD_ACK || m == SIP_METHOD_CANCEL)
		return 0;
	if (d->remote_cseq_set && cs->num < d->remote_cseq)
		return SIP_ERR_RANGE;
	d->remote_cseq = cs->num;
	d->remote_cseq_set = true;
	return 0;
}

bool dlg_match_request(const struct dlg *d, const struct sip_msg *req)
{
	const struct sip_addr *from = sip_msg_from(req), *to = sip_msg_to(req);

	return from && to && sip_pl_eq(sip_msg_call_id(req), sip_pl_cstr(d->call_id)) &&
	       sip_pl_eq(to->tag, sip_pl_cstr(d->local_tag)) &&
	       sip_pl_eq(from->tag, sip_pl_cstr(d->remote_tag));
}

bool dlg_strict_route(const struct dlg *d)
{
	struct sip_uri u;

	if (!d->nroute)
		return false;
	/* An unparseable first route is treated as loose: we still send the
	 * request to it, and the remote target stays where it belongs. */
	return sip_uri_parse(&u, sip_pl_cstr(d->route[0])) == 0 && !u.lr;
}

const char *dlg_next_hop(const struct dlg *d)
{
	return d->nroute ? d->route[0] : d->remote_target;
}

const char *dlg_request_uri(const struct dlg *d)
{
	return dlg_strict_route(d) ? d->route[0] : d->remote_target;
}

static void put_route(struct sip_wbuf *w, const char *uri)
{
	sip_wbuf_put(w, SIP_PL("Route: <"));
	sip_wbuf_puts(w, uri);
	sip_wbuf_put(w, SIP_PL(">\r\n"));
}

/* Request-URI and Route (§12.2.1.1): loose, the remote target and the
 * whole route set; strict, the first route as Request-URI, the rest and
 * then the remote target as Route. */
static void put_start(const struct dlg *d, struct sip_wbuf *w, const char *method)
{
	bool strict = dlg_strict_route(d);

	sip_build_request_line(w, sip_pl_cstr(method), sip_pl_cstr(dlg_request_uri(d)));
	for (size_t i = strict ? 1 : 0; i < d->nroute; i++)
		put_route(w, d->route[i]);
	if (strict)
		put_route(w, d->remote_target);
}

static void put_addr(struct sip_wbuf *w, const char *name, const char *uri, const char *tag)
{
	sip_wbuf_puts(w, name);
	sip_wbuf_put(w, SIP_PL(": <"));
	sip_wbuf_puts(w, uri);
	sip_wbuf_put(w, SIP_PL(">"));
	if (tag[0]) {
		sip_wbuf_put(w, SIP_PL(";tag="));
		sip_wbuf_puts(w, tag);
	}
	sip_wbuf_put(w, SIP_PL("\r\n"));
}

void dlg_request(struct dlg *d, struct sip_wbuf *w, const struct dlg_req *r)
{
	char cseq[64];
	uint32_t n = r->cseq ? r->cseq : ++d->local_cseq;

	put_start(d, w, r->method);
	sip_build_hdr(w, SIP_HDR_VIA, sip_pl_cstr(r->via));
	sip_build_hdr(w, SIP_HDR_MAX_FORWARDS, SIP_PL("70"));
	put_addr(w, "From", d->local_uri, d->local_tag);
	put_addr(w, "To", d->remote_uri, d->remote_tag);
	sip_build_hdr(w, SIP_HDR_CALL_ID, sip_pl_cstr(d->call_id));
	snprintf(cseq, sizeof(cseq), "%u %s", n, r->method);
	sip_build_hdr(w, SIP_HDR_CSEQ, sip_pl_cstr(cseq));
	if (r->contact)
		sip_build_hdr(w, SIP_HDR_CONTACT, sip_pl_cstr(r->contact));
}

/* Every line of m carrying a header of one of the ids, once per line (a
 * comma list is one line with several values). */
static void copy_lines(struct sip_wbuf *w, const struct sip_msg *m, const enum sip_hdr_id *ids,
                       size_t nids)
{
	for (size_t i = 0; i < sip_msg_hdr_count(m); i++) {
		const struct sip_hdr *h = sip_msg_hdr_at(m, i);

		for (size_t k = 0; k < nids; k++)
			if (h->id == ids[k] && h->elem == 0)
				sip_wbuf_put(w, h->line);
	}
}

void dlg_copy_record_route(struct sip_wbuf *w, const struct sip_msg *req)
{
	static const enum sip_hdr_id ids[] = {SIP_HDR_RECORD_ROUTE};

	copy_lines(w, req, ids, 1);
}

void dlg_copy_credentials(struct sip_wbuf *w, const struct sip_msg *req)
{
	static const enum sip_hdr_id ids[] = {SIP_HDR_AUTHORIZATION, SIP_HDR_PROXY_AUTHORIZATION};

	copy_lines(w, req, ids, 2);
}

/* ---- the UAS's 2xx retransmissions ------------------------------------------- */

void dlg_rtx_start(struct dlg_rtx *r, uint64_t now_ms, unsigned t1_ms, unsigned t2_ms)
{
	r->active = true;
	r->interval_ms = t1_ms;
	r->t2_ms = t2_ms;
	r->next_ms = now_ms + t1_ms;
	r->give_up_ms = now_ms + 64ull * t1_ms;
}

enum dlg_rtx_action dlg_rtx_poll(struct dlg_rtx *r, uint64_t now_ms)
{
	if (!r->active)
		return DLG_RTX_WAIT;
	if (now_ms >= r->give_up_ms) {
		r->active = false;
		return DLG_RTX_GIVE_UP;
	}
	if (now_ms < r->next_ms)
		return DLG_RTX_WAIT;
	/* §13.3.1.4: T1, doubling each time up to T2. */
	r->interval_ms = 2 * r->interval_ms < r->t2_ms ? 2 * r->interval_ms : r->t2_ms;
	r->next_ms = now_ms + r->interval_ms;
	return DLG_RTX_RESEND;
}

void dlg_rtx_stop(struct dlg_rtx *r)
{
	r->active = false;
}
