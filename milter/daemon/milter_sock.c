/*
 * milter_sock.c - the milter's listening socket (see milter_sock.h).
 *
 * libmilter creates the socket (smfi_opensocket) but exposes no descriptor: the inet socket
 * is found afterwards among our own descriptors as the listening AF_INET/AF_INET6 socket
 * bound to the configured port, and gets TCP_NODELAY there.  A unix socket path that exists
 * is removed only after a connect() to it was refused (ECONNREFUSED): nobody listens.
 * Must never unlink a live socket or a file that is not a socket.  Every descriptor opened
 * here is closed on every path.
 */
#include "ac-config.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libmilter/mfapi.h>
#include "milter_sock.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* "PORT" or "PORT@HOST": the port, 1..65535; 0 when malformed. */
static unsigned parse_port(const char *s)
{
    unsigned long v = 0;
    const char *p;

    for (p = s; isdigit((unsigned char)*p); p++) {
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 65535)
            return 0;
    }
    if (p == s || (*p != '\0' && *p != '@') || (*p == '@' && p[1] == '\0'))
        return 0;
    return (unsigned)v;
}

static int parse_inet(const char *spec, const char *rest, msock_spec *out, char *err,
                      size_t errlen)
{
    out->port = parse_port(rest);
    if (out->port != 0)
        return 0;
    if (strchr(rest, '@') == NULL && strrchr(rest, ':') != NULL)
        return fail(err, errlen, "socket '%s' is Postfix's spelling (inet:HOST:PORT); "
                    "itip-milter (libmilter) wants inet:PORT@HOST, e.g. inet:%s@%.*s", spec,
                    strrchr(rest, ':') + 1, (int)(strrchr(rest, ':') - rest), rest);
    return fail(err, errlen, "socket '%s': want inet:PORT@HOST with PORT 1..65535", spec);
}

static int parse_unix(const char *spec, const char *path, msock_spec *out, char *err,
                      size_t errlen)
{
    if (path[0] != '/')
        return fail(err, errlen, "socket '%s': the path of a unix socket must be absolute",
                    spec);
    if (strlen(path) >= sizeof out->path)
        return fail(err, errlen, "socket '%s': the path is longer than %zu bytes", spec,
                    sizeof out->path - 1);
    memcpy(out->path, path, strlen(path) + 1);
    return 0;
}

int msock_parse(const char *spec, msock_spec *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (spec == NULL || *spec == '\0')
        return fail(err, errlen, "socket is empty");
    if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
        out->kind = MSOCK_UNIX;
        return parse_unix(spec, strchr(spec, ':') + 1, out, err, errlen);
    }
    if (strncmp(spec, "inet:", 5) == 0) {
        out->kind = MSOCK_INET;
        return parse_inet(spec, spec + 5, out, err, errlen);
    }
    if (strncmp(spec, "inet6:", 6) == 0) {
        out->kind = MSOCK_INET6;
        return parse_inet(spec, spec + 6, out, err, errlen);
    }
    return fail(err, errlen, "socket '%s': want unix:/path, inet:PORT@HOST or "
                "inet6:PORT@HOST", spec);
}

/* Removes PATH if it is a socket nobody listens on; nothing to do if it does not exist. */
static int remove_stale(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd, r, e;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : fail(err, errlen, "%s: %s", path, strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return fail(err, errlen, "%s exists and is not a socket: refusing to replace it", path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(err, errlen, "socket(AF_UNIX): %s", strerror(errno));
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    e = errno;
    close(fd);
    if (r == 0)
        return fail(err, errlen, "%s: another process is listening on this socket: "
                    "refusing to start", path);
    if (e != ECONNREFUSED)
        return fail(err, errlen, "%s: cannot tell whether the socket is in use (%s): "
                    "refusing to start", path, strerror(e));
    if (unlink(path) < 0 && errno != ENOENT)
        return fail(err, errlen, "%s: cannot remove the stale socket: %s", path,
                    strerror(errno));
    return 0;
}

static int finish_unix(const msock_spec *s, long mode, uid_t owner, gid_t gid, char *err,
                       size_t errlen)
{
    if (chmod(s->path, (mode_t)mode) < 0)
        return fail(err, errlen, "chmod %04lo %s: %s", mode, s->path, strerror(errno));
    if ((owner != (uid_t)-1 || gid != (gid_t)-1) && chown(s->path, owner, gid) < 0)
        return fail(err, errlen, "chown %s: %s", s->path, strerror(errno));
    return 0;
}

/* True if FD is a listening TCP socket bound to PORT. */
static int is_listener(int fd, unsigned port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int v = 0;
    socklen_t vl = sizeof v;

    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) < 0 || v != 1)
        return 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port) == port;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) == port;
    return 0;
}

/* libmilter keeps its listening descriptor to itself: find it among ours by what it is. */
static int set_nodelay(const msock_spec *s, char *err, size_t errlen)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int found = 0, one = 1;

    if (d == NULL)
        return fail(err, errlen, "/proc/self/fd: %s", strerror(errno));
    while (found == 0 && (de = readdir(d)) != NULL) {
        int fd = isdigit((unsigned char)de->d_name[0]) ? atoi(de->d_name) : -1;
        if (fd < 0 || fd == dirfd(d) || !is_listener(fd, s->port))
            continue;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {
            closedir(d);
            return fail(err, errlen, "setsockopt(TCP_NODELAY): %s", strerror(errno));
        }
        found = 1;
    }
    closedir(d);
    if (!found)
        return fail(err, errlen, "the listening socket on port %u was not found: "
                    "TCP_NODELAY not set", s->port);
    return 0;
}

int msock_open(const char *conn, const msock_spec *s, long mode, uid_t owner, gid_t gid,
               char *err, size_t errlen)
{
    mode_t old = 0;
    int r;

    if (s->kind == MSOCK_UNIX && remove_stale(s->path, err, errlen) < 0)
        return -1;
    if (smfi_setconn((char *)conn) == MI_FAILURE)
        return fail(err, errlen, "smfi_setconn(%s) failed", conn);
    if (s->kind == MSOCK_UNIX)
        old = umask((mode_t)(~mode & 0777));   /* no window with a wider mode */
    r = smfi_opensocket(0);
    if (s->kind == MSOCK_UNIX)
        umask(old);
    if (r == MI_FAILURE)
        return fail(err, errlen, "cannot listen on %s (smfi_opensocket failed: address in "
                    "use, missing directory or no permission?)", conn);
    if (s->kind == MSOCK_UNIX)
        return finish_unix(s, mode, owner, gid, err, errlen);
    return set_nodelay(s, err, errlen) < 0 ? 1 : 0;    /* slower without it, not broken */
}
