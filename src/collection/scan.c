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

/* Hashes the open regular file fd (read from its start). */
static int hash_fd(int fd, char hex[65])
{
    sha256_ctx c;
    sha256_init(&c);
    static __thread uint8_t buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        sha256_update(&c, buf, (size_t)n);
    }
    uint8_t md[32];
    sha256_final(&c, md);
    hex_encode(md, 32, hex);
    return 0;
}

/* Hashes entry dname of directory dfd if it is still the regular file
 * *st describes (no symlink followed, same device and inode). */
static int hash_entry(int dfd, const char *dname, const struct stat *st,
                      char hex[65])
{
    int fd = openat(dfd, dname,
                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat now;
    int rc = fstat(fd, &now) == 0 && S_ISREG(now.st_mode) &&
                     now.st_dev == st->st_dev && now.st_ino == st->st_ino
                 ? hash_fd(fd, hex)
                 : (errno = ESTALE, -1);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
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

typedef struct walk {
    int checksum;
    mlist *out;
    char *err;
    size_t cap;
} walk;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char type_letter(mode_t m)
{
    return S_ISREG(m)    ? 'f'
           : S_ISDIR(m)  ? 'd'
           : S_ISLNK(m)  ? 'l'
           : S_ISCHR(m)  ? 'c'
           : S_ISBLK(m)  ? 'b'
           : S_ISFIFO(m) ? 'p'
                         : 0; /* sockets: the archive stage skips them */
}

/* Records entry dname of directory pfd, as *st describes it. */
static mentry *record(walk *w, int pfd, const char *dname, const char *name,
                      const char *disk, const struct stat *st)
{
    mentry *e = mlist_push(w->out);
    if (!e)
        return NULL;
    e->path = strdup(name);
    e->disk = strdup(disk);
    e->type = type_letter(st->st_mode);
    e->mode = st->st_mode & 07777;
    e->uid = st->st_uid;
    e->gid = st->st_gid;
    e->size = e->type == 'f' ? (uint64_t)st->st_size : 0;
    e->mtime_ns =
        (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    e->ctime_ns =
        (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
    e->ino = st->st_ino;
    e->dev = st->st_dev;
    e->nlink = st->st_nlink;
    e->rdev = (e->type == 'c' || e->type == 'b') ? st->st_rdev : 0;
    if (!e->path || !e->disk)
        return NULL;
    if (e->type == 'l') {
        char buf[4096];
        ssize_t n = readlinkat(pfd, dname, buf, sizeof buf - 1);
        buf[n < 0 ? 0 : n] = '\0';
        if (!(e->link = strdup(buf)))
            return NULL;
    }
    if (e->type == 'f' && w->checksum &&
        hash_entry(pfd, dname, st, e->sha) < 0) {
        fprintf(stderr, "sluice: backup: %s: cannot read: %s\n", disk,
                strerror(errno == ESTALE ? EAGAIN : errno));
        e->sha[0] = '\0';
    }
    return e;
}

/* The sorted names in directory fd (taken over: closed here). */
static char **list_dir(int fd, size_t *np)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return NULL;
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
    *np = n;
    return names ? names : calloc(1, sizeof *names);
}

/* One entry, dname in directory pfd, walked by descriptor: fstatat
 * without following, then a directory is opened beneath pfd with
 * O_NOFOLLOW and checked to be the one just stat'ed before it is
 * listed, so a directory swapped for a symlink mid-walk is never
 * listed through it (a local user racing a root backup). */
static int visit(walk *w, int pfd, const char *dname, const char *name,
                 const char *disk, int is_root)
{
    struct stat st;
    if (fstatat(pfd, dname, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (is_root) {
            snprintf(w->err, w->cap, "%s: %s", disk, strerror(errno));
            return -1;
        }
        fprintf(stderr, "sluice: backup: %s: %s: skipped\n", disk,
                strerror(errno));
        return 0;
    }
    if (!type_letter(st.st_mode))
        return 0;
    if (!record(w, pfd, dname, name, disk, &st))
        return -1;
    if (!S_ISDIR(st.st_mode))
        return 0;
    int fd = openat(pfd, dname,
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat now;
    if (fd >= 0 && (fstat(fd, &now) < 0 || now.st_dev != st.st_dev ||
                    now.st_ino != st.st_ino)) {
        close(fd);
        fd = -1;
        errno = ESTALE;
    }
    if (fd < 0) {
        fprintf(stderr, "sluice: backup: %s: cannot open directory: %s\n",
                disk, errno == ESTALE || errno == ELOOP || errno == ENOTDIR
                          ? "it changed as we read it"
                          : strerror(errno));
        return 0;
    }
    /* The listing's own descriptor stays open while its entries are
     * visited: one per level of depth. */
    int lfd = dup(fd);
    size_t n = 0;
    char **names = lfd >= 0 ? list_dir(lfd, &n) : NULL;
    int rc = names ? 0 : -1;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && names[i]) {
            char *cn = strcmp(name, ".") ? join(name, names[i])
                                         : strdup(names[i]);
            char *cd = join(disk, names[i]);
            rc = cn && cd ? visit(w, fd, names[i], cn, cd, 0) : -1;
            free(cn);
            free(cd);
        }
        free(names[i]);
    }
    free(names);
    close(fd);
    return rc;
}

/* An operand: its parent directory opened as the user wrote it (a
 * symlink the user names on the command line is the user's), then the
 * walk by descriptor from its last component. */
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
    int pfd = base;
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
    if (pfd < 0) {
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
              mlist *out, char *err, size_t cap)
{
    walk w = {checksum, out, err, cap};
    int base = open(dir ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (base < 0) {
        snprintf(err, cap, "%s: %s", dir ? dir : ".", strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char *name = canon_operand(operands[i]);
        int rc = name ? visit_operand(&w, base, name, operands[i]) : -1;
        free(name);
        if (rc < 0) {
            close(base);
            if (!err[0])
                snprintf(err, cap, "out of memory");
            return -1;
        }
    }
    close(base);
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
