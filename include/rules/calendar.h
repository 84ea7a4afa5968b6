/*
 * calendar.h - analysis of one calendar part with libical, and the context every rule sees.
 *
 * itip_calendar_analyse() parses a collected part, walks it and runs every rule group.  Rule
 * groups are plain functions over an itip_calctx (see the itip_check_* list below); they add
 * findings through itip_emit() and never free or keep libical objects beyond the call.
 * No libmilter here.  libical components are never shared between threads.  The store is
 * only named here: rules_state.c (and C4's skew note) include store/ themselves.  The helpers
 * every rule file uses are in calutil.h.
 */
#ifndef ITIP_CALENDAR_H
#define ITIP_CALENDAR_H

#include <time.h>
#include <libical/ical.h>
#include "base/config.h"
#include "base/findings.h"
#include "mime/mime.h"

/* Facts about the message as a whole, shared by all its calendar parts. */
typedef struct {
    const itip_config *cfg;
    const itip_msghdrs *hdrs;       /* never NULL; fields may be NULL (bare .ics input) */
    const itip_calpart *const *parts; /* every calendar part of the message */
    size_t nparts;
    int is_message;                 /* 0 for a bare iCalendar file: no MIME-level rules */
    char *const *rcpts;             /* envelope recipients (may be none) */
    size_t nrcpts;
    const char *mail_from;          /* envelope sender, "" for <>, NULL when unknown */
    itip_envelope envelope;         /* where rcpts and mail_from came from */
    time_t now;                     /* the clock the skew rules compare with */
    struct itip_store *store;       /* NULL: stateful rules are skipped (store/state.h) */
    struct itip_statework *work;    /* the stateful rules' lookups and queue (store/record.h);
                                       exactly when store is NULL */
} itip_msgctx;

/* UID of a component, looked up once before the rules run (so that emitting a finding never
 * moves a component's internal property iterator). */
typedef struct {
    icalcomponent *comp;
    const char *uid;
} itip_uidref;

/* One calendar part under analysis. */
typedef struct {
    const itip_msgctx *msg;
    const itip_calpart *part;
    int part_index;
    icalcomponent *root;            /* as parsed: a VCALENDAR, or an XROOT holding several */
    icalcomponent *vcal;            /* the first VCALENDAR; NULL if none */
    const char *method;             /* METHOD value, upper-case, or NULL when absent */
    icalproperty_method method_kind; /* ICAL_METHOD_NONE when absent */
    itip_findings *out;
    const itip_uidref *uids;        /* VEVENT/VTODO/VJOURNAL/VFREEBUSY of vcal and their UID */
    size_t nuids;
} itip_calctx;

/* What the analysis learnt of a part, for headers and logs (malloc'ed, or NULL). */
typedef struct {
    char *method;                   /* METHOD, upper-case */
    char *uid;                      /* UID of the main component */
} itip_partsummary;

/* Parses and analyses part number INDEX; fills *sum when it is not NULL and no METHOD/UID was
 * recorded there yet.  Returns 0, or -1 on an internal failure (out of memory, a libical
 * failure); findings added before a failure stay. */
int itip_calendar_analyse(const itip_msgctx *msg, const itip_calpart *part, int index,
                          itip_findings *out, itip_partsummary *sum);

/* Message-level MIME checks that look at all parts together (A4, A6, A7). */
void itip_check_message(const itip_msgctx *msg, itip_findings *out);

/* Rule groups, one file each (rules_*.c).  Each runs every check of its group that applies to
 * c->method.  B1 (parse errors) and B2 (several VCALENDARs) run in calendar.c. */
void itip_check_imip(itip_calctx *c);       /* A1 A2 A3 A5        rules_imip.c      */
void itip_check_structure(itip_calctx *c);  /* B3 B4 B5 B6 B7     rules_structure.c */
void itip_check_reply(itip_calctx *c);      /* C1-C9 C16-C18      rules_reply.c     */
void itip_check_time(itip_calctx *c);       /* D1-D8              rules_time.c      */
void itip_check_sequence(itip_calctx *c);   /* E1 E2 E4           rules_sequence.c  */
void itip_check_uid(itip_calctx *c);        /* F1-F4              rules_uid.c       */
void itip_check_tz(itip_calctx *c);         /* G1-G8              rules_tz.c        */
/* G3-G5 (rules_vtimezone.c), called by itip_check_tz with the referenced TZIDs, sorted
 * case-insensitively. */
void itip_check_vtimezone(itip_calctx *c, const char *const *refs, size_t nrefs);
void itip_check_request(itip_calctx *c);    /* I1-I4              rules_request.c   */
void itip_check_recur(itip_calctx *c);      /* H1-H7              rules_recur.c     */
void itip_check_exchange(itip_calctx *c);   /* J1 J2              rules_exchange.c  */
void itip_check_stateful(itip_calctx *c);   /* C10-C15 E3 E5 E4   rules_state.c     */
/* reply-not-to-organizer, request-recipient-not-attendee, organizer-not-sender,
 * attach-cid-missing                                                 rules_envelope.c  */
void itip_check_envelope(itip_calctx *c);
/* attendee-duplicate, exdate-equals-override, exdate-before-dtstart,
 * recurrence-date-count-excessive, override-with-rrule, multiple-master-components,
 * override-organizer-differs, recurrence-interval-excessive          rules_series.c    */
void itip_check_series(itip_calctx *c);

#endif
