/*
 * quar_mail.c - mail from itip-quarantine (see quar_digest.h): the digest as
 * multipart/alternative (text and HTML), and the handing of a whole message to the local
 * MTA's sendmail(1) with a null envelope sender.  Every part is UTF-8 in base64 (lines of 76),
 * every message says Auto-Submitted: auto-generated; header fields hold only text we wrote.
 *
 * sendmail is the configured quarantine.sendmail, or --sendmail-program with Sendmail; it
 * gets -C DIR with --postfix-dir (Postfix's configuration directory) or -C FILE with
 * --sendmail-config, then -i -f <> and the recipient.  Run by argument vector, bounded wait.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "quar_digest.h"
#include "quar_run.h"

int quar_addr_ok(const char *addr)
{
    size_t i;

    if (addr == NULL || addr[0] == '\0' || addr[0] == '-')
        return 0;
    for (i = 0; addr[i]; i++)
        if ((unsigned char)addr[i] <= ' ' || (unsigned char)addr[i] >= 0x7f ||
            strchr("<>()[],;:\"\\", addr[i]))
            return 0;
    return i <= 320;
}

int quar_sendmail_msg(const quar_ctx *q, const char *to, const char *msg, size_t len,
                      char *err, size_t errlen)
{
    const char *argv[12];
    quar_result r;
    size_t k = 0;
    int rc = 0;

    if (!quar_addr_ok(to)) {
        snprintf(err, errlen, "not a mail address for sendmail: %s", to);
        return -1;
    }
    argv[k++] = q->mta == &quar_sendmail && q->mopts.sendmail_program
                    ? q->mopts.sendmail_program : q->cfg->quarantine.sendmail;
    if (q->mta == &quar_postfix && q->mopts.postfix_dir) {
        argv[k++] = "-C";
        argv[k++] = q->mopts.postfix_dir;
    } else if (q->mta == &quar_sendmail && q->mopts.sendmail_config) {
        argv[k++] = "-C";
        argv[k++] = q->mopts.sendmail_config;
    }
    argv[k++] = "-i";
    argv[k++] = "-f";
    argv[k++] = "<>";
    argv[k++] = to;
    argv[k] = NULL;
    if (quar_run_input((char *const *)argv, NULL, msg, len, q->mopts.timeout, 1 << 20, &r) < 0 ||
        r.status != 0) {
        snprintf(err, errlen, "%s: %s", argv[0], quar_result_text(&r));
        rc = -1;
    }
    quar_result_free(&r);
    return rc;
}

/* LEN bytes of S in base64, lines of 76 and CRLF. */
static void put_base64(strbuf *b, const char *s, size_t len)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *)s;
    size_t i, col = 0;

    for (i = 0; i < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < len ? p[i + 2] : 0);
        char q[4];
        q[0] = tab[v >> 18 & 63];
        q[1] = tab[v >> 12 & 63];
        q[2] = i + 1 < len ? tab[v >> 6 & 63] : '=';
        q[3] = i + 2 < len ? tab[v & 63] : '=';
        itip_strbuf_append(b, q, 4);
        if ((col += 4) >= 76) {
            itip_strbuf_append(b, "\r\n", 2);
            col = 0;
        }
    }
    if (col)
        itip_strbuf_append(b, "\r\n", 2);
}

/* Date, Message-ID, MIME-Version and Auto-Submitted, each ending in CRLF. */
static void common_headers(strbuf *b, const char *what)
{
    char date[64], host[256];
    time_t now = time(NULL);
    struct tm tm;

    if (gethostname(host, sizeof host) != 0 || host[0] == '\0')
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    if (localtime_r(&now, &tm) == NULL ||
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
        snprintf(date, sizeof date, "Thu, 01 Jan 1970 00:00:00 +0000");
    itip_strbuf_printf(b, "Date: %s\r\nMessage-ID: <%s.%lld.%ld@%s>\r\nMIME-Version: 1.0\r\n"
                       "Auto-Submitted: auto-generated\r\nPrecedence: bulk\r\n", date, what,
                       (long long)now, (long)getpid(), host);
}

/* The output of FN(out, d) as a string; NULL when out of memory. */
static char *render(void (*fn)(FILE *, const qd_digest *), const qd_digest *d, size_t *len)
{
    char *buf = NULL;
    FILE *m = open_memstream(&buf, len);

    if (m == NULL)
        return NULL;
    fn(m, d);
    if (fclose(m) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* A boundary no base64 line and no header can contain ('=' and '_' together). */
static void boundary(char *buf, size_t len, const char *what)
{
    snprintf(buf, len, "=_itip_%s_%lx_%lx", what, (unsigned long)time(NULL),
             (unsigned long)getpid() ^ (unsigned long)clock());
}

int qd_mail(const qd_digest *d, const char *to)
{
    size_t tlen = 0, hlen = 0;
    char *text = render(qd_text, d, &tlen), *html = render(qd_html, d, &hlen);
    char bnd[96], err[512];
    strbuf b;
    int rc;

    if (text == NULL || html == NULL) {
        free(text);
        free(html);
        fputs("itip-quarantine: out of memory\n", stderr);
        return -1;
    }
    if (!quar_addr_ok(to)) {
        free(text);
        free(html);
        fprintf(stderr, "itip-quarantine: --mail: not a mail address\n");
        return -1;
    }
    boundary(bnd, sizeof bnd, "digest");
    itip_strbuf_init(&b, 0);
    itip_strbuf_printf(&b, "From: itip-quarantine <postmaster>\r\nTo: %s\r\n"
                       "Subject: itip-quarantine digest: %zu held, %zu overdue\r\n",
                       to, d->n, d->noverdue);
    common_headers(&b, "itip-digest");
    itip_strbuf_printf(&b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n"
                       "This is a MIME message: the digest as plain text and as HTML.\r\n"
                       "\r\n--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       "Content-Transfer-Encoding: base64\r\n\r\n", bnd, bnd);
    put_base64(&b, text, tlen);
    itip_strbuf_printf(&b, "\r\n--%s\r\nContent-Type: text/html; charset=utf-8\r\n"
                       "Content-Transfer-Encoding: base64\r\n\r\n", bnd);
    put_base64(&b, html, hlen);
    itip_strbuf_printf(&b, "\r\n--%s--\r\n", bnd);
    free(text);
    free(html);
    if (b.s == NULL) {
        fputs("itip-quarantine: out of memory\n", stderr);
        return -1;
    }
    rc = quar_sendmail_msg(d->q, to, b.s, b.len, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "itip-quarantine: digest mail to %s not sent: %s\n", to, err);
    else
        printf("digest of %zu held message%s mailed to %s\n", d->n, d->n == 1 ? "" : "s", to);
    itip_strbuf_free(&b);
    return rc;
}

/* The notice returned to the sender of IT (see quar_expire.c): text/plain and the original
 * header block as text/rfc822-headers, in multipart/mixed.  TEXT is the notice (UTF-8). */
int quar_notice_msg(strbuf *b, const char *to, const char *text, const quar_item *it)
{
    char bnd[96];
    const char *h = it->headers ? it->headers : "";

    boundary(bnd, sizeof bnd, "return");
    itip_strbuf_init(b, 0);
    itip_strbuf_printf(b, "From: Mail Delivery System <MAILER-DAEMON>\r\nTo: %s\r\n"
                       "Subject: Undelivered Mail Returned to Sender (held too long)\r\n", to);
    common_headers(b, "itip-return");
    itip_strbuf_printf(b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
                       "This is a MIME message.\r\n\r\n--%s\r\nContent-Type: text/plain; "
                       "charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n", bnd, bnd);
    put_base64(b, text, strlen(text));
    itip_strbuf_printf(b, "\r\n--%s\r\nContent-Type: text/rfc822-headers; charset=utf-8\r\n"
                       "Content-Description: the header of the returned message\r\n"
                       "Content-Transfer-Encoding: base64\r\n\r\n", bnd);
    put_base64(b, h, strlen(h));
    itip_strbuf_printf(b, "\r\n--%s--\r\n", bnd);
    return b->s ? 0 : -1;
}
