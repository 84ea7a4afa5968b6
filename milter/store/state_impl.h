/*
 * state_impl.h - what state.c needs of each backend (state_lmdb.c, state_redis.c).  Private to
 * the store; users include state.h.
 *
 * The expiry framing is common to both backends and lives in state.c: every value a backend
 * keeps is a "record", an 8-byte big-endian expiry time (seconds since the epoch, of the
 * caller's clock) followed by the caller's bytes.  Backends move records; only the LMDB
 * backend looks inside them (itip_store_rec_expiry) to purge and to evict.
 */
#ifndef ITIP_STATE_IMPL_H
#define ITIP_STATE_IMPL_H

#include <stdint.h>
#include "store/state.h"

#define ITIP_STORE_REC_HDR 8   /* bytes of the expiry prefix of a record */

/* A read-modify-write step on records: as itip_store_merge, but OLD and *OUT are records. */
typedef itip_store_merge itip_store_rawmerge;

typedef struct {
    const char *name;           /* "lmdb", "redis" */
    /* Opens the backend into st->impl.  0, or -1 with a message in err.  May set st->notice. */
    int (*open)(itip_store *st, const itip_state_config *sc, char *err, size_t errlen);
    void (*close)(itip_store *st);
    /* 0 with a malloc'ed record, 1 absent, -1 failure (error set). */
    int (*get)(itip_store *st, const char *key, char **rec, size_t *len);
    /* Stores a record; NOW is the caller's clock (for making room).  0 or -1. */
    int (*put)(itip_store *st, const char *key, const void *rec, size_t len, time_t now);
    /* Atomic read-modify-write of records; MERGE's 1 leaves the entry, -1 aborts (then the
     * backend returns -1 and keeps an error the merge already set).  0 or -1. */
    int (*update)(itip_store *st, const char *key, time_t now, itip_store_rawmerge merge,
                  void *arg);
    /* Removes records expired at NOW; count or -1. */
    long (*purge)(itip_store *st, time_t now);
} itip_store_ops;

struct itip_store {
    const itip_store_ops *ops;
    void *impl;                 /* the backend's own state */
    long ttl;                   /* seconds; a record written at NOW expires at NOW + ttl */
    char notice[512];           /* a one-time notice from open, or "" */
};

extern const itip_store_ops itip_store_lmdb_ops;
extern const itip_store_ops itip_store_redis_ops;

/* Sets this thread's error text (itip_store_error). */
void itip_store_seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The expiry time of record REC (LEN bytes), or INT64_MIN when it is too short to be one. */
int64_t itip_store_rec_expiry(const void *rec, size_t len);

#endif
