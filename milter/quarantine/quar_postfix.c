/*
 * quar_postfix.c - Postfix's hold queue for itip-quarantine (see quar_mta.h): `postqueue -j`
 * for the envelopes (one JSON object per line, queue_name "hold"), `postcat -h -q ID` and
 * `postcat -bh -q ID` for the headers and the whole message, `postsuper -H ID` then
 * `postqueue -i ID` to release, `postsuper -d ID hold` to delete.  Every tool gets -c DIR
 * when --postfix-dir was given.  Only ever runs these tools, by argument vector.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quar_json.h"
#include "quar_mta.h"
#include "quar_run.h"

#define MAX_ARGS 10

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

/* The header block of a queued message (postcat -h -q ID).  0; 1 when the message left the
 * queue meanwhile (postcat cannot find it); -1 with ERR on any other failure. */
static int fetch_headers(const quar_mta_opts *o, quar_item *it, char *err, size_t errlen)
{
    const char *args[] = { "-h", "-q", it->id, NULL };
    quar_result r;
    int rc = tool(o, "postcat", args, &r, err, errlen);

    if (rc == 0 && (it->headers = itip_strbuf_detach(&r.out, NULL)) == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    } else if (rc < 0 && r.why == NULL && r.err.s && strstr(r.err.s, "No such file")) {
        rc = 1;
    }
    quar_result_free(&r);
    return rc;
}

/* One line of postqueue -j: adds the item when it is in the hold queue. */
static int take_line(const quar_mta_opts *o, const char *line, size_t len, quar_list *out,
                     char *err, size_t errlen)
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
    it = quar_list_add(out);
    snprintf(err, errlen, "out of memory");
    if (it && (it->id = strdup(id)) != NULL && (it->sender = strdup(sender ? sender : "")) &&
        take_rcpts(it, v) == 0) {
        it->arrival = at && at->type == QJ_NUM ? (time_t)at->num : 0;
        rc = fetch_headers(o, it, err, errlen);
        if (rc == 1) {      /* released or deleted meanwhile: not held any more */
            quar_item_clear(it);
            out->n--;
            rc = 0;
        }
    }
    qj_free(v);
    return rc;
}

static int pf_list(const quar_mta_opts *o, quar_list *out, char *err, size_t errlen)
{
    const char *args[] = { "-j", NULL };
    quar_result r;
    const char *p, *nl, *end;
    int rc = tool(o, "postqueue", args, &r, err, errlen);

    end = r.out.s ? r.out.s + r.out.len : NULL;
    for (p = r.out.s; rc == 0 && p && p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        if (nl > p)
            rc = take_line(o, p, (size_t)(nl - p), out, err, errlen);
    }
    quar_result_free(&r);
    return rc;
}

static int pf_message(const quar_mta_opts *o, const quar_item *it, strbuf *msg, char *err,
                      size_t errlen)
{
    const char *args[] = { "-bh", "-q", it->id, NULL };
    quar_result r;
    int rc = tool(o, "postcat", args, &r, err, errlen);

    if (rc == 0) {
        *msg = r.out;
        itip_strbuf_init(&r.out, 0);
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

const quar_mta quar_postfix = { "postfix", "hold", pf_list, pf_message, pf_release,
                                pf_discard };
