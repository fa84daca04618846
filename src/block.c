/* block.c - bounded block queue; see block.h for the model. */
#include "block.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct blockq {
    pthread_mutex_t lock;
    pthread_cond_t can_push; /* a block was released (pool not empty)  */
    pthread_cond_t can_pop;  /* a block was pushed, or EOF, or abort   */
    pthread_cond_t taken;    /* a block was popped, or abort          */

    size_t block_size;
    unsigned max_blocks; /* blocks ever allocated for this link         */
    unsigned n_blocks;

    block *free_list;        /* empty blocks ready for the producer    */
    block *head, *tail;      /* full blocks, oldest first              */

    int finished;            /* producer said EOF                      */
    int status;              /* < 0 once aborted                       */
    uint64_t bytes;          /* payload pushed, for progress           */
    uint64_t pops;           /* blocks popped (blockq_wait_taken)      */
    void (*tap)(void *, const uint8_t *, size_t);
    void *tap_arg;
    blockpool *pool;         /* where buffers come from, or NULL       */
};

blockq *blockq_new(size_t block_size, unsigned depth)
{
    blockq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->can_push, NULL);
    pthread_cond_init(&q->can_pop, NULL);
    pthread_condattr_t mono; /* blockq_wait_taken's deadlines */
    pthread_condattr_init(&mono);
    pthread_condattr_setclock(&mono, CLOCK_MONOTONIC);
    pthread_cond_init(&q->taken, &mono);
    pthread_condattr_destroy(&mono);
    q->block_size = block_size;
    /* depth waiting + one being filled + one being read */
    q->max_blocks = depth + 2;
    return q;
}

static void free_chain(blockq *q, block *b)
{
    while (b) {
        block *next = b->next;
        if (!q->pool || blockpool_put(q->pool, b->data) < 0)
            free(b->data);
        free(b);
        b = next;
    }
}

void blockq_free(blockq *q)
{
    if (!q)
        return;
    free_chain(q, q->free_list);
    free_chain(q, q->head);
    pthread_cond_destroy(&q->can_push);
    pthread_cond_destroy(&q->can_pop);
    pthread_cond_destroy(&q->taken);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

/* Allocates outside the lock would be nicer, but it happens at most
 * max_blocks times per link. */
static block *block_alloc(blockq *q, size_t size)
{
    block *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->data = q->pool ? blockpool_get(q->pool) : NULL;
    if (!b->data)
        b->data = malloc(size);
    if (!b->data) {
        free(b);
        return NULL;
    }
    b->cap = size;
    return b;
}

block *blockq_get_empty(blockq *q)
{
    block *b = NULL;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        if (q->status < 0)
            break;
        if (q->free_list) {
            b = q->free_list;
            q->free_list = b->next;
            break;
        }
        if (q->n_blocks < q->max_blocks) {
            b = block_alloc(q, q->block_size);
            if (b)
                q->n_blocks++;
            break;
        }
        pthread_cond_wait(&q->can_push, &q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    if (b) {
        b->len = 0;
        b->next = NULL;
    }
    return b;
}

void blockq_use_pool(blockq *q, blockpool *pool)
{
    if (pool && blockpool_block_size(pool) == q->block_size)
        q->pool = pool;
}

void blockq_tap(blockq *q, void (*fn)(void *, const uint8_t *, size_t),
                void *arg)
{
    q->tap = fn;
    q->tap_arg = arg;
}

int blockq_push(blockq *q, block *b)
{
    int status;
    if (q->tap) /* one producer: blocks come in order, outside the lock */
        q->tap(q->tap_arg, b->data, b->len);
    pthread_mutex_lock(&q->lock);
    status = q->status;
    if (status == 0) {
        b->next = NULL;
        if (q->tail)
            q->tail->next = b;
        else
            q->head = b;
        q->tail = b;
        q->bytes += b->len;
        pthread_cond_signal(&q->can_pop);
    } else {
        b->next = q->free_list;
        q->free_list = b;
    }
    pthread_mutex_unlock(&q->lock);
    return status;
}

void blockq_finish(blockq *q)
{
    pthread_mutex_lock(&q->lock);
    q->finished = 1;
    pthread_cond_broadcast(&q->can_pop);
    pthread_mutex_unlock(&q->lock);
}

int blockq_pop(blockq *q, block **out)
{
    int rc;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        if (q->status < 0) {
            rc = q->status;
            break;
        }
        if (q->head) {
            *out = q->head;
            q->head = q->head->next;
            if (!q->head)
                q->tail = NULL;
            q->pops++;
            pthread_cond_broadcast(&q->taken);
            rc = 1;
            break;
        }
        if (q->finished) {
            rc = 0;
            break;
        }
        pthread_cond_wait(&q->can_pop, &q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

void blockq_release(blockq *q, block *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&q->lock);
    b->next = q->free_list;
    q->free_list = b;
    pthread_cond_signal(&q->can_push);
    pthread_mutex_unlock(&q->lock);
}

void blockq_abort(blockq *q, int status)
{
    pthread_mutex_lock(&q->lock);
    if (q->status == 0)
        q->status = status < 0 ? status : -1;
    pthread_cond_broadcast(&q->can_pop);
    pthread_cond_broadcast(&q->can_push);
    pthread_cond_broadcast(&q->taken);
    pthread_mutex_unlock(&q->lock);
}

/* now + ms on CLOCK_MONOTONIC (the clock of q->taken). */
static struct timespec deadline_in(unsigned ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

int blockq_wait_taken(blockq *q, unsigned idle_ms)
{
    pthread_mutex_lock(&q->lock);
    /* One idle period per pass: a block taken starts another. */
    while (q->status == 0 && q->head) {
        uint64_t seen = q->pops;
        struct timespec until = deadline_in(idle_ms);
        int r = 0;
        while (r != ETIMEDOUT && q->status == 0 && q->head &&
               q->pops == seen)
            r = pthread_cond_timedwait(&q->taken, &q->lock, &until);
        if (q->pops == seen)
            break; /* timed out, aborted or all taken */
    }
    int rc = q->status ? q->status : q->head ? 1 : 0;
    pthread_mutex_unlock(&q->lock);
    return rc;
}

size_t blockq_block_size(const blockq *q)
{
    return q->block_size;
}

uint64_t blockq_bytes(blockq *q)
{
    uint64_t n;
    pthread_mutex_lock(&q->lock);
    n = q->bytes;
    pthread_mutex_unlock(&q->lock);
    return n;
}
