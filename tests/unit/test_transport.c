/*
 * test_transport.c — the transport layer (src/transport, RFC 3261 §18):
 * listen specs and address helpers; the §18.2.1 received / §18.2.2
 * response-destination rules with RFC 3581 rport; then real sockets on
 * 127.0.0.1 and ::1 with two workers: UDP in both socket models, oversized
 * datagrams, TCP framing (split writes, pipelining, late bodies, RFC 5626
 * pings), framing faults and oversized messages closing the connection,
 * max_conns, idle_ms, responses over the request's connection, connection
 * reuse for outgoing sends, and a peer vanishing mid-message.
 *
 * Everything binds port 0 on loopback and reads the address back; every
 * wait is bounded (5 s) and no timing is asserted.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "libsip/frame.h"
#include "libsip/transport.h"

#define WAIT_MS 5000
#define MAX_RECS 128

/* ---- collecting what the callbacks see ------------------------------------- */

struct rec {
	enum tp_proto proto;
	struct tp_addr src;
	uint64_t conn_id;
	unsigned worker;
	bool oversize;
	size_t len;
	char *data;
};

struct sink {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rec recs[MAX_RECS];
	size_t n;
	unsigned ticks[2];
	bool echo; /* answer each message with itself, from the callback */
	struct tp *tp;
};

static void sink_push(struct sink *s, const struct tp_rx *rx, bool oversize)
{
	pthread_mutex_lock(&s->mu);
	if (s->n < MAX_RECS) {
		struct rec *r = &s->recs[s->n++];

		r->proto = rx->proto;
		r->src = rx->src;
		r->conn_id = rx->conn_id;
		r->worker = rx->worker;
		r->oversize = oversize;
		r->len = rx->len;
		r->data = malloc(rx->len + 1);
		memcpy(r->data, rx->buf, rx->len);
		r->data[rx->len] = '\0';
	}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void on_recv(const struct tp_rx *rx, void *arg)
{
	struct sink *s = arg;

	sink_push(s, rx, false);
	if (s->echo)
		tp_send(s->tp, rx->proto, &rx->src, rx->conn_id, rx->buf, rx->len);
}

static void on_oversize(const struct tp_rx *rx, void *arg)
{
	sink_push(arg, rx, true);
}

static void on_tick(unsigned worker, uint64_t now, void *arg)
{
	struct sink *s = arg;

	(void)now;
	pthread_mutex_lock(&s->mu);
	if (worker < 2)
		s->ticks[worker]++;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static struct timespec deadline(unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Waits (bounded) until at least n records arrived. */
static bool wait_recs(struct sink *s, size_t n)
{
	struct timespec dl = deadline(WAIT_MS);
	bool ok;

	pthread_mutex_lock(&s->mu);
	while (s->n < n && pthread_cond_timedwait(&s->cv, &s->mu, &dl) == 0)
		;
	ok = s->n >= n;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

static bool wait_ticks(struct sink *s, unsigned n)
{
	struct timespec dl = deadline(WAIT_MS);
	bool ok;

	pthread_mutex_lock(&s->mu);
	while ((s->ticks[0] < n || s->ticks[1] < n) &&
	       pthread_cond_timedwait(&s->cv, &s->mu, &dl) == 0)
		;
	ok = s->ticks[0] >= n && s->ticks[1] >= n;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

static size_t sink_count(struct sink *s)
{
	size_t n;

	pthread_mutex_lock(&s->mu);
	n = s->n;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static void sink_init(struct sink *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
}

static void sink_fini(struct sink *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->recs[i].data);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
}

/* ---- a running transport ------------------------------------------------- */

static void small_cfg(struct tp_cfg *cfg)
{
	tp_cfg_default(cfg);
	cfg->workers = 2;
	cfg->udp_rcvbuf = 256 * 1024;
}

/* Starts a transport on one listen spec with port 0; *addr is the bound
 * address. */
static struct tp *start_tp(struct sink *s, const struct tp_cfg *cfg, const char *spec,
                           struct tp_addr *addr)
{
	enum tp_proto proto;
	struct tp_addr want;
	struct tp *t = NULL;

	assert_int_equal(tp_listen_spec_parse(spec, &proto, &want), 0);
	assert_int_equal(tp_new(&t, cfg, on_recv, on_oversize, s), 0);
	s->tp = t;
	assert_int_equal(tp_listen(t, proto, &want), 0);
	assert_int_equal(tp_listener_count(t), 1);
	assert_int_equal(tp_worker_count(t), cfg->workers);
	*addr = *tp_listener_addr(t, 0, &proto);
	assert_int_not_equal(tp_addr_port(addr), 0);
	tp_set_tick(t, 10, on_tick, s);
	assert_int_equal(tp_start(t), 0);
	return t;
}

static void set_timeout(int fd)
{
	struct timeval tv = {.tv_sec = WAIT_MS / 1000};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static int tcp_client(const struct tp_addr *to)
{
	int fd = socket(to->ss.ss_family, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (const struct sockaddr *)&to->ss, to->len), 0);
	set_timeout(fd);
	return fd;
}

static int udp_client(int family)
{
	int fd = socket(family, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	set_timeout(fd);
	return fd;
}

static struct tp_addr sock_name(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct tp_addr a;

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	memset(&a, 0, sizeof(a));
	memcpy(&a.ss, &ss, len);
	a.len = len;
	return a;
}

static void send_all(int fd, const char *p, size_t len)
{
	assert_int_equal(send(fd, p, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

/* Reads exactly len bytes (bounded by the socket timeout). */
static bool read_exact(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, 0);

		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* True when the peer closed (EOF or reset) within the socket timeout. */
static bool closed_by_peer(int fd)
{
	char buf[256];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0)
			return false; /* timeout */
	}
}

static void pause_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000L};

	nanosleep(&ts, NULL);
}

#define MSG_FMT                                                                                    \
	"OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n"                                                    \
	"Via: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bK%s\r\n"                                     \
	"Max-Forwards: 70\r\n"                                                                     \
	"From: <sip:alice@127.0.0.1>;tag=1928301774\r\n"                                           \
	"To: <sip:bob@127.0.0.1>\r\n"                                                              \
	"Call-ID: %s@127.0.0.1\r\n"                                                                \
	"CSeq: 63104 OPTIONS\r\n"                                                                  \
	"Content-Length: %zu\r\n"                                                                  \
	"\r\n"                                                                                     \
	"%s"

/* A request tagged tag (branch and Call-ID) carrying body. */
static size_t mkmsg(char *buf, size_t cap, const char *tag, const char *body)
{
	int n = snprintf(buf, cap, MSG_FMT, tag, tag, strlen(body), body);

	assert_true(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

static bool rec_is(const struct rec *r, const char *msg)
{
	return r->len == strlen(msg) && memcmp(r->data, msg, r->len) == 0;
}

/* ---- addresses --------------------------------------------------------------- */

static void test_spec_parse(void **state)
{
	enum tp_proto p;
	struct tp_addr a;
	char buf[64];

	(void)state;
	assert_int_equal(tp_listen_spec_parse("udp:127.0.0.1:5060", &p, &a), 0);
	assert_int_equal(p, TP_UDP);
	assert_string_equal(tp_addr_str(&a, buf, sizeof(buf)), "127.0.0.1:5060");
	assert_int_equal(tp_listen_spec_parse("tcp:[::1]:5070", &p, &a), 0);
	assert_int_equal(p, TP_TCP);
	assert_string_equal(tp_addr_str(&a, buf, sizeof(buf)), "[::1]:5070");
	assert_int_equal(tp_listen_spec_parse("TCP:10.1.2.3", &p, &a), 0);
	assert_int_equal(tp_addr_port(&a), 5060);
	assert_int_equal(tp_listen_spec_parse("udp:[2001:db8::5]", &p, &a), 0);
	assert_string_equal(tp_addr_str(&a, buf, sizeof(buf)), "[2001:db8::5]:5060");
	assert_int_equal(tp_listen_spec_parse("udp:::1", &p, &a), 0); /* bare IPv6 */
	assert_int_equal(tp_addr_port(&a), 5060);
	assert_int_equal(tp_listen_spec_parse("udp:0.0.0.0:0", &p, &a), 0);
	assert_int_equal(tp_addr_port(&a), 0);

	static const char *bad[] = {"",
	                            "127.0.0.1:5060",
	                            "sctp:127.0.0.1:5060",
	                            "udp:",
	                            "udp:127.0.0.1:",
	                            "udp:127.0.0.1:65536",
	                            "udp:127.0.0.1:50x",
	                            "udp:example.com:5060",
	                            "udp:1.2.3:5060",
	                            "tcp:[::1",
	                            "tcp:[::1]5060",
	                            "tcp:[fe80::g]:5060",
	                            "tcp:[]:5060"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(tp_listen_spec_parse(bad[i], &p, &a), SIP_ERR_SYNTAX);
}

static void test_addr_helpers(void **state)
{
	struct tp_addr a, b;
	char buf[64];

	(void)state;
	assert_int_equal(tp_addr_from_host(&a, SIP_PL("192.0.2.1"), 5080), 0);
	tp_addr_host(&a, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.1");
	assert_int_equal(tp_addr_port(&a), 5080);
	assert_int_equal(tp_addr_from_host(&b, SIP_PL("[::1]"), 5080), 0);
	tp_addr_host(&b, buf, sizeof(buf));
	assert_string_equal(buf, "::1");
	assert_false(tp_addr_eq(&a, &b));
	assert_int_equal(tp_addr_from_host(&b, SIP_PL("192.0.2.1"), 5080), 0);
	assert_true(tp_addr_eq(&a, &b));
	assert_int_equal(tp_addr_from_host(&b, SIP_PL("192.0.2.1"), 5081), 0);
	assert_false(tp_addr_eq(&a, &b));
	/* Two spellings of one IPv6 address are one address. */
	assert_int_equal(tp_addr_from_host(&a, SIP_PL("2001:db8:0:0::1"), 1), 0);
	assert_int_equal(tp_addr_from_host(&b, SIP_PL("2001:DB8::1"), 1), 0);
	assert_true(tp_addr_eq(&a, &b));
	assert_string_equal(tp_addr_str(&a, buf, sizeof(buf)), "[2001:db8::1]:1");
	assert_int_equal(tp_addr_from_host(&a, SIP_PL("host.example.com"), 1), SIP_ERR_SYNTAX);
	assert_int_equal(tp_addr_from_host(&a, SIP_PL(""), 1), SIP_ERR_SYNTAX);
	assert_int_equal(tp_addr_from_host(&a, SIP_PL("[]"), 1), SIP_ERR_SYNTAX);
	assert_string_equal(tp_proto_name(TP_UDP), "UDP");
	assert_string_equal(tp_proto_name(TP_TCP), "TCP");
	/* Truncation never overruns the buffer. */
	assert_int_equal(tp_addr_from_host(&a, SIP_PL("192.0.2.1"), 5080), 0);
	tp_addr_str(&a, buf, 6);
	assert_string_equal(buf, "192.0");
}

/* ---- §18.2.1 / §18.2.2 / RFC 3581 -------------------------------------------- */

static struct sip_via via_of(const char *v)
{
	struct sip_via via;

	assert_int_equal(sip_via_parse(&via, sip_pl_cstr(v)), 0);
	return via;
}

static struct tp_addr addr_of(const char *host, uint16_t port)
{
	struct tp_addr a;

	assert_int_equal(tp_addr_from_host(&a, sip_pl_cstr(host), port), 0);
	return a;
}

static void test_needs_received(void **state)
{
	struct tp_addr src = addr_of("192.0.2.1", 33000), src6 = addr_of("2001:db8::9", 33000);
	struct sip_via v;

	(void)state;
	v = via_of("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1");
	assert_false(tp_via_needs_received(&v, &src)); /* same host, port aside */
	v = via_of("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1");
	assert_false(tp_via_needs_received(&v, &src));
	v = via_of("SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK1");
	assert_true(tp_via_needs_received(&v, &src)); /* NAT or wrong sent-by */
	v = via_of("SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1");
	assert_true(tp_via_needs_received(&v, &src)); /* §18.2.1: a name always */
	v = via_of("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport");
	assert_true(tp_via_needs_received(&v, &src)); /* RFC 3581 §4 */
	assert_true(v.has_rport && v.rport == 0);
	v = via_of("SIP/2.0/TCP [2001:db8:0::9]:5060;branch=z9hG4bK1");
	assert_false(tp_via_needs_received(&v, &src6));
	v = via_of("SIP/2.0/TCP [2001:db8::8]:5060;branch=z9hG4bK1");
	assert_true(tp_via_needs_received(&v, &src6));
	v = via_of("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1");
	assert_true(tp_via_needs_received(&v, &src6)); /* other family */
}

static void expect_dest(const struct tp_rx *rx, const char *via, const char *host, uint16_t port,
                        uint64_t conn_id)
{
	struct sip_via v = via_of(via);
	struct tp_addr dst, want = addr_of(host, port);
	uint64_t id = 99;
	char buf[64];

	assert_int_equal(tp_response_dest(rx, &v, &dst, &id), 0);
	if (!tp_addr_eq(&dst, &want))
		fail_msg("%s: got %s, want %s:%u", via, tp_addr_str(&dst, buf, sizeof(buf)), host,
		         port);
	assert_int_equal(id, conn_id);
}

static void test_response_dest_udp(void **state)
{
	struct tp_rx rx = {.proto = TP_UDP, .src = addr_of("192.0.2.1", 33000)};
	struct sip_via v;
	struct tp_addr dst;
	uint64_t id;

	(void)state;
	/* sent-by only: the source IP (received equals it) at the sent-by
	 * port, or 5060 */
	expect_dest(&rx, "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK1", "192.0.2.1", 5070, 0);
	expect_dest(&rx, "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1", "192.0.2.1", 5060, 0);
	/* received (sent-by differs): the source IP, sent-by port */
	expect_dest(&rx, "SIP/2.0/UDP pc33.atlanta.com:5070;branch=z9hG4bK1", "192.0.2.1", 5070, 0);
	expect_dest(&rx, "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1", "192.0.2.1", 5060, 0);
	/* rport without value: the source port (RFC 3581 §4) */
	expect_dest(&rx, "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;rport", "192.0.2.1", 33000, 0);
	/* rport with a value in a request: the source port is the truth */
	expect_dest(&rx, "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;rport=1234", "192.0.2.1", 33000,
	            0);
	/* maddr wins over received and rport: sent-by port or 5060 */
	expect_dest(&rx, "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;maddr=239.1.1.1;ttl=16",
	            "239.1.1.1", 5070, 0);
	expect_dest(&rx, "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;maddr=192.0.2.99;rport",
	            "192.0.2.99", 5060, 0);
	/* No rx (a proxy forwarding by the next Via): received= and rport=
	 * as the previous hop filled them, else sent-by. */
	expect_dest(NULL, "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;received=192.0.2.5",
	            "192.0.2.5", 5070, 0);
	expect_dest(NULL, "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;received=192.0.2.5;rport=4000",
	            "192.0.2.5", 4000, 0);
	expect_dest(NULL, "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;rport=4000", "10.0.0.1", 4000,
	            0);
	expect_dest(NULL, "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;rport", "10.0.0.1", 5060, 0);
	expect_dest(NULL, "SIP/2.0/UDP [2001:db8::2]:5070;branch=z9hG4bK1", "2001:db8::2", 5070, 0);
	/* A host name needs DNS (RFC 3263 §5): not here. */
	v = via_of("SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1");
	assert_int_equal(tp_response_dest(NULL, &v, &dst, &id), SIP_ERR_UNSUPPORTED);
	v = via_of("SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;maddr=mcast.example.com");
	assert_int_equal(tp_response_dest(&rx, &v, &dst, &id), SIP_ERR_UNSUPPORTED);
	/* IPv6 source */
	rx.src = addr_of("2001:db8::9", 40000);
	expect_dest(&rx, "SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK1;rport", "2001:db8::9",
	            40000, 0);
}

static void test_response_dest_tcp(void **state)
{
	struct tp_rx rx = {.proto = TP_TCP, .src = addr_of("192.0.2.1", 33000), .conn_id = 77};

	(void)state;
	/* The request's connection, with the received IP at the sent-by
	 * port as the fallback (§18.2.2); rport does not apply to TCP. */
	expect_dest(&rx, "SIP/2.0/TCP 10.0.0.1:5070;branch=z9hG4bK1", "192.0.2.1", 5070, 77);
	expect_dest(&rx, "SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1;rport", "192.0.2.1", 5060, 77);
	expect_dest(&rx, "SIP/2.0/TCP a.example.com:5070;branch=z9hG4bK1;maddr=192.0.2.99",
	            "192.0.2.1", 5070, 77);
	expect_dest(NULL, "SIP/2.0/TCP 10.0.0.1:5070;branch=z9hG4bK1;received=192.0.2.5",
	            "192.0.2.5", 5070, 0);
	expect_dest(NULL, "SIP/2.0/TLS 10.0.0.1;branch=z9hG4bK1", "10.0.0.1", 5060, 0);
}

/* ---- UDP -------------------------------------------------------------------- */

static void udp_recv_case(const char *spec, bool reuseport)
{
	struct sink s;
	struct tp_cfg cfg;
	struct tp_addr la, ca[2];
	int fd[2];
	char buf[1024];
	unsigned per[2] = {0, 0};

	sink_init(&s);
	small_cfg(&cfg);
	cfg.udp_reuseport = reuseport;
	struct tp *t = start_tp(&s, &cfg, spec, &la);

	for (int i = 0; i < 2; i++) {
		fd[i] = udp_client(la.ss.ss_family);
		assert_int_equal(connect(fd[i], (struct sockaddr *)&la.ss, la.len), 0);
		ca[i] = sock_name(fd[i]);
	}
	for (int k = 0; k < 20; k++) {
		char tag[16];

		snprintf(tag, sizeof(tag), "u%d", k);
		send_all(fd[k % 2], buf, mkmsg(buf, sizeof(buf), tag, ""));
	}
	send_str(fd[0], "\r\n\r\n"); /* a keep-alive: never handed up */
	assert_true(wait_recs(&s, 20));
	tp_stop(t);
	assert_int_equal(s.n, 20);
	for (size_t i = 0; i < s.n; i++) {
		struct rec *r = &s.recs[i];
		int from = tp_addr_eq(&r->src, &ca[0]) ? 0 : 1;

		assert_true(tp_addr_eq(&r->src, &ca[from]));
		assert_int_equal(r->proto, TP_UDP);
		assert_int_equal(r->conn_id, 0);
		assert_false(r->oversize);
		assert_true(r->worker < 2);
		assert_memory_equal(r->data, "OPTIONS ", 8);
		per[from]++;
	}
	assert_int_equal(per[0], 10);
	assert_int_equal(per[1], 10);
	close(fd[0]);
	close(fd[1]);
	tp_free(t);
	sink_fini(&s);
}

static void test_udp_recv_v4_shared(void **state)
{
	(void)state;
	udp_recv_case("udp:127.0.0.1:0", false);
}

static void test_udp_recv_v4_reuseport(void **state)
{
	(void)state;
	udp_recv_case("udp:127.0.0.1:0", true);
}

static void test_udp_recv_v6_shared(void **state)
{
	(void)state;
	udp_recv_case("udp:[::1]:0", false);
}

static void test_udp_recv_v6_reuseport(void **state)
{
	(void)state;
	udp_recv_case("udp:[::1]:0", true);
}

static void test_udp_oversize(void **state)
{
	struct sink s;
	struct tp_cfg cfg;
	struct tp_addr la;
	char big[3000], ok[1024];
	size_t n;

	(void)state;
	sink_init(&s);
	small_cfg(&cfg);
	cfg.max_msg = 1024;
	struct tp *t = start_tp(&s, &cfg, "udp:127.0.0.1:0", &la);
	int fd = udp_client(AF_INET);

	memset(big, 'x', sizeof(big));
	n = mkmsg(big, sizeof(big), "big", "");
	big[n] = 'x'; /* body past Content-Length: a 3000-byte datagram */
	assert_int_equal(sendto(fd, big, sizeof(big), 0, (struct sockaddr *)&la.ss, la.len),
	                 (ssize_t)sizeof(big));
	assert_true(wait_recs(&s, 1));
	/* exactly max_msg bytes is still fine */
	memset(ok, 'y', sizeof(ok));
	mkmsg(ok, sizeof(ok), "edge", "");
	assert_int_equal(sendto(fd, ok, sizeof(ok), 0, (struct sockaddr *)&la.ss, la.len),
	                 (ssize_t)sizeof(ok));
	assert_true(wait_recs(&s, 2));
	tp_stop(t);
	assert_true(s.recs[0].oversize);
	assert_int_equal(s.recs[0].len, 1024);
	assert_memory_equal(s.recs[0].data, big, 1024);
	assert_false(s.recs[1].oversize);
	assert_int_equal(s.recs[1].len, 1024);
	close(fd);
	tp_free(t);
	sink_fini(&s);
}

static void test_udp_send(void **state)
{
	struct sink s;
	struct tp_cfg cfg;
	struct tp_addr la, ca;
	char buf[1024], got[1024];
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	size_t n;

	(void)state;
	sink_init(&s);
	small_cfg(&cfg);
	s.echo = true; /* the callback answers from the worker thread */
	struct tp *t = start_tp(&s, &cfg, "udp:127.0.0.1:0", &la);
	int fd = udp_client(AF_INET);

	n = mkmsg(buf, sizeof(buf), "echo", "hello");
	assert_int_equal(sendto(fd, buf, n, 0, (struct sockaddr *)&la.ss, la.len), (ssize_t)n);
	ca = sock_name(fd);
	assert_int_equal(recvfrom(fd, got, sizeof(got), 0, (struct sockaddr *)&from, &flen),
	                 (ssize_t)n);
	assert_memory_equal(got, buf, n);
	assert_int_equal(ntohs(((struct sockaddr_in *)&from)->sin_port), tp_addr_port(&la));
	/* and from a thread that is no worker */
	assert_int_equal(tp_send(t, TP_UDP, &ca, 0, "ping", 4), 0);
	assert_int_equal(recv(fd, got, sizeof(got), 0), 4);
	/* no IPv6 listener: no IPv6 destination */
	struct tp_addr v6 = addr_of("::1", 9);
	assert_int_equal(tp_send(t, TP_UDP, &v6, 0, "x", 1), -EAFNOSUPPORT);
	close(fd);
	tp_free(t);
	sink_fini(&s);
}

/* ---- TCP -------------------------------------------------------------------- */

struct tcp_fixture {
	struct sink s;
	struct tp_cfg cfg;
	struct tp_addr la;
	struct tp *t;
};

static void tcp_up(struct tcp_fixture *f, const char *spec)
{
	sink_init(&f->s);
	f->t = start_tp(&f->s, &f->cfg, spec, &f->la);
}

static void tcp_down(struct tcp_fixture *f)
{
	tp_free(f->t);
	sink_fini(&f->s);
}

static void test_tcp_split(void **state)
{
	struct tcp_fixture f;
	char buf[1024];
	size_t n, cut[] = {5, 60, 0};

	(void)state;
	small_cfg(&f.cfg);
	tcp_up(&f, "tcp:127.0.0.1:0");
	int fd = tcp_client(&f.la);

	n = mkmsg(buf, sizeof(buf), "split", "0123456789");
	cut[2] = n - 12; /* inside the CRLFCRLF */
	send_all(fd, buf, cut[0]);
	pause_ms(20);
	send_all(fd, buf + cut[0], cut[1] - cut[0]);
	pause_ms(20);
	send_all(fd, buf + cut[1], cut[2] - cut[1]);
	pause_ms(20);
	send_all(fd, buf + cut[2], n - cut[2]);
	assert_true(wait_recs(&f.s, 1));
	assert_true(rec_is(&f.s.recs[0], buf));
	assert_int_equal(f.s.recs[0].proto, TP_TCP);
	assert_int_not_equal(f.s.recs[0].conn_id, 0);
	struct tp_addr ca = sock_name(fd);
	assert_true(tp_addr_eq(&f.s.recs[0].src, &ca));
	close(fd);
	tcp_down(&f);
}

static void test_tcp_pipelined(void **state)
{
	struct tcp_fixture f;
	char buf[4096], one[3][1024];
	size_t n = 0;

	(void)state;
	small_cfg(&f.cfg);
	tcp_up(&f, "tcp:127.0.0.1:0");
	int fd = tcp_client(&f.la);

	for (int i = 0; i < 3; i++) {
		char tag[8];

		snprintf(tag, sizeof(tag), "p%d", i);
		mkmsg(one[i], sizeof(one[i]), tag, i == 1 ? "body\r\n\r\nwith CRLFCRLF" : "");
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", one[i],
		                      i == 0 ? "\r\n" : ""); /* a pong in between */
	}
	send_all(fd, buf, n);
	assert_true(wait_recs(&f.s, 3));
	for (int i = 0; i < 3; i++) {
		assert_true(rec_is(&f.s.recs[i], one[i]));
		assert_int_equal(f.s.recs[i].conn_id, f.s.recs[0].conn_id);
	}
	close(fd);
	tcp_down(&f);
}

static void test_tcp_late_body(void **state)
{
	struct tcp_fixture f;
	char buf[1024];
	size_t n;

	(void)state;
	small_cfg(&f.cfg);
	tcp_up(&f, "tcp:127.0.0.1:0");
	int fd = tcp_client(&f.la);

	n = mkmsg(buf, sizeof(buf), "late", "v=0\r\ns=late body\r\n");
	send_all(fd, buf, n - 19);
	pause_ms(100);
	assert_int_equal(sink_count(&f.s), 0); /* headers alone are no message */
	send_all(fd, buf + n - 19, 19);
	assert_true(wait_recs(&f.s, 1));
	assert_true(rec_is(&f.s.recs[0], buf));
	close(fd);
	tcp_down(&f);
}

static void test_tcp_ping(void **state)
{
	struct tcp_fixture f;
	char buf[1024], pong[2];

	(void)state;
	small_cfg(&f.cfg);
	tcp_up(&f, "tcp:127.0.0.1:0");
	int fd = tcp_client(&f.la);

	send_str(fd, "\r\n\r\n");
	assert_true(read_exact(fd, pong, 2));
	assert_memory_equal(pong, "\r\n", 2);
	send_str(fd, "\r\n\r\n\r\n\r\n"); /* two pings */
	assert_true(read_exact(fd, pong, 2));
	assert_true(read_exact(fd, pong, 2));
	mkmsg(buf, sizeof(buf), "afterping", "");
	send_str(fd, buf);
	assert_true(wait_recs(&f.s, 1));
	assert_true(rec_is(&f.s.recs[0], buf));
	close(fd);
	tcp_down(&f);
}

static void test_tcp_bad_framing(void **state)
{
	static const char *bad[] = {
	        ("OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKx\r\n"
	         "Content-Length: abc\r\n\r\n"),
	        "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKx\r\n\r\n",
	        "OPTIONS sip:b@h SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nxx",
	};
	struct tcp_fixture f;
	char buf[1024];

	(void)state;
	small_cfg(&f.cfg);
	tcp_up(&f, "tcp:127.0.0.1:0");
	int good = tcp_client(&f.la);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = tcp_client(&f.la);

		send_str(fd, bad[i]);
		assert_true(closed_by_peer(fd));
		close(fd);
	}
	/* the others are unaffected */
	mkmsg(buf, sizeof(buf), "good", "");
	send_str(good, buf);
	assert_true(wait_recs(&f.s, 1));
	assert_int_equal(f.s.n, 1);
	assert_true(rec_is(&f.s.recs[0], buf));
	close(good);
	tcp_down(&f);
}

static void test_tcp_oversize(void **state)
{
	struct tcp_fixture f;
	char buf[4096], body[2001];

	(void)state;
	small_cfg(&f.cfg);
	f.cfg.max_msg = 1024;
	tcp_up(&f, "tcp:127.0.0.1:0");
	int fd = tcp_client(&f.la);

	memset(body, 'b', 2000);
	body[2000] = '\0';
	mkmsg(buf, sizeof(buf), "toobig", body);
	send_str(fd, buf);
	assert_true(closed_by_peer(fd));
	assert_true(wait_recs(&f.s, 1));
	assert_true(f.s.recs[0].oversize);
	assert_true(f.s.recs[0].len <= 1024 && f.s.recs[0].len > 200);
	assert_memory_equal(f.s.recs[0].data, buf, f.s.recs[0].len);
	close(fd);
	tcp_down(&f);
}

/* Waits (bounded) until the sink has n records (true) or the server
 * closed fd (false). */
static bool accepted_or_closed(struct sink *s, int fd, size_t n)
{
	for (int i = 0; i < WAIT_MS / 10; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (sink_count(s) >= n)
			return true;
		if (poll(&p, 1, 10) == 1)
			return sink_count(s) >= n;
	}
	return false;
}

static void test_tcp_conn_cap(void **state)
{
	struct tcp_fixture f;
	char buf[1024];
	int fd[3], again = -1;
	bool ok = false;

	(void)state;
	small_cfg(&f.cfg);
	f.cfg.max_conns = 2;
	tcp_up(&f, "tcp:127.0.0.1:0");
	mkmsg(buf, sizeof(buf), "cap", "");
	for (int i = 0; i < 2; i++) {
		fd[i] = tcp_client(&f.la);
		send_str(fd[i], buf);
		assert_true(wait_recs(&f.s, (size_t)i + 1));
	}
	fd[2] = tcp_client(&f.la); /* the kernel completes it; sipd refuses */
	assert_true(closed_by_peer(fd[2]));
	send_str(fd[0], buf); /* the first two still work */
	assert_true(wait_recs(&f.s, 3));
	/* A closed connection frees its place (once the worker saw the EOF:
	 * retry within the bounded wait). */
	close(fd[1]);
	for (int tries = 0; tries < 100 && !ok; tries++) {
		again = tcp_client(&f.la);
		send_str(again, buf);
		ok = accepted_or_closed(&f.s, again, 4);
		if (!ok)
			close(again);
	}
	assert_true(ok);
	close(again);
	close(fd[0]);
	close(fd[2]);
	tcp_down(&f);
}

/* With RLIMIT_NOFILE too low to accept, the transport sheds the
 * connection (accepts and closes it with a spare descriptor) instead of
 * spinning on a listener that stays ready, and recovers afterwards. */
static void test_tcp_out_of_fds(void **state)
{
	struct tcp_fixture f;
	struct rlimit old, low;
	char buf[1024];
	int lowest;

	(void)state;
	small_cfg(&f.cfg);
	tcp_up(&f, "tcp:127.0.0.1:0");
	int c1 = tcp_client(&f.la);

	mkmsg(buf, sizeof(buf), "fds", "");
	send_str(c1, buf);
	assert_true(wait_recs(&f.s, 1));
	lowest = dup(0);
	assert_true(lowest >= 0);
	close(lowest);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)lowest + 1; /* room for the client's socket only */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int c2 = tcp_client(&f.la);
	bool shed = closed_by_peer(c2);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_true(shed);
	send_str(c1, buf);
	assert_true(wait_recs(&f.s, 2));
	int c3 = tcp_client(&f.la);
	send_str(c3, buf);
	assert_true(wait_recs(&f.s, 3));
	close(c1);
	close(c2);
	close(c3);
	tcp_down(&f);
}

static void test_tcp_idle(void **state)
{
	struct tcp_fixture f;
	char buf[1024];

	(void)state;
	small_cfg(&f.cfg);
	f.cfg.idle_ms = 200;
	tcp_up(&f, "tcp:127.0.0.1:0");
	int quiet = tcp_client(&f.la);
	int busy = tcp_client(&f.la);

	mkmsg(buf, sizeof(buf), "idle", "");
	send_str(busy, buf);
	assert_true(closed_by_peer(quiet));
	assert_true(closed_by_peer(busy)); /* idle after its message too */
	assert_true(wait_recs(&f.s, 1));
	close(quiet);
	close(busy);
	tcp_down(&f);
}

static void response_case(const char *spec, bool echo)
{
	struct tcp_fixture f;
	char buf[1024], got[1024];
	size_t n;

	small_cfg(&f.cfg);
	f.s.echo = false;
	tcp_up(&f, spec);
	f.s.echo = echo;
	int fd = tcp_client(&f.la);

	n = mkmsg(buf, sizeof(buf), "resp", "");
	send_all(fd, buf, n);
	assert_true(wait_recs(&f.s, 1));
	if (!echo) {
		struct rec *r = &f.s.recs[0];

		/* from this thread (no worker): queued to the owner */
		assert_int_equal(tp_send(f.t, TP_TCP, &r->src, r->conn_id, buf, n), 0);
	}
	assert_true(read_exact(fd, got, n));
	assert_memory_equal(got, buf, n);
	close(fd);
	tcp_down(&f);
}

static void test_tcp_response_queued(void **state)
{
	(void)state;
	response_case("tcp:127.0.0.1:0", false);
}

static void test_tcp_response_inline(void **state)
{
	(void)state;
	response_case("tcp:127.0.0.1:0", true);
}

static void test_tcp_v6(void **state)
{
	(void)state;
	response_case("tcp:[::1]:0", false);
}

/* A plain listening socket standing for a SIP peer. */
static int peer_listen(struct tp_addr *a)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 8), 0);
	*a = sock_name(fd);
	return fd;
}

static int accept_within(int lfd, int ms)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	int fd;

	if (poll(&p, 1, ms) != 1)
		return -1;
	fd = accept(lfd, NULL, NULL);
	if (fd >= 0)
		set_timeout(fd);
	return fd;
}

static void test_tcp_send_reuses(void **state)
{
	struct tcp_fixture f;
	struct tp_addr pa;
	char m1[1024], m2[1024], got[1024];
	size_t n1, n2;

	(void)state;
	small_cfg(&f.cfg);
	tcp_up(&f, "tcp:127.0.0.1:0");
	int lfd = peer_listen(&pa);

	n1 = mkmsg(m1, sizeof(m1), "out1", "");
	n2 = mkmsg(m2, sizeof(m2), "out2", "second");
	assert_int_equal(tp_send(f.t, TP_TCP, &pa, 0, m1, n1), 0);
	assert_int_equal(tp_send(f.t, TP_TCP, &pa, 0, m2, n2), 0);
	int cfd = accept_within(lfd, WAIT_MS);
	assert_true(cfd >= 0);
	/* both on the first connection: the second send reused it */
	assert_true(read_exact(cfd, got, n1));
	assert_memory_equal(got, m1, n1);
	assert_true(read_exact(cfd, got, n2));
	assert_memory_equal(got, m2, n2);
	assert_int_equal(accept_within(lfd, 0), -1); /* one accept in all */
	/* The peer answers on it; the answer names the connection, and a
	 * send with that id comes back on it. */
	send_all(cfd, m1, n1);
	assert_true(wait_recs(&f.s, 1));
	struct rec *r = &f.s.recs[0];
	assert_true(tp_addr_eq(&r->src, &pa));
	assert_int_equal(tp_send(f.t, TP_TCP, NULL, r->conn_id, m2, n2), 0);
	assert_true(read_exact(cfd, got, n2));
	assert_memory_equal(got, m2, n2);
	/* An unknown (closed) conn_id falls back to dst: same connection. */
	assert_int_equal(tp_send(f.t, TP_TCP, &pa, (12345u << 12) | 1, m1, n1), 0);
	assert_true(read_exact(cfd, got, n1));
	assert_memory_equal(got, m1, n1);
	assert_int_equal(accept_within(lfd, 0), -1);
	/* After stop nothing is queued. */
	tp_stop(f.t);
	assert_int_equal(tp_send(f.t, TP_TCP, &pa, 0, m1, n1), -ESHUTDOWN);
	close(cfd);
	close(lfd);
	tcp_down(&f);
}

#define SENDERS 4
#define PER_SENDER 50

struct sender {
	struct tp *t;
	struct tp_addr dst;
	int id;
	size_t bytes;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	char buf[1024], tag[32];

	for (int k = 0; k < PER_SENDER; k++) {
		size_t n;

		snprintf(tag, sizeof(tag), "s%d-%03d", s->id, k);
		n = mkmsg(buf, sizeof(buf), tag, "");
		if (tp_send(s->t, TP_TCP, &s->dst, 0, buf, n) == 0)
			s->bytes += n;
	}
	return NULL;
}

/* Checks the stream holds SENDERS * PER_SENDER whole messages, each
 * sender's in its order. */
static void check_stream(const char *p, size_t len)
{
	struct sip_framer fr = {0};
	struct sip_frame f;
	int next[SENDERS] = {0}, count = 0;

	while (len) {
		const char *tag;
		int id, k;

		assert_int_equal(sip_frame_next(&fr, p, len, 65536, &f), 0);
		assert_int_equal(f.kind, SIP_FRAME_MESSAGE);
		tag = strstr(p, "branch=z9hG4bKs");
		assert_non_null(tag);
		assert_int_equal(sscanf(tag, "branch=z9hG4bKs%d-%d", &id, &k), 2);
		assert_true(id >= 0 && id < SENDERS);
		assert_int_equal(k, next[id]++);
		count++;
		p += f.len;
		len -= f.len;
	}
	assert_int_equal(count, SENDERS * PER_SENDER);
}

static void test_tcp_concurrent_senders(void **state)
{
	struct tcp_fixture f;
	struct sender s[SENDERS];
	pthread_t th[SENDERS];
	size_t total = 0;
	char *all;

	(void)state;
	small_cfg(&f.cfg);
	tcp_up(&f, "tcp:127.0.0.1:0");
	int lfd = peer_listen(&s[0].dst);

	/* Threads that are no workers, sending to one new peer at once:
	 * one connection, whole messages, each thread's in order. */
	for (int i = 0; i < SENDERS; i++) {
		s[i] = (struct sender){.t = f.t, .dst = s[0].dst, .id = i};
		assert_int_equal(pthread_create(&th[i], NULL, sender_main, &s[i]), 0);
	}
	for (int i = 0; i < SENDERS; i++) {
		pthread_join(th[i], NULL);
		total += s[i].bytes;
	}
	int cfd = accept_within(lfd, WAIT_MS);
	assert_true(cfd >= 0);
	all = malloc(total);
	assert_true(read_exact(cfd, all, total));
	check_stream(all, total);
	assert_int_equal(accept_within(lfd, 0), -1);
	free(all);
	close(cfd);
	close(lfd);
	tcp_down(&f);
}

static void test_tcp_connect_refused(void **state)
{
	struct tcp_fixture f;
	struct tp_addr pa;
	char m[1024];
	size_t n;

	(void)state;
	small_cfg(&f.cfg);
	tcp_up(&f, "tcp:127.0.0.1:0");
	int lfd = peer_listen(&pa);
	close(lfd); /* nobody listens there now */
	n = mkmsg(m, sizeof(m), "refused", "");
	/* Accepted for sending; the failure is logged by the worker. */
	assert_int_equal(tp_send(f.t, TP_TCP, &pa, 0, m, n), 0);
	/* The transport keeps working. */
	int fd = tcp_client(&f.la);
	send_all(fd, m, n);
	assert_true(wait_recs(&f.s, 1));
	close(fd);
	tcp_down(&f);
}

static void test_tcp_peer_gone_mid_message(void **state)
{
	struct tcp_fixture f;
	char half[1024], whole[1024];
	size_t n;

	(void)state;
	small_cfg(&f.cfg);
	tcp_up(&f, "tcp:127.0.0.1:0");
	int a = tcp_client(&f.la), b = tcp_client(&f.la);

	n = mkmsg(half, sizeof(half), "gone", "body that never ends");
	send_all(a, half, n / 2);
	close(a);
	mkmsg(whole, sizeof(whole), "stays", "");
	send_str(b, whole);
	assert_true(wait_recs(&f.s, 1));
	send_str(b, whole);
	assert_true(wait_recs(&f.s, 2));
	assert_int_equal(f.s.n, 2);
	assert_true(rec_is(&f.s.recs[0], whole));
	assert_true(rec_is(&f.s.recs[1], whole));
	close(b);
	tcp_down(&f);
}

static void test_tick(void **state)
{
	struct tcp_fixture f;

	(void)state;
	small_cfg(&f.cfg);
	tcp_up(&f, "tcp:127.0.0.1:0");
	assert_true(wait_ticks(&f.s, 3));
	tcp_down(&f);
}

static void test_lifecycle(void **state)
{
	struct tp *t = NULL;
	struct tp_addr a = addr_of("127.0.0.1", 0);
	struct sink s;

	(void)state;
	sink_init(&s);
	assert_int_equal(tp_new(&t, NULL, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(tp_new(&t, NULL, on_recv, NULL, &s), 0);
	assert_int_equal(tp_listen(t, TP_UDP, &a), 0);
	assert_int_equal(tp_listen(t, TP_TCP, &a), 0);
	assert_int_equal(tp_listener_count(t), 2);
	assert_true(tp_worker_count(t) >= 1);
	assert_null(tp_listener_addr(t, 2, NULL));
	assert_int_equal(tp_start(t), 0);
	assert_int_equal(tp_start(t), -EBUSY);
	assert_int_equal(tp_listen(t, TP_UDP, &a), -EBUSY);
	tp_stop(t);
	tp_stop(t);
	tp_free(t);
	tp_free(NULL);
	/* never started */
	assert_int_equal(tp_new(&t, NULL, on_recv, NULL, &s), 0);
	assert_int_equal(tp_listen(t, TP_TCP, &a), 0);
	tp_free(t);
	sink_fini(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_spec_parse),
	        cmocka_unit_test(test_addr_helpers),
	        cmocka_unit_test(test_needs_received),
	        cmocka_unit_test(test_response_dest_udp),
	        cmocka_unit_test(test_response_dest_tcp),
	        cmocka_unit_test(test_lifecycle),
	        cmocka_unit_test(test_udp_recv_v4_shared),
	        cmocka_unit_test(test_udp_recv_v4_reuseport),
	        cmocka_unit_test(test_udp_recv_v6_shared),
	        cmocka_unit_test(test_udp_recv_v6_reuseport),
	        cmocka_unit_test(test_udp_oversize),
	        cmocka_unit_test(test_udp_send),
	        cmocka_unit_test(test_tcp_split),
	        cmocka_unit_test(test_tcp_pipelined),
	        cmocka_unit_test(test_tcp_late_body),
	        cmocka_unit_test(test_tcp_ping),
	        cmocka_unit_test(test_tcp_bad_framing),
	        cmocka_unit_test(test_tcp_oversize),
	        cmocka_unit_test(test_tcp_conn_cap),
	        cmocka_unit_test(test_tcp_out_of_fds),
	        cmocka_unit_test(test_tcp_idle),
	        cmocka_unit_test(test_tcp_response_queued),
	        cmocka_unit_test(test_tcp_response_inline),
	        cmocka_unit_test(test_tcp_v6),
	        cmocka_unit_test(test_tcp_send_reuses),
	        cmocka_unit_test(test_tcp_concurrent_senders),
	        cmocka_unit_test(test_tcp_connect_refused),
	        cmocka_unit_test(test_tcp_peer_gone_mid_message),
	        cmocka_unit_test(test_tick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
