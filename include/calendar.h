/*
 * calendar.h - analysis of one calendar part with libical, and the context every rule sees.
 *
 * itip_calendar_analyse() parses a collected part, walks it and runs every rule group.  Rule
 * groups are plain functions over an itip_calctx (see the itip_check_* list below); they add
 * findings through itip_emit() and never free or keep libical objects beyond the call.
 * No libmilter here.  libical components are never shared between threads.
 */
#ifndef ITIP_CALENDAR_H
#define ITIP_CALENDAR_H

#include <time.h>
#include <libical/ical.h>
#include "config.h"
#include "findings.h"
#include "mime.h"
#include "state.h"
#include "record.h"

/* Facts about the message as a whole, shared by all its calendar parts. */
typedef struct {
    const itip_config *cfg;
    const itip_msghdrs *hdrs;       /* never NULL; fields may be NULL (bare .ics input) */
    const itip_calpart *const *parts; /* every calendar part of the message */
    size_t nparts;
    int is_message;                 /* 0 for a bare iCalendar file: no MIME-level rules */
    char *const *rcpts;             /* envelope recipients (may be none) */
    size_t nrcpts;
    time_t now;                     /* the clock the skew rules compare with */
    itip_store *store;              /* NULL: stateful rules are skipped */
    itip_statework *work;           /* the stateful rules' lookups and queue (record.h); NULL
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

/* ---- helpers for rule code (calutil.c) ----
 * itip_xprop/itip_xprop_count/itip_xparam use libical's internal iterator of the component
 * (or property) they are given: do not call them on a component whose properties you are
 * iterating with icalcomponent_get_first/next_property at that moment.  itip_main_event uses an
 * external iterator and is safe inside a VEVENT loop. */

/* Adds a finding for COMP (its kind names the component, its UID the uid; COMP may be NULL).
 * Safe inside any iteration: it does not touch libical iterators. */
void itip_emit(itip_calctx *c, itip_rule_id rule, itip_severity sev, icalcomponent *comp,
               const char *property, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* First X-property named NAME (case-insensitive) in COMP, or NULL; and how many there are. */
icalproperty *itip_xprop(icalcomponent *comp, const char *name);
int itip_xprop_count(icalcomponent *comp, const char *name);
/* Value of an X-property as text (never NULL for a property that exists). */
const char *itip_xprop_value(icalproperty *p);
/* Value of the X-parameter NAME (case-insensitive) of P, or NULL. */
const char *itip_xparam(icalproperty *p, const char *name);

/* Position of a time relative to the Outlook safe window of catalogue section 0.3. */
typedef enum {
    ITIP_TW_OK = 0,
    ITIP_TW_BEFORE_1601,     /* earlier than 1601-01-01T00:00:00 */
    ITIP_TW_FILETIME_ZERO,   /* exactly 1601-01-01T00:00:00 (with or without Z) */
    ITIP_TW_ABOVE_SAFE,      /* later than 4500-08-31T23:59:00, earlier than 4501-01-01 */
    ITIP_TW_SENTINEL_4501    /* 4501-01-01T00:00:00 or later */
} itip_timewin;
itip_timewin itip_time_window(struct icaltimetype t);

/* Parses an iCalendar DATE or DATE-TIME text ("20260101T120000Z", "20260101").  Returns 0 and
 * fills *t, or -1 when S is not one (libical's null time is never returned as success). */
int itip_parse_time(const char *s, struct icaltimetype *t);
/* Seconds since the epoch of a UTC (or floating, read as UTC) date-time; works for years
 * 1..9999 without overflow on 64-bit time_t. */
long long itip_time_to_unix(struct icaltimetype t);
/* "20260101T120000Z" style text of T into buf (at least 32 bytes). */
const char *itip_time_str(struct icaltimetype t, char *buf, size_t len);

/* The address of a mailto: URI (case-insensitive scheme), or NULL when V is not mailto:. */
const char *itip_mailto(const char *v);
/* True if S is a plausible RFC 5322 addr-spec: local@domain, no spaces or controls. */
int itip_addr_valid(const char *s);
/* Case-insensitive address comparison. */
int itip_addr_equal(const char *a, const char *b);
/* The domain part of an address (after the last '@'), or NULL. */
const char *itip_addr_domain(const char *addr);
/* Extracts the first addr-spec of an RFC 5322 address header ("Name <a@b>" or "a@b") into buf;
 * returns buf, or NULL when none is found. */
char *itip_header_addr(const char *header, char *buf, size_t len);

/* True if the organizer's domain (or, when there is no ORGANIZER, an envelope recipient's)
 * is on legacy_cdo_domains. */
int itip_target_is_legacy(itip_calctx *c, icalcomponent *event);

/* The VCALENDAR's VTIMEZONE for TZID (exact match first, then case-insensitive as in
 * MS-OXCICAL) when every STANDARD/DAYLIGHT rule of it is yearly, so that libical's expansion
 * of it stays cheap; else NULL. */
icaltimezone *itip_cheap_zone(itip_calctx *c, const char *tzid);
/* Number of entries of a libical BY* array of SIZE (ended by ICAL_RECURRENCE_ARRAY_MAX). */
int itip_by_count(const short *a, int size);

/* The main VEVENT (first without RECURRENCE-ID, else the first VEVENT), or NULL. */
icalcomponent *itip_main_event(itip_calctx *c);

#endif
