/*
 * store_priv.h — what a location backend provides: a table of operations
 * behind struct loc_store, which every backend embeds as its first member.
 * store.c picks the backend from the DSN and forwards the public calls.
 */
#ifndef SIPD_LOCATION_STORE_PRIV_H
#define SIPD_LOCATION_STORE_PRIV_H

#include "location/location.h"

struct loc_backend_ops {
	const char *name;   /* "memory", "sqlite", "redis" */
	const char *prefix; /* DSN prefix it takes: "memory:", "sqlite:", "redis://" */
	/* rest: the DSN after the prefix. */
	int (*open)(struct loc_store **out, const char *rest, const struct loc_cfg *cfg);
	void (*close)(struct loc_store *s);
	int (*update)(struct loc_store *s, const struct loc_update *u, loc_done_fn done, void *arg);
	int (*lookup)(struct loc_store *s, struct sip_pl aor, int64_t now, loc_done_fn done,
	              void *arg);
	int (*remove)(struct loc_store *s, struct sip_pl aor, struct sip_pl uri);
	int (*remove_all)(struct loc_store *s, struct sip_pl aor);
	long (*expire)(struct loc_store *s, int64_t now);
	int (*iterate)(struct loc_store *s, int64_t now, loc_iter_fn fn, void *arg);
	int (*count)(struct loc_store *s, int64_t now, size_t *aors, size_t *bindings);
	int (*user_put)(struct loc_store *s, const struct loc_user *u);
	int (*user_del)(struct loc_store *s, struct sip_pl user, struct sip_pl domain);
	int (*user_get)(struct loc_store *s, struct sip_pl user, struct sip_pl domain,
	                loc_user_fn done, void *arg);
	int (*user_iterate)(struct loc_store *s, loc_user_iter_fn fn, void *arg);
	int (*secret)(struct loc_store *s, uint8_t out[32]);
};

struct loc_store {
	const struct loc_backend_ops *ops;
	struct loc_cfg cfg;
};

extern const struct loc_backend_ops loc_memory_ops;
extern const struct loc_backend_ops loc_sqlite_ops;
extern const struct loc_backend_ops loc_redis_ops;

#endif /* SIPD_LOCATION_STORE_PRIV_H */
