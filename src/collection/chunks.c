/* chunks.c - the chunk objects of a split file; see chunks.h. */
#include "chunks.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../sha256.h"
#include "../status.h"
#include "../util.h"
#include "pool.h"

typedef struct fetch {
    coll *k;
    const mentry *e;
    const char *root, *verb;
    char target[64]; /* /proc/self/fd/N: the file, opened once */
    int fd;
    sha256_ctx *sha; /* verify of a file with a SHA-256: in order */
    /* chunks_stream: every block, in order */
    int (*consume)(void *, const uint8_t *, size_t);
    void *arg;
} fetch;

static int take_block(void *arg, const uint8_t *p, size_t n)
{
    fetch *f = arg;
    if (f->sha)
        sha256_update(f->sha, p, n);
    return f->consume ? f->consume(f->arg, p, n) : 0;
}

/* Task j: chunk j of the file. */
static int fetch_chunk(void *arg, size_t j)
{
    fetch *f = arg;
    const mentry *e = f->e;
    coll *k = f->k;
    char name[512];
    os_err err = {{0}};
    uint64_t off = (uint64_t)j * e->chunk, got = 0;
    uint64_t want = j + 1 < e->nchunks ? e->chunk : e->size - off;
    if (interrupted(k))
        return EXIT_INCOMPLETE;
    snprintf(name, sizeof name, "backups/%s/data-%" PRIu64, e->bid,
             (uint64_t)e->obj + j);
    os_sum ws;
    const os_sum *sum = object_sum(e, e->obj + (unsigned)j, &ws);
    int rc = f->fd >= 0
                 ? os_get_range(&k->o, f->root, name, f->target, off, want,
                                sum, &got, &err)
                 : os_get_consume(&k->o, f->root, name,
                                  f->sha || f->consume ? take_block : NULL,
                                  f, sum, &got, &err);
    /* A chunk of the wrong length: said as such, though its recorded
     * size and SHA-256 (SLUICE_E_AUTH) differ too. */
    if (((rc == 0 || rc == SLUICE_E_AUTH) && got != want) ||
        (rc == SLUICE_E_FORMAT && got > want)) {
        char *url = os_url(f->root, name);
        say("%s: damaged object: %s: holds %s%" PRIu64 " bytes of %s "
            "(chunk %zu of %u), the manifest says %" PRIu64, f->verb,
            url ? url : name, got > want ? "at least " : "", got, e->path,
            j + 1, e->nchunks, want);
        free(url);
        return EXIT_FORMAT;
    }
    if (rc < 0) {
        if (interrupted(k))
            return EXIT_INCOMPLETE;
        say("%s: damaged or missing object: %s", f->verb, err.msg);
        return object_exit(rc);
    }
    return 0;
}

/* The SHA-256 of the file as restored, read back from fd. */
static int hash_fd(int fd, uint64_t size, sha256_ctx *sc)
{
    uint8_t buf[65536];
    for (uint64_t at = 0; at < size;) {
        ssize_t n = pread(fd, buf, sizeof buf, (off_t)at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        sha256_update(sc, buf, (size_t)n);
        at += (uint64_t)n;
    }
    return 0;
}

static int fetch_all(coll *k, const mentry *e, int fd,
                     int (*consume)(void *, const uint8_t *, size_t),
                     void *arg, const char *verb)
{
    fetch f = {.k = k, .e = e, .root = data_root(k, e->bid), .verb = verb,
               .fd = fd, .consume = consume, .arg = arg};
    sha256_ctx sc;
    sha256_init(&sc);
    snprintf(f.target, sizeof f.target, "/proc/self/fd/%d", fd);
    /* Verify hashes as it decodes, and a stream takes the bytes in
     * order: the chunks in order, one at a time.  Otherwise several at
     * once, each written at its offset. */
    if (fd < 0 && e->sha)
        f.sha = &sc;
    int one = f.sha || consume;
    int ex = pool_run(e->nchunks, one ? 1 : coll_width(), one, fetch_chunk, &f);
    if (!ex)
        feedback_done(k, 1, 0);
    if (ex || !e->sha)
        return ex;
    if (fd >= 0 && hash_fd(fd, e->size, &sc) < 0) {
        say("%s: %s: cannot read it back: %s", verb, e->path,
            strerror(errno));
        return EXIT_IO;
    }
    uint8_t d[32];
    char hex[65];
    sha256_final(&sc, d);
    hex_encode(d, sizeof d, hex);
    if (strcmp(hex, e->sha)) { /* e->sha: checked above */
        say("%s: %s: its chunk objects (backups/%s/data-%u..%u) do not "
            "hold the contents backed up (SHA-256 differs)", verb, e->path,
            e->bid, e->obj, e->obj + e->nchunks - 1);
        return EXIT_FORMAT;
    }
    return 0;
}

int chunks_fetch(coll *k, const mentry *e, int fd, const char *verb)
{
    return fetch_all(k, e, fd, NULL, NULL, verb);
}

int chunks_stream(coll *k, const mentry *e,
                  int (*consume)(void *, const uint8_t *, size_t),
                  void *arg, const char *verb)
{
    return fetch_all(k, e, -1, consume, arg, verb);
}
