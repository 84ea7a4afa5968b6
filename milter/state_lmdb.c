/*
 * state_lmdb.c - not yet implemented.
 */
#include "ac-config.h"
#include "state_impl.h"
