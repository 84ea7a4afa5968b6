/*
 * quar_msg.h - one held message as itip-quarantine sees it, whichever MTA holds it: the
 * envelope from the queue, the header block, and what our headers say.  Exports quar_item
 * and quar_list with their constructors, the header parser that recognises a message held
 * by itip-milter, the filters (--rule, --since, --sender), quar_parse_since(), and the reader
 * of Postfix's `postcat -e` output (quar_pcat_*: one message's section of it, its envelope
 * records, its header block as postcat -h delimits it).
 *
 * A message counts as held by itip-milter when its first <prefix>-Result header (prefix:
 * the configuration's header_prefix) says "quarantine": the milter removes forged copies of
 * that header, so a message held by something else never carries one.  Nothing here runs a
 * program or prints.
 */
#ifndef ITIP_QUAR_MSG_H
#define ITIP_QUAR_MSG_H

#include <stddef.h>
#include <time.h>

#define QUAR_ID_MAX 64          /* longer than any queue id either MTA makes */

typedef struct {
    char *id;                   /* queue id */
    time_t arrival;
    char *sender;               /* envelope sender, "" for the null sender */
    char **rcpts;               /* envelope recipients */
    size_t nrcpts;
    char *headers;              /* the header block as queued, lines ending in LF */
    char *path;                 /* Sendmail: the hf file; Postfix: NULL */
    char *reason;               /* Sendmail: the quarantine reason (q line), or NULL */
    /* from the header block (quar_item_parse_headers), unfolded, folds turned into spaces */
    char *subject;              /* RFC 2047 decoded, or NULL */
    char *from;                 /* the From field, RFC 2047 decoded, or NULL */
    char *result;               /* first <prefix>-Result value, or NULL */
    char **findings;            /* every <prefix>-Finding value */
    size_t nfindings;
} quar_item;

typedef struct {
    quar_item *v;
    size_t n, alloc;            /* items; room for (zero the list to start) */
} quar_list;

typedef struct {
    const char *rule;           /* --rule: a finding or a deciding rule of this id */
    int since_set;
    time_t since;               /* --since: arrived at or after */
    const char *sender;         /* --sender: envelope sender, case-insensitive */
} quar_filter;

/* A new, zeroed item at the end of L; NULL when out of memory. */
quar_item *quar_list_add(quar_list *l);
void quar_list_free(quar_list *l);                   /* idempotent */
void quar_item_clear(quar_item *it);                 /* idempotent */
/* Appends a copy of ADDR to the recipients.  0 or -1. */
int quar_item_add_rcpt(quar_item *it, const char *addr);

/* Fills subject, result and findings from it->headers.  0 or -1 (out of memory). */
int quar_item_parse_headers(quar_item *it, const char *prefix);
/* True if the item was held by itip-milter (see above); needs quar_item_parse_headers(). */
int quar_item_ours(const quar_item *it);
/* True if RULE is named by a finding header or among the deciding rules of the result. */
int quar_item_has_rule(const quar_item *it, const char *rule);
/* True if the item passes every filter that is set. */
int quar_item_match(const quar_item *it, const quar_filter *f);

/* True if ID has the shape of a Postfix or Sendmail queue id (letters and digits). */
int quar_id_valid(const char *id);

/* --since: "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]" or with 'T' (local time; a trailing 'Z'
 * means UTC), "@SECONDS" since the epoch, or an age "N" followed by s, m, h, d or w
 * (that long before NOW).  0, or -1 when malformed. */
int quar_parse_since(const char *s, time_t now, time_t *out);

/* One message's section of `postcat -e -h [-b] -q ID...` output.  postcat frames each message
 * with marker lines naming its queue file: "*** ENVELOPE RECORDS <queue>/<id> ***" (the
 * envelope records follow), "*** MESSAGE CONTENTS <path> ***" (the message text), "*** HEADER
 * EXTRACTED <path> ***" (the extracted envelope records), "*** MESSAGE FILE END <path> ***".
 * Without -b the text is the primary header, which never holds such a line (a header line
 * starts with a field name and a colon, or with a blank); with -b it is the whole message,
 * which may, so the section must then be the whole output and its text ends at the last
 * HEADER EXTRACTED marker. */
typedef struct {
    char queue[16];             /* the queue postcat found the file in: "hold", "active", ... */
    char id[QUAR_ID_MAX + 1];   /* the queue id of the section */
    const char *env, *xtra;     /* the envelope records; the extracted ones (pointers into */
    size_t envlen, xtralen;     /*   the output: valid while it is) */
    const char *text;           /* the message text as printed: lines ending in LF */
    size_t textlen;
    int complete;               /* every marker was found; else the file was cut short */
} quar_pcat;

/* Reads the section that starts at P (END: the end of the output; BODY: printed with -b,
 * see above).  Returns where the next section starts (END for the last one), having filled M;
 * NULL when P does not start with an envelope marker.  Without BODY a section that is cut
 * short (no end marker) ends at the next envelope marker; with BODY it is incomplete unless
 * the output ends with its end marker. */
const char *quar_pcat_next(const char *p, const char *end, int body, quar_pcat *m);
/* Sets IT's arrival, envelope sender and recipients from M's envelope records, for postcat
 * run with TZ=UTC0 (it prints times as asctime() of the local time).  0, or -1 when out of
 * memory. */
int quar_pcat_envelope(const quar_pcat *m, quar_item *it);
/* The length of the primary header block at the start of TEXT (LEN bytes, lines ending in
 * LF) as `postcat -h` delimits it: up to the first line that is neither a header field
 * (Postfix's is_header(): a name of printable ASCII, optional blanks, a colon) nor starts with
 * a blank. */
size_t quar_header_block_len(const char *text, size_t len);

#endif
