/*
 * api_client.c — sipctl's commands through sipd's admin HTTP API (libcurl
 * for HTTP, jansson for JSON): what a running sipd must do itself — a
 * binding removed from its memory as well as its store, its calls, its
 * counters, the messages of a user's recent calls — and the user commands
 * when sipctl has no direct access to the store.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "ctl.h"

#define BODY_MAX (64u << 20) /* a reply larger than this is refused */

struct body {
	char *p;
	size_t len;
	bool too_big;
};

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t add = size * n;
	char *grown;

	if (b->len + add > BODY_MAX || !(grown = realloc(b->p, b->len + add + 1))) {
		b->too_big = true;
		return 0; /* aborts the transfer */
	}
	memcpy(grown + b->len, data, add);
	b->p = grown;
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

/* "8080", "127.0.0.1:8080" (as sipd's --http) or a whole URL. */
static void base_url(const struct ctl *c, char *out, size_t cap)
{
	const char *h = c->http;

	if (!strncmp(h, "http://", 7) || !strncmp(h, "https://", 8))
		snprintf(out, cap, "%s", h);
	else if (!strchr(h, ':'))
		snprintf(out, cap, "http://127.0.0.1:%s", h);
	else
		snprintf(out, cap, "http://%s", h);
	size_t n = strlen(out);
	if (n && out[n - 1] == '/')
		out[n - 1] = '\0';
}

/* One request: method to path (already escaped) with an optional JSON
 * body. Returns the HTTP status (0 when sipd could not be reached, printed)
 * and the parsed JSON reply in *out (NULL when none or not JSON). */
static long request(const struct ctl *c, const char *method, const char *path, json_t *send,
                    json_t **out)
{
	char url[2 * CTL_TEXT], auth[CTL_TEXT + 32], *text = NULL;
	struct body b = {0};
	struct curl_slist *hdrs = NULL;
	long status = 0;
	CURL *h = curl_easy_init();
	CURLcode rc;

	*out = NULL;
	if (!h)
		return 0;
	base_url(c, url, sizeof(url) - strlen(path));
	strncat(url, path, sizeof(url) - strlen(url) - 1);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (c->token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
		hdrs = curl_slist_append(hdrs, auth);
	} else if (c->http_user[0]) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERPWD, c->http_user);
	}
	if (send) {
		text = json_dumps(send, JSON_COMPACT);
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, text ? text : "");
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if ((rc = curl_easy_perform(h)) != CURLE_OK)
		fprintf(stderr, "sipctl: %s %s: %s\n", method, url,
		        b.too_big ? "reply too large" : curl_easy_strerror(rc));
	else
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (text) {
		OPENSSL_cleanse(text, strlen(text)); /* it may hold a password */
		free(text);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	if (status && b.p)
		*out = json_loadb(b.p, b.len, 0, NULL);
	free(b.p);
	return status;
}

/* The reply's {"error": ...}, or a word for the status. */
static int failed(const char *what, long status, json_t *reply)
{
	const char *msg = json_string_value(json_object_get(reply, "error"));

	if (status == 401)
		msg = "unauthorized (give --token or --http-user, as sipd's --http-token/-user)";
	if (status)
		fprintf(stderr, "sipctl: %s: %ld %s\n", what, status, msg ? msg : "failed");
	json_decref(reply);
	return 1;
}

/* path + "/" + escaped name, or path + "?key=" + escaped value. */
static void with_arg(char *out, size_t cap, const char *path, const char *sep, const char *v)
{
	char *esc = curl_easy_escape(NULL, v, 0);

	snprintf(out, cap, "%s%s%s", path, sep, esc ? esc : "");
	curl_free(esc);
}

int api_user_set(const struct ctl *c, const char *who, bool change)
{
	char pass[256], path[CTL_TEXT * 2];
	json_t *body, *reply;
	long st;

	if (!strchr(who, '@')) {
		fprintf(stderr, "sipctl: '%s' is not USER@DOMAIN\n", who);
		return 2;
	}
	if (ctl_read_password(pass, sizeof(pass)))
		return 1;
	body = json_pack("{s:s}", "password", pass);
	OPENSSL_cleanse(pass, sizeof(pass));
	if (change) {
		with_arg(path, sizeof(path), "/api/users", "/", who);
		st = request(c, "PUT", path, body, &reply);
	} else {
		json_object_set_new(body, "user", json_string(who));
		st = request(c, "POST", "/api/users", body, &reply);
	}
	json_decref(body);
	if (st != 200 && st != 201)
		return failed(who, st, reply);
	json_decref(reply);
	return 0;
}

int api_user_del(const struct ctl *c, const char *who)
{
	char path[CTL_TEXT * 2];
	json_t *reply;
	long st;

	with_arg(path, sizeof(path), "/api/users", "/", who);
	if ((st = request(c, "DELETE", path, NULL, &reply)) != 200)
		return failed(who, st, reply);
	json_decref(reply);
	return 0;
}

int api_user_list(const struct ctl *c)
{
	json_t *reply, *u;
	size_t i;
	long st;

	if ((st = request(c, "GET", "/api/users", NULL, &reply)) != 200 || !json_is_array(reply))
		return failed("user list", st, reply);
	json_array_foreach(reply, i, u)
	        printf("%s@%s\n", json_string_value(json_object_get(u, "user")),
	               json_string_value(json_object_get(u, "domain")));
	json_decref(reply);
	return 0;
}

static const char *str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "";
}

int api_reg_list(const struct ctl *c, const char *aor)
{
	char path[CTL_TEXT * 2];
	json_t *reply, *b;
	size_t i;
	long st;

	if (aor)
		with_arg(path, sizeof(path), "/api/registrations", "?aor=", aor);
	else
		snprintf(path, sizeof(path), "/api/registrations");
	if ((st = request(c, "GET", path, NULL, &reply)) != 200 || !json_is_array(reply))
		return failed("reg list", st, reply);
	if (aor && !json_array_size(reply)) {
		fprintf(stderr, "sipctl: no bindings for %s\n", aor);
		json_decref(reply);
		return 1;
	}
	/* The same lines as without the API (tests and scripts read them). */
	json_array_foreach(reply, i, b)
	{
		json_t *q = json_object_get(b, "q");
		char qs[32] = "-";
		if (json_is_number(q))
			snprintf(qs, sizeof(qs), "%.3f", json_number_value(q));
		printf("%s\t%s\texpires=%lld\tq=%s\treceived=%s", str(b, "aor"), str(b, "contact"),
		       (long long)json_integer_value(json_object_get(b, "expires")), qs,
		       str(b, "received"));
		if (*str(b, "instance"))
			printf("\tinstance=%s", str(b, "instance"));
		if (*str(b, "user_agent"))
			printf("\tua=%s", str(b, "user_agent"));
		putchar('\n');
	}
	json_decref(reply);
	return 0;
}

int api_reg_remove(const struct ctl *c, const char *aor, const char *contact)
{
	char path[CTL_TEXT * 4], *esc;
	json_t *reply;
	long st;

	with_arg(path, sizeof(path), "/api/registrations", "?aor=", aor);
	if (contact) {
		esc = curl_easy_escape(NULL, contact, 0);
		strncat(path, "&contact=", sizeof(path) - strlen(path) - 1);
		strncat(path, esc ? esc : "", sizeof(path) - strlen(path) - 1);
		curl_free(esc);
	}
	if ((st = request(c, "DELETE", path, NULL, &reply)) != 200)
		return failed(aor, st, reply);
	json_decref(reply);
	return 0;
}

static void clock_text(double t, char *out, size_t cap)
{
	time_t s = (time_t)t;
	struct tm tm;

	gmtime_r(&s, &tm);
	size_t n = strftime(out, cap, "%H:%M:%S", &tm);
	snprintf(out + n, cap - n, ".%03d", (int)((t - (double)s) * 1000) % 1000);
}

int api_calls(const struct ctl *c, bool active_only)
{
	json_t *reply, *x;
	size_t i;
	long st;

	st = request(c, "GET", active_only ? "/api/calls?active=1" : "/api/calls", NULL, &reply);
	if (st != 200 || !json_is_array(reply))
		return failed("calls", st, reply);
	printf("%-12s %-9s %6s %9s  %-30s %-30s %s\n", "start", "state", "status", "duration",
	       "from", "to", "call-id");
	json_array_foreach(reply, i, x)
	{
		char at[32];
		clock_text(json_number_value(json_object_get(x, "start")), at, sizeof(at));
		printf("%-12s %-9s %6lld %8.1fs  %-30s %-30s %s\n", at, str(x, "state"),
		       (long long)json_integer_value(json_object_get(x, "status")),
		       json_number_value(json_object_get(x, "duration")), str(x, "from"),
		       str(x, "to"), str(x, "call_id"));
	}
	json_decref(reply);
	return 0;
}

int api_stats(const struct ctl *c)
{
	json_t *reply, *v;
	const char *key;
	long st;

	if ((st = request(c, "GET", "/api/stats", NULL, &reply)) != 200 || !json_is_object(reply))
		return failed("stats", st, reply);
	json_object_foreach(reply, key, v)
	{
		char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%-28s %s\n", key, text ? text : "?");
		free(text);
	}
	json_decref(reply);
	return 0;
}

/* True when a From/To value names aor ("sip:bob@example.com" in
 * "Bob <sip:bob@example.com>;tag=..."), case-insensitively, as a whole
 * user@host (not "bob@example.com.evil"). */
static bool names(const char *value, const char *aor)
{
	const char *bare = strncasecmp(aor, "sip:", 4) ? aor : aor + 4;
	size_t n = strlen(bare);

	for (const char *p = value; n && *p; p++) {
		if (strncasecmp(p, bare, n) != 0)
			continue;
		char after = p[n];
		bool start = p == value || p[-1] == ':' || p[-1] == '<';
		bool end = !after || after == '>' || after == ';' || after == ':';
		if (start && end)
			return true;
	}
	return false;
}

static void print_messages(const struct ctl *c, const char *call_id)
{
	char path[CTL_TEXT * 2], at[32];
	json_t *reply, *m;
	size_t i;
	long st;

	with_arg(path, sizeof(path), "/api/calls", "/", call_id);
	strncat(path, "/messages", sizeof(path) - strlen(path) - 1);
	if ((st = request(c, "GET", path, NULL, &reply)) != 200) {
		failed(call_id, st, reply);
		return;
	}
	json_array_foreach(json_object_get(reply, "messages"), i, m)
	{
		clock_text(json_number_value(json_object_get(m, "time")), at, sizeof(at));
		printf("  %s %-3s %s %-21s -> %-21s %s\n", at, str(m, "dir"), str(m, "proto"),
		       str(m, "src"), str(m, "dst"), str(m, "first_line"));
	}
	json_decref(reply);
}

int api_trace(const struct ctl *c, const char *aor)
{
	json_t *reply, *x;
	size_t i, shown = 0;
	long st;

	if ((st = request(c, "GET", "/api/calls", NULL, &reply)) != 200 || !json_is_array(reply))
		return failed("trace", st, reply);
	/* The API lists the newest first; a trace reads best oldest first. */
	for (i = json_array_size(reply); i-- > 0;) {
		x = json_array_get(reply, i);
		if (!names(str(x, "from"), aor) && !names(str(x, "to"), aor))
			continue;
		printf("call %s  %s -> %s  %s %lld\n", str(x, "call_id"), str(x, "from"),
		       str(x, "to"), str(x, "state"),
		       (long long)json_integer_value(json_object_get(x, "status")));
		print_messages(c, str(x, "call_id"));
		shown++;
	}
	json_decref(reply);
	if (!shown) {
		fprintf(stderr, "sipctl: no recent calls of %s\n", aor);
		return 1;
	}
	return 0;
}
