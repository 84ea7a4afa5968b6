/*
 * charset.c - conversion of a decoded text to UTF-8, and ASCII character classes (see
 * charset.h).
 *
 * Exports itip_charset_to_utf8, itip_utf8_seq, itip_utf8_valid_prefix, itip_charset_is_utf8
 * and itip_name_is (itip_hexval and itip_is_wsp are inline in charset.h).  Uses only
 * per-call iconv descriptors and no static mutable state, so it is thread-safe.  Must never
 * pass a caller's charset name to iconv unchecked (glibc reads "//IGNORE" suffixes from it),
 * never alter the data on failure, never truncate.
 */
#include "ac-config.h"
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "base/charset.h"

/* ---- UTF-8 validation ---- */

int itip_utf8_seq(const void *p, size_t n)
{
    const unsigned char *s = p;
    unsigned char c = s[0];
    int len, i;
    unsigned char lo = 0x80, hi = 0xBF;   /* allowed range of the second byte */

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;              /* overlong */
        else if (c == 0xED)
            hi = 0x9F;              /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;              /* > U+10FFFF */
    } else
        return 0;
    for (i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return -1;
        if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xBF))
            return 0;
    }
    return len;
}

/* Valid prefix length; *cut set when the data ends inside a valid-looking sequence. */
static size_t utf8_scan(const unsigned char *s, size_t n, int *cut)
{
    size_t i = 0;

    *cut = 0;
    while (i < n) {
        int l;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        l = itip_utf8_seq(s + i, n - i);
        if (l <= 0) {
            *cut = l < 0;
            break;
        }
        i += (size_t)l;
    }
    return i;
}

size_t itip_utf8_valid_prefix(const void *s, size_t n)
{
    int cut;

    return utf8_scan(s, n, &cut);
}

/* ---- charset names ---- */

int itip_charset_is_utf8(const char *cs)
{
    static const char *const names[] = { "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968",
                                         "iso646-us", "us", "csascii" };
    size_t i;

    if (cs == NULL || *cs == '\0')
        return 1;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(cs, names[i]) == 0)
            return 1;
    return 0;
}

/* The name to give iconv, or NULL when the name is not a plausible charset. */
static const char *iconv_name(const char *cs)
{
    static const struct { const char *mime, *iconv; } alias[] = {
        { "ks_c_5601-1987", "CP949" },
        { "unicode-1-1-utf-7", "UTF-7" },
        { "x-sjis", "SHIFT_JIS" },
        { "x-euc-jp", "EUC-JP" },
    };
    size_t i, n = strlen(cs);

    if (n == 0 || n > 64)
        return NULL;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)cs[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':' || c == '+'))
            return NULL;
    }
    for (i = 0; i < sizeof alias / sizeof alias[0]; i++)
        if (strcasecmp(cs, alias[i].mime) == 0)
            return alias[i].iconv;
    return cs;
}

/* ---- conversion ---- */

static void take_over(strbuf *b, char *s, size_t len, size_t alloc)
{
    free(b->s);
    b->s = s;
    b->len = len;
    b->alloc = alloc;
    b->s[len] = '\0';
}

/* Grows *buf, keeping *outp and *outleft pointing at the same output position. */
static int grow_out(char **buf, size_t *alloc, char **outp, size_t *outleft)
{
    size_t used = (size_t)(*outp - *buf);
    size_t n = *alloc * 2;
    char *p;

    if (n < *alloc || (p = realloc(*buf, n)) == NULL)
        return -1;
    *buf = p;
    *alloc = n;
    *outp = p + used;
    *outleft = n - used - 1;          /* keep one byte for the NUL */
    return 0;
}

/* Runs iconv over B into a new buffer.  0, 1 (invalid input) or -1 (no memory). */
static int run_iconv(iconv_t cd, strbuf *b, int partial_tail_ok)
{
    size_t alloc, outleft, inleft = b->len;
    char *buf, *outp, *in = b->s ? b->s : (char *)"";
    int flushing = 0;

    if (b->len > ((size_t)-1) / 4)
        return -1;
    alloc = b->len * 2 + 64;
    outleft = alloc - 1;
    outp = buf = malloc(alloc);
    if (buf == NULL)
        return -1;
    for (;;) {
        size_t r = flushing ? iconv(cd, NULL, NULL, &outp, &outleft)
                            : iconv(cd, &in, &inleft, &outp, &outleft);
        if (r != (size_t)-1) {
            if (flushing)
                break;
            flushing = 1;
            continue;
        }
        if (errno == E2BIG) {
            if (grow_out(&buf, &alloc, &outp, &outleft) < 0)
                return free(buf), -1;
        } else if (errno == EINVAL && partial_tail_ok && !flushing) {
            flushing = 1;             /* incomplete sequence cut by the size limit: drop it */
        } else
            return free(buf), 1;
    }
    take_over(b, buf, (size_t)(outp - buf), alloc);
    return 0;
}

static int validate_utf8(strbuf *b, int partial_tail_ok)
{
    int cut;
    size_t n = utf8_scan((const unsigned char *)b->s, b->len, &cut);

    if (n == b->len)
        return 0;
    if (cut && partial_tail_ok) {
        b->len = n;
        b->s[n] = '\0';
        return 0;
    }
    return 1;
}

int itip_charset_to_utf8(strbuf *b, const char *charset, int partial_tail_ok)
{
    const char *name;
    iconv_t cd;
    int r;

    if (itip_charset_is_utf8(charset))
        return validate_utf8(b, partial_tail_ok);
    name = iconv_name(charset);
    if (name == NULL)
        return 1;
    cd = iconv_open("UTF-8", name);
    if (cd == (iconv_t)-1)
        return errno == ENOMEM ? -1 : 1;
    r = run_iconv(cd, b, partial_tail_ok);
    iconv_close(cd);
    return r;
}

/* ---- ASCII character classes ---- */

int itip_name_is(const char *s, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(s, name, n) == 0;
}
