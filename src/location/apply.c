/*
 * apply.c — the registrar's binding rules (RFC 3261 §10.3 steps 5–8, RFC
 * 5626 §6) as a pure function over a set of bindings, so that every
 * backend (memory, sqlite, a Redis read-modify-write) decides alike.
 */
#include <ctype.h>
#include <string.h>

#include "libsip/uri.h"
#include "location/location.h"

const char *loc_err_name(int err)
{
	switch (err) {
	case LOC_ERR_ORDER: return "ORDER";
	case LOC_ERR_TOO_MANY: return "TOO_MANY";
	case LOC_ERR_STORE: return "STORE";
	case LOC_ERR_DSN: return "DSN";
	case LOC_ERR_CLOSED: return "CLOSED";
	default: return sip_err_name(err);
	}
}

/* +sip.instance values are URNs in quotes and angle brackets; RFC 5626
 * compares them as URNs, which for urn:uuid means case-insensitively. */
static bool instance_eq(struct sip_pl a, struct sip_pl b)
{
	return sip_pl_caseeq(a, b);
}

static bool uri_text_eq(struct sip_pl a, struct sip_pl b)
{
	if (sip_pl_eq(a, b))
		return true;
	struct sip_uri ua, ub;
	if (sip_uri_parse(&ua, a) != 0 || sip_uri_parse(&ub, b) != 0)
		return false;
	return sip_uri_eq(&ua, &ub);
}

static bool contact_matches(const struct loc_contact *c, const struct loc_binding *b)
{
	if (c->instance.len && b->instance.len)
		return instance_eq(c->instance, b->instance) && c->reg_id == b->reg_id;
	return uri_text_eq(c->uri, b->uri);
}

static void fill(struct loc_binding *b, const struct loc_contact *c, const struct loc_update *u)
{
	b->aor = u->aor;
	b->uri = c->uri;
	b->params = c->params;
	b->path = u->path;
	b->instance = c->instance;
	b->call_id = u->call_id;
	b->received = u->received;
	b->user_agent = u->user_agent;
	b->reg_id = c->reg_id;
	b->cseq = u->cseq;
	b->q = c->q;
	b->expires = u->now + (int64_t)c->expires;
	b->updated = u->now;
}

/* §10.3 step 7 compares each contact's Call-ID and CSeq with the binding
 * as it stood before this request. Checked for every contact before any
 * change, so the update is all or nothing — and so that two contacts of
 * one REGISTER matching one binding do not compare the second with the
 * CSeq the first has just written. */
static int check_order(const struct loc_binding *cur, size_t ncur, const struct loc_update *u)
{
	for (size_t k = 0; k < u->ncontacts; k++) {
		const struct loc_contact *c = &u->contacts[k];
		for (size_t i = 0; i < ncur; i++) {
			if (cur[i].expires <= u->now || !contact_matches(c, &cur[i]))
				continue;
			if (sip_pl_eq(cur[i].call_id, u->call_id) && u->cseq <= cur[i].cseq)
				return LOC_ERR_ORDER;
			break;
		}
	}
	return 0;
}

int loc_apply(const struct loc_binding *cur, size_t ncur, const struct loc_update *u, size_t max,
              struct loc_binding *out, size_t cap, size_t *nout)
{
	size_t n = 0;
	*nout = 0;

	/* Start from the live bindings; "Contact: *" empties the set, but
	 * only for bindings it may touch (step 6: same Call-ID needs a
	 * higher CSeq). */
	for (size_t i = 0; i < ncur; i++) {
		if (cur[i].expires <= u->now)
			continue;
		if (u->remove_all) {
			if (sip_pl_eq(cur[i].call_id, u->call_id) && u->cseq <= cur[i].cseq)
				return LOC_ERR_ORDER;
			continue;
		}
		if (n == cap)
			return SIP_ERR_NOSPACE;
		out[n++] = cur[i];
	}
	if (u->remove_all) {
		*nout = 0;
		return 0;
	}

	int err = check_order(cur, ncur, u);
	if (err)
		return err;

	/* Each contact updates, removes or adds (step 7). Contacts of one
	 * REGISTER that match each other act in order; the last wins. */
	for (size_t k = 0; k < u->ncontacts; k++) {
		const struct loc_contact *c = &u->contacts[k];
		size_t i;
		for (i = 0; i < n; i++)
			if (contact_matches(c, &out[i]))
				break;
		if (i < n) {
			if (c->expires == 0) {
				memmove(&out[i], &out[i + 1], (n - i - 1) * sizeof(*out));
				n--;
			} else {
				fill(&out[i], c, u);
			}
			continue;
		}
		if (c->expires == 0)
			continue;
		if (n == cap)
			return SIP_ERR_NOSPACE;
		fill(&out[n++], c, u);
	}
	if (max && n > max) {
		/* Refreshing or shrinking an AOR already over a lowered limit
		 * is allowed; growing it is not. */
		size_t before = 0;
		for (size_t i = 0; i < ncur; i++)
			before += cur[i].expires > u->now;
		if (n > before)
			return LOC_ERR_TOO_MANY;
	}
	*nout = n;
	return 0;
}

int loc_aor(const struct sip_uri *uri, char *buf, size_t cap)
{
	if (uri->scheme != SIP_SCHEME_SIP && uri->scheme != SIP_SCHEME_SIPS)
		return SIP_ERR_URI;
	if (!uri->host.len)
		return SIP_ERR_URI;
	size_t len = 4;
	if (cap < len + 1)
		return SIP_ERR_NOSPACE;
	memcpy(buf, "sip:", 4);
	if (uri->user.len) {
		int ul = sip_unescape(buf + len, cap - len, uri->user);
		if (ul < 0)
			return ul == SIP_ERR_NOSPACE ? ul : SIP_ERR_URI;
		len += (size_t)ul;
		if (len + 1 >= cap)
			return SIP_ERR_NOSPACE;
		buf[len++] = '@';
	}
	bool v6 = uri->host_type == SIP_HOST_IPV6;
	if (len + uri->host.len + 2 * v6 + 1 > cap)
		return SIP_ERR_NOSPACE;
	if (v6)
		buf[len++] = '[';
	for (size_t i = 0; i < uri->host.len; i++)
		buf[len++] = (char)tolower((unsigned char)uri->host.p[i]);
	if (v6)
		buf[len++] = ']';
	buf[len] = '\0';
	return (int)len;
}
