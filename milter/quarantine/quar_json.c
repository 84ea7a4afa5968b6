/*
 * quar_json.c - recursive-descent JSON reader (see quar_json.h).  Bounded depth; every
 * allocation checked; a failed parse frees what it built.  Never reads past LEN.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quar_json.h"
#include "base/strbuf.h"

typedef struct {
    const char *s, *end;
    const char *fail;           /* first error message, or NULL */
} qj_in;

static int parse_value(qj_in *in, qj_value *v, int depth);

static void ws(qj_in *in)
{
    while (in->s < in->end && (*in->s == ' ' || *in->s == '\t' || *in->s == '\n' ||
                               *in->s == '\r'))
        in->s++;
}

static int bad(qj_in *in, const char *msg)
{
    if (!in->fail)
        in->fail = msg;
    return -1;
}

static void free_inner(qj_value *v)
{
    size_t i;

    free(v->str);
    for (i = 0; i < v->n; i++) {
        free_inner(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static int hex4(qj_in *in, unsigned *out)
{
    unsigned u = 0;
    int i;

    if (in->end - in->s < 4)
        return bad(in, "short \\u escape");
    for (i = 0; i < 4; i++) {
        char c = *in->s++;
        u <<= 4;
        if (c >= '0' && c <= '9')
            u |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            u |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            u |= (unsigned)(c - 'A' + 10);
        else
            return bad(in, "bad \\u escape");
    }
    *out = u;
    return 0;
}

static int put_utf8(strbuf *b, unsigned cp)
{
    char u[4];
    size_t n;

    if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return itip_strbuf_append(b, u, n);
}

/* \uXXXX, possibly the first half of a surrogate pair. */
static int unicode_escape(qj_in *in, strbuf *b)
{
    unsigned cp, lo;

    if (hex4(in, &cp) < 0)
        return -1;
    if (cp >= 0xD800 && cp <= 0xDBFF && in->end - in->s >= 6 && in->s[0] == '\\' &&
        in->s[1] == 'u') {
        const char *save = in->s;
        in->s += 2;
        if (hex4(in, &lo) < 0)
            return -1;
        if (lo >= 0xDC00 && lo <= 0xDFFF)
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        else
            in->s = save;
    }
    return put_utf8(b, cp);
}

static int escape(qj_in *in, strbuf *b)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *p;

    if (in->s >= in->end)
        return bad(in, "unterminated string");
    if (*in->s == 'u') {
        in->s++;
        return unicode_escape(in, b);
    }
    p = strchr(from, *in->s);
    if (p == NULL || *in->s == '\0')
        return bad(in, "bad escape");
    in->s++;
    return itip_strbuf_putc(b, to[p - from]);
}

static int parse_string(qj_in *in, char **out)
{
    strbuf b;

    itip_strbuf_init(&b, 0);
    in->s++;                                        /* the opening quote */
    while (in->s < in->end && *in->s != '"') {
        int r;
        if ((unsigned char)*in->s < 0x20)
            r = bad(in, "control character in string");
        else if (*in->s == '\\') {
            in->s++;
            r = escape(in, &b);
        } else
            r = itip_strbuf_putc(&b, *in->s++);
        if (r < 0) {
            itip_strbuf_free(&b);
            return bad(in, "out of memory");
        }
    }
    if (in->s >= in->end) {
        itip_strbuf_free(&b);
        return bad(in, "unterminated string");
    }
    in->s++;
    *out = itip_strbuf_detach(&b, NULL);
    return *out ? 0 : bad(in, "out of memory");
}

static int parse_number(qj_in *in, qj_value *v)
{
    char buf[64], *end;
    size_t n = 0;

    while (in->s + n < in->end && n < sizeof buf - 1 && strchr("+-0123456789.eE", in->s[n]))
        n++;
    memcpy(buf, in->s, n);
    buf[n] = '\0';
    v->num = strtod(buf, &end);
    if (n == 0 || *end != '\0')
        return bad(in, "bad number");
    v->type = QJ_NUM;
    in->s += n;
    return 0;
}

static int word(qj_in *in, const char *w, qj_value *v, qj_type t, int b)
{
    size_t n = strlen(w);

    if ((size_t)(in->end - in->s) < n || memcmp(in->s, w, n) != 0)
        return bad(in, "unexpected character");
    in->s += n;
    v->type = t;
    v->b = b;
    return 0;
}

/* Adds a zeroed element (and key slot) to V; returns it or NULL. */
static qj_value *grow(qj_value *v)
{
    qj_value *items = realloc(v->items, (v->n + 1) * sizeof *items);

    if (items == NULL)
        return NULL;
    v->items = items;
    if (v->type == QJ_OBJ) {
        char **keys = realloc(v->keys, (v->n + 1) * sizeof *keys);
        if (keys == NULL)
            return NULL;
        v->keys = keys;
        keys[v->n] = NULL;
    }
    memset(&items[v->n], 0, sizeof *items);
    return &items[v->n++];
}

/* Array or object: the opening bracket has been seen. */
static int parse_container(qj_in *in, qj_value *v, int depth, char close)
{
    int first = 1;

    v->type = close == ']' ? QJ_ARR : QJ_OBJ;
    in->s++;
    for (;;) {
        qj_value *item;
        char *key = NULL;

        ws(in);
        if (in->s < in->end && *in->s == close && first) {
            in->s++;
            return 0;
        }
        if (v->type == QJ_OBJ) {
            if (in->s >= in->end || *in->s != '"' || parse_string(in, &key) < 0)
                return bad(in, "expected a member name");
            ws(in);
            if (in->s >= in->end || *in->s++ != ':') {
                free(key);
                return bad(in, "expected ':'");
            }
        }
        item = grow(v);
        if (item == NULL) {
            free(key);
            return bad(in, "out of memory");
        }
        if (v->keys)
            v->keys[v->n - 1] = key;
        if (parse_value(in, item, depth + 1) < 0)
            return -1;
        ws(in);
        if (in->s < in->end && *in->s == ',') {
            in->s++;
            first = 0;
            continue;
        }
        if (in->s < in->end && *in->s == close) {
            in->s++;
            return 0;
        }
        return bad(in, "expected ',' or a closing bracket");
    }
}

static int parse_value(qj_in *in, qj_value *v, int depth)
{
    if (depth > QJ_MAX_DEPTH)
        return bad(in, "nested too deeply");
    ws(in);
    if (in->s >= in->end)
        return bad(in, "unexpected end of input");
    switch (*in->s) {
    case '{':
        return parse_container(in, v, depth, '}');
    case '[':
        return parse_container(in, v, depth, ']');
    case '"':
        v->type = QJ_STR;
        return parse_string(in, &v->str);
    case 't':
        return word(in, "true", v, QJ_BOOL, 1);
    case 'f':
        return word(in, "false", v, QJ_BOOL, 0);
    case 'n':
        return word(in, "null", v, QJ_NULL, 0);
    default:
        return parse_number(in, v);
    }
}

qj_value *qj_parse(const char *text, size_t len, char *err, size_t errlen)
{
    qj_in in = { text, text + len, NULL };
    qj_value *v = calloc(1, sizeof *v);

    if (v == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (parse_value(&in, v, 0) == 0) {
        ws(&in);
        if (in.s == in.end)
            return v;
        bad(&in, "trailing characters");
    }
    snprintf(err, errlen, "%s at offset %ld", in.fail ? in.fail : "syntax error",
             (long)(in.s - text));
    qj_free(v);
    return NULL;
}

void qj_free(qj_value *v)
{
    if (v == NULL)
        return;
    free_inner(v);
    free(v);
}

const qj_value *qj_get(const qj_value *obj, const char *key)
{
    size_t i;

    if (obj == NULL || obj->type != QJ_OBJ)
        return NULL;
    for (i = 0; i < obj->n; i++)
        if (obj->keys[i] && strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}

const char *qj_get_str(const qj_value *obj, const char *key)
{
    const qj_value *v = qj_get(obj, key);

    return v && v->type == QJ_STR ? v->str : NULL;
}
