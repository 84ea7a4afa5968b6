/*
 * rules_envelope.c - what only the MTA can check: the envelope, the sender and the hop's
 * authentication results against the calendar object (project rules, section K).
 *
 *   reply-not-to-organizer          REPLY/COUNTER: no envelope recipient is the ORGANIZER (nor
 *                                   its SENT-BY, nor the same mailbox in an alias_domains set)
 *   request-recipient-not-attendee  REQUEST: an envelope recipient is neither an ATTENDEE of any
 *                                   component nor the ORGANIZER (info)
 *   organizer-not-sender            REQUEST/ADD/CANCEL: the ORGANIZER's domain (or its SENT-BY's)
 *                                   is neither the From: domain nor the envelope sender's
 *                                   (degrade; would-fail when a trusted Authentication-Results
 *                                   says dmarc=fail for the From: domain); or it matches only a
 *                                   From: domain that failed DMARC (degrade).  REPLY/COUNTER:
 *                                   the replying ATTENDEE is the From: domain (so C9 is quiet)
 *                                   but that domain failed DMARC (degrade).
 *   attach-cid-missing              ATTACH cid:... names no Content-ID of the message
 *
 * Domains match as in DMARC's relaxed alignment (a subdomain matches its parent) or through
 * alias_domains.  A calendar part inside an attached message (message/rfc822: a bounce, a
 * forward as attachment) is not judged against this message's envelope or sender.
 * The envelope rules run only when the envelope is known (c->msg->envelope): the milter always
 * has it; itip-check has it from --mail-from/--rcpt-to or the delivery headers, and says so
 * when it has none.  Authentication-Results are trusted only with an authserv-id listed in
 * authserv_id; they can only raise a finding, never lower one, so a forged header gains a
 * sender nothing.  Only c->vcal, the first VCALENDAR, is analysed.
 */
#include "ac-config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "rules/calendar.h"
#include "rules/calutil.h"

#define ADDR_BUF 512
#define VALUE_SHOWN 80
#define MAX_ATTENDEES 1000      /* ATTENDEEs remembered per part for the recipient test */
#define MAX_NAMED 3             /* recipients named in one detail line */

/* The address of an ORGANIZER/ATTENDEE value, or NULL. */
static const char *cal_addr(const char *v)
{
    return v ? itip_mailto(v) : NULL;
}

/* True if addresses A and B name one mailbox: equal, or one local part in two domains of an
 * alias_domains set. */
static int same_mailbox(const itip_config *cfg, const char *a, const char *b)
{
    const char *at_a, *at_b;

    if (a == NULL || b == NULL)
        return 0;
    if (itip_addr_equal(a, b))
        return 1;
    at_a = strrchr(a, '@');
    at_b = strrchr(b, '@');
    if (at_a == NULL || at_b == NULL || at_a - a != at_b - b ||
        strncasecmp(a, b, (size_t)(at_a - a)) != 0)
        return 0;
    return itip_config_same_domain(cfg, at_a + 1, at_b + 1);
}

/* A is B or a subdomain of it (mail.example.com under example.com). */
static int under(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    return la > lb && a[la - lb - 1] == '.' && strcasecmp(a + la - lb, b) == 0;
}

/* One organisation's domains: equal, one a subdomain of the other (as DMARC's relaxed
 * alignment, without a public suffix list: neither side may be a bare top-level name), or one
 * alias_domains set. */
static int same_domain(const itip_config *cfg, const char *a, const char *b)
{
    if (a == NULL || b == NULL || *a == '\0' || *b == '\0')
        return 0;
    if (itip_config_same_domain(cfg, a, b))
        return 1;
    return strchr(a, '.') != NULL && strchr(b, '.') != NULL && (under(a, b) || under(b, a));
}

static icalproperty *organizer_of(icalcomponent *ev)
{
    return ev ? icalcomponent_get_first_property(ev, ICAL_ORGANIZER_PROPERTY) : NULL;
}

/* ---- Authentication-Results (RFC 8601) ---- */

/* Skips blanks and (nested) comments. */
static const char *skip_cfws(const char *s)
{
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
            s++;
        if (*s != '(')
            return s;
        {
            int depth = 0;
            for (; *s; s++) {
                if (*s == '\\' && s[1]) {
                    s++;
                    continue;
                }
                if (*s == '(')
                    depth++;
                else if (*s == ')' && --depth == 0) {
                    s++;
                    break;
                }
            }
        }
    }
}

/* Copies the token at S (up to a blank, ';', '=', '(' or the end) into BUF; returns the
 * position after it. */
static const char *token(const char *s, char *buf, size_t len)
{
    size_t n = 0;

    while (*s && *s != ' ' && *s != '\t' && *s != ';' && *s != '=' && *s != '(' &&
           *s != '\r' && *s != '\n') {
        if (n + 1 < len)
            buf[n++] = *s;
        s++;
    }
    buf[n] = '\0';
    return s;
}

/* In one Authentication-Results value: if its authserv-id is trusted and it holds a
 * "dmarc=fail" result whose header.from is FROM_DOMAIN (or names none), copies the
 * authserv-id into ID and returns 1. */
static int ar_dmarc_fail(const itip_config *cfg, const char *v, const char *from_domain,
                         char *id, size_t idlen)
{
    char method[64], result[64], prop[64], val[256];
    const char *s = skip_cfws(v);
    int fail = 0, from_ok = 1;

    s = token(s, id, idlen);
    if (!itip_config_trusts_authserv(cfg, id))
        return 0;
    while ((s = strchr(s, ';')) != NULL) {
        s = skip_cfws(s + 1);
        s = token(s, method, sizeof method);
        s = skip_cfws(s);
        if (*s != '=')
            continue;
        s = token(skip_cfws(s + 1), result, sizeof result);
        if (strcasecmp(method, "dmarc") != 0 || strcasecmp(result, "fail") != 0)
            continue;
        fail = 1;
        /* properties up to the next ';': header.from=DOMAIN */
        for (;;) {
            s = skip_cfws(s);
            if (*s == '\0' || *s == ';')
                break;
            s = token(s, prop, sizeof prop);
            s = skip_cfws(s);
            if (*s != '=') {
                if (*s && *s != ';')
                    s++;
                continue;
            }
            s = token(skip_cfws(s + 1), val, sizeof val);
            if (strcasecmp(prop, "header.from") == 0)
                from_ok = from_domain != NULL && strcasecmp(val, from_domain) == 0;
        }
        if (fail && from_ok)
            return 1;
    }
    return 0;
}

/* The authserv-id of a trusted Authentication-Results header of the message that says
 * dmarc=fail for FROM_DOMAIN, in ID; 0 when there is none. */
static int dmarc_failed(const itip_calctx *c, const char *from_domain, char *id, size_t idlen)
{
    const itip_msghdrs *h = c->msg->hdrs;
    size_t i;

    if (c->msg->cfg->n_authserv_ids == 0 || from_domain == NULL)
        return 0;
    for (i = 0; i < h->n_auth_results; i++)
        if (h->auth_results[i] != NULL &&
            ar_dmarc_fail(c->msg->cfg, h->auth_results[i], from_domain, id, idlen))
            return 1;
    return 0;
}

/* ---- reply-not-to-organizer ---- */

static void check_reply_target(itip_calctx *c, icalcomponent *ev)
{
    const itip_msgctx *m = c->msg;
    icalproperty *org = organizer_of(ev);
    const char *oa = org ? cal_addr(icalproperty_get_organizer(org)) : NULL, *sb = itip_sent_by(org);
    char list[256];
    size_t i, n = 0;

    if (oa == NULL || m->nrcpts == 0)
        return;           /* no ORGANIZER: J1 and C-rules say it; no recipients: nothing */
    list[0] = '\0';
    for (i = 0; i < m->nrcpts; i++) {
        if (same_mailbox(m->cfg, m->rcpts[i], oa) || same_mailbox(m->cfg, m->rcpts[i], sb))
            return;
        if (n++ < MAX_NAMED)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%.*s",
                     n > 1 ? ", " : "", VALUE_SHOWN, m->rcpts[i]);
    }
    itip_emit(c, ITIP_R_REPLY_NOT_TO_ORGANIZER, ITIP_SEV_DEGRADE, ev, "ORGANIZER",
              "%s goes to %s%s but not to the ORGANIZER %.*s%s: the organizer's tracking never "
              "records the answer (a forwarded or redirected reply?)", c->method, list,
              n > MAX_NAMED ? " and others" : "", VALUE_SHOWN, oa,
              m->envelope == ITIP_ENV_HEADERS ? " (envelope from the delivery headers)" : "");
}

/* ---- request-recipient-not-attendee ---- */

typedef struct {
    const char **v;             /* cap entries, sized to the part's people (at most
                                   MAX_ATTENDEES) */
    size_t n, cap;
    int truncated;
} addrset;

/* ATTENDEE and ORGANIZER properties of the part's components. */
static size_t count_people(itip_calctx *c)
{
    icalcompiter it;
    icalcomponent *k;
    size_t n = 0;

    for (it = icalcomponent_begin_component(c->vcal, ICAL_ANY_COMPONENT);
         (k = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it))
        n += (size_t)icalcomponent_count_properties(k, ICAL_ATTENDEE_PROPERTY) +
             (size_t)icalcomponent_count_properties(k, ICAL_ORGANIZER_PROPERTY);
    return n;
}

/* ATTENDEE and ORGANIZER addresses (and their SENT-BY) of every component of the part. */
static void collect_people(itip_calctx *c, addrset *s)
{
    icalcompiter it;
    icalcomponent *k;
    icalproperty *p;

    for (it = icalcomponent_begin_component(c->vcal, ICAL_ANY_COMPONENT);
         (k = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it)) {
        if (icalcomponent_isa(k) == ICAL_VTIMEZONE_COMPONENT)
            continue;
        for (p = icalcomponent_get_first_property(k, ICAL_ANY_PROPERTY); p != NULL;
             p = icalcomponent_get_next_property(k, ICAL_ANY_PROPERTY)) {
            icalproperty_kind kind = icalproperty_isa(p);
            const char *a;
            if (kind != ICAL_ATTENDEE_PROPERTY && kind != ICAL_ORGANIZER_PROPERTY)
                continue;
            a = cal_addr(kind == ICAL_ATTENDEE_PROPERTY ? icalproperty_get_attendee(p)
                                                        : icalproperty_get_organizer(p));
            if (s->n + 2 > s->cap) {
                s->truncated = 1;
                return;
            }
            if (a != NULL)
                s->v[s->n++] = a;
            if ((a = itip_sent_by(p)) != NULL)
                s->v[s->n++] = a;
        }
    }
}

static void check_request_recipients(itip_calctx *c, icalcomponent *ev)
{
    const itip_msgctx *m = c->msg;
    addrset set, *s = &set;
    char list[256];
    size_t i, j, n = 0;

    if (m->nrcpts == 0)
        return;
    memset(s, 0, sizeof *s);
    s->cap = 2 * count_people(c) + 2;
    if (s->cap > MAX_ATTENDEES)
        s->cap = MAX_ATTENDEES;
    if ((s->v = calloc(s->cap, sizeof *s->v)) == NULL) {
        c->out->oom = 1;
        return;
    }
    collect_people(c, s);
    list[0] = '\0';
    for (i = 0; i < m->nrcpts && !s->truncated; i++) {
        for (j = 0; j < s->n; j++)
            if (same_mailbox(m->cfg, m->rcpts[i], s->v[j]))
                break;
        if (j < s->n)
            continue;
        if (n++ < MAX_NAMED)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%.*s",
                     n > 1 ? ", " : "", VALUE_SHOWN, m->rcpts[i]);
    }
    if (n > 0)
        itip_emit(c, ITIP_R_REQUEST_RECIPIENT_NOT_ATTENDEE, ITIP_SEV_INFO, ev, "ATTENDEE",
                  "REQUEST delivered to %s%s, not among its ATTENDEEs: a forwarded invitation, "
                  "which only an Exchange organizer learns of%s", list,
                  n > MAX_NAMED ? " and others" : "",
                  m->envelope == ITIP_ENV_HEADERS ? " (envelope from the delivery headers)" : "");
    free(s->v);
}

/* ---- organizer-not-sender ---- */

typedef struct {
    char from[ADDR_BUF];
    const char *from_addr, *from_dom;   /* From: address and domain, or NULL */
    const char *env_dom;                /* envelope sender's domain, or NULL (unknown, <>) */
    char dmarc_id[128];                 /* authserv-id of the trusted dmarc=fail */
    int dmarc_fail;
} sender_facts;

static int sender_facts_get(itip_calctx *c, sender_facts *f)
{
    const itip_msgctx *m = c->msg;

    memset(f, 0, sizeof *f);
    if (!m->is_message)
        return 0;
    f->from_addr = m->hdrs->from ? itip_header_addr(m->hdrs->from, f->from, sizeof f->from)
                                 : NULL;
    f->from_dom = f->from_addr ? itip_addr_domain(f->from_addr) : NULL;
    f->env_dom = m->mail_from && *m->mail_from ? itip_addr_domain(m->mail_from) : NULL;
    f->dmarc_fail = dmarc_failed(c, f->from_dom, f->dmarc_id, sizeof f->dmarc_id);
    return f->from_dom != NULL || f->env_dom != NULL;
}

static void check_organizer_sender(itip_calctx *c, icalcomponent *ev)
{
    const itip_config *cfg = c->msg->cfg;
    icalproperty *org = organizer_of(ev);
    const char *oa = org ? cal_addr(icalproperty_get_organizer(org)) : NULL, *sb = itip_sent_by(org);
    const char *od = oa ? itip_addr_domain(oa) : NULL, *sd = sb ? itip_addr_domain(sb) : NULL;
    sender_facts f;
    int by_from, by_env;

    if (od == NULL || !sender_facts_get(c, &f))
        return;                 /* I1 reports a missing ORGANIZER */
    by_from = same_domain(cfg, od, f.from_dom) || same_domain(cfg, sd, f.from_dom);
    by_env = same_domain(cfg, od, f.env_dom) || same_domain(cfg, sd, f.env_dom);
    if (!by_from && !by_env) {
        if (c->msg->envelope == ITIP_ENV_NONE)
            return;             /* the envelope sender might match: unknown here */
        itip_emit(c, ITIP_R_ORGANIZER_NOT_SENDER,
                  f.dmarc_fail ? ITIP_SEV_WOULD_FAIL : ITIP_SEV_DEGRADE, ev, "ORGANIZER",
                  "%s from %.*s (envelope %s) names ORGANIZER %.*s%s%.*s: neither domain "
                  "matches it%s%s%s", c->method, VALUE_SHOWN, itip_nz(f.from_addr),
                  f.env_dom ? f.env_dom : "<>", VALUE_SHOWN, oa, sb ? ", SENT-BY " : "",
                  VALUE_SHOWN, sb ? sb : "",
                  f.dmarc_fail ? "; DMARC failed for From: (" : "",
                  f.dmarc_fail ? f.dmarc_id : "",
                  f.dmarc_fail ? "), so raised: a forged CANCEL empties every calendar" : "");
        return;
    }
    if (f.dmarc_fail && by_from)
        itip_emit(c, ITIP_R_ORGANIZER_NOT_SENDER, ITIP_SEV_DEGRADE, ev, "ORGANIZER",
                  "%s names ORGANIZER %.*s of the From: domain %s, but DMARC failed for that "
                  "domain (Authentication-Results of %s): nothing shows the organizer sent it, "
                  "and a forged CANCEL removes the meeting from every attendee's calendar",
                  c->method, VALUE_SHOWN, oa, f.from_dom, f.dmarc_id);
}

/* The REPLY counterpart: C9 compares the ATTENDEE with From:, which DMARC says is forged. */
static void check_reply_sender(itip_calctx *c, icalcomponent *ev)
{
    icalproperty *att = icalcomponent_get_first_property(ev, ICAL_ATTENDEE_PROPERTY);
    const char *aa = att ? cal_addr(icalproperty_get_attendee(att)) : NULL;
    sender_facts f;

    if (aa == NULL || icalcomponent_get_next_property(ev, ICAL_ATTENDEE_PROPERTY) != NULL)
        return;                 /* C6/C8 say it */
    if (!sender_facts_get(c, &f) || !f.dmarc_fail ||
        !same_domain(c->msg->cfg, itip_addr_domain(aa), f.from_dom))
        return;
    itip_emit(c, ITIP_R_ORGANIZER_NOT_SENDER, ITIP_SEV_DEGRADE, ev, "ATTENDEE",
              "%s from ATTENDEE %.*s of the From: domain %s, but DMARC failed for that domain "
              "(Authentication-Results of %s): the answer may be forged", c->method,
              VALUE_SHOWN, aa, f.from_dom, f.dmarc_id);
}

/* ---- attach-cid-missing ---- */

/* Percent-decodes S (RFC 2392) into BUF; returns BUF. */
static char *cid_decode(const char *s, char *buf, size_t len)
{
    size_t n = 0;

    for (; *s && n + 1 < len; s++) {
        if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
            char hex[3] = { s[1], s[2], '\0' };
            buf[n++] = (char)strtol(hex, NULL, 16);
            s += 2;
        } else {
            buf[n++] = *s;
        }
    }
    buf[n] = '\0';
    return buf;
}

/* True if the message has a part whose Content-ID is ID ("<id>" in the header). */
static int have_content_id(const itip_msghdrs *h, const char *id)
{
    size_t i, n = strlen(id);

    for (i = 0; i < h->n_content_ids; i++) {
        const char *v = h->content_ids[i];
        const char *lt = v ? strchr(v, '<') : NULL, *gt = lt ? strchr(lt, '>') : NULL;
        if (lt == NULL || gt == NULL) {
            if (v != NULL && strcasecmp(v, id) == 0)
                return 1;
            continue;
        }
        if ((size_t)(gt - lt - 1) == n && strncasecmp(lt + 1, id, n) == 0)
            return 1;
    }
    return 0;
}

static void check_attach_cid(itip_calctx *c)
{
    icalcompiter it;
    icalcomponent *k;
    icalproperty *p;
    char id[ADDR_BUF];
    int nfound = 0;

    if (!c->msg->is_message)
        return;
    for (it = icalcomponent_begin_component(c->vcal, ICAL_ANY_COMPONENT);
         (k = icalcompiter_deref(&it)) != NULL && nfound < 5; icalcompiter_next(&it)) {
        icalcomponent *bad = NULL;
        char shown[ADDR_BUF];
        for (p = icalcomponent_get_first_property(k, ICAL_ATTACH_PROPERTY); p != NULL;
             p = icalcomponent_get_next_property(k, ICAL_ATTACH_PROPERTY)) {
            const char *v = icalproperty_get_value_as_string(p);
            if (v == NULL || strncasecmp(v, "cid:", 4) != 0)
                continue;
            if (have_content_id(c->msg->hdrs, cid_decode(v + 4, id, sizeof id)))
                continue;
            bad = k;
            snprintf(shown, sizeof shown, "%.*s", VALUE_SHOWN, v);
            break;
        }
        if (bad != NULL) {
            nfound++;
            itip_emit(c, ITIP_R_ATTACH_CID_MISSING, ITIP_SEV_DEGRADE, bad, "ATTACH",
                      "ATTACH %s names a MIME part the message does not contain (no such "
                      "Content-ID): Exchange 2010 cannot process such a message (Lotus Notes 9 "
                      "replies)", shown);
        }
    }
}

void itip_check_envelope(itip_calctx *c)
{
    icalcomponent *ev;

    if (c->vcal == NULL)
        return;
    check_attach_cid(c);
    ev = itip_main_event(c);
    if (ev == NULL || c->part->encapsulated)
        return;     /* a calendar inside an attached message (a bounce, a forward as
                       attachment) is that message's, not this one's */
    if (itip_method_is(c, "REPLY") || itip_method_is(c, "COUNTER")) {
        if (c->msg->envelope != ITIP_ENV_NONE)
            check_reply_target(c, ev);
        check_reply_sender(c, ev);
    } else if (itip_method_is(c, "REQUEST") || itip_method_is(c, "ADD") ||
               itip_method_is(c, "CANCEL")) {
        if (itip_method_is(c, "REQUEST") && c->msg->envelope != ITIP_ENV_NONE)
            check_request_recipients(c, ev);
        check_organizer_sender(c, ev);
    }
}
