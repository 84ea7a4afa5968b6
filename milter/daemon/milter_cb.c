/*
 * milter_cb.c - the libmilter callbacks of itip-milter (see milter_cb.h).
 *
 * A connection context lives from the first callback of a connection to xxfi_close; it
 * holds a message context that msg_reset() empties - the one reset used by eom, abort and
 * close, safe to run twice.  Each message takes a reference to the configuration current at
 * MAIL FROM and keeps it to the end, whatever reloads happen meanwhile.
 * The engine is fed the message as bytes: "Name:value\r\n" per header (the MTA's leading
 * space kept when SMFIP_HDR_LEADSPC was negotiated), "\r\n" at end of headers, then each
 * body chunk as it comes.  An internal failure (out of memory, engine error) is remembered
 * and turned into on_internal_error at eom: mail is never lost here.
 * The stateful rules: each message's engine gets the snapshot's store (NULL while it is
 * unavailable: the rules are skipped and X-ITIP-Result says so) and the client address of
 * the connection.  The repair action (milter_repair.c): while the configuration asks for
 * it, the body bytes are kept as well (and the rest of a body with a calendar part is not
 * skipped).  End of message is milter_eom.c's (meom_finish): the callbacks only collect.
 * Every step but body and eom is negotiated without a reply where the MTA offers it.  Each
 * thread that runs an end of message (where libical runs) is marked so that libical's
 * per-thread memory is released when libmilter ends the thread (thread_end).
 * The metrics count a connection when its context is made and when xxfi_close frees it
 * (a connection that never got a context is not counted).
 * Callbacks never exit and return CONTINUE, SKIP (body) or the verdict (eom); negotiation
 * refuses only an MTA that cannot add headers or quarantine.
 */
#include "ac-config.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include "engine/engine.h"
#include "milter_cb.h"
#include "milter_ctx.h"
#include "milter_eom.h"
#include "milter_log.h"
#include "milter_metrics.h"
#include "milter_repair.h"
#include "milter_snap.h"
#include "base/strbuf.h"

#ifndef SMFIP_HDR_LEADSPC
#error "libmilter too old: SMFIP_HDR_LEADSPC (milter protocol 6) is needed"
#endif

#define NEED_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE)

/* The steps the milter sees, and why; those in NO_REPLY always go on, so the MTA need not wait
 * for their answer (a round trip each; with a million headers the answer came after the
 * client's timeout).  Over TCP only the header block goes without replies: the MTA writes
 * each SMTP step's packet as the client sends it, and with no reply to carry our ACK its next
 * small packet waits for our delayed ACK (Nagle: some 40 ms per message, measured by
 * t/postfix.sh); headers and end of headers come in one burst, and on a unix socket nothing
 * waits.
 *   connect  the client address: the log line, the stateful rules' skew per host   (unix)
 *   helo     nothing; registered so that Postfix sends no lone macro packet (a ~40 ms
 *            Nagle/delayed-ACK stall over TCP)                                          (unix)
 *   mail     the envelope sender and {auth_authen}: the log line, organizer-not-sender;
 *            a message starts                                                       (unix)
 *   rcpt     the envelope recipients: the rules that look at them                      (unix)
 *   data     {i}, Postfix's queue id, for every log line                               (unix)
 *   header   the message itself; forged X-ITIP headers counted for removal            no reply
 *   eoh      the end of the header block                                                no reply
 *   body     the message itself; answered: SKIP once nothing more can matter
 *   eom      the verdict and the action
 *   unknown  not seen (SMFIP_NOUNKNOWN) */
#define NO_REPLY (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | \
                  SMFIP_NR_DATA | SMFIP_NR_HDR | SMFIP_NR_EOH)
#define NO_REPLY_TCP (SMFIP_NR_HDR | SMFIP_NR_EOH)

static int local_socket;        /* the milter listens on a unix socket (milter_cb_socket) */

void milter_cb_socket(int unix_socket)
{
    local_socket = unix_socket;
}

/* The answer of a step that always goes on: none when STEP was negotiated without reply. */
static sfsistat go_on(const connctx *c, unsigned long step)
{
    return c != NULL && (c->nr & step) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* The one reset: frees what the message holds, leaves an empty context; idempotent. */
static void msg_reset(msgctx *m)
{
    itip_engine_free(m->engine);
    msnap_release(m->snap);
    itip_strbuf_free(&m->line);
    free(m->sender);
    free(m->qid);
    free(m->auth);
    mrepair_reset(&m->repair);
    memset(m, 0, sizeof *m);
}

static void conn_free(connctx *c)
{
    msg_reset(&c->msg);
    free(c->client);
    free(c);
}

/* The connection context, made on the first callback of a connection; NULL when out of
 * memory (callbacks then let mail through, and eom applies on_internal_error). */
static connctx *conn_get(SMFICTX *ctx)
{
    connctx *c = smfi_getpriv(ctx);

    if (c != NULL)
        return c;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
        conn_free(c);
        return NULL;
    }
    mmetrics_connection_open();     /* closed in cb_close, the one place a context ends */
    return c;
}

/* ---- the end of a libmilter thread ---- */

static pthread_key_t thread_key;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;
static int thread_key_ok;

/* Runs when a thread that analysed mail ends: libical's per-thread strings go with it. */
static void thread_end(void *unused)
{
    (void)unused;
    itip_engine_thread_release();
}

static void thread_key_make(void)
{
    thread_key_ok = pthread_key_create(&thread_key, thread_end) == 0;
}

/* Marks this thread for thread_end() (once per thread; a failure only costs the release). */
static void thread_watch(void)
{
    pthread_once(&thread_once, thread_key_make);
    if (thread_key_ok && pthread_getspecific(thread_key) == NULL)
        pthread_setspecific(thread_key, &thread_key);
}

/* Replaces *DST with the value of macro NAME when the MTA sent it. */
static void take_macro(SMFICTX *ctx, const char *name, char **dst)
{
    const char *v = smfi_getsymval(ctx, (char *)name);
    char *copy;

    if (v == NULL || *v == '\0' || (*dst != NULL && strcmp(*dst, v) == 0))
        return;
    copy = strdup(v);
    if (copy != NULL) {
        free(*dst);
        *dst = copy;
    }
}

static void msg_start(connctx *c, SMFICTX *ctx)
{
    msgctx *m = &c->msg;

    msg_reset(m);
    m->active = 1;
    m->snap = msnap_acquire();
    m->engine = m->snap ? itip_engine_new(m->snap->cfg) : NULL;
    if (m->engine == NULL)
        mctx_error(m, "out of memory (engine)");
    else
        mrepair_start(&m->repair, m->snap->cfg, c->can_chgbody);
    if (m->engine != NULL) {
        m->store = msnap_store(m->snap, &m->state_wanted);
        itip_engine_set_store(m->engine, m->store);
        if (itip_engine_set_client(m->engine, c->client) < 0)
            mctx_error(m, "out of memory (client)");
    }
    take_macro(ctx, "{i}", &m->qid);
}

/* The message context; a message starts at MAIL FROM, or at whatever callback comes first. */
static msgctx *msg_get(connctx *c, SMFICTX *ctx)
{
    if (!c->msg.active)
        msg_start(c, ctx);
    return &c->msg;
}

static void feed(msgctx *m, const void *buf, size_t len)
{
    double t0 = mctx_now_ms();

    if (m->error[0] == '\0' && itip_engine_feed(m->engine, buf, len) < 0)
        mctx_error(m, itip_engine_error(m->engine));
    mrepair_fed(&m->repair, buf, len);
    m->ms += mctx_now_ms() - t0;
}

/* ---- connection ---- */

static void set_symlist(SMFICTX *ctx)
{
    /* {i} arrives with MAIL (Sendmail) or DATA/EOH (Postfix) */
    smfi_setsymlist(ctx, SMFIM_CONNECT, "{client_addr}");
    smfi_setsymlist(ctx, SMFIM_ENVFROM, "{i} {auth_authen}");
    smfi_setsymlist(ctx, SMFIM_DATA, "{i}");
    smfi_setsymlist(ctx, SMFIM_EOH, "{i}");
    smfi_setsymlist(ctx, SMFIM_EOM, "{i}");
}

static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                             unsigned long f2, unsigned long f3, unsigned long *pf0,
                             unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    unsigned long nr;
    connctx *c;

    (void)f2;
    (void)f3;
    if ((f0 & NEED_ACTIONS) != NEED_ACTIONS) {
        mlog(LOG_ERR, "the MTA does not offer adding/changing headers and quarantine "
             "(actions 0x%lx): refusing this connection", f0);
        return SMFIS_REJECT;
    }
    c = conn_get(ctx);
    *pf0 = NEED_ACTIONS | (f0 & (SMFIF_SETSYMLIST | SMFIF_CHGBODY));
    /* Each step, where the MTA offers the flag: SKIP and LEADSPC as offered; no unknown
     * commands; no reply (NO_REPLY: the callbacks of these steps always go on) only if the
     * context can remember it, else those callbacks answer continue. */
    nr = local_socket ? NO_REPLY : NO_REPLY_TCP;
    *pf1 = (f1 & (SMFIP_SKIP | SMFIP_NOUNKNOWN)) | (c != NULL ? f1 & (SMFIP_HDR_LEADSPC | nr) : 0);
    *pf2 = *pf3 = 0;
    if (c != NULL) {
        c->leadspc = (f1 & SMFIP_HDR_LEADSPC) != 0;
        c->nr = *pf1 & NO_REPLY;
        c->can_skip = (f1 & SMFIP_SKIP) != 0;
        c->can_chgbody = (f0 & SMFIF_CHGBODY) != 0;
    }
    if (f0 & SMFIF_SETSYMLIST)
        set_symlist(ctx);
    mlog(LOG_DEBUG, "negotiated actions 0x%lx protocol 0x%lx (offered 0x%lx 0x%lx)", *pf0,
         *pf1, f0, f1);
    return SMFIS_CONTINUE;
}

static char *addr_text(const struct sockaddr *sa)
{
    char buf[INET6_ADDRSTRLEN];
    const void *a = NULL;

    if (sa != NULL && sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa != NULL && sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (a == NULL || inet_ntop(sa->sa_family, a, buf, sizeof buf) == NULL)
        return NULL;
    return strdup(buf);
}

static sfsistat cb_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
    connctx *c = conn_get(ctx);

    (void)host;
    if (c == NULL)
        return SMFIS_CONTINUE;
    free(c->client);
    c->client = addr_text(sa);
    if (c->client == NULL)
        take_macro(ctx, "{client_addr}", &c->client);
    return go_on(c, SMFIP_NR_CONN);
}

/* Registered only so that Postfix sends no lone macro packet for this stage (a ~40 ms
 * Nagle/delayed-ACK stall over TCP). */
static sfsistat cb_helo(SMFICTX *ctx, char *helo)
{
    (void)helo;
    return go_on(smfi_getpriv(ctx), SMFIP_NR_HELO);
}

/* ---- envelope ---- */

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
    connctx *c = conn_get(ctx);
    msgctx *m;

    if (c == NULL)
        return SMFIS_CONTINUE;
    msg_start(c, ctx);
    m = &c->msg;
    if (argv != NULL && argv[0] != NULL && (m->sender = strdup(argv[0])) == NULL)
        mctx_error(m, "out of memory (sender)");
    if (m->error[0] == '\0' && argv != NULL && argv[0] != NULL &&
        itip_engine_set_sender(m->engine, argv[0]) < 0)
        mctx_error(m, itip_engine_error(m->engine));
    take_macro(ctx, "{auth_authen}", &m->auth);
    return go_on(c, SMFIP_NR_MAIL);
}

static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
    connctx *c = conn_get(ctx);
    msgctx *m;

    if (c == NULL)
        return SMFIS_CONTINUE;
    m = msg_get(c, ctx);
    if (m->error[0] == '\0' && argv != NULL && argv[0] != NULL &&
        itip_engine_add_rcpt(m->engine, argv[0]) < 0)
        mctx_error(m, itip_engine_error(m->engine));
    return go_on(c, SMFIP_NR_RCPT);
}

static sfsistat cb_data(SMFICTX *ctx)
{
    connctx *c = conn_get(ctx);

    if (c != NULL)
        take_macro(ctx, "{i}", &msg_get(c, ctx)->qid);
    return go_on(c, SMFIP_NR_DATA);
}

/* ---- content ---- */

static void count_forged(msgctx *m, const char *name)
{
    const char *prefix = m->snap ? m->snap->cfg->header_prefix : NULL;
    size_t n = prefix ? strlen(prefix) : 0;

    if (n == 0 || strncasecmp(name, prefix, n) != 0)
        return;
    if (strcasecmp(name + n, "-Result") == 0)
        m->forged_result++;
    else if (strcasecmp(name + n, "-Finding") == 0)
        m->forged_finding++;
    else if (strcasecmp(name + n, "-Repaired") == 0)
        m->forged_repaired++;
}

/* "Name:value\r\n"; a bare LF inside a folded value becomes CRLF. */
static int header_line(strbuf *b, const char *name, const char *value, int leadspc)
{
    const char *p;

    itip_strbuf_reset(b);
    if (itip_strbuf_printf(b, "%s:%s", name, leadspc ? "" : " ") < 0)
        return -1;
    for (p = value; *p; p++)
        if (*p == '\n' && (p == value || p[-1] != '\r') ? itip_strbuf_append(b, "\r\n", 2) < 0
                                                         : itip_strbuf_putc(b, *p) < 0)
            return -1;
    return itip_strbuf_append(b, "\r\n", 2);
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
    connctx *c = conn_get(ctx);
    msgctx *m;

    if (c == NULL)              /* no context at negotiation either: no-reply not asked for */
        return SMFIS_CONTINUE;
    m = msg_get(c, ctx);
    count_forged(m, name);
    if (m->error[0] == '\0') {
        if (header_line(&m->line, name, value ? value : "", c->leadspc) < 0)
            mctx_error(m, "out of memory (header)");
        else
            feed(m, m->line.s, m->line.len);
    }
    return go_on(c, SMFIP_NR_HDR);
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
    connctx *c = conn_get(ctx);
    msgctx *m;

    if (c == NULL)
        return SMFIS_CONTINUE;
    m = msg_get(c, ctx);
    take_macro(ctx, "{i}", &m->qid);
    feed(m, "\r\n", 2);
    mrepair_eoh(&m->repair);
    return go_on(c, SMFIP_NR_EOH);
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *buf, size_t len)
{
    connctx *c = conn_get(ctx);
    msgctx *m;

    if (c == NULL)
        return SMFIS_CONTINUE;
    m = msg_get(c, ctx);
    mrepair_body(&m->repair, buf, len);
    if (!m->skipping && m->error[0] == '\0') {
        feed(m, buf, len);
        m->skipping = m->error[0] == '\0' && itip_engine_skippable(m->engine);
    }
    if ((m->skipping || m->error[0] != '\0') && c->can_skip &&
        (m->error[0] != '\0' || !mrepair_needs_body(&m->repair, m->engine)))
        return SMFIS_SKIP;
    return SMFIS_CONTINUE;
}

/* ---- end of message ---- */

static sfsistat cb_eom(SMFICTX *ctx)
{
    connctx *c = smfi_getpriv(ctx), spare;
    sfsistat st;

    if (c == NULL) {            /* every earlier callback failed to make one: out of memory */
        memset(&spare, 0, sizeof spare);
        c = &spare;
        mctx_error(&c->msg, "out of memory (connection)");
        c->msg.active = 1;
        c->msg.snap = msnap_acquire();
        if (c->msg.snap == NULL)
            return SMFIS_CONTINUE;
    }
    msg_get(c, ctx);
    take_macro(ctx, "{i}", &c->msg.qid);
    thread_watch();             /* libical runs here, in whichever worker thread this is */
    st = meom_finish(ctx, c->client, c->leadspc, &c->msg);
    msg_reset(&c->msg);
    return st;
}

static sfsistat cb_abort(SMFICTX *ctx)
{
    connctx *c = smfi_getpriv(ctx);

    if (c != NULL)
        msg_reset(&c->msg);
    return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
    connctx *c = smfi_getpriv(ctx);

    if (c != NULL) {             /* a health probe never got one */
        smfi_setpriv(ctx, NULL);
        conn_free(c);
        mmetrics_connection_close();
    }
    return SMFIS_CONTINUE;
}

struct smfiDesc *milter_cb_desc(void)
{
    static struct smfiDesc desc = {
        .xxfi_name = "itip-milter",
        .xxfi_version = SMFI_VERSION,
        .xxfi_flags = NEED_ACTIONS | SMFIF_SETSYMLIST | SMFIF_CHGBODY,
        .xxfi_connect = cb_connect,
        .xxfi_helo = cb_helo,
        .xxfi_envfrom = cb_envfrom,
        .xxfi_envrcpt = cb_envrcpt,
        .xxfi_header = cb_header,
        .xxfi_eoh = cb_eoh,
        .xxfi_body = cb_body,
        .xxfi_eom = cb_eom,
        .xxfi_abort = cb_abort,
        .xxfi_close = cb_close,
        .xxfi_unknown = NULL,
        .xxfi_data = cb_data,
        .xxfi_negotiate = cb_negotiate,
    };
    return &desc;
}
