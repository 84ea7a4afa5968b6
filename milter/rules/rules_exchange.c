/*
 * rules_exchange.c - patterns that Exchange itself emits (catalogue section J), worth a
 * diagnostic where the milter protects non-Exchange recipients.  Both are info.
 *
 *   J1 exchange-reply-without-organizer  REPLY whose VCALENDAR PRODID names "Microsoft
 *                                 Exchange Server 20xx" (any case) and whose VEVENT has no
 *                                 ORGANIZER: strict iTIP processors (Nextcloud, esn-sabre)
 *                                 discard such a reply.  One finding per part.
 *   J2 exchange-legacydn-address  an ORGANIZER or ATTENDEE value in X.500 legacyExchangeDN
 *                                 form ("/O=ORG/OU=EXCHANGE ADMINISTRATIVE GROUP .../CN=
 *                                 RECIPIENTS/CN=..."), bare or behind a scheme such as MAILTO:,
 *                                 X500: or EX:, in any method: nobody outside the Exchange
 *                                 organisation can reply to it.  One finding per distinct
 *                                 value, capped.  I1/I2/C8 judge the same values as non-mailto
 *                                 addresses with their own severities; J2 names the cause.
 *
 * Must never: nest two walks over one component's property iterator, keep libical objects,
 * use static mutable state, or emit more than MAX_PER_RULE findings of one rule per part.
 */
#include "ac-config.h"
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include "rules/calendar.h"
#include "rules/calutil.h"

#define MAX_PER_RULE 5          /* findings of one rule in one calendar part */
#define SHOW_MAX 60             /* characters of an offending value shown in a detail */
#define SCHEME_MAX 16           /* longest URI scheme skipped before a legacyExchangeDN */

static const char EXCHANGE_PRODID[] = "microsoft exchange server 20";

/* ---- J1 ---- */

/* True if S contains "Microsoft Exchange Server 20" followed by two digits (any case). */
static int is_exchange_prodid(const char *s)
{
    size_t n = strlen(EXCHANGE_PRODID);

    for (; s != NULL && *s != '\0'; s++)
        if (strncasecmp(s, EXCHANGE_PRODID, n) == 0 && isdigit((unsigned char)s[n]) &&
            isdigit((unsigned char)s[n + 1]))
            return 1;
    return 0;
}

static void check_j1(itip_calctx *c)
{
    icalproperty *p = icalcomponent_get_first_property(c->vcal, ICAL_PRODID_PROPERTY);
    const char *prodid = p ? icalproperty_get_prodid(p) : NULL;
    icalcompiter it;
    icalcomponent *ev;

    if (c->method_kind != ICAL_METHOD_REPLY || !is_exchange_prodid(prodid))
        return;
    for (it = icalcomponent_begin_component(c->vcal, ICAL_VEVENT_COMPONENT);
         (ev = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it))
        if (icalcomponent_get_first_property(ev, ICAL_ORGANIZER_PROPERTY) == NULL) {
            itip_emit(c, ITIP_R_EXCHANGE_REPLY_WITHOUT_ORGANIZER, ITIP_SEV_INFO, ev,
                      "ORGANIZER", "REPLY from %.*s has no ORGANIZER: Nextcloud, esn-sabre "
                      "and other strict iTIP processors discard the response", SHOW_MAX,
                      prodid);
            return;
        }
}

/* ---- J2 ---- */

/* The legacyExchangeDN inside V ("/o=..."), after an optional "scheme:", or NULL. */
static const char *legacy_dn(const char *v)
{
    const char *colon = strchr(v, ':'), *dn = v;

    if (colon != NULL && (size_t)(colon - v) <= SCHEME_MAX && colon > v && v[0] != '/')
        dn = colon + 1;
    while (*dn == ' ')
        dn++;
    if (strncasecmp(dn, "/o=", 3) != 0)
        return NULL;
    return strcasestr(dn, "/cn=") != NULL ? dn : NULL;
}

typedef struct {
    itip_calctx *c;
    int n;
    const char *seen[MAX_PER_RULE];
} j2state;

static void check_j2_value(j2state *j, icalcomponent *comp, const char *prop, const char *v)
{
    if (v == NULL || legacy_dn(v) == NULL || !itip_note_once(j->seen, &j->n, MAX_PER_RULE, v))
        return;
    itip_emit(j->c, ITIP_R_EXCHANGE_LEGACYDN_ADDRESS, ITIP_SEV_INFO, comp, prop,
              "%s \"%.*s%s\" is an Exchange legacyExchangeDN, not an SMTP address: recipients "
              "outside that Exchange organisation cannot reply to it", prop, SHOW_MAX, v,
              itip_cut_mark(v, SHOW_MAX));
}

static void check_j2_component(j2state *j, icalcomponent *comp)
{
    icalproperty *p;

    for (p = icalcomponent_get_first_property(comp, ICAL_ANY_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(comp, ICAL_ANY_PROPERTY)) {
        icalproperty_kind k = icalproperty_isa(p);
        if (k == ICAL_ORGANIZER_PROPERTY)
            check_j2_value(j, comp, "ORGANIZER", icalproperty_get_organizer(p));
        else if (k == ICAL_ATTENDEE_PROPERTY)
            check_j2_value(j, comp, "ATTENDEE", icalproperty_get_attendee(p));
    }
}

static void check_j2(itip_calctx *c)
{
    icalcompiter it;
    icalcomponent *comp;
    j2state j;

    memset(&j, 0, sizeof j);
    j.c = c;
    for (it = icalcomponent_begin_component(c->vcal, ICAL_ANY_COMPONENT);
         (comp = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it)) {
        icalcomponent_kind k = icalcomponent_isa(comp);
        if (k == ICAL_VEVENT_COMPONENT || k == ICAL_VTODO_COMPONENT ||
            k == ICAL_VJOURNAL_COMPONENT || k == ICAL_VFREEBUSY_COMPONENT)
            check_j2_component(&j, comp);
    }
}

void itip_check_exchange(itip_calctx *c)
{
    if (c->vcal == NULL)
        return;
    check_j1(c);
    check_j2(c);
}
