/*
 * crashing.c - a test transform that passes bytes through and then crashes
 * the whole process: SIGSEGV (a write through a null pointer) once after=N
 * bytes went through, or on=open at open time.  Built by `make check`
 * only, never installed.  Used by t/faults.t to show what a crash can and
 * cannot clean up (doc/SECURITY.md): the -o target is untouched (the file
 * stage writes a temporary and renames only on success), but the
 * temporary .NAME.sluice-XXXXXX itself stays behind, since nothing runs
 * after a SIGSEGV.
 *
 * Parameters (recorded in the header):
 *   after=N        crash once N bytes went through (default 0)
 *   how=segv|abort SIGSEGV (default) or abort() (SIGABRT)
 *   on=backup|restore|both   when to crash (default both)
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/plugin.h"

typedef struct crash_ctx {
    const sluice_api *api;
    uint64_t after;
    int use_abort;
    int armed;
} crash_ctx;

static void crash(int use_abort)
{
    if (use_abort)
        abort();
    /* Make sure the default action runs, whatever the host did. */
    signal(SIGSEGV, SIG_DFL);
    volatile int *p = NULL;
    *p = 1;
    raise(SIGSEGV);
}

static int crashing_open(const sluice_stage_args *args, void **out,
                         sluice_error *err)
{
    uint64_t after = 0;
    const char *how = "segv", *on = "both";
    for (size_t i = 0; i < args->n_params; i++) {
        const char *k = args->params[i].key, *v = args->params[i].value;
        if (!strcmp(k, "after"))
            after = strtoull(v, NULL, 10);
        else if (!strcmp(k, "how") && (!strcmp(v, "segv") || !strcmp(v, "abort")))
            how = v;
        else if (!strcmp(k, "on") && (!strcmp(v, "backup") ||
                                      !strcmp(v, "restore") ||
                                      !strcmp(v, "both") || !strcmp(v, "open")))
            on = v;
        else
            return sluice_error_set(err, SLUICE_E_USAGE,
                                    "bad parameter '%s=%s'", k, v);
    }
    if (!strcmp(on, "open"))
        crash(!strcmp(how, "abort"));
    crash_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    c->api = args->api;
    c->after = after;
    c->use_abort = !strcmp(how, "abort");
    c->armed = !strcmp(on, "both") ||
               !strcmp(on, args->direction == SLUICE_FORWARD ? "backup"
                                                             : "restore");
    if (args->direction == SLUICE_FORWARD) {
        char buf[32];
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)after);
        if (args->api->record(args->host, "after", buf) < 0 ||
            args->api->record(args->host, "how", how) < 0 ||
            args->api->record(args->host, "on", on) < 0) {
            free(c);
            return sluice_error_set(err, SLUICE_E_INTERNAL,
                                    "cannot record parameters");
        }
    }
    *out = c;
    return 0;
}

static int crashing_run(void *ctx, sluice_input *in, sluice_output *out,
                        sluice_error *err)
{
    crash_ctx *c = ctx;
    uint64_t seen = 0;
    (void)err;
    for (;;) {
        const uint8_t *p;
        ptrdiff_t n = c->api->read_next(in, &p);
        if (n < 0)
            return (int)n;
        if (c->armed && seen + (uint64_t)(n > 0 ? n : 0) >= c->after &&
            (n > 0 || seen >= c->after))
            crash(c->use_abort);
        if (n == 0)
            return 0;
        int rc = c->api->write(out, p, (size_t)n);
        if (rc < 0)
            return rc;
        seen += (uint64_t)n;
    }
}

static void crashing_close(void *ctx)
{
    free(ctx);
}

static const sluice_stage stages[] = {{
    "crashing",
    "test stage: passes bytes through, then crashes the process",
    SLUICE_ROLE_TRANSFORM,
    SLUICE_ROLE_TRANSFORM,
    0,
    crashing_open,
    crashing_run,
    NULL,
    crashing_close,
    NULL, /* remove (ABI 1.1) */
}};

static const sluice_plugin plugin =
    SLUICE_PLUGIN_INIT("crashing", "0.0-test", stages);

SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void)
{
    return &plugin;
}
