/*
 * conf.c — sipctl reads sipd's own config file (-c FILE): the store
 * (location) and the admin API (http, http-token, http-user), so that one
 * file tells both programs where things are. The other keys are sipd's;
 * sipd checks them.
 */
#include <ini.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

struct conf_ctx {
	struct ctl *c;
	bool *set[4]; /* given on the command line: the file does not override */
	unsigned errors;
	const char *path;
};

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	static const char *const keys[] = {"location", "http", "http-token", "http-user"};
	struct conf_ctx *x = user;
	char *dst[] = {x->c->dsn, x->c->http, x->c->token, x->c->http_user};

	if (section[0] && strcmp(section, "sipd") != 0)
		return 1; /* sipd refuses it; not ours to judge */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(name, keys[i]) != 0 || *x->set[i])
			continue;
		if (strlen(value) >= CTL_TEXT) {
			fprintf(stderr, "sipctl: %s: %s: value too long\n", x->path, name);
			x->errors++;
			return 1;
		}
		snprintf(dst[i], CTL_TEXT, "%s", value);
	}
	return 1;
}

int ctl_read_config(struct ctl *c, const char *path, bool *set_dsn, bool *set_http, bool *set_token,
                    bool *set_user)
{
	struct conf_ctx x = {c, {set_dsn, set_http, set_token, set_user}, 0, path};
	int r = ini_parse(path, on_key, &x);

	if (r < 0) {
		fprintf(stderr, "sipctl: %s: cannot open\n", path);
		return 2;
	}
	if (r > 0) {
		fprintf(stderr,
		        "sipctl: %s:%d: not 'key = value' (sipd --check-config says more)\n", path,
		        r);
		return 2;
	}
	return x.errors ? 2 : 0;
}
