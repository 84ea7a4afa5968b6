/*
 * fuzz_mime.c - libFuzzer harness: the engine fed a message (RFC 5322 bytes) in chunks.
 *
 * The input is the message itself, so seeds are plain .eml files.  A hash of the input picks
 * the configuration (defaults or tight limits) and seeds the chunk sizes (1 byte to 64 KiB,
 * mostly small).  The same message is also fed in one piece to a second engine; the two
 * results (findings, verdict, METHOD, UID, parts, skippable) must be identical, since the
 * engine promises that chunking never matters: abort() otherwise.  Exports only
 * LLVMFuzzerTestOneInput; keeps no state between inputs.
 */
#include "ac-config.h"
#include "fuzz.h"

/* Feeds DATA in one piece (seed == 0) or in pseudo-random chunks, finishes; the result. */
static char *run(const itip_config *cfg, const uint8_t *data, size_t size, uint64_t seed)
{
    itip_engine *e = itip_engine_new(cfg);
    size_t pos = 0;
    int rc = 0;
    char *res;

    if (e == NULL)
        abort();
    itip_engine_set_now(e, FUZZ_NOW);
    if (itip_engine_set_client(e, "192.0.2.1") < 0 ||
        itip_engine_add_rcpt(e, "<rcpt@example.com>") < 0)
        abort();
    while (pos < size && rc == 0) {
        size_t n = size - pos;
        if (seed != 0) {
            uint64_t r = fuzz_next(&seed);
            size_t max = (size_t)1 << (r % 17);          /* 1 .. 64 KiB */
            size_t want = 1 + (size_t)((r >> 8) % max);
            if (want < n)
                n = want;
        }
        rc = itip_engine_feed(e, data + pos, n);
        pos += n;
    }
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
    char *whole, *chunked;

    if (size > (1u << 20))
        return 0;                      /* the fuzzer's default max_len is far below this */
    whole = run(cfg, data, size, 0);
    chunked = run(cfg, data, size, h | 1);
    if (strcmp(whole, chunked) != 0)
        fuzz_differ("results of one-shot and chunked feeding", whole, chunked);
    free(whole);
    free(chunked);
    return 0;
}
