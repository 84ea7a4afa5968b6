/*
 * milter_metrics.c - itip-milter's metrics (see milter_metrics.h).
 *
 * Every value is an _Atomic unsigned long long (or long long for the gauge that goes down)
 * touched with memory_order_relaxed: each one counts on its own, nothing orders them
 * against each other.  Findings are counted per rule and per severity in a fixed table
 * (rules.def x 4 severities); a scrape shows the pairs seen at least once.  The histogram
 * keeps one count per bucket (not cumulative) and the sum in nanoseconds; the scrape adds
 * the buckets up and gives _count as their total, so that _count always equals the +Inf
 * bucket.
 */
#include "ac-config.h"
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include "milter_metrics.h"

typedef atomic_ullong counter;

/* Upper bounds of the histogram's buckets, in seconds (the engine takes some tens of
 * microseconds per calendar part; max_analysis_time defaults to 10 s). */
static const double bucket_le[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                    0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
static const char *const bucket_text[] = { "0.0001", "0.00025", "0.0005", "0.001", "0.0025",
                                           "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                           "0.5", "1", "2.5", "5", "10" };
#define NBUCKETS (sizeof bucket_le / sizeof bucket_le[0])

/* The action words of the log line, in verdict order. */
static const char *const action_names[] = { "pass", "log", "tag", "repair", "quarantine",
                                            "tempfail", "reject" };
#define NACTIONS (sizeof action_names / sizeof action_names[0])
#define NSEV 4                  /* ITIP_SEV_NONE .. ITIP_SEV_WOULD_FAIL */

static struct {
    counter messages, calendar, repairs_made, repairs_refused, store_failures, internal;
    counter findings[ITIP_RULE_COUNT][NSEV];
    counter actions[NACTIONS];
    counter buckets[NBUCKETS + 1];  /* the last one: above the highest bound (+Inf) */
    counter sum_ns;
    counter connections;
    counter notices;                  /* notices handed to sendmail successfully */
    atomic_llong open_connections;
    counter generation;
    double start_time;          /* written once before any thread reads it */
} mm;

#define ADD(c, n) atomic_fetch_add_explicit(&(c), (n), memory_order_relaxed)
#define GET(c) atomic_load_explicit(&(c), memory_order_relaxed)

void mmetrics_init(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    mm.start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t bucket_of(double seconds)
{
    size_t i;

    for (i = 0; i < NBUCKETS; i++)
        if (seconds <= bucket_le[i])
            return i;
    return NBUCKETS;
}

void mmetrics_message(const mmetrics_msg *m)
{
    double s = m->seconds > 0 ? m->seconds : 0;
    size_t i;

    ADD(mm.messages, 1);
    if (m->calendar)
        ADD(mm.calendar, 1);
    for (i = 0; m->findings != NULL && i < m->findings->n; i++) {
        const itip_finding *f = &m->findings->v[i];
        if ((unsigned)f->rule < ITIP_RULE_COUNT && (unsigned)f->severity < NSEV)
            ADD(mm.findings[f->rule][f->severity], 1);
    }
    for (i = 0; i < NACTIONS; i++)
        if (m->action != NULL && strcmp(m->action, action_names[i]) == 0)
            break;
    if (i < NACTIONS)
        ADD(mm.actions[i], 1);
    if (m->repairs_made)
        ADD(mm.repairs_made, m->repairs_made);
    if (m->repairs_refused)
        ADD(mm.repairs_refused, m->repairs_refused);
    if (m->store_failed)
        ADD(mm.store_failures, 1);
    if (m->internal_error)
        ADD(mm.internal, 1);
    ADD(mm.buckets[bucket_of(s)], 1);
    ADD(mm.sum_ns, (unsigned long long)(s * 1e9));
}

void mmetrics_notice_sent(void)
{
    ADD(mm.notices, 1);
}

void mmetrics_connection_open(void)
{
    ADD(mm.connections, 1);
    atomic_fetch_add_explicit(&mm.open_connections, 1, memory_order_relaxed);
}

void mmetrics_connection_close(void)
{
    atomic_fetch_sub_explicit(&mm.open_connections, 1, memory_order_relaxed);
}

void mmetrics_generation_bump(void)
{
    ADD(mm.generation, 1);
}

/* ---- the exposition ---- */

int mmetrics_label_escape(strbuf *out, const char *s)
{
    for (; s != NULL && *s; s++) {
        int r = *s == '\\' ? itip_strbuf_append(out, "\\\\", 2)
              : *s == '"' ? itip_strbuf_append(out, "\\\"", 2)
              : *s == '\n' ? itip_strbuf_append(out, "\\n", 2)
              : itip_strbuf_putc(out, *s);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* "# HELP name text\n# TYPE name type\n"; HELP text has no backslash or newline here. */
static int head(strbuf *out, const char *name, const char *type, const char *help)
{
    return itip_strbuf_printf(out, "# HELP itip_milter_%s %s\n# TYPE itip_milter_%s %s\n",
                              name, help, name, type);
}

static int plain(strbuf *out, const char *name, const char *type, const char *help,
                 unsigned long long value)
{
    return head(out, name, type, help) < 0 ||
           itip_strbuf_printf(out, "itip_milter_%s %llu\n", name, value) < 0 ? -1 : 0;
}

static int findings(strbuf *out)
{
    size_t r, s;

    if (head(out, "findings_total", "counter", "Findings reported, by rule id and by "
             "severity (after the configuration's severity overrides); a pair appears once "
             "it was seen.") < 0)
        return -1;
    for (r = 0; r < ITIP_RULE_COUNT; r++)
        for (s = 1; s < NSEV; s++) {
            unsigned long long v = GET(mm.findings[r][s]);
            if (v == 0)
                continue;
            if (itip_strbuf_printf(out, "itip_milter_findings_total{rule=\"") < 0 ||
                mmetrics_label_escape(out, itip_rules[r].id) < 0 ||
                itip_strbuf_printf(out, "\",severity=\"") < 0 ||
                mmetrics_label_escape(out, itip_severity_name((itip_severity)s)) < 0 ||
                itip_strbuf_printf(out, "\"} %llu\n", v) < 0)
                return -1;
        }
    return 0;
}

static int actions(strbuf *out)
{
    size_t i;

    if (head(out, "actions_total", "counter", "Messages by the action taken (the action= "
             "word of the log line: pass, log, tag, repair, quarantine, tempfail, reject).") < 0)
        return -1;
    for (i = 0; i < NACTIONS; i++)
        if (itip_strbuf_printf(out, "itip_milter_actions_total{action=\"%s\"} %llu\n",
                               action_names[i], GET(mm.actions[i])) < 0)
            return -1;
    return 0;
}

static int repairs(strbuf *out)
{
    return head(out, "repairs_total", "counter", "Findings whose repair was asked for: made "
                "(sent with the message) or refused (not made; the fallback action applied).") < 0 ||
           itip_strbuf_printf(out, "itip_milter_repairs_total{outcome=\"made\"} %llu\n"
                              "itip_milter_repairs_total{outcome=\"refused\"} %llu\n",
                              GET(mm.repairs_made), GET(mm.repairs_refused)) < 0 ? -1 : 0;
}

static int histogram(strbuf *out)
{
    unsigned long long total = 0;
    size_t i;

    if (head(out, "message_duration_seconds", "histogram", "Time spent in the milter per "
             "message (feeding the engine, the analysis and the end of message).") < 0)
        return -1;
    for (i = 0; i <= NBUCKETS; i++) {
        total += GET(mm.buckets[i]);
        if (itip_strbuf_printf(out, "itip_milter_message_duration_seconds_bucket{le=\"%s\"} "
                               "%llu\n", i < NBUCKETS ? bucket_text[i] : "+Inf", total) < 0)
            return -1;
    }
    return itip_strbuf_printf(out, "itip_milter_message_duration_seconds_sum %.9f\n"
                              "itip_milter_message_duration_seconds_count %llu\n",
                              (double)GET(mm.sum_ns) / 1e9, total) < 0 ? -1 : 0;
}

int mmetrics_render(strbuf *out)
{
    long long open = atomic_load_explicit(&mm.open_connections, memory_order_relaxed);

    if (plain(out, "messages_total", "counter", "Messages that reached the end of message "
              "in the milter.", GET(mm.messages)) < 0 ||
        plain(out, "calendar_messages_total", "counter", "Messages with at least one "
              "calendar part.", GET(mm.calendar)) < 0 ||
        findings(out) < 0 || actions(out) < 0 ||
        plain(out, "notices_sent_total", "counter", "Notices (postmaster and originator) "
              "that sendmail took (see the notify settings).", GET(mm.notices)) < 0 ||
        repairs(out) < 0 ||
        plain(out, "store_failures_total", "counter", "Messages with a calendar part whose "
              "stateful rules were skipped or whose record was not written (the store was "
              "unavailable or failed).", GET(mm.store_failures)) < 0 ||
        plain(out, "internal_errors_total", "counter", "Messages that got the "
              "on_internal_error verdict (out of memory, engine failure).",
              GET(mm.internal)) < 0 ||
        histogram(out) < 0 ||
        plain(out, "connections_total", "counter", "MTA connections opened to the milter.",
              GET(mm.connections)) < 0 ||
        head(out, "open_connections", "gauge", "MTA connections open now.") < 0 ||
        itip_strbuf_printf(out, "itip_milter_open_connections %lld\n",
                           open < 0 ? 0 : open) < 0 ||
        plain(out, "config_generation", "gauge", "Configurations installed since start: 1 at "
              "start, one more for each successful reload (SIGUSR1).", GET(mm.generation)) < 0 ||
        head(out, "start_time_seconds", "gauge", "When the daemon started, in seconds since "
             "the Unix epoch.") < 0 ||
        itip_strbuf_printf(out, "itip_milter_start_time_seconds %.3f\n", mm.start_time) < 0)
        return -1;
    return 0;
}
