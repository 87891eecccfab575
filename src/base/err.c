/*
 * err.c — the error table: each libsip error code with the SIP status a
 * server answers (RFC 3261 §21) and a reason phrase that names the fault,
 * so that a peer reading our 400 learns what was wrong.
 */
#include "libsip/base.h"

struct err_info {
	int status;
	const char *reason;
	const char *name;
};

/* Indexed by -err. */
/* clang-format off */
static const struct err_info err_table[] = {
	[0] = { 0, "OK", "SIP_OK" },
	[-SIP_ERR_NOMEM] = { 500, "Server Internal Error (Out Of Memory)", "SIP_ERR_NOMEM" },
	[-SIP_ERR_SYNTAX] = { 400, "Bad Request (Syntax Error)", "SIP_ERR_SYNTAX" },
	[-SIP_ERR_RANGE] = { 400, "Bad Request (Number Out Of Range)", "SIP_ERR_RANGE" },
	[-SIP_ERR_TOO_BIG] = { 513, "Message Too Large", "SIP_ERR_TOO_BIG" },
	[-SIP_ERR_START_LINE] = { 400, "Bad Request (Malformed Request-Line)", "SIP_ERR_START_LINE" },
	[-SIP_ERR_VERSION] = { 505, "Version Not Supported", "SIP_ERR_VERSION" },
	[-SIP_ERR_SCHEME] = { 416, "Unsupported URI Scheme", "SIP_ERR_SCHEME" },
	[-SIP_ERR_URI] = { 400, "Bad Request (Malformed Request-URI)", "SIP_ERR_URI" },
	[-SIP_ERR_HEADER] = { 400, "Bad Request (Malformed Header)", "SIP_ERR_HEADER" },
	[-SIP_ERR_VIA] = { 400, "Bad Request (Malformed Via)", "SIP_ERR_VIA" },
	[-SIP_ERR_ADDR] = { 400, "Bad Request (Malformed Address Header)", "SIP_ERR_ADDR" },
	[-SIP_ERR_CSEQ] = { 400, "Bad Request (Malformed CSeq)", "SIP_ERR_CSEQ" },
	[-SIP_ERR_CSEQ_METHOD] = { 400, "Bad Request (CSeq Method Mismatch)", "SIP_ERR_CSEQ_METHOD" },
	[-SIP_ERR_CLEN] = { 400, "Bad Request (Malformed Content-Length)", "SIP_ERR_CLEN" },
	[-SIP_ERR_BODY_SHORT] = { 400, "Bad Request (Body Shorter Than Content-Length)", "SIP_ERR_BODY_SHORT" },
	[-SIP_ERR_MAX_FWD] = { 400, "Bad Request (Malformed Max-Forwards)", "SIP_ERR_MAX_FWD" },
	[-SIP_ERR_STATUS_CODE] = { 400, "Bad Request (Malformed Status Code)", "SIP_ERR_STATUS_CODE" },
	[-SIP_ERR_NO_HEADER] = { 400, "Bad Request (Missing Mandatory Header)", "SIP_ERR_NO_HEADER" },
	[-SIP_ERR_DUP_HEADER] = { 400, "Bad Request (Repeated Single-Valued Header)", "SIP_ERR_DUP_HEADER" },
	[-SIP_ERR_NOT_IMPL] = { 501, "Not Implemented", "SIP_ERR_NOT_IMPL" },
	[-SIP_ERR_CALL_ID] = { 400, "Bad Request (Malformed Call-ID)", "SIP_ERR_CALL_ID" },
	[-SIP_ERR_DATE] = { 400, "Bad Request (Malformed Date)", "SIP_ERR_DATE" },
	[-SIP_ERR_BRANCH] = { 400, "Bad Request (Via Branch Is Only The Magic Cookie)", "SIP_ERR_BRANCH" },
	[-SIP_ERR_AUTH] = { 400, "Bad Request (Malformed Authorization)", "SIP_ERR_AUTH" },
	[-SIP_ERR_NEED_MORE] = { 400, "Bad Request (Incomplete Message)", "SIP_ERR_NEED_MORE" },
	[-SIP_ERR_NOSPACE] = { 500, "Server Internal Error (Buffer Too Small)", "SIP_ERR_NOSPACE" },
	[-SIP_ERR_NOT_FOUND] = { 400, "Bad Request (Missing Item)", "SIP_ERR_NOT_FOUND" },
	[-SIP_ERR_EXPIRES] = { 400, "Bad Request (Malformed Expires)", "SIP_ERR_EXPIRES" },
	[-SIP_ERR_CTYPE] = { 400, "Bad Request (Malformed Content-Type)", "SIP_ERR_CTYPE" },
	[-SIP_ERR_UNSUPPORTED] = { 500, "Server Internal Error (Unsupported)", "SIP_ERR_UNSUPPORTED" },
};
/* clang-format on */

static const struct err_info *lookup(int err)
{
	static const struct err_info unknown = {500, "Server Internal Error", "SIP_ERR_?"};
	size_t i;

	if (err > 0)
		return &unknown;
	i = (size_t) - (long)err;
	if (i >= sizeof(err_table) / sizeof(err_table[0]) || !err_table[i].name)
		return &unknown;
	return &err_table[i];
}

int sip_err_status(int err)
{
	return lookup(err)->status;
}

const char *sip_err_reason(int err)
{
	return lookup(err)->reason;
}

const char *sip_err_name(int err)
{
	return lookup(err)->name;
}
