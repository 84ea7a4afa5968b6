/*
 * rules_recur.c - recurrence rules (catalogue section H): H1-H7.  Not yet implemented.
 */
#include "ac-config.h"
#include "calendar.h"

void itip_check_recur(itip_calctx *c)
{
    (void)c;
}
