/*
 * repair_enc.c - the transfer-encoding side of the repair action (see repair.h): decodes one
 * calendar part's body for editing and encodes the edited text back the way it came.
 *
 * Exports rp_view_open/close, rp_view_raw_eol and rp_encode.  7bit, 8bit and binary are
 * edited in place.  Quoted-printable is decoded with a map from each decoded byte to where it
 * starts in the encoded body, so an edit replaces only the encoded bytes of the lines it
 * touches; the new text is encoded like its neighbours (a real line break where the line
 * break it copies is a real one, =0D=0A where that one is encoded) with soft breaks before
 * column 76.  Base64 is decoded, edited and encoded again with the sender's line length (that
 * of all its lines when they agree, else 76), line ending and the whitespace around the data.
 * Never touches bytes outside the part's body.
 */
#include "ac-config.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/charset.h"
#include "mime/decode.h"
#include "repair_impl.h"

#define QP_LINE 76            /* longest encoded line, the soft-break '=' included */
#define B64_LINE 76           /* base64 line length where the sender's lines vary */

static size_t eol_len(const unsigned char *e, size_t i, size_t n)
{
    return e[i] == '\r' && i + 1 < n && e[i + 1] == '\n' ? 2 : 1;
}

static size_t skip_wsp(const unsigned char *e, size_t j, size_t n)
{
    while (j < n && (e[j] == ' ' || e[j] == '\t'))
        j++;
    return j;
}

/* Quoted-printable with the map.  0, -1 out of memory, 1 invalid "=" sequence. */
static int qp_decode(rp_view *v)
{
    const unsigned char *e = v->enc;
    size_t n = v->elen, i = 0, o = 0, j;

    v->own = malloc(n + 1);
    v->map = malloc((n + 1) * sizeof *v->map);
    if (v->own == NULL || v->map == NULL)
        return -1;
    while (i < n) {
        if (e[i] == '=') {
            if (i + 2 < n && isxdigit(e[i + 1]) && isxdigit(e[i + 2])) {
                v->map[o] = i;
                v->own[o++] = (unsigned char)(itip_hexval(e[i + 1]) * 16 + itip_hexval(e[i + 2]));
                i += 3;
                continue;
            }
            j = skip_wsp(e, i + 1, n);
            if (j < n && e[j] != '\r' && e[j] != '\n')
                return 1;
            i = j < n ? j + eol_len(e, j, n) : n;          /* a soft line break */
            continue;
        }
        j = (e[i] == ' ' || e[i] == '\t') ? skip_wsp(e, i, n) : i;
        if (j > i && (j == n || e[j] == '\r' || e[j] == '\n')) {
            i = j;                                          /* trailing whitespace */
            continue;
        }
        v->map[o] = i;
        v->own[o++] = e[i++];
    }
    v->map[o] = n;
    v->d = v->own;
    v->dlen = o;
    return 0;
}

static int b64_decode(rp_view *v)
{
    itip_b64 b;
    strbuf out;

    itip_b64_init(&b);
    itip_strbuf_init(&out, 0);
    if (itip_b64_feed(&b, v->enc, v->elen, &out) < 0 || itip_b64_finish(&b, &out) < 0) {
        itip_strbuf_free(&out);
        return -1;
    }
    if (b.errors) {
        itip_strbuf_free(&out);
        return 1;
    }
    v->own = (unsigned char *)itip_strbuf_detach(&out, &v->dlen);
    v->d = v->own;
    return v->own ? 0 : -1;
}

int rp_view_open(rp_view *v, const unsigned char *enc, size_t elen, itip_cte cte)
{
    memset(v, 0, sizeof *v);
    v->enc = enc;
    v->elen = elen;
    v->cte = cte;
    switch (cte) {
    case ITIP_CTE_7BIT:
    case ITIP_CTE_8BIT:
    case ITIP_CTE_BINARY:
        v->d = enc;
        v->dlen = elen;
        return 0;
    case ITIP_CTE_BASE64:
        return b64_decode(v);
    case ITIP_CTE_QP:
        return qp_decode(v);
    default:
        return 1;
    }
}

void rp_view_close(rp_view *v)
{
    free(v->own);
    free(v->map);
    memset(v, 0, sizeof *v);
}

int rp_view_raw_eol(const rp_view *v, size_t i)
{
    if (i >= v->dlen || (v->d[i] != '\r' && v->d[i] != '\n'))
        return 0;
    switch (v->cte) {
    case ITIP_CTE_BASE64:
        return 0;
    case ITIP_CTE_QP:
        return v->enc[v->map[i]] != '=';
    default:
        return 1;
    }
}

/* ---- encoding ---- */

/* SRC with the edits applied (positions in SRC). */
static int apply_plain(const unsigned char *src, size_t len, const rp_edits *ed, strbuf *out)
{
    size_t prev = 0, i;

    for (i = 0; i < ed->n; i++) {
        const rp_edit *x = &ed->v[i];
        if (itip_strbuf_append(out, src + prev, x->a - prev) < 0 ||
            itip_strbuf_append(out, x->text, x->tlen) < 0)
            return -1;
        prev = x->b;
    }
    return itip_strbuf_append(out, src + prev, len - prev);
}

/* The first line break of E ("\r\n" when there is none). */
static const char *first_eol(const unsigned char *e, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (e[i] == '\r' || e[i] == '\n')
            return e[i] == '\n' ? "\n" : eol_len(e, i, n) == 2 ? "\r\n" : "\r";
    return "\r\n";
}

static int is_b64(int c)
{
    return isalnum(c) || c == '+' || c == '/' || c == '=';
}

/* The line length of the base64 data E[FROM, TO): that of every line when all but the last
 * have it and the last is no longer, B64_LINE where the lengths vary, 0 for a single line
 * (no wrapping). */
static size_t b64_width(const unsigned char *e, size_t from, size_t to)
{
    size_t p = from, width = 0, lines = 0, last = 0;
    int vary = 0;

    while (p < to) {
        size_t n = 0;
        for (; p < to && e[p] != '\r' && e[p] != '\n'; p++)
            n += is_b64(e[p]);
        while (p < to && (e[p] == '\r' || e[p] == '\n'))
            p++;
        if (lines++ == 0)
            width = n;
        else
            vary |= last != width;      /* a line before this one differs */
        last = n;
    }
    if (lines <= 1)
        return 0;
    return vary || last > width ? B64_LINE : width;
}

/* Base64 of DATA laid out like ENC: same leading and trailing whitespace, same line ending,
 * the sender's line length (b64_width). */
static int b64_layout(const unsigned char *enc, size_t elen, const unsigned char *data,
                      size_t len, strbuf *out)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t lead = 0, tail = elen, width, col = 0, i;
    const char *eol = first_eol(enc, elen);
    int r = 0;

    while (lead < elen && !is_b64(enc[lead]))
        lead++;
    while (tail > lead && !is_b64(enc[tail - 1]))
        tail--;
    width = b64_width(enc, lead, tail);
    r |= itip_strbuf_append(out, enc, lead);
    for (i = 0; i < len && r == 0; i += 3) {
        unsigned int q = (unsigned int)data[i] << 16 | (i + 1 < len ? data[i + 1] << 8 : 0) |
                         (i + 2 < len ? data[i + 2] : 0);
        char four[4] = { abc[q >> 18 & 63], abc[q >> 12 & 63],
                         i + 1 < len ? abc[q >> 6 & 63] : '=', i + 2 < len ? abc[q & 63] : '=' };
        size_t k;
        for (k = 0; k < 4 && r == 0; k++) {
            if (width && col == width) {
                r |= itip_strbuf_append(out, eol, strlen(eol));
                col = 0;
            }
            r |= itip_strbuf_putc(out, four[k]);
            col++;
        }
    }
    return r | itip_strbuf_append(out, enc + tail, elen - tail);
}

/* Appends one encoded token, with a soft line break first when it would pass column 76. */
static int qp_token(strbuf *out, const char *tok, size_t n, size_t *col, const char *eol)
{
    if (*col + n > QP_LINE - 1 && *col > 0) {
        if (itip_strbuf_putc(out, '=') < 0 || itip_strbuf_append(out, eol, strlen(eol)) < 0)
            return -1;
        *col = 0;
    }
    *col += n;
    return itip_strbuf_append(out, tok, n);
}

/* The text of edit X in quoted-printable from column *COL.  Its line break is a copy of
 * the one at X->eol_at: each CR or LF is written as a real line break where that one's
 * byte was, encoded where it was encoded. */
static int qp_put(strbuf *out, const rp_view *v, const rp_edit *x, size_t *col,
                  const char *eol)
{
    const char *text = x->text;
    size_t n = x->tlen, i, k = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        int brk = i + 1 == n || text[i + 1] == '\r' || text[i + 1] == '\n';
        int hard = (c == '\r' || c == '\n') && x->eol_at != RP_NO_EOL &&
                   rp_view_raw_eol(v, x->eol_at + k++);
        char tok[4];
        if (hard) {
            if (itip_strbuf_putc(out, (char)c) < 0)
                return -1;
            *col = 0;
            continue;
        }
        if ((c > 32 && c < 127 && c != '=') || ((c == ' ' || c == '\t') && !brk)) {
            tok[0] = (char)c;
            tok[1] = '\0';
        } else
            snprintf(tok, sizeof tok, "=%02X", c);
        if (qp_token(out, tok, strlen(tok), col, eol) < 0)
            return -1;
    }
    return 0;
}

static int qp_apply(const rp_view *v, const rp_edits *ed, strbuf *out)
{
    const unsigned char *e = v->enc;
    const char *eol = first_eol(e, v->elen);
    size_t prev = 0, i;

    for (i = 0; i < ed->n; i++) {
        const rp_edit *x = &ed->v[i];
        size_t ea = v->map[x->a], eb = v->map[x->b], ls = ea, col;
        while (ls > 0 && e[ls - 1] != '\n' && e[ls - 1] != '\r')
            ls--;
        col = ea - ls;
        if (itip_strbuf_append(out, e + prev, ea - prev) < 0 ||
            qp_put(out, v, x, &col, eol) < 0)
            return -1;
        if (col > 0 && eb < v->elen &&
            (itip_strbuf_putc(out, '=') < 0 || itip_strbuf_append(out, eol, strlen(eol)) < 0))
            return -1;
        prev = eb;
    }
    return itip_strbuf_append(out, e + prev, v->elen - prev);
}

int rp_encode(const rp_view *v, const rp_edits *ed, strbuf *out)
{
    strbuf tmp;
    int r;

    if (v->cte == ITIP_CTE_QP)
        return qp_apply(v, ed, out);
    if (v->cte != ITIP_CTE_BASE64)
        return apply_plain(v->enc, v->elen, ed, out);
    itip_strbuf_init(&tmp, 0);
    r = apply_plain(v->d, v->dlen, ed, &tmp);
    if (r == 0)
        r = b64_layout(v->enc, v->elen, (const unsigned char *)tmp.s, tmp.len, out);
    itip_strbuf_free(&tmp);
    return r < 0 ? -1 : 0;
}
