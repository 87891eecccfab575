/*
 * config.h — sipd's configuration: every command-line option, with its
 * default. Immutable once the server runs (process-wide, read by every
 * worker).
 */
#ifndef SIPD_CONFIG_H
#define SIPD_CONFIG_H

#include "libsip/transport.h"
#include "libsip/tsx.h"

#define SIPD_MAX_LISTEN 16
#define SIPD_MAX_DOMAINS 64

struct sipd_listen {
	enum tp_proto proto;
	struct tp_addr addr;
	char spec[128]; /* as given, for the banner */
};

struct sipd_cfg {
	struct sipd_listen listen[SIPD_MAX_LISTEN];
	unsigned nlisten;
	char *domains[SIPD_MAX_DOMAINS];
	unsigned ndomains;
	int log_level;
	struct tp_cfg tp;
	struct tsx_cfg tsx;
	char location[512]; /* the location store's DSN */
	bool auth;          /* digest authentication of REGISTER (default on) */
	char auth_algs[64]; /* challenged algorithms, in order ("SHA-256,MD5") */
	unsigned nonce_ttl; /* seconds a nonce lives */
	size_t max_contacts;
	bool record_route; /* the proxy stays in the path of dialogs (default on) */
	bool redirect;     /* --mode redirect: 302 with the bindings instead of proxying */
	unsigned timer_c;  /* seconds an INVITE branch may ring (default 180) */
	char dns[128];     /* the DNS server for RFC 3263 ("" = the system's) */
	struct {
		uint32_t default_expires, min_expires, max_expires;
	} reg;
};

#define SIPD_DEFAULT_LOCATION "sqlite:/var/lib/sipd/location.db"

/* Fills cfg from argv. Returns 0; 1 when --help or --version was printed
 * (exit 0); 2 after printing an error naming the option (exit 2). */
int sipd_cfg_parse(struct sipd_cfg *cfg, int argc, char **argv);
/* Frees what sipd_cfg_parse allocated. */
void sipd_cfg_free(struct sipd_cfg *cfg);

#define SIPD_VERSION "0.1.0"

#endif /* SIPD_CONFIG_H */
