/*
 * proxy_priv.h — what the files of the stateful proxy share (proxy.c: a
 * call's life, branches and responses; proxy_route.c: §16.4 route
 * preprocessing and §16.5 targets; proxy_stateless.c: §16.11 forwarding
 * without a transaction): the call context and its helpers.
 */
#ifndef SIPD_PROXY_PRIV_H
#define SIPD_PROXY_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "sipd.h"

#define MAX_TARGETS 16
#define PCALL_ARENA (256u * 1024)
#define FWD_MAX 65536
#define CHALLENGES_MAX 8

struct target {
	struct sip_pl uri;   /* the new Request-URI */
	struct sip_pl route; /* Route to add (a binding's Path), or empty */
	struct tsx_peer to;  /* where the branch goes */
	struct sip_pl name;  /* TLS: the host name its certificate must show, or empty */
	int q;
};

struct branch {
	struct pcall *pc;
	size_t target;    /* index in pc->t */
	struct tsx *ct;   /* referenced until its end report */
	bool provisional; /* a 1xx came: a CANCEL may go */
	bool final;       /* a final response (or the layer's 408/503) came */
	bool ended;       /* its end report came and ct was let go */
};

struct pcall {
	pthread_mutex_t mu;
	int refs;
	/* In s->calls (under s->calls_mu) from birth to the last reference;
	 * an INVITE also in s->ringing until the timer C sweep sees it
	 * answered. timer_c is the time (ms) its ringing branches give up. */
	struct pcall *lprev, *lnext;
	struct pcall *rprev, *rnext;
	bool listed, ringing;
	_Atomic uint64_t timer_c;
	struct sipd *s;
	struct tsx *st; /* the server transaction (referenced) */
	struct sip_arena *arena;
	struct sip_msg *req; /* private parsed copy: edits allocate here */
	struct tsx_peer in;  /* where it came from */
	bool invite;
	uint32_t loop;  /* loop_hash of the request as received (before §16.4) */
	bool our_route; /* it came with a Route naming us (a dialog we record-route) */
	bool has_flow;  /* that Route named a TLS flow (flow.c): the next hop's */
	struct tp_addr flow;
	char realm[256];

	/* Targets, sorted by q (next: not yet tried), and a branch per target
	 * tried: room for one in the call itself, the common case; more come
	 * from the arena before the first branch starts (branches are
	 * callback arguments and never move). A call is held for 32 s after
	 * its end (timer M), so its size counts many thousand times. */
	struct target *t;
	struct branch *br;
	size_t cap, nt, next, nbr;
	struct target t1;
	struct branch br1;
	unsigned pending; /* branches without their final response */

	bool answered; /* a final response went upstream */
	bool got_2xx, got_6xx, cancelled;
	int best;       /* best final status so far (0: none) */
	char *best_buf; /* its bytes, our Via removed (NULL: synthesise) */
	size_t best_len;
	struct sip_pl challenges[CHALLENGES_MAX]; /* from every 401/407 */
	bool chal_proxy[CHALLENGES_MAX];
	size_t nchal;
};

/* A sips: Request-URI: every hop over TLS (RFC 3261 §26.2.2). */
static inline bool px_sips(const struct pcall *pc)
{
	return sip_msg_ruri(pc->req)->scheme == SIP_SCHEME_SIPS;
}

/* proxy.c: makes the call's request the bytes buf[0..n) (parsed into an
 * arena of their size, which replaces the call's: call it only while
 * nothing else lives there, i.e. before the targets). False on a parse
 * error or no memory (the call is unchanged). */
bool pcall_set_request(struct pcall *pc, const char *buf, size_t n);
/* proxy.c: drops a reference; the last one unlists and frees the call. */
void pcall_unref(struct pcall *pc);
/* proxy.c: the targets are known (pc->t[0..nt)): sorted by q, the first
 * group's branches start (480 when none can). Takes a reference. */
void pcall_begin(struct pcall *pc);

/* proxy.c: our listener for proto in family, as "host:port" for a Via
 * sent-by or a Record-Route URI. */
bool px_local_for(const struct sipd *s, enum tp_proto proto, sa_family_t fam, char *host,
                  size_t cap, uint16_t *port);

/* proxy_route.c: where a URI's request goes (its numeric host and port
 * over its transport; names need RFC 3263: SIP_ERR_UNSUPPORTED), and the
 * same for a Route/Path value or a bare URI. */
int px_uri_dest(const struct sip_uri *u, struct tsx_peer *to);
int px_pl_uri_dest(struct sip_pl text, struct tsx_peer *to);

/* proxy_route.c: §16.4 preprocessing, the caller's credentials, the
 * targets, then the branches; answers the request itself when it cannot
 * be routed. Takes the reference pcall_new handed. */
void px_admit(struct pcall *pc, const struct tsx_peer *peer, bool in_dialog);

#endif /* SIPD_PROXY_PRIV_H */
