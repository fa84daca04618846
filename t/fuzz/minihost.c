/* minihost.c - see minihost.h. */
#include "minihost.h"

#include <stdatomic.h>

#include <stdarg.h>
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#endif
#endif
#ifndef POISON
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mh_bug(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("\n*** sluice fuzz harness: contract violation: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n", stderr);
    va_end(ap);
    abort();
}

uint64_t mh_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* ---- input ---------------------------------------------------------------- */

void mh_input_init(sluice_input *in, const uint8_t *data, size_t len,
                   uint64_t seed, size_t max_piece)
{
    memset(in, 0, sizeof *in);
    in->data = data;
    in->len = len;
    in->rng = seed * 0x9e3779b97f4a7c15ull + 1;
    in->max_piece = max_piece ? max_piece : SLUICE_RESERVE_MAX;
}

void mh_input_free(sluice_input *in)
{
    free(in->piece);
    in->piece = NULL;
}

/* The size of the next piece: mostly small or odd, sometimes whole. */
static size_t next_piece(sluice_input *in)
{
    size_t left = in->len - in->pos;
    uint64_t r = mh_rand(&in->rng);
    size_t n;
    switch (r & 7) {
    case 0: n = 1; break;
    case 1: n = 1 + (size_t)((r >> 8) % 16); break;
    case 2: n = 1 + (size_t)((r >> 8) % 300); break;
    case 3: n = 1 + (size_t)((r >> 8) % 70000); break;
    default: n = in->max_piece; break;
    }
    if (n > in->max_piece)
        n = in->max_piece;
    return n < left ? n : left;
}

static ptrdiff_t mh_read_next(sluice_input *in, const uint8_t **data)
{
    free(in->piece);
    in->piece = NULL;
    if (in->status < 0)
        return in->status;
    if (in->pos == in->len)
        return 0;
    size_t n = next_piece(in);
    in->piece = malloc(n);
    if (!in->piece)
        mh_bug("out of memory in the harness");
    memcpy(in->piece, in->data + in->pos, n);
    in->pos += n;
    *data = in->piece;
    return (ptrdiff_t)n;
}

static ptrdiff_t mh_read(sluice_input *in, void *buf, size_t len)
{
    free(in->piece);
    in->piece = NULL;
    if (in->status < 0)
        return in->status;
    size_t left = in->len - in->pos;
    size_t n = len < left ? len : left;
    memcpy(buf, in->data + in->pos, n);
    in->pos += n;
    return (ptrdiff_t)n;
}

/* ---- output --------------------------------------------------------------- */

static uint8_t arenas[2][SLUICE_RESERVE_MAX];
static int arena_used[2];

void mh_output_init(sluice_output *out, uint64_t seed, uint64_t limit,
                    uint8_t *keep, size_t keep_max)
{
    memset(out, 0, sizeof *out);
    out->rng = seed * 0xd1b54a32d192ed03ull + 7;
    out->limit = limit;
    out->keep = keep;
    out->keep_max = keep ? keep_max : 0;
    for (int i = 0; i < 2 && !out->arena; i++)
        if (!arena_used[i]) {
            arena_used[i] = 1;
            out->arena = arenas[i];
        }
    if (!out->arena)
        mh_bug("more than two outputs open in the harness");
    POISON(out->arena, SLUICE_RESERVE_MAX);
}

void mh_output_free(sluice_output *out)
{
    if (out->arena) {
        UNPOISON(out->arena, SLUICE_RESERVE_MAX);
        arena_used[out->arena == arenas[1]] = 0;
    }
    out->arena = NULL;
    out->res = NULL;
}

static uint8_t *mh_reserve(sluice_output *out, size_t min, size_t *avail)
{
    if (min > SLUICE_RESERVE_MAX)
        mh_bug("reserve(%zu): more than SLUICE_RESERVE_MAX (%u)", min,
               SLUICE_RESERVE_MAX);
    if (out->status < 0)
        return NULL;
    if (min == 0)
        min = 1;
    if (out->res && out->res_avail >= min) {
        *avail = out->res_avail;
        return out->res;
    }
    uint64_t r = mh_rand(&out->rng);
    size_t n;
    switch (r & 3) {
    case 0: n = min; break;
    case 1: n = SLUICE_RESERVE_MAX; break;
    default: n = min + (size_t)((r >> 8) % (SLUICE_RESERVE_MAX - min + 1));
    }
    POISON(out->arena, SLUICE_RESERVE_MAX);
    out->res = out->arena + SLUICE_RESERVE_MAX - n;
    UNPOISON(out->res, n);
    /* Garbage, so a stage that relies on fresh space being zero shows. */
    memset(out->res, 0xa5, n);
    out->res_avail = n;
    *avail = n;
    return out->res;
}

static void keep_bytes(sluice_output *out, const uint8_t *p, size_t len)
{
    if (len == 0)
        return;
    if (out->keep_len + len > out->keep_max) {
        out->keep_over = 1;
        return;
    }
    memcpy(out->keep + out->keep_len, p, len);
    out->keep_len += len;
}

static int mh_commit(sluice_output *out, size_t len)
{
    if (out->status < 0)
        return out->status;
    if (!out->res)
        mh_bug("commit(%zu) without a reservation", len);
    if (len > out->res_avail)
        mh_bug("commit(%zu) of more than was reserved (%zu)", len,
               out->res_avail);
    keep_bytes(out, out->res, len);
    POISON(out->arena, SLUICE_RESERVE_MAX);
    out->res = NULL;
    out->res_avail = 0;
    out->total += len;
    if (out->total > out->limit) {
        out->status = SLUICE_E_CANCELED;
        return out->status;
    }
    return 0;
}

static int mh_write(sluice_output *out, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        size_t avail;
        uint8_t *dst = mh_reserve(out, 1, &avail);
        if (!dst)
            return out->status;
        size_t n = len < avail ? len : avail;
        memcpy(dst, p, n);
        int rc = mh_commit(out, n);
        if (rc < 0)
            return rc;
        p += n;
        len -= n;
    }
    return 0;
}

/* ---- services ------------------------------------------------------------- */

static void mh_log(sluice_host *h, int level, const char *fmt, ...)
{
    char msg[SLUICE_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    (void)h;
    (void)level;
}

static void mh_mark_incomplete(sluice_host *h)
{
    h->incomplete++;
}

static int mh_cancelled(sluice_host *h)
{
    return h->cancelled;
}

static int mh_passphrase(sluice_host *h, unsigned flags, char *buf,
                         size_t cap, size_t *len, sluice_error *err)
{
    const char *p = h->passphrase ? h->passphrase : "fuzz";
    size_t n = strlen(p);
    (void)flags;
    if (n + 1 > cap)
        return sluice_error_set(err, SLUICE_E_USAGE, "passphrase too long");
    memcpy(buf, p, n + 1);
    *len = n;
    return 0;
}

static int mh_record(sluice_host *h, const char *key, const char *value)
{
    (void)h;
    if (!key || !value)
        mh_bug("record() with a NULL key or value");
    return 0;
}

static void mh_progress_total(sluice_host *h, uint64_t total)
{
    (void)h;
    (void)total;
}

static void mh_listing(sluice_host *h, const char *line)
{
    if (!line)
        mh_bug("listing(NULL)");
    (void)strlen(line);
    h->listings++;
}

/* ABI 1.2: no cache (every derivation is done), and a memory budget as
 * the real host's default, so the fuzzer meets the over-budget paths. */
static int mh_secret_get(sluice_host *h, const void *id, size_t id_len,
                         void *secret, size_t len)
{
    (void)h;
    (void)id;
    (void)id_len;
    (void)secret;
    (void)len;
    return 0;
}

static int mh_secret_put(sluice_host *h, const void *id, size_t id_len,
                         const void *secret, size_t len)
{
    (void)h;
    if (!id || !secret || id_len > SLUICE_SECRET_MAX || len > SLUICE_SECRET_MAX)
        mh_bug("secret_put() with a bad argument");
    return 0;
}

static int mh_charge(sluice_host *h, int resource, int64_t amount,
                     sluice_error *err)
{
    if (resource != SLUICE_RESOURCE_MEMORY)
        return 0;
    int64_t now = atomic_fetch_add(&h->memory, amount) + amount;
    if (amount > 0 && now > ((int64_t)1 << 30)) {
        atomic_fetch_sub(&h->memory, amount);
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "more than the memory budget");
    }
    return 0;
}

static const sluice_api api_table = {
    .struct_size = sizeof(sluice_api),
    .abi_major = SLUICE_ABI_MAJOR,
    .abi_minor = SLUICE_ABI_MINOR,
    .read_next = mh_read_next,
    .read = mh_read,
    .reserve = mh_reserve,
    .commit = mh_commit,
    .write = mh_write,
    .log = mh_log,
    .mark_incomplete = mh_mark_incomplete,
    .cancelled = mh_cancelled,
    .passphrase = mh_passphrase,
    .record = mh_record,
    .progress_total = mh_progress_total,
    .listing = mh_listing,
    .secret_get = mh_secret_get,
    .secret_put = mh_secret_put,
    .charge = mh_charge,
};

const sluice_api *mh_api(void)
{
    return &api_table;
}

void mh_host_init(sluice_host *h, const char *stage_name)
{
    memset(h, 0, sizeof *h);
    h->stage_name = stage_name;
}

void mh_args(sluice_stage_args *args, int direction, unsigned role,
             const sluice_kv *params, size_t n_params,
             const sluice_kv *options, size_t n_options, sluice_host *h)
{
    memset(args, 0, sizeof *args);
    args->struct_size = sizeof *args;
    args->direction = direction;
    args->role = role;
    args->params = params;
    args->n_params = n_params;
    args->options = options;
    args->n_options = n_options;
    args->api = mh_api();
    args->host = h;
}

void mh_check_result(const char *stage, int rc, const sluice_error *err)
{
    switch (rc) {
    case SLUICE_OK:
    case SLUICE_E_USAGE:
    case SLUICE_E_IO:
    case SLUICE_E_FORMAT:
    case SLUICE_E_AUTH:
    case SLUICE_E_NOMEM:
    case SLUICE_E_UNSUPPORTED:
    case SLUICE_E_CANCELED:
    case SLUICE_E_NETWORK:
    case SLUICE_E_INTERNAL:
    case SLUICE_E_PIPE:
        break;
    default:
        mh_bug("%s returned %d, not a sluice status", stage, rc);
    }
    if (rc == SLUICE_E_INTERNAL)
        mh_bug("%s returned SLUICE_E_INTERNAL (a bug, by its own account): "
               "%.*s", stage, SLUICE_ERROR_MAX, err->message);
    if (rc < 0 && rc != SLUICE_E_CANCELED && rc != SLUICE_E_PIPE) {
        if (!memchr(err->message, '\0', sizeof err->message))
            mh_bug("%s: error message not NUL-terminated", stage);
        if (!err->message[0])
            mh_bug("%s returned %d without a message", stage, rc);
        if (strchr(err->message, '\n'))
            mh_bug("%s: error message spans lines: %s", stage, err->message);
    }
}
