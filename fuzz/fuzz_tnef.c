/*
 * fuzz_tnef.c - libFuzzer harness: the TNEF reader, alone and inside a message.
 *
 * The input is a bare TNEF stream (seeds: the corpus's .tnef/.dat files and the streams
 * t/tnef/gen.py writes to t/tnef/seeds/).  It is read by itip_tnef_read in an exactly sized
 * copy (any read past the end shows under ASan), with its invariants checked: a status that
 * matches the problem text, a NUL-terminated class, kept values within their bounds, and a
 * reader that is a pure function of the bytes (a second read gives the same result).  Then
 * the bytes go base64-encoded as a winmail.dat part through an engine, in one piece and in
 * chunks (the results must agree), so the walker's hand-off and the TNEF rules see them too.
 * Exports only LLVMFuzzerTestOneInput; keeps no state between inputs.
 */
#include "ac-config.h"
#include "fuzz.h"
#include "mime/tnef.h"

static void check_reader(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    itip_tnef a, b;

    if (copy == NULL)
        abort();
    memcpy(copy, data, size);
    itip_tnef_read(copy, size, &a);
    itip_tnef_read(copy, size, &b);
    if (memcmp(&a, &b, sizeof a) != 0)
        fuzz_differ("two reads of the same bytes", a.problem, b.problem);
    if ((a.status == ITIP_TNEF_OK) != (a.problem[0] == '\0') ||
        memchr(a.msg_class, '\0', sizeof a.msg_class) == NULL ||
        memchr(a.problem, '\0', sizeof a.problem) == NULL ||
        a.nattrs > ITIP_TNEF_MAX_ATTRS || a.goid.len > size || a.clean_goid.len > size) {
        fprintf(stderr, "fuzz: TNEF reader invariant broken (status %d, '%s')\n", a.status,
                a.problem);
        abort();
    }
    itip_tnef_meeting_kind(a.msg_class);
    if (a.goid.have)
        itip_tnef_goid_problem(&a.goid);
    free(copy);
}

/* The stream as a message: multipart/mixed, a winmail.dat part in base64. */
static char *message(const uint8_t *d, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char head[] = "From: a@example.com\r\nTo: b@notnef.example.org\r\nSubject: t\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
        "Content-Type: application/ms-tnef; name=\"winmail.dat\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n";
    char *m = malloc(sizeof head + n / 57 * 2 + n * 4 / 3 + 32), *w;
    size_t i;

    if (m == NULL)
        abort();
    memcpy(m, head, sizeof head - 1);
    w = m + sizeof head - 1;
    for (i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        *w++ = al[v >> 18 & 63];
        *w++ = al[v >> 12 & 63];
        *w++ = i + 1 < n ? al[v >> 6 & 63] : '=';
        *w++ = i + 2 < n ? al[v & 63] : '=';
        if (i % 57 == 54)
            *w++ = '\n';
    }
    memcpy(w, "\r\n--b--\r\n", 10);
    return m;
}

static char *run(const itip_config *cfg, const char *msg, size_t chunk)
{
    itip_engine *e = itip_engine_new(cfg);
    size_t n = strlen(msg), pos;
    int rc = 0;
    char *res;

    if (e == NULL)
        abort();
    itip_engine_set_now(e, FUZZ_NOW);
    for (pos = 0; pos < n && rc == 0; pos += chunk)
        rc = itip_engine_feed(e, msg + pos, pos + chunk > n ? n - pos : chunk);
    if (rc == 0)
        rc = itip_engine_finish(e);
    res = fuzz_result(e, rc);
    itip_engine_free(e);
    return res;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t h = fuzz_hash(data, size);
    const itip_config *cfg = fuzz_config((int)(h & 1));
    char *msg, *whole, *chunked;

    if (size > (1u << 20))
        return 0;
    check_reader(data, size);
    msg = message(data, size);
    whole = run(cfg, msg, strlen(msg) + 1);
    chunked = run(cfg, msg, 1 + (size_t)(h >> 8) % 97);
    if (strcmp(whole, chunked) != 0)
        fuzz_differ("results of one-shot and chunked feeding", whole, chunked);
    free(whole);
    free(chunked);
    free(msg);
    return 0;
}
