/*
 * verdict.h - from findings to what the milter does: the action, the X-ITIP headers,
 * the quarantine reason and the SMTP reply text.  Pure: no libmilter, no logging, no I/O,
 * so it is unit-tested directly (t/test_verdict.c).
 *
 * The action of a finding is itip_config_action(cfg, rule, severity); the strongest one
 * wins; dry_run caps it at "tag".  Once a repair was planned (input.repaired), a finding
 * whose repair cannot be made counts with its fallback action (actions.<severity>, tag if
 * that is repair too): the milter asks mverdict_action() whether the message would be
 * repaired, plans the repair without side effects, and then builds the verdict once, with
 * the plan's outcome; nothing changes it afterwards.  Header values are folded with "\n\t"
 * so that no line (the "Name: " included) passes 78 columns, and hold only printable ASCII.
 */
#ifndef ITIP_VERDICT_H
#define ITIP_VERDICT_H

#include <stddef.h>
#include "base/config.h"
#include "base/findings.h"
#include "base/strbuf.h"

#define MV_LINE_MAX 78     /* columns of a header line */
#define MV_UID_MAX 40      /* a longer UID is shown as head...tail */
#define MV_REASON_MAX 250  /* quarantine reason */
#define MV_REPLY_MAX 400   /* SMTP reply text */
#define MV_REPAIRED_MAX 600 /* X-ITIP-Repaired, before folding */
#define MV_NOTE_MAX 100    /* the state note at the end of X-ITIP-Result */

typedef struct {
    const itip_findings *findings;
    size_t calendar_parts;
    const char *method;        /* or NULL */
    const char *uid;           /* or NULL */
    const char *error;         /* internal error text, or NULL */
    const unsigned char *repaired; /* per finding: 1 when its repair was made; NULL when no
                                      repair was tried (repair then stands as configured) */
    const char *repairs;       /* what the repair changed (for <prefix>-Repaired), or NULL */
    const char *state_note;    /* stateful rules skipped: why (ends X-ITIP-Result), or NULL */
    const char *repair_note;   /* a repair asked for that cannot be made: why (in
                                  X-ITIP-Result, "repair not made: ..."), or NULL */
} mverdict_input;

typedef struct {
    itip_action wanted;        /* what the configuration asks for (ITIP_ACT_NONE: pass) */
    itip_action action;        /* what is done: wanted, capped at tag when dry_run */
    itip_severity severity;    /* highest severity among the deciding findings */
    int error;                 /* the verdict comes from on_internal_error */
    char *method, *uid;        /* printable, shortened; "-" when unknown */
    char *rules;               /* deciding rules "a, b"; "" when none */
    char *all_rules;           /* every rule found "a,b" (for the log); "-" when none */
    char *result;              /* folded X-ITIP-Result value; NULL: add no header at all */
    char **findings;           /* folded X-ITIP-Finding values (capped at max_finding_headers) */
    size_t nfindings;
    char *reason;              /* quarantine reason, one line; NULL unless quarantine */
    char *reply;               /* SMTP reply text ('%' escaped); NULL unless reject/tempfail */
    char *repaired;            /* folded <prefix>-Repaired value; NULL unless action is repair */
} mverdict;

/* The action mverdict_build() would decide for IN (no strings built): lets the milter plan a
 * repair only when the verdict asks for one. */
itip_action mverdict_action(const itip_config *cfg, const mverdict_input *in);
/* Fills V (zeroed first).  LEADSPC: the header values must carry their leading space
 * (SMFIP_HDR_LEADSPC was negotiated).  0, or -1 when out of memory (V is then freed). */
int mverdict_build(mverdict *v, const itip_config *cfg, const mverdict_input *in, int leadspc);
/* Idempotent. */
void mverdict_free(mverdict *v);

/* Appends TEXT folded for a header whose name is NAME_LEN bytes long.  0 or -1. */
int mverdict_fold(strbuf *out, size_t name_len, const char *text, int leadspc);
/* TEXT as one line of printable ASCII (others become '?'), at most MAX bytes; "-" for NULL.
 * Longer than MAX: head "..." tail.  Caller frees; NULL when out of memory. */
char *mverdict_printable(const char *text, size_t max);
/* TEXT for smfi_setreply: one line, '%' doubled, at most MAX bytes.  Caller frees. */
char *mverdict_reply_text(const char *text, size_t max);

#endif
