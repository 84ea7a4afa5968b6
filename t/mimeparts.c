/*
 * mimeparts.c - the calendar parts the MIME walker finds, one line per message, for the
 * differential test against Python's email package (t/mime-diff.sh).
 *
 *   t/mimeparts FILE...
 * For each FILE: "FILE<TAB>type,type,...<TAB>rule,rule,..." - the media type of every
 * calendar part in stream order ("-" when none), then the rules of the walker's own findings
 * (limits, structure; "-" when none).  The built-in default limits apply.  Exit 0, or 2 when
 * a file cannot be read.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/config.h"
#include "base/findings.h"
#include "mime/mime.h"

static int one(const char *path, const itip_config *cfg)
{
    FILE *fp = fopen(path, "rb");
    itip_findings f;
    itip_mime *m;
    char buf[4096];
    size_t n, i;

    if (fp == NULL) {
        perror(path);
        return -1;
    }
    itip_findings_init(&f, 100, NULL);
    if ((m = itip_mime_new(&cfg->limits, &f)) == NULL) {
        fclose(fp);
        return -1;
    }
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        itip_mime_feed(m, buf, n);
    fclose(fp);
    itip_mime_finish(m);
    printf("%s\t", path);
    for (i = 0; i < itip_mime_calpart_count(m); i++)
        printf("%s%s", i ? "," : "", itip_mime_calpart(m, i)->media_type);
    printf("%s\t", i ? "" : "-");
    for (i = 0; i < f.n; i++)
        printf("%s%s", i ? "," : "", itip_rules[f.v[i].rule].id);
    printf("%s\n", i ? "" : "-");
    itip_mime_free(m);
    itip_findings_clear(&f);
    return 0;
}

int main(int argc, char **argv)
{
    itip_config *cfg = itip_config_default();
    int i, rc = 0;

    if (cfg == NULL)
        return 2;
    for (i = 1; i < argc; i++)
        if (one(argv[i], cfg) < 0)
            rc = 2;
    itip_config_free(cfg);
    return rc;
}
