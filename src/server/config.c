/*
 * config.c — sipd's command line: listeners, domains, workers, log level,
 * transport limits, the RFC 3261 timers, the location store and the
 * registrar's rules. Every error names the option
 * and exits with status 2.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "libsip/log.h"

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
	        "usage: %s [options]\n"
	        "  -l, --listen PROTO:ADDR[:PORT]  listen on udp: or tcp: (repeatable;\n"
	        "                                  default udp:127.0.0.1:5060 and "
	        "tcp:127.0.0.1:5060)\n"
	        "  -d, --domain NAME               a domain this server is responsible for "
	        "(repeatable)\n"
	        "  -w, --workers N                 worker threads (default: number of cores)\n"
	        "      --log-level LEVEL           error, warn, info (default) or debug\n"
	        "      --max-msg BYTES             largest message accepted (default 65536)\n"
	        "      --max-conns N               TCP connections in total (default 4096)\n"
	        "      --tcp-idle MS               TCP idle timeout in ms (default 300000)\n"
	        "      --t1 MS --t2 MS --t4 MS     RFC 3261 timers (default 500, 4000, 5000)\n"
	        "      --location DSN              bindings and users: sqlite:PATH, memory: or\n"
	        "                                  redis://HOST:PORT[/DB] "
	        "(default " SIPD_DEFAULT_LOCATION ")\n"
	        "      --auth on|off               digest authentication of REGISTER (default on)\n"
	        "      --auth-algorithms LIST      challenge for these, in order (default "
	        "SHA-256,MD5;\n"
	        "                                  MD5 alone for UAs that give up on SHA-256)\n"
	        "      --nonce-ttl S               seconds a digest nonce stays valid (default "
	        "300)\n"
	        "      --default-expires S         binding lifetime without expires (default "
	        "3600)\n"
	        "      --min-expires S             shorter ones get 423 (default 60)\n"
	        "      --max-expires S             longer ones are lowered (default 3600)\n"
	        "      --max-contacts N            bindings per address-of-record (default 16)\n"
	        "      --record-route on|off       stay in the path of dialogs (default on)\n"
	        "      --mode proxy|redirect       route calls, or answer 302 with the bindings\n"
	        "                                  (default proxy)\n"
	        "      --timer-c S                 an INVITE branch may ring this long (default "
	        "181)\n"
	        "  -h, --help                      this text\n"
	        "  -V, --version                   the version\n",
	        prog);
}

/* A decimal option value within [min, max], else an error naming it. */
static int num_opt(const char *name, const char *v, unsigned long min, unsigned long max,
                   unsigned long *out)
{
	char *end;
	unsigned long n;

	n = strtoul(v, &end, 10);
	if (!*v || *end || n < min || n > max || v[0] == '-') {
		fprintf(stderr, "sipd: --%s: '%s' is not a number in %lu..%lu\n", name, v, min,
		        max);
		return 2;
	}
	*out = n;
	return 0;
}

static int add_listen(struct sipd_cfg *cfg, const char *spec)
{
	struct sipd_listen *l;

	if (cfg->nlisten == SIPD_MAX_LISTEN) {
		fprintf(stderr, "sipd: --listen: at most %d listeners\n", SIPD_MAX_LISTEN);
		return 2;
	}
	l = &cfg->listen[cfg->nlisten];
	if (tp_listen_spec_parse(spec, &l->proto, &l->addr) < 0) {
		fprintf(stderr,
		        "sipd: --listen: '%s' is not PROTO:ADDR[:PORT] "
		        "(e.g. udp:127.0.0.1:5060, tcp:[::1]:5060)\n",
		        spec);
		return 2;
	}
	snprintf(l->spec, sizeof(l->spec), "%s", spec);
	cfg->nlisten++;
	return 0;
}

static int add_domain(struct sipd_cfg *cfg, const char *name)
{
	if (cfg->ndomains == SIPD_MAX_DOMAINS || !*name) {
		fprintf(stderr, "sipd: --domain: '%s' refused (empty, or more than %d)\n", name,
		        SIPD_MAX_DOMAINS);
		return 2;
	}
	if (!(cfg->domains[cfg->ndomains] = strdup(name)))
		return 2;
	cfg->ndomains++;
	return 0;
}

enum {
	OPT_LOG = 256,
	OPT_MAX_MSG,
	OPT_MAX_CONNS,
	OPT_TCP_IDLE,
	OPT_T1,
	OPT_T2,
	OPT_T4,
	OPT_LOCATION,
	OPT_AUTH,
	OPT_NONCE_TTL,
	OPT_AUTH_ALGS,
	OPT_DEF_EXPIRES,
	OPT_MIN_EXPIRES,
	OPT_MAX_EXPIRES,
	OPT_MAX_CONTACTS,
	OPT_RECORD_ROUTE,
	OPT_MODE,
	OPT_TIMER_C,
	OPT_DNS,
};

static const struct option options[] = {
        {"listen", required_argument, NULL, 'l'},
        {"domain", required_argument, NULL, 'd'},
        {"workers", required_argument, NULL, 'w'},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"max-msg", required_argument, NULL, OPT_MAX_MSG},
        {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
        {"tcp-idle", required_argument, NULL, OPT_TCP_IDLE},
        {"t1", required_argument, NULL, OPT_T1},
        {"t2", required_argument, NULL, OPT_T2},
        {"t4", required_argument, NULL, OPT_T4},
        {"location", required_argument, NULL, OPT_LOCATION},
        {"auth", required_argument, NULL, OPT_AUTH},
        {"nonce-ttl", required_argument, NULL, OPT_NONCE_TTL},
        {"auth-algorithms", required_argument, NULL, OPT_AUTH_ALGS},
        {"default-expires", required_argument, NULL, OPT_DEF_EXPIRES},
        {"min-expires", required_argument, NULL, OPT_MIN_EXPIRES},
        {"max-expires", required_argument, NULL, OPT_MAX_EXPIRES},
        {"max-contacts", required_argument, NULL, OPT_MAX_CONTACTS},
        {"record-route", required_argument, NULL, OPT_RECORD_ROUTE},
        {"mode", required_argument, NULL, OPT_MODE},
        {"timer-c", required_argument, NULL, OPT_TIMER_C},
        {"dns", required_argument, NULL, OPT_DNS},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
};

/* One option; returns 0, 1 (printed help/version) or 2 (error). */
static int one_opt(struct sipd_cfg *cfg, int c, const char *arg, const char *prog)
{
	unsigned long n;
	int r = 0;

	switch (c) {
	case 'l': return add_listen(cfg, arg);
	case 'd': return add_domain(cfg, arg);
	case 'w':
		if (!(r = num_opt("workers", arg, 1, 256, &n)))
			cfg->tp.workers = (unsigned)n;
		return r;
	case OPT_LOG:
		if ((cfg->log_level = sip_log_level_parse(arg)) < 0) {
			fprintf(stderr,
			        "sipd: --log-level: '%s' is not error, warn, info or debug\n", arg);
			return 2;
		}
		return 0;
	case OPT_MAX_MSG:
		if (!(r = num_opt("max-msg", arg, 1024, 16u << 20, &n)))
			cfg->tp.max_msg = n;
		return r;
	case OPT_MAX_CONNS:
		if (!(r = num_opt("max-conns", arg, 1, 1u << 20, &n)))
			cfg->tp.max_conns = (unsigned)n;
		return r;
	case OPT_TCP_IDLE:
		if (!(r = num_opt("tcp-idle", arg, 100, 86400000, &n)))
			cfg->tp.idle_ms = (unsigned)n;
		return r;
	case OPT_T1:
		if (!(r = num_opt("t1", arg, 10, 60000, &n)))
			cfg->tsx.t1_ms = (unsigned)n;
		return r;
	case OPT_T2:
		if (!(r = num_opt("t2", arg, 10, 600000, &n)))
			cfg->tsx.t2_ms = (unsigned)n;
		return r;
	case OPT_T4:
		if (!(r = num_opt("t4", arg, 10, 600000, &n)))
			cfg->tsx.t4_ms = (unsigned)n;
		return r;
	case OPT_LOCATION:
		if (strlen(arg) >= sizeof(cfg->location)) {
			fprintf(stderr, "sipd: --location: too long\n");
			return 2;
		}
		snprintf(cfg->location, sizeof(cfg->location), "%s", arg);
		return 0;
	case OPT_AUTH:
		if (strcmp(arg, "on") && strcmp(arg, "off")) {
			fprintf(stderr, "sipd: --auth: '%s' is not on or off\n", arg);
			return 2;
		}
		cfg->auth = !strcmp(arg, "on");
		return 0;
	case OPT_AUTH_ALGS: {
		struct auth_cfg ac;
		if (strlen(arg) >= sizeof(cfg->auth_algs) || auth_algs_parse(&ac, arg) < 0) {
			fprintf(stderr,
			        "sipd: --auth-algorithms: '%s' is not a list of distinct SHA-256, "
			        "MD5, SHA-512-256\n",
			        arg);
			return 2;
		}
		snprintf(cfg->auth_algs, sizeof(cfg->auth_algs), "%s", arg);
		return 0;
	}
	case OPT_NONCE_TTL:
		if (!(r = num_opt("nonce-ttl", arg, 5, 86400, &n)))
			cfg->nonce_ttl = (unsigned)n;
		return r;
	case OPT_DEF_EXPIRES:
		if (!(r = num_opt("default-expires", arg, 1, 1u << 30, &n)))
			cfg->reg.default_expires = (uint32_t)n;
		return r;
	case OPT_MIN_EXPIRES:
		if (!(r = num_opt("min-expires", arg, 0, 1u << 30, &n)))
			cfg->reg.min_expires = (uint32_t)n;
		return r;
	case OPT_MAX_EXPIRES:
		if (!(r = num_opt("max-expires", arg, 1, 1u << 30, &n)))
			cfg->reg.max_expires = (uint32_t)n;
		return r;
	case OPT_DNS:
		if (strlen(arg) >= sizeof(cfg->dns) || !*arg) {
			fprintf(stderr, "sipd: --dns: '%s' is not HOST[:PORT]\n", arg);
			return 2;
		}
		snprintf(cfg->dns, sizeof(cfg->dns), "%s", arg);
		return 0;
	case OPT_TIMER_C:
		/* §16.6 step 11: more than 3 minutes; shorter only for tests. */
		if (!(r = num_opt("timer-c", arg, 1, 86400, &n)))
			cfg->timer_c = (unsigned)n;
		return r;
	case OPT_MODE:
		if (strcmp(arg, "proxy") && strcmp(arg, "redirect")) {
			fprintf(stderr, "sipd: --mode: '%s' is not proxy or redirect\n", arg);
			return 2;
		}
		cfg->redirect = !strcmp(arg, "redirect");
		return 0;
	case OPT_RECORD_ROUTE:
		if (strcmp(arg, "on") && strcmp(arg, "off")) {
			fprintf(stderr, "sipd: --record-route: '%s' is not on or off\n", arg);
			return 2;
		}
		cfg->record_route = !strcmp(arg, "on");
		return 0;
	case OPT_MAX_CONTACTS:
		if (!(r = num_opt("max-contacts", arg, 0, 1024, &n)))
			cfg->max_contacts = n;
		return r;
	case 'h': usage(stdout, prog); return 1;
	case 'V': printf("sipd %s\n", SIPD_VERSION); return 1;
	default: usage(stderr, prog); return 2;
	}
}

int sipd_cfg_parse(struct sipd_cfg *cfg, int argc, char **argv)
{
	int c, r;

	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = SIP_LOG_INFO;
	tp_cfg_default(&cfg->tp);
	tsx_cfg_default(&cfg->tsx);
	snprintf(cfg->location, sizeof(cfg->location), "%s", SIPD_DEFAULT_LOCATION);
	cfg->auth = true;
	cfg->nonce_ttl = 300;
	snprintf(cfg->auth_algs, sizeof(cfg->auth_algs), "SHA-256,MD5");
	cfg->max_contacts = 16;
	cfg->record_route = true;
	cfg->timer_c = 181;
	cfg->reg.default_expires = 3600;
	cfg->reg.min_expires = 60;
	cfg->reg.max_expires = 3600;
	optind = 1;
	while ((c = getopt_long(argc, argv, "l:d:w:hV", options, NULL)) != -1)
		if ((r = one_opt(cfg, c, optarg, argv[0])) != 0)
			return r;
	if (optind < argc) {
		fprintf(stderr, "sipd: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	if (cfg->tsx.t2_ms < cfg->tsx.t1_ms) {
		fprintf(stderr, "sipd: --t2 (%u) must not be below --t1 (%u)\n", cfg->tsx.t2_ms,
		        cfg->tsx.t1_ms);
		return 2;
	}
	if (cfg->reg.min_expires > cfg->reg.max_expires) {
		fprintf(stderr, "sipd: --min-expires (%u) must not exceed --max-expires (%u)\n",
		        cfg->reg.min_expires, cfg->reg.max_expires);
		return 2;
	}
	if (cfg->nlisten == 0 &&
	    (add_listen(cfg, "udp:127.0.0.1:5060") || add_listen(cfg, "tcp:127.0.0.1:5060")))
		return 2;
	return 0;
}

void sipd_cfg_free(struct sipd_cfg *cfg)
{
	for (unsigned i = 0; i < cfg->ndomains; i++)
		free(cfg->domains[i]);
	cfg->ndomains = 0;
}
