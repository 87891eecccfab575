/*
 * media_priv.h — what engine.c and stream.c share: the bodies of the engine
 * and the stream. Everything in a stream is guarded by its engine's mutex.
 */
#ifndef LIBSIP_MEDIA_PRIV_H
#define LIBSIP_MEDIA_PRIV_H

#include <pthread.h>
#include <sys/socket.h>

#include "media/dtmf.h"
#include "media/jbuf.h"
#include "media/media.h"
#include "media/rtp.h"
#include "media/wav.h"

#define MEDIA_TICK_MS 20
#define MEDIA_TICK_SAMPLES 160
#define MEDIA_MAX_PTIME 60
#define MEDIA_PENDING 64

/* A DTMF report waiting to be delivered without the lock. */
struct media_report {
	struct media_stream *s;
	void (*fn)(void *arg, char digit, unsigned duration_ms);
	void *arg;
	char digit;
	unsigned ms;
};

struct media_engine {
	pthread_mutex_t mu;
	pthread_cond_t cb_done;
	pthread_t thread;
	int epfd, tfd, evfd;
	bool stop, in_callback;
	struct sockaddr_storage local;
	socklen_t local_len;
	char local_addr[64];
	uint16_t port_min, port_max, next_port;
	struct media_stream **slots; /* epoll data names a slot and a generation */
	size_t nslots;
	uint32_t gen;
	struct media_report pend[MEDIA_PENDING];
	size_t npend;
};

struct media_stream {
	struct media_engine *e;
	size_t slot;
	uint32_t gen;
	int rtp_fd, rtcp_fd;
	uint16_t port;
	bool echo;
	void (*on_dtmf)(void *arg, char digit, unsigned duration_ms);
	void *arg;
	struct wav_reader *play;
	struct wav_writer *rec;

	/* negotiated (media_stream_start) */
	bool started;
	struct media_params p;
	struct sockaddr_storage remote, remote_rtcp;
	socklen_t remote_len;

	/* sending */
	uint32_t ssrc, ts, tx_ts;
	uint16_t seq;
	bool marker;
	uint64_t sent, octets;
	uint32_t sr_pkts, sr_octets; /* wrap as RFC 3550's 32-bit counters do */
	bool sent_since_report;
	int16_t txbuf[MEDIA_MAX_PTIME * 8 + MEDIA_TICK_SAMPLES];
	size_t txlen;
	struct dtmf_tx dtx;

	/* receiving */
	bool have_src;
	struct rtp_stats rs;
	struct jbuf jb;
	int16_t echo_frame[MEDIA_TICK_SAMPLES];
	uint64_t received;
	struct dtmf_rx drx;

	/* RTCP */
	unsigned rtcp_left; /* ticks to the next report */
	uint64_t rtcp_sent, rtcp_received;
	uint32_t lsr;       /* middle 32 bits of the last SR's NTP time */
	uint64_t lsr_at_ns; /* when it came (monotonic) */
	char cname[40];
};

/* stream.c, all with e->mu held */
void stream_tick(struct media_stream *s);
void stream_read_rtp(struct media_stream *s);
void stream_read_rtcp(struct media_stream *s);
void stream_send_rtcp(struct media_stream *s, bool bye);
void stream_init_tx(struct media_stream *s);
uint64_t media_now_ns(void);

/* engine.c: queues a DTMF report for delivery after the lock is released. */
void engine_report(struct media_engine *e, struct media_stream *s, char digit, unsigned ms);

#endif /* LIBSIP_MEDIA_PRIV_H */
