/*
 * milter_snap.h - configuration snapshots for itip-milter: load and validate, a global
 * current snapshot with a reference count, and the atomic swap on reload.
 *
 * A connection or message takes a reference (msnap_acquire) and keeps using that snapshot
 * until it releases it, whatever reloads happen meanwhile; the last release frees it.
 * msnap_load() adds the milter's own checks (socket spelling, facility, level, header
 * prefix, user and group) to itip_config_load(), with FILE:LINE messages.
 * A snapshot also holds the store of the stateful rules (milter_store.h): a reload that
 * leaves every state.* setting as it was shares the open store with the new snapshot; one
 * that changes them opens a new store, and the old one is closed when the last message of
 * the old snapshot is done.
 * Thread-safe.  Logs only about reloads and the store; never exits.
 */
#ifndef ITIP_MILTER_SNAP_H
#define ITIP_MILTER_SNAP_H

#include <stddef.h>
#include "base/config.h"
#include "milter_store.h"

typedef struct msnap {
    itip_config *cfg;     /* immutable */
    mstore *store;        /* NULL when state.backend is "none" */
    unsigned refs;        /* guarded by the module's mutex */
} msnap;

/* Where the configuration comes from: FILE, and whether a missing FILE means built-in
 * defaults (the default path) or an error (-c).  SOCKET, when not NULL, overrides `socket`
 * (-p).  The strings must outlive every msnap_* call. */
typedef struct {
    const char *file;
    int optional;
    const char *socket;
} msnap_source;

/* Loads and validates; NULL with "FILE:LINE: message" (or "FILE: message") in err. */
itip_config *msnap_load(const msnap_source *src, char *err, size_t errlen);

/* Makes CFG the current snapshot (takes ownership) with a newly opened store (a failure to
 * open it is logged, not fatal); the previous one is released.
 * 0, or -1 when out of memory (CFG is then freed). */
int msnap_install(itip_config *cfg);

/* The current snapshot with one more reference; NULL before msnap_install(). */
msnap *msnap_acquire(void);
/* One more reference to S, which the caller holds already (a notice queued for later);
 * returns S. */
msnap *msnap_hold(msnap *s);
/* Drops a reference (NULL is fine); the last one frees the snapshot. */
void msnap_release(msnap *s);

/* The store for a message of snapshot S: NULL when S has none or while it is unavailable;
 * *WANTED tells the two apart (1: state.backend is not "none").  See mstore_get(). */
itip_store *msnap_store(msnap *s, int *wanted);
/* After a message used the store of S: see mstore_result(). */
void msnap_store_result(msnap *s, int failed, const char *why);

/* SIGUSR1: loads SRC again; on success swaps it in and logs, on failure keeps the current
 * snapshot and logs the FILE:LINE error.  0 or -1. */
int msnap_reload(const msnap_source *src);

/* Releases the current snapshot (at exit). */
void msnap_shutdown(void);

#endif
