/*
 * quar_check.h - the current engine and configuration on one held message, for
 * itip-quarantine's show and recheck.  Exports quar_check_run() and quar_check_free().
 *
 * The engine runs with its clock set to the message's arrival (so the clock-skew rules judge
 * the message as they did when it came in, not by how long it has been held) and with the
 * configured state store, if any, read but never written.  The calendar parts come from a
 * second MIME walk with the same limits, so that the lines a finding points at can be shown;
 * finding part N is calendar part N of that walk.  The verdict is the milter's own
 * (engine/verdict.c): what itip-milter would do with the message now.
 */
#ifndef ITIP_QUAR_CHECK_H
#define ITIP_QUAR_CHECK_H

#include <stddef.h>
#include <time.h>
#include "base/config.h"
#include "engine/engine.h"
#include "mime/mime.h"
#include "engine/verdict.h"

typedef struct {
    itip_engine *engine;
    itip_mime *mime;
    itip_findings walk_findings;    /* the second walk's own findings: ignored */
    mverdict verdict;
    int have_verdict;
} quar_check;

/* Analyses MSG (LEN bytes).  0, or -1 with a message in ERR (C is then freed). */
int quar_check_run(quar_check *c, const itip_config *cfg, itip_store *st, const char *msg,
                   size_t len, time_t arrival, char *err, size_t errlen);
void quar_check_free(quar_check *c);                 /* idempotent */

#endif
