/*
 * sipua.h — the sipua commands, each run on a started user agent core.
 * Each returns the program's exit status: 0 success, 1 the peer said no
 * or did not answer, 2 bad usage.
 */
#ifndef SIPD_SIPUA_H
#define SIPD_SIPUA_H

struct ua;

int sipua_options(struct ua *ua, const char *target);

#endif /* SIPD_SIPUA_H */
