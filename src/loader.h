/*
 * loader.h - finds stage plugins by stage name and loads them.
 *
 * A stage named NAME lives in NAME.so in the first directory that has one,
 * searching each directory of $SLUICE_PLUGIN_PATH (colon-separated), then
 * the per-user directory ~/.local/lib/sluice/plugins, then the install
 * directory.  Names are validated before they touch the file system, so a
 * name read from a stream header can never act as a path.  Every plugin
 * is checked (ABI version, struct sizes, vtable) before anything in it
 * but its entry function is called.
 */
#ifndef SLUICE_LOADER_H
#define SLUICE_LOADER_H

#include "sluice/plugin.h"

typedef struct loader loader;

/* A stage as the host knows it: a zero-padded copy of the plugin's
 * vtable (so older, shorter vtables read as NULL), and where it came
 * from. */
typedef struct loaded_stage {
    sluice_stage vt;
    const char *path;          /* file it came from                   */
    const char *plugin_name;
    const char *plugin_version;
    unsigned abi_major, abi_minor;
} loaded_stage;

loader *loader_new(void);
void loader_free(loader *l);

/* Finds stage `name`.  The result lives as long as the loader. */
int loader_find(loader *l, const char *name, const loaded_stage **out,
                sluice_error *err);

/* Starts loading stage `name` on a thread of its own, so that its plugin
 * and the libraries it needs load while the caller does other work (a
 * key derivation, reading a manifest): libarchive's take about 10 ms.
 * A later loader_find finds it loaded; a failure is that call's to
 * report.  Returns the handle for loader_preload_end, or NULL: a loaded
 * plugin provides the stage already, or no thread could start (nothing
 * to end; loader_find loads it then). */
typedef struct loader_preload loader_preload;
loader_preload *loader_preload_start(loader *l, const char *name);
/* Waits for the load to end and frees p (NULL: nothing). */
void loader_preload_end(loader_preload *p);

/* Loads dir/file (a full path), without searching: for `sluice stages`
 * and tests.  Calls fn for every stage it provides. */
typedef void (*loader_visit_fn)(void *arg, const loaded_stage *st);
int loader_load_path(loader *l, const char *path, loader_visit_fn fn,
                     void *arg, sluice_error *err);

/* Visits every plugin in the search path, in search order; a stage name
 * seen twice is reported with shadowed = 1. */
typedef void (*loader_list_fn)(void *arg, const loaded_stage *st,
                               int shadowed, const char *load_error);
void loader_list(loader *l, loader_list_fn fn, void *arg);

/* Checks the description a plugin's entry function returned (ABI
 * version, struct sizes, stages) and copies it into *copy by its
 * declared struct_size, so that members an older plugin's struct lacks
 * read as NULL/0 and nothing beyond its struct is read.  Returns 0 or
 * SLUICE_E_UNSUPPORTED with a message naming path.  (Exposed for the
 * unit test.) */
int loader_check_plugin(const char *path, const void *desc,
                        sluice_plugin *copy, sluice_error *err);

/* The search directories, in order; NULL-terminated, owned by l. */
const char *const *loader_dirs(loader *l);

#endif
