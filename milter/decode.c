/* decode.c - placeholder */
#include "ac-config.h"
#include "decode.h"
extern int itip_placeholder_decode;
