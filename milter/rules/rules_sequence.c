/*
 * rules_sequence.c - the stateless SEQUENCE rules (catalogue section E).
 *
 *   E1 sequence-out-of-range      SEQUENCE or X-MICROSOFT-CDO-APPT-SEQUENCE is not a decimal
 *                                 integer in 0..2147483647 (all methods, VEVENT and VTODO)
 *   E2 cdo-appt-sequence-mismatch X-MICROSOFT-CDO-APPT-SEQUENCE != SEQUENCE (REQUEST, CANCEL,
 *                                 REPLY, COUNTER): would-fail when lower, info when higher
 *   E4 cancel-sequence-missing    CANCEL without SEQUENCE (stateless form: info)
 *
 * libical reads INTEGER values with atoi(): "4294967297" becomes 1, "abc" becomes 0 and the
 * original text is lost.  So the values are read from the part's decoded text (c->part->data,
 * the very text libical parsed) by a small line scanner that follows BEGIN/END to attribute
 * each line to the n-th top-level VEVENT/VTODO of the first VCALENDAR, in the same order as
 * libical's tree.  Only when no text is available are libical's integers used.
 *
 * Must never: trust libical's integer for SEQUENCE when the text is at hand, overflow while
 * reading digits, move an iterator another helper relies on, or report more than
 * MAX_PER_RULE findings of one rule in one part.
 */
#include "ac-config.h"
#include <stdlib.h>
#include <string.h>
#include "rules/calendar.h"
#include "rules/calutil.h"
#include "base/charset.h"

#define MAX_PER_RULE 5              /* findings of one rule in one calendar part */
#define SEQ_MAX 2147483647LL        /* PidLidAppointmentSequence: PtypInteger32 */
#define RAW_LINE_MAX 256            /* bytes of one unfolded line kept by the scanner: plenty
                                       for BEGIN/END and any valid SEQUENCE; a longer value is
                                       invalid anyway and shown cut (bounded on purpose) */
#define SHOW_MAX 40                 /* characters of an offending value shown in a detail */

static const char XSEQ[] = "X-MICROSOFT-CDO-APPT-SEQUENCE";

typedef enum { SEQ_OK, SEQ_EMPTY, SEQ_NOT_DECIMAL, SEQ_NEGATIVE, SEQ_TOO_BIG } seqstatus;

/* What is known of one SEQUENCE-like property of a component: the first occurrence. */
typedef struct {
    int present;                    /* number of occurrences seen */
    int valid;                      /* the first occurrence is a valid value */
    long long value;                /* its value when valid */
} seqval;

typedef struct {
    icalcomponent *comp;            /* a top-level VEVENT or VTODO of c->vcal */
    seqval seq, xseq;
} compseq;

typedef struct {
    itip_calctx *c;
    compseq *cs;
    size_t ncs;
    int e1;                         /* E1 findings emitted so far */
} seqctx;

/* ---- value syntax ---- */

/* Parses a SEQUENCE text: optional blanks, optional sign, decimal digits. */
static seqstatus parse_seq(const char *s, long long *out)
{
    const char *e;
    long long v = 0;
    int neg = 0;

    if (*s == '\0')
        return SEQ_EMPTY;           /* libical drops the property and reports it (B1) */
    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (s == e)
        return SEQ_NOT_DECIMAL;     /* blanks only: libical silently reads 0 */
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (s == e)
        return SEQ_NOT_DECIMAL;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9')
            return SEQ_NOT_DECIMAL;
        if (v <= SEQ_MAX)           /* stops growing once too big: cannot overflow */
            v = v * 10 + (*s - '0');
    }
    if (neg && v != 0)
        return SEQ_NEGATIVE;
    if (v > SEQ_MAX)
        return SEQ_TOO_BIG;
    *out = v;
    return SEQ_OK;
}

static const char *seq_problem(seqstatus st)
{
    switch (st) {
    case SEQ_EMPTY:       return "empty";
    case SEQ_NOT_DECIMAL: return "not a decimal integer";
    case SEQ_NEGATIVE:    return "negative";
    case SEQ_TOO_BIG:     return "above 2147483647";
    default:              return "valid";
    }
}

/* Records one occurrence in *sv and reports E1 when it is bad.  CUT: the text was cut. */
static void take_value(seqctx *x, icalcomponent *comp, seqval *sv, const char *name,
                       const char *text, int cut)
{
    long long v = 0;
    seqstatus st = parse_seq(text, &v);

    if (st == SEQ_OK && cut)
        st = SEQ_NOT_DECIMAL;       /* digits followed by more than RAW_LINE_MAX of blanks */
    if (sv != NULL && sv->present++ == 0) {
        sv->valid = st == SEQ_OK;
        sv->value = v;
    }
    if (st == SEQ_OK || st == SEQ_EMPTY)
        return;
    if (x->e1++ >= MAX_PER_RULE)
        return;
    itip_emit(x->c, ITIP_R_SEQUENCE_OUT_OF_RANGE, ITIP_SEV_DEGRADE, comp, name,
              "%s \"%.*s%s\" is %s: PidLidAppointmentSequence is an unsigned 32-bit integer, "
              "so later updates and replies are misordered", name, SHOW_MAX, text,
              (cut || strlen(text) > SHOW_MAX) ? "..." : "", seq_problem(st));
}

/* ---- the line scanner over the part's text ---- */

typedef struct {
    const char *p, *end;
} rawcursor;

/* Reads the next logical line, unfolded, into buf (RAW_LINE_MAX).  Line ends are CRLF, LF or
 * a bare CR, as libical accepts them.  Returns 0 at the end of the text. */
static int raw_next_line(rawcursor *r, char *buf, int *cut)
{
    size_t n = 0;

    *cut = 0;
    if (r->p >= r->end)
        return 0;
    for (;;) {
        while (r->p < r->end && *r->p != '\r' && *r->p != '\n') {
            if (n + 1 < RAW_LINE_MAX)
                buf[n++] = *r->p;
            else
                *cut = 1;
            r->p++;
        }
        if (r->p < r->end && *r->p == '\r')
            r->p++;
        if (r->p < r->end && *r->p == '\n')
            r->p++;
        if (r->p < r->end && (*r->p == ' ' || *r->p == '\t')) {
            r->p++;                 /* folded: the next physical line continues this one */
            continue;
        }
        break;
    }
    buf[n] = '\0';
    return 1;
}

/* Length of the property name of LINE; *value is set after the first ':' outside quotes. */
static size_t line_split(char *line, char **value)
{
    size_t n = strcspn(line, ";:");
    char *p = line + n;
    int quoted = 0;

    *value = NULL;
    for (; *p; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (*p == ':' && !quoted) {
            *value = p + 1;
            break;
        }
    }
    return n;
}

/* Strips blanks around a BEGIN/END value in place. */
static const char *trim(char *s)
{
    size_t n;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

typedef struct {
    int depth;                      /* 0 before the first VCALENDAR, 1 in it, 2 in a child */
    long ordinal;                   /* VEVENT/VTODO children of the first VCALENDAR so far */
    compseq *cur;                   /* the child being read, if it maps onto libical's tree */
    int in_child;                   /* reading a top-level VEVENT or VTODO (mapped or not) */
    int done;                       /* the first VCALENDAR has ended */
} rawstate;

static void raw_begin(seqctx *x, rawstate *st, const char *what)
{
    icalcomponent_kind k = icalcomponent_string_to_kind(what);

    if (st->depth == 0) {
        if (k == ICAL_VCALENDAR_COMPONENT)
            st->depth = 1;
        return;
    }
    if (st->depth++ == 1 && (k == ICAL_VEVENT_COMPONENT || k == ICAL_VTODO_COMPONENT)) {
        long i = st->ordinal++;
        st->in_child = 1;
        st->cur = NULL;
        /* libical keeps the children in text order: the i-th one is ours if the kind agrees */
        if (i < (long)x->ncs && icalcomponent_isa(x->cs[i].comp) == k)
            st->cur = &x->cs[i];
    }
}

static void raw_end(rawstate *st)
{
    if (st->depth == 0)
        return;
    if (--st->depth == 1) {
        st->in_child = 0;
        st->cur = NULL;
    } else if (st->depth == 0) {
        st->done = 1;
    }
}

/* Walks the part's text and fills x->cs from it; E1 for every bad occurrence. */
static void raw_scan(seqctx *x, const char *text)
{
    rawcursor r;
    rawstate st;
    char line[RAW_LINE_MAX];
    int cut;

    memset(&st, 0, sizeof st);
    r.p = text;
    r.end = text + strlen(text);
    while (!st.done && raw_next_line(&r, line, &cut)) {
        char *value;
        size_t n = line_split(line, &value);
        icalcomponent *comp = st.cur ? st.cur->comp : NULL;

        if (value == NULL)
            continue;
        if (itip_name_is(line, n, "BEGIN"))
            raw_begin(x, &st, trim(value));
        else if (itip_name_is(line, n, "END"))
            raw_end(&st);
        else if (st.depth == 2 && st.in_child && itip_name_is(line, n, "SEQUENCE"))
            take_value(x, comp, st.cur ? &st.cur->seq : NULL, "SEQUENCE", value, cut);
        else if (st.depth == 2 && st.in_child && itip_name_is(line, n, XSEQ))
            take_value(x, comp, st.cur ? &st.cur->xseq : NULL, XSEQ, value, cut);
    }
}

/* Without the part's text: libical's values (an overflow may go unnoticed here). */
static void libical_scan(seqctx *x)
{
    size_t i;
    char num[32];

    for (i = 0; i < x->ncs; i++) {
        icalcomponent *comp = x->cs[i].comp;
        icalproperty *p = icalcomponent_get_first_property(comp, ICAL_SEQUENCE_PROPERTY);
        icalproperty *xp = itip_xprop(comp, XSEQ);

        if (p != NULL) {
            snprintf(num, sizeof num, "%d", icalproperty_get_sequence(p));
            take_value(x, comp, &x->cs[i].seq, "SEQUENCE", num, 0);
        }
        if (xp != NULL)
            take_value(x, comp, &x->cs[i].xseq, XSEQ, itip_xprop_value(xp), 0);
    }
}

/* ---- E2 and E4 per component ---- */

static void check_e2(seqctx *x, const compseq *s, int *count)
{
    long long seq = s->seq.present ? s->seq.value : 0;   /* absent SEQUENCE means 0 */

    if (!s->xseq.present || !s->xseq.valid || (s->seq.present && !s->seq.valid))
        return;                     /* nothing to compare, or E1 already said it */
    if (s->xseq.value == seq || (*count)++ >= MAX_PER_RULE)
        return;
    if (s->xseq.value < seq)
        itip_emit(x->c, ITIP_R_CDO_APPT_SEQUENCE_MISMATCH, ITIP_SEV_WOULD_FAIL, s->comp, XSEQ,
                  "%s:%lld is lower than SEQUENCE:%lld%s: Exchange imports the X-property "
                  "first, so this %s looks out of date and is ignored", XSEQ, s->xseq.value,
                  seq, s->seq.present ? "" : " (absent)", x->c->method);
    else
        itip_emit(x->c, ITIP_R_CDO_APPT_SEQUENCE_MISMATCH, ITIP_SEV_INFO, s->comp, XSEQ,
                  "%s:%lld is higher than SEQUENCE:%lld%s: Exchange uses the X-property, "
                  "other converters may use SEQUENCE", XSEQ, s->xseq.value, seq,
                  s->seq.present ? "" : " (absent)");
}

/* The stateless form (info).  With a store, rules_state.c raises this finding to degrade and
 * rewords it when the series was seen with SEQUENCE > 0 (one finding, never two). */
static void check_e4(seqctx *x, const compseq *s, int *count)
{
    if (s->seq.present ||
        icalcomponent_get_first_property(s->comp, ICAL_SEQUENCE_PROPERTY) != NULL)
        return;
    if ((*count)++ >= MAX_PER_RULE)
        return;
    itip_emit(x->c, ITIP_R_CANCEL_SEQUENCE_MISSING, ITIP_SEV_INFO, s->comp, "SEQUENCE",
              "CANCEL without SEQUENCE: it compares as sequence 0, older than any updated "
              "meeting (RFC 5546 requires it when the meeting's SEQUENCE is above 0)");
}

/* The top-level VEVENT/VTODO children of vcal, in order; NULL with *n = 0 when none (or out
 * of memory: then the E2/E4 checks are skipped and E1 still runs on the text). */
static compseq *collect(icalcomponent *vcal, size_t *n)
{
    icalcompiter it;
    icalcomponent *k;
    compseq *cs;
    size_t count = 0, i = 0;

    *n = 0;
    for (it = icalcomponent_begin_component(vcal, ICAL_ANY_COMPONENT);
         (k = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it))
        if (icalcomponent_isa(k) == ICAL_VEVENT_COMPONENT ||
            icalcomponent_isa(k) == ICAL_VTODO_COMPONENT)
            count++;
    if (count == 0 || (cs = calloc(count, sizeof *cs)) == NULL)
        return NULL;
    for (it = icalcomponent_begin_component(vcal, ICAL_ANY_COMPONENT);
         (k = icalcompiter_deref(&it)) != NULL && i < count; icalcompiter_next(&it))
        if (icalcomponent_isa(k) == ICAL_VEVENT_COMPONENT ||
            icalcomponent_isa(k) == ICAL_VTODO_COMPONENT)
            cs[i++].comp = k;
    *n = i;
    return cs;
}

void itip_check_sequence(itip_calctx *c)
{
    seqctx x;
    size_t i;
    int n2 = 0, n4 = 0;
    int e2 = itip_method_is(c, "REQUEST") || itip_method_is(c, "CANCEL") ||
             itip_method_is(c, "REPLY") || itip_method_is(c, "COUNTER");

    if (c->vcal == NULL)
        return;
    memset(&x, 0, sizeof x);
    x.c = c;
    x.cs = collect(c->vcal, &x.ncs);
    if (c->part != NULL && c->part->data != NULL)
        raw_scan(&x, c->part->data);
    else
        libical_scan(&x);
    for (i = 0; i < x.ncs; i++) {
        if (icalcomponent_isa(x.cs[i].comp) != ICAL_VEVENT_COMPONENT)
            continue;
        if (e2)
            check_e2(&x, &x.cs[i], &n2);
        if (itip_method_is(c, "CANCEL"))
            check_e4(&x, &x.cs[i], &n4);
    }
    free(x.cs);
}
