/*
 * milter_store.c - the daemon's hold on the store of the stateful rules (see
 * milter_store.h).
 *
 * One mutex per mstore guards its reference count, the store pointer (NULL while the store
 * is unavailable), the time of the next attempt and the failing flag; the store itself is
 * thread-safe and is used without it.  Exports the mstore_* functions.  Must never close a
 * store that a snapshot still refers to, never log once per message, never let two threads
 * try to open the same store at once.  (A reload may open an LMDB directory that the old
 * store still has open: the LMDB backend shares one environment between such stores, as
 * LMDB requires.)
 */
#include "ac-config.h"
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include "milter_log.h"
#include "milter_store.h"

#define WHERE_MAX (PATH_MAX + 64)

struct mstore {
    pthread_mutex_t lock;
    unsigned refs;
    itip_store *st;             /* NULL while unavailable; closed with the mstore */
    time_t next_retry;          /* while st is NULL: no attempt before this time */
    int failing;                /* the last message that used st saw it fail */
};

static int state_wanted(const itip_config *cfg)
{
    return cfg->state.backend != NULL && strcmp(cfg->state.backend, "none") != 0;
}

/* "lmdb store /var/lib/itip-milter/state", "redis store 127.0.0.1:6379 db 0",
 * "redis store master mymaster (sentinels 10.0.0.1:26379 10.0.0.2:26379) db 0" for the log. */
static void store_where(const itip_state_config *sc, char *buf, size_t len)
{
    if (strcmp(sc->backend, "redis") == 0 && sc->n_sentinels > 0) {
        size_t n = (size_t)snprintf(buf, len, "redis store master %s (sentinels",
                                    sc->master ? sc->master : "-");
        for (size_t i = 0; i < sc->n_sentinels && n < len; i++)
            n += (size_t)snprintf(buf + n, len - n, " %s", sc->sentinels[i]);
        if (n < len)
            snprintf(buf + n, len - n, ") db %ld", sc->database);
    } else if (strcmp(sc->backend, "redis") != 0)
        snprintf(buf, len, "%s store %s", sc->backend, sc->path ? sc->path : "-");
    else if (sc->socket != NULL)
        snprintf(buf, len, "redis store unix:%s db %ld", sc->socket, sc->database);
    else
        snprintf(buf, len, "redis store %s:%ld db %ld", sc->host ? sc->host : "-", sc->port,
                 sc->database);
}

/* Opens the store of SC and logs the outcome (the failure of a later attempt at debug
 * level only: the first one was logged).  NULL on failure. */
static itip_store *store_open(const itip_state_config *sc, int again)
{
    char where[WHERE_MAX], err[512];
    itip_store *st = itip_store_open(sc, err, sizeof err);
    const char *notice;

    store_where(sc, where, sizeof where);
    if (st == NULL) {
        mlog(again ? LOG_DEBUG : LOG_ERR, "state: cannot open the %s: %s; running without "
             "it, stateful rules are skipped", where, err);
        return NULL;
    }
    if ((notice = itip_store_notice(st)) != NULL)
        mlog(LOG_WARNING, "state: %s", notice);
    mlog(LOG_NOTICE, "state: using the %s%s", where,
         again ? " (opened on a later attempt)" : "");
    return st;
}

int mstore_new(const itip_config *cfg, mstore **out)
{
    mstore *ms;

    *out = NULL;
    if (!state_wanted(cfg))
        return 0;
    ms = calloc(1, sizeof *ms);
    if (ms == NULL || pthread_mutex_init(&ms->lock, NULL) != 0) {
        free(ms);
        return -1;
    }
    ms->refs = 1;
    ms->st = store_open(&cfg->state, 0);
    if (ms->st == NULL)
        ms->next_retry = time(NULL) + MSTORE_RETRY;
    *out = ms;
    return 0;
}

void mstore_release(mstore *ms)
{
    int last;

    if (ms == NULL)
        return;
    pthread_mutex_lock(&ms->lock);
    last = --ms->refs == 0;
    pthread_mutex_unlock(&ms->lock);
    if (last) {
        itip_store_close(ms->st);
        pthread_mutex_destroy(&ms->lock);
        free(ms);
    }
}

static int differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

static int same_sentinels(const itip_state_config *a, const itip_state_config *b)
{
    if (a->n_sentinels != b->n_sentinels)
        return 0;
    for (size_t i = 0; i < a->n_sentinels; i++)
        if (differs(a->sentinels[i], b->sentinels[i]))
            return 0;
    return !differs(a->master, b->master) && !differs(a->sentinel_password, b->sentinel_password);
}

static int same_state(const itip_state_config *a, const itip_state_config *b)
{
    return same_sentinels(a, b) && !differs(a->backend, b->backend) && !differs(a->path, b->path) &&
           a->ttl == b->ttl && a->max_size == b->max_size && !differs(a->host, b->host) &&
           a->port == b->port && !differs(a->socket, b->socket) &&
           !differs(a->password, b->password) && a->database == b->database &&
           a->connect_timeout == b->connect_timeout && a->timeout == b->timeout &&
           !differs(a->key_prefix, b->key_prefix);
}

/* OLD with one more reference if it is open; 0 when it is not. */
static int share_if_open(mstore *old)
{
    int open;

    pthread_mutex_lock(&old->lock);
    open = old->st != NULL;
    if (open)
        old->refs++;
    pthread_mutex_unlock(&old->lock);
    return open;
}

int mstore_for_reload(mstore *old, const itip_config *old_cfg, const itip_config *cfg,
                      mstore **out)
{
    int same = old != NULL && same_state(&old_cfg->state, &cfg->state);

    if (same && share_if_open(old)) {
        *out = old;
        return 0;
    }
    if (old != NULL && !state_wanted(cfg))
        mlog(LOG_NOTICE, "reload: state.backend is now \"none\": stateful rules are off");
    else if (same)
        mlog(LOG_NOTICE, "reload: trying the unavailable store again");
    else if (state_wanted(cfg))
        mlog(LOG_NOTICE, "reload: state settings changed: opening the store%s",
             old != NULL ? "; the old one is closed when its messages are done" : "");
    return mstore_new(cfg, out);
}

itip_store *mstore_get(mstore *ms, const itip_state_config *sc)
{
    time_t now = time(NULL);
    itip_store *st;
    int again = 0;

    if (ms == NULL)
        return NULL;
    pthread_mutex_lock(&ms->lock);
    st = ms->st;
    if (st == NULL && now >= ms->next_retry) {
        ms->next_retry = now + MSTORE_RETRY;    /* this thread tries, the others go on */
        again = 1;
    }
    pthread_mutex_unlock(&ms->lock);
    if (!again)
        return st;
    st = store_open(sc, 1);
    pthread_mutex_lock(&ms->lock);
    ms->st = st;
    ms->failing = 0;
    pthread_mutex_unlock(&ms->lock);
    return st;
}

void mstore_result(mstore *ms, const itip_state_config *sc, int failed, const char *why)
{
    char where[WHERE_MAX];
    int changed;

    if (ms == NULL)
        return;
    pthread_mutex_lock(&ms->lock);
    changed = ms->failing != (failed != 0);
    ms->failing = failed != 0;
    pthread_mutex_unlock(&ms->lock);
    if (!changed)
        return;
    store_where(sc, where, sizeof where);
    if (failed)
        mlog(LOG_WARNING, "state: the %s fails: %s; stateful rules are skipped until it "
             "works again", where, why ? why : "unknown failure");
    else
        mlog(LOG_NOTICE, "state: the %s works again", where);
}
