/*
 * fuzz.h - helpers shared by the libFuzzer harnesses (fuzz/fuzz_*.c), header only.
 *
 * The harnesses are built twice: with clang -fsanitize=fuzzer (make fuzz, fuzz/Makefile.fuzz)
 * and with the normal compiler as replay programs (fuzz/replay.c supplies main) that
 * t/fuzz-regress.sh runs over t/fuzz-regress/<harness>/ in make check.  Here: the entry point's
 * prototype, a fixed clock, two configurations (the defaults, and tight limits so that every
 * limit path is reachable with small inputs), a cheap input hash, and a serialisation of an
 * engine's result for comparing two runs.  A harness must never write outside a temp file it
 * removes, never keep state from one input to the next, and abort() on a broken invariant.
 */
#ifndef ITIP_FUZZ_H
#define ITIP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/config.h"
#include "engine/engine.h"
#include "base/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW ((time_t)1780000000)    /* 2026-05-28: a fixed clock, runs are repeatable */

/* FNV-1a over the input: drives chunking and the choice of configuration. */
static inline uint64_t fuzz_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static inline uint64_t fuzz_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 29;
}

/* The built-in defaults (tight == 0), or small limits that inputs of a few KiB can reach.
 * Made once and kept for the process: configurations are immutable snapshots. */
static inline const itip_config *fuzz_config(int tight)
{
    static itip_config *cfg[2];

    tight = tight ? 1 : 0;
    if (cfg[tight] == NULL) {
        cfg[tight] = itip_config_default();
        if (cfg[tight] == NULL)
            abort();
        if (tight) {
            itip_limits *l = &cfg[tight]->limits;
            l->max_calendar_part_size = 2048;
            l->max_calendar_parts = 2;
            l->max_mime_depth = 3;
            l->max_parts = 12;
            l->max_header_size = 1024;
            l->max_findings = 4;
            l->max_ical_components = 8;
            l->max_headers = 8;
        }
    }
    return cfg[tight];
}

static inline void fuzz_put(strbuf *b, const char *what, const char *s)
{
    itip_strbuf_printf(b, " %s=%s", what, s ? s : "(null)");
}

/* Everything a caller can read from a finished engine, as text (caller frees). */
static inline char *fuzz_result(const itip_engine *e, int rc)
{
    const itip_findings *f = itip_engine_findings(e);
    strbuf b;
    size_t i;
    char *s;

    itip_strbuf_init(&b, 0);
    itip_strbuf_printf(&b, "rc=%d parts=%zu verdict=%d skippable=%d", rc,
                       itip_engine_calendar_parts(e), (int)itip_engine_verdict(e),
                       itip_engine_skippable(e));
    fuzz_put(&b, "method", itip_engine_method(e));
    fuzz_put(&b, "uid", itip_engine_uid(e));
    fuzz_put(&b, "error", itip_engine_error(e));
    for (i = 0; i < f->n; i++) {
        const itip_finding *x = &f->v[i];
        itip_strbuf_printf(&b, "\n%d %d %d", (int)x->rule, (int)x->severity, x->part);
        fuzz_put(&b, "m", x->method);
        fuzz_put(&b, "u", x->uid);
        fuzz_put(&b, "c", x->component);
        fuzz_put(&b, "p", x->property);
        fuzz_put(&b, "d", x->detail);
    }
    itip_strbuf_printf(&b, "\ndropped=%zu oom=%d\n", f->dropped, f->oom);
    s = itip_strbuf_detach(&b, NULL);
    if (s == NULL)
        abort();
    return s;
}

/* Reports two differing results and aborts (the fuzzer saves the input). */
static inline void fuzz_differ(const char *what, const char *a, const char *b)
{
    fprintf(stderr, "fuzz: %s differ\n--- one-shot:\n%s--- chunked:\n%s", what, a, b);
    abort();
}

#endif
