/*
 * state.c - opening a store by backend name; the operations dispatch to state_lmdb.c or
 * state_redis.c.  Not yet implemented: every open fails.
 */
#include "ac-config.h"
#include <stdio.h>
#include "state.h"

itip_store *itip_store_open(const itip_state_config *sc, char *err, size_t errlen)
{
    snprintf(err, errlen, "state backend %s is not implemented", sc->backend);
    return NULL;
}

void itip_store_close(itip_store *st)
{
    (void)st;
}
