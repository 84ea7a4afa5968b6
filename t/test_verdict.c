/*
 * test_verdict.c - unit tests of milter/engine/verdict.c: action resolution (strongest
 * wins, per-rule actions, dry_run), header texts and folding (78 columns, "\n\t", printable ASCII only),
 * the capped X-ITIP-Finding list, quarantine reason and SMTP reply text ('%' escaped), the
 * repair action's fallback and X-ITIP-Repaired.
 * TAP output; no libmilter, no network.
 */
#include "ac-config.h"
#include <stdlib.h>
#include <string.h>
#include "base/config.h"
#include "base/findings.h"
#include "engine/verdict.h"
#include "tap.h"

/* Every line of a folded value (with "Name: " before the first) is at most 78 columns,
 * continuation lines start with a tab, and all bytes are printable ASCII. */
static int well_folded(const char *name, const char *v, int leadspc)
{
    size_t col = strlen(name) + (leadspc ? 1 : 2);
    const char *p;

    for (p = v; *p; p++) {
        if (*p == '\n') {
            if (p[1] != '\t' || col > MV_LINE_MAX)
                return 0;
            col = 0;
            continue;
        }
        if ((*p < 0x20 || *p > 0x7e) && *p != '\t')
            return 0;
        col++;
    }
    return col <= MV_LINE_MAX;
}

static void unfold(char *s)   /* "\n\t" -> "\t" -> " " for comparisons */
{
    char *r = s, *w = s;

    for (; *r; r++)
        if (*r != '\n')
            *w++ = *r == '\t' ? ' ' : *r;
    *w = '\0';
}

static itip_rule_id rule(const char *id)
{
    int i = itip_rule_lookup(id);
    if (i < 0) {
        printf("Bail out! unknown rule %s\n", id);
        exit(1);
    }
    return (itip_rule_id)i;
}

static void add(itip_findings *f, const char *id, itip_severity sev, const char *detail)
{
    itip_findings_add(f, rule(id), sev, 0, "REPLY", "uid-1", "VEVENT", NULL, "%s", detail);
}

/* The repair action: repair stands until tried; a repair made keeps it and brings
 * X-ITIP-Repaired; one not made falls back to actions.<severity>, or tag. */
static void test_repair(void)
{
    itip_config *cfg = itip_config_default();
    itip_rule_id cc = rule("reply-attendee-critical-change-missing");
    unsigned char yes[2] = { 1, 0 }, no[2] = { 0, 0 };
    itip_findings f;
    mverdict_input in;
    mverdict v;
    char *s;

    if (cfg == NULL)
        return;
    cfg->rule_actions[cc] = ITIP_ACT_REPAIR;
    itip_findings_init(&f, 100, NULL);
    add(&f, "reply-attendee-critical-change-missing", ITIP_SEV_WOULD_FAIL, "stamp missing");
    add(&f, itip_rules[0].id, ITIP_SEV_INFO, "an info finding");
    memset(&in, 0, sizeof in);
    in.findings = &f;
    in.calendar_parts = 1;
    in.method = "REPLY";
    in.uid = "u@example.org";
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.action == ITIP_ACT_REPAIR &&
       v.repaired == NULL && v.reason == NULL && v.result &&
       strncmp(v.result, "repair (would-fail: reply-attendee-critical-change-missing)", 59) == 0,
       "repair: the verdict before the repair says repair");
    mverdict_free(&v);
    is_int(mverdict_action(cfg, &in), ITIP_ACT_REPAIR, "mverdict_action: repair, to plan");
    in.repaired = yes;
    in.repairs = "reply-attendee-critical-change-missing part=0: "
                 "X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE:20260601T100000Z added";
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.action == ITIP_ACT_REPAIR && v.repaired &&
       well_folded("X-ITIP-Repaired", v.repaired, 0), "repair made: X-ITIP-Repaired, folded");
    s = v.repaired ? strdup(v.repaired) : NULL;
    if (s)
        unfold(s);
    is_str(s, in.repairs, "repair made: X-ITIP-Repaired names the change");
    free(s);
    mverdict_free(&v);
    in.repaired = no;
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.action == ITIP_ACT_QUARANTINE &&
       v.repaired == NULL && v.reason && v.result &&
       strncmp(v.result, "quarantine (would-fail: reply-attendee-critical-change-missing)",
               63) == 0, "repair not made: actions.would-fail (quarantine) applies");
    mverdict_free(&v);
    is_int(mverdict_action(cfg, &in), ITIP_ACT_QUARANTINE,
           "mverdict_action agrees with the built verdict: repair not made, quarantine");
    in.repair_note = "the VEVENT has no UTC DTSTAMP";
    s = mverdict_build(&v, cfg, &in, 0) == 0 && v.result ? strdup(v.result) : NULL;
    if (s)
        unfold(s);
    ok(s && strstr(s, " uid=u@example.org; repair not made: the VEVENT has no UTC DTSTAMP") &&
       well_folded("X-ITIP-Result", v.result, 0),
       "repair not made: X-ITIP-Result says why, folded: %s", s ? s : "(null)");
    free(s);
    mverdict_free(&v);
    in.repair_note = NULL;
    cfg->actions[ITIP_SEV_WOULD_FAIL] = ITIP_ACT_REPAIR;
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.action == ITIP_ACT_TAG && v.repaired == NULL,
       "repair not made and actions.would-fail = repair: tag");
    mverdict_free(&v);
    in.repaired = NULL;
    cfg->dry_run = 1;
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.action == ITIP_ACT_TAG &&
       v.wanted == ITIP_ACT_REPAIR && v.result && strstr(v.result, "dry-run=repair"),
       "dry_run: tag, dry-run=repair");
    mverdict_free(&v);
    is_int(mverdict_action(cfg, &in), ITIP_ACT_TAG, "mverdict_action: dry_run, no repair to plan");
    in.error = "engine failed";
    is_int(mverdict_action(cfg, &in), cfg->on_internal_error,
           "mverdict_action: an internal error gives on_internal_error");
    in.error = NULL;
    itip_findings_clear(&f);
    itip_config_free(cfg);
}

int main(void)
{
    itip_config *cfg = itip_config_default();
    itip_findings f;
    mverdict v;
    mverdict_input in;
    strbuf b;
    char *s, longuid[200];
    const char *r1 = itip_rules[0].id, *r2 = itip_rules[1].id;

    if (cfg == NULL) {
        printf("Bail out! out of memory\n");
        return 1;
    }
    itip_findings_init(&f, 100, NULL);
    memset(&in, 0, sizeof in);
    in.findings = &f;

    /* no calendar part, no finding: untouched */
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.result == NULL && v.nfindings == 0 &&
       v.wanted == ITIP_ACT_NONE && v.reply == NULL && v.reason == NULL,
       "plain mail: no header, no action");
    mverdict_free(&v);

    /* clean calendar part: pass */
    in.calendar_parts = 1;
    in.method = "REQUEST";
    in.uid = "abc@example.org";
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.result != NULL &&
       strcmp(v.result, "pass method=REQUEST uid=abc@example.org") == 0 && v.nfindings == 0,
       "clean calendar: X-ITIP-Result: pass method=REQUEST uid=...");
    mverdict_free(&v);
    ok(mverdict_build(&v, cfg, &in, 1) == 0 && v.result && v.result[0] == ' ' &&
       strcmp(v.result + 1, "pass method=REQUEST uid=abc@example.org") == 0,
       "SMFIP_HDR_LEADSPC: the value carries its leading space");
    mverdict_free(&v);

    /* stateful rules skipped: a note ends X-ITIP-Result, made printable and bounded */
    in.state_note = "state unavailable, stateful rules skipped";
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.result != NULL &&
       (s = strdup(v.result)) != NULL, "pass with a state note");
    if (s)
        unfold(s);
    is_str(s, "pass method=REQUEST uid=abc@example.org; state unavailable, stateful rules "
           "skipped", "the note follows '; ' at the end of X-ITIP-Result");
    ok(v.result && well_folded("X-ITIP-Result", v.result, 0), "... and is folded");
    free(s);
    mverdict_free(&v);
    in.state_note = "redis: \r\nInjected: \x01 header";
    s = mverdict_build(&v, cfg, &in, 0) == 0 && v.result ? strdup(v.result) : NULL;
    if (s)
        unfold(s);
    ok(s && well_folded("X-ITIP-Result", v.result, 0) &&
       strstr(s, "; redis: ??Injected: ? header"),
       "the note is made printable: no CR, LF or controls reach the header");
    free(s);
    mverdict_free(&v);
    in.state_note = NULL;
    in.calendar_parts = 0;
    in.state_note = "state unavailable, stateful rules skipped";
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.result == NULL,
       "plain mail: no header even with a state note");
    mverdict_free(&v);
    in.state_note = NULL;
    in.calendar_parts = 1;

    /* strongest action wins: info -> log, would-fail -> quarantine */
    add(&f, r1, ITIP_SEV_INFO, "an info finding");
    add(&f, r2, ITIP_SEV_WOULD_FAIL, "a would-fail finding");
    itip_findings_sort(&f);
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.action == ITIP_ACT_QUARANTINE &&
       v.severity == ITIP_SEV_WOULD_FAIL && strcmp(v.rules, r2) == 0 && v.reason != NULL &&
       strstr(v.reason, r2) != NULL && v.nfindings == 2,
       "would-fail + info: quarantine, reason names the deciding rule");
    s = v.result ? strdup(v.result) : NULL;
    if (s)
        unfold(s);
    ok(s && strncmp(s, "quarantine (would-fail: ", 24) == 0 && strstr(s, "method=REQUEST"),
       "result text: quarantine (would-fail: RULE) method=...");
    free(s);
    ok(v.all_rules && strstr(v.all_rules, r1) && strstr(v.all_rules, r2),
       "all rules listed for the log line");
    mverdict_free(&v);

    /* a per-rule action beats the severity's */
    cfg->rule_actions[rule(r1)] = ITIP_ACT_REJECT;
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.action == ITIP_ACT_REJECT && v.reply &&
       strstr(v.reply, r1) && strcmp(v.rules, r1) == 0, "rules.<id>.action = reject wins");
    mverdict_free(&v);
    cfg->dry_run = 1;
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.action == ITIP_ACT_TAG &&
       v.wanted == ITIP_ACT_REJECT && v.reply == NULL && v.result &&
       strstr(v.result, "dry-run=reject") && v.nfindings == 2,
       "dry_run: reject becomes tag, the header says what would have been done");
    mverdict_free(&v);
    cfg->dry_run = 0;
    cfg->rule_actions[rule(r1)] = ITIP_ACT_NONE;
    cfg->actions[ITIP_SEV_WOULD_FAIL] = ITIP_ACT_TEMPFAIL;
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.action == ITIP_ACT_TEMPFAIL && v.reply &&
       strstr(v.reply, "deferred"), "actions.would-fail = tempfail");
    mverdict_free(&v);
    cfg->actions[ITIP_SEV_WOULD_FAIL] = ITIP_ACT_LOG;
    cfg->actions[ITIP_SEV_INFO] = ITIP_ACT_LOG;
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.action == ITIP_ACT_LOG && v.result &&
       strncmp(v.result, "log (", 5) == 0 && v.nfindings == 0,
       "action log: the result header only, no finding headers");
    mverdict_free(&v);
    cfg->actions[ITIP_SEV_WOULD_FAIL] = ITIP_ACT_QUARANTINE;

    /* max_finding_headers caps the list */
    cfg->max_finding_headers = 1;
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.nfindings == 1, "max_finding_headers = 1");
    mverdict_free(&v);
    cfg->max_finding_headers = 10;

    /* folding: long details, long UID, 8-bit and control bytes */
    memset(longuid, 'A', sizeof longuid - 1);
    longuid[sizeof longuid - 1] = '\0';
    in.uid = longuid;
    add(&f, r1, ITIP_SEV_DEGRADE, "a long detail with \xc3\xa9 8-bit bytes and a %s "
        "that goes on and on well past the seventy-eight columns of one header line, "
        "AVeryLongTokenWithoutAnySpaceThatCannotBeFoldedAtWhitespaceAtAllSoItMustBeBroken"
        "AcrossLines");
    itip_findings_sort(&f);
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.result && v.uid &&
       strlen(v.uid) == MV_UID_MAX && strstr(v.uid, "..."), "a long UID is shortened");
    {
        size_t i;
        int good = well_folded("X-ITIP-Result", v.result, 0);
        for (i = 0; i < v.nfindings; i++)
            good = good && well_folded("X-ITIP-Finding", v.findings[i], 0);
        ok(good && v.nfindings == 3, "every header line <= 78 columns, printable, folded "
           "with \\n\\t");
    }
    mverdict_free(&v);

    /* folding keeps the words */
    itip_strbuf_init(&b, 0);
    ok(mverdict_fold(&b, 13, "one two  three", 0) == 0 && strcmp(b.s, "one two three") == 0,
       "short text is not folded");
    itip_strbuf_free(&b);

    /* reply text: '%' doubled, one line */
    s = mverdict_reply_text("100% sure\r\nnext", 400);
    ok(s && strcmp(s, "100%% sure??next") == 0, "reply text: %% escaped, CR/LF removed");
    free(s);

    /* internal error: on_internal_error, default log = no header */
    in.error = "out of memory";
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.action == ITIP_ACT_LOG && v.result == NULL &&
       v.error, "internal error, default: log only, no header");
    mverdict_free(&v);
    cfg->on_internal_error = ITIP_ACT_TEMPFAIL;
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.action == ITIP_ACT_TEMPFAIL && v.reply &&
       strstr(v.reply, "internal error"), "internal error with on_internal_error = tempfail");
    mverdict_free(&v);
    in.findings = NULL;
    cfg->on_internal_error = ITIP_ACT_QUARANTINE;
    ok(mverdict_build(&v, cfg, &in, 0) == 0 && v.action == ITIP_ACT_QUARANTINE && v.reason &&
       v.result && strstr(v.result, "internal-error") && v.nfindings == 1,
       "internal error before any finding list: quarantine with a header");
    mverdict_free(&v);
    mverdict_free(&v);
    ok(v.result == NULL && v.nfindings == 0, "mverdict_free is idempotent");

    itip_findings_clear(&f);
    itip_config_free(cfg);
    test_repair();
    return done_testing();
}
