/*
 * hdr_id.c — header names and method names as ids (RFC 3261 §7.3.3 compact
 * forms, §20 header list, §27.4 methods). Lookup switches on the first
 * letter, then compares the few candidates of that letter with the length
 * checked first, so naming a header costs a handful of byte compares.
 */
#include "libsip/msg.h"

struct name_ent {
	const char *name; /* lower case */
	unsigned char len;
	unsigned char id;
};

/* clang-format off */
#define E(n, i) { n, sizeof(n) - 1, i }

static const struct name_ent names_a[] = {
	E("accept", SIP_HDR_ACCEPT),
	E("accept-encoding", SIP_HDR_ACCEPT_ENCODING),
	E("accept-language", SIP_HDR_ACCEPT_LANGUAGE),
	E("alert-info", SIP_HDR_ALERT_INFO),
	E("allow", SIP_HDR_ALLOW),
	E("authentication-info", SIP_HDR_AUTHENTICATION_INFO),
	E("authorization", SIP_HDR_AUTHORIZATION),
	E("allow-events", SIP_HDR_ALLOW_EVENTS),
	E("accept-contact", SIP_HDR_ACCEPT_CONTACT),
	{ NULL, 0, 0 },
};
static const struct name_ent names_c[] = {
	E("call-id", SIP_HDR_CALL_ID),
	E("contact", SIP_HDR_CONTACT),
	E("content-length", SIP_HDR_CONTENT_LENGTH),
	E("content-type", SIP_HDR_CONTENT_TYPE),
	E("cseq", SIP_HDR_CSEQ),
	E("call-info", SIP_HDR_CALL_INFO),
	E("content-disposition", SIP_HDR_CONTENT_DISPOSITION),
	E("content-encoding", SIP_HDR_CONTENT_ENCODING),
	E("content-language", SIP_HDR_CONTENT_LANGUAGE),
	{ NULL, 0, 0 },
};
static const struct name_ent names_d[] = {
	E("date", SIP_HDR_DATE),
	{ NULL, 0, 0 },
};
static const struct name_ent names_e[] = {
	E("expires", SIP_HDR_EXPIRES),
	E("error-info", SIP_HDR_ERROR_INFO),
	E("event", SIP_HDR_EVENT),
	{ NULL, 0, 0 },
};
static const struct name_ent names_f[] = {
	E("from", SIP_HDR_FROM),
	{ NULL, 0, 0 },
};
static const struct name_ent names_i[] = {
	E("in-reply-to", SIP_HDR_IN_REPLY_TO),
	E("identity", SIP_HDR_IDENTITY),
	{ NULL, 0, 0 },
};
static const struct name_ent names_m[] = {
	E("max-forwards", SIP_HDR_MAX_FORWARDS),
	E("mime-version", SIP_HDR_MIME_VERSION),
	E("min-expires", SIP_HDR_MIN_EXPIRES),
	E("min-se", SIP_HDR_MIN_SE),
	{ NULL, 0, 0 },
};
static const struct name_ent names_o[] = {
	E("organization", SIP_HDR_ORGANIZATION),
	{ NULL, 0, 0 },
};
static const struct name_ent names_p[] = {
	E("priority", SIP_HDR_PRIORITY),
	E("proxy-authenticate", SIP_HDR_PROXY_AUTHENTICATE),
	E("proxy-authorization", SIP_HDR_PROXY_AUTHORIZATION),
	E("proxy-require", SIP_HDR_PROXY_REQUIRE),
	E("path", SIP_HDR_PATH),
	E("p-asserted-identity", SIP_HDR_P_ASSERTED_IDENTITY),
	{ NULL, 0, 0 },
};
static const struct name_ent names_r[] = {
	E("record-route", SIP_HDR_RECORD_ROUTE),
	E("route", SIP_HDR_ROUTE),
	E("reply-to", SIP_HDR_REPLY_TO),
	E("require", SIP_HDR_REQUIRE),
	E("retry-after", SIP_HDR_RETRY_AFTER),
	E("refer-to", SIP_HDR_REFER_TO),
	E("referred-by", SIP_HDR_REFERRED_BY),
	E("rseq", SIP_HDR_RSEQ),
	E("rack", SIP_HDR_RACK),
	E("reject-contact", SIP_HDR_REJECT_CONTACT),
	E("request-disposition", SIP_HDR_REQUEST_DISPOSITION),
	E("reason", SIP_HDR_REASON),
	{ NULL, 0, 0 },
};
static const struct name_ent names_s[] = {
	E("server", SIP_HDR_SERVER),
	E("subject", SIP_HDR_SUBJECT),
	E("supported", SIP_HDR_SUPPORTED),
	E("service-route", SIP_HDR_SERVICE_ROUTE),
	E("session-expires", SIP_HDR_SESSION_EXPIRES),
	E("subscription-state", SIP_HDR_SUBSCRIPTION_STATE),
	{ NULL, 0, 0 },
};
static const struct name_ent names_t[] = {
	E("to", SIP_HDR_TO),
	E("timestamp", SIP_HDR_TIMESTAMP),
	{ NULL, 0, 0 },
};
static const struct name_ent names_u[] = {
	E("user-agent", SIP_HDR_USER_AGENT),
	E("unsupported", SIP_HDR_UNSUPPORTED),
	{ NULL, 0, 0 },
};
static const struct name_ent names_v[] = {
	E("via", SIP_HDR_VIA),
	{ NULL, 0, 0 },
};
static const struct name_ent names_w[] = {
	E("www-authenticate", SIP_HDR_WWW_AUTHENTICATE),
	E("warning", SIP_HDR_WARNING),
	{ NULL, 0, 0 },
};

/* clang-format on */

/* Compact forms (RFC 3261 §7.3.3 and the extension RFCs), by letter. */
/* clang-format off */
static const unsigned char compact[26] = {
	['a' - 'a'] = SIP_HDR_ACCEPT_CONTACT, ['b' - 'a'] = SIP_HDR_REFERRED_BY,
	['c' - 'a'] = SIP_HDR_CONTENT_TYPE,   ['d' - 'a'] = SIP_HDR_REQUEST_DISPOSITION,
	['e' - 'a'] = SIP_HDR_CONTENT_ENCODING, ['f' - 'a'] = SIP_HDR_FROM,
	['i' - 'a'] = SIP_HDR_CALL_ID,	      ['j' - 'a'] = SIP_HDR_REJECT_CONTACT,
	['k' - 'a'] = SIP_HDR_SUPPORTED,      ['l' - 'a'] = SIP_HDR_CONTENT_LENGTH,
	['m' - 'a'] = SIP_HDR_CONTACT,	      ['o' - 'a'] = SIP_HDR_EVENT,
	['r' - 'a'] = SIP_HDR_REFER_TO,	      ['s' - 'a'] = SIP_HDR_SUBJECT,
	['t' - 'a'] = SIP_HDR_TO,	      ['u' - 'a'] = SIP_HDR_ALLOW_EVENTS,
	['v' - 'a'] = SIP_HDR_VIA,	      ['x' - 'a'] = SIP_HDR_SESSION_EXPIRES,
	['y' - 'a'] = SIP_HDR_IDENTITY,
};
/* clang-format on */

/* clang-format off */
static const struct name_ent *const by_letter[26] = {
	['a' - 'a'] = names_a, ['c' - 'a'] = names_c, ['d' - 'a'] = names_d,
	['e' - 'a'] = names_e, ['f' - 'a'] = names_f, ['i' - 'a'] = names_i,
	['m' - 'a'] = names_m, ['o' - 'a'] = names_o, ['p' - 'a'] = names_p,
	['r' - 'a'] = names_r, ['s' - 'a'] = names_s, ['t' - 'a'] = names_t,
	['u' - 'a'] = names_u, ['v' - 'a'] = names_v, ['w' - 'a'] = names_w,
};
/* clang-format on */

/* Case-insensitive compare against a lower-case table name made of
 * letters and '-'. Only letter positions are folded: bit 0x40 marks a
 * letter in the table name, and shifted right it is the 0x20 that folds
 * case, so a '-' must match exactly (a CR, which folds onto '-', never
 * does). Eight octets at a time: most names are longer than eight. */
static inline bool fold_eq8(const char *p, const char *lower)
{
	const uint64_t letters = 0x4040404040404040ull;
	uint64_t x, y;

	memcpy(&x, p, 8);
	memcpy(&y, lower, 8);
	return (x | ((y & letters) >> 1)) == y;
}

static inline bool fold_eq4(const char *p, const char *lower)
{
	const uint32_t letters = 0x40404040u;
	uint32_t x, y;

	memcpy(&x, p, 4);
	memcpy(&y, lower, 4);
	return (x | ((y & letters) >> 1)) == y;
}

static bool name_eq(const char *p, const char *lower, size_t len)
{
	size_t i = 0;

	if (len >= 8) {
		/* Whole words, the last one overlapping the one before it. */
		for (; i + 8 < len; i += 8)
			if (!fold_eq8(p + i, lower + i))
				return false;
		return fold_eq8(p + len - 8, lower + len - 8);
	}
	if (len >= 4)
		return fold_eq4(p, lower) && fold_eq4(p + len - 4, lower + len - 4);
	for (; i < len; i++) {
		unsigned char y = (unsigned char)lower[i];

		if ((unsigned char)((unsigned char)p[i] | ((y & 0x40) >> 1)) != y)
			return false;
	}
	return true;
}

enum sip_hdr_id sip_hdr_id_from_name(struct sip_pl name)
{
	unsigned c;
	const struct name_ent *e;

	if (name.len == 0)
		return SIP_HDR_OTHER;
	c = (unsigned)(unsigned char)(name.p[0] | 0x20) - 'a';
	if (c >= 26)
		return SIP_HDR_OTHER;
	if (name.len == 1)
		return (enum sip_hdr_id)compact[c];
	for (e = by_letter[c]; e && e->name; e++)
		if (e->len == name.len && name_eq(name.p, e->name, name.len))
			return (enum sip_hdr_id)e->id;
	return SIP_HDR_OTHER;
}

/* Which ids the grammar lets carry a comma-separated list (§7.3.1). */
/* clang-format off */
static const bool list_ids[SIP_HDR_COUNT] = {
	[SIP_HDR_ACCEPT] = true,	   [SIP_HDR_ACCEPT_ENCODING] = true,
	[SIP_HDR_ACCEPT_LANGUAGE] = true,  [SIP_HDR_ALERT_INFO] = true,
	[SIP_HDR_ALLOW] = true,		   [SIP_HDR_CALL_INFO] = true,
	[SIP_HDR_CONTACT] = true,	   [SIP_HDR_CONTENT_ENCODING] = true,
	[SIP_HDR_CONTENT_LANGUAGE] = true, [SIP_HDR_ERROR_INFO] = true,
	[SIP_HDR_IN_REPLY_TO] = true,	   [SIP_HDR_PROXY_REQUIRE] = true,
	[SIP_HDR_RECORD_ROUTE] = true,	   [SIP_HDR_REQUIRE] = true,
	[SIP_HDR_ROUTE] = true,		   [SIP_HDR_SUPPORTED] = true,
	[SIP_HDR_UNSUPPORTED] = true,	   [SIP_HDR_VIA] = true,
	[SIP_HDR_WARNING] = true,	   [SIP_HDR_PATH] = true,
	[SIP_HDR_SERVICE_ROUTE] = true,	   [SIP_HDR_ALLOW_EVENTS] = true,
	[SIP_HDR_ACCEPT_CONTACT] = true,   [SIP_HDR_REJECT_CONTACT] = true,
	[SIP_HDR_REQUEST_DISPOSITION] = true, [SIP_HDR_P_ASSERTED_IDENTITY] = true,
	[SIP_HDR_REASON] = true,
};
/* clang-format on */

bool sip_hdr_is_list(enum sip_hdr_id id)
{
	return (unsigned)id < SIP_HDR_COUNT && list_ids[id];
}

/* Canonical spellings, as RFC 3261 §20 writes them. */
/* clang-format off */
static const char *const canonical[SIP_HDR_COUNT] = {
	[SIP_HDR_ACCEPT] = "Accept", [SIP_HDR_ACCEPT_ENCODING] = "Accept-Encoding",
	[SIP_HDR_ACCEPT_LANGUAGE] = "Accept-Language", [SIP_HDR_ALERT_INFO] = "Alert-Info",
	[SIP_HDR_ALLOW] = "Allow", [SIP_HDR_AUTHENTICATION_INFO] = "Authentication-Info",
	[SIP_HDR_AUTHORIZATION] = "Authorization", [SIP_HDR_CALL_ID] = "Call-ID",
	[SIP_HDR_CALL_INFO] = "Call-Info", [SIP_HDR_CONTACT] = "Contact",
	[SIP_HDR_CONTENT_DISPOSITION] = "Content-Disposition",
	[SIP_HDR_CONTENT_ENCODING] = "Content-Encoding",
	[SIP_HDR_CONTENT_LANGUAGE] = "Content-Language",
	[SIP_HDR_CONTENT_LENGTH] = "Content-Length", [SIP_HDR_CONTENT_TYPE] = "Content-Type",
	[SIP_HDR_CSEQ] = "CSeq", [SIP_HDR_DATE] = "Date", [SIP_HDR_ERROR_INFO] = "Error-Info",
	[SIP_HDR_EXPIRES] = "Expires", [SIP_HDR_FROM] = "From",
	[SIP_HDR_IN_REPLY_TO] = "In-Reply-To", [SIP_HDR_MAX_FORWARDS] = "Max-Forwards",
	[SIP_HDR_MIME_VERSION] = "MIME-Version", [SIP_HDR_MIN_EXPIRES] = "Min-Expires",
	[SIP_HDR_ORGANIZATION] = "Organization", [SIP_HDR_PRIORITY] = "Priority",
	[SIP_HDR_PROXY_AUTHENTICATE] = "Proxy-Authenticate",
	[SIP_HDR_PROXY_AUTHORIZATION] = "Proxy-Authorization",
	[SIP_HDR_PROXY_REQUIRE] = "Proxy-Require", [SIP_HDR_RECORD_ROUTE] = "Record-Route",
	[SIP_HDR_REPLY_TO] = "Reply-To", [SIP_HDR_REQUIRE] = "Require",
	[SIP_HDR_RETRY_AFTER] = "Retry-After", [SIP_HDR_ROUTE] = "Route",
	[SIP_HDR_SERVER] = "Server", [SIP_HDR_SUBJECT] = "Subject",
	[SIP_HDR_SUPPORTED] = "Supported", [SIP_HDR_TIMESTAMP] = "Timestamp",
	[SIP_HDR_TO] = "To", [SIP_HDR_UNSUPPORTED] = "Unsupported",
	[SIP_HDR_USER_AGENT] = "User-Agent", [SIP_HDR_VIA] = "Via",
	[SIP_HDR_WARNING] = "Warning", [SIP_HDR_WWW_AUTHENTICATE] = "WWW-Authenticate",
	[SIP_HDR_PATH] = "Path", [SIP_HDR_SERVICE_ROUTE] = "Service-Route",
	[SIP_HDR_EVENT] = "Event", [SIP_HDR_ALLOW_EVENTS] = "Allow-Events",
	[SIP_HDR_REFER_TO] = "Refer-To", [SIP_HDR_REFERRED_BY] = "Referred-By",
	[SIP_HDR_SESSION_EXPIRES] = "Session-Expires", [SIP_HDR_MIN_SE] = "Min-SE",
	[SIP_HDR_RSEQ] = "RSeq", [SIP_HDR_RACK] = "RAck",
	[SIP_HDR_SUBSCRIPTION_STATE] = "Subscription-State",
	[SIP_HDR_ACCEPT_CONTACT] = "Accept-Contact",
	[SIP_HDR_REJECT_CONTACT] = "Reject-Contact",
	[SIP_HDR_REQUEST_DISPOSITION] = "Request-Disposition",
	[SIP_HDR_IDENTITY] = "Identity",
	[SIP_HDR_P_ASSERTED_IDENTITY] = "P-Asserted-Identity",
	[SIP_HDR_REASON] = "Reason",
};
/* clang-format on */

const char *sip_hdr_name(enum sip_hdr_id id)
{
	return (unsigned)id < SIP_HDR_COUNT ? canonical[id] : NULL;
}

/* clang-format off */
static const char *const methods[] = {
	[SIP_METHOD_OTHER] = "",	  [SIP_METHOD_INVITE] = "INVITE",
	[SIP_METHOD_ACK] = "ACK",	  [SIP_METHOD_BYE] = "BYE",
	[SIP_METHOD_CANCEL] = "CANCEL",	  [SIP_METHOD_OPTIONS] = "OPTIONS",
	[SIP_METHOD_REGISTER] = "REGISTER", [SIP_METHOD_PRACK] = "PRACK",
	[SIP_METHOD_SUBSCRIBE] = "SUBSCRIBE", [SIP_METHOD_NOTIFY] = "NOTIFY",
	[SIP_METHOD_PUBLISH] = "PUBLISH", [SIP_METHOD_INFO] = "INFO",
	[SIP_METHOD_REFER] = "REFER",	  [SIP_METHOD_MESSAGE] = "MESSAGE",
	[SIP_METHOD_UPDATE] = "UPDATE",
};
/* clang-format on */

/* Methods by name length, so a lookup compares one to four candidates. */
/* clang-format off */
static const unsigned char methods_by_len[10][5] = {
	[3] = { SIP_METHOD_ACK, SIP_METHOD_BYE },
	[4] = { SIP_METHOD_INFO },
	[5] = { SIP_METHOD_PRACK, SIP_METHOD_REFER },
	[6] = { SIP_METHOD_INVITE, SIP_METHOD_CANCEL, SIP_METHOD_NOTIFY, SIP_METHOD_UPDATE },
	[7] = { SIP_METHOD_OPTIONS, SIP_METHOD_PUBLISH, SIP_METHOD_MESSAGE },
	[8] = { SIP_METHOD_REGISTER },
	[9] = { SIP_METHOD_SUBSCRIBE },
};
/* clang-format on */

enum sip_method sip_method_from_name(struct sip_pl name)
{
	/* Methods are case-sensitive (§7.1). */
	if (name.len >= sizeof(methods_by_len) / sizeof(methods_by_len[0]))
		return SIP_METHOD_OTHER;
	for (const unsigned char *c = methods_by_len[name.len]; *c; c++)
		if (memcmp(methods[*c], name.p, name.len) == 0)
			return (enum sip_method) * c;
	return SIP_METHOD_OTHER;
}

const char *sip_method_name(enum sip_method m)
{
	return (unsigned)m < sizeof(methods) / sizeof(methods[0]) ? methods[m] : "";
}
