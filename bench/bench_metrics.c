/*
 * bench_metrics.c - what counting a message costs (make bench; not a test).
 *
 *   bench/bench_metrics [-n MESSAGES] [-j THREADS]
 * Calls the milter's mmetrics_message() (milter/daemon/milter_metrics.c, the very code the
 * end of message runs) MESSAGES times (default 10,000,000) in each of THREADS threads (default
 * 2: libmilter's workers on two cores contend on the same counters), for a calendar message
 * with two findings, and prints the time per call: wall clock over all threads, and CPU time
 * of the process per call.  Then renders the exposition once and checks that messages_total
 * says THREADS x MESSAGES (exit 1 otherwise: a lost count).  Never writes files.
 */
#include "ac-config.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "base/findings.h"
#include "base/strbuf.h"
#include "milter_metrics.h"

static long per_thread = 10000000;
static itip_findings findings;

static double now(clockid_t clk)
{
    struct timespec ts;

    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
    mmetrics_msg m = { .seconds = 0.0004, .calendar = 1, .findings = &findings,
                       .action = "quarantine" };
    long i;

    (void)arg;
    for (i = 0; i < per_thread; i++) {
        m.seconds = 0.0001 * (double)(i & 7);      /* several buckets */
        mmetrics_message(&m);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t th[64];
    int nthreads = 2, c, i;
    double w0, w1, c0, c1, calls;
    unsigned long long seen = 0;
    strbuf out;
    const char *p;

    while ((c = getopt(argc, argv, "n:j:")) != -1) {
        if (c == 'n')
            per_thread = atol(optarg);
        else if (c == 'j')
            nthreads = atoi(optarg);
        else {
            fprintf(stderr, "usage: bench_metrics [-n MESSAGES] [-j THREADS]\n");
            return 2;
        }
    }
    if (per_thread < 1 || nthreads < 1 || nthreads > 64) {
        fprintf(stderr, "bench_metrics: -n >= 1, -j 1..64\n");
        return 2;
    }
    itip_findings_init(&findings, 10, NULL);
    itip_findings_add(&findings, ITIP_R_MIME_METHOD_PARAM_MISMATCH, ITIP_SEV_WOULD_FAIL, 0,
                      "CANCEL", "u", "MIME", "Content-Type", "bench");
    itip_findings_add(&findings, ITIP_R_ICAL_METHOD_MISSING, ITIP_SEV_DEGRADE, 0, NULL, "u",
                      "VCALENDAR", "METHOD", "bench");
    mmetrics_init();
    w0 = now(CLOCK_MONOTONIC);
    c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    for (i = 0; i < nthreads; i++)
        if (pthread_create(&th[i], NULL, worker, NULL) != 0) {
            fprintf(stderr, "bench_metrics: cannot start a thread\n");
            return 2;
        }
    for (i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    w1 = now(CLOCK_MONOTONIC);
    c1 = now(CLOCK_PROCESS_CPUTIME_ID);
    calls = (double)per_thread * nthreads;
    itip_strbuf_init(&out, MMETRICS_TEXT_MAX);
    if (mmetrics_render(&out) == 0 && (p = strstr(out.s, "\nitip_milter_messages_total ")) != NULL)
        seen = strtoull(p + strlen("\nitip_milter_messages_total "), NULL, 10);
    printf("Metrics: counting one message (2 findings, action, histogram) in %d threads: "
           "%.1f ns per message wall, %.1f ns CPU; exposition %zu bytes; messages_total %llu "
           "of %.0f%s\n", nthreads, (w1 - w0) * 1e9 / calls, (c1 - c0) * 1e9 / calls, out.len,
           seen, calls, seen == (unsigned long long)calls ? "" : " (COUNTS LOST)");
    itip_strbuf_free(&out);
    itip_findings_clear(&findings);
    return seen == (unsigned long long)calls ? 0 : 1;
}
