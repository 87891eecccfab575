/*
 * ua.h — the user agent's core: a transport bound to a local address, a
 * transaction layer over it, and requests built the way RFC 3261 §8.1.1
 * says (Via with a fresh branch, From tag, Call-ID, CSeq, Max-Forwards).
 * The sipua commands are built on it.
 */
#ifndef SIPD_UA_H
#define SIPD_UA_H

#include <pthread.h>

#include "libsip/msg.h"
#include "libsip/transport.h"
#include "libsip/tsx.h"

struct ua_cfg {
	const char *local; /* "127.0.0.1" (port 0: any) or "127.0.0.1:5070" */
	struct tsx_cfg tsx;
};

struct ua {
	struct ua_cfg cfg;
	struct tp *tp;
	struct tsx_layer *tsx;
	struct sip_arena *arena; /* the receive path's, one worker */
	struct tp_addr udp, tcp; /* bound local addresses */
};

/* Binds UDP and TCP on cfg->local (the same port) and starts one worker.
 * Returns 0 or a negative error, logged. */
int ua_start(struct ua *ua, const struct ua_cfg *cfg);
void ua_stop(struct ua *ua);

/* Where a request for uri goes: its host (numeric; names need RFC 3263,
 * not here yet) and port, over its transport= parameter (UDP default).
 * Returns 0, or SIP_ERR_UNSUPPORTED with a message on stderr. */
int ua_target(const struct sip_uri *uri, struct tsx_peer *to);

/* Random lower-case hex of n chars (branch, tag, Call-ID material). */
void ua_random_hex(char *out, size_t n);

/* Builds an out-of-dialog request (§8.1.1) for method to ruri over the
 * transport of `to`, with extra header lines (each "Name: value", no
 * CRLF). Returns its length or SIP_ERR_NOSPACE. */
int ua_build_request(struct ua *ua, char *buf, size_t cap, const char *method, struct sip_pl ruri,
                     const struct tsx_peer *to, const char *const *extra, size_t nextra);

#endif /* SIPD_UA_H */
