/*
 * zstd-frames.c - the zstd stage's body as independent frames, each
 * compressed or decompressed by a worker thread.
 *
 * Forward: the stream is cut into pieces of frame_size() bytes (4 MiB at
 * levels 1-8) and each piece becomes a frame of its own, with its content
 * size and checksum, compressed by one of the stage's workers; the
 * stage's thread writes the frames out in order.  That is an ordinary
 * zstd stream: `zstd -d` decodes concatenated frames.
 *
 * Reverse: the stage's thread cuts the input at frame boundaries by
 * reading frame and block headers (nothing is decoded there) and hands
 * each frame that declares a content size of at most FRAME_MAX to a
 * worker (or, with one thread, decodes it itself), which decodes it with
 * the one-shot API into a buffer of that size; the stage's thread writes
 * the buffers out in order.  Any other frame - no declared size, a larger
 * one, or anything the cut finds odd - goes through the streaming decoder
 * on the stage's thread once the frames before it are out, so a stream
 * from any zstd decodes as before, and errors are libzstd's own.
 * Skippable frames are skipped.
 *
 * Which decoder gets a frame depends on the frame alone, never on the
 * threads: libzstd 1.5.4's two decoders differ on a frame whose matches
 * reach further back than its window (the one-shot decoder has the whole
 * content at hand and takes it; the streaming decoder, keeping a window,
 * refuses it), and a restore must not succeed or fail with --threads.
 *
 * Why: one frame decodes on one core, and a restore spent a tenth of its
 * time with everything else waiting for that core (doc/PERFORMANCE.md,
 * round six).  Independent frames cost 0.4% of size at 4 MiB, and each
 * frame's bytes are copied once more than a streaming codec would: into
 * a job's buffer forward, out of it reverse (the output API reserves one
 * block at a time, so workers cannot write into the chain's blocks).
 *
 * Memory: (workers + 2) jobs (decoding on the stage's thread, one), each
 * an input and an output buffer of up to a frame (huge pages from 1 MiB;
 * forward, a slot's input starts at 256 KiB), charged to the run's
 * budget.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd_errors.h>

#include "zstd-stage.h"

#define MIB ((size_t)1 << 20)
#define FRAME_MIN (4 * MIB)  /* pieces at least this long (forward)  */
#define FRAME_MAX (8 * MIB)  /* frames decoded by workers (reverse)  */
#define FORWARD_FIRST (256u * 1024u) /* a slot's first input buffer  */
#define WORKERS_MAX 4        /* decoding workers (jobs: workers + 2) */
#define BLOCK_HEADER 3       /* a block's header (RFC 8878 3.1.1.2)  */
#define CHECKSUM 4           /* a frame's content checksum           */
#define FRAME_PREFIX 5       /* magic and descriptor: the header's size */

typedef struct job {
    uint8_t *in, *out;
    size_t in_cap, out_cap; /* allocated                               */
    size_t in_len;          /* input gathered                          */
    size_t out_len;         /* forward: made; reverse: declared size   */
    size_t zerr;            /* libzstd's error, 0 if none              */
    int bad_size;           /* reverse: held other than its declared   */
    int done;               /* result in: set by its worker, locked   */
} job;

/* The jobs form a ring: the stage's thread fills job `fill`, workers
 * take them in order from `take`, and the stage's thread writes them out
 * in order from `head`. */
typedef struct pool {
    zstd_ctx *z;
    sluice_output *out;
    pthread_mutex_t lock;
    pthread_cond_t work; /* a job is ready, or stop             */
    pthread_cond_t done; /* a job is done                       */
    job *jobs;
    int n_jobs;
    uint64_t fill, take, head;
    int stop;
    int n_workers;    /* 0: the stage's thread does each job    */
    int n_started;
    pthread_t *tids;
    ZSTD_CCtx **cctx; /* one per worker (or one, inline)        */
    ZSTD_DCtx **dctx;
} pool;

/* ---- buffers -------------------------------------------------------- */

static int buf_reserve(pool *p, uint8_t **b, size_t *cap, size_t want)
{
    if (*cap >= want && *b)
        return 0;
    zstd_budget_free(p->z, *b);
    *b = NULL;
    *cap = 0;
    size_t n = want ? want : 1;
    if (!(*b = zstd_budget_alloc(p->z, n)))
        return -1;
    *cap = n;
    return 0;
}

/* ---- the workers ---------------------------------------------------- */

static void do_job(pool *p, job *j, int w)
{
    if (p->z->direction == SLUICE_FORWARD) {
        size_t r = ZSTD_compress2(p->cctx[w], j->out, j->out_cap, j->in,
                                  j->in_len);
        if (ZSTD_isError(r))
            j->zerr = r;
        else
            j->out_len = r;
        return;
    }
    size_t r = ZSTD_decompressDCtx(p->dctx[w], j->out, j->out_len, j->in,
                                   j->in_len);
    if (ZSTD_isError(r))
        j->zerr = r;
    else if (r != j->out_len)
        j->bad_size = 1;
}

typedef struct worker_arg {
    pool *p;
    int w;
} worker_arg;

static void *worker_main(void *arg)
{
    worker_arg a = *(worker_arg *)arg;
    free(arg);
    pool *p = a.p;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->take == p->fill)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->stop)
            break;
        job *j = &p->jobs[p->take++ % (uint64_t)p->n_jobs];
        pthread_mutex_unlock(&p->lock);
        do_job(p, j, a.w);
        pthread_mutex_lock(&p->lock);
        j->done = 1;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- the pool ------------------------------------------------------- */

static void pool_free(pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_started; i++)
        pthread_join(p->tids[i], NULL);
    int n_ctx = p->n_workers ? p->n_workers : 1;
    for (int i = 0; p->cctx && i < n_ctx; i++)
        ZSTD_freeCCtx(p->cctx[i]);
    for (int i = 0; p->dctx && i < n_ctx; i++)
        ZSTD_freeDCtx(p->dctx[i]);
    for (int i = 0; p->jobs && i < p->n_jobs; i++) {
        zstd_budget_free(p->z, p->jobs[i].in);
        zstd_budget_free(p->z, p->jobs[i].out);
    }
    free(p->jobs);
    free(p->tids);
    free(p->cctx);
    free(p->dctx);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* A worker's context: the level and a checksum in every frame; the
 * content size is in each frame since ZSTD_compress2 knows it. */
static int make_ctx(pool *p, int i)
{
    ZSTD_customMem mem = zstd_mem(p->z);
    if (p->z->direction == SLUICE_FORWARD) {
        ZSTD_CCtx *c = p->cctx[i] = ZSTD_createCCtx_advanced(mem);
        return c && !ZSTD_isError(ZSTD_CCtx_setParameter(
                        c, ZSTD_c_compressionLevel, p->z->level)) &&
                       !ZSTD_isError(ZSTD_CCtx_setParameter(
                           c, ZSTD_c_checksumFlag, 1))
                   ? 0
                   : -1;
    }
    ZSTD_DCtx *d = p->dctx[i] = ZSTD_createDCtx_advanced(mem);
    return d && !ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax,
                                                     WINDOW_LOG_MAX))
               ? 0
               : -1;
}

static int pool_new(zstd_ctx *z, sluice_output *out, int workers,
                    pool **outp, sluice_error *err)
{
    pool *p = calloc(1, sizeof *p);
    if (!p)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    p->z = z;
    p->out = out;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    p->n_workers = workers;
    /* Decoding on the stage's thread, a frame is out before the next
     * starts: one job (its buffers are a whole frame's). */
    p->n_jobs = workers ? workers + 2
                : z->direction == SLUICE_REVERSE ? 1
                                                 : 2;
    int n_ctx = workers ? workers : 1;
    p->jobs = calloc((size_t)p->n_jobs, sizeof *p->jobs);
    p->tids = calloc((size_t)n_ctx, sizeof *p->tids);
    p->cctx = calloc((size_t)n_ctx, sizeof *p->cctx);
    p->dctx = calloc((size_t)n_ctx, sizeof *p->dctx);
    if (!p->jobs || !p->tids || !p->cctx || !p->dctx) {
        pool_free(p);
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    }
    for (int i = 0; i < n_ctx; i++)
        if (make_ctx(p, i) < 0) {
            pool_free(p);
            return atomic_load(&z->over_budget)
                       ? zstd_alloc_failed(z, err)
                       : sluice_error_set(err, SLUICE_E_INTERNAL,
                                          "cannot set up zstd's workers");
        }
    for (int i = 0; i < workers; i++) {
        worker_arg *a = malloc(sizeof *a);
        if (a) {
            a->p = p;
            a->w = i;
        }
        if (!a || pthread_create(&p->tids[i], NULL, worker_main, a) != 0) {
            free(a);
            pool_free(p);
            return sluice_error_set(err, SLUICE_E_INTERNAL,
                                    "cannot start a zstd worker");
        }
        p->n_started++;
    }
    *outp = p;
    return 0;
}

/* Writes out job `head` once done.  Called by the stage's thread only. */
static int write_head(pool *p, int wait, sluice_error *err)
{
    job *j = &p->jobs[p->head % (uint64_t)p->n_jobs];
    pthread_mutex_lock(&p->lock);
    while (wait && !j->done)
        pthread_cond_wait(&p->done, &p->lock);
    int ready = j->done;
    pthread_mutex_unlock(&p->lock);
    if (!ready)
        return 0;
    zstd_ctx *z = p->z;
    if (j->zerr)
        return z->direction == SLUICE_FORWARD
                   ? zstd_failed(z, j->zerr, SLUICE_E_INTERNAL,
                                 "compression failed", err)
                   : zstd_failed(z, j->zerr, SLUICE_E_FORMAT,
                                 "corrupt input", err);
    if (j->bad_size)
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "corrupt input: a frame holds other than "
                                "its declared size");
    int rc = j->out_len ? z->api->write(p->out, j->out, j->out_len) : 0;
    if (rc < 0)
        return rc;
    p->head++;
    return 1;
}

/* Writes out every job done at the head, in order; with all, waits for
 * every job submitted. */
static int write_done(pool *p, int all, sluice_error *err)
{
    while (p->head < p->fill) {
        int rc = write_head(p, all, err);
        if (rc <= 0)
            return rc;
    }
    return 0;
}

/* The job to fill next, once the one it replaces in the ring is out. */
static job *next_slot(pool *p, int *rc, sluice_error *err)
{
    while (p->fill - p->head >= (uint64_t)p->n_jobs)
        if ((*rc = write_head(p, 1, err)) < 0)
            return NULL;
    job *j = &p->jobs[p->fill % (uint64_t)p->n_jobs];
    j->done = 0; /* no worker holds it: it is past head */
    j->in_len = 0;
    j->out_len = 0;
    j->zerr = 0;
    j->bad_size = 0;
    return j;
}

static void submit(pool *p, job *j)
{
    if (!p->n_workers) {
        do_job(p, j, 0);
        j->done = 1;
        p->take++;
        p->fill++;
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->fill++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
}

/* ---- forward -------------------------------------------------------- */

/* Pieces of twice the level's window (at least 4 MiB, at most FRAME_MAX):
 * each frame then loses little to starting with an empty window. */
static size_t frame_size(int level)
{
    ZSTD_compressionParameters cp = ZSTD_getCParams(level, 0, 0);
    size_t f = (size_t)2 << cp.windowLog;
    return f < FRAME_MIN ? FRAME_MIN : f > FRAME_MAX ? FRAME_MAX : f;
}

/* Room for `more` bytes of a piece.  A slot's input starts small and
 * grows to a whole piece the first time one does not fit: most streams
 * a collection writes (its records) are a few KiB, and a piece's buffers
 * (10 MiB mapped, 4 MiB touched) would be most of their cost. */
static int forward_room(pool *p, job *j, size_t frame, size_t more)
{
    size_t need = j->in_len + more;
    if (need <= j->in_cap)
        return 0;
    size_t cap = need <= FORWARD_FIRST ? FORWARD_FIRST : frame;
    uint8_t *b = zstd_budget_alloc(p->z, cap);
    if (!b)
        return -1;
    if (j->in_len)
        memcpy(b, j->in, j->in_len);
    zstd_budget_free(p->z, j->in);
    j->in = b;
    j->in_cap = cap;
    return 0;
}

/* A piece is whole: room for its frame, and to a worker. */
static int forward_submit(pool *p, job *j, sluice_error *err)
{
    if (buf_reserve(p, &j->out, &j->out_cap, ZSTD_compressBound(j->in_len)) <
        0)
        return zstd_alloc_failed(p->z, err);
    submit(p, j);
    return 0;
}

int zframes_compress(zstd_ctx *z, sluice_input *in, sluice_output *out,
                     sluice_error *err)
{
    const size_t frame = frame_size(z->level);
    pool *p;
    int rc = pool_new(z, out, z->threads > 1 ? z->threads : 0, &p, err);
    if (rc < 0)
        return rc;
    job *j = NULL;
    int any = 0;
    for (;;) {
        const uint8_t *d;
        ptrdiff_t n = z->api->read_next(in, &d);
        if (n <= 0) {
            rc = (int)n;
            break;
        }
        for (size_t left = (size_t)n; left > 0;) {
            if (!j && !(j = next_slot(p, &rc, err)))
                goto out;
            size_t k = frame - j->in_len < left ? frame - j->in_len : left;
            if (forward_room(p, j, frame, k) < 0) {
                rc = zstd_alloc_failed(z, err);
                goto out;
            }
            memcpy(j->in + j->in_len, d, k);
            j->in_len += k;
            d += k;
            left -= k;
            any = 1;
            if (j->in_len == frame) {
                if ((rc = forward_submit(p, j, err)) < 0)
                    goto out;
                j = NULL;
            }
        }
        if ((rc = write_done(p, 0, err)) < 0)
            goto out;
    }
    if (rc < 0)
        goto out;
    /* The last piece; an empty stream is one empty frame. */
    if (!j && !any && !(j = next_slot(p, &rc, err)))
        goto out;
    if (j) {
        if ((rc = forward_submit(p, j, err)) < 0)
            goto out;
        j = NULL;
    }
    rc = write_done(p, 1, err);
out:
    pool_free(p);
    return rc < 0 ? rc : 0;
}

/* ---- reverse: cutting the input at frame boundaries ----------------- */

enum cut_mode { C_HEAD, C_PAR, C_STREAM, C_SKIP };

typedef struct cutter {
    zstd_ctx *z;
    pool *p;
    sluice_output *out;
    int mode;
    uint8_t head[ZSTD_FRAMEHEADERSIZE_MAX];
    size_t head_len;
    size_t head_want; /* bytes the header needs, once known (else 0) */
    ZSTD_frameHeader fh;
    job *j;           /* C_PAR: the frame's job                      */
    uint8_t bh[BLOCK_HEADER];
    size_t bh_len;    /* bytes of a block header gathered            */
    size_t payload;   /* bytes of the block (or checksum) to come    */
    int last;         /* the block is the frame's last               */
    int in_checksum;  /* the checksum is what comes                  */
    int walk;         /* the frame's blocks are walked (header read) */
    unsigned long long skip; /* C_SKIP: bytes left                   */
    size_t stream_last;      /* the streaming decoder's last hint    */
    frame_check fc;
} cutter;

/* Feeds the streaming decoder up to the end of the frame: returns the
 * bytes taken (*ended set when the frame ended), or a negative status. */
static ptrdiff_t stream_feed(cutter *c, const uint8_t *d, size_t n,
                             int *ended, sluice_error *err)
{
    zstd_ctx *z = c->z;
    const size_t min_out = ZSTD_DStreamOutSize();
    ZSTD_inBuffer ib = {d, n, 0};
    int full = 0;
    *ended = 0;
    while (ib.pos < ib.size || full) {
        size_t avail;
        uint8_t *dst = z->api->reserve(c->out, min_out, &avail);
        if (!dst)
            return SLUICE_E_CANCELED;
        ZSTD_outBuffer ob = {dst, avail, 0};
        size_t before = ib.pos;
        frame_peek(&c->fc, &ib);
        size_t r = ZSTD_decompressStream(z->dctx, &ob, &ib);
        if (ZSTD_isError(r))
            return zstd_failed(
                z, r,
                ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge
                    ? SLUICE_E_UNSUPPORTED
                    : SLUICE_E_FORMAT,
                "corrupt input", err);
        /* A call that moved nothing says nothing about the frame. */
        if (ib.pos != before || ob.pos > 0) {
            c->stream_last = r;
            if (frame_account(&c->fc, ob.pos, r) < 0)
                return sluice_error_set(err, SLUICE_E_FORMAT,
                                        "corrupt input: a frame holds "
                                        "other than its declared size");
        }
        int rc = z->api->commit(c->out, ob.pos);
        if (rc < 0)
            return rc;
        full = ob.pos == ob.size;
        /* The frame is decoded and flushed: what follows is another's. */
        if (r == 0 && (ib.pos != before || ob.pos > 0)) {
            *ended = 1;
            break;
        }
    }
    return (ptrdiff_t)ib.pos;
}

/* Switches the frame being cut to the streaming decoder: the frames
 * before it go out first, then the bytes gathered so far. */
static int to_stream(cutter *c, const uint8_t *gathered, size_t n,
                     sluice_error *err)
{
    int rc = write_done(c->p, 1, err);
    if (rc < 0)
        return rc;
    c->mode = C_STREAM;
    int ended;
    ptrdiff_t took = stream_feed(c, gathered, n, &ended, err);
    if (took < 0)
        return (int)took;
    /* What was gathered is at most one frame, as its headers say, and
     * short of its end while the walk goes on: a decoder that ends the
     * frame sooner found it corrupt. */
    if ((size_t)took != n || (ended && c->walk))
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "corrupt input: a frame ends before its "
                                "blocks do");
    if (ended)
        c->mode = C_HEAD;
    return 0;
}

/* The most a frame decoded whole may take: more than any zstd makes of
 * its declared size goes to the streaming decoder. */
static size_t whole_in_max(const ZSTD_frameHeader *fh)
{
    return ZSTD_compressBound((size_t)fh->frameContentSize) +
           ZSTD_FRAMEHEADERSIZE_MAX + CHECKSUM + BLOCK_HEADER;
}

/* A frame whose header was read: to a worker, skipped, or streamed. */
static int frame_start(cutter *c, sluice_error *err)
{
    const ZSTD_frameHeader *fh = &c->fh;
    size_t hs = fh->headerSize;
    c->head_len = 0;
    if (fh->frameType == ZSTD_skippableFrame) {
        c->skip = fh->frameContentSize;
        c->mode = c->skip ? C_SKIP : C_HEAD;
        return 0;
    }
    c->walk = 1;
    c->bh_len = 0;
    c->payload = 0;
    c->last = 0;
    c->in_checksum = 0;
    if (fh->frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN ||
        fh->frameContentSize > FRAME_MAX ||
        fh->windowSize > (1ull << WINDOW_LOG_MAX))
        return to_stream(c, c->head, hs, err);
    int rc = 0;
    job *j = next_slot(c->p, &rc, err);
    if (!j)
        return rc;
    if (buf_reserve(c->p, &j->in, &j->in_cap, whole_in_max(fh)) < 0 ||
        buf_reserve(c->p, &j->out, &j->out_cap,
                    (size_t)fh->frameContentSize) < 0) {
        /* Over the budget: the streaming decoder may need less (its
         * window), and says so when it does not fit either. */
        return to_stream(c, c->head, hs, err); /* the slot is filled again */
    }
    memcpy(j->in, c->head, hs);
    j->in_len = hs;
    j->out_len = (size_t)fh->frameContentSize;
    c->j = j;
    c->mode = C_PAR;
    return 0;
}

/* The magic numbers of zstd before v0.8 (0xFD2FB522-0xFD2FB527).
 * libzstd's streaming decoder still reads such frames, its one-shot
 * functions do not always agree with it (fuzz-zstd found one taken as
 * empty by the first and refused by the second), and nothing sluice
 * ever wrote is one: they are refused rather than trusted to old code. */
static int legacy_magic(const uint8_t *h)
{
    uint32_t m = h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
                 (uint32_t)h[3] << 24;
    return m >= 0xFD2FB522u && m <= 0xFD2FB527u;
}

/* C_HEAD: gathers a frame header, no byte past it (ZSTD_getFrameHeader
 * says how many it needs: the prefix first, then the whole header), so
 * what the streaming decoder is given of a frame it alone can read - a
 * legacy one, say - is never more than that frame; returns the bytes
 * taken. */
static ptrdiff_t cut_head(cutter *c, const uint8_t *d, size_t n,
                          sluice_error *err)
{
    size_t want = c->head_want ? c->head_want : FRAME_PREFIX;
    size_t k = want - c->head_len < n ? want - c->head_len : n;
    memcpy(c->head + c->head_len, d, k);
    c->head_len += k;
    size_t r = ZSTD_getFrameHeader(&c->fh, c->head, c->head_len);
    if (ZSTD_isError(r) && c->head_len < 4) { /* a legacy magic? */
        c->head_want = 4;
        return (ptrdiff_t)k;
    }
    if (ZSTD_isError(r) && legacy_magic(c->head))
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "corrupt input: a zstd frame from before "
                                "v0.8 (legacy), which this stage does not "
                                "read");
    if (ZSTD_isError(r)) { /* the streaming decoder says what is wrong */
        size_t all = c->head_len;
        c->head_len = 0;
        c->head_want = 0;
        int rc = to_stream(c, c->head, all, err);
        return rc < 0 ? rc : (ptrdiff_t)k;
    }
    if (r > 0) { /* more bytes needed */
        c->head_want = r > sizeof c->head ? sizeof c->head : r;
        return (ptrdiff_t)k;
    }
    c->head_want = 0;
    if (c->fh.frameType == ZSTD_skippableFrame) /* libzstd leaves it 0 */
        c->fh.headerSize = ZSTD_SKIPPABLEHEADERSIZE;
    int rc = frame_start(c, err);
    return rc < 0 ? rc : (ptrdiff_t)k;
}

/* ---- walking a frame's blocks ----------------------------------------
 *
 * Every frame whose header was read has its blocks walked, whichever
 * decoder gets it: a block header (3 bytes), its payload, then the
 * checksum if the frame has one.  A block larger than the frame's
 * Block_Maximum_Size (its window, at most 128 KiB: RFC 8878 3.1.1.2.3)
 * is refused here, and so is a block whose content (an RLE block's one
 * byte) is: libzstd 1.5.4 takes or refuses either depending on how much
 * output room or input it is given (fuzz-zstd found an RLE block of 2 MB
 * in a frame of 1 KiB window that its one-shot decoder took and its
 * streaming decoder refused, and an RLE block in a frame of window 0). */

enum walk_step { W_MORE, W_FRAME_END, W_ODD };

/* A piece (block header, payload, checksum) of the frame is complete. */
static int piece_done(cutter *c)
{
    if (!c->last)
        return W_MORE;
    if (c->fh.checksumFlag && !c->in_checksum) {
        c->in_checksum = 1;
        c->payload = CHECKSUM;
        return W_MORE;
    }
    return W_FRAME_END;
}

/* Takes the bytes at d (at most n) that belong to the piece at hand into
 * *k.  Returns W_MORE, W_FRAME_END when the frame's last piece is
 * complete, W_ODD for a block type that libzstd should name (reserved),
 * or a negative status. */
static int walk_step(cutter *c, const uint8_t *d, size_t n, size_t *k,
                     sluice_error *err)
{
    if (c->payload) {
        *k = c->payload < n ? c->payload : n;
        c->payload -= *k;
        return c->payload ? W_MORE : piece_done(c);
    }
    *k = BLOCK_HEADER - c->bh_len < n ? BLOCK_HEADER - c->bh_len : n;
    memcpy(c->bh + c->bh_len, d, *k);
    c->bh_len += *k;
    if (c->bh_len < BLOCK_HEADER)
        return W_MORE;
    uint32_t h = c->bh[0] | (uint32_t)c->bh[1] << 8 | (uint32_t)c->bh[2] << 16;
    unsigned type = (h >> 1) & 3;
    size_t size = h >> 3;
    c->bh_len = 0;
    c->last = h & 1;
    if (type == 3)
        return W_ODD;
    /* Raw and RLE: the size is what the block makes; compressed: what it
     * takes, which zstd never lets exceed the raw size.  The content (an
     * RLE block's one byte) is bounded too (RFC 8878 3.1.1.2.3): in an
     * empty single-segment frame (a window of 0) libzstd 1.5.4 takes an
     * RLE block when the frame comes whole and refuses it when it comes
     * in pieces (fuzz-zstd). */
    size_t content = type == 1 ? 1 : size;
    if (size > c->fh.blockSizeMax || content > c->fh.blockSizeMax)
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "corrupt input: a block larger than its "
                                "frame allows");
    /* A compressed block holds at least its two section headers; an
     * empty one libzstd's streaming decoder skips, its one-shot
     * decoder refuses (fuzz-zstd): refused. */
    if (type == 2 && size == 0)
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "corrupt input: an empty compressed block");
    c->payload = content;
    return c->payload ? W_MORE : piece_done(c);
}

/* Leaves the job of a C_PAR frame for the streaming decoder. */
static int par_to_stream(cutter *c, sluice_error *err)
{
    job *j = c->j; /* never submitted: next_slot fills the slot again */
    c->j = NULL;
    return to_stream(c, j->in, j->in_len, err);
}

/* C_PAR: gathers a frame's blocks into its job; returns the bytes taken. */
static ptrdiff_t cut_blocks(cutter *c, const uint8_t *d, size_t n,
                            sluice_error *err)
{
    job *j = c->j;
    size_t k;
    /* What a piece may take, before it is walked (against the bound,
     * not the buffer's size, which an earlier frame may have grown). */
    size_t room = c->payload ? c->payload : BLOCK_HEADER - c->bh_len;
    if (j->in_len + (room < n ? room : n) > whole_in_max(&c->fh)) {
        int rc = par_to_stream(c, err);
        return rc < 0 ? rc : 0;
    }
    int w = walk_step(c, d, n, &k, err);
    if (w < 0)
        return w;
    memcpy(j->in + j->in_len, d, k);
    j->in_len += k;
    if (w == W_ODD) { /* let libzstd say */
        c->walk = 0;
        int rc = par_to_stream(c, err);
        return rc < 0 ? rc : (ptrdiff_t)k;
    }
    if (w == W_FRAME_END) {
        submit(c->p, j);
        c->j = NULL;
        c->mode = C_HEAD;
        c->walk = 0;
        int rc = write_done(c->p, 0, err);
        return rc < 0 ? rc : (ptrdiff_t)k;
    }
    return (ptrdiff_t)k;
}

/* C_STREAM: the streaming decoder gets the frame as it comes, walked up
 * to its end (one call for all the pieces at hand); returns the bytes
 * taken. */
static ptrdiff_t cut_stream(cutter *c, const uint8_t *d, size_t n,
                            sluice_error *err)
{
    int w = W_MORE, walked = c->walk;
    size_t k = walked ? 0 : n;
    while (walked && k < n && w == W_MORE) {
        size_t step;
        if ((w = walk_step(c, d + k, n - k, &step, err)) < 0)
            return w;
        k += step;
    }
    if (w == W_ODD)
        c->walk = walked = 0; /* libzstd names it */
    int ended;
    ptrdiff_t took = stream_feed(c, d, k, &ended, err);
    if (took < 0)
        return took;
    /* The walk and the decoder must agree on where the frame ends. */
    if (walked && ((w == W_FRAME_END) != ended || (size_t)took != k))
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "corrupt input: a frame ends before its "
                                "blocks do");
    if (ended) {
        c->mode = C_HEAD;
        c->walk = 0;
    }
    return took;
}

static ptrdiff_t cut(cutter *c, const uint8_t *d, size_t n, sluice_error *err)
{
    switch (c->mode) {
    case C_HEAD:
        return cut_head(c, d, n, err);
    case C_PAR:
        return cut_blocks(c, d, n, err);
    case C_SKIP: {
        size_t k = c->skip < n ? (size_t)c->skip : n;
        c->skip -= k;
        if (!c->skip)
            c->mode = C_HEAD;
        return (ptrdiff_t)k;
    }
    default:
        return cut_stream(c, d, n, err);
    }
}

/* Decoding workers: the stage's threads (one a core unless the option
 * says otherwise), when two or more; one means the stage's thread
 * decodes every frame itself, as a collection restore wants when it runs
 * objects side by side. */
static int decode_workers(const zstd_ctx *z)
{
    int n = z->threads;
    return n < 2 ? 0 : n > WORKERS_MAX ? WORKERS_MAX : n;
}

static int cut_end(cutter *c, int seen, sluice_error *err)
{
    int rc = write_done(c->p, 1, err);
    if (rc < 0)
        return rc;
    if (!seen)
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "empty input: no zstd frame");
    int open = c->mode == C_HEAD ? c->head_len > 0
               : c->mode == C_STREAM ? c->stream_last != 0
                                     : 1;
    if (open)
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "truncated input: the last zstd frame is "
                                "incomplete");
    return 0;
}

int zframes_decompress(zstd_ctx *z, sluice_input *in, sluice_output *out,
                       sluice_error *err)
{
    cutter c;
    memset(&c, 0, sizeof c);
    c.z = z;
    c.out = out;
    int workers = decode_workers(z), rc = 0, seen = 0;
    if ((rc = pool_new(z, out, workers, &c.p, err)) < 0)
        return rc;
    for (;;) {
        const uint8_t *d;
        ptrdiff_t n = z->api->read_next(in, &d);
        if (n <= 0) {
            rc = n < 0 ? (int)n : cut_end(&c, seen, err);
            break;
        }
        seen = 1;
        while (n > 0) {
            ptrdiff_t took = cut(&c, d, (size_t)n, err);
            if (took < 0) {
                rc = (int)took;
                goto out;
            }
            d += took;
            n -= took;
        }
    }
out:
    pool_free(c.p);
    return rc;
}
