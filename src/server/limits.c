/*
 * limits.c — per-source token buckets (see limits.h). Sources live in a
 * fixed table of slots, two candidate slots per address (two hashes): a
 * newcomer replaces the staler of the two, so a flood from many spoofed
 * addresses can evict a real source's bucket (which then starts full,
 * erring on the side of letting it through) but can never grow memory.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "libsip/base.h"
#include "limits.h"

#define LOCKS 64u
/* Over budget, a source is told 503 at most once in this window; the rest
 * of its excess is dropped without a word, so replies never amplify a
 * flood. A message offered for the 503 may turn out to be no request
 * (garbage, a response): a few more are offered in the window, no more,
 * so a flood of garbage is still dropped nearly unread. */
#define REFUSE_EVERY_MS 200
#define REFUSE_TRIES 8

struct slot {
	uint8_t addr[16]; /* IPv4 mapped into IPv6 */
	bool used, told;
	uint8_t tries; /* messages offered for a 503 in this window */
	double tokens;
	int64_t last_ms, refused_ms;
};

struct limits {
	struct slot *slots;
	size_t mask;
	pthread_mutex_t locks[LOCKS];
};

int limits_new(struct limits **out, unsigned slots)
{
	struct limits *l = calloc(1, sizeof(*l));
	size_t n = 64;

	while (n < slots && n < (1u << 24))
		n <<= 1;
	if (!l || !(l->slots = calloc(n, sizeof(*l->slots)))) {
		free(l);
		return SIP_ERR_NOMEM;
	}
	l->mask = n - 1;
	for (unsigned i = 0; i < LOCKS; i++)
		pthread_mutex_init(&l->locks[i], NULL);
	*out = l;
	return 0;
}

void limits_free(struct limits *l)
{
	if (!l)
		return;
	for (unsigned i = 0; i < LOCKS; i++)
		pthread_mutex_destroy(&l->locks[i]);
	free(l->slots);
	free(l);
}

/* The two candidate slots of an address: the second differs from the
 * first only in bits at or above log2(LOCKS), so both are under the
 * first's lock. */
static void candidates(struct limits *l, const uint8_t addr[16], size_t *first, struct slot *c[2])
{
	*first = (size_t)sip_fnv1a(SIP_FNV_BASIS, addr, 16) & l->mask;
	size_t second = (*first ^ (LOCKS * (1 + (*first / LOCKS) % 7))) & l->mask;
	c[0] = &l->slots[*first];
	c[1] = &l->slots[second];
}

static struct slot *existing(struct slot *c[2], const uint8_t addr[16])
{
	for (int i = 0; i < 2; i++)
		if (c[i]->used && !memcmp(c[i]->addr, addr, 16))
			return c[i];
	return NULL;
}

/* The slot for addr: its own, else the staler candidate, reset. */
static struct slot *find(struct slot *c[2], const uint8_t addr[16], int64_t now, double burst)
{
	struct slot *s = existing(c, addr);

	if (s)
		return s;
	s = !c[0]->used || (c[1]->used && c[0]->last_ms <= c[1]->last_ms) ? c[0] : c[1];
	*s = (struct slot){.used = true, .tokens = burst, .last_ms = now, .refused_ms = -1};
	memcpy(s->addr, addr, 16);
	return s;
}

enum limit_verdict limits_check(struct limits *l, const struct tp_addr *src, double rate,
                                double burst, int64_t now_ms)
{
	uint8_t addr[16] = {0};
	struct slot *c[2];
	size_t first;
	enum limit_verdict v = LIMIT_PASS;

	tp_addr_ip16(src, addr);
	candidates(l, addr, &first, c);
	pthread_mutex_t *mu = &l->locks[first % LOCKS];
	pthread_mutex_lock(mu);
	struct slot *s = find(c, addr, now_ms, burst);
	if (now_ms > s->last_ms)
		s->tokens += (double)(now_ms - s->last_ms) * rate / 1000.0;
	if (s->tokens > burst)
		s->tokens = burst;
	s->last_ms = now_ms;
	if (s->tokens >= 1.0) {
		s->tokens -= 1.0;
	} else {
		if (s->refused_ms < 0 || now_ms - s->refused_ms >= REFUSE_EVERY_MS) {
			s->refused_ms = now_ms; /* a new window */
			s->tries = 0;
			s->told = false;
		}
		v = !s->told && s->tries < REFUSE_TRIES ? LIMIT_REFUSE : LIMIT_DROP;
		s->tries += v == LIMIT_REFUSE;
	}
	pthread_mutex_unlock(mu);
	return v;
}

void limits_told(struct limits *l, const struct tp_addr *src)
{
	uint8_t addr[16] = {0};
	struct slot *c[2], *s;
	size_t first;

	tp_addr_ip16(src, addr);
	candidates(l, addr, &first, c);
	pthread_mutex_lock(&l->locks[first % LOCKS]);
	if ((s = existing(c, addr)))
		s->told = true;
	pthread_mutex_unlock(&l->locks[first % LOCKS]);
}
