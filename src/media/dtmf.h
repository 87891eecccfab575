/*
 * dtmf.h — RFC 4733 telephone-events for DTMF digits: a sender that turns
 * queued digits into event packets one tick at a time, and a receiver that
 * reports each event once.
 */
#ifndef LIBSIP_MEDIA_DTMF_H
#define LIBSIP_MEDIA_DTMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DTMF_QUEUE 64
#define DTMF_TONE_MS 100
#define DTMF_GAP_MS 50
#define DTMF_END_REPEATS 3

/* One telephone-event payload (RFC 4733 §2.3) and its RTP framing. */
struct dtmf_event {
	uint8_t event; /* 0-9, 10 '*', 11 '#', 12-15 'A'-'D' */
	bool end;
	uint8_t volume;    /* -dBm0, 0-63 */
	uint16_t duration; /* timestamp units since the event began */
	uint32_t ts;       /* RTP timestamp: the event's start, the same for all its packets */
	bool marker;       /* first packet of the event */
};

/* The event code of a digit, or -1. */
int dtmf_code(char digit);
/* The digit of an event code 0-15, or 0. */
char dtmf_digit(uint8_t event);
/* Four payload octets; 4. */
size_t dtmf_pack(uint8_t *out, const struct dtmf_event *ev);
/* 0, or SIP_ERR_SYNTAX when fewer than four octets. */
int dtmf_unpack(struct dtmf_event *ev, const uint8_t *p, size_t len);

struct dtmf_tx {
	char queue[DTMF_QUEUE];
	size_t head, len;
	enum { DTMF_TX_IDLE, DTMF_TX_TONE, DTMF_TX_END, DTMF_TX_GAP } state;
	struct dtmf_event cur;
	unsigned left; /* end packets or gap samples still to go */
};

void dtmf_tx_init(struct dtmf_tx *tx);
/* Queues digits; SIP_ERR_SYNTAX for a character that is no DTMF digit,
 * SIP_ERR_NOSPACE when the queue would overflow (nothing queued then). */
int dtmf_tx_queue(struct dtmf_tx *tx, const char *digits);
/* One tick of `samples` timestamp units at media timestamp now. True with
 * *ev to send instead of audio; false when audio may be sent. */
bool dtmf_tx_tick(struct dtmf_tx *tx, uint32_t now, unsigned samples, struct dtmf_event *ev);
bool dtmf_tx_busy(const struct dtmf_tx *tx);

struct dtmf_rx {
	bool active;   /* an event is in progress */
	bool reported; /* ... and has been reported */
	uint32_t ts;
	uint8_t event;
	uint16_t duration;
};

void dtmf_rx_init(struct dtmf_rx *rx);
/* Feeds a received event packet. True when a digit is to be reported:
 * *digit and *duration_ms set (once per event, whatever the repeats). */
bool dtmf_rx_packet(struct dtmf_rx *rx, const struct dtmf_event *ev, char *digit,
                    unsigned *duration_ms);

#endif /* LIBSIP_MEDIA_DTMF_H */
