/*
 * rules_vtimezone.c - the shape of VTIMEZONE components and the names of zones (catalogue
 * section G, part of itip_check_tz), all methods.  Exports itip_check_vtimezone() only.
 *
 *   G3 vtimezone-not-approximable  a VTIMEZONE that a TZID parameter references cannot become
 *                                  Outlook's one yearly standard/daylight pair (MS-STANOICAL
 *                                  2.2.47; the conditions gromox's oxcical_parse_vtsubcomponent
 *                                  applies): no STANDARD/DAYLIGHT; a sub-component without
 *                                  TZOFFSETTO or DTSTART, a DAYLIGHT without TZOFFSETFROM;
 *                                  DTSTART in UTC or with a TZID; an RRULE that libical could
 *                                  not parse, more than one RRULE, or one that is not
 *                                  FREQ=YEARLY, has both or neither of BYDAY and BYMONTHDAY,
 *                                  more than one BYMONTH/BYDAY/BYMONTHDAY value, BYMONTH
 *                                  outside 1..12, a BYDAY ordinal outside 1..5 and -1, or
 *                                  |BYMONTHDAY| outside 1..31.  One finding per VTIMEZONE,
 *                                  naming its first defect.  A sub-component without RRULE (a
 *                                  single transition, as Outlook writes for zones without DST)
 *                                  is fine, and so is the shape of an RRULE whose UNTIL lies
 *                                  before the clock (a past rule era, as in the full-history
 *                                  zones of Apple's calendar server: G5 covers those).
 *   G4 vtimezone-rdate             a STANDARD/DAYLIGHT of any VTIMEZONE has RDATE: degrade;
 *                                  would-fail when itip_target_is_legacy() (the organizer's or
 *                                  a recipient's domain is on legacy_cdo_domains), since
 *                                  Exchange 2016 before CU12 fails the whole conversion (KB
 *                                  4456241) and legacy sites are the ones that run old builds
 *   G5 vtimezone-multiple-rules    (info) a VTIMEZONE has more than one STANDARD or more than
 *                                  one DAYLIGHT (historic rule sets collapse to one pair)
 *   G8 tzid-windows-display-name   (info) a VTIMEZONE TZID or TZID parameter in Windows display
 *                                  form: "(UTC+01:00) Amsterdam, ...", "(GMT+01.00) ...", or a
 *                                  text with ',' or '&' (the city list of a display name, as
 *                                  Exchange 2003 writes "Sarajevo, Skopje, Warsaw, Zagreb";
 *                                  neither IANA names nor Windows zone ids like "W. Europe
 *                                  Standard Time" contain them); or a numeric
 *                                  X-MICROSOFT-CDO-TZID (VTIMEZONE or top-level component).
 *                                  Each value once per part.
 *
 * Must never: change the tree, expand a time zone, use libical's internal iterator of the
 * VCALENDAR or of a VTIMEZONE (external component iterators only; each sub-component's own
 * property iterator is used, one loop at a time), or emit more than MAX_PER_RULE findings of
 * one rule per part.  No static mutable state: all of it lives in vtz_run on the stack.
 */
#include "ac-config.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "rules/calendar.h"
#include "rules/calutil.h"

#define MAX_PER_RULE 5          /* findings of one rule in one calendar part */
#define SHOW_MAX 60             /* characters of a TZID shown in a detail */
#define WHY_LEN 128
#define BYDAY_LAST (-1)         /* the only negative BYDAY ordinal Outlook stores ("last") */
#define BYDAY_MAX_ORDINAL 5
#define MONTHDAY_MAX 31

/* ---- G8: Windows display names ---- */

static int display_name(const char *id)
{
    if (id[0] == '(' &&
        (strncasecmp(id + 1, "UTC", 3) == 0 || strncasecmp(id + 1, "GMT", 3) == 0)) {
        const char *p = id + 4;
        if (*p == ')' || ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1])))
            return 1;
    }
    return strpbrk(id, ",&") != NULL;
}

static int numeric(const char *v)
{
    size_t n = strspn(v, "0123456789");
    return n > 0 && v[n] == '\0';
}

typedef struct {
    itip_calctx *c;
    const char *seen[MAX_PER_RULE];
    int n;
} g8ctx;

static void g8_report(g8ctx *g, icalcomponent *comp, const char *prop, const char *v, int cdo)
{
    if (!itip_note_once(g->seen, &g->n, MAX_PER_RULE, v))
        return;
    if (cdo)
        itip_emit(g->c, ITIP_R_TZID_WINDOWS_DISPLAY_NAME, ITIP_SEV_INFO, comp, prop,
                  "X-MICROSOFT-CDO-TZID is the numeric Exchange zone id %.*s: non-Microsoft "
                  "clients cannot map it to a zone", SHOW_MAX, v);
    else
        itip_emit(g->c, ITIP_R_TZID_WINDOWS_DISPLAY_NAME, ITIP_SEV_INFO, comp, prop,
                  "TZID \"%.*s%s\" is a Windows display name, not a zone id: non-Microsoft "
                  "clients cannot map it and rely on the VTIMEZONE alone", SHOW_MAX, v,
                  itip_cut_mark(v, SHOW_MAX));
}

/* X-MICROSOFT-CDO-TZID properties of COMP (its own property iterator, one loop). */
static void g8_cdo(g8ctx *g, icalcomponent *comp)
{
    icalproperty *p;

    for (p = icalcomponent_get_first_property(comp, ICAL_X_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(comp, ICAL_X_PROPERTY)) {
        const char *name = icalproperty_get_x_name(p), *v;
        if (name == NULL || strcasecmp(name, "X-MICROSOFT-CDO-TZID") != 0)
            continue;
        v = itip_xprop_value(p);
        if (numeric(v))
            g8_report(g, comp, "X-MICROSOFT-CDO-TZID", v, 1);
    }
}

/* G8 on the referenced TZIDs and the X-MICROSOFT-CDO-TZIDs (declared TZIDs: check_one). */
static void check_g8(g8ctx *g, const char *const *refs, size_t nrefs)
{
    size_t i;
    icalcompiter it;
    icalcomponent *k;

    for (i = 0; i < nrefs; i++)
        if (display_name(refs[i]))
            g8_report(g, NULL, "TZID", refs[i], 0);
    for (it = icalcomponent_begin_component(g->c->vcal, ICAL_ANY_COMPONENT);
         (k = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it))
        g8_cdo(g, k);
}

typedef struct {
    itip_calctx *c;
    g8ctx g8;
    const char *const *refs;    /* referenced TZIDs, sorted case-insensitively */
    size_t nrefs;
    int count[3];               /* findings so far of G3, G4, G5 */
    int legacy;                 /* -1 until itip_target_is_legacy() was asked */
} vtz_run;

enum { N_G3, N_G4, N_G5 };

static int may_emit(vtz_run *r, int which)
{
    return r->count[which]++ < MAX_PER_RULE;
}

static int array_len(const short *v, int max)
{
    int n = 0;

    while (n < max && v[n] != ICAL_RECURRENCE_ARRAY_MAX)
        n++;
    return n;
}

/* G3 on the RRULE of one sub-component: the reason it cannot be approximated, or NULL. */
static const char *rrule_defect(struct icalrecurrencetype r, const char *sub, char *why,
                                size_t len)
{
    int nday = array_len(r.by_day, ICAL_BY_DAY_SIZE);
    int nmday = array_len(r.by_month_day, ICAL_BY_MONTHDAY_SIZE);
    int nmon = array_len(r.by_month, ICAL_BY_MONTH_SIZE);
    int pos = nday > 0 ? icalrecurrencetype_day_position(r.by_day[0]) : 0;
    const char *wday = nday > 0 ? icalrecur_weekday_to_string(
        icalrecurrencetype_day_day_of_week(r.by_day[0])) : NULL;
    char ordinal[16];

    snprintf(ordinal, sizeof ordinal, "%d", pos);

    if (r.freq != ICAL_YEARLY_RECURRENCE)
        snprintf(why, len, "the %s RRULE is FREQ=%s, not YEARLY", sub,
                 icalrecur_freq_to_string(r.freq) ? icalrecur_freq_to_string(r.freq) : "?");
    else if ((nday > 0) == (nmday > 0))
        snprintf(why, len, "the %s RRULE has %s BYDAY %s BYMONTHDAY", sub,
                 nday > 0 ? "both" : "neither", nday > 0 ? "and" : "nor");
    else if (nday > 1 || nmday > 1 || nmon > 1)
        snprintf(why, len, "the %s RRULE lists more than one %s", sub,
                 nday > 1 ? "BYDAY" : nmday > 1 ? "BYMONTHDAY" : "BYMONTH");
    else if (nmon == 1 && (icalrecurrencetype_month_month(r.by_month[0]) < 1 ||
                           icalrecurrencetype_month_month(r.by_month[0]) > 12))
        snprintf(why, len, "the %s RRULE has BYMONTH=%d", sub,
                 icalrecurrencetype_month_month(r.by_month[0]));
    else if (nday == 1 && (pos == 0 || pos < BYDAY_LAST || pos > BYDAY_MAX_ORDINAL))
        snprintf(why, len, "the %s RRULE has BYDAY=%s%s (Outlook stores weeks 1..5 and -1 "
                 "only)", sub, pos == 0 ? "" : ordinal, wday ? wday : "?");
    else if (nmday == 1 && (r.by_month_day[0] == 0 || r.by_month_day[0] > MONTHDAY_MAX ||
                            r.by_month_day[0] < -MONTHDAY_MAX))
        snprintf(why, len, "the %s RRULE has BYMONTHDAY=%d", sub, r.by_month_day[0]);
    else
        return NULL;
    return why;
}

/* What one STANDARD/DAYLIGHT holds, read in a single pass over its properties. */
typedef struct {
    int has_to, has_from, rdates, rrules, rrule_broken;
    icalproperty *dtstart, *rrule;
} sub_facts;

static void read_sub(icalcomponent *sub, sub_facts *f)
{
    icalproperty *p;

    memset(f, 0, sizeof *f);
    for (p = icalcomponent_get_first_property(sub, ICAL_ANY_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(sub, ICAL_ANY_PROPERTY)) {
        switch (icalproperty_isa(p)) {
        case ICAL_TZOFFSETTO_PROPERTY: f->has_to = 1; break;
        case ICAL_TZOFFSETFROM_PROPERTY: f->has_from = 1; break;
        case ICAL_RDATE_PROPERTY: f->rdates++; break;
        case ICAL_DTSTART_PROPERTY:
            if (f->dtstart == NULL)
                f->dtstart = p;
            break;
        case ICAL_RRULE_PROPERTY:
            if (f->rrules++ == 0)
                f->rrule = p;
            break;
        case ICAL_XLICERROR_PROPERTY: {
            /* libical drops an RRULE it cannot parse and leaves this note instead */
            const char *t = icalproperty_get_xlicerror(p);
            if (t != NULL && strstr(t, "RRULE") != NULL)
                f->rrule_broken = 1;
            break;
        }
        default: break;
        }
    }
}

/* True if the RRULE has an UNTIL before NOW: a rule era that has ended.  Outlook keeps the
 * current pair; the eras it drops are G5's concern, not G3's. */
static int rule_ended(struct icalrecurrencetype r, time_t now)
{
    return !icaltime_is_null_time(r.until) && itip_time_to_unix(r.until) < (long long)now;
}

/* G3 on one sub-component: the reason it cannot be approximated, or NULL. */
static const char *sub_defect(const sub_facts *f, const char *sub, time_t now, char *why,
                              size_t len)
{
    icalvalue *v;

    if (!f->has_to)
        snprintf(why, len, "a %s has no TZOFFSETTO", sub);
    else if (!f->has_from && strcmp(sub, "DAYLIGHT") == 0)
        snprintf(why, len, "a DAYLIGHT has no TZOFFSETFROM");
    else if (f->dtstart == NULL)
        snprintf(why, len, "a %s has no DTSTART", sub);
    else if (icalproperty_get_first_parameter(f->dtstart, ICAL_TZID_PARAMETER) != NULL)
        snprintf(why, len, "the %s DTSTART has a TZID", sub);
    else if ((v = icalproperty_get_value(f->dtstart)) != NULL &&
             icalvalue_isa(v) == ICAL_DATETIME_VALUE &&
             icaltime_is_utc(icalvalue_get_datetime(v)))
        snprintf(why, len, "the %s DTSTART %s is in UTC", sub,
                 icalproperty_get_value_as_string(f->dtstart));
    else if (f->rrule_broken)
        snprintf(why, len, "a %s RRULE could not be parsed", sub);
    else if (f->rrules > 1)
        snprintf(why, len, "a %s has %d RRULEs", sub, f->rrules);
    else if (f->rrule != NULL && !rule_ended(icalproperty_get_rrule(f->rrule), now))
        return rrule_defect(icalproperty_get_rrule(f->rrule), sub, why, len);
    else
        return NULL;
    return why;
}

static int is_legacy(vtz_run *r)
{
    if (r->legacy < 0)
        r->legacy = itip_target_is_legacy(r->c, itip_main_event(r->c)) ? 1 : 0;
    return r->legacy;
}

/* G3, G4, G5 for one VTIMEZONE. */
static void check_one(vtz_run *r, icalcomponent *vtz, const char *tzid)
{
    icalcompiter it;
    icalcomponent *sub;
    int nstd = 0, ndl = 0, rdates = 0;
    const char *defect = NULL, *rdate_in = NULL;
    char why[WHY_LEN];
    int referenced = r->nrefs > 0 &&
        bsearch(&tzid, r->refs, r->nrefs, sizeof *r->refs, itip_cmp_ci) != NULL;

    for (it = icalcomponent_begin_component(vtz, ICAL_ANY_COMPONENT);
         (sub = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it)) {
        icalcomponent_kind k = icalcomponent_isa(sub);
        const char *name = k == ICAL_XSTANDARD_COMPONENT ? "STANDARD" : "DAYLIGHT";
        sub_facts f;

        if (k != ICAL_XSTANDARD_COMPONENT && k != ICAL_XDAYLIGHT_COMPONENT)
            continue;
        if (k == ICAL_XSTANDARD_COMPONENT)
            nstd++;
        else
            ndl++;
        read_sub(sub, &f);
        if (f.rdates > 0 && rdate_in == NULL)
            rdate_in = name;
        rdates += f.rdates;
        if (defect == NULL && referenced)
            defect = sub_defect(&f, name, r->c->msg->now, why, sizeof why);
    }
    if (referenced && nstd + ndl == 0)
        defect = "it has no STANDARD or DAYLIGHT";
    if (defect != NULL && may_emit(r, N_G3))
        itip_emit(r->c, ITIP_R_VTIMEZONE_NOT_APPROXIMABLE, ITIP_SEV_DEGRADE, vtz, "TZID",
                  "VTIMEZONE \"%.*s\": %s, so Outlook cannot reduce it to one yearly rule "
                  "pair, ignores it and shifts the meeting", SHOW_MAX, tzid, defect);
    if (rdate_in != NULL && may_emit(r, N_G4)) {
        int legacy = is_legacy(r);
        itip_emit(r->c, ITIP_R_VTIMEZONE_RDATE, legacy ? ITIP_SEV_WOULD_FAIL : ITIP_SEV_DEGRADE,
                  vtz, "RDATE",
                  "VTIMEZONE \"%.*s\" has RDATE in %s (%d in all): %s", SHOW_MAX, tzid,
                  rdate_in, rdates, legacy ?
                  "Exchange 2016 before CU12 fails to parse it and delivers \"not supported "
                  "calendar message.ics\"" :
                  "Outlook drops or misreads such transitions (one-hour shifts); Exchange 2016 "
                  "before CU12 rejects the message");
    }
    if (display_name(tzid))
        g8_report(&r->g8, vtz, "TZID", tzid, 0);
    if ((nstd > 1 || ndl > 1) && may_emit(r, N_G5))
        itip_emit(r->c, ITIP_R_VTIMEZONE_MULTIPLE_RULES, ITIP_SEV_INFO, vtz, "TZID",
                  "VTIMEZONE \"%.*s\" has %d STANDARD and %d DAYLIGHT rules: Outlook keeps one "
                  "pair, so times in the other rule eras shift", SHOW_MAX, tzid, nstd, ndl);
}

void itip_check_vtimezone(itip_calctx *c, const char *const *refs, size_t nrefs)
{
    icalcompiter it;
    icalcomponent *vtz;
    vtz_run r;

    if (c->vcal == NULL)
        return;
    memset(&r, 0, sizeof r);
    r.c = c;
    r.refs = refs;
    r.nrefs = nrefs;
    r.legacy = -1;
    r.g8.c = c;
    for (it = icalcomponent_begin_component(c->vcal, ICAL_VTIMEZONE_COMPONENT);
         (vtz = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it)) {
        icalproperty *p = icalcomponent_get_first_property(vtz, ICAL_TZID_PROPERTY);
        const char *id = p ? icalproperty_get_tzid(p) : NULL;
        check_one(&r, vtz, id ? id : "");
    }
    check_g8(&r.g8, refs, nrefs);
}
