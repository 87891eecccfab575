/*
 * test_tls.c — the TLS transport (src/transport/tls.c, RFC 3261 §26.2)
 * as a user agent would use it: "tls:" listen specs; tp_tls_setup's
 * refusals; a server transport with a certificate and a client transport
 * with only a CA file, where tp_send to a TLS address connects on demand,
 * the server's answer comes back on the same connection and a second send
 * reuses it; a server certificate from an untrusted CA, or for another
 * name (tp_connect), refused; client certificates required with
 * verify_client.
 *
 * Certificates are made once per run with the openssl command line in a
 * temporary directory. Everything is on 127.0.0.1 with port 0; every wait
 * is bounded, and "nothing arrived" is judged after 500 ms.
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
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "libsip/log.h"
#include "libsip/transport.h"

#define WAIT_MS 5000
#define QUIET_MS 500

static char dir[64];

/* ---- certificates ----------------------------------------------------------- */

static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

/* NAME.key and NAME.crt signed by CA (or self-signed when ca is NULL). */
static void make_cert(const char *name, const char *ca, const char *subj, const char *ext)
{
	sh("cd %s && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
	   "-out %s.key 2>/dev/null",
	   dir, name);
	if (!ca) {
		sh("cd %s && openssl req -x509 -new -key %s.key -out %s.crt -days 2 -subj '%s' "
		   "2>/dev/null",
		   dir, name, name, subj);
		return;
	}
	sh("cd %s && openssl req -new -key %s.key -out %s.csr -subj '%s' -addext '%s' "
	   "2>/dev/null && openssl x509 -req -in %s.csr -CA %s.crt -CAkey %s.key "
	   "-CAcreateserial -days 2 -copy_extensions copy -out %s.crt 2>/dev/null",
	   dir, name, name, subj, ext, name, ca, ca, name);
}

static const char *path(const char *name, const char *ext)
{
	static char buf[8][128];
	static int k;
	char *p = buf[k++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s.%s", dir, name, ext);
	return p;
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_tls.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	make_cert("ca", NULL, "/CN=test ca", NULL);
	make_cert("rogue", NULL, "/CN=rogue ca", NULL);
	make_cert("server", "ca", "/CN=localhost",
	          "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost");
	make_cert("client", "ca", "/CN=alice", "extendedKeyUsage=clientAuth");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sh("rm -rf %s", dir);
	return 0;
}

/* ---- what arrives ------------------------------------------------------------ */

struct sink {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned n;
	char last[512];
	struct tp_addr src;
	bool echo;
	struct tp *tp;
};

static void on_recv(const struct tp_rx *rx, void *arg)
{
	struct sink *s = arg;

	pthread_mutex_lock(&s->mu);
	s->n++;
	snprintf(s->last, sizeof(s->last), "%.*s", (int)rx->len, rx->buf);
	s->src = rx->src;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	/* The answer goes back on the request's connection. Not asserted:
	 * this is a worker thread, and the client may be gone already. */
	if (s->echo)
		(void)tp_send(s->tp, rx->proto, NULL, rx->conn_id, rx->buf, rx->len);
}

static bool wait_n(struct sink *s, unsigned n, unsigned ms)
{
	struct timespec dl;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->mu);
	while (s->n < n && pthread_cond_timedwait(&s->cv, &s->mu, &dl) == 0)
		;
	ok = s->n >= n;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

#define MSG                                                                                        \
	"OPTIONS sip:127.0.0.1 SIP/2.0\r\n"                                                        \
	"Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bKtls1\r\n"                                   \
	"Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"             \
	"Call-ID: tls1@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 5\r\n\r\nhello"

/* ---- transports --------------------------------------------------------------- */

struct end {
	struct sink sink;
	struct tp *tp;
	struct tp_addr addr; /* the listener's, for a server */
};

/* A server listening on spec (port 0) with the server certificate,
 * echoing what it gets; or (spec NULL) a client with tc only. */
static void end_up(struct end *e, const char *spec, const struct tp_tls_cfg *tc)
{
	struct tp_cfg cfg;
	struct tp_addr any;
	enum tp_proto p;

	memset(e, 0, sizeof(*e));
	pthread_mutex_init(&e->sink.mu, NULL);
	pthread_cond_init(&e->sink.cv, NULL);
	tp_cfg_default(&cfg);
	cfg.workers = 2;
	assert_int_equal(tp_new(&e->tp, &cfg, on_recv, NULL, &e->sink), 0);
	e->sink.tp = e->tp;
	e->sink.echo = spec != NULL;
	assert_int_equal(tp_tls_setup(e->tp, tc), 0);
	if (spec) {
		assert_int_equal(tp_listen_spec_parse(spec, &p, &any), 0);
		assert_int_equal(tp_listen(e->tp, TP_TLS, &any), 0);
		e->addr = *tp_listener_addr(e->tp, 0, NULL);
	}
	assert_int_equal(tp_start(e->tp), 0);
}

static void end_down(struct end *e)
{
	tp_free(e->tp);
	pthread_cond_destroy(&e->sink.cv);
	pthread_mutex_destroy(&e->sink.mu);
}

static void server_at(struct end *e, const char *spec, bool verify_client)
{
	struct tp_tls_cfg tc = {.cert = path("server", "crt"),
	                        .key = path("server", "key"),
	                        .ca = path("ca", "crt"),
	                        .verify_client = verify_client};

	end_up(e, spec, &tc);
}

static void server_up(struct end *e, bool verify_client)
{
	server_at(e, "tls:127.0.0.1:0", verify_client);
}

static void client_up(struct end *e, const char *ca, const char *cert)
{
	struct tp_tls_cfg tc = {.ca = path(ca, "crt")};

	if (cert) {
		tc.cert = path(cert, "crt");
		tc.key = path(cert, "key");
	}
	end_up(e, NULL, &tc);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_spec_and_setup(void **state)
{
	struct tp_tls_cfg tc = {.key = "k.pem"};
	enum tp_proto p;
	struct tp_addr a;
	struct tp *t;

	(void)state;
	assert_int_equal(tp_listen_spec_parse("tls:127.0.0.1", &p, &a), 0);
	assert_int_equal(p, TP_TLS);
	assert_int_equal(tp_addr_port(&a), 5061);
	assert_string_equal(tp_proto_name(TP_TLS), "TLS");
	assert_int_equal(tp_new(&t, NULL, on_recv, NULL, NULL), 0);
	/* no TLS set up: neither listening nor sending */
	assert_int_equal(tp_listen(t, TP_TLS, &a), -EPROTONOSUPPORT);
	assert_int_equal(tp_send(t, TP_TLS, &a, 0, "x", 1), -EPROTONOSUPPORT);
	assert_int_equal(tp_tls_setup(t, &tc), -EINVAL); /* a key without a certificate */
	tc = (struct tp_tls_cfg){.cert = path("server", "crt"), .verify_client = true};
	assert_int_equal(tp_tls_setup(t, &tc), -EINVAL); /* verify_client without a CA */
	tc = (struct tp_tls_cfg){.ca = "/nonexistent/ca.pem"};
	assert_int_equal(tp_tls_setup(t, &tc), -ENOENT);
	tc = (struct tp_tls_cfg){.cert = path("server", "crt"), .key = path("client", "key")};
	assert_int_equal(tp_tls_setup(t, &tc), -EPROTO); /* key of another certificate */
	tc = (struct tp_tls_cfg){.ca = path("ca", "crt")};
	assert_int_equal(tp_tls_setup(t, &tc), 0); /* a client: no listener possible */
	assert_int_equal(tp_tls_setup(t, &tc), -EINVAL);
	assert_int_equal(tp_listen(t, TP_TLS, &a), -EPROTONOSUPPORT);
	tp_free(t);
}

/* A UA's use: connect on demand, the answer on the same connection, the
 * connection reused for the next send. */
static void on_demand_case(const char *spec)
{
	struct end srv, cli;
	struct tp_addr first;

	server_at(&srv, spec, false);
	client_up(&cli, "ca", NULL);
	assert_false(tp_conn_open(cli.tp, TP_TLS, &srv.addr));
	assert_int_equal(tp_send(cli.tp, TP_TLS, &srv.addr, 0, MSG, strlen(MSG)), 0);
	assert_true(wait_n(&srv.sink, 1, WAIT_MS));
	assert_string_equal(srv.sink.last, MSG);
	assert_true(wait_n(&cli.sink, 1, WAIT_MS)); /* the echo */
	assert_string_equal(cli.sink.last, MSG);
	assert_true(tp_conn_open(cli.tp, TP_TLS, &srv.addr));
	assert_false(tp_conn_open(cli.tp, TP_TCP, &srv.addr));
	first = srv.sink.src;
	assert_int_equal(tp_send(cli.tp, TP_TLS, &srv.addr, 0, MSG, strlen(MSG)), 0);
	assert_true(wait_n(&srv.sink, 2, WAIT_MS));
	assert_true(tp_addr_eq(&first, &srv.sink.src)); /* the same connection */
	end_down(&cli);
	end_down(&srv);
}

static void test_client_connects_on_demand(void **state)
{
	(void)state;
	on_demand_case("tls:127.0.0.1:0");
	on_demand_case("tls:[::1]:0");
}

/* A client with CA file ca (and certificate cert) sends to a server
 * (requiring client certificates when verify_client), after tp_connect
 * with name when given: whether the message arrives is ok. */
static void delivery_case(bool verify_client, const char *ca, const char *cert, const char *name,
                          bool ok)
{
	struct end srv, cli;

	server_up(&srv, verify_client);
	client_up(&cli, ca, cert);
	if (name)
		assert_int_equal(tp_connect(cli.tp, TP_TLS, &srv.addr, name), 0);
	assert_int_equal(tp_send(cli.tp, TP_TLS, &srv.addr, 0, MSG, strlen(MSG)), 0);
	assert_int_equal(wait_n(&srv.sink, 1, ok ? WAIT_MS : QUIET_MS), ok);
	end_down(&cli);
	end_down(&srv);
}

static void test_untrusted_server_refused(void **state)
{
	(void)state;
	delivery_case(false, "rogue", NULL, NULL, false);
}

static void test_server_name_checked(void **state)
{
	(void)state;
	delivery_case(false, "ca", NULL, "localhost", true);
	delivery_case(false, "ca", NULL, "127.0.0.1", true);
	delivery_case(false, "ca", NULL, "sip.example.org", false);
}

static void test_client_certificate_required(void **state)
{
	(void)state;
	delivery_case(true, "ca", "client", NULL, true);
	delivery_case(true, "ca", NULL, NULL, false);
	delivery_case(true, "ca", "rogue", NULL, false); /* self-signed, trusted by no one */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_spec_and_setup),
	        cmocka_unit_test(test_client_connects_on_demand),
	        cmocka_unit_test(test_untrusted_server_refused),
	        cmocka_unit_test(test_server_name_checked),
	        cmocka_unit_test(test_client_certificate_required),
	};

	sip_log_set_level(SIP_LOG_ERROR); /* the refusals below are expected */
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
