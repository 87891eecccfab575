/*
 * test_jbuf.c — unit tests of src/media/jbuf.c, driven by a small network
 * simulator: packets of 20 ms carry their index as every sample, arrive at
 * chosen times (in 8 kHz units), and the buffer is read once per 20 ms tick.
 * Covers in-order playout, reordering, loss concealment (attenuated repeats,
 * then silence), duplicates, late packets, a source jump, and the target
 * delay following the jitter within 40..200 ms.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "media/jbuf.h"

#define NPKT 400
#define TS0 123456u

struct sim {
	uint32_t arrival[NPKT];    /* UINT32_MAX: lost */
	int out[NPKT + 100];       /* per tick: packet index played, -1 silence, -2 concealed */
	int16_t first[NPKT + 100]; /* first sample of each tick's frame */
	struct jbuf jb;
};

static void fill(int16_t *pcm, int v)
{
	for (int i = 0; i < JBUF_FRAME; i++)
		pcm[i] = (int16_t)(v * 100);
}

/* Runs ticks; at tick t (time t*160) every packet that has arrived by then
 * is put, in arrival order, then one frame is taken. */
static void run(struct sim *s, int ticks)
{
	int16_t pcm[JBUF_FRAME], out[JBUF_FRAME];
	bool done[NPKT] = {false};

	jbuf_init(&s->jb);
	for (int t = 0; t < ticks; t++) {
		uint32_t now = (uint32_t)t * JBUF_FRAME;
		for (;;) {
			int best = -1;
			for (int i = 0; i < NPKT; i++)
				if (!done[i] && s->arrival[i] <= now &&
				    (best < 0 || s->arrival[i] < s->arrival[best]))
					best = i;
			if (best < 0)
				break;
			done[best] = true;
			fill(pcm, best + 1);
			jbuf_put(&s->jb, TS0 + (uint32_t)best * JBUF_FRAME, pcm, JBUF_FRAME,
			         s->arrival[best] + 777);
		}
		enum jbuf_get_res r = jbuf_get(&s->jb, out);
		s->first[t] = out[0];
		s->out[t] = r == JBUF_FRAME_DATA ? out[0] / 100 - 1 : r == JBUF_SILENCE ? -1 : -2;
	}
}

static void paced(struct sim *s)
{
	for (int i = 0; i < NPKT; i++)
		s->arrival[i] = (uint32_t)i * JBUF_FRAME;
}

/* The played packet indices, skipping leading silence, must be 0, 1, 2 ... */
static int check_in_order(const struct sim *s, int ticks)
{
	int t = 0, next = 0;

	while (t < ticks && s->out[t] == -1)
		t++;
	for (; t < ticks && next < NPKT; t++, next++)
		if (s->out[t] != next)
			return t;
	return -1;
}

static void test_in_order(void **state)
{
	struct sim *s = calloc(1, sizeof(*s));

	(void)state;
	paced(s);
	run(s, 300);
	assert_int_equal(s->out[0], -1); /* 40 ms initial delay */
	assert_int_equal(s->out[1], -1);
	assert_int_equal(s->out[2], 0);
	assert_int_equal(check_in_order(s, 300), -1);
	assert_int_equal(s->jb.c.concealed, 0);
	assert_int_equal(jbuf_delay_ms(&s->jb), 40);
	free(s);
}

static void test_reorder(void **state)
{
	struct sim *s = calloc(1, sizeof(*s));

	(void)state;
	paced(s);
	/* 6 overtakes 5, 21 overtakes 20 by a tick */
	s->arrival[5] = s->arrival[6] + 10;
	s->arrival[20] = s->arrival[21] + 1;
	run(s, 100);
	assert_int_equal(check_in_order(s, 100), -1);
	assert_int_equal(s->jb.c.late, 0);
	free(s);
}

static void test_loss_concealment(void **state)
{
	struct sim *s = calloc(1, sizeof(*s));

	(void)state;
	paced(s);
	s->arrival[10] = UINT32_MAX;
	for (int i = 30; i < 40; i++)
		s->arrival[i] = UINT32_MAX;
	run(s, 100);
	/* one lost: one concealed frame at half the level of the one before */
	assert_int_equal(s->out[2 + 9], 9);
	assert_int_equal(s->out[2 + 10], -2);
	assert_int_equal(s->first[2 + 10], 1000 / 2);
	assert_int_equal(s->out[2 + 11], 11);
	/* ten lost: three fading repeats, then silence, counted as concealed */
	assert_int_equal(s->first[2 + 30], 3000 / 2);
	assert_int_equal(s->first[2 + 31], 3000 / 4);
	assert_int_equal(s->first[2 + 32], 3000 / 8);
	for (int t = 2 + 33; t < 2 + 40; t++) {
		assert_int_equal(s->out[t], -2);
		assert_int_equal(s->first[t], 0);
	}
	assert_int_equal(s->out[2 + 40], 40);
	assert_int_equal(s->jb.c.concealed, 11);
	free(s);
}

static void test_dup_late_and_bounds(void **state)
{
	struct jbuf *jb = malloc(sizeof(*jb));
	int16_t pcm[JBUF_FRAME], out[JBUF_FRAME];

	(void)state;
	jbuf_init(jb);
	fill(pcm, 1);
	assert_int_equal(jbuf_put(jb, 1000, pcm, JBUF_FRAME, 0), JBUF_OK);
	assert_int_equal(jbuf_put(jb, 1000, pcm, JBUF_FRAME, 0), JBUF_DUP);
	assert_int_equal(jbuf_put(jb, 1160, pcm, JBUF_FRAME, 160), JBUF_OK);
	assert_int_equal(jbuf_put(jb, 1000, pcm, 0, 0), JBUF_DROPPED);
	assert_int_equal(jbuf_put(jb, 1000, pcm, JBUF_RING, 0), JBUF_DROPPED);
	for (int i = 0; i < 4; i++)
		jbuf_get(jb, out);
	/* 1000 has been played: too late now */
	assert_int_equal(jbuf_put(jb, 1000, pcm, JBUF_FRAME, 640), JBUF_LATE);
	assert_int_equal(jb->c.dup, 1);
	assert_int_equal(jb->c.late, 1);
	/* a jump of the source far ahead restarts playout instead of filling the ring */
	assert_int_equal(jbuf_put(jb, 1000 + 10 * JBUF_RING, pcm, JBUF_FRAME, 800), JBUF_OK);
	assert_int_equal(jb->c.resync, 1);
	jbuf_get(jb, out);
	jbuf_get(jb, out);
	assert_int_equal(jbuf_get(jb, out), JBUF_FRAME_DATA);
	free(jb);
}

static void test_idle_restart(void **state)
{
	struct sim *s = calloc(1, sizeof(*s));

	(void)state;
	paced(s);
	/* the far end stops for 2 s (hold), then resumes */
	for (int i = 50; i < 150; i++)
		s->arrival[i] = UINT32_MAX;
	run(s, 250);
	/* concealment stops after a second: the rest of the pause is silence */
	assert_true(s->jb.c.concealed <= 50);
	assert_int_equal(s->out[2 + 149], -1);
	assert_int_equal(s->out[2 + 152], 152);
	free(s);
}

static void test_adaptation(void **state)
{
	struct sim *s = calloc(1, sizeof(*s));
	unsigned peak;

	(void)state;
	srand(7);
	/* the first 200 packets with up to 60 ms of random delay, then paced */
	for (int i = 0; i < NPKT; i++)
		s->arrival[i] = (uint32_t)i * JBUF_FRAME + (i < 200 ? (uint32_t)(rand() % 480) : 0);
	run(s, 200);
	peak = jbuf_delay_ms(&s->jb);
	assert_true(peak > 60 && peak <= 200);
	/* it adapted: after the first second only a few packets came too late */
	uint64_t late = s->jb.c.late;
	assert_true(late < 20);
	run(s, NPKT + 50);
	assert_true(jbuf_delay_ms(&s->jb) < peak);
	assert_true(jbuf_delay_ms(&s->jb) >= 40);
	assert_true(s->jb.c.skipped > 0); /* it shrank the delay again */

	/* wild jitter: the target stops at 200 ms */
	for (int i = 0; i < NPKT; i++)
		s->arrival[i] = (uint32_t)i * JBUF_FRAME + (uint32_t)(rand() % 4000);
	run(s, NPKT);
	assert_int_equal(jbuf_delay_ms(&s->jb), 200);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_in_order),         cmocka_unit_test(test_reorder),
	        cmocka_unit_test(test_loss_concealment), cmocka_unit_test(test_dup_late_and_bounds),
	        cmocka_unit_test(test_idle_restart),     cmocka_unit_test(test_adaptation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
