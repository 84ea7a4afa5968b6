/*
 * findings.c - the bounded list of findings for one message (see findings.h).
 * Every string is copied; one line each; nothing here knows about MIME or iCalendar.
 */
#include "ac-config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/findings.h"

#define DETAIL_MAX 300

void itip_findings_init(itip_findings *f, size_t max, const itip_rule_setting *settings)
{
    memset(f, 0, sizeof *f);
    f->max = max;
    f->settings = settings;
}

static void finding_free(itip_finding *x)
{
    free(x->method);
    free(x->uid);
    free(x->component);
    free(x->property);
    free(x->detail);
}

void itip_findings_clear(itip_findings *f)
{
    size_t i, max = f->max;
    const itip_rule_setting *settings = f->settings;

    for (i = 0; i < f->n; i++)
        finding_free(&f->v[i]);
    free(f->v);
    memset(f, 0, sizeof *f);
    f->max = max;
    f->settings = settings;
}

/* A copy of S cut to LIMIT bytes (not inside a UTF-8 sequence), controls replaced by spaces. */
static char *one_line(const char *s, size_t limit, int *fail)
{
    size_t n, i;
    char *d;

    if (s == NULL)
        return NULL;
    n = strlen(s);
    if (n > limit) {
        n = limit;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    d = malloc(n + 1);
    if (d == NULL) {
        *fail = 1;
        return NULL;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        d[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    d[n] = '\0';
    return d;
}

int itip_findings_add(itip_findings *f, itip_rule_id rule, itip_severity sev, int part,
                      const char *method, const char *uid, const char *component,
                      const char *property, const char *fmt, ...)
{
    itip_finding x;
    char detail[DETAIL_MAX + 1];
    va_list ap;
    int fail = 0;

    if ((unsigned)rule >= ITIP_RULE_COUNT)
        return -1;
    if (f->settings != NULL) {
        if (!f->settings[rule].enabled)
            return 0;
        if (f->settings[rule].severity != ITIP_SEV_NONE)
            sev = f->settings[rule].severity;
    }
    if (f->max && f->n >= f->max) {
        f->dropped++;
        return -1;
    }
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 8;
        itip_finding *nv = realloc(f->v, ncap * sizeof *nv);
        if (nv == NULL) {
            f->oom = 1;
            return -1;
        }
        f->v = nv;
        f->cap = ncap;
    }
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);

    memset(&x, 0, sizeof x);
    x.rule = rule;
    x.severity = sev;
    x.part = part;
    x.method = one_line(method, 64, &fail);
    x.uid = one_line(uid, 1024, &fail);
    x.component = one_line(component, 64, &fail);
    x.property = one_line(property, 128, &fail);
    x.detail = one_line(detail, DETAIL_MAX, &fail);
    if (fail || x.detail == NULL) {
        finding_free(&x);
        f->oom = 1;
        return -1;
    }
    f->v[f->n++] = x;
    return 0;
}

int itip_findings_has(const itip_findings *f, itip_rule_id rule)
{
    size_t i;

    for (i = 0; i < f->n; i++)
        if (f->v[i].rule == rule)
            return 1;
    return 0;
}

itip_severity itip_findings_worst(const itip_findings *f)
{
    itip_severity w = ITIP_SEV_NONE;
    size_t i;

    for (i = 0; i < f->n; i++)
        if (f->v[i].severity > w)
            w = f->v[i].severity;
    return w;
}

static int before(const itip_finding *a, const itip_finding *b)
{
    if (a->severity != b->severity)
        return a->severity > b->severity;
    if (a->part != b->part)
        return a->part < b->part;
    return a->rule < b->rule;
}

void itip_findings_sort(itip_findings *f)
{
    size_t i, j;

    /* insertion sort: stable, and lists are short (bounded by max_findings) */
    for (i = 1; i < f->n; i++) {
        itip_finding x = f->v[i];
        for (j = i; j > 0 && before(&x, &f->v[j - 1]); j--)
            f->v[j] = f->v[j - 1];
        f->v[j] = x;
    }
}
