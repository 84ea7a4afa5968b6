/*
 * rules_recur.c - recurrence rules (catalogue section H): what a MAPI recurrence pattern
 * (PidLidAppointmentRecur) can hold, and where exceptions lie relative to their series.
 *
 *   H1 rrule-not-representable    REQUEST/PUBLISH/CANCEL: the master's RRULE has BYYEARDAY,
 *                                 BYWEEKNO, a BYSECOND other than DTSTART's seconds, several
 *                                 BYMONTHDAY or BYSETPOS values, FREQ finer than DAILY, DAILY
 *                                 with BYMONTH/BYSETPOS or with BYDAY beyond a plain weekday
 *                                 mask, WEEKLY with BYMONTH/BYSETPOS, MONTHLY with BYMONTH,
 *                                 MONTHLY or YEARLY with several BYDAY and no BYSETPOS, BYSETPOS
 *                                 without BYDAY, a position (BYSETPOS or BYDAY ordinal) outside
 *                                 1..4 and -1, BYDAY together with BYMONTHDAY, or an INTERVAL
 *                                 above the MAPI limits (daily 999, weekly 99, monthly 99,
 *                                 yearly 8).  would-fail.
 *                                 Deviations from the catalogue's wording, each for a shape
 *                                 that Outlook itself writes and MAPI holds:
 *                                 - DAILY;BYDAY=<weekdays> with INTERVAL 1 is no finding:
 *                                   Outlook 2003 and Exchange CDO write "every weekday" so
 *                                   (corpus: ical4j/Standup.ics, python-icalendar/issue_165),
 *                                   and MAPI stores it as a weekly day mask;
 *                                 - "several BYDAY" counts only without BYSETPOS, for YEARLY as
 *                                   for MONTHLY: "the last weekday of the month/of March" is
 *                                   BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1, a MonthNth day mask.
 *                                 Shapes inferred from the pattern structure rather than
 *                                 documented (MONTHLY or YEARLY with one BYDAY weekday and no
 *                                 position, YEARLY with several BYMONTH or with BYDAY and no
 *                                 BYMONTH) are emitted as degrade, not would-fail.
 *   H2 rdate-without-rrule        REQUEST/PUBLISH: a VEVENT with RDATE and no RRULE
 *   H3 multiple-rrule-or-exrule   several RRULEs, an EXRULE, or X-MICROSOFT-EXDATE without
 *                                 X-MICROSOFT-RRULE (degrade)
 *   H4 recurrence-two-instances-same-day  the RRULE's first H4_MAX_INSTANCES instances (and
 *                                 no later than H4_HORIZON_YEARS after DTSTART), or an RDATE
 *                                 next to them, put two different start times on one day of
 *                                 DTSTART's own wall clock
 *   H5 exception-outside-series   REQUEST/CANCEL/REPLY: a RECURRENCE-ID of the master's UID
 *                                 (in the same VCALENDAR as the master) before the series'
 *                                 first day, after its UNTIL or COUNT end, or on a day with no
 *                                 instance; or a moved exception's DTSTART before the series'
 *                                 first day (degrade; CalCheck)
 *   H6 rrule-until-beyond-4500    UNTIL after 4500-08-31, or a COUNT whose last instance
 *                                 certainly lies after it (a lower bound on the span, no
 *                                 expansion) (info)
 *   H7 orphan-exception-object    REQUEST/CANCEL holding VEVENTs that all carry RECURRENCE-ID
 *                                 (info)
 * H3, H4 and H6 apply to the methods that carry the pattern into a calendar: REQUEST,
 * PUBLISH, CANCEL, ADD, COUNTER.
 *
 * Times are compared on DTSTART's wall clock: a RECURRENCE-ID, RDATE or UNTIL in another frame
 * is converted through the VCALENDAR's VTIMEZONEs when both zones are known and cheap (yearly
 * rules only); otherwise it is read as it stands and the checks that need an exact day
 * (H4, H5 "no instance") skip it, the others allow a day's slack.  Exchange keys exceptions by
 * their original date, so an exception matches an instance on the same day.
 *
 * Expansion (libical's icalrecur_iterator) is bounded: rules finer than DAILY, rules H1
 * rejects, and rules whose BYMONTHDAY can never occur are not expanded at all (libical 3.0
 * searches such rules up to the year 20000, for a second or more per call); UNTIL is clamped to
 * the horizon a check needs (H4: H4_HORIZON_YEARS; H5: two days past the last exception, at
 * most H5_HORIZON_YEARS after DTSTART); at most H5_MAX_INSTANCES instances are generated.  A
 * bound reached is no finding.
 *
 * Must never: keep libical objects, nest two walks over one component's own property
 * iterator, use static mutable state, or emit more than MAX_PER_RULE findings of a rule per
 * part.
 */
#include "ac-config.h"
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "rules/calendar.h"
#include "rules/calutil.h"

#define MAX_PER_RULE 5            /* findings of one rule in one calendar part */
#define SHOW_MAX 60               /* characters of an offending value shown in a detail */
#define MAX_MASTERS 3             /* series masters examined per part */
#define MAX_RDATES 64             /* RDATE values of a master looked at */
#define MAX_EXCEPTIONS 64         /* exceptions of a master placed on its series */
#define H4_MAX_INSTANCES 400      /* instances H4 looks at ... */
#define H4_HORIZON_YEARS 10       /* ... and no later than this after DTSTART */
#define H5_MAX_INSTANCES 10000    /* instances generated to place exceptions */
#define H5_HORIZON_DAYS 2         /* expansion runs this far past the last exception, */
#define H5_HORIZON_YEARS 50       /* but no further than this after DTSTART (libical built
                                     with ICU spends microseconds per day of a sparse rule) */
#define SECONDS_PER_DAY 86400LL
#define TBUF 32                   /* itip_time_str needs at least 32 bytes */
#define REASON_MAX 160
/* MAPI limits of the recurrence period (MS-OXOCAL 2.2.1.44.1; gromox oxcical_parse_rrule) */
#define MAPI_MAX_DAILY_INTERVAL 999
#define MAPI_MAX_WEEKLY_INTERVAL 99
#define MAPI_MAX_MONTHLY_INTERVAL 99
#define MAPI_MAX_YEARLY_INTERVAL 8
#define MAPI_MAX_NTH 4            /* MonthNth: first..fourth, and last (-1) */
/* PidLidClipEnd of an endless series: 4500-08-31 (MS-OXOCAL 2.2.1.15) */
#define CLIP_YEAR 4500
#define MONTHS 12
#define WEEKDAYS 7
#define MAX_WEEKDAYS_PER_MONTH 5
#define MAX_WEEKDAYS_PER_YEAR 53
#define DAYS_PER_YEAR_MAX 366

/* The wall clock of a series' DTSTART, which every compared time is brought to. */
typedef struct {
    int is_date;               /* DTSTART is a DATE */
    int utc;                   /* DTSTART is UTC */
    const char *tzid;          /* its TZID parameter, or NULL */
    icaltimezone *zone;        /* the VTIMEZONE of tzid when declared and cheap, or NULL */
} frame;

/* A time on the frame's wall clock. */
typedef struct {
    struct icaltimetype t;     /* floating (zone NULL) */
    long long day;             /* days since 1970-01-01 of t */
    int exact;                 /* 0: read as it stood, the frame was not reachable */
} walltime;

typedef struct {
    icalcomponent *ev;
    const char *uid;
    icalproperty *dtstart, *rrule;
    int nrrule, nexrule, nxexdate, nxrrule, nrdate;
    icalproperty *rdate[MAX_RDATES];
    frame f;
    walltime start;            /* DTSTART */
    struct icalrecurrencetype rule;
    int representable;         /* H1 found nothing; the rule may be expanded */
    int has_until;
    walltime until;            /* UNTIL on the frame's clock (when has_until) */
} master;

typedef struct {
    icalcomponent *ev;
    walltime rid;              /* RECURRENCE-ID */
    walltime start;            /* its own DTSTART, when has_start */
    int has_start;
    char rid_text[TBUF];       /* RECURRENCE-ID as written (its wall fields) */
    int matched;               /* an instance lies on its day */
} exception;

typedef struct {
    itip_calctx *c;
    int count[ITIP_RULE_COUNT];
} rstate;

static int take(rstate *s, itip_rule_id r)
{
    return s->count[r]++ < MAX_PER_RULE;
}

static int method_in(const itip_calctx *c, const icalproperty_method *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (c->method_kind == list[i])
            return 1;
    return 0;
}

static int is_pattern_method(const itip_calctx *c)
{
    static const icalproperty_method m[] = { ICAL_METHOD_REQUEST, ICAL_METHOD_PUBLISH,
                                             ICAL_METHOD_CANCEL, ICAL_METHOD_ADD,
                                             ICAL_METHOD_COUNTER };
    return method_in(c, m, sizeof m / sizeof m[0]);
}

static long long floor_div(long long a, long long b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static walltime make_wall(struct icaltimetype t, int exact)
{
    walltime w;

    t.zone = NULL;
    w.t = t;
    w.day = floor_div(itip_time_to_unix(t), SECONDS_PER_DAY);
    w.exact = exact;
    return w;
}

/* ---- zones and frames ---- */

static const char *tzid_of(icalproperty *p)
{
    icalparameter *tp = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
    return tp ? icalparameter_get_tzid(tp) : NULL;
}

/* Brings T (with TZID, or NULL) onto F's wall clock. */
static walltime to_frame(itip_calctx *c, const frame *f, struct icaltimetype t, const char *tzid)
{
    int t_utc = icaltime_is_utc(t);
    icaltimezone *from, *to;

    if (t.is_date)
        return make_wall(t, 1);
    if ((t_utc && f->utc) || (!t_utc && tzid == NULL && !f->utc && f->tzid == NULL) ||
        (!t_utc && tzid != NULL && f->tzid != NULL && strcmp(tzid, f->tzid) == 0))
        return make_wall(t, 1);
    if (f->is_date)
        return make_wall(t, 0);
    from = t_utc ? icaltimezone_get_utc_timezone() : itip_cheap_zone(c, tzid);
    to = f->utc ? icaltimezone_get_utc_timezone() : f->zone;
    if (from == NULL || to == NULL)
        return make_wall(t, 0);
    t.zone = from;
    itip_zone_convert_time(&t, from, to);   /* libical's answer without its expansion */
    return make_wall(t, 1);
}

/* Reads a DATE or DATE-TIME value; 0 when the property holds none. */
static int read_time(icalproperty *p, struct icaltimetype *t)
{
    icalvalue *v = p ? icalproperty_get_value(p) : NULL;

    if (v == NULL || (icalvalue_isa(v) != ICAL_DATETIME_VALUE &&
                      icalvalue_isa(v) != ICAL_DATE_VALUE))
        return 0;
    *t = icalvalue_get_datetime(v);
    return !icaltime_is_null_time(*t);
}

/* ---- reading a VEVENT ---- */

static const char *uid_of(itip_calctx *c, icalcomponent *ev)
{
    size_t i;

    for (i = 0; i < c->nuids; i++)
        if (c->uids[i].comp == ev)
            return c->uids[i].uid;
    return NULL;
}

static void read_xprop(master *m, icalproperty *p)
{
    const char *name = icalproperty_get_x_name(p);

    if (name == NULL)
        return;
    if (strcasecmp(name, "X-MICROSOFT-EXDATE") == 0)
        m->nxexdate++;
    else if (strcasecmp(name, "X-MICROSOFT-RRULE") == 0)
        m->nxrrule++;
}

/* One walk over the master's own properties; nothing else iterates them meanwhile. */
static void read_master(itip_calctx *c, icalcomponent *ev, master *m)
{
    icalproperty *p;

    memset(m, 0, sizeof *m);
    m->ev = ev;
    m->uid = uid_of(c, ev);
    for (p = icalcomponent_get_first_property(ev, ICAL_ANY_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(ev, ICAL_ANY_PROPERTY)) {
        switch (icalproperty_isa(p)) {
        case ICAL_DTSTART_PROPERTY:
            if (m->dtstart == NULL)
                m->dtstart = p;
            break;
        case ICAL_RRULE_PROPERTY:
            if (m->nrrule++ == 0)
                m->rrule = p;
            break;
        case ICAL_EXRULE_PROPERTY:
            m->nexrule++;
            break;
        case ICAL_RDATE_PROPERTY:
            if (m->nrdate < MAX_RDATES)
                m->rdate[m->nrdate] = p;
            m->nrdate++;
            break;
        case ICAL_X_PROPERTY:
            read_xprop(m, p);
            break;
        default:
            break;
        }
    }
}

/* Sets up the frame, DTSTART and the rule; 0 when the master has no usable DTSTART. */
static int master_times(itip_calctx *c, master *m)
{
    struct icaltimetype t;
    icalvalue *v;

    if (!read_time(m->dtstart, &t))
        return 0;
    m->f.is_date = t.is_date;
    m->f.utc = icaltime_is_utc(t);
    m->f.tzid = m->f.utc ? NULL : tzid_of(m->dtstart);
    m->f.zone = m->f.is_date ? NULL : itip_cheap_zone(c, m->f.tzid);
    m->start = make_wall(t, 1);
    if (m->rrule == NULL)
        return 1;
    v = icalproperty_get_value(m->rrule);
    if (v == NULL || icalvalue_isa(v) != ICAL_RECUR_VALUE)
        return 1;
    m->rule = icalvalue_get_recur(v);
    if (!icaltime_is_null_time(m->rule.until)) {
        struct icaltimetype u = m->rule.until;
        m->until = to_frame(c, &m->f, u, NULL);
        m->has_until = 1;
    }
    return 1;
}

/* ---- H1 ---- */

#define NBY(r, field) \
    itip_by_count((r)->field, (int)(sizeof (r)->field / sizeof (r)->field[0]))

static int nth_ok(int pos)
{
    return (pos >= 1 && pos <= MAPI_MAX_NTH) || pos == -1;
}

/* Writes why R cannot be a MAPI pattern into WHY; returns the severity (NONE: it can). */
typedef struct {
    const struct icalrecurrencetype *r;
    int nday, nmday, npos, nmonth, day_with_pos, day_bad_pos, pos_bad;
    char *why;
    size_t len;
} h1ctx;

static itip_severity say(h1ctx *h, itip_severity s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static itip_severity say(h1ctx *h, itip_severity s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(h->why, h->len, fmt, ap);
    va_end(ap);
    return s;
}

static itip_severity h1_common(h1ctx *h, struct icaltimetype start)
{
    const struct icalrecurrencetype *r = h->r;
    const char *f = icalrecur_freq_to_string(r->freq);
    int nsec = NBY(r, by_second);

    if (r->freq == ICAL_SECONDLY_RECURRENCE || r->freq == ICAL_MINUTELY_RECURRENCE ||
        r->freq == ICAL_HOURLY_RECURRENCE)
        return say(h, ITIP_SEV_WOULD_FAIL, "FREQ=%s: MAPI patterns repeat at most daily", f);
    if (NBY(r, by_year_day) > 0)
        return say(h, ITIP_SEV_WOULD_FAIL, "BYYEARDAY has no MAPI equivalent");
    if (NBY(r, by_week_no) > 0)
        return say(h, ITIP_SEV_WOULD_FAIL, "BYWEEKNO has no MAPI equivalent");
    if (nsec > 1 || (nsec == 1 && r->by_second[0] != (start.is_date ? 0 : start.second)))
        return say(h, ITIP_SEV_WOULD_FAIL, "BYSECOND (%d value%s) differs from DTSTART's "
                   "seconds", nsec, nsec == 1 ? "" : "s");
    if (h->nmday > 1)
        return say(h, ITIP_SEV_WOULD_FAIL, "%d BYMONTHDAY values: Outlook supports one day of "
                   "the month", h->nmday);
    if (h->npos > 1)
        return say(h, ITIP_SEV_WOULD_FAIL, "%d BYSETPOS values: Outlook supports one nth day",
                   h->npos);
    return ITIP_SEV_NONE;
}

static itip_severity h1_interval(h1ctx *h)
{
    static const struct { icalrecurrencetype_frequency f; int max; } lim[] = {
        { ICAL_DAILY_RECURRENCE, MAPI_MAX_DAILY_INTERVAL },
        { ICAL_WEEKLY_RECURRENCE, MAPI_MAX_WEEKLY_INTERVAL },
        { ICAL_MONTHLY_RECURRENCE, MAPI_MAX_MONTHLY_INTERVAL },
        { ICAL_YEARLY_RECURRENCE, MAPI_MAX_YEARLY_INTERVAL },
    };
    size_t i;

    for (i = 0; i < sizeof lim / sizeof lim[0]; i++)
        if (h->r->freq == lim[i].f && h->r->interval > lim[i].max) {
            snprintf(h->why, h->len, "INTERVAL=%d above the MAPI limit %d for %s",
                     h->r->interval, lim[i].max, icalrecur_freq_to_string(lim[i].f));
            return ITIP_SEV_WOULD_FAIL;
        }
    return ITIP_SEV_NONE;
}

static itip_severity h1_daily_weekly(h1ctx *h)
{
    const struct icalrecurrencetype *r = h->r;
    const char *f = icalrecur_freq_to_string(r->freq);

    if (h->nmonth > 0)
        return say(h, ITIP_SEV_WOULD_FAIL, "%s with BYMONTH", f);
    if (h->npos > 0)
        return say(h, ITIP_SEV_WOULD_FAIL, "%s with BYSETPOS", f);
    if (r->freq == ICAL_DAILY_RECURRENCE && h->nday > 0 &&
        (r->interval > 1 || h->day_with_pos > 0))
        return say(h, ITIP_SEV_WOULD_FAIL, "%s with BYDAY and INTERVAL=%d (or an nth "
                   "weekday): not a plain weekday mask", f, r->interval);
    return ITIP_SEV_NONE;
}

static itip_severity h1_monthly_yearly(h1ctx *h)
{
    const struct icalrecurrencetype *r = h->r;
    const char *f = icalrecur_freq_to_string(r->freq);
    int monthly = r->freq == ICAL_MONTHLY_RECURRENCE;

    if (monthly && h->nmonth > 0)
        return say(h, ITIP_SEV_WOULD_FAIL, "%s with BYMONTH", f);
    if (h->pos_bad)
        return say(h, ITIP_SEV_WOULD_FAIL, "%s with BYSETPOS=%d: Outlook knows first to fourth "
                   "and last", f, h->pos_bad);
    if (h->day_bad_pos)
        return say(h, ITIP_SEV_WOULD_FAIL, "%s with an nth weekday %d: Outlook knows first to "
                   "fourth and last", f, h->day_bad_pos);
    if (h->npos > 0 && h->nday == 0)
        return say(h, ITIP_SEV_WOULD_FAIL, "%s with BYSETPOS but no BYDAY", f);
    if (h->nday > 0 && h->nmday > 0)
        return say(h, ITIP_SEV_WOULD_FAIL, "%s with both BYDAY and BYMONTHDAY", f);
    if (h->nday > 1 && h->npos == 0)
        return say(h, ITIP_SEV_WOULD_FAIL, "%s with %d BYDAY values and no BYSETPOS: Outlook "
                   "supports one nth day of the week", f, h->nday);
    if (h->nday == 1 && h->npos == 0 && h->day_with_pos == 0)
        return say(h, ITIP_SEV_DEGRADE, "%s with a BYDAY weekday but no position: every such "
                   "weekday, which no MAPI pattern holds", f);
    if (!monthly && h->nmonth > 1)
        return say(h, ITIP_SEV_DEGRADE, "%s with %d BYMONTH values: the MAPI yearly pattern "
                   "holds one month", f, h->nmonth);
    if (!monthly && h->nday > 0 && h->nmonth == 0)
        return say(h, ITIP_SEV_DEGRADE, "%s with BYDAY and no BYMONTH: an nth weekday of the "
                   "year, which no MAPI pattern holds", f);
    return ITIP_SEV_NONE;
}

static itip_severity h1_reason(const struct icalrecurrencetype *r, struct icaltimetype start,
                               char *why, size_t len)
{
    h1ctx h;
    itip_severity s;
    int i;

    memset(&h, 0, sizeof h);
    h.r = r;
    h.why = why;
    h.len = len;
    h.nday = NBY(r, by_day);
    h.nmday = NBY(r, by_month_day);
    h.npos = NBY(r, by_set_pos);
    h.nmonth = NBY(r, by_month);
    for (i = 0; i < h.nday; i++) {
        int pos = icalrecurrencetype_day_position(r->by_day[i]);
        if (pos != 0)
            h.day_with_pos++;
        if (pos != 0 && !nth_ok(pos) && h.day_bad_pos == 0)
            h.day_bad_pos = pos;
    }
    for (i = 0; i < h.npos; i++)
        if (!nth_ok(r->by_set_pos[i]) && h.pos_bad == 0)
            h.pos_bad = r->by_set_pos[i];
    if ((s = h1_common(&h, start)) != ITIP_SEV_NONE || (s = h1_interval(&h)) != ITIP_SEV_NONE)
        return s;
    if (r->freq == ICAL_DAILY_RECURRENCE || r->freq == ICAL_WEEKLY_RECURRENCE)
        return h1_daily_weekly(&h);
    if (r->freq == ICAL_MONTHLY_RECURRENCE || r->freq == ICAL_YEARLY_RECURRENCE)
        return h1_monthly_yearly(&h);
    return ITIP_SEV_NONE;
}

static void emit_rule(rstate *s, master *m, itip_rule_id id, itip_severity sev,
                      const char *what)
{
    char *txt = icalproperty_get_value_as_string_r(m->rrule);
    const char *v = txt ? txt : "";

    if (take(s, id))
        itip_emit(s->c, id, sev, m->ev, "RRULE", "RRULE:%.*s%s: %s", SHOW_MAX, v,
                  itip_cut_mark(v, SHOW_MAX), what);
    icalmemory_free_buffer(txt);
}

static void check_h1(rstate *s, master *m, int report)
{
    char why[REASON_MAX], what[REASON_MAX + 160];
    itip_severity sev;

    if (m->rrule == NULL || m->rule.freq == ICAL_NO_RECURRENCE)
        return;
    sev = h1_reason(&m->rule, m->start.t, why, sizeof why);
    m->representable = sev == ITIP_SEV_NONE;
    if (sev == ITIP_SEV_NONE || !report)
        return;
    if (sev == ITIP_SEV_WOULD_FAIL)
        snprintf(what, sizeof what, "%s; the MAPI recurrence pattern cannot hold it, Outlook "
                 "shows \"not supported calendar message.ics\" (KB 2643084)", why);
    else
        snprintf(what, sizeof what, "%s; inferred from the MAPI pattern structure: Outlook "
                 "may refuse the series or change its dates", why);
    emit_rule(s, m, ITIP_R_RRULE_NOT_REPRESENTABLE, sev, what);
}

/* ---- H2, H3 ---- */

static void check_h2(rstate *s, master *m)
{
    char *txt;
    const char *v;

    if (m->nrdate == 0 || m->nrrule > 0 || !take(s, ITIP_R_RDATE_WITHOUT_RRULE))
        return;
    txt = icalproperty_get_value_as_string_r(m->rdate[0]);
    v = txt ? txt : "";
    itip_emit(s->c, ITIP_R_RDATE_WITHOUT_RRULE, ITIP_SEV_WOULD_FAIL, m->ev, "RDATE",
              "RDATE:%.*s%s (%d value%s) without RRULE: Outlook does not open the item, even "
              "if the dates form a supported pattern (KB 2643084)", SHOW_MAX, v,
              itip_cut_mark(v, SHOW_MAX), m->nrdate, m->nrdate == 1 ? "" : "s");
    icalmemory_free_buffer(txt);
}

static void check_h3(rstate *s, master *m)
{
    const char *what = NULL, *prop = NULL;
    char buf[REASON_MAX];

    if (m->nrrule > 1) {
        snprintf(buf, sizeof buf, "%d RRULEs: the MAPI pattern holds one, the others are lost",
                 m->nrrule);
        what = buf;
        prop = "RRULE";
    } else if (m->nexrule > 0) {
        what = "EXRULE (deprecated by RFC 5545): the MAPI pattern cannot hold it, the excluded "
               "instances come back";
        prop = "EXRULE";
    } else if (m->nxexdate > 0 && m->nxrrule == 0) {
        what = "X-MICROSOFT-EXDATE without X-MICROSOFT-RRULE, which MS-OXCICAL requires: the "
               "excluded instances are not applied";
        prop = "X-MICROSOFT-EXDATE";
    }
    if (what != NULL && take(s, ITIP_R_MULTIPLE_RRULE_OR_EXRULE))
        itip_emit(s->c, ITIP_R_MULTIPLE_RRULE_OR_EXRULE, ITIP_SEV_DEGRADE, m->ev, prop, "%s",
                  what);
}

/* ---- expansion ---- */

static int days_in_month(int month, int leap)
{
    static const int d[MONTHS] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return month == 2 && leap ? 29 : d[month - 1];
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* True if a year y0 + k*step (k >= 0) is a leap year; checked over a 400-year cycle. */
static int leap_reachable(int y0, int step)
{
    int k;

    if (step <= 0)
        step = 1;
    for (k = 0; k < 400; k++)
        if (is_leap(y0 + k * step))
            return 1;
    return 0;
}

/* True if a BYMONTHDAY value of R can occur at all: libical searches an impossible one up to
 * the year 20000.  Only MONTHLY and YEARLY can pin the month. */
static int monthday_feasible(const struct icalrecurrencetype *r, struct icaltimetype start)
{
    int md, want, m0 = start.month, step = r->interval > 0 ? r->interval : 1, k, nmon;

    if (NBY(r, by_month_day) == 0)
        return 1;
    md = r->by_month_day[0];
    want = md < 0 ? -md : md;
    if (r->freq == ICAL_YEARLY_RECURRENCE) {
        nmon = NBY(r, by_month);
        for (k = 0; k < (nmon > 0 ? nmon : 1); k++) {
            int mo = nmon > 0 ? icalrecurrencetype_month_month(r->by_month[k]) : m0;
            if (mo < 1 || mo > MONTHS)
                continue;
            if (want <= days_in_month(mo, 0) ||
                (want <= days_in_month(mo, 1) && leap_reachable(start.year, step)))
                return 1;
        }
        return 0;
    }
    if (r->freq != ICAL_MONTHLY_RECURRENCE)
        return want <= 31;
    for (k = 0; k < MONTHS; k++) {
        int mo = (m0 - 1 + k * step) % MONTHS + 1;
        if (want <= days_in_month(mo, 0))
            return 1;
        if (want <= days_in_month(mo, 1) && step % MONTHS == 0 &&
            leap_reachable(start.year, step / MONTHS))
            return 1;
    }
    return 0;
}

static int expandable(const master *m)
{
    return m->rrule != NULL && m->representable &&
           m->rule.freq >= ICAL_DAILY_RECURRENCE && m->rule.freq <= ICAL_YEARLY_RECURRENCE &&
           monthday_feasible(&m->rule, m->start.t);
}

/* An iterator from DTSTART on its wall clock, with UNTIL clamped to HORIZON; NULL when libical
 * refuses the rule. */
static icalrecur_iterator *iter_new(const master *m, struct icaltimetype horizon)
{
    struct icalrecurrencetype r = m->rule;
    struct icaltimetype start = m->start.t, until;

    until = horizon;
    if (m->has_until) {
        struct icaltimetype u = m->until.t;
        if (!m->until.exact)
            icaltime_adjust(&u, 1, 0, 0, 0);   /* a day's slack for an unknown frame */
        if (itip_time_to_unix(u) < itip_time_to_unix(until))
            until = u;
    }
    if (start.is_date) {
        until.is_date = 1;
        until.hour = until.minute = until.second = 0;
    } else if (until.is_date) {
        until.is_date = 0;
        until.hour = 23;
        until.minute = until.second = 59;
    }
    until.zone = NULL;
    start.zone = NULL;
    r.until = until;
    return icalrecur_iterator_new(r, start);
}

static int next_instance(icalrecur_iterator *it, walltime *w)
{
    struct icaltimetype t = icalrecur_iterator_next(it);

    if (icaltime_is_null_time(t))
        return 0;
    *w = make_wall(t, 1);
    return 1;
}

/* ---- H4 ---- */

/* RDATE I of M on M's clock; 0 when it is not an exact date-time there. */
static int rdate_wall(itip_calctx *c, const master *m, int i, walltime *w)
{
    struct icaldatetimeperiodtype dp = icalproperty_get_rdate(m->rdate[i]);
    struct icaltimetype t = icaltime_is_null_time(dp.time) ? dp.period.start : dp.time;

    if (icaltime_is_null_time(t))
        return 0;
    *w = to_frame(c, &m->f, t, tzid_of(m->rdate[i]));
    return w->exact;
}

static void emit_h4(rstate *s, master *m, const walltime *a, const walltime *b, const char *src)
{
    char ta[TBUF], tb[TBUF];

    if (take(s, ITIP_R_RECURRENCE_TWO_INSTANCES_SAME_DAY))
        itip_emit(s->c, ITIP_R_RECURRENCE_TWO_INSTANCES_SAME_DAY, ITIP_SEV_WOULD_FAIL, m->ev,
                  src, "%s yields instances at %s and %s, on one day: a MAPI pattern has one "
                  "start time per day, the series is not converted", src,
                  itip_time_str(a->t, ta, sizeof ta), itip_time_str(b->t, tb, sizeof tb));
}

/* The exact date-time RDATEs of M on its clock, into RD; returns how many. */
static int rdate_walls(itip_calctx *c, const master *m, walltime *rd)
{
    int i, k = 0, n = m->nrdate < MAX_RDATES ? m->nrdate : MAX_RDATES;

    for (i = 0; i < n; i++)
        if (rdate_wall(c, m, i, &rd[k]) && !rd[k].t.is_date)
            k++;
    return k;
}

/* An entry of RD (other than SKIP) on W's day at another time, or -1. */
static int same_day_other_time(const walltime *rd, int n, const walltime *w, int skip)
{
    int i;

    for (i = 0; i < n; i++)
        if (i != skip && rd[i].day == w->day &&
            itip_time_to_unix(rd[i].t) != itip_time_to_unix(w->t))
            return i;
    return -1;
}

/* Two RDATEs, or an RDATE and DTSTART, on one day; 1 if reported. */
static int check_h4_rdates(rstate *s, master *m, const walltime *rd, int n)
{
    int i, j;

    for (i = 0; i < n; i++) {
        if (!m->start.t.is_date && same_day_other_time(&m->start, 1, &rd[i], -1) == 0) {
            emit_h4(s, m, &m->start, &rd[i], "RDATE");
            return 1;
        }
        if ((j = same_day_other_time(rd, n, &rd[i], i)) > i) {
            emit_h4(s, m, &rd[i], &rd[j], "RDATE");
            return 1;
        }
    }
    return 0;
}

/* True when R sets instance times of its own (BYHOUR, BYMINUTE, BYSECOND).  Without them a
 * DAILY or coarser rule, expanded on DTSTART's floating wall clock, gives every instance
 * DTSTART's hour, minute and second, so two instances on one day are one start time: H4's
 * expansion could find nothing and is skipped (it was ~10% of the engine's time, libical's
 * iterator stepping through ICU's calendar for every instance). */
static int sets_time_of_day(const struct icalrecurrencetype *r)
{
    return NBY(r, by_hour) > 0 || NBY(r, by_minute) > 0 || NBY(r, by_second) > 0;
}

static void check_h4(rstate *s, master *m)
{
    struct icaltimetype horizon = m->start.t;
    icalrecur_iterator *it;
    walltime prev, cur, rd[MAX_RDATES];
    int n, j, nrd;

    memset(&prev, 0, sizeof prev);
    if (m->rrule == NULL)
        return;                     /* RDATE alone is H2's */
    nrd = rdate_walls(s->c, m, rd);
    if (check_h4_rdates(s, m, rd, nrd) || !expandable(m) || m->start.t.is_date)
        return;
    if (nrd == 0 && !sets_time_of_day(&m->rule))
        return;                     /* every instance starts at DTSTART's time of day */
    horizon.year += H4_HORIZON_YEARS;
    if ((it = iter_new(m, horizon)) == NULL)
        return;
    for (n = 0; n < H4_MAX_INSTANCES && next_instance(it, &cur); n++) {
        if (n > 0 && same_day_other_time(&prev, 1, &cur, -1) == 0) {
            emit_h4(s, m, &prev, &cur, "RRULE");
            break;
        }
        if ((j = same_day_other_time(rd, nrd, &cur, -1)) >= 0) {
            emit_h4(s, m, &cur, &rd[j], "RDATE");
            break;
        }
        prev = cur;
    }
    icalrecur_iterator_free(it);
}

/* ---- H5 ---- */

static int read_exception(itip_calctx *c, const master *m, icalcomponent *ev, exception *x)
{
    icalproperty *rp = icalcomponent_get_first_property(ev, ICAL_RECURRENCEID_PROPERTY);
    icalproperty *sp = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY);
    struct icaltimetype t;

    memset(x, 0, sizeof *x);
    if (rp == NULL || !read_time(rp, &t))
        return 0;
    x->ev = ev;
    x->rid = to_frame(c, &m->f, t, icaltime_is_utc(t) ? NULL : tzid_of(rp));
    itip_time_str(t, x->rid_text, sizeof x->rid_text);
    if (read_time(sp, &t)) {
        x->start = to_frame(c, &m->f, t, icaltime_is_utc(t) ? NULL : tzid_of(sp));
        x->has_start = 1;
    }
    return 1;
}

static int same_uid(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static int collect_exceptions(itip_calctx *c, const master *m, exception *xs)
{
    icalcompiter it;
    icalcomponent *ev;
    int n = 0;

    for (it = icalcomponent_begin_component(c->vcal, ICAL_VEVENT_COMPONENT);
         (ev = icalcompiter_deref(&it)) != NULL && n < MAX_EXCEPTIONS; icalcompiter_next(&it))
        if (ev != m->ev && same_uid(uid_of(c, ev), m->uid) &&
            read_exception(c, m, ev, &xs[n]))
            n++;
    return n;
}

static void emit_h5(rstate *s, exception *x, const char *prop, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void emit_h5(rstate *s, exception *x, const char *prop, const char *fmt, ...)
{
    char what[REASON_MAX * 2];
    va_list ap;

    if (!take(s, ITIP_R_EXCEPTION_OUTSIDE_SERIES))
        return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    itip_emit(s->c, ITIP_R_EXCEPTION_OUTSIDE_SERIES, ITIP_SEV_DEGRADE, x->ev, prop,
              "RECURRENCE-ID %.*s%s %s", SHOW_MAX, x->rid_text,
              itip_cut_mark(x->rid_text, SHOW_MAX), what);
}

/* Before the first day, after UNTIL, or a moved start before the first day; 1 if reported. */
static int h5_bounds(rstate *s, master *m, exception *x)
{
    char b1[TBUF], b2[TBUF];
    long long slack = x->rid.exact ? 0 : 1;

    itip_time_str(m->start.t, b1, sizeof b1);
    if (x->rid.day < m->start.day - slack) {
        emit_h5(s, x, "RECURRENCE-ID", "lies before the series start %s: CalCheck warns "
                "that Outlook may hang or crash on it", b1);
        return 1;
    }
    if (m->has_until && x->rid.day > m->until.day + slack + (m->until.exact ? 0 : 1)) {
        emit_h5(s, x, "RECURRENCE-ID", "lies after the series end UNTIL=%s: the exception "
                "or response refers to no instance and is dropped",
                itip_time_str(m->rule.until, b2, sizeof b2));
        return 1;
    }
    if (x->has_start && x->start.exact && x->rid.exact && x->start.day < m->start.day) {
        emit_h5(s, x, "DTSTART", "moves the instance to %s, before the series start %s: "
                "CalCheck warns that Outlook may hang or crash on it",
                itip_time_str(x->start.t, b2, sizeof b2), b1);
        return 1;
    }
    return 0;
}

/* Marks exceptions on the day of W. */
static void mark_day(exception *xs, int n, const walltime *w)
{
    int i;

    for (i = 0; i < n; i++)
        if (xs[i].rid.day == w->day)
            xs[i].matched = 1;
}

/* Index of the latest exception. */
static int last_exception(const exception *xs, int n)
{
    int i, best = 0;

    for (i = 1; i < n; i++)
        if (xs[i].rid.day > xs[best].rid.day)
            best = i;
    return best;
}

/* Expands the series far enough to place every exception.  Returns the last day covered (an
 * exception after it cannot be judged); *count_end: the day of the COUNT-th instance when the
 * series ended by COUNT within the expansion, else LLONG_MAX. */
static long long h5_expand(itip_calctx *c, master *m, exception *xs, int n,
                           long long *count_end)
{
    struct icaltimetype horizon, cap;
    int last = last_exception(xs, n), capped;
    long long covered = m->start.day;
    icalrecur_iterator *it;
    walltime w;
    int k = 0, i, nr = m->nrdate < MAX_RDATES ? m->nrdate : MAX_RDATES;

    *count_end = LLONG_MAX;
    mark_day(xs, n, &m->start);
    for (i = 0; i < nr; i++)
        if (rdate_wall(c, m, i, &w))
            mark_day(xs, n, &w);
    if (!expandable(m))   /* a single event is judged whole; an unexpanded rule not at all */
        return m->rrule == NULL && m->nxrrule == 0 ? LLONG_MAX : covered;
    horizon = xs[last].rid.t;
    icaltime_adjust(&horizon, H5_HORIZON_DAYS, 0, 0, 0);
    cap = m->start.t;
    cap.year += H5_HORIZON_YEARS;
    capped = itip_time_to_unix(cap) < itip_time_to_unix(horizon);
    if (capped)
        horizon = cap;
    if ((it = iter_new(m, horizon)) == NULL)
        return covered;
    while (k < H5_MAX_INSTANCES && next_instance(it, &w)) {
        mark_day(xs, n, &w);
        covered = w.day;
        k++;
    }
    if (k < H5_MAX_INSTANCES) {       /* the iterator ended: at the horizon, UNTIL or COUNT */
        if (m->rule.count > 0 && k >= m->rule.count)
            *count_end = covered;
        covered = capped && *count_end == LLONG_MAX ? make_wall(horizon, 1).day : LLONG_MAX;
    }
    icalrecur_iterator_free(it);
    return covered;
}

static void check_h5(rstate *s, master *m)
{
    exception xs[MAX_EXCEPTIONS];
    long long covered, count_end;
    char b[TBUF];
    int n = collect_exceptions(s->c, m, xs), i;

    if (n == 0)
        return;
    covered = h5_expand(s->c, m, xs, n, &count_end);
    for (i = 0; i < n; i++) {
        exception *x = &xs[i];
        if (h5_bounds(s, m, x) || x->matched || !x->rid.exact || x->rid.day > covered)
            continue;
        if (x->rid.day > count_end) {
            emit_h5(s, x, "RECURRENCE-ID", "lies after the last of the COUNT=%d instances: "
                    "the exception or response refers to no instance and is dropped",
                    m->rule.count);
        } else {
            emit_h5(s, x, "RECURRENCE-ID", "falls on a day with no instance of the series "
                    "(DTSTART %s): Exchange finds no occurrence for it",
                    itip_time_str(m->start.t, b, sizeof b));
        }
    }
}

/* ---- H6 ---- */

/* Instances one period of R can hold at most. */
static long long per_period(const struct icalrecurrencetype *r)
{
    long long base = 1, nday = NBY(r, by_day), nmon = NBY(r, by_month), per;

    if (NBY(r, by_hour) > 0)
        base *= NBY(r, by_hour);
    if (NBY(r, by_minute) > 0)
        base *= NBY(r, by_minute);
    if (NBY(r, by_second) > 0)
        base *= NBY(r, by_second);
    switch (r->freq) {
    case ICAL_WEEKLY_RECURRENCE:
        per = nday > 0 ? nday : 1;
        break;
    case ICAL_MONTHLY_RECURRENCE:
        per = NBY(r, by_set_pos) > 0 ? NBY(r, by_set_pos)
            : (nday > 0 ? nday * MAX_WEEKDAYS_PER_MONTH : 1) + NBY(r, by_month_day);
        break;
    case ICAL_YEARLY_RECURRENCE:
        per = NBY(r, by_year_day) > 0 || NBY(r, by_week_no) > 0 ? DAYS_PER_YEAR_MAX
            : NBY(r, by_set_pos) > 0 ? NBY(r, by_set_pos)
            : (nmon > 0 ? nmon : 1) * ((nday > 0 ? nday * MAX_WEEKDAYS_PER_YEAR : 1) +
                                       NBY(r, by_month_day));
        break;
    default:
        per = 1;
        break;
    }
    return base * per;
}

/* A lower bound of the year of the COUNT-th instance (0 when it cannot be bounded). */
static long long count_end_year(const master *m)
{
    const struct icalrecurrencetype *r = &m->rule;
    long long periods = (r->count - 1) / per_period(r) * (r->interval > 0 ? r->interval : 1);

    switch (r->freq) {
    case ICAL_DAILY_RECURRENCE:
        return m->start.t.year + periods / DAYS_PER_YEAR_MAX;
    case ICAL_WEEKLY_RECURRENCE:
        return m->start.t.year + periods * WEEKDAYS / DAYS_PER_YEAR_MAX;
    case ICAL_MONTHLY_RECURRENCE:
        return m->start.t.year + (m->start.t.month - 1 + periods) / MONTHS;
    case ICAL_YEARLY_RECURRENCE:
        return m->start.t.year + periods;
    default:
        return 0;
    }
}

static void check_h6(rstate *s, master *m)
{
    char b[TBUF];
    long long y;

    if (m->rrule == NULL)
        return;
    if (!icaltime_is_null_time(m->rule.until)) {
        itip_timewin w = itip_time_window(m->rule.until);
        if ((w == ITIP_TW_ABOVE_SAFE || w == ITIP_TW_SENTINEL_4501) &&
            take(s, ITIP_R_RRULE_UNTIL_BEYOND_4500))
            itip_emit(s->c, ITIP_R_RRULE_UNTIL_BEYOND_4500, ITIP_SEV_INFO, m->ev, "RRULE",
                      "RRULE UNTIL=%s lies after 4500-08-31: Outlook stores the series as "
                      "endless (PidLidClipEnd)", itip_time_str(m->rule.until, b, sizeof b));
        return;
    }
    if (m->rule.count <= 0 || (y = count_end_year(m)) <= CLIP_YEAR)
        return;
    if (take(s, ITIP_R_RRULE_UNTIL_BEYOND_4500))
        itip_emit(s->c, ITIP_R_RRULE_UNTIL_BEYOND_4500, ITIP_SEV_INFO, m->ev, "RRULE",
                  "RRULE COUNT=%d ends in the year %lld or later, after 4500-08-31: Outlook "
                  "stores the series as endless (PidLidClipEnd)", m->rule.count, y);
}

/* ---- H7 and the driver ---- */

static void check_master(rstate *s, icalcomponent *ev)
{
    itip_calctx *c = s->c;
    master m;
    static const icalproperty_method h1m[] = { ICAL_METHOD_REQUEST, ICAL_METHOD_PUBLISH,
                                               ICAL_METHOD_CANCEL };
    static const icalproperty_method h2m[] = { ICAL_METHOD_REQUEST, ICAL_METHOD_PUBLISH };
    static const icalproperty_method h5m[] = { ICAL_METHOD_REQUEST, ICAL_METHOD_CANCEL,
                                               ICAL_METHOD_REPLY };
    int pattern = is_pattern_method(c);

    read_master(c, ev, &m);
    if (method_in(c, h2m, sizeof h2m / sizeof h2m[0]))
        check_h2(s, &m);
    if (pattern)
        check_h3(s, &m);
    if (!master_times(c, &m))
        return;
    check_h1(s, &m, method_in(c, h1m, sizeof h1m / sizeof h1m[0]));
    if (pattern) {
        check_h4(s, &m);
        check_h6(s, &m);
    }
    if (method_in(c, h5m, sizeof h5m / sizeof h5m[0]))
        check_h5(s, &m);
}

static void check_h7(rstate *s, int nmasters, int nexceptions, icalcomponent *first)
{
    static const icalproperty_method m[] = { ICAL_METHOD_REQUEST, ICAL_METHOD_CANCEL };

    if (nmasters > 0 || nexceptions == 0 || !method_in(s->c, m, sizeof m / sizeof m[0]))
        return;
    itip_emit(s->c, ITIP_R_ORPHAN_EXCEPTION_OBJECT, ITIP_SEV_INFO, first, "RECURRENCE-ID",
              "%s holds only exception%s (%d VEVENT%s with RECURRENCE-ID, no master): Exchange "
              "imports a single instance, tied to the series only through an identical UID",
              s->c->method, nexceptions == 1 ? "" : "s", nexceptions,
              nexceptions == 1 ? "" : "s");
}

void itip_check_recur(itip_calctx *c)
{
    icalcompiter it;
    icalcomponent *ev, *first_exc = NULL;
    rstate s;
    int nmasters = 0, nexc = 0;

    if (c->vcal == NULL)
        return;
    memset(&s, 0, sizeof s);
    s.c = c;
    for (it = icalcomponent_begin_component(c->vcal, ICAL_VEVENT_COMPONENT);
         (ev = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it)) {
        if (icalcomponent_get_first_property(ev, ICAL_RECURRENCEID_PROPERTY) != NULL) {
            if (nexc++ == 0)
                first_exc = ev;
            continue;
        }
        if (nmasters++ < MAX_MASTERS)
            check_master(&s, ev);
    }
    check_h7(&s, nmasters, nexc, first_exc);
}
