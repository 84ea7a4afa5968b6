/*
 * repair_text.c - the iCalendar side of the repair action (see repair.h): finds, in the
 * decoded text of a calendar part, where X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE goes or
 * which stamp to replace, and the VCALENDAR's METHOD.
 *
 * Exports rp_text_plan(), rp_text_method() and the rp_edits helpers.  Works on the lines of the text exactly as libical will read them
 * after the MIME walker (see "lines" below: CR CR LF is one line end, a lone CR before the
 * last LF is not one; folded content lines followed through their continuation lines); an
 * edit inserts or replaces whole lines, ending with a copy of the line break of the line it
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

/* ---- lines, as libical reads them ----
 *
 * libical 3.0 (icalparser_parse_string) cuts its input at LF; only after the last LF is a CR
 * a line end.  It drops the trailing white space of a line (CRs included) and unfolds a line
 * that starts with a space or tab into the one before when that one is not empty, removing
 * the LF, one CR before it and the space.  Empty lines are skipped.  The MIME walker has
 * already turned each transport line break of a 7bit, 8bit, binary or quoted-printable body
 * (CRLF, LF or a lone CR) into one LF.  A line break here is a run of CRs with the LF that
 * ends it, if any: kept whole, so that a line inserted after it lands after a complete line
 * end and ends with a copy of it. */

typedef struct {
    size_t start, end, next;      /* content [start, end), line break [end, next) */
    int breaks;                   /* line ends libical sees in the break: 0 (the text ends
                                     here), 1, or more (empty lines follow) */
} rp_line;

typedef struct {
    const unsigned char *d;
    size_t len;
    const rp_view *v;             /* the part's view, or NULL: D is what libical reads */
    size_t tail;                  /* from here on (after libical's last LF) a CR ends a line */
    rp_line *l;
    size_t n;
} rp_text;

static int raw(const rp_text *t, size_t i)
{
    return t->v != NULL && rp_view_raw_eol(t->v, i);
}

/* One past libical's last LF (a decoded LF or any transport line break), or 0. */
static size_t tail_start(const rp_text *t)
{
    size_t i = t->len;

    while (i > 0 && t->d[i - 1] != '\n' && !raw(t, i - 1))
        i--;
    return i;
}

/* End of the line break starting at P: its CRs and the LF after them. */
static size_t run_end(const rp_text *t, size_t p)
{
    size_t q = p;

    while (q < t->len && t->d[q] == '\r')
        q++;
    return q < t->len && t->d[q] == '\n' ? q + 1 : q;
}

/* The line ends libical sees in [P, Q): each transport line break, each decoded LF, each
 * decoded CR after the last LF; decoded CRs before an LF are white space of the line. */
static int run_breaks(const rp_text *t, size_t p, size_t q)
{
    int n = 0;
    size_t i;

    for (i = p; i < q; i++)
        if (raw(t, i)) {
            n++;
            i += t->d[i] == '\r' && i + 1 < q && t->d[i + 1] == '\n' && raw(t, i + 1);
        } else
            n += t->d[i] == '\n' || i >= t->tail;
    return n;
}

/* The content end and line break of the line starting at L->start. */
static void line_at(const rp_text *t, rp_line *l)
{
    size_t e = l->start, q;

    for (;;) {
        while (e < t->len && t->d[e] != '\r' && t->d[e] != '\n')
            e++;
        if (e == t->len) {
            l->end = l->next = e;
            l->breaks = 0;
            return;
        }
        q = run_end(t, e);
        if ((l->breaks = run_breaks(t, e, q)) > 0) {
            l->end = e;
            l->next = q;
            return;
        }
        e = q;                    /* CRs inside the line: content, for libical as well */
    }
}

static int split_lines(rp_text *t)
{
    size_t cap = 64, p = 0;

    t->n = 0;
    t->tail = tail_start(t);
    t->l = malloc(cap * sizeof *t->l);
    while (t->l != NULL && p < t->len) {
        if (t->n == cap) {
            rp_line *v = realloc(t->l, (cap *= 2) * sizeof *v);
            if (v == NULL)
                break;
            t->l = v;
        }
        t->l[t->n].start = p;
        line_at(t, &t->l[t->n]);
        p = t->l[t->n++].next;
    }
    return t->l != NULL && p >= t->len ? 0 : -1;
}

/* A content line: physical lines fi..li. */
typedef struct {
    size_t fi, li;
    char name[48];                /* upper-case, "" when unusable */
    char value[VALUE_MAX + 1];    /* unfolded value, "" when too long */
} rp_cline;

/* True if libical unfolds physical line K + 1 into line K (CONT: K is a continuation). */
static int folds(const rp_text *t, size_t k, int cont)
{
    const rp_line *a = &t->l[k], *b = &t->l[k + 1];

    return a->breaks == 1 && b->start < b->end &&
           (t->d[b->start] == ' ' || t->d[b->start] == '\t') &&
           (cont || a->end > a->start || (a->next - a->end > 1 && !raw(t, a->end)));
}

static size_t cline_last(const rp_text *t, size_t fi)
{
    size_t li = fi;

    while (li + 1 < t->n && folds(t, li, li > fi))
        li++;
    return li;
}

static void put(char *buf, size_t n, size_t *len, unsigned char c)
{
    if (*len + 1 < n)
        buf[*len] = (char)c;
    (*len)++;
}

/* The CRs libical keeps of the folded line break of line L: all but the one before the LF. */
static size_t fold_crs(const rp_text *t, const rp_line *l)
{
    size_t c = l->next - l->end - 1;

    if (c > 0 && t->d[l->next - 2] == '\r' && raw(t, l->next - 2) && raw(t, l->next - 1))
        c--;                      /* a transport CRLF: one line end, no CR for libical */
    return c > 0 ? c - 1 : 0;
}

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Unfolds lines fi..li into BUF (at most N - 1 bytes) as libical does, trailing white space
 * dropped; returns the full length. */
static size_t unfold(const rp_text *t, size_t fi, size_t li, char *buf, size_t n)
{
    size_t k, len = 0, i;

    for (k = fi; k <= li; k++) {
        const rp_line *l = &t->l[k];
        for (i = l->start + (k > fi); i < l->end; i++)
            put(buf, n, &len, t->d[i]);
        for (i = k < li ? fold_crs(t, l) : 0; i > 0; i--)
            put(buf, n, &len, '\r');
    }
    while (len > 0 && len < n && is_space((unsigned char)buf[len - 1]))
        len--;
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

static int cal_open(rp_cal *c, const unsigned char *d, size_t len, const rp_view *v)
{
    memset(c, 0, sizeof *c);
    c->t.d = d;
    c->t.len = len;
    c->t.v = v;
    return split_lines(&c->t) < 0 || walk(c) < 0 ? -1 : 0;
}

static void cal_close(rp_cal *c)
{
    free(c->t.l);
    free(c->ev);
}

/* ---- planning ---- */

/* Text of a line "NAME:VALUE" followed by a copy of the line break of physical line LI (if
 * any), in place of [A, B).  0 or -1. */
static int add_line(rp_edits *ed, const rp_text *t, size_t a, size_t b, const char *name,
                    size_t nlen, const char *value, size_t li)
{
    const rp_line *l = &t->l[li];
    size_t eol = l->next - l->end;
    strbuf line;
    int r;

    itip_strbuf_init(&line, 0);
    r = itip_strbuf_printf(&line, "%.*s:%s", (int)nlen, name, value) < 0 ||
        itip_strbuf_append(&line, t->d + l->end, eol) < 0 ? -1 :
        rp_edits_add(ed, a, b, line.s, line.len, eol ? l->end : RP_NO_EOL);
    itip_strbuf_free(&line);
    return r;
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
        if (c->t.l[ev->dt_li].breaks == 0) {
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

int rp_text_plan(const rp_view *v, rp_kind kind, rp_edits *ed, char *msg, size_t msglen)
{
    rp_cal c;
    size_t before = ed->n;
    int r;

    if (cal_open(&c, v->d, v->dlen, v) < 0) {
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

    if (cal_open(&c, d, len, NULL) == 0 && c.method[0] != '\0' && strlen(c.method) < n) {
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
