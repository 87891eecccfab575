/*
 * trace.h — a bounded record of recent calls for the dashboard: every
 * message of INVITE dialogs seen or sent by sipd, keyed by Call-ID, with
 * the call's state derived from them (calling, ringing, answered, ended,
 * failed, cancelled). Fixed size: a ring of calls per shard (the Call-ID's
 * hash picks the shard, one short lock each, nothing but copying done
 * under it), each call with a byte budget for its messages. Only made
 * while the admin HTTP is on.
 */
#ifndef SIPD_TRACE_H
#define SIPD_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "libsip/base.h"
#include "libsip/transport.h"

struct trace;
struct jbuf;

#define TRACE_CALLS 256              /* calls kept, all shards together */
#define TRACE_MSG_MAX 4096           /* bytes of one message's text kept */
#define TRACE_CALL_BYTES (48 * 1024) /* bytes of text kept per call */

/* One message as sipd received or sent it. */
struct trace_ev {
	bool out;               /* sent by sipd */
	bool request;           /* else a response */
	int method;             /* a request's method (enum sip_method) */
	int cseq_method;        /* the CSeq's method */
	int status;             /* a response's status */
	bool initial;           /* an INVITE without a To tag: may start a call */
	struct sip_pl call_id;  /* required */
	struct sip_pl from, to; /* header values (for a new call) */
	const char *text;       /* the whole message */
	size_t len;
	enum tp_proto proto;
	const struct tp_addr *src, *dst;
	int64_t at_us; /* wall clock, microseconds */
};

int trace_new(struct trace **out);
void trace_free(struct trace *t);

/* True when a message with this CSeq method may belong to an INVITE
 * dialog (the rest — REGISTER, OPTIONS, SUBSCRIBE ... — is not traced,
 * without taking a lock). */
bool trace_wants(int cseq_method);
/* Records ev: a new call for an initial INVITE with an unknown Call-ID,
 * else appended to its call when there is one; ignored otherwise. */
void trace_record(struct trace *t, const struct trace_ev *ev);

/* Calls in a live state (calling, ringing, answered) and calls kept. */
void trace_counts(struct trace *t, unsigned long *active, unsigned long *kept);
/* The calls, newest first, as a JSON array of objects (call_id, from, to,
 * state, start, answered, end, duration, messages). `active_only`
 * leaves out ended ones. */
void trace_calls_json(struct trace *t, bool active_only, int64_t now_us, struct jbuf *b);
/* The messages of the call with this Call-ID as a JSON object {call,
 * messages: [{time, dir, src, dst, proto, first_line, text}]}. Returns 0
 * or SIP_ERR_NOT_FOUND. */
int trace_messages_json(struct trace *t, struct sip_pl call_id, struct jbuf *b);

#endif /* SIPD_TRACE_H */
