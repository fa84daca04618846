/* plan.c - the backup planner; see plan.h. */
#define _GNU_SOURCE
#include "plan.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int same_entry(const mentry *a, const mentry *b, int checksum)
{
    if (a->type != b->type || a->mode != b->mode || a->uid != b->uid ||
        a->gid != b->gid || a->size != b->size || a->rdev != b->rdev)
        return 0;
    if ((a->link || b->link) &&
        (!a->link || !b->link || strcmp(a->link, b->link)))
        return 0;
    if (checksum && a->type == 'f')
        return a->sha && b->sha && !strcmp(a->sha, b->sha);
    return a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns &&
           a->ino == b->ino;
}

static int cmp_inode(const void *a, const void *b, void *arg)
{
    const mentry *e = arg;
    const mentry *x = &e[*(const size_t *)a], *y = &e[*(const size_t *)b];
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return 0;
}

static int hardlinked(const mentry *e)
{
    return e->type == 'f' && e->nlink > 1;
}

/* store[i] = 1: entry i is stored by this backup (new or changed, or a
 * hard link of one that is); unchanged entries take the parent's field.
 * group[i]: the first entry (in path order) of i's hard-link group. */
static int mark_changed(mlist *E, const mlist *prev, int checksum,
                        char *store, size_t *group)
{
    size_t *order = malloc((E->n + 1) * sizeof *order), nl = 0;
    if (!order)
        return -1;
    for (size_t i = 0; i < E->n; i++) {
        mentry *e = &E->e[i];
        const mentry *p = mlist_find(prev, e->path);
        group[i] = i;
        if (p && same_entry(e, p, checksum)) {
            if (!(e->bid = mlist_id(E, p->bid)))
                return free(order), -1;
            e->obj = p->obj;
            e->nchunks = p->nchunks; /* a split file: its chunk objects */
            e->chunk = p->chunk;
        } else {
            store[i] = 1;
        }
        if (hardlinked(e))
            order[nl++] = i;
    }
    /* Hard-linked files travel together: if one link is stored, all are
     * (the older backup's field is dropped). */
    qsort_r(order, nl, sizeof *order, cmp_inode, E->e);
    for (size_t a = 0; a < nl;) {
        size_t b = a, any = 0, first = order[a];
        for (; b < nl && !cmp_inode(&order[a], &order[b], E->e); b++) {
            any |= store[order[b]];
            first = order[b] < first ? order[b] : first;
        }
        for (size_t j = a; j < b; j++) {
            group[order[j]] = first;
            if (any && !store[order[j]]) {
                store[order[j]] = 1;
                E->e[order[j]].bid = NULL;
                E->e[order[j]].nchunks = 0;
            }
        }
        a = b;
    }
    free(order);
    return 0;
}

static plan_obj *new_obj(plan *p, size_t *cap)
{
    if (p->n_obj == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        plan_obj *g = realloc(p->obj, nc * sizeof *g);
        if (!g)
            return NULL;
        p->obj = g;
        *cap = nc;
    }
    plan_obj *o = &p->obj[p->n_obj++];
    memset(o, 0, sizeof *o);
    o->n = (unsigned)p->n_obj;
    return o;
}

/* Whether e is stored split into chunk objects: a regular file of one
 * link larger than an object (a hard-linked one stays whole with its
 * links, in one tar object). */
static int splits(const mentry *e, uint64_t osz)
{
    return e->type == 'f' && e->nlink <= 1 && e->size > osz;
}

/* Entry i becomes a split file: chunk objects of object_size bytes
 * (bid: this backup's id, as its list holds it). */
static int plan_split(plan *p, size_t *cap, mentry *e, size_t i,
                      const char *bid, uint64_t osz, char *err, size_t ecap)
{
    uint64_t nc = (e->size - 1) / osz + 1;
    if (nc > UINT_MAX - p->n_obj) {
        snprintf(err, ecap, "%s: %" PRIu64 " bytes need more than 2^32 "
                 "objects of --object-size %" PRIu64, e->path, e->size, osz);
        return -1;
    }
    e->bid = bid;
    e->obj = (unsigned)p->n_obj + 1;
    e->nchunks = (unsigned)nc;
    e->chunk = osz;
    for (uint64_t j = 0; j < nc; j++) {
        plan_obj *o = new_obj(p, cap);
        if (!o)
            return -1;
        o->chunk = 1;
        o->entry = i;
        o->offset = j * osz;
        o->length = e->size - o->offset < osz ? e->size - o->offset : osz;
    }
    p->files++;
    p->bytes_in += e->size;
    return 0;
}

/* What a member weighs when a backup is spread: its bytes and, for
 * the file it is, the bytes that cost as much to store or restore (an
 * open, a few calls, a create: about 16 KiB of compression or copying).
 * A tree of many small files then spreads as evenly as one of big ones. */
static uint64_t weight(const mentry *e)
{
    return e->size + (16u << 10);
}

/* The weight at which a spread tar object is closed: the weight of what
 * is stored in tar objects over `spread`, at least
 * PLAN_MIN_SPREAD_OBJECT; UINT64_MAX without spread.  Objects of equal
 * weight stored side by side end together: none is left to run alone. */
static uint64_t pack_target(const mlist *E, const char *store,
                            const size_t *group, uint64_t osz,
                            unsigned spread)
{
    if (spread <= 1)
        return UINT64_MAX;
    uint64_t total = 0;
    for (size_t i = 0; i < E->n; i++) {
        const mentry *e = &E->e[i];
        if (store[i] && group[i] == i && !splits(e, osz))
            total += weight(e);
    }
    uint64_t t = total / spread + 1;
    return t < PLAN_MIN_SPREAD_OBJECT ? PLAN_MIN_SPREAD_OBJECT : t;
}

/* Packs the stored entries into objects in path order: tar objects of
 * at most object_size (counting 512 bytes of header a member) and of a
 * weight of at most `target` (pack_target), a
 * hard-link group as one unit in the object of its first link (one
 * larger than object_size if the file is); a regular file of one link
 * larger than that is split, and the tar object after it starts anew.
 * One pass with a few cases side by side: kept whole for the order. */
static int pack(mlist *E, const char *store, const size_t *group,
                const char *id, uint64_t osz, uint64_t target, plan *p,
                char *err, size_t ecap)
{
    size_t cap = 0, nm = 0;
    uint64_t fill = 0, wfill = 0;
    plan_obj *tar = NULL; /* the tar object being filled */
    const char *bid = mlist_id(E, id);
    if (!bid)
        return -1;
    for (size_t i = 0; i < E->n; i++) {
        mentry *e = &E->e[i];
        if (!store[i])
            continue;
        if (splits(e, osz)) {
            if (plan_split(p, &cap, e, i, bid, osz, err, ecap) < 0)
                return -1;
            tar = NULL;
            continue;
        }
        if (group[i] != i) { /* a later link: in its first link's object */
            e->obj = E->e[group[i]].obj;
            e->bid = bid;
            p->member_store[nm++] = i;
            p->files++;
            continue;
        }
        uint64_t usize = e->size + 512, w = weight(e);
        if (!tar || (fill > 0 && (fill + usize > osz ||
                                  wfill + w > target))) {
            if (!(tar = new_obj(p, &cap)))
                return -1;
            fill = wfill = 0;
        }
        fill += usize;
        wfill += w;
        e->bid = bid;
        e->obj = tar->n;
        p->member_store[nm++] = i;
        p->files++;
        p->bytes_in += e->size;
        tar->data += e->size;
    }
    return 0;
}

/* members of each tar object: the stored entries naming it, in path
 * order (a later hard link joins its first link's object). */
static void index_members(const mlist *E, plan *p, size_t nm)
{
    size_t *count = calloc(p->n_obj + 1, sizeof *count);
    size_t *flat = malloc((nm + 1) * sizeof *flat);
    if (!count || !flat) {
        free(count);
        free(flat);
        free(p->member_store);
        p->member_store = NULL; /* plan_make says: out of memory */
        return;
    }
    for (size_t j = 0; j < nm; j++)
        count[E->e[p->member_store[j]].obj - 1]++;
    size_t at = 0;
    for (size_t o = 0; o < p->n_obj; o++) {
        p->obj[o].members = flat + at;
        at += p->obj[o].chunk ? 0 : count[o];
    }
    for (size_t j = 0; j < nm; j++) {
        plan_obj *o = &p->obj[E->e[p->member_store[j]].obj - 1];
        o->members[o->n_members++] = p->member_store[j];
    }
    free(p->member_store);
    p->member_store = flat;
    free(count);
}

static int list_deleted(const mlist *E, const mlist *prev, plan *p)
{
    for (size_t i = 0; i < prev->n; i++)
        if (!mlist_find(E, prev->e[i].path)) {
            char **g = realloc(p->deleted, (p->n_deleted + 1) * sizeof *g);
            if (!g)
                return -1;
            p->deleted = g;
            if (!(p->deleted[p->n_deleted] = strdup(prev->e[i].path)))
                return -1;
            p->n_deleted++;
        }
    return 0;
}

int plan_make(mlist *cur, const mlist *prev, const char *id,
              uint64_t object_size, unsigned spread, int checksum,
              plan *out, char *err, size_t cap)
{
    memset(out, 0, sizeof *out);
    snprintf(err, cap, "out of memory");
    char *store = calloc(cur->n + 1, 1);
    size_t *group = malloc((cur->n + 1) * sizeof *group);
    out->member_store = malloc((cur->n + 1) * sizeof *out->member_store);
    int rc = store && group && out->member_store ? 0 : -1;
    if (rc == 0)
        rc = mark_changed(cur, prev, checksum, store, group);
    if (rc == 0)
        rc = pack(cur, store, group, id, object_size,
                  pack_target(cur, store, group, object_size, spread), out,
                  err, cap);
    if (rc == 0) {
        size_t nm = 0;
        for (size_t i = 0; i < cur->n; i++)
            nm += store[i] && !cur->e[i].nchunks;
        index_members(cur, out, nm);
        rc = out->member_store ? 0 : -1;
    }
    if (rc == 0)
        rc = list_deleted(cur, prev, out);
    free(store);
    free(group);
    if (rc < 0)
        plan_free(out);
    return rc;
}

void plan_free(plan *p)
{
    for (size_t i = 0; i < p->n_deleted; i++)
        free(p->deleted[i]);
    free(p->deleted);
    free(p->obj);
    free(p->member_store);
    memset(p, 0, sizeof *p);
}
