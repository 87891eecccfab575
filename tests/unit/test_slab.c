/*
 * test_slab.c — the binding index's small-block allocator
 * (src/location/slab.c): blocks of every size keep their bytes apart,
 * come aligned, slabs wholly freed are unmapped (one kept per class),
 * blocks above SLAB_MAX go through malloc, and two threads churning one
 * class at once leave it consistent. Under the sanitizer build the slabs
 * are poisoned, so a block that overlapped another would also be caught
 * there.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "location/slab.h"

struct live {
	unsigned char *p;
	size_t size;
	unsigned char tag;
};

static void fill(struct live *l)
{
	memset(l->p, l->tag, l->size);
}

static void check(const struct live *l)
{
	for (size_t i = 0; i < l->size; i++)
		assert_int_equal(l->p[i], l->tag);
}

/* xorshift: the same sequence every run. */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void test_every_size(void **state)
{
	(void)state;
	struct slab_pool *p;
	static struct live l[SLAB_MAX];
	struct slab_stats st;

	assert_int_equal(slab_pool_new(&p), 0);
	assert_null(slab_alloc(p, 0));
	for (size_t i = 0; i < SLAB_MAX; i++) {
		l[i] = (struct live){slab_alloc(p, i + 1), i + 1, (unsigned char)(i * 7 + 1)};
		assert_non_null(l[i].p);
		assert_int_equal((uintptr_t)l[i].p % 8, 0);
		fill(&l[i]);
	}
	for (size_t i = 0; i < SLAB_MAX; i++)
		check(&l[i]);
	slab_pool_stats(p, &st);
	assert_int_equal(st.blocks, SLAB_MAX);
	/* 32 blocks a class: one slab each, two for the largest class. */
	assert_int_equal(st.slabs, SLAB_MAX / SLAB_STEP + 1);
	assert_int_equal(st.bytes % 4096, 0);
	for (size_t i = 0; i < SLAB_MAX; i++)
		slab_release(p, l[i].p, l[i].size);
	slab_pool_stats(p, &st);
	assert_int_equal(st.blocks, 0);
	slab_pool_free(p);
}

static void test_slabs_given_back(void **state)
{
	(void)state;
	enum { N = 20000 };
	struct slab_pool *p;
	struct slab_stats st;
	void **v = calloc(N, sizeof(*v));

	assert_non_null(v);
	assert_int_equal(slab_pool_new(&p), 0);
	for (size_t i = 0; i < N; i++)
		assert_non_null(v[i] = slab_alloc(p, 200));
	slab_pool_stats(p, &st);
	assert_true(st.slabs > 50); /* 224-byte blocks, ~290 a slab */
	assert_true(st.bytes >= (size_t)N * 224);
	assert_true(st.bytes < (size_t)N * 224 * 11 / 10); /* filled densely */
	/* Freeing every other block frees no slab... */
	size_t before = st.slabs;
	for (size_t i = 0; i < N; i += 2)
		slab_release(p, v[i], 200);
	slab_pool_stats(p, &st);
	assert_int_equal(st.slabs, before);
	/* ...and the freed halves are reused before any new slab is mapped. */
	for (size_t i = 0; i < N; i += 2)
		assert_non_null(v[i] = slab_alloc(p, 210)); /* same class */
	slab_pool_stats(p, &st);
	assert_int_equal(st.slabs, before);
	for (size_t i = 0; i < N; i++)
		slab_release(p, v[i], i % 2 ? 200 : 210);
	slab_pool_stats(p, &st);
	assert_int_equal(st.blocks, 0);
	assert_int_equal(st.slabs, 1); /* the one spare of the class */
	slab_pool_free(p);
	free(v);
}

static void test_large_blocks(void **state)
{
	(void)state;
	struct slab_pool *p;
	struct slab_stats st;

	assert_int_equal(slab_pool_new(&p), 0);
	struct live l = {slab_alloc(p, SLAB_MAX + 1), SLAB_MAX + 1, 0x5a};
	struct live m = {slab_alloc(p, 100000), 100000, 0xa5};
	assert_non_null(l.p);
	assert_non_null(m.p);
	fill(&l);
	fill(&m);
	check(&l);
	check(&m);
	slab_pool_stats(p, &st);
	assert_int_equal(st.slabs, 0); /* both from malloc */
	slab_release(p, l.p, l.size);
	slab_release(p, m.p, m.size);
	slab_release(p, NULL, 10);
	slab_pool_free(p);
	slab_pool_free(NULL);
}

/* Random churn over all sizes with every live block's bytes checked when
 * it goes: two blocks sharing bytes would show. */
static void churn(struct slab_pool *p, uint32_t seed, size_t rounds, unsigned char tagbase)
{
	enum { SLOTS = 2000 };
	struct live *l = calloc(SLOTS, sizeof(*l));
	uint32_t s = seed;

	assert_non_null(l);
	for (size_t r = 0; r < rounds; r++) {
		struct live *x = &l[rnd(&s) % SLOTS];
		if (x->p) {
			check(x);
			slab_release(p, x->p, x->size);
			x->p = NULL;
		} else {
			x->size = 1 + rnd(&s) % (SLAB_MAX + 200);
			x->tag = (unsigned char)(tagbase + r % 100);
			assert_non_null(x->p = slab_alloc(p, x->size));
			fill(x);
		}
	}
	for (size_t i = 0; i < SLOTS; i++)
		if (l[i].p) {
			check(&l[i]);
			slab_release(p, l[i].p, l[i].size);
		}
	free(l);
}

static void test_churn(void **state)
{
	(void)state;
	struct slab_pool *p;
	struct slab_stats st;

	assert_int_equal(slab_pool_new(&p), 0);
	churn(p, 12345, 200000, 1);
	slab_pool_stats(p, &st);
	assert_int_equal(st.blocks, 0);
	assert_true(st.slabs <= SLAB_MAX / SLAB_STEP); /* at most one spare per class */
	slab_pool_free(p);
}

struct thr {
	struct slab_pool *p;
	uint32_t seed;
	unsigned char tagbase;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;

	churn(t->p, t->seed, 100000, t->tagbase);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct slab_pool *p;
	struct slab_stats st;
	pthread_t th[2];
	struct thr a[2];

	assert_int_equal(slab_pool_new(&p), 0);
	for (int i = 0; i < 2; i++) {
		a[i] = (struct thr){p, 777u + (uint32_t)i * 1000u, (unsigned char)(i ? 101 : 1)};
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &a[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	slab_pool_stats(p, &st);
	assert_int_equal(st.blocks, 0);
	slab_pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_size),   cmocka_unit_test(test_slabs_given_back),
	        cmocka_unit_test(test_large_blocks), cmocka_unit_test(test_churn),
	        cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
