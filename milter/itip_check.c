/*
 * itip_check.c - itip-check, the offline checker: runs the milter's engine on message files
 * and bare iCalendar files and reports the findings as text or as one JSON object per input.
 *
 * Exit status: 0 when no finding is degrade or worse, 1 when at least one is, 2 on a usage,
 * configuration or read error (with a message on stderr).  Option parsing is getopt_long so
 * that later options (--state DIR, mailbox input) slot in.  No libmilter here.
 */
#include "ac-config.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "config.h"
#include "engine.h"
#include "json.h"
#include "strbuf.h"

#define FEED_CHUNK 65536       /* the engine is fed like the milter: in body-sized chunks */
#define EXIT_FINDINGS 1
#define EXIT_ERROR 2

typedef struct {
    const char *config_file;
    int json;
    int now_set;
    time_t now;
    int list_rules;
} options;

static void usage(FILE *out)
{
    fputs("usage: itip-check [-c FILE] [--json] [--now YYYYMMDDTHHMMSSZ] FILE...\n"
          "       itip-check --list-rules [--json]\n"
          "  FILE is an RFC 5322 message or a bare iCalendar file; - reads standard input.\n"
          "  -c, --config FILE   configuration (default: built-in defaults)\n"
          "  -j, --json          one JSON object per input file, one per line\n"
          "  -n, --now TIME      the clock the skew rules compare with (UTC)\n"
          "  -l, --list-rules    list every rule: id, default severity, summary\n"
          "  -h, --help          this text\n"
          "exit status: 0 clean or info only, 1 a finding of degrade or worse, 2 error\n",
          out);
}

/* Parses YYYYMMDDTHHMMSSZ into *t; -1 when malformed. */
static int parse_now(const char *s, time_t *t)
{
    struct tm tm;
    char *end;

    if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return -1;
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
    if (end == NULL || *end != '\0')
        return -1;
    *t = timegm(&tm);
    return 0;
}

/* The rule table, from the same rules.def the engine is built from. */
static void list_rules(int json)
{
    int i;

    for (i = 0; i < ITIP_RULE_COUNT; i++) {
        const itip_rule *r = &itip_rules[i];
        if (!json) {
            printf("%-40s %-4s %-10s %s\n", r->id, r->catalogue, itip_severity_name(r->severity),
                   r->summary);
            continue;
        }
        fputs("{\"rule\":", stdout);
        itip_json_put_string(stdout, r->id);
        fputs(",\"catalogue\":", stdout);
        itip_json_put_string(stdout, r->catalogue);
        fputs(",\"severity\":", stdout);
        itip_json_put_string(stdout, itip_severity_name(r->severity));
        fputs(",\"summary\":", stdout);
        itip_json_put_string(stdout, r->summary);
        fputs("}\n", stdout);
    }
}

static int read_all(const char *path, strbuf *b)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char chunk[FEED_CHUNK];
    size_t n;
    int err = 0;

    if (fp == NULL)
        return -1;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        if (itip_strbuf_append(b, chunk, n) < 0) {
            errno = ENOMEM;
            err = 1;
            break;
        }
    if (ferror(fp))
        err = 1;
    if (fp != stdin)
        fclose(fp);
    return err ? -1 : 0;
}

static int feed(itip_engine *e, const char *data, size_t len)
{
    int bare = itip_looks_like_ical(data, len);
    size_t off = 0;

    do {
        size_t n = len - off < FEED_CHUNK ? len - off : FEED_CHUNK;
        int r = bare ? itip_engine_feed_ical(e, data + off, n) : itip_engine_feed(e, data + off, n);
        if (r < 0)
            return -1;
        off += n;
    } while (off < len);
    return itip_engine_finish(e);
}

static void report_text(const char *name, const itip_engine *e)
{
    const itip_findings *f = itip_engine_findings(e);
    size_t i;

    printf("%s: %s, %zu calendar part%s", name, itip_severity_name(itip_engine_verdict(e)),
           itip_engine_calendar_parts(e), itip_engine_calendar_parts(e) == 1 ? "" : "s");
    if (itip_engine_method(e))
        printf(", method %s", itip_engine_method(e));
    if (itip_engine_uid(e))
        printf(", uid %.60s", itip_engine_uid(e));
    putchar('\n');
    for (i = 0; i < f->n; i++) {
        const itip_finding *x = &f->v[i];
        printf("  %-10s %s", itip_severity_name(x->severity), itip_rules[x->rule].id);
        if (x->component || x->property)
            printf(" [%s%s%s]", x->component ? x->component : "",
                   x->component && x->property ? " " : "", x->property ? x->property : "");
        printf("\n             %s\n", x->detail);
    }
}

static void report_json(const char *name, const itip_engine *e)
{
    const itip_findings *f = itip_engine_findings(e);
    size_t i;

    fputs("{\"file\":", stdout);
    itip_json_put_string(stdout, name);
    fputs(",\"verdict\":", stdout);
    itip_json_put_string(stdout, itip_severity_name(itip_engine_verdict(e)));
    printf(",\"calendar_parts\":%zu,\"method\":", itip_engine_calendar_parts(e));
    itip_json_put_string(stdout, itip_engine_method(e));
    fputs(",\"uid\":", stdout);
    itip_json_put_string(stdout, itip_engine_uid(e));
    fputs(",\"findings\":[", stdout);
    for (i = 0; i < f->n; i++) {
        if (i)
            putchar(',');
        itip_json_put_finding(stdout, &f->v[i]);
    }
    fputs("]}\n", stdout);
}

/* Checks one input; returns 0 clean, 1 findings of degrade or worse, 2 error. */
static int check_file(const char *path, const itip_config *cfg, const options *o)
{
    strbuf data;
    itip_engine *e;
    int rc;

    itip_strbuf_init(&data, 0);
    if (read_all(path, &data) < 0) {
        fprintf(stderr, "itip-check: %s: %s\n", path, strerror(errno));
        itip_strbuf_free(&data);
        return EXIT_ERROR;
    }
    e = itip_engine_new(cfg);
    if (e == NULL) {
        fprintf(stderr, "itip-check: %s: out of memory\n", path);
        itip_strbuf_free(&data);
        return EXIT_ERROR;
    }
    if (o->now_set)
        itip_engine_set_now(e, o->now);
    if (feed(e, data.s ? data.s : "", data.len) < 0) {
        fprintf(stderr, "itip-check: %s: internal error: %s\n", path,
                itip_engine_error(e) ? itip_engine_error(e) : "unknown");
        rc = EXIT_ERROR;
    } else {
        if (o->json)
            report_json(path, e);
        else
            report_text(path, e);
        rc = itip_engine_verdict(e) >= ITIP_SEV_DEGRADE ? EXIT_FINDINGS : 0;
    }
    fflush(stdout);
    itip_engine_free(e);
    itip_strbuf_free(&data);
    return rc;
}

static int parse_options(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { "now", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { "list-rules", no_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    memset(o, 0, sizeof *o);
    while ((ch = getopt_long(argc, argv, "c:jn:hl", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': o->config_file = optarg; break;
        case 'j': o->json = 1; break;
        case 'n':
            if (parse_now(optarg, &o->now) < 0) {
                fprintf(stderr, "itip-check: --now wants YYYYMMDDTHHMMSSZ, got '%s'\n", optarg);
                return -1;
            }
            o->now_set = 1;
            break;
        case 'h': usage(stdout); exit(0);
        case 'l': o->list_rules = 1; break;
        default: usage(stderr); return -1;
        }
    }
    if (o->list_rules) {
        if (optind < argc) {
            fputs("itip-check: --list-rules takes no file\n", stderr);
            return -1;
        }
        return 0;
    }
    if (optind >= argc) {
        fputs("itip-check: no input file (use - for standard input)\n", stderr);
        usage(stderr);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    itip_config *cfg;
    char err[1024];
    int i, worst = 0;

    if (parse_options(argc, argv, &o) < 0)
        return EXIT_ERROR;
    if (o.list_rules) {
        list_rules(o.json);
        return 0;
    }
    cfg = o.config_file ? itip_config_load(o.config_file, err, sizeof err) : itip_config_default();
    if (cfg == NULL) {
        fprintf(stderr, "itip-check: %s\n", o.config_file ? err : "out of memory");
        return EXIT_ERROR;
    }
    for (i = optind; i < argc; i++) {
        int r = check_file(argv[i], cfg, &o);
        if (r > worst)
            worst = r;
    }
    itip_config_free(cfg);
    return worst;
}
