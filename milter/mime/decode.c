/*
 * decode.c - incremental base64 and quoted-printable decoders (see decode.h).
 *
 * Exports itip_b64_*, itip_qp_* and itip_decode_copy.  Output goes through a small local
 * buffer into the caller's strbuf; the room left under the strbuf cap is counted per byte so
 * that decoding stops at exactly the same input byte whatever the chunking.  Must never read
 * past LEN, never allocate outside the strbuf, never fail on hostile data.
 */
#include "ac-config.h"
#include <stdint.h>
#include <string.h>
#include "base/charset.h"
#include "mime/decode.h"

/* ---- output: a local buffer flushed into the strbuf, with the cap counted per byte ---- */

typedef struct {
    strbuf *sb;
    size_t room;               /* bytes the cap still allows */
    size_t n;
    unsigned char buf[1024];
} sink;

static void sink_init(sink *s, strbuf *sb)
{
    s->sb = sb;
    s->n = 0;
    if (sb->cap == 0)
        s->room = SIZE_MAX;
    else
        s->room = sb->cap > sb->len ? sb->cap - sb->len : 0;
}

static int sink_flush(sink *s)
{
    int r = 0;

    if (s->n && itip_strbuf_append(s->sb, s->buf, s->n) != 0)
        r = ITIP_DECODE_NOMEM;   /* -2 cannot happen: room was counted */
    s->n = 0;
    return r;
}

/* 0, or FULL when the cap leaves no room, or NOMEM. */
static inline int put(sink *s, unsigned char c)
{
    if (s->room == 0)
        return ITIP_DECODE_FULL;
    s->room--;
    s->buf[s->n++] = c;
    if (s->n == sizeof s->buf)
        return sink_flush(s);
    return 0;
}

/* Flushes and combines the decoding result R with the flush result. */
static int sink_done(sink *s, int r, int *full)
{
    int f = sink_flush(s);

    if (r == ITIP_DECODE_FULL)
        *full = 1;
    return f ? f : r;
}

int itip_decode_copy(strbuf *out, const void *in, size_t len)
{
    size_t room = out->cap == 0 ? SIZE_MAX : (out->cap > out->len ? out->cap - out->len : 0);
    size_t n = len < room ? len : room;

    if (n && itip_strbuf_append(out, in, n) != 0)
        return ITIP_DECODE_NOMEM;
    return n < len ? ITIP_DECODE_FULL : ITIP_DECODE_OK;
}

/* ---- base64 ---- */

enum { B64_BAD = 64, B64_WS = 65, B64_PAD = 66 };

static unsigned char b64_class(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return (unsigned char)(c - 'A');
    if (c >= 'a' && c <= 'z')
        return (unsigned char)(c - 'a' + 26);
    if (c >= '0' && c <= '9')
        return (unsigned char)(c - '0' + 52);
    switch (c) {
    case '+': return 62;
    case '/': return 63;
    case '=': return B64_PAD;
    case ' ': case '\t': case '\r': case '\n': case '\f': case '\v': return B64_WS;
    default: return B64_BAD;
    }
}

void itip_b64_init(itip_b64 *d)
{
    memset(d, 0, sizeof *d);
}

/* Emits the bytes held by N sextets (2 -> 1 byte, 3 -> 2 bytes, 4 -> 3 bytes). */
static int b64_emit(itip_b64 *d, sink *s, unsigned int n)
{
    unsigned int v = d->acc << (6 * (4 - n));   /* left-align to 24 bits */
    int r = put(s, (unsigned char)(v >> 16));

    if (r == 0 && n >= 3)
        r = put(s, (unsigned char)(v >> 8));
    if (r == 0 && n >= 4)
        r = put(s, (unsigned char)v);
    d->acc = 0;
    d->n = 0;
    return r;
}

static int b64_pad(itip_b64 *d, sink *s)
{
    if (d->pad == 1) {          /* second '=' of "xx==" */
        d->pad = 2;
        return 0;
    }
    if (d->pad == 2 || d->n < 2) {
        d->errors++;            /* stray '=' or "x=" */
        d->acc = 0;
        d->n = 0;
        return 0;
    }
    d->pad = d->n == 2 ? 1 : 2;
    return b64_emit(d, s, d->n);
}

static int b64_char(itip_b64 *d, sink *s, unsigned char c)
{
    unsigned char v = b64_class(c);

    if (v == B64_WS)
        return 0;
    if (v == B64_BAD) {
        d->errors++;
        return 0;
    }
    if (v == B64_PAD)
        return b64_pad(d, s);
    if (d->pad == 1)
        d->errors++;            /* "xx=" followed by data */
    d->pad = 0;
    d->acc = (d->acc << 6) | v;
    if (++d->n == 4)
        return b64_emit(d, s, 4);
    return 0;
}

int itip_b64_feed(itip_b64 *d, const void *in, size_t len, strbuf *out)
{
    const unsigned char *p = in;
    sink s;
    int r = 0;
    size_t i;

    if (d->full)
        return ITIP_DECODE_FULL;
    sink_init(&s, out);
    for (i = 0; i < len && r == 0; i++)
        r = b64_char(d, &s, p[i]);
    return sink_done(&s, r, &d->full);
}

int itip_b64_finish(itip_b64 *d, strbuf *out)
{
    sink s;
    int r = 0;

    if (d->full)
        return ITIP_DECODE_FULL;
    sink_init(&s, out);
    if (d->pad == 1)
        d->errors++;
    if (d->n == 1)
        d->errors++;
    else if (d->n > 1) {
        d->errors++;            /* missing padding */
        r = b64_emit(d, &s, d->n);
    }
    d->acc = 0;
    d->n = 0;
    d->pad = 0;
    return sink_done(&s, r, &d->full);
}

/* ---- quoted-printable ---- */

enum { QP_TEXT = 0, QP_EQ, QP_EQ_HEX, QP_EQ_WS, QP_EQ_CR };

void itip_qp_init(itip_qp *d)
{
    memset(d, 0, sizeof *d);
}

static int qp_put_ws(itip_qp *d, sink *s)
{
    size_t i;
    int r = 0;

    for (i = 0; i < d->nws && r == 0; i++)
        r = put(s, d->ws[i]);
    d->nws = 0;
    return r;
}

/* A byte in plain text. */
static int qp_text(itip_qp *d, sink *s, unsigned char c)
{
    if (c == ' ' || c == '\t') {
        int r = d->nws == ITIP_QP_WS_MAX ? qp_put_ws(d, s) : 0;
        d->ws[d->nws++] = c;
        return r;
    }
    if (c == '\r' || c == '\n') {
        d->nws = 0;             /* trailing whitespace before a line break */
        return put(s, c);
    }
    {
        int r = qp_put_ws(d, s);
        if (r)
            return r;
    }
    if (c == '=') {
        d->state = QP_EQ;
        return 0;
    }
    return put(s, c);
}

/* An invalid "=" sequence: '=' and what followed it are kept literally. */
static int qp_invalid(itip_qp *d, sink *s, int with_hex)
{
    int r;

    d->errors++;
    d->state = QP_TEXT;
    r = put(s, '=');
    if (r == 0 && with_hex)
        r = put(s, d->hex1);
    if (r == 0)
        r = qp_put_ws(d, s);
    return r;
}

static int qp_after_eq(itip_qp *d, sink *s, unsigned char c, int *again)
{
    if (itip_hexval(c) >= 0) {
        d->hex1 = c;
        d->state = QP_EQ_HEX;
    } else if (c == '\n') {
        d->state = QP_TEXT;     /* soft line break */
    } else if (c == '\r') {
        d->state = QP_EQ_CR;
    } else if (c == ' ' || c == '\t') {
        d->ws[d->nws++] = c;
        d->state = QP_EQ_WS;
    } else {
        *again = 1;
        return qp_invalid(d, s, 0);
    }
    return 0;
}

static int qp_eq_ws(itip_qp *d, sink *s, unsigned char c, int *again)
{
    if ((c == ' ' || c == '\t') && d->nws < ITIP_QP_WS_MAX) {
        d->ws[d->nws++] = c;
        return 0;
    }
    if (c == '\n' || c == '\r') {
        d->nws = 0;
        d->state = c == '\n' ? QP_TEXT : QP_EQ_CR;
        return 0;
    }
    *again = 1;
    return qp_invalid(d, s, 0);
}

static int qp_char(itip_qp *d, sink *s, unsigned char c)
{
    int again = 0, r = 0;

    switch (d->state) {
    case QP_TEXT:
        return qp_text(d, s, c);
    case QP_EQ:
        r = qp_after_eq(d, s, c, &again);
        break;
    case QP_EQ_HEX:
        if (itip_hexval(c) >= 0) {
            d->state = QP_TEXT;
            return put(s, (unsigned char)(itip_hexval(d->hex1) << 4 | itip_hexval(c)));
        }
        again = 1;
        r = qp_invalid(d, s, 1);
        break;
    case QP_EQ_WS:
        r = qp_eq_ws(d, s, c, &again);
        break;
    default:                    /* QP_EQ_CR */
        d->state = QP_TEXT;
        again = c != '\n';
        break;
    }
    if (r == 0 && again)
        r = qp_text(d, s, c);
    return r;
}

int itip_qp_feed(itip_qp *d, const void *in, size_t len, strbuf *out)
{
    const unsigned char *p = in;
    sink s;
    int r = 0;
    size_t i;

    if (d->full)
        return ITIP_DECODE_FULL;
    sink_init(&s, out);
    for (i = 0; i < len && r == 0; i++)
        r = qp_char(d, &s, p[i]);
    return sink_done(&s, r, &d->full);
}

int itip_qp_finish(itip_qp *d, strbuf *out)
{
    sink s;
    int r = 0;

    if (d->full)
        return ITIP_DECODE_FULL;
    sink_init(&s, out);
    if (d->state == QP_EQ_HEX)
        r = qp_invalid(d, &s, 1);
    d->state = QP_TEXT;
    d->nws = 0;                 /* trailing '=', whitespace: the line break went to the boundary */
    return sink_done(&s, r, &d->full);
}
