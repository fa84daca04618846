/*
 * block.h - the bounded queue of large buffers that joins two stages.
 *
 * A blockq is the one link between a producer stage and a consumer stage.
 * It owns a small pool of fixed-size blocks: the producer takes an empty
 * block, fills it and pushes it; the consumer pops it, reads it in place
 * and releases it back to the pool.  So bytes are handed over without
 * copying, and memory is bounded by (depth + 2) blocks per link however
 * long the stream.  A full queue blocks the producer (backpressure).
 *
 * Ending: the producer calls blockq_finish() after its last push (EOF).
 * Aborting: anyone calls blockq_abort() with a status; every waiter on
 * either side wakes up and gets that status.
 */
#ifndef SLUICE_BLOCK_H
#define SLUICE_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "blockpool.h"

typedef struct block {
    uint8_t *data;
    size_t cap;  /* bytes allocated at data                   */
    size_t len;  /* bytes filled by the producer               */
    struct block *next;
} block;

typedef struct blockq blockq;

/* block_size >= SLUICE_RESERVE_MAX; depth = full blocks that may wait. */
blockq *blockq_new(size_t block_size, unsigned depth);
void blockq_free(blockq *q);

/* Producer side.  Both return NULL / a negative status once aborted. */
block *blockq_get_empty(blockq *q);
int blockq_push(blockq *q, block *b);
void blockq_finish(blockq *q); /* no more blocks: the consumer sees EOF */

/* Consumer side.  Returns 1 with *out set, 0 at EOF, or the abort status
 * (negative). */
int blockq_pop(blockq *q, block **out);
void blockq_release(blockq *q, block *b);

/* Wakes everyone; later calls on either side return status (< 0).  The
 * first status given sticks. */
void blockq_abort(blockq *q, int status);

/* Producer side, after a failure of its own: waits until the consumer
 * has taken every block pushed, so that what was written before the
 * failure reaches the next stage before the chain is aborted.  Gives up
 * once the consumer took nothing for idle_ms (a sink stuck on a pipe
 * nobody reads must not hold the failure up).  Returns 0 when all was
 * taken, 1 when it gave up, or the abort status. */
int blockq_wait_taken(blockq *q, unsigned idle_ms);

size_t blockq_block_size(const blockq *q);

/* Optional, set before the first push: fn(arg, data, len) sees every
 * block pushed, in order, on the producer's thread (a running hash of
 * the bytes that pass: engine_job.digest). */
void blockq_tap(blockq *q, void (*fn)(void *, const uint8_t *, size_t),
                void *arg);

/* Optional, set before the first block is taken: the link's buffers
 * come from pool (and go back to it when the link is freed) while it has
 * room; NULL: malloc. */
void blockq_use_pool(blockq *q, blockpool *pool);

/* Total payload bytes pushed so far (for progress). */
uint64_t blockq_bytes(blockq *q);

#endif
