/*
 * test_resolve.c — RFC 3263 §4 server location (src/resolve): numeric
 * targets without DNS; A, AAAA, SRV (priorities, RFC 2782 weights, UDP and
 * TCP), NAPTR, maddr and NXDOMAIN against a dnsmasq each test starts on a
 * free loopback port with made-up example.net records; a server that never
 * answers (timeout), the cache outliving its server, rs_free with lookups
 * pending, the pending cap, and two threads resolving at once.
 *
 * Every resolver is pointed at the test's own server, so nothing here
 * asks the machine's resolver; every dnsmasq is stopped by its PID. Waits
 * are bounded; the one timing asserted is the timeout's, with wide slack.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libsip/uri.h"
#include "resolve/resolve.h"

#define WAIT_MS 5000
#define TIMEOUT_MS 200 /* per try, in the resolvers of these tests */
#define TRIES 2

/* ---- a dnsmasq of our own -------------------------------------------------- */

struct dns {
	pid_t pid;
	uint16_t port;
	char server[64]; /* for rs_new */
};

/* A port free for UDP and TCP on addr (the kernel picks it for UDP). */
static uint16_t free_port(int family, const char *addr)
{
	for (int attempt = 0; attempt < 50; attempt++) {
		struct sockaddr_storage ss = {0};
		socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in)
		                                  : sizeof(struct sockaddr_in6);
		int u = socket(family, SOCK_DGRAM, 0), t = socket(family, SOCK_STREAM, 0);
		uint16_t port = 0;

		assert_true(u >= 0 && t >= 0);
		ss.ss_family = (sa_family_t)family;
		if (family == AF_INET)
			inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr);
		else
			inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr);
		if (bind(u, (struct sockaddr *)&ss, len) == 0 &&
		    getsockname(u, (struct sockaddr *)&ss, &len) == 0 &&
		    bind(t, (struct sockaddr *)&ss, len) == 0)
			port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
			                               : ((struct sockaddr_in6 *)&ss)->sin6_port);
		close(u);
		close(t);
		if (port)
			return port;
	}
	fail_msg("no free port");
	return 0;
}

/* True once something holds addr:port for UDP (dnsmasq has bound it). */
static bool udp_port_taken(int family, const char *addr, uint16_t port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len =
	        family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int s = socket(family, SOCK_DGRAM, 0), rc;

	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr);
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	} else {
		inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr);
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	}
	rc = bind(s, (struct sockaddr *)&ss, len);
	close(s);
	return rc < 0 && errno == EADDRINUSE;
}

/* Starts dnsmasq on addr with the given record options (NULL-terminated),
 * authoritative for example.net (--local: names it lacks are NXDOMAIN),
 * with nothing from the machine: no config file, resolv.conf or hosts. */
static void dns_start(struct dns *d, const char *addr, const char *const *records)
{
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	char port_opt[32], listen_opt[80];
	const char *argv[64];
	size_t n = 0;
	pid_t parent;

	d->port = free_port(family, addr);
	snprintf(port_opt, sizeof(port_opt), "--port=%u", d->port);
	snprintf(listen_opt, sizeof(listen_opt), "--listen-address=%s", addr);
	snprintf(d->server, sizeof(d->server), family == AF_INET ? "%s:%u" : "[%s]:%u", addr,
	         d->port);
	argv[n++] = "dnsmasq";
	argv[n++] = "--keep-in-foreground";
	argv[n++] = "--conf-file=/dev/null";
	argv[n++] = "--no-resolv";
	argv[n++] = "--no-hosts";
	argv[n++] = "--no-poll";
	argv[n++] = "--bind-interfaces";
	argv[n++] = "--pid-file=";
	argv[n++] = "--local=/example.net/";
	argv[n++] = "--local-ttl=60";
	argv[n++] = port_opt;
	argv[n++] = listen_opt;
	for (size_t i = 0; records && records[i]; i++) {
		assert_true(n < sizeof(argv) / sizeof(*argv) - 1);
		argv[n++] = records[i];
	}
	argv[n] = NULL;

	parent = getpid();
	d->pid = fork();
	assert_true(d->pid >= 0);
	if (d->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		/* A test that crashes takes its dnsmasq with it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		dup2(null, 1);
		dup2(null, 2);
		execvp("dnsmasq", (char *const *)argv);
		execv("/usr/sbin/dnsmasq", (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < WAIT_MS / 10; i++) {
		int status;

		if (udp_port_taken(family, addr, d->port))
			return;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid)
			fail_msg("dnsmasq exited at start (status %d): is it installed?", status);
		usleep(10 * 1000);
	}
	fail_msg("dnsmasq did not bind %s", d->server);
}

static void dns_stop(struct dns *d)
{
	int status;

	if (d->pid <= 0)
		return;
	kill(d->pid, SIGTERM);
	waitpid(d->pid, &status, 0);
	d->pid = 0;
}

/* A UDP socket that never reads: a DNS server that never answers. */
static int silent_server(char *server, size_t cap)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(s >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, len), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &len), 0);
	snprintf(server, cap, "127.0.0.1:%u", ntohs(sin.sin_port));
	return s;
}

/* ---- collecting answers --------------------------------------------------- */

struct result {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int calls;
	int err;
	bool inline_call; /* done ran before rs_resolve returned */
	bool in_resolve;
	bool bad;        /* t and n disagreed with err (checked on the test's thread) */
	char list[1024]; /* "UDP 127.0.0.1:5060, TCP [::1]:5070" */
	size_t n;
};

static void result_init(struct result *res)
{
	memset(res, 0, sizeof(*res));
	pthread_mutex_init(&res->mu, NULL);
	pthread_cond_init(&res->cv, NULL);
}

static void result_fini(struct result *res)
{
	pthread_mutex_destroy(&res->mu);
	pthread_cond_destroy(&res->cv);
}

static void targets_str(char *buf, size_t cap, const struct rs_target *t, size_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < cap; i++) {
		char a[80];

		tp_addr_str(&t[i].addr, a, sizeof(a));
		off += (size_t)snprintf(buf + off, cap - off, "%s%s %s", i ? ", " : "",
		                        tp_proto_name(t[i].proto), a);
	}
}

static void on_done(void *arg, int err, const struct rs_target *t, size_t n)
{
	struct result *res = arg;

	pthread_mutex_lock(&res->mu);
	res->calls++;
	res->err = err;
	res->n = n;
	res->inline_call = res->in_resolve;
	/* No cmocka assertion here: this may be the resolver's thread. */
	if (err == 0) {
		res->bad |= !t || n < 1 || n > RS_MAX_TARGETS;
		if (t)
			targets_str(res->list, sizeof(res->list), t, n);
	} else {
		res->bad |= t != NULL || n != 0;
		res->list[0] = '\0';
	}
	pthread_cond_broadcast(&res->cv);
	pthread_mutex_unlock(&res->mu);
}

static struct timespec deadline(int ms)
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

static void parse(struct sip_uri *u, const char *s)
{
	assert_int_equal(sip_uri_parse(u, sip_pl_cstr(s)), 0);
}

/* rs_resolve(uri) and the outcome: the error (rs_resolve's own, or the
 * callback's) with res->list filled; done must run exactly once. */
static int resolve(struct rs_resolver *r, const char *uri, struct result *res)
{
	struct timespec dl = deadline(WAIT_MS);
	struct sip_uri u;
	int rc;

	result_init(res);
	parse(&u, uri);
	res->in_resolve = true;
	rc = rs_resolve(r, &u, on_done, res);
	pthread_mutex_lock(&res->mu);
	res->in_resolve = false;
	if (rc < 0) {
		assert_int_equal(res->calls, 0);
		pthread_mutex_unlock(&res->mu);
		return rc;
	}
	while (res->calls == 0 && pthread_cond_timedwait(&res->cv, &res->mu, &dl) == 0)
		;
	assert_int_equal(res->calls, 1);
	assert_false(res->bad);
	pthread_mutex_unlock(&res->mu);
	return res->err;
}

/* Resolves uri and checks the whole ordered list. */
static void expect_list(struct rs_resolver *r, const char *uri, const char *list)
{
	struct result res;
	int err = resolve(r, uri, &res);

	if (err)
		fail_msg("%s: %s", uri, rs_err_name(err));
	if (strcmp(res.list, list) != 0)
		fail_msg("%s:\n  got  %s\n  want %s", uri, res.list, list);
	result_fini(&res);
}

static void expect_err(struct rs_resolver *r, const char *uri, int want)
{
	struct result res;
	int err = resolve(r, uri, &res);

	if (err != want)
		fail_msg("%s: got %s, want %s", uri, rs_err_name(err), rs_err_name(want));
	result_fini(&res);
}

/* ---- the records ------------------------------------------------------------ */

static const char *const records[] = {
        /* A only, AAAA only, both */
        "--host-record=a.example.net,127.0.0.10",
        "--host-record=v6.example.net,::10",
        "--host-record=both.example.net,127.0.0.11,::11",
        /* SRV over UDP: two of priority 10 weighted 90/10, one of 20 */
        "--srv-host=_sip._udp.srv.example.net,p10a.example.net,5070,10,90",
        "--srv-host=_sip._udp.srv.example.net,p10b.example.net,5071,10,10",
        "--srv-host=_sip._udp.srv.example.net,p20.example.net,5072,20,0",
        "--host-record=p10a.example.net,127.0.1.1",
        "--host-record=p10b.example.net,127.0.1.2",
        "--host-record=p20.example.net,127.0.1.3,::13",
        /* SRV over TCP only */
        "--srv-host=_sip._tcp.tcp.example.net,t1.example.net,5080,10,0",
        "--host-record=t1.example.net,127.0.2.1",
        /* SRV over both: UDP first when nothing says otherwise */
        "--srv-host=_sip._udp.dual.example.net,du.example.net,5060,10,0",
        "--srv-host=_sip._tcp.dual.example.net,dt.example.net,5061,10,0",
        "--host-record=du.example.net,127.0.3.1",
        "--host-record=dt.example.net,127.0.3.2",
        /* NAPTR: TCP (order 10) before UDP (order 20); SIPS and a
         * non-"s" record are skipped */
        "--naptr-record=naptr.example.net,5,50,s,SIPS+D2T,,_sips._tcp.naptr.example.net",
        "--naptr-record=naptr.example.net,20,50,s,SIP+D2U,,_sip._udp.naptr.example.net",
        "--naptr-record=naptr.example.net,10,50,s,SIP+D2T,,_sip._tcp.naptr.example.net",
        "--naptr-record=naptr.example.net,1,50,u,E2U+sip,!^.*$!sip:x@example.net!",
        "--srv-host=_sips._tcp.naptr.example.net,ns.example.net,5061,10,0",
        "--srv-host=_sip._tcp.naptr.example.net,nt.example.net,5090,10,0",
        "--srv-host=_sip._udp.naptr.example.net,nu.example.net,5091,10,0",
        "--host-record=ns.example.net,127.0.4.3",
        "--host-record=nt.example.net,127.0.4.1",
        "--host-record=nu.example.net,127.0.4.2",
        /* NAPTR says TCP, but its SRV name has no records: §4.2 falls back
         * to the name's A at 5060, over the transport NAPTR chose */
        "--naptr-record=naptr2.example.net,10,50,s,SIP+D2T,,_sip._tcp.naptr2.example.net",
        "--host-record=naptr2.example.net,127.0.5.1",
        /* RFC 2782: a target of "." says "no SIP here" — no fallback to A */
        "--srv-host=_sip._udp.dot.example.net",
        "--host-record=dot.example.net,127.0.6.1",
        NULL,
};

/* ---- fixture: what a failing test leaves behind is stopped here ----------- */

struct fixture {
	struct dns d;
	struct rs_resolver *r;
	int silent; /* a silent_server socket, or -1 */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->silent = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rs_free(f->r);
	dns_stop(&f->d);
	if (f->silent >= 0)
		close(f->silent);
	free(f);
	return 0;
}

/* A resolver asking the fixture's dnsmasq, started with the records. */
static struct rs_resolver *with_dns(struct fixture *f, const char *addr)
{
	dns_start(&f->d, addr, records);
	assert_int_equal(rs_new(&f->r, f->d.server, TIMEOUT_MS, TRIES), 0);
	return f->r;
}

/* A resolver asking a server that never answers. */
static struct rs_resolver *with_silence(struct fixture *f, unsigned timeout_ms, unsigned tries)
{
	char server[64];

	f->silent = silent_server(server, sizeof(server));
	assert_int_equal(rs_new(&f->r, server, timeout_ms, tries), 0);
	return f->r;
}

/* ---- tests ------------------------------------------------------------------ */

/* Numeric targets: answered inline, with no DNS (the server never answers). */
static void test_ip_literals(void **state)
{
	struct rs_resolver *r = with_silence(*state, TIMEOUT_MS, TRIES);
	struct result res;

	expect_list(r, "sip:127.0.0.1", "UDP 127.0.0.1:5060");
	expect_list(r, "sip:alice@192.0.2.1:5070", "UDP 192.0.2.1:5070");
	expect_list(r, "sip:alice@192.0.2.1;transport=TCP", "TCP 192.0.2.1:5060");
	expect_list(r, "sip:[::1]", "UDP [::1]:5060");
	expect_list(r, "sip:bob@[2001:db8::7]:5071;transport=tcp", "TCP [2001:db8::7]:5071");
	expect_list(r, "sip:[::1]:5072;transport=udp", "UDP [::1]:5072");
	/* §4: maddr is the target instead of the host */
	expect_list(r, "sip:x@nowhere.example.net;maddr=192.0.2.9", "UDP 192.0.2.9:5060");
	expect_list(r, "sip:x@nowhere.example.net:5080;maddr=[2001:db8::9];transport=tcp",
	            "TCP [2001:db8::9]:5080");
	assert_int_equal(resolve(r, "sip:127.0.0.1", &res), 0);
	assert_true(res.inline_call);
	result_fini(&res);

	/* sips and transport=tls: TLS, at 5061 unless a port is given */
	expect_list(r, "sips:127.0.0.1", "TLS 127.0.0.1:5061");
	expect_list(r, "sips:bob@[::1]:5081;transport=udp", "TLS [::1]:5081");
	expect_list(r, "sip:192.0.2.1;transport=tls", "TLS 192.0.2.1:5061");

	/* refused: done never runs */
	assert_int_equal(resolve(r, "sip:example.net;transport=sctp", &res), SIP_ERR_UNSUPPORTED);
	assert_int_equal(resolve(r, "tel:+15551234", &res), SIP_ERR_SCHEME);
	assert_int_equal(resolve(r, "sip:x@example.net;maddr=bad%20host", &res), SIP_ERR_URI);
}

static void test_new_bad_server(void **state)
{
	struct fixture *f = *state;
	struct rs_resolver *r = NULL;

	assert_int_equal(rs_new(&r, "", 100, 1), SIP_ERR_SYNTAX);
	assert_int_equal(rs_new(&r, "dns.example.net", 100, 1), SIP_ERR_SYNTAX);
	assert_int_equal(rs_new(&r, "127.0.0.1:99999", 100, 1), SIP_ERR_SYNTAX);
	assert_int_equal(rs_new(&r, "127.0.0.1:", 100, 1), SIP_ERR_SYNTAX);
	assert_int_equal(rs_new(&r, "[::1]x", 100, 1), SIP_ERR_SYNTAX);
	assert_int_equal(rs_new(&r, "127.0.0.1,127.0.0.2", 100, 1), SIP_ERR_SYNTAX);
	assert_null(r);
	/* forms accepted (nothing is asked of them) */
	assert_int_equal(rs_new(&r, "127.0.0.1", 100, 1), 0);
	rs_free(r);
	assert_int_equal(rs_new(&r, "::1", 100, 1), 0);
	rs_free(r);
	assert_int_equal(rs_new(&r, "[::1]:5353", 100, 1), 0);
	rs_free(r);
	rs_free(NULL);
	/* the system's configuration: only a literal is asked, so no DNS */
	assert_int_equal(rs_new(&f->r, NULL, 100, 1), 0);
	expect_list(f->r, "sip:127.0.0.1:5099", "UDP 127.0.0.1:5099");
}

/* A, AAAA and both, with and without port or transport (no SRV: §4.2). */
static void test_a_aaaa(void **state)
{
	struct rs_resolver *r = with_dns(*state, "127.0.0.1");

	expect_list(r, "sip:a.example.net", "UDP 127.0.0.10:5060");
	expect_list(r, "sip:alice@A.Example.Net.:5062", "UDP 127.0.0.10:5062");
	expect_list(r, "sip:a.example.net;transport=tcp", "TCP 127.0.0.10:5060");
	expect_list(r, "sip:v6.example.net", "UDP [::10]:5060");
	expect_list(r, "sip:both.example.net", "UDP 127.0.0.11:5060, UDP [::11]:5060");
	expect_list(r, "sip:both.example.net:5099;transport=tcp",
	            "TCP 127.0.0.11:5099, TCP [::11]:5099");
	/* maddr names the target */
	expect_list(r, "sip:x@nowhere.example.net;maddr=v6.example.net", "UDP [::10]:5060");
}

static void test_nxdomain(void **state)
{
	struct rs_resolver *r = with_dns(*state, "127.0.0.1");

	expect_err(r, "sip:nope.example.net", SIP_ERR_NOT_FOUND);
	expect_err(r, "sip:nope.example.net:5060", SIP_ERR_NOT_FOUND);
	expect_err(r, "sip:nope.example.net;transport=tcp", SIP_ERR_NOT_FOUND);
	/* SRV exists but a port says "no SRV": the name itself has no A */
	expect_err(r, "sip:srv.example.net:5060", SIP_ERR_NOT_FOUND);
	/* only a UDP SRV: TCP falls back to the name's A, which is absent */
	expect_err(r, "sip:srv.example.net;transport=tcp", SIP_ERR_NOT_FOUND);
}

/* Priority 10 before 20; within 10, weights 90/10 (RFC 2782) decide which
 * comes first, afresh on every answer, cached or not. */
static void test_srv_priority_weight(void **state)
{
	struct rs_resolver *r = with_dns(*state, "127.0.0.1");
	const char *heavy = "UDP 127.0.1.1:5070, UDP 127.0.1.2:5071, "
	                    "UDP 127.0.1.3:5072, UDP [::13]:5072";
	const char *light = "UDP 127.0.1.2:5071, UDP 127.0.1.1:5070, "
	                    "UDP 127.0.1.3:5072, UDP [::13]:5072";
	unsigned heavy_first = 0, rounds = 400;

	for (unsigned i = 0; i < rounds; i++) {
		struct result res;

		assert_int_equal(
		        resolve(r,
		                i % 2 ? "sip:srv.example.net" : "sip:srv.example.net;transport=udp",
		                &res),
		        0);
		if (strcmp(res.list, heavy) == 0)
			heavy_first++;
		else if (strcmp(res.list, light) != 0)
			fail_msg("unexpected order: %s", res.list);
		result_fini(&res);
	}
	/* P(heavy first) = 91/101: 250 of 400 is far below the mean of 364
	 * and far above the 36 of the other one (never fails in practice). */
	assert_true(heavy_first > 250 && heavy_first < rounds);
}

/* transport=tcp asks _sip._tcp; without transport= both SRV are asked and
 * UDP comes first; NAPTR orders TCP before UDP and SIPS is skipped; sips
 * asks _sips._tcp. */
static void test_srv_tcp_naptr(void **state)
{
	struct rs_resolver *r = with_dns(*state, "127.0.0.1");

	expect_list(r, "sip:tcp.example.net;transport=tcp", "TCP 127.0.2.1:5080");
	expect_list(r, "sip:tcp.example.net", "TCP 127.0.2.1:5080");
	expect_err(r, "sip:tcp.example.net;transport=udp", SIP_ERR_NOT_FOUND);
	expect_list(r, "sip:dual.example.net", "UDP 127.0.3.1:5060, TCP 127.0.3.2:5061");
	expect_list(r, "sip:dual.example.net;transport=tcp", "TCP 127.0.3.2:5061");
	expect_list(r, "sip:naptr.example.net", "TCP 127.0.4.1:5090, UDP 127.0.4.2:5091");
	/* a transport given skips NAPTR */
	expect_list(r, "sip:naptr.example.net;transport=udp", "UDP 127.0.4.2:5091");
	expect_list(r, "sip:naptr2.example.net", "TCP 127.0.5.1:5060");
	/* sips: SRV _sips._tcp, else the name's A at 5061 (RFC 5630) */
	expect_list(r, "sips:naptr.example.net", "TLS 127.0.4.3:5061");
	expect_list(r, "sip:naptr.example.net;transport=tls", "TLS 127.0.4.3:5061");
	expect_list(r, "sips:naptr2.example.net", "TLS 127.0.5.1:5061");
	expect_err(r, "sip:dot.example.net", SIP_ERR_NOT_FOUND);
	expect_list(r, "sip:dot.example.net:5060", "UDP 127.0.6.1:5060");
}

/* An SRV answer too big for 512 bytes of UDP: c-ares asks again over TCP. */
static void test_truncated_over_tcp(void **state)
{
	struct fixture *f = *state;
	const char *rec[2 * 12 + 1];
	char buf[2 * 12][128], want[1024];
	size_t off = 0;
	struct rs_resolver *r;

	for (int i = 0; i < 12; i++) {
		snprintf(buf[2 * i], sizeof(buf[0]),
		         "--srv-host=_sip._udp.big.example.net,"
		         "a-rather-long-target-name-to-fill-the-answer-%02d.example.net,%d,%d,0",
		         i, 6000 + i, i + 1);
		snprintf(buf[2 * i + 1], sizeof(buf[0]),
		         "--host-record=a-rather-long-target-name-to-fill-the-answer-%02d.example."
		         "net,"
		         "127.0.7.%d",
		         i, i + 1);
		rec[2 * i] = buf[2 * i];
		rec[2 * i + 1] = buf[2 * i + 1];
		off += (size_t)snprintf(want + off, sizeof(want) - off, "%sUDP 127.0.7.%d:%d",
		                        i ? ", " : "", i + 1, 6000 + i);
	}
	rec[2 * 12] = NULL;
	dns_start(&f->d, "127.0.0.1", rec);
	assert_int_equal(rs_new(&f->r, f->d.server, TIMEOUT_MS, TRIES), 0);
	r = f->r;
	expect_list(r, "sip:big.example.net;transport=udp", want);
}

/* A DNS server on ::1, given as "[::1]:port". */
static void test_ipv6_server(void **state)
{
	struct rs_resolver *r = with_dns(*state, "::1");

	expect_list(r, "sip:both.example.net", "UDP 127.0.0.11:5060, UDP [::11]:5060");
	expect_list(r, "sip:naptr.example.net", "TCP 127.0.4.1:5090, UDP 127.0.4.2:5091");
}

/* Nobody answers: RS_ERR_TIMEOUT after TRIES tries of TIMEOUT_MS, at
 * whichever round the lookup starts with (NAPTR, SRV, A/AAAA). */
static void test_timeout(void **state)
{
	struct rs_resolver *r = with_silence(*state, TIMEOUT_MS, TRIES);
	const char *uris[] = {"sip:x.example.net", "sip:x.example.net;transport=tcp",
	                      "sip:x.example.net:5060"};
	struct result res;

	for (size_t i = 0; i < sizeof(uris) / sizeof(*uris); i++) {
		struct timespec t0, t1;
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(resolve(r, uris[i], &res), RS_ERR_TIMEOUT);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		result_fini(&res);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		/* slack for a loaded machine and the sanitizers */
		if (ms < TIMEOUT_MS * TRIES - 20 || ms > TIMEOUT_MS * TRIES + 1500)
			fail_msg("%s: timed out after %ld ms", uris[i], ms);
	}
	/* a timeout is not cached */
	assert_int_equal(resolve(r, uris[0], &res), RS_ERR_TIMEOUT);
	assert_false(res.inline_call);
	result_fini(&res);
}

/* Answers outlive their server for their TTL, positive and negative, and
 * are given inline; what was never asked now fails. */
static void test_cache(void **state)
{
	struct fixture *f = *state;
	struct rs_resolver *r = with_dns(f, "127.0.0.1");
	struct result res;
	int err;

	expect_list(r, "sip:both.example.net", "UDP 127.0.0.11:5060, UDP [::11]:5060");
	expect_list(r, "sip:dual.example.net;transport=tcp", "TCP 127.0.3.2:5061");
	expect_err(r, "sip:nope.example.net", SIP_ERR_NOT_FOUND);
	dns_stop(&f->d);

	assert_int_equal(resolve(r, "sip:both.example.net", &res), 0);
	assert_string_equal(res.list, "UDP 127.0.0.11:5060, UDP [::11]:5060");
	assert_true(res.inline_call);
	result_fini(&res);
	/* the key has the host case-folded, and the transport */
	assert_int_equal(resolve(r, "sip:DUAL.example.net;transport=TCP", &res), 0);
	assert_string_equal(res.list, "TCP 127.0.3.2:5061");
	assert_true(res.inline_call);
	result_fini(&res);
	assert_int_equal(resolve(r, "sip:nope.example.net", &res), SIP_ERR_NOT_FOUND);
	assert_true(res.inline_call);
	result_fini(&res);

	/* not cached: the server is gone (refused at once, or silence) */
	err = resolve(r, "sip:dual.example.net", &res);
	assert_true(err == RS_ERR_SERVER || err == RS_ERR_TIMEOUT);
	result_fini(&res);
}

struct counter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned calls, cancelled;
};

static void on_count(void *arg, int err, const struct rs_target *t, size_t n)
{
	struct counter *c = arg;

	(void)t;
	(void)n;
	pthread_mutex_lock(&c->mu);
	c->calls++;
	if (err == RS_ERR_CANCELLED)
		c->cancelled++;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* rs_free with lookups pending: each gets RS_ERR_CANCELLED before rs_free
 * returns, without waiting out the timeouts; nothing leaks (ASan). Also
 * the pending cap: RS_ERR_BUSY past RS_MAX_PENDING. */
static void test_free_pending_and_cap(void **state)
{
	struct counter c = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	struct fixture *f = *state;
	struct rs_resolver *r = with_silence(f, 10000, 3);
	unsigned accepted = 0, busy = 0;
	struct timespec t0, t1;
	struct sip_uri u[3];
	long ms;

	parse(&u[0], "sip:x.example.net");
	parse(&u[1], "sip:y.example.net;transport=tcp");
	parse(&u[2], "sip:z.example.net:5060");
	for (unsigned i = 0; i < RS_MAX_PENDING + 10; i++) {
		int rc = rs_resolve(r, &u[i % 3], on_count, &c);

		if (rc == 0)
			accepted++;
		else if (rc == RS_ERR_BUSY)
			busy++;
		else
			fail_msg("rs_resolve: %s", rs_err_name(rc));
	}
	assert_int_equal(accepted, RS_MAX_PENDING);
	assert_int_equal(busy, 10);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rs_free(r);
	f->r = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_int_equal(c.calls, RS_MAX_PENDING);
	assert_int_equal(c.cancelled, RS_MAX_PENDING);
	assert_true(ms < 5000); /* far less than one 10 s try */
}

/* ---- two threads at once ------------------------------------------------------ */

struct call {
	const char *uri;
	const char *want; /* the whole list; NULL: the error alone is checked */
	int want_err;
	struct counter *c;
	int err;
	char got[512];
};

static const struct call kinds[] = {
        {.uri = "sip:a.example.net", .want = "UDP 127.0.0.10:5060"},
        {.uri = "sip:127.0.0.1:5062", .want = "UDP 127.0.0.1:5062"},
        {.uri = "sip:tcp.example.net;transport=tcp", .want = "TCP 127.0.2.1:5080"},
        {.uri = "sip:nope.example.net", .want_err = SIP_ERR_NOT_FOUND},
        {.uri = "sip:v6.example.net:5099", .want = "UDP [::10]:5099"},
        {.uri = "sip:srv.example.net"},
        {.uri = "sip:naptr.example.net", .want = "TCP 127.0.4.1:5090, UDP 127.0.4.2:5091"},
};
#define NKINDS (sizeof(kinds) / sizeof(*kinds))
#define PER_THREAD 400

static void on_call(void *arg, int err, const struct rs_target *t, size_t n)
{
	struct call *call = arg;

	call->err = err;
	if (err == 0)
		targets_str(call->got, sizeof(call->got), t, n);
	on_count(call->c, err, t, n);
}

struct worker {
	struct rs_resolver *r;
	struct call *calls;
	unsigned refused;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	for (unsigned i = 0; i < PER_THREAD; i++) {
		struct sip_uri u;

		if (sip_uri_parse(&u, sip_pl_cstr(w->calls[i].uri)) != 0 ||
		    rs_resolve(w->r, &u, on_call, &w->calls[i]) != 0)
			w->refused++;
		if (i % 50 == 0)
			usleep(1000); /* let some answers reach the cache midway */
	}
	return NULL;
}

/* Two threads share one resolver: lookups of one name coalesce, answers
 * come inline or from the resolver thread, all of them exactly once. */
static void test_two_threads(void **state)
{
	struct counter c = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	struct rs_resolver *r = with_dns(*state, "127.0.0.1");
	struct timespec dl = deadline(WAIT_MS);
	struct worker w[2];
	pthread_t th[2];

	for (unsigned k = 0; k < 2; k++) {
		w[k] = (struct worker){.r = r, .calls = calloc(PER_THREAD, sizeof(struct call))};
		assert_non_null(w[k].calls);
		for (unsigned i = 0; i < PER_THREAD; i++) {
			w[k].calls[i] = kinds[(i * 3 + k) % NKINDS];
			w[k].calls[i].c = &c;
			w[k].calls[i].err = 1; /* not answered yet */
		}
	}
	for (unsigned k = 0; k < 2; k++)
		assert_int_equal(pthread_create(&th[k], NULL, worker_run, &w[k]), 0);
	for (unsigned k = 0; k < 2; k++)
		pthread_join(th[k], NULL);
	pthread_mutex_lock(&c.mu);
	while (c.calls < 2 * PER_THREAD && pthread_cond_timedwait(&c.cv, &c.mu, &dl) == 0)
		;
	pthread_mutex_unlock(&c.mu);
	assert_int_equal(w[0].refused + w[1].refused, 0);
	assert_int_equal(c.calls, 2 * PER_THREAD);
	for (unsigned k = 0; k < 2; k++) {
		for (unsigned i = 0; i < PER_THREAD; i++) {
			const struct call *call = &w[k].calls[i];

			if (call->err != call->want_err)
				fail_msg("%s: %s", call->uri, rs_err_name(call->err));
			if (call->want && strcmp(call->got, call->want) != 0)
				fail_msg("%s: got %s", call->uri, call->got);
		}
		free(w[k].calls);
	}
}

#define TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        TEST(test_ip_literals),
	        TEST(test_new_bad_server),
	        TEST(test_a_aaaa),
	        TEST(test_nxdomain),
	        TEST(test_srv_priority_weight),
	        TEST(test_srv_tcp_naptr),
	        TEST(test_truncated_over_tcp),
	        TEST(test_ipv6_server),
	        TEST(test_timeout),
	        TEST(test_cache),
	        TEST(test_free_pending_and_cap),
	        TEST(test_two_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
