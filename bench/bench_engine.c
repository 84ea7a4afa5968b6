/*
 * bench_engine.c - engine throughput figures for bench/RESULTS.md (make bench; not a test).
 *
 *   bench/bench_engine [-t SECONDS] [-m MB] FILE...
 * FILEs are messages (.eml) and bare iCalendar files (.ics); -t is the minimum CPU time per
 * measurement (default 2), -m the size of the generated attachments (default 10).  Prints:
 *   - calendar messages: the engine (new, fed in 64 KiB chunks as itip-check does, finished,
 *     freed) in messages/s and MB/s, and its CPU time per calendar part;
 *   - the same calendar parts (decoded by the engine's own MIME walker, outside the timing)
 *     parsed by libical alone (icalparser_parse_string + icalcomponent_free), per part, and
 *     the ratio engine / libical; the MIME walk alone, to split the difference;
 *   - bare iCalendar files: engine (itip_engine_feed_ical) against libical alone, per file;
 *   - generated non-calendar messages of MB megabytes (a base64 attachment in multipart/mixed,
 *     a single-part text body, a calendar invitation followed by the same attachment, and a
 *     text part whose every line starts with '-', the walker's worst case):
 *     the engine in MB/s.
 * -p engine|walker|libical runs only that measurement on the calendar messages, for a
 * profiler (perf record bench/bench_engine -p engine FILE...), and prints nothing else;
 * -p ics-engine|ics-libical the same on the bare iCalendar files.
 * Times are CPU time of this process (CLOCK_PROCESS_CPUTIME_ID), so that other load on a
 * shared machine disturbs them less.  Uses built-in default configuration and a fixed clock.
 * Never writes files; exits 2 on a usage or read error.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <libical/ical.h>
#include "base/config.h"
#include "engine/engine.h"
#include "mime/mime.h"
#include "base/strbuf.h"

#define CHUNK 65536
#define NOW ((time_t)1780000000)

typedef struct {
    char *name;
    char *data;
    size_t len;
    int bare;             /* bare iCalendar */
    size_t nparts;        /* calendar parts (messages) */
    char **parts;         /* decoded calendar parts, for libical alone */
} input;

typedef struct {
    const itip_config *cfg;
    input *in;
    size_t n;
} bench;

static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_engine: %s\n", what);
    exit(2);
}

static char *slurp(const char *file, size_t *len)
{
    FILE *fp = fopen(file, "rb");
    strbuf b;
    char tmp[65536];
    size_t n;

    if (fp == NULL)
        return NULL;
    itip_strbuf_init(&b, 0);
    while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
        if (itip_strbuf_append(&b, tmp, n) < 0)
            die("out of memory");
    fclose(fp);
    return itip_strbuf_detach(&b, len);
}

/* One engine run over one input; returns the number of calendar parts it saw. */
static size_t run_engine(const itip_config *cfg, const input *in)
{
    itip_engine *e = itip_engine_new(cfg);
    size_t pos = 0, n;

    if (e == NULL)
        die("out of memory");
    itip_engine_set_now(e, NOW);
    while (pos < in->len) {
        n = in->len - pos < CHUNK ? in->len - pos : CHUNK;
        if ((in->bare ? itip_engine_feed_ical(e, in->data + pos, n)
                      : itip_engine_feed(e, in->data + pos, n)) < 0)
            die("engine failure");
        pos += n;
    }
    if (itip_engine_finish(e) < 0)
        die("engine failure");
    n = itip_engine_calendar_parts(e);
    itip_engine_free(e);
    return n;
}

/* The MIME walker alone over one message; keeps copies of the parts when KEEP. */
static void run_walker(const itip_config *cfg, input *in, int keep)
{
    itip_findings f;
    itip_mime *m;
    size_t pos = 0, n, i;

    itip_findings_init(&f, cfg->limits.max_findings, NULL);
    m = itip_mime_new(&cfg->limits, &f);
    if (m == NULL)
        die("out of memory");
    while (pos < in->len) {
        n = in->len - pos < CHUNK ? in->len - pos : CHUNK;
        if (itip_mime_feed(m, in->data + pos, n) < 0)
            die("walker failure");
        pos += n;
    }
    if (itip_mime_finish(m) < 0)
        die("walker failure");
    if (keep) {
        in->nparts = itip_mime_calpart_count(m);
        in->parts = calloc(in->nparts ? in->nparts : 1, sizeof *in->parts);
        for (i = 0; in->parts && i < in->nparts; i++)
            in->parts[i] = strdup(itip_mime_calpart(m, i)->data);
    }
    itip_mime_free(m);
    itip_findings_clear(&f);
}

static void run_libical(const input *in)
{
    size_t i;

    if (in->bare) {
        icalcomponent *c = icalparser_parse_string(in->data);
        if (c)
            icalcomponent_free(c);
        return;
    }
    for (i = 0; i < in->nparts; i++) {
        icalcomponent *c = icalparser_parse_string(in->parts[i]);
        if (c)
            icalcomponent_free(c);
    }
}

enum { DO_ENGINE, DO_WALKER, DO_LIBICAL };

/* Runs WHAT over every input with bare == BARE (and, for messages, with calendar parts) until
 * MIN seconds of CPU time have passed; returns seconds per pass, *passes the count. */
static double measure(const bench *b, int what, int bare, double min, long *passes)
{
    double t0 = cpu_now(), t;
    size_t i;
    long p = 0;

    do {
        for (i = 0; i < b->n; i++) {
            input *in = &b->in[i];
            if (in->bare != bare || (!bare && in->nparts == 0))
                continue;
            if (what == DO_ENGINE)
                run_engine(b->cfg, in);
            else if (what == DO_WALKER)
                run_walker(b->cfg, in, 0);
            else
                run_libical(in);
        }
        p++;
        t = cpu_now() - t0;
    } while (t < min);
    *passes = p;
    return t / (double)p;
}

static void totals(const bench *b, int bare, size_t *files, size_t *parts, size_t *bytes)
{
    size_t i;

    *files = *parts = *bytes = 0;
    for (i = 0; i < b->n; i++) {
        const input *in = &b->in[i];
        if (in->bare != bare || (!bare && in->nparts == 0))
            continue;
        (*files)++;
        *parts += bare ? 1 : in->nparts;
        *bytes += in->len;
    }
}

static void report_calendar(const bench *b, double min)
{
    size_t files, parts, bytes;
    long p1, p2, p3;
    double te, tw, tl;

    totals(b, 0, &files, &parts, &bytes);
    if (files > 0) {
        te = measure(b, DO_ENGINE, 0, min, &p1);
        tw = measure(b, DO_WALKER, 0, min, &p2);
        tl = measure(b, DO_LIBICAL, 0, min, &p3);
        printf("calendar messages: %zu messages, %zu calendar parts, %.2f MB\n", files, parts,
               (double)bytes / 1e6);
        printf("  engine:        %8.0f messages/s  %7.1f MB/s  %7.1f us per calendar part"
               "  (%ld passes)\n", (double)files / te, (double)bytes / 1e6 / te,
               te * 1e6 / (double)parts, p1);
        printf("  MIME walk only:%8.0f messages/s  %7.1f MB/s  %7.1f us per message\n",
               (double)files / tw, (double)bytes / 1e6 / tw, tw * 1e6 / (double)files);
        printf("  libical parse alone:                        %7.1f us per calendar part\n",
               tl * 1e6 / (double)parts);
        printf("  engine / libical per calendar part: %.2f  (engine minus MIME walk: %.2f)\n",
               te / tl, (te - tw) / tl);
    }
    totals(b, 1, &files, &parts, &bytes);
    if (files > 0) {
        te = measure(b, DO_ENGINE, 1, min, &p1);
        tl = measure(b, DO_LIBICAL, 1, min, &p3);
        printf("bare iCalendar files: %zu files, %.2f MB\n", files, (double)bytes / 1e6);
        printf("  engine:        %8.0f files/s     %7.1f MB/s  %7.1f us per file\n",
               (double)files / te, (double)bytes / 1e6 / te, te * 1e6 / (double)files);
        printf("  libical parse alone:                        %7.1f us per file\n",
               tl * 1e6 / (double)files);
        printf("  engine / libical per file: %.2f\n", te / tl);
    }
}

/* ---- generated non-calendar messages ---- */

static void put_b64(strbuf *b, size_t bytes)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned long long r = 88172645463325252ULL;
    char line[78];
    size_t done = 0, k;

    while (done < bytes) {
        for (k = 0; k < 76; k++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            line[k] = t[r & 63];
        }
        line[76] = '\r', line[77] = '\n';
        if (itip_strbuf_append(b, line, 78) < 0)
            die("out of memory");
        done += 57;
    }
}

/* Text lines; with DASHES, every line starts with '-' (the walker's worst case: each one
 * could be a boundary and must be compared). */
static void put_text(strbuf *b, size_t bytes, int dashes)
{
    static const char l[] = "The quarterly figures are attached; please review them before "
                            "the meeting.\r\n";
    static const char d[] = "-- the quarterly figures - attached - please review them - "
                            "before the meeting\r\n";
    const char *line = dashes ? d : l;
    size_t n = dashes ? sizeof d - 1 : sizeof l - 1, done = 0;

    while (done < bytes) {
        if (itip_strbuf_append(b, line, n) < 0)
            die("out of memory");
        done += n;
    }
}

#define HDRS "From: a@example.org\r\nTo: b@example.com\r\nSubject: figures\r\n" \
             "Date: Thu, 28 May 2026 12:00:00 +0000\r\nMessage-ID: <bench@example.org>\r\n" \
             "MIME-Version: 1.0\r\n"
#define ICS "BEGIN:VCALENDAR\r\nPRODID:-//bench//EN\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\n" \
            "BEGIN:VEVENT\r\nUID:bench-1@example.org\r\nDTSTAMP:20260528T115900Z\r\n" \
            "DTSTART:20260601T100000Z\r\nDTEND:20260601T110000Z\r\nSEQUENCE:0\r\n" \
            "ORGANIZER:mailto:a@example.org\r\nATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:b@example.com\r\n" \
            "SUMMARY:Figures\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

static input generate(int kind, size_t bytes)
{
    input in;
    strbuf b;

    memset(&in, 0, sizeof in);
    itip_strbuf_init(&b, 0);
    itip_strbuf_printf(&b, HDRS);
    if (kind == 1) {
        itip_strbuf_printf(&b, "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
        put_text(&b, bytes, 0);
        in.name = "single-part text/plain body";
    } else if (kind == 3) {
        itip_strbuf_printf(&b, "Content-Type: multipart/mixed; boundary=\"=_b\"\r\n\r\n"
                               "--=_b\r\nContent-Type: text/plain\r\n\r\n");
        put_text(&b, bytes, 1);
        itip_strbuf_printf(&b, "--=_b--\r\n");
        in.name = "text part, every line starting with '-' (multipart/mixed)";
    } else {
        itip_strbuf_printf(&b, "Content-Type: multipart/mixed; boundary=\"=_b\"\r\n\r\n"
                               "--=_b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n");
        if (kind == 2)
            itip_strbuf_printf(&b, "--=_b\r\nContent-Type: text/calendar; method=REQUEST; "
                                   "charset=UTF-8\r\n\r\n" ICS);
        itip_strbuf_printf(&b, "--=_b\r\nContent-Type: application/pdf; name=\"f.pdf\"\r\n"
                               "Content-Disposition: attachment; filename=\"f.pdf\"\r\n"
                               "Content-Transfer-Encoding: base64\r\n\r\n");
        put_b64(&b, bytes);
        itip_strbuf_printf(&b, "--=_b--\r\n");
        in.name = kind == 2 ? "calendar invitation + base64 attachment (multipart/mixed)"
                            : "base64 attachment (multipart/mixed)";
    }
    in.data = itip_strbuf_detach(&b, &in.len);
    if (in.data == NULL)
        die("out of memory");
    return in;
}

static void report_plain(const itip_config *cfg, size_t mb, double min)
{
    int kind;

    for (kind = 0; kind < 4; kind++) {
        input in = generate(kind, mb << 20);
        double t0 = cpu_now(), t;
        long p = 0;
        do {
            run_engine(cfg, &in);
            p++;
            t = cpu_now() - t0;
        } while (t < min);
        t /= (double)p;
        printf("non-calendar walk, %s, %.1f MB: %7.0f MB/s  %6.2f ms per message\n", in.name,
               (double)in.len / 1e6, (double)in.len / 1e6 / t, t * 1e3);
        free(in.data);
    }
}

static int is_ics(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcasecmp(name + n - 4, ".ics") == 0;
}

int main(int argc, char **argv)
{
    bench b;
    double min = 2;
    size_t mb = 10, i;
    int c, only = -1, only_bare = 0;
    long passes;

    while ((c = getopt(argc, argv, "t:m:p:")) != -1) {
        if (c == 't')
            min = atof(optarg);
        else if (c == 'm')
            mb = (size_t)atol(optarg);
        else if (c == 'p') {
            only_bare = strncmp(optarg, "ics-", 4) == 0;
            if (only_bare)
                optarg += 4;
            only = strcmp(optarg, "engine") == 0 ? DO_ENGINE
                   : strcmp(optarg, "walker") == 0 ? DO_WALKER : DO_LIBICAL;
        }
        else
            die("usage: bench_engine [-t SECONDS] [-m MB] [-p [ics-]engine|walker|libical] FILE...");
    }
    icalerror_set_errors_are_fatal(0);
    b.cfg = itip_config_default();
    b.n = (size_t)(argc - optind);
    b.in = calloc(b.n ? b.n : 1, sizeof *b.in);
    if (b.cfg == NULL || b.in == NULL)
        die("out of memory");
    for (i = 0; i < b.n; i++) {
        input *in = &b.in[i];
        in->name = argv[optind + (int)i];
        in->data = slurp(in->name, &in->len);
        if (in->data == NULL)
            die("cannot read an input file");
        in->bare = is_ics(in->name) && itip_looks_like_ical(in->data, in->len);
        if (!in->bare)
            run_walker(b.cfg, in, 1);
    }
    if (only >= 0) {
        measure(&b, only, only_bare, min, &passes);
        return 0;
    }
    report_calendar(&b, min);
    report_plain(b.cfg, mb, min);
    return 0;
}
