/*
 * milter_ctx.h - the connection and message contexts of itip-milter, shared by the
 * callbacks (milter_cb.c, which own and reset them) and the end of message (milter_eom.c,
 * which only reads them and records the first internal failure).
 *
 * A connection context lives from the first callback of a connection to xxfi_close; it holds
 * one message context at a time.  Nothing here calls libmilter.
 */
#ifndef ITIP_MILTER_CTX_H
#define ITIP_MILTER_CTX_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include "base/strbuf.h"
#include "engine/engine.h"
#include "store/state.h"
#include "milter_repair.h"
#include "milter_snap.h"

typedef struct {
    int active;                 /* a message is in progress */
    msnap *snap;                /* this message's configuration */
    itip_engine *engine;
    strbuf line;                /* scratch: one synthesized header line */
    char *sender, *qid, *auth;
    size_t forged_result, forged_finding;
    size_t forged_repaired;     /* <prefix>-Repaired headers on the incoming message */
    mrepair repair;             /* the repair action: kept body, plan */
    char error[256];            /* the first internal failure; "" when none */
    int skipping;               /* the rest of the body cannot matter */
    double ms;                  /* time spent in the milter for this message */
    int state_wanted;           /* state.backend is not "none" */
    itip_store *store;          /* the snapshot's store; NULL when off or unavailable */
} msgctx;

typedef struct {
    char *client;
    int leadspc;                /* SMFIP_HDR_LEADSPC negotiated */
    unsigned long nr;           /* the SMFIP_NR_* steps negotiated: they answer SMFIS_NOREPLY */
    int can_skip;               /* SMFIP_SKIP negotiated */
    int can_chgbody;            /* SMFIF_CHGBODY negotiated (the repair action) */
    msgctx msg;
} connctx;

/* Milliseconds on the monotonic clock. */
static inline double mctx_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Remembers WHAT as the message's internal failure, unless one is already known. */
static inline void mctx_error(msgctx *m, const char *what)
{
    if (m->error[0] == '\0')
        snprintf(m->error, sizeof m->error, "%s", what ? what : "unknown failure");
}

#endif
