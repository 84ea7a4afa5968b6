/*
 * quar_sendmail.c - Sendmail's quarantine for itip-quarantine (see quar_mta.h).
 *
 * A quarantined message is a pair of queue files: hf<ID> (the qf control file renamed while
 * quarantined: T arrival, S sender, R recipients, q reason, H headers) and df<ID> (the body).
 * They are read directly, from --sendmail-queue DIR, else the QueueDirectory of the
 * configuration file (--sendmail-config, default /etc/mail/sendmail.cf), else
 * /var/spool/mqueue; with qf/ and df/ subdirectories when those exist.  list reads every hf
 * file once; a command on queue ids reads only hf<ID> (and df<ID> for show and recheck), once
 * per id.  Release runs `sendmail -qQ -qI<ID> -Q` (drop the quarantine) then `sendmail
 * -qI<ID>` (a queue run for it); delete takes Sendmail's lock on the hf file and removes df,
 * xf and hf.
 * Never writes a queue file; runs only the sendmail program given, by argument vector.
 */
#include "ac-config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "quar_mta.h"
#include "quar_run.h"

#define DEFAULT_CF "/etc/mail/sendmail.cf"
#define DEFAULT_QUEUE "/var/spool/mqueue"
#define MAX_ARGS 8

typedef struct {
    char dir[4096];             /* the queue directory */
    char qf[4096], df[4096], xf[4096];  /* where each kind of file lives */
} sm_dirs;

static int is_dir(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Reads PATH whole into B (capped); 0, or -1 with errno set. */
static int slurp(const char *path, strbuf *b)
{
    char buf[65536];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), e = 0;

    if (fd < 0)
        return -1;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (itip_strbuf_append(b, buf, (size_t)n) < 0) {
            e = EFBIG;
            break;
        }
    if (n < 0)
        e = errno;
    close(fd);
    errno = e;
    return e ? -1 : 0;
}

/* "O QueueDirectory=DIR" from the configuration file; 1 when not set there (or when the
 * default file, not one named by --sendmail-config, does not exist). */
static int cf_queue_dir(const char *cf, int named, char *out, size_t len, char *err,
                        size_t errlen)
{
    FILE *fp = fopen(cf, "r");
    char line[4096];
    int rc = 1;

    if (fp == NULL) {
        if (errno == ENOENT && !named)
            return 1;
        snprintf(err, errlen, "%s: %s", cf, strerror(errno));
        return -1;
    }
    while (rc == 1 && fgets(line, sizeof line, fp)) {
        char *v;
        if (strncmp(line, "O QueueDirectory", 16) != 0 || (v = strchr(line, '=')) == NULL)
            continue;
        v += strspn(v + 1, " \t") + 1;
        v[strcspn(v, " \t\r\n")] = '\0';
        snprintf(out, len, "%s", v);
        rc = 0;
    }
    fclose(fp);
    return rc;
}

/* OUT = DIR/NAME when that is a directory, else DIR (both fit: DIR is shorter). */
static void subdir(char out[4096], const char *dir, const char *name)
{
    if (snprintf(out, 4096, "%s/%s", dir, name) >= 4096 || !is_dir(out))
        snprintf(out, 4096, "%s", dir);
}

static int find_dirs(const quar_mta_opts *o, sm_dirs *d, char *err, size_t errlen)
{
    int rc = 1;

    if (o->sendmail_queue && strlen(o->sendmail_queue) >= sizeof d->dir - 4) {
        snprintf(err, errlen, "queue directory name too long");
        return -1;
    }
    if (o->sendmail_queue)
        snprintf(d->dir, sizeof d->dir, "%s", o->sendmail_queue);
    else if ((rc = cf_queue_dir(o->sendmail_config ? o->sendmail_config : DEFAULT_CF,
                                o->sendmail_config != NULL, d->dir, sizeof d->dir, err,
                                errlen)) < 0)
        return -1;
    if (!o->sendmail_queue && rc == 1)
        snprintf(d->dir, sizeof d->dir, "%s", DEFAULT_QUEUE);
    if (strpbrk(d->dir, "*?[")) {
        snprintf(err, errlen, "queue directory %s is a pattern (queue groups): name one "
                 "directory with --sendmail-queue", d->dir);
        return -1;
    }
    if (!is_dir(d->dir)) {
        snprintf(err, errlen, "%s: not a directory", d->dir);
        return -1;
    }
    subdir(d->qf, d->dir, "qf");
    subdir(d->df, d->dir, "df");
    subdir(d->xf, d->dir, "xf");
    return 0;
}

/* An address as queued: "<a@b>" or "a@b"; stored without the angle brackets. */
static char *bare_address(const char *s)
{
    size_t n = strlen(s);

    if (n >= 2 && s[0] == '<' && s[n - 1] == '>')
        return strndup(s + 1, n - 2);
    return strdup(s);
}

/* One control line (continuations already joined with LF); 0 or -1 (out of memory). */
static int take_qf_line(quar_item *it, char *line, strbuf *hdr)
{
    char *p;

    switch (line[0]) {
    case 'T':
        it->arrival = (time_t)strtoll(line + 1, NULL, 10);
        return 0;
    case 'S':
        free(it->sender);
        return (it->sender = bare_address(line + 1)) ? 0 : -1;
    case 'R':                   /* R<flags>:<address> */
        p = strchr(line + 1, ':');
        p = bare_address(p ? p + 1 : line + 1);
        if (p == NULL)
            return -1;
        if (quar_item_add_rcpt(it, p) < 0) {
            free(p);
            return -1;
        }
        free(p);
        return 0;
    case 'q':
        free(it->reason);
        return (it->reason = strdup(line + 1)) ? 0 : -1;
    case 'H':                   /* H?flags?Name: value; conditional ones are Sendmail's own */
        p = line + 1;
        if (*p == '?') {
            char *q = strchr(p + 1, '?');
            if (q == NULL || q != p + 1)
                return 0;
            p = q + 1;
        }
        return itip_strbuf_printf(hdr, "%s\n", p) < 0 ? -1 : 0;
    default:
        return 0;
    }
}

/* Parses the control file text QF into IT (envelope, reason, header block). */
static int parse_qf(quar_item *it, char *qf)
{
    strbuf hdr;
    char *line = qf, *end;
    int rc = 0;

    itip_strbuf_init(&hdr, 0);
    while (rc == 0 && *line && !(line[0] == '.' && (line[1] == '\n' || line[1] == '\0'))) {
        for (end = strchr(line, '\n'); end && (end[1] == '\t' || end[1] == ' ');
             end = strchr(end + 1, '\n'))
            ;
        if (end)
            *end = '\0';
        rc = take_qf_line(it, line, &hdr);
        if (end == NULL)
            break;
        line = end + 1;
    }
    if (rc == 0 && hdr.s == NULL)
        rc = itip_strbuf_append(&hdr, "", 0);
    if (rc == 0 && (it->headers = itip_strbuf_detach(&hdr, NULL)) == NULL)
        rc = -1;
    itip_strbuf_free(&hdr);
    return rc;
}

/* Reads hf<ID> into IT (zeroed): 0; 1 when there is no such file (not quarantined, or it
 * left the quarantine meanwhile); -1 with ERR. */
static int read_hf(const sm_dirs *d, const char *id, quar_item *it, char *err, size_t errlen)
{
    char path[8192];
    strbuf b;
    int rc = -1;

    snprintf(path, sizeof path, "%s/hf%s", d->qf, id);
    itip_strbuf_init(&b, QUAR_MAX_OUTPUT);
    if (slurp(path, &b) < 0) {
        itip_strbuf_free(&b);
        if (errno == ENOENT)
            return 1;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if ((it->id = strdup(id)) && (it->path = strdup(path)) && (it->sender = strdup("")) &&
        parse_qf(it, b.s ? b.s : (char *)"") == 0)
        rc = 0;
    else
        snprintf(err, errlen, "out of memory");
    itip_strbuf_free(&b);
    return rc;
}

/* Every hf file of the queue directory, each read once. */
static int sm_list(const quar_mta_opts *o, quar_list *out, char *err, size_t errlen)
{
    sm_dirs d;
    DIR *dir;
    struct dirent *de;
    quar_item *it;
    int rc = 0;

    if (find_dirs(o, &d, err, errlen) < 0)
        return -1;
    dir = opendir(d.qf);
    if (dir == NULL) {
        snprintf(err, errlen, "%s: %s", d.qf, strerror(errno));
        return -1;
    }
    while (rc == 0 && (de = readdir(dir)) != NULL) {
        if (strncmp(de->d_name, "hf", 2) != 0 || !quar_id_valid(de->d_name + 2))
            continue;
        if ((it = quar_list_add(out)) == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        } else if ((rc = read_hf(&d, de->d_name + 2, it, err, errlen)) == 1) {
            quar_item_clear(it);        /* gone meanwhile */
            out->n--;
            rc = 0;
        }
    }
    closedir(dir);
    return rc;
}

/* hf<ID> alone, and with MSG its header block, an empty line and df<ID>. */
static int sm_get(const quar_mta_opts *o, const char *id, quar_item *it, strbuf *msg,
                  char *err, size_t errlen)
{
    sm_dirs d;
    char path[8192];
    int rc;

    if (msg)
        itip_strbuf_init(msg, QUAR_MAX_OUTPUT);
    if (find_dirs(o, &d, err, errlen) < 0)
        return -1;
    rc = read_hf(&d, id, it, err, errlen);
    if (rc != 0 || msg == NULL)
        return rc;
    snprintf(path, sizeof path, "%s/df%s", d.df, id);
    errno = 0;
    if (itip_strbuf_printf(msg, "%s\n", it->headers ? it->headers : "") < 0 ||
        slurp(path, msg) < 0) {
        snprintf(err, errlen, "%s: %s", path, errno ? strerror(errno) : "out of memory");
        return -1;
    }
    return 0;
}

/* sendmail [-C FILE] [-OQueueDirectory=DIR] ARGS...; 0 when it exited 0. */
static int run_sendmail(const quar_mta_opts *o, const char *const *args, char *err,
                        size_t errlen)
{
    char *argv[MAX_ARGS], qd[4200];
    size_t k = 0;
    quar_result r;
    int rc = 0;

    argv[k++] = (char *)(o->sendmail_program ? o->sendmail_program : "/usr/sbin/sendmail");
    if (o->sendmail_config) {
        argv[k++] = (char *)"-C";
        argv[k++] = (char *)o->sendmail_config;
    }
    if (o->sendmail_queue) {
        snprintf(qd, sizeof qd, "-OQueueDirectory=%s", o->sendmail_queue);
        argv[k++] = qd;
    }
    while (*args && k < MAX_ARGS - 1)
        argv[k++] = (char *)*args++;
    argv[k] = NULL;
    if (quar_run(argv, o->timeout, QUAR_MAX_OUTPUT, &r) < 0 || r.status != 0) {
        snprintf(err, errlen, "%s: %s", argv[0], quar_result_text(&r));
        rc = -1;
    }
    quar_result_free(&r);
    return rc;
}

static int sm_release(const quar_mta_opts *o, const quar_item *it, char *err, size_t errlen)
{
    char sel[128];
    const char *unq[] = { "-qQ", sel, "-Q", NULL }, *run[] = { sel, NULL };

    snprintf(sel, sizeof sel, "-qI%s", it->id);
    if (run_sendmail(o, unq, err, errlen) < 0)
        return -1;
    if (access(it->path, F_OK) == 0) {
        snprintf(err, errlen, "sendmail -qQ -Q left %s quarantined", it->id);
        return -1;
    }
    return run_sendmail(o, run, err, errlen);
}

/* Takes Sendmail's lock (flock, and a POSIX lock for builds that use fcntl) on FD. */
static int lock_qf(int fd)
{
    struct flock fl;

    if (flock(fd, LOCK_EX | LOCK_NB) < 0)
        return -1;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    return fcntl(fd, F_SETLK, &fl);
}

static int sm_discard(const quar_mta_opts *o, const quar_item *it, char *err, size_t errlen)
{
    sm_dirs d;
    char path[8192];
    int fd, rc = 0;

    if (find_dirs(o, &d, err, errlen) < 0)
        return -1;
    fd = open(it->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || lock_qf(fd) < 0) {
        snprintf(err, errlen, "%s: %s", it->path,
                 errno == EWOULDBLOCK || errno == EAGAIN || errno == EACCES
                     ? "locked by Sendmail, try again" : strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    snprintf(path, sizeof path, "%s/df%s", d.df, it->id);
    if (unlink(path) < 0 && errno != ENOENT)
        rc = -1;
    if (rc == 0)
        snprintf(path, sizeof path, "%s/xf%s", d.xf, it->id);
    if (rc == 0 && unlink(path) < 0 && errno != ENOENT)
        rc = -1;
    if (rc == 0)
        snprintf(path, sizeof path, "%s", it->path);
    if (rc == 0 && unlink(path) < 0)
        rc = -1;
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

const quar_mta quar_sendmail = { "sendmail", "quarantine", sm_list, sm_get, sm_release,
                                 sm_discard };
