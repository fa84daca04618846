/*
 * archive-create.c - the archive stage forward: walk the PATH operands
 * and write a pax archive to the stage's output (sluice -c).
 *
 * The walk is our own, with openat/fstatat/fdopendir on directory
 * descriptors: libarchive's archive_read_disk walker fchdir()s the whole
 * process around every entry, which other threads cannot afford.  Each
 * entry's metadata (owner names, xattrs, ACLs, file flags, the sparse
 * map) still comes from libarchive, through
 * archive_read_disk_entry_from_file() on a descriptor we opened.
 *
 * Format: full pax (not "restricted"), so sub-second mtimes survive;
 * atime, ctime and birth time are dropped so that an entry only gets an
 * extended header when it needs one.  Hardlinks are written as links
 * (archive_entry_linkresolver), sparse files as GNU sparse 1.0.  A file
 * that cannot be opened is reported and left out before its header is
 * written (as GNU tar does), and the run is marked incomplete (exit 1).
 */
#include "archive-stage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define READ_BUF (1024u * 1024u)
/* File data is read straight into the output stream's blocks, at least
 * this much at a time (a block has room for SLUICE_RESERVE_MAX). */
#define DIRECT_MIN (64u * 1024u)

typedef struct cr_state {
    arch_ctx *c;
    struct archive *w;    /* the pax writer                             */
    struct archive *disk; /* for entry_from_file and owner names        */
    /* The same without ACLs, xattrs, file flags and the sparse map: for
     * the common entry that has none, it saves libarchive's probes for
     * them (an ACL getxattr, an fstat, a listxattr, an ioctl and six
     * lseeks per file). */
    struct archive *disk_plain;
    struct archive_entry_linkresolver *lr;
    struct archive_entry *entry;
    uint8_t *buf;         /* file data, READ_BUF bytes                  */
    uint8_t *zeros;       /* holes of sparse files, READ_BUF bytes      */
    char *name;           /* archive name of the entry at hand          */
    size_t name_len, name_cap;
    /* Without /proc only: the entry's path as the process sees it (-C
     * joined with the operand and below), for what libarchive does by
     * name.  Never used to open anything ourselves. */
    char *dpath;
    size_t dpath_len, dpath_cap;
    dev_t root_dev;       /* --one-file-system: device of the operand   */
    int have_proc;        /* /proc/self/fd usable for path access       */
    int warned_strip;
    /* Zero copy: file data pread into the output block at direct,
     * not yet committed; write_cb commits it when libarchive hands the
     * same bytes back instead of copying them. */
    uint8_t *direct;
    size_t direct_left;
    uint64_t written;     /* archive bytes handed to the output         */
    /* Regular files this process has open for writing when the walk
     * starts (the archive itself, the file sink's temporary file): never
     * archived, as tar never archives its own archive. */
    struct {
        dev_t dev;
        ino_t ino;
    } outputs[8];
    size_t n_outputs;
    /* scanned=1: the directories of the last record, each opened from
     * the one before it (see dirs_reach). */
    struct {
        int *fd;      /* fd[0]: the root (-C's or "/"), fd[i]: comp[i-1] */
        char **comp;
        size_t depth, cap;
        int abs;      /* fd[0] is "/" */
    } dirs;
    int scanned_ino; /* add_entry: d_ino is stat's, from the scan */
} cr_state;

static void warn(cr_state *s, const char *fmt, ...) SLUICE_PRINTF(2, 3);
static void warn(cr_state *s, const char *fmt, ...)
{
    char msg[SLUICE_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->c->api->log(s->c->host, SLUICE_LOG_WARNING, "%s", msg);
}

/* Reports a file left out (or damaged): the backup is incomplete. */
static void incomplete(cr_state *s, const char *what, int errnum)
{
    char esc[1024];
    arch_escape(s->name, esc, sizeof esc);
    warn(s, "%s %s: %s", what, esc, strerror(errnum));
    s->c->api->mark_incomplete(s->c->host);
}

/* Sets *buf to its first len bytes plus "/" plus add (no "/" if len is
 * 0 or the buffer ends in one). */
static int buf_set(char **buf, size_t *blen, size_t *bcap, size_t len,
                   const char *add, size_t add_len)
{
    size_t need = len + add_len + 2;
    if (need > *bcap) {
        size_t cap = *bcap ? *bcap : 256;
        while (cap < need)
            cap *= 2;
        char *p = realloc(*buf, cap);
        if (!p)
            return -1;
        *buf = p;
        *bcap = cap;
    }
    if (len && (*buf)[len - 1] != '/' && add_len)
        (*buf)[len++] = '/';
    memcpy(*buf + len, add, add_len);
    *blen = len + add_len;
    (*buf)[*blen] = '\0';
    return 0;
}

static int name_set(cr_state *s, size_t len, const char *add, size_t add_len)
{
    return buf_set(&s->name, &s->name_len, &s->name_cap, len, add, add_len);
}

/* Whether s is well-formed UTF-8 (pax names are UTF-8 when they can be). */
static int utf8_valid(const char *str)
{
    const unsigned char *p = (const unsigned char *)str;
    while (p && *p) {
        int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1
                             : (*p & 0xf0) == 0xe0 ? 2
                             : (*p & 0xf8) == 0xf0 ? 3 : -1;
        if (n < 0 || (n == 1 && *p < 0xc2))
            return 0;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xc0) != 0x80)
                return 0;
    }
    return 1;
}

/* ---- output ------------------------------------------------------------- */

static la_ssize_t write_cb(struct archive *a, void *ud, const void *buf,
                           size_t len)
{
    cr_state *s = ud;
    arch_ctx *c = s->c;
    int rc;
    if (s->direct_left && buf == s->direct && len <= s->direct_left) {
        /* Our own bytes, already in place in the output block. */
        rc = c->api->commit(c->out, len);
        s->direct += len;
        s->direct_left -= len;
    } else {
        /* Anything else would land on the reserved bytes: never mix. */
        if (s->direct_left) {
            s->direct_left = 0;
            s->direct = NULL;
            c->io_status = SLUICE_E_INTERNAL;
            archive_set_error(a, EIO, "unexpected write during file data");
            return -1;
        }
        rc = c->api->write(c->out, buf, len);
    }
    if (rc < 0) {
        c->io_status = rc;
        archive_set_error(a, EIO, "the output stream failed");
        return -1;
    }
    s->written += len;
    return (la_ssize_t)len;
}

/* ---- file data ---------------------------------------------------------- */

typedef struct region {
    int64_t off, len;
} region;

static int feed(cr_state *s, const void *p, size_t n)
{
    la_ssize_t w = archive_write_data(s->w, p, n);
    if (w < 0)
        return -1;
    return 0;
}

/* The file ended `missing` bytes early: said, and the run is marked
 * incomplete; the writer pads the entry with zeros in finish_entry. */
static void shrank(cr_state *s, int64_t missing)
{
    char esc[1024];
    arch_escape(s->name, esc, sizeof esc);
    warn(s, "%s: file shrank by %lld bytes while being read; padded with "
            "zeros", esc, (long long)missing);
    s->c->api->mark_incomplete(s->c->host);
}

/* Reads a file without holes straight into the output blocks: pread
 * into reserved space, then libarchive is fed that very space and
 * write_cb commits it in place (pax passes the data of an entry
 * without a sparse map through unchanged).  Returns 0 (a short file is
 * reported and padded by the writer), -1 writer failed, -2 cancelled. */
static int copy_direct(cr_state *s, int fd, int64_t size)
{
    const sluice_api *api = s->c->api;
    int64_t pos = 0;
    while (pos < size) {
        if (api->cancelled(s->c->host))
            return -2;
        size_t avail = 0;
        uint8_t *dst = api->reserve(s->c->out, DIRECT_MIN, &avail);
        if (!dst) {
            s->c->io_status = SLUICE_E_CANCELED;
            return -2;
        }
        size_t want = size - pos > (int64_t)avail ? avail
                                                  : (size_t)(size - pos);
        ssize_t n = pread(fd, dst, want, pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            incomplete(s, "read error on", errno);
            return 0;
        }
        if (n == 0) {
            shrank(s, size - pos);
            return 0;
        }
        s->direct = dst;
        s->direct_left = (size_t)n;
        int rc = feed(s, dst, (size_t)n);
        int all_taken = s->direct_left == 0;
        s->direct = NULL;
        s->direct_left = 0;
        if (rc < 0)
            return -1;
        if (!all_taken) {
            /* libarchive took fewer bytes (the entry is full: the file
             * grew) - nothing else can be pending. */
            break;
        }
        pos += n;
    }
    return 0;
}

/* Writes the data of a regular file from fd.  Returns 0, or -1 when the
 * writer failed (fatal; the caller reports it). */
static int copy_data(cr_state *s, int fd, int64_t size, region *regs,
                     size_t n_regs)
{
    /* Readahead hints pay only beyond what one read asks for. */
    if (size > (int64_t)READ_BUF)
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    if (n_regs == 0)
        return copy_direct(s, fd, size);
    int64_t pos = 0; /* logical bytes handed to the writer */
    int short_read = 0;
    for (size_t r = 0; r < n_regs && !short_read; r++) {
        int64_t off = regs[r].off, end = regs[r].off + regs[r].len;
        if (end > size)
            end = size;
        /* A hole: the pax writer skips these bytes, but wants them fed. */
        while (pos < off) {
            size_t n = off - pos > READ_BUF ? READ_BUF : (size_t)(off - pos);
            if (feed(s, s->zeros, n) < 0)
                return -1;
            pos += (int64_t)n;
        }
        while (pos < end) {
            if (s->c->api->cancelled(s->c->host))
                return -2;
            size_t want = end - pos > READ_BUF ? READ_BUF
                                               : (size_t)(end - pos);
            ssize_t n = pread(fd, s->buf, want, pos);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                incomplete(s, "read error on", errno);
                short_read = 1;
                break;
            }
            if (n == 0) {
                shrank(s, size - pos);
                short_read = 1;
                break;
            }
            if (feed(s, s->buf, (size_t)n) < 0)
                return -1;
            pos += n;
        }
    }
    /* The writer pads a short file with zeros in finish_entry. */
    return 0;
}

/* ---- opening an entry ----------------------------------------------------
 *
 * Every entry is opened by one name relative to its directory's
 * descriptor, never following a symlink (O_NOFOLLOW on the only
 * component there is: what openat2's RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS
 * would add on a longer path), and the object opened must be the one the
 * scan recorded - same device, inode and type - or it is left out with a
 * warning and the run ends incomplete (exit 1), as tar does for a file
 * that changed.  Metadata is then taken from the open descriptor, so what
 * is read and what is described are one object. */

/* Flags statx reports without an ioctl.  Only when a file has one of
 * them (or the file system reports none) are libarchive's file flags
 * asked for: FS_IOC_GETFLAGS per file was 1 of 8 system calls. */
#define STATX_FLAG_BITS (STATX_ATTR_COMPRESSED | STATX_ATTR_IMMUTABLE | \
                         STATX_ATTR_APPEND | STATX_ATTR_NODUMP)

/* fstat through statx; *has_flags says whether file flags may be set. */
static int stat_fd(int fd, struct stat *st, int *has_flags)
{
    struct statx x;
    if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT,
              STATX_BASIC_STATS, &x) < 0) {
        *has_flags = 1;
        return errno == ENOSYS ? fstat(fd, st) : -1;
    }
    memset(st, 0, sizeof *st);
    st->st_dev = makedev(x.stx_dev_major, x.stx_dev_minor);
    st->st_rdev = makedev(x.stx_rdev_major, x.stx_rdev_minor);
    st->st_ino = x.stx_ino;
    st->st_mode = x.stx_mode;
    st->st_nlink = x.stx_nlink;
    st->st_uid = x.stx_uid;
    st->st_gid = x.stx_gid;
    st->st_size = (off_t)x.stx_size;
    st->st_blksize = x.stx_blksize;
    st->st_blocks = (blkcnt_t)x.stx_blocks;
    st->st_atim.tv_sec = x.stx_atime.tv_sec;
    st->st_atim.tv_nsec = x.stx_atime.tv_nsec;
    st->st_mtim.tv_sec = x.stx_mtime.tv_sec;
    st->st_mtim.tv_nsec = x.stx_mtime.tv_nsec;
    st->st_ctim.tv_sec = x.stx_ctime.tv_sec;
    st->st_ctim.tv_nsec = x.stx_ctime.tv_nsec;
    *has_flags = !(x.stx_attributes_mask & STATX_FLAG_BITS) ||
                 (x.stx_attributes & STATX_FLAG_BITS);
    return 0;
}

static int same_object(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           (a->st_mode & S_IFMT) == (b->st_mode & S_IFMT);
}

static void changed(cr_state *s)
{
    char esc[1024];
    arch_escape(s->name, esc, sizeof esc);
    warn(s, "%s: file changed as we read it; not dumped", esc);
    s->c->api->mark_incomplete(s->c->host);
}

static int open_one(int pfd, const char *dname, int is_dir)
{
    int fl = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
    if (is_dir)
        return openat(pfd, dname, fl | O_DIRECTORY);
    fl |= O_NONBLOCK; /* a FIFO swapped in must not block the walk */
    int fd = openat(pfd, dname, fl | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = openat(pfd, dname, fl);
    return fd;
}

/* Opens the regular file or directory the scan recorded in *st (by
 * fstatat) and refreshes *st from the descriptor.  Returns it, -1 when
 * it cannot be opened (reported), -2 when it is another object now
 * (reported: leave the entry out). */
static int open_entry(cr_state *s, int pfd, const char *dname,
                      struct stat *st, int *has_flags)
{
    int is_dir = S_ISDIR(st->st_mode);
    int fd = open_one(pfd, dname, is_dir);
    if (fd < 0) {
        incomplete(s, is_dir ? "cannot open directory" : "cannot read",
                   errno);
        return -1;
    }
    struct stat now;
    if (stat_fd(fd, &now, has_flags) < 0 || !same_object(&now, st)) {
        changed(s);
        close(fd);
        return -2;
    }
    *st = now;
    return fd;
}

/* readdir said "regular file, inode d_ino": opened straight away, with
 * its metadata from the descriptor, which saves an fstatat per file.
 * Where readdir's inode number is not stat's (overlayfs), the name is
 * asked.  Returns the descriptor, or -1 to take the fstatat way (the
 * name is something else now, or could not be opened). */
static int open_listed_file(int pfd, const char *dname, ino_t d_ino,
                            int exact, struct stat *st, int *has_flags)
{
    int fd = open_one(pfd, dname, 0);
    if (fd < 0)
        return -1;
    if (stat_fd(fd, st, has_flags) == 0 && S_ISREG(st->st_mode)) {
        struct stat named;
        if (st->st_ino == d_ino ||
            (!exact && /* exact: d_ino is stat's (a scan's) */
             fstatat(pfd, dname, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
             same_object(&named, st)))
            return fd;
    }
    close(fd);
    return -1;
}

/* Without /proc, libarchive reads a symlink by its whole path, which
 * may pass through a symlink swapped in since: the target it got must be
 * the one the link has below its directory's descriptor. */
static int link_is(int pfd, const char *dname, const char *target)
{
    char buf[4096];
    ssize_t n = readlinkat(pfd, dname, buf, sizeof buf);
    return target && n >= 0 && (size_t)n < sizeof buf &&
           strlen(target) == (size_t)n && !memcmp(buf, target, (size_t)n);
}

static int is_output(const cr_state *s, const struct stat *st)
{
    for (size_t i = 0; i < s->n_outputs; i++)
        if (s->outputs[i].dev == st->st_dev && s->outputs[i].ino == st->st_ino)
            return 1;
    return 0;
}

static void note_output(cr_state *s, int fd)
{
    struct stat st;
    int fl;
    if (fd <= STDIN_FILENO || fd == STDERR_FILENO || s->n_outputs >= 8 ||
        (fl = fcntl(fd, F_GETFL)) < 0 || (fl & O_ACCMODE) == O_RDONLY ||
        fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || is_output(s, &st))
        return;
    s->outputs[s->n_outputs].dev = st.st_dev;
    s->outputs[s->n_outputs].ino = st.st_ino;
    s->n_outputs++;
}

/* Notes the regular files open for writing in this process (stdin and
 * stderr aside): the archive being written, wherever it goes.  The open
 * descriptors are listed by /proc, else the first 256 are tried. */
static void find_outputs(cr_state *s)
{
    DIR *d = s->have_proc ? opendir("/proc/self/fd") : NULL;
    if (d) {
        for (struct dirent *de; (de = readdir(d));)
            if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d))
                note_output(s, atoi(de->d_name));
        closedir(d);
    } else {
        for (int fd = 1; fd < 256; fd++)
            note_output(s, fd);
    }
    /* The archive's own path, which the file sink replaces at the end:
     * an earlier archive there is not archived either. */
    struct stat st;
    if (s->c->output && s->n_outputs < 8 && stat(s->c->output, &st) == 0 &&
        S_ISREG(st.st_mode) && !is_output(s, &st)) {
        s->outputs[s->n_outputs].dev = st.st_dev;
        s->outputs[s->n_outputs].ino = st.st_ino;
        s->n_outputs++;
    }
}

/* ---- entries ------------------------------------------------------------ */

static int walk_dir(cr_state *s, int dfd, sluice_error *err);

static int fatal_writer(cr_state *s, sluice_error *err)
{
    return arch_fail(s->c, s->w, SLUICE_E_IO, "cannot write the archive",
                     "", err);
}

/* Warns "<name>: <what>" for the entry being added. */
static void warn_entry(cr_state *s, const char *what)
{
    char esc[1024];
    arch_escape(s->name, esc, sizeof esc);
    warn(s, "%s: %s", esc, what);
}

/* Finds out what `dname` below pfd is, into *st, and opens it when it is
 * a regular file or a directory.  Returns the descriptor, -1 to go on
 * without one (a directory that cannot be opened is still archived), or
 * -2 to skip the entry (already said why). */
static int stat_and_open(cr_state *s, int pfd, const char *dname,
                         unsigned char d_type, ino_t d_ino, struct stat *st,
                         int *has_flags)
{
    int fd = -1;
    if (d_type == DT_REG)
        fd = open_listed_file(pfd, dname, d_ino, s->scanned_ino, st,
                              has_flags);
    if (fd >= 0)
        return fd;
    if (fstatat(pfd, dname, st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (s->scanned_ino) /* gone since the scan */
            changed(s);
        else
            incomplete(s, "cannot stat", errno);
        return -2;
    }
    /* readdir's type is the scan's record too; a scan's inode is
     * stat's (readdir's may not be: overlayfs). */
    if ((d_type != DT_UNKNOWN &&
         (mode_t)DTTOIF(d_type) != (st->st_mode & S_IFMT)) ||
        (s->scanned_ino && st->st_ino != d_ino)) {
        changed(s);
        return -2;
    }
    if (S_ISSOCK(st->st_mode)) {
        warn_entry(s, "socket ignored");
        return -2;
    }
    if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) {
        fd = open_entry(s, pfd, dname, st, has_flags);
        if (fd == -2 || (fd < 0 && S_ISREG(st->st_mode)))
            return -2;
        /* A directory that cannot be opened is still archived. */
    }
    return fd;
}

/* Path access for what libarchive does by name (readlink, xattrs of
 * symlinks and devices): through the parent's descriptor, never the
 * cwd; without /proc, the path joined from -C and the operand.  Uses
 * src (128 bytes) when it fits, else *heap (the caller frees it).
 * Returns NULL when out of memory. */
static const char *source_path(cr_state *s, int pfd, const char *dname,
                               char src[128], char **heap)
{
    if (pfd == AT_FDCWD)
        return dname; /* an absolute operand */
    if (!s->have_proc)
        return s->dpath;
    size_t need = strlen(dname) + 40;
    char *p = need <= 128 ? src : (*heap = malloc(need));
    if (!p)
        return NULL;
    snprintf(p, need, "/proc/self/fd/%d/%s", pfd, dname);
    return p;
}

/* Fills s->entry from the entry's metadata (ACLs, xattrs, link target).
 * Returns 0, 1 to skip the entry (already said why), or an error. */
static int read_metadata(cr_state *s, int pfd, const char *dname, int fd,
                         struct stat *st, int has_flags, sluice_error *err)
{
    char src[128];
    char *heap = NULL;
    const char *srcpath = source_path(s, pfd, dname, src, &heap);
    if (!srcpath)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");

    /* The plain reader when the entry has no ACLs or xattrs (listed by
     * listxattr on Linux, POSIX ACLs included) and cannot have holes
     * (fewer blocks than its size needs: GNU tar's test). */
    struct archive *disk = s->disk;
    if (fd >= 0 && !has_flags &&
        !(S_ISREG(st->st_mode) &&
          (int64_t)st->st_blocks * 512 < (int64_t)st->st_size) &&
        flistxattr(fd, NULL, 0) == 0)
        disk = s->disk_plain;
    struct archive_entry *e = s->entry;
    archive_entry_clear(e);
    archive_entry_copy_pathname(e, s->name);
    archive_entry_copy_sourcepath(e, srcpath);
    int r = archive_read_disk_entry_from_file(disk, e, fd, st);
    free(heap);
    if (r < ARCHIVE_WARN) {
        warn_entry(s, archive_error_string(disk));
        s->c->api->mark_incomplete(s->c->host);
        return 1;
    }
    if (r == ARCHIVE_WARN)
        warn_entry(s, archive_error_string(disk));
    if (S_ISLNK(st->st_mode) && !s->have_proc && pfd != AT_FDCWD &&
        !link_is(pfd, dname, archive_entry_symlink(e))) {
        changed(s);
        return 1;
    }
    archive_entry_copy_sourcepath(e, NULL);
    archive_entry_unset_atime(e);
    archive_entry_unset_ctime(e);
    archive_entry_unset_birthtime(e);
    return 0;
}

/* Keeps the data regions of e before the writer walks the sparse list.
 * Returns 0, or -1 when out of memory. */
static int keep_regions(struct archive_entry *e, region **regs,
                        size_t *n_regs)
{
    int n = archive_entry_sparse_reset(e);
    if (n > 0 && (*regs = malloc((size_t)n * sizeof **regs))) {
        la_int64_t off, len;
        while (archive_entry_sparse_next(e, &off, &len) == ARCHIVE_OK &&
               *n_regs < (size_t)n) {
            (*regs)[*n_regs].off = off;
            (*regs)[*n_regs].len = len;
            (*n_regs)++;
        }
    }
    return n > 0 && !*regs ? -1 : 0;
}

/* -v: the name as stored, and as -x/-t print it (GNU tar -cv too): "d/". */
static void list_entry(cr_state *s, const struct stat *st)
{
    char esc[1024];
    arch_escape(s->name, esc, sizeof esc - 1);
    size_t el = strlen(esc);
    if (S_ISDIR(st->st_mode) && el && esc[el - 1] != '/')
        strcpy(esc + el, "/");
    s->c->api->listing(s->c->host, esc);
}

/* Says why archive_write_header warned. */
static void header_warned(cr_state *s, struct archive_entry *le)
{
    /* libarchive then stores the names as raw bytes (hdrcharset=BINARY):
     * nothing is lost, say it plainly. */
    if (!utf8_valid(s->name) || !utf8_valid(archive_entry_symlink(le)) ||
        !utf8_valid(archive_entry_hardlink(le)))
        warn_entry(s, "name is not valid UTF-8; stored as raw bytes");
    else
        warn_entry(s, archive_error_string(s->w));
}

/* Copies the file's data after its header, and warns when it changed
 * while being read. */
static int write_data(cr_state *s, int fd, const struct stat *st,
                      struct archive_entry *le, region *regs, size_t n_regs,
                      sluice_error *err)
{
    int cr = copy_data(s, fd, archive_entry_size(le), regs, n_regs);
    if (cr == -2)
        return SLUICE_E_CANCELED;
    if (cr < 0)
        return fatal_writer(s, err);
    struct stat after;
    if (fstat(fd, &after) == 0 &&
        (after.st_size != st->st_size ||
         after.st_mtim.tv_sec != st->st_mtim.tv_sec ||
         after.st_mtim.tv_nsec != st->st_mtim.tv_nsec)) {
        warn_entry(s, "file changed as we read it");
        s->c->api->mark_incomplete(s->c->host);
    }
    return 0;
}

/* Writes the header and data of the entry in s->entry, hard links
 * resolved. */
static int write_entry(cr_state *s, int fd, const struct stat *st,
                       region *regs, size_t n_regs, sluice_error *err)
{
    struct archive_entry *spare = NULL, *le = s->entry;
    archive_entry_linkify(s->lr, &le, &spare);
    /* The tar strategy hands every entry straight back. */
    if (spare)
        archive_entry_free(spare);
    if (!le)
        return 0;
    if (s->c->verbose)
        list_entry(s, st);
    int r = archive_write_header(s->w, le);
    if (r == ARCHIVE_WARN)
        header_warned(s, le);
    if (r == ARCHIVE_FATAL)
        return fatal_writer(s, err);
    if (r == ARCHIVE_FAILED) {
        warn_entry(s, archive_error_string(s->w));
        s->c->api->mark_incomplete(s->c->host);
        return 0;
    }
    int rc = 0;
    if (S_ISREG(st->st_mode) && !archive_entry_hardlink(le) &&
        archive_entry_size(le) > 0)
        rc = write_data(s, fd, st, le, regs, n_regs, err);
    if (rc == 0 && archive_write_finish_entry(s->w) < ARCHIVE_WARN)
        rc = fatal_writer(s, err);
    return rc;
}

/* Adds the entry s->name, which is `dname` relative to directory pfd,
 * and, for a directory, what lies below it.  d_type and d_ino are what
 * readdir said of it (DT_UNKNOWN for an operand). */
static int add_entry(cr_state *s, int pfd, const char *dname, int is_root,
                     unsigned char d_type, ino_t d_ino, sluice_error *err)
{
    if (s->c->api->cancelled(s->c->host))
        return SLUICE_E_CANCELED;
    if (s->c->n_excludes && arch_excluded(s->c, s->name))
        return 0;

    struct stat st;
    int has_flags = 1;
    int fd = stat_and_open(s, pfd, dname, d_type, d_ino, &st, &has_flags);
    if (fd == -2)
        return 0;
    if (is_root)
        s->root_dev = st.st_dev;
    if (S_ISREG(st.st_mode) && is_output(s, &st)) {
        warn_entry(s, "file is the archive; not dumped");
        close(fd);
        return 0;
    }

    int rc = read_metadata(s, pfd, dname, fd, &st, has_flags, err);
    region *regs = NULL;
    size_t n_regs = 0;
    if (rc == 0 && S_ISREG(st.st_mode) && keep_regions(s->entry, &regs,
                                                       &n_regs) < 0)
        rc = sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    if (rc == 1) {
        rc = 0; /* skipped */
    } else if (rc == 0) {
        rc = write_entry(s, fd, &st, regs, n_regs, err);
        free(regs);
        if (rc == 0 && S_ISDIR(st.st_mode) && fd >= 0 &&
            !s->c->no_recursion &&
            !(s->c->one_fs && st.st_dev != s->root_dev))
            rc = walk_dir(s, fd, err);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

/* A directory entry as readdir listed it. */
typedef struct listed {
    char *name;
    ino_t ino;
    unsigned char type;
} listed;

static int cmp_names(const void *a, const void *b)
{
    return strcmp(((const listed *)a)->name, ((const listed *)b)->name);
}

/* Archives the contents of directory dfd (named s->name), in name order
 * so that archives of the same tree come out the same. */
static int walk_dir(cr_state *s, int dfd, sluice_error *err)
{
    int dup_fd = dup(dfd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        incomplete(s, "cannot read directory", errno);
        return 0;
    }
    listed *names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                incomplete(s, "cannot read directory", errno);
            break;
        }
        const char *dn = de->d_name;
        if (dn[0] == '.' && (!dn[1] || (dn[1] == '.' && !dn[2])))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            listed *g = realloc(names, cap * sizeof *names);
            if (!g) {
                rc = SLUICE_E_NOMEM;
                break;
            }
            names = g;
        }
        if (!(names[n].name = strdup(dn))) {
            rc = SLUICE_E_NOMEM;
            break;
        }
        names[n].ino = de->d_ino;
        names[n].type = de->d_type;
        n++;
    }
    closedir(d);
    if (rc == 0 && n > 1)
        qsort(names, n, sizeof *names, cmp_names);
    size_t base = s->name_len, dbase = s->dpath_len;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t l = strlen(names[i].name);
        if (name_set(s, base, names[i].name, l) < 0 ||
            (!s->have_proc && buf_set(&s->dpath, &s->dpath_len,
                                      &s->dpath_cap, dbase, names[i].name,
                                      l) < 0)) {
            rc = SLUICE_E_NOMEM;
            break;
        }
        rc = add_entry(s, dfd, names[i].name, 0, names[i].type, names[i].ino,
                       err);
    }
    s->name_len = base;
    s->name[base] = '\0';
    if (s->dpath) {
        s->dpath_len = dbase;
        s->dpath[dbase] = '\0';
    }
    for (size_t i = 0; i < n; i++)
        free(names[i].name);
    free(names);
    if (rc == SLUICE_E_NOMEM && !err->message[0])
        sluice_error_set(err, rc, "out of memory");
    return rc;
}

/* ---- operands ----------------------------------------------------------- */

/* The member name for an operand: tar strips leading "/" and "../"
 * (saying so once, unless s is NULL) and trailing slashes. */
static const char *member_name(cr_state *s, const char *arg, size_t *len)
{
    const char *p = arg;
    for (;;) {
        if (*p == '/')
            p++;
        else if (!strncmp(p, "../", 3))
            p += 3;
        else if (!strcmp(p, ".."))
            p += 2;
        else
            break;
    }
    if (p != arg && s && !s->warned_strip) {
        warn(s, "removing leading '%.*s' from member names",
             (int)(p - arg) > 32 ? 32 : (int)(p - arg), arg);
        s->warned_strip = 1;
    }
    size_t l = strlen(p);
    while (l > 1 && p[l - 1] == '/')
        l--;
    if (l == 0) {
        p = ".";
        l = 1;
    }
    *len = l;
    return p;
}

static int add_operand(cr_state *s, const char *arg, sluice_error *err)
{
    if (!*arg)
        return 0;
    size_t len;
    const char *nm = member_name(s, arg, &len);
    if (name_set(s, 0, nm, len) < 0)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    /* Relative operands are resolved against -C's descriptor, absolute
     * ones as they are. */
    int pfd = arg[0] == '/' ? AT_FDCWD : s->c->dirfd;
    if (!s->have_proc) {
        const char *dir = s->c->directory;
        size_t dl = 0;
        if (pfd != AT_FDCWD && dir && *dir) {
            dl = strlen(dir);
            if (buf_set(&s->dpath, &s->dpath_len, &s->dpath_cap, 0, dir,
                        dl) < 0)
                return sluice_error_set(err, SLUICE_E_NOMEM,
                                        "out of memory");
        }
        if (buf_set(&s->dpath, &s->dpath_len, &s->dpath_cap, dl, arg,
                    strlen(arg)) < 0)
            return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    }
    return add_entry(s, pfd, arg, 1, DT_UNKNOWN, 0, err);
}

/* Closes the kept directories below depth keep (all of them: 0). */
static void dirs_pop(cr_state *s, size_t keep)
{
    while (s->dirs.depth > keep) {
        size_t i = --s->dirs.depth;
        close(s->dirs.fd[i]);
        if (i > 0)
            free(s->dirs.comp[i - 1]);
    }
}

/* Opens directory comp below the kept top one (O_PATH|O_DIRECTORY|
 * O_NOFOLLOW: a symlink swapped in is never followed); 0 or -1. */
static int dirs_push(cr_state *s, const char *comp, size_t len)
{
    if (s->dirs.depth == s->dirs.cap) {
        size_t nc = s->dirs.cap ? 2 * s->dirs.cap : 16;
        int *f = realloc(s->dirs.fd, nc * sizeof *f);
        if (f)
            s->dirs.fd = f;
        char **c = f ? realloc(s->dirs.comp, nc * sizeof *c) : NULL;
        if (!c)
            return -1;
        s->dirs.comp = c;
        s->dirs.cap = nc;
    }
    int fd;
    char *name = strndup(comp, len);
    if (s->dirs.depth == 0)
        fd = s->dirs.abs ? open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)
                         : dup(s->c->dirfd);
    else
        fd = name ? openat(s->dirs.fd[s->dirs.depth - 1], name,
                           O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                  : -1;
    if (fd < 0 || !name) {
        if (fd >= 0)
            close(fd);
        free(name);
        return -1;
    }
    if (s->dirs.depth > 0)
        s->dirs.comp[s->dirs.depth - 1] = name;
    else
        free(name);
    s->dirs.fd[s->dirs.depth++] = fd;
    return 0;
}

/* The descriptor of the directory dir (its first dlen bytes; relative
 * to -C, or absolute), reached one component at a time as
 * dirs_push opens them.  Scanned records come in path order, so the
 * directories the last record's path shares with this one are still
 * open and kept (no walk from the root per record): a directory is
 * opened once per run of records below it.  Returns the descriptor
 * (kept: not to be closed) or -1. */
static int dirs_reach(cr_state *s, const char *dir, size_t dlen)
{
    int abs = dlen > 0 && dir[0] == '/';
    if (s->dirs.depth == 0 || s->dirs.abs != abs) {
        dirs_pop(s, 0);
        s->dirs.abs = abs;
        if (dirs_push(s, "", 0) < 0)
            return -1;
    }
    size_t level = 1; /* fd[level] is the next component's */
    for (size_t i = 0; i < dlen;) {
        size_t j = i;
        while (j < dlen && dir[j] != '/')
            j++;
        if (j > i) { /* "a//b", "/a": no empty component to open */
            if (level < s->dirs.depth &&
                strlen(s->dirs.comp[level - 1]) == j - i &&
                !memcmp(s->dirs.comp[level - 1], dir + i, j - i)) {
                level++;
            } else {
                dirs_pop(s, level);
                if (dirs_push(s, dir + i, j - i) < 0)
                    return -1;
                level++;
            }
        }
        i = j + 1;
    }
    dirs_pop(s, level);
    return s->dirs.fd[level - 1];
}

/* scanned=1: a record "TYPE INO PATH" (TYPE a d_type, as the scan saw
 * the entry).  PATH's directories are opened one component at a time
 * below its root (-C's descriptor, or "/"), O_NOFOLLOW|O_DIRECTORY, so a
 * directory swapped for a symlink since the scan is never followed; the
 * last component must still be TYPE and INO, else it is left out as
 * changed (incomplete).  The record's member name is PATH's, as for an
 * operand. */
static int add_scanned(cr_state *s, char *rec, sluice_error *err)
{
    unsigned type;
    unsigned long long ino;
    int at = 0;
    if (sscanf(rec, "%u %llu %n", &type, &ino, &at) != 2 || !at ||
        !rec[at])
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "scanned: a files-from record is not "
                                "\"TYPE INO PATH\"");
    char *path = rec + at;
    /* "etc/" as an operand: the walk below goes by components, and an
     * empty last one names nothing. */
    for (size_t l = strlen(path); l > 1 && path[l - 1] == '/';)
        path[--l] = '\0';
    size_t len;
    const char *nm = member_name(s, path, &len);
    if (name_set(s, 0, nm, len) < 0)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    if (!s->have_proc) /* never without /proc: refuse, do not guess */
        return sluice_error_set(err, SLUICE_E_UNSUPPORTED,
                                "scanned: needs /proc/self/fd");
    char *slash = strrchr(path, '/');
    const char *p = slash ? slash + 1 : path;
    int fd = dirs_reach(s, path, slash ? (size_t)(slash - path) + 1 : 0);
    if (fd < 0 || !*p) {
        changed(s);
        return 0;
    }
    /* add_entry checks TYPE and INO against what it opens or stats. */
    s->scanned_ino = 1;
    int rc = add_entry(s, fd, p, 1, (unsigned char)type, (ino_t)ino, err);
    s->scanned_ino = 0;
    return rc;
}

/* -T FILE: one name a line, or NUL-separated with --null. */
static int add_files_from(cr_state *s, sluice_error *err)
{
    const char *path = s->c->files_from;
    int is_stdin = !strcmp(path, "-");
    FILE *f = is_stdin ? stdin : fopen(path, "re");
    if (!f)
        return sluice_error_set(err, SLUICE_E_IO, "cannot open %s: %s", path,
                                strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    int delim = s->c->null_sep ? '\0' : '\n';
    for (;;) {
        ssize_t n = getdelim(&line, &cap, delim, f);
        if (n < 0)
            break;
        if (n > 0 && line[n - 1] == (char)delim)
            line[--n] = '\0';
        if (n == 0)
            continue;
        rc = s->c->scanned ? add_scanned(s, line, err)
                           : add_operand(s, line, err);
        if (rc < 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = sluice_error_set(err, SLUICE_E_IO, "cannot read %s: %s",
                              is_stdin ? "stdin" : path, strerror(errno));
    free(line);
    if (!is_stdin)
        fclose(f);
    return rc;
}

/* ---- size pre-scan, for the progress line ------------------------------ */

/* With a progress line shown (the option progress=1), a second thread
 * walks the operands as the archiver will - fstatat only, nothing is
 * opened for reading but directories - and announces the archive's
 * estimated size through api->progress_total, so that the line can show
 * a percentage and an ETA.  The estimate: a 512-byte header per entry,
 * plus an extended header for what ustar cannot hold (sub-second mtime,
 * long or non-ASCII names, long link targets, large numbers), the data
 * of regular files rounded up to 512 bytes (a hardlinked file once, a
 * sparse one by its allocated blocks) and the 1024-byte end of archive.
 * Extended attributes and ACLs are not counted.  When the archive is
 * complete its real size is announced, so the last line reads 100%. */

typedef struct link_key {
    dev_t dev;
    ino_t ino;
    int used;
} link_key;

typedef struct scan_state {
    arch_ctx *c;
    pthread_t thread;
    atomic_int stop;      /* set by the archiver when it is done        */
    uint64_t total;
    char *name;           /* archive name of the entry at hand          */
    size_t name_len, name_cap;
    dev_t root_dev;
    link_key *links;      /* regular files with st_nlink > 1 seen       */
    size_t n_links, cap_links;
    int failed;           /* out of memory: announce nothing            */
} scan_state;

static uint64_t round512(uint64_t n)
{
    return (n + 511) & ~(uint64_t)511;
}

static size_t link_slot(const link_key *t, size_t cap, dev_t dev, ino_t ino)
{
    uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ull) ^ (uint64_t)ino;
    h *= 0xff51afd7ed558ccdull;
    size_t i = (size_t)(h >> 17) & (cap - 1);
    while (t[i].used && (t[i].dev != dev || t[i].ino != ino))
        i = (i + 1) & (cap - 1);
    return i;
}

/* Whether this inode was counted already (and remembers it if not). */
static int scan_seen_link(scan_state *sc, dev_t dev, ino_t ino)
{
    if (2 * (sc->n_links + 1) > sc->cap_links) {
        size_t cap = sc->cap_links ? sc->cap_links * 2 : 256;
        link_key *t = calloc(cap, sizeof *t);
        if (!t)
            return 0; /* counted twice: an overestimate, no harm */
        for (size_t i = 0; i < sc->cap_links; i++)
            if (sc->links[i].used)
                t[link_slot(t, cap, sc->links[i].dev, sc->links[i].ino)] =
                    sc->links[i];
        free(sc->links);
        sc->links = t;
        sc->cap_links = cap;
    }
    size_t i = link_slot(sc->links, sc->cap_links, dev, ino);
    if (sc->links[i].used)
        return 1;
    sc->links[i].dev = dev;
    sc->links[i].ino = ino;
    sc->links[i].used = 1;
    sc->n_links++;
    return 0;
}

static int ascii_only(const char *p)
{
    for (; *p; p++)
        if ((unsigned char)*p >= 0x80)
            return 0;
    return 1;
}

static void scan_dir(scan_state *sc, int dfd);

/* Counts the entry sc->name (dname relative to pfd) and what is below. */
static void scan_entry(scan_state *sc, int pfd, const char *dname,
                       int is_root)
{
    arch_ctx *c = sc->c;
    if (sc->failed || atomic_load(&sc->stop) || c->api->cancelled(c->host))
        return;
    if (c->n_excludes && arch_excluded(c, sc->name))
        return;
    struct stat st;
    if (fstatat(pfd, dname, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
        S_ISSOCK(st.st_mode))
        return;
    if (is_root)
        sc->root_dev = st.st_dev;
    size_t nlen = sc->name_len + (S_ISDIR(st.st_mode) ? 1 : 0);
    uint64_t records = 0; /* bytes of pax extended header records */
    if (st.st_mtim.tv_nsec)
        records += 30;
    if (nlen > 100 || !ascii_only(sc->name))
        records += nlen + 12;
    if (S_ISLNK(st.st_mode) && st.st_size > 100)
        records += (uint64_t)st.st_size + 16;
    if (st.st_uid > 07777777 || st.st_gid > 07777777)
        records += 40;
    if (S_ISREG(st.st_mode) && st.st_size > 077777777777LL)
        records += 32;
    sc->total += 512 + (records ? 512 + round512(records) : 0);
    if (S_ISREG(st.st_mode) && st.st_size > 0 &&
        !(st.st_nlink > 1 && scan_seen_link(sc, st.st_dev, st.st_ino))) {
        uint64_t data = (uint64_t)st.st_size;
        uint64_t alloc = (uint64_t)st.st_blocks * 512;
        if (alloc < data) /* sparse: the data regions and their map */
            data = alloc + 512;
        sc->total += round512(data);
    }
    if (!S_ISDIR(st.st_mode) || c->no_recursion ||
        (c->one_fs && st.st_dev != sc->root_dev))
        return;
    int fd = openat(pfd, dname,
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        scan_dir(sc, fd);
        close(fd);
    }
}

static void scan_dir(scan_state *sc, int dfd)
{
    int dup_fd = dup(dfd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        return;
    }
    size_t base = sc->name_len;
    for (struct dirent *de;
         !sc->failed && !atomic_load(&sc->stop) && (de = readdir(d));) {
        const char *dn = de->d_name;
        if (dn[0] == '.' && (!dn[1] || (dn[1] == '.' && !dn[2])))
            continue;
        if (buf_set(&sc->name, &sc->name_len, &sc->name_cap, base, dn,
                    strlen(dn)) < 0) {
            sc->failed = 1;
            break;
        }
        scan_entry(sc, dfd, dn, 0);
    }
    closedir(d);
    sc->name_len = base;
    if (sc->name)
        sc->name[base] = '\0';
}

static void scan_operand(scan_state *sc, const char *arg)
{
    if (!*arg)
        return;
    size_t len;
    const char *nm = member_name(NULL, arg, &len);
    if (buf_set(&sc->name, &sc->name_len, &sc->name_cap, 0, nm, len) < 0) {
        sc->failed = 1;
        return;
    }
    scan_entry(sc, arg[0] == '/' ? AT_FDCWD : sc->c->dirfd, arg, 1);
}

static void *scan_thread(void *arg)
{
    scan_state *sc = arg;
    arch_ctx *c = sc->c;
    for (size_t i = 0; i < c->n_args && !sc->failed; i++)
        scan_operand(sc, c->args[i]);
    if (c->files_from && !sc->failed) {
        /* Read again from the start: a file, never stdin (see
         * scan_start). */
        FILE *f = fopen(c->files_from, "re");
        char *line = NULL;
        size_t cap = 0;
        int delim = c->null_sep ? '\0' : '\n';
        ssize_t n;
        while (f && !sc->failed && !atomic_load(&sc->stop) &&
               (n = getdelim(&line, &cap, delim, f)) >= 0) {
            if (n > 0 && line[n - 1] == (char)delim)
                line[--n] = '\0';
            if (n > 0)
                scan_operand(sc, line);
        }
        if (!f || ferror(f))
            sc->failed = 1;
        free(line);
        if (f)
            fclose(f);
    }
    if (!sc->failed && !atomic_load(&sc->stop) &&
        !c->api->cancelled(c->host)) {
        sc->total += 1024;
        c->api->log(c->host, SLUICE_LOG_DEBUG,
                    "pre-scan: the archive will be about %llu bytes",
                    (unsigned long long)sc->total);
        c->api->progress_total(c->host, sc->total);
    }
    return NULL;
}

/* Starts the pre-scan if a progress line is shown and the operands can
 * be read twice (not -T - : stdin is read once, by the archiver). */
static scan_state *scan_start(arch_ctx *c)
{
    if (!c->progress || (c->files_from && !strcmp(c->files_from, "-")))
        return NULL;
    scan_state *sc = calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    sc->c = c;
    atomic_init(&sc->stop, 0);
    if (pthread_create(&sc->thread, NULL, scan_thread, sc) != 0) {
        free(sc);
        return NULL;
    }
    return sc;
}

/* Stops the pre-scan (if it is still going) and frees it. */
static void scan_finish(scan_state *sc)
{
    if (!sc)
        return;
    atomic_store(&sc->stop, 1);
    pthread_join(sc->thread, NULL);
    free(sc->name);
    free(sc->links);
    free(sc);
}

int arch_create(arch_ctx *c, sluice_output *out, sluice_error *err)
{
    cr_state s = {0};
    scan_state *scan = NULL;
    int rc = 0;
    s.c = c;
    c->out = out;
    s.have_proc = access("/proc/self/fd", X_OK) == 0;
    s.w = archive_write_new();
    s.disk = archive_read_disk_new();
    s.disk_plain = archive_read_disk_new();
    s.lr = archive_entry_linkresolver_new();
    s.entry = archive_entry_new();
    s.buf = malloc(READ_BUF);
    s.zeros = calloc(1, READ_BUF);
    if (!s.w || !s.disk || !s.disk_plain || !s.lr || !s.entry || !s.buf || !s.zeros) {
        rc = sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
        goto done;
    }
    archive_entry_linkresolver_set_strategy(s.lr,
                                            ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);
    archive_read_disk_set_standard_lookup(s.disk);
    archive_read_disk_set_symlink_physical(s.disk);
    archive_read_disk_set_standard_lookup(s.disk_plain);
    archive_read_disk_set_symlink_physical(s.disk_plain);
    archive_read_disk_set_behavior(s.disk_plain, ARCHIVE_READDISK_NO_ACL |
                                                     ARCHIVE_READDISK_NO_XATTR |
                                                     ARCHIVE_READDISK_NO_FFLAGS |
                                                     ARCHIVE_READDISK_NO_SPARSE);
    if (archive_write_set_format_pax(s.w) != ARCHIVE_OK ||
        /* No blocking: the stream below has its own 256 KiB blocks, and
         * the archive ends right after its two zero records. */
        archive_write_set_bytes_per_block(s.w, 0) != ARCHIVE_OK ||
        archive_write_open(s.w, &s, NULL, write_cb, NULL) != ARCHIVE_OK) {
        rc = fatal_writer(&s, err);
        goto done;
    }
    find_outputs(&s);
    scan = scan_start(c);
    for (size_t i = 0; i < c->n_args && rc == 0; i++)
        rc = add_operand(&s, c->args[i], err);
    if (rc == 0 && c->files_from)
        rc = add_files_from(&s, err);
    if (rc == 0) {
        /* With the tar strategy nothing is held back, but drain anyway. */
        struct archive_entry *le = NULL, *spare = NULL;
        archive_entry_linkify(s.lr, &le, &spare);
        while (le) {
            if (archive_write_header(s.w, le) < ARCHIVE_WARN) {
                rc = fatal_writer(&s, err);
                break;
            }
            le = NULL;
            archive_entry_linkify(s.lr, &le, &spare);
        }
    }
    if (rc == 0 && archive_write_close(s.w) != ARCHIVE_OK)
        rc = fatal_writer(&s, err);
    scan_finish(scan);
    /* The estimate served its purpose: the real size, for the last line. */
    if (rc == 0 && c->progress)
        c->api->progress_total(c->host, s.written);
done:
    if (s.w)
        archive_write_free(s.w);
    if (s.disk)
        archive_read_free(s.disk);
    if (s.disk_plain)
        archive_read_free(s.disk_plain);
    if (s.lr)
        archive_entry_linkresolver_free(s.lr);
    if (s.entry)
        archive_entry_free(s.entry);
    free(s.buf);
    free(s.zeros);
    free(s.name);
    free(s.dpath);
    dirs_pop(&s, 0);
    free(s.dirs.fd);
    free(s.dirs.comp);
    return rc;
}
