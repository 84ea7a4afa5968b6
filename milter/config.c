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
#include <libconfig.h>
#include "config.h"

typedef enum { T_INT, T_SIZE, T_STRLIST, T_RULES } setting_type;

typedef struct {
    const char *name;
    setting_type type;
    size_t offset;            /* into itip_config */
    long long min, max, def;  /* T_INT / T_SIZE */
} setting;

#define OFF(f) offsetof(itip_config, f)
#define LIM(f) (offsetof(itip_config, limits) + offsetof(itip_limits, f))
#define KiB 1024LL
#define MiB (1024LL * 1024LL)

static const setting schema[] = {
    { "legacy_cdo_domains", T_STRLIST, OFF(legacy_cdo_domains), 0, 0, 0 },
    { "clock_skew_tolerance", T_INT, OFF(clock_skew_tolerance), 0, 86400 * 365LL, 300 },
    { "date_header_skew", T_INT, OFF(date_header_skew), 0, 86400 * 365LL, 900 },
    { "max_calendar_part_size", T_SIZE, LIM(max_calendar_part_size), 1 * KiB, 256 * MiB, 1 * MiB },
    { "max_calendar_parts", T_SIZE, LIM(max_calendar_parts), 1, 1000, 16 },
    { "max_mime_depth", T_SIZE, LIM(max_mime_depth), 1, 1000, 32 },
    { "max_parts", T_SIZE, LIM(max_parts), 1, 1000000, 1000 },
    { "max_header_size", T_SIZE, LIM(max_header_size), 1 * KiB, 16 * MiB, 64 * KiB },
    { "max_findings", T_SIZE, LIM(max_findings), 1, 10000, 100 },
    { "max_ical_components", T_SIZE, LIM(max_ical_components), 1, 10000000, 10000 },
    { "rules", T_RULES, 0, 0, 0, 0 },
};
#define NSCHEMA (sizeof schema / sizeof schema[0])

static void set_defaults(itip_config *cfg)
{
    size_t i;

    for (i = 0; i < NSCHEMA; i++) {
        char *base = (char *)cfg + schema[i].offset;
        if (schema[i].type == T_INT)
            *(long *)(void *)base = (long)schema[i].def;
        else if (schema[i].type == T_SIZE)
            *(size_t *)(void *)base = (size_t)schema[i].def;
    }
    for (i = 0; i < ITIP_RULE_COUNT; i++) {
        cfg->rules[i].enabled = 1;
        cfg->rules[i].severity = ITIP_SEV_NONE;
    }
}

itip_config *itip_config_default(void)
{
    itip_config *cfg = calloc(1, sizeof *cfg);

    if (cfg != NULL)
        set_defaults(cfg);
    return cfg;
}

void itip_config_free(itip_config *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    for (i = 0; i < cfg->n_legacy_cdo_domains; i++)
        free(cfg->legacy_cdo_domains[i]);
    free(cfg->legacy_cdo_domains);
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

static int load_domains(loadctx *lc, const setting *def, config_setting_t *s, itip_config *cfg)
{
    int i, n, t = config_setting_type(s);

    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return fail(lc, s, "setting '%s' must be %s", def->name, type_word(def->type));
    n = config_setting_length(s);
    cfg->legacy_cdo_domains = calloc((size_t)n + 1, sizeof(char *));
    if (cfg->legacy_cdo_domains == NULL)
        return fail(lc, s, "out of memory");
    for (i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *v = e ? config_setting_get_string(e) : NULL;
        char *d, *p;
        if (v == NULL)
            return fail(lc, e ? e : s, "setting '%s' must be %s", def->name,
                        type_word(def->type));
        if (*v == '\0' || strchr(v, '@') != NULL || strchr(v, ' ') != NULL)
            return fail(lc, e, "'%s' in '%s' is not a domain name (or \"*\")", v, def->name);
        d = strdup(v);
        if (d == NULL)
            return fail(lc, e, "out of memory");
        for (p = d; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        cfg->legacy_cdo_domains[cfg->n_legacy_cdo_domains++] = d;
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
        } else {
            return fail(lc, k, "unknown setting '%s' in rules.%s (known: enabled, severity)",
                        key, name);
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

static int load_root(loadctx *lc, config_t *lcfg, itip_config *cfg)
{
    config_setting_t *root = config_root_setting(lcfg);
    int i, n = config_setting_length(root), r = 0;

    for (i = 0; i < n && r == 0; i++) {
        config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const setting *def = find_setting(config_setting_name(s));
        if (def == NULL)
            return fail(lc, s, "unknown setting '%s'", config_setting_name(s));
        switch (def->type) {
        case T_INT: case T_SIZE: r = load_number(lc, def, s, cfg); break;
        case T_STRLIST: r = load_domains(lc, def, s, cfg); break;
        case T_RULES: r = load_rules(lc, s, cfg); break;
        }
    }
    return r;
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
