/*
 * frame.h — finding SIP message boundaries in a byte stream (RFC 3261
 * §18.3: Content-Length frames the body on TCP/TLS) and the RFC 5626
 * §3.5.1 keep-alives (CRLFCRLF ping, CRLF pong) between messages.
 */
#ifndef LIBSIP_FRAME_H
#define LIBSIP_FRAME_H

#include "libsip/base.h"

enum sip_frame_kind {
	SIP_FRAME_NEED_MORE = 0, /* no complete item yet: read more */
	SIP_FRAME_MESSAGE,       /* a whole message of len bytes */
	SIP_FRAME_PING,          /* CRLFCRLF keep-alive (answer with CRLF) */
	SIP_FRAME_PONG,          /* a lone CRLF */
};

struct sip_frame {
	enum sip_frame_kind kind;
	size_t len; /* bytes to consume */
};

/* Scan state kept between calls for one connection, so a slow sender's
 * bytes are looked at once. Zero it to start; reset after each item. */
struct sip_framer {
	size_t scanned;
	/* The stream's far end sends pings (we accepted its connection): a
	 * lone CRLF at the end of what arrived waits for the bytes after it,
	 * so a ping split after its first CRLF is still a ping (RFC 5626
	 * §4.4.1 wants every ping answered). A client's framer leaves it off:
	 * to it a lone CRLF is the pong it waits for. */
	bool pings;
};

/* Looks at the unconsumed bytes of a stream. Returns 0 with *f filled, or
 * an error after which the stream cannot be framed and the connection
 * should close: SIP_ERR_TOO_BIG (headers or message over max_len),
 * SIP_ERR_CLEN (Content-Length missing, malformed or repeated with
 * different values). */
int sip_frame_next(struct sip_framer *fr, const char *buf, size_t len, size_t max_len,
                   struct sip_frame *f);

#endif /* LIBSIP_FRAME_H */
