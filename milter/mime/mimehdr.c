/*
 * mimehdr.c - MIME and RFC 5322 header-field helpers (see mimehdr.h).
 *
 * Exports itip_hdr_* (unfold, Content-Type / Content-Disposition with RFC 2231, CTE),
 * itip_rfc2047_decode, itip_parse_date and itip_days_from_civil.  All text is walked with
 * explicit bounds; results are built in strbufs, so nothing is cut at a fixed size.  Must never
 * read past a NUL or a given length, never keep state between calls, never fail on malformed
 * text (only on OOM).
 */
#include "ac-config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "base/charset.h"
#include "mime/decode.h"
#include "mime/mimehdr.h"

/* ---- small helpers ---- */

/* A byte of folding white space: WSP, or a CR or LF that unfolding would have removed. */
static int is_fws(int c)
{
    return itip_is_wsp(c) || c == '\r' || c == '\n';
}

static int is_token(int c)
{
    return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Skips whitespace and (nested, escaped) comments. */
static const char *skip_cfws(const char *p)
{
    for (;;) {
        int depth = 0;
        while (is_fws((unsigned char)*p))
            p++;
        if (*p != '(')
            return p;
        while (*p) {
            if (*p == '\\' && p[1]) {
                p += 2;
                continue;
            }
            if (*p == '(')
                depth++;
            else if (*p == ')' && --depth == 0) {
                p++;
                break;
            }
            p++;
        }
    }
}

static const char *skip_token(const char *p)
{
    while (is_token((unsigned char)*p))
        p++;
    return p;
}

static char *dup_lower(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    size_t i;

    if (d == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        d[i] = (char)lower((unsigned char)s[i]);
    d[n] = '\0';
    return d;
}

char *itip_hdr_unfold(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    size_t i, n = 0;

    if (d == NULL)
        return NULL;
    for (i = 0; i < len; i++)
        if (s[i] != '\r' && s[i] != '\n')
            d[n++] = s[i];
    d[n] = '\0';
    return d;
}

/* ---- raw parameters (before RFC 2231 merging) ---- */

typedef struct {
    char *name;        /* lower-case base name */
    long section;      /* -1: none */
    int ext;           /* "*" at the end: charset'lang'%XX encoded */
    char *value;
    size_t order;
} rawparam;

typedef struct {
    rawparam *v;
    size_t n, alloc;
} rawlist;

static void rawlist_free(rawlist *l)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].value);
    }
    free(l->v);
    l->v = NULL;
    l->n = l->alloc = 0;
}

/* Splits "name*N*" into base, section, ext.  A '*' in another shape is part of the name. */
static void split_name(const char *s, size_t n, size_t *base, long *section, int *ext)
{
    const char *star = memchr(s, '*', n);
    size_t i, k;
    long sec = 0;

    *base = n;
    *section = -1;
    *ext = 0;
    if (star == NULL)
        return;
    k = (size_t)(star - s);
    for (i = k + 1; i < n && s[i] >= '0' && s[i] <= '9' && i - k <= 6; i++)
        sec = sec * 10 + (s[i] - '0');
    if (k == n - 1) {                                   /* name* */
        *ext = 1;
    } else if (i > k + 1 && i == n) {                   /* name*N */
        *section = sec;
    } else if (i > k + 1 && i == n - 1 && s[i] == '*') { /* name*N* */
        *section = sec;
        *ext = 1;
    } else
        return;
    *base = k;
}

static int rawlist_add(rawlist *l, const char *name, size_t nlen, strbuf *val)
{
    rawparam *r;
    size_t base;

    if (l->n == l->alloc) {
        size_t na = l->alloc ? l->alloc * 2 : 8;
        rawparam *v = realloc(l->v, na * sizeof *v);
        if (v == NULL)
            return -1;
        l->v = v;
        l->alloc = na;
    }
    r = &l->v[l->n];
    split_name(name, nlen, &base, &r->section, &r->ext);
    r->name = dup_lower(name, base);
    r->value = itip_strbuf_detach(val, NULL);
    r->order = l->n;
    if (r->name == NULL || r->value == NULL) {
        free(r->name);
        free(r->value);
        return -1;
    }
    l->n++;
    return 0;
}

/* Reads a quoted-string at P (on the opening quote) into V; returns the position after it. */
static const char *read_quoted(const char *p, strbuf *v, int *err)
{
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1])
            p++;
        if (itip_strbuf_putc(v, *p) < 0)
            *err = 1;
    }
    return *p == '"' ? p + 1 : p;
}

/* Reads an unquoted value up to ';' (lenient: spaces allowed), without a trailing comment
 * ("us-ascii (Plain text)") and trailing whitespace. */
static const char *read_bare(const char *p, strbuf *v, int *err)
{
    const char *e = p, *t;

    while (*e && *e != ';')
        e++;
    for (t = p; t < e && !(t > p && *t == '(' && is_fws((unsigned char)t[-1])); t++)
        ;
    while (t > p && is_fws((unsigned char)t[-1]))
        t--;
    if (itip_strbuf_append(v, p, (size_t)(t - p)) < 0)
        *err = 1;
    return e;
}

/* Moves to just after the next ';' outside quoted strings, or to the end. */
static const char *next_param(const char *p)
{
    while (*p && *p != ';') {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (*p == '\0')
                return p;
        }
        p++;
    }
    return *p ? p + 1 : p;
}

static int parse_raw_params(const char *p, rawlist *l)
{
    strbuf v;
    int err = 0;

    itip_strbuf_init(&v, 0);
    for (p = next_param(p); *p && !err; p = next_param(p)) {
        const char *name, *ne;
        p = skip_cfws(p);
        name = p;
        ne = p = skip_token(p);
        p = skip_cfws(p);
        if (ne == name || *p != '=')
            continue;
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        itip_strbuf_reset(&v);
        p = *p == '"' ? read_quoted(p, &v, &err) : read_bare(p, &v, &err);
        if (!err && rawlist_add(l, name, (size_t)(ne - name), &v) < 0)
            err = 1;
    }
    itip_strbuf_free(&v);
    return err ? -1 : 0;
}

/* ---- RFC 2231 merging ---- */

static int rawcmp(const void *a, const void *b)
{
    const rawparam *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    if (c)
        return c;
    if (x->section != y->section)
        return x->section < y->section ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Appends S percent-decoded ("%XX"; a lone '%' stays). */
static int pct_decode(strbuf *out, const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (c == '%' && itip_hexval((unsigned char)s[1]) >= 0 &&
            itip_hexval((unsigned char)s[2]) >= 0) {
            c = (char)(itip_hexval((unsigned char)s[1]) << 4 | itip_hexval((unsigned char)s[2]));
            s += 2;
        }
        if (itip_strbuf_putc(out, c) < 0)
            return -1;
    }
    return 0;
}

/* Appends one extended value; the first carries "charset'lang'", stored into *cs. */
static int ext_value(strbuf *out, const char *s, int first, char **cs)
{
    const char *q1, *q2;

    if (first && (q1 = strchr(s, '\'')) != NULL && (q2 = strchr(q1 + 1, '\'')) != NULL) {
        *cs = dup_lower(s, (size_t)(q1 - s));
        if (*cs == NULL)
            return -1;
        s = q2 + 1;
    }
    return pct_decode(out, s);
}

/* Appends the sections 0, 1, 2... of group v[0..n) (sorted); stops at a gap, skips duplicate
 * sections.  Returns the number of sections used, or -1. */
static long join_sections(const rawparam *v, size_t n, strbuf *out, char **cs)
{
    size_t i;
    long want = 0;
    int r = 0;

    for (i = 0; i < n && r == 0; i++) {
        if (v[i].section != want)
            continue;
        r = v[i].ext ? ext_value(out, v[i].value, want == 0, cs)
                     : itip_strbuf_append(out, v[i].value, strlen(v[i].value));
        want++;
    }
    return r ? -1 : want;
}

/* Builds the value of group v[0..n) (same name, sorted): sections "name*0", "name*1*"...,
 * else "name*=", else "name=".  0, or -1 when out of memory. */
static int merge_group(const rawparam *v, size_t n, strbuf *out)
{
    size_t i, plain = n, single = n;
    char *cs = NULL;
    long used;
    int r = 0;

    for (i = 0; i < n; i++) {
        if (v[i].section < 0 && !v[i].ext && plain == n)
            plain = i;
        if (v[i].section < 0 && v[i].ext && single == n)
            single = i;
    }
    used = join_sections(v, n, out, &cs);
    if (used < 0)
        r = -1;
    else if (used == 0 && single < n)
        r = ext_value(out, v[single].value, 1, &cs);
    else if (used == 0 && plain < n)
        r = itip_strbuf_append(out, v[plain].value, strlen(v[plain].value));
    if (r == 0 && cs && *cs && itip_charset_to_utf8(out, cs, 0) < 0)
        r = -1;                         /* unknown charset: the bytes stay as they are */
    free(cs);
    return r < 0 ? -1 : 0;
}

static int add_param(itip_mime_field *f, const char *name, strbuf *val, size_t *alloc)
{
    itip_mime_param *p;

    if (f->n_params == *alloc) {
        size_t na = *alloc ? *alloc * 2 : 4;
        p = realloc(f->params, na * sizeof *p);
        if (p == NULL)
            return -1;
        f->params = p;
        *alloc = na;
    }
    p = &f->params[f->n_params];
    p->name = strdup(name);
    p->value = itip_strbuf_detach(val, NULL);
    if (p->name == NULL || p->value == NULL) {
        free(p->name);
        free(p->value);
        return -1;
    }
    f->n_params++;
    return 0;
}

static int merge_params(rawlist *l, itip_mime_field *f)
{
    size_t i = 0, j, alloc = 0;
    strbuf v;
    int r = 0;

    if (l->n)
        qsort(l->v, l->n, sizeof *l->v, rawcmp);
    itip_strbuf_init(&v, 0);
    while (i < l->n && r == 0) {
        for (j = i + 1; j < l->n && strcmp(l->v[j].name, l->v[i].name) == 0; j++)
            ;
        itip_strbuf_reset(&v);
        r = merge_group(l->v + i, j - i, &v);
        if (r == 0)
            r = add_param(f, l->v[i].name, &v, &alloc);
        i = j;
    }
    itip_strbuf_free(&v);
    return r;
}

/* ---- Content-Type / Content-Disposition ---- */

/* "type/subtype" (or "type" when T2 is NULL), lower-cased; NULL when out of memory. */
static char *type_value(const char *t1, size_t n1, const char *t2, size_t n2)
{
    char *v = malloc(n1 + n2 + 2);
    size_t i;

    if (v == NULL)
        return NULL;
    for (i = 0; i < n1; i++)
        v[i] = (char)lower((unsigned char)t1[i]);
    v[n1] = '\0';
    if (t2) {
        v[n1] = '/';
        for (i = 0; i < n2; i++)
            v[n1 + 1 + i] = (char)lower((unsigned char)t2[i]);
        v[n1 + 1 + n2] = '\0';
    }
    return v;
}

static int parse_field(const char *value, int want_slash, itip_mime_field *out)
{
    const char *p, *t1, *e1, *t2 = NULL, *e2 = NULL;
    rawlist l = { NULL, 0, 0 };
    int r;

    memset(out, 0, sizeof *out);
    if (value == NULL)
        return 0;
    t1 = skip_cfws(value);
    e1 = p = skip_token(t1);
    if (want_slash && *(p = skip_cfws(p)) == '/') {
        t2 = skip_cfws(p + 1);
        e2 = p = skip_token(t2);
    }
    r = parse_raw_params(p, &l);
    if (r == 0 && e1 > t1 && (!want_slash || (t2 && e2 > t2)) &&
        (out->value = type_value(t1, (size_t)(e1 - t1), t2, t2 ? (size_t)(e2 - t2) : 0)) == NULL)
        r = -1;
    if (r == 0)
        r = merge_params(&l, out);
    rawlist_free(&l);
    if (r < 0)
        itip_hdr_field_clear(out);
    return r;
}

int itip_hdr_parse_ctype(const char *value, itip_mime_field *out)
{
    return parse_field(value, 1, out);
}

int itip_hdr_parse_disposition(const char *value, itip_mime_field *out)
{
    return parse_field(value, 0, out);
}

const char *itip_hdr_param(const itip_mime_field *f, const char *name)
{
    size_t i;

    for (i = 0; i < f->n_params; i++)
        if (strcasecmp(f->params[i].name, name) == 0)
            return f->params[i].value;
    return NULL;
}

void itip_hdr_field_clear(itip_mime_field *f)
{
    size_t i;

    for (i = 0; i < f->n_params; i++) {
        free(f->params[i].name);
        free(f->params[i].value);
    }
    free(f->params);
    free(f->value);
    memset(f, 0, sizeof *f);
}

/* ---- Content-Transfer-Encoding ---- */

itip_cte itip_hdr_parse_cte(const char *value)
{
    static const struct { const char *name; itip_cte cte; } t[] = {
        { "7bit", ITIP_CTE_7BIT }, { "8bit", ITIP_CTE_8BIT }, { "binary", ITIP_CTE_BINARY },
        { "base64", ITIP_CTE_BASE64 }, { "quoted-printable", ITIP_CTE_QP },
    };
    const char *p, *e;
    size_t i;

    if (value == NULL)
        return ITIP_CTE_7BIT;
    p = skip_cfws(value);
    e = skip_token(p);
    if (e == p)
        return *skip_cfws(p) ? ITIP_CTE_UNKNOWN : ITIP_CTE_7BIT;
    for (i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strlen(t[i].name) == (size_t)(e - p) && strncasecmp(p, t[i].name, (size_t)(e - p)) == 0)
            return t[i].cte;
    return ITIP_CTE_UNKNOWN;
}

/* ---- RFC 2047 encoded-words ---- */

typedef struct {
    const char *cs;            /* charset, up to '?' or '*' */
    size_t cslen;
    int enc;                   /* 'b' or 'q' */
    const char *text;
    size_t textlen;
    size_t end;                /* offset just after "?=" */
} eword;

static int cs_char(int c)
{
    return is_token(c) || c == '.';
}

/* Recognises an encoded-word at S[I] ("=?"). */
static int parse_eword(const char *s, size_t len, size_t i, eword *w)
{
    size_t j = i + 2, k;

    w->cs = s + j;
    while (j < len && s[j] != '?' && cs_char((unsigned char)s[j]))
        j++;
    w->cslen = (size_t)(s + j - w->cs);
    if (w->cslen == 0 || j + 3 >= len || s[j] != '?' || s[j + 2] != '?')
        return 0;
    w->enc = lower((unsigned char)s[j + 1]);
    if (w->enc != 'b' && w->enc != 'q')
        return 0;
    w->text = s + j + 3;
    for (k = j + 3; k < len && s[k] != '?'; k++)
        if ((unsigned char)s[k] <= 32 || (unsigned char)s[k] >= 127)
            return 0;
    if (k + 1 >= len || s[k + 1] != '=')
        return 0;
    w->textlen = k - (j + 3);
    w->end = k + 2;
    {
        const char *star = memchr(w->cs, '*', w->cslen);   /* RFC 2231 "charset*lang" */
        if (star)
            w->cslen = (size_t)(star - w->cs);
    }
    return w->cslen > 0;
}

static int eword_decode(const eword *w, strbuf *out)
{
    size_t i;

    if (w->enc == 'b') {
        itip_b64 d;
        itip_b64_init(&d);
        if (itip_b64_feed(&d, w->text, w->textlen, out) || itip_b64_finish(&d, out))
            return -1;
        return 0;
    }
    for (i = 0; i < w->textlen; i++) {
        int c = (unsigned char)w->text[i];
        if (c == '_')
            c = ' ';
        else if (c == '=' && i + 2 < w->textlen &&
                 itip_hexval((unsigned char)w->text[i + 1]) >= 0 &&
                 itip_hexval((unsigned char)w->text[i + 2]) >= 0) {
            c = itip_hexval((unsigned char)w->text[i + 1]) << 4 |
                itip_hexval((unsigned char)w->text[i + 2]);
            i += 2;
        }
        if (itip_strbuf_putc(out, (char)c) < 0)
            return -1;
    }
    return 0;
}

typedef struct {
    strbuf run;                /* decoded bytes of adjacent words in one charset */
    char *cs;                  /* their charset */
    int failed;
} ew_state;

/* Converts and appends the pending run.  0 or -1. */
static int ew_flush(ew_state *st, strbuf *out)
{
    int r = 0;

    if (st->run.len) {
        r = itip_charset_to_utf8(&st->run, st->cs, 0);
        if (r == 1)
            st->failed = 1;
        if (r >= 0)
            r = itip_strbuf_append(out, st->run.s, st->run.len);
    }
    itip_strbuf_reset(&st->run);
    free(st->cs);
    st->cs = NULL;
    return r;
}

static int ew_add(ew_state *st, const eword *w, strbuf *out)
{
    if (st->cs && (strlen(st->cs) != w->cslen || strncasecmp(st->cs, w->cs, w->cslen) != 0) &&
        ew_flush(st, out) < 0)
        return -1;
    if (st->cs == NULL && (st->cs = dup_lower(w->cs, w->cslen)) == NULL)
        return -1;
    return eword_decode(w, &st->run);
}

static int only_wsp(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!is_fws((unsigned char)s[i]))
            return 0;
    return 1;
}

int itip_rfc2047_decode(const char *s, size_t len, strbuf *out)
{
    ew_state st;
    size_t i = 0, lit = 0;         /* literal text s[lit..i) not yet copied */
    int after_word = 0, r = 0;
    eword w;

    itip_strbuf_init(&st.run, 0);
    st.cs = NULL;
    st.failed = 0;
    while (i + 1 < len && r == 0) {
        if (s[i] != '=' || s[i + 1] != '?' || !parse_eword(s, len, i, &w)) {
            i++;
            continue;
        }
        if (!(after_word && only_wsp(s + lit, i - lit))) {
            r = ew_flush(&st, out);
            if (r == 0)
                r = itip_strbuf_append(out, s + lit, i - lit);
        }
        if (r == 0)
            r = ew_add(&st, &w, out);
        lit = i = w.end;
        after_word = 1;
    }
    if (r == 0)
        r = ew_flush(&st, out);
    if (r == 0)
        r = itip_strbuf_append(out, s + lit, len - lit);
    itip_strbuf_free(&st.run);
    free(st.cs);
    return r < 0 ? r : st.failed;
}

/* ---- RFC 5322 dates ---- */

static const char *read_num(const char *p, int maxdig, long *v, int *ndig)
{
    *v = 0;
    *ndig = 0;
    while (*p >= '0' && *p <= '9' && *ndig < maxdig) {
        *v = *v * 10 + (*p++ - '0');
        (*ndig)++;
    }
    return p;
}

static const char *read_alpha(const char *p, size_t *n)
{
    const char *s = p;

    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
        p++;
    *n = (size_t)(p - s);
    return p;
}

/* Index of the 3-letter (or longer) name S in LIST ("jan feb ..."), or -1. */
static int name_index(const char *s, size_t n, const char *const *list, int count)
{
    int i;

    if (n < 3)
        return -1;
    for (i = 0; i < count; i++)
        if (strncasecmp(s, list[i], 3) == 0)
            return i;
    return -1;
}

long long itip_days_from_civil(long long y, int m, int d)
{
    long long era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int month_days(long y, long m)
{
    static const int md[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return md[m - 1];
}

/* Zone offset in seconds east of UTC; *ok cleared when malformed. */
static long parse_zone(const char *p, int *ok)
{
    static const struct { const char *n; int h; } z[] = {
        { "ut", 0 }, { "gmt", 0 }, { "z", 0 }, { "est", -5 }, { "edt", -4 }, { "cst", -6 },
        { "cdt", -5 }, { "mst", -7 }, { "mdt", -6 }, { "pst", -8 }, { "pdt", -7 },
    };
    size_t n, i;

    p = skip_cfws(p);
    if (*p == '+' || *p == '-') {
        long v;
        int nd;
        read_num(p + 1, 4, &v, &nd);
        if (nd != 4 || v % 100 > 59) {
            *ok = 0;
            return 0;
        }
        return (*p == '-' ? -1 : 1) * ((v / 100) * 3600 + (v % 100) * 60);
    }
    read_alpha(p, &n);
    for (i = 0; i < sizeof z / sizeof z[0]; i++)
        if (strlen(z[i].n) == n && strncasecmp(p, z[i].n, n) == 0)
            return z[i].h * 3600L;
    return 0;              /* military, unknown or missing: -0000 */
}

typedef struct {
    long day, mon, year, hour, min, sec;
} date_parts;

/* "[dow ,] d mon y" */
static const char *parse_dmy(const char *p, date_parts *d)
{
    static const char *const dows[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
    static const char *const mons[] = { "jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec" };
    size_t n;
    int nd;

    p = skip_cfws(p);
    read_alpha(p, &n);
    if (n) {
        if (name_index(p, n, dows, 7) < 0)
            return NULL;
        p = skip_cfws(p + n);
        if (*p == ',')
            p = skip_cfws(p + 1);
    }
    p = read_num(p, 2, &d->day, &nd);
    if (nd == 0)
        return NULL;
    p = skip_cfws(*p == '-' ? p + 1 : p);
    read_alpha(p, &n);
    if ((d->mon = name_index(p, n, mons, 12) + 1) == 0)
        return NULL;
    p = skip_cfws(p + n);
    p = skip_cfws(*p == '-' ? p + 1 : p);
    p = read_num(p, 4, &d->year, &nd);
    if (nd < 2 || (*p >= '0' && *p <= '9'))
        return NULL;
    if (nd == 2)
        d->year += d->year < 50 ? 2000 : 1900;
    else if (nd == 3)
        d->year += 1900;
    return p;
}

/* "hh:mm[:ss]" */
static const char *parse_hms(const char *p, date_parts *d)
{
    int nd;

    p = read_num(skip_cfws(p), 2, &d->hour, &nd);
    if (nd == 0 || *(p = skip_cfws(p)) != ':')
        return NULL;
    p = read_num(skip_cfws(p + 1), 2, &d->min, &nd);
    if (nd != 2)
        return NULL;
    d->sec = 0;
    if (*skip_cfws(p) == ':') {
        p = read_num(skip_cfws(skip_cfws(p) + 1), 2, &d->sec, &nd);
        if (nd != 2)
            return NULL;
    }
    return p;
}

int itip_parse_date(const char *s, long long *unix_time)
{
    date_parts d;
    const char *p;
    long off;
    int ok = 1;

    if (s == NULL || (p = parse_dmy(s, &d)) == NULL || (p = parse_hms(p, &d)) == NULL)
        return -1;
    off = parse_zone(p, &ok);
    if (!ok || d.day < 1 || d.day > month_days(d.year, d.mon) || d.hour > 23 || d.min > 59 ||
        d.sec > 60)
        return -1;
    *unix_time = itip_days_from_civil(d.year, (int)d.mon, (int)d.day) * 86400LL +
                 d.hour * 3600LL + d.min * 60LL + d.sec - off;
    return 0;
}
