/*
 * main.c — the sipua program: options, then the command.
 *
 *   sipua [--local ADDR[:PORT]] [--t1 MS] [--t2 MS] options URI
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libsip/log.h"
#include "sipua.h"
#include "ua.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: sipua [options] COMMAND\n"
	           "commands:\n"
	           "  options URI               ask URI what it supports (exit 0 on 2xx)\n"
	           "options:\n"
	           "  --local ADDR[:PORT]       local address (default 127.0.0.1, any port)\n"
	           "  --t1 MS --t2 MS           RFC 3261 timers (default 500, 4000)\n"
	           "  --log-level LEVEL         error, warn (default), info or debug\n");
}

static int num(const char *name, const char *v, unsigned *out)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (!*v || *end || n < 1 || n > 600000) {
		fprintf(stderr, "sipua: --%s: '%s' is not a number in 1..600000\n", name, v);
		return 2;
	}
	*out = (unsigned)n;
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_LOCAL = 256, OPT_T1, OPT_T2, OPT_LOG };
	static const struct option opts[] = {
	        {"local", required_argument, NULL, OPT_LOCAL},
	        {"t1", required_argument, NULL, OPT_T1},
	        {"t2", required_argument, NULL, OPT_T2},
	        {"log-level", required_argument, NULL, OPT_LOG},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct ua_cfg cfg = {.local = "127.0.0.1"};
	struct ua ua;
	sigset_t set;
	int c, rc, level = SIP_LOG_WARN;

	tsx_cfg_default(&cfg.tsx);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_LOCAL: cfg.local = optarg; break;
		case OPT_T1:
			if (num("t1", optarg, &cfg.tsx.t1_ms))
				return 2;
			break;
		case OPT_T2:
			if (num("t2", optarg, &cfg.tsx.t2_ms))
				return 2;
			break;
		case OPT_LOG:
			if ((level = sip_log_level_parse(optarg)) < 0) {
				fprintf(stderr, "sipua: --log-level: '%s' is unknown\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind];
	if (strcmp(cmd, "options") != 0 || argc - optind != 2) {
		fprintf(stderr, "sipua: unknown command or arguments: %s\n", cmd);
		usage(stderr);
		return 2;
	}
	sip_log_set_level((enum sip_log_level)level);
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (ua_start(&ua, &cfg) < 0) {
		fprintf(stderr, "sipua: cannot start on %s\n", cfg.local);
		ua_stop(&ua);
		return 1;
	}
	rc = sipua_options(&ua, argv[optind + 1]);
	ua_stop(&ua);
	return rc;
}
