/* scan.c - the tree walk for backups; see scan.h. */
#define _GNU_SOURCE
#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../sha256.h"
#include "../util.h"
#include "coll.h"

/* SHA-256 of what fd reads, as 64 hex digits; 0 or -1 (fd closed). */
static int hash_fd(int fd, char hex[65])
{
    sha256_ctx c;
    sha256_init(&c);
    static __thread uint8_t buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        sha256_update(&c, buf, (size_t)n);
    }
    close(fd);
    uint8_t md[32];
    sha256_final(&c, md);
    hex_encode(md, 32, hex);
    return 0;
}

int scan_open_beneath(const char *dir, const mentry *e)
{
    const char *path = e->disk;
    int fd = open(path[0] == '/' ? "/" : dir ? dir : ".",
                  O_PATH | O_DIRECTORY | O_CLOEXEC);
    char *copy = strdup(path), *p = copy, *slash;
    /* An operand written "etc/": no empty last component to open. */
    for (size_t l = copy ? strlen(copy) : 0; l > 1 && copy[l - 1] == '/';)
        copy[--l] = '\0';
    while (fd >= 0 && p && (slash = strchr(p, '/'))) {
        *slash = '\0';
        int next = slash == p ? dup(fd)
                              : openat(fd, p, O_PATH | O_DIRECTORY |
                                                  O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        fd = next;
        p = slash + 1;
    }
    struct stat st;
    int file = -1;
    if (fd >= 0 && p && e->type != 'f') /* scan_unchanged: no open */
        file = fstatat(fd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                       (mode_t)DTTOIF(scan_dtype(e->type)) ==
                           (st.st_mode & S_IFMT) &&
                       st.st_dev == e->dev && st.st_ino == e->ino
                   ? 0
                   : -2;
    else if (fd >= 0 && p)
        file = openat(fd, p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    int saved = errno;
    if (fd >= 0)
        close(fd);
    free(copy);
    if (file == 0 && e->type != 'f')
        return 0;
    if (file == -2 ||
        (file >= 0 && (fstat(file, &st) < 0 || !S_ISREG(st.st_mode) ||
                       st.st_dev != e->dev || st.st_ino != e->ino))) {
        if (file >= 0)
            close(file);
        errno = ESTALE;
        return -1;
    }
    /* A symlink or file where the scan saw a directory, or a name gone
     * since (a rename in progress shows as ENOENT for an instant): the
     * entry changed under us, which tar reports and skips (exit 1), not
     * a read error. */
    if (file < 0)
        errno = saved == ELOOP || saved == ENOTDIR || saved == ENOENT
                    ? ESTALE
                    : saved;
    return file;
}

int scan_unchanged(const char *dir, const mentry *e)
{
    if (e->type != 'f')
        return scan_open_beneath(dir, e) == 0;
    int fd = scan_open_beneath(dir, e);
    if (fd >= 0)
        close(fd);
    return fd >= 0;
}

unsigned scan_dtype(char type)
{
    switch (type) {
    case 'f': return DT_REG;
    case 'd': return DT_DIR;
    case 'l': return DT_LNK;
    case 'c': return DT_CHR;
    case 'b': return DT_BLK;
    case 'p': return DT_FIFO;
    default: return DT_UNKNOWN;
    }
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
    return s;
}

typedef struct dirstack dirstack;

typedef struct walk {
    const char *dir;
    int checksum;
    mlist *out;
    char *err;
    size_t cap;
    int *changed; /* an entry changed under the walk: left out */
    dirstack *ds; /* directories to share out, or NULL: walk alone */
    const atomic_int *stop; /* set: end the walk (scan_tree's stop)   */
} walk;

/* ---- walking on every core ----------------------------------------------
 * The walk is system calls (an fstatat an entry, getdents a directory),
 * and it runs before anything can be planned, while the other cores have
 * nothing to do.  So the directories it finds go on a stack that one
 * walker a core takes from, each listing into a list of its own (merged
 * and sorted at the end).  At most QDIR_MAX directories wait, each with
 * its descriptor open; past that a walker walks the directory itself. */
#define SCAN_WALKERS_MAX 4
#define QDIR_MAX 64

typedef struct qdir {
    int fd;
    char *name, *disk;
} qdir;

struct dirstack {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    qdir q[QDIR_MAX];
    size_t n;
    unsigned busy; /* walkers walking (the first: its operands too) */
    int failed;    /* out of memory in a walker: all stop          */
};

static int walk_dir(walk *w, int dfd, const char *name, const char *disk);

/* Leaves directory fd (taken over) to whichever walker is free; -1 when
 * the stack is full (the caller walks it). */
static int dirstack_push(dirstack *ds, int fd, const char *name,
                         const char *disk)
{
    int rc = -1;
    pthread_mutex_lock(&ds->mu);
    if (ds->n < QDIR_MAX && !ds->failed) {
        qdir *d = &ds->q[ds->n];
        d->name = strdup(name);
        d->disk = strdup(disk);
        d->fd = fd;
        if (d->name && d->disk) {
            ds->n++;
            rc = 0;
            pthread_cond_signal(&ds->cv);
        } else {
            free(d->name);
            free(d->disk);
        }
    }
    pthread_mutex_unlock(&ds->mu);
    return rc;
}

/* A walker: takes directories until none is left and none is being
 * walked (which could find more). */
static void dirstack_work(walk *w)
{
    dirstack *ds = w->ds;
    pthread_mutex_lock(&ds->mu);
    for (;;) {
        while (!ds->n && ds->busy && !ds->failed)
            pthread_cond_wait(&ds->cv, &ds->mu);
        if (!ds->n || ds->failed)
            break;
        qdir d = ds->q[--ds->n];
        ds->busy++;
        pthread_mutex_unlock(&ds->mu);
        int rc = walk_dir(w, d.fd, d.name, d.disk);
        free(d.name);
        free(d.disk);
        pthread_mutex_lock(&ds->mu);
        ds->busy--;
        ds->failed |= rc < 0;
        if ((!ds->n && !ds->busy) || ds->failed)
            pthread_cond_broadcast(&ds->cv);
    }
    pthread_mutex_unlock(&ds->mu);
}

/* The first walker is done with its operands: it walks as the others. */
static void dirstack_operands_done(walk *w, int rc)
{
    dirstack *ds = w->ds;
    pthread_mutex_lock(&ds->mu);
    ds->busy--;
    ds->failed |= rc < 0;
    pthread_cond_broadcast(&ds->cv);
    pthread_mutex_unlock(&ds->mu);
    dirstack_work(w);
}

static void *walker_main(void *arg)
{
    dirstack_work(arg);
    return NULL;
}

/* The path of disk as the process names it (relative to -C unless
 * absolute): for messages only, nothing is opened by it. */
static char *open_path(const walk *w, const char *disk)
{
    if (disk[0] == '/' || !w->dir)
        return strdup(disk);
    return join(w->dir, disk);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char type_of(mode_t m)
{
    return S_ISREG(m)    ? 'f'
           : S_ISDIR(m)  ? 'd'
           : S_ISLNK(m)  ? 'l'
           : S_ISCHR(m)  ? 'c'
           : S_ISBLK(m)  ? 'b'
           : S_ISFIFO(m) ? 'p'
                         : 0; /* sockets: the archive stage skips them */
}

/* The manifest fields of an entry from its stat. */
static int fill(mentry *e, const char *name, const char *disk, char type,
                const struct stat *st)
{
    e->path = strdup(name);
    e->disk = strdup(disk);
    e->type = type;
    e->mode = st->st_mode & 07777;
    e->uid = st->st_uid;
    e->gid = st->st_gid;
    e->size = type == 'f' ? (uint64_t)st->st_size : 0;
    e->mtime_ns =
        (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    e->ctime_ns =
        (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
    e->ino = st->st_ino;
    e->dev = st->st_dev;
    e->nlink = st->st_nlink;
    e->rdev = (type == 'c' || type == 'b') ? st->st_rdev : 0;
    return e->path && e->disk ? 0 : -1;
}

/* Opens entry dname of pfd (a directory, or a regular file to hash)
 * without following a symlink, checked to be the object just stat'ed.
 * Another object there now (a local user racing the backup): the entry
 * is said, dropped from the list (it is the last one) and the walk
 * marked changed; returns -1 then, as when it cannot be opened. */
static int open_checked(walk *w, int pfd, const char *dname,
                        const char *disk, const struct stat *st)
{
    int fl = O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
             (S_ISDIR(st->st_mode) ? O_DIRECTORY : O_NONBLOCK);
    int fd = openat(pfd, dname, fl);
    struct stat now;
    if (fd >= 0 && fstat(fd, &now) == 0 && now.st_dev == st->st_dev &&
        now.st_ino == st->st_ino)
        return fd;
    if (fd >= 0 || errno == ELOOP || errno == ENOTDIR || errno == ENOENT) {
        if (fd >= 0)
            close(fd);
        say("backup: %s: file changed as we read it; "
                "not dumped", disk);
        mentry *e = &w->out->e[--w->out->n];
        free(e->path);
        free(e->disk);
        free(e->link);
        free(e->sha);
        memset(e, 0, sizeof *e);
        *w->changed = 1;
        errno = ESTALE;
        return -1;
    }
    return -1;
}

/* One entry, dname below directory pfd (an operand: below -C's
 * descriptor, or the cwd for an absolute one): fstatat, the manifest
 * fields, then the recursion into a directory through a descriptor
 * opened from pfd - the tree is walked by descriptor, never reopened by
 * path, and an entry swapped since its fstatat is left out (said). */
static int visit(walk *w, int pfd, const char *dname, const char *name,
                 const char *disk, int is_root)
{
    struct stat st;
    if (fstatat(pfd, dname, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        int saved = errno;
        char *p = open_path(w, disk);
        if (is_root)
            snprintf(w->err, w->cap, "%s: %s", p ? p : disk,
                     strerror(saved));
        else
            say("backup: %s: %s: skipped",
                    p ? p : disk, strerror(saved));
        free(p);
        return is_root ? -1 : 0;
    }
    char type = type_of(st.st_mode);
    if (!type)
        return 0;
    mentry *e = mlist_push(w->out);
    if (!e || fill(e, name, disk, type, &st) < 0)
        return -1;
    if (type == 'l') {
        char buf[4096];
        ssize_t n = readlinkat(pfd, dname, buf, sizeof buf - 1);
        buf[n < 0 ? 0 : n] = '\0';
        if (!(e->link = strdup(buf)))
            return -1;
    }
    if (type == 'f' && w->checksum) {
        char hex[65];
        int fd = open_checked(w, pfd, dname, disk, &st);
        if (fd >= 0 && hash_fd(fd, hex) == 0) {
            if (!(e->sha = strdup(hex)))
                return -1;
        } else if (fd >= 0 || errno != ESTALE) { /* ESTALE: e left out */
            char *p = open_path(w, disk);
            say("backup: %s: cannot read: %s",
                    p ? p : disk, strerror(errno));
            free(p);
        }
    }
    if (type != 'd')
        return 0;
    int fd = open_checked(w, pfd, dname, disk, &st);
    if (fd < 0) {
        if (errno != ESTALE) { /* its contents left out: incomplete */
            say("backup: %s: cannot open directory: "
                    "%s", disk, strerror(errno));
            *w->changed = 1;
        }
        return 0;
    }
    if (w->ds && dirstack_push(w->ds, fd, name, disk) == 0)
        return 0;
    return walk_dir(w, fd, name, disk);
}

/* The entries of directory dfd (closed here), in name order. */
static int walk_dir(walk *w, int dfd, const char *name, const char *disk)
{
    int lfd = dup(dfd); /* fdopendir takes one; the visits use dfd */
    DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
    if (!d) { /* its entry stays, without its contents: incomplete */
        say("backup: %s: cannot open directory: %s",
                disk, strerror(errno));
        *w->changed = 1;
        if (lfd >= 0)
            close(lfd);
        close(dfd);
        return 0;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **g = realloc(names, cap * sizeof *g);
            if (!g)
                break;
            names = g;
        }
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    if (n > 0) /* qsort(NULL, 0, ...) is undefined behaviour */
        qsort(names, n, sizeof *names, cmp_str);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && w->stop && atomic_load(w->stop))
            rc = -1; /* all walkers end: the failed flag */
        if (rc == 0 && names[i]) {
            char *cn = strcmp(name, ".") ? join(name, names[i])
                                         : strdup(names[i]);
            char *cd = join(disk, names[i]);
            rc = cn && cd ? visit(w, dfd, names[i], cn, cd, 0) : -1;
            free(cn);
            free(cd);
        }
        free(names[i]);
    }
    free(names);
    close(dfd);
    return rc;
}

/* The member name the archive stage gives an operand: no leading "/",
 * "../" or "./", no trailing "/"; "." for nothing left. */
static char *canon_operand(const char *arg)
{
    const char *p = arg;
    for (;;) {
        if (*p == '/')
            p++;
        else if (!strncmp(p, "../", 3) || !strncmp(p, "./", 2))
            p += p[1] == '/' ? 2 : 3;
        else if (!strcmp(p, "..") )
            p += 2;
        else
            break;
    }
    size_t l = strlen(p);
    while (l > 1 && p[l - 1] == '/')
        l--;
    if (l == 0 || (l == 1 && p[0] == '.'))
        return strdup(".");
    return xstrndup(p, l);
}

/* The walkers beside the caller's, each with a list of its own. */
typedef struct walkers {
    dirstack ds;
    unsigned n; /* started */
    pthread_t th[SCAN_WALKERS_MAX - 1];
    walk w[SCAN_WALKERS_MAX - 1];
    mlist out[SCAN_WALKERS_MAX - 1];
    int changed[SCAN_WALKERS_MAX - 1];
} walkers;

/* Starts a walker a core beside w0 (none on one core: w0 walks alone). */
static void walkers_start(walkers *ws, walk *w0)
{
    unsigned want = coll_cores();
    memset(ws, 0, sizeof *ws);
    if (want < 2)
        return;
    want = want < SCAN_WALKERS_MAX ? want : SCAN_WALKERS_MAX;
    pthread_mutex_init(&ws->ds.mu, NULL);
    pthread_cond_init(&ws->ds.cv, NULL);
    ws->ds.busy = 1; /* w0, until its operands are visited */
    w0->ds = &ws->ds;
    for (unsigned i = 0; i + 1 < want; i++) {
        ws->w[i] = *w0; /* err: written for an operand only, by w0 */
        ws->w[i].out = &ws->out[i];
        ws->w[i].changed = &ws->changed[i];
        if (pthread_create(&ws->th[i], NULL, walker_main, &ws->w[i]))
            break;
        ws->n++;
    }
}

/* Waits for the walkers and merges their lists into w0's; -1 if one
 * failed (out of memory) or the merge does. */
static int walkers_finish(walkers *ws, walk *w0, int rc)
{
    if (!w0->ds)
        return rc;
    dirstack_operands_done(w0, rc);
    for (unsigned i = 0; i < ws->n; i++)
        pthread_join(ws->th[i], NULL);
    rc = ws->ds.failed ? -1 : rc;
    for (size_t i = 0; i < ws->ds.n; i++) { /* left by a failure */
        close(ws->ds.q[i].fd);
        free(ws->ds.q[i].name);
        free(ws->ds.q[i].disk);
    }
    for (unsigned i = 0; i < ws->n; i++) {
        mlist *l = &ws->out[i];
        *w0->changed |= ws->changed[i];
        for (size_t j = 0; j < l->n; j++) {
            mentry *e = rc == 0 ? mlist_push(w0->out) : NULL;
            if (e) {
                *e = l->e[j];
                continue;
            }
            rc = -1;
            free(l->e[j].path);
            free(l->e[j].disk);
            free(l->e[j].link);
            free(l->e[j].sha);
        }
        mlist_release_array(l);
    }
    pthread_cond_destroy(&ws->ds.cv);
    pthread_mutex_destroy(&ws->ds.mu);
    w0->ds = NULL;
    return rc;
}

/* Operand disk (as given) visited beneath its parent, opened by path as
 * tar opens its operands: without its trailing "/" (that would follow a
 * symlink), "/" as "." of the root. */
static int visit_operand(walk *w, int base, const char *name,
                         const char *disk)
{
    char *copy = strdup(disk);
    if (!copy)
        return -1;
    size_t l = strlen(copy);
    while (l > 1 && copy[l - 1] == '/')
        copy[--l] = '\0';
    char *slash = strrchr(copy, '/');
    const char *dname = copy;
    int pfd = copy[0] == '/' ? AT_FDCWD : base;
    if (!strcmp(copy, "/")) {
        dname = ".";
        pfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    } else if (slash) {
        *slash = '\0';
        dname = slash + 1;
        pfd = openat(base, slash == copy ? "/" : copy,
                     O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    int rc;
    if (pfd < 0 && pfd != AT_FDCWD) {
        snprintf(w->err, w->cap, "%s: %s", disk, strerror(errno));
        rc = -1;
    } else {
        rc = visit(w, pfd, dname, name, disk, 1);
    }
    if (pfd >= 0 && pfd != base)
        close(pfd);
    free(copy);
    return rc;
}

int scan_tree(const char *dir, char **operands, int n, int checksum,
              const atomic_int *stop, mlist *out, int *changed, char *err,
              size_t cap)
{
    walk w = {dir, checksum, out, err, cap, changed, NULL, stop};
    int cfd = dir ? open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : AT_FDCWD;
    if (cfd < 0 && cfd != AT_FDCWD) {
        snprintf(err, cap, "%s: %s", dir, strerror(errno));
        return -1;
    }
    walkers ws;
    walkers_start(&ws, &w);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        char *name = canon_operand(operands[i]);
        if (!name) {
            rc = -1;
            break;
        }
        rc = visit_operand(&w, cfd, name, operands[i]);
        free(name);
    }
    rc = walkers_finish(&ws, &w, rc);
    if (cfd >= 0)
        close(cfd);
    if (rc < 0) {
        if (!err[0])
            snprintf(err, cap, stop && atomic_load(stop) ? "stopped"
                                                         : "out of memory");
        return -1;
    }
    mlist_sort(out);
    /* Overlapping operands: keep the first of equal names. */
    size_t k = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (k && !strcmp(out->e[k - 1].path, out->e[i].path)) {
            free(out->e[i].path);
            free(out->e[i].disk);
            free(out->e[i].link);
            free(out->e[i].sha);
            continue;
        }
        out->e[k++] = out->e[i];
    }
    out->n = k;
    return 0;
}
