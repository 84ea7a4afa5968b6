/*
 * engine.h - one message in, findings out.
 *
 * The engine owns a MIME walker and, at the end of the message, runs the calendar analysis on
 * each collected part.  Callers (the milter, itip-check, tests, fuzzers) drive it the same way:
 * set the clock and envelope, feed bytes, finish, read the findings.  No libmilter here.
 * An engine is used by one thread at a time; itip_engine_reset() readies it for the next
 * message on the same connection.
 */
#ifndef ITIP_ENGINE_H
#define ITIP_ENGINE_H

#include <stddef.h>
#include <time.h>
#include "base/config.h"
#include "base/findings.h"
#include "mime/mime.h"
#include "store/state.h"

typedef struct itip_engine itip_engine;

/* cfg must outlive the engine.  NULL when out of memory. */
itip_engine *itip_engine_new(const itip_config *cfg);
void itip_engine_free(itip_engine *e);
/* Forgets the current message (findings, parts, envelope); keeps cfg, clock and state. */
void itip_engine_reset(itip_engine *e);

void itip_engine_set_now(itip_engine *e, time_t now);    /* default: time(NULL) at finish */
/* The store of the stateful rules, or NULL (then they are skipped).  Not owned; it must
 * outlive the engine's use of it.  Kept across itip_engine_reset(). */
void itip_engine_set_store(itip_engine *e, itip_store *st);
/* The SMTP client's address (or NULL), for the per-host clock-skew estimate; forgotten by
 * itip_engine_reset().  0, or -1 when out of memory. */
int itip_engine_set_client(itip_engine *e, const char *addr);
/* The envelope: an envelope recipient, and the envelope sender ("" or "<>" for the null
 * sender), "a@b" or as the MTA passes them, "<a@b>" (kept without the brackets).  Either call
 * marks the envelope as given.  When none is given, itip_engine_finish() takes it from the
 * Return-Path, Delivered-To and X-Original-To headers where the message has them; the rules
 * that need an envelope are skipped where there is none (itip_engine_envelope() says which).
 * 0, or -1 when out of memory.  Forgotten by itip_engine_reset(). */
int itip_engine_add_rcpt(itip_engine *e, const char *addr);
int itip_engine_set_sender(itip_engine *e, const char *addr);
/* The envelope recipients (as added, without brackets); valid until reset. */
size_t itip_engine_rcpt_count(const itip_engine *e);
char *const *itip_engine_rcpts(const itip_engine *e);
/* The top-level headers the walker kept (From:, Subject:, Auto-Submitted: ...), or NULL
 * (bare iCalendar input, or nothing fed yet); valid until reset. */
const itip_msghdrs *itip_engine_headers(const itip_engine *e);
/* After finish: where the envelope came from (ITIP_ENV_NONE, _HEADERS or _GIVEN). */
itip_envelope itip_engine_envelope(const itip_engine *e);

/* Feed the message (header block, blank line, body) in chunks of any size.  0, or -1 on an
 * internal failure (out of memory): see itip_engine_error(). */
int itip_engine_feed(itip_engine *e, const void *buf, size_t len);
/* Instead of feed: the input is a bare iCalendar stream (an .ics file). */
int itip_engine_feed_ical(itip_engine *e, const void *buf, size_t len);

/* True once the rest of the body cannot matter (the milter may return SMFIS_SKIP). */
int itip_engine_skippable(const itip_engine *e);
/* True once the top-level header block has been seen. */
int itip_engine_headers_done(const itip_engine *e);

/* End of message: finishes the walk, analyses every calendar part, applies the configured
 * rule settings (enabled, severity) and sorts the findings.  0, or -1 on internal failure. */
int itip_engine_finish(itip_engine *e);

const itip_findings *itip_engine_findings(const itip_engine *e);
size_t itip_engine_calendar_parts(const itip_engine *e);
/* Calendar part I of a message as the MIME walker recorded it (offsets, encoding), or NULL
 * (no such part, or bare iCalendar input, which has no MIME structure).  Valid until reset;
 * the repair action (repair.h) rewrites parts with it. */
const itip_calpart *itip_engine_calpart(const itip_engine *e, size_t i);
/* METHOD and UID of the first calendar part that has them, or NULL. */
/* The clock the finished engine checked the message with (itip_engine_set_now, or the time of
 * itip_engine_finish). */
time_t itip_engine_now(const itip_engine *e);
const char *itip_engine_method(const itip_engine *e);
const char *itip_engine_uid(const itip_engine *e);
/* Worst severity after configuration; ITIP_SEV_NONE when clean. */
itip_severity itip_engine_verdict(const itip_engine *e);
/* Stateful rules (issue 4).  When a store is set, itip_engine_finish() looks up the sending
 * host's clock-skew estimate (host: the client address of itip_engine_set_client, else the
 * domain of From:) and each REQUEST/CANCEL/REPLY/COUNTER component's meeting record (at most
 * ITIP_STATE_MAX_COMPONENTS per calendar part, record.h), and runs C10-C15, E3, E5 and the
 * stateful E4.  Nothing is written during finish.
 *
 * itip_engine_record(), after finish: merges this message's meetings (what each REQUEST,
 * CANCEL, REPLY and COUNTER said: SEQUENCE, DTSTAMP, organizer, attendees and PARTSTATs,
 * deleted instances) and one clock-skew sample of the sending host (the first usable DTSTAMP,
 * else the Date: header, minus our clock) into the store, for the stateful rules of later
 * messages.  The milter calls it for messages it lets through; itip-check for every input.
 * Returns 0, also when there is no store, nothing to record, or it was already called for
 * this message; -1 when the store failed now or during finish (the note below is then set).
 * It never retries and never blocks longer than the store's own timeouts.
 *
 * itip_engine_state_note(): NULL while the stateful side worked (or no store is set); after
 * a store failure in finish or record, the fixed short text "state unavailable, stateful
 * rules skipped", meant for X-ITIP-Result and the log line (itip_store_error() of the store
 * has the backend's own words for the log).  A failure in finish means the stateful rules did
 * not run for this message; the other rules ran as usual.  Cleared by itip_engine_reset(). */
int itip_engine_record(itip_engine *e);
const char *itip_engine_state_note(const itip_engine *e);

/* Text of the last internal failure, or NULL. */
const char *itip_engine_error(const itip_engine *e);

/* Releases what libical keeps per thread (its ring of temporary strings, in thread-local
 * storage that nothing frees when the thread ends): a long-running program calls it in each
 * thread that used an engine, before the thread ends.  The thread may use engines again
 * afterwards. */
void itip_engine_thread_release(void);

/* True if BUF looks like a bare iCalendar stream rather than a message (optional UTF-8 BOM and
 * blank lines, then BEGIN:VCALENDAR, case-insensitive). */
int itip_looks_like_ical(const void *buf, size_t len);

#endif
