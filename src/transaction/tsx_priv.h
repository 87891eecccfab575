/*
 * tsx_priv.h — the insides of the transaction layer (RFC 3261 §17, RFC
 * 6026): the transaction object, the sharded table that matches messages
 * to it (§17.1.3, §17.2.3), the timer wheel, and the list of effects a
 * state machine leaves behind to be carried out once its shard lock is
 * released. Private to src/transaction.
 *
 * Locking: everything in a shard (its hash table, its wheel, and every
 * field of its transactions marked "under the lock" below) is guarded by
 * the shard's mutex. Only one shard lock is ever held at a time, and none
 * while ops->send or a callback runs: the machines only record what to do
 * (struct tsx_fx), and tsx_fx_run() does it after unlocking.
 */
#ifndef TSX_PRIV_H
#define TSX_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "libsip/hdr.h"
#include "libsip/tsx.h"

/* ---- shared immutable bytes ------------------------------------------------ */

/* A request or response as sent. Reference counted because a send runs
 * without the lock while another thread may replace the transaction's last
 * response: the send keeps its own reference. */
struct tsx_blob {
	atomic_uint refs;
	atomic_uint sends; /* how often it went out: more than once is a retransmission */
	size_t len;
	char data[];
};

/* A blob of len bytes, copied from p when p is not NULL. NULL on NOMEM. */
struct tsx_blob *tsx_blob_new(const char *p, size_t len);
struct tsx_blob *tsx_blob_ref(struct tsx_blob *b);
void tsx_blob_unref(struct tsx_blob *b);

/* ---- timers (timer.c) --------------------------------------------------------- */

/* The RFC's timer letters; TSX_TID_TRYING is the 200 ms after which an
 * INVITE server transaction sends 100 Trying itself (§17.2.1). */
enum tsx_tid {
	TSX_TID_A = 'A',
	TSX_TID_B = 'B',
	TSX_TID_D = 'D',
	TSX_TID_E = 'E',
	TSX_TID_F = 'F',
	TSX_TID_G = 'G',
	TSX_TID_H = 'H',
	TSX_TID_I = 'I',
	TSX_TID_J = 'J',
	TSX_TID_K = 'K',
	TSX_TID_L = 'L',
	TSX_TID_M = 'M',
	TSX_TID_TRYING = 'T',
};

/* A transaction runs at most two timers at once: one that retransmits
 * (A, E, G, or the 100 Trying delay) and one that ends a state. */
enum tsx_slot { TSX_SLOT_RETRANS, TSX_SLOT_TIMEOUT, TSX_NSLOTS };

struct tsx_timer {
	struct tsx_timer *next, **pprev; /* pprev is NULL when not armed */
	uint64_t due;                    /* absolute, in layer milliseconds */
	struct tsx *owner;
	enum tsx_tid id;
};

/* A hashed timer wheel (Varghese & Lauck): a timer sits in the slot of its
 * due time modulo the wheel's span, so arming and cancelling are O(1) and a
 * tick looks only at the slots it passes. Timers longer than the span stay
 * put and are skipped until their round comes. */
struct tsx_wheel {
	struct tsx_timer **slots;
	uint64_t last; /* every timer due at or before this has fired */
};

int tsx_wheel_init(struct tsx_wheel *w, uint64_t now);
void tsx_wheel_fini(struct tsx_wheel *w);
/* Arms t to fire at due (at the next tick when due is already past). */
void tsx_wheel_add(struct tsx_wheel *w, struct tsx_timer *t, uint64_t due);
/* Unlinks t from the wheel or from a list of due timers; no-op if idle. */
void tsx_timer_cancel(struct tsx_timer *t);
static inline bool tsx_timer_armed(const struct tsx_timer *t)
{
	return t->pprev != NULL;
}
/* Moves every timer due at or before now to the list *due. */
void tsx_wheel_expire(struct tsx_wheel *w, uint64_t now, struct tsx_timer **due);
/* Takes the first timer off a list of due timers; NULL when empty. */
struct tsx_timer *tsx_timer_pop(struct tsx_timer **due);

/* ---- the table (table.c) ------------------------------------------------------- */

struct tsx_shard {
	pthread_mutex_t mu;
	struct tsx **buckets; /* chained on tsx->hnext */
	size_t nbuckets;      /* a power of two */
	size_t count;
	struct tsx_wheel wheel;
};

/* What a message is matched by. Slices point into the message the key was
 * taken from (for a transaction: its own copy of its request). */
struct tsx_key {
	uint32_t hash;
	bool server;
	/* Server transaction of a request whose branch lacks the magic cookie:
	 * matched by the RFC 2543 rules of §17.2.3 instead of the branch. */
	bool rfc2543;
	enum sip_method method;  /* INVITE for an ACK (§17.2.3) */
	struct sip_pl mname;     /* the method name, for extension methods */
	struct sip_pl branch;    /* RFC 3261 keys */
	struct sip_pl host;      /* sent-by host of the top Via (server side) */
	uint16_t port;           /* sent-by port, 0 when absent */
	const struct sip_msg *m; /* the message itself, for the RFC 2543 rules */
};

/* Fills the key of a received request or response. False when the
 * message cannot belong to a transaction (no top Via or CSeq; a response
 * without a cookie branch). */
bool tsx_key_request(struct tsx_key *k, const struct sip_msg *m);
bool tsx_key_response(struct tsx_key *k, const struct sip_msg *m);
/* The key of a request a client transaction sends: 0, SIP_ERR_NO_HEADER
 * (no Via or CSeq) or SIP_ERR_BRANCH (no z9hG4bK branch). */
int tsx_key_client(struct tsx_key *k, const struct sip_msg *req);

struct tsx_shard *tsx_shard_of(struct tsx_layer *l, uint32_t hash);
/* Lookups under the shard lock; the result is not referenced. */
struct tsx *tsx_table_find(struct tsx_shard *sh, const struct tsx_key *k);
/* Links t (its key filled) into its shard; the table owns one reference. */
void tsx_table_insert(struct tsx_shard *sh, struct tsx *t);
void tsx_table_remove(struct tsx_shard *sh, struct tsx *t);
int tsx_shards_init(struct tsx_layer *l);
/* Unlinks every transaction without callbacks and frees the shards. */
void tsx_shards_fini(struct tsx_layer *l);

/* ---- effects (layer.c) -------------------------------------------------------------- */

enum tsx_fx_kind {
	TSX_FX_SEND,    /* ops->send(blob) to t's peer */
	TSX_FX_RESP,    /* client callback with a response */
	TSX_FX_FAIL,    /* client callback without one (408, 503) */
	TSX_FX_REQUEST, /* ops->request for a new server transaction */
	TSX_FX_ACK,     /* ops->ack */
	TSX_FX_CANCEL,  /* send the CANCEL that waited for a provisional */
	TSX_FX_TOUCH,   /* nothing: only brings t to the end check */
	TSX_FX_END,     /* the last report: cb(NULL, 0) or server_done */
};

struct tsx_effect {
	enum tsx_fx_kind kind;
	int status;
	int err; /* the send's result */
	struct tsx *t;
	struct tsx_blob *blob;
	const struct sip_msg *msg;
	const struct tsx_peer *from;
	tsx_resp_fn cb; /* TSX_FX_CANCEL: the CANCEL's callback */
	void *cb_arg;
};

/* Bounds. A tick stops taking due timers once TSX_FX_BATCH effects are
 * recorded, and one timer records at most three (send, failure, touch):
 * a round holds at most TSX_FX_BATCH + 2. Settling a round adds at most
 * three per effect (a failed send's failure and touch, an end report),
 * and the round after that, which has no sends, one end per effect. A
 * received message or tsx_respond() records at most four. */
#define TSX_FX_MAX 96
#define TSX_FX_BATCH 24

struct tsx_fx {
	struct tsx_layer *l;
	struct tsx_shard *sh;
	size_t n;
	struct tsx_effect v[TSX_FX_MAX];
};

static inline void tsx_fx_init(struct tsx_fx *fx, struct tsx_layer *l, struct tsx_shard *sh)
{
	fx->l = l;
	fx->sh = sh;
	fx->n = 0;
}

/* Records an effect naming t (under the lock): takes a reference and marks
 * t busy until the effect has run. Returns the entry to fill further. */
struct tsx_effect *tsx_fx_push(struct tsx_fx *fx, enum tsx_fx_kind kind, struct tsx *t);
/* Records a send of b (a new reference) to t's peer. */
void tsx_fx_send(struct tsx_fx *fx, struct tsx *t, struct tsx_blob *b);
/* Carries out the effects with no lock held (the caller must not hold
 * one), then the consequences: transport errors, end reports. Returns the
 * first send error of the first round, or 0. */
int tsx_fx_run(struct tsx_fx *fx);

/* ---- the transaction ----------------------------------------------------------------- */

/* One machine per file (ict.c, nict.c, ist.c, nist.c), called under the
 * shard lock; each records what to do in fx. */
struct tsx_machine {
	/* Enters the first state (Calling, Trying or Proceeding). */
	void (*start)(struct tsx *t, struct tsx_fx *fx);
	/* A response (client), or a retransmitted request or ACK (server). */
	void (*recv)(struct tsx *t, const struct sip_msg *m, const struct tsx_peer *from,
	             struct tsx_fx *fx);
	void (*timer)(struct tsx *t, enum tsx_tid id, struct tsx_fx *fx);
	/* A send of this transaction failed. */
	void (*tp_error)(struct tsx *t, struct tsx_fx *fx);
	/* Server only: the TU's response b. Returns 0 or SIP_ERR_NOT_FOUND
	 * when the state takes no such response (it is then not sent). */
	int (*respond)(struct tsx *t, int status, struct tsx_blob *b, struct tsx_fx *fx);
};

extern const struct tsx_machine tsx_ict_machine;
extern const struct tsx_machine tsx_nict_machine;
extern const struct tsx_machine tsx_ist_machine;
extern const struct tsx_machine tsx_nist_machine;

struct tsx {
	/* The chain link and the key first, in one cache line: a lookup
	 * walks chains of transactions that are mostly cold (hundreds of
	 * thousands wait out timers J, L and M under load) and reads only
	 * these two of each one it passes. */
	struct tsx *hnext;  /* under the lock */
	struct tsx_key key; /* immutable once linked */
	struct tsx_layer *l;
	struct tsx_shard *sh;
	const struct tsx_machine *m;
	atomic_uint refs;
	enum tsx_kind kind;
	struct tsx_peer peer; /* client: where the request goes; server: where responses go */
	struct sip_arena *arena;
	struct sip_msg *req;        /* own parsed copy, immutable; NULL once shed */
	struct tsx_blob *req_bytes; /* client: the request as sent */
	/* Shedding: once t only waits out a timer (D, I, J, K, or L and M of
	 * Accepted) and nobody reads its request any more, the request
	 * (arena, bytes) goes and the key's slices move to keybuf, a few
	 * dozen bytes instead of kilobytes for the 32 s a wait lasts. Nobody
	 * reads it when only the table holds t, or when every holder said so
	 * (tsx_release_request) and no effect naming t is pending; Accepted
	 * needs the latter (its 2xx still reach the TU). shed_pending: in
	 * such a state, not shed yet. */
	atomic_bool shed_pending;
	char *keybuf;
	tsx_resp_fn cb; /* client: immutable */
	void *cb_arg;
	_Atomic(void *) user; /* the layer above's, see tsx_set_user() */

	/* Under the lock: */
	enum tsx_state state;
	struct tsx_blob *last; /* server: last response sent; ICT: the ACK */
	int last_status;
	struct sip_pl resp_to_tag; /* RFC 2543 IST: To tag of its final response */
	struct tsx_timer tmr[TSX_NSLOTS];
	uint64_t interval;   /* current retransmission interval (A, E, G) */
	unsigned busy;       /* effects naming t not yet carried out */
	bool end_pending;    /* terminated; the end report is still due */
	bool ended;          /* the end report has been handed over */
	int end_reason;      /* server_done's reason */
	bool cancel_pending; /* ICT: a CANCEL waits for a provisional */
	bool req_released;   /* tsx_release_request() was called */
	tsx_resp_fn cancel_cb;
	void *cancel_arg;
};

/* Creates a server transaction for a received request (tsx.c); its copy
 * of the request, key and peer are set, not yet linked. */
int tsx_server_new(struct tsx **out, struct tsx_layer *l, const struct sip_msg *m,
                   const struct tsx_peer *from);
/* Frees a transaction that was never linked. */
void tsx_discard(struct tsx *t);

/* The current time of the layer (the last tick). */
uint64_t tsx_now(const struct tsx_layer *l);
/* The duration of timer id for t in ms, from the layer's T1, T2, T4:
 * 0 for the wait timers D, I, J, K on a reliable transport (§17). */
uint64_t tsx_timer_ms(const struct tsx *t, enum tsx_tid id);
/* Arms timer id in its slot to fire after ms. */
void tsx_timer_start(struct tsx *t, enum tsx_slot slot, enum tsx_tid id, uint64_t ms);
void tsx_timer_stop(struct tsx *t, enum tsx_slot slot);
/* Ends t: unlinks it, stops its timers, and arranges the end report
 * (server_done with reason, or the client's last callback). */
void tsx_terminate(struct tsx *t, int reason, struct tsx_fx *fx);
/* Starts wait timer id, or ends t at once when it is zero (reliable).
 * For D, I, J and K, t has done its work: see tsx_waiting(). */
void tsx_wait_or_end(struct tsx *t, enum tsx_tid id, struct tsx_fx *fx);
/* t entered a state where it only waits (struct tsx, shedding): it is
 * shed now if nobody reads its request, else when that becomes true. */
void tsx_waiting(struct tsx *t);
/* Sheds t if it waits and nobody reads its request any more. */
void tsx_shed_if_idle(struct tsx *t);
/* Client: tells the TU the transaction failed (408, 503), then ends it. */
void tsx_client_fail(struct tsx *t, int status, struct tsx_fx *fx);
/* Server: keeps b as the last response and sends it. */
void tsx_server_send(struct tsx *t, int status, struct tsx_blob *b, struct tsx_fx *fx);

/* ICT (ict.c): sends the CANCEL that waited for a provisional response. */
void tsx_ict_cancel_now(struct tsx *ict, tsx_resp_fn cb, void *arg);
/* Starts a client transaction for the request in b (owned by the call). */
int tsx_client_start(struct tsx_layer *l, struct tsx **out, struct tsx_blob *b,
                     const struct tsx_peer *to, tsx_resp_fn cb, void *arg);

/* ---- the layer ----------------------------------------------------------------------- */

struct tsx_layer {
	struct tsx_cfg cfg;
	struct tsx_ops ops;
	void *arg;
	struct tsx_shard *shards;
	unsigned nshards;
	_Atomic uint64_t now;
	atomic_size_t live;
	atomic_size_t max; /* tsx_layer_set_max(); 0: no cap */
	atomic_ulong retransmissions;
};

#endif /* TSX_PRIV_H */
