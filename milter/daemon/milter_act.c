/*
 * milter_act.c - carries out a verdict at end of message (see milter_act.h).
 *
 * Order matters: forged copies of our headers are deleted first (highest index first, so
 * the indexes of the others do not move), then ours are inserted at index 0, findings in
 * reverse so that X-ITIP-Result ends on top followed by the findings in order.  A reject or
 * tempfail changes nothing in the message: it is not accepted.  Never called outside eom.
 * The repair action's new body goes out first (mact_replace_body, in chunks of at most
 * MACT_BODY_CHUNK), so that a failure can still turn the verdict into its fallback before
 * any header is written (likewise mact_change_header, for a calendar part that is the whole
 * message: its Content-Type is a message header); X-ITIP-Repaired then sits between
 * X-ITIP-Result and the findings.
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

int mact_replace_body(SMFICTX *ctx, const char *body, size_t len, const char *qid)
{
    size_t off = 0;

    while (off < len) {
        size_t n = len - off < MACT_BODY_CHUNK ? len - off : MACT_BODY_CHUNK;
        if (smfi_replacebody(ctx, (unsigned char *)(uintptr_t)(body + off), (int)n) !=
            MI_SUCCESS) {
            mlog(LOG_ERR, "qid=%s smfi_replacebody failed after %zu of %zu bytes: the message "
                 "is not repaired", qid ? qid : "NOQUEUE", off, len);
            return -1;
        }
        off += n;
    }
    return 0;
}

int mact_change_header(SMFICTX *ctx, const char *name, const char *value, const char *qid)
{
    if (smfi_chgheader(ctx, (char *)(uintptr_t)name, 1, (char *)(uintptr_t)value) !=
        MI_SUCCESS) {
        mlog(LOG_ERR, "qid=%s smfi_chgheader %s failed: the header is not repaired",
             qid ? qid : "NOQUEUE", name);
        return -1;
    }
    return 0;
}

sfsistat mact_apply(SMFICTX *ctx, const itip_config *cfg, const mverdict *v, const mact_msg *m)
{
    if (v->action == ITIP_ACT_REJECT || v->action == ITIP_ACT_TEMPFAIL)
        return reply(ctx, v, m);
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

static const char *status_name(sfsistat st, const mverdict *v)
{
    if (st == SMFIS_TEMPFAIL && v->action != ITIP_ACT_TEMPFAIL)
        return "tempfail";            /* a failed quarantine */
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
         status_name(status, v), v->action != v->wanted ? " dry_run=" : "",
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
