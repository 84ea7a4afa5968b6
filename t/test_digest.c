/*
 * test_digest.c - unit tests of the digest and expire pieces of itip-quarantine that need no
 * MTA: the `quarantine` settings (defaults, each policy, errors with file and line), ages for
 * people, the split of a finding header, remedies by rule id, the addresses handed to
 * sendmail(1), and the tool runner's standard input (quar_run_input).  TAP output.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/config.h"
#include "quarantine/quar_digest.h"
#include "quarantine/quar_run.h"
#include "tap.h"

static char tmpdir[] = "/tmp/test_digest.XXXXXX";

/* Loads TEXT as a configuration file; the snapshot, or NULL with the error in ERR. */
static itip_config *load(const char *text, char *err, size_t errlen)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/c.conf", tmpdir);
    f = fopen(path, "w");
    if (f == NULL)
        return NULL;
    fputs(text, f);
    fclose(f);
    return itip_config_load(path, err, errlen);
}

static void test_config(void)
{
    char err[512];
    itip_config *c = itip_config_default();

    ok(c && c->quarantine.max_hold_age == 604800 && c->quarantine.policy == ITIP_HOLD_KEEP &&
           strcmp(c->quarantine.on_max_hold_age, "keep") == 0 &&
           c->quarantine.digest_overdue == 86400 &&
           strcmp(c->quarantine.sendmail, "/usr/sbin/sendmail") == 0,
       "defaults: 7 days, keep, overdue after a day, /usr/sbin/sendmail");
    itip_config_free(c);
    c = load("quarantine = {\n  max_hold_age = 3600;\n  on_max_hold_age = \"release\";\n"
             "  digest_overdue = 0;\n  sendmail = \"/opt/mta/sendmail\";\n};\n", err, sizeof err);
    ok(c && c->quarantine.max_hold_age == 3600 && c->quarantine.policy == ITIP_HOLD_RELEASE &&
           c->quarantine.digest_overdue == 0 &&
           strcmp(c->quarantine.sendmail, "/opt/mta/sendmail") == 0,
       "every quarantine setting read (release)");
    itip_config_free(c);
    c = load("quarantine = { on_max_hold_age = \"return\"; };\n", err, sizeof err);
    ok(c && c->quarantine.policy == ITIP_HOLD_RETURN, "on_max_hold_age = return");
    itip_config_free(c);
    c = load("# a comment\nquarantine = {\n  on_max_hold_age = \"bounce\";\n};\n", err, sizeof err);
    ok(c == NULL && strstr(err, "c.conf:3: setting 'quarantine.on_max_hold_age' must be one of"),
       "an unknown policy: FILE:LINE and the choices (%s)", err);
    itip_config_free(c);
    c = load("quarantine = {\n  max_hold_age = -1;\n};\n", err, sizeof err);
    ok(c == NULL && strstr(err, "c.conf:2: setting 'quarantine.max_hold_age' must be between"),
       "a negative max_hold_age: FILE:LINE (%s)", err);
    itip_config_free(c);
    c = load("quarantine = {\n\n  sendmail = \"sendmail\";\n};\n", err, sizeof err);
    ok(c == NULL && strstr(err, "c.conf:3: setting 'quarantine.sendmail' must be an absolute"),
       "a relative sendmail path: FILE:LINE (%s)", err);
    itip_config_free(c);
    c = load("quarantine = { max_hold_days = 3; };\n", err, sizeof err);
    ok(c == NULL && strstr(err, "c.conf:1: unknown setting 'max_hold_days' in 'quarantine'"),
       "an unknown member: FILE:LINE (%s)", err);
    itip_config_free(c);
}

static void test_age(void)
{
    char b[64];

    qd_age_text(b, sizeof b, 200001);
    ok(strcmp(b, "2d 7h") == 0, "200001 s: 2d 7h (%s)", b);
    qd_age_text(b, sizeof b, 7260);
    ok(strcmp(b, "2h 1m") == 0, "7260 s: 2h 1m (%s)", b);
    qd_age_text(b, sizeof b, 59);
    ok(strcmp(b, "59s") == 0, "59 s (%s)", b);
    qd_age_text(b, sizeof b, -5);
    ok(strcmp(b, "0s") == 0, "a negative age is 0s (%s)", b);
}

static void test_finding(void)
{
    char buf[256];
    const char *rule, *sev, *detail;

    qd_finding("mime-method-param-mismatch; severity=would-fail; method=REQUEST; body CANCEL",
               buf, sizeof buf, &rule, &sev, &detail);
    ok(strcmp(rule, "mime-method-param-mismatch") == 0 && sev && strcmp(sev, "would-fail") == 0 &&
           detail && strcmp(detail, "method=REQUEST; body CANCEL") == 0,
       "a finding header split into rule, severity and detail (semicolons kept in the detail)");
    qd_finding("odd-rule", buf, sizeof buf, &rule, &sev, &detail);
    ok(strcmp(rule, "odd-rule") == 0 && sev == NULL && detail == NULL, "a bare rule id");
    ok(qd_remedy("reply-attendee-critical-change-missing") &&
           strstr(qd_remedy("reply-attendee-critical-change-missing"), "KB 938650"),
       "the remedy of a rule by its id");
    ok(qd_remedy("no-such-rule") == NULL && qd_remedy(NULL) == NULL, "no remedy for an unknown id");
}

static void test_addr(void)
{
    ok(quar_addr_ok("postmaster@example.com") && quar_addr_ok("postmaster"),
       "plain addresses are accepted");
    ok(!quar_addr_ok("-oi") && !quar_addr_ok("") && !quar_addr_ok("a b@x") &&
           !quar_addr_ok("<a@x>") && !quar_addr_ok("a@x\n") && !quar_addr_ok("a,b@x") &&
           !quar_addr_ok("\"q\"@x") && !quar_addr_ok("\xc3\xa9@x"),
       "an option, blanks, brackets, controls, lists, quotes and 8-bit are refused");
}

static void test_run_input(void)
{
    char *cat[] = { (char *)"cat", NULL };
    char *tr[] = { (char *)"wc", (char *)"-c", NULL };
    static const char msg[] = "line one\r\nline two\n";
    char *big = malloc(300000);
    quar_result r;
    int rc;

    rc = quar_run_input(cat, NULL, msg, sizeof msg - 1, 10, 1 << 20, &r);
    ok(rc == 0 && r.status == 0 && r.out.len == sizeof msg - 1 &&
           memcmp(r.out.s, msg, sizeof msg - 1) == 0,
       "the given bytes are the tool's standard input");
    quar_result_free(&r);
    if (big == NULL)
        return;
    memset(big, 'x', 300000);
    rc = quar_run_input(tr, NULL, big, 300000, 10, 1 << 20, &r);
    ok(rc == 0 && r.status == 0 && r.out.s && atol(r.out.s) == 300000,
       "an input larger than a pipe's buffer arrives whole");
    quar_result_free(&r);
    free(big);
    rc = quar_run_input(cat, NULL, NULL, 0, 10, 1 << 20, &r);
    ok(rc == 0 && r.status == 0 && r.out.len == 0, "no input: /dev/null");
    quar_result_free(&r);
}

int main(void)
{
    char path[256];

    if (mkdtemp(tmpdir) == NULL)
        skip_all("cannot make a temporary directory");
    test_config();
    test_age();
    test_finding();
    test_addr();
    test_run_input();
    snprintf(path, sizeof path, "%s/c.conf", tmpdir);
    unlink(path);
    rmdir(tmpdir);
    return done_testing();
}
