/*
 * prune.h - what the two sweeps of `sluice prune` share (internal): the
 * set of live objects (computed once, from the INDEX's manifests), the
 * tally and the line printed per object.  prune.c sweeps local roots by
 * descriptor; prune-remote.c sweeps any other root through its stage's
 * list() (ABI 1.3), incomplete multipart uploads included.
 */
#ifndef SLUICE_COLLECTION_PRUNE_H
#define SLUICE_COLLECTION_PRUNE_H

#include <stdint.h>

#include "coll.h"

/* Sorted "ID/OBJ" strings: what the INDEX's backups reference (every
 * MANIFEST and data object); prune-remote.c also fills one with the
 * "ID/MANIFEST" found at a remote default root. */
typedef struct live {
    char **v;
    size_t n, cap;
} live;

int live_add(live *L, const char *id, const char *obj);
void live_sort(live *L);
int live_has(const live *L, const char *id, const char *obj);
void live_free(live *L);

typedef struct tally {
    uint64_t objects, bytes;
    uint64_t uploads, young; /* aborted (or would be); kept: in grace */
    int dry, failed;
    int64_t cutoff; /* uploads started before this are aborted */
} tally;

/* Counts an object removed (or, dry, to remove) and names it with -v or
 * --dry-run: "removed ROOT/REL (N bytes)". */
void prune_count(coll *k, tally *t, const char *root, const char *rel,
                 uint64_t size);

/* What is at the default root, for another destination's sweep: a
 * backup there is this collection's if the INDEX names it or the default
 * still has its MANIFEST (forgotten, not yet pruned).  bfd >= 0: the
 * local default's backups/ directory; else `manifests` (listed). */
typedef struct prune_dflt {
    int bfd;
    const live *manifests;
} prune_dflt;
int prune_ours(const prune_dflt *d, const char *id, const live *L);

/* Sweeps a root that is not a local directory, through its stage's
 * list(); dflt: NULL when root is the default.  Data objects go first,
 * then incomplete uploads started before t->cutoff, MANIFESTs last. */
void prune_remote(coll *k, tally *t, const char *root, const live *L,
                  const prune_dflt *dflt);
/* Lists a remote default root for the "ID/MANIFEST" it holds (sorted);
 * 0, or -1 (said). */
int prune_manifests(coll *k, const char *root, live *out);

#endif
