/*
 * milter_http.h - itip-milter's metrics listener: GET /metrics over HTTP with libmicrohttpd,
 * in its own thread (never a libmilter worker), answering with milter_metrics.c's
 * exposition; every other path is 404, every other method on /metrics 405.
 *
 * The address is the setting `metrics`: "IPV4:PORT" or "[IPV6]:PORT", numeric only (no name
 * lookup at start or reload), port 1 to 65535.  Start: mhttp_bind() as root, before the
 * daemon forks and drops privileges (so any port works and a port in use stops the start
 * with a clear message), then mhttp_start() in the daemon after the fork (threads do not
 * cross fork()).  Reload: mhttp_reload() binds the new address as the unprivileged user; if
 * that fails the old listener keeps running and the log says the new address needs a
 * restart.  Called from the main thread and the reload thread only, never concurrently.
 * Bounded: at most MHTTP_MAX_CONN connections at once, each closed after MHTTP_TIMEOUT
 * seconds idle.
 */
#ifndef ITIP_MILTER_HTTP_H
#define ITIP_MILTER_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

#define MHTTP_MAX_CONN 16
#define MHTTP_TIMEOUT 10

/* Parses SPEC into SA/LEN.  0, or -1 with the reason in ERR (no file or line: the caller
 * adds them). */
int mhttp_parse(const char *spec, struct sockaddr_storage *sa, socklen_t *len, char *err,
                size_t errlen);

/* A listening socket bound to SPEC (close-on-exec).  The descriptor, or -1 with
 * "metrics SPEC: reason" in ERR and errno kept from the failing call. */
int mhttp_bind(const char *spec, char *err, size_t errlen);

/* Serves the metrics on FD (from mhttp_bind(), owned from now on) for address SPEC.
 * 0, or -1 with the reason in ERR. */
int mhttp_start(int fd, const char *spec, char *err, size_t errlen);

/* After a successful reload: SPEC is the new setting (NULL: off).  Same address: nothing;
 * otherwise the listener moves (logged), or stays where it is with a log line saying the
 * change needs a restart. */
void mhttp_reload(const char *spec);

/* Stops the listener, if any (at exit). */
void mhttp_stop(void);

#endif
