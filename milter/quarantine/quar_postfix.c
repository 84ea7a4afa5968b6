/*
 * quar_postfix.c - Postfix's hold queue for itip-quarantine (see quar_mta.h).
 *
 * list: `postqueue -j` for the envelopes (one JSON object per line, queue_name "hold"), then
 * `postcat -e -h -q ID...` for the header blocks, PC_BATCH messages per run, each message
 * read once (a message that left the queue meanwhile makes postcat stop there: the run goes
 * on after it).  One message (show, recheck, release, delete): `postcat -e -h -q ID`, or
 * `postcat -e -b -h -q ID` when the whole message is wanted, reads that message alone: its
 * envelope, its header block, the queue it is in (hold, or not held).  postcat's output is
 * split at the marker lines it prints around each message (quar_pcat_next() in quar_msg.c);
 * it runs with TZ=UTC0 so that the arrival time it prints reads back exactly.  `postsuper -H
 * ID` then `postqueue -i ID` to release, `postsuper -d ID hold` to delete.  Every tool gets
 * -c DIR when --postfix-dir was given.  Only ever runs these tools, by argument vector.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quar_json.h"
#include "quar_mta.h"
#include "quar_run.h"

#define MAX_ARGS 10
#define PC_BATCH 500            /* queue ids per postcat run of list (header blocks only) */

static char tz_utc[] = "TZ=UTC0";
static char *const postcat_env[] = { tz_utc, NULL };

/* argv: TOOL [-c DIR] ARGS... (ARGS NULL-terminated, at most MAX_ARGS - 4). */
static void build(char **argv, const quar_mta_opts *o, const char *tool, const char *const *args)
{
    size_t k = 0;

    argv[k++] = (char *)tool;
    if (o->postfix_dir) {
        argv[k++] = (char *)"-c";
        argv[k++] = (char *)o->postfix_dir;
    }
    while (*args && k < MAX_ARGS - 1)
        argv[k++] = (char *)*args++;
    argv[k] = NULL;
}

/* Runs TOOL ARGS; 0 when it exited 0 (output in R, which the caller frees), else -1. */
static int tool(const quar_mta_opts *o, const char *name, const char *const *args,
                quar_result *r, char *err, size_t errlen)
{
    char *argv[MAX_ARGS];

    build(argv, o, name, args);
    if (quar_run(argv, o->timeout, QUAR_MAX_OUTPUT, r) < 0 || r->status != 0) {
        snprintf(err, errlen, "%s %s: %s", name, args[0], quar_result_text(r));
        return -1;
    }
    return 0;
}

/* The recipients array of one postqueue -j object. */
static int take_rcpts(quar_item *it, const qj_value *obj)
{
    const qj_value *rc = qj_get(obj, "recipients");
    size_t i;

    for (i = 0; rc && rc->type == QJ_ARR && i < rc->n; i++) {
        const char *a = qj_get_str(&rc->items[i], "address");
        if (a && quar_item_add_rcpt(it, a) < 0)
            return -1;
    }
    return 0;
}

/* One line of postqueue -j: adds the item (envelope only) when it is in the hold queue. */
static int take_line(const char *line, size_t len, quar_list *out, char *err, size_t errlen)
{
    char jerr[128];
    qj_value *v = qj_parse(line, len, jerr, sizeof jerr);
    const char *qn, *id, *sender;
    const qj_value *at;
    quar_item *it;
    int rc = -1;

    if (v == NULL) {
        snprintf(err, errlen, "postqueue -j: unexpected output: %s", jerr);
        return -1;
    }
    qn = qj_get_str(v, "queue_name");
    id = qj_get_str(v, "queue_id");
    sender = qj_get_str(v, "sender");
    at = qj_get(v, "arrival_time");
    if (qn == NULL || strcmp(qn, "hold") != 0 || id == NULL || !quar_id_valid(id)) {
        qj_free(v);
        return 0;
    }
    /* showq prints the null sender as MAILER-DAEMON (which cleanup never leaves as a sender:
     * it turns mailer-daemon@$myorigin into the null sender); postcat prints it empty */
    if (sender == NULL || strcmp(sender, "MAILER-DAEMON") == 0)
        sender = "";
    it = quar_list_add(out);
    snprintf(err, errlen, "out of memory");
    if (it && (it->id = strdup(id)) != NULL && (it->sender = strdup(sender)) &&
        take_rcpts(it, v) == 0) {
        it->arrival = at && at->type == QJ_NUM ? (time_t)at->num : 0;
        rc = 0;
    }
    qj_free(v);
    return rc;
}

/* Runs postcat [-c DIR] FLAGS ID... for the N queue ids IDS.  quar_run_env()'s result. */
static int postcat(const quar_mta_opts *o, const char *flags, char *const *ids, size_t n,
                   quar_result *r)
{
    char **argv = calloc(n + 5, sizeof *argv);
    size_t k = 0, i;
    int rc;

    if (argv == NULL) {
        memset(r, 0, sizeof *r);
        r->status = -1;
        r->why = strdup("out of memory");
        return -1;
    }
    argv[k++] = (char *)"postcat";
    if (o->postfix_dir) {
        argv[k++] = (char *)"-c";
        argv[k++] = (char *)o->postfix_dir;
    }
    argv[k++] = (char *)flags;
    for (i = 0; i < n; i++)
        argv[k++] = ids[i];
    argv[k] = NULL;
    rc = quar_run_env(argv, postcat_env, o->timeout, QUAR_MAX_OUTPUT, r);
    free(argv);
    return rc;
}

/* The queue id of "postcat: fatal: open queue file ID: No such file or directory" on R's
 * standard error (the message left the queue) into ID; 0 when it says nothing of the kind. */
static int vanished(const quar_result *r, char *id, size_t idlen)
{
    const char *p = r->err.s ? strstr(r->err.s, "open queue file ") : NULL;
    size_t n;

    if (p == NULL)
        return 0;
    p += 16;
    n = strcspn(p, ": \n");
    if (n == 0 || n >= idlen || strncmp(p + n, ": No such file", 14) != 0)
        return 0;
    memcpy(id, p, n);
    id[n] = '\0';
    return 1;
}

/* One postcat run over items FROM..TO-1 of L: each item's header block when postcat finds it
 * in the hold queue (the others keep none).  0 with *NEXT the item to go on with (TO, or the
 * one after a message that left the queue, where postcat stopped), or -1. */
static int header_batch(const quar_mta_opts *o, quar_list *l, size_t from, size_t to,
                        size_t *next, char *err, size_t errlen)
{
    char **ids = calloc(to - from, sizeof *ids), gone[QUAR_ID_MAX + 1];
    const char *p, *end, *after;
    quar_result r;
    quar_pcat m;
    size_t i, k = from;
    int rc = 0;

    if (ids == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (i = from; i < to; i++)
        ids[i - from] = l->v[i].id;
    if (postcat(o, "-ehq", ids, to - from, &r) < 0) {
        snprintf(err, errlen, "postcat -q: %s", quar_result_text(&r));
        rc = -1;
    }
    end = r.out.s ? r.out.s + r.out.len : NULL;
    for (p = r.out.s; rc == 0 && p && p < end; p = after) {
        after = quar_pcat_next(p, end, 0, &m);
        while (after && k < to && strcmp(l->v[k].id, m.id) != 0)
            k++;                /* postcat printed nothing for it (not a queue file) */
        if (after == NULL || k == to) {
            snprintf(err, errlen, "postcat -q: unexpected output");
            rc = -1;
            break;
        }
        if (m.complete && strcmp(m.queue, "hold") == 0 &&
            (l->v[k].headers = strndup(m.text, m.textlen)) == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
        k++;
    }
    *next = to;
    if (rc == 0 && r.status != 0) {
        i = to;
        if (vanished(&r, gone, sizeof gone))
            for (i = k; i < to && strcmp(l->v[i].id, gone) != 0; i++)
                ;
        if (i < to) {
            *next = i + 1;      /* postcat stopped at it: go on after it */
        } else {
            snprintf(err, errlen, "postcat -q: %s", quar_result_text(&r));
            rc = -1;
        }
    }
    quar_result_free(&r);
    free(ids);
    return rc;
}

static int pf_list(const quar_mta_opts *o, quar_list *out, char *err, size_t errlen)
{
    const char *args[] = { "-j", NULL };
    quar_result r;
    const char *p, *nl, *end;
    size_t i, k;
    int rc = tool(o, "postqueue", args, &r, err, errlen);

    end = r.out.s ? r.out.s + r.out.len : NULL;
    for (p = r.out.s; rc == 0 && p && p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        if (nl > p)
            rc = take_line(p, (size_t)(nl - p), out, err, errlen);
    }
    quar_result_free(&r);
    for (i = 0; rc == 0 && i < out->n; i = k) {
        k = i + PC_BATCH < out->n ? i + PC_BATCH : out->n;
        rc = header_batch(o, out, i, k, &k, err, errlen);
    }
    for (i = k = 0; rc == 0 && i < out->n; i++) {
        if (out->v[i].headers)  /* else released, deleted or unreadable meanwhile */
            out->v[k++] = out->v[i];
        else
            quar_item_clear(&out->v[i]);
    }
    if (rc == 0)
        out->n = k;
    return rc;
}

static int pf_get(const quar_mta_opts *o, const char *id, quar_item *it, strbuf *msg,
                  char *err, size_t errlen)
{
    char *ids[] = { (char *)id }, gone[QUAR_ID_MAX + 1];
    const char *after;
    quar_result r;
    quar_pcat m;
    size_t hlen;
    int rc;

    if (msg)
        itip_strbuf_init(msg, 0);
    rc = postcat(o, msg ? "-behq" : "-ehq", ids, 1, &r);
    if (rc == 0 && r.status != 0)
        rc = vanished(&r, gone, sizeof gone) && strcmp(gone, id) == 0 ? 1 : -1;
    if (rc < 0) {
        snprintf(err, errlen, "postcat -q %s: %s", id, quar_result_text(&r));
    } else if (rc == 0) {
        after = r.out.s ? quar_pcat_next(r.out.s, r.out.s + r.out.len, msg != NULL, &m) : NULL;
        if (after == NULL || !m.complete || strcmp(m.id, id) != 0) {
            snprintf(err, errlen, "postcat -q %s: unexpected output", id);
            rc = -1;
        } else if (strcmp(m.queue, "hold") != 0) {
            rc = 1;             /* queued, but not held */
        } else {
            hlen = msg ? quar_header_block_len(m.text, m.textlen) : m.textlen;
            if ((it->id = strdup(id)) == NULL || quar_pcat_envelope(&m, it) < 0 ||
                (it->headers = strndup(m.text, hlen)) == NULL) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
            } else if (msg) {   /* the message text, moved to the start of the buffer */
                memmove(r.out.s, m.text, m.textlen);
                r.out.len = m.textlen;
                r.out.s[r.out.len] = '\0';
                *msg = r.out;
                itip_strbuf_init(&r.out, 0);
            }
        }
    }
    quar_result_free(&r);
    return rc;
}

/* postsuper's report on stderr says what it did: "postsuper: <what>: 1 message". */
static int postsuper(const quar_mta_opts *o, const char *opt, const quar_item *it,
                     const char *what, char *err, size_t errlen)
{
    const char *args[] = { opt, it->id, "hold", NULL };
    char expect[64];
    quar_result r;
    int rc = tool(o, "postsuper", args, &r, err, errlen);

    snprintf(expect, sizeof expect, "%s: 1 message", what);
    if (rc == 0 && (r.err.s == NULL || strstr(r.err.s, expect) == NULL)) {
        snprintf(err, errlen, "postsuper %s %s: the message was not in the hold queue", opt,
                 it->id);
        rc = -1;
    }
    quar_result_free(&r);
    return rc;
}

static int pf_release(const quar_mta_opts *o, const quar_item *it, char *err, size_t errlen)
{
    const char *args[] = { "-i", it->id, NULL };
    quar_result r;
    int rc;

    if (postsuper(o, "-H", it, "Released from hold", err, errlen) < 0)
        return -1;
    rc = tool(o, "postqueue", args, &r, err, errlen);
    quar_result_free(&r);
    return rc;
}

static int pf_discard(const quar_mta_opts *o, const quar_item *it, char *err, size_t errlen)
{
    return postsuper(o, "-d", it, "Deleted", err, errlen);
}

const quar_mta quar_postfix = { "postfix", "hold", pf_list, pf_get, pf_release, pf_discard };
