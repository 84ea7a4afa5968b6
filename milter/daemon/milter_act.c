/*
 * milter_act.c - the action step at end of message (see milter_act.h).
 *
 * Order matters: a reject or tempfail changes nothing in the message (it is not accepted).
 * Otherwise the repair's edits go first (the new body in chunks of at most MACT_BODY_CHUNK,
 * then the changed header), so that an edit the MTA does not take can still turn the answer
 * into a temporary failure before anything else is sent; then forged copies of our headers
 * are deleted (highest index first, so the indexes of the others do not move), then ours are
 * inserted at index 0, findings in reverse so that X-ITIP-Result ends on top, followed by
 * X-ITIP-Repaired and the findings in order; then the quarantine.  Every smfi_* call that
 * changes or answers for a message is in this file.
 */
#include "ac-config.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include "milter_act.h"
#include "milter_log.h"

void mact_header_name(char *buf, size_t len, const itip_config *cfg, const char *suffix)
{
    snprintf(buf, len, "%s%s", cfg->header_prefix, suffix);
}

static const char *qid_of(const mact_msg *m)
{
    return m->qid ? m->qid : "NOQUEUE";
}

static void remove_forged(SMFICTX *ctx, const itip_config *cfg, const mact_msg *m)
{
    static const char *const suffix[] = { "-Result", "-Finding", "-Repaired" };
    size_t counts[3] = { m->forged_result, m->forged_finding, m->forged_repaired }, k, i;
    char name[64];

    for (k = 0; k < 3; k++) {
        mact_header_name(name, sizeof name, cfg, suffix[k]);
        for (i = counts[k]; i > 0; i--)
            if (smfi_chgheader(ctx, name, (int)i, NULL) != MI_SUCCESS)
                mlog(LOG_WARNING, "qid=%s cannot remove forged header %s #%zu", qid_of(m),
                     name, i);
    }
}

static void insert_headers(SMFICTX *ctx, const itip_config *cfg, const mverdict *v,
                           const mact_msg *m)
{
    char result[64], finding[64], repaired[64];
    size_t i;

    mact_header_name(result, sizeof result, cfg, "-Result");
    mact_header_name(finding, sizeof finding, cfg, "-Finding");
    mact_header_name(repaired, sizeof repaired, cfg, "-Repaired");
    for (i = v->nfindings; i > 0; i--)
        if (smfi_insheader(ctx, 0, finding, v->findings[i - 1]) != MI_SUCCESS)
            mlog(LOG_WARNING, "qid=%s cannot add header %s", qid_of(m), finding);
    if (v->repaired != NULL && smfi_insheader(ctx, 0, repaired, v->repaired) != MI_SUCCESS)
        mlog(LOG_WARNING, "qid=%s cannot add header %s", qid_of(m), repaired);
    if (smfi_insheader(ctx, 0, result, v->result) != MI_SUCCESS)
        mlog(LOG_WARNING, "qid=%s cannot add header %s", qid_of(m), result);
}

static sfsistat reply(SMFICTX *ctx, const mverdict *v, const mact_msg *m)
{
    int reject = v->action == ITIP_ACT_REJECT;

    if (smfi_setreply(ctx, reject ? "550" : "451", reject ? "5.7.1" : "4.7.1",
                      v->reply) != MI_SUCCESS)
        mlog(LOG_WARNING, "qid=%s smfi_setreply failed: the MTA's default text is used",
             qid_of(m));
    return reject ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

static int replace_body(SMFICTX *ctx, const char *body, size_t len, const mact_msg *m)
{
    size_t off = 0;

    while (off < len) {
        size_t n = len - off < MACT_BODY_CHUNK ? len - off : MACT_BODY_CHUNK;
        if (smfi_replacebody(ctx, (unsigned char *)(uintptr_t)(body + off), (int)n) !=
            MI_SUCCESS) {
            mlog(LOG_ERR, "qid=%s smfi_replacebody failed after %zu of %zu bytes: deferring "
                 "the message rather than delivering it half-repaired", qid_of(m), off, len);
            return -1;
        }
        off += n;
    }
    return 0;
}

static int change_header(SMFICTX *ctx, const char *name, const char *value, const mact_msg *m)
{
    if (smfi_chgheader(ctx, (char *)(uintptr_t)name, 1, (char *)(uintptr_t)value) !=
        MI_SUCCESS) {
        mlog(LOG_ERR, "qid=%s smfi_chgheader %s failed: deferring the message rather than "
             "delivering it half-repaired", qid_of(m), name);
        return -1;
    }
    return 0;
}

/* The repair's edits; -1 when the MTA did not take one. */
static int edit(SMFICTX *ctx, const mact_edit *e, const mact_msg *m)
{
    if (e->body != NULL && replace_body(ctx, e->body, e->bodylen, m) < 0)
        return -1;
    if (e->header != NULL && change_header(ctx, e->header, e->value, m) < 0)
        return -1;
    return 0;
}

sfsistat mact_apply(SMFICTX *ctx, const itip_config *cfg, const mverdict *v,
                    const mact_edit *e, const mact_msg *m)
{
    if (v->action == ITIP_ACT_REJECT || v->action == ITIP_ACT_TEMPFAIL)
        return reply(ctx, v, m);
    if (v->action == ITIP_ACT_REPAIR && e != NULL && edit(ctx, e, m) < 0)
        return SMFIS_TEMPFAIL;
    remove_forged(ctx, cfg, m);
    if (v->result != NULL)
        insert_headers(ctx, cfg, v, m);
    if (v->action == ITIP_ACT_QUARANTINE && smfi_quarantine(ctx, v->reason) != MI_SUCCESS) {
        mlog(LOG_ERR, "qid=%s smfi_quarantine failed: deferring the message instead",
             qid_of(m));
        return SMFIS_TEMPFAIL;
    }
    return SMFIS_CONTINUE;
}

/* VALUE fit for key=value: printable, no spaces, bounded. */
static char *logval(const char *value, size_t max)
{
    char *s = mverdict_printable(value, max), *p;

    for (p = s; p != NULL && *p; p++)
        if (*p == ' ' || *p == '"')
            *p = '?';
    return s;
}

const char *mact_status_word(sfsistat st, const mverdict *v)
{
    if (st == SMFIS_TEMPFAIL && v->action != ITIP_ACT_TEMPFAIL)
        return "tempfail";            /* a failed quarantine or repair edit */
    return v->wanted == ITIP_ACT_NONE && !v->error ? "pass" : itip_action_name(v->action);
}

void mact_log(const mverdict *v, const mact_msg *m, double ms, sfsistat status)
{
    char *qid = logval(qid_of(m), 64), *client = logval(m->client, 64);
    char *from = logval(m->sender, 256), *auth = m->auth ? logval(m->auth, 64) : NULL;
    char *err = m->error ? mverdict_printable(m->error, 200) : NULL;
    int prio = v->error ? LOG_ERR : v->action >= ITIP_ACT_QUARANTINE ? LOG_NOTICE : LOG_INFO;

    mlog(prio, "qid=%s client=%s from=%s%s%s method=%s uid=%s calendar_parts=%zu rules=%s "
         "action=%s%s%s forged_removed=%zu%s%s ms=%.1f%s%s%s",
         qid ? qid : "?", client ? client : "?", from ? from : "?", auth ? " auth=" : "",
         auth ? auth : "", v->method, v->uid, m->calendar_parts, v->all_rules,
         mact_status_word(status, v), v->action != v->wanted ? " dry_run=" : "",
         v->action != v->wanted ? itip_action_name(v->wanted) : "",
         m->forged_result + m->forged_finding, m->state ? " state=" : "",
         m->state ? m->state : "", ms, err ? " error=\"" : "", err ? err : "",
         err ? "\"" : "");
    free(qid);
    free(client);
    free(from);
    free(auth);
    free(err);
}
