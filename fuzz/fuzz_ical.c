/*
 * fuzz_ical.c - libFuzzer harness: the iCalendar analysis on a bare iCalendar stream.
 *
 * The input is an .ics file, fed through itip_engine_feed_ical (split in two at a point the
 * input's hash picks) and analysed by itip_engine_finish: libical's parser and every rule
 * group.  A hash of the input chooses the configuration (defaults or tight limits, which
 * cap the part size and the component count).  The result is read back in full so that
 * every string the engine returns is touched.  Exports only LLVMFuzzerTestOneInput; keeps no
 * state between inputs.
 */
#include "ac-config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t h = fuzz_hash(data, size);
    itip_engine *e = itip_engine_new(fuzz_config((int)(h & 1)));
    size_t cut = size ? (size_t)((h >> 1) % (size + 1)) : 0;
    int rc;
    char *res;

    if (e == NULL)
        abort();
    itip_engine_set_now(e, FUZZ_NOW);
    rc = itip_engine_feed_ical(e, data, cut);
    if (rc == 0)
        rc = itip_engine_feed_ical(e, data + cut, size - cut);
    if (rc == 0)
        rc = itip_engine_finish(e);
    res = fuzz_result(e, rc);
    if (itip_engine_calendar_parts(e) != 1)
        fuzz_differ("bare iCalendar part count (expected 1)", res, res);
    free(res);
    itip_engine_free(e);
    return 0;
}
