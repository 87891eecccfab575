/*
 * msg.h — SIP messages (RFC 3261 §7, §20): parse a request or response from
 * bytes, find its headers by id, and read the hot fields.
 *
 * A parsed message points into the caller's buffer (parse in place): keep the
 * buffer alive as long as the message, or pass SIP_PARSE_COPY. Everything the
 * parser allocates lives in the arena given to sip_msg_parse() and is freed
 * with it.
 */
#ifndef LIBSIP_MSG_H
#define LIBSIP_MSG_H

#include "libsip/base.h"
#include "libsip/uri.h"

enum sip_method {
	SIP_METHOD_OTHER = 0,
	SIP_METHOD_INVITE,
	SIP_METHOD_ACK,
	SIP_METHOD_BYE,
	SIP_METHOD_CANCEL,
	SIP_METHOD_OPTIONS,
	SIP_METHOD_REGISTER,
	SIP_METHOD_PRACK,
	SIP_METHOD_SUBSCRIBE,
	SIP_METHOD_NOTIFY,
	SIP_METHOD_PUBLISH,
	SIP_METHOD_INFO,
	SIP_METHOD_REFER,
	SIP_METHOD_MESSAGE,
	SIP_METHOD_UPDATE,
};

/* Header ids: every header of RFC 3261 §20, plus the common extensions.
 * SIP_HDR_OTHER is any header not in the table (kept, in order). */
enum sip_hdr_id {
	SIP_HDR_OTHER = 0,
	SIP_HDR_ACCEPT,
	SIP_HDR_ACCEPT_ENCODING,
	SIP_HDR_ACCEPT_LANGUAGE,
	SIP_HDR_ALERT_INFO,
	SIP_HDR_ALLOW,
	SIP_HDR_AUTHENTICATION_INFO,
	SIP_HDR_AUTHORIZATION,
	SIP_HDR_CALL_ID,
	SIP_HDR_CALL_INFO,
	SIP_HDR_CONTACT,
	SIP_HDR_CONTENT_DISPOSITION,
	SIP_HDR_CONTENT_ENCODING,
	SIP_HDR_CONTENT_LANGUAGE,
	SIP_HDR_CONTENT_LENGTH,
	SIP_HDR_CONTENT_TYPE,
	SIP_HDR_CSEQ,
	SIP_HDR_DATE,
	SIP_HDR_ERROR_INFO,
	SIP_HDR_EXPIRES,
	SIP_HDR_FROM,
	SIP_HDR_IN_REPLY_TO,
	SIP_HDR_MAX_FORWARDS,
	SIP_HDR_MIME_VERSION,
	SIP_HDR_MIN_EXPIRES,
	SIP_HDR_ORGANIZATION,
	SIP_HDR_PRIORITY,
	SIP_HDR_PROXY_AUTHENTICATE,
	SIP_HDR_PROXY_AUTHORIZATION,
	SIP_HDR_PROXY_REQUIRE,
	SIP_HDR_RECORD_ROUTE,
	SIP_HDR_REPLY_TO,
	SIP_HDR_REQUIRE,
	SIP_HDR_RETRY_AFTER,
	SIP_HDR_ROUTE,
	SIP_HDR_SERVER,
	SIP_HDR_SUBJECT,
	SIP_HDR_SUPPORTED,
	SIP_HDR_TIMESTAMP,
	SIP_HDR_TO,
	SIP_HDR_UNSUPPORTED,
	SIP_HDR_USER_AGENT,
	SIP_HDR_VIA,
	SIP_HDR_WARNING,
	SIP_HDR_WWW_AUTHENTICATE,
	/* extensions */
	SIP_HDR_PATH,                /* RFC 3327 */
	SIP_HDR_SERVICE_ROUTE,       /* RFC 3608 */
	SIP_HDR_EVENT,               /* RFC 6665, compact o */
	SIP_HDR_ALLOW_EVENTS,        /* RFC 6665, compact u */
	SIP_HDR_REFER_TO,            /* RFC 3515, compact r */
	SIP_HDR_REFERRED_BY,         /* RFC 3892, compact b */
	SIP_HDR_SESSION_EXPIRES,     /* RFC 4028, compact x */
	SIP_HDR_MIN_SE,              /* RFC 4028 */
	SIP_HDR_RSEQ,                /* RFC 3262 */
	SIP_HDR_RACK,                /* RFC 3262 */
	SIP_HDR_SUBSCRIPTION_STATE,  /* RFC 6665 */
	SIP_HDR_ACCEPT_CONTACT,      /* RFC 3841, compact a */
	SIP_HDR_REJECT_CONTACT,      /* RFC 3841, compact j */
	SIP_HDR_REQUEST_DISPOSITION, /* RFC 3841, compact d */
	SIP_HDR_IDENTITY,            /* RFC 8224, compact y */
	SIP_HDR_P_ASSERTED_IDENTITY, /* RFC 3325 */
	SIP_HDR_REASON,              /* RFC 3326 */
	SIP_HDR_COUNT
};

/* One header value. A list header (Via, Contact, Route, Allow ...) written
 * as one line with commas yields one sip_hdr per element, all sharing the
 * same line slice. */
struct sip_hdr {
	enum sip_hdr_id id;
	struct sip_pl name;  /* as written (may be compact or odd-cased) */
	struct sip_pl value; /* this element, trimmed of LWS; may hold folded CRLFs */
	struct sip_pl line;  /* the whole header line: name to CRLF inclusive */
	uint16_t elem;       /* index of this element in its line */
	uint16_t nelem;      /* number of elements on the line */
};

struct sip_msg;
struct sip_via;
struct sip_addr;
struct sip_cseq;

enum sip_parse_flag {
	/* Stream transport: the body is framed by Content-Length, which is
	 * mandatory (RFC 3261 §18.3). Without it (datagram), a missing
	 * Content-Length means "the rest of the datagram" and octets past
	 * Content-Length are discarded. */
	SIP_PARSE_STREAM = 1u << 0,
	/* Copy the input into the arena so the caller may reuse its buffer. */
	SIP_PARSE_COPY = 1u << 1,
};

/* Why a message was refused, and what to answer. */
struct sip_parse_err {
	int err;             /* enum sip_err */
	int status;          /* status to answer; 0: drop silently (responses) */
	const char *reason;  /* reason phrase naming the fault */
	struct sip_pl where; /* header name or text where the fault was found */
	bool is_response;    /* the start line looked like a Status-Line */
};

/* Parses one message from buf[0..len). On success *out is set (allocated
 * in a) and 0 returned. On failure returns the error and, when perr is not
 * NULL, fills it. The hot headers (Via, From, To, CSeq, Call-ID, Contact,
 * Max-Forwards, Content-Length) are decoded and checked at once; other
 * headers on first use. Never reads outside buf, never allocates beyond the
 * arena's limit. */
int sip_msg_parse(struct sip_msg **out, struct sip_arena *a, const char *buf, size_t len,
                  unsigned flags, struct sip_parse_err *perr);

/* Semantic checks a server makes before acting on a request (RFC 3261 §8.2,
 * §16.3): the mandatory headers are present, single-valued ones are not
 * repeated, Content-Length is consistent, the Request-URI scheme is known,
 * a Date is well formed (RFC 1123, GMT), the top Via's branch is not the
 * bare magic cookie. Returns 0 or the error
 * (perr filled like sip_msg_parse). */
int sip_msg_check(const struct sip_msg *m, struct sip_parse_err *perr);

/* Fills perr for err (status, reason) as the parser does. */
void sip_parse_err_set(struct sip_parse_err *perr, int err, struct sip_pl where, bool is_response);

/* ---- start line -------------------------------------------------------- */

bool sip_msg_is_request(const struct sip_msg *m);
enum sip_method sip_msg_method(const struct sip_msg *m);
struct sip_pl sip_msg_method_name(const struct sip_msg *m);  /* as written */
struct sip_pl sip_msg_ruri_pl(const struct sip_msg *m);      /* request only */
const struct sip_uri *sip_msg_ruri(const struct sip_msg *m); /* parsed R-URI */
int sip_msg_status(const struct sip_msg *m);                 /* response only */
struct sip_pl sip_msg_reason(const struct sip_msg *m);       /* may be empty */
struct sip_pl sip_msg_start_line(const struct sip_msg *m);   /* without CRLF */

/* The whole message as parsed (start line to end of body) and its body. */
struct sip_pl sip_msg_raw(const struct sip_msg *m);
struct sip_pl sip_msg_body(const struct sip_msg *m);
/* Offset in raw of the empty line that ends the headers (its CR). */
size_t sip_msg_headers_end(const struct sip_msg *m);
struct sip_arena *sip_msg_arena(const struct sip_msg *m);

/* ---- headers ----------------------------------------------------------- */

size_t sip_msg_hdr_count(const struct sip_msg *m);
/* The i-th header value in message order (0-based); NULL past the end. */
const struct sip_hdr *sip_msg_hdr_at(const struct sip_msg *m, size_t i);
/* First header value with this id after position *pos (start with *pos = 0);
 * *pos is advanced past it. NULL when there are no more. */
const struct sip_hdr *sip_msg_hdr_next(const struct sip_msg *m, enum sip_hdr_id id, size_t *pos);
/* First header value with this id, or NULL. */
const struct sip_hdr *sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id);
/* First header with this name (case-insensitive, compact forms honoured). */
const struct sip_hdr *sip_msg_hdr_by_name(const struct sip_msg *m, struct sip_pl name);
/* Number of values with this id. */
size_t sip_msg_hdr_num(const struct sip_msg *m, enum sip_hdr_id id);
/* Index of h in message order. */
size_t sip_msg_hdr_index(const struct sip_msg *m, const struct sip_hdr *h);

/* ---- hot fields, decoded at parse time ---------------------------------- */

const struct sip_via *sip_msg_via(const struct sip_msg *m);      /* top Via, or NULL */
const struct sip_addr *sip_msg_from(const struct sip_msg *m);    /* or NULL */
const struct sip_addr *sip_msg_to(const struct sip_msg *m);      /* or NULL */
const struct sip_addr *sip_msg_contact(const struct sip_msg *m); /* first, or NULL */
const struct sip_cseq *sip_msg_cseq(const struct sip_msg *m);    /* or NULL */
struct sip_pl sip_msg_call_id(const struct sip_msg *m);          /* unset if absent */
/* Max-Forwards value, or -1 when absent. */
int sip_msg_max_forwards(const struct sip_msg *m);
/* Content-Length value, or -1 when absent. */
long sip_msg_content_length(const struct sip_msg *m);

/* ---- other headers, decoded on first use and cached in the arena -------- */

/* Parses header h (of Via type) and caches the result. Returns 0 or error. */
int sip_msg_hdr_via(const struct sip_msg *m, const struct sip_hdr *h, const struct sip_via **out);
/* Same for name-addr headers (From, To, Contact, Route, Record-Route, Path,
 * Reply-To, Service-Route, Refer-To, ...). */
int sip_msg_hdr_addr(const struct sip_msg *m, const struct sip_hdr *h, const struct sip_addr **out);
/* Parses the URI of a parsed addr and caches it. */
int sip_msg_addr_uri(const struct sip_msg *m, const struct sip_addr *a, const struct sip_uri **out);
/* True when a token-list header (Require, Supported, Allow, ...) of this id
 * holds tok (case-insensitive for option tags and methods). */
bool sip_msg_has_token(const struct sip_msg *m, enum sip_hdr_id id, const char *tok);

/* ---- names ------------------------------------------------------------- */

/* Method id from its name (case-sensitive, as RFC 3261 §7.1 says). */
enum sip_method sip_method_from_name(struct sip_pl name);
/* Canonical method name ("INVITE"); "" for SIP_METHOD_OTHER. */
const char *sip_method_name(enum sip_method m);
/* Header id from its name, full or compact (case-insensitive). */
enum sip_hdr_id sip_hdr_id_from_name(struct sip_pl name);
/* Canonical header name ("Call-ID"); NULL for SIP_HDR_OTHER. */
const char *sip_hdr_name(enum sip_hdr_id id);
/* True when the grammar lets the header carry a comma-separated list. */
bool sip_hdr_is_list(enum sip_hdr_id id);

#endif /* LIBSIP_MSG_H */
