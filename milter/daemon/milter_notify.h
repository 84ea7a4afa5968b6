/*
 * milter_notify.h - notices about held, rejected and repaired messages (the `notify` group):
 * who is told, and sending them without ever holding up an SMTP session.
 *
 * At end of message the milter hands the message's facts to mnotify_submit(), which decides
 * (in the callback thread, without I/O) who gets a notice - the postmaster when one is
 * configured, the originator only when it authenticated or sent from notify.local_networks,
 * nobody for a null sender or an Auto-Submitted message - builds each notice (notice.h) and
 * queues it.  One notifier thread sends the queue through the local MTA's sendmail(1) (the
 * notify.sendmail command, with -i -f <> -- RCPT): the null envelope sender, so that no
 * bounce comes back to the milter.  Originator notices are counted per originator and hour
 * (notify.rate_limit) in the state store when there is one, else in memory; the N+1st is not
 * sent and the log says so.  A full queue, a sendmail that fails or runs past notify.timeout:
 * logged, the notice dropped, mail never waits.  Every decision gets one log line.
 * Thread-safe.
 */
#ifndef ITIP_MILTER_NOTIFY_H
#define ITIP_MILTER_NOTIFY_H

#include <stddef.h>
#include "engine/engine.h"
#include "milter_snap.h"

/* What the end of message knows. */
typedef struct {
    const char *qid, *client, *sender, *auth;
    const char *action;             /* the verdict's action name */
    int action_code;                /* itip_action */
    const itip_engine *engine;      /* finished: findings, headers, envelope, calendar text */
} mnotify_msg;

/* Starts the notifier thread.  0, or -1 (logged). */
int mnotify_start(void);
/* Stops taking notices and gives the queue at most WAIT_MS to drain; then drops the rest
 * (logged).  Idempotent. */
void mnotify_stop(int wait_ms);
/* Decides, builds and queues the notices of one message under SNAP's configuration (the
 * snapshot gets one more reference per queued notice, for the rate limit's store). */
void mnotify_submit(msnap *snap, const mnotify_msg *m);

#endif
