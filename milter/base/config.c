/*
 * config.c - libconfig loading, the settings schema, validation with FILE:LINE messages.
 *
 * Exports itip_config_default(), itip_config_load(), itip_config_free(),
 * itip_config_is_legacy_domain().  The schema table below is the one place where a setting's
 * name, type, range and default live.  A loaded snapshot is never modified afterwards.
 * Never exits or logs: errors go back to the caller as text.
 */
#include "ac-config.h"
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <libconfig.h>
#include "base/config.h"
#include "base/strbuf.h"

typedef enum { T_INT, T_SIZE, T_BOOL, T_STRING, T_MODE, T_ACTION, T_STRLIST, T_RULES,
               T_ACTIONS, T_GROUP, T_IDLIST, T_DOMAINSETS, T_SENTINELS, T_NETLIST,
               T_ACTIONSET, T_SEVSET } setting_type;

typedef struct {
    const char *name;
    setting_type type;
    size_t offset;            /* into itip_config */
    long long min, max, def;  /* T_INT / T_SIZE / T_BOOL / T_MODE / T_ACTION */
    const char *sdef;         /* T_STRING default (NULL: unset) */
} setting;

#define OFF(f) offsetof(itip_config, f)
#define LIM(f) (offsetof(itip_config, limits) + offsetof(itip_limits, f))
#define ST(f) (offsetof(itip_config, state) + offsetof(itip_state_config, f))
#define NT(f) (offsetof(itip_config, notify) + offsetof(itip_notify_config, f))
#define QU(f) (offsetof(itip_config, quarantine) + offsetof(itip_quarantine_config, f))
#define KiB 1024LL
#define MiB (1024LL * 1024LL)

static const setting schema[] = {
    { "legacy_cdo_domains", T_STRLIST, OFF(legacy_cdo_domains), 0, 0, 0, NULL },
    { "modern_domains", T_STRLIST, OFF(modern_domains), 0, 0, 0, NULL },
    { "learn_legacy_cdo", T_BOOL, OFF(learn_legacy_cdo), 0, 1, 1, NULL },
    /* TNEF: recipient domains that cannot read TNEF (tnef-to-non-tnef-domain) */
    { "non_tnef_domains", T_STRLIST, OFF(non_tnef_domains), 0, 0, 0, NULL },
    { "tnef_domains", T_STRLIST, OFF(tnef_domains), 0, 0, 0, NULL },
    { "authserv_id", T_IDLIST, OFF(authserv_ids), 0, 0, 0, NULL },
    { "alias_domains", T_DOMAINSETS, OFF(alias_domains), 0, 0, 0, NULL },
    { "clock_skew_tolerance", T_INT, OFF(clock_skew_tolerance), 0, 86400 * 365LL, 300, NULL },
    { "date_header_skew", T_INT, OFF(date_header_skew), 0, 86400 * 365LL, 900, NULL },
    { "max_calendar_part_size", T_SIZE, LIM(max_calendar_part_size), 1 * KiB, 256 * MiB, 1 * MiB, NULL },
    { "max_calendar_parts", T_SIZE, LIM(max_calendar_parts), 1, 1000, 16, NULL },
    { "max_mime_depth", T_SIZE, LIM(max_mime_depth), 1, 1000, 32, NULL },
    { "max_parts", T_SIZE, LIM(max_parts), 1, 1000000, 1000, NULL },
    { "max_header_size", T_SIZE, LIM(max_header_size), 1 * KiB, 16 * MiB, 64 * KiB, NULL },
    { "max_findings", T_SIZE, LIM(max_findings), 1, 10000, 100, NULL },
    { "max_ical_components", T_SIZE, LIM(max_ical_components), 1, 10000000, 10000, NULL },
    { "max_headers", T_SIZE, LIM(max_headers), 10, 1000000, 1000, NULL },
    { "max_analysis_time", T_INT, LIM(max_analysis_time), 0, 600000, 10000, NULL },
    { "rules", T_RULES, 0, 0, 0, 0, NULL },
    { "socket", T_STRING, OFF(socket), 0, 0, 0, "unix:/run/itip-milter/itip-milter.sock" },
    { "socket_mode", T_MODE, OFF(socket_mode), 0, 0777, 0660, NULL },
    { "socket_group", T_STRING, OFF(socket_group), 0, 0, 0, NULL },
    { "user", T_STRING, OFF(user), 0, 0, 0, NULL },
    { "pidfile", T_STRING, OFF(pidfile), 0, 0, 0, NULL },
    { "syslog_facility", T_STRING, OFF(syslog_facility), 0, 0, 0, "mail" },
    { "log_level", T_STRING, OFF(log_level), 0, 0, 0, "info" },
    { "actions", T_ACTIONS, 0, 0, 0, 0, NULL },
    { "on_internal_error", T_ACTION, OFF(on_internal_error), 0, 0, ITIP_ACT_LOG, NULL },
    { "dry_run", T_BOOL, OFF(dry_run), 0, 1, 0, NULL },
    { "repair_signed", T_BOOL, OFF(repair_signed), 0, 1, 0, NULL },
    { "header_prefix", T_STRING, OFF(header_prefix), 0, 0, 0, "X-ITIP" },
    { "max_finding_headers", T_INT, OFF(max_finding_headers), 0, 1000, 10, NULL },
    { "metrics", T_STRING, OFF(metrics), 0, 0, 0, NULL },
    /* the store of the stateful rules: members of a group are named "group.member" */
    { "state", T_GROUP, 0, 0, 0, 0, NULL },
    { "state.backend", T_STRING, ST(backend), 0, 0, 0, "none" },
    { "state.path", T_STRING, ST(path), 0, 0, 0, "/var/lib/itip-milter/state" },
    { "state.ttl", T_INT, ST(ttl), 60, 86400 * 3660LL, 2592000, NULL },
    { "state.max_size", T_SIZE, ST(max_size), 1 * MiB, 1024 * 1024 * MiB, 64 * MiB, NULL },
    { "state.host", T_STRING, ST(host), 0, 0, 0, "127.0.0.1" },
    { "state.port", T_INT, ST(port), 1, 65535, 6379, NULL },
    { "state.socket", T_STRING, ST(socket), 0, 0, 0, NULL },
    { "state.password", T_STRING, ST(password), 0, 0, 0, NULL },
    { "state.database", T_INT, ST(database), 0, 1000000, 0, NULL },
    { "state.connect_timeout", T_INT, ST(connect_timeout), 1, 60000, 500, NULL },
    { "state.timeout", T_INT, ST(timeout), 1, 60000, 500, NULL },
    { "state.key_prefix", T_STRING, ST(key_prefix), 0, 0, 0, "itip:" },
    { "state.sentinels", T_SENTINELS, ST(sentinels), 0, 0, 0, NULL },
    { "state.master", T_STRING, ST(master), 0, 0, 0, NULL },
    { "state.sentinel_password", T_STRING, ST(sentinel_password), 0, 0, 0, NULL },
    { "notify", T_GROUP, 0, 0, 0, 0, NULL },
    { "notify.postmaster", T_STRING, NT(postmaster), 0, 0, 0, NULL },
    { "notify.originator", T_STRING, NT(originator), 0, 0, 0, "local" },
    { "notify.local_networks", T_NETLIST, NT(local_networks), 0, 0, 0, NULL },
    { "notify.on", T_ACTIONSET, NT(on), 0, 0, 0, NULL },
    { "notify.severities", T_SEVSET, NT(severities), 0, 0, 0, NULL },
    { "notify.rate_limit", T_INT, NT(rate_limit), 0, 100000, 10, NULL },
    { "notify.sendmail", T_STRING, NT(sendmail), 0, 0, 0, "/usr/sbin/sendmail" },
    { "notify.from", T_STRING, NT(from), 0, 0, 0, NULL },
    { "notify.queue", T_INT, NT(queue), 1, 100000, 100, NULL },
    { "notify.timeout", T_INT, NT(timeout), 100, 600000, 30000, NULL },
    /* itip-quarantine: the maximum hold age, the digest, the sendmail command */
    { "quarantine", T_GROUP, 0, 0, 0, 0, NULL },
    { "quarantine.max_hold_age", T_INT, QU(max_hold_age), 0, 86400 * 3660LL, 604800, NULL },
    { "quarantine.on_max_hold_age", T_STRING, QU(on_max_hold_age), 0, 0, 0, "keep" },
    { "quarantine.digest_overdue", T_INT, QU(digest_overdue), 0, 86400 * 3660LL, 86400, NULL },
    { "quarantine.sendmail", T_STRING, QU(sendmail), 0, 0, 0, "/usr/sbin/sendmail" },
};
#define NSCHEMA (sizeof schema / sizeof schema[0])

static const char *const action_names[] = {
    [ITIP_ACT_NONE] = "none", [ITIP_ACT_LOG] = "log", [ITIP_ACT_TAG] = "tag",
    [ITIP_ACT_REPAIR] = "repair", [ITIP_ACT_QUARANTINE] = "quarantine",
    [ITIP_ACT_TEMPFAIL] = "tempfail",
    [ITIP_ACT_REJECT] = "reject",
};

const char *itip_action_name(itip_action a)
{
    return (unsigned)a < sizeof action_names / sizeof action_names[0] ? action_names[a] : "none";
}

int itip_action_parse(const char *s, itip_action *out)
{
    unsigned i;

    for (i = ITIP_ACT_LOG; i < sizeof action_names / sizeof action_names[0]; i++)
        if (s != NULL && strcmp(s, action_names[i]) == 0) {
            *out = (itip_action)i;
            return 0;
        }
    return -1;
}

itip_action itip_config_action(const itip_config *cfg, itip_rule_id rule, itip_severity sev)
{
    if ((unsigned)rule < ITIP_RULE_COUNT && cfg->rule_actions[rule] != ITIP_ACT_NONE)
        return cfg->rule_actions[rule];
    if (sev < ITIP_SEV_INFO || sev > ITIP_SEV_WOULD_FAIL)
        return ITIP_ACT_NONE;
    return cfg->actions[sev];
}

itip_action itip_config_fallback(const itip_config *cfg, itip_severity sev)
{
    itip_action a = sev >= ITIP_SEV_INFO && sev <= ITIP_SEV_WOULD_FAIL ? cfg->actions[sev]
                                                                     : ITIP_ACT_NONE;

    return a == ITIP_ACT_REPAIR || a == ITIP_ACT_NONE ? ITIP_ACT_TAG : a;
}

/* Parses "ADDR/PREFIX" or a bare address (a host) into *N; 0, or -1 when malformed. */
static int parse_cidr(const char *text, itip_cidr *n)
{
    char buf[64], *slash, *end;
    long prefix;

    if (strlen(text) >= sizeof buf)
        return -1;
    strcpy(buf, text);
    slash = strchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
    memset(n, 0, sizeof *n);
    if (inet_pton(AF_INET, buf, n->addr) == 1) {
        n->family = 4;
        prefix = 32;
    } else if (inet_pton(AF_INET6, buf, n->addr) == 1) {
        n->family = 6;
        prefix = 128;
    } else {
        return -1;
    }
    if (slash != NULL) {
        long max = prefix;
        if (!isdigit((unsigned char)slash[1]))
            return -1;
        prefix = strtol(slash + 1, &end, 10);
        if (*end != '\0' || prefix < 0 || prefix > max)
            return -1;
    }
    n->prefix = (int)prefix;
    return 0;
}

static int default_networks(itip_config *cfg)
{
    static const char *const def[] = { "127.0.0.0/8", "::1/128" };
    size_t i;

    cfg->notify.local_networks = calloc(2, sizeof *cfg->notify.local_networks);
    if (cfg->notify.local_networks == NULL)
        return -1;
    for (i = 0; i < 2; i++)
        parse_cidr(def[i], &cfg->notify.local_networks[i]);
    cfg->notify.n_local_networks = 2;
    return 0;
}

static int in_network(const itip_cidr *n, const unsigned char *a, int family)
{
    int full = n->prefix / 8, rest = n->prefix % 8;

    if (n->family != family)
        return 0;
    if (memcmp(n->addr, a, (size_t)full) != 0)
        return 0;
    return rest == 0 || ((n->addr[full] ^ a[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

int itip_config_is_local(const itip_config *cfg, const char *addr)
{
    unsigned char a[16];
    char buf[64];
    size_t i, n;
    int family;

    if (addr == NULL)
        return 0;
    if (*addr == '[')
        addr++;
    if (strncasecmp(addr, "IPv6:", 5) == 0)
        addr += 5;
    n = strcspn(addr, "]");
    if (n >= sizeof buf)
        return 0;
    memcpy(buf, addr, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, a) == 1)
        family = 4;
    else if (inet_pton(AF_INET6, buf, a) == 1)
        family = 6;
    else
        return 0;
    if (family == 6 && memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
        memmove(a, a + 12, 4);      /* ::ffff:a.b.c.d is the IPv4 address */
        family = 4;
    }
    for (i = 0; i < cfg->notify.n_local_networks; i++)
        if (in_network(&cfg->notify.local_networks[i], a, family))
            return 1;
    return 0;
}

static int set_defaults(itip_config *cfg)
{
    size_t i;

    for (i = 0; i < NSCHEMA; i++) {
        char *base = (char *)cfg + schema[i].offset;
        switch (schema[i].type) {
        case T_INT: case T_MODE: *(long *)(void *)base = (long)schema[i].def; break;
        case T_SIZE: *(size_t *)(void *)base = (size_t)schema[i].def; break;
        case T_BOOL: *(int *)(void *)base = (int)schema[i].def; break;
        case T_ACTION: *(itip_action *)(void *)base = (itip_action)schema[i].def; break;
        case T_STRING:
            if (schema[i].sdef != NULL &&
                (*(char **)(void *)base = strdup(schema[i].sdef)) == NULL)
                return -1;
            break;
        default: break;
        }
    }
    for (i = 0; i < ITIP_RULE_COUNT; i++) {
        cfg->rules[i].enabled = 1;
        cfg->rules[i].severity = ITIP_SEV_NONE;
    }
    cfg->notify.on = 1u << ITIP_ACT_QUARANTINE | 1u << ITIP_ACT_REJECT | 1u << ITIP_ACT_REPAIR;
    cfg->notify.severities = 1u << ITIP_SEV_INFO | 1u << ITIP_SEV_DEGRADE |
                             1u << ITIP_SEV_WOULD_FAIL;
    if (default_networks(cfg) < 0)
        return -1;
    memset(cfg->rule_notify, -1, sizeof cfg->rule_notify);
    cfg->actions[ITIP_SEV_NONE] = ITIP_ACT_NONE;
    cfg->actions[ITIP_SEV_INFO] = ITIP_ACT_LOG;
    cfg->actions[ITIP_SEV_DEGRADE] = ITIP_ACT_TAG;
    cfg->actions[ITIP_SEV_WOULD_FAIL] = ITIP_ACT_QUARANTINE;
    return 0;
}

static void free_strings(itip_config *cfg)
{
    size_t i;

    for (i = 0; i < NSCHEMA; i++)
        if (schema[i].type == T_STRING) {
            char **p = (char **)(void *)((char *)cfg + schema[i].offset);
            free(*p);
            *p = NULL;
        }
}

itip_config *itip_config_default(void)
{
    itip_config *cfg = calloc(1, sizeof *cfg);

    if (cfg != NULL && set_defaults(cfg) < 0) {
        itip_config_free(cfg);
        return NULL;
    }
    return cfg;
}

void itip_config_free(itip_config *cfg)
{
    if (cfg == NULL)
        return;
    itip_strv_free(cfg->legacy_cdo_domains, cfg->n_legacy_cdo_domains);
    itip_strv_free(cfg->modern_domains, cfg->n_modern_domains);
    itip_strv_free(cfg->authserv_ids, cfg->n_authserv_ids);
    itip_strv_free(cfg->non_tnef_domains, cfg->n_non_tnef_domains);
    itip_strv_free(cfg->tnef_domains, cfg->n_tnef_domains);
    itip_strv_free(cfg->alias_domains, cfg->n_alias_domains);
    itip_strv_free(cfg->state.sentinels, cfg->state.n_sentinels);
    free(cfg->notify.local_networks);
    free_strings(cfg);
    free(cfg->file);
    free(cfg);
}

int itip_config_is_legacy_domain(const itip_config *cfg, const char *domain)
{
    size_t i;

    for (i = 0; i < cfg->n_legacy_cdo_domains; i++) {
        const char *d = cfg->legacy_cdo_domains[i];
        if (strcmp(d, "*") == 0 || (domain != NULL && strcasecmp(d, domain) == 0))
            return 1;
    }
    return 0;
}

int itip_config_same_domain(const itip_config *cfg, const char *a, const char *b)
{
    size_t i;
    int in_a = 0, in_b = 0;

    if (a == NULL || b == NULL)
        return 0;
    if (strcasecmp(a, b) == 0)
        return 1;
    for (i = 0; i < cfg->n_alias_domains; i++) {
        const char *d = cfg->alias_domains[i];
        if (d == NULL) {                /* the end of one set */
            if (in_a && in_b)
                return 1;
            in_a = in_b = 0;
            continue;
        }
        in_a |= strcasecmp(d, a) == 0;
        in_b |= strcasecmp(d, b) == 0;
    }
    return 0;
}

/* True if S (case-insensitive) is one of the N strings of V; false for a NULL S. */
static int strv_has(char *const *v, size_t n, const char *s)
{
    size_t i;

    for (i = 0; s != NULL && i < n; i++)
        if (strcasecmp(v[i], s) == 0)
            return 1;
    return 0;
}

int itip_config_trusts_authserv(const itip_config *cfg, const char *id)
{
    return strv_has(cfg->authserv_ids, cfg->n_authserv_ids, id);
}

int itip_hostport_parse(const char *s, char *host, size_t hostlen, long *port)
{
    const char *colon, *h = s, *hend;
    char *end;
    long p;

    if (s == NULL || (colon = strrchr(s, ':')) == NULL)
        return -1;
    hend = colon;
    if (*s == '[') {            /* [2001:db8::1]:26379 */
        if (colon == s || colon[-1] != ']')
            return -1;
        h = s + 1;
        hend = colon - 1;
    } else if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
        return -1;              /* a bare IPv6 address: the port is ambiguous */
    }
    if (hend <= h || (size_t)(hend - h) >= hostlen || memchr(h, ' ', (size_t)(hend - h)))
        return -1;
    if (!isdigit((unsigned char)colon[1]))
        return -1;
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || p < 1 || p > 65535)
        return -1;
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    *port = p;
    return 0;
}

/* ---- loading ---- */

typedef struct {
    const char *file;
    char *err;
    size_t errlen;
} loadctx;

static int fail(loadctx *lc, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(loadctx *lc, const config_setting_t *s, const char *fmt, ...)
{
    va_list ap;
    const char *file = lc->file;
    int n;

#if defined(LIBCONFIG_VER_MAJOR)
    if (s != NULL && config_setting_source_file(s) != NULL)
        file = config_setting_source_file(s);
#endif
    n = s ? snprintf(lc->err, lc->errlen, "%s:%u: ", file, config_setting_source_line(s))
          : snprintf(lc->err, lc->errlen, "%s: ", file);
    if (n > 0 && (size_t)n < lc->errlen) {
        va_start(ap, fmt);
        vsnprintf(lc->err + n, lc->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static const char *type_word(setting_type t)
{
    switch (t) {
    case T_INT: case T_SIZE: return "an integer";
    case T_STRLIST: return "a list of strings";
    case T_IDLIST: return "a string or a list of strings";
    case T_NETLIST: return "a list of networks such as \"192.0.2.0/24\" or \"2001:db8::/32\"";
    case T_ACTIONSET: return "a list of actions (\"log\", \"tag\", \"repair\", \"quarantine\", "
                             "\"tempfail\", \"reject\")";
    case T_SEVSET: return "a list of severities (\"info\", \"degrade\", \"would-fail\")";
    case T_DOMAINSETS: return "a list of lists of domain names, e.g. ( [ \"example.com\", "
                              "\"example.net\" ] )";
    case T_BOOL: return "true or false";
    case T_STRING: return "a string";
    case T_MODE: return "an octal mode string such as \"0660\"";
    case T_ACTION: return "one of \"log\", \"tag\", \"repair\", \"quarantine\", \"tempfail\", "
                          "\"reject\"";
    default: return "a group";
    }
}

static int load_number(loadctx *lc, const setting *def, config_setting_t *s, itip_config *cfg)
{
    long long v;
    char *base = (char *)cfg + def->offset;
    int t = config_setting_type(s);

    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
        return fail(lc, s, "setting '%s' must be %s", def->name, type_word(def->type));
    v = config_setting_get_int64(s);
    if (v < def->min || v > def->max)
        return fail(lc, s, "setting '%s' must be between %lld and %lld (got %lld)", def->name,
                    def->min, def->max, v);
    if (def->type == T_INT)
        *(long *)(void *)base = (long)v;
    else
        *(size_t *)(void *)base = (size_t)v;
    return 0;
}

/* The vector and count a domain-list setting fills. */
static void domain_list(itip_config *cfg, const setting *def, char ****v, size_t **nv)
{
    if (def->offset == OFF(legacy_cdo_domains))
        *v = &cfg->legacy_cdo_domains, *nv = &cfg->n_legacy_cdo_domains;
    else if (def->offset == OFF(modern_domains))
        *v = &cfg->modern_domains, *nv = &cfg->n_modern_domains;
    else if (def->offset == OFF(tnef_domains))
        *v = &cfg->tnef_domains, *nv = &cfg->n_tnef_domains;
    else
        *v = &cfg->non_tnef_domains, *nv = &cfg->n_non_tnef_domains;
}

/* legacy_cdo_domains, modern_domains, tnef_domains, non_tnef_domains: a list of domain names
 * ("*" allowed in the first), kept lower-case. */
static int load_domains(loadctx *lc, const setting *def, config_setting_t *s, itip_config *cfg)
{
    int i, n, t = config_setting_type(s);
    int legacy = def->offset == OFF(legacy_cdo_domains);
    char ***v;
    size_t *nv;

    domain_list(cfg, def, &v, &nv);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return fail(lc, s, "setting '%s' must be %s", def->name, type_word(def->type));
    n = config_setting_length(s);
    itip_strv_free(*v, *nv);
    *nv = 0;
    *v = calloc((size_t)n + 1, sizeof(char *));
    if (*v == NULL)
        return fail(lc, s, "out of memory");
    for (i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *val = e ? config_setting_get_string(e) : NULL;
        char *d, *p;
        if (val == NULL)
            return fail(lc, e ? e : s, "setting '%s' must be %s", def->name,
                        type_word(def->type));
        if (*val == '\0' || strchr(val, '@') != NULL || strchr(val, ' ') != NULL ||
            (!legacy && strcmp(val, "*") == 0))
            return fail(lc, e, "'%s' in '%s' is not a domain name%s", val, def->name,
                        legacy ? " (or \"*\")" : "");
        d = strdup(val);
        if (d == NULL)
            return fail(lc, e, "out of memory");
        for (p = d; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        (*v)[(*nv)++] = d;
    }
    return 0;
}

int itip_config_is_modern_domain(const itip_config *cfg, const char *domain)
{
    return strv_has(cfg->modern_domains, cfg->n_modern_domains, domain);
}

/* Appends a copy of V (lower-cased when LOWER) to the vector at *V / *N; -1 when out of
 * memory.  The vector always has room for a terminating NULL. */
static int strv_push(char ***v, size_t *n, const char *s, int lower)
{
    char **nv = realloc(*v, (*n + 2) * sizeof *nv), *d, *p;

    if (nv == NULL)
        return -1;
    *v = nv;
    d = s ? strdup(s) : NULL;
    if (s != NULL && d == NULL)
        return -1;
    for (p = d; lower && p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    nv[(*n)++] = d;
    nv[*n] = NULL;
    return 0;
}

/* A word: not empty, no blanks or control characters. */
static int is_word(const char *v)
{
    if (*v == '\0')
        return 0;
    for (; *v; v++)
        if ((unsigned char)*v <= ' ' || *v == 0x7f)
            return 0;
    return 1;
}

/* authserv_id: one string or a list of them (the authserv-ids of Authentication-Results
 * headers written by this site's own verifiers). */
static int load_idlist(loadctx *lc, const setting *def, config_setting_t *s, itip_config *cfg)
{
    int i, n, t = config_setting_type(s);

    if (t == CONFIG_TYPE_STRING) {
        const char *v = config_setting_get_string(s);
        if (v == NULL || !is_word(v))
            return fail(lc, s, "'%s' must be an authserv-id (one word)", def->name);
        if (strv_push(&cfg->authserv_ids, &cfg->n_authserv_ids, v, 0) < 0)
            return fail(lc, s, "out of memory");
        return 0;
    }
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return fail(lc, s, "setting '%s' must be %s", def->name, type_word(def->type));
    n = config_setting_length(s);
    for (i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *v = e ? config_setting_get_string(e) : NULL;
        if (v == NULL || !is_word(v))
            return fail(lc, e ? e : s, "each entry of '%s' must be an authserv-id (one word)",
                        def->name);
        if (strv_push(&cfg->authserv_ids, &cfg->n_authserv_ids, v, 0) < 0)
            return fail(lc, e, "out of memory");
    }
    return 0;
}

int itip_config_is_tnef_domain(const itip_config *cfg, const char *domain)
{
    return strv_has(cfg->tnef_domains, cfg->n_tnef_domains, domain);
}

int itip_config_is_non_tnef_domain(const itip_config *cfg, const char *domain)
{
    return strv_has(cfg->non_tnef_domains, cfg->n_non_tnef_domains, domain);
}

/* alias_domains: a list of sets; each set is a list of domains that name the same mailboxes. */
static int load_domainsets(loadctx *lc, const setting *def, config_setting_t *s,
                           itip_config *cfg)
{
    int i, j, n, t = config_setting_type(s);

    if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
        return fail(lc, s, "setting '%s' must be %s", def->name, type_word(def->type));
    n = config_setting_length(s);
    for (i = 0; i < n; i++) {
        config_setting_t *set = config_setting_get_elem(s, (unsigned)i);
        int m, ts = set ? config_setting_type(set) : 0;
        if (ts != CONFIG_TYPE_ARRAY && ts != CONFIG_TYPE_LIST)
            return fail(lc, set ? set : s, "setting '%s' must be %s", def->name,
                        type_word(def->type));
        m = config_setting_length(set);
        if (m < 2)
            return fail(lc, set, "each set in '%s' needs at least two domains", def->name);
        for (j = 0; j < m; j++) {
            config_setting_t *e = config_setting_get_elem(set, (unsigned)j);
            const char *v = e ? config_setting_get_string(e) : NULL;
            if (v == NULL || !is_word(v) || strchr(v, '@') != NULL || strcmp(v, "*") == 0)
                return fail(lc, e ? e : set, "'%s' in '%s' is not a domain name",
                            v ? v : "(not a string)", def->name);
            if (strv_push(&cfg->alias_domains, &cfg->n_alias_domains, v, 1) < 0)
                return fail(lc, e, "out of memory");
        }
        if (strv_push(&cfg->alias_domains, &cfg->n_alias_domains, NULL, 0) < 0)
            return fail(lc, set, "out of memory");
    }
    return 0;
}

/* state.sentinels: a list of "host:port" strings, checked here so that a typo is an error
 * with its line, not a store that never finds its master.  An entry's error names the list's
 * line and the entry's number: libconfig's line of a list element may be that of the token
 * after it. */
static int load_sentinels(loadctx *lc, const setting *def, config_setting_t *s,
                          itip_config *cfg)
{
    itip_state_config *sc = &cfg->state;
    int i, n, t = config_setting_type(s);

    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return fail(lc, s, "setting '%s' must be a list of \"host:port\" strings", def->name);
    n = config_setting_length(s);
    if (n < 1 || n > ITIP_MAX_SENTINELS)
        return fail(lc, s, "setting '%s' must list 1 to %d sentinels (got %d)", def->name,
                    ITIP_MAX_SENTINELS, n);
    itip_strv_free(sc->sentinels, sc->n_sentinels);
    sc->n_sentinels = 0;
    if ((sc->sentinels = calloc((size_t)n + 1, sizeof(char *))) == NULL)
        return fail(lc, s, "out of memory");
    for (i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *v = e ? config_setting_get_string(e) : NULL;
        char host[256];
        long port;
        if (v == NULL)
            return fail(lc, e ? e : s, "setting '%s' must be a list of \"host:port\" strings",
                        def->name);
        if (itip_hostport_parse(v, host, sizeof host, &port) < 0)
            return fail(lc, s, "entry %d of '%s', '%s', is not \"host:port\" (a port 1 to "
                        "65535; an IPv6 address in brackets)", i + 1, def->name, v);
        if ((sc->sentinels[i] = strdup(v)) == NULL)
            return fail(lc, e, "out of memory");
        sc->n_sentinels++;
    }
    return 0;
}

/* notify.local_networks: replaces the default list. */
static int load_netlist(loadctx *lc, const setting *def, config_setting_t *s, itip_config *cfg)
{
    int i, n, t = config_setting_type(s);
    itip_notify_config *nc = &cfg->notify;

    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return fail(lc, s, "setting '%s' must be %s", def->name, type_word(def->type));
    n = config_setting_length(s);
    free(nc->local_networks);
    nc->n_local_networks = 0;
    nc->local_networks = calloc((size_t)n + 1, sizeof *nc->local_networks);
    if (nc->local_networks == NULL)
        return fail(lc, s, "out of memory");
    for (i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *v = e ? config_setting_get_string(e) : NULL;
        if (v == NULL || parse_cidr(v, &nc->local_networks[nc->n_local_networks]) < 0)
            return fail(lc, e ? e : s, "entry %d of '%s' is not a network such as "
                        "\"192.0.2.0/24\" or \"2001:db8::/32\" (got %s%s%s)", i + 1, def->name,
                        v ? "\"" : "", v ? v : "no string", v ? "\"" : "");
        nc->n_local_networks++;
    }
    return 0;
}

/* notify.on (actions) and notify.severities: lists of names, kept as bit sets. */
static int load_nameset(loadctx *lc, const setting *def, config_setting_t *s, itip_config *cfg)
{
    unsigned *mask = (unsigned *)(void *)((char *)cfg + def->offset);
    int i, n, t = config_setting_type(s);

    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return fail(lc, s, "setting '%s' must be %s", def->name, type_word(def->type));
    n = config_setting_length(s);
    *mask = 0;
    for (i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *v = e ? config_setting_get_string(e) : NULL;
        itip_action a;
        itip_severity sev;
        if (v != NULL && def->type == T_ACTIONSET && itip_action_parse(v, &a) == 0)
            *mask |= 1u << a;
        else if (v != NULL && def->type == T_SEVSET && itip_severity_parse(v, &sev) == 0)
            *mask |= 1u << sev;
        else
            return fail(lc, e ? e : s, "setting '%s' must be %s", def->name,
                        type_word(def->type));
    }
    return 0;
}

static int load_bool(loadctx *lc, const setting *def, config_setting_t *s, itip_config *cfg)
{
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return fail(lc, s, "setting '%s' must be %s", def->name, type_word(def->type));
    *(int *)(void *)((char *)cfg + def->offset) = config_setting_get_bool(s);
    return 0;
}

static int load_string(loadctx *lc, const setting *def, config_setting_t *s, itip_config *cfg)
{
    char **dst = (char **)(void *)((char *)cfg + def->offset);
    const char *v = config_setting_get_string(s);

    if (config_setting_type(s) != CONFIG_TYPE_STRING || v == NULL)
        return fail(lc, s, "setting '%s' must be %s", def->name, type_word(def->type));
    if (*v == '\0')
        return fail(lc, s, "setting '%s' must not be empty", def->name);
    free(*dst);
    if ((*dst = strdup(v)) == NULL)
        return fail(lc, s, "out of memory");
    return 0;
}

static int load_mode(loadctx *lc, const setting *def, config_setting_t *s, itip_config *cfg)
{
    const char *v = config_setting_get_string(s);
    char *end;
    long m;

    if (config_setting_type(s) != CONFIG_TYPE_STRING || v == NULL || *v == '\0')
        return fail(lc, s, "setting '%s' must be %s", def->name, type_word(def->type));
    m = strtol(v, &end, 8);
    if (*end != '\0' || m < def->min || m > def->max)
        return fail(lc, s, "setting '%s' must be %s", def->name, type_word(def->type));
    *(long *)(void *)((char *)cfg + def->offset) = m;
    return 0;
}

static int get_action(loadctx *lc, config_setting_t *s, const char *what, itip_action *out)
{
    const char *v = config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s)
                                                                 : NULL;
    if (itip_action_parse(v, out) < 0)
        return fail(lc, s, "%s must be one of \"log\", \"tag\", \"repair\", \"quarantine\", "
                    "\"tempfail\", \"reject\"", what);
    return 0;
}

static int load_action(loadctx *lc, const setting *def, config_setting_t *s, itip_config *cfg)
{
    char what[128];

    snprintf(what, sizeof what, "setting '%s'", def->name);
    return get_action(lc, s, what, (itip_action *)(void *)((char *)cfg + def->offset));
}

static int load_actions(loadctx *lc, config_setting_t *s, itip_config *cfg)
{
    int i, n;

    if (config_setting_type(s) != CONFIG_TYPE_GROUP)
        return fail(lc, s, "setting 'actions' must be a group");
    n = config_setting_length(s);
    for (i = 0; i < n; i++) {
        config_setting_t *k = config_setting_get_elem(s, (unsigned)i);
        const char *name = config_setting_name(k);
        itip_severity sev;
        char what[128];
        if (itip_severity_parse(name, &sev) < 0)
            return fail(lc, k, "unknown severity '%s' in 'actions' (known: info, degrade, "
                        "would-fail)", name);
        snprintf(what, sizeof what, "actions.%s", name);
        if (get_action(lc, k, what, &cfg->actions[sev]) < 0)
            return -1;
    }
    return 0;
}

static int load_rule(loadctx *lc, config_setting_t *r, itip_config *cfg)
{
    const char *name = config_setting_name(r);
    int idx = itip_rule_lookup(name), i, n;

    if (idx < 0)
        return fail(lc, r, "unknown rule '%s' in 'rules'", name);
    if (config_setting_type(r) != CONFIG_TYPE_GROUP)
        return fail(lc, r, "rules.%s must be a group, e.g. { severity = \"info\"; }", name);
    n = config_setting_length(r);
    for (i = 0; i < n; i++) {
        config_setting_t *k = config_setting_get_elem(r, (unsigned)i);
        const char *key = config_setting_name(k);
        if (strcmp(key, "enabled") == 0) {
            if (config_setting_type(k) != CONFIG_TYPE_BOOL)
                return fail(lc, k, "rules.%s.enabled must be true or false", name);
            cfg->rules[idx].enabled = config_setting_get_bool(k);
        } else if (strcmp(key, "severity") == 0) {
            const char *v = config_setting_get_string(k);
            if (v == NULL || itip_severity_parse(v, &cfg->rules[idx].severity) < 0)
                return fail(lc, k, "rules.%s.severity must be \"info\", \"degrade\" or "
                            "\"would-fail\"", name);
        } else if (strcmp(key, "action") == 0) {
            char what[160];
            snprintf(what, sizeof what, "rules.%s.action", name);
            if (get_action(lc, k, what, &cfg->rule_actions[idx]) < 0)
                return -1;
        } else if (strcmp(key, "notify") == 0) {
            if (config_setting_type(k) != CONFIG_TYPE_BOOL)
                return fail(lc, k, "rules.%s.notify must be true or false", name);
            cfg->rule_notify[idx] = (signed char)config_setting_get_bool(k);
        } else {
            return fail(lc, k, "unknown setting '%s' in rules.%s (known: enabled, severity, "
                        "action, notify)", key, name);
        }
    }
    return 0;
}

static int load_rules(loadctx *lc, config_setting_t *s, itip_config *cfg)
{
    int i, n;

    if (config_setting_type(s) != CONFIG_TYPE_GROUP)
        return fail(lc, s, "setting 'rules' must be a group");
    n = config_setting_length(s);
    for (i = 0; i < n; i++)
        if (load_rule(lc, config_setting_get_elem(s, (unsigned)i), cfg) < 0)
            return -1;
    return 0;
}

static const setting *find_setting(const char *name)
{
    size_t i;

    for (i = 0; i < NSCHEMA; i++)
        if (strcmp(schema[i].name, name) == 0)
            return &schema[i];
    return NULL;
}

static int load_group(loadctx *lc, const setting *def, config_setting_t *s, itip_config *cfg);

static int load_setting(loadctx *lc, const setting *def, config_setting_t *s, itip_config *cfg)
{
    switch (def->type) {
    case T_INT: case T_SIZE: return load_number(lc, def, s, cfg);
    case T_STRLIST: return load_domains(lc, def, s, cfg);
    case T_IDLIST: return load_idlist(lc, def, s, cfg);
    case T_NETLIST: return load_netlist(lc, def, s, cfg);
    case T_ACTIONSET: case T_SEVSET: return load_nameset(lc, def, s, cfg);
    case T_DOMAINSETS: return load_domainsets(lc, def, s, cfg);
    case T_RULES: return load_rules(lc, s, cfg);
    case T_BOOL: return load_bool(lc, def, s, cfg);
    case T_STRING: return load_string(lc, def, s, cfg);
    case T_MODE: return load_mode(lc, def, s, cfg);
    case T_ACTION: return load_action(lc, def, s, cfg);
    case T_ACTIONS: return load_actions(lc, s, cfg);
    case T_GROUP: return load_group(lc, def, s, cfg);
    case T_SENTINELS: return load_sentinels(lc, def, s, cfg);
    }
    return 0;
}

/* A group such as `state = { backend = "lmdb"; };`: each member is the schema entry
 * "group.member". */
static int load_group(loadctx *lc, const setting *def, config_setting_t *s, itip_config *cfg)
{
    int i, n;

    if (config_setting_type(s) != CONFIG_TYPE_GROUP)
        return fail(lc, s, "setting '%s' must be a group", def->name);
    if (strcmp(def->name, "notify") == 0)
        cfg->notify.enabled = 1;    /* the group's presence turns notices on */
    n = config_setting_length(s);
    for (i = 0; i < n; i++) {
        config_setting_t *k = config_setting_get_elem(s, (unsigned)i);
        char full[128];
        const setting *m;
        snprintf(full, sizeof full, "%s.%s", def->name, config_setting_name(k));
        m = find_setting(full);
        if (m == NULL || m->type == T_GROUP)
            return fail(lc, k, "unknown setting '%s' in '%s'", config_setting_name(k), def->name);
        if (load_setting(lc, m, k, cfg) < 0)
            return -1;
    }
    return 0;
}

static int check_state(loadctx *lc, config_t *lcfg, itip_config *cfg);

/* Values a type cannot express: the choice of state backend; Sentinel settings that belong
 * together (sentinels and master) or exclude each other (sentinels and a fixed server). */
static int check_values(loadctx *lc, config_t *lcfg, itip_config *cfg)
{
    const char *orig = cfg->notify.originator;
    const char *pm = cfg->notify.postmaster;

    if (strcmp(orig, "local") != 0 && strcmp(orig, "never") != 0)
        return fail(lc, config_lookup(lcfg, "notify.originator"),
                    "setting 'notify.originator' must be \"local\" (only senders who "
                    "authenticated or sent from local_networks) or \"never\" (got \"%s\")", orig);
    if (pm != NULL && (strchr(pm, '@') == NULL || strpbrk(pm, " \t\r\n<>") != NULL))
        return fail(lc, config_lookup(lcfg, "notify.postmaster"),
                    "setting 'notify.postmaster' must be one address such as "
                    "postmaster@example.com (got \"%s\")", pm);
    if (cfg->notify.from != NULL && strpbrk(cfg->notify.from, "\r\n") != NULL)
        return fail(lc, config_lookup(lcfg, "notify.from"),
                    "setting 'notify.from' must be one line");
    return check_state(lc, lcfg, cfg);
}

static int check_state(loadctx *lc, config_t *lcfg, itip_config *cfg)
{
    const itip_state_config *sc = &cfg->state;
    const char *b = sc->backend;
    static const char *const fixed[] = { "state.host", "state.port", "state.socket" };
    config_setting_t *s;

    if (strcmp(b, "none") != 0 && strcmp(b, "lmdb") != 0 && strcmp(b, "redis") != 0)
        return fail(lc, config_lookup(lcfg, "state.backend"),
                    "setting 'state.backend' must be one of \"none\", \"lmdb\", \"redis\" "
                    "(got \"%s\")", b);
    if (sc->n_sentinels > 0 && sc->master == NULL)
        return fail(lc, config_lookup(lcfg, "state.sentinels"),
                    "setting 'state.sentinels' needs 'state.master', the name the sentinels "
                    "know the master by");
    if (sc->master != NULL && sc->n_sentinels == 0)
        return fail(lc, config_lookup(lcfg, "state.master"),
                    "setting 'state.master' needs 'state.sentinels' to ask for it");
    if (sc->sentinel_password != NULL && sc->n_sentinels == 0)
        return fail(lc, config_lookup(lcfg, "state.sentinel_password"),
                    "setting 'state.sentinel_password' needs 'state.sentinels'");
    if (sc->n_sentinels > 0 && strcmp(b, "redis") != 0)
        return fail(lc, config_lookup(lcfg, "state.sentinels"),
                    "setting 'state.sentinels' is for state.backend \"redis\" (got \"%s\")", b);
    for (size_t i = 0; sc->n_sentinels > 0 && i < sizeof fixed / sizeof fixed[0]; i++)
        if ((s = config_lookup(lcfg, fixed[i])) != NULL)
            return fail(lc, s, "setting '%s' and 'state.sentinels' exclude each other: with "
                        "sentinels the master's address comes from them", fixed[i]);
    b = cfg->quarantine.on_max_hold_age;
    if (strcmp(b, "keep") == 0)
        cfg->quarantine.policy = ITIP_HOLD_KEEP;
    else if (strcmp(b, "release") == 0)
        cfg->quarantine.policy = ITIP_HOLD_RELEASE;
    else if (strcmp(b, "return") == 0)
        cfg->quarantine.policy = ITIP_HOLD_RETURN;
    else
        return fail(lc, config_lookup(lcfg, "quarantine.on_max_hold_age"),
                    "setting 'quarantine.on_max_hold_age' must be one of \"keep\", "
                    "\"release\", \"return\" (got \"%s\")", b);
    if (cfg->quarantine.sendmail[0] != '/')
        return fail(lc, config_lookup(lcfg, "quarantine.sendmail"),
                    "setting 'quarantine.sendmail' must be an absolute path (got \"%s\")",
                    cfg->quarantine.sendmail);
    return 0;
}

static int load_root(loadctx *lc, config_t *lcfg, itip_config *cfg)
{
    config_setting_t *root = config_root_setting(lcfg);
    int i, n = config_setting_length(root);

    for (i = 0; i < n; i++) {
        config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const setting *def = find_setting(config_setting_name(s));
        if (def == NULL || strchr(def->name, '.') != NULL)
            return fail(lc, s, "unknown setting '%s'", config_setting_name(s));
        if (load_setting(lc, def, s, cfg) < 0)
            return -1;
    }
    return check_values(lc, lcfg, cfg);
}

itip_config *itip_config_load(const char *file, char *errbuf, size_t errlen)
{
    loadctx lc = { file, errbuf, errlen };
    config_t lcfg;
    itip_config *cfg;
    FILE *fp;
    int r;

    if (errlen)
        errbuf[0] = '\0';
    fp = fopen(file, "r");
    if (fp == NULL) {
        fail(&lc, NULL, "cannot read: %s", strerror(errno));
        return NULL;
    }
    cfg = itip_config_default();
    if (cfg == NULL || (cfg->file = strdup(file)) == NULL) {
        fclose(fp);
        itip_config_free(cfg);
        fail(&lc, NULL, "out of memory");
        return NULL;
    }
    config_init(&lcfg);
    r = config_read(&lcfg, fp);
    fclose(fp);
    if (r != CONFIG_TRUE) {
        snprintf(errbuf, errlen, "%s:%d: %s", file, config_error_line(&lcfg),
                 config_error_text(&lcfg));
        r = -1;
    } else {
        r = load_root(&lc, &lcfg, cfg);
    }
    config_destroy(&lcfg);
    if (r < 0) {
        itip_config_free(cfg);
        return NULL;
    }
    return cfg;
}
