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
#include "base/rules.h"

typedef struct {
    size_t max_calendar_part_size;  /* decoded bytes kept per calendar part (1 MiB) */
    size_t max_calendar_parts;      /* calendar parts analysed per message (16) */
    size_t max_mime_depth;          /* multipart / message nesting depth (32) */
    size_t max_parts;               /* MIME parts per message (1000) */
    size_t max_header_size;         /* bytes of one header block, unfolded (64 KiB) */
    size_t max_findings;            /* findings kept per message (100) */
    size_t max_ical_components;     /* components per calendar part (10000) */
    size_t max_headers;             /* header fields of one header block (1000) */
    long max_analysis_time;         /* milliseconds of calendar analysis per message (10000) */
} itip_limits;

/* The `state` group of the configuration. */
typedef struct {
    char *backend;              /* "none" (default), "lmdb" or "redis" */
    char *path;                 /* lmdb: directory of the store ("/var/lib/itip-milter/state") */
    long ttl;                   /* seconds an entry lives after its last write (2592000) */
    size_t max_size;            /* lmdb: map size in bytes; redis: ignored (64 MiB) */
    char *host;                 /* redis: host name or address ("127.0.0.1") */
    long port;                  /* redis: TCP port (6379) */
    char *socket;               /* redis: unix socket path; wins over host/port; or NULL */
    char *password;             /* redis: AUTH password, or NULL */
    long database;              /* redis: SELECT index (0) */
    long connect_timeout;       /* redis: milliseconds (500) */
    long timeout;               /* redis: milliseconds per command (500) */
    char *key_prefix;           /* redis: prefix of every key ("itip:") */
    char **sentinels;           /* redis: Sentinel addresses "host:port" (checked), or NULL */
    size_t n_sentinels;
    char *master;               /* redis: the master's name at the sentinels, or NULL */
    char *sentinel_password;    /* redis: AUTH password of the sentinels, or NULL */
} itip_state_config;

#define ITIP_MAX_SENTINELS 16   /* entries of state.sentinels */

/* Splits "host:port" or "[v6-address]:port" into HOST (at most HOSTLEN bytes with its NUL)
 * and *PORT (1..65535).  0, or -1 when S is not of that form. */
int itip_hostport_parse(const char *s, char *host, size_t hostlen, long *port);

/* One network of notify.local_networks: an IPv4 (family 4) or IPv6 (family 6) prefix. */
typedef struct {
    int family;
    unsigned char addr[16];
    int prefix;
} itip_cidr;

/* The `notify` group: notices about held, rejected and repaired messages (the milter). */
typedef struct {
    int enabled;                /* the group is present in the file: notices are on */
    char *postmaster;           /* notify.postmaster: the address told every time, or NULL */
    char *originator;           /* "local" (authenticated or from local_networks) or "never" */
    itip_cidr *local_networks;  /* default 127.0.0.0/8 and ::1/128 */
    size_t n_local_networks;
    unsigned on;                /* bit 1 << itip_action: actions that send notices */
    unsigned severities;        /* bit 1 << itip_severity: severities that count */
    long rate_limit;            /* originator notices per originator per hour (10) */
    char *sendmail;             /* the command, split at blanks ("/usr/sbin/sendmail") */
    char *from;                 /* From: address of notices, or NULL: MAILER-DAEMON@host */
    long queue;                 /* notices waiting to be sent, at most (100) */
    long timeout;               /* milliseconds one sendmail run may take (30000) */
} itip_notify_config;

/* The `quarantine` group: what itip-quarantine does about messages held too long. */
typedef enum { ITIP_HOLD_KEEP = 0, ITIP_HOLD_RELEASE, ITIP_HOLD_RETURN } itip_hold_policy;
typedef struct {
    long max_hold_age;          /* seconds a message may stay held; 0: no limit (604800) */
    char *on_max_hold_age;      /* "keep" (default: list and warn), "release", "return" */
    itip_hold_policy policy;    /* on_max_hold_age, parsed */
    long digest_overdue;        /* seconds held after which the digest says overdue (86400) */
    char *sendmail;             /* the MTA's sendmail(1) for digest mail and returned
                                 * messages ("/usr/sbin/sendmail") */
} itip_quarantine_config;

/* What the milter does with a message; ordered weakest to strongest (the strongest wins). */
typedef enum {
    ITIP_ACT_NONE = 0,   /* no setting: use the severity's action */
    ITIP_ACT_LOG,        /* log only */
    ITIP_ACT_TAG,        /* diagnostic headers */
    ITIP_ACT_REPAIR,     /* headers + fix the calendar part where that needs no guessing */
    ITIP_ACT_QUARANTINE, /* headers + smfi_quarantine */
    ITIP_ACT_TEMPFAIL,   /* 451 4.7.1 */
    ITIP_ACT_REJECT      /* 550 5.7.1 */
} itip_action;

const char *itip_action_name(itip_action a);
int itip_action_parse(const char *s, itip_action *out);   /* 0, or -1 when unknown */

typedef struct itip_config {
    char *file;                     /* the file it came from, or NULL for built-in defaults */
    char **legacy_cdo_domains;      /* lower-case; "*" means every domain */
    size_t n_legacy_cdo_domains;
    char **modern_domains;          /* never legacy, whatever was learned; lower-case */
    size_t n_modern_domains;
    int learn_legacy_cdo;           /* learn CDO organizers' domains in the store (true) */
    char **authserv_ids;            /* authserv_id: Authentication-Results ids we trust */
    size_t n_authserv_ids;
    char **non_tnef_domains;        /* TNEF: lower-case, recipients that cannot read TNEF */
    size_t n_non_tnef_domains;
    char **tnef_domains;            /* TNEF: lower-case, recipients known to read TNEF */
    size_t n_tnef_domains;
    char **alias_domains;           /* alias_domains: lower-case sets, each ended by NULL */
    size_t n_alias_domains;         /* entries of alias_domains, the NULLs included */
    long clock_skew_tolerance;      /* seconds (300) */
    long date_header_skew;          /* seconds (900): D8 */
    itip_limits limits;
    itip_rule_setting rules[ITIP_RULE_COUNT];
    itip_action rule_actions[ITIP_RULE_COUNT];  /* rules.<id>.action; ITIP_ACT_NONE if unset */

    /* the milter */
    char *socket;                   /* libmilter spelling: unix:/path, inet:PORT@HOST, inet6: */
    long socket_mode;               /* permissions of a unix socket (0660) */
    char *socket_group;             /* group of a unix socket, or NULL */
    char *user;                     /* drop privileges to this user, or NULL */
    char *pidfile;                  /* or NULL */
    char *syslog_facility;          /* "mail" */
    char *log_level;                /* error, warning, notice, info, debug ("info") */
    itip_action actions[4];         /* by severity: [ITIP_SEV_INFO..ITIP_SEV_WOULD_FAIL] */
    itip_action on_internal_error;  /* accept (= log), tempfail or reject; default log */
    int dry_run;                    /* log what would be done; only tag */
    int repair_signed;              /* repair a message with a DKIM-Signature (false) */
    char *header_prefix;            /* "X-ITIP" */
    long max_finding_headers;       /* X-ITIP-Finding headers per message (10) */
    char *metrics;                  /* "ADDRESS:PORT" of the metrics listener, or NULL: off */

    itip_state_config state;        /* the `state` group: store of the stateful rules */
    itip_notify_config notify;      /* the `notify` group */
    signed char rule_notify[ITIP_RULE_COUNT];   /* rules.<id>.notify: 1, 0 (false), -1 unset */
    itip_quarantine_config quarantine; /* the `quarantine` group: itip-quarantine */
} itip_config;

/* A snapshot holding the built-in defaults; NULL only when out of memory. */
itip_config *itip_config_default(void);

/* Loads FILE.  Returns a snapshot, or NULL with "FILE:LINE: message" (or "FILE: message")
 * in errbuf. */
itip_config *itip_config_load(const char *file, char *errbuf, size_t errlen);

void itip_config_free(itip_config *cfg);

/* The action for a finding of RULE with severity SEV: rules.<id>.action, else actions.<sev>. */
itip_action itip_config_action(const itip_config *cfg, itip_rule_id rule, itip_severity sev);

/* The action of a finding whose repair was asked for but not made: actions.<severity>, or tag
 * when that is repair (or unset). */
itip_action itip_config_fallback(const itip_config *cfg, itip_severity sev);

/* True if DOMAIN (case-insensitive) is listed in legacy_cdo_domains, or the list holds "*". */
int itip_config_is_legacy_domain(const itip_config *cfg, const char *domain);

/* True if DOMAIN (case-insensitive) is listed in modern_domains. */
int itip_config_is_modern_domain(const itip_config *cfg, const char *domain);
/* TNEF: true if DOMAIN (case-insensitive) is listed in non_tnef_domains. */
int itip_config_is_non_tnef_domain(const itip_config *cfg, const char *domain);
/* TNEF: true if DOMAIN (case-insensitive) is listed in tnef_domains. */
int itip_config_is_tnef_domain(const itip_config *cfg, const char *domain);

/* True if domains A and B are the same (case-insensitive) or listed in one set of
 * alias_domains. */
int itip_config_same_domain(const itip_config *cfg, const char *a, const char *b);

/* True if the address text ADDR (IPv4 dotted or IPv6, brackets and an "IPv6:" prefix allowed)
 * lies in one of notify.local_networks. */
int itip_config_is_local(const itip_config *cfg, const char *addr);

/* True if ID (case-insensitive) is one of the authserv_id values. */
int itip_config_trusts_authserv(const itip_config *cfg, const char *id);

#endif
