/*
 * test_restrict.c - differential test of rule B4's restriction check: our evaluation of libical's
 * RFC 5546 table (itip_restrict_check, milter/rules/restrict.c) against libical's own
 * icalrestriction_check on a clone (itip_restrict_libical).
 *
 * Both run on every VCALENDAR (and on a parse root that is none) of every calendar part of
 * t/ (*.ics whole, the calendar parts the MIME walker finds in *.eml and *.mbox messages),
 * samples/ and $top_srcdir/../shared/corpus (every file; skipped, saying so, when absent),
 * and on synthetic calendars: under every METHOD (none, an unknown one, PUBLISH ...
 * POLLSTATUS) every component kind holding every property kind 0, 1, 2 and 3 times, and,
 * where the table has a row, the special cases (every STATUS and a few ACTION values, the
 * DURATION / DTEND / REPEAT combinations).  The verdict and the list of complaints (component
 * and text, in order) must be the same; a difference fails unless t/restrict-expected.tsv
 * lists it ("FILE#PART<TAB>reason", FILE relative to the source tree or the corpus) as
 * deliberate.  Prints how many parts and calendars were compared.  TAP output.
 *
 * Exports nothing; writes nothing.
 */
#include "ac-config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "base/config.h"
#include "base/findings.h"
#include "mime/mime.h"
#include "rules/restrict.h"
#include "tap.h"

#define MAX_EXPECTED 256

static char *expected[MAX_EXPECTED];     /* keys of deliberate differences */
static int expected_seen[MAX_EXPECTED];
static int nexpected;
static long nparts, ncalendars, ndiffer, nlisted, nsynthetic;
static const itip_config *cfg;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0
        && (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
            *len = (size_t)n;
        }
    }
    fclose(f);
    return buf;
}

static void load_expected(const char *top)
{
    char path[4200], line[1024];
    FILE *f;

    snprintf(path, sizeof path, "%s/t/restrict-expected.tsv", top);
    f = fopen(path, "r");
    if (!ok(f != NULL, "t/restrict-expected.tsv is readable"))
        return;
    while (fgets(line, sizeof line, f) && nexpected < MAX_EXPECTED) {
        char *tab = strchr(line, '\t');
        if (line[0] == '#' || line[0] == '\n' || tab == NULL)
            continue;
        *tab = '\0';
        expected[nexpected++] = strdup(line);
    }
    fclose(f);
}

static int is_expected(const char *key)
{
    int i;

    for (i = 0; i < nexpected; i++)
        if (expected[i] && strcmp(expected[i], key) == 0) {
            expected_seen[i] = 1;
            return 1;
        }
    return 0;
}

static void show(const char *who, const itip_restrict_list *l)
{
    int i;

    diag("  %s: valid=%d, %d complaint(s)", who, l->valid, l->n);
    for (i = 0; i < l->n; i++)
        diag("    %s: %s", icalcomponent_kind_to_string(icalcomponent_isa(l->v[i].comp)),
             l->v[i].msg);
}

/* Runs both checks on COMP; returns 1 when they agree.  KEY names it in a report. */
static int compare(icalcomponent *comp, const char *key)
{
    itip_restrict_list *ours = malloc(sizeof *ours), *ref = malloc(sizeof *ref);
    int same, i;

    if (ours == NULL || ref == NULL)
        abort();
    itip_restrict_check(comp, ours);
    if (itip_restrict_libical(comp, ref) < 0)
        abort();
    same = ours->valid == ref->valid && ours->n == ref->n;
    for (i = 0; same && i < ours->n; i++)
        same = ours->v[i].comp == ref->v[i].comp && strcmp(ours->v[i].msg, ref->v[i].msg) == 0;
    ncalendars++;
    if (!same) {
        if (is_expected(key)) {
            nlisted++;
        } else {
            ndiffer++;
            if (ndiffer <= 20) {
                ok(0, "%s: same verdict and complaints", key);
                show("ours", ours);
                show("libical", ref);
            }
        }
    }
    itip_restrict_done(ref);
    free(ours);
    free(ref);
    return same;
}

/* Parses one calendar part as calendar.c does and compares every VCALENDAR in it. */
static void compare_part(const char *data, const char *key)
{
    icalcomponent *root = icalparser_parse_string(data);
    icalcompiter it;
    icalcomponent *k;

    nparts++;
    if (root == NULL)
        return;
    if (icalcomponent_isa(root) == ICAL_VCALENDAR_COMPONENT) {
        compare(root, key);
    } else {
        compare(root, key);
        for (it = icalcomponent_begin_component(root, ICAL_VCALENDAR_COMPONENT);
             (k = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it))
            compare(k, key);
    }
    icalcomponent_free(root);
}

static void compare_message(const char *msg, size_t len, const char *name)
{
    itip_findings f;
    itip_mime *m;
    size_t i;
    char key[4400];

    itip_findings_init(&f, cfg->limits.max_findings, NULL);
    m = itip_mime_new(&cfg->limits, &f);
    if (m == NULL)
        abort();
    itip_mime_feed(m, msg, len);
    itip_mime_finish(m);
    for (i = 0; i < itip_mime_calpart_count(m); i++) {
        const itip_calpart *p = itip_mime_calpart(m, i);
        if (p->truncated || p->data == NULL)
            continue;
        snprintf(key, sizeof key, "%s#%zu", name, i + 1);
        compare_part(p->data, key);
    }
    itip_mime_free(m);
    itip_findings_clear(&f);
}

/* One file: .ics whole, an mbox message by message, anything else as one message. */
static void compare_file(const char *path, const char *name)
{
    size_t len = 0, n = strlen(name);
    char *buf = slurp(path, &len);
    char key[4400];

    if (buf == NULL)
        return;
    if (n > 4 && strcmp(name + n - 4, ".ics") == 0) {
        snprintf(key, sizeof key, "%s#1", name);
        compare_part(buf, key);
    } else if (n > 5 && strcmp(name + n - 5, ".mbox") == 0) {
        char *s = buf, *next;
        int i = 0;
        while (s && *s) {
            next = strstr(s + 1, "\nFrom ");
            if (next)
                *next++ = '\0';
            snprintf(key, sizeof key, "%s@%d", name, ++i);
            compare_message(s, strlen(s), key);
            s = next;
        }
    } else {
        compare_message(buf, len, name);
    }
    free(buf);
}

/* Every file under DIR (recursively), in no particular order; NAME is DIR's display name. */
static int walk(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char path[4200], sub[4200];
        struct stat st;
        const char *x = strrchr(e->d_name, '.');

        if (e->d_name[0] == '.' || !strcmp(e->d_name, "MANIFEST.tsv")
            || !strcmp(e->d_name, "README.md"))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(sub, sizeof sub, "%s/%s", name, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            int n = walk(path, sub);
            files += n > 0 ? n : 0;
        } else if (strncmp(name, "corpus", 6) == 0
                   || (x && (!strcmp(x, ".ics") || !strcmp(x, ".eml") || !strcmp(x, ".mbox")))) {
            compare_file(path, sub);
            files++;
        }
    }
    closedir(d);
    return files;
}

/* ---- synthetic calendars ---- */

static const icalproperty_method methods[] = {
    ICAL_METHOD_NONE, ICAL_METHOD_X, ICAL_METHOD_PUBLISH, ICAL_METHOD_REQUEST, ICAL_METHOD_REPLY,
    ICAL_METHOD_ADD, ICAL_METHOD_CANCEL, ICAL_METHOD_REFRESH, ICAL_METHOD_COUNTER,
    ICAL_METHOD_DECLINECOUNTER, ICAL_METHOD_CREATE, ICAL_METHOD_READ, ICAL_METHOD_RESPONSE,
    ICAL_METHOD_MOVE, ICAL_METHOD_MODIFY, ICAL_METHOD_GENERATEUID, ICAL_METHOD_DELETE,
    ICAL_METHOD_POLLSTATUS
};

static const icalproperty_status statuses[] = {
    ICAL_STATUS_X, ICAL_STATUS_TENTATIVE, ICAL_STATUS_CONFIRMED, ICAL_STATUS_COMPLETED,
    ICAL_STATUS_NEEDSACTION, ICAL_STATUS_CANCELLED, ICAL_STATUS_INPROCESS, ICAL_STATUS_DRAFT,
    ICAL_STATUS_FINAL, ICAL_STATUS_SUBMITTED, ICAL_STATUS_PENDING, ICAL_STATUS_FAILED,
    ICAL_STATUS_NONE
};

/* A new property of KIND with a value where a special case reads one. */
static icalproperty *new_prop(icalproperty_kind kind, int variant)
{
    icalproperty *p;

    if (kind == ICAL_STATUS_PROPERTY)
        return icalproperty_new_status(statuses[variant % 13]);
    if (kind == ICAL_ACTION_PROPERTY)
        return icalproperty_new_action(variant & 1 ? ICAL_ACTION_EMAIL : ICAL_ACTION_DISPLAY);
    if (kind == ICAL_METHOD_PROPERTY)
        return icalproperty_new_method(ICAL_METHOD_REQUEST);
    p = icalproperty_new(kind);
    if (p && kind == ICAL_X_PROPERTY)
        icalproperty_set_x_name(p, "X-PROBE");
    return p;
}

/* A VCALENDAR with METHOD M (none: ICAL_METHOD_NONE; X: "X-PROBE"), PRODID and VERSION. */
static icalcomponent *new_calendar(icalproperty_method m)
{
    icalcomponent *c = icalcomponent_new(ICAL_VCALENDAR_COMPONENT);

    icalcomponent_add_property(c, icalproperty_new_prodid("-//itip-milter//test_restrict//EN"));
    icalcomponent_add_property(c, icalproperty_new_version("2.0"));
    if (m == ICAL_METHOD_X) {
        icalproperty *p = icalproperty_new_method(ICAL_METHOD_X);
        icalvalue_set_x(icalproperty_get_value(p), "X-PROBE");
        icalcomponent_add_property(c, p);
    } else if (m != ICAL_METHOD_NONE) {
        icalcomponent_add_property(c, icalproperty_new_method(m));
    }
    return c;
}

/* Adds N properties of every kind to C (STATUS and ACTION from VARIANT). */
static void add_every_kind(icalcomponent *c, int n, int variant)
{
    int k, i;

    for (k = ICAL_ANY_PROPERTY + 1; k < ICAL_NO_PROPERTY; k++)
        for (i = 0; i < n; i++) {
            icalproperty *p;
            if (k == ICAL_XLICERROR_PROPERTY)
                continue;
            p = new_prop((icalproperty_kind)k, variant + i);
            if (p)
                icalcomponent_add_property(c, p);
        }
}

/* Special-case variant V of component KIND under methods[MI]: V < 26: STATUS value V % 13,
 * ACTION EMAIL or DISPLAY, no DURATION, DTEND, REPEAT; else the combination V - 26 of those
 * three (bits 1, 2, 4).  Odd V: every other kind once beside them; even V: those alone. */
static void special(size_t mi, int kind, const char *kname, int v)
{
    icalcomponent *cal = new_calendar(methods[mi]);
    icalcomponent *sub = icalcomponent_new((icalcomponent_kind)kind);
    int k, combo = v < 26 ? 0 : v - 26;
    char key[128];

    if (sub == NULL) {
        icalcomponent_free(cal);
        return;
    }
    for (k = ICAL_ANY_PROPERTY + 1; k < ICAL_NO_PROPERTY; k++) {
        icalproperty *p;
        int own = k == ICAL_STATUS_PROPERTY || k == ICAL_ACTION_PROPERTY;

        if (k == ICAL_XLICERROR_PROPERTY || (k == ICAL_DURATION_PROPERTY && !(combo & 1))
            || (k == ICAL_DTEND_PROPERTY && !(combo & 2))
            || (k == ICAL_REPEAT_PROPERTY && !(combo & 4)))
            continue;
        own = own || k == ICAL_DURATION_PROPERTY || k == ICAL_DTEND_PROPERTY
            || k == ICAL_REPEAT_PROPERTY;
        if (!own && !(v & 1))
            continue;
        p = new_prop((icalproperty_kind)k, k == ICAL_ACTION_PROPERTY ? v / 13 : v % 13);
        if (p)
            icalcomponent_add_property(sub, p);
    }
    icalcomponent_add_component(cal, sub);
    snprintf(key, sizeof key, "synthetic %d/%s/special %d", (int)mi, kname, v);
    compare(cal, key);
    nsynthetic++;
    icalcomponent_free(cal);
}

static void synthetic(void)
{
    size_t mi;
    int kind, n, v, before = (int)ndiffer;
    char key[128];

    for (mi = 0; mi < sizeof methods / sizeof methods[0]; mi++) {
        for (kind = ICAL_XROOT_COMPONENT; kind <= ICAL_XPATCH_COMPONENT; kind++) {
            const char *kname = icalcomponent_kind_to_string((icalcomponent_kind)kind);
            for (n = 0; n <= 3; n++) {
                icalcomponent *cal = new_calendar(methods[mi]);
                icalcomponent *sub = icalcomponent_new((icalcomponent_kind)kind);
                if (sub == NULL) {
                    icalcomponent_free(cal);
                    continue;
                }
                add_every_kind(sub, n, n);
                icalcomponent_add_component(cal, sub);
                /* a second, empty one: checked only when the first passes */
                icalcomponent_add_component(cal, icalcomponent_new(ICAL_VEVENT_COMPONENT));
                snprintf(key, sizeof key, "synthetic %d/%s/%dx", (int)mi, kname, n);
                compare(cal, key);
                nsynthetic++;
                icalcomponent_free(cal);
            }
            /* the special cases, under the METHODs the table has rows for */
            if (methods[mi] == ICAL_METHOD_X || (methods[mi] > ICAL_METHOD_DECLINECOUNTER
                                                 && methods[mi] < ICAL_METHOD_POLLSTATUS))
                continue;
            for (v = 0; v < 26 + 8; v++)
                special(mi, kind, kname, v);
        }
    }
    for (n = 0; n <= 3; n++) {          /* the VCALENDAR itself */
        icalcomponent *cal = icalcomponent_new(ICAL_VCALENDAR_COMPONENT);
        add_every_kind(cal, n, n);
        icalcomponent_add_component(cal, icalcomponent_new(ICAL_VEVENT_COMPONENT));
        snprintf(key, sizeof key, "synthetic VCALENDAR/%dx", n);
        compare(cal, key);
        nsynthetic++;
        icalcomponent_free(cal);
    }
    ok((int)ndiffer == before, "synthetic calendars: %ld compared, every METHOD x component x "
       "property kind 0-3 times and the special cases", nsynthetic);
}

static void plant(icalcomponent *c, const char *text)
{
    icalcomponent_add_property(c, icalproperty_vanew_xlicerror(
        text, icalparameter_new_xlicerrortype(ICAL_XLICERRORTYPE_INVALIDITIP), (void *)0));
}

/* X-LIC-ERROR;X-LIC-ERRORTYPE=INVALID-ITIP already in the tree is read back with the check's
 * own.  libical's parser never makes one (it reads the parameter of such a line as an
 * X-parameter), so the tree is built here. */
static void planted_errors(void)
{
    static const char cal[] =
        "BEGIN:VCALENDAR\r\nPRODID:x\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\n"
        "X-LIC-ERROR;X-LIC-ERRORTYPE=INVALID-ITIP:parsed, not INVALID-ITIP\r\n"
        "BEGIN:VEVENT\r\nUID:1\r\n"
        "BEGIN:VALARM\r\nACTION:AUDIO\r\nEND:VALARM\r\n"
        "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:2\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    icalcomponent *c = icalparser_parse_string(cal), *ev, *alarm;
    itip_restrict_list l;

    if (!ok(c != NULL, "planted X-LIC-ERRORs: the calendar parses"))
        return;
    itip_restrict_check(c, &l);
    is_int(l.n, 5, "a parsed X-LIC-ERRORTYPE=INVALID-ITIP line is not read back (5 complaints: "
           "the first VEVENT's missing ATTENDEE DTSTAMP DTSTART ORGANIZER SUMMARY)");
    plant(c, "planted in the calendar");
    ev = icalcomponent_get_first_component(c, ICAL_VEVENT_COMPONENT);
    plant(ev, "planted in the event");
    alarm = icalcomponent_get_first_component(ev, ICAL_VALARM_COMPONENT);
    plant(alarm, "planted in the alarm");
    plant(icalcomponent_get_next_component(c, ICAL_VEVENT_COMPONENT),
          "planted in an unchecked event");
    ok(compare(c, "planted X-LIC-ERRORs"), "planted INVALID-ITIP X-LIC-ERRORs: both checks "
       "read them back in tree order");
    itip_restrict_check(c, &l);
    is_int(l.n, 4 + 5, "  4 planted (the alarm's and the unchecked event's too) + 5");
    if (l.n == 9)
        ok(!strcmp(l.v[0].msg, "planted in the calendar") && l.v[1].comp == ev
           && !strcmp(l.v[1].msg, "planted in the event") && l.v[2].comp == ev
           && l.v[7].comp == alarm, "  in tree order, a component's own before the check's");
    icalcomponent_free(c);
}

/* Two VTIMEZONEs: libical checked a clone, which holds them in the other order, and the
 * complaint was reported as the VTIMEZONE at the clone's place in the original tree. */
static void vtimezone_order(void)
{
    static const char cal[] =
        "BEGIN:VCALENDAR\r\nPRODID:x\r\nVERSION:2.0\r\n"
        "BEGIN:VTIMEZONE\r\nTZID:A\r\nTZID:A2\r\nEND:VTIMEZONE\r\n"
        "BEGIN:VTIMEZONE\r\nTZID:B\r\nEND:VTIMEZONE\r\n"
        "BEGIN:VTIMEZONE\r\nEND:VTIMEZONE\r\n"
        "BEGIN:VEVENT\r\nUID:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    icalcomponent *c = icalparser_parse_string(cal), *first;
    itip_restrict_list l;

    if (!ok(c != NULL, "three VTIMEZONEs: the calendar parses"))
        return;
    ok(compare(c, "three VTIMEZONEs"), "three VTIMEZONEs: both checks agree");
    itip_restrict_check(c, &l);
    first = icalcomponent_get_first_component(c, ICAL_VTIMEZONE_COMPONENT);
    ok(l.n == 1 && l.v[0].comp == first && strstr(l.v[0].msg, "TZID property. Expected 1 "
       "instances of the property and got 2"), "  the first VTIMEZONE of the tree (the one "
       "without TZID) is named for the two TZIDs of the last one; nothing after it is checked");
    icalcomponent_free(c);
}

int main(void)
{
    const char *top = getenv("top_srcdir");
    char dir[4200];
    int i, n;

    if (top == NULL)
        top = ".";
    cfg = itip_config_default();
    if (cfg == NULL)
        skip_all("no configuration");
    load_expected(top);

    snprintf(dir, sizeof dir, "%s/t", top);
    n = walk(dir, "t");
    ok(n > 0, "t/: %d files", n);
    snprintf(dir, sizeof dir, "%s/samples", top);
    n = walk(dir, "samples");
    ok(n > 0, "samples/: %d files", n);
    snprintf(dir, sizeof dir, "%s/../shared/corpus", top);
    n = walk(dir, "corpus");
    if (n < 0)
        ok(1, "# SKIP shared corpus absent (%s)", dir);
    else
        ok(n > 0, "corpus: %d files", n);
    diag("%ld calendar parts, %ld calendars compared", nparts, ncalendars);
    ok(ndiffer == 0, "every part agrees (%ld differ, %ld listed in t/restrict-expected.tsv)",
       ndiffer, nlisted);

    synthetic();
    planted_errors();
    vtimezone_order();
    for (i = 0; i < nexpected; i++)
        if (!expected_seen[i] && strncmp(expected[i], "corpus/", 7) != 0)
            ok(0, "t/restrict-expected.tsv: %s still differs", expected[i]);
    printf("# compared %ld calendar parts (%ld calendars) and %ld synthetic calendars: "
           "%ld differ, %ld listed as deliberate\n", nparts, ncalendars, nsynthetic, ndiffer,
           nlisted);
    for (i = 0; i < nexpected; i++)
        free(expected[i]);
    itip_config_free((itip_config *)cfg);
    return done_testing();
}
