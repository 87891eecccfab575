/*
 * log.c — leveled log lines on stderr with a UTC timestamp, or to syslog
 * (which stamps them itself). The level is an atomic so a reload may
 * change it while workers log.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "libsip/log.h"

static atomic_int log_level = SIP_LOG_INFO;

static const char *const names[] = {"error", "warn", "info", "debug"};
static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
static atomic_bool to_syslog;

void sip_log_to_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	atomic_store(&to_syslog, true);
}

void sip_log_set_level(enum sip_log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum sip_log_level sip_log_get_level(void)
{
	return (enum sip_log_level)atomic_load(&log_level);
}

int sip_log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

bool sip_log_enabled(enum sip_log_level level)
{
	return (int)level <= atomic_load(&log_level);
}

void sip_log(enum sip_log_level level, const char *fmt, ...)
{
	char line[1024], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if (!sip_log_enabled(level))
		return;
	if (atomic_load(&to_syslog)) {
		va_start(ap, fmt);
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		syslog(priorities[level], "%s", line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ %-5s ", stamp, ts.tv_nsec / 1000000,
	             names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line so lines of concurrent workers do not mix. */
	fprintf(stderr, "%s\n", line);
}
