/*
 * test_util.h — helpers shared by the unit tests and the fuzz targets:
 * reading a test-data file byte-exactly, and comparing two parsed URIs
 * field by field (the round-trip property of sip_uri_print).
 */
#ifndef SIPD_TEST_UTIL_H
#define SIPD_TEST_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "libsip/uri.h"

/* The file's bytes, exactly (no text mode), in a malloc'd buffer of
 * exactly len bytes so that AddressSanitizer catches any read past the
 * end. NULL when it cannot be read. */
static inline char *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc(n ? (size_t)n : 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

/* Same presence and same octets (pointers differ between two parses). */
static inline bool test_same_pl(struct sip_pl a, struct sip_pl b)
{
	return sip_pl_isset(a) == sip_pl_isset(b) && sip_pl_eq(a, b);
}

/* Every field of two parsed URIs is the same. */
static inline bool test_same_uri(const struct sip_uri *a, const struct sip_uri *b)
{
	return a->scheme == b->scheme && sip_pl_caseeq(a->scheme_pl, b->scheme_pl) &&
	       test_same_pl(a->user, b->user) && test_same_pl(a->password, b->password) &&
	       test_same_pl(a->host, b->host) && a->host_type == b->host_type &&
	       a->port == b->port && sip_pl_eq(a->params, b->params) &&
	       sip_pl_eq(a->headers, b->headers) && test_same_pl(a->opaque, b->opaque) &&
	       test_same_pl(a->transport, b->transport) &&
	       test_same_pl(a->user_param, b->user_param) && test_same_pl(a->method, b->method) &&
	       test_same_pl(a->ttl, b->ttl) && test_same_pl(a->maddr, b->maddr) && a->lr == b->lr;
}

#endif /* SIPD_TEST_UTIL_H */
