/*
 * rules_state.c - stateful rules: C10-C15, E3, E5 and the stateful E4.  Not yet implemented.
 */
#include "ac-config.h"
#include "calendar.h"

void itip_check_stateful(itip_calctx *c)
{
    (void)c;
}
