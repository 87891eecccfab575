/*
 * tls.c — SIP over TLS (RFC 3261 §26.2, §26.3.1: TLS between hops; RFC
 * 5630 for sips): the OpenSSL contexts (a server one with the certificate
 * listeners serve, a client one for the connections we open), the
 * per-connection session, the non-blocking handshake on the worker that
 * owns the connection, and the stream ops that put SSL_read/SSL_write
 * where tcp.c uses recv/send. Framing, buffers, limits, idle timeouts and
 * connection reuse are tcp.c's and conn.c's, shared as they are.
 *
 * Choices: TLS 1.2 and later; for 1.2 only ECDHE with AEAD ciphers (1.3
 * has nothing else); no renegotiation, no compression. One certificate:
 * it is served whatever name a client asks for with SNI (a name it does
 * not cover is logged at debug level). Client certificates are asked
 * for only with verify_client, and then required and checked against
 * the CA file. Outgoing connections check the server's certificate
 * against the CA file and the name of the target (or its IP address);
 * without a CA file they are not verified, and that is logged once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tp_priv.h"

/* Mozilla's "intermediate" TLS 1.2 list: forward secrecy and AEAD only. */
#define TLS12_CIPHERS                                                                              \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                               \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                               \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* What one reading of the files makes. */
struct ctxs {
	SSL_CTX *srv; /* NULL without a certificate: no listener */
	SSL_CTX *cli;
};

/* The name a server's certificate must show, by address (tp_connect). */
struct expect {
	struct tp_addr addr;
	char name[256];
};

/* Direct-mapped by address: a proxy names a destination just before it
 * sends there, so a slot taken over by another address meanwhile (which
 * then checks the IP address instead) is all but impossible. */
#define EXPECT_SLOTS 256

struct tp_tls {
	/* Guards x and names: tp_tls_reload swaps x while workers make
	 * sessions from it (a session holds a reference to its context,
	 * which outlives the swap as long as a connection uses it). */
	pthread_mutex_t mu;
	struct ctxs x;
	struct expect *names; /* EXPECT_SLOTS, made on first use */
};

/* The newest OpenSSL error as text, the queue emptied (it is per thread
 * and would otherwise pollute the next connection's report). */
static const char *ssl_reason(char *buf, size_t cap)
{
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, buf, cap);
	else
		snprintf(buf, cap, "unknown error");
	ERR_clear_error();
	return buf;
}

static int setup_failed(const char *what, const char *file)
{
	char why[256];

	sip_log(SIP_LOG_ERROR, "transport: tls: %s%s%s: %s", what, file ? " " : "",
	        file ? file : "", ssl_reason(why, sizeof(why)));
	return -EPROTO;
}

/* What both contexts share: versions, ciphers, and the modes the
 * non-blocking writes of conn.c need (a retried write may come from a
 * moved buffer; partial writes are reported as such). */
static SSL_CTX *ctx_new(bool server)
{
	SSL_CTX *x = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	if (!x)
		return NULL;
	if (SSL_CTX_set_min_proto_version(x, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(x, TLS12_CIPHERS) != 1) {
		SSL_CTX_free(x);
		return NULL;
	}
	/* A peer closing without close_notify is an ordinary EOF here, as
	 * it is for TCP: SIP frames its own messages. */
	SSL_CTX_set_options(x, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	                               SSL_OP_CIPHER_SERVER_PREFERENCE |
	                               SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(x, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                            SSL_MODE_RELEASE_BUFFERS);
	return x;
}

static int readable_file(const char *path)
{
	if (access(path, R_OK) == 0)
		return 0;
	sip_log(SIP_LOG_ERROR, "transport: tls: cannot read %s: %s", path, strerror(errno));
	return -ENOENT;
}

static int use_cert(SSL_CTX *x, const struct tp_tls_cfg *cfg)
{
	const char *key = cfg->key ? cfg->key : cfg->cert;
	int err;

	if ((err = readable_file(cfg->cert)) < 0 || (err = readable_file(key)) < 0)
		return err;
	if (SSL_CTX_use_certificate_chain_file(x, cfg->cert) != 1)
		return setup_failed("certificate", cfg->cert);
	if (SSL_CTX_use_PrivateKey_file(x, key, SSL_FILETYPE_PEM) != 1)
		return setup_failed("private key", key);
	if (SSL_CTX_check_private_key(x) != 1)
		return setup_failed("the key does not match the certificate", cfg->cert);
	return 0;
}

/* SNI (RFC 6066 §3): one certificate, served for any name. */
static int on_servername(SSL *ssl, int *alert, void *arg)
{
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	X509 *cert = SSL_get_certificate(ssl);

	(void)alert;
	(void)arg;
	if (name && cert && X509_check_host(cert, name, 0, 0, NULL) != 1 &&
	    sip_log_enabled(SIP_LOG_DEBUG))
		sip_log(SIP_LOG_DEBUG,
		        "transport: tls: a client asked for %s, which the certificate does not "
		        "name: served anyway (one certificate)",
		        name);
	return SSL_TLSEXT_ERR_OK;
}

static int server_ctx(struct ctxs *tls, const struct tp_tls_cfg *cfg)
{
	int err;

	if (!(tls->srv = ctx_new(true)))
		return setup_failed("server context", NULL);
	if ((err = use_cert(tls->srv, cfg)) < 0)
		return err;
	SSL_CTX_set_tlsext_servername_callback(tls->srv, on_servername);
	/* No TLS 1.3 session tickets: SIP connections live long, so
	 * resumption saves little, and the ticket records arriving after
	 * the handshake break clients that read naively (sipsak 0.9.8). */
	SSL_CTX_set_num_tickets(tls->srv, 0);
	if (!cfg->verify_client)
		return 0;
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->ca);
	if (!names || SSL_CTX_load_verify_locations(tls->srv, cfg->ca, NULL) != 1) {
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		return setup_failed("CA file", cfg->ca);
	}
	SSL_CTX_set_client_CA_list(tls->srv, names);
	SSL_CTX_set_verify(tls->srv, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return 0;
}

/* The connections we open: our certificate for peers that ask for one,
 * and the CA file to check theirs. */
static int client_ctx(struct ctxs *tls, const struct tp_tls_cfg *cfg)
{
	int err;

	if (!(tls->cli = ctx_new(false)))
		return setup_failed("client context", NULL);
	if (cfg->cert && (err = use_cert(tls->cli, cfg)) < 0)
		return err;
	if (!cfg->ca) {
		sip_log(SIP_LOG_WARN, "transport: tls: no CA file: the servers of outgoing TLS "
		                      "connections are not verified");
		SSL_CTX_set_verify(tls->cli, SSL_VERIFY_NONE, NULL);
		return 0;
	}
	if ((err = readable_file(cfg->ca)) < 0)
		return err;
	if (SSL_CTX_load_verify_locations(tls->cli, cfg->ca, NULL) != 1)
		return setup_failed("CA file", cfg->ca);
	SSL_CTX_set_verify(tls->cli, SSL_VERIFY_PEER, NULL);
	return 0;
}

static void ctxs_free(struct ctxs *x)
{
	SSL_CTX_free(x->srv);
	SSL_CTX_free(x->cli);
	x->srv = x->cli = NULL;
}

/* Reads cfg's files into fresh contexts. */
static int ctxs_new(struct ctxs *x, const struct tp_tls_cfg *cfg)
{
	int err;

	memset(x, 0, sizeof(*x));
	if (!cfg || (cfg->key && !cfg->cert) || (cfg->verify_client && (!cfg->ca || !cfg->cert)))
		return -EINVAL;
	ERR_clear_error();
	if ((cfg->cert && (err = server_ctx(x, cfg)) < 0) || (err = client_ctx(x, cfg)) < 0) {
		ctxs_free(x);
		return err;
	}
	return 0;
}

int tp_tls_setup(struct tp *t, const struct tp_tls_cfg *cfg)
{
	struct tp_tls *tls;
	int err;

	if (t->tls || t->started)
		return -EINVAL;
	if (!(tls = calloc(1, sizeof(*tls))))
		return -ENOMEM;
	if ((err = ctxs_new(&tls->x, cfg)) < 0) {
		free(tls);
		return err;
	}
	pthread_mutex_init(&tls->mu, NULL);
	t->tls = tls;
	return 0;
}

static bool has_tls_listener(const struct tp *t)
{
	for (unsigned i = 0; i < t->nls; i++)
		if (t->ls[i]->proto == TP_TLS)
			return true;
	return false;
}

int tp_tls_reload(struct tp *t, const struct tp_tls_cfg *cfg)
{
	struct ctxs fresh, old;
	int err;

	if (!t->tls || (cfg && !cfg->cert && has_tls_listener(t)))
		return -EINVAL;
	if ((err = ctxs_new(&fresh, cfg)) < 0)
		return err;
	pthread_mutex_lock(&t->tls->mu);
	old = t->tls->x;
	t->tls->x = fresh;
	pthread_mutex_unlock(&t->tls->mu);
	ctxs_free(&old); /* sessions still open keep their context alive */
	return 0;
}

void tp_tls_free(struct tp_tls *tls)
{
	if (!tls)
		return;
	ctxs_free(&tls->x);
	pthread_mutex_destroy(&tls->mu);
	free(tls->names);
	free(tls);
}

bool tp_tls_can_serve(const struct tp_tls *tls)
{
	return tls && tls->x.srv; /* before tp_start: no reload yet */
}

/* ---- one connection ---------------------------------------------------------- */

/* Whom the server's certificate must name: a host name (sent as SNI too;
 * RFC 6066 forbids addresses there) or the IP address. */
static int client_identity(SSL *ssl, const struct tp_addr *peer, const char *name)
{
	struct tp_addr numeric;
	char ip[64];

	if (name && tp_addr_from_host(&numeric, sip_pl_cstr(name), 0) < 0) {
		if (SSL_set_tlsext_host_name(ssl, name) != 1 || SSL_set1_host(ssl, name) != 1)
			return -EINVAL;
		return 0;
	}
	if (name)
		snprintf(ip, sizeof(ip), "%s", name[0] == '[' ? name + 1 : name);
	else
		tp_addr_host(peer, ip, sizeof(ip));
	ip[strcspn(ip, "]")] = '\0';
	return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip) == 1 ? 0 : -EINVAL;
}

int tp_tls_expect(struct tp_tls *tls, const struct tp_addr *dst, const char *name)
{
	struct expect *e;

	if (name && strlen(name) >= sizeof(e->name))
		return -EINVAL;
	pthread_mutex_lock(&tls->mu);
	if (!tls->names && name)
		tls->names = calloc(EXPECT_SLOTS, sizeof(*tls->names));
	if (tls->names) {
		e = &tls->names[tp_addr_hash(dst) % EXPECT_SLOTS];
		e->addr = *dst;
		snprintf(e->name, sizeof(e->name), "%s", name ? name : "");
	}
	pthread_mutex_unlock(&tls->mu);
	return tls->names || !name ? 0 : -ENOMEM;
}

/* Under tls->mu: the name expected of peer into buf, or NULL. */
static const char *expected(const struct tp_tls *tls, const struct tp_addr *peer, char *buf,
                            size_t cap)
{
	const struct expect *e = tls->names ? &tls->names[tp_addr_hash(peer) % EXPECT_SLOTS] : NULL;

	if (!e || !e->name[0] || !tp_addr_eq(&e->addr, peer))
		return NULL;
	snprintf(buf, cap, "%s", e->name);
	return buf;
}

int tp_tls_attach(struct tp_worker *w, struct tp_conn *c, bool server)
{
	struct tp_tls *tls = w->t->tls;
	const char *name = NULL;
	char buf[256];
	SSL_CTX *ctx;
	SSL *ssl;

	if (!tls)
		return -EPROTONOSUPPORT;
	pthread_mutex_lock(&tls->mu);
	ctx = server ? tls->x.srv : tls->x.cli;
	ssl = ctx ? SSL_new(ctx) : NULL;
	if (!server)
		name = expected(tls, &c->peer, buf, sizeof(buf));
	pthread_mutex_unlock(&tls->mu);
	if (!ctx)
		return -EPROTONOSUPPORT;
	if (!ssl)
		return -ENOMEM;
	if (SSL_set_fd(ssl, c->io.fd) != 1 || (!server && client_identity(ssl, &c->peer, name))) {
		SSL_free(ssl);
		ERR_clear_error();
		return -EINVAL;
	}
	if (server)
		SSL_set_accept_state(ssl);
	else
		SSL_set_connect_state(ssl);
	c->ssl = ssl;
	c->handshaking = true;
	/* A handshake is bound by msg_timeout_ms as a message is (conn.c):
	 * a peer dribbling its ClientHello never idles either. */
	c->partial_since = w->now ? w->now : 1;
	return 0;
}

/* Why a handshake failed, for the line that closes the connection: a
 * certificate the verification refused says which check failed. */
static const char *handshake_error(SSL *ssl, int e, char *buf, size_t cap)
{
	long v = SSL_get_verify_result(ssl);
	char why[200];

	if (v != X509_V_OK)
		snprintf(buf, cap, "TLS handshake: certificate refused: %s",
		         X509_verify_cert_error_string(v));
	else if (e == SSL_ERROR_SYSCALL && !ERR_peek_last_error())
		snprintf(buf, cap, "TLS handshake: %s", errno ? strerror(errno) : "peer closed");
	else
		snprintf(buf, cap, "TLS handshake: %s", ssl_reason(why, sizeof(why)));
	ERR_clear_error();
	return buf;
}

static void log_established(const struct tp_conn *c)
{
	X509 *peer = SSL_get0_peer_certificate(c->ssl);
	char addr[64], subject[256] = "no certificate";

	if (!sip_log_enabled(SIP_LOG_DEBUG))
		return;
	if (peer)
		X509_NAME_oneline(X509_get_subject_name(peer), subject, sizeof(subject));
	sip_log(SIP_LOG_DEBUG, "transport: tls: connection %llu %s %s: %s %s, peer %s",
	        (unsigned long long)c->id, SSL_is_server(c->ssl) ? "from" : "to",
	        tp_addr_str(&c->peer, addr, sizeof(addr)), SSL_get_version(c->ssl),
	        SSL_get_cipher_name(c->ssl), subject);
}

void tp_tls_handshake(struct tp_worker *w, struct tp_conn *c)
{
	char why[320];
	int r, e;

	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->handshaking = false;
		c->partial_since = 0;
		tp_conn_touch(w, c);
		log_established(c);
		tp_conn_flush(w, c); /* what was sent meanwhile */
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		/* EPOLLIN is always armed; EPOLLOUT only while OpenSSL has
		 * bytes the socket did not take. */
		tp_conn_arm_out(w, c, e == SSL_ERROR_WANT_WRITE);
		return;
	}
	tp_conn_close(w, c, handshake_error(c->ssl, e, why, sizeof(why)));
}

/* ---- the stream ops ------------------------------------------------------------ */

/* SSL_read/SSL_write's result as tp_stream_ops wants it. */
static ssize_t io_result(struct tp_conn *c, int n, const char *op)
{
	char why[200], addr[64];

	if (n > 0)
		return n;
	switch (SSL_get_error(c->ssl, n)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		/* A write wanting a read (or the reverse) needs a
		 * renegotiation, which is off: the next event retries. */
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN: return 0;
	case SSL_ERROR_SYSCALL:
		if (!ERR_peek_last_error())
			return errno ? -errno : 0;
		/* fall through */
	default:
		sip_log(SIP_LOG_INFO, "transport: tls: %s on connection %llu with %s: %s", op,
		        (unsigned long long)c->id, tp_addr_str(&c->peer, addr, sizeof(addr)),
		        ssl_reason(why, sizeof(why)));
		return -EPROTO;
	}
}

static ssize_t tls_read(struct tp_conn *c, char *buf, size_t len)
{
	int n = len > INT32_MAX ? INT32_MAX : (int)len;

	ERR_clear_error();
	errno = 0;
	return io_result(c, SSL_read(c->ssl, buf, n), "read");
}

static ssize_t tls_write(struct tp_conn *c, const char *buf, size_t len)
{
	int n = len > INT32_MAX ? INT32_MAX : (int)len;

	ERR_clear_error();
	errno = 0;
	return io_result(c, SSL_write(c->ssl, buf, n), "write");
}

static bool tls_pending(const struct tp_conn *c)
{
	return c->ssl && SSL_has_pending(c->ssl);
}

/* OpenSSL writes with write(), not send(MSG_NOSIGNAL): a close_notify to
 * a peer that has gone raises SIGPIPE, which must be blocked on this
 * thread (workers block every signal; tp_free may run on the caller's). */
static bool sigpipe_blocked(void)
{
	sigset_t cur;

	return pthread_sigmask(SIG_SETMASK, NULL, &cur) == 0 && sigismember(&cur, SIGPIPE) == 1;
}

/* Called as the connection closes, its socket still open: a close_notify
 * when it can go at once (never waited for), then the session goes. */
static void tls_release(struct tp_conn *c)
{
	if (!c->ssl)
		return;
	if (!c->handshaking && !c->connecting && sigpipe_blocked())
		(void)SSL_shutdown(c->ssl);
	SSL_free(c->ssl);
	ERR_clear_error();
	c->ssl = NULL;
}

const struct tp_stream_ops tp_stream_tls = {
        .name = "tls",
        .read = tls_read,
        .write = tls_write,
        .pending = tls_pending,
        .release = tls_release,
};
