/*
 * main.c — the sipd program: parse the command line, print a start-up
 * banner (version, sockets, workers), serve until SIGINT or SIGTERM, then
 * stop cleanly.
 *
 * Signals are blocked in every thread and taken synchronously here with
 * sigwait, so no work ever runs inside a signal handler.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
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

int main(int argc, char **argv)
{
	struct sipd_cfg cfg;
	struct sipd s;
	sigset_t set;
	int sig = 0, r;

	if ((r = sipd_cfg_parse(&cfg, argc, argv)) != 0)
		return r == 1 ? 0 : 2;
	sip_log_set_level((enum sip_log_level)cfg.log_level);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by the workers */
	if (sipd_init(&s, &cfg) < 0 || sipd_start(&s) < 0) {
		sipd_shutdown(&s);
		sipd_cfg_free(&cfg);
		return 1;
	}
	banner(&s, &cfg);
	sigdelset(&set, SIGPIPE);
	sigwait(&set, &sig);
	sip_log(SIP_LOG_INFO, "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	sipd_shutdown(&s);
	sipd_cfg_free(&cfg);
	sip_log(SIP_LOG_INFO, "stopped");
	return 0;
}
