/*
 * itip_check.c - itip-check, the offline checker: runs the milter's engine on message files,
 * bare iCalendar files and mailboxes (mbox files, Maildir directories) and reports the
 * findings as text or as one JSON object per message.
 *
 * --state DIR keeps an LMDB store in DIR: inputs are checked in argument order (a mailbox's
 * messages in mailbox order) and each message is recorded after its report, so a REQUEST and
 * its later REPLY are compared as the milter would.  mbox files are read as mboxrd (a line
 * ">From " or ">>From " loses one '>'; this is also right for mboxo files, except for body
 * lines that began with ">From " before quoting).  A Maildir is the messages of cur/ and new/
 * together in file-name order (Maildir names begin with the delivery time).  After any
 * mailbox input a summary follows: on stdout in text mode, on stderr with --json so that
 * stdout stays one JSON object per line.  Progress goes to stderr only when it is a terminal.
 *
 * Exit status: 0 when no finding is degrade or worse, 1 when at least one is, 2 on a usage,
 * configuration or read error (with a message on stderr).  No libmilter here.
 */
#include "ac-config.h"
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "base/config.h"
#include "engine/engine.h"
#include "base/json.h"
#include "base/strbuf.h"

#define FEED_CHUNK 65536       /* the engine is fed like the milter: in body-sized chunks */
#define EXIT_FINDINGS 1
#define EXIT_ERROR 2
#define PROGRESS_EVERY 200     /* messages between two progress lines on a terminal */
#define NAME_BUF 4096

typedef struct {
    const char *config_file;
    int json;
    int now_set;
    time_t now;
    int list_rules;
    const char *state_dir;
    const char *mail_from;          /* --mail-from, or NULL */
    char **rcpt_to;                 /* --rcpt-to, in order (argv strings) */
    size_t n_rcpt_to;
} options;

static void usage(FILE *out)
{
    fputs("usage: itip-check [-c FILE] [--json] [--now YYYYMMDDTHHMMSSZ] [--state DIR]\n"
          "                  [--mail-from ADDR] [--rcpt-to ADDR]... FILE...\n"
          "       itip-check --list-rules [--json]\n"
          "  FILE is an RFC 5322 message, a bare iCalendar file, an mbox file or a Maildir\n"
          "  directory; - reads standard input.\n"
          "  -c, --config FILE   configuration (default: built-in defaults)\n"
          "  -j, --json          one JSON object per message, one per line\n"
          "  -n, --now TIME      the clock the skew rules compare with (UTC)\n"
          "  -s, --state DIR     keep meetings in an LMDB store in DIR, for the stateful rules\n"
          "  -f, --mail-from A   the envelope sender of every input (\"\" or <> for none)\n"
          "  -r, --rcpt-to A     an envelope recipient of every input (repeatable); without\n"
          "                      either, Return-Path, Delivered-To and X-Original-To are used\n"
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
            printf("    source: %s\n    remedy: %s\n", itip_rule_source(i), itip_rule_remedy(i));
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
        fputs(",\"source\":", stdout);
        itip_json_put_string(stdout, itip_rule_source(i));
        fputs(",\"remedy\":", stdout);
        itip_json_put_string(stdout, itip_rule_remedy(i));
        fputs("}\n", stdout);
    }
}

/* ---- one run over all inputs ---- */

typedef struct {
    const itip_config *cfg;
    const options *o;
    itip_engine *e;
    itip_store *st;
    int worst;                      /* exit status so far */
    int mailboxes;                  /* mailbox inputs seen: print the summary */
    int progress;                   /* stderr is a terminal */
    unsigned long messages, calendar, errors;
    unsigned long per_rule[ITIP_RULE_COUNT];
} run;

/* Where a message came from, for the report. */
typedef struct {
    const char *file;               /* the input as named on the command line */
    long position;                  /* 1-based in a mailbox, 0 for a plain file */
    const char *member;             /* Maildir: "cur/NAME", else NULL */
} origin;

static void put_origin_json(const origin *w)
{
    fputs("{\"file\":", stdout);
    itip_json_put_string(stdout, w->file);
    if (w->position > 0)
        printf(",\"position\":%ld", w->position);
    if (w->member != NULL) {
        fputs(",\"message\":", stdout);
        itip_json_put_string(stdout, w->member);
    }
}

/* Said of a calendar message checked without an envelope. */
static const char NO_ENVELOPE[] = "no envelope: the envelope rules were skipped";

/* A message with calendar parts that came without an envelope (a bare .ics has none to
 * miss). */
static int envelope_missing(const itip_engine *e)
{
    return itip_engine_calendar_parts(e) > 0 && itip_engine_calpart(e, 0) != NULL &&
           itip_engine_envelope(e) == ITIP_ENV_NONE;
}

static const char *envelope_name(itip_envelope v)
{
    return v == ITIP_ENV_GIVEN ? "given" : v == ITIP_ENV_HEADERS ? "headers" : "none";
}

static void report_text(const origin *w, const itip_engine *e)
{
    const itip_findings *f = itip_engine_findings(e);
    size_t i;

    if (w->position > 0)
        printf("%s#%ld%s%s%s", w->file, w->position, w->member ? " (" : "",
               w->member ? w->member : "", w->member ? ")" : "");
    else
        fputs(w->file, stdout);
    printf(": %s, %zu calendar part%s", itip_severity_name(itip_engine_verdict(e)),
           itip_engine_calendar_parts(e), itip_engine_calendar_parts(e) == 1 ? "" : "s");
    if (itip_engine_method(e))
        printf(", method %s", itip_engine_method(e));
    if (itip_engine_uid(e))
        printf(", uid %.60s", itip_engine_uid(e));
    if (itip_engine_state_note(e))
        printf(" (%s)", itip_engine_state_note(e));
    if (envelope_missing(e))
        printf(" (%s)", NO_ENVELOPE);
    putchar('\n');
    for (i = 0; i < f->n; i++) {
        const itip_finding *x = &f->v[i];
        printf("  %-10s %s", itip_severity_name(x->severity), itip_rules[x->rule].id);
        if (x->component || x->property)
            printf(" [%s%s%s]", x->component ? x->component : "",
                   x->component && x->property ? " " : "", x->property ? x->property : "");
        printf("\n             %s\n", x->detail);
        printf("             what to do: %s\n", itip_rule_remedy((int)x->rule));
    }
}

static void report_json(const origin *w, const itip_engine *e)
{
    const itip_findings *f = itip_engine_findings(e);
    size_t i;

    put_origin_json(w);
    fputs(",\"verdict\":", stdout);
    itip_json_put_string(stdout, itip_severity_name(itip_engine_verdict(e)));
    printf(",\"calendar_parts\":%zu,\"method\":", itip_engine_calendar_parts(e));
    itip_json_put_string(stdout, itip_engine_method(e));
    fputs(",\"uid\":", stdout);
    itip_json_put_string(stdout, itip_engine_uid(e));
    if (itip_engine_state_note(e)) {
        fputs(",\"state\":", stdout);
        itip_json_put_string(stdout, itip_engine_state_note(e));
    }
    fputs(",\"envelope\":", stdout);
    itip_json_put_string(stdout, envelope_name(itip_engine_envelope(e)));
    if (envelope_missing(e)) {
        fputs(",\"note\":", stdout);
        itip_json_put_string(stdout, NO_ENVELOPE);
    }
    fputs(",\"findings\":[", stdout);
    for (i = 0; i < f->n; i++) {
        if (i)
            putchar(',');
        itip_json_put_finding(stdout, &f->v[i]);
    }
    fputs("]}\n", stdout);
}

static void note_status(run *r, int rc)
{
    if (rc > r->worst)
        r->worst = rc;
}

/* Readies the engine for the next message. */
static void begin_message(run *r)
{
    size_t i;

    itip_engine_reset(r->e);
    if (r->o->now_set)
        itip_engine_set_now(r->e, r->o->now);
    if (r->o->mail_from != NULL)
        itip_engine_set_sender(r->e, r->o->mail_from);
    for (i = 0; i < r->o->n_rcpt_to; i++)
        itip_engine_add_rcpt(r->e, r->o->rcpt_to[i]);
}

/* Finishes the fed message: report, record, count.  FED: the feeding's result. */
static void end_message(run *r, const origin *w, int fed)
{
    const itip_findings *f;
    size_t i;

    r->messages++;
    if (fed < 0 || itip_engine_finish(r->e) < 0) {
        fprintf(stderr, "itip-check: %s", w->file);
        if (w->position > 0)
            fprintf(stderr, "#%ld", w->position);
        fprintf(stderr, ": internal error: %s\n",
                itip_engine_error(r->e) ? itip_engine_error(r->e) : "unknown");
        r->errors++;
        note_status(r, EXIT_ERROR);
        return;
    }
    if (r->st != NULL && itip_engine_record(r->e) < 0)
        fprintf(stderr, "itip-check: %s: %s (%s)\n", w->file, itip_engine_state_note(r->e),
                itip_store_error(r->st));
    if (r->o->json)
        report_json(w, r->e);
    else
        report_text(w, r->e);
    fflush(stdout);
    if (itip_engine_calendar_parts(r->e) > 0)
        r->calendar++;
    f = itip_engine_findings(r->e);
    for (i = 0; i < f->n; i++)
        r->per_rule[f->v[i].rule]++;
    note_status(r, itip_engine_verdict(r->e) >= ITIP_SEV_DEGRADE ? EXIT_FINDINGS : 0);
    if (r->progress && w->position > 0 && w->position % PROGRESS_EVERY == 0)
        fprintf(stderr, "\ritip-check: %s: %ld messages", w->file, w->position);
}

static void end_progress(const run *r, const char *file, long n)
{
    if (r->progress && n >= PROGRESS_EVERY)
        fprintf(stderr, "\ritip-check: %s: %ld messages\n", file, n);
}

/* ---- plain files ---- */

static int read_all(FILE *fp, strbuf *b)
{
    char chunk[FEED_CHUNK];
    size_t n;

    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        if (itip_strbuf_append(b, chunk, n) < 0) {
            errno = ENOMEM;
            return -1;
        }
    return ferror(fp) ? -1 : 0;
}

/* Feeds a whole message or iCalendar text in body-sized chunks. */
static int feed_all(itip_engine *e, const char *data, size_t len)
{
    int bare = itip_looks_like_ical(data, len);
    size_t off = 0;

    do {
        size_t n = len - off < FEED_CHUNK ? len - off : FEED_CHUNK;
        int rc = bare ? itip_engine_feed_ical(e, data + off, n)
                      : itip_engine_feed(e, data + off, n);
        if (rc < 0)
            return -1;
        off += n;
    } while (off < len);
    return 0;
}

/* Checks the one message in FP, whose first PRELEN bytes were already read into PRE. */
static void check_plain(run *r, const char *path, FILE *fp, const origin *w, const char *pre,
                        size_t prelen)
{
    strbuf data;

    itip_strbuf_init(&data, 0);
    if ((prelen > 0 && itip_strbuf_append(&data, pre, prelen) < 0) || read_all(fp, &data) < 0) {
        fprintf(stderr, "itip-check: %s: %s\n", path, strerror(errno));
        note_status(r, EXIT_ERROR);
    } else {
        begin_message(r);
        end_message(r, w, feed_all(r->e, data.s ? data.s : "", data.len));
    }
    itip_strbuf_free(&data);
}

/* ---- mbox ---- */

static int is_from_line(const char *line, size_t len)
{
    return len >= 5 && memcmp(line, "From ", 5) == 0;
}

/* ">From ", ">>From ": mboxrd quoting; the length of the quoted run, else 0. */
static size_t quoted_from(const char *line, size_t len)
{
    size_t q = 0;

    while (q < len && line[q] == '>')
        q++;
    return q > 0 && is_from_line(line + q, len - q) ? 1 : 0;
}

static int is_blank(const char *line, size_t len)
{
    return (len == 1 && line[0] == '\n') || (len == 2 && line[0] == '\r' && line[1] == '\n');
}

/* Streams the messages of an mbox file through the engine, one at a time.  The blank line
 * before each "From " separator belongs to the mbox format, not to the message.  The first
 * five bytes ("From ") were already read: the rest of that line is skipped. */
static void check_mbox(run *r, const char *path, FILE *fp)
{
    char *line = NULL, *held = NULL;
    size_t cap = 0, heldlen = 0;
    ssize_t n;
    long pos = 1;
    int fed = 0, first = 1;
    origin w = { path, 0, NULL };

    r->mailboxes++;
    begin_message(r);
    while ((n = getline(&line, &cap, fp)) >= 0) {
        size_t len = (size_t)n, skip;
        if (first) {
            first = 0;
            continue;                       /* the rest of the first separator line */
        }
        if (is_from_line(line, len)) {
            w.position = pos;
            end_message(r, &w, fed);
            begin_message(r);
            pos++;
            fed = 0;
            heldlen = 0;
            continue;
        }
        if (heldlen > 0 && fed == 0 && itip_engine_feed(r->e, held, heldlen) < 0)
            fed = -1;
        heldlen = 0;
        if (is_blank(line, len)) {          /* held back: it may be the separator's */
            free(held);
            held = strndup(line, len);
            heldlen = held ? len : 0;
            continue;
        }
        skip = quoted_from(line, len);
        if (fed == 0 && itip_engine_feed(r->e, line + skip, len - skip) < 0)
            fed = -1;
    }
    if (ferror(fp)) {
        fprintf(stderr, "itip-check: %s: %s\n", path, strerror(errno));
        note_status(r, EXIT_ERROR);
    }
    w.position = pos;
    end_message(r, &w, fed);
    end_progress(r, path, pos);
    free(line);
    free(held);
}

/* ---- Maildir ---- */

typedef struct {
    char *sub;                      /* "cur" or "new" */
    char *name;
} mdentry;

static int mdentry_cmp(const void *a, const void *b)
{
    const mdentry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->sub, y->sub);
}

/* Appends the files of DIR/SUB to *v; -1 when unreadable. */
static int list_sub(const char *dir, const char *sub, mdentry **v, size_t *n)
{
    char path[NAME_BUF];
    DIR *d;
    struct dirent *x;
    int rc = 0;

    if (snprintf(path, sizeof path, "%s/%s", dir, sub) >= (int)sizeof path ||
        (d = opendir(path)) == NULL)
        return -1;
    while ((x = readdir(d)) != NULL) {
        mdentry *nv;
        if (x->d_name[0] == '.')
            continue;
        nv = realloc(*v, (*n + 1) * sizeof *nv);
        if (nv == NULL) {
            rc = -1;
            break;
        }
        *v = nv;
        nv[*n].sub = (char *)sub;
        if ((nv[*n].name = strdup(x->d_name)) == NULL) {
            rc = -1;
            break;
        }
        (*n)++;
    }
    closedir(d);
    return rc;
}

static void check_maildir(run *r, const char *path)
{
    static char cur[] = "cur", new_[] = "new";
    mdentry *v = NULL;
    size_t n = 0, i;
    int have_cur, have_new;
    char file[NAME_BUF], member[NAME_BUF];

    r->mailboxes++;
    have_cur = list_sub(path, cur, &v, &n) == 0;
    have_new = list_sub(path, new_, &v, &n) == 0;
    if (!have_cur && !have_new) {
        fprintf(stderr, "itip-check: %s: a directory, but not a Maildir (no cur/ or new/)\n",
                path);
        note_status(r, EXIT_ERROR);
    }
    if (n > 1)
        qsort(v, n, sizeof *v, mdentry_cmp);
    for (i = 0; i < n; i++) {
        origin w = { path, (long)i + 1, member };
        FILE *fp;
        snprintf(member, sizeof member, "%s/%s", v[i].sub, v[i].name);
        if (snprintf(file, sizeof file, "%s/%s", path, member) >= (int)sizeof file ||
            (fp = fopen(file, "rb")) == NULL) {
            fprintf(stderr, "itip-check: %s: %s\n", file, strerror(errno));
            note_status(r, EXIT_ERROR);
            continue;
        }
        check_plain(r, file, fp, &w, NULL, 0);
        fclose(fp);
        if (r->progress && (i + 1) % PROGRESS_EVERY == 0)
            fprintf(stderr, "\ritip-check: %s: %zu messages", path, i + 1);
    }
    end_progress(r, path, (long)n);
    for (i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

/* ---- one input ---- */

static void check_input(run *r, const char *path)
{
    origin w = { path, 0, NULL };
    struct stat st;
    FILE *fp;
    char head[5];
    size_t got;

    if (strcmp(path, "-") == 0) {
        check_plain(r, path, stdin, &w, NULL, 0);
        return;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        check_maildir(r, path);
        return;
    }
    if ((fp = fopen(path, "rb")) == NULL) {
        fprintf(stderr, "itip-check: %s: %s\n", path, strerror(errno));
        note_status(r, EXIT_ERROR);
        return;
    }
    /* an mbox file begins with a "From " separator line; a message never does */
    got = fread(head, 1, sizeof head, fp);
    if (got == sizeof head && memcmp(head, "From ", sizeof head) == 0)
        check_mbox(r, path, fp);
    else
        check_plain(r, path, fp, &w, head, got);
    fclose(fp);
}

/* After mailbox input: messages, calendar messages, findings per rule. */
static void summary(const run *r)
{
    FILE *out = r->o->json ? stderr : stdout;
    int i;

    fprintf(out, "summary: %lu message%s, %lu with calendar parts", r->messages,
            r->messages == 1 ? "" : "s", r->calendar);
    if (r->errors)
        fprintf(out, ", %lu not checked (errors)", r->errors);
    fputc('\n', out);
    for (i = 0; i < ITIP_RULE_COUNT; i++)
        if (r->per_rule[i])
            fprintf(out, "  %-40s %lu\n", itip_rules[i].id, r->per_rule[i]);
}

static itip_store *open_state(const itip_config *cfg, const char *dir)
{
    itip_state_config sc = cfg->state;
    char err[1024];
    itip_store *st;

    sc.backend = (char *)"lmdb";
    sc.path = (char *)dir;
    st = itip_store_open(&sc, err, sizeof err);
    if (st == NULL)
        fprintf(stderr, "itip-check: --state %s: %s\n", dir, err);
    else if (itip_store_notice(st) != NULL)
        fprintf(stderr, "itip-check: --state %s: %s\n", dir, itip_store_notice(st));
    return st;
}

static int parse_options(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { "now", required_argument, NULL, 'n' },
        { "state", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { "list-rules", no_argument, NULL, 'l' },
        { "mail-from", required_argument, NULL, 'f' },
        { "rcpt-to", required_argument, NULL, 'r' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    memset(o, 0, sizeof *o);
    o->rcpt_to = calloc((size_t)argc + 1, sizeof *o->rcpt_to);   /* at most one per argument */
    if (o->rcpt_to == NULL) {
        fputs("itip-check: out of memory\n", stderr);
        return -1;
    }
    while ((ch = getopt_long(argc, argv, "c:jn:s:hlf:r:", longopts, NULL)) != -1) {
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
        case 's': o->state_dir = optarg; break;
        case 'h': usage(stdout); exit(0);
        case 'l': o->list_rules = 1; break;
        case 'f': o->mail_from = optarg; break;
        case 'r':
            if (*optarg == '\0' || strchr(optarg, '@') == NULL) {
                fprintf(stderr, "itip-check: --rcpt-to wants an address, got '%s'\n", optarg);
                return -1;
            }
            o->rcpt_to[o->n_rcpt_to++] = optarg;
            break;
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

static int check_all(int argc, char **argv, options o)
{
    itip_config *cfg;
    run r;
    char err[1024];
    int i;

    if (o.list_rules) {
        list_rules(o.json);
        return 0;
    }
    cfg = o.config_file ? itip_config_load(o.config_file, err, sizeof err) : itip_config_default();
    if (cfg == NULL) {
        fprintf(stderr, "itip-check: %s\n", o.config_file ? err : "out of memory");
        return EXIT_ERROR;
    }
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    r.o = &o;
    r.progress = isatty(STDERR_FILENO);
    if ((o.state_dir && (r.st = open_state(cfg, o.state_dir)) == NULL) ||
        (r.e = itip_engine_new(cfg)) == NULL) {
        if (r.st != NULL || !o.state_dir)
            fputs("itip-check: out of memory\n", stderr);
        itip_store_close(r.st);
        itip_config_free(cfg);
        return EXIT_ERROR;
    }
    itip_engine_set_store(r.e, r.st);
    for (i = optind; i < argc; i++)
        check_input(&r, argv[i]);
    if (r.mailboxes > 0)
        summary(&r);
    itip_engine_free(r.e);
    itip_store_close(r.st);
    itip_config_free(cfg);
    return r.worst;
}

int main(int argc, char **argv)
{
    options o;
    int rc;

    if (parse_options(argc, argv, &o) < 0) {
        free(o.rcpt_to);
        return EXIT_ERROR;
    }
    rc = check_all(argc, argv, o);
    free(o.rcpt_to);
    return rc;
}
