/*
 * archive-bufs.c - member data buffers for the writer threads (see
 * archive-bufs.h).
 */
#include "archive-bufs.h"
#include "hugemap.h"

#include <stdlib.h>
#include <string.h>

#define MIN_SHIFT 12
#define SLAB HUGEMAP_PAGE

static int class_of(size_t n)
{
    int c = 0;
    while (c < BUFS_CLASSES - 1 && ((size_t)1 << (MIN_SHIFT + c)) < n)
        c++;
    return c;
}

/* cap bytes from the slabs, or NULL when they are used up. */
static uint8_t *carve(bufs *b, size_t cap)
{
    if (HUGEMAP_USE_MALLOC)
        return NULL;
    if (b->n_slabs == 0 || b->carved + cap > SLAB) {
        /* The newest slab's rest stays unused: at most 1 MiB. */
        uint8_t *s = b->n_slabs < BUFS_SLABS ? hugemap_new(SLAB) : NULL;
        if (!s)
            return NULL;
        b->slab[b->n_slabs++] = s;
        b->carved = 0;
    }
    uint8_t *p = b->slab[b->n_slabs - 1] + b->carved;
    b->carved += cap;
    return p;
}

static int in_slab(const bufs *b, const void *p)
{
    for (int i = 0; i < b->n_slabs; i++)
        if ((const uint8_t *)p >= b->slab[i] &&
            (const uint8_t *)p < b->slab[i] + SLAB)
            return 1;
    return 0;
}

uint8_t *bufs_take(bufs *b, size_t n, size_t *cap)
{
    int c = class_of(n);
    *cap = (size_t)1 << (MIN_SHIFT + c);
    void *p = b->free_list[c];
    if (p) {
        memcpy(&b->free_list[c], p, sizeof p);
        if (!in_slab(b, p))
            b->kept -= *cap;
        return p;
    }
    p = carve(b, *cap);
    return p ? p : malloc(*cap);
}

void bufs_give(bufs *b, uint8_t *p, size_t cap)
{
    if (!p)
        return;
    int c = class_of(cap);
    if (!in_slab(b, p)) {
        if (b->kept + cap > BUFS_KEEP) {
            free(p);
            return;
        }
        b->kept += cap;
    }
    memcpy(p, &b->free_list[c], sizeof(void *));
    b->free_list[c] = p;
}

void bufs_free(bufs *b)
{
    for (int c = 0; c < BUFS_CLASSES; c++)
        while (b->free_list[c]) {
            void *p = b->free_list[c];
            memcpy(&b->free_list[c], p, sizeof p);
            if (!in_slab(b, p))
                free(p);
        }
    for (int i = 0; i < b->n_slabs; i++)
        hugemap_free(b->slab[i], SLAB);
    memset(b, 0, sizeof *b);
}
