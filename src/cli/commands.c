/*
 * commands.c - the command table: every command's name, the option
 * groups it takes, its argument counts and checks, and what runs it.
 */
#include "cli.h"

#include <string.h>

#include "jobs.h"
#include "progress.h"
#include "status.h"

#define COMMON (G_ALWAYS | G_VERBOSITY)

/* -T is tar's --files-from in every mode; threads are --threads. */
static int check_default(cli *c)
{
    if (c->files_from && c->mode != MODE_CREATE) {
        if (c->mode == MODE_FILTER_FORWARD || c->mode == MODE_FILTER_REVERSE)
            return cli_usage_error("-T is tar's --files-from; threads are "
                                   "--threads");
        return cli_usage_error("-T/--files-from lists the paths for -c");
    }
    return 0;
}

static int check_decrypt_object(cli *c)
{
    if (!c->salt == !c->encryption_info)
        return cli_usage_error("decrypt-object needs exactly one of --salt "
                               "HEX and --encryption-info FILE");
    return 0;
}

static int check_backup(cli *c)
{
    if (!c->coll.n_to)
        return cli_usage_error("backup needs --to URL");
    if (!c->n_args && !c->files_from)
        return cli_usage_error("backup needs PATH arguments");
    if (c->threads)
        return cli_usage_error("--threads is not a backup option");
    if (c->chain && (c->zstd || c->encrypt))
        return cli_usage_error("--chain cannot be combined with -z or -e");
    return 0;
}

static int check_fetch(cli *c)
{
    if (!c->coll.from)
        return cli_usage_error("%s needs --from URL", c->cmd->name);
    if (!strcmp(c->cmd->name, "diff") && c->coll.as_of)
        return cli_usage_error("diff takes its two backups as arguments "
                               "(ID1 ID2), not --as-of");
    if (!strcmp(c->cmd->name, "restore") && c->to_stdout) {
        if (c->directory)
            return cli_usage_error("restore --to-stdout writes to stdout: "
                                   "-C does not apply");
        if (c->n_args != 1)
            return cli_usage_error("restore --to-stdout takes exactly one "
                                   "PATH");
        return 0;
    }
    if (!strcmp(c->cmd->name, "restore") && !c->directory)
        return cli_usage_error("restore needs -C DIR");
    return 0;
}

/* The collection layer takes its own struct: the shared fields join the
 * collection-only ones parsed into c->coll. */
static int run_collection(cli *c, session *s, loader *l)
{
    coll_opts o = c->coll;
    o.directory = c->directory;
    o.quiet = c->quiet;
    o.verbose = c->verbose;
    o.zstd = c->zstd;
    o.level = c->level; /* 0: not given (the preset's default) */
    o.chain = c->chain;
    o.encrypt = c->encrypt;
    o.allow_unencrypted = c->allow_unencrypted;
    o.insecure = c->insecure;
    o.kdf_iter = c->kdf_iter;
    o.passphrase_file = c->passphrase_file;
    o.s3_endpoint = c->s3_endpoint;
    o.passphrase_fd = c->passphrase_fd;
    o.files_from = c->files_from;
    o.one_file_system = c->one_file_system;
    o.to_stdout = c->to_stdout;
    for (size_t i = 0; i < c->n_archive_opts; i++)
        if (!strcmp(c->archive_opts[i].key, "exclude")) {
            if (o.n_excludes == (int)(sizeof o.excludes /
                                      sizeof o.excludes[0]))
                return cli_usage_error("more than 64 --exclude: use "
                                       "--exclude-from FILE"), EXIT_USAGE;
            o.excludes[o.n_excludes++] = c->archive_opts[i].value;
        }
    o.args = c->args;
    o.n_args = c->n_args;
    /* The command draws its own line (feedback.c); its engine runs,
     * one an object, none. */
    o.progress = s->progress_mode;
    s->progress_mode = PROGRESS_OFF;
    return collection_run(c->cmd->name, &o, s, l);
}

#define COLL (COMMON | G_PASS | G_NET | G_HOST)
static const command commands[] = {
    {NULL,
     COMMON | G_SHORTHAND | G_KDF | G_CHAIN | G_PASS | G_NET | G_PROGRESS |
         G_OUTPUT | G_FILTER | G_TAR | G_DIR,
     0, -1, check_default, run_default, 0},
    {"inspect", COMMON | G_NET, 0, 1, NULL, run_inspect, 0},
    {"stages", COMMON, 0, 1, NULL, run_stages, 0},
    {"decrypt-object",
     COMMON | G_RAW | G_KDF | G_PASS | G_NET | G_PROGRESS | G_OUTPUT |
         G_CHAIN,
     0, 1, check_decrypt_object, run_decrypt_object, 0},
    {"backup",
     COLL | G_SHORTHAND | G_KDF | G_CHAIN | G_STORE | G_DIR | G_SELECT |
         G_DRYRUN | G_JSON | G_PROGRESS,
     0, -1, check_backup, run_collection, 1},
    {"backups", COLL | G_FETCH | G_JSON, 0, 0, check_fetch, run_collection, 1},
    {"ls", COLL | G_FETCH | G_JSON, 0, -1, check_fetch, run_collection, 1},
    {"diff", COLL | G_FETCH | G_JSON, 2, 2, check_fetch, run_collection, 1},
    {"restore", COLL | G_FETCH | G_DIR | G_TOSTDOUT | G_PROGRESS, 0, -1,
     check_fetch, run_collection, 1},
    {"verify", COLL | G_FETCH | G_STORE | G_PROGRESS, 0, 0, check_fetch,
     run_collection, 1},
    {"forget", COLL | G_FETCH | G_RETAIN | G_DRYRUN | G_PROGRESS |
         G_PRUNE,
     0, 0, check_fetch, run_collection, 1},
    {"prune", COLL | G_FETCH | G_DRYRUN | G_PROGRESS | G_PRUNE, 0, 0,
     check_fetch, run_collection, 1},
    {"unlock", COMMON | G_NET | G_FETCH | G_UNLOCK, 0, 0, check_fetch,
     run_collection, 1},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

const command *cli_command_at(size_t i)
{
    return i < N_COMMANDS ? &commands[i] : NULL;
}

const command *cli_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (name ? commands[i].name && !strcmp(commands[i].name, name)
                 : !commands[i].name)
            return &commands[i];
    return NULL;
}
