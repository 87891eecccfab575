/*
 * limits.h — per-source rate limits: a token bucket per source address
 * (IP, any port: a sender changes ports at will) over every message it
 * sends, looked at before the message is parsed so that a flood costs a
 * hash and a lock, not a parse or a reply.
 */
#ifndef SIPD_LIMITS_H
#define SIPD_LIMITS_H

#include <stdint.h>

#include "libsip/transport.h"

struct limits;

enum limit_verdict {
	LIMIT_PASS,   /* within the source's budget */
	LIMIT_REFUSE, /* over it: answer a request 503, then call limits_told() */
	LIMIT_DROP,   /* over it, told lately: drop silently */
};

/* A fixed table of `slots` sources (rounded up to a power of two): memory
 * stays bounded however many addresses send. A new source takes the slot
 * of the one least recently seen of its two candidates. */
int limits_new(struct limits **out, unsigned slots);
void limits_free(struct limits *l);

/* One message from src at now_ms, with `rate` messages a second and room
 * for `burst` at once. Thread-safe. */
enum limit_verdict limits_check(struct limits *l, const struct tp_addr *src, double rate,
                                double burst, int64_t now_ms);

/* The 503 went out: src is not offered another for a while (about five
 * a second at most). */
void limits_told(struct limits *l, const struct tp_addr *src);

#endif /* SIPD_LIMITS_H */
