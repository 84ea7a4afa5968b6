/*
 * json.h - JSON string output for itip-check and reports.
 * itip_json_put_string() writes S as a JSON string literal: control characters escaped, invalid
 * UTF-8 replaced by U+FFFD, so the output is valid JSON whatever the mail contained.
 */
#ifndef ITIP_JSON_H
#define ITIP_JSON_H

#include <stdio.h>
#include "base/findings.h"

void itip_json_put_string(FILE *out, const char *s);   /* NULL prints null */
/* {"rule":...,"severity":...,"method":...,"uid":...,"component":...,"property":...,
 *  "part":N,"detail":...} */
void itip_json_put_finding(FILE *out, const itip_finding *f);

#endif
