/*
 * calutil.c - small helpers shared by the rule groups (declared in calutil.h).
 *
 * Finding emission with the calendar context filled in, reporting a value once, the text of
 * details (NULL as "", the "..." of a cut value), the METHOD tests, the case-insensitive
 * comparison of TZID lists, case-insensitive X-property and X-parameter lookup (libical's own
 * lookups are case-sensitive), the Outlook safe time window of the catalogue (section 0.3),
 * date-time parsing and conversion, address helpers, cheap time zones, the main VEVENT and a
 * series master.  Pure functions over libical objects; never keeps a pointer past the call
 * (except the values itip_note_once is given to remember, in the caller's array), never
 * allocates except through itip_findings_add().
 */
#include "ac-config.h"
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "rules/calendar.h"
#include "rules/calutil.h"
#include "mime/mimehdr.h"

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

int itip_target_is_legacy(itip_calctx *c, icalcomponent *event)
{
    const itip_config *cfg = c->msg->cfg;
    icalproperty *org;
    size_t i;

    if (cfg->n_legacy_cdo_domains == 0)
        return 0;
    org = event ? icalcomponent_get_first_property(event, ICAL_ORGANIZER_PROPERTY) : NULL;
    if (org != NULL) {
        const char *addr = itip_mailto(icalproperty_get_organizer(org));
        if (addr != NULL)
            return itip_config_is_legacy_domain(cfg, itip_addr_domain(addr));
    }
    for (i = 0; i < c->msg->nrcpts; i++)
        if (itip_config_is_legacy_domain(cfg, itip_addr_domain(c->msg->rcpts[i])))
            return 1;
    return 0;
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
