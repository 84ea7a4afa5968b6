/*
 * restrict.h - RFC 5546 restriction tables (libical 3.0's icalrestriction_check), evaluated
 * without libical's table scan and without cloning the component (restrict.c).
 *
 * itip_restrict_check() gives, for a parsed VCALENDAR, exactly the complaints that
 * icalrestriction_check() would add as X-LIC-ERROR;X-LIC-ERRORTYPE=INVALID-ITIP properties to a
 * clone of it, as rule B4 (itip-restriction-violation, rules_structure.c) reads them back: the
 * distinct (component, text) pairs in the order of the clone's tree, the first
 * ITIP_RESTRICT_MAX of them, none when the check passes.  itip_restrict_libical() computes the
 * same list with libical itself (clone, check, collect): the reference for the differential
 * test (t/test_restrict.c) and the fuzz harness (fuzz/fuzz_restrict.c).
 *
 * Exports the two checks and itip_restrict_done().  Neither check modifies the tree it is given
 * or keeps state between calls (reentrant); both move the internal property iterator of the
 * components they read, so never call them inside a loop over those properties.  Used by
 * rules_structure.c, the test and the fuzz harness.
 */
#ifndef ITIP_RESTRICT_H
#define ITIP_RESTRICT_H

#include <libical/ical.h>

/* Distinct complaints kept per calendar (rule B4 reports at most a few of them). */
#define ITIP_RESTRICT_MAX 32
/* Room for a complaint composed here ("Failed iTIP restrictions for X property. Expected
 * ... and got N"): the longest property name and restriction text fit with a wide margin. */
#define ITIP_RESTRICT_TEXT 192

typedef struct {
    icalcomponent *comp;        /* component of the checked tree the complaint is about */
    const char *msg;            /* its text: static, in buf[], in the checked tree or in clone */
} itip_restrict_msg;

typedef struct {
    int valid;                  /* what icalrestriction_check returns (1 = no complaint) */
    int n;                      /* complaints in v[] */
    itip_restrict_msg v[ITIP_RESTRICT_MAX];
    char buf[ITIP_RESTRICT_MAX][ITIP_RESTRICT_TEXT];
    icalcomponent *clone;       /* itip_restrict_libical's clone (its texts), or NULL */
} itip_restrict_list;

/* Our evaluation.  VCAL is the VCALENDAR to check; the texts stay valid while VCAL and L live.
 * Returns L->valid.  L needs no initialisation and no itip_restrict_done(). */
int itip_restrict_check(icalcomponent *vcal, itip_restrict_list *l);

/* libical's: icalrestriction_check on a clone of VCAL, complaints mapped back to VCAL's
 * components.  Returns L->valid, or -1 when the clone cannot be made (out of memory).  Call
 * itip_restrict_done(L) afterwards. */
int itip_restrict_libical(icalcomponent *vcal, itip_restrict_list *l);

/* Frees what itip_restrict_libical kept (the clone); harmless after itip_restrict_check. */
void itip_restrict_done(itip_restrict_list *l);

#endif
