/*
 * quar_html.c - the digest as one self-contained HTML page (see quar_digest.h): inline CSS,
 * no script, no link to anything outside the page (no src or href attribute at all), the
 * charts as inline SVG.  Written in the XML-compatible subset of HTML (every element closed,
 * every attribute quoted) so that a strict XML parser reads it.  Every string from a message
 * is first made inert (quar_put_safe: controls and invisible characters as escapes), then
 * HTML-escaped (& < > " ' as character references): safe in element and attribute content.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "quar_digest.h"

#define MAX_BARS 40             /* rules in the chart; the rest are summed as "other" */
#define CHART_W 640
#define BAR_H 22
#define LABEL_W 300
#define DAY_H 160

/* S (already inert), HTML-escaped. */
static void esc_raw(FILE *out, const char *s)
{
    for (; s && *s; s++)
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*s, out);
        }
}

/* A string from a message: made inert, then HTML-escaped; NULL prints "-". */
static void esc(FILE *out, const char *s)
{
    char *safe = qd_safe(s);

    esc_raw(out, safe ? safe : "?");
    free(safe);
}

static void put_time(FILE *out, time_t t)
{
    struct tm tm;
    char buf[64];

    if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        snprintf(buf, sizeof buf, "@%lld", (long long)t);
    fputs(buf, out);
}

static const char css[] =
    "body{font-family:sans-serif;margin:1.5em;color:#222;background:#fff}"
    "h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.2em;margin:1.5em 0 .5em;"
    "border-bottom:1px solid #ccc}"
    ".sum{margin:.2em 0}.charts{display:flex;flex-wrap:wrap;gap:2em;margin:1em 0}"
    "figure{margin:0}figcaption{font-weight:bold;margin-bottom:.3em}"
    "svg text{font-family:sans-serif;font-size:12px;fill:#222}"
    ".bar{fill:#4a7ab5}.bar-over{fill:#c0392b}.day{fill:#5b9b5b}"
    ".msg{border:1px solid #ddd;border-radius:4px;padding:.5em .8em;margin:.6em 0}"
    ".msg.overdue{border-color:#c0392b;background:#fdf0ee}"
    ".msg table{border-collapse:collapse}.msg th{text-align:left;vertical-align:top;"
    "padding:1px 1em 1px 0;font-weight:normal;color:#666;white-space:nowrap}"
    ".msg td{padding:1px 0}.qid{font-family:monospace;font-weight:bold}"
    ".tag{display:inline-block;background:#c0392b;color:#fff;border-radius:3px;"
    "padding:0 .4em;margin-left:.5em;font-size:.85em}"
    "code{background:#f4f4f4;padding:0 .3em;font-size:.9em}.remedy{color:#355e3b}"
    "table.dom{border-collapse:collapse}table.dom td,table.dom th{border:1px solid #ddd;"
    "padding:2px .6em;text-align:left}";

static void chart_rules(FILE *out, const qd_digest *d)
{
    const char *keys[MAX_BARS + 1];
    size_t counts[MAX_BARS + 1], n, i, max = 1, other = 0, all[4096];
    const char *allk[4096];
    size_t na = qd_rule_counts(d, allk, all, 4096);

    n = na < MAX_BARS ? na : MAX_BARS;
    for (i = 0; i < n; i++) {
        keys[i] = allk[i];
        counts[i] = all[i];
    }
    for (i = n; i < na; i++)
        other += all[i];
    if (other) {
        keys[n] = "other rules";
        counts[n++] = other;
    }
    for (i = 0; i < n; i++)
        if (counts[i] > max)
            max = counts[i];
    fprintf(out, "<figure><figcaption>Held messages per rule</figcaption>\n"
            "<svg class=\"chart\" id=\"chart-rules\" width=\"%d\" height=\"%zu\" "
            "viewBox=\"0 0 %d %zu\" role=\"img\" aria-label=\"held messages per rule\">\n",
            CHART_W, n * BAR_H + 4, CHART_W, n * BAR_H + 4);
    for (i = 0; i < n; i++) {
        long w = (long)((CHART_W - LABEL_W - 50) * counts[i] / max);
        fprintf(out, "<text x=\"%d\" y=\"%zu\" text-anchor=\"end\">", LABEL_W - 6,
                i * BAR_H + 15);
        esc(out, keys[i]);
        fprintf(out, "</text><rect class=\"bar\" x=\"%d\" y=\"%zu\" width=\"%ld\" height=\"%d\">"
                "<title>", LABEL_W, i * BAR_H + 3, w < 2 ? 2 : w, BAR_H - 6);
        esc(out, keys[i]);
        fprintf(out, ": %zu</title></rect><text x=\"%ld\" y=\"%zu\">%zu</text>\n", counts[i],
                LABEL_W + (w < 2 ? 2 : w) + 5, i * BAR_H + 15, counts[i]);
    }
    fputs("</svg></figure>\n", out);
}

static void chart_days(FILE *out, const qd_digest *d)
{
    size_t i, max = 1, w = d->ndays > 20 ? 14 : d->ndays > 10 ? 24 : 44;
    size_t width = d->ndays * (w + 4) + 40;
    char day[32];

    for (i = 0; i < d->ndays; i++)
        if (d->day[i] > max)
            max = d->day[i];
    fprintf(out, "<figure><figcaption>Held messages per day of arrival (UTC)</figcaption>\n"
            "<svg class=\"chart\" id=\"chart-days\" width=\"%zu\" height=\"%d\" "
            "viewBox=\"0 0 %zu %d\" role=\"img\" aria-label=\"held messages per day\">\n",
            width, DAY_H + 40, width, DAY_H + 40);
    for (i = 0; i < d->ndays; i++) {
        size_t h = d->day[i] * (DAY_H - 20) / max, x = 20 + i * (w + 4);
        qd_day_label(d, i, day, sizeof day);
        fprintf(out, "<rect class=\"day\" x=\"%zu\" y=\"%zu\" width=\"%zu\" height=\"%zu\">"
                "<title>%s: %zu</title></rect>", x, (size_t)DAY_H - h, w, h, day, d->day[i]);
        if (d->day[i])
            fprintf(out, "<text x=\"%zu\" y=\"%zu\" text-anchor=\"middle\">%zu</text>",
                    x + w / 2, (size_t)DAY_H - h - 4, d->day[i]);
        if (d->ndays <= 10 || i % 7 == 0 || i + 1 == d->ndays)
            fprintf(out, "<text x=\"%zu\" y=\"%d\" text-anchor=\"middle\">%s</text>",
                    x + w / 2, DAY_H + 16, day + 5);
        fputc('\n', out);
    }
    fprintf(out, "<line x1=\"16\" y1=\"%d\" x2=\"%zu\" y2=\"%d\" stroke=\"#888\"/>\n", DAY_H,
            width - 10, DAY_H);
    fputs("</svg></figure>\n", out);
}

static void entry(FILE *out, const qd_digest *d, const qd_entry *e)
{
    const quar_item *it = e->it;
    char age[64], buf[2048];
    size_t i;

    qd_age_text(age, sizeof age, e->age);
    fprintf(out, "<div class=\"msg%s\" id=\"msg-", e->overdue ? " overdue" : "");
    esc(out, it->id);
    fputs("\">\n<div><span class=\"qid\">", out);
    esc(out, it->id);
    fprintf(out, "</span> held %s, since ", age);
    put_time(out, it->arrival);
    fputs(e->overdue ? "<span class=\"tag\">overdue</span></div>\n" : "</div>\n", out);
    fputs("<table>\n<tr><th>Sender</th><td>", out);
    esc(out, it->sender[0] ? it->sender : "<>");
    fputs("</td></tr>\n<tr><th>From</th><td title=\"", out);
    esc(out, it->from);
    fputs("\">", out);
    esc(out, it->from);
    fputs("</td></tr>\n<tr><th>Recipients</th><td>", out);
    for (i = 0; i < it->nrcpts; i++) {
        fputs(i ? ", " : "", out);
        esc(out, it->rcpts[i]);
    }
    fputs("</td></tr>\n<tr><th>Subject</th><td title=\"", out);
    esc(out, it->subject);
    fputs("\">", out);
    esc(out, it->subject);
    fputs("</td></tr>\n", out);
    for (i = 0; i < it->nfindings; i++) {
        const char *rule, *sev, *detail, *remedy;
        qd_finding(it->findings[i], buf, sizeof buf, &rule, &sev, &detail);
        fputs("<tr><th>Finding</th><td><b>", out);
        esc(out, rule);
        fputs("</b>", out);
        if (sev) {
            fputs(" (", out);
            esc(out, sev);
            fputs(")", out);
        }
        if (detail) {
            fputs(": ", out);
            esc(out, detail);
        }
        if ((remedy = qd_remedy(rule)) != NULL) {
            fputs("<br/><span class=\"remedy\">Remedy: ", out);
            esc_raw(out, remedy);
            fputs("</span>", out);
        }
        fputs("</td></tr>\n", out);
    }
    fputs("<tr><th>Release</th><td><code>", out);
    esc_raw(out, qd_command(d, "release", it->id));
    fputs("</code></td></tr>\n<tr><th>Delete</th><td><code>", out);
    esc_raw(out, qd_command(d, "delete", it->id));
    fputs("</code></td></tr>\n</table>\n</div>\n", out);
}

static const char *first_rule(const qd_entry *e)
{
    return e->nrules ? e->rules[0] : "-";
}

void qd_html(FILE *out, const qd_digest *d)
{
    const char *keys[4096];
    size_t counts[4096], n, i, j;
    char age[64];
    const char *group = NULL;

    qd_age_text(age, sizeof age, d->q->cfg->quarantine.digest_overdue);
    fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
            "<title>itip-quarantine digest</title>\n<style>%s</style>\n</head>\n<body>\n"
            "<h1>itip-quarantine digest</h1>\n<p class=\"sum\">%zu message%s held by "
            "itip-milter in the %s %s queue, <b>%zu overdue</b> (held longer than %s), at ",
            css, d->n, d->n == 1 ? "" : "s", d->q->mta->name, d->q->mta->queue, d->noverdue,
            d->q->cfg->quarantine.digest_overdue ? age : "ever: marking off");
    put_time(out, d->now);
    fputs(".</p>\n<p class=\"sum\">Period: ", out);
    put_time(out, d->start);
    fputs(" to ", out);
    put_time(out, d->now);
    fputs(".</p>\n<div class=\"charts\">\n", out);
    chart_rules(out, d);
    chart_days(out, d);
    fputs("</div>\n", out);
    if (d->n == 0)
        fputs("<p>Nothing is held.</p>\n", out);
    if (d->noverdue)
        fprintf(out, "<h2 id=\"overdue\">Overdue: held longer than %s (%zu)</h2>\n", age,
                d->noverdue);
    for (i = 0; i < d->n; i++) {
        const qd_entry *e = &d->e[i];
        if (!e->overdue && (group == NULL || strcmp(group, first_rule(e)) != 0)) {
            group = first_rule(e);
            for (j = i, n = 0; j < d->n && strcmp(first_rule(&d->e[j]), group) == 0; j++)
                n++;
            fputs("<h2>Rule ", out);
            esc(out, group);
            fprintf(out, " (%zu)</h2>\n", n);
        }
        entry(out, d, e);
    }
    if (d->n) {
        fputs("<h2>By sender domain</h2>\n<table class=\"dom\">\n<tr><th>Domain</th>"
              "<th>Held</th><th>Queue ids</th></tr>\n", out);
        n = qd_domain_counts(d, keys, counts, 4096);
        for (i = 0; i < n; i++) {
            fputs("<tr><td>", out);
            esc(out, keys[i][0] ? keys[i] : "<> (null sender)");
            fprintf(out, "</td><td>%zu</td><td>", counts[i]);
            for (j = 0; j < d->n; j++)
                if (strcmp(d->e[j].domain, keys[i]) == 0)
                {
                    fputs("<span class=\"qid\">", out);
                    esc(out, d->e[j].it->id);
                    fputs("</span> ", out);
                }
            fputs("</td></tr>\n", out);
        }
        fputs("</table>\n", out);
    }
    fputs("</body>\n</html>\n", out);
}
