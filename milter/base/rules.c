/*
 * rules.c - the rule table (generated from rules.def) and severity names.
 * Exports itip_rules[], itip_rule_source(), itip_rule_remedy() (from rules_about.def),
 * itip_rule_lookup(), itip_severity_name(), itip_severity_parse().
 */
#include "ac-config.h"
#include <string.h>
#include "base/rules.h"

const itip_rule itip_rules[ITIP_RULE_COUNT] = {
#define RULE(e, id, cat, sev, sum) { id, cat, ITIP_SEV_##sev, sum },
#include "base/rules.def"
#undef RULE
};

static const struct { const char *source, *remedy; } about[ITIP_RULE_COUNT] = {
#define ABOUT(e, src, rem) [ITIP_R_##e] = { src, rem },
#include "base/rules_about.def"
#undef ABOUT
};

const char *itip_rule_source(int i)
{
    return i >= 0 && i < ITIP_RULE_COUNT && about[i].source ? about[i].source : "";
}

const char *itip_rule_remedy(int i)
{
    return i >= 0 && i < ITIP_RULE_COUNT && about[i].remedy ? about[i].remedy : "";
}

int itip_rule_lookup(const char *id)
{
    int i;

    for (i = 0; i < ITIP_RULE_COUNT; i++)
        if (strcmp(itip_rules[i].id, id) == 0)
            return i;
    return -1;
}

const char *itip_severity_name(itip_severity s)
{
    switch (s) {
    case ITIP_SEV_INFO: return "info";
    case ITIP_SEV_DEGRADE: return "degrade";
    case ITIP_SEV_WOULD_FAIL: return "would-fail";
    default: return "pass";
    }
}

int itip_severity_parse(const char *s, itip_severity *out)
{
    static const itip_severity all[] = { ITIP_SEV_INFO, ITIP_SEV_DEGRADE, ITIP_SEV_WOULD_FAIL };
    size_t i;

    for (i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, itip_severity_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}
