/*
 * test_metrics.c - unit tests of milter/daemon/milter_metrics.c and the address parser of
 * milter/daemon/milter_http.c: label value escapes of the text format, what one message
 * adds (findings per rule and severity, the action, repairs, store failures, internal errors),
 * histogram buckets at their bounds (le is inclusive) and cumulative in the exposition, the
 * connection gauge, the generation, no count lost from four threads, and the `metrics`
 * address spellings accepted and refused.  TAP output; no network.
 */
#include "ac-config.h"
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/findings.h"
#include "base/strbuf.h"
#include "milter_http.h"
#include "milter_metrics.h"
#include "tap.h"

#define THREADS 4
#define PER_THREAD 100000

/* The value of the sample line NAME (name and labels exactly), or -1. */
static double sample(const char *text, const char *name)
{
    size_t n = strlen(name);
    const char *p = text;

    while ((p = strstr(p, name)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return atof(p + n + 1);
        p += n;
    }
    return -1;
}

static char *render(void)
{
    strbuf b;
    size_t len;

    itip_strbuf_init(&b, MMETRICS_TEXT_MAX);
    if (mmetrics_render(&b) < 0) {
        itip_strbuf_free(&b);
        return NULL;
    }
    return itip_strbuf_detach(&b, &len);
}

static void *worker(void *arg)
{
    mmetrics_msg m = { .seconds = 0.002, .action = "pass" };
    int i;

    (void)arg;
    for (i = 0; i < PER_THREAD; i++)
        mmetrics_message(&m);
    return NULL;
}

static void escapes(void)
{
    strbuf b;

    itip_strbuf_init(&b, 64);
    ok(mmetrics_label_escape(&b, "a\"b\\c\nd") == 0 && b.s != NULL, "label escape runs");
    is_str(b.s, "a\\\"b\\\\c\\nd", "label escape: \\\" \\\\ \\n as the text format wants");
    itip_strbuf_free(&b);
}

static void addresses(void)
{
    static const char *const good[] = { "127.0.0.1:9188", "0.0.0.0:1", "[::1]:9188",
                                        "[::]:65535" };
    static const char *const bad[] = { "", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0",
                                       "127.0.0.1:65536", "127.0.0.1:9x", "localhost:9188",
                                       "::1:9188", "[::1:9188", "[127.0.0.1]:9188",
                                       ":9188", "[]:9188", "127.0.0.1:-1", "1.2.3:80" };
    struct sockaddr_storage sa;
    socklen_t len;
    char err[256];
    size_t i;

    for (i = 0; i < sizeof good / sizeof good[0]; i++)
        ok(mhttp_parse(good[i], &sa, &len, err, sizeof err) == 0, "metrics address '%s' "
           "accepted", good[i]);
    ok(mhttp_parse("[::1]:9188", &sa, &len, err, sizeof err) == 0 && sa.ss_family == AF_INET6 &&
       ntohs(((struct sockaddr_in6 *)(void *)&sa)->sin6_port) == 9188, "[::1]:9188 is IPv6, "
       "port 9188");
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ok(mhttp_parse(bad[i], &sa, &len, err, sizeof err) < 0 &&
           strncmp(err, "metrics '", 9) == 0, "metrics address '%s' refused: %s", bad[i], err);
    }
}

int main(void)
{
    itip_findings f;
    pthread_t th[THREADS];
    char *text;
    int i;

    escapes();
    addresses();

    mmetrics_init();
    itip_findings_init(&f, 10, NULL);
    itip_findings_add(&f, ITIP_R_MIME_METHOD_PARAM_MISMATCH, ITIP_SEV_WOULD_FAIL, 0, NULL, NULL,
                      NULL, NULL, "x");
    itip_findings_add(&f, ITIP_R_MIME_METHOD_PARAM_MISMATCH, ITIP_SEV_WOULD_FAIL, 0, NULL, NULL,
                      NULL, NULL, "y");
    itip_findings_add(&f, ITIP_R_ICAL_METHOD_MISSING, ITIP_SEV_INFO, 0, NULL, NULL, NULL, NULL,
                      "z");
    mmetrics_message(&(mmetrics_msg){ .seconds = 0.0001, .calendar = 1, .findings = &f,
                                      .action = "quarantine", .repairs_made = 2,
                                      .repairs_refused = 1, .store_failed = 1 });
    mmetrics_message(&(mmetrics_msg){ .seconds = 0.00010001, .action = "pass",
                                      .internal_error = 1 });
    mmetrics_message(&(mmetrics_msg){ .seconds = 99, .action = "reject" });
    mmetrics_connection_open();
    mmetrics_connection_open();
    mmetrics_connection_close();
    mmetrics_generation_bump();
    mmetrics_generation_bump();
    itip_findings_clear(&f);

    text = render();
    ok(text != NULL, "render");
    if (text == NULL)
        return done_testing();
    is_int(sample(text, "itip_milter_messages_total"), 3, "messages_total 3");
    is_int(sample(text, "itip_milter_calendar_messages_total"), 1, "calendar_messages_total 1");
    is_int(sample(text, "itip_milter_findings_total{rule=\"mime-method-param-mismatch\","
                  "severity=\"would-fail\"}"), 2, "findings: two of one rule");
    is_int(sample(text, "itip_milter_findings_total{rule=\"ical-method-missing\","
                  "severity=\"info\"}"), 1, "findings: the configured severity is the label");
    ok(strstr(text, "severity=\"degrade\"") == NULL, "findings: no series for pairs not seen");
    is_int(sample(text, "itip_milter_actions_total{action=\"quarantine\"}"), 1, "quarantine 1");
    is_int(sample(text, "itip_milter_actions_total{action=\"reject\"}"), 1, "action reject");
    is_int(sample(text, "itip_milter_actions_total{action=\"tag\"}"), 0, "action tag 0, shown");
    is_int(sample(text, "itip_milter_repairs_total{outcome=\"made\"}"), 2, "repairs made");
    is_int(sample(text, "itip_milter_repairs_total{outcome=\"refused\"}"), 1, "repairs refused");
    is_int(sample(text, "itip_milter_store_failures_total"), 1, "store failures");
    is_int(sample(text, "itip_milter_internal_errors_total"), 1, "internal errors");
    is_int(sample(text, "itip_milter_notices_sent_total"), 0, "notices 0");
    is_int(sample(text, "itip_milter_message_duration_seconds_bucket{le=\"0.0001\"}"), 1,
           "histogram: 0.0001 s falls in le=0.0001 (inclusive)");
    is_int(sample(text, "itip_milter_message_duration_seconds_bucket{le=\"0.00025\"}"), 2,
           "histogram: cumulative, 0.00010001 s in le=0.00025");
    is_int(sample(text, "itip_milter_message_duration_seconds_bucket{le=\"10\"}"), 2,
           "histogram: 99 s above the last bound");
    is_int(sample(text, "itip_milter_message_duration_seconds_bucket{le=\"+Inf\"}"), 3,
           "histogram: +Inf counts all");
    is_int(sample(text, "itip_milter_message_duration_seconds_count"), 3, "histogram count 3");
    ok(sample(text, "itip_milter_message_duration_seconds_sum") > 99.0002 &&
       sample(text, "itip_milter_message_duration_seconds_sum") < 99.0003, "histogram sum");
    is_int(sample(text, "itip_milter_connections_total"), 2, "connections_total 2");
    is_int(sample(text, "itip_milter_open_connections"), 1, "open_connections 1");
    is_int(sample(text, "itip_milter_config_generation"), 2, "config_generation 2");
    ok(sample(text, "itip_milter_start_time_seconds") > 1.7e9, "start time set");
    ok(strstr(text, "# TYPE itip_milter_message_duration_seconds histogram\n") != NULL &&
       strstr(text, "# TYPE itip_milter_open_connections gauge\n") != NULL &&
       strstr(text, "# TYPE itip_milter_messages_total counter\n") != NULL, "TYPE lines");
    free(text);

    /* the largest exposition: every rule with every severity */
    itip_findings_init(&f, 0, NULL);
    for (i = 0; i < ITIP_RULE_COUNT * 3; i++)
        itip_findings_add(&f, (itip_rule_id)(i / 3), (itip_severity)(i % 3 + 1), 0, NULL, NULL,
                          NULL, NULL, "all");
    mmetrics_message(&(mmetrics_msg){ .seconds = 0.002, .findings = &f, .action = "tag" });
    itip_findings_clear(&f);
    text = render();
    ok(text != NULL, "render with every rule x severity pair seen (%zu bytes)",
       text ? strlen(text) : 0);
    for (i = 0; text != NULL && i < ITIP_RULE_COUNT * 3; i++) {
        char name[200];
        snprintf(name, sizeof name, "itip_milter_findings_total{rule=\"%s\",severity=\"%s\"}",
                 itip_rules[i / 3].id, itip_severity_name((itip_severity)(i % 3 + 1)));
        if (sample(text, name) < 1)
            break;
    }
    is_int(i, ITIP_RULE_COUNT * 3, "every pair has its series");
    free(text);

    for (i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    for (i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    text = render();
    is_int(text ? sample(text, "itip_milter_messages_total") : -1, 4 + THREADS * PER_THREAD,
           "%d threads x %d messages: none lost", THREADS, PER_THREAD);
    is_int(text ? sample(text, "itip_milter_message_duration_seconds_bucket{le=\"0.0025\"}") : -1,
           3 + THREADS * PER_THREAD, "and every one in its bucket");
    free(text);
    return done_testing();
}
