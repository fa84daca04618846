/*
 * badlist.c - a test endpoint stage whose list() breaks the ABI 1.3
 * contract as the run-time option "mode" says (t/unit-list.c): the host
 * must refuse the entry, never hand it on to the caller (prune acts on
 * what it is given).
 *   mode=dotdot   an entry named "backups/x/../../victim"
 *   mode=empty    an entry with an empty name
 *   mode=noid     an upload without its upload id
 *   mode=good     one well-formed entry "a/b" (the control)
 */
#include <string.h>

#include "sluice/plugin.h"

static int bl_open(const sluice_stage_args *args, void **ctx,
                   sluice_error *err)
{
    (void)args;
    *ctx = NULL;
    return sluice_error_set(err, SLUICE_E_UNSUPPORTED, "list only");
}

static int bl_run(void *ctx, sluice_input *in, sluice_output *out,
                  sluice_error *err)
{
    (void)ctx;
    (void)in;
    (void)out;
    (void)err;
    return SLUICE_E_INTERNAL;
}

static void bl_close(void *ctx)
{
    (void)ctx;
}

static int bl_list(const sluice_stage_args *args, sluice_list_fn fn,
                   void *arg, sluice_error *err)
{
    const char *m = sluice_kv_get(args->options, args->n_options, "mode");
    sluice_entry e = {sizeof e, SLUICE_ENTRY_OBJECT, "a/b", 1, 0, NULL};
    if (!m)
        return sluice_error_set(err, SLUICE_E_USAGE, "no mode");
    if (!strcmp(m, "dotdot"))
        e.name = "backups/x/../../victim";
    else if (!strcmp(m, "empty"))
        e.name = "";
    else if (!strcmp(m, "noid"))
        e.kind = SLUICE_ENTRY_UPLOAD;
    return fn(arg, &e);
}

static const sluice_key keys[] = {
    {"mode", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH, "how to break list()"},
    {NULL, 0, NULL},
};

static const sluice_stage stages[] = {{
    "badlist", "an endpoint whose list() breaks the contract (tests)",
    SLUICE_ROLE_SOURCE | SLUICE_ROLE_SINK,
    SLUICE_ROLE_SOURCE | SLUICE_ROLE_SINK, 0, bl_open, bl_run, NULL,
    bl_close, NULL, keys, bl_list, NULL /* binding (ABI 1.4) */,
}};

static const sluice_plugin plugin =
    SLUICE_PLUGIN_INIT("badlist", "1.0", stages);

SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void)
{
    return &plugin;
}
