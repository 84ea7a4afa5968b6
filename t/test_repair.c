/*
 * test_repair.c - the repair action of the engine (repair.h) on the messages of t/repair/:
 * each repair for base64, quoted-printable (real and encoded line breaks) and 7bit/8bit parts,
 * CRLF, LF, CR CR LF and lone-CR line ends, nested multiparts; the result differs from the
 * original only inside the calendar part; the engine run again no longer reports the
 * repaired findings (and nothing new), and libical reads the repaired calendar with its
 * critical-change stamp equal to DTSTAMP; base64 keeps the sender's line length (4 when all
 * lines are 4, 76 where they vary); repairs that cannot be made say so and leave the bytes
 * alone (a lone CR that libical does not take for a line end, signed content: multipart/
 * signed, a DKIM-Signature unless repair_signed); a repair that does not read back is
 * refused (a Content-Type quote that never closes, a copied stamp in the future, the line
 * model before issue 12 through its test switch); the milter's view (the body only, from an offset) gives the same bytes;
 * a calendar part that is the whole message gets method= in its Content-Type header,
 * described for the milter (which gets the header block apart from the body) and the body
 * left alone; the configuration helpers; real REPLYs of the shared corpus (skipped where
 * absent).
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libical/ical.h>
#include "base/config.h"
#include "engine/engine.h"
#include "repair/repair.h"
#include "tap.h"

#define NOW 1780308300          /* 2026-06-01T10:05:00Z, five minutes after the DTSTAMPs */
#define CC "X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE"
#define STAMP CC ":20260601T100000Z"
#define NOT_READ_BACK "the repaired calendar did not parse back: "

/* The repair layer's test switch (milter/repair/repair_impl.h): the line model before
 * issue 12, which took every lone CR for a line end. */

/* The configuration of the cases: repair asked for. */
#define REPAIR_CONF "legacy_cdo_domains = [ \"legacy.example\" ];\n"                         \
                    "rules = {\n"                                                           \
                    "  reply-attendee-critical-change-missing = { action = \"repair\"; };\n" \
                    "  reply-attendee-critical-change-invalid = { action = \"repair\"; };\n" \
                    "  datetime-filetime-zero = { action = \"repair\"; };\n"                 \
                    "  mime-method-param-missing = { action = \"repair\"; };\n"              \
                    "};\n"

static const char *srcdir;

static itip_config *conf(const char *text)
{
    char path[64], err[1024];
    FILE *fp;
    itip_config *cfg;

    snprintf(path, sizeof path, "/tmp/itip-test-repair.%ld.conf", (long)getpid());
    fp = fopen(path, "w");
    if (fp == NULL) {
        ok(0, "cannot write %s", path);
        exit(done_testing());
    }
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

static char *slurp(const char *name, size_t *len)
{
    char path[1024];
    FILE *fp;
    char *buf;
    long n;

    snprintf(path, sizeof path, "%s/t/repair/%s", srcdir, name);
    fp = fopen(path, "rb");
    if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0) {
        ok(0, "read %s", path);
        exit(done_testing());
    }
    rewind(fp);
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        ok(0, "read %s", path);
        exit(done_testing());
    }
    fclose(fp);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static itip_engine *check(const itip_config *cfg, const char *msg, size_t len)
{
    itip_engine *e = itip_engine_new(cfg);

    if (e == NULL)
        exit(99);
    itip_engine_set_now(e, NOW);
    if (itip_engine_feed(e, msg, len) < 0 || itip_engine_finish(e) < 0) {
        ok(0, "engine runs: %s", itip_engine_error(e) ? itip_engine_error(e) : "?");
        exit(done_testing());
    }
    return e;
}

static int has_rule(const itip_engine *e, const char *id)
{
    const itip_findings *f = itip_engine_findings(e);
    size_t i;

    for (i = 0; i < f->n; i++)
        if (strcmp(itip_rules[f->v[i].rule].id, id) == 0)
            return 1;
    return 0;
}

static const itip_repair_item *item(const itip_repair *r, const char *id)
{
    size_t i;

    for (i = 0; i < r->nitems; i++)
        if (strcmp(itip_rules[r->items[i].rule].id, id) == 0)
            return &r->items[i];
    return NULL;
}

/* The decoded calendar text of part 0 of a message. */
static char *calendar_text(const itip_config *cfg, const char *msg, size_t len)
{
    itip_engine *e = check(cfg, msg, len);
    const itip_calpart *p = itip_engine_calpart(e, 0);
    char *s = p && p->data ? strdup(p->data) : NULL;

    itip_engine_free(e);
    return s;
}

/* True when libical reads TEXT with every VEVENT carrying the critical-change stamp, equal
 * to its DTSTAMP. */
static int stamp_equals_dtstamp(const char *text)
{
    icalcomponent *root = text ? icalparser_parse_string(text) : NULL, *ev;
    int n = 0, good = 0;

    ev = root ? icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT) : NULL;
    for (; ev; ev = icalcomponent_get_next_component(root, ICAL_VEVENT_COMPONENT)) {
        icalproperty *dt = icalcomponent_get_first_property(ev, ICAL_DTSTAMP_PROPERTY), *x;
        const char *want = dt ? icalproperty_get_value_as_string(dt) : NULL;
        int found = 0;
        n++;
        for (x = icalcomponent_get_first_property(ev, ICAL_X_PROPERTY); x;
             x = icalcomponent_get_next_property(ev, ICAL_X_PROPERTY))
            if (strcmp(icalproperty_get_x_name(x), CC) == 0)
                found += want && strcmp(icalproperty_get_value_as_string(x), want) == 0;
        good += found == 1;
    }
    if (root)
        icalcomponent_free(root);
    return n > 0 && good == n;
}

/* Every line of BODY (between the offsets) ends like EOL ("\r\n" or "\n") and, when MAXLEN,
 * is at most MAXLEN long.  Returns the length of the longest line. */
static size_t lines_ok(const char *s, size_t from, size_t to, const char *eol, size_t maxlen,
                       int *bad)
{
    size_t p = from, longest = 0;

    while (p < to) {
        size_t e = p;
        while (e < to && s[e] != '\r' && s[e] != '\n')
            e++;
        if (e - p > longest)
            longest = e - p;
        if (maxlen && e - p > maxlen)
            *bad = 1;
        if (e < to && strncmp(s + e, eol, strlen(eol)) != 0)
            *bad = 1;
        if (e < to && strcmp(eol, "\n") == 0 && s[e] == '\r')
            *bad = 1;
        p = e < to ? e + strlen(eol) : to;
    }
    return longest;
}

typedef struct {
    const char *file;
    const char *rules[3];       /* rules asked for and expected to be repaired */
    const char *failed;         /* a rule whose repair is expected to fail, or NULL */
    const char *eol;            /* "\r\n", "\n", "\r\r\n" or "\r" */
    size_t maxline;             /* longest line of the new calendar body, 0: any */
    const char *expect;         /* a line the new calendar text must hold */
} rcase;

/* The output differs from the input only between the part's header (or body) start and its
 * body end. */
static void same_outside(const char *name, const char *a, size_t alen, const char *b,
                         size_t blen, unsigned long long from, unsigned long long to)
{
    size_t pre = 0, suf = 0;

    while (pre < alen && pre < blen && a[pre] == b[pre])
        pre++;
    while (suf < alen - pre && suf < blen - pre && a[alen - 1 - suf] == b[blen - 1 - suf])
        suf++;
    ok(pre >= from, "%s: bytes before the calendar part unchanged (%zu >= %llu)", name, pre,
       from);
    ok(suf >= alen - to, "%s: bytes after the calendar part unchanged", name);
}

/* S with CR and LF written as \r and \n, for a test's description. */
static const char *shown(const char *s, char *buf, size_t n)
{
    size_t k = 0;

    for (; *s && k + 3 < n; s++)
        if (*s == '\r' || *s == '\n') {
            buf[k++] = '\\';
            buf[k++] = *s == '\r' ? 'r' : 'n';
        } else
            buf[k++] = *s;
    buf[k] = '\0';
    return buf;
}

static const char *eol_name(const char *eol)
{
    return strcmp(eol, "\r\n") == 0 ? "CRLF" : strcmp(eol, "\n") == 0 ? "LF"
         : strcmp(eol, "\r") == 0 ? "CR" : "CR CR LF";
}

static void run_case(const itip_config *cfg, const rcase *c)
{
    size_t len, i, n;
    char *msg = slurp(c->file, &len), *before, *after, *sum;
    itip_engine *e = check(cfg, msg, len), *e2;
    const itip_findings *f = itip_engine_findings(e);
    unsigned char *want = calloc(f->n + 1, 1);
    const itip_calpart *p = itip_engine_calpart(e, 0);
    itip_repair r;
    unsigned long long from;
    char buf[200];
    int bad = 0;

    n = itip_repair_wanted(cfg, f, want);
    ok(n > 0 && p != NULL, "%s: %zu finding(s) ask for repair", c->file, n);
    ok(itip_repair_make(&r, cfg, NOW, e, want, msg, len, 0, NULL, 0) == 0, "%s: repair runs",
       c->file);
    for (i = 0; i < 3 && c->rules[i]; i++) {
        const itip_repair_item *it = item(&r, c->rules[i]);
        ok(it && it->done, "%s: %s repaired (%s)", c->file, c->rules[i], it ? it->text : "-");
    }
    if (c->failed) {
        const itip_repair_item *it = item(&r, c->failed);
        ok(it && !it->done && it->text, "%s: %s not repaired: %s", c->file, c->failed,
           it && it->text ? it->text : "-");
    }
    for (i = 0; i < f->n; i++)
        if (want[i] && (!c->failed || strcmp(itip_rules[f->v[i].rule].id, c->failed) != 0) &&
            !r.repaired[i])
            bad = 1;
    ok(!bad, "%s: every finding of a made repair is marked repaired", c->file);
    sum = itip_repair_summary(&r);
    ok(sum && strstr(sum, c->rules[0]), "%s: summary '%s'", c->file, sum ? sum : "(null)");
    free(sum);
    if (!ok(r.out != NULL, "%s: new bytes", c->file))
        goto out;
    from = item(&r, "mime-method-param-missing") && item(&r, "mime-method-param-missing")->done
               ? p->hdr_start : p->body_start;
    same_outside(c->file, msg, len, r.out, r.outlen, from, p->body_end);

    e2 = check(cfg, r.out, r.outlen);
    for (i = 0; i < 3 && c->rules[i]; i++)
        ok(!has_rule(e2, c->rules[i]), "%s: checked again, no %s", c->file, c->rules[i]);
    ok(itip_engine_findings(e2)->n == (c->failed ? 1u : 0u) &&
       (!c->failed || has_rule(e2, c->failed)),
       "%s: checked again, %zu finding(s) left", c->file, itip_engine_findings(e2)->n);
    p = itip_engine_calpart(e2, 0);
    bad = 0;
    i = lines_ok(r.out, p->body_start, p->body_end, c->eol, c->maxline, &bad);
    ok(!bad && (c->maxline == 0 || i == c->maxline),
       "%s: new calendar body keeps %s line ends%s (longest line %zu)", c->file,
       eol_name(c->eol), c->maxline ? " and the line length" : "", i);
    itip_engine_free(e2);

    before = calendar_text(cfg, msg, len);
    after = calendar_text(cfg, r.out, r.outlen);
    ok(before && after && strstr(after, c->expect) != NULL, "%s: the calendar holds '%s'",
       c->file, shown(c->expect, buf, sizeof buf));
    ok(before && after && strlen(after) - strlen(before) < 80,
       "%s: the calendar text grew by one line at most", c->file);
    if (strncmp(c->rules[0], "reply-attendee-critical-change", 30) == 0)
        ok(stamp_equals_dtstamp(after), "%s: libical reads the repaired calendar, its "
           CC " equal to DTSTAMP", c->file);
    free(before);
    free(after);
out:
    itip_repair_free(&r);
    free(want);
    itip_engine_free(e);
    free(msg);
}

/* The milter's view: only the body, from the offset where it starts in the stream, with the
 * header block apart (needed to rule out a DKIM-Signature). */
static void test_body_only(const itip_config *cfg)
{
    size_t len, hlen;
    char *msg = slurp("b64-nested-crlf.eml", &len);
    itip_engine *e = check(cfg, msg, len);
    const itip_findings *f = itip_engine_findings(e);
    unsigned char *want = calloc(f->n + 1, 1);
    itip_repair whole, body, cut, nohead;
    int rc;

    hlen = (size_t)(strstr(msg, "\r\n\r\n") - msg) + 4;
    itip_repair_wanted(cfg, f, want);
    ok(itip_repair_make(&whole, cfg, NOW, e, want, msg, len, 0, NULL, 0) == 0 &&
       itip_repair_make(&body, cfg, NOW, e, want, msg + hlen, len - hlen, hlen, msg, hlen) == 0,
       "body only: repair runs");
    ok(whole.out && body.out && body.outlen + hlen == whole.outlen &&
       memcmp(body.out, whole.out + hlen, body.outlen) == 0,
       "body only: the same new body as from the whole message");
    /* bytes cut short: nothing is made, the reason is given */
    rc = itip_repair_make(&cut, cfg, NOW, e, want, msg + hlen, 200, hlen, msg, hlen);
    ok(rc == 0 && cut.out == NULL && cut.nitems == 1 && !cut.items[0].done &&
       strstr(cut.items[0].text, "bytes were not kept"), "body cut short: not repaired (%s)",
       cut.nitems ? cut.items[0].text : "-");
    ok(cut.repaired && !cut.repaired[0], "body cut short: the finding is not marked repaired");
    /* no header block: a DKIM-Signature cannot be ruled out */
    rc = itip_repair_make(&nohead, cfg, NOW, e, want, msg + hlen, len - hlen, hlen, NULL, 0);
    ok(rc == 0 && nohead.out == NULL && nohead.nitems == 1 && !nohead.items[0].done &&
       strstr(nohead.items[0].text, "DKIM-Signature cannot be ruled out"),
       "body without the header block: not repaired (%s)",
       nohead.nitems ? nohead.items[0].text : "-");
    itip_repair_free(&whole);
    itip_repair_free(&body);
    itip_repair_free(&cut);
    itip_repair_free(&nohead);
    free(want);
    itip_engine_free(e);
    free(msg);
}

/* A calendar part that is the whole message (base64, Content-Type folded, no method=): the
 * message header is changed in the whole-message view and described in both views; the
 * body is never touched. */
#define OLD_CT " text/calendar;\r\n\tcharset=\"utf-8\""
static void test_header_change(const itip_config *cfg)
{
    itip_config *unsigned_ok = conf(REPAIR_CONF "repair_signed = true;\n");
    size_t len, hlen;
    char *msg = slurp("top-level-request.eml", &len), *sum;
    itip_engine *e = check(cfg, msg, len), *e2;
    const itip_findings *f = itip_engine_findings(e);
    unsigned char *want = calloc(f->n + 1, 1);
    const itip_repair_item *it;
    itip_repair whole, body, nohead;

    hlen = (size_t)(strstr(msg, "\r\n\r\n") - msg) + 4;
    ok(itip_repair_wanted(cfg, f, want) == 1 && has_rule(e, "mime-method-param-missing"),
       "top level: mime-method-param-missing asks for repair");
    ok(itip_repair_make(&whole, cfg, NOW, e, want, msg, len, 0, NULL, 0) == 0 &&
       itip_repair_make(&body, cfg, NOW, e, want, msg + hlen, len - hlen, hlen, msg, hlen) == 0 &&
       itip_repair_make(&nohead, unsigned_ok, NOW, e, want, msg + hlen, len - hlen, hlen, NULL,
                        0) == 0,
       "top level: repair runs (whole message, body with header block, body alone)");
    it = item(&whole, "mime-method-param-missing");
    ok(it && it->done && strcmp(it->text, "Content-Type method=REQUEST added") == 0,
       "top level: repaired (%s)", it ? it->text : "-");
    ok(whole.repaired && whole.repaired[0], "top level: the finding is marked repaired");
    sum = itip_repair_summary(&body);
    is_str(sum, "mime-method-param-missing part=0: Content-Type method=REQUEST added",
           "top level: summary for X-ITIP-Repaired");
    free(sum);
    is_str(body.header.name, "Content-Type", "top level: the header to change");
    is_str(body.header.old_value, OLD_CT, "top level: its old value, fold kept");
    is_str(body.header.new_value, OLD_CT "; method=REQUEST",
           "top level: its new value, the parameter after the last line");
    ok(whole.header.name && strcmp(whole.header.new_value, body.header.new_value) == 0,
       "top level: described the same in the whole-message view");
    ok(body.out == NULL && body.repaired && body.repaired[0],
       "top level, milter view: made, and the body is not replaced");
    ok(whole.out && whole.outlen == len + 16 &&
       memcmp(whole.out + hlen + 16, msg + hlen, len - hlen) == 0 &&
       memcmp(whole.out, msg, hlen - 4) != 0,
       "top level, whole message: only the header block changed, the body byte-identical");
    e2 = whole.out ? check(cfg, whole.out, whole.outlen) : NULL;
    ok(e2 && itip_engine_findings(e2)->n == 0, "top level: checked again, no finding left");
    itip_engine_free(e2);
    it = item(&nohead, "mime-method-param-missing");
    ok(it && !it->done && strstr(it->text, "header was not kept") &&
       nohead.header.name == NULL && nohead.out == NULL,
       "top level, header block not given (repair_signed): not repaired (%s)",
       it ? it->text : "-");
    itip_repair_free(&whole);
    itip_repair_free(&body);
    itip_repair_free(&nohead);
    free(want);
    itip_engine_free(e);
    free(msg);
    itip_config_free(unsigned_ok);
}

/* A rule without a repair, and a severity-wide "repair". */
static void test_unsupported(void)
{
    itip_config *cfg = conf("legacy_cdo_domains = [ \"legacy.example\" ];\n"
                            "actions = { degrade = \"repair\"; };\n");
    size_t len;
    char *msg = slurp("floating-dtstamp.eml", &len);
    itip_engine *e = check(cfg, msg, len);
    const itip_findings *f = itip_engine_findings(e);
    unsigned char *want = calloc(f->n + 1, 1);
    const itip_repair_item *it;
    itip_repair r;

    ok(itip_repair_wanted(cfg, f, want) == 1, "actions.degrade = repair: one finding wants it");
    ok(itip_repair_make(&r, cfg, NOW, e, want, msg, len, 0, NULL, 0) == 0,
       "unsupported: repair runs");
    it = item(&r, "reply-dtstamp-invalid");
    ok(it && !it->done && strstr(it->text, "no repair exists"), "reply-dtstamp-invalid: %s",
       it ? it->text : "-");
    ok(r.out == NULL && itip_repair_summary(&r) == NULL, "nothing made, no summary");
    is_int(itip_config_fallback(cfg, ITIP_SEV_DEGRADE), ITIP_ACT_TAG,
           "fallback of a severity whose action is repair: tag");
    is_int(itip_config_fallback(cfg, ITIP_SEV_WOULD_FAIL), ITIP_ACT_QUARANTINE,
           "fallback of would-fail: actions.would-fail (quarantine)");
    ok(itip_repair_configured(cfg), "repair configured by severity");
    itip_repair_free(&r);
    free(want);
    itip_engine_free(e);
    free(msg);
    itip_config_free(cfg);
}

static void test_configured(void)
{
    itip_config *none = conf("clock_skew_tolerance = 300;\n");
    itip_config *dry = conf("dry_run = true;\nactions = { would-fail = \"repair\"; };\n");

    ok(!itip_repair_configured(none), "no repair in the default configuration");
    ok(!itip_repair_configured(dry), "dry_run: no repair");
    is_int(itip_repair_body_limit(none), 16u * 1048576u,
           "body limit: max_calendar_parts x max_calendar_part_size");
    itip_config_free(none);
    itip_config_free(dry);
}

/* Real REPLYs without the stamp from the shared corpus (quoted-printable with real and with
 * encoded line breaks, 7bit, 8bit next to a base64 application/ics part): every requested
 * repair is made and the engine no longer reports the finding. */
static void test_corpus(void)
{
    static const char *const files[] = {
        "bluemind/ios.reply.accept.eml", "bluemind/outlook.reply.accept.eml",
        "ccs-calendarserver/good_reply", "bluemind/bluemind.reply.eml",
        "bluemind/google.reply.accept.eml",
    };
    /* repair_signed: bluemind/google.reply.accept.eml carries a DKIM-Signature */
    itip_config *cfg = conf("legacy_cdo_domains = [ \"*\" ];\nrepair_signed = true;\n"
                            "rules = { reply-attendee-critical-change-missing = "
                            "{ action = \"repair\"; }; };\n");
    char path[1024];
    size_t i, k;

    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        FILE *fp;
        char *msg;
        size_t len;
        itip_engine *e, *e2;
        unsigned char *want;
        itip_repair r;
        int made = 1;

        snprintf(path, sizeof path, "%s/../shared/corpus/%s", srcdir, files[i]);
        if ((fp = fopen(path, "rb")) == NULL) {
            printf("ok %d # SKIP corpus file %s absent\n", ++tap_n, path);
            continue;
        }
        msg = malloc(1 << 20);
        len = msg ? fread(msg, 1, 1 << 20, fp) : 0;
        fclose(fp);
        e = check(cfg, msg, len);
        want = calloc(itip_engine_findings(e)->n + 1, 1);
        itip_repair_wanted(cfg, itip_engine_findings(e), want);
        ok(itip_repair_make(&r, cfg, NOW, e, want, msg, len, 0, NULL, 0) == 0 && r.nitems > 0 &&
           r.out != NULL, "corpus %s: repair runs, new bytes", files[i]);
        for (k = 0; k < r.nitems; k++)
            made &= r.items[k].done;
        ok(made, "corpus %s: every repair made", files[i]);
        e2 = r.out ? check(cfg, r.out, r.outlen) : NULL;
        ok(e2 && !has_rule(e2, "reply-attendee-critical-change-missing"),
           "corpus %s: checked again, the finding is gone", files[i]);
        itip_engine_free(e2);
        itip_repair_free(&r);
        free(want);
        itip_engine_free(e);
        free(msg);
    }
    itip_config_free(cfg);
}

/* FILE's repair of RULE under CFG is not made, for a reason holding WHY, and the message
 * is left alone. */
static void refused(const itip_config *cfg, const char *file, const char *rule, const char *why)
{
    size_t len, i;
    char *msg = slurp(file, &len);
    itip_engine *e = check(cfg, msg, len);
    const itip_findings *f = itip_engine_findings(e);
    unsigned char *want = calloc(f->n + 1, 1);
    const itip_repair_item *it;
    itip_repair r;
    int marked = 0;

    itip_repair_wanted(cfg, f, want);
    ok(itip_repair_make(&r, cfg, NOW, e, want, msg, len, 0, NULL, 0) == 0, "%s: repair runs", file);
    it = item(&r, rule);
    ok(it && !it->done && it->text && strstr(it->text, why), "%s: %s not repaired (%s)", file,
       rule, it && it->text ? it->text : "-");
    for (i = 0; i < r.nfindings; i++)
        marked |= r.repaired[i];
    ok(r.out == NULL && r.header.name == NULL && !marked,
       "%s: the message is left alone, no finding marked repaired", file);
    itip_repair_free(&r);
    free(want);
    itip_engine_free(e);
    free(msg);
}

/* The parse-back check on its own, on real inputs whose edit does not read back: a
 * Content-Type whose quote never closes swallows the method= parameter; a stamp copied from a
 * DTSTAMP in the future adds a finding. */
static void test_read_back(const itip_config *cfg)
{
    refused(cfg, "param-open-quote.eml", "mime-method-param-missing",
            NOT_READ_BACK "mime-method-param-missing is still reported");
    refused(cfg, "param-open-quote.eml", "reply-attendee-critical-change-missing",
            NOT_READ_BACK);
    /* a DTSTAMP ahead of the clock: its copy would be a second stamp in the future */
    refused(cfg, "future-dtstamp.eml", "reply-attendee-critical-change-missing",
            NOT_READ_BACK "reply-dtstamp-future-skew: 1 finding before, 2 after");
}

static int calpart_in_signed(const itip_config *cfg, const char *file)
{
    size_t len;
    char *msg = slurp(file, &len);
    itip_engine *e = check(cfg, msg, len);
    const itip_calpart *p = itip_engine_calpart(e, 0);
    int r = p ? p->in_signed : -1;

    itip_engine_free(e);
    free(msg);
    return r;
}

/* Signed content: multipart/signed never, a DKIM-Signature only with repair_signed. */
static void test_signed(const itip_config *cfg)
{
    static const char smime[] = "signed-smime.eml", pgp[] = "signed-pgp.eml";
    static const char dkim[] = "dkim-signed.eml";
    itip_config *unsigned_ok = conf(REPAIR_CONF "repair_signed = true;\n");
    const char *cc = "reply-attendee-critical-change-missing";
    const rcase dkim_case = { dkim, { "reply-attendee-critical-change-missing" }, NULL, "\r\n",
                              0, STAMP };

    ok(calpart_in_signed(cfg, smime) == 1 && calpart_in_signed(cfg, pgp) == 1 &&
       calpart_in_signed(cfg, dkim) == 0 && calpart_in_signed(cfg, "7bit-crlf.eml") == 0,
       "the walker marks calendar parts inside multipart/signed, and only those");
    refused(cfg, smime, cc, "inside multipart/signed: a repair would break the signature");
    refused(cfg, pgp, cc, "inside multipart/signed: a repair would break the signature");
    refused(unsigned_ok, smime, cc, "inside multipart/signed");
    refused(cfg, dkim, cc, "the message carries a DKIM-Signature and repair_signed is false");
    run_case(unsigned_ok, &dkim_case);
    ok(!cfg->repair_signed && unsigned_ok->repair_signed, "repair_signed: false by default");
    itip_config_free(unsigned_ok);
}

int main(void)
{
    static const rcase cases[] = {
        { "b64-nested-crlf.eml", { "reply-attendee-critical-change-missing" }, NULL, "\r\n",
          72, STAMP },
        { "qp-lf.eml", { "reply-attendee-critical-change-missing", "mime-method-param-missing" },
          NULL, "\n", 76, STAMP },
        { "qp-encoded-eol.eml",
          { "reply-attendee-critical-change-missing", "mime-method-param-missing" }, NULL, "\n",
          76, STAMP },
        { "7bit-crlf.eml", { "reply-attendee-critical-change-missing",
                             "mime-method-param-missing" }, NULL, "\r\n", 0, STAMP },
        { "8bit-invalid-lf.eml", { "reply-attendee-critical-change-invalid" }, NULL, "\n", 0,
          STAMP "\nORGANIZER" },
        { "b64-oneline-sentinel.eml", { "reply-attendee-critical-change-invalid" }, NULL, "\n",
          0, STAMP },
        { "top-level.eml", { "reply-attendee-critical-change-missing",
                             "mime-method-param-missing" }, NULL, "\r\n", 0, STAMP },
        /* line ends as libical reads them: CR CR LF is one, a lone CR after the last LF is
         * one (the walker makes every 7bit line break an LF) */
        { "b64-crcrlf.eml", { "reply-attendee-critical-change-missing" }, NULL, "\r\n", 76,
          "DTSTAMP:20260601T100000Z\r\r\n" STAMP "\r\r\n" },
        { "7bit-crcrlf.eml", { "reply-attendee-critical-change-missing" }, NULL, "\r\r\n", 0,
          "DTSTAMP:20260601T100000Z\n\n" STAMP "\n\n" },
        { "b64-lone-cr.eml", { "reply-attendee-critical-change-missing" }, NULL, "\r\n", 76,
          "DTSTAMP:20260601T100000Z\r" STAMP "\rORGANIZER" },
        { "7bit-lone-cr.eml", { "reply-attendee-critical-change-missing" }, NULL, "\r", 0,
          "DTSTAMP:20260601T100000Z\n" STAMP "\nORGANIZER" },
        /* base64 keeps the sender's line length: all 4 -> 4; 4 then 76 -> 76 */
        { "b64-short-lines.eml", { "reply-attendee-critical-change-missing" }, NULL, "\r\n",
          4, STAMP },
        { "b64-width-vary.eml", { "reply-attendee-critical-change-missing" }, NULL, "\r\n",
          76, STAMP },
    };
    itip_config *cfg;
    size_t i;

    srcdir = getenv("top_srcdir") ? getenv("top_srcdir") : ".";
    cfg = conf(REPAIR_CONF);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(cfg, &cases[i]);
    /* nothing to copy without guessing: a floating DTSTAMP; a DTSTAMP that a lone CR joins
     * to the line before it (libical sees none) */
    refused(cfg, "floating-dtstamp.eml", "reply-attendee-critical-change-missing",
            "a VEVENT has no single UTC DTSTAMP to copy");
    refused(cfg, "b64-cr-in-line.eml", "reply-attendee-critical-change-missing",
            "a VEVENT has no single UTC DTSTAMP to copy");
    test_read_back(cfg);
    test_signed(cfg);
    test_body_only(cfg);
    test_header_change(cfg);
    test_unsupported();
    test_configured();
    test_corpus();
    itip_config_free(cfg);
    return done_testing();
}
