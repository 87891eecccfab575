/*
 * dtmf.c — RFC 4733 DTMF events.
 *
 * Sending (§2.5.1): an event's packets all carry the timestamp of its start;
 * the first has the marker bit; each later one reports the duration so far,
 * one packet per tick; the end is sent three times with the E bit and the
 * final duration (new sequence numbers, same timestamp), so a lost packet or
 * two don't make the tone hang. A 50 ms gap of ordinary audio separates
 * digits.
 *
 * Receiving (§2.5.2): an event is identified by its timestamp; it is reported
 * once, at its first end packet — repeated ends and late updates of the
 * same timestamp are ignored. If its end packets are all lost, it is
 * reported when the next event begins.
 */
#include <string.h>

#include "libsip/base.h"
#include "media/dtmf.h"

#define SAMPLES_PER_MS 8
#define DTMF_VOLUME 10 /* -10 dBm0: a typical keypad level */

static const char digits[] = "0123456789*#ABCD";

int dtmf_code(char digit)
{
	if (digit >= 'a' && digit <= 'd')
		digit = (char)(digit - 'a' + 'A');
	for (int i = 0; i < 16; i++)
		if (digits[i] == digit)
			return i;
	return -1;
}

char dtmf_digit(uint8_t event)
{
	return event < 16 ? digits[event] : 0;
}

size_t dtmf_pack(uint8_t *out, const struct dtmf_event *ev)
{
	out[0] = ev->event;
	out[1] = (uint8_t)((ev->end ? 0x80 : 0) | (ev->volume & 0x3f));
	out[2] = (uint8_t)(ev->duration >> 8);
	out[3] = (uint8_t)ev->duration;
	return 4;
}

int dtmf_unpack(struct dtmf_event *ev, const uint8_t *p, size_t len)
{
	if (len < 4)
		return SIP_ERR_SYNTAX;
	memset(ev, 0, sizeof(*ev));
	ev->event = p[0];
	ev->end = (p[1] & 0x80) != 0;
	ev->volume = p[1] & 0x3f;
	ev->duration = (uint16_t)(p[2] << 8 | p[3]);
	return 0;
}

void dtmf_tx_init(struct dtmf_tx *tx)
{
	memset(tx, 0, sizeof(*tx));
}

int dtmf_tx_queue(struct dtmf_tx *tx, const char *d)
{
	size_t n = strlen(d);

	for (size_t i = 0; i < n; i++)
		if (dtmf_code(d[i]) < 0)
			return SIP_ERR_SYNTAX;
	if (n > DTMF_QUEUE - tx->len)
		return SIP_ERR_NOSPACE;
	for (size_t i = 0; i < n; i++)
		tx->queue[(tx->head + tx->len++) % DTMF_QUEUE] = d[i];
	return 0;
}

bool dtmf_tx_busy(const struct dtmf_tx *tx)
{
	return tx->len || tx->state != DTMF_TX_IDLE;
}

/* Starts the next queued digit at timestamp now. */
static void next_digit(struct dtmf_tx *tx, uint32_t now)
{
	char d = tx->queue[tx->head];

	tx->head = (tx->head + 1) % DTMF_QUEUE;
	tx->len--;
	memset(&tx->cur, 0, sizeof(tx->cur));
	tx->cur.event = (uint8_t)dtmf_code(d);
	tx->cur.volume = DTMF_VOLUME;
	tx->cur.ts = now;
	tx->cur.marker = true;
	tx->state = DTMF_TX_TONE;
}

bool dtmf_tx_tick(struct dtmf_tx *tx, uint32_t now, unsigned samples, struct dtmf_event *ev)
{
	if (tx->state == DTMF_TX_IDLE) {
		if (!tx->len)
			return false;
		next_digit(tx, now); /* its first packet goes out on this tick */
	}
	switch (tx->state) {
	case DTMF_TX_IDLE: return false;
	case DTMF_TX_GAP:
		if (tx->left > samples) {
			tx->left -= samples;
			return false;
		}
		tx->state = DTMF_TX_IDLE;
		return false;
	case DTMF_TX_TONE:
		tx->cur.duration = (uint16_t)(tx->cur.duration + samples);
		*ev = tx->cur;
		tx->cur.marker = false;
		if (tx->cur.duration >= DTMF_TONE_MS * SAMPLES_PER_MS) {
			tx->state = DTMF_TX_END;
			tx->left = DTMF_END_REPEATS;
		}
		return true;
	case DTMF_TX_END:
		tx->cur.end = true;
		*ev = tx->cur;
		if (--tx->left == 0) {
			tx->state = DTMF_TX_GAP;
			tx->left = DTMF_GAP_MS * SAMPLES_PER_MS;
		}
		return true;
	}
	return false;
}

void dtmf_rx_init(struct dtmf_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
}

bool dtmf_rx_packet(struct dtmf_rx *rx, const struct dtmf_event *ev, char *digit,
                    unsigned *duration_ms)
{
	bool report = false;

	if (dtmf_digit(ev->event) == 0)
		return false; /* not a DTMF event (flash, tones): ignored */
	if (rx->active && ev->ts == rx->ts) {
		if (rx->reported)
			return false; /* repeated end or a late update */
		if (ev->duration > rx->duration)
			rx->duration = ev->duration;
	} else {
		/* A new event. The previous one never ended for us (its end
		 * packets were lost): report it now, once. */
		if (rx->active && !rx->reported) {
			*digit = dtmf_digit(rx->event);
			*duration_ms = rx->duration / SAMPLES_PER_MS;
			report = true;
		}
		rx->active = true;
		rx->reported = false;
		rx->ts = ev->ts;
		rx->event = ev->event;
		rx->duration = ev->duration;
	}
	if (ev->end && !report) {
		rx->reported = true;
		*digit = dtmf_digit(rx->event);
		*duration_ms = rx->duration / SAMPLES_PER_MS;
		report = true;
	}
	return report;
}
