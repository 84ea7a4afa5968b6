/*
 * milter_eom.c - end of message in itip-milter (see milter_eom.h).
 *
 * finish: verdict_input() (the engine's findings, or the internal failure) -> judge() (the
 * verdict, built once; a repair is planned first when the verdict would say repair, and a
 * repair that cannot be made selects its fallback before anything is sent) -> mact_apply()
 * -> record() (only what was let through) -> mact_log() -> count() (the metrics: a few
 * relaxed atomic additions, milter_metrics.h) -> the notices of a held, refused or repaired
 * message (milter_notify.h: queued, sent by another thread).  Exports meom_finish(); never
 * calls libmilter but through mact_apply().
 */
#include "ac-config.h"
#include <string.h>
#include <syslog.h>
#include "engine/verdict.h"
#include "milter_act.h"
#include "milter_eom.h"
#include "milter_log.h"
#include "milter_metrics.h"
#include "milter_notify.h"

#define STATE_UNAVAILABLE "state unavailable, stateful rules skipped"

/* Why this message's stateful rules were skipped, or NULL: they ran, state is off, or the
 * message has no calendar part. */
static const char *state_note(const msgctx *m, size_t calendar_parts)
{
    if (!m->state_wanted || calendar_parts == 0 || m->engine == NULL)
        return NULL;
    return m->store == NULL ? STATE_UNAVAILABLE : itip_engine_state_note(m->engine);
}

static void verdict_input(msgctx *m, mverdict_input *in)
{
    memset(in, 0, sizeof *in);
    if (m->error[0] == '\0') {
        double t0 = mctx_now_ms();
        if (itip_engine_finish(m->engine) < 0)
            mctx_error(m, itip_engine_error(m->engine));
        m->ms += mctx_now_ms() - t0;
    }
    if (m->engine != NULL) {
        in->findings = itip_engine_findings(m->engine);
        in->calendar_parts = itip_engine_calendar_parts(m->engine);
        in->method = itip_engine_method(m->engine);
        in->uid = itip_engine_uid(m->engine);
    }
    in->error = m->error[0] ? m->error : NULL;
    in->state_note = state_note(m, in->calendar_parts);
}

/* Records a message that was let through - pass, log, tag, repair, and any dry-run, which
 * delivers - for the stateful rules of later messages of its meetings.  A quarantined,
 * rejected or deferred message never reached its recipients and is not recorded, nor one
 * the engine failed on, nor one whose stateful rules were skipped (the store is failing).
 * Tells the snapshot how the store did, for its log lines.  Returns the state word of the
 * log line: NULL (no store, or no calendar part), "ok", "skipped" or "unrecorded". */
static const char *record(msgctx *m, const mverdict *v, const mverdict_input *in, sfsistat st)
{
    int skipped = in->state_note != NULL, unrecorded = 0;

    if (!m->state_wanted || in->calendar_parts == 0)
        return NULL;
    if (m->store == NULL)
        return "skipped";
    if (!skipped && in->error == NULL && st == SMFIS_CONTINUE &&
        v->action < ITIP_ACT_QUARANTINE && itip_engine_record(m->engine) < 0)
        unrecorded = 1;
    msnap_store_result(m->snap, skipped || unrecorded,
                       skipped || unrecorded ? itip_store_error(m->store) : NULL);
    return skipped ? "skipped" : unrecorded ? "unrecorded" : "ok";
}

/* The verdict, built once: from the findings and, when the verdict asks for repair, the
 * repair plan (a repair that cannot be made selects its fallback here, before anything is
 * sent).  An internal failure gives the on_internal_error verdict.  0, or -1 when even that
 * cannot be built (out of memory). */
static int judge(msgctx *m, const itip_config *cfg, mverdict_input *in, mverdict *v,
                 int leadspc)
{
    int plan = in->error == NULL && in->findings != NULL && m->engine != NULL &&
               mverdict_action(cfg, in) == ITIP_ACT_REPAIR;

    if (plan && mrepair_plan(&m->repair, cfg, m->engine, in->findings, leadspc, m->qid) < 0) {
        mctx_error(m, "out of memory (repair)");
    } else {
        if (plan) {
            in->repaired = mrepair_repaired(&m->repair);
            in->repairs = mrepair_summary(&m->repair);
            in->repair_note = mrepair_refusal(&m->repair);
        }
        if (mverdict_build(v, cfg, in, leadspc) == 0)
            return 0;
        mctx_error(m, "out of memory (verdict)");
    }
    in->error = m->error;       /* the on_internal_error verdict, without findings */
    in->findings = NULL;
    in->repaired = NULL;
    in->repairs = NULL;
    in->repair_note = NULL;
    return mverdict_build(v, cfg, in, leadspc);
}

/* The metrics of the finished message: MS spent on it, ST answered for it.  A repair asked
 * for counts as made when its finding was repaired in the plan and the edits went out with
 * the verdict's repair action, else as refused; no plan (another action won) counts neither. */
static void count(const itip_config *cfg, const mverdict *v, const mverdict_input *in,
                  const mact_msg *am, double ms, sfsistat st)
{
    mmetrics_msg mm = { .seconds = ms / 1000.0, .calendar = in->calendar_parts > 0,
                        .findings = in->findings, .action = mact_status_word(st, v),
                        .internal_error = v->error,
                        .store_failed = am->state != NULL && strcmp(am->state, "ok") != 0 };
    int sent = v->action == ITIP_ACT_REPAIR && st == SMFIS_CONTINUE;
    size_t i;

    for (i = 0; in->repaired != NULL && in->findings != NULL && i < in->findings->n; i++) {
        const itip_finding *f = &in->findings->v[i];
        if (itip_config_action(cfg, f->rule, f->severity) != ITIP_ACT_REPAIR)
            continue;
        if (sent && in->repaired[i])
            mm.repairs_made++;
        else
            mm.repairs_refused++;
    }
    mmetrics_message(&mm);
}

sfsistat meom_finish(SMFICTX *ctx, const char *client, int leadspc, msgctx *m)
{
    const itip_config *cfg = m->snap ? m->snap->cfg : NULL;
    double t0 = mctx_now_ms(), ms;
    mverdict_input in;
    mverdict v;
    mact_msg am;
    sfsistat st;

    if (cfg == NULL)            /* cannot happen: a snapshot is installed before smfi_main */
        return SMFIS_CONTINUE;
    verdict_input(m, &in);
    if (judge(m, cfg, &in, &v, leadspc) < 0) {
        mlog(LOG_ERR, "qid=%s out of memory: message accepted unchecked",
             m->qid ? m->qid : "NOQUEUE");
        mmetrics_message(&(mmetrics_msg){ .seconds = (m->ms + mctx_now_ms() - t0) / 1000.0,
                                          .calendar = in.calendar_parts > 0, .action = "pass",
                                          .internal_error = 1 });
        return SMFIS_CONTINUE;
    }
    am = (mact_msg){ .qid = m->qid, .client = client, .sender = m->sender, .auth = m->auth,
                     .calendar_parts = in.calendar_parts, .forged_result = m->forged_result,
                     .forged_finding = m->forged_finding, .error = in.error,
                     .forged_repaired = m->forged_repaired };
    st = mact_apply(ctx, cfg, &v, v.action == ITIP_ACT_REPAIR ? mrepair_edit(&m->repair) : NULL,
                    &am);
    am.state = record(m, &v, &in, st);
    ms = m->ms + mctx_now_ms() - t0;
    mact_log(&v, &am, ms, st);
    count(cfg, &v, &in, &am, ms, st);
    if (v.action >= ITIP_ACT_REPAIR && in.error == NULL && !cfg->dry_run)
        mnotify_submit(m->snap, &(mnotify_msg){ .qid = m->qid, .client = client,
                                               .sender = m->sender, .auth = m->auth,
                                               .action = itip_action_name(v.action),
                                               .action_code = (int)v.action,
                                               .engine = m->engine });
    mverdict_free(&v);
    return st;
}
