/*
 * test_quar.c - unit tests of itip-quarantine's pieces that need no MTA: the JSON reader
 * (postqueue -j lines, escapes, depth limit, errors), the held-message header parser and
 * filters, --since parsing, the reader of postcat -e output (sections of a batch, a message
 * cut short, marker lines inside a body, the envelope, the header block as postcat -h ends it),
 * the item list, safe printing of hostile text, the calendar lines shown for a finding, and the
 * tool runner (output, exit status, output cap, timeout, added environment).  TAP output.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quarantine/quar_json.h"
#include "quarantine/quar_msg.h"
#include "quarantine/quar_run.h"
#include "quarantine/quar_text.h"
#include "tap.h"

static void test_json(void)
{
    const char *line = "{\"queue_name\": \"hold\", \"queue_id\": \"1A2B3C\", \"arrival_time\": "
                       "1795245528, \"forced_expire\": false, \"sender\": \"a\\u00e9\\ud83d\\ude00"
                       "\\\"\\n\", \"recipients\": [{\"address\": \"r@x\"}, {\"address\": \"s@y\","
                       " \"delay_reason\": null}]}";
    char err[128], deep[200];
    qj_value *v = qj_parse(line, strlen(line), err, sizeof err);
    const qj_value *r;

    ok(v != NULL, "a postqueue -j line parses");
    if (v == NULL)
        return;
    is_str(qj_get_str(v, "queue_id"), "1A2B3C", "queue_id");
    is_str(qj_get_str(v, "sender"), "a\xc3\xa9\xf0\x9f\x98\x80\"\n",
           "\\u escapes, a surrogate pair, quote and newline decoded");
    r = qj_get(v, "recipients");
    ok(r && r->type == QJ_ARR && r->n == 2, "recipients: an array of two");
    is_str(r && r->n == 2 ? qj_get_str(&r->items[1], "address") : NULL, "s@y", "second address");
    ok(qj_get(v, "arrival_time")->num == 1795245528.0, "arrival_time as a number");
    ok(qj_get(v, "forced_expire")->type == QJ_BOOL, "false is a boolean");
    ok(qj_get_str(v, "missing") == NULL && qj_get_str(v, "arrival_time") == NULL,
       "absent member or not a string: NULL");
    qj_free(v);
    v = qj_parse("\"a\\u0000b\"", 10, err, sizeof err);
    is_str(v ? v->str : NULL, "a\xef\xbf\xbd" "b", "\\u0000 becomes U+FFFD");
    qj_free(v);
    memset(deep, '[', sizeof deep);
    ok(qj_parse(deep, sizeof deep, err, sizeof err) == NULL && strstr(err, "deeply"),
       "nesting past QJ_MAX_DEPTH is refused: %s", err);
    ok(qj_parse("{\"a\": 1", 7, err, sizeof err) == NULL, "unterminated object refused");
    ok(qj_parse("{\"a\": 1} x", 10, err, sizeof err) == NULL, "trailing text refused");
    ok(qj_parse("\"\x01\"", 3, err, sizeof err) == NULL, "raw control character refused");
}

static void test_headers(void)
{
    quar_item it;
    quar_filter f;

    memset(&it, 0, sizeof it);
    it.headers = strdup("X-ITIP-Result: quarantine (would-fail: rule-a, rule-b)\n"
                        "\tmethod=REPLY uid=x\n"
                        "X-ITIP-Finding: rule-a; severity=would-fail;\n\tfirst detail\n"
                        "X-ITIP-Finding: rule-c; severity=info; second\n"
                        "Subject: =?utf-8?q?Caf=C3=A9?= ok\n"
                        "X-ITIP-Result: pass forged-later\n"
                        "\n"
                        "X-ITIP-Result: body text\n");
    it.sender = strdup("Bob@Example.net");
    it.arrival = 1000;
    ok(quar_item_parse_headers(&it, "X-ITIP") == 0, "header block parsed");
    is_str(it.result, "quarantine (would-fail: rule-a, rule-b) method=REPLY uid=x",
           "first X-ITIP-Result, unfolded");
    is_int(it.nfindings, 2, "two findings, none from the body");
    is_str(it.nfindings ? it.findings[0] : NULL, "rule-a; severity=would-fail; first detail",
           "finding unfolded");
    is_str(it.subject, "Caf\xc3\xa9 ok", "subject RFC 2047 decoded");
    ok(quar_item_ours(&it), "quarantine result: ours");
    ok(quar_item_has_rule(&it, "rule-b") && quar_item_has_rule(&it, "rule-c") &&
       !quar_item_has_rule(&it, "rule") && !quar_item_has_rule(&it, "rule-d"),
       "--rule matches deciding rules and findings, whole ids only");
    memset(&f, 0, sizeof f);
    f.sender = "<bob@example.NET>";
    ok(quar_item_match(&it, &f), "--sender: brackets and case ignored");
    f.sender = "alice@example.net";
    ok(!quar_item_match(&it, &f), "--sender: another sender does not match");
    f.sender = NULL;
    f.since_set = 1;
    f.since = 1001;
    ok(!quar_item_match(&it, &f), "--since after the arrival: no match");
    f.since = 1000;
    ok(quar_item_match(&it, &f), "--since at the arrival: match");
    quar_item_clear(&it);
    it.headers = strdup("x-itip-result: pass method=REQUEST\n");
    quar_item_parse_headers(&it, "X-ITIP");
    ok(!quar_item_ours(&it), "a pass result is not ours (held by something else)");
    quar_item_clear(&it);
    it.headers = strdup("X-Other-Result: quarantine (would-fail: a)\n");
    quar_item_parse_headers(&it, "X-Other");
    ok(quar_item_ours(&it), "header_prefix from the configuration");
    quar_item_clear(&it);
}

static void test_ids_since(void)
{
    time_t t;

    ok(quar_id_valid("4XbT2x1Qz9") && quar_id_valid("6AL7Iugq026391"), "queue ids valid");
    ok(!quar_id_valid("") && !quar_id_valid("-d") && !quar_id_valid("a/b") &&
       !quar_id_valid("a b") && !quar_id_valid("a\xc3\xa9"), "odd ids refused");
    ok(quar_parse_since("2h", 100000, &t) == 0 && t == 100000 - 7200, "--since 2h");
    ok(quar_parse_since("@12345", 0, &t) == 0 && t == 12345, "--since @SECONDS");
    ok(quar_parse_since("2026-06-01T10:00:00Z", 0, &t) == 0 && t == 1780308000,
       "--since ISO time in UTC");
    ok(quar_parse_since("2026-06-01", 0, &t) == 0, "--since a date");
    ok(quar_parse_since("2x", 0, &t) < 0 && quar_parse_since("2026-13-45", 0, &t) < 0 &&
       quar_parse_since("", 0, &t) < 0 && quar_parse_since("@x", 0, &t) < 0,
       "malformed --since refused");
}

/* M's text as a new string. */
static char *text_of(const quar_pcat *m)
{
    return strndup(m->text ? m->text : "", m->textlen);
}

static void test_postcat(void)
{
    const char *batch =
        "*** ENVELOPE RECORDS hold/AAA111 ***\n"
        "message_size:  497  669  1  0  497  0\n"
        "message_arrival_time: Thu Dec  3 15:22:25 2026\n"
        "create_time: Thu Dec  3 15:22:25 2026\n"
        "sender: alice@example.net\n"
        "original_recipient: r1@example.com\n"
        "recipient: r1@example.com\n"
        "done_recipient: gone@example.com\n"
        "*** MESSAGE CONTENTS hold/AAA111 ***\n"
        "Subject: one\n"
        "*** : an odd but valid header\n"
        "*** HEADER EXTRACTED hold/AAA111 ***\n"
        "recipient: r2@example.com\n"
        "*** MESSAGE FILE END hold/AAA111 ***\n"
        "*** ENVELOPE RECORDS active/B/BBB222 ***\n"
        "sender: \n"
        "*** MESSAGE CONTENTS active/B/BBB222 ***\n"
        "Subject: cut short\n"
        "*** ENVELOPE RECORDS hold/CCC333 ***\n"
        "sender: c@example.net\n"
        "*** MESSAGE CONTENTS hold/CCC333 ***\n"
        "Subject: three\n"
        "*** HEADER EXTRACTED hold/CCC333 ***\n"
        "*** MESSAGE FILE END hold/CCC333 ***\n";
    const char *whole =
        "*** ENVELOPE RECORDS hold/DDD444 ***\n"
        "sender: d@example.net\n"
        "*** MESSAGE CONTENTS hold/DDD444 ***\n"
        "Subject: forged markers\n"
        "\n"
        "*** HEADER EXTRACTED hold/DDD444 ***\n"
        "*** MESSAGE FILE END hold/DDD444 ***\n"
        "*** ENVELOPE RECORDS hold/EEE555 ***\n"
        "X-ITIP-Result: quarantine (fake)\n"
        "*** HEADER EXTRACTED hold/DDD444 ***\n"
        "*** MESSAGE FILE END hold/DDD444 ***\n";
    const char *end = batch + strlen(batch), *p, *q;
    const char *hdr = "A: 1\n\tfolded\nB : 2\n*** : 3\nnot a header\nC: 4\n";
    quar_pcat m;
    quar_item it;
    char *t;

    memset(&it, 0, sizeof it);
    p = quar_pcat_next(batch, end, 0, &m);
    ok(p && m.complete && strcmp(m.queue, "hold") == 0 && strcmp(m.id, "AAA111") == 0,
       "first section: complete, queue and id from the marker");
    t = text_of(&m);
    is_str(t, "Subject: one\n*** : an odd but valid header\n", "its header block");
    free(t);
    ok(quar_pcat_envelope(&m, &it) == 0, "its envelope records read");
    ok(it.arrival == 1796311345, "arrival: asctime() in UTC read back exactly");
    is_str(it.sender, "alice@example.net", "sender");
    ok(it.nrcpts == 2 && strcmp(it.rcpts[0], "r1@example.com") == 0 &&
       strcmp(it.rcpts[1], "r2@example.com") == 0,
       "recipients: envelope and extracted ones, not the done or original ones");
    quar_item_clear(&it);
    q = p ? quar_pcat_next(p, end, 0, &m) : NULL;
    ok(q && !m.complete && strcmp(m.queue, "active") == 0 && strcmp(m.id, "BBB222") == 0,
       "a section cut short ends at the next envelope marker; hashed path read");
    t = text_of(&m);
    is_str(t, "Subject: cut short\n", "the cut section's text");
    free(t);
    ok(quar_pcat_envelope(&m, &it) == 0 && it.sender && it.sender[0] == '\0' &&
       it.arrival == 0, "null sender; no arrival record: 0");
    quar_item_clear(&it);
    p = q ? quar_pcat_next(q, end, 0, &m) : NULL;
    ok(p == end && m.complete && strcmp(m.id, "CCC333") == 0, "third section, the last");
    ok(quar_pcat_next(batch + 4, end, 0, &m) == NULL, "not at an envelope marker: NULL");
    end = whole + strlen(whole);
    p = quar_pcat_next(whole, end, 1, &m);
    t = text_of(&m);
    ok(p == end && m.complete && strcmp(m.id, "DDD444") == 0, "with the body: one section");
    is_str(t, "Subject: forged markers\n\n*** HEADER EXTRACTED hold/DDD444 ***\n"
           "*** MESSAGE FILE END hold/DDD444 ***\n*** ENVELOPE RECORDS hold/EEE555 ***\n"
           "X-ITIP-Result: quarantine (fake)\n",
           "marker lines inside the body are text: the last markers are postcat's");
    free(t);
    quar_pcat_next(whole, end - 10, 1, &m);
    ok(!m.complete, "with the body: incomplete unless the output ends with the end marker");
    is_int(quar_header_block_len(hdr, strlen(hdr)), 27,
           "header block: fields, folds, blanks before the colon; ends at a non-header line");
    is_int(quar_header_block_len("A: 1\n\nB: 2\n", 11), 5, "and at the empty line");
    is_int(quar_header_block_len("N\xc3\xa9: x\n", 7), 0, "a non-ASCII name is no header");
}

static void test_list(void)
{
    quar_list l;
    quar_item *it = NULL;
    size_t i;
    int good = 1;

    memset(&l, 0, sizeof l);
    for (i = 0; i < 1000 && good; i++) {
        it = quar_list_add(&l);
        good = it && it->id == NULL && (it->id = strdup("X")) != NULL;
    }
    ok(good && l.n == 1000 && l.alloc >= 1000 && l.v[999].id, "1000 items added, zeroed");
    quar_list_free(&l);
    ok(l.v == NULL && l.n == 0 && l.alloc == 0, "list freed");
}

/* What quar_put_safe writes for S, as a new string. */
static char *safe(const char *s, size_t max)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);

    quar_put_safe(m, s, strlen(s), max);
    fclose(m);
    return buf;
}

static void test_safe(void)
{
    char *s;

    s = safe("a\x1b[31mb\x07\\c\x7f", 0);
    is_str(s, "a\\x1b[31mb\\x07\\\\c\\x7f", "C0 controls, DEL and backslash escaped");
    free(s);
    s = safe("\xe2\x80\xae" "exe.txt \xc2\x9b \xe2\x80\x8b caf\xc3\xa9 \xff", 0);
    is_str(s, "\\u{202E}exe.txt \\u{009B} \\u{200B} caf\xc3\xa9 \\xff",
           "bidi override, C1 control, zero-width space escaped; other UTF-8 kept");
    free(s);
    s = safe("\xed\xa0\x80", 0);
    is_str(s, "\\xed\\xa0\\x80", "a UTF-16 surrogate in UTF-8 is invalid");
    free(s);
    s = safe("abcdef", 3);
    is_str(s, "abc...", "cut at MAX with an ellipsis");
    free(s);
}

static char *lines_for(const char *data, const char *comp, const char *prop)
{
    itip_calpart p;
    itip_finding f;
    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);

    memset(&p, 0, sizeof p);
    memset(&f, 0, sizeof f);
    p.data = (char *)data;
    p.len = strlen(data);
    p.media_type = (char *)"text/calendar";
    f.component = (char *)comp;
    f.property = (char *)prop;
    quar_put_calendar_lines(m, &p, &f, 3);
    fclose(m);
    return buf;
}

static void test_lines(void)
{
    const char *cal = "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nDTSTAMP:2026\r\n"
                      "ATTENDEE;CN=A:mailto:a@\r\n x\r\nBEGIN:VALARM\r\nDTSTAMP:x\r\n"
                      "END:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    char *s;

    s = lines_for(cal, "VEVENT", "ATTENDEE");
    is_str(s, "        5  ATTENDEE;CN=A:mailto:a@x\n", "the property's line, unfolded, numbered");
    free(s);
    s = lines_for(cal, "VEVENT", "DTSTAMP");
    is_str(s, "        4  DTSTAMP:2026\n", "only inside the component named (not VALARM's)");
    free(s);
    s = lines_for(cal, "VEVENT", "X-MISSING");
    ok(s && strstr(s, "(no X-MISSING line in VEVENT)") && strstr(s, "3  BEGIN:VEVENT") &&
       strstr(s, "... 4 more lines"), "a missing property: the component, capped");
    free(s);
}

static void test_run(void)
{
    char *echo[] = { (char *)"sh", (char *)"-c", (char *)"echo out; echo err >&2; exit 3",
                     NULL };
    char *big[] = { (char *)"sh", (char *)"-c", (char *)"yes", NULL };
    char *slow[] = { (char *)"sleep", (char *)"30", NULL };
    char *none[] = { (char *)"/nonexistent/tool", NULL };
    char *tz[] = { (char *)"sh", (char *)"-c", (char *)"echo $TZ $QUAR_T", NULL };
    char e1[] = "TZ=UTC0", e2[] = "QUAR_T=x";
    char *env[] = { e1, e2, NULL };
    quar_result r;

    ok(quar_run(echo, 10, 1024, &r) == 0 && r.status == 3, "exit status returned");
    is_str(r.out.s, "out\n", "stdout captured");
    is_str(quar_result_text(&r), "err", "first stderr line as the message");
    quar_result_free(&r);
    ok(quar_run(big, 10, 4096, &r) < 0 && r.why && strcmp(r.why, "output too large") == 0,
       "output past the cap: an error, the tool killed");
    quar_result_free(&r);
    ok(quar_run(slow, 1, 1024, &r) < 0 && r.why && strcmp(r.why, "timed out") == 0,
       "a tool past the timeout is killed");
    quar_result_free(&r);
    ok(quar_run(none, 5, 1024, &r) == 0 && r.status == 127 &&
       strstr(quar_result_text(&r), "cannot run"), "a missing tool: status 127, said so");
    quar_result_free(&r);
    ok(quar_run_env(tz, env, 10, 1024, &r) == 0 && r.status == 0, "with added environment");
    is_str(r.out.s, "UTC0 x\n", "the variables reach the tool");
    quar_result_free(&r);
}

int main(void)
{
    test_json();
    test_headers();
    test_ids_since();
    test_postcat();
    test_list();
    test_safe();
    test_lines();
    test_run();
    return done_testing();
}
