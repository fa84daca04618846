/*
 * failing.c - a test transform that passes bytes through unchanged and
 * fails with SLUICE_E_IO "injected failure" after a given number of bytes.
 * Built by `make check` only, never installed.
 *
 * Parameters (chain spec, recorded in the header so restore sees them):
 *   after=N   fail once N bytes have gone through (default 0: before the
 *             first byte); the N bytes themselves are passed on
 *   on=WHEN   backup | restore | both (default both): the directions in
 *             which it fails; in the others it is a plain pass-through
 *
 *   sluice --chain zstd,failing:after=100000 < big        fails on backup
 *   sluice --chain zstd,failing:after=100000:on=restore   succeeds; its
 *       stream then fails on `sluice -d` after 100000 bytes
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/plugin.h"

typedef struct failing_ctx {
    const sluice_api *api;
    uint64_t after;
    int armed; /* fails in this direction */
} failing_ctx;

static int failing_open(const sluice_stage_args *args, void **out,
                        sluice_error *err)
{
    uint64_t after = 0;
    const char *when = "both";
    for (size_t i = 0; i < args->n_params; i++) {
        const char *k = args->params[i].key, *v = args->params[i].value;
        if (strcmp(k, "after") == 0) {
            char *end;
            if (!*v || *v == '-')
                return sluice_error_set(err, SLUICE_E_USAGE,
                                        "after='%s' is not a byte count", v);
            after = strtoull(v, &end, 10);
            if (*end)
                return sluice_error_set(err, SLUICE_E_USAGE,
                                        "after='%s' is not a byte count", v);
        } else if (strcmp(k, "on") == 0) {
            if (strcmp(v, "backup") && strcmp(v, "restore") &&
                strcmp(v, "both"))
                return sluice_error_set(err, SLUICE_E_USAGE,
                                        "on='%s': backup, restore or both", v);
            when = v;
        } else {
            return sluice_error_set(err, args->direction == SLUICE_FORWARD
                                             ? SLUICE_E_USAGE
                                             : SLUICE_E_FORMAT,
                                    "unknown parameter '%s'", k);
        }
    }
    failing_ctx *f = calloc(1, sizeof *f);
    if (!f)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    f->api = args->api;
    f->after = after;
    f->armed = strcmp(when, "both") == 0 ||
               strcmp(when, args->direction == SLUICE_FORWARD ? "backup"
                                                              : "restore") ==
                   0;
    if (args->direction == SLUICE_FORWARD) {
        char buf[32];
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)after);
        if (args->api->record(args->host, "after", buf) < 0 ||
            args->api->record(args->host, "on", when) < 0) {
            free(f);
            return sluice_error_set(err, SLUICE_E_INTERNAL,
                                    "cannot record parameters");
        }
    }
    *out = f;
    return 0;
}

static int failing_run(void *ctx, sluice_input *in, sluice_output *out,
                       sluice_error *err)
{
    failing_ctx *f = ctx;
    uint64_t seen = 0;
    for (;;) {
        const uint8_t *p;
        ptrdiff_t n = f->api->read_next(in, &p);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return 0;
        size_t pass = (size_t)n;
        int fail = 0;
        if (f->armed && seen + (uint64_t)n > f->after) {
            pass = (size_t)(f->after - seen);
            fail = 1;
        }
        if (pass > 0) {
            int rc = f->api->write(out, p, pass);
            if (rc < 0)
                return rc;
        }
        seen += pass;
        if (fail)
            return sluice_error_set(err, SLUICE_E_IO,
                                    "injected failure after %llu bytes",
                                    (unsigned long long)seen);
    }
}

static void failing_close(void *ctx)
{
    free(ctx);
}

static const sluice_stage stages[] = {{
    "failing",
    "test stage: passes bytes through, fails after=N bytes",
    SLUICE_ROLE_TRANSFORM,
    SLUICE_ROLE_TRANSFORM,
    0,
    failing_open,
    failing_run,
    NULL,
    failing_close,
    NULL, /* remove (ABI 1.1) */
}};

static const sluice_plugin plugin =
    SLUICE_PLUGIN_INIT("failing", "0.0-test", stages);

SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void)
{
    return &plugin;
}
