/*
 * rules_series.c - calendar objects and series as Exchange-style conversion accepts them
 * (project rules, section L; limits from the MS-OXCICAL import of gromox, lib/mapi/oxcical.cpp,
 * oxcical_main_event and oxcical_import_internal, error codes cited per rule).
 *
 *   attendee-duplicate               one calendar address twice among the ATTENDEEs of one
 *                                    component (case-insensitive, mailto: stripped)
 *   multiple-master-components       two components without RECURRENCE-ID share a UID (E-2737)
 *   override-with-rrule              an override carries RRULE or X-MICROSOFT-RRULE (E-2736)
 *   override-organizer-differs       an override's ORGANIZER is another address than its
 *                                    master's (an override without ORGANIZER is no finding)
 *   exdate-equals-override           a master's EXDATE is the RECURRENCE-ID of an override of
 *                                    the same UID: the import keeps the deletion and skips the
 *                                    override
 *   exdate-before-dtstart            an EXDATE earlier than the master's DTSTART (info)
 *   recurrence-date-count-excessive  a recurring master with 1024 or more deleted instances
 *                                    (EXDATEs plus overrides not already deleted, E-2731), more
 *                                    than 1024 RDATEs, or RDATEs fewer than its EXDATEs (E-2721)
 *   recurrence-interval-excessive    an RRULE / X-MICROSOFT-RRULE line of the part whose INTERVAL
 *                                    passes the MAPI Period limits (daily 999, weekly 99,
 *                                    monthly 99, yearly 8) where H1 does not report it: methods
 *                                    other than REQUEST/PUBLISH/CANCEL, X-MICROSOFT-RRULE, and
 *                                    values libical truncates to 16 bits (INTERVAL=65537 reads
 *                                    as 1).  Read from the raw part text for that reason.
 *
 * These used to be part of B3 (itip-multiple-appointments) for REQUEST/REPLY/CANCEL only; they
 * now apply to every method.  Instants are compared in UTC through the part's own VTIMEZONEs
 * (itip_zone_utc_offset), or as wall-clock values when both sides name the same TZID.  Every
 * loop is bounded: the part's components (max_ical_components), MAX_DATES EXDATEs sorted once.
 */
#include "ac-config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "rules/calendar.h"
#include "rules/calutil.h"

#define MAX_FINDINGS_PER_RULE 5
#define VALUE_SHOWN 80
#define MAX_DATES 4096          /* EXDATE instants kept per master for the override test */
#define MAX_PEOPLE 2000         /* ATTENDEEs compared per component */
#define DELETED_LIMIT 1024      /* gromox: deletedinstancecount >= 1024 fails (E-2731) */
#define RDATE_LIMIT 1024        /* gromox keeps 1024 modified instance dates */

typedef struct {
    itip_calctx *c;
    int count[ITIP_RULE_COUNT];
} sstate;

static int take(sstate *s, itip_rule_id id)
{
    return s->count[id]++ < MAX_FINDINGS_PER_RULE;
}

static int is_object(icalcomponent *k)
{
    icalcomponent_kind kind = icalcomponent_isa(k);

    return kind == ICAL_VEVENT_COMPONENT || kind == ICAL_VTODO_COMPONENT ||
           kind == ICAL_VJOURNAL_COMPONENT;
}

static int is_override(icalcomponent *k)
{
    return icalcomponent_get_first_property(k, ICAL_RECURRENCEID_PROPERTY) != NULL;
}

static const char *uid_of(const itip_uidref *r)
{
    return r->uid != NULL && *r->uid ? r->uid : NULL;
}

/* ---- instants ---- */

/* Seconds since the epoch of T (a property value with TZID parameter TZID or NULL): UTC as
 * is, a TZID through the part's VTIMEZONE, floating and DATE as UTC wall clock.  0 and *OK=0
 * when a TZID names no usable zone. */
static long long instant(itip_calctx *c, struct icaltimetype t, const char *tzid, int *ok)
{
    long long v = itip_time_to_unix(t);
    icaltimezone *z;

    *ok = 1;
    if (t.is_date || tzid == NULL || icaltime_is_utc(t))
        return v;
    z = itip_cheap_zone(c, tzid);
    if (z == NULL) {
        *ok = 0;
        return 0;
    }
    return v - itip_zone_utc_offset(z, &t, NULL);
}

static const char *tzid_of(icalproperty *p)
{
    icalparameter *tz = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);

    return tz ? icalparameter_get_tzid(tz) : NULL;
}

typedef struct {
    struct icaltimetype t;
    const char *tzid;
    long long when;     /* instant(); valid when ok */
    int ok;
} dateval;

static void dateval_of(itip_calctx *c, icalproperty *p, struct icaltimetype t, dateval *d)
{
    d->t = t;
    d->tzid = tzid_of(p);
    d->when = instant(c, t, d->tzid, &d->ok);
}

/* True if A and B name one instant (or, for DATE values, one day). */
static int same_instant(const dateval *a, const dateval *b)
{
    if (a->t.is_date || b->t.is_date)
        return a->t.year == b->t.year && a->t.month == b->t.month && a->t.day == b->t.day;
    if (a->ok && b->ok)
        return a->when == b->when;
    return a->tzid && b->tzid && strcasecmp(a->tzid, b->tzid) == 0 &&
           icaltime_compare(a->t, b->t) == 0;
}

/* ---- attendee-duplicate ---- */

static int by_addr(const void *a, const void *b)
{
    return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sized to the component's ATTENDEEs (at most MAX_PEOPLE), so that a message never holds more
 * memory than its own size calls for. */
static void check_duplicates(sstate *s, icalcomponent *k)
{
    icalproperty *p;
    size_t n = 0, i, want = (size_t)icalcomponent_count_properties(k, ICAL_ATTENDEE_PROPERTY);
    const char **buf;

    if (want < 2)
        return;
    if (want > MAX_PEOPLE)
        want = MAX_PEOPLE;
    if ((buf = malloc(want * sizeof *buf)) == NULL) {
        s->c->out->oom = 1;
        return;
    }
    for (p = icalcomponent_get_first_property(k, ICAL_ATTENDEE_PROPERTY); p != NULL && n < want;
         p = icalcomponent_get_next_property(k, ICAL_ATTENDEE_PROPERTY)) {
        const char *v = icalproperty_get_attendee(p), *a;
        if (v == NULL || *v == '\0')
            continue;
        a = itip_mailto(v);
        buf[n++] = a ? a : v;
    }
    if (n >= 2)
        qsort(buf, n, sizeof *buf, by_addr);
    for (i = 1; i < n; i++)
        if (strcasecmp(buf[i - 1], buf[i]) == 0) {
            if (take(s, ITIP_R_ATTENDEE_DUPLICATE))
                itip_emit(s->c, ITIP_R_ATTENDEE_DUPLICATE, ITIP_SEV_DEGRADE, k, "ATTENDEE",
                          "ATTENDEE %.*s is listed more than once: Exchange-style conversion "
                          "makes two recipients of one person and tracks only one",
                          VALUE_SHOWN, buf[i]);
            break;
        }
    free(buf);
}

/* ---- masters and overrides by UID ---- */

static icalcomponent *master_of(itip_calctx *c, const char *uid, size_t upto)
{
    size_t i;

    for (i = 0; i < upto && i < c->nuids; i++) {
        const char *u = uid_of(&c->uids[i]);
        if (u != NULL && strcmp(u, uid) == 0 && is_object(c->uids[i].comp) &&
            !is_override(c->uids[i].comp))
            return c->uids[i].comp;
    }
    return NULL;
}

static void check_masters(sstate *s)
{
    itip_calctx *c = s->c;
    size_t i;

    for (i = 0; i < c->nuids; i++) {
        icalcomponent *k = c->uids[i].comp, *first;
        const char *uid = uid_of(&c->uids[i]);
        if (uid == NULL || !is_object(k) || is_override(k))
            continue;
        first = master_of(c, uid, i);
        if (first != NULL && first != k && take(s, ITIP_R_MULTIPLE_MASTER_COMPONENTS))
            itip_emit(c, ITIP_R_MULTIPLE_MASTER_COMPONENTS, ITIP_SEV_WOULD_FAIL, k,
                      "RECURRENCE-ID", "two %s components without RECURRENCE-ID share UID "
                      "%.*s: Exchange-style conversion needs one master per meeting and refuses "
                      "the object", icalcomponent_kind_to_string(icalcomponent_isa(k)),
                      VALUE_SHOWN, uid);
    }
}

static const char *organizer_addr(icalcomponent *k)
{
    icalproperty *p = icalcomponent_get_first_property(k, ICAL_ORGANIZER_PROPERTY);
    const char *v = p ? icalproperty_get_organizer(p) : NULL, *a = v ? itip_mailto(v) : NULL;

    return a ? a : v;
}

static void check_override(sstate *s, icalcomponent *k, const char *uid)
{
    itip_calctx *c = s->c;
    icalcomponent *m;
    const char *mo, *ko;

    if (icalcomponent_get_first_property(k, ICAL_RRULE_PROPERTY) != NULL ||
        itip_xprop(k, "X-MICROSOFT-RRULE") != NULL) {
        if (take(s, ITIP_R_OVERRIDE_WITH_RRULE))
            itip_emit(c, ITIP_R_OVERRIDE_WITH_RRULE, ITIP_SEV_WOULD_FAIL, k, "RRULE",
                      "an override (with RECURRENCE-ID) carries its own RRULE: Exchange cannot "
                      "map it to one recurring meeting and refuses the object");
    }
    if (uid == NULL || (m = master_of(c, uid, c->nuids)) == NULL)
        return;
    mo = organizer_addr(m);
    ko = organizer_addr(k);
    if (mo != NULL && ko != NULL && !itip_addr_equal(mo, ko) &&
        take(s, ITIP_R_OVERRIDE_ORGANIZER_DIFFERS))
        itip_emit(c, ITIP_R_OVERRIDE_ORGANIZER_DIFFERS, ITIP_SEV_DEGRADE, k, "ORGANIZER",
                  "the override's ORGANIZER %.*s differs from its master's %.*s: replies for "
                  "this instance go elsewhere and the organizer's tracking splits",
                  VALUE_SHOWN, ko, VALUE_SHOWN, mo);
}

/* ---- EXDATE / RDATE of one recurring master ---- */

static int by_when(const void *a, const void *b)
{
    const dateval *x = a, *y = b;

    return (x->when > y->when) - (x->when < y->when);
}

typedef struct {
    dateval *ex;            /* EXDATE values (the first cap of them) */
    size_t nex_kept, cap;   /* cap: the EXDATEs counted, at most MAX_DATES */
    long nex, nrd, nover_new;
} series_dates;

static void read_dates(sstate *s, icalcomponent *m, series_dates *d, const dateval *start)
{
    icalproperty *p;
    int before = 0;
    dateval first_before;

    memset(&first_before, 0, sizeof first_before);
    for (p = icalcomponent_get_first_property(m, ICAL_EXDATE_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(m, ICAL_EXDATE_PROPERTY)) {
        dateval v;
        d->nex++;
        if (d->nex_kept >= d->cap)
            continue;
        dateval_of(s->c, p, icalproperty_get_exdate(p), &v);
        d->ex[d->nex_kept++] = v;
        if (start != NULL && !before && v.ok && start->ok &&
            ((v.t.is_date || start->t.is_date)
                 ? icaltime_compare_date_only(v.t, start->t) < 0 : v.when < start->when)) {
            before = 1;
            first_before = v;
        }
    }
    for (p = icalcomponent_get_first_property(m, ICAL_RDATE_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(m, ICAL_RDATE_PROPERTY))
        d->nrd++;
    if (before && take(s, ITIP_R_EXDATE_BEFORE_DTSTART)) {
        char buf[32];
        itip_emit(s->c, ITIP_R_EXDATE_BEFORE_DTSTART, ITIP_SEV_INFO, m, "EXDATE",
                  "EXDATE %s lies before the series' DTSTART and excludes nothing (left over "
                  "from an edited series?)", itip_time_str(first_before.t, buf, sizeof buf));
    }
}

/* Overrides of UID: exdate-equals-override, and the count of those not already deleted. */
static void match_overrides(sstate *s, const char *uid, series_dates *d)
{
    itip_calctx *c = s->c;
    size_t i;

    if (d->nex_kept > 1)
        qsort(d->ex, d->nex_kept, sizeof *d->ex, by_when);
    for (i = 0; i < c->nuids; i++) {
        icalcomponent *k = c->uids[i].comp;
        const char *u = uid_of(&c->uids[i]);
        icalproperty *rid;
        dateval r, *hit = NULL;
        size_t j;
        if (u == NULL || strcmp(u, uid) != 0 || !is_object(k) ||
            (rid = icalcomponent_get_first_property(k, ICAL_RECURRENCEID_PROPERTY)) == NULL)
            continue;
        dateval_of(c, rid, icalproperty_get_recurrenceid(rid), &r);
        if (r.ok && !r.t.is_date) {
            dateval *f = d->nex_kept ? bsearch(&r, d->ex, d->nex_kept, sizeof *d->ex, by_when)
                                     : NULL;
            if (f != NULL && f->ok && same_instant(f, &r))
                hit = f;
        }
        for (j = 0; hit == NULL && j < d->nex_kept; j++)   /* DATE or zone-less values */
            if ((!r.ok || r.t.is_date || !d->ex[j].ok || d->ex[j].t.is_date) &&
                same_instant(&d->ex[j], &r))
                hit = &d->ex[j];
        if (hit == NULL) {
            d->nover_new++;
            continue;
        }
        if (take(s, ITIP_R_EXDATE_EQUALS_OVERRIDE)) {
            char buf[32];
            itip_emit(c, ITIP_R_EXDATE_EQUALS_OVERRIDE, ITIP_SEV_DEGRADE, k, "RECURRENCE-ID",
                      "RECURRENCE-ID %s is also an EXDATE of the series: Exchange-style "
                      "conversion keeps the deletion and drops this override",
                      itip_time_str(r.t, buf, sizeof buf));
        }
    }
}

static void check_series_dates(sstate *s, icalcomponent *m, const char *uid)
{
    series_dates d;
    icalproperty *ds = icalcomponent_get_first_property(m, ICAL_DTSTART_PROPERTY);
    dateval start;
    int recurring = icalcomponent_get_first_property(m, ICAL_RRULE_PROPERTY) != NULL ||
                    itip_xprop(m, "X-MICROSOFT-RRULE") != NULL;

    memset(&d, 0, sizeof d);
    if (ds != NULL)
        dateval_of(s->c, ds, icalproperty_get_dtstart(ds), &start);
    d.cap = (size_t)icalcomponent_count_properties(m, ICAL_EXDATE_PROPERTY);
    if (d.cap > MAX_DATES)
        d.cap = MAX_DATES;
    if (d.cap > 0 && (d.ex = calloc(d.cap, sizeof *d.ex)) == NULL) {
        s->c->out->oom = 1;
        return;
    }
    read_dates(s, m, &d, ds != NULL ? &start : NULL);
    if (uid != NULL)
        match_overrides(s, uid, &d);
    free(d.ex);
    if (!recurring)
        return;
    if (d.nex + d.nover_new >= DELETED_LIMIT) {
        if (take(s, ITIP_R_RECURRENCE_DATE_COUNT_EXCESSIVE))
            itip_emit(s->c, ITIP_R_RECURRENCE_DATE_COUNT_EXCESSIVE, ITIP_SEV_WOULD_FAIL, m,
                      "EXDATE", "%ld EXDATEs and %ld further overrides make %ld deleted "
                      "instances: a MAPI recurrence pattern takes fewer than %d and "
                      "Exchange-style conversion refuses the series", d.nex, d.nover_new,
                      d.nex + d.nover_new, DELETED_LIMIT);
    } else if (d.nrd > RDATE_LIMIT) {
        if (take(s, ITIP_R_RECURRENCE_DATE_COUNT_EXCESSIVE))
            itip_emit(s->c, ITIP_R_RECURRENCE_DATE_COUNT_EXCESSIVE, ITIP_SEV_WOULD_FAIL, m,
                      "RDATE", "%ld RDATE values: a MAPI recurrence pattern keeps at most %d "
                      "modified instances", d.nrd, RDATE_LIMIT);
    } else if (d.nrd > 0 && d.nrd < d.nex) {
        if (take(s, ITIP_R_RECURRENCE_DATE_COUNT_EXCESSIVE))
            itip_emit(s->c, ITIP_R_RECURRENCE_DATE_COUNT_EXCESSIVE, ITIP_SEV_WOULD_FAIL, m,
                      "RDATE", "%ld RDATEs but %ld EXDATEs: Exchange-style conversion pairs "
                      "each EXDATE with an RDATE (a moved instance) and refuses the series",
                      d.nrd, d.nex);
    }
}

/* ---- recurrence-interval-excessive, from the raw text ---- */

static long interval_limit(const char *freq, size_t n)
{
    static const struct { const char *f; long max; } lim[] = {
        { "DAILY", 999 }, { "WEEKLY", 99 }, { "MONTHLY", 99 }, { "YEARLY", 8 },
    };
    size_t i;

    for (i = 0; i < sizeof lim / sizeof lim[0]; i++)
        if (strlen(lim[i].f) == n && strncasecmp(lim[i].f, freq, n) == 0)
            return lim[i].max;
    return 0;
}

/* Value of rule part NAME ("FREQ=") in the recurrence value V..E, or NULL; *LEN its length. */
static const char *rule_part(const char *v, const char *e, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    const char *p = v;

    while (p < e) {
        const char *semi = memchr(p, ';', (size_t)(e - p));
        const char *end = semi ? semi : e;
        if ((size_t)(end - p) > nl && strncasecmp(p, name, nl) == 0) {
            *len = (size_t)(end - p - (ptrdiff_t)nl);
            return p + nl;
        }
        p = end + 1;
    }
    return NULL;
}

/* One unfolded content line L..E ("RRULE;X=1:FREQ=..."). */
static void interval_line(sstate *s, const char *l, const char *e, int h1_method)
{
    const char *colon, *f, *iv;
    size_t nname, fl, il, i;
    int is_x;
    long limit;
    unsigned long long v = 0;
    char shown[VALUE_SHOWN + 1];

    for (nname = 0; l + nname < e && l[nname] != ':' && l[nname] != ';'; nname++)
        ;
    is_x = nname == 17 && strncasecmp(l, "X-MICROSOFT-RRULE", 17) == 0;
    if (!is_x && !(nname == 5 && strncasecmp(l, "RRULE", 5) == 0))
        return;
    colon = memchr(l, ':', (size_t)(e - l));
    if (colon == NULL || (f = rule_part(colon + 1, e, "FREQ=", &fl)) == NULL ||
        (iv = rule_part(colon + 1, e, "INTERVAL=", &il)) == NULL || il == 0 || il > 18 ||
        (limit = interval_limit(f, fl)) == 0)
        return;
    for (i = 0; i < il; i++) {
        if (!isdigit((unsigned char)iv[i]))
            return;
        v = v * 10 + (unsigned)(iv[i] - '0');
    }
    if (v <= (unsigned long long)limit)
        return;
    /* H1 reads libical's 16-bit copy of INTERVAL of an RRULE in REQUEST/PUBLISH/CANCEL */
    if (h1_method && !is_x && (short)v >= 1 && (short)v > limit)
        return;
    if (!take(s, ITIP_R_RECURRENCE_INTERVAL_EXCESSIVE))
        return;
    snprintf(shown, sizeof shown, "%.*s", (int)(e - l), l);
    itip_emit(s->c, ITIP_R_RECURRENCE_INTERVAL_EXCESSIVE, ITIP_SEV_WOULD_FAIL, NULL,
              is_x ? "X-MICROSOFT-RRULE" : "RRULE",
              "%s%s: INTERVAL=%llu is above the MAPI limit %ld for FREQ=%.*s%s", shown,
              itip_cut_mark(shown, VALUE_SHOWN), v, limit, (int)fl, f,
              v > 32767 ? " (libical keeps 16 bits of it and reads another value)" : "");
}

static void check_intervals(sstate *s)
{
    const itip_calpart *p = s->c->part;
    const char *t = p->data, *end, *l;
    char line[1024];
    int h1_method = itip_method_kind_is(s->c, ICAL_METHOD_REQUEST) ||
                    itip_method_kind_is(s->c, ICAL_METHOD_PUBLISH) ||
                    itip_method_kind_is(s->c, ICAL_METHOD_CANCEL);

    if (t == NULL)
        return;
    end = t + p->len;
    for (l = t; l < end;) {
        const char *nl = memchr(l, '\n', (size_t)(end - l)), *le = nl ? nl : end;
        size_t n = 0;
        int candidate = (end - l >= 5 && strncasecmp(l, "RRULE", 5) == 0) ||
                        (end - l >= 17 && strncasecmp(l, "X-MICROSOFT-RRULE", 17) == 0);
        /* unfold: continuation lines start with a blank */
        for (;;) {
            const char *ce = le > l && le[-1] == '\r' ? le - 1 : le;
            if (candidate && n + (size_t)(ce - l) < sizeof line) {
                memcpy(line + n, l, (size_t)(ce - l));
                n += (size_t)(ce - l);
            }
            l = nl ? nl + 1 : end;
            if (l >= end || (*l != ' ' && *l != '\t'))
                break;
            l++;
            nl = memchr(l, '\n', (size_t)(end - l));
            le = nl ? nl : end;
        }
        if (candidate)
            interval_line(s, line, line + n, h1_method);
    }
}

void itip_check_series(itip_calctx *c)
{
    sstate s;
    size_t i;

    if (c->vcal == NULL)
        return;
    memset(&s, 0, sizeof s);
    s.c = c;
    for (i = 0; i < c->nuids; i++) {
        icalcomponent *k = c->uids[i].comp;
        if (!is_object(k))
            continue;
        check_duplicates(&s, k);
        if (is_override(k))
            check_override(&s, k, uid_of(&c->uids[i]));
        else if (icalcomponent_isa(k) == ICAL_VEVENT_COMPONENT &&
                 (uid_of(&c->uids[i]) == NULL || master_of(c, uid_of(&c->uids[i]), i) == NULL))
            check_series_dates(&s, k, uid_of(&c->uids[i]));   /* the first master of a UID */
    }
    check_masters(&s);
    check_intervals(&s);
}
