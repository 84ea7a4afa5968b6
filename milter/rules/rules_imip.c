/*
 * rules_imip.c - the iMIP envelope: how the calendar travels in the MIME message.
 *
 * Per calendar part (itip_check_imip, after libical parsed it):
 *   A1 mime-method-param-missing            text/calendar without method= although METHOD is set
 *   A2 mime-method-param-mismatch           method= differs from METHOD (case-insensitive)
 *   A3 ical-method-missing                  no METHOD in an invitation-shaped VCALENDAR
 *   A5 mime-calendar-disposition-attachment REQUEST/REPLY/CANCEL text/calendar as attachment
 * Per message, all calendar parts together (itip_check_message, no libical):
 *   A4 mime-calendar-wrong-type             iMIP data, but no part is text/calendar
 *   A6 mime-calendar-encapsulated           every text/calendar part sits in message/rfc822
 *   A7 mime-legacy-ims-route                X-Mailer shows an Exchange 5.x Internet Mail Service
 *
 * MIME-level rules (all but A3) apply only to real messages (msg->is_message): a bare .ics has
 * no envelope.  This file never modifies the parts or the libical tree, never allocates, and
 * never iterates the properties of a component it hands to a helper that iterates them too.
 */
#include "ac-config.h"
#include <ctype.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include "rules/calendar.h"
#include "rules/calutil.h"

#define CALENDAR_TYPE "text/calendar"
/* X-Mailer prefix of the Exchange 5.0/5.5 Internet Mail Service (KB 325562): it does not
 * understand iCalendar and turns text/calendar into body text. */
#define LEGACY_IMS_MAILER "Internet Mail Service (5."
#define METHOD_BUF 32          /* longest METHOD value we copy out of raw data (cut beyond) */
#define ADDR_BUF 320           /* an addr-spec: 64 local + @ + 255 domain */
#define VALUE_SHOWN 40         /* characters of an offending header value put in a detail */

/* ---- small helpers ---- */

static int is_text_calendar(const itip_calpart *p)
{
    return p != NULL && p->media_type != NULL && strcmp(p->media_type, CALENDAR_TYPE) == 0;
}

/* The method= parameter without surrounding blanks, into buf; NULL when absent or empty. */
static const char *method_param(const itip_calpart *p, char *buf, size_t len)
{
    const char *s = p->method_param, *e;
    size_t n;

    if (s == NULL)
        return NULL;
    while (*s == ' ' || *s == '\t' || *s == '"')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '"'))
        e--;
    n = (size_t)(e - s);
    if (n == 0)
        return NULL;
    if (n >= len)
        n = len - 1;              /* shown in a detail only; a cut value still mismatches */
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

/* Case-insensitive substring search (haystack NUL-terminated). */
static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    if (hay == NULL)
        return 0;
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

/* UID of the main VEVENT, for findings reported against the MIME part. */
static const char *main_uid(itip_calctx *c)
{
    icalcomponent *ev = itip_main_event(c);
    size_t i;

    for (i = 0; ev != NULL && i < c->nuids; i++)
        if (c->uids[i].comp == ev)
            return c->uids[i].uid;
    return NULL;
}

/* Finding about the MIME envelope of the part under analysis. */
#define EMIT_MIME(c, rule, sev, prop, ...)                                                    \
    itip_findings_add((c)->out, (rule), (sev), (c)->part_index, (c)->method, main_uid(c),  \
                      "MIME", (prop), __VA_ARGS__)

/* ---- per part: A1 A2 A3 A5 ---- */

/* A1: RFC 6047 2.4 requires method= on a text/calendar part whose body has METHOD.  An
 * attachment without method= is a calendar file the sender attached, not an iMIP body: for
 * REQUEST/REPLY/CANCEL that is A5 (not auto-processed), otherwise what the sender meant. */
static void check_method_param_missing(itip_calctx *c)
{
    char buf[METHOD_BUF];

    if (c->method == NULL || c->part->disposition_attachment ||
        method_param(c->part, buf, sizeof buf) != NULL)
        return;
    EMIT_MIME(c, ITIP_R_MIME_METHOD_PARAM_MISSING, ITIP_SEV_WOULD_FAIL, "Content-Type",
              "text/calendar part has no method= parameter while the body says METHOD:%s: "
              "Outlook/Exchange show it as \"not supported calendar message.ics\"", c->method);
}

/* A2: method= and METHOD must agree (ignoring case). */
static void check_method_param_mismatch(itip_calctx *c)
{
    char buf[METHOD_BUF];
    const char *param = method_param(c->part, buf, sizeof buf);

    if (c->method == NULL || param == NULL || strcasecmp(param, c->method) == 0)
        return;
    EMIT_MIME(c, ITIP_R_MIME_METHOD_PARAM_MISMATCH, ITIP_SEV_WOULD_FAIL, "Content-Type",
              "Content-Type method=%s but the body says METHOD:%s: Exchange processes the "
              "wrong iTIP action or none", param, c->method);
}

/* True if the VCALENDAR holds a VEVENT with an ORGANIZER and at least one ATTENDEE. */
static int invitation_shaped(itip_calctx *c)
{
    icalcompiter it;
    icalcomponent *ev;

    for (it = icalcomponent_begin_component(c->vcal, ICAL_VEVENT_COMPONENT);
         (ev = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it))
        if (icalcomponent_get_first_property(ev, ICAL_ORGANIZER_PROPERTY) != NULL &&
            icalcomponent_get_first_property(ev, ICAL_ATTENDEE_PROPERTY) != NULL)
            return 1;
    return 0;
}

/* A3: no METHOD at all, yet the calendar is a meeting (ORGANIZER + ATTENDEE). */
static void check_method_missing(itip_calctx *c)
{
    if (c->vcal == NULL || c->method != NULL ||
        icalcomponent_get_first_property(c->vcal, ICAL_METHOD_PROPERTY) != NULL)
        return;
    if (!invitation_shaped(c))
        return;
    itip_emit(c, ITIP_R_ICAL_METHOD_MISSING, ITIP_SEV_DEGRADE, c->vcal, "METHOD",
              "VCALENDAR has ORGANIZER and ATTENDEE but no METHOD: Exchange files it as a "
              "plain appointment, with no request/response/cancel processing or tracking");
}

/* True if another text/calendar part of the message is inline and not encapsulated: Exchange
 * processes that one, so an attachment copy beside it does no harm. */
static int inline_sibling(const itip_calctx *c)
{
    size_t i;

    for (i = 0; i < c->msg->nparts; i++) {
        const itip_calpart *p = c->msg->parts[i];
        if (p != c->part && is_text_calendar(p) && !p->disposition_attachment &&
            !p->encapsulated)
            return 1;
    }
    return 0;
}

/* A5: the Calendar Attendant does not auto-process an attachment-disposition iCalendar. */
static void check_disposition_attachment(itip_calctx *c)
{
    if (!c->part->disposition_attachment || c->method == NULL)
        return;
    if (strcmp(c->method, "REQUEST") != 0 && strcmp(c->method, "REPLY") != 0 &&
        strcmp(c->method, "CANCEL") != 0)
        return;
    if (inline_sibling(c))
        return;
    EMIT_MIME(c, ITIP_R_MIME_CALENDAR_DISPOSITION_ATTACHMENT, ITIP_SEV_DEGRADE,
              "Content-Disposition",
              "METHOD:%s text/calendar part has Content-Disposition: attachment: Exchange does "
              "not auto-process it; the %s is applied only when a user opens it", c->method,
              strcmp(c->method, "REQUEST") == 0 ? "request"
              : strcmp(c->method, "REPLY") == 0 ? "reply" : "cancel");
}

void itip_check_imip(itip_calctx *c)
{
    if (c == NULL || c->msg == NULL || c->part == NULL)
        return;
    check_method_missing(c);
    /* an encapsulated copy is never processed by Exchange at all: that is A6, not A1/A2/A5 */
    if (!c->msg->is_message || !is_text_calendar(c->part) || c->part->encapsulated)
        return;
    check_method_param_missing(c);
    check_method_param_mismatch(c);
    check_disposition_attachment(c);
}

/* ---- per message: A4 A6 A7 ---- */

/* Finds a METHOD line in raw calendar data (start of a line, case-insensitive, followed by
 * ':' or ';') and copies its value, upper-cased and cut to the buffer, into buf.  Returns buf
 * or NULL.  A textual scan on purpose: the message-level checks run without libical. */
static const char *raw_method(const itip_calpart *p, char *buf, size_t len)
{
    const char *s, *end, *v;
    size_t n;

    if (p == NULL || p->data == NULL)
        return NULL;
    end = p->data + p->len;
    for (s = p->data; s < end; s++) {
        if (s != p->data && s[-1] != '\n')
            continue;
        if ((size_t)(end - s) < 7 || strncasecmp(s, "METHOD", 6) != 0 ||
            (s[6] != ':' && s[6] != ';'))
            continue;
        for (v = s + 6; v < end && *v != ':' && *v != '\n'; v++)
            ;
        if (v >= end || *v != ':')
            return NULL;
        v++;
        for (n = 0; v + n < end && n + 1 < len && v[n] != '\r' && v[n] != '\n'; n++)
            buf[n] = (char)toupper((unsigned char)v[n]);
        buf[n] = '\0';
        return n > 0 ? buf : NULL;
    }
    return NULL;
}

static const char *part_label(const itip_calpart *p)
{
    if (p->media_type != NULL && *p->media_type != '\0')
        return p->media_type;
    return "(no media type)";
}

/* A4: iCalendar that carries an iTIP METHOD travels only under other media types. */
static void check_wrong_type(const itip_msgctx *msg, itip_findings *out)
{
    char mbuf[METHOD_BUF];
    const itip_calpart *hit = NULL;
    const char *method = NULL;
    size_t i, hit_index = 0;

    for (i = 0; i < msg->nparts; i++) {
        const itip_calpart *p = msg->parts[i];
        if (is_text_calendar(p))
            return;
        if (hit == NULL && (method = raw_method(p, mbuf, sizeof mbuf)) != NULL) {
            hit = p;
            hit_index = i;
        }
    }
    /* a .ics attachment without METHOD is a calendar file, not an iMIP message */
    if (hit == NULL)
        return;
    itip_findings_add(out, ITIP_R_MIME_CALENDAR_WRONG_TYPE, ITIP_SEV_DEGRADE,
                      msg->nparts == 1 ? (int)hit_index : -1, method, NULL, "MIME",
                      "Content-Type",
                      "METHOD:%s calendar data travels as %s%s%.*s%s with no text/calendar "
                      "part: Exchange keeps it as an ordinary attachment, not a meeting message",
                      method, part_label(hit), hit->filename ? " (\"" : "", VALUE_SHOWN,
                      hit->filename ? hit->filename : "", hit->filename ? "\")" : "");
}

/* True if From: is a delivery-status sender (MAILER-DAEMON@, postmaster@): a bounce returns
 * the original message as message/rfc822, and nobody expects that copy to be processed. */
static int from_mailer_daemon(const itip_msgctx *msg)
{
    char addr[ADDR_BUF];
    const char *at;
    size_t n;

    if (itip_header_addr(msg->hdrs->from, addr, sizeof addr) == NULL ||
        (at = strrchr(addr, '@')) == NULL)
        return 0;
    n = (size_t)(at - addr);
    return (n == strlen("mailer-daemon") && strncasecmp(addr, "mailer-daemon", n) == 0) ||
           (n == strlen("postmaster") && strncasecmp(addr, "postmaster", n) == 0);
}

/* A6: every text/calendar part is inside a message/rfc822 part (a forward). */
static void check_encapsulated(const itip_msgctx *msg, itip_findings *out)
{
    char mbuf[METHOD_BUF];
    size_t i, n = 0, first = 0;

    if (from_mailer_daemon(msg))
        return;
    for (i = 0; i < msg->nparts; i++) {
        const itip_calpart *p = msg->parts[i];
        if (!is_text_calendar(p))
            continue;
        if (!p->encapsulated)
            return;
        if (n++ == 0)
            first = i;
    }
    if (n == 0)
        return;
    itip_findings_add(out, ITIP_R_MIME_CALENDAR_ENCAPSULATED, ITIP_SEV_DEGRADE,
                      n == 1 ? (int)first : -1,
                      raw_method(msg->parts[first], mbuf, sizeof mbuf), NULL, "MIME",
                      "Content-Type",
                      "the only text/calendar part%s inside a message/rfc822 attachment (a "
                      "forward): Exchange shows \"not supported calendar message.ics\"; "
                      "redirect instead", n == 1 ? " sits" : "s sit");
}

/* A7: the message passed an Exchange 5.x Internet Mail Service (conservative: X-Mailer only;
 * no Content-Class value is documented as naming such a gateway). */
static void check_legacy_route(const itip_msgctx *msg, itip_findings *out)
{
    const char *xm = msg->hdrs->x_mailer;

    if (msg->nparts == 0 || !contains_ci(xm, LEGACY_IMS_MAILER))
        return;
    itip_findings_add(out, ITIP_R_MIME_LEGACY_IMS_ROUTE, ITIP_SEV_INFO, -1, NULL, NULL, "MIME",
                      "X-Mailer",
                      "X-Mailer \"%.*s\" is an Exchange 5.x Internet Mail Service, which does "
                      "not understand iCalendar and turns text/calendar into body text",
                      VALUE_SHOWN, xm);
}

void itip_check_message(const itip_msgctx *msg, itip_findings *out)
{
    if (msg == NULL || out == NULL || !msg->is_message || msg->hdrs == NULL)
        return;
    check_wrong_type(msg, out);
    check_encapsulated(msg, out);
    check_legacy_route(msg, out);
}
