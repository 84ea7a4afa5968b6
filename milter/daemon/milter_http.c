/*
 * milter_http.c - the metrics listener of itip-milter (see milter_http.h).
 *
 * libmicrohttpd runs one internal thread (epoll on Linux: no FD_SETSIZE limit however many
 * descriptors the milter holds) on a socket we bind ourselves; each GET /metrics renders
 * the exposition into a fresh buffer that libmicrohttpd frees after sending.  The thread is
 * created after the signals are blocked (itip_milter.c), so it never takes SIGUSR1 or
 * SIGTERM.  libmicrohttpd's own messages go to the milter's log.
 */
#include "ac-config.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <microhttpd.h>
#include "base/strbuf.h"
#include "milter_http.h"
#include "milter_log.h"
#include "milter_metrics.h"

typedef enum MHD_Result mhttp_result;   /* libmicrohttpd >= 0.9.71 (configure.ac) */

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static struct MHD_Daemon *daemon_;
static char *current;           /* the address served, or NULL */

int mhttp_parse(const char *spec, struct sockaddr_storage *sa, socklen_t *len, char *err,
                size_t errlen)
{
    char host[INET6_ADDRSTRLEN + 2], *end;
    const char *colon, *h = spec;
    size_t hlen;
    long port;

    memset(sa, 0, sizeof *sa);
    colon = spec ? strrchr(spec, ':') : NULL;
    if (colon == NULL || colon == spec) {
        snprintf(err, errlen, "metrics '%s': expected \"ADDRESS:PORT\" (for example "
                 "\"127.0.0.1:9188\" or \"[::1]:9188\")", spec ? spec : "");
        return -1;
    }
    hlen = (size_t)(colon - spec);
    if (spec[0] == '[') {                   /* [IPv6]:port */
        if (hlen < 3 || spec[hlen - 1] != ']') {
            snprintf(err, errlen, "metrics '%s': an IPv6 address goes in brackets: "
                     "\"[::1]:9188\"", spec);
            return -1;
        }
        h = spec + 1;
        hlen -= 2;
    }
    if (hlen >= sizeof host) {
        snprintf(err, errlen, "metrics '%s': '%.*s' is not a numeric address", spec,
                 (int)hlen, h);
        return -1;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || port < 1 ||
        port > 65535) {
        snprintf(err, errlen, "metrics '%s': port '%s' is not a number from 1 to 65535", spec,
                 colon + 1);
        return -1;
    }
    if (spec[0] != '[' &&
        inet_pton(AF_INET, host, &((struct sockaddr_in *)(void *)sa)->sin_addr) == 1) {
        struct sockaddr_in *in = (struct sockaddr_in *)(void *)sa;
        in->sin_family = AF_INET;
        in->sin_port = htons((unsigned short)port);
        *len = sizeof *in;
        return 0;
    }
    if (spec[0] == '[' &&
        inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)(void *)sa)->sin6_addr) == 1) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)sa;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((unsigned short)port);
        *len = sizeof *in6;
        return 0;
    }
    snprintf(err, errlen, "metrics '%s': '%s' is not a numeric %s address%s", spec, host,
             spec[0] == '[' ? "IPv6" : "IPv4",
             spec[0] == '[' ? "" : " (an IPv6 address goes in brackets: \"[::1]:9188\")");
    return -1;
}

int mhttp_bind(const char *spec, char *err, size_t errlen)
{
    struct sockaddr_storage sa;
    socklen_t len;
    char why[256];
    int fd, on = 1;

    if (mhttp_parse(spec, &sa, &len, err, errlen) < 0)
        return -1;
    fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "metrics %s: socket: %s", spec, strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (sa.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    if (bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        snprintf(why, sizeof why, "%s", strerror(e));
        close(fd);
        snprintf(err, errlen, "metrics %s: cannot listen: %s", spec, why);
        errno = e;              /* the caller tells "in use" from the rest */
        return -1;
    }
    return fd;
}

/* ---- requests ---- */

static mhttp_result send_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)(size_t)text,
                                                             MHD_RESPMEM_PERSISTENT);
    mhttp_result ret;

    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static mhttp_result send_metrics(struct MHD_Connection *conn)
{
    struct MHD_Response *r;
    mhttp_result ret;
    strbuf b;
    size_t len;
    char *text;

    itip_strbuf_init(&b, MMETRICS_TEXT_MAX);
    if (mmetrics_render(&b) < 0 || (text = itip_strbuf_detach(&b, &len)) == NULL) {
        itip_strbuf_free(&b);
        return send_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static mhttp_result answer(void *cls, struct MHD_Connection *conn, const char *url,
                           const char *method, const char *version, const char *upload,
                           size_t *upload_size, void **req)
{
    (void)cls;
    (void)version;
    (void)upload;
    (void)req;
    *upload_size = 0;            /* a request body is read and ignored */
    if (strcmp(url, "/metrics") != 0)
        return send_text(conn, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n");
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    return send_metrics(conn);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    size_t n;

    (void)cls;
    vsnprintf(buf, sizeof buf, fmt, ap);
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    mlog(LOG_WARNING, "metrics listener: %s", buf);
}

/* ---- the listener ---- */

/* A daemon on FD, or NULL.  FD is not closed on failure. */
static struct MHD_Daemon *serve_fd(int fd)
{
    return MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            answer, NULL,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                            MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MHTTP_MAX_CONN,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)MHTTP_TIMEOUT,
                            MHD_OPTION_END);
}

int mhttp_start(int fd, const char *spec, char *err, size_t errlen)
{
    char *copy = strdup(spec);
    struct MHD_Daemon *d = copy ? serve_fd(fd) : NULL;

    if (d == NULL) {
        free(copy);
        close(fd);
        snprintf(err, errlen, "metrics %s: cannot start the HTTP listener", spec);
        return -1;
    }
    daemon_ = d;
    current = copy;
    mlog(LOG_NOTICE, "metrics: serving http://%s/metrics", spec);
    return 0;
}

void mhttp_stop(void)
{
    if (daemon_ != NULL)
        MHD_stop_daemon(daemon_);     /* closes the listening socket too */
    daemon_ = NULL;
    free(current);
    current = NULL;
}

void mhttp_reload(const char *spec)
{
    char err[512], *old;
    int fd;

    if ((spec == NULL && current == NULL) ||
        (spec != NULL && current != NULL && strcmp(spec, current) == 0))
        return;
    if (spec == NULL) {
        mlog(LOG_NOTICE, "reload: metrics listener on %s stopped (setting 'metrics' removed)",
             current);
        mhttp_stop();
        return;
    }
    old = current ? strdup(current) : NULL;
    fd = mhttp_bind(spec, err, sizeof err);
    if (fd < 0 && errno == EADDRINUSE && current != NULL) { /* the old one may hold it */
        mhttp_stop();
        fd = mhttp_bind(spec, err, sizeof err);
        if (fd < 0) {
            char again[512];
            int ofd = old ? mhttp_bind(old, again, sizeof again) : -1;
            if (ofd >= 0 && mhttp_start(ofd, old, again, sizeof again) == 0)
                mlog(LOG_ERR, "reload: %s; the metrics stay on %s: setting 'metrics' takes "
                     "effect only after a restart", err, old);
            else
                mlog(LOG_ERR, "reload: %s, and the old address %s cannot be taken back: no "
                     "metrics listener until a restart", err, old ? old : "-");
            free(old);
            return;
        }
    }
    if (fd < 0) {
        mlog(LOG_ERR, "reload: %s: no metrics listener; setting 'metrics' takes effect only "
             "after a restart", err);
        free(old);
        return;
    }
    mhttp_stop();
    if (mhttp_start(fd, spec, err, sizeof err) < 0)
        mlog(LOG_ERR, "reload: %s", err);
    else if (old != NULL)
        mlog(LOG_NOTICE, "reload: metrics listener moved from %s to %s", old, spec);
    free(old);
}
