/*
 * test_tnef.c - the TNEF reader (mime/tnef.h), the walker's TNEF hand-off and the corpus.
 *
 * Streams are built here attribute by attribute (MS-OXTNEF 2.1.3) so each case knows exactly
 * what it wrote: a valid meeting response; every prefix of it (a prefix that ends between
 * attributes is a valid shorter stream, any other is truncated); a wrong checksum; huge
 * lengths and counts; attachments nested 300 deep whose embedded class must not be judged.
 * Then the MIME walker: a base64 application/ms-tnef part and a winmail.dat under
 * application/octet-stream come out as TNEF parts, byte for byte, whatever the chunking; a part
 * over max_calendar_part_size is truncated with mime-limit-exceeded.  Last, every TNEF stream
 * of ../shared/corpus/tnef/ is read and run through the engine inside a message: no crash, no
 * finding at all on a non-meeting one, and every would-fail finding on a meeting one listed
 * with its reason in t/tnef/corpus-expected.tsv (and every listed one still found).
 */
#include "ac-config.h"
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include "tap.h"
#include "base/config.h"
#include "base/findings.h"
#include "engine/engine.h"
#include "mime/mime.h"
#include "mime/tnef.h"

/* ---- building streams ---- */

typedef struct {
    unsigned char *b;
    size_t n, cap;
    size_t bounds[64];        /* offsets where an attribute ends */
    size_t nb;
} buf;

static void put(buf *s, const void *p, size_t n)
{
    if (s->n + n > s->cap) {
        s->cap = (s->n + n) * 2 + 64;
        s->b = realloc(s->b, s->cap);
        if (s->b == NULL)
            abort();
    }
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

static void put32(buf *s, uint32_t v)
{
    unsigned char b[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 24) };
    put(s, b, 4);
}

static void put16(buf *s, unsigned v)
{
    unsigned char b[2] = { (unsigned char)v, (unsigned char)(v >> 8) };
    put(s, b, 2);
}

static void put64(buf *s, uint64_t v)
{
    put32(s, (uint32_t)v);
    put32(s, (uint32_t)(v >> 32));
}

static void header(buf *s)
{
    put32(s, ITIP_TNEF_SIGNATURE);
    put16(s, 0x0001);
}

static void attr(buf *s, int level, uint32_t id, const void *data, size_t n)
{
    const unsigned char *d = data;
    unsigned sum = 0;
    size_t i;
    unsigned char lv = (unsigned char)level;

    for (i = 0; i < n; i++)
        sum = (sum + d[i]) & 0xFFFF;
    put(s, &lv, 1);
    put32(s, id);
    put32(s, (uint32_t)n);
    put(s, d, n);
    put16(s, sum);
    if (s->nb < 64)
        s->bounds[s->nb++] = s->n;
}

static const unsigned char MEETING[16] = { 0x90, 0xDA, 0xD8, 0x6E, 0x0B, 0x45, 0x1B, 0x10,
                                           0x98, 0xDA, 0x00, 0xAA, 0x00, 0x3F, 0x13, 0x05 };
static const unsigned char APPT[16] = { 0x02, 0x20, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00,
                                        0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46 };
static const unsigned char GOID_ID[16] = { 0x04, 0x00, 0x00, 0x00, 0x82, 0x00, 0xE0, 0x00,
                                           0x74, 0xC5, 0xB7, 0x10, 0x1A, 0x82, 0xE0, 0x08 };
#define FT_2026 0x01DCF1A2B3C4D000ull           /* a date in 2026 */

static void named(buf *p, unsigned type, unsigned id, const unsigned char *guid, uint32_t lid)
{
    put16(p, type);
    put16(p, id);
    put(p, guid, 16);
    put32(p, 0);
    put32(p, lid);
}

static void goid(buf *p, size_t data_len, uint32_t size_field)
{
    static const unsigned char zero[64];
    put32(p, 1);
    put32(p, (uint32_t)(40 + data_len));
    put(p, GOID_ID, 16);
    put(p, zero, 20);                       /* instance date, creation time, reserved */
    put32(p, size_field);
    put(p, "0123456789abcdefghijklmnopqrstuvwxyz0123456789", data_len);
    put(p, zero, (4 - (40 + data_len) % 4) % 4);
}

/* The attMAPIProps of a response: PR_MESSAGE_CLASS (PT_UNICODE), a GlobalObjectId, the
 * attendee's critical change, a sequence, a start time, a multi-valued and a string-named
 * property that the reader must step over. */
static void response_props(buf *p, const char *klass, int32_t seq)
{
    size_t i, n = strlen(klass);
    static const unsigned char zero[4];

    put32(p, 6);
    put16(p, 0x001F);                        /* PR_MESSAGE_CLASS, PT_UNICODE */
    put16(p, 0x001A);
    put32(p, 1);
    put32(p, (uint32_t)(2 * n + 2));
    for (i = 0; i <= n; i++)
        put16(p, (unsigned char)klass[i]);
    put(p, zero, (4 - (2 * n + 2) % 4) % 4);
    named(p, 0x0102, 0x8000, MEETING, 0x0003);
    goid(p, 20, 20);
    named(p, 0x0040, 0x8001, MEETING, 0x0001);
    put64(p, FT_2026);
    named(p, 0x0003, 0x8002, APPT, 0x8201);
    put32(p, (uint32_t)seq);
    put16(p, 0x1003);                        /* PT_MV_LONG, three values */
    put16(p, 0x3FFF);
    put32(p, 3);
    put32(p, 1);
    put32(p, 2);
    put32(p, 3);
    put16(p, 0x0003);                        /* named by string */
    put16(p, 0x8003);
    put(p, APPT, 16);
    put32(p, 1);
    put32(p, 6);
    put(p, "a\0b\0\0\0\0\0", 8);             /* "ab" in UTF-16 + NUL, padded */
    put32(p, 7);
}

static void response(buf *s, const char *legacy_class, const char *klass, int32_t seq)
{
    buf p = { 0 };

    header(s);
    attr(s, 1, 0x00089006, "\0\0\1\0", 4);
    attr(s, 1, 0x00078008, legacy_class, strlen(legacy_class) + 1);
    response_props(&p, klass, seq);
    attr(s, 1, 0x00069003, p.b, p.n);
    free(p.b);
}

/* ---- the reader ---- */

static void test_valid(void)
{
    buf s = { 0 };
    itip_tnef t;
    char when[32];

    response(&s, "IPM.Microsoft Schedule.MtgRespP", "IPM.Schedule.Meeting.Resp.Pos", 4);
    is_int(itip_tnef_read(s.b, s.n, &t), ITIP_TNEF_OK, "valid response: read without problem");
    is_str(t.msg_class, "IPM.Schedule.Meeting.Resp.Pos", "PR_MESSAGE_CLASS wins over "
           "attMessageClass");
    ok(t.class_from_props, "the class came from the properties");
    is_int(t.nattrs, 3, "three attributes");
    is_int(t.nprops, 6, "six properties, the multi-valued and string-named ones stepped over");
    ok(t.goid.have && t.goid.len == 60 && itip_tnef_goid_problem(&t.goid) == NULL,
       "PidLidGlobalObjectId kept (60 bytes) and valid");
    ok(!t.clean_goid.have, "no PidLidCleanGlobalObjectId");
    ok(t.attendee_cc.have && t.attendee_cc.ft == FT_2026, "PidLidAttendeeCriticalChange kept");
    ok(t.have_sequence && t.sequence == 4, "PidLidAppointmentSequence 4");
    is_int(itip_tnef_meeting_kind(t.msg_class), ITIP_TNEF_MTG_RESPONSE, "a response");
    is_str(itip_tnef_ft_text(0, when, sizeof when), "1601-01-01T00:00:00Z", "FILETIME 0 text");
    is_str(itip_tnef_ft_text(ITIP_TNEF_FT_4501, when, sizeof when), "4501-01-01T00:00:00Z",
           "4501 sentinel text");
    is_str(itip_tnef_ft_text(ITIP_TNEF_FT_PAST_4500 - 10000000, when, sizeof when),
           "4500-08-31T23:59:59Z", "last second Outlook represents");
    free(s.b);
}

static void test_prefixes(void)
{
    buf s = { 0 };
    itip_tnef t;
    size_t len, i, wrong = 0, okays = 0;

    response(&s, "IPM.Microsoft Schedule.MtgRespP", "IPM.Schedule.Meeting.Resp.Pos", 1);
    for (len = 0; len < s.n; len++) {
        itip_tnef_status st = itip_tnef_read(s.b, len, &t), want = ITIP_TNEF_TRUNCATED;
        if (len < 4)
            want = ITIP_TNEF_NOT_TNEF;
        else if (len == 6)
            want = ITIP_TNEF_OK;
        for (i = 0; i < s.nb; i++)
            if (s.bounds[i] == len)
                want = ITIP_TNEF_OK;
        okays += st == ITIP_TNEF_OK;
        if (st != want) {
            if (wrong++ < 3)
                diag("prefix of %zu bytes: status %d, want %d (%s)", len, st, want, t.problem);
        }
    }
    ok(wrong == 0, "every prefix of %zu bytes: truncated unless it ends between attributes",
       s.n);
    is_int(okays, s.nb, "exactly the %zu prefixes that end between attributes read clean", s.nb);
    itip_tnef_read(s.b, s.n - 1, &t);
    ok(strstr(t.problem, "runs past the end") != NULL, "the problem says so: %s", t.problem);
    free(s.b);
}

static void test_checksum(void)
{
    buf s = { 0 };
    itip_tnef t;

    response(&s, "IPM.Microsoft Schedule.MtgRespN", "IPM.Schedule.Meeting.Resp.Neg", 2);
    s.b[s.n - 1] ^= 0x40;                    /* the last attribute's checksum */
    is_int(itip_tnef_read(s.b, s.n, &t), ITIP_TNEF_BAD_CHECKSUM, "a wrong checksum is found");
    ok(strstr(t.problem, "checksum") != NULL, "and described: %s", t.problem);
    ok(t.attendee_cc.have && t.sequence == 2, "the properties are still read");
    free(s.b);
}

static void test_huge(void)
{
    buf s = { 0 }, p = { 0 };
    itip_tnef t;
    unsigned char lv = 1;

    header(&s);                              /* an attribute claiming 4 GiB */
    put(&s, &lv, 1);
    put32(&s, 0x00069003);
    put32(&s, 0xFFFFFFFFu);
    put(&s, "abcd", 4);
    is_int(itip_tnef_read(s.b, s.n, &t), ITIP_TNEF_TRUNCATED, "attribute length 0xFFFFFFFF");
    s.n = 0;
    header(&s);                              /* a property list claiming 4 billion entries */
    put32(&p, 0xFFFFFFFFu);
    attr(&s, 1, 0x00069003, p.b, p.n);
    is_int(itip_tnef_read(s.b, s.n, &t), ITIP_TNEF_LIMIT, "property count 0xFFFFFFFF");
    s.n = p.n = 0;
    header(&s);                              /* a multi-valued property of 4 billion values */
    put32(&p, 1);
    put16(&p, 0x1003);
    put16(&p, 0x3FFF);
    put32(&p, 0xFFFFFFFFu);
    attr(&s, 1, 0x00069003, p.b, p.n);
    is_int(itip_tnef_read(s.b, s.n, &t), ITIP_TNEF_LIMIT, "value count 0xFFFFFFFF");
    s.n = p.n = 0;
    header(&s);                              /* a binary value of 4 GiB, 1000 values of 1 MiB */
    put32(&p, 2);
    put16(&p, 0x0102);
    put16(&p, 0x3001);
    put32(&p, 1);
    put32(&p, 0xFFFFFFF0u);
    attr(&s, 1, 0x00069003, p.b, p.n);
    is_int(itip_tnef_read(s.b, s.n, &t), ITIP_TNEF_TRUNCATED, "value length 0xFFFFFFF0");
    s.n = p.n = 0;
    header(&s);
    put32(&p, 1);
    put16(&p, 0x1102);
    put16(&p, 0x3001);
    put32(&p, 1000);
    put32(&p, 1u << 20);
    attr(&s, 1, 0x00069003, p.b, p.n);
    is_int(itip_tnef_read(s.b, s.n, &t), ITIP_TNEF_TRUNCATED, "1000 values of 1 MiB in 16 bytes");
    s.n = p.n = 0;
    header(&s);                              /* an unknown property type */
    put32(&p, 1);
    put16(&p, 0x0999);
    put16(&p, 0x3001);
    put32(&p, 0);
    attr(&s, 1, 0x00069003, p.b, p.n);
    is_int(itip_tnef_read(s.b, s.n, &t), ITIP_TNEF_BAD_PROPS, "unknown type 0x0999");
    free(s.b);
    free(p.b);
}

/* Attachments nested DEPTH deep: each attAttachData holds a whole TNEF stream whose own
 * attachment holds the next; the innermost message and an attachment-level attMAPIProps say
 * IPM.Schedule.Meeting.Request, which must not become the top-level class. */
static void test_nesting(void)
{
    buf inner = { 0 }, outer = { 0 }, p = { 0 };
    itip_tnef t;
    int depth;

    response(&inner, "IPM.Microsoft Schedule.MtgReq", "IPM.Schedule.Meeting.Request", 0);
    for (depth = 0; depth < 300; depth++) {
        outer.n = 0;
        header(&outer);
        attr(&outer, 1, 0x00078008, "IPM.Microsoft Mail.Note", 24);
        attr(&outer, 2, 0x00069002, "\1\0\0\0\0\0\0\0\0\0\0\0\0\0", 14);   /* attAttachRendData */
        attr(&outer, 2, 0x0006800F, inner.b, inner.n);                   /* attAttachData */
        p.n = 0;
        response_props(&p, "IPM.Schedule.Meeting.Request", 0);
        attr(&outer, 2, 0x00069005, p.b, p.n);                           /* attAttachment */
        inner.n = 0;
        put(&inner, outer.b, outer.n);
    }
    is_int(itip_tnef_read(outer.b, outer.n, &t), ITIP_TNEF_OK, "300 nested attachments (%zu "
           "bytes) read clean", outer.n);
    is_str(t.msg_class, "IPM.Microsoft Mail.Note", "the top-level class, not an embedded one");
    ok(!t.goid.have && !t.attendee_cc.have, "attachment properties are not the message's");
    is_int(itip_tnef_meeting_kind(t.msg_class), ITIP_TNEF_NOT_MEETING, "not a meeting");
    free(inner.b);
    free(outer.b);
    free(p.b);
}

static void test_kinds(void)
{
    static const struct { const char *c; itip_tnef_meeting k; } v[] = {
        { "IPM.Schedule.Meeting.Request", ITIP_TNEF_MTG_REQUEST },
        { "IPM.Schedule.Meeting.Resp.Tent", ITIP_TNEF_MTG_RESPONSE },
        { "ipm.schedule.meeting.canceled", ITIP_TNEF_MTG_CANCEL },
        { "IPM.Schedule.Meeting.Notification.Forward", ITIP_TNEF_MTG_OTHER },
        { "IPM.Microsoft Schedule.MtgReq", ITIP_TNEF_MTG_REQUEST },
        { "IPM.Microsoft Schedule.MtgRespA", ITIP_TNEF_MTG_RESPONSE },
        { "IPM.Microsoft Schedule.MtgCncl", ITIP_TNEF_MTG_CANCEL },
        { "IPM.Appointment", ITIP_TNEF_NOT_MEETING },
        { "IPM.TaskRequest", ITIP_TNEF_NOT_MEETING },
        { "", ITIP_TNEF_NOT_MEETING },
    };
    size_t i;

    for (i = 0; i < sizeof v / sizeof v[0]; i++)
        is_int(itip_tnef_meeting_kind(v[i].c), v[i].k, "class '%s'", v[i].c);
}

static void test_goid(void)
{
    buf p = { 0 };
    itip_tnef_bin b;

    goid(&p, 20, 21);                        /* Size field one too many */
    memset(&b, 0, sizeof b);
    b.have = 1;
    b.len = 60;
    memcpy(b.head, p.b + 8, 60 < ITIP_TNEF_GOID_KEEP ? 60 : ITIP_TNEF_GOID_KEEP);
    ok(itip_tnef_goid_problem(&b) != NULL, "a Size field that disagrees: %s",
       itip_tnef_goid_problem(&b));
    b.head[36] = 20;
    ok(itip_tnef_goid_problem(&b) == NULL, "the same with the right Size: valid");
    b.head[0] = '5';
    ok(itip_tnef_goid_problem(&b) != NULL, "hex text instead of the Byte Array ID");
    b.len = 39;
    ok(itip_tnef_goid_problem(&b) != NULL, "39 bytes: too short");
    free(p.b);
}

/* ---- the walker ---- */

static char *b64(const unsigned char *d, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = malloc(n * 2 + 8), *w = o;
    size_t i;

    for (i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        *w++ = al[v >> 18 & 63];
        *w++ = al[v >> 12 & 63];
        *w++ = i + 1 < n ? al[v >> 6 & 63] : '=';
        *w++ = i + 2 < n ? al[v & 63] : '=';
        if ((i / 3) % 19 == 18)
            *w++ = '\n';
    }
    *w = '\0';
    return o;
}

static char *wrap(const unsigned char *d, size_t n, const char *ctype, const char *fname)
{
    char *enc = b64(d, n), *m = malloc(strlen(enc) + 1024);

    sprintf(m, "From: a@example.com\nTo: b@example.org\nSubject: t\nMIME-Version: 1.0\n"
            "Content-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\nContent-Type: text/plain\n\n"
            "hi\n--XX\nContent-Type: %s; name=\"%s\"\nContent-Transfer-Encoding: base64\n\n%s\n"
            "--XX--\n", ctype, fname, enc);
    free(enc);
    return m;
}

/* Walks MSG in chunks of CHUNK bytes; the TNEF parts' count, and part 0's bytes in *OUT. */
static size_t walk(const char *msg, size_t chunk, const itip_limits *lim, itip_findings *f,
                   unsigned char **out, size_t *outn, int *truncated)
{
    itip_mime *m = itip_mime_new(lim, f);
    size_t n = strlen(msg), pos, k;

    for (pos = 0; pos < n; pos += chunk)
        itip_mime_feed(m, msg + pos, pos + chunk > n ? n - pos : chunk);
    itip_mime_finish(m);
    k = itip_mime_tnefpart_count(m);
    *out = NULL;
    *outn = 0;
    if (k > 0) {
        const itip_calpart *p = itip_mime_tnefpart(m, 0);
        *out = malloc(p->len + 1);
        memcpy(*out, p->data, p->len);
        *outn = p->len;
        *truncated = p->truncated;
    }
    if (itip_mime_calpart_count(m) != 0)
        k += 1000;                           /* a TNEF part must never be a calendar part */
    itip_mime_free(m);
    return k;
}

static void test_walker(void)
{
    itip_config *cfg = itip_config_default();
    itip_limits lim = cfg->limits;
    itip_findings f;
    buf s = { 0 };
    unsigned char *got;
    size_t n, k, chunk, bad = 0;
    int trunc = 0;
    char *msg;

    response(&s, "IPM.Microsoft Schedule.MtgRespP", "IPM.Schedule.Meeting.Resp.Pos", 1);
    msg = wrap(s.b, s.n, "application/ms-tnef", "winmail.dat");
    for (chunk = 1; chunk < 200; chunk += (chunk < 10 ? 1 : 37)) {
        itip_findings_init(&f, 100, NULL);
        k = walk(msg, chunk, &lim, &f, &got, &n, &trunc);
        if (k != 1 || n != s.n || memcmp(got, s.b, n) != 0 || f.n != 0)
            bad++;
        free(got);
        itip_findings_clear(&f);
    }
    ok(bad == 0, "application/ms-tnef: one TNEF part, the stream byte for byte, no finding, "
       "at every chunk size");
    free(msg);
    msg = wrap(s.b, s.n, "application/octet-stream", "WinMail.DAT");
    itip_findings_init(&f, 100, NULL);
    ok(walk(msg, 7, &lim, &f, &got, &n, &trunc) == 1 && n == s.n, "winmail.dat under "
       "application/octet-stream is a TNEF part");
    free(got);
    itip_findings_clear(&f);
    free(msg);
    msg = wrap(s.b, s.n, "application/octet-stream", "other.dat");
    itip_findings_init(&f, 100, NULL);
    is_int(walk(msg, 7, &lim, &f, &got, &n, &trunc), 0, "other.dat is not");
    free(got);
    itip_findings_clear(&f);
    free(msg);
    lim.max_calendar_part_size = 64;
    msg = wrap(s.b, s.n, "application/ms-tnef", "winmail.dat");
    itip_findings_init(&f, 100, NULL);
    k = walk(msg, 5, &lim, &f, &got, &n, &trunc);
    ok(k == 1 && n == 64 && trunc && itip_findings_has(&f, ITIP_R_MIME_LIMIT_EXCEEDED),
       "over max_calendar_part_size: cut at 64 bytes, truncated, mime-limit-exceeded");
    free(got);
    itip_findings_clear(&f);
    free(msg);
    free(s.b);
    itip_config_free(cfg);
}

/* ---- the engine: findings and the METHOD/UID of a TNEF-only message ---- */

static void test_engine(void)
{
    itip_config *cfg = itip_config_default();
    buf s = { 0 };
    char *msg;
    itip_engine *e;
    const char *uid;
    const itip_findings *f;
    size_t i;
    int c1 = 0, other = 0;

    response(&s, "IPM.Microsoft Schedule.MtgRespP", "IPM.Schedule.Meeting.Resp.Pos", 1);
    s.n -= 2;                                /* drop attMAPIProps' checksum and ... */
    s.b[s.n - 1] ^= 1;                       /* ... damage its last data byte */
    put16(&s, 0);
    msg = wrap(s.b, s.n, "application/ms-tnef", "winmail.dat");
    e = itip_engine_new(cfg);
    itip_engine_feed(e, msg, strlen(msg));
    ok(itip_engine_finish(e) == 0, "engine: a TNEF response with a bad checksum");
    f = itip_engine_findings(e);
    for (i = 0; i < f->n; i++) {
        if (f->v[i].rule == ITIP_R_TNEF_CORRUPT && f->v[i].part == -1 &&
            strcmp(f->v[i].component, "TNEF") == 0 && strncmp(f->v[i].detail, "TNEF", 4) == 0)
            c1++;
        else if (f->v[i].rule != ITIP_R_TNEF_TO_NON_TNEF_DOMAIN)
            other++;
    }
    ok(c1 == 1 && other == 0, "one tnef-corrupt finding (part -1, component TNEF), nothing else "
       "(the properties, critical change included, were read)");
    is_str(itip_engine_method(e), "REPLY", "METHOD of a TNEF-only response: REPLY");
    uid = itip_engine_uid(e);
    ok(uid != NULL && strlen(uid) == 120 && strncmp(uid, "040000008200E00074C5B7101A82E008", 32)
       == 0, "UID: the GlobalObjectId in upper-case hex (%s)", uid ? uid : "(null)");
    is_int(itip_engine_calendar_parts(e), 0, "no calendar part");
    itip_engine_free(e);
    free(msg);
    free(s.b);
    itip_config_free(cfg);
}

/* ---- the corpus ---- */

typedef struct { char path[256], rule[64]; int seen; } expect;

static size_t load_expected(const char *file, expect *v, size_t max)
{
    FILE *f = fopen(file, "r");
    char line[1024];
    size_t n = 0;

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) && n < max) {
        char *a = strtok(line, "\t"), *b = strtok(NULL, "\t"), *c = strtok(NULL, "\n");
        if (a == NULL || a[0] == '#' || b == NULL || c == NULL)
            continue;
        snprintf(v[n].path, sizeof v[n].path, "%s", a);
        snprintf(v[n].rule, sizeof v[n].rule, "%s", b);
        v[n++].seen = 0;
    }
    fclose(f);
    return n;
}

static void test_corpus(const char *srcdir)
{
    char dir[4096], path[4400], exp_file[4200];
    expect ex[64];
    size_t nex, i, files = 0, meetings = 0;
    itip_config *cfg = itip_config_default();
    struct dirent **ents;
    int ne, j;

    snprintf(dir, sizeof dir, "%s/../shared/corpus/tnef", srcdir);
    snprintf(exp_file, sizeof exp_file, "%s/t/tnef/corpus-expected.tsv", srcdir);
    nex = load_expected(exp_file, ex, 64);
    ne = scandir(dir, &ents, NULL, alphasort);
    if (ne < 0) {
        ok(1, "corpus %s # SKIP absent: the real TNEF streams were not checked", dir);
        itip_config_free(cfg);
        return;
    }
    for (j = 0; j < ne; j++) {
        const char *name = ents[j]->d_name;
        size_t l = strlen(name);
        FILE *f;
        unsigned char *d;
        long sz;
        itip_tnef t;
        itip_engine *e;
        char *msg;
        const itip_findings *fs;
        int meeting, clean = 1;

        if (l < 5 || (strcmp(name + l - 5, ".tnef") != 0 && strcmp(name + l - 4, ".dat") != 0)) {
            free(ents[j]);
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, name);
        f = fopen(path, "rb");
        fseek(f, 0, SEEK_END);
        sz = ftell(f);
        rewind(f);
        d = malloc((size_t)sz + 1);
        if (fread(d, 1, (size_t)sz, f) != (size_t)sz)
            sz = 0;
        fclose(f);
        itip_tnef_read(d, (size_t)sz, &t);
        meeting = itip_tnef_meeting_kind(t.msg_class) != ITIP_TNEF_NOT_MEETING;
        files++;
        meetings += meeting;
        msg = wrap(d, (size_t)sz, "application/ms-tnef", "winmail.dat");
        e = itip_engine_new(cfg);
        itip_engine_set_now(e, 1780000000);
        itip_engine_feed(e, msg, strlen(msg));
        ok(itip_engine_finish(e) == 0, "tnef/%s (%s, status %d): the engine finishes", name,
           t.msg_class, t.status);
        fs = itip_engine_findings(e);
        for (i = 0; i < fs->n; i++) {
            const char *id = itip_rules[fs->v[i].rule].id;
            size_t x;
            int listed = 0;
            if (!meeting) {
                clean = 0;
                diag("non-meeting tnef/%s: %s: %s", name, id, fs->v[i].detail);
                continue;
            }
            if (fs->v[i].severity != ITIP_SEV_WOULD_FAIL)
                continue;
            for (x = 0; x < nex; x++)
                if (strcmp(ex[x].path + 5, name) == 0 && strcmp(ex[x].rule, id) == 0)
                    listed = ex[x].seen = 1;
            if (!listed) {
                clean = 0;
                diag("tnef/%s: would-fail %s not in t/tnef/corpus-expected.tsv: %s", name, id,
                     fs->v[i].detail);
            }
        }
        ok(clean, meeting ? "tnef/%s: every would-fail finding is listed with its reason"
                          : "tnef/%s: not a meeting, no finding", name);
        itip_engine_free(e);
        free(msg);
        free(d);
        free(ents[j]);
    }
    free(ents);
    for (i = 0; i < nex; i++)
        ok(ex[i].seen, "listed %s %s still occurs", ex[i].path, ex[i].rule);
    ok(files >= 10 && meetings >= 5, "the corpus has TNEF streams (%zu, %zu meetings)", files,
       meetings);
    itip_config_free(cfg);
}

int main(void)
{
    const char *srcdir = getenv("top_srcdir");

    test_valid();
    test_prefixes();
    test_checksum();
    test_huge();
    test_nesting();
    test_kinds();
    test_goid();
    test_walker();
    test_engine();
    test_corpus(srcdir ? srcdir : "..");
    return done_testing();
}
