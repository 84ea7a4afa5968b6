/*
 * quar_digest.c - the digest of held messages (see quar_digest.h): the model (ages, overdue,
 * deciding rules, sender domains, arrivals per day), its text and JSON forms, and the digest
 * command.  Message content reaches the output only escaped (quar_put_safe, JSON strings).
 */
#include "ac-config.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/json.h"
#include "quar_digest.h"
#include "quar_text.h"

#define MAX_GROUPS 4096         /* distinct rules or domains counted */

static void oom(void)
{
    fputs("itip-quarantine: out of memory\n", stderr);
}

char *qd_safe(const char *text)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);

    if (m == NULL)
        return NULL;
    quar_puts_safe(m, text);
    if (fclose(m) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

void qd_age_text(char *buf, size_t len, long s)
{
    if (s < 0)
        s = 0;
    if (s >= 86400)
        snprintf(buf, len, "%ldd %ldh", s / 86400, s % 86400 / 3600);
    else if (s >= 3600)
        snprintf(buf, len, "%ldh %ldm", s / 3600, s % 3600 / 60);
    else if (s >= 60)
        snprintf(buf, len, "%ldm", s / 60);
    else
        snprintf(buf, len, "%lds", s);
}

const char *qd_command(const qd_digest *d, const char *verb, const char *id)
{
    static char buf[4096 + 2 * QUAR_ID_MAX];

    snprintf(buf, sizeof buf, "%s %s %s", d->q->cmd_prefix ? d->q->cmd_prefix
                                                           : "itip-quarantine", verb, id);
    return buf;
}

void qd_finding(const char *hdr, char *buf, size_t len, const char **rule, const char **sev,
                const char **detail)
{
    char *p, *q;

    snprintf(buf, len, "%s", hdr);
    *rule = buf;
    *sev = NULL;
    *detail = NULL;
    p = strchr(buf, ';');
    if (p == NULL)
        return;
    *p++ = '\0';
    while (*p == ' ')
        p++;
    if (strncmp(p, "severity=", 9) == 0) {
        *sev = p + 9;
        q = strchr(p, ';');
        if (q) {
            *q++ = '\0';
            while (*q == ' ')
                q++;
            *detail = q;
        }
    } else {
        *detail = p;
    }
}

const char *qd_remedy(const char *rule)
{
    int i = rule ? itip_rule_lookup(rule) : -1;

    return i < 0 ? NULL : itip_rule_remedy(i);
}

/* The deciding rules of IT: "a, b" inside the result's parentheses after "severity: ", else
 * the rule of each finding header, each once. */
static int entry_rules(qd_entry *e)
{
    const quar_item *it = e->it;
    const char *open = it->result ? strchr(it->result, '(') : NULL;
    const char *close = open ? strchr(open, ')') : NULL;
    char *list = NULL, *tok, *save = NULL;
    size_t i, j;

    if (close) {
        const char *colon = memchr(open, ':', (size_t)(close - open));
        const char *from = colon ? colon + 1 : open + 1;
        list = strndup(from, (size_t)(close - from));
        if (list == NULL)
            return -1;
        for (tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
            char **v = realloc(e->rules, (e->nrules + 1) * sizeof *v);
            if (v == NULL || (v[e->nrules] = strdup(tok)) == NULL) {
                if (v)
                    e->rules = v;
                free(list);
                return -1;
            }
            e->rules = v;
            e->nrules++;
        }
        free(list);
    }
    for (i = 0; e->nrules == 0 && i < it->nfindings; i++) {
        size_t n = strcspn(it->findings[i], ";");
        char **v;
        for (j = 0; j < i; j++)
            if (strncmp(it->findings[j], it->findings[i], n) == 0 && it->findings[j][n] == ';')
                break;
        if (j < i)
            continue;
        v = realloc(e->rules, (e->nrules + 1) * sizeof *v);
        if (v == NULL)
            return -1;
        e->rules = v;
        if ((v[e->nrules] = strndup(it->findings[i], n)) == NULL)
            return -1;
        e->nrules++;
    }
    return 0;
}

static char *sender_domain(const char *sender)
{
    const char *at = sender ? strrchr(sender, '@') : NULL;
    char *d, *p;

    d = strdup(at ? at + 1 : (sender && *sender ? sender : ""));
    for (p = d; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (d && (p = strchr(d, '>')) != NULL)
        *p = '\0';
    return d;
}

static const char *first_rule(const qd_entry *e)
{
    return e->nrules ? e->rules[0] : "-";
}

static int entry_cmp(const void *a, const void *b)
{
    const qd_entry *x = a, *y = b;
    int c;

    if (x->overdue != y->overdue)
        return y->overdue - x->overdue;
    if (!x->overdue && (c = strcmp(first_rule(x), first_rule(y))) != 0)
        return c;
    if (x->it->arrival != y->it->arrival)
        return x->it->arrival < y->it->arrival ? -1 : 1;
    return strcmp(x->it->id, y->it->id);
}

static time_t day_of(time_t t)
{
    return t - ((t % 86400) + 86400) % 86400;
}

int qd_build(qd_digest *d, const quar_ctx *q)
{
    const itip_quarantine_config *qc = &q->cfg->quarantine;
    size_t i;
    time_t first = q->now;

    memset(d, 0, sizeof *d);
    d->q = q;
    d->now = q->now;
    if (quar_cmd_load(q, &d->l) < 0)
        return -1;
    d->e = calloc(d->l.n ? d->l.n : 1, sizeof *d->e);
    if (d->e == NULL) {
        oom();
        return -1;
    }
    for (i = 0; i < d->l.n; i++) {
        const quar_item *it = &d->l.v[i];
        qd_entry *e = &d->e[d->n];
        long age;
        int overdue;
        if (!quar_item_ours(it))
            continue;
        age = it->arrival > 0 && it->arrival < d->now ? (long)(d->now - it->arrival) : 0;
        overdue = qc->digest_overdue > 0 && age > qc->digest_overdue;
        /* --since, --rule, --sender narrow the digest; an overdue message is always in it */
        if (!overdue && !quar_item_match(it, &q->filter))
            continue;
        e->it = it;
        e->age = age;
        e->overdue = overdue;
        e->domain = sender_domain(it->sender);
        if (e->domain == NULL || entry_rules(e) < 0) {
            d->n++;
            oom();
            return -1;
        }
        d->n++;
        d->noverdue += (size_t)overdue;
        if (it->arrival > 0 && it->arrival < first)
            first = it->arrival;
    }
    qsort(d->e, d->n, sizeof *d->e, entry_cmp);
    d->start = q->filter.since_set ? q->filter.since : first;
    if (d->start > d->now)
        d->start = d->now;
    d->ndays = (size_t)((day_of(d->now) - day_of(d->start)) / 86400) + 1;
    if (d->ndays > QD_MAX_DAYS)
        d->ndays = QD_MAX_DAYS;
    for (i = 0; i < d->n; i++) {
        time_t a = d->e[i].it->arrival;
        long k = (long)d->ndays - 1 - (long)((day_of(d->now) - day_of(a)) / 86400);
        d->day[k < 0 ? 0 : k > (long)d->ndays - 1 ? (long)d->ndays - 1 : k]++;
    }
    return 0;
}

void qd_free(qd_digest *d)
{
    size_t i, j;

    for (i = 0; d->e && i < d->n; i++) {
        for (j = 0; j < d->e[i].nrules; j++)
            free(d->e[i].rules[j]);
        free(d->e[i].rules);
        free(d->e[i].domain);
    }
    free(d->e);
    d->e = NULL;
    quar_list_free(&d->l);
}

/* Adds one to the count of KEY in KEYS/COUNTS (N of them, at most MAX). */
static void count(const char **keys, size_t *counts, size_t *n, size_t max, const char *key)
{
    size_t i;

    for (i = 0; i < *n; i++)
        if (strcmp(keys[i], key) == 0) {
            counts[i]++;
            return;
        }
    if (*n < max) {
        keys[*n] = key;
        counts[(*n)++] = 1;
    }
}

/* Most first, then by name. */
static void sort_counts(const char **keys, size_t *counts, size_t n)
{
    size_t i, j;

    for (i = 1; i < n; i++)
        for (j = i; j > 0 && (counts[j] > counts[j - 1] ||
                              (counts[j] == counts[j - 1] && strcmp(keys[j], keys[j - 1]) < 0));
             j--) {
            const char *k = keys[j];
            size_t c = counts[j];
            keys[j] = keys[j - 1];
            counts[j] = counts[j - 1];
            keys[j - 1] = k;
            counts[j - 1] = c;
        }
}

size_t qd_rule_counts(const qd_digest *d, const char **rules, size_t *counts, size_t max)
{
    size_t i, j, n = 0;

    for (i = 0; i < d->n; i++) {
        for (j = 0; j < d->e[i].nrules; j++)
            count(rules, counts, &n, max, d->e[i].rules[j]);
        if (d->e[i].nrules == 0)
            count(rules, counts, &n, max, "-");
    }
    sort_counts(rules, counts, n);
    return n;
}

size_t qd_domain_counts(const qd_digest *d, const char **doms, size_t *counts, size_t max)
{
    size_t i, n = 0;

    for (i = 0; i < d->n; i++)
        count(doms, counts, &n, max, d->e[i].domain);
    sort_counts(doms, counts, n);
    return n;
}

void qd_day_label(const qd_digest *d, size_t i, char *buf, size_t len)
{
    time_t t = day_of(d->now) - (time_t)(d->ndays - 1 - i) * 86400;
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d", &tm) == 0)
        snprintf(buf, len, "@%lld", (long long)t);
}

static void put_time(FILE *out, time_t t)
{
    struct tm tm;
    char buf[64];

    if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        snprintf(buf, sizeof buf, "@%lld", (long long)t);
    fputs(buf, out);
}

/* ------------------------------------------------------------------------ text */

static void text_entry(FILE *out, const qd_digest *d, const qd_entry *e)
{
    const quar_item *it = e->it;
    char age[64], buf[2048];
    size_t i;

    qd_age_text(age, sizeof age, e->age);
    fprintf(out, "  %s  held %s, since ", it->id, age);
    put_time(out, it->arrival);
    fputs(e->overdue ? "  OVERDUE\n" : "\n", out);
    fputs("    Sender:      ", out);
    quar_puts_safe(out, it->sender[0] ? it->sender : "<>");
    fputs("\n    From:        ", out);
    quar_puts_safe(out, it->from);
    fputs("\n    Recipients:  ", out);
    for (i = 0; i < it->nrcpts; i++) {
        fputs(i ? ", " : "", out);
        quar_puts_safe(out, it->rcpts[i]);
    }
    fputs("\n    Subject:     ", out);
    quar_puts_safe(out, it->subject);
    fputc('\n', out);
    for (i = 0; i < it->nfindings; i++) {
        const char *rule, *sev, *detail, *remedy;
        qd_finding(it->findings[i], buf, sizeof buf, &rule, &sev, &detail);
        fputs("    Finding:     ", out);
        quar_puts_safe(out, rule);
        if (sev) {
            fputs(" (", out);
            quar_puts_safe(out, sev);
            fputc(')', out);
        }
        if (detail) {
            fputs(": ", out);
            quar_puts_safe(out, detail);
        }
        fputc('\n', out);
        if ((remedy = qd_remedy(rule)) != NULL)
            fprintf(out, "      Remedy:    %s\n", remedy);
    }
    fprintf(out, "    Release:     %s\n", qd_command(d, "release", it->id));
    fprintf(out, "    Delete:      %s\n", qd_command(d, "delete", it->id));
}

void qd_text(FILE *out, const qd_digest *d)
{
    const char *keys[MAX_GROUPS];
    size_t counts[MAX_GROUPS], n, i, j;
    char age[64], day[32];
    const char *group = NULL;

    qd_age_text(age, sizeof age, d->q->cfg->quarantine.digest_overdue);
    fprintf(out, "itip-quarantine digest (%s %s queue), ", d->q->mta->name, d->q->mta->queue);
    put_time(out, d->now);
    fprintf(out, "\n%zu message%s held by itip-milter, %zu overdue (held longer than %s)\n",
            d->n, d->n == 1 ? "" : "s", d->noverdue,
            d->q->cfg->quarantine.digest_overdue ? age : "ever: overdue marking is off");
    fputs("Period: ", out);
    put_time(out, d->start);
    fputs(" to ", out);
    put_time(out, d->now);
    fputc('\n', out);
    if (d->n == 0) {
        fputs("\nNothing is held.\n", out);
        return;
    }
    fputs("\nHeld messages per rule:\n", out);
    n = qd_rule_counts(d, keys, counts, MAX_GROUPS);
    for (i = 0; i < n; i++)
        fprintf(out, "  %5zu  %s\n", counts[i], keys[i]);
    fputs("Held messages per sender domain:\n", out);
    n = qd_domain_counts(d, keys, counts, MAX_GROUPS);
    for (i = 0; i < n; i++) {
        fprintf(out, "  %5zu  ", counts[i]);
        quar_puts_safe(out, keys[i][0] ? keys[i] : "<> (null sender)");
        fputc('\n', out);
    }
    fputs("Held messages per day of arrival (UTC):\n", out);
    for (i = 0; i < d->ndays; i++) {
        qd_day_label(d, i, day, sizeof day);
        fprintf(out, "  %s%s  %zu\n", day, i == 0 && d->ndays == QD_MAX_DAYS ? " and before" : "",
                d->day[i]);
    }
    if (d->noverdue)
        fprintf(out, "\n== OVERDUE: held longer than %s (%zu) ==\n", age, d->noverdue);
    for (i = 0; i < d->n; i++) {
        const qd_entry *e = &d->e[i];
        if (!e->overdue && (group == NULL || strcmp(group, first_rule(e)) != 0)) {
            group = first_rule(e);
            for (j = i, n = 0; j < d->n && strcmp(first_rule(&d->e[j]), group) == 0; j++)
                n++;
            fprintf(out, "\n== Rule %s (%zu) ==\n", group, n);
        }
        text_entry(out, d, e);
    }
    fputs("\n== By sender domain ==\n", out);
    n = qd_domain_counts(d, keys, counts, MAX_GROUPS);
    for (i = 0; i < n; i++) {
        fputs("  ", out);
        quar_puts_safe(out, keys[i][0] ? keys[i] : "<> (null sender)");
        fputc(':', out);
        for (j = 0; j < d->n; j++)
            if (strcmp(d->e[j].domain, keys[i]) == 0)
                fprintf(out, " %s", d->e[j].it->id);
        fputc('\n', out);
    }
}

/* ------------------------------------------------------------------------ JSON */

static void json_entry(FILE *out, const qd_digest *d, const qd_entry *e)
{
    const quar_item *it = e->it;
    char buf[2048];
    size_t i;

    fputs("{\"queue_id\":", out);
    itip_json_put_string(out, it->id);
    fprintf(out, ",\"mta\":\"%s\",\"queue\":\"%s\",\"arrival_time\":%lld,\"age\":%ld,"
            "\"overdue\":%s,\"sender\":", d->q->mta->name, d->q->mta->queue,
            (long long)it->arrival, e->age, e->overdue ? "true" : "false");
    itip_json_put_string(out, it->sender);
    fputs(",\"from\":", out);
    itip_json_put_string(out, it->from);
    fputs(",\"sender_domain\":", out);
    itip_json_put_string(out, e->domain);
    fputs(",\"recipients\":[", out);
    for (i = 0; i < it->nrcpts; i++) {
        fputs(i ? "," : "", out);
        itip_json_put_string(out, it->rcpts[i]);
    }
    fputs("],\"subject\":", out);
    itip_json_put_string(out, it->subject);
    fputs(",\"result\":", out);
    itip_json_put_string(out, it->result);
    fputs(",\"rules\":[", out);
    for (i = 0; i < e->nrules; i++) {
        fputs(i ? "," : "", out);
        itip_json_put_string(out, e->rules[i]);
    }
    fputs("],\"findings\":[", out);
    for (i = 0; i < it->nfindings; i++) {
        const char *rule, *sev, *detail;
        qd_finding(it->findings[i], buf, sizeof buf, &rule, &sev, &detail);
        fputs(i ? ",{\"rule\":" : "{\"rule\":", out);
        itip_json_put_string(out, rule);
        fputs(",\"severity\":", out);
        itip_json_put_string(out, sev);
        fputs(",\"detail\":", out);
        itip_json_put_string(out, detail);
        fputs(",\"remedy\":", out);
        itip_json_put_string(out, qd_remedy(rule));
        fputc('}', out);
    }
    fputs("],\"release_command\":", out);
    itip_json_put_string(out, qd_command(d, "release", it->id));
    fputs(",\"delete_command\":", out);
    itip_json_put_string(out, qd_command(d, "delete", it->id));
    fputs("}\n", out);
}

void qd_json(FILE *out, const qd_digest *d)
{
    size_t i;

    for (i = 0; i < d->n; i++)
        json_entry(out, d, &d->e[i]);
}

int quar_cmd_digest(const quar_ctx *q)
{
    qd_digest d;
    int rc = QUAR_OK;

    if (qd_build(&d, q) < 0) {
        qd_free(&d);
        return QUAR_ERROR;
    }
    if (q->mail_to)
        rc = qd_mail(&d, q->mail_to) < 0 ? QUAR_ERROR : QUAR_OK;
    else if (q->html)
        qd_html(stdout, &d);
    else if (q->json)
        qd_json(stdout, &d);
    else
        qd_text(stdout, &d);
    qd_free(&d);
    return rc;
}
