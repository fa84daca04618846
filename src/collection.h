/*
 * collection.h - backup collections (doc/FORMAT.md section 5): the
 * commands backup, backups, restore and verify.  The front end (src/cli)
 * parses their options into a coll_opts and hands it over with the
 * session and loader it started.
 */
#ifndef SLUICE_COLLECTION_H
#define SLUICE_COLLECTION_H

#include <stdint.h>

#include "host.h"
#include "loader.h"

#define COLL_MAX_TO 32

typedef struct coll_opts {
    const char *cmd; /* set by collection_run                        */
    const char *to[COLL_MAX_TO];
    int n_to;
    const char *from, *host, *locality, *as_of, *directory;
    int checksum, quiet, verbose, zstd, level, encrypt, insecure;
    uint64_t object_size;
    const char *kdf_iter, *passphrase_file, *s3_endpoint;
    int passphrase_fd;
    char **args;
    int n_args;
} coll_opts;

/* Runs one collection command; returns the exit status. */
int collection_run(const char *cmd, const coll_opts *o, session *s,
                   loader *l);

#endif
