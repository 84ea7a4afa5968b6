/*
 * quar_digest.h - the postmaster's digest of what itip-milter holds (itip-quarantine digest),
 * and the maximum hold age (itip-quarantine expire).
 *
 * qd_build() loads every held message of ours once and orders it for the digest: the overdue
 * ones first (held longer than quarantine.digest_overdue; oldest first, whatever --since
 * says: a held message is never forgotten), then the others grouped by their first deciding
 * rule, oldest first.  The digest is written as text or JSON (quar_digest.c), as a
 * self-contained HTML page (quar_html.c), or mailed as both (quar_mail.c).  Every string from
 * a message goes through quar_text.c's escaping first (and HTML escaping in the page).
 */
#ifndef ITIP_QUAR_DIGEST_H
#define ITIP_QUAR_DIGEST_H

#include <stdio.h>
#include <time.h>
#include "quar_cmd.h"

#define QD_MAX_DAYS 62          /* bars of the per-day chart; older arrivals fold into the first */

typedef struct {
    const quar_item *it;
    long age;                   /* seconds held at the digest's clock (never negative) */
    int overdue;
    char **rules;               /* the deciding rules (from the result), else the findings' */
    size_t nrules;
    char *domain;               /* the sender's domain, lower-case; "" for the null sender */
} qd_entry;

typedef struct {
    const quar_ctx *q;
    quar_list l;
    qd_entry *e;                /* ordered as said above */
    size_t n, noverdue;
    time_t now, start;          /* the period: --since (or the oldest arrival) to now */
    size_t ndays;               /* days of the period (UTC), 1..QD_MAX_DAYS */
    size_t day[QD_MAX_DAYS];    /* held messages that arrived on each day */
} qd_digest;

/* Loads and orders the held messages.  0, or -1 (reported on stderr). */
int qd_build(qd_digest *d, const quar_ctx *q);
void qd_free(qd_digest *d);

/* "3d 4h", "2h 5m", "40s": a duration for people. */
void qd_age_text(char *buf, size_t len, long secs);
/* The exact command line that releases or deletes ID from the same queue (VERB "release" or
 * "delete"); a static buffer. */
const char *qd_command(const qd_digest *d, const char *verb, const char *id);
/* TEXT escaped for a terminal (quar_put_safe) in a new string; NULL only when out of memory. */
char *qd_safe(const char *text);
/* Splits the finding header "rule; severity=sev; detail" (pointers into a copy in BUF). */
void qd_finding(const char *hdr, char *buf, size_t len, const char **rule, const char **sev,
                const char **detail);
/* The remedy of rule RULE (an id), or NULL when unknown. */
const char *qd_remedy(const char *rule);
/* Rules with their message counts, most first: at most MAX, returns how many. */
size_t qd_rule_counts(const qd_digest *d, const char **rules, size_t *counts, size_t max);
/* Sender domains with their message counts, most first; "" is the null sender. */
size_t qd_domain_counts(const qd_digest *d, const char **doms, size_t *counts, size_t max);
/* The date (UTC, YYYY-MM-DD) of day I of the period. */
void qd_day_label(const qd_digest *d, size_t i, char *buf, size_t len);

void qd_text(FILE *out, const qd_digest *d);
void qd_json(FILE *out, const qd_digest *d);
void qd_html(FILE *out, const qd_digest *d);
/* Mails the text and the HTML as multipart/alternative to TO.  0, or -1 (reported). */
int qd_mail(const qd_digest *d, const char *to);

/* Sends MSG (a whole message, CRLF or LF lines) to TO with a null envelope sender through
 * the configured sendmail(1).  0, or -1 with a reason in ERR. */
int quar_sendmail_msg(const quar_ctx *q, const char *to, const char *msg, size_t len,
                      char *err, size_t errlen);
/* True if ADDR may be given to sendmail(1) as a recipient: printable ASCII, no blanks, not
 * starting with '-', at most 320 bytes. */
int quar_addr_ok(const char *addr);

/* The notice returned to the envelope sender TO of IT (multipart/mixed: TEXT as text/plain,
 * IT's header block as text/rfc822-headers) into B (initialised here).  0, or -1 (memory). */
int quar_notice_msg(strbuf *b, const char *to, const char *text, const quar_item *it);

int quar_cmd_digest(const quar_ctx *q);
int quar_cmd_expire(const quar_ctx *q);

#endif
