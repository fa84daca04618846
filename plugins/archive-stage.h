/*
 * archive-stage.h - internal to the `archive` stage plugin (not part of the
 * sluice SDK): the stage context shared by its three roles and the
 * helpers they have in common.
 *
 *   archive.c          stage table, options, the reader over the input
 *                      stream, member selection, name escaping
 *   archive-create.c   forward SOURCE: walks the tree, writes pax
 *   archive-extract.c  reverse SINK: restores files safely under -C DIR
 *   archive-list.c     reverse TRANSFORM: `tar -t` style listing
 *
 * The plugin never changes the process's working directory, umask or
 * locale: other stages run on other threads.  Paths are resolved with
 * the *at() calls against directory descriptors, and libarchive's
 * character-set handling runs under a per-thread UTF-8 locale
 * (uselocale), so names are bytes in and bytes out.
 */
#ifndef SLUICE_ARCHIVE_STAGE_H
#define SLUICE_ARCHIVE_STAGE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* uselocale, O_PATH, O_NOATIME, FNM_LEADING_DIR */
#endif
#include <locale.h>
#include <stdint.h>
#include <sys/types.h>

#include <archive.h>
#include <archive_entry.h>

#include "sluice/plugin.h"

/* no-recursion extraction: one arg, canonical, and its position. */
struct arch_exact {
    char *name;
    size_t index;
};

/* What -x does with a non-directory member whose name exists on disk. */
enum { ARCH_OLD_REPLACE, /* replace it (default, as tar)               */
       ARCH_OLD_KEEP,    /* -k: keep it, report, run incomplete        */
       ARCH_OLD_SKIP };  /* --skip-old-files: keep it, silently        */

typedef struct arch_ctx {
    const sluice_api *api;
    sluice_host *host;
    int direction;
    unsigned role;

    /* options */
    char *directory;     /* -C; NULL = current directory             */
    char **args;         /* PATH operands / member names, in order    */
    size_t n_args;
    char **excludes;     /* --exclude patterns                        */
    size_t n_excludes;
    char *files_from;    /* -T FILE ("-" = stdin)                     */
    char *output;        /* -f FILE of -c: never archived (by dev/ino) */
    int null_sep;        /* --null                                    */
    int scanned;         /* files-from records "TYPE INO PATH" (a scan's):
                            each PATH reached beneath its root one
                            component at a time, never through a symlink,
                            and left out unless still that type and inode */
    int one_fs;          /* --one-file-system                         */
    int verbose;         /* 0, 1, 2                                   */
    int same_owner;      /* -1 = default (root: yes)                  */
    int numeric_owner;
    int preserve_perms;  /* -1 = default (root: yes)                  */
    int no_recursion;    /* create: operands only, no walk below them;
                            extract/list: an arg selects exactly the
                            member of that name, not what lies below */
    struct arch_exact *exact; /* no_recursion: args canonical, sorted */
    int wildcards;       /* -x/-t: args are globs (tar --wildcards)    */
    int to_stdout;       /* -x -O: member data to the output, in order */
    int old_files;       /* -x: an ARCH_OLD_* (-k, --skip-old-files)   */
    unsigned strip;      /* -x --strip-components N                   */
    int progress;        /* a progress line is shown: -c pre-scans the
                            operands to announce the archive's size   */

    int dirfd;           /* -C directory (or AT_FDCWD)                */

    /* run state */
    sluice_input *in;
    sluice_output *out;
    int io_status;       /* a host status from read_next/write, or 0  */
    /* -x: called before each read of the input, which may wait (the
     * restore writers are woken for what is queued), or NULL */
    void (*before_read)(void *arg);
    void *before_read_arg;
    unsigned char *matched; /* per arg: seen in the archive (-x, -t)  */
    locale_t loc, saved_loc;
} arch_ctx;

int arch_create(arch_ctx *c, sluice_output *out, sluice_error *err);
int arch_extract(arch_ctx *c, sluice_input *in, sluice_error *err);
int arch_list(arch_ctx *c, sluice_input *in, sluice_output *out,
              sluice_error *err);

/* A libarchive reader over the stage's input (every format and filter
 * libarchive knows), handing it the host's blocks without copying. */
struct archive *arch_reader_open(arch_ctx *c, sluice_input *in,
                                 sluice_error *err);

/* archive_read_next_header for -x and -t, with ARCHIVE_RETRY handled as
 * bsdtar does: a damaged stretch the reader can step over (a tar header
 * with a bad checksum, say) is reported once - "damaged archive,
 * skipping ..." - the run is marked incomplete, and the next header is
 * read, so that the members after the damage are still seen.  Retries
 * are bounded: each must consume input, and a reader that makes no
 * progress ends the run as a corrupt archive (ARCHIVE_FATAL, the reason
 * in archive_error_string).  Never returns ARCHIVE_RETRY. */
int arch_next_header(arch_ctx *c, struct archive *a,
                     struct archive_entry **e);

/* The status for a libarchive failure on `a`: the host's own status if
 * the input or output stream failed (SLUICE_E_CANCELED without a
 * message), else `code` with "<what>: <libarchive's message><suffix>". */
int arch_fail(arch_ctx *c, struct archive *a, int code, const char *what,
              const char *suffix, sluice_error *err);

/* Member selection for -x/-t: 1 if `name` is selected (not excluded,
 * and no args given, or it equals an arg or lies below one - with
 * --wildcards, matches an arg as a glob); marks the args it matched. */
int arch_selected(arch_ctx *c, const char *name);
/* tar --exclude: 1 if a pattern matches the whole name or a tail of it
 * starting after a '/' ('*' matches '/' too; a match on leading
 * directories excludes what lies below). */
int arch_excluded(const arch_ctx *c, const char *name);
/* After the whole archive was read: an error naming the args that
 * matched nothing, as tar's "NAME: Not found in archive". */
int arch_report_unmatched(arch_ctx *c, sluice_error *err);

/* Copies `name` into buf (cap bytes, NUL-terminated, truncated) with
 * control characters and backslashes escaped as bsdtar does, so that a
 * name always fits on one line. */
void arch_escape(const char *name, char *buf, size_t cap);

/* Canonical form of a member name for matching: no leading "/" or
 * "./", no trailing "/", no empty or "." components.  Writes into buf. */
void arch_canon(const char *name, char *buf, size_t cap);

#endif
