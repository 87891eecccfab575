/*
 * sipctl — sipd's administration tool: users (credentials stored as HA1
 * per digest algorithm, never the password), registrations, calls,
 * counters and call traces. Through sipd's admin HTTP API when it has one
 * (--http, or `http` in the config file given with -c), else straight on
 * the same location store as sipd (--location DSN; users and
 * registrations only).
 *
 *   sipctl [-c FILE] [--location DSN] [--http ADDR:PORT] COMMAND ...
 *
 * Exit status: 0 done, 1 failed (not found, store or API error), 2 usage.
 */
#include <ctype.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "libsip/digest.h"
#include "libsip/log.h"
#include "libsip/uri.h"
#include "ctl.h"
#include "location/location.h"
#include "server/config.h"

#define NAME_MAX_LEN 256
#define PASS_MAX 256

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: sipctl [options] COMMAND\n"
	        "  user add USER@DOMAIN        add a user (password from stdin or asked for)\n"
	        "  user passwd USER@DOMAIN     change a user's password\n"
	        "  user del USER@DOMAIN        delete a user\n"
	        "  user list                   list users\n"
	        "  reg list [AOR]              bindings with their remaining time\n"
	        "  reg remove AOR [CONTACT]    remove an AOR's bindings (or the one to CONTACT)\n"
	        "  calls [--active]            recent and active calls          (API only)\n"
	        "  stats                       sipd's counters                  (API only)\n"
	        "  trace AOR                   messages of AOR's recent calls   (API only)\n"
	        "options:\n"
	        "  -c, --config FILE     sipd's config file: its location, http, http-token,\n"
	        "                        http-user (the options below override it)\n"
	        "  --location DSN        the store: sqlite:PATH, memory: or\n"
	        "                        redis://HOST:PORT[/DB] (default " SIPD_DEFAULT_LOCATION
	        ")\n"
	        "  --http [ADDR:]PORT    sipd's admin API (as its --http; or a URL): used for\n"
	        "                        every command when given\n"
	        "  --token TOKEN         the API's bearer token (sipd --http-token)\n"
	        "  --http-user USER:PASS the API's basic credentials (sipd --http-user)\n");
}

/* ---- waiting for an asynchronous store call ------------------------------------ */

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int err;
	void *ctx;
};

static void waiter_init(struct waiter *w, void *ctx)
{
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->done = false;
	w->err = 0;
	w->ctx = ctx;
}

static void waiter_signal(struct waiter *w, int err)
{
	pthread_mutex_lock(&w->mu);
	w->err = err;
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static int waiter_wait(struct waiter *w)
{
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	return w->err;
}

/* ---- users -------------------------------------------------------------------------- */

/* "alice@Example.com" → user "alice", domain "example.com" (domains are
 * case-insensitive; the realm is the lower-cased domain, as sipd uses). */
static int split_user(const char *arg, char *user, char *domain)
{
	const char *at = strrchr(arg, '@');

	if (!strncmp(arg, "sip:", 4))
		arg += 4;
	if (!at || at == arg || !at[1] || (size_t)(at - arg) >= NAME_MAX_LEN ||
	    strlen(at + 1) >= NAME_MAX_LEN) {
		fprintf(stderr, "sipctl: '%s' is not USER@DOMAIN\n", arg);
		return 2;
	}
	memcpy(user, arg, (size_t)(at - arg));
	user[at - arg] = '\0';
	for (size_t i = 0; at[1 + i]; i++)
		domain[i] = (char)tolower((unsigned char)at[1 + i]), domain[i + 1] = '\0';
	return 0;
}

int ctl_read_password(char *out, size_t cap)
{
	bool tty = isatty(STDIN_FILENO);
	struct termios old, quiet;
	char again[PASS_MAX];
	int rc = 0;

	if (tty) {
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		fputs("Password: ", stderr);
	}
	if (!fgets(out, (int)cap, stdin))
		rc = 1;
	if (!rc && tty) {
		fputs("\nAgain: ", stderr);
		if (!fgets(again, sizeof(again), stdin) || strcmp(again, out) != 0) {
			fputs("\nsipctl: the passwords differ\n", stderr);
			rc = 1;
		}
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	out[strcspn(out, "\r\n")] = '\0';
	if (!rc && !*out) {
		fputs("sipctl: empty password refused\n", stderr);
		rc = 1;
	}
	return rc;
}

static void on_user_found(void *arg, int err, const struct loc_user *u)
{
	(void)u;
	waiter_signal(arg, err);
}

static int user_exists(struct loc_store *s, const char *user, const char *domain)
{
	struct waiter w;

	waiter_init(&w, NULL);
	if (loc_user_get(s, sip_pl_cstr(user), sip_pl_cstr(domain), on_user_found, &w) < 0)
		return LOC_ERR_STORE;
	return waiter_wait(&w);
}

static int user_set(struct loc_store *s, const char *arg, bool must_exist)
{
	char user[NAME_MAX_LEN], domain[NAME_MAX_LEN], pass[PASS_MAX];
	char md5[SIP_DIGEST_HEX_MAX], sha256[SIP_DIGEST_HEX_MAX], sha512[SIP_DIGEST_HEX_MAX];
	int err;

	if (split_user(arg, user, domain))
		return 2;
	err = user_exists(s, user, domain);
	if (must_exist && err) {
		fprintf(stderr, "sipctl: no user %s@%s (%s)\n", user, domain, loc_err_name(err));
		return 1;
	}
	if (!must_exist && !err) {
		fprintf(stderr, "sipctl: %s@%s exists (use user passwd)\n", user, domain);
		return 1;
	}
	if (ctl_read_password(pass, sizeof(pass)))
		return 1;
	struct sip_pl u = sip_pl_cstr(user), d = sip_pl_cstr(domain), p = sip_pl_cstr(pass);
	if (sip_digest_ha1(SIP_DIGEST_MD5, u, d, p, md5, sizeof(md5)) < 0 ||
	    sip_digest_ha1(SIP_DIGEST_SHA256, u, d, p, sha256, sizeof(sha256)) < 0 ||
	    sip_digest_ha1(SIP_DIGEST_SHA512_256, u, d, p, sha512, sizeof(sha512)) < 0) {
		fprintf(stderr, "sipctl: cannot compute the HA1 hashes\n");
		return 1;
	}
	OPENSSL_cleanse(pass, sizeof(pass));
	struct loc_user lu = {u, d, sip_pl_cstr(md5), sip_pl_cstr(sha256), sip_pl_cstr(sha512)};
	if ((err = loc_user_put(s, &lu)) < 0) {
		fprintf(stderr, "sipctl: cannot store %s@%s (%s)\n", user, domain,
		        loc_err_name(err));
		return 1;
	}
	return 0;
}

static int user_del(struct loc_store *s, const char *arg)
{
	char user[NAME_MAX_LEN], domain[NAME_MAX_LEN];
	int err;

	if (split_user(arg, user, domain))
		return 2;
	if ((err = loc_user_del(s, sip_pl_cstr(user), sip_pl_cstr(domain))) < 0) {
		fprintf(stderr, "sipctl: cannot delete %s@%s (%s)\n", user, domain,
		        err == SIP_ERR_NOT_FOUND ? "no such user" : loc_err_name(err));
		return 1;
	}
	return 0;
}

static int print_user(void *arg, const struct loc_user *u)
{
	(void)arg;
	printf("%.*s@%.*s\n", (int)u->user.len, u->user.p, (int)u->domain.len, u->domain.p);
	return 0;
}

/* ---- registrations ---------------------------------------------------------------------- */

static int print_bindings(void *arg, struct sip_pl aor, const struct loc_binding *b, size_t n)
{
	int64_t now = *(const int64_t *)arg;

	for (size_t i = 0; i < n; i++) {
		char q[16] = "-";
		if (b[i].q >= 0)
			snprintf(q, sizeof(q), "%d.%03d", b[i].q / 1000, b[i].q % 1000);
		printf("%.*s\t%.*s\texpires=%lld\tq=%s\treceived=%.*s", (int)aor.len, aor.p,
		       (int)b[i].uri.len, b[i].uri.p, (long long)(b[i].expires - now), q,
		       (int)b[i].received.len, b[i].received.p);
		if (b[i].instance.len)
			printf("\tinstance=%.*s", (int)b[i].instance.len, b[i].instance.p);
		if (b[i].user_agent.len)
			printf("\tua=%.*s", (int)b[i].user_agent.len, b[i].user_agent.p);
		putchar('\n');
	}
	return 0;
}

struct one_aor {
	struct waiter w;
	struct sip_pl aor;
	int64_t now;
};

static void on_lookup(void *arg, int err, const struct loc_binding *b, size_t n)
{
	struct one_aor *o = arg;

	if (!err)
		print_bindings(&o->now, o->aor, b, n);
	waiter_signal(&o->w, err ? err : n ? 0 : SIP_ERR_NOT_FOUND);
}

static int reg_list(struct loc_store *s, const char *aor_arg)
{
	int64_t now = (int64_t)time(NULL);
	int err;

	if (!aor_arg) {
		if ((err = loc_iterate(s, now, print_bindings, &now)) < 0) {
			fprintf(stderr, "sipctl: cannot list bindings (%s)\n", loc_err_name(err));
			return 1;
		}
		return 0;
	}
	/* The AOR key as sipd makes it from a To URI. */
	char text[NAME_MAX_LEN + 8], key[NAME_MAX_LEN + 8];
	struct sip_uri uri;
	snprintf(text, sizeof(text), "%s%s", strncmp(aor_arg, "sip", 3) ? "sip:" : "", aor_arg);
	if (sip_uri_parse(&uri, sip_pl_cstr(text)) < 0 || loc_aor(&uri, key, sizeof(key)) < 0) {
		fprintf(stderr, "sipctl: '%s' is not an address-of-record\n", aor_arg);
		return 2;
	}
	struct one_aor o = {.aor = sip_pl_cstr(key), .now = now};
	waiter_init(&o.w, NULL);
	if ((err = loc_lookup(s, o.aor, now, on_lookup, &o)) < 0)
		o.w.err = err;
	else
		err = waiter_wait(&o.w);
	if (err == SIP_ERR_NOT_FOUND) {
		fprintf(stderr, "sipctl: no bindings for %s\n", key);
		return 1;
	}
	if (err) {
		fprintf(stderr, "sipctl: cannot look up %s (%s)\n", key, loc_err_name(err));
		return 1;
	}
	return 0;
}

/* reg remove on the store itself. A running sipd keeps the bindings of an
 * sqlite: or memory: store in its own memory too: only its API removes
 * them there. */
static int reg_remove(struct loc_store *s, const char *dsn, const char *aor_arg,
                      const char *contact)
{
	char text[NAME_MAX_LEN + 8], key[NAME_MAX_LEN + 8];
	struct sip_uri uri;
	int err;

	snprintf(text, sizeof(text), "%s%s", strncmp(aor_arg, "sip", 3) ? "sip:" : "", aor_arg);
	if (sip_uri_parse(&uri, sip_pl_cstr(text)) < 0 || loc_aor(&uri, key, sizeof(key)) < 0) {
		fprintf(stderr, "sipctl: '%s' is not an address-of-record\n", aor_arg);
		return 2;
	}
	err = contact ? loc_remove(s, sip_pl_cstr(key), sip_pl_cstr(contact))
	              : loc_remove_all(s, sip_pl_cstr(key));
	if (err == SIP_ERR_NOT_FOUND) {
		fprintf(stderr, "sipctl: no such binding of %s\n", key);
		return 1;
	}
	if (err < 0) {
		fprintf(stderr, "sipctl: cannot remove (%s)\n", loc_err_name(err));
		return 1;
	}
	if (strncmp(dsn, "redis:", 6) != 0)
		fprintf(stderr,
		        "sipctl: removed from %s; a sipd running on it still routes to the "
		        "binding until it restarts: use its API (--http) instead\n",
		        dsn);
	return 0;
}

/* ---- main ----------------------------------------------------------------------------------- */

/* The commands through the API: every command when sipd has one. */
static int run_api(const struct ctl *c, int argc, char **argv)
{
	const char *what = argv[0], *verb = argc > 1 ? argv[1] : "";
	const char *arg = argc > 2 ? argv[2] : NULL;

	if (!strcmp(what, "user")) {
		if (!strcmp(verb, "list") && argc == 2)
			return api_user_list(c);
		if (argc == 3 && !strcmp(verb, "add"))
			return api_user_set(c, arg, false);
		if (argc == 3 && !strcmp(verb, "passwd"))
			return api_user_set(c, arg, true);
		if (argc == 3 && !strcmp(verb, "del"))
			return api_user_del(c, arg);
	} else if (!strcmp(what, "reg")) {
		if (!strcmp(verb, "list") && argc <= 3)
			return api_reg_list(c, arg);
		if (!strcmp(verb, "remove") && (argc == 3 || argc == 4))
			return api_reg_remove(c, arg, argc == 4 ? argv[3] : NULL);
	} else if (!strcmp(what, "calls") && argc <= 2) {
		if (argc == 1 || !strcmp(verb, "--active"))
			return api_calls(c, argc == 2);
	} else if (!strcmp(what, "stats") && argc == 1) {
		return api_stats(c);
	} else if (!strcmp(what, "trace") && argc == 2) {
		return api_trace(c, verb);
	}
	usage(stderr);
	return 2;
}

/* The commands on the store itself. */
static int run_store(struct loc_store *s, const char *dsn, int argc, char **argv)
{
	const char *what = argv[0], *verb = argc > 1 ? argv[1] : "";
	const char *arg = argc > 2 ? argv[2] : NULL;

	if (!strcmp(what, "user")) {
		if (!strcmp(verb, "list") && argc == 2) {
			int err = loc_user_iterate(s, print_user, NULL);
			if (err < 0)
				fprintf(stderr, "sipctl: cannot list users (%s)\n",
				        loc_err_name(err));
			return err < 0;
		}
		if (argc != 3)
			goto bad;
		if (!strcmp(verb, "add"))
			return user_set(s, arg, false);
		if (!strcmp(verb, "passwd"))
			return user_set(s, arg, true);
		if (!strcmp(verb, "del"))
			return user_del(s, arg);
	} else if (!strcmp(what, "reg")) {
		if (!strcmp(verb, "list") && argc <= 3)
			return reg_list(s, arg);
		if (!strcmp(verb, "remove") && (argc == 3 || argc == 4))
			return reg_remove(s, dsn, arg, argc == 4 ? argv[3] : NULL);
	}
bad:
	usage(stderr);
	return 2;
}

/* Options, then the config file under them. */
static int options(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"location", required_argument, NULL, 'L'},
	        {"config", required_argument, NULL, 'c'},
	        {"http", required_argument, NULL, 'H'},
	        {"token", required_argument, NULL, 'T'},
	        {"http-user", required_argument, NULL, 'U'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	bool set[4] = {false, false, false, false};
	char *dst[] = {c->dsn, c->http, c->token, c->http_user};
	const char *conf = NULL;
	int o, k;

	/* "+": options end at the command, so `calls --active` stays its own. */
	while ((o = getopt_long(argc, argv, "+hc:", opts, NULL)) != -1) {
		switch (o) {
		case 'L': k = 0; break;
		case 'H': k = 1; break;
		case 'T': k = 2; break;
		case 'U': k = 3; break;
		case 'c': conf = optarg; continue;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return 2;
		}
		if (strlen(optarg) >= CTL_TEXT) {
			fprintf(stderr, "sipctl: %s: too long\n", opts[k == 0 ? 0 : k + 1].name);
			return 2;
		}
		snprintf(dst[k], CTL_TEXT, "%s", optarg);
		set[k] = true;
	}
	if (conf && ctl_read_config(c, conf, &set[0], &set[1], &set[2], &set[3]))
		return 2;
	return 0;
}

int main(int argc, char **argv)
{
	struct ctl c = {.dsn = SIPD_DEFAULT_LOCATION};
	struct loc_store *s;
	int rc;

	if ((rc = options(&c, argc, argv)) != 0)
		return rc == 1 ? 0 : rc;
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (c.http[0]) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = run_api(&c, argc - optind, argv + optind);
		curl_global_cleanup();
		return rc;
	}
	const char *cmd = argv[optind];
	if (!strcmp(cmd, "calls") || !strcmp(cmd, "stats") || !strcmp(cmd, "trace")) {
		fprintf(stderr,
		        "sipctl: %s needs sipd's admin API: --http ADDR:PORT, or -c with "
		        "http set in the config file\n",
		        cmd);
		return 2;
	}
	sip_log_set_level(SIP_LOG_WARN);
	if (loc_open(&s, c.dsn, NULL) < 0) {
		fprintf(stderr, "sipctl: cannot open the location store %s\n", c.dsn);
		return 1;
	}
	rc = run_store(s, c.dsn, argc - optind, argv + optind);
	loc_close(s);
	return rc;
}
