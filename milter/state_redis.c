/*
 * state_redis.c - not yet implemented.
 */
#include "ac-config.h"
#include "state_impl.h"
