/*
 * quar_msg.c - held messages: the item list, the header block parser that finds our
 * X-ITIP-Result / X-ITIP-Finding headers and the Subject, the filters, --since parsing
 * (see quar_msg.h).  Pure: no I/O, no programs run, nothing printed.
 */
#include "ac-config.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "mime/mimehdr.h"
#include "quar_msg.h"
#include "base/strbuf.h"

#define QUAR_ID_MAX 64          /* longer than any queue id either MTA makes */

quar_item *quar_list_add(quar_list *l)
{
    quar_item *v = realloc(l->v, (l->n + 1) * sizeof *v);

    if (v == NULL)
        return NULL;
    l->v = v;
    memset(&v[l->n], 0, sizeof *v);
    return &v[l->n++];
}

void quar_item_clear(quar_item *it)
{
    free(it->id);
    free(it->sender);
    itip_strv_free(it->rcpts, it->nrcpts);
    free(it->headers);
    free(it->path);
    free(it->reason);
    free(it->subject);
    free(it->result);
    itip_strv_free(it->findings, it->nfindings);
    memset(it, 0, sizeof *it);
}

void quar_list_free(quar_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        quar_item_clear(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int push_str(char ***v, size_t *n, char *s)
{
    char **nv;

    if (s == NULL)
        return -1;
    nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (nv == NULL) {
        free(s);
        return -1;
    }
    nv[(*n)++] = s;
    *v = nv;
    return 0;
}

int quar_item_add_rcpt(quar_item *it, const char *addr)
{
    return push_str(&it->rcpts, &it->nrcpts, strdup(addr));
}

/* A header value for display: CR dropped, each fold (LF and the whitespace after it) one
 * space, leading and trailing whitespace trimmed.  Caller frees; NULL when out of memory. */
static char *display_value(const char *v, size_t len)
{
    char *out = malloc(len + 1), *o = out;
    size_t i = 0;

    if (out == NULL)
        return NULL;
    while (i < len && (v[i] == ' ' || v[i] == '\t'))
        i++;
    for (; i < len; i++) {
        if (v[i] == '\r')
            continue;
        if (v[i] == '\n') {
            while (i + 1 < len && (v[i + 1] == ' ' || v[i + 1] == '\t'))
                i++;
            *o++ = ' ';
            continue;
        }
        *o++ = v[i];
    }
    while (o > out && (o[-1] == ' ' || o[-1] == '\t'))
        o--;
    *o = '\0';
    return out;
}

static char *decode_subject(const char *raw)
{
    strbuf b;

    itip_strbuf_init(&b, 0);
    if (itip_rfc2047_decode(raw, strlen(raw), &b) < 0) {
        itip_strbuf_free(&b);
        return NULL;
    }
    return itip_strbuf_detach(&b, NULL);
}

/* One header field of the block; 0 when it is stored or ignored, -1 when out of memory. */
static int take_field(quar_item *it, const char *name, size_t nlen, const char *val,
                      size_t vlen, const char *prefix)
{
    size_t plen = strlen(prefix);
    char *v;

    if (nlen == 7 && strncasecmp(name, "Subject", 7) == 0 && it->subject == NULL) {
        char *raw = display_value(val, vlen);
        it->subject = raw ? decode_subject(raw) : NULL;
        free(raw);
        return it->subject ? 0 : -1;
    }
    if (nlen <= plen || strncasecmp(name, prefix, plen) != 0)
        return 0;
    if (nlen - plen == 7 && strncasecmp(name + plen, "-Result", 7) == 0) {
        if (it->result)
            return 0;
        it->result = display_value(val, vlen);
        return it->result ? 0 : -1;
    }
    if (nlen - plen == 8 && strncasecmp(name + plen, "-Finding", 8) == 0) {
        v = display_value(val, vlen);
        return push_str(&it->findings, &it->nfindings, v);
    }
    return 0;
}

int quar_item_parse_headers(quar_item *it, const char *prefix)
{
    const char *p = it->headers ? it->headers : "";

    while (*p && *p != '\n' && !(p[0] == '\r' && p[1] == '\n')) {
        const char *start = p, *colon, *end = p;
        /* the field runs to the first line end not followed by whitespace */
        for (;;) {
            end = strchr(end, '\n');
            if (end == NULL) {
                end = p + strlen(p);
                break;
            }
            end++;
            if (*end != ' ' && *end != '\t')
                break;
        }
        p = end;
        colon = memchr(start, ':', (size_t)(end - start));
        if (colon == NULL || colon == start)
            continue;      /* not a header field: ignored */
        if (take_field(it, start, (size_t)(colon - start), colon + 1,
                       (size_t)(end - colon - 1), prefix) < 0)
            return -1;
    }
    return 0;
}

int quar_item_ours(const quar_item *it)
{
    return it->result && strncmp(it->result, "quarantine", 10) == 0 &&
           (it->result[10] == '\0' || it->result[10] == ' ');
}

/* True if the comma-separated list in "(<severity>: a, b)" of RESULT names RULE. */
static int result_names(const char *result, const char *rule)
{
    const char *p = strchr(result, '('), *close;
    size_t n = strlen(rule);

    if (p == NULL || (close = strchr(p, ')')) == NULL)
        return 0;
    p = memchr(p, ':', (size_t)(close - p));
    while (p && p < close) {
        p++;
        while (*p == ' ')
            p++;
        if ((size_t)(close - p) >= n && strncmp(p, rule, n) == 0 &&
            (p[n] == ',' || p[n] == ')' || p[n] == ' '))
            return 1;
        p = memchr(p, ',', (size_t)(close - p));
    }
    return 0;
}

int quar_item_has_rule(const quar_item *it, const char *rule)
{
    size_t i, n = strlen(rule);

    for (i = 0; i < it->nfindings; i++)
        if (strncmp(it->findings[i], rule, n) == 0 &&
            (it->findings[i][n] == ';' || it->findings[i][n] == '\0'))
            return 1;
    return it->result && result_names(it->result, rule);
}

/* Strips one pair of angle brackets: "<a@b>" -> "a@b" (length in *n). */
static const char *unbracket(const char *s, size_t *n)
{
    *n = strlen(s);
    if (*n >= 2 && s[0] == '<' && s[*n - 1] == '>') {
        *n -= 2;
        return s + 1;
    }
    return s;
}

/* The envelope sender equals ADDR, angle brackets aside, case-insensitively ("<>": null). */
static int sender_is(const char *sender, const char *addr)
{
    size_t ns, na;
    const char *s = unbracket(sender, &ns), *a = unbracket(addr, &na);

    return ns == na && strncasecmp(s, a, ns) == 0;
}

int quar_item_match(const quar_item *it, const quar_filter *f)
{
    if (f->rule && !quar_item_has_rule(it, f->rule))
        return 0;
    if (f->since_set && it->arrival < f->since)
        return 0;
    if (f->sender && !sender_is(it->sender ? it->sender : "", f->sender))
        return 0;
    return 1;
}

int quar_id_valid(const char *id)
{
    size_t i;

    for (i = 0; id[i]; i++)
        if (!isascii((unsigned char)id[i]) || !isalnum((unsigned char)id[i]))
            return 0;
    return i > 0 && i <= QUAR_ID_MAX;
}

static int parse_age(const char *s, time_t now, time_t *out)
{
    char *end;
    long n = strtol(s, &end, 10);
    long unit;

    if (end == s || n < 0 || end[0] == '\0' || end[1] != '\0')
        return -1;
    switch (*end) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 604800; break;
    default: return -1;
    }
    if (n > (long)(now / unit))
        return -1;
    *out = now - (time_t)(n * unit);
    return 0;
}

static int parse_date(const char *s, time_t *out)
{
    static const char *const fmts[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
                                        "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d" };
    size_t i;

    for (i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        struct tm tm;
        const char *end;
        memset(&tm, 0, sizeof tm);
        end = strptime(s, fmts[i], &tm);
        if (end == NULL || (*end != '\0' && strcmp(end, "Z") != 0))
            continue;
        if (*end == 'Z') {
            *out = timegm(&tm);
        } else {
            tm.tm_isdst = -1;
            *out = mktime(&tm);
        }
        return *out == (time_t)-1 ? -1 : 0;
    }
    return -1;
}

int quar_parse_since(const char *s, time_t now, time_t *out)
{
    char *end;

    if (s[0] == '@') {
        long long v = strtoll(s + 1, &end, 10);
        if (end == s + 1 || *end != '\0' || v < 0)
            return -1;
        *out = (time_t)v;
        return 0;
    }
    if (strchr(s, '-'))
        return parse_date(s, out);
    return parse_age(s, now, out);
}
