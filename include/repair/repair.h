/*
 * repair.h - the repair action: fixes in a calendar part what needs no guessing.
 *
 * Three repairs, each tied to the findings it removes:
 *   reply-attendee-critical-change-missing   X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE equal to
 *                                            DTSTAMP inserted after the VEVENT's DTSTAMP line;
 *   reply-attendee-critical-change-invalid,  a critical-change stamp that is not a UTC
 *   datetime-filetime-zero (that property)   date-time in the safe window replaced by DTSTAMP;
 *   mime-method-param-missing                "; method=X" (X from METHOD) added to the part's
 *                                            Content-Type field; when the calendar part is
 *                                            the message itself, that field is a message
 *                                            header: the change is also described (header,
 *                                            with old and new value) for the milter, which
 *                                            gets only the body and changes headers itself.
 * The input is the message as the engine was fed it (or its tail from offset BASE on: the
 * milter keeps only the body); the output is the same bytes with only the calendar parts
 * rewritten: the part's header block for the method parameter, its body re-encoded in its
 * original transfer encoding (base64 with the sender's line length - that of all its lines
 * when they agree, else 76 - and line ending; quoted-printable and 7bit/8bit edited in
 * place, so that every other line stays byte-identical).
 * The iCalendar text is edited line by line, with the line model of libical, never
 * re-serialised.  Every repaired part is read back before it is offered: the part (its header
 * block and new body) goes through the engine again, beside the part as received, and unless
 * the findings are the same minus the repaired ones (rule by rule, counted), the part's
 * repairs are refused and its bytes left as received.  Signed content is never rewritten: a
 * calendar part inside multipart/signed is not repaired, nor is a message whose header block
 * carries a DKIM-Signature unless the configuration says repair_signed (or whose header
 * block was not kept, so that one cannot be ruled out).
 * Exports itip_repair_*; no libmilter, no I/O, no logging.  A repair that cannot be made is
 * reported (done = 0, with the reason) and leaves the bytes alone.
 */
#ifndef ITIP_REPAIR_H
#define ITIP_REPAIR_H

#include <stddef.h>
#include <time.h>
#include "base/config.h"
#include "engine/engine.h"
#include "base/findings.h"

typedef struct {
    itip_rule_id rule;          /* the rule whose findings this repair removes */
    int part;                   /* calendar part (0-based, as in itip-check --json) */
    int done;                   /* 1: made */
    char *text;                 /* done: what changed; otherwise why not (one line) */
} itip_repair_item;

typedef struct {                /* a change to a message header */
    char *name;                 /* the field name as in the stream ("Content-Type") */
    char *old_value;            /* its value as in the stream: the text after the colon to the
                                   end of the field, folds kept (line break + blank) */
    char *new_value;            /* the value to put in its place, same conventions */
} itip_repair_header;

typedef struct {
    itip_repair_item *items;    /* one per rule and part asked for */
    size_t nitems;
    unsigned char *repaired;    /* one flag per finding of the engine: 1 when repaired */
    size_t nfindings;
    char *out;                  /* the new bytes (replacing IN); NULL when nothing in IN changed */
    size_t outlen;
    itip_repair_header header;  /* name NULL: no message header changes.  Otherwise the
                                   change is in OUT as well when the header block lies in IN
                                   (BASE 0), and not when it was given as HEAD */
} itip_repair;

/* True when the configuration asks for "repair" somewhere (rules.<id>.action or
 * actions.<severity>) and dry_run is off: only then does the milter keep message bodies. */
int itip_repair_configured(const itip_config *cfg);
/* The largest body the milter keeps for a repair: max_calendar_parts x max_calendar_part_size
 * (16 MiB by default).  A longer body is not repaired; the fallback action applies. */
size_t itip_repair_body_limit(const itip_config *cfg);
/* Marks in WANT (f->n flags) the findings whose configured action is repair; returns how
 * many. */
size_t itip_repair_wanted(const itip_config *cfg, const itip_findings *f, unsigned char *want);

/* Makes the repairs of the findings marked in WANT (one flag per finding of the finished
 * engine E, which ran with CFG and the clock NOW: what itip_engine_set_now() was given, or 0
 * when it was not, for time(NULL)).  IN/LEN are the stream bytes the engine was fed from
 * offset BASE on (BASE 0: the whole message; the milter passes the body and the length of the
 * header block it fed).  HEAD/HEADLEN: the stream's first HEADLEN bytes (the message's header
 * block, so that a change to a message header can be described, and a DKIM-Signature seen,
 * when BASE > 0), or NULL/0.  CFG gives repair_signed; CFG and NOW are what the repaired
 * parts are read back with.  Fills R (zeroed first).  0, or -1 when out of memory (R is then
 * freed). */
int itip_repair_make(itip_repair *r, const itip_config *cfg, time_t now, const itip_engine *e,
                     const unsigned char *want, const void *in, size_t len,
                     unsigned long long base, const void *head, size_t headlen);
/* Idempotent. */
void itip_repair_free(itip_repair *r);
/* The made repairs as one line, "RULE part=N: TEXT; ...", or NULL when none (or out of
 * memory).  Caller frees. */
char *itip_repair_summary(const itip_repair *r);

#endif
