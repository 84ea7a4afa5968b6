/*
 * milter_act.h - carries out a verdict through libmilter at end of message: removes forged
 * X-ITIP headers, inserts ours at the top, quarantines, sets the SMTP reply; and writes the
 * one log line per message.
 *
 * Exports mact_apply(), mact_replace_body(), mact_change_header() and mact_log().  Only for
 * xxfi_eom (libmilter
 * accepts modifications nowhere else).  Never loses mail: a failed modification is logged,
 * and a failed quarantine turns into a temporary failure rather than a silent delivery.
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
    const char *state;          /* stateful rules: "ok", "skipped", or NULL (off, or no
                                 * calendar part): logged as state=... */
    size_t forged_repaired;     /* <prefix>-Repaired headers on the incoming message */
} mact_msg;

#define MACT_BODY_CHUNK 65535   /* bytes per smfi_replacebody call (libmilter's chunk size) */

/* The repair action: replaces the body with BODY (LEN bytes, CRLF line ends as the MTA sent
 * them); QID for the log (or NULL).  0, or -1 when libmilter refused (logged; the caller
 * falls back). */
int mact_replace_body(SMFICTX *ctx, const char *body, size_t len, const char *qid);
/* The repair action on a message header: the first field NAME gets VALUE (as libmilter
 * takes it: folds as LF + blank; with SMFIP_HDR_LEADSPC its leading space included).  0, or
 * -1 when libmilter refused (logged; the caller falls back). */
int mact_change_header(SMFICTX *ctx, const char *name, const char *value, const char *qid);

/* Applies V; returns the sfsistat for xxfi_eom. */
sfsistat mact_apply(SMFICTX *ctx, const itip_config *cfg, const mverdict *v, const mact_msg *m);

/* The per-message log line (key=value); MS: time spent in the milter for this message. */
void mact_log(const mverdict *v, const mact_msg *m, double ms, sfsistat status);

/* Names of the headers with this prefix, e.g. "X-ITIP-Result"; never truncated (the
 * prefix is at most 40 bytes, checked at load). */
void mact_header_name(char *buf, size_t len, const itip_config *cfg, const char *suffix);

#endif
