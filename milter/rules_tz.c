/*
 * rules_tz.c - time zone reference rules (catalogue section G), all methods.
 *
 *   G1 tzid-undeclared            a TZID= parameter on DTSTART, DTEND, DUE, RECURRENCE-ID,
 *                                 EXDATE or RDATE of a top-level VEVENT/VTODO names no
 *                                 VTIMEZONE of the same VCALENDAR; TZIDs compare
 *                                 case-insensitively as in MS-OXCICAL, so a case-only
 *                                 difference is no finding.  Each undeclared TZID is reported
 *                                 once per part.
 *   G2 vtimezone-duplicate-tzid   two VTIMEZONEs define the same TZID (case-insensitive)
 *
 * The TZIDs compared are the texts of the parameters and of the VTIMEZONE TZID properties as
 * parsed; libical's own zone lookup (exact match, builtin zones) is never used.  A VTIMEZONE
 * whose TZID libical dropped (empty value) counts as declaring the empty TZID.
 * Must never: descend into VTIMEZONE for references, move the component iterator of the
 * VCALENDAR (external iterators only), or emit more than MAX_PER_RULE findings per rule.
 */
#include "ac-config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "calendar.h"

#define MAX_PER_RULE 5          /* findings of one rule in one calendar part */
#define SHOW_MAX 60             /* characters of a TZID shown in a detail */

typedef struct {
    const char **v;             /* sorted case-insensitively after collect_declared() */
    size_t n;
} tzlist;

static int cmp_ci(const void *a, const void *b)
{
    return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

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
    qsort(tz->v, tz->n, sizeof *tz->v, cmp_ci);
    return 0;
}

static int declared(const tzlist *tz, const char *id)
{
    return tz->n > 0 && bsearch(&id, tz->v, tz->n, sizeof *tz->v, cmp_ci) != NULL;
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
} g1ctx;

static int is_tz_reference(icalproperty_kind k)
{
    return k == ICAL_DTSTART_PROPERTY || k == ICAL_DTEND_PROPERTY || k == ICAL_DUE_PROPERTY ||
           k == ICAL_RECURRENCEID_PROPERTY || k == ICAL_EXDATE_PROPERTY ||
           k == ICAL_RDATE_PROPERTY;
}

static void check_reference(g1ctx *g, icalcomponent *comp, icalproperty *p, const char *id)
{
    int i;

    if (declared(g->tz, id))
        return;
    for (i = 0; i < g->n; i++)
        if (strcasecmp(g->reported[i], id) == 0)
            return;
    if (g->n >= MAX_PER_RULE)
        return;
    g->reported[g->n++] = id;
    itip_emit(g->c, ITIP_R_TZID_UNDECLARED, ITIP_SEV_DEGRADE, comp,
              icalproperty_get_property_name(p),
              "TZID \"%.*s%s\" on %s has no VTIMEZONE in the calendar: Outlook guesses the "
              "zone (times often an hour off) and some converters refuse the import",
              SHOW_MAX, id, strlen(id) > SHOW_MAX ? "..." : "",
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
        }
    }
}

void itip_check_tz(itip_calctx *c)
{
    icalcompiter it;
    icalcomponent *k;
    tzlist tz;
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
    free(tz.v);
}
