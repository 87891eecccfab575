/*
 * slab.h — a small-block allocator for the binding index, kept apart from
 * the heap that requests and transactions churn through.
 *
 * Why: a REGISTER's transaction (kilobytes, held for Timer J) and the
 * binding it leaves (a few hundred bytes, held for the binding's life)
 * used to come from the same malloc heap, one next to the other. When the
 * transactions ended, nearly every page still held some binding, so the
 * heap could not give the pages back: after a burst of 100,000
 * registrations sipd kept about 1.3 KB per binding for good. Blocks from
 * here live in their own mmap'd slabs, sorted by size, so the binding
 * index grows and shrinks on its own pages and the transactions' memory
 * goes back to the system (malloc_trim) when they end.
 *
 * Blocks are sized in steps of SLAB_STEP bytes up to SLAB_MAX; larger
 * ones come from malloc. A slab wholly free is unmapped, except one kept
 * per size class against churn at the boundary. Thread-safe: one mutex per
 * size class.
 */
#ifndef SIPD_LOCATION_SLAB_H
#define SIPD_LOCATION_SLAB_H

#include <stddef.h>

#define SLAB_STEP 32u
#define SLAB_MAX 2048u

struct slab_pool;

/* Returns 0 or SIP_ERR_NOMEM. */
int slab_pool_new(struct slab_pool **out);
/* Unmaps every slab. Blocks larger than SLAB_MAX still allocated are the
 * caller's to free first. NULL ok. */
void slab_pool_free(struct slab_pool *p);

/* A block of size bytes (8-byte aligned), or NULL when out of memory or
 * size is 0. */
void *slab_alloc(struct slab_pool *p, size_t size);
/* Frees a block from slab_alloc; size must be the size it was asked
 * with. NULL ok. */
void slab_release(struct slab_pool *p, void *block, size_t size);

struct slab_stats {
	size_t slabs;  /* mapped */
	size_t blocks; /* allocated from slabs (not counting malloc'd ones) */
	size_t bytes;  /* mapped bytes */
};
void slab_pool_stats(struct slab_pool *p, struct slab_stats *st);

#endif /* SIPD_LOCATION_SLAB_H */
