/*
 * http.c — the admin HTTP server on libmicrohttpd: a small thread pool of
 * its own (a slow client or a store scan never holds up a SIP worker),
 * request bodies gathered up to a bound, the credentials checked, then
 * the dashboard's files (embedded at build time, www.h) or the API
 * (api.c). Handlers build their answer in memory with no lock held while
 * it is written to the socket.
 */
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "libsip/log.h"
#include "sipd.h"
#include "www.h"

#define BODY_MAX 16384
#define THREADS 2
#define CONN_LIMIT 64
#define CONN_TIMEOUT_S 30

struct sipd_http {
	struct sipd *s;
	struct MHD_Daemon *d;
};

/* What one connection's request gathers before it is answered. */
struct req_ctx {
	char *body;
	size_t len;
	bool too_big;
};

/* Equal strings, in time that does not depend on where they differ. */
static bool secret_eq(const char *got, size_t n, const char *want)
{
	size_t w = strlen(want);

	return n == w && CRYPTO_memcmp(got, want, w) == 0;
}

/* "Basic base64(user:pass)" against USER:PASS. */
static bool basic_ok(const char *b64, const char *want)
{
	unsigned char out[512];
	size_t n = strlen(b64), pad = 0;
	int k;

	if (n == 0 || n % 4 || n / 4 * 3 > sizeof(out))
		return false;
	if ((k = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n)) < 0)
		return false;
	while (pad < 2 && b64[n - 1 - pad] == '=')
		pad++;
	return secret_eq((const char *)out, (size_t)k - pad, want);
}

/* Whether the request carries the configured credentials (none
 * configured: everyone may). */
static bool authorized(const struct sipd_cfg *cfg, struct MHD_Connection *c)
{
	const char *a;

	if (!cfg->http_token[0] && !cfg->http_user[0])
		return true;
	if (!(a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION)))
		return false;
	if (cfg->http_token[0] && !strncasecmp(a, "Bearer ", 7))
		return secret_eq(a + 7, strlen(a + 7), cfg->http_token);
	if (cfg->http_user[0] && !strncasecmp(a, "Basic ", 6))
		return basic_ok(a + 6, cfg->http_user);
	return false;
}

static enum MHD_Result send_resp(struct MHD_Connection *c, int status, const char *type, void *body,
                                 size_t len, enum MHD_ResponseMemoryMode mode, const char *hname,
                                 const char *hval)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	/* The dashboard loads nothing from elsewhere, and nothing may frame it. */
	MHD_add_response_header(r, "Content-Security-Policy",
	                        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
	if (hname)
		MHD_add_response_header(r, hname, hval);
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *c, int status, const char *text,
                                 const char *hname, const char *hval)
{
	return send_resp(c, status, "application/json", (void *)text, strlen(text),
	                 MHD_RESPMEM_PERSISTENT, hname, hval);
}

static const struct www_asset *asset(const char *url)
{
	for (unsigned i = 0; i < sipd_www_count; i++)
		if (!strcmp(sipd_www[i].path, url) ||
		    (!strcmp(url, "/index.html") && !strcmp(sipd_www[i].path, "/")))
			return &sipd_www[i];
	return NULL;
}

/* Collects the body: MHD hands it over in pieces before the last call. */
static bool gather(struct req_ctx *x, const char *data, size_t *size)
{
	if (*size == 0)
		return false;
	if (!x->too_big && x->len + *size <= BODY_MAX) {
		char *p = realloc(x->body, x->len + *size + 1);
		if (p) {
			memcpy(p + x->len, data, *size);
			x->body = p;
			x->len += *size;
			p[x->len] = '\0';
		} else {
			x->too_big = true;
		}
	} else {
		x->too_big = true;
	}
	*size = 0;
	return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	struct sipd_http *h = cls;
	struct req_ctx *x = *con_cls;
	const struct sipd_cfg *cfg = h->s->cfg;
	const struct www_asset *a;

	(void)version;
	if (!x) {
		if (!(x = calloc(1, sizeof(*x))))
			return MHD_NO;
		*con_cls = x;
		return MHD_YES;
	}
	if (gather(x, upload, upload_size))
		return MHD_YES;
	if (x->too_big)
		return send_text(c, 413, "{\"error\":\"body too large\"}", NULL, NULL);
	/* The page and its script hold no data: they load without
	 * credentials, and the script sends them (or the browser asks). */
	if ((a = asset(url))) {
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return send_text(c, 405, "{\"error\":\"method not allowed\"}", "Allow",
			                 "GET, HEAD");
		return send_resp(c, 200, a->type, (void *)a->data, a->len, MHD_RESPMEM_PERSISTENT,
		                 NULL, NULL);
	}
	if (!authorized(cfg, c))
		return send_text(c, 401, "{\"error\":\"unauthorized\"}", "WWW-Authenticate",
		                 cfg->http_user[0] ? "Basic realm=\"sipd\", charset=\"UTF-8\""
		                                   : "Bearer realm=\"sipd\"");
	const char *active = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "active");
	struct api_req q = {
	        .method = method,
	        .path = url,
	        .aor = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "aor"),
	        .contact = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "contact"),
	        .active_only = active && strcmp(active, "0") && strcmp(active, "false"),
	        .body = x->body ? x->body : "",
	        .body_len = x->len,
	};
	struct api_resp r = {0};
	if (!sipd_api(h->s, &q, &r))
		return send_text(c, 404, "{\"error\":\"not found\"}", NULL, NULL);
	if (!r.body)
		return send_text(c, 500, "{\"error\":\"out of memory\"}", NULL, NULL);
	return send_resp(c, r.status, r.type, r.body, r.len, MHD_RESPMEM_MUST_FREE,
	                 r.allow       ? "Allow"
	                 : r.truncated ? "X-Truncated"
	                               : NULL,
	                 r.allow ? r.allow : "true");
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode why)
{
	struct req_ctx *x = *con_cls;

	(void)cls;
	(void)c;
	(void)why;
	if (x) {
		free(x->body);
		free(x);
		*con_cls = NULL;
	}
}

static bool is_loopback(const struct tp_addr *a)
{
	char host[64];

	tp_addr_host(a, host, sizeof(host));
	return !strncmp(host, "127.", 4) || !strcmp(host, "::1");
}

int sipd_http_start(struct sipd_http **out, struct sipd *s)
{
	const struct sipd_cfg *cfg = s->cfg;
	struct sipd_http *h = calloc(1, sizeof(*h));
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	char addr[80];

	if (!h)
		return SIP_ERR_NOMEM;
	h->s = s;
	if (cfg->http_addr.ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->d = MHD_start_daemon(flags, tp_addr_port(&cfg->http_addr), NULL, NULL, on_request, h,
	                        MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&cfg->http_addr.ss,
	                        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)THREADS,
	                        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
	                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
	                        MHD_OPTION_NOTIFY_COMPLETED, on_done, h, MHD_OPTION_END);
	tp_addr_str(&cfg->http_addr, addr, sizeof(addr));
	if (!h->d) {
		sip_log(SIP_LOG_ERROR, "cannot start the admin HTTP server on %s", addr);
		free(h);
		return SIP_ERR_UNSUPPORTED; /* the address cannot be bound */
	}
	sip_log(SIP_LOG_INFO, "admin HTTP on http://%s/ (%s)", addr,
	        cfg->http_token[0] || cfg->http_user[0] ? "credentials required" : "open");
	if (!is_loopback(&cfg->http_addr) && !cfg->http_token[0] && !cfg->http_user[0])
		sip_log(SIP_LOG_WARN,
		        "admin HTTP on %s without --http-token or --http-user: anyone "
		        "who reaches it can manage users",
		        addr);
	*out = h;
	return 0;
}

void sipd_http_stop(struct sipd_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
