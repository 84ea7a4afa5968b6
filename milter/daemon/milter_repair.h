/*
 * milter_repair.h - the milter's side of the repair action: keeps the body bytes of a
 * message while a repair may be wanted, and at end of message runs the engine's repair
 * (repair.h), hands the new body (and, for a calendar part that is the whole message, its
 * new Content-Type header) to libmilter and rebuilds the verdict with the outcome.
 *
 * Exports mrepair_*.  The body is kept only when the configuration asks for repair (and not
 * dry_run), the MTA lets us change bodies, and only up to itip_repair_body_limit(): a longer
 * body is dropped, no repair is made and the fallback action applies (logged).  The header
 * block as fed to the engine is kept too (up to max_header_size), for the message's own
 * Content-Type.  Never
 * changes a message whose verdict is not repair; never loses mail: every failure falls back.
 */
#ifndef ITIP_MILTER_REPAIR_H
#define ITIP_MILTER_REPAIR_H

#include <stddef.h>
#include <libmilter/mfapi.h>
#include "base/config.h"
#include "engine/engine.h"
#include "milter_act.h"
#include "engine/verdict.h"
#include "repair/repair.h"
#include "base/strbuf.h"

typedef struct {
    int keep;                   /* 1 keeping the body; 0 not wanted; -1 given up (why: dropped) */
    const char *dropped;        /* why the body was not kept, or NULL */
    unsigned long long fed;     /* bytes fed to the engine so far (the callbacks count) */
    unsigned long long base;    /* stream offset of the body: the header block fed */
    strbuf body;                /* the body as the MTA sent it */
    strbuf head;                /* the header block as fed to the engine (stream [0, base)) */
    int head_state;             /* 0 keeping, 1 complete (end of headers), -1 dropped */
    itip_repair rep;            /* the outcome, alive until reset (the verdict points in) */
    char *summary;              /* what was repaired, for <prefix>-Repaired */
} mrepair;

/* At the start of a message.  CAN_CHGBODY: SMFIF_CHGBODY was negotiated. */
void mrepair_start(mrepair *r, const itip_config *cfg, int can_chgbody);
/* Every byte fed to the engine, headers included (the callbacks call it for each). */
void mrepair_fed(mrepair *r, const void *buf, size_t len);
/* At end of headers (the body starts at stream offset r->fed). */
void mrepair_eoh(mrepair *r);
/* Each body chunk. */
void mrepair_body(mrepair *r, const void *buf, size_t len);
/* True while the rest of the body must still be received even though the engine needs no
 * more of it (a calendar part was seen and the body is being kept). */
int mrepair_needs_body(const mrepair *r, const itip_engine *e);
/* At end of message (QID: the queue id or NULL), with the verdict built: when it says
 * repair, repairs, replaces the body and rebuilds V from IN (IN->repaired and IN->repairs
 * then point into R).  0, or -1 when out of memory (V is then freed; the body may already
 * have been replaced). */
int mrepair_eom(mrepair *r, SMFICTX *ctx, const itip_config *cfg, itip_engine *e, mverdict *v,
                mverdict_input *in, int leadspc, const char *qid);
/* Frees everything; idempotent (a zeroed mrepair is reset). */
void mrepair_reset(mrepair *r);

#endif
