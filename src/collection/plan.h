/*
 * plan.h - the backup planner (doc/FORMAT.md 5.3, 5.5): a pure function
 * (no I/O, no globals) from the scanned tree, the parent's manifest and
 * the object size to what this backup stores and where: which entries
 * changed (hard-link groups travel together), how they pack into tar
 * objects, and which big files split into chunk objects.
 */
#ifndef SLUICE_PLAN_H
#define SLUICE_PLAN_H

#include "manifest.h"

/* One data object of the backup: data-<n>. */
typedef struct plan_obj {
    unsigned n;
    /* A chunk of a split file: entry `entry`, bytes offset..+length. */
    int chunk;
    size_t entry;
    uint64_t offset, length;
    /* A tar object: entries members[0..n_members) (indices into the
     * scanned list, in path order). */
    size_t *members;
    size_t n_members;
    uint64_t data; /* tar: the file contents it holds (of bytes_in) */
} plan_obj;

typedef struct plan {
    plan_obj *obj;   /* in object order: obj[i].n == i + 1 */
    size_t n_obj;
    size_t *member_store; /* the members arrays point into it */
    char **deleted;  /* paths in the parent and gone now */
    size_t n_deleted;
    uint64_t files, bytes_in; /* entries stored, their contents */
} plan;

/* Tar objects are never cut smaller than this to spread a backup. */
#define PLAN_MIN_SPREAD_OBJECT (16u << 20)

/* Plans backup `id`.  cur: the scan (sorted by path); its entries get
 * their bid/obj/nchunks/chunk fields (unchanged ones: the parent's).
 * prev: the parent's entries (empty for a full backup).  spread: cut
 * the tar objects smaller than object_size, so that what is stored
 * spreads over about `spread` objects of equal weight (bytes, and 16
 * KiB a member for its file's own cost; each at least
 * PLAN_MIN_SPREAD_OBJECT) to be stored and restored side by side; 0 or
 * 1: fill each to object_size.  checksum: compare regular files by size and SHA-256.
 * Returns 0, or -1 with a message in err (out of memory, too many
 * objects). */
int plan_make(mlist *cur, const mlist *prev, const char *id,
              uint64_t object_size, unsigned spread, int checksum,
              plan *out, char *err, size_t cap);
void plan_free(plan *p);

#endif
