/* host.c - the sluice_api table: stream I/O and services for stages. */
#include "host.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "progress.h"
#include "redact.h"
#include "stream.h"
#include "util.h"

#include <stdlib.h>

/* The session's block buffers: 16 slabs (32 MiB, touched as used: a
 * few runs side by side).  None under AddressSanitizer, whose checks of
 * each block's bounds need malloc's blocks. */
static blockpool *session_blockpool(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return NULL;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return NULL;
#endif
#endif
    return blockpool_new(ENGINE_BLOCK_SIZE, 16);
}

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
    s->secrets = secretcache_new(); /* NULL: every derivation is done */
    s->blocks = session_blockpool();
}

/* A whole decimal number with an optional binary suffix; 0 on success. */
static int parse_amount(const char *v, int suffixes, uint64_t *out)
{
    uint64_t x = 0;
    const char *p = v;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    if (p == v)
        return -1;
    static const char units[] = "KMGT";
    const char *u = *p && suffixes ? strchr(units, *p & ~0x20) : NULL;
    if (u && *u) {
        for (const char *q = units; q <= u; q++) {
            if (x > UINT64_MAX / 1024)
                return -1;
            x *= 1024;
        }
        p++;
        if (*p == 'i' && p[1] == 'B')
            p += 2;
        else if (*p == 'B')
            p++;
    }
    if (*p || x == 0)
        return -1;
    *out = x;
    return 0;
}

int session_set_budget(session *s, const char *memory, const char *kdf_iter,
                       sluice_error *err)
{
    if (memory && parse_amount(memory, 1, &s->budget_memory) < 0)
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "--max-memory: '%.40s' is not a size (a "
                                "positive number of bytes, or with K, M, G "
                                "or T)",
                                memory);
    if (kdf_iter && parse_amount(kdf_iter, 0, &s->budget_kdf_iter) < 0)
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "--max-kdf-iter: '%.40s' is not a positive "
                                "whole number",
                                kdf_iter);
    return 0;
}

void run_budget_init(run_budget *b)
{
    atomic_init(&b->memory, 0);
    atomic_init(&b->kdf_iter, 0);
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
    secretcache_free(s->secrets);
    s->secrets = NULL;
    blockpool_free(s->blocks); /* every run is over */
    s->blocks = NULL;
    passphrase_secrets_gone();
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
    progress_message(line); /* clears a progress line first */
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

static int api_secret_get(sluice_host *h, const void *id, size_t id_len,
                          void *secret, size_t len)
{
    return secretcache_get(h->sess->secrets, h->stage_name, id, id_len,
                           secret, len);
}

static int api_secret_put(sluice_host *h, const void *id, size_t id_len,
                          const void *secret, size_t len)
{
    return secretcache_put(h->sess->secrets, h->stage_name, id, id_len,
                           secret, len) < 0
               ? SLUICE_E_NOMEM
               : 0;
}

static int over_budget(sluice_host *h, int resource, uint64_t limit,
                       sluice_error *err)
{
    int fwd = h->direction == SLUICE_FORWARD;
    int code = fwd ? SLUICE_E_USAGE : SLUICE_E_FORMAT;
    const char *who = fwd ? "the chain needs" : "the stream's header asks for";
    /* Whole MiB as the option is usually given; anything else exactly
     * (a 512K budget is not "0 MiB"). */
    char amount[32];
    if (limit >= (1u << 20) && limit % (1u << 20) == 0)
        snprintf(amount, sizeof amount, "%llu MiB",
                 (unsigned long long)(limit >> 20));
    else
        snprintf(amount, sizeof amount, "%llu bytes",
                 (unsigned long long)limit);
    if (resource == SLUICE_RESOURCE_MEMORY)
        return sluice_error_set(err, code,
                                "%s more than the memory budget (%s "
                                "for all stages): raise it with "
                                "--max-memory",
                                who, amount);
    return sluice_error_set(err, code,
                            "%s more key-derivation work than the budget "
                            "(%llu iterations for all stages): raise it "
                            "with --max-kdf-iter",
                            who, (unsigned long long)limit);
}

/* Lock-free: stages charge from their own threads (a decoder allocating
 * its window), and a refused charge leaves the account as it was. */
static int api_charge(sluice_host *h, int resource, int64_t amount,
                      sluice_error *err)
{
    session *s = h->sess;
    _Atomic int64_t *spent;
    uint64_t limit;
    if (!h->budget)
        return sluice_error_set(err, SLUICE_E_INTERNAL,
                                "charge() outside an engine run");
    if (resource == SLUICE_RESOURCE_MEMORY) {
        spent = &h->budget->memory;
        limit = s->budget_memory ? s->budget_memory : BUDGET_MEMORY_DEFAULT;
    } else if (resource == SLUICE_RESOURCE_KDF_ITER) {
        spent = &h->budget->kdf_iter;
        limit = s->budget_kdf_iter ? s->budget_kdf_iter
                                   : BUDGET_KDF_ITER_DEFAULT;
    } else {
        return sluice_error_set(err, SLUICE_E_INTERNAL,
                                "charged unknown resource %d", resource);
    }
    if (limit > INT64_MAX)
        limit = INT64_MAX;
    int64_t cur = atomic_load(spent), next;
    do {
        if (amount > 0 && (uint64_t)amount > limit - (uint64_t)cur)
            return over_budget(h, resource, limit, err);
        next = cur + amount;
        if (next < 0)
            next = 0;
    } while (!atomic_compare_exchange_weak(spent, &cur, next));
    return 0;
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
    .secret_get = api_secret_get,
    .secret_put = api_secret_put,
    .charge = api_charge,
};

const sluice_api *host_api(void)
{
    return &api_table;
}
