/*
 * milter_repair.h - the milter's side of the repair action: keeps the body bytes of a
 * message while a repair may be wanted, and at end of message plans the repair: runs the
 * engine's repair (repair/repair.h) on the kept bytes and says, per finding, whether its
 * repair can be made, and what the action step must send (the new body and, for a calendar
 * part that is the whole message, its new Content-Type header).
 *
 * Exports mrepair_*.  The body is kept only when the configuration asks for repair (and not
 * dry_run), the MTA lets us change bodies, and only up to itip_repair_body_limit(): a longer
 * body is dropped, no repair is made and the fallback action applies (logged).  The header
 * block as fed to the engine is kept too (up to max_header_size), for the message's own
 * Content-Type.  No libmilter calls and no verdict here: planning has no side effects but
 * its log lines; the verdict is built from the plan, and milter_act.c sends the edits.
 */
#ifndef ITIP_MILTER_REPAIR_H
#define ITIP_MILTER_REPAIR_H

#include <stddef.h>
#include "base/config.h"
#include "base/strbuf.h"
#include "engine/engine.h"
#include "repair/repair.h"
#include "milter_act.h"

typedef struct {
    int keep;                   /* 1 keeping the body; 0 not wanted; -1 given up (why: dropped) */
    const char *dropped;        /* why the body was not kept, or NULL */
    unsigned long long fed;     /* bytes fed to the engine so far (the callbacks count) */
    unsigned long long base;    /* stream offset of the body: the header block fed */
    strbuf body;                /* the body as the MTA sent it */
    strbuf head;                /* the header block as fed to the engine (stream [0, base)) */
    int head_state;             /* 0 keeping, 1 complete (end of headers), -1 dropped */
    itip_repair rep;            /* the plan, alive until reset (the verdict input points in) */
    char *summary;              /* what is repaired, for <prefix>-Repaired */
    char *header_value;         /* rep.header.new_value as libmilter takes it */
    mact_edit edit;             /* what the action step sends (nothing: body and header NULL) */
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
/* At end of message (QID: the queue id or NULL), when mverdict_action() says repair: plans
 * the repairs of the findings F of the finished engine E that ask for one and logs each
 * repair that can or cannot be made.  LEADSPC: SMFIP_HDR_LEADSPC was negotiated.  0, or -1
 * when out of memory. */
int mrepair_plan(mrepair *r, const itip_config *cfg, const itip_engine *e,
                 const itip_findings *f, int leadspc, const char *qid);
/* The plan's outcome for the verdict (mverdict_input.repaired and .repairs): one flag per
 * finding, 1 when its repair can be made; and the text of X-ITIP-Repaired (NULL when none).
 * Both live until mrepair_reset(). */
const unsigned char *mrepair_repaired(const mrepair *r);
const char *mrepair_summary(const mrepair *r);
/* Why the first repair asked for cannot be made (mverdict_input.repair_note), or NULL when
 * every one can. */
const char *mrepair_refusal(const mrepair *r);
/* The planned edits for mact_apply(), or NULL when there is nothing to send. */
const mact_edit *mrepair_edit(const mrepair *r);
/* Frees everything; idempotent (a zeroed mrepair is reset). */
void mrepair_reset(mrepair *r);

#endif
