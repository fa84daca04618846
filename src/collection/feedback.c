/* feedback.c - the progress line of a collection command: the counters
 * its tasks add to (several at once: pool.c), shown by progress.c's
 * thread; see coll.h.  The mode is the front end's (--progress, a
 * terminal, -q); the session's own mode stays off, so the command's
 * many engine runs draw no line of their own. */
#include "coll.h"

#include <stdatomic.h>
#include <string.h>

void feedback_start(coll *k, const char *unit)
{
    feedback_stop(k);
    atomic_store(&k->count.items, 0);
    atomic_store(&k->count.bytes, 0);
    atomic_store(&k->count.items_total, 0);
    atomic_store(&k->count.bytes_total, 0);
    k->pg = progress_start_count(k->c->progress, k->cmd, unit, &k->count);
}

void feedback_stop(coll *k)
{
    progress_stop(k->pg);
    k->pg = NULL;
    k->o.moved = NULL;
}

void feedback_done(coll *k, uint64_t items, uint64_t bytes)
{
    atomic_fetch_add(&k->count.items, items);
    if (bytes)
        atomic_fetch_add(&k->count.bytes, bytes);
}

static void count_get(void *arg, size_t n)
{
    coll *k = arg;
    atomic_fetch_add(&k->count.bytes, n);
}

/* The stored size of data object n of e's backup, 0 when its manifest
 * records none (sluice-manifest/1 and /2: no byte total then). */
static uint64_t stored_size(const mentry *e, unsigned n, int *unknown)
{
    os_sum s;
    const os_sum *p = object_sum(e, n, &s);
    if (!p)
        *unknown = 1;
    return p ? p->size : 0;
}

void feedback_expect(coll *k, mentry **v, size_t n)
{
    if (!k->pg)
        return;
    uint64_t bytes = 0;
    int unknown = 0;
    for (size_t i = 0; i < n; i++) {
        const mentry *e = v[i];
        if (e->nchunks) {
            for (unsigned j = 0; j < e->nchunks; j++)
                bytes += stored_size(e, e->obj + j, &unknown);
        } else if (e->obj && e->bid &&
                   (i == 0 || !v[i - 1]->bid || v[i - 1]->obj != e->obj ||
                    strcmp(v[i - 1]->bid, e->bid))) {
            bytes += stored_size(e, e->obj, &unknown); /* v is grouped */
        }
    }
    atomic_fetch_add(&k->count.items_total, n);
    if (!unknown)
        atomic_fetch_add(&k->count.bytes_total, bytes);
    k->o.moved = count_get;
    k->o.moved_arg = k;
}

/* A put's share: its file data, however many bytes the archive stage
 * wraps around it. */
static void count_put(void *arg, size_t n)
{
    feed_put *f = arg;
    uint64_t m = n < f->left ? n : f->left;
    f->left -= m;
    if (m)
        atomic_fetch_add(&f->k->count.bytes, m);
}

void feedback_put(coll *k, objstore *o, feed_put *f, uint64_t bytes)
{
    *o = k->o;
    f->k = k;
    f->left = bytes;
    if (k->pg) {
        o->moved = count_put;
        o->moved_arg = f;
    }
}

void feedback_put_done(feed_put *f, uint64_t files, int ok)
{
    feedback_done(f->k, ok ? files : 0, ok ? f->left : 0);
    f->left = 0;
}
