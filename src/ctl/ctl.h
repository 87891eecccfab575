/*
 * ctl.h — what the files of sipctl share: where sipd is (its store, or its
 * admin API), and the commands that go through the API.
 */
#ifndef SIPD_CTL_H
#define SIPD_CTL_H

#include <stdbool.h>
#include <stddef.h>

#define CTL_TEXT 512

struct ctl {
	char dsn[CTL_TEXT];       /* the store, when there is no API */
	char http[CTL_TEXT];      /* sipd's --http ([ADDR:]PORT or a URL), "" for none */
	char token[CTL_TEXT];     /* --http-token */
	char http_user[CTL_TEXT]; /* --http-user USER:PASS */
};

/* Reads sipd's config file for what sipctl needs (location, http,
 * http-token, http-user); other keys are sipd's business. Values already
 * set in c (from the command line) are kept. Returns 0, or 2 after
 * printing an error naming the file and line. */
int ctl_read_config(struct ctl *c, const char *path, bool *set_dsn, bool *set_http, bool *set_token,
                    bool *set_user);

/* One line from stdin without its newline; with a terminal, asked for
 * twice without echo. 0, or 1 after printing why not. */
int ctl_read_password(char *out, size_t cap);

/* ---- through sipd's admin HTTP API (api_client.c) ---- */

/* Each runs one command against the API and returns the exit status: 0
 * done, 1 refused or failed (printed), 2 bad usage. */
int api_user_set(const struct ctl *c, const char *who, bool change);
int api_user_del(const struct ctl *c, const char *who);
int api_user_list(const struct ctl *c);
int api_reg_list(const struct ctl *c, const char *aor);
int api_reg_remove(const struct ctl *c, const char *aor, const char *contact);
int api_calls(const struct ctl *c, bool active_only);
int api_stats(const struct ctl *c);
int api_trace(const struct ctl *c, const char *aor);

#endif /* SIPD_CTL_H */
