/*
 * probe.c - a test transform (restore only) that reports, as one
 * warning, what a stage could see of the user's secrets: whether the
 * process is dumpable (core files, ptrace), whether $SLUICE_PASSPHRASE
 * is still in the environment (and so in every program sluice would
 * run), whether its value is still in /proc/self/environ, and a URL
 * with credentials (the host must redact it).  Passes bytes through.
 * Built by `make check` only, never installed (t/security.t).
 *
 * Parameters (from the header):
 *   ask=1      ask the host for the passphrase first (so it is held)
 *   secret=S   the passphrase the test set, looked for in
 *              /proc/self/environ
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "sluice/plugin.h"

typedef struct probe_ctx {
    const sluice_api *api;
} probe_ctx;

/* Whether s occurs in /proc/self/environ (what `ps e` and other users'
 * tools read). */
static int in_proc_environ(const char *s)
{
    char buf[65536];
    FILE *f = fopen("/proc/self/environ", "rb");
    if (!f || !*s)
        return f ? (fclose(f), 0) : -1;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    size_t len = strlen(s);
    for (size_t i = 0; i + len <= n; i++)
        if (memcmp(buf + i, s, len) == 0)
            return 1;
    return 0;
}

static int probe_open(const sluice_stage_args *args, void **out,
                      sluice_error *err)
{
    const char *ask = sluice_kv_get(args->params, args->n_params, "ask");
    const char *secret = sluice_kv_get(args->params, args->n_params, "secret");
    if (ask && !strcmp(ask, "1")) {
        char pw[1024];
        size_t len = 0;
        int rc = args->api->passphrase(args->host, 0, pw, sizeof pw, &len, err);
        memset(pw, 0, sizeof pw);
        if (rc < 0)
            return rc;
    }
    args->api->log(args->host, SLUICE_LOG_WARNING,
                   "dumpable=%d env=%s proc-environ=%d "
                   "url=http://probe-user:probe-pass@example.invalid/x?"
                   "X-Amz-Signature=probesig&a=1",
                   prctl(PR_GET_DUMPABLE, 0, 0, 0, 0),
                   getenv("SLUICE_PASSPHRASE") ? "set" : "unset",
                   in_proc_environ(secret ? secret : ""));
    probe_ctx *p = calloc(1, sizeof *p);
    if (!p)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    p->api = args->api;
    *out = p;
    return 0;
}

static int probe_run(void *ctx, sluice_input *in, sluice_output *out,
                     sluice_error *err)
{
    probe_ctx *p = ctx;
    (void)err;
    for (;;) {
        const uint8_t *b;
        ptrdiff_t n = p->api->read_next(in, &b);
        if (n <= 0)
            return (int)n;
        int rc = p->api->write(out, b, (size_t)n);
        if (rc < 0)
            return rc;
    }
}

static void probe_close(void *ctx)
{
    free(ctx);
}

static const sluice_stage stages[] = {{
    "probe",
    "test stage: reports dumpable, the passphrase's environment, a URL",
    0,
    SLUICE_ROLE_TRANSFORM,
    0,
    probe_open,
    probe_run,
    NULL,
    probe_close,
    NULL, /* remove (ABI 1.1) */
}};

static const sluice_plugin plugin =
    SLUICE_PLUGIN_INIT("probe", "0.0-test", stages);

SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void)
{
    return &plugin;
}
