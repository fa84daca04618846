/* prune.c - `sluice prune` (doc/FORMAT.md 5.9): removes every object no
 * backup in the INDEX references: the MANIFEST and data objects of
 * forgotten backups, the orphans of killed backups (backups/ID/ not in
 * the INDEX), data objects no surviving MANIFEST names, and the file
 * stage's temporary files left by a killed run.  Under the lock, after
 * the INDEX is final: interrupted at any point, what is left is
 * unreferenced and the next prune removes it.
 *
 * It must list the storage: local roots only, read by descriptor
 * (openat/fdopendir, no symlink followed: a symlink planted in the
 * collection is removed, never followed).  s3:// and http(s):// roots are
 * refused for now (exit 2): the plugin ABI has no listing yet. */
#define _GNU_SOURCE
#include "coll.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../status.h"

typedef struct live {
    char **v; /* "ID/data-N" and "ID/MANIFEST", sorted */
    size_t n, cap;
} live;

typedef struct tally {
    uint64_t objects, bytes;
    int dry, failed;
} tally;

static int add_live(live *L, const char *id, const char *obj)
{
    if (L->n == L->cap) {
        size_t c = L->cap ? 2 * L->cap : 256;
        char **v = realloc(L->v, c * sizeof *v);
        if (!v)
            return -1;
        L->v = v;
        L->cap = c;
    }
    return asprintf(&L->v[L->n++], "%s/%s", id, obj) < 0 ? (L->n--, -1) : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_live(const live *L, const char *id, const char *obj)
{
    char key[600];
    const char *kp = key;
    snprintf(key, sizeof key, "%s/%s", id, obj);
    return bsearch(&kp, L->v, L->n, sizeof *L->v, cmp_str) != NULL;
}

/* Every object the INDEX's backups reference; a MANIFEST that cannot be
 * read stops the prune before anything is removed. */
static int collect_live(coll *k, live *L)
{
    char obj[64];
    for (size_t i = 0; i < k->ix.n; i++) {
        manifest m;
        memset(&m, 0, sizeof m);
        int ex = load_manifest(k, k->ix.e[i].id, &m);
        if (ex)
            return ex;
        int bad = add_live(L, k->ix.e[i].id, "MANIFEST");
        for (size_t j = 0; j < m.entries.n && !bad; j++) {
            const mentry *e = &m.entries.e[j];
            unsigned c = e->nchunks ? e->nchunks : 1;
            for (unsigned o = 0; o < c && e->obj && !bad; o++) {
                snprintf(obj, sizeof obj, "data-%" PRIu64,
                         (uint64_t)e->obj + o);
                bad = add_live(L, e->bid, obj);
            }
        }
        manifest_free(&m);
        if (bad)
            return EXIT_INTERNAL;
    }
    qsort(L->v, L->n, sizeof *L->v, cmp_str);
    return 0;
}

/* Removes (or, dry, names) one unreferenced object. */
static void drop(coll *k, tally *t, int dfd, const char *root,
                 const char *rel, const char *name, const struct stat *st)
{
    char line[1200];
    if (!t->dry && unlinkat(dfd, name, 0) < 0) {
        say("prune: %s/%s: cannot remove: %s", root, rel, strerror(errno));
        t->failed = 1;
        return;
    }
    t->objects++;
    t->bytes += (uint64_t)st->st_size;
    feedback_done(k, 1, (uint64_t)st->st_size);
    if (k->c->verbose || t->dry) {
        snprintf(line, sizeof line, "%s %s/%s (%" PRIu64 " bytes)",
                 t->dry ? "would remove" : "removed", root, rel,
                 (uint64_t)st->st_size);
        host_print_listing(stdout, line);
    }
}

/* backups/ID/ of one root: what is not live goes; then the directory
 * itself when empty. */
static void sweep_backup(coll *k, tally *t, int bfd, const char *root,
                         const char *id, const live *L)
{
    int fd = openat(bfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        if (fd >= 0)
            close(fd);
        say("prune: %s/backups/%s: %s", root, id, strerror(errno));
        t->failed = 1;
        return;
    }
    struct dirent *de;
    char rel[700];
    while ((de = readdir(d)) && !interrupted(k)) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            S_ISDIR(st.st_mode))
            continue; /* not ours: left alone */
        if (is_live(L, id, de->d_name))
            continue;
        snprintf(rel, sizeof rel, "backups/%s/%s", id, de->d_name);
        drop(k, t, fd, root, rel, de->d_name, &st);
    }
    closedir(d);
    if (!t->dry)
        (void)unlinkat(bfd, id, AT_REMOVEDIR); /* fails unless empty */
}

/* The file stage's temporary files (".NAME.sluice-XXXXXX") at the top
 * of the root, left by a run killed while it wrote a record. */
static void sweep_top(coll *k, tally *t, int rfd, const char *root)
{
    int fd = openat(rfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        const char *s = strstr(de->d_name, ".sluice-");
        if (de->d_name[0] != '.' || !s || strlen(s) != 14 ||
            fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(st.st_mode))
            continue;
        drop(k, t, fd, root, de->d_name, de->d_name, &st);
    }
    closedir(d);
}

/* Whether backups/ID/ at another destination is this collection's: in
 * the INDEX, or with a MANIFEST at the default root (forgotten, not yet
 * pruned).  Another collection may share that destination. */
static int ours(int dflt_bfd, const char *id, const live *L)
{
    char rel[600];
    struct stat st;
    snprintf(rel, sizeof rel, "%s/MANIFEST", id);
    return is_live(L, id, "MANIFEST") ||
           fstatat(dflt_bfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* dflt_bfd: -1 when root is the default; else the default's backups/. */
static void sweep_root(coll *k, tally *t, const char *root, const live *L,
                       int dflt_bfd)
{
    int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0) {
        say("prune: %s: %s", root, strerror(errno));
        t->failed = 1;
        return;
    }
    if (dflt_bfd < 0)
        sweep_top(k, t, rfd, root);
    int bfd = openat(rfd, "backups",
                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = bfd < 0 ? NULL : fdopendir(bfd);
    if (!d) {
        if (bfd >= 0)
            close(bfd);
        close(rfd);
        return; /* no backups/ yet: nothing to sweep */
    }
    struct dirent *de;
    while ((de = readdir(d)) && !interrupted(k)) {
        struct stat st;
        if (de->d_name[0] == '.' && (!de->d_name[1] ||
                                     !strcmp(de->d_name, "..")))
            continue;
        if (fstatat(bfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (dflt_bfd >= 0 && !ours(dflt_bfd, de->d_name, L))
            continue;
        if (S_ISDIR(st.st_mode)) {
            sweep_backup(k, t, bfd, root, de->d_name, L);
        } else {
            char rel[600];
            snprintf(rel, sizeof rel, "backups/%s", de->d_name);
            drop(k, t, bfd, root, rel, de->d_name, &st);
        }
    }
    closedir(d);
    close(rfd);
}

/* The roots to sweep: the default and every recorded destination. */
static int check_roots(coll *k)
{
    for (size_t i = 0; i < k->locs.n; i++)
        if (strcmp(k->locs.e[i].tag, "default") &&
            !os_is_local(k->locs.e[i].url)) {
            say("prune: %s: listing objects is not supported for this "
                "destination yet (s3://, http(s)://): nothing removed",
                k->locs.e[i].url);
            return EXIT_USAGE;
        }
    if (!os_is_local(k->root)) {
        say("prune: %s: listing objects is not supported for this root "
            "yet (s3://, http(s)://): nothing removed", k->root);
        return EXIT_USAGE;
    }
    return 0;
}

int prune_locked(coll *k, int dry)
{
    int ex = k->have_index ? 0 : load_index(k, 1);
    if (!ex)
        ex = check_roots(k);
    live L = {0};
    if (!ex)
        ex = collect_live(k, &L);
    tally t = {0, 0, dry, 0};
    if (!ex && !dry && !k->c->verbose) /* else a line an object follows */
        feedback_start(k, "objects removed");
    if (!ex) {
        /* Other destinations first: what is ours there is known by the
         * MANIFESTs at the default, which its sweep then removes. */
        char bdir[4200];
        snprintf(bdir, sizeof bdir, "%s/backups", k->root);
        int dfd = open(bdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        for (size_t i = 0; dfd >= 0 && i < k->locs.n; i++)
            if (strcmp(k->locs.e[i].tag, "default"))
                sweep_root(k, &t, k->locs.e[i].url, &L, dfd);
        if (dfd >= 0)
            close(dfd);
        sweep_root(k, &t, k->root, &L, -1);
        feedback_stop(k); /* before the last words on stdout */
        if (!k->c->quiet || dry)
            printf("prune: %s %" PRIu64 " objects, %" PRIu64
                   " bytes %s\n", dry ? "would remove" : "removed",
                   t.objects, t.bytes, dry ? "would be freed" : "freed");
        if (t.failed)
            ex = EXIT_IO;
        if (interrupted(k))
            ex = EXIT_INCOMPLETE;
    }
    for (size_t i = 0; i < L.n; i++)
        free(L.v[i]);
    free(L.v);
    return ex;
}

int cmd_prune(coll *k)
{
    k->root = k->c->from;
    int ex = open_collection(k, NULL);
    if (ex)
        return ex;
    if (k->c->dry_run)
        return prune_locked(k, 1);
    if ((ex = lock_collection(k, host_name(k->c))))
        return ex;
    ex = prune_locked(k, 0);
    unlock_collection(k);
    return ex;
}
