/*
 * fuzz_config.c - libFuzzer harness: the configuration loader.
 *
 * The input is written to an anonymous memory file (memfd) and loaded through its
 * /proc/self/fd path with itip_config_load(): libconfig's parser and our schema checks.  A
 * rejected file must come with a "FILE:LINE: message" (or "FILE: message") error; an accepted
 * one is used for an engine run over a small calendar message, so that odd limits (zero, huge)
 * reach the code that applies them.  Inputs naming @include are skipped: an include reads
 * another file, which is libconfig's business and not reproducible from the input alone.
 * Exports only LLVMFuzzerTestOneInput; keeps no state between inputs; leaves no file behind.
 */
#include "ac-config.h"
#include <sys/mman.h>
#include <unistd.h>
#include "fuzz.h"

static const char msg[] =
    "From: Organizer <org@legacy.example>\r\nTo: a@example.com\r\n"
    "Date: Thu, 28 May 2026 12:00:00 +0000\r\nMessage-ID: <m1@example.org>\r\n"
    "Subject: Test\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/calendar; method=REQUEST; charset=UTF-8\r\n\r\n"
    "BEGIN:VCALENDAR\r\nPRODID:-//fuzz//EN\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VEVENT\r\nUID:fuzz-1@example.org\r\nDTSTAMP:20260528T115900Z\r\n"
    "DTSTART:20260601T100000Z\r\nDTEND:20260601T110000Z\r\nSEQUENCE:0\r\n"
    "ORGANIZER:mailto:org@legacy.example\r\nATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:a@example.com\r\n"
    "SUMMARY:Fuzz\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

static void use(const itip_config *cfg)
{
    itip_engine *e = itip_engine_new(cfg);
    char *res;
    int rc;

    if (e == NULL)
        abort();
    itip_engine_set_now(e, FUZZ_NOW);
    rc = itip_engine_feed(e, msg, sizeof msg - 1);
    if (rc == 0)
        rc = itip_engine_finish(e);
    res = fuzz_result(e, rc);
    free(res);
    itip_engine_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[512];
    itip_config *cfg;
    int fd;

    if (memmem(data, size, "include", 7) != NULL)
        return 0;
    fd = memfd_create("itip-fuzz.conf", 0);
    if (fd < 0)
        abort();
    if (size > 0 && write(fd, data, size) != (ssize_t)size)
        abort();
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    cfg = itip_config_load(path, err, sizeof err);
    if (cfg == NULL && strncmp(err, path, strlen(path)) != 0) {
        fprintf(stderr, "fuzz: error without FILE: prefix: %s\n", err);
        abort();
    }
    if (cfg != NULL) {
        if (itip_config_action(cfg, (itip_rule_id)0, ITIP_SEV_WOULD_FAIL) < ITIP_ACT_NONE)
            abort();
        use(cfg);
    }
    itip_config_free(cfg);
    close(fd);
    return 0;
}
