/*
 * oldstage.c - a test plugin as it would have been built against an older
 * minor version of the plugin ABI: it must keep loading and working in
 * every later host of the same major (doc/PLUGINS.md, "Compatibility").
 *
 * It does not use the host's struct sluice_stage.  It declares its own
 * frozen copy of the stage vtable as ABI 1.0 defined it, and the shortest
 * one the host accepts: everything up to and including close(), the last
 * member a stage must provide (src/loader.c requires open, run and
 * close).  Its stage array has that struct's stride, and stage_size says
 * so; its sluice_plugin says it was built for ABI 1.0.  While the host is
 * at 1.0 the frozen copy is as long as the host's own struct; once members
 * are added at the end (1.1, ...), this plugin is the older, shorter one
 * whose missing members the host must read as NULL, and the stride test
 * (two stages in one array: `sluice stages` must show both, intact) keeps
 * the host honest about using stage_size rather than its own sizeof.
 *
 * Stages:
 *   oldstage     a transform: backup XORs every byte with 0x5a, restore
 *                undoes it; it records "v=1" and refuses other parameters.
 *                It uses only ABI 1.0 host calls (read, write, record, log)
 *                and checks api->struct_size before relying on them.
 *   oldstage-b   a second vtable in the same array (never run: stages are
 *                looked up as NAME.so), to check the stride.
 *
 * Built by `make check` (check_LTLIBRARIES) and by t/sdk.t against the
 * installed SDK.  With -DOLDSTAGE_TOO_SHORT the frozen struct also drops
 * close(): stage_size is then below the host's minimum and the plugin must
 * be refused ("impossible struct sizes") without anything in it being run.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/plugin.h"

#define OLD_ABI_MAJOR 1
#define OLD_ABI_MINOR 0

/* struct sluice_stage as ABI 1.0 froze it (the minimum). */
struct old_stage {
    const char *name;
    const char *summary;
    unsigned forward_roles;
    unsigned reverse_roles;
    unsigned flags;
    int (*open)(const sluice_stage_args *args, void **ctx, sluice_error *err);
    int (*run)(void *ctx, sluice_input *in, sluice_output *out,
               sluice_error *err);
    int (*header_mac)(void *ctx, const uint8_t *header, size_t len,
                      uint8_t *mac, size_t *mac_len, sluice_error *err);
#ifndef OLDSTAGE_TOO_SHORT
    void (*close)(void *ctx);
#endif
};

/* struct sluice_plugin as ABI 1.0 froze it. */
struct old_plugin {
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t struct_size;
    uint32_t stage_size;
    const char *name;
    const char *version;
    const struct old_stage *stages;
    size_t n_stages;
};

#define KEY 0x5a
#define CHUNK 65536

typedef struct old_ctx {
    const sluice_api *api;
    unsigned char buf[CHUNK];
} old_ctx;

/* The last host call this plugin uses must be inside the host's table. */
#define API_HAS(api, member)                                             \
    ((api)->struct_size >=                                               \
     offsetof(sluice_api, member) + sizeof((api)->member))

static int old_open(const sluice_stage_args *args, void **out,
                    sluice_error *err)
{
    /* A host of the same major is never older than the minor we were
     * built for (the loader refuses that), but say so if it were. */
    if (args->struct_size < offsetof(sluice_stage_args, host) +
                                sizeof args->host ||
        !API_HAS(args->api, record) || !API_HAS(args->api, log))
        return sluice_error_set(err, SLUICE_E_UNSUPPORTED,
                                "host too old (api struct_size %u)",
                                (unsigned)args->api->struct_size);
    for (size_t i = 0; i < args->n_params; i++) {
        const char *k = args->params[i].key, *v = args->params[i].value;
        if (args->direction == SLUICE_REVERSE && strcmp(k, "v") == 0 &&
            strcmp(v, "1") == 0)
            continue;
        return sluice_error_set(err, args->direction == SLUICE_FORWARD
                                         ? SLUICE_E_USAGE
                                         : SLUICE_E_FORMAT,
                                "unknown parameter '%s'", k);
    }
    old_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    c->api = args->api;
    if (args->direction == SLUICE_FORWARD &&
        args->api->record(args->host, "v", "1") < 0) {
        free(c);
        return sluice_error_set(err, SLUICE_E_INTERNAL,
                                "cannot record parameters");
    }
    args->api->log(args->host, SLUICE_LOG_INFO,
                   "built for ABI %u.%u, stage_size %u; host api "
                   "struct_size %u, ABI %u.%u",
                   OLD_ABI_MAJOR, OLD_ABI_MINOR,
                   (unsigned)sizeof(struct old_stage),
                   (unsigned)args->api->struct_size,
                   (unsigned)args->api->abi_major,
                   (unsigned)args->api->abi_minor);
    *out = c;
    return 0;
}

/* The copying calls (read/write), as an older plugin might use them. */
static int old_run(void *ctx, sluice_input *in, sluice_output *out,
                   sluice_error *err)
{
    old_ctx *c = ctx;
    (void)err;
    for (;;) {
        ptrdiff_t n = c->api->read(in, c->buf, sizeof c->buf);
        if (n <= 0)
            return (int)n;
        for (ptrdiff_t i = 0; i < n; i++)
            c->buf[i] ^= KEY;
        int rc = c->api->write(out, c->buf, (size_t)n);
        if (rc < 0)
            return rc;
    }
}

#ifndef OLDSTAGE_TOO_SHORT
static void old_close(void *ctx)
{
    free(ctx);
}
#define OLD_CLOSE , old_close
#else
#define OLD_CLOSE
#endif

static const struct old_stage stages[] = {
    {"oldstage", "test plugin built for ABI 1.0 (XOR 0x5a)",
     SLUICE_ROLE_TRANSFORM, SLUICE_ROLE_TRANSFORM, 0, old_open, old_run,
     NULL OLD_CLOSE},
    {"oldstage-b", "second stage of the ABI 1.0 test plugin",
     SLUICE_ROLE_TRANSFORM, SLUICE_ROLE_SINK, 0, old_open, old_run,
     NULL OLD_CLOSE},
};

static const struct old_plugin plugin = {
    OLD_ABI_MAJOR,
    OLD_ABI_MINOR,
    sizeof(struct old_plugin),
    sizeof(struct old_stage),
    "oldstage",
    "1.0-test",
    stages,
    sizeof stages / sizeof stages[0],
};

/* The entry point's declared type returns the host's struct: the bytes
 * are what count (the host reads them through its own, possibly longer
 * definition, guided by struct_size and stage_size). */
SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void)
{
    return (const sluice_plugin *)(const void *)&plugin;
}
