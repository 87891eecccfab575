/*
 * hdr.h — structured header values (RFC 3261 §20, §25): Via, name-addr
 * headers, CSeq, numbers, Content-Type, Retry-After, and the digest
 * challenge/credential headers (RFC 7616, RFC 8760).
 *
 * Every parser takes one header value (one element of a list header, as
 * struct sip_hdr gives it), fills a struct of slices pointing into it, and
 * allocates nothing. Folded lines inside a value count as white space.
 */
#ifndef LIBSIP_HDR_H
#define LIBSIP_HDR_H

#include "libsip/base.h"
#include "libsip/uri.h"

enum sip_transport {
	SIP_TP_OTHER = 0, /* an extension token, kept as written */
	SIP_TP_UDP,
	SIP_TP_TCP,
	SIP_TP_TLS,
	SIP_TP_SCTP,
	SIP_TP_TLS_SCTP,
	SIP_TP_WS,
	SIP_TP_WSS,
};

/* Via: SIP/2.0/UDP host:port;branch=z9hG4bK...;received=...;rport */
struct sip_via {
	struct sip_pl proto;     /* "SIP" */
	struct sip_pl version;   /* "2.0" */
	struct sip_pl transport; /* as written */
	enum sip_transport tp;
	struct sip_pl host; /* IPv6 without [ ] */
	enum sip_host_type host_type;
	uint16_t port;         /* 0 when absent */
	struct sip_pl sent_by; /* host[:port] as written */
	struct sip_pl params;  /* from the first ';', or empty */
	struct sip_pl branch, received, maddr, ttl;
	bool has_rport; /* rport present (with or without value) */
	uint16_t rport; /* its value, 0 when empty */
};

/* Parses one via-parm. Returns 0 or SIP_ERR_VIA (SIP_ERR_VERSION when the
 * protocol version is not 2.0). */
int sip_via_parse(struct sip_via *via, struct sip_pl value);
/* True when the branch starts with the RFC 3261 magic cookie "z9hG4bK". */
bool sip_via_branch_is_3261(const struct sip_via *via);

/* name-addr / addr-spec with header parameters: From, To, Contact, Route,
 * Record-Route, Path, Reply-To ... and "Contact: *". */
struct sip_addr {
	struct sip_pl display; /* raw: quoted (with quotes) or token run; may be empty */
	struct sip_pl uri;     /* the URI text, without < > */
	struct sip_pl params;  /* header params after the URI (leading ';'), or empty */
	struct sip_pl tag, q, expires, instance, reg_id; /* well-known params (raw) */
	bool bracketed;                                  /* written as name-addr (with < >) */
	bool star;                                       /* Contact: * */
};

/* Parses one name-addr/addr-spec element. A bare addr-spec may not contain
 * ',', '?' or ';' in its URI (§20.10): the ';' starts header params.
 * Returns 0 or SIP_ERR_ADDR. */
int sip_addr_parse(struct sip_addr *addr, struct sip_pl value);
/* The display name with quotes removed and quoted-pairs decoded into buf.
 * Returns its length or SIP_ERR_NOSPACE. */
int sip_addr_display(const struct sip_addr *addr, char *buf, size_t cap);
/* q in thousandths (q=0.5 -> 500); def when absent. SIP_ERR_RANGE if bad. */
int sip_addr_q(const struct sip_addr *addr, int def);

/* CSeq: 4711 INVITE */
struct sip_cseq {
	uint32_t num;
	struct sip_pl method;
	int method_id; /* enum sip_method */
};

/* Returns 0 or SIP_ERR_CSEQ (number over 2^32-1, missing method ...). */
int sip_cseq_parse(struct sip_cseq *cseq, struct sip_pl value);

/* A non-negative decimal header value (Max-Forwards, Expires, Min-Expires,
 * Content-Length, RSeq): LWS-trimmed digits up to max. Returns 0,
 * SIP_ERR_RANGE or SIP_ERR_SYNTAX. */
int sip_hdr_u32(struct sip_pl value, uint32_t max, uint32_t *out);

/* Content-Type: type/subtype;params */
struct sip_ctype {
	struct sip_pl type, subtype, params;
};
int sip_ctype_parse(struct sip_ctype *ct, struct sip_pl value);

/* Retry-After: 120 (comment) ;duration=60 */
struct sip_retry_after {
	uint32_t seconds;
	struct sip_pl comment; /* without parentheses, or empty */
	struct sip_pl params;
	uint32_t duration; /* 0 when absent */
};
int sip_retry_after_parse(struct sip_retry_after *ra, struct sip_pl value);

/* True when a Call-ID value is word[@word] (RFC 3261 §25.1). */
bool sip_call_id_valid(struct sip_pl value);

/* Date: RFC 1123 date in GMT ("Sat, 13 Nov 2010 23:29:00 GMT"). Returns 0
 * and seconds since the epoch, or SIP_ERR_DATE. */
int sip_date_parse(struct sip_pl value, int64_t *epoch);

/* ---- digest authentication headers (WWW-/Proxy-Authenticate,
 *      Authorization, Proxy-Authorization) -------------------------------- */

struct sip_auth {
	struct sip_pl scheme; /* "Digest" or another scheme, as written */
	bool is_digest;
	/* Digest parameters, quotes removed (still containing any quoted-pair
	 * backslashes: use sip_auth_unquote()). Unset when absent. */
	struct sip_pl realm, nonce, opaque, algorithm, qop, domain, stale;
	struct sip_pl username, uri, response, cnonce, nc, userhash, charset;
	struct sip_pl params; /* everything after the scheme, raw */
};

/* Parses a challenge or credentials value. Unknown schemes parse with only
 * scheme and params set. Returns 0 or SIP_ERR_AUTH. */
int sip_auth_parse(struct sip_auth *auth, struct sip_pl value);
/* Copies a parameter value with quoted-pairs decoded. Returns the length,
 * or SIP_ERR_NOSPACE. */
int sip_auth_unquote(struct sip_pl in, char *buf, size_t cap);

/* What a WWW-/Proxy-Authenticate challenge says (RFC 7616 §3.3). Values are
 * plain text: the printer adds quotes and quoted-pairs. Unset slices are left
 * out; qop is the quoted list of options ("auth,auth-int"); algorithm and
 * charset must be tokens. */
struct sip_auth_challenge {
	struct sip_pl realm, domain, nonce, opaque, algorithm, qop, charset;
	bool stale;    /* printed as stale=true; left out when false */
	bool userhash; /* printed as userhash=true; left out when false */
};

/* What an Authorization / Proxy-Authorization header says (RFC 7616 §3.4).
 * Plain text as above; algorithm, qop (one option) and nc are printed
 * unquoted and must be tokens. */
struct sip_auth_credentials {
	struct sip_pl username, realm, nonce, uri, response, algorithm, cnonce, opaque;
	struct sip_pl qop, nc;
	bool userhash; /* username is a userhash: printed as userhash=true */
};

/* Prints 'Digest realm="...", nonce="...", ...' (the header value only) with
 * a NUL into buf. Returns the length, SIP_ERR_NOSPACE when cap is short, or
 * SIP_ERR_AUTH when a value cannot be written (a control character, or a
 * non-token where a token goes). */
int sip_auth_print_challenge(char *buf, size_t cap, const struct sip_auth_challenge *ch);
/* The same for credentials, in the order username, realm, nonce, uri,
 * response, algorithm, cnonce, opaque, qop, nc, userhash. */
int sip_auth_print_credentials(char *buf, size_t cap, const struct sip_auth_credentials *cr);

#endif /* LIBSIP_HDR_H */
