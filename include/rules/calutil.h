/*
 * calutil.h - helpers for rule code (calutil.c): emitting findings, reporting a value once and
 * the text of details, the METHOD tests, a case-insensitive comparison for sorted string
 * lists, X-properties and their parameters, times (the Outlook safe window, iCalendar text,
 * seconds since the epoch), addresses, the legacy-organizer test, cheap time zones and the
 * UTC offsets of their wall-clock times, the main VEVENT and a series master.
 *
 * Exports the itip_* functions below; no state, no allocation except where said.  Used by the
 * rule files and calendar.c, and (itip_parse_time) by the repair.
 */
#ifndef ITIP_CALUTIL_H
#define ITIP_CALUTIL_H

#include <stddef.h>
#include <libical/ical.h>
#include "rules/calendar.h"

/* itip_xprop/itip_xprop_count/itip_xparam use libical's internal iterator of the component
 * (or property) they are given: do not call them on a component whose properties you are
 * iterating with icalcomponent_get_first/next_property at that moment.  itip_main_event uses an
 * external iterator and is safe inside a VEVENT loop. */

/* Adds a finding for COMP (its kind names the component, its UID the uid; COMP may be NULL).
 * Safe inside any iteration: it does not touch libical iterators. */
void itip_emit(itip_calctx *c, itip_rule_id rule, itip_severity sev, icalcomponent *comp,
               const char *property, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Reporting each value once per part: true when V is not among the *N values of SEEN
 * (compared case-insensitively) and *N is below MAX; V is then added to SEEN (the pointer is
 * kept: V must live as long as SEEN).  False, and nothing changes, otherwise. */
int itip_note_once(const char **seen, int *n, int max, const char *v);
/* S, or "" when S is NULL. */
const char *itip_nz(const char *s);
/* "..." when S is longer than SHOWN bytes (a detail that quotes it with "%.*s" cuts it), else
 * "". */
const char *itip_cut_mark(const char *s, size_t shown);

/* True if the part's METHOD is M: itip_method_is compares the upper-cased text (c->method, M
 * like "REQUEST"), itip_method_kind_is libical's reading of it (c->method_kind).  Both are
 * false for every M when the part has no METHOD (except ICAL_METHOD_NONE for the second). */
int itip_method_is(const itip_calctx *c, const char *m);
int itip_method_kind_is(const itip_calctx *c, icalproperty_method m);

/* qsort/bsearch comparison of two `const char *` elements by strcasecmp (TZIDs compare
 * case-insensitively, as in MS-OXCICAL). */
int itip_cmp_ci(const void *a, const void *b);

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

/* The SENT-BY parameter of P (an ORGANIZER or ATTENDEE): its mailto: address, else the value
 * as written; NULL when P is NULL or has none. */
const char *itip_sent_by(icalproperty *p);
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
 * is on legacy_cdo_domains, or - not on modern_domains, and learn_legacy_cdo with a store -
 * was learned as an Exchange 2003 / CDO organizer (a REQUEST or CANCEL written by CDO), or
 * the meeting's UID was learned with such an organizer.  Explicit settings win. */
int itip_target_is_legacy(itip_calctx *c, icalcomponent *event);
/* After itip_target_is_legacy() said 1 from what was learned: "; DOMAIN learned as Exchange
 * 2003/CDO from a REQUEST on YYYY-MM-DD" in BUF; else "". */
#define ITIP_LEGACY_NOTE 400
const char *itip_legacy_note(itip_calctx *c, char *buf, size_t len);
/* True if the part was written by CDO / Exchange 2003: PRODID "Microsoft CDO for Microsoft
 * Exchange", or the message's X-MimeOLE "Produced By Microsoft Exchange V6.5". */
int itip_written_by_cdo(const itip_calctx *c);

/* The VCALENDAR's VTIMEZONE for TZID (exact match first, then case-insensitive as in
 * MS-OXCICAL) when every STANDARD/DAYLIGHT rule of it is yearly, so that libical's expansion
 * of it stays cheap; else NULL. */
icaltimezone *itip_cheap_zone(itip_calctx *c, const char *tzid);
/* The UTC offset in seconds of wall-clock time TT in ZONE (a VTIMEZONE of a parsed calendar),
 * and in *IS_DAYLIGHT (when not NULL) whether daylight time applies: the answer of
 * icaltimezone_get_utc_offset(), including its quirks (before the first onset the earliest
 * onset's TZOFFSETFROM; in the repeated hour standard time unless TT->is_daylight is 1; a
 * missing hour already in the new offset), computed from the STANDARD/DAYLIGHT onsets near
 * TT instead of libical's expansion of every onset from the first DTSTART.  Onsets are
 * DTSTART, RDATEs and a yearly RRULE of the usual shapes: BYMONTH=m;BYDAY=nDD (n 1..4, -1..-4),
 * BYMONTH=m;BYMONTHDAY=d..d+6;BYDAY=DD, or none (DTSTART's date), with or without UNTIL
 * (INTERVAL 1, no COUNT).  Any other shape, TT outside the years 3..2570 or an offset of a
 * day or more is left to libical: itip_zone_utc_offset() then calls it, and
 * itip_zone_utc_offset_direct() returns -1 (else 0 and *OFFSET).  No allocation, no state;
 * uses the property iterators of the zone's sub-components. */
int itip_zone_utc_offset(icaltimezone *zone, const struct icaltimetype *tt, int *is_daylight);
int itip_zone_utc_offset_direct(icaltimezone *zone, const struct icaltimetype *tt, int *offset,
                                int *is_daylight);
/* The same for a UTC time TT (its fields read as UTC): the offset of ZONE at that instant, the
 * answer of icaltimezone_get_utc_offset_of_utc_time() (the last onset at or before TT; before
 * the first, its TZOFFSETFROM and the other kind of time), from the onsets near TT; other
 * shapes as above (..._direct() returns -1, itip_zone_utc_offset_of_utc() asks libical). */
int itip_zone_utc_offset_of_utc(icaltimezone *zone, const struct icaltimetype *tt,
                                int *is_daylight);
int itip_zone_utc_offset_of_utc_direct(icaltimezone *zone, const struct icaltimetype *tt,
                                       int *offset, int *is_daylight);
/* icaltimezone_convert_time() with the two offsets above: TT (a wall-clock time in FROM) moved
 * to TO's wall clock, is_daylight set from TO; a DATE, FROM == TO or FROM NULL left alone.
 * TT's zone field is not touched. */
void itip_zone_convert_time(struct icaltimetype *tt, icaltimezone *from, icaltimezone *to);
/* Number of entries of a libical BY* array of SIZE (ended by ICAL_RECURRENCE_ARRAY_MAX). */
int itip_by_count(const short *a, int size);

/* The main VEVENT (first without RECURRENCE-ID, else the first VEVENT), or NULL. */
icalcomponent *itip_main_event(itip_calctx *c);
/* The first component of the part (c->uids) with UID UID and no RECURRENCE-ID: the series
 * master; NULL when there is none.  Moves the internal property iterator of the components it
 * looks at (icalcomponent_get_first_property). */
icalcomponent *itip_series_master(const itip_calctx *c, const char *uid);

#endif
