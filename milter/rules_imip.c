/* rules_imip.c - placeholder until the group is written. */
#include "ac-config.h"
#include "calendar.h"

void itip_check_imip(itip_calctx *c)
{
    (void)c;
}

void itip_check_message(const itip_msgctx *msg, itip_findings *out)
{
    (void)msg;
    (void)out;
}
