/*
 * calendar.c - one calendar part through libical: parse, structural checks that need the raw
 * parse result (B1 ical-parse-errors, B2 multiple-vcalendar), bounds, then every rule group.
 *
 * Exports itip_calendar_analyse().  Owns the parsed tree for the duration of the call and frees
 * it on every path; never shares libical objects between threads or keeps them afterwards.
 */
#include "ac-config.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "rules/calendar.h"
#include "rules/calutil.h"

#define MAX_UIDREFS 256   /* UIDs remembered for finding emission; further components get none */

typedef void (*rule_group)(itip_calctx *);

static const rule_group groups[] = {
    itip_check_imip, itip_check_structure, itip_check_reply, itip_check_time,
    itip_check_sequence, itip_check_uid, itip_check_tz, itip_check_request, itip_check_recur,
    itip_check_exchange, itip_check_stateful, itip_check_envelope, itip_check_series,
};

/* Counts components below (and including) C, stopping once LIMIT is passed. */
static size_t count_components(icalcomponent *c, size_t limit)
{
    icalcompiter it;
    icalcomponent *k;
    size_t n = 1;

    for (it = icalcomponent_begin_component(c, ICAL_ANY_COMPONENT);
         (k = icalcompiter_deref(&it)) != NULL && n <= limit; icalcompiter_next(&it))
        n += count_components(k, limit - n);
    return n;
}

/* libical reports an empty value ("LOCATION:") as an error and drops the property.  An empty
 * TEXT value is valid iCalendar and Exchange emits such lines itself, so these do not count. */
static int harmless_error(icalproperty *p)
{
    static const char empty_value[] = "No value for ";
    const char *msg = icalproperty_get_xlicerror(p);

    return msg != NULL && strncmp(msg, empty_value, sizeof empty_value - 1) == 0;
}

/* Depth-first search for the first X-LIC-ERROR that counts; also counts them all. */
static icalproperty *first_error(icalcomponent *c, int *count)
{
    icalproperty *p, *first = NULL;
    icalcompiter it;
    icalcomponent *k;

    for (p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(c, ICAL_XLICERROR_PROPERTY)) {
        if (harmless_error(p))
            continue;
        if (first == NULL)
            first = p;
        (*count)++;
    }
    for (it = icalcomponent_begin_component(c, ICAL_ANY_COMPONENT);
         (k = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it)) {
        icalproperty *q = first_error(k, count);
        if (first == NULL)
            first = q;
    }
    return first;
}

static void check_parse_errors(itip_calctx *c)
{
    int n = 0;
    icalproperty *p = first_error(c->root, &n);
    const char *msg;

    if (p == NULL)
        return;
    msg = icalproperty_get_xlicerror(p);
    itip_emit(c, ITIP_R_ICAL_PARSE_ERRORS, ITIP_SEV_WOULD_FAIL, NULL, NULL,
              "%d parse error%s, first: %s; Exchange turns the meeting into a plain message "
              "and tracking is never updated", n, n == 1 ? "" : "s", msg ? msg : "(no text)");
}

/* Picks the first VCALENDAR; B2 when the part holds several. */
static void find_vcalendar(itip_calctx *c)
{
    icalcompiter it;
    icalcomponent *k;
    int n = 0;

    if (icalcomponent_isa(c->root) == ICAL_VCALENDAR_COMPONENT) {
        c->vcal = c->root;
        return;
    }
    for (it = icalcomponent_begin_component(c->root, ICAL_VCALENDAR_COMPONENT);
         (k = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it))
        if (n++ == 0)
            c->vcal = k;
    if (n > 1)
        itip_emit(c, ITIP_R_MULTIPLE_VCALENDAR, ITIP_SEV_WOULD_FAIL, NULL, NULL,
                  "%d VCALENDAR objects in one calendar part: no Exchange version converts "
                  "more than one", n);
}

static void read_method(itip_calctx *c, char *buf, size_t len)
{
    icalproperty *p = icalcomponent_get_first_property(c->vcal, ICAL_METHOD_PROPERTY);
    const char *v;
    size_t i;

    c->method = NULL;
    c->method_kind = ICAL_METHOD_NONE;
    if (p == NULL)
        return;
    c->method_kind = icalproperty_get_method(p);
    v = icalproperty_get_value_as_string(p);
    if (v == NULL)
        return;
    for (i = 0; v[i] != '\0' && i + 1 < len; i++)
        buf[i] = (char)toupper((unsigned char)v[i]);
    buf[i] = '\0';
    c->method = buf;
}

static size_t collect_uids(icalcomponent *vcal, itip_uidref *refs, size_t max)
{
    icalcompiter it;
    icalcomponent *k;
    size_t n = 0;

    for (it = icalcomponent_begin_component(vcal, ICAL_ANY_COMPONENT);
         (k = icalcompiter_deref(&it)) != NULL && n < max; icalcompiter_next(&it)) {
        icalproperty *p;
        if (icalcomponent_isa(k) == ICAL_VTIMEZONE_COMPONENT)
            continue;
        p = icalcomponent_get_first_property(k, ICAL_UID_PROPERTY);
        refs[n].comp = k;
        refs[n].uid = p ? icalproperty_get_uid(p) : NULL;
        n++;
    }
    return n;
}

/* Records METHOD and the main UID in *sum unless already there; -1 when out of memory. */
static int summarise(itip_calctx *c, itip_partsummary *sum)
{
    icalcomponent *ev;
    icalproperty *p;

    if (sum == NULL)
        return 0;
    if (sum->method == NULL && c->method != NULL && (sum->method = strdup(c->method)) == NULL)
        return -1;
    if (sum->uid != NULL)
        return 0;
    ev = itip_main_event(c);
    if (ev == NULL)
        ev = icalcomponent_get_first_real_component(c->vcal);
    p = ev ? icalcomponent_get_first_property(ev, ICAL_UID_PROPERTY) : NULL;
    if (p != NULL && icalproperty_get_uid(p) != NULL &&
        (sum->uid = strdup(icalproperty_get_uid(p))) == NULL)
        return -1;
    return 0;
}

int itip_calendar_analyse(const itip_msgctx *msg, const itip_calpart *part, int index,
                          itip_findings *out, itip_partsummary *sum)
{
    int rc;

    itip_calctx c;
    char method[64];
    itip_uidref *refs;
    size_t ncomp, i;
    const size_t limit = msg->cfg->limits.max_ical_components;

    memset(&c, 0, sizeof c);
    c.msg = msg;
    c.part = part;
    c.part_index = index;
    c.out = out;
    if (part->truncated)
        return 0;   /* the walker reported the limit; half a calendar proves nothing */

    c.root = icalparser_parse_string(part->data ? part->data : "");
    if (c.root == NULL) {
        itip_emit(&c, ITIP_R_ICAL_PARSE_ERRORS, ITIP_SEV_WOULD_FAIL, NULL, NULL,
                  "no iCalendar object could be parsed from the calendar part (%zu bytes)",
                  part->len);
        return 0;
    }
    ncomp = count_components(c.root, limit);
    if (ncomp > limit) {
        itip_emit(&c, ITIP_R_MIME_LIMIT_EXCEEDED, ITIP_SEV_WOULD_FAIL, NULL, NULL,
                  "max_ical_components (%zu) exceeded: the calendar part was not analysed",
                  limit);
        icalcomponent_free(c.root);
        return 0;
    }
    check_parse_errors(&c);
    find_vcalendar(&c);
    if (c.vcal == NULL) {
        itip_emit(&c, ITIP_R_ICAL_PARSE_ERRORS, ITIP_SEV_WOULD_FAIL, NULL, NULL,
                  "the calendar part holds no VCALENDAR (top component %s)",
                  icalcomponent_kind_to_string(icalcomponent_isa(c.root)));
        icalcomponent_free(c.root);
        return 0;
    }
    read_method(&c, method, sizeof method);
    refs = calloc(MAX_UIDREFS, sizeof *refs);
    if (refs == NULL) {
        icalcomponent_free(c.root);
        return -1;
    }
    c.uids = refs;
    c.nuids = collect_uids(c.vcal, refs, MAX_UIDREFS);
    rc = summarise(&c, sum);
    for (i = 0; i < sizeof groups / sizeof groups[0]; i++)
        groups[i](&c);
    free(refs);
    icalcomponent_free(c.root);
    return (rc < 0 || out->oom) ? -1 : 0;
}
