/*
 * quar_run.c - fork/execvp of an MTA tool with captured, bounded output and a bounded wait,
 * optionally with extra environment variables and a standard input (see quar_run.h).  Never goes through a shell,
 * never waits without a deadline, never leaves a descriptor or a zombie behind.
 */
#include "ac-config.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "quar_run.h"

#define POLL_SLICE_MS 100       /* how often the child's exit is checked while reading */
#define NAP_FIRST_US 500        /* after the pipes closed: first wait for the exit status */

static void set_why(quar_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_why(quar_result *r, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    if (r->why)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    r->why = strdup(buf);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* In the child: stdin from /dev/null, stdout and stderr to the pipes, its own process group,
 * ENV (NAME=VALUE strings, or NULL) added to the environment. */
static void child(char *const argv[], char *const env[], int infd, int outfd, int errfd)
{
    int nul = infd >= 0 ? infd : open("/dev/null", O_RDONLY);

    setpgid(0, 0);
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(outfd, 1) < 0 || dup2(errfd, 2) < 0)
        _exit(126);
    signal(SIGPIPE, SIG_DFL);
    while (env && *env)
        if (putenv(*env++) != 0)
            _exit(126);
    execvp(argv[0], argv);
    fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Reads what is available on FD into B (stdout: over the cap is an error; stderr: the rest is
 * dropped).  Returns 0 at end of file or error (close it), 1 while open. */
static int drain(int fd, strbuf *b, int is_err, quar_result *r)
{
    char buf[8192];
    ssize_t n = read(fd, buf, sizeof buf);

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 1;
    if (n <= 0)
        return 0;
    if (is_err) {
        size_t room = b->len < QUAR_ERR_CAP ? QUAR_ERR_CAP - b->len : 0;
        itip_strbuf_append(b, buf, (size_t)n < room ? (size_t)n : room);
    } else if (itip_strbuf_append(b, buf, (size_t)n) < 0) {
        set_why(r, "%s", b->cap && b->len + (size_t)n > b->cap ? "output too large"
                                                                : "out of memory");
    }
    return 1;
}

/* Reads both pipes until the child exits or the deadline passes.  Returns the wait status,
 * or -1 (timed out or too much output; the child has then been killed and reaped). */
static int pump(pid_t pid, int fds[2], double deadline, quar_result *r)
{
    int st = 0, done = 0, ready = 1;
    useconds_t nap = NAP_FIRST_US;

    while (!done || ready) {
        struct pollfd p[2];
        int k = 0, i;

        if (!done && waitpid(pid, &st, WNOHANG) == pid)
            done = 1;          /* drain what is there without blocking, then stop */
        for (i = 0; i < 2; i++)
            if (fds[i] >= 0) {
                p[k].fd = fds[i];
                p[k].events = POLLIN;
                p[k++].revents = 0;
            }
        ready = k > 0 && poll(p, (nfds_t)k, done ? 0 : POLL_SLICE_MS) > 0;
        if (ready)
            for (i = 0; i < k; i++) {
                int which = p[i].fd == fds[0] ? 0 : 1;
                if (p[i].revents && !drain(p[i].fd, which ? &r->err : &r->out, which, r)) {
                    close(fds[which]);
                    fds[which] = -1;
                }
            }
        else if (k == 0 && !done) {
            /* both pipes closed: the child is normally exiting right now, so look again
             * soon, backing off to the slice for one that closed them and runs on */
            usleep(nap);
            if (nap < POLL_SLICE_MS * 1000)
                nap *= 2;
        }
        if (r->why || now_s() > deadline) {
            set_why(r, "%s", "timed out");
            if (!done) {
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
                waitpid(pid, &st, 0);
            }
            return -1;
        }
    }
    return r->why ? -1 : st;
}

int quar_run(char *const argv[], int timeout, size_t out_cap, quar_result *r)
{
    return quar_run_env(argv, NULL, timeout, out_cap, r);
}

int quar_run_env(char *const argv[], char *const env[], int timeout, size_t out_cap,
                 quar_result *r)
{
    return quar_run_input(argv, env, NULL, 0, timeout, out_cap, r);
}

/* An unlinked temporary file holding LEN bytes of DATA, positioned at its start; -1 (said in
 * R) on failure.  A file rather than a pipe: the tool reads it at its own pace and the
 * output pipes are pumped without a writer to interleave. */
static int input_file(const char *data, size_t len, quar_result *r)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    int fd;
    size_t off = 0;

    snprintf(path, sizeof path, "%s/itip-quarantine.XXXXXX", dir && *dir ? dir : "/tmp");
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        set_why(r, "temporary file %s: %s", path, strerror(errno));
        return -1;
    }
    unlink(path);
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            set_why(r, "temporary file: %s", n < 0 ? strerror(errno) : "short write");
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        set_why(r, "temporary file: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int quar_run_input(char *const argv[], char *const env[], const char *input, size_t inlen,
                   int timeout, size_t out_cap, quar_result *r)
{
    int po[2], pe[2], fds[2], st, i, infd = -1;
    pid_t pid;

    memset(r, 0, sizeof *r);
    r->status = -1;
    itip_strbuf_init(&r->out, out_cap);
    itip_strbuf_init(&r->err, 0);
    if (input && (infd = input_file(input, inlen, r)) < 0)
        return -1;
    if (pipe2(po, O_CLOEXEC) < 0) {
        set_why(r, "pipe: %s", strerror(errno));
        if (infd >= 0)
            close(infd);
        return -1;
    }
    if (pipe2(pe, O_CLOEXEC) < 0) {
        set_why(r, "pipe: %s", strerror(errno));
        close(po[0]);
        close(po[1]);
        if (infd >= 0)
            close(infd);
        return -1;
    }
    pid = fork();
    if (pid == 0)
        child(argv, env, infd, po[1], pe[1]);
    close(po[1]);
    close(pe[1]);
    if (infd >= 0)
        close(infd);
    fds[0] = po[0];
    fds[1] = pe[0];
    if (pid < 0) {
        set_why(r, "fork: %s", strerror(errno));
        st = -1;
    } else {
        setpgid(pid, pid);     /* also here: no race with a kill before the child ran */
        st = pump(pid, fds, now_s() + timeout, r);
    }
    for (i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (st == -1)
        return -1;
    if (!WIFEXITED(st)) {
        set_why(r, "%s", "killed by a signal");
        return -1;
    }
    r->status = WEXITSTATUS(st);
    return 0;
}

void quar_result_free(quar_result *r)
{
    itip_strbuf_free(&r->out);
    itip_strbuf_free(&r->err);
    free(r->why);
    r->why = NULL;
}

const char *quar_result_text(quar_result *r)
{
    static char buf[64];
    char *nl;

    if (r->why)
        return r->why;
    if (r->err.len > 0 && r->err.s) {
        nl = strchr(r->err.s, '\n');
        if (nl)
            *nl = '\0';
        if (r->err.s[0])
            return r->err.s;
    }
    snprintf(buf, sizeof buf, "exit status %d", r->status);
    return buf;
}
