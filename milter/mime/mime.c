/*
 * mime.c - the streaming MIME walker (see mime.h).
 *
 * Exports itip_mime_* and itip_calpart_clear.  The input is cut into lines (CRLF, LF or a bare
 * CR); a line is only buffered when it starts with '-' inside a multipart, and only while it
 * can still be the boundary line of an open multipart ("--" boundary ["--"] and any amount of
 * blanks, as lenient parsers accept it), up to max_header_size bytes; everything else
 * streams through with memchr.  A boundary, or a boundary line, that the walker cannot follow
 * within that is a mime-structure-unparsed finding (parts behind it may be hidden), never a
 * silent pass.
 * The line break before a line is held back until that line is known not to be a boundary
 * (RFC 2046: it belongs to the boundary).  Header blocks are unfolded field by field up to
 * max_header_size; calendar parts are decoded into a capped strbuf; other bodies are skipped.
 * All state lives in the walker, so the result never depends on where the chunks were cut.
 * Must never buffer a whole line or body, recurse, or loop without consuming input; every
 * limit reached adds one finding and the walk goes on in a degraded but consistent way.
 */
#include "ac-config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "base/charset.h"
#include "mime/decode.h"
#include "mime/mime.h"
#include "mime/mimehdr.h"
#include "base/strbuf.h"

/* The longest line still followed as a boundary line ("--", the boundary - RFC 2046 says at
 * most 70 bytes, any length that fits is honoured - "--" and transport padding) is
 * max_header_size bytes: the bound of the header field the boundary came from. */
#define BLINE_MAX(m) ((m)->lim->max_header_size)

enum { LIM_DEPTH, LIM_PARTS, LIM_HEADER, LIM_HEADERS, LIM_CALSIZE, LIM_CALPARTS, LIM_TNEFSIZE,
       LIM_TNEFPARTS, LIM_COUNT };
enum { ST_HEADERS, ST_BODY };
enum { EOL_NONE = 0, EOL_LF, EOL_CR, EOL_CRLF };

/* How far the line being buffered matches a multipart's boundary line. */
enum { BM_DEAD, BM_PREFIX, BM_AFTER, BM_DASH, BM_BLANKS, BM_CLOSE };

typedef struct {              /* an open multipart */
    char *boundary;
    size_t blen;
    int depth;                /* depth of the multipart entity itself */
    int encap;
    int digest;
    int sig;                  /* multipart/signed */
    int bm;                   /* BM_*: the current '-' line against "--" boundary */
} frame;

typedef struct {              /* the header block being read */
    int depth, encap, digest_child, top;
    unsigned long long start;  /* stream offset of the block's first byte */
    size_t bytes;             /* content bytes of the block so far */
    size_t fields;            /* header fields of the block so far */
    int over;                 /* max_header_size passed: the rest of the block is skipped */
    size_t line_len;          /* content bytes of the current line */
    int fld_on;               /* a field is being collected in fld */
    strbuf fld;
    char *ctype, *cte, *cdisp, *cid;
} hblock;

typedef struct {              /* the calendar part being collected */
    int on, stop;
    itip_calpart p;
    strbuf data;
    itip_b64 b64;
    itip_qp qp;
} calcur;

typedef struct {              /* end-of-line search cache over one chunk */
    const unsigned char *end;
    const unsigned char *lf, *cr;     /* next LF / CR at or after the last position, or end;
                                         NULL: not searched yet */
} scan;

struct itip_mime {
    const itip_limits *lim;
    itip_findings *out;
    int oom, finished;
    int reported[LIM_COUNT];
    int reported_unparsed;
    unsigned long long off;            /* stream offset of the next byte */
    int in_line, pfx_on, pending_cr;   /* line state */
    unsigned long long line_off, cr_off;
    size_t pfx_len, pfx_alloc;
    char *pfx;                         /* the '-' line while it may be a boundary line */
    size_t pfx_alive;                  /* frames whose boundary line it may still be */
    int held;                          /* EOL_* kind of the held-back line break, or 0 */
    unsigned long long held_off;
    int st;
    frame *fr;
    size_t nfr, afr;
    hblock h;
    calcur c;
    itip_calpart *cal;
    size_t ncal, acal;
    itip_calpart *tnef;                /* TNEF parts, apart from the calendar parts */
    size_t ntnef, atnef;
    size_t nparts;
    itip_msghdrs hdrs;
    int headers_done;
};

/* ---- findings ---- */

/* Every walker limit can hide what a mail client shows (a deeper part, a later part, the
 * Content-Type lost in a long header block, the rest of a calendar part): would-fail. */
#define LIMIT_FINDING(m, part, ...) \
    itip_findings_add((m)->out, ITIP_R_MIME_LIMIT_EXCEEDED, ITIP_SEV_WOULD_FAIL, (part), NULL, \
                      NULL, "MIME", NULL, __VA_ARGS__)

static void limit_hit(itip_mime *m, int which)
{
    const itip_limits *l = m->lim;

    if (m->reported[which])
        return;
    m->reported[which] = 1;
    switch (which) {
    case LIM_DEPTH:
        LIMIT_FINDING(m, -1, "max_mime_depth (%zu) reached: deeper parts were not examined",
                      l->max_mime_depth);
        break;
    case LIM_PARTS:
        LIMIT_FINDING(m, -1, "max_parts (%zu) reached: further MIME parts were not examined",
                      l->max_parts);
        break;
    case LIM_HEADER:
        LIMIT_FINDING(m, -1, "max_header_size (%zu) reached: the rest of a header block was "
                      "skipped", l->max_header_size);
        break;
    case LIM_HEADERS:
        LIMIT_FINDING(m, -1, "max_headers (%zu) reached: the rest of a header block was "
                      "skipped", l->max_headers);
        break;
    case LIM_CALSIZE:
        LIMIT_FINDING(m, (int)m->ncal, "max_calendar_part_size (%zu) reached: calendar part "
                      "%zu was truncated", l->max_calendar_part_size, m->ncal);
        break;
    default:
        LIMIT_FINDING(m, -1, "max_calendar_parts (%zu) reached: further calendar parts were "
                      "not examined", l->max_calendar_parts);
        break;
    case LIM_TNEFSIZE:
        LIMIT_FINDING(m, -1, "max_calendar_part_size (%zu) reached: TNEF part %zu was "
                      "truncated", l->max_calendar_part_size, m->ntnef);
        break;
    case LIM_TNEFPARTS:
        LIMIT_FINDING(m, -1, "max_calendar_parts (%zu) reached: further TNEF parts were not "
                      "examined", l->max_calendar_parts);
        break;
    }
}

/* A boundary or boundary line the walker cannot follow: what lies behind it may be a part a
 * mail client shows.  Reported once per message. */
static void unparsed(itip_mime *m, const char *what, size_t n)
{
    if (m->reported_unparsed)
        return;
    m->reported_unparsed = 1;
    itip_findings_add(m->out, ITIP_R_MIME_STRUCTURE_UNPARSED, ITIP_SEV_WOULD_FAIL, -1, NULL,
                      NULL, "MIME", NULL, "%s of %zu bytes or more: the walker follows at most "
                      "max_header_size (%zu), so parts behind it were not examined", what, n,
                      BLINE_MAX(m));
}

/* ---- small helpers ---- */

static char *dupn(itip_mime *m, const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d == NULL) {
        m->oom = 1;
        return NULL;
    }
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void itip_calpart_clear(itip_calpart *p)
{
    if (p == NULL)
        return;
    free(p->media_type);
    free(p->method_param);
    free(p->charset);
    free(p->filename);
    free(p->data);
    memset(p, 0, sizeof *p);
}

void itip_calpart_strip_nul(itip_calpart *p)
{
    char *r, *w, *end;

    if (p->data == NULL || (r = memchr(p->data, '\0', p->len)) == NULL)
        return;
    end = p->data + p->len;
    for (w = r; r < end; r++)
        if (*r != '\0')
            *w++ = *r;
    p->nul_bytes += (size_t)(end - w);
    p->len = (size_t)(w - p->data);
    *w = '\0';
}

int itip_mime_is_calendar(const char *type, const char *filename, int *by_type)
{
    static const char *const types[] = { "text/calendar", "application/ics",
                                         "text/x-vcalendar" };
    size_t i, n;

    if (by_type)
        *by_type = 0;
    for (i = 0; type && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(type, types[i]) == 0) {
            if (by_type)
                *by_type = 1;
            return 1;
        }
    n = filename ? strlen(filename) : 0;
    return n >= 4 && (strcasecmp(filename + n - 4, ".ics") == 0 ||
                      strcasecmp(filename + n - 4, ".vcs") == 0);
}

int itip_mime_is_tnef(const char *type, const char *filename)
{
    if (type && (strcmp(type, "application/ms-tnef") == 0 ||
                 strcmp(type, "application/vnd.ms-tnef") == 0))
        return 1;
    if (filename == NULL || strcasecmp(filename, "winmail.dat") != 0)
        return 0;
    return type == NULL || (strncmp(type, "text/", 5) != 0 && strncmp(type, "multipart/", 10) != 0
                            && strncmp(type, "message/", 8) != 0);
}

/* ---- the calendar (or TNEF) part being collected ---- */

static void cal_result(itip_mime *m, int r)
{
    if (r == ITIP_DECODE_FULL && !m->c.p.truncated) {
        m->c.p.truncated = 1;
        m->c.stop = 1;
        limit_hit(m, m->c.p.tnef ? LIM_TNEFSIZE : LIM_CALSIZE);
    } else if (r == ITIP_DECODE_NOMEM)
        m->oom = 1;
}

static void cal_put(itip_mime *m, const void *p, size_t n)
{
    calcur *c = &m->c;
    int r;

    if (c->stop)
        return;
    if (m->lim->max_calendar_part_size == 0) {   /* cap 0 would mean "no cap" to strbuf */
        cal_result(m, ITIP_DECODE_FULL);
        return;
    }
    switch (c->p.cte) {
    case ITIP_CTE_BASE64:
        r = itip_b64_feed(&c->b64, p, n, &c->data);
        break;
    case ITIP_CTE_QP:
        r = itip_qp_feed(&c->qp, p, n, &c->data);
        break;
    default:
        r = itip_decode_copy(&c->data, p, n);
        break;
    }
    cal_result(m, r);
}

/* A line break inside the part: "\n", or as received for an encoding we do not decode. */
static void cal_break(itip_mime *m, int kind)
{
    static const char *const raw[] = { "", "\n", "\r", "\r\n" };

    if (m->c.p.cte == ITIP_CTE_UNKNOWN ||
        (m->c.p.tnef && m->c.p.cte != ITIP_CTE_BASE64 && m->c.p.cte != ITIP_CTE_QP))
        cal_put(m, raw[kind], strlen(raw[kind]));      /* binary TNEF: bytes as received */
    else
        cal_put(m, "\n", 1);
}

/* True when an open multipart is multipart/signed: the part being started is signed. */
static int in_signed(const itip_mime *m)
{
    size_t i;

    for (i = 0; i < m->nfr; i++)
        if (m->fr[i].sig)
            return 1;
    return 0;
}

static void cal_begin(itip_mime *m, const char *type, const itip_mime_field *ct,
                      const itip_mime_field *cd, itip_cte cte, char *filename, int by_type,
                      unsigned long long body_start)
{
    calcur *c = &m->c;
    const char *method = itip_hdr_param(ct, "method"), *cs = itip_hdr_param(ct, "charset");

    memset(&c->p, 0, sizeof c->p);
    c->on = 1;
    c->stop = 0;
    c->p.media_type = dupn(m, type, strlen(type));
    c->p.method_param = method ? dupn(m, method, strlen(method)) : NULL;
    c->p.charset = cs ? dupn(m, cs, strlen(cs)) : NULL;
    c->p.filename = filename;
    c->p.disposition_attachment = cd->value && strcmp(cd->value, "attachment") == 0;
    c->p.encapsulated = m->h.encap;
    c->p.by_type = by_type;
    c->p.depth = m->h.depth;
    c->p.in_signed = in_signed(m);
    c->p.cte = cte;
    c->p.body_start = body_start;
    c->p.hdr_start = m->h.start;
    itip_strbuf_init(&c->data, m->lim->max_calendar_part_size);
    itip_b64_init(&c->b64);
    itip_qp_init(&c->qp);
}

static int cal_store(itip_mime *m)
{
    itip_calpart **vp = m->c.p.tnef ? &m->tnef : &m->cal;
    size_t *np = m->c.p.tnef ? &m->ntnef : &m->ncal, *ap = m->c.p.tnef ? &m->atnef : &m->acal;

    if (*np == *ap) {
        size_t na = *ap ? *ap * 2 : 4;
        itip_calpart *v = realloc(*vp, na * sizeof *v);
        if (v == NULL)
            return -1;
        *vp = v;
        *ap = na;
    }
    (*vp)[(*np)++] = m->c.p;
    memset(&m->c.p, 0, sizeof m->c.p);
    return 0;
}

static void cal_end(itip_mime *m, unsigned long long body_end)
{
    calcur *c = &m->c;
    int r;

    if (!c->stop && c->p.cte == ITIP_CTE_BASE64)
        cal_result(m, itip_b64_finish(&c->b64, &c->data));
    else if (!c->stop && c->p.cte == ITIP_CTE_QP)
        cal_result(m, itip_qp_finish(&c->qp, &c->data));
    c->p.body_end = body_end;
    c->p.decode_errors = c->p.cte == ITIP_CTE_BASE64 ? c->b64.errors
                       : c->p.cte == ITIP_CTE_QP ? c->qp.errors
                       : c->p.cte == ITIP_CTE_UNKNOWN;
    r = c->p.tnef ? 0 : itip_charset_to_utf8(&c->data, c->p.charset, c->p.truncated);
    if (r < 0)
        m->oom = 1;
    c->p.charset_failed = r == 1;
    c->p.data = itip_strbuf_detach(&c->data, &c->p.len);
    if (!c->p.tnef)
        itip_calpart_strip_nul(&c->p);
    if (c->p.data == NULL || m->oom || cal_store(m) < 0) {
        m->oom = 1;
        itip_calpart_clear(&c->p);
    }
    c->on = 0;
}

/* ---- multipart frames ---- */

static void pop_frame(itip_mime *m)
{
    m->nfr--;
    free(m->fr[m->nfr].boundary);
    m->fr[m->nfr].boundary = NULL;
}

static void push_frame(itip_mime *m, const char *b, size_t blen, const char *type)
{
    frame *f;

    if (m->nfr == m->afr) {
        size_t na = m->afr ? m->afr * 2 : 4;
        frame *v = realloc(m->fr, na * sizeof *v);
        if (v == NULL) {
            m->oom = 1;
            return;
        }
        m->fr = v;
        m->afr = na;
    }
    f = &m->fr[m->nfr];
    f->boundary = dupn(m, b, blen);
    if (f->boundary == NULL)
        return;
    f->blen = blen;
    f->depth = m->h.depth;
    f->encap = m->h.encap;
    f->digest = strcmp(type, "multipart/digest") == 0;
    f->sig = strcmp(type, "multipart/signed") == 0;
    f->bm = BM_DEAD;
    m->nfr++;
}

/* ---- header blocks ---- */

static void hblock_reset(hblock *h)
{
    free(h->ctype);
    free(h->cte);
    free(h->cdisp);
    free(h->cid);
    h->ctype = h->cte = h->cdisp = h->cid = NULL;
    itip_strbuf_reset(&h->fld);
    h->fld_on = 0;
    h->bytes = h->line_len = h->fields = 0;
    h->over = 0;
}

static void hblock_start(itip_mime *m, int depth, int encap, int digest_child, int top)
{
    hblock_reset(&m->h);
    m->h.depth = depth;
    m->h.encap = encap;
    m->h.digest_child = digest_child;
    m->h.top = top;
    m->h.start = m->off;              /* every caller has just consumed a line break */
    m->st = ST_HEADERS;
}

/* Counts a new part; 0 when max_parts does not allow it. */
static int count_part(itip_mime *m)
{
    if (m->nparts >= m->lim->max_parts) {
        limit_hit(m, LIM_PARTS);
        return 0;
    }
    m->nparts++;
    return 1;
}

/* Where the value of field NAME goes, or NULL. */
static char **field_slot(itip_mime *m, const char *s, size_t n)
{
    itip_msghdrs *t = &m->hdrs;
    static const struct { const char *name; size_t off; } top[] = {
        { "from", offsetof(itip_msghdrs, from) }, { "sender", offsetof(itip_msghdrs, sender) },
        { "to", offsetof(itip_msghdrs, to) }, { "date", offsetof(itip_msghdrs, date) },
        { "subject", offsetof(itip_msghdrs, subject) },
        { "message-id", offsetof(itip_msghdrs, message_id) },
        { "x-mailer", offsetof(itip_msghdrs, x_mailer) },
        { "content-class", offsetof(itip_msghdrs, content_class) },
        { "return-path", offsetof(itip_msghdrs, return_path) },
        { "delivered-to", offsetof(itip_msghdrs, delivered_to) },
        { "x-original-to", offsetof(itip_msghdrs, x_original_to) },
        { "auto-submitted", offsetof(itip_msghdrs, auto_submitted) },
        { "x-mimeole", offsetof(itip_msghdrs, x_mimeole) },
    };
    size_t i;

    if (itip_name_is(s, n, "content-type"))
        return &m->h.ctype;
    if (itip_name_is(s, n, "content-transfer-encoding"))
        return &m->h.cte;
    if (itip_name_is(s, n, "content-disposition"))
        return &m->h.cdisp;
    if (itip_name_is(s, n, "content-id"))
        return &m->h.cid;
    if (m->h.top && itip_name_is(s, n, "authentication-results"))
        return t->n_auth_results < ITIP_MAX_AUTHRES ? &t->auth_results[t->n_auth_results++]
                                                    : NULL;
    for (i = 0; m->h.top && i < sizeof top / sizeof top[0]; i++)
        if (itip_name_is(s, n, top[i].name))
            return (char **)((char *)t + top[i].off);
    return NULL;
}

/* One complete, unfolded field "Name: value". */
static void field_process(itip_mime *m, const char *s, size_t n)
{
    const char *colon = n ? memchr(s, ':', n) : NULL, *v, *e = s + n;
    size_t nl;
    char **slot;

    if (colon == NULL)
        return;                       /* not a field: ignored */
    for (nl = (size_t)(colon - s); nl > 0 && itip_is_wsp((unsigned char)s[nl - 1]); nl--)
        ;
    if (nl == 0 || (slot = field_slot(m, s, nl)) == NULL || *slot != NULL)
        return;
    for (v = colon + 1; v < e && itip_is_wsp((unsigned char)*v); v++)
        ;
    while (e > v && itip_is_wsp((unsigned char)e[-1]))
        e--;
    *slot = dupn(m, v, (size_t)(e - v));
}

static void field_done(itip_mime *m)
{
    hblock *h = &m->h;

    if (h->fld_on && !h->over)
        field_process(m, h->fld.s, h->fld.len);
    itip_strbuf_reset(&h->fld);
    h->fld_on = 0;
}

static void hdr_content(itip_mime *m, const char *p, size_t n)
{
    hblock *h = &m->h;

    if (h->line_len == 0 && !itip_is_wsp((unsigned char)*p)) {
        field_done(m);                /* a new field starts; a continuation line unfolds */
        if (!h->over && ++h->fields > m->lim->max_headers) {
            limit_hit(m, LIM_HEADERS);
            h->over = 1;
            itip_strbuf_reset(&h->fld);
        }
        h->fld_on = !h->over;
    }
    h->line_len += n;
    if (h->over)
        return;
    if (n > m->lim->max_header_size - h->bytes) {
        limit_hit(m, LIM_HEADER);
        h->over = 1;
        itip_strbuf_reset(&h->fld);
        h->fld_on = 0;
        return;
    }
    h->bytes += n;
    if (h->fld_on && itip_strbuf_append(&h->fld, p, n) < 0)
        m->oom = 1;
}

/* ---- end of a header block: what the entity is ---- */

static char *part_filename(itip_mime *m, const itip_mime_field *ct, const itip_mime_field *cd)
{
    const char *f = itip_hdr_param(cd, "filename");
    strbuf b;

    if (f == NULL || *f == '\0')
        f = itip_hdr_param(ct, "name");
    if (f == NULL)
        return NULL;
    itip_strbuf_init(&b, 0);
    if (itip_rfc2047_decode(f, strlen(f), &b) < 0) {
        itip_strbuf_free(&b);
        m->oom = 1;
        return NULL;
    }
    return itip_strbuf_detach(&b, NULL);
}

static void start_multipart(itip_mime *m, const char *type, const itip_mime_field *ct)
{
    const char *b = itip_hdr_param(ct, "boundary");
    size_t blen = b ? strlen(b) : 0;

    if (blen == 0)
        return;                       /* no boundary: an opaque leaf, for every parser */
    if (blen + 4 > BLINE_MAX(m)) {
        unparsed(m, "a multipart boundary", blen);
        return;
    }
    if ((size_t)m->h.depth >= m->lim->max_mime_depth) {
        limit_hit(m, LIM_DEPTH);
        return;
    }
    push_frame(m, b, blen, type);
}

static void start_message(itip_mime *m, itip_cte cte)
{
    if (cte != ITIP_CTE_7BIT && cte != ITIP_CTE_8BIT && cte != ITIP_CTE_BINARY)
        return;                       /* an encoded message: opaque */
    if ((size_t)m->h.depth >= m->lim->max_mime_depth) {
        limit_hit(m, LIM_DEPTH);
        return;
    }
    if (count_part(m))
        hblock_start(m, m->h.depth + 1, 1, 0, 0);
}

static void start_leaf(itip_mime *m, const char *type, const itip_mime_field *ct,
                       const itip_mime_field *cd, itip_cte cte, unsigned long long body_start)
{
    char *filename = part_filename(m, ct, cd);
    int by_type, tnef = 0;

    if (m->oom || (!itip_mime_is_calendar(type, filename, &by_type) &&
                   !(tnef = itip_mime_is_tnef(type, filename)))) {
        free(filename);
        return;
    }
    if ((tnef ? m->ntnef : m->ncal) >= m->lim->max_calendar_parts) {
        limit_hit(m, tnef ? LIM_TNEFPARTS : LIM_CALPARTS);
        free(filename);
        return;
    }
    if (tnef)
        by_type = strcmp(type, "application/ms-tnef") == 0 ||
                  strcmp(type, "application/vnd.ms-tnef") == 0;
    cal_begin(m, type, ct, cd, cte, filename, by_type, body_start);
    m->c.p.tnef = tnef;
}

static int is_message_type(const char *t)
{
    return strcmp(t, "message/rfc822") == 0 || strcmp(t, "message/global") == 0;
}

/* Keeps the Content-ID of the entity whose header block just ended (for the ATTACH;cid:
 * check); as many as there are parts, which max_parts bounds. */
static void keep_content_id(itip_mime *m, hblock *h)
{
    itip_msghdrs *t = &m->hdrs;
    char **v = realloc(t->content_ids, (t->n_content_ids + 1) * sizeof *v);

    if (v == NULL) {
        m->oom = 1;
        return;
    }
    t->content_ids = v;
    v[t->n_content_ids++] = h->cid;
    h->cid = NULL;
}

static void headers_end(itip_mime *m, unsigned long long body_start)
{
    hblock *h = &m->h;
    itip_mime_field ct, cd;
    const char *type;
    itip_cte cte = itip_hdr_parse_cte(h->cte);

    if (h->top)
        m->headers_done = 1;
    if (h->cid != NULL)
        keep_content_id(m, h);
    m->st = ST_BODY;
    m->held = 0;
    if (itip_hdr_parse_ctype(h->ctype, &ct) < 0 || itip_hdr_parse_disposition(h->cdisp, &cd) < 0) {
        itip_hdr_field_clear(&ct);
        m->oom = 1;
        return;
    }
    type = ct.value ? ct.value : h->digest_child ? "message/rfc822" : "text/plain";
    if (strncmp(type, "multipart/", 10) == 0)
        start_multipart(m, type, &ct);
    else if (is_message_type(type))
        start_message(m, cte);
    else
        start_leaf(m, type, &ct, &cd, cte, body_start);
    itip_hdr_field_clear(&ct);
    itip_hdr_field_clear(&cd);
    if (m->st == ST_BODY)
        hblock_reset(h);
}

static void hdr_line_end(itip_mime *m, unsigned long long next_off)
{
    if (m->h.line_len == 0) {         /* the empty line ending the block */
        field_done(m);
        headers_end(m, next_off);
        return;
    }
    m->h.line_len = 0;
}

/* ---- boundaries ---- */

/* Index of the innermost open multipart whose boundary line the buffered line is, or -1;
 * *CLOSE tells a closing one ("--" after the boundary). */
static long match_boundary(const itip_mime *m, int *close)
{
    size_t i = m->nfr;

    while (i-- > 0) {
        int bm = m->fr[i].bm;
        if (bm == BM_AFTER || bm == BM_BLANKS || bm == BM_CLOSE) {
            *close = bm == BM_CLOSE;
            return (long)i;
        }
    }
    return -1;
}

/* Byte number I of the '-' line, C, against frame F's boundary line: "--" boundary, then
 * either blanks or "--" and blanks (RFC 2046; any number of blanks). */
static void frame_step(frame *f, size_t i, unsigned char c)
{
    switch (f->bm) {
    case BM_PREFIX:
        if (c != (i < 2 ? '-' : (unsigned char)f->boundary[i - 2]))
            f->bm = BM_DEAD;
        else if (i + 1 == f->blen + 2)
            f->bm = BM_AFTER;
        break;
    case BM_AFTER:
        f->bm = c == '-' ? BM_DASH : itip_is_wsp(c) ? BM_BLANKS : BM_DEAD;
        break;
    case BM_DASH:
        f->bm = c == '-' ? BM_CLOSE : BM_DEAD;
        break;
    case BM_BLANKS:
    case BM_CLOSE:
        if (!itip_is_wsp(c))
            f->bm = BM_DEAD;
        break;
    default:
        break;
    }
}

/* Takes byte C into the buffered line; the number of frames it may still belong to. */
static size_t pfx_step(itip_mime *m, unsigned char c)
{
    size_t i, alive = 0;

    for (i = 0; i < m->nfr; i++) {
        frame *f = &m->fr[i];
        if (f->bm == BM_DEAD)
            continue;
        frame_step(f, m->pfx_len, c);
        alive += f->bm != BM_DEAD;
    }
    m->pfx[m->pfx_len++] = (char)c;
    return alive;
}

/* Ends the entity in progress at BODY_END (header block or body). */
static void end_entity(itip_mime *m, unsigned long long body_end)
{
    if (m->st == ST_HEADERS)
        hblock_reset(&m->h);          /* a header block cut by a boundary: no body */
    if (m->c.on)
        cal_end(m, body_end);
    m->st = ST_BODY;
}

static void boundary(itip_mime *m, size_t k, int close)
{
    unsigned long long end = m->held ? m->held_off : m->line_off;
    const frame *f;

    m->held = 0;
    end_entity(m, end);
    while (m->nfr > k + 1)
        pop_frame(m);                 /* inner multiparts end with an outer boundary */
    if (close) {
        pop_frame(m);                 /* now in the epilogue */
        return;
    }
    f = &m->fr[k];
    if (count_part(m))
        hblock_start(m, f->depth + 1, f->encap, f->digest, 0);
}

/* ---- lines ---- */

static void content(itip_mime *m, const void *p, size_t n)
{
    if (m->st == ST_HEADERS)
        hdr_content(m, p, n);
    else if (m->c.on)
        cal_put(m, p, n);
}

/* The current line is not a boundary: the held line break was content after all. */
static void line_is_content(itip_mime *m)
{
    if (m->held && m->st == ST_BODY && m->c.on)
        cal_break(m, m->held);
    m->held = 0;
}

static void line_end(itip_mime *m, int kind, unsigned long long eol_off)
{
    static const unsigned char eol_len[] = { 0, 1, 1, 2 };

    if (m->pfx_on) {
        long k;
        int close = 0;
        m->pfx_on = 0;
        m->in_line = 0;
        if ((k = match_boundary(m, &close)) >= 0) {
            boundary(m, (size_t)k, close);
            return;
        }
        line_is_content(m);
        if (m->pfx_len)
            content(m, m->pfx, m->pfx_len);
    }
    m->in_line = 0;
    if (kind == EOL_NONE)
        return;
    if (m->st == ST_HEADERS)
        hdr_line_end(m, eol_off + eol_len[kind]);
    else {
        m->held = kind;
        m->held_off = eol_off;
    }
}

static void line_begin(itip_mime *m, unsigned char first)
{
    m->line_off = m->off;
    if (first == '-' && m->nfr > 0) {
        size_t i;
        m->pfx_on = 1;
        m->pfx_len = 0;
        for (i = 0; i < m->nfr; i++)
            m->fr[i].bm = BM_PREFIX;
    } else {
        line_is_content(m);
        m->in_line = 1;
    }
}

/* The line in pfx turned out not to be a boundary line: it is content. */
static void pfx_flush(itip_mime *m)
{
    m->pfx_on = 0;
    m->in_line = 1;
    line_is_content(m);
    content(m, m->pfx, m->pfx_len);
}

/* The first CR or LF at or after P, or the end of the chunk.  Each byte is searched once. */
static const unsigned char *next_eol(scan *s, const unsigned char *p)
{
    if ((s->lf == NULL || s->lf < p) &&
        (s->lf = memchr(p, '\n', (size_t)(s->end - p))) == NULL)
        s->lf = s->end;
    if ((s->cr == NULL || s->cr < p) &&
        (s->cr = memchr(p, '\r', (size_t)(s->end - p))) == NULL)
        s->cr = s->end;
    return s->lf < s->cr ? s->lf : s->cr;
}

static void scan_init(scan *s, const unsigned char *p, size_t len)
{
    s->end = p + len;
    s->lf = s->cr = NULL;
}

/* The line break at Q (CR or LF). */
static const unsigned char *eol(itip_mime *m, const scan *s, const unsigned char *q)
{
    if (*q == '\n') {
        m->off++;
        line_end(m, EOL_LF, m->off - 1);
        return q + 1;
    }
    if (q + 1 == s->end) {            /* CR at the end of the chunk: LF may follow */
        m->pending_cr = 1;
        m->cr_off = m->off++;
        return q + 1;
    }
    if (q[1] == '\n') {
        m->off += 2;
        line_end(m, EOL_CRLF, m->off - 2);
        return q + 2;
    }
    m->off++;
    line_end(m, EOL_CR, m->off - 1);
    return q + 1;
}

static const unsigned char *resolve_cr(itip_mime *m, const unsigned char *p)
{
    m->pending_cr = 0;
    if (*p == '\n') {
        m->off++;
        line_end(m, EOL_CRLF, m->cr_off);
        return p + 1;
    }
    line_end(m, EOL_CR, m->cr_off);
    return p;
}

static const unsigned char *stream_scan(itip_mime *m, scan *s, const unsigned char *p)
{
    const unsigned char *q = next_eol(s, p);

    if (q > p) {
        content(m, p, (size_t)(q - p));
        m->off += (unsigned long long)(q - p);
    }
    return q == s->end ? q : eol(m, s, q);
}

/* Room for N more bytes of the buffered line (at most BLINE_MAX in all); 0 or -1. */
static int pfx_room(itip_mime *m, size_t n)
{
    size_t want = m->pfx_len + n, na;
    char *v;

    if (want <= m->pfx_alloc)
        return 0;
    na = m->pfx_alloc ? m->pfx_alloc : 128;
    while (na < want)
        na *= 2;
    if (na > BLINE_MAX(m))
        na = BLINE_MAX(m);
    if ((v = realloc(m->pfx, na)) == NULL) {
        m->oom = 1;
        return -1;
    }
    m->pfx = v;
    m->pfx_alloc = na;
    return 0;
}

/* A line that starts with '-' inside a multipart: buffered while it may still be a boundary
 * line; as soon as it cannot be (or it passes BLINE_MAX: a finding), it is content and the
 * rest of it streams. */
static const unsigned char *pfx_scan(itip_mime *m, scan *s, const unsigned char *p)
{
    const unsigned char *q = next_eol(s, p), *r;
    size_t n = (size_t)(q - p);

    if (n > BLINE_MAX(m) - m->pfx_len)
        n = BLINE_MAX(m) - m->pfx_len;
    if (pfx_room(m, n) < 0) {
        pfx_flush(m);
        return p;
    }
    for (r = p; r < p + n; r++)
        if (pfx_step(m, *r) == 0) {
            m->off += (unsigned long long)(r + 1 - p);
            pfx_flush(m);
            return r + 1;
        }
    m->off += n;
    if (m->pfx_len == BLINE_MAX(m) && r < q) {
        unparsed(m, "a boundary line with transport padding", BLINE_MAX(m) + 1);
        pfx_flush(m);
        return r;
    }
    return q == s->end ? q : eol(m, s, q);
}

/* In a body that is not kept only lines starting with '-' matter: jumps to the next one (or
 * to the end of the chunk, remembering whether it ended a line).  Entered at a line start. */
static const unsigned char *skip_scan(itip_mime *m, const scan *s, const unsigned char *p)
{
    const unsigned char *q = p;

    m->held = 0;
    if (!m->in_line && *p == '-')
        return p;                     /* line_begin() takes it */
    while ((q = memchr(q, '-', (size_t)(s->end - q))) != NULL) {
        if (q > p && (q[-1] == '\n' || q[-1] == '\r'))
            break;
        q++;
    }
    if (q == NULL) {
        q = s->end;
        m->in_line = q[-1] != '\n' && q[-1] != '\r';
    } else
        m->in_line = 0;
    m->off += (unsigned long long)(q - p);
    return q;
}

/* A body whose bytes do not matter (not a calendar part), inside a multipart. */
static int skipping_body(const itip_mime *m)
{
    return m->st == ST_BODY && !m->c.on && !m->pfx_on;
}

/* Nothing later can matter: a finished top level with no open multipart. */
static int skipping_rest(const itip_mime *m)
{
    return m->st == ST_BODY && m->nfr == 0 && !m->c.on;
}

/* Consumes some input at P (at least one byte, or changes the line state). */
static const unsigned char *step(itip_mime *m, scan *s, const unsigned char *p)
{
    if (m->pending_cr)
        return resolve_cr(m, p);
    if (skipping_rest(m)) {
        m->off += (unsigned long long)(s->end - p);
        return s->end;
    }
    if (skipping_body(m)) {
        p = skip_scan(m, s, p);
        if (p < s->end)
            line_begin(m, *p);        /* a '-' at a line start */
        return p;
    }
    if (m->pfx_on)
        return pfx_scan(m, s, p);
    if (m->in_line)
        return stream_scan(m, s, p);
    line_begin(m, *p);
    return p;
}

/* ---- public ---- */

itip_mime *itip_mime_new(const itip_limits *lim, itip_findings *out)
{
    itip_mime *m = calloc(1, sizeof *m);

    if (m == NULL)
        return NULL;
    m->lim = lim;
    m->out = out;
    itip_strbuf_init(&m->h.fld, 0);
    itip_strbuf_init(&m->c.data, 0);
    m->nparts = 1;                    /* the message itself */
    hblock_start(m, 0, 0, 0, 1);
    return m;
}

void itip_mime_free(itip_mime *m)
{
    size_t i;
    itip_msghdrs *t;

    if (m == NULL)
        return;
    while (m->nfr)
        pop_frame(m);
    free(m->fr);
    free(m->pfx);
    hblock_reset(&m->h);
    itip_strbuf_free(&m->h.fld);
    itip_calpart_clear(&m->c.p);
    itip_strbuf_free(&m->c.data);
    for (i = 0; i < m->ncal; i++)
        itip_calpart_clear(&m->cal[i]);
    free(m->cal);
    for (i = 0; i < m->ntnef; i++)
        itip_calpart_clear(&m->tnef[i]);
    free(m->tnef);
    t = &m->hdrs;
    free(t->from);
    free(t->sender);
    free(t->to);
    free(t->date);
    free(t->subject);
    free(t->message_id);
    free(t->x_mailer);
    free(t->content_class);
    free(t->return_path);
    free(t->delivered_to);
    free(t->x_original_to);
    free(t->auto_submitted);
    free(t->x_mimeole);
    for (i = 0; i < t->n_auth_results; i++)
        free(t->auth_results[i]);
    for (i = 0; i < t->n_content_ids; i++)
        free(t->content_ids[i]);
    free(t->content_ids);
    free(m);
}

int itip_mime_feed(itip_mime *m, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    scan s;

    if (m->oom)
        return -1;
    if (m->finished || len == 0)
        return 0;
    scan_init(&s, p, len);
    while (p < s.end && !m->oom)
        p = step(m, &s, p);
    return m->oom ? -1 : 0;
}

int itip_mime_finish(itip_mime *m)
{
    if (m->oom)
        return -1;
    if (m->finished)
        return 0;
    m->finished = 1;
    if (m->pending_cr) {
        m->pending_cr = 0;
        line_end(m, EOL_CR, m->cr_off);
    } else if (m->pfx_on || m->in_line)
        line_end(m, EOL_NONE, m->off);
    if (m->st == ST_HEADERS) {
        field_done(m);                /* a header block never ended: no body */
        hblock_reset(&m->h);
    }
    if (m->c.on) {
        line_is_content(m);           /* a last line break is part of the body */
        cal_end(m, m->off);
    }
    while (m->nfr)
        pop_frame(m);
    return m->oom ? -1 : 0;
}

size_t itip_mime_calpart_count(const itip_mime *m)
{
    return m->ncal;
}

const itip_calpart *itip_mime_calpart(const itip_mime *m, size_t i)
{
    return i < m->ncal ? &m->cal[i] : NULL;
}

size_t itip_mime_tnefpart_count(const itip_mime *m)
{
    return m->ntnef;
}

const itip_calpart *itip_mime_tnefpart(const itip_mime *m, size_t i)
{
    return i < m->ntnef ? &m->tnef[i] : NULL;
}

size_t itip_mime_part_count(const itip_mime *m)
{
    return m->nparts;
}

const itip_msghdrs *itip_mime_headers(const itip_mime *m)
{
    return &m->hdrs;
}

int itip_mime_headers_done(const itip_mime *m)
{
    return m->headers_done;
}

int itip_mime_rest_irrelevant(const itip_mime *m)
{
    return m->headers_done && skipping_rest(m);
}
