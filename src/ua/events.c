/*
 * events.c — what sipua tells its user on stdout: with --json one JSON
 * object per line (the contract in notes/sipua_cli.md), flushed at once so
 * a script reading the pipe sees each event when it happens; without it
 * the same as "event key=value ..." lines, and a summary per call at its
 * end. Each event is built in two buffers and written under out_mu, so
 * lines from the worker and the media thread never interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "app.h"

static void put(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len + n >= cap)
		n = cap - 1 - *len; /* an event never nears 2 KiB; cut, don't overflow */
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
}

static void jput(struct ev *e, const char *s)
{
	put(e->json, sizeof(e->json), &e->jlen, s, strlen(s));
}

static void tput(struct ev *e, const char *s)
{
	put(e->text, sizeof(e->text), &e->tlen, s, strlen(s));
}

/* A JSON string (RFC 8259 §7): quotes, backslashes and control bytes
 * escaped; other bytes as they are (URIs and names are UTF-8 or ASCII). */
static void jstring(struct ev *e, const char *v)
{
	char esc[8];

	jput(e, "\"");
	for (const char *p = v; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			esc[2] = '\0';
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
		} else {
			esc[0] = (char)c;
			esc[1] = '\0';
		}
		jput(e, esc);
	}
	jput(e, "\"");
}

static void key(struct ev *e, const char *k)
{
	jput(e, ",");
	jstring(e, k);
	jput(e, ":");
	tput(e, " ");
	tput(e, k);
	tput(e, "=");
}

void ev_begin(struct ev *e, struct app *a, const char *event)
{
	e->app = a;
	e->jlen = e->tlen = 0;
	e->json[0] = e->text[0] = '\0';
	jput(e, "{\"event\":");
	jstring(e, event);
	tput(e, event);
}

void ev_str(struct ev *e, const char *k, const char *v)
{
	key(e, k);
	jstring(e, v);
	tput(e, v);
}

void ev_int(struct ev *e, const char *k, long long v)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", v);
	key(e, k);
	jput(e, num);
	tput(e, num);
}

void ev_num(struct ev *e, const char *k, double v)
{
	char num[32];

	snprintf(num, sizeof(num), "%.2f", v);
	key(e, k);
	jput(e, num);
	tput(e, num);
}

static void emit(struct app *a, const char *line)
{
	pthread_mutex_lock(&a->out_mu);
	fputs(line, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&a->out_mu);
}

void ev_end(struct ev *e)
{
	jput(e, "}");
	emit(e->app, e->app->cfg->json ? e->json : e->text);
}

/* The ended event carries the RTP figures as a nested object, which the
 * flat builder above does not do: it is written here in one piece. */
void ev_ended(struct call *c, const struct media_stats *st)
{
	struct ev e;
	double dur = c->t_answer ? (double)(c->t_end - c->t_answer) / 1000.0 : 0.0;
	char rtp[256];

	ev_begin(&e, c->app, "ended");
	ev_str(&e, "call", c->id);
	ev_str(&e, "cause", c->cause);
	ev_int(&e, "status", c->status);
	ev_num(&e, "duration", dur);
	snprintf(rtp, sizeof(rtp),
	         ",\"rtp\":{\"sent\":%llu,\"received\":%llu,\"lost\":%llu,\"jitter_ms\":%.2f}",
	         (unsigned long long)st->sent, (unsigned long long)st->received,
	         (unsigned long long)st->lost, st->jitter_ms);
	jput(&e, rtp);
	ev_end(&e);
	if (c->app->cfg->json)
		return;
	snprintf(rtp, sizeof(rtp),
	         "call %s summary: duration %.2f s, RTP packets sent %llu, received %llu, "
	         "lost %llu, jitter %.2f ms",
	         c->id, dur, (unsigned long long)st->sent, (unsigned long long)st->received,
	         (unsigned long long)st->lost, st->jitter_ms);
	emit(c->app, rtp);
}

void ev_error(struct app *a, const char *fmt, ...)
{
	va_list ap;

	(void)a;
	va_start(ap, fmt);
	fputs("sipua: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
