/*
 * test_engine.c - the engine's public functions: bare-iCalendar sniffing, one engine reused for
 * several messages, configured severities and disabled rules, the findings cap, the bare-input
 * size cap, METHOD/UID/verdict reporting.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/config.h"
#include "engine/engine.h"
#include "tap.h"

#define CLEAN_REPLY \
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//itip-milter//test//EN\r\nMETHOD:REPLY\r\n" \
    "BEGIN:VEVENT\r\nUID:engine-test-1@example.com\r\nDTSTAMP:20260601T100000Z\r\n" \
    "X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE:20260601T100000Z\r\n" \
    "ORGANIZER:mailto:org@example.com\r\n" \
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:att@example.net\r\n" \
    "DTSTART:20260610T090000Z\r\nDTEND:20260610T100000Z\r\nSEQUENCE:0\r\n" \
    "END:VEVENT\r\nEND:VCALENDAR\r\n"

/* Not iCalendar at all, though it starts like it: one parse error at least. */
#define BROKEN \
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\nBEGIN:VEVENT\r\n" \
    "UID:broken@example.com\r\nthis line has no colon\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

static itip_config *conf(const char *text)
{
    char path[64], err[1024];
    FILE *fp;
    itip_config *cfg;

    snprintf(path, sizeof path, "/tmp/itip-test-engine.%ld.conf", (long)getpid());
    fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
    cfg = itip_config_load(path, err, sizeof err);
    unlink(path);
    if (cfg == NULL) {
        ok(0, "test configuration loads: %s", err);
        exit(done_testing());
    }
    return cfg;
}

static itip_engine *run_ical(itip_engine *e, const char *ics)
{
    itip_engine_set_now(e, 1780315200);
    ok(itip_engine_feed_ical(e, ics, strlen(ics)) == 0, "feed_ical accepts the data");
    ok(itip_engine_finish(e) == 0, "finish succeeds");
    return e;
}

static int count_rule(const itip_engine *e, itip_rule_id r, itip_severity *sev)
{
    const itip_findings *f = itip_engine_findings(e);
    size_t i;
    int n = 0;

    for (i = 0; i < f->n; i++)
        if (f->v[i].rule == r) {
            n++;
            if (sev)
                *sev = f->v[i].severity;
        }
    return n;
}

static void test_sniff(void)
{
    ok(itip_looks_like_ical("BEGIN:VCALENDAR\r\n", 17), "plain BEGIN:VCALENDAR");
    ok(itip_looks_like_ical("\xEF\xBB\xBF\r\n  begin:vcalendar\n", 24), "BOM, blank lines, lower case");
    ok(!itip_looks_like_ical("From: a@example.com\r\n", 21), "a message is not bare iCalendar");
    ok(!itip_looks_like_ical("BEGIN:VCAL", 10), "a truncated tag is not");
    ok(!itip_looks_like_ical("", 0), "empty input is not");
}

static void test_clean_and_reuse(void)
{
    itip_config *cfg = itip_config_default();
    itip_engine *e = itip_engine_new(cfg);

    run_ical(e, BROKEN);
    is_int(count_rule(e, ITIP_R_ICAL_PARSE_ERRORS, NULL), 1, "broken input: ical-parse-errors");
    is_int(itip_engine_verdict(e), ITIP_SEV_WOULD_FAIL, "broken input: verdict would-fail");
    is_str(itip_engine_method(e), "PUBLISH", "METHOD reported");
    is_str(itip_engine_uid(e), "broken@example.com", "UID reported");

    itip_engine_reset(e);
    is_int(itip_engine_findings(e)->n, 0, "reset forgets the findings");
    ok(itip_engine_method(e) == NULL, "reset forgets the METHOD");
    run_ical(e, CLEAN_REPLY);
    is_int(itip_engine_findings(e)->n, 0, "the next message on the same engine is clean");
    is_int(itip_engine_verdict(e), ITIP_SEV_NONE, "verdict pass");
    is_str(itip_engine_method(e), "REPLY", "METHOD of a clean message is known");
    is_int(itip_engine_calendar_parts(e), 1, "one calendar part");
    ok(itip_engine_finish(e) == 0, "finish twice is harmless");
    itip_engine_free(e);
    itip_config_free(cfg);
}

static void test_rule_settings(void)
{
    itip_config *cfg = conf("rules = { ical-parse-errors = { severity = \"info\"; }; };\n");
    itip_engine *e;
    itip_severity sev = ITIP_SEV_NONE;

    e = run_ical(itip_engine_new(cfg), BROKEN);
    is_int(count_rule(e, ITIP_R_ICAL_PARSE_ERRORS, &sev), 1, "overridden rule still fires");
    is_int(sev, ITIP_SEV_INFO, "with the configured severity");
    itip_engine_free(e);
    itip_config_free(cfg);

    cfg = conf("rules = { ical-parse-errors = { enabled = false; }; };\n");
    e = run_ical(itip_engine_new(cfg), BROKEN);
    is_int(count_rule(e, ITIP_R_ICAL_PARSE_ERRORS, NULL), 0, "a disabled rule does not fire");
    itip_engine_free(e);
    itip_config_free(cfg);
}

static void test_caps(void)
{
    itip_config *cfg = conf("max_findings = 1;\n");
    itip_engine *e;
    const itip_findings *f;
    char big[4096];
    size_t i;
    itip_severity sev;

    /* two VCALENDARs, each broken: at least ical-parse-errors and multiple-vcalendar */
    e = run_ical(itip_engine_new(cfg), BROKEN BROKEN);
    f = itip_engine_findings(e);
    is_int(f->n, 2, "max_findings 1: one finding plus the note that more were dropped");
    is_int(count_rule(e, ITIP_R_MIME_LIMIT_EXCEEDED, NULL), 1, "the note is mime-limit-exceeded");
    ok(f->n == 2 && (strstr(f->v[0].detail, "max_findings") || strstr(f->v[1].detail, "max_findings")),
       "the note names max_findings");
    itip_engine_free(e);
    itip_config_free(cfg);

    cfg = conf("max_calendar_part_size = 1024;\n");
    memset(big, 'x', sizeof big);
    memcpy(big, "BEGIN:VCALENDAR\r\nX-PAD:", 24);
    big[sizeof big - 1] = '\0';
    e = itip_engine_new(cfg);
    for (i = 0; i < 4; i++)
        ok(itip_engine_feed_ical(e, big + i * 1000, i < 3 ? 1000 : strlen(big) - 3000) == 0,
           "bare feed %zu accepted past the cap", i);
    ok(itip_engine_finish(e) == 0, "finish after the cap");
    is_int(count_rule(e, ITIP_R_MIME_LIMIT_EXCEEDED, NULL), 1, "the cap yields mime-limit-exceeded");
    is_int(count_rule(e, ITIP_R_ICAL_PARSE_ERRORS, NULL), 0, "a truncated part is not parsed");
    itip_engine_free(e);
    itip_config_free(cfg);

    /* the time budget: 0 ms analyses nothing, and says so (would-fail); the default does */
    cfg = conf("max_analysis_time = 0;\n");
    e = run_ical(itip_engine_new(cfg), BROKEN);
    sev = ITIP_SEV_NONE;
    is_int(count_rule(e, ITIP_R_MIME_LIMIT_EXCEEDED, &sev), 1,
           "max_analysis_time 0: mime-limit-exceeded");
    is_int(sev, ITIP_SEV_WOULD_FAIL, "max_analysis_time: would-fail");
    f = itip_engine_findings(e);
    ok(f->n == 1 && strstr(f->v[0].detail, "max_analysis_time (0 ms) reached: calendar part 0 "
                           "was not analysed") != NULL, "the finding names the setting and part");
    is_int(count_rule(e, ITIP_R_ICAL_PARSE_ERRORS, NULL), 0, "the part was not analysed");
    itip_engine_free(e);
    itip_config_free(cfg);
    cfg = conf("max_analysis_time = 10000;\n");
    e = run_ical(itip_engine_new(cfg), BROKEN);
    ok(count_rule(e, ITIP_R_MIME_LIMIT_EXCEEDED, NULL) == 0 &&
       count_rule(e, ITIP_R_ICAL_PARSE_ERRORS, NULL) == 1, "10 s: the part is analysed");
    itip_engine_free(e);
    itip_config_free(cfg);
}

/* An envelope recipient as the MTA passes it ("<a@b>") counts for legacy_cdo_domains. */
static void test_rcpt_brackets(void)
{
    static const char reply[] =
        "BEGIN:VCALENDAR\r\nPRODID:-//t//t//EN\r\nVERSION:2.0\r\nMETHOD:REPLY\r\n"
        "BEGIN:VEVENT\r\nUID:rcpt-brackets@example.com\r\nDTSTAMP:20260601T100000Z\r\n"
        "DTSTART:20260610T080000Z\r\nSEQUENCE:0\r\n"
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:anton@example.net\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n";
    itip_config *cfg = conf("legacy_cdo_domains = [ \"legacy.example\" ];\n");
    itip_engine *e = itip_engine_new(cfg);
    itip_severity sev = ITIP_SEV_NONE;

    ok(itip_engine_add_rcpt(e, "<olga@legacy.example>") == 0, "add_rcpt <olga@legacy.example>");
    run_ical(e, reply);
    ok(count_rule(e, ITIP_R_REPLY_ATTENDEE_CRITICAL_CHANGE_MISSING, &sev) == 1 &&
       sev == ITIP_SEV_WOULD_FAIL,
       "a REPLY without ORGANIZER to <olga@legacy.example>: the legacy organizer is seen");
    itip_engine_free(e);
    itip_config_free(cfg);
}

int main(void)
{
    test_sniff();
    test_clean_and_reuse();
    test_rule_settings();
    test_rcpt_brackets();
    test_caps();
    return done_testing();
}
