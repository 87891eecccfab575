/*
 * http.h — sipd's admin HTTP server (libmicrohttpd, its own threads): the
 * dashboard page, /metrics and the JSON API of api.c, behind an optional
 * bearer token and/or basic credentials (--http-token, --http-user, read
 * per request so SIGHUP can change them). No SIP worker ever waits for it.
 */
#ifndef SIPD_HTTP_H
#define SIPD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct sipd;
struct sipd_http;

/* Listens on s->cfg->http_addr and serves until sipd_http_stop. Returns 0
 * or a negative error (logged). */
int sipd_http_start(struct sipd_http **out, struct sipd *s);
/* Stops the server (waits for requests in progress) and frees it. NULL ok. */
void sipd_http_stop(struct sipd_http *h);

/* ---- the API (api.c) ------------------------------------------------------------ */

struct api_req {
	const char *method;  /* "GET", "POST" ... */
	const char *path;    /* decoded, without the query */
	const char *aor;     /* ?aor=, or NULL */
	const char *contact; /* ?contact= (DELETE of one binding), or NULL */
	bool active_only;    /* ?active=1 */
	const char *body;    /* a POST or PUT body */
	size_t body_len;
};

struct api_resp {
	int status;
	const char *type; /* Content-Type */
	char *body;       /* malloc'ed, NUL-terminated; the caller frees it */
	size_t len;
	const char *allow; /* for 405 */
	bool truncated;    /* a list was cut short (X-Truncated: true) */
};

/* Answers one request to /metrics or /api/...; false when the path is
 * none of the API's (then r is untouched). */
bool sipd_api(struct sipd *s, const struct api_req *q, struct api_resp *r);

#endif /* SIPD_HTTP_H */
