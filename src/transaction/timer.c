/*
 * timer.c — the timers of RFC 3261 §17 (A to K) and RFC 6026 (L, M) live
 * in one hashed timer wheel per shard (Varghese & Lauck, "Hashed and
 * Hierarchical Timing Wheels", 1987; the same idea as the Linux kernel's
 * timer wheel and Kamailio's tm timers).
 *
 * Why a wheel: a busy proxy holds tens of thousands of transactions, each
 * with one or two timers that are mostly cancelled before they fire (a
 * response stops A and B). Arming and cancelling must be O(1), and a tick
 * must cost in proportion to what fires, not to what exists. A timer sits
 * in the slot (due / TSX_WHEEL_RES) modulo TSX_WHEEL_SLOTS, doubly linked
 * so it unlinks without a search. The span (2048 slots of 16 ms, about
 * 32.8 s) covers the long timers (64*T1 = 32 s with the default T1), so
 * each is usually looked at once; longer ones wait for their round. The
 * resolution only chooses the slot: a timer fires on the first tick at or
 * after its exact due time, never before.
 */
#include <stdlib.h>

#include "tsx_priv.h"

#define TSX_WHEEL_RES 16u
#define TSX_WHEEL_SLOTS 2048u /* a power of two */

static size_t slot_of(uint64_t due)
{
	return (size_t)((due / TSX_WHEEL_RES) & (TSX_WHEEL_SLOTS - 1));
}

int tsx_wheel_init(struct tsx_wheel *w, uint64_t now)
{
	w->slots = calloc(TSX_WHEEL_SLOTS, sizeof(*w->slots));
	w->last = now;
	return w->slots ? 0 : SIP_ERR_NOMEM;
}

void tsx_wheel_fini(struct tsx_wheel *w)
{
	/* Every timer was cancelled with its transaction; the lists are
	 * empty and only the array goes. */
	free(w->slots);
	w->slots = NULL;
}

/* Pushes t at the head of the list *head. */
static void list_push(struct tsx_timer **head, struct tsx_timer *t)
{
	t->next = *head;
	if (t->next)
		t->next->pprev = &t->next;
	t->pprev = head;
	*head = t;
}

void tsx_timer_cancel(struct tsx_timer *t)
{
	if (!t->pprev)
		return;
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	t->next = NULL;
	t->pprev = NULL;
}

void tsx_wheel_add(struct tsx_wheel *w, struct tsx_timer *t, uint64_t due)
{
	tsx_timer_cancel(t);
	/* Already past (the clock moved on while the caller worked): the next
	 * tick fires it, instead of it waiting a whole round. */
	if (due <= w->last)
		due = w->last + 1;
	t->due = due;
	list_push(&w->slots[slot_of(due)], t);
}

/* Moves the timers of one slot that are due at now to the end of the due
 * list (*tail is its last link), so that slots fire in time order. */
static void expire_slot(struct tsx_timer **slot, uint64_t now, struct tsx_timer ***tail)
{
	struct tsx_timer *t = *slot, *next;

	for (; t; t = next) {
		next = t->next;
		if (t->due > now)
			continue; /* a later round, or later in this slot */
		tsx_timer_cancel(t);
		t->pprev = *tail;
		**tail = t;
		*tail = &t->next;
	}
}

void tsx_wheel_expire(struct tsx_wheel *w, uint64_t now, struct tsx_timer **due)
{
	struct tsx_timer **tail = due;
	uint64_t from, to, n;

	if (now <= w->last)
		return;
	while (*tail)
		tail = &(*tail)->next;
	/* The slot of `last` may still hold timers due later in it. */
	from = w->last / TSX_WHEEL_RES;
	to = now / TSX_WHEEL_RES;
	n = to - from + 1;
	if (n > TSX_WHEEL_SLOTS)
		n = TSX_WHEEL_SLOTS; /* a long jump: every slot once */
	for (uint64_t i = 0; i < n; i++)
		expire_slot(&w->slots[(size_t)((from + i) & (TSX_WHEEL_SLOTS - 1))], now, &tail);
	w->last = now;
}

struct tsx_timer *tsx_timer_pop(struct tsx_timer **due)
{
	struct tsx_timer *t = *due;

	if (t)
		tsx_timer_cancel(t);
	return t;
}
