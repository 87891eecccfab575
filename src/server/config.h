/*
 * config.h — sipd's configuration: every command-line option, with its
 * default, from the command line and an INI file. Immutable once the
 * server runs: SIGHUP builds a new one and the server swaps the pointer
 * (the old one stays allocated until exit, as workers may still read it).
 */
#ifndef SIPD_CONFIG_H
#define SIPD_CONFIG_H

#include <stdio.h>

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
	bool log_syslog;         /* --log syslog: lines to syslog (daemon), not stderr */
	bool trace;              /* --trace on: a log line per message in and out */
	unsigned rate_limit;     /* messages a second per source address, 0: none */
	unsigned rate_burst;     /* of which at once (0: twice rate_limit) */
	bool rate_drop;          /* over the limit: drop, not 503 */
	size_t max_transactions; /* live transactions at most (0: no cap) */
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
	/* The admin HTTP server (--http): off while http is "". */
	char http[128];           /* as given: "127.0.0.1:8080", "[::1]:8080", "8080" */
	struct tp_addr http_addr; /* parsed */
	char http_token[256];     /* Authorization: Bearer, or "" */
	char http_user[256];      /* USER:PASS for basic auth, or "" */
	/* TLS (--listen tls:...; outgoing TLS for sips and transport=tls). */
	char tls_cert[512], tls_key[512]; /* PEM files, or "" */
	char tls_ca[512];                 /* verifies servers and, when asked, clients */
	bool tls_verify_client;           /* require a client certificate signed by tls_ca */

	char config_file[512]; /* -c FILE, "" for none */
	bool check_only;       /* --check-config */
	int argc;              /* the command line, applied again over the file on reload */
	char **argv;
};

#define SIPD_DEFAULT_LOCATION "sqlite:/var/lib/sipd/location.db"
/* Generous for a real peer (a busy upstream proxy sends hundreds a
 * second), tight for a flood; a benchmark turns it off. */
#define SIPD_DEFAULT_RATE 2000
#define SIPD_DEFAULT_MAX_TSX 1000000

/* Fills cfg from argv. Returns 0; 1 when --help or --version was printed
 * (exit 0); 2 after printing an error naming the option (exit 2). */
int sipd_cfg_parse(struct sipd_cfg *cfg, int argc, char **argv);
/* Frees what sipd_cfg_parse allocated. */
void sipd_cfg_free(struct sipd_cfg *cfg);

/* One key of the config file (a long option's name) with its value;
 * `where` ("FILE:LINE: key") prefixes an error. Returns 0 or 2. */
int sipd_cfg_key(struct sipd_cfg *cfg, const char *key, const char *value, const char *where);

/* ---- config_file.c ---- */

/* Applies the INI file at path over cfg: keys at the top or in a [sipd]
 * section. Every error (syntax, unknown key, bad value, other section) is
 * printed as "sipd: FILE:LINE: key: reason". Returns 0 or 2. */
int sipd_cfg_read_file(struct sipd_cfg *cfg, const char *path);
/* Writes cfg as a config file sipd would read back to the same effect. */
void sipd_cfg_print(const struct sipd_cfg *cfg, FILE *f);
/* SIGHUP: the file and the command line read again into a new *out,
 * whose settings that need a restart (listeners, workers, store, timers,
 * transport limits, DNS, digest algorithms and nonce lifetime, contacts
 * per AOR) are kept from old, each change logged as ignored. Returns 0, or
 * 2 with old still in force (the errors logged). */
int sipd_cfg_reload(const struct sipd_cfg *old, struct sipd_cfg **out);

#define SIPD_VERSION "0.1.0"

#endif /* SIPD_CONFIG_H */
