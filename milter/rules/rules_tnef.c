/*
 * rules_tnef.c - checks of TNEF meeting objects (see tnef_rules.h).
 *
 * Exports itip_check_tnef.  Which rule a TNEF fact maps to:
 *   tnef-corrupt                            the stream of a meeting object is truncated, has a
 *                                           bad checksum or an unreadable attMAPIProps
 *   reply-attendee-critical-change-missing  a response (Resp.Pos/Neg/Tent, MtgRespP/N/A)
 *                                           without PidLidAttendeeCriticalChange (KB 938650)
 *   reply-attendee-critical-change-invalid  ... with 1601-01-01 (FILETIME 0) or a value past
 *                                           4500-08-31 (the 4501 sentinel included)
 *   vevent-missing-uid                      neither PidLidGlobalObjectId nor
 *                                           PidLidCleanGlobalObjectId
 *   uid-goid-prefix-malformed               one of them is not a GlobalObjectId
 *   datetime-out-of-outlook-range           start/end (would-fail), clip (recurrence
 *                                           range; degrade; a no-end series' ClipEnd of
 *                                           4500-08-31T23:59 local passes) or
 *                                           attDateStart/End outside 1601..4500-08-31
 *   sequence-out-of-range                   PidLidAppointmentSequence negative
 *   tnef-to-non-tnef-domain                 an envelope recipient's domain (without an
 *                                           envelope: the To: address's) is on
 *                                           non_tnef_domains; info when it is only not on
 *                                           tnef_domains
 * When the stream ends early or its property list does not parse, only what was read is
 * judged: the rules about an absent property (C1, B5) are skipped, tnef-corrupt says why.
 * The severities follow the iCalendar counterparts: C1 and C2 are would-fail only when the
 * recipient (the organizer of a response) is on legacy_cdo_domains.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/config.h"
#include "mime/tnef.h"
#include "rules/calutil.h"
#include "rules/tnef_rules.h"

#define ADD(rule, sev, prop, ...) \
    itip_findings_add(out, (rule), (sev), -1, method, NULL, "TNEF", (prop), __VA_ARGS__)

/* True if an envelope recipient (or, with none, the To: address) is on legacy_cdo_domains:
 * a response goes to the organizer. */
static int to_legacy(const itip_msgctx *msg)
{
    char buf[512];
    size_t i;

    if (msg->cfg->n_legacy_cdo_domains == 0)
        return 0;
    for (i = 0; i < msg->nrcpts; i++)
        if (itip_config_is_legacy_domain(msg->cfg, itip_addr_domain(msg->rcpts[i])))
            return 1;
    if (msg->nrcpts == 0 && msg->hdrs->to != NULL &&
        itip_header_addr(msg->hdrs->to, buf, sizeof buf) != NULL)
        return itip_config_is_legacy_domain(msg->cfg, itip_addr_domain(buf));
    return 0;
}

/* A day past 4500-08-31: PidLidClipEnd of a series with no end is 4500-08-31T23:59 in the
 * organizer's time zone (MS-OXOCAL 2.2.1.15), up to 14 hours later in UTC. */
#define FT_CLIP_END_MAX (ITIP_TNEF_FT_PAST_4500 + 86400ull * 10000000ull)

/* SEV: would-fail for the meeting's own start and end (as for DTSTART/DTEND), degrade for the
 * recurrence range (as for an RRULE UNTIL). */
static void check_time(itip_findings *out, const char *method, const char *name,
                       const itip_tnef_time *t, itip_severity sev)
{
    char when[32];
    uint64_t max = strcmp(name, "PidLidClipEnd") == 0 ? FT_CLIP_END_MAX : ITIP_TNEF_FT_PAST_4500;

    if (t->have && t->ft >= max)
        ADD(ITIP_R_DATETIME_OUT_OF_OUTLOOK_RANGE, sev, name,
            "TNEF %s %s is after 4500-08-31, outside what Outlook represents", name,
            itip_tnef_ft_text(t->ft, when, sizeof when));
}

static void check_dtr(itip_findings *out, const char *method, const char *name,
                      const itip_tnef_dtr *d)
{
    if (d->have && (d->year < 1601 || d->year > 4500 || (d->year == 4500 && d->month > 8)))
        ADD(ITIP_R_DATETIME_OUT_OF_OUTLOOK_RANGE, ITIP_SEV_WOULD_FAIL, name,
            "TNEF %s %04d-%02d-%02d lies outside 1601-01-01..4500-08-31", name, d->year,
            d->month, d->day);
}

static void check_goid(itip_findings *out, const char *method, const char *name,
                       const itip_tnef_bin *b)
{
    const char *why = b->have ? itip_tnef_goid_problem(b) : NULL;

    if (why != NULL)
        ADD(ITIP_R_UID_GOID_PREFIX_MALFORMED, ITIP_SEV_DEGRADE, name,
            "TNEF %s (%zu bytes) is not a GlobalObjectId: %s", name, b->len, why);
}

static void check_response(const itip_msgctx *msg, const itip_tnef *t, itip_findings *out,
                           const char *method)
{
    int legacy = to_legacy(msg);
    char when[32];

    if (!t->attendee_cc.have) {
        if (legacy)
            ADD(ITIP_R_REPLY_ATTENDEE_CRITICAL_CHANGE_MISSING, ITIP_SEV_WOULD_FAIL,
                "PidLidAttendeeCriticalChange", "TNEF %s without PidLidAttendeeCriticalChange: "
                "an Exchange 2003 organizer records 1601-01-01 as this attendee's track-status "
                "time, later updates get stuck (KB 938650)", t->msg_class);
        else
            ADD(ITIP_R_REPLY_ATTENDEE_CRITICAL_CHANGE_MISSING, ITIP_SEV_INFO,
                "PidLidAttendeeCriticalChange", "TNEF %s without PidLidAttendeeCriticalChange: "
                "harmless for current Exchange, poisons tracking on an Exchange 2003 organizer "
                "(KB 938650)", t->msg_class);
        return;
    }
    if (t->attendee_cc.ft == 0 || t->attendee_cc.ft >= ITIP_TNEF_FT_PAST_4500)
        ADD(ITIP_R_REPLY_ATTENDEE_CRITICAL_CHANGE_INVALID,
            legacy ? ITIP_SEV_WOULD_FAIL : ITIP_SEV_DEGRADE, "PidLidAttendeeCriticalChange",
            "TNEF PidLidAttendeeCriticalChange %s is %s: an invalid track-status time "
            "(KB 938650)", itip_tnef_ft_text(t->attendee_cc.ft, when, sizeof when),
            t->attendee_cc.ft == 0 ? "FILETIME 0 (1601-01-01)"
            : t->attendee_cc.ft >= ITIP_TNEF_FT_4501 ? "Outlook's 4501 'none' sentinel"
            : "after 4500-08-31");
}

/* tnef-to-non-tnef-domain: would-fail for a recipient on non_tnef_domains; otherwise info for
 * one whose domain is not on tnef_domains (not known to read TNEF).  The recipients are the
 * envelope's, or without an envelope the To: address. */
static void check_domains(const itip_msgctx *msg, const itip_tnef *t, itip_findings *out,
                          const char *method)
{
    char buf[512];
    const char *bad = NULL, *unknown = NULL;
    size_t i;

    for (i = 0; i < msg->nrcpts && bad == NULL; i++) {
        const char *d = itip_addr_domain(msg->rcpts[i]);
        if (itip_config_is_non_tnef_domain(msg->cfg, d))
            bad = msg->rcpts[i];
        else if (unknown == NULL && !itip_config_is_tnef_domain(msg->cfg, d))
            unknown = msg->rcpts[i];
    }
    if (msg->nrcpts == 0 && msg->hdrs->to != NULL &&
        itip_header_addr(msg->hdrs->to, buf, sizeof buf) != NULL) {
        if (itip_config_is_non_tnef_domain(msg->cfg, itip_addr_domain(buf)))
            bad = buf;
        else if (!itip_config_is_tnef_domain(msg->cfg, itip_addr_domain(buf)))
            unknown = buf;
    }
    if (bad != NULL)                  /* one finding per TNEF part is enough */
        ADD(ITIP_R_TNEF_TO_NON_TNEF_DOMAIN, ITIP_SEV_WOULD_FAIL, NULL,
            "TNEF %s to %s, whose domain is on non_tnef_domains: it arrives as an unreadable "
            "winmail.dat and the meeting is lost", t->msg_class, bad);
    else if (unknown != NULL)
        ADD(ITIP_R_TNEF_TO_NON_TNEF_DOMAIN, ITIP_SEV_INFO, NULL,
            "TNEF %s to %s, whose domain is not on tnef_domains: unless its mail system reads "
            "winmail.dat, the meeting is lost there", t->msg_class, unknown);
}

/* METHOD and UID for headers and logs, where no calendar part gave them.  0 or -1. */
static int summarise(const itip_tnef *t, const char *method, itip_partsummary *sum)
{
    const itip_tnef_bin *g = t->clean_goid.have ? &t->clean_goid : &t->goid;
    size_t i;

    if (sum == NULL || sum->method != NULL || sum->uid != NULL || method == NULL)
        return 0;
    if ((sum->method = strdup(method)) == NULL)
        return -1;
    if (!g->have || g->len > ITIP_TNEF_GOID_KEEP || itip_tnef_goid_problem(g) != NULL)
        return 0;
    if ((sum->uid = malloc(g->len * 2 + 1)) == NULL)
        return -1;
    for (i = 0; i < g->len; i++)
        snprintf(sum->uid + 2 * i, 3, "%02X", g->head[i]);
    return 0;
}

int itip_check_tnef(const itip_msgctx *msg, const itip_calpart *part, size_t index,
                    itip_findings *out, itip_partsummary *sum)
{
    itip_tnef t;
    itip_tnef_meeting kind;
    const char *method;
    int complete;

    itip_tnef_read(part->data, part->len, &t);
    kind = itip_tnef_meeting_kind(t.msg_class);
    if (kind == ITIP_TNEF_NOT_MEETING)
        return 0;
    method = kind == ITIP_TNEF_MTG_REQUEST ? "REQUEST" : kind == ITIP_TNEF_MTG_RESPONSE ? "REPLY"
           : kind == ITIP_TNEF_MTG_CANCEL ? "CANCEL" : NULL;
    if (t.status != ITIP_TNEF_OK && !part->truncated)
        ADD(ITIP_R_TNEF_CORRUPT, ITIP_SEV_WOULD_FAIL, NULL, "TNEF part %zu (%s, %zu bytes): %s",
            index + 1, t.msg_class, part->len, t.problem);
    /* a property list not read to its end says nothing about what is absent */
    complete = t.status == ITIP_TNEF_OK || t.status == ITIP_TNEF_BAD_CHECKSUM;
    check_domains(msg, &t, out, method);
    if (kind == ITIP_TNEF_MTG_RESPONSE && (complete || t.attendee_cc.have))
        check_response(msg, &t, out, method);
    if (complete && !t.goid.have && !t.clean_goid.have)
        ADD(ITIP_R_VEVENT_MISSING_UID, ITIP_SEV_WOULD_FAIL, "PidLidGlobalObjectId",
            "TNEF %s has neither PidLidGlobalObjectId nor PidLidCleanGlobalObjectId: nothing "
            "correlates it with its meeting", t.msg_class);
    check_goid(out, method, "PidLidGlobalObjectId", &t.goid);
    check_goid(out, method, "PidLidCleanGlobalObjectId", &t.clean_goid);
    if (t.have_sequence && t.sequence < 0)
        ADD(ITIP_R_SEQUENCE_OUT_OF_RANGE, ITIP_SEV_DEGRADE, "PidLidAppointmentSequence",
            "TNEF PidLidAppointmentSequence is %ld, not a non-negative 32-bit integer",
            (long)t.sequence);
    check_time(out, method, "PidLidAppointmentStartWhole", &t.start_whole, ITIP_SEV_WOULD_FAIL);
    check_time(out, method, "PidLidAppointmentEndWhole", &t.end_whole, ITIP_SEV_WOULD_FAIL);
    check_time(out, method, "PR_START_DATE", &t.pr_start, ITIP_SEV_WOULD_FAIL);
    check_time(out, method, "PR_END_DATE", &t.pr_end, ITIP_SEV_WOULD_FAIL);
    check_time(out, method, "PidLidClipStart", &t.clip_start, ITIP_SEV_DEGRADE);
    check_time(out, method, "PidLidClipEnd", &t.clip_end, ITIP_SEV_DEGRADE);
    check_dtr(out, method, "attDateStart", &t.date_start);
    check_dtr(out, method, "attDateEnd", &t.date_end);
    return summarise(&t, method, sum);
}
