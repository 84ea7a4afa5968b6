/*
 * rules_request.c - organizer-to-attendee rules (catalogue section I).
 *
 *   I1 request-organizer-missing  REQUEST/CANCEL: a VEVENT without ORGANIZER, or with one that
 *                                 is not a mailto: holding a plausible address
 *   I2 request-attendee-not-mailto REQUEST: an ATTENDEE that is not mailto: (invalid:nomail is
 *                                 allowed: MS-OXCICAL maps it to a non-sendable recipient);
 *                                 one finding per distinct bad attendee, capped
 *   I3 request-owner-critical-change-disagree  REQUEST/CANCEL: X-MICROSOFT-CDO-OWNER-CRITICAL-
 *                                 CHANGE and DTSTAMP (both in the safe window) differ by more
 *                                 than clock_skew_tolerance (info)
 *   I4 outbound-tracking-sentinel-leak  REQUEST/CANCEL/PUBLISH: ATTENDEE;X-MS-OLK-RESPTIME= on
 *                                 1601-01-01, in 1602 or >= 4501-01-01, or an
 *                                 X-MICROSOFT-CDO-*-CRITICAL-CHANGE / X-MICROSOFT-CDO-REPLYTIME
 *                                 equal to 1601-01-01T00:00:00 or >= 4501-01-01: the organizer's
 *                                 item is already poisoned (KB 938650).  The D rules leave
 *                                 exactly these values to I4 in these methods.
 *
 * Must never: call the itip_xprop helpers on a component whose properties are being iterated
 * here, assume a property has a value, or emit more than MAX_PER_RULE findings of one rule in
 * one part.
 */
#include "ac-config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "rules/calendar.h"
#include "rules/calutil.h"

#define MAX_PER_RULE 5          /* findings of one rule in one calendar part */
#define SHOW_MAX 60             /* characters of an offending value shown in a detail */
#define FILETIME_YEAR 1601      /* FILETIME 0 is 1601-01-01T00:00:00Z */
#define CLEARED_YEAR 1602       /* MS-OXOCAL "Clearing Previous Responses": an invalid date
                                   such as 1602-10-23 marks a reset track-status time */

static const char OWNER_CC[] = "X-MICROSOFT-CDO-OWNER-CRITICAL-CHANGE";
static const char CDO_PREFIX[] = "X-MICROSOFT-CDO-";
static const char CC_SUFFIX[] = "-CRITICAL-CHANGE";
static const char REPLYTIME[] = "X-MICROSOFT-CDO-REPLYTIME";
static const char RESPTIME[] = "X-MS-OLK-RESPTIME";

typedef struct {
    itip_calctx *c;
    int n1, n2, n3, n4;                 /* findings emitted per rule */
    const char *bad_org[MAX_PER_RULE];  /* I1 values already reported */
    const char *bad_att[MAX_PER_RULE];  /* I2 values already reported */
    int nmissing, nevents;              /* I1: VEVENTs without ORGANIZER, VEVENTs seen */
    icalcomponent *first_missing;
    const char *last_i3_x;              /* I3: last reported pair, to skip exception copies */
    struct icaltimetype last_i3_stamp;
} reqctx;

/* Why the ORGANIZER or ATTENDEE value V is no address a reply can go to, or NULL when it is a
 * mailto: with a valid address (I1, I2). */
static const char *addr_problem(const char *v)
{
    const char *addr = itip_mailto(v);

    if (addr != NULL && itip_addr_valid(addr))
        return NULL;
    return addr == NULL ? "not a mailto: URI" : "a mailto: without a valid address";
}

/* ---- I1 ---- */

static void check_i1(reqctx *r, icalcomponent *ev)
{
    icalproperty *org = icalcomponent_get_first_property(ev, ICAL_ORGANIZER_PROPERTY);
    const char *v, *why;

    r->nevents++;
    if (org == NULL) {
        if (r->nmissing++ == 0)
            r->first_missing = ev;
        return;
    }
    v = icalproperty_get_organizer(org);
    if (v == NULL)
        v = "";
    why = addr_problem(v);
    if (why == NULL || !itip_note_once(r->bad_org, &r->n1, MAX_PER_RULE, v))
        return;
    itip_emit(r->c, ITIP_R_REQUEST_ORGANIZER_MISSING, ITIP_SEV_DEGRADE, ev, "ORGANIZER",
              "ORGANIZER \"%.*s%s\" is %s: Exchange fills the sender of the meeting from it, "
              "so attendees cannot reply", SHOW_MAX, v, itip_cut_mark(v, SHOW_MAX), why);
}

static void finish_i1(reqctx *r)
{
    if (r->nmissing == 0 || r->n1 >= MAX_PER_RULE)
        return;
    r->n1++;
    itip_emit(r->c, ITIP_R_REQUEST_ORGANIZER_MISSING, ITIP_SEV_DEGRADE, r->first_missing,
              "ORGANIZER", "%s without ORGANIZER (%d of %d VEVENTs): Exchange fills the sender "
              "of the meeting from it, so attendees cannot reply", r->c->method, r->nmissing,
              r->nevents);
}

/* ---- I2 ---- */

static void check_i2_attendee(reqctx *r, icalcomponent *ev, icalproperty *att)
{
    const char *v = icalproperty_get_attendee(att), *why;

    if (v == NULL)
        v = "";
    if (strcasecmp(v, "invalid:nomail") == 0)
        return;
    why = addr_problem(v);
    if (why == NULL || !itip_note_once(r->bad_att, &r->n2, MAX_PER_RULE, v))
        return;
    itip_emit(r->c, ITIP_R_REQUEST_ATTENDEE_NOT_MAILTO, ITIP_SEV_DEGRADE, ev, "ATTENDEE",
              "ATTENDEE \"%.*s%s\" is %s: it cannot become a recipient row, so its responses "
              "are never tracked and later updates cannot reach it", SHOW_MAX, v,
              itip_cut_mark(v, SHOW_MAX), why);
}

/* ---- I4 ---- */

/* Why a track-status time T is a poisoned value, or NULL.  RESP: X-MS-OLK-RESPTIME, where
 * any time on 1601-01-01 and the 1602 "cleared" dates count too. */
static const char *sentinel(struct icaltimetype t, int resp)
{
    itip_timewin w = itip_time_window(t);

    if (w == ITIP_TW_FILETIME_ZERO ||
        (resp && t.year == FILETIME_YEAR && t.month == 1 && t.day == 1))
        return "1601-01-01, FILETIME 0";
    if (resp && t.year == CLEARED_YEAR)
        return "in 1602, Outlook's 'cleared response' invalid date";
    if (w == ITIP_TW_SENTINEL_4501)
        return "4501-01-01 or later, Outlook's 'none' sentinel";
    return NULL;
}

/* WHAT names the value ("ATTENDEE mailto:x X-MS-OLK-RESPTIME=", "X-...-CHANGE:"). */
static void emit_i4(reqctx *r, icalcomponent *ev, const char *prop, const char *what,
                    const char *value, const char *why)
{
    if (r->n4++ >= MAX_PER_RULE)
        return;
    itip_emit(r->c, ITIP_R_OUTBOUND_TRACKING_SENTINEL_LEAK, ITIP_SEV_DEGRADE, ev, prop,
              "%s%.*s%s is %s: the organizer's meeting item is already poisoned "
              "(KB 938650) and passes the bad tracking time on", what, SHOW_MAX, value,
              itip_cut_mark(value, SHOW_MAX), why);
}

static void check_i4_resptime(reqctx *r, icalcomponent *ev, icalproperty *att)
{
    const char *v = itip_xparam(att, RESPTIME), *why, *who;
    struct icaltimetype t;
    char what[SHOW_MAX + 64];   /* holds at most SHOW_MAX bytes of the address: never cut */

    if (v == NULL || itip_parse_time(v, &t) != 0 || (why = sentinel(t, 1)) == NULL)
        return;
    who = icalproperty_get_attendee(att);
    snprintf(what, sizeof what, "ATTENDEE %.*s %s=", SHOW_MAX, who ? who : "(none)",
             RESPTIME);
    emit_i4(r, ev, "ATTENDEE", what, v, why);
}

static int is_tracking_xprop(const char *name)
{
    size_t n = strlen(name), np = strlen(CDO_PREFIX), ns = strlen(CC_SUFFIX);

    if (strcasecmp(name, REPLYTIME) == 0)
        return 1;
    return n > np + ns && strncasecmp(name, CDO_PREFIX, np) == 0 &&
           strcasecmp(name + n - ns, CC_SUFFIX) == 0;
}

static void check_i4_xprop(reqctx *r, icalcomponent *ev, icalproperty *p)
{
    const char *name = icalproperty_get_x_name(p), *v, *why;
    struct icaltimetype t;
    char what[SHOW_MAX + 8];    /* the name, at most SHOW_MAX bytes of it, and ':' */

    if (name == NULL || !is_tracking_xprop(name))
        return;
    v = itip_xprop_value(p);
    if (itip_parse_time(v, &t) != 0 || t.is_date || (why = sentinel(t, 0)) == NULL)
        return;
    snprintf(what, sizeof what, "%.*s:", SHOW_MAX, name);
    emit_i4(r, ev, name, what, v, why);
}

/* ---- I3 ---- */

static void check_i3(reqctx *r, icalcomponent *ev)
{
    icalproperty *xp = itip_xprop(ev, OWNER_CC);
    icalproperty *sp = icalcomponent_get_first_property(ev, ICAL_DTSTAMP_PROPERTY);
    struct icaltimetype x, stamp;
    const char *v;
    long long diff;
    char sbuf[32];

    if (xp == NULL || sp == NULL)
        return;
    v = itip_xprop_value(xp);
    stamp = icalproperty_get_dtstamp(sp);
    if (itip_parse_time(v, &x) != 0 || x.is_date || itip_time_window(x) != ITIP_TW_OK ||
        icaltime_is_null_time(stamp) || stamp.is_date || !icaltime_is_utc(stamp) ||
        itip_time_window(stamp) != ITIP_TW_OK)
        return;                     /* bad values are the D rules' and I4's */
    diff = itip_time_to_unix(x) - itip_time_to_unix(stamp);
    if (llabs(diff) <= r->c->msg->cfg->clock_skew_tolerance)
        return;
    if (r->last_i3_x != NULL && strcmp(r->last_i3_x, v) == 0 &&
        icaltime_compare(r->last_i3_stamp, stamp) == 0)
        return;                     /* the same pair copied into an exception */
    if (r->n3++ >= MAX_PER_RULE)
        return;
    r->last_i3_x = v;
    r->last_i3_stamp = stamp;
    itip_emit(r->c, ITIP_R_REQUEST_OWNER_CRITICAL_CHANGE_DISAGREE, ITIP_SEV_INFO, ev, OWNER_CC,
              "%s:%.*s is %lld s %s than DTSTAMP:%s (tolerance %ld s): converters that take "
              "one or the other judge replies' out-of-date state differently", OWNER_CC,
              SHOW_MAX, v, llabs(diff), diff < 0 ? "earlier" : "later",
              itip_time_str(stamp, sbuf, sizeof sbuf), r->c->msg->cfg->clock_skew_tolerance);
}

/* ---- driver ---- */

/* I2 and I4 over one VEVENT's properties (the component's own iterator is used here). */
static void walk_properties(reqctx *r, icalcomponent *ev, int i2, int i4)
{
    icalproperty *p;

    for (p = icalcomponent_get_first_property(ev, ICAL_ANY_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(ev, ICAL_ANY_PROPERTY)) {
        icalproperty_kind k = icalproperty_isa(p);
        if (k == ICAL_ATTENDEE_PROPERTY) {
            if (i2)
                check_i2_attendee(r, ev, p);
            if (i4)
                check_i4_resptime(r, ev, p);
        } else if (k == ICAL_X_PROPERTY && i4) {
            check_i4_xprop(r, ev, p);
        }
    }
}

void itip_check_request(itip_calctx *c)
{
    icalcompiter it;
    icalcomponent *ev;
    reqctx r;
    int req = itip_method_is(c, "REQUEST"), cancel = itip_method_is(c, "CANCEL");
    int i4 = req || cancel || itip_method_is(c, "PUBLISH");

    if (c->vcal == NULL || !(req || cancel || i4))
        return;
    memset(&r, 0, sizeof r);
    r.c = c;
    for (it = icalcomponent_begin_component(c->vcal, ICAL_VEVENT_COMPONENT);
         (ev = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it)) {
        if (req || cancel) {
            check_i1(&r, ev);
            check_i3(&r, ev);
        }
        walk_properties(&r, ev, req, i4);
    }
    if (req || cancel)
        finish_i1(&r);
}
