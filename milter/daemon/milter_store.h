/*
 * milter_store.h - the store of the stateful rules as the daemon holds it: opened from the
 * `state` settings with a log line, shared by consecutive configuration snapshots, tried
 * again while unavailable, and watched so that failures are logged once, not per message.
 *
 * An mstore has its own reference count: each snapshot that uses it holds one, and the last
 * release closes the store, so a reload that changes the state settings leaves the old
 * store open until the last message of the old snapshot is done.  A store that cannot be
 * opened is logged once and stays unavailable (stateful rules skipped) until an attempt
 * succeeds: at most every MSTORE_RETRY seconds as messages ask for it, and at each reload.
 * Thread-safe.  Never exits, never blocks mail: the worst is one message waiting for one
 * connection attempt (state.connect_timeout).
 */
#ifndef ITIP_MILTER_STORE_H
#define ITIP_MILTER_STORE_H

#include "base/config.h"
#include "store/state.h"

#define MSTORE_RETRY 60   /* seconds between attempts to open an unavailable store */

typedef struct mstore mstore;

/* The store of CFG's state settings in *OUT: NULL for backend "none", else an mstore that
 * is open or not (either way logged).  0, or -1 when out of memory. */
int mstore_new(const itip_config *cfg, mstore **out);

/* For a reload from OLD_CFG (whose store is OLD, maybe NULL) to CFG: OLD with one more
 * reference when it is open and no state setting changed, else a new one (logged).
 * 0, or -1 when out of memory. */
int mstore_for_reload(mstore *old, const itip_config *old_cfg, const itip_config *cfg,
                      mstore **out);

/* Drops a reference (NULL is fine); the last one closes the store. */
void mstore_release(mstore *ms);

/* The open store, or NULL while unavailable (may make an attempt to open it with SC, the
 * settings it was made from, and log the outcome). */
itip_store *mstore_get(mstore *ms, const itip_state_config *sc);

/* After a message used the store: FAILED when an operation failed.  Logs (with SC for the
 * name and WHY for the reason) when the store starts failing and when it works again. */
void mstore_result(mstore *ms, const itip_state_config *sc, int failed, const char *why);

#endif
