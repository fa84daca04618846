/*
 * cli.h - the command line: filter mode (-z, -e, -d, --chain), tar mode
 * (-c, -x, -t with -f and -C), and the subcommands inspect and stages.
 */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

#include "sluice/plugin.h"

enum cli_mode {
    MODE_FILTER_FORWARD, /* default: stdin -> chain -> stdout           */
    MODE_FILTER_REVERSE, /* -d                                          */
    MODE_CREATE,         /* -c                                          */
    MODE_EXTRACT,        /* -x                                          */
    MODE_LIST,           /* -t                                          */
    MODE_INSPECT,        /* sluice inspect [FILE]                       */
    MODE_STAGES,         /* sluice stages                               */
    MODE_DECRYPT_OBJECT, /* sluice decrypt-object: one bare object      */
    MODE_HELP,
    MODE_VERSION
};

#define CLI_MAX_KV 4096

typedef struct cli {
    enum cli_mode mode;
    int zstd;          /* -z given                                      */
    int level;         /* zstd level; 0 = default                       */
    int level_given;
    int encrypt;       /* -e                                            */
    const char *chain; /* --chain SPEC                                  */
    const char *threads;
    const char *kdf_iter;
    const char *file;  /* -f                                            */
    const char *output; /* -o (filter mode)                             */
    const char *directory; /* -C                                        */
    const char *files_from;
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
    /* --exclude patterns and extraction switches for the archive
     * stage, as key/value options. */
    sluice_kv archive_opts[CLI_MAX_KV];
    size_t n_archive_opts;
    char **args;       /* positional arguments                          */
    int n_args;
} cli;

/* Parses argv into c; returns 0, or prints a one-line usage error and
 * returns -1. */
int cli_parse(cli *c, int argc, char **argv);
void cli_usage(void);

#endif
