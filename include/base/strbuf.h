/*
 * strbuf.h - a growable byte buffer, always NUL-terminated, with an optional size cap.
 *
 * Exports itip_strbuf_* functions.  Appends beyond `cap` (when non-zero) are refused with -2
 * so the caller can report a limit; allocation failure gives -1.  Never truncates silently.
 *
 * Keep the itip_ prefix: libconfig's shared library exports its own strbuf_append etc., and
 * an unprefixed function of ours would interpose on them (its scanner then returns empty
 * strings).
 */
#ifndef ITIP_STRBUF_H
#define ITIP_STRBUF_H

#include <stddef.h>

typedef struct {
    char *s;
    size_t len, alloc;
    size_t cap;   /* 0 = no cap */
} strbuf;

void itip_strbuf_init(strbuf *b, size_t cap);
void itip_strbuf_free(strbuf *b);              /* idempotent */
void itip_strbuf_reset(strbuf *b);             /* len = 0, keeps memory */
/* 0, -1 (out of memory) or -2 (would pass the cap: nothing appended) */
int itip_strbuf_append(strbuf *b, const void *p, size_t n);
int itip_strbuf_putc(strbuf *b, char c);
int itip_strbuf_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the string over (caller frees) and resets the buffer; never NULL unless out of memory. */
char *itip_strbuf_detach(strbuf *b, size_t *len);

/* Frees the N strings of V and V itself (an array of malloc'ed strings; NULL is fine). */
void itip_strv_free(char **v, size_t n);

#endif
