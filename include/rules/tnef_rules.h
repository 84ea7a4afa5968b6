/*
 * tnef_rules.h - the checks of meeting objects that travel as TNEF (winmail.dat).
 *
 * A TNEF part (mime.h: itip_calpart with tnef set) is read with the TNEF reader (mime/tnef.h);
 * when its top-level message class is a meeting one (IPM.Schedule.Meeting.* or the legacy
 * IPM.Microsoft Schedule.Mtg*), the MAPI properties are checked with the rule ids of their
 * iCalendar counterparts where the meaning is the same, plus tnef-corrupt and
 * tnef-to-non-tnef-domain.  Findings have part -1 (no calendar part: the repair action never
 * touches TNEF), component "TNEF", the MAPI property name as property, and a detail that starts
 * with "TNEF".  Non-meeting TNEF (notes, tasks, read receipts) gives no finding.
 */
#ifndef ITIP_TNEF_RULES_H
#define ITIP_TNEF_RULES_H

#include "base/findings.h"
#include "rules/calendar.h"

/* Checks TNEF part number INDEX (of the message's TNEF parts) of MSG.  When SUM is not NULL and
 * has no METHOD/UID yet, a meeting object fills them (for headers and logs): REQUEST, REPLY or
 * CANCEL, and the UID Exchange gives the meeting in iCalendar, the upper-case hex of
 * PidLidCleanGlobalObjectId (else PidLidGlobalObjectId) when that is a valid one.  0, or -1
 * when out of memory. */
int itip_check_tnef(const itip_msgctx *msg, const itip_calpart *part, size_t index,
                    itip_findings *out, itip_partsummary *sum);

#endif
