/*
 * cli.c — sipua's options (notes/sipua_cli.md): the command line and the
 * --config FILE of "key = value" lines, which take the same names without
 * the dashes (parsed with inih). One setter serves both, so the file and
 * the command line can never disagree on what an option means; the file
 * is read first and the command line overrides it.
 */
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "libsip/log.h"

void cli_usage(FILE *f)
{
	fprintf(f,
	        "usage: sipua [options] [register | call URI | answer | options URI]\n"
	        "  (no command: interactive, commands on stdin: call URI, answer, hangup,\n"
	        "   hold, resume, dtmf DIGITS, status, quit)\n"
	        "options (also as 'name = value' lines in --config FILE):\n"
	        "  --user SIP-URI --password P --auth-user NAME   identity and digest secret\n"
	        "  --proxy URI              outbound proxy (else RFC 3263 on the target)\n"
	        "  --listen ADDR[:PORT]     local SIP address (alias --local; default 127.0.0.1)\n"
	        "  --rtp-ports LO-HI        RTP port range (default 16384-32767)\n"
	        "  --play FILE [--loop]     WAV to send; --record FILE; --echo\n"
	        "  --duration S             BYE S seconds after answer; register: stay S\n"
	        "  --dtmf DIGITS            RFC 4733 digits 1 s after answer\n"
	        "  --hold-after S --resume-after S   re-INVITE to hold / resume\n"
	        "  --cancel-after MS        CANCEL an unanswered call\n"
	        "  --auto --ring-ms MS --max-calls N --answer-status CODE   for answer\n"
	        "  --calls N                N concurrent calls\n"
	        "  --expires S              registration expiry (default 3600)\n"
	        "  --json                   JSON events on stdout\n"
	        "  --dns HOST[:PORT]        DNS server for RFC 3263 (default: the system's)\n"
	        "  --tls-ca FILE            TLS (sips:, transport=tls): verify servers against\n"
	        "                           these CA certificates; --tls-cert/--tls-key FILE\n"
	        "                           a client certificate\n"
	        "  --t1 MS --t2 MS --log-level LEVEL\n");
}

static const struct option opts[] = {
        {"user", required_argument, NULL, 'L'},
        {"password", required_argument, NULL, 'L'},
        {"auth-user", required_argument, NULL, 'L'},
        {"proxy", required_argument, NULL, 'L'},
        {"listen", required_argument, NULL, 'L'},
        {"local", required_argument, NULL, 'L'},
        {"rtp-ports", required_argument, NULL, 'L'},
        {"play", required_argument, NULL, 'L'},
        {"loop", no_argument, NULL, 'L'},
        {"record", required_argument, NULL, 'L'},
        {"echo", no_argument, NULL, 'L'},
        {"duration", required_argument, NULL, 'L'},
        {"dtmf", required_argument, NULL, 'L'},
        {"hold-after", required_argument, NULL, 'L'},
        {"resume-after", required_argument, NULL, 'L'},
        {"cancel-after", required_argument, NULL, 'L'},
        {"max-calls", required_argument, NULL, 'L'},
        {"calls", required_argument, NULL, 'L'},
        {"ring-ms", required_argument, NULL, 'L'},
        {"expires", required_argument, NULL, 'L'},
        {"answer-status", required_argument, NULL, 'L'},
        {"auto", no_argument, NULL, 'L'},
        {"json", no_argument, NULL, 'L'},
        {"dns", required_argument, NULL, 'L'},
        {"tls-ca", required_argument, NULL, 'L'},
        {"tls-cert", required_argument, NULL, 'L'},
        {"tls-key", required_argument, NULL, 'L'},
        {"t1", required_argument, NULL, 'L'},
        {"t2", required_argument, NULL, 'L'},
        {"log-level", required_argument, NULL, 'L'},
        {"config", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

static int bad(const char *name, const char *v, const char *what)
{
	fprintf(stderr, "sipua: --%s: '%s' is not %s\n", name, v, what);
	return 2;
}

static int uint_opt(const char *name, const char *v, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (!*v || *end || errno || n < lo || n > hi) {
		char what[64];
		snprintf(what, sizeof(what), "a number in %u..%u", lo, hi);
		return bad(name, v, what);
	}
	*out = (unsigned)n;
	return 0;
}

/* Seconds, fractions allowed ("1.5"), into milliseconds. */
static int secs_opt(const char *name, const char *v, unsigned *ms)
{
	char *end;
	double s;

	errno = 0;
	s = strtod(v, &end);
	if (!*v || *end || errno || s < 0 || s > 86400.0 * 365)
		return bad(name, v, "a number of seconds");
	*ms = (unsigned)(s * 1000.0 + 0.5);
	return 0;
}

static int bool_opt(const char *name, const char *v, bool *out)
{
	if (!v || !*v || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1") ||
	    !strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0") || !strcmp(v, "off"))
		*out = false;
	else
		return bad(name, v, "true or false");
	return 0;
}

static int ports_opt(struct sipua_cfg *c, const char *v)
{
	unsigned lo, hi;
	char extra;

	if (sscanf(v, "%u-%u%c", &lo, &hi, &extra) != 2 || lo < 1024 || hi > 65535 || lo >= hi)
		return bad("rtp-ports", v, "LO-HI within 1024-65535");
	c->rtp_lo = (uint16_t)lo;
	c->rtp_hi = (uint16_t)hi;
	return 0;
}

static int level_opt(struct sipua_cfg *c, const char *v)
{
	if ((c->log_level = sip_log_level_parse(v)) < 0)
		return bad("log-level", v, "error, warn, info or debug");
	return 0;
}

/* The options that are strings: where each goes. */
static const char **str_field(struct sipua_cfg *c, const char *n)
{
	static const char *const names[] = {"user",   "password", "auth-user", "proxy", "listen",
	                                    "local",  "play",     "record",    "dtmf",  "dns",
	                                    "tls-ca", "tls-cert", "tls-key"};
	const char **fields[] = {&c->user,   &c->password, &c->auth_user, &c->proxy, &c->listen,
	                         &c->listen, &c->play,     &c->record,    &c->dtmf,  &c->dns,
	                         &c->tls_ca, &c->tls_cert, &c->tls_key};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(n, names[i]))
			return fields[i];
	return NULL;
}

/* Sets option n to v (NULL for a flag given without a value). */
static int set_opt(struct sipua_cfg *c, const char *n, const char *v)
{
	const char **s = str_field(c, n);

	if (s) {
		*s = v;
		return 0;
	}
	if (!strcmp(n, "loop"))
		return bool_opt(n, v, &c->loop);
	if (!strcmp(n, "echo"))
		return bool_opt(n, v, &c->echo);
	if (!strcmp(n, "json"))
		return bool_opt(n, v, &c->json);
	if (!strcmp(n, "auto"))
		return bool_opt(n, v, &c->auto_answer);
	if (!strcmp(n, "rtp-ports"))
		return ports_opt(c, v);
	if (!strcmp(n, "duration"))
		return secs_opt(n, v, &c->duration_ms);
	if (!strcmp(n, "hold-after"))
		return secs_opt(n, v, &c->hold_after_ms);
	if (!strcmp(n, "resume-after"))
		return secs_opt(n, v, &c->resume_after_ms);
	if (!strcmp(n, "cancel-after"))
		return uint_opt(n, v, 1, 86400000, &c->cancel_after_ms);
	if (!strcmp(n, "ring-ms"))
		return uint_opt(n, v, 0, 600000, &c->ring_ms);
	if (!strcmp(n, "max-calls"))
		return uint_opt(n, v, 1, 10000000, &c->max_calls);
	if (!strcmp(n, "calls"))
		return uint_opt(n, v, 1, 100000, &c->calls);
	if (!strcmp(n, "expires"))
		return uint_opt(n, v, 0, 1u << 31, &c->expires);
	if (!strcmp(n, "answer-status"))
		return uint_opt(n, v, 300, 699, &c->answer_status);
	if (!strcmp(n, "t1"))
		return uint_opt(n, v, 1, 600000, &c->tsx.t1_ms);
	if (!strcmp(n, "t2"))
		return uint_opt(n, v, 1, 600000, &c->tsx.t2_ms);
	if (!strcmp(n, "log-level"))
		return level_opt(c, v);
	if (!strcmp(n, "config"))
		return 0; /* read before everything else */
	fprintf(stderr, "sipua: unknown option '%s'\n", n);
	return 2;
}

/* inih hands values over only during its callback: each kept value is
 * copied into a list the configuration owns (cli_free frees it). */
static const char *keep(struct sipua_cfg *c, const char *v)
{
	char **grown, *dup;

	if (!(dup = strdup(v)))
		return NULL;
	if (!(grown = realloc(c->owned, (c->nowned + 1) * sizeof(*grown)))) {
		free(dup);
		return NULL;
	}
	c->owned = grown;
	c->owned[c->nowned++] = dup;
	return dup;
}

struct file_ctx {
	struct sipua_cfg *cfg;
	char bad_key[64]; /* the first key refused, for the file:line message */
};

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct file_ctx *f = user;
	const char *v;

	if (f->bad_key[0])
		return 1; /* report the first error only */
	snprintf(f->bad_key, sizeof(f->bad_key), "%s", name);
	if (*section && strcmp(section, "sipua") != 0) {
		fprintf(stderr, "sipua: unknown section [%s]\n", section);
		return 0;
	}
	if (!(v = keep(f->cfg, value)) || set_opt(f->cfg, name, v) != 0)
		return 0;
	f->bad_key[0] = '\0';
	return 1;
}

/* "key = value" lines at the top or under [sipua] (inih syntax: ; and #
 * comments); an unknown key or a bad value is an error naming
 * file:line:key. */
static int apply_file(struct sipua_cfg *c, const char *path)
{
	struct file_ctx f = {.cfg = c};
	int line = ini_parse(path, on_ini, &f);

	if (line == 0)
		return 0;
	if (line < 0)
		fprintf(stderr, "sipua: --config %s: %s\n", path,
		        line == -1 ? "cannot open it" : "out of memory");
	else if (!f.bad_key[0])
		fprintf(stderr, "sipua: %s:%d: not a 'key = value' line\n", path, line);
	else
		fprintf(stderr, "sipua: %s:%d:%s: refused (see above)\n", path, line, f.bad_key);
	return 2;
}

static const char *find_config(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			return argv[i + 1];
		if (!strncmp(argv[i], "--config=", 9))
			return argv[i] + 9;
	}
	return NULL;
}

static int check_command(struct sipua_cfg *c, int nargs, char **args)
{
	static const char *const cmds[] = {"register", "call", "answer", "options"};
	static const int want[] = {0, 1, 0, 1};

	if (nargs == 0)
		return 0; /* interactive */
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(args[0], cmds[i]) != 0)
			continue;
		if (nargs - 1 != want[i]) {
			fprintf(stderr, "sipua: %s takes %s\n", cmds[i],
			        want[i] ? "a URI" : "no argument");
			return 2;
		}
		c->cmd = cmds[i];
		c->target = want[i] ? args[1] : NULL;
		return 0;
	}
	fprintf(stderr, "sipua: unknown command '%s'\n", args[0]);
	return 2;
}

int cli_parse(struct sipua_cfg *c, int argc, char **argv)
{
	const char *file = find_config(argc, argv);
	int ch, idx, rc;

	memset(c, 0, sizeof(*c));
	c->listen = "127.0.0.1";
	c->rtp_lo = 16384;
	c->rtp_hi = 32767;
	c->expires = 3600;
	c->calls = 1;
	c->log_level = SIP_LOG_WARN;
	tsx_cfg_default(&c->tsx);
	if (file && (rc = apply_file(c, file)))
		return rc;
	while ((ch = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		if (ch == 'h')
			return 3;
		if (ch != 'L')
			return 2;
		if ((rc = set_opt(c, opts[idx].name, optarg)))
			return rc;
	}
	return check_command(c, argc - optind, argv + optind);
}

void cli_free(struct sipua_cfg *c)
{
	for (size_t i = 0; i < c->nowned; i++)
		free(c->owned[i]);
	free(c->owned);
	c->owned = NULL;
	c->nowned = 0;
}
