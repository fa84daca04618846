/*
 * archive-extract.c - the archive stage as a restore SINK (sluice -x):
 * reads any archive libarchive understands from the input stream and
 * recreates its entries under the -C directory.
 *
 * Safety, by construction rather than by checking names alone:
 *   - every path is resolved from a descriptor of the target directory,
 *     one component at a time with O_NOFOLLOW: a symlink on the way
 *     (from the archive or already on disk) is never followed, and the
 *     member is refused;
 *   - leading "/" is stripped (as tar does, said once); a member with a
 *     ".." component is refused;
 *   - a hardlink's target is resolved the same way, so it is inside the
 *     target directory and was not reached through a symlink;
 *   - everything but directories is created under a temporary name in
 *     its final directory and renamed over the old name when complete,
 *     so an existing symlink is replaced, never written through, and no
 *     file is ever seen half-written.  The exception: a small file whose
 *     directory this run made (mode 0700 until the end, so no other user
 *     can look inside) is created under its own name, exclusively
 *     (O_EXCL|O_NOFOLLOW: nothing there is replaced or followed; anything
 *     in the way takes the temporary way), with all its data already in
 *     memory, and removed if writing fails;
 *   - directories get their final mode, owner and times last, deepest
 *     first, after all that goes inside them was written.
 * A refused member is reported and skipped, and the run is marked
 * incomplete (exit 1).  A corrupt or truncated stream stops the run: the
 * file in progress is removed, and the error names the last path that
 * was restored completely.
 *
 * We do not use archive_write_disk: it works relative to the process's
 * working directory (and chdir()s for very long names), and other
 * threads share that.
 */
#include "archive-stage.h"
#include "archive-bufs.h"
#include "archive-dirfix.h"
#include "archive-madeset.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define TMP_NAME_MAX 40
/* Directories kept open on the way to the last member's parent. */
#define LEVELS_MAX 32

/* Concurrent writers: creating and writing many small files costs far
 * more in system calls than decoding them, so small regular files are
 * handed to writer threads (one per core, at most WRITERS_MAX) while the
 * stage's own thread goes on reading the archive.  A member goes to a
 * writer when it is a plain regular file of at most JOB_MAX_SIZE bytes
 * (no hard link, holes, xattrs, ACLs or file flags); everything else is
 * restored in order on the stage's thread, after the writers are done
 * with any queued member whose name it could touch.  Queued data is
 * bounded (JOBS_MAX members, JOB_BYTES_MAX bytes), so memory stays flat. */
#define WRITERS_MAX 4
#define JOB_MAX_SIZE BUFS_MAX /* 1 MiB */
#define JOBS_MAX 64
#define JOB_BYTES_MAX (8u << 20)
/* Waking a writer for every member cost two futex calls and two context
 * switches per file: members are queued without a wake-up until
 * WAKE_JOBS of them or WAKE_BYTES are waiting, or the stage's thread is
 * about to wait itself (for input, room, or the writers); a writer takes
 * up to WRITER_TAKE at a time. */
#define WAKE_JOBS 16
#define WAKE_BYTES (512u << 10)
#define WRITER_TAKE 16
#define COLLECT_JOBS 32

/* A directory descriptor shared by the cache and queued members; only
 * the stage's thread takes and drops references. */
typedef struct dirref {
    int fd;
    int refs;
    int made;              /* made by this run's do_directory, still 0700 */
    int gid_known;
    gid_t new_gid;         /* the group a file created in it gets       */
} dirref;

enum job_step { JOB_OK, JOB_CREATE, JOB_WRITE, JOB_RENAME, JOB_CLOSE,
                JOB_CANCELLED };

typedef struct xjob {
    struct xjob *next;
    uint64_t seq;          /* position in the archive                   */
    char *name;            /* cleaned member name                       */
    const char *base;      /* its last component                        */
    dirref *dir;           /* the directory it goes in                  */
    uint8_t *data;
    size_t len, cap;       /* cap: data's size (archive-bufs.h)         */
    int do_chown;          /* owner differs from what creation gives    */
    uid_t uid;
    gid_t gid;
    mode_t perm;
    struct timespec ts[2];
    /* results, written by the writer */
    int step, err;         /* the step that failed, with its errno      */
    int err_owner, err_mode, err_times; /* errno of metadata failures   */
    char tmp[TMP_NAME_MAX];
} xjob;

typedef struct xpool {
    pthread_mutex_t lock;
    pthread_cond_t work;    /* a job was queued, or stop                */
    pthread_cond_t done;    /* a job finished                           */
    xjob *head, *tail;      /* queued                                   */
    xjob *finished, *finished_tail; /* finished, not yet collected      */
    size_t pending, bytes;  /* queued or running or finished, uncollected */
    size_t queued, queued_bytes; /* on head..tail                      */
    size_t n_finished;
    int idle;               /* writers waiting for work                 */
    int collecting;         /* the stage's thread waits on `done`       */
    int kick;               /* queued without waking a writer (the
                               stage's thread only)                     */
    int stop;
    pthread_t th[WRITERS_MAX];
    int n_threads;
    uint64_t tmp_seed;
    uint64_t tmp_counter;
    /* what the writers need of the stage */
    const sluice_api *api;
    sluice_host *host;
    int preserve;
    mode_t umask;
    /* members handed out and not collected, for name conflicts (the
     * stage's thread only) */
    xjob *live[JOBS_MAX];
    size_t n_live;
} xpool;

typedef struct idcache {
    char *name;
    long id; /* -1: unknown name */
    struct idcache *next;
} idcache;

/* One directory on the way to the last member's parent: the cleaned
 * path's first `end` bytes, open. */
typedef struct dirlevel {
    size_t end;
    dirref *ref;
} dirlevel;

typedef struct ex_state {
    arch_ctx *c;
    struct archive *r;
    int rootfd;
    /* The parent directory of the last member, resolved, with every
     * directory on the way to it (lv[0] the top-most): members come in
     * the order of a walk, so the next member's parent is reached from
     * the deepest of them it shares, not from the target again. */
    char *cache_path;
    size_t cache_len, cache_cap;
    int cache_valid;
    dirlevel *lv;
    size_t depth, cap_lv;
    dirref *root_ref;  /* the target's own entry (fd = rootfd)       */
    int cache_fd;
    /* the member being written under a temporary name */
    int tmp_dirfd;
    char tmp_name[TMP_NAME_MAX];
    dirfixes fixes;    /* directories whose metadata is set at the end */
    char *last_done;   /* last member restored completely */
    uint64_t seq, last_done_seq; /* members seen; last_done's position */
    dirref *cache_ref; /* the cache's reference on cache_fd          */
    madeset *made;     /* the directories do_directory made          */
    uid_t euid;
    gid_t egid;
    uint64_t tmp_seed, tmp_counter; /* temporary names               */
    xpool *pool;       /* concurrent writers, or NULL                */
    bufs bufs;         /* their members' data buffers (archive-bufs) */
    int same_owner, preserve;
    mode_t umask;
    idcache *users, *groups;
    int warned_abs, warned_xattr, warned_acl;
    int said_where;    /* "extraction stopped ..." is in err already */
} ex_state;

static void warn(ex_state *s, const char *fmt, ...) SLUICE_PRINTF(2, 3);
static void warn(ex_state *s, const char *fmt, ...)
{
    char msg[SLUICE_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->c->api->log(s->c->host, SLUICE_LOG_WARNING, "%s", msg);
}

/* A member not restored (or restored without some metadata). */
static void skip(ex_state *s, const char *name, const char *why)
{
    char esc[1024];
    arch_escape(name, esc, sizeof esc);
    warn(s, "%s: %s", esc, why);
    s->c->api->mark_incomplete(s->c->host);
}

static void skip_errno(ex_state *s, const char *name, const char *what,
                       int errnum)
{
    char why[300];
    snprintf(why, sizeof why, "%s: %s", what, strerror(errnum));
    skip(s, name, why);
}

/* The process umask, without the umask(0)/umask(m) dance that would race
 * with other threads creating files. */
static mode_t read_umask(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    unsigned m = 022;
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "Umask: %o", &m) == 1)
                break;
        fclose(f);
    }
    return (mode_t)(m & 0777);
}

/* ---- names -------------------------------------------------------------- */

/* Cleans a member name into out (same size as name + 2): drops leading
 * "/" (reported once) and "." components.  Returns -1 for a name with a
 * ".." component; an empty result stands for the target itself ("."). */
static int clean_name(ex_state *s, const char *name, char *out, int quiet)
{
    const char *p = name;
    size_t n = 0;
    if (*p == '/' && !quiet && !s->warned_abs) {
        warn(s, "removing leading '/' from member names");
        s->warned_abs = 1;
    }
    while (*p) {
        while (*p == '/')
            p++;
        const char *e = p;
        while (*e && *e != '/')
            e++;
        size_t len = (size_t)(e - p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return -1;
        if (len && !(len == 1 && p[0] == '.')) {
            if (n)
                out[n++] = '/';
            memcpy(out + n, p, len);
            n += len;
        }
        p = e;
    }
    out[n] = '\0';
    return 0;
}

static void dirref_put(ex_state *s, dirref *d)
{
    if (d && --d->refs == 0) {
        if (d->fd >= 0 && d->fd != s->rootfd)
            close(d->fd);
        free(d);
    }
}

/* Closes the levels below the first `keep`. */
static void cache_pop(ex_state *s, size_t keep)
{
    while (s->depth > keep)
        dirref_put(s, s->lv[--s->depth].ref);
    s->cache_len = s->depth ? s->lv[s->depth - 1].end : 0;
    s->cache_ref = s->depth ? s->lv[s->depth - 1].ref : s->root_ref;
    s->cache_fd = s->depth ? s->cache_ref->fd : s->rootfd;
}

static void cache_drop(ex_state *s)
{
    cache_pop(s, 0);
    s->cache_valid = 0;
    s->cache_fd = -1;
    s->cache_ref = NULL;
    free(s->cache_path);
    s->cache_path = NULL;
    s->cache_cap = 0;
    free(s->lv);
    s->lv = NULL;
    s->cap_lv = 0;
    dirref_put(s, s->root_ref); /* rootfd itself stays open */
    s->root_ref = NULL;
}

/* Opens directory `comp` below fd, never following a symlink; creates
 * it when missing and `create`.  Returns the descriptor, or -1 with
 * *why (and *errnum) set. */
static int open_component(int fd, const char *comp, int create,
                          const char **why, int *errnum)
{
    int flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int nfd = openat(fd, comp, flags);
    if (nfd < 0 && errno == ENOENT && create) {
        if (mkdirat(fd, comp, 0777) < 0 && errno != EEXIST) {
            *why = "cannot create directory";
            *errnum = errno;
            return -1;
        }
        nfd = openat(fd, comp, flags);
    }
    if (nfd < 0) {
        int en = errno;
        struct stat st;
        if ((en == ELOOP || en == ENOTDIR) &&
            fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode)) {
            *why = "refusing to write through a symbolic link on its "
                   "path";
        } else {
            *why = "cannot open directory on its path";
            *errnum = en;
        }
    }
    return nfd;
}

/* Opens directory `dir` (a cleaned relative path, "" = the target) one
 * component at a time, never following a symlink; creates missing
 * components when `create`.  Returns a descriptor the caller closes
 * unless it is s->rootfd, or -1 with *why set. */
static int open_dir_path(ex_state *s, const char *dir, int create,
                         const char **why, int *errnum)
{
    int fd = s->rootfd;
    const char *p = dir;
    char comp[NAME_MAX + 1];
    *errnum = 0;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > NAME_MAX) {
            *why = "name component too long";
            *errnum = ENAMETOOLONG;
            goto fail;
        }
        memcpy(comp, p, len);
        comp[len] = '\0';
        int nfd = open_component(fd, comp, create, why, errnum);
        if (nfd < 0)
            goto fail;
        if (fd != s->rootfd)
            close(fd);
        fd = nfd;
        p = e ? e + 1 : p + len;
    }
    return fd;
fail:
    if (fd != s->rootfd)
        close(fd);
    return -1;
}

/* Opens the components of s->cache_path from cache_len to `dlen` below
 * the deepest level, keeping each as a level.  Returns 0, or -1 with
 * *why set (the levels opened so far stay). */
static int cache_descend(ex_state *s, size_t dlen, int create,
                         const char **why, int *errnum)
{
    while (s->cache_len < dlen) {
        size_t at = s->cache_len ? s->cache_len + 1 : 0;
        const char *e = memchr(s->cache_path + at, '/', dlen - at);
        size_t end = e ? (size_t)(e - s->cache_path) : dlen;
        char comp[NAME_MAX + 1];
        if (end - at > NAME_MAX) {
            *why = "name component too long";
            *errnum = ENAMETOOLONG;
            return -1;
        }
        memcpy(comp, s->cache_path + at, end - at);
        comp[end - at] = '\0';
        if (s->depth == s->cap_lv) {
            size_t cap = s->cap_lv ? s->cap_lv * 2 : 16;
            dirlevel *g = realloc(s->lv, cap * sizeof *g);
            if (!g)
                goto nomem;
            s->lv = g;
            s->cap_lv = cap;
        }
        dirref *d = calloc(1, sizeof *d);
        if (!d)
            goto nomem;
        d->fd = open_component(s->cache_fd, comp, create, why, errnum);
        if (d->fd < 0) {
            free(d);
            return -1;
        }
        d->refs = 1;
        d->made = madeset_has(s->made, s->cache_path, end);
        /* Deeper than LEVELS_MAX, the deepest level moves down instead
         * (a 3000-level member must not hold 3000 descriptors). */
        if (s->depth == LEVELS_MAX)
            dirref_put(s, s->lv[--s->depth].ref);
        s->lv[s->depth].end = end;
        s->lv[s->depth].ref = d;
        s->depth++;
        s->cache_len = end;
        s->cache_ref = d;
        s->cache_fd = d->fd;
    }
    return 0;
nomem:
    *why = "out of memory";
    *errnum = ENOMEM;
    return -1;
}

/* The directory holding cleaned name `path` (members come in directory
 * order: the last one's parent is cached with the way to it); *base gets
 * the last component. */
static int parent_of(ex_state *s, const char *path, int create,
                     const char **base, const char **why, int *errnum)
{
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) : 0;
    *base = slash ? slash + 1 : path;
    *errnum = 0;
    if (s->cache_valid && s->cache_len == dlen &&
        !memcmp(s->cache_path, path, dlen))
        return s->cache_fd;
    if (!s->root_ref) {
        s->root_ref = calloc(1, sizeof *s->root_ref);
        if (!s->root_ref) {
            *why = "out of memory";
            *errnum = ENOMEM;
            return -1;
        }
        s->root_ref->fd = s->rootfd;
        s->root_ref->refs = 1;
    }
    /* Keep the levels the new parent shares, whole components only. */
    size_t keep = 0;
    while (s->cache_valid && keep < s->depth) {
        size_t end = s->lv[keep].end;
        if (end > dlen || (end < dlen && path[end] != '/') ||
            memcmp(s->cache_path, path, end))
            break;
        keep++;
    }
    cache_pop(s, keep);
    s->cache_valid = 1;
    if (dlen + 1 > s->cache_cap) {
        char *g = realloc(s->cache_path, dlen + 64);
        if (!g) {
            *why = "out of memory";
            *errnum = ENOMEM;
            return -1;
        }
        s->cache_path = g;
        s->cache_cap = dlen + 64;
    }
    memcpy(s->cache_path, path, dlen);
    s->cache_path[dlen] = '\0';
    if (cache_descend(s, dlen, create, why, errnum) < 0) {
        s->cache_path[s->cache_len] = '\0';
        return -1;
    }
    return s->cache_fd;
}

/* ---- temporary names ---------------------------------------------------- */

/* A name for a temporary: a random seed drawn once per run, and a
 * counter (getrandom per name was one more system call per member).
 * Creation is exclusive, so a name taken meanwhile only costs a retry. */
static uint64_t tmp_seed_new(const void *salt)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
        r = ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)salt;
    return r;
}

static void tmp_name_make(char *buf, uint64_t seed, uint64_t *counter)
{
    uint64_t n = __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
    snprintf(buf, TMP_NAME_MAX, ".sluice-%016llx.tmp",
             (unsigned long long)(seed ^ (n * 0x9e3779b97f4a7c15ull)));
}

static void tmp_new_name(ex_state *s)
{
    tmp_name_make(s->tmp_name, s->tmp_seed, &s->tmp_counter);
}

/* Removes the member in progress, if any. */
static void tmp_discard(ex_state *s)
{
    if (s->tmp_dirfd >= 0 && s->tmp_name[0])
        unlinkat(s->tmp_dirfd, s->tmp_name, 0);
    s->tmp_dirfd = -1;
    s->tmp_name[0] = '\0';
}

/* Renames the finished temporary over `base`; a directory in the way
 * is removed if empty. */
static int tmp_commit(ex_state *s, int pfd, const char *base)
{
    /* -k and --skip-old-files: what appeared since keep_old_file looked
     * stays too (a file system without RENAME_NOREPLACE: as checked). */
    int keep = s->c->old_files != ARCH_OLD_REPLACE;
    int rc = keep ? renameat2(pfd, s->tmp_name, pfd, base, RENAME_NOREPLACE)
                  : -1;
    if (!keep || (rc < 0 && errno == EINVAL))
        rc = renameat(pfd, s->tmp_name, pfd, base);
    if (rc < 0 && !keep && (errno == EISDIR || errno == ENOTEMPTY ||
                   errno == EEXIST)) {
        /* pfd is the cached parent (parent_of just resolved it for this
         * member), and removing one of its entries leaves it valid: the
         * cache stays, so pfd stays open for what follows. */
        if (unlinkat(pfd, base, AT_REMOVEDIR) == 0)
            rc = renameat(pfd, s->tmp_name, pfd, base);
        else
            errno = EISDIR;
    }
    if (rc == 0) {
        s->tmp_dirfd = -1;
        s->tmp_name[0] = '\0';
    }
    return rc;
}

/* ---- owners, modes, times, xattrs, ACLs ---------------------------------- */

static long lookup_id(idcache **list, const char *name, int group)
{
    for (idcache *e = *list; e; e = e->next)
        if (!strcmp(e->name, name))
            return e->id;
    long id = -1;
    char buf[4096];
    if (group) {
        struct group gr, *res = NULL;
        if (getgrnam_r(name, &gr, buf, sizeof buf, &res) == 0 && res)
            id = (long)res->gr_gid;
    } else {
        struct passwd pw, *res = NULL;
        if (getpwnam_r(name, &pw, buf, sizeof buf, &res) == 0 && res)
            id = (long)res->pw_uid;
    }
    idcache *e = malloc(sizeof *e);
    if (e && (e->name = strdup(name))) {
        e->id = id;
        e->next = *list;
        *list = e;
    } else {
        free(e);
    }
    return id;
}

static void owner_of(ex_state *s, struct archive_entry *e, uid_t *uid,
                     gid_t *gid)
{
    *uid = (uid_t)archive_entry_uid(e);
    *gid = (gid_t)archive_entry_gid(e);
    if (s->c->numeric_owner)
        return;
    const char *un = archive_entry_uname(e), *gn = archive_entry_gname(e);
    long id;
    if (un && *un && (id = lookup_id(&s->users, un, 0)) >= 0)
        *uid = (uid_t)id;
    if (gn && *gn && (id = lookup_id(&s->groups, gn, 1)) >= 0)
        *gid = (gid_t)id;
}

static mode_t mode_of(ex_state *s, struct archive_entry *e, int chown_ok)
{
    return member_mode(archive_entry_perm(e), s->preserve, s->umask,
                       chown_ok);
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
    if (archive_entry_atime_is_set(e)) {
        ts[0].tv_sec = archive_entry_atime(e);
        ts[0].tv_nsec = archive_entry_atime_nsec(e);
    } else {
        ts[0].tv_sec = 0;
        ts[0].tv_nsec = UTIME_OMIT;
    }
    if (archive_entry_mtime_is_set(e)) {
        ts[1].tv_sec = archive_entry_mtime(e);
        ts[1].tv_nsec = archive_entry_mtime_nsec(e);
    } else {
        ts[1].tv_sec = 0;
        ts[1].tv_nsec = UTIME_OMIT;
    }
}

/* POSIX ACLs go in as the kernel's system.posix_acl_* xattr format, so
 * no libacl is needed. */
#define ACL_XATTR_VERSION 2
static int acl_value(ex_state *s, struct archive_entry *e, int type,
                     uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (archive_entry_acl_reset(e, type) <= (type ==
                                             ARCHIVE_ENTRY_ACL_TYPE_ACCESS
                                                 ? 3
                                                 : 0))
        return 0;
    struct ent {
        uint16_t tag, perm;
        uint32_t id;
    } *v = NULL;
    size_t n = 0, cap = 0;
    int t, perm, tag, id;
    const char *name;
    while (archive_entry_acl_next(e, type, &t, &perm, &tag, &id, &name) ==
           ARCHIVE_OK) {
        uint16_t k;
        uint32_t xid = 0xffffffffu;
        switch (tag) {
        case ARCHIVE_ENTRY_ACL_USER_OBJ: k = 0x01; break;
        case ARCHIVE_ENTRY_ACL_USER: k = 0x02; break;
        case ARCHIVE_ENTRY_ACL_GROUP_OBJ: k = 0x04; break;
        case ARCHIVE_ENTRY_ACL_GROUP: k = 0x08; break;
        case ARCHIVE_ENTRY_ACL_MASK: k = 0x10; break;
        case ARCHIVE_ENTRY_ACL_OTHER: k = 0x20; break;
        default: continue;
        }
        if (k == 0x02 || k == 0x08) {
            long lid = -1;
            if (!s->c->numeric_owner && name && *name)
                lid = lookup_id(k == 0x02 ? &s->users : &s->groups, name,
                                k == 0x08);
            xid = (uint32_t)(lid >= 0 ? lid : id);
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            struct ent *g = realloc(v, cap * sizeof *v);
            if (!g) {
                free(v);
                return -1;
            }
            v = g;
        }
        v[n].tag = k;
        v[n].perm = (uint16_t)(perm & 7);
        v[n].id = xid;
        n++;
    }
    /* The kernel wants them sorted by tag, then id. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && (v[j - 1].tag > v[j].tag ||
                                     (v[j - 1].tag == v[j].tag &&
                                      v[j - 1].id > v[j].id));
             j--) {
            struct ent tmp = v[j];
            v[j] = v[j - 1];
            v[j - 1] = tmp;
        }
    uint8_t *b = malloc(4 + 8 * n);
    if (!b) {
        free(v);
        return -1;
    }
    uint32_t ver = ACL_XATTR_VERSION;
    memcpy(b, &ver, 4); /* little-endian on every Linux we build for */
    for (size_t i = 0; i < n; i++) {
        memcpy(b + 4 + 8 * i, &v[i].tag, 2);
        memcpy(b + 6 + 8 * i, &v[i].perm, 2);
        memcpy(b + 8 + 8 * i, &v[i].id, 4);
    }
    free(v);
    *out = b;
    *len = 4 + 8 * n;
    return 0;
}

/* xattrs and ACLs on an open file or directory.  Failures are warnings
 * (once per kind): the filesystem may simply not support them. */
static void set_xattrs_acls(ex_state *s, int fd, struct archive_entry *e,
                            const char *name)
{
    const char *xn;
    const void *xv;
    size_t xs;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK) {
        if (fsetxattr(fd, xn, xv, xs, 0) < 0 && !s->warned_xattr) {
            char esc[1024];
            arch_escape(name, esc, sizeof esc);
            warn(s, "%s: cannot restore extended attribute %s: %s (further "
                    "such failures not reported)", esc, xn,
                 strerror(errno));
            s->warned_xattr = 1;
        }
    }
    static const struct {
        int type;
        const char *xattr;
    } kinds[] = {
        {ARCHIVE_ENTRY_ACL_TYPE_ACCESS, "system.posix_acl_access"},
        {ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, "system.posix_acl_default"},
    };
    for (size_t k = 0; k < 2; k++) {
        uint8_t *v;
        size_t len;
        if (kinds[k].type == ARCHIVE_ENTRY_ACL_TYPE_DEFAULT &&
            archive_entry_filetype(e) != AE_IFDIR)
            continue;
        if (acl_value(s, e, kinds[k].type, &v, &len) < 0 || !v)
            continue;
        if (fsetxattr(fd, kinds[k].xattr, v, len, 0) < 0 && !s->warned_acl) {
            char esc[1024];
            arch_escape(name, esc, sizeof esc);
            warn(s, "%s: cannot restore ACL: %s (further such failures not "
                    "reported)", esc, strerror(errno));
            s->warned_acl = 1;
        }
        free(v);
    }
}

static void set_fflags(ex_state *s, int fd, struct archive_entry *e,
                       const char *name)
{
    unsigned long set = 0, clear = 0;
    archive_entry_fflags(e, &set, &clear);
    int en = member_fflags(fd, set, clear);
    if (en)
        skip_errno(s, name, "cannot restore file flags", en);
}

/* Whether creating something in directory d gives it owner u and group
 * g already (root restoring root's files, say): then no chown. */
static int owner_is_default(ex_state *s, dirref *d, uid_t u, gid_t g)
{
    struct stat st;
    if (!d)
        return 0;
    if (!d->gid_known && fstat(d->fd, &st) == 0) {
        d->new_gid = st.st_mode & S_ISGID ? st.st_gid : s->egid;
        d->gid_known = 1;
    }
    return d->gid_known && u == s->euid && g == d->new_gid;
}

/* Owner, mode, xattrs, ACLs, times on an open file or directory. */
static int set_meta_fd(ex_state *s, int fd, struct archive_entry *e,
                       const char *name)
{
    int chown_ok = 1;
    if (s->same_owner) {
        uid_t u;
        gid_t g;
        owner_of(s, e, &u, &g);
        if (fchown(fd, u, g) < 0) {
            chown_ok = 0;
            skip_errno(s, name, "cannot restore the owner", errno);
        }
    }
    if (fchmod(fd, mode_of(s, e, chown_ok)) < 0)
        skip_errno(s, name, "cannot restore the mode", errno);
    set_xattrs_acls(s, fd, e, name);
    struct timespec ts[2];
    entry_times(e, ts);
    if (futimens(fd, ts) < 0)
        skip_errno(s, name, "cannot restore the times", errno);
    return 0;
}

/* The same for what cannot be opened (symlinks, devices, FIFOs), by name
 * in its directory. */
static void set_meta_at(ex_state *s, int pfd, const char *tmp,
                        struct archive_entry *e, const char *name)
{
    int is_link = archive_entry_filetype(e) == AE_IFLNK;
    int chown_ok = 1;
    if (s->same_owner) {
        uid_t u;
        gid_t g;
        owner_of(s, e, &u, &g);
        if ((pfd != s->cache_fd || !owner_is_default(s, s->cache_ref, u, g)) &&
            fchownat(pfd, tmp, u, g, AT_SYMLINK_NOFOLLOW) < 0) {
            chown_ok = 0;
            skip_errno(s, name, "cannot restore the owner", errno);
        }
    }
    if (!is_link && fchmodat(pfd, tmp, mode_of(s, e, chown_ok), 0) < 0)
        skip_errno(s, name, "cannot restore the mode", errno);
    struct timespec ts[2];
    entry_times(e, ts);
    if (utimensat(pfd, tmp, ts, AT_SYMLINK_NOFOLLOW) < 0)
        skip_errno(s, name, "cannot restore the times", errno);
}

/* ---- members ------------------------------------------------------------ */

/* Result of writing a member: 0 done, 1 skipped (reported), <0 fatal
 * (message set). */

static int read_fail(ex_state *s, const char *name, sluice_error *err);

/* Writes the member's data into fd, sparse-aware. */
static int write_data(ex_state *s, int fd, struct archive_entry *e,
                      const char *name, sluice_error *err)
{
    int64_t pos = 0;
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int r = archive_read_data_block(s->r, &buf, &len, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return read_fail(s, name, err);
        if (s->c->api->cancelled(s->c->host))
            return SLUICE_E_CANCELED;
        const uint8_t *p = buf;
        while (len > 0) {
            ssize_t n = pwrite(fd, p, len, off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                int en = errno;
                char esc[1024];
                arch_escape(name, esc, sizeof esc);
                return sluice_error_set(err, SLUICE_E_IO, "cannot write %s: "
                                        "%s", esc, strerror(en));
            }
            p += n;
            len -= (size_t)n;
            off += n;
        }
        if (off > pos)
            pos = off;
    }
    /* A sparse file may end in a hole. */
    int64_t size = archive_entry_size(e);
    if (archive_entry_size_is_set(e) && pos < size &&
        ftruncate(fd, size) < 0) {
        int en = errno;
        char esc[1024];
        arch_escape(name, esc, sizeof esc);
        return sluice_error_set(err, SLUICE_E_IO, "cannot write %s: %s", esc,
                                strerror(en));
    }
    return 0;
}

static int new_tmp_file(ex_state *s, int pfd)
{
    for (int tries = 0; tries < 100; tries++) {
        tmp_new_name(s);
        int fd = openat(pfd, s->tmp_name,
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0600);
        if (fd >= 0) {
            s->tmp_dirfd = pfd;
            return fd;
        }
        if (errno != EEXIST)
            return -1;
    }
    return -1;
}

/* ---- concurrent writers ---------------------------------------------------- */

/* Creates the job's file with the given mode.  In a directory this run
 * made (mode 0700 until the end: no other user sees inside), under its
 * own name at once, exclusively: the data is all here and goes in with
 * one write, and a failure removes the file.  That saves the rename (and
 * a name lookup) per file.  Anything in the way takes the temporary way.
 * Returns the descriptor, *at the name it has, or -1 with errno set. */
static int job_create(xpool *p, xjob *j, mode_t mode, const char **at)
{
    int fd = -1;
    *at = j->tmp;
    if (j->dir->made) {
        fd = openat(j->dir->fd, j->base,
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    mode);
        if (fd >= 0)
            *at = j->base;
    }
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        tmp_name_make(j->tmp, p->tmp_seed, &p->tmp_counter);
        fd = openat(j->dir->fd, j->tmp,
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    mode);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    return fd;
}

/* Writes all of d from offset 0.  Returns 0, or -1 with errno set. */
static int write_all_at(int fd, const uint8_t *d, size_t left)
{
    off_t off = 0;
    while (left > 0) {
        ssize_t n = pwrite(fd, d, left, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        d += n;
        left -= (size_t)n;
        off += n;
    }
    return 0;
}

/* Owner, mode m (unless creation gave it) and times; failures are noted
 * in the job for the stage's thread to report. */
static void job_set_meta(xpool *p, xjob *j, int fd, mode_t m,
                         int mode_at_create)
{
    int chown_ok = 1;
    if (j->do_chown && fchown(fd, j->uid, j->gid) < 0) {
        chown_ok = 0;
        j->err_owner = errno;
    }
    if (p->preserve && !chown_ok)
        m &= ~(mode_t)(S_ISUID | S_ISGID);
    if (!mode_at_create && fchmod(fd, m) < 0)
        j->err_mode = errno;
    if (futimens(fd, j->ts) < 0)
        j->err_times = errno;
}

/* The writer's half of a member: everything do_regular does, with the
 * owner and permissions worked out beforehand by the stage's thread. */
static void job_run(xpool *p, xjob *j)
{
    if (p->api->cancelled(p->host)) {
        j->step = JOB_CANCELLED;
        return;
    }
    /* The final mode at once when creation gives it exactly (no set-id
     * or sticky bit, nothing the umask would take away): no fchmod. */
    mode_t m = j->perm & 07777;
    if (!p->preserve)
        m &= 0777 & ~p->umask;
    int mode_at_create = !(m & 07000) && !(m & p->umask);
    const char *at;
    int fd = job_create(p, j, mode_at_create ? m : 0600, &at);
    if (fd < 0) {
        j->step = JOB_CREATE;
        j->err = errno;
        j->tmp[0] = '\0';
        return;
    }
    if (write_all_at(fd, j->data, j->len) < 0) {
        j->step = JOB_WRITE;
        j->err = errno;
        close(fd);
        unlinkat(j->dir->fd, at, 0);
        j->tmp[0] = '\0';
        return;
    }
    job_set_meta(p, j, fd, m, mode_at_create);
    if (at != j->base &&
        renameat(j->dir->fd, j->tmp, j->dir->fd, j->base) < 0) {
        /* Left for the stage's thread: a directory may be in the way. */
        j->step = JOB_RENAME;
        j->err = errno;
        close(fd);
        return;
    }
    j->tmp[0] = '\0';
    if (close(fd) < 0) {
        j->step = JOB_CLOSE;
        j->err = errno;
    }
}

static void *writer_main(void *arg)
{
    xpool *p = arg;
    /* Its own name, so that per-thread CPU (top -H, bench/run) tells the
     * writers from the stage's thread. */
    (void)pthread_setname_np(pthread_self(), "archive-writer");
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stop) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->lock);
            p->idle--;
        }
        if (!p->head)
            break;
        /* A few members at a time: one lock and one wake-up for them. */
        xjob *first = p->head, *last = first;
        size_t n = 1, bytes = first->len;
        while (n < WRITER_TAKE && last->next) {
            last = last->next;
            n++;
            bytes += last->len;
        }
        p->head = last->next;
        if (!p->head)
            p->tail = NULL;
        p->queued -= n;
        p->queued_bytes -= bytes;
        if (p->head && p->idle)
            pthread_cond_signal(&p->work);
        last->next = NULL;
        pthread_mutex_unlock(&p->lock);
        for (xjob *j = first; j; j = j->next)
            job_run(p, j);
        pthread_mutex_lock(&p->lock);
        if (p->finished_tail)
            p->finished_tail->next = first;
        else
            p->finished = first;
        p->finished_tail = last;
        p->n_finished += n;
        if (p->collecting)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Wakes the writers for what was queued without waking them (the
 * stage's thread, with the lock held). */
static void pool_wake_locked(xpool *p)
{
    if (p->head && p->idle)
        pthread_cond_broadcast(&p->work);
    p->kick = 0;
}

/* The same, before the stage's thread may wait (for input, say). */
static void pool_kick(void *arg)
{
    xpool *p = arg;
    if (!p || !p->kick)
        return;
    pthread_mutex_lock(&p->lock);
    pool_wake_locked(p);
    pthread_mutex_unlock(&p->lock);
}

static int online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

/* Starts the writers; NULL (restore on the stage's thread alone) on one
 * core or when anything fails. */
static xpool *pool_start(ex_state *s)
{
    int n = online_cores();
    if (n < 2)
        return NULL;
    if (n > WRITERS_MAX)
        n = WRITERS_MAX;
    xpool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    p->api = s->c->api;
    p->host = s->c->host;
    p->preserve = s->preserve;
    p->umask = s->umask;
    p->tmp_seed = tmp_seed_new(p);
    for (int i = 0; i < n; i++) {
        if (pthread_create(&p->th[i], NULL, writer_main, p) != 0)
            break;
        p->n_threads++;
    }
    if (p->n_threads == 0) {
        pthread_cond_destroy(&p->done);
        pthread_cond_destroy(&p->work);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
    }
    return p;
}

static void job_free(ex_state *s, xjob *j)
{
    dirref_put(s, j->dir);
    bufs_give(&s->bufs, j->data, j->cap);
    free(j->name);
    free(j);
}

static void done_with(ex_state *s, const char *name, uint64_t seq)
{
    if (seq < s->last_done_seq && s->last_done)
        return;
    char *copy = strdup(name);
    if (copy) {
        free(s->last_done);
        s->last_done = copy;
        s->last_done_seq = seq;
    }
}

/* The stage's half of a finished member: its messages, a directory in
 * the way, fatal errors.  Returns 0 or a fatal status (err set). */
static int job_finish(ex_state *s, xjob *j, sluice_error *err)
{
    int rc = 0;
    int pfd = j->dir->fd;
    switch (j->step) {
    case JOB_OK:
        break;
    case JOB_CANCELLED:
        return 0;
    case JOB_CREATE:
        skip_errno(s, j->name, "cannot create", j->err);
        return 0;
    case JOB_WRITE:
    case JOB_CLOSE: {
        char esc[1024];
        arch_escape(j->name, esc, sizeof esc);
        return sluice_error_set(err, SLUICE_E_IO, "cannot write %s: %s", esc,
                                strerror(j->err));
    }
    case JOB_RENAME:
        /* As tmp_commit: a directory in the way is removed if empty. */
        rc = -1;
        errno = j->err;
        if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST) {
            if (unlinkat(pfd, j->base, AT_REMOVEDIR) == 0)
                rc = renameat(pfd, j->tmp, pfd, j->base);
            else
                errno = EISDIR;
        }
        if (rc < 0) {
            int en = errno;
            unlinkat(pfd, j->tmp, 0);
            skip_errno(s, j->name, "cannot put in place", en);
            return 0;
        }
        break;
    }
    if (j->err_owner)
        skip_errno(s, j->name, "cannot restore the owner", j->err_owner);
    if (j->err_mode)
        skip_errno(s, j->name, "cannot restore the mode", j->err_mode);
    if (j->err_times)
        skip_errno(s, j->name, "cannot restore the times", j->err_times);
    done_with(s, j->name, j->seq);
    return 0;
}

/* The stage's half of finished members (list in archive order as far as
 * the writers kept it); their count and bytes are added to *n, *bytes.
 * Returns 0 or the first fatal status (the rest are still collected). */
static int finish_list(ex_state *s, xjob *list, size_t *n, size_t *bytes,
                       int rc, sluice_error *err)
{
    xpool *p = s->pool;
    while (list) {
        xjob *j = list;
        list = list->next;
        if (rc < 0) {
            /* After a fatal error: only leave nothing behind. */
            if (j->step == JOB_RENAME && j->tmp[0])
                unlinkat(j->dir->fd, j->tmp, 0);
        } else {
            int r = job_finish(s, j, err);
            if (r < 0)
                rc = r;
        }
        for (size_t i = 0; i < p->n_live; i++)
            if (p->live[i] == j) {
                p->live[i] = p->live[--p->n_live];
                break;
            }
        (*n)++;
        *bytes += j->len;
        job_free(s, j);
    }
    return rc;
}

/* Takes the finished list (the lock held). */
static xjob *take_finished_locked(xpool *p)
{
    xjob *list = p->finished;
    p->finished = p->finished_tail = NULL;
    p->n_finished = 0;
    return list;
}

/* Collects what the writers finished; called and returning with the
 * lock held (dropped meanwhile).  *any says whether there was anything.
 * Returns rc, or the first fatal status. */
static int collect_locked(ex_state *s, int rc, int *any, sluice_error *err)
{
    xpool *p = s->pool;
    xjob *list = take_finished_locked(p);
    *any = list != NULL;
    if (!list)
        return rc;
    pthread_mutex_unlock(&p->lock);
    size_t n = 0, bytes = 0;
    rc = finish_list(s, list, &n, &bytes, rc, err);
    pthread_mutex_lock(&p->lock);
    p->pending -= n;
    p->bytes -= bytes;
    return rc;
}

/* Collects finished members; with `all`, waits until none is left.
 * Returns 0 or the first fatal status (the rest are still collected). */
static int pool_collect(ex_state *s, int all, sluice_error *err)
{
    xpool *p = s->pool;
    int rc = 0;
    if (!p)
        return 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (all)
            pool_wake_locked(p);
        while (all && p->pending && !p->finished) {
            p->collecting = 1;
            pthread_cond_wait(&p->done, &p->lock);
            p->collecting = 0;
        }
        int any;
        rc = collect_locked(s, rc, &any, err);
        if (!any || !all)
            break;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static void pool_stop(ex_state *s)
{
    xpool *p = s->pool;
    if (!p)
        return;
    sluice_error ignored;
    pool_collect(s, 1, &ignored);
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_threads; i++)
        pthread_join(p->th[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p);
    s->pool = NULL;
}

/* Whether cleaned name a is b, or a directory above it ("x" and "x/y"). */
static int name_touches(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > lb) {
        const char *t = a;
        a = b;
        b = t;
        size_t tl = la;
        la = lb;
        lb = tl;
    }
    return !memcmp(a, b, la) && (la == lb || b[la] == '/');
}

/* Before the stage's thread does anything to `name` itself (NULL: to
 * anything), the writers finish whatever queued member it could touch. */
static int pool_settle(ex_state *s, const char *name, sluice_error *err)
{
    xpool *p = s->pool;
    if (!p || !p->n_live)
        return 0;
    if (name) {
        size_t i;
        for (i = 0; i < p->n_live; i++)
            if (name_touches(p->live[i]->name, name))
                break;
        if (i == p->n_live)
            return pool_collect(s, 0, err);
    }
    return pool_collect(s, 1, err);
}

/* Whether a regular file member can go to a writer. */
static int pool_eligible(ex_state *s, struct archive_entry *e)
{
    unsigned long set = 0, clear = 0;
    if (!s->pool || !s->cache_ref || !archive_entry_size_is_set(e) ||
        archive_entry_size(e) < 0 ||
        archive_entry_size(e) > (la_int64_t)JOB_MAX_SIZE)
        return 0;
    archive_entry_fflags(e, &set, &clear);
    return !set && !clear && archive_entry_sparse_count(e) == 0 &&
           archive_entry_xattr_count(e) == 0 &&
           archive_entry_acl_count(e, ARCHIVE_ENTRY_ACL_TYPE_POSIX1E |
                                          ARCHIVE_ENTRY_ACL_TYPE_NFS4) == 0;
}

/* Reads the member's data into *data (size bytes allocated, grown if
 * libarchive gives more), holes as zeros; *len is its length.  On failure
 * frees *data and returns a fatal status. */
static int read_member_data(ex_state *s, const char *name, uint8_t **data,
                            size_t *capp, size_t size, size_t *len,
                            sluice_error *err)
{
    size_t cap = *capp;
    *len = 0;
    for (;;) {
        const void *buf;
        size_t n;
        la_int64_t off;
        int r = archive_read_data_block(s->r, &buf, &n, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN || s->c->api->cancelled(s->c->host) || off < 0) {
            bufs_give(&s->bufs, *data, cap);
            return r >= ARCHIVE_WARN && off >= 0 ? SLUICE_E_CANCELED
                                                 : read_fail(s, name, err);
        }
        if (n == 0)
            continue; /* buf may be NULL */
        size_t end = (size_t)off + n;
        if (off > (la_int64_t)JOB_MAX_SIZE || end > (size_t)JOB_MAX_SIZE) {
            /* libarchive gives no data past a plain member's size; a
             * reader that did would not get us to allocate for it. */
            bufs_give(&s->bufs, *data, cap);
            char esc[1024];
            arch_escape(name, esc, sizeof esc);
            return sluice_error_set(err, SLUICE_E_FORMAT,
                                    "%s: data past the member's size", esc);
        }
        if (end > cap) { /* end <= BUFS_MAX: checked above */
            size_t gcap;
            uint8_t *g = bufs_take(&s->bufs, end, &gcap);
            if (g && *len)
                memcpy(g, *data, *len);
            bufs_give(&s->bufs, *data, cap);
            if (!g)
                return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
            *data = g;
            *capp = cap = gcap;
        }
        if ((size_t)off > *len)
            memset(*data + *len, 0, (size_t)off - *len);
        memcpy(*data + off, buf, n);
        if (end > *len)
            *len = end;
    }
    if (*len < size) {
        memset(*data + *len, 0, size - *len);
        *len = size;
    }
    return 0;
}

/* Queues job j for a writer.  Room: at most JOBS_MAX members and
 * JOB_BYTES_MAX bytes waiting; finished ones are collected when room is
 * short or COLLECT_JOBS have piled up, a lock for them all.  On failure
 * frees j and returns a fatal status. */
static int pool_enqueue(ex_state *s, xjob *j, sluice_error *err)
{
    xpool *p = s->pool;
    size_t len = j->len;
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        int full = p->pending >= JOBS_MAX ||
                   (p->pending && p->bytes + len > JOB_BYTES_MAX);
        int any = 0;
        if (full || p->n_finished >= COLLECT_JOBS)
            rc = collect_locked(s, rc, &any, err);
        if (rc < 0)
            break;
        if (any)
            continue;
        if (!full)
            break;
        pool_wake_locked(p);
        p->collecting = 1;
        pthread_cond_wait(&p->done, &p->lock);
        p->collecting = 0;
    }
    if (rc < 0) {
        pthread_mutex_unlock(&p->lock);
        job_free(s, j);
        return rc;
    }
    p->live[p->n_live++] = j;
    p->pending++;
    p->bytes += len;
    p->queued++;
    p->queued_bytes += len;
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    if (p->queued >= WAKE_JOBS || p->queued_bytes >= WAKE_BYTES)
        pool_wake_locked(p);
    else
        p->kick = 1;
    pthread_mutex_unlock(&p->lock);
    return 0;
}

/* Reads the member's data and queues it for a writer.  Returns 0, or a
 * fatal status. */
static int pool_submit(ex_state *s, struct archive_entry *e, char *name,
                       const char *base, sluice_error *err)
{
    size_t size = (size_t)archive_entry_size(e);
    xjob *j = calloc(1, sizeof *j);
    size_t cap = 0;
    uint8_t *data = size ? bufs_take(&s->bufs, size, &cap) : NULL;
    if (!j || (size && !data)) {
        free(j);
        bufs_give(&s->bufs, data, cap);
        free(name);
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    }
    size_t len;
    int rc = read_member_data(s, name, &data, &cap, size, &len, err);
    if (rc < 0) {
        free(j);
        free(name);
        return rc;
    }
    j->seq = s->seq;
    j->name = name;
    j->base = base;
    j->dir = s->cache_ref;
    s->cache_ref->refs++;
    j->data = data;
    j->len = len;
    j->cap = cap;
    /* fchown only when creating the file does not give the owner
     * already (root restoring root's files, say). */
    j->do_chown = s->same_owner;
    if (s->same_owner) {
        owner_of(s, e, &j->uid, &j->gid);
        j->do_chown = !owner_is_default(s, s->cache_ref, j->uid, j->gid);
    }
    j->perm = archive_entry_perm(e);
    entry_times(e, j->ts);
    return pool_enqueue(s, j, err);
}

static int do_regular(ex_state *s, struct archive_entry *e, const char *name,
                      int pfd, const char *base, sluice_error *err)
{
    int fd = new_tmp_file(s, pfd);
    if (fd < 0) {
        skip_errno(s, name, "cannot create", errno);
        return 1;
    }
    int rc = write_data(s, fd, e, name, err);
    if (rc == 0)
        set_meta_fd(s, fd, e, name);
    if (rc == 0 && tmp_commit(s, pfd, base) < 0) {
        skip_errno(s, name, "cannot put in place", errno);
        tmp_discard(s);
        close(fd);
        return 1;
    }
    if (rc == 0)
        set_fflags(s, fd, e, name); /* after the rename: may be immutable */
    if (close(fd) < 0 && rc == 0) {
        char esc[1024];
        arch_escape(name, esc, sizeof esc);
        return sluice_error_set(err, SLUICE_E_IO, "cannot write %s: %s", esc,
                                strerror(errno));
    }
    return rc;
}

/* Opens the just-linked s->tmp_name in pfd for writing a hard link's data
 * (cpio and pax allow data on a link).  Data only ever goes into a
 * regular file: the archive may link to a FIFO (an open for writing
 * would block for ever), a device node it created itself (the data would
 * land in the device), or a symbolic link.  The type is checked before
 * the open, which cannot block (O_NONBLOCK) or follow a symlink
 * (O_NOFOLLOW), and again on what was opened.  Returns the descriptor,
 * or -1 with the member skipped (reported, run incomplete). */
static int open_link_data(ex_state *s, int pfd, const char *name)
{
    static const char refuse[] =
        "refusing to write a hard link's data into its target: not a "
        "regular file; skipped";
    struct stat st;
    if (fstatat(pfd, s->tmp_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        skip_errno(s, name, "cannot write", errno);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        skip(s, name, refuse);
        return -1;
    }
    int fd = openat(pfd, s->tmp_name,
                    O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        skip_errno(s, name, "cannot write", errno);
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        /* Replaced between the two calls. */
        close(fd);
        skip(s, name, refuse);
        return -1;
    }
    /* Back to blocking writes (a regular file: only for form's sake). */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

/* Skips the member, saying prefix, why, and errno en's text if any. */
static void skip_because(ex_state *s, const char *name, const char *prefix,
                         const char *why, int en)
{
    char msg[300];
    snprintf(msg, sizeof msg, "%s%s%s%s", prefix, why, en ? ": " : "",
             en ? strerror(en) : "");
    skip(s, name, msg);
}

/* Links tbase below tfd as a new temporary name below pfd.  Returns 0, or
 * -1 with errno set. */
static int link_as_tmp(ex_state *s, int tfd, const char *tbase, int pfd)
{
    for (int tries = 0; tries < 100; tries++) {
        tmp_new_name(s);
        if (linkat(tfd, tbase, pfd, s->tmp_name, 0) == 0) {
            s->tmp_dirfd = pfd;
            return 0;
        }
        if (errno != EEXIST)
            break;
    }
    return -1;
}

/* Data on a link (cpio puts it on the last one), written through the
 * temporary link.  Returns 0, 1 when skipped, or a fatal status. */
static int link_data(ex_state *s, struct archive_entry *e, int pfd,
                     const char *name, sluice_error *err)
{
    int fd = open_link_data(s, pfd, name);
    if (fd < 0) {
        tmp_discard(s);
        return 1;
    }
    if (ftruncate(fd, 0) < 0) {
        /* The link's data replaces the target's, tail included. */
        skip_errno(s, name, "cannot write", errno);
        close(fd);
        tmp_discard(s);
        return 1;
    }
    int rc = write_data(s, fd, e, name, err);
    if (rc == 0)
        set_meta_fd(s, fd, e, name);
    close(fd);
    return rc;
}

static int do_hardlink(ex_state *s, struct archive_entry *e, const char *name,
                       const char *target, sluice_error *err)
{
    char *t = malloc(strlen(target) + 2);
    if (!t)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    if (clean_name(s, target, t, 1) < 0 || !*t) {
        free(t);
        skip(s, name, "refusing a hard link to a target with '..' or to "
                      "the target directory");
        return 1;
    }
    /* The target's directory, without the cache (we need two). */
    const char *slash = strrchr(t, '/');
    const char *tbase = slash ? slash + 1 : t;
    const char *why = NULL;
    int en = 0, tfd;
    if (slash) {
        *(char *)slash = '\0';
        tfd = open_dir_path(s, t, 0, &why, &en);
    } else {
        tfd = s->rootfd;
    }
    if (tfd < 0) {
        skip_because(s, name, "hard link target: ", why, en);
        free(t);
        return 1;
    }
    const char *base;
    int pfd = parent_of(s, name, 1, &base, &why, &en);
    int rc = 0;
    if (pfd < 0) {
        skip_because(s, name, "", why, en);
        rc = 1;
    } else if (link_as_tmp(s, tfd, tbase, pfd) < 0) {
        skip_errno(s, name, "cannot hard link", errno);
        rc = 1;
    } else {
        if (archive_entry_size(e) > 0)
            rc = link_data(s, e, pfd, name, err);
        if (rc == 0 && tmp_commit(s, pfd, base) < 0) {
            skip_errno(s, name, "cannot put in place", errno);
            tmp_discard(s);
            rc = 1;
        }
    }
    if (tfd != s->rootfd)
        close(tfd);
    free(t);
    return rc;
}

/* Makes the symlink, FIFO or device node e at nm below pfd (mode 0600
 * for the last two: set_meta_at gives the member's).  0, or -1 with errno. */
static int make_node(struct archive_entry *e, int pfd, const char *nm)
{
    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFLNK) {
        const char *target = archive_entry_symlink(e);
        return symlinkat(target ? target : "", pfd, nm);
    }
    if (type == AE_IFIFO)
        return mkfifoat(pfd, nm, 0600);
    return mknodat(pfd, nm, (type == AE_IFCHR ? S_IFCHR : S_IFBLK) | 0600,
                   archive_entry_rdev(e));
}

static int do_other(ex_state *s, struct archive_entry *e, const char *name,
                    int pfd, const char *base)
{
    /* In a directory this run made (0700 until the end: no other user
     * sees inside), under its own name at once, as job_create does for
     * files: a rename less per symlink (4,075 in /usr/share).  Anything
     * in the way takes the temporary way, which replaces it. */
    if (pfd == s->cache_fd && s->cache_ref && s->cache_ref->made &&
        make_node(e, pfd, base) == 0) {
        set_meta_at(s, pfd, base, e, name);
        return 0;
    }
    int ok = 0;
    for (int tries = 0; tries < 100; tries++) {
        tmp_new_name(s);
        if (make_node(e, pfd, s->tmp_name) == 0) {
            ok = 1;
            s->tmp_dirfd = pfd;
            break;
        }
        if (errno != EEXIST)
            break;
    }
    if (!ok) {
        skip_errno(s, name, "cannot create", errno);
        return 1;
    }
    set_meta_at(s, pfd, s->tmp_name, e, name);
    if (tmp_commit(s, pfd, base) < 0) {
        skip_errno(s, name, "cannot put in place", errno);
        tmp_discard(s);
        return 1;
    }
    return 0;
}

/* Records what a directory gets at the end (archive-dirfix.h), keeping
 * it open when the budget allows.  A directory this run made in the
 * cached parent has the owner creation gave it: no chown when that is
 * the member's. */
static int fix_record(ex_state *s, struct archive_entry *e, const char *name,
                      int pfd, const char *base, int made, sluice_error *err)
{
    dirfix *f = dirfixes_add(&s->fixes);
    if (!f || !(f->path = strdup(name))) {
        if (f)
            dirfixes_drop_last(&s->fixes);
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    }
    f->seq = s->seq;
    owner_of(s, e, &f->uid, &f->gid);
    f->do_chown = s->same_owner &&
                  !(made && pfd == s->cache_fd &&
                    owner_is_default(s, s->cache_ref, f->uid, f->gid));
    f->perm = archive_entry_perm(e) & 07777;
    entry_times(e, f->ts);
    archive_entry_fflags(e, &f->fset, &f->fclear);
    if (archive_entry_xattr_count(e) > 0 ||
        archive_entry_acl_count(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS |
                                       ARCHIVE_ENTRY_ACL_TYPE_DEFAULT) > 0) {
        if (!(f->e = archive_entry_clone(e))) {
            dirfixes_drop_last(&s->fixes);
            return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
        }
    }
    if (*name)
        dirfixes_keep_open(&s->fixes, f, pfd, base);
    else
        dirfixes_keep_open(&s->fixes, f, s->rootfd, NULL);
    struct stat st;
    if (f->fd < 0 && *name &&
        fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        /* Reached by name at the end: only if it is still this one. */
        f->have_id = 1;
        f->dev = st.st_dev;
        f->ino = st.st_ino;
    }
    return 0;
}

static int do_directory(ex_state *s, struct archive_entry *e,
                        const char *name, int pfd, const char *base,
                        sluice_error *err)
{
    int made = 0;
    if (*name) {
        if (mkdirat(pfd, base, 0700) == 0) {
            /* Out of memory here only costs its files a rename. */
            (void)madeset_add(s->made, name, strlen(name));
            made = 1;
        } else {
            struct stat st;
            if (errno != EEXIST ||
                fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                skip_errno(s, name, "cannot create directory", errno);
                return 1;
            }
            if (!S_ISDIR(st.st_mode)) {
                /* A file or symlink in the way: replace it, never follow.
                 * (pfd is the cached parent: it stays valid and open.) */
                if (unlinkat(pfd, base, 0) < 0 || mkdirat(pfd, base, 0700) < 0) {
                    skip_errno(s, name, "cannot create directory", errno);
                    return 1;
                }
                made = 1;
            }
        }
    }
    return fix_record(s, e, name, pfd, base, made, err);
}

/* A record's failures, as messages (the stage's thread). */
static void fix_report(ex_state *s, const dirfix *f)
{
    const char *name = *f->path ? f->path : ".";
    if (f->err_owner)
        skip_errno(s, name, "cannot restore the owner", f->err_owner);
    if (f->err_mode)
        skip_errno(s, name, "cannot restore the mode", f->err_mode);
    if (f->err_times)
        skip_errno(s, name, "cannot restore the times", f->err_times);
    if (f->err_flags)
        skip_errno(s, name, "cannot restore file flags", f->err_flags);
}

/* A record's directory again by name, without following a symlink:
 * -1 when it is gone, or another directory took its name since. */
static int fix_reopen(ex_state *s, const dirfix *f)
{
    if (!*f->path)
        return openat(s->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const char *base, *why;
    int en;
    int pfd = parent_of(s, f->path, 0, &base, &why, &en);
    int fd = pfd < 0 ? -1
                     : openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                             O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && f->have_id &&
        (fstat(fd, &st) < 0 || st.st_dev != f->dev || st.st_ino != f->ino)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* One record on the stage's thread, with its xattrs and ACLs. */
static void fix_apply_here(ex_state *s, dirfix *f)
{
    int fd = f->fd >= 0 ? f->fd : fix_reopen(s, f);
    if (fd < 0)
        return;
    dirfix_owner_mode(f, fd, s->preserve, s->umask);
    if (f->e)
        set_xattrs_acls(s, fd, f->e, *f->path ? f->path : ".");
    dirfix_times_flags(f, fd);
    if (fd == f->fd)
        dirfix_close(f);
    else
        close(fd);
}

/* Sets directory metadata once nothing more is written inside: first
 * what must go deepest first or on this thread, then the directories
 * held open, on a thread a core. */
static void apply_fixups(ex_state *s)
{
    dirfixes *d = &s->fixes;
    dirfixes_settle(d);
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].fd < 0 || d->v[i].e)
            fix_apply_here(s, &d->v[i]);
    dirfixes_apply_kept(d, online_cores(), s->preserve, s->umask);
    for (size_t i = 0; i < d->n; i++)
        fix_report(s, &d->v[i]);
}

/* "after restoring X (Y was not restored)", for messages. */
static void where_stopped(ex_state *s, const char *name, char *buf,
                          size_t cap)
{
    char done[1024] = "", cur[1024] = "";
    if (s->last_done)
        arch_escape(s->last_done, done, sizeof done);
    if (name)
        arch_escape(name, cur, sizeof cur);
    snprintf(buf, cap, "%s%s%s%s%s",
             s->last_done ? "after restoring " : "before restoring anything",
             done, name ? " (" : "", cur, name ? " was not restored)" : "");
}

static int read_fail(ex_state *s, const char *name, sluice_error *err)
{
    char where[2200], suffix[2300];
    sluice_error ignored = {0};
    pool_settle(s, NULL, &ignored); /* so last_done is what it says */
    where_stopped(s, name, where, sizeof where);
    if (s->c->io_status < 0) {
        /* The stream was aborted (an upstream stage failed, e.g. on an
         * authentication error, or a signal came): that stage's error is
         * the one reported; this context is appended to its line. */
        s->said_where = 1;
        return sluice_error_set(err, SLUICE_E_CANCELED,
                                "extraction stopped %s", where);
    }
    snprintf(suffix, sizeof suffix, "; stopped %s", where);
    return arch_fail(s->c, s->r, SLUICE_E_FORMAT,
                     "corrupt or truncated archive", suffix, err);
}

/* --strip-components N as GNU tar counts: leading '/'s ignored, then N
 * components ("." counts) dropped.  NULL when nothing is left. */
static const char *strip_components(const char *name, unsigned n)
{
    const char *p = name;
    while (*p == '/')
        p++;
    for (; n && *p; p++) {
        if (*p == '/') {
            n--;
            while (p[1] == '/')
                p++;
        }
    }
    return n || !*p ? NULL : p;
}

/* -k and --skip-old-files: whether to leave a member alone because its
 * name exists on disk (a directory over a directory is no conflict, as
 * in tar).  -k reports it and marks the run incomplete. */
static int keep_old_file(ex_state *s, const char *name, mode_t type)
{
    const char *base, *why;
    int en;
    struct stat st;
    if (s->c->old_files == ARCH_OLD_REPLACE || !*name)
        return 0;
    int pfd = parent_of(s, name, 0, &base, &why, &en);
    if (pfd < 0 || fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return 0;
    if (type == AE_IFDIR && S_ISDIR(st.st_mode))
        return 0;
    if (s->c->old_files == ARCH_OLD_KEEP)
        skip(s, name, "already exists: kept, as --keep-old-files asks");
    return 1;
}

/* Reads past the current member's data. */
static int skip_data(ex_state *s, sluice_error *err)
{
    return archive_read_data_skip(s->r) < ARCHIVE_WARN
               ? read_fail(s, NULL, err)
               : 0;
}

/* Refuses a name that climbs out or would replace the target directory,
 * and lists the member for -v.  Returns 0, or 1 when skipped. */
static int check_member(ex_state *s, const char *raw, char *name,
                        const char *shown, const char *hl, mode_t type)
{
    if (clean_name(s, raw, name, 0) < 0) {
        skip(s, raw, "refusing a member name with '..'");
        return 1;
    }
    if (!*name && (type != AE_IFDIR || hl)) {
        skip(s, raw, "refusing to replace the target directory");
        return 1;
    }
    if (s->c->verbose) {
        char esc[1024];
        arch_escape(shown, esc, sizeof esc); /* as stored, as tar -xv */
        s->c->api->listing(s->c->host, esc);
    }
    return 0;
}

/* Creates the member by its type.  Returns 0, 1 when skipped, or a fatal
 * status. */
static int extract_by_type(ex_state *s, struct archive_entry *e,
                           const char *name, const char *hl, mode_t type,
                           int pfd, const char *base, sluice_error *err)
{
    if (hl)
        return do_hardlink(s, e, name, hl, err);
    if (type == AE_IFREG)
        return do_regular(s, e, name, pfd, base, err);
    if (type == AE_IFDIR)
        return do_directory(s, e, name, pfd, base, err);
    if (type == AE_IFLNK || type == AE_IFIFO || type == AE_IFCHR ||
        type == AE_IFBLK)
        return do_other(s, e, name, pfd, base);
    skip(s, name, "unsupported file type; skipped");
    return 1;
}

static int extract_one(ex_state *s, struct archive_entry *e,
                       sluice_error *err)
{
    const char *raw = archive_entry_pathname(e);
    if (!raw)
        raw = archive_entry_pathname_utf8(e);
    if (!raw) {
        skip(s, "(unnamed member)", "name cannot be decoded; skipped");
        return skip_data(s, err);
    }
    const char *hl = archive_entry_hardlink(e), *shown = raw;
    if (s->c->strip) {
        /* Too short once stripped: left out silently, as tar does. */
        raw = strip_components(raw, s->c->strip);
        if (hl)
            hl = strip_components(hl, s->c->strip);
        if (!raw || (archive_entry_hardlink(e) && !hl))
            return skip_data(s, err);
    }
    char *name = malloc(strlen(raw) + 2);
    if (!name)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    mode_t type = archive_entry_filetype(e);
    int rc = check_member(s, raw, name, shown, hl, type);
    s->seq++;
    if (rc == 0 && s->pool) {
        /* A hard link's target may be queued: everything settles. */
        int r = pool_settle(s, hl ? NULL : name, err);
        if (r < 0) {
            free(name);
            return r;
        }
    }
    if (rc == 0 && keep_old_file(s, name, hl ? AE_IFREG : type))
        rc = 1;
    const char *base = "", *why = NULL;
    int en = 0, pfd = s->rootfd;
    if (rc == 0 && *name && !hl) {
        pfd = parent_of(s, name, 1, &base, &why, &en);
        if (pfd < 0) {
            skip_because(s, name, "", why, en);
            rc = 1;
        }
    }
    /* -k: the writers' rename would replace what appears meanwhile. */
    if (rc == 0 && !hl && type == AE_IFREG &&
        s->c->old_files == ARCH_OLD_REPLACE && pool_eligible(s, e))
        return pool_submit(s, e, name, base, err); /* takes name */
    if (rc == 0)
        rc = extract_by_type(s, e, name, hl, type, pfd, base, err);
    if (rc == 0) {
        free(s->last_done);
        s->last_done = name;
        s->last_done_seq = s->seq;
        name = NULL;
    } else if (rc < 0) {
        tmp_discard(s);
    }
    free(name);
    /* Skipped: its data (if any) must still be read past. */
    return rc == 1 ? skip_data(s, err) : rc;
}

/* Extracts the members one by one until the end, a failure or a cancel. */
static int extract_members(ex_state *s, sluice_error *err)
{
    arch_ctx *c = s->c;
    for (;;) {
        if (c->api->cancelled(c->host))
            return SLUICE_E_CANCELED;
        struct archive_entry *e;
        int r = arch_next_header(c, s->r, &e);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN)
            return read_fail(s, NULL, err);
        if (r == ARCHIVE_WARN) {
            const char *pn = archive_entry_pathname(e);
            char esc[1024];
            arch_escape(pn ? pn : "?", esc, sizeof esc);
            warn(s, "%s: %s", esc, archive_error_string(s->r));
        }
        const char *pn = archive_entry_pathname(e);
        int rc = arch_selected(c, pn ? pn : "") ? extract_one(s, e, err)
                                                : skip_data(s, err);
        if (rc < 0)
            return rc;
    }
}

/* Frees what the extraction state holds. */
static void ex_state_free(ex_state *s)
{
    archive_read_free(s->r);
    cache_drop(s);
    dirfixes_free(&s->fixes);
    free(s->last_done);
    madeset_free(s->made);
    for (int g = 0; g < 2; g++) {
        idcache *l = g ? s->groups : s->users;
        while (l) {
            idcache *next = l->next;
            free(l->name);
            free(l);
            l = next;
        }
    }
}

int arch_extract(arch_ctx *c, sluice_input *in, sluice_error *err)
{
    ex_state s = {0};
    s.c = c;
    s.rootfd = c->dirfd;
    s.cache_fd = -1;
    s.tmp_dirfd = -1;
    s.tmp_seed = tmp_seed_new(&s);
    dirfixes_init(&s.fixes);
    s.euid = geteuid();
    s.egid = getegid();
    s.umask = read_umask();
    int root = geteuid() == 0;
    s.same_owner = c->same_owner >= 0 ? c->same_owner : root;
    s.preserve = c->preserve_perms >= 0 ? c->preserve_perms : root;

    if (!(s.made = madeset_new()))
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    s.r = arch_reader_open(c, in, err);
    if (!s.r) {
        madeset_free(s.made);
        if (err->code)
            return err->code;
        /* Aborted before the archive's first bytes came (arch_fail):
         * said as after any member, appended to the cause's line. */
        return sluice_error_set(err, SLUICE_E_CANCELED,
                                "extraction stopped before restoring "
                                "anything");
    }
    s.pool = pool_start(&s);
    if (s.pool) {
        c->before_read = pool_kick;
        c->before_read_arg = s.pool;
    }
    int rc = extract_members(&s, err);
    /* Queued members are finished (or, once cancelled, dropped) before
     * anything else. */
    if (s.pool) {
        sluice_error scratch = {0};
        int prc = pool_collect(&s, 1, rc < 0 ? &scratch : err);
        if (rc == 0 && prc < 0)
            rc = prc;
        c->before_read = NULL;
        pool_stop(&s);
    }
    bufs_free(&s.bufs);
    tmp_discard(&s);
    /* Directories restored so far get their metadata even when the run
     * stops early, as tar does. */
    if (rc != SLUICE_E_NOMEM)
        apply_fixups(&s);
    if (rc == 0 && c->n_args)
        rc = arch_report_unmatched(c, err);
    if (rc == SLUICE_E_CANCELED && !s.said_where) {
        /* Aborted from elsewhere (another stage failed, or a signal):
         * the host appends this context to the cause's one line. */
        char where[2200];
        where_stopped(&s, NULL, where, sizeof where);
        sluice_error_set(err, SLUICE_E_CANCELED, "extraction stopped %s",
                         where);
    }
    ex_state_free(&s);
    return rc;
}
