/*
 * unit-bufs.c - the archive stage's member data buffers (plugins/
 * archive-bufs.c): sizes, reuse, and the bound on what is kept.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archive-bufs.h"
#include "tap.h"

static void check_sizes(void)
{
    bufs b = {0};
    size_t cap;
    static const size_t want[][2] = {
        {1, 4096},        {4096, 4096},     {4097, 8192},
        {65536, 65536},   {65537, 131072},  {BUFS_MAX - 1, BUFS_MAX},
        {BUFS_MAX, BUFS_MAX}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        uint8_t *p = bufs_take(&b, want[i][0], &cap);
        ok(p && cap == want[i][1], "%zu bytes: a buffer of %zu (%zu)",
           want[i][0], want[i][1], cap);
        if (p)
            memset(p, 0xa5, cap); /* all of it is ours */
        bufs_give(&b, p, cap);
    }
    bufs_free(&b);
}

/* A buffer given back is the next one taken of its size class. */
static void check_reuse(void)
{
    bufs b = {0};
    size_t c1, c2, c3;
    uint8_t *p = bufs_take(&b, 5000, &c1);
    uint8_t *q = bufs_take(&b, 6000, &c2);
    ok(p && q && p != q && c1 == 8192, "two live buffers differ");
    bufs_give(&b, p, c1);
    uint8_t *r = bufs_take(&b, 8000, &c3);
    ok(r == p && c3 == c1, "a buffer given back is taken again");
    uint8_t *big = bufs_take(&b, 100000, &c3);
    ok(big && big != p && big != q, "another class: another buffer");
    bufs_give(&b, big, c3);
    bufs_give(&b, q, c2);
    bufs_give(&b, r, c1);
    bufs_free(&b);
}

/* Past the slabs buffers come from malloc, and at most BUFS_KEEP bytes of
 * them stay on the free lists. */
static void check_bound(void)
{
    enum { N = 40 }; /* 40 MiB: more than the slabs hold */
    bufs b = {0};
    uint8_t *p[N];
    size_t cap[N];
    int all = 1;
    for (int i = 0; i < N; i++) {
        p[i] = bufs_take(&b, BUFS_MAX, &cap[i]);
        all &= p[i] != NULL && cap[i] == BUFS_MAX;
        if (p[i])
            memset(p[i], i, cap[i]);
    }
    ok(all, "%d buffers of 1 MiB live at once", N);
    ok(b.n_slabs <= BUFS_SLABS, "at most %d slabs (%d)", BUFS_SLABS,
       b.n_slabs);
    for (int i = 0; i < N; i++)
        bufs_give(&b, p[i], cap[i]);
    ok(b.kept <= BUFS_KEEP, "malloc'd bytes kept: %zu <= %u", b.kept,
       BUFS_KEEP);
    bufs_free(&b);
}

int main(void)
{
    check_sizes();
    check_reuse();
    check_bound();
    return done();
}
