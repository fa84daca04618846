/*
 * jobs.c - the commands that run one engine job: filter and tar modes,
 * inspect, stages, decrypt-object.
 */
#include "jobs.h"

#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chainspec.h"
#include "engine.h"
#include "../presets.h"
#include "progress.h"
#include "signals.h"
#include "stagelist.h"
#include "status.h"
#include "util.h"

#define MAX_OPTS 4200
typedef struct kvlist {
    sluice_kv kv[MAX_OPTS];
    size_t n;
} kvlist;

static void kv_add(kvlist *l, const char *key, const char *value)
{
    if (l->n < MAX_OPTS)
        l->kv[l->n++] = (sluice_kv){key, value};
}

static int fail_usage(const char *msg)
{
    cli_usage_error("%s", msg);
    return EXIT_USAGE;
}

static int report(const engine_error *fail, int rc)
{
    if (rc == SLUICE_E_PIPE)
        die_of_signal(SIGPIPE);
    if (fail->err.message[0])
        host_report(fail->subject, fail->err.message);
    return status_to_exit(rc);
}

static void endpoint(const cli *c, const char *target, preset_endpoint *e,
                     stage_spec *spec)
{
    preset_net net = {c->s3_endpoint, c->insecure, c->verbose};
    preset_endpoint_for(target, &net, e, spec);
}

/* The forward chain from -z/-LEVEL/-e/--kdf-iter or --chain. */
static int build_chain(const cli *c, header *chain)
{
    sluice_error err = {0};
    if (c->chain && (c->zstd || c->encrypt))
        return fail_usage("--chain cannot be combined with -z or -e");
    preset_opts po = {c->zstd, c->level, c->encrypt, c->kdf_iter, NULL};
    int rc = c->chain ? chainspec_parse(c->chain, chain, &err)
                      : preset_chain(&po, chain, &err);
    if (rc < 0) {
        host_report("usage", err.message);
        return EXIT_USAGE;
    }
    return 0;
}

/* "sluice: chain: zstd level=3 | aes-256-gcm" for -v. */
static void say_chain(const header *h)
{
    strbuf sb = {0};
    sb_adds(&sb, "chain:");
    for (size_t i = 0; i < h->n_stages; i++) {
        sb_addf(&sb, "%s %s", i ? " |" : "", h->stages[i].name);
        for (size_t j = 0; j < h->stages[i].n_params; j++)
            sb_addf(&sb, " %s=%s", h->stages[i].params[j].key,
                    h->stages[i].params[j].value);
    }
    if (!sb.failed)
        host_print_line(sb.data);
    free(sb.data);
}

/* ---- stages, inspect ------------------------------------------------------ */

/* `sluice stages [-v] [NAME]`: src/stagelist.c. */
int run_stages(cli *c, session *s, loader *l)
{
    (void)s;
    return stagelist_print(l, c->n_args ? c->args[0] : NULL, c->verbose);
}

static void print_header(const header *h)
{
    printf("format:  sluice/1\n");
    printf("stages:  %zu (restore undoes them bottom-up)\n", h->n_stages);
    for (size_t i = 0; i < h->n_stages; i++) {
        const header_stage *st = &h->stages[i];
        printf("  %zu. %s\n", i + 1, st->name);
        for (size_t j = 0; j < st->n_params; j++)
            printf("       %-8s %s\n", st->params[j].key, st->params[j].value);
    }
    printf("mac:     %s\n", h->mac_hex ? h->mac_hex : "(none)");
    printf("header:  %zu bytes\n", h->total_len);
}

int run_inspect(cli *c, session *s, loader *l)
{
    preset_endpoint e;
    stage_spec src = {0};
    engine_error fail = {0};
    endpoint(c, c->n_args ? preset_local_path(c->args[0]) : "-", &e, &src);
    header *h = NULL;
    int rc = engine_read_header(s, l, &src, &h, &fail);
    if (rc == 0)
        print_header(h);
    header_free(h);
    return rc == 0 ? EXIT_OK : report(&fail, rc);
}

/* ---- filter, decrypt-object -------------------------------------------------- */

/* decrypt-object: the encryption stage's header line, rebuilt from
 * --salt, for an object that has no header.  With --encryption-info the
 * stage reads the salt from that file itself (its run-time option
 * encryption-info=): the core knows nothing of that format. */
#define SALT_HEX_LEN 32
static int raw_object_chain(const cli *c, header *chain)
{
    char salt_hex[SALT_HEX_LEN + 1] = "";
    sluice_error err = {0};
    if (!c->encryption_info) {
        size_t n = strlen(c->salt);
        if (n != SALT_HEX_LEN ||
            strspn(c->salt, "0123456789abcdefABCDEF") != n)
            return fail_usage("--salt needs 32 hex digits (16 bytes)");
        for (size_t i = 0; i <= n; i++)
            salt_hex[i] = (char)(c->salt[i] >= 'A' && c->salt[i] <= 'F'
                                     ? c->salt[i] - 'A' + 'a'
                                     : c->salt[i]);
    }
    if (preset_raw_object(c->encryption_info ? NULL : salt_hex, c->kdf_iter,
                          chain, &err) < 0) {
        host_report("usage", err.message);
        return EXIT_USAGE;
    }
    return 0;
}

/* Restore: why the input must be authenticated (issue 14, downgrade),
 * or NULL.  A passphrase given up front or -e means the user expects an
 * encrypted input; a stream that is not must not pass for one. */
static const char *auth_required(const cli *c, const session *s)
{
    if (c->allow_unencrypted)
        return NULL;
    if (c->encrypt)
        return "-e was given";
    return passphrase_given(&s->passphrase) ? "a passphrase was given"
                                            : NULL;
}

/* Terminal guards, then the run: in is FILE or "-", out -o or "-". */
static int run_stream(cli *c, session *s, loader *l, engine_job *job)
{
    int fwd = job->direction == SLUICE_FORWARD;
    const char *in = c->n_args ? preset_local_path(c->args[0]) : "-";
    const char *out = c->output ? c->output : "-";
    if (fwd && !strcmp(out, "-") && isatty(STDOUT_FILENO) && !c->force) {
        host_report("stdout", "refusing to write binary data to a "
                              "terminal (use -o FILE, a pipe, or -F)");
        return EXIT_USAGE;
    }
    if (!fwd && !strcmp(in, "-") && isatty(STDIN_FILENO) && !c->force) {
        host_report("stdin", "refusing to read binary data from a "
                             "terminal (give a FILE or a pipe)");
        return EXIT_USAGE;
    }
    kvlist tr = {0};
    if (c->threads)
        kv_add(&tr, "threads", c->threads);
    if (c->encryption_info) /* decrypt-object: the stage reads it */
        kv_add(&tr, "encryption-info", c->encryption_info);
    job->transform_options = tr.kv;
    job->n_transform_options = tr.n;
    preset_endpoint se, de;
    endpoint(c, in, &se, &job->source);
    endpoint(c, out, &de, &job->sink);
    if (!fwd) {
        job->require_auth = auth_required(c, s);
        preset_private_sink(&de, &job->sink, job);
    }
    engine_error fail = {0};
    int rc = engine_run(s, l, job, &fail);
    return rc == 0 ? EXIT_OK : report(&fail, rc);
}

int run_decrypt_object(cli *c, session *s, loader *l)
{
    header *chain = header_new();
    engine_job job = {0};
    int ex = chain ? raw_object_chain(c, chain) : EXIT_INTERNAL;
    if (!ex) {
        job.chain = chain;
        job.direction = SLUICE_REVERSE;
        ex = run_stream(c, s, l, &job);
    }
    header_free(chain);
    return ex;
}

static int run_filter(cli *c, session *s, loader *l)
{
    int fwd = c->mode == MODE_FILTER_FORWARD;
    if (c->n_args > 1)
        return fail_usage("give at most one input FILE");
    engine_job job = {0};
    job.direction = fwd ? SLUICE_FORWARD : SLUICE_REVERSE;
    if (!fwd && (c->zstd || c->chain))
        return fail_usage("-d needs no -z or --chain: the stream's "
                          "header names its chain");
    if (!fwd)
        return run_stream(c, s, l, &job);
    header *chain = header_new();
    int ex = chain ? build_chain(c, chain) : EXIT_INTERNAL;
    if (!ex && chain->n_stages == 0)
        ex = fail_usage("nothing to do: give -z, -e, --chain, or -d to "
                        "decode");
    if (!ex) {
        if (c->verbose)
            say_chain(chain);
        job.chain = chain;
        ex = run_stream(c, s, l, &job);
    }
    header_free(chain);
    return ex;
}

/* ---- tar modes ----------------------------------------------------------------- */

/* The archive stage's options from -C, -v, the switches and PATHs. */
static void archive_options(const cli *c, const session *s, kvlist *arch)
{
    if (c->directory)
        kv_add(arch, "directory", c->directory);
    if (c->verbose)
        kv_add(arch, "verbose", c->verbose > 1 ? "2" : "1");
    for (size_t i = 0; i < c->n_archive_opts; i++)
        kv_add(arch, c->archive_opts[i].key, c->archive_opts[i].value);
    for (int i = 0; i < c->n_args; i++)
        kv_add(arch, "arg", c->args[i]);
    if (c->mode != MODE_CREATE)
        return;
    if (c->files_from)
        kv_add(arch, "files-from", c->files_from);
    if (c->null_sep)
        kv_add(arch, "null", "1");
    if (c->one_file_system)
        kv_add(arch, "one-file-system", "1");
    if (s->progress_mode != PROGRESS_OFF)
        kv_add(arch, "progress", "1"); /* pre-scan for the ETA */
}

static int tar_create(cli *c, engine_job *job, header *chain, kvlist *arch)
{
    if (c->n_args == 0 && !c->files_from)
        return fail_usage("-c needs PATH arguments or -T FILE");
    int ex = build_chain(c, chain);
    if (ex)
        return ex;
    if (!strcmp(c->file, "-") && isatty(STDOUT_FILENO) && !c->force) {
        host_report("stdout", "refusing to write an archive to a "
                              "terminal (use -f FILE or a pipe)");
        return EXIT_USAGE;
    }
    if (strcmp(c->file, "-") != 0)
        kv_add(arch, "output", c->file); /* never archived */
    job->direction = SLUICE_FORWARD;
    job->chain = chain;
    job->source_depth = 64; /* 16 MiB: doc/PERFORMANCE.md */
    job->source.name = preset_archive_stage();
    job->source.options = arch->kv;
    job->source.n_options = arch->n;
    return 0;
}

static int run_tar(cli *c, session *s, loader *l)
{
    if (!c->file)
        return fail_usage("-c, -x and -t need -f FILE ('-' for stdin/stdout)");
    if (c->mode != MODE_CREATE && (c->zstd || c->chain))
        return fail_usage("-x and -t need no -z or --chain: the chain "
                          "is read from the stream");
    if (c->to_stdout && c->mode != MODE_EXTRACT)
        return fail_usage("-O (--to-stdout) goes with -x");
    static kvlist arch; /* large; one run per process */
    archive_options(c, s, &arch);
    s->stdout_is_data = !strcmp(c->file, "-") || c->mode == MODE_LIST ||
                        c->to_stdout;
    engine_job job = {0};
    preset_endpoint fe, oe;
    header *chain = header_new();
    int ex = chain ? 0 : EXIT_INTERNAL;
    if (!ex && c->mode == MODE_CREATE) {
        ex = tar_create(c, &job, chain, &arch);
        endpoint(c, c->file, &fe, &job.sink);
    } else if (!ex) {
        job.direction = SLUICE_REVERSE;
        job.allow_plain = 1;
        job.require_auth = auth_required(c, s);
        endpoint(c, c->file, &fe, &job.source);
        /* -t, and -x -O: the archive stage writes to stdout */
        int to_out = c->mode == MODE_LIST || c->to_stdout;
        stage_spec *at = to_out ? &job.tail : &job.sink;
        if (to_out) {
            kv_add(&arch, c->to_stdout ? "to-stdout" : "list", "1");
            endpoint(c, "-", &oe, &job.sink);
        } else {
            job.sink_depth = 16; /* 4 MiB: doc/PERFORMANCE.md */
        }
        at->name = preset_archive_stage();
        at->options = arch.kv;
        at->n_options = arch.n;
    }
    engine_error fail = {0};
    int rc = ex ? 0 : engine_run(s, l, &job, &fail);
    header_free(chain);
    return ex ? ex : rc == 0 ? EXIT_OK : report(&fail, rc);
}

int run_default(cli *c, session *s, loader *l)
{
    if (c->mode == MODE_FILTER_FORWARD || c->mode == MODE_FILTER_REVERSE)
        return run_filter(c, s, l);
    return run_tar(c, s, l);
}
