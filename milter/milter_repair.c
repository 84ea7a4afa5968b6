/*
 * milter_repair.c - the milter's side of the repair action (see milter_repair.h).
 *
 * Exports mrepair_*.  The callbacks count what they feed the engine, so the body's offset in
 * the engine's stream is known and the walker's part offsets map onto the kept body.  At end
 * of message: the verdict asks for repair -> the engine repairs what it can -> the verdict is
 * built again with the outcome (what was not repaired falls back) -> if it still says repair
 * the new body goes out through libmilter, and a refusal there rebuilds the verdict as if
 * nothing had been repaired.  Every repair made or not made is logged with its reason.
 */
#include "ac-config.h"
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
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
}

void mrepair_start(mrepair *r, const itip_config *cfg, int can_chgbody)
{
    size_t limit = itip_repair_body_limit(cfg);

    mrepair_reset(r);
    if (!itip_repair_configured(cfg))
        return;
    r->keep = 1;
    itip_strbuf_init(&r->body, limit);
    if (!can_chgbody)
        give_up(r, "the MTA does not let the milter change bodies");
    else if (limit == 0)
        give_up(r, "max_calendar_part_size or max_calendar_parts is 0");
}

void mrepair_eoh(mrepair *r)
{
    r->base = r->fed;
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

static int rebuild(mverdict *v, const itip_config *cfg, const mverdict_input *in, int leadspc)
{
    mverdict_free(v);
    return mverdict_build(v, cfg, in, leadspc);
}

int mrepair_eom(mrepair *r, SMFICTX *ctx, const itip_config *cfg, itip_engine *e, mverdict *v,
                mverdict_input *in, int leadspc, const char *qid)
{
    const itip_findings *f = in->findings;
    unsigned char *want;
    int rc;

    if (v->action != ITIP_ACT_REPAIR || in->error != NULL || f == NULL || e == NULL)
        return 0;
    if ((want = calloc(f->n + 1, 1)) == NULL) {
        mverdict_free(v);
        return -1;
    }
    itip_repair_wanted(cfg, f, want);
    rc = r->keep == 1 ? itip_repair_run(&r->rep, e, want, r->body.s ? r->body.s : "",
                                        r->body.len, r->base)
                      : not_kept(r, f->n, qid);
    free(want);
    if (rc < 0) {
        mverdict_free(v);
        return -1;
    }
    log_items(r, qid);
    r->summary = itip_repair_summary(&r->rep);
    in->repaired = r->rep.repaired;
    in->repairs = r->summary;
    if (rebuild(v, cfg, in, leadspc) < 0)
        return -1;
    if (v->action != ITIP_ACT_REPAIR)
        return 0;                 /* nothing made, or a stronger fallback wins: unchanged */
    if (r->rep.out != NULL && mact_replace_body(ctx, r->rep.out, r->rep.outlen, qid) == 0)
        return 0;
    memset(r->rep.repaired, 0, r->rep.nfindings);
    in->repairs = NULL;
    mlog(LOG_NOTICE, "qid=%s the new body was refused: the fallback action applies",
         qid_of(qid));
    return rebuild(v, cfg, in, leadspc);
}

void mrepair_reset(mrepair *r)
{
    itip_strbuf_free(&r->body);
    itip_repair_free(&r->rep);
    free(r->summary);
    memset(r, 0, sizeof *r);
}
