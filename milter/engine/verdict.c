/*
 * verdict.c - from findings to the milter's action, headers and texts (see
 * engine/verdict.h).  Exports mverdict_*; used by itip-milter and itip-quarantine.
 *
 * Pure functions over the engine's findings and one configuration snapshot.  Everything
 * that reaches a header, a quarantine reason or an SMTP reply passes mverdict_printable()
 * or mverdict_reply_text(): mail content never brings CR, LF, controls, 8-bit bytes or a
 * lone '%' into what the MTA is told.  Never logs, never calls libmilter.
 */
#include "ac-config.h"
#include <stdlib.h>
#include <string.h>
#include "engine/verdict.h"
#include "base/rules.h"

char *mverdict_printable(const char *text, size_t max)
{
    size_t n, head, i;
    char *out;

    if (text == NULL || *text == '\0')
        return strdup("-");
    if (max < 8)
        max = 8;                  /* room for head "..." tail */
    n = strlen(text);
    head = n > max ? (max - 3) / 2 : n;
    out = malloc((n > max ? max : n) + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, text, head);
    if (n > max) {
        size_t tail = max - 3 - head;
        memcpy(out + head, "...", 3);
        memcpy(out + head + 3, text + n - tail, tail);
        n = max;
    }
    out[n] = '\0';
    for (i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e)
            out[i] = '?';
    return out;
}

char *mverdict_reply_text(const char *text, size_t max)
{
    char *clean = mverdict_printable(text, max / 2);
    strbuf b;
    const char *p;

    if (clean == NULL)
        return NULL;
    itip_strbuf_init(&b, 0);
    for (p = clean; *p; p++)
        if ((*p == '%' ? itip_strbuf_append(&b, "%%", 2) : itip_strbuf_putc(&b, *p)) < 0) {
            itip_strbuf_free(&b);
            free(clean);
            return NULL;
        }
    free(clean);
    return itip_strbuf_detach(&b, NULL);
}

/* Appends one token, breaking it where even a fresh line cannot hold it. */
static int put_token(strbuf *out, const char *tok, size_t len, size_t *col)
{
    while (*col + len > MV_LINE_MAX) {
        size_t room = MV_LINE_MAX - *col;
        if (itip_strbuf_append(out, tok, room) < 0 || itip_strbuf_append(out, "\n\t", 2) < 0)
            return -1;
        tok += room;
        len -= room;
        *col = 1;
    }
    *col += len;
    return itip_strbuf_append(out, tok, len);
}

int mverdict_fold(strbuf *out, size_t name_len, const char *text, int leadspc)
{
    size_t col = name_len + 2;    /* "Name: " - the MTA adds the space unless LEADSPC */
    const char *p = text;
    int first = 1;

    if (leadspc && itip_strbuf_putc(out, ' ') < 0)
        return -1;
    while (*p) {
        size_t len = strcspn(p, " ");
        if (len > 0) {
            int fits = col + 1 + len <= MV_LINE_MAX;
            if (!first) {
                int r = fits ? itip_strbuf_putc(out, ' ') : itip_strbuf_append(out, "\n\t", 2);
                if (r < 0)
                    return -1;
                col = fits ? col + 1 : 1;
            }
            if (put_token(out, p, len, &col) < 0)
                return -1;
            first = 0;
        }
        p += len;
        p += strspn(p, " ");
    }
    return 0;
}

/* The action of finding I: the configured one, except that a repair tried and not made
 * falls back to the severity's action (itip_config_fallback). */
static itip_action finding_action(const itip_config *cfg, const mverdict_input *in, size_t i)
{
    const itip_finding *x = &in->findings->v[i];
    itip_action a = itip_config_action(cfg, x->rule, x->severity);

    if (a == ITIP_ACT_REPAIR && in->repaired != NULL && !in->repaired[i])
        a = itip_config_fallback(cfg, x->severity);
    return a;
}

/* The strongest action among the findings, and the highest severity among those that ask
 * for it. */
static void decide(mverdict *v, const itip_config *cfg, const mverdict_input *in)
{
    const itip_findings *f = in->findings;
    size_t i;

    v->wanted = ITIP_ACT_NONE;
    for (i = 0; i < f->n; i++) {
        itip_action a = finding_action(cfg, in, i);
        if (a > v->wanted)
            v->wanted = a;
    }
    for (i = 0; i < f->n; i++)
        if (finding_action(cfg, in, i) == v->wanted && f->v[i].severity > v->severity)
            v->severity = f->v[i].severity;
}

/* "a, b" of the deciding findings (SEP ", ") or of all findings (SEP ","), each rule once. */
static char *rule_list(const itip_config *cfg, const mverdict_input *in, itip_action only,
                       const char *sep)
{
    const itip_findings *f = in->findings;
    char seen[ITIP_RULE_COUNT];
    strbuf b;
    size_t i;
    int err = 0;

    memset(seen, 0, sizeof seen);
    itip_strbuf_init(&b, 0);
    for (i = 0; i < f->n && !err; i++) {
        const itip_finding *x = &f->v[i];
        if (seen[x->rule] || (only != ITIP_ACT_NONE && finding_action(cfg, in, i) != only))
            continue;
        seen[x->rule] = 1;
        err = (b.len && itip_strbuf_append(&b, sep, strlen(sep)) < 0) ||
              itip_strbuf_append(&b, itip_rules[x->rule].id, strlen(itip_rules[x->rule].id)) < 0;
    }
    if (err) {
        itip_strbuf_free(&b);
        return NULL;
    }
    return itip_strbuf_detach(&b, NULL);
}

static char *folded(const itip_config *cfg, const char *suffix, const char *text, int leadspc)
{
    strbuf b;

    itip_strbuf_init(&b, 0);
    if (mverdict_fold(&b, strlen(cfg->header_prefix) + strlen(suffix), text, leadspc) < 0) {
        itip_strbuf_free(&b);
        return NULL;
    }
    return itip_strbuf_detach(&b, NULL);
}

/* "; " and NOTE made printable (at most MAX bytes) onto T; NOTE NULL adds nothing.  0 or -1. */
static int add_note(strbuf *t, const char *prefix, const char *note, size_t max)
{
    char *p;
    int r;

    if (note == NULL)
        return 0;
    if ((p = mverdict_printable(note, max)) == NULL)
        return -1;
    r = itip_strbuf_printf(t, "; %s%s", prefix, p);
    free(p);
    return r;
}

/* "pass method=M uid=U", or "ACTION (SEVERITY: RULES) method=M uid=U [dry-run=A]"; then
 * "; repair not made: WHY" when a repair asked for cannot be made, and "; NOTE" when the
 * stateful rules were skipped (the notes made printable here). */
static int build_result(mverdict *v, const itip_config *cfg, const mverdict_input *in,
                        int leadspc)
{
    strbuf t;
    int r;

    itip_strbuf_init(&t, 0);
    if (v->wanted == ITIP_ACT_NONE && !v->error)
        r = itip_strbuf_printf(&t, "pass method=%s uid=%s", v->method, v->uid);
    else
        r = itip_strbuf_printf(&t, "%s (%s: %s) method=%s uid=%s", itip_action_name(v->action),
                          v->error ? "error" : itip_severity_name(v->severity), v->rules,
                          v->method, v->uid);
    if (r == 0 && v->action != v->wanted)
        r = itip_strbuf_printf(&t, " dry-run=%s", itip_action_name(v->wanted));
    if (r == 0 && !v->error)
        r = add_note(&t, "repair not made: ", in->repair_note, MV_NOTE_MAX);
    if (r == 0)
        r = add_note(&t, "", in->state_note, MV_NOTE_MAX);
    v->result = r == 0 ? folded(cfg, "-Result", t.s, leadspc) : NULL;
    itip_strbuf_free(&t);
    return v->result ? 0 : -1;
}

static char *finding_text(const itip_config *cfg, const char *rule, const char *sev,
                          const char *detail, int leadspc)
{
    char *d = mverdict_printable(detail, 1000), *out = NULL;
    strbuf t;

    itip_strbuf_init(&t, 0);
    if (d != NULL && itip_strbuf_printf(&t, "%s; severity=%s; %s", rule, sev, d) == 0)
        out = folded(cfg, "-Finding", t.s, leadspc);
    itip_strbuf_free(&t);
    free(d);
    return out;
}

static int build_findings(mverdict *v, const itip_config *cfg, const mverdict_input *in,
                          int leadspc)
{
    size_t cap = (size_t)cfg->max_finding_headers, n, i;

    if (v->error)
        n = cap > 0 ? 1 : 0;
    else
        n = in->findings->n < cap ? in->findings->n : cap;
    if (n == 0)
        return 0;
    v->findings = calloc(n, sizeof *v->findings);
    if (v->findings == NULL)
        return -1;
    for (i = 0; i < n; i++, v->nfindings++) {
        const itip_finding *x = v->error ? NULL : &in->findings->v[i];
        v->findings[i] = x ? finding_text(cfg, itip_rules[x->rule].id,
                                          itip_severity_name(x->severity), x->detail, leadspc)
                           : finding_text(cfg, "internal-error", "error", in->error, leadspc);
        if (v->findings[i] == NULL)
            return -1;
    }
    return 0;
}

/* <prefix>-Repaired: what the repair changed. */
static int build_repaired(mverdict *v, const itip_config *cfg, const char *repairs, int leadspc)
{
    char *text = mverdict_printable(repairs, MV_REPAIRED_MAX);

    v->repaired = text ? folded(cfg, "-Repaired", text, leadspc) : NULL;
    free(text);
    return v->repaired ? 0 : -1;
}

static int build_texts(mverdict *v)
{
    strbuf t;
    int r = 0;

    itip_strbuf_init(&t, 0);
    if (v->action == ITIP_ACT_QUARANTINE) {
        r = v->error ? itip_strbuf_printf(&t, "itip-milter: internal error")
                     : itip_strbuf_printf(&t, "itip-milter: %s: %s method=%s uid=%s",
                                     itip_severity_name(v->severity), v->rules, v->method, v->uid);
        v->reason = r == 0 ? mverdict_printable(t.s, MV_REASON_MAX) : NULL;
        r = v->reason ? 0 : -1;
    } else if (v->action == ITIP_ACT_REJECT || v->action == ITIP_ACT_TEMPFAIL) {
        const char *what = v->action == ITIP_ACT_REJECT ? "refused" : "deferred";
        r = v->error ? itip_strbuf_printf(&t, "itip-milter: internal error, message %s", what)
                     : itip_strbuf_printf(&t, "calendar message %s by itip-milter (%s): %s", what,
                                     itip_severity_name(v->severity), v->rules);
        v->reply = r == 0 ? mverdict_reply_text(t.s, MV_REPLY_MAX) : NULL;
        r = v->reply ? 0 : -1;
    }
    itip_strbuf_free(&t);
    return r;
}

static int build_strings(mverdict *v, const itip_config *cfg, const mverdict_input *in)
{
    v->method = mverdict_printable(in->method, 20);
    v->uid = mverdict_printable(in->uid, MV_UID_MAX);
    v->rules = v->error ? strdup("internal-error") : rule_list(cfg, in, v->wanted, ", ");
    v->all_rules = v->error ? strdup("internal-error") : rule_list(cfg, in, ITIP_ACT_NONE, ",");
    if (v->all_rules != NULL && v->all_rules[0] == '\0') {
        free(v->all_rules);
        v->all_rules = strdup("-");
    }
    return v->method && v->uid && v->rules && v->all_rules ? 0 : -1;
}

/* Fills V's wanted action, severity, error flag and action (dry_run capped). */
static void decide_all(mverdict *v, const itip_config *cfg, const mverdict_input *in)
{
    v->error = in->error != NULL;
    if (v->error)
        v->wanted = cfg->on_internal_error;
    else
        decide(v, cfg, in);
    v->action = cfg->dry_run && v->wanted > ITIP_ACT_TAG ? ITIP_ACT_TAG : v->wanted;
}

static const itip_findings no_findings;

itip_action mverdict_action(const itip_config *cfg, const mverdict_input *input)
{
    mverdict_input in = *input;
    mverdict v;

    if (in.findings == NULL)
        in.findings = &no_findings;
    memset(&v, 0, sizeof v);
    decide_all(&v, cfg, &in);
    return v.action;
}

int mverdict_build(mverdict *v, const itip_config *cfg, const mverdict_input *input,
                   int leadspc)
{
    mverdict_input copy = *input;
    const mverdict_input *in = &copy;
    int tagged;

    if (copy.findings == NULL)       /* an error before the engine existed */
        copy.findings = &no_findings;
    memset(v, 0, sizeof *v);
    decide_all(v, cfg, in);
    /* headers: every message with a calendar part or a finding; on an internal error only
     * when on_internal_error asks for tag or more */
    tagged = v->error ? v->action >= ITIP_ACT_TAG : in->calendar_parts > 0 || in->findings->n > 0;
    if (build_strings(v, cfg, in) < 0 ||
        (tagged && build_result(v, cfg, in, leadspc) < 0) ||
        (tagged && v->action >= ITIP_ACT_TAG && build_findings(v, cfg, in, leadspc) < 0) ||
        build_texts(v) < 0) {
        mverdict_free(v);
        return -1;
    }
    if (v->action == ITIP_ACT_REPAIR && in->repairs != NULL &&
        build_repaired(v, cfg, in->repairs, leadspc) < 0) {
        mverdict_free(v);
        return -1;
    }
    return 0;
}

void mverdict_free(mverdict *v)
{
    size_t i;

    for (i = 0; i < v->nfindings; i++)
        free(v->findings[i]);
    free(v->findings);
    free(v->method);
    free(v->uid);
    free(v->rules);
    free(v->all_rules);
    free(v->result);
    free(v->reason);
    free(v->reply);
    free(v->repaired);
    memset(v, 0, sizeof *v);
}
