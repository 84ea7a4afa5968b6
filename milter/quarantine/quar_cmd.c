/*
 * quar_cmd.c - itip-quarantine's commands (see quar_cmd.h): list loads every held message
 * through the MTA interface and keeps those itip-milter held; show, recheck, release and
 * delete fetch each message named, and nothing else, checking that itip-milter held it.
 * Each held message is read at most once per command.  Message content reaches the output
 * only through quar_text.c's escaping or as JSON strings; nothing from a message is ever
 * executed or rendered.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/json.h"
#include "quar_check.h"
#include "quar_cmd.h"
#include "quar_text.h"

#define SUBJECT_COLUMNS 60      /* bytes of the subject in the list table */

static void fail(const char *id, const char *msg)
{
    fprintf(stderr, "itip-quarantine: ");
    if (id) {
        quar_puts_safe(stderr, id);
        fputs(": ", stderr);
    }
    fprintf(stderr, "%s\n", msg);
}

/* Every held message, headers parsed (list).  0, or -1 (reported). */
static int load(const quar_ctx *q, quar_list *l)
{
    char err[512];
    size_t i;

    memset(l, 0, sizeof *l);
    if (q->mta->list(&q->mopts, l, err, sizeof err) < 0) {
        fail(NULL, err);
        quar_list_free(l);
        return -1;
    }
    for (i = 0; i < l->n; i++)
        if (quar_item_parse_headers(&l->v[i], q->cfg->header_prefix) < 0) {
            fail(NULL, "out of memory");
            quar_list_free(l);
            return -1;
        }
    return 0;
}

int quar_cmd_load(const quar_ctx *q, quar_list *l)
{
    return load(q, l);
}

/* The message with queue id ID held by itip-milter, read once into IT (zeroed here; the
 * caller clears it) and, when MSG is not NULL, whole into MSG (the caller frees it).  0, or
 * -1 (reported). */
static int fetch(const quar_ctx *q, const char *id, quar_item *it, strbuf *msg)
{
    char err[512];
    int rc;

    memset(it, 0, sizeof *it);
    if (msg)
        itip_strbuf_init(msg, 0);
    if (!quar_id_valid(id)) {
        fail(id, "not a queue id");
        return -1;
    }
    rc = q->mta->get(&q->mopts, id, it, msg, err, sizeof err);
    if (rc < 0) {
        fail(id, err);
        return -1;
    }
    if (rc == 1) {
        fail(id, "no such message held by itip-milter");
        return -1;
    }
    if (quar_item_parse_headers(it, q->cfg->header_prefix) < 0) {
        fail(id, "out of memory");
        return -1;
    }
    if (!quar_item_ours(it)) {
        fail(id, "held, but not by itip-milter: left alone");
        return -1;
    }
    return 0;
}

typedef enum { T_SHORT, T_LONG, T_ISO } time_style;

static void put_time(FILE *out, time_t t, time_style style)
{
    struct tm tm;
    char buf[64];
    size_t n = 0;

    if (style == T_ISO ? gmtime_r(&t, &tm) != NULL : localtime_r(&t, &tm) != NULL) {
        if (style == T_SHORT)
            n = strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
        else if (style == T_LONG)
            n = strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z", &tm);
        else
            n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    if (n == 0)
        snprintf(buf, sizeof buf, "@%lld", (long long)t);
    fputs(buf, out);
}

/* TEXT escaped (quar_put_safe) into a new string, at most MAX input bytes; NULL on failure. */
static char *safe_string(const char *text, size_t len, size_t max)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);

    if (m == NULL)
        return NULL;
    quar_put_safe(m, text, len, max);
    if (fclose(m) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* The table's cells of one item: sender, subject, deciding rules (escaped). */
typedef struct {
    char *cell[3];
} row;

static void row_fill(row *r, const quar_item *it)
{
    const char *sender = it->sender[0] ? it->sender : "<>";
    const char *open = it->result ? strchr(it->result, '(') : NULL;
    const char *close = open ? strchr(open, ')') : NULL;
    const char *subj = it->subject ? it->subject : "";

    r->cell[0] = safe_string(sender, strlen(sender), 0);
    r->cell[1] = safe_string(subj, strlen(subj), SUBJECT_COLUMNS);
    r->cell[2] = close ? safe_string(open + 1, (size_t)(close - open - 1), 0)
                       : safe_string("-", 1, 0);
}

static void row_free(row *r)
{
    int i;

    for (i = 0; i < 3; i++)
        free(r->cell[i]);
}

/* The table: columns as wide as their widest cell (the subject capped). */
static void list_table(const quar_item *const *v, size_t n)
{
    row *rows = calloc(n ? n : 1, sizeof *rows);
    int w[3] = { 6, 7, 5 };
    size_t i, k;

    if (rows == NULL) {
        fail(NULL, "out of memory");
        return;
    }
    for (i = 0; i < n; i++) {
        row_fill(&rows[i], v[i]);
        for (k = 0; k < 3; k++)
            if (rows[i].cell[k] && (int)strlen(rows[i].cell[k]) > w[k])
                w[k] = (int)strlen(rows[i].cell[k]);
    }
    printf("%-16s  %-16s  %-*s  %-*s  %s\n", "QUEUE ID", "ARRIVAL", w[0], "SENDER", w[1],
           "SUBJECT", "RULES");
    for (i = 0; i < n; i++) {
        printf("%-16s  ", v[i]->id);
        put_time(stdout, v[i]->arrival, T_SHORT);
        printf("  %-*s  %-*s  %s\n", w[0], rows[i].cell[0] ? rows[i].cell[0] : "?", w[1],
               rows[i].cell[1] ? rows[i].cell[1] : "?", rows[i].cell[2] ? rows[i].cell[2] : "?");
        row_free(&rows[i]);
    }
    free(rows);
}

/* {"rule":..., "severity":..., "detail":...} from "rule; severity=sev; detail". */
static void json_finding_header(const char *v)
{
    const char *semi = strchr(v, ';'), *sev = strstr(v, "severity="), *det;
    char *rule = strndup(v, semi ? (size_t)(semi - v) : strlen(v)), *s = NULL;

    if (sev) {
        sev += 9;
        s = strndup(sev, strcspn(sev, ";"));
    }
    det = sev ? strchr(sev, ';') : NULL;
    det = det ? det + 1 + (det[1] == ' ') : NULL;
    fputs("{\"rule\":", stdout);
    itip_json_put_string(stdout, rule);
    fputs(",\"severity\":", stdout);
    itip_json_put_string(stdout, s);
    fputs(",\"detail\":", stdout);
    itip_json_put_string(stdout, det);
    fputs(",\"header\":", stdout);
    itip_json_put_string(stdout, v);
    putchar('}');
    free(rule);
    free(s);
}

static void list_json(const quar_ctx *q, const quar_item *it)
{
    size_t i;

    fputs("{\"queue_id\":", stdout);
    itip_json_put_string(stdout, it->id);
    printf(",\"mta\":\"%s\",\"queue\":\"%s\",\"arrival_time\":%lld,\"arrival\":\"",
           q->mta->name, q->mta->queue, (long long)it->arrival);
    put_time(stdout, it->arrival, T_ISO);
    fputs("\",\"sender\":", stdout);
    itip_json_put_string(stdout, it->sender);
    fputs(",\"recipients\":[", stdout);
    for (i = 0; i < it->nrcpts; i++) {
        if (i)
            putchar(',');
        itip_json_put_string(stdout, it->rcpts[i]);
    }
    fputs("],\"subject\":", stdout);
    itip_json_put_string(stdout, it->subject);
    fputs(",\"result\":", stdout);
    itip_json_put_string(stdout, it->result);
    fputs(",\"reason\":", stdout);
    itip_json_put_string(stdout, it->reason);
    fputs(",\"findings\":[", stdout);
    for (i = 0; i < it->nfindings; i++) {
        if (i)
            putchar(',');
        json_finding_header(it->findings[i]);
    }
    fputs("]}\n", stdout);
}

int quar_cmd_list(const quar_ctx *q)
{
    quar_list l;
    const quar_item **v;
    size_t i, n = 0;

    if (load(q, &l) < 0)
        return QUAR_ERROR;
    v = calloc(l.n ? l.n : 1, sizeof *v);
    if (v == NULL) {
        fail(NULL, "out of memory");
        quar_list_free(&l);
        return QUAR_ERROR;
    }
    for (i = 0; i < l.n; i++)
        if (quar_item_ours(&l.v[i]) && quar_item_match(&l.v[i], &q->filter))
            v[n++] = &l.v[i];
    for (i = 0; q->json && i < n; i++)
        list_json(q, v[i]);
    if (!q->json && n > 0)
        list_table(v, n);
    if (!q->json && n == 0)
        printf("no message held by itip-milter%s\n",
               q->filter.rule || q->filter.since_set || q->filter.sender ? " matches" : "");
    free(v);
    quar_list_free(&l);
    return QUAR_OK;
}

/* Re-analyses IT (the whole message: MSG) with the current configuration.  0, or -1
 * (reported). */
static int recheck_item(const quar_ctx *q, const quar_item *it, const strbuf *msg,
                        quar_check *c)
{
    char err[512];
    int rc;

    rc = quar_check_run(c, q->cfg, q->store, msg->s ? msg->s : "", msg->len, it->arrival, err,
                        sizeof err);
    if (rc < 0)
        fail(it->id, err);
    return rc;
}

/* "still held", "would be refused" or "would pass", by the action the milter would take. */
static const char *outcome(const mverdict *v)
{
    if (v->action == ITIP_ACT_QUARANTINE)
        return "would still be held";
    if (v->action > ITIP_ACT_QUARANTINE)
        return "would now be refused";
    return "would now pass";
}

static void put_verdict(FILE *out, const mverdict *v)
{
    fprintf(out, "%s (action %s", outcome(v),
            v->action == ITIP_ACT_NONE ? "none" : itip_action_name(v->action));
    if (v->rules && v->rules[0]) {
        fprintf(out, ", %s: ", itip_severity_name(v->severity));
        quar_puts_safe(out, v->rules);
    }
    putc(')', out);
}

static void show_envelope(const quar_ctx *q, const quar_item *it)
{
    size_t i;

    printf("Queue ID:    %s (%s %s queue)\nArrival:     ", it->id, q->mta->name, q->mta->queue);
    put_time(stdout, it->arrival, T_LONG);
    fputs("\nSender:      ", stdout);
    quar_puts_safe(stdout, it->sender[0] ? it->sender : "<>");
    fputs("\nRecipients:  ", stdout);
    for (i = 0; i < it->nrcpts; i++) {
        if (i)
            fputs(", ", stdout);
        quar_puts_safe(stdout, it->rcpts[i]);
    }
    fputs("\nSubject:     ", stdout);
    quar_puts_safe(stdout, it->subject);
    fputs("\nResult:      ", stdout);
    quar_puts_safe(stdout, it->result);
    if (it->reason) {
        fputs("\nReason:      ", stdout);
        quar_puts_safe(stdout, it->reason);
    }
    printf("\nFindings:    %zu\n", it->nfindings);
    for (i = 0; i < it->nfindings; i++) {
        fputs("  ", stdout);
        quar_puts_safe(stdout, it->findings[i]);
        putchar('\n');
    }
}

static void show_lines(const quar_check *c)
{
    const itip_findings *f = itip_engine_findings(c->engine);
    size_t i, nparts = itip_mime_calpart_count(c->mime);

    printf("Calendar lines (decoded, %zu calendar part%s; findings of the current "
           "configuration):\n", nparts, nparts == 1 ? "" : "s");
    if (f->n == 0)
        puts("  (no finding)");
    for (i = 0; i < f->n; i++) {
        const itip_finding *x = &f->v[i];
        printf("  %s (%s)", itip_rules[x->rule].id, itip_severity_name(x->severity));
        if (x->part < 0 || (size_t)x->part >= nparts) {
            fputs(": the message as a whole\n", stdout);
            printf("    what to do: %s\n", itip_rule_remedy((int)x->rule));
            continue;
        }
        printf(", calendar part %d", x->part + 1);
        if (x->component || x->property) {
            fputs(", ", stdout);
            quar_puts_safe(stdout, x->component ? x->component : "");
            fputs(x->component && x->property ? " " : "", stdout);
            quar_puts_safe(stdout, x->property ? x->property : "");
        }
        fputs(":\n", stdout);
        quar_put_calendar_lines(stdout, itip_mime_calpart(c->mime, (size_t)x->part), x,
                                QUAR_SHOW_LINES);
        printf("    what to do: %s\n", itip_rule_remedy((int)x->rule));
    }
}

static int show_one(const quar_ctx *q, const quar_item *it, const strbuf *msg)
{
    static int shown;
    quar_check c;
    int rc = QUAR_OK;

    if (shown++)
        putchar('\n');        /* a blank line between messages */
    show_envelope(q, it);
    if (recheck_item(q, it, msg, &c) < 0)
        return QUAR_ERROR;
    show_lines(&c);
    fputs("Recheck:     ", stdout);
    put_verdict(stdout, &c.verdict);
    putchar('\n');
    quar_check_free(&c);
    return rc;
}

/* Runs FN on each queue id of IDS, fetching that message alone (whole when WHOLE); the worst
 * return code. */
static int each(const quar_ctx *q, char *const *ids, int n, int whole,
                int (*fn)(const quar_ctx *, const quar_item *, const strbuf *))
{
    int i, r, rc = QUAR_OK;

    for (i = 0; i < n; i++) {
        quar_item it;
        strbuf msg;
        r = fetch(q, ids[i], &it, whole ? &msg : NULL) < 0 ? QUAR_ERROR
                                                            : fn(q, &it, whole ? &msg : NULL);
        if (r > rc)
            rc = r;
        quar_item_clear(&it);
        if (whole)
            itip_strbuf_free(&msg);
        fflush(stdout);
    }
    return rc;
}

int quar_cmd_show(const quar_ctx *q, char *const *ids, int n)
{
    return each(q, ids, n, 1, show_one);
}

static void recheck_json(const quar_item *it, const quar_check *c)
{
    const itip_findings *f = itip_engine_findings(c->engine);
    size_t i;

    fputs("{\"queue_id\":", stdout);
    itip_json_put_string(stdout, it->id);
    printf(",\"held\":%s,\"outcome\":\"%s\",\"action\":\"%s\",\"verdict\":\"%s\",\"findings\":[",
           c->verdict.action >= ITIP_ACT_QUARANTINE ? "true" : "false", outcome(&c->verdict),
           c->verdict.action == ITIP_ACT_NONE ? "none" : itip_action_name(c->verdict.action),
           itip_severity_name(itip_engine_verdict(c->engine)));
    for (i = 0; i < f->n; i++) {
        if (i)
            putchar(',');
        itip_json_put_finding(stdout, &f->v[i]);
    }
    fputs("]}\n", stdout);
}

static int recheck_one_text(const quar_ctx *q, const quar_item *it, const strbuf *msg)
{
    quar_check c;
    int rc;

    if (recheck_item(q, it, msg, &c) < 0)
        return QUAR_ERROR;
    printf("%s: ", it->id);
    put_verdict(stdout, &c.verdict);
    putchar('\n');
    rc = c.verdict.action >= ITIP_ACT_QUARANTINE ? QUAR_HELD : QUAR_OK;
    quar_check_free(&c);
    return rc;
}

static int recheck_one_json(const quar_ctx *q, const quar_item *it, const strbuf *msg)
{
    quar_check c;
    int rc;

    if (recheck_item(q, it, msg, &c) < 0)
        return QUAR_ERROR;
    recheck_json(it, &c);
    rc = c.verdict.action >= ITIP_ACT_QUARANTINE ? QUAR_HELD : QUAR_OK;
    quar_check_free(&c);
    return rc;
}

int quar_cmd_recheck(const quar_ctx *q, char *const *ids, int n)
{
    return each(q, ids, n, 1, q->json ? recheck_one_json : recheck_one_text);
}

static int release_one(const quar_ctx *q, const quar_item *it, const strbuf *msg)
{
    char err[512];

    (void)msg;
    if (q->mta->release(&q->mopts, it, err, sizeof err) < 0) {
        fail(it->id, err);
        return QUAR_ERROR;
    }
    printf("%s: released\n", it->id);
    return QUAR_OK;
}

static int delete_one(const quar_ctx *q, const quar_item *it, const strbuf *msg)
{
    char err[512];

    (void)msg;
    if (q->mta->discard(&q->mopts, it, err, sizeof err) < 0) {
        fail(it->id, err);
        return QUAR_ERROR;
    }
    printf("%s: deleted\n", it->id);
    return QUAR_OK;
}

int quar_cmd_release(const quar_ctx *q, char *const *ids, int n)
{
    return each(q, ids, n, 0, release_one);
}

int quar_cmd_delete(const quar_ctx *q, char *const *ids, int n)
{
    return each(q, ids, n, 0, delete_one);
}
