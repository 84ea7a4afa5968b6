/*
 * milter_act.h - the action step: the one place where itip-milter changes a message or
 * answers for it through libmilter, at end of message.  It carries out a final verdict:
 * the repair's edits (new body, changed Content-Type), forged X-ITIP headers removed, ours
 * inserted at the top, the quarantine, the SMTP reply; and it writes the one log line per
 * message.
 *
 * Exports mact_apply(), mact_log(), mact_status_word() and mact_header_name().  Only for
 * xxfi_eom (libmilter accepts modifications nowhere else); nothing in it changes the verdict.  Never loses mail
 * or delivers it half-changed: a failed quarantine or a repair edit the MTA does not take
 * turns into a temporary failure (the client sends the message again), a failed header
 * insertion or removal is logged.
 */
#ifndef ITIP_MILTER_ACT_H
#define ITIP_MILTER_ACT_H

#include <stddef.h>
#include <libmilter/mfapi.h>
#include "base/config.h"
#include "engine/verdict.h"

/* What the callbacks know about the message. */
typedef struct {
    const char *qid;            /* {i}, or NULL: NOQUEUE */
    const char *client;         /* client address, or NULL */
    const char *sender;         /* envelope sender as given, or NULL */
    const char *auth;           /* {auth_authen}, or NULL */
    size_t calendar_parts;
    size_t forged_result;       /* <prefix>-Result headers on the incoming message */
    size_t forged_finding;      /* <prefix>-Finding headers on the incoming message */
    const char *error;          /* internal error text, or NULL */
    const char *state;          /* stateful rules: "ok", "skipped", "unrecorded" (the store
                                 * failed to record it), or NULL (off, or no calendar part):
                                 * logged as state=... */
    size_t forged_repaired;     /* <prefix>-Repaired headers on the incoming message */
} mact_msg;

#define MACT_BODY_CHUNK 65535   /* bytes per smfi_replacebody call (libmilter's chunk size) */

/* The repair's edits, planned before the verdict was built (milter_repair.h). */
typedef struct {
    const char *body;           /* the new body (CRLF line ends as the MTA sent them), or NULL */
    size_t bodylen;
    const char *header;         /* a message header to change (its first field), or NULL */
    const char *value;          /* its new value as libmilter takes it (folds as LF + blank;
                                 * with SMFIP_HDR_LEADSPC its leading space included) */
} mact_edit;

/* Applies V (and EDIT, when V's action is repair and EDIT is not NULL); returns the sfsistat
 * for xxfi_eom: SMFIS_CONTINUE, or V's reject / tempfail, or SMFIS_TEMPFAIL when the MTA did
 * not take a quarantine or an edit (logged). */
sfsistat mact_apply(SMFICTX *ctx, const itip_config *cfg, const mverdict *v,
                    const mact_edit *edit, const mact_msg *m);

/* What was done with the message, as the log line's action= says it: pass, log, tag, repair,
 * quarantine, tempfail or reject (STATUS: what mact_apply() returned). */
const char *mact_status_word(sfsistat status, const mverdict *v);

/* The per-message log line (key=value); MS: time spent in the milter for this message. */
void mact_log(const mverdict *v, const mact_msg *m, double ms, sfsistat status);

/* Names of the headers with this prefix, e.g. "X-ITIP-Result"; never truncated (the
 * prefix is at most 40 bytes, checked at load). */
void mact_header_name(char *buf, size_t len, const itip_config *cfg, const char *suffix);

#endif
