/*
 * test_notice.c - the notice text (engine/notice.h) built from a real engine run over the
 * KB 938650 reply of t/rules: its headers and MIME structure, the rule, the remedy, the
 * queue id and (for the postmaster) the release and delete commands; no text/calendar part;
 * hostile subjects and recipients cannot add a header or a boundary, and no line passes 998
 * bytes; notice_wanted() follows notify.severities and rules.<id>.notify.  TAP output.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/config.h"
#include "base/strbuf.h"
#include "engine/engine.h"
#include "engine/notice.h"
#include "tap.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *s;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
        if (f)
            fclose(f);
        return NULL;
    }
    s = malloc((size_t)n + 1);
    if (s != NULL && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    if (s != NULL) {
        s[n] = '\0';
        *len = (size_t)n;
    }
    return s;
}

/* The header block's field names, one per line start (no continuation lines). */
static int count_header(const char *msg, const char *name)
{
    const char *end = strstr(msg, "\n\n"), *p = msg;
    size_t n = strlen(name);
    int c = 0;

    while (p != NULL && p < end) {
        if (strncmp(p, name, n) == 0)
            c++;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return c;
}

static size_t longest_line(const char *s)
{
    size_t best = 0;

    while (*s) {
        size_t n = strcspn(s, "\n");
        if (n > best)
            best = n;
        s += n + (s[n] ? 1 : 0);
    }
    return best;
}

static int count_str(const char *s, const char *what)
{
    int n = 0;

    while ((s = strstr(s, what)) != NULL) {
        n++;
        s += strlen(what);
    }
    return n;
}

int main(void)
{
    const char *top = getenv("top_srcdir");
    char path[4096];
    char *data, *rcpts[] = { "larry@legacy.example.org", "x@evil.example\nBcc: all@example.com" };
    size_t len = 0;
    itip_config *cfg;
    itip_engine *e;
    const itip_calpart *cal;
    const itip_msghdrs *h;
    notice_in in;
    strbuf b;
    char *pm, *orig;

    snprintf(path, sizeof path, "%s/t/rules/reply-attendee-critical-change-missing/"
             "pos-would-fail-legacy-organizer.eml", top ? top : ".");
    data = slurp(path, &len);
    if (!ok(data != NULL, "read %s", path))
        return done_testing();
    {
        char conf[] = "/tmp/itip-test-notice.XXXXXX", err[512];
        int fd = mkstemp(conf);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (f != NULL) {
            fputs("legacy_cdo_domains = [ \"legacy.example.org\" ];\n", f);
            fclose(f);
        }
        cfg = itip_config_load(conf, err, sizeof err);
        unlink(conf);
        if (!ok(cfg != NULL, "configuration with legacy_cdo_domains"))
            diag("%s", err);
    }
    e = cfg ? itip_engine_new(cfg) : NULL;
    ok(e != NULL && itip_engine_feed(e, data, len) == 0 && itip_engine_finish(e) == 0,
       "the KB 938650 reply through the engine");
    h = itip_engine_headers(e);
    cal = itip_engine_calpart(e, 0);
    ok(h != NULL && h->subject != NULL && cal != NULL, "headers and the calendar part are known");

    in = (notice_in){ .qid = "4Zq1Xy2AbC", .sender = "bob@example.net", .rcpts = rcpts,
                      .nrcpts = 2, .client = "192.0.2.7",
                      .subject = "Accepted\r\nBcc: victim@example.com\r\n\r\n--=_itip_notice_T1 <b>",
                      .method = "REPLY", .uid = itip_engine_uid(e), .action = "quarantine",
                      .findings = itip_engine_findings(e), .calendar = cal->data,
                      .calendar_len = cal->len, .from = "MAILER-DAEMON@mx.example.org",
                      .now = 1780000000, .token = "T1", .host = "mx.example.org" };
    itip_strbuf_init(&b, 0);
    ok(notice_build(&b, &in, "postmaster@example.org", 1) == 0 && itip_strbuf_putc(&b, '\0') == 0,
       "postmaster notice built");
    pm = itip_strbuf_detach(&b, NULL);
    itip_strbuf_init(&b, 0);
    ok(notice_build(&b, &in, "bob@example.net", 0) == 0 && itip_strbuf_putc(&b, '\0') == 0,
       "originator notice built");
    orig = itip_strbuf_detach(&b, NULL);
    if (pm == NULL || orig == NULL)
        return done_testing();

    ok(count_header(pm, "Auto-Submitted: auto-generated\n") == 1, "Auto-Submitted: auto-generated");
    ok(count_header(pm, "To: postmaster@example.org\n") == 1 &&
       count_header(orig, "To: bob@example.net\n") == 1, "To: the recipient of each notice");
    ok(count_header(pm, "Bcc:") == 0 && count_header(orig, "Bcc:") == 0 &&
       strstr(pm, "\nBcc:") == NULL && strstr(orig, "\nBcc:") == NULL,
       "a CR LF in the subject or a recipient adds no header");
    ok(count_str(pm, "\n--=_itip_notice_T1\n") == 2 && count_str(pm, "\n--=_itip_notice_T1--\n") == 1,
       "two parts and one closing boundary: the subject's fake boundary stays inside a line");
    ok(strstr(pm, "text/calendar") == NULL && strstr(orig, "text/calendar") == NULL,
       "no text/calendar anywhere");
    ok(strstr(pm, "name=\"calendar-lines.txt\"") != NULL && strstr(pm, "\nATTENDEE") != NULL,
       "the calendar lines go as a text/plain attachment");
    ok(strstr(pm, "reply-attendee-critical-change-missing (would-fail)") != NULL,
       "the finding: rule and severity");
    ok(strstr(pm, "KB 938650 fix") != NULL && strstr(orig, "What to do:") != NULL,
       "the rule's remedy");
    ok(strstr(pm, "itip-quarantine release 4Zq1Xy2AbC") != NULL &&
       strstr(pm, "itip-quarantine delete 4Zq1Xy2AbC") != NULL, "postmaster: release and delete");
    ok(strstr(orig, "itip-quarantine") == NULL && strstr(orig, "192.0.2.7") == NULL,
       "originator: no commands, no client address");
    ok(strstr(pm, "Queue id:   4Zq1Xy2AbC") != NULL && strstr(orig, "4Zq1Xy2AbC") != NULL,
       "the queue id");
    ok(longest_line(pm) <= 998 && longest_line(orig) <= 998, "no line passes 998 bytes");
    ok(strstr(pm, "Content-Type: text/plain; charset=utf-8\n") != NULL, "text/plain UTF-8");

    cfg->notify.severities = 1u << ITIP_SEV_INFO;
    ok(!notice_wanted(cfg, itip_engine_findings(e)), "severities = [info]: a would-fail does not count");
    cfg->rule_notify[ITIP_R_REPLY_ATTENDEE_CRITICAL_CHANGE_MISSING] = 1;
    ok(notice_wanted(cfg, itip_engine_findings(e)), "rules.<id>.notify = true counts anyway");
    cfg->notify.severities = 0;          /* nothing counts but what a rule says itself */
    cfg->rule_notify[ITIP_R_REPLY_ATTENDEE_CRITICAL_CHANGE_MISSING] = 1;
    ok(notice_wanted(cfg, itip_engine_findings(e)), "severities = []: rules.<id>.notify = true counts");
    cfg->rule_notify[ITIP_R_REPLY_ATTENDEE_CRITICAL_CHANGE_MISSING] = 0;
    cfg->notify.severities = 1u << ITIP_SEV_INFO | 1u << ITIP_SEV_DEGRADE | 1u << ITIP_SEV_WOULD_FAIL;
    {
        const itip_findings *f = itip_engine_findings(e);
        size_t i;
        int others = 0;
        for (i = 0; i < f->n; i++)
            others |= f->v[i].rule != ITIP_R_REPLY_ATTENDEE_CRITICAL_CHANGE_MISSING;
        ok(notice_wanted(cfg, f) == others,
           "rules.<id>.notify = false: that rule does not count, even at a listed severity");
    }
    free(pm);
    free(orig);
    free(data);
    itip_engine_free(e);
    itip_config_free(cfg);
    return done_testing();
}
