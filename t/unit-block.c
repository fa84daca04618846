/*
 * unit-block.c - the bounded block queue that joins two stages (src/block.c):
 * order and contents across a producer and a consumer thread, the
 * backpressure bound (depth + 2 blocks per link), EOF, and abort waking
 * both sides.  Speaks TAP.  A watchdog alarm turns a deadlock into a
 * failure instead of a hang.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../src/block.h"
#include "../src/blockpool.h"
#include "sluice/plugin.h"
#include "tap.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "Bail out! watchdog: a queue operation hung\n";
    ssize_t w = write(STDOUT_FILENO, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

/* ---- producer / consumer ------------------------------------------------ */

#define SMALL 64u

typedef struct pc_run {
    blockq *q;
    unsigned n_blocks;
    atomic_uint produced;
    int producer_rc;
} pc_run;

/* Block i carries len 1 + i % SMALL bytes: i's low byte, then a running
 * pattern, so order and contents can be checked. */
static size_t fill(block *b, unsigned i)
{
    size_t len = 1 + i % SMALL;
    for (size_t k = 0; k < len; k++)
        b->data[k] = (uint8_t)(i * 31u + k);
    return len;
}

static void *producer(void *arg)
{
    pc_run *r = arg;
    for (unsigned i = 0; i < r->n_blocks; i++) {
        block *b = blockq_get_empty(r->q);
        if (!b) {
            r->producer_rc = -100;
            return NULL;
        }
        b->len = fill(b, i);
        int rc = blockq_push(r->q, b);
        if (rc < 0) {
            r->producer_rc = rc;
            return NULL;
        }
        atomic_fetch_add(&r->produced, 1);
    }
    blockq_finish(r->q);
    return NULL;
}

static void test_threads(unsigned depth, unsigned n_blocks, int slow_consumer)
{
    pc_run r = {0};
    r.q = blockq_new(SMALL, depth);
    r.n_blocks = n_blocks;
    atomic_init(&r.produced, 0);
    pthread_t t;
    pthread_create(&t, NULL, producer, &r);

    unsigned got = 0, bad_order = 0, bad_len = 0, max_ahead = 0;
    uint64_t bytes = 0;
    block *seen[64];
    unsigned n_seen = 0;
    int rc;
    block *b;
    while ((rc = blockq_pop(r.q, &b)) == 1) {
        size_t want = 1 + got % SMALL;
        if (b->len != want)
            bad_len++;
        else
            for (size_t k = 0; k < b->len; k++)
                if (b->data[k] != (uint8_t)(got * 31u + k)) {
                    bad_order++;
                    break;
                }
        if (b->cap != SMALL)
            bad_len++;
        bytes += b->len;
        /* Distinct block addresses = blocks ever allocated. */
        unsigned j;
        for (j = 0; j < n_seen && seen[j] != b; j++)
            ;
        if (j == n_seen && n_seen < 64)
            seen[n_seen++] = b;
        /* The producer can be at most depth + 1 blocks ahead (+1 in hand). */
        unsigned ahead = atomic_load(&r.produced) - got;
        if (ahead > max_ahead)
            max_ahead = ahead;
        got++;
        if (slow_consumer && got % 50 == 0)
            sleep_ms(1);
        blockq_release(r.q, b);
    }
    pthread_join(t, NULL);
    is_int(rc, 0, "depth %u, %u blocks: consumer ends at EOF", depth,
           n_blocks);
    is_int(r.producer_rc, 0, "depth %u: producer never refused", depth);
    is_int(got, n_blocks, "depth %u: every block arrives", depth);
    is_int(bad_order + bad_len, 0, "depth %u: in order and intact", depth);
    is_int((long long)blockq_bytes(r.q), (long long)bytes,
           "depth %u: blockq_bytes counts the payload", depth);
    ok(n_seen <= depth + 2, "depth %u: at most depth+2 = %u blocks allocated "
                            "(saw %u)", depth, depth + 2, n_seen);
    ok(max_ahead <= depth + 2, "depth %u: producer at most %u blocks ahead "
                               "(saw %u)", depth, depth + 2, max_ahead);
    is_int(blockq_pop(r.q, &b), 0, "depth %u: pop after EOF is EOF again",
           depth);
    blockq_free(r.q);
}

/* ---- backpressure -------------------------------------------------------- */

typedef struct bp_run {
    blockq *q;
    atomic_uint pushed;
    atomic_int blocked_rc; /* what get_empty gave once it returned */
    atomic_int done;
} bp_run;

static void *greedy_producer(void *arg)
{
    bp_run *r = arg;
    for (;;) {
        block *b = blockq_get_empty(r->q);
        if (!b)
            break;
        b->len = 1;
        b->data[0] = (uint8_t)atomic_load(&r->pushed);
        if (blockq_push(r->q, b) < 0)
            break;
        atomic_fetch_add(&r->pushed, 1);
    }
    atomic_store(&r->done, 1);
    return NULL;
}

static void test_backpressure(void)
{
    const unsigned depth = 3;
    bp_run r;
    r.q = blockq_new(SMALL, depth);
    atomic_init(&r.pushed, 0);
    atomic_init(&r.blocked_rc, 0);
    atomic_init(&r.done, 0);
    pthread_t t;
    pthread_create(&t, NULL, greedy_producer, &r);
    sleep_ms(200);
    unsigned p = atomic_load(&r.pushed);
    is_int(p, depth + 2,
           "with no consumer the producer stops after depth+2 = %u blocks",
           depth + 2);
    ok(!atomic_load(&r.done), "and waits (blocked, not failed)");

    block *b;
    is_int(blockq_pop(r.q, &b), 1, "consumer pops one");
    is_int(b->data[0], 0, "the oldest block first");
    sleep_ms(100);
    is_int(atomic_load(&r.pushed), depth + 2,
           "popping without releasing frees no room");
    blockq_release(r.q, b);
    sleep_ms(200);
    is_int(atomic_load(&r.pushed), depth + 3,
           "releasing one block lets exactly one more through");

    blockq_abort(r.q, SLUICE_E_CANCELED);
    pthread_join(t, NULL);
    ok(atomic_load(&r.done), "abort wakes a producer waiting for room");
    is_int(blockq_pop(r.q, &b), SLUICE_E_CANCELED,
           "after abort, pop returns the status even with blocks queued");
    blockq_free(r.q);
}

/* ---- abort wakes a waiting consumer -------------------------------------- */

typedef struct waiter {
    blockq *q;
    atomic_int rc;
    atomic_int returned;
} waiter;

static void *waiting_consumer(void *arg)
{
    waiter *w = arg;
    block *b;
    atomic_store(&w->rc, blockq_pop(w->q, &b));
    atomic_store(&w->returned, 1);
    return NULL;
}

static void *waiting_producer(void *arg)
{
    waiter *w = arg;
    block *b = blockq_get_empty(w->q);
    atomic_store(&w->rc, b ? 1 : -1);
    atomic_store(&w->returned, 1);
    return NULL;
}

static void test_abort(void)
{
    /* Consumer waiting on an empty queue. */
    waiter c = {.q = blockq_new(SMALL, 2)};
    atomic_init(&c.rc, 99);
    atomic_init(&c.returned, 0);
    pthread_t tc;
    pthread_create(&tc, NULL, waiting_consumer, &c);
    sleep_ms(100);
    ok(!atomic_load(&c.returned), "consumer waits on an empty queue");
    blockq_abort(c.q, SLUICE_E_IO);
    pthread_join(tc, NULL);
    is_int(atomic_load(&c.rc), SLUICE_E_IO,
           "abort wakes the consumer with the status");
    blockq_abort(c.q, SLUICE_E_CANCELED);
    block *b;
    is_int(blockq_pop(c.q, &b), SLUICE_E_IO, "the first status sticks");
    b = blockq_get_empty(c.q);
    ok(b == NULL, "get_empty after abort returns NULL");
    blockq_free(c.q);

    /* Producer waiting for an empty block, consumer holding them all. */
    waiter p = {.q = blockq_new(SMALL, 0)};
    atomic_init(&p.rc, 99);
    atomic_init(&p.returned, 0);
    block *b1 = blockq_get_empty(p.q), *b2 = blockq_get_empty(p.q);
    ok(b1 && b2, "depth 0 still allows two blocks (one filling, one read)");
    pthread_t tp;
    pthread_create(&tp, NULL, waiting_producer, &p);
    sleep_ms(100);
    ok(!atomic_load(&p.returned), "a third get_empty waits");
    blockq_abort(p.q, SLUICE_E_CANCELED);
    pthread_join(tp, NULL);
    is_int(atomic_load(&p.rc), -1, "abort wakes the producer with NULL");
    b1->len = 3;
    is_int(blockq_push(p.q, b1), SLUICE_E_CANCELED,
           "push after abort returns the status");
    blockq_release(p.q, b2);
    blockq_free(p.q); /* b1 went back to the pool: no leak under ASan */

    /* A zero status still aborts. */
    blockq *q = blockq_new(SMALL, 1);
    blockq_abort(q, 0);
    ok(blockq_pop(q, &b) < 0, "abort(0) still reads as an abort");
    blockq_free(q);

    /* Abort while both sides wait (a consumer on one link, a producer on
     * another), as the engine does when a stage fails. */
    waiter c2 = {.q = blockq_new(SMALL, 0)};
    waiter p2 = {.q = blockq_new(SMALL, 0)};
    atomic_init(&c2.rc, 99);
    atomic_init(&c2.returned, 0);
    atomic_init(&p2.rc, 99);
    atomic_init(&p2.returned, 0);
    block *h1 = blockq_get_empty(p2.q), *h2 = blockq_get_empty(p2.q);
    pthread_create(&tc, NULL, waiting_consumer, &c2);
    pthread_create(&tp, NULL, waiting_producer, &p2);
    sleep_ms(100);
    blockq_abort(c2.q, SLUICE_E_CANCELED);
    blockq_abort(p2.q, SLUICE_E_CANCELED);
    pthread_join(tc, NULL);
    pthread_join(tp, NULL);
    ok(atomic_load(&c2.returned) && atomic_load(&p2.returned),
       "aborting both links wakes both sides");
    blockq_release(p2.q, h1);
    blockq_release(p2.q, h2);
    blockq_free(c2.q);
    blockq_free(p2.q);
}

/* ---- EOF ----------------------------------------------------------------- */

static void test_eof(void)
{
    blockq *q = blockq_new(SMALL, 4);
    for (int i = 0; i < 3; i++) {
        block *b = blockq_get_empty(q);
        b->len = (size_t)i + 1;
        b->data[0] = (uint8_t)i;
        blockq_push(q, b);
    }
    blockq_finish(q);
    block *b;
    int order_ok = 1;
    for (int i = 0; i < 3; i++) {
        if (blockq_pop(q, &b) != 1 || b->data[0] != i ||
            b->len != (size_t)i + 1)
            order_ok = 0;
        else
            blockq_release(q, b);
    }
    ok(order_ok, "blocks pushed before finish are all delivered, in order");
    is_int(blockq_pop(q, &b), 0, "then EOF");
    is_int(blockq_pop(q, &b), 0, "and EOF again");
    is_int((long long)blockq_bytes(q), 6, "blockq_bytes = 6");
    is_int((long long)blockq_block_size(q), SMALL, "blockq_block_size");
    blockq_free(q);

    /* A consumer waiting when finish() comes. */
    waiter w = {.q = blockq_new(SMALL, 1)};
    atomic_init(&w.rc, 99);
    atomic_init(&w.returned, 0);
    pthread_t t;
    pthread_create(&t, NULL, waiting_consumer, &w);
    sleep_ms(50);
    blockq_finish(w.q);
    pthread_join(t, NULL);
    is_int(atomic_load(&w.rc), 0, "finish wakes a waiting consumer with EOF");
    blockq_free(w.q);

    /* Freeing a queue with blocks still queued must not leak (ASan). */
    q = blockq_new(SMALL, 2);
    b = blockq_get_empty(q);
    b->len = 1;
    blockq_push(q, b);
    blockq_free(q);
    ok(1, "blockq_free with queued blocks");
}

/* The session's pool (src/blockpool.c): buffers cut from 2 MiB slabs,
 * at most max_slabs of them, given back and handed out again; a link
 * with the pool takes its buffers from it and gives them back when
 * freed. */
static void test_pool(void)
{
    const size_t bs = 256 * 1024, per = (2u << 20) / bs;
    ok(blockpool_new(3000, 1) == NULL, "pool: a size not dividing 2 MiB is refused");
    blockpool *p = blockpool_new(bs, 2);
    ok(p != NULL, "pool: made");
    uint8_t *got[64];
    size_t n = 0;
    while (n < 64 && (got[n] = blockpool_get(p)))
        n++;
    is_int((long long)n, (long long)(2 * per), "pool: 2 slabs' worth of buffers, then none");
    int distinct = 1;
    for (size_t i = 0; i < n; i++) {
        memset(got[i], (int)i, bs); /* each is writable, bs bytes */
        for (size_t j = 0; j < i; j++)
            distinct &= got[i] + bs <= got[j] || got[j] + bs <= got[i];
    }
    ok(distinct, "pool: no two buffers overlap");
    uint8_t *mine = malloc(bs);
    is_int(blockpool_put(p, mine), -1, "pool: a buffer not its own is refused");
    free(mine);
    is_int(blockpool_put(p, got[3]), 0, "pool: one given back");
    ok(blockpool_get(p) == got[3], "pool: and handed out again");
    for (size_t i = 0; i < n; i++)
        blockpool_put(p, got[i]);
    blockq *q = blockq_new(bs, 2);
    blockq_use_pool(q, p);
    block *b = blockq_get_empty(q);
    uint8_t *data = b ? b->data : NULL;
    ok(data && blockpool_put(p, data) == 0 && blockpool_get(p) == data,
       "pool: a link's block comes from the pool");
    b->len = 0;
    blockq_push(q, b);
    blockq_free(q);
    ok(blockpool_get(p) == data, "pool: and goes back when the link is freed");
    blockq *other = blockq_new(4096, 2);
    blockq_use_pool(other, p);
    b = blockq_get_empty(other);
    ok(b && blockpool_put(p, b->data) < 0,
       "pool: a link of another block size does not use it");
    if (b) {
        b->len = 0;
        blockq_push(other, b); /* the link frees it */
    }
    blockq_free(other);
    blockpool_put(p, data);
    blockpool_free(p);
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    alarm(60);
    plan_no_plan();
    test_eof();
    test_threads(0, 2000, 0);
    test_threads(1, 5000, 0);
    test_threads(4, 20000, 0);
    test_threads(2, 500, 1);
    test_backpressure();
    test_abort();
    test_pool();
    return done();
}
