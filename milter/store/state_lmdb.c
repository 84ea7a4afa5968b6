/*
 * state_lmdb.c - the embedded backend of the store: one LMDB environment in a directory.
 *
 * Exports itip_store_lmdb_ops (state_impl.h).
 *
 * Layout: state.path is a directory (created, mode 0750, when missing and its parent exists);
 * the data live in the one file "data.mdb" inside it, next to LMDB's "lock.mdb" (reader table
 * and writer lock; both mode 0660 less the umask).  The map size is state.max_size, so the data
 * file never grows beyond it (an existing larger file is used at its size, never shrunk).
 *
 * Durability: MDB_NOMETASYNC, one fsync per write instead of two; a system crash may undo the
 * last write, never corrupts the file.
 *
 * Sharing: the environment is opened with MDB_NOTLS, so a read transaction is not tied to a
 * thread and any number of the milter's threads may use one itip_store; writers are serialised
 * by LMDB's own lock, which also covers other processes that open the same directory.  LMDB
 * forbids opening one environment twice in a process, so stores opened on the same directory
 * share one environment, counted (a reload may open the new store before closing the old one).
 * A store must not be used across fork(): open it in the process that uses it.
 *
 * Size cap: LMDB copies pages even to delete, so a map filled to its last page could not be
 * emptied.  A write therefore makes room first when the pages in use (high-water mark less the
 * free list) leave less than 1/16 of the map (at least 32 pages) free, and again when it meets
 * MDB_MAP_FULL: expired entries are purged, and if none were, the entries that expire soonest
 * are evicted in growing batches (1/16 of the entries, at least 16, doubling per round, a
 * bounded number of rounds), so writes keep succeeding and the oldest meetings go first.  A
 * value larger than a quarter of the map, or a map that cannot be freed, fails with -1 and a
 * clear error; nothing crashes.
 *
 * Damage: at open, a data file that LMDB rejects (MDB_INVALID, MDB_CORRUPTED,
 * MDB_VERSION_MISMATCH, MDB_PAGE_NOTFOUND, MDB_PANIC, checked by reading its first and last
 * entries) is renamed "data.mdb.corrupt-<unixtime>" and a new store created (if the lock file
 * is what LMDB rejects, it is moved aside the same way); itip_store_notice() then says so.  At
 * run time every transaction first checks that the data file still exists and is not shorter
 * than the store (a truncated mapping would raise SIGBUS): such a store fails with -1 until it
 * is reopened.
 *
 * Keys longer than LMDB's key limit (511 bytes) are shortened to a prefix plus a 64-bit hash
 * of the whole key.  This file never calls back into the store from a merge function and never
 * holds a transaction across calls.
 */
#include "ac-config.h"
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include "state_impl.h"

#define DATA_FILE "data.mdb"
#define LOCK_FILE "lock.mdb"
#define FILE_MODE 0660
#define DIR_MODE 0750
#define MAX_READERS 510         /* read transactions of all processes at once */
#define ROOM_ROUNDS 5           /* purge, then up to four eviction batches */
#define ROOM_RESERVE 16          /* keep 1/16 of the map free for deletions ... */
#define ROOM_RESERVE_MIN 32     /* ... and at least this many pages */
#define EVICT_MIN 16            /* the first eviction batch: entries/16, at least this */
#define DELETE_CHUNK 256        /* deletions per write transaction while making room */
#define PURGE_BATCH 1024        /* expired keys collected per scan in a purge */
#define KEY_BUF 1024            /* room for a shortened key; LMDB's limit is 511 */

/* Internal results of a write step, beside LMDB's codes. */
#define W_ABORT (-30999)
#define W_UNCHANGED (-30998)

typedef struct lenv {
    struct lenv *next;
    pid_t pid;
    dev_t dev;
    ino_t ino;
    int refs;
    MDB_env *env;
    MDB_dbi dbi;
    pthread_rwlock_t rw;        /* read: a transaction runs; write: the map size changes */
    size_t mapsize;
    size_t psize;
    size_t maxkey;
    char dir[PATH_MAX];
} lenv;

static pthread_mutex_t envs_mu = PTHREAD_MUTEX_INITIALIZER;
static lenv *envs;

static void lm_seterr(const lenv *e, const char *what, int rc)
{
    itip_store_seterr("lmdb %s: %s: %s", e->dir, what, mdb_strerror(rc));
}

static int is_damage(int rc)
{
    return rc == MDB_INVALID || rc == MDB_CORRUPTED || rc == MDB_VERSION_MISMATCH ||
           rc == MDB_PAGE_NOTFOUND || rc == MDB_PANIC;
}

/* ---- keys ---- */

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* KEY as an LMDB key, shortened into BUF (KEY_BUF bytes) when too long. */
static void lm_key(const lenv *e, const char *key, char *buf, MDB_val *k)
{
    size_t n = strlen(key), keep;

    if (n <= e->maxkey) {
        k->mv_data = (void *)key;
        k->mv_size = n;
        return;
    }
    keep = e->maxkey - 17;
    memcpy(buf, key, keep);
    snprintf(buf + keep, KEY_BUF - keep, "#%016" PRIx64, fnv1a(key, n));
    k->mv_data = buf;
    k->mv_size = keep + 17;
}

/* ---- transactions ---- */

/* The data file is still linked and holds every page of the store (else reading the map
 * would fault).  Even the meta pages that mdb_env_info reads must be checked for first; the
 * size is taken again after the info, since the file only grows while others write. */
static int file_ok(const lenv *e)
{
    MDB_envinfo info;
    struct stat sb;
    int fd;

    if (mdb_env_get_fd(e->env, &fd) != 0 || fstat(fd, &sb) != 0) {
        itip_store_seterr("lmdb %s: cannot examine the data file: %s", e->dir, strerror(errno));
        return -1;
    }
    if (sb.st_nlink == 0) {
        itip_store_seterr("lmdb %s: the data file was removed; reopen the store", e->dir);
        return -1;
    }
    if ((uint64_t)sb.st_size >= 2 * (uint64_t)e->psize && mdb_env_info(e->env, &info) == 0 &&
        fstat(fd, &sb) == 0 &&
        (uint64_t)sb.st_size >= ((uint64_t)info.me_last_pgno + 1) * e->psize)
        return 0;
    itip_store_seterr("lmdb %s: the data file is shorter than the store (%lld bytes, "
                      "truncated?); reopen the store", e->dir, (long long)sb.st_size);
    return -1;
}

/* Another process grew the map: adopt its size, with no transaction of ours running. */
static int adopt_mapsize(lenv *e)
{
    int rc;

    pthread_rwlock_unlock(&e->rw);
    pthread_rwlock_wrlock(&e->rw);
    rc = mdb_env_set_mapsize(e->env, 0);
    pthread_rwlock_unlock(&e->rw);
    pthread_rwlock_rdlock(&e->rw);
    return rc;
}

/* Begins a transaction holding the read side of e->rw; on failure the lock is released and
 * the error set.  txn_end releases it after the commit or abort. */
static int txn_begin(lenv *e, unsigned flags, MDB_txn **txn)
{
    int rc;

    pthread_rwlock_rdlock(&e->rw);
    if (file_ok(e) != 0) {
        pthread_rwlock_unlock(&e->rw);
        return -1;
    }
    rc = mdb_txn_begin(e->env, NULL, flags, txn);
    if (rc == MDB_MAP_RESIZED && (rc = adopt_mapsize(e)) == 0)
        rc = mdb_txn_begin(e->env, NULL, flags, txn);
    if (rc != 0) {
        pthread_rwlock_unlock(&e->rw);
        lm_seterr(e, "begin transaction", rc);
        return -1;
    }
    return 0;
}

static void txn_end(lenv *e)
{
    pthread_rwlock_unlock(&e->rw);
}

/* ---- scans and deletions (purge, eviction) ---- */

typedef struct {
    char *key;
    size_t klen;
    int64_t exp;
} lkey;

typedef struct {
    lkey *v;
    size_t n, cap;
} lkeys;

static void lkeys_free(lkeys *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].key);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int lkeys_add(lkeys *l, const MDB_val *k, int64_t exp)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        lkey *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n].key = malloc(k->mv_size ? k->mv_size : 1);
    if (!l->v[l->n].key)
        return -1;
    memcpy(l->v[l->n].key, k->mv_data, k->mv_size);
    l->v[l->n].klen = k->mv_size;
    l->v[l->n].exp = exp;
    l->n++;
    return 0;
}

/* Calls FN on every entry (its key and expiry) until FN returns nonzero: 1 stops, -1 fails. */
static int scan(lenv *e, int (*fn)(void *ctx, const MDB_val *k, int64_t exp), void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc, r = 0;

    if (txn_begin(e, MDB_RDONLY, &txn) != 0)
        return -1;
    rc = mdb_cursor_open(txn, e->dbi, &cur);
    if (rc == 0) {
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && r == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
            r = fn(ctx, &k, itip_store_rec_expiry(v.mv_data, v.mv_size));
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    txn_end(e);
    if (r < 0) {
        itip_store_seterr("lmdb %s: out of memory while scanning", e->dir);
        return -1;
    }
    if (rc != 0 && rc != MDB_NOTFOUND && r == 0) {
        lm_seterr(e, "scan", rc);
        return -1;
    }
    return 0;
}

/* Deletes N keys of L from FROM, each only if its expiry is still the one scanned. */
static int delete_some(lenv *e, const lkeys *l, size_t from, size_t n, long *deleted)
{
    MDB_txn *txn;
    MDB_val k, v;
    long d = 0;
    int rc = 0;

    if (txn_begin(e, 0, &txn) != 0)
        return -1;
    for (size_t i = from; i < from + n && rc == 0; i++) {
        k.mv_data = l->v[i].key;
        k.mv_size = l->v[i].klen;
        rc = mdb_get(txn, e->dbi, &k, &v);
        if (rc == 0 && itip_store_rec_expiry(v.mv_data, v.mv_size) == l->v[i].exp &&
            (rc = mdb_del(txn, e->dbi, &k, NULL)) == 0)
            d++;
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    txn_end(e);
    if (rc == 0)
        *deleted += d;
    return rc;
}

/* Deletes the keys of L in chunks; on a full map the chunk halves.  Count, or -1. */
static long delete_keys(lenv *e, const lkeys *l)
{
    size_t i = 0, chunk = DELETE_CHUNK;
    long deleted = 0;
    int rc;

    while (i < l->n) {
        size_t n = l->n - i < chunk ? l->n - i : chunk;
        rc = delete_some(e, l, i, n, &deleted);
        if (rc == MDB_MAP_FULL && chunk > 1) {
            chunk /= 2;
            continue;
        }
        if (rc != 0) {
            if (rc != -1)
                lm_seterr(e, "delete", rc);
            return -1;
        }
        i += n;
    }
    return deleted;
}

typedef struct {
    lkeys keys;
    int64_t now;
    size_t limit;
} expired_ctx;

static int collect_expired(void *ctx, const MDB_val *k, int64_t exp)
{
    expired_ctx *x = ctx;

    if (exp > x->now)
        return 0;
    if (lkeys_add(&x->keys, k, exp) != 0)
        return -1;
    return x->keys.n >= x->limit;
}

static long lm_purge_env(lenv *e, time_t now)
{
    long total = 0, d;
    size_t found;

    do {
        expired_ctx x = { { NULL, 0, 0 }, (int64_t)now, PURGE_BATCH };
        if (scan(e, collect_expired, &x) != 0) {
            lkeys_free(&x.keys);
            return -1;
        }
        found = x.keys.n;
        d = delete_keys(e, &x.keys);
        lkeys_free(&x.keys);
        if (d < 0)
            return -1;
        total += d;
    } while (found == PURGE_BATCH && d > 0);
    return total;
}

typedef struct {
    int64_t *v;
    size_t n, cap;
} expiries;

static int collect_expiry(void *ctx, const MDB_val *k, int64_t exp)
{
    expiries *x = ctx;

    (void)k;
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 1024;
        int64_t *v = realloc(x->v, cap * sizeof *v);
        if (!v)
            return -1;
        x->v = v;
        x->cap = cap;
    }
    x->v[x->n++] = exp;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* Evicts about COUNT entries, those that expire soonest.  Count evicted, or -1. */
static long evict(lenv *e, size_t count)
{
    expiries all = { NULL, 0, 0 };
    expired_ctx x = { { NULL, 0, 0 }, 0, count };
    long d;

    if (scan(e, collect_expiry, &all) != 0) {
        free(all.v);
        return -1;
    }
    if (all.n == 0) {
        free(all.v);
        return 0;
    }
    qsort(all.v, all.n, sizeof *all.v, cmp_i64);
    x.now = all.v[(count < all.n ? count : all.n) - 1];
    free(all.v);
    if (scan(e, collect_expired, &x) != 0) {
        lkeys_free(&x.keys);
        return -1;
    }
    d = delete_keys(e, &x.keys);
    lkeys_free(&x.keys);
    return d;
}

/* Round ROUND of making room after MDB_MAP_FULL: purge first, then evict in growing batches. */
static int make_room(lenv *e, time_t now, int round)
{
    MDB_stat ms;
    size_t batch;
    long d = 0;

    if (round == 0 && (d = lm_purge_env(e, now)) < 0)
        return -1;
    if (d > 0)
        return 0;
    if (mdb_env_stat(e->env, &ms) != 0)
        ms.ms_entries = 0;
    batch = ms.ms_entries / 16 > EVICT_MIN ? ms.ms_entries / 16 : EVICT_MIN;
    batch <<= round;
    return evict(e, batch) < 0 ? -1 : 0;
}

/* ---- writes ---- */

static int too_large(const lenv *e, size_t len)
{
    if (len <= e->mapsize / 4)
        return 0;
    itip_store_seterr("lmdb %s: a %zu-byte value is too large for a store of max_size %zu",
                      e->dir, len, e->mapsize);
    return 1;
}

typedef struct {
    MDB_val key;
    MDB_val rec;                /* put: the record */
    itip_store_rawmerge merge;  /* update: the merge, or NULL for a put */
    void *arg;
} wop;

static int wop_apply(lenv *e, MDB_txn *txn, wop *w)
{
    MDB_val old, nv;
    char *out = NULL;
    size_t outlen = 0;
    int rc, m;

    if (!w->merge)
        return mdb_put(txn, e->dbi, &w->key, &w->rec, 0);
    rc = mdb_get(txn, e->dbi, &w->key, &old);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    m = rc == 0 ? w->merge(w->arg, old.mv_data, old.mv_size, &out, &outlen)
                : w->merge(w->arg, NULL, 0, &out, &outlen);
    if (m < 0)
        return W_ABORT;
    if (m == 1)
        return W_UNCHANGED;
    if (too_large(e, outlen)) {
        free(out);
        return W_ABORT;
    }
    nv.mv_data = out;
    nv.mv_size = outlen;
    rc = mdb_put(txn, e->dbi, &w->key, &nv, 0);
    free(out);
    return rc;
}

/* Pages the free list holds (LMDB's database 0: records of page numbers, the first being
 * their count); a read transaction, as LMDB opens no cursor on it in a write transaction. */
static size_t free_pages(lenv *e)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    size_t n = 0, c;

    if (txn_begin(e, MDB_RDONLY, &txn) != 0)
        return 0;
    if (mdb_cursor_open(txn, 0, &cur) == 0) {
        while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0)
            if (v.mv_size >= sizeof c) {
                memcpy(&c, v.mv_data, sizeof c);
                n += c;
            }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    txn_end(e);
    return n;
}

/* Whether the store uses more than its map less the reserve that deleting needs: LMDB copies
 * pages on delete too, so a map filled to the last page could not even be emptied. */
static int over_soft_cap(lenv *e)
{
    size_t pages = e->mapsize / e->psize, reserve = pages / ROOM_RESERVE, used;
    MDB_envinfo info;

    if (reserve < ROOM_RESERVE_MIN)
        reserve = ROOM_RESERVE_MIN;
    if (file_ok(e) != 0 || mdb_env_info(e->env, &info) != 0)
        return 0;
    used = info.me_last_pgno + 1;
    if (used + reserve <= pages)
        return 0;
    used -= free_pages(e);
    return used + reserve > pages;
}

/* Runs W in a write transaction, first making room when the store is near its cap or full:
 * a bounded number of rounds, after which the write is tried as it is. */
static int write_op(lenv *e, wop *w, time_t now)
{
    MDB_txn *txn;
    int rc;

    for (int round = 0; round <= ROOM_ROUNDS; round++) {
        if (round < ROOM_ROUNDS && over_soft_cap(e)) {
            if (make_room(e, now, round) != 0)
                return -1;
            continue;
        }
        if (txn_begin(e, 0, &txn) != 0)
            return -1;
        rc = wop_apply(e, txn, w);
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
        txn_end(e);
        if (rc == 0 || rc == W_UNCHANGED)
            return 0;
        if (rc == W_ABORT)
            return -1;
        if (rc != MDB_MAP_FULL) {
            lm_seterr(e, "write", rc);
            return -1;
        }
        if (round < ROOM_ROUNDS && make_room(e, now, round) != 0)
            return -1;
    }
    itip_store_seterr("lmdb %s: the store is full (max_size %zu bytes) and evicting old "
                      "entries made no room", e->dir, e->mapsize);
    return -1;
}

/* ---- opening ---- */

/* Creates DIR when missing (its parent must exist); it must be a directory. */
static int ensure_dir(const char *dir, struct stat *sb, char *err, size_t errlen)
{
    if (stat(dir, sb) != 0) {
        if (errno != ENOENT || (mkdir(dir, DIR_MODE) != 0 && errno != EEXIST) ||
            stat(dir, sb) != 0) {
            snprintf(err, errlen, "lmdb %s: cannot create the state directory: %s", dir,
                     strerror(errno));
            return -1;
        }
    }
    if (!S_ISDIR(sb->st_mode)) {
        snprintf(err, errlen, "lmdb %s: state.path must be a directory", dir);
        return -1;
    }
    return 0;
}

/* Opens and checks the environment of E.  0 or an LMDB (or errno) code. */
static int env_try_open(lenv *e)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    if ((rc = mdb_env_create(&e->env)) != 0)
        return rc;
    if ((rc = mdb_env_set_mapsize(e->env, e->mapsize)) != 0 ||
        (rc = mdb_env_set_maxreaders(e->env, MAX_READERS)) != 0 ||
        (rc = mdb_env_open(e->env, e->dir, MDB_NOTLS | MDB_NOMETASYNC, FILE_MODE)) != 0)
        goto fail;
    if ((rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn)) != 0)
        goto fail;
    if ((rc = mdb_dbi_open(txn, NULL, 0, &e->dbi)) == 0 &&
        (rc = mdb_cursor_open(txn, e->dbi, &cur)) == 0) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        if (rc == 0)
            rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        if (rc == MDB_NOTFOUND)
            rc = 0;
        mdb_cursor_close(cur);
    }
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    if (rc == 0)
        return 0;
fail:
    mdb_env_close(e->env);
    e->env = NULL;
    return rc;
}

/* Renames DIR/NAME to DIR/NAME.corrupt-<now>; appends to NOTICE. */
static int move_aside(const lenv *e, const char *name, char *notice, size_t nlen, char *err,
                      size_t errlen)
{
    char from[PATH_MAX + 32], to[PATH_MAX + 64];
    size_t used = strlen(notice);

    snprintf(from, sizeof from, "%s/%s", e->dir, name);
    snprintf(to, sizeof to, "%s.corrupt-%lld", from, (long long)time(NULL));
    if (rename(from, to) != 0) {
        snprintf(err, errlen, "lmdb %s: %s is damaged and cannot be moved aside: %s", e->dir,
                 name, strerror(errno));
        return -1;
    }
    snprintf(notice + used, nlen - used, "%slmdb %s: %s was damaged, moved aside to %s; "
             "a new store was created", used ? "; " : "", e->dir, name, to);
    return 0;
}

/* Opens E's environment; a damaged data file, then lock file, is moved aside. */
static int env_open_recovering(lenv *e, char *notice, size_t nlen, char *err, size_t errlen)
{
    static const char *const files[] = { DATA_FILE, LOCK_FILE };
    int rc = env_try_open(e);

    for (size_t i = 0; rc != 0 && is_damage(rc) && i < 2; i++) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/%s", e->dir, files[i]);
        if (access(p, F_OK) != 0)
            continue;
        if (move_aside(e, files[i], notice, nlen, err, errlen) != 0)
            return -1;
        rc = env_try_open(e);
    }
    if (rc != 0) {
        snprintf(err, errlen, "lmdb %s: cannot open the store: %s", e->dir, mdb_strerror(rc));
        return -1;
    }
    return 0;
}

static lenv *env_new(const itip_state_config *sc, const struct stat *sb, char *notice,
                     size_t nlen, char *err, size_t errlen)
{
    long pg = sysconf(_SC_PAGESIZE);
    lenv *e = calloc(1, sizeof *e);
    MDB_envinfo info;
    MDB_stat ms;

    if (!e || strlen(sc->path) >= sizeof e->dir) {
        snprintf(err, errlen, "lmdb %s: %s", sc->path, e ? "path too long" : "out of memory");
        free(e);
        return NULL;
    }
    snprintf(e->dir, sizeof e->dir, "%s", sc->path);
    e->pid = getpid();
    e->dev = sb->st_dev;
    e->ino = sb->st_ino;
    e->refs = 1;
    pg = pg > 0 ? pg : 4096;
    e->mapsize = sc->max_size / (size_t)pg * (size_t)pg;
    if (e->mapsize < (size_t)pg * 16)
        e->mapsize = (size_t)pg * 16;
    if (env_open_recovering(e, notice, nlen, err, errlen) != 0) {
        free(e);
        return NULL;
    }
    pthread_rwlock_init(&e->rw, NULL);
    mdb_env_info(e->env, &info);
    mdb_env_stat(e->env, &ms);
    e->mapsize = info.me_mapsize;
    e->psize = ms.ms_psize;
    e->maxkey = (size_t)mdb_env_get_maxkeysize(e->env);
    if (e->maxkey >= KEY_BUF)
        e->maxkey = KEY_BUF - 1;
    {
        int dead = 0;
        mdb_reader_check(e->env, &dead);  /* slots of crashed readers */
    }
    return e;
}

static int lm_open(itip_store *st, const itip_state_config *sc, char *err, size_t errlen)
{
    struct stat sb;
    lenv *e;

    if (!sc->path || !*sc->path) {
        snprintf(err, errlen, "lmdb: state.path is empty");
        return -1;
    }
    if (ensure_dir(sc->path, &sb, err, errlen) != 0)
        return -1;
    pthread_mutex_lock(&envs_mu);
    for (e = envs; e; e = e->next)
        if (e->pid == getpid() && e->dev == sb.st_dev && e->ino == sb.st_ino)
            break;
    if (e)
        e->refs++;
    else if ((e = env_new(sc, &sb, st->notice, sizeof st->notice, err, errlen)) != NULL) {
        e->next = envs;
        envs = e;
    }
    pthread_mutex_unlock(&envs_mu);
    st->impl = e;
    return e ? 0 : -1;
}

static void lm_close(itip_store *st)
{
    lenv *e = st->impl, **pp;

    if (!e)
        return;
    pthread_mutex_lock(&envs_mu);
    if (--e->refs == 0) {
        for (pp = &envs; *pp; pp = &(*pp)->next)
            if (*pp == e) {
                *pp = e->next;
                break;
            }
        mdb_env_close(e->env);
        pthread_rwlock_destroy(&e->rw);
        free(e);
    }
    pthread_mutex_unlock(&envs_mu);
    st->impl = NULL;
}

/* ---- operations ---- */

static int lm_get(itip_store *st, const char *key, char **rec, size_t *len)
{
    lenv *e = st->impl;
    char kbuf[KEY_BUF];
    MDB_txn *txn;
    MDB_val k, v;
    int rc, r;

    lm_key(e, key, kbuf, &k);
    if (txn_begin(e, MDB_RDONLY, &txn) != 0)
        return -1;
    rc = mdb_get(txn, e->dbi, &k, &v);
    if (rc == 0) {
        *rec = malloc(v.mv_size ? v.mv_size : 1);
        if (*rec) {
            memcpy(*rec, v.mv_data, v.mv_size);
            *len = v.mv_size;
            r = 0;
        } else {
            itip_store_seterr("lmdb %s: out of memory for a %zu-byte value", e->dir, v.mv_size);
            r = -1;
        }
    } else if (rc == MDB_NOTFOUND) {
        r = 1;
    } else {
        lm_seterr(e, "read", rc);
        r = -1;
    }
    mdb_txn_abort(txn);
    txn_end(e);
    return r;
}

static int lm_put(itip_store *st, const char *key, const void *rec, size_t len, time_t now)
{
    lenv *e = st->impl;
    char kbuf[KEY_BUF];
    wop w = { { 0, NULL }, { len, (void *)rec }, NULL, NULL };

    if (too_large(e, len))
        return -1;
    lm_key(e, key, kbuf, &w.key);
    return write_op(e, &w, now);
}

static int lm_update(itip_store *st, const char *key, time_t now, itip_store_rawmerge merge,
                     void *arg)
{
    lenv *e = st->impl;
    char kbuf[KEY_BUF];
    wop w = { { 0, NULL }, { 0, NULL }, merge, arg };

    lm_key(e, key, kbuf, &w.key);
    return write_op(e, &w, now);
}

static long lm_purge(itip_store *st, time_t now)
{
    return lm_purge_env(st->impl, now);
}

const itip_store_ops itip_store_lmdb_ops = {
    "lmdb", lm_open, lm_close, lm_get, lm_put, lm_update, lm_purge,
};
