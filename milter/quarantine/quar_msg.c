/*
 * quar_msg.c - held messages: the item list, the header block parser that finds our
 * X-ITIP-Result / X-ITIP-Finding headers and the Subject, the filters, --since parsing
 * (see quar_msg.h), and the reader of postcat -e output.  Pure: no I/O, no programs run,
 * nothing printed.
 */
#include "ac-config.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "mime/mimehdr.h"
#include "quar_msg.h"
#include "base/strbuf.h"

quar_item *quar_list_add(quar_list *l)
{
    size_t alloc = l->alloc ? l->alloc * 2 : 16;
    quar_item *v;

    if (l->n == l->alloc) {     /* grown by doubling: one realloc per item is quadratic */
        if (alloc > ((size_t)-1) / sizeof *v || (v = realloc(l->v, alloc * sizeof *v)) == NULL)
            return NULL;
        l->v = v;
        l->alloc = alloc;
    }
    memset(&l->v[l->n], 0, sizeof *l->v);
    return &l->v[l->n++];
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
    free(it->from);
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
    l->n = l->alloc = 0;
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

/* A field value with its RFC 2047 encoded words decoded (Subject, From). */
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
    if (nlen == 4 && strncasecmp(name, "From", 4) == 0 && it->from == NULL) {
        char *raw = display_value(val, vlen);
        it->from = raw ? decode_subject(raw) : NULL;
        free(raw);
        return it->from ? 0 : -1;
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

/* ---- Postfix's postcat -e output ---- */

enum { PM_NONE, PM_ENVELOPE, PM_CONTENTS, PM_EXTRACTED, PM_END };

static const char *const pm_kind[] = { NULL, "ENVELOPE RECORDS", "MESSAGE CONTENTS",
                                       "HEADER EXTRACTED", "MESSAGE FILE END" };

/* The line at P (before END): its length without the LF; *NEXT: where the next one starts. */
static size_t line_at(const char *p, const char *end, const char **next)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));

    *next = nl ? nl + 1 : end;
    return (size_t)((nl ? nl : end) - p);
}

/* Which marker LINE (LEN bytes) is: "*** <kind> <queue>/.../<id> ***", the path made of
 * letters, digits, '_' and '/'; PM_NONE when it is none.  The path in *PATH, *PLEN. */
static int pm_marker(const char *line, size_t len, const char **path, size_t *plen)
{
    int k;
    size_t i, kl, n;
    const char *p;

    if (len < 9 || memcmp(line, "*** ", 4) != 0 || memcmp(line + len - 4, " ***", 4) != 0)
        return PM_NONE;
    for (k = PM_ENVELOPE; k <= PM_END; k++) {
        kl = strlen(pm_kind[k]);
        if (len < kl + 10 || memcmp(line + 4, pm_kind[k], kl) != 0 || line[4 + kl] != ' ')
            continue;
        p = line + 5 + kl;
        n = len - kl - 9;
        for (i = 0; i < n; i++)
            if (!isascii((unsigned char)p[i]) ||
                (!isalnum((unsigned char)p[i]) && p[i] != '_' && p[i] != '/'))
                return PM_NONE;
        if (memchr(p, '/', n) == NULL)
            return PM_NONE;
        *path = p;
        *plen = n;
        return k;
    }
    return PM_NONE;
}

/* The queue (first component) and the id (last) of a marker's path into M; 0 or -1. */
static int pm_names(quar_pcat *m, const char *path, size_t plen)
{
    const char *slash = memchr(path, '/', plen), *id = path + plen;
    size_t qlen = (size_t)(slash - path);

    while (id > slash && id[-1] != '/')
        id--;
    if (qlen == 0 || qlen >= sizeof m->queue || id == path + plen ||
        (size_t)(path + plen - id) > QUAR_ID_MAX)
        return -1;
    memcpy(m->queue, path, qlen);
    memcpy(m->id, id, (size_t)(path + plen - id));
    return 0;
}

const char *quar_pcat_next(const char *p, const char *end, int body, quar_pcat *m)
{
    const char *path, *mpath, *next, *xmark = NULL, *xnext = NULL;
    size_t plen, mlen, len;
    int state = PM_ENVELOPE, k;

    memset(m, 0, sizeof *m);
    if (p == NULL || p >= end || pm_marker(p, line_at(p, end, &next), &path, &plen) !=
        PM_ENVELOPE || pm_names(m, path, plen) < 0)
        return NULL;
    m->env = next;
    for (p = next; p < end; p = next) {
        len = line_at(p, end, &next);
        k = pm_marker(p, len, &mpath, &mlen);
        if (k == PM_ENVELOPE && !body)
            break;              /* the next message: this one was cut short */
        if (k == PM_NONE || mlen != plen || memcmp(mpath, path, plen) != 0)
            continue;
        if (state == PM_ENVELOPE && k == PM_CONTENTS) {
            m->envlen = (size_t)(p - m->env);
            m->text = next;
            state = PM_CONTENTS;
        } else if (state == PM_CONTENTS && k == PM_EXTRACTED && body) {
            xmark = p;          /* the last one before the end marker is postcat's */
            xnext = next;
        } else if (state == PM_CONTENTS && k == PM_EXTRACTED) {
            m->textlen = (size_t)(p - m->text);
            m->xtra = next;
            state = PM_EXTRACTED;
        } else if (k == PM_END && body && state == PM_CONTENTS && xmark && next == end) {
            m->textlen = (size_t)(xmark - m->text);
            m->xtra = xnext;
            m->xtralen = (size_t)(p - xnext);
            m->complete = 1;
            return next;
        } else if (k == PM_END && state == PM_EXTRACTED) {
            m->xtralen = (size_t)(p - m->xtra);
            m->complete = 1;
            return next;
        }
    }
    if (state == PM_ENVELOPE)
        m->envlen = (size_t)(p - m->env);
    else if (state == PM_CONTENTS)
        m->textlen = (size_t)(p - m->text);
    else
        m->xtralen = (size_t)(p - m->xtra);
    return p;
}

/* asctime()'s "Thu Dec  3 15:22:25 2026" read as UTC; 0 when it is not that. */
static time_t parse_asctime(const char *s, size_t n)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char buf[64];
    const char *mon;
    struct tm tm;
    int d, hh, mm, ss, y;

    if (n < 20 || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    buf[7] = '\0';             /* the month name */
    mon = strstr(months, buf + 4);
    if (mon == NULL || strlen(buf + 4) != 3 || (mon - months) % 3 != 0 ||
        sscanf(buf + 8, "%d %d:%d:%d %d", &d, &hh, &mm, &ss, &y) != 5 || d < 1 || d > 31 ||
        hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60 || y < 1970)
        return 0;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = (int)((mon - months) / 3);
    tm.tm_mday = d;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    return timegm(&tm);
}

/* LINE (LEN bytes) starts with NAME ": "; the value in *V, *VLEN. */
static int record_is(const char *line, size_t len, const char *name, const char **v,
                     size_t *vlen)
{
    size_t n = strlen(name);

    if (len < n + 2 || memcmp(line, name, n) != 0 || line[n] != ':' || line[n + 1] != ' ')
        return 0;
    *v = line + n + 2;
    *vlen = len - n - 2;
    return 1;
}

int quar_pcat_envelope(const quar_pcat *m, quar_item *it)
{
    const char *part[2] = { m->env, m->xtra }, *p, *end, *next, *v;
    size_t plen[2] = { m->envlen, m->xtralen }, len, vlen;
    int i;

    for (i = 0; i < 2; i++) {
        end = part[i] ? part[i] + plen[i] : NULL;
        for (p = part[i]; p && p < end; p = next) {
            len = line_at(p, end, &next);
            if (record_is(p, len, "message_arrival_time", &v, &vlen)) {
                it->arrival = parse_asctime(v, vlen);
            } else if (record_is(p, len, "sender", &v, &vlen)) {
                if (it->sender == NULL && (it->sender = strndup(v, vlen)) == NULL)
                    return -1;
            } else if (record_is(p, len, "recipient", &v, &vlen) &&
                       push_str(&it->rcpts, &it->nrcpts, strndup(v, vlen)) < 0) {
                return -1;
            }
        }
    }
    if (it->sender == NULL)
        it->sender = strdup("");
    return it->sender ? 0 : -1;
}

/* Postfix's is_header(): a name of printable ASCII, optional blanks, then a colon. */
static int is_header_line(const char *s, size_t n)
{
    size_t i;
    int state = 0;              /* 0 start, 1 in the name, 2 in blanks after it */

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ':')
            return state != 0;
        if (c == ' ' || c == '\t') {
            if (state == 0)
                return 0;
            state = 2;
            continue;
        }
        if (c == 0 || !isascii(c) || iscntrl(c) || state == 2)
            return 0;
        state = 1;
    }
    return 0;
}

size_t quar_header_block_len(const char *text, size_t len)
{
    const char *p = text, *end = text + len, *next;
    size_t n;

    while (p < end) {
        n = line_at(p, end, &next);
        if (!(n > 0 && (p[0] == ' ' || p[0] == '\t')) && !is_header_line(p, n))
            break;
        p = next;
    }
    return (size_t)(p - text);
}
