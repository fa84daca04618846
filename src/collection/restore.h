/* restore.h - what verify shares with restore: the data objects a list
 * of entries needs, each fetched once, several at once. */
#ifndef SLUICE_RESTORE_H
#define SLUICE_RESTORE_H

#include "coll.h"

/* Orders entries by (backup, object, path): qsort_r comparator. */
int cmp_group(const void *a, const void *b, void *arg);
/* Runs one job per tar object of v[0..n) (sorted by cmp_group, or in
 * any order keeping each object's entries together): extracts the
 * members into dir, or with list_only lists them to nothing (verify).
 * Every problem is said ("verb: damaged or missing object: ..."); the
 * others go on.  0 or the worst exit status. */
int extract_groups(coll *k, mentry **v, size_t n, const char *dir,
                   int list_only, const char *verb);
/* The data holder of hard-linked entry e: the first link in path order
 * stored in the same tar object (later links are tar hard links to it). */
const mentry *link_holder(const manifest *m, const mentry *e);
/* restore --to-stdout PATH (tostdout.c): that one regular file's bytes
 * on stdout, nothing else there. */
int restore_to_stdout(coll *k, const ixent *b, const manifest *m);

#endif
