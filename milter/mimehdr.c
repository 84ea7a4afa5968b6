/* mimehdr.c - placeholder */
#include "ac-config.h"
#include "mimehdr.h"
extern int itip_placeholder_mimehdr;
