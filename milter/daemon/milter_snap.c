/*
 * milter_snap.c - configuration snapshots for itip-milter (see milter_snap.h).
 *
 * One mutex guards the pointer to the current snapshot and every reference count; a
 * snapshot's configuration is never written after load, so readers need no lock.  The
 * milter-only settings are checked here, their line found with libconfig so that errors
 * read FILE:LINE like the engine's.  Must never free a snapshot that has references.
 * Each snapshot holds a reference to its store (milter_store.c), released with it.
 */
#include "ac-config.h"
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <libconfig.h>
#include "milter_http.h"
#include "milter_log.h"
#include "milter_metrics.h"
#include "milter_snap.h"
#include "milter_sock.h"

#define PREFIX_MAX 40   /* header_prefix: "<prefix>-Finding: " stays well inside 78 columns */

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static msnap *current;

/* Line of top-level setting NAME in FILE, or 0. */
static int setting_line(const char *file, const char *name)
{
    config_t lc;
    config_setting_t *s;
    int line = 0;

    if (file == NULL)
        return 0;
    config_init(&lc);
    if (config_read_file(&lc, file) == CONFIG_TRUE && (s = config_lookup(&lc, name)) != NULL)
        line = (int)config_setting_source_line(s);
    config_destroy(&lc);
    return line;
}

static int bad(const itip_config *cfg, const char *name, int from_option, char *err,
               size_t errlen, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Formats "FILE:LINE: message" (or "-p: message" for the command-line socket). */
static int bad(const itip_config *cfg, const char *name, int from_option, char *err,
               size_t errlen, const char *fmt, ...)
{
    va_list ap;
    int n, line = from_option ? 0 : setting_line(cfg->file, name);

    if (from_option)
        n = snprintf(err, errlen, "-p: ");
    else if (line > 0)
        n = snprintf(err, errlen, "%s:%d: ", cfg->file, line);
    else
        n = snprintf(err, errlen, "%s: ", cfg->file ? cfg->file : "(built-in defaults)");
    if (n > 0 && (size_t)n < errlen) {
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int check_prefix(const char *p)
{
    size_t n = strlen(p), i;

    if (n == 0 || n > PREFIX_MAX)
        return -1;
    for (i = 0; i < n; i++)
        if (p[i] < 33 || p[i] > 126 || p[i] == ':')
            return -1;
    return 0;
}

static int check_accounts(const itip_config *cfg, char *err, size_t errlen)
{
    if (cfg->user != NULL && getpwnam(cfg->user) == NULL)
        return bad(cfg, "user", 0, err, errlen, "unknown user '%s'", cfg->user);
    if (cfg->socket_group != NULL && getgrnam(cfg->socket_group) == NULL)
        return bad(cfg, "socket_group", 0, err, errlen, "unknown group '%s'",
                   cfg->socket_group);
    return 0;
}

static int validate(const itip_config *cfg, int socket_from_option, char *err, size_t errlen)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    msock_spec spec;
    char why[512];

    if (msock_parse(cfg->socket, &spec, why, sizeof why) < 0)
        return bad(cfg, "socket", socket_from_option, err, errlen, "%s", why);
    if (mlog_facility_parse(cfg->syslog_facility) < 0)
        return bad(cfg, "syslog_facility", 0, err, errlen, "unknown syslog_facility '%s' "
                   "(known: mail, daemon, user, local0 .. local7)", cfg->syslog_facility);
    if (mlog_level_parse(cfg->log_level) < 0)
        return bad(cfg, "log_level", 0, err, errlen, "unknown log_level '%s' (known: error, "
                   "warning, notice, info, debug)", cfg->log_level);
    if (check_prefix(cfg->header_prefix) < 0)
        return bad(cfg, "header_prefix", 0, err, errlen, "header_prefix must be 1 to %d "
                   "printable characters without ':' or spaces", PREFIX_MAX);
    if (cfg->metrics != NULL && mhttp_parse(cfg->metrics, &sa, &salen, why, sizeof why) < 0)
        return bad(cfg, "metrics", 0, err, errlen, "%s", why);
    return check_accounts(cfg, err, errlen);
}

itip_config *msnap_load(const msnap_source *src, char *err, size_t errlen)
{
    itip_config *cfg;

    if (src->optional && access(src->file, F_OK) < 0 && errno == ENOENT) {
        cfg = itip_config_default();         /* no file at the default path: defaults */
        if (cfg == NULL) {
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
    } else if ((cfg = itip_config_load(src->file, err, errlen)) == NULL) {
        return NULL;
    }
    if (src->socket != NULL) {
        free(cfg->socket);
        if ((cfg->socket = strdup(src->socket)) == NULL) {
            itip_config_free(cfg);
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
    }
    if (validate(cfg, src->socket != NULL, err, errlen) < 0) {
        itip_config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* Makes CFG with store MS the current snapshot (owns both; frees both on failure). */
static int install(itip_config *cfg, mstore *ms)
{
    msnap *s = calloc(1, sizeof *s), *old;

    if (s == NULL) {
        mstore_release(ms);
        itip_config_free(cfg);
        return -1;
    }
    s->cfg = cfg;
    s->store = ms;
    s->refs = 1;              /* the reference of "current" */
    pthread_mutex_lock(&snap_lock);
    old = current;
    current = s;
    pthread_mutex_unlock(&snap_lock);
    msnap_release(old);
    mmetrics_generation_bump();
    return 0;
}

int msnap_install(itip_config *cfg)
{
    mstore *ms;

    if (mstore_new(cfg, &ms) < 0) {
        itip_config_free(cfg);
        return -1;
    }
    return install(cfg, ms);
}

msnap *msnap_acquire(void)
{
    msnap *s;

    pthread_mutex_lock(&snap_lock);
    s = current;
    if (s != NULL)
        s->refs++;
    pthread_mutex_unlock(&snap_lock);
    return s;
}

msnap *msnap_hold(msnap *s)
{
    if (s == NULL)
        return NULL;
    pthread_mutex_lock(&snap_lock);
    s->refs++;
    pthread_mutex_unlock(&snap_lock);
    return s;
}

void msnap_release(msnap *s)
{
    int last;

    if (s == NULL)
        return;
    pthread_mutex_lock(&snap_lock);
    last = --s->refs == 0;
    pthread_mutex_unlock(&snap_lock);
    if (last) {
        mstore_release(s->store);
        itip_config_free(s->cfg);
        free(s);
    }
}

itip_store *msnap_store(msnap *s, int *wanted)
{
    *wanted = s != NULL && s->store != NULL;
    return *wanted ? mstore_get(s->store, &s->cfg->state) : NULL;
}

void msnap_store_result(msnap *s, int failed, const char *why)
{
    if (s != NULL)
        mstore_result(s->store, &s->cfg->state, failed, why);
}

static int differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/* Settings read once at start: say so when a reload changes them. */
static void note_restart_only(const itip_config *old, const itip_config *new)
{
    const char *what = differs(old->socket, new->socket) ? "socket"
                     : old->socket_mode != new->socket_mode ? "socket_mode"
                     : differs(old->socket_group, new->socket_group) ? "socket_group"
                     : differs(old->user, new->user) ? "user"
                     : differs(old->pidfile, new->pidfile) ? "pidfile" : NULL;
    if (what != NULL)
        mlog(LOG_NOTICE, "reload: setting '%s' changed; it takes effect only after a restart",
             what);
}

int msnap_reload(const msnap_source *src)
{
    char err[1024];
    itip_config *cfg = msnap_load(src, err, sizeof err);
    mstore *ms = NULL;
    msnap *old;
    int r;

    if (cfg == NULL) {
        mlog(LOG_ERR, "reload failed, keeping the current configuration: %s", err);
        return -1;
    }
    old = msnap_acquire();
    if (old != NULL)
        note_restart_only(old->cfg, cfg);
    r = old != NULL ? mstore_for_reload(old->store, old->cfg, cfg, &ms) : mstore_new(cfg, &ms);
    msnap_release(old);
    if (r < 0)
        itip_config_free(cfg);
    else
        mlog_configure(cfg->syslog_facility, cfg->log_level);
    if (r < 0 || install(cfg, ms) < 0) {
        mlog(LOG_ERR, "reload failed, keeping the current configuration: out of memory");
        return -1;
    }
    mlog(LOG_NOTICE, "configuration reloaded from %s", src->file);
    return 0;
}

void msnap_shutdown(void)
{
    msnap *old;

    pthread_mutex_lock(&snap_lock);
    old = current;
    current = NULL;
    pthread_mutex_unlock(&snap_lock);
    msnap_release(old);
}
