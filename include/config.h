/*
 * config.h - the configuration: one immutable snapshot per load.
 *
 * itip_config_load() reads a libconfig file, checks every setting against the schema (name,
 * type, range), and fills a snapshot in which every setting has its default unless the file
 * says otherwise.  Errors come back as "FILE:LINE: message" in errbuf.  A snapshot is never
 * changed after load; the milter swaps whole snapshots on reload.
 */
#ifndef ITIP_CONFIG_H
#define ITIP_CONFIG_H

#include <stddef.h>
#include "rules.h"

typedef struct {
    size_t max_calendar_part_size;  /* decoded bytes kept per calendar part (1 MiB) */
    size_t max_calendar_parts;      /* calendar parts analysed per message (16) */
    size_t max_mime_depth;          /* multipart / message nesting depth (32) */
    size_t max_parts;               /* MIME parts per message (1000) */
    size_t max_header_size;         /* bytes of one header block, unfolded (64 KiB) */
    size_t max_findings;            /* findings kept per message (100) */
    size_t max_ical_components;     /* components per calendar part (10000) */
} itip_limits;

typedef struct itip_config {
    char *file;                     /* the file it came from, or NULL for built-in defaults */
    char **legacy_cdo_domains;      /* lower-case; "*" means every domain */
    size_t n_legacy_cdo_domains;
    long clock_skew_tolerance;      /* seconds (300) */
    long date_header_skew;          /* seconds (900): D8 */
    itip_limits limits;
    itip_rule_setting rules[ITIP_RULE_COUNT];
} itip_config;

/* A snapshot holding the built-in defaults; NULL only when out of memory. */
itip_config *itip_config_default(void);

/* Loads FILE.  Returns a snapshot, or NULL with "FILE:LINE: message" (or "FILE: message")
 * in errbuf. */
itip_config *itip_config_load(const char *file, char *errbuf, size_t errlen);

void itip_config_free(itip_config *cfg);

/* True if DOMAIN (case-insensitive) is listed in legacy_cdo_domains, or the list holds "*". */
int itip_config_is_legacy_domain(const itip_config *cfg, const char *domain);

#endif
