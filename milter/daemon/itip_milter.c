/*
 * itip_milter.c - itip-milter, the daemon: options, configuration, socket, daemon mode,
 * pidfile, privileges, the SIGUSR1 reload thread, then libmilter's smfi_main().
 *
 *   itip-milter [-c FILE] [-f] [-n] [-p SOCKET]
 *
 * Exit status: 0 after an orderly stop (SIGTERM, or SIGHUP: libmilter's own signal thread
 * turns both into a shutdown), 64 on a usage error, 78 on a configuration error (printed as
 * FILE:LINE: message), 71 when the daemon cannot start (socket, metrics listener, pidfile,
 * privileges).
 * Start-up order: configuration, socket and metrics listening socket (as root), daemon,
 * pidfile, privileges dropped, the store of the stateful rules (msnap_install: opened as
 * the unprivileged user, after the fork, which an LMDB environment must not cross; a store
 * that cannot be opened is logged and the milter runs without it), the metrics listener's
 * thread (milter_http.c), reload thread, smfi_main.  A reload that changes `metrics` moves
 * the listener (milter_http.h).
 * SIGUSR1 and the signals libmilter handles are blocked in every thread, so only the reload
 * thread and libmilter's signal thread ever see them.
 * Exports main() only; no mail is handled here (milter_cb.c does that).
 */
#include "ac-config.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <libmilter/mfapi.h>
#include "milter_cb.h"
#include "milter_http.h"
#include "milter_log.h"
#include "milter_metrics.h"
#include "milter_notify.h"
#include "milter_snap.h"
#include "milter_sock.h"

#define DEFAULT_CONFIG SYSCONFDIR "/itip-milter.conf"

typedef struct {
    char *config;              /* absolute path */
    int optional;              /* the default path: a missing file means built-in defaults */
    int foreground, check;
    const char *socket;        /* -p */
} options;

static void usage(FILE *out)
{
    fprintf(out, "usage: itip-milter [-c FILE] [-f] [-n] [-p SOCKET]\n"
            "  -c FILE    configuration (default %s; built-in defaults if it is missing)\n"
            "  -f         stay in the foreground, log to standard error as well\n"
            "  -n         check the configuration and exit (0, or 78 with FILE:LINE: message)\n"
            "  -p SOCKET  listen here instead of the setting 'socket':\n"
            "             unix:/path, inet:PORT@HOST, inet6:PORT@HOST\n"
            "signals: SIGUSR1 reloads the configuration; SIGTERM and SIGHUP stop the daemon\n",
            DEFAULT_CONFIG);
}

/* PATH made absolute (the daemon changes to / and reloads from there); NULL if no memory. */
static char *absolute(const char *path)
{
    char cwd[PATH_MAX], *out;

    if (path[0] == '/' || getcwd(cwd, sizeof cwd) == NULL)
        return strdup(path);
    out = malloc(strlen(cwd) + strlen(path) + 2);
    if (out != NULL)
        sprintf(out, "%s/%s", cwd, path);
    return out;
}

static int parse_options(int argc, char **argv, options *o)
{
    const char *file = NULL;
    int ch;

    memset(o, 0, sizeof *o);
    while ((ch = getopt(argc, argv, "c:fnp:h")) != -1) {
        switch (ch) {
        case 'c': file = optarg; break;
        case 'f': o->foreground = 1; break;
        case 'n': o->check = 1; break;
        case 'p': o->socket = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "itip-milter: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    o->optional = file == NULL;
    o->config = absolute(file ? file : DEFAULT_CONFIG);
    if (o->config == NULL) {
        fputs("itip-milter: out of memory\n", stderr);
        return -1;
    }
    return 0;
}

/* ---- daemon mode: the parent exits with the child's start-up result ---- */

static int ready_fd = -1;

/* Forks; the parent waits for a message on a pipe: empty = started, else the error. */
static int daemonize(void)
{
    int p[2], fd;
    pid_t pid;

    if (pipe(p) < 0 || (pid = fork()) < 0)
        return -1;
    if (pid > 0) {
        char msg[1024];
        ssize_t n;
        close(p[1]);
        n = read(p[0], msg, sizeof msg - 1);
        if (n > 0 && msg[0] != '\0') {
            msg[n] = '\0';
            fprintf(stderr, "itip-milter: %s\n", msg);
        }
        _exit(n == 1 && msg[0] == '\0' ? 0 : EX_OSERR);
    }
    close(p[0]);
    ready_fd = p[1];
    if (setsid() < 0 || chdir("/") < 0)
        return -1;
    fd = open("/dev/null", O_RDWR);
    if (fd < 0)
        return -1;
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
        close(fd);
    return 0;
}

/* Tells the waiting parent (daemon mode) how start-up went; MSG NULL = started.  Before
 * the fork, in daemon mode, a failure goes to standard error (the log has no copy there). */
static void report_start(const char *msg, int foreground)
{
    const char *m = msg ? msg : "";

    if (ready_fd < 0 && msg != NULL && !foreground)
        fprintf(stderr, "itip-milter: %s\n", msg);
    if (ready_fd < 0)
        return;
    if (write(ready_fd, m, strlen(m) + 1) < 0)
        mlog(LOG_WARNING, "cannot notify the parent process");
    close(ready_fd);
    ready_fd = -1;
}

/* ---- pidfile and privileges ---- */

static int write_pidfile(const char *path, uid_t owner, char *err, size_t errlen)
{
    char buf[32];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644), n, r;

    if (fd < 0) {
        snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
        return -1;
    }
    n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    r = write(fd, buf, (size_t)n) == n && (owner == (uid_t)-1 || fchown(fd, owner, -1) == 0);
    if (close(fd) < 0 || !r) {
        snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The user to become: copied out of getpwnam()'s static storage. */
typedef struct {
    const char *name;
    uid_t uid;
    gid_t gid;
} account;

static int drop_privileges(const account *a, char *err, size_t errlen)
{
    const char *step = NULL;

    if (geteuid() != 0 && geteuid() == a->uid)
        return 0;                               /* already that user */
    if (initgroups(a->name, a->gid) < 0)
        step = "initgroups";
    else if (setgid(a->gid) < 0)
        step = "setgid";
    else if (setuid(a->uid) < 0)
        step = "setuid";
    if (step != NULL) {
        snprintf(err, errlen, "cannot become user '%s': %s: %s", a->name, step,
                 strerror(errno));
        return -1;
    }
    if (a->uid != 0 && setuid(0) == 0) {
        snprintf(err, errlen, "cannot become user '%s': root could be regained", a->name);
        return -1;
    }
    return 0;
}

/* ---- the reload thread ---- */

static atomic_int reload_stop;

static void *reload_main(void *arg)
{
    const msnap_source *src = arg;
    sigset_t set;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (atomic_load(&reload_stop))
            break;
        if (msnap_reload(src) == 0) {
            msnap *s = msnap_acquire();
            if (s != NULL)
                mhttp_reload(s->cfg->metrics);
            msnap_release(s);
        }
    }
    return NULL;
}

/* SIGUSR1 for the reload thread; SIGHUP, SIGTERM, SIGINT for libmilter's signal thread. */
static void block_signals(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ---- start-up ---- */

/* Looks up `user` and `socket_group` (checked at load; gone since?).  0 or -1. */
static int accounts(const itip_config *cfg, account *user, gid_t *sgid, char *err,
                    size_t errlen)
{
    struct passwd *pw = cfg->user ? getpwnam(cfg->user) : NULL;
    struct group *gr;

    user->name = cfg->user;
    user->uid = pw ? pw->pw_uid : (uid_t)-1;
    user->gid = pw ? pw->pw_gid : (gid_t)-1;
    if (cfg->user != NULL && pw == NULL) {
        snprintf(err, errlen, "unknown user '%s'", cfg->user);
        return -1;
    }
    gr = cfg->socket_group ? getgrnam(cfg->socket_group) : NULL;
    *sgid = gr ? gr->gr_gid : (gid_t)-1;
    if (cfg->socket_group != NULL && gr == NULL) {
        snprintf(err, errlen, "unknown group '%s'", cfg->socket_group);
        return -1;
    }
    return 0;
}

/* The metrics listening socket, bound in start() (as root, before the fork), served from
 * serve() (after it); -1 when `metrics` is off. */
static int metrics_fd = -1;

/* Socket, metrics socket, daemon, pidfile, privileges.  0, or -1 with the reason in err. */
static int start(const options *o, const itip_config *cfg, char *err, size_t errlen)
{
    account user;
    gid_t sgid;
    msock_spec spec;
    int r;

    if (accounts(cfg, &user, &sgid, err, errlen) < 0 ||
        msock_parse(cfg->socket, &spec, err, errlen) < 0)
        return -1;
    milter_cb_socket(spec.kind == MSOCK_UNIX);
    if (smfi_register(*milter_cb_desc()) == MI_FAILURE) {
        snprintf(err, errlen, "smfi_register failed");
        return -1;
    }
    r = msock_open(cfg->socket, &spec, cfg->socket_mode, user.uid, sgid, err, errlen);
    if (r < 0)
        return -1;
    if (r > 0)
        mlog(LOG_WARNING, "%s", err);
    if (cfg->metrics != NULL && (metrics_fd = mhttp_bind(cfg->metrics, err, errlen)) < 0)
        return -1;
    if (!o->foreground && daemonize() < 0) {
        snprintf(err, errlen, "cannot become a daemon: %s", strerror(errno));
        return -1;
    }
    if (cfg->pidfile && write_pidfile(cfg->pidfile, user.uid, err, errlen) < 0)
        return -1;
    return user.name ? drop_privileges(&user, err, errlen) : 0;
}

static int serve(const options *o, itip_config *cfg)
{
    msnap_source src = { o->config, o->optional, o->socket };
    char *pidfile = cfg->pidfile ? strdup(cfg->pidfile) : NULL;
    msock_spec spec;
    char err[512];
    pthread_t reloader;
    int r, unix_socket = msock_parse(cfg->socket, &spec, err, sizeof err) == 0 &&
                         spec.kind == MSOCK_UNIX;

    mlog(LOG_NOTICE, "starting: socket %s, configuration %s%s", cfg->socket, o->config,
         cfg->file ? "" : " (missing: built-in defaults)");
    if (metrics_fd >= 0 && mhttp_start(metrics_fd, cfg->metrics, err, sizeof err) < 0) {
        report_start(err, o->foreground);
        mlog(LOG_ERR, "cannot start: %s", err);
        free(pidfile);
        itip_config_free(cfg);
        return EX_OSERR;
    }
    if (msnap_install(cfg) < 0 || pthread_create(&reloader, NULL, reload_main, &src) != 0) {
        report_start("out of memory", o->foreground);
        mlog(LOG_ERR, "cannot start: out of memory");
        mhttp_stop();
        free(pidfile);
        return EX_OSERR;
    }
    mnotify_start();
    report_start(NULL, o->foreground);
    r = smfi_main();
    mnotify_stop(5000);
    atomic_store(&reload_stop, 1);
    pthread_kill(reloader, SIGUSR1);
    pthread_join(reloader, NULL);
    mhttp_stop();
    if (unix_socket && unlink(spec.path) < 0)     /* ours: nobody else could bind it */
        mlog(LOG_DEBUG, "cannot remove socket %s: %s", spec.path, strerror(errno));
    if (pidfile != NULL && unlink(pidfile) < 0)
        mlog(LOG_DEBUG, "cannot remove pidfile %s: %s", pidfile, strerror(errno));
    free(pidfile);
    msnap_shutdown();
    mlog(LOG_NOTICE, "stopped");
    return r == MI_SUCCESS ? 0 : EX_SOFTWARE;
}

int main(int argc, char **argv)
{
    options o;
    msnap_source src;
    itip_config *cfg;
    char err[1024];
    int rc;

    if (parse_options(argc, argv, &o) < 0)
        return EX_USAGE;
    src = (msnap_source){ o.config, o.optional, o.socket };
    cfg = msnap_load(&src, err, sizeof err);
    if (cfg == NULL || o.check) {
        if (cfg == NULL)
            fprintf(stderr, "%s\n", err);
        itip_config_free(cfg);
        free(o.config);
        return cfg == NULL ? EX_CONFIG : 0;
    }
    mmetrics_init();
    mlog_init(o.foreground);
    mlog_configure(cfg->syslog_facility, cfg->log_level);
    block_signals();
    if (start(&o, cfg, err, sizeof err) < 0) {
        mlog(LOG_ERR, "cannot start: %s", err);
        report_start(err, o.foreground);
        itip_config_free(cfg);
        free(o.config);
        return EX_OSERR;
    }
    rc = serve(&o, cfg);
    free(o.config);
    return rc;
}
