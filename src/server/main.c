/*
 * main.c — the sipd program: parse the command line and config file,
 * print a start-up banner (version, sockets, workers), serve until SIGINT
 * or SIGTERM, then stop cleanly. SIGHUP reads the configuration again.
 *
 * Signals are blocked in every thread and taken synchronously here with
 * sigwait, so no work ever runs inside a signal handler.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "libsip/log.h"
#include "sipd.h"

static void banner(const struct sipd *s, const struct sipd_cfg *cfg)
{
	char addr[80];
	unsigned workers = tp_worker_count(s->tp);

	sip_log(SIP_LOG_INFO, "sipd %s starting: %u worker%s", SIPD_VERSION, workers,
	        workers == 1 ? "" : "s");
	for (unsigned i = 0; i < tp_listener_count(s->tp); i++) {
		enum tp_proto proto;
		const struct tp_addr *a = tp_listener_addr(s->tp, i, &proto);

		sip_log(SIP_LOG_INFO, "listening on %s %s", tp_proto_name(proto),
		        tp_addr_str(a, addr, sizeof(addr)));
	}
	for (unsigned i = 0; i < cfg->ndomains; i++)
		sip_log(SIP_LOG_INFO, "domain %s", cfg->domains[i]);
	if (cfg->ndomains == 0)
		sip_log(SIP_LOG_INFO, "no --domain given: only this host's addresses are local");
}

/* SIGHUP: a new configuration swapped in whole. The old one is kept (not
 * freed) until exit, as a worker may be reading it right now; reloads are
 * rare and a configuration is a few KiB. */
static void reload(struct sipd *s, struct sipd_cfg ***retired, size_t *nretired)
{
	const struct sipd_cfg *old = s->cfg;
	struct sipd_cfg *n, **grown;

	if (sipd_cfg_reload(old, &n) != 0)
		return;
	if (sipd_tls_reload(s, n) < 0) { /* the running TLS stays, and so do its files */
		memcpy(n->tls_cert, old->tls_cert, sizeof(n->tls_cert));
		memcpy(n->tls_key, old->tls_key, sizeof(n->tls_key));
		memcpy(n->tls_ca, old->tls_ca, sizeof(n->tls_ca));
		n->tls_verify_client = old->tls_verify_client;
	}
	if (!(grown = realloc(*retired, (*nretired + 1) * sizeof(**retired)))) {
		sipd_cfg_free(n);
		free(n);
		return;
	}
	*retired = grown;
	(*retired)[(*nretired)++] = (struct sipd_cfg *)old;
	sip_log_set_level((enum sip_log_level)n->log_level);
	tsx_layer_set_max(s->tsx, n->max_transactions);
	s->cfg = n;
	sip_log(SIP_LOG_INFO, "reload: configuration read again (%u domain%s, auth %s)",
	        n->ndomains, n->ndomains == 1 ? "" : "s", n->auth ? "on" : "off");
}

int main(int argc, char **argv)
{
	struct sipd_cfg *cfg = malloc(sizeof(*cfg)), **retired = NULL;
	size_t nretired = 0;
	struct sipd s;
	sigset_t set;
	int sig = 0, r;

	if (!cfg)
		return 1;
	if ((r = sipd_cfg_parse(cfg, argc, argv)) != 0 || cfg->check_only) {
		if (r == 0) /* --check-config: the effective configuration */
			sipd_cfg_print(cfg, stdout);
		sipd_cfg_free(cfg);
		free(cfg);
		return r == 1 ? 0 : r;
	}
	sip_log_set_level((enum sip_log_level)cfg->log_level);
	if (cfg->log_syslog)
		sip_log_to_syslog("sipd");
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by the workers */
	if (sipd_init(&s, cfg) < 0 || sipd_start(&s) < 0) {
		sipd_shutdown(&s);
		sipd_cfg_free(cfg);
		free(cfg);
		return 1;
	}
	banner(&s, cfg);
	sigdelset(&set, SIGPIPE);
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		reload(&s, &retired, &nretired);
	sip_log(SIP_LOG_INFO, "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	sipd_shutdown(&s);
	cfg = (struct sipd_cfg *)s.cfg;
	sipd_cfg_free(cfg);
	free(cfg);
	for (size_t i = 0; i < nretired; i++) {
		sipd_cfg_free(retired[i]);
		free(retired[i]);
	}
	free(retired);
	sip_log(SIP_LOG_INFO, "stopped");
	return 0;
}
