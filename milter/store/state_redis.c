/*
 * state_redis.c - the shared backend of the store: a Redis server that several MTA hosts use.
 *
 * Exports itip_store_redis_ops (state_impl.h).
 *
 * Keys are state.key_prefix + the caller's key; values are the records of state.c (the
 * caller's expiry time in front), written with SET ... EX ttl, so Redis forgets an entry ttl
 * seconds of real time after its last write, while state.c judges expiry by the caller's
 * clock.  purge() has nothing to do and returns 0.
 *
 * Connections: a mutex-protected pool of idle connections, created lazily (unix socket when
 * state.socket is set, else host:port, within state.connect_timeout ms), each command bounded
 * by state.timeout ms; after connecting: AUTH (state.password), SELECT (state.database), PING.
 * A thread takes a connection for one call and gives it back; at most POOL_IDLE stay idle.  A
 * connection that failed is dropped; a call that failed on a connection taken from the pool
 * (possibly stale: the server restarted) is retried once on a new one.  After a failed
 * connect, calls fail at once for RETRY_AFTER_MS instead of each waiting for its own timeout,
 * so a dead server costs mail at most one connect timeout per interval.
 *
 * update(): the threads of one process take turns per key (a striped lock), so WATCH only
 * settles races with other processes and hosts: WATCH and GET (one pipeline), the merge, then
 * MULTI, SET and EXEC (another).  When EXEC is refused because another writer changed the key,
 * the merge runs again after a short random pause, at most UPDATE_TRIES times (then -1: a key
 * that hot is not what the stateful rules produce).  Worst case about a quarter second.
 *
 * Open connects once to check the settings: a server that answers AUTH, SELECT or PING with an
 * error fails the open (a configuration error); one that cannot be reached does not (the
 * store's calls then fail until it can), and itip_store_notice() says so.  Writing to a
 * connection the server closed raises SIGPIPE: when that signal is at its default (which would
 * end the process) open sets it to be ignored.  This file never blocks longer than its
 * timeouts and never loops without bound.
 */
#include "ac-config.h"
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include "state_impl.h"

#define POOL_IDLE 16            /* idle connections kept */
#define RETRY_AFTER_MS 1000     /* after a failed connect, calls fail at once for this long */
#define UPDATE_TRIES 16         /* WATCH/EXEC rounds of one update ... */
#define BACKOFF_MAX_MS 16       /* ... with a random pause before each retry, up to this */

#define KEY_LOCKS 64            /* stripes of the per-key update locks */

/* Results of one attempt beside 0, 1 and -1: the connection failed. */
#define R_CONN (-2)

typedef struct {
    pthread_mutex_t mu;
    pthread_mutex_t keylock[KEY_LOCKS]; /* updates of one process take turns per key */
    redisContext *idle[POOL_IDLE];
    int nidle;
    struct timespec down_until; /* CLOCK_MONOTONIC: no connect before */
    char down_msg[200];
    char *host, *socket, *password, *prefix;
    long port, database, connect_ms, timeout_ms, ttl;
    char where[300];            /* "redis 127.0.0.1:6379" for messages */
} rstore;

static struct timeval ms_tv(long ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    return tv;
}

static long ms_until(const struct timespec *t)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
}

/* ---- commands ---- */

/* Sets the error of a connection that gave no reply (a timeout shows as EAGAIN). */
static void conn_error(rstore *rs, redisContext *c)
{
    if (c->err == REDIS_ERR_IO && strstr(c->errstr, "temporarily unavailable"))
        itip_store_seterr("%s: no answer within %ld ms", rs->where, rs->timeout_ms);
    else
        itip_store_seterr("%s: %s", rs->where, c->errstr[0] ? c->errstr : "connection lost");
}

/* Runs one command.  Returns the reply, or NULL with the error set: *conn_lost tells whether
 * the connection is unusable (no reply at all) or the server answered with an error. */
static redisReply *cmd(rstore *rs, redisContext *c, int *conn_lost, const char *fmt, ...)
{
    redisReply *r;
    va_list ap;

    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    *conn_lost = r == NULL;
    if (!r) {
        conn_error(rs, c);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        itip_store_seterr("%s: %s", rs->where, r->str ? r->str : "error reply");
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* Sends AUTH, SELECT and PING on a new connection.  0, R_CONN or -1 (the server refused). */
static int handshake(rstore *rs, redisContext *c)
{
    redisReply *r;
    int lost;

    if (rs->password) {
        if (!(r = cmd(rs, c, &lost, "AUTH %s", rs->password)))
            return lost ? R_CONN : -1;
        freeReplyObject(r);
    }
    if (rs->database != 0) {
        if (!(r = cmd(rs, c, &lost, "SELECT %ld", rs->database)))
            return lost ? R_CONN : -1;
        freeReplyObject(r);
    }
    if (!(r = cmd(rs, c, &lost, "PING")))
        return lost ? R_CONN : -1;
    freeReplyObject(r);
    return 0;
}

/* ---- the pool ---- */

static void mark_down(rstore *rs)
{
    pthread_mutex_lock(&rs->mu);
    clock_gettime(CLOCK_MONOTONIC, &rs->down_until);
    rs->down_until.tv_sec += RETRY_AFTER_MS / 1000;
    rs->down_until.tv_nsec += (RETRY_AFTER_MS % 1000) * 1000000L;
    if (rs->down_until.tv_nsec >= 1000000000L) {
        rs->down_until.tv_sec++;
        rs->down_until.tv_nsec -= 1000000000L;
    }
    snprintf(rs->down_msg, sizeof rs->down_msg, "%s", itip_store_error(NULL));
    pthread_mutex_unlock(&rs->mu);
}

/* A new connection ready for commands, or NULL with the error set; *refused tells that the
 * server answered the handshake with an error. */
static redisContext *conn_new(rstore *rs, int *refused)
{
    redisContext *c;
    int r;

    *refused = 0;
    if (rs->socket)
        c = redisConnectUnixWithTimeout(rs->socket, ms_tv(rs->connect_ms));
    else
        c = redisConnectWithTimeout(rs->host, (int)rs->port, ms_tv(rs->connect_ms));
    if (!c || c->err) {
        itip_store_seterr("%s: cannot connect: %s", rs->where, c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        mark_down(rs);
        return NULL;
    }
    if (redisSetTimeout(c, ms_tv(rs->timeout_ms)) != REDIS_OK) {
        itip_store_seterr("%s: cannot set the command timeout", rs->where);
        redisFree(c);
        return NULL;
    }
    if ((r = handshake(rs, c)) != 0) {
        *refused = r == -1;
        redisFree(c);
        mark_down(rs);
        return NULL;
    }
    return c;
}

/* A connection for one call: an idle one (*pooled set), else a new one.  NULL: error set. */
static redisContext *conn_get(rstore *rs, int *pooled)
{
    redisContext *c = NULL;
    long wait;
    int refused;

    pthread_mutex_lock(&rs->mu);
    if (rs->nidle > 0)
        c = rs->idle[--rs->nidle];
    wait = c ? 0 : ms_until(&rs->down_until);
    if (!c && wait > 0)
        itip_store_seterr("%s: unavailable (next attempt in %ld ms): %s", rs->where, wait,
                          rs->down_msg);
    pthread_mutex_unlock(&rs->mu);
    *pooled = c != NULL;
    if (c || wait > 0)
        return c;
    return conn_new(rs, &refused);
}

/* Gives C back to the pool, or frees it when it failed or the pool is full. */
static void conn_put(rstore *rs, redisContext *c, int failed)
{
    if (!c)
        return;
    if (!failed && !c->err) {
        pthread_mutex_lock(&rs->mu);
        if (rs->nidle < POOL_IDLE) {
            rs->idle[rs->nidle++] = c;
            c = NULL;
        }
        pthread_mutex_unlock(&rs->mu);
    }
    if (c)
        redisFree(c);
}

/* ---- operations ---- */

typedef struct {
    const char *key;            /* prefix + key */
    size_t klen;
    const void *rec;            /* put */
    size_t len;
    char **out;                 /* get */
    size_t *outlen;
    itip_store_rawmerge merge;  /* update */
    void *arg;
    int drop;                   /* the connection is left in an unknown state: close it */
} rop;

/* The value of a GET reply R (then freed): 0 with *out malloc'ed, 1 absent, -1. */
static int take_value(rstore *rs, redisReply *r, char **out, size_t *outlen)
{
    int res;

    if (r->type == REDIS_REPLY_NIL) {
        res = 1;
    } else if (r->type != REDIS_REPLY_STRING) {
        itip_store_seterr("%s: GET answered with reply type %d", rs->where, r->type);
        res = -1;
    } else if (!(*out = malloc(r->len ? r->len : 1))) {
        itip_store_seterr("%s: out of memory for a %zu-byte value", rs->where, r->len);
        res = -1;
    } else {
        memcpy(*out, r->str, r->len);
        *outlen = r->len;
        res = 0;
    }
    freeReplyObject(r);
    return res;
}

static int op_get(rstore *rs, redisContext *c, void *arg)
{
    rop *o = arg;
    int lost;
    redisReply *r = cmd(rs, c, &lost, "GET %b", o->key, o->klen);

    if (!r)
        return lost ? R_CONN : -1;
    return take_value(rs, r, o->out, o->outlen);
}

static int op_put(rstore *rs, redisContext *c, void *arg)
{
    rop *o = arg;
    int lost;
    redisReply *r = cmd(rs, c, &lost, "SET %b %b EX %ld", o->key, o->klen, o->rec, o->len,
                        rs->ttl);

    if (!r)
        return lost ? R_CONN : -1;
    freeReplyObject(r);
    return 0;
}

/* Runs a command whose reply does not matter.  0, R_CONN or -1. */
static int simple(rstore *rs, redisContext *c, const char *fmt, const char *key, size_t klen)
{
    int lost;
    redisReply *r = key ? cmd(rs, c, &lost, fmt, key, klen) : cmd(rs, c, &lost, fmt);

    if (!r)
        return lost ? R_CONN : -1;
    freeReplyObject(r);
    return 0;
}

/* Reads the replies of N pipelined commands into R[].  0; else R_CONN (no reply) or -1 (an
 * error reply), with the error set and every reply freed. */
static int replies(rstore *rs, redisContext *c, int n, redisReply **r)
{
    int res = 0;

    for (int i = 0; i < n; i++) {
        void *x = NULL;
        r[i] = NULL;
        if (res == 0 && redisGetReply(c, &x) != REDIS_OK) {
            conn_error(rs, c);
            res = R_CONN;
        }
        r[i] = x;
        if (res == 0 && r[i]->type == REDIS_REPLY_ERROR) {
            itip_store_seterr("%s: %s", rs->where, r[i]->str ? r[i]->str : "error reply");
            res = -1;
        }
    }
    if (res != 0)
        for (int i = 0; i < n; i++)
            if (r[i])
                freeReplyObject(r[i]);
    return res;
}

/* Sends WATCH and GET in one pipeline: 0 with the value, 1 absent, -1, R_CONN. */
static int watch_get(rstore *rs, redisContext *c, rop *o, char **old, size_t *oldlen)
{
    redisReply *r[2];
    int res;

    if (redisAppendCommand(c, "WATCH %b", o->key, o->klen) != REDIS_OK ||
        redisAppendCommand(c, "GET %b", o->key, o->klen) != REDIS_OK) {
        itip_store_seterr("%s: out of memory", rs->where);
        return -1;
    }
    if ((res = replies(rs, c, 2, r)) != 0)
        return res;
    freeReplyObject(r[0]);
    return take_value(rs, r[1], old, oldlen);
}

/* Sends MULTI, SET and EXEC in one pipeline: 0 done, 2 EXEC refused, -1, R_CONN. */
static int multi_set(rstore *rs, redisContext *c, rop *o, const char *nv, size_t nl)
{
    redisReply *r[3];
    int res;

    if (redisAppendCommand(c, "MULTI") != REDIS_OK ||
        redisAppendCommand(c, "SET %b %b EX %ld", o->key, o->klen, nv, nl, rs->ttl) !=
            REDIS_OK ||
        redisAppendCommand(c, "EXEC") != REDIS_OK) {
        itip_store_seterr("%s: out of memory", rs->where);
        return -1;
    }
    if ((res = replies(rs, c, 3, r)) != 0)
        return res;
    res = r[2]->type == REDIS_REPLY_NIL ? 2 : 0;
    for (int i = 0; i < 3; i++)
        freeReplyObject(r[i]);
    return res;
}

/* One WATCH round: 0 done, 2 EXEC refused (another writer), -1, R_CONN. */
static int update_round(rstore *rs, redisContext *c, rop *o)
{
    char *old = NULL, *nv = NULL;
    size_t oldlen = 0, nl = 0;
    int m, res;

    if ((res = watch_get(rs, c, o, &old, &oldlen)) < 0)
        return res;
    m = res == 0 ? o->merge(o->arg, old, oldlen, &nv, &nl) : o->merge(o->arg, NULL, 0, &nv, &nl);
    free(old);
    if (m != 0) {
        res = simple(rs, c, "UNWATCH", NULL, 0);
        return m < 0 ? -1 : res;
    }
    res = multi_set(rs, c, o, nv, nl);
    free(nv);
    return res;
}

/* A random pause of up to 2^TRY ms (at most BACKOFF_MAX_MS), so that writers that collided
 * on one key do not collide again in step. */
static void backoff(int try)
{
    static __thread unsigned seed;
    long cap = 1L << (try < 5 ? try : 5);
    struct timespec ts;

    if (seed == 0)
        seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&ts;
    if (cap > BACKOFF_MAX_MS)
        cap = BACKOFF_MAX_MS;
    ts.tv_sec = 0;
    ts.tv_nsec = (long)(rand_r(&seed) % (cap * 1000)) * 1000L;
    nanosleep(&ts, NULL);
}

static int op_update(rstore *rs, redisContext *c, void *arg)
{
    rop *o = arg;

    for (int i = 0; i < UPDATE_TRIES; i++) {
        int r;
        if (i > 0)
            backoff(i);
        r = update_round(rs, c, o);
        if (r != 2) {
            o->drop = r == -1;  /* it may have left a WATCH or a MULTI open */
            return r;
        }
    }
    itip_store_seterr("%s: update gave up after %d conflicting writes", rs->where, UPDATE_TRIES);
    return -1;
}

/* Runs FN on a connection; once more on a new one when a pooled connection failed. */
static int with_conn(rstore *rs, int (*fn)(rstore *, redisContext *, void *), rop *o)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int pooled, r;
        redisContext *c = conn_get(rs, &pooled);
        if (!c)
            return -1;
        o->drop = 0;
        r = fn(rs, c, o);
        conn_put(rs, c, r == R_CONN || o->drop);
        if (r != R_CONN)
            return r;
        if (!pooled)
            break;
    }
    return -1;
}

/* The Redis key of KEY, malloc'ed, or NULL with the error set. */
static char *full_key(rstore *rs, const char *key, size_t *klen)
{
    size_t pl = strlen(rs->prefix), kl = strlen(key);
    char *k = malloc(pl + kl + 1);

    if (!k) {
        itip_store_seterr("%s: out of memory", rs->where);
        return NULL;
    }
    memcpy(k, rs->prefix, pl);
    memcpy(k + pl, key, kl + 1);
    *klen = pl + kl;
    return k;
}

static int rd_run(itip_store *st, const char *key, rop *o, int (*fn)(rstore *, redisContext *,
                                                                     void *))
{
    rstore *rs = st->impl;
    char *k = full_key(rs, key, &o->klen);
    int r;

    if (!k)
        return -1;
    o->key = k;
    r = with_conn(rs, fn, o);
    free(k);
    return r;
}

static int rd_get(itip_store *st, const char *key, char **rec, size_t *len)
{
    rop o = { NULL, 0, NULL, 0, rec, len, NULL, NULL, 0 };

    return rd_run(st, key, &o, op_get);
}

static int rd_put(itip_store *st, const char *key, const void *rec, size_t len, time_t now)
{
    rop o = { NULL, 0, rec, len, NULL, NULL, NULL, NULL, 0 };

    (void)now;
    return rd_run(st, key, &o, op_put);
}

static unsigned key_stripe(const char *key)
{
    uint32_t h = 2166136261u;

    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 16777619u;
    return h % KEY_LOCKS;
}

static int rd_update(itip_store *st, const char *key, time_t now, itip_store_rawmerge merge,
                     void *arg)
{
    rstore *rs = st->impl;
    rop o = { NULL, 0, NULL, 0, NULL, NULL, merge, arg, 0 };
    unsigned k = key_stripe(key);
    int r;

    (void)now;
    pthread_mutex_lock(&rs->keylock[k]);
    r = rd_run(st, key, &o, op_update);
    pthread_mutex_unlock(&rs->keylock[k]);
    return r;
}

static long rd_purge(itip_store *st, time_t now)
{
    (void)st;
    (void)now;
    return 0;
}

/* ---- open and close ---- */

static void rs_free(rstore *rs)
{
    for (int i = 0; i < rs->nidle; i++)
        redisFree(rs->idle[i]);
    pthread_mutex_destroy(&rs->mu);
    for (int i = 0; i < KEY_LOCKS; i++)
        pthread_mutex_destroy(&rs->keylock[i]);
    free(rs->host);
    free(rs->socket);
    free(rs->password);
    free(rs->prefix);
    free(rs);
}

static char *dup_or_null(const char *s, int *oom)
{
    char *d = s ? strdup(s) : NULL;

    if (s && !d)
        *oom = 1;
    return d;
}

static rstore *rs_new(const itip_state_config *sc, long ttl)
{
    rstore *rs = calloc(1, sizeof *rs);
    int oom = 0;

    if (!rs)
        return NULL;
    pthread_mutex_init(&rs->mu, NULL);
    for (int i = 0; i < KEY_LOCKS; i++)
        pthread_mutex_init(&rs->keylock[i], NULL);
    rs->host = dup_or_null(sc->host ? sc->host : "127.0.0.1", &oom);
    rs->socket = dup_or_null(sc->socket && *sc->socket ? sc->socket : NULL, &oom);
    rs->password = dup_or_null(sc->password && *sc->password ? sc->password : NULL, &oom);
    rs->prefix = dup_or_null(sc->key_prefix ? sc->key_prefix : "", &oom);
    rs->port = sc->port;
    rs->database = sc->database;
    rs->connect_ms = sc->connect_timeout > 0 ? sc->connect_timeout : 1;
    rs->timeout_ms = sc->timeout > 0 ? sc->timeout : 1;
    rs->ttl = ttl;
    if (rs->socket)
        snprintf(rs->where, sizeof rs->where, "redis %s", rs->socket);
    else
        snprintf(rs->where, sizeof rs->where, "redis %s:%ld", rs->host, rs->port);
    if (oom) {
        rs_free(rs);
        return NULL;
    }
    return rs;
}

static void ignore_sigpipe(void)
{
    struct sigaction sa;

    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        sa.sa_handler = SIG_IGN;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;
        sigaction(SIGPIPE, &sa, NULL);
    }
}

static int rd_open(itip_store *st, const itip_state_config *sc, char *err, size_t errlen)
{
    rstore *rs = rs_new(sc, st->ttl);
    redisContext *c;
    int refused;

    if (!rs) {
        snprintf(err, errlen, "redis: out of memory");
        return -1;
    }
    ignore_sigpipe();
    c = conn_new(rs, &refused);
    if (!c && refused) {
        snprintf(err, errlen, "%s", itip_store_error(NULL));
        rs_free(rs);
        return -1;
    }
    if (c)
        conn_put(rs, c, 0);
    else
        snprintf(st->notice, sizeof st->notice, "%s; the store fails until it is reachable",
                 itip_store_error(NULL));
    st->impl = rs;
    return 0;
}

static void rd_close(itip_store *st)
{
    if (st->impl)
        rs_free(st->impl);
    st->impl = NULL;
}

const itip_store_ops itip_store_redis_ops = {
    "redis", rd_open, rd_close, rd_get, rd_put, rd_update, rd_purge,
};
