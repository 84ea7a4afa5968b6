/*
 * quar_mta.h - the two queues itip-quarantine works on, behind one interface: Postfix's hold
 * queue (quar_postfix.c: postqueue -j, postcat -e -q, postsuper, postqueue -i) and Sendmail's
 * quarantine (quar_sendmail.c: the hf queue files, sendmail -qQ -Q, sendmail -qI).
 *
 * list() returns every held message with its envelope and header block, ours or not (the
 * caller picks ours: quar_item_ours()), reading each held message once; get() one held
 * message by queue id (envelope, header block and, when asked, the whole message as queued:
 * header block, empty line, body), reading that message alone, once; release() and
 * discard() act on one item that list() or get() returned.  Each prints nothing: on failure
 * it returns -1 with a one-line reason in err.
 */
#ifndef ITIP_QUAR_MTA_H
#define ITIP_QUAR_MTA_H

#include <stddef.h>
#include "quar_msg.h"
#include "base/strbuf.h"

#define QUAR_MAX_OUTPUT (256UL << 20) /* bytes read from one tool or queue file */

typedef struct {
    const char *postfix_dir;         /* --postfix-dir: passed to postfix tools as -c DIR */
    const char *sendmail_queue;      /* --sendmail-queue DIR */
    const char *sendmail_config;     /* --sendmail-config FILE: passed as -C FILE */
    const char *sendmail_program;    /* --sendmail-program PATH */
    int timeout;                     /* seconds per tool run */
} quar_mta_opts;

typedef struct {
    const char *name;                /* "postfix" or "sendmail" */
    const char *queue;               /* "hold" or "quarantine" */
    int (*list)(const quar_mta_opts *o, quar_list *out, char *err, size_t errlen);
    /* 0 with IT (zeroed by the caller) filled, and MSG when not NULL (initialised here: the
     * caller frees it whatever the outcome); 1 when no message with queue id ID is held
     * (unknown, or in another queue); -1 on failure. */
    int (*get)(const quar_mta_opts *o, const char *id, quar_item *it, strbuf *msg, char *err,
               size_t errlen);
    int (*release)(const quar_mta_opts *o, const quar_item *it, char *err, size_t errlen);
    int (*discard)(const quar_mta_opts *o, const quar_item *it, char *err, size_t errlen);
} quar_mta;

extern const quar_mta quar_postfix;
extern const quar_mta quar_sendmail;

#endif
