/*
 * quar_json.h - a small JSON reader for itip-quarantine: one value (the objects of
 * `postqueue -j`, one per line) parsed into a tree.  Exports qj_parse(), qj_free(), qj_get().
 *
 * Strings come back in UTF-8 (\u escapes and surrogate pairs decoded; \u0000 and lone
 * surrogates become U+FFFD, so every string is a C string).  Nesting deeper than
 * QJ_MAX_DEPTH is an error, never a stack overflow.  Knows nothing about Postfix.
 */
#ifndef ITIP_QUAR_JSON_H
#define ITIP_QUAR_JSON_H

#include <stddef.h>

#define QJ_MAX_DEPTH 32

typedef enum { QJ_NULL, QJ_BOOL, QJ_NUM, QJ_STR, QJ_ARR, QJ_OBJ } qj_type;

typedef struct qj_value {
    qj_type type;
    int b;                      /* QJ_BOOL */
    double num;                 /* QJ_NUM */
    char *str;                  /* QJ_STR */
    struct qj_value *items;     /* QJ_ARR, QJ_OBJ: the elements / member values */
    char **keys;                /* QJ_OBJ: member names, parallel to items */
    size_t n;
} qj_value;

/* Parses TEXT (LEN bytes: exactly one value, surrounding whitespace allowed).  NULL on a syntax
 * error or when out of memory, with a short message in ERR. */
qj_value *qj_parse(const char *text, size_t len, char *err, size_t errlen);
void qj_free(qj_value *v);                                 /* NULL is fine */
/* The member KEY of object OBJ, or NULL (also when OBJ is not an object). */
const qj_value *qj_get(const qj_value *obj, const char *key);
/* The string value of member KEY, or NULL when absent or not a string. */
const char *qj_get_str(const qj_value *obj, const char *key);

#endif
