/*
 * engine.h - runs a chain of stages: one thread per stage, joined by
 * bounded block queues, with the sluice/1 header written (backup) or read
 * and authenticated (restore) at the seam before the endpoint.
 *
 *   backup:   source -> t1 -> ... -> tn -> [header] sink
 *   restore:  source [header] -> tn' -> ... -> t1' -> sink
 */
#ifndef SLUICE_ENGINE_H
#define SLUICE_ENGINE_H

#include "header.h"
#include "host.h"
#include "loader.h"

typedef struct engine_mem engine_mem;

/* One stage as the command line wants it run. */
typedef struct stage_spec {
    const char *name;
    const sluice_kv *options; /* run-time options (never recorded)  */
    size_t n_options;
    /* Instead of a plugin: the built-in memory endpoint (memstage.h),
     * for a source or sink only; name and options are then ignored.  It
     * is no plugin and has no name a header or command line could give:
     * only core code reaches it. */
    engine_mem *mem;
} stage_spec;

/* What identifies a stored object (engine_job.digest).  Forward, kind
 * ENGINE_DIGEST_ANY asks for the best the chain offers: the binding of
 * its last stage (in header order) that reports one (ABI 1.4), else the
 * SHA-256 of every byte that reached the sink; kind then says which.
 * Reverse, kind says what to work out: ENGINE_DIGEST_SHA256 of every byte
 * the source produced, or ENGINE_DIGEST_BINDING from the same stage as
 * forward (the run fails when the chain has none). */
enum engine_digest_kind {
    ENGINE_DIGEST_ANY = 0,
    ENGINE_DIGEST_SHA256 = 1,
    ENGINE_DIGEST_BINDING = 2
};

#define ENGINE_DIGEST_LEN 32 /* SHA-256 and SLUICE_BINDING_LEN alike */

typedef struct engine_digest {
    int kind;
    uint8_t v[ENGINE_DIGEST_LEN];
} engine_digest;

typedef struct engine_job {
    int direction;            /* SLUICE_FORWARD or SLUICE_REVERSE      */
    stage_spec source, sink;
    /* Reverse only, optional: one more transform after the chain, before
     * the sink (sluice -t: the archive stage turning entries into a
     * listing for stdout). */
    stage_spec tail;
    /* Forward: the transforms to apply, with their parameters (from -z,
     * -e, --chain).  Reverse: NULL to read the chain from the stream's
     * header; else an explicit chain for a stream without header. */
    const header *chain;
    const sluice_kv *transform_options; /* e.g. threads=N            */
    size_t n_transform_options;
    /* Reverse: a stream without sluice/1 header goes to the sink as it
     * is (sluice -x reading a plain tar, say). */
    int allow_plain;
    /* Forward: write the body alone, without the sluice/1 header (a bare
     * object whose chain is recorded elsewhere: decrypt-object, backup
     * collections).  Reverse with an explicit chain reads no header. */
    int no_header;
    /* Forward, optional: 256 KiB blocks that may wait after the source
     * (0: the default 4).  A source that runs unevenly (sluice -c on runs
     * of tiny files) keeps the next stage busy from a deeper queue. */
    unsigned source_depth;
    /* Reverse, optional: 256 KiB blocks that may wait before the sink
     * (0: the default 4).  A sink that runs unevenly (sluice -x: runs of
     * tiny files, then large ones) lets the decoders run ahead. */
    unsigned sink_depth;
    /* Reverse: when non-NULL (why: "a passphrase was given"), the input
     * must be authenticated by a stage that checks the header MAC
     * (SLUICE_STAGE_HEADER_MAC), else the run fails with SLUICE_E_AUTH
     * before the sink opens: no downgrade to an unencrypted stream. */
    const char *require_auth;
    /* Reverse, optional: the sink's options instead of sink.options when
     * the input was authenticated (the file sink: mode=0600). */
    const sluice_kv *auth_sink_options;
    size_t n_auth_sink_options;
    /* A failure aborts this run alone, not the session (collections run
     * several jobs at once; a damaged object must not cancel the others).
     * A signal still aborts every run. */
    int isolated;
    /* Optional out-params: bytes the source produced (without the
     * header), and bytes that reached the sink (forward: the stored
     * object, header included; reverse: the decoded stream). */
    uint64_t *bytes_in, *bytes_out;
    /* Optional: the identity of the stored object, worked out while it
     * passes (no second read).  Collections record it per data object
     * and check it on restore/verify (swaps).  See engine_digest. */
    engine_digest *digest;
    /* Optional: moved(moved_arg, n) for every block the source pushes
     * into the first link (forward: the bytes read; reverse: the stored
     * bytes fetched), on the source's thread as they pass: the live
     * progress of a collection command (feedback.c).  NULL: no cost. */
    void (*moved)(void *arg, size_t n);
    void *moved_arg;
} engine_job;

/* A failure: status, subject ("zstd", "header", ...) and message. */
typedef struct engine_error {
    char subject[80];
    sluice_error err;
} engine_error;

int engine_run(session *s, loader *l, const engine_job *job,
               engine_error *fail);

/* Reads only the header of the stream the source stage produces. */
int engine_read_header(session *s, loader *l, const stage_spec *source,
                       header **out, engine_error *fail);

/* Removes the object an endpoint stage names (its remove(), ABI 1.1):
 * 0, SLUICE_E_UNSUPPORTED when the stage has no remove(), or a status
 * with fail set. */
int engine_remove(session *s, loader *l, const stage_spec *target,
                  engine_error *fail);

/* Lists the objects under the prefix an endpoint stage names (its
 * list(), ABI 1.3), calling fn once per entry on this thread: 0, fn's
 * status when fn stopped it (fail untouched), SLUICE_E_UNSUPPORTED when
 * the stage cannot list (no list(), a plugin built for ABI 1.0-1.2), or
 * a status with fail set. */
int engine_list(session *s, loader *l, const stage_spec *target,
                sluice_list_fn fn, void *arg, engine_error *fail);

#endif
