/*
 * main.c — the sipua program (notes/sipua_cli.md): options, then one of
 * the commands (register, call, answer, options) or the interactive mode,
 * then an orderly end. The main thread only watches: stdin in interactive
 * mode, SIGINT/SIGTERM through a signalfd, and every 50 ms whether the
 * command is done; the transport worker and its tick do the signalling,
 * the media engine's thread the RTP. At the end every call still up is
 * hung up (BYE, CANCEL or a final response), the registration removed,
 * and only then is everything stopped and freed.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "libsip/hdr.h"
#include "libsip/log.h"
#include "sipua.h"

#define SHUTDOWN_MS 5000

/* ---- hooks from the user agent core (worker thread) --------------------------- */

static void on_request(void *arg, struct tsx *st, const struct sip_msg *req,
                       const struct tsx_peer *from)
{
	uas_request(arg, st, req, from);
}

static void on_ack(void *arg, const struct sip_msg *ack, const struct tsx_peer *from)
{
	(void)from;
	uas_ack(arg, ack);
}

static void on_stray(void *arg, const struct sip_msg *resp, const struct tsx_peer *from)
{
	struct app *a = arg;

	(void)from;
	if (sip_msg_status(resp) < 200 || sip_msg_status(resp) >= 300)
		return;
	pthread_mutex_lock(&a->mu);
	uac_stray_2xx(a, resp);
	pthread_mutex_unlock(&a->mu);
}

/* The calls' timers, and freeing the calls no transaction can name any
 * more. */
static void on_tick(void *arg, uint64_t now)
{
	struct app *a = arg;

	pthread_mutex_lock(&a->mu);
	for (struct call **pp = &a->calls, *c; (c = *pp);) {
		call_tick(c, now);
		if (c->state == CALL_ENDED && !c->pending && now >= c->at_free) {
			*pp = c->next;
			call_free(c);
		} else {
			pp = &c->next;
		}
	}
	reg_tick(a, now);
	pthread_mutex_unlock(&a->mu);
}

static const struct ua_hooks hooks = {
        .request = on_request,
        .ack = on_ack,
        .stray = on_stray,
        .tick = on_tick,
};

/* ---- set-up ---------------------------------------------------------------------- */

/* --user as a bare sip: URI in a->aor (a name-addr, "Alice <sip:...>",
 * gives its URI) and its user part in user ("sipua" without one). */
static int parse_user(struct app *a, const char *spec, char *user, size_t cap)
{
	struct sip_addr addr;
	struct sip_uri u;

	snprintf(user, cap, "sipua");
	if (!spec)
		return 0;
	if (sip_addr_parse(&addr, sip_pl_cstr(spec)) < 0 || addr.star ||
	    sip_uri_parse(&u, addr.uri) < 0 ||
	    (u.scheme != SIP_SCHEME_SIP && u.scheme != SIP_SCHEME_SIPS) || !u.host.len ||
	    addr.uri.len >= sizeof(a->aor)) {
		fprintf(stderr, "sipua: --user: '%s' is not a sip: or sips: URI\n", spec);
		return 2;
	}
	sip_pl_strcpy(a->aor, sizeof(a->aor), addr.uri);
	if (u.user.len)
		snprintf(user, cap, "%.*s", (int)u.user.len, u.user.p);
	return 0;
}

static int identity(struct app *a)
{
	const struct sipua_cfg *cfg = a->cfg;
	char user[128], host[80];
	uint16_t port = tp_addr_port(&a->ua.udp);

	tp_addr_host(&a->ua.udp, a->local_ip, sizeof(a->local_ip));
	snprintf(host, sizeof(host), strchr(a->local_ip, ':') ? "[%s]" : "%s", a->local_ip);
	if (parse_user(a, cfg->user, user, sizeof(user)))
		return 2;
	if (!cfg->user)
		snprintf(a->aor, sizeof(a->aor), "sip:%s@%s", user, host);
	snprintf(a->contact, sizeof(a->contact), "<sip:%s@%s:%u>", user, host, port);
	snprintf(a->contact_tcp, sizeof(a->contact_tcp), "<sip:%s@%s:%u;transport=tcp>", user, host,
	         port);
	/* Over TLS: a sips: identity gets a sips: Contact (RFC 5630 §3.1.3),
	 * a sip: one transport=tls; the registrar reaches either over the
	 * connection the REGISTER came on. */
	if (!strncmp(a->aor, "sips:", 5))
		snprintf(a->contact_tls, sizeof(a->contact_tls), "<sips:%s@%s:%u>", user, host,
		         port);
	else
		snprintf(a->contact_tls, sizeof(a->contact_tls), "<sip:%s@%s:%u;transport=tls>",
		         user, host, port);
	if (cfg->auth_user)
		snprintf(user, sizeof(user), "%s", cfg->auth_user);
	dlg_auth_init(&a->auth, user, cfg->password);
	return 0;
}

/* The UA core's settings among the program's. */
static struct ua_cfg ua_cfg_of(const struct sipua_cfg *cfg)
{
	return (struct ua_cfg){.local = cfg->listen,
	                       .dns = cfg->dns,
	                       .tls_ca = cfg->tls_ca,
	                       .tls_cert = cfg->tls_cert,
	                       .tls_key = cfg->tls_key,
	                       .tsx = cfg->tsx};
}

static int start(struct app *a, struct sipua_cfg *cfg)
{
	struct ua_cfg uc = ua_cfg_of(cfg);
	struct media_engine_cfg mc = {.port_min = cfg->rtp_lo, .port_max = cfg->rtp_hi};
	pthread_mutexattr_t attr;
	char err[256];

	memset(a, 0, sizeof(*a));
	a->cfg = cfg;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&a->mu, &attr);
	pthread_mutexattr_destroy(&attr);
	pthread_mutex_init(&a->out_mu, NULL);
	uc.hooks = &hooks;
	uc.hooks_arg = a;
	/* Hold the lock until the identity is set: a request may come as soon
	 * as the worker runs. */
	pthread_mutex_lock(&a->mu);
	if (ua_start(&a->ua, &uc) < 0) {
		pthread_mutex_unlock(&a->mu);
		ev_error(a, "cannot listen on %s", cfg->listen);
		return 1;
	}
	if (identity(a)) {
		pthread_mutex_unlock(&a->mu);
		return 2;
	}
	mc.local_addr = a->local_ip;
	if (media_engine_new(&a->media, &mc, err, sizeof(err)) < 0) {
		pthread_mutex_unlock(&a->mu);
		ev_error(a, "media: %s", err);
		return 1;
	}
	pthread_mutex_unlock(&a->mu);
	return 0;
}

/* Files named on the command line must be usable before anything starts:
 * a typo is exit status 2, not a failed call later. */
static int check_files(const struct sipua_cfg *cfg)
{
	char err[256];

	if (cfg->play && media_play_check(cfg->play, err, sizeof(err)) < 0) {
		fprintf(stderr, "sipua: --play: %s\n", err);
		return 2;
	}
	return 0;
}

/* ---- interactive commands ------------------------------------------------------ */

static struct call *pick(struct app *a, const char *id, enum call_state want, bool any)
{
	if (id && *id)
		return call_by_id(a, id);
	for (struct call *c = a->calls; c; c = c->next)
		if (c->state == want || (any && c->state != CALL_ENDED))
			return c;
	return NULL;
}

/* The call a command means, or a message saying there is none. */
static struct call *target(struct app *a, const char *cmd, const char *id, enum call_state want,
                           bool any)
{
	struct call *c = pick(a, id, want, any);

	if (!c)
		ev_error(a, "%s: no %s call", cmd,
		         id                      ? id
		         : want == CALL_INCOMING ? "incoming"
		                                 : "active");
	return c;
}

/* One stdin line; returns false on quit. Runs under a->mu. */
static bool command(struct app *a, char *line)
{
	char *cmd = strtok(line, " \t\r\n"), *arg = strtok(NULL, " \t\r\n");
	char *arg2 = strtok(NULL, " \t\r\n");
	struct call *c;

	if (!cmd)
		return true;
	if (!strcmp(cmd, "quit") || !strcmp(cmd, "exit"))
		return false;
	if (!strcmp(cmd, "status")) {
		app_status(a);
	} else if (!strcmp(cmd, "call") && arg) {
		uac_call(a, arg);
	} else if (!strcmp(cmd, "answer")) {
		if ((c = target(a, cmd, arg, CALL_INCOMING, false)))
			uas_answer(c);
	} else if (!strcmp(cmd, "hangup")) {
		if ((c = target(a, cmd, arg, CALL_ACTIVE, true)))
			call_hangup(c);
	} else if (!strcmp(cmd, "hold") || !strcmp(cmd, "resume")) {
		if ((c = target(a, cmd, arg, CALL_ACTIVE, false)))
			call_hold(c, cmd[0] == 'h');
	} else if (!strcmp(cmd, "dtmf") && arg) {
		if ((c = target(a, cmd, arg2, CALL_ACTIVE, false)))
			call_dtmf(c, arg);
	} else {
		ev_error(a,
		         "unknown command '%s' (call URI, answer, hangup, hold, resume, dtmf "
		         "DIGITS, status, quit)",
		         cmd);
	}
	return true;
}

/* Reads what stdin has; false at its end or on quit. */
static bool read_stdin(struct app *a, char *buf, size_t cap, size_t *len)
{
	ssize_t n = read(0, buf + *len, cap - 1 - *len);
	bool go = true;
	char *nl;

	if (n <= 0)
		return n < 0 && errno == EINTR;
	*len += (size_t)n;
	buf[*len] = '\0';
	while (go && (nl = strchr(buf, '\n'))) {
		*nl = '\0';
		pthread_mutex_lock(&a->mu);
		go = command(a, buf);
		pthread_mutex_unlock(&a->mu);
		*len -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, *len + 1);
	}
	if (*len == cap - 1)
		*len = 0; /* a line too long for a command: drop it */
	return go;
}

/* ---- the run -------------------------------------------------------------------- */

enum { RUNNING = -1 };

/* Whether the command is done, and its exit status. Runs under a->mu. */
static int verdict(struct app *a, uint64_t now, uint64_t *reg_since)
{
	const struct sipua_cfg *cfg = a->cfg;
	int st = 0, rs = reg_state(a, &st);

	if (rs == -1)
		return 1;
	if (rs == 1 && !*reg_since)
		*reg_since = now;
	if (!cfg->cmd)
		return RUNNING;
	if (!strcmp(cfg->cmd, "register"))
		return rs == 1 && cfg->duration_ms && now >= *reg_since + cfg->duration_ms
		               ? 0
		               : RUNNING;
	if (!strcmp(cfg->cmd, "call"))
		return a->ended >= cfg->calls ? (a->good == cfg->calls ? 0 : 1) : RUNNING;
	if (!strcmp(cfg->cmd, "answer") && cfg->max_calls && a->ended >= cfg->max_calls)
		return 0;
	return RUNNING;
}

static int run(struct app *a, int sfd)
{
	bool interactive = !a->cfg->cmd, in_open = interactive;
	uint64_t reg_since = 0;
	char line[4096];
	size_t len = 0;
	int rc = RUNNING;

	while (rc == RUNNING) {
		struct pollfd p[2] = {{.fd = sfd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};

		if (poll(p, in_open ? 2 : 1, 50) > 0) {
			if (p[0].revents & POLLIN)
				return 0; /* SIGINT/SIGTERM: end in order */
			if (in_open && (p[1].revents & (POLLIN | POLLHUP)) &&
			    !read_stdin(a, line, sizeof(line), &len))
				return 0;
		}
		pthread_mutex_lock(&a->mu);
		rc = verdict(a, tp_now_ms(), &reg_since);
		pthread_mutex_unlock(&a->mu);
	}
	return rc;
}

/* Hangs up what is up and un-registers, then waits (bounded) for it. */
static void wind_down(struct app *a)
{
	uint64_t end = tp_now_ms() + SHUTDOWN_MS;
	bool busy = true;
	int st;

	pthread_mutex_lock(&a->mu);
	a->stopping = true;
	for (struct call *c = a->calls; c; c = c->next)
		call_hangup(c);
	reg_stop(a);
	pthread_mutex_unlock(&a->mu);
	while (busy && tp_now_ms() < end) {
		nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
		pthread_mutex_lock(&a->mu);
		busy = reg_state(a, &st) == 0;
		for (struct call *c = a->calls; c && !busy; c = c->next)
			busy = c->state != CALL_ENDED;
		pthread_mutex_unlock(&a->mu);
	}
}

static void finish(struct app *a)
{
	/* The worker first: after it no callback can touch a call. */
	ua_stop(&a->ua);
	for (struct call *c = a->calls, *next; c; c = next) {
		next = c->next;
		if (c->state != CALL_ENDED)
			call_end(c, "error", 0);
		call_free(c);
	}
	a->calls = NULL;
	if (a->media)
		media_engine_free(a->media);
	reg_free(a);
	pthread_mutex_destroy(&a->mu);
	pthread_mutex_destroy(&a->out_mu);
}

static int begin(struct app *a)
{
	const struct sipua_cfg *cfg = a->cfg;
	int rc = 0;

	pthread_mutex_lock(&a->mu);
	if (cfg->cmd && !strcmp(cfg->cmd, "register"))
		reg_start(a);
	else if ((!cfg->cmd || !strcmp(cfg->cmd, "answer")) && cfg->user && cfg->password)
		reg_start(a);
	if (cfg->cmd && !strcmp(cfg->cmd, "call"))
		for (unsigned i = 0; i < cfg->calls && rc == 0; i++)
			rc = uac_call(a, cfg->target);
	pthread_mutex_unlock(&a->mu);
	return rc == SIP_ERR_URI ? 2 : rc < 0 ? 1 : 0;
}

static int run_options(struct sipua_cfg *cfg)
{
	struct ua_cfg uc = ua_cfg_of(cfg);
	struct ua ua;
	int rc;

	if (ua_start(&ua, &uc) < 0) {
		fprintf(stderr, "sipua: cannot start on %s\n", cfg->listen);
		ua_stop(&ua);
		return 1;
	}
	rc = sipua_options(&ua, cfg->target, cfg->proxy);
	ua_stop(&ua);
	return rc;
}

static int block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	/* Before any thread starts, so every thread inherits the mask and the
	 * signals reach only the signalfd. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, SIGPIPE);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

int main(int argc, char **argv)
{
	struct sipua_cfg cfg;
	struct app a;
	int rc, sfd;

	if ((rc = cli_parse(&cfg, argc, argv)) || (rc = check_files(&cfg))) {
		if (rc == 3)
			cli_usage(stdout);
		else if (rc == 2)
			fprintf(stderr, "sipua: try --help\n");
		cli_free(&cfg);
		return rc == 3 ? 0 : rc;
	}
	sip_log_set_level((enum sip_log_level)cfg.log_level);
	sfd = block_signals();
	if (cfg.cmd && !strcmp(cfg.cmd, "options")) {
		rc = run_options(&cfg);
	} else if ((rc = start(&a, &cfg)) == 0 && (rc = begin(&a)) == 0) {
		rc = run(&a, sfd);
		wind_down(&a);
		if (cfg.cmd && !strcmp(cfg.cmd, "call"))
			rc = a.good == cfg.calls ? 0 : 1;
		if (cfg.cmd && !strcmp(cfg.cmd, "register") && !a.registered_once)
			rc = 1;
	}
	if (!cfg.cmd || strcmp(cfg.cmd, "options"))
		finish(&a);
	close(sfd);
	cli_free(&cfg);
	return rc;
}
