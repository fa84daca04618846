/*
 * unit-plan.c - the backup planner (src/collection/plan.c), a pure
 * function: scanned tree + parent manifest + object size -> what this
 * backup stores (doc/FORMAT.md 5.3, 5.5): changed entries, hard-link
 * groups kept together, packing into tar objects, big files split into
 * chunk objects, deletions.  Speaks TAP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* tap.h has a plan() of its own; the planner's type takes the name. */
#define plan tap_plan
#include "tap.h"
#undef plan
#include "../src/collection/plan.h"

/* Adds a file (or another type) to a list, sorted later. */
static mentry *add(mlist *l, const char *path, char type, uint64_t size,
                   uint64_t ino, uint64_t nlink)
{
    mentry *e = mlist_push(l);
    if (!e)
        bail("out of memory");
    e->path = strdup(path);
    e->disk = strdup(path);
    e->type = type;
    e->mode = 0644;
    e->size = size;
    e->mtime_ns = e->ctime_ns = 1000;
    e->ino = ino;
    e->dev = 1;
    e->nlink = nlink;
    return e;
}

/* A parent in which every entry of l was stored by backup "P" in
 * object 1 (a copy: same times and inodes, so unchanged). */
static void as_parent(const mlist *l, mlist *prev)
{
    for (size_t i = 0; i < l->n; i++) {
        mentry *e = add(prev, l->e[i].path, l->e[i].type, l->e[i].size,
                        l->e[i].ino, l->e[i].nlink);
        e->bid = mlist_id(prev, "P");
        e->obj = 1;
    }
    mlist_sort(prev);
}

static mentry *find(const mlist *l, const char *path)
{
    return mlist_find(l, path);
}

static void full_backup_packs_in_path_order(void)
{
    mlist cur = {0}, prev = {0};
    add(&cur, ".", 'd', 0, 1, 2);
    add(&cur, "a", 'f', 1000, 2, 1);
    add(&cur, "b", 'f', 1000, 3, 1);
    add(&cur, "c", 'f', 1000, 4, 1);
    mlist_sort(&cur);
    plan p;
    char err[200];
    /* 2048 bytes a tar object: "." (512) + a (1512) fill the first. */
    int rc = plan_make(&cur, &prev, "ID", 2048, 0, 0, &p, err, sizeof err);
    is_int(rc, 0, "a full backup plans");
    is_int((long long)p.n_obj, 3, "  into 3 tar objects of <= 2048 bytes");
    is_int((long long)p.files, 4, "  storing all 4 entries");
    is_int((long long)p.bytes_in, 3000, "  and their 3000 bytes");
    is_int(find(&cur, "a")->obj, 1, "  '.' and a share object 1");
    is_int(find(&cur, "b")->obj, 2, "  b is in object 2");
    is_int(find(&cur, "c")->obj, 3, "  c is in object 3");
    is_str(find(&cur, "c")->bid, "ID", "  entries name this backup");
    is_int((long long)p.obj[0].n_members, 2, "  object 1 lists 2 members");
    ok(p.obj[0].members[0] == 0 && p.obj[0].members[1] == 1,
       "  in path order");
    plan_free(&p);
    mlist_free(&cur);
}

static void unchanged_keeps_parent_and_deleted_listed(void)
{
    mlist cur = {0}, prev = {0};
    add(&cur, "a", 'f', 10, 2, 1);
    add(&cur, "b", 'f', 10, 3, 1);
    mlist_sort(&cur);
    as_parent(&cur, &prev);
    add(&prev, "gone", 'f', 5, 9, 1);
    mlist_sort(&prev);
    find(&cur, "b")->mtime_ns = 2000; /* b changed */
    plan p;
    char err[200];
    int rc = plan_make(&cur, &prev, "ID", 1 << 20, 0, 0, &p, err, sizeof err);
    is_int(rc, 0, "an incremental plans");
    is_str(find(&cur, "a")->bid, "P", "  an unchanged entry keeps the parent's");
    is_str(find(&cur, "b")->bid, "ID", "  a changed entry is stored again");
    is_int((long long)p.n_obj, 1, "  in one object");
    is_int((long long)p.files, 1, "  one entry stored");
    is_int((long long)p.n_deleted, 1, "  one deletion");
    is_str(p.n_deleted ? p.deleted[0] : "", "gone", "  naming the path");
    plan_free(&p);
    mlist_free(&cur);
    mlist_free(&prev);
}

static void hard_links_travel_together(void)
{
    mlist cur = {0}, prev = {0};
    add(&cur, "x1", 'f', 4000, 7, 2);
    add(&cur, "m", 'f', 4000, 8, 1);
    add(&cur, "z2", 'f', 4000, 7, 2);
    mlist_sort(&cur);
    as_parent(&cur, &prev);
    find(&cur, "z2")->ctime_ns = 5000; /* only one link changed */
    plan p;
    char err[200];
    /* object size 1000: the 4000-byte linked file stays whole */
    int rc = plan_make(&cur, &prev, "ID", 1000, 0, 0, &p, err, sizeof err);
    is_int(rc, 0, "hard links plan");
    is_str(find(&cur, "x1")->bid, "ID", "  the unchanged link is stored too");
    is_int(find(&cur, "x1")->obj, find(&cur, "z2")->obj,
           "  in the same object as its partner");
    is_int(find(&cur, "x1")->nchunks, 0, "  and not split");
    is_str(find(&cur, "m")->bid, "P", "  the unrelated file keeps the parent's");
    is_int((long long)p.n_obj, 1, "  one object");
    is_int((long long)p.obj[0].n_members, 2, "  holding both links");
    is_int((long long)p.bytes_in, 4000, "  counted once in bytes in");
    plan_free(&p);
    mlist_free(&cur);
    mlist_free(&prev);
}

static void big_files_split(void)
{
    mlist cur = {0}, prev = {0};
    add(&cur, "a", 'f', 10, 2, 1);
    add(&cur, "big", 'f', 2500, 3, 1);
    add(&cur, "c", 'f', 10, 4, 1);
    mlist_sort(&cur);
    plan p;
    char err[200];
    int rc = plan_make(&cur, &prev, "ID", 1000, 0, 0, &p, err, sizeof err);
    is_int(rc, 0, "a big file plans");
    const mentry *b = find(&cur, "big");
    is_int(b->obj, 2, "  its chunks follow object 1");
    is_int(b->nchunks, 3, "  ceil(2500 / 1000) = 3 chunks");
    is_int((long long)b->chunk, 1000, "  of the object size");
    is_int((long long)p.n_obj, 5, "  a, 3 chunks, then c in a new object");
    is_int(find(&cur, "c")->obj, 5, "  the tar object after it starts anew");
    ok(p.obj[1].chunk && p.obj[1].offset == 0 && p.obj[1].length == 1000,
       "  chunk 1: bytes 0..999");
    ok(p.obj[3].chunk && p.obj[3].offset == 2000 && p.obj[3].length == 500,
       "  chunk 3: the rest, 500 bytes");
    plan_free(&p);
    /* An unchanged split file keeps its field: no chunk stored again. */
    mlist next = {0};
    for (size_t i = 0; i < cur.n; i++) {
        mentry *e = add(&next, cur.e[i].path, 'f', cur.e[i].size,
                        cur.e[i].ino, 1);
        (void)e;
    }
    mlist_sort(&next);
    rc = plan_make(&next, &cur, "ID2", 1000, 0, 0, &p, err, sizeof err);
    is_int(rc, 0, "the next backup plans");
    is_int((long long)p.n_obj, 0, "  storing nothing");
    is_int(find(&next, "big")->nchunks, 3, "  the split file keeps 3 chunks");
    is_str(find(&next, "big")->bid, "ID", "  of the older backup");
    plan_free(&p);
    mlist_free(&next);
    mlist_free(&cur);
}

static void checksum_compares_contents(void)
{
    mlist cur = {0}, prev = {0};
    mentry *e = add(&cur, "a", 'f', 10, 2, 1);
    e->sha = strdup("aa");
    as_parent(&cur, &prev);
    prev.e[0].sha = strdup("aa");
    e->mtime_ns = 99; /* times differ, contents do not */
    plan p;
    char err[200];
    plan_make(&cur, &prev, "ID", 1000, 0, 1, &p, err, sizeof err);
    is_str(find(&cur, "a")->bid, "P", "--checksum: same SHA-256, unchanged");
    plan_free(&p);
    mlist_free(&cur);
    mlist_free(&prev);
}

/* Forgets what a plan wrote into the entries, to plan them again. */
static void unplan(mlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        l->e[i].bid = NULL;
        l->e[i].obj = 0;
    }
}

/* spread: 64 files of 1 MiB over 4 objects of equal size, each under
 * the object size; a small backup is not cut below the floor; a big file
 * still splits by the object size, not by the spread's target. */
static void spread_cuts_equal_objects(void)
{
    mlist cur = {0}, prev = {0};
    char name[32];
    for (int i = 0; i < 64; i++) {
        snprintf(name, sizeof name, "f%02d", i);
        add(&cur, name, 'f', 1u << 20, (uint64_t)i + 10, 1);
    }
    mlist_sort(&cur);
    plan p;
    char err[200];
    /* 64 MiB over 4 would be 16 MiB: at the floor, so 4 objects. */
    int rc = plan_make(&cur, &prev, "ID", 256u << 20, 4, 0, &p, err,
                       sizeof err);
    is_int(rc, 0, "spread: plans");
    is_int((long long)p.n_obj, 4, "  64 MiB over 4 objects");
    size_t most = 0, least = (size_t)-1;
    for (size_t i = 0; i < p.n_obj; i++) {
        most = p.obj[i].n_members > most ? p.obj[i].n_members : most;
        least = p.obj[i].n_members < least ? p.obj[i].n_members : least;
    }
    ok(most - least <= 1, "  of equal size (%zu..%zu members)", least, most);
    plan_free(&p);
    unplan(&cur);
    /* Over 8 the target would be 8 MiB: the floor (16 MiB, 15 members
     * of 1 MiB + 512) holds: 15, 15, 15, 15, 4. */
    rc = plan_make(&cur, &prev, "ID", 256u << 20, 8, 0, &p, err, sizeof err);
    is_int((long long)p.n_obj, 5, "  not cut below 16 MiB an object");
    is_int(p.n_obj ? (long long)p.obj[0].n_members : 0, 15,
           "  (15 members of 1 MiB in the first)");
    plan_free(&p);
    unplan(&cur);
    /* The object size still bounds every object. */
    rc = plan_make(&cur, &prev, "ID", 10u << 20, 2, 0, &p, err, sizeof err);
    is_int((long long)p.n_obj, 8, "  nor above the object size (10 MiB: 9 "
           "members each)");
    plan_free(&p);
    mlist_free(&cur);
    /* One file bigger than the target but within the object size: whole. */
    add(&cur, "big", 'f', 40u << 20, 1, 1);
    add(&cur, "small", 'f', 1u << 20, 2, 1);
    mlist_sort(&cur);
    rc = plan_make(&cur, &prev, "ID", 64u << 20, 4, 0, &p, err, sizeof err);
    is_int((long long)p.n_obj, 2, "  a file over the target is one object");
    ok(p.n_obj == 2 && !p.obj[0].chunk && !p.obj[1].chunk, "  not split");
    plan_free(&p);
    mlist_free(&cur);
}

int main(void)
{
    full_backup_packs_in_path_order();
    unchanged_keeps_parent_and_deleted_listed();
    hard_links_travel_together();
    big_files_split();
    checksum_compares_contents();
    spread_cuts_equal_objects();
    return done();
}
