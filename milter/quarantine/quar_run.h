/*
 * quar_run.h - runs an MTA tool for itip-quarantine: an argument vector (never a shell
 * string), standard input /dev/null or given bytes, standard output and error captured into
 * bounded buffers, a bounded wait.  Exports quar_run(), quar_run_env(), quar_run_input() and
 * quar_result_free().
 *
 * Past the deadline the child's process group is killed.  The wait ends when the child
 * itself exits, even if a grandchild it left behind (Sendmail's queue runner) still holds the
 * pipes open: what was written by then is kept.
 */
#ifndef ITIP_QUAR_RUN_H
#define ITIP_QUAR_RUN_H

#include <stddef.h>
#include "base/strbuf.h"

#define QUAR_ERR_CAP 4096        /* bytes of standard error kept for messages */

typedef struct {
    int status;                  /* exit status 0..255; -1 when killed by a signal */
    strbuf out;                  /* standard output, at most the cap given to quar_run */
    strbuf err;                  /* the first QUAR_ERR_CAP bytes of standard error */
    char *why;                   /* why the run failed (quar_run returned -1), or NULL */
} quar_result;

/* Runs ARGV (ARGV[0] looked up in PATH), waiting at most TIMEOUT seconds.  0 when it ran and
 * exited on its own (whatever its status); -1 when it could not be started, timed out,
 * was killed by a signal, or wrote more than OUT_CAP bytes: R->why then says which.
 * R is initialised here; free it with quar_result_free() in every case. */
int quar_run(char *const argv[], int timeout, size_t out_cap, quar_result *r);
/* The same with ENV (NAME=VALUE strings, NULL-terminated; NULL for none) added to the
 * tool's environment. */
int quar_run_env(char *const argv[], char *const env[], int timeout, size_t out_cap,
                 quar_result *r);
/* The same with INLEN bytes of INPUT (NULL: /dev/null) as the tool's standard input. */
int quar_run_input(char *const argv[], char *const env[], const char *input, size_t inlen,
                   int timeout, size_t out_cap, quar_result *r);
void quar_result_free(quar_result *r);     /* idempotent */

/* A one-line summary of a failed or unsuccessful run for error messages: R->why, or the first
 * line of standard error, or "exit status N".  Never NULL; valid while R is. */
const char *quar_result_text(quar_result *r);

#endif
