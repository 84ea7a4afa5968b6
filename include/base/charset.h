/*
 * charset.h - conversion of a complete decoded text to UTF-8, and the ASCII character classes
 * that the MIME and iCalendar grammars share (hex digit, WSP, a name compared without case).
 *
 * itip_charset_to_utf8() converts a strbuf in place from a MIME charset name with iconv
 * (iconv_open per call: safe from any thread).  UTF-8 and US-ASCII (and a missing or empty
 * charset) take a fast path that only validates UTF-8.  On an unknown charset or invalid bytes
 * the data is left exactly as it was and 1 is returned: the caller decides what to report.
 * Never truncates output, never changes the input on failure.
 */
#ifndef ITIP_CHARSET_H
#define ITIP_CHARSET_H

#include <stddef.h>
#include "base/strbuf.h"

/* Converts B (its len bytes, NULs allowed) from CHARSET to UTF-8.  When PARTIAL_TAIL_OK is
 * set (the data was cut at a size limit), an incomplete multi-byte sequence at the very end is
 * dropped instead of counting as invalid.  The result may be longer than B's cap.
 * Returns 0 (B now holds UTF-8), 1 (unknown charset or invalid bytes: B unchanged) or -1
 * (out of memory: B unchanged). */
int itip_charset_to_utf8(strbuf *b, const char *charset, int partial_tail_ok);

/* The UTF-8 sequence at S, of which N > 0 bytes are available (strict as below): its length
 * (1-4), 0 when it is invalid, or -1 when it is a valid beginning cut by the end of the data.
 * The one UTF-8 check of the project (JSON output, F4, itip-quarantine's safe printing). */
int itip_utf8_seq(const void *s, size_t n);

/* Length of the longest valid UTF-8 prefix of S (strict: no overlongs, no surrogates, at most
 * U+10FFFF).  The data is valid UTF-8 when the result equals N. */
size_t itip_utf8_valid_prefix(const void *s, size_t n);

/* True if CHARSET (case-insensitive) names UTF-8 or US-ASCII, or is NULL or empty. */
int itip_charset_is_utf8(const char *charset);

/* Value (0..15) of the hex digit C (either case), or -1 when C is no hex digit.  Inline:
 * the decoders call it per byte. */
static inline int itip_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}
/* True if C is WSP (RFC 5234): space or horizontal tab; CR and LF are not. */
static inline int itip_is_wsp(int c)
{
    return c == ' ' || c == '\t';
}
/* True if the N bytes at S are NAME, ignoring case (the C locale's strncasecmp). */
int itip_name_is(const char *s, size_t n, const char *name);

#endif
