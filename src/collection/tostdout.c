/* tostdout.c - `sluice restore --from URL [--as-of ID] --to-stdout PATH`
 * (-O, as tar): one regular file's bytes on stdout and nothing else
 * there.  Streaming in constant memory: a file in a tar object is that
 * member's data as the archive stage decodes it (a hard link: its data
 * holder's); a split file is its chunk objects one after another.  The
 * bytes are counted (and hashed when the manifest records a SHA-256)
 * on the way; a difference fails after they went out, so the exit
 * status is what says the output is whole. */
#define _GNU_SOURCE
#include "coll.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../sha256.h"
#include "../signals.h"
#include "../status.h"
#include "../util.h"
#include "chunks.h"
#include "restore.h"

typedef struct out {
    uint64_t bytes;
    sha256_ctx sha;
} out;

/* A closed pipe ends sluice by SIGPIPE, quietly, as it would gzip (doc/
 * EXIT.md): nothing is left half-written but the reader's pipe. */
static int put(void *arg, const uint8_t *p, size_t n)
{
    out *o = arg;
    o->bytes += n;
    sha256_update(&o->sha, p, n);
    while (n) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EPIPE)
            die_of_signal(SIGPIPE);
        if (w <= 0)
            return SLUICE_E_IO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The entry PATH names ("./" and a trailing "/" ignored), or NULL. */
static const mentry *find_path(const manifest *m, const char *arg)
{
    while (arg[0] == '.' && arg[1] == '/')
        arg += 2;
    char *p = strdup(arg);
    if (!p)
        return NULL;
    size_t l = strlen(p);
    while (l > 1 && p[l - 1] == '/')
        p[--l] = '\0';
    const mentry *e = mlist_find(&m->entries, p);
    free(p);
    return e;
}

/* A member of a tar object: its data holder's member, decoded. */
static int member_out(coll *k, const manifest *m, const mentry *e, out *o)
{
    const mentry *h = e->nlink > 1 ? link_holder(m, e) : e;
    char name[512];
    snprintf(name, sizeof name, "backups/%s/data-%u", h->bid, h->obj);
    os_sum want;
    os_err err = {{0}};
    int rc = os_extract_data(&k->o, data_root(k, h->bid), name, h->path,
                             put, o, object_sum(h, h->obj, &want), &err);
    if (rc < 0 && interrupted(k))
        return EXIT_INCOMPLETE;
    if (rc < 0) {
        say("restore: damaged or missing object: %s", err.msg);
        return object_exit(rc);
    }
    return 0;
}

int restore_to_stdout(coll *k, const ixent *b, const manifest *m)
{
    const char *arg = k->c->args[0];
    const mentry *e = find_path(m, arg);
    if (!e) {
        say("restore: %s: not found in backup %s", arg, b->id);
        return EXIT_USAGE;
    }
    if (e->type != 'f') {
        say("restore: %s: not a regular file (--to-stdout writes one "
            "file's contents)", arg);
        return EXIT_USAGE;
    }
    out o = {0};
    sha256_init(&o.sha);
    int ex = e->nchunks ? chunks_stream(k, e, put, &o, "restore")
                        : member_out(k, m, e, &o);
    if (ex)
        return ex;
    uint8_t d[32];
    char hex[65];
    sha256_final(&o.sha, d);
    hex_encode(d, sizeof d, hex);
    if (o.bytes != e->size || (e->sha && strcmp(hex, e->sha))) {
        say("restore: %s: its data object held %" PRIu64 " bytes%s, the "
            "manifest says %" PRIu64 "%s: output incomplete or wrong", arg,
            o.bytes, o.bytes == e->size ? " of other contents" : "",
            e->size, o.bytes == e->size ? " (SHA-256 differs)" : "");
        return EXIT_FORMAT;
    }
    return 0;
}
