/*
 * nonsense.c - a test transform that breaks the plugin contract
 * (include/sluice/plugin.h) in one chosen way, so t/faults.t can check the
 * host survives it: a clean non-zero exit, one line on stderr, no output
 * file and no temporary file.  Built by `make check` only, never
 * installed.
 *
 * Parameters (recorded in the header): after=N (default 100000) bytes
 * are passed on first; on=backup|restore|both (default both) says when
 * to misbehave (otherwise it passes everything through); and mode=:
 *   positive     run() returns 7, a positive number, not a status
 *   badcode      run() returns -12345, not a known status
 *   nomsg        run() returns SLUICE_E_IO without setting a message
 *   newline      an error message with newlines and control characters
 *   overcommit   commit() of one byte more than reserve() offered
 *   noreserve    commit() of 100 bytes with no reservation open
 *   bigreserve   reserve() of more than SLUICE_RESERVE_MAX; then carries
 *                on as if it got the space it asked for (NULL checked)
 *   openfail     open() fails without a message
 *   badrecord    open() records a header parameter with an invalid key
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/plugin.h"

enum mode { POSITIVE, BADCODE, NOMSG, NEWLINE, OVERCOMMIT, NORESERVE,
            BIGRESERVE, OPENFAIL, BADRECORD };
static const char *const mode_names[] = {
    "positive", "badcode", "nomsg", "newline", "overcommit", "noreserve",
    "bigreserve", "openfail", "badrecord"};

typedef struct ns_ctx {
    const sluice_api *api;
    int mode;
    int armed;
    uint64_t after;
} ns_ctx;

static int ns_open(const sluice_stage_args *args, void **out,
                   sluice_error *err)
{
    int mode = -1;
    uint64_t after = 100000;
    const char *on = "both";
    for (size_t i = 0; i < args->n_params; i++) {
        const char *k = args->params[i].key, *v = args->params[i].value;
        if (!strcmp(k, "mode")) {
            for (int m = 0; m < (int)(sizeof mode_names / sizeof *mode_names); m++)
                if (!strcmp(v, mode_names[m]))
                    mode = m;
        } else if (!strcmp(k, "after")) {
            after = strtoull(v, NULL, 10);
        } else if (!strcmp(k, "on") &&
                   (!strcmp(v, "backup") || !strcmp(v, "restore") ||
                    !strcmp(v, "both"))) {
            on = v;
        }
    }
    if (mode < 0)
        return sluice_error_set(err, SLUICE_E_USAGE, "needs mode=...");
    int armed = !strcmp(on, "both") ||
                !strcmp(on, args->direction == SLUICE_FORWARD ? "backup"
                                                              : "restore");
    if (mode == OPENFAIL && armed)
        return SLUICE_E_IO; /* and no message */
    ns_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    c->api = args->api;
    c->mode = mode;
    c->armed = armed;
    c->after = after;
    if (args->direction == SLUICE_FORWARD) {
        char buf[32];
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)after);
        args->api->record(args->host, "mode", mode_names[mode]);
        args->api->record(args->host, "after", buf);
        args->api->record(args->host, "on", on);
        if (mode == BADRECORD && armed)
            args->api->record(args->host, "Bad Key", "x\ny");
    }
    *out = c;
    return 0;
}

static int misbehave(ns_ctx *c, sluice_output *out, sluice_error *err)
{
    size_t avail = 0;
    uint8_t *p;
    switch (c->mode) {
    case POSITIVE:
        return 7;
    case BADCODE:
        return -12345;
    case NOMSG:
        return SLUICE_E_IO;
    case NEWLINE:
        return sluice_error_set(err, SLUICE_E_IO,
                                "first line\nsecond line\r\x1b[31mred\x1b[0m"
                                "\nthird line");
    case OVERCOMMIT:
        p = c->api->reserve(out, 16, &avail);
        if (!p)
            return SLUICE_E_CANCELED;
        memset(p, 'x', avail);
        return c->api->commit(out, avail + 1);
    case NORESERVE: {
        /* Commit what was never reserved: first push out whatever is
         * open by writing exactly a reservation's worth. */
        int rc = c->api->commit(out, 100);
        if (rc < 0)
            return rc;
        return c->api->commit(out, SLUICE_RESERVE_MAX * 4);
    }
    case BIGRESERVE:
        p = c->api->reserve(out, SLUICE_RESERVE_MAX + 1, &avail);
        if (!p)
            return SLUICE_E_CANCELED; /* as the ABI says to */
        memset(p, 'x', SLUICE_RESERVE_MAX + 1);
        return c->api->commit(out, SLUICE_RESERVE_MAX + 1);
    default:
        return 0;
    }
}

static int ns_run(void *ctx, sluice_input *in, sluice_output *out,
                  sluice_error *err)
{
    ns_ctx *c = ctx;
    uint64_t seen = 0;
    for (;;) {
        const uint8_t *p;
        ptrdiff_t n = c->api->read_next(in, &p);
        if (n < 0)
            return (int)n;
        if (c->armed && (n == 0 || seen + (uint64_t)n > c->after)) {
            if (c->mode != BADRECORD)
                return misbehave(c, out, err);
        }
        if (n == 0)
            return 0;
        int rc = c->api->write(out, p, (size_t)n);
        if (rc < 0)
            return rc;
        seen += (uint64_t)n;
    }
}

static void ns_close(void *ctx)
{
    free(ctx);
}

static const sluice_stage stages[] = {{
    "nonsense",
    "test stage: breaks the plugin contract in a chosen way",
    SLUICE_ROLE_TRANSFORM,
    SLUICE_ROLE_TRANSFORM,
    0,
    ns_open,
    ns_run,
    NULL,
    ns_close,
    NULL, /* remove (ABI 1.1) */
}};

static const sluice_plugin plugin =
    SLUICE_PLUGIN_INIT("nonsense", "0.0-test", stages);

SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void)
{
    return &plugin;
}
