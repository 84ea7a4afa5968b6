/*
 * replay.c - main() for a fuzz harness built without libFuzzer: runs the harness's
 * LLVMFuzzerTestOneInput once on each file named on the command line, in order.
 *
 * Linked with one of fuzz/fuzz_*.c into t/fuzz_replay_<harness> (make check, any compiler);
 * t/fuzz-regress.sh runs it over the saved crash inputs and the seeds.  A broken invariant
 * aborts inside the harness; a memory error shows under the sanitizer build.  Prints
 * "replayed FILE" after each input.  Exit status: 0, 1 when a file cannot be read, 2 on usage.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include "fuzz.h"

/* Reads FILE whole into a fresh buffer (exactly its size, so that the sanitizers see any
 * read past the end); NULL on failure. */
static uint8_t *slurp(const char *file, size_t *len)
{
    FILE *fp = fopen(file, "rb");
    uint8_t *buf = NULL;
    long n;

    if (fp == NULL)
        return NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0) {
        buf = malloc(n ? (size_t)n : 1);
        if (buf != NULL && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(fp);
    return buf;
}

int main(int argc, char **argv)
{
    int i, rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        size_t len = 0;
        uint8_t *buf = slurp(argv[i], &len);
        if (buf == NULL) {
            fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[i]);
            rc = 1;
            continue;
        }
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        printf("replayed %s\n", argv[i]);
        fflush(stdout);
    }
    return rc;
}
