/*
 * slab.c — the binding index's own small-block allocator (slab.h).
 *
 * A slab is SLAB_BYTES of anonymous memory, aligned to its size so that a
 * block finds its slab by masking its address. It serves one size class:
 * blocks come from its list of freed ones first, then from the part never
 * used (so pages not yet needed are never touched, and never resident).
 * Each class keeps a list of its slabs with room, and a list of all of
 * them (to unmap them at the end).
 *
 * Under AddressSanitizer, free blocks and the unused tail are poisoned, so
 * a use after free or an overrun inside a slab is still reported.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "libsip/base.h"
#include "location/slab.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define SLAB_BYTES (64u * 1024u)
#define SLAB_HEAD 64u /* the header's room: the first block starts here */
#define NCLASS (SLAB_MAX / SLAB_STEP)

struct slab {
	struct slab *prev, *next;         /* in its class's list of slabs with room */
	struct slab *all_prev, *all_next; /* in its class's list of every slab */
	void *free;                       /* freed blocks; each holds the next one's address */
	char *bump;                       /* the start of the part never used */
	uint32_t used;                    /* blocks handed out */
	bool listed;                      /* in the list with room */
};
_Static_assert(sizeof(struct slab) <= SLAB_HEAD, "slab header outgrew its room");

struct slab_class {
	pthread_mutex_t mu;
	struct slab *avail; /* slabs with at least one free block */
	struct slab *all;
	size_t slabs, blocks;
	size_t empty; /* slabs with no block in use (at most one is kept) */
};

struct slab_pool {
	struct slab_class cls[NCLASS];
};

int slab_pool_new(struct slab_pool **out)
{
	struct slab_pool *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return SIP_ERR_NOMEM;
	for (unsigned i = 0; i < NCLASS; i++)
		pthread_mutex_init(&p->cls[i].mu, NULL);
	*out = p;
	return 0;
}

static void slab_unmap(struct slab *s)
{
	UNPOISON(s, SLAB_BYTES); /* the next mapping here must not look poisoned */
	munmap(s, SLAB_BYTES);
}

void slab_pool_free(struct slab_pool *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < NCLASS; i++) {
		struct slab *s = p->cls[i].all;
		while (s) {
			struct slab *next = s->all_next;
			slab_unmap(s);
			s = next;
		}
		pthread_mutex_destroy(&p->cls[i].mu);
	}
	free(p);
}

/* A new slab, aligned to SLAB_BYTES: map twice the size and cut away what
 * lies outside the aligned part. NULL when out of memory. */
static struct slab *slab_map(void)
{
	size_t span = 2 * (size_t)SLAB_BYTES;
	char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (raw == MAP_FAILED)
		return NULL;
	uintptr_t at = ((uintptr_t)raw + SLAB_BYTES - 1) & ~(uintptr_t)(SLAB_BYTES - 1);
	size_t head = at - (uintptr_t)raw;
	if (head)
		munmap(raw, head);
	if (span - head > SLAB_BYTES)
		munmap((char *)at + SLAB_BYTES, span - head - SLAB_BYTES);
	struct slab *s = (struct slab *)at;
	s->bump = (char *)s + SLAB_HEAD;
	POISON(s->bump, SLAB_BYTES - SLAB_HEAD);
	return s;
}

static void avail_link(struct slab_class *c, struct slab *s)
{
	s->prev = NULL;
	s->next = c->avail;
	if (c->avail)
		c->avail->prev = s;
	c->avail = s;
	s->listed = true;
}

static void avail_unlink(struct slab_class *c, struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		c->avail = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->listed = false;
}

static void all_unlink(struct slab_class *c, struct slab *s)
{
	if (s->all_prev)
		s->all_prev->all_next = s->all_next;
	else
		c->all = s->all_next;
	if (s->all_next)
		s->all_next->all_prev = s->all_prev;
}

/* The size class of a block of size bytes (1..SLAB_MAX); *bsize gets the
 * size of that class's blocks. */
static unsigned class_of(size_t size, size_t *bsize)
{
	unsigned ci = (unsigned)((size + SLAB_STEP - 1) / SLAB_STEP) - 1;

	*bsize = (size_t)(ci + 1) * SLAB_STEP;
	return ci;
}

static bool slab_has_room(const struct slab *s, size_t bsize)
{
	return s->free || (size_t)((const char *)s + SLAB_BYTES - s->bump) >= bsize;
}

void *slab_alloc(struct slab_pool *p, size_t size)
{
	if (size == 0)
		return NULL;
	if (size > SLAB_MAX)
		return malloc(size);
	size_t bsize;
	struct slab_class *c = &p->cls[class_of(size, &bsize)];
	void *b;

	pthread_mutex_lock(&c->mu);
	struct slab *s = c->avail;
	if (!s) {
		if (!(s = slab_map())) {
			pthread_mutex_unlock(&c->mu);
			return NULL;
		}
		s->all_prev = NULL;
		s->all_next = c->all;
		if (c->all)
			c->all->all_prev = s;
		c->all = s;
		c->slabs++;
		c->empty++;
		avail_link(c, s);
	}
	if (s->used == 0)
		c->empty--;
	if (s->free) {
		b = s->free;
		UNPOISON(b, sizeof(void *));
		s->free = *(void **)b;
	} else {
		b = s->bump;
		s->bump += bsize;
	}
	UNPOISON(b, size);
	s->used++;
	c->blocks++;
	if (!slab_has_room(s, bsize))
		avail_unlink(c, s);
	pthread_mutex_unlock(&c->mu);
	return b;
}

void slab_release(struct slab_pool *p, void *block, size_t size)
{
	if (!block)
		return;
	if (size > SLAB_MAX) {
		free(block);
		return;
	}
	size_t bsize;
	struct slab_class *c = &p->cls[class_of(size, &bsize)];
	struct slab *s = (struct slab *)((uintptr_t)block & ~(uintptr_t)(SLAB_BYTES - 1));

	pthread_mutex_lock(&c->mu);
	POISON(block, bsize);
	UNPOISON(block, sizeof(void *));
	*(void **)block = s->free;
	POISON(block, sizeof(void *));
	s->free = block;
	if (!s->listed)
		avail_link(c, s);
	c->blocks--;
	if (--s->used == 0) {
		/* Keep one empty slab per class, so that a class hovering at a
		 * slab's boundary does not map and unmap on every change. */
		if (c->empty) {
			avail_unlink(c, s);
			all_unlink(c, s);
			c->slabs--;
			slab_unmap(s);
		} else {
			c->empty++;
		}
	}
	pthread_mutex_unlock(&c->mu);
}

void slab_pool_stats(struct slab_pool *p, struct slab_stats *st)
{
	*st = (struct slab_stats){0};
	for (unsigned i = 0; i < NCLASS; i++) {
		struct slab_class *c = &p->cls[i];
		pthread_mutex_lock(&c->mu);
		st->slabs += c->slabs;
		st->blocks += c->blocks;
		pthread_mutex_unlock(&c->mu);
	}
	st->bytes = st->slabs * SLAB_BYTES;
}
