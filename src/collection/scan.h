/* scan.h - walks the backup's PATH operands by descriptor (fstatat and
 * openat beneath each directory, no symlink followed, sockets skipped as
 * the archive stage skips them) into a sorted list of manifest entries. */
#ifndef SLUICE_SCAN_H
#define SLUICE_SCAN_H

#include <stdatomic.h>

#include "manifest.h"

/* dir: -C DIR or NULL.  checksum: fill mentry.sha for regular files.
 * The tree is walked by descriptor: an entry found swapped for another
 * object between its fstatat and its open is said and left out, and
 * *changed set (the backup ends incomplete).  stop (or NULL): once set,
 * the walk ends soon (a backup that failed meanwhile).  Returns 0, or -1
 * with a message in err (an unreadable operand, or stopped). */
int scan_tree(const char *dir, char **operands, int n, int checksum,
              const atomic_int *stop, mlist *out, int *changed, char *err,
              size_t cap);

/* Opens regular file e (e->disk, relative to dir unless absolute) for
 * reading, one component at a time from the root's descriptor and never
 * through a symlink (O_NOFOLLOW|O_DIRECTORY on each directory), and
 * checks it is still the regular file of e's device and inode.  Returns
 * the descriptor, or -1 (errno: ESTALE when it is another object now). */
int scan_open_beneath(const char *dir, const mentry *e);
/* 1: entry e is still there, beneath its root (as above), the same
 * type, device and inode; 0: changed (or gone). */
int scan_unchanged(const char *dir, const mentry *e);
/* The d_type of e's type letter, as the archive stage's scanned= list
 * gives it. */
unsigned scan_dtype(char type);

#endif
