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
 *
 * Per MS-OXCICAL 2.1.3.1.1.20.26 such a UID is then taken as a ThirdPartyGlobalId and wrapped
 * into a new "vCal-Uid" GlobalObjectId, which no longer equals the organizer's binary one.  A
 * well-formed EncodedGlobalId may itself carry a vCal-Uid payload (its data starts with
 * "vCal-Uid" 01 00 00 00); DataSize then counts that whole payload like any other.
 *
 * A UID that is valid once blanks are removed (Exchange 2000 CDO folds with two blanks) is
 * not reported: see blank_fold_artifact().
 *
 * Every top-level component of the first VCALENDAR is looked at (VEVENT, VTODO, VJOURNAL,
 * VFREEBUSY); a UID shared by a series and its exceptions is reported once.  Must never: read
 * past the end of the UID, report a valid Exchange UID, or emit more than MAX_PER_RULE
 * findings of one rule per part.
 */
#include "ac-config.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "calendar.h"

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

static unsigned hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return (unsigned)(ch - '0');
    return (unsigned)(tolower((unsigned char)ch) - 'a' + 10);
}

/* The little-endian DataSize of a hex GOID (at least GOID_DATASIZE_HEX + 8 hex digits). */
static unsigned long goid_datasize(const char *uid)
{
    unsigned long v = 0;
    int i;

    for (i = 3; i >= 0; i--) {
        const char *b = uid + GOID_DATASIZE_HEX + 2 * i;
        v = (v << 8) | (hexval(b[0]) << 4) | hexval(b[1]);
    }
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

void itip_check_uid(itip_calctx *c)
{
    icalcompiter it;
    icalcomponent *k;
    reported r1, r2;

    if (c->vcal == NULL)
        return;
    memset(&r1, 0, sizeof r1);
    memset(&r2, 0, sizeof r2);
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
    }
}
