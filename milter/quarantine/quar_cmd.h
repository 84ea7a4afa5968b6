/*
 * quar_cmd.h - the commands of itip-quarantine: list, show, recheck, release, delete (digest
 * and expire: quar_digest.h).
 * Each works on the messages that the chosen MTA holds and that itip-milter put there
 * (quar_item_ours()); any other queue id is refused as unknown and left alone.
 * Exit codes: QUAR_OK; QUAR_HELD (recheck: a message would still be stopped); QUAR_ERROR
 * (an unknown or malformed queue id, an MTA tool that failed, a queue that cannot be read).
 */
#ifndef ITIP_QUAR_CMD_H
#define ITIP_QUAR_CMD_H

#include <time.h>
#include "base/config.h"
#include "quar_msg.h"
#include "quar_mta.h"
#include "store/state.h"

#define QUAR_OK 0
#define QUAR_HELD 1
#define QUAR_ERROR 2
#define QUAR_SHOW_LINES 40      /* calendar lines shown per finding */

typedef struct {
    const quar_mta *mta;
    quar_mta_opts mopts;
    const itip_config *cfg;
    itip_store *store;          /* for recheck and show, or NULL */
    quar_filter filter;         /* list only */
    int json;                   /* list, recheck and digest */
    time_t now;                 /* digest, expire: the clock (ITIP_QUARANTINE_NOW in tests) */
    int html;                   /* digest --html */
    const char *mail_to;        /* digest --mail ADDR, or NULL */
    int dry_run;                /* expire --dry-run */
    const char *cmd_prefix;     /* "itip-quarantine [-c FILE] [MTA options]", shell-quoted:
                                 * the start of a command on the same queue */
} quar_ctx;

/* Every held message, headers parsed (ours or not: quar_item_ours()).  0, or -1 (reported). */
int quar_cmd_load(const quar_ctx *q, quar_list *l);

int quar_cmd_list(const quar_ctx *q);
int quar_cmd_show(const quar_ctx *q, char *const *ids, int n);
int quar_cmd_recheck(const quar_ctx *q, char *const *ids, int n);
int quar_cmd_release(const quar_ctx *q, char *const *ids, int n);
int quar_cmd_delete(const quar_ctx *q, char *const *ids, int n);

#endif
