/* blockpool.c - block buffers kept between engine runs; see blockpool.h. */
#include "blockpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "util.h"

#define SLAB ((size_t)2 << 20)

struct blockpool {
    pthread_mutex_t lock;
    size_t block_size;
    unsigned max_slabs, n_slabs;
    uint8_t **slab;   /* n_slabs slabs of SLAB bytes, 2 MiB-aligned */
    uint8_t **ready;  /* buffers ready: a stack of n_ready         */
    size_t n_ready;
};

blockpool *blockpool_new(size_t block_size, unsigned max_slabs)
{
    if (!block_size || SLAB % block_size || !max_slabs)
        return NULL;
    blockpool *p = calloc(1, sizeof *p);
    size_t per = SLAB / block_size;
    if (p) {
        p->slab = calloc(max_slabs, sizeof *p->slab);
        p->ready = calloc((size_t)max_slabs * per, sizeof *p->ready);
    }
    if (!p || !p->slab || !p->ready) {
        if (p) {
            free(p->slab);
            free(p->ready);
        }
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    p->block_size = block_size;
    p->max_slabs = max_slabs;
    return p;
}

void blockpool_free(blockpool *p)
{
    if (!p)
        return;
    for (unsigned i = 0; i < p->n_slabs; i++)
        munmap(p->slab[i], SLAB);
    pthread_mutex_destroy(&p->lock);
    free(p->slab);
    free(p->ready);
    free(p);
}

size_t blockpool_block_size(const blockpool *p)
{
    return p->block_size;
}

uint8_t *blockpool_get(blockpool *p)
{
    uint8_t *buf = NULL;
    pthread_mutex_lock(&p->lock);
    if (!p->n_ready && p->n_slabs < p->max_slabs) {
        size_t len;
        uint8_t *s = map_huge(SLAB, &len);
        if (s) {
            p->slab[p->n_slabs++] = s;
            for (size_t off = SLAB; off >= p->block_size;) {
                off -= p->block_size; /* the first buffer on top */
                p->ready[p->n_ready++] = s + off;
            }
        }
    }
    if (p->n_ready)
        buf = p->ready[--p->n_ready];
    pthread_mutex_unlock(&p->lock);
    return buf;
}

int blockpool_put(blockpool *p, uint8_t *buf)
{
    int rc = -1;
    pthread_mutex_lock(&p->lock);
    for (unsigned i = 0; i < p->n_slabs && rc < 0; i++)
        if (buf >= p->slab[i] && buf < p->slab[i] + SLAB) {
            p->ready[p->n_ready++] = buf;
            rc = 0;
        }
    pthread_mutex_unlock(&p->lock);
    return rc;
}
