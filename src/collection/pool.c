/* pool.c - a small pool of worker threads; see pool.h. */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct pool {
    size_t n;
    int stop_on_fail;
    pool_task fn;
    void *arg;
    atomic_size_t next;
    atomic_int failed;
    int *status; /* per task */
} pool;

static void *worker(void *v)
{
    pool *p = v;
    for (;;) {
        if (p->stop_on_fail && atomic_load(&p->failed))
            break;
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n)
            break;
        p->status[i] = p->fn(p->arg, i);
        if (p->status[i])
            atomic_store(&p->failed, 1);
    }
    return NULL;
}

int pool_run(size_t n, unsigned width, int stop_on_fail, pool_task fn,
             void *arg)
{
    pool p = {.n = n, .stop_on_fail = stop_on_fail, .fn = fn, .arg = arg};
    atomic_init(&p.next, 0);
    atomic_init(&p.failed, 0);
    p.status = calloc(n + 1, sizeof *p.status);
    pthread_t th[16];
    unsigned started = 0;
    if (width > 16)
        width = 16;
    if (width > n)
        width = (unsigned)n;
    for (unsigned t = 1; p.status && t < width; t++)
        if (pthread_create(&th[started], NULL, worker, &p) == 0)
            started++;
    if (p.status)
        worker(&p); /* this thread works too */
    for (unsigned t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    int rc = p.status ? 0 : 7; /* EXIT_INTERNAL: out of memory */
    for (size_t i = 0; p.status && i < n && !rc; i++)
        rc = p.status[i];
    free(p.status);
    return rc;
}
