/*
 * record.c - not yet implemented.
 */
#include "ac-config.h"
#include "record.h"
