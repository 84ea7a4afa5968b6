/*
 * decode.h - incremental base64 and quoted-printable decoders (RFC 2045).
 *
 * Each decoder carries its state across calls, so input split anywhere (inside a base64
 * quantum, inside "=XX", inside a soft line break "=\r\n") decodes exactly as if it came in one
 * piece.  Output is appended to a strbuf; when the strbuf has a cap, the decoder fills it to
 * exactly the cap and then returns ITIP_DECODE_FULL without examining further input, so the
 * kept bytes and the error count never depend on how the input was split.
 * Invalid input is counted in `errors` and decoding goes on; the decoders never fail on data.
 * Exports itip_b64_*, itip_qp_* and itip_decode_copy (the identity "decoder" with the same cap
 * rule).  Never allocates except through the strbuf; never keeps pointers to the input.
 */
#ifndef ITIP_DECODE_H
#define ITIP_DECODE_H

#include <stddef.h>
#include "base/strbuf.h"

/* A Content-Transfer-Encoding, as the walker and the repair know it. */
typedef enum {
    ITIP_CTE_7BIT = 0, ITIP_CTE_8BIT, ITIP_CTE_BINARY, ITIP_CTE_BASE64, ITIP_CTE_QP,
    ITIP_CTE_UNKNOWN     /* an encoding we do not decode: kept as is, decode_errors = 1 */
} itip_cte;

/* Return values of every feed / finish function. */
#define ITIP_DECODE_OK    0
#define ITIP_DECODE_NOMEM (-1)   /* out of memory: the output is incomplete */
#define ITIP_DECODE_FULL  (-2)   /* the strbuf cap was reached: output holds exactly cap bytes;
                                    later calls return FULL again and do nothing */

typedef struct {
    unsigned int acc;      /* sextets of the current quantum */
    unsigned int n;        /* sextets collected (0..3) */
    unsigned int pad;      /* 0; 1 = "xx=" waiting for the second '='; 2 = quantum padded */
    int full;
    size_t errors;         /* invalid characters and bad padding */
} itip_b64;

void itip_b64_init(itip_b64 *d);
/* Decodes LEN bytes; whitespace and line breaks are ignored. */
int itip_b64_feed(itip_b64 *d, const void *in, size_t len, strbuf *out);
/* End of input: an unfinished quantum is emitted as far as it goes and counted as an error. */
int itip_b64_finish(itip_b64 *d, strbuf *out);

#define ITIP_QP_WS_MAX 128   /* trailing-whitespace run held back; a longer run is kept */

typedef struct {
    int state;
    unsigned char hex1;    /* first hex digit of "=X" */
    unsigned char ws[ITIP_QP_WS_MAX];
    size_t nws;            /* pending whitespace (dropped if a line break follows) */
    int full;
    size_t errors;         /* invalid "=" sequences, kept literally */
} itip_qp;

void itip_qp_init(itip_qp *d);
/* Decodes LEN bytes: "=XX" (either case), soft line breaks "=\r\n", "=\n", "=\r" (whitespace
 * between '=' and the break allowed), trailing whitespace before a line break removed.  Hard
 * line breaks are copied as they come. */
int itip_qp_feed(itip_qp *d, const void *in, size_t len, strbuf *out);
/* End of input: a trailing '=' counts as a soft break; an unfinished "=X" is kept, an error. */
int itip_qp_finish(itip_qp *d, strbuf *out);

/* Appends LEN bytes unchanged, as many as the cap allows; FULL when some did not fit. */
int itip_decode_copy(strbuf *out, const void *in, size_t len);

#endif
