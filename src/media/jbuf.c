/*
 * jbuf.c — adaptive jitter buffer.
 *
 * Samples live in a ring indexed by RTP timestamp (ts mod JBUF_RING) with a
 * bit per sample saying it arrived, so reordering, partial overlaps and
 * duplicates need no packet list, and packets of any ptime mix. Playout runs
 * one frame per tick from play_ts, which starts `target` samples behind the
 * first packet's timestamp.
 *
 * Adaptation: the target delay is the frame size plus three times the RFC 3550
 * interarrival jitter, clamped to 40..200 ms. The smoothed buffered depth is
 * steered toward it a frame at a time: a frame is skipped when far too much
 * is buffered, a concealment frame is inserted (play_ts held) when too
 * little is. Steering only happens while packets flow, so a pause in the
 * far end's sending (DTMF, hold) does not drift the playout point.
 *
 * Concealment: a missing frame repeats the last good one at half the level,
 * then a quarter, then an eighth; after that silence. After a second without
 * packets the buffer goes idle and the next packet starts playout afresh.
 */
#include <string.h>

#include "media/jbuf.h"

#define MASK (JBUF_RING - 1)
#define CONCEAL_REPEATS 3
#define IDLE_FRAMES 50     /* 1 s */
#define COOLDOWN_FRAMES 10 /* at most one adjustment per 200 ms */

static bool have(const struct jbuf *jb, uint32_t ts)
{
	uint32_t i = ts & MASK;

	return (jb->have[i >> 3] >> (i & 7)) & 1;
}

static void set_have(struct jbuf *jb, uint32_t ts)
{
	uint32_t i = ts & MASK;

	jb->have[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static void clear_range(struct jbuf *jb, uint32_t ts, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		uint32_t i = (ts + (uint32_t)k) & MASK;
		jb->have[i >> 3] &= (uint8_t) ~(1u << (i & 7));
	}
}

void jbuf_init(struct jbuf *jb)
{
	memset(jb, 0, sizeof(*jb));
	jb->target = JBUF_MIN_DELAY;
}

void jbuf_reset(struct jbuf *jb)
{
	memset(jb->have, 0, sizeof(jb->have));
	jb->started = false;
	jb->have_transit = false;
	jb->conceal_run = 0;
	jb->idle = 0;
}

static void update_target(struct jbuf *jb, uint32_t ts, uint32_t arrival)
{
	uint32_t transit = arrival - ts, t;
	int32_t d;

	if (jb->have_transit) {
		d = (int32_t)(transit - jb->transit);
		if (d < 0)
			d = -d;
		jb->jitter16 += (uint32_t)d - ((jb->jitter16 + 8) >> 4);
	}
	jb->transit = transit;
	jb->have_transit = true;
	t = JBUF_FRAME + 3 * (jb->jitter16 >> 4);
	if (t < JBUF_MIN_DELAY)
		t = JBUF_MIN_DELAY;
	if (t > JBUF_MAX_DELAY)
		t = JBUF_MAX_DELAY;
	jb->target = t;
}

static void start(struct jbuf *jb, uint32_t ts)
{
	memset(jb->have, 0, sizeof(jb->have));
	jb->started = true;
	jb->playing = false;
	jb->play_ts = ts - jb->target;
	jb->newest_end = ts;
	jb->depth16 = (int32_t)jb->target * 16;
	jb->idle = 0;
	jb->cooldown = COOLDOWN_FRAMES;
}

enum jbuf_put_res jbuf_put(struct jbuf *jb, uint32_t ts, const int16_t *pcm, size_t n,
                           uint32_t arrival)
{
	int32_t off;
	size_t skip = 0, fresh = 0;

	if (n == 0 || n > JBUF_RING / 4) {
		jb->c.dropped++;
		return JBUF_DROPPED;
	}
	if (jb->started) {
		off = (int32_t)(ts - jb->play_ts);
		/* Far outside the window either way: the source jumped (a new
		 * stream without a new SSRC); start over from this packet, and
		 * don't count the jump as jitter. */
		if (off < -(int32_t)(JBUF_RING / 2) ||
		    off + (int32_t)n > (int32_t)(JBUF_RING - JBUF_FRAME)) {
			jb->c.resync++;
			jb->started = false;
			jb->have_transit = false;
		}
	}
	update_target(jb, ts, arrival);
	if (!jb->started)
		start(jb, ts);
	off = (int32_t)(ts - jb->play_ts);
	if (off + (int32_t)n <= 0) {
		jb->c.late++;
		return JBUF_LATE;
	}
	if (off < 0)
		skip = (size_t)-off; /* its head is already played: keep the tail */
	for (size_t k = skip; k < n; k++) {
		uint32_t t = ts + (uint32_t)k;
		if (have(jb, t))
			continue;
		jb->pcm[t & MASK] = pcm[k];
		set_have(jb, t);
		fresh++;
	}
	if (fresh == 0) {
		jb->c.dup++;
		return JBUF_DUP;
	}
	if ((int32_t)(ts + (uint32_t)n - jb->newest_end) > 0)
		jb->newest_end = ts + (uint32_t)n;
	jb->since_put = 0;
	jb->c.put++;
	return JBUF_OK;
}

static void conceal(struct jbuf *jb, int16_t *out)
{
	if (jb->conceal_run < CONCEAL_REPEATS) {
		/* each repeat at half the level of the one before */
		for (size_t i = 0; i < JBUF_FRAME; i++)
			out[i] = (int16_t)(jb->last[i] >> (jb->conceal_run + 1));
	} else {
		memset(out, 0, JBUF_FRAME * sizeof(*out));
	}
	jb->conceal_run++;
	jb->c.concealed++;
}

/* Steers the buffered depth toward the target; true when this tick must
 * not advance (a frame is inserted). */
static bool adapt(struct jbuf *jb)
{
	int32_t depth = (int32_t)(jb->newest_end - jb->play_ts);
	int32_t target = (int32_t)jb->target;

	/* While no packet comes (a loss burst, a pause of the far end) the
	 * depth only says that nothing comes: measure only while they flow. */
	if (jb->since_put > 1 || !jb->playing)
		return false;
	jb->depth16 += depth - (jb->depth16 >> 4);
	if (jb->cooldown) {
		jb->cooldown--;
		return false;
	}
	/* The depth swings by a frame between arrivals: allow for it. */
	if (jb->depth16 / 16 > target + 3 * JBUF_FRAME) {
		clear_range(jb, jb->play_ts, JBUF_FRAME);
		jb->play_ts += JBUF_FRAME;
		jb->depth16 -= 16 * JBUF_FRAME;
		jb->cooldown = COOLDOWN_FRAMES;
		jb->c.skipped++;
	} else if (jb->depth16 / 16 < target - JBUF_FRAME) {
		jb->depth16 += 16 * JBUF_FRAME;
		jb->cooldown = COOLDOWN_FRAMES;
		jb->c.stalled++;
		return true;
	}
	return false;
}

enum jbuf_get_res jbuf_get(struct jbuf *jb, int16_t out[JBUF_FRAME])
{
	size_t present = 0;

	if (!jb->started) {
		memset(out, 0, JBUF_FRAME * sizeof(*out));
		return JBUF_SILENCE;
	}
	jb->since_put++;
	if (adapt(jb)) {
		conceal(jb, out);
		return JBUF_CONCEALED;
	}
	for (size_t k = 0; k < JBUF_FRAME; k++) {
		uint32_t t = jb->play_ts + (uint32_t)k;
		if (have(jb, t)) {
			out[k] = jb->pcm[t & MASK];
			present++;
		} else {
			out[k] = 0;
		}
	}
	clear_range(jb, jb->play_ts, JBUF_FRAME);
	jb->play_ts += JBUF_FRAME;
	if (present) {
		memcpy(jb->last, out, sizeof(jb->last));
		jb->conceal_run = 0;
		jb->idle = 0;
		jb->c.played++;
		jb->playing = true;
		return JBUF_FRAME_DATA;
	}
	if (!jb->playing) {
		/* the initial delay before the first packet's turn: not a loss */
		memset(out, 0, JBUF_FRAME * sizeof(*out));
		return JBUF_SILENCE;
	}
	if (++jb->idle >= IDLE_FRAMES) {
		/* A second of nothing: the far end stopped; go quiet and let
		 * its next packet set the playout point again. */
		jbuf_reset(jb);
		memset(out, 0, JBUF_FRAME * sizeof(*out));
		return JBUF_SILENCE;
	}
	conceal(jb, out);
	return JBUF_CONCEALED;
}

unsigned jbuf_delay_ms(const struct jbuf *jb)
{
	return jb->target / 8;
}
