/*
 * uri.h — SIP, SIPS and tel URIs: parse, print, compare (RFC 3261 §19.1,
 * §25; RFC 3966 for tel), and the ;name=value parameter lists they share
 * with header fields.
 *
 * Parsing allocates nothing: a struct sip_uri holds slices into the input,
 * still %-escaped. sip_unescape() decodes a slice where the caller needs it.
 */
#ifndef LIBSIP_URI_H
#define LIBSIP_URI_H

#include "libsip/base.h"

enum sip_uri_scheme {
	SIP_SCHEME_OTHER = 0, /* any other absoluteURI (kept opaque) */
	SIP_SCHEME_SIP,
	SIP_SCHEME_SIPS,
	SIP_SCHEME_TEL,
};

enum sip_host_type {
	SIP_HOST_NONE = 0,
	SIP_HOST_DOMAIN,
	SIP_HOST_IPV4,
	SIP_HOST_IPV6, /* host slice excludes the brackets */
};

struct sip_uri {
	enum sip_uri_scheme scheme;
	struct sip_pl scheme_pl; /* as written, without ':' */
	struct sip_pl user;      /* escaped; tel: the telephone-subscriber number */
	struct sip_pl password;  /* escaped; unset when absent */
	struct sip_pl host;      /* IPv6 without [ ] */
	enum sip_host_type host_type;
	uint16_t port;         /* 0 when absent */
	struct sip_pl params;  /* ";a=b;lr" with its leading ';', or empty */
	struct sip_pl headers; /* after '?', without it, or empty */
	struct sip_pl opaque;  /* SIP_SCHEME_OTHER: everything after "scheme:" */
	struct sip_pl raw;     /* the whole URI as parsed */
	/* Well-known uri-parameters, located at parse time (values escaped). */
	struct sip_pl transport, user_param, method, ttl, maddr;
	bool lr;
};

/* Parses in as a URI (the whole slice; no surrounding white space).
 * sip/sips/tel are parsed fully; other schemes are checked against the
 * absoluteURI grammar and kept opaque. Returns 0, SIP_ERR_URI. */
int sip_uri_parse(struct sip_uri *uri, struct sip_pl in);

/* Prints uri in canonical form (scheme lower-case, host as parsed, escapes
 * kept) into buf. Returns the length, or SIP_ERR_NOSPACE when cap is short. */
int sip_uri_print(const struct sip_uri *uri, char *buf, size_t cap);

/* Compares two URIs per RFC 3261 §19.1.4 (RFC 3966 §4 for tel):
 * returns true when equivalent. URIs of different schemes never match. */
bool sip_uri_eq(const struct sip_uri *a, const struct sip_uri *b);

/* Looks up uri-parameter name (case-insensitive). Returns 0 with *value set
 * (empty when the parameter has no value), or SIP_ERR_NOT_FOUND. */
int sip_uri_param(const struct sip_uri *uri, const char *name, struct sip_pl *value);

/* Decodes %HH escapes of in into out (never NUL-terminates, never stops at
 * %00). Returns the decoded length, SIP_ERR_SYNTAX for a bad escape, or
 * SIP_ERR_NOSPACE. Decodes exactly once (no recursion). */
int sip_unescape(char *out, size_t cap, struct sip_pl in);

/* Compares two escaped slices after decoding, as §19.1.4 wants for user,
 * password and parameter values. ci: ASCII case-insensitive. */
bool sip_escaped_eq(struct sip_pl a, struct sip_pl b, bool ci);

/* ---- parameter lists --------------------------------------------------- */

/* Iterates a ';'-separated list of name[=value] (uri- or header-parameters).
 * *cur is the list still to read (a leading ';' is optional) and is advanced.
 * LWS around ';' and '=' is skipped; a quoted-string value is returned with
 * its quotes. Returns 1 with *name (and *value, unset when there is no '=')
 * filled, 0 at the end, SIP_ERR_SYNTAX on an empty name or a bad token. */
int sip_param_next(struct sip_pl *cur, struct sip_pl *name, struct sip_pl *value);

/* Finds parameter name (case-insensitive) in list. 0 found (value unset when
 * the parameter has no '='), SIP_ERR_NOT_FOUND, or SIP_ERR_SYNTAX. */
int sip_param_find(struct sip_pl list, const char *name, struct sip_pl *value);

#endif /* LIBSIP_URI_H */
