/*
 * memstage.h - the built-in memory endpoint: a source that produces the
 * bytes of a buffer, and a sink that collects a stream into memory (up to
 * a limit) or hands each block to a callback.  For small records (a
 * collection's INDEX, MANIFEST, LOCALITIES, LOCK) instead of temporary
 * files, and for checking or hashing a decoded object without storing it.
 * It is reached only through stage_spec.mem (engine.h), never by name.
 */
#ifndef SLUICE_MEMSTAGE_H
#define SLUICE_MEMSTAGE_H

#include <stddef.h>
#include <stdint.h>

#include "loader.h"

/* The largest record a memory sink collects: a hostile record cannot
 * take more memory than this (doc/FORMAT.md 5.3). */
#define MEM_RECORD_LIMIT ((size_t)64 << 20)

struct engine_mem {
    /* Source: the bytes data[0..len), then, with produce set, each
     * piece it gives (*p, the length returned; it may wait for the next)
     * until it returns 0 (the end) or a negative status (the run fails). */
    const uint8_t *data;
    size_t len;
    ptrdiff_t (*produce)(void *arg, const uint8_t **p);
    void *produce_arg;
    /* Sink: with consume set, each block goes to it (it returns 0 or a
     * negative status) and nothing is kept; else the stream is collected
     * into out (malloc'ed, NUL-terminated, out_len bytes; the caller
     * frees it) and a stream longer than limit (0: MEM_RECORD_LIMIT)
     * fails with a format error.  out is set only on success. */
    int (*consume)(void *arg, const uint8_t *p, size_t n);
    void *consume_arg;
    size_t limit;
    char *out;
    size_t out_len;
};

/* The built-in stage: name "memory", source and sink in both
 * directions.  Its open() is not used: the engine hands it the
 * engine_mem as its context. */
const loaded_stage *memstage(void);

#endif
