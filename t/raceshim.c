/*
 * raceshim.c - an LD_PRELOAD shim for t/race.t: plays the local user who
 * swaps a tree entry between the moment sluice -c scanned it (readdir,
 * fstatat) and the moment it opens it.  Built by `make check` only
 * (t/.libs/raceshim.so), never installed.
 *
 *   LD_PRELOAD=t/.libs/raceshim.so RACE_AT=sub RACE_MOVE=tree/sub \
 *       RACE_LINK=/root sluice -c -f x tree
 *
 * The first openat() whose path is exactly RACE_AT (the one name an entry
 * is opened by, relative to its directory's descriptor) first renames
 * RACE_MOVE to RACE_MOVE.aside, then puts in its place either RACE_IN
 * (renamed there) or a symlink to RACE_LINK, and then lets the openat go
 * on (open() too: RACE_AT is then the whole path).  RACE_LOG=FILE gets
 * the line "swapped" once that happened, so a test can check that its
 * race really was run.  Without RACE_AT the shim changes nothing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef int (*openat_fn)(int, const char *, int, ...);

static atomic_int done;

static void swap(const char *path)
{
    const char *at = getenv("RACE_AT"), *move = getenv("RACE_MOVE");
    if (!at || !move || strcmp(path, at) != 0 || atomic_exchange(&done, 1))
        return;
    char aside[4096];
    snprintf(aside, sizeof aside, "%s.aside", move);
    if (rename(move, aside) != 0)
        return;
    const char *in = getenv("RACE_IN"), *link_to = getenv("RACE_LINK");
    int ok = in ? rename(in, move) == 0
                : link_to ? symlink(link_to, move) == 0 : 0;
    const char *log = getenv("RACE_LOG");
    FILE *f = ok && log ? fopen(log, "a") : NULL;
    if (f) {
        fputs("swapped\n", f);
        fclose(f);
    }
}

static int forward(const char *sym, int dfd, const char *path, int flags,
                   mode_t mode)
{
    openat_fn real = (openat_fn)dlsym(RTLD_NEXT, sym);
    if (!real)
        real = (openat_fn)dlsym(RTLD_NEXT, "openat");
    swap(path);
    return real(dfd, path, flags, mode);
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
}

int openat(int dfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    return forward("openat", dfd, path, flags, m);
}

int openat64(int dfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    return forward("openat64", dfd, path, flags, m);
}

/* What _FORTIFY_SOURCE builds call instead. */
int __openat_2(int dfd, const char *path, int flags)
{
    return forward("openat", dfd, path, flags, 0);
}

int __openat64_2(int dfd, const char *path, int flags)
{
    return forward("openat64", dfd, path, flags, 0);
}

/* open() by a whole path (the file stage reading a split file's chunk,
 * t/coll-security.t): RACE_AT is then that path. */
typedef int (*open_fn)(const char *, int, ...);

static int forward_open(const char *sym, const char *path, int flags,
                        mode_t mode)
{
    open_fn real = (open_fn)dlsym(RTLD_NEXT, sym);
    swap(path);
    return real(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    return forward_open("open", path, flags, m);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    return forward_open("open64", path, flags, m);
}

/* RACE_STAT_AT=NAME: the swap happens just after the first lstat() or
 * fstatat() of NAME returns, i.e. between a walk's stat of an entry and
 * its open (the scan of `sluice backup`: it must not list a directory it
 * stat'ed once it has become a symlink). */
static void swap_after_stat(const char *path)
{
    const char *at = getenv("RACE_STAT_AT");
    if (at && !strcmp(path, at)) {
        setenv("RACE_AT", at, 1);
        swap(path);
    }
}

typedef int (*fstatat_fn)(int, const char *, struct stat *, int);
typedef int (*lstat_fn)(const char *, struct stat *);
typedef int (*fstatat64_fn)(int, const char *, struct stat64 *, int);
typedef int (*lstat64_fn)(const char *, struct stat64 *);

int fstatat(int dfd, const char *path, struct stat *st, int flags)
{
    fstatat_fn real = (fstatat_fn)dlsym(RTLD_NEXT, "fstatat");
    int rc = real(dfd, path, st, flags);
    swap_after_stat(path);
    return rc;
}

int fstatat64(int dfd, const char *path, struct stat64 *st, int flags)
{
    fstatat64_fn real = (fstatat64_fn)dlsym(RTLD_NEXT, "fstatat64");
    int rc = real(dfd, path, st, flags);
    swap_after_stat(path);
    return rc;
}

int lstat(const char *path, struct stat *st)
{
    lstat_fn real = (lstat_fn)dlsym(RTLD_NEXT, "lstat");
    int rc = real(path, st);
    swap_after_stat(path);
    return rc;
}

int lstat64(const char *path, struct stat64 *st)
{
    lstat64_fn real = (lstat64_fn)dlsym(RTLD_NEXT, "lstat64");
    int rc = real(path, st);
    swap_after_stat(path);
    return rc;
}
