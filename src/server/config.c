/*
 * config.c — sipd's command line: listeners, domains, workers, log level,
 * transport limits, the RFC 3261 timers, the location store and the
 * registrar's rules, from the command line and a config file (the file's
 * reading is config_file.c). Every error names the option — or the file,
 * line and key — and exits with status 2.
 */
#include <getopt.h>
#include <stdarg.h>
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
	        "  -l, --listen PROTO:ADDR[:PORT]  listen on udp:, tcp: or tls: (repeatable;\n"
	        "                                  default udp:127.0.0.1:5060 and "
	        "tcp:127.0.0.1:5060)\n"
	        "  -d, --domain NAME               a domain this server is responsible for "
	        "(repeatable)\n"
	        "  -w, --workers N                 worker threads (default: number of cores)\n"
	        "      --log-level LEVEL           error, warn, info (default) or debug\n"
	        "      --log stderr|syslog         where log lines go (default stderr)\n"
	        "      --trace on|off              one log line per message in and out (default "
	        "off)\n"
	        "      --rate-limit N              messages a second from one source address "
	        "(default "
	        "2000;\n"
	        "                                  0: no limit)\n"
	        "      --rate-burst N              of which N at once (default: twice the rate)\n"
	        "      --rate-limit-action reply|drop  over it: 503 + Retry-After (a few a "
	        "second), "
	        "or\n"
	        "                                  silence\n"
	        "      --max-transactions N        live transactions at most; beyond, new requests "
	        "get\n"
	        "                                  503 (default 1000000; 0: no cap)\n"
	        "      --max-msg BYTES             largest message accepted (default 65536)\n"
	        "      --max-conns N               TCP connections in total (default 4096)\n"
	        "      --tcp-idle MS               TCP idle timeout in ms (default 300000)\n"
	        "      --max-conns-per-source N    TCP/TLS connections from one address (default "
	        "64; "
	        "0: any)\n"
	        "      --tcp-msg-timeout MS        a message must arrive whole within MS, or its "
	        "connection\n"
	        "                                  is closed (slow senders; default 20000; 0: "
	        "none)\n"
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
	        "      --dns HOST[:PORT]           the DNS server for RFC 3263 lookups (default: "
	        "the system's)\n"
	        "      --http [ADDR:]PORT          the admin HTTP server: dashboard, /metrics, "
	        "/api\n"
	        "                                  (default off; a port alone is on 127.0.0.1)\n"
	        "      --http-token TOKEN          require Authorization: Bearer TOKEN\n"
	        "      --http-user USER:PASS       require basic authentication (or the "
	        "token)\n"
	        "      --tls-cert FILE             PEM certificate (chain) of the TLS listeners\n"
	        "      --tls-key FILE              its PEM private key (default: in --tls-cert)\n"
	        "      --tls-ca FILE               PEM CAs: verify the servers sipd connects to\n"
	        "                                  (and clients, with --tls-verify-client on)\n"
	        "      --tls-verify-client on|off  require a client certificate signed by "
	        "--tls-ca\n"
	        "                                  (default off)\n"
	        "  -c, --config FILE               read options from FILE (INI; every option above "
	        "is a\n"
	        "                                  key; the command line overrides the file; "
	        "SIGHUP\n"
	        "                                  reads it again)\n"
	        "      --check-config              check the configuration, print it, and exit\n"
	        "  -h, --help                      this text\n"
	        "  -V, --version                   the version\n",
	        prog);
}

/* An error about the option at `where` ("--listen" or "FILE:LINE: listen"):
 * one line on stderr. Returns 2, the exit status of a bad configuration. */
static int bad(const char *where, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sipd: %s: ", where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

/* A decimal option value within [min, max], else an error naming it. */
static int num_opt(const char *where, const char *v, unsigned long min, unsigned long max,
                   unsigned long *out)
{
	char *end;
	unsigned long n;

	n = strtoul(v, &end, 10);
	if (!*v || *end || n < min || n > max || v[0] == '-')
		return bad(where, "'%s' is not a number in %lu..%lu", v, min, max);
	*out = n;
	return 0;
}

static int add_listen(struct sipd_cfg *cfg, const char *spec, const char *where)
{
	struct sipd_listen *l;

	if (cfg->nlisten == SIPD_MAX_LISTEN)
		return bad(where, "at most %d listeners", SIPD_MAX_LISTEN);
	l = &cfg->listen[cfg->nlisten];
	if (strlen(spec) >= sizeof(l->spec) || tp_listen_spec_parse(spec, &l->proto, &l->addr) < 0)
		return bad(
		        where,
		        "'%s' is not PROTO:ADDR[:PORT] (e.g. udp:127.0.0.1:5060, tcp:[::1]:5060, "
		        "tls:127.0.0.1:5061)",
		        spec);
	snprintf(l->spec, sizeof(l->spec), "%s", spec);
	cfg->nlisten++;
	return 0;
}

static int add_domain(struct sipd_cfg *cfg, const char *name, const char *where)
{
	if (cfg->ndomains == SIPD_MAX_DOMAINS || !*name)
		return bad(where, "'%s' refused (empty, or more than %d)", name, SIPD_MAX_DOMAINS);
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
	OPT_HTTP,
	OPT_HTTP_TOKEN,
	OPT_HTTP_USER,
	OPT_CHECK,
	OPT_LOG_TO,
	OPT_TRACE,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_TLS_CA,
	OPT_TLS_VERIFY_CLIENT,
	OPT_RATE,
	OPT_RATE_BURST,
	OPT_RATE_ACTION,
	OPT_MAX_TSX,
	OPT_CONNS_PER_SRC,
	OPT_MSG_TIMEOUT,
};

/* Every option with an argument is also a key of the config file, by the
 * same name (config_file.c looks keys up here). */
static const struct option options[] = {
        {"listen", required_argument, NULL, 'l'},
        {"domain", required_argument, NULL, 'd'},
        {"workers", required_argument, NULL, 'w'},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"log", required_argument, NULL, OPT_LOG_TO},
        {"trace", required_argument, NULL, OPT_TRACE},
        {"rate-limit", required_argument, NULL, OPT_RATE},
        {"rate-burst", required_argument, NULL, OPT_RATE_BURST},
        {"rate-limit-action", required_argument, NULL, OPT_RATE_ACTION},
        {"max-transactions", required_argument, NULL, OPT_MAX_TSX},
        {"max-conns-per-source", required_argument, NULL, OPT_CONNS_PER_SRC},
        {"tcp-msg-timeout", required_argument, NULL, OPT_MSG_TIMEOUT},
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
        {"http", required_argument, NULL, OPT_HTTP},
        {"http-token", required_argument, NULL, OPT_HTTP_TOKEN},
        {"http-user", required_argument, NULL, OPT_HTTP_USER},
        {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
        {"tls-key", required_argument, NULL, OPT_TLS_KEY},
        {"tls-ca", required_argument, NULL, OPT_TLS_CA},
        {"tls-verify-client", required_argument, NULL, OPT_TLS_VERIFY_CLIENT},
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, OPT_CHECK},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
};

/* "on" or "off" into *out. */
static int on_off(const char *where, const char *arg, bool *out)
{
	if (strcmp(arg, "on") && strcmp(arg, "off"))
		return bad(where, "'%s' is not on or off", arg);
	*out = !strcmp(arg, "on");
	return 0;
}

/* A string option into a fixed buffer. */
static int text_opt(const char *where, const char *arg, char *out, size_t cap)
{
	if (!*arg || strlen(arg) >= cap)
		return bad(where, "'%s' is empty or longer than %zu bytes", arg, cap - 1);
	snprintf(out, cap, "%s", arg);
	return 0;
}

/* --http: "PORT" (on loopback: the admin side is never exposed by
 * accident), "ADDR:PORT" or "[V6]:PORT" with the port required. */
static int http_opt(struct sipd_cfg *cfg, const char *arg, const char *where)
{
	char spec[160];
	const char *colon = strrchr(arg, ':');
	size_t n = strspn(arg, "0123456789");

	if (arg[n] == '\0' && n > 0 && n <= 5)
		snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%s", arg);
	else if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
	         strlen(arg) < sizeof(cfg->http) &&
	         (arg[0] == '[' ? colon[-1] == ']' : strchr(arg, ':') == colon))
		snprintf(spec, sizeof(spec), "tcp:%s", arg);
	else
		return bad(where, "'%s' is not [ADDR:]PORT (e.g. 127.0.0.1:8080, [::1]:8080)", arg);
	if (tp_listen_spec_parse(spec, &(enum tp_proto){TP_TCP}, &cfg->http_addr) < 0 ||
	    tp_addr_port(&cfg->http_addr) == 0)
		return bad(where, "'%s' is not [ADDR:]PORT with a numeric address", arg);
	snprintf(cfg->http, sizeof(cfg->http), "%s", arg);
	return 0;
}

/* The numeric options: where each goes and its bounds. */
static int num_field(struct sipd_cfg *cfg, int c, const char *arg, const char *where)
{
	static const struct {
		int c;
		unsigned long min, max;
	} lim[] = {
	        {'w', 1, 256},
	        {OPT_MAX_MSG, 1024, 16u << 20},
	        {OPT_MAX_CONNS, 1, 1u << 20},
	        {OPT_TCP_IDLE, 100, 86400000},
	        {OPT_T1, 10, 60000},
	        {OPT_T2, 10, 600000},
	        {OPT_T4, 10, 600000},
	        {OPT_NONCE_TTL, 5, 86400},
	        {OPT_DEF_EXPIRES, 1, 1u << 30},
	        {OPT_MIN_EXPIRES, 0, 1u << 30},
	        {OPT_MAX_EXPIRES, 1, 1u << 30},
	        /* §16.6 step 11: more than 3 minutes; shorter only for tests. */
	        {OPT_TIMER_C, 1, 86400},
	        {OPT_MAX_CONTACTS, 0, 1024},
	        {OPT_RATE, 0, 10000000},
	        {OPT_RATE_BURST, 0, 100000000},
	        {OPT_MAX_TSX, 0, 100000000},
	        {OPT_CONNS_PER_SRC, 0, 1u << 20},
	        {OPT_MSG_TIMEOUT, 0, 3600000},
	};
	unsigned long n = 0;
	size_t k = 0;

	while (k < sizeof(lim) / sizeof(lim[0]) && lim[k].c != c)
		k++;
	if (k == sizeof(lim) / sizeof(lim[0]))
		return -1; /* not a numeric option */
	if (num_opt(where, arg, lim[k].min, lim[k].max, &n))
		return 2;
	switch (c) {
	case 'w': cfg->tp.workers = (unsigned)n; break;
	case OPT_MAX_MSG: cfg->tp.max_msg = n; break;
	case OPT_MAX_CONNS: cfg->tp.max_conns = (unsigned)n; break;
	case OPT_TCP_IDLE: cfg->tp.idle_ms = (unsigned)n; break;
	case OPT_T1: cfg->tsx.t1_ms = (unsigned)n; break;
	case OPT_T2: cfg->tsx.t2_ms = (unsigned)n; break;
	case OPT_T4: cfg->tsx.t4_ms = (unsigned)n; break;
	case OPT_NONCE_TTL: cfg->nonce_ttl = (unsigned)n; break;
	case OPT_DEF_EXPIRES: cfg->reg.default_expires = (uint32_t)n; break;
	case OPT_MIN_EXPIRES: cfg->reg.min_expires = (uint32_t)n; break;
	case OPT_MAX_EXPIRES: cfg->reg.max_expires = (uint32_t)n; break;
	case OPT_TIMER_C: cfg->timer_c = (unsigned)n; break;
	case OPT_RATE: cfg->rate_limit = (unsigned)n; break;
	case OPT_RATE_BURST: cfg->rate_burst = (unsigned)n; break;
	case OPT_MAX_TSX: cfg->max_transactions = n; break;
	case OPT_CONNS_PER_SRC: cfg->tp.max_conns_per_source = (unsigned)n; break;
	case OPT_MSG_TIMEOUT: cfg->tp.msg_timeout_ms = (unsigned)n; break;
	default: cfg->max_contacts = n; break;
	}
	return 0;
}

/* One option with its argument; `where` names it in errors. Returns 0 or
 * 2 (error printed). */
static int one_opt(struct sipd_cfg *cfg, int c, const char *arg, const char *where)
{
	struct auth_cfg ac;
	int r;

	if ((r = num_field(cfg, c, arg, where)) >= 0)
		return r;
	switch (c) {
	case 'l': return add_listen(cfg, arg, where);
	case 'd': return add_domain(cfg, arg, where);
	case OPT_LOG:
		if ((cfg->log_level = sip_log_level_parse(arg)) < 0)
			return bad(where, "'%s' is not error, warn, info or debug", arg);
		return 0;
	case OPT_LOG_TO:
		if (strcmp(arg, "stderr") && strcmp(arg, "syslog"))
			return bad(where, "'%s' is not stderr or syslog", arg);
		cfg->log_syslog = !strcmp(arg, "syslog");
		return 0;
	case OPT_LOCATION: return text_opt(where, arg, cfg->location, sizeof(cfg->location));
	case OPT_DNS: return text_opt(where, arg, cfg->dns, sizeof(cfg->dns));
	case OPT_HTTP: return http_opt(cfg, arg, where);
	case OPT_HTTP_TOKEN: return text_opt(where, arg, cfg->http_token, sizeof(cfg->http_token));
	case OPT_HTTP_USER:
		if (!strchr(arg, ':') || arg[0] == ':')
			return bad(where, "'%s' is not USER:PASS", arg);
		return text_opt(where, arg, cfg->http_user, sizeof(cfg->http_user));
	case OPT_AUTH: return on_off(where, arg, &cfg->auth);
	case OPT_RECORD_ROUTE: return on_off(where, arg, &cfg->record_route);
	case OPT_TRACE: return on_off(where, arg, &cfg->trace);
	case OPT_TLS_CERT: return text_opt(where, arg, cfg->tls_cert, sizeof(cfg->tls_cert));
	case OPT_TLS_KEY: return text_opt(where, arg, cfg->tls_key, sizeof(cfg->tls_key));
	case OPT_TLS_CA: return text_opt(where, arg, cfg->tls_ca, sizeof(cfg->tls_ca));
	case OPT_TLS_VERIFY_CLIENT: return on_off(where, arg, &cfg->tls_verify_client);
	case OPT_RATE_ACTION:
		if (strcmp(arg, "reply") && strcmp(arg, "drop"))
			return bad(where, "'%s' is not reply or drop", arg);
		cfg->rate_drop = !strcmp(arg, "drop");
		return 0;
	case OPT_AUTH_ALGS:
		if (strlen(arg) >= sizeof(cfg->auth_algs) || auth_algs_parse(&ac, arg) < 0)
			return bad(where,
			           "'%s' is not a list of distinct SHA-256, MD5, SHA-512-256", arg);
		snprintf(cfg->auth_algs, sizeof(cfg->auth_algs), "%s", arg);
		return 0;
	case OPT_MODE:
		if (strcmp(arg, "proxy") && strcmp(arg, "redirect"))
			return bad(where, "'%s' is not proxy or redirect", arg);
		cfg->redirect = !strcmp(arg, "redirect");
		return 0;
	default: return bad(where, "unknown option");
	}
}

int sipd_cfg_key(struct sipd_cfg *cfg, const char *key, const char *value, const char *where)
{
	for (const struct option *o = options; o->name; o++) {
		if (strcmp(o->name, key) != 0)
			continue;
		if (o->has_arg != required_argument || o->val == 'c')
			return bad(where, "not a key of the config file (a command-line switch)");
		return one_opt(cfg, o->val, value, where);
	}
	return bad(where, "unknown key");
}

static void defaults(struct sipd_cfg *cfg)
{
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
	cfg->rate_limit = SIPD_DEFAULT_RATE;
	cfg->max_transactions = SIPD_DEFAULT_MAX_TSX;
	cfg->reg.default_expires = 3600;
	cfg->reg.min_expires = 60;
	cfg->reg.max_expires = 3600;
}

/* A TLS listener serves a certificate; client certificates are checked
 * against a CA file. */
static int check_tls(const struct sipd_cfg *cfg)
{
	bool tls_listener = false;

	for (unsigned i = 0; i < cfg->nlisten; i++)
		tls_listener |= cfg->listen[i].proto == TP_TLS;
	if (tls_listener && !cfg->tls_cert[0]) {
		fprintf(stderr, "sipd: a tls: listener needs --tls-cert (and --tls-key)\n");
		return 2;
	}
	if (cfg->tls_key[0] && !cfg->tls_cert[0]) {
		fprintf(stderr, "sipd: --tls-key without --tls-cert\n");
		return 2;
	}
	if (cfg->tls_verify_client && (!cfg->tls_ca[0] || !tls_listener)) {
		fprintf(stderr,
		        "sipd: --tls-verify-client on needs --tls-ca and a tls: listener\n");
		return 2;
	}
	return 0;
}

/* What the options together must satisfy, after the file and the command
 * line. */
static int check(struct sipd_cfg *cfg)
{
	if (cfg->tsx.t2_ms < cfg->tsx.t1_ms) {
		fprintf(stderr, "sipd: t2 (%u) must not be below t1 (%u)\n", cfg->tsx.t2_ms,
		        cfg->tsx.t1_ms);
		return 2;
	}
	if (cfg->reg.min_expires > cfg->reg.max_expires) {
		fprintf(stderr, "sipd: min-expires (%u) must not exceed max-expires (%u)\n",
		        cfg->reg.min_expires, cfg->reg.max_expires);
		return 2;
	}
	if (cfg->nlisten == 0 && (add_listen(cfg, "udp:127.0.0.1:5060", "listen") ||
	                          add_listen(cfg, "tcp:127.0.0.1:5060", "listen")))
		return 2;
	return check_tls(cfg);
}

/* The switches that decide what happens before the options are applied:
 * -c FILE, --check-config, --help, --version. Unknown options are left to
 * the second pass, which reports them. */
static int first_pass(struct sipd_cfg *cfg, int argc, char **argv)
{
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "l:d:w:c:hV", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (strlen(optarg) >= sizeof(cfg->config_file))
				return bad("--config", "path too long");
			snprintf(cfg->config_file, sizeof(cfg->config_file), "%s", optarg);
			break;
		case OPT_CHECK: cfg->check_only = true; break;
		case 'h': usage(stdout, argv[0]); return 1;
		case 'V': printf("sipd %s\n", SIPD_VERSION); return 1;
		default: break;
		}
	}
	opterr = 1;
	return 0;
}

/* The command line over what the file set: a --listen or --domain given
 * here replaces the file's list instead of adding to it. */
static int command_line(struct sipd_cfg *cfg, int argc, char **argv)
{
	bool listen_seen = false, domain_seen = false;
	char where[64];
	int c, r, idx;

	optind = 1;
	while ((c = getopt_long(argc, argv, "l:d:w:c:hV", options, &idx)) != -1) {
		if (c == 'c' || c == OPT_CHECK)
			continue;
		if (c == '?' || c == ':') {
			usage(stderr, argv[0]);
			return 2;
		}
		if (c == 'l' && !listen_seen) {
			listen_seen = true;
			cfg->nlisten = 0;
		}
		if (c == 'd' && !domain_seen) {
			domain_seen = true;
			sipd_cfg_free(cfg);
		}
		for (const struct option *o = options; o->name; o++)
			if (o->val == c)
				snprintf(where, sizeof(where), "--%s", o->name);
		if ((r = one_opt(cfg, c, optarg, where)) != 0)
			return r;
	}
	if (optind < argc)
		return bad(argv[optind], "unexpected argument (see --help)");
	return 0;
}

int sipd_cfg_parse(struct sipd_cfg *cfg, int argc, char **argv)
{
	int r;

	defaults(cfg);
	cfg->argc = argc;
	cfg->argv = argv;
	if ((r = first_pass(cfg, argc, argv)) != 0)
		return r;
	if (cfg->config_file[0] && (r = sipd_cfg_read_file(cfg, cfg->config_file)) != 0)
		return r;
	if ((r = command_line(cfg, argc, argv)) != 0 || (r = check(cfg)) != 0)
		return r;
	return 0;
}

void sipd_cfg_free(struct sipd_cfg *cfg)
{
	for (unsigned i = 0; i < cfg->ndomains; i++)
		free(cfg->domains[i]);
	cfg->ndomains = 0;
}
