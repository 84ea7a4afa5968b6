/*
 * record.c - the meeting record and the per-host clock-skew record of the stateful rules
 * (see record.h): merging what a message says into them, their versioned byte form, their
 * keys, and the get/update calls on the store that use them.
 *
 * Byte form (integers big-endian):
 *   "IM" version(1)  first_seen last_seen (i64)  flags(1: request, 2: cancel, 4: truncated)
 *        req_seq req_dtstamp req_owner_cc (i64)  digest (6 x u64)  cancel_seq (i64)
 *        organizer (str)  n(u16) x { addr(str) invited(u8) partstat(str) reply_dtstamp(i64) }
 *        n(u16) x { rid(str) cancelled(u8) }
 *   "IH" version(1)  offset samples last_seen (i64)
 * str = u16 length then the bytes; 0xFFFF stands for "none".  A decoder that finds anything
 * else (wrong magic or version, a length past the end, a cap exceeded, a NUL inside a string,
 * trailing bytes) rejects the whole value, which then reads as absent.
 *
 * Meeting keys carry the organiser ("m2:" / "m2#", see record.h); the former "m:" / "m#" keys
 * are never read again and expire.  When a record's attendee list is full, an invitation
 * displaces an attendee that is not invited (the one with the oldest response), so that
 * uninvited responders cannot crowd the invited out of a meeting.
 *
 * Must never: trust a stored length, grow a record past the ITIP_REC_MAX_* caps, block or
 * retry on a store failure, or touch libical.
 */
#include "ac-config.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "store/record.h"
#include "base/strbuf.h"

#define NONE_LEN 0xFFFFu
#define F_REQUEST 1u
#define F_CANCEL 2u
#define F_TRUNCATED 4u
#define SECONDS_PER_MINUTE 60

const char *const itip_digest_names[ITIP_DIG_COUNT] = {
    "DTSTART", "DTEND", "RRULE", "EXDATE", "LOCATION", "attendee set"
};

unsigned long long itip_hash64(const void *p, size_t n, unsigned long long h)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---- life cycle ---- */

void itip_meeting_init(itip_meeting *m)
{
    memset(m, 0, sizeof *m);
}

void itip_meeting_free(itip_meeting *m)
{
    size_t i;

    for (i = 0; i < m->natt; i++) {
        free(m->att[i].addr);
        free(m->att[i].partstat);
    }
    for (i = 0; i < m->ndel; i++)
        free(m->del[i].rid);
    free(m->att);
    free(m->del);
    free(m->organizer);
    itip_meeting_init(m);
}

void itip_obs_free(itip_obs *o)
{
    free(o->uid);
    free(o->rid);
    free(o->organizer);
    free(o->partstat);
    itip_strv_free(o->addrs, o->naddrs);
    itip_strv_free(o->exdates, o->nexdates);
    memset(o, 0, sizeof *o);
}

/* ---- lookups inside a record ---- */

static itip_rec_attendee *find_att(const itip_meeting *m, const char *addr)
{
    size_t i;

    for (i = 0; i < m->natt; i++)
        if (strcasecmp(m->att[i].addr, addr) == 0)
            return &m->att[i];
    return NULL;
}

const itip_rec_attendee *itip_meeting_attendee(const itip_meeting *m, const char *addr)
{
    return addr ? find_att(m, addr) : NULL;
}

int itip_meeting_deleted(const itip_meeting *m, const char *rid, int *cancelled)
{
    size_t i;

    for (i = 0; rid != NULL && i < m->ndel; i++)
        if (strcmp(m->del[i].rid, rid) == 0) {
            if (cancelled)
                *cancelled = m->del[i].cancelled;
            return 1;
        }
    return 0;
}

/* ---- merging an observation ---- */

static char *dup_lower(const char *s, size_t max)
{
    size_t n = strlen(s), i;
    char *d;

    if (n > max)
        n = max;
    if ((d = malloc(n + 1)) == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        d[i] = (char)tolower((unsigned char)s[i]);
    d[n] = '\0';
    return d;
}

/* The attendee that is not invited and has the oldest response (none is oldest), or NULL. */
static itip_rec_attendee *displaceable(const itip_meeting *m)
{
    itip_rec_attendee *best = NULL;
    size_t i;

    for (i = 0; i < m->natt; i++)
        if (!m->att[i].invited &&
            (best == NULL || m->att[i].reply_dtstamp < best->reply_dtstamp))
            best = &m->att[i];
    return best;
}

/* The entry of ADDR, added when missing (NULL when the cap is reached or out of memory:
 * *full tells which).  With DISPLACE a full list gives up an entry that is not invited. */
static itip_rec_attendee *get_att(itip_meeting *m, const char *addr, int displace, int *full)
{
    itip_rec_attendee *a = find_att(m, addr), *v;
    char *copy;

    *full = 0;
    if (a != NULL)
        return a;
    if (strlen(addr) > ITIP_REC_MAX_ADDR || !*addr) {
        *full = 1;
        return NULL;
    }
    if (m->natt >= ITIP_REC_MAX_ATTENDEES) {
        if (!displace || (a = displaceable(m)) == NULL) {
            *full = 1;
            return NULL;
        }
        if ((copy = dup_lower(addr, ITIP_REC_MAX_ADDR)) == NULL)
            return NULL;
        free(a->addr);
        free(a->partstat);
        memset(a, 0, sizeof *a);
        a->addr = copy;
        return a;
    }
    v = realloc(m->att, (m->natt + 1) * sizeof *v);
    if (v == NULL)
        return NULL;
    m->att = v;
    a = &v[m->natt];
    memset(a, 0, sizeof *a);
    if ((a->addr = dup_lower(addr, ITIP_REC_MAX_ADDR)) == NULL)
        return NULL;
    m->natt++;
    return a;
}

/* Marks the addresses of a REQUEST as invited; REPLACE first clears every invitation. */
static int invite(itip_meeting *m, const itip_obs *o, int replace)
{
    size_t i;
    int full, rc = 0;

    if (replace) {
        for (i = 0; i < m->natt; i++)
            m->att[i].invited = 0;
        m->att_truncated = 0;
    }
    if (o->addrs_truncated)
        m->att_truncated = 1;
    for (i = 0; i < o->naddrs; i++) {
        itip_rec_attendee *a = get_att(m, o->addrs[i], 1, &full);
        if (a != NULL)
            a->invited = 1;
        else if (full)
            m->att_truncated = 1;
        else
            rc = -1;
    }
    return rc;
}

/* Drops deleted-instance entries that came from EXDATE (not from a CANCEL). */
static void drop_exdates(itip_meeting *m)
{
    size_t i, j = 0;

    for (i = 0; i < m->ndel; i++) {
        if (m->del[i].cancelled)
            m->del[j++] = m->del[i];
        else
            free(m->del[i].rid);
    }
    m->ndel = j;
}

int itip_meeting_add_deleted(itip_meeting *m, const char *rid, int cancelled, time_t now)
{
    itip_rec_instance *v;
    size_t i;

    m->last_seen = now;
    if (m->first_seen == 0)
        m->first_seen = now;
    if (rid == NULL || *rid == '\0' || strlen(rid) > ITIP_REC_MAX_RID)
        return 0;
    for (i = 0; i < m->ndel; i++)
        if (strcmp(m->del[i].rid, rid) == 0) {
            m->del[i].cancelled |= cancelled;
            return 0;
        }
    if (m->ndel >= ITIP_REC_MAX_DELETED) {      /* keep the newest: forget the oldest */
        free(m->del[0].rid);
        memmove(m->del, m->del + 1, (m->ndel - 1) * sizeof *m->del);
        m->ndel--;
    }
    v = realloc(m->del, (m->ndel + 1) * sizeof *v);
    if (v == NULL)
        return -1;
    m->del = v;
    if ((v[m->ndel].rid = strdup(rid)) == NULL)
        return -1;
    v[m->ndel++].cancelled = cancelled;
    return 0;
}

static int apply_request(itip_meeting *m, const itip_obs *o, time_t now)
{
    int newer = !m->has_request || o->seq > m->req_seq, rc = 0;
    size_t i;

    if (!newer && o->seq < m->req_seq)
        return 0;                               /* a stale copy changes nothing */
    if (newer) {
        m->req_seq = o->seq;
        m->req_dtstamp = o->dtstamp;
        m->req_owner_cc = o->owner_cc;
    } else {
        if (o->dtstamp > m->req_dtstamp)
            m->req_dtstamp = o->dtstamp;
        if (o->owner_cc > m->req_owner_cc)
            m->req_owner_cc = o->owner_cc;
    }
    m->has_request = 1;
    memcpy(m->digest, o->digest, sizeof m->digest);   /* the last one of this SEQUENCE */
    if (o->organizer != NULL && (newer || m->organizer == NULL)) {
        char *org = dup_lower(o->organizer, ITIP_REC_MAX_ADDR);
        if (org == NULL)
            return -1;
        free(m->organizer);
        m->organizer = org;
    }
    if (invite(m, o, newer) < 0)
        rc = -1;
    drop_exdates(m);
    for (i = 0; i < o->nexdates; i++)
        if (itip_meeting_add_deleted(m, o->exdates[i], 0, now) < 0)
            rc = -1;
    return rc;
}

static int apply_reply(itip_meeting *m, const itip_obs *o)
{
    itip_rec_attendee *a;
    int full;

    if (o->naddrs != 1)
        return 0;
    a = get_att(m, o->addrs[0], 0, &full);
    if (a == NULL)
        return full ? 0 : -1;
    if (o->partstat != NULL) {
        char *ps = strndup(o->partstat, ITIP_REC_MAX_PARTSTAT);
        if (ps == NULL)
            return -1;
        free(a->partstat);
        a->partstat = ps;
    }
    if (o->dtstamp > a->reply_dtstamp)
        a->reply_dtstamp = o->dtstamp;
    return 0;
}

int itip_meeting_apply(itip_meeting *m, const itip_obs *o, time_t now)
{
    m->last_seen = now;
    if (m->first_seen == 0)
        m->first_seen = now;
    switch (o->kind) {
    case ITIP_OBS_REQUEST:
        return apply_request(m, o, now);
    case ITIP_OBS_CANCEL:
        if (!m->has_cancel || o->seq > m->cancel_seq)
            m->cancel_seq = o->seq;
        m->has_cancel = 1;
        return 0;
    case ITIP_OBS_REPLY:
        return apply_reply(m, o);
    }
    return 0;
}

/* ---- byte form: writing ---- */

typedef struct {
    strbuf b;
    int bad;                    /* an append failed: the result is dropped */
} writer;

static void put_bytes(writer *w, const void *p, size_t n)
{
    if (!w->bad && itip_strbuf_append(&w->b, p, n) < 0)
        w->bad = 1;
}

static void put_u8(writer *w, unsigned v)
{
    unsigned char c = (unsigned char)v;
    put_bytes(w, &c, 1);
}

static void put_u16(writer *w, unsigned v)
{
    unsigned char c[2] = { (unsigned char)(v >> 8), (unsigned char)v };
    put_bytes(w, c, 2);
}

static void put_u64(writer *w, unsigned long long v)
{
    unsigned char c[8];
    int i;

    for (i = 7; i >= 0; i--, v >>= 8)
        c[i] = (unsigned char)v;
    put_bytes(w, c, 8);
}

static void put_i64(writer *w, long long v)
{
    put_u64(w, (unsigned long long)v);
}

/* A string cut to MAX bytes; NULL is written as "none". */
static void put_str(writer *w, const char *s, size_t max)
{
    size_t n;

    if (s == NULL) {
        put_u16(w, NONE_LEN);
        return;
    }
    n = strlen(s);
    if (n > max)
        n = max;
    put_u16(w, (unsigned)n);
    put_bytes(w, s, n);
}

static void start(writer *w, const char *magic)
{
    itip_strbuf_init(&w->b, 0);
    w->bad = 0;
    put_bytes(w, magic, 2);
    put_u8(w, ITIP_RECORD_VERSION);
}

static int finish(writer *w, char **out, size_t *len)
{
    if (w->bad) {
        itip_strbuf_free(&w->b);
        return -1;
    }
    *out = itip_strbuf_detach(&w->b, len);
    return *out ? 0 : -1;
}

int itip_meeting_encode(const itip_meeting *m, char **out, size_t *len)
{
    writer w;
    size_t i, natt = m->natt < ITIP_REC_MAX_ATTENDEES ? m->natt : ITIP_REC_MAX_ATTENDEES;
    size_t ndel = m->ndel < ITIP_REC_MAX_DELETED ? m->ndel : ITIP_REC_MAX_DELETED;
    unsigned flags = (m->has_request ? F_REQUEST : 0) | (m->has_cancel ? F_CANCEL : 0) |
                     (m->att_truncated || natt < m->natt ? F_TRUNCATED : 0);

    start(&w, "IM");
    put_i64(&w, m->first_seen);
    put_i64(&w, m->last_seen);
    put_u8(&w, flags);
    put_i64(&w, m->req_seq);
    put_i64(&w, m->req_dtstamp);
    put_i64(&w, m->req_owner_cc);
    for (i = 0; i < ITIP_DIG_COUNT; i++)
        put_u64(&w, m->digest[i]);
    put_i64(&w, m->cancel_seq);
    put_str(&w, m->organizer, ITIP_REC_MAX_ADDR);
    put_u16(&w, (unsigned)natt);
    for (i = 0; i < natt; i++) {
        const itip_rec_attendee *a = &m->att[i];
        put_str(&w, a->addr, ITIP_REC_MAX_ADDR);
        put_u8(&w, a->invited ? 1 : 0);
        put_str(&w, a->partstat, ITIP_REC_MAX_PARTSTAT);
        put_i64(&w, a->reply_dtstamp);
    }
    put_u16(&w, (unsigned)ndel);
    for (i = 0; i < ndel; i++) {
        put_str(&w, m->del[i].rid, ITIP_REC_MAX_RID);
        put_u8(&w, m->del[i].cancelled ? 1 : 0);
    }
    return finish(&w, out, len);
}

int itip_hostskew_encode(const itip_hostskew *h, char **out, size_t *len)
{
    writer w;

    start(&w, "IH");
    put_i64(&w, h->offset);
    put_i64(&w, h->samples);
    put_i64(&w, h->last_seen);
    return finish(&w, out, len);
}

/* ---- byte form: reading ---- */

typedef struct {
    const unsigned char *p, *end;
    int bad;                    /* 1 malformed, 2 out of memory */
} reader;

static const unsigned char *take(reader *r, size_t n)
{
    const unsigned char *p = r->p;

    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad |= 1;
        return NULL;
    }
    r->p += n;
    return p;
}

static unsigned get_u8(reader *r)
{
    const unsigned char *p = take(r, 1);
    return p ? p[0] : 0;
}

static unsigned get_u16(reader *r)
{
    const unsigned char *p = take(r, 2);
    return p ? (unsigned)p[0] << 8 | p[1] : 0;
}

static unsigned long long get_u64(reader *r)
{
    const unsigned char *p = take(r, 8);
    unsigned long long v = 0;
    int i;

    for (i = 0; p != NULL && i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static long long get_i64(reader *r)
{
    return (long long)get_u64(r);
}

static int get_flag(reader *r)
{
    unsigned v = get_u8(r);

    if (v > 1)
        r->bad |= 1;
    return (int)v;
}

/* A string of at most MAX bytes, no NUL; NULL for "none" (allowed only when NULLABLE). */
static char *get_str(reader *r, size_t max, int nullable)
{
    unsigned n = get_u16(r);
    const unsigned char *p;
    char *s;

    if (r->bad)
        return NULL;
    if (n == NONE_LEN) {
        if (!nullable)
            r->bad |= 1;
        return NULL;
    }
    if (n > max || (p = take(r, n)) == NULL || memchr(p, '\0', n) != NULL) {
        r->bad |= 1;
        return NULL;
    }
    if ((s = malloc(n + 1)) == NULL) {
        r->bad |= 2;
        return NULL;
    }
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static int header_ok(reader *r, const char *magic)
{
    const unsigned char *p = take(r, 3);
    return p != NULL && memcmp(p, magic, 2) == 0 && p[2] == ITIP_RECORD_VERSION;
}

/* The count of a list (n(u16), at most MAX) and room for its entries: N zeroed elements of
 * SIZE, NULL when N is 0.  On a bad count or no memory r->bad is set and *N is 0. */
static void *get_list(reader *r, unsigned max, size_t size, unsigned *n)
{
    void *v = NULL;

    *n = get_u16(r);
    if (r->bad || *n > max)
        r->bad |= 1;
    else if (*n && (v = calloc(*n, size)) == NULL)
        r->bad |= 2;
    if (v == NULL)
        *n = 0;
    return v;
}

static void read_attendees(reader *r, itip_meeting *m)
{
    unsigned n, i;

    m->att = get_list(r, ITIP_REC_MAX_ATTENDEES, sizeof *m->att, &n);
    for (i = 0; i < n && !r->bad; i++) {
        itip_rec_attendee *a = &m->att[m->natt++];
        a->addr = get_str(r, ITIP_REC_MAX_ADDR, 0);
        a->invited = get_flag(r);
        a->partstat = get_str(r, ITIP_REC_MAX_PARTSTAT, 1);
        a->reply_dtstamp = get_i64(r);
        if (!r->bad && a->addr[0] == '\0')
            r->bad |= 1;
    }
}

static void read_deleted(reader *r, itip_meeting *m)
{
    unsigned n, i;

    m->del = get_list(r, ITIP_REC_MAX_DELETED, sizeof *m->del, &n);
    for (i = 0; i < n && !r->bad; i++) {
        itip_rec_instance *d = &m->del[m->ndel++];
        d->rid = get_str(r, ITIP_REC_MAX_RID, 0);
        d->cancelled = get_flag(r);
    }
}

int itip_meeting_decode(const char *buf, size_t len, itip_meeting *m)
{
    reader r = { (const unsigned char *)buf, (const unsigned char *)buf + len, 0 };
    unsigned flags;
    size_t i;

    itip_meeting_init(m);
    if (buf == NULL || !header_ok(&r, "IM"))
        return -1;
    m->first_seen = get_i64(&r);
    m->last_seen = get_i64(&r);
    flags = get_u8(&r);
    if (flags & ~(F_REQUEST | F_CANCEL | F_TRUNCATED))
        r.bad |= 1;
    m->has_request = (flags & F_REQUEST) != 0;
    m->has_cancel = (flags & F_CANCEL) != 0;
    m->att_truncated = (flags & F_TRUNCATED) != 0;
    m->req_seq = get_i64(&r);
    m->req_dtstamp = get_i64(&r);
    m->req_owner_cc = get_i64(&r);
    for (i = 0; i < ITIP_DIG_COUNT; i++)
        m->digest[i] = get_u64(&r);
    m->cancel_seq = get_i64(&r);
    m->organizer = get_str(&r, ITIP_REC_MAX_ADDR, 1);
    read_attendees(&r, m);
    read_deleted(&r, m);
    if (!r.bad && r.p != r.end)
        r.bad |= 1;                             /* trailing bytes: not our record */
    if (r.bad) {
        int oom = (r.bad & 2) != 0;
        itip_meeting_free(m);
        return oom ? -2 : -1;
    }
    return 0;
}

int itip_hostskew_decode(const char *buf, size_t len, itip_hostskew *h)
{
    reader r = { (const unsigned char *)buf, (const unsigned char *)buf + len, 0 };

    memset(h, 0, sizeof *h);
    if (buf == NULL || !header_ok(&r, "IH"))
        return -1;
    h->offset = get_i64(&r);
    h->samples = (long)get_i64(&r);
    h->last_seen = get_i64(&r);
    if (r.bad || r.p != r.end || h->samples < 0 || llabs(h->offset) > ITIP_SKEW_SAMPLE_MAX) {
        memset(h, 0, sizeof *h);
        return -1;
    }
    return 0;
}

/* ---- the skew estimate ---- */

void itip_hostskew_add(itip_hostskew *h, long long sample, time_t now)
{
    long long diff, n;

    if (sample > ITIP_SKEW_SAMPLE_MAX || sample < -ITIP_SKEW_SAMPLE_MAX)
        return;
    h->last_seen = now;
    if (h->samples < 0)
        h->samples = 0;
    if (h->samples < (long)0x7fffffff)
        h->samples++;
    n = h->samples < ITIP_SKEW_WINDOW ? h->samples : ITIP_SKEW_WINDOW;
    diff = sample - h->offset;                  /* |diff| <= 2 * ITIP_SKEW_SAMPLE_MAX */
    h->offset += diff >= 0 ? (diff + n / 2) / n : -((-diff + n / 2) / n);
}

char *itip_skew_phrase(const char *host, const itip_hostskew *h, char *buf, size_t len)
{
    long long mag = llabs(h->offset);
    long long min = (mag + SECONDS_PER_MINUTE / 2) / SECONDS_PER_MINUTE;
    const char *s = h->samples == 1 ? "" : "s";

    if (mag < SECONDS_PER_MINUTE)
        snprintf(buf, len, "%s keeps time with us within a minute (estimate over %ld message%s)",
                 host, h->samples, s);
    else
        snprintf(buf, len, "%s runs about %lld minute%s %s (estimate over %ld message%s)", host,
                 min, min == 1 ? "" : "s", h->offset > 0 ? "fast" : "slow", h->samples, s);
    return buf;
}

char *itip_skew_note(const itip_statework *w, char *buf, size_t len)
{
    char phrase[ITIP_REC_MAX_HOST + 100];

    if (len > 0)
        buf[0] = '\0';
    if (w != NULL && w->skew_known && w->skew_host != NULL)
        snprintf(buf, len, "; %s", itip_skew_phrase(w->skew_host, &w->skew, phrase,
                                                      sizeof phrase));
    return buf;
}

/* ---- keys ---- */

/* Two differently fed FNV passes over TEXT: forwards over "TEXT\n", and backwards over its
 * bytes from another start: the long host keys of every release so far. */
static void hash128(const char *text, unsigned long long *h1, unsigned long long *h2)
{
    size_t n = strlen(text), i;

    *h1 = itip_hash64(text, n, ITIP_HASH_INIT);
    *h1 = itip_hash64("\n", 1, *h1);
    *h2 = ITIP_HASH_INIT ^ 0x9e3779b97f4a7c15ULL;
    for (i = n; i > 0; i--)
        *h2 = itip_hash64(&text[i - 1], 1, *h2);
}

/* Copies S lower-cased into BUF (MAX + 1 bytes); NULL when S is NULL, empty, longer, or holds
 * a control character (a key's separator is a line feed). */
static const char *lower_into(char *buf, const char *s, size_t max)
{
    size_t i;

    if (s == NULL || *s == '\0')
        return NULL;
    for (i = 0; s[i] != '\0'; i++) {
        if (i >= max || (unsigned char)s[i] < 0x20)
            return NULL;
        buf[i] = (char)tolower((unsigned char)s[i]);
    }
    buf[i] = '\0';
    return buf;
}

char *itip_meeting_key(char *buf, const char *uid, const char *rid, const char *organizer)
{
    char low[ITIP_REC_MAX_ADDR + 1];
    const char *org = lower_into(low, organizer, ITIP_REC_MAX_ADDR);
    unsigned long long h1, h2;

    if (rid == NULL)
        rid = "";
    if (org == NULL || strlen(rid) > ITIP_REC_MAX_RID || strchr(rid, '\n') != NULL)
        return NULL;
    if (3 + strlen(org) + 1 + strlen(rid) + 1 + strlen(uid) <= ITIP_KEY_PLAIN_MAX) {
        snprintf(buf, ITIP_KEY_BUF, "m2:%s\n%s\n%s", org, rid, uid);
        return buf;
    }
    hash128(uid, &h1, &h2);
    snprintf(buf, ITIP_KEY_BUF, "m2#%s\n%s\n%016llx%016llx-%zu", org, rid, h1, h2, strlen(uid));
    return buf;
}

char *itip_host_key(char *buf, const char *host)
{
    char low[ITIP_REC_MAX_HOST + 1];
    unsigned long long h1, h2;
    size_t i, n;

    for (i = 0; host[i] != '\0' && i < ITIP_REC_MAX_HOST; i++)
        low[i] = (char)tolower((unsigned char)host[i]);
    low[i] = '\0';
    n = strlen(low);
    if (2 + n <= ITIP_KEY_PLAIN_MAX) {
        snprintf(buf, ITIP_KEY_BUF, "h:%s", low);
        return buf;
    }
    hash128(low, &h1, &h2);
    snprintf(buf, ITIP_KEY_BUF, "h#%016llx%016llx-%zu", h1, h2, n);
    return buf;
}

/* ---- store operations ---- */

int itip_record_get_meeting(itip_store *st, const char *uid, const char *rid,
                            const char *organizer, time_t now, itip_meeting *out)
{
    char key[ITIP_KEY_BUF], *val = NULL;
    size_t len = 0;
    int r;

    itip_meeting_init(out);
    if (itip_meeting_key(key, uid, rid, organizer) == NULL)
        return 1;
    r = itip_store_get(st, key, now, &val, &len);
    if (r != 0)
        return r < 0 ? -1 : 1;
    r = itip_meeting_decode(val, len, out);
    free(val);
    return r == 0 ? 0 : r == -2 ? -1 : 1;
}

int itip_record_get_host(itip_store *st, const char *host, time_t now, itip_hostskew *out)
{
    char key[ITIP_KEY_BUF], *val = NULL;
    size_t len = 0;
    int r;

    memset(out, 0, sizeof *out);
    r = itip_store_get(st, itip_host_key(key, host), now, &val, &len);
    if (r != 0)
        return r < 0 ? -1 : 1;
    r = itip_hostskew_decode(val, len, out);
    free(val);
    return r == 0 && out->samples > 0 ? 0 : 1;
}

typedef struct {
    const itip_obs *obs;        /* merge the observation ... */
    const char *deleted_rid;    /* ... or add this cancelled instance to the series */
    time_t now;
} meeting_merge;

static int merge_meeting(void *arg, const char *old, size_t oldlen, char **out, size_t *outlen)
{
    const meeting_merge *mm = arg;
    itip_meeting m;
    int r;

    r = old ? itip_meeting_decode(old, oldlen, &m) : -1;
    if (r == -2)
        return -1;
    if (r != 0)
        itip_meeting_init(&m);                  /* absent or undecodable: start afresh */
    r = mm->obs ? itip_meeting_apply(&m, mm->obs, mm->now)
                : itip_meeting_add_deleted(&m, mm->deleted_rid, 1, mm->now);
    if (r == 0)
        r = itip_meeting_encode(&m, out, outlen);
    itip_meeting_free(&m);
    return r < 0 ? -1 : 0;
}

int itip_record_put_obs(itip_store *st, const itip_obs *o, time_t now)
{
    char key[ITIP_KEY_BUF];
    meeting_merge mm = { o, NULL, now };

    if (o->uid == NULL || *o->uid == '\0' ||
        itip_meeting_key(key, o->uid, o->rid, o->organizer) == NULL)
        return 0;                               /* no organiser: nobody's record */
    if (itip_store_update(st, key, now, merge_meeting, &mm) < 0)
        return -1;
    if (o->kind != ITIP_OBS_CANCEL || o->rid == NULL || *o->rid == '\0')
        return 0;
    mm.obs = NULL;
    mm.deleted_rid = o->rid;
    return itip_store_update(st, itip_meeting_key(key, o->uid, "", o->organizer), now,
                             merge_meeting, &mm);
}

typedef struct {
    long long sample;
    time_t now;
} skew_merge;

static int merge_skew(void *arg, const char *old, size_t oldlen, char **out, size_t *outlen)
{
    const skew_merge *sm = arg;
    itip_hostskew h;

    if (old == NULL || itip_hostskew_decode(old, oldlen, &h) != 0)
        memset(&h, 0, sizeof h);
    itip_hostskew_add(&h, sm->sample, sm->now);
    if (h.samples == 0)
        return 1;                               /* nothing worth keeping */
    return itip_hostskew_encode(&h, out, outlen) < 0 ? -1 : 0;
}

int itip_record_put_skew(itip_store *st, const char *host, long long sample, time_t now)
{
    char key[ITIP_KEY_BUF];
    skew_merge sm = { sample, now };

    if (host == NULL || *host == '\0' || sample > ITIP_SKEW_SAMPLE_MAX ||
        sample < -ITIP_SKEW_SAMPLE_MAX)
        return 0;
    return itip_store_update(st, itip_host_key(key, host), now, merge_skew, &sm);
}

/* ---- learned legacy organizers ---- */

static void legacy_domain_key(char *buf, const char *domain)
{
    size_t i;
    char low[ITIP_REC_MAX_ADDR + 1];

    for (i = 0; domain[i] != '\0' && i < ITIP_REC_MAX_ADDR; i++)
        low[i] = (char)tolower((unsigned char)domain[i]);
    low[i] = '\0';
    snprintf(buf, ITIP_KEY_BUF, "lg:%s", low);
}

static void legacy_uid_key(char *buf, const char *uid)
{
    size_t n = strlen(uid);

    snprintf(buf, ITIP_KEY_BUF, "lu:%016llx:%zu", itip_hash64(uid, n, ITIP_HASH_INIT), n);
}

int itip_record_get_legacy(itip_store *st, const char *domain, time_t now, itip_legacy *out)
{
    char key[ITIP_KEY_BUF], *val = NULL, buf[128];
    size_t len = 0;
    long long since;
    int r;

    memset(out, 0, sizeof *out);
    if (domain == NULL || *domain == '\0')
        return 1;
    legacy_domain_key(key, domain);
    r = itip_store_get(st, key, now, &val, &len);
    if (r != 0)
        return r < 0 ? -1 : 1;
    r = 1;
    if (len < sizeof buf) {
        memcpy(buf, val, len);
        buf[len] = '\0';
        if (sscanf(buf, "%lld %15s", &since, out->how) == 2 && since > 0) {
            out->since = since;
            snprintf(out->domain, sizeof out->domain, "%.*s", (int)sizeof out->domain - 1,
                     key + 3);
            r = 0;
        }
    }
    free(val);
    return r;
}

int itip_record_get_legacy_uid(itip_store *st, const char *uid, time_t now, itip_legacy *out)
{
    char key[ITIP_KEY_BUF], *val = NULL, dom[ITIP_REC_MAX_ADDR + 1];
    size_t len = 0;
    int r;

    memset(out, 0, sizeof *out);
    if (uid == NULL || *uid == '\0')
        return 1;
    legacy_uid_key(key, uid);
    r = itip_store_get(st, key, now, &val, &len);
    if (r != 0)
        return r < 0 ? -1 : 1;
    if (len == 0 || len >= sizeof dom || memchr(val, '\0', len) != NULL) {
        free(val);
        return 1;
    }
    memcpy(dom, val, len);
    dom[len] = '\0';
    free(val);
    return itip_record_get_legacy(st, dom, now, out);
}

typedef struct {
    const char *how;
    time_t now;
} legacy_merge;

/* Keeps the first learning time; a value that does not read is replaced. */
static int merge_legacy(void *arg, const char *old, size_t oldlen, char **out, size_t *outlen)
{
    const legacy_merge *lm = arg;
    long long since = (long long)lm->now, prev;
    char buf[128], how[16];
    const char *use = lm->how;
    int n;

    if (old != NULL && oldlen < sizeof buf) {
        memcpy(buf, old, oldlen);
        buf[oldlen] = '\0';
        if (sscanf(buf, "%lld %15s", &prev, how) == 2 && prev > 0 && prev <= since) {
            since = prev;           /* learned before: the first time and method stay, the */
            use = how;              /* entry's ttl starts again */
        }
    }
    n = snprintf(buf, sizeof buf, "%lld %s", since, use);
    if ((*out = malloc((size_t)n)) == NULL)
        return -1;
    memcpy(*out, buf, (size_t)n);
    *outlen = (size_t)n;
    return 0;
}

int itip_record_put_legacy(itip_store *st, const char *domain, const char *uid, const char *how,
                           time_t now)
{
    char key[ITIP_KEY_BUF], low[ITIP_REC_MAX_ADDR + 1];
    legacy_merge lm = { how, now };
    size_t i;

    if (domain == NULL || *domain == '\0' || strlen(domain) > ITIP_REC_MAX_ADDR)
        return 0;
    legacy_domain_key(key, domain);
    if (itip_store_update(st, key, now, merge_legacy, &lm) < 0)
        return -1;
    if (uid == NULL || *uid == '\0')
        return 0;
    legacy_uid_key(key, uid);
    for (i = 0; domain[i] != '\0'; i++)
        low[i] = (char)tolower((unsigned char)domain[i]);
    low[i] = '\0';
    return itip_store_put(st, key, low, i, now);
}
