/*
 * record.h - what the stateful rules keep per meeting and per sending host, and its byte form
 * in the store.  Not yet implemented.
 */
#ifndef ITIP_RECORD_H
#define ITIP_RECORD_H

#include "state.h"

#endif
