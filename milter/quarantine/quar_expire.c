/*
 * quar_expire.c - the maximum hold age (itip-quarantine expire [--dry-run], see
 * quar_digest.h): every message itip-milter held longer than quarantine.max_hold_age is
 * released, returned to its envelope sender with a notice (then deleted from the queue), or
 * kept and reported as overdue, as quarantine.on_max_hold_age says (default keep).  Younger
 * messages and messages held by anything else are never touched.  A message with the null
 * sender is never returned (kept, with a warning); a return whose mail fails leaves the
 * message held.  One line per acted-on message on stdout; warnings and errors on stderr.
 * Exit status: 0, or 2 when any action failed.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "quar_digest.h"
#include "quar_text.h"

static const char *const policy_names[] = { "keep", "release", "return" };

/* The notice text for the sender of E (UTF-8; message strings made inert). */
static char *notice_text(const quar_ctx *q, const qd_entry *e)
{
    const quar_item *it = e->it;
    char *buf = NULL, age[64], max[64], host[256], f[2048];
    size_t size = 0, i;
    FILE *m = open_memstream(&buf, &size);

    if (m == NULL)
        return NULL;
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    qd_age_text(age, sizeof age, e->age);
    qd_age_text(max, sizeof max, q->cfg->quarantine.max_hold_age);
    fprintf(m, "This is itip-quarantine at %s.\n\n"
            "Your message was not delivered. The calendar checker of this mail system held it\n"
            "because of the problems listed below, and it stayed held for %s, longer than\n"
            "the longest hold time here (%s). It is returned to you: none of its recipients\n"
            "received it. Please correct the problem and send it again, or ask the\n"
            "postmaster of this site for help (quote the queue id).\n\n", host, age, max);
    fputs("  Subject:     ", m);
    quar_puts_safe(m, it->subject);
    fputs("\n  Recipients:  ", m);
    for (i = 0; i < it->nrcpts; i++) {
        fputs(i ? ", " : "", m);
        quar_puts_safe(m, it->rcpts[i]);
    }
    fprintf(m, "\n  Queue id:    %s\n\nWhat was wrong, and what can be done about it:\n", it->id);
    for (i = 0; i < it->nfindings; i++) {
        const char *rule, *sev, *detail, *remedy;
        qd_finding(it->findings[i], f, sizeof f, &rule, &sev, &detail);
        fputs("  - ", m);
        quar_puts_safe(m, rule);
        if (detail) {
            fputs(": ", m);
            quar_puts_safe(m, detail);
        }
        fputc('\n', m);
        if ((remedy = qd_remedy(rule)) != NULL)
            fprintf(m, "    %s\n", remedy);
    }
    if (it->nfindings == 0)
        fputs("  (no finding was recorded)\n", m);
    fputs("\nThe header of your message is attached.\n", m);
    if (fclose(m) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Returns E to its sender, then deletes it.  0, or -1 (reported; the message stays held). */
static int return_one(const quar_ctx *q, const qd_entry *e)
{
    const quar_item *it = e->it;
    char err[512], *text;
    strbuf msg;
    int rc;

    text = notice_text(q, e);
    if (text == NULL || quar_notice_msg(&msg, it->sender, text, it) < 0) {
        free(text);
        itip_strbuf_free(&msg);
        fprintf(stderr, "itip-quarantine: %s: out of memory: kept\n", it->id);
        return -1;
    }
    free(text);
    rc = quar_sendmail_msg(q, it->sender, msg.s, msg.len, err, sizeof err);
    itip_strbuf_free(&msg);
    if (rc < 0) {
        fprintf(stderr, "itip-quarantine: %s: the notice to the sender was not sent (%s): "
                "kept\n", it->id, err);
        return -1;
    }
    if (q->mta->discard(&q->mopts, it, err, sizeof err) < 0) {
        fprintf(stderr, "itip-quarantine: %s: returned to the sender, but not deleted: %s\n",
                it->id, err);
        return -1;
    }
    return 0;
}

int quar_cmd_expire(const quar_ctx *q)
{
    const itip_quarantine_config *qc = &q->cfg->quarantine;
    qd_digest d;
    char age[64], max[64], err[512];
    size_t i, acted = 0;
    int rc = QUAR_OK;

    if (qc->max_hold_age <= 0) {
        printf("no maximum hold age configured (quarantine.max_hold_age = 0): nothing to do\n");
        return QUAR_OK;
    }
    if (qd_build(&d, q) < 0) {
        qd_free(&d);
        return QUAR_ERROR;
    }
    qd_age_text(max, sizeof max, qc->max_hold_age);
    for (i = 0; i < d.n; i++) {
        const qd_entry *e = &d.e[i];
        const quar_item *it = e->it;
        itip_hold_policy p = qc->policy;
        if (e->age <= qc->max_hold_age)
            continue;
        acted++;
        qd_age_text(age, sizeof age, e->age);
        if (p == ITIP_HOLD_RETURN && it->sender[0] == '\0') {
            fprintf(stderr, "itip-quarantine: %s: null sender, never returned: kept\n", it->id);
            p = ITIP_HOLD_KEEP;
        }
        if (q->dry_run) {
            printf("%s: held %s (longer than %s): would %s\n", it->id, age, max,
                   policy_names[p]);
            continue;
        }
        if (p == ITIP_HOLD_KEEP) {
            printf("%s: held %s (longer than %s): kept, overdue\n", it->id, age, max);
            fprintf(stderr, "itip-quarantine: warning: %s held %s, longer than "
                    "quarantine.max_hold_age (%s): release or delete it\n", it->id, age, max);
        } else if (p == ITIP_HOLD_RELEASE) {
            if (q->mta->release(&q->mopts, it, err, sizeof err) < 0) {
                fprintf(stderr, "itip-quarantine: %s: %s\n", it->id, err);
                rc = QUAR_ERROR;
                continue;
            }
            printf("%s: held %s (longer than %s): released\n", it->id, age, max);
        } else {
            if (return_one(q, e) < 0) {
                rc = QUAR_ERROR;
                continue;
            }
            printf("%s: held %s (longer than %s): returned to ", it->id, age, max);
            quar_puts_safe(stdout, it->sender);
            fputs(" and deleted\n", stdout);
        }
    }
    if (acted == 0)
        printf("no message held longer than %s\n", max);
    qd_free(&d);
    return rc;
}
