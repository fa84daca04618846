/*
 * file.c - the `file` stage: local files and stdin/stdout as the two ends
 * of a chain.  As a source it reads a path ("-" = stdin); as a sink it
 * writes a path ("-" = stdout).
 *
 * A sink never leaves a half-written destination: it writes a temporary
 * file next to the target (same directory, so rename is atomic), fsyncs
 * it, and renames it into place only once the whole stream arrived and
 * the chain was not aborted meanwhile (api->cancelled, checked just
 * before the rename).  On any failure, or when the chain is aborted, the
 * temporary file is removed and the target is untouched.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sluice/plugin.h"

/* Poll interval for pipes and terminals, so a blocked read or write
 * notices an aborted chain. */
#define POLL_MS 100
#define WRITE_SLICE (64u * 1024u)

typedef struct file_ctx {
    const sluice_api *api;
    sluice_host *host;
    unsigned role;
    int fd;
    int is_stdio;
    int pollable;       /* a pipe, socket or terminal: may block      */
    char *path;         /* target, for messages and the final rename */
    char *tmp_path;     /* sink only: the temporary file              */
    int committed;
    int exclusive;      /* sink: create only; fail if the target exists */
    mode_t keep_mode;   /* mode of the target being replaced, or 0    */
    mode_t new_mode;    /* sink: mode of a new target (option mode=,
                           octal; default 0666), less the umask       */
    int ranged;         /* offset/length given                        */
    uint64_t offset, left; /* range: where, and bytes to read/write   */
    uint64_t synced, unsynced; /* sink: bytes whose write-back was started,
                                  and bytes written since */
} file_ctx;

#define WRITEBACK_EVERY (8u << 20)

/* A decimal option value, digits only; 0 absent, -1 malformed. */
static int range_opt(const sluice_stage_args *args, const char *key,
                     uint64_t *out)
{
    const char *v = sluice_kv_get(args->options, args->n_options, key);
    if (!v)
        return 0;
    uint64_t x = 0;
    if (!*v)
        return -1;
    for (const char *p = v; *p; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (*p < '0' || *p > '9' || x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *out = x;
    return 1;
}

/* A target that exists and is not a regular file (/dev/null, a FIFO, a
 * tape) is written in place: replacing it by a file would be wrong.  A
 * symlink is followed, so the rename replaces what it points to and the
 * link stays.  Returns 1 when it handled the target. */
static int open_special(file_ctx *f, const char *path, int *rc,
                        sluice_error *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return 0;
    if (S_ISREG(st.st_mode)) {
        /* Replacing a file keeps its permissions: restoring over a
         * private file must not publish it. */
        f->keep_mode = (st.st_mode & 07777) | S_IFREG;
        char *real = realpath(path, NULL);
        if (real) {
            free(f->path);
            f->path = real;
        }
        return 0;
    }
    if (S_ISDIR(st.st_mode)) {
        *rc = sluice_error_set(err, SLUICE_E_USAGE, "%s is a directory",
                               path);
        return 1;
    }
    f->fd = open(path, O_WRONLY | O_CLOEXEC);
    if (f->fd < 0)
        *rc = sluice_error_set(err, SLUICE_E_IO, "cannot open %s: %s", path,
                               strerror(errno));
    return 1;
}

/* The process umask, read without the umask(0)/umask(m) dance that would
 * race with other threads creating files. */
static mode_t current_umask(void)
{
    FILE *fp = fopen("/proc/self/status", "re");
    unsigned m = 022;
    if (fp) {
        char line[256];
        while (fgets(line, sizeof line, fp))
            if (sscanf(line, "Umask: %o", &m) == 1)
                break;
        fclose(fp);
    }
    return (mode_t)(m & 0777);
}

/* Reads offset=, length=, mode= and exclusive= into f. */
static int parse_file_options(const sluice_stage_args *args, file_ctx *f,
                              sluice_error *err)
{
    uint64_t len = UINT64_MAX;
    int ro = range_opt(args, "offset", &f->offset),
        rl = range_opt(args, "length", &len);
    if (ro < 0 || rl < 0 || ((ro || rl) && (!strcmp(f->path, "-") ||
                                           f->offset > INT64_MAX)))
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "offset=/length= take a decimal number, "
                                "and only for a file (not stdin/stdout)");
    const char *m = sluice_kv_get(args->options, args->n_options, "mode");
    char *m_end = NULL;
    f->new_mode = m ? (mode_t)strtoul(m, &m_end, 8) : 0666;
    if (m && (!*m || *m_end || f->new_mode > 0777))
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "mode='%s' is not an octal mode", m);
    f->ranged = ro || rl;
    f->left = len;
    const char *ex = sluice_kv_get(args->options, args->n_options, "exclusive");
    f->exclusive = ex && strcmp(ex, "0") != 0 && args->role == SLUICE_ROLE_SINK;
    return 0;
}

/* Creates the temporary file the sink writes, renamed over the target at
 * the end. */
static int open_temp(file_ctx *f, sluice_error *err)
{
    /* Same directory as the target, so the rename cannot cross file
     * systems. */
    const char *path = f->path; /* symlinks resolved */
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path + 1) : 0;
    const char *base = slash ? slash + 1 : path;
    size_t n = dir_len + strlen(base) + 32;
    f->tmp_path = malloc(n);
    if (!f->tmp_path)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    snprintf(f->tmp_path, n, "%.*s.%s.sluice-XXXXXX", (int)dir_len, path,
             base);
    f->fd = mkostemp(f->tmp_path, O_CLOEXEC);
    if (f->fd < 0) {
        int rc = sluice_error_set(err, SLUICE_E_IO,
                                  "cannot create a file next to %s: %s",
                                  path, strerror(errno));
        free(f->tmp_path);
        f->tmp_path = NULL;
        return rc;
    }
    return 0;
}

/* Opens f->fd: stdin/stdout, the file itself (a source, a ranged sink, a
 * device), or a temporary file next to it. */
static int open_file(file_ctx *f, const sluice_stage_args *args,
                     sluice_error *err)
{
    const char *path = f->path;
    int rc = 0;
    struct stat ex_st;
    if (f->exclusive && lstat(path, &ex_st) == 0) {
        rc = sluice_error_set(err, SLUICE_E_IO, "cannot create %s: %s", path,
                              strerror(EEXIST));
    } else if (strcmp(path, "-") == 0) {
        f->is_stdio = 1;
        f->fd = args->role == SLUICE_ROLE_SOURCE ? STDIN_FILENO
                                                 : STDOUT_FILENO;
    } else if (args->role == SLUICE_ROLE_SOURCE || f->ranged) {
        /* A ranged sink writes into an existing regular file in place
         * (a chunk of a split file at its offset): never created,
         * truncated or renamed. */
        f->fd = open(path, (f->ranged && args->role == SLUICE_ROLE_SINK
                                ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
        if (f->fd < 0)
            rc = sluice_error_set(err, SLUICE_E_IO, "cannot open %s: %s",
                                  path, strerror(errno));
    } else if (open_special(f, path, &rc, err)) {
        /* a device, FIFO or socket: written in place (rc set) */
    } else {
        rc = open_temp(f, err);
    }
    return rc;
}

/* Once open: pollable or not, the range's start, the size to expect. */
static int prepare_fd(file_ctx *f, const sluice_stage_args *args,
                      sluice_error *err)
{
    const char *path = f->path;
    struct stat st;
    if (fstat(f->fd, &st) == 0 && !S_ISREG(st.st_mode) &&
        !S_ISBLK(st.st_mode))
        f->pollable = 1;
    if (f->ranged && !S_ISREG(st.st_mode))
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "%s: offset=/length= need a regular file",
                                path);
    if (f->ranged && args->role == SLUICE_ROLE_SINK)
        return 0; /* pwrite() at offset + bytes so far: nothing to seek */
    if (f->ranged && lseek(f->fd, (off_t)f->offset, SEEK_SET) < 0)
        return sluice_error_set(err, SLUICE_E_IO, "cannot seek in %s: %s",
                                path, strerror(errno));
    if (args->role == SLUICE_ROLE_SOURCE && S_ISREG(st.st_mode)) {
        (void)posix_fadvise(f->fd, (off_t)f->offset, 0,
                            POSIX_FADV_SEQUENTIAL);
        uint64_t total = (uint64_t)st.st_size;
        total = total > f->offset ? total - f->offset : 0;
        args->api->progress_total(args->host, f->ranged && total > f->left
                                                  ? f->left : total);
    }
    return 0;
}

static int file_open(const sluice_stage_args *args, void **out,
                     sluice_error *err)
{
    const char *path = sluice_kv_get(args->options, args->n_options, "path");
    if (!path || !*path)
        return sluice_error_set(err, SLUICE_E_USAGE, "no path given");
    if (args->n_params)
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "takes no parameters (got '%s')",
                                args->params[0].key);
    file_ctx *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    }
    f->api = args->api;
    f->host = args->host;
    f->role = args->role;
    f->fd = -1;
    int rc = parse_file_options(args, f, err);
    if (rc == 0) {
        rc = open_file(f, args, err);
        if (rc == 0)
            rc = prepare_fd(f, args, err);
        if (rc < 0 && f->ranged && f->fd >= 0)
            close(f->fd);
    }
    if (rc < 0) {
        free(f->path);
        free(f);
        return rc;
    }
    *out = f;
    return 0;
}

/* Waits until fd is ready for events, polling the abort flag. */
static int wait_ready(file_ctx *f, short events)
{
    if (!f->pollable)
        return 0;
    for (;;) {
        if (f->api->cancelled(f->host))
            return SLUICE_E_CANCELED;
        struct pollfd p = {f->fd, events, 0};
        int n = poll(&p, 1, POLL_MS);
        if (n > 0)
            return 0; /* ready, or an error read()/write() will report */
        if (n < 0 && errno != EINTR)
            return 0;
    }
}

static const char *display_name(const file_ctx *f)
{
    if (!f->is_stdio)
        return f->path;
    return f->role == SLUICE_ROLE_SOURCE ? "stdin" : "stdout";
}

static int run_source(file_ctx *f, sluice_output *out, sluice_error *err)
{
    for (;;) {
        if (f->ranged && f->left == 0)
            return 0;
        size_t avail;
        uint8_t *p = f->api->reserve(out, SLUICE_RESERVE_MAX, &avail);
        if (!p)
            return SLUICE_E_CANCELED;
        if (f->ranged && avail > f->left)
            avail = (size_t)f->left;
        int rc = wait_ready(f, POLLIN);
        if (rc < 0)
            return rc;
        ssize_t n = read(f->fd, p, avail);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sluice_error_set(err, SLUICE_E_IO, "cannot read %s: %s",
                                    display_name(f), strerror(errno));
        if (n == 0 && f->ranged && f->left != UINT64_MAX)
            return sluice_error_set(err, SLUICE_E_IO,
                                    "%s ends before offset %llu + length: "
                                    "it changed while being read",
                                    display_name(f),
                                    (unsigned long long)f->offset);
        if (n == 0)
            return 0;
        if (f->ranged && f->left != UINT64_MAX)
            f->left -= (uint64_t)n;
        rc = f->api->commit(out, (size_t)n);
        if (rc < 0)
            return rc;
    }
}

static int write_all(file_ctx *f, const uint8_t *p, size_t len,
                     sluice_error *err)
{
    while (len > 0) {
        int rc = wait_ready(f, POLLOUT);
        if (rc < 0)
            return rc;
        size_t want = f->pollable && len > WRITE_SLICE ? WRITE_SLICE : len;
        ssize_t n = write(f->fd, p, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EPIPE)
            return sluice_error_set(err, SLUICE_E_PIPE, "%s: broken pipe",
                                    display_name(f));
        if (n < 0)
            return sluice_error_set(err, SLUICE_E_IO, "cannot write %s: %s",
                                    display_name(f), strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Makes the temporary file the target: fsync, rename, fsync the dir. */
static int commit_file(file_ctx *f, sluice_error *err)
{
    mode_t mode = f->keep_mode ? f->keep_mode & 07777
                               : f->new_mode & ~current_umask();
    if (fchmod(f->fd, mode) < 0)
        return sluice_error_set(err, SLUICE_E_IO,
                                "cannot set the mode of %s: %s", f->path,
                                strerror(errno));
    if (fsync(f->fd) < 0)
        return sluice_error_set(err, SLUICE_E_IO, "cannot sync %s: %s",
                                f->path, strerror(errno));
    if (close(f->fd) < 0) {
        f->fd = -1;
        return sluice_error_set(err, SLUICE_E_IO, "cannot close %s: %s", f->path,
                                strerror(errno));
    }
    f->fd = -1;
    /* The last moment to stop: an abort that came while the stream was
     * ending (a signal after its last block, or before the host could
     * wake this stage) must leave the target untouched.  From here on the
     * run is complete, and the host reports it so. */
    if (f->api->cancelled(f->host))
        return SLUICE_E_CANCELED;
    if (f->exclusive) {
        /* link() fails if the target appeared meanwhile: create-only. */
        if (link(f->tmp_path, f->path) < 0)
            return sluice_error_set(err, SLUICE_E_IO, "cannot create %s: %s",
                                    f->path, strerror(errno));
        unlink(f->tmp_path);
        f->committed = 1;
        return 0;
    }
    if (rename(f->tmp_path, f->path) < 0)
        return sluice_error_set(err, SLUICE_E_IO, "cannot rename into %s: %s",
                                f->path, strerror(errno));
    f->committed = 1;
    /* Make the rename itself durable. */
    char dir[PATH_MAX];
    const char *slash = strrchr(f->path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == f->path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - f->path), f->path);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* Starts writing back every 8 MiB as it arrives, so that the fsync
 * before the rename has little left to wait for (it was 6 % of a
 * backup's wall time); errors surface at that fsync. */
static void start_writeback(file_ctx *f, uint64_t n)
{
    f->unsynced += n;
    if (f->unsynced < WRITEBACK_EVERY)
        return;
    (void)sync_file_range(f->fd, (off64_t)f->synced, (off64_t)f->unsynced,
                          SYNC_FILE_RANGE_WRITE);
    f->synced += f->unsynced;
    f->unsynced = 0;
}

/* offset=[/length=] on a sink: the stream goes to bytes offset ..
 * offset+length-1 of the file; more than length bytes fail. */
static int write_range(file_ctx *f, const uint8_t *p, size_t len,
                       sluice_error *err)
{
    if (len > f->left)
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "%s: more than length= bytes for offset %llu",
                                f->path, (unsigned long long)f->offset);
    while (len > 0) {
        ssize_t n = pwrite(f->fd, p, len, (off_t)f->offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sluice_error_set(err, SLUICE_E_IO, "cannot write %s: %s",
                                    f->path, strerror(errno));
        p += n;
        len -= (size_t)n;
        f->offset += (uint64_t)n;
        f->left -= (uint64_t)n;
    }
    return 0;
}

static int run_sink(file_ctx *f, sluice_input *in, sluice_error *err)
{
    for (;;) {
        const uint8_t *p;
        ptrdiff_t n = f->api->read_next(in, &p);
        if (n < 0)
            return (int)n;
        if (n == 0)
            break;
        int rc = f->ranged ? write_range(f, p, (size_t)n, err)
                           : write_all(f, p, (size_t)n, err);
        if (rc < 0)
            return rc;
        if (f->tmp_path)
            start_writeback(f, (uint64_t)n);
    }
    if (f->tmp_path)
        return commit_file(f, err);
    return 0;
}

static int file_run(void *ctx, sluice_input *in, sluice_output *out,
                    sluice_error *err)
{
    file_ctx *f = ctx;
    return f->role == SLUICE_ROLE_SOURCE ? run_source(f, out, err)
                                         : run_sink(f, in, err);
}

static void file_close(void *ctx)
{
    file_ctx *f = ctx;
    if (!f)
        return;
    if (f->fd >= 0 && !f->is_stdio)
        close(f->fd);
    if (f->tmp_path && !f->committed)
        unlink(f->tmp_path); /* failed or aborted: leave nothing behind */
    free(f->tmp_path);
    free(f->path);
    free(f);
}

/* remove() (ABI 1.1): unlinks "path"; not there is fine. */
static int file_remove(const sluice_stage_args *args, sluice_error *err)
{
    const char *path = sluice_kv_get(args->options, args->n_options, "path");
    if (!path || !*path || !strcmp(path, "-"))
        return sluice_error_set(err, SLUICE_E_USAGE, "no path to remove");
    if (unlink(path) < 0 && errno != ENOENT)
        return sluice_error_set(err, SLUICE_E_IO, "cannot remove %s: %s",
                                path, strerror(errno));
    return 0;
}

/* ---- list (ABI 1.3) -------------------------------------------------------
 * The tree under a directory, read by descriptor (openat O_NOFOLLOW,
 * fdopendir): a symlink is an entry, never followed, so a link planted
 * in the tree cannot send the walk elsewhere.  Bounded: names of at most
 * SLUICE_ENTRY_NAME_MAX bytes, at most LIST_DEPTH levels (deeper is an
 * error, not a silent skip). */
#define LIST_DEPTH 16

typedef struct lister {
    sluice_list_fn fn;
    void *arg;
    const char *root;
    char name[SLUICE_ENTRY_NAME_MAX + 1]; /* the path relative to root */
    sluice_error *err;
} lister;

static int list_dir(lister *L, int dfd, size_t len, int depth);

/* One directory entry of dfd, whose relative name is L->name[0..len). */
static int list_entry(lister *L, int dfd, const char *d_name, size_t len,
                      int depth)
{
    size_t n = strlen(d_name);
    if (len + n + 1 > SLUICE_ENTRY_NAME_MAX)
        return sluice_error_set(L->err, SLUICE_E_IO, "%s: a name under it "
                                "is longer than %d bytes", L->root,
                                SLUICE_ENTRY_NAME_MAX);
    size_t at = len ? len + 1 : 0;
    if (len)
        L->name[len] = '/';
    memcpy(L->name + at, d_name, n + 1);
    struct stat st;
    if (fstatat(dfd, d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 /* gone meanwhile */
                               : sluice_error_set(L->err, SLUICE_E_IO,
                                                  "%s/%s: %s", L->root,
                                                  L->name, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        if (depth >= LIST_DEPTH)
            return sluice_error_set(L->err, SLUICE_E_IO, "%s/%s: more than "
                                    "%d directory levels", L->root, L->name,
                                    LIST_DEPTH);
        int fd = openat(dfd, d_name,
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return sluice_error_set(L->err, SLUICE_E_IO, "%s/%s: %s",
                                    L->root, L->name, strerror(errno));
        return list_dir(L, fd, at + n, depth + 1);
    }
    sluice_entry e = {sizeof e, S_ISREG(st.st_mode) ? SLUICE_ENTRY_OBJECT
                                                    : SLUICE_ENTRY_OTHER,
                      L->name, (uint64_t)st.st_size, (int64_t)st.st_mtime,
                      NULL};
    return L->fn(L->arg, &e);
}

/* Walks directory fd (taken over: closed here). */
static int list_dir(lister *L, int fd, size_t len, int depth)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return sluice_error_set(L->err, SLUICE_E_NOMEM, "out of memory");
    }
    int rc = 0;
    struct dirent *de;
    errno = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        rc = list_entry(L, dirfd(d), de->d_name, len, depth);
        L->name[len] = '\0';
        errno = 0;
    }
    if (rc == 0 && errno)
        rc = sluice_error_set(L->err, SLUICE_E_IO, "%s: cannot read: %s",
                              L->root, strerror(errno));
    closedir(d);
    return rc;
}

static int file_list(const sluice_stage_args *args, sluice_list_fn fn,
                     void *arg, sluice_error *err)
{
    const char *path = sluice_kv_get(args->options, args->n_options, "path");
    if (!path || !*path || !strcmp(path, "-"))
        return sluice_error_set(err, SLUICE_E_USAGE, "no directory to list");
    lister *L = malloc(sizeof *L);
    if (!L)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    L->fn = fn;
    L->arg = arg;
    L->root = path;
    L->name[0] = '\0';
    L->err = err;
    int rc, fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        rc = errno == ENOENT ? 0 /* nothing stored there */
                             : sluice_error_set(err, SLUICE_E_IO, "%s: %s",
                                                path, strerror(errno));
    else
        rc = list_dir(L, fd, 0, 0);
    free(L);
    return rc;
}

/* ABI 1.2: the keys this stage accepts (`sluice stages -v`). */
static const sluice_key keys[] = {
    {"path", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "file to read or write; '-' for stdin/stdout"},
    {"offset", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "source: start reading at this byte"},
    {"length", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "source: read at most this many bytes"},
    {"exclusive", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "sink: 1 = create the target only if it does not exist"},
    {"mode", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH,
     "sink: octal mode of a new target (e.g. 0600), before the umask"},
    {NULL, 0, NULL},
};

static const sluice_stage stages[] = {{
    "file",
    "local file or stdin/stdout; atomic replace of the target on write",
    SLUICE_ROLE_SOURCE | SLUICE_ROLE_SINK,
    SLUICE_ROLE_SOURCE | SLUICE_ROLE_SINK,
    SLUICE_STAGE_EXCLUSIVE, /* exclusive=1: link(), which fails if the
                               target exists */
    file_open,
    file_run,
    NULL,
    file_close,
    file_remove,
    keys,
    file_list,
    NULL, /* binding (ABI 1.4) */
}};

static const sluice_plugin plugin =
    SLUICE_PLUGIN_INIT("file", "0.1.0", stages);

SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void)
{
    return &plugin;
}
