/* loader.c - plugin discovery, dlopen and ABI checks. */
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build-paths.h"
#include "header.h"
#include "stagekeys.h"
#include "util.h"

#define MAX_DIRS 64

typedef struct loaded_plugin {
    char *path;
    void *dl;
    loaded_stage *stages;
    size_t n_stages;
    struct loaded_plugin *next;
} loaded_plugin;

struct loader {
    char *dirs[MAX_DIRS + 1];
    size_t n_dirs;
    loaded_plugin *plugins;
    /* A collection's runs load stages from several threads at once.
     * lock guards the list, briefly; load_lock is held while a plugin
     * loads (its libraries take milliseconds: libarchive's about 10), so
     * that finding a plugin already loaded never waits for another. */
    pthread_mutex_t lock, load_lock;
};

static void add_dir(loader *l, const char *dir, size_t len)
{
    if (len == 0 || l->n_dirs == MAX_DIRS)
        return;
    for (size_t i = 0; i < l->n_dirs; i++)
        if (strlen(l->dirs[i]) == len && !memcmp(l->dirs[i], dir, len))
            return; /* listed once, where it first came */
    char *d = xstrndup(dir, len);
    if (d)
        l->dirs[l->n_dirs++] = d;
}

/* Owned by us (or root) and writable by nobody else: a directory whose
 * code we may load without being told to. */
static int trusted_dir(const char *dir)
{
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
           (st.st_uid == geteuid() || st.st_uid == 0) &&
           !(st.st_mode & (S_IWGRP | S_IWOTH));
}

/* 1 when this process is the ./sluice of the build tree it was compiled
 * in: the directory of /proc/self/exe is that tree's top (compiled in),
 * and the tree and its plugin directory are trusted_dir()s. */
static int in_build_tree(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 0;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return 0;
    *slash = '\0';
    return !strcmp(exe, SLUICE_BUILD_DIR) && trusted_dir(SLUICE_BUILD_DIR) &&
           trusted_dir(SLUICE_BUILD_PLUGINS);
}

loader *loader_new(void)
{
    loader *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    pthread_mutex_init(&l->lock, NULL);
    pthread_mutex_init(&l->load_lock, NULL);
    const char *env = getenv("SLUICE_PLUGIN_PATH");
    if (env) {
        for (const char *p = env;;) {
            const char *colon = strchr(p, ':');
            add_dir(l, p, colon ? (size_t)(colon - p) : strlen(p));
            if (!colon)
                break;
            p = colon + 1;
        }
    }
    /* Only by default: SLUICE_PLUGIN_PATH set says which plugins to try
     * (t/plugins.t runs ./sluice with a zstd-less path). */
    if (!env && in_build_tree())
        add_dir(l, SLUICE_BUILD_PLUGINS, strlen(SLUICE_BUILD_PLUGINS));
    const char *home = getenv("HOME");
    if (home && *home) {
        strbuf sb = {0};
        sb_addf(&sb, "%s/.local/lib/sluice/plugins", home);
        if (!sb.failed)
            add_dir(l, sb.data, sb.len);
        free(sb.data);
    }
    add_dir(l, SLUICE_PLUGIN_DIR, strlen(SLUICE_PLUGIN_DIR));
    return l;
}

void loader_free(loader *l)
{
    if (!l)
        return;
    for (loaded_plugin *p = l->plugins, *next; p; p = next) {
        next = p->next;
        /* Plugins are not dlclose()d: a stage may have left a thread-local
         * destructor or an atexit handler behind (OpenSSL does), and
         * unmapping its code under them would crash at exit. */
        free(p->stages);
        free(p->path);
        free(p);
    }
    for (size_t i = 0; i < l->n_dirs; i++)
        free(l->dirs[i]);
    pthread_mutex_destroy(&l->lock);
    pthread_mutex_destroy(&l->load_lock);
    free(l);
}

const char *const *loader_dirs(loader *l)
{
    return (const char *const *)l->dirs;
}

/* Checks everything about a plugin description before anything else in
 * it is called, and copies it into *copy by its declared struct_size, as
 * stage vtables are copied by stage_size: the members an older, shorter
 * struct lacks read as NULL/0, and nothing past the plugin's struct is
 * read.  The three leading members are the same in every version. */
int loader_check_plugin(const char *path, const void *desc,
                        sluice_plugin *copy, sluice_error *err)
{
    memset(copy, 0, sizeof *copy);
    if (!desc)
        return sluice_error_set(err, SLUICE_E_UNSUPPORTED,
                                "plugin %s: entry returned no description",
                                path);
    struct {
        uint32_t abi_major, abi_minor, struct_size;
    } head;
    memcpy(&head, desc, sizeof head);
    if (head.abi_major != SLUICE_ABI_MAJOR || head.abi_minor > SLUICE_ABI_MINOR)
        return sluice_error_set(
            err, SLUICE_E_UNSUPPORTED,
            "plugin %s was built for ABI %u.%u, this sluice provides ABI "
            "%u.%u: rebuild it with this sluice's <sluice/plugin.h>, or "
            "upgrade sluice",
            path, (unsigned)head.abi_major, (unsigned)head.abi_minor,
            SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR);
    /* ABI 1.0's struct is the shortest there is: every member up to
     * n_stages is required. */
    size_t min_plugin = offsetof(sluice_plugin, n_stages) + sizeof(size_t);
    if (head.struct_size < min_plugin || head.struct_size > 64 * 1024)
        return sluice_error_set(err, SLUICE_E_UNSUPPORTED,
                                "plugin %s: impossible struct sizes "
                                "(struct_size %u): use SLUICE_PLUGIN_INIT",
                                path, (unsigned)head.struct_size);
    memcpy(copy, desc,
           head.struct_size < sizeof *copy ? head.struct_size : sizeof *copy);
    const sluice_plugin *pl = copy;
    size_t min_stage = offsetof(sluice_stage, close) + sizeof(void (*)(void));
    if (pl->stage_size < min_stage || pl->stage_size > 64 * 1024)
        return sluice_error_set(err, SLUICE_E_UNSUPPORTED,
                                "plugin %s: impossible struct sizes "
                                "(struct_size %u, stage_size %u): use "
                                "SLUICE_PLUGIN_INIT",
                                path, (unsigned)pl->struct_size,
                                (unsigned)pl->stage_size);
    if (!pl->stages || pl->n_stages == 0 || pl->n_stages > 256)
        return sluice_error_set(err, SLUICE_E_UNSUPPORTED,
                                "plugin %s: no stages", path);
    return 0;
}

static int check_stage(const char *path, const sluice_stage *vt,
                       sluice_error *err)
{
    const unsigned roles =
        SLUICE_ROLE_SOURCE | SLUICE_ROLE_TRANSFORM | SLUICE_ROLE_SINK;
    if (!vt->name || !stage_name_valid(vt->name, strnlen(vt->name, 65)))
        return sluice_error_set(err, SLUICE_E_UNSUPPORTED,
                                "plugin %s: a stage has an invalid name",
                                path);
    if (!vt->open || !vt->run || !vt->close ||
        ((vt->flags & SLUICE_STAGE_HEADER_MAC) && !vt->header_mac) ||
        (vt->forward_roles | vt->reverse_roles) == 0 ||
        ((vt->forward_roles | vt->reverse_roles) & ~roles))
        return sluice_error_set(err, SLUICE_E_UNSUPPORTED,
                                "plugin %s: stage %s has an incomplete "
                                "vtable or unknown roles",
                                path, vt->name);
    char why[160];
    if (vt->keys && stagekeys_valid(vt->keys, why, sizeof why) < 0)
        return sluice_error_set(err, SLUICE_E_UNSUPPORTED,
                                "plugin %s: stage %s %s", path, vt->name,
                                why);
    return 0;
}

static loaded_plugin *find_loaded(loader *l, const char *path)
{
    for (loaded_plugin *p = l->plugins; p; p = p->next)
        if (strcmp(p->path, path) == 0)
            return p;
    return NULL;
}

/* The plugin at path if it is loaded, under the list lock. */
static loaded_plugin *loaded_already(loader *l, const char *path)
{
    pthread_mutex_lock(&l->lock);
    loaded_plugin *lp = find_loaded(l, path);
    pthread_mutex_unlock(&l->lock);
    return lp;
}

/* Loads and checks the plugin at path; under l->load_lock. */
static int load_plugin_locked(loader *l, const char *path,
                              loaded_plugin **out, sluice_error *err)
{
    loaded_plugin *lp;
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl)
        return sluice_error_set(err, SLUICE_E_UNSUPPORTED,
                                "cannot load plugin: %s", dlerror());
    sluice_plugin_entry_fn entry;
    *(void **)&entry = dlsym(dl, SLUICE_PLUGIN_ENTRY_SYMBOL);
    if (!entry) {
        dlclose(dl);
        return sluice_error_set(err, SLUICE_E_UNSUPPORTED,
                                "plugin %s has no %s symbol: not a sluice "
                                "plugin", path,
                                SLUICE_PLUGIN_ENTRY_SYMBOL);
    }
    sluice_plugin desc;
    const sluice_plugin *pl = &desc;
    int rc = loader_check_plugin(path, entry(), &desc, err);
    if (rc < 0) {
        dlclose(dl);
        return rc;
    }
    lp = calloc(1, sizeof *lp);
    if (lp)
        lp->stages = calloc(pl->n_stages, sizeof *lp->stages);
    if (lp)
        lp->path = strdup(path);
    if (!lp || !lp->stages || !lp->path) {
        if (lp) {
            free(lp->stages);
            free(lp->path);
        }
        free(lp);
        dlclose(dl);
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    }
    lp->dl = dl;
    lp->n_stages = pl->n_stages;
    for (size_t i = 0; i < pl->n_stages; i++) {
        loaded_stage *ls = &lp->stages[i];
        const unsigned char *src =
            (const unsigned char *)pl->stages + i * pl->stage_size;
        size_t n = pl->stage_size < sizeof ls->vt ? pl->stage_size
                                                  : sizeof ls->vt;
        memcpy(&ls->vt, src, n); /* the rest stays zero: NULL ops */
        ls->path = lp->path;
        ls->plugin_name = pl->name ? pl->name : "?";
        ls->plugin_version = pl->version ? pl->version : "?";
        ls->abi_major = pl->abi_major;
        ls->abi_minor = pl->abi_minor;
        rc = check_stage(path, &ls->vt, err);
        if (rc < 0) {
            free(lp->stages);
            free(lp->path);
            free(lp);
            dlclose(dl);
            return rc;
        }
    }
    pthread_mutex_lock(&l->lock);
    lp->next = l->plugins;
    l->plugins = lp;
    pthread_mutex_unlock(&l->lock);
    *out = lp;
    return 0;
}

/* Loads a plugin once: the list of loaded ones is shared by every run. */
static int load_plugin(loader *l, const char *path, loaded_plugin **out,
                       sluice_error *err)
{
    if ((*out = loaded_already(l, path)))
        return 0;
    pthread_mutex_lock(&l->load_lock);
    int rc = 0;
    /* Another thread may have loaded it while this one waited. */
    if (!(*out = loaded_already(l, path)))
        rc = load_plugin_locked(l, path, out, err);
    pthread_mutex_unlock(&l->load_lock);
    return rc;
}

int loader_load_path(loader *l, const char *path, loader_visit_fn fn,
                     void *arg, sluice_error *err)
{
    loaded_plugin *lp;
    int rc = load_plugin(l, path, &lp, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; fn && i < lp->n_stages; i++)
        fn(arg, &lp->stages[i]);
    return 0;
}

struct loader_preload {
    pthread_t thread;
    loader *l;
    const char *name;
};

static void *preload_main(void *arg)
{
    loader_preload *p = arg;
    const loaded_stage *st;
    sluice_error err = {0};
    (void)loader_find(p->l, p->name, &st, &err);
    return NULL;
}

/* Whether a loaded plugin provides stage `name` already. */
static int stage_loaded(loader *l, const char *name)
{
    int found = 0;
    pthread_mutex_lock(&l->lock);
    for (loaded_plugin *lp = l->plugins; lp && !found; lp = lp->next)
        for (size_t i = 0; i < lp->n_stages && !found; i++)
            found = strcmp(lp->stages[i].vt.name, name) == 0;
    pthread_mutex_unlock(&l->lock);
    return found;
}

loader_preload *loader_preload_start(loader *l, const char *name)
{
    /* A collection's object runs ask for it again and again: no thread
     * once it is there. */
    if (stage_loaded(l, name))
        return NULL;
    loader_preload *p = malloc(sizeof *p);
    if (!p)
        return NULL;
    p->l = l;
    p->name = name;
    if (pthread_create(&p->thread, NULL, preload_main, p) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

void loader_preload_end(loader_preload *p)
{
    if (!p)
        return;
    pthread_join(p->thread, NULL);
    free(p);
}

static int is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int loader_find(loader *l, const char *name, const loaded_stage **out,
                sluice_error *err)
{
    if (!stage_name_valid(name, strnlen(name, STAGE_NAME_MAX + 1)))
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "invalid stage name '%.64s' (names match "
                                "[a-z0-9][a-z0-9._-]{0,63})",
                                name);
    for (size_t i = 0; i < l->n_dirs; i++) {
        strbuf sb = {0};
        sb_addf(&sb, "%s/%s.so", l->dirs[i], name);
        if (sb.failed)
            return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
        if (!is_regular(sb.data)) {
            free(sb.data);
            continue;
        }
        loaded_plugin *lp;
        int rc = load_plugin(l, sb.data, &lp, err);
        free(sb.data);
        if (rc < 0)
            return rc;
        for (size_t j = 0; j < lp->n_stages; j++)
            if (strcmp(lp->stages[j].vt.name, name) == 0) {
                *out = &lp->stages[j];
                return 0;
            }
        return sluice_error_set(err, SLUICE_E_UNSUPPORTED,
                                "plugin %s does not provide stage '%s'",
                                lp->path, name);
    }
    return sluice_error_set(err, SLUICE_E_UNSUPPORTED,
                            "stage '%s' not found: no %s.so in "
                            "SLUICE_PLUGIN_PATH, ~/.local/lib/sluice/plugins "
                            "or %s",
                            name, name, SLUICE_PLUGIN_DIR);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct seen_names {
    char **names;
    size_t n;
} seen_names;

static int seen_before(seen_names *seen, const char *name)
{
    for (size_t i = 0; i < seen->n; i++)
        if (strcmp(seen->names[i], name) == 0)
            return 1;
    char **p = realloc(seen->names, (seen->n + 1) * sizeof *p);
    if (p) {
        seen->names = p;
        p[seen->n] = strdup(name);
        if (p[seen->n])
            seen->n++;
    }
    return 0;
}

void loader_list(loader *l, loader_list_fn fn, void *arg)
{
    seen_names seen = {0};
    for (size_t i = 0; i < l->n_dirs; i++) {
        DIR *d = opendir(l->dirs[i]);
        if (!d)
            continue;
        char **files = NULL;
        size_t n = 0;
        for (struct dirent *e; (e = readdir(d));) {
            size_t len = strlen(e->d_name);
            if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0)
                continue;
            char **p = realloc(files, (n + 1) * sizeof *p);
            if (!p)
                break;
            files = p;
            files[n] = strdup(e->d_name);
            if (files[n])
                n++;
        }
        closedir(d);
        qsort(files, n, sizeof *files, name_cmp);
        for (size_t j = 0; j < n; j++) {
            strbuf sb = {0};
            sb_addf(&sb, "%s/%s", l->dirs[i], files[j]);
            free(files[j]);
            if (sb.failed)
                continue;
            loaded_plugin *lp;
            sluice_error err = {0};
            if (load_plugin(l, sb.data, &lp, &err) < 0) {
                loaded_stage bad = {0};
                bad.path = sb.data;
                fn(arg, &bad, 0, err.message);
            } else {
                for (size_t k = 0; k < lp->n_stages; k++)
                    fn(arg, &lp->stages[k],
                       seen_before(&seen, lp->stages[k].vt.name), NULL);
            }
            free(sb.data);
        }
        free(files);
    }
    for (size_t i = 0; i < seen.n; i++)
        free(seen.names[i]);
    free(seen.names);
}
