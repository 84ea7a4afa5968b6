/*
 * notice.h - the text of a notice about a held, rejected or repaired message: a complete
 * RFC 5322 / MIME message for one recipient (the postmaster or the originator).
 *
 * Pure: no I/O, no libmilter, no clock of its own (the caller passes the time and a unique
 * token), so it is unit-tested directly (t/test_notice.c) and the milter's notifier only
 * pipes the result into sendmail(1).  The message is multipart/mixed: a text/plain UTF-8 part
 * that says what was stopped (subject, METHOD, UID, envelope, queue id, action), each finding
 * in words with its rule's remedy, and for the postmaster the commands to release or delete a
 * held message; then the offending calendar lines as a text/plain attachment - never the
 * calendar as text/calendar, so that no client acts on it.  It carries Auto-Submitted:
 * auto-generated.  Every message-derived string is cut to a bounded length and made valid,
 * printable UTF-8 (header fields: printable ASCII), so nothing from the held message can add
 * a header, a MIME boundary or a line longer than 998 bytes.
 */
#ifndef ITIP_NOTICE_H
#define ITIP_NOTICE_H

#include <stddef.h>
#include <time.h>
#include "base/config.h"
#include "base/findings.h"
#include "base/strbuf.h"

#define NOTICE_MAX_LINES 60       /* calendar lines attached */
#define NOTICE_MAX_LINE 200       /* bytes of one attached line (longer: cut, marked) */
#define NOTICE_MAX_FINDINGS 20    /* findings described in words */

typedef struct {
    const char *qid;              /* queue id, or NULL */
    const char *sender;           /* envelope sender as the MTA gave it, or NULL */
    char *const *rcpts;           /* envelope recipients */
    size_t nrcpts;
    const char *client;           /* client address, or NULL */
    const char *subject;          /* Subject: of the message (raw), or NULL */
    const char *method, *uid;     /* or NULL */
    const char *action;           /* "quarantine", "reject" or "repair" */
    const itip_findings *findings;
    const char *calendar;         /* the first calendar part's text (decoded), or NULL */
    size_t calendar_len;
    const char *from;             /* From: address of the notice */
    time_t now;                   /* Date: */
    const char *token;            /* unique: the Message-ID's left part and the boundary */
    const char *host;             /* the Message-ID's right part */
} notice_in;

/* Appends the notice for TO (one address) to OUT; FOR_POSTMASTER adds the release and
 * delete commands (quarantine) and the client address.  0, or -1 when out of memory. */
int notice_build(strbuf *out, const notice_in *in, const char *to, int for_postmaster);

/* True when a finding of IN's findings counts for a notice under CFG: its rule's
 * rules.<id>.notify is true, or is unset and its severity is in notify.severities. */
int notice_wanted(const itip_config *cfg, const itip_findings *f);

#endif
