/*
 * json.c - JSON string escaping and finding objects (see json.h).  Never emits invalid JSON:
 * bytes that are not valid UTF-8 become U+FFFD.
 */
#include "ac-config.h"
#include <stdio.h>
#include "json.h"

/* Length of the valid UTF-8 sequence at S (1-4), or 0 if it is not one. */
static int utf8_len(const unsigned char *s)
{
    int n, i;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        n = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        n = 3;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        n = 4;
    else
        return 0;
    for (i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (n == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0)))
        return 0;   /* overlong, or a UTF-16 surrogate */
    if (n == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90)))
        return 0;
    return n;
}

void itip_json_put_string(FILE *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;

    if (s == NULL) {
        fputs("null", out);
        return;
    }
    putc('"', out);
    while (*s) {
        int n = utf8_len(s);
        if (n == 0) {
            fputs("\\ufffd", out);
            s++;
        } else if (n > 1) {
            fwrite(s, 1, (size_t)n, out);
            s += n;
        } else if (*s == '"' || *s == '\\') {
            putc('\\', out);
            putc(*s++, out);
        } else if (*s < 0x20 || *s == 0x7f) {
            fprintf(out, "\\u%04x", *s++);
        } else {
            putc(*s++, out);
        }
    }
    putc('"', out);
}

void itip_json_put_finding(FILE *out, const itip_finding *f)
{
    fputs("{\"rule\":", out);
    itip_json_put_string(out, itip_rules[f->rule].id);
    fputs(",\"severity\":", out);
    itip_json_put_string(out, itip_severity_name(f->severity));
    fputs(",\"method\":", out);
    itip_json_put_string(out, f->method);
    fputs(",\"uid\":", out);
    itip_json_put_string(out, f->uid);
    fputs(",\"component\":", out);
    itip_json_put_string(out, f->component);
    fputs(",\"property\":", out);
    itip_json_put_string(out, f->property);
    fprintf(out, ",\"part\":%d,\"detail\":", f->part);
    itip_json_put_string(out, f->detail);
    putc('}', out);
}
