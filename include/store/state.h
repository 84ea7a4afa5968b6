/*
 * state.h - the store behind the stateful rules: a small key/value interface with expiry, one
 * design for two backends (LMDB in one local file, Redis shared by several MTAs).
 *
 * The store knows nothing of meetings: it keeps opaque byte strings under text keys, each with
 * an expiry time (now + ttl, set on every write).  What a meeting record or a clock-skew
 * estimate looks like is the business of its user (milter/store/record.c).
 *
 * Every operation takes the caller's clock NOW, so that itip-check --now and the tests can run
 * at a fixed time; an entry whose expiry is at or before NOW reads as absent.
 *
 * One itip_store may be used by several threads at once (the milter's connections), not
 * across fork(): a child process opens its own.  Any
 * operation may fail (-1): the caller then skips the stateful rules for this message and says
 * so; it never retries in a loop and never blocks mail on the store.
 */
#ifndef ITIP_STATE_H
#define ITIP_STATE_H

#include <stddef.h>
#include <time.h>
#include "base/config.h"     /* itip_state_config: the `state` settings */

typedef struct itip_store itip_store;

/* Opens the backend SC names.  Returns NULL with a message in err (for "none" too, with the
 * message "state backend is none"; callers test sc->backend first).  Opening an LMDB store
 * whose file is corrupt moves it aside (renamed with a ".corrupt-<time>" suffix) and creates
 * a new one; the message about it is then in itip_store_notice(). */
itip_store *itip_store_open(const itip_state_config *sc, char *err, size_t errlen);

/* Idempotent for NULL. */
void itip_store_close(itip_store *st);

/* Looks up KEY.  0: found, *val (malloc'ed, not NUL-terminated, the caller frees) and *len set;
 * 1: absent or expired; -1: backend failure (see itip_store_error). */
int itip_store_get(itip_store *st, const char *key, time_t now, char **val, size_t *len);

/* Stores VAL under KEY with expiry now + ttl.  0, or -1 on failure. */
int itip_store_put(itip_store *st, const char *key, const void *val, size_t len, time_t now);

/* Atomic read-modify-write of KEY: calls MERGE with the current value (NULL, 0 when absent or
 * expired); MERGE returns 0 with a malloc'ed new value in *out and *outlen (stored with expiry
 * now + ttl, then freed by the store), 1 to leave the entry unchanged, or -1 to abort.  No
 * other writer's update of KEY is lost in between (LMDB: inside one write transaction; Redis:
 * WATCH, MULTI and EXEC, retried a bounded number of times).  MERGE may be called more than once
 * and must not call the store itself.
 * Returns 0, or -1 on backend failure or when MERGE returned -1. */
typedef int (*itip_store_merge)(void *arg, const char *old, size_t oldlen, char **out,
                                size_t *outlen);
int itip_store_update(itip_store *st, const char *key, time_t now, itip_store_merge merge,
                      void *arg);

/* Removes every expired entry (LMDB; Redis expires on its own).  Returns how many, or -1. */
long itip_store_purge(itip_store *st, time_t now);

/* Text of the last failure of this thread's call on ST ("lmdb: MDB_MAP_FULL ..."), never NULL. */
const char *itip_store_error(const itip_store *st);
/* A one-time notice from open (the corrupt file moved aside), or NULL. */
const char *itip_store_notice(const itip_store *st);
/* "lmdb" or "redis". */
const char *itip_store_backend(const itip_store *st);

#endif
