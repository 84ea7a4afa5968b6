/*
 * milter_repair.c - the milter's side of the repair action (see milter_repair.h).
 *
 * Exports mrepair_*.  The callbacks count what they feed the engine, so the body's offset in
 * the engine's stream is known and the walker's part offsets map onto the kept body.  At end
 * of message, when the verdict would say repair: the engine repairs what it can in the kept
 * bytes (repair/repair.c, pure) -> each repair made or not made is logged with its reason ->
 * the edits to send are set aside.  What happens next is not decided here: the verdict is
 * built once from the outcome (a repair not made falls back), and milter_act.c sends the
 * edits only when that verdict says repair.  Never calls libmilter.
 */
#include "ac-config.h"
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include "engine/verdict.h"
#include "milter_log.h"
#include "milter_repair.h"

static const char *qid_of(const char *qid)
{
    return qid ? qid : "NOQUEUE";
}

static void give_up(mrepair *r, const char *why)
{
    r->keep = -1;
    r->dropped = why;
    itip_strbuf_free(&r->body);
    itip_strbuf_free(&r->head);
}

void mrepair_start(mrepair *r, const itip_config *cfg, int can_chgbody)
{
    size_t limit = itip_repair_body_limit(cfg);

    mrepair_reset(r);
    if (!itip_repair_configured(cfg))
        return;
    r->keep = 1;
    itip_strbuf_init(&r->body, limit);
    itip_strbuf_init(&r->head, cfg->limits.max_header_size);
    if (!can_chgbody)
        give_up(r, "the MTA does not let the milter change bodies");
    else if (limit == 0)
        give_up(r, "max_calendar_part_size or max_calendar_parts is 0");
}

void mrepair_fed(mrepair *r, const void *buf, size_t len)
{
    r->fed += len;
    if (r->keep != 1 || r->head_state != 0)
        return;
    if (itip_strbuf_append(&r->head, buf, len) < 0) {
        r->head_state = -1;       /* the message's own Content-Type cannot be repaired */
        itip_strbuf_free(&r->head);
    }
}

void mrepair_eoh(mrepair *r)
{
    r->base = r->fed;
    if (r->head_state == 0)
        r->head_state = 1;
}

void mrepair_body(mrepair *r, const void *buf, size_t len)
{
    int rc;

    if (r->keep != 1)
        return;
    rc = itip_strbuf_append(&r->body, buf, len);
    if (rc == -2)
        give_up(r, "the body is larger than max_calendar_parts x max_calendar_part_size");
    else if (rc < 0)
        give_up(r, "out of memory keeping the body");
}

int mrepair_needs_body(const mrepair *r, const itip_engine *e)
{
    return r->keep == 1 && itip_engine_calendar_parts(e) > 0;
}

static void log_items(const mrepair *r, const char *qid)
{
    size_t i;

    for (i = 0; i < r->rep.nitems; i++) {
        const itip_repair_item *it = &r->rep.items[i];
        char *text = mverdict_printable(it->text, 200);
        mlog(it->done ? LOG_INFO : LOG_NOTICE, "qid=%s repair %s: %s part=%d: %s", qid_of(qid),
             it->done ? "made" : "not made", itip_rules[it->rule].id, it->part,
             text ? text : "?");
        free(text);
    }
}

/* The outcome when the body was not kept: nothing repaired. */
static int not_kept(mrepair *r, size_t nfindings, const char *qid)
{
    memset(&r->rep, 0, sizeof r->rep);
    r->rep.nfindings = nfindings;
    r->rep.repaired = calloc(nfindings + 1, 1);
    mlog(LOG_NOTICE, "qid=%s repair not made: %s; the fallback action applies", qid_of(qid),
         r->dropped ? r->dropped : "the body was not kept");
    return r->rep.repaired ? 0 : -1;
}

/* VALUE (as in the engine's stream) as libmilter takes it: line breaks as LF, and without
 * the leading space the callbacks added when the MTA does not send its own (no LEADSPC). */
static char *milter_value(const char *value, int leadspc)
{
    char *s, *d;

    if (!leadspc && *value == ' ')
        value++;
    if ((s = strdup(value)) == NULL)
        return NULL;
    for (d = s; *value; value++)
        if (!(*value == '\r' && value[1] == '\n'))
            *d++ = *value;
    *d = '\0';
    return s;
}

/* The edits of the plan; a plan that made repairs but has nothing to send (cannot happen
 * with the engine's repair, checked all the same) counts as no repair made.  0 or -1. */
static int set_edit(mrepair *r, int leadspc, const char *qid)
{
    itip_repair *p = &r->rep;

    if (p->header.name != NULL) {
        if ((r->header_value = milter_value(p->header.new_value, leadspc)) == NULL)
            return -1;
        r->edit.header = p->header.name;
        r->edit.value = r->header_value;
    }
    r->edit.body = p->out;
    r->edit.bodylen = p->outlen;
    if (p->out == NULL && p->header.name == NULL && memchr(p->repaired, 1, p->nfindings) != NULL) {
        size_t i;
        memset(p->repaired, 0, p->nfindings);
        for (i = 0; i < p->nitems; i++)
            p->items[i].done = 0;
        mlog(LOG_NOTICE, "qid=%s repair not made: nothing to send; the fallback action applies",
             qid_of(qid));
    }
    return 0;
}

int mrepair_plan(mrepair *r, const itip_config *cfg, const itip_engine *e,
                 const itip_findings *f, int leadspc, const char *qid)
{
    unsigned char *want;
    int rc;

    if ((want = calloc(f->n + 1, 1)) == NULL)
        return -1;
    itip_repair_wanted(cfg, f, want);
    if (r->keep != 1)
        rc = not_kept(r, f->n, qid);
    else                          /* read back with this configuration and the message's clock */
        rc = itip_repair_make(&r->rep, cfg, itip_engine_now(e), e, want,
                              r->body.s ? r->body.s : "", r->body.len, r->base,
                              r->head_state == 1 ? r->head.s : NULL, r->head.len);
    free(want);
    if (rc < 0 || set_edit(r, leadspc, qid) < 0)
        return -1;
    log_items(r, qid);
    r->summary = itip_repair_summary(&r->rep);
    return 0;
}

const unsigned char *mrepair_repaired(const mrepair *r)
{
    return r->rep.repaired;
}

const char *mrepair_summary(const mrepair *r)
{
    return r->summary;
}

const char *mrepair_refusal(const mrepair *r)
{
    size_t i;

    if (r->keep != 1 && r->rep.repaired != NULL)   /* planned without a kept body */
        return r->dropped ? r->dropped : "the body was not kept";
    for (i = 0; i < r->rep.nitems; i++)
        if (!r->rep.items[i].done)
            return r->rep.items[i].text;
    return NULL;
}

const mact_edit *mrepair_edit(const mrepair *r)
{
    return r->edit.body != NULL || r->edit.header != NULL ? &r->edit : NULL;
}

void mrepair_reset(mrepair *r)
{
    itip_strbuf_free(&r->body);
    itip_strbuf_free(&r->head);
    itip_repair_free(&r->rep);
    free(r->summary);
    free(r->header_value);
    memset(r, 0, sizeof *r);
}
