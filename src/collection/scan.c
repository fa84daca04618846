/* scan.c - the tree walk for backups; see scan.h. */
#define _GNU_SOURCE
#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
    if (file < 0)
        errno = saved == ELOOP || saved == ENOTDIR ? ESTALE : saved;
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

typedef struct walk {
    const char *dir;
    int checksum;
    mlist *out;
    char *err;
    size_t cap;
    int *changed; /* an entry changed under the walk: left out */
} walk;

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
        memset(e, 0, sizeof *e);
        *w->changed = 1;
        errno = ESTALE;
        return -1;
    }
    return -1;
}

static int walk_dir(walk *w, int dfd, const char *name, const char *disk);

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
        e->link = strdup(buf);
    }
    if (type == 'f' && w->checksum) {
        int fd = open_checked(w, pfd, dname, disk, &st);
        if (fd >= 0 ? hash_fd(fd, e->sha) < 0 : errno != ESTALE) {
            char *p = open_path(w, disk);
            say("backup: %s: cannot read: %s",
                    p ? p : disk, strerror(errno));
            free(p);
            e->sha[0] = '\0';
        }
    }
    if (type != 'd')
        return 0;
    int fd = open_checked(w, pfd, dname, disk, &st);
    if (fd < 0) {
        if (errno != ESTALE)
            say("backup: %s: cannot open directory: "
                    "%s", disk, strerror(errno));
        return 0;
    }
    return walk_dir(w, fd, name, disk);
}

/* The entries of directory dfd (closed here), in name order. */
static int walk_dir(walk *w, int dfd, const char *name, const char *disk)
{
    int lfd = dup(dfd); /* fdopendir takes one; the visits use dfd */
    DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
    if (!d) {
        say("backup: %s: cannot open directory: %s",
                disk, strerror(errno));
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

int scan_tree(const char *dir, char **operands, int n, int checksum,
              mlist *out, int *changed, char *err, size_t cap)
{
    walk w = {dir, checksum, out, err, cap, changed};
    int cfd = dir ? open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : AT_FDCWD;
    if (cfd < 0 && cfd != AT_FDCWD) {
        snprintf(err, cap, "%s: %s", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        char *name = canon_operand(operands[i]);
        if (!name) {
            rc = -1;
            break;
        }
        rc = visit(&w, operands[i][0] == '/' ? AT_FDCWD : cfd, operands[i],
                   name, operands[i], 1);
        free(name);
    }
    if (cfd >= 0)
        close(cfd);
    if (rc < 0) {
        if (!err[0])
            snprintf(err, cap, "out of memory");
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
            continue;
        }
        out->e[k++] = out->e[i];
    }
    out->n = k;
    return 0;
}
