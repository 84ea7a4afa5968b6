/* rules_reply.c - placeholder until the group is written. */
#include "ac-config.h"
#include "calendar.h"

void itip_check_reply(itip_calctx *c)
{
    (void)c;
}
