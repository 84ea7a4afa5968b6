/*
 * mime.h - the streaming MIME walker.
 *
 * Fed a whole RFC 5322 message (header block, blank line, body) as bytes in chunks of any size,
 * split anywhere, NULs included.  It walks nested multiparts and message/rfc822 parts, keeps
 * only calendar parts (decoded, converted to UTF-8, capped), remembers a few top-level headers,
 * and scans everything else without storing it.  The result does not depend on the chunking.
 * Every limit (itip_limits) that is reached adds one `mime-limit-exceeded` finding to the
 * findings list given at creation; the walker never crashes or truncates silently.
 * Knows nothing about iCalendar.  Not thread-safe: one walker per message.
 */
#ifndef ITIP_MIME_H
#define ITIP_MIME_H

#include <stddef.h>
#include "base/config.h"
#include "base/findings.h"
#include "mime/decode.h"

typedef struct {
    char *media_type;         /* lower-case "type/subtype" as declared */
    char *method_param;       /* Content-Type method= value as given, or NULL */
    char *charset;            /* Content-Type charset= value, or NULL */
    char *filename;           /* filename= (Content-Disposition) or name= (Content-Type),
                                 RFC 2231 / RFC 2047 decoded to UTF-8, or NULL */
    int disposition_attachment; /* Content-Disposition: attachment */
    int encapsulated;         /* inside a message/rfc822 part */
    int by_type;              /* 1: recognised by media type; 0: only by file name */
    int depth;                /* nesting depth: 0 = the message itself is the part */
    int in_signed;            /* inside a multipart/signed (its content is signed) */
    itip_cte cte;
    char *data;               /* decoded and UTF-8, NUL-terminated; len excludes the NUL */
    size_t len;
    int truncated;            /* decoded size passed max_calendar_part_size */
    size_t decode_errors;     /* invalid base64 / quoted-printable sequences */
    int charset_failed;       /* unknown charset or invalid bytes: data is unconverted */
    size_t nul_bytes;         /* NUL bytes removed from data (libical reads a C string: the
                                 analysis sees the whole part, not the text before a NUL) */
    unsigned long long body_start, body_end; /* offsets of the encoded body in the stream */
    unsigned long long hdr_start; /* offset of the part's header block (0: the message's) */
    int tnef;                 /* a TNEF part (itip_mime_is_tnef): data is the decoded bytes,
                                 not converted, NULs kept; kept apart from calendar parts */
} itip_calpart;

/* Authentication-Results fields kept, from the top of the header block: the ones this site's
 * own verifiers wrote sit above any that came with the message. */
#define ITIP_MAX_AUTHRES 8

typedef struct {              /* top-level headers, unfolded, first occurrence, or NULL */
    char *from, *sender, *to, *date, *subject, *message_id, *x_mailer, *content_class;
    char *return_path, *delivered_to, *x_original_to;   /* the envelope as a store wrote it */
    char *auto_submitted;     /* RFC 3834: no notice goes back to such a message */
    char *x_mimeole;          /* "Produced By Microsoft Exchange V6.5": Exchange 2003 */
    char *auth_results[ITIP_MAX_AUTHRES];                /* every occurrence, topmost first */
    size_t n_auth_results;
    char **content_ids;       /* Content-ID of every entity (any depth), as written */
    size_t n_content_ids;
} itip_msghdrs;

/* Where the envelope of a message came from.  The envelope rules (reply-not-to-organizer,
 * request-recipient-not-attendee, organizer-not-sender's envelope-sender test) run only when
 * it is known. */
typedef enum {
    ITIP_ENV_NONE = 0,      /* no envelope: a stored message without delivery headers, .ics */
    ITIP_ENV_HEADERS,       /* Return-Path, Delivered-To, X-Original-To of a stored message */
    ITIP_ENV_GIVEN          /* from the MTA (the milter) or itip-check --mail-from/--rcpt-to */
} itip_envelope;

typedef struct itip_mime itip_mime;

/* lim and out must outlive the walker.  NULL when out of memory. */
itip_mime *itip_mime_new(const itip_limits *lim, itip_findings *out);
void itip_mime_free(itip_mime *m);

/* Feed the next chunk; returns 0, or -1 when out of memory (the walker is then unusable). */
int itip_mime_feed(itip_mime *m, const void *buf, size_t len);
/* End of input: flushes the last line and closes open parts.  0 or -1 (out of memory). */
int itip_mime_finish(itip_mime *m);

size_t itip_mime_calpart_count(const itip_mime *m);
const itip_calpart *itip_mime_calpart(const itip_mime *m, size_t i);
/* TNEF parts (application/ms-tnef, winmail.dat), kept like calendar parts, under the same
 * max_calendar_part_size and max_calendar_parts caps, but in their own list. */
size_t itip_mime_tnefpart_count(const itip_mime *m);
const itip_calpart *itip_mime_tnefpart(const itip_mime *m, size_t i);
size_t itip_mime_part_count(const itip_mime *m);          /* all parts seen, containers too */
const itip_msghdrs *itip_mime_headers(const itip_mime *m);
int itip_mime_headers_done(const itip_mime *m);           /* top-level header block complete */
/* True once nothing later in the stream can add a calendar part (for SMFIS_SKIP): the top
 * level is a non-calendar leaf, or the outermost multipart has closed. */
int itip_mime_rest_irrelevant(const itip_mime *m);

/* Removes the NUL bytes of P->data (P->len bytes, NUL-terminated after), counting them in
 * P->nul_bytes. */
void itip_calpart_strip_nul(itip_calpart *p);

/* Frees the strings of one part (used by the walker and by callers that build parts). */
void itip_calpart_clear(itip_calpart *p);

/* True if TYPE (lower-case) or FILENAME marks iCalendar data: text/calendar, application/ics,
 * text/x-vcalendar, or a name ending in .ics / .vcs (case-insensitive). */
int itip_mime_is_calendar(const char *type, const char *filename, int *by_type);

/* True if TYPE (lower-case) or FILENAME marks a TNEF stream: application/ms-tnef or
 * application/vnd.ms-tnef, or a file named winmail.dat (case-insensitive) under a type that is
 * not text, multipart or message. */
int itip_mime_is_tnef(const char *type, const char *filename);

#endif
