/*
 * json.c - JSON string escaping and finding objects (see json.h).  Never emits invalid JSON:
 * bytes that are not valid UTF-8 become U+FFFD.
 */
#include "ac-config.h"
#include <stdio.h>
#include <string.h>
#include "base/charset.h"
#include "base/json.h"

void itip_json_put_string(FILE *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, len;

    if (s == NULL) {
        fputs("null", out);
        return;
    }
    len = strlen(str);
    putc('"', out);
    while (i < len) {
        int n = itip_utf8_seq(s + i, len - i);
        if (n <= 0) {
            fputs("\\ufffd", out);
            i++;
        } else if (n > 1) {
            fwrite(s + i, 1, (size_t)n, out);
            i += (size_t)n;
        } else if (s[i] == '"' || s[i] == '\\') {
            putc('\\', out);
            putc(s[i++], out);
        } else if (s[i] < 0x20 || s[i] == 0x7f) {
            fprintf(out, "\\u%04x", s[i++]);
        } else {
            putc(s[i++], out);
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
    fputs(",\"remedy\":", out);
    itip_json_put_string(out, itip_rule_remedy((int)f->rule));
    putc('}', out);
}
