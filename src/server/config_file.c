/*
 * config_file.c — sipd's INI config file, read with inih: every long
 * option with an argument is a key of the same name; writing the
 * effective configuration back out (--check-config); and reading it all
 * again on SIGHUP, keeping what only a restart can change.
 */
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "libsip/log.h"

struct reader {
	FILE *f;
	const char *path;
	unsigned line;    /* of the line inih handles now */
	bool too_long;    /* a line did not fit inih's buffer */
	unsigned errors;  /* reported by the handler */
	unsigned long_at; /* the first overlong line */
};

/* inih reads through this to let errors name their line: it asks for one
 * line at a time. A line longer than its buffer would arrive in pieces
 * that inih takes for lines of their own, so it is refused instead. */
static char *read_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	size_t n;

	if (!fgets(str, num, r->f))
		return NULL;
	r->line++;
	n = strlen(str);
	if (n == (size_t)num - 1 && str[n - 1] != '\n' && !feof(r->f)) {
		int c;
		while ((c = fgetc(r->f)) != EOF && c != '\n')
			; /* skip the rest: the line is an error as a whole */
		if (!r->too_long)
			r->long_at = r->line;
		r->too_long = true;
		str[0] = '\0';
	}
	return str;
}

struct file_ctx {
	struct reader rd;
	struct sipd_cfg *cfg;
};

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct file_ctx *x = user;
	char where[640];

	snprintf(where, sizeof(where), "%s:%u: %s", x->rd.path, x->rd.line, name);
	if (section[0] && strcmp(section, "sipd") != 0) {
		fprintf(stderr, "sipd: %s: in section [%s]: sipd reads only [sipd] or none\n",
		        where, section);
		x->rd.errors++;
		return 1; /* reported here: inih need not count it again */
	}
	if (sipd_cfg_key(x->cfg, name, value, where) != 0)
		x->rd.errors++;
	return 1;
}

int sipd_cfg_read_file(struct sipd_cfg *cfg, const char *path)
{
	struct file_ctx x = {.rd = {.path = path}, .cfg = cfg};
	int r;

	if (!(x.rd.f = fopen(path, "r"))) {
		fprintf(stderr, "sipd: %s: cannot open: %m\n", path);
		return 2;
	}
	r = ini_parse_stream(read_line, &x.rd, on_key, &x);
	fclose(x.rd.f);
	if (x.rd.too_long)
		fprintf(stderr, "sipd: %s:%u: line longer than %d bytes\n", path, x.rd.long_at,
		        INI_MAX_LINE - 2);
	/* r > 0 is the first line inih could not parse (no '=', an unclosed
	 * section): the handler never saw it. */
	if (r > 0)
		fprintf(stderr, "sipd: %s:%d: not 'key = value', '[section]' or a comment\n", path,
		        r);
	else if (r < 0)
		fprintf(stderr, "sipd: %s: cannot read\n", path);
	return r != 0 || x.rd.errors || x.rd.too_long ? 2 : 0;
}

static const char *on_off(bool b)
{
	return b ? "on" : "off";
}

void sipd_cfg_print(const struct sipd_cfg *cfg, FILE *f)
{
	static const char *const levels[] = {"error", "warn", "info", "debug"};

	fprintf(f, "[sipd]\n");
	for (unsigned i = 0; i < cfg->nlisten; i++)
		fprintf(f, "listen = %s\n", cfg->listen[i].spec);
	for (unsigned i = 0; i < cfg->ndomains; i++)
		fprintf(f, "domain = %s\n", cfg->domains[i]);
	if (cfg->tp.workers)
		fprintf(f, "workers = %u\n", cfg->tp.workers);
	if (cfg->log_level >= 0 && cfg->log_level < 4)
		fprintf(f, "log-level = %s\n", levels[cfg->log_level]);
	fprintf(f, "log = %s\ntrace = %s\n", cfg->log_syslog ? "syslog" : "stderr",
	        on_off(cfg->trace));
	fprintf(f, "max-msg = %zu\nmax-conns = %u\ntcp-idle = %u\n", cfg->tp.max_msg,
	        cfg->tp.max_conns, cfg->tp.idle_ms);
	fprintf(f, "max-conns-per-source = %u\ntcp-msg-timeout = %u\n",
	        cfg->tp.max_conns_per_source, cfg->tp.msg_timeout_ms);
	fprintf(f, "t1 = %u\nt2 = %u\nt4 = %u\n", cfg->tsx.t1_ms, cfg->tsx.t2_ms, cfg->tsx.t4_ms);
	fprintf(f, "location = %s\n", cfg->location);
	fprintf(f, "auth = %s\nauth-algorithms = %s\nnonce-ttl = %u\n", on_off(cfg->auth),
	        cfg->auth_algs, cfg->nonce_ttl);
	fprintf(f, "default-expires = %u\nmin-expires = %u\nmax-expires = %u\n",
	        cfg->reg.default_expires, cfg->reg.min_expires, cfg->reg.max_expires);
	fprintf(f, "max-contacts = %zu\nrecord-route = %s\nmode = %s\ntimer-c = %u\n",
	        cfg->max_contacts, on_off(cfg->record_route), cfg->redirect ? "redirect" : "proxy",
	        cfg->timer_c);
	if (cfg->dns[0])
		fprintf(f, "dns = %s\n", cfg->dns);
	fprintf(f, "rate-limit = %u\nrate-burst = %u\nrate-limit-action = %s\n", cfg->rate_limit,
	        cfg->rate_burst, cfg->rate_drop ? "drop" : "reply");
	fprintf(f, "max-transactions = %zu\n", cfg->max_transactions);
	if (cfg->http[0])
		fprintf(f, "http = %s\n", cfg->http);
	if (cfg->http_token[0])
		fprintf(f, "http-token = %s\n", cfg->http_token);
	if (cfg->http_user[0])
		fprintf(f, "http-user = %s\n", cfg->http_user);
	if (cfg->tls_cert[0])
		fprintf(f, "tls-cert = %s\n", cfg->tls_cert);
	if (cfg->tls_key[0])
		fprintf(f, "tls-key = %s\n", cfg->tls_key);
	if (cfg->tls_ca[0])
		fprintf(f, "tls-ca = %s\n", cfg->tls_ca);
	fprintf(f, "tls-verify-client = %s\n", on_off(cfg->tls_verify_client));
}

static bool same_listeners(const struct sipd_cfg *a, const struct sipd_cfg *b)
{
	if (a->nlisten != b->nlisten)
		return false;
	for (unsigned i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i].spec, b->listen[i].spec) != 0)
			return false;
	return true;
}

/* Puts back, from old, each setting a running server cannot change,
 * logging the ones the file changed. */
static void keep_fixed(const struct sipd_cfg *old, struct sipd_cfg *n)
{
#define KEEP(cond, what, assign)                                                                   \
	do {                                                                                       \
		if (cond) {                                                                        \
			sip_log(SIP_LOG_WARN, "reload: %s changed: takes effect at restart",       \
			        what);                                                             \
			assign;                                                                    \
		}                                                                                  \
	} while (0)
	KEEP(!same_listeners(old, n), "listen",
	     (memcpy(n->listen, old->listen, sizeof(n->listen)), n->nlisten = old->nlisten));
	KEEP(memcmp(&old->tp, &n->tp, sizeof(n->tp)) != 0, "workers/max-msg/max-conns/tcp-idle",
	     n->tp = old->tp);
	KEEP(memcmp(&old->tsx, &n->tsx, sizeof(n->tsx)) != 0, "t1/t2/t4", n->tsx = old->tsx);
	KEEP(strcmp(old->location, n->location) != 0, "location",
	     memcpy(n->location, old->location, sizeof(n->location)));
	KEEP(strcmp(old->dns, n->dns) != 0, "dns", memcpy(n->dns, old->dns, sizeof(n->dns)));
	/* The token and the basic credentials are read per request: they
	 * change on reload; the listening socket does not. */
	KEEP(strcmp(old->http, n->http) != 0, "http",
	     (memcpy(n->http, old->http, sizeof(n->http)), n->http_addr = old->http_addr));
	KEEP(strcmp(old->auth_algs, n->auth_algs) != 0, "auth-algorithms",
	     memcpy(n->auth_algs, old->auth_algs, sizeof(n->auth_algs)));
	KEEP(old->nonce_ttl != n->nonce_ttl, "nonce-ttl", n->nonce_ttl = old->nonce_ttl);
	KEEP(old->log_syslog != n->log_syslog, "log", n->log_syslog = old->log_syslog);
	KEEP(old->max_contacts != n->max_contacts, "max-contacts",
	     n->max_contacts = old->max_contacts);
	/* TLS files are read again on SIGHUP (main.c), but TLS itself is set
	 * up at start only. */
	KEEP(!old->tls_cert[0] && !old->tls_ca[0] && (n->tls_cert[0] || n->tls_ca[0]),
	     "tls-cert/tls-ca (TLS off until now)",
	     (n->tls_cert[0] = n->tls_key[0] = n->tls_ca[0] = '\0', n->tls_verify_client = false));
#undef KEEP
}

int sipd_cfg_reload(const struct sipd_cfg *old, struct sipd_cfg **out)
{
	struct sipd_cfg *n = malloc(sizeof(*n));
	int r;

	if (!n)
		return 2;
	if ((r = sipd_cfg_parse(n, old->argc, old->argv)) != 0) {
		sipd_cfg_free(n);
		free(n);
		sip_log(SIP_LOG_ERROR,
		        "reload: %s has errors (above): the running "
		        "configuration stays",
		        old->config_file[0] ? old->config_file : "the command line");
		return 2;
	}
	keep_fixed(old, n);
	*out = n;
	return 0;
}
