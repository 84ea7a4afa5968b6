/*
 * repair_text.c - the iCalendar side of the repair action (see repair.h): finds, in the
 * decoded text of a calendar part, where X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE goes or
 * which stamp to replace, and the VCALENDAR's METHOD.
 *
 * Exports rp_text_plan(), rp_text_method() and the rp_edits helpers.  Works on lines of the
 * text as they are (CRLF, LF or CR; folded content lines followed through their continuation
 * lines); an edit inserts or replaces whole lines, with the line ending of the line it
 * follows, so every other byte stays as it was.  Never re-serialises the calendar, never
 * guesses: a VEVENT without exactly one UTC DTSTAMP in the safe window is not repaired.
 */
#include "ac-config.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "rules/calutil.h"
#include "repair_impl.h"

#define CC_NAME   "X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE"
#define VALUE_MAX 64      /* longest value examined; a longer one is unusable */
#define CC_KEPT   8       /* critical-change lines remembered per VEVENT */
#define STACK_MAX 16      /* component nesting followed */

/* ---- edits ---- */

void rp_edits_free(rp_edits *e)
{
    size_t i;

    for (i = 0; i < e->n; i++)
        free(e->v[i].text);
    free(e->v);
    memset(e, 0, sizeof *e);
}

int rp_edits_add(rp_edits *e, size_t a, size_t b, const char *text, size_t tlen, size_t eol_at)
{
    rp_edit *x;

    if (e->n == e->cap) {
        size_t nc = e->cap ? e->cap * 2 : 4;
        rp_edit *v = realloc(e->v, nc * sizeof *v);
        if (v == NULL)
            return -1;
        e->v = v;
        e->cap = nc;
    }
    x = &e->v[e->n];
    x->text = malloc(tlen + 1);
    if (x->text == NULL)
        return -1;
    memcpy(x->text, text, tlen);
    x->text[tlen] = '\0';
    x->a = a;
    x->b = b;
    x->tlen = tlen;
    x->eol_at = eol_at;
    e->n++;
    return 0;
}

static int edit_cmp(const void *x, const void *y)
{
    const rp_edit *a = x, *b = y;

    return a->a < b->a ? -1 : a->a > b->a;
}

void rp_edits_sort(rp_edits *e)
{
    if (e->n > 1)
        qsort(e->v, e->n, sizeof *e->v, edit_cmp);
}

/* ---- lines ---- */

typedef struct {
    size_t start, end, next;      /* content [start, end), line break [end, next) */
} rp_line;

typedef struct {
    const unsigned char *d;
    size_t len;
    rp_line *l;
    size_t n;
} rp_text;

static int split_lines(rp_text *t)
{
    size_t cap = 64, p = 0;

    t->n = 0;
    t->l = malloc(cap * sizeof *t->l);
    while (t->l != NULL && p < t->len) {
        const unsigned char *d = t->d;
        size_t e = p;
        if (t->n == cap) {
            rp_line *v = realloc(t->l, (cap *= 2) * sizeof *v);
            if (v == NULL)
                break;
            t->l = v;
        }
        while (e < t->len && d[e] != '\r' && d[e] != '\n')
            e++;
        t->l[t->n].start = p;
        t->l[t->n].end = e;
        p = e < t->len ? e + 1 + (d[e] == '\r' && e + 1 < t->len && d[e + 1] == '\n') : e;
        t->l[t->n++].next = p;
    }
    return t->l != NULL && p >= t->len ? 0 : -1;
}

/* A content line: physical lines fi..li (continuations start with a space or tab). */
typedef struct {
    size_t fi, li;
    char name[48];                /* upper-case, "" when unusable */
    char value[VALUE_MAX + 1];    /* unfolded value, "" when too long */
} rp_cline;

static size_t cline_last(const rp_text *t, size_t fi)
{
    size_t li = fi;

    while (li + 1 < t->n && t->l[li + 1].start < t->l[li + 1].end &&
           (t->d[t->l[li + 1].start] == ' ' || t->d[t->l[li + 1].start] == '\t'))
        li++;
    return li;
}

/* Unfolds lines fi..li into BUF (at most N - 1 bytes); returns the full length. */
static size_t unfold(const rp_text *t, size_t fi, size_t li, char *buf, size_t n)
{
    size_t k, len = 0;

    for (k = fi; k <= li; k++) {
        size_t s = t->l[k].start + (k > fi), e = t->l[k].end;
        for (; s < e; s++, len++)
            if (len + 1 < n)
                buf[len] = (char)t->d[s];
    }
    buf[len + 1 < n ? len : n - 1] = '\0';
    return len;
}

static void parse_cline(const rp_text *t, size_t fi, rp_cline *c)
{
    char buf[sizeof c->name + VALUE_MAX + 512];
    size_t len = unfold(t, fi, cline_last(t, fi), buf, sizeof buf), i, nl;
    const char *colon = NULL;
    int quoted = 0;

    c->fi = fi;
    c->li = cline_last(t, fi);
    c->name[0] = c->value[0] = '\0';
    nl = strcspn(buf, ";:");
    if (nl == 0 || nl >= sizeof c->name)
        return;
    for (i = 0; i < nl; i++)
        c->name[i] = (char)toupper((unsigned char)buf[i]);
    c->name[nl] = '\0';
    for (i = nl; buf[i] && colon == NULL; i++)
        if (buf[i] == '"')
            quoted = !quoted;
        else if (buf[i] == ':' && !quoted)
            colon = buf + i;
    if (colon != NULL && len < sizeof buf && strlen(colon + 1) <= VALUE_MAX)
        strcpy(c->value, colon + 1);
}

/* True if V is a UTC DATE-TIME inside the safe window (what C2 accepts). */
static int stamp_ok(const char *v)
{
    struct icaltimetype t;
    size_t n = strlen(v);

    return itip_parse_time(v, &t) == 0 && !t.is_date && n > 0 &&
           (v[n - 1] == 'Z' || v[n - 1] == 'z') && itip_time_window(t) == ITIP_TW_OK;
}

/* ---- the VEVENTs ---- */

typedef struct {
    int ndtstamp;
    size_t dt_li;                 /* last physical line of the DTSTAMP content line */
    char dtstamp[VALUE_MAX + 1];
    int ncc;
    struct { size_t fi, li; int ok; char value[VALUE_MAX + 1]; } cc[CC_KEPT];
} rp_event;

typedef struct {
    rp_text t;
    rp_event *ev;
    size_t nev, cap;
    char method[VALUE_MAX + 1];   /* "" when the VCALENDAR has none */
    int nesting_lost;             /* deeper than STACK_MAX: the walk stopped trusting itself */
} rp_cal;

static rp_event *new_event(rp_cal *c)
{
    if (c->nev == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 4;
        rp_event *v = realloc(c->ev, nc * sizeof *v);
        if (v == NULL)
            return NULL;
        c->ev = v;
        c->cap = nc;
    }
    memset(&c->ev[c->nev], 0, sizeof c->ev[c->nev]);
    return &c->ev[c->nev++];
}

static void event_prop(rp_event *ev, const rp_cline *cl)
{
    if (strcmp(cl->name, "DTSTAMP") == 0) {
        ev->ndtstamp++;
        ev->dt_li = cl->li;
        snprintf(ev->dtstamp, sizeof ev->dtstamp, "%s", cl->value);
    } else if (strcmp(cl->name, CC_NAME) == 0) {
        if (ev->ncc < CC_KEPT) {
            ev->cc[ev->ncc].fi = cl->fi;
            ev->cc[ev->ncc].li = cl->li;
            ev->cc[ev->ncc].ok = stamp_ok(cl->value);
            snprintf(ev->cc[ev->ncc].value, sizeof ev->cc[0].value, "%s", cl->value);
        }
        ev->ncc++;
    }
}

/* Walks the content lines: METHOD of the VCALENDAR, DTSTAMP and critical-change stamps of
 * each VEVENT directly inside it.  0 or -1 (out of memory). */
static int walk(rp_cal *c)
{
    char stack[STACK_MAX][16];
    size_t depth = 0, i;
    rp_event *ev = NULL;
    rp_cline cl;

    for (i = 0; i < c->t.n; i = cl.li + 1) {
        parse_cline(&c->t, i, &cl);
        if (strcmp(cl.name, "BEGIN") == 0) {
            if (depth == STACK_MAX) {
                c->nesting_lost = 1;
                return 0;
            }
            snprintf(stack[depth], sizeof stack[0], "%s", cl.value);
            for (char *p = stack[depth]; *p; p++)
                *p = (char)toupper((unsigned char)*p);
            depth++;
            ev = NULL;
            if (depth == 2 && strcmp(stack[0], "VCALENDAR") == 0 &&
                strcmp(stack[1], "VEVENT") == 0 && (ev = new_event(c)) == NULL)
                return -1;
        } else if (strcmp(cl.name, "END") == 0) {
            depth -= depth > 0;
            ev = NULL;
        } else if (depth == 1 && strcmp(cl.name, "METHOD") == 0 && c->method[0] == '\0')
            snprintf(c->method, sizeof c->method, "%s", cl.value);
        else if (depth == 2 && ev != NULL)
            event_prop(ev, &cl);
    }
    return 0;
}

static int cal_open(rp_cal *c, const unsigned char *d, size_t len)
{
    memset(c, 0, sizeof *c);
    c->t.d = d;
    c->t.len = len;
    return split_lines(&c->t) < 0 || walk(c) < 0 ? -1 : 0;
}

static void cal_close(rp_cal *c)
{
    free(c->t.l);
    free(c->ev);
}

/* ---- planning ---- */

/* Text of a line "NAME:VALUE" followed by the line break of physical line LI (if any). */
static int add_line(rp_edits *ed, const rp_text *t, size_t a, size_t b, const char *name,
                    size_t nlen, const char *value, size_t li)
{
    char buf[160];
    const rp_line *l = &t->l[li];
    size_t eol = l->next - l->end;
    int n = snprintf(buf, sizeof buf, "%.*s:%s", (int)nlen, name, value);

    if (n < 0 || (size_t)n + eol >= sizeof buf)
        return -1;
    memcpy(buf + n, t->d + l->end, eol);
    return rp_edits_add(ed, a, b, buf, (size_t)n + eol, eol ? l->end : RP_NO_EOL);
}

static int plan_missing(rp_cal *c, rp_edits *ed, char *msg, size_t msglen)
{
    size_t i, done = 0;
    const char *first = NULL;

    for (i = 0; i < c->nev; i++) {
        const rp_event *ev = &c->ev[i];
        if (ev->ncc > 0)
            continue;
        if (ev->ndtstamp != 1 || !stamp_ok(ev->dtstamp)) {
            snprintf(msg, msglen, "a VEVENT has no single UTC DTSTAMP to copy");
            return 1;
        }
        if (c->t.l[ev->dt_li].next == c->t.l[ev->dt_li].end) {
            snprintf(msg, msglen, "the DTSTAMP line ends the text");
            return 1;
        }
        if (add_line(ed, &c->t, c->t.l[ev->dt_li].next, c->t.l[ev->dt_li].next, CC_NAME,
                     strlen(CC_NAME), ev->dtstamp, ev->dt_li) < 0)
            return -1;
        first = first ? first : ev->dtstamp;
        done++;
    }
    if (done == 0)
        snprintf(msg, msglen, "no VEVENT lacks " CC_NAME);
    else
        snprintf(msg, msglen, CC_NAME ":%s added%s", first, done > 1 ? " to several VEVENTs" : "");
    return done == 0;
}

/* Length of the property name as written at the start of line F. */
static size_t name_len(const rp_text *t, const rp_line *f)
{
    size_t n = 0;

    while (f->start + n < f->end && t->d[f->start + n] != ';' && t->d[f->start + n] != ':')
        n++;
    return n;
}

static int plan_invalid(rp_cal *c, rp_edits *ed, char *msg, size_t msglen)
{
    size_t i, done = 0;
    int k;

    for (i = 0; i < c->nev; i++) {
        const rp_event *ev = &c->ev[i];
        for (k = 0; k < ev->ncc && k < CC_KEPT; k++) {
            const rp_line *f;
            if (ev->cc[k].ok)
                continue;
            if (ev->ncc > CC_KEPT || ev->ndtstamp != 1 || !stamp_ok(ev->dtstamp)) {
                snprintf(msg, msglen, ev->ncc > CC_KEPT ? "too many " CC_NAME " lines"
                                                         : "a VEVENT has no single UTC DTSTAMP "
                                                           "to copy");
                return 1;
            }
            f = &c->t.l[ev->cc[k].fi];
            if (add_line(ed, &c->t, f->start, c->t.l[ev->cc[k].li].next,
                         (const char *)c->t.d + f->start, name_len(&c->t, f), ev->dtstamp,
                         ev->cc[k].li) < 0)
                return -1;
            if (done++ == 0)
                snprintf(msg, msglen, CC_NAME " %.*s replaced by %s", 24, ev->cc[k].value,
                         ev->dtstamp);
        }
    }
    if (done == 0)
        snprintf(msg, msglen, "no invalid " CC_NAME " found");
    return done == 0;
}

int rp_text_plan(const unsigned char *d, size_t len, rp_kind kind, rp_edits *ed, char *msg,
                 size_t msglen)
{
    rp_cal c;
    size_t before = ed->n;
    int r;

    if (cal_open(&c, d, len) < 0) {
        cal_close(&c);
        return -1;
    }
    if (c.nesting_lost) {
        snprintf(msg, msglen, "components nested too deeply");
        r = 1;
    } else
        r = kind == RP_CC_MISSING ? plan_missing(&c, ed, msg, msglen)
                                  : plan_invalid(&c, ed, msg, msglen);
    cal_close(&c);
    while (r != 0 && ed->n > before) {       /* all or nothing */
        free(ed->v[--ed->n].text);
    }
    return r;
}

int rp_text_method(const unsigned char *d, size_t len, char *buf, size_t n)
{
    rp_cal c;
    size_t i;
    int r = 1;

    if (cal_open(&c, d, len) == 0 && c.method[0] != '\0' && strlen(c.method) < n) {
        r = 0;
        for (i = 0; c.method[i]; i++)
            if (!isalnum((unsigned char)c.method[i]) && c.method[i] != '-')
                r = 1;
        if (r == 0)
            strcpy(buf, c.method);
    }
    cal_close(&c);
    return r;
}
