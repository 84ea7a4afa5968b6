/*
 * state.h - the interface through which stateful rules look up earlier messages of a meeting.
 *
 * The engine holds an optional itip_state; stateless analysis never touches it.  Backends (LMDB,
 * Redis) implement these operations; the record below is what a backend stores per meeting key
 * (UID + RECURRENCE-ID).  A backend that fails returns -1 and the stateful rules are skipped.
 */
#ifndef ITIP_STATE_H
#define ITIP_STATE_H

#include <stddef.h>
#include <time.h>

typedef struct {
    long sequence;            /* highest SEQUENCE seen in a REQUEST, -1 if none */
    time_t request_dtstamp;   /* DTSTAMP of that REQUEST, 0 if none */
    time_t seen;              /* when the milter saw it */
    char *organizer;          /* lower-case address, or NULL */
    char **attendees;         /* lower-case addresses */
    size_t n_attendees;
} itip_meeting_record;

typedef struct itip_state {
    void *handle;
    /* 0 found, 1 not found, -1 backend failure */
    int (*get)(void *handle, const char *uid, const char *recurrence_id, itip_meeting_record *out);
    /* 0 stored, -1 backend failure */
    int (*put)(void *handle, const char *uid, const char *recurrence_id,
               const itip_meeting_record *rec);
    void (*record_free)(itip_meeting_record *rec);
} itip_state;

#endif
