/*
 * chunks.h - the chunk objects of a split file (doc/FORMAT.md 5.5, 5.8),
 * fetched several at once: each decoded straight into its place in the
 * file being restored (the file stage's sink offset=/length=), or for
 * verify counted (and hashed) without being kept.
 */
#ifndef SLUICE_CHUNKS_H
#define SLUICE_CHUNKS_H

#include "coll.h"

/* Fetches every chunk of split file e, checking each holds the bytes
 * the manifest says (all but the last: e->chunk; the last: the rest)
 * and, when it records one, the SHA-256.  fd >= 0: the chunks go to
 * their offsets in that (new, empty) file; fd < 0: verify only.  0, or
 * an exit status after one line per problem ("verb: ..."). */
int chunks_fetch(coll *k, const mentry *e, int fd, const char *verb);
/* The same checks, the file's bytes handed to consume in order (one
 * chunk at a time; a failure after some were handed says so: the
 * caller's output is then incomplete). */
int chunks_stream(coll *k, const mentry *e,
                  int (*consume)(void *, const uint8_t *, size_t),
                  void *arg, const char *verb);

#endif
