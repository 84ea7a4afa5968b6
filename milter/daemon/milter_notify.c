/*
 * milter_notify.c - notices (see milter_notify.h).  Exports mnotify_start(), mnotify_stop()
 * and mnotify_submit().  The callback thread only decides, builds text and queues; the one
 * notifier thread talks to the store (the rate limit) and runs sendmail.
 */
#include "ac-config.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "base/strbuf.h"
#include "engine/notice.h"
#include "milter_ctx.h"
#include "milter_log.h"
#include "milter_metrics.h"
#include "milter_notify.h"

extern char **environ;

#define MAX_ARGS 16               /* words of notify.sendmail */
#define RATE_SLOTS 1024           /* originators remembered in memory (without a store) */
#define RATE_WINDOW 3600          /* seconds */
#define RATE_KEY "notice-rate:"

typedef struct job {
    struct job *next;
    char *to;                     /* the recipient */
    char *text;                   /* the whole notice */
    size_t len;
    char *rate_key;               /* the originator (lower-case) for the rate limit, or NULL */
    char *qid;
    msnap *snap;                  /* one reference: the settings and the store */
} job;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static job *head, *tail;
static size_t queued;
static int running, stopping;
static pthread_t worker;
static atomic_uint serial;
static char host[256];

/* ---- the rate limit ---- */

typedef struct {
    char key[128];
    time_t start;
    long count;
} rate_slot;

static rate_slot slots[RATE_SLOTS];     /* notifier thread only */

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

/* In memory: 1 when one more notice to KEY is allowed now (and counts it), else 0. */
static int rate_memory(const char *key, long limit, time_t now)
{
    rate_slot *s = &slots[hash(key) % RATE_SLOTS];

    if (strcmp(s->key, key) != 0 || now - s->start >= RATE_WINDOW) {
        snprintf(s->key, sizeof s->key, "%s", key);
        s->start = now;
        s->count = 0;
    }
    if (s->count >= limit)
        return 0;
    s->count++;
    return 1;
}

typedef struct {
    long limit;
    time_t now;
    int allowed;
} rate_arg;

/* The store's value: "START COUNT". */
static int rate_merge(void *arg, const char *old, size_t oldlen, char **out, size_t *outlen)
{
    rate_arg *a = arg;
    long long start = 0;
    long count = 0;
    char buf[64];
    int n;

    if (old != NULL && oldlen < sizeof buf) {
        memcpy(buf, old, oldlen);
        buf[oldlen] = '\0';
        if (sscanf(buf, "%lld %ld", &start, &count) != 2)
            start = 0, count = 0;
    }
    if (a->now - start >= RATE_WINDOW || start > a->now) {
        start = a->now;
        count = 0;
    }
    a->allowed = count < a->limit;
    if (!a->allowed)
        return 1;
    n = snprintf(buf, sizeof buf, "%lld %ld", start, count + 1);
    if ((*out = malloc((size_t)n)) == NULL)
        return -1;
    memcpy(*out, buf, (size_t)n);
    *outlen = (size_t)n;
    return 0;
}

/* 1: send; 0: over the limit.  The store when the snapshot has a working one, else memory. */
static int rate_allows(job *j, long limit)
{
    time_t now = time(NULL);
    int wanted;
    itip_store *st = msnap_store(j->snap, &wanted);
    char key[300];
    rate_arg a = { limit, now, 0 };

    if (st != NULL) {
        snprintf(key, sizeof key, RATE_KEY "%s", j->rate_key);
        if (itip_store_update(st, key, now, rate_merge, &a) == 0)
            return a.allowed;
        mlog(LOG_WARNING, "qid=%s notice rate limit: store failed (%s), counting in memory",
             j->qid, itip_store_error(st));
    }
    return rate_memory(j->rate_key, limit, now);
}

/* ---- sendmail ---- */

/* Splits CMD at blanks into ARGV (at most MAX_ARGS - 6 words, room for -i -f <> -- TO NULL);
 * the words point into BUF.  Returns the count, or -1. */
static int split_command(const char *cmd, char *buf, size_t len, char **argv)
{
    int n = 0;
    char *p, *save = NULL;

    if (snprintf(buf, len, "%s", cmd) >= (int)len)
        return -1;
    for (p = strtok_r(buf, " \t", &save); p != NULL; p = strtok_r(NULL, " \t", &save)) {
        if (n >= MAX_ARGS - 6)
            return -1;
        argv[n++] = p;
    }
    return n > 0 ? n : -1;
}

/* Writes the notice to FD within the deadline; 0 or -1. */
static int write_all(int fd, const char *s, size_t len, double deadline)
{
    while (len > 0) {
        struct pollfd p = { fd, POLLOUT, 0 };
        int left = (int)(deadline - mctx_now_ms());
        ssize_t w;
        if (left <= 0 || poll(&p, 1, left) <= 0)
            return -1;
        w = send(fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (w < 0)
            return -1;
        s += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Waits for PID until DEADLINE, then kills it.  The exit status, or -1 after a kill. */
static int reap(pid_t pid, double deadline)
{
    int status;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0 && errno != EINTR)
            return -1;
        if (mctx_now_ms() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        usleep(10000);
    }
}

/* Runs notify.sendmail -i -f <> -- TO with the notice on its standard input. */
static void send_notice(job *j)
{
    const itip_notify_config *nc = &j->snap->cfg->notify;
    char buf[1024], *argv[MAX_ARGS];
    int n = split_command(nc->sendmail, buf, sizeof buf, argv), sv[2], rc, wrote;
    double deadline = mctx_now_ms() + (double)nc->timeout;
    posix_spawn_file_actions_t fa;
    pid_t pid;

    if (n < 0) {
        mlog(LOG_ERR, "qid=%s notice to <%s> not sent: notify.sendmail \"%s\" is not a command",
             j->qid, j->to, nc->sendmail);
        return;
    }
    argv[n++] = "-i";
    argv[n++] = "-f";
    argv[n++] = "<>";
    argv[n++] = "--";
    argv[n++] = j->to;
    argv[n] = NULL;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        mlog(LOG_ERR, "qid=%s notice to <%s> not sent: socketpair: %s", j->qid, j->to,
             strerror(errno));
        return;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(sv[1]);
    if (rc != 0) {
        close(sv[0]);
        mlog(LOG_ERR, "qid=%s notice to <%s> not sent: cannot run %s: %s", j->qid, j->to,
             argv[0], strerror(rc));
        return;
    }
    wrote = write_all(sv[0], j->text, j->len, deadline);
    shutdown(sv[0], SHUT_WR);
    close(sv[0]);
    rc = reap(pid, deadline);
    if (rc == 0 && wrote == 0) {
        mlog(LOG_INFO, "qid=%s notice sent to <%s> (%s)", j->qid, j->to, argv[0]);
        mmetrics_notice_sent();
    } else
        mlog(LOG_ERR, "qid=%s notice to <%s> not sent: %s %s", j->qid, j->to, argv[0],
             rc < 0 ? "ran past notify.timeout and was killed"
             : wrote < 0 ? "did not take the whole notice" : "failed");
    if (rc > 0)
        mlog(LOG_ERR, "qid=%s %s exited with status %d", j->qid, argv[0], rc);
}

/* ---- the queue ---- */

static void job_free(job *j)
{
    if (j == NULL)
        return;
    free(j->to);
    free(j->text);
    free(j->rate_key);
    free(j->qid);
    msnap_release(j->snap);
    free(j);
}

static void *notifier_main(void *arg)
{
    sigset_t all;

    (void)arg;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);     /* libmilter's signal thread takes them */
    pthread_mutex_lock(&lock);
    for (;;) {
        job *j;
        while (head == NULL && !stopping)
            pthread_cond_wait(&wake, &lock);
        if (head == NULL)
            break;
        j = head;
        head = j->next;
        if (head == NULL)
            tail = NULL;
        queued--;
        pthread_mutex_unlock(&lock);
        if (j->rate_key != NULL && !rate_allows(j, j->snap->cfg->notify.rate_limit))
            mlog(LOG_NOTICE, "qid=%s notice to <%s> not sent: notify.rate_limit (%ld per "
                 "hour) reached for this originator", j->qid, j->to,
                 j->snap->cfg->notify.rate_limit);
        else
            send_notice(j);
        job_free(j);
        pthread_mutex_lock(&lock);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

int mnotify_start(void)
{
    if (gethostname(host, sizeof host - 1) < 0 || host[0] == '\0')
        snprintf(host, sizeof host, "localhost");
    pthread_mutex_lock(&lock);
    stopping = 0;
    if (!running && pthread_create(&worker, NULL, notifier_main, NULL) == 0)
        running = 1;
    pthread_mutex_unlock(&lock);
    if (!running)
        mlog(LOG_ERR, "cannot start the notifier thread: notices will not be sent");
    return running ? 0 : -1;
}

void mnotify_stop(int wait_ms)
{
    double deadline = mctx_now_ms() + wait_ms;
    size_t dropped = 0;
    job *j;

    pthread_mutex_lock(&lock);
    if (!running) {
        pthread_mutex_unlock(&lock);
        return;
    }
    while (head != NULL && mctx_now_ms() < deadline) {
        pthread_mutex_unlock(&lock);
        usleep(20000);
        pthread_mutex_lock(&lock);
    }
    while ((j = head) != NULL) {       /* what is left: dropped, said so */
        head = j->next;
        job_free(j);
        dropped++;
    }
    tail = NULL;
    queued = 0;
    stopping = 1;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    pthread_join(worker, NULL);
    running = 0;
    if (dropped > 0)
        mlog(LOG_WARNING, "stopping: %zu notices not sent", dropped);
}

/* Queues a notice to TO; takes TEXT.  RATE_KEY: the originator, or NULL. */
static void enqueue(msnap *snap, const char *qid, const char *to, char *text, size_t len,
                    const char *rate_key, const char *who)
{
    job *j = calloc(1, sizeof *j);
    char *p;

    if (j == NULL || (j->to = strdup(to)) == NULL || (j->qid = strdup(qid)) == NULL ||
        (rate_key != NULL && (j->rate_key = strdup(rate_key)) == NULL)) {
        mlog(LOG_ERR, "qid=%s notice to <%s> not sent: out of memory", qid, to);
        free(text);
        job_free(j);
        return;
    }
    for (p = j->rate_key; p != NULL && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    j->text = text;
    j->len = len;
    pthread_mutex_lock(&lock);
    if (!running || stopping || queued >= (size_t)snap->cfg->notify.queue) {
        int full = running && !stopping;
        pthread_mutex_unlock(&lock);
        mlog(LOG_ERR, "qid=%s %s notice to <%s> not sent: %s", qid, who, to,
             full ? "the notice queue is full (notify.queue)" : "the notifier is not running");
        job_free(j);
        return;
    }
    j->snap = msnap_hold(snap);
    if (tail != NULL)
        tail->next = j;
    else
        head = j;
    tail = j;
    queued++;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    mlog(LOG_INFO, "qid=%s %s notice to <%s> queued", qid, who, to);
}

/* The envelope sender without <>, or NULL for the null sender. */
static const char *bare_sender(const char *s, char *buf, size_t len)
{
    size_t n;

    if (s == NULL)
        return NULL;
    while (*s == ' ')
        s++;
    if (*s == '<')
        s++;
    n = strcspn(s, ">");
    if (n == 0 || n >= len || memchr(s, '@', n) == NULL)
        return NULL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

static int auto_submitted(const itip_msghdrs *h)
{
    const char *v = h ? h->auto_submitted : NULL;

    while (v != NULL && (*v == ' ' || *v == '\t'))
        v++;
    return v != NULL && strncasecmp(v, "no", 2) != 0;
}

/* Builds one notice; the text (malloc'ed) in *TEXT, or -1. */
static int build(const notice_in *in, const char *to, int for_postmaster, char **text,
                 size_t *len)
{
    strbuf b;

    itip_strbuf_init(&b, 0);
    if (notice_build(&b, in, to, for_postmaster) < 0) {
        itip_strbuf_free(&b);
        return -1;
    }
    *text = itip_strbuf_detach(&b, len);
    return *text != NULL ? 0 : -1;
}

void mnotify_submit(msnap *snap, const mnotify_msg *m)
{
    const itip_config *cfg = snap ? snap->cfg : NULL;
    const itip_notify_config *nc;
    const itip_msghdrs *h;
    const itip_calpart *cal;
    char sbuf[512], token[96], from[320], *text;
    const char *sender, *qid = m->qid ? m->qid : "NOQUEUE";
    int local;
    size_t len;
    notice_in in;

    if (cfg == NULL || !cfg->notify.enabled || m->engine == NULL ||
        !(cfg->notify.on & 1u << m->action_code) ||
        !notice_wanted(cfg, itip_engine_findings(m->engine)))
        return;
    nc = &cfg->notify;
    h = itip_engine_headers(m->engine);
    sender = bare_sender(m->sender, sbuf, sizeof sbuf);
    if (sender == NULL || auto_submitted(h)) {
        mlog(LOG_INFO, "qid=%s no notice: %s", qid, sender == NULL ? "null sender"
             : "the message is Auto-Submitted");
        return;
    }
    cal = itip_engine_calpart(m->engine, 0);
    snprintf(token, sizeof token, "%lx.%ld.%u", (unsigned long)time(NULL), (long)getpid(),
             atomic_fetch_add(&serial, 1));
    snprintf(from, sizeof from, "%s%s%s", nc->from ? nc->from : "MAILER-DAEMON",
             nc->from ? "" : "@", nc->from ? "" : host);
    in = (notice_in){ .qid = m->qid, .sender = sender, .rcpts = itip_engine_rcpts(m->engine),
                      .nrcpts = itip_engine_rcpt_count(m->engine), .client = m->client,
                      .subject = h ? h->subject : NULL, .method = itip_engine_method(m->engine),
                      .uid = itip_engine_uid(m->engine), .action = m->action,
                      .findings = itip_engine_findings(m->engine),
                      .calendar = cal ? cal->data : NULL, .calendar_len = cal ? cal->len : 0,
                      .from = from, .now = time(NULL), .token = token, .host = host };
    if (nc->postmaster != NULL) {
        if (build(&in, nc->postmaster, 1, &text, &len) < 0)
            mlog(LOG_ERR, "qid=%s postmaster notice not built: out of memory", qid);
        else
            enqueue(snap, qid, nc->postmaster, text, len, NULL, "postmaster");
    }
    local = (m->auth != NULL && *m->auth) || itip_config_is_local(cfg, m->client);
    if (strcmp(nc->originator, "never") == 0) {
        return;
    } else if (!local) {
        mlog(LOG_INFO, "qid=%s no notice to the originator <%s>: it did not authenticate and "
             "%s is not in notify.local_networks", qid, sender, m->client ? m->client : "-");
        return;
    }
    snprintf(token + strlen(token), sizeof token - strlen(token), ".o");
    if (build(&in, sender, 0, &text, &len) < 0)
        mlog(LOG_ERR, "qid=%s originator notice not built: out of memory", qid);
    else
        enqueue(snap, qid, sender, text, len, sender, "originator");
}
