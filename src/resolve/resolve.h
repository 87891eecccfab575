/*
 * resolve.h — locating SIP servers (RFC 3263 §4): where a request for a
 * sip: URI goes, as the ordered list of (transport, address) targets to try
 * in turn, found with DNS NAPTR, SRV (RFC 2782), A and AAAA lookups that
 * never block the caller.
 *
 * One resolver owns one thread with a c-ares channel and its own poll loop;
 * rs_resolve may be called from any thread (it queues the lookup and wakes
 * that thread). Answers are kept in a small cache bounded in entries and
 * by the records' TTLs, so a busy proxy asks DNS once per domain and TTL.
 *
 * The rules (§4.1 transport, §4.2 port and address), with TARGET the maddr
 * parameter when present, else the host:
 *   - numeric TARGET: that address, the URI's port or 5060, the transport=
 *     parameter or UDP — answered inline, no DNS;
 *   - a port in the URI: A and AAAA of TARGET at that port, transport= or UDP;
 *   - transport= without a port: SRV _sip._udp / _sip._tcp.TARGET; without
 *     SRV records, A and AAAA of TARGET at 5060;
 *   - neither: NAPTR of TARGET, keeping the "s" records of service SIP+D2U
 *     and SIP+D2T, ordered by order then preference, and SRV of their
 *     replacements; without them SRV _sip._udp then _sip._tcp (UDP first);
 *     without any SRV record, A and AAAA of TARGET at 5060 over UDP.
 * SRV records are ordered by priority, then weighted-random within one
 * priority (RFC 2782), afresh for every answer, cached or not; each SRV
 * target gives its A addresses, then its AAAA ones (IPv4 first: sipd's
 * listeners are most often IPv4 only). A target of "." (service decidedly
 * not available, RFC 2782) gives nothing.
 *
 * sips: URIs and transport=tls are TLS only (RFC 5630 §3.1.3): the
 * numeric TARGET or the port at 5061, else SRV _sips._tcp.TARGET, else A
 * and AAAA of TARGET at 5061 — no NAPTR. Other transports (SCTP,
 * WebSocket) are refused with SIP_ERR_UNSUPPORTED.
 */
#ifndef SIPD_RESOLVE_H
#define SIPD_RESOLVE_H

#include <stddef.h>

#include "libsip/base.h"
#include "libsip/transport.h"
#include "libsip/uri.h"

/* Errors beyond enum sip_err (kept apart from its range, which grows). */
enum rs_err {
	RS_ERR_TIMEOUT = -200,   /* no answer within timeout_ms * tries */
	RS_ERR_SERVER = -201,    /* the DNS server failed, refused or is unreachable */
	RS_ERR_CANCELLED = -202, /* the resolver was freed before the answer */
	RS_ERR_BUSY = -203,      /* RS_MAX_PENDING lookups are already waiting */
};

/* Most targets one answer lists (the rest are dropped). */
#define RS_MAX_TARGETS 32
/* Most lookups waiting for DNS at once (queued or running), all callers. */
#define RS_MAX_PENDING 1024
/* Entries of the answer cache (positive and negative answers). */
#define RS_CACHE_ENTRIES 256
/* Longest time an answer stays cached whatever its TTL, in seconds; a
 * negative answer with no SOA to bound it (RFC 2308) is cached
 * RS_NEG_TTL seconds. */
#define RS_MAX_TTL 3600
#define RS_NEG_TTL 30

struct rs_resolver;

/* One place to send the request to. */
struct rs_target {
	enum tp_proto proto;
	struct tp_addr addr;
};

/* The outcome of one rs_resolve: err 0 with targets t[0..n-1] (n >= 1) to
 * try in that order, or err SIP_ERR_NOT_FOUND (no such domain, or no
 * address for it), RS_ERR_TIMEOUT, RS_ERR_SERVER, RS_ERR_CANCELLED or
 * SIP_ERR_NOMEM with t NULL and n 0. t is valid during the call only. */
typedef void (*rs_done_fn)(void *arg, int err, const struct rs_target *t, size_t n);

/* Creates a resolver and starts its thread. server "127.0.0.1:5353" or
 * "[::1]:53" (port optional: 53) is then the only DNS server asked, and
 * nothing of the system's configuration (resolv.conf, hosts file, search
 * domains) is read; NULL uses the servers of resolv.conf. Each query is
 * sent tries times (at least 1), waiting timeout_ms each (at least 1; with
 * several system servers, per server); a lookup has at most three rounds
 * of queries (NAPTR, SRV, A/AAAA) and ends at the first round that times
 * out. Returns 0, SIP_ERR_SYNTAX (bad server), SIP_ERR_NOMEM, or
 * RS_ERR_SERVER (c-ares or the thread failed). */
int rs_new(struct rs_resolver **out, const char *server, unsigned timeout_ms, unsigned tries);

/* Stops the thread and frees the resolver: every lookup still pending gets
 * its done(RS_ERR_CANCELLED) first, on the resolver thread, before this
 * returns. Not from a done callback. NULL is a no-op. */
void rs_free(struct rs_resolver *r);

/* Finds where a request for uri goes (the rules at the top). Returns 0 when
 * done will run exactly once: inline, before rs_resolve returns, for a
 * numeric TARGET or an answer still in the cache; else later, on the
 * resolver thread — so do not hold, across rs_resolve, a lock that done
 * takes. done must be quick and may call rs_resolve again, not rs_free.
 * uri is not kept. Otherwise done never runs and the return is
 * SIP_ERR_SCHEME (not sip:), SIP_ERR_UNSUPPORTED (sips:, or transport=
 * other than udp or tcp), SIP_ERR_URI (no usable host or maddr),
 * SIP_ERR_NOMEM, RS_ERR_BUSY (RS_MAX_PENDING reached) or RS_ERR_CANCELLED
 * (the resolver is being freed). Thread-safe. */
int rs_resolve(struct rs_resolver *r, const struct sip_uri *uri, rs_done_fn done, void *arg);

/* "RS_ERR_TIMEOUT" ... for the codes above, else sip_err_name(err). */
const char *rs_err_name(int err);

#endif /* SIPD_RESOLVE_H */
