/*
 * test_media.c — the media engine end to end on 127.0.0.1: two real streams
 * in one engine, one playing a generated 1 kHz tone (16 kHz stereo, so the
 * downmix and the resampler run) to the other, which records it. Checks the
 * recording's length against the time it was receiving and its dominant
 * frequency (Goertzel), the RTP/RTCP counters, that recvonly stops sending
 * and sendrecv resumes it, DTMF from one to the other, echo (PCMA, 30 ms
 * packets), file and port errors, and 200 streams in one engine.
 *
 * Files live in a mkdtemp directory removed at the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <sndfile.h>

#include "media/media.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define PORT_MIN 41000
#define PORT_MAX 41999

static char dir[64];
static char tone_path[128], rec_path[128], junk_path[128];

struct digits {
	pthread_mutex_t mu;
	char s[32];
	size_t n;
	unsigned last_ms;
};

static void on_dtmf(void *arg, char digit, unsigned ms)
{
	struct digits *d = arg;

	pthread_mutex_lock(&d->mu);
	if (d->n + 1 < sizeof(d->s))
		d->s[d->n++] = digit;
	d->last_ms = ms;
	pthread_mutex_unlock(&d->mu);
}

static void sleep_ms(unsigned ms)
{
	struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&t, &t) != 0)
		;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* A 1 kHz tone, 3 s at 16 kHz in two channels. */
static void write_tone(const char *path)
{
	SF_INFO info = {
	        .samplerate = 16000, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
	static short buf[16000 * 2];

	assert_non_null(sf);
	for (int i = 0; i < 16000; i++) {
		short v = (short)(12000 * sin(2 * M_PI * 1000 * i / 16000.0));
		buf[2 * i] = v;
		buf[2 * i + 1] = v;
	}
	for (int k = 0; k < 3; k++)
		assert_int_equal(sf_writef_short(sf, buf, 16000), 16000);
	sf_close(sf);
}

static int setup(void **state)
{
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_media.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(tone_path, sizeof(tone_path), "%s/tone.wav", dir);
	snprintf(rec_path, sizeof(rec_path), "%s/rec.wav", dir);
	snprintf(junk_path, sizeof(junk_path), "%s/junk.wav", dir);
	write_tone(tone_path);
	f = fopen(junk_path, "w");
	if (!f)
		return -1;
	fputs("this is not a sound file\n", f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(tone_path);
	unlink(rec_path);
	unlink(junk_path);
	rmdir(dir);
	return 0;
}

/* Goertzel power of frequency f (Hz) in n samples at 8 kHz. */
static double goertzel(const short *x, size_t n, double f)
{
	double w = 2 * M_PI * f / 8000, c = 2 * cos(w), s1 = 0, s2 = 0;

	for (size_t i = 0; i < n; i++) {
		double s0 = x[i] + c * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	return s1 * s1 + s2 * s2 - c * s1 * s2;
}

static struct media_engine *engine(void)
{
	struct media_engine_cfg cfg = {"127.0.0.1", PORT_MIN, PORT_MAX};
	struct media_engine *e = NULL;
	char err[128];

	if (media_engine_new(&e, &cfg, err, sizeof(err)) != 0)
		fail_msg("engine: %s", err);
	return e;
}

static struct media_params params(uint16_t port, enum sdp_dir d)
{
	struct media_params p = {.remote_port = port, .pt = 0, .te_pt = 101, .dir = d, .ptime = 20};

	snprintf(p.remote_addr, sizeof(p.remote_addr), "127.0.0.1");
	return p;
}

static void test_tone_call(void **state)
{
	struct media_engine *e = engine();
	struct media_stream *a = NULL, *b = NULL;
	struct media_stream_cfg ca = {.play = tone_path}, cb = {.record = rec_path};
	struct digits got = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct media_stats sa, sb;
	struct media_params pa, pb;
	char err[128];
	double t0, t1;

	(void)state;
	cb.on_dtmf = on_dtmf;
	cb.arg = &got;
	if (media_stream_new(e, &a, &ca, err, sizeof(err)) ||
	    media_stream_new(e, &b, &cb, err, sizeof(err)))
		fail_msg("stream: %s", err);
	assert_int_equal(media_stream_port(a) % 2, 0);
	assert_int_equal(media_stream_port(b) % 2, 0);
	assert_int_not_equal(media_stream_port(a), media_stream_port(b));
	pa = params(media_stream_port(b), SDP_SENDRECV);
	pb = params(media_stream_port(a), SDP_SENDRECV);
	t0 = now_s();
	assert_int_equal(media_stream_start(b, &pb), 0);
	assert_int_equal(media_stream_start(a, &pa), 0);
	sleep_ms(1500);

	media_stream_stats(a, &sa);
	media_stream_stats(b, &sb);
	/* one packet per 20 ms of the time that passed (the sleep may overshoot) */
	double ticks = (now_s() - t0) / 0.02;
	if (sa.sent < ticks * 0.8 - 5 || sa.sent > ticks + 5)
		fail_msg("sent %llu in %.0f ticks", (unsigned long long)sa.sent, ticks);
	assert_true(sb.received >= 55);
	assert_true(sa.received >= 55); /* b sends silence back */
	assert_int_equal(sb.lost, 0);
	assert_true(sb.jitter_ms < 30); /* loopback: a few ms, unless the machine is busy */

	/* DTMF a -> b */
	assert_int_equal(media_stream_dtmf(a, "159#"), 0);
	for (int i = 0; i < 40; i++) {
		pthread_mutex_lock(&got.mu);
		size_t n = got.n;
		pthread_mutex_unlock(&got.mu);
		if (n >= 4)
			break;
		sleep_ms(50);
	}
	pthread_mutex_lock(&got.mu);
	got.s[got.n] = '\0';
	assert_string_equal(got.s, "159#");
	assert_int_equal(got.last_ms, 100);
	pthread_mutex_unlock(&got.mu);

	/* hold: a recvonly stops sending; sendrecv resumes */
	pa.dir = SDP_RECVONLY;
	assert_int_equal(media_stream_start(a, &pa), 0);
	sleep_ms(100);
	media_stream_stats(a, &sa);
	sleep_ms(400);
	media_stream_stats(a, &sb);
	assert_true(sb.sent == sa.sent);
	assert_true(sb.received > sa.received); /* b still sends to a */
	pa.dir = SDP_SENDRECV;
	assert_int_equal(media_stream_start(a, &pa), 0);
	sleep_ms(300);
	media_stream_stats(a, &sb);
	assert_true(sb.sent >= sa.sent + 8);

	/* let an RTCP report pass each way: the first comes within 1.25-3.75 s */
	for (int i = 0; i < 80; i++) {
		media_stream_stats(b, &sb);
		media_stream_stats(a, &sa);
		if (sb.rtcp_received && sa.rtcp_received)
			break;
		sleep_ms(100);
	}
	assert_true(sa.rtcp_sent >= 1 && sb.rtcp_received >= 1);
	assert_true(sb.rtcp_sent >= 1 && sa.rtcp_received >= 1);

	t1 = now_s();
	media_stream_free(b);
	media_stream_free(a);
	media_engine_free(e);

	/* the recording: 8 kHz mono, as long as b was receiving */
	SF_INFO info = {0};
	SNDFILE *sf = sf_open(rec_path, SFM_READ, &info);
	assert_non_null(sf);
	assert_int_equal(info.samplerate, 8000);
	assert_int_equal(info.channels, 1);
	double secs = (double)info.frames / 8000, want = t1 - t0;
	if (fabs(secs - want) > 0.15 * want)
		fail_msg("recording %.2f s, receiving for %.2f s", secs, want);
	/* the tone is in it: 0.25-0.75 s, before the DTMF */
	short *x = calloc(4000, sizeof(short));
	assert_non_null(x);
	sf_seek(sf, 2000, SEEK_SET);
	assert_int_equal(sf_readf_short(sf, x, 4000), 4000);
	sf_close(sf);
	double p1k = goertzel(x, 4000, 1000);
	const double others[] = {300, 500, 700, 1300, 1500, 2000, 3000};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (p1k < 50 * goertzel(x, 4000, others[i]))
			fail_msg("1 kHz not dominant against %.0f Hz", others[i]);
	/* and it is loud: the RMS of the 12000-peak tone written is about 8500 */
	double rms = sqrt(p1k * 2 / 4000.0 / 4000.0);
	assert_true(rms > 6000 && rms < 18000);
	free(x);
}

/* b echoes what it receives: a's own tone comes back into a's recording. */
static void test_echo(void **state)
{
	struct media_engine *e = engine();
	struct media_stream *a = NULL, *b = NULL;
	struct media_stream_cfg ca = {.play = tone_path, .loop = true, .record = rec_path},
	                        cb = {.echo = true};
	struct media_params pa, pb;
	char err[128];

	(void)state;
	if (media_stream_new(e, &a, &ca, err, sizeof(err)) ||
	    media_stream_new(e, &b, &cb, err, sizeof(err)))
		fail_msg("stream: %s", err);
	pa = params(media_stream_port(b), SDP_SENDRECV);
	pb = params(media_stream_port(a), SDP_SENDRECV);
	pa.pt = pb.pt = 8; /* PCMA this time */
	pb.ptime = 30;     /* and b packetizes at 30 ms */
	assert_int_equal(media_stream_start(b, &pb), 0);
	assert_int_equal(media_stream_start(a, &pa), 0);
	sleep_ms(1200);
	media_stream_free(a);
	media_stream_free(b);
	media_engine_free(e);

	SF_INFO info = {0};
	SNDFILE *sf = sf_open(rec_path, SFM_READ, &info);
	assert_non_null(sf);
	assert_true(info.frames > 8000);
	short *x = calloc(4000, sizeof(short));
	assert_non_null(x);
	sf_seek(sf, info.frames - 4000, SEEK_SET);
	assert_int_equal(sf_readf_short(sf, x, 4000), 4000);
	sf_close(sf);
	double p1k = goertzel(x, 4000, 1000);
	assert_true(p1k > 50 * goertzel(x, 4000, 500));
	assert_true(p1k > 50 * goertzel(x, 4000, 2000));
	free(x);
}

static void test_errors(void **state)
{
	struct media_engine *e = engine();
	struct media_engine_cfg small = {"127.0.0.1", 42100, 42103};
	struct media_engine *e2;
	struct media_stream *s, *s1, *s2;
	struct media_stream_cfg c = {0};
	struct media_params p = params(42000, SDP_SENDRECV);
	char err[160], path[160];

	(void)state;
	snprintf(path, sizeof(path), "%s/missing.wav", dir);
	c.play = path;
	assert_int_not_equal(media_stream_new(e, &s, &c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "missing.wav"));
	assert_non_null(strstr(err, "No such file"));
	c.play = junk_path;
	assert_int_not_equal(media_stream_new(e, &s, &c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "junk.wav: not a sound file"));
	assert_int_equal(media_play_check(junk_path, err, sizeof(err)), SIP_ERR_UNSUPPORTED);
	assert_non_null(strstr(err, "junk.wav: not a sound file"));
	assert_int_equal(media_play_check(path, err, sizeof(err)), SIP_ERR_NOT_FOUND);
	assert_int_equal(media_play_check(tone_path, err, sizeof(err)), 0);
	c.play = NULL;
	snprintf(path, sizeof(path), "%s/no/such/dir/rec.wav", dir);
	c.record = path;
	assert_int_not_equal(media_stream_new(e, &s, &c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "rec.wav"));
	c.record = NULL;

	/* codec and DTMF checks */
	assert_int_equal(media_stream_new(e, &s, &c, err, sizeof(err)), 0);
	assert_int_equal(media_stream_dtmf(s, "1"), SIP_ERR_UNSUPPORTED); /* not started */
	p.pt = 9;
	assert_int_equal(media_stream_start(s, &p), SIP_ERR_UNSUPPORTED);
	p.pt = 8;
	p.te_pt = -1;
	assert_int_equal(media_stream_start(s, &p), 0);
	assert_int_equal(media_stream_dtmf(s, "1"), SIP_ERR_UNSUPPORTED);
	snprintf(p.remote_addr, sizeof(p.remote_addr), "not-an-ip");
	assert_int_not_equal(media_stream_start(s, &p), 0);
	media_stream_free(s);
	media_engine_free(e);

	/* a port taken by someone else is skipped: RTCP 42101 busy -> 42102 */
	int busy = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(42101)};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(busy, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(media_engine_new(&e2, &small, err, sizeof(err)), 0);
	assert_int_equal(media_stream_new(e2, &s, &c, err, sizeof(err)), 0);
	assert_int_equal(media_stream_port(s), 42102);
	assert_int_not_equal(media_stream_new(e2, &s1, &c, err, sizeof(err)), 0);
	media_stream_free(s);
	media_engine_free(e2);
	close(busy);

	/* a range of two pairs */
	assert_int_equal(media_engine_new(&e2, &small, err, sizeof(err)), 0);
	assert_int_equal(media_stream_new(e2, &s1, &c, err, sizeof(err)), 0);
	assert_int_equal(media_stream_new(e2, &s2, &c, err, sizeof(err)), 0);
	assert_int_not_equal(media_stream_new(e2, &s, &c, err, sizeof(err)), 0);
	assert_string_equal(err, "no free RTP port in 42100-42103");
	media_stream_free(s1);
	/* a freed pair is found again */
	assert_int_equal(media_stream_new(e2, &s, &c, err, sizeof(err)), 0);
	media_stream_free(s);
	media_stream_free(s2);
	media_engine_free(e2);
	assert_int_not_equal(media_engine_new(&e2, &(struct media_engine_cfg){"localhost", 0, 0},
	                                      err, sizeof(err)),
	                     0);
}

/* 100 calls (200 streams) in one engine: all get media; CPU is printed, not judged. */
static void test_many_streams(void **state)
{
	enum { N = 200 };
	struct media_engine *e = engine();
	struct media_stream **s = calloc(N, sizeof(*s));
	struct media_stream_cfg c = {.echo = false};
	struct rusage r0, r1;
	char err[128];

	(void)state;
	assert_non_null(s);
	for (int i = 0; i < N; i++)
		if (media_stream_new(e, &s[i], &c, err, sizeof(err)))
			fail_msg("stream %d: %s", i, err);
	for (int i = 0; i < N; i++) {
		struct media_params p = params(media_stream_port(s[i ^ 1]), SDP_SENDRECV);
		assert_int_equal(media_stream_start(s[i], &p), 0);
	}
	getrusage(RUSAGE_SELF, &r0);
	sleep_ms(1000);
	getrusage(RUSAGE_SELF, &r1);
	for (int i = 0; i < N; i++) {
		struct media_stats st;
		media_stream_stats(s[i], &st);
		if (st.received < 25)
			fail_msg("stream %d received %llu", i, (unsigned long long)st.received);
	}
	double cpu = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) +
	             (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6 +
	             (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
	             (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
	print_message("200 streams: %.0f%% of one core\n", cpu * 100);
	for (int i = 0; i < N; i++)
		media_stream_free(s[i]);
	free(s);
	media_engine_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_tone_call),
	        cmocka_unit_test(test_echo),
	        cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_many_streams),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
