/*
 * www.h — the dashboard's files (src/server/www/), embedded in sipd at
 * build time by cmake/embed.cmake so the page needs nothing from disk or
 * from elsewhere.
 */
#ifndef SIPD_WWW_H
#define SIPD_WWW_H

#include <stddef.h>

struct www_asset {
	const char *path; /* "/", "/app.js" ... */
	const char *type; /* Content-Type */
	const unsigned char *data;
	size_t len;
};

extern const struct www_asset sipd_www[];
extern const unsigned sipd_www_count;

#endif /* SIPD_WWW_H */
