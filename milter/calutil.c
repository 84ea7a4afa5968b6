/* calutil.c - placeholder */
#include "ac-config.h"
extern int itip_placeholder_calutil;
