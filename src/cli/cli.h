/*
 * cli.h - the one front end: a command table (filter and tar modes by
 * default, then inspect, stages, decrypt-object and the collection
 * commands), one option table whose rows belong to option groups, and
 * one parser that fills a cli for whichever command was named.
 *
 * Adding an option: one row in options.c's table (and, when it is a new
 * field, the field here).  Adding a command: one row in commands.c's
 * table, naming its option groups, plus its check and run functions.
 */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

#include "collection/collection.h"
#include "host.h"
#include "loader.h"
#include "sluice/plugin.h"

/* The default command's modes. */
enum cli_mode {
    MODE_FILTER_FORWARD, /* default: stdin -> chain -> stdout           */
    MODE_FILTER_REVERSE, /* -d                                          */
    MODE_CREATE,         /* -c                                          */
    MODE_EXTRACT,        /* -x                                          */
    MODE_LIST            /* -t                                          */
};

/* Option groups: a command accepts the options of the groups it names. */
enum {
    G_ALWAYS = 1u << 0,    /* -h, -V                                    */
    G_SHORTHAND = 1u << 1, /* -z, --zstd[=L], -LEVEL, -e                */
    G_KDF = 1u << 2,       /* --kdf-iter                                */
    G_CHAIN = 1u << 3,     /* --chain, --threads                        */
    G_PASS = 1u << 4,      /* --passphrase-file, --passphrase-fd        */
    G_NET = 1u << 5,       /* --s3-endpoint, --insecure                 */
    G_VERBOSITY = 1u << 6, /* -v, -q                                    */
    G_PROGRESS = 1u << 7,  /* --progress                                */
    G_OUTPUT = 1u << 8,    /* -o, -F                                    */
    G_FILTER = 1u << 9,    /* -d                                        */
    G_TAR = 1u << 10,      /* -c -x -t -f -T and the archive switches   */
    G_DIR = 1u << 11,      /* -C                                        */
    G_RAW = 1u << 12,      /* --salt, --encryption-info                 */
    G_STORE = 1u << 13,    /* --to, --locality, --checksum, --object-size */
    G_FETCH = 1u << 14,    /* --from, --as-of                           */
    G_HOST = 1u << 15,     /* --host                                    */
    G_RETAIN = 1u << 16,   /* --keep-*, --prune (forget)                */
    G_DRYRUN = 1u << 17,   /* --dry-run (backup, forget, prune)         */
    G_UNLOCK = 1u << 18,   /* --remove-all (unlock)                     */
    G_SELECT = 1u << 19,   /* backup: --exclude..., -T                  */
    G_JSON = 1u << 20,     /* --json                                    */
    G_TOSTDOUT = 1u << 21, /* -O, --to-stdout (-x, restore)             */
    G_PRUNE = 1u << 22     /* --prune-grace (prune, forget --prune)     */
};

#define CLI_MAX_KV 4096

typedef struct command command;

typedef struct cli {
    const command *cmd;
    enum cli_mode mode;
    int mode_set;
    int help, version;
    int zstd;          /* -z given                                      */
    int level;         /* zstd level; 0 = the preset's default          */
    int encrypt;       /* -e                                            */
    const char *chain; /* --chain SPEC                                  */
    const char *threads;
    const char *kdf_iter;
    const char *file;  /* -f                                            */
    const char *output; /* -o                                           */
    const char *directory; /* -C                                        */
    const char *files_from; /* -T, --files-from                         */
    int null_sep;
    int one_file_system;
    int verbose, quiet;
    const char *passphrase_file;
    int passphrase_fd;
    int force;
    int progress;            /* --progress                            */
    int to_stdout;           /* -O: -x writes member data to stdout   */
    const char *salt;        /* decrypt-object --salt HEX              */
    const char *encryption_info; /* decrypt-object --encryption-info */
    const char *s3_endpoint; /* --s3-endpoint URL                      */
    int insecure;            /* --insecure: no TLS verification        */
    int allow_unencrypted;   /* --allow-unencrypted: a restore accepts an
                                unauthenticated input with a passphrase */
    const char *max_memory;  /* --max-memory SIZE (host budget)        */
    const char *max_kdf_iter; /* --max-kdf-iter N (host budget)        */
    /* Switches for the archive stage, as key/value options. */
    sluice_kv archive_opts[CLI_MAX_KV];
    size_t n_archive_opts;
    coll_opts coll;    /* --to, --from, --host, ... (collections)       */
    char **args;       /* positional arguments                          */
    int n_args;
} cli;

struct command {
    const char *name;  /* NULL: the default command (filter, tar)      */
    unsigned groups;
    int min_args, max_args; /* max -1: any number                      */
    /* After parsing: 0, or prints a usage error and returns -1. */
    int (*check)(cli *c);
    int (*run)(cli *c, session *s, loader *l);
    /* Collection commands: a run a signal stopped early (incomplete)
     * dies of the signal too (they stop between objects), and they say
     * themselves what an incomplete run skipped. */
    int signal_wins;
};

/* The command named name, or the default command for NULL; NULL if no
 * command has that name.  Iterate with cli_command_at(i) until NULL. */
const command *cli_command(const char *name);
const command *cli_command_at(size_t i);

/* Parses argv into c; returns 0, or prints a one-line usage error naming
 * the offending token and returns -1. */
int cli_parse(cli *c, int argc, char **argv);
void cli_usage(void);

/* "sluice: usage: MESSAGE: see sluice --help" on stderr; returns -1. */
int cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* The closest of the n words to word, if close enough to be a likely
 * misspelling; else NULL. */
const char *cli_closest(const char *word, const char *const *words,
                        size_t n);

#endif
