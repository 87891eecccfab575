/*
 * log.h — one line per event, to stderr or syslog, filtered by a
 * level. The level is process configuration: set once at start-up (and on
 * reload), read by every thread.
 */
#ifndef LIBSIP_LOG_H
#define LIBSIP_LOG_H

#include <stdbool.h>

enum sip_log_level {
	SIP_LOG_ERROR = 0,
	SIP_LOG_WARN,
	SIP_LOG_INFO,
	SIP_LOG_DEBUG,
};

/* Sets the most verbose level printed (default SIP_LOG_INFO). */
void sip_log_set_level(enum sip_log_level level);
enum sip_log_level sip_log_get_level(void);
/* From now on lines go to syslog (facility daemon, with the pid) instead
 * of stderr. Call it once, before threads log. */
void sip_log_to_syslog(const char *ident);
/* "error", "warn", "info", "debug" → level; -1 when unknown. */
int sip_log_level_parse(const char *name);
/* True when a line at this level would be printed (test before costly
 * formatting on hot paths). */
bool sip_log_enabled(enum sip_log_level level);
/* Prints "2026-11-24T10:00:00.123Z LEVEL message\n" to stderr. */
void sip_log(enum sip_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* LIBSIP_LOG_H */
