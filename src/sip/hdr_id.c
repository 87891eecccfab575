/*
 * hdr_id.c — header names and method names as ids (RFC 3261 §7.3.3 compact
 * forms, §20 header list, §27.4 methods). A name is looked up by a perfect
 * hash of its octets read as words, then compared once as words, so naming
 * a header costs a few word operations and almost no branches.
 */
#include "libsip/msg.h"

/* A name in lower case (for the folding compare below), zero-padded to
 * three words, with its id. The name is held in the entry, not pointed
 * to, so a lookup loads one entry and compares, with no chain of dependent
 * loads. */
struct name_ent {
	_Alignas(32) char name[24];
	unsigned char len;
	unsigned char id;
};

/* Every name, long and compact (RFC 3261 §7.3.3 and the extension RFCs),
 * at its name_hash(): a perfect hash, no two names share a slot, so a
 * lookup is one hash, one load and one compare. A new name needs a
 * multiplier under which all names still fall in distinct slots (a few
 * lines of any scripting language find one by trying random odd
 * constants); test_msg's name tests catch a name in the wrong slot. Empty
 * slots have length 0, which no lookup matches. */
#define NAME_HASH_K 0x04dae976f976d18dull
/* clang-format off */
#define E(h, i, n) [h] = { n, sizeof(n) - 1, i }
static const struct name_ent by_hash[256] = {
	E(7, SIP_HDR_REPLY_TO, "reply-to"),
	E(9, SIP_HDR_CONTENT_DISPOSITION, "content-disposition"),
	E(10, SIP_HDR_EVENT, "event"),
	E(13, SIP_HDR_IN_REPLY_TO, "in-reply-to"),
	E(16, SIP_HDR_ROUTE, "route"),
	E(17, SIP_HDR_CONTENT_LANGUAGE, "content-language"),
	E(24, SIP_HDR_SUBJECT, "subject"),
	E(32, SIP_HDR_MIN_SE, "min-se"),
	E(38, SIP_HDR_MIME_VERSION, "mime-version"),
	E(43, SIP_HDR_SERVICE_ROUTE, "service-route"),
	E(47, SIP_HDR_ALLOW, "allow"),
	E(51, SIP_HDR_ACCEPT_ENCODING, "accept-encoding"),
	E(54, SIP_HDR_PROXY_AUTHORIZATION, "proxy-authorization"),
	E(55, SIP_HDR_CONTENT_LENGTH, "content-length"),
	E(56, SIP_HDR_ACCEPT_LANGUAGE, "accept-language"),
	E(57, SIP_HDR_REFERRED_BY, "referred-by"),
	E(59, SIP_HDR_AUTHORIZATION, "authorization"),
	E(65, SIP_HDR_RACK, "rack"),
	E(66, SIP_HDR_RSEQ, "rseq"),
	E(74, SIP_HDR_REQUEST_DISPOSITION, "request-disposition"),
	E(76, SIP_HDR_MAX_FORWARDS, "max-forwards"),
	E(78, SIP_HDR_TO, "to"),
	E(81, SIP_HDR_WWW_AUTHENTICATE, "www-authenticate"),
	E(83, SIP_HDR_PATH, "path"),
	E(89, SIP_HDR_PROXY_AUTHENTICATE, "proxy-authenticate"),
	E(90, SIP_HDR_CONTACT, "contact"),
	E(92, SIP_HDR_USER_AGENT, "user-agent"),
	E(93, SIP_HDR_CONTENT_ENCODING, "content-encoding"),
	E(98, SIP_HDR_IDENTITY, "identity"),
	E(100, SIP_HDR_ACCEPT_CONTACT, "a"),
	E(105, SIP_HDR_REFERRED_BY, "b"),
	E(110, SIP_HDR_CONTENT_TYPE, "c"),
	E(112, SIP_HDR_FROM, "from"),
	E(113, SIP_HDR_ALLOW_EVENTS, "allow-events"),
	E(114, SIP_HDR_SESSION_EXPIRES, "session-expires"),
	E(115, SIP_HDR_REQUEST_DISPOSITION, "d"),
	E(119, SIP_HDR_CONTENT_ENCODING, "e"),
	E(121, SIP_HDR_EXPIRES, "expires"),
	E(124, SIP_HDR_FROM, "f"),
	E(126, SIP_HDR_VIA, "via"),
	E(127, SIP_HDR_MIN_EXPIRES, "min-expires"),
	E(129, SIP_HDR_ERROR_INFO, "error-info"),
	E(133, SIP_HDR_RECORD_ROUTE, "record-route"),
	E(139, SIP_HDR_CALL_ID, "i"),
	E(144, SIP_HDR_REJECT_CONTACT, "j"),
	E(149, SIP_HDR_SUPPORTED, "k"),
	E(151, SIP_HDR_CALL_INFO, "call-info"),
	E(153, SIP_HDR_CONTENT_LENGTH, "l"),
	E(158, SIP_HDR_CONTACT, "m"),
	E(167, SIP_HDR_PRIORITY, "priority"),
	E(168, SIP_HDR_EVENT, "o"),
	E(171, SIP_HDR_REJECT_CONTACT, "reject-contact"),
	E(180, SIP_HDR_DATE, "date"),
	E(182, SIP_HDR_RETRY_AFTER, "retry-after"),
	E(183, SIP_HDR_REFER_TO, "r"),
	E(185, SIP_HDR_ORGANIZATION, "organization"),
	E(187, SIP_HDR_SUBJECT, "s"),
	E(190, SIP_HDR_P_ASSERTED_IDENTITY, "p-asserted-identity"),
	E(192, SIP_HDR_TO, "t"),
	E(193, SIP_HDR_REASON, "reason"),
	E(196, SIP_HDR_REQUIRE, "require"),
	E(197, SIP_HDR_ALLOW_EVENTS, "u"),
	E(200, SIP_HDR_SERVER, "server"),
	E(201, SIP_HDR_ALERT_INFO, "alert-info"),
	E(202, SIP_HDR_VIA, "v"),
	E(204, SIP_HDR_ACCEPT, "accept"),
	E(206, SIP_HDR_UNSUPPORTED, "unsupported"),
	E(212, SIP_HDR_SESSION_EXPIRES, "x"),
	E(213, SIP_HDR_REFER_TO, "refer-to"),
	E(217, SIP_HDR_IDENTITY, "y"),
	E(219, SIP_HDR_CALL_ID, "call-id"),
	E(221, SIP_HDR_SUBSCRIPTION_STATE, "subscription-state"),
	E(225, SIP_HDR_WARNING, "warning"),
	E(233, SIP_HDR_PROXY_REQUIRE, "proxy-require"),
	E(235, SIP_HDR_ACCEPT_CONTACT, "accept-contact"),
	E(237, SIP_HDR_AUTHENTICATION_INFO, "authentication-info"),
	E(240, SIP_HDR_SUPPORTED, "supported"),
	E(247, SIP_HDR_CONTENT_TYPE, "content-type"),
	E(249, SIP_HDR_CSEQ, "cseq"),
	E(252, SIP_HDR_TIMESTAMP, "timestamp"),
};
#undef E
/* clang-format on */

#define FOLD 0x2020202020202020ull    /* the case bit in every octet */
#define LETTERS 0x4040404040404040ull /* set in every letter octet */

/* Eight octets as a number in little-endian order, the order the hash
 * multiplier was chosen for, so that every machine hashes alike. */
static inline uint64_t load64(const char *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	return x;
}

/* Over the name folded to lower case (the padding folds to spaces, alike
 * on both sides): the sum keeps the three words apart, the multiply mixes
 * them into the top octet. */
static inline unsigned name_hash(uint64_t w0, uint64_t w1, uint64_t w2)
{
	uint64_t x = (w0 | FOLD) + ((w1 | FOLD) << 1) + ((w2 | FOLD) << 2);

	return (unsigned)((x * NAME_HASH_K) >> 56);
}

/* Case-insensitive difference of an input word from a table word: only
 * the table's letter positions are folded (bit 0x40 marks a letter there,
 * and shifted right it is the 0x20 that folds case), so a '-' must match
 * exactly (a CR, which folds onto '-', never does) and so must the zero
 * padding. Zero when equal. */
static inline uint64_t fold_diff(uint64_t x, uint64_t y)
{
	return (x | ((y & LETTERS) >> 1)) ^ y;
}

/* The id of a name of len octets given as three zero-padded words. The
 * length is compared too: a NUL in the name must not pass for padding. */
static enum sip_hdr_id lookup(uint64_t w0, uint64_t w1, uint64_t w2, size_t len)
{
	const struct name_ent *e = &by_hash[name_hash(w0, w1, w2)];
	uint64_t d = fold_diff(w0, load64(e->name)) | fold_diff(w1, load64(e->name + 8)) |
	             fold_diff(w2, load64(e->name + 16));

	return d == 0 && e->len == len ? (enum sip_hdr_id)e->id : SIP_HDR_OTHER;
}

enum sip_hdr_id sip_hdr_id_from_name(struct sip_pl name)
{
	char b[24] = {0};

	if (name.len == 0 || name.len > sizeof(b))
		return SIP_HDR_OTHER;
	memcpy(b, name.p, name.len);
	return lookup(load64(b), load64(b + 8), load64(b + 16), name.len);
}

enum sip_hdr_id sip_hdr_id_prefix16(const char *p, size_t n)
{
	/* 0xff for the octets of the name, 0 past it: the two masks are the
	 * words at 16 - n and 24 - n (n is 0 to 16). */
	static const unsigned char ff[32] = {255, 255, 255, 255, 255, 255, 255, 255,
	                                     255, 255, 255, 255, 255, 255, 255, 255};

	return lookup(load64(p) & load64((const char *)ff + 16 - n),
	              load64(p + 8) & load64((const char *)ff + 24 - n), 0, n);
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
