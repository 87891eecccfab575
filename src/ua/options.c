/*
 * options.c — `sipua options URI`: asks a UA or server what it supports
 * (RFC 3261 §11) with one non-INVITE client transaction, and prints the
 * final response. Retransmissions (timer E) and the timeout (timer F,
 * 64*T1) are the transaction layer's.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "libsip/log.h"
#include "libsip/uri.h"
#include "sipua.h"
#include "ua.h"

struct outcome {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int status;    /* final status, or 408/503 without a response */
	bool got_resp; /* a real response came (else the layer's verdict) */
	bool ended;    /* the transaction terminated */
	char text[8192];
};

static void on_resp(struct tsx *ct, const struct sip_msg *resp, int status, void *arg)
{
	struct outcome *o = arg;

	(void)ct;
	pthread_mutex_lock(&o->mu);
	if (resp && status >= 200 && !o->status) {
		struct sip_pl raw = sip_msg_raw(resp);
		size_t n = raw.len < sizeof(o->text) - 1 ? raw.len : sizeof(o->text) - 1;
		memcpy(o->text, raw.p, n);
		o->text[n] = '\0';
		o->status = status;
		o->got_resp = true;
	} else if (!resp && status && !o->status) {
		o->status = status;
	} else if (!resp && !status) {
		o->ended = true;
	}
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
}

struct where {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int err;
	struct tsx_peer to;
};

static void located(void *arg, int err, const struct ua_targets *ts)
{
	struct where *w = arg;

	pthread_mutex_lock(&w->mu);
	w->err = err;
	if (!err)
		w->to = ts->t[0]; /* one transaction: no failover here */
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* The next hop: the proxy when given, else the target, per RFC 3263
 * (inline for a numeric host, else after the resolver's answer). */
static int locate(struct ua *ua, const char *uri, struct tsx_peer *to)
{
	struct where w = {.done = false};
	int err;

	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	if ((err = ua_locate(ua, sip_pl_cstr(uri), located, &w)) == 0) {
		pthread_mutex_lock(&w.mu);
		while (!w.done)
			pthread_cond_wait(&w.cv, &w.mu);
		pthread_mutex_unlock(&w.mu);
		err = w.err;
		*to = w.to;
	}
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	if (err < 0)
		fprintf(stderr, "sipua: cannot find where %s is: %s\n", uri, ua_err_name(err));
	return err;
}

int sipua_options(struct ua *ua, const char *target, const char *proxy)
{
	struct sip_uri uri;
	struct tsx_peer to;
	static const char *const extra[] = {"Accept: application/sdp"};
	char buf[4096];
	struct outcome o = {.status = 0};
	int n, err;

	if (sip_uri_parse(&uri, sip_pl_cstr(target)) < 0) {
		fprintf(stderr, "sipua: '%s' is not a SIP URI\n", target);
		return 2;
	}
	if (locate(ua, proxy ? proxy : target, &to) < 0)
		return 1;
	n = ua_build_request(ua, buf, sizeof(buf), "OPTIONS", sip_pl_cstr(target), &to, extra, 1);
	if (n < 0) {
		fprintf(stderr, "sipua: the request does not fit (URI too long?)\n");
		return 2;
	}
	pthread_mutex_init(&o.mu, NULL);
	pthread_cond_init(&o.cv, NULL);
	pthread_mutex_lock(&o.mu);
	if ((err = tsx_client_new(ua->tsx, NULL, buf, (size_t)n, &to, on_resp, &o)) < 0) {
		pthread_mutex_unlock(&o.mu);
		fprintf(stderr, "sipua: cannot send: %s\n", sip_err_reason(err));
		return 1;
	}
	/* Wait for the final answer (the layer always gives one: a response,
	 * 408 on timer F, or 503 on a transport error). */
	while (!o.status)
		pthread_cond_wait(&o.cv, &o.mu);
	pthread_mutex_unlock(&o.mu);

	if (o.got_resp) {
		fputs(o.text, stdout);
	} else {
		fprintf(stderr, "sipua: no response: %d %s\n", o.status,
		        o.status == 408 ? "Request Timeout (timer F)"
		                        : "Service Unavailable (transport error)");
	}
	/* The transaction lives on for timer K; ua_stop ends it. */
	return o.status >= 200 && o.status < 300 ? 0 : 1;
}
