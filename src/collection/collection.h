/*
 * collection.h - backup collections (doc/FORMAT.md section 5): the
 * subcommands backup, backups, restore and verify, a layer over the
 * streaming object store (objstore.h).
 */
#ifndef SLUICE_COLLECTION_H
#define SLUICE_COLLECTION_H

#include <stdint.h>

#include "../host.h"
#include "../loader.h"

#define COLL_MAX_TO 32

/* The options of a collection command, as the front end parsed them. */
typedef struct coll_opts {
    const char *to[COLL_MAX_TO];
    int n_to;
    const char *from, *host, *locality, *as_of, *directory;
    int checksum, quiet, verbose, zstd, level, encrypt, insecure;
    int allow_unencrypted; /* restore/verify: no require_auth (issue 14) */
    uint64_t object_size;
    /* forget, prune, unlock */
    int keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly,
        keep_yearly, prune, remove_all;
    int dry_run; /* --dry-run: backup, forget, prune */
    const char *keep_within;
    const char *prune_grace; /* --prune-grace DURATION (when.h) or 0  */
    const char *kdf_iter, *passphrase_file, *s3_endpoint;
    const char *chain; /* --chain SPEC (backup: a new collection's)   */
    /* backup's selection (select.c) */
    const char *excludes[64];
    int n_excludes;
    const char *exclude_from, *files_from;
    int exclude_caches, one_file_system; /* dry_run: above, shared */
    int json; /* --json: machine-readable output (backup, backups)    */
    int to_stdout; /* restore -O PATH: one file's bytes to stdout    */
    int progress; /* enum progress_mode: the command's own line       */
    int passphrase_fd;
    char **args;
    int n_args;
} coll_opts;

/* Runs command cmd ("backup", "backups", "restore", "verify", "forget",
 * "prune", "unlock") with one
 * session and one loader for all its engine runs; returns the exit
 * status.  The caller set up the session (passphrase source, verbosity)
 * and its signal watch. */
int collection_run(const char *cmd, const coll_opts *o, session *s,
                   loader *l);

#endif
