/*
 * rules_exchange.c - Exchange-originated patterns (catalogue section J): J1 J2.  Not yet implemented.
 */
#include "ac-config.h"
#include "calendar.h"

void itip_check_exchange(itip_calctx *c)
{
    (void)c;
}
