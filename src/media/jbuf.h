/*
 * jbuf.h — an adaptive jitter buffer for 8 kHz audio: decoded packets go in
 * by RTP timestamp (any order, any packet length), one 20 ms frame comes out
 * per tick. Gaps are concealed, the playout delay follows the measured
 * jitter between 40 and 200 ms.
 */
#ifndef LIBSIP_MEDIA_JBUF_H
#define LIBSIP_MEDIA_JBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JBUF_FRAME 160      /* samples per 20 ms frame */
#define JBUF_RING 8192      /* samples held at most: 1.024 s, a power of two */
#define JBUF_MIN_DELAY 320  /* 40 ms */
#define JBUF_MAX_DELAY 1600 /* 200 ms */

enum jbuf_put_res { JBUF_OK, JBUF_LATE, JBUF_DUP, JBUF_DROPPED };
enum jbuf_get_res { JBUF_FRAME_DATA, JBUF_CONCEALED, JBUF_SILENCE };

struct jbuf_counters {
	uint64_t put, late, dup, dropped, resync;
	uint64_t played, concealed, skipped, stalled;
};

/* The body is here so a stream can embed it; only jbuf.c touches it. */
struct jbuf {
	int16_t pcm[JBUF_RING];
	uint8_t have[JBUF_RING / 8];
	bool started;
	bool playing;        /* real data played since the start: gaps are losses now */
	uint32_t play_ts;    /* timestamp of the next sample to play */
	uint32_t newest_end; /* one past the newest sample received */
	uint32_t target;     /* wanted playout delay, samples */
	bool have_transit;
	uint32_t transit, jitter16; /* RFC 3550 A.8 estimate, scaled by 16 */
	int32_t depth16;            /* smoothed buffered depth, samples scaled by 16 */
	unsigned cooldown, since_put, idle, conceal_run;
	int16_t last[JBUF_FRAME];
	struct jbuf_counters c;
};

void jbuf_init(struct jbuf *jb);
/* Drops everything buffered (a new source, a re-INVITE): the next packet
 * starts playout afresh. Counters stay. */
void jbuf_reset(struct jbuf *jb);
/* n samples with RTP timestamp ts, arrived at `arrival` (same 8 kHz units,
 * any origin). Late, duplicate or out-of-range packets are counted and dropped. */
enum jbuf_put_res jbuf_put(struct jbuf *jb, uint32_t ts, const int16_t *pcm, size_t n,
                           uint32_t arrival);
/* The next 20 ms frame into out: real data, a concealment of a gap, or
 * silence before the first packet and after a long pause. */
enum jbuf_get_res jbuf_get(struct jbuf *jb, int16_t out[JBUF_FRAME]);
/* Current target playout delay in ms. */
unsigned jbuf_delay_ms(const struct jbuf *jb);

#endif /* LIBSIP_MEDIA_JBUF_H */
