/*
 * rules_time.c - date and time values against what Outlook/Exchange can store (PT_SYSTIME).
 *
 * Rules (catalogue section D):
 *   D1 datetime-out-of-outlook-range  a value before 1601 or after 4500-08-31T23:59
 *   D2 datetime-filetime-zero         a tracking stamp equal to 1601-01-01T00:00:00
 *   D3 datetime-mapi-sentinel         a value at or after 4501-01-01 (Outlook's "none")
 *   D4 dtstamp-not-utc                DTSTAMP floating, with a TZID, or a DATE
 *   D5 floating-dtstart               timed DTSTART/DTEND without Z and TZID
 *                                     (REQUEST, CANCEL, PUBLISH)
 *   D6 dtend-before-dtstart           DTEND < DTSTART after zone resolution, or a negative
 *                                     DURATION (REQUEST, PUBLISH, COUNTER)
 *   D7 leap-second                    seconds = 60
 *   D8 dtstamp-vs-date-header-skew    DTSTAMP far from the Date: header
 *                                     (the detail names the sender's clock-skew estimate, when the
 *                                     store has one: record.h)
 *
 * Ownership, so that one defect gives one finding: in REPLY/COUNTER, DTSTAMP and
 * X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE belong to C2/C3; X-MS-OLK-RESPTIME and
 * X-MICROSOFT-CDO-REPLYTIME belong to C17/C18 everywhere; in REQUEST/CANCEL/PUBLISH the
 * 1601-01-01T00:00:00 and >= 4501 date-times of X-MICROSOFT-CDO-ATTENDEE/OWNER-CRITICAL-CHANGE
 * belong to I4 (outbound-tracking-sentinel-leak).  D1-D4 skip those.
 *
 * Never looks inside VTIMEZONE (Exchange itself writes DTSTART:16010101T... there), never
 * changes the tree, never expands a VTIMEZONE whose rules are not yearly (a hostile
 * FREQ=SECONDLY zone would make libical iterate for minutes), and never nests two iterations
 * over the properties of one component.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "rules/calendar.h"
#include "rules/calutil.h"
#include "store/record.h"
#include "mime/mimehdr.h"

#define MAX_PER_RULE 5          /* findings of one rule in one part; the rest add nothing new */
#define TBUF 32                 /* itip_time_str needs at least 32 bytes */
#define SECONDS_PER_MINUTE 60
#define SECONDS_PER_DAY 86400
#define DAYS_BUF 48             /* " (about N days)" for any long long N */
#define DEGRADE_SKEW 3600       /* D8: more than an hour off is degrade, below it info */
#define SKEW_NOTE_BUF 360       /* "; " and the sender's clock-skew phrase (record.h) */
#define LEAP_SECOND 60

/* The role of a time-valued property in the ownership and severity decisions. */
typedef enum {
    TP_PLAIN = 0,      /* DUE, CREATED, EXDATE, RRULE UNTIL, TRIGGER, ... */
    TP_DTSTART,
    TP_DTEND,
    TP_DTSTAMP,
    TP_ATTENDEE_CC,    /* X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE */
    TP_OWNER_CC,       /* X-MICROSOFT-CDO-OWNER-CRITICAL-CHANGE */
    TP_APPTSEQTIME,    /* X-MS-OLK-APPTSEQTIME */
    TP_IGNORED         /* not a time, or owned by another rule (C17/C18) */
} tprole;

typedef struct {
    itip_calctx *c;
    int reply_like;    /* METHOD REPLY or COUNTER */
    int outbound;      /* METHOD REQUEST, CANCEL or PUBLISH (I4's methods) */
    int count[ITIP_RULE_COUNT];
} tstate;

/* One time value of a property, with what is needed to report it. */
typedef struct {
    icalcomponent *comp;
    const char *name;  /* property name as written */
    const char *label; /* what the detail calls the value: the name, or "RRULE UNTIL" */
    tprole role;
    struct icaltimetype t;
} tvalue;

/* Counts a finding of RULE; false once MAX_PER_RULE were emitted in this part. */
static int take(tstate *st, itip_rule_id rule)
{
    return st->count[rule]++ < MAX_PER_RULE;
}

static int tracking(tprole r)
{
    return r == TP_DTSTAMP || r == TP_ATTENDEE_CC || r == TP_OWNER_CC || r == TP_APPTSEQTIME;
}

/* True when another, more specific rule reports this value's range (see the file comment). */
static int owned_elsewhere(const tstate *st, tprole role, struct icaltimetype t,
                           itip_timewin win)
{
    if (st->reply_like && (role == TP_DTSTAMP || role == TP_ATTENDEE_CC))
        return 1;
    if (st->outbound && (role == TP_ATTENDEE_CC || role == TP_OWNER_CC) && !t.is_date &&
        (win == ITIP_TW_FILETIME_ZERO || win == ITIP_TW_SENTINEL_4501))
        return 1;
    return 0;
}

/* ---- D1 D2 D3 D7: one value ---- */

static void report_range(tstate *st, const tvalue *v, itip_timewin win)
{
    char b[TBUF];
    const char *ts = itip_time_str(v->t, b, sizeof b);
    int start_of_event = v->role == TP_DTSTART &&
                         icalcomponent_isa(v->comp) == ICAL_VEVENT_COMPONENT;
    itip_severity d1sev = start_of_event ? ITIP_SEV_WOULD_FAIL : ITIP_SEV_DEGRADE;
    const char *consequence = start_of_event
        ? "the meeting has no valid start time for Outlook"
        : "Outlook treats it as invalid and approximates or drops it";

    switch (win) {
    case ITIP_TW_BEFORE_1601:
        if (take(st, ITIP_R_DATETIME_OUT_OF_OUTLOOK_RANGE))
            itip_emit(st->c, ITIP_R_DATETIME_OUT_OF_OUTLOOK_RANGE, d1sev, v->comp, v->name,
                      "%s %s is before 1601-01-01, outside Outlook's date range: %s",
                      v->label, ts, consequence);
        break;
    case ITIP_TW_ABOVE_SAFE:
        if (take(st, ITIP_R_DATETIME_OUT_OF_OUTLOOK_RANGE))
            itip_emit(st->c, ITIP_R_DATETIME_OUT_OF_OUTLOOK_RANGE, d1sev, v->comp, v->name,
                      "%s %s is after 4500-08-31T23:59, where Outlook's 'no end' sentinels "
                      "live: %s", v->label, ts, consequence);
        break;
    case ITIP_TW_FILETIME_ZERO:
        if (tracking(v->role)) {
            if (take(st, ITIP_R_DATETIME_FILETIME_ZERO))
                itip_emit(st->c, ITIP_R_DATETIME_FILETIME_ZERO, ITIP_SEV_WOULD_FAIL, v->comp,
                          v->name, "%s %s is FILETIME 0 (1601-01-01T00:00:00), the KB 938650 "
                          "poison value: later updates and cancels fail MAPI-to-MIME conversion",
                          v->label, ts);
        } else if (take(st, ITIP_R_DATETIME_OUT_OF_OUTLOOK_RANGE)) {
            itip_emit(st->c, ITIP_R_DATETIME_OUT_OF_OUTLOOK_RANGE, d1sev, v->comp, v->name,
                      "%s %s is 1601-01-01T00:00:00 (FILETIME 0, Outlook's 'unset'), not "
                      "inside the valid range: %s", v->label, ts, consequence);
        }
        break;
    case ITIP_TW_SENTINEL_4501:
        if (take(st, ITIP_R_DATETIME_MAPI_SENTINEL))
            itip_emit(st->c, ITIP_R_DATETIME_MAPI_SENTINEL, ITIP_SEV_INFO, v->comp, v->name,
                      "%s %s is at or after 4501-01-01, Outlook's 'none' marker: an unset MAPI "
                      "time was exported verbatim", v->label, ts);
        break;
    case ITIP_TW_OK:
        break;
    }
}

static void check_value(tstate *st, const tvalue *v)
{
    itip_timewin win;

    if (v->role == TP_IGNORED || icaltime_is_null_time(v->t))
        return;
    if (!v->t.is_date && v->t.second == LEAP_SECOND && take(st, ITIP_R_LEAP_SECOND)) {
        char b[TBUF];
        itip_emit(st->c, ITIP_R_LEAP_SECOND, ITIP_SEV_INFO, v->comp, v->name,
                  "%s %s has seconds = 60 (a leap second): Outlook reads it as :59", v->label,
                  itip_time_str(v->t, b, sizeof b));
    }
    win = itip_time_window(v->t);
    if (win == ITIP_TW_OK || owned_elsewhere(st, v->role, v->t, win))
        return;
    report_range(st, v, win);
}

/* ---- reading the values of one property ---- */

static tprole x_role(const char *name)
{
    if (strcasecmp(name, "X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE") == 0)
        return TP_ATTENDEE_CC;
    if (strcasecmp(name, "X-MICROSOFT-CDO-OWNER-CRITICAL-CHANGE") == 0)
        return TP_OWNER_CC;
    if (strcasecmp(name, "X-MS-OLK-APPTSEQTIME") == 0)
        return TP_APPTSEQTIME;
    if (strcasecmp(name, "X-MS-OLK-ORIGINALSTART") == 0 ||
        strcasecmp(name, "X-MS-OLK-ORIGINALEND") == 0)
        return TP_PLAIN;
    return TP_IGNORED;   /* X-MICROSOFT-CDO-REPLYTIME is C18's; others are not times */
}

static tprole std_role(icalproperty_kind k)
{
    switch (k) {
    case ICAL_DTSTART_PROPERTY: return TP_DTSTART;
    case ICAL_DTEND_PROPERTY: return TP_DTEND;
    case ICAL_DTSTAMP_PROPERTY: return TP_DTSTAMP;
    case ICAL_DUE_PROPERTY:
    case ICAL_CREATED_PROPERTY:
    case ICAL_LASTMODIFIED_PROPERTY:
    case ICAL_RECURRENCEID_PROPERTY:
    case ICAL_EXDATE_PROPERTY:
    case ICAL_RDATE_PROPERTY:
    case ICAL_RRULE_PROPERTY:
    case ICAL_TRIGGER_PROPERTY:
        return TP_PLAIN;
    default:
        return TP_IGNORED;
    }
}

/* Fills out[0..1] with the time values of P (a DATE/DATE-TIME, both ends of an RDATE period,
 * an RRULE's UNTIL, an absolute TRIGGER, or an X-property's text).  Returns how many. */
static int prop_times(icalproperty *p, struct icaltimetype out[2])
{
    icalvalue *v = icalproperty_get_value(p);
    int n = 0;

    if (v == NULL)
        return 0;
    switch (icalvalue_isa(v)) {
    case ICAL_DATETIME_VALUE:
    case ICAL_DATE_VALUE:
        out[n++] = icalvalue_get_datetime(v);
        break;
    case ICAL_DATETIMEPERIOD_VALUE: {
        struct icaldatetimeperiodtype dp = icalvalue_get_datetimeperiod(v);
        if (!icaltime_is_null_time(dp.time)) {
            out[n++] = dp.time;
        } else {
            out[n++] = dp.period.start;
            out[n++] = dp.period.end;
        }
        break;
    }
    case ICAL_PERIOD_VALUE: {
        struct icalperiodtype pe = icalvalue_get_period(v);
        out[n++] = pe.start;
        out[n++] = pe.end;
        break;
    }
    case ICAL_RECUR_VALUE:
        out[n++] = icalvalue_get_recur(v).until;
        break;
    case ICAL_TRIGGER_VALUE:
        out[n++] = icalvalue_get_trigger(v).time;
        break;
    default:
        if (icalproperty_isa(p) == ICAL_X_PROPERTY &&
            itip_parse_time(itip_xprop_value(p), &out[n]) == 0)
            n++;
        break;
    }
    return n;
}

/* D4: DTSTAMP must be a UTC DATE-TIME. */
static void check_dtstamp_utc(tstate *st, icalcomponent *comp, icalproperty *p)
{
    icalparameter *tz = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
    icalvalue *v = icalproperty_get_value(p);
    struct icaltimetype t;
    char b[TBUF];
    const char *why;

    if (st->reply_like || v == NULL)
        return;
    if (icalvalue_isa(v) != ICAL_DATETIME_VALUE && icalvalue_isa(v) != ICAL_DATE_VALUE)
        return;
    t = icalvalue_get_datetime(v);
    if (icaltime_is_null_time(t))
        return;
    if (t.is_date)
        why = "is a DATE; it must be a UTC date-time: the critical-change time loses its "
              "time of day";
    else if (tz != NULL && icaltime_is_utc(t))
        why = "is UTC but also carries a TZID, which RFC 5545 forbids: a converter that "
              "honours the TZID shifts the critical-change time";
    else if (tz != NULL)
        why = "has a TZID; it must be UTC: Exchange reads it as UTC, so the critical-change "
              "time is off by the sender's UTC offset";
    else if (!icaltime_is_utc(t))
        why = "is floating (no Z); it must be UTC: Exchange reads it as UTC, so the "
              "critical-change time is off by the sender's UTC offset";
    else
        return;
    if (take(st, ITIP_R_DTSTAMP_NOT_UTC))
        itip_emit(st->c, ITIP_R_DTSTAMP_NOT_UTC, ITIP_SEV_DEGRADE, comp, "DTSTAMP",
                  "DTSTAMP %s %s", itip_time_str(t, b, sizeof b), why);
}

/* D1 D2 D3 D4 D7 over every property of COMP (one pass, libical's internal iterator). */
static void check_props(tstate *st, icalcomponent *comp)
{
    icalproperty *p;

    for (p = icalcomponent_get_first_property(comp, ICAL_ANY_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(comp, ICAL_ANY_PROPERTY)) {
        icalproperty_kind k = icalproperty_isa(p);
        struct icaltimetype ts[2];
        tvalue v;
        int i, n;

        v.comp = comp;
        if (k == ICAL_X_PROPERTY) {
            const char *xn = icalproperty_get_x_name(p);
            v.name = xn ? xn : "X-";
            v.role = xn ? x_role(xn) : TP_IGNORED;
        } else {
            v.name = icalproperty_kind_to_string(k);
            v.role = std_role(k);
        }
        v.label = k == ICAL_RRULE_PROPERTY ? "RRULE UNTIL" : v.name;
        if (v.role == TP_IGNORED || v.name == NULL)
            continue;
        if (v.role == TP_DTSTAMP)
            check_dtstamp_utc(st, comp, p);
        n = prop_times(p, ts);
        for (i = 0; i < n; i++) {
            v.t = ts[i];
            check_value(st, &v);
        }
    }
}

/* ---- D5: floating start/end of a timed meeting ---- */

static int is_floating(icalproperty *p, struct icaltimetype *t)
{
    icalvalue *v = p ? icalproperty_get_value(p) : NULL;

    if (v == NULL || icalvalue_isa(v) != ICAL_DATETIME_VALUE)
        return 0;
    *t = icalvalue_get_datetime(v);
    return !icaltime_is_null_time(*t) && !t->is_date && !icaltime_is_utc(*t) &&
           icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER) == NULL;
}

static void check_floating(tstate *st, icalcomponent *ev)
{
    icalproperty *ps = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY);
    icalproperty *pe = icalcomponent_get_first_property(ev, ICAL_DTEND_PROPERTY);
    struct icaltimetype ts, te;
    int fs = is_floating(ps, &ts), fe = is_floating(pe, &te);
    char b[TBUF];

    if (!fs && !fe)
        return;
    if (take(st, ITIP_R_FLOATING_DTSTART))
        itip_emit(st->c, ITIP_R_FLOATING_DTSTART, ITIP_SEV_DEGRADE, ev,
                  fs ? "DTSTART" : "DTEND",
                  "%s %s%s has neither Z nor TZID (floating time): Exchange reads it as UTC, "
                  "so the meeting lands at the wrong local time", fs ? "DTSTART" : "DTEND",
                  itip_time_str(fs ? ts : te, b, sizeof b), fs && fe ? " (and DTEND)" : "");
}

/* ---- D6: end before start ---- */

/* A DTSTART/DTEND value and how its zone is known. */
typedef struct {
    struct icaltimetype t;
    const char *tzid;        /* TZID parameter or NULL */
    icaltimezone *zone;      /* the VCALENDAR's VTIMEZONE for tzid, when usable */
} zoned;

static int read_zoned(itip_calctx *c, icalproperty *p, zoned *z)
{
    icalvalue *v = p ? icalproperty_get_value(p) : NULL;
    icalparameter *tp;

    if (v == NULL || (icalvalue_isa(v) != ICAL_DATETIME_VALUE &&
                      icalvalue_isa(v) != ICAL_DATE_VALUE))
        return 0;
    z->t = icalvalue_get_datetime(v);
    if (icaltime_is_null_time(z->t))
        return 0;
    z->t.zone = icaltime_is_utc(z->t) ? icaltimezone_get_utc_timezone() : NULL;
    tp = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
    z->tzid = tp ? icalparameter_get_tzid(tp) : NULL;
    z->zone = NULL;
    if (z->tzid != NULL && !icaltime_is_utc(z->t)) {
        z->zone = itip_cheap_zone(c, z->tzid);
    }
    return 1;
}

/* T (UTC, or a wall-clock time in T.zone) as seconds since the epoch, as
 * icaltime_convert_to_zone() to UTC would give it. */
static long long utc_instant(struct icaltimetype t)
{
    long long s = itip_time_to_unix(t);

    if (t.zone == NULL || t.zone == icaltimezone_get_utc_timezone())
        return s;
    return s - itip_zone_utc_offset((icaltimezone *)t.zone, &t, NULL);
}

/* Compares END with START: <0, 0, >0; or 2 when the comparison is not meaningful (mixed DATE
 * and DATE-TIME, floating against zoned, or a zone we cannot or will not resolve). */
static int compare_zoned(zoned *s, zoned *e)
{
    int s_utc = icaltime_is_utc(s->t), e_utc = icaltime_is_utc(e->t);
    long long a, b;

    if (s->t.is_date != e->t.is_date)
        return 2;
    if (s->t.is_date || (s_utc && e_utc) ||
        (!s_utc && !e_utc && s->tzid == NULL && e->tzid == NULL) ||
        (s->tzid != NULL && e->tzid != NULL && strcmp(s->tzid, e->tzid) == 0)) {
        /* same frame: wall-clock fields compare directly, no zone expansion needed */
        a = itip_time_to_unix(e->t);
        b = itip_time_to_unix(s->t);
        return a < b ? -1 : a > b;
    }
    if ((!s_utc && s->zone == NULL) || (!e_utc && e->zone == NULL))
        return 2;
    if (s->zone != NULL)
        s->t.zone = s->zone;
    if (e->zone != NULL)
        e->t.zone = e->zone;
    /* icaltime_compare(e->t, s->t): one zone, the wall clocks; else both as UTC instants, the
     * zone's offset computed directly (libical would expand the VTIMEZONE from its first
     * DTSTART, 1601 for Outlook's zones) */
    if (e->t.zone == s->t.zone) {
        a = itip_time_to_unix(e->t);
        b = itip_time_to_unix(s->t);
    } else {
        a = utc_instant(e->t);
        b = utc_instant(s->t);
    }
    return a < b ? -1 : a > b;
}

static void check_negative_duration(tstate *st, icalcomponent *ev)
{
    icalproperty *pd = icalcomponent_get_first_property(ev, ICAL_DURATION_PROPERTY);
    icalvalue *v = pd ? icalproperty_get_value(pd) : NULL;
    struct icaldurationtype d;

    if (v == NULL || icalvalue_isa(v) != ICAL_DURATION_VALUE)
        return;
    d = icalvalue_get_duration(v);
    if (!d.is_neg || icaldurationtype_is_null_duration(d))
        return;
    if (take(st, ITIP_R_DTEND_BEFORE_DTSTART))
        itip_emit(st->c, ITIP_R_DTEND_BEFORE_DTSTART, ITIP_SEV_DEGRADE, ev, "DURATION",
                  "DURATION %s is negative: the meeting ends before it starts; MAPI "
                  "reimplementations refuse the import", icaldurationtype_as_ical_string(d));
}

static void check_end_before_start(tstate *st, icalcomponent *ev)
{
    icalproperty *ps = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY);
    icalproperty *pe = icalcomponent_get_first_property(ev, ICAL_DTEND_PROPERTY);
    zoned s, e;
    char b1[TBUF], b2[TBUF];

    check_negative_duration(st, ev);
    if (!read_zoned(st->c, ps, &s) || !read_zoned(st->c, pe, &e))
        return;
    if (compare_zoned(&s, &e) >= 0)
        return;
    if (take(st, ITIP_R_DTEND_BEFORE_DTSTART))
        itip_emit(st->c, ITIP_R_DTEND_BEFORE_DTSTART, ITIP_SEV_DEGRADE, ev, "DTEND",
                  "DTEND %s%s%s is before DTSTART %s%s%s: MAPI reimplementations refuse the "
                  "import (gromox: end_time < start_time)",
                  itip_time_str(e.t, b1, sizeof b1), e.tzid ? " " : "", e.tzid ? e.tzid : "",
                  itip_time_str(s.t, b2, sizeof b2), s.tzid ? " " : "", s.tzid ? s.tzid : "");
}

/* ---- D8: DTSTAMP against the Date: header ---- */

static void check_date_header(tstate *st)
{
    itip_calctx *c = st->c;
    const itip_msgctx *m = c->msg;
    icalcomponent *ev;
    icalproperty *p;
    icalvalue *v;
    struct icaltimetype t;
    long long date, diff, mag;
    char days[DAYS_BUF];
    char skew[SKEW_NOTE_BUF];   /* the sender's running clock-skew estimate, when known */

    if (!m->is_message || m->hdrs == NULL || m->hdrs->date == NULL || c->part->encapsulated)
        return;
    if ((ev = itip_main_event(c)) == NULL ||
        (p = icalcomponent_get_first_property(ev, ICAL_DTSTAMP_PROPERTY)) == NULL ||
        (v = icalproperty_get_value(p)) == NULL || icalvalue_isa(v) != ICAL_DATETIME_VALUE)
        return;
    t = icalvalue_get_datetime(v);
    if (icaltime_is_null_time(t) || !icaltime_is_utc(t) ||
        itip_time_window(t) != ITIP_TW_OK)   /* D1-D3/C3 report those */
        return;
    if (itip_parse_date(m->hdrs->date, &date) != 0)
        return;
    diff = itip_time_to_unix(t) - date;
    mag = llabs(diff);
    if (mag <= m->cfg->date_header_skew)
        return;
    if (mag >= SECONDS_PER_DAY)
        snprintf(days, sizeof days, " (about %lld days)", mag / SECONDS_PER_DAY);
    else
        days[0] = '\0';
    itip_emit(c, ITIP_R_DTSTAMP_VS_DATE_HEADER_SKEW,
              mag > DEGRADE_SKEW ? ITIP_SEV_DEGRADE : ITIP_SEV_INFO, ev, "DTSTAMP",
              "DTSTAMP is %lld minutes%s %s the Date: header: the sender's calendar clock or "
              "its mail clock is off%s%s", mag / SECONDS_PER_MINUTE, days,
              diff > 0 ? "ahead of" : "behind",
              diff > 0 ? "" : ", or the DTSTAMP is stale (not set when this message was made)",
              itip_skew_note(m->work, skew, sizeof skew));
}

/* ---- the group ---- */

static void check_component(tstate *st, icalcomponent *comp)
{
    icalcompiter it;
    icalcomponent *alarm;

    check_props(st, comp);
    for (it = icalcomponent_begin_component(comp, ICAL_VALARM_COMPONENT);
         (alarm = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it))
        check_props(st, alarm);
    if (icalcomponent_isa(comp) != ICAL_VEVENT_COMPONENT)
        return;
    if (itip_method_is(st->c, "REQUEST") || itip_method_is(st->c, "CANCEL") ||
        itip_method_is(st->c, "PUBLISH"))
        check_floating(st, comp);
    if (itip_method_is(st->c, "REQUEST") || itip_method_is(st->c, "PUBLISH") ||
        itip_method_is(st->c, "COUNTER"))
        check_end_before_start(st, comp);
}

void itip_check_time(itip_calctx *c)
{
    tstate st;
    icalcompiter it;
    icalcomponent *comp;

    if (c == NULL || c->vcal == NULL || c->msg == NULL)
        return;
    memset(&st, 0, sizeof st);
    st.c = c;
    st.reply_like = itip_method_is(c, "REPLY") || itip_method_is(c, "COUNTER");
    st.outbound = itip_method_is(c, "REQUEST") || itip_method_is(c, "CANCEL") ||
                  itip_method_is(c, "PUBLISH");
    /* VEVENT and VTODO (with their VALARMs); VTIMEZONE is exempt from every range rule */
    for (it = icalcomponent_begin_component(c->vcal, ICAL_ANY_COMPONENT);
         (comp = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it)) {
        icalcomponent_kind k = icalcomponent_isa(comp);
        if (k == ICAL_VEVENT_COMPONENT || k == ICAL_VTODO_COMPONENT)
            check_component(&st, comp);
    }
    if (c->part != NULL)
        check_date_header(&st);
}
