/*
 * tnef.h - a small, bounded reader of TNEF streams (application/ms-tnef, winmail.dat).
 *
 * Follows MS-OXTNEF: a 32-bit signature 0x223E9F78, a 16-bit legacy key, then attributes of
 * level (1 byte), id (32 bits: type in the high word), length (32 bits), data and a 16-bit
 * checksum (the sum of the data bytes).  Only the top-level message is read: its class
 * (PR_MESSAGE_CLASS from attMAPIProps, else the legacy attMessageClass), the dates of
 * attDateStart / attDateEnd, and the few meeting properties of attMAPIProps the rules use.
 * Attachment attributes are checksummed and skipped; embedded messages are never entered, so
 * there is no recursion at all.  Every length is checked against the bytes left, counts are
 * capped, and the first problem (truncation, bad checksum, malformed property list) is kept
 * with a one-line description.  Pure function of the bytes: no allocation, thread-safe.
 */
#ifndef ITIP_TNEF_H
#define ITIP_TNEF_H

#include <stddef.h>
#include <stdint.h>

#define ITIP_TNEF_SIGNATURE 0x223E9F78u
#define ITIP_TNEF_MAX_ATTRS 10000   /* attributes read; more is a problem (ITIP_TNEF_LIMIT) */
#define ITIP_TNEF_MAX_PROPS 10000   /* MAPI properties of one attMAPIProps */
#define ITIP_TNEF_MAX_VALUES 100000 /* values of one multi-valued property */
#define ITIP_TNEF_GOID_KEEP 256     /* leading bytes of a GlobalObjectId kept (checks, UID) */

typedef enum {
    ITIP_TNEF_OK = 0,
    ITIP_TNEF_NOT_TNEF,         /* no signature: not a TNEF stream at all */
    ITIP_TNEF_TRUNCATED,        /* an attribute or property runs past the end of the data */
    ITIP_TNEF_BAD_CHECKSUM,     /* an attribute's checksum does not match its data */
    ITIP_TNEF_BAD_PROPS,        /* attMAPIProps does not parse (unknown type, bad count) */
    ITIP_TNEF_LIMIT             /* more attributes, properties or values than the caps */
} itip_tnef_status;

typedef struct {
    int have;
    uint64_t ft;                /* FILETIME: 100 ns ticks since 1601-01-01T00:00:00Z */
} itip_tnef_time;

typedef struct {
    int have;
    int year, month, day, hour, minute, second;
} itip_tnef_dtr;

typedef struct {
    int have;
    size_t len;                 /* full length of the value */
    unsigned char head[ITIP_TNEF_GOID_KEEP]; /* its first min(len, KEEP) bytes */
} itip_tnef_bin;

typedef struct {
    itip_tnef_status status;    /* the first problem met, ITIP_TNEF_OK when none */
    char problem[160];          /* that problem in words ("" when none) */
    char msg_class[96];         /* PR_MESSAGE_CLASS, else attMessageClass, else ""; non-ASCII
                                   bytes are '?' */
    int class_from_props;       /* msg_class came from PR_MESSAGE_CLASS */
    size_t nattrs, nprops;      /* attributes and top-level MAPI properties read */
    itip_tnef_bin goid;         /* PidLidGlobalObjectId */
    itip_tnef_bin clean_goid;   /* PidLidCleanGlobalObjectId */
    itip_tnef_time attendee_cc; /* PidLidAttendeeCriticalChange */
    itip_tnef_time owner_cc;    /* PidLidOwnerCriticalChange */
    itip_tnef_time start_whole, end_whole;  /* PidLidAppointmentStartWhole / EndWhole */
    itip_tnef_time clip_start, clip_end;    /* PidLidClipStart / ClipEnd (recurrence range) */
    itip_tnef_time pr_start, pr_end;        /* PR_START_DATE / PR_END_DATE */
    int have_sequence;          /* PidLidAppointmentSequence (PtypInteger32) */
    int32_t sequence;
    itip_tnef_dtr date_start, date_end;     /* attDateStart / attDateEnd */
} itip_tnef;

/* Reads LEN bytes at BUF into *T (cleared first).  Returns T->status.  Reading goes on after a
 * bad checksum (the data is still bounded), and stops at the first truncation. */
itip_tnef_status itip_tnef_read(const void *buf, size_t len, itip_tnef *t);

/* Meeting kinds of a message class (MS-OXOCAL 2.2.6 and the legacy attMessageClass
 * spellings of MS-OXTNEF 2.1.3.3.1: IPM.Microsoft Schedule.MtgReq, .MtgRespP, ...). */
typedef enum {
    ITIP_TNEF_NOT_MEETING = 0,
    ITIP_TNEF_MTG_REQUEST,      /* IPM.Schedule.Meeting.Request, ...MtgReq */
    ITIP_TNEF_MTG_RESPONSE,     /* IPM.Schedule.Meeting.Resp.Pos/Neg/Tent, ...MtgRespP/N/A */
    ITIP_TNEF_MTG_CANCEL,       /* IPM.Schedule.Meeting.Canceled, ...MtgCncl */
    ITIP_TNEF_MTG_OTHER         /* another IPM.Schedule.Meeting.* (Notification.Forward) */
} itip_tnef_meeting;

itip_tnef_meeting itip_tnef_meeting_kind(const char *msg_class);

/* Why a GlobalObjectId value is not one (MS-OXOCAL 2.2.1.27: the 16-byte Byte Array ID, instance
 * date, creation time, 8 reserved bytes, a 32-bit size and that many data bytes), or NULL. */
const char *itip_tnef_goid_problem(const itip_tnef_bin *b);

/* The calendar date of a FILETIME, for messages ("YYYY-MM-DDTHH:MM:SSZ"); BUF of >= 24. */
char *itip_tnef_ft_text(uint64_t ft, char *buf, size_t len);

/* FILETIMEs of 4500-09-01T00:00:00Z, just past the last moment Outlook represents, and of
 * 4501-01-01T00:00:00Z, Outlook's "none" sentinel. */
#define ITIP_TNEF_FT_PAST_4500 0x0CB2E5796D77C000ull
#define ITIP_TNEF_FT_4501 0x0CB34557A3DD4000ull

#endif
