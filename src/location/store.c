/*
 * store.c — opens the backend a DSN names and forwards the public calls
 * of location.h to it.
 */
#include <string.h>

#include "libsip/log.h"
#include "location/store_priv.h"

static const struct loc_backend_ops *const backends[] = {
        &loc_memory_ops,
        &loc_sqlite_ops,
        &loc_redis_ops,
};

void loc_cfg_default(struct loc_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_contacts = 16;
	cfg->commit_ms = 2;
	cfg->redis_conns = 2;
	cfg->redis_retry_ms = 500;
}

int loc_open(struct loc_store **out, const char *dsn, const struct loc_cfg *cfg)
{
	struct loc_cfg def;
	if (!cfg) {
		loc_cfg_default(&def);
		cfg = &def;
	}
	*out = NULL;
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		const struct loc_backend_ops *ops = backends[i];
		size_t pl = strlen(ops->prefix);
		if (strncmp(dsn, ops->prefix, pl) != 0)
			continue;
		struct loc_store *s = NULL;
		int err = ops->open(&s, dsn + pl, cfg);
		if (err)
			return err;
		s->ops = ops;
		s->cfg = *cfg;
		*out = s;
		return 0;
	}
	sip_log(SIP_LOG_ERROR,
	        "location: unknown DSN \"%s\" (expected memory:, sqlite:PATH or "
	        "redis://HOST:PORT[/DB])",
	        dsn);
	return LOC_ERR_DSN;
}

void loc_close(struct loc_store *s)
{
	if (s)
		s->ops->close(s);
}

const char *loc_backend(const struct loc_store *s)
{
	return s->ops->name;
}

int loc_update(struct loc_store *s, const struct loc_update *u, loc_done_fn done, void *arg)
{
	return s->ops->update(s, u, done, arg);
}

int loc_lookup(struct loc_store *s, struct sip_pl aor, int64_t now, loc_done_fn done, void *arg)
{
	return s->ops->lookup(s, aor, now, done, arg);
}

int loc_remove(struct loc_store *s, struct sip_pl aor, struct sip_pl uri)
{
	return s->ops->remove(s, aor, uri);
}

int loc_remove_all(struct loc_store *s, struct sip_pl aor)
{
	return s->ops->remove_all(s, aor);
}

long loc_expire(struct loc_store *s, int64_t now)
{
	return s->ops->expire(s, now);
}

int loc_iterate(struct loc_store *s, int64_t now, loc_iter_fn fn, void *arg)
{
	return s->ops->iterate(s, now, fn, arg);
}

int loc_count(struct loc_store *s, int64_t now, size_t *aors, size_t *bindings)
{
	return s->ops->count(s, now, aors, bindings);
}

int loc_user_put(struct loc_store *s, const struct loc_user *u)
{
	return s->ops->user_put(s, u);
}

int loc_user_del(struct loc_store *s, struct sip_pl user, struct sip_pl domain)
{
	return s->ops->user_del(s, user, domain);
}

int loc_user_get(struct loc_store *s, struct sip_pl user, struct sip_pl domain, loc_user_fn done,
                 void *arg)
{
	return s->ops->user_get(s, user, domain, done, arg);
}

int loc_user_iterate(struct loc_store *s, loc_user_iter_fn fn, void *arg)
{
	return s->ops->user_iterate(s, fn, arg);
}

int loc_secret(struct loc_store *s, uint8_t out[32])
{
	return s->ops->secret(s, out);
}
