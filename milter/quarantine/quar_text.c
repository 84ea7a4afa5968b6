/*
 * quar_text.c - safe printing of message content and the calendar lines behind a finding
 * (see quar_text.h).  Reads decoded calendar text only; never interprets it beyond splitting
 * lines, names and BEGIN/END; never writes a raw control character.
 */
#include "ac-config.h"
#include <string.h>
#include <strings.h>
#include "base/charset.h"
#include "quar_text.h"
#include "base/strbuf.h"

#define COMP_DEPTH 32           /* component names remembered; deeper ones are counted */
#define COMP_NAME 64            /* bytes of a component name kept (longer: never matches) */

/* The code point of the valid N-byte UTF-8 sequence at S. */
static unsigned code_point(const unsigned char *s, int n)
{
    unsigned cp = s[0] & (0x7F >> n);
    int i;

    for (i = 1; i < n; i++)
        cp = (cp << 6) | (s[i] & 0x3F);
    return cp;
}

/* Code points that are controls or change how the surrounding text is displayed. */
static int invisible(unsigned cp)
{
    return (cp >= 0x80 && cp <= 0x9F) || cp == 0xAD || (cp >= 0x200B && cp <= 0x200F) ||
           (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F) ||
           cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB);
}

void quar_put_safe(FILE *out, const char *str, size_t len, size_t max)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, stop = max && max < len ? max : len;

    while (i < stop) {
        int n = itip_utf8_seq(s + i, len - i);
        if (n <= 0) {
            fprintf(out, "\\x%02x", s[i++]);
        } else if (n > 1) {
            if (invisible(code_point(s + i, n)))
                fprintf(out, "\\u{%04X}", code_point(s + i, n));
            else
                fwrite(s + i, 1, (size_t)n, out);
            i += (size_t)n;
        } else if (s[i] == '\\') {
            fputs("\\\\", out);
            i++;
        } else if (s[i] < 0x20 || s[i] == 0x7F) {
            fprintf(out, "\\x%02x", s[i++]);
        } else {
            putc(s[i++], out);
        }
    }
    if (stop < len)
        fputs("...", out);
}

void quar_puts_safe(FILE *out, const char *s)
{
    if (s == NULL)
        fputs("-", out);
    else
        quar_put_safe(out, s, strlen(s), 0);
}

typedef enum { SEL_PROP, SEL_COMP, SEL_ALL } sel_mode;

typedef struct {
    FILE *out;
    sel_mode mode;
    const char *prop, *comp;
    size_t max, shown, skipped;
    int capture;                /* SEL_COMP: depth where the component began, or -1 */
    int depth;
    char stack[COMP_DEPTH][COMP_NAME];    /* copies: the line buffer is reused */
    size_t stack_len[COMP_DEPTH];
} sel;

/* Appends the physical line at *s (without its line end) to B and moves past it. */
static void physical(const char **s, const char *end, strbuf *b, size_t *count)
{
    const char *nl = memchr(*s, '\n', (size_t)(end - *s)), *e = nl ? nl : end;

    if (e > *s && e[-1] == '\r')
        e--;
    if (e > *s)
        itip_strbuf_append(b, *s, (size_t)(e - *s));
    *s = nl ? nl + 1 : end;
    (*count)++;
}

/* Next unfolded line of [*s, end) into B; its first physical line number in *lineno. */
static int next_line(const char **s, const char *end, strbuf *b, size_t *count, size_t *lineno)
{
    if (*s >= end)
        return 0;
    itip_strbuf_reset(b);
    *lineno = *count + 1;
    physical(s, end, b, count);
    while (*s < end && (**s == ' ' || **s == '\t')) {
        (*s)++;             /* the folding whitespace */
        physical(s, end, b, count);
    }
    return 1;
}

static int name_is(const char *line, size_t nlen, const char *want)
{
    return want && strlen(want) == nlen && strncasecmp(line, want, nlen) == 0;
}

static void show(sel *x, const char *line, size_t len, size_t lineno)
{
    if (x->shown >= x->max) {
        x->skipped++;
        return;
    }
    fprintf(x->out, "    %5zu  ", lineno);
    quar_put_safe(x->out, line, len, QUAR_LINE_MAX);
    putc('\n', x->out);
    x->shown++;
}

static int top_is(const sel *x, const char *comp)
{
    int d = x->depth - 1;

    return d >= 0 && d < COMP_DEPTH && x->stack_len[d] < COMP_NAME &&
           strlen(comp) == x->stack_len[d] && strncasecmp(x->stack[d], comp, x->stack_len[d]) == 0;
}

/* Decides whether LINE is shown, and keeps track of the component nesting. */
static void visit(sel *x, const char *line, size_t len, size_t lineno)
{
    size_t nlen = strcspn(line, ";:");
    const char *val = line[nlen] == ':' ? line + nlen + 1 : line + len;
    int begin = name_is(line, nlen, "BEGIN"), end = name_is(line, nlen, "END");
    size_t vlen = (size_t)(line + len - val);

    if (begin && x->mode == SEL_COMP && x->capture < 0 && strlen(x->comp) == vlen &&
        strncasecmp(val, x->comp, vlen) == 0)
        x->capture = x->depth;
    if (x->mode == SEL_ALL || (x->mode == SEL_COMP && x->capture >= 0) ||
        (x->mode == SEL_PROP && name_is(line, nlen, x->prop) &&
         (x->comp == NULL || top_is(x, x->comp))))
        show(x, line, len, lineno);
    if (begin) {
        if (x->depth < COMP_DEPTH) {
            memcpy(x->stack[x->depth], val, vlen < COMP_NAME ? vlen : COMP_NAME - 1);
            x->stack[x->depth][vlen < COMP_NAME ? vlen : COMP_NAME - 1] = '\0';
            x->stack_len[x->depth] = vlen;
        }
        x->depth++;
    } else if (end && x->depth > 0) {
        x->depth--;
        if (x->capture == x->depth)
            x->capture = -1;
    }
}

/* One pass over the part in MODE; returns the number of lines shown. */
static size_t walk(FILE *out, const itip_calpart *p, sel_mode mode, const char *prop,
                   const char *comp, size_t max)
{
    sel x;
    strbuf b;
    const char *s = p->data ? p->data : "", *end = s + (p->data ? p->len : 0);
    size_t count = 0, lineno;

    memset(&x, 0, sizeof x);
    x.out = out;
    x.mode = mode;
    x.prop = prop;
    x.comp = comp;
    x.max = max;
    x.capture = -1;
    itip_strbuf_init(&b, 0);
    while (next_line(&s, end, &b, &count, &lineno))
        visit(&x, b.s ? b.s : "", b.len, lineno);
    itip_strbuf_free(&b);
    if (x.skipped)
        fprintf(out, "           ... %zu more line%s\n", x.skipped, x.skipped == 1 ? "" : "s");
    return x.shown;
}

static const char *cte_name(itip_cte c)
{
    static const char *const names[] = { "7bit", "8bit", "binary", "base64",
                                         "quoted-printable", "unknown" };

    return c <= ITIP_CTE_UNKNOWN ? names[c] : "unknown";
}

/* The part's MIME header fields as the walker parsed them. */
static void put_mime(FILE *out, const itip_calpart *p)
{
    fputs("     part  Content-Type: ", out);
    quar_puts_safe(out, p->media_type);
    if (p->method_param) {
        fputs("; method=", out);
        quar_puts_safe(out, p->method_param);
    }
    if (p->charset) {
        fputs("; charset=", out);
        quar_puts_safe(out, p->charset);
    }
    fprintf(out, "\n     part  Content-Transfer-Encoding: %s\n", cte_name(p->cte));
    if (p->disposition_attachment || p->filename) {
        fprintf(out, "     part  Content-Disposition: %s",
                p->disposition_attachment ? "attachment" : "inline");
        if (p->filename) {
            fputs("; filename=", out);
            quar_puts_safe(out, p->filename);
        }
        putc('\n', out);
    }
}

void quar_put_calendar_lines(FILE *out, const itip_calpart *p, const itip_finding *f,
                             size_t max_lines)
{
    const char *comp = f->component, *prop = f->property;

    if (comp && strcmp(comp, "MIME") == 0) {
        put_mime(out, p);
        walk(out, p, SEL_PROP, "METHOD", NULL, max_lines);
        return;
    }
    if (prop && walk(out, p, SEL_PROP, prop, comp, max_lines) > 0)
        return;
    if (prop) {
        fputs("           (no ", out);
        quar_puts_safe(out, prop);
        fputs(" line", out);
        if (comp) {
            fputs(" in ", out);
            quar_puts_safe(out, comp);
        }
        fputs(")\n", out);
    }
    if (comp && walk(out, p, SEL_COMP, NULL, comp, max_lines) > 0)
        return;
    walk(out, p, SEL_ALL, NULL, NULL, max_lines);
}
