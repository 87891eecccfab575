/*
 * json.h — the little JSON the admin HTTP side needs: a growable text
 * buffer that writes JSON (strings escaped per RFC 8259 §7) and Prometheus
 * text, and a reader for a flat object of string members (a POST body).
 */
#ifndef SIPD_JSON_H
#define SIPD_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* A growable buffer. An allocation failure is sticky (oom) and later
 * writes do nothing, so writers check once at the end. */
struct jbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

/* Appends formatted text (printf). */
void jb_printf(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends n raw bytes. */
void jb_put(struct jbuf *b, const char *s, size_t n);
/* Appends s[0..n) as a quoted JSON string; invalid UTF-8 and control
 * bytes are escaped or replaced, so any received bytes are safe. */
void jb_str(struct jbuf *b, const char *s, size_t n);
/* jb_str of a NUL-terminated string. */
void jb_cstr(struct jbuf *b, const char *s);
/* Hands the text over (NUL-terminated; the caller frees it), or NULL
 * after an allocation failure (then freed here). */
char *jb_take(struct jbuf *b, size_t *len);
void jb_free(struct jbuf *b);

/* The string member `key` of the flat JSON object text[0..n), unescaped
 * into out (NUL-terminated, cap bytes). Returns its length, -1 when the
 * text is not a flat object of strings, numbers, booleans or null, -2
 * when the key is absent or not a string, -3 when it does not fit. */
int json_get_str(const char *text, size_t n, const char *key, char *out, size_t cap);

#endif /* SIPD_JSON_H */
