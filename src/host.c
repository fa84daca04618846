/* host.c - the sluice_api table: stream I/O and services for stages. */
#include "host.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "redact.h"
#include "stream.h"
#include "util.h"

#include <stdlib.h>

void session_init(session *s)
{
    memset(s, 0, sizeof *s);
    passphrase_init(&s->passphrase);
    /* Before any thread starts: unsetenv is not thread-safe. */
    (void)passphrase_take_env(&s->passphrase);
    atomic_init(&s->incomplete, 0);
    atomic_init(&s->cancelled, 0);
    atomic_init(&s->signal_number, 0);
    pthread_mutex_init(&s->abort_lock, NULL);
}

void session_abort(session *s, int status)
{
    atomic_store(&s->cancelled, 1);
    pthread_mutex_lock(&s->abort_lock);
    if (s->on_abort)
        s->on_abort(s->abort_arg, status);
    pthread_mutex_unlock(&s->abort_lock);
}

void session_cleanup(session *s)
{
    passphrase_wipe(&s->passphrase);
}

void host_init(sluice_host *h, session *s, const char *stage_name)
{
    memset(h, 0, sizeof *h);
    h->sess = s;
    h->stage_name = stage_name;
}

/* Makes s[0..len) printable on one line: control characters (C0, DEL,
 * and C1 encoded in UTF-8, which some terminals obey as well) become
 * spaces, so no message can break the one-line rule or drive the
 * terminal with escape sequences. */
static void one_line(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            s[i] = ' ';
        } else if (c == 0xc2 && i + 1 < len &&
                   (unsigned char)s[i + 1] >= 0x80 &&
                   (unsigned char)s[i + 1] <= 0x9f) {
            s[i] = ' ';
            s[i + 1] = ' ';
            i++;
        }
    }
}

void host_print_line(const char *text)
{
    /* One write per line so lines from several threads never interleave.
     * Every message passes here: redacted here, whoever built it (a URL
     * with a password, a presigned query string). */
    char line[4096];
    memcpy(line, "sluice: ", 8);
    size_t n = 8 + redact_line(text, line + 8, sizeof line - 9);
    one_line(line, n);
    line[n] = '\n';
    line[n + 1] = '\0';
    fputs(line, stderr);
}

void host_report(const char *subject, const char *message)
{
    char text[SLUICE_ERROR_MAX + 128];
    snprintf(text, sizeof text, "%s: %s", subject, message);
    host_print_line(text);
}

static void api_log(sluice_host *h, int level, const char *fmt, ...)
{
    int threshold = h->sess->verbosity < 0 ? 0 : 1 + h->sess->verbosity;
    if (level > threshold)
        return;
    char msg[SLUICE_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* host_report keeps it on one line, without control characters. */
    host_report(h->stage_name, msg);
}

static void api_mark_incomplete(sluice_host *h)
{
    atomic_store(&h->sess->incomplete, 1);
}

static int api_cancelled(sluice_host *h)
{
    return atomic_load(&h->sess->cancelled);
}

static int api_passphrase(sluice_host *h, unsigned flags, char *buf,
                          size_t cap, size_t *len, sluice_error *err)
{
    return passphrase_get(&h->sess->passphrase, flags, buf, cap, len, err);
}

static int api_record(sluice_host *h, const char *key, const char *value)
{
    sluice_error err = {0};
    if (!h->record_into || !key || !value) {
        h->record_error = 1;
        return SLUICE_E_INTERNAL;
    }
    int rc = header_stage_add_param(h->record_into, key, strlen(key), value,
                                    strlen(value), &err);
    if (rc < 0)
        h->record_error = 1;
    return rc;
}

static void api_progress_total(sluice_host *h, uint64_t total)
{
    atomic_store(&h->total, total);
}

void host_print_listing(FILE *f, const char *line)
{
    strbuf sb = {0};
    /* C0, DEL and C1 (UTF-8 \302\200-\302\237) as octal escapes: a
     * listing shows names from the archive or the storage. */
    for (const unsigned char *p = (const unsigned char *)line; *p; p++) {
        int c1 = (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) ||
                 (p > (const unsigned char *)line && p[-1] == 0xc2 &&
                  p[0] >= 0x80 && p[0] <= 0x9f);
        if (*p < 0x20 || *p == 0x7f || c1)
            sb_addf(&sb, "\\%03o", *p);
        else
            sb_add(&sb, (const char *)p, 1);
    }
    sb_add(&sb, "\n", 1);
    if (!sb.failed) {
        flockfile(f);
        fwrite(sb.data, 1, sb.len, f);
        funlockfile(f);
    }
    free(sb.data);
}

static void api_listing(sluice_host *h, const char *line)
{
    host_print_listing(h->sess->stdout_is_data ? stderr : stdout, line);
}

static const sluice_api api_table = {
    .struct_size = sizeof(sluice_api),
    .abi_major = SLUICE_ABI_MAJOR,
    .abi_minor = SLUICE_ABI_MINOR,
    .read_next = input_read_next,
    .read = input_read,
    .reserve = output_reserve,
    .commit = output_commit,
    .write = output_write,
    .log = api_log,
    .mark_incomplete = api_mark_incomplete,
    .cancelled = api_cancelled,
    .passphrase = api_passphrase,
    .record = api_record,
    .progress_total = api_progress_total,
    .listing = api_listing,
};

const sluice_api *host_api(void)
{
    return &api_table;
}
