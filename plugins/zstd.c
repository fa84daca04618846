/*
 * zstd.c - the `zstd` stage: Zstandard compression (forward) and
 * decompression (reverse), its options, memory and errors.
 *
 * The body it writes is an ordinary zstd stream: independent frames of
 * 4 MiB and more, each with its content size and checksum, so `zstd -d`
 * decodes it and a restore decodes frames on every core (zstd-frames.c).
 * Compression uses all cores unless the "threads" option says otherwise.
 * Decompression accepts any zstd stream (concatenated frames, skippable
 * frames, frames of unknown size), and bounds the window at 2^27 bytes
 * so hostile input cannot demand unbounded memory.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd_errors.h>

#include "hugemap.h"
#include "zstd-stage.h"

#define LEVEL_DEFAULT 3
#define LEVEL_MAX 19

/* ---- memory, charged to the run's budget --------------------------------
 * libzstd allocates through these, from the stage's thread and from its
 * compression workers: every byte is charged before it is allocated, so
 * a hostile stream (a frame declaring a 128 MiB window in each of 32
 * nested stages) is refused before the memory exists, and given back
 * when freed.  A prefix lets free() know how much, and how.
 *
 * Allocations of 1 MiB and more (the decompressor's window, the frames'
 * buffers, the compressors' tables) come from huge pages (hugemap.h):
 * 4 KiB pages cost a page fault each, 12-25 us in this VM, and the
 * streaming decoder's window was 600 of them on the thread everything
 * else waits for at the start. */
#define ALLOC_PREFIX 16 /* keeps malloc's alignment */
#define HUGE_ALLOC_MIN (1u << 20)

typedef struct alloc_head {
    size_t cost;   /* bytes charged to the budget                      */
    size_t mapped; /* hugemap_new's length, or 0: malloc               */
} alloc_head;
_Static_assert(sizeof(alloc_head) <= ALLOC_PREFIX, "the prefix holds it");

/* Whether an allocation of size goes to huge pages: the length then
 * charged is the mapping's, whole huge pages. */
static int alloc_huge(size_t size)
{
    return !HUGEMAP_USE_MALLOC && size >= HUGE_ALLOC_MIN;
}

void *zstd_budget_alloc(void *opaque, size_t size)
{
    zstd_ctx *z = opaque;
    if (size > INT64_MAX - HUGEMAP_PAGE - ALLOC_PREFIX)
        return NULL;
    int huge = alloc_huge(size);
    alloc_head h = {huge ? hugemap_len(size + ALLOC_PREFIX)
                         : size + ALLOC_PREFIX,
                    0};
    if (z->charge) {
        sluice_error e = {0};
        if (z->api->charge(z->host, SLUICE_RESOURCE_MEMORY,
                           (int64_t)h.cost, &e) < 0) {
            pthread_mutex_lock(&z->lock);
            if (!atomic_load(&z->over_budget))
                z->budget_err = e;
            atomic_store(&z->over_budget, 1);
            pthread_mutex_unlock(&z->lock);
            return NULL;
        }
    }
    unsigned char *p = huge ? hugemap_new(size + ALLOC_PREFIX) : NULL;
    if (p)
        h.mapped = size + ALLOC_PREFIX;
    else if (!(p = malloc(size + ALLOC_PREFIX))) {
        if (z->charge)
            z->api->charge(z->host, SLUICE_RESOURCE_MEMORY, -(int64_t)h.cost,
                           NULL);
        return NULL;
    }
    memcpy(p, &h, sizeof h);
    return p + ALLOC_PREFIX;
}

void zstd_budget_free(void *opaque, void *ptr)
{
    zstd_ctx *z = opaque;
    if (!ptr)
        return;
    unsigned char *p = (unsigned char *)ptr - ALLOC_PREFIX;
    alloc_head h;
    memcpy(&h, p, sizeof h);
    if (h.mapped)
        hugemap_free(p, h.mapped);
    else
        free(p);
    if (z->charge)
        z->api->charge(z->host, SLUICE_RESOURCE_MEMORY, -(int64_t)h.cost,
                       NULL);
}

/* An allocation failed: the budget's refusal when one came (its message
 * says what to raise), else out of memory. */
int zstd_alloc_failed(zstd_ctx *z, sluice_error *err)
{
    if (atomic_load(&z->over_budget)) {
        pthread_mutex_lock(&z->lock);
        *err = z->budget_err;
        pthread_mutex_unlock(&z->lock);
        return err->code;
    }
    return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
}

/* A libzstd failure; one to allocate is the budget's when one came. */
int zstd_failed(zstd_ctx *z, size_t r, int code, const char *what,
                sluice_error *err)
{
    if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation &&
        atomic_load(&z->over_budget))
        return zstd_alloc_failed(z, err);
    return sluice_error_set(err, code, "%s: %s", what, ZSTD_getErrorName(r));
}

ZSTD_customMem zstd_mem(zstd_ctx *z)
{
    ZSTD_customMem mem = {zstd_budget_alloc, zstd_budget_free, z};
    return mem;
}

/* A level as the header records it: an optional '-', then digits with
 * no leading zero (strtol alone would also take " 3", "+3" and "03",
 * and a header spelled so would not be the one this stage writes).
 * -1: not such a number; -2: out of lo..hi. */
static int parse_int(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s)
        return -2; /* "level '' out of range", as doc/FORMAT.md 2 says */
    const char *d = *s == '-' ? s + 1 : s;
    if (*d < '0' || *d > '9' || (d[0] == '0' && d[1]))
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno)
        return errno ? -2 : -1;
    if (v < lo || v > hi)
        return -2;
    *out = v;
    return 0;
}

static int online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

/* open() could not create its context: the budget's refusal, or a
 * failure of libzstd's own. */
static int setup_failed(zstd_ctx *z, const char *what, sluice_error *err)
{
    int code = atomic_load(&z->over_budget)
                   ? (*err = z->budget_err).code
                   : sluice_error_set(err, SLUICE_E_INTERNAL, "%s", what);
    pthread_mutex_destroy(&z->lock);
    free(z);
    return code;
}

/* Reads level= (a parameter) and threads= (an option).  A bad level read
 * back on restore is a format error, a usage error when backing up. */
static int parse_zstd_args(const sluice_stage_args *args, long *level,
                           long *threads, sluice_error *err)
{
    int code = args->direction == SLUICE_FORWARD ? SLUICE_E_USAGE
                                                 : SLUICE_E_FORMAT;
    for (size_t i = 0; i < args->n_params; i++) {
        const char *k = args->params[i].key;
        if (strcmp(k, "level") != 0)
            return sluice_error_set(err, code, "unknown parameter '%.64s'%s",
                                    k, args->direction == SLUICE_FORWARD
                                           ? ": zstd takes level=N"
                                           : "");
        /* On restore the level is informational: any level zstd knows,
         * this build's writing limit aside. */
        long max = args->direction == SLUICE_FORWARD ? LEVEL_MAX
                                                     : ZSTD_maxCLevel();
        int bad = parse_int(args->params[i].value, ZSTD_minCLevel(), max,
                            level);
        if (bad == -1)
            return sluice_error_set(err, code,
                                    "level '%.32s' is not a plain integer "
                                    "(write it as 3 or -5)",
                                    args->params[i].value);
        if (bad < 0 || *level == 0)
            return sluice_error_set(err, code,
                                    "level '%.32s' out of range: 1..%ld, or "
                                    "negative for fast levels",
                                    args->params[i].value, max);
    }
    const char *t = sluice_kv_get(args->options, args->n_options, "threads");
    if (t) {
        if (parse_int(t, 0, 256, threads) < 0)
            return sluice_error_set(err, SLUICE_E_USAGE,
                                    "threads '%.32s' out of range: 0..256, "
                                    "0 for all cores", t);
        if (*threads == 0)
            *threads = online_cores();
    }
    return 0;
}

/* Records the level; the workers' compressors are made by the run. */
static int setup_compressor(zstd_ctx *z, const sluice_stage_args *args,
                            sluice_error *err)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%d", z->level);
    if (args->api->record(args->host, "level", buf) < 0)
        return setup_failed(z, "cannot record the level", err);
    return 0;
}

static int zstd_open(const sluice_stage_args *args, void **out,
                     sluice_error *err)
{
    long level = LEVEL_DEFAULT, threads = online_cores();
    int rc = parse_zstd_args(args, &level, &threads, err);
    if (rc < 0)
        return rc;
    zstd_ctx *z = calloc(1, sizeof *z);
    if (!z)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    z->api = args->api;
    z->host = args->host;
    z->direction = args->direction;
    z->level = (int)level;
    z->threads = (int)threads;
    z->charge = args->api->struct_size >=
                offsetof(sluice_api, charge) + sizeof args->api->charge;
    atomic_init(&z->over_budget, 0);
    pthread_mutex_init(&z->lock, NULL);
    ZSTD_customMem mem = zstd_mem(z);
    if (z->direction == SLUICE_FORWARD) {
        rc = setup_compressor(z, args, err);
        if (rc < 0)
            return rc;
    } else {
        z->dctx = ZSTD_createDCtx_advanced(mem);
        if (!z->dctx || ZSTD_isError(ZSTD_DCtx_setParameter(
                            z->dctx, ZSTD_d_windowLogMax, WINDOW_LOG_MAX))) {
            ZSTD_freeDCtx(z->dctx);
            return setup_failed(z, "cannot set up the decompressor", err);
        }
    }
    *out = z;
    return 0;
}

/* A frame that declares its content size must hold that many bytes.
 * The streaming decoder of libzstd 1.5.4 took a frame declaring 65
 * bytes and holding none (an empty raw block, the checksum of nothing)
 * as valid, where ZSTD_decompress refuses it (found by t/fuzz).  So the
 * header of each frame is read as it passes (without consuming it) and
 * its output counted (zstd-frames.c: the streamed frames).
 *
 * Before a call: the frame's header, from what the call will read. */
void frame_peek(frame_check *f, const ZSTD_inBuffer *ib)
{
    if (f->known)
        return;
    size_t n = ib->size - ib->pos, room = sizeof f->head - f->head_len;
    n = n < room ? n : room;
    memcpy(f->head + f->head_len, (const uint8_t *)ib->src + ib->pos, n);
    f->head_len += n;
    ZSTD_frameHeader fh;
    if (ZSTD_getFrameHeader(&fh, f->head, f->head_len) != 0)
        return; /* more bytes needed, or invalid: the decoder says so */
    f->known = 1;
    f->want = fh.frameType == ZSTD_frame ? fh.frameContentSize
                                          : ZSTD_CONTENTSIZE_UNKNOWN;
}

/* After a call that produced `made` bytes and returned r (0: the frame
 * ended): -1 when a frame ended holding other than its declared size. */
int frame_account(frame_check *f, size_t made, size_t r)
{
    f->got += made;
    if (r != 0)
        return 0;
    int bad = f->known && f->want != ZSTD_CONTENTSIZE_UNKNOWN &&
              f->got != f->want;
    memset(f, 0, sizeof *f); /* the next frame starts */
    return bad ? -1 : 0;
}

static int zstd_run(void *ctx, sluice_input *in, sluice_output *out,
                    sluice_error *err)
{
    zstd_ctx *z = ctx;
    return z->direction == SLUICE_FORWARD
               ? zframes_compress(z, in, out, err)
               : zframes_decompress(z, in, out, err);
}

static void zstd_close(void *ctx)
{
    zstd_ctx *z = ctx;
    if (!z)
        return;
    ZSTD_freeDCtx(z->dctx);
    pthread_mutex_destroy(&z->lock);
    free(z);
}

/* ABI 1.2: the keys this stage accepts (`sluice stages -v`). */
static const sluice_key keys[] = {
    {"level", SLUICE_KEY_PARAM | SLUICE_KEY_BOTH,
     "compression level: 1..19, or negative for fast levels (default 3)"},
    {"threads", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "threads: compressing, or decoding frames (at most 4); 0 = all cores "
     "(default), 1 = the stage's own"},
    {NULL, 0, NULL},
};

static const sluice_stage stages[] = {{
    "zstd",
    "Zstandard compression, multithreaded (libzstd)",
    SLUICE_ROLE_TRANSFORM,
    SLUICE_ROLE_TRANSFORM,
    0,
    zstd_open,
    zstd_run,
    NULL,
    zstd_close,
    NULL, /* remove (ABI 1.1) */
    keys,
    NULL, /* list (ABI 1.3) */
    NULL, /* binding (ABI 1.4) */
}};

static const sluice_plugin plugin =
    SLUICE_PLUGIN_INIT("zstd", "0.1.0", stages);

SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void)
{
    return &plugin;
}
