/*
 * itip_quarantine.c - itip-quarantine, the postmaster's review tool for the messages
 * itip-milter held: options, the configuration, the choice of MTA, and the dispatch to the
 * commands of quar_cmd.c (list, show, recheck, release, delete) and quar_digest.h (digest,
 * expire).  ITIP_QUARANTINE_NOW=EPOCH sets the clock of digest and expire (for tests).
 *
 * The MTA is Sendmail when a --sendmail-* option is given, Postfix when --postfix-dir is,
 * otherwise Postfix if /usr/sbin/postqueue exists, else Sendmail.  The configuration is -c
 * FILE, else the milter's default file when it exists, else the built-in defaults.  Exit
 * status: 0; 1 when recheck finds a message that would still be stopped; 2 on any error
 * (usage, configuration, unknown queue id, a failed MTA tool).  No libmilter here.
 */
#include "ac-config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "base/config.h"
#include "quar_cmd.h"
#include "quar_digest.h"

#define DEFAULT_CONFIG SYSCONFDIR "/itip-milter.conf"
#define DEFAULT_TIMEOUT 60       /* seconds per MTA tool run */
#define MAX_TIMEOUT 3600

enum { O_POSTFIX = 256, O_SM_QUEUE, O_SM_CONFIG, O_SM_PROGRAM, O_RULE, O_SINCE, O_SENDER,
       O_TIMEOUT, O_HTML, O_MAIL, O_DRY_RUN };

static const struct option longopts[] = {
    { "config", required_argument, NULL, 'c' },
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { "postfix-dir", required_argument, NULL, O_POSTFIX },
    { "sendmail-queue", required_argument, NULL, O_SM_QUEUE },
    { "sendmail-config", required_argument, NULL, O_SM_CONFIG },
    { "sendmail-program", required_argument, NULL, O_SM_PROGRAM },
    { "rule", required_argument, NULL, O_RULE },
    { "since", required_argument, NULL, O_SINCE },
    { "sender", required_argument, NULL, O_SENDER },
    { "timeout", required_argument, NULL, O_TIMEOUT },
    { "html", no_argument, NULL, O_HTML },
    { "mail", required_argument, NULL, O_MAIL },
    { "dry-run", no_argument, NULL, O_DRY_RUN },
    { NULL, 0, NULL, 0 }
};

typedef struct {
    const char *config_file;
    const char *since;
    int sendmail;
    char prefix[4096];          /* q.cmd_prefix */
    quar_ctx q;
} options;

static void usage(FILE *out)
{
    fputs("usage: itip-quarantine [OPTION]... list\n"
          "       itip-quarantine [OPTION]... show|recheck|release|delete QUEUE-ID...\n"
          "       itip-quarantine [OPTION]... digest [--since TIME] [--html] [--mail ADDR]\n"
          "       itip-quarantine [OPTION]... expire [--dry-run]\n"
          "  list                 the messages itip-milter held (a table, or --json)\n"
          "  show ID...           envelope, subject, findings and the calendar lines behind them\n"
          "  recheck ID...        would the current engine and configuration still hold it?\n"
          "  release ID...        deliver now        delete ID...   remove from the queue\n"
          "  digest               what is held, by rule and sender domain, overdue first,\n"
          "                       with the commands to release or delete each (text, --json,\n"
          "                       --html: one HTML page, --mail ADDR: both, mailed)\n"
          "  expire               act on messages held longer than quarantine.max_hold_age\n"
          "                       (quarantine.on_max_hold_age: keep, release or return)\n"
          "  -c, --config FILE    itip-milter configuration (default " DEFAULT_CONFIG
          "\n                       when it exists, else the built-in defaults)\n"
          "  -j, --json           list, recheck, digest: one JSON object per message and line\n"
          "  --rule RULE          list: only messages with a finding of RULE\n"
          "  --since TIME         list, digest: arrived at or after TIME (YYYY-MM-DD[ HH:MM[:SS]],\n"
          "                       @EPOCH, or an age such as 30m, 12h, 2d)\n"
          "  --sender ADDR        list: only messages from this envelope sender\n"
          "  --postfix-dir DIR    Postfix configuration directory (postfix tools get -c DIR)\n"
          "  --sendmail-queue DIR       Sendmail's queue directory\n"
          "  --sendmail-config FILE     Sendmail's configuration (sendmail gets -C FILE)\n"
          "  --sendmail-program PATH    the sendmail binary (default /usr/sbin/sendmail)\n"
          "  --timeout SECS       longest wait for one MTA tool (default 60)\n"
          "  --html               digest: an HTML page instead of text\n"
          "  --mail ADDR          digest: mail text and HTML to ADDR through sendmail(1)\n"
          "  --dry-run            expire: say what would be done, do nothing\n"
          "exit status: 0; 1 recheck: a message would still be stopped; 2 error\n",
          out);
}

static int bad_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "itip-quarantine: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    usage(stderr);
    return QUAR_ERROR;
}

/* Applies one option; 0, or the exit code of a usage error. */
static int take_option(options *o, int c, const char *arg)
{
    char *end;
    long t;

    switch (c) {
    case 'c': o->config_file = arg; return 0;
    case 'j': o->q.json = 1; return 0;
    case O_POSTFIX: o->q.mopts.postfix_dir = arg; return 0;
    case O_SM_QUEUE: o->q.mopts.sendmail_queue = arg; o->sendmail = 1; return 0;
    case O_SM_CONFIG: o->q.mopts.sendmail_config = arg; o->sendmail = 1; return 0;
    case O_SM_PROGRAM: o->q.mopts.sendmail_program = arg; o->sendmail = 1; return 0;
    case O_RULE:
        if (itip_rule_lookup(arg) < 0)
            return bad_usage("unknown rule", arg);
        o->q.filter.rule = arg;
        return 0;
    case O_SINCE: o->since = arg; return 0;
    case O_SENDER: o->q.filter.sender = arg; return 0;
    case O_HTML: o->q.html = 1; return 0;
    case O_MAIL:
        if (!quar_addr_ok(arg))
            return bad_usage("--mail wants a plain mail address", arg);
        o->q.mail_to = arg;
        return 0;
    case O_DRY_RUN: o->q.dry_run = 1; return 0;
    case O_TIMEOUT:
        t = strtol(arg, &end, 10);
        if (end == arg || *end || t < 1 || t > MAX_TIMEOUT)
            return bad_usage("--timeout wants 1 to 3600 seconds", arg);
        o->q.mopts.timeout = (int)t;
        return 0;
    default:                    /* getopt_long has said what was wrong */
        usage(stderr);
        return QUAR_ERROR;
    }
}

/* Postfix tools and sendmail live in sbin, which a plain user's PATH may lack. */
static void complete_path(void)
{
    const char *path = getenv("PATH");
    char buf[8192];

    if (path && strstr(path, "/usr/sbin"))
        return;
    snprintf(buf, sizeof buf, "%s%s/usr/sbin:/sbin:/usr/bin:/bin", path ? path : "",
             path && *path ? ":" : "");
    setenv("PATH", buf, 1);
}

static itip_config *load_config(const char *file)
{
    char err[512];
    itip_config *cfg;

    if (file == NULL && access(DEFAULT_CONFIG, F_OK) == 0)
        file = DEFAULT_CONFIG;
    if (file == NULL) {
        cfg = itip_config_default();
        if (cfg == NULL)
            fprintf(stderr, "itip-quarantine: out of memory\n");
        return cfg;
    }
    cfg = itip_config_load(file, err, sizeof err);
    if (cfg == NULL)
        fprintf(stderr, "itip-quarantine: %s\n", err);
    return cfg;
}

/* The state store of the stateful rules, when configured; NULL (said so) when it fails. */
static itip_store *open_store(const itip_config *cfg)
{
    char err[512];
    itip_store *st;

    if (cfg->state.backend == NULL || strcmp(cfg->state.backend, "none") == 0)
        return NULL;
    st = itip_store_open(&cfg->state, err, sizeof err);
    if (st == NULL)
        fprintf(stderr, "itip-quarantine: warning: %s: stateful rules skipped\n", err);
    return st;
}

static int dispatch(const options *o, const char *cmd, char *const *ids, int n)
{
    if (strcmp(cmd, "list") == 0)
        return n ? bad_usage("list takes no queue id", ids[0]) : quar_cmd_list(&o->q);
    if (strcmp(cmd, "digest") == 0)
        return n ? bad_usage("digest takes no queue id", ids[0]) : quar_cmd_digest(&o->q);
    if (strcmp(cmd, "expire") == 0)
        return n ? bad_usage("expire takes no queue id", ids[0]) : quar_cmd_expire(&o->q);
    if (strcmp(cmd, "show") && strcmp(cmd, "recheck") && strcmp(cmd, "release") &&
        strcmp(cmd, "delete"))
        return bad_usage("unknown command", cmd);
    if (n == 0)
        return bad_usage("which queue id?", cmd);
    if (strcmp(cmd, "show") == 0)
        return quar_cmd_show(&o->q, ids, n);
    if (strcmp(cmd, "recheck") == 0)
        return quar_cmd_recheck(&o->q, ids, n);
    if (strcmp(cmd, "release") == 0)
        return quar_cmd_release(&o->q, ids, n);
    return quar_cmd_delete(&o->q, ids, n);
}

static int choose_mta(options *o)
{
    if (o->sendmail && o->q.mopts.postfix_dir)
        return bad_usage("--postfix-dir and --sendmail-* exclude each other", NULL);
    if (o->sendmail || (!o->q.mopts.postfix_dir && access("/usr/sbin/postqueue", X_OK) != 0))
        o->q.mta = &quar_sendmail;
    else
        o->q.mta = &quar_postfix;
    if (o->since && quar_parse_since(o->since, o->q.now, &o->q.filter.since) < 0)
        return bad_usage("cannot read --since", o->since);
    o->q.filter.since_set = o->since != NULL;
    return 0;
}

/* Appends ARG to the prefix, single-quoted for a POSIX shell when it needs quoting. */
static void prefix_add(options *o, const char *arg)
{
    size_t n = strlen(o->prefix);
    const char *p;
    int plain = *arg != '\0';

    for (p = arg; *p; p++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./=:@%+,",
                    *p))
            plain = 0;
    if (n + 1 < sizeof o->prefix)
        o->prefix[n++] = ' ';
    if (plain) {
        snprintf(o->prefix + n, sizeof o->prefix - n, "%s", arg);
        return;
    }
    if (n + 1 < sizeof o->prefix)
        o->prefix[n++] = '\'';
    for (p = arg; *p && n + 6 < sizeof o->prefix; p++) {
        if (*p == '\'') {
            memcpy(o->prefix + n, "'\\''", 4);
            n += 4;
        } else {
            o->prefix[n++] = *p;
        }
    }
    o->prefix[n++] = '\'';
    o->prefix[n] = '\0';
}

/* "itip-quarantine" and the options that name the same configuration and queue. */
static void make_prefix(options *o)
{
    snprintf(o->prefix, sizeof o->prefix, "itip-quarantine");
    if (o->config_file) {
        prefix_add(o, "-c");
        prefix_add(o, o->config_file);
    }
    if (o->q.mopts.postfix_dir) {
        prefix_add(o, "--postfix-dir");
        prefix_add(o, o->q.mopts.postfix_dir);
    }
    if (o->q.mopts.sendmail_queue) {
        prefix_add(o, "--sendmail-queue");
        prefix_add(o, o->q.mopts.sendmail_queue);
    }
    if (o->q.mopts.sendmail_config) {
        prefix_add(o, "--sendmail-config");
        prefix_add(o, o->q.mopts.sendmail_config);
    }
    if (o->q.mopts.sendmail_program) {
        prefix_add(o, "--sendmail-program");
        prefix_add(o, o->q.mopts.sendmail_program);
    }
    o->q.cmd_prefix = o->prefix;
}

/* The clock: ITIP_QUARANTINE_NOW (seconds since the epoch) when set, for tests. */
static int set_now(options *o)
{
    const char *env = getenv("ITIP_QUARANTINE_NOW");
    char *end;
    long long t;

    o->q.now = time(NULL);
    if (env == NULL || *env == '\0')
        return 0;
    t = strtoll(env, &end, 10);
    if (end == env || *end || t <= 0) {
        fprintf(stderr, "itip-quarantine: ITIP_QUARANTINE_NOW must be seconds since the "
                "epoch: %s\n", env);
        return QUAR_ERROR;
    }
    o->q.now = (time_t)t;
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    itip_config *cfg;
    int c, rc;

    memset(&o, 0, sizeof o);
    o.q.mopts.timeout = DEFAULT_TIMEOUT;
    while ((c = getopt_long(argc, argv, "c:jh", longopts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        if ((rc = take_option(&o, c, optarg)) != 0)
            return rc;
    }
    if (optind >= argc)
        return bad_usage("which command?", NULL);
    if ((rc = set_now(&o)) != 0)
        return rc;
    if ((rc = choose_mta(&o)) != 0)
        return rc;
    make_prefix(&o);
    cfg = load_config(o.config_file);
    if (cfg == NULL)
        return QUAR_ERROR;
    complete_path();
    o.q.cfg = cfg;
    if (strcmp(argv[optind], "show") == 0 || strcmp(argv[optind], "recheck") == 0)
        o.q.store = open_store(cfg);
    rc = dispatch(&o, argv[optind], argv + optind + 1, argc - optind - 1);
    itip_store_close(o.q.store);
    itip_config_free(cfg);
    fflush(stdout);
    return ferror(stdout) ? QUAR_ERROR : rc;
}
