/*
 * milter_log.h - itip-milter's logging: syslog with a configured facility and level, and in
 * the foreground (-f) a copy on standard error.
 *
 * Exports mlog_init(), mlog_configure(), mlog() and the name parsers used to validate the
 * settings syslog_facility and log_level.  Safe from any thread (syslog(3) is).  Never exits.
 */
#ifndef ITIP_MILTER_LOG_H
#define ITIP_MILTER_LOG_H

#include <syslog.h>

/* "mail", "daemon", "user", "local0".."local7" -> LOG_*; -1 when unknown. */
int mlog_facility_parse(const char *name);
/* "error", "warning", "notice", "info", "debug" -> LOG_ERR..LOG_DEBUG; -1 when unknown. */
int mlog_level_parse(const char *name);

/* Opens the log as "itip-milter"; stderr gets a copy when foreground is non-zero.  Until
 * called, mlog() writes to standard error only. */
void mlog_init(int foreground);
/* Applies a facility and a level (names as in the configuration; unknown names are ignored,
 * the configuration loader has rejected them already). */
void mlog_configure(const char *facility, const char *level);

void mlog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
