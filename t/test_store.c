/*
 * test_store.c - the store of the stateful rules (state.h) against real backends.
 *
 *   t/test_store            the LMDB backend in a private temporary directory: put, get,
 *                           update semantics, expiry with a fixed clock, purge, the size cap,
 *                           writers in threads and in two processes, a damaged data file, a
 *                           data file removed or truncated under an open store
 *   t/test_store --redis    the Redis backend against redis-server instances this program
 *                           starts on loopback (run by t/store-redis.sh; skips where
 *                           redis-server is missing)
 *   t/test_store --sentinel the Redis backend through Redis Sentinel: a master, a replica
 *                           and a redis-sentinel this program starts on loopback (run by
 *                           t/store-sentinel-query.sh; skips where either is missing)
 *
 * Every directory and server is private to the run and removed or stopped at the end.  The
 * directories live in $TMPDIR, else /dev/shm when writable (LMDB syncs each write to disk, and
 * the size-cap check writes thousands), else /tmp.
 */
#include "ac-config.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "store/state.h"
#include "tap.h"

#define T0 1700000000           /* the fixed clock of the tests */
#define NTHREADS 8
#define PER_THREAD 150
#define PER_PROC 300

static char tmpdir[200];

/* ---- helpers ---- */

static itip_state_config lmdb_config(const char *sub, size_t max_size, long ttl)
{
    static char paths[16][512];
    static int np;
    itip_state_config sc;
    char *p = paths[np++ % 16];

    memset(&sc, 0, sizeof sc);
    snprintf(p, 512, "%s/%s", tmpdir, sub);
    sc.backend = "lmdb";
    sc.path = p;
    sc.ttl = ttl;
    sc.max_size = max_size;
    return sc;
}

static itip_store *open_ok(const itip_state_config *sc, const char *what)
{
    char err[512] = "";
    itip_store *st = itip_store_open(sc, err, sizeof err);

    if (!ok(st != NULL, "open %s", what))
        diag("%s", err);
    return st;
}

/* The value of KEY as a string ("" when empty), "<absent>" or "<error>". */
static const char *getstr(itip_store *st, const char *key, time_t now)
{
    static __thread char buf[256];
    char *v;
    size_t n;
    int r = itip_store_get(st, key, now, &v, &n);

    if (r == 1)
        return "<absent>";
    if (r != 0)
        return "<error>";
    snprintf(buf, sizeof buf, "%.*s", (int)n, v);
    free(v);
    return buf;
}

/* merge functions */
static int merge_counter(void *arg, const char *old, size_t oldlen, char **out, size_t *outlen)
{
    long n = 0;
    char buf[32];

    (void)arg;
    if (old) {
        snprintf(buf, sizeof buf, "%.*s", (int)(oldlen < 31 ? oldlen : 31), old);
        n = strtol(buf, NULL, 10);
    }
    *outlen = (size_t)snprintf(buf, sizeof buf, "%ld", n + 1);
    *out = strdup(buf);
    return *out ? 0 : -1;
}

typedef struct {
    int calls;
    int saw_absent;
    int result;                 /* what the merge returns */
    char seen[64];
} merge_probe;

static int merge_probe_fn(void *arg, const char *old, size_t oldlen, char **out, size_t *outlen)
{
    merge_probe *p = arg;

    p->calls++;
    p->saw_absent = old == NULL;
    snprintf(p->seen, sizeof p->seen, "%.*s", old ? (int)oldlen : 0, old ? old : "");
    if (p->result != 0)
        return p->result;
    *out = strdup("merged");
    *outlen = 6;
    return 0;
}

static long counter_value(itip_store *st, const char *key, time_t now)
{
    return strtol(getstr(st, key, now), NULL, 10);
}

/* ---- the checks common to both backends ---- */

static void check_basic(itip_store *st, const char *name)
{
    static const char bin[] = { 'a', 0, 'b', '\n', (char)0xff };
    char *v = NULL;
    size_t n = 0;

    is_str(getstr(st, "basic:none", T0), "<absent>", "%s: a key never written is absent", name);
    is_int(itip_store_put(st, "basic:k", "hello", 5, T0), 0, "%s: put", name);
    is_str(getstr(st, "basic:k", T0), "hello", "%s: get returns what put stored", name);
    is_int(itip_store_put(st, "basic:k", "world!", 6, T0), 0, "%s: put again", name);
    is_str(getstr(st, "basic:k", T0), "world!", "%s: the second put replaced the value", name);
    is_int(itip_store_put(st, "basic:bin", bin, sizeof bin, T0), 0, "%s: put binary", name);
    ok(itip_store_get(st, "basic:bin", T0, &v, &n) == 0 && n == sizeof bin &&
       memcmp(v, bin, n) == 0, "%s: binary bytes (NUL, 0xff) come back intact", name);
    free(v);
    is_int(itip_store_put(st, "basic:empty", "", 0, T0), 0, "%s: put an empty value", name);
    ok(itip_store_get(st, "basic:empty", T0, &v, &n) == 0 && n == 0,
       "%s: an empty value is present with length 0", name);
    free(v);
    is_int(itip_store_put(st, "", "x", 1, T0), -1, "%s: an empty key is refused", name);
    ok(strstr(itip_store_error(st), "empty") != NULL, "%s: ... saying so (%s)", name,
       itip_store_error(st));
}

static void check_long_keys(itip_store *st, const char *name)
{
    char a[2100], b[2100];

    memset(a, 'u', sizeof a - 1);
    a[sizeof a - 1] = 0;
    memcpy(b, a, sizeof b);
    b[sizeof b - 2] = 'v';
    is_int(itip_store_put(st, a, "A", 1, T0), 0, "%s: put under a 2099-byte key", name);
    is_int(itip_store_put(st, b, "B", 1, T0), 0, "%s: put under another that differs at the end",
           name);
    is_str(getstr(st, a, T0), "A", "%s: the first long key keeps its value", name);
    is_str(getstr(st, b, T0), "B", "%s: the second long key keeps its own", name);
}

static void check_update(itip_store *st, const char *name)
{
    merge_probe p = { 0, 0, 0, "" };

    is_int(itip_store_update(st, "upd:k", T0, merge_probe_fn, &p), 0,
           "%s: update of an absent key", name);
    ok(p.calls >= 1 && p.saw_absent, "%s: ... the merge saw it absent", name);
    is_str(getstr(st, "upd:k", T0), "merged", "%s: ... and created it", name);

    memset(&p, 0, sizeof p);
    p.result = 1;
    is_int(itip_store_update(st, "upd:k", T0, merge_probe_fn, &p), 0,
           "%s: update that leaves the entry unchanged", name);
    is_str(p.seen, "merged", "%s: ... the merge saw the current value", name);
    is_str(getstr(st, "upd:k", T0), "merged", "%s: ... which is unchanged", name);

    memset(&p, 0, sizeof p);
    p.result = -1;
    is_int(itip_store_update(st, "upd:k", T0, merge_probe_fn, &p), -1,
           "%s: update whose merge aborts returns -1", name);
    is_str(getstr(st, "upd:k", T0), "merged", "%s: ... and writes nothing", name);
    ok(strstr(itip_store_error(st), "abort") != NULL, "%s: ... error says aborted (%s)", name,
       itip_store_error(st));

    memset(&p, 0, sizeof p);
    p.result = 1;
    is_int(itip_store_update(st, "upd:never", T0, merge_probe_fn, &p), 0,
           "%s: update of an absent key that changes nothing", name);
    is_str(getstr(st, "upd:never", T0), "<absent>", "%s: ... leaves it absent", name);

    for (int i = 0; i < 5; i++)
        itip_store_update(st, "upd:count", T0, merge_counter, NULL);
    is_int(counter_value(st, "upd:count", T0), 5, "%s: five increments count five", name);
}

/* The store was opened with ttl 100. */
static void check_expiry(itip_store *st, const char *name)
{
    merge_probe p = { 0, 0, 1, "" };

    is_int(itip_store_put(st, "exp:k", "v", 1, T0), 0, "%s: put at T0 with ttl 100", name);
    is_str(getstr(st, "exp:k", T0 + 99), "v", "%s: present at T0+99", name);
    is_str(getstr(st, "exp:k", T0 + 100), "<absent>", "%s: expired at T0+100", name);
    is_str(getstr(st, "exp:k", T0 + 100000), "<absent>", "%s: expired much later", name);
    is_int(itip_store_update(st, "exp:k", T0 + 100, merge_probe_fn, &p), 0,
           "%s: update at T0+100", name);
    ok(p.saw_absent, "%s: ... the merge saw the expired entry as absent", name);
    is_int(itip_store_put(st, "exp:k", "w", 1, T0 + 50), 0, "%s: put again at T0+50", name);
    is_str(getstr(st, "exp:k", T0 + 149), "w", "%s: a write renews the expiry (T0+149)", name);
    is_str(getstr(st, "exp:k", T0 + 150), "<absent>", "%s: ... until T0+150", name);
}

typedef struct {
    itip_store *st;
    const char *key;
    int n;
    int failures;
} worker;

static void *worker_run(void *arg)
{
    worker *w = arg;

    for (int i = 0; i < w->n; i++)
        if (itip_store_update(w->st, w->key, T0, merge_counter, NULL) != 0)
            w->failures++;
    return NULL;
}

static void check_threads(itip_store *st, const char *name)
{
    pthread_t th[NTHREADS];
    worker w[NTHREADS];
    int failures = 0, started = 0;

    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (worker){ st, "thr:count", PER_THREAD, 0 };
        if (pthread_create(&th[i], NULL, worker_run, &w[i]) == 0)
            started++;
        else
            break;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        failures += w[i].failures;
    }
    is_int(started, NTHREADS, "%s: %d writer threads started", name, NTHREADS);
    is_int(failures, 0, "%s: no update failed", name);
    is_int(counter_value(st, "thr:count", T0), NTHREADS * PER_THREAD,
           "%s: %d threads x %d increments of one key: none lost", name, NTHREADS, PER_THREAD);
}

/* Two processes, each opening its own store with SC, increment one key. */
static void check_processes(const itip_state_config *sc, const char *name)
{
    pid_t pid[2];
    int good = 0;
    itip_store *st;

    fflush(stdout);
    for (int i = 0; i < 2; i++) {
        pid[i] = fork();
        if (pid[i] == 0) {
            char err[512];
            itip_store *cs = itip_store_open(sc, err, sizeof err);
            int fails = 0;
            if (!cs)
                _exit(2);
            for (int j = 0; j < PER_PROC; j++)
                fails += itip_store_update(cs, "proc:count", T0, merge_counter, NULL) != 0;
            itip_store_close(cs);
            _exit(fails ? 1 : 0);
        }
    }
    for (int i = 0; i < 2; i++) {
        int status = -1;
        if (pid[i] > 0 && waitpid(pid[i], &status, 0) == pid[i] && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0)
            good++;
    }
    is_int(good, 2, "%s: two writer processes finished without a failed update", name);
    st = open_ok(sc, "the store again after the processes");
    if (st)
        is_int(counter_value(st, "proc:count", T0), 2 * PER_PROC,
               "%s: 2 processes x %d increments of one key: none lost", name, PER_PROC);
    itip_store_close(st);
}

/* ---- LMDB only ---- */

static off_t file_size(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static int count_corrupt(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL)
        n += strstr(de->d_name, "data.mdb.corrupt-") == de->d_name;
    closedir(d);
    return n;
}

static void check_lmdb_purge(void)
{
    itip_state_config sc = lmdb_config("purge", 8 << 20, 100);
    itip_store *st = open_ok(&sc, "lmdb store for purge");
    int good = 0;
    char key[64];

    if (!st)
        return;
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof key, "p%d", i);
        good += itip_store_put(st, key, "x", 1, i < 30 ? T0 : T0 + 1000) == 0;
    }
    is_int(good, 50, "lmdb: 50 puts, 30 at T0 and 20 at T0+1000");
    is_int(itip_store_purge(st, T0 + 100), 30, "lmdb: purge at T0+100 removes the 30 expired");
    is_int(itip_store_purge(st, T0 + 100), 0, "lmdb: a second purge finds none");
    is_str(getstr(st, "p0", T0), "<absent>", "lmdb: a purged entry is gone even at an earlier "
           "clock");
    is_str(getstr(st, "p40", T0 + 1000), "x", "lmdb: an unexpired entry survives the purge");
    itip_store_close(st);
}

static void check_lmdb_cap(void)
{
    itip_state_config sc = lmdb_config("cap", 1 << 20, 1000000);
    char path[600], key[64], val[400];
    itip_store *st = open_ok(&sc, "lmdb store with max_size 1 MiB");
    int fails = 0, n = 6000;
    off_t size;

    if (!st)
        return;
    memset(val, 'v', sizeof val);
    /* 6000 x ~430 bytes is ~2.5 MiB: the later writes only fit by evicting */
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "cap:%06d", i);
        if (itip_store_put(st, key, val, sizeof val, T0 + i) != 0 && fails++ == 0)
            diag("put %d failed: %s", i, itip_store_error(st));
    }
    is_int(fails, 0, "lmdb: %d puts into 1 MiB all succeed (the oldest are evicted)", n);
    snprintf(path, sizeof path, "%s/data.mdb", sc.path);
    size = file_size(path);
    ok(size > 0 && size <= (1 << 20), "lmdb: the data file stays within max_size (%lld bytes)",
       (long long)size);
    ok(strcmp(getstr(st, "cap:005999", T0 + n), "<absent>") != 0,
       "lmdb: the newest entry is present");
    is_str(getstr(st, "cap:000000", T0 + n), "<absent>",
           "lmdb: the entry that expires soonest was evicted");
    {
        size_t big = 400 << 10;
        char *b = calloc(1, big);
        ok(b && itip_store_put(st, "cap:big", b, big, T0) == -1,
           "lmdb: a 400 KiB value is refused in a 1 MiB store");
        ok(strstr(itip_store_error(st), "too large") != NULL, "lmdb: ... saying so (%s)",
           itip_store_error(st));
        free(b);
    }
    /* now every entry has expired: a full store makes room by purging */
    fails = 0;
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "late:%06d", i);
        fails += itip_store_put(st, key, val, sizeof val, T0 + 5000000) != 0;
    }
    is_int(fails, 0, "lmdb: 2000 puts when everything else has expired succeed");
    size = file_size(path);
    ok(size > 0 && size <= (1 << 20), "lmdb: ... still within max_size (%lld bytes)",
       (long long)size);
    itip_store_close(st);
}

static void write_garbage(const char *path, size_t len)
{
    FILE *f = fopen(path, "r+");

    if (!f)
        f = fopen(path, "w");
    if (!f)
        return;
    for (size_t i = 0; i < len; i++)
        fputc("garbage!"[i % 8], f);
    fclose(f);
}

static void check_lmdb_corrupt(void)
{
    itip_state_config sc = lmdb_config("corrupt", 4 << 20, 1000);
    char path[600];
    itip_store *st;
    const char *notice;

    /* a file of garbage where the data file should be */
    mkdir(sc.path, 0700);
    snprintf(path, sizeof path, "%s/data.mdb", sc.path);
    write_garbage(path, 20000);
    st = open_ok(&sc, "lmdb store over a garbage data file");
    if (!st)
        return;
    notice = itip_store_notice(st);
    ok(notice && strstr(notice, "moved aside") && strstr(notice, "data.mdb.corrupt-"),
       "lmdb: the notice says the damaged file was moved aside (%s)", notice ? notice : "NULL");
    is_int(count_corrupt(sc.path), 1, "lmdb: data.mdb.corrupt-<time> exists");
    is_int(itip_store_put(st, "c:k", "ok", 2, T0), 0, "lmdb: the new store takes writes");
    is_str(getstr(st, "c:k", T0), "ok", "lmdb: ... and reads");
    itip_store_close(st);

    /* a good store whose meta pages are then overwritten */
    st = open_ok(&sc, "lmdb store again (clean)");
    ok(st && itip_store_notice(st) == NULL, "lmdb: a clean reopen has no notice");
    itip_store_close(st);
    write_garbage(path, 16384);
    sleep(1);                   /* a distinct .corrupt-<time> name */
    st = open_ok(&sc, "lmdb store whose meta pages were overwritten");
    ok(st && itip_store_notice(st) != NULL, "lmdb: ... moved aside again (%s)",
       st && itip_store_notice(st) ? itip_store_notice(st) : "NULL");
    is_int(count_corrupt(sc.path), 2, "lmdb: two damaged files kept aside");
    is_str(st ? getstr(st, "c:k", T0) : "", "<absent>", "lmdb: the new store starts empty");
    itip_store_close(st);
}

static void check_lmdb_runtime_damage(void)
{
    itip_state_config sc = lmdb_config("runtime", 4 << 20, 1000);
    char path[600];
    itip_store *st = open_ok(&sc, "lmdb store for damage at run time");

    if (!st)
        return;
    snprintf(path, sizeof path, "%s/data.mdb", sc.path);
    itip_store_put(st, "r:k", "v", 1, T0);
    ok(truncate(path, 4096) == 0, "lmdb: truncate the data file under the open store");
    is_str(getstr(st, "r:k", T0), "<error>", "lmdb: get fails (no crash)");
    ok(strstr(itip_store_error(st), "shorter") != NULL, "lmdb: ... error says why (%s)",
       itip_store_error(st));
    is_int(itip_store_put(st, "r:k", "v", 1, T0), -1, "lmdb: put fails too");
    itip_store_close(st);

    unlink(path);
    st = open_ok(&sc, "lmdb store after the data file was removed");
    if (!st)
        return;
    is_int(itip_store_put(st, "r:k", "w", 1, T0), 0, "lmdb: the recreated store takes writes");
    ok(unlink(path) == 0, "lmdb: remove the data file under the open store");
    is_int(itip_store_put(st, "r:k", "x", 1, T0), -1, "lmdb: put then fails");
    ok(strstr(itip_store_error(st), "removed") != NULL, "lmdb: ... error says why (%s)",
       itip_store_error(st));
    itip_store_close(st);
}

static void check_lmdb_open_errors(void)
{
    itip_state_config sc = lmdb_config("no/such/parent", 4 << 20, 1000);
    itip_state_config none = sc;
    char err[512] = "", file[600];
    itip_store *st;

    st = itip_store_open(&sc, err, sizeof err);
    ok(st == NULL && strstr(err, "cannot create"), "lmdb: a path whose parent is missing "
       "fails (%s)", err);
    itip_store_close(st);
    snprintf(file, sizeof file, "%s/plainfile", tmpdir);
    write_garbage(file, 10);
    sc.path = file;
    st = itip_store_open(&sc, err, sizeof err);
    ok(st == NULL && strstr(err, "directory"), "lmdb: a path that is a file fails (%s)", err);
    itip_store_close(st);
    none.backend = "none";
    st = itip_store_open(&none, err, sizeof err);
    ok(st == NULL && strcmp(err, "state backend is none") == 0, "backend none: NULL, saying so");
    itip_store_close(st);
}

static void check_lmdb_layout(void)
{
    itip_state_config sc = lmdb_config("layout", 4 << 20, 100);
    itip_store *a = open_ok(&sc, "lmdb store (layout)");
    itip_store *b = open_ok(&sc, "the same directory a second time in one process");
    char path[600];
    struct stat sb;

    if (!a || !b) {
        itip_store_close(a);
        itip_store_close(b);
        return;
    }
    is_str(itip_store_backend(a), "lmdb", "lmdb: backend name");
    ok(itip_store_notice(a) == NULL, "lmdb: a fresh store has no notice");
    snprintf(path, sizeof path, "%s/data.mdb", sc.path);
    if (stat(path, &sb) != 0)
        sb.st_mode = 0777;
    ok((sb.st_mode & 0007) == 0, "lmdb: data.mdb exists, not world-accessible (mode %o)",
       (unsigned)(sb.st_mode & 0777));
    is_int(itip_store_put(a, "l:k", "v", 1, T0), 0, "lmdb: put through the first handle");
    is_str(getstr(b, "l:k", T0), "v", "lmdb: ... read through the second");
    itip_store_close(a);
    is_str(getstr(b, "l:k", T0), "v", "lmdb: the second handle works after the first closed");
    check_expiry(b, "lmdb");
    itip_store_close(b);
}

static int run_lmdb(void)
{
    itip_state_config sc = lmdb_config("main", 16 << 20, 2592000);
    itip_store *st = open_ok(&sc, "lmdb store in a new directory");

    if (st) {
        check_basic(st, "lmdb");
        check_long_keys(st, "lmdb");
        check_update(st, "lmdb");
        check_threads(st, "lmdb");
        itip_store_close(st);
    }
    check_processes(&sc, "lmdb");
    check_lmdb_layout();
    check_lmdb_purge();
    check_lmdb_cap();
    check_lmdb_corrupt();
    check_lmdb_runtime_damage();
    check_lmdb_open_errors();
    return 0;
}

/* ---- Redis ---- */

typedef struct {
    pid_t pid;
    int port;                   /* 0: unix socket only */
    char sock[300];
    const char *password;
    char dir[280];
    const char *extra[8];       /* more redis-server arguments, NULL-terminated */
    const char *sentinel_conf;  /* set: a redis-sentinel with this configuration instead */
} rserver;

static rserver *servers[8];
static int nservers;

static double mono(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* A command on a connection of our own to server S, database DB; the reply or NULL. */
static redisReply *direct(const rserver *s, long db, const char *fmt, const char *arg)
{
    struct timeval tv = { 0, 300000 };
    redisContext *c = s->port ? redisConnectWithTimeout("127.0.0.1", s->port, tv)
                              : redisConnectUnixWithTimeout(s->sock, tv);
    redisReply *r = NULL, *x;

    if (!c || c->err)
        goto out;
    redisSetTimeout(c, tv);
    if (s->password) {
        x = redisCommand(c, "AUTH %s", s->password);
        if (!x || x->type == REDIS_REPLY_ERROR)
            goto out_reply;
        freeReplyObject(x);
    }
    if (db >= 0) {              /* a sentinel has no databases: db -1 */
        x = redisCommand(c, "SELECT %ld", db);
        if (!x || x->type == REDIS_REPLY_ERROR)
            goto out_reply;
        freeReplyObject(x);
    }
    r = arg ? redisCommand(c, fmt, arg) : redisCommand(c, fmt);
    goto out;
out_reply:
    if (x)
        freeReplyObject(x);
out:
    if (c)
        redisFree(c);
    return r;
}

static int server_up(const rserver *s)
{
    redisReply *r = direct(s, s->sentinel_conf ? -1 : 0, "PING", NULL);
    int up = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;

    if (r)
        freeReplyObject(r);
    return up;
}

static void server_stop(rserver *s)
{
    int status;

    if (s->pid <= 0)
        return;
    kill(s->pid, SIGCONT);
    kill(s->pid, SIGTERM);
    for (int i = 0; i < 100 && waitpid(s->pid, &status, WNOHANG) == 0; i++)
        usleep(100000);
    if (waitpid(s->pid, &status, WNOHANG) == 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
    }
    s->pid = 0;
}

/* Starts redis-server S with a private configuration and no persistence; waits (at most
 * 10 s) until it answers.  0 or -1. */
static int server_start(rserver *s)
{
    char port[16], log[500], conf[500];
    const char *argv[30];
    int n = 0;

    snprintf(port, sizeof port, "%d", s->port);
    snprintf(conf, sizeof conf, "%s/sentinel.conf", s->dir);
    snprintf(log, sizeof log, "%s/redis.log", s->dir);
    argv[n++] = "redis-server";
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--save";
    argv[n++] = "";
    argv[n++] = "--appendonly";
    argv[n++] = "no";
    argv[n++] = "--dir";
    argv[n++] = s->dir;
    if (s->password) {
        argv[n++] = "--requirepass";
        argv[n++] = s->password;
    }
    if (s->sock[0]) {
        argv[n++] = "--unixsocket";
        argv[n++] = s->sock;
        argv[n++] = "--unixsocketperm";
        argv[n++] = "700";
    }
    for (int i = 0; s->extra[i] && i < 7; i++)
        argv[n++] = s->extra[i];
    argv[n] = NULL;
    mkdir(s->dir, 0700);
    if (s->sentinel_conf) {     /* the sentinel rewrites its file: one of its own */
        FILE *f = fopen(conf, "w");
        if (!f || fputs(s->sentinel_conf, f) < 0 || fclose(f) != 0)
            return -1;
        argv[0] = "redis-sentinel";
        argv[1] = conf;
        argv[2] = NULL;
    }
    fflush(stdout);
    s->pid = fork();
    if (s->pid == 0) {
        if (!freopen(log, "a", stdout) || !freopen(log, "a", stderr))
            _exit(126);
        execvp(argv[0], (char **)argv);
        _exit(127);
    }
    if (s->pid < 0)
        return -1;
    for (int i = 0; i < 100; i++) {
        int status;
        if (server_up(s))
            return 0;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            diag("%s exited; see %s", argv[0], log);
            return -1;
        }
        usleep(100000);
    }
    server_stop(s);
    return -1;
}

static int server_new(rserver *s, const char *name, int tcp, const char *password)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s/%s", tmpdir, name);
    s->port = tcp ? free_port() : 0;
    if (!tcp)
        snprintf(s->sock, sizeof s->sock, "%s/redis.sock", s->dir);
    s->password = password;
    servers[nservers++] = s;
    return server_start(s);
}

static itip_state_config redis_config(const rserver *s, const char *password, long db, long ttl)
{
    itip_state_config sc;

    memset(&sc, 0, sizeof sc);
    sc.backend = "redis";
    sc.host = "127.0.0.1";
    sc.port = s->port;
    sc.socket = s->sock[0] ? (char *)s->sock : NULL;
    sc.password = (char *)password;
    sc.database = db;
    sc.connect_timeout = 300;
    sc.timeout = 300;
    sc.key_prefix = "itip-test:";
    sc.ttl = ttl;
    return sc;
}

static void check_redis_keys(const rserver *s)
{
    redisReply *r = direct(s, 2, "TTL %s", "itip-test:basic:k");

    ok(r && r->type == REDIS_REPLY_INTEGER && r->integer > 0 && r->integer <= 2592000,
       "redis: the key carries the prefix and a real TTL of at most ttl (%lld)",
       r && r->type == REDIS_REPLY_INTEGER ? r->integer : -99);
    if (r)
        freeReplyObject(r);
    r = direct(s, 0, "EXISTS %s", "itip-test:basic:k");
    ok(r && r->type == REDIS_REPLY_INTEGER && r->integer == 0,
       "redis: ... in the configured database (2), not in 0");
    if (r)
        freeReplyObject(r);
}

/* Operations fail fast while the server is gone or hung, and recover when it is back. */
static void check_redis_outage(rserver *s, itip_store *st, const char *how)
{
    double t0 = mono(), took;
    int fails = 0, back = 0;
    merge_probe p = { 0, 0, 0, "" };
    char *v;
    size_t n;

    fails += itip_store_get(st, "basic:k", T0, &v, &n) == -1;
    fails += itip_store_put(st, "out:k", "x", 1, T0) == -1;
    fails += itip_store_update(st, "out:k", T0, merge_probe_fn, &p) == -1;
    took = mono() - t0;
    is_int(fails, 3, "redis %s: get, put and update fail (%s)", how, itip_store_error(st));
    /* timeouts of 300 ms: a generous bound that still catches a hang */
    ok(took < 10.0, "redis %s: ... within a bounded time (%.2f s)", how, took);
    if (strcmp(how, "hung") == 0)
        kill(s->pid, SIGCONT);
    else {
        server_stop(s);
        if (server_start(s) != 0) {
            ok(0, "redis: restart the server");
            return;
        }
    }
    for (int i = 0; i < 50 && !back; i++) {
        back = itip_store_put(st, "out:k", "y", 1, T0) == 0;
        if (!back)
            usleep(200000);
    }
    ok(back, "redis %s: writes succeed again once the server is back", how);
    is_str(getstr(st, "out:k", T0), "y", "redis %s: ... and reads", how);
}

static void check_redis_auth(void)
{
    static rserver s;
    itip_state_config sc;
    itip_store *st;
    char err[512] = "";

    if (!ok(server_new(&s, "redis-auth", 1, "s3cret-pw") == 0, "redis: start a server with "
            "requirepass"))
        return;
    sc = redis_config(&s, "s3cret-pw", 0, 1000);
    st = open_ok(&sc, "redis store with the right password");
    if (st) {
        is_int(itip_store_put(st, "auth:k", "v", 1, T0), 0, "redis auth: put");
        is_str(getstr(st, "auth:k", T0), "v", "redis auth: get");
        check_update(st, "redis auth");
    }
    itip_store_close(st);
    sc.password = "wrong";
    st = itip_store_open(&sc, err, sizeof err);
    ok(st == NULL && strstr(err, "redis"), "redis: a wrong password fails the open (%s)", err);
    itip_store_close(st);
    sc.password = NULL;
    st = itip_store_open(&sc, err, sizeof err);
    ok(st == NULL && strstr(err, "NOAUTH"), "redis: no password fails the open (%s)", err);
    itip_store_close(st);
    server_stop(&s);
}

static void check_redis_unix(void)
{
    static rserver s;
    itip_state_config sc;
    itip_store *st;

    if (!ok(server_new(&s, "redis-unix", 0, NULL) == 0, "redis: start a server on a unix "
            "socket only"))
        return;
    sc = redis_config(&s, NULL, 0, 2592000);
    st = open_ok(&sc, "redis store over the unix socket");
    if (st) {
        check_basic(st, "redis unix");
        check_update(st, "redis unix");
        check_threads(st, "redis unix");
    }
    itip_store_close(st);
    server_stop(&s);
}

static void check_redis_unreachable(void)
{
    rserver nobody;
    itip_state_config sc;
    itip_store *st;
    char *v;
    size_t n;

    memset(&nobody, 0, sizeof nobody);
    nobody.port = free_port();
    sc = redis_config(&nobody, NULL, 0, 1000);
    st = open_ok(&sc, "redis store whose server is not running");
    ok(st && itip_store_notice(st) && strstr(itip_store_notice(st), "cannot connect"),
       "redis: ... with a notice that it cannot connect (%s)",
       st && itip_store_notice(st) ? itip_store_notice(st) : "NULL");
    ok(st && itip_store_get(st, "k", T0, &v, &n) == -1, "redis: its get fails (%s)",
       itip_store_error(st));
    itip_store_close(st);
}

static int run_redis(void)
{
    static rserver a;
    itip_state_config sc;
    itip_store *st;

    if (system("command -v redis-server >/dev/null 2>&1") != 0)
        skip_all("redis-server not installed");
    if (!ok(server_new(&a, "redis-tcp", 1, NULL) == 0, "redis: start a private server"))
        return 1;
    sc = redis_config(&a, NULL, 2, 2592000);
    st = open_ok(&sc, "redis store over TCP, database 2");
    if (st) {
        is_str(itip_store_backend(st), "redis", "redis: backend name");
        ok(itip_store_notice(st) == NULL, "redis: no notice");
        check_basic(st, "redis");
        check_redis_keys(&a);
        check_long_keys(st, "redis");
        check_update(st, "redis");
        check_threads(st, "redis");
        is_int(itip_store_purge(st, T0 + 100000000), 0, "redis: purge has nothing to do");
        itip_store_close(st);
    }
    {
        itip_state_config s100 = redis_config(&a, NULL, 2, 100);
        itip_store *e = open_ok(&s100, "redis store with ttl 100");
        if (e)
            check_expiry(e, "redis");
        itip_store_close(e);
    }
    check_processes(&sc, "redis");
    st = open_ok(&sc, "redis store for the outage");
    if (st) {
        is_int(itip_store_put(st, "out:k", "x", 1, T0), 0, "redis: put before the outage");
        server_stop(&a);
        check_redis_outage(&a, st, "stopped");
        kill(a.pid, SIGSTOP);
        check_redis_outage(&a, st, "hung");
    }
    itip_store_close(st);
    server_stop(&a);
    check_redis_auth();
    check_redis_unix();
    check_redis_unreachable();
    return 0;
}

/* ---- Redis Sentinel ---- */

/* Fills S (a server of the test, not started): NAME under tmpdir, a free port. */
static void server_init(rserver *s, const char *name, const char *password)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s/%s", tmpdir, name);
    s->port = free_port();
    s->password = password;
    servers[nservers++] = s;
}

/* Reply R is a string or status containing WANT, or an array (of arrays) with an element
 * equal to WANT. */
static int has_elem(const redisReply *r, const char *want)
{
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
        return strstr(r->str, want) != NULL;
    if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i]->type == REDIS_REPLY_ARRAY ? has_elem(r->element[i], want)
                : r->element[i]->type == REDIS_REPLY_STRING &&
                  strcmp(r->element[i]->str, want) == 0)
                return 1;
    return 0;
}

/* The reply of FMT [ARG] on S (db -1: no SELECT) has WANT (has_elem). */
static int reply_has(const rserver *s, long db, const char *fmt, const char *arg,
                     const char *want)
{
    redisReply *r = direct(s, db, fmt, arg);
    int has = r && has_elem(r, want);

    if (r)
        freeReplyObject(r);
    return has;
}

/* Waits up to SECS for reply_has(); returns its last answer. */
static int wait_reply(int secs, const rserver *s, long db, const char *fmt, const char *arg,
                      const char *want)
{
    for (int i = 0; i < secs * 10; i++) {
        if (reply_has(s, db, fmt, arg, want))
            return 1;
        usleep(100000);
    }
    return reply_has(s, db, fmt, arg, want);
}

static const char *role(const rserver *s)
{
    static char buf[32];
    redisReply *r = direct(s, 0, "ROLE", NULL);

    snprintf(buf, sizeof buf, "%s", r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
             r->element[0]->type == REDIS_REPLY_STRING ? r->element[0]->str : "?");
    if (r)
        freeReplyObject(r);
    return buf;
}

static int has_key(const rserver *s, const char *key)
{
    redisReply *r = direct(s, 0, "EXISTS %s", key);
    int has = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;

    if (r)
        freeReplyObject(r);
    return has;
}

/* The store with sentinels: a master and a replica (both requirepass), one sentinel (its own
 * requirepass) that never fails over by itself (down-after 60 s): the failover is asked for
 * (SENTINEL failover), and a demotion is made by hand (REPLICAOF). */
static int run_sentinel(void)
{
    static rserver m, r, s;
    static char conf[2000], mport[16], sentry[2][40], rport[16];
    char err[512] = "", *sl[2];
    itip_state_config sc, bad;
    itip_store *st;
    const char *notice;

    if (system("command -v redis-server >/dev/null 2>&1") != 0)
        skip_all("redis-server not installed (Debian package redis-server)");
    if (system("command -v redis-sentinel >/dev/null 2>&1") != 0)
        skip_all("redis-sentinel not installed (Debian package redis-sentinel)");
    server_init(&m, "sentinel-master", "m-pw");
    if (!ok(server_start(&m) == 0, "sentinel: start a master (requirepass)"))
        return 1;
    snprintf(mport, sizeof mport, "%d", m.port);
    server_init(&r, "sentinel-replica", "m-pw");
    r.extra[0] = "--replicaof";
    r.extra[1] = "127.0.0.1";
    r.extra[2] = mport;
    r.extra[3] = "--masterauth";
    r.extra[4] = "m-pw";
    snprintf(rport, sizeof rport, "%d", r.port);
    ok(server_start(&r) == 0 &&
       wait_reply(20, &r, 0, "INFO replication", NULL, "master_link_status:up"),
       "sentinel: start its replica, the link up");
    server_init(&s, "sentinel", "s-pw");
    snprintf(conf, sizeof conf,
             "port %d\nbind 127.0.0.1\ndir %s\nlogfile %s/sentinel.log\nrequirepass s-pw\n"
             "sentinel monitor itip 127.0.0.1 %d 1\nsentinel auth-pass itip m-pw\n"
             "sentinel down-after-milliseconds itip 60000\n"
             "sentinel failover-timeout itip 10000\n", s.port, s.dir, s.dir, m.port);
    s.sentinel_conf = conf;
    if (!ok(server_start(&s) == 0 &&
            wait_reply(20, &s, -1, "SENTINEL replicas itip", NULL, "slave"),
            "sentinel: start a redis-sentinel (requirepass) that knows the replica"))
        return 1;

    memset(&sc, 0, sizeof sc);
    sc.backend = "redis";
    snprintf(sentry[0], sizeof sentry[0], "127.0.0.1:%d", free_port());   /* nobody */
    snprintf(sentry[1], sizeof sentry[1], "127.0.0.1:%d", s.port);
    sl[0] = sentry[0];
    sl[1] = sentry[1];
    sc.sentinels = sl;
    sc.n_sentinels = 2;
    sc.master = "itip";
    sc.sentinel_password = "s-pw";
    sc.password = "m-pw";
    sc.connect_timeout = 1000;
    sc.timeout = 1000;
    sc.key_prefix = "itip-test:";
    sc.ttl = 2592000;

    /* the master found through the second sentinel listed (the first is not running) */
    st = open_ok(&sc, "redis store through the sentinels (the first one listed is down)");
    if (!st)
        return 1;
    ok(itip_store_notice(st) == NULL, "sentinel: no notice (%s)",
       itip_store_notice(st) ? itip_store_notice(st) : "NULL");
    is_int(itip_store_put(st, "s:k", "before", 6, T0), 0, "sentinel: put");
    is_str(getstr(st, "s:k", T0), "before", "sentinel: get");
    ok(has_key(&m, "itip-test:s:k") && !reply_has(&r, 0, "ROLE", NULL, "master"),
       "sentinel: the value is on the master the sentinel named, not on the replica");
    check_update(st, "sentinel");

    /* settings that cannot work */
    bad = sc;
    bad.sentinel_password = "wrong";
    {
        itip_store *b = open_ok(&bad, "redis store with a wrong sentinel_password (opens)");
        notice = b ? itip_store_notice(b) : NULL;
        ok(notice && strstr(notice, "no sentinel named the master") && strstr(notice, "AUTH"),
           "sentinel: ... its notice says no sentinel answered, the last one refusing AUTH (%s)",
           notice ? notice : "NULL");
        ok(b && itip_store_put(b, "s:x", "x", 1, T0) == -1, "sentinel: ... and its put fails");
        itip_store_close(b);
    }
    bad = sc;
    bad.master = "nope";
    {
        itip_store *b = open_ok(&bad, "redis store with a master name the sentinels do not know");
        notice = b ? itip_store_notice(b) : NULL;
        ok(notice && strstr(notice, "does not know a master \"nope\""),
           "sentinel: ... its notice says so (%s)", notice ? notice : "NULL");
        itip_store_close(b);
    }
    bad = sc;
    bad.password = "wrong";
    {
        itip_store *b = itip_store_open(&bad, err, sizeof err);
        ok(b == NULL && strstr(err, "redis master itip"),
           "sentinel: a wrong master password fails the open, as without sentinels (%s)", err);
        itip_store_close(b);
    }

    /* a failover: the replica promoted, the old master demoted; the store follows */
    {
        redisReply *x = direct(&m, 0, "WAIT 1 5000", NULL);
        ok(x && x->type == REDIS_REPLY_INTEGER && x->integer == 1,
           "sentinel: the replica has acknowledged every write (WAIT 1)");
        if (x)
            freeReplyObject(x);
    }
    /* refused (NOGOODSLAVE) until the sentinel has its own fresh view of the replica */
    ok(wait_reply(20, &s, -1, "SENTINEL failover itip", NULL, "OK"),
       "sentinel: SENTINEL failover (a forced failover)");
    ok(wait_reply(30, &s, -1, "SENTINEL get-master-addr-by-name itip", NULL, rport) &&
       wait_reply(30, &m, 0, "ROLE", NULL, "slave"),
       "sentinel: the replica is promoted and the old master demoted");
    is_int(itip_store_put(st, "s:k2", "after", 5, T0), 0,
           "sentinel: put after the failover (%s)", itip_store_error(st));
    ok(has_key(&r, "itip-test:s:k2"), "sentinel: ... it went to the new master");
    is_str(getstr(st, "s:k", T0), "before",
           "sentinel: the value written before the failover is read from the new master");

    /* the master the sentinel names demoted by hand: READONLY, then ROLE says slave */
    ok(reply_has(&m, 0, "REPLICAOF NO ONE", NULL, "OK"),
       "sentinel: the old master made a master again by hand (REPLICAOF NO ONE)");
    {
        redisReply *x = direct(&r, 0, "REPLICAOF 127.0.0.1 %s", mport);
        ok(x && x->type == REDIS_REPLY_STATUS, "sentinel: the named master made a replica "
           "behind the sentinel's back");
        if (x)
            freeReplyObject(x);
    }
    is_str(role(&r), "slave", "sentinel: ... ROLE says so");
    is_int(itip_store_put(st, "s:k3", "x", 1, T0), -1,
           "sentinel: a put then fails instead of writing to a replica");
    ok(strstr(itip_store_error(st), "not a master (ROLE says slave)") != NULL,
       "sentinel: ... saying why (%s)", itip_store_error(st));
    itip_store_close(st);
    return 0;
}

static void cleanup(void)
{
    char cmd[300];

    for (int i = 0; i < nservers; i++)
        server_stop(servers[i]);

    if (tmpdir[0] && !getenv("ITIP_TEST_KEEP")) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
}

int main(int argc, char **argv)
{
    const char *base = getenv("TMPDIR");

    /* tmpfs when there is one: LMDB syncs every write, and the cap test writes thousands */
    if (!base)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

    snprintf(tmpdir, sizeof tmpdir, "%s/itip-store-XXXXXX", base);
    if (!mkdtemp(tmpdir)) {
        printf("Bail out! mkdtemp %s: %s\n", tmpdir, strerror(errno));
        return 1;
    }
    atexit(cleanup);
    if (argc > 1 && strcmp(argv[1], "--redis") == 0)
        run_redis();
    else if (argc > 1 && strcmp(argv[1], "--sentinel") == 0)
        run_sentinel();
    else
        run_lmdb();
    return done_testing();
}

