/*
 * repair.c - the repair action (see repair.h): which findings can be repaired, the checks
 * around a repair (signed content, reading a repaired part back), and the rewriting of the
 * message bytes around the calendar parts.
 *
 * Exports itip_repair_*.  The findings asked for are grouped by calendar part and kind of
 * repair; each part is decoded once (repair_enc.c), its text edited (repair_text.c), the body
 * encoded again and put in place of the old one; the method= parameter goes into the part's
 * own Content-Type field (for a part that is the message itself, a message header: the
 * change is described in r->header as well, for the milter, which holds only the body).  The
 * part so repaired, header block and body, then goes through the engine (engine.h) beside
 * the part as received; unless that gives the same findings minus the repaired ones, the
 * part's edits are dropped.  Each repair succeeds or fails as a whole and says why.  Bytes
 * outside the calendar parts are copied unchanged.  No libmilter, no I/O, never guesses: a
 * part that was truncated, badly encoded, in a charset that is not ASCII-compatible, whose
 * bytes were not kept, or that is signed (multipart/signed; a DKIM-Signature on the message
 * unless repair_signed) is left alone.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "repair/repair.h"
#include "repair_impl.h"
#include "base/strbuf.h"

#define MSG_MAX 200
#define HDR_LINE_MAX 78       /* a longer Content-Type line gets the parameter on a new line */
#define CC_PROPERTY "X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE"

/* ---- configuration ---- */

int itip_repair_configured(const itip_config *cfg)
{
    size_t i;

    if (cfg->dry_run)
        return 0;
    for (i = 0; i < ITIP_RULE_COUNT; i++)
        if (cfg->rule_actions[i] == ITIP_ACT_REPAIR)
            return 1;
    for (i = ITIP_SEV_INFO; i <= ITIP_SEV_WOULD_FAIL; i++)
        if (cfg->actions[i] == ITIP_ACT_REPAIR)
            return 1;
    return 0;
}

size_t itip_repair_body_limit(const itip_config *cfg)
{
    size_t n = cfg->limits.max_calendar_parts, s = cfg->limits.max_calendar_part_size;

    if (n == 0 || s == 0)
        return 0;
    return n > (size_t)-1 / s ? (size_t)-1 : n * s;
}

size_t itip_repair_wanted(const itip_config *cfg, const itip_findings *f, unsigned char *want)
{
    size_t i, n = 0;

    for (i = 0; i < f->n; i++) {
        want[i] = itip_config_action(cfg, f->v[i].rule, f->v[i].severity) == ITIP_ACT_REPAIR;
        n += want[i];
    }
    return n;
}

/* ---- what a finding asks for ---- */

static int kind_of(const itip_finding *f)
{
    switch (f->rule) {
    case ITIP_R_REPLY_ATTENDEE_CRITICAL_CHANGE_MISSING:
        return RP_CC_MISSING;
    case ITIP_R_REPLY_ATTENDEE_CRITICAL_CHANGE_INVALID:
        return RP_CC_INVALID;
    case ITIP_R_DATETIME_FILETIME_ZERO:
        return f->property && strcasecmp(f->property, CC_PROPERTY) == 0 ? RP_CC_INVALID : -1;
    case ITIP_R_MIME_METHOD_PARAM_MISSING:
        return RP_METHOD_PARAM;
    default:
        return -1;
    }
}

/* ---- the run ---- */

typedef struct {                  /* one edit of the stream */
    unsigned long long at, end;
    char *text;
    size_t tlen;
    int head_only;                /* in the header block given as HEAD: described, not sent */
} sedit;

typedef struct {                  /* outcome of one kind of repair in one part */
    int wanted, done;
    char msg[MSG_MAX];
} outcome;

typedef struct {
    itip_repair *r;
    const itip_config *cfg;
    time_t now;                   /* the clock repaired parts are read back with */
    const char *refusal;          /* why no part of this message is repaired, or NULL */
    const itip_engine *e;
    const unsigned char *in;
    size_t len;
    unsigned long long base;
    const unsigned char *head;    /* stream bytes [0, headlen), or NULL */
    size_t headlen;
    sedit *se;
    size_t nse, ase;
    int *kinds;                   /* per item: rp_kind, or -1 */
} run;

static int add_sedit(run *R, unsigned long long at, unsigned long long end, char *text,
                     size_t tlen, int head_only)
{
    if (R->nse == R->ase) {
        size_t na = R->ase ? R->ase * 2 : 4;
        sedit *v = realloc(R->se, na * sizeof *v);
        if (v == NULL) {
            free(text);
            return -1;
        }
        R->se = v;
        R->ase = na;
    }
    R->se[R->nse++] = (sedit){ at, end, text, tlen, head_only };
    return 0;
}

static void fail_all(outcome *o, const char *why)
{
    int k;

    for (k = 0; k < RP_KINDS; k++)
        if (o[k].wanted && !o[k].done)
            snprintf(o[k].msg, sizeof o[k].msg, "%s", why);
}

static int ascii_compatible(const char *cs)
{
    static const char *const bad[] = { "utf-16", "utf16", "utf-32", "utf32", "ucs-2", "ucs2",
                                       "ucs-4", "ucs4", "unicode" };
    size_t i;

    for (i = 0; cs != NULL && i < sizeof bad / sizeof bad[0]; i++)
        if (strncasecmp(cs, bad[i], strlen(bad[i])) == 0)
            return 0;
    return 1;
}

/* Why the body of CP cannot be rewritten, or NULL. */
static const char *body_problem(const run *R, const itip_calpart *cp)
{
    if (cp->truncated)
        return "the calendar part passed max_calendar_part_size";
    if (cp->decode_errors || cp->cte == ITIP_CTE_UNKNOWN)
        return "the calendar part's transfer encoding is not clean";
    if (cp->charset_failed || !ascii_compatible(cp->charset))
        return "the calendar part's charset is not ASCII-compatible";
    if (cp->nul_bytes)
        return "the calendar part holds NUL bytes";
    if (cp->body_start < R->base || cp->body_end > R->base + R->len ||
        cp->body_end < cp->body_start)
        return "the calendar part's bytes were not kept";
    return NULL;
}

/* The body edits of part CP (kinds RP_CC_*).  0 or -1. */
static int body_repairs(run *R, const itip_calpart *cp, outcome *o)
{
    const char *why = body_problem(R, cp);
    rp_view v;
    rp_edits ed = { NULL, 0, 0 };
    strbuf nb;
    int k, r;

    if (why != NULL) {
        fail_all(o, why);
        return 0;
    }
    r = rp_view_open(&v, R->in + (cp->body_start - R->base),
                     (size_t)(cp->body_end - cp->body_start), cp->cte);
    if (r != 0) {
        rp_view_close(&v);
        fail_all(o, "the calendar part's transfer encoding is not clean");
        return r < 0 ? -1 : 0;
    }
    for (k = RP_CC_MISSING; k <= RP_CC_INVALID && r >= 0; k++)
        if (o[k].wanted && (r = rp_text_plan(&v, (rp_kind)k, &ed, o[k].msg,
                                             sizeof o[k].msg)) == 0)
            o[k].done = 1;
    itip_strbuf_init(&nb, 0);
    if (r >= 0 && ed.n > 0) {
        rp_edits_sort(&ed);
        r = rp_encode(&v, &ed, &nb) < 0 ? -1 : 0;
        if (r == 0) {
            size_t n = 0;
            char *text = itip_strbuf_detach(&nb, &n);
            r = text == NULL ? -1 : add_sedit(R, cp->body_start, cp->body_end, text, n, 0);
        }
    }
    itip_strbuf_free(&nb);
    rp_edits_free(&ed);
    rp_view_close(&v);
    return r < 0 ? -1 : 0;
}

/* ---- the method= parameter ---- */

typedef struct {
    const unsigned char *h;       /* the header block */
    size_t n;
} hblock;

/* End of the line starting at P (its content), and the start of the next line in *NEXT. */
static size_t line_end(const hblock *b, size_t p, size_t *next)
{
    size_t e = p;

    while (e < b->n && b->h[e] != '\r' && b->h[e] != '\n')
        e++;
    *next = e < b->n ? e + 1 + (b->h[e] == '\r' && e + 1 < b->n && b->h[e + 1] == '\n') : e;
    return e;
}

/* True if the line [P, E) starts field NAME (lower-case). */
static int is_field_line(const hblock *b, size_t p, size_t e, const char *name)
{
    size_t n = strlen(name);

    if (e - p < n || strncasecmp((const char *)b->h + p, name, n) != 0)
        return 0;
    for (p += n; p < e && (b->h[p] == ' ' || b->h[p] == '\t'); p++)
        ;
    return p < e && b->h[p] == ':';
}

/* The Content-Type field: first line at *FS, the last line's content ending at *FE with its
 * line break in [*FE, *NEXT).  0, or 1 when there is none. */
static int find_ctype(const hblock *b, size_t *fs, size_t *fe, size_t *next)
{
    size_t p = 0, e;

    while (p < b->n) {
        e = line_end(b, p, next);
        if (e == p)
            return 1;                       /* the empty line: end of the block */
        if (is_field_line(b, p, e, "content-type")) {
            *fs = p;
            *fe = e;
            while (*next < b->n && (b->h[*next] == ' ' || b->h[*next] == '\t')) {
                p = *next;
                *fe = line_end(b, p, next);
            }
            return 0;
        }
        p = *next;
    }
    return 1;
}

/* The text to insert at the end of the field: "; method=X", or a new folded line. */
static char *param_text(const hblock *b, size_t fe, size_t next, const char *method,
                        size_t *tlen)
{
    size_t ls = fe, last = fe;
    char eol[3] = "\r\n";
    strbuf t;
    int semi;

    while (ls > 0 && b->h[ls - 1] != '\n' && b->h[ls - 1] != '\r')
        ls--;
    while (last > ls && (b->h[last - 1] == ' ' || b->h[last - 1] == '\t'))
        last--;
    semi = last > ls && b->h[last - 1] == ';';
    if (next > fe && next - fe <= 2) {
        memcpy(eol, b->h + fe, next - fe);
        eol[next - fe] = '\0';
    }
    itip_strbuf_init(&t, 0);
    if ((fe - ls) + 10 + strlen(method) > HDR_LINE_MAX)
        itip_strbuf_printf(&t, "%s%s\tmethod=%s", semi ? "" : ";", eol, method);
    else
        itip_strbuf_printf(&t, "%smethod=%s", semi ? " " : "; ", method);
    return itip_strbuf_detach(&t, tlen);
}

static int contains_ci(const unsigned char *h, size_t n, const char *needle)
{
    size_t k = strlen(needle), i;

    for (i = 0; i + k <= n; i++)
        if (strncasecmp((const char *)h + i, needle, k) == 0)
            return 1;
    return 0;
}

/* The stream bytes [FROM, TO): in IN, or in HEAD; NULL when they were not kept. */
static const unsigned char *stream_bytes(const run *R, unsigned long long from,
                                         unsigned long long to)
{
    if (to < from)
        return NULL;
    if (from >= R->base && to <= R->base + R->len)
        return R->in + (from - R->base);
    if (R->head != NULL && to <= R->headlen)
        return R->head + from;
    return NULL;
}

static char *dup_bytes(const unsigned char *p, size_t n)
{
    char *s = malloc(n + 1);

    if (s != NULL) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* Describes in R->r->header the message's Content-Type field [FS, FE) of B with TEXT
 * appended.  0 or -1. */
static int describe_header(run *R, const hblock *b, size_t fs, size_t fe, const char *text,
                           size_t tlen)
{
    itip_repair_header *h = &R->r->header;
    size_t colon = fs, name_end;

    while (b->h[colon] != ':')        /* is_field_line() found it */
        colon++;
    for (name_end = colon; name_end > fs && (b->h[name_end - 1] == ' ' ||
                                              b->h[name_end - 1] == '\t'); name_end--)
        ;
    h->name = dup_bytes(b->h + fs, name_end - fs);
    h->old_value = dup_bytes(b->h + colon + 1, fe - colon - 1);
    h->new_value = malloc(fe - colon + tlen);
    if (h->name == NULL || h->old_value == NULL || h->new_value == NULL)
        return -1;
    memcpy(h->new_value, b->h + colon + 1, fe - colon - 1);
    memcpy(h->new_value + (fe - colon - 1), text, tlen);
    h->new_value[fe - colon - 1 + tlen] = '\0';
    return 0;
}

/* The method= repair's edits: the Content-Type field [FS, FE) of the part's header block B
 * (at stream offset AT) gets TEXT (consumed) at its end.  0 or -1. */
static int param_edit(run *R, const itip_calpart *cp, const hblock *b, size_t fs, size_t fe,
                      char *text, size_t tlen)
{
    unsigned long long at = cp->hdr_start + fe;

    if (cp->depth == 0 && describe_header(R, b, fs, fe, text, tlen) < 0) {
        free(text);
        return -1;
    }
    /* a message header given as HEAD is described only; its edit serves the read-back */
    return add_sedit(R, at, at, text, tlen, at < R->base || at > R->base + R->len);
}

static int param_repair(run *R, const itip_calpart *cp, outcome *o)
{
    char method[40], *text;
    hblock b, rest;
    size_t fs, fe, next, tlen, d1, d2, d3;

    b.h = stream_bytes(R, cp->hdr_start, cp->body_start);
    b.n = (size_t)(cp->body_start - cp->hdr_start);
    if (b.h == NULL) {
        snprintf(o->msg, sizeof o->msg, "the calendar part's header was not kept");
        return 0;
    }
    if (cp->data == NULL || rp_text_method((const unsigned char *)cp->data, cp->len, method,
                                           sizeof method) != 0) {
        snprintf(o->msg, sizeof o->msg, "the calendar has no usable METHOD");
        return 0;
    }
    if (find_ctype(&b, &fs, &fe, &next) != 0 || contains_ci(b.h + fs, fe - fs, "method")) {
        snprintf(o->msg, sizeof o->msg, "no Content-Type field to add method= to");
        return 0;
    }
    rest.h = b.h + next;
    rest.n = b.n - next;
    if (find_ctype(&rest, &d1, &d2, &d3) == 0) {
        snprintf(o->msg, sizeof o->msg, "more than one Content-Type field");
        return 0;
    }
    if ((text = param_text(&b, fe, next, method, &tlen)) == NULL ||
        param_edit(R, cp, &b, fs, fe, text, tlen) < 0)
        return -1;
    o->done = 1;
    snprintf(o->msg, sizeof o->msg, "Content-Type method=%s added", method);
    return 0;
}

/* ---- signed content ---- */

/* 1 when the message's header block holds a DKIM-Signature field, 0 when not, -1 when the
 * block was not kept. */
static int has_dkim(const run *R)
{
    hblock b;
    size_t p = 0, e, next;

    if (R->base == 0) {
        b.h = R->in;
        b.n = R->len;
    } else if (R->head != NULL) {
        b.h = R->head;
        b.n = R->headlen;
    } else
        return -1;
    while (p < b.n && (e = line_end(&b, p, &next)) > p) {
        if (is_field_line(&b, p, e, "dkim-signature"))
            return 1;
        p = next;
    }
    return 0;
}

/* Why no part of the message may be repaired, or NULL. */
static const char *message_refusal(const run *R)
{
    if (R->cfg->repair_signed)
        return NULL;
    switch (has_dkim(R)) {
    case 1:
        return "the message carries a DKIM-Signature and repair_signed is false";
    case -1:
        return "the message's header block was not kept: a DKIM-Signature cannot be ruled out";
    default:
        return NULL;
    }
}

/* Why part number PART (CP) may not be repaired at all, or NULL. */
static const char *part_refusal(const run *R, const itip_calpart *cp, int part)
{
    if (cp == NULL)
        return part < 0 ? "the finding names no calendar part"
                        : "the calendar part has no MIME structure (bare iCalendar input)";
    if (cp->in_signed)
        return "the calendar part is inside multipart/signed: a repair would break the "
               "signature";
    return R->refusal;
}

/* ---- reading a repaired part back ---- */

/* The edit of part CP's body (BODY) or of its header block, among the edits [FROM, nse). */
static const sedit *part_edit(const run *R, const itip_calpart *cp, size_t from, int body)
{
    size_t i;

    for (i = from; i < R->nse; i++)
        if ((R->se[i].at >= cp->body_start) == body)
            return &R->se[i];
    return NULL;
}

/* Part CP as a message of its own into M: its header block and body as received, or with
 * its edits [FROM, nse) when EDITED.  0, 1 when its bytes were not kept, or -1. */
static int part_message(const run *R, const itip_calpart *cp, size_t from, int edited,
                        strbuf *m)
{
    const unsigned char *h = stream_bytes(R, cp->hdr_start, cp->body_start);
    const unsigned char *b = stream_bytes(R, cp->body_start, cp->body_end);
    const sedit *he = edited ? part_edit(R, cp, from, 0) : NULL;
    const sedit *be = edited ? part_edit(R, cp, from, 1) : NULL;
    size_t hn = (size_t)(cp->body_start - cp->hdr_start);
    size_t at = he ? (size_t)(he->at - cp->hdr_start) : hn;

    if (h == NULL || b == NULL)
        return 1;
    if (itip_strbuf_append(m, h, at) < 0 || (he && itip_strbuf_append(m, he->text,
                                                                       he->tlen) < 0) ||
        itip_strbuf_append(m, h + at, hn - at) < 0 ||
        (be ? itip_strbuf_append(m, be->text, be->tlen)
            : itip_strbuf_append(m, b, (size_t)(cp->body_end - cp->body_start))) < 0)
        return -1;
    return 0;
}

/* The engine, with the run's configuration and clock, finished on message M; NULL when the
 * analysis failed. */
static itip_engine *analyse(const run *R, const strbuf *m)
{
    itip_engine *e = itip_engine_new(R->cfg);

    if (e != NULL) {
        itip_engine_set_now(e, R->now);
        if (itip_engine_feed(e, m->s, m->len) < 0 || itip_engine_finish(e) < 0) {
            itip_engine_free(e);
            e = NULL;
        }
    }
    return e;
}

static int repaired(const itip_finding *f, const outcome *o)
{
    int k = kind_of(f);

    return k >= 0 && o[k].done;
}

/* Into WHY, why the findings NOW are not the findings WAS minus the repaired ones (the kinds
 * done in O), rule by rule and counted; "" when they are. */
static void compare(const itip_findings *was, const itip_findings *now, const outcome *o,
                    char *why, size_t n)
{
    size_t before[ITIP_RULE_COUNT], after[ITIP_RULE_COUNT], i;

    memset(before, 0, sizeof before);
    memset(after, 0, sizeof after);
    why[0] = '\0';
    for (i = 0; i < was->n; i++)
        before[was->v[i].rule] += !repaired(&was->v[i], o);
    for (i = 0; i < now->n; i++) {
        if (repaired(&now->v[i], o)) {
            snprintf(why, n, "%s is still reported", itip_rules[now->v[i].rule].id);
            return;
        }
        after[now->v[i].rule]++;
    }
    for (i = 0; i < ITIP_RULE_COUNT; i++)
        if (before[i] != after[i]) {
            snprintf(why, n, "%s: %zu finding%s before, %zu after", itip_rules[i].id,
                     before[i], before[i] == 1 ? "" : "s", after[i]);
            return;
        }
}

/* Reads part CP back with its edits [FROM, nse): into WHY, "" when it gives the findings of
 * the part as received minus the repaired ones, else why not.  0 or -1 (out of memory). */
static int read_back(const run *R, const itip_calpart *cp, size_t from, const outcome *o,
                     char *why, size_t n)
{
    strbuf was, now;
    itip_engine *ew = NULL, *en = NULL;
    int r;

    itip_strbuf_init(&was, 0);
    itip_strbuf_init(&now, 0);
    r = part_message(R, cp, from, 0, &was);
    if (r == 0)
        r = part_message(R, cp, from, 1, &now);
    if (r == 1)
        snprintf(why, n, "the calendar part's header was not kept");
    else if (r == 0 && ((ew = analyse(R, &was)) == NULL || (en = analyse(R, &now)) == NULL))
        snprintf(why, n, "the analysis failed");
    else if (r == 0)
        compare(itip_engine_findings(ew), itip_engine_findings(en), o, why, n);
    itip_engine_free(en);
    itip_engine_free(ew);
    itip_strbuf_free(&was);
    itip_strbuf_free(&now);
    return r < 0 ? -1 : 0;
}

static void forget_header(itip_repair *r)
{
    free(r->header.name);
    free(r->header.old_value);
    free(r->header.new_value);
    memset(&r->header, 0, sizeof r->header);
}

/* Refuses the repairs made in part CP (its edits [FROM, nse)) unless the part reads back
 * as it should: the edits are dropped and each repair made says why.  0 or -1. */
static int check_part(run *R, const itip_calpart *cp, size_t from, outcome *o)
{
    char why[MSG_MAX - 48];
    int k, made = 0;

    for (k = 0; k < RP_KINDS; k++)
        made |= o[k].done;
    if (!made)
        return 0;
    if (read_back(R, cp, from, o, why, sizeof why) < 0)
        return -1;
    if (why[0] == '\0')
        return 0;
    while (R->nse > from)
        free(R->se[--R->nse].text);
    if (cp->depth == 0 && o[RP_METHOD_PARAM].done)
        forget_header(R->r);
    for (k = 0; k < RP_KINDS; k++)
        if (o[k].done) {
            o[k].done = 0;
            snprintf(o[k].msg, sizeof o[k].msg, "the repaired calendar did not parse back: %s",
                     why);
        }
    return 0;
}

/* ---- items ---- */

static int add_item(itip_repair *r, run *R, const itip_finding *f, size_t *idx)
{
    itip_repair_item *v;
    size_t i;
    int *k;

    for (i = 0; i < r->nitems; i++)
        if (r->items[i].rule == f->rule && r->items[i].part == f->part) {
            *idx = i;
            return 0;
        }
    v = realloc(r->items, (r->nitems + 1) * sizeof *v);
    if (v == NULL)
        return -1;
    r->items = v;
    k = realloc(R->kinds, (r->nitems + 1) * sizeof *k);
    if (k == NULL)
        return -1;
    R->kinds = k;
    R->kinds[r->nitems] = kind_of(f);
    r->items[r->nitems] = (itip_repair_item){ f->rule, f->part, 0, NULL };
    *idx = r->nitems++;
    return 0;
}

static int run_part(itip_repair *r, run *R, int part)
{
    const itip_calpart *cp = part >= 0 ? itip_engine_calpart(R->e, (size_t)part) : NULL;
    const char *why = part_refusal(R, cp, part);
    outcome o[RP_KINDS];
    size_t i, from = R->nse;
    int rc = 0;

    memset(o, 0, sizeof o);
    for (i = 0; i < r->nitems; i++)
        if (r->items[i].part == part && R->kinds[i] >= 0)
            o[R->kinds[i]].wanted = 1;
    if (why != NULL)
        fail_all(o, why);
    else {
        if (o[RP_CC_MISSING].wanted || o[RP_CC_INVALID].wanted)
            rc = body_repairs(R, cp, o);
        if (rc == 0 && o[RP_METHOD_PARAM].wanted)
            rc = param_repair(R, cp, &o[RP_METHOD_PARAM]);
        if (rc == 0)
            rc = check_part(R, cp, from, o);
    }
    for (i = 0; rc == 0 && i < r->nitems; i++)
        if (r->items[i].part == part && R->kinds[i] >= 0) {
            r->items[i].done = o[R->kinds[i]].done;
            if ((r->items[i].text = strdup(o[R->kinds[i]].msg)) == NULL)
                rc = -1;
        }
    return rc;
}

/* ---- assembly ---- */

static int sedit_cmp(const void *x, const void *y)
{
    const sedit *a = x, *b = y;

    return a->at < b->at ? -1 : a->at > b->at;
}

/* The new bytes: IN with the edits that lie in it; none: R->out stays NULL.  0 or -1. */
static int assemble(itip_repair *r, run *R)
{
    unsigned long long prev = R->base;
    strbuf out;
    size_t i, n = 0;
    int err = 0;

    for (i = 0; i < R->nse; i++)
        n += !R->se[i].head_only;
    if (n == 0)
        return 0;
    qsort(R->se, R->nse, sizeof *R->se, sedit_cmp);
    itip_strbuf_init(&out, 0);
    for (i = 0; i < R->nse && !err; i++) {
        const sedit *s = &R->se[i];
        if (s->head_only)
            continue;
        err = s->at < prev ||
              itip_strbuf_append(&out, R->in + (prev - R->base), (size_t)(s->at - prev)) < 0 ||
              itip_strbuf_append(&out, s->text, s->tlen) < 0;
        prev = s->end;
    }
    if (!err)
        err = itip_strbuf_append(&out, R->in + (prev - R->base),
                                 R->len - (size_t)(prev - R->base)) < 0;
    if (err) {
        itip_strbuf_free(&out);
        return -1;
    }
    r->out = itip_strbuf_detach(&out, &r->outlen);
    return r->out ? 0 : -1;
}

static int plan_items(itip_repair *r, run *R, const unsigned char *want)
{
    const itip_findings *f = itip_engine_findings(R->e);
    size_t i, idx;

    r->nfindings = f->n;
    r->repaired = calloc(f->n ? f->n : 1, 1);
    if (r->repaired == NULL)
        return -1;
    for (i = 0; i < f->n; i++)
        if (want[i] && add_item(r, R, &f->v[i], &idx) < 0)
            return -1;
    for (i = 0; i < r->nitems; i++)
        if (R->kinds[i] < 0 &&
            (r->items[i].text = strdup("no repair exists for this rule")) == NULL)
            return -1;
    return 0;
}

static int run_all(itip_repair *r, run *R, const unsigned char *want)
{
    const itip_findings *f = itip_engine_findings(R->e);
    size_t i, j, idx;

    if (plan_items(r, R, want) < 0)
        return -1;
    for (i = 0; i < r->nitems; i++) {
        int seen = 0;
        for (j = 0; j < i; j++)
            seen |= r->items[j].part == r->items[i].part && R->kinds[j] >= 0;
        if (!seen && R->kinds[i] >= 0 && run_part(r, R, r->items[i].part) < 0)
            return -1;
    }
    for (i = 0; i < f->n; i++)
        if (want[i] && add_item(r, R, &f->v[i], &idx) == 0)
            r->repaired[i] = (unsigned char)r->items[idx].done;
    return R->nse > 0 ? assemble(r, R) : 0;
}

int itip_repair_make(itip_repair *r, const itip_config *cfg, time_t now, const itip_engine *e,
                     const unsigned char *want, const void *in, size_t len,
                     unsigned long long base, const void *head, size_t headlen)
{
    run R;
    size_t i;
    int rc;

    memset(r, 0, sizeof *r);
    memset(&R, 0, sizeof R);
    R.cfg = cfg;
    R.now = now ? now : time(NULL);
    R.e = e;
    R.in = in;
    R.len = len;
    R.base = base;
    R.head = head;
    R.headlen = head != NULL ? headlen : 0;
    R.r = r;
    R.refusal = message_refusal(&R);
    rc = run_all(r, &R, want);
    for (i = 0; i < R.nse; i++)
        free(R.se[i].text);
    free(R.se);
    free(R.kinds);
    if (rc < 0)
        itip_repair_free(r);
    return rc;
}

void itip_repair_free(itip_repair *r)
{
    size_t i;

    for (i = 0; i < r->nitems; i++)
        free(r->items[i].text);
    free(r->items);
    free(r->repaired);
    free(r->out);
    forget_header(r);
    memset(r, 0, sizeof *r);
}

char *itip_repair_summary(const itip_repair *r)
{
    strbuf b;
    size_t i;
    int err = 0;

    itip_strbuf_init(&b, 0);
    for (i = 0; i < r->nitems && !err; i++)
        if (r->items[i].done)
            err = itip_strbuf_printf(&b, "%s%s part=%d: %s", b.len ? "; " : "",
                                     itip_rules[r->items[i].rule].id, r->items[i].part,
                                     r->items[i].text) < 0;
    if (err || b.len == 0) {
        itip_strbuf_free(&b);
        return NULL;
    }
    return itip_strbuf_detach(&b, NULL);
}
