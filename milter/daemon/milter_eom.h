/*
 * milter_eom.h - end of message in itip-milter, one way: the engine's findings -> the
 * verdict, built once (with the repair plan when it would say repair) -> the action
 * (milter_act.c, the only place that changes a message through libmilter) -> the record in
 * the store -> one log line -> the metrics' counts (milter_metrics.h).
 *
 * Exports meom_finish().  Nothing changes the verdict once it is built; the message context
 * is read, not reset (the callbacks reset it after).  Never loses mail: an internal failure
 * becomes the on_internal_error verdict, and even out of memory the message goes through.
 */
#ifndef ITIP_MILTER_EOM_H
#define ITIP_MILTER_EOM_H

#include <libmilter/mfapi.h>
#include "milter_ctx.h"

/* Finishes message M of a connection from CLIENT (or NULL); LEADSPC: SMFIP_HDR_LEADSPC was
 * negotiated.  Returns the sfsistat for xxfi_eom. */
sfsistat meom_finish(SMFICTX *ctx, const char *client, int leadspc, msgctx *m);

#endif
