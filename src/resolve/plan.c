/*
 * plan.c — from an answer to the ordered targets (RFC 3263 §4.2 and
 * RFC 2782): SRV records sorted by transport rank and priority, shuffled
 * by weight within one priority, each record's addresses in turn; and the
 * answer cache those answers live in between lookups.
 *
 * The cache keeps the plan, not the ordered list, so that every answer —
 * cached or fresh — draws its own weighted order: freezing one order for a
 * TTL would send all the traffic to one target and defeat the weights.
 */
#include <arpa/inet.h>
#include <stdlib.h>

#include "rs_priv.h"

void rs_key_hash(struct rs_key *k)
{
	uint64_t h = sip_fnv1a(SIP_FNV_BASIS, k->host, strlen(k->host));
	unsigned char tail[4] = {(unsigned char)(k->port >> 8), (unsigned char)k->port,
	                         (unsigned char)k->has_proto, (unsigned char)k->proto};

	k->hash = sip_fnv1a(h, tail, sizeof(tail));
}

bool rs_key_eq(const struct rs_key *a, const struct rs_key *b)
{
	return a->hash == b->hash && a->port == b->port && a->has_proto == b->has_proto &&
	       (!a->has_proto || a->proto == b->proto) && strcmp(a->host, b->host) == 0;
}

static bool srv_before(const struct rs_srv *a, const struct rs_srv *b)
{
	return a->rank < b->rank || (a->rank == b->rank && a->prio < b->prio);
}

static bool srv_same_group(const struct rs_srv *a, const struct rs_srv *b)
{
	return a->rank == b->rank && a->prio == b->prio;
}

/* RFC 2782's selection within one group idx[start..end): the records of
 * weight 0 first, then repeatedly a random number in [0, sum of weights]
 * picks the first record whose running sum reaches it. The pick is moved
 * to the front by shifting, not swapping, so the rest keeps its order and
 * the zero-weight records stay first, as the RFC asks of every round. */
static void weighted_shuffle(const struct rs_plan *p, unsigned *idx, unsigned start, unsigned end,
                             uint64_t *rng)
{
	unsigned tmp[RS_MAX_SRV], k = 0;

	for (unsigned i = start; i < end; i++)
		if (p->srv[idx[i]].weight == 0)
			tmp[k++] = idx[i];
	for (unsigned i = start; i < end; i++)
		if (p->srv[idx[i]].weight != 0)
			tmp[k++] = idx[i];
	memcpy(idx + start, tmp, k * sizeof(*idx));

	for (unsigned i = start; i + 1 < end; i++) {
		uint32_t sum = 0, run = 0, pick;
		unsigned j;

		for (j = i; j < end; j++)
			sum += p->srv[idx[j]].weight;
		pick = (uint32_t)(rs_rand(rng) % ((uint64_t)sum + 1));
		for (j = i; j < end; j++) {
			run += p->srv[idx[j]].weight;
			if (run >= pick)
				break;
		}
		if (j == end)
			j = end - 1;
		unsigned sel = idx[j];

		memmove(idx + i + 1, idx + i, (j - i) * sizeof(*idx));
		idx[i] = sel;
	}
}

static void target_set(struct rs_target *t, enum tp_proto proto, const struct rs_ip *ip,
                       uint16_t port)
{
	memset(t, 0, sizeof(*t));
	t->proto = proto;
	if (ip->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&t->addr.ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, ip->a, 16);
		t->addr.len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&t->addr.ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, ip->a, 4);
		t->addr.len = sizeof(*s4);
	}
}

size_t rs_plan_order(const struct rs_plan *p, uint64_t *rng, struct rs_target *out, size_t cap)
{
	unsigned idx[RS_MAX_SRV], n = p->nsrv < RS_MAX_SRV ? p->nsrv : RS_MAX_SRV;
	size_t k = 0;

	/* Insertion sort: at most RS_MAX_SRV records, and stable, so equal
	 * records keep the order DNS gave them before the shuffle. */
	for (unsigned i = 0; i < n; i++) {
		unsigned j = i;

		while (j > 0 && srv_before(&p->srv[i], &p->srv[idx[j - 1]])) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}
	for (unsigned start = 0, end; start < n; start = end) {
		for (end = start + 1;
		     end < n && srv_same_group(&p->srv[idx[start]], &p->srv[idx[end]]); end++)
			;
		weighted_shuffle(p, idx, start, end, rng);
	}

	for (unsigned i = 0; i < n && k < cap; i++) {
		const struct rs_srv *s = &p->srv[idx[i]];

		for (unsigned a = s->first; a < s->first + s->nip && a < p->nip && k < cap; a++) {
			bool dup = false;

			target_set(&out[k], s->proto, &p->ip[a], s->port);
			for (size_t j = 0; j < k && !dup; j++)
				dup = out[j].proto == out[k].proto &&
				      tp_addr_eq(&out[j].addr, &out[k].addr);
			if (!dup)
				k++;
		}
	}
	return k;
}

/* ---- cache ------------------------------------------------------------- */

int rs_cache_init(struct rs_cache *c, size_t entries)
{
	c->nsets = entries / RS_CACHE_WAYS ? entries / RS_CACHE_WAYS : 1;
	c->ent = calloc(c->nsets * RS_CACHE_WAYS, sizeof(*c->ent));
	return c->ent ? 0 : SIP_ERR_NOMEM;
}

void rs_cache_fini(struct rs_cache *c)
{
	free(c->ent);
	c->ent = NULL;
}

static struct rs_cache_ent *cache_set(struct rs_cache *c, const struct rs_key *k)
{
	return &c->ent[(k->hash % c->nsets) * RS_CACHE_WAYS];
}

const struct rs_plan *rs_cache_get(struct rs_cache *c, const struct rs_key *k, uint64_t now_ms)
{
	struct rs_cache_ent *set = cache_set(c, k);

	for (unsigned w = 0; w < RS_CACHE_WAYS; w++)
		if (set[w].expires_ms > now_ms && rs_key_eq(&set[w].key, k))
			return &set[w].plan;
	return NULL;
}

void rs_cache_put(struct rs_cache *c, const struct rs_key *k, const struct rs_plan *p,
                  uint32_t ttl_s, uint64_t now_ms)
{
	struct rs_cache_ent *set = cache_set(c, k), *victim = &set[0];

	if (ttl_s == 0)
		return;
	for (unsigned w = 0; w < RS_CACHE_WAYS; w++) {
		if (set[w].expires_ms > now_ms && rs_key_eq(&set[w].key, k)) {
			victim = &set[w];
			break;
		}
		if (set[w].expires_ms < victim->expires_ms)
			victim = &set[w];
	}
	victim->key = *k;
	victim->plan = *p;
	victim->expires_ms = now_ms + (uint64_t)ttl_s * 1000;
}
