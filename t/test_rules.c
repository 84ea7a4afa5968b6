/*
 * test_rules.c - every rule against its own test messages under t/rules/<rule-id>/.
 *
 *   pos-*.eml|.ics          must produce a finding of <rule-id>
 *   pos-<severity>-*        ... and one of them with that severity (info, degrade, would-fail)
 *   neg-*.eml|.ics          must not produce <rule-id>, nor any would-fail finding at all
 *   test.conf               optional configuration for every file of the directory
 *   pos-[<severity>-]NAME/  a scenario for the stateful rules: its files 01-*.eml|.ics,
 *   neg-NAME/               02-*... are fed in name order to one engine with a fresh LMDB
 *                           store (a temporary directory), recording after each; the assertion
 *                           above applies to the LAST file only
 *
 * Every rule of the table must have at least one positive and one negative file or scenario.
 * The clock is fixed at 2026-06-01T12:00:00Z.
 */
#include "ac-config.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/config.h"
#include "engine/engine.h"
#include "base/strbuf.h"
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

/* Feeds one file to E (fresh or reset) and finishes; 0, or -1 when unreadable or failed. */
static int run_file(itip_engine *e, const char *path)
{
    strbuf data;
    int rc;

    itip_strbuf_init(&data, 0);
    if (slurp(path, &data) < 0) {
        itip_strbuf_free(&data);
        return -1;
    }
    itip_engine_set_now(e, TEST_NOW);
    rc = itip_looks_like_ical(data.s, data.len) ? itip_engine_feed_ical(e, data.s, data.len)
                                                : itip_engine_feed(e, data.s, data.len);
    if (rc == 0)
        rc = itip_engine_finish(e);
    itip_strbuf_free(&data);
    return rc;
}

/* The assertion of a pos-/neg- NAME on the findings of E (RC: the run's result). */
static void judge(const char *name, int rule, const itip_engine *e, int rc)
{
    const itip_findings *f = itip_engine_findings(e);
    int pos = strncmp(name, "pos-", 4) == 0, has = 0, sev_ok = 0, wf = 0;
    itip_severity want = ITIP_SEV_NONE;
    size_t i;

    for (i = 0; i < f->n; i++) {
        if ((int)f->v[i].rule == rule)
            has = 1;
        if (f->v[i].severity == ITIP_SEV_WOULD_FAIL)
            wf = 1;
    }
    if (pos && severity_in_name(name, &want) != NULL) {
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
}

static void check_file(const char *dir, const char *name, int rule, const itip_config *cfg)
{
    char path[8192];
    itip_engine *e;
    int rc;

    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        ok(0, "path of %s fits", name);
        return;
    }
    if ((e = itip_engine_new(cfg)) == NULL) {
        ok(0, "%s: engine", name);
        return;
    }
    rc = run_file(e, path);
    judge(name, rule, e, rc);
    itip_engine_free(e);
}

/* ---- scenarios: several files through one engine and one store ---- */

static int is_step(const struct dirent *d)
{
    return d->d_name[0] >= '0' && d->d_name[0] <= '9' &&
           (strstr(d->d_name, ".eml") != NULL || strstr(d->d_name, ".ics") != NULL);
}

static int by_name(const struct dirent **a, const struct dirent **b);

/* Removes the files of a store directory, then the directory. */
static void remove_store_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *x;
    char path[4200];

    while (d != NULL && (x = readdir(d)) != NULL) {
        if (strcmp(x->d_name, ".") == 0 || strcmp(x->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, x->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
}

static itip_store *open_temp_store(const itip_config *cfg, char *dir, size_t len)
{
    itip_state_config sc = cfg->state;
    const char *tmp = getenv("TMPDIR");
    char err[512];
    itip_store *st;

    snprintf(dir, len, "%s/itip-rules-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        diag("mkdtemp %s: %s", dir, strerror(errno));
        return NULL;
    }
    sc.backend = (char *)"lmdb";
    sc.path = dir;
    st = itip_store_open(&sc, err, sizeof err);
    if (st == NULL) {
        diag("store in %s: %s", dir, err);
        remove_store_dir(dir);
    }
    return st;
}

static void check_scenario(const char *dir, const char *name, int rule, const itip_config *cfg)
{
    char sdir[4096], store_dir[4096], path[8400];
    struct dirent **steps;
    itip_store *st;
    itip_engine *e;
    int n, i, rc = -1;

    if (snprintf(sdir, sizeof sdir, "%s/%s", dir, name) >= (int)sizeof sdir) {
        ok(0, "path of %s fits", name);
        return;
    }
    n = scandir(sdir, &steps, is_step, by_name);
    if (!ok(n > 0, "%s/%s has numbered steps", itip_rules[rule].id, name))
        return;
    st = open_temp_store(cfg, store_dir, sizeof store_dir);
    e = st ? itip_engine_new(cfg) : NULL;
    if (ok(e != NULL, "%s/%s: an LMDB store and an engine", itip_rules[rule].id, name)) {
        itip_engine_set_store(e, st);
        for (i = 0; i < n; i++) {
            if (snprintf(path, sizeof path, "%s/%s", sdir, steps[i]->d_name) >=
                (int)sizeof path)
                break;
            itip_engine_reset(e);
            rc = run_file(e, path);
            if (rc == 0 && itip_engine_record(e) < 0) {
                diag("%s: recording failed: %s", path, itip_store_error(st));
                rc = -1;
            }
            if (rc < 0 || i + 1 == n)
                break;
        }
        if (itip_engine_state_note(e) != NULL)
            diag("%s: %s", name, itip_engine_state_note(e));
        judge(name, rule, e, rc);
    }
    for (i = 0; i < n; i++)
        free(steps[i]);
    free(steps);
    itip_engine_free(e);
    if (st != NULL) {
        itip_store_close(st);
        remove_store_dir(store_dir);
    }
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
        char path[8192];
        int scenario = snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path &&
                       stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        int pos = strncmp(name, "pos-", 4) == 0, neg = strncmp(name, "neg-", 4) == 0;

        if (pos || neg) {
            (pos ? npos : nneg)[rule]++;
            if (scenario)
                check_scenario(dir, name, rule, cfg);
            else
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
