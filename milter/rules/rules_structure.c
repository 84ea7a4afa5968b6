/*
 * rules_structure.c - structure checks of one calendar part (catalogue section B).
 *
 * Rules: B3 itip-multiple-appointments, B4 itip-restriction-violation, B5 vevent-missing-uid,
 * B6 method-unsupported-by-exchange, B7 status-method-inconsistent.  (B1 ical-parse-errors and
 * B2 multiple-vcalendar run in calendar.c.)
 *
 * Only c->vcal, the first VCALENDAR, is analysed.  These checks must never modify the parsed
 * tree (B4 evaluates libical's restriction table in restrict.c, which adds nothing to the
 * tree, where icalrestriction_check would add X-LIC-ERRORs), never keep libical objects
 * beyond the call, and never nest two loops over the internal property iterator of one
 * component (itip_xprop and friends use it too): components are walked with external
 * icalcompiter iterators, properties are counted before anything else looks at them.
 */
#include "ac-config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "rules/calendar.h"
#include "rules/calutil.h"
#include "rules/restrict.h"

/* Findings of one rule per calendar part past which the rest are not reported. */
#define MAX_FINDINGS_PER_RULE 5
/* Characters of an offending value quoted in a detail line. */
#define VALUE_SHOWN 60

/* REQUEST, REPLY, CANCEL, COUNTER: the methods that carry one meeting object. */
static int method_is_itip_object(const itip_calctx *c)
{
    return itip_method_kind_is(c, ICAL_METHOD_REQUEST) || itip_method_kind_is(c, ICAL_METHOD_REPLY)
        || itip_method_kind_is(c, ICAL_METHOD_CANCEL)
        || itip_method_kind_is(c, ICAL_METHOD_COUNTER);
}

/* ---- B3 itip-multiple-appointments ---- */

typedef struct {
    int nevents;
    int nmasters;              /* VEVENTs without RECURRENCE-ID */
    int nrecurring;            /* VEVENTs with RRULE or X-MICROSOFT-RRULE */
    const char *first_uid;     /* first UID seen */
    icalcomponent *other_uid;  /* first VEVENT whose UID differs from first_uid */
    icalcomponent *second_master;
    icalcomponent *exception_with_rrule;
} appt_shape;

static int event_has_rrule(icalcomponent *ev)
{
    return icalcomponent_get_first_property(ev, ICAL_RRULE_PROPERTY) != NULL
        || itip_xprop(ev, "X-MICROSOFT-RRULE") != NULL;
}

static void appt_shape_add(appt_shape *s, icalcomponent *ev)
{
    icalproperty *uidp = icalcomponent_get_first_property(ev, ICAL_UID_PROPERTY);
    const char *uid = uidp ? icalproperty_get_uid(uidp) : NULL;
    int is_exception = icalcomponent_get_first_property(ev, ICAL_RECURRENCEID_PROPERTY) != NULL;
    int recurring = event_has_rrule(ev);

    s->nevents++;
    if (recurring)
        s->nrecurring++;
    if (uid && *uid) {
        if (!s->first_uid)
            s->first_uid = uid;
        else if (strcmp(s->first_uid, uid) != 0 && !s->other_uid)
            s->other_uid = ev;
    }
    if (is_exception) {
        if (recurring && !s->exception_with_rrule)
            s->exception_with_rrule = ev;
    } else {
        s->nmasters++;
        if (s->nmasters == 2)
            s->second_master = ev;
    }
}

/* True if VCAL holds a VTODO, VJOURNAL or VFREEBUSY (an iTIP object that is no appointment:
 * other rules' business, not "no appointment"). */
static int has_other_objects(icalcomponent *vcal)
{
    return icalcomponent_count_components(vcal, ICAL_VTODO_COMPONENT) > 0
        || icalcomponent_count_components(vcal, ICAL_VJOURNAL_COMPONENT) > 0
        || icalcomponent_count_components(vcal, ICAL_VFREEBUSY_COMPONENT) > 0;
}

static void check_multiple_appointments(itip_calctx *c)
{
    appt_shape s;
    icalcompiter it;
    icalcomponent *ev;

    if (!(itip_method_kind_is(c, ICAL_METHOD_REQUEST) || itip_method_kind_is(c, ICAL_METHOD_REPLY)
          || itip_method_kind_is(c, ICAL_METHOD_CANCEL)))
        return;
    memset(&s, 0, sizeof s);
    for (it = icalcomponent_begin_component(c->vcal, ICAL_VEVENT_COMPONENT);
         (ev = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it))
        appt_shape_add(&s, ev);

    if (s.other_uid) {
        const char *uid2 = icalcomponent_get_uid(s.other_uid);
        itip_emit(c, ITIP_R_ITIP_MULTIPLE_APPOINTMENTS, ITIP_SEV_WOULD_FAIL, s.other_uid, "UID",
                  "%s carries VEVENTs with different UIDs (%.*s, %.*s): Exchange needs exactly "
                  "one appointment per iTIP message", c->method, VALUE_SHOWN, s.first_uid,
                  VALUE_SHOWN, itip_nz(uid2));
    }
    /* two masters of one UID and an override with RRULE: multiple-master-components and
     * override-with-rrule (rules_series.c), for every method */
    if (s.nevents == 0 && !has_other_objects(c->vcal))
        itip_emit(c, ITIP_R_ITIP_MULTIPLE_APPOINTMENTS, ITIP_SEV_WOULD_FAIL, c->vcal, NULL,
                  "%s carries no VEVENT: there is no appointment for Exchange to convert",
                  c->method);
    if (!s.other_uid && !s.second_master && !s.exception_with_rrule
        && s.nevents >= 2 && s.nrecurring == 0 && s.nmasters <= 1)
        itip_emit(c, ITIP_R_ITIP_MULTIPLE_APPOINTMENTS, ITIP_SEV_DEGRADE, NULL, "RECURRENCE-ID",
                  "%s carries %d VEVENTs but no recurring master (no RRULE): the exceptions "
                  "become orphan instances in Exchange", c->method, s.nevents);
}

/* ---- B5 vevent-missing-uid ---- */

static void check_event_uid(itip_calctx *c, icalcomponent *ev, int *nfound)
{
    int n = 0;
    const char *first = NULL;
    icalproperty *p;

    for (p = icalcomponent_get_first_property(ev, ICAL_UID_PROPERTY); p;
         p = icalcomponent_get_next_property(ev, ICAL_UID_PROPERTY)) {
        if (n++ == 0)
            first = icalproperty_get_uid(p);
    }
    if (n == 1 && first && *first)
        return;
    if (++*nfound > MAX_FINDINGS_PER_RULE)
        return;
    if (n == 0)
        itip_emit(c, ITIP_R_VEVENT_MISSING_UID, ITIP_SEV_WOULD_FAIL, ev, "UID",
                  "VEVENT has no UID: Exchange cannot derive a GlobalObjectId, so updates, "
                  "replies and cancels cannot be correlated");
    else if (n > 1)
        itip_emit(c, ITIP_R_VEVENT_MISSING_UID, ITIP_SEV_WOULD_FAIL, ev, "UID",
                  "VEVENT has %d UID properties: Outlook keeps only the first, correlation "
                  "with the calendar item is unreliable", n);
    else
        itip_emit(c, ITIP_R_VEVENT_MISSING_UID, ITIP_SEV_WOULD_FAIL, ev, "UID",
                  "VEVENT has an empty UID: Exchange cannot derive a GlobalObjectId, so "
                  "updates, replies and cancels cannot be correlated");
}

static void check_missing_uid(itip_calctx *c)
{
    icalcompiter it;
    icalcomponent *ev;
    int nfound = 0;

    if (!method_is_itip_object(c))
        return;
    for (it = icalcomponent_begin_component(c->vcal, ICAL_VEVENT_COMPONENT);
         (ev = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it))
        check_event_uid(c, ev, &nfound);
}

/* ---- B6 method-unsupported-by-exchange ---- */

static int method_unsupported(const itip_calctx *c)
{
    return itip_method_kind_is(c, ICAL_METHOD_ADD) || itip_method_kind_is(c, ICAL_METHOD_REFRESH)
        || itip_method_kind_is(c, ICAL_METHOD_DECLINECOUNTER);
}

static void check_method_unsupported(itip_calctx *c)
{
    /* COUNTER towards a legacy (Exchange/Outlook 2003) organizer is reported by the more
     * specific C16 counter-to-legacy (rules_reply.c), not here. */
    if (method_unsupported(c))
        itip_emit(c, ITIP_R_METHOD_UNSUPPORTED_BY_EXCHANGE, ITIP_SEV_DEGRADE, c->vcal, "METHOD",
                  "METHOD:%s is not processed by Exchange (only PUBLISH, REQUEST, REPLY, "
                  "COUNTER and CANCEL are mapped)", c->method);
}

/* ---- B7 status-method-inconsistent ---- */

/* The STATUS text of COMP, or NULL when it has none. */
static const char *event_status(icalcomponent *comp)
{
    icalproperty *p = icalcomponent_get_first_property(comp, ICAL_STATUS_PROPERTY);
    return p ? icalproperty_get_value_as_string(p) : NULL;
}

/* True if STATUS of COMP contradicts the method (the B7 condition). */
static int status_inconsistent(const itip_calctx *c, icalcomponent *comp)
{
    const char *st = event_status(comp);

    if (!st)
        return 0;
    if (itip_method_kind_is(c, ICAL_METHOD_REQUEST))
        return strcasecmp(st, "CANCELLED") == 0;
    if (itip_method_kind_is(c, ICAL_METHOD_CANCEL))
        return strcasecmp(st, "CANCELLED") != 0;
    return 0;
}

static void check_status_method(itip_calctx *c)
{
    icalcompiter it;
    icalcomponent *ev;
    int nfound = 0;

    if (!(itip_method_kind_is(c, ICAL_METHOD_REQUEST)
          || itip_method_kind_is(c, ICAL_METHOD_CANCEL)))
        return;
    for (it = icalcomponent_begin_component(c->vcal, ICAL_VEVENT_COMPONENT);
         (ev = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it)) {
        if (!status_inconsistent(c, ev) || ++nfound > MAX_FINDINGS_PER_RULE)
            continue;
        if (itip_method_kind_is(c, ICAL_METHOD_REQUEST))
            itip_emit(c, ITIP_R_STATUS_METHOD_INCONSISTENT, ITIP_SEV_DEGRADE, ev, "STATUS",
                      "METHOD:REQUEST with STATUS:CANCELLED%s: clients treat it as an update, "
                      "the meeting and its reminders stay (use METHOD:CANCEL)",
                      icalcomponent_get_first_property(ev, ICAL_RECURRENCEID_PROPERTY)
                          ? " on an exception" : "");
        else
            itip_emit(c, ITIP_R_STATUS_METHOD_INCONSISTENT, ITIP_SEV_DEGRADE, ev, "STATUS",
                      "METHOD:CANCEL with STATUS:%.*s: a cancellation should carry "
                      "STATUS:CANCELLED", VALUE_SHOWN, itip_nz(event_status(ev)));
    }
}

/* ---- B4 itip-restriction-violation ---- */

static int is_itip_error(icalproperty *p)
{
    icalparameter *t = icalproperty_get_first_parameter(p, ICAL_XLICERRORTYPE_PARAMETER);
    return t && icalparameter_get_xlicerrortype(t) == ICAL_XLICERRORTYPE_INVALIDITIP;
}

/* The property a libical complaint names ("Failed iTIP restrictions for SUMMARY property.
 * ..."), copied into buf; "" when the text has another shape.  Property names are short:
 * longer tokens are cut on purpose. */
static const char *restriction_property(const char *msg, char *buf, size_t len)
{
    static const char prefix[] = "Failed iTIP restrictions for ";
    const char *s;
    size_t n;

    buf[0] = '\0';
    if (strncmp(msg, prefix, sizeof prefix - 1) != 0)
        return buf;
    s = msg + sizeof prefix - 1;
    n = strcspn(s, " .");
    if (strncmp(s + n, " property", 9) != 0)
        return buf;
    if (n >= len)
        n = len - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

/* True if a parse error (B1, reported in calendar.c) of COMP names property PROP: libical
 * then dropped the property, and the cardinality complaint is only its consequence.  The
 * parse-error texts say "... in DTSTAMP property. ..." or "... for property DTSTAMP: ...". */
static int parse_error_names(icalcomponent *comp, const char *prop)
{
    char a[96], b[96];
    icalproperty *p;

    if (!prop[0] || snprintf(a, sizeof a, " %s property", prop) >= (int)sizeof a
        || snprintf(b, sizeof b, "property %s:", prop) >= (int)sizeof b)
        return 0;
    for (p = icalcomponent_get_first_property(comp, ICAL_XLICERROR_PROPERTY); p;
         p = icalcomponent_get_next_property(comp, ICAL_XLICERROR_PROPERTY)) {
        const char *t = icalproperty_get_xlicerror(p);
        if (t && !is_itip_error(p) && (strstr(t, a) || strstr(t, b)))
            return 1;
    }
    return 0;
}

/* What B4 does with one complaint: ITIP_SEV_NONE when a finer rule reports the same defect,
 * else the severity to emit. */
static itip_severity restriction_severity(const itip_calctx *c, icalcomponent *comp,
                                          const char *prop)
{
    int reply = itip_method_kind_is(c, ICAL_METHOD_REPLY)
        || itip_method_kind_is(c, ICAL_METHOD_COUNTER);
    int req_cancel = itip_method_kind_is(c, ICAL_METHOD_REQUEST)
        || itip_method_kind_is(c, ICAL_METHOD_CANCEL);

    if (parse_error_names(comp, prop))
        return ITIP_SEV_NONE;                    /* B1 ical-parse-errors */
    if (icalcomponent_isa(comp) != ICAL_VEVENT_COMPONENT)
        return ITIP_SEV_DEGRADE;
    if (reply && (!strcmp(prop, "ATTENDEE") || !strcmp(prop, "DTSTAMP")))
        return ITIP_SEV_NONE;                    /* C6 reply-attendee-count, C3 */
    if (itip_method_kind_is(c, ICAL_METHOD_CANCEL) && !strcmp(prop, "SEQUENCE"))
        return ITIP_SEV_NONE;                    /* E4 cancel-sequence-missing */
    if (method_is_itip_object(c) && !strcmp(prop, "UID"))
        return ITIP_SEV_NONE;                    /* B5 vevent-missing-uid */
    if (req_cancel && !strcmp(prop, "ORGANIZER"))
        return ITIP_SEV_NONE;                    /* I1 request-organizer-missing */
    if (req_cancel && !strcmp(prop, "STATUS") && status_inconsistent(c, comp))
        return ITIP_SEV_NONE;                    /* B7 status-method-inconsistent */
    if (itip_method_kind_is(c, ICAL_METHOD_PUBLISH) && !strcmp(prop, "ATTENDEE"))
        return ITIP_SEV_NONE;  /* MS-OXCICAL imports PUBLISH attendees as recipient rows */
    if (itip_method_kind_is(c, ICAL_METHOD_PUBLISH) && !strcmp(prop, "ORGANIZER"))
        return ITIP_SEV_INFO;  /* without ORGANIZER it is imported as a plain appointment */
    if (reply && !strcmp(prop, "ORGANIZER"))
        return ITIP_SEV_INFO;  /* Exchange ignores ORGANIZER on REPLY/COUNTER import (J1) */
    if (itip_method_kind_is(c, ICAL_METHOD_COUNTER) && !strcmp(prop, "SEQUENCE"))
        return ITIP_SEV_INFO;  /* RFC 5546: MAY be absent when 0, as for CANCEL (E4) */
    return ITIP_SEV_DEGRADE;
}

static void check_restrictions(itip_calctx *c)
{
    itip_restrict_list l;
    int i, nfound = 0;
    char prop[64];

    /* Exchange ignores an ADD/REFRESH/DECLINECOUNTER altogether (B6): its cardinalities do
     * not matter then. */
    if (method_unsupported(c))
        return;
    /* libical's icalrestriction_check, without its table scan and clone (restrict.c) */
    if (itip_restrict_check(c->vcal, &l))
        return;
    for (i = 0; i < l.n && nfound < MAX_FINDINGS_PER_RULE; i++) {
        const char *msg = l.v[i].msg;
        const char *tail = msg;
        itip_severity sev;

        restriction_property(msg, prop, sizeof prop);
        sev = restriction_severity(c, l.v[i].comp, prop);
        if (sev == ITIP_SEV_NONE)
            continue;
        if (!strncmp(tail, "Failed iTIP restrictions for ", 29))
            tail += 29;
        nfound++;
        itip_emit(c, ITIP_R_ITIP_RESTRICTION_VIOLATION, sev, l.v[i].comp, prop[0] ? prop : NULL,
                  "RFC 5546 %s restriction failed (libical): %.160s", c->method ? c->method
                  : "(no METHOD)", tail);
    }
}

void itip_check_structure(itip_calctx *c)
{
    if (!c || !c->vcal)
        return;
    check_multiple_appointments(c);
    check_restrictions(c);
    check_missing_uid(c);
    check_method_unsupported(c);
    check_status_method(c);
}
