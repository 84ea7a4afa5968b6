/*
 * repair_impl.h - the pieces of the repair action shared by repair.c (planning, checks,
 * assembly), repair_text.c (edits of the iCalendar text) and repair_enc.c (transfer
 * encodings).  Internal to the repair layer: nothing outside these three files includes it.
 */
#ifndef ITIP_REPAIR_IMPL_H
#define ITIP_REPAIR_IMPL_H

#include <stddef.h>
#include "mime/mime.h"
#include "base/strbuf.h"

#define RP_NO_EOL ((size_t)-1)

/* One edit of the decoded text: D[a, b) becomes TEXT.  EOL_AT: offset in D of the line break
 * TEXT ends with a copy of (RP_NO_EOL when it ends without one): the K-th CR or LF of TEXT is
 * a copy of D[EOL_AT + K]. */
typedef struct {
    size_t a, b;
    char *text;
    size_t tlen;
    size_t eol_at;
} rp_edit;

typedef struct {
    rp_edit *v;
    size_t n, cap;
} rp_edits;

void rp_edits_free(rp_edits *e);
/* Appends an edit (TEXT copied); 0 or -1 (out of memory). */
int rp_edits_add(rp_edits *e, size_t a, size_t b, const char *text, size_t tlen,
                 size_t eol_at);
/* Sorts by position. */
void rp_edits_sort(rp_edits *e);

/* The decoded view of one part's body. */
typedef struct {
    const unsigned char *enc;   /* the encoded body as in the message */
    size_t elen;
    itip_cte cte;
    const unsigned char *d;     /* the decoded bytes (ENC itself for 7bit, 8bit, binary) */
    size_t dlen;
    unsigned char *own;         /* decoded bytes owned by the view, or NULL */
    size_t *map;                /* quoted-printable: offset in ENC where decoded byte i starts
                                   (dlen + 1 entries); NULL otherwise */
} rp_view;

/* 0, -1 out of memory, 1 an encoding this code does not rewrite. */
int rp_view_open(rp_view *v, const unsigned char *enc, size_t elen, itip_cte cte);
void rp_view_close(rp_view *v);
/* True when decoded byte I is a CR or LF of a line break of the transport (7bit, 8bit and
 * binary bodies, quoted-printable outside "=0D"/"=0A"): the MIME walker hands each such
 * break (CRLF, LF or a lone CR) to libical as one LF.  False for a decoded CR or LF
 * (base64, "=0D"/"=0A"), which libical reads as it is. */
int rp_view_raw_eol(const rp_view *v, size_t i);
/* The body re-encoded with the edits (sorted, not overlapping) applied.  0 or -1. */
int rp_encode(const rp_view *v, const rp_edits *ed, strbuf *out);

typedef enum { RP_CC_MISSING, RP_CC_INVALID, RP_METHOD_PARAM, RP_KINDS } rp_kind;

/* Plans the body edits of KIND (RP_CC_MISSING or RP_CC_INVALID) in the decoded text of V.
 * Returns 0 (edits appended, what changed in MSG), 1 (not possible: why in MSG) or -1. */
int rp_text_plan(const rp_view *v, rp_kind kind, rp_edits *ed, char *msg, size_t msglen);
/* The VCALENDAR's METHOD of the text D (as libical reads it: a calendar part's data) as a
 * token into BUF; 0, or 1 when there is none usable. */
int rp_text_method(const unsigned char *d, size_t len, char *buf, size_t n);


#endif
