/*
 * milter_metrics.h - itip-milter's counters, gauges and its one histogram, and their
 * rendering in the Prometheus text exposition format (version 0.0.4).
 *
 * The message path only adds to C11 atomics with memory_order_relaxed: no lock, no
 * allocation, no system call.  The counts come from two places: the end of message
 * (milter_eom.c, mmetrics_message) and the connection callbacks (milter_cb.c, open and
 * close); the configuration snapshots bump the generation (milter_snap.c).  The HTTP
 * listener (milter_http.c) renders them on each scrape.  Counters start at zero when the
 * daemon starts and only grow; a scrape reads each one on its own (no snapshot across
 * counters), which the text format allows.  Thread-safe; never logs, never exits.
 */
#ifndef ITIP_MILTER_METRICS_H
#define ITIP_MILTER_METRICS_H

#include <stddef.h>
#include "base/findings.h"
#include "base/strbuf.h"

/* What one finished message contributes. */
typedef struct {
    double seconds;             /* time spent in the milter for it */
    int calendar;               /* it had at least one calendar part */
    const itip_findings *findings; /* or NULL (internal failure) */
    const char *action;         /* the log line's action word: pass, log, tag, repair,
                                 * quarantine, tempfail, reject */
    size_t repairs_made;        /* findings whose repair went out with the message */
    size_t repairs_refused;     /* findings whose repair was asked for and not made */
    int store_failed;           /* its stateful rules skipped or its record not written */
    int internal_error;         /* the verdict came from on_internal_error */
} mmetrics_msg;

/* Called once at start (the process start time gauge). */
void mmetrics_init(void);

void mmetrics_message(const mmetrics_msg *m);
/* A notice was sent (milter_notify.c). */
void mmetrics_notice_sent(void);
void mmetrics_connection_open(void);
void mmetrics_connection_close(void);
/* A configuration snapshot was installed (start = 1, each successful reload one more). */
void mmetrics_generation_bump(void);

/* The cap of a strbuf that receives the exposition: far above what every rule x severity pair
 * plus the rest needs (some 30 KiB). */
#define MMETRICS_TEXT_MAX (1024 * 1024)

/* Appends the exposition of every metric to OUT.  0, or -1 when out of memory (or past
 * OUT's cap). */
int mmetrics_render(strbuf *out);

/* Appends S with the text format's label value escapes (\\, \", \n).  0 or -1. */
int mmetrics_label_escape(strbuf *out, const char *s);

#endif
