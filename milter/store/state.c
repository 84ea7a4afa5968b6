/*
 * state.c - the store of the stateful rules: opens a backend by name (state_lmdb.c,
 * state_redis.c) and frames values with their expiry, the same way for both backends.
 *
 * Exports the functions of state.h.  A value is kept as a record: an 8-byte big-endian expiry
 * time (the caller's NOW + ttl, seconds since the epoch) followed by the caller's bytes.  A
 * record whose expiry is at or before the caller's NOW (or too short to carry one) reads as
 * absent, so a fixed test clock works against any backend, whatever the real time.
 *
 * Errors are kept per thread (itip_store_error), so that one milter connection's failure does
 * not show up as another's.  This file never talks to a database itself and never retries: the
 * backends bound their own retries.
 */
#include "ac-config.h"
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "state_impl.h"

static __thread char store_err[512];

void itip_store_seterr(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(store_err, sizeof store_err, fmt, ap);
    va_end(ap);
}

const char *itip_store_error(const itip_store *st)
{
    (void)st;
    return store_err[0] ? store_err : "no error";
}

const char *itip_store_notice(const itip_store *st)
{
    return st && st->notice[0] ? st->notice : NULL;
}

const char *itip_store_backend(const itip_store *st)
{
    return st ? st->ops->name : "none";
}

/* ---- records ---- */

int64_t itip_store_rec_expiry(const void *rec, size_t len)
{
    const unsigned char *p = rec;
    uint64_t v = 0;

    if (!rec || len < ITIP_STORE_REC_HDR)
        return INT64_MIN;
    for (int i = 0; i < ITIP_STORE_REC_HDR; i++)
        v = (v << 8) | p[i];
    return (int64_t)v;
}

/* A malloc'ed record of VAL with expiry EXP, or NULL when out of memory. */
static char *rec_make(int64_t exp, const void *val, size_t len, size_t *reclen)
{
    char *rec = malloc(ITIP_STORE_REC_HDR + len);
    uint64_t v = (uint64_t)exp;

    if (!rec) {
        itip_store_seterr("out of memory for a %zu-byte value", len);
        return NULL;
    }
    for (int i = ITIP_STORE_REC_HDR - 1; i >= 0; i--, v >>= 8)
        rec[i] = (char)(v & 0xff);
    if (len)
        memcpy(rec + ITIP_STORE_REC_HDR, val, len);
    *reclen = ITIP_STORE_REC_HDR + len;
    return rec;
}

/* Whether record REC is alive at NOW. */
static int rec_alive(const char *rec, size_t len, time_t now)
{
    int64_t exp = itip_store_rec_expiry(rec, len);

    return exp != INT64_MIN && exp > (int64_t)now;
}

static int64_t expiry_of(const itip_store *st, time_t now)
{
    return (int64_t)now + st->ttl;
}

/* ---- open and close ---- */

itip_store *itip_store_open(const itip_state_config *sc, char *err, size_t errlen)
{
    const itip_store_ops *ops;
    itip_store *st;

    if (!sc->backend || strcmp(sc->backend, "none") == 0) {
        snprintf(err, errlen, "state backend is none");
        return NULL;
    }
    if (strcmp(sc->backend, "lmdb") == 0)
        ops = &itip_store_lmdb_ops;
    else if (strcmp(sc->backend, "redis") == 0)
        ops = &itip_store_redis_ops;
    else {
        snprintf(err, errlen, "unknown state backend \"%s\"", sc->backend);
        return NULL;
    }
    if (sc->ttl <= 0) {
        snprintf(err, errlen, "state.ttl must be positive (got %ld)", sc->ttl);
        return NULL;
    }
    st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->ops = ops;
    st->ttl = sc->ttl;
    if (ops->open(st, sc, err, errlen) != 0) {
        free(st);
        return NULL;
    }
    return st;
}

void itip_store_close(itip_store *st)
{
    if (!st)
        return;
    st->ops->close(st);
    free(st);
}

/* ---- operations ---- */

static int check_key(const char *key)
{
    if (!key || !*key) {
        itip_store_seterr("empty store key");
        return -1;
    }
    return 0;
}

int itip_store_get(itip_store *st, const char *key, time_t now, char **val, size_t *len)
{
    char *rec = NULL;
    size_t reclen = 0;
    int r;

    *val = NULL;
    *len = 0;
    if (check_key(key) != 0)
        return -1;
    r = st->ops->get(st, key, &rec, &reclen);
    if (r != 0)
        return r;
    if (!rec_alive(rec, reclen, now)) {
        free(rec);
        return 1;
    }
    /* hand out the bytes after the header, in a buffer of their own */
    memmove(rec, rec + ITIP_STORE_REC_HDR, reclen - ITIP_STORE_REC_HDR);
    *val = rec;
    *len = reclen - ITIP_STORE_REC_HDR;
    return 0;
}

int itip_store_put(itip_store *st, const char *key, const void *val, size_t len, time_t now)
{
    size_t reclen;
    char *rec;
    int r;

    if (check_key(key) != 0)
        return -1;
    rec = rec_make(expiry_of(st, now), val, len, &reclen);
    if (!rec)
        return -1;
    r = st->ops->put(st, key, rec, reclen, now);
    free(rec);
    return r;
}

typedef struct {
    itip_store_merge merge;
    void *arg;
    time_t now;
    int64_t expiry;
} update_ctx;

/* The caller's merge, seen through the framing: an expired or malformed record is absent. */
static int merge_records(void *arg, const char *old, size_t oldlen, char **out, size_t *outlen)
{
    update_ctx *u = arg;
    char *nv = NULL;
    size_t nl = 0;
    int r;

    if (old && !rec_alive(old, oldlen, u->now)) {
        old = NULL;
        oldlen = 0;
    }
    if (old)
        r = u->merge(u->arg, old + ITIP_STORE_REC_HDR, oldlen - ITIP_STORE_REC_HDR, &nv, &nl);
    else
        r = u->merge(u->arg, NULL, 0, &nv, &nl);
    if (r < 0) {
        free(nv);
        itip_store_seterr("update aborted by its merge function");
        return -1;
    }
    if (r == 1) {
        free(nv);
        return 1;
    }
    *out = rec_make(u->expiry, nv, nv ? nl : 0, outlen);
    free(nv);
    return *out ? 0 : -1;
}

int itip_store_update(itip_store *st, const char *key, time_t now, itip_store_merge merge,
                      void *arg)
{
    update_ctx u = { merge, arg, now, expiry_of(st, now) };

    if (check_key(key) != 0)
        return -1;
    return st->ops->update(st, key, now, merge_records, &u);
}

long itip_store_purge(itip_store *st, time_t now)
{
    return st->ops->purge(st, now);
}
