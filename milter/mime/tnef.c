/*
 * tnef.c - the bounded TNEF reader (see tnef.h).
 *
 * Exports itip_tnef_read, itip_tnef_meeting_kind, itip_tnef_goid_problem and
 * itip_tnef_ft_text.  A cursor (rd) over the bytes never moves past its end: every read
 * checks the bytes left first.  No allocation, no recursion, loops bounded by the caps.
 */
#include "ac-config.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "mime/tnef.h"

/* Attribute ids (level 1 = message, 2 = attachment), type in the high word. */
#define ATT_MESSAGE_CLASS 0x00078008u
#define ATT_DATE_START    0x00030006u
#define ATT_DATE_END      0x00030007u
#define ATT_MAPI_PROPS    0x00069003u
#define LVL_MESSAGE 1
#define LVL_ATTACHMENT 2

/* MAPI property types (MS-OXCDATA 2.11.1). */
#define PT_SHORT 0x0002
#define PT_LONG 0x0003
#define PT_FLOAT 0x0004
#define PT_DOUBLE 0x0005
#define PT_CURRENCY 0x0006
#define PT_APPTIME 0x0007
#define PT_ERROR 0x000A
#define PT_BOOLEAN 0x000B
#define PT_OBJECT 0x000D
#define PT_I8 0x0014
#define PT_STRING8 0x001E
#define PT_UNICODE 0x001F
#define PT_SYSTIME 0x0040
#define PT_CLSID 0x0048
#define PT_SVREID 0x00FB
#define PT_SRESTRICT 0x00FD
#define PT_ACTIONS 0x00FE
#define PT_BINARY 0x0102
#define MV_FLAG 0x1000

#define PR_MESSAGE_CLASS 0x001A
#define PR_START_DATE 0x0060
#define PR_END_DATE 0x0061

/* Property sets, as the bytes of the GUID in the stream (little-endian fields). */
static const unsigned char PSETID_MEETING[16] = {
    0x90, 0xDA, 0xD8, 0x6E, 0x0B, 0x45, 0x1B, 0x10,
    0x98, 0xDA, 0x00, 0xAA, 0x00, 0x3F, 0x13, 0x05 };
static const unsigned char PSETID_APPOINTMENT[16] = {
    0x02, 0x20, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46 };

/* MS-OXOCAL 2.2.1.27: the Byte Array ID that starts every GlobalObjectId. */
static const unsigned char GOID_ID[16] = {
    0x04, 0x00, 0x00, 0x00, 0x82, 0x00, 0xE0, 0x00,
    0x74, 0xC5, 0xB7, 0x10, 0x1A, 0x82, 0xE0, 0x08 };

typedef struct {
    const unsigned char *p;
    size_t left;
} rd;

static int take(rd *r, size_t n, const unsigned char **out)
{
    if (n > r->left)
        return -1;
    if (out)
        *out = r->p;
    r->p += n;
    r->left -= n;
    return 0;
}

static int u16(rd *r, unsigned *v)
{
    const unsigned char *b;

    if (take(r, 2, &b) < 0)
        return -1;
    *v = (unsigned)b[0] | (unsigned)b[1] << 8;
    return 0;
}

static int u32(rd *r, uint32_t *v)
{
    const unsigned char *b;

    if (take(r, 4, &b) < 0)
        return -1;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

static uint64_t le64(const unsigned char *b)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

/* Keeps the first problem only. */
static void problem(itip_tnef *t, itip_tnef_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(itip_tnef *t, itip_tnef_status st, const char *fmt, ...)
{
    va_list ap;

    if (t->status != ITIP_TNEF_OK)
        return;
    t->status = st;
    va_start(ap, fmt);
    vsnprintf(t->problem, sizeof t->problem, fmt, ap);
    va_end(ap);
}

/* Copies a class name (8-bit or, when WIDE, UTF-16LE) up to its NUL, '?' for non-ASCII. */
static void set_class(itip_tnef *t, const unsigned char *b, size_t n, int wide)
{
    size_t i, o = 0, step = wide ? 2 : 1;

    for (i = 0; i + step <= n && o + 1 < sizeof t->msg_class; i += step) {
        unsigned c = wide ? (unsigned)b[i] | (unsigned)b[i + 1] << 8 : b[i];
        if (c == 0)
            break;
        t->msg_class[o++] = c >= 0x20 && c < 0x7F ? (char)c : '?';
    }
    t->msg_class[o] = '\0';
}

/* Size of one value of a fixed-size type as written (padded to 4), 0 for a variable-size
 * type, -1 for a type MS-OXTNEF does not allow. */
static long fixed_size(unsigned type)
{
    switch (type) {
    case PT_SHORT: case PT_LONG: case PT_FLOAT: case PT_ERROR: case PT_BOOLEAN:
        return 4;
    case PT_DOUBLE: case PT_CURRENCY: case PT_APPTIME: case PT_I8: case PT_SYSTIME:
        return 8;
    case PT_CLSID:
        return 16;
    case PT_OBJECT: case PT_STRING8: case PT_UNICODE: case PT_BINARY: case PT_SVREID:
    case PT_SRESTRICT: case PT_ACTIONS:
        return 0;
    default:
        return -1;
    }
}

/* Which of the kept properties a tag names. */
enum { K_NONE, K_CLASS, K_GOID, K_CLEAN_GOID, K_ATT_CC, K_OWN_CC, K_START, K_END, K_CLIP_START,
       K_CLIP_END, K_PR_START, K_PR_END, K_SEQ };

static int named_key(const unsigned char *guid, uint32_t lid)
{
    if (memcmp(guid, PSETID_MEETING, 16) == 0)
        switch (lid) {
        case 0x0001: return K_ATT_CC;
        case 0x0003: return K_GOID;
        case 0x001A: return K_OWN_CC;
        case 0x0023: return K_CLEAN_GOID;
        default: return K_NONE;
        }
    if (memcmp(guid, PSETID_APPOINTMENT, 16) == 0)
        switch (lid) {
        case 0x8201: return K_SEQ;
        case 0x820D: return K_START;
        case 0x820E: return K_END;
        case 0x8235: return K_CLIP_START;
        case 0x8236: return K_CLIP_END;
        default: return K_NONE;
        }
    return K_NONE;
}

static void keep_time(itip_tnef *t, int key, const unsigned char *b)
{
    itip_tnef_time *slot = key == K_ATT_CC ? &t->attendee_cc : key == K_OWN_CC ? &t->owner_cc
                         : key == K_START ? &t->start_whole : key == K_END ? &t->end_whole
                         : key == K_CLIP_START ? &t->clip_start : key == K_CLIP_END ? &t->clip_end
                         : key == K_PR_START ? &t->pr_start : key == K_PR_END ? &t->pr_end : NULL;

    if (slot != NULL && !slot->have) {
        slot->have = 1;
        slot->ft = le64(b);
    }
}

static void keep_bin(itip_tnef_bin *slot, const unsigned char *b, size_t n)
{
    if (slot->have)
        return;
    slot->have = 1;
    slot->len = n;
    memcpy(slot->head, b, n < ITIP_TNEF_GOID_KEEP ? n : ITIP_TNEF_GOID_KEEP);
}

/* One value of a variable-size type: a 32-bit length, the bytes, padding to 4. */
static int var_value(rd *r, const unsigned char **b, uint32_t *n)
{
    if (u32(r, n) < 0 || take(r, *n, b) < 0)
        return -1;
    return take(r, (4 - *n % 4) % 4, NULL);
}

/* One property of an attMAPIProps list.  0, or -1 with the problem recorded. */
static int read_prop(rd *r, itip_tnef *t, int keep, size_t index)
{
    unsigned type, id, base;
    uint32_t count = 1, i;
    int key = K_NONE;
    long fsz;

    if (u16(r, &type) < 0 || u16(r, &id) < 0)
        goto trunc;
    base = type & ~(unsigned)MV_FLAG;
    if (id >= 0x8000) {               /* a named property: GUID, kind, LID or name */
        const unsigned char *guid, *name;
        uint32_t kind, lid, nlen;
        if (take(r, 16, &guid) < 0 || u32(r, &kind) < 0)
            goto trunc;
        if (kind == 0) {
            if (u32(r, &lid) < 0)
                goto trunc;
            key = named_key(guid, lid);
        } else if (kind == 1) {
            if (var_value(r, &name, &nlen) < 0)
                goto trunc;
        } else {
            problem(t, ITIP_TNEF_BAD_PROPS, "MAPI property %zu: named property kind %lu is "
                    "neither 0 (id) nor 1 (name)", index, (unsigned long)kind);
            return -1;
        }
    } else if (id == PR_MESSAGE_CLASS)
        key = K_CLASS;
    else if (id == PR_START_DATE)
        key = K_PR_START;
    else if (id == PR_END_DATE)
        key = K_PR_END;
    fsz = fixed_size(base);
    if (fsz < 0) {
        problem(t, ITIP_TNEF_BAD_PROPS, "MAPI property %zu (tag 0x%04X%04X): unknown type",
                index, id, type);
        return -1;
    }
    if ((type & MV_FLAG) || fsz == 0) {
        if (u32(r, &count) < 0)
            goto trunc;
        if (count > ITIP_TNEF_MAX_VALUES) {
            problem(t, ITIP_TNEF_LIMIT, "MAPI property %zu (tag 0x%04X%04X) has %lu values "
                    "(more than %d)", index, id, type, (unsigned long)count,
                    ITIP_TNEF_MAX_VALUES);
            return -1;
        }
    }
    if (!keep || (type & MV_FLAG))
        key = K_NONE;                 /* only single values of the message's own list */
    for (i = 0; i < count; i++) {
        const unsigned char *b;
        uint32_t n;
        if (fsz > 0) {
            if (take(r, (size_t)fsz, &b) < 0)
                goto trunc;
            if (i > 0)
                continue;
            if (key == K_SEQ && base == PT_LONG && !t->have_sequence) {
                t->have_sequence = 1;
                t->sequence = (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 |
                                        (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
            } else if (key != K_NONE && key != K_SEQ && base == PT_SYSTIME)
                keep_time(t, key, b);
            continue;
        }
        if (var_value(r, &b, &n) < 0)
            goto trunc;
        if (i > 0)
            continue;
        if (key == K_CLASS && (base == PT_STRING8 || base == PT_UNICODE)) {
            set_class(t, b, n, base == PT_UNICODE);
            t->class_from_props = 1;
        } else if (key == K_GOID && base == PT_BINARY)
            keep_bin(&t->goid, b, n);
        else if (key == K_CLEAN_GOID && base == PT_BINARY)
            keep_bin(&t->clean_goid, b, n);
    }
    return 0;
trunc:
    problem(t, ITIP_TNEF_TRUNCATED, "MAPI property %zu runs past the end of attMAPIProps", index);
    return -1;
}

/* An attMAPIProps attribute's data: a count and that many properties.  KEEP: the message's
 * own list (attachments' lists are only checked). */
static void read_props(const unsigned char *b, size_t n, itip_tnef *t, int keep)
{
    rd r = { b, n };
    uint32_t count, i;

    if (u32(&r, &count) < 0) {
        problem(t, ITIP_TNEF_TRUNCATED, "attMAPIProps is shorter than its property count");
        return;
    }
    if (count > ITIP_TNEF_MAX_PROPS) {
        problem(t, ITIP_TNEF_LIMIT, "attMAPIProps claims %lu properties (more than %d)",
                (unsigned long)count, ITIP_TNEF_MAX_PROPS);
        return;
    }
    for (i = 0; i < count; i++) {
        if (read_prop(&r, t, keep, i) < 0)
            return;
        if (keep)
            t->nprops++;
    }
}

static void read_dtr(itip_tnef_dtr *d, const unsigned char *b, size_t n)
{
    if (n < 12 || d->have)
        return;
    d->have = 1;
    d->year = b[0] | b[1] << 8;
    d->month = b[2] | b[3] << 8;
    d->day = b[4] | b[5] << 8;
    d->hour = b[6] | b[7] << 8;
    d->minute = b[8] | b[9] << 8;
    d->second = b[10] | b[11] << 8;
}

itip_tnef_status itip_tnef_read(const void *buf, size_t len, itip_tnef *t)
{
    rd r = { buf, len };
    uint32_t sig;
    unsigned key;
    char legacy_class[sizeof t->msg_class] = "";

    memset(t, 0, sizeof *t);
    if (u32(&r, &sig) < 0 || sig != ITIP_TNEF_SIGNATURE) {
        problem(t, ITIP_TNEF_NOT_TNEF, "no TNEF signature (0x223E9F78) at the start");
        return t->status;
    }
    if (u16(&r, &key) < 0) {
        problem(t, ITIP_TNEF_TRUNCATED, "the stream ends inside its header");
        return t->status;
    }
    while (r.left > 0) {
        const unsigned char *lvl, *data;
        uint32_t id, n, i;
        unsigned sum, want = 0;
        if (t->nattrs >= ITIP_TNEF_MAX_ATTRS) {
            problem(t, ITIP_TNEF_LIMIT, "more than %d attributes", ITIP_TNEF_MAX_ATTRS);
            break;
        }
        if (take(&r, 1, &lvl) < 0 || u32(&r, &id) < 0 || u32(&r, &n) < 0 ||
            take(&r, n, &data) < 0 || u16(&r, &sum) < 0) {
            problem(t, ITIP_TNEF_TRUNCATED, "attribute %zu (at byte %zu) runs past the end of "
                    "the stream", t->nattrs, len - r.left);
            break;
        }
        t->nattrs++;
        for (i = 0; i < n; i++)
            want = (want + data[i]) & 0xFFFF;
        if (want != sum)
            problem(t, ITIP_TNEF_BAD_CHECKSUM, "attribute %zu (id 0x%08lX) has checksum 0x%04X, "
                    "its data sums to 0x%04X", t->nattrs - 1, (unsigned long)id, sum, want);
        if (*lvl == LVL_MESSAGE && id == ATT_MESSAGE_CLASS && legacy_class[0] == '\0') {
            itip_tnef tmp;
            set_class(&tmp, data, n, 0);
            memcpy(legacy_class, tmp.msg_class, sizeof legacy_class);
        } else if (*lvl == LVL_MESSAGE && id == ATT_DATE_START)
            read_dtr(&t->date_start, data, n);
        else if (*lvl == LVL_MESSAGE && id == ATT_DATE_END)
            read_dtr(&t->date_end, data, n);
        else if (id == ATT_MAPI_PROPS && (*lvl == LVL_MESSAGE || *lvl == LVL_ATTACHMENT))
            read_props(data, n, t, *lvl == LVL_MESSAGE);
        else if (*lvl != LVL_MESSAGE && *lvl != LVL_ATTACHMENT)
            problem(t, ITIP_TNEF_BAD_PROPS, "attribute %zu has level %u (neither 1 nor 2)",
                    t->nattrs - 1, *lvl);
    }
    if (!t->class_from_props)
        memcpy(t->msg_class, legacy_class, sizeof t->msg_class);
    return t->status;
}

itip_tnef_meeting itip_tnef_meeting_kind(const char *c)
{
    static const char mtg[] = "IPM.Schedule.Meeting.", legacy[] = "IPM.Microsoft Schedule.Mtg";
    const char *s;

    if (strncasecmp(c, mtg, sizeof mtg - 1) == 0) {
        s = c + sizeof mtg - 1;
        if (strncasecmp(s, "Request", 7) == 0)
            return ITIP_TNEF_MTG_REQUEST;
        if (strncasecmp(s, "Resp.", 5) == 0)
            return ITIP_TNEF_MTG_RESPONSE;
        if (strncasecmp(s, "Canceled", 8) == 0)
            return ITIP_TNEF_MTG_CANCEL;
        return ITIP_TNEF_MTG_OTHER;
    }
    if (strncasecmp(c, legacy, sizeof legacy - 1) == 0) {
        s = c + sizeof legacy - 1;
        if (strncasecmp(s, "Req", 3) == 0)
            return ITIP_TNEF_MTG_REQUEST;
        if (strncasecmp(s, "Resp", 4) == 0)
            return ITIP_TNEF_MTG_RESPONSE;
        if (strncasecmp(s, "Cncl", 4) == 0)
            return ITIP_TNEF_MTG_CANCEL;
        return ITIP_TNEF_MTG_OTHER;
    }
    return ITIP_TNEF_NOT_MEETING;
}

const char *itip_tnef_goid_problem(const itip_tnef_bin *b)
{
    uint32_t size;
    const unsigned char *h = b->head;

    if (b->len < 40)
        return "shorter than the 40 bytes of its fixed fields";
    if (memcmp(h, GOID_ID, sizeof GOID_ID) != 0)
        return "does not start with the GlobalObjectId Byte Array ID";
    size = (uint32_t)h[36] | (uint32_t)h[37] << 8 | (uint32_t)h[38] << 16 |
           (uint32_t)h[39] << 24;
    if ((uint64_t)size + 40 != b->len)
        return "its Size field does not match its length";
    return NULL;
}

char *itip_tnef_ft_text(uint64_t ft, char *buf, size_t len)
{
    /* civil date from days since 1601-01-01 (a Monday; 400-year cycles of 146097 days) */
    uint64_t secs = ft / 10000000u, days = secs / 86400u, rem = secs % 86400u;
    uint64_t y = 1601 + 400 * (days / 146097);
    unsigned mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    unsigned m = 0;

    days %= 146097;
    for (;;) {
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        uint64_t ylen = leap ? 366 : 365;
        if (days < ylen)
            break;
        days -= ylen;
        y++;
    }
    mdays[1] = ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : 28;
    while (m < 11 && days >= mdays[m])
        days -= mdays[m++];
    snprintf(buf, len, "%04llu-%02u-%02lluT%02llu:%02llu:%02lluZ", (unsigned long long)y, m + 1,
             (unsigned long long)days + 1, (unsigned long long)(rem / 3600),
             (unsigned long long)(rem / 60 % 60), (unsigned long long)(rem % 60));
    return buf;
}
