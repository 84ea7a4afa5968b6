/*
 * test_decode.c - unit tests of the decoders (decode.h), the charset conversion (charset.h)
 * and the header helpers (mimehdr.h): known vectors, every split point of each input, invalid
 * input counted, caps honoured exactly.
 */
#include "ac-config.h"
#include <stdint.h>
#include "tap.h"
#include "base/charset.h"
#include "mime/decode.h"
#include "mime/mimehdr.h"

enum { B64, QP, COPY };

/* S with control characters escaped, for test names (one of a few rotating buffers). */
static const char *esc(const char *s)
{
    static char buf[4][300];
    static int k;
    char *b = buf[k++ % 4];
    size_t n = 0;

    for (; s && *s && n < sizeof buf[0] - 5; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 32 || c >= 127)
            n += (size_t)snprintf(b + n, 5, "\\x%02x", c);
        else
            b[n++] = (char)c;
    }
    b[n] = '\0';
    return b;
}

typedef struct {
    int ret;               /* first non-zero return, or 0 */
    size_t errors;
    strbuf out;
} dres;

static int dec_feed(int kind, void *st, const char *p, size_t n, strbuf *out)
{
    if (kind == B64)
        return itip_b64_feed(st, p, n, out);
    if (kind == QP)
        return itip_qp_feed(st, p, n, out);
    return itip_decode_copy(out, p, n);
}

/* Decodes IN cut at the given split points (ascending). */
static void decode_split(int kind, const char *in, size_t len, const size_t *cuts, size_t ncuts,
                         size_t cap, dres *r)
{
    itip_b64 b;
    itip_qp q;
    void *st = kind == B64 ? (void *)&b : (void *)&q;
    size_t i, pos = 0;
    int x;

    itip_b64_init(&b);
    itip_qp_init(&q);
    itip_strbuf_init(&r->out, cap);
    r->ret = 0;
    for (i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        x = dec_feed(kind, st, in + pos, end - pos, &r->out);
        if (x && !r->ret)
            r->ret = x;
        pos = end;
    }
    x = kind == B64 ? itip_b64_finish(&b, &r->out) : kind == QP ? itip_qp_finish(&q, &r->out) : 0;
    if (x && !r->ret)
        r->ret = x;
    r->errors = kind == B64 ? b.errors : kind == QP ? q.errors : 0;
}

static int same(const dres *a, const dres *b)
{
    return a->ret == b->ret && a->errors == b->errors && a->out.len == b->out.len &&
           (a->out.len == 0 || memcmp(a->out.s, b->out.s, a->out.len) == 0);
}

/* One vector: the expected output and errors, for the whole input, for every single split
 * point, and byte by byte. */
static void vector(int kind, const char *in, const char *want, size_t want_len, size_t errors,
                   size_t cap, int want_ret)
{
    size_t len = strlen(in), i, all_ok = 1;
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    dres whole, part;
    const char *name = kind == B64 ? "b64" : kind == QP ? "qp" : "copy";

    decode_split(kind, in, len, NULL, 0, cap, &whole);
    if (!ok(whole.out.len == want_len &&
            memcmp(whole.out.s ? whole.out.s : "", want, want_len) == 0, "%s '%s': output", name, esc(in)))
        diag("got %zu bytes '%s'", whole.out.len, whole.out.s ? whole.out.s : "");
    is_int(whole.errors, errors, "%s '%s': errors", name, esc(in));
    is_int(whole.ret, want_ret, "%s '%s': return", name, esc(in));
    for (i = 0; i <= len; i++) {
        cuts[0] = i;
        decode_split(kind, in, len, cuts, 1, cap, &part);
        if (!same(&whole, &part))
            all_ok = 0;
        itip_strbuf_free(&part.out);
    }
    for (i = 0; i < len; i++)
        cuts[i] = i + 1;
    decode_split(kind, in, len, cuts, len ? len - 1 : 0, cap, &part);
    if (!same(&whole, &part))
        all_ok = 0;
    itip_strbuf_free(&part.out);
    ok(all_ok, "%s '%s': same result at every split point and byte by byte", name, esc(in));
    itip_strbuf_free(&whole.out);
    free(cuts);
}

#define V(kind, in, want, errs) vector(kind, in, want, sizeof(want) - 1, errs, 0, 0)
#define VCAP(kind, in, want, errs, cap, ret) vector(kind, in, want, sizeof(want) - 1, errs, cap, ret)

static void test_base64(void)
{
    V(B64, "", "", 0);
    V(B64, "Zg==", "f", 0);
    V(B64, "Zm8=", "fo", 0);
    V(B64, "Zm9v", "foo", 0);
    V(B64, "Zm9vYg==", "foob", 0);
    V(B64, "Zm9vYmE=", "fooba", 0);
    V(B64, "Zm9vYmFy", "foobar", 0);
    V(B64, "Zm9v\r\nYmFy\r\n", "foobar", 0);
    V(B64, " Zm 9v\tYm\nFy ", "foobar", 0);
    V(B64, "QUJD\nREVG\r\nR0g=\r\n", "ABCDEFGH", 0);
    V(B64, "Zm9v*YmFy", "foobar", 1);
    V(B64, "Zm9vYmF", "fooba", 1);              /* missing padding */
    V(B64, "Zg=", "f", 1);                      /* half padding */
    V(B64, "=Zm9v", "foo", 1);                  /* stray '=' */
    V(B64, "Zm9v=YmFy", "foobar", 1);
    V(B64, "Zg==Zm8=", "ffo", 0);               /* concatenated encodings */
    V(B64, "Zg=x", "f", 2);                     /* data after a half padding, lone sextet */
    V(B64, "Z", "", 1);
    V(B64, "Zm9v!!!YmFy===", "foobar", 6);
    VCAP(B64, "Zm9vYmFy", "foob", 0, 4, ITIP_DECODE_FULL);
    VCAP(B64, "Zm9vYmFy", "foobar", 0, 6, 0);
    VCAP(B64, "Zm9vYmFy*", "fooba", 0, 5, ITIP_DECODE_FULL);   /* '*' after the cap: not seen */
    {
        /* NUL bytes are data like any other invalid character */
        static const char in[] = "Zm9v\0YmFy";
        itip_b64 d;
        strbuf o;
        itip_strbuf_init(&o, 0);
        itip_b64_init(&d);
        itip_b64_feed(&d, in, sizeof in - 1, &o);
        itip_b64_finish(&d, &o);
        ok(o.len == 6 && memcmp(o.s, "foobar", 6) == 0 && d.errors == 1, "b64 with a NUL byte");
        ok(itip_b64_feed(&d, "Zg==", 4, &o) == 0, "b64: reusable after finish");
        itip_strbuf_free(&o);
    }
}

static void test_qp(void)
{
    V(QP, "", "", 0);
    V(QP, "plain text", "plain text", 0);
    V(QP, "a=3Db", "a=b", 0);
    V(QP, "a=3db", "a=b", 0);
    V(QP, "caf=C3=A9", "caf\xc3\xa9", 0);
    V(QP, "abc=\r\ndef", "abcdef", 0);
    V(QP, "abc=\ndef", "abcdef", 0);
    V(QP, "abc=\rdef", "abcdef", 0);
    V(QP, "abc= \t\r\ndef", "abcdef", 0);
    V(QP, "abc=  \ndef", "abcdef", 0);
    V(QP, "abc  \r\ndef", "abc\r\ndef", 0);
    V(QP, "abc \t\ndef", "abc\ndef", 0);
    V(QP, "a b\t c", "a b\t c", 0);
    V(QP, "line1\r\nline2\r\n", "line1\r\nline2\r\n", 0);
    V(QP, "a=ZZb", "a=ZZb", 1);
    V(QP, "a=4Gb", "a=4Gb", 1);
    V(QP, "a= b", "a= b", 1);
    V(QP, "a==41", "a=A", 1);
    V(QP, "abc=4", "abc=4", 1);
    V(QP, "abc=", "abc", 0);                    /* its line break went to the boundary */
    V(QP, "abc=  ", "abc", 0);
    V(QP, "x  ", "x", 0);
    V(QP, "DESCRIPTION:a long li=\r\n ne=0D=0A", "DESCRIPTION:a long li ne\r\n", 0);
    VCAP(QP, "abc=3Ddef", "abc=", 0, 4, ITIP_DECODE_FULL);
    VCAP(QP, "abc=3Ddef=ZZ", "abc=d", 0, 5, ITIP_DECODE_FULL);
    VCAP(QP, "abc", "abc", 0, 3, 0);
    {
        /* a whitespace run longer than the hold-back buffer is kept, deterministically */
        char in[400], want[400];
        memset(in, ' ', 300);
        strcpy(in + 300, "x\n");
        memcpy(want, in, 303);
        vector(QP, in, want, 302, 0, 0, 0);
        memset(in, ' ', 300);
        strcpy(in + 300, "\nx");
        memset(want, ' ', 256);
        memcpy(want + 256, "\nx", 2);
        vector(QP, in, want, 2 + 256, 0, 0, 0);
    }
}

static void test_copy(void)
{
    VCAP(COPY, "abcdef", "abcdef", 0, 0, 0);
    VCAP(COPY, "abcdef", "abc", 0, 3, ITIP_DECODE_FULL);
}

/* ---- charset ---- */

static void conv(const char *cs, const char *in, size_t inlen, int partial, int want_r,
                 const char *want, size_t want_len)
{
    strbuf b;
    int r;

    itip_strbuf_init(&b, 0);
    itip_strbuf_append(&b, in, inlen);
    r = itip_charset_to_utf8(&b, cs, partial);
    is_int(r, want_r, "charset %s: result", cs ? cs : "(null)");
    if (!ok(b.len == want_len && memcmp(b.s ? b.s : "", want, want_len) == 0 &&
            (b.s == NULL || b.s[b.len] == '\0'), "charset %s: data", cs ? cs : "(null)"))
        diag("got %zu bytes", b.len);
    itip_strbuf_free(&b);
}

#define CONV(cs, in, partial, r, want) conv(cs, in, sizeof(in) - 1, partial, r, want, sizeof(want) - 1)

static void test_charset(void)
{
    CONV("ISO-8859-1", "caf\xe9", 0, 0, "caf\xc3\xa9");
    CONV("iso-8859-15", "\xa4", 0, 0, "\xe2\x82\xac");
    CONV("windows-1252", "\x80 x", 0, 0, "\xe2\x82\xac x");
    CONV("windows-1252", "\x81", 0, 1, "\x81");                 /* undefined: unchanged */
    CONV("UTF-8", "caf\xc3\xa9", 0, 0, "caf\xc3\xa9");
    CONV("utf-8", "caf\xe9", 0, 1, "caf\xe9");
    CONV("US-ASCII", "caf\xc3\xa9", 0, 0, "caf\xc3\xa9");
    CONV(NULL, "\xff", 0, 1, "\xff");
    CONV("", "abc", 0, 0, "abc");
    CONV("x-no-such-charset", "abc", 0, 1, "abc");
    CONV("utf-8//IGNORE", "abc", 0, 1, "abc");
    CONV("ISO-8859-1//TRANSLIT", "abc", 0, 1, "abc");
    CONV("utf-8", "ab\xc3", 1, 0, "ab");
    CONV("utf-8", "ab\xc3", 0, 1, "ab\xc3");
    CONV("utf-8", "ab\xc3\x28", 1, 1, "ab\xc3\x28");
    CONV("UTF-16LE", "a\0b\0", 0, 0, "ab");
    CONV("UTF-16LE", "a\0b", 1, 0, "a");
    CONV("UTF-16LE", "a\0b", 0, 1, "a\0b");
    CONV("ISO-8859-1", "a\0b", 0, 0, "a\0b");
    CONV("ks_c_5601-1987", "\xb0\xa1", 0, 0, "\xea\xb0\x80");
    CONV("ISO-8859-1", "", 0, 0, "");
    is_int(itip_utf8_valid_prefix("\xc0\x80", 2), 0, "utf8: overlong rejected");
    is_int(itip_utf8_valid_prefix("a\xed\xa0\x80", 4), 1, "utf8: surrogate rejected");
    is_int(itip_utf8_valid_prefix("\xf4\x90\x80\x80", 4), 0, "utf8: > U+10FFFF rejected");
    is_int(itip_utf8_valid_prefix("\xf0\x9f\x98\x80z", 5), 5, "utf8: 4-byte sequence");
    ok(itip_charset_is_utf8("UTF8") && itip_charset_is_utf8(NULL) &&
       !itip_charset_is_utf8("latin1"), "charset_is_utf8");
}

/* ---- header helpers ---- */

static void ctype(const char *in, const char *want_value, const char *pname, const char *pvalue)
{
    itip_mime_field f;

    ok(itip_hdr_parse_ctype(in, &f) == 0, "ctype parse '%s'", esc(in));
    is_str(f.value, want_value, "ctype '%s': type", esc(in));
    if (pname)
        is_str(itip_hdr_param(&f, pname), pvalue, "ctype '%s': %s", esc(in), pname);
    itip_hdr_field_clear(&f);
    itip_hdr_field_clear(&f);
}

static void disp(const char *in, const char *want_value, const char *pname, const char *pvalue)
{
    itip_mime_field f;

    ok(itip_hdr_parse_disposition(in, &f) == 0, "disposition parse '%s'", esc(in));
    is_str(f.value, want_value, "disposition '%s': type", esc(in));
    if (pname)
        is_str(itip_hdr_param(&f, pname), pvalue, "disposition '%s': %s", esc(in), pname);
    itip_hdr_field_clear(&f);
}

static void test_ctype(void)
{
    ctype("Text/Calendar; method=REQUEST; charset=\"UTF-8\"", "text/calendar", "method", "REQUEST");
    ctype("Text/Calendar; method=REQUEST; charset=\"UTF-8\"", "text/calendar", "charset", "UTF-8");
    ctype("text/calendar;METHOD=reply;CHARSET=utf-8", "text/calendar", "method", "reply");
    ctype("text/plain (Plain text) ; charset = us-ascii (Plain text)", "text/plain", "charset",
          "us-ascii");
    ctype("multipart/mixed;\r\n\tboundary=\"----=_Part_1;x\"", "multipart/mixed", "boundary",
          "----=_Part_1;x");
    ctype("multipart/alternative; boundary=simple", "multipart/alternative", "boundary", "simple");
    ctype("application/octet-stream; name=\"a\\\"b\\\\c.ics\"", "application/octet-stream",
          "name", "a\"b\\c.ics");
    ctype("application/octet-stream; name=my invite.ics", "application/octet-stream", "name",
          "my invite.ics");
    ctype("text", NULL, "charset", NULL);
    ctype("text/; charset=x", NULL, "charset", "x");
    ctype("", NULL, NULL, NULL);
    ctype(NULL, NULL, NULL, NULL);
    ctype(";;;=;a=;=b; c", NULL, "a", "");
    ctype("text/plain; charset=\"unterminated", "text/plain", "charset", "unterminated");
    ctype("text/plain; a=1; A=2", "text/plain", "a", "1");
    ctype("text/plain (unterminated comment", "text/plain", NULL, NULL);
    disp("Attachment; filename=\"invite.ics\"", "attachment", "filename", "invite.ics");
    disp("inline", "inline", "filename", NULL);
    disp("attachment; filename*=UTF-8''invit%C3%A9.ics", "attachment", "filename",
         "invit\xc3\xa9.ics");
    disp("attachment; filename*=iso-8859-1'fr'caf%E9.ics", "attachment", "filename",
         "caf\xc3\xa9.ics");
    disp("attachment; filename*0=\"inv\"; filename*1=\"ite.ics\"", "attachment", "filename",
         "invite.ics");
    disp("attachment; filename*1=\"ite.ics\"; filename*0=\"inv\"", "attachment", "filename",
         "invite.ics");
    disp("attachment; filename*0*=ISO-8859-1'en'caf%E9; filename*1=\".ics\"", "attachment",
         "filename", "caf\xc3\xa9.ics");
    disp("attachment; filename*0*=UTF-8''%E2%82; filename*1*=%AC.ics", "attachment",
         "filename", "\xe2\x82\xac.ics");
    disp("attachment; filename=\"plain.txt\"; filename*=UTF-8''better.ics", "attachment",
         "filename", "better.ics");
    disp("attachment; x*0=a; x*2=c", "attachment", "x", "a");
    disp("attachment; x*1=b", "attachment", "x", "");
    disp("attachment; x*0=a; x*0=z; x*1=b", "attachment", "x", "ab");
    disp("attachment; filename*=x-unknown''abc%2Eics", "attachment", "filename", "abc.ics");
    disp("attachment; filename*=UTF-8''100%", "attachment", "filename", "100%");
    disp("attachment; a*b=1", "attachment", "a*b", "1");
    disp("attachment; filename*99999999=x", "attachment", "filename*99999999", "x");
}

static void ew(const char *in, const char *want, int want_r)
{
    strbuf b;
    int r;

    itip_strbuf_init(&b, 0);
    r = itip_rfc2047_decode(in, strlen(in), &b);
    is_int(r, want_r, "rfc2047 '%s': result", esc(in));
    is_str(b.s ? b.s : "", want, "rfc2047 '%s'", esc(in));
    itip_strbuf_free(&b);
}

static void test_rfc2047(void)
{
    ew("plain.ics", "plain.ics", 0);
    ew("", "", 0);
    ew("=?UTF-8?B?aW52aXTDqS5pY3M=?=", "invit\xc3\xa9.ics", 0);
    ew("=?iso-8859-1?q?caf=E9_au_lait?=", "caf\xc3\xa9 au lait", 0);
    ew("=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab", 0);
    ew("=?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?=", "ab", 0);
    ew("Re: =?UTF-8?Q?caf=C3=A9?= ok", "Re: caf\xc3\xa9 ok", 0);
    ew("=?UTF-8?Q?=C3?= =?UTF-8?Q?=A9?=", "\xc3\xa9", 0);
    ew("=?UTF-8?Q?a?= x =?UTF-8?Q?b?=", "a x b", 0);
    ew("=?UTF-8*en?Q?x?=", "x", 0);
    ew("=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=", 0);
    ew("=?UTF-8?Q?a b?=", "=?UTF-8?Q?a b?=", 0);
    ew("=?UTF-8?Q?unterminated", "=?UTF-8?Q?unterminated", 0);
    ew("=??Q?x?=", "=??Q?x?=", 0);
    ew("=?x-foo?Q?abc.ics?=", "abc.ics", 1);
    ew("=?utf-8?q?=FF?=", "\xff", 1);
    ew("=?", "=?", 0);
    ew("a=?b", "a=?b", 0);
    ew("=?iso-8859-1?Q?=E9?= =?UTF-8?Q?=C3=A9?=", "\xc3\xa9\xc3\xa9", 0);
}

static void test_cte(void)
{
    is_int(itip_hdr_parse_cte(NULL), ITIP_CTE_7BIT, "cte NULL");
    is_int(itip_hdr_parse_cte(""), ITIP_CTE_7BIT, "cte empty");
    is_int(itip_hdr_parse_cte(" Base64 "), ITIP_CTE_BASE64, "cte base64");
    is_int(itip_hdr_parse_cte("QUOTED-PRINTABLE"), ITIP_CTE_QP, "cte qp");
    is_int(itip_hdr_parse_cte("8bit (comment)"), ITIP_CTE_8BIT, "cte 8bit");
    is_int(itip_hdr_parse_cte("binary"), ITIP_CTE_BINARY, "cte binary");
    is_int(itip_hdr_parse_cte("7bit"), ITIP_CTE_7BIT, "cte 7bit");
    is_int(itip_hdr_parse_cte("x-uuencode"), ITIP_CTE_UNKNOWN, "cte unknown");
    is_int(itip_hdr_parse_cte("\"base64\""), ITIP_CTE_UNKNOWN, "cte quoted: unknown");
}

static void date(const char *in, int want_r, long long want)
{
    long long t = -1;
    int r = itip_parse_date(in, &t);

    is_int(r, want_r, "date '%s': result", esc(in));
    if (want_r == 0)
        is_int(t, want, "date '%s': value", esc(in));
}

static void test_date(void)
{
    date("Thu, 27 Aug 2015 10:35:49 -0400", 0, 1440686149LL);
    date("27 Aug 2015 10:35:49 EDT", 0, 1440686149LL);
    date("Thu, 27 Aug 2015 14:35:49 GMT", 0, 1440686149LL);
    date("thursday, 27 aug 2015 14:35:49 +0000 (UTC)", 0, 1440686149LL);
    date("Thu,27 Aug 15 14:35:49 UT", 0, 1440686149LL);
    date("  Thu (day) , 27 (x) Aug\r\n 2015 14:35:49 Z", 0, 1440686149LL);
    date("Thu, 27 Aug 2015 14:35 +0000", 0, 1440686100LL);
    date("Thu, 27 Aug 115 14:35:49 +0000", 0, 1440686149LL);
    date("Thu, 27 Aug 2015 14:35:49", 0, 1440686149LL);
    date("Thu, 27 Aug 2015 14:35:49 CEST", 0, 1440686149LL);
    date("27-Aug-2015 14:35:49 +0000", 0, 1440686149LL);
    date("Sun, 06 Nov 1994 08:49:37 PST", 0, 784140577LL);
    date("29 Feb 2020 00:00:00 +0000", 0, 1582934400LL);
    date("Fri, 31 Dec 1999 23:59:59 +1400", 0, 946634399LL);
    date("1 Jan 99 00:00:00 +0000", 0, 915148800LL);
    date("1 Jan 1970 00:00:00 +0100", 0, -3600LL);
    date("29 Feb 2019 00:00:00 +0000", -1, 0);
    date("Thu, 32 Aug 2015 14:35:49 +0000", -1, 0);
    date("Thu, 27 Aug 2015 24:00:00 +0000", -1, 0);
    date("Thu, 27 Aug 2015 14:60:00 +0000", -1, 0);
    date("Thu, 27 Aug 2015 14:35:49 +00", -1, 0);
    date("Thu, 27 Aug 2015 14:35:49 +0060", -1, 0);
    date("Thu, 27 Foo 2015 14:35:49 +0000", -1, 0);
    date("Xyz, 27 Aug 2015 14:35:49 +0000", -1, 0);
    date("27 Aug 20155 14:35:49 +0000", -1, 0);
    date("2015-08-27T14:35:49Z", -1, 0);
    date("", -1, 0);
    date(NULL, -1, 0);
    date("garbage", -1, 0);
}

static void test_unfold(void)
{
    char *u = itip_hdr_unfold("a\r\n b\n\tc\rd", 10);

    is_str(u, "a b\tcd", "unfold");
    free(u);
}

int main(void)
{
    test_base64();
    test_qp();
    test_copy();
    test_charset();
    test_ctype();
    test_rfc2047();
    test_cte();
    test_date();
    test_unfold();
    return done_testing();
}
