/*
 * notice.c - the text of a notice (see notice.h).  Exports notice_build() and
 * notice_wanted().  Pure: builds a string, nothing else.
 */
#include "ac-config.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "base/charset.h"
#include "base/rules.h"
#include "engine/notice.h"

#define HDR_TEXT_MAX 120          /* bytes of a message-derived string in a header field */
#define BODY_TEXT_MAX 300         /* ... in the body */
#define WRAP 76                   /* body lines are wrapped at blanks near this column */

/* Appends S (at most MAX bytes of it) as one line of printable text: valid UTF-8 kept (only
 * in the body: ASCII when HEADER), control characters and invalid bytes as '?'; "..." when
 * cut.  "-" for NULL. */
static int put_clean(strbuf *b, const char *s, size_t max, int header)
{
    size_t i = 0, n, out = 0;

    if (s == NULL)
        return itip_strbuf_append(b, "-", 1);
    n = strlen(s);
    while (i < n && out < max) {
        unsigned char c = (unsigned char)s[i];
        int len = c < 0x80 ? 1 : itip_utf8_seq(s + i, n - i);
        if (c < 0x20 || c == 0x7f || len <= 0 || (header && c >= 0x80)) {
            if (itip_strbuf_putc(b, '?') < 0)
                return -1;
            i += len > 0 ? (size_t)len : 1;
            out++;
            continue;
        }
        if (itip_strbuf_append(b, s + i, (size_t)len) < 0)
            return -1;
        i += (size_t)len;
        out += (size_t)len;
    }
    return i < n ? itip_strbuf_append(b, "...", 3) : 0;
}

/* Appends TEXT (already clean) wrapped at blanks, starting at column COL, each line after
 * the first indented by INDENT blanks. */
static int put_wrapped(strbuf *b, const char *text, int indent, size_t col)
{
    size_t len = strlen(text), i = 0;
    int first = 1;

    while (i < len) {
        size_t w = strcspn(text + i, " ");
        if (!first) {
            if (col + 1 + w > WRAP) {
                if (itip_strbuf_printf(b, "\n%*s", indent, "") < 0)
                    return -1;
                col = (size_t)indent;
            } else {
                if (itip_strbuf_putc(b, ' ') < 0)
                    return -1;
                col++;
            }
        }
        if (itip_strbuf_append(b, text + i, w) < 0)
            return -1;
        first = 0;
        col += w;
        i += w;
        while (i < len && text[i] == ' ')
            i++;
    }
    return itip_strbuf_putc(b, '\n');
}

/* put_clean into a scratch buffer, then wrapped (the first line starts at column COL). */
static int put_para(strbuf *b, const char *s, size_t max, int indent, size_t col)
{
    strbuf t;
    int rc;

    itip_strbuf_init(&t, 0);
    rc = put_clean(&t, s, max, 0) < 0 || itip_strbuf_putc(&t, '\0') < 0 ? -1
         : put_wrapped(b, t.s, indent, col);
    itip_strbuf_free(&t);
    return rc;
}

int notice_wanted(const itip_config *cfg, const itip_findings *f)
{
    size_t i;

    for (i = 0; f != NULL && i < f->n; i++) {
        int r = cfg->rule_notify[f->v[i].rule];
        if (r == 1 || (r == -1 && (cfg->notify.severities & 1u << f->v[i].severity)))
            return 1;
    }
    return 0;
}

static const char *what_happened(const char *action)
{
    if (strcmp(action, "quarantine") == 0)
        return "was held in the mail queue of this server and has not been delivered";
    if (strcmp(action, "reject") == 0)
        return "was refused by this server and has not been delivered";
    if (strcmp(action, "repair") == 0)
        return "was repaired by this server and then delivered";
    return "was stopped by this server";
}

/* True if the content line at L (LEN bytes) names a property some finding names. */
static int line_wanted(const char *l, size_t len, const itip_findings *f)
{
    size_t i, n = 0;

    while (n < len && l[n] != ':' && l[n] != ';')
        n++;
    if (n == 6 && strncasecmp(l, "METHOD", 6) == 0)
        return 1;
    for (i = 0; i < f->n; i++) {
        const char *p = f->v[i].property;
        if (p != NULL && strlen(p) == n && strncasecmp(l, p, n) == 0)
            return 1;
    }
    return 0;
}

/* How many content lines, METHOD aside, name a property some finding names. */
static int named_lines(const notice_in *in)
{
    const char *s = in->calendar, *end = s + in->calendar_len;
    int n = 0;

    while (in->findings != NULL && s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = (size_t)((nl ? nl : end) - s);
        if (len > 0 && *s != ' ' && *s != '\t' && strncasecmp(s, "METHOD", 6) != 0 &&
            line_wanted(s, len, in->findings))
            n++;
        s = nl ? nl + 1 : end;
    }
    return n;
}

/* The calendar lines the findings name (with their folded continuations), or the start of
 * the calendar when no finding names a property. */
static int put_calendar_lines(strbuf *b, const notice_in *in)
{
    const char *s = in->calendar, *end = s + in->calendar_len;
    int any_prop = 0, taking = 0, nlines = 0;

    any_prop = named_lines(in) > 0;
    while (s < end && nlines < NOTICE_MAX_LINES) {
        const char *nl = memchr(s, '\n', (size_t)(end - s)), *le = nl ? nl : end;
        size_t len = (size_t)(le - s);
        char line[NOTICE_MAX_LINE + 1];
        if (len > 0 && s[len - 1] == '\r')
            len--;
        if (len > 0 && (*s == ' ' || *s == '\t'))
            ; /* a continuation: follows its line */
        else
            taking = !any_prop || line_wanted(s, len, in->findings);
        if (taking) {
            snprintf(line, sizeof line, "%.*s", (int)(len < NOTICE_MAX_LINE ? len
                                                      : NOTICE_MAX_LINE), s);
            if (put_clean(b, line, NOTICE_MAX_LINE, 0) < 0 ||
                (len > NOTICE_MAX_LINE && itip_strbuf_append(b, " [cut]", 6) < 0) ||
                itip_strbuf_putc(b, '\n') < 0)
                return -1;
            nlines++;
        }
        s = nl ? nl + 1 : end;
    }
    if (nlines == NOTICE_MAX_LINES && s < end)
        return itip_strbuf_printf(b, "[more lines not shown]\n");
    return 0;
}

static int put_headers(strbuf *b, const notice_in *in, const char *to)
{
    char date[64];
    struct tm tm;

    gmtime_r(&in->now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    if (itip_strbuf_printf(b, "From: %s\nTo: %s\nSubject: [itip-milter] meeting message %s: ",
                           in->from, to, strcmp(in->action, "repair") == 0 ? "repaired"
                           : strcmp(in->action, "reject") == 0 ? "refused" : "held") < 0 ||
        put_clean(b, in->subject, HDR_TEXT_MAX, 1) < 0 ||
        itip_strbuf_printf(b, "\nDate: %s\nMessage-ID: <itip-notice.%s@%s>\n"
                           "Auto-Submitted: auto-generated\n"
                           "X-ITIP-Notice: %s; qid=", date, in->token, in->host,
                           in->action) < 0 ||
        put_clean(b, in->qid, 40, 1) < 0 ||
        itip_strbuf_printf(b, "\nMIME-Version: 1.0\nContent-Type: multipart/mixed; "
                           "boundary=\"=_itip_notice_%s\"\n\n"
                           "This is a MIME message.\n\n--=_itip_notice_%s\n"
                           "Content-Type: text/plain; charset=utf-8\n"
                           "Content-Transfer-Encoding: 8bit\n\n", in->token, in->token) < 0)
        return -1;
    return 0;
}

static int put_findings(strbuf *b, const notice_in *in)
{
    const itip_findings *f = in->findings;
    size_t i;

    if (f == NULL || f->n == 0)
        return itip_strbuf_printf(b, "No finding was recorded.\n\n");
    if (itip_strbuf_printf(b, "What was found:\n\n") < 0)
        return -1;
    for (i = 0; i < f->n && i < NOTICE_MAX_FINDINGS; i++) {
        const itip_finding *x = &f->v[i];
        if (itip_strbuf_printf(b, "* %s (%s)\n  ", itip_rules[x->rule].id,
                               itip_severity_name(x->severity)) < 0 ||
            put_para(b, x->detail, BODY_TEXT_MAX, 2, 2) < 0 ||
            itip_strbuf_printf(b, "  What to do: ") < 0 ||
            put_para(b, itip_rule_remedy((int)x->rule), 600, 2, 14) < 0 ||
            itip_strbuf_putc(b, '\n') < 0)
            return -1;
    }
    if (f->n > NOTICE_MAX_FINDINGS &&
        itip_strbuf_printf(b, "(%zu more findings not shown)\n\n", f->n - NOTICE_MAX_FINDINGS) < 0)
        return -1;
    return 0;
}

int notice_build(strbuf *b, const notice_in *in, const char *to, int for_postmaster)
{
    size_t i;

    if (put_headers(b, in, to) < 0 ||
        itip_strbuf_printf(b, "A calendar message (a meeting invitation, answer or "
                           "cancellation) %s.\n\n  Subject:    ", what_happened(in->action)) < 0 ||
        put_clean(b, in->subject, BODY_TEXT_MAX, 0) < 0 ||
        itip_strbuf_printf(b, "\n  Method:     ") < 0 || put_clean(b, in->method, 40, 0) < 0 ||
        itip_strbuf_printf(b, "\n  Meeting:    ") < 0 || put_clean(b, in->uid, 120, 0) < 0 ||
        itip_strbuf_printf(b, "\n  Sender:     ") < 0 ||
        put_clean(b, in->sender, BODY_TEXT_MAX, 0) < 0 ||
        itip_strbuf_printf(b, "\n  Recipients: ") < 0)
        return -1;
    for (i = 0; i < in->nrcpts && i < 10; i++)
        if ((i > 0 && itip_strbuf_printf(b, ", ") < 0) ||
            put_clean(b, in->rcpts[i], BODY_TEXT_MAX, 0) < 0)
            return -1;
    if ((in->nrcpts > 10 && itip_strbuf_printf(b, " and %zu more", in->nrcpts - 10) < 0) ||
        (in->nrcpts == 0 && itip_strbuf_printf(b, "-") < 0) ||
        itip_strbuf_printf(b, "\n  Queue id:   ") < 0 || put_clean(b, in->qid, 40, 0) < 0 ||
        itip_strbuf_printf(b, "\n  Action:     %s\n", in->action) < 0)
        return -1;
    if (for_postmaster && (itip_strbuf_printf(b, "  Client:     ") < 0 ||
                           put_clean(b, in->client, 60, 0) < 0 ||
                           itip_strbuf_putc(b, '\n') < 0))
        return -1;
    if (itip_strbuf_putc(b, '\n') < 0 || put_findings(b, in) < 0)
        return -1;
    if (for_postmaster && strcmp(in->action, "quarantine") == 0 && in->qid != NULL) {
        if (itip_strbuf_printf(b, "The message waits in the hold queue.  To deliver it as it "
                               "is:\n\n    itip-quarantine release ") < 0 ||
            put_clean(b, in->qid, 40, 1) < 0 ||
            itip_strbuf_printf(b, "\n\nTo delete it:\n\n    itip-quarantine delete ") < 0 ||
            put_clean(b, in->qid, 40, 1) < 0 ||
            itip_strbuf_printf(b, "\n\nTo see it with its findings:\n\n    itip-quarantine "
                               "show ") < 0 ||
            put_clean(b, in->qid, 40, 1) < 0 || itip_strbuf_printf(b, "\n\n") < 0)
            return -1;
    } else if (!for_postmaster && itip_strbuf_printf(b, "If you sent this message, the advice "
                                                      "above says what to do; your postmaster "
                                                      "has been told as well where one is "
                                                      "configured.\n\n") < 0) {
        return -1;
    }
    if (itip_strbuf_printf(b, "-- \nitip-milter, on behalf of the postmaster of %s\n",
                           in->host) < 0)
        return -1;
    if (in->calendar != NULL && in->calendar_len > 0 &&
        (itip_strbuf_printf(b, "\n--=_itip_notice_%s\nContent-Type: text/plain; charset=utf-8;"
                            " name=\"calendar-lines.txt\"\nContent-Disposition: attachment; "
                            "filename=\"calendar-lines.txt\"\nContent-Transfer-Encoding: 8bit"
                            "\n\n", in->token) < 0 ||
         put_calendar_lines(b, in) < 0))
        return -1;
    return itip_strbuf_printf(b, "\n--=_itip_notice_%s--\n", in->token);
}
