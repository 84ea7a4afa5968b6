/*
 * engine.c - one message in, findings out (see engine.h).
 *
 * Glues the MIME walker to the calendar analysis: bytes are fed to the walker as they come;
 * at finish every collected calendar part is analysed and the message-level checks run.
 * Exports the itip_engine_* functions and itip_looks_like_ical().  Never includes libmilter,
 * never logs, never exits; internal failures are reported through return values.
 */
#include "ac-config.h"
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <libical/ical.h>
#include "rules/calendar.h"
#include "rules/calutil.h"
#include "rules/tnef_rules.h"
#include "engine/engine.h"
#include "mime/mime.h"
#include "mime/mimehdr.h"
#include "store/record.h"
#include "base/strbuf.h"

struct itip_engine {
    const itip_config *cfg;
    itip_store *store;
    char *client;
    time_t now;
    int now_set;
    itip_findings findings;
    itip_mime *mime;          /* NULL until the first feed, and for bare iCalendar input */
    int bare;                 /* the input is a bare iCalendar stream */
    strbuf bare_buf;
    itip_calpart bare_part;
    itip_msghdrs no_headers;
    char **rcpts;
    size_t nrcpts;
    char *mail_from;          /* envelope sender without <>; "" for the null sender */
    itip_envelope envelope;   /* where mail_from and rcpts came from */
    int finished;
    const char *error;
    itip_partsummary summary;  /* METHOD and UID of the first part that has them */
    itip_statework *work;      /* the stateful rules' side of this message, or NULL */
    time_t msg_now;            /* the clock the message was checked with */
    const char *state_note;    /* see itip_engine_state_note() */
};

static const char STATE_NOTE[] = "state unavailable, stateful rules skipped";

static pthread_once_t ical_once = PTHREAD_ONCE_INIT;

static void ical_init(void)
{
    /* libical must report problems in the tree, never abort the process */
    icalerror_set_errors_are_fatal(0);
}

itip_engine *itip_engine_new(const itip_config *cfg)
{
    itip_engine *e;

    pthread_once(&ical_once, ical_init);
    e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->cfg = cfg;
    itip_findings_init(&e->findings, cfg->limits.max_findings, cfg->rules);
    itip_strbuf_init(&e->bare_buf, cfg->limits.max_calendar_part_size);
    return e;
}

/* Drops the stateful side of the current message. */
static void state_forget(itip_engine *e)
{
    size_t i;

    if (e->work != NULL) {
        for (i = 0; i < e->work->nobs; i++)
            itip_obs_free(&e->work->obs[i]);
        free(e->work->skew_host);
        free(e->work->learn_domain);
        free(e->work->learn_uid);
        free(e->work);
        e->work = NULL;
    }
    e->state_note = NULL;
}

void itip_engine_reset(itip_engine *e)
{
    size_t i;

    if (e == NULL)
        return;
    itip_mime_free(e->mime);
    e->mime = NULL;
    itip_findings_clear(&e->findings);
    itip_strbuf_free(&e->bare_buf);
    itip_strbuf_init(&e->bare_buf, e->cfg->limits.max_calendar_part_size);
    itip_calpart_clear(&e->bare_part);
    memset(&e->bare_part, 0, sizeof e->bare_part);
    for (i = 0; i < e->nrcpts; i++)
        free(e->rcpts[i]);
    free(e->rcpts);
    e->rcpts = NULL;
    e->nrcpts = 0;
    free(e->client);
    e->client = NULL;
    free(e->mail_from);
    e->mail_from = NULL;
    e->envelope = ITIP_ENV_NONE;
    free(e->summary.method);
    free(e->summary.uid);
    e->summary.method = e->summary.uid = NULL;
    e->bare = 0;
    e->finished = 0;
    e->error = NULL;
    state_forget(e);
}

void itip_engine_free(itip_engine *e)
{
    if (e == NULL)
        return;
    itip_engine_reset(e);
    itip_strbuf_free(&e->bare_buf);
    free(e);
}

void itip_engine_set_now(itip_engine *e, time_t now)
{
    e->now = now;
    e->now_set = 1;
}

void itip_engine_set_store(itip_engine *e, itip_store *st)
{
    e->store = st;
}

int itip_engine_set_client(itip_engine *e, const char *addr)
{
    free(e->client);
    e->client = NULL;
    if (addr != NULL && (e->client = strdup(addr)) == NULL)
        return -1;
    return 0;
}

/* The host the clock-skew estimate is kept for: the SMTP client, else the From: domain. */
static const char *sending_host(const itip_engine *e, const itip_msghdrs *h, char *buf,
                                size_t len)
{
    const char *dom;

    if (e->client != NULL && e->client[0] != '\0')
        return e->client;
    if (h == NULL || itip_header_addr(h->from, buf, len) == NULL ||
        (dom = itip_addr_domain(buf)) == NULL)
        return NULL;
    return dom;
}

static void state_failed(itip_engine *e)
{
    if (e->work != NULL)
        e->work->failed = 1;
    e->state_note = STATE_NOTE;
}

/* Before the rules run: the stateful side of the message and the sender's skew estimate.
 * On failure the message is checked without the stateful rules. */
static void state_begin(itip_engine *e, itip_msgctx *msg)
{
    char buf[ITIP_REC_MAX_ADDR + 1];
    const char *host;
    int r;

    e->work = calloc(1, sizeof *e->work);
    host = sending_host(e, msg->hdrs, buf, sizeof buf);
    if (e->work == NULL ||
        (host != NULL && (e->work->skew_host = strndup(host, ITIP_REC_MAX_HOST)) == NULL)) {
        state_failed(e);
        return;
    }
    if (host != NULL) {
        r = itip_record_get_host(e->store, e->work->skew_host, msg->now, &e->work->skew);
        if (r < 0) {
            state_failed(e);
            return;
        }
        e->work->skew_known = r == 0;
    }
    msg->work = e->work;
}

int itip_engine_record(itip_engine *e)
{
    itip_statework *w = e->work;
    const itip_msghdrs *h;
    long long date;
    size_t i;

    if (e->store == NULL || !e->finished || (w == NULL && e->state_note == NULL))
        return 0;
    if (w == NULL || w->failed)
        return -1;
    for (i = 0; i < w->nobs; i++)
        if (itip_record_put_obs(e->store, &w->obs[i], e->msg_now) < 0)
            goto failed;
    if (w->learn_domain != NULL &&
        itip_record_put_legacy(e->store, w->learn_domain, w->learn_uid, w->learn_how,
                               e->msg_now) < 0)
        goto failed;
    free(w->learn_domain);
    free(w->learn_uid);
    w->learn_domain = w->learn_uid = NULL;
    h = e->bare || e->mime == NULL ? NULL : itip_mime_headers(e->mime);
    if (!w->has_sample && h != NULL && h->date != NULL && itip_parse_date(h->date, &date) == 0) {
        w->has_sample = 1;
        w->sample = date - (long long)e->msg_now;
    }
    if (w->skew_host != NULL && w->has_sample &&
        itip_record_put_skew(e->store, w->skew_host, w->sample, e->msg_now) < 0)
        goto failed;
    for (i = 0; i < w->nobs; i++)       /* recorded: a second call records nothing twice */
        itip_obs_free(&w->obs[i]);
    w->nobs = 0;
    w->has_sample = 0;
    free(w->skew_host);
    w->skew_host = NULL;
    return 0;
failed:
    state_failed(e);
    return -1;
}

const char *itip_engine_state_note(const itip_engine *e)
{
    return e->state_note;
}

static int oom(itip_engine *e)
{
    e->error = "out of memory";
    return -1;
}

/* ADDR without surrounding blanks and the angle brackets an MTA writes ("<a@b>"). */
static char *bare_addr(const char *addr)
{
    size_t n;

    while (*addr == ' ' || *addr == '\t')
        addr++;
    n = strlen(addr);
    while (n > 0 && (addr[n - 1] == ' ' || addr[n - 1] == '\t'))
        n--;
    if (n >= 2 && addr[0] == '<' && addr[n - 1] == '>') {
        addr++;
        n -= 2;
    }
    return strndup(addr, n);
}

static int push_rcpt(itip_engine *e, const char *addr)
{
    char **v;
    char *copy = bare_addr(addr);

    v = copy ? realloc(e->rcpts, (e->nrcpts + 1) * sizeof *v) : NULL;
    if (v == NULL) {
        free(copy);
        return oom(e);
    }
    e->rcpts = v;
    e->rcpts[e->nrcpts++] = copy;
    return 0;
}

int itip_engine_add_rcpt(itip_engine *e, const char *addr)
{
    if (addr == NULL)
        return 0;
    e->envelope = ITIP_ENV_GIVEN;
    return push_rcpt(e, addr);
}

int itip_engine_set_sender(itip_engine *e, const char *addr)
{
    free(e->mail_from);
    e->mail_from = NULL;
    if (addr == NULL)
        return 0;
    e->envelope = ITIP_ENV_GIVEN;
    if ((e->mail_from = bare_addr(addr)) == NULL)
        return oom(e);
    return 0;
}

size_t itip_engine_rcpt_count(const itip_engine *e)
{
    return e->nrcpts;
}

char *const *itip_engine_rcpts(const itip_engine *e)
{
    return e->rcpts;
}

const itip_msghdrs *itip_engine_headers(const itip_engine *e)
{
    return e->bare || e->mime == NULL ? NULL : itip_mime_headers(e->mime);
}

itip_envelope itip_engine_envelope(const itip_engine *e)
{
    return e->envelope;
}

/* No envelope was given (itip-check on a stored message): take it from the headers a
 * delivery agent writes, Return-Path for the sender and Delivered-To / X-Original-To for the
 * recipient.  0, or -1 when out of memory. */
static int envelope_from_headers(itip_engine *e, const itip_msghdrs *h)
{
    if (e->envelope != ITIP_ENV_NONE || h == NULL)
        return 0;
    if (h->return_path != NULL) {   /* "<a@b>", or "<>" for the null sender */
        if ((e->mail_from = bare_addr(h->return_path)) == NULL)
            return oom(e);
        e->envelope = ITIP_ENV_HEADERS;
    }
    if (h->delivered_to != NULL) {
        if (push_rcpt(e, h->delivered_to) < 0)
            return -1;
        e->envelope = ITIP_ENV_HEADERS;
    }
    if (h->x_original_to != NULL &&
        (h->delivered_to == NULL || !itip_addr_equal(e->rcpts[e->nrcpts - 1], h->x_original_to))) {
        if (push_rcpt(e, h->x_original_to) < 0)
            return -1;
        e->envelope = ITIP_ENV_HEADERS;
    }
    return 0;
}

int itip_engine_feed(itip_engine *e, const void *buf, size_t len)
{
    if (e->error)
        return -1;
    if (e->mime == NULL) {
        e->mime = itip_mime_new(&e->cfg->limits, &e->findings);
        if (e->mime == NULL)
            return oom(e);
    }
    if (itip_mime_feed(e->mime, buf, len) < 0)
        return oom(e);
    return 0;
}

int itip_engine_feed_ical(itip_engine *e, const void *buf, size_t len)
{
    int r;

    if (e->error)
        return -1;
    e->bare = 1;
    if (e->bare_part.truncated)
        return 0;
    r = itip_strbuf_append(&e->bare_buf, buf, len);
    if (r == -1)
        return oom(e);
    if (r == -2) {
        size_t room = e->bare_buf.cap - e->bare_buf.len;
        if (itip_strbuf_append(&e->bare_buf, buf, room) < 0)
            return oom(e);
        e->bare_part.truncated = 1;
        itip_findings_add(&e->findings, ITIP_R_MIME_LIMIT_EXCEEDED, ITIP_SEV_WOULD_FAIL, 0,
                          NULL, NULL, "MIME", NULL, "max_calendar_part_size (%zu) reached: the "
                          "calendar data was not analysed", e->bare_buf.cap);
    }
    return 0;
}

int itip_engine_skippable(const itip_engine *e)
{
    return !e->bare && e->mime != NULL && itip_mime_rest_irrelevant(e->mime);
}

int itip_engine_headers_done(const itip_engine *e)
{
    return e->mime != NULL && itip_mime_headers_done(e->mime);
}

/* Collects the calendar parts into one array (the bare part, or the walker's parts). */
static const itip_calpart **gather_parts(itip_engine *e, size_t *n)
{
    const itip_calpart **parts;
    size_t i;

    if (e->bare) {
        e->bare_part.data = itip_strbuf_detach(&e->bare_buf, &e->bare_part.len);
        if (e->bare_part.data == NULL)
            return NULL;
        itip_calpart_strip_nul(&e->bare_part);
        e->bare_part.media_type = strdup("text/calendar");
        if (e->bare_part.media_type == NULL)
            return NULL;
        e->bare_part.by_type = 1;
        *n = 1;
        parts = malloc(sizeof *parts);
        if (parts)
            parts[0] = &e->bare_part;
        return parts;
    }
    *n = e->mime ? itip_mime_calpart_count(e->mime) : 0;
    parts = malloc((*n ? *n : 1) * sizeof *parts);
    for (i = 0; parts != NULL && i < *n; i++)
        parts[i] = itip_mime_calpart(e->mime, i);
    return parts;
}

/* One finding per calendar part for what the walker could not decode cleanly. */
static void report_decoding(itip_engine *e, const itip_calpart *p, int index)
{
    if (p->decode_errors)
        itip_findings_add(&e->findings, ITIP_R_MIME_ENCODING_INVALID, ITIP_SEV_DEGRADE, index,
                          NULL, NULL, "MIME", "Content-Transfer-Encoding",
                          "%zu invalid sequence%s in the calendar part's transfer encoding",
                          p->decode_errors, p->decode_errors == 1 ? "" : "s");
    if (p->charset_failed)
        itip_findings_add(&e->findings, ITIP_R_MIME_ENCODING_INVALID, ITIP_SEV_DEGRADE, index,
                          NULL, NULL, "MIME", "charset",
                          "the calendar part could not be converted from charset '%s' to UTF-8",
                          p->charset ? p->charset : "(none)");
    if (p->nul_bytes)
        itip_findings_add(&e->findings, ITIP_R_MIME_ENCODING_INVALID, ITIP_SEV_DEGRADE, index,
                          NULL, NULL, "MIME", NULL,
                          "the calendar part holds %zu NUL byte%s (no iCalendar text does): "
                          "removed, so that the whole part was analysed, not the text before "
                          "the first", p->nul_bytes, p->nul_bytes == 1 ? "" : "s");
}

static void report_dropped(itip_engine *e)
{
    size_t dropped = e->findings.dropped;

    if (dropped == 0)
        return;
    e->findings.max = 0;   /* room for this one note */
    itip_findings_add(&e->findings, ITIP_R_MIME_LIMIT_EXCEEDED, ITIP_SEV_DEGRADE, -1, NULL,
                      NULL, "MIME", NULL, "max_findings (%zu) reached: %zu further finding%s "
                      "not listed", e->cfg->limits.max_findings, dropped, dropped == 1 ? "" : "s");
    e->findings.max = e->cfg->limits.max_findings;
}

/* Milliseconds on the monotonic clock. */
static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* max_analysis_time ran out before calendar part I of N: the rest is not analysed (what it
 * holds may be what a client shows: would-fail), and the MTA gets its answer in time. */
static void over_time(itip_engine *e, size_t i, size_t n)
{
    char which[64];

    if (n - i == 1)
        snprintf(which, sizeof which, "calendar part %zu was", i);
    else
        snprintf(which, sizeof which, "calendar parts %zu to %zu were", i, n - 1);
    itip_findings_add(&e->findings, ITIP_R_MIME_LIMIT_EXCEEDED, ITIP_SEV_WOULD_FAIL, (int)i,
                      NULL, NULL, "MIME", NULL, "max_analysis_time (%ld ms) reached: %s not "
                      "analysed", e->cfg->limits.max_analysis_time, which);
}

int itip_engine_finish(itip_engine *e)
{
    itip_msgctx msg;
    const itip_calpart **parts;
    size_t n = 0, i;
    double start;
    int rc = 0;

    if (e->error)
        return -1;
    if (e->finished)
        return 0;
    e->finished = 1;
    if (!e->bare && e->mime == NULL && itip_engine_feed(e, "", 0) < 0)
        return -1;
    if (!e->bare && itip_mime_finish(e->mime) < 0)
        return oom(e);
    parts = gather_parts(e, &n);
    if (parts == NULL)
        return oom(e);
    memset(&msg, 0, sizeof msg);
    msg.cfg = e->cfg;
    msg.hdrs = e->bare ? &e->no_headers : itip_mime_headers(e->mime);
    if (!e->bare && envelope_from_headers(e, msg.hdrs) < 0) {
        free(parts);
        return -1;
    }
    msg.parts = parts;
    msg.nparts = n;
    msg.is_message = !e->bare;
    msg.rcpts = e->rcpts;
    msg.nrcpts = e->nrcpts;
    msg.mail_from = e->mail_from;
    msg.envelope = e->envelope;
    msg.now = e->now_set ? e->now : time(NULL);
    msg.store = e->store;
    e->msg_now = msg.now;
    if (e->store != NULL && n > 0)
        state_begin(e, &msg);
    if (msg.work == NULL)
        msg.store = NULL;
    if (msg.is_message)
        itip_check_message(&msg, &e->findings);
    start = now_ms();
    for (i = 0; i < n; i++) {
        report_decoding(e, parts[i], (int)i);
        if (now_ms() - start >= e->cfg->limits.max_analysis_time) {
            over_time(e, i, n);
            break;
        }
        if (itip_calendar_analyse(&msg, parts[i], (int)i, &e->findings, &e->summary) < 0) {
            e->error = "calendar analysis failed (out of memory or a libical failure)";
            rc = -1;
            break;
        }
    }
    free(parts);
    for (i = 0; rc == 0 && !e->bare && i < itip_mime_tnefpart_count(e->mime); i++)   /* TNEF */
        if (itip_check_tnef(&msg, itip_mime_tnefpart(e->mime, i), i, &e->findings,
                            &e->summary) < 0)
            rc = oom(e);
    if (e->work != NULL && e->work->failed)
        state_failed(e);
    if (e->findings.oom && rc == 0) {
        e->error = "out of memory while recording findings";
        rc = -1;
    }
    report_dropped(e);
    itip_findings_sort(&e->findings);
    return rc;
}

const itip_findings *itip_engine_findings(const itip_engine *e)
{
    return &e->findings;
}

size_t itip_engine_calendar_parts(const itip_engine *e)
{
    if (e->bare)
        return 1;
    return e->mime ? itip_mime_calpart_count(e->mime) : 0;
}

const itip_calpart *itip_engine_calpart(const itip_engine *e, size_t i)
{
    return e->bare || e->mime == NULL ? NULL : itip_mime_calpart(e->mime, i);
}

const char *itip_engine_method(const itip_engine *e)
{
    return e->summary.method;
}

const char *itip_engine_uid(const itip_engine *e)
{
    return e->summary.uid;
}

itip_severity itip_engine_verdict(const itip_engine *e)
{
    return itip_findings_worst(&e->findings);
}

time_t itip_engine_now(const itip_engine *e)
{
    return e->msg_now;
}

const char *itip_engine_error(const itip_engine *e)
{
    return e->error;
}

void itip_engine_thread_release(void)
{
    icalmemory_free_ring();
}

int itip_looks_like_ical(const void *buf, size_t len)
{
    const unsigned char *p = buf, *end = p + len;
    static const char tag[] = "BEGIN:VCALENDAR";

    if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        p += 3;
    while (p < end && (*p == '\r' || *p == '\n' || *p == ' ' || *p == '\t'))
        p++;
    return (size_t)(end - p) >= sizeof tag - 1 &&
           strncasecmp((const char *)p, tag, sizeof tag - 1) == 0;
}
