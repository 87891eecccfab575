/*
 * sipua.h — the sipua commands, each run on a started user agent core.
 * Each returns the program's exit status: 0 success, 1 the peer said no
 * or did not answer, 2 bad usage.
 */
#ifndef SIPD_SIPUA_H
#define SIPD_SIPUA_H

struct ua;

/* OPTIONS to target, through proxy when not NULL. */
int sipua_options(struct ua *ua, const char *target, const char *proxy);

#endif /* SIPD_SIPUA_H */
