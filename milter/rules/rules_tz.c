/*
 * rules_tz.c - time zone rules (catalogue section G), all methods unless said otherwise.
 *
 *   G1 tzid-undeclared            a TZID= parameter on DTSTART, DTEND, DUE, RECURRENCE-ID,
 *                                 EXDATE or RDATE of a top-level VEVENT/VTODO names no
 *                                 VTIMEZONE of the same VCALENDAR; TZIDs compare
 *                                 case-insensitively as in MS-OXCICAL, so a case-only
 *                                 difference is no finding.  Each undeclared TZID is reported
 *                                 once per part.
 *   G2 vtimezone-duplicate-tzid   two VTIMEZONEs define the same TZID (case-insensitive)
 *   G3-G5, G8                     the shape of the VTIMEZONEs and the names of the zones:
 *                                 rules_vtimezone.c, given the TZIDs that G1's walk found
 *                                 referenced
 *   G6 dtstart-dtend-tzid-mismatch (REQUEST, PUBLISH, COUNTER) a VEVENT's timed DTSTART and
 *                                 DTEND are in different frames: different TZIDs
 *                                 (case-insensitive), UTC against a TZID, or floating against
 *                                 either.  DATE values are left to other rules.
 *   G7 recurrence-id-tz-mismatch  (REQUEST, REPLY, CANCEL) an exception's RECURRENCE-ID is in a
 *                                 different frame from its series master's DTSTART (the master
 *                                 must be in the same part) and its instant is no instance of
 *                                 the series: DTSTART, RDATEs and RRULE instances are compared
 *                                 with it as UTC instants, using the part's VTIMEZONEs (a
 *                                 floating value is read in the other value's frame).  Nothing
 *                                 is reported when a zone is not declared or has a rule that
 *                                 is not yearly (libical would expand it expensively), when
 *                                 the RRULE is not a plain daily..yearly rule (rule_plain():
 *                                 libical searches impossible rules for up to a second), or
 *                                 when MAX_INSTANCES or STEP_BUDGET runs out: the rule only
 *                                 speaks when it is sure.  RRULE gets an UNTIL just past the
 *                                 RECURRENCE-ID, so no search runs beyond it.
 *
 * The TZIDs compared are the texts of the parameters and of the VTIMEZONE TZID properties as
 * parsed; libical's zone lookup is used only to compute G7's instants (after a case-insensitive
 * match), never its builtin zones.  Their UTC offsets come from itip_zone_utc_offset(): libical's
 * answer, computed from the onsets near the time instead of libical's expansion of the zone
 * from its first DTSTART (libical still answers for the shapes it does not compute).  A
 * VTIMEZONE whose TZID libical dropped (empty value) counts as declaring the empty TZID.
 * Must never: descend into VTIMEZONE for references, move the component iterator of the
 * VCALENDAR (external iterators only), nest two loops over one component's properties, expand
 * a recurrence or zone without a bound, or emit more than MAX_PER_RULE findings per rule.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "rules/calendar.h"
#include "rules/calutil.h"

#define MAX_PER_RULE 5          /* findings of one rule in one calendar part */
#define SHOW_MAX 60             /* characters of a TZID shown in a detail */
#define TBUF 32                 /* itip_time_str needs at least 32 bytes */
#define MAX_INSTANCES 1000      /* G7: series instances compared per exception; past it the
                                   exception is not judged (no finding) */
#define STEP_BUDGET 5000        /* G7: series instances generated per part in all (libical
                                   needs up to 20 microseconds each); then G7 stops judging */
#define SLACK_SECONDS (2LL * 86400) /* beyond any UTC offset: G7 stops (and starts) this far
                                   from the RECURRENCE-ID instant */
#define REFS_INITIAL 16

typedef struct {
    const char **v;             /* sorted case-insensitively after collect_declared() */
    size_t n;
} tzlist;

/* The TZIDs of c->vcal's VTIMEZONEs, sorted.  Returns -1 when out of memory. */
static int collect_declared(icalcomponent *vcal, tzlist *tz)
{
    icalcompiter it;
    icalcomponent *k;
    size_t count = 0;

    tz->v = NULL;
    tz->n = 0;
    for (it = icalcomponent_begin_component(vcal, ICAL_VTIMEZONE_COMPONENT);
         icalcompiter_deref(&it) != NULL; icalcompiter_next(&it))
        count++;
    if (count == 0)
        return 0;
    if ((tz->v = calloc(count, sizeof *tz->v)) == NULL)
        return -1;
    for (it = icalcomponent_begin_component(vcal, ICAL_VTIMEZONE_COMPONENT);
         (k = icalcompiter_deref(&it)) != NULL && tz->n < count; icalcompiter_next(&it)) {
        icalproperty *p = icalcomponent_get_first_property(k, ICAL_TZID_PROPERTY);
        const char *id = p ? icalproperty_get_tzid(p) : NULL;
        tz->v[tz->n++] = id ? id : "";
    }
    qsort(tz->v, tz->n, sizeof *tz->v, itip_cmp_ci);
    return 0;
}

static int declared(const tzlist *tz, const char *id)
{
    return tz->n > 0 && bsearch(&id, tz->v, tz->n, sizeof *tz->v, itip_cmp_ci) != NULL;
}

/* G2: equal neighbours in the sorted list. */
static void check_g2(itip_calctx *c, const tzlist *tz)
{
    size_t i;
    int emitted = 0;

    for (i = 1; i < tz->n && emitted < MAX_PER_RULE; i++) {
        size_t same = 1;
        if (strcasecmp(tz->v[i - 1], tz->v[i]) != 0)
            continue;
        while (i < tz->n && strcasecmp(tz->v[i - 1], tz->v[i]) == 0) {
            same++;
            i++;
        }
        emitted++;
        itip_emit(c, ITIP_R_VTIMEZONE_DUPLICATE_TZID, ITIP_SEV_DEGRADE, NULL, "TZID",
                  "%zu VTIMEZONEs define TZID \"%.*s\": each TZID must be defined once, so "
                  "which rules Exchange applies is undefined", same, SHOW_MAX, tz->v[i - 1]);
    }
}

typedef struct {
    itip_calctx *c;
    const tzlist *tz;
    const char *reported[MAX_PER_RULE];
    int n;
    const char **refs;          /* every TZID referenced (for G3 and G8); grows */
    size_t nrefs, cap;
    int refs_oom;               /* then G3 and G8 skip the references */
} g1ctx;

static void note_reference(g1ctx *g, const char *id)
{
    if (g->refs_oom)
        return;
    if (g->nrefs == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : REFS_INITIAL;
        const char **v = realloc(g->refs, cap * sizeof *v);
        if (v == NULL) {
            g->refs_oom = 1;
            return;
        }
        g->refs = v;
        g->cap = cap;
    }
    g->refs[g->nrefs++] = id;
}

static int is_tz_reference(icalproperty_kind k)
{
    return k == ICAL_DTSTART_PROPERTY || k == ICAL_DTEND_PROPERTY || k == ICAL_DUE_PROPERTY ||
           k == ICAL_RECURRENCEID_PROPERTY || k == ICAL_EXDATE_PROPERTY ||
           k == ICAL_RDATE_PROPERTY;
}

static void check_reference(g1ctx *g, icalcomponent *comp, icalproperty *p, const char *id)
{
    if (declared(g->tz, id) || !itip_note_once(g->reported, &g->n, MAX_PER_RULE, id))
        return;
    itip_emit(g->c, ITIP_R_TZID_UNDECLARED, ITIP_SEV_DEGRADE, comp,
              icalproperty_get_property_name(p),
              "TZID \"%.*s%s\" on %s has no VTIMEZONE in the calendar: Outlook guesses the "
              "zone (times often an hour off) and some converters refuse the import",
              SHOW_MAX, id, itip_cut_mark(id, SHOW_MAX),
              icalproperty_get_property_name(p));
}

/* G1 for one VEVENT/VTODO: walks its properties with the component's own iterator. */
static void check_g1_component(g1ctx *g, icalcomponent *comp)
{
    icalproperty *p;

    for (p = icalcomponent_get_first_property(comp, ICAL_ANY_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(comp, ICAL_ANY_PROPERTY)) {
        icalparameter *a;
        if (!is_tz_reference(icalproperty_isa(p)))
            continue;
        for (a = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER); a != NULL;
             a = icalproperty_get_next_parameter(p, ICAL_TZID_PARAMETER)) {
            const char *id = icalparameter_get_tzid(a);
            check_reference(g, comp, p, id ? id : "");
            note_reference(g, id ? id : "");
        }
    }
}

/* ---- G6, G7: the frame of a date-time value ---- */

typedef enum { Z_NONE = 0, Z_DATE, Z_FLOATING, Z_UTC, Z_TZID } zkind;

typedef struct {
    zkind kind;
    const char *tzid;           /* Z_TZID */
    struct icaltimetype t;      /* wall-clock fields as written */
    icaltimezone *zone;         /* G7: the resolved VTIMEZONE of tzid */
} zval;

static void read_zval(icalproperty *p, zval *z)
{
    icalvalue *v = p ? icalproperty_get_value(p) : NULL;
    icalparameter *tp;

    memset(z, 0, sizeof *z);
    if (v == NULL || (icalvalue_isa(v) != ICAL_DATETIME_VALUE &&
                      icalvalue_isa(v) != ICAL_DATE_VALUE))
        return;
    z->t = icalvalue_get_datetime(v);
    if (icaltime_is_null_time(z->t))
        return;
    tp = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
    if (z->t.is_date)
        z->kind = Z_DATE;
    else if (icaltime_is_utc(z->t))
        z->kind = Z_UTC;
    else if (tp != NULL && icalparameter_get_tzid(tp) != NULL) {
        z->kind = Z_TZID;
        z->tzid = icalparameter_get_tzid(tp);
    } else
        z->kind = Z_FLOATING;
    z->t.zone = z->kind == Z_UTC ? icaltimezone_get_utc_timezone() : NULL;
}

static int same_frame(const zval *a, const zval *b)
{
    return a->kind == b->kind && (a->kind != Z_TZID || strcasecmp(a->tzid, b->tzid) == 0);
}

/* "TZID X", "UTC" or "floating", for a detail line. */
static const char *frame_name(const zval *z, char *buf, size_t len)
{
    if (z->kind == Z_TZID)
        snprintf(buf, len, "TZID \"%.*s%s\"", SHOW_MAX, z->tzid,
                 itip_cut_mark(z->tzid, SHOW_MAX));
    else
        snprintf(buf, len, "%s", z->kind == Z_UTC ? "UTC" : "floating time");
    return buf;
}

static int dtstart_dtend_method(const itip_calctx *c)
{
    return c->method_kind == ICAL_METHOD_REQUEST || c->method_kind == ICAL_METHOD_PUBLISH ||
           c->method_kind == ICAL_METHOD_COUNTER;
}

static void check_g6(itip_calctx *c, icalcomponent *ev, int *count)
{
    zval s, e;
    char a[SHOW_MAX + 32], b[SHOW_MAX + 32];

    read_zval(icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY), &s);
    read_zval(icalcomponent_get_first_property(ev, ICAL_DTEND_PROPERTY), &e);
    if (s.kind == Z_NONE || e.kind == Z_NONE || s.kind == Z_DATE || e.kind == Z_DATE ||
        same_frame(&s, &e) || (*count)++ >= MAX_PER_RULE)
        return;
    itip_emit(c, ITIP_R_DTSTART_DTEND_TZID_MISMATCH, ITIP_SEV_DEGRADE, ev, "DTEND",
              "DTSTART is in %s but DTEND in %s: Exchange takes the zone from DTSTART and "
              "ignores DTEND's, so the end time can shift", frame_name(&s, a, sizeof a),
              frame_name(&e, b, sizeof b));
}

/* Seconds since the epoch of wall-clock time T in the frame of Z (Z_UTC or a resolved zone). */
static long long instant(struct icaltimetype t, const zval *z)
{
    int dst = 0, off = 0;

    t.zone = NULL;
    if (z->kind != Z_UTC && z->zone != NULL)
        off = itip_zone_utc_offset(z->zone, &t, &dst);
    return itip_time_to_unix(t) - off;
}

/* Resolves a TZID value's zone; a floating value takes OTHER's frame.  0 when unusable. */
static int settle_frame(itip_calctx *c, zval *z, const zval *other)
{
    if (z->kind == Z_TZID)
        return (z->zone = itip_cheap_zone(c, z->tzid)) != NULL;
    if (z->kind == Z_FLOATING) {
        if (other->kind == Z_FLOATING)
            return 0;
        z->kind = other->kind;
        z->tzid = other->tzid;
        if (z->kind == Z_TZID)
            return (z->zone = itip_cheap_zone(c, z->tzid)) != NULL;
    }
    return z->kind == Z_UTC;
}

/* True if an RDATE of MASTER (in its own TZID, else in the master's frame) is at WANT. */
static int rdate_matches(itip_calctx *c, icalcomponent *master, const zval *m, long long want)
{
    icalproperty *p;

    for (p = icalcomponent_get_first_property(master, ICAL_RDATE_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(master, ICAL_RDATE_PROPERTY)) {
        struct icaldatetimeperiodtype dp = icalproperty_get_rdate(p);
        zval r;
        read_zval(p, &r);
        r.t = icaltime_is_null_time(dp.time) ? dp.period.start : dp.time;
        if (r.kind == Z_NONE || r.kind == Z_DATE || icaltime_is_null_time(r.t) ||
            !settle_frame(c, &r, m))
            continue;
        if (instant(r.t, &r) == want)
            return 1;
    }
    return 0;
}

/* True if REC is a plain daily..yearly rule whose instances libical finds quickly: one that a
 * MAPI recurrence pattern could hold, with BYMONTHDAY values that exist in a listed month.
 * An impossible rule (BYMONTH=2;BYMONTHDAY=30) makes libical search up to the year 2582. */
static int rule_plain(const struct icalrecurrencetype *rec)
{
    static const short mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int nmon = itip_by_count(rec->by_month, ICAL_BY_MONTH_SIZE), i, j;
    short longest = 0;

    if (rec->freq < ICAL_DAILY_RECURRENCE || rec->freq > ICAL_YEARLY_RECURRENCE ||
        itip_by_count(rec->by_second, ICAL_BY_SECOND_SIZE) ||
        itip_by_count(rec->by_minute, ICAL_BY_MINUTE_SIZE) ||
        itip_by_count(rec->by_hour, ICAL_BY_HOUR_SIZE) ||
        itip_by_count(rec->by_year_day, ICAL_BY_YEARDAY_SIZE) ||
        itip_by_count(rec->by_week_no, ICAL_BY_WEEKNO_SIZE))
        return 0;
    if ((rec->freq == ICAL_DAILY_RECURRENCE || rec->freq == ICAL_WEEKLY_RECURRENCE) &&
        (nmon || itip_by_count(rec->by_month_day, ICAL_BY_MONTHDAY_SIZE) ||
         itip_by_count(rec->by_set_pos, ICAL_BY_SETPOS_SIZE)))
        return 0;
    if (rec->freq == ICAL_MONTHLY_RECURRENCE && nmon)
        return 0;
    for (i = 0; i < 12; i++)
        for (j = 0; j < (nmon ? nmon : 1); j++)
            if ((!nmon || icalrecurrencetype_month_month(rec->by_month[j]) == i + 1) &&
                mdays[i] > longest)
                longest = mdays[i];
    for (i = 0; i < itip_by_count(rec->by_month_day, ICAL_BY_MONTHDAY_SIZE); i++)
        if (rec->by_month_day[i] > longest || rec->by_month_day[i] < -longest)
            return 0;
    return 1;
}

/* True if an RRULE instance of the series starting at M is at WANT; also true when the check
 * cannot be completed within its bounds (so that no finding follows).  The rule gets an UNTIL
 * just past WANT (libical honours it together with COUNT), so no search runs beyond it. */
static int rrule_matches(icalcomponent *master, const zval *m, long long want, long *budget)
{
    icalproperty *p = icalcomponent_get_first_property(master, ICAL_RRULE_PROPERTY);
    struct icalrecurrencetype rec;
    icalrecur_iterator *ri;
    struct icaltimetype t, from, stop;
    int n, found = 0, open_end = 1;

    if (p == NULL)
        return 0;
    rec = icalproperty_get_rrule(p);
    if (!rule_plain(&rec))
        return 1;                   /* not expanded: H1 speaks about such rules */
    stop = icaltime_from_timet_with_zone((time_t)(want + SLACK_SECONDS), 0, NULL);
    /* libical compares a UTC UNTIL with the wall-clock instances as if both were wall clock:
     * move it past any UTC offset so the last instance is never cut off (silence, not a
     * false alarm, when unsure) */
    if (!icaltime_is_null_time(rec.until) && icaltime_is_utc(rec.until) && m->kind != Z_UTC)
        rec.until = icaltime_from_timet_with_zone(
            (time_t)(itip_time_to_unix(rec.until) + SLACK_SECONDS), 0, NULL);
    if (icaltime_is_null_time(rec.until) || icaltime_compare(rec.until, stop) > 0)
        rec.until = stop;
    if ((ri = icalrecur_iterator_new(rec, m->t)) == NULL)
        return 1;
    /* jump close to the RECURRENCE-ID when the rule allows it (no COUNT) */
    from = icaltime_from_timet_with_zone((time_t)(want - SLACK_SECONDS), 0, NULL);
    if (rec.count == 0 && icaltime_compare(from, m->t) > 0)
        (void)icalrecur_iterator_set_start(ri, from);
    for (n = 0; n < MAX_INSTANCES && *budget > 0; n++) {
        long long u;
        (*budget)--;
        t = icalrecur_iterator_next(ri);
        if (icaltime_is_null_time(t)) {
            open_end = 0;
            break;
        }
        u = itip_time_to_unix(t);   /* wall clock: within a day of the instant */
        if (u < want - SLACK_SECONDS)
            continue;               /* far before: no zone lookup needed */
        if (instant(t, m) == want) {
            found = 1;
            break;
        }
    }
    icalrecur_iterator_free(ri);
    return found || open_end;
}

static void check_g7(itip_calctx *c, icalcomponent *ev, const char *uid, int *count,
                     long *budget)
{
    zval r, m;
    icalcomponent *master;
    long long want;
    char a[SHOW_MAX + 32], b[SHOW_MAX + 32], tr[TBUF], tm[TBUF];

    read_zval(icalcomponent_get_first_property(ev, ICAL_RECURRENCEID_PROPERTY), &r);
    if (r.kind == Z_NONE || r.kind == Z_DATE || uid == NULL)
        return;
    master = itip_series_master(c, uid);
    if (master == NULL)
        return;
    read_zval(icalcomponent_get_first_property(master, ICAL_DTSTART_PROPERTY), &m);
    if (m.kind == Z_NONE || m.kind == Z_DATE || same_frame(&r, &m))
        return;
    frame_name(&r, a, sizeof a);
    frame_name(&m, b, sizeof b);
    itip_time_str(r.t, tr, sizeof tr);
    itip_time_str(m.t, tm, sizeof tm);
    if (!settle_frame(c, &r, &m) || !settle_frame(c, &m, &r))
        return;
    want = instant(r.t, &r);
    if (instant(m.t, &m) == want || rdate_matches(c, master, &m, want) ||
        rrule_matches(master, &m, want, budget) || (*count)++ >= MAX_PER_RULE)
        return;
    itip_emit(c, ITIP_R_RECURRENCE_ID_TZ_MISMATCH, ITIP_SEV_DEGRADE, ev, "RECURRENCE-ID",
              "RECURRENCE-ID %s (%s) names no instance of the series, whose DTSTART %s is in "
              "%s: Exchange derives the occurrence from it and changes the wrong one or none",
              tr, a, tm, b);
}

/* G6 and G7 over the VEVENTs. */
static void check_events(itip_calctx *c)
{
    int n6 = 0, n7 = 0;
    long budget = STEP_BUDGET;
    int g6 = dtstart_dtend_method(c);
    int g7 = c->method_kind == ICAL_METHOD_REQUEST || c->method_kind == ICAL_METHOD_REPLY ||
             c->method_kind == ICAL_METHOD_CANCEL;
    size_t i;

    for (i = 0; i < c->nuids; i++) {
        icalcomponent *ev = c->uids[i].comp;
        if (icalcomponent_isa(ev) != ICAL_VEVENT_COMPONENT)
            continue;
        if (g6)
            check_g6(c, ev, &n6);
        if (g7 && budget > 0 &&
            icalcomponent_get_first_property(ev, ICAL_RECURRENCEID_PROPERTY) != NULL)
            check_g7(c, ev, c->uids[i].uid, &n7, &budget);
    }
}

void itip_check_tz(itip_calctx *c)
{
    icalcompiter it;
    icalcomponent *k;
    tzlist tz, refs;
    g1ctx g;

    if (c->vcal == NULL || collect_declared(c->vcal, &tz) < 0)
        return;
    check_g2(c, &tz);
    memset(&g, 0, sizeof g);
    g.c = c;
    g.tz = &tz;
    for (it = icalcomponent_begin_component(c->vcal, ICAL_ANY_COMPONENT);
         (k = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it))
        if (icalcomponent_isa(k) == ICAL_VEVENT_COMPONENT ||
            icalcomponent_isa(k) == ICAL_VTODO_COMPONENT)
            check_g1_component(&g, k);
    if (g.refs_oom)
        g.nrefs = 0;
    refs.v = g.refs;
    refs.n = g.nrefs;
    if (refs.n > 0)
        qsort(refs.v, refs.n, sizeof *refs.v, itip_cmp_ci);
    itip_check_vtimezone(c, refs.v, refs.n);
    check_events(c);
    free(g.refs);
    free(tz.v);
}
