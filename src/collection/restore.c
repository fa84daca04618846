/* restore.c - `sluice restore` (doc/FORMAT.md 5.8): the tar objects it
 * needs, several at once, each extracting just its members; then split
 * files, their chunks written in place; then metadata, deepest first. */
#define _GNU_SOURCE
#include "coll.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../presets.h"
#include "../status.h"
#include "../util.h"
#include "chunks.h"
#include "pool.h"
#include "restore.h"
#include "scan.h"
#include "when.h"

/* --as-of: when.h's rules, the whole argument parsed (an id that is not
 * in INDEX is an error, never a time prefix); no --as-of is "latest". */
const ixent *select_backup(coll *k)
{
    return select_backup_spec(k, k->c->as_of ? k->c->as_of : "latest",
                              "--as-of ");
}

const ixent *select_backup_spec(coll *k, const char *a, const char *what)
{
    when_backup *b = calloc(k->ix.n ? k->ix.n : 1, sizeof *b);
    if (!b) {
        say("%s: out of memory", k->root);
        return NULL;
    }
    for (size_t i = 0; i < k->ix.n; i++)
        b[i] = (when_backup){k->ix.e[i].id, k->ix.e[i].host,
                             k->ix.e[i].time};
    size_t pos = 0;
    char err[1024];
    int rc = when_select(b, k->ix.n, host_name(k->c), a, &pos, err,
                         sizeof err);
    free(b);
    if (rc < 0) {
        say("%s: %s%s", k->root, what, err);
        return NULL;
    }
    return &k->ix.e[pos];
}

int cmp_group(const void *a, const void *b, void *arg)
{
    (void)arg;
    const mentry *x = *(mentry *const *)a, *y = *(mentry *const *)b;
    /* one list's ids are one string each (mlist_id) */
    int c = x->bid == y->bid ? 0 : strcmp(x->bid, y->bid);
    if (c)
        return c;
    if (x->obj != y->obj)
        return x->obj < y->obj ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* Whether path is selected by the PATH arguments sel[0..n) (none: all):
 * one of them or below one (a leading "./" and trailing "/" ignored; "."
 * is everything), or, with parents, a directory leading to one. */
int path_selected(const char *path, char **sel, int n, int parents)
{
    if (n == 0)
        return 1;
    for (int i = 0; i < n; i++) {
        const char *s = sel[i];
        while (s[0] == '.' && s[1] == '/')
            s += 2;
        size_t l = strlen(s);
        while (l > 1 && s[l - 1] == '/')
            l--;
        if (l == 1 && s[0] == '.')
            return 1;
        if (!strncmp(path, s, l) && (path[l] == '\0' || path[l] == '/'))
            return 1;
        size_t pl = strlen(path);
        if (parents && pl < l && !strncmp(path, s, pl) && s[pl] == '/')
            return 1;
    }
    return 0;
}

static int under(const char *path, char **sel, int n)
{
    return path_selected(path, sel, n, 1);
}

/* Opens the directory holding path's last component, beneath dfd,
 * without following any symlink on the way; *last gets that component.
 * Returns a descriptor (dfd itself for a top-level name) or -1. */
static int open_parent(int dfd, char *path, const char **last)
{
    int fd = dfd;
    char *c = path;
    for (char *slash; (slash = strchr(c, '/'));) {
        *slash = '\0';
        int next = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW |
                                     O_CLOEXEC);
        *slash = '/';
        if (fd != dfd)
            close(fd);
        if (next < 0)
            return -1;
        fd = next;
        c = slash + 1;
    }
    *last = c;
    return fd;
}

/* Sets the mode, owner (as root) and times of DIR/<e->path> from the
 * manifest, never following a symlink: whatever a data object put there
 * (a symlink where the manifest says directory, say), nothing outside DIR
 * is touched.  The path is canonical (manifest_parse checked it).
 * Returns -1 when a symlink or non-directory stands in the way or the
 * entry is a symlink/directory where the manifest says otherwise; 0
 * otherwise (a missing entry is left to the extraction's report). */
/* The directory of the last entry whose metadata was applied: entries
 * come deepest first in reverse path order, so siblings follow each
 * other and one walk from DIR serves them all (a walk per entry cost
 * more than the extraction itself on a tree of small files). */
typedef struct dircache {
    char *path; /* relative, without the trailing "/"; NULL: none */
    size_t len;
    int fd, err; /* fd -1: the walk failed with errno err */
} dircache;

static void dircache_drop(dircache *c, int dfd)
{
    if (c->path && c->fd >= 0 && c->fd != dfd)
        close(c->fd);
    free(c->path);
    c->path = NULL;
}

/* The directory holding path, beneath dfd, walked without following a
 * symlink (open_parent), or -1 with errno set. */
static int dircache_parent(dircache *c, int dfd, const char *path,
                           const char **last)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;
    *last = slash ? slash + 1 : path;
    if (!slash)
        return dfd;
    if (c->path && c->len == len && !memcmp(c->path, path, len)) {
        errno = c->err;
        return c->fd;
    }
    dircache_drop(c, dfd);
    char *p = strdup(path);
    const char *l;
    c->fd = p ? open_parent(dfd, p, &l) : -1;
    c->err = errno;
    c->path = p;
    c->len = len;
    if (!p)
        return -1;
    errno = c->err;
    return c->fd;
}

static int apply_meta(int dfd, dircache *dc, const mentry *e, int is_root)
{
    struct timespec ts[2];
    ts[0].tv_sec = ts[1].tv_sec = (time_t)(e->mtime_ns / 1000000000);
    ts[0].tv_nsec = ts[1].tv_nsec = (long)(e->mtime_ns % 1000000000);
    if (ts[0].tv_nsec < 0) {
        ts[0].tv_nsec = ts[1].tv_nsec = ts[0].tv_nsec + 1000000000;
        ts[0].tv_sec = ts[1].tv_sec = ts[0].tv_sec - 1;
    }
    if (!strcmp(e->path, ".")) { /* DIR itself, as the user named it */
        if (is_root)
            (void)fchown(dfd, e->uid, e->gid);
        (void)fchmod(dfd, e->mode);
        (void)futimens(dfd, ts);
        return 0;
    }
    const char *last;
    int pfd = dircache_parent(dc, dfd, e->path, &last);
    if (pfd < 0)
        return errno == ENOENT ? 0 : -1; /* not extracted: said already */
    struct stat st;
    int rc = 0;
    if (fstatat(pfd, last, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        /* A member of another type or size than its manifest entry (a
         * data object swapped or edited, or a backup that raced) gets
         * none of the entry's owner and mode (issue 14, item 1). */
        unsigned dt = scan_dtype(e->type);
        if ((dt != DT_UNKNOWN && (mode_t)DTTOIF(dt) != (st.st_mode & S_IFMT)) ||
            (e->type == 'f' && S_ISREG(st.st_mode) &&
             (uint64_t)st.st_size != e->size))
            return -1;
        if ((st.st_mode & 07777) == e->mode && st.st_uid == e->uid &&
            st.st_gid == e->gid && st.st_mtim.tv_sec == ts[1].tv_sec &&
            st.st_mtim.tv_nsec == ts[1].tv_nsec &&
            (e->type == 'd') == !!S_ISDIR(st.st_mode) &&
            (e->type == 'l') == !!S_ISLNK(st.st_mode))
            return 0; /* as the manifest says already (most files) */
        if (is_root)
            (void)fchownat(pfd, last, e->uid, e->gid, AT_SYMLINK_NOFOLLOW);
        /* glibc: through an O_PATH|O_NOFOLLOW descriptor, EOPNOTSUPP on
         * a symlink (which has no mode of its own on Linux). */
        if (e->type != 'l' && !S_ISLNK(st.st_mode))
            (void)fchmodat(pfd, last, e->mode, AT_SYMLINK_NOFOLLOW);
        (void)utimensat(pfd, last, ts, AT_SYMLINK_NOFOLLOW);
        if ((e->type == 'd') != S_ISDIR(st.st_mode) ||
            (e->type == 'l') != S_ISLNK(st.st_mode))
            rc = -1;
    }
    return rc;
}

/* Restores split file e: a new temporary file beside DIR/<e->path>
 * (reached without following symlinks), the chunks appended in order,
 * renamed into place once all are there and the size is right. */
static int restore_split(coll *k, int dfd, const mentry *e)
{
    const char *dir = k->c->directory, *last;
    char *p = strdup(e->path);
    int pfd = p ? open_parent(dfd, p, &last) : -1;
    if (pfd < 0) {
        say("restore: %s/%s: its directory is missing, or a symlink or "
            "non-directory stands in the way: not restored", dir, e->path);
        free(p);
        return EXIT_FORMAT;
    }
    char tmp[64];
    int fd = -1;
    for (int t = 0; t < 64 && fd < 0; t++) {
        uint8_t r[6];
        char rh[13];
        if (getrandom(r, sizeof r, 0) != sizeof r)
            memset(r, t, sizeof r);
        hex_encode(r, sizeof r, rh);
        snprintf(tmp, sizeof tmp, ".sluice-split-%s", rh);
        fd = openat(pfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
                                  O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    int ex = 0;
    if (fd < 0) {
        say("restore: %s/%s: cannot create a file beside it: %s", dir,
            e->path, strerror(errno));
        ex = EXIT_IO;
    } else {
        ex = chunks_fetch(k, e, fd, "restore");
        if (!ex && fsync(fd) < 0) {
            say("restore: %s/%s: cannot sync: %s", dir, e->path,
                strerror(errno));
            ex = EXIT_IO;
        }
        if (close(fd) < 0 && !ex) {
            say("restore: %s/%s: cannot close: %s", dir, e->path,
                strerror(errno));
            ex = EXIT_IO;
        }
        if (!ex && renameat(pfd, tmp, pfd, last) < 0) {
            say("restore: %s/%s: cannot rename into place: %s", dir,
                e->path, strerror(errno));
            ex = EXIT_IO;
        }
        if (ex)
            (void)unlinkat(pfd, tmp, 0);
    }
    if (pfd != dfd)
        close(pfd);
    free(p);
    return ex;
}

typedef struct groups {
    coll *k;
    mentry **v;
    size_t *start; /* group g: v[start[g]] .. v[start[g + 1] - 1] */
    const char *dir, *verb;
    int list_only;
    /* Extracted only to give an orphaned hard link its data (into a
     * scratch directory): not a file restored, so not counted done. */
    const mentry *aside;
} groups;

/* Task g: one tar object, its members. */
static int extract_group(void *arg, size_t g)
{
    groups *G = arg;
    coll *k = G->k;
    size_t a = G->start[g], b = G->start[g + 1];
    if (interrupted(k))
        return EXIT_INCOMPLETE;
    char **members = malloc((b - a) * sizeof *members);
    if (!members)
        return say("%s: out of memory", G->verb), EXIT_INTERNAL;
    for (size_t j = a; j < b; j++)
        members[j - a] = G->v[j]->path;
    char name[512];
    os_err e = {{0}};
    snprintf(name, sizeof name, "backups/%s/data-%u", G->v[a]->bid,
             G->v[a]->obj);
    os_sum want;
    int rc = os_extract(&k->o, data_root(k, G->v[a]->bid), name, G->dir,
                        members, b - a, G->list_only,
                        object_sum(G->v[a], G->v[a]->obj, &want), &e);
    free(members);
    size_t aside = 0;
    for (size_t j = a; j < b && G->aside; j++)
        aside += G->v[j] == G->aside;
    if (rc == 0)
        feedback_done(k, b - a - aside, 0);
    if (rc < 0 && interrupted(k))
        return EXIT_INCOMPLETE;
    if (rc < 0) {
        say("%s: damaged or missing object: %s", G->verb, e.msg);
        return object_exit(rc);
    }
    return 0;
}

/* A pool task result: the worst, in task order (pool_run gives the
 * first); every failure was said by its task. */
static int run_groups(groups *G, size_t n)
{
    mentry **v = G->v;
    G->start = malloc((n + 2) * sizeof *G->start);
    if (!G->start)
        return say("%s: out of memory", G->verb), EXIT_INTERNAL;
    size_t ng = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(v[i]->bid, v[i - 1]->bid) ||
            v[i]->obj != v[i - 1]->obj)
            G->start[ng++] = i;
    G->start[ng] = n;
    /* Objects side by side keep the cores busy: zstd's decoding workers
     * would only take turns with the other runs' (and add their jobs'
     * buffers, first touched in every run; one thread keeps one job). */
    char threads[16];
    const char *was = G->k->o.threads;
    unsigned width = coll_width(), cores = coll_cores();
    if (ng >= width) {
        snprintf(threads, sizeof threads, "%u",
                 cores / width ? cores / width : 1);
        G->k->o.threads = threads;
    }
    int ex = pool_run(ng, width, 0, extract_group, G);
    G->k->o.threads = was;
    free(G->start);
    return ex;
}

int extract_groups(coll *k, mentry **v, size_t n, const char *dir,
                   int list_only, const char *verb)
{
    groups G = {.k = k, .v = v, .dir = dir, .verb = verb,
                .list_only = list_only};
    return run_groups(&G, n);
}

/* The data holder of hard-linked entry e: the first link in path order
 * stored in the same tar object (later links are tar hard links to it). */
const mentry *link_holder(const manifest *m, const mentry *e)
{
    for (size_t i = 0; i < m->entries.n; i++) {
        const mentry *x = &m->entries.e[i];
        if (x->type == 'f' && x->dev == e->dev && x->ino == e->ino &&
            x->obj == e->obj && !strcmp(x->bid, e->bid))
            return x;
    }
    return e;
}

/* Removes name beneath dfd, a directory tree the restore made itself. */
static void remove_tree(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                   O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        (void)unlinkat(dfd, name, 0);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            remove_tree(fd, de->d_name);
    closedir(d);
    (void)unlinkat(dfd, name, AT_REMOVEDIR);
}

/* A selected hard link whose data holder is not selected: both are
 * extracted into a new scratch directory beside the others, the
 * selected one is moved into place (a regular file with its data), the
 * rest removed (doc/FORMAT.md 5.8). */
static int restore_orphan_link(coll *k, int dfd, const manifest *m,
                               mentry *e)
{
    const char *dir = k->c->directory, *last;
    char tmp[] = ".sluice-link-XXXXXX";
    char *tdir = NULL;
    int ex = 0;
    if (asprintf(&tdir, "%s/%s", dir, tmp) < 0 || !mkdtemp(tdir)) {
        say("restore: %s: cannot create a scratch directory: %s", dir,
            strerror(errno));
        free(tdir);
        return EXIT_IO;
    }
    const char *tbase = strrchr(tdir, '/') + 1;
    mentry *pair[2] = {(mentry *)link_holder(m, e), e};
    groups G = {.k = k, .v = pair, .dir = tdir, .verb = "restore",
                .aside = pair[0]};
    ex = run_groups(&G, 2);
    int tfd = openat(dfd, tbase, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char *p = strdup(e->path), *q = strdup(e->path);
    const char *tlast;
    int pfd = !ex && p ? open_parent(dfd, p, &last) : -1;
    int sfd = !ex && q && tfd >= 0 ? open_parent(tfd, q, &tlast) : -1;
    if (!ex && (pfd < 0 || sfd < 0 || renameat(sfd, tlast, pfd, last) < 0)) {
        say("restore: %s/%s: cannot move into place: %s", dir, e->path,
            strerror(errno));
        ex = EXIT_IO;
    }
    if (pfd >= 0 && pfd != dfd)
        close(pfd);
    if (sfd >= 0 && sfd != tfd)
        close(sfd);
    if (tfd >= 0)
        close(tfd);
    remove_tree(dfd, tbase);
    free(p);
    free(q);
    free(tdir);
    return ex;
}

/* What a restore takes from manifest m: v, the members of tar objects
 * to extract; sp, the split files; lk, selected hard links whose data
 * holder is not selected. */
typedef struct picks {
    mentry **v, **sp, **lk;
    size_t n, nsp, nlk;
} picks;

static int pick(coll *k, manifest *m, picks *p)
{
    size_t cap = m->entries.n + 1;
    p->v = malloc(cap * sizeof *p->v);
    p->sp = malloc(cap * sizeof *p->sp);
    p->lk = malloc(cap * sizeof *p->lk);
    if (!p->v || !p->sp || !p->lk)
        return say("restore: out of memory"), EXIT_INTERNAL;
    char **sel = k->c->args;
    int nsel = k->c->n_args;
    for (size_t i = 0; i < m->entries.n; i++) {
        mentry *e = &m->entries.e[i];
        if (!under(e->path, sel, nsel))
            continue;
        const mentry *h = e->type == 'f' && e->nlink > 1 && nsel
                              ? link_holder(m, e) : e;
        if (e->nchunks)
            p->sp[p->nsp++] = e;
        else if (h != e && !under(h->path, sel, nsel))
            p->lk[p->nlk++] = e;
        else
            p->v[p->n++] = e;
    }
    return 0;
}

/* Strict as -x: a PATH that names no entry (nor anything under it) is
 * an error (exit 2), said before anything is written. */
static int check_selection(const coll *k, const manifest *m, const char *id)
{
    int ex = 0;
    for (int i = 0; i < k->c->n_args; i++) {
        char *one = k->c->args[i];
        const char *s = one;
        while (s[0] == '.' && s[1] == '/')
            s += 2;
        size_t l = strlen(s);
        while (l > 1 && s[l - 1] == '/')
            l--;
        int found = !strcmp(s, ".");
        for (size_t j = 0; j < m->entries.n && !found; j++) {
            const char *path = m->entries.e[j].path;
            /* a leading directory matches without being selected */
            found = under(path, &one, 1) && strlen(path) >= l;
        }
        if (!found) {
            say("restore: %s: not found in backup %s", one, id);
            ex = EXIT_USAGE;
        }
    }
    return ex;
}

/* A backup's run of entries in v, for order_by_index. */
typedef struct run {
    size_t pos, start, len; /* pos: the backup's place in INDEX */
} run;

static int cmp_run(const void *a, const void *b)
{
    const run *x = a, *y = b;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Oldest objects first (INDEX order), so the parents of later ones
 * exist; within a backup by object, then path.  A backup's place is
 * looked up once for its run of entries (a lookup per comparison, and an
 * insertion sort, grew with entries times backups: years of daily
 * incrementals). */
static int order_by_index(coll *k, mentry **v, size_t n)
{
    if (n == 0) /* v may be NULL: qsort and memcpy must not see it */
        return 0;
    qsort_r(v, n, sizeof *v, cmp_group, NULL);
    size_t nr = 0;
    for (size_t i = 0; i < n; i++)
        nr += i == 0 || strcmp(v[i]->bid, v[i - 1]->bid) != 0;
    run *r = malloc((nr + 1) * sizeof *r);
    mentry **out = malloc((n + 1) * sizeof *out);
    if (!r || !out) {
        free(r);
        free(out);
        return say("restore: out of memory"), EXIT_INTERNAL;
    }
    nr = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(v[i]->bid, v[i - 1]->bid) != 0)
            r[nr++] = (run){backup_pos(k, v[i]->bid), i, 0};
        r[nr - 1].len++;
    }
    qsort(r, nr, sizeof *r, cmp_run);
    for (size_t i = 0, at = 0; i < nr; at += r[i].len, i++)
        memcpy(out + at, v + r[i].start, r[i].len * sizeof *out);
    memcpy(v, out, n * sizeof *v);
    free(out);
    free(r);
    return 0;
}

/* Whether e's metadata is the tar member's, as extracted: a regular
 * file of one link, or a symlink (nothing is made in it later), that
 * this backup stored (an older backup's member can hold older times:
 * --checksum keeps a touched file's object) in a tar object whose bytes
 * were checked against the manifest's record of it (so the member is the
 * one archived with these mode, owner and times).  Every other entry,
 * directories first of all, gets the final pass. */
static int meta_from_member(const manifest *m, const mentry *e)
{
    os_sum s;
    int plain = e->type == 'l' ||
                (e->type == 'f' && !e->nchunks && e->nlink <= 1);
    return plain && e->bid && !strcmp(e->bid, m->id) &&
           object_sum(e, e->obj, &s) != NULL;
}

/* Metadata as of the backup, deepest first: extracting later objects
 * changed the times of the directories earlier ones made.  After an
 * object already failed (failed != 0, said once), its entries are
 * expectedly not as the manifest says: no metadata for them, no second
 * line. */
static int apply_all_meta(coll *k, int dfd, const manifest *m, int failed)
{
    int is_root = geteuid() == 0, ex = 0;
    dircache dc = {0};
    for (size_t i = m->entries.n; i-- > 0;) {
        const mentry *e = &m->entries.e[i];
        if (meta_from_member(m, e) || !under(e->path, k->c->args,
                                             k->c->n_args))
            continue;
        if (apply_meta(dfd, &dc, e, is_root) < 0 && !failed) {
            say("restore: %s/%s: not what the manifest says (another "
                "type or size, or a symlink on the way): metadata not "
                "applied",
                k->c->directory, e->path);
            ex = worse(ex, EXIT_FORMAT);
        }
    }
    dircache_drop(&dc, dfd);
    return ex;
}

/* After the tar objects: orphaned hard links, split files, metadata. */
static int restore_rest(coll *k, manifest *m, picks *p, int failed)
{
    const char *dir = k->c->directory;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ex = 0;
    if (dfd < 0) {
        say("%s: %s", dir, strerror(errno));
        return EXIT_IO;
    }
    for (size_t i = 0; i < p->nlk && !interrupted(k); i++)
        ex = worse(ex, restore_orphan_link(k, dfd, m, p->lk[i]));
    /* Split files, once the tar objects made their directories. */
    for (size_t i = 0; i < p->nsp && !interrupted(k); i++)
        ex = worse(ex, restore_split(k, dfd, p->sp[i]));
    if (interrupted(k))
        ex = worse(ex, EXIT_INCOMPLETE);
    else
        ex = worse(ex, apply_all_meta(k, dfd, m, failed || ex));
    close(dfd);
    return ex;
}

/* The selected backup's MANIFEST, once open_existing succeeded. */
static int load_selected(coll *k, const ixent **b, manifest *m)
{
    if (!(*b = select_backup(k)))
        return EXIT_USAGE;
    return load_manifest(k, (*b)->id, m);
}

int open_selected(coll *k, const ixent **b, manifest *m)
{
    int ex = open_existing(k);
    return ex ? ex : load_selected(k, b, m);
}

/* As strict as -x: DIR must be an existing directory (never made),
 * checked before the collection is read; -x's message and status. */
static int check_directory(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        say("restore: cannot change to directory %s: %s", dir,
            strerror(errno));
        return EXIT_IO;
    }
    close(fd);
    return 0;
}

int cmd_restore(coll *k)
{
    const ixent *b = NULL;
    manifest m = {0};
    const char *dir = k->c->directory;
    int ex = k->c->to_stdout ? 0 : check_directory(dir);
    if (!ex)
        ex = open_existing(k);
    /* The archive stage loads while the MANIFEST is read, each on one
     * core: the first objects' runs would wait for it.  Not before: the
     * descriptor's runs load the chain's stages, and plugins load one at
     * a time. */
    loader_preload *pre = !ex && !k->c->to_stdout
                              ? loader_preload_start(k->o.l,
                                                     preset_archive_stage())
                              : NULL;
    if (!ex)
        ex = load_selected(k, &b, &m);
    loader_preload_end(pre);
    if (ex)
        return ex;
    if (k->c->to_stdout) {
        ex = restore_to_stdout(k, b, &m);
        manifest_free(&m);
        return ex;
    }
    picks p = {0};
    ex = check_selection(k, &m, b->id);
    if (!ex)
        ex = pick(k, &m, &p);
    if (!ex && k->c->n_args && p.n + p.nsp + p.nlk == 0) {
        say("restore: no such path in backup %s", b->id);
        ex = EXIT_USAGE;
    }
    if (!ex)
        ex = order_by_index(k, p.v, p.n);
    if (!ex) {
        feedback_start(k, "files");
        feedback_expect(k, p.v, p.n);
        feedback_expect(k, p.sp, p.nsp);
        /* An orphaned link fetches its data holder's object once more,
         * by itself (restore_orphan_link): one file, that object's bytes. */
        for (size_t i = 0; i < p.nlk; i++)
            feedback_expect(k, &p.lk[i], 1);
        ex = extract_groups(k, p.v, p.n, dir, 0, "restore");
        if (!interrupted(k))
            ex = worse(ex, restore_rest(k, &m, &p, ex));
    }
    free(p.v);
    free(p.sp);
    free(p.lk);
    manifest_free(&m);
    return ex;
}
