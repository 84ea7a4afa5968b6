/*
 * test_rules.c - every rule against its own test messages under t/rules/<rule-id>/.
 *
 *   pos-*.eml|.ics          must produce a finding of <rule-id>
 *   pos-<severity>-*        ... and one of them with that severity (info, degrade, would-fail)
 *   neg-*.eml|.ics          must not produce <rule-id>, nor any would-fail finding at all
 *   test.conf               optional configuration for every file of the directory
 *   pos-[<severity>-]NAME/  a scenario for the stateful rules: its files 01-*.eml|.ics,
 *   neg-NAME/               02-*... are fed in name order to one engine with a fresh LMDB
 *                           store (a temporary directory), recording after each; the assertion
 *                           above applies to the LAST file only
 *
 * Every rule of the table must have at least one positive and one negative file or scenario.
 * The clock is fixed at 2026-06-01T12:00:00Z.
 *
 * Then itip_zone_utc_offset_direct() against libical's icaltimezone_get_utc_offset() for every
 * distinct VTIMEZONE of every calendar under t/ (t/tz/ holds zones of unusual shapes),
 * samples/ and ../shared/corpus/ (skipped, with a message, when absent): the 1st and 15th of
 * every month of 1970..2100 at 00:00, 02:30 and 12:00, a few earlier years, and every half
 * hour (with is_daylight 0 and 1) of the two days around each change of offset of a few years.
 * Offsets and is_daylight must agree wherever the function answers; it prints how many zones
 * and instants were compared and how many zones were left to libical.  The same instants,
 * read as UTC, for itip_zone_utc_offset_of_utc_direct() against
 * icaltimezone_get_utc_offset_of_utc_time(), and itip_zone_convert_time() against
 * icaltimezone_convert_time() from each zone to UTC and from UTC to it (result and
 * is_daylight).
 *
 * Then the premise of H4's shortcut (rules_recur.c skips the expansion of a rule without
 * BYHOUR, BYMINUTE and BYSECOND when there are no RDATEs): libical's iterator, run as H4 runs
 * it (floating DTSTART, UNTIL 10 years on), gives every instance of such a rule DTSTART's time
 * of day.  Checked for every RRULE of a VEVENT under t/, samples/ and the corpus (400
 * instances) and for some 1,400 generated DAILY..YEARLY rules (BYDAY with and without
 * ordinals, BYMONTHDAY, BYMONTH, BYSETPOS, INTERVAL, COUNT; 40 instances each); and, as a
 * control, that rules with BYHOUR or BYMINUTE do give other times.
 */
#include "ac-config.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/config.h"
#include "engine/engine.h"
#include "base/strbuf.h"
#include "mime/mime.h"
#include "rules/calutil.h"
#include "tap.h"

#define TEST_NOW 1780315200   /* 2026-06-01T12:00:00Z */

static int slurp(const char *path, strbuf *b)
{
    FILE *fp = fopen(path, "rb");
    char buf[8192];
    size_t n;

    if (fp == NULL)
        return -1;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        itip_strbuf_append(b, buf, n);
    fclose(fp);
    return 0;
}

static const char *severity_in_name(const char *name, itip_severity *sev)
{
    static const struct { const char *prefix; itip_severity s; } map[] = {
        { "pos-would-fail-", ITIP_SEV_WOULD_FAIL },
        { "pos-degrade-", ITIP_SEV_DEGRADE },
        { "pos-info-", ITIP_SEV_INFO },
    };
    size_t i;

    for (i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncmp(name, map[i].prefix, strlen(map[i].prefix)) == 0) {
            *sev = map[i].s;
            return map[i].prefix;
        }
    return NULL;
}

static void list_findings(const itip_findings *f)
{
    size_t i;

    for (i = 0; i < f->n; i++)
        diag("  found %s (%s): %s", itip_rules[f->v[i].rule].id,
             itip_severity_name(f->v[i].severity), f->v[i].detail);
}

/* Feeds one file to E (fresh or reset) and finishes; 0, or -1 when unreadable or failed. */
static int run_file(itip_engine *e, const char *path)
{
    strbuf data;
    int rc;

    itip_strbuf_init(&data, 0);
    if (slurp(path, &data) < 0) {
        itip_strbuf_free(&data);
        return -1;
    }
    itip_engine_set_now(e, TEST_NOW);
    rc = itip_looks_like_ical(data.s, data.len) ? itip_engine_feed_ical(e, data.s, data.len)
                                                : itip_engine_feed(e, data.s, data.len);
    if (rc == 0)
        rc = itip_engine_finish(e);
    itip_strbuf_free(&data);
    return rc;
}

/* The assertion of a pos-/neg- NAME on the findings of E (RC: the run's result). */
static void judge(const char *name, int rule, const itip_engine *e, int rc)
{
    const itip_findings *f = itip_engine_findings(e);
    int pos = strncmp(name, "pos-", 4) == 0, has = 0, sev_ok = 0, wf = 0;
    itip_severity want = ITIP_SEV_NONE;
    size_t i;

    for (i = 0; i < f->n; i++) {
        if ((int)f->v[i].rule == rule)
            has = 1;
        if (f->v[i].severity == ITIP_SEV_WOULD_FAIL)
            wf = 1;
    }
    if (pos && severity_in_name(name, &want) != NULL) {
        for (i = 0; i < f->n; i++)
            if ((int)f->v[i].rule == rule && f->v[i].severity == want)
                sev_ok = 1;
        if (!ok(rc == 0 && sev_ok, "%s/%s raises %s as %s", itip_rules[rule].id, name,
                itip_rules[rule].id, itip_severity_name(want)))
            list_findings(f);
    } else if (pos) {
        if (!ok(rc == 0 && has, "%s/%s raises %s", itip_rules[rule].id, name, itip_rules[rule].id))
            list_findings(f);
    } else {
        if (!ok(rc == 0 && !has && !wf, "%s/%s: no %s and no would-fail", itip_rules[rule].id,
                name, itip_rules[rule].id))
            list_findings(f);
    }
}

static void check_file(const char *dir, const char *name, int rule, const itip_config *cfg)
{
    char path[8192];
    itip_engine *e;
    int rc;

    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        ok(0, "path of %s fits", name);
        return;
    }
    if ((e = itip_engine_new(cfg)) == NULL) {
        ok(0, "%s: engine", name);
        return;
    }
    rc = run_file(e, path);
    judge(name, rule, e, rc);
    itip_engine_free(e);
}

/* ---- scenarios: several files through one engine and one store ---- */

static int is_step(const struct dirent *d)
{
    return d->d_name[0] >= '0' && d->d_name[0] <= '9' &&
           (strstr(d->d_name, ".eml") != NULL || strstr(d->d_name, ".ics") != NULL);
}

static int by_name(const struct dirent **a, const struct dirent **b);

/* Removes the files of a store directory, then the directory. */
static void remove_store_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *x;
    char path[4200];

    while (d != NULL && (x = readdir(d)) != NULL) {
        if (strcmp(x->d_name, ".") == 0 || strcmp(x->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, x->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
}

static itip_store *open_temp_store(const itip_config *cfg, char *dir, size_t len)
{
    itip_state_config sc = cfg->state;
    const char *tmp = getenv("TMPDIR");
    char err[512];
    itip_store *st;

    snprintf(dir, len, "%s/itip-rules-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        diag("mkdtemp %s: %s", dir, strerror(errno));
        return NULL;
    }
    sc.backend = (char *)"lmdb";
    sc.path = dir;
    st = itip_store_open(&sc, err, sizeof err);
    if (st == NULL) {
        diag("store in %s: %s", dir, err);
        remove_store_dir(dir);
    }
    return st;
}

static void check_scenario(const char *dir, const char *name, int rule, const itip_config *cfg)
{
    char sdir[4096], store_dir[4096], path[8400];
    struct dirent **steps;
    itip_store *st;
    itip_engine *e;
    int n, i, rc = -1;

    if (snprintf(sdir, sizeof sdir, "%s/%s", dir, name) >= (int)sizeof sdir) {
        ok(0, "path of %s fits", name);
        return;
    }
    n = scandir(sdir, &steps, is_step, by_name);
    if (!ok(n > 0, "%s/%s has numbered steps", itip_rules[rule].id, name))
        return;
    st = open_temp_store(cfg, store_dir, sizeof store_dir);
    e = st ? itip_engine_new(cfg) : NULL;
    if (ok(e != NULL, "%s/%s: an LMDB store and an engine", itip_rules[rule].id, name)) {
        itip_engine_set_store(e, st);
        for (i = 0; i < n; i++) {
            if (snprintf(path, sizeof path, "%s/%s", sdir, steps[i]->d_name) >=
                (int)sizeof path)
                break;
            itip_engine_reset(e);
            rc = run_file(e, path);
            if (rc == 0 && itip_engine_record(e) < 0) {
                diag("%s: recording failed: %s", path, itip_store_error(st));
                rc = -1;
            }
            if (rc < 0 || i + 1 == n)
                break;
        }
        if (itip_engine_state_note(e) != NULL)
            diag("%s: %s", name, itip_engine_state_note(e));
        judge(name, rule, e, rc);
    }
    for (i = 0; i < n; i++)
        free(steps[i]);
    free(steps);
    itip_engine_free(e);
    if (st != NULL) {
        itip_store_close(st);
        remove_store_dir(store_dir);
    }
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void check_dir(const char *root, const char *id, int *npos, int *nneg)
{
    char dir[4096], confpath[4200], err[1024];
    struct dirent **ents;
    itip_config *cfg;
    struct stat st;
    int rule = itip_rule_lookup(id), n, i;

    if (snprintf(dir, sizeof dir, "%s/%s", root, id) >= (int)sizeof dir ||
        snprintf(confpath, sizeof confpath, "%s/test.conf", dir) >= (int)sizeof confpath) {
        ok(0, "path of t/rules/%s fits", id);
        return;
    }
    if (!ok(rule >= 0, "t/rules/%s names a rule", id))
        return;
    cfg = stat(confpath, &st) == 0 ? itip_config_load(confpath, err, sizeof err)
                                   : itip_config_default();
    if (!ok(cfg != NULL, "%s: configuration loads", id)) {
        diag("%s", err);
        return;
    }
    n = scandir(dir, &ents, NULL, by_name);
    for (i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        char path[8192];
        int scenario = snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path &&
                       stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        int pos = strncmp(name, "pos-", 4) == 0, neg = strncmp(name, "neg-", 4) == 0;

        if (pos || neg) {
            (pos ? npos : nneg)[rule]++;
            if (scenario)
                check_scenario(dir, name, rule, cfg);
            else
                check_file(dir, name, rule, cfg);
        }
        free(ents[i]);
    }
    free(ents);
    itip_config_free(cfg);
}

/* ---- H4's premise: without BYHOUR/BYMINUTE/BYSECOND every instance keeps DTSTART's time ---- */

#define H4_TEST_HORIZON_YEARS 10   /* rules_recur.c: H4_HORIZON_YEARS */

typedef struct {
    long rules, instances, differ;   /* rules without time parts, their instances, deviations */
    long timed_rules, timed_differ;  /* control: rules with BYHOUR/BYMINUTE that gave other times */
} h4run;

static int rule_sets_time(const struct icalrecurrencetype *r)
{
    return r->by_hour[0] != ICAL_RECURRENCE_ARRAY_MAX ||
           r->by_minute[0] != ICAL_RECURRENCE_ARRAY_MAX ||
           r->by_second[0] != ICAL_RECURRENCE_ARRAY_MAX;
}

/* Expands R from START (floating) as rules_recur.c's iter_new does, MAX instances at most. */
static void h4_check_rule(h4run *r, struct icalrecurrencetype rule, struct icaltimetype start,
                          int max, const char *what)
{
    struct icaltimetype until = start, t;
    icalrecur_iterator *it;
    int n, timed = rule_sets_time(&rule), other = 0;

    if (rule.freq < ICAL_DAILY_RECURRENCE || rule.freq > ICAL_YEARLY_RECURRENCE ||
        start.is_date)
        return;
    start.zone = NULL;
    until.zone = NULL;
    until.year += H4_TEST_HORIZON_YEARS;
    if (icaltime_is_null_time(rule.until) || icaltime_compare(rule.until, until) > 0)
        rule.until = until;
    rule.until.zone = NULL;
    if (rule.until.is_date) {
        rule.until.is_date = 0;
        rule.until.hour = 23;
        rule.until.minute = rule.until.second = 59;
    }
    if ((it = icalrecur_iterator_new(rule, start)) == NULL)
        return;
    for (n = 0; n < max; n++) {
        t = icalrecur_iterator_next(it);
        if (icaltime_is_null_time(t))
            break;
        if (t.hour != start.hour || t.minute != start.minute || t.second != start.second) {
            other = 1;
            if (!timed && r->differ++ < 10)
                diag("H4 premise: %s from %s gives an instance at %s", what,
                     icaltime_as_ical_string(start), icaltime_as_ical_string(t));
        }
    }
    icalrecur_iterator_free(it);
    if (timed) {
        r->timed_rules++;
        r->timed_differ += other;
    } else {
        r->rules++;
        r->instances += n;
    }
}

static void h4_check_calendar(h4run *r, icalcomponent *cal)
{
    icalcompiter ei;
    icalcomponent *ev;

    for (ei = icalcomponent_begin_component(cal, ICAL_VEVENT_COMPONENT);
         (ev = icalcompiter_deref(&ei)) != NULL; icalcompiter_next(&ei)) {
        icalproperty *dp = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY);
        icalproperty *rp = icalcomponent_get_first_property(ev, ICAL_RRULE_PROPERTY);
        icalvalue *dv = dp ? icalproperty_get_value(dp) : NULL;
        icalvalue *rv = rp ? icalproperty_get_value(rp) : NULL;

        if (dv != NULL && rv != NULL && icalvalue_isa(dv) == ICAL_DATETIME_VALUE &&
            icalvalue_isa(rv) == ICAL_RECUR_VALUE)
            h4_check_rule(r, icalvalue_get_recur(rv), icalvalue_get_datetime(dv), 400,
                          icalproperty_get_value_as_string(rp));
    }
}

static void h4_generated(h4run *r)
{
    static const char *const freq[] = { "DAILY", "WEEKLY", "MONTHLY", "YEARLY" };
    static const char *const day[] = { "", ";BYDAY=MO", ";BYDAY=MO,WE,FR", ";BYDAY=1MO",
                                       ";BYDAY=-1FR", ";BYDAY=2TU,SA" };
    static const char *const pos[] = { "", ";BYSETPOS=1", ";BYSETPOS=-1" };
    static const char *const mday[] = { ";BYMONTHDAY=1", ";BYMONTHDAY=15", ";BYMONTHDAY=-1" };
    static const char *const month[] = { "", ";BYMONTH=3", ";BYMONTH=1,7" };
    static const char *const tail[] = { "", ";INTERVAL=2;COUNT=30" };
    static const char *const start[] = { "20240229T000000", "20260131T093015",
                                         "20250330T235959" };
    size_t f, d, p, md, mo, tl, st;
    char text[256];

    for (f = 0; f < 4; f++)
        for (d = 0; d < 6 + 3; d++)
            for (p = 0; p < (d > 0 && d < 6 ? 3u : 1u); p++)
                for (mo = 0; mo < 3; mo++)
                    for (tl = 0; tl < 2; tl++)
                        for (st = 0; st < 3; st++) {
                            md = d >= 6 ? d - 6 : 0;
                            snprintf(text, sizeof text, "FREQ=%s%s%s%s%s", freq[f],
                                     d < 6 ? day[d] : mday[md], d < 6 ? pos[p] : "",
                                     month[mo], tail[tl]);
                            h4_check_rule(r, icalrecurrencetype_from_string(text),
                                          icaltime_from_string(start[st]), 40, text);
                        }
    h4_check_rule(r, icalrecurrencetype_from_string("FREQ=DAILY;BYHOUR=9,17"),
                  icaltime_from_string("20260105T090000"), 40, "FREQ=DAILY;BYHOUR=9,17");
    h4_check_rule(r, icalrecurrencetype_from_string("FREQ=WEEKLY;BYMINUTE=0,2"),
                  icaltime_from_string("20260105T090000"), 40, "FREQ=WEEKLY;BYMINUTE=0,2");
}

/* ---- UTC offsets of VTIMEZONEs: itip_zone_utc_offset_direct against libical ---- */

#define TZ_MAX_ZONES 4096

typedef struct {
    char *seen[TZ_MAX_ZONES];   /* the text of each distinct VTIMEZONE compared */
    int nseen, nvtz, ndirect, nfallback, npartial, nfiles;
    long ncompared, nmismatch, nskipped;
    long nutc, nutc_mismatch, nutc_skipped;     /* the offset of a UTC instant */
    long nconv, nconv_mismatch;                 /* itip_zone_convert_time, zone <-> UTC */
    h4run h4;                   /* H4's premise over the RRULEs of the same files */
} tzrun;

static int same_time(struct icaltimetype a, struct icaltimetype b)
{
    return a.year == b.year && a.month == b.month && a.day == b.day && a.hour == b.hour &&
           a.minute == b.minute && a.second == b.second && a.is_daylight == b.is_daylight;
}

/* T read as a UTC instant: itip_zone_utc_offset_of_utc_direct() against libical's
 * icaltimezone_get_utc_offset_of_utc_time(); then itip_zone_convert_time() against
 * icaltimezone_convert_time() from Z to UTC and from UTC to Z. */
static void tz_compare_utc_at(tzrun *r, icaltimezone *z, const char *tzid, struct icaltimetype t)
{
    icaltimezone *utc = icaltimezone_get_utc_timezone();
    struct icaltimetype a, b;
    int off, dst, loff, ldst = -1, k;

    if (itip_zone_utc_offset_of_utc_direct(z, &t, &off, &dst) != 0) {
        r->nutc_skipped++;
    } else {
        loff = icaltimezone_get_utc_offset_of_utc_time(z, &t, &ldst);
        r->nutc++;
        if ((off != loff || dst != ldst) && r->nutc_mismatch++ < 20)
            diag("zone %s at UTC %04d-%02d-%02dT%02d:%02d: %d/%d, libical %d/%d", tzid, t.year,
                 t.month, t.day, t.hour, t.minute, off, dst, loff, ldst);
    }
    if (t.is_daylight)
        return;
    for (k = 0; k < 2; k++) {
        a = b = t;
        itip_zone_convert_time(&a, k ? utc : z, k ? z : utc);
        icaltimezone_convert_time(&b, k ? utc : z, k ? z : utc);
        r->nconv++;
        if (!same_time(a, b) && r->nconv_mismatch++ < 20)
            diag("zone %s: %04d-%02d-%02dT%02d:%02d %s: %s, libical %s", tzid, t.year, t.month,
                 t.day, t.hour, t.minute, k ? "from UTC" : "to UTC",
                 icaltime_as_ical_string(a), icaltime_as_ical_string(b));
    }
}

/* Compares one wall-clock time (and the same fields as a UTC instant); 1 when compared. */
static int tz_compare_at(tzrun *r, icaltimezone *z, const char *tzid, struct icaltimetype t)
{
    int off, dst, loff, ldst = -1;

    tz_compare_utc_at(r, z, tzid, t);

    if (itip_zone_utc_offset_direct(z, &t, &off, &dst) != 0) {
        r->nskipped++;
        return 0;
    }
    loff = icaltimezone_get_utc_offset(z, &t, &ldst);
    r->ncompared++;
    if (off != loff || dst != ldst) {
        if (r->nmismatch++ < 20)
            diag("zone %s at %04d-%02d-%02dT%02d:%02d (is_daylight %d): %d/%d, libical %d/%d",
                 tzid, t.year, t.month, t.day, t.hour, t.minute, t.is_daylight, off, dst, loff,
                 ldst);
    }
    return 1;
}

static struct icaltimetype tz_time(int y, int mo, int d, int h, int mi, int dst)
{
    struct icaltimetype t = icaltime_null_time();

    t.year = y;
    t.month = mo;
    t.day = d;
    t.hour = h;
    t.minute = mi;
    t.is_daylight = dst;
    return t;
}

/* Every half hour of the two days around each change of libical's offset in year Y. */
static int tz_transitions(tzrun *r, icaltimezone *z, const char *tzid, int y)
{
    struct icaltimetype t = tz_time(y, 1, 1, 12, 0, 0);
    int prev = icaltimezone_get_utc_offset(z, &t, NULL), n = 0, day, k;

    for (day = 1; day <= 365; day++) {
        struct icaltimetype u = t;
        int off;
        icaltime_adjust(&u, day, 0, 0, 0);
        off = icaltimezone_get_utc_offset(z, &u, NULL);
        if (off == prev)
            continue;
        prev = off;
        u.hour = 0;
        icaltime_adjust(&u, -1, 0, 0, 0);
        for (k = 0; k < 96; k++) {
            struct icaltimetype v = u;
            icaltime_adjust(&v, 0, 0, 30 * k, 0);
            v.is_daylight = 0;
            n += tz_compare_at(r, z, tzid, v);
            v.is_daylight = 1;
            n += tz_compare_at(r, z, tzid, v);
        }
    }
    return n;
}

static void tz_check_zone(tzrun *r, icalcomponent *vtz)
{
    static const int early[] = { 1600, 1601, 1602, 1850, 1900, 1950, 1969 };
    static const int changes[] = { 1970, 1987, 1996, 2006, 2007, 2026, 2037, 2038, 2099 };
    static const int hm[][2] = { { 0, 0 }, { 2, 30 }, { 12, 0 } };
    icalproperty *p = icalcomponent_get_first_property(vtz, ICAL_TZID_PROPERTY);
    const char *tzid = p ? icalproperty_get_tzid(p) : NULL;
    char *text;
    icaltimezone *z;
    long before = r->nskipped;
    int i, y, m, d, k, n = 0, probes = 0;

    r->nvtz++;
    if (tzid == NULL || (text = icalcomponent_as_ical_string_r(vtz)) == NULL)
        return;
    for (i = 0; i < r->nseen; i++)
        if (strcmp(r->seen[i], text) == 0) {
            free(text);
            return;
        }
    if (r->nseen == TZ_MAX_ZONES) {
        free(text);
        return;
    }
    r->seen[r->nseen++] = text;
    z = icaltimezone_new();
    if (z == NULL || !icaltimezone_set_component(z, icalcomponent_new_clone(vtz))) {
        if (z != NULL)
            icaltimezone_free(z, 1);
        return;
    }
    for (i = 0; i < (int)(sizeof early / sizeof early[0]); i++)
        for (k = 0; k < 3; k++, probes++)
            n += tz_compare_at(r, z, tzid, tz_time(early[i], 7, 1, hm[k][0], hm[k][1], 0));
    for (y = 1970; y <= 2100; y++)
        for (m = 1; m <= 12; m++)
            for (d = 1; d <= 15; d += 14)
                for (k = 0; k < 3; k++, probes++)
                    n += tz_compare_at(r, z, tzid, tz_time(y, m, d, hm[k][0], hm[k][1], 0));
    if (n > 0)
        for (i = 0; i < (int)(sizeof changes / sizeof changes[0]); i++)
            n += tz_transitions(r, z, tzid, changes[i]);
    if (n == 0)
        r->nfallback++;
    else
        r->ndirect++;
    if (n > 0 && r->nskipped - before > probes / 2 && r->npartial++ < 10)
        diag("zone %s: %ld of its instants left to libical", tzid, r->nskipped - before);
    icaltimezone_free(z, 1);
}

static void tz_check_text(tzrun *r, const char *text)
{
    icalcomponent *root = icalparser_parse_string(text), *cal, *vtz;
    icalcompiter ci, zi;

    if (root == NULL)
        return;
    for (ci = icalcomponent_begin_component(root, ICAL_VCALENDAR_COMPONENT);
         icalcomponent_isa(root) == ICAL_XROOT_COMPONENT && (cal = icalcompiter_deref(&ci));
         icalcompiter_next(&ci)) {
        h4_check_calendar(&r->h4, cal);
        for (zi = icalcomponent_begin_component(cal, ICAL_VTIMEZONE_COMPONENT);
             (vtz = icalcompiter_deref(&zi)) != NULL; icalcompiter_next(&zi))
            tz_check_zone(r, vtz);
    }
    if (icalcomponent_isa(root) == ICAL_VCALENDAR_COMPONENT)
        h4_check_calendar(&r->h4, root);
    if (icalcomponent_isa(root) == ICAL_VCALENDAR_COMPONENT)
        for (zi = icalcomponent_begin_component(root, ICAL_VTIMEZONE_COMPONENT);
             (vtz = icalcompiter_deref(&zi)) != NULL; icalcompiter_next(&zi))
            tz_check_zone(r, vtz);
    icalcomponent_free(root);
}

/* A bare calendar is parsed as it is; anything else goes through the MIME walker. */
static void tz_check_file(tzrun *r, const char *path, const itip_limits *lim)
{
    strbuf b;
    const char *s;
    itip_findings f;
    itip_mime *m;
    size_t i;

    itip_strbuf_init(&b, 0);
    if (slurp(path, &b) < 0 || b.len == 0 || (memmem(b.s, b.len, "VTIMEZONE", 9) == NULL && memmem(b.s, b.len, "RRULE", 5) == NULL)) {
        itip_strbuf_free(&b);
        return;
    }
    r->nfiles++;
    itip_strbuf_append(&b, "", 1);
    for (s = b.s; *s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'; s++)
        ;
    if (strncasecmp(s, "BEGIN:VCALENDAR", 15) == 0 || strncmp(s, "\xef\xbb\xbf", 3) == 0) {
        tz_check_text(r, s);
    } else {
        itip_findings_init(&f, 100, NULL);
        m = itip_mime_new(lim, &f);
        if (m != NULL && itip_mime_feed(m, b.s, b.len - 1) == 0 && itip_mime_finish(m) == 0)
            for (i = 0; i < itip_mime_calpart_count(m); i++)
                tz_check_text(r, itip_mime_calpart(m, i)->data);
        itip_mime_free(m);
        itip_findings_clear(&f);
    }
    itip_strbuf_free(&b);
}

static void tz_walk(tzrun *r, const char *dir, const itip_limits *lim, int depth)
{
    struct dirent **ents;
    struct stat st;
    int n, i;

    n = scandir(dir, &ents, NULL, by_name);
    for (i = 0; i < n; i++) {
        char path[4096];
        if (ents[i]->d_name[0] != '.' &&
            snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name) < (int)sizeof path &&
            stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode) && depth < 8)
                tz_walk(r, path, lim, depth + 1);
            else if (S_ISREG(st.st_mode))
                tz_check_file(r, path, lim);
        }
        free(ents[i]);
    }
    if (n >= 0)
        free(ents);
}

static void test_zone_offsets(const char *top)
{
    static const char *const dirs[] = { "t", "samples", "../shared/corpus" };
    itip_config *cfg = itip_config_default();
    tzrun *r = calloc(1, sizeof *r);
    struct stat st;
    size_t i;
    int k;

    if (!ok(cfg != NULL && r != NULL, "zone offsets: set up")) {
        free(r);
        itip_config_free(cfg);
        return;
    }
    for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", top, dirs[i]);
        if (stat(dir, &st) != 0) {
            diag("zone offsets: %s absent, not compared", dir);
            continue;
        }
        tz_walk(r, dir, &cfg->limits, 0);
    }
    diag("zone offsets: %d files, %d VTIMEZONEs, %d distinct: %d computed directly, %d left "
         "to libical; %ld instants compared, %ld left to libical", r->nfiles, r->nvtz,
         r->nseen, r->ndirect, r->nfallback, r->ncompared, r->nskipped);
    ok(r->nmismatch == 0, "zone offsets: itip_zone_utc_offset_direct agrees with libical at "
       "%ld instants of %d zones (%ld differ)", r->ncompared, r->ndirect, r->nmismatch);
    ok(r->ndirect > 0 && r->ncompared > 0, "zone offsets: some zones computed directly");
    diag("zone offsets of UTC instants: %ld compared, %ld left to libical; %ld conversions "
         "compared", r->nutc, r->nutc_skipped, r->nconv);
    ok(r->nutc_mismatch == 0 && r->nutc > r->ncompared / 2, "zone offsets: "
       "itip_zone_utc_offset_of_utc_direct agrees with libical at %ld UTC instants (%ld differ)",
       r->nutc, r->nutc_mismatch);
    ok(r->nconv_mismatch == 0 && r->nconv > 0, "zone offsets: itip_zone_convert_time agrees "
       "with icaltimezone_convert_time in %ld conversions to and from UTC (%ld differ)",
       r->nconv, r->nconv_mismatch);
    h4_generated(&r->h4);
    diag("H4 premise: %ld rules without time parts (%ld instances), %ld control rules with "
         "BYHOUR/BYMINUTE", r->h4.rules, r->h4.instances, r->h4.timed_rules);
    ok(r->h4.differ == 0 && r->h4.rules > 1000, "H4 premise: every instance of %ld rules without "
       "BYHOUR/BYMINUTE/BYSECOND starts at DTSTART's time of day (%ld do not)", r->h4.rules,
       r->h4.differ);
    ok(r->h4.timed_rules >= 2 && r->h4.timed_differ == r->h4.timed_rules,
       "H4 premise: the control rules with BYHOUR or BYMINUTE give other times (%ld of %ld)",
       r->h4.timed_differ, r->h4.timed_rules);
    for (k = 0; k < r->nseen; k++)
        free(r->seen[k]);
    free(r);
    itip_config_free(cfg);
}

int main(void)
{
    const char *top = getenv("top_srcdir");
    char root[4096];
    struct dirent **ents;
    int npos[ITIP_RULE_COUNT] = { 0 }, nneg[ITIP_RULE_COUNT] = { 0 }, n, i;

    snprintf(root, sizeof root, "%s/t/rules", top ? top : ".");
    n = scandir(root, &ents, NULL, by_name);
    if (!ok(n >= 0, "%s is readable", root))
        return done_testing();
    for (i = 0; i < n; i++) {
        if (ents[i]->d_name[0] != '.')
            check_dir(root, ents[i]->d_name, npos, nneg);
        free(ents[i]);
    }
    free(ents);
    for (i = 0; i < ITIP_RULE_COUNT; i++)
        ok(npos[i] > 0 && nneg[i] > 0, "%s has a positive (%d) and a negative (%d) test message",
           itip_rules[i].id, npos[i], nneg[i]);
    test_zone_offsets(top ? top : ".");
    return done_testing();
}
