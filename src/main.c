/*
 * main.c - sluice: turn the command line into an engine job, run it, and
 * turn the outcome into one line on stderr and a documented exit status.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chainspec.h"
#include "cli.h"
#include "collection/collection.h"
#include "config.h"
#include "encinfo.h"
#include "engine.h"
#include "host.h"
#include "loader.h"
#include "progress.h"
#include "signals.h"
#include "status.h"
#include "util.h"

/* ---- jobs --------------------------------------------------------------- */

#define MAX_OPTS 4200
typedef struct kvlist {
    sluice_kv kv[MAX_OPTS];
    size_t n;
} kvlist;

static void kv_add(kvlist *l, const char *key, const char *value)
{
    if (l->n < MAX_OPTS) {
        l->kv[l->n].key = key;
        l->kv[l->n].value = value;
        l->n++;
    }
}

/* Chooses the endpoint stage for a path or URL: "scheme://..." names the
 * stage after its scheme (s3, http, ...); anything else is the file
 * stage ("-" = stdin/stdout). */
static const cli *the_cli; /* endpoint options from the command line */

static int endpoint_for(const char *target, stage_spec *spec, kvlist *opts,
                        char *scheme_buf, size_t cap)
{
    const char *sep = strstr(target, "://");
    if (sep && (size_t)(sep - target) < cap) {
        memcpy(scheme_buf, target, (size_t)(sep - target));
        scheme_buf[sep - target] = '\0';
        for (char *p = scheme_buf; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        if (!strcmp(scheme_buf, "https"))
            strcpy(scheme_buf, "http");
        spec->name = scheme_buf;
        kv_add(opts, "url", target);
        if (the_cli->s3_endpoint)
            kv_add(opts, "s3-endpoint", the_cli->s3_endpoint);
        if (the_cli->insecure)
            kv_add(opts, "insecure", "1");
        if (the_cli->verbose)
            kv_add(opts, "verbose", the_cli->verbose > 1 ? "2" : "1");
    } else {
        spec->name = "file";
        kv_add(opts, "path", target);
    }
    spec->options = opts->kv;
    spec->n_options = opts->n;
    return 0;
}

static int fail_usage(const char *msg)
{
    fprintf(stderr, "sluice: usage: %s: see sluice --help\n", msg);
    return EXIT_USAGE;
}

/* The forward transform chain from -z/-LEVEL/-e or --chain. */
static int build_chain(const cli *c, header *chain, char *level_buf,
                       size_t cap)
{
    sluice_error err = {0};
    if (c->chain) {
        if (c->zstd || c->encrypt)
            return fail_usage("--chain cannot be combined with -z or -e");
        if (chainspec_parse(c->chain, chain, &err) < 0) {
            host_report("usage", err.message);
            return EXIT_USAGE;
        }
        return 0;
    }
    if (c->zstd) {
        sluice_kv level = {"level", level_buf};
        snprintf(level_buf, cap, "%d", c->level_given ? c->level : 3);
        if (header_add_stage(chain, "zstd", &level, 1, &err) < 0) {
            host_report("usage", err.message);
            return EXIT_USAGE;
        }
    }
    if (c->encrypt) {
        sluice_kv iter = {"iter", c->kdf_iter};
        if (header_add_stage(chain, "aes-256-gcm", &iter, c->kdf_iter ? 1 : 0,
                             &err) < 0) {
            host_report("usage", err.message);
            return EXIT_USAGE;
        }
    }
    return 0;
}

typedef struct print_ctx {
    int n;
} print_ctx;

/* "source+sink" etc.: the roles a stage plays in one direction. */
static void roles_str(unsigned roles, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s%s%s%s",
             roles & SLUICE_ROLE_SOURCE ? "source" : "",
             (roles & SLUICE_ROLE_SOURCE) && (roles & ~SLUICE_ROLE_SOURCE)
                 ? "+" : "",
             roles & SLUICE_ROLE_TRANSFORM ? "transform" : "",
             (roles & SLUICE_ROLE_TRANSFORM) && (roles & SLUICE_ROLE_SINK)
                 ? "+" : "",
             roles & SLUICE_ROLE_SINK ? "sink" : "");
}

static void print_stage(void *arg, const loaded_stage *st, int shadowed,
                        const char *load_error)
{
    print_ctx *pc = arg;
    pc->n++;
    if (load_error) {
        printf("%-12s %s\n", "(unusable)", load_error);
        return;
    }
    char fwd[40], rev[40];
    roles_str(st->vt.forward_roles, fwd, sizeof fwd);
    roles_str(st->vt.reverse_roles, rev, sizeof rev);
    printf("%-12s %-16s %-16s ABI %u.%u  %s%s\n    %s\n", st->vt.name, fwd,
           rev, st->abi_major, st->abi_minor, st->path,
           shadowed ? "  (shadowed by an earlier directory)" : "",
           st->vt.summary ? st->vt.summary : "");
}

static int cmd_stages(loader *l)
{
    print_ctx pc = {0};
    printf("%-12s %-16s %-16s\n", "STAGE", "BACKUP", "RESTORE");
    loader_list(l, print_stage, &pc);
    if (pc.n == 0) {
        fprintf(stderr, "sluice: stages: no plugins found in");
        for (const char *const *d = loader_dirs(l); *d; d++)
            fprintf(stderr, " %s", *d);
        fputc('\n', stderr);
        return EXIT_PLUGIN;
    }
    return EXIT_OK;
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

/* decrypt-object: the aes-256-gcm stage's header line, rebuilt from
 * --salt or --encryption-info, for an object that has no header. */
static int raw_object_chain(const cli *c, header *chain)
{
    uint8_t salt[ENCINFO_SALT_LEN];
    char salt_hex[2 * ENCINFO_SALT_LEN + 1];
    sluice_error err = {0};
    if (c->encryption_info) {
        if (encinfo_read_file(c->encryption_info, salt, &err) < 0) {
            host_report(c->encryption_info, err.message);
            return status_to_exit(err.code);
        }
        hex_encode(salt, sizeof salt, salt_hex);
    } else {
        size_t n = strlen(c->salt);
        if (n != 2 * ENCINFO_SALT_LEN ||
            strspn(c->salt, "0123456789abcdefABCDEF") != n)
            return fail_usage("--salt needs 32 hex digits (16 bytes)");
        for (size_t i = 0; i <= n; i++)
            salt_hex[i] = (char)(c->salt[i] >= 'A' && c->salt[i] <= 'F'
                                     ? c->salt[i] - 'A' + 'a'
                                     : c->salt[i]);
    }
    sluice_kv params[] = {
        {"kdf", "pbkdf2-sha256"},
        {"iter", c->kdf_iter ? c->kdf_iter : "64000"},
        {"salt", salt_hex},
    };
    if (header_add_stage(chain, "aes-256-gcm", params, 3, &err) < 0) {
        host_report("usage", err.message);
        return EXIT_USAGE;
    }
    return 0;
}

static int report(const engine_error *fail, int rc)
{
    if (rc == SLUICE_E_PIPE)
        die_of_signal(SIGPIPE);
    if (fail->err.message[0])
        host_report(fail->subject, fail->err.message);
    return status_to_exit(rc);
}

int main(int argc, char **argv)
{
    cli c;
    if (argc > 1 && collection_command(argv[1]))
        return collection_main(argc, argv);
    if (cli_parse(&c, argc, argv) < 0)
        return EXIT_USAGE;
    if (c.mode == MODE_HELP) {
        cli_usage();
        return EXIT_OK;
    }
    if (c.mode == MODE_VERSION) {
        printf("sluice %s (plugin ABI %d.%d)\n", PACKAGE_VERSION,
               SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR);
        return EXIT_OK;
    }

    the_cli = &c;
    session s;
    session_init(&s);
    s.verbosity = c.quiet ? -1 : c.verbose;
    if (c.quiet)
        s.progress_mode = PROGRESS_OFF;
    else if (isatty(STDERR_FILENO))
        s.progress_mode = PROGRESS_TTY;
    else if (c.progress)
        s.progress_mode = PROGRESS_LINES;
    s.passphrase.file = c.passphrase_file;
    s.passphrase.fd = c.passphrase_fd;
    loader *l = loader_new();
    signal_watch sw;
    if (!l || signals_start(&sw, &s) < 0) {
        fputs("sluice: startup: cannot start: out of memory or threads\n",
              stderr);
        loader_free(l);
        return EXIT_INTERNAL;
    }

    int ex = EXIT_OK, rc = 0;
    engine_error fail = {0};
    header *chain = header_new();
    kvlist src_opts = {0}, sink_opts = {0}, tr_opts = {0}, tail_opts = {0};
    char scheme[64], level_buf[16];
    engine_job job = {0};
    job.transform_options = tr_opts.kv;
    if (c.threads)
        kv_add(&tr_opts, "threads", c.threads);
    job.n_transform_options = tr_opts.n;

    switch (c.mode) {
    case MODE_STAGES:
        ex = cmd_stages(l);
        break;
    case MODE_INSPECT: {
        stage_spec src = {0};
        endpoint_for(c.n_args ? c.args[0] : "-", &src, &src_opts, scheme,
                     sizeof scheme);
        header *h = NULL;
        rc = engine_read_header(&s, l, &src, &h, &fail);
        if (rc == 0)
            print_header(h);
        header_free(h);
        ex = rc == 0 ? EXIT_OK : report(&fail, rc);
        break;
    }
    case MODE_DECRYPT_OBJECT:
    case MODE_FILTER_FORWARD:
    case MODE_FILTER_REVERSE: {
        int fwd = c.mode == MODE_FILTER_FORWARD;
        if (c.n_args > 1) {
            ex = fail_usage("give at most one input FILE");
            break;
        }
        const char *in = c.n_args ? c.args[0] : "-";
        const char *out = c.output ? c.output : "-";
        if (c.mode == MODE_DECRYPT_OBJECT) {
            if (c.zstd || c.encrypt || c.chain) {
                ex = fail_usage("decrypt-object takes no -z, -e or --chain");
                break;
            }
            ex = raw_object_chain(&c, chain);
            if (ex)
                break;
            job.chain = chain;
        } else if (fwd) {
            ex = build_chain(&c, chain, level_buf, sizeof level_buf);
            if (ex)
                break;
            if (chain->n_stages == 0) {
                ex = fail_usage("nothing to do: give -z, -e, --chain, or "
                                "-d to decode");
                break;
            }
            job.chain = chain;
        } else if (c.zstd || c.encrypt || c.chain) {
            ex = fail_usage("-d needs no -z, -e or --chain: the stream's "
                            "header names its chain");
            break;
        }
        if (fwd && !strcmp(out, "-") && isatty(STDOUT_FILENO) && !c.force) {
            host_report("stdout", "refusing to write binary data to a "
                                  "terminal (use -o FILE, a pipe, or -F)");
            ex = EXIT_USAGE;
            break;
        }
        if (!fwd && !strcmp(in, "-") && isatty(STDIN_FILENO) && !c.force) {
            host_report("stdin", "refusing to read binary data from a "
                                 "terminal (give a FILE or a pipe)");
            ex = EXIT_USAGE;
            break;
        }
        job.direction = fwd ? SLUICE_FORWARD : SLUICE_REVERSE;
        endpoint_for(in, &job.source, &src_opts, scheme, sizeof scheme);
        char scheme2[64];
        endpoint_for(out, &job.sink, &sink_opts, scheme2, sizeof scheme2);
        rc = engine_run(&s, l, &job, &fail);
        ex = rc == 0 ? EXIT_OK : report(&fail, rc);
        break;
    }
    case MODE_CREATE:
    case MODE_EXTRACT:
    case MODE_LIST: {
        if (!c.file) {
            ex = fail_usage("-c, -x and -t need -f FILE ('-' for "
                            "stdin/stdout)");
            break;
        }
        kvlist *arch = c.mode == MODE_LIST ? &tail_opts
                       : c.mode == MODE_CREATE ? &src_opts
                                               : &sink_opts;
        if (c.directory)
            kv_add(arch, "directory", c.directory);
        if (c.verbose)
            kv_add(arch, "verbose", c.verbose > 1 ? "2" : "1");
        for (size_t i = 0; i < c.n_archive_opts; i++)
            kv_add(arch, c.archive_opts[i].key, c.archive_opts[i].value);
        for (int i = 0; i < c.n_args; i++)
            kv_add(arch, "arg", c.args[i]);
        char scheme2[64];
        s.stdout_is_data = !strcmp(c.file, "-") || c.mode == MODE_LIST;
        if (c.mode == MODE_CREATE) {
            if (c.files_from)
                kv_add(arch, "files-from", c.files_from);
            if (c.null_sep)
                kv_add(arch, "null", "1");
            if (c.one_file_system)
                kv_add(arch, "one-file-system", "1");
            if (s.progress_mode != PROGRESS_OFF)
                kv_add(arch, "progress", "1"); /* pre-scan for the ETA */
            if (c.n_args == 0 && !c.files_from) {
                ex = fail_usage("-c needs PATH arguments or -T FILE");
                break;
            }
            ex = build_chain(&c, chain, level_buf, sizeof level_buf);
            if (ex)
                break;
            if (!strcmp(c.file, "-") && isatty(STDOUT_FILENO) && !c.force) {
                host_report("stdout", "refusing to write an archive to a "
                                      "terminal (use -f FILE or a pipe)");
                ex = EXIT_USAGE;
                break;
            }
            job.direction = SLUICE_FORWARD;
            job.chain = chain;
            job.source.name = "archive";
            job.source.options = src_opts.kv;
            job.source.n_options = src_opts.n;
            endpoint_for(c.file, &job.sink, &sink_opts, scheme2,
                         sizeof scheme2);
        } else {
            if (c.zstd || c.encrypt || c.chain) {
                ex = fail_usage("-x and -t need no -z, -e or --chain: the "
                                "chain is read from the stream");
                break;
            }
            job.direction = SLUICE_REVERSE;
            job.allow_plain = 1;
            endpoint_for(c.file, &job.source, &src_opts, scheme,
                         sizeof scheme);
            if (c.mode == MODE_LIST) {
                kv_add(&tail_opts, "list", "1");
                job.tail.name = "archive";
                job.tail.options = tail_opts.kv;
                job.tail.n_options = tail_opts.n;
                endpoint_for("-", &job.sink, &sink_opts, scheme2,
                             sizeof scheme2);
            } else {
                job.sink.name = "archive";
                job.sink.options = sink_opts.kv;
                job.sink.n_options = sink_opts.n;
            }
        }
        rc = engine_run(&s, l, &job, &fail);
        ex = rc == 0 ? EXIT_OK : report(&fail, rc);
        break;
    }
    default:
        ex = EXIT_INTERNAL;
    }
    if (ex == EXIT_OK && atomic_load(&s.incomplete)) {
        host_report("warning", "finished, but incomplete: some entries "
                               "were skipped (see messages above)");
        ex = EXIT_INCOMPLETE;
    }
    header_free(chain);
    int sig = atomic_load(&s.signal_number);
    signals_stop(&sw);
    session_cleanup(&s);
    loader_free(l);
    fflush(stdout);
    /* Interrupted: die of the signal, as a filter would.  But a signal
     * that came after the sink made its output visible came too late to
     * stop anything (engine_run then returns 0): a status of 128+N always
     * means the target was left untouched. */
    if (sig && ex != EXIT_OK && ex != EXIT_INCOMPLETE)
        die_of_signal(sig);
    return ex;
}
