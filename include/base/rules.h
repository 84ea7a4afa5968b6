/*
 * rules.h - rule ids, severities and the rule table.
 *
 * Exports: enum itip_rule_id (one value per line of rules.def), itip_severity, the static table
 * itip_rules[] and lookups by id string.  Never allocates; safe from any thread.
 */
#ifndef ITIP_RULES_H
#define ITIP_RULES_H

#include <stddef.h>

typedef enum {
    ITIP_SEV_NONE = 0,      /* "pass": no finding */
    ITIP_SEV_INFO = 1,
    ITIP_SEV_DEGRADE = 2,
    ITIP_SEV_WOULD_FAIL = 3
} itip_severity;

typedef enum {
#define RULE(e, id, cat, sev, sum) ITIP_R_##e,
#include "base/rules.def"
#undef RULE
    ITIP_RULE_COUNT
} itip_rule_id;

typedef struct {
    const char *id;          /* catalogue id, e.g. "reply-dtstamp-invalid" */
    const char *catalogue;   /* catalogue number, e.g. "C3"; "-" for project rules */
    itip_severity severity;  /* default (strongest) severity */
    const char *summary;     /* one line */
} itip_rule;

extern const itip_rule itip_rules[ITIP_RULE_COUNT];

/* What the configuration says of one rule. */
typedef struct {
    int enabled;                    /* 1 unless `enabled = false` */
    itip_severity severity;         /* ITIP_SEV_NONE: keep what the check emits */
} itip_rule_setting;

/* Where rule I comes from (a short citation) and what the sender or the postmaster can do
 * about it (one or two sentences), from rules_about.def; never NULL for a valid I. */
const char *itip_rule_source(int i);
const char *itip_rule_remedy(int i);

/* Index of the rule with this id, or -1. */
int itip_rule_lookup(const char *id);

/* "info", "degrade", "would-fail"; "pass" for ITIP_SEV_NONE. */
const char *itip_severity_name(itip_severity s);

/* Parses "info", "degrade", "would-fail"; returns 0 on success, -1 otherwise. */
int itip_severity_parse(const char *s, itip_severity *out);

#endif
