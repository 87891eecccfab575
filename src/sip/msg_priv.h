/*
 * msg_priv.h — the body of struct sip_msg, shared by the files of src/sip
 * that parse, check and derive messages (layer-private).
 */
#ifndef SIP_MSG_PRIV_H
#define SIP_MSG_PRIV_H

#include "libsip/hdr.h"
#include "libsip/msg.h"

/* A header value and its structured form, decoded once and cached. The
 * public struct sip_hdr comes first so a slot pointer is a header pointer. */
struct hdr_slot {
	struct sip_hdr h;
	void *parsed;
};

/* A parsed name-addr with its URI, parsed on first use. */
struct addr_slot {
	struct sip_addr a;
	struct sip_uri *uri;
};

#define SIP_MSG_MAX_HDRS 65535u

/* sip_hdr_id_from_name() for the parser: the name is the first n octets
 * (n <= 16) at p, and 16 octets at p are readable, so it is read as two
 * words in place instead of being copied. */
enum sip_hdr_id sip_hdr_id_prefix16(const char *p, size_t n);

/* sip_uri_parse() writing straight into *u, which is left partly written
 * on failure: for the Request-URI, which dies with its message then, so
 * the parser saves the copy that keeps the public function's *uri intact. */
int sip_uri_parse_into(struct sip_uri *u, struct sip_pl in);

struct sip_msg {
	struct sip_arena *arena;
	const char *buf;
	size_t len; /* start line to end of body */
	bool request;
	enum sip_method method;
	int status;
	struct sip_pl method_pl, ruri_pl, reason, start_line;

	struct hdr_slot *hdrs;
	size_t nhdr, cap;
	/* 16 bits each keeps the struct small to clear; a message holds at
	 * most SIP_MSG_MAX_HDRS values (more is refused as too large). */
	uint16_t first[SIP_HDR_COUNT]; /* 1 + index of the first value, or 0 */
	uint16_t num[SIP_HDR_COUNT];   /* number of values per id */
	size_t hdr_end;                /* offset of the CRLF of the empty line */
	struct sip_pl body;

	/* hot headers */
	const struct sip_via *via;
	struct addr_slot *from, *to, *contact;
	struct sip_cseq cseq;
	bool has_cseq;
	struct sip_pl call_id;
	int max_fwd;
	long clen;
	bool clen_conflict;

	/* Last: the parser clears everything above it and leaves this to
	 * sip_uri_parse_into(), which writes all of it (and responses never read
	 * it). */
	struct sip_uri ruri;
};

#endif /* SIP_MSG_PRIV_H */
