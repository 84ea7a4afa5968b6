/*
 * test_record.c - the records of the stateful rules (record.h): merging, the byte form and its
 * rejection of damaged values, keys (bound to the organiser), the clock-skew estimate; and,
 * through the engine with a real LMDB store in a temporary directory, what only shows across
 * messages: the combined E4 finding, the skew estimate in finding details, the client address
 * as the host, the note when the store fails, and who may write a meeting's record (a third
 * party's REQUEST or REPLY for someone else's meeting does not; SENT-BY, a REPLY without
 * ORGANIZER, bare iCalendar; records under the former keys are not read).
 */
#include "ac-config.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/config.h"
#include "engine/engine.h"
#include "store/record.h"
#include "tap.h"

#define NOW 1780315200LL            /* 2026-06-01T12:00:00Z */

/* ---- records in memory ---- */

static itip_obs request_obs(const char *uid, long long seq, long long stamp, int nattendees)
{
    itip_obs o;
    int i;
    char buf[64];

    memset(&o, 0, sizeof o);
    o.kind = ITIP_OBS_REQUEST;
    o.uid = strdup(uid);
    o.rid = strdup("");
    o.has_seq = 1;
    o.seq = seq;
    o.dtstamp = stamp;
    o.organizer = strdup("olivia@example.com");
    o.addrs = calloc((size_t)nattendees + 1, sizeof *o.addrs);
    for (i = 0; i < nattendees; i++) {
        snprintf(buf, sizeof buf, "a%d@example.net", i);
        o.addrs[o.naddrs++] = strdup(buf);
    }
    o.digest[ITIP_DIG_DTSTART] = 42;
    return o;
}

static void test_apply(void)
{
    itip_meeting m;
    itip_obs o = request_obs("u1", 1, NOW - 600, 3), r;
    const itip_rec_attendee *a;
    int cancelled = -1;

    itip_meeting_init(&m);
    is_int(itip_meeting_apply(&m, &o, NOW), 0, "apply a REQUEST");
    ok(m.has_request && m.req_seq == 1 && m.req_dtstamp == NOW - 600, "REQUEST seq and stamp");
    ok(m.natt == 3 && m.att[0].invited, "three invited attendees");
    itip_obs_free(&o);
    o = request_obs("u1", 0, NOW - 300, 1);
    itip_meeting_apply(&m, &o, NOW);
    ok(m.req_seq == 1 && m.req_dtstamp == NOW - 600, "a stale REQUEST changes nothing");
    itip_obs_free(&o);
    o = request_obs("u1", 2, NOW - 200, 1);
    o.exdates = calloc(1, sizeof *o.exdates);
    o.exdates[o.nexdates++] = strdup("20260617T090000Z");
    itip_meeting_apply(&m, &o, NOW);
    ok(m.req_seq == 2 && m.natt == 3 && m.att[0].invited && !m.att[1].invited,
       "a newer REQUEST replaces the invited set");
    ok(itip_meeting_deleted(&m, "20260617T090000Z", &cancelled) && cancelled == 0,
       "its EXDATE is a deleted instance");
    itip_obs_free(&o);
    memset(&r, 0, sizeof r);
    r.kind = ITIP_OBS_REPLY;
    r.addrs = calloc(1, sizeof *r.addrs);
    r.addrs[r.naddrs++] = strdup("A1@Example.NET");
    r.partstat = strdup("DECLINED");
    r.dtstamp = NOW - 100;
    itip_meeting_apply(&m, &r, NOW);
    a = itip_meeting_attendee(&m, "a1@example.net");
    ok(a != NULL && a->reply_dtstamp == NOW - 100 && strcmp(a->partstat, "DECLINED") == 0 &&
       !a->invited, "a REPLY records PARTSTAT and stamp, case-insensitively");
    itip_obs_free(&r);
    itip_meeting_add_deleted(&m, "20260624T090000Z", 1, NOW);
    ok(itip_meeting_deleted(&m, "20260624T090000Z", &cancelled) && cancelled == 1,
       "a cancelled instance");
    o = request_obs("u1", 2, NOW - 100, 0);
    itip_meeting_apply(&m, &o, NOW);
    ok(!itip_meeting_deleted(&m, "20260617T090000Z", NULL) &&
       itip_meeting_deleted(&m, "20260624T090000Z", NULL),
       "a REQUEST without the EXDATE restores that instance, not a cancelled one");
    itip_obs_free(&o);
    itip_meeting_free(&m);
    itip_meeting_free(&m);
    ok(1, "freeing twice is harmless");
}

static void test_caps(void)
{
    itip_meeting m, d;
    itip_obs o = request_obs("u2", 0, NOW, ITIP_REC_MAX_ATTENDEES + 50);
    char rid[32], *buf = NULL;
    size_t len = 0;
    int i;

    itip_meeting_init(&m);
    itip_meeting_apply(&m, &o, NOW);
    ok(m.natt == ITIP_REC_MAX_ATTENDEES && m.att_truncated, "attendees capped at %d",
       ITIP_REC_MAX_ATTENDEES);
    for (i = 0; i < ITIP_REC_MAX_DELETED + 20; i++) {
        snprintf(rid, sizeof rid, "2026%04dT090000Z", i);
        itip_meeting_add_deleted(&m, rid, 1, NOW);
    }
    ok(m.ndel == ITIP_REC_MAX_DELETED && !itip_meeting_deleted(&m, "20260000T090000Z", NULL) &&
       itip_meeting_deleted(&m, rid, NULL), "deleted instances capped, the newest kept");
    is_int(itip_meeting_encode(&m, &buf, &len), 0, "a full record encodes");
    is_int(itip_meeting_decode(buf, len, &d), 0, "and decodes");
    ok(d.natt == m.natt && d.ndel == m.ndel && d.att_truncated, "with its caps intact");
    diag("a full record takes %zu bytes", len);
    itip_meeting_free(&d);
    free(buf);
    itip_obs_free(&o);
    itip_meeting_free(&m);
}

/* Uninvited responders fill the list: a later invitation still gets its places. */
static void test_crowding(void)
{
    itip_meeting m;
    itip_obs o = request_obs("u4", 1, NOW, 2), r;
    char buf[64];
    int i;

    itip_meeting_init(&m);
    memset(&r, 0, sizeof r);
    r.kind = ITIP_OBS_REPLY;
    r.addrs = calloc(1, sizeof *r.addrs);
    r.naddrs = 1;
    for (i = 0; i < ITIP_REC_MAX_ATTENDEES + 10; i++) {
        snprintf(buf, sizeof buf, "x%d@evil.example", i);
        free(r.addrs[0]);
        r.addrs[0] = strdup(buf);
        r.dtstamp = NOW - 1000 + i;
        itip_meeting_apply(&m, &r, NOW);
    }
    ok(m.natt == ITIP_REC_MAX_ATTENDEES && !m.att_truncated,
       "uninvited responders fill the list, no more");
    itip_meeting_apply(&m, &o, NOW);
    ok(m.natt == ITIP_REC_MAX_ATTENDEES && !m.att_truncated &&
       itip_meeting_attendee(&m, "a0@example.net") != NULL &&
       itip_meeting_attendee(&m, "a0@example.net")->invited &&
       itip_meeting_attendee(&m, "a1@example.net")->invited &&
       itip_meeting_attendee(&m, "x0@evil.example") == NULL &&
       itip_meeting_attendee(&m, "x199@evil.example") != NULL,
       "an invitation displaces the oldest uninvited responders, the list stays exact");
    itip_obs_free(&r);
    itip_obs_free(&o);
    itip_meeting_free(&m);
}

/* ---- byte form ---- */

static void sample_meeting(itip_meeting *m)
{
    itip_obs o = request_obs("u3", 7, NOW - 3600, 2);

    itip_meeting_init(m);
    o.owner_cc = NOW - 3700;
    o.digest[ITIP_DIG_LOCATION] = 0xfedcba9876543210ULL;
    itip_meeting_apply(m, &o, NOW - 10);
    itip_obs_free(&o);
    m->has_cancel = 1;
    m->cancel_seq = 3;
    m->att[1].partstat = strdup("TENTATIVE");
    m->att[1].reply_dtstamp = NOW - 5;
    itip_meeting_add_deleted(m, "20260617", 0, NOW);
}

static void test_roundtrip(void)
{
    itip_meeting m, d;
    char *buf = NULL;
    size_t len = 0, i;
    int same;

    sample_meeting(&m);
    is_int(itip_meeting_encode(&m, &buf, &len), 0, "encode");
    is_int(itip_meeting_decode(buf, len, &d), 0, "decode");
    same = d.first_seen == m.first_seen && d.last_seen == m.last_seen &&
           d.has_request == m.has_request && d.req_seq == 7 && d.req_dtstamp == NOW - 3600 &&
           d.req_owner_cc == NOW - 3700 && d.has_cancel && d.cancel_seq == 3 &&
           memcmp(d.digest, m.digest, sizeof d.digest) == 0 && d.organizer != NULL &&
           strcmp(d.organizer, "olivia@example.com") == 0 && d.natt == 2 && d.ndel == 1 &&
           strcmp(d.del[0].rid, "20260617") == 0 && d.del[0].cancelled == 0 &&
           d.att_truncated == 0;
    for (i = 0; same && i < d.natt; i++)
        same = strcmp(d.att[i].addr, m.att[i].addr) == 0 && d.att[i].invited == m.att[i].invited
               && d.att[i].reply_dtstamp == m.att[i].reply_dtstamp &&
               (d.att[i].partstat == NULL) == (m.att[i].partstat == NULL);
    ok(same && strcmp(d.att[1].partstat, "TENTATIVE") == 0, "every field survives the round trip");
    itip_meeting_free(&d);

    /* every truncation, a trailing byte, another version, another kind: rejected */
    for (i = 0, same = 1; i < len; i++)
        if (itip_meeting_decode(buf, i, &d) != -1 || d.natt != 0 || d.organizer != NULL)
            same = 0;
    ok(same, "all %zu truncations are rejected and leave an empty record", len);
    {
        char *longer = malloc(len + 1);
        memcpy(longer, buf, len);
        longer[len] = 0;
        is_int(itip_meeting_decode(longer, len + 1, &d), -1, "a trailing byte is rejected");
        free(longer);
    }
    buf[2] = ITIP_RECORD_VERSION + 1;
    is_int(itip_meeting_decode(buf, len, &d), -1, "another version is rejected");
    buf[2] = ITIP_RECORD_VERSION;
    buf[1] = 'H';
    is_int(itip_meeting_decode(buf, len, &d), -1, "a host record is not a meeting");
    buf[1] = 'M';
    is_int(itip_meeting_decode(NULL, 0, &d), -1, "nothing is rejected");
    free(buf);
    itip_meeting_free(&m);
}

/* Damaged copies: each byte set to a few values, then pseudo-random bytes. */
static void test_garbage(void)
{
    itip_meeting m, d;
    char *buf = NULL, *copy;
    size_t len = 0, i;
    static const unsigned char vals[] = { 0x00, 0x01, 0x7f, 0xff };
    unsigned long long x = 88172645463325252ULL;
    int decoded = 0, rejected = 0, v, round;

    sample_meeting(&m);
    itip_meeting_encode(&m, &buf, &len);
    copy = malloc(len);
    for (i = 0; i < len; i++)
        for (v = 0; v < 4; v++) {
            memcpy(copy, buf, len);
            copy[i] = (char)vals[v];
            if (itip_meeting_decode(copy, len, &d) == 0) {
                decoded++;
                if (d.natt > ITIP_REC_MAX_ATTENDEES || d.ndel > ITIP_REC_MAX_DELETED)
                    rejected = -1000000;
            } else
                rejected++;
            itip_meeting_free(&d);
        }
    ok(rejected > 0 && decoded > 0, "damaged bytes: %d decode (a value changed), %d rejected, "
       "no crash, caps hold", decoded, rejected);
    for (round = 0, rejected = 0; round < 2000; round++) {
        for (i = 0; i < len; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            copy[i] = (char)(i < 3 ? buf[i] : (char)x);
        }
        if (itip_meeting_decode(copy, (size_t)(x % (len + 1)), &d) != 0)
            rejected++;
        itip_meeting_free(&d);
    }
    ok(rejected >= 1990, "random bodies behind a valid header: %d of 2000 rejected", rejected);
    free(copy);
    free(buf);
    itip_meeting_free(&m);
}

static void test_skew(void)
{
    itip_hostskew h, d;
    char *buf = NULL, phrase[200];
    size_t len = 0;
    int i;

    memset(&h, 0, sizeof h);
    itip_hostskew_add(&h, -300, NOW);
    itip_hostskew_add(&h, -240, NOW);
    ok(h.samples == 2 && h.offset == -270, "mean of the first samples (%lld)", h.offset);
    itip_hostskew_add(&h, ITIP_SKEW_SAMPLE_MAX + 1, NOW);
    ok(h.samples == 2, "a sample beyond %d s is ignored", ITIP_SKEW_SAMPLE_MAX);
    for (i = 0; i < 60; i++)
        itip_hostskew_add(&h, 540, NOW);
    ok(h.offset > 520 && h.offset <= 540, "the estimate follows a changed clock (%lld)",
       h.offset);
    itip_skew_phrase("partner.example", &h, phrase, sizeof phrase);
    ok(strstr(phrase, "partner.example runs about 9 minutes fast") != NULL, "phrase: %s",
       phrase);
    h.offset = -30;
    itip_skew_phrase("partner.example", &h, phrase, sizeof phrase);
    ok(strstr(phrase, "within a minute") != NULL, "phrase: %s", phrase);
    h.offset = -299;
    is_int(itip_hostskew_encode(&h, &buf, &len), 0, "host record encodes");
    ok(itip_hostskew_decode(buf, len, &d) == 0 && d.offset == -299 && d.samples == h.samples,
       "and decodes");
    ok(itip_hostskew_decode(buf, len - 1, &d) == -1 && d.samples == 0, "truncated: rejected");
    free(buf);
}

static void test_keys(void)
{
    static const char org[] = "olivia@example.com";
    char k1[ITIP_KEY_BUF], k2[ITIP_KEY_BUF], uid[2000], rid[ITIP_REC_MAX_RID + 2];
    char longorg[ITIP_REC_MAX_ADDR + 1];

    is_str(itip_meeting_key(k1, "abc@example.com", "", org),
           "m2:olivia@example.com\n\nabc@example.com", "series key: organiser, rid, UID");
    is_str(itip_meeting_key(k1, "abc", "20260617T090000Z", "Olivia@Example.COM"),
           "m2:olivia@example.com\n20260617T090000Z\nabc", "instance key, organiser lower-case");
    is_str(itip_meeting_key(k1, "abc", NULL, org), "m2:olivia@example.com\n\nabc",
           "a NULL rid is the series");
    itip_meeting_key(k2, "abc", "", "mallory@evil.example");
    ok(strcmp(k1, k2) != 0, "the same UID of another organiser is another record");
    ok(itip_meeting_key(k1, "abc", "", NULL) == NULL && itip_meeting_key(k1, "abc", "", "") ==
       NULL, "no organiser: no key");
    ok(itip_meeting_key(k1, "abc", "", "olivia@example.com\n") == NULL &&
       itip_meeting_key(k1, "abc", "2026\n", org) == NULL,
       "a line feed in the organiser or rid: no key");
    memset(rid, '1', sizeof rid - 1);
    rid[sizeof rid - 1] = '\0';
    memset(longorg, 'o', sizeof longorg - 1);
    longorg[sizeof longorg - 1] = '\0';
    longorg[10] = '@';
    ok(itip_meeting_key(k1, "abc", rid, org) == NULL, "a rid beyond %d bytes: no key",
       ITIP_REC_MAX_RID);
    ok(itip_meeting_key(k1, "abc", "", longorg) != NULL, "a %zu-byte organiser has a key",
       strlen(longorg));
    {
        char over[ITIP_REC_MAX_ADDR + 2];
        memset(over, 'o', sizeof over - 1);
        over[sizeof over - 1] = '\0';
        over[10] = '@';
        ok(itip_meeting_key(k1, "abc", "", over) == NULL, "an organiser beyond %d bytes: no key",
           ITIP_REC_MAX_ADDR);
    }
    /* the UID comes last: a line feed in it cannot move it into another organiser's space */
    itip_meeting_key(k1, "u\n\nolivia@example.com", "", "mallory@evil.example");
    ok(strncmp(k1, "m2:mallory@evil.example\n\n", strlen("m2:mallory@evil.example\n\n")) == 0,
       "a crafted UID stays in its own organiser's keys");
    ok(strncmp(itip_meeting_key(k1, "abc", "", org), "m:", 2) != 0 &&
       strncmp(k1, "m#", 2) != 0, "never a key of the former scheme (m: / m#)");
    is_str(itip_host_key(k1, "Partner.Example"), "h:partner.example", "host key, lower-case");
    memset(uid, 'x', sizeof uid - 1);
    uid[sizeof uid - 1] = '\0';
    itip_meeting_key(k1, uid, "", org);
    ok(strncmp(k1, "m2#olivia@example.com\n\n", strlen("m2#olivia@example.com\n\n")) == 0 &&
       strlen(k1) < ITIP_KEY_PLAIN_MAX, "a long UID is hashed, the organiser stays in clear: %s",
       k1 + strlen("m2#olivia@example.com\n\n"));
    itip_meeting_key(k2, uid, "", "mallory@evil.example");
    ok(strcmp(k1 + 3 + strlen(org), k2 + 3 + strlen("mallory@evil.example")) == 0 &&
       strcmp(k1, k2) != 0, "so a UID hashing alike under another organiser is another key");
    uid[1000] = 'y';
    itip_meeting_key(k2, uid, "", org);
    ok(strcmp(k1, k2) != 0, "one changed byte gives another key");
    uid[1000] = 'x';
    itip_meeting_key(k2, uid, "", org);
    is_str(k2, k1, "the same UID gives the same key");
    rid[ITIP_REC_MAX_RID] = '\0';
    ok(itip_meeting_key(k1, uid, rid, longorg) != NULL && strlen(k1) < ITIP_KEY_BUF,
       "the longest hashed key fits (%zu bytes)", strlen(k1));
}

/* ---- through the engine, with a real store ---- */

typedef struct {
    itip_config *cfg;
    itip_store *st;
    char dir[256];
} env;

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *x;
    char path[512];

    while (d != NULL && (x = readdir(d)) != NULL)
        if (strcmp(x->d_name, ".") && strcmp(x->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, x->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

static int env_open(env *v)
{
    itip_state_config sc;
    char err[512];

    v->cfg = itip_config_default();
    snprintf(v->dir, sizeof v->dir, "%s/itip-record-XXXXXX",
             getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (v->cfg == NULL || mkdtemp(v->dir) == NULL)
        return -1;
    sc = v->cfg->state;
    sc.backend = (char *)"lmdb";
    sc.path = v->dir;
    v->st = itip_store_open(&sc, err, sizeof err);
    if (v->st == NULL)
        diag("LMDB store: %s", err);
    return v->st ? 0 : -1;
}

static void env_close(env *v)
{
    itip_store_close(v->st);
    rm_dir(v->dir);
    itip_config_free(v->cfg);
}

static char *stamp(long long t, char *buf)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(buf, 20, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

static const char *feed_rcpt;       /* an envelope recipient for the next feed_raw, or NULL */

/* One message through E: the From: and To: fields as written, method, UID, SEQUENCE (-1:
 * none), DTSTAMP, Date: offset, client, the ORGANIZER and ATTENDEE lines (PROPS); with BARE
 * the calendar alone, as itip-check reads an .ics file. */
static int feed_raw(itip_engine *e, const char *from, const char *to, const char *method,
                    const char *uid, int seq, long long dtstamp, long long date_off,
                    const char *client, const char *props, int bare)
{
    char msg[8192], ts[20], date[64], seqline[32] = "";
    time_t dt = (time_t)(dtstamp + date_off);
    struct tm tm;
    int n;

    gmtime_r(&dt, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    if (seq >= 0)
        snprintf(seqline, sizeof seqline, "SEQUENCE:%d\r\n", seq);
    n = bare ? 0 : snprintf(msg, sizeof msg,
                            "From: %s\r\nTo: %s\r\nDate: %s\r\nSubject: t\r\n"
                            "MIME-Version: 1.0\r\nContent-Type: text/calendar; method=%s\r\n"
                            "\r\n", from, to, date, method);
    snprintf(msg + n, sizeof msg - (size_t)n,
             "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nMETHOD:%s\r\n"
             "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:%s\r\nDTSTART:20260610T090000Z\r\n"
             "DTEND:20260610T100000Z\r\n%sSUMMARY:t\r\n%sEND:VEVENT\r\nEND:VCALENDAR\r\n",
             method, uid, stamp(dtstamp, ts), seqline, props);
    itip_engine_reset(e);
    itip_engine_set_now(e, (time_t)NOW);
    if (client)
        itip_engine_set_client(e, client);
    if (feed_rcpt != NULL)
        itip_engine_add_rcpt(e, feed_rcpt);
    feed_rcpt = NULL;
    if ((bare ? itip_engine_feed_ical(e, msg, strlen(msg)) : itip_engine_feed(e, msg, strlen(msg)))
        < 0 || itip_engine_finish(e) < 0)
        return -1;
    return itip_engine_record(e);
}

/* One message from FROM about olivia's meeting UID, bob its attendee. */
static int feed(itip_engine *e, const char *method, const char *from, const char *uid, int seq,
                long long dtstamp, long long date_off, const char *client)
{
    char addr[300], props[200];

    snprintf(addr, sizeof addr, "<%s>", from);
    snprintf(props, sizeof props, "ORGANIZER:mailto:olivia@example.com\r\n"
             "ATTENDEE;PARTSTAT=%s:mailto:bob@example.net\r\n",
             strcmp(method, "REPLY") == 0 ? "ACCEPTED" : "NEEDS-ACTION");
    return feed_raw(e, addr, "<x@example.org>", method, uid, seq, dtstamp, date_off, client,
                    props, 0);
}

static const itip_finding *find(const itip_engine *e, itip_rule_id rule, int *count)
{
    const itip_findings *f = itip_engine_findings(e);
    const itip_finding *first = NULL;
    size_t i;

    *count = 0;
    for (i = 0; i < f->n; i++)
        if (f->v[i].rule == rule) {
            if (first == NULL)
                first = &f->v[i];
            (*count)++;
        }
    return first;
}

static void test_engine_e4(env *v)
{
    itip_engine *e = itip_engine_new(v->cfg);
    const itip_finding *x;
    int n;

    itip_engine_set_store(e, v->st);
    feed(e, "REQUEST", "olivia@example.com", "e4@t", 2, NOW - 600, 0, NULL);
    feed(e, "CANCEL", "olivia@example.com", "e4@t", -1, NOW - 60, 0, NULL);
    x = find(e, ITIP_R_CANCEL_SEQUENCE_MISSING, &n);
    ok(n == 1 && x->severity == ITIP_SEV_DEGRADE && strstr(x->detail, "SEQUENCE 2") != NULL,
       "E4: one finding, raised to degrade by the state (%d: %s)", n, x ? x->detail : "none");
    feed(e, "REQUEST", "olivia@example.com", "e4b@t", 0, NOW - 600, 0, NULL);
    feed(e, "CANCEL", "olivia@example.com", "e4b@t", -1, NOW - 60, 0, NULL);
    x = find(e, ITIP_R_CANCEL_SEQUENCE_MISSING, &n);
    ok(n == 1 && x->severity == ITIP_SEV_INFO, "E4 after SEQUENCE 0: the stateless info only");
    itip_engine_free(e);
}

static void test_engine_skew(env *v)
{
    itip_engine *e = itip_engine_new(v->cfg);
    const itip_finding *x;
    itip_hostskew h;
    int n;

    itip_engine_set_store(e, v->st);
    /* example.net's clock is 5 minutes slow: two earlier messages tell */
    feed(e, "REQUEST", "olivia@example.com", "q202105@t", 0, NOW - 30, 0, NULL);
    feed(e, "REPLY", "bob@example.net", "other1@t", 0, NOW - 300, 0, NULL);
    feed(e, "REPLY", "bob@example.net", "other2@t", 0, NOW - 300, 0, NULL);
    feed(e, "REPLY", "bob@example.net", "q202105@t", 0, NOW - 300, 0, NULL);
    x = find(e, ITIP_R_REPLY_DTSTAMP_NOT_AFTER_REQUEST, &n);
    ok(x != NULL && strstr(x->detail, "5 minutes earlier") != NULL &&
       strstr(x->detail, "example.net runs about 5 minutes slow") != NULL,
       "C12b names the sender's skew: %s", x ? x->detail : "none");
    {   /* a UID far beyond the plain-key limit goes through the hashed key */
        char uid[1200];
        memset(uid, 'u', sizeof uid - 1);
        memcpy(uid + sizeof uid - 4, "@t", 3);
        feed(e, "REQUEST", "olivia@example.com", uid, 0, NOW - 30, 0, NULL);
        feed(e, "REPLY", "bob@example.net", uid, 0, NOW - 300, 0, NULL);
        x = find(e, ITIP_R_REPLY_DTSTAMP_NOT_AFTER_REQUEST, &n);
        ok(x != NULL, "C12b with a %zu-byte UID", strlen(uid));
    }
    /* D8 and C4 carry it too */
    feed(e, "REPLY", "bob@example.net", "other3@t", 0, NOW + 3600, 0, NULL);
    x = find(e, ITIP_R_REPLY_DTSTAMP_FUTURE_SKEW, &n);
    ok(x != NULL && strstr(x->detail, "example.net runs about") != NULL, "C4: %s",
       x ? x->detail : "none");
    feed(e, "REQUEST", "olivia@example.com", "other4@t", 0, NOW - 60, -7200, NULL);
    x = find(e, ITIP_R_DTSTAMP_VS_DATE_HEADER_SKEW, &n);
    ok(x != NULL && strstr(x->detail, "; example.com runs about 4 minutes slow (estimate over "
                           "6 messages)") != NULL, "D8: %s", x ? x->detail : "none");
    /* the client address wins over the From: domain */
    feed(e, "REPLY", "bob@example.net", "other5@t", 0, NOW - 120, 0, "192.0.2.7");
    ok(itip_record_get_host(v->st, "192.0.2.7", (time_t)NOW, &h) == 0 && h.samples == 1 &&
       h.offset == -120, "the client address is the host of the estimate");
    itip_engine_free(e);
}

static void test_engine_failure(env *v)
{
    itip_engine *e = itip_engine_new(v->cfg);
    const itip_finding *x;
    char path[512];
    int n, r;

    itip_engine_set_store(e, v->st);
    is_int(feed(e, "REQUEST", "olivia@example.com", "fail@t", 1, NOW - 60, 0, NULL), 0,
           "recording works");
    ok(itip_engine_state_note(e) == NULL, "no note while the store works");
    snprintf(path, sizeof path, "%s/data.mdb", v->dir);
    unlink(path);               /* the backend refuses a store whose file went away */
    r = feed(e, "CANCEL", "olivia@example.com", "fail@t", -1, NOW - 30, 0, NULL);
    ok(r == -1, "recording reports the failure");
    is_str(itip_engine_state_note(e), "state unavailable, stateful rules skipped", "the note");
    x = find(e, ITIP_R_CANCEL_SEQUENCE_MISSING, &n);
    ok(n == 1 && x->severity == ITIP_SEV_INFO,
       "stateful rules skipped (E4 stays info), the others ran");
    itip_engine_reset(e);
    ok(itip_engine_state_note(e) == NULL, "reset clears the note");
    itip_engine_set_store(e, NULL);
    is_int(feed(e, "REQUEST", "olivia@example.com", "fail@t", 0, NOW - 30, 0, NULL), 0,
           "without a store record does nothing");
    ok(itip_engine_state_note(e) == NULL, "and there is no note");
    itip_engine_free(e);
}

#define OLIVIA "ORGANIZER:mailto:olivia@example.com\r\n"
#define INVITE_BOB "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:bob@example.net\r\n"
#define BOB_ACCEPTS "ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.net\r\n"

/* REQUEST_SEQ of olivia's meeting UID as recorded (-1: no REQUEST recorded). */
static long long recorded_seq(env *v, const char *uid, const char *organizer)
{
    itip_meeting m;
    long long seq;

    if (itip_record_get_meeting(v->st, uid, "", organizer, (time_t)NOW, &m) != 0)
        return -1;
    seq = m.has_request ? m.req_seq : -1;
    itip_meeting_free(&m);
    return seq;
}

/* Whether E's last message had a finding of RULE. */
static int has(const itip_engine *e, itip_rule_id rule)
{
    int n;

    find(e, rule, &n);
    return n > 0;
}

static int has_stateful(const itip_engine *e)
{
    return has(e, ITIP_R_REPLY_SEQUENCE_STALE) || has(e, ITIP_R_REPLY_ATTENDEE_NOT_INVITED) ||
           has(e, ITIP_R_REPLY_DTSTAMP_NOT_MONOTONIC) ||
           has(e, ITIP_R_REPLY_DTSTAMP_NOT_AFTER_REQUEST) ||
           has(e, ITIP_R_REPLY_SEQUENCE_MISSING);
}

static void test_engine_binding(env *v)
{
    itip_engine *e = itip_engine_new(v->cfg);
    const char *u = "bind@t";

    itip_engine_set_store(e, v->st);
    feed_raw(e, "Olivia <olivia@example.com>", "<bob@example.net>", "REQUEST", u, 0, NOW - 900,
             0, NULL, OLIVIA INVITE_BOB, 0);
    is_int((int)recorded_seq(v, u, "olivia@example.com"), 0, "the organiser's REQUEST is recorded "
           "under UID + organiser");

    /* a third party's REQUEST naming olivia as organiser: checked, not recorded */
    feed_raw(e, "<mallory@evil.example>", "<bob@example.net>", "REQUEST", u, 5, NOW - 800, 0,
             NULL, OLIVIA "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:mallory@evil.example\r\n", 0);
    is_int((int)recorded_seq(v, u, "olivia@example.com"), 0,
           "a forged REQUEST naming the organiser is not recorded");
    /* ... and one naming itself: its own record, not olivia's */
    feed_raw(e, "<mallory@evil.example>", "<bob@example.net>", "REQUEST", u, 9, NOW - 700, 0,
             NULL, "ORGANIZER:mailto:mallory@evil.example\r\n"
             "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:mallory@evil.example\r\n", 0);
    ok(recorded_seq(v, u, "mallory@evil.example") == 9 &&
       recorded_seq(v, u, "olivia@example.com") == 0,
       "a third party's REQUEST for the same UID lands under its own organiser");
    /* From: fields a forger could make us misread */
    feed_raw(e, "\"<olivia@example.com>\" <mallory@evil.example>", "<bob@example.net>",
             "REQUEST", u, 6, NOW - 650, 0, NULL, OLIVIA INVITE_BOB, 0);
    feed_raw(e, "olivia@example.com (x), mallory@evil.example", "<bob@example.net>", "REQUEST",
             u, 6, NOW - 650, 0, NULL, OLIVIA INVITE_BOB, 0);
    feed_raw(e, "(olivia@example.com) <mallory@evil.example>", "<bob@example.net>", "REQUEST",
             u, 6, NOW - 650, 0, NULL, OLIVIA INVITE_BOB, 0);
    feed_raw(e, "Olivia <olivia@example.com", "<bob@example.net>", "REQUEST", u, 6, NOW - 650,
             0, NULL, OLIVIA INVITE_BOB, 0);
    is_int((int)recorded_seq(v, u, "olivia@example.com"), 0, "a quoted or commented address, "
           "two mailboxes, an open bracket in From: record nothing");
    /* a forged REPLY for bob with a late DTSTAMP: not recorded */
    feed_raw(e, "<mallory@evil.example>", "<olivia@example.com>", "REPLY", u, 0, NOW - 10, 0,
             NULL, OLIVIA BOB_ACCEPTS, 0);
    /* bob's own REPLY gets nothing the third party seeded */
    feed_raw(e, "Bob <bob@example.net>", "<olivia@example.com>", "REPLY", u, 0, NOW - 600, 0,
             NULL, OLIVIA BOB_ACCEPTS, 0);
    ok(!has_stateful(e), "bob's REPLY to olivia: no stateful finding from the third party");
    feed_raw(e, "Bob <bob@example.net>", "<olivia@example.com>", "REPLY", u, 0, NOW - 600, 0,
             NULL, OLIVIA BOB_ACCEPTS, 0);
    ok(has(e, ITIP_R_REPLY_DTSTAMP_NOT_MONOTONIC), "but bob's own REPLY was recorded");

    /* a delegate of another domain named by SENT-BY */
    feed_raw(e, "<assistant@agency.example>", "<bob@example.net>", "REQUEST", u, 1, NOW - 500,
             0, NULL, "ORGANIZER;SENT-BY=\"mailto:assistant@agency.example\":"
             "mailto:olivia@example.com\r\n" INVITE_BOB, 0);
    is_int((int)recorded_seq(v, u, "olivia@example.com"), 1, "SENT-BY: the delegate's update "
           "is recorded");
    /* same domain as the organiser, another mailbox */
    feed_raw(e, "<secretary@EXAMPLE.com>", "<bob@example.net>", "REQUEST", u, 2, NOW - 450, 0,
             NULL, OLIVIA INVITE_BOB, 0);
    is_int((int)recorded_seq(v, u, "olivia@example.com"), 2, "the organiser's domain may "
           "update (case-insensitive)");

    /* a REPLY without ORGANIZER: looked up under its recipients */
    feed_raw(e, "<bob@example.net>", "Olivia <olivia@example.com>", "REPLY", u, 1, NOW - 400, 0,
             NULL, BOB_ACCEPTS, 0);
    ok(has(e, ITIP_R_REPLY_SEQUENCE_STALE), "a REPLY without ORGANIZER is compared with the "
       "record of its To: address");
    itip_engine_reset(e);
    feed_raw(e, "<bob@example.net>", "<someone@example.org>", "REPLY", u, 1, NOW - 400, 0, NULL,
             BOB_ACCEPTS, 0);
    ok(!has(e, ITIP_R_REPLY_SEQUENCE_STALE), "... and with nobody else's");
    feed_rcpt = "<Olivia@example.com>";
    feed_raw(e, "<bob@example.net>", "<someone@example.org>", "REPLY", u, 1, NOW - 400, 0, NULL,
             BOB_ACCEPTS, 0);
    ok(has(e, ITIP_R_REPLY_SEQUENCE_STALE), "... or of its envelope recipient (the milter)");

    /* bare iCalendar (itip-check on an .ics file): the operator's own, recorded */
    feed_raw(e, NULL, NULL, "REQUEST", "bare@t", 3, NOW - 300, 0, NULL, OLIVIA INVITE_BOB, 1);
    is_int((int)recorded_seq(v, "bare@t", "olivia@example.com"), 3,
           "a bare iCalendar REQUEST is recorded");
    itip_engine_free(e);
}

/* A record under the former key (UID + RECURRENCE-ID only) is never read. */
static void test_engine_old_keys(env *v)
{
    itip_engine *e = itip_engine_new(v->cfg);
    itip_obs o = request_obs("old@t", 7, NOW - 900, 0);
    itip_meeting m;
    char *buf = NULL;
    size_t len = 0;

    itip_meeting_init(&m);
    itip_meeting_apply(&m, &o, NOW - 900);
    itip_meeting_encode(&m, &buf, &len);
    ok(itip_store_put(v->st, "m:old@t\n", buf, len, (time_t)NOW) == 0,
       "a record under the former key");
    itip_engine_set_store(e, v->st);
    feed_raw(e, "<bob@example.net>", "<olivia@example.com>", "REPLY", "old@t", 0, NOW - 600, 0,
             NULL, OLIVIA BOB_ACCEPTS, 0);
    ok(!has(e, ITIP_R_REPLY_SEQUENCE_STALE) && !has_stateful(e),
       "is not read: a REPLY to that meeting gets no stateful finding");
    is_int((int)recorded_seq(v, "old@t", "olivia@example.com"), -1,
           "nor migrated (it expires after state.ttl)");
    free(buf);
    itip_obs_free(&o);
    itip_meeting_free(&m);
    itip_engine_free(e);
}

int main(void)
{
    env v;

    test_apply();
    test_caps();
    test_crowding();
    test_roundtrip();
    test_garbage();
    test_skew();
    test_keys();
    memset(&v, 0, sizeof v);
    if (env_open(&v) < 0) {
        ok(0, "an LMDB store in a temporary directory");
    } else {
        test_engine_e4(&v);
        test_engine_skew(&v);
        test_engine_binding(&v);
        test_engine_old_keys(&v);
        test_engine_failure(&v);
    }
    env_close(&v);
    return done_testing();
}
