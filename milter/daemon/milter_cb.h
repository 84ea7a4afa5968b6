/*
 * milter_cb.h - the libmilter callbacks of itip-milter and their contexts.
 *
 * Exports milter_cb_desc(): the filled smfiDesc to hand to smfi_register(), and
 * milter_cb_socket().  The callbacks
 * are thin: they keep a connection context (client address, negotiated options) and a
 * message context (a configuration reference, the engine fed with the message as bytes,
 * forged header counts), and leave decisions to engine/verdict.c and their execution to
 * milter_act.c.
 */
#ifndef ITIP_MILTER_CB_H
#define ITIP_MILTER_CB_H

#include <libmilter/mfapi.h>

struct smfiDesc *milter_cb_desc(void);
/* Before smfi_main(): UNIX_SOCKET is true when the milter listens on a unix socket (every step
 * that always goes on is then negotiated without reply; over TCP only the header block). */
void milter_cb_socket(int unix_socket);

#endif
