/*
 * rules_state.c - the stateful rules: each REQUEST, CANCEL, REPLY or COUNTER component is
 * compared with what earlier messages of the same meeting left in the store (record.h).
 *
 *   C10 reply-attendee-not-invited         REPLY/COUNTER from an address no REQUEST invited
 *   C11 reply-sequence-stale               REPLY/COUNTER SEQUENCE below the newest REQUEST's
 *                                          (X-MICROSOFT-CDO-APPT-SEQUENCE first, as Exchange)
 *   C12 reply-dtstamp-not-monotonic        DTSTAMP not later than the attendee's previous reply
 *   C12 reply-dtstamp-not-after-request    DTSTAMP earlier than that of the REQUEST with the
 *                                          same SEQUENCE (KB Q202105); names the sender's skew
 *   C13 reply-sequence-missing             no SEQUENCE although the REQUEST's was above 0
 *                                          (then C11 is not reported as well)
 *   C14 reply-recurrence-id-unknown        REPLY for an instance the series deleted (EXDATE of
 *                                          the newest REQUEST, or a CANCEL of that instance)
 *   C15 reply-owner-critical-change-stale  the echoed X-MICROSOFT-CDO-OWNER-CRITICAL-CHANGE is
 *                                          older than the REQUEST's (its X-value, else DTSTAMP)
 *   E3  update-sequence-not-incremented    REQUEST: SEQUENCE went down, or stayed while
 *                                          DTSTART/DTEND/RRULE/EXDATE/LOCATION/attendees changed;
 *                                          CANCEL: SEQUENCE below the newest REQUEST's
 *   E4  cancel-sequence-missing (stateful) CANCEL without SEQUENCE for a meeting seen with
 *                                          SEQUENCE > 0: the stateless info finding of
 *                                          rules_sequence.c is raised to degrade and reworded
 *                                          (one finding, never two)
 *   E5  cancel-before-update               REQUEST arriving after a CANCEL with a higher SEQUENCE
 *
 * A REPLY to one instance is compared with that instance's record when a REQUEST of it was
 * seen, else with the series record.  Records belong to one organiser (record.h): a component
 * is looked up under its ORGANIZER; a REPLY or COUNTER without one (Exchange sends such, J1)
 * under the addresses it is sent to (envelope recipients, else To:), the first that has a
 * record; a component without either is not compared.  Every component is checked, but it is
 * queued for recording (itip_engine_record() merges the queue into the store after the
 * message) only when the message's sender may speak for it: the domain of the From: mailbox
 * (read strictly, as a DMARC check reads it: one mailbox, comments and display name skipped)
 * is the domain of the ORGANIZER of a REQUEST or CANCEL, or of the ATTENDEE of a REPLY or
 * COUNTER, or of that property's SENT-BY.  A bare iCalendar file (itip-check) has no sender:
 * the operator chose it, it is recorded.  A REPLY whose SEQUENCE is above every REQUEST
 * recorded answers one that was not recorded, so C10 has no opinion on its invitation.
 *
 * Must never: run without a store, look up more than ITIP_STATE_MAX_COMPONENTS components of
 * one part, go on after a store failure (the engine then notes "stateful rules skipped"), or
 * keep libical objects beyond the call.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "rules/calendar.h"
#include "rules/calutil.h"
#include "store/record.h"

#define TBUF 40                     /* a formatted time */
#define SPAN_BUF 48                 /* "12 minutes" */
#define PHRASE_BUF 360              /* "; " and the skew phrase */
#define LIST_BUF 120                /* the changed fields of E3 */
#define DETAIL_MAX 300              /* a finding's detail (findings.h) */
#define FROM_BUF 1024               /* a From: field without its comments */
#define SEQ_LIMIT 2147483647LL

static const char X_SEQ[] = "X-MICROSOFT-CDO-APPT-SEQUENCE";
static const char X_OWNER_CC[] = "X-MICROSOFT-CDO-OWNER-CRITICAL-CHANGE";

/* ---- reading a component ---- */

/* A RECURRENCE-ID or EXDATE in the form the records use: UTC when it has a time zone. */
static void norm_time(icalproperty *p, icalcomponent *comp, char *buf, size_t len)
{
    struct icaltimetype t = icalproperty_get_datetime_with_component(p, comp);

    buf[0] = '\0';
    if (icaltime_is_null_time(t))
        return;
    if (!t.is_date && !icaltime_is_utc(t) && t.zone != NULL)
        t = icaltime_convert_to_zone(t, icaltimezone_get_utc_timezone());
    itip_time_str(t, buf, len);
}

/* A UTC date-time in the Outlook window as seconds, else 0. */
static long long utc_seconds(struct icaltimetype t)
{
    if (icaltime_is_null_time(t) || t.is_date || !icaltime_is_utc(t) ||
        itip_time_window(t) != ITIP_TW_OK)
        return 0;
    return itip_time_to_unix(t);
}

static long long dtstamp_of(icalcomponent *comp)
{
    icalproperty *p = icalcomponent_get_first_property(comp, ICAL_DTSTAMP_PROPERTY);
    icalvalue *v = p ? icalproperty_get_value(p) : NULL;

    if (v == NULL || icalvalue_isa(v) != ICAL_DATETIME_VALUE ||
        icalcomponent_count_properties(comp, ICAL_DTSTAMP_PROPERTY) != 1)
        return 0;
    return utc_seconds(icalvalue_get_datetime(v));
}

static long long xtime_of(icalcomponent *comp, const char *name)
{
    icalproperty *p = itip_xprop(comp, name);
    struct icaltimetype t;

    if (p == NULL || itip_parse_time(itip_xprop_value(p), &t) != 0)
        return 0;
    return utc_seconds(t);
}

/* A strict decimal in 0..2^31-1; -1 otherwise. */
static long long parse_seq(const char *s)
{
    long long v = 0;

    while (*s == ' ' || *s == '\t')
        s++;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++)
        if ((v = v * 10 + (*s - '0')) > SEQ_LIMIT)
            return -1;
    while (*s == ' ' || *s == '\t')
        s++;
    return *s ? -1 : v;
}

/* SEQUENCE; for replies X-MICROSOFT-CDO-APPT-SEQUENCE first, as Exchange imports it. */
static void read_seq(icalcomponent *comp, itip_obs *o)
{
    icalproperty *p = icalcomponent_get_first_property(comp, ICAL_SEQUENCE_PROPERTY);
    icalproperty *x = o->kind == ITIP_OBS_REPLY ? itip_xprop(comp, X_SEQ) : NULL;
    long long xv = x ? parse_seq(itip_xprop_value(x)) : -1;

    if (xv >= 0) {
        o->has_seq = 1;
        o->seq = xv;
    } else if (p != NULL) {
        int v = icalproperty_get_sequence(p);    /* E1 reports a value libical misread */
        o->has_seq = 1;
        o->seq = v < 0 ? 0 : v;
    }
}

static char *lower_dup(const char *s)
{
    char *d = strdup(s);
    size_t i;

    for (i = 0; d != NULL && d[i]; i++)
        if (d[i] >= 'A' && d[i] <= 'Z')
            d[i] = (char)(d[i] - 'A' + 'a');
    return d;
}

/* Appends a copy of S (lower-cased when LOWER) to the list. */
static int push(char ***v, size_t *n, const char *s, int lower)
{
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);

    if (nv == NULL)
        return -1;
    *v = nv;
    if ((nv[*n] = lower ? lower_dup(s) : strdup(s)) == NULL)
        return -1;
    (*n)++;
    return 0;
}

/* The mailto: address of an ATTENDEE/ORGANIZER value, when it is a plausible one. */
static const char *addr_of(const char *v)
{
    const char *a = itip_mailto(v);
    return a != NULL && itip_addr_valid(a) && strlen(a) <= ITIP_REC_MAX_ADDR ? a : NULL;
}

/* REQUEST: every invited address; REPLY: the one replying and its PARTSTAT. */
static int read_attendees(icalcomponent *comp, itip_obs *o)
{
    icalproperty *p;
    int count = icalcomponent_count_properties(comp, ICAL_ATTENDEE_PROPERTY);

    if (o->kind == ITIP_OBS_CANCEL || (o->kind == ITIP_OBS_REPLY && count != 1))
        return 0;                               /* C6 reports a reply's wrong count */
    for (p = icalcomponent_get_first_property(comp, ICAL_ATTENDEE_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(comp, ICAL_ATTENDEE_PROPERTY)) {
        const char *a = addr_of(icalproperty_get_attendee(p));
        icalparameter *ps = icalproperty_get_first_parameter(p, ICAL_PARTSTAT_PARAMETER);
        if (a == NULL)
            continue;
        if (o->naddrs >= ITIP_REC_MAX_ATTENDEES) {
            o->addrs_truncated = 1;
            continue;
        }
        if (push(&o->addrs, &o->naddrs, a, 1) < 0)
            return -1;
        if (o->kind == ITIP_OBS_REPLY && ps != NULL) {
            icalparameter_partstat v = icalparameter_get_partstat(ps);
            const char *txt = v == ICAL_PARTSTAT_X ? icalparameter_get_xvalue(ps)
                                                   : icalparameter_enum_to_string((int)v);
            if (txt != NULL && (o->partstat = strndup(txt, ITIP_REC_MAX_PARTSTAT)) == NULL)
                return -1;
        }
    }
    return 0;
}

static int read_exdates(icalcomponent *comp, itip_obs *o)
{
    icalproperty *p;
    char buf[TBUF];

    for (p = icalcomponent_get_first_property(comp, ICAL_EXDATE_PROPERTY);
         p != NULL && o->nexdates < ITIP_REC_MAX_DELETED;
         p = icalcomponent_get_next_property(comp, ICAL_EXDATE_PROPERTY)) {
        norm_time(p, comp, buf, sizeof buf);
        if (buf[0] && push(&o->exdates, &o->nexdates, buf, 0) < 0)
            return -1;
    }
    return 0;
}

/* ---- who may write a record ---- */

/* The addr-spec of a From: field that names exactly one mailbox, into BUF (LEN bytes), read as
 * a DMARC check reads it: comments dropped, an angle-addr preferred to the display name.  NULL
 * for no field, a group, several mailboxes, unbalanced quotes, comments or brackets, or an
 * address that is not plausible - anything a forger could make us read otherwise. */
static const char *from_mailbox(const char *f, char *buf, size_t len)
{
    char t[FROM_BUF];
    size_t n = 0, lt = 0, gt = 0, b, e;
    int nlt = 0, ngt = 0, depth = 0, quoted = 0;

    for (; f != NULL && *f; f++) {
        char ch = *f;
        if (depth > 0 || (!quoted && ch == '(')) {      /* a comment, perhaps nested */
            if (ch == '\\' && f[1])
                f++;
            else if (ch == '(')
                depth++;
            else if (ch == ')')
                depth--;
            continue;
        }
        if (n + 2 >= sizeof t)
            return NULL;
        if (quoted && ch == '\\' && f[1]) {
            t[n++] = *f++;
            t[n++] = *f;
            continue;
        }
        if (ch == '"')
            quoted = !quoted;
        else if (!quoted && (ch == ',' || ch == ';' || ch == ':'))
            return NULL;
        else if (!quoted && ch == '<') {
            nlt++;
            lt = n;
        } else if (!quoted && ch == '>') {
            ngt++;
            gt = n;
        }
        t[n++] = ch;
    }
    if (f == NULL || quoted || depth > 0 || nlt != ngt || nlt > 1 || gt < lt)
        return NULL;
    b = nlt ? lt + 1 : 0;
    e = nlt ? gt : n;
    for (gt = nlt ? gt + 1 : n; gt < n; gt++)          /* nothing but blanks after '>' */
        if (t[gt] != ' ' && t[gt] != '\t')
            return NULL;
    while (b < e && (t[b] == ' ' || t[b] == '\t'))
        b++;
    while (e > b && (t[e - 1] == ' ' || t[e - 1] == '\t'))
        e--;
    if (e - b >= len)
        return NULL;
    memcpy(buf, t + b, e - b);
    buf[e - b] = '\0';
    return itip_addr_valid(buf) ? buf : NULL;
}

static int same_domain(const char *a, const char *b)
{
    const char *da = itip_addr_domain(a), *db = itip_addr_domain(b);

    return da != NULL && db != NULL && strcasecmp(da, db) == 0;
}

/* True when the sender of the message may speak for the party of P, whose address is ADDR:
 * the From: mailbox is in the domain of ADDR or of P's SENT-BY.  A bare iCalendar file has no
 * sender and came from the operator: it may. */
static int speaks_for(const itip_calctx *c, icalproperty *p, const char *addr)
{
    char from[ITIP_REC_MAX_ADDR + 1];
    icalparameter *sb;
    const char *by;

    if (!c->msg->is_message)
        return 1;
    if (addr == NULL || p == NULL || c->msg->hdrs == NULL ||
        from_mailbox(c->msg->hdrs->from, from, sizeof from) == NULL)
        return 0;
    if (same_domain(from, addr))
        return 1;
    sb = icalproperty_get_first_parameter(p, ICAL_SENTBY_PARAMETER);
    by = sb != NULL ? addr_of(icalparameter_get_sentby(sb)) : NULL;
    return by != NULL && same_domain(from, by);
}

/* True when O (read from COMP) may be recorded: a REQUEST or CANCEL sent for its ORGANIZER, a
 * REPLY or COUNTER sent for its one ATTENDEE. */
static int may_record(const itip_calctx *c, icalcomponent *comp, const itip_obs *o)
{
    int reply = o->kind == ITIP_OBS_REPLY;
    const char *party = reply ? (o->naddrs == 1 ? o->addrs[0] : NULL) : o->organizer;

    return party != NULL &&
           speaks_for(c, icalcomponent_get_first_property(comp, reply ? ICAL_ATTENDEE_PROPERTY
                                                                       : ICAL_ORGANIZER_PROPERTY),
                      party);
}

/* Adds the address in V (a header value or an envelope recipient, "<a@b>" or "a@b"),
 * lower-case, to ORGS unless it is there already or not plausible. */
static void add_org(char orgs[][ITIP_REC_MAX_ADDR + 1], size_t *n, const char *v)
{
    char a[ITIP_REC_MAX_ADDR + 1];
    size_t i;

    if (*n >= ITIP_STATE_MAX_ORGS || itip_header_addr(v, a, sizeof a) == NULL ||
        !itip_addr_valid(a))
        return;
    for (i = 0; a[i]; i++)
        if (a[i] >= 'A' && a[i] <= 'Z')
            a[i] = (char)(a[i] - 'A' + 'a');
    for (i = 0; i < *n; i++)
        if (strcmp(orgs[i], a) == 0)
            return;
    memcpy(orgs[(*n)++], a, sizeof a);
}

/* The organisers O is looked up under, into ORGS; returns how many (0: none, not compared). */
static size_t organisers(const itip_calctx *c, const itip_obs *o,
                         char orgs[][ITIP_REC_MAX_ADDR + 1])
{
    size_t n = 0, i;

    if (o->organizer != NULL)
        add_org(orgs, &n, o->organizer);
    else if (o->kind == ITIP_OBS_REPLY) {
        for (i = 0; i < c->msg->nrcpts; i++)
            add_org(orgs, &n, c->msg->rcpts[i]);
        if (n == 0 && c->msg->hdrs != NULL && c->msg->hdrs->to != NULL)
            add_org(orgs, &n, c->msg->hdrs->to);
    }
    return n;
}

/* ---- what E3 compares ---- */

static unsigned long long hash_str(const char *s, unsigned long long h)
{
    return itip_hash64(s ? s : "", s ? strlen(s) + 1 : 0, h);
}

static unsigned long long hash_time_props(icalcomponent *comp, icalproperty_kind kind)
{
    unsigned long long h = ITIP_HASH_INIT;
    icalproperty *p;
    char buf[TBUF];

    for (p = icalcomponent_get_first_property(comp, kind); p != NULL;
         p = icalcomponent_get_next_property(comp, kind)) {
        norm_time(p, comp, buf, sizeof buf);
        h = hash_str(buf, h);
    }
    return h;
}

static unsigned long long hash_text_props(icalcomponent *comp, icalproperty_kind kind)
{
    unsigned long long h = ITIP_HASH_INIT;
    icalproperty *p;

    for (p = icalcomponent_get_first_property(comp, kind); p != NULL;
         p = icalcomponent_get_next_property(comp, kind))
        h = hash_str(icalproperty_get_value_as_string(p), h);
    return h;
}

static void read_digest(icalcomponent *comp, itip_obs *o)
{
    size_t i;
    unsigned long long set = 0;

    o->digest[ITIP_DIG_DTSTART] = hash_time_props(comp, ICAL_DTSTART_PROPERTY);
    o->digest[ITIP_DIG_DTEND] = hash_time_props(comp, ICAL_DTEND_PROPERTY) ^
                                hash_text_props(comp, ICAL_DURATION_PROPERTY);
    o->digest[ITIP_DIG_RRULE] = hash_text_props(comp, ICAL_RRULE_PROPERTY);
    o->digest[ITIP_DIG_LOCATION] = hash_text_props(comp, ICAL_LOCATION_PROPERTY);
    /* sets: the sum of the members' hashes does not depend on their order */
    for (i = 0; i < o->naddrs; i++)
        set += hash_str(o->addrs[i], ITIP_HASH_INIT);
    o->digest[ITIP_DIG_ATTENDEES] = set;
    set = 0;
    for (i = 0; i < o->nexdates; i++)
        set += hash_str(o->exdates[i], ITIP_HASH_INIT);
    o->digest[ITIP_DIG_EXDATE] = set;
}

/* Fills O from COMP; -1 when out of memory. */
static int read_facts(icalcomponent *comp, const char *uid, itip_obs_kind kind, itip_obs *o)
{
    icalproperty *rid = icalcomponent_get_first_property(comp, ICAL_RECURRENCEID_PROPERTY);
    icalproperty *org = icalcomponent_get_first_property(comp, ICAL_ORGANIZER_PROPERTY);
    const char *oa = org ? addr_of(icalproperty_get_organizer(org)) : NULL;
    char buf[TBUF] = "";

    memset(o, 0, sizeof *o);
    o->kind = kind;
    if (rid != NULL)
        norm_time(rid, comp, buf, sizeof buf);
    if ((o->uid = strdup(uid)) == NULL || (o->rid = strdup(buf)) == NULL)
        return -1;
    if (oa != NULL && (o->organizer = lower_dup(oa)) == NULL)
        return -1;
    read_seq(comp, o);
    o->dtstamp = dtstamp_of(comp);
    o->owner_cc = xtime_of(comp, X_OWNER_CC);
    if (read_attendees(comp, o) < 0)
        return -1;
    if (kind == ITIP_OBS_REQUEST && rid == NULL && read_exdates(comp, o) < 0)
        return -1;
    if (kind == ITIP_OBS_REQUEST)
        read_digest(comp, o);
    return 0;
}

/* ---- wording ---- */

static const char *span(long long s, char *buf, size_t len)
{
    if (s < 0)
        s = -s;
    if (s < 120)
        snprintf(buf, len, "%lld second%s", s, s == 1 ? "" : "s");
    else if (s < 2 * 3600)
        snprintf(buf, len, "%lld minutes", (s + 30) / 60);
    else if (s < 2 * 86400)
        snprintf(buf, len, "%lld hours", (s + 1800) / 3600);
    else
        snprintf(buf, len, "%lld days", (s + 43200) / 86400);
    return buf;
}

static const char *tstr(long long t, char *buf, size_t len)
{
    struct icaltimetype it = icaltime_from_timet_with_zone((time_t)t, 0,
                                                           icaltimezone_get_utc_timezone());
    return itip_time_str(it, buf, len);
}

/* ---- REPLY / COUNTER ---- */

typedef struct {
    itip_calctx *c;
    itip_statework *w;
    icalcomponent *comp;
    const itip_obs *o;
    const itip_meeting *rec;        /* the record under this component's own key */
    const itip_meeting *base;       /* the REQUEST it answers: own record, else the series' */
    const itip_meeting *series;     /* the series record of an instance, or NULL */
} stcheck;

static int is_invited(const itip_meeting *m, const char *addr)
{
    const itip_rec_attendee *a = itip_meeting_attendee(m, addr);
    size_t i;

    if (a != NULL && a->invited)
        return 1;
    for (i = 0; i < m->natt; i++)
        if (m->att[i].invited)
            return 0;
    return 1;                       /* the REQUEST named nobody we could read: no opinion */
}

static void check_c10(stcheck *s)
{
    const char *addr = s->o->naddrs == 1 ? s->o->addrs[0] : NULL;
    long long seq = s->o->has_seq ? s->o->seq : 0;

    /* a SEQUENCE above the recorded one answers a REQUEST not recorded here: no opinion */
    if (addr == NULL || s->base == NULL || s->base->att_truncated || seq > s->base->req_seq ||
        is_invited(s->base, addr))
        return;
    itip_emit(s->c, ITIP_R_REPLY_ATTENDEE_NOT_INVITED, ITIP_SEV_DEGRADE, s->comp, "ATTENDEE",
              "%s answers a meeting whose REQUEST (SEQUENCE %lld) did not invite it: the "
              "organizer adds it as a new optional attendee and the invited row stays "
              "\"none\"", addr, s->base->req_seq);
}

static void check_sequence(stcheck *s)
{
    const itip_meeting *b = s->base;

    if (b == NULL)
        return;
    if (!s->o->has_seq && b->req_seq > 0)
        itip_emit(s->c, ITIP_R_REPLY_SEQUENCE_MISSING, ITIP_SEV_DEGRADE, s->comp, "SEQUENCE",
                  "%s has no SEQUENCE (nor %s) but answers a REQUEST with SEQUENCE %lld: it "
                  "compares as older and is not recorded", s->c->method, X_SEQ, b->req_seq);
    else if (s->o->has_seq && s->o->seq < b->req_seq)
        itip_emit(s->c, ITIP_R_REPLY_SEQUENCE_STALE, ITIP_SEV_DEGRADE, s->comp, "SEQUENCE",
                  "%s has SEQUENCE %lld but the newest REQUEST seen has %lld: the organizer "
                  "treats it as out of date and does not record it", s->c->method, s->o->seq,
                  b->req_seq);
}

static void check_c12(stcheck *s)
{
    const itip_obs *o = s->o;
    const itip_rec_attendee *a = o->naddrs == 1 ? itip_meeting_attendee(s->rec, o->addrs[0])
                                                : NULL;
    const itip_meeting *b = s->base;
    char t1[TBUF], t2[TBUF], sp[SPAN_BUF], note[PHRASE_BUF];

    if (o->dtstamp == 0)
        return;
    if (a != NULL && a->reply_dtstamp != 0 && o->dtstamp <= a->reply_dtstamp)
        itip_emit(s->c, ITIP_R_REPLY_DTSTAMP_NOT_MONOTONIC, ITIP_SEV_DEGRADE, s->comp,
                  "DTSTAMP", "DTSTAMP %s is not later than that of %s's previous response "
                  "(%s): the organizer keeps the earlier answer", tstr(o->dtstamp, t1, sizeof t1),
                  o->addrs[0], tstr(a->reply_dtstamp, t2, sizeof t2));
    if (b == NULL || b->req_dtstamp == 0 || (o->has_seq ? o->seq : 0) != b->req_seq ||
        o->dtstamp >= b->req_dtstamp)
        return;
    itip_emit(s->c, ITIP_R_REPLY_DTSTAMP_NOT_AFTER_REQUEST, ITIP_SEV_DEGRADE, s->comp, "DTSTAMP",
              "DTSTAMP %s is %s earlier than the REQUEST it answers (SEQUENCE %lld, DTSTAMP %s): "
              "the response looks out of date and is not recorded (KB Q202105)%s",
              tstr(o->dtstamp, t1, sizeof t1), span(b->req_dtstamp - o->dtstamp, sp, sizeof sp),
              b->req_seq, tstr(b->req_dtstamp, t2, sizeof t2),
              itip_skew_note(s->w, note, sizeof note));
}

static void check_c14(stcheck *s)
{
    int cancelled = 0;

    if (s->series == NULL || s->o->rid[0] == '\0' ||
        !itip_meeting_deleted(s->series, s->o->rid, &cancelled))
        return;
    itip_emit(s->c, ITIP_R_REPLY_RECURRENCE_ID_UNKNOWN, ITIP_SEV_INFO, s->comp, "RECURRENCE-ID",
              "the REPLY is for the instance %s, which the organizer deleted (%s): the response "
              "is discarded", s->o->rid, cancelled ? "cancelled" : "EXDATE");
}

static void check_c15(stcheck *s)
{
    const itip_meeting *b = s->base;
    long long ref;
    char t1[TBUF], t2[TBUF];

    if (b == NULL || s->o->owner_cc == 0 || (s->o->has_seq ? s->o->seq : 0) != b->req_seq)
        return;
    ref = b->req_owner_cc ? b->req_owner_cc : b->req_dtstamp;
    if (ref == 0 || s->o->owner_cc >= ref)
        return;
    itip_emit(s->c, ITIP_R_REPLY_OWNER_CRITICAL_CHANGE_STALE, ITIP_SEV_INFO, s->comp,
              X_OWNER_CC, "%s %s is older than the %s %s of the REQUEST with SEQUENCE %lld: "
              "Exchange may take the response for an answer to an earlier version", X_OWNER_CC,
              tstr(s->o->owner_cc, t1, sizeof t1), b->req_owner_cc ? X_OWNER_CC : "DTSTAMP",
              tstr(ref, t2, sizeof t2), b->req_seq);
}

static void check_reply(stcheck *s)
{
    check_c10(s);
    check_sequence(s);
    check_c12(s);
    if (s->c->method_kind == ICAL_METHOD_REPLY)
        check_c14(s);
    check_c15(s);
}

/* ---- REQUEST / CANCEL ---- */

static void check_e3_request(stcheck *s)
{
    const itip_meeting *m = s->rec;
    char list[LIST_BUF] = "";
    size_t i, n = 0;

    if (!m->has_request)
        return;
    if (s->o->seq < m->req_seq) {
        itip_emit(s->c, ITIP_R_UPDATE_SEQUENCE_NOT_INCREMENTED, ITIP_SEV_DEGRADE, s->comp,
                  "SEQUENCE", "SEQUENCE went down from %lld to %lld: attendees' clients take "
                  "this REQUEST for an old copy and ignore it", m->req_seq, s->o->seq);
        return;
    }
    if (s->o->seq != m->req_seq)
        return;
    for (i = 0; i < ITIP_DIG_COUNT; i++)
        if (s->o->digest[i] != m->digest[i]) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", n++ ? ", " : "",
                     itip_digest_names[i]);
        }
    if (n > 0)
        itip_emit(s->c, ITIP_R_UPDATE_SEQUENCE_NOT_INCREMENTED, ITIP_SEV_DEGRADE, s->comp,
                  "SEQUENCE", "%s changed but SEQUENCE stayed at %lld: Outlook keeps the "
                  "earlier version (the update disappears on accept)", list, s->o->seq);
}

static void check_e5(stcheck *s)
{
    if (!s->rec->has_cancel || s->rec->cancel_seq <= s->o->seq)
        return;
    itip_emit(s->c, ITIP_R_CANCEL_BEFORE_UPDATE, ITIP_SEV_INFO, s->comp, "SEQUENCE",
              "a CANCEL with SEQUENCE %lld arrived before this REQUEST with SEQUENCE %lld: "
              "Exchange marks the cancellation \"not current\" and re-adds the meeting as "
              "tentative (KB 2732379)", s->rec->cancel_seq, s->o->seq);
}

/* Raises the stateless E4 finding of this component to the stateful form (or adds it). */
static void check_e4(stcheck *s)
{
    const itip_meeting *b = s->rec->has_request ? s->rec : s->series;
    itip_findings *f = s->c->out;
    const char *uid = s->o->uid;
    char detail[DETAIL_MAX];
    size_t i;

    if (s->o->has_seq || icalcomponent_get_first_property(s->comp, ICAL_SEQUENCE_PROPERTY) ||
        b == NULL || !b->has_request || b->req_seq <= 0)
        return;
    snprintf(detail, sizeof detail, "CANCEL without SEQUENCE for a meeting last sent with "
             "SEQUENCE %lld: it compares as sequence 0, older than the meeting, and is ignored",
             b->req_seq);
    for (i = 0; i < f->n; i++) {
        itip_finding *x = &f->v[i];
        char *d;
        if (x->rule != ITIP_R_CANCEL_SEQUENCE_MISSING || x->part != s->c->part_index ||
            x->uid == NULL || strcmp(x->uid, uid) != 0)
            continue;
        if ((d = strdup(detail)) == NULL)
            return;
        free(x->detail);
        x->detail = d;
        if (f->settings == NULL || f->settings[x->rule].severity == ITIP_SEV_NONE)
            x->severity = ITIP_SEV_DEGRADE;
        return;
    }
    itip_emit(s->c, ITIP_R_CANCEL_SEQUENCE_MISSING, ITIP_SEV_DEGRADE, s->comp, "SEQUENCE", "%s",
              detail);
}

static void check_cancel(stcheck *s)
{
    const itip_meeting *m = s->rec;

    check_e4(s);
    if (m->has_request && s->o->has_seq && s->o->seq < m->req_seq)
        itip_emit(s->c, ITIP_R_UPDATE_SEQUENCE_NOT_INCREMENTED, ITIP_SEV_DEGRADE, s->comp,
                  "SEQUENCE", "CANCEL has SEQUENCE %lld, below the %lld of the newest REQUEST: "
                  "attendees take it for an old copy and keep the meeting", s->o->seq,
                  m->req_seq);
}

/* ---- the group ---- */

static int method_kind(const itip_calctx *c, itip_obs_kind *k)
{
    switch (c->method_kind) {
    case ICAL_METHOD_REQUEST: *k = ITIP_OBS_REQUEST; return 1;
    case ICAL_METHOD_CANCEL:  *k = ITIP_OBS_CANCEL; return 1;
    case ICAL_METHOD_REPLY:
    case ICAL_METHOD_COUNTER: *k = ITIP_OBS_REPLY; return 1;
    default:                  return 0;
    }
}

/* Moves O into the message's queue when RECORD (else, or when the queue is full, frees it);
 * its DTSTAMP is the message's skew sample either way. */
static void queue(itip_statework *w, itip_obs *o, time_t now, int record)
{
    if (!w->has_sample && o->dtstamp != 0) {
        w->has_sample = 1;
        w->sample = o->dtstamp - (long long)now;
    }
    if (record && w->nobs < ITIP_STATE_MAX_OBS)
        w->obs[w->nobs++] = *o;
    else
        itip_obs_free(o);
    memset(o, 0, sizeof *o);
}

/* A REQUEST or CANCEL written by CDO / Exchange 2003 and sent for its ORGANIZER: the
 * organizer's domain (and this meeting) are learned as legacy when the message is recorded
 * (learn_legacy_cdo; never a domain on modern_domains, nor one already on
 * legacy_cdo_domains).  The first such component of a message teaches. */
static void learn(itip_calctx *c, itip_statework *w, const itip_obs *o, const char *uid,
                  itip_obs_kind kind)
{
    const char *dom = o->organizer ? itip_addr_domain(o->organizer) : NULL;
    const itip_config *cfg = c->msg->cfg;

    if (!cfg->learn_legacy_cdo || w->learn_domain != NULL || dom == NULL ||
        itip_config_is_legacy_domain(cfg, dom) || itip_config_is_modern_domain(cfg, dom) ||
        !itip_written_by_cdo(c))
        return;
    w->learn_domain = strdup(dom);
    w->learn_uid = strdup(uid);
    if (w->learn_domain == NULL || w->learn_uid == NULL) {
        free(w->learn_domain);
        free(w->learn_uid);
        w->learn_domain = w->learn_uid = NULL;
        return;
    }
    snprintf(w->learn_how, sizeof w->learn_how, "%s",
             kind == ITIP_OBS_REQUEST ? "REQUEST" : "CANCEL");
}

static void check_component(itip_calctx *c, itip_statework *w, icalcomponent *comp,
                            const char *uid, itip_obs_kind kind)
{
    itip_store *st = c->msg->store;
    char orgs[ITIP_STATE_MAX_ORGS][ITIP_REC_MAX_ADDR + 1];
    itip_meeting rec, series;
    itip_obs o;
    stcheck s;
    size_t i, n;
    int r1 = 1, r2 = 1, record;

    itip_meeting_init(&rec);
    itip_meeting_init(&series);
    if (read_facts(comp, uid, kind, &o) < 0) {
        itip_obs_free(&o);                      /* out of memory: this one goes unchecked */
        return;
    }
    record = may_record(c, comp, &o);
    n = organisers(c, &o, orgs);
    for (i = 0; i < n; i++) {                   /* the first organiser with a record */
        itip_meeting_free(&rec);
        itip_meeting_free(&series);
        r1 = itip_record_get_meeting(st, uid, o.rid, orgs[i], c->msg->now, &rec);
        r2 = r1 >= 0 && o.rid[0] != '\0'
             ? itip_record_get_meeting(st, uid, "", orgs[i], c->msg->now, &series) : 1;
        if (r1 <= 0 || r2 <= 0)
            break;
    }
    if (o.organizer == NULL && i < n && (o.organizer = strdup(orgs[i])) == NULL)
        record = 0;                             /* out of memory: checked, not recorded */
    if (r1 < 0 || r2 < 0) {
        w->failed = 1;
    } else if (n == 0) {
        queue(w, &o, c->msg->now, 0);           /* nobody's meeting: the skew sample only */
    } else {
        memset(&s, 0, sizeof s);
        s.c = c;
        s.w = w;
        s.comp = comp;
        s.o = &o;
        s.rec = &rec;
        s.series = r2 == 0 ? &series : NULL;
        s.base = rec.has_request ? &rec : (s.series && series.has_request ? s.series : NULL);
        if (kind == ITIP_OBS_REPLY)
            check_reply(&s);
        else if (kind == ITIP_OBS_REQUEST) {
            check_e3_request(&s);
            check_e5(&s);
        } else
            check_cancel(&s);
        if (record && kind != ITIP_OBS_REPLY)
            learn(c, w, &o, uid, kind);
        queue(w, &o, c->msg->now, record && o.organizer != NULL);
    }
    itip_obs_free(&o);
    itip_meeting_free(&rec);
    itip_meeting_free(&series);
}

void itip_check_stateful(itip_calctx *c)
{
    itip_statework *w = c->msg->work;
    itip_obs_kind kind;
    size_t i, n = 0;

    if (c->msg->store == NULL || w == NULL || w->failed || c->vcal == NULL ||
        !method_kind(c, &kind))
        return;
    for (i = 0; i < c->nuids && n < ITIP_STATE_MAX_COMPONENTS && !w->failed; i++) {
        icalcomponent_kind k = icalcomponent_isa(c->uids[i].comp);
        if ((k != ICAL_VEVENT_COMPONENT && k != ICAL_VTODO_COMPONENT) ||
            c->uids[i].uid == NULL || c->uids[i].uid[0] == '\0')
            continue;
        n++;
        check_component(c, w, c->uids[i].comp, c->uids[i].uid, kind);
    }
}
