/*
 * arena.c — a bump allocator with a hard limit. A message and everything
 * derived from it are allocated here and freed at once; the limit is what
 * keeps hostile input from growing memory without bound.
 *
 * Blocks are chained; the first is kept across sip_arena_reset() so a
 * parser loop reuses one allocation.
 */
#include <stdlib.h>

#include "libsip/base.h"

#define ARENA_ALIGN 16u
#define ARENA_BLOCK 8192u

struct block {
	struct block *next;
	size_t size; /* usable bytes after the header */
	size_t used;
	_Alignas(16) unsigned char data[];
};

struct sip_arena {
	struct block *head; /* current block (newest) */
	struct block *first;
	size_t limit;
	size_t used; /* bytes handed out */
	unsigned fail_after;
	unsigned nalloc;
};

static struct block *block_new(size_t size)
{
	struct block *b = malloc(sizeof(*b) + size);

	if (!b)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

int sip_arena_new(struct sip_arena **out, size_t limit)
{
	return sip_arena_new_sized(out, limit, ARENA_BLOCK);
}

int sip_arena_new_sized(struct sip_arena **out, size_t limit, size_t first)
{
	struct sip_arena *a = calloc(1, sizeof(*a));

	if (!a)
		return SIP_ERR_NOMEM;
	first = (first + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	a->first = block_new(first ? first : ARENA_ALIGN);
	if (!a->first) {
		free(a);
		return SIP_ERR_NOMEM;
	}
	a->head = a->first;
	a->limit = limit;
	*out = a;
	return 0;
}

static void free_chain(struct block *b, const struct block *keep)
{
	while (b && b != keep) {
		struct block *next = b->next;
		free(b);
		b = next;
	}
}

void sip_arena_free(struct sip_arena *a)
{
	if (!a)
		return;
	free_chain(a->head, NULL);
	free(a);
}

void sip_arena_reset(struct sip_arena *a)
{
	/* Blocks are linked newest-first; the first block is the tail. */
	free_chain(a->head, a->first);
	a->head = a->first;
	a->first->used = 0;
	a->first->next = NULL;
	a->used = 0;
	a->nalloc = 0;
}

void *sip_arena_alloc(struct sip_arena *a, size_t n)
{
	struct block *b = a->head;
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	void *p;

	a->nalloc++;
	if (a->fail_after && a->nalloc >= a->fail_after)
		return NULL;
	/* used never exceeds limit, so limit - used cannot wrap. */
	if (need < n || need > a->limit - a->used)
		return NULL;
	if (b->size - b->used < need) {
		/* After a small first block, the next is only twice its size. */
		size_t base = b->size * 2 < ARENA_BLOCK ? b->size * 2 : ARENA_BLOCK;
		size_t size = need > base ? need : base;
		/* Grow geometrically so a large message costs few mallocs. */
		if (size < b->size * 2 && b->size * 2 <= a->limit)
			size = b->size * 2;
		b = block_new(size);
		if (!b)
			return NULL;
		b->next = a->head;
		a->head = b;
	}
	p = b->data + b->used;
	b->used += need;
	a->used += need;
	return p;
}

void *sip_arena_zalloc(struct sip_arena *a, size_t n)
{
	void *p = sip_arena_alloc(a, n);

	if (p)
		memset(p, 0, n);
	return p;
}

int sip_arena_dup(struct sip_arena *a, struct sip_pl pl, struct sip_pl *out)
{
	char *p = sip_arena_alloc(a, pl.len + 1);

	if (!p)
		return SIP_ERR_NOMEM;
	if (pl.len)
		memcpy(p, pl.p, pl.len);
	p[pl.len] = '\0';
	*out = sip_pl(p, pl.len);
	return 0;
}

size_t sip_arena_used(const struct sip_arena *a)
{
	return a->used;
}

void sip_arena_fail_after(struct sip_arena *a, unsigned nth)
{
	a->fail_after = nth ? a->nalloc + nth : 0;
}
