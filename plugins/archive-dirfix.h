/*
 * archive-dirfix.h - a restored directory's owner, mode, times and
 * flags, set once nothing more is written inside it.
 *
 * Setting them at once would not do: writing a member moves the
 * directory's mtime, and a read-only mode would stop the writing.  So
 * extraction records them as it makes (or finds) each directory, and
 * applies them after the last member (archive-extract.c, apply_fixups).
 *
 * A record keeps the directory itself open while the descriptor budget
 * allows (half the soft limit, at most 16,384, for the whole process: a
 * collection restore runs several extractions at once).  Its metadata
 * then goes to the very directory that was made, whatever was renamed
 * since, and such records apply in any order, several threads at once:
 * setting a directory's metadata changes nothing of its parent's.  A record without a
 * descriptor is reached again by name, deepest first, before the others
 * (a parent's final mode may forbid the way down), and only if it is
 * still the directory that was made (device and inode).
 */
#ifndef SLUICE_ARCHIVE_DIRFIX_H
#define SLUICE_ARCHIVE_DIRFIX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct archive_entry;

typedef struct dirfix {
    char *path;            /* cleaned member name, "" for the target   */
    uint64_t seq;          /* position in the archive: the last wins   */
    int fd;                /* the directory, or -1: reached by name    */
    int do_chown;          /* owner differs from what mkdir gave       */
    uid_t uid;
    gid_t gid;
    mode_t perm;           /* the member's permission bits             */
    struct timespec ts[2]; /* atime, mtime; UTIME_OMIT when absent     */
    unsigned long fset, fclear; /* file flags to set and to clear      */
    struct archive_entry *e; /* kept for its xattrs and ACLs, or NULL  */
    int have_id;           /* without fd: the directory that was made  */
    dev_t dev;
    ino_t ino;
    /* errno of each failure, 0 when it went well */
    int err_owner, err_mode, err_times, err_flags;
} dirfix;

typedef struct dirfixes {
    dirfix *v;
    size_t n, cap;
    size_t budget;         /* descriptors the process may keep         */
} dirfixes;

/* budget: from RLIMIT_NOFILE. */
void dirfixes_init(dirfixes *d);
/* Closes what is still open and frees every record. */
void dirfixes_free(dirfixes *d);

/* A new record (zeroed, fd -1) at the end, or NULL: out of memory. */
dirfix *dirfixes_add(dirfixes *d);
/* Drops the last record (just added, nothing open): out of memory. */
void dirfixes_drop_last(dirfixes *d);
/* f->fd = the directory name in dirfd (NULL: dirfd itself), opened
 * O_NOFOLLOW, when the budget has room; else (or on failure) -1. */
void dirfixes_keep_open(dirfixes *d, dirfix *f, int dirfd,
                        const char *name);

/* Closes f->fd, if open, and gives it back to the budget. */
void dirfix_close(dirfix *f);

/* Deepest first ("a/b" before "a"), and only the last record of each
 * path (the others are freed). */
void dirfixes_settle(dirfixes *d);

/* The mode to give a member: with preserve, all of perm (less the
 * set-id bits when its owner could not be set), else without set-id and
 * sticky bits and with the umask applied, as tar does.  (For every
 * member, not only directories.) */
mode_t member_mode(mode_t perm, int preserve, mode_t umask, int chown_ok);
/* Sets and clears file flags on fd: 0, or the errno of the failure. */
int member_fflags(int fd, unsigned long set, unsigned long clear);

/* The two halves of applying a record to fd: owner and mode, then times
 * and flags (xattrs and ACLs, when any, go in between).  Failures are
 * recorded in f. */
void dirfix_owner_mode(dirfix *f, int fd, int preserve, mode_t umask);
void dirfix_times_flags(dirfix *f, int fd);

/* Applies every record that holds its directory and has no xattrs or
 * ACLs, on up to `threads` threads (the caller's included), and closes
 * its descriptor.  Records stay, with their results. */
void dirfixes_apply_kept(dirfixes *d, int threads, int preserve,
                         mode_t umask);

#endif
