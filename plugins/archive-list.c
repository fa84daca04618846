/*
 * archive-list.c - the archive stage as a restore TRANSFORM (sluice -t):
 * reads an archive from the input stream and writes one line per member
 * to the output, which the host sends to stdout.
 *
 * With to-stdout=1 (sluice -xO) it writes the selected members' data
 * instead, one after another, as tar -xO does.
 *
 * Plain: the member name, as tar -t prints it.  Verbose: the long
 * listing of bsdtar -tv (mode, link count, owner, group, size, mtime,
 * name, "-> target" for symlinks, "link to X" for hardlinks).  Control
 * characters (C1 included) and backslashes in names, owners and groups
 * are escaped, so that every member takes exactly one line and none
 * drives the terminal.
 */
#include "archive-stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct ls_state {
    arch_ctx *c;
    int u_width, gs_width; /* column widths, grown as needed (bsdtar) */
    time_t now;
    char *line;
    size_t cap;
} ls_state;

/* Appends the escaped form of s to the line at *n. */
static int put_name(ls_state *l, size_t *n, const char *s)
{
    size_t need = *n + 4 * strlen(s) + 64;
    if (need > l->cap) {
        size_t cap = l->cap ? l->cap : 1024;
        while (cap < need)
            cap *= 2;
        char *p = realloc(l->line, cap);
        if (!p)
            return -1;
        l->line = p;
        l->cap = cap;
    }
    arch_escape(s, l->line + *n, l->cap - *n);
    *n += strlen(l->line + *n);
    return 0;
}

static int put_str(ls_state *l, size_t *n, const char *fmt, ...)
    SLUICE_PRINTF(3, 4);
static int put_str(ls_state *l, size_t *n, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        /* No line yet (the first call): vsnprintf(NULL, 0) measures; NULL
         * + 0 would be undefined. */
        int w = vsnprintf(l->line ? l->line + *n : NULL, l->cap - *n, fmt,
                          ap);
        va_end(ap);
        if (w < 0)
            return -1;
        if ((size_t)w < l->cap - *n) {
            *n += (size_t)w;
            return 0;
        }
        size_t cap = l->cap * 2 + (size_t)w + 256;
        char *p = realloc(l->line, cap);
        if (!p)
            return -1;
        l->line = p;
        l->cap = cap;
    }
}

static int long_fields(ls_state *l, size_t *n, struct archive_entry *e)
{
    char tmp[64];
    /* strmode gives 10 characters and a trailing space (or '+'). */
    if (put_str(l, n, "%s %d ", archive_entry_strmode(e),
                (int)archive_entry_nlink(e)) < 0)
        return -1;
    /* Owner and group names come from the archive: escaped like member
     * names, or they could drive the terminal. */
    char ubuf[4 * 64 + 1], gbuf[4 * 64 + 1];
    const char *u = archive_entry_uname(e);
    if (!u || !*u)
        snprintf(ubuf, sizeof ubuf, "%lld", (long long)archive_entry_uid(e));
    else
        arch_escape(u, ubuf, sizeof ubuf);
    u = ubuf;
    int w = (int)strlen(u);
    if (w > l->u_width)
        l->u_width = w;
    if (put_str(l, n, "%-*s ", l->u_width, u) < 0)
        return -1;
    const char *g = archive_entry_gname(e);
    if (!g || !*g)
        snprintf(gbuf, sizeof gbuf, "%lld", (long long)archive_entry_gid(e));
    else
        arch_escape(g, gbuf, sizeof gbuf);
    g = gbuf;
    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFCHR || type == AE_IFBLK)
        snprintf(tmp, sizeof tmp, "%lu,%lu",
                 (unsigned long)archive_entry_rdevmajor(e),
                 (unsigned long)archive_entry_rdevminor(e));
    else
        snprintf(tmp, sizeof tmp, "%lld", (long long)archive_entry_size(e));
    int gw = (int)strlen(g), sw = (int)strlen(tmp);
    if (gw + sw >= l->gs_width)
        l->gs_width = gw + sw + 1;
    if (put_str(l, n, "%s%*s", g, l->gs_width - gw, tmp) < 0)
        return -1;
    /* Dates as ls -l: the year instead of the time when far off. */
    time_t t = archive_entry_mtime(e);
    const time_t half_year = (time_t)365 * 86400 / 2;
    const char *fmt = (t < l->now - half_year || t > l->now + half_year)
                          ? "%b %e  %Y"
                          : "%b %e %H:%M";
    struct tm tm;
    char date[64] = "?";
    if (localtime_r(&t, &tm))
        strftime(date, sizeof date, fmt, &tm);
    return put_str(l, n, " %s ", date);
}

/* -x -O (tar --to-stdout): a regular member's data, holes as zeros, to
 * the output; other members have none.  With -v the name is listed too
 * (the host sends listings to stderr when stdout carries data). */
static int data_to_output(arch_ctx *c, struct archive *a,
                          struct archive_entry *e, const char *name,
                          sluice_error *err)
{
    static const uint8_t zeros[4096];
    if (c->verbose) {
        char esc[1024];
        arch_escape(name, esc, sizeof esc);
        c->api->listing(c->host, esc);
    }
    if (archive_entry_filetype(e) != AE_IFREG)
        return 0;
    la_int64_t pos = 0, size = archive_entry_size(e);
    for (int last = 0; !last;) {
        const void *buf = NULL;
        size_t len = 0;
        la_int64_t off = pos;
        int r = archive_read_data_block(a, &buf, &len, &off);
        if (r == ARCHIVE_EOF) {
            off = size > pos ? size : pos; /* a hole at the end */
            len = 0;
            last = 1;
        } else if (r < ARCHIVE_WARN) {
            return arch_fail(c, a, SLUICE_E_FORMAT,
                             "corrupt or truncated archive", "", err);
        }
        while (pos < off) { /* a hole: zeros, as a reader sees it */
            size_t n = off - pos < (la_int64_t)sizeof zeros
                           ? (size_t)(off - pos) : sizeof zeros;
            int wr = c->api->write(c->out, zeros, n);
            if (wr < 0)
                return wr;
            pos += (la_int64_t)n;
        }
        if (len) {
            int wr = c->api->write(c->out, buf, len);
            if (wr < 0)
                return wr;
            pos += (la_int64_t)len;
        }
    }
    return 0;
}

/* Writes the member's line: its name, and with -v its mode, owner, size,
 * time and link target.  Returns 0 or an error. */
static int list_member(ls_state *l, struct archive_entry *e, const char *name,
                       sluice_output *out, sluice_error *err)
{
    arch_ctx *c = l->c;
    size_t n = 0;
    int bad = put_str(l, &n, "%s", "") < 0 ||
              (c->verbose && long_fields(l, &n, e) < 0) ||
              put_name(l, &n, name) < 0;
    if (!bad && c->verbose) {
        const char *hl = archive_entry_hardlink(e);
        const char *sl = archive_entry_symlink(e);
        if (hl)
            bad = put_str(l, &n, " link to ") < 0 || put_name(l, &n, hl) < 0;
        else if (sl)
            bad = put_str(l, &n, " -> ") < 0 || put_name(l, &n, sl) < 0;
    }
    if (!bad)
        bad = put_str(l, &n, "\n") < 0;
    if (bad)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    return c->api->write(out, l->line, n);
}

int arch_list(arch_ctx *c, sluice_input *in, sluice_output *out,
              sluice_error *err)
{
    ls_state l = {0};
    l.c = c;
    l.u_width = 6;
    l.gs_width = 13;
    l.now = time(NULL);
    c->out = out;
    struct archive *a = arch_reader_open(c, in, err);
    if (!a)
        return err->code ? err->code : SLUICE_E_CANCELED; /* arch_fail */
    int rc = 0;
    for (;;) {
        if (c->api->cancelled(c->host)) {
            rc = SLUICE_E_CANCELED;
            break;
        }
        struct archive_entry *e;
        int r = arch_next_header(c, a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            rc = arch_fail(c, a, SLUICE_E_FORMAT,
                           "corrupt or truncated archive", "", err);
            break;
        }
        const char *name = archive_entry_pathname(e);
        if (!name)
            name = archive_entry_pathname_utf8(e);
        if (!name)
            name = "?";
        if (r == ARCHIVE_WARN) {
            char esc[1024];
            arch_escape(name, esc, sizeof esc);
            c->api->log(c->host, SLUICE_LOG_WARNING, "%s: %s", esc,
                        archive_error_string(a));
        }
        if (c->to_stdout) {
            if (arch_selected(c, name) &&
                (rc = data_to_output(c, a, e, name, err)) < 0)
                break;
        } else if (arch_selected(c, name)) {
            int wr = list_member(&l, e, name, out, err);
            if (wr < 0) {
                rc = wr;
                break;
            }
        }
        /* The data is not needed: read past it. */
        if (archive_read_data_skip(a) < ARCHIVE_WARN) {
            rc = arch_fail(c, a, SLUICE_E_FORMAT,
                           "corrupt or truncated archive", "", err);
            break;
        }
    }
    if (rc == 0 && c->n_args)
        rc = arch_report_unmatched(c, err);
    archive_read_free(a);
    free(l.line);
    return rc;
}
