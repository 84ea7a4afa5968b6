/*
 * mimehdr.h - MIME and RFC 5322 header-field helpers.
 *
 * Unfolding; Content-Type / Content-Disposition parsing (lower-cased type, parameters with
 * case-insensitive names, quoted-strings with backslash escapes, comments, RFC 2231 charset,
 * language and continuations, all merged into one UTF-8 value per name); RFC 2047 encoded-word
 * decoding to UTF-8; Content-Transfer-Encoding; RFC 5322 Date: header parsing, and the civil
 * date arithmetic under it (also used by the rules for iCalendar times).
 * Every function that reads text takes it NUL-terminated (or counted) and of any length,
 * allocates what it returns, and never truncates: there are no fixed-size buffers.
 * Thread-safe, no state.
 */
#ifndef ITIP_MIMEHDR_H
#define ITIP_MIMEHDR_H

#include <stddef.h>
#include "mime/decode.h"
#include "base/strbuf.h"

typedef struct {
    char *name;               /* lower-case, without RFC 2231 "*" / "*N" suffixes */
    char *value;              /* unquoted; RFC 2231 values percent-decoded and in UTF-8 */
} itip_mime_param;

typedef struct {
    char *value;              /* lower-case "type/subtype" (Content-Type) or disposition type;
                                 NULL when missing or malformed */
    itip_mime_param *params;  /* one per distinct name, first occurrence wins */
    size_t n_params;
} itip_mime_field;

/* Unfolds a header field: removes every CR and LF, keeps the whitespace that followed them.
 * Returns a new NUL-terminated string (caller frees), NULL when out of memory. */
char *itip_hdr_unfold(const char *s, size_t len);

/* Parse a Content-Type ("type/subtype; params") or Content-Disposition ("type; params") value
 * (unfolded).  OUT is overwritten (clear it first if reused).  0, or -1 when out of memory
 * (OUT is then cleared). */
int itip_hdr_parse_ctype(const char *value, itip_mime_field *out);
int itip_hdr_parse_disposition(const char *value, itip_mime_field *out);
/* The value of parameter NAME (case-insensitive), or NULL. */
const char *itip_hdr_param(const itip_mime_field *f, const char *name);
void itip_hdr_field_clear(itip_mime_field *f);    /* frees and zeroes; idempotent */

/* Decodes RFC 2047 encoded-words ("=?charset?B|Q?text?=") in S (LEN bytes) and appends the
 * result, in UTF-8, to OUT; text outside encoded-words is copied as is, whitespace between
 * two encoded-words is dropped, malformed encoded-words are kept literally.  Returns 0, 1 (a
 * word's charset was unknown or its bytes invalid: those bytes were appended unconverted) or
 * -1 (out of memory; also -2 if OUT's cap was reached). */
int itip_rfc2047_decode(const char *s, size_t len, strbuf *out);

/* Content-Transfer-Encoding value to itip_cte: NULL or empty gives 7bit; unknown names give
 * ITIP_CTE_UNKNOWN.  Case-insensitive, whitespace and comments ignored. */
itip_cte itip_hdr_parse_cte(const char *value);

/* Parses an RFC 5322 Date: value, obsolete forms included (2- and 3-digit years, missing
 * seconds or day of week, comments, named zones UT GMT EST EDT CST CDT MST MDT PST PDT,
 * military and unknown alphabetic zones as -0000, missing zone as UTC).  Stores seconds since
 * the epoch (UTC) in *unix_time.  Returns 0, or -1 when the text is not a valid date. */
int itip_parse_date(const char *rfc5322_date, long long *unix_time);

/* Days from 1970-01-01 to the civil date Y-M-D (proleptic Gregorian, any year; M 1..12, D
 * 1..31), negative before 1970. */
long long itip_days_from_civil(long long y, int m, int d);

#endif
