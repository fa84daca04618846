/* select.c - what a backup leaves out of its scan: --exclude and
 * --exclude-from patterns (the archive stage's matcher: fnmatch with
 * FNM_LEADING_DIR against the path and every tail after a '/'),
 * --exclude-caches (a directory's contents but its CACHEDIR.TAG, when
 * the tag has the signature of bford.info/cachedir), --one-file-system
 * (the contents of a directory on another device than its parent), the
 * collection's own root and sluice's temporary files (always).
 *
 * It filters the scanned list after the walk (parents sort before their
 * contents, so one pass sees a directory before what it holds). */
#define _GNU_SOURCE
#include "coll.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../presets.h"
#include "../status.h"

#define CACHEDIR_SIG "Signature: 8a477f597d28d172789f06886806bc55"

typedef struct sel {
    char **pat;
    size_t n_pat;
    char **cut; /* directories whose contents go        */
    size_t n_cut;
    char **tagged; /* cache directories: all but the tag go */
    size_t n_tagged;
    struct stat root; /* the collection's root (local), or dev 0 */
    int have_root;
} sel;

static int matches(const sel *s, const char *path)
{
    for (size_t i = 0; i < s->n_pat; i++)
        for (const char *p = path; p; p = strchr(p, '/') ? strchr(p, '/') + 1
                                                           : NULL)
            if (fnmatch(s->pat[i], p, FNM_LEADING_DIR) == 0)
                return 1;
    return 0;
}

static int below(char **v, size_t n, const char *path, int keep_tag)
{
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(v[i]);
        if (!strcmp(v[i], ".") ||
            (!strncmp(path, v[i], l) && path[l] == '/'))
            return !(keep_tag && !strcmp(path + l + 1, "CACHEDIR.TAG"));
    }
    return 0;
}

static int below_cut(const sel *s, const char *path)
{
    return below(s->cut, s->n_cut, path, 0) ||
           below(s->tagged, s->n_tagged, path, 1);
}

static int push(char ***v, size_t *n, const char *str)
{
    char **g = realloc(*v, (*n + 1) * sizeof *g);
    if (!g || !(g[*n] = strdup(str)))
        return -1;
    *v = g;
    (*n)++;
    return 0;
}

/* --exclude-from FILE: a pattern a line; empty lines skipped. */
static int read_patterns(sel *s, const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return say("backup: %s: %m", file), EXIT_IO;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int ex = 0;
    while (!ex && (n = getline(&line, &cap, f)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n && push(&s->pat, &s->n_pat, line) < 0)
            ex = EXIT_INTERNAL;
    }
    free(line);
    fclose(f);
    return ex;
}

static int is_cache_dir(const char *disk)
{
    char *p = NULL, buf[sizeof CACHEDIR_SIG];
    if (asprintf(&p, "%s/CACHEDIR.TAG", disk) < 0)
        return 0;
    int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    free(p);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n == (ssize_t)sizeof buf - 1 &&
           !memcmp(buf, CACHEDIR_SIG, sizeof buf - 1);
}

static const char *base(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* Does entry e go?  (Its directory may also cut its contents.) */
static int leaves_out(const coll *k, sel *s, const mentry *e,
                      const mentry *parent, const char *disk)
{
    const char *b = base(e->path);
    if (below_cut(s, e->path) || matches(s, e->path))
        return 1;
    /* the file stage's and the backup's own temporary files */
    if ((b[0] == '.' && strstr(b, ".sluice-")) ||
        !strncmp(b, "sluice-list-", 12))
        return 1;
    if (e->type != 'd')
        return 0;
    if (s->have_root && e->dev == (uint64_t)s->root.st_dev &&
        e->ino == (uint64_t)s->root.st_ino)
        return push(&s->cut, &s->n_cut, e->path), 1;
    if (k->c->one_file_system && parent && parent->dev != e->dev)
        push(&s->cut, &s->n_cut, e->path);
    else if (k->c->exclude_caches && disk && is_cache_dir(disk))
        push(&s->tagged, &s->n_tagged, e->path);
    return 0;
}

static void drop(mentry *e)
{
    free(e->path);
    free(e->disk);
    free(e->link);
    free(e->sha);
}

static char *disk_of(const coll *k, const mentry *e)
{
    const char *dir = k->c->directory;
    char *s = NULL;
    if (!dir || e->disk[0] == '/')
        return strdup(e->disk);
    return asprintf(&s, "%s/%s", dir, e->disk) < 0 ? NULL : s;
}

int select_operands(coll *k, char ***args, int *n)
{
    const coll_opts *c = k->c;
    char **v = NULL;
    size_t nv = 0;
    for (int i = 0; i < c->n_args; i++)
        if (push(&v, &nv, c->args[i]) < 0)
            return EXIT_INTERNAL;
    *args = v;
    *n = (int)nv;
    if (!c->files_from)
        return 0;
    sel tmp = {0};
    int ex = read_patterns(&tmp, c->files_from); /* a path a line */
    for (size_t i = 0; i < tmp.n_pat; i++) {
        if (!ex && push(&v, &nv, tmp.pat[i]) < 0)
            ex = EXIT_INTERNAL;
        free(tmp.pat[i]);
    }
    free(tmp.pat);
    *args = v;
    *n = (int)nv;
    if (!ex && !nv)
        return say("backup: --files-from %s: no paths", c->files_from),
               EXIT_USAGE;
    return ex;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *select_paths_key(coll *k)
{
    char **ops = NULL, *key = NULL;
    int n = 0;
    if (select_operands(k, &ops, &n) == 0) {
        for (int i = 0; i < n; i++) { /* "./etc/" is "etc" */
            char *s = ops[i];
            while (s[0] == '.' && s[1] == '/' && s[2])
                memmove(s, s + 2, strlen(s + 2) + 1);
            size_t l = strlen(s);
            while (l > 1 && s[l - 1] == '/')
                s[--l] = '\0';
        }
        if (n > 1)
            qsort(ops, (size_t)n, sizeof *ops, cmp_str);
        size_t len = strlen(k->c->directory ? k->c->directory : "") + 1;
        for (int i = 0; i < n; i++)
            len += strlen(ops[i]) + 1;
        key = malloc(len + 1);
        if (key) {
            strcpy(key, k->c->directory ? k->c->directory : "");
            for (int i = 0; i < n; i++)
                if (!i || strcmp(ops[i], ops[i - 1]))
                    strcat(strcat(key, "\n"), ops[i]);
        }
    }
    for (int i = 0; i < n; i++)
        free(ops[i]);
    free(ops);
    return key;
}

int select_filter(coll *k, mlist *l)
{
    const coll_opts *c = k->c;
    sel s = {0};
    int ex = 0;
    for (int i = 0; i < c->n_excludes && !ex; i++)
        if (push(&s.pat, &s.n_pat, c->excludes[i]) < 0)
            ex = EXIT_INTERNAL;
    if (!ex && c->exclude_from)
        ex = read_patterns(&s, c->exclude_from);
    if (os_is_local(k->root) &&
        stat(preset_local_path(k->root), &s.root) == 0)
        s.have_root = 1;
    size_t kept = 0;
    for (size_t i = 0; i < l->n && !ex; i++) {
        mentry *e = &l->e[i];
        /* The parent matters only to --one-file-system and to -v's "the
         * top": a lookup an entry was three quarters of the filter's time. */
        char *slash = c->one_file_system || c->verbose
                          ? strrchr(e->path, '/') : NULL;
        mentry *parent = NULL;
        if (slash) {
            *slash = '\0';
            parent = mlist_find(l, e->path);
            *slash = '/';
        }
        char *disk = c->exclude_caches ? disk_of(k, e) : NULL;
        int out = leaves_out(k, &s, e, parent, disk);
        free(disk);
        if (out && c->verbose && (!parent || parent->type)) /* the top */
            say("backup: %s: excluded", e->path);
        if (out)
            e->type = 0; /* dropped below, once every lookup is done */
    }
    for (size_t i = 0; i < l->n; i++) {
        if (!l->e[i].type)
            drop(&l->e[i]);
        else
            l->e[kept++] = l->e[i];
    }
    l->n = kept;
    for (size_t i = 0; i < s.n_pat; i++)
        free(s.pat[i]);
    for (size_t i = 0; i < s.n_cut; i++)
        free(s.cut[i]);
    for (size_t i = 0; i < s.n_tagged; i++)
        free(s.tagged[i]);
    free(s.tagged);
    free(s.pat);
    free(s.cut);
    return ex;
}
