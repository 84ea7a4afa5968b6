/*
 * strbuf.c - growable byte buffer (see strbuf.h).  The only allocator of string data in the
 * engine's hot paths; keeps a NUL after the data so text users need not copy.  Also frees
 * arrays of strings (itip_strv_free).
 */
#include "ac-config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/strbuf.h"

void itip_strbuf_init(strbuf *b, size_t cap)
{
    b->s = NULL;
    b->len = b->alloc = 0;
    b->cap = cap;
}

void itip_strbuf_free(strbuf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->alloc = 0;
}

void itip_strbuf_reset(strbuf *b)
{
    b->len = 0;
    if (b->s)
        b->s[0] = '\0';
}

static int grow(strbuf *b, size_t need)
{
    size_t n;
    char *p;

    if (need + 1 <= b->alloc)
        return 0;
    n = b->alloc ? b->alloc : 64;
    while (n < need + 1) {
        if (n > ((size_t)-1) / 2)
            return -1;
        n *= 2;
    }
    p = realloc(b->s, n);
    if (p == NULL)
        return -1;
    b->s = p;
    b->alloc = n;
    return 0;
}

int itip_strbuf_append(strbuf *b, const void *p, size_t n)
{
    if (b->cap && (n > b->cap || b->len > b->cap - n))
        return -2;
    if (n > ((size_t)-1) - b->len - 1 || grow(b, b->len + n) < 0)
        return -1;
    if (n)
        memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

int itip_strbuf_putc(strbuf *b, char c)
{
    return itip_strbuf_append(b, &c, 1);
}

int itip_strbuf_printf(strbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    char small[256];

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof small)
        return itip_strbuf_append(b, small, (size_t)n);
    {
        char *big = malloc((size_t)n + 1);
        int r;
        if (big == NULL)
            return -1;
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        r = itip_strbuf_append(b, big, (size_t)n);
        free(big);
        return r;
    }
}

char *itip_strbuf_detach(strbuf *b, size_t *len)
{
    char *s = b->s;

    if (s == NULL) {
        s = malloc(1);
        if (s == NULL)
            return NULL;
        s[0] = '\0';
    }
    if (len)
        *len = b->len;
    b->s = NULL;
    b->len = b->alloc = 0;
    return s;
}

void itip_strv_free(char **v, size_t n)
{
    size_t i;

    for (i = 0; v != NULL && i < n; i++)
        free(v[i]);
    free(v);
}
