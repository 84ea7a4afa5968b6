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
 * Sentinel (state.sentinels and state.master set): the master's address is not configured but
 * asked of the sentinels, as Sentinel-aware clients do: SENTINEL get-master-addr-by-name,
 * each sentinel in turn (AUTH state.sentinel_password first when set), starting with the one
 * that answered last, each bounded by the same connect and command timeouts.  A new
 * connection to the address they name is checked with ROLE (instead of PING): a server that
 * is not a master (a stale answer, a demoted master) is not used.  The known master is
 * forgotten, every idle connection to it dropped (and those in use not pooled again), when
 * a connection fails, a command is answered READONLY (a master demoted to replica), ROLE
 * says it is no longer a master, or it cannot be reached; the next new connection asks the
 * sentinels again, so after a failover the store finds the promoted replica by itself.
 * Until then calls fail as for a dead server.
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
    char host[256];
    long port;
} raddr;

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
    /* Sentinel: nsent > 0 */
    int nsent;
    raddr *sent;                /* state.sentinels, parsed */
    char *master_name, *sent_password;
    int sent_first;             /* under mu: the sentinel to ask first (the last that answered) */
    int mknown;                 /* under mu: master holds the address the sentinels named */
    raddr master;
    unsigned mgen;              /* under mu: counts forget_master(); a connection taken under
                                 * an older count is not pooled again */
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
    char at[300] = "";

    if (rs->nsent && c->connection_type == REDIS_CONN_TCP && c->tcp.host)
        snprintf(at, sizeof at, " at %s:%d", c->tcp.host, c->tcp.port);
    if (c->err == REDIS_ERR_IO && strstr(c->errstr, "temporarily unavailable"))
        itip_store_seterr("%s%s: no answer within %ld ms", rs->where, at, rs->timeout_ms);
    else
        itip_store_seterr("%s%s: %s", rs->where, at, c->errstr[0] ? c->errstr : "connection lost");
}

static void forget_master(rstore *rs);

/* Whether error reply R says that the server is a replica now (a master demoted by a
 * failover): then the connection is as good as lost. */
static int demoted(const redisReply *r)
{
    return r->str && strncmp(r->str, "READONLY", 8) == 0;
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
        if (demoted(r)) {
            *conn_lost = 1;
            forget_master(rs);
        }
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* Sentinel: asks a new connection for its ROLE.  0 when it is a master; else R_CONN (also
 * when it is not a master: a transient state, not a configuration error). */
static int check_role(rstore *rs, redisContext *c)
{
    int lost;
    redisReply *r = cmd(rs, c, &lost, "ROLE");
    const char *role;

    if (!r)
        return R_CONN;          /* not -1: an old server without ROLE is no master to use */
    role = r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->type ==
           REDIS_REPLY_STRING ? r->element[0]->str : "?";
    if (strcmp(role, "master") != 0) {
        itip_store_seterr("%s at %s:%d: not a master (ROLE says %s)", rs->where,
                          c->tcp.host ? c->tcp.host : "?", c->tcp.port, role);
        freeReplyObject(r);
        return R_CONN;
    }
    freeReplyObject(r);
    return 0;
}

/* Sends AUTH, SELECT and PING (Sentinel: ROLE) on a new connection.  0, R_CONN or -1 (the server refused). */
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
    if (rs->nsent)
        return check_role(rs, c);
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

/* ---- Sentinel ---- */

/* Drops the master the sentinels named and the idle connections to it (they would only fail
 * one by one), so that the next new connection asks the sentinels again. */
static void forget_master(rstore *rs)
{
    redisContext *drop[POOL_IDLE];
    int n;

    if (!rs->nsent)
        return;
    pthread_mutex_lock(&rs->mu);
    rs->mknown = 0;
    rs->mgen++;
    n = rs->nidle;
    memcpy(drop, rs->idle, sizeof(redisContext *) * (size_t)n);
    rs->nidle = 0;
    pthread_mutex_unlock(&rs->mu);
    for (int i = 0; i < n; i++)
        redisFree(drop[i]);
}

/* Asks sentinel S for the master's address.  0 with *OUT set, else -1 with WHY set. */
static int ask_sentinel(rstore *rs, const raddr *s, raddr *out, char *why, size_t whylen)
{
    redisContext *c = redisConnectWithTimeout(s->host, (int)s->port, ms_tv(rs->connect_ms));
    redisReply *r = NULL;
    int res = -1;

    if (!c || c->err) {
        snprintf(why, whylen, "sentinel %s:%ld: cannot connect: %s", s->host, s->port,
                 c ? c->errstr : "out of memory");
        goto done;
    }
    if (redisSetTimeout(c, ms_tv(rs->timeout_ms)) != REDIS_OK) {
        snprintf(why, whylen, "sentinel %s:%ld: cannot set the command timeout", s->host,
                 s->port);
        goto done;
    }
    if (rs->sent_password) {
        r = redisCommand(c, "AUTH %s", rs->sent_password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(why, whylen, "sentinel %s:%ld: AUTH: %s", s->host, s->port,
                     r ? r->str : c->errstr);
            goto done;
        }
        freeReplyObject(r);
    }
    r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", rs->master_name);
    if (!r) {
        snprintf(why, whylen, "sentinel %s:%ld: %s", s->host, s->port,
                 c->err == REDIS_ERR_IO && strstr(c->errstr, "temporarily unavailable")
                     ? "no answer in time" : c->errstr);
    } else if (r->type == REDIS_REPLY_ERROR) {
        snprintf(why, whylen, "sentinel %s:%ld: %s", s->host, s->port, r->str);
    } else if (r->type == REDIS_REPLY_NIL) {
        snprintf(why, whylen, "sentinel %s:%ld does not know a master \"%s\"", s->host,
                 s->port, rs->master_name);
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
               r->element[0]->type != REDIS_REPLY_STRING ||
               r->element[1]->type != REDIS_REPLY_STRING ||
               r->element[0]->len == 0 || r->element[0]->len >= sizeof out->host) {
        snprintf(why, whylen, "sentinel %s:%ld: unexpected answer to "
                 "get-master-addr-by-name", s->host, s->port);
    } else {
        char *end;
        long port = strtol(r->element[1]->str, &end, 10);
        if (*end != '\0' || port < 1 || port > 65535) {
            snprintf(why, whylen, "sentinel %s:%ld: bad port \"%s\"", s->host, s->port,
                     r->element[1]->str);
        } else {
            memcpy(out->host, r->element[0]->str, r->element[0]->len + 1);
            out->port = port;
            res = 0;
        }
    }
done:
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return res;
}

/* The master's address: the one known, else the first answer of the sentinels, asked in
 * turn.  0 with *OUT set, else -1 with the error set (what the last sentinel said). */
static int master_addr(rstore *rs, raddr *out)
{
    char why[700] = "";
    int first, known;

    pthread_mutex_lock(&rs->mu);
    known = rs->mknown;
    if (known)
        *out = rs->master;
    first = rs->sent_first;
    pthread_mutex_unlock(&rs->mu);
    if (known)
        return 0;
    for (int k = 0; k < rs->nsent; k++) {
        int i = (first + k) % rs->nsent;
        if (ask_sentinel(rs, &rs->sent[i], out, why, sizeof why) == 0) {
            pthread_mutex_lock(&rs->mu);
            rs->master = *out;
            rs->mknown = 1;
            rs->sent_first = i;
            pthread_mutex_unlock(&rs->mu);
            return 0;
        }
    }
    itip_store_seterr("%s: no sentinel named the master (%d asked; last: %s)", rs->where,
                      rs->nsent, why);
    return -1;
}

/* A new connection ready for commands, or NULL with the error set; *refused tells that the
 * server answered the handshake with an error. */
static redisContext *conn_new(rstore *rs, int *refused)
{
    redisContext *c;
    raddr m;
    int r;

    *refused = 0;
    if (rs->nsent) {
        if (master_addr(rs, &m) != 0) {
            mark_down(rs);
            return NULL;
        }
        c = redisConnectWithTimeout(m.host, (int)m.port, ms_tv(rs->connect_ms));
    } else if (rs->socket) {
        c = redisConnectUnixWithTimeout(rs->socket, ms_tv(rs->connect_ms));
    } else {
        c = redisConnectWithTimeout(rs->host, (int)rs->port, ms_tv(rs->connect_ms));
    }
    if (!c || c->err) {
        if (rs->nsent)
            itip_store_seterr("%s at %s:%ld: cannot connect: %s", rs->where, m.host, m.port,
                              c ? c->errstr : "out of memory");
        else
            itip_store_seterr("%s: cannot connect: %s", rs->where,
                              c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        forget_master(rs);
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
        if (r == R_CONN)
            forget_master(rs);
        mark_down(rs);
        return NULL;
    }
    return c;
}

/* A connection for one call: an idle one (*pooled set), else a new one.  NULL: error set.
 * *GEN: the master's generation it belongs to (conn_put). */
static redisContext *conn_get(rstore *rs, int *pooled, unsigned *gen)
{
    redisContext *c = NULL;
    long wait;
    int refused;

    pthread_mutex_lock(&rs->mu);
    *gen = rs->mgen;
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

/* Gives C back to the pool, or frees it when it failed, the pool is full, or the master it
 * was taken for (generation GEN) has been forgotten since. */
static void conn_put(rstore *rs, redisContext *c, int failed, unsigned gen)
{
    if (!c)
        return;
    if (!failed && !c->err) {
        pthread_mutex_lock(&rs->mu);
        if (rs->nidle < POOL_IDLE && gen == rs->mgen) {
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
        /* a transaction's queued command refused as READONLY shows in EXEC's reply too */
        if (res == -1 && r[i] && r[i]->type == REDIS_REPLY_ERROR && demoted(r[i])) {
            forget_master(rs);
            res = R_CONN;
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
        unsigned gen;
        redisContext *c = conn_get(rs, &pooled, &gen);
        if (!c)
            return -1;
        o->drop = 0;
        r = fn(rs, c, o);
        conn_put(rs, c, r == R_CONN || o->drop, gen);
        if (r != R_CONN)
            return r;
        forget_master(rs);      /* Sentinel: maybe a failover; ask again */
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
    free(rs->sent);
    free(rs->master_name);
    free(rs->sent_password);
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
    if (sc->n_sentinels > 0 && sc->master) {
        if (!(rs->sent = calloc(sc->n_sentinels, sizeof *rs->sent)))
            oom = 1;
        for (size_t i = 0; rs->sent && i < sc->n_sentinels; i++)
            if (itip_hostport_parse(sc->sentinels[i], rs->sent[i].host,
                                    sizeof rs->sent[0].host, &rs->sent[i].port) == 0)
                rs->nsent++;    /* the configuration checked them: all of them */
        rs->master_name = dup_or_null(sc->master, &oom);
        rs->sent_password = dup_or_null(sc->sentinel_password && *sc->sentinel_password
                                        ? sc->sentinel_password : NULL, &oom);
        snprintf(rs->where, sizeof rs->where, "redis master %s", sc->master);
    } else if (rs->socket)
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
    unsigned gen;
    int refused;

    if (!rs) {
        snprintf(err, errlen, "redis: out of memory");
        return -1;
    }
    if ((size_t)rs->nsent != sc->n_sentinels || (sc->n_sentinels > 0 && !sc->master)) {
        snprintf(err, errlen, "redis: state.sentinels needs state.master and \"host:port\" "
                 "entries");
        rs_free(rs);
        return -1;
    }
    ignore_sigpipe();
    gen = rs->mgen;
    c = conn_new(rs, &refused);
    if (!c && refused) {
        snprintf(err, errlen, "%s", itip_store_error(NULL));
        rs_free(rs);
        return -1;
    }
    if (c)
        conn_put(rs, c, 0, gen);
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
