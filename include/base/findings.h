/*
 * findings.h - the list of findings one message produced.
 *
 * A finding names a rule, a severity, the calendar context (METHOD, UID, component, property)
 * and a one-line human detail.  The list is bounded (max): past it, further findings are
 * counted in `dropped` and never stored, so hostile input cannot grow memory without limit.
 * Strings are copied and owned by the list.  Not thread-safe: one list per message.
 */
#ifndef ITIP_FINDINGS_H
#define ITIP_FINDINGS_H

#include <stddef.h>
#include "base/rules.h"

typedef struct {
    itip_rule_id rule;
    itip_severity severity;
    int part;            /* calendar part index (0-based); -1 for the message as a whole */
    char *method;        /* METHOD of the calendar part, or NULL */
    char *uid;           /* UID of the component concerned, or NULL */
    char *component;     /* "VEVENT", "VCALENDAR", "MIME", ... or NULL */
    char *property;      /* "DTSTAMP", "ATTENDEE", ... or NULL */
    char *detail;        /* one line, never NULL */
} itip_finding;

typedef struct {
    itip_finding *v;
    size_t n, cap;
    size_t max;          /* 0 = unbounded */
    size_t dropped;      /* findings not stored because max was reached */
    int oom;             /* an allocation failed: the list is incomplete */
    const itip_rule_setting *settings; /* ITIP_RULE_COUNT entries, or NULL: disabled rules are
                                          not stored, configured severities replace emitted ones */
} itip_findings;

void itip_findings_init(itip_findings *f, size_t max, const itip_rule_setting *settings);
/* Frees every finding and resets to empty; safe to call twice. */
void itip_findings_clear(itip_findings *f);

/* Adds a finding (a rule disabled in `settings` is silently not stored: returns 0).
 * detail is printf-style; the result is cut to one line (CR/LF/controls
 * become spaces) and to 300 bytes.  Returns 0, or -1 when dropped (limit or out of memory). */
int itip_findings_add(itip_findings *f, itip_rule_id rule, itip_severity sev, int part,
                      const char *method, const char *uid, const char *component,
                      const char *property, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));

/* True if a finding of this rule is in the list. */
int itip_findings_has(const itip_findings *f, itip_rule_id rule);

/* Highest severity in the list; ITIP_SEV_NONE when empty. */
itip_severity itip_findings_worst(const itip_findings *f);

/* Stable sort: severity descending, then part, then rule order of rules.def. */
void itip_findings_sort(itip_findings *f);

#endif
