/*
 * index.h — the in-memory binding index the memory and sqlite backends
 * share: AOR → its bindings, in a hash table of 256 shards (by the FNV-1a
 * hash of the AOR), one mutex each, so that workers registering different
 * AORs rarely meet on a lock.
 *
 * Every change of an AOR goes through loc_apply() (apply.c) under the
 * AOR's shard lock, so concurrent REGISTERs of one AOR are serialised and
 * each sees the one before it. What the index hands out is always a copy
 * (a struct loc_set): no caller ever holds a pointer into the table once
 * the lock is released, so callbacks run without any lock held.
 */
#ifndef SIPD_LOCATION_INDEX_H
#define SIPD_LOCATION_INDEX_H

#include "location/location.h"

/* A self-contained copy of an AOR's bindings: one allocation holding the
 * array and every string it points to. Free with free(). The bindings are
 * sorted by q, highest first (no q counts as 1.0). */
struct loc_set {
	size_t n;
	struct loc_binding b[];
};

/* Copies b[0..n) into one new allocation, in the same order; the
 * bindings' aor is aor. NULL when out of memory. */
struct loc_set *loc_set_copy(struct sip_pl aor, const struct loc_binding *b, size_t n);

/* Sorts b[0..n) by q, highest first; equal q keep their order. */
void loc_bindings_sort(struct loc_binding *b, size_t n);

struct loc_index;

/* Returns 0 or SIP_ERR_NOMEM. */
int loc_index_new(struct loc_index **out);
/* Frees the index and every binding. NULL ok. */
void loc_index_free(struct loc_index *ix);

/* Told the AOR's new set under its shard lock, before it replaces the old
 * one (b may point into the update; copy what you keep). A non-zero return
 * keeps the old set and is returned by the caller. Must not block nor call
 * the index. */
typedef int (*loc_index_hook_fn)(void *arg, struct sip_pl aor, const struct loc_binding *b,
                                 size_t n);

/* Applies u (loc_apply with max contacts) to its AOR. A query (no contact,
 * not remove_all) changes nothing. On success the new set replaces the old,
 * after hook (NULL: none) agreed, and *out (when out is not NULL) is a copy
 * of it, NULL when empty. Returns 0, loc_apply's errors, the hook's, or
 * SIP_ERR_NOMEM; on error nothing changed. */
int loc_index_apply(struct loc_index *ix, const struct loc_update *u, size_t max,
                    loc_index_hook_fn hook, void *arg, struct loc_set **out);

/* Removes the live bindings of aor whose URI equals uri (§19.1.4), or all
 * of them when uri is empty; its expired ones go too. hook as for
 * loc_index_apply. Returns 0, SIP_ERR_NOT_FOUND (no live binding matched:
 * nothing changed), the hook's error or SIP_ERR_NOMEM. */
int loc_index_remove(struct loc_index *ix, struct sip_pl aor, struct sip_pl uri, int64_t now,
                     loc_index_hook_fn hook, void *arg);

/* Replaces the set of aor with b[0..n) (sorted here; n 0 removes it), as
 * loaded from a store. Returns 0 or SIP_ERR_NOMEM (nothing changed). */
int loc_index_set(struct loc_index *ix, struct sip_pl aor, const struct loc_binding *b, size_t n);

/* Called under the shard lock of aor by loc_index_reload: sets *set to the
 * AOR's bindings as they should be (NULL: none), or *keep to leave the
 * index as it is. Returns 0 or an error (the index is left as it is). */
typedef int (*loc_index_load_fn)(void *arg, struct sip_pl aor, struct loc_set **set, bool *keep);

/* Replaces the set of aor by what load gives, under its shard lock (so no
 * update of that AOR runs in between). Returns 0, load's error or
 * SIP_ERR_NOMEM. */
int loc_index_reload(struct loc_index *ix, struct sip_pl aor, loc_index_load_fn load, void *arg);

/* A copy of aor's live bindings at now in *out (NULL when none). Returns 0
 * or SIP_ERR_NOMEM. */
int loc_index_get(struct loc_index *ix, struct sip_pl aor, int64_t now, struct loc_set **out);

/* Drops every binding expired at now. hook (NULL: none) is told, under
 * the shard lock, the remaining set of each AOR that lost some (its
 * return is ignored: the expired bindings go anyway). Returns how many
 * went. */
size_t loc_index_expire(struct loc_index *ix, int64_t now, loc_index_hook_fn hook, void *arg);

/* loc_iterate over the index: each AOR's live bindings are copied under
 * its shard lock (a shard at a time), and fn runs with no lock held.
 * Returns 0, fn's non-zero value, or SIP_ERR_NOMEM. */
int loc_index_iterate(struct loc_index *ix, int64_t now, loc_iter_fn fn, void *arg);

/* Live AORs and bindings at now. */
void loc_index_count(struct loc_index *ix, int64_t now, size_t *aors, size_t *bindings);

/* ---- shared by the backends --------------------------------------------------- */

/* Checks a user before it is stored: user and domain present, at least one
 * HA1, each HA1 empty or lowercase hex of its digest's length (32, 64, 64).
 * Returns 0 or SIP_ERR_SYNTAX. */
int loc_user_check(const struct loc_user *u);

#endif /* SIPD_LOCATION_INDEX_H */
