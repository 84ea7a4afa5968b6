/* charset.c - placeholder */
#include "ac-config.h"
#include "charset.h"
extern int itip_placeholder_charset;
