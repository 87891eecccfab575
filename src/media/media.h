/*
 * media.h — RTP audio streams for the user agent, all served by one media
 * engine: one thread with epoll over every stream's RTP/RTCP sockets and a
 * 20 ms timerfd tick, so one process carries hundreds of calls cheaply.
 *
 * A stream sends G.711 (from a WAV file, an echo of what arrives, or silence),
 * receives through an adaptive jitter buffer into an optional WAV recording,
 * sends and receives RFC 4733 DTMF, and keeps RFC 3550 statistics and RTCP.
 *
 * Thread-safety: every media_* function may be called from any thread (the
 * engine locks internally); callbacks run on the engine thread with no engine
 * lock held.
 */
#ifndef LIBSIP_MEDIA_MEDIA_H
#define LIBSIP_MEDIA_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/sdp.h"

struct media_engine;
struct media_stream;

struct media_engine_cfg {
	const char *local_addr; /* numeric IP the RTP sockets bind to, e.g. "127.0.0.1" */
	uint16_t port_min,
	        port_max; /* RTP port range (even ports used; RTCP = +1), default 16384-32767 */
};

/* Creates the engine and starts its thread. 0, or SIP_ERR_* with a reason in err. */
int media_engine_new(struct media_engine **out, const struct media_engine_cfg *cfg, char *err,
                     size_t errcap);
/* Stops the thread and frees the engine; all streams must be freed first. */
void media_engine_free(struct media_engine *e);

struct media_stats {
	uint64_t sent, received, lost; /* RTP packets (lost: RFC 3550 A.3 cumulative) */
	double jitter_ms;              /* interarrival jitter, RFC 3550 A.8 */
	uint64_t rtcp_sent, rtcp_received;
	uint64_t concealed; /* 20 ms frames the jitter buffer concealed */
};

struct media_stream_cfg {
	const char *
	        play; /* WAV to send (any format libsndfile reads: downmixed to mono, resampled to 8 kHz), NULL: silence */
	bool loop;    /* play again from the start at its end (else silence after) */
	const char *record; /* WAV to write what arrives: 8 kHz mono 16-bit PCM, NULL: none */
	bool echo;          /* send back what arrives (instead of play) */
	/* DTMF received (RFC 4733), on the engine thread: digit '0'-'9','*','#','A'-'D'. */
	void (*on_dtmf)(void *arg, char digit, unsigned duration_ms);
	void *arg;
};

/* Opens the files and binds an RTP/RTCP port pair from the range. Errors: SIP_ERR_* with a
 * human-readable reason in err ("x.wav: not a sound file", "no free RTP port in 16384-16400"). */
int media_stream_new(struct media_engine *e, struct media_stream **out,
                     const struct media_stream_cfg *cfg, char *err, size_t errcap);
/* Checks that a file can be played (opens it as media_stream_new would, then
 * closes it), for start-up checks: 0, or the same error and reason in err.
 * (An addition to the agreed API.) */
int media_play_check(const char *path, char *err, size_t errcap);
/* The local RTP port (RTCP is one above). */
uint16_t media_stream_port(const struct media_stream *s);
/* Starts (or, after a re-INVITE, changes) sending/receiving per p: remote address, codec, our
 * direction (sendonly/inactive: we stop receiving-to-sink; recvonly/inactive: we stop sending RTP),
 * ptime. Safe to call again at any time. */
int media_stream_start(struct media_stream *s, const struct media_params *p);
/* Queues RFC 4733 digits to send (each 100 ms tone + 50 ms gap); SIP_ERR_UNSUPPORTED without te_pt. */
int media_stream_dtmf(struct media_stream *s, const char *digits);
/* A snapshot of the stream's counters. */
void media_stream_stats(struct media_stream *s, struct media_stats *st);
/* Stops, sends RTCP BYE, finalizes the recording, closes sockets, frees. */
void media_stream_free(struct media_stream *s);

#endif /* LIBSIP_MEDIA_MEDIA_H */
