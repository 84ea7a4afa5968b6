/*
 * milter_cb.h - the libmilter callbacks of itip-milter and their contexts.
 *
 * Exports milter_cb_desc(): the filled smfiDesc to hand to smfi_register().  The callbacks
 * are thin: they keep a connection context (client address, negotiated options) and a
 * message context (a configuration reference, the engine fed with the message as bytes,
 * forged header counts), and leave decisions to engine/verdict.c and their execution to
 * milter_act.c.
 */
#ifndef ITIP_MILTER_CB_H
#define ITIP_MILTER_CB_H

#include <libmilter/mfapi.h>

struct smfiDesc *milter_cb_desc(void);

#endif
