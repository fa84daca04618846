/* scan.h - walks the backup's PATH operands (lstat, no symlink followed,
 * sockets skipped as the archive stage skips them) into a sorted list of
 * manifest entries. */
#ifndef SLUICE_SCAN_H
#define SLUICE_SCAN_H

#include "manifest.h"

/* dir: -C DIR or NULL.  checksum: fill mentry.sha for regular files.
 * Returns 0, or -1 with a message in err (an unreadable operand). */
int scan_tree(const char *dir, char **operands, int n, int checksum,
              mlist *out, char *err, size_t cap);

/* SHA-256 of a file's contents as 64 hex digits; 0 or -1. */
int scan_hash_file(const char *path, char hex[65]);

#endif
