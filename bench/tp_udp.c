/*
 * tp_udp.c — `bench_tp_udp`: the two UDP socket models of the transport
 * (src/transport/udp.c; DESIGN.md "Concurrency"): one socket every worker
 * reads, or one SO_REUSEPORT socket per worker, with one sending peer and
 * with many.
 *
 * A forked sender blasts a 400-byte REGISTER at 127.0.0.1 with sendmmsg
 * from P sockets (P source addresses, taken in turn by one thread, so the
 * sender's cost is the same for 1 and for 64 peers) for S seconds, at an
 * optional rate cap. The transport (2 workers by default) parses each
 * datagram with sip_msg_parse and spins W microseconds for the rest of a
 * server's work. Printed: messages received per second, the share each
 * worker got, the loss, and the server's CPU per message (getrusage of
 * the server process: the sender is another process).
 *
 *   bench_tp_udp [-m shared|reuseport] [-p peers] [-s seconds]
 *                [-w work_us] [-r rate] [-n workers]
 *
 * Build (not in CMake yet): gcc -O2 -Iinclude bench/tp_udp.c
 *   build/release/libsip.a -lcrypto -lpthread -o bench_tp_udp
 *
 * Figures (2 cores, 2 workers, sender on the same machine; medians of 5
 * runs of 2 s):
 *                         1 peer                64 peers
 *   no work, 100k/s:  shared 3.5 us/msg    shared 3.5 us/msg     (no loss)
 *                     reuseport 2.2        reuseport 2.3
 *   10 us, 160k/s:    shared 135k/s 50/50  shared 132k/s         (overload)
 *                     reuseport 91k/s,     reuseport 131k/s
 *                     one worker, 43% lost
 * The shared socket costs about 1.3 us more per datagram at light load;
 * reuseport caps one busy peer at one core.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libsip/msg.h"
#include "libsip/transport.h"

#define MAX_WORKERS 64
#define MAX_PEERS 1024
#define BURST 32

static const char REGISTER[] = "REGISTER sip:127.0.0.1 SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK776asdhds;rport\r\n"
                               "Max-Forwards: 70\r\n"
                               "From: <sip:alice@127.0.0.1>;tag=1928301774\r\n"
                               "To: <sip:alice@127.0.0.1>\r\n"
                               "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
                               "CSeq: 314159 REGISTER\r\n"
                               "Contact: <sip:alice@127.0.0.1:5070>;expires=3600\r\n"
                               "User-Agent: bench_tp_udp\r\n"
                               "Content-Length: 0\r\n"
                               "\r\n";

struct opts {
	bool reuseport;
	unsigned peers, seconds, work_us, rate, workers;
};

static atomic_ulong received[MAX_WORKERS];
static unsigned work_us;
static _Thread_local struct sip_arena *arena;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void spin_us(unsigned us)
{
	double end = now_s() + us / 1e6;

	while (us && now_s() < end)
		;
}

static void on_recv(const struct tp_rx *rx, void *arg)
{
	struct sip_msg *m;

	(void)arg;
	if (!arena && sip_arena_new(&arena, 65536) < 0)
		return;
	sip_arena_reset(arena);
	if (sip_msg_parse(&m, arena, rx->buf, rx->len, 0, NULL) == 0)
		atomic_fetch_add_explicit(&received[rx->worker], 1, memory_order_relaxed);
	spin_us(work_us);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){.peers = 1, .seconds = 3, .workers = 2};
	while ((c = getopt(argc, argv, "m:p:s:w:r:n:")) != -1) {
		switch (c) {
		case 'm': o->reuseport = strcmp(optarg, "reuseport") == 0; break;
		case 'p': o->peers = (unsigned)atoi(optarg); break;
		case 's': o->seconds = (unsigned)atoi(optarg); break;
		case 'w': o->work_us = (unsigned)atoi(optarg); break;
		case 'r': o->rate = (unsigned)atoi(optarg); break;
		case 'n': o->workers = (unsigned)atoi(optarg); break;
		default: return -1;
		}
	}
	if (o->peers < 1 || o->peers > MAX_PEERS || o->workers < 1 || o->workers > MAX_WORKERS)
		return -1;
	return 0;
}

/* The sender: BURST datagrams per sendmmsg, peers taken in turn; at most
 * rate per second when rate is set. Returns the number sent. */
static unsigned long send_for(const struct tp_addr *to, const struct opts *o)
{
	static int fds[MAX_PEERS];
	struct mmsghdr msgs[BURST];
	struct iovec iov = {.iov_base = (void *)REGISTER, .iov_len = sizeof(REGISTER) - 1};
	unsigned long sent = 0;
	double start = now_s(), end = start + o->seconds;

	for (unsigned i = 0; i < o->peers; i++)
		if ((fds[i] = socket(to->ss.ss_family, SOCK_DGRAM, 0)) < 0 ||
		    connect(fds[i], (const struct sockaddr *)&to->ss, to->len) < 0)
			return 0;
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BURST; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	for (unsigned k = 0;; k++) {
		double t = now_s();
		int n;

		if (t >= end)
			break;
		/* Ahead of the rate: sleep rather than spin, so the sender
		 * leaves the cores to the workers. */
		if (o->rate && sent > (t - start) * o->rate) {
			double ahead = sent / (double)o->rate - (t - start);
			struct timespec ts = {0, (long)(ahead * 1e9)};

			nanosleep(&ts, NULL);
			continue;
		}
		n = sendmmsg(fds[k % o->peers], msgs, BURST, 0);
		if (n > 0)
			sent += (unsigned long)n;
	}
	return sent;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static void report(const struct opts *o, unsigned long sent, double secs, double cpu)
{
	unsigned long total = 0;

	for (unsigned i = 0; i < o->workers; i++)
		total += atomic_load(&received[i]);
	printf("%-9s peers=%-3u work=%uus rate=%-7u sent/s=%8.0f recv/s=%8.0f loss=%5.1f%% "
	       "cpu/msg=%5.2fus split=",
	       o->reuseport ? "reuseport" : "shared", o->peers, o->work_us, o->rate, sent / secs,
	       total / secs, sent ? 100.0 * (double)(sent - total) / (double)sent : 0.0,
	       total ? cpu * 1e6 / (double)total : 0.0);
	for (unsigned i = 0; i < o->workers; i++)
		printf("%s%.0f%%", i ? "/" : "",
		       total ? 100.0 * (double)atomic_load(&received[i]) / (double)total : 0.0);
	printf("\n");
}

int main(int argc, char **argv)
{
	struct opts o;
	struct tp_cfg cfg;
	struct tp_addr addr;
	struct tp *t;
	enum tp_proto proto;
	int pipefd[2], status;
	unsigned long sent = 0;
	double t0, c0;

	if (parse_opts(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: bench_tp_udp [-m shared|reuseport] [-p peers] [-s secs] "
		                "[-w work_us] [-r rate] [-n workers]\n");
		return 2;
	}
	work_us = o.work_us;
	tp_cfg_default(&cfg);
	cfg.workers = o.workers;
	cfg.udp_reuseport = o.reuseport;
	if (tp_listen_spec_parse("udp:127.0.0.1:0", &proto, &addr) < 0 ||
	    tp_new(&t, &cfg, on_recv, NULL, NULL) < 0 || tp_listen(t, proto, &addr) < 0 ||
	    tp_start(t) < 0 || pipe(pipefd) < 0)
		return 1;
	addr = *tp_listener_addr(t, 0, NULL);
	t0 = now_s();
	c0 = cpu_s();
	if (fork() == 0) {
		sent = send_for(&addr, &o);
		_exit(write(pipefd[1], &sent, sizeof(sent)) == sizeof(sent) ? 0 : 1);
	}
	if (read(pipefd[0], &sent, sizeof(sent)) != sizeof(sent))
		return 1;
	wait(&status);
	usleep(200000); /* let the socket buffers drain */
	tp_stop(t);
	report(&o, sent, now_s() - t0 - 0.2, cpu_s() - c0);
	tp_free(t);
	return 0;
}
