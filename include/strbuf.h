/*
 * strbuf.h - a growable byte buffer, always NUL-terminated, with an optional size cap.
 *
 * Exports strbuf_* functions.  Appends beyond `cap` (when non-zero) are refused with -2 so the
 * caller can report a limit; allocation failure gives -1.  Never truncates silently.
 *
 * The link-level names carry an itip_ prefix: libconfig's shared library exports functions
 * called strbuf_append etc., and ours would otherwise interpose on them (its scanner then
 * returns empty strings).  Code uses the short names below.
 */
#ifndef ITIP_STRBUF_H
#define ITIP_STRBUF_H

#include <stddef.h>

#define strbuf_init itip_strbuf_init
#define strbuf_free itip_strbuf_free
#define strbuf_reset itip_strbuf_reset
#define strbuf_append itip_strbuf_append
#define strbuf_putc itip_strbuf_putc
#define strbuf_printf itip_strbuf_printf
#define strbuf_detach itip_strbuf_detach

typedef struct {
    char *s;
    size_t len, alloc;
    size_t cap;   /* 0 = no cap */
} strbuf;

void strbuf_init(strbuf *b, size_t cap);
void strbuf_free(strbuf *b);              /* idempotent */
void strbuf_reset(strbuf *b);             /* len = 0, keeps memory */
/* 0, -1 (out of memory) or -2 (would pass the cap: nothing appended) */
int strbuf_append(strbuf *b, const void *p, size_t n);
int strbuf_putc(strbuf *b, char c);
int strbuf_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the string over (caller frees) and resets the buffer; never NULL unless out of memory. */
char *strbuf_detach(strbuf *b, size_t *len);

#endif
