/*
 * ua.c — the user agent's core (see ua.h): one transport worker receives,
 * parses and hands messages to the transaction layer; the caller's thread
 * starts client transactions and waits for their reports.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libsip/build.h"
#include "libsip/log.h"
#include "resolve/resolve.h"
#include "ua.h"

static void on_recv(const struct tp_rx *rx, void *arg)
{
	struct ua *ua = arg;
	struct sip_parse_err perr;
	struct sip_msg *m;
	struct tsx_peer from = {
	        .proto = rx->proto, .addr = rx->src, .src = rx->src, .conn_id = rx->conn_id};

	sip_arena_reset(ua->arena);
	if (sip_msg_parse(&m, ua->arena, rx->buf, rx->len,
	                  rx->proto == TP_UDP ? 0 : SIP_PARSE_STREAM, &perr) < 0) {
		sip_log(SIP_LOG_DEBUG, "dropped an unparseable message: %s", perr.reason);
		return;
	}
	tsx_layer_recv(ua->tsx, m, &from);
}

/* A connection we opened failed before use (a dead port, a server
 * certificate refused): its requests fail now (503), not by timer F. */
static void on_conn_error(enum tp_proto proto, const struct tp_addr *peer, void *arg)
{
	struct ua *ua = arg;

	tsx_layer_peer_failed(ua->tsx, proto, peer);
}

static void on_tick(unsigned worker, uint64_t now_ms, void *arg)
{
	struct ua *ua = arg;

	tsx_layer_tick(ua->tsx, worker, 1, now_ms);
	if (ua->cfg.hooks && ua->cfg.hooks->tick)
		ua->cfg.hooks->tick(ua->cfg.hooks_arg, now_ms);
}

static int on_send(void *arg, const struct tsx_peer *to, const char *buf, size_t len)
{
	struct ua *ua = arg;

	return tp_send(ua->tp, to->proto, &to->addr, to->conn_id, buf, len);
}

static void on_request(void *arg, struct tsx *st, const struct sip_msg *req,
                       const struct tsx_peer *from)
{
	/* No UAS above: refuse politely so the sender's transaction ends. */
	struct ua *ua = arg;
	char buf[4096], tag[17];
	struct sip_wbuf w;
	int n;

	if (ua->cfg.hooks && ua->cfg.hooks->request) {
		ua->cfg.hooks->request(ua->cfg.hooks_arg, st, req, from);
		return;
	}
	ua_random_hex(tag, 16);
	sip_wbuf_init(&w, buf, sizeof(buf));
	sip_build_response(&w, req, 501, SIP_PL_NULL, sip_pl_cstr(tag));
	if ((n = sip_build_finish(&w, SIP_PL_NULL, SIP_PL_NULL)) > 0)
		tsx_respond(st, 501, buf, (size_t)n);
}

static void on_ack(void *arg, const struct sip_msg *ack, const struct tsx_peer *from)
{
	struct ua *ua = arg;

	if (ua->cfg.hooks && ua->cfg.hooks->ack)
		ua->cfg.hooks->ack(ua->cfg.hooks_arg, ack, from);
}

static void on_stray(void *arg, const struct sip_msg *resp, const struct tsx_peer *from)
{
	struct ua *ua = arg;

	if (ua->cfg.hooks && ua->cfg.hooks->stray) {
		ua->cfg.hooks->stray(ua->cfg.hooks_arg, resp, from);
		return;
	}
	sip_log(SIP_LOG_DEBUG, "response %d matches no transaction: dropped", sip_msg_status(resp));
}

static void on_done(void *arg, struct tsx *st, int reason)
{
	(void)arg;
	(void)st;
	(void)reason;
}

static const struct tsx_ops ops = {
        .send = on_send,
        .request = on_request,
        .ack = on_ack,
        .stray_response = on_stray,
        .server_done = on_done,
};

/* "HOST" (any free port) or "HOST:PORT", IPv6 in brackets when a port
 * follows. */
static int parse_local(const char *spec, struct tp_addr *addr)
{
	const char *colon = strrchr(spec, ':');
	bool v6 = spec[0] == '[' || (colon && strchr(spec, ':') != colon);
	bool has_port = v6 ? (spec[0] == '[' && strstr(spec, "]:")) : colon != NULL;
	char text[128];
	enum tp_proto proto;

	if (has_port) {
		snprintf(text, sizeof(text), "udp:%s", spec);
		return tp_listen_spec_parse(text, &proto, addr) < 0 ? SIP_ERR_SYNTAX : 0;
	}
	return tp_addr_from_host(addr, sip_pl_cstr(spec), 0) < 0 ? SIP_ERR_SYNTAX : 0;
}

int ua_start(struct ua *ua, const struct ua_cfg *cfg)
{
	struct tp_cfg tc;
	struct tp_addr local;
	enum tp_proto proto;
	int err;

	memset(ua, 0, sizeof(*ua));
	ua->cfg = *cfg;
	pthread_mutex_init(&ua->rs_mu, NULL);
	if (parse_local(cfg->local, &local) < 0) {
		fprintf(stderr, "sipua: --local: '%s' is not ADDR[:PORT]\n", cfg->local);
		return SIP_ERR_SYNTAX;
	}
	tp_cfg_default(&tc);
	tc.workers = 1;
	if ((err = sip_arena_new(&ua->arena, 4u << 20)) < 0 ||
	    (err = tp_new(&ua->tp, &tc, on_recv, NULL, ua)) < 0 ||
	    (err = tsx_layer_new(&ua->tsx, &cfg->tsx, &ops, ua)) < 0)
		return err;
	if (cfg->tls_ca || cfg->tls_cert) {
		/* A client: no TLS listener (a registrar reaches us over the
		 * connection we opened), servers verified against the CA. */
		struct tp_tls_cfg tls = {
		        .cert = cfg->tls_cert, .key = cfg->tls_key, .ca = cfg->tls_ca};
		if ((err = tp_tls_setup(ua->tp, &tls)) < 0) {
			fprintf(stderr, "sipua: TLS: cannot use %s: %s\n",
			        cfg->tls_ca ? cfg->tls_ca : cfg->tls_cert, strerror(-err));
			return err;
		}
		ua->tls = true;
	}
	if ((err = tp_listen(ua->tp, TP_UDP, &local)) < 0)
		return err;
	ua->udp = *tp_listener_addr(ua->tp, 0, &proto);
	/* TCP on the same port as UDP, so one Via sent-by serves both. */
	if ((err = tp_listen(ua->tp, TP_TCP, &ua->udp)) < 0)
		return err;
	ua->tcp = *tp_listener_addr(ua->tp, 1, &proto);
	tsx_layer_tick(ua->tsx, 0, 1, tp_now_ms());
	tp_set_tick(ua->tp, 10, on_tick, ua);
	tp_set_conn_error(ua->tp, on_conn_error);
	return tp_start(ua->tp);
}

void ua_stop(struct ua *ua)
{
	if (ua->tp)
		tp_stop(ua->tp);
	if (ua->tsx)
		tsx_layer_free(ua->tsx);
	tp_free(ua->tp);
	sip_arena_free(ua->arena);
	/* After the transport: no request can start a lookup any more. */
	rs_free(ua->rs);
	pthread_mutex_destroy(&ua->rs_mu);
	memset(ua, 0, sizeof(*ua));
}

int ua_target(const struct ua *ua, const struct sip_uri *uri, struct tsx_peer *to)
{
	bool sips = uri->scheme == SIP_SCHEME_SIPS;

	memset(to, 0, sizeof(*to));
	if (uri->scheme != SIP_SCHEME_SIP && !sips) {
		fprintf(stderr, "sipua: only sip: and sips: URIs can be reached\n");
		return SIP_ERR_UNSUPPORTED;
	}
	if (uri->host_type == SIP_HOST_DOMAIN) {
		fprintf(stderr, "sipua: %.*s is a host name (ua_locate resolves those)\n",
		        (int)uri->host.len, uri->host.p);
		return SIP_ERR_UNSUPPORTED;
	}
	to->proto = sips ? TP_TLS : TP_UDP;
	if (uri->transport.len && !sips) {
		if (sip_pl_caseeq_str(uri->transport, "tcp"))
			to->proto = TP_TCP;
		else if (sip_pl_caseeq_str(uri->transport, "tls"))
			to->proto = TP_TLS;
		else if (!sip_pl_caseeq_str(uri->transport, "udp")) {
			fprintf(stderr, "sipua: transport=%.*s is not supported (udp, tcp, tls)\n",
			        (int)uri->transport.len, uri->transport.p);
			return SIP_ERR_UNSUPPORTED;
		}
	}
	if (to->proto == TP_TLS && !ua->tls) {
		fprintf(stderr, "sipua: %s needs TLS: give --tls-ca FILE\n",
		        sips ? "a sips: URI" : "transport=tls");
		return SIP_ERR_UNSUPPORTED;
	}
	return tp_addr_from_host(&to->addr, uri->host,
	                         uri->port             ? uri->port
	                         : to->proto == TP_TLS ? 5061
	                                               : 5060);
}

void ua_random_hex(char *out, size_t n)
{
	unsigned char raw[64];
	char all[2 * sizeof(raw) + 1];

	if (n > 2 * sizeof(raw))
		n = 2 * sizeof(raw);
	if (RAND_bytes(raw, (int)((n + 1) / 2)) != 1)
		abort(); /* predictable branches and tags would be a security hole */
	sip_hex_encode(all, raw, (n + 1) / 2);
	memcpy(out, all, n);
	out[n] = '\0';
}

void ua_via(const struct ua *ua, enum tp_proto proto, char *buf, size_t cap)
{
	/* TLS goes out on connections of our own: the TCP port names us. */
	const struct tp_addr *local = proto == TP_UDP ? &ua->udp : &ua->tcp;
	char branch[24], host[64];

	ua_random_hex(branch, 16);
	tp_addr_host(local, host, sizeof(host));
	bool v6 = strchr(host, ':') != NULL;
	snprintf(buf, cap, "SIP/2.0/%s %s%s%s:%u;branch=z9hG4bK%s;rport", tp_proto_name(proto),
	         v6 ? "[" : "", host, v6 ? "]" : "", tp_addr_port(local), branch);
}

int ua_send(struct ua *ua, const struct tsx_peer *to, const char *buf, size_t len)
{
	return tp_send(ua->tp, to->proto, &to->addr, to->conn_id, buf, len);
}

struct locate {
	struct ua *ua;
	ua_locate_fn fn;
	void *arg;
	char host[256]; /* the name a TLS server's certificate must carry */
};

static void located(void *arg, int err, const struct rs_target *t, size_t n)
{
	struct locate *l = arg;
	struct ua_targets ts;

	memset(&ts, 0, sizeof(ts));
	for (size_t i = 0; !err && i < n && ts.n < UA_MAX_TARGETS; i++) {
		if (t[i].proto == TP_TLS && !l->ua->tls)
			continue; /* no TLS here: only the other targets */
		ts.t[ts.n].proto = t[i].proto;
		ts.t[ts.n++].addr = t[i].addr;
	}
	/* The connection to the first TLS target is opened now, checking its
	 * certificate against the name looked up (RFC 5922 §4: the domain, not
	 * the SRV target); the request then goes down it. */
	if (ts.n && ts.t[0].proto == TP_TLS)
		tp_connect(l->ua->tp, TP_TLS, &ts.t[0].addr, l->host);
	l->fn(l->arg, err ? err : ts.n ? 0 : SIP_ERR_NOT_FOUND, &ts);
	free(l);
}

/* The resolver is made on the first host name only: a UA that talks to
 * numeric addresses (the tests, a box with an IP for its proxy) needs no
 * thread for it and reads no resolv.conf. */
static struct rs_resolver *resolver(struct ua *ua)
{
	pthread_mutex_lock(&ua->rs_mu);
	if (!ua->rs && rs_new(&ua->rs, ua->cfg.dns, 1000, 2) < 0)
		ua->rs = NULL;
	pthread_mutex_unlock(&ua->rs_mu);
	return ua->rs;
}

const char *ua_err_name(int err)
{
	return rs_err_name(err);
}

int ua_locate(struct ua *ua, struct sip_pl text, ua_locate_fn fn, void *arg)
{
	struct sip_uri uri;
	struct ua_targets ts;
	struct rs_resolver *rs;
	struct locate *l;
	int err;

	if (sip_uri_parse(&uri, text) < 0)
		return SIP_ERR_URI;
	if (uri.host_type != SIP_HOST_DOMAIN && !uri.maddr.len) {
		memset(&ts, 0, sizeof(ts));
		if ((err = ua_target(ua, &uri, &ts.t[0])) < 0)
			return err;
		ts.n = 1;
		fn(arg, 0, &ts);
		return 0;
	}
	if (!(rs = resolver(ua)))
		return RS_ERR_SERVER;
	if (!(l = malloc(sizeof(*l))))
		return SIP_ERR_NOMEM;
	l->ua = ua;
	l->fn = fn;
	l->arg = arg;
	sip_pl_strcpy(l->host, sizeof(l->host), uri.host);
	if ((err = rs_resolve(rs, &uri, located, l)) < 0)
		free(l);
	return err;
}

int ua_build_request(struct ua *ua, char *buf, size_t cap, const char *method, struct sip_pl ruri,
                     const struct tsx_peer *to, const char *const *extra, size_t nextra)
{
	char tag[17], cid[33], host[64], line[256];
	struct sip_wbuf w;

	ua_random_hex(tag, 16);
	ua_random_hex(cid, 32);
	tp_addr_host(&ua->udp, host, sizeof(host));
	bool v6 = strchr(host, ':') != NULL;

	sip_wbuf_init(&w, buf, cap);
	sip_build_request_line(&w, sip_pl_cstr(method), ruri);
	ua_via(ua, to->proto, line, sizeof(line));
	sip_build_hdr(&w, SIP_HDR_VIA, sip_pl_cstr(line));
	sip_build_hdr(&w, SIP_HDR_MAX_FORWARDS, SIP_PL("70"));
	snprintf(line, sizeof(line), "<sip:sipua@%s%s%s>;tag=%s", v6 ? "[" : "", host,
	         v6 ? "]" : "", tag);
	sip_build_hdr(&w, SIP_HDR_FROM, sip_pl_cstr(line));
	sip_wbuf_put(&w, SIP_PL("To: <"));
	sip_wbuf_put(&w, ruri);
	sip_wbuf_put(&w, SIP_PL(">\r\n"));
	snprintf(line, sizeof(line), "%s@%s", cid, host);
	sip_build_hdr(&w, SIP_HDR_CALL_ID, sip_pl_cstr(line));
	snprintf(line, sizeof(line), "1 %s", method);
	sip_build_hdr(&w, SIP_HDR_CSEQ, sip_pl_cstr(line));
	sip_build_hdr(&w, SIP_HDR_USER_AGENT, SIP_PL("sipua/" UA_VERSION));
	for (size_t i = 0; i < nextra; i++) {
		sip_wbuf_puts(&w, extra[i]);
		sip_wbuf_put(&w, SIP_PL("\r\n"));
	}
	return sip_build_finish(&w, SIP_PL_NULL, SIP_PL_NULL);
}
