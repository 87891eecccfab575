/*
 * json.c — text buffers for the admin HTTP answers (JSON and Prometheus
 * text) and a reader for the flat JSON objects the API accepts. Message
 * texts are received bytes of any kind: jb_str makes them valid JSON
 * (RFC 8259 §7) whatever they hold.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static bool grow(struct jbuf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 1024;
	char *p;

	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	while (cap < b->len + more + 1)
		cap *= 2;
	if (!(p = realloc(b->p, cap))) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void jb_put(struct jbuf *b, const char *s, size_t n)
{
	if (!grow(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void jb_printf(struct jbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t k;
	unsigned c = s[0];

	if (c >= 0xc2 && c <= 0xdf)
		k = 2;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong three- and four-byte forms, surrogates, > U+10FFFF. */
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;
	return k;
}

void jb_str(struct jbuf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;

	jb_put(b, "\"", 1);
	while (i < n) {
		unsigned c = u[i];
		size_t k = c < 0x80 ? 1 : utf8_len(u + i, n - i);

		if (k == 1 && c >= 0x20 && c != '"' && c != '\\') {
			i++;
			run++;
			continue;
		}
		if (k > 1) {
			i += k;
			run += k;
			continue;
		}
		jb_put(b, (const char *)u + i - run, run);
		run = 0;
		if (k == 0)
			jb_put(b, "\\ufffd", 6); /* not UTF-8: replaced */
		else if (c == '"' || c == '\\')
			jb_printf(b, "\\%c", (char)c);
		else if (c == '\n')
			jb_put(b, "\\n", 2);
		else if (c == '\r')
			jb_put(b, "\\r", 2);
		else if (c == '\t')
			jb_put(b, "\\t", 2);
		else
			jb_printf(b, "\\u%04x", c);
		i++;
	}
	jb_put(b, (const char *)u + i - run, run);
	jb_put(b, "\"", 1);
}

void jb_cstr(struct jbuf *b, const char *s)
{
	jb_str(b, s, strlen(s));
}

char *jb_take(struct jbuf *b, size_t *len)
{
	char *p;

	if (!b->oom && !b->p)
		grow(b, 0);
	if (b->oom) {
		jb_free(b);
		return NULL;
	}
	p = b->p;
	p[b->len] = '\0';
	*len = b->len;
	memset(b, 0, sizeof(*b));
	return p;
}

void jb_free(struct jbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- reading a flat object -------------------------------------------------- */

struct rd {
	const char *p, *end;
};

static void ws(struct rd *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
		        : c >= 'a' && c <= 'f' ? c - 'a' + 10
		        : c >= 'A' && c <= 'F' ? c - 'A' + 10
		                               : -1;
		if (d < 0)
			return -1;
		v = v * 16 + (unsigned)d;
	}
	*out = v;
	return 0;
}

/* Appends code point cp as UTF-8 to out (when out is not NULL). */
static int put_cp(char *out, size_t cap, size_t *n, unsigned cp)
{
	char tmp[4];
	size_t k;

	if (cp < 0x80)
		tmp[0] = (char)cp, k = 1;
	else if (cp < 0x800)
		tmp[0] = (char)(0xc0 | cp >> 6), tmp[1] = (char)(0x80 | (cp & 0x3f)), k = 2;
	else if (cp < 0x10000)
		tmp[0] = (char)(0xe0 | cp >> 12), tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
		tmp[2] = (char)(0x80 | (cp & 0x3f)), k = 3;
	else
		tmp[0] = (char)(0xf0 | cp >> 18), tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
		tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), tmp[3] = (char)(0x80 | (cp & 0x3f)),
		k = 4;
	if (out) {
		if (*n + k >= cap)
			return -3;
		memcpy(out + *n, tmp, k);
	}
	*n += k;
	return 0;
}

/* A string at r->p (at its opening quote), unescaped into out when out is
 * not NULL. Returns its length, -1 on bad syntax, -3 when too long. */
static int read_str(struct rd *r, char *out, size_t cap)
{
	size_t n = 0;

	if (r->p >= r->end || *r->p != '"')
		return -1;
	r->p++;
	while (r->p < r->end && *r->p != '"') {
		unsigned char c = (unsigned char)*r->p++;
		unsigned cp, lo;

		if (c < 0x20)
			return -1;
		if (c != '\\') {
			if (out && n + 1 >= cap)
				return -3;
			if (out)
				out[n] = (char)c;
			n++;
			continue;
		}
		if (r->p >= r->end)
			return -1;
		c = (unsigned char)*r->p++;
		switch (c) {
		case '"':
		case '\\':
		case '/': cp = c; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (r->end - r->p < 4 || hex4(r->p, &cp) < 0)
				return -1;
			r->p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) { /* a surrogate pair */
				if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' ||
				    hex4(r->p + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
					return -1;
				r->p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				return -1;
			}
			break;
		default: return -1;
		}
		if (put_cp(out, cap, &n, cp) < 0)
			return -3;
	}
	if (r->p >= r->end)
		return -1;
	r->p++;
	if (out)
		out[n] = '\0';
	return (int)n;
}

/* A number, true, false or null: skipped (the API has no use for them). */
static int skip_scalar(struct rd *r)
{
	const char *start = r->p;

	while (r->p < r->end && strchr("0123456789+-.eEtruefalsn", *r->p))
		r->p++;
	return r->p > start ? 0 : -1;
}

int json_get_str(const char *text, size_t n, const char *key, char *out, size_t cap)
{
	struct rd r = {text, text + n};
	char name[64];
	int found = -2, k;

	ws(&r);
	if (r.p >= r.end || *r.p++ != '{')
		return -1;
	ws(&r);
	if (r.p < r.end && *r.p == '}')
		r.p++;
	else
		for (;;) {
			ws(&r);
			if ((k = read_str(&r, name, sizeof(name))) < 0)
				return -1; /* a key longer than ours is no key of ours */
			ws(&r);
			if (r.p >= r.end || *r.p++ != ':')
				return -1;
			ws(&r);
			bool want = !strcmp(name, key) && found == -2;
			if (r.p < r.end && *r.p == '"') {
				if ((k = read_str(&r, want ? out : NULL, cap)) < 0)
					return k;
				if (want)
					found = k;
			} else if (skip_scalar(&r) < 0) {
				return -1;
			}
			ws(&r);
			if (r.p < r.end && *r.p == ',') {
				r.p++;
				continue;
			}
			if (r.p < r.end && *r.p == '}') {
				r.p++;
				break;
			}
			return -1;
		}
	ws(&r);
	return r.p == r.end ? found : -1;
}
