/* prune.c - `sluice prune` (doc/FORMAT.md 5.11): removes every object no
 * backup in the INDEX references: the MANIFEST and data objects of
 * forgotten backups, the orphans of killed backups (backups/ID/ not in
 * the INDEX), data objects no surviving MANIFEST names, the file stage's
 * temporary files left by a killed run and, on S3, incomplete multipart
 * uploads older than the grace period.  Under the lock, after the INDEX
 * is final: interrupted at any point, what is left is unreferenced and
 * the next prune removes it.
 *
 * It must list the storage.  Local roots are read here, by descriptor
 * (openat/fdopendir, no symlink followed: a symlink planted in the
 * collection is removed, never followed); any other root through its
 * stage's list() (ABI 1.3, prune-remote.c).  A root whose stage cannot
 * list (http(s)://, a plugin built for ABI 1.2 or older) is refused
 * before anything is removed (exit 2). */
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
#include "prune.h"
#include "when.h"

int live_add(live *L, const char *id, const char *obj)
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

void live_sort(live *L)
{
    if (L->n)
        qsort(L->v, L->n, sizeof *L->v, cmp_str);
}

int live_has(const live *L, const char *id, const char *obj)
{
    char key[600];
    const char *kp = key;
    snprintf(key, sizeof key, "%s/%s", id, obj);
    return L->n && bsearch(&kp, L->v, L->n, sizeof *L->v, cmp_str) != NULL;
}

void live_free(live *L)
{
    for (size_t i = 0; i < L->n; i++)
        free(L->v[i]);
    free(L->v);
    memset(L, 0, sizeof *L);
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
        int bad = live_add(L, k->ix.e[i].id, "MANIFEST");
        for (size_t j = 0; j < m.entries.n && !bad; j++) {
            const mentry *e = &m.entries.e[j];
            unsigned c = e->nchunks ? e->nchunks : 1;
            for (unsigned o = 0; o < c && e->obj && !bad; o++) {
                snprintf(obj, sizeof obj, "data-%" PRIu64,
                         (uint64_t)e->obj + o);
                bad = live_add(L, e->bid, obj);
            }
        }
        manifest_free(&m);
        if (bad)
            return EXIT_INTERNAL;
    }
    live_sort(L);
    return 0;
}

void prune_count(coll *k, tally *t, const char *root, const char *rel,
                 uint64_t size)
{
    char line[1200];
    t->objects++;
    t->bytes += size;
    feedback_done(k, 1, size);
    if (k->c->verbose || t->dry) {
        snprintf(line, sizeof line, "%s %s/%s (%" PRIu64 " bytes)",
                 t->dry ? "would remove" : "removed", root, rel, size);
        host_print_listing(stdout, line);
    }
}

/* Removes (or, dry, names) one unreferenced object. */
static void drop(coll *k, tally *t, int dfd, const char *root,
                 const char *rel, const char *name, const struct stat *st)
{
    if (!t->dry && unlinkat(dfd, name, 0) < 0) {
        say("prune: %s/%s: cannot remove: %s", root, rel, strerror(errno));
        t->failed = 1;
        return;
    }
    prune_count(k, t, root, rel, (uint64_t)st->st_size);
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
        if (live_has(L, id, de->d_name))
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

int prune_ours(const prune_dflt *d, const char *id, const live *L)
{
    char rel[600];
    struct stat st;
    snprintf(rel, sizeof rel, "%s/MANIFEST", id);
    if (live_has(L, id, "MANIFEST"))
        return 1;
    return d->bfd >= 0 ? fstatat(d->bfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0
                       : live_has(d->manifests, id, "MANIFEST");
}

/* A local root; dflt: NULL when root is the default. */
static void sweep_root(coll *k, tally *t, const char *root, const live *L,
                       const prune_dflt *dflt)
{
    int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0) {
        say("prune: %s: %s", root, strerror(errno));
        t->failed = 1;
        return;
    }
    if (!dflt)
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
        if (dflt && !prune_ours(dflt, de->d_name, L))
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

/* Every root must be listable before anything is removed. */
static int check_root(coll *k, const char *url, const char *what)
{
    char why[300];
    if (!os_list_refusal(&k->o, url, why, sizeof why))
        return 0;
    say("prune: %s: %s: %s; nothing removed", url, what, why);
    return EXIT_USAGE;
}

static int check_roots(coll *k)
{
    for (size_t i = 0; i < k->locs.n; i++)
        if (strcmp(k->locs.e[i].tag, "default") &&
            check_root(k, k->locs.e[i].url, "a destination"))
            return EXIT_USAGE;
    return check_root(k, k->root, "the collection's root");
}

int prune_grace(coll *k, int64_t *cutoff)
{
    const char *g = k->c->prune_grace ? k->c->prune_grace : "1d";
    when_span sp;
    char err[300];
    if (!strcmp(g, "0")) {
        *cutoff = INT64_MAX; /* no grace: every upload goes */
        return 0;
    }
    if (when_parse_span(g, &sp, err, sizeof err) < 0) {
        say("%s: --prune-grace %s (or 0 for none)", k->cmd, err);
        return EXIT_USAGE;
    }
    *cutoff = when_span_before(coll_now(), &sp);
    return 0;
}

/* Sweeps every destination, then the default root (what is ours at a
 * destination is known by the MANIFESTs at the default, which its own
 * sweep removes last). */
static void sweep_all(coll *k, tally *t, const live *L)
{
    live manifests = {0};
    prune_dflt d = {-1, &manifests};
    int others = 0;
    for (size_t i = 0; i < k->locs.n; i++)
        others |= strcmp(k->locs.e[i].tag, "default") != 0;
    if (others && os_is_local(k->root)) {
        char bdir[4200];
        snprintf(bdir, sizeof bdir, "%s/backups", k->root);
        d.bfd = open(bdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        others = d.bfd >= 0; /* no backups/: nothing of ours elsewhere */
    } else if (others && prune_manifests(k, k->root, &manifests) < 0) {
        t->failed = 1;
        others = 0;
    }
    for (size_t i = 0; others && i < k->locs.n && !interrupted(k); i++) {
        const char *url = k->locs.e[i].url;
        if (!strcmp(k->locs.e[i].tag, "default"))
            continue;
        if (os_is_local(url))
            sweep_root(k, t, url, L, &d);
        else
            prune_remote(k, t, url, L, &d);
    }
    if (d.bfd >= 0)
        close(d.bfd);
    live_free(&manifests);
    if (interrupted(k))
        return;
    if (os_is_local(k->root))
        sweep_root(k, t, k->root, L, NULL);
    else
        prune_remote(k, t, k->root, L, NULL);
}

int prune_locked(coll *k, int dry)
{
    int ex = k->have_index ? 0 : load_index(k, 1);
    if (!ex)
        ex = check_roots(k);
    tally t = {0};
    t.dry = dry;
    if (!ex)
        ex = prune_grace(k, &t.cutoff);
    live L = {0};
    if (!ex)
        ex = collect_live(k, &L);
    if (!ex && !dry && !k->c->verbose) /* else a line an object follows */
        feedback_start(k, "objects removed");
    if (!ex) {
        sweep_all(k, &t, &L);
        feedback_stop(k); /* before the last words on stdout */
        if (!k->c->quiet || dry)
            printf("prune: %s %" PRIu64 " objects, %" PRIu64
                   " bytes %s\n", dry ? "would remove" : "removed",
                   t.objects, t.bytes, dry ? "would be freed" : "freed");
        if ((t.uploads || t.young) && (!k->c->quiet || dry))
            printf("prune: %s %" PRIu64 " incomplete uploads, kept %"
                   PRIu64 " started within the grace period\n",
                   dry ? "would abort" : "aborted", t.uploads, t.young);
        if (t.failed)
            ex = EXIT_IO;
        if (interrupted(k))
            ex = EXIT_INCOMPLETE;
    }
    live_free(&L);
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
