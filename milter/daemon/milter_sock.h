/*
 * milter_sock.h - the milter's listening socket: the `socket` spelling, a stale unix socket,
 * the unix socket's mode and group, TCP_NODELAY on an inet socket.
 *
 * Exports msock_parse() (pure: used to validate the configuration) and msock_open().  Never
 * unlinks a socket somebody listens on.  Errors come back as text; never logs, never exits.
 */
#ifndef ITIP_MILTER_SOCK_H
#define ITIP_MILTER_SOCK_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

typedef enum { MSOCK_UNIX, MSOCK_INET, MSOCK_INET6 } msock_kind;

typedef struct {
    msock_kind kind;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];  /* MSOCK_UNIX */
    unsigned port;                                          /* MSOCK_INET, MSOCK_INET6 */
} msock_spec;

/* Parses unix:/path (or local:/path), inet:PORT[@HOST], inet6:PORT[@HOST].  0, or -1 with a
 * message (Postfix's inet:HOST:PORT spelling gets a message saying how to write it). */
int msock_parse(const char *spec, msock_spec *out, char *err, size_t errlen);

/* Creates the listening socket for CONN (the spelling S was parsed from) with libmilter's
 * smfi_setconn() + smfi_opensocket(); smfi_register() must have been called.
 * Unix: a path that exists must be a socket nobody answers on (connect() refused): it is then
 * removed; a live socket or another file type is an error.  The socket is created under a
 * umask that gives MODE, then chmod'ed to MODE and chown'ed to OWNER and GID (-1: unchanged).
 * Inet: TCP_NODELAY on the listening socket (accepted connections inherit it on Linux).
 * 0; -1 with a message when there is no socket; 1 with a message when the socket listens
 * but TCP_NODELAY could not be set (about 40 ms more per message over TCP). */
int msock_open(const char *conn, const msock_spec *s, long mode, uid_t owner, gid_t gid,
               char *err, size_t errlen);

#endif
