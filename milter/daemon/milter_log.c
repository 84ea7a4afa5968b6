/*
 * milter_log.c - itip-milter's logging (see milter_log.h).
 *
 * syslog(3) with LOG_PERROR in the foreground, so tests and systemd's journal see the same
 * lines as syslog.  The level is a setlogmask(3) mask.  Before mlog_init() (option and
 * configuration errors) lines go to standard error.  Never allocates, never exits.
 */
#include "ac-config.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include "milter_log.h"

static int log_open;       /* mlog_init() was called */
static int log_foreground;

static const struct { const char *name; int value; } facilities[] = {
    { "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
    { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
    { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
    { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

static const struct { const char *name; int value; } levels[] = {
    { "error", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
    { "info", LOG_INFO }, { "debug", LOG_DEBUG },
};

int mlog_facility_parse(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < sizeof facilities / sizeof facilities[0]; i++)
        if (strcmp(name, facilities[i].name) == 0)
            return facilities[i].value;
    return -1;
}

int mlog_level_parse(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < sizeof levels / sizeof levels[0]; i++)
        if (strcmp(name, levels[i].name) == 0)
            return levels[i].value;
    return -1;
}

void mlog_init(int foreground)
{
    log_foreground = foreground;
    openlog("itip-milter", LOG_PID | LOG_NDELAY | (foreground ? LOG_PERROR : 0), LOG_MAIL);
    log_open = 1;
}

void mlog_configure(const char *facility, const char *level)
{
    int fac = mlog_facility_parse(facility), lvl = mlog_level_parse(level);

    if (!log_open)
        return;
    if (fac >= 0) {
        closelog();
        openlog("itip-milter", LOG_PID | LOG_NDELAY | (log_foreground ? LOG_PERROR : 0), fac);
    }
    if (lvl >= 0)
        setlogmask(LOG_UPTO(lvl));
}

void mlog(int prio, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (log_open) {
        vsyslog(prio, fmt, ap);
    } else {
        fputs("itip-milter: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
}
