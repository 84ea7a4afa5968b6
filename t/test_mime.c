/*
 * test_mime.c - unit tests of the streaming MIME walker (mime.h).
 *
 * Every message (generated here, from t/mime/, and from $top_srcdir/../shared/corpus when that
 * exists) is walked whole and in chunks of 1, 2, 3, 7, 64, 1000, 65535 bytes and several
 * seeded random splittings: the full result (every calendar-part field and data byte, the
 * top-level headers, the part count, the findings) must be identical.  Then specific checks:
 * each transfer encoding, charset conversion, file names, encapsulation, boundaries, limits
 * and malformed input.
 */
#include "ac-config.h"
#include <dirent.h>
#include <sys/stat.h>
#include "tap.h"
#include "mime/mime.h"
#include "base/strbuf.h"

static const itip_limits deflim = {
    .max_calendar_part_size = 1 << 20, .max_calendar_parts = 16, .max_mime_depth = 32,
    .max_parts = 1000, .max_header_size = 65536, .max_findings = 100,
    .max_ical_components = 10000, .max_headers = 1000, .max_analysis_time = 10000,
};

#define CAL "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nPRODID:-//test//EN\r\nVERSION:2.0\r\n" \
            "BEGIN:VEVENT\r\nUID:1@example.org\r\nSUMMARY:Caf\xc3\xa9 \xe2\x82\xac\r\n" \
            "DTSTAMP:20260101T000000Z\r\nDTSTART:20260102T100000Z\r\nEND:VEVENT\r\n" \
            "END:VCALENDAR\r\n"
/* CAL as a 7bit/8bit part gives it back: line breaks as "\n", the last one gone (boundary) */
#define CAL_LF "BEGIN:VCALENDAR\nMETHOD:REQUEST\nPRODID:-//test//EN\nVERSION:2.0\n" \
               "BEGIN:VEVENT\nUID:1@example.org\nSUMMARY:Caf\xc3\xa9 \xe2\x82\xac\n" \
               "DTSTAMP:20260101T000000Z\nDTSTART:20260102T100000Z\nEND:VEVENT\n" \
               "END:VCALENDAR"

/* ---- running the walker ---- */

typedef struct {
    itip_mime *m;
    itip_findings f;
    int rfeed, rfin;
} walk;

static unsigned long long rng_state;

static size_t rnd(size_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (size_t)((rng_state >> 33) % n);
}

/* FIXED > 0: chunks of that size; FIXED == 0: random sizes from SEED. */
static void walk_run(walk *w, const char *msg, size_t len, const itip_limits *lim, size_t fixed,
                     unsigned seed)
{
    size_t pos = 0;

    itip_findings_init(&w->f, lim->max_findings, NULL);
    w->m = itip_mime_new(lim, &w->f);
    w->rfeed = 0;
    rng_state = seed;
    while (pos < len && w->m) {
        size_t n = fixed ? fixed : (rnd(4) ? 1 + rnd(17) : 1 + rnd(5000));
        if (n > len - pos)
            n = len - pos;
        if (itip_mime_feed(w->m, msg + pos, n) != 0)
            w->rfeed = -1;
        pos += n;
    }
    w->rfin = w->m ? itip_mime_finish(w->m) : -1;
}

static void walk_free(walk *w)
{
    itip_mime_free(w->m);
    itip_findings_clear(&w->f);
}

static void ser_s(strbuf *b, const char *k, const char *v)
{
    itip_strbuf_printf(b, "%s=%s\n", k, v ? v : "(null)");
}

static void ser_part(strbuf *b, const itip_calpart *p)
{
    ser_s(b, "type", p->media_type);
    ser_s(b, "method", p->method_param);
    ser_s(b, "charset", p->charset);
    ser_s(b, "filename", p->filename);
    itip_strbuf_printf(b, "att=%d encap=%d bytype=%d depth=%d cte=%d len=%zu trunc=%d derr=%zu "
                  "csfail=%d start=%llu end=%llu\ndata:", p->disposition_attachment,
                  p->encapsulated, p->by_type, p->depth, (int)p->cte, p->len, p->truncated,
                  p->decode_errors, p->charset_failed, p->body_start, p->body_end);
    itip_strbuf_append(b, p->data, p->len + 1);   /* with the NUL: it must be there */
}

/* Everything the walker produced, as one byte string. */
static char *serialize(const walk *w, size_t *len)
{
    strbuf b;
    const itip_msghdrs *h = itip_mime_headers(w->m);
    size_t i;

    itip_strbuf_init(&b, 0);
    itip_strbuf_printf(&b, "feed=%d fin=%d parts=%zu hdone=%d irr=%d ncal=%zu\n", w->rfeed, w->rfin,
                  itip_mime_part_count(w->m), itip_mime_headers_done(w->m),
                  itip_mime_rest_irrelevant(w->m), itip_mime_calpart_count(w->m));
    ser_s(&b, "from", h->from);
    ser_s(&b, "sender", h->sender);
    ser_s(&b, "to", h->to);
    ser_s(&b, "date", h->date);
    ser_s(&b, "subject", h->subject);
    ser_s(&b, "mid", h->message_id);
    ser_s(&b, "xmailer", h->x_mailer);
    ser_s(&b, "cclass", h->content_class);
    for (i = 0; i < itip_mime_calpart_count(w->m); i++)
        ser_part(&b, itip_mime_calpart(w->m, i));
    for (i = 0; i < w->f.n; i++)
        itip_strbuf_printf(&b, "finding %d %d %d %s %s\n", (int)w->f.v[i].rule,
                      (int)w->f.v[i].severity, w->f.v[i].part,
                      w->f.v[i].component ? w->f.v[i].component : "-", w->f.v[i].detail);
    itip_strbuf_printf(&b, "dropped=%zu oom=%d\n", w->f.dropped, w->f.oom);
    return itip_strbuf_detach(&b, len);
}

/* Walks MSG whole, then in every chunking; one test: all results identical. */
static void check_chunking(const char *name, const char *msg, size_t len, const itip_limits *lim)
{
    static const size_t sizes[] = { 1, 2, 3, 7, 64, 1000, 65535 };
    walk w;
    char *ref, *got;
    size_t rlen, glen, i;
    int same = 1;
    char what[64] = "";

    walk_run(&w, msg, len ? len : 0, lim, len ? len : 1, 0);
    ref = serialize(&w, &rlen);
    walk_free(&w);
    for (i = 0; i < sizeof sizes / sizeof sizes[0] + 4 && same; i++) {
        size_t fixed = i < 7 ? sizes[i] : 0;
        if (fixed && fixed < 7 && len > (2u << 20))
            continue;                 /* byte-sized chunks of the 10 MB messages: too slow */
        walk_run(&w, msg, len, lim, fixed, (unsigned)(i + 1));
        got = serialize(&w, &glen);
        walk_free(&w);
        if (glen != rlen || memcmp(got, ref, rlen) != 0) {
            same = 0;
            snprintf(what, sizeof what, fixed ? "chunk size %zu" : "random seed %zu",
                     fixed ? fixed : i + 1);
        }
        free(got);
    }
    if (!ok(same, "%s: same result whatever the chunking", name))
        diag("differs with %s", what);
    free(ref);
}

/* ---- message building ---- */

static char *b64(const char *in, size_t n, size_t linelen, const char *eol)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    strbuf b;
    size_t i, col = 0;

    itip_strbuf_init(&b, 0);
    for (i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        char q[4];
        if (i + 1 < n)
            v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        q[0] = t[v >> 18 & 63];
        q[1] = t[v >> 12 & 63];
        q[2] = i + 1 < n ? t[v >> 6 & 63] : '=';
        q[3] = i + 2 < n ? t[v & 63] : '=';
        itip_strbuf_append(&b, q, 4);
        col += 4;
        if (linelen && col >= linelen) {
            itip_strbuf_append(&b, eol, strlen(eol));
            col = 0;
        }
    }
    if (col)
        itip_strbuf_append(&b, eol, strlen(eol));
    return itip_strbuf_detach(&b, NULL);
}

/* Offset of NEEDLE in HAY[FROM..], or (size_t)-1. */
static size_t find(const char *hay, size_t len, const char *needle, size_t from)
{
    size_t n = strlen(needle), i;

    for (i = from; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return i;
    return (size_t)-1;
}

/* Test messages kept for the chunking test over all of them. */
typedef struct {
    char name[64];
    const char *msg;
    size_t len;
    itip_limits lim;
    char *heap;               /* msg when it is to be freed */
} tmsg;

static tmsg msgs[128];
static size_t nmsgs;

/* Keeps MSG for the chunking test; a message from the heap (OWNED) is freed after it. */
static const char *keep_msg(const char *name, const char *msg, size_t len,
                            const itip_limits *lim, char *heap)
{
    tmsg *t;

    if (nmsgs == sizeof msgs / sizeof msgs[0]) {
        fprintf(stderr, "too many test messages\n");
        exit(2);
    }
    t = &msgs[nmsgs++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->msg = msg;
    t->len = len;
    t->lim = *lim;
    t->heap = heap;
    return msg;
}

#define keep(name, msg, len, lim) keep_msg(name, msg, len, lim, msg)
#define keep_static(name, msg, len, lim) keep_msg(name, msg, len, lim, NULL)

static walk whole(const char *msg, size_t len, const itip_limits *lim)
{
    walk w;

    walk_run(&w, msg, len, lim, len ? len : 1, 0);
    return w;
}

static int data_is(const itip_calpart *p, const char *want, size_t n)
{
    return p && p->len == n && memcmp(p->data, want, n) == 0 && p->data[n] == '\0';
}

/* ---- the tests ---- */

static void test_base64_alternative(void)
{
    strbuf b;
    char *enc = b64(CAL, sizeof CAL - 1, 76, "\r\n"), *msg;
    size_t len, s0, e0;
    walk w;
    const itip_calpart *p;
    const itip_msghdrs *h;

    itip_strbuf_init(&b, 0);
    itip_strbuf_printf(&b, "From: Alice <alice@example.org>\r\nTo: bob@example.org,\r\n"
                  "\tcarol@example.org\r\n"
                  "Subject: Invitation:\r\n  folded\r\nDate: Thu, 27 Aug 2015 10:35:49 -0400\r\n"
                  "Message-ID: <1@example.org>\r\nX-Mailer: test 1.0\r\n"
                  "Content-Class: urn:content-classes:calendarmessage\r\nSubject: second\r\n"
                  "MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n"
                  " boundary=\"----=_Part_0_1\"\r\n\r\nThis is the preamble.\r\n"
                  "------=_Part_0_1\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nHello\r\n"
                  "------=_Part_0_1\r\nContent-Type: text/calendar; charset=UTF-8; method=REQUEST;\r\n"
                  " name=invite.ics\r\nContent-Transfer-Encoding: base64\r\n\r\n%s"
                  "------=_Part_0_1--\r\nepilogue\r\n", enc);
    msg = itip_strbuf_detach(&b, &len);
    keep("base64 alternative", msg, len, &deflim);
    w = whole(msg, len, &deflim);
    is_int(itip_mime_calpart_count(w.m), 1, "b64: one calendar part");
    p = itip_mime_calpart(w.m, 0);
    ok(data_is(p, CAL, sizeof CAL - 1), "b64: decoded data");
    is_str(p->media_type, "text/calendar", "b64: media type");
    is_str(p->method_param, "REQUEST", "b64: method");
    is_str(p->charset, "UTF-8", "b64: charset");
    is_str(p->filename, "invite.ics", "b64: file name");
    ok(p->by_type == 1 && p->depth == 1 && !p->encapsulated && p->cte == ITIP_CTE_BASE64 &&
       !p->truncated && p->decode_errors == 0 && !p->charset_failed &&
       !p->disposition_attachment, "b64: flags");
    s0 = find(msg, len, "base64\r\n\r\n", 0) + 10;
    e0 = find(msg, len, "\r\n------=_Part_0_1--", s0);
    is_int(p->body_start, s0, "b64: body_start");
    is_int(p->body_end, e0, "b64: body_end");
    is_int(itip_mime_part_count(w.m), 3, "b64: three parts");
    h = itip_mime_headers(w.m);
    is_str(h->from, "Alice <alice@example.org>", "hdr From");
    is_str(h->to, "bob@example.org,\tcarol@example.org", "hdr To unfolded");
    is_str(h->subject, "Invitation:  folded", "hdr Subject unfolded, first occurrence");
    is_str(h->date, "Thu, 27 Aug 2015 10:35:49 -0400", "hdr Date");
    is_str(h->message_id, "<1@example.org>", "hdr Message-ID");
    is_str(h->x_mailer, "test 1.0", "hdr X-Mailer");
    is_str(h->content_class, "urn:content-classes:calendarmessage", "hdr Content-Class");
    ok(h->sender == NULL, "hdr Sender absent");
    ok(itip_mime_headers_done(w.m) && itip_mime_rest_irrelevant(w.m), "b64: done, irrelevant");
    is_int(w.f.n, 0, "b64: no findings");
    walk_free(&w);
    free(enc);
}

/* A one-part multipart with the calendar in the given CTE, body and charset. */
static char *single(const char *cte, const char *ctype_extra, const char *body, size_t blen,
                    const char *eol, size_t *len)
{
    strbuf b;

    itip_strbuf_init(&b, 0);
    itip_strbuf_printf(&b, "Subject: t%sContent-Type: multipart/mixed; boundary=zz%s%s--zz%s"
                  "Content-Type: text/calendar; method=REQUEST%s%s"
                  "Content-Transfer-Encoding: %s%s%s", eol, eol, eol, eol, ctype_extra, eol,
                  cte, eol, eol);
    itip_strbuf_append(&b, body, blen);
    itip_strbuf_printf(&b, "%s--zz--%s", eol, eol);
    return itip_strbuf_detach(&b, len);
}

static void enc_case(const char *name, const char *cte, const char *extra, const char *body,
                     size_t blen, const char *eol, const char *want, size_t wlen, size_t derr,
                     int csfail, itip_cte want_cte)
{
    size_t len;
    char *msg = single(cte, extra, body, blen, eol, &len);
    walk w = whole(msg, len, &deflim);
    const itip_calpart *p = itip_mime_calpart(w.m, 0);

    keep(name, msg, len, &deflim);
    if (!ok(p && data_is(p, want, wlen), "%s: data", name) && p)
        diag("got %zu bytes: '%s'", p->len, p->data);
    if (!ok(p && p->decode_errors == derr && p->charset_failed == csfail && p->cte == want_cte,
            "%s: errors %zu, charset_failed %d, cte", name, derr, csfail) && p)
        diag("derr %zu csfail %d cte %d", p->decode_errors, p->charset_failed, (int)p->cte);
    walk_free(&w);
}

static void test_encodings(void)
{
    static const char qp[] = "BEGIN:VCALENDAR\r\nSUMMARY:Caf=E9 au lait, tr=E8s=\r\n long =3D ok  \r\n"
                             "END:VCALENDAR";
    static const char qp_want[] = "BEGIN:VCALENDAR\nSUMMARY:Caf\xc3\xa9 au lait, tr\xc3\xa8s long = ok\n"
                                  "END:VCALENDAR";
    static const char bin[] = "BEGIN:VCALENDAR\r\nX-NUL:a\0b\r\nEND:VCALENDAR\r\n";
    /* NUL bytes leave the part's data (counted in nul_bytes): libical reads a C string */
    static const char bin_want[] = "BEGIN:VCALENDAR\nX-NUL:ab\nEND:VCALENDAR";
    static const char latin[] = "SUMMARY:caf\xe9";
    char *enc = b64(CAL, sizeof CAL - 1, 0, "\r\n");
    char *enc_bad = b64(CAL, sizeof CAL - 1, 60, "\n");

    enc_case("7bit CRLF", "7bit", "", CAL, sizeof CAL - 3, "\r\n", CAL_LF, sizeof CAL_LF - 1, 0, 0,
             ITIP_CTE_7BIT);
    enc_case("8bit LF", "8bit", "; charset=utf-8", CAL, sizeof CAL - 3, "\n", CAL_LF,
             sizeof CAL_LF - 1, 0, 0, ITIP_CTE_8BIT);
    enc_case("binary with NUL", "binary", "", bin, sizeof bin - 3, "\r\n", bin_want,
             sizeof bin_want - 1, 0, 0, ITIP_CTE_BINARY);
    enc_case("QP latin-1", "quoted-printable", "; charset=\"ISO-8859-1\"", qp, sizeof qp - 1,
             "\r\n", qp_want, sizeof qp_want - 1, 0, 0, ITIP_CTE_QP);
    enc_case("base64 one line", "base64", "", enc, strlen(enc) - 2, "\r\n", CAL, sizeof CAL - 1,
             0, 0, ITIP_CTE_BASE64);
    enc_case("base64 bare CR", "BASE64", "", enc, strlen(enc) - 2, "\r", CAL, sizeof CAL - 1,
             0, 0, ITIP_CTE_BASE64);
    enc_case("base64 invalid chars", "base64", "", "QkVH*SU4=!", 10, "\r\n", "BEGIN", 5, 2, 0,
             ITIP_CTE_BASE64);
    enc_case("base64 LF lines", "base64", "", enc_bad, strlen(enc_bad) - 1, "\n", CAL,
             sizeof CAL - 1, 0, 0, ITIP_CTE_BASE64);
    enc_case("latin-1 8bit", "8bit", "; charset=iso-8859-1", latin, sizeof latin - 1, "\r\n",
             "SUMMARY:caf\xc3\xa9", 13, 0, 0, ITIP_CTE_8BIT);
    enc_case("bad utf-8", "8bit", "; charset=utf-8", latin, sizeof latin - 1, "\r\n", latin,
             sizeof latin - 1, 0, 1, ITIP_CTE_8BIT);
    enc_case("unknown charset", "8bit", "; charset=x-martian", "abc", 3, "\r\n", "abc", 3, 0, 1,
             ITIP_CTE_8BIT);
    enc_case("unknown CTE raw", "x-uuencode", "", "line1\r\nline2", 12, "\r\n", "line1\r\nline2",
             12, 1, 0, ITIP_CTE_UNKNOWN);
    enc_case("mixed line ends", "7bit", "", "a\rb\nc\r\nd", 8, "\r\n", "a\nb\nc\nd", 7, 0, 0,
             ITIP_CTE_7BIT);
    enc_case("empty body", "7bit", "", "", 0, "\r\n", "", 0, 0, 0, ITIP_CTE_7BIT);
    free(enc);
    free(enc_bad);
}

static const itip_calpart *only_part(walk *w, const char *name)
{
    if (!ok(itip_mime_calpart_count(w->m) == 1, "%s: one calendar part", name))
        diag("got %zu", itip_mime_calpart_count(w->m));
    return itip_mime_calpart(w->m, 0);
}

static void test_names(void)
{
    static const char m1[] =
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
        "Content-Type: application/octet-stream; name=\"invite.ics\"\r\n"
        "Content-Disposition: attachment\r\n\r\nBEGIN:VCALENDAR\r\n--b--\r\n";
    static const char m2[] =
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
        "Content-Type: application/octet-stream\r\n"
        "Content-Disposition: attachment;\r\n filename*0*=UTF-8''r%C3%A9union;\r\n filename*1=\".ICS\"\r\n"
        "\r\nBEGIN:VCALENDAR\r\n--b--\r\n";
    static const char m3[] =
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
        "Content-Type: application/octet-stream; name=\"=?UTF-8?B?csOpdW5pb24udmNz?=\"\r\n"
        "\r\nBEGIN:VCALENDAR\r\n--b\r\nContent-Type: application/pdf; name=x.pdf\r\n\r\n%PDF\r\n--b--\r\n";
    static const char m4[] =
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
        "Content-Type: Application/ICS\r\nContent-Disposition: ATTACHMENT; filename=x.txt\r\n"
        "\r\nBEGIN:VCALENDAR\r\n--b\r\nContent-Type: text/x-vcalendar\r\n\r\nBEGIN:VCALENDAR\r\n--b--\r\n";
    walk w;
    const itip_calpart *p;

    w = whole(keep_static("name=invite.ics", m1, sizeof m1 - 1, &deflim), sizeof m1 - 1, &deflim);
    p = only_part(&w, "name=");
    is_str(p->filename, "invite.ics", "name=: file name");
    ok(p->by_type == 0 && p->disposition_attachment == 1, "name=: by name, attachment");
    is_str(p->media_type, "application/octet-stream", "name=: media type kept");
    ok(data_is(p, "BEGIN:VCALENDAR", 15), "name=: data");
    walk_free(&w);

    w = whole(keep_static("RFC 2231 name", m2, sizeof m2 - 1, &deflim), sizeof m2 - 1, &deflim);
    p = only_part(&w, "RFC 2231");
    is_str(p->filename, "r\xc3\xa9union.ICS", "RFC 2231 continuation file name");
    walk_free(&w);

    w = whole(keep_static("RFC 2047 name", m3, sizeof m3 - 1, &deflim), sizeof m3 - 1, &deflim);
    p = only_part(&w, "RFC 2047");
    is_str(p->filename, "r\xc3\xa9union.vcs", "RFC 2047 file name");
    is_int(itip_mime_part_count(w.m), 3, "RFC 2047: part count");
    walk_free(&w);

    w = whole(keep_static("types", m4, sizeof m4 - 1, &deflim), sizeof m4 - 1, &deflim);
    is_int(itip_mime_calpart_count(w.m), 2, "application/ics and text/x-vcalendar");
    p = itip_mime_calpart(w.m, 0);
    ok(p && p->by_type && p->disposition_attachment && strcmp(p->filename, "x.txt") == 0,
       "application/ics: by type, attachment");
    walk_free(&w);

    ok(itip_mime_is_calendar("text/calendar", NULL, NULL), "is_calendar type");
    {
        int bt = 7;
        ok(itip_mime_is_calendar("application/octet-stream", "A.VCS", &bt) && bt == 0,
           "is_calendar by name");
        ok(!itip_mime_is_calendar("text/plain", "ics", &bt) && bt == 0, "is_calendar: 'ics'");
        ok(!itip_mime_is_calendar(NULL, NULL, &bt), "is_calendar: nothing");
    }
}

static void test_rfc822(void)
{
    static const char m[] =
        "From: outer@example.org\r\nSubject: outer\r\n"
        "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
        "--outer\r\nContent-Type: text/plain\r\n\r\nforwarded\r\n"
        "--outer\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: inner@example.org\r\nSubject: inner\r\n"
        "Content-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n"
        "--inner\r\nContent-Type: text/plain\r\n\r\nx\r\n"
        "--inner\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
        "--inner--\r\n--outer--\r\n";
    static const char digest[] =
        "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n"
        "Subject: in digest\r\nContent-Type: text/calendar; method=PUBLISH\r\n\r\nBEGIN:VCALENDAR\r\n"
        "--d\r\nContent-Type: text/plain\r\n\r\nplain\r\n--d--\r\n";
    static const char top[] =
        "Subject: top\nContent-Type: text/calendar; method=CANCEL; charset=utf-8\n\n"
        "BEGIN:VCALENDAR\nEND:VCALENDAR\n";
    walk w;
    const itip_calpart *p;

    w = whole(keep_static("rfc822", m, sizeof m - 1, &deflim), sizeof m - 1, &deflim);
    p = only_part(&w, "rfc822");
    if (!ok(p->encapsulated == 1 && p->depth == 3, "rfc822: encapsulated, depth 3"))
        diag("encap %d depth %d", p->encapsulated, p->depth);
    ok(data_is(p, "BEGIN:VCALENDAR\nEND:VCALENDAR", 29), "rfc822: data");
    is_str(itip_mime_headers(w.m)->subject, "outer", "rfc822: inner headers not top-level");
    is_int(itip_mime_part_count(w.m), 6, "rfc822: part count (message counts as a part)");
    walk_free(&w);

    w = whole(keep_static("digest", digest, sizeof digest - 1, &deflim), sizeof digest - 1,
              &deflim);
    p = only_part(&w, "digest");
    ok(p->encapsulated == 1 && p->depth == 2 && strcmp(p->method_param, "PUBLISH") == 0,
       "digest: default message/rfc822");
    walk_free(&w);

    w = whole(keep_static("top-level calendar", top, sizeof top - 1, &deflim), sizeof top - 1,
              &deflim);
    p = only_part(&w, "top-level");
    ok(p->depth == 0 && !p->encapsulated && p->body_start == (size_t)find(top, sizeof top - 1, "BEGIN", 0) &&
       p->body_end == sizeof top - 1, "top-level: depth 0, offsets");
    ok(data_is(p, "BEGIN:VCALENDAR\nEND:VCALENDAR\n", 30), "top-level: data to the end");
    walk_free(&w);
}

static void test_boundaries(void)
{
    static const char prefix[] =      /* inner boundary = outer + suffix */
        "Content-Type: multipart/mixed; boundary=\"abc\"\r\n\r\n--abc\r\n"
        "Content-Type: multipart/alternative; boundary=\"abc_1\"\r\n\r\n--abc_1\r\n"
        "Content-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\n--abc_1 \t\r\n"
        "Content-Type: text/plain\r\n\r\n--abc_1x\r\n--abcd\r\n--abc_1--\r\n--abc--";
    static const char unclosed[] =   /* the outer boundary closes the inner multipart */
        "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
        "Content-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\n"
        "Content-Type: text/calendar\r\n\r\nCAL1\r\n"
        "--o\r\nContent-Type: text/calendar\r\n\r\nCAL2\r\n--i\r\nCAL2b\r\n--o--\r\n--i\r\n"
        "Content-Type: text/calendar\r\n\r\nnot seen\r\n";
    static const char eof[] =       /* no close delimiter at all */
        "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
        "Content-Type: text/calendar\r\n\r\nCAL\r\nmore\r\n";
    static const char cut[] =       /* a header block cut by a boundary; empty header block */
        "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: text/calendar\r\n"
        "--o\r\n\r\nplain\r\n--o\r\nContent-Type: text/calendar\r\n\r\n--o--\r\n";
    walk w;
    const itip_calpart *p;
    size_t n;

    w = whole(keep_static("prefix boundary", prefix, sizeof prefix - 1, &deflim),
              sizeof prefix - 1, &deflim);
    p = only_part(&w, "prefix boundary");
    ok(data_is(p, "BEGIN:VCALENDAR", 15), "prefix boundary: data, transport padding");
    ok(itip_mime_rest_irrelevant(w.m), "prefix boundary: close at EOF without CRLF");
    is_int(itip_mime_part_count(w.m), 4, "prefix boundary: parts");
    walk_free(&w);

    w = whole(keep_static("unclosed inner", unclosed, sizeof unclosed - 1, &deflim),
              sizeof unclosed - 1, &deflim);
    n = itip_mime_calpart_count(w.m);
    is_int(n, 2, "unclosed inner: two parts");
    ok(n == 2 && data_is(itip_mime_calpart(w.m, 0), "CAL1", 4) &&
       data_is(itip_mime_calpart(w.m, 1), "CAL2\n--i\nCAL2b", 14),
       "unclosed inner: outer boundary ends inner parts; inner boundary no longer active");
    ok(n == 2 && itip_mime_calpart(w.m, 1)->depth == 1, "unclosed inner: depth after pop");
    walk_free(&w);

    w = whole(keep_static("no close", eof, sizeof eof - 1, &deflim), sizeof eof - 1, &deflim);
    p = only_part(&w, "no close");
    ok(data_is(p, "CAL\nmore\n", 9) && p->body_end == sizeof eof - 1, "no close: part ends at EOF");
    walk_free(&w);

    w = whole(keep_static("cut header block", cut, sizeof cut - 1, &deflim), sizeof cut - 1,
              &deflim);
    p = only_part(&w, "cut header block");
    ok(p->len == 0 && p->body_start == p->body_end &&
       p->body_start == find(cut, sizeof cut - 1, "--o--", 0), "empty calendar body offsets");
    is_int(itip_mime_part_count(w.m), 4, "cut header block: parts");
    walk_free(&w);
}

static void test_irrelevant(void)
{
    static const char plain[] = "From: a@example.org\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x\r\n";
    static const char mp[] =
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        "x\r\n--b--\r\nepilogue\r\n--b\r\nContent-Type: text/calendar\r\n\r\nlate\r\n";
    itip_findings f;
    itip_mime *m;
    size_t hdr = find(plain, sizeof plain - 1, "\r\n\r\n", 0) + 4;
    size_t close = find(mp, sizeof mp - 1, "--b--\r\n", 0) + 7;

    itip_findings_init(&f, 100, NULL);
    m = itip_mime_new(&deflim, &f);
    itip_mime_feed(m, plain, hdr - 1);
    ok(!itip_mime_rest_irrelevant(m) && !itip_mime_headers_done(m), "text/plain: not before the blank line");
    itip_mime_feed(m, plain + hdr - 1, 1);
    ok(itip_mime_rest_irrelevant(m) && itip_mime_headers_done(m), "text/plain: irrelevant after the headers");
    itip_mime_feed(m, plain + hdr, sizeof plain - 1 - hdr);
    itip_mime_finish(m);
    itip_mime_free(m);

    m = itip_mime_new(&deflim, &f);
    itip_mime_feed(m, mp, close - 1);
    ok(!itip_mime_rest_irrelevant(m), "multipart: not before the close delimiter");
    itip_mime_feed(m, mp + close - 1, 1);
    ok(itip_mime_rest_irrelevant(m), "multipart: irrelevant after the close delimiter");
    itip_mime_feed(m, mp + close, sizeof mp - 1 - close);
    itip_mime_finish(m);
    is_int(itip_mime_calpart_count(m), 0, "multipart: epilogue ignored");
    itip_mime_free(m);
    keep_static("epilogue", mp, sizeof mp - 1, &deflim);
    itip_findings_clear(&f);
}

/* ---- limits and malformed input ---- */

static int findings_of(const walk *w, const char *setting)
{
    size_t i;
    int n = 0;

    for (i = 0; i < w->f.n; i++)
        if (w->f.v[i].rule == ITIP_R_MIME_LIMIT_EXCEEDED && strstr(w->f.v[i].detail, setting))
            n++;
    return n;
}

static void test_deep(void)
{
    strbuf b;
    int i, depth = 300;
    char *msg;
    size_t len;
    walk w;
    const itip_calpart *p;

    itip_strbuf_init(&b, 0);
    for (i = 0; i < depth; i++)
        itip_strbuf_printf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n"
                               "--b%d\r\n", i, i);
    itip_strbuf_printf(&b, "Content-Type: text/calendar\r\n\r\ndeep\r\n");
    for (i = depth - 1; i >= 1; i--)
        itip_strbuf_printf(&b, "--b%d--\r\n", i);
    itip_strbuf_printf(&b, "--b0\r\nContent-Type: text/calendar; method=CANCEL\r\n\r\n"
                           "shallow\r\n--b0--\r\n");
    msg = itip_strbuf_detach(&b, &len);
    keep("300 deep", msg, len, &deflim);
    w = whole(msg, len, &deflim);
    p = only_part(&w, "300 deep");
    ok(p && strcmp(p->method_param, "CANCEL") == 0 && p->depth == 1 && data_is(p, "shallow", 7),
       "300 deep: the sibling after the deep part is found");
    is_int(findings_of(&w, "max_mime_depth (32)"), 1, "300 deep: one max_mime_depth finding");
    is_int(w.f.n, 1, "300 deep: nothing else");
    is_int(itip_mime_part_count(w.m), 34, "300 deep: parts 0..32 and the sibling");
    ok(itip_mime_rest_irrelevant(w.m), "300 deep: outermost closed");
    walk_free(&w);
}

static void test_big(void)
{
    size_t target = 10u << 20, plen, len;
    char *payload, *enc, *msg;
    strbuf b;
    walk w;
    const itip_calpart *p;

    /* ~7.5 MB of calendar text, base64 in 76-column lines: about 10 MB */
    itip_strbuf_init(&b, 0);
    itip_strbuf_printf(&b, "BEGIN:VCALENDAR\r\n");
    while (b.len < target / 4 * 3)
        itip_strbuf_printf(&b, "X-PAD:%0*d\r\n", 64, (int)b.len);
    payload = itip_strbuf_detach(&b, &plen);
    enc = b64(payload, plen, 76, "\r\n");
    itip_strbuf_init(&b, 0);
    itip_strbuf_printf(&b, "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                  "Content-Type: text/calendar\r\nContent-Transfer-Encoding: base64\r\n\r\n%s"
                  "--b\r\nContent-Type: text/calendar; method=REPLY\r\n\r\nsmall\r\n--b--\r\n", enc);
    msg = itip_strbuf_detach(&b, &len);
    keep("10 MB base64", msg, len, &deflim);
    w = whole(msg, len, &deflim);
    is_int(itip_mime_calpart_count(w.m), 2, "10 MB: both parts");
    p = itip_mime_calpart(w.m, 0);
    ok(p && p->truncated == 1 && p->len == deflim.max_calendar_part_size &&
       memcmp(p->data, payload, p->len) == 0 && p->data[p->len] == '\0' && p->decode_errors == 0,
       "10 MB: truncated at exactly 1 MiB, first bytes kept");
    ok(p && p->body_end == find(msg, len, "\r\n--b\r\nContent-Type: text/calendar; method=REPLY", 0),
       "10 MB: body_end");
    p = itip_mime_calpart(w.m, 1);
    ok(p && !p->truncated && data_is(p, "small", 5), "10 MB: next part intact");
    is_int(findings_of(&w, "max_calendar_part_size (1048576)"), 1, "10 MB: one finding");
    ok(w.f.n == 1 && w.f.v[0].part == 0, "10 MB: finding names part 0");
    walk_free(&w);
    free(enc);

    /* the same as one 10 MB line, and a 10 MB single-line binary non-calendar part */
    enc = b64(payload, plen, 0, "\r\n");
    itip_strbuf_init(&b, 0);
    itip_strbuf_printf(&b, "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                  "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n");
    itip_strbuf_append(&b, payload, plen);
    for (size_t i = b.len - plen; i < b.len; i++)
        if (b.s[i] == '\r' || b.s[i] == '\n')
            b.s[i] = '-';
    itip_strbuf_printf(&b, "\r\n--b\r\nContent-Type: text/calendar\r\n"
                           "Content-Transfer-Encoding: base64\r\n\r\n%s"
                  "--b--\r\n", enc);
    msg = itip_strbuf_detach(&b, &len);
    keep("10 MB lines", msg, len, &deflim);
    w = whole(msg, len, &deflim);
    p = only_part(&w, "10 MB lines");
    ok(p && p->truncated && p->len == deflim.max_calendar_part_size &&
       memcmp(p->data, payload, p->len) == 0, "10 MB single line: truncated at 1 MiB");
    walk_free(&w);
    free(enc);
    free(payload);
}

static void test_limits(void)
{
    itip_limits lim = deflim;
    strbuf b;
    char *msg;
    size_t len;
    int i;
    walk w;

    itip_strbuf_init(&b, 0);
    itip_strbuf_printf(&b, "Content-Type: multipart/mixed; boundary=b\r\n\r\n");
    for (i = 0; i < 50; i++)
        itip_strbuf_printf(&b, "--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n", i);
    itip_strbuf_printf(&b, "--b\r\nContent-Type: text/calendar\r\n\r\nlate\r\n--b--\r\n");
    msg = itip_strbuf_detach(&b, &len);
    lim.max_parts = 10;
    keep("max_parts", msg, len, &lim);
    w = whole(msg, len, &lim);
    is_int(itip_mime_part_count(w.m), 10, "max_parts: 10 parts");
    is_int(itip_mime_calpart_count(w.m), 0, "max_parts: later calendar not examined");
    is_int(findings_of(&w, "max_parts (10)"), 1, "max_parts: one finding");
    ok(itip_mime_rest_irrelevant(w.m), "max_parts: stream consistent to the close");
    walk_free(&w);

    /* max_headers: fields past it are skipped (a Content-Type among them is lost) */
    itip_strbuf_init(&b, 0);
    for (i = 0; i < 30; i++)
        itip_strbuf_printf(&b, "X-H%d: %d\r\n", i, i);
    itip_strbuf_printf(&b, "Content-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\n");
    msg = itip_strbuf_detach(&b, &len);
    lim = deflim;
    lim.max_headers = 20;
    keep("max_headers", msg, len, &lim);
    w = whole(msg, len, &lim);
    is_int(findings_of(&w, "max_headers (20)"), 1, "max_headers: one finding");
    ok(w.f.n == 1 && w.f.v[0].severity == ITIP_SEV_WOULD_FAIL,
       "max_headers: would-fail (the skipped fields can hide a calendar part)");
    is_int(itip_mime_calpart_count(w.m), 0, "max_headers: the Content-Type past it is not read");
    walk_free(&w);
    lim.max_headers = 31;
    w = whole(msg, len, &lim);
    ok(findings_of(&w, "max_headers") == 0 && itip_mime_calpart_count(w.m) == 1,
       "max_headers: 31 fields within a limit of 31");
    walk_free(&w);

    itip_strbuf_init(&b, 0);
    itip_strbuf_printf(&b, "Content-Type: multipart/mixed; boundary=b\r\n\r\n");
    for (i = 0; i < 20; i++)
        itip_strbuf_printf(&b, "--b\r\nContent-Type: text/calendar\r\n\r\ncal %d\r\n", i);
    itip_strbuf_printf(&b, "--b--\r\n");
    msg = itip_strbuf_detach(&b, &len);
    keep("max_calendar_parts", msg, len, &deflim);
    w = whole(msg, len, &deflim);
    is_int(itip_mime_calpart_count(w.m), 16, "max_calendar_parts: 16 kept");
    ok(data_is(itip_mime_calpart(w.m, 15), "cal 15", 6), "max_calendar_parts: the first 16");
    is_int(findings_of(&w, "max_calendar_parts (16)"), 1, "max_calendar_parts: one finding");
    walk_free(&w);

    /* header blocks: top level too big (Subject before kept), then a part's block too big */
    itip_strbuf_init(&b, 0);
    itip_strbuf_printf(&b, "Subject: before\r\nX-Big: ");
    for (i = 0; i < 2000; i++)
        itip_strbuf_printf(&b, "%s0123456789012345678901234567890123456789", i % 10 ? "" : "\r\n ");
    itip_strbuf_printf(&b, "\r\nContent-Type: text/calendar\r\nTo: after\r\n\r\nbody\r\n");
    msg = itip_strbuf_detach(&b, &len);
    lim = deflim;
    lim.max_header_size = 65536;
    keep("max_header_size top", msg, len, &lim);
    w = whole(msg, len, &lim);
    is_str(itip_mime_headers(w.m)->subject, "before", "max_header_size: fields before kept");
    ok(itip_mime_headers(w.m)->to == NULL && itip_mime_calpart_count(w.m) == 0,
       "max_header_size: the rest of the block skipped");
    ok(itip_mime_headers_done(w.m), "max_header_size: block end found");
    is_int(findings_of(&w, "max_header_size (65536)"), 1, "max_header_size: one finding");
    walk_free(&w);

    itip_strbuf_init(&b, 0);
    itip_strbuf_printf(&b, "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX-Big: ");
    for (i = 0; i < 100000; i++)
        itip_strbuf_putc(&b, 'x');
    itip_strbuf_printf(&b, "\r\nContent-Type: text/calendar\r\n\r\nbody\r\n--b\r\nX-Big2: ");
    for (i = 0; i < 100000; i++)
        itip_strbuf_putc(&b, 'y');
    itip_strbuf_printf(&b, "\r\n\r\nbody\r\n--b\r\nContent-Type: text/calendar\r\n\r\n"
                           "seen\r\n--b--\r\n");
    msg = itip_strbuf_detach(&b, &len);
    keep("max_header_size part", msg, len, &lim);
    w = whole(msg, len, &lim);
    {
        const itip_calpart *p = only_part(&w, "max_header_size part");
        ok(p && data_is(p, "seen", 4), "max_header_size part: next part found");
    }
    is_int(findings_of(&w, "max_header_size"), 1, "max_header_size part: one finding per message");
    walk_free(&w);
}

static void test_malformed(void)
{
    static const char *const bad[] = {
        "",
        "\r",
        "\n\n\n",
        "no colon here\r\nSubject: ok\r\n\r\nbody",
        "From a@b Mon Jan  1 00:00:00 2001\nSubject: mbox\n\nbody\n",
        "Subject: never ends\r\nContent-Type: text/calendar\r\nX: y",
        "Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n\r\n--\r\n",
        "Content-Type: multipart/mixed\r\n\r\n--b\r\n",
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b",
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r",
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b--\r\n--b\r\n",
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b\r\n--b\r\n\r\n",
        "Content-Type: multipart/mixed; boundary=b\r\r--b\rContent-Type: text/calendar\r\rCAL\r--b--\r",
        "Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\n",
        "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\r\n",
        "Content-Type: text/calendar; charset=\"\r\nContent-Transfer-Encoding: base64\r\n\r\n====\r\n",
        "Content-Type: text/calendar\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=\r\n=4",
        " leading continuation\r\n: empty name\r\n\r\n",
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b--\r\n--b--\r\n",
    };
    static const char nul[] =
        "Subject: a\0b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\0--b\r\n--b\r\n"
        "Content-Type: text/calendar\r\n\r\nA\0B\r\n--b\0\r\n--b--\r\n";
    size_t i;
    walk w;
    char name[32];

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(name, sizeof name, "malformed %zu", i);
        keep_static(name, bad[i], strlen(bad[i]), &deflim);
        w = whole(bad[i], strlen(bad[i]), &deflim);
        ok(w.rfeed == 0 && w.rfin == 0, "%s: walked", name);
        walk_free(&w);
    }
    w = whole(bad[3], strlen(bad[3]), &deflim);
    is_str(itip_mime_headers(w.m)->subject, "ok", "header without colon ignored");
    walk_free(&w);
    w = whole(bad[4], strlen(bad[4]), &deflim);
    is_str(itip_mime_headers(w.m)->subject, "mbox", "mbox From_ line ignored");
    walk_free(&w);
    w = whole(bad[5], strlen(bad[5]), &deflim);
    ok(!itip_mime_headers_done(w.m) && strcmp(itip_mime_headers(w.m)->subject, "never ends") == 0 &&
       itip_mime_calpart_count(w.m) == 0, "header block never terminated");
    walk_free(&w);
    w = whole(bad[6], strlen(bad[6]), &deflim);
    ok(itip_mime_rest_irrelevant(w.m), "empty boundary: an opaque leaf");
    walk_free(&w);
    w = whole(bad[12], strlen(bad[12]), &deflim);
    ok(itip_mime_calpart_count(w.m) == 1 && data_is(itip_mime_calpart(w.m, 0), "CAL", 3),
       "bare CR line ends");
    walk_free(&w);
    w = whole(bad[16], strlen(bad[16]), &deflim);
    ok(itip_mime_calpart_count(w.m) == 1 && data_is(itip_mime_calpart(w.m, 0), "=4", 2) &&
       itip_mime_calpart(w.m, 0)->decode_errors == 1, "QP: trailing '=' and '=4'");
    walk_free(&w);

    keep_static("NULs", nul, sizeof nul - 1, &deflim);
    w = whole(nul, sizeof nul - 1, &deflim);
    ok(itip_mime_calpart_count(w.m) == 1 && data_is(itip_mime_calpart(w.m, 0), "AB\n--b", 6) &&
       itip_mime_calpart(w.m, 0)->nul_bytes == 2,
       "NUL bytes do not end the data: removed and counted (libical reads a C string)");
    is_str(itip_mime_headers(w.m)->subject, "a", "NUL in a header value");
    walk_free(&w);
}

/* ---- the sample files in t/mime ---- */

#define SAMPLE_LF "BEGIN:VCALENDAR\nMETHOD:REQUEST\nPRODID:-//itip-milter tests//EN\nVERSION:2.0\n" \
    "BEGIN:VEVENT\nUID:sample-1@example.org\nSEQUENCE:0\nDTSTAMP:20260105T090000Z\n" \
    "DTSTART:20260110T100000Z\nDTEND:20260110T110000Z\nSUMMARY:R\xc3\xa9union d'\xc3\xa9quipe\n" \
    "ORGANIZER;CN=Alice:mailto:alice@example.org\n" \
    "ATTENDEE;CN=Bob;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:mailto:bob@example.org\n" \
    "END:VEVENT\nEND:VCALENDAR\n"

static char *slurp(const char *path, size_t *len);

/* Walks t/mime/NAME whole; NULL (and a skipped test) when the file cannot be read. */
static int sample(const char *name, walk *w)
{
    const char *top = getenv("top_srcdir");
    char path[4096];
    char *msg;
    size_t len;

    snprintf(path, sizeof path, "%s/t/mime/%s", top ? top : ".", name);
    if ((msg = slurp(path, &len)) == NULL) {
        ok(1, "# SKIP %s not readable", path);
        return 0;
    }
    *w = whole(msg, len, &deflim);
    free(msg);
    return 1;
}

static void test_samples(void)
{
    walk w;
    const itip_calpart *p;

    if (sample("outlook-qp-latin1.eml", &w)) {
        p = only_part(&w, "outlook-qp-latin1");
        ok(p && data_is(p, SAMPLE_LF, sizeof SAMPLE_LF - 1) && p->decode_errors == 0 &&
           !p->charset_failed && p->cte == ITIP_CTE_QP, "outlook-qp-latin1: QP, Latin-1 to UTF-8");
        ok(p && strcmp(p->filename, "meeting.ics") == 0 && strcmp(p->method_param, "REQUEST") == 0 &&
           strcmp(p->charset, "iso-8859-1") == 0 && p->depth == 1, "outlook-qp-latin1: parameters");
        is_str(itip_mime_headers(w.m)->subject, "=?iso-8859-1?Q?R=E9union_d'=E9quipe?=",
               "outlook-qp-latin1: Subject raw");
        is_int(itip_mime_part_count(w.m), 4, "outlook-qp-latin1: parts");
        walk_free(&w);
    }
    if (sample("forward-rfc822.eml", &w)) {
        static const char crlf[] = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\n";
        p = only_part(&w, "forward-rfc822");
        ok(p && p->encapsulated && p->depth == 3 && p->cte == ITIP_CTE_BASE64 &&
           p->len == sizeof SAMPLE_LF - 1 + 15 && memcmp(p->data, crlf, sizeof crlf - 1) == 0,
           "forward-rfc822: encapsulated base64 part, CRLF kept");
        is_str(itip_mime_headers(w.m)->subject, "Fwd: meeting", "forward-rfc822: outer Subject");
        walk_free(&w);
    }
    if (sample("bare-cr-attachment.eml", &w)) {
        p = only_part(&w, "bare-cr-attachment");
        ok(p && data_is(p, SAMPLE_LF, sizeof SAMPLE_LF - 2) && p->by_type == 0 &&
           p->disposition_attachment && p->cte == ITIP_CTE_8BIT,
           "bare-cr-attachment: by RFC 2231 name, CR line ends");
        is_str(p ? p->filename : NULL, "R\xc3\xa9union.ics", "bare-cr-attachment: file name");
        walk_free(&w);
    }
}

/* ---- corpora ---- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    strbuf b;
    char buf[65536];
    size_t n;

    if (f == NULL)
        return NULL;
    itip_strbuf_init(&b, 0);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        itip_strbuf_append(&b, buf, n);
    fclose(f);
    return itip_strbuf_detach(&b, len);
}

static int walk_dir(const char *dir, int recurse)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        char *msg;
        size_t len;
        if (e->d_name[0] == '.' || strcmp(e->d_name, "MANIFEST.tsv") == 0 ||
            strcmp(e->d_name, "README.md") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            files += recurse ? walk_dir(path, 1) : 0;
            continue;
        }
        if ((msg = slurp(path, &len)) == NULL)
            continue;
        check_chunking(path, msg, len, &deflim);
        free(msg);
        files++;
    }
    closedir(d);
    return files;
}

static void test_corpora(void)
{
    const char *top = getenv("top_srcdir");
    char dir[4096];
    int n;

    snprintf(dir, sizeof dir, "%s/t/mime", top ? top : ".");
    n = walk_dir(dir, 0);
    if (n < 0)
        diag("no %s", dir);
    snprintf(dir, sizeof dir, "%s/t/hostile", top ? top : ".");   /* issue 12's shapes */
    n = walk_dir(dir, 0);
    ok(n > 0, "the hostile MIME shapes of t/hostile/ walk the same in any chunking (%d files)", n);
    snprintf(dir, sizeof dir, "%s/../shared/corpus", top ? top : ".");
    n = walk_dir(dir, 1);
    if (n < 0)
        ok(1, "# SKIP shared corpus absent (%s)", dir);
    else
        diag("walked %d shared corpus files", n);
}

int main(void)
{
    size_t i;

    test_base64_alternative();
    test_encodings();
    test_names();
    test_rfc822();
    test_boundaries();
    test_irrelevant();
    test_deep();
    test_big();
    test_limits();
    test_malformed();
    test_samples();
    for (i = 0; i < nmsgs; i++) {
        check_chunking(msgs[i].name, msgs[i].msg, msgs[i].len, &msgs[i].lim);
        free(msgs[i].heap);
    }
    test_corpora();
    return done_testing();
}
