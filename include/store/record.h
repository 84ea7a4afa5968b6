/*
 * record.h - what the stateful rules keep per meeting and per sending host, its byte form in
 * the store, and the few store operations built on it (milter/store/record.c).
 *
 * A meeting record belongs to one organiser: it lives under the key of ORGANIZER address
 * (lower-cased) + RECURRENCE-ID + UID ("m2:<organizer>\n<rid>\n<uid>", rid empty for the
 * series; a key longer than ITIP_KEY_PLAIN_MAX keeps "m2#<organizer>\n<rid>\n" in clear and
 * replaces the UID by a 128-bit non-cryptographic hash plus its length, so that no UID, however
 * long or crafted, can reach another organiser's record).  The UID comes last because it is the
 * only part that may hold a line feed.  A host record lives under "h:<host>".
 *
 * Who may write a meeting record is decided by the caller (rules_state.c), not here: a REQUEST
 * or CANCEL is recorded only when the From: domain of its message is the domain of its
 * ORGANIZER (or of that ORGANIZER's SENT-BY), a REPLY or COUNTER only when it is the domain of
 * its ATTENDEE (or SENT-BY).  So a third party's REQUEST for someone else's UID, whatever
 * ORGANIZER it names, is checked but never recorded, and cannot make a later REPLY to the real
 * organiser raise findings.  Domain, not address: the From: domain is what DMARC authenticates
 * upstream, and delegates and shared mailboxes send from the organiser's domain.  Not stopped:
 * a forged From: that no DMARC/DKIM check upstream refuses, and any sender of the organiser's
 * own domain.  An observation whose organizer is NULL is never recorded.
 *
 * Records of the former scheme (keys "m:<uid>\n<rid>" and "m#...", written by any sender) are
 * not migrated but abandoned: nothing reads those keys any more, so they expire after
 * state.ttl (Redis by itself; LMDB by its purge, and they are the first evicted when the file
 * is full, as they expire soonest).  Migrating on read would carry exactly the records a third
 * party may have seeded into the new scheme; abandoning them only costs the stateful findings on
 * meetings last seen before the upgrade, for at most state.ttl.  The byte form is unchanged
 * (ITIP_RECORD_VERSION 1) and so are host records, which the change does not concern.
 *
 * The byte form is versioned and bounded (the ITIP_REC_MAX_* caps below); a stored value that
 * does not decode (other version, truncated, garbage) reads as absent and is overwritten by the
 * next write, it never stops mail.
 *
 * The store itself knows nothing of this (state.h).  Nothing here touches libical.
 */
#ifndef ITIP_RECORD_H
#define ITIP_RECORD_H

#include <stddef.h>
#include <time.h>
#include "store/state.h"

#define ITIP_RECORD_VERSION 1
#define ITIP_REC_MAX_ATTENDEES 200  /* attendees kept per meeting; beyond: att_truncated (an
                                       invitation first displaces one not invited) */
#define ITIP_REC_MAX_DELETED 100    /* deleted instances kept per series (the newest) */
#define ITIP_REC_MAX_ADDR 254       /* bytes of an address (RFC 5321 path limit) */
#define ITIP_REC_MAX_RID 40         /* bytes of a normalised RECURRENCE-ID */
#define ITIP_REC_MAX_HOST 255       /* bytes of a host name or address */
#define ITIP_REC_MAX_PARTSTAT 32    /* bytes of a PARTSTAT token */
#define ITIP_KEY_PLAIN_MAX 200      /* longer keys are hashed (LMDB keys max 511 bytes) */
#define ITIP_KEY_BUF 384            /* room for any key this file makes (a hashed meeting key
                                       keeps the organiser and rid in clear: at most 352) */

/* What E3 compares between two versions of a meeting, one 64-bit hash per field (an absent
 * property hashes to a fixed value). */
enum {
    ITIP_DIG_DTSTART, ITIP_DIG_DTEND, ITIP_DIG_RRULE, ITIP_DIG_EXDATE, ITIP_DIG_LOCATION,
    ITIP_DIG_ATTENDEES, ITIP_DIG_COUNT
};
extern const char *const itip_digest_names[ITIP_DIG_COUNT];   /* "DTSTART", ... "attendee set" */

typedef struct {
    char *addr;                 /* lower-case address, no mailto: */
    int invited;                /* named by a REQUEST of the current SEQUENCE */
    char *partstat;             /* last PARTSTAT of a REPLY/COUNTER, or NULL */
    long long reply_dtstamp;    /* DTSTAMP of the newest REPLY/COUNTER, 0 when none */
} itip_rec_attendee;

typedef struct {
    char *rid;                  /* normalised RECURRENCE-ID (see itip_obs.rid) */
    int cancelled;              /* 1: a CANCEL named it; 0: an EXDATE of the newest REQUEST */
} itip_rec_instance;

/* One meeting of one organiser: ORGANIZER + UID + RECURRENCE-ID.  Times are seconds since the
 * epoch; 0 means unknown. */
typedef struct {
    long long first_seen, last_seen;     /* our clock */
    int has_request;                     /* a REQUEST was recorded */
    long long req_seq;                   /* highest REQUEST SEQUENCE */
    long long req_dtstamp;               /* newest DTSTAMP among REQUESTs with req_seq */
    long long req_owner_cc;              /* its X-MICROSOFT-CDO-OWNER-CRITICAL-CHANGE, or 0 */
    unsigned long long digest[ITIP_DIG_COUNT]; /* of the newest REQUEST with req_seq */
    int has_cancel;                      /* a CANCEL was recorded */
    long long cancel_seq;                /* highest CANCEL SEQUENCE (0 when it had none) */
    char *organizer;                     /* lower-case address (the key's), or NULL */
    itip_rec_attendee *att;
    size_t natt;
    int att_truncated;                   /* the invitation named more than the cap */
    itip_rec_instance *del;              /* deleted instances (series record only) */
    size_t ndel;
} itip_meeting;

/* The running clock-skew estimate of one sending host. */
typedef struct {
    long long offset;           /* seconds: the host's clock minus ours (positive: fast) */
    long samples;               /* messages that went into it */
    long long last_seen;
} itip_hostskew;

/* What one component of a passing message contributes to its meeting record. */
typedef enum { ITIP_OBS_REQUEST = 1, ITIP_OBS_CANCEL, ITIP_OBS_REPLY } itip_obs_kind;

typedef struct {
    itip_obs_kind kind;         /* REPLY also stands for COUNTER */
    char *uid;
    char *rid;                  /* "" for the series; else the RECURRENCE-ID in UTC
                                   ("20260101T100000Z"), or as written when floating/DATE */
    int has_seq;                /* SEQUENCE (or X-MICROSOFT-CDO-APPT-SEQUENCE) present */
    long long seq;              /* effective SEQUENCE; 0 when absent */
    long long dtstamp;          /* 0 when missing or unusable */
    long long owner_cc;         /* X-MICROSOFT-CDO-OWNER-CRITICAL-CHANGE, or 0 */
    unsigned long long digest[ITIP_DIG_COUNT]; /* REQUEST */
    char *organizer;            /* lower-case: the organiser whose record it is looked up and
                                   recorded under (for a REPLY without ORGANIZER, the recipient
                                   whose record was found); NULL: never recorded */
    char **addrs;               /* REQUEST: the invited; REPLY: the one replying */
    size_t naddrs;
    int addrs_truncated;
    char *partstat;             /* REPLY: its PARTSTAT, or NULL */
    char **exdates;             /* REQUEST of the series: normalised EXDATEs */
    size_t nexdates;
} itip_obs;

/* Learned legacy organizers (issue 15): a domain whose organizer sent a REQUEST or CANCEL
 * written by CDO / Exchange 2003 is kept under "lg:<domain>" as "SINCE HOW" (our clock when it
 * was first learned, and the METHOD that taught it), and the meeting's UID under
 * "lu:<64-bit hash of the UID>:<length>" as the domain, each with the store's ttl (renewed by
 * every later such message).  The first learning time is kept. */
typedef struct {
    long long since;            /* first learned (seconds since the epoch) */
    char how[16];               /* "REQUEST", "CANCEL", ... */
    char domain[ITIP_REC_MAX_ADDR + 1];
} itip_legacy;
/* The stateful side of one message, shared by the engine (which looks up the sender's skew
 * estimate before the rules run and records afterwards) and rules_state.c (which checks each
 * component against its record and queues what it may record).  Bounded: at most
 * ITIP_STATE_MAX_COMPONENTS components per calendar part are looked up, each under at most
 * ITIP_STATE_MAX_ORGS organisers (more than one only for a REPLY without ORGANIZER, looked up
 * under its recipients), and at most ITIP_STATE_MAX_OBS observations per message are queued. */
#define ITIP_STATE_MAX_COMPONENTS 8
#define ITIP_STATE_MAX_ORGS 3
#define ITIP_STATE_MAX_OBS 32
typedef struct itip_statework {
    itip_obs obs[ITIP_STATE_MAX_OBS];
    size_t nobs;
    int failed;                 /* a store operation failed: stateful rules are skipped */
    char *skew_host;            /* the sending host (client address or From: domain), or NULL */
    int skew_known;             /* skew holds an estimate from earlier messages */
    itip_hostskew skew;
    int has_sample;             /* sample: the first usable DTSTAMP of the message minus our */
    long long sample;           /* clock (else the engine takes the Date: header) */
    /* learned legacy organizers: the last answer looked up (per domain or UID) ... */
    char legacy_asked[ITIP_REC_MAX_ADDR + 1];
    int legacy_found;           /* ... and whether it was found (legacy then holds it) */
    int legacy_used;            /* the last itip_target_is_legacy() answer came from it */
    itip_legacy legacy;
    /* ... and what this message teaches, recorded with the rest when it is let through */
    char *learn_domain, *learn_uid;
    char learn_how[16];
} itip_statework;

void itip_meeting_init(itip_meeting *m);
void itip_meeting_free(itip_meeting *m);          /* frees the members; safe twice */
void itip_obs_free(itip_obs *o);                  /* frees the members; safe twice */

/* The attendee entry of ADDR (case-insensitive), or NULL. */
const itip_rec_attendee *itip_meeting_attendee(const itip_meeting *m, const char *addr);
/* True if RID is in the deleted instances of M; *cancelled tells by which. */
int itip_meeting_deleted(const itip_meeting *m, const char *rid, int *cancelled);

/* Applies O to M (creating nothing else), stamped with our clock NOW.  0, or -1 when out of
 * memory (M then stays valid but may miss part of O). */
int itip_meeting_apply(itip_meeting *m, const itip_obs *o, time_t now);
/* Adds RID to the deleted instances of a series record (a CANCEL of one instance). */
int itip_meeting_add_deleted(itip_meeting *m, const char *rid, int cancelled, time_t now);

/* Byte form.  encode: 0 with a malloc'ed buffer, -1 when out of memory.  decode: 0, or -1
 * when BUF is not a valid record of this version (M is then empty), -2 out of memory. */
int itip_meeting_encode(const itip_meeting *m, char **out, size_t *len);
int itip_meeting_decode(const char *buf, size_t len, itip_meeting *m);
int itip_hostskew_encode(const itip_hostskew *h, char **out, size_t *len);
int itip_hostskew_decode(const char *buf, size_t len, itip_hostskew *h);

/* Folds one sample (seconds, the host's clock minus ours) into the estimate: a plain mean of
 * the first ITIP_SKEW_WINDOW samples, then an exponentially weighted mean with weight
 * 1/ITIP_SKEW_WINDOW, so that a host that fixed its clock is forgiven after a few dozen
 * messages.  A sample beyond ITIP_SKEW_SAMPLE_MAX either way is not a clock (a stale or
 * hand-made stamp) and is ignored. */
#define ITIP_SKEW_WINDOW 8
#define ITIP_SKEW_SAMPLE_MAX 43200
void itip_hostskew_add(itip_hostskew *h, long long sample, time_t now);

/* FNV-1a (64 bit) of N bytes, continuing from H (start with ITIP_HASH_INIT).  Not a
 * cryptographic hash: it tells versions of a meeting apart and shortens long keys. */
#define ITIP_HASH_INIT 0xcbf29ce484222325ULL
unsigned long long itip_hash64(const void *p, size_t n, unsigned long long h);

/* Keys into BUF (ITIP_KEY_BUF bytes).  Return BUF.  itip_meeting_key lower-cases ORGANIZER
 * and returns NULL (no key: nothing is looked up or recorded) when ORGANIZER is NULL, empty,
 * longer than ITIP_REC_MAX_ADDR or holds a control character, or when RID (NULL: the series)
 * is longer than ITIP_REC_MAX_RID or holds a line feed. */
char *itip_meeting_key(char *buf, const char *uid, const char *rid, const char *organizer);
char *itip_host_key(char *buf, const char *host);

/* Store operations.  lookups: 0 found (decoded into *out), 1 absent, expired, undecodable or
 * without a key, -1 store failure (or out of memory). */
int itip_record_get_meeting(itip_store *st, const char *uid, const char *rid,
                            const char *organizer, time_t now, itip_meeting *out);
int itip_record_get_host(itip_store *st, const char *host, time_t now, itip_hostskew *out);
/* Merges O into the meeting record of O's organizer (and, for a CANCEL of one instance, into
 * that organizer's series record); nothing when O has no organizer.  0, or -1 on store
 * failure. */
int itip_record_put_obs(itip_store *st, const itip_obs *o, time_t now);
/* Folds SAMPLE into the estimate of HOST; 0, or -1 on store failure. */
int itip_record_put_skew(itip_store *st, const char *host, long long sample, time_t now);

/* 0 found (into *OUT), 1 absent, -1 store failure. */
int itip_record_get_legacy(itip_store *st, const char *domain, time_t now, itip_legacy *out);
/* The domain learned for the meeting UID, then that domain's record: 0, 1 or -1. */
int itip_record_get_legacy_uid(itip_store *st, const char *uid, time_t now, itip_legacy *out);
/* Learns DOMAIN (and UID, when not NULL) from a message of METHOD HOW.  0, or -1. */
int itip_record_put_legacy(itip_store *st, const char *domain, const char *uid, const char *how,
                           time_t now);

/* One phrase about a host's estimate for finding details, such as "partner.example runs
 * about 9 minutes fast (estimate over 4 messages)"; into buf.  Returns buf. */
char *itip_skew_phrase(const char *host, const itip_hostskew *h, char *buf, size_t len);
/* "; " and that phrase for the sender of the message W belongs to, or "" when W is NULL or
 * has no estimate: for appending to a finding's detail.  Returns buf. */
char *itip_skew_note(const itip_statework *w, char *buf, size_t len);

#endif
