/*
 * null_milter.c - a milter that does nothing, for bench/postfix.sh only (make bench).
 *
 *   bench/null-milter SOCKET [lean]
 * Registers the same callbacks as itip-milter (connect, helo, envfrom, envrcpt, header, eoh,
 * body, eom, abort, close, data) and answers every one with CONTINUE, so that Postfix
 * throughput through it is the cost of the milter protocol and libmilter alone, without the
 * engine.  With "lean" it negotiates SMFIP_NR_* (no reply) for every event but end of message
 * and SMFIP_NOHELO/NOUNKNOWN, the fewest round trips a milter that reads the message can
 * have.  SOCKET is libmilter's spelling (unix:/path, inet:PORT@HOST).  SIGTERM ends it.
 * Never modifies a message; not installed.
 */
#include "ac-config.h"
#include <stdio.h>
#include <string.h>
#include <libmilter/mfapi.h>

static int lean;

static sfsistat cont(SMFICTX *ctx)
{
    (void)ctx;
    return lean ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
    (void)host;
    (void)sa;
    return cont(ctx);
}

static sfsistat on_args(SMFICTX *ctx, char **argv)
{
    (void)argv;
    return cont(ctx);
}

static sfsistat on_str(SMFICTX *ctx, char *s)
{
    (void)s;
    return cont(ctx);
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
    (void)name;
    (void)value;
    return cont(ctx);
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *buf, size_t len)
{
    (void)buf;
    (void)len;
    return cont(ctx);
}

static sfsistat on_done(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                             unsigned long f2, unsigned long f3, unsigned long *pf0,
                             unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    const unsigned long nr = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT |
                             SMFIP_NR_DATA | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY |
                             SMFIP_NOHELO | SMFIP_NOUNKNOWN;

    (void)ctx;
    (void)f2;
    (void)f3;
    *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE);
    *pf1 = lean ? f1 & nr : 0;
    *pf2 = *pf3 = 0;
    return SMFIS_CONTINUE;
}

int main(int argc, char **argv)
{
    struct smfiDesc d;

    if (argc < 2) {
        fprintf(stderr, "usage: null-milter SOCKET [lean]\n");
        return 2;
    }
    lean = argc > 2 && strcmp(argv[2], "lean") == 0;
    memset(&d, 0, sizeof d);
    d.xxfi_name = "null-milter";
    d.xxfi_version = SMFI_VERSION;
    d.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE;
    d.xxfi_connect = on_connect;
    d.xxfi_helo = on_str;
    d.xxfi_envfrom = on_args;
    d.xxfi_envrcpt = on_args;
    d.xxfi_header = on_header;
    d.xxfi_eoh = cont;
    d.xxfi_body = on_body;
    d.xxfi_eom = on_done;
    d.xxfi_abort = on_done;
    d.xxfi_close = on_done;
    d.xxfi_data = cont;
    d.xxfi_negotiate = on_negotiate;
    if (smfi_setconn(argv[1]) == MI_FAILURE || smfi_register(d) == MI_FAILURE) {
        fprintf(stderr, "null-milter: cannot set up %s\n", argv[1]);
        return 1;
    }
    fprintf(stderr, "null-milter: starting on %s%s\n", argv[1], lean ? " (lean)" : "");
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
