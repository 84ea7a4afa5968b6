/*
 * rules_reply.c - stateless REPLY / COUNTER checks (catalogue section C): track status and the
 * timestamps that become PidLidAttendeeCriticalChange / PidTagRecipientTrackStatusTime.
 *
 * Rules: C1 reply-attendee-critical-change-missing, C2 reply-attendee-critical-change-invalid,
 * C3 reply-dtstamp-invalid, C4 reply-dtstamp-future-skew (its degrade detail names the sender's
 * clock-skew estimate when the store has one: record.h), C5 reply-critical-change-disagree,
 * C6 reply-attendee-count, C7 reply-partstat-unmappable, C8 reply-attendee-address-invalid,
 * C9 reply-attendee-sender-mismatch, C16 counter-to-legacy (METHOD REPLY/COUNTER only),
 * C17 attendee-resptime-invalid and C18 cdo-replytime-invalid (any METHOD: the catalogue names
 * PUBLISH/REPLY/REQUEST, but the D rules leave these two values to C17/C18 everywhere, so they
 * run wherever the value occurs).  A calendar without METHOD gets no C finding.  In REQUEST,
 * CANCEL and PUBLISH the FILETIME-0 and 4501 values of both are I4's
 * (outbound-tracking-sentinel-leak).  The stateful C10-C15 are not here.
 *
 * "Legacy" is itip_target_is_legacy(): the organizer (or recipient) domain is on
 * legacy_cdo_domains, i.e. an Exchange 2003 / Outlook 2007 stack that reads the CDO
 * X-properties.  Each defect of a property is reported by one rule only: a bad DTSTAMP by C3
 * (C4 and C5 only look at values C3/C2 accepted), a missing PARTSTAT by C7, more than one
 * PARTSTAT by C6.
 *
 * Never modifies the tree, never keeps libical objects beyond the call, never nests loops over
 * the internal property iterator of one component (itip_xprop, itip_target_is_legacy use it):
 * the properties of an event are collected in one pass first, events are walked with an
 * external icalcompiter.
 */
#include "ac-config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include "rules/calendar.h"
#include "rules/calutil.h"
#include "store/record.h"

#define X_ATTENDEE_CC "X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE"
#define X_REPLYTIME   "X-MICROSOFT-CDO-REPLYTIME"
#define X_RESPTIME    "X-MS-OLK-RESPTIME"

/* Findings of one rule per calendar part past which the rest are not reported. */
#define MAX_FINDINGS_PER_RULE 5
/* Properties of one kind remembered per event (the count goes on past it). */
#define MAX_PROPS 8
/* Characters of an offending value quoted in a detail line. */
#define VALUE_SHOWN 60
/* C4: a stamp more than this far ahead is "years ahead" (flagged would-fail). */
#define FAR_FUTURE_SECONDS (365LL * 24 * 3600)
/* "; " and the sender's clock-skew phrase (record.h) */
#define SKEW_NOTE_BUF 360
/* Room for an address taken from From:/Sender: (RFC 5321 caps a path at 256 octets). */
#define ADDR_BUF 512

/* Per-part state: the context and how many findings each rule has produced. */
typedef struct {
    itip_calctx *c;
    int count[ITIP_RULE_COUNT];
} reply_run;

/* True if RULE may report once more in this part (and counts it). */
static int may_emit(reply_run *r, itip_rule_id rule)
{
    return ++r->count[rule] <= MAX_FINDINGS_PER_RULE;
}

#define EMIT(r, rule, ...) \
    do { if (may_emit((r), (rule))) itip_emit((r)->c, (rule), __VA_ARGS__); } while (0)

/* The properties of one VEVENT that the C rules look at. */
typedef struct {
    icalproperty *att[MAX_PROPS];
    int natt;
    icalproperty *dtstamp[MAX_PROPS];
    int ndtstamp;
    icalproperty *cc[MAX_PROPS];          /* X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE */
    int ncc;
    icalproperty *replytime[MAX_PROPS];   /* X-MICROSOFT-CDO-REPLYTIME */
    int nreplytime;
} event_props;

static void keep(icalproperty **v, int *n, icalproperty *p)
{
    if (*n < MAX_PROPS)
        v[*n] = p;
    (*n)++;
}

static void collect_props(icalcomponent *ev, event_props *e)
{
    icalproperty *p;

    memset(e, 0, sizeof *e);
    for (p = icalcomponent_get_first_property(ev, ICAL_ANY_PROPERTY); p;
         p = icalcomponent_get_next_property(ev, ICAL_ANY_PROPERTY)) {
        icalproperty_kind k = icalproperty_isa(p);
        const char *xname;

        if (k == ICAL_ATTENDEE_PROPERTY)
            keep(e->att, &e->natt, p);
        else if (k == ICAL_DTSTAMP_PROPERTY)
            keep(e->dtstamp, &e->ndtstamp, p);
        else if (k == ICAL_X_PROPERTY && (xname = icalproperty_get_x_name(p)) != NULL) {
            if (strcasecmp(xname, X_ATTENDEE_CC) == 0)
                keep(e->cc, &e->ncc, p);
            else if (strcasecmp(xname, X_REPLYTIME) == 0)
                keep(e->replytime, &e->nreplytime, p);
        }
    }
}

static int min_kept(int n)
{
    return n < MAX_PROPS ? n : MAX_PROPS;
}

static int is_reply_or_counter(const itip_calctx *c)
{
    return c->method_kind == ICAL_METHOD_REPLY || c->method_kind == ICAL_METHOD_COUNTER;
}

/* True if the text of a DATE-TIME ends in Z (UTC). */
static int text_is_utc(const char *s)
{
    size_t n = strlen(s);

    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return n > 0 && (s[n - 1] == 'Z' || s[n - 1] == 'z');
}

/* Why T is outside the safe window, or NULL when it is inside. */
static const char *window_problem(struct icaltimetype t)
{
    switch (itip_time_window(t)) {
    case ITIP_TW_OK:
        return NULL;
    case ITIP_TW_BEFORE_1601:
        return "lies before 1601-01-01";
    case ITIP_TW_FILETIME_ZERO:
        return "is 1601-01-01T00:00:00 (FILETIME 0)";
    case ITIP_TW_ABOVE_SAFE:
        return "lies after 4500-08-31T23:59:00";
    case ITIP_TW_SENTINEL_4501:
        return "lies at or after 4501-01-01 (Outlook's 'none' sentinel)";
    }
    return "is out of range";
}

/* ---- a time value given as text (X-properties, X-parameters) ---- */

typedef enum {
    TV_OK = 0,          /* UTC DATE-TIME inside the window */
    TV_UNPARSABLE,
    TV_DATE,
    TV_OUT_OF_WINDOW,
    TV_NOT_UTC
} tv_status;

typedef struct {
    tv_status status;
    struct icaltimetype t;
    const char *why;    /* text for TV_OUT_OF_WINDOW */
} time_value;

static time_value check_time_text(const char *s)
{
    time_value v;

    memset(&v, 0, sizeof v);
    if (!s || itip_parse_time(s, &v.t) != 0)
        v.status = TV_UNPARSABLE;
    else if (v.t.is_date)
        v.status = TV_DATE;
    else if ((v.why = window_problem(v.t)) != NULL)
        v.status = TV_OUT_OF_WINDOW;
    else if (!text_is_utc(s))
        v.status = TV_NOT_UTC;
    else
        v.status = TV_OK;
    return v;
}

/* A short phrase for a bad time value (not for TV_OK). */
static const char *time_value_problem(const time_value *v)
{
    switch (v->status) {
    case TV_UNPARSABLE:
        return "is not a DATE-TIME";
    case TV_DATE:
        return "is a DATE, not a DATE-TIME";
    case TV_OUT_OF_WINDOW:
        return v->why;
    case TV_NOT_UTC:
        return "is not UTC (no trailing Z)";
    case TV_OK:
        break;
    }
    return "is valid";
}

/* ---- C4 reply-dtstamp-future-skew (shared by DTSTAMP and the X-property) ---- */

static void check_future(reply_run *r, icalcomponent *ev, const char *prop, const char *value,
                         struct icaltimetype t)
{
    const itip_msgctx *m = r->c->msg;
    long long ahead = itip_time_to_unix(t) - (long long)m->now;
    char skew[SKEW_NOTE_BUF];   /* the sender's running clock-skew estimate, when known */

    if (ahead > FAR_FUTURE_SECONDS)
        EMIT(r, ITIP_R_REPLY_DTSTAMP_FUTURE_SKEW, ITIP_SEV_WOULD_FAIL, ev, prop,
             "%s %.*s lies %lld days in the future: the organizer stores it as the track-status "
             "time and ignores every later response until then", prop, VALUE_SHOWN, value,
             ahead / 86400);
    else if (ahead > m->cfg->clock_skew_tolerance)
        EMIT(r, ITIP_R_REPLY_DTSTAMP_FUTURE_SKEW, ITIP_SEV_DEGRADE, ev, prop,
             "%s %.*s lies %lld s in the future (tolerance %ld s): later responses look out "
             "of date and are not recorded%s", prop, VALUE_SHOWN, value, ahead,
             m->cfg->clock_skew_tolerance, itip_skew_note(m->work, skew, sizeof skew));
}

/* ---- C3 reply-dtstamp-invalid ---- */

/* Checks the DTSTAMPs of a REPLY/COUNTER VEVENT.  Returns 1 and fills *out when there is
 * exactly one DTSTAMP usable as a time (UTC or floating, in the window), else 0. */
static int check_dtstamp(reply_run *r, icalcomponent *ev, const event_props *e,
                         struct icaltimetype *out)
{
    icalproperty *p;
    icalvalue *val;
    struct icaltimetype t;
    const char *text, *why;

    if (e->ndtstamp == 0) {
        EMIT(r, ITIP_R_REPLY_DTSTAMP_INVALID, ITIP_SEV_WOULD_FAIL, ev, "DTSTAMP",
             "%s has no DTSTAMP: the response's critical-change time stays unset and the "
             "organizer's track status is not reliably updated", r->c->method);
        return 0;
    }
    if (e->ndtstamp > 1) {
        EMIT(r, ITIP_R_REPLY_DTSTAMP_INVALID, ITIP_SEV_WOULD_FAIL, ev, "DTSTAMP",
             "%s has %d DTSTAMP properties (exactly one allowed): the critical-change time "
             "is ambiguous", r->c->method, e->ndtstamp);
        return 0;
    }
    p = e->dtstamp[0];
    val = icalproperty_get_value(p);
    text = itip_nz(icalproperty_get_value_as_string(p));
    if (!val || (icalvalue_isa(val) != ICAL_DATETIME_VALUE
                 && icalvalue_isa(val) != ICAL_DATE_VALUE)) {
        EMIT(r, ITIP_R_REPLY_DTSTAMP_INVALID, ITIP_SEV_WOULD_FAIL, ev, "DTSTAMP",
             "DTSTAMP %.*s is not a date-time: the response's critical-change time is unset",
             VALUE_SHOWN, text);
        return 0;
    }
    t = icalvalue_get_datetime(val);
    if (icaltime_is_null_time(t)) {
        EMIT(r, ITIP_R_REPLY_DTSTAMP_INVALID, ITIP_SEV_WOULD_FAIL, ev, "DTSTAMP",
             "DTSTAMP %.*s is the null time: the response's critical-change time is unset",
             VALUE_SHOWN, text);
        return 0;
    }
    if ((why = window_problem(t)) != NULL) {
        EMIT(r, ITIP_R_REPLY_DTSTAMP_INVALID, ITIP_SEV_WOULD_FAIL, ev, "DTSTAMP",
             "DTSTAMP %.*s %s: it becomes PidLidAttendeeCriticalChange, an invalid track-status "
             "time (KB 938650)", VALUE_SHOWN, text, why);
        return 0;
    }
    if (t.is_date) {
        EMIT(r, ITIP_R_REPLY_DTSTAMP_INVALID, ITIP_SEV_DEGRADE, ev, "DTSTAMP",
             "DTSTAMP %.*s is a DATE: it must be a UTC DATE-TIME, the critical-change time "
             "is wrong", VALUE_SHOWN, text);
        return 0;
    }
    if (icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER)) {
        EMIT(r, ITIP_R_REPLY_DTSTAMP_INVALID, ITIP_SEV_DEGRADE, ev, "DTSTAMP",
             "DTSTAMP %.*s carries a TZID: it must be UTC, out-of-date comparisons are skewed",
             VALUE_SHOWN, text);
        return 0;
    }
    if (!icaltime_is_utc(t))
        EMIT(r, ITIP_R_REPLY_DTSTAMP_INVALID, ITIP_SEV_DEGRADE, ev, "DTSTAMP",
             "DTSTAMP %.*s is floating: Exchange reads it as UTC, out-of-date comparisons are "
             "skewed by the sender's offset", VALUE_SHOWN, text);
    *out = t;
    return 1;
}

/* ---- C1 / C2 X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE ---- */

/* Checks the attendee critical-change stamps.  Returns 1 and fills *out when the first one is
 * a usable UTC time, else 0. */
static int check_critical_change(reply_run *r, icalcomponent *ev, const event_props *e,
                                 int legacy, struct icaltimetype *out)
{
    int i, usable = 0;

    if (e->ncc == 0) {
        char note[ITIP_LEGACY_NOTE];
        if (legacy)
            EMIT(r, ITIP_R_REPLY_ATTENDEE_CRITICAL_CHANGE_MISSING, ITIP_SEV_WOULD_FAIL, ev,
                 X_ATTENDEE_CC, X_ATTENDEE_CC " missing: an Exchange 2003 organizer records "
                 "1601-01-01 as this attendee's track-status time, later updates get stuck "
                 "(KB 938650)%s", itip_legacy_note(r->c, note, sizeof note));
        else
            EMIT(r, ITIP_R_REPLY_ATTENDEE_CRITICAL_CHANGE_MISSING, ITIP_SEV_INFO, ev,
                 X_ATTENDEE_CC, X_ATTENDEE_CC " missing: harmless for current Exchange, "
                 "poisons tracking on an Exchange 2003 organizer (KB 938650)");
        return 0;
    }
    for (i = 0; i < min_kept(e->ncc); i++) {
        const char *s = itip_xprop_value(e->cc[i]);
        time_value v = check_time_text(s);

        if (v.status == TV_OK) {
            if (i == 0) {
                *out = v.t;
                usable = 1;
            }
            continue;
        }
        EMIT(r, ITIP_R_REPLY_ATTENDEE_CRITICAL_CHANGE_INVALID,
             legacy ? ITIP_SEV_WOULD_FAIL : ITIP_SEV_DEGRADE, ev, X_ATTENDEE_CC,
             X_ATTENDEE_CC " %.*s %s: an invalid track-status time (KB 938650), Outlook drops "
             "or misreads it", VALUE_SHOWN, itip_nz(s), time_value_problem(&v));
    }
    return usable;
}

/* ---- C5 reply-critical-change-disagree ---- */

static void check_disagree(reply_run *r, icalcomponent *ev, struct icaltimetype dtstamp,
                           struct icaltimetype cc, int legacy)
{
    long long d = itip_time_to_unix(dtstamp), x = itip_time_to_unix(cc);
    long long diff = d > x ? d - x : x - d;
    char b1[32], b2[32];

    if (diff <= r->c->msg->cfg->clock_skew_tolerance)
        return;
    itip_time_str(dtstamp, b1, sizeof b1);
    itip_time_str(cc, b2, sizeof b2);
    EMIT(r, ITIP_R_REPLY_CRITICAL_CHANGE_DISAGREE,
         (legacy && x < d) ? ITIP_SEV_DEGRADE : ITIP_SEV_INFO, ev, X_ATTENDEE_CC,
         "DTSTAMP %s and " X_ATTENDEE_CC " %s differ by %lld s: Exchange versions record "
         "different response times", b1, b2, diff);
}

/* ---- C6 / C7 / C8 / C9 the replying ATTENDEE ---- */

static void check_attendee_count(reply_run *r, icalcomponent *ev, const event_props *e)
{
    if (e->natt != 1)
        EMIT(r, ITIP_R_REPLY_ATTENDEE_COUNT, ITIP_SEV_WOULD_FAIL, ev, "ATTENDEE",
             "%s has %d ATTENDEE properties (exactly one required): no response class can be "
             "derived, the organizer's tracking is not updated", r->c->method, e->natt);
}

static int count_partstat(icalproperty *att)
{
    int n = 0;
    icalparameter *p;

    for (p = icalproperty_get_first_parameter(att, ICAL_PARTSTAT_PARAMETER); p;
         p = icalproperty_get_next_parameter(att, ICAL_PARTSTAT_PARAMETER))
        n++;
    return n;
}

/* The PARTSTAT text of a parameter, for details. */
static const char *partstat_text(icalparameter *p)
{
    icalparameter_partstat v = icalparameter_get_partstat(p);
    const char *s = NULL;

    if (v == ICAL_PARTSTAT_X)
        s = icalparameter_get_xvalue(p);
    if (!s)
        s = icalparameter_enum_to_string((int)v);
    return itip_nz(s);
}

static int partstat_mappable(const itip_calctx *c, icalparameter_partstat v)
{
    if (c->method_kind == ICAL_METHOD_COUNTER)
        return v == ICAL_PARTSTAT_TENTATIVE;
    return v == ICAL_PARTSTAT_ACCEPTED || v == ICAL_PARTSTAT_TENTATIVE
        || v == ICAL_PARTSTAT_DECLINED;
}

static void check_partstat(reply_run *r, icalcomponent *ev, icalproperty *att)
{
    int n = count_partstat(att);
    icalparameter *p;

    if (n == 0) {
        EMIT(r, ITIP_R_REPLY_PARTSTAT_UNMAPPABLE, ITIP_SEV_WOULD_FAIL, ev, "ATTENDEE",
             "the replying ATTENDEE has no PARTSTAT: no meeting-response class, the "
             "organizer's track status stays 'None'");
        return;
    }
    if (n > 1) {
        EMIT(r, ITIP_R_REPLY_ATTENDEE_COUNT, ITIP_SEV_WOULD_FAIL, ev, "ATTENDEE",
             "the replying ATTENDEE has %d PARTSTAT parameters (exactly one required): the "
             "response class is ambiguous", n);
        return;
    }
    p = icalproperty_get_first_parameter(att, ICAL_PARTSTAT_PARAMETER);
    if (!partstat_mappable(r->c, icalparameter_get_partstat(p)))
        EMIT(r, ITIP_R_REPLY_PARTSTAT_UNMAPPABLE, ITIP_SEV_WOULD_FAIL, ev, "ATTENDEE",
             "%s with PARTSTAT=%.*s: Exchange maps only %s to a meeting response, the "
             "organizer's track status is not updated", r->c->method, VALUE_SHOWN,
             partstat_text(p), r->c->method_kind == ICAL_METHOD_COUNTER
             ? "TENTATIVE" : "ACCEPTED, TENTATIVE and DECLINED");
}

/* C8: the address of the ATTENDEE, or NULL (reported) when it is not a mailto: addr-spec. */
static const char *check_attendee_address(reply_run *r, icalcomponent *ev, icalproperty *att)
{
    const char *v = icalproperty_get_attendee(att);
    const char *addr = v ? itip_mailto(v) : NULL;

    if (addr && itip_addr_valid(addr))
        return addr;
    EMIT(r, ITIP_R_REPLY_ATTENDEE_ADDRESS_INVALID, ITIP_SEV_WOULD_FAIL, ev, "ATTENDEE",
         "the replying ATTENDEE '%.*s' is not mailto: with a valid address: no recipient row "
         "matches, the organizer's track status stays 'None'", VALUE_SHOWN, itip_nz(v));
    return NULL;
}

static int addr_is(const char *a, const char *b)
{
    return a && b && itip_addr_equal(a, b);
}

static void check_sender(reply_run *r, icalcomponent *ev, icalproperty *att, const char *addr)
{
    const itip_msghdrs *h = r->c->msg->hdrs;
    char from[ADDR_BUF], sender[ADDR_BUF];
    const char *f, *s, *sb;

    if (!r->c->msg->is_message || !h || !h->from)
        return;
    f = itip_header_addr(h->from, from, sizeof from);
    if (!f)
        return;
    s = h->sender ? itip_header_addr(h->sender, sender, sizeof sender) : NULL;
    sb = itip_sent_by(att);
    if (addr_is(addr, f) || addr_is(addr, s) || addr_is(sb, f) || addr_is(sb, s))
        return;
    EMIT(r, ITIP_R_REPLY_ATTENDEE_SENDER_MISMATCH, ITIP_SEV_DEGRADE, ev, "ATTENDEE",
         "ATTENDEE %.*s is neither From: %.*s nor Sender:%s%.*s, and no SENT-BY names them: "
         "the organizer may add a new optional attendee, the invited one stays 'None'",
         VALUE_SHOWN, addr, VALUE_SHOWN, f, s ? " " : " (none)", VALUE_SHOWN, itip_nz(s));
}

static void check_attendee(reply_run *r, icalcomponent *ev, const event_props *e)
{
    const char *addr;

    check_attendee_count(r, ev, e);
    if (e->natt != 1)
        return;          /* with several, the replying one is unknown: C6 says it all */
    check_partstat(r, ev, e->att[0]);
    addr = check_attendee_address(r, ev, e->att[0]);
    if (addr)
        check_sender(r, ev, e->att[0], addr);
}

/* ---- C18 cdo-replytime-invalid ---- */

/* True if T is one of the values I4 outbound-tracking-sentinel-leak reports in REQUEST, CANCEL
 * and PUBLISH (FILETIME 0, the 4501 sentinel); those are left to that more specific rule. */
static int i4_reports(const itip_calctx *c, const time_value *v)
{
    itip_timewin w;

    if (!(c->method_kind == ICAL_METHOD_REQUEST || c->method_kind == ICAL_METHOD_CANCEL
          || c->method_kind == ICAL_METHOD_PUBLISH) || v->status != TV_OUT_OF_WINDOW)
        return 0;
    w = itip_time_window(v->t);
    return w == ITIP_TW_FILETIME_ZERO || w == ITIP_TW_SENTINEL_4501;
}

static void check_replytime(reply_run *r, icalcomponent *ev, const event_props *e)
{
    int i;

    for (i = 0; i < min_kept(e->nreplytime); i++) {
        const char *s = itip_xprop_value(e->replytime[i]);
        time_value v = check_time_text(s);

        /* the catalogue's condition: unparsable or outside the window (not UTC-ness) */
        if (v.status == TV_OK || v.status == TV_NOT_UTC || i4_reports(r->c, &v))
            continue;
        EMIT(r, ITIP_R_CDO_REPLYTIME_INVALID, ITIP_SEV_INFO, ev, X_REPLYTIME,
             X_REPLYTIME " %.*s %s: PidLidAppointmentReplyTime is dropped or stored as a "
             "sentinel", VALUE_SHOWN, itip_nz(s), time_value_problem(&v));
    }
}

/* ---- C17 attendee-resptime-invalid ---- */

static void check_resptime(reply_run *r, icalcomponent *ev, icalproperty *att, int legacy)
{
    const char *s = itip_xparam(att, X_RESPTIME);
    time_value v;
    itip_severity sev = ITIP_SEV_DEGRADE;

    if (!s)
        return;
    v = check_time_text(s);
    if (v.status == TV_OK || i4_reports(r->c, &v))
        return;
    if (legacy && v.status == TV_OUT_OF_WINDOW && itip_time_window(v.t) == ITIP_TW_FILETIME_ZERO)
        sev = ITIP_SEV_WOULD_FAIL;
    EMIT(r, ITIP_R_ATTENDEE_RESPTIME_INVALID, sev, ev, "ATTENDEE",
         "ATTENDEE %.*s " X_RESPTIME "=%.*s %s: it becomes PidTagRecipientTrackStatusTime, an "
         "invalid track-status time (KB 938650)", VALUE_SHOWN,
         itip_nz(icalproperty_get_attendee(att)), VALUE_SHOWN, s, time_value_problem(&v));
}

/* Every ATTENDEE (a PUBLISH may list hundreds): check_resptime only looks at the parameters of
 * the property and emits, it never touches EV's own property iterator. */
static void check_resptimes(reply_run *r, icalcomponent *ev, int legacy)
{
    icalproperty *att;

    for (att = icalcomponent_get_first_property(ev, ICAL_ATTENDEE_PROPERTY); att;
         att = icalcomponent_get_next_property(ev, ICAL_ATTENDEE_PROPERTY))
        check_resptime(r, ev, att, legacy);
}

/* ---- per event, per part ---- */

static void check_reply_event(reply_run *r, icalcomponent *ev, const event_props *e, int legacy)
{
    struct icaltimetype dtstamp, cc;
    int have_dtstamp = check_dtstamp(r, ev, e, &dtstamp);
    int have_cc = check_critical_change(r, ev, e, legacy, &cc);

    if (have_dtstamp)
        check_future(r, ev, "DTSTAMP", itip_nz(icalproperty_get_value_as_string(e->dtstamp[0])),
                     dtstamp);
    if (have_cc)
        check_future(r, ev, X_ATTENDEE_CC, itip_nz(itip_xprop_value(e->cc[0])), cc);
    if (have_dtstamp && have_cc)
        check_disagree(r, ev, dtstamp, cc, legacy);
    check_attendee(r, ev, e);
}

static void check_event(reply_run *r, icalcomponent *ev)
{
    event_props e;
    int legacy = itip_target_is_legacy(r->c, ev);

    collect_props(ev, &e);
    if (is_reply_or_counter(r->c))
        check_reply_event(r, ev, &e, legacy);
    check_replytime(r, ev, &e);
    check_resptimes(r, ev, legacy);
}

/* C16: one finding per part. */
static void check_counter_to_legacy(reply_run *r)
{
    icalcomponent *ev;
    char note[ITIP_LEGACY_NOTE];

    if (r->c->method_kind != ICAL_METHOD_COUNTER)
        return;
    ev = itip_main_event(r->c);

    if (ev && itip_target_is_legacy(r->c, ev))
        EMIT(r, ITIP_R_COUNTER_TO_LEGACY, ITIP_SEV_INFO, ev, "METHOD",
             "COUNTER towards an Exchange 2003 / Outlook 2003 organizer: it is read as a REPLY "
             "or PUBLISH, the proposal is lost%s", itip_legacy_note(r->c, note, sizeof note));
}

void itip_check_reply(itip_calctx *c)
{
    reply_run r;
    icalcompiter it;
    icalcomponent *ev;

    /* METHOD-less calendars get no C finding; C17/C18 apply to any METHOD that carries them. */
    if (!c || !c->vcal || !c->method)
        return;
    memset(&r, 0, sizeof r);
    r.c = c;
    check_counter_to_legacy(&r);
    for (it = icalcomponent_begin_component(c->vcal, ICAL_VEVENT_COMPONENT);
         (ev = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it))
        check_event(&r, ev);
}
