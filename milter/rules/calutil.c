/*
 * calutil.c - small helpers shared by the rule groups (declared in calutil.h).
 *
 * Finding emission with the calendar context filled in, reporting a value once, the text of
 * details (NULL as "", the "..." of a cut value), the METHOD tests, the case-insensitive
 * comparison of TZID lists, case-insensitive X-property and X-parameter lookup (libical's own
 * lookups are case-sensitive), the Outlook safe time window of the catalogue (section 0.3),
 * date-time parsing and conversion, address helpers, cheap time zones and the UTC offsets of
 * their wall-clock times (without libical's expansion of the zone), the main VEVENT and a
 * series master.  Pure functions over libical objects; never keeps a pointer past the call
 * (except the values itip_note_once is given to remember, in the caller's array), never
 * allocates except through itip_findings_add().
 */
#include "ac-config.h"
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "rules/calendar.h"
#include "rules/calutil.h"
#include "mime/mimehdr.h"
#include "store/record.h"

void itip_emit(itip_calctx *c, itip_rule_id rule, itip_severity sev, icalcomponent *comp,
               const char *property, const char *fmt, ...)
{
    char detail[512];
    const char *uid = NULL, *kind = NULL;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (comp != NULL) {
        size_t i;
        kind = icalcomponent_kind_to_string(icalcomponent_isa(comp));
        for (i = 0; i < c->nuids; i++)
            if (c->uids[i].comp == comp) {
                uid = c->uids[i].uid;
                break;
            }
    }
    itip_findings_add(c->out, rule, sev, c->part_index, c->method, uid, kind, property,
                      "%s", detail);
}

int itip_note_once(const char **seen, int *n, int max, const char *v)
{
    int i;

    if (*n >= max)
        return 0;
    for (i = 0; i < *n; i++)
        if (strcasecmp(seen[i], v) == 0)
            return 0;
    seen[(*n)++] = v;
    return 1;
}

const char *itip_nz(const char *s)
{
    return s ? s : "";
}

const char *itip_cut_mark(const char *s, size_t shown)
{
    return strlen(s) > shown ? "..." : "";
}

int itip_method_is(const itip_calctx *c, const char *m)
{
    return c->method != NULL && strcmp(c->method, m) == 0;
}

int itip_method_kind_is(const itip_calctx *c, icalproperty_method m)
{
    return c->method_kind == m;
}

int itip_cmp_ci(const void *a, const void *b)
{
    return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *xname(icalproperty *p)
{
    const char *n = icalproperty_get_x_name(p);
    return n ? n : "";
}

icalproperty *itip_xprop(icalcomponent *comp, const char *name)
{
    icalproperty *p;

    if (comp == NULL)
        return NULL;
    for (p = icalcomponent_get_first_property(comp, ICAL_X_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(comp, ICAL_X_PROPERTY))
        if (strcasecmp(xname(p), name) == 0)
            return p;
    return NULL;
}

int itip_xprop_count(icalcomponent *comp, const char *name)
{
    icalproperty *p;
    int n = 0;

    if (comp == NULL)
        return 0;
    for (p = icalcomponent_get_first_property(comp, ICAL_X_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(comp, ICAL_X_PROPERTY))
        if (strcasecmp(xname(p), name) == 0)
            n++;
    return n;
}

const char *itip_xprop_value(icalproperty *p)
{
    const char *v = NULL;

    if (p == NULL)
        return "";
    if (icalproperty_get_value(p) != NULL)
        v = icalproperty_get_value_as_string(p);
    return v ? v : "";
}

const char *itip_xparam(icalproperty *p, const char *name)
{
    icalparameter *a;

    if (p == NULL)
        return NULL;
    for (a = icalproperty_get_first_parameter(p, ICAL_X_PARAMETER); a != NULL;
         a = icalproperty_get_next_parameter(p, ICAL_X_PARAMETER)) {
        const char *n = icalparameter_get_xname(a);
        if (n != NULL && strcasecmp(n, name) == 0) {
            const char *v = icalparameter_get_xvalue(a);
            return v ? v : "";
        }
    }
    return NULL;
}

/* Compares T with a calendar date and time (ignoring the zone). */
static int cmp_ymdhms(struct icaltimetype t, int y, int mo, int d, int h, int mi, int s)
{
    int a[6], b[6], i;

    a[0] = t.year; a[1] = t.month; a[2] = t.day;
    a[3] = t.is_date ? 0 : t.hour; a[4] = t.is_date ? 0 : t.minute;
    a[5] = t.is_date ? 0 : t.second;
    b[0] = y; b[1] = mo; b[2] = d; b[3] = h; b[4] = mi; b[5] = s;
    for (i = 0; i < 6; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

itip_timewin itip_time_window(struct icaltimetype t)
{
    int lo = cmp_ymdhms(t, 1601, 1, 1, 0, 0, 0);

    if (lo < 0)
        return ITIP_TW_BEFORE_1601;
    if (lo == 0)
        return ITIP_TW_FILETIME_ZERO;
    if (cmp_ymdhms(t, 4501, 1, 1, 0, 0, 0) >= 0)
        return ITIP_TW_SENTINEL_4501;
    if (cmp_ymdhms(t, 4500, 8, 31, 23, 59, 0) > 0)
        return ITIP_TW_ABOVE_SAFE;
    return ITIP_TW_OK;
}

static int digits(const char *s, int n)
{
    int i;

    for (i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

static int num(const char *s, int n)
{
    int v = 0, i;

    for (i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int itip_parse_time(const char *s, struct icaltimetype *t)
{
    size_t n;

    if (s == NULL)
        return -1;
    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    memset(t, 0, sizeof *t);
    if (n == 8 && digits(s, 8)) {
        t->is_date = 1;
    } else if ((n == 15 || (n == 16 && (s[15] == 'Z' || s[15] == 'z'))) && digits(s, 8) &&
               (s[8] == 'T' || s[8] == 't') && digits(s + 9, 6)) {
        t->hour = num(s + 9, 2);
        t->minute = num(s + 11, 2);
        t->second = num(s + 13, 2);
        if (n == 16)
            t->zone = icaltimezone_get_utc_timezone();
    } else {
        return -1;
    }
    t->year = num(s, 4);
    t->month = num(s + 4, 2);
    t->day = num(s + 6, 2);
    if (t->month < 1 || t->month > 12 || t->day < 1 || t->day > 31 || t->hour > 23 ||
        t->minute > 59 || t->second > 60)
        return -1;
    return 0;
}

long long itip_time_to_unix(struct icaltimetype t)
{
    int m = (t.month >= 1 && t.month <= 12) ? t.month : 1;
    int d = (t.day >= 1 && t.day <= 31) ? t.day : 1;
    long long s = itip_days_from_civil(t.year, m, d) * 86400LL;

    if (!t.is_date)
        s += t.hour * 3600LL + t.minute * 60LL + t.second;
    return s;
}

const char *itip_time_str(struct icaltimetype t, char *buf, size_t len)
{
    if (t.is_date)
        snprintf(buf, len, "%04d%02d%02d", t.year, t.month, t.day);
    else
        snprintf(buf, len, "%04d%02d%02dT%02d%02d%02d%s", t.year, t.month, t.day, t.hour,
                 t.minute, t.second, icaltime_is_utc(t) ? "Z" : "");
    return buf;
}

const char *itip_mailto(const char *v)
{
    if (v == NULL)
        return NULL;
    while (*v == ' ' || *v == '\t')
        v++;
    if (strncasecmp(v, "mailto:", 7) != 0)
        return NULL;
    return v + 7;
}

int itip_addr_valid(const char *s)
{
    const char *at, *p;

    if (s == NULL || *s == '\0')
        return 0;
    at = strrchr(s, '@');
    if (at == NULL || at == s || at[1] == '\0')
        return 0;
    for (p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= ' ' || ch == 0x7f || ch == '<' || ch == '>' || ch == '(' || ch == ')' ||
            ch == ',' || ch == ';' || ch == '\\' || ch == '[' || ch == ']')
            return 0;
        if (ch == '@' && p != at)
            return 0;
    }
    /* the domain needs at least one dot-separated label and no empty labels */
    for (p = at + 1; *p; p++)
        if (*p == '.' && (p == at + 1 || p[1] == '.' || p[1] == '\0'))
            return 0;
    return 1;
}

int itip_addr_equal(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

const char *itip_addr_domain(const char *addr)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    return (at && at[1]) ? at + 1 : NULL;
}

/* Copies [s, e) into buf when it looks like an address; returns buf or NULL. */
static char *take_addr(const char *s, const char *e, char *buf, size_t len)
{
    size_t n;

    while (s < e && (*s == ' ' || *s == '\t' || *s == '"'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '"' || e[-1] == '\r' ||
                     e[-1] == '\n'))
        e--;
    n = (size_t)(e - s);
    if (n == 0 || n >= len || memchr(s, '@', n) == NULL)
        return NULL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

char *itip_header_addr(const char *header, char *buf, size_t len)
{
    const char *lt, *gt, *s, *e;

    if (header == NULL || len == 0)
        return NULL;
    lt = strchr(header, '<');
    if (lt != NULL && (gt = strchr(lt, '>')) != NULL)
        return take_addr(lt + 1, gt, buf, len);
    /* bare addr-spec, possibly followed by a comment or another address */
    s = header;
    while (*s == ' ' || *s == '\t')
        s++;
    e = s;
    while (*e && *e != ' ' && *e != '\t' && *e != ',' && *e != '(' && *e != ';')
        e++;
    return take_addr(s, e, buf, len);
}

/* The learned record of DOMAIN (or, when DOMAIN is NULL, of the meeting UID), looked up once
 * per message and domain: 1 learned, 0 not (or no store, or it failed: the stateful side then
 * says so). */
static int learned_legacy(itip_calctx *c, const char *domain, const char *uid)
{
    itip_statework *w = c->msg->work;
    char asked[ITIP_REC_MAX_ADDR + 1];
    int r;

    if (!c->msg->cfg->learn_legacy_cdo || c->msg->store == NULL || w == NULL || w->failed)
        return 0;
    snprintf(asked, sizeof asked, "%s%s", domain ? "d:" : "u:", domain ? domain : itip_nz(uid));
    if (strcmp(asked, w->legacy_asked) == 0)
        return w->legacy_found;
    r = domain ? itip_record_get_legacy(c->msg->store, domain, c->msg->now, &w->legacy)
               : itip_record_get_legacy_uid(c->msg->store, uid, c->msg->now, &w->legacy);
    if (r < 0) {
        w->failed = 1;
        return 0;
    }
    snprintf(w->legacy_asked, sizeof w->legacy_asked, "%s", asked);
    w->legacy_found = r == 0 && !itip_config_is_modern_domain(c->msg->cfg, w->legacy.domain);
    return w->legacy_found;
}

/* Legacy by the configuration (1), modern (0), or unknown (-1) for DOMAIN. */
static int configured(const itip_config *cfg, const char *domain)
{
    if (domain == NULL)
        return -1;
    if (itip_config_is_legacy_domain(cfg, domain))
        return 1;
    return itip_config_is_modern_domain(cfg, domain) ? 0 : -1;
}

const char *itip_sent_by(icalproperty *p)
{
    icalparameter *sb = p ? icalproperty_get_first_parameter(p, ICAL_SENTBY_PARAMETER) : NULL;
    const char *v = sb ? icalparameter_get_sentby(sb) : NULL;

    return v != NULL && itip_mailto(v) != NULL ? itip_mailto(v) : v;
}

int itip_target_is_legacy(itip_calctx *c, icalcomponent *event)
{
    const itip_config *cfg = c->msg->cfg;
    icalproperty *org, *uidp;
    const char *dom = NULL;
    size_t i;
    int k;

    if (c->msg->work != NULL)
        c->msg->work->legacy_used = 0;
    org = event ? icalcomponent_get_first_property(event, ICAL_ORGANIZER_PROPERTY) : NULL;
    if (org != NULL) {
        const char *addr = itip_mailto(icalproperty_get_organizer(org));
        if (addr != NULL && (dom = itip_addr_domain(addr)) != NULL) {
            if ((k = configured(cfg, dom)) >= 0)
                return k;       /* legacy_cdo_domains and modern_domains win */
            if (learned_legacy(c, dom, NULL))
                return c->msg->work->legacy_used = 1;
        }
    }
    for (i = 0; dom == NULL && i < c->msg->nrcpts; i++)
        if (configured(cfg, itip_addr_domain(c->msg->rcpts[i])) == 1)
            return 1;
    uidp = event ? icalcomponent_get_first_property(event, ICAL_UID_PROPERTY) : NULL;
    if (uidp != NULL && learned_legacy(c, NULL, icalproperty_get_uid(uidp)) &&
        configured(cfg, c->msg->work->legacy.domain) != 0)
        return c->msg->work->legacy_used = 1;
    for (i = 0; dom == NULL && i < c->msg->nrcpts; i++) {
        const char *d = itip_addr_domain(c->msg->rcpts[i]);
        if (configured(cfg, d) < 0 && learned_legacy(c, d, NULL))
            return c->msg->work->legacy_used = 1;
    }
    return 0;
}

const char *itip_legacy_note(itip_calctx *c, char *buf, size_t len)
{
    const itip_statework *w = c->msg->work;
    char day[16];
    time_t t;
    struct tm tm;

    if (w == NULL || !w->legacy_used || !w->legacy_found)
        return "";
    t = (time_t)w->legacy.since;
    gmtime_r(&t, &tm);
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    snprintf(buf, len, "; %s learned as Exchange 2003/CDO from a %s on %s", w->legacy.domain,
             w->legacy.how, day);
    return buf;
}

int itip_written_by_cdo(const itip_calctx *c)
{
    icalproperty *p = c->vcal ? icalcomponent_get_first_property(c->vcal, ICAL_PRODID_PROPERTY)
                              : NULL;
    const char *v = p ? icalproperty_get_prodid(p) : NULL;
    const char *mime = c->msg->hdrs ? c->msg->hdrs->x_mimeole : NULL;
    static const char cdo[] = "Microsoft CDO for Microsoft Exchange";
    static const char v65[] = "Produced By Microsoft Exchange V6.5";

    while (v != NULL && (*v == ' ' || *v == '\t'))
        v++;
    while (mime != NULL && (*mime == ' ' || *mime == '\t'))
        mime++;
    return (v != NULL && strncasecmp(v, cdo, sizeof cdo - 1) == 0) ||
           (mime != NULL && strncasecmp(mime, v65, sizeof v65 - 1) == 0);
}

icalcomponent *itip_series_master(const itip_calctx *c, const char *uid)
{
    size_t i;

    for (i = 0; i < c->nuids; i++)
        if (c->uids[i].uid != NULL && strcmp(c->uids[i].uid, uid) == 0 &&
            icalcomponent_get_first_property(c->uids[i].comp, ICAL_RECURRENCEID_PROPERTY) == NULL)
            return c->uids[i].comp;
    return NULL;
}

icalcomponent *itip_main_event(itip_calctx *c)
{
    icalcompiter it;
    icalcomponent *ev, *first = NULL;

    if (c->vcal == NULL)
        return NULL;
    /* an external iterator: callers may be looping over the VEVENTs themselves */
    for (it = icalcomponent_begin_component(c->vcal, ICAL_VEVENT_COMPONENT);
         (ev = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it)) {
        if (first == NULL)
            first = ev;
        if (icalcomponent_get_first_property(ev, ICAL_RECURRENCEID_PROPERTY) == NULL)
            return ev;
    }
    return first;
}

/* True if every STANDARD/DAYLIGHT rule of the zone is yearly, so that libical's expansion of
 * it stays cheap (a few changes per year). */
static int zone_yearly(icaltimezone *z)
{
    icalcomponent *vtz = icaltimezone_get_component(z), *sub;
    icalcompiter it;

    if (vtz == NULL)
        return 0;
    for (it = icalcomponent_begin_component(vtz, ICAL_ANY_COMPONENT);
         (sub = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it)) {
        icalproperty *r;
        for (r = icalcomponent_get_first_property(sub, ICAL_RRULE_PROPERTY); r != NULL;
             r = icalcomponent_get_next_property(sub, ICAL_RRULE_PROPERTY)) {
            icalvalue *v = icalproperty_get_value(r);
            if (v == NULL || icalvalue_isa(v) != ICAL_RECUR_VALUE ||
                icalvalue_get_recur(v).freq != ICAL_YEARLY_RECURRENCE)
                return 0;
        }
    }
    return 1;
}

icaltimezone *itip_cheap_zone(itip_calctx *c, const char *tzid)
{
    icaltimezone *tz;
    icalcompiter it;
    icalcomponent *vtz;

    if (tzid == NULL || c->vcal == NULL)
        return NULL;
    tz = icalcomponent_get_timezone(c->vcal, tzid);
    for (it = icalcomponent_begin_component(c->vcal, ICAL_VTIMEZONE_COMPONENT);
         tz == NULL && (vtz = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it)) {
        icalproperty *p = icalcomponent_get_first_property(vtz, ICAL_TZID_PROPERTY);
        const char *id = p ? icalproperty_get_tzid(p) : NULL;
        if (id != NULL && strcasecmp(id, tzid) == 0)
            tz = icalcomponent_get_timezone(c->vcal, id);
    }
    return tz != NULL && zone_yearly(tz) ? tz : NULL;
}

int itip_by_count(const short *a, int size)
{
    int n = 0;

    while (n < size && a[n] != ICAL_RECURRENCE_ARRAY_MAX)
        n++;
    return n;
}

/* ---- UTC offsets of a VTIMEZONE without libical's expansion ----
 *
 * libical (icaltimezone_get_utc_offset) expands every STANDARD/DAYLIGHT onset from the first
 * DTSTART (1601 for Outlook's zones) up to five years past the clock, sorts them by UTC, and
 * takes the last onset whose local time (UTC plus the smaller of TZOFFSETFROM and TZOFFSETTO)
 * is at or before the wall-clock time asked.  The same answer needs only the onsets near that
 * time: every DTSTART and RDATE, and the yearly rule's onsets of the two years before, the
 * year of and the year after the time (and the last two years of an UNTIL). */

#define ZC_MAX 256              /* onsets looked at per call; more: libical answers */
#define ZONE_YEAR_MIN 3         /* times and DTSTARTs outside these years: libical answers */
#define ZONE_YEAR_MAX 2570      /* (it expands no further than the year 2582) */
#define SECS_PER_DAY 86400LL
#define ZONE_NEAR (2 * SECS_PER_DAY) /* beyond any accepted UTC offset */

typedef struct {
    long long utc;              /* the onset, seconds since the epoch */
    int to, from;               /* TZOFFSETTO, TZOFFSETFROM */
    int dst;                    /* from a DAYLIGHT */
    int seq;                    /* the observance's place in the VTIMEZONE */
} zonset;

typedef struct {
    zonset v[ZC_MAX];
    int n;
} zlist;

typedef enum { YR_NTH, YR_WEEK_FROM, YR_DATE } yrkind;

typedef struct {
    yrkind kind;
    int month, day;             /* YR_DATE: the date; YR_WEEK_FROM: the first BYMONTHDAY */
    int wday, nth;              /* 0 = Sunday; nth 1..4 or -1..-4 (YR_NTH) */
    int until;                  /* 0 none, 1 a date-time, 2 a DATE */
    long long until_s;          /* local seconds (1) or days (2), as libical compares them */
    int until_year;
} yrule;

static int leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int md[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && leap_year(y) ? 29 : md[m - 1];
}

/* 0 = Sunday. */
static int week_day(int y, int m, int d)
{
    long long w = (itip_days_from_civil(y, m, d) + 4) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

static int fields_valid(struct icaltimetype t)
{
    return t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= month_days(t.year, t.month) &&
           t.hour >= 0 && t.hour <= 23 && t.minute >= 0 && t.minute <= 59 && t.second >= 0 &&
           t.second <= 59;
}

static int zadd(zlist *z, long long utc, int to, int from, int dst, int seq)
{
    if (z->n == ZC_MAX)
        return -1;
    z->v[z->n].utc = utc;
    z->v[z->n].to = to;
    z->v[z->n].from = from;
    z->v[z->n].dst = dst;
    z->v[z->n].seq = seq;
    z->n++;
    return 0;
}

/* True if a BYHOUR/BYMINUTE/BYSECOND list is empty or only DTSTART's own value V. */
static int same_field(const short *a, int size, int v)
{
    int n = itip_by_count(a, size);
    return n == 0 || (n == 1 && a[0] == v);
}

/* Reads a yearly RRULE of the shapes computed here; -1 for any other. */
static int read_yrule(icalproperty *p, struct icaltimetype dt, int from, yrule *r)
{
    icalvalue *v = icalproperty_get_value(p);
    struct icalrecurrencetype rec;
    int nday, nmday, nmon, i;

    if (v == NULL || icalvalue_isa(v) != ICAL_RECUR_VALUE)
        return -1;
    rec = icalvalue_get_recur(v);
    nday = itip_by_count(rec.by_day, ICAL_BY_DAY_SIZE);
    nmday = itip_by_count(rec.by_month_day, ICAL_BY_MONTHDAY_SIZE);
    nmon = itip_by_count(rec.by_month, ICAL_BY_MONTH_SIZE);
    if (rec.freq != ICAL_YEARLY_RECURRENCE || rec.interval != 1 || rec.count != 0 ||
        (rec.rscale != NULL && *rec.rscale != '\0') ||
        !same_field(rec.by_second, ICAL_BY_SECOND_SIZE, dt.second) ||
        !same_field(rec.by_minute, ICAL_BY_MINUTE_SIZE, dt.minute) ||
        !same_field(rec.by_hour, ICAL_BY_HOUR_SIZE, dt.hour) ||
        itip_by_count(rec.by_year_day, ICAL_BY_YEARDAY_SIZE) ||
        itip_by_count(rec.by_week_no, ICAL_BY_WEEKNO_SIZE) ||
        itip_by_count(rec.by_set_pos, ICAL_BY_SETPOS_SIZE) || nmon > 1 || nday > 1)
        return -1;
    memset(r, 0, sizeof *r);
    if (nmon == 0 && nday == 0 && nmday == 0) {
        /* the DTSTART's date every year */
        if (dt.month == 2 && dt.day == 29)
            return -1;
        r->kind = YR_DATE;
        r->month = dt.month;
        r->day = dt.day;
    } else if (nmon == 1 && nday == 1) {
        r->month = icalrecurrencetype_month_month(rec.by_month[0]);
        r->wday = (int)icalrecurrencetype_day_day_of_week(rec.by_day[0]) - 1;
        r->nth = icalrecurrencetype_day_position(rec.by_day[0]);
        if (r->month < 1 || r->month > 12 || icalrecurrencetype_month_is_leap(rec.by_month[0]) ||
            r->wday < 0 || r->wday > 6)
            return -1;
        if (nmday == 0 && r->nth != 0 && r->nth >= -4 && r->nth <= 4) {
            r->kind = YR_NTH;
        } else if (nmday == 7 && r->nth == 0) {
            /* BYMONTHDAY=d,...,d+6;BYDAY=SU: the Sunday of those seven days (all of them
             * in the month every year) */
            r->kind = YR_WEEK_FROM;
            r->day = rec.by_month_day[0];
            for (i = 0; i < 7; i++)
                if (rec.by_month_day[i] != r->day + i)
                    return -1;
            if (r->day < 1 || r->day + 6 > month_days(2001, r->month))
                return -1;
        } else {
            return -1;
        }
    } else {
        return -1;
    }
    if (!icaltime_is_null_time(rec.until)) {
        if (rec.until.is_date) {
            r->until = 2;
            r->until_s = itip_days_from_civil(rec.until.year, rec.until.month, rec.until.day);
        } else {
            r->until = 1;
            r->until_s = itip_time_to_unix(rec.until);
            /* libical moves a UTC UNTIL to local time with TZOFFSETFROM */
            if (icaltime_is_utc(rec.until))
                r->until_s += from;
        }
        if (!fields_valid(rec.until) || rec.until.year < ZONE_YEAR_MIN)
            return -1;
        r->until_year = rec.until.year;
    }
    return 0;
}

/* The rule's onset (local date) in year Y; 0 when it has none there. */
static int rule_date(const yrule *r, int y, int *m, int *d)
{
    int last, w;

    *m = r->month;
    switch (r->kind) {
    case YR_DATE:
        *d = r->day;
        return 1;
    case YR_WEEK_FROM:
        *d = r->day + (r->wday - week_day(y, r->month, r->day) + 7) % 7;
        return 1;
    case YR_NTH:
        if (r->nth > 0) {
            w = week_day(y, r->month, 1);
            *d = 1 + (r->wday - w + 7) % 7 + (r->nth - 1) * 7;
        } else {
            last = month_days(y, r->month);
            w = week_day(y, r->month, last);
            *d = last - (w - r->wday + 7) % 7 - (-r->nth - 1) * 7;
        }
        return 1;
    }
    return 0;
}

/* Adds the rule's onset of year Y when it lies after DTSTART and not after UNTIL. */
static int add_rule_year(zlist *z, const yrule *r, struct icaltimetype dt, long long dt_s,
                         int y, int to, int from, int dst, int seq)
{
    int m, d;
    long long day, local;

    if (y < dt.year || !rule_date(r, y, &m, &d))
        return 0;
    day = itip_days_from_civil(y, m, d);
    local = day * SECS_PER_DAY + dt.hour * 3600LL + dt.minute * 60LL + dt.second;
    if (local <= dt_s || (r->until == 1 && local > r->until_s) ||
        (r->until == 2 && day >= r->until_s))
        return 0;
    return zadd(z, local - from, to, from, dst, seq);
}

/* Adds the onsets of one STANDARD/DAYLIGHT that matter for year Y.  -1: not computed here. */
static int add_observance(zlist *z, icalcomponent *sub, int y, int seq)
{
    icalproperty *p, *rrule = NULL;
    struct icaltimetype dt = icaltime_null_time();
    int ndt = 0, nto = 0, nfrom = 0, nrr = 0, to = 0, from = 0, dst, i, ny = 4;
    int years[6];
    long long dt_s;
    yrule r;

    if (icalcomponent_isa(sub) == ICAL_XSTANDARD_COMPONENT)
        dst = 0;
    else if (icalcomponent_isa(sub) == ICAL_XDAYLIGHT_COMPONENT)
        dst = 1;
    else
        return 0;
    for (p = icalcomponent_get_first_property(sub, ICAL_ANY_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(sub, ICAL_ANY_PROPERTY)) {
        switch (icalproperty_isa(p)) {
        case ICAL_DTSTART_PROPERTY:
            ndt++;
            dt = icalproperty_get_dtstart(p);
            if (icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER) != NULL)
                return -1;
            break;
        case ICAL_TZOFFSETTO_PROPERTY:
            nto++;
            to = icalproperty_get_tzoffsetto(p);
            break;
        case ICAL_TZOFFSETFROM_PROPERTY:
            nfrom++;
            from = icalproperty_get_tzoffsetfrom(p);
            break;
        case ICAL_RRULE_PROPERTY:
            nrr++;
            rrule = p;
            break;
        default:
            break;
        }
    }
    if (nto == 1 && nfrom == 0) {
        from = to;              /* as libical: Outlook for Mac leaves it out without DST */
        nfrom = 1;
    }
    if (ndt == 0 || nto == 0 || nfrom == 0)
        return 0;               /* libical ignores the observance */
    if (ndt > 1 || nto > 1 || nfrom > 1 || nrr > 1 || dt.is_date || icaltime_is_utc(dt) ||
        !fields_valid(dt) || dt.year < ZONE_YEAR_MIN || dt.year > ZONE_YEAR_MAX ||
        to <= -SECS_PER_DAY || to >= SECS_PER_DAY || from <= -SECS_PER_DAY ||
        from >= SECS_PER_DAY)
        return -1;
    dt_s = itip_time_to_unix(dt);
    if (zadd(z, dt_s - from, to, from, dst, seq) < 0)
        return -1;
    for (p = icalcomponent_get_first_property(sub, ICAL_RDATE_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(sub, ICAL_RDATE_PROPERTY)) {
        struct icaldatetimeperiodtype rd = icalproperty_get_rdate(p);
        long long s;
        if (icaltime_is_null_time(rd.time) || !fields_valid(rd.time))
            return -1;
        s = itip_time_to_unix(rd.time);
        /* libical: a DATE takes DTSTART's time and is then read as UTC; a local date-time
         * is in TZOFFSETFROM */
        if (rd.time.is_date)
            s += dt.hour * 3600LL + dt.minute * 60LL + dt.second;
        else if (!icaltime_is_utc(rd.time))
            s -= from;
        if (zadd(z, s, to, from, dst, seq) < 0)
            return -1;
    }
    if (rrule == NULL)
        return 0;
    if (read_yrule(rrule, dt, from, &r) < 0)
        return -1;
    /* the onsets that can be the last before a time of year Y, or the one after it: those
     * of Y - 2 .. Y + 1, and when the rule ended before, its last two */
    for (i = 0; i < 4; i++)
        years[i] = y - 2 + i;
    if (r.until != 0 && r.until_year < y - 2) {
        years[ny++] = r.until_year - 1;
        years[ny++] = r.until_year;
    }
    for (i = 0; i < ny; i++)
        if (add_rule_year(z, &r, dt, dt_s, years[i], to, from, dst, seq) < 0)
            return -1;
    return 0;
}

/* By UTC; at one instant in the order of the observances, as the stable merge sort of glibc's
 * qsort leaves libical's list (onsets of one observance at one instant are alike). */
static int onset_cmp(const void *a, const void *b)
{
    const zonset *x = a, *y = b;

    if (x->utc != y->utc)
        return x->utc < y->utc ? -1 : 1;
    return x->seq - y->seq;
}

/* The local time from which libical applies an onset: UTC plus the smaller offset. */
static long long onset_local(const zonset *o)
{
    return o->utc + (o->to < o->from ? o->to : o->from);
}

/* The onsets of ZONE near year Y, sorted, into Z; 1 when the zone has no usable observance
 * (libical answers 0), -1 when it is not computed here (or ZONE is not a parsed VTIMEZONE). */
static int zone_onsets(icaltimezone *zone, int y, zlist *z)
{
    icalcomponent *vtz = icaltimezone_get_component(zone), *sub;
    icalcompiter it;
    int seq = 0;

    if (vtz == NULL || y < ZONE_YEAR_MIN || y > ZONE_YEAR_MAX)
        return -1;
    z->n = 0;
    for (it = icalcomponent_begin_component(vtz, ICAL_ANY_COMPONENT);
         (sub = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it))
        if (add_observance(z, sub, y, seq++) < 0)
            return -1;
    if (z->n == 0)
        return 1;
    qsort(z->v, (size_t)z->n, sizeof z->v[0], onset_cmp);
    return 0;
}

/* The onsets around T (UTC seconds): [*A, *B], widened by one on each side. */
static void zone_window(const zlist *z, long long t, int *a, int *b)
{
    int i, j;

    for (i = 0; i + 1 < z->n && z->v[i + 1].utc < t - ZONE_NEAR; i++)
        ;
    *a = i > 0 ? i - 1 : 0;
    for (j = z->n - 1; j > 0 && z->v[j - 1].utc > t + ZONE_NEAR; j--)
        ;
    *b = j + 1 < z->n ? j + 1 : z->n - 1;
}

/* What both direct offset computations do first: *OFFSET (and *IS_DAYLIGHT) zeroed, then
 * 1 when that is the answer (no zone, UTC, no usable observance: libical says 0), -1 when
 * TT or the zone is beyond the direct computation, 0 with the onsets near TT in *Z and TT as
 * seconds in *T. */
static int zone_begin(icaltimezone *zone, const struct icaltimetype *tt, int *offset,
                      int *is_daylight, zlist *z, long long *t)
{
    int rc;

    if (is_daylight != NULL)
        *is_daylight = 0;
    *offset = 0;
    if (tt == NULL || zone == NULL || zone == icaltimezone_get_utc_timezone())
        return 1;
    if (!fields_valid(*tt) || (rc = zone_onsets(zone, tt->year, z)) < 0)
        return -1;
    if (rc > 0)
        return 1;
    *t = itip_time_to_unix(*tt);
    return 0;
}

int itip_zone_utc_offset_direct(icaltimezone *zone, const struct icaltimetype *tt, int *offset,
                                int *is_daylight)
{
    zlist z;
    long long t;
    int i, a, b, k, rc;
    const zonset *use;

    if ((rc = zone_begin(zone, tt, offset, is_daylight, &z, &t)) != 0)
        return rc > 0 ? 0 : -1;
    /* libical's search steps from the onsets around T in UTC order: there they must be
     * ordered strictly by UTC and by local onset, as in any sane zone, except onsets at one
     * instant with the same offsets (Outlook's STANDARD and DAYLIGHT at 1601-01-01 of a zone
     * without daylight time): the offset is the same whichever libical takes */
    zone_window(&z, t, &a, &b);
    for (i = a; i < b; i++)
        if (z.v[i].utc == z.v[i + 1].utc ? z.v[i].to != z.v[i + 1].to ||
                                               z.v[i].from != z.v[i + 1].from
                                         : onset_local(&z.v[i]) >= onset_local(&z.v[i + 1]))
            return -1;
    for (k = b; k >= a && onset_local(&z.v[k]) > t; k--)
        ;
    if (k < a) {
        if (a != 0)
            return -1;
        /* before the first onset: its TZOFFSETFROM, and the other kind of time */
        *offset = z.v[0].from;
        if (is_daylight != NULL)
            *is_daylight = !z.v[0].dst;
        return 0;
    }
    use = &z.v[k];
    /* the hour that repeats when clocks go back: libical takes the onset whose kind of time
     * matches tt->is_daylight (standard time unless it is set), if the one before differs */
    if (use->to < use->from && k > 0 && t < use->utc + use->from) {
        int want = tt->is_daylight == 1;
        if (k - 1 < a)
            return -1;
        if (use->dst != want && z.v[k - 1].dst == want)
            use = &z.v[k - 1];
    }
    *offset = use->to;
    if (is_daylight != NULL)
        *is_daylight = use->dst;
    return 0;
}

int itip_zone_utc_offset_of_utc_direct(icaltimezone *zone, const struct icaltimetype *tt,
                                       int *offset, int *is_daylight)
{
    zlist z;
    long long t;
    int i, a, b, k, rc;

    if ((rc = zone_begin(zone, tt, offset, is_daylight, &z, &t)) != 0)
        return rc > 0 ? 0 : -1;
    /* libical takes the last onset (in its sorted order) at or before T; onsets at one
     * instant near T must have the same offsets */
    zone_window(&z, t, &a, &b);
    for (i = a; i < b; i++)
        if (z.v[i].utc == z.v[i + 1].utc &&
            (z.v[i].to != z.v[i + 1].to || z.v[i].from != z.v[i + 1].from))
            return -1;
    for (k = b; k >= a && z.v[k].utc > t; k--)
        ;
    if (k < a) {
        if (a != 0)
            return -1;
        *offset = z.v[0].from;  /* before the first onset, as for a wall-clock time */
        if (is_daylight != NULL)
            *is_daylight = !z.v[0].dst;
        return 0;
    }
    *offset = z.v[k].to;
    if (is_daylight != NULL)
        *is_daylight = z.v[k].dst;
    return 0;
}

int itip_zone_utc_offset_of_utc(icaltimezone *zone, const struct icaltimetype *tt,
                                int *is_daylight)
{
    struct icaltimetype copy;
    int off;

    if (itip_zone_utc_offset_of_utc_direct(zone, tt, &off, is_daylight) == 0)
        return off;
    copy = *tt;
    return icaltimezone_get_utc_offset_of_utc_time(zone, &copy, is_daylight);
}

void itip_zone_convert_time(struct icaltimetype *tt, icaltimezone *from, icaltimezone *to)
{
    int off, dst = 0;

    if (icaltime_is_date(*tt) || from == to || from == NULL)
        return;
    off = itip_zone_utc_offset(from, tt, NULL);
    icaltime_adjust(tt, 0, 0, 0, -off);
    off = itip_zone_utc_offset_of_utc(to, tt, &dst);
    tt->is_daylight = dst;
    icaltime_adjust(tt, 0, 0, 0, off);
}

int itip_zone_utc_offset(icaltimezone *zone, const struct icaltimetype *tt, int *is_daylight)
{
    struct icaltimetype copy;
    int off;

    if (itip_zone_utc_offset_direct(zone, tt, &off, is_daylight) == 0)
        return off;
    copy = *tt;
    return icaltimezone_get_utc_offset(zone, &copy, is_daylight);
}
