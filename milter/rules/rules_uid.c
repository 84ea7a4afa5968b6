/*
 * rules_uid.c - UID rules (catalogue section F), all methods.
 *
 *   F1 uid-too-long               UID longer than 202 bytes (Outlook cannot tell such UIDs
 *                                 apart outside PST/OST); the detail says if it passes 255
 *   F2 uid-goid-prefix-malformed  UID starts with the GlobalObjectId prefix
 *                                 040000008200E00074C5B7101A82E008 (any case) but is not a
 *                                 valid EncodedGlobalId: a non-hex character, odd length,
 *                                 fewer than 82 characters, or a DataSize field (bytes 36..39,
 *                                 little-endian; hex characters 72..79) that differs from the
 *                                 number of bytes after the 40-byte header
 *   F3 uid-goid-instance-date     a well-formed EncodedGlobalId whose InstanceDate (YH YL M D,
 *                                 bytes 16..19; hex characters 32..39) is not zero although the
 *                                 calendar holds the series master of that UID (degrade: the
 *                                 master reads as one instance, PidLidCleanGlobalObjectId has a
 *                                 zero date), or is no date Outlook can store: year outside
 *                                 1601..4500, month 0 or above 12, day 0 or past the end of the
 *                                 month (info when only exceptions carry the UID)
 *   F4 uid-bytes-unstable         (info, inferred) the UID value starts or ends with a blank
 *                                 (seen in the raw text: libical trims it), or holds invalid
 *                                 UTF-8, a control character, an inner blank, a character that
 *                                 iCalendar TEXT escapes (backslash, comma, semicolon) or a
 *                                 non-ASCII character: bytes that gateways re-fold, re-escape
 *                                 or re-encode, and any changed byte makes a different GOID
 *
 * F2: per MS-OXCICAL 2.1.3.1.1.20.26 a UID with the prefix that is no EncodedGlobalId is taken
 * as a ThirdPartyGlobalId and wrapped into a new "vCal-Uid" GlobalObjectId, which no longer
 * equals the organizer's binary one.  A well-formed EncodedGlobalId may itself carry a vCal-Uid
 * payload (its data starts with "vCal-Uid" 01 00 00 00); DataSize then counts that whole payload
 * like any other.  A UID that is valid once blanks are removed (Exchange 2000 CDO folds with two
 * blanks) is not F2's (see blank_fold_artifact()); F4 reports its inner blank as info.
 *
 * Every top-level component of the first VCALENDAR is looked at (VEVENT, VTODO, VJOURNAL,
 * VFREEBUSY); a UID shared by a series and its exceptions is reported once per rule.  F4's raw
 * scan reads the decoded part text line by line, unfolding as it goes, and reports only values
 * that belong to one of those components.  Must never: read past the end of the UID or of the
 * part, report a valid Exchange UID, or emit more than MAX_PER_RULE findings of one rule per
 * part.
 */
#include "ac-config.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "rules/calendar.h"
#include "rules/calutil.h"
#include "base/charset.h"

#define MAX_PER_RULE 5          /* findings of one rule in one calendar part */
#define UID_DISTINCT_MAX 202    /* MS-STANOICAL 2.1.10: longer UIDs may not be told apart */
#define UID_PERSIST_MIN 255     /* RFC 5545 minimum length implementations must keep */
#define SHOW_MAX 60             /* characters of a UID shown in a detail (F1) */
#define SHOW_HEAD 16            /* F2 shows a long UID as its head ... */
#define SHOW_TAIL 24            /* ... and its tail, where gateways damage it */

#define GOID_PREFIX "040000008200E00074C5B7101A82E008"   /* ByteArrayID, hex */
#define GOID_PREFIX_HEX 32
#define GOID_HEADER_BYTES 40    /* ByteArrayID 16, InstanceDate 4, CreationDateTime 8,
                                   Padding 8, DataSize 4 */
#define GOID_MIN_HEX 82         /* the header and at least one byte of GlobalIdData */
#define GOID_DATASIZE_HEX 72    /* DataSize starts at byte 36 = hex character 72 */
#define VCAL_UID_MARK "7643616C2D55696401000000"          /* "vCal-Uid" 01 00 00 00, hex */
#define GOID_DATE_HEX 32        /* InstanceDate YH YL M D starts at byte 16 = hex character 32 */
#define OUTLOOK_YEAR_MIN 1601   /* MS-STANOICAL 2.2.31: Outlook's valid years */
#define OUTLOOK_YEAR_MAX 4500
#define RAW_UID_MAX 1024        /* F4: raw UID values longer than this are not matched */
#define SHOWN_BUF 256           /* room for a UID shown with \xHH escapes */

typedef struct {
    const char *seen[MAX_PER_RULE];  /* UIDs already reported by this rule in this part */
    int n;
} reported;

/* True when UID was reported already; otherwise records it (false) unless the cap is hit
 * (then also true, so nothing more is emitted). */
static int already(reported *r, const char *uid)
{
    int i;

    for (i = 0; i < r->n; i++)
        if (strcmp(r->seen[i], uid) == 0)
            return 1;
    if (r->n >= MAX_PER_RULE)
        return 1;
    r->seen[r->n++] = uid;
    return 0;
}

static void check_f1(itip_calctx *c, icalcomponent *comp, const char *uid, reported *r)
{
    size_t len = strlen(uid);

    if (len <= UID_DISTINCT_MAX || already(r, uid))
        return;
    itip_emit(c, ITIP_R_UID_TOO_LONG, ITIP_SEV_DEGRADE, comp, "UID",
              "UID is %zu bytes (\"%.*s...\"): Outlook cannot tell UIDs longer than %d bytes "
              "apart outside PST/OST, so distinct meetings can merge%s", len, SHOW_MAX, uid,
              UID_DISTINCT_MAX,
              len > UID_PERSIST_MIN ? "; it also passes 255 bytes, the RFC 5545 minimum "
              "that implementations must keep" : "");
}

/* The byte written as the two hex digits at S (the caller checked that they are). */
static unsigned hexbyte(const char *s)
{
    return (unsigned)(itip_hexval((unsigned char)s[0]) << 4 | itip_hexval((unsigned char)s[1]));
}

/* The little-endian DataSize of a hex GOID (at least GOID_DATASIZE_HEX + 8 hex digits). */
static unsigned long goid_datasize(const char *uid)
{
    unsigned long v = 0;
    int i;

    for (i = 3; i >= 0; i--)
        v = (v << 8) | hexbyte(uid + GOID_DATASIZE_HEX + 2 * i);
    return v;
}

/* Describes what makes UID (with the GOID prefix) an invalid EncodedGlobalId into buf, or
 * returns NULL when it is valid. */
static const char *goid_defect(const char *uid, char *buf, size_t len)
{
    size_t n = strlen(uid), i;
    unsigned long long data;

    for (i = 0; i < n; i++)
        if (!isxdigit((unsigned char)uid[i])) {
            if ((unsigned char)uid[i] < 0x20 || (unsigned char)uid[i] >= 0x7f)
                snprintf(buf, len, "contains a non-hex byte 0x%02X at position %zu",
                         (unsigned char)uid[i], i);
            else
                snprintf(buf, len, "contains a non-hex character '%c' at position %zu", uid[i], i);
            return buf;
        }
    if (n % 2 != 0) {
        snprintf(buf, len, "has an odd number of hex digits (%zu)", n);
        return buf;
    }
    if (n < GOID_MIN_HEX) {
        snprintf(buf, len, "is only %zu hex digits (an EncodedGlobalId has at least %d)", n,
                 GOID_MIN_HEX);
        return buf;
    }
    data = n / 2 - GOID_HEADER_BYTES;
    if (goid_datasize(uid) != data) {
        int vcal = n >= GOID_HEADER_BYTES * 2 + strlen(VCAL_UID_MARK) &&
                   strncasecmp(uid + GOID_HEADER_BYTES * 2, VCAL_UID_MARK,
                               strlen(VCAL_UID_MARK)) == 0;
        snprintf(buf, len, "its DataSize field says %lu byte(s) of data where %llu follow%s",
                 goid_datasize(uid), data, vcal ? " (vCal-Uid payload)" : "");
        return buf;
    }
    return NULL;
}

/* True when UID is hex digits and blanks, and a valid EncodedGlobalId without the blanks.
 * Exchange 2000 CDO folds lines with CRLF and two blanks: an RFC 5545 reader keeps the second
 * blank inside the UID.  That is a folding defect of a genuine Exchange UID (the producer reads
 * it back without the blank), not a malformed GlobalObjectId, so F2 stays silent on it. */
static int blank_fold_artifact(const char *uid)
{
    size_t n = strlen(uid), i, j = 0;
    char *hex, why[128];
    int blanks = 0, ok;

    for (i = 0; i < n; i++) {
        if (uid[i] == ' ' || uid[i] == '\t')
            blanks++;
        else if (!isxdigit((unsigned char)uid[i]))
            return 0;
    }
    if (blanks == 0 || (hex = malloc(n + 1)) == NULL)
        return 0;
    for (i = 0; i < n; i++)
        if (uid[i] != ' ' && uid[i] != '\t')
            hex[j++] = uid[i];
    hex[j] = '\0';
    ok = goid_defect(hex, why, sizeof why) == NULL;
    free(hex);
    return ok;
}

static void check_f2(itip_calctx *c, icalcomponent *comp, const char *uid, reported *r)
{
    char why[128];
    size_t n = strlen(uid);
    int cut = n > SHOW_HEAD + SHOW_TAIL;

    if (strncasecmp(uid, GOID_PREFIX, GOID_PREFIX_HEX) != 0)
        return;
    if (goid_defect(uid, why, sizeof why) == NULL || blank_fold_artifact(uid) ||
        already(r, uid))
        return;
    itip_emit(c, ITIP_R_UID_GOID_PREFIX_MALFORMED, ITIP_SEV_DEGRADE, comp, "UID",
              "UID \"%.*s%s%s\" has the GlobalObjectId prefix but %s: Exchange wraps it as a "
              "third-party UID, so it no longer matches the organizer's meeting",
              cut ? SHOW_HEAD : (int)n, uid, cut ? "..." : "", cut ? uid + n - SHOW_TAIL : "",
              why);
}

/* ---- F3: the InstanceDate of an EncodedGlobalId ---- */

static int date_storable(unsigned y, unsigned m, unsigned d)
{
    static const unsigned mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    unsigned last;

    if (y < OUTLOOK_YEAR_MIN || y > OUTLOOK_YEAR_MAX || m < 1 || m > 12 || d < 1)
        return 0;
    last = mdays[m - 1];
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        last = 29;
    return d <= last;
}

static void check_f3(itip_calctx *c, icalcomponent *comp, const char *uid, reported *r)
{
    char why[128];
    const char *d;
    unsigned y, m, day;
    icalcomponent *master;
    int storable;

    if (strncasecmp(uid, GOID_PREFIX, GOID_PREFIX_HEX) != 0 ||
        goid_defect(uid, why, sizeof why) != NULL)
        return;
    d = uid + GOID_DATE_HEX;
    y = (hexbyte(d) << 8) | hexbyte(d + 2);
    m = hexbyte(d + 4);
    day = hexbyte(d + 6);
    if (y == 0 && m == 0 && day == 0)
        return;                     /* the clean GlobalObjectId */
    storable = date_storable(y, m, day);
    master = itip_series_master(c, uid);
    if ((master == NULL && storable) || already(r, uid))
        return;
    if (master != NULL)
        itip_emit(c, ITIP_R_UID_GOID_INSTANCE_DATE, ITIP_SEV_DEGRADE, master, "UID",
                  "GlobalObjectId UID carries the %sinstance date %u-%02u-%02u (hex %.8s) on "
                  "the series master: Exchange takes it for one occurrence, since a series "
                  "has a zero date there", storable ? "" : "impossible ", y, m, day, d);
    else
        itip_emit(c, ITIP_R_UID_GOID_INSTANCE_DATE, ITIP_SEV_INFO, comp, "UID",
                  "GlobalObjectId UID carries the impossible instance date %u-%02u-%02u "
                  "(hex %.8s): Outlook cannot store it and converters substitute the start "
                  "date, so the occurrence may not match", y, m, day, d);
}

/* ---- F4: bytes that do not survive gateways ---- */

/* Offset of the first byte of S that does not begin a valid UTF-8 sequence, or -1. */
static long bad_utf8(const char *str)
{
    size_t i = 0, len = strlen(str);

    while (i < len) {
        int n = itip_utf8_seq(str + i, len - i);
        if (n <= 0)
            return (long)i;
        i += (size_t)n;
    }
    return -1;
}

/* UID as printable ASCII (other bytes as \xHH), at most SHOW_MAX characters of it. */
static const char *shown(const char *uid, char *buf, size_t len)
{
    size_t i, o = 0;

    for (i = 0; uid[i] != '\0' && i < SHOW_MAX && o + 8 < len; i++) {
        unsigned char ch = (unsigned char)uid[i];
        if (ch >= 0x20 && ch < 0x7f)
            buf[o++] = (char)ch;
        else
            o += (size_t)snprintf(buf + o, len - o, "\\x%02X", ch);
    }
    if (uid[i] != '\0' && o + 4 < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* The first defect of a parsed UID as text into buf, or NULL when there is none. */
static const char *uid_instability(const char *uid, char *buf, size_t len)
{
    long bad = bad_utf8(uid);
    size_t i;

    if (bad >= 0) {
        snprintf(buf, len, "invalid UTF-8 (byte 0x%02X at position %ld)",
                 (unsigned char)uid[bad], bad);
        return buf;
    }
    for (i = 0; uid[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)uid[i];
        if (ch == ' ' || ch == '\t') {
            snprintf(buf, len, "an inner blank at position %zu (a line-folding artifact?)", i);
            return buf;
        }
        if (ch < 0x20 || ch == 0x7f) {
            snprintf(buf, len, "the control character 0x%02X at position %zu", ch, i);
            return buf;
        }
    }
    i = strcspn(uid, "\\,;");
    if (uid[i] != '\0') {
        snprintf(buf, len, "'%c' at position %zu, which iCalendar TEXT escapes", uid[i], i);
        return buf;
    }
    for (i = 0; uid[i] != '\0'; i++)
        if ((unsigned char)uid[i] >= 0x80) {
            snprintf(buf, len, "a non-ASCII character at position %zu", i);
            return buf;
        }
    return NULL;
}

/* Blanks around raw UID values, found in the part text before libical trims them. */
typedef struct {
    const char *uid[MAX_PER_RULE];  /* the parsed UID (c->uids) the raw value belongs to */
    char where[MAX_PER_RULE][16];   /* "leading", "trailing", "leading and trailing" */
    int n;
} raw_blanks;

/* Next character of the logical line at *i (unfolding CRLF/LF + one blank), or -1 at its end. */
static int unfold_next(const char *s, size_t n, size_t *i)
{
    while (*i < n) {
        if (s[*i] == '\r' || s[*i] == '\n') {
            size_t j = *i + ((s[*i] == '\r' && *i + 1 < n && s[*i + 1] == '\n') ? 2 : 1);
            if (j < n && (s[j] == ' ' || s[j] == '\t')) {
                *i = j + 1;
                continue;
            }
            return -1;
        }
        return (unsigned char)s[(*i)++];
    }
    return -1;
}

/* Reads the value of the UID line at *i (just past "UID") into raw (escaped, untrimmed);
 * returns its length, or -1 when it does not fit or has no ':'. */
static long read_raw_value(const char *s, size_t n, size_t *i, char *raw, size_t len)
{
    int ch, quoted = 0;
    size_t o = 0, over = 0;

    while ((ch = unfold_next(s, n, i)) >= 0 && (quoted || ch != ':'))
        if (ch == '"')
            quoted = !quoted;
    if (ch < 0)
        return -1;
    while ((ch = unfold_next(s, n, i)) >= 0) {
        if (o + 1 < len)
            raw[o++] = (char)ch;
        else
            over = 1;
    }
    raw[o] = '\0';
    return over ? -1 : (long)o;
}

/* raw without TEXT escapes and surrounding blanks, in place. */
static char *unescape_trim(char *raw)
{
    char *r = raw, *w = raw, *start;
    size_t len;

    for (; *r != '\0'; r++) {
        if (*r == '\\' && r[1] != '\0') {
            r++;
            *w++ = (*r == 'n' || *r == 'N') ? '\n' : *r;
        } else
            *w++ = *r;
    }
    *w = '\0';
    start = raw + strspn(raw, " \t");
    len = strlen(start);
    while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
        start[--len] = '\0';
    return start;
}

static void note_raw_value(const itip_calctx *c, char *raw, long len, raw_blanks *rb)
{
    int lead = raw[0] == ' ' || raw[0] == '\t';
    int trail = len > 0 && (raw[len - 1] == ' ' || raw[len - 1] == '\t');
    const char *v;
    size_t i;
    int k;

    if ((!lead && !trail) || rb->n >= MAX_PER_RULE)
        return;
    v = unescape_trim(raw);
    for (i = 0; i < c->nuids; i++) {
        if (c->uids[i].uid == NULL || strcmp(c->uids[i].uid, v) != 0)
            continue;
        for (k = 0; k < rb->n; k++)
            if (strcmp(rb->uid[k], v) == 0)
                return;
        rb->uid[rb->n] = c->uids[i].uid;
        snprintf(rb->where[rb->n], sizeof rb->where[0], "%s", lead && trail ?
                 "both ends" : lead ? "the start" : "the end");
        rb->n++;
        return;
    }
}

/* Scans the decoded part text for UID lines whose value starts or ends with a blank. */
static void scan_raw_uids(const itip_calctx *c, raw_blanks *rb, char *raw)
{
    const char *s = c->part ? c->part->data : NULL;
    size_t n = s ? c->part->len : 0, pos = 0;

    rb->n = 0;
    while (pos < n) {
        const char *nl;
        if (n - pos > 3 && strncasecmp(s + pos, "UID", 3) == 0 &&
            (s[pos + 3] == ':' || s[pos + 3] == ';')) {
            size_t i = pos + 3;
            long len = read_raw_value(s, n, &i, raw, RAW_UID_MAX);
            if (len >= 0)
                note_raw_value(c, raw, len, rb);
            pos = i;
        }
        nl = memchr(s + pos, '\n', n - pos);
        if (nl == NULL)
            break;
        pos = (size_t)(nl - s) + 1;
    }
}

static void check_f4(itip_calctx *c, icalcomponent *comp, const char *uid,
                     const raw_blanks *rb, reported *r)
{
    char why[128], show[SHOWN_BUF];
    const char *what = NULL;
    int k;

    for (k = 0; k < rb->n && what == NULL; k++)
        if (strcmp(rb->uid[k], uid) == 0) {
            snprintf(why, sizeof why, "a blank at %s of the value (libical and most parsers "
                     "trim it, others keep it)", rb->where[k]);
            what = why;
        }
    if (what == NULL)
        what = uid_instability(uid, why, sizeof why);
    if (what == NULL || already(r, uid))
        return;
    itip_emit(c, ITIP_R_UID_BYTES_UNSTABLE, ITIP_SEV_INFO, comp, "UID",
              "UID \"%s\" has %s: a gateway that re-encodes it changes the third-party "
              "GlobalObjectId, and updates no longer find the meeting",
              shown(uid, show, sizeof show), what);
}

void itip_check_uid(itip_calctx *c)
{
    icalcompiter it;
    icalcomponent *k;
    reported r1, r2, r3, r4;
    raw_blanks rb;
    char *raw;

    if (c->vcal == NULL)
        return;
    memset(&r1, 0, sizeof r1);
    memset(&r2, 0, sizeof r2);
    memset(&r3, 0, sizeof r3);
    memset(&r4, 0, sizeof r4);
    rb.n = 0;
    if ((raw = malloc(RAW_UID_MAX)) != NULL) {
        scan_raw_uids(c, &rb, raw);
        free(raw);
    }
    for (it = icalcomponent_begin_component(c->vcal, ICAL_ANY_COMPONENT);
         (k = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it)) {
        icalproperty *p;
        const char *uid;

        if (icalcomponent_isa(k) == ICAL_VTIMEZONE_COMPONENT)
            continue;
        p = icalcomponent_get_first_property(k, ICAL_UID_PROPERTY);
        uid = p ? icalproperty_get_uid(p) : NULL;
        if (uid == NULL)
            continue;               /* a missing UID is B5's */
        check_f1(c, k, uid, &r1);
        check_f2(c, k, uid, &r2);
        check_f3(c, k, uid, &r3);
        check_f4(c, k, uid, &rb, &r4);
    }
}
