/*
 * reg.c — the registration client's arithmetic (RFC 3261 §10.2.4): what
 * expiry a registrar granted our binding, and when to refresh it. Kept
 * apart from the sending so it is tested without a network or a clock.
 */
#include "dialog.h"
#include "libsip/hdr.h"

/* The expires parameter of the 200's Contact whose URI equals ours. */
static int contact_expires(const struct sip_msg *ok, const struct sip_uri *ours, uint32_t *out)
{
	const struct sip_hdr *h;
	size_t pos = 0;

	while ((h = sip_msg_hdr_next(ok, SIP_HDR_CONTACT, &pos))) {
		const struct sip_addr *a;
		struct sip_uri u;

		if (sip_msg_hdr_addr(ok, h, &a) < 0 || a->star || !a->expires.len)
			continue;
		if (sip_uri_parse(&u, a->uri) < 0 || !sip_uri_eq(&u, ours))
			continue;
		if (sip_hdr_u32(a->expires, UINT32_MAX, out) == 0)
			return 0;
	}
	return SIP_ERR_NOT_FOUND;
}

uint32_t dlg_reg_granted(const struct sip_msg *ok, struct sip_pl our_contact, uint32_t asked)
{
	const struct sip_hdr *e;
	struct sip_uri ours;
	uint32_t v;

	if (sip_uri_parse(&ours, our_contact) == 0 && contact_expires(ok, &ours, &v) == 0)
		return v;
	if ((e = sip_msg_hdr(ok, SIP_HDR_EXPIRES)) && sip_hdr_u32(e->value, UINT32_MAX, &v) == 0)
		return v;
	return asked;
}

uint64_t dlg_reg_refresh_ms(uint32_t granted_s)
{
	uint64_t half = (uint64_t)granted_s * 500;

	return half < 1000 ? 1000 : half;
}
