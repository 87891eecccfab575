/*
 * build.h — making SIP messages: from parts (requests, responses, a
 * response from its request as RFC 3261 §8.2.6 says), printing a parsed
 * message, and deriving a message from a received one by a short list of
 * edits applied to the received bytes (a proxy edits, it doesn't reprint).
 *
 * Output always goes to a caller buffer; nothing here allocates except the
 * edit list, which lives in the message's arena.
 */
#ifndef LIBSIP_BUILD_H
#define LIBSIP_BUILD_H

#include "libsip/base.h"
#include "libsip/msg.h"

/* A bounded output buffer. Writes past cap are dropped and remembered:
 * err becomes SIP_ERR_NOSPACE and every later write is a no-op. */
struct sip_wbuf {
	char *buf;
	size_t cap;
	size_t len;
	int err;
};

void sip_wbuf_init(struct sip_wbuf *w, char *buf, size_t cap);
void sip_wbuf_put(struct sip_wbuf *w, struct sip_pl pl);
void sip_wbuf_puts(struct sip_wbuf *w, const char *s);
void sip_wbuf_putu(struct sip_wbuf *w, uint64_t v);

/* ---- from parts ------------------------------------------------------- */

/* Writes "METHOD uri SIP/2.0\r\n". */
void sip_build_request_line(struct sip_wbuf *w, struct sip_pl method, struct sip_pl ruri);
/* Writes "SIP/2.0 code reason\r\n"; reason may be empty (a default phrase
 * for the code is used). */
void sip_build_status_line(struct sip_wbuf *w, int status, struct sip_pl reason);
/* Writes "Name: value\r\n" with the canonical name of id. */
void sip_build_hdr(struct sip_wbuf *w, enum sip_hdr_id id, struct sip_pl value);
/* Writes "name: value\r\n" for any header name. */
void sip_build_hdr_named(struct sip_wbuf *w, struct sip_pl name, struct sip_pl value);
/* Ends the headers: Content-Type (when ctype is set and the body is not
 * empty), Content-Length with the body's real length, the empty line and
 * the body. Returns the message length, or w->err. */
int sip_build_finish(struct sip_wbuf *w, struct sip_pl ctype, struct sip_pl body);

/* Starts a response to req (§8.2.6.2): the status line, then every Via in
 * order, From, To (with to_tag added when To has no tag, the status is
 * above 100 and to_tag is set), Call-ID and CSeq, copied as received. The
 * caller adds more headers and calls sip_build_finish(). */
void sip_build_response(struct sip_wbuf *w, const struct sip_msg *req, int status,
                        struct sip_pl reason, struct sip_pl to_tag);

/* Starts a response to a request that did not parse (§8.2: the server
 * still answers 400/505/...): the status line, then the Via, From, To,
 * Call-ID and CSeq lines found in the raw bytes, copied as they are (every
 * Via, in order). Returns 0, or SIP_ERR_NOT_FOUND when no Via line can be
 * found (there is nowhere to send a response: drop the request). */
int sip_build_response_raw(struct sip_wbuf *w, const char *buf, size_t len, int status,
                           struct sip_pl reason);

/* Default reason phrase of a status code (§21), "" when unknown. */
const char *sip_status_phrase(int status);

/* ---- printing ------------------------------------------------------------ */

/* Prints m in canonical form: the start line, one line per header value
 * with its canonical name (unknown names as written), folded white space
 * unfolded, a correct Content-Length, the body. Returns the length or
 * SIP_ERR_NOSPACE. */
int sip_msg_print(const struct sip_msg *m, char *buf, size_t cap);

/* ---- deriving: edits on the received bytes --------------------------------- */

struct sip_edit;

/* Starts an empty edit list for m, in m's arena. Returns 0 or SIP_ERR_NOMEM. */
int sip_edit_new(struct sip_edit **out, const struct sip_msg *m);
/* Adds "Via: value" above every other Via (§16.6 step 8). */
int sip_edit_via_push(struct sip_edit *e, struct sip_pl value);
/* Removes the top Via value (only it, when its line holds several).
 * SIP_ERR_NOT_FOUND when there is no Via. */
int sip_edit_via_pop(struct sip_edit *e);
/* Adds "Record-Route: value" above every other Record-Route (§16.6 step 4). */
int sip_edit_rr_push(struct sip_edit *e, struct sip_pl value);
/* Removes the top Route value (§16.4). SIP_ERR_NOT_FOUND when none. */
int sip_edit_route_pop(struct sip_edit *e);
/* Replaces the Request-URI (§16.6 step 2). */
int sip_edit_ruri(struct sip_edit *e, struct sip_pl uri);
/* Decrements Max-Forwards, or adds "Max-Forwards: 70" when absent (§16.6
 * step 3). SIP_ERR_RANGE when it is already 0 (the caller answers 483). */
int sip_edit_max_forwards(struct sip_edit *e);
/* Adds a header line at the end of the headers. */
int sip_edit_hdr_add(struct sip_edit *e, struct sip_pl name, struct sip_pl value);
/* Removes one header value of m (only it, when its line holds several). */
int sip_edit_hdr_remove(struct sip_edit *e, const struct sip_hdr *h);
/* Replaces the body (and Content-Type when ctype is set); Content-Length
 * follows. */
int sip_edit_body(struct sip_edit *e, struct sip_pl ctype, struct sip_pl body);
/* Writes the derived message: the received bytes with the edits applied and
 * Content-Length made right (added when the message had none). Returns the
 * length or SIP_ERR_NOSPACE. */
int sip_edit_print(const struct sip_edit *e, char *buf, size_t cap);

#endif /* LIBSIP_BUILD_H */
