/*
 * test_record.c - the records of the stateful rules (record.h): merging, the byte form and its
 * rejection of damaged values, keys, the clock-skew estimate; and, through the engine with a
 * real LMDB store in a temporary directory, what only shows across messages: the combined E4
 * finding, the skew estimate in finding details, the client address as the host, and the note
 * when the store fails.
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
    char k1[ITIP_KEY_BUF], k2[ITIP_KEY_BUF], uid[2000];

    is_str(itip_meeting_key(k1, "abc@example.com", ""), "m:abc@example.com\n", "series key");
    is_str(itip_meeting_key(k1, "abc", "20260617T090000Z"), "m:abc\n20260617T090000Z",
           "instance key");
    is_str(itip_host_key(k1, "Partner.Example"), "h:partner.example", "host key, lower-case");
    memset(uid, 'x', sizeof uid - 1);
    uid[sizeof uid - 1] = '\0';
    itip_meeting_key(k1, uid, "");
    ok(strncmp(k1, "m#", 2) == 0 && strlen(k1) < ITIP_KEY_PLAIN_MAX, "a long UID is hashed: %s",
       k1);
    uid[1000] = 'y';
    itip_meeting_key(k2, uid, "");
    ok(strcmp(k1, k2) != 0, "one changed byte gives another key");
    uid[1000] = 'x';
    itip_meeting_key(k2, uid, "");
    is_str(k2, k1, "the same UID gives the same key");
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

/* One message through E: method, sender, UID, SEQUENCE (-1: none), DTSTAMP, Date: offset. */
static int feed(itip_engine *e, const char *method, const char *from, const char *uid, int seq,
                long long dtstamp, long long date_off, const char *client)
{
    char msg[8192], ts[20], date[64], seqline[32] = "";
    time_t dt = (time_t)(dtstamp + date_off);
    struct tm tm;

    gmtime_r(&dt, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    if (seq >= 0)
        snprintf(seqline, sizeof seqline, "SEQUENCE:%d\r\n", seq);
    snprintf(msg, sizeof msg,
             "From: <%s>\r\nTo: <x@example.org>\r\nDate: %s\r\nSubject: t\r\n"
             "MIME-Version: 1.0\r\nContent-Type: text/calendar; method=%s\r\n\r\n"
             "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nMETHOD:%s\r\n"
             "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:%s\r\nDTSTART:20260610T090000Z\r\n"
             "DTEND:20260610T100000Z\r\n%sSUMMARY:t\r\nORGANIZER:mailto:olivia@example.com\r\n"
             "ATTENDEE;PARTSTAT=%s:mailto:bob@example.net\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
             from, date, method, method, uid, stamp(dtstamp, ts), seqline,
             strcmp(method, "REPLY") == 0 ? "ACCEPTED" : "NEEDS-ACTION");
    itip_engine_reset(e);
    itip_engine_set_now(e, (time_t)NOW);
    if (client)
        itip_engine_set_client(e, client);
    if (itip_engine_feed(e, msg, strlen(msg)) < 0 || itip_engine_finish(e) < 0)
        return -1;
    return itip_engine_record(e);
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
    ok(x != NULL && strstr(x->detail, "; example.com runs about 4 minutes slow (estimate over 6 messages)") != NULL, "D8: %s",
       x ? x->detail : "none");
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

int main(void)
{
    env v;

    test_apply();
    test_caps();
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
        test_engine_failure(&v);
    }
    env_close(&v);
    return done_testing();
}
