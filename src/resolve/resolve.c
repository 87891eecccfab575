/*
 * resolve.c — the resolver object (RFC 3263 §4 lookups on c-ares): its
 * thread, which owns the c-ares channel and polls the channel's sockets
 * with an eventfd that callers write to after queuing a lookup or asking
 * it to stop; rs_resolve's front half, which turns a URI into a lookup key
 * and answers numeric hosts and cache hits without waking the thread.
 *
 * Why a thread of its own rather than the transport's epoll loops: the
 * channel is not thread-safe, and one channel shared by every worker keeps
 * one socket and one set of retransmissions per DNS server.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "libsip/log.h"

#include "rs_priv.h"

#define DNS_PORT 53
#define SIP_PORT 5060
#define SIPS_PORT 5061

/* ---- requests ---------------------------------------------------------- */

void rs_req_complete(struct rs_resolver *r, struct rs_req *req, int err, const struct rs_plan *p)
{
	struct rs_target t[RS_MAX_TARGETS];
	size_t n = 0;

	pthread_mutex_lock(&r->mu);
	if (!err && p)
		n = rs_plan_order(p, &r->rng, t, RS_MAX_TARGETS);
	r->pending--;
	pthread_mutex_unlock(&r->mu);
	if (!err && n == 0)
		err = SIP_ERR_NOT_FOUND;
	req->done(req->arg, err, err ? NULL : t, err ? 0 : n);
	free(req);
}

/* ---- the resolver thread ---------------------------------------------- */

static void wake(struct rs_resolver *r)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already non-zero: the thread wakes. */
	if (write(r->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		sip_log(SIP_LOG_ERROR, "resolver: eventfd write: %s", strerror(errno));
}

/* One wait on the channel's sockets, the eventfd and the channel's next
 * timeout, then whatever c-ares has to do. poll, not select: a server's
 * descriptors may be above FD_SETSIZE. */
static void poll_once(struct rs_resolver *r)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	struct pollfd pfd[ARES_GETSOCK_MAXNUM + 1];
	struct timeval tv, *tvp;
	int bits = ares_getsock(r->ch, socks, ARES_GETSOCK_MAXNUM), ms;
	nfds_t n = 1;

	pfd[0] = (struct pollfd){.fd = r->wake_fd, .events = POLLIN};
	/* The bits by hand: ARES_GETSOCK_WRITABLE shifts a signed 1 into the
	 * sign bit for the last socket. */
	for (unsigned i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
		unsigned b = (unsigned)bits;
		short ev = (short)((b >> i & 1 ? POLLIN : 0) |
		                   (b >> (i + ARES_GETSOCK_MAXNUM) & 1 ? POLLOUT : 0));

		if (ev)
			pfd[n++] = (struct pollfd){.fd = socks[i], .events = ev};
	}
	tvp = ares_timeout(r->ch, NULL, &tv);
	ms = tvp ? (int)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000) : -1;
	if (poll(pfd, n, ms) < 0) {
		if (errno != EINTR)
			sip_log(SIP_LOG_ERROR, "resolver: poll: %s", strerror(errno));
		return;
	}
	if (pfd[0].revents) {
		uint64_t v;

		if (read(r->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			sip_log(SIP_LOG_ERROR, "resolver: eventfd read: %s", strerror(errno));
	}
	for (nfds_t i = 1; i < n; i++) {
		short ev = pfd[i].revents;
		bool rd = ev & (POLLIN | POLLERR | POLLHUP),
		     wr = ev & (POLLOUT | POLLERR | POLLHUP);

		if (ev)
			ares_process_fd(r->ch, rd ? pfd[i].fd : ARES_SOCKET_BAD,
			                wr ? pfd[i].fd : ARES_SOCKET_BAD);
	}
	/* Expires the queries whose time is up, whether or not a socket woke. */
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

static void *rs_thread(void *arg)
{
	struct rs_resolver *r = arg;

	for (;;) {
		struct rs_req *q;
		bool stop;

		pthread_mutex_lock(&r->mu);
		q = r->queue;
		r->queue = NULL;
		r->queue_tail = &r->queue;
		stop = r->stopping;
		pthread_mutex_unlock(&r->mu);
		/* Once stopping is set no request is queued any more, so this
		 * batch is the last one: it is cancelled, not started. */
		if (stop)
			r->closing = true;
		while (q) {
			struct rs_req *next = q->next;

			rs_job_submit(r, q);
			q = next;
		}
		if (stop)
			break;
		poll_once(r);
	}
	/* Every query left gets ARES_ECANCELLED, so every lookup ends with
	 * RS_ERR_CANCELLED (closing stops them from asking anything more). */
	ares_cancel(r->ch);
	return NULL;
}

/* ---- creating and freeing ------------------------------------------------ */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status;

/* Once per process and never undone: ares_library_init/cleanup are not
 * thread-safe, and on Linux there is nothing to clean up. */
static void lib_init(void)
{
	lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

/* "1.2.3.4", "1.2.3.4:53", "::1", "[::1]", "[::1]:53" into the one server
 * of the channel. */
static int set_server(struct rs_resolver *r, const char *server)
{
	struct sip_pl s = sip_pl_cstr(server), host = s, port = SIP_PL_NULL;
	struct ares_addr_port_node node = {0};
	struct tp_addr a;
	uint32_t pnum = DNS_PORT;
	const char *c;
	int rc;

	if (s.len && s.p[0] == '[') {
		c = memchr(s.p, ']', s.len);
		if (!c)
			return SIP_ERR_SYNTAX;
		host = sip_pl(s.p, (size_t)(c - s.p) + 1);
		if (c + 1 < s.p + s.len) {
			if (c[1] != ':')
				return SIP_ERR_SYNTAX;
			port = sip_pl(c + 2, (size_t)(s.p + s.len - c - 2));
		}
	} else if ((c = memchr(s.p, ':', s.len)) &&
	           !memchr(c + 1, ':', s.len - (size_t)(c + 1 - s.p))) {
		host = sip_pl(s.p, (size_t)(c - s.p));
		port = sip_pl(c + 1, s.len - (size_t)(c + 1 - s.p));
	}
	if (sip_pl_isset(port) && (sip_pl_u32(port, 65535, &pnum) < 0 || pnum == 0))
		return SIP_ERR_SYNTAX;
	if (tp_addr_from_host(&a, host, (uint16_t)pnum) < 0)
		return SIP_ERR_SYNTAX;
	node.family = a.ss.ss_family;
	if (node.family == AF_INET)
		memcpy(&node.addr.addr4, &((struct sockaddr_in *)&a.ss)->sin_addr, 4);
	else
		memcpy(&node.addr.addr6, &((struct sockaddr_in6 *)&a.ss)->sin6_addr, 16);
	node.udp_port = node.tcp_port = (int)pnum;
	rc = ares_set_servers_ports(r->ch, &node);
	if (rc != ARES_SUCCESS) {
		sip_log(SIP_LOG_ERROR, "resolver: server %s: %s", server, ares_strerror(rc));
		return rc == ARES_ENOMEM ? SIP_ERR_NOMEM : RS_ERR_SERVER;
	}
	return 0;
}

static int channel_init(struct rs_resolver *r, const char *server, unsigned timeout_ms)
{
	struct ares_options o;
	char lookups[] = "b";
	int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES, rc;

	memset(&o, 0, sizeof(o));
	/* No ARES_FLAG_STAYOPEN: c-ares then opens a fresh UDP socket, with a
	 * fresh source port, for each burst of queries, which makes forged
	 * answers harder to land than one long-lived port would. */
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	o.timeout = timeout_ms == 0 ? 1 : timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms;
	o.tries = 1; /* the tries are counted in lookup.c, see there */
	/* With a server given, every setting c-ares would otherwise take from
	 * resolv.conf is given too — no servers yet, no search domains, DNS
	 * only — so that c-ares does not even open the file (c-ares 1.18
	 * reads it only for what is left unset). */
	if (server) {
		mask |= ARES_OPT_SERVERS | ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS | ARES_OPT_SORTLIST |
		        ARES_OPT_NDOTS;
		o.nservers = 0;
		o.ndomains = 0;
		o.lookups = lookups;
		o.nsort = 0;
		o.ndots = 1;
	}
	rc = ares_init_options(&r->ch, &o, mask);
	if (rc != ARES_SUCCESS) {
		r->ch = NULL;
		sip_log(SIP_LOG_ERROR, "resolver: c-ares: %s", ares_strerror(rc));
		return rc == ARES_ENOMEM ? SIP_ERR_NOMEM : RS_ERR_SERVER;
	}
	return server ? set_server(r, server) : 0;
}

static void rs_destroy(struct rs_resolver *r)
{
	if (r->ch)
		ares_destroy(r->ch);
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	rs_cache_fini(&r->cache);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

int rs_new(struct rs_resolver **out, const char *server, unsigned timeout_ms, unsigned tries)
{
	struct rs_resolver *r;
	int rc;

	pthread_once(&lib_once, lib_init);
	if (lib_status != ARES_SUCCESS)
		return RS_ERR_SERVER;
	if (!(r = calloc(1, sizeof(*r))))
		return SIP_ERR_NOMEM;
	r->wake_fd = -1;
	r->tries = tries ? tries : 1;
	r->queue_tail = &r->queue;
	pthread_mutex_init(&r->mu, NULL);
	if (getrandom(&r->rng, sizeof(r->rng), 0) != sizeof(r->rng))
		r->rng = tp_now_ms() ^ (uintptr_t)r;
	r->rng |= 1; /* xorshift never leaves 0 */
	if ((rc = rs_cache_init(&r->cache, RS_CACHE_ENTRIES)) < 0 ||
	    (rc = channel_init(r, server, timeout_ms)) < 0)
		goto fail;
	r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->wake_fd < 0 || (errno = pthread_create(&r->thread, NULL, rs_thread, r)) != 0) {
		sip_log(SIP_LOG_ERROR, "resolver: cannot start: %s", strerror(errno));
		rc = RS_ERR_SERVER;
		goto fail;
	}
	*out = r;
	return 0;
fail:
	rs_destroy(r);
	return rc;
}

void rs_free(struct rs_resolver *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stopping = true;
	pthread_mutex_unlock(&r->mu);
	wake(r);
	pthread_join(r->thread, NULL);
	rs_destroy(r);
}

/* ---- rs_resolve --------------------------------------------------------- */

/* A host name as DNS will be asked it: letters, digits, '-' and '_' (SRV
 * owner names), labels of 1..63, lower-cased, without a trailing dot. */
static int host_key(char *dst, struct sip_pl h)
{
	size_t label = 0;

	if (h.len && h.p[h.len - 1] == '.')
		h.len--;
	if (h.len == 0 || h.len > 253)
		return SIP_ERR_URI;
	for (size_t i = 0; i < h.len; i++) {
		char c = h.p[i];

		if (c == '.') {
			if (label == 0)
				return SIP_ERR_URI;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		           c == '_') {
			label++;
		} else if (c >= 'A' && c <= 'Z') {
			c = (char)(c + 32);
			label++;
		} else {
			return SIP_ERR_URI;
		}
		if (label > 63)
			return SIP_ERR_URI;
		dst[i] = c;
	}
	dst[h.len] = '\0';
	return 0;
}

/* The lookup key of uri; 1 with *lit filled when TARGET is numeric (no
 * DNS), 0 for a name, or an error. */
static int uri_key(const struct sip_uri *uri, struct rs_key *k, struct rs_target *lit)
{
	struct sip_pl target = uri->host;
	bool numeric = uri->host_type == SIP_HOST_IPV4 || uri->host_type == SIP_HOST_IPV6;

	if (uri->scheme != SIP_SCHEME_SIP && uri->scheme != SIP_SCHEME_SIPS)
		return SIP_ERR_SCHEME;
	k->port = uri->port;
	k->has_proto = sip_pl_isset(uri->transport);
	k->proto = TP_UDP;
	if (k->has_proto) {
		if (sip_pl_caseeq_str(uri->transport, "tcp"))
			k->proto = TP_TCP;
		else if (sip_pl_caseeq_str(uri->transport, "tls"))
			k->proto = TP_TLS;
		else if (!sip_pl_caseeq_str(uri->transport, "udp"))
			return SIP_ERR_UNSUPPORTED;
	}
	/* §4.1: a sips URI is TLS whatever its transport (RFC 5630 §3.1.3):
	 * SRV _sips._tcp, else the host at 5061. */
	if (uri->scheme == SIP_SCHEME_SIPS) {
		k->has_proto = true;
		k->proto = TP_TLS;
	}
	/* §4: maddr, when present, is the target instead of the host. */
	if (sip_pl_isset(uri->maddr) && uri->maddr.len) {
		target = uri->maddr;
		numeric = tp_addr_from_host(&lit->addr, target, 0) == 0;
	}
	if (numeric) {
		if (tp_addr_from_host(&lit->addr, target,
		                      k->port              ? k->port
		                      : k->proto == TP_TLS ? SIPS_PORT
		                                           : SIP_PORT) < 0)
			return SIP_ERR_URI;
		lit->proto = k->proto;
		return 1;
	}
	if (host_key(k->host, target) < 0)
		return SIP_ERR_URI;
	rs_key_hash(k);
	return 0;
}

int rs_resolve(struct rs_resolver *r, const struct sip_uri *uri, rs_done_fn done, void *arg)
{
	struct rs_target t[RS_MAX_TARGETS];
	const struct rs_plan *hit;
	struct rs_req *req;
	struct rs_key key;
	size_t n = 0;
	int rc = uri_key(uri, &key, &t[0]);

	if (rc < 0)
		return rc;
	if (rc == 1) {
		done(arg, 0, t, 1);
		return 0;
	}
	pthread_mutex_lock(&r->mu);
	if (r->stopping) {
		rc = RS_ERR_CANCELLED;
	} else if ((hit = rs_cache_get(&r->cache, &key, tp_now_ms()))) {
		n = rs_plan_order(hit, &r->rng, t, RS_MAX_TARGETS);
		rc = 1;
	} else if (r->pending >= RS_MAX_PENDING) {
		rc = RS_ERR_BUSY;
	} else if (!(req = malloc(sizeof(*req)))) {
		rc = SIP_ERR_NOMEM;
	} else {
		*req = (struct rs_req){.key = key, .done = done, .arg = arg};
		*r->queue_tail = req;
		r->queue_tail = &req->next;
		r->pending++;
	}
	pthread_mutex_unlock(&r->mu);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		/* A cached negative answer is a plan with no targets. */
		done(arg, n ? 0 : SIP_ERR_NOT_FOUND, n ? t : NULL, n);
		return 0;
	}
	wake(r);
	return 0;
}

const char *rs_err_name(int err)
{
	switch (err) {
	case RS_ERR_TIMEOUT: return "RS_ERR_TIMEOUT";
	case RS_ERR_SERVER: return "RS_ERR_SERVER";
	case RS_ERR_CANCELLED: return "RS_ERR_CANCELLED";
	case RS_ERR_BUSY: return "RS_ERR_BUSY";
	default: return sip_err_name(err);
	}
}
