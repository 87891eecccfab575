/*
 * stream.c — one RTP audio stream: what it does on each 20 ms tick of its
 * engine and with each packet that arrives (RFC 3550, RFC 3551 G.711,
 * RFC 4733 events), and the public calls that change or read it.
 *
 * A tick first plays out one frame from the jitter buffer (to the recording
 * and, for echo, to the sender), then produces one frame to send: a DTMF
 * event packet while a digit is being sent, else audio from the file, the
 * echo or silence, packetized at the far end's ptime. The RTP clock advances
 * by a frame every tick whether or not we send, so the timestamps stay true
 * to real time across hold and resume.
 *
 * Everything here runs with the engine's mutex held.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <time.h>

#include "libsip/log.h"
#include "media/g711.h"
#include "media/media_priv.h"

#define RTCP_INTERVAL_TICKS 250 /* 5 s */
#define NTP_UNIX_OFFSET 2208988800ull
#define PKT_MAX 1500

uint64_t media_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t ntp_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return ((uint64_t)t.tv_sec + NTP_UNIX_OFFSET) << 32 |
	       (((uint64_t)t.tv_nsec << 32) / 1000000000ull);
}

static bool may_send(const struct media_stream *s)
{
	return s->started && s->p.remote_port &&
	       (s->p.dir == SDP_SENDRECV || s->p.dir == SDP_SENDONLY);
}

static bool may_receive(const struct media_stream *s)
{
	return s->started && (s->p.dir == SDP_SENDRECV || s->p.dir == SDP_RECVONLY);
}

/* RFC 3550 §6.2: randomize each interval over [0.5, 1.5] of the nominal one,
 * so hundreds of streams started together do not report in lockstep. */
static unsigned rtcp_interval(void)
{
	uint16_t r;

	rtp_random(&r, sizeof(r));
	return RTCP_INTERVAL_TICKS / 2 + r % RTCP_INTERVAL_TICKS;
}

void stream_init_tx(struct media_stream *s)
{
	uint8_t cn[8];

	rtp_random(&s->ssrc, sizeof(s->ssrc));
	rtp_random(&s->seq, sizeof(s->seq));
	rtp_random(&s->ts, sizeof(s->ts));
	/* RFC 7022: a random CNAME per session, not user@host. */
	rtp_random(cn, sizeof(cn));
	sip_hex_encode(s->cname, cn, sizeof(cn));
	/* §6.2: the first report after half the minimum interval */
	s->rtcp_left = rtcp_interval() / 2;
	dtmf_tx_init(&s->dtx);
	dtmf_rx_init(&s->drx);
	jbuf_init(&s->jb);
}

static void send_rtp(struct media_stream *s, uint8_t pt, bool marker, uint32_t ts,
                     const uint8_t *payload, size_t plen)
{
	uint8_t pkt[PKT_MAX];
	struct rtp_hdr h = {.marker = marker, .pt = pt, .seq = s->seq, .ts = ts, .ssrc = s->ssrc};
	int n = rtp_pack(pkt, sizeof(pkt), &h, payload, plen);

	if (n < 0)
		return;
	s->seq++;
	if (sendto(s->rtp_fd, pkt, (size_t)n, 0, (struct sockaddr *)&s->remote, s->remote_len) < 0)
		return; /* UDP: a dropped packet is a lost packet */
	s->sent++;
	s->octets += plen;
	s->sr_pkts++;
	s->sr_octets += (uint32_t)plen;
	s->sent_since_report = true;
}

/* Sends whole packets of ptime from the buffered samples. */
static void send_audio(struct media_stream *s)
{
	size_t per = (size_t)s->p.ptime * 8;
	uint8_t payload[MEDIA_MAX_PTIME * 8];

	while (s->txlen >= per) {
		g711_encode(s->p.pt, payload, s->txbuf, per);
		send_rtp(s, s->p.pt, s->marker, s->tx_ts, payload, per);
		s->marker = false;
		s->tx_ts += (uint32_t)per;
		s->txlen -= per;
		memmove(s->txbuf, s->txbuf + per, s->txlen * sizeof(s->txbuf[0]));
	}
}

static void tick_send(struct media_stream *s, bool have_echo)
{
	int16_t frame[MEDIA_TICK_SAMPLES];
	struct dtmf_event ev;

	if (!may_send(s)) {
		s->txlen = 0;
		return;
	}
	if (s->p.te_pt >= 0 && dtmf_tx_tick(&s->dtx, s->ts, MEDIA_TICK_SAMPLES, &ev)) {
		uint8_t payload[4];
		/* The event replaces the audio (RFC 4733 §2.5.1.2): the half
		 * packet buffered before it is dropped. */
		s->txlen = 0;
		dtmf_pack(payload, &ev);
		send_rtp(s, (uint8_t)s->p.te_pt, ev.marker, ev.ts, payload, sizeof(payload));
		return;
	}
	if (s->echo)
		memcpy(frame, s->echo_frame, sizeof(frame));
	if (!s->echo || !have_echo) {
		if (s->play && !s->echo)
			wav_read(s->play, frame, MEDIA_TICK_SAMPLES);
		else
			memset(frame, 0, sizeof(frame));
	}
	if (s->txlen == 0)
		s->tx_ts = s->ts;
	memcpy(s->txbuf + s->txlen, frame, sizeof(frame));
	s->txlen += MEDIA_TICK_SAMPLES;
	send_audio(s);
}

void stream_tick(struct media_stream *s)
{
	bool have_echo = false;

	if (!s->started)
		return;
	if (may_receive(s)) {
		jbuf_get(&s->jb, s->echo_frame);
		have_echo = true;
		if (s->rec && wav_write(s->rec, s->echo_frame, MEDIA_TICK_SAMPLES) != 0) {
			sip_log(SIP_LOG_WARN, "media: recording stopped: write failed");
			wav_writer_close(s->rec);
			s->rec = NULL;
		}
	}
	tick_send(s, have_echo);
	s->ts += MEDIA_TICK_SAMPLES;
	if (--s->rtcp_left == 0) {
		stream_send_rtcp(s, false);
		s->rtcp_left = rtcp_interval();
	}
}

/* ---- receiving ------------------------------------------------------------ */

static void rx_dtmf(struct media_stream *s, const struct rtp_hdr *h)
{
	struct dtmf_event ev;
	char digit;
	unsigned ms;

	if (dtmf_unpack(&ev, h->payload, h->plen) != 0)
		return;
	ev.ts = h->ts;
	if (dtmf_rx_packet(&s->drx, &ev, &digit, &ms) && s->on_dtmf)
		engine_report(s->e, s, digit, ms);
}

static void rx_packet(struct media_stream *s, const uint8_t *buf, size_t len, uint32_t arrival)
{
	struct rtp_hdr h;
	int16_t pcm[PKT_MAX];
	bool audio;

	if (!s->started || rtp_parse(&h, buf, len) != 0)
		return;
	audio = h.pt == s->p.pt;
	if (!audio && (s->p.te_pt < 0 || h.pt != s->p.te_pt))
		return; /* a payload type we did not agree on (CN, video ...) */
	if (!s->have_src || h.ssrc != s->rs.ssrc) {
		/* a new source: statistics and playout start over */
		rtp_stats_init(&s->rs, h.ssrc, h.seq);
		jbuf_reset(&s->jb);
		s->have_src = true;
	}
	rtp_stats_update(&s->rs, h.seq);
	s->received++;
	if (!audio) {
		rx_dtmf(s, &h);
		return;
	}
	rtp_stats_transit(&s->rs, h.ts, arrival);
	if (!may_receive(s) || h.plen == 0)
		return;
	g711_decode(s->p.pt, pcm, h.payload, h.plen);
	jbuf_put(&s->jb, h.ts, pcm, h.plen, arrival);
}

void stream_read_rtp(struct media_stream *s)
{
	uint8_t buf[PKT_MAX];

	for (;;) {
		ssize_t n = recv(s->rtp_fd, buf, sizeof(buf), MSG_TRUNC);
		if (n < 0)
			return; /* EAGAIN: drained */
		if ((size_t)n > sizeof(buf))
			continue; /* over the MTU: not ours */
		/* arrival on the 8 kHz media clock (A.8 wants the same units) */
		rx_packet(s, buf, (size_t)n, (uint32_t)(media_now_ns() / 125000));
	}
}

void stream_read_rtcp(struct media_stream *s)
{
	uint8_t buf[PKT_MAX];
	struct rtcp_info info;

	for (;;) {
		ssize_t n = recv(s->rtcp_fd, buf, sizeof(buf), MSG_TRUNC);
		if (n < 0)
			return;
		if ((size_t)n > sizeof(buf) || rtcp_parse(&info, buf, (size_t)n) != 0)
			continue;
		s->rtcp_received++;
		if (info.sr) {
			s->lsr = (uint32_t)(info.ntp >> 16);
			s->lsr_at_ns = media_now_ns();
		}
	}
}

void stream_send_rtcp(struct media_stream *s, bool bye)
{
	struct rtcp_out o = {.ssrc = s->ssrc, .cname = s->cname, .bye = bye};
	uint8_t buf[256];
	int n;

	if (!s->started || !s->p.remote_port)
		return;
	if (s->sent_since_report) {
		o.sender = true;
		o.ntp = ntp_now();
		o.rtp_ts = s->ts;
		o.pkts = s->sr_pkts;
		o.octets = s->sr_octets;
		s->sent_since_report = false;
	}
	if (s->have_src && !s->rs.probation) {
		o.have_rb = true;
		rtcp_fill_rb(&o.rb, &s->rs);
		if (s->lsr_at_ns) {
			o.rb.lsr = s->lsr;
			/* delay since that SR in 1/65536 s */
			o.rb.dlsr =
			        (uint32_t)(((media_now_ns() - s->lsr_at_ns) << 16) / 1000000000ull);
		}
	}
	n = rtcp_build(buf, sizeof(buf), &o);
	if (n > 0 && sendto(s->rtcp_fd, buf, (size_t)n, 0, (struct sockaddr *)&s->remote_rtcp,
	                    s->remote_len) >= 0)
		s->rtcp_sent++;
}

/* ---- public calls ----------------------------------------------------------- */

int media_play_check(const char *path, char *err, size_t errcap)
{
	struct wav_reader *r;
	int rc = wav_reader_open(&r, path, false, err, errcap);

	if (rc == 0)
		wav_reader_close(r);
	return rc;
}

uint16_t media_stream_port(const struct media_stream *s)
{
	return s->port;
}

/* The remote RTP and RTCP (port + 1) addresses; its family must be ours. */
static int resolve_remote(struct media_stream *s, const struct media_params *p,
                          struct sockaddr_storage *rtp, struct sockaddr_storage *rtcp,
                          socklen_t *len)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	                         .ai_socktype = SOCK_DGRAM,
	                         .ai_family = s->e->local.ss_family};
	struct addrinfo *ai;
	char port[8];

	snprintf(port, sizeof(port), "%u", p->remote_port);
	if (getaddrinfo(p->remote_addr, port, &hints, &ai) != 0)
		return SIP_ERR_ADDR;
	memcpy(rtp, ai->ai_addr, ai->ai_addrlen);
	memcpy(rtcp, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	if (rtcp->ss_family == AF_INET)
		((struct sockaddr_in *)rtcp)->sin_port = htons((uint16_t)(p->remote_port + 1));
	else
		((struct sockaddr_in6 *)rtcp)->sin6_port = htons((uint16_t)(p->remote_port + 1));
	return 0;
}

int media_stream_start(struct media_stream *s, const struct media_params *p)
{
	struct sockaddr_storage rtp = {0}, rtcp = {0};
	socklen_t len = 0;
	struct media_params np = *p;
	bool was_sending;
	int rc;

	if (np.pt != 0 && np.pt != 8)
		return SIP_ERR_UNSUPPORTED;
	if (np.te_pt > 127)
		np.te_pt = -1;
	/* ptime in whole 10 ms steps the tick can packetize, at most 60 */
	if (np.ptime < 10 || np.ptime > MEDIA_MAX_PTIME || np.ptime % 10)
		np.ptime = 20;
	if (np.remote_port) {
		rc = resolve_remote(s, &np, &rtp, &rtcp, &len);
		if (rc) {
			sip_log(SIP_LOG_WARN, "media: bad remote address %s", np.remote_addr);
			return rc;
		}
	}
	pthread_mutex_lock(&s->e->mu);
	was_sending = may_send(s);
	s->p = np;
	s->remote = rtp;
	s->remote_rtcp = rtcp;
	s->remote_len = len;
	s->started = true;
	if (!may_send(s))
		s->txlen = 0;
	else if (!was_sending)
		s->marker = true; /* a talkspurt begins (RFC 3551 §4.1) */
	if (!may_receive(s))
		jbuf_reset(&s->jb);
	pthread_mutex_unlock(&s->e->mu);
	return 0;
}

int media_stream_dtmf(struct media_stream *s, const char *digits)
{
	int rc;

	pthread_mutex_lock(&s->e->mu);
	if (!s->started || s->p.te_pt < 0)
		rc = SIP_ERR_UNSUPPORTED;
	else
		rc = dtmf_tx_queue(&s->dtx, digits);
	pthread_mutex_unlock(&s->e->mu);
	return rc;
}

void media_stream_stats(struct media_stream *s, struct media_stats *st)
{
	int32_t lost;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&s->e->mu);
	st->sent = s->sent;
	st->received = s->received;
	if (s->have_src) {
		lost = rtp_stats_lost(&s->rs);
		st->lost = lost > 0 ? (uint64_t)lost : 0;
		st->jitter_ms = rtp_stats_jitter(&s->rs) / 8.0;
	}
	st->rtcp_sent = s->rtcp_sent;
	st->rtcp_received = s->rtcp_received;
	st->concealed = s->jb.c.concealed;
	pthread_mutex_unlock(&s->e->mu);
}
