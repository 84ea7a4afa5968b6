/*
 * milter_snap.h - configuration snapshots for itip-milter: load and validate, a global
 * current snapshot with a reference count, and the atomic swap on reload.
 *
 * A connection or message takes a reference (msnap_acquire) and keeps using that snapshot
 * until it releases it, whatever reloads happen meanwhile; the last release frees it.
 * msnap_load() adds the milter's own checks (socket spelling, facility, level, header
 * prefix, user and group) to itip_config_load(), with FILE:LINE messages.
 * Thread-safe.  Never logs except msnap_reload(); never exits.
 */
#ifndef ITIP_MILTER_SNAP_H
#define ITIP_MILTER_SNAP_H

#include <stddef.h>
#include "config.h"

typedef struct msnap {
    itip_config *cfg;     /* immutable */
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

/* Makes CFG the current snapshot (takes ownership); the previous one is released.
 * 0, or -1 when out of memory (CFG is then freed). */
int msnap_install(itip_config *cfg);

/* The current snapshot with one more reference; NULL before msnap_install(). */
msnap *msnap_acquire(void);
/* Drops a reference (NULL is fine); the last one frees the snapshot. */
void msnap_release(msnap *s);

/* SIGUSR1: loads SRC again; on success swaps it in and logs, on failure keeps the current
 * snapshot and logs the FILE:LINE error.  0 or -1. */
int msnap_reload(const msnap_source *src);

/* Releases the current snapshot (at exit). */
void msnap_shutdown(void);

#endif
