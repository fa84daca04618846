/*
 * badabi.c - a test plugin built for an ABI this sluice does not provide.
 *
 * Built twice (t/Makefile section of Makefile.am, check only, never
 * installed):
 *   badabi.so    abi_major = SLUICE_ABI_MAJOR + 1          -> refused
 *   badminor.so  abi_minor = SLUICE_ABI_MINOR + 1 (-DBAD_MINOR): a plugin
 *                that needs a newer host of the same major  -> refused
 *
 * The host must refuse it after calling sluice_plugin_entry and nothing
 * else, so every stage function here aborts the process: a test that sees
 * a crash knows the host called into a plugin it should have refused.
 *
 * If $SLUICE_T_MARKER is set, loading the object (its constructor) creates
 * that file: tests use it to prove that a path-like stage name in a stream
 * header never makes the loader open a file outside its directories.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "sluice/plugin.h"

#ifdef BAD_MINOR
#define STAGE_NAME "badminor"
#define ABI_MAJOR SLUICE_ABI_MAJOR
#define ABI_MINOR (SLUICE_ABI_MINOR + 1)
#else
#define STAGE_NAME "badabi"
#define ABI_MAJOR (SLUICE_ABI_MAJOR + 1)
#define ABI_MINOR SLUICE_ABI_MINOR
#endif

__attribute__((constructor)) static void mark_loaded(void)
{
    const char *marker = getenv("SLUICE_T_MARKER");
    if (marker && *marker) {
        int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0)
            close(fd);
    }
}

static int bad_open(const sluice_stage_args *args, void **ctx,
                    sluice_error *err)
{
    (void)args;
    (void)ctx;
    (void)err;
    abort();
}

static int bad_run(void *ctx, sluice_input *in, sluice_output *out,
                   sluice_error *err)
{
    (void)ctx;
    (void)in;
    (void)out;
    (void)err;
    abort();
}

static void bad_close(void *ctx)
{
    (void)ctx;
    abort();
}

static const sluice_stage stages[] = {{
    STAGE_NAME,
    "test plugin built for another ABI (must be refused)",
    SLUICE_ROLE_TRANSFORM,
    SLUICE_ROLE_TRANSFORM,
    0,
    bad_open,
    bad_run,
    NULL,
    bad_close,
    NULL, /* remove (ABI 1.1) */
}};

static const sluice_plugin plugin = {
    ABI_MAJOR,
    ABI_MINOR,
    sizeof(struct sluice_plugin),
    sizeof(struct sluice_stage),
    STAGE_NAME,
    "0.0-test",
    stages,
    sizeof stages / sizeof stages[0],
};

SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void)
{
    return &plugin;
}
