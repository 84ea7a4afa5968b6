/*
 * quar_check.c - re-analysis of a held message (see quar_check.h).  Feeds the engine and a
 * MIME walker in body-sized chunks, as the milter would; never records in the store.
 */
#include "ac-config.h"
#include <stdio.h>
#include <string.h>
#include "quar_check.h"

#define FEED_CHUNK 65536

static int feed_engine(itip_engine *e, const char *msg, size_t len)
{
    size_t off = 0;

    while (off < len) {
        size_t n = len - off < FEED_CHUNK ? len - off : FEED_CHUNK;
        if (itip_engine_feed(e, msg + off, n) < 0)
            return -1;
        off += n;
    }
    return itip_engine_finish(e);
}

static int feed_walker(itip_mime *m, const char *msg, size_t len)
{
    size_t off = 0;

    while (off < len) {
        size_t n = len - off < FEED_CHUNK ? len - off : FEED_CHUNK;
        if (itip_mime_feed(m, msg + off, n) < 0)
            return -1;
        off += n;
    }
    return itip_mime_finish(m);
}

int quar_check_run(quar_check *c, const itip_config *cfg, itip_store *st, const char *msg,
                   size_t len, time_t arrival, char *err, size_t errlen)
{
    mverdict_input in;

    memset(c, 0, sizeof *c);
    itip_findings_init(&c->walk_findings, cfg->limits.max_findings, NULL);
    c->engine = itip_engine_new(cfg);
    c->mime = itip_mime_new(&cfg->limits, &c->walk_findings);
    if (c->engine == NULL || c->mime == NULL) {
        snprintf(err, errlen, "out of memory");
        quar_check_free(c);
        return -1;
    }
    if (arrival > 0)
        itip_engine_set_now(c->engine, arrival);
    itip_engine_set_store(c->engine, st);
    if (feed_engine(c->engine, msg, len) < 0 || feed_walker(c->mime, msg, len) < 0) {
        snprintf(err, errlen, "analysis failed: %s",
                 itip_engine_error(c->engine) ? itip_engine_error(c->engine) : "out of memory");
        quar_check_free(c);
        return -1;
    }
    memset(&in, 0, sizeof in);
    in.findings = itip_engine_findings(c->engine);
    in.calendar_parts = itip_engine_calendar_parts(c->engine);
    in.method = itip_engine_method(c->engine);
    in.uid = itip_engine_uid(c->engine);
    if (mverdict_build(&c->verdict, cfg, &in, 0) < 0) {
        snprintf(err, errlen, "out of memory");
        quar_check_free(c);
        return -1;
    }
    c->have_verdict = 1;
    return 0;
}

void quar_check_free(quar_check *c)
{
    if (c->have_verdict)
        mverdict_free(&c->verdict);
    c->have_verdict = 0;
    itip_engine_free(c->engine);
    c->engine = NULL;
    itip_mime_free(c->mime);
    c->mime = NULL;
    itip_findings_clear(&c->walk_findings);
}
