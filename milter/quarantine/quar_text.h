/*
 * quar_text.h - printing message content safely for itip-quarantine, and picking the
 * calendar lines a finding points at.  Exports quar_put_safe() and quar_put_calendar_lines().
 *
 * Whatever a message holds reaches the terminal only as inert text: C0 and C1 controls, DEL,
 * invalid UTF-8 and the invisible or direction-changing format characters (bidi overrides,
 * zero-width characters) are written as \xNN or \u{XXXX} escapes, a backslash as "\\".
 */
#ifndef ITIP_QUAR_TEXT_H
#define ITIP_QUAR_TEXT_H

#include <stddef.h>
#include <stdio.h>
#include "base/findings.h"
#include "mime/mime.h"

#define QUAR_LINE_MAX 400       /* bytes of one calendar line shown; the rest is elided */

/* Writes LEN bytes of S escaped (see above); at most MAX input bytes (0: all), then "...". */
void quar_put_safe(FILE *out, const char *s, size_t len, size_t max);
/* The same for a NUL-terminated string; NULL prints "-". */
void quar_puts_safe(FILE *out, const char *s);

/* Prints, indented and numbered by physical line, the unfolded lines of the decoded calendar
 * part P that finding F points at: the lines of F->property inside F->component; when the
 * property is absent, the component itself; without either, the whole part; for a MIME
 * finding the part's header fields as parsed and the METHOD line.  At most MAX_LINES lines. */
void quar_put_calendar_lines(FILE *out, const itip_calpart *p, const itip_finding *f,
                             size_t max_lines);

#endif
