/*
 * tsx.h — the transaction layer (RFC 3261 §17, RFC 6026): the INVITE and
 * non-INVITE client and server machines with timers A–K, matching of
 * requests and responses to transactions (§17.1.3, §17.2.3, RFC 2543
 * rules for branches without the magic cookie), retransmission, and
 * transport errors reported up.
 *
 * The layer owns retransmission and timers; nothing above it re-sends. It
 * sends through a function it is given (the transport, or an in-memory
 * loop in tests) and reads time only from tsx_layer_tick(), so tests drive
 * it with a fake clock. It is safe to use from several worker threads:
 * transactions live in a table sharded by the hash of their key, one lock
 * per shard, and no lock is held while a callback or a send runs.
 */
#ifndef LIBSIP_TSX_H
#define LIBSIP_TSX_H

#include "libsip/msg.h"
#include "libsip/transport.h"

struct tsx_cfg {
	unsigned t1_ms;  /* RTT estimate (default 500) */
	unsigned t2_ms;  /* max retransmit interval for non-INVITE (default 4000) */
	unsigned t4_ms;  /* max time a message stays in the network (default 5000) */
	unsigned shards; /* table shards (default 64) */
};

void tsx_cfg_default(struct tsx_cfg *cfg);

/* Where a message goes to or came from. */
struct tsx_peer {
	enum tp_proto proto;
	struct tp_addr addr;
	uint64_t conn_id; /* TCP connection, 0 for none/UDP */
	/* For a server transaction: where the request came from (its source
	 * address), which the TU needs for received/rport (§18.2.1, RFC
	 * 3581) while addr is where responses go. Unused by the layer. */
	struct tp_addr src;
};

/* Reliable transports (TCP) skip the retransmissions and set the "wait"
 * timers (D, I, J, K) to zero, as §17 says. */
static inline bool tsx_peer_reliable(const struct tsx_peer *p)
{
	return p->proto != TP_UDP;
}

enum tsx_kind {
	TSX_CLIENT_INVITE, /* ICT, Figure 5 */
	TSX_CLIENT,        /* NICT, Figure 6 */
	TSX_SERVER_INVITE, /* IST, Figure 7 + RFC 6026 Accepted */
	TSX_SERVER,        /* NIST, Figure 8 */
};

enum tsx_state {
	TSX_CALLING,
	TSX_TRYING,
	TSX_PROCEEDING,
	TSX_COMPLETED,
	TSX_CONFIRMED,
	TSX_ACCEPTED,
	TSX_TERMINATED,
};

struct tsx;
struct tsx_layer;

/* What the layer tells the layer above. Every callback runs without any
 * lock held, on the thread that received the message, ticked the timer or
 * called tsx_respond(). A struct tsx * passed to a callback is valid
 * during it; keep it longer with tsx_ref(). Callbacks for one transaction
 * may run on several workers at once, but its end report (server_done, or
 * a client's status-0 callback) always comes last, after the others have
 * returned. */
struct tsx_ops {
	/* Sends bytes; 0 or a negative error (a transport error). */
	int (*send)(void *arg, const struct tsx_peer *to, const char *buf, size_t len);
	/* A request that created a new server transaction: req is the message
	 * as received (valid during the call; tsx_request() is the
	 * transaction's own copy). The layer above answers with tsx_respond()
	 * now or later. */
	void (*request)(void *arg, struct tsx *st, const struct sip_msg *req,
	                const struct tsx_peer *from);
	/* A request that belongs to no transaction and starts none: an ACK
	 * for a 2xx (§17.2.3: it goes to the TU), or an ACK matching nothing. */
	void (*ack)(void *arg, const struct sip_msg *ack, const struct tsx_peer *from);
	/* A response matching no client transaction (a 2xx retransmission
	 * after the ICT ended, or a stray): a proxy forwards 2xx statelessly. */
	void (*stray_response)(void *arg, const struct sip_msg *resp, const struct tsx_peer *from);
	/* A server transaction ended, exactly once and last: reason 0 after its
	 * final response's timers, 408 when timer H fired with no ACK, 503 on
	 * a transport error. */
	void (*server_done)(void *arg, struct tsx *st, int reason);
	/* A request that would start a server transaction while the layer
	 * holds its maximum (tsx_layer_set_max): no transaction is made; the
	 * TU may answer statelessly (503). NULL: such requests are dropped. */
	void (*overload)(void *arg, const struct sip_msg *req, const struct tsx_peer *from);
};

/* What a client transaction reports to whoever started it: each response
 * (resp != NULL, status = its code), or the end without a final response
 * (resp == NULL; status 408 for timer B/F, 503 for a transport error, the
 * first send's included). Called once more with resp == NULL and status 0
 * when it terminates, after which the tsx pointer must not be used (unless
 * referenced). It may run before tsx_client_new() returns: a response can
 * arrive while the request is being sent. */
typedef void (*tsx_resp_fn)(struct tsx *ct, const struct sip_msg *resp, int status, void *arg);

/* Creates the layer; cfg fields left 0 take the defaults, ops->send is
 * required. Returns 0, SIP_ERR_NOMEM, or SIP_ERR_UNSUPPORTED (no send). */
int tsx_layer_new(struct tsx_layer **out, const struct tsx_cfg *cfg, const struct tsx_ops *ops,
                  void *arg);
/* Terminates every transaction without callbacks and frees the layer.
 * Call it when no worker uses the layer any more; transactions still
 * referenced then only take tsx_unref() and the accessors that take no
 * lock (tsx_kind, tsx_request, tsx_peer). */
void tsx_layer_free(struct tsx_layer *l);

/* Hands a parsed message to the layer: a request is matched to a server
 * transaction (a retransmission gets the last response again, an ACK for
 * a non-2xx final is absorbed, a CANCEL gets its own server transaction
 * and tsx_cancel_target() finds the INVITE), else creates one; a response
 * goes to its client transaction. For a request, `from` is where its
 * responses go (the caller applies §18.2.2 / RFC 3581, e.g. with
 * tp_response_dest()) and becomes tsx_peer() of the server transaction;
 * for a response, where it came from. The message is only read during
 * the call. A request without a top Via or CSeq is dropped. */
void tsx_layer_recv(struct tsx_layer *l, const struct sip_msg *m, const struct tsx_peer *from);

/* Fires the timers due at now_ms. With several workers, worker w of n
 * ticks the shards s with s % n == w; a single thread passes 0, 1. */
void tsx_layer_tick(struct tsx_layer *l, unsigned worker, unsigned nworkers, uint64_t now_ms);
/* The time the layer believes it is (the last tick; tests set it). */
uint64_t tsx_layer_now(const struct tsx_layer *l);

/* Number of live transactions (all states but terminated). */
size_t tsx_layer_count(const struct tsx_layer *l);
/* At most max live transactions (0: no cap; may change at any time):
 * beyond it new requests go to ops->overload instead. */
void tsx_layer_set_max(struct tsx_layer *l, size_t max);
/* Sends of bytes that had gone out before: requests and responses sent
 * again on a timer or for a retransmitted request, ACKs repeated. */
unsigned long tsx_layer_retransmissions(const struct tsx_layer *l);

/* ---- server transactions -------------------------------------------------- */

/* Sends a response (status 100–699) on a server transaction, drives its
 * machine (Proceeding → Completed/Accepted/Terminated) and keeps the bytes
 * for retransmissions. buf is copied. Returns 0; SIP_ERR_NOT_FOUND when
 * the transaction takes no such response any more (terminated, or a final
 * response already sent — except further 2xx on an INVITE in Accepted:
 * a proxy then forwards a late 2xx itself); SIP_ERR_RANGE for a bad
 * status; SIP_ERR_NOMEM; or the send error. A send error ends the
 * transaction (server_done 503, which may run inside this call), except
 * for a 2xx, after which an INVITE stays Accepted (RFC 6026). */
int tsx_respond(struct tsx *st, int status, const char *buf, size_t len);

/* For a CANCEL's server transaction: the INVITE server transaction it
 * cancels (§9.2: same branch and sent-by, or the RFC 2543 rules), still
 * live, referenced (tsx_unref it), or NULL. */
struct tsx *tsx_cancel_target(struct tsx *cancel_st);

/* ---- client transactions ---------------------------------------------------- */

/* Starts a client transaction sending req (a whole request with the top
 * Via carrying a unique z9hG4bK branch) to `to`. buf is copied. The kind
 * follows the method; ACK is not a transaction (send it directly). When
 * out is not NULL, *out is set (before the first send) and holds a
 * reference the caller drops with tsx_unref(). Returns 0 (a failed first
 * send is then reported through cb), a parse error, SIP_ERR_UNSUPPORTED
 * for ACK or a response, SIP_ERR_NO_HEADER without Via or CSeq,
 * SIP_ERR_BRANCH when the branch lacks the magic cookie or a live client
 * transaction already uses it for this method, or SIP_ERR_NOMEM. */
int tsx_client_new(struct tsx_layer *l, struct tsx **out, const char *buf, size_t len,
                   const struct tsx_peer *to, tsx_resp_fn cb, void *arg);

/* Builds the CANCEL for a client INVITE transaction (§9.1: Request-URI,
 * Call-ID, To, From, CSeq number, top Via and Route of the INVITE) and
 * sends it as a new client transaction reporting to cb. Before any
 * provisional response the CANCEL is held and sent on the first one (and
 * dropped, cb never called, if a final response or timer B comes first).
 * Returns 0, SIP_ERR_NOT_FOUND when ict is no INVITE client transaction or
 * has its final response already, or an error of tsx_client_new(). */
int tsx_client_cancel(struct tsx *ict, tsx_resp_fn cb, void *arg);

/* The transport lost what was queued for peer (tp_set_conn_error): every
 * client transaction waiting to reach it over proto ends as after a
 * failed send (503 to its TU), now rather than by timer B/F. */
void tsx_layer_peer_failed(struct tsx_layer *l, enum tp_proto proto, const struct tp_addr *addr);

/* ---- common ----------------------------------------------------------------- */

void tsx_ref(struct tsx *t);
void tsx_unref(struct tsx *t);
enum tsx_kind tsx_kind(const struct tsx *t);
enum tsx_state tsx_state(const struct tsx *t);
/* The request that created the transaction (its own parsed copy, never
 * changed by the layer). Headers decoded on first use are cached in its
 * arena: decoding them from two threads at once is a race, so decode what
 * you need where the transaction starts (one thread). NULL once the
 * transaction only waits out timer D, I, J or K with nobody but the layer
 * holding it, or waits in any state after tsx_release_request(): it then
 * drops the request to keep memory small. Otherwise it stays while you
 * hold a reference taken before that, and during callbacks for the
 * transaction other than the end reports (server_done, a client's
 * status-0 call). */
const struct sip_msg *tsx_request(const struct tsx *t);
/* Says that the holders of t will not call tsx_request(t) again (a proxy
 * that has forwarded its request, answered it, or holds t only to pass
 * 2xx retransmissions): the layer may then drop the request as soon as t
 * only waits, Accepted included, instead of when the last holder lets go. */
void tsx_release_request(struct tsx *t);
/* Client: where its request goes; server: where its responses go. */
const struct tsx_peer *tsx_peer(const struct tsx *t);
const char *tsx_state_name(enum tsx_state s);
/* One pointer the layer above may hang on a transaction (a proxy's
 * context for an INVITE, so a CANCEL can find it), NULL at first. The
 * layer never reads it; the owner clears it before freeing what it
 * points to. */
void tsx_set_user(struct tsx *t, void *user);
void *tsx_user(struct tsx *t);

#endif /* LIBSIP_TSX_H */
