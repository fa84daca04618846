/*
 * zstd-stage.h - what the zstd stage's files share: its context, the
 * allocator that charges libzstd's memory to the run's budget, and the
 * streaming decoder's frame check.  Internal to plugins/zstd*.c.
 */
#ifndef SLUICE_ZSTD_STAGE_H
#define SLUICE_ZSTD_STAGE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "sluice/plugin.h"

#define WINDOW_LOG_MAX 27

typedef struct zstd_ctx {
    const sluice_api *api;
    sluice_host *host;
    int direction;
    int level;
    int threads;             /* the "threads" option, or the cores    */
    ZSTD_DCtx *dctx;         /* the streaming decoder (reverse)       */
    int charge;              /* the host has api->charge (ABI 1.2)      */
    atomic_int over_budget;  /* an allocation was refused by the budget */
    pthread_mutex_t lock;    /* guards budget_err: workers allocate too */
    sluice_error budget_err; /* the first refusal's message             */
} zstd_ctx;

/* libzstd's allocator (ZSTD_customMem with z as opaque), and the same
 * for the stage's own buffers: charged to the budget first. */
void *zstd_budget_alloc(void *opaque, size_t size);
void zstd_budget_free(void *opaque, void *ptr);
ZSTD_customMem zstd_mem(zstd_ctx *z);

/* Maps a libzstd error to the stage's error (the budget's refusal when
 * an allocation failed because of it). */
int zstd_failed(zstd_ctx *z, size_t r, int code, const char *what,
                sluice_error *err);
/* An allocation of the stage's own failed: the budget's message, or
 * out of memory. */
int zstd_alloc_failed(zstd_ctx *z, sluice_error *err);

/* The streaming decoder's check that a frame holds its declared size. */
typedef struct frame_check {
    uint8_t head[ZSTD_FRAMEHEADERSIZE_MAX];
    size_t head_len;         /* bytes of the header seen so far         */
    int known;               /* the header was read                     */
    unsigned long long want; /* its content size, or CONTENTSIZE_UNKNOWN */
    unsigned long long got;  /* bytes the frame has produced so far     */
} frame_check;
void frame_peek(frame_check *f, const ZSTD_inBuffer *ib);
int frame_account(frame_check *f, size_t made, size_t r);

/* zstd-frames.c: the stage's run, each direction. */
int zframes_compress(zstd_ctx *z, sluice_input *in, sluice_output *out,
                     sluice_error *err);
int zframes_decompress(zstd_ctx *z, sluice_input *in, sluice_output *out,
                       sluice_error *err);

#endif
