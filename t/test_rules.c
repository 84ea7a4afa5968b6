/*
 * test_rules.c - every rule against its own test messages under t/rules/<rule-id>/.
 *
 *   pos-*.eml|.ics          must produce a finding of <rule-id>
 *   pos-<severity>-*        ... and one of them with that severity (info, degrade, would-fail)
 *   neg-*.eml|.ics          must not produce <rule-id>, nor any would-fail finding at all
 *   test.conf               optional configuration for every file of the directory
 *
 * Every rule of the table must have at least one positive and one negative file.  The clock is
 * fixed at 2026-06-01T12:00:00Z.
 */
#include "ac-config.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "config.h"
#include "engine.h"
#include "strbuf.h"
#include "tap.h"

#define TEST_NOW 1780315200   /* 2026-06-01T12:00:00Z */

static int slurp(const char *path, strbuf *b)
{
    FILE *fp = fopen(path, "rb");
    char buf[8192];
    size_t n;

    if (fp == NULL)
        return -1;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        itip_strbuf_append(b, buf, n);
    fclose(fp);
    return 0;
}

static const char *severity_in_name(const char *name, itip_severity *sev)
{
    static const struct { const char *prefix; itip_severity s; } map[] = {
        { "pos-would-fail-", ITIP_SEV_WOULD_FAIL },
        { "pos-degrade-", ITIP_SEV_DEGRADE },
        { "pos-info-", ITIP_SEV_INFO },
    };
    size_t i;

    for (i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncmp(name, map[i].prefix, strlen(map[i].prefix)) == 0) {
            *sev = map[i].s;
            return map[i].prefix;
        }
    return NULL;
}

static void list_findings(const itip_findings *f)
{
    size_t i;

    for (i = 0; i < f->n; i++)
        diag("  found %s (%s): %s", itip_rules[f->v[i].rule].id,
             itip_severity_name(f->v[i].severity), f->v[i].detail);
}

static void check_file(const char *dir, const char *name, int rule, const itip_config *cfg)
{
    char path[8192];
    strbuf data;
    itip_engine *e;
    const itip_findings *f;
    int pos = strncmp(name, "pos-", 4) == 0, has = 0, sev_ok = 0, wf = 0, rc;
    itip_severity want = ITIP_SEV_NONE;
    size_t i;

    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        ok(0, "path of %s fits", name);
        return;
    }
    itip_strbuf_init(&data, 0);
    if (slurp(path, &data) < 0) {
        ok(0, "%s: readable", path);
        return;
    }
    e = itip_engine_new(cfg);
    itip_engine_set_now(e, TEST_NOW);
    rc = itip_looks_like_ical(data.s, data.len) ? itip_engine_feed_ical(e, data.s, data.len)
                                                : itip_engine_feed(e, data.s, data.len);
    if (rc == 0)
        rc = itip_engine_finish(e);
    f = itip_engine_findings(e);
    for (i = 0; i < f->n; i++) {
        if ((int)f->v[i].rule == rule) {
            has = 1;
            if (f->v[i].severity == want)
                sev_ok = 1;
        }
        if (f->v[i].severity == ITIP_SEV_WOULD_FAIL)
            wf = 1;
    }
    if (pos && severity_in_name(name, &want) != NULL) {
        sev_ok = 0;
        for (i = 0; i < f->n; i++)
            if ((int)f->v[i].rule == rule && f->v[i].severity == want)
                sev_ok = 1;
        if (!ok(rc == 0 && sev_ok, "%s/%s raises %s as %s", itip_rules[rule].id, name,
                itip_rules[rule].id, itip_severity_name(want)))
            list_findings(f);
    } else if (pos) {
        if (!ok(rc == 0 && has, "%s/%s raises %s", itip_rules[rule].id, name, itip_rules[rule].id))
            list_findings(f);
    } else {
        if (!ok(rc == 0 && !has && !wf, "%s/%s: no %s and no would-fail", itip_rules[rule].id,
                name, itip_rules[rule].id))
            list_findings(f);
    }
    itip_engine_free(e);
    itip_strbuf_free(&data);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void check_dir(const char *root, const char *id, int *npos, int *nneg)
{
    char dir[4096], confpath[4200], err[1024];
    struct dirent **ents;
    itip_config *cfg;
    struct stat st;
    int rule = itip_rule_lookup(id), n, i;

    if (snprintf(dir, sizeof dir, "%s/%s", root, id) >= (int)sizeof dir ||
        snprintf(confpath, sizeof confpath, "%s/test.conf", dir) >= (int)sizeof confpath) {
        ok(0, "path of t/rules/%s fits", id);
        return;
    }
    if (!ok(rule >= 0, "t/rules/%s names a rule", id))
        return;
    cfg = stat(confpath, &st) == 0 ? itip_config_load(confpath, err, sizeof err)
                                   : itip_config_default();
    if (!ok(cfg != NULL, "%s: configuration loads", id)) {
        diag("%s", err);
        return;
    }
    n = scandir(dir, &ents, NULL, by_name);
    for (i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        if (strncmp(name, "pos-", 4) == 0) {
            npos[rule]++;
            check_file(dir, name, rule, cfg);
        } else if (strncmp(name, "neg-", 4) == 0) {
            nneg[rule]++;
            check_file(dir, name, rule, cfg);
        }
        free(ents[i]);
    }
    free(ents);
    itip_config_free(cfg);
}

int main(void)
{
    const char *top = getenv("top_srcdir");
    char root[4096];
    struct dirent **ents;
    int npos[ITIP_RULE_COUNT] = { 0 }, nneg[ITIP_RULE_COUNT] = { 0 }, n, i;

    snprintf(root, sizeof root, "%s/t/rules", top ? top : ".");
    n = scandir(root, &ents, NULL, by_name);
    if (!ok(n >= 0, "%s is readable", root))
        return done_testing();
    for (i = 0; i < n; i++) {
        if (ents[i]->d_name[0] != '.')
            check_dir(root, ents[i]->d_name, npos, nneg);
        free(ents[i]);
    }
    free(ents);
    for (i = 0; i < ITIP_RULE_COUNT; i++)
        ok(npos[i] > 0 && nneg[i] > 0, "%s has a positive (%d) and a negative (%d) test message",
           itip_rules[i].id, npos[i], nneg[i]);
    return done_testing();
}
