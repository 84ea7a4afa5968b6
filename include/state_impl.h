/*
 * state_impl.h - what state.c needs of each backend (state_lmdb.c, state_redis.c).  Private to
 * the store; users include state.h.
 */
#ifndef ITIP_STATE_IMPL_H
#define ITIP_STATE_IMPL_H

#include "state.h"

#endif
