/*
 * minihost.h - a tiny in-process sluice host for fuzzing one stage plugin
 * without the engine: the sluice_api table over memory buffers.
 *
 * It is stricter than the real host (src/stream.c, src/host.c), so that a
 * plugin breaking the ABI contract (include/sluice/plugin.h) crashes the
 * fuzzer instead of being quietly tolerated:
 *   - every piece handed out by read_next() is a fresh heap copy of exactly
 *     that many bytes, freed on the next call: reading past it, or using
 *     it after the next call, is an ASan report;
 *   - every reservation is exactly *avail bytes (a random size in [min,
 *     SLUICE_RESERVE_MAX]) at the end of an arena whose rest is poisoned,
 *     so writing outside it, or into it after commit(), is an ASan
 *     report; it is filled with garbage, not zeros; reserve(min > SLUICE_RESERVE_MAX), commit() without
 *     a reservation or of more than was reserved abort with a message;
 *   - a second reserve() while a reservation is open returns the same
 *     buffer (the real host does the same when it still has room).
 * Input is cut into pieces whose sizes come from a seed, so the same
 * bytes are tried under many different splits.
 */
#ifndef SLUICE_FUZZ_MINIHOST_H
#define SLUICE_FUZZ_MINIHOST_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/plugin.h"

struct sluice_input {
    const uint8_t *data;
    size_t len, pos;
    uint64_t rng;
    size_t max_piece;  /* largest piece read_next() hands out         */
    uint8_t *piece;    /* the current piece (a heap copy)              */
    int status;        /* < 0: returned instead of data (cancelled)    */
};

struct sluice_output {
    uint64_t rng;
    uint8_t *arena;    /* SLUICE_RESERVE_MAX bytes, reused             */
    uint8_t *res;      /* the open reservation (the arena's tail)      */
    size_t res_avail;
    uint64_t total;    /* bytes committed                             */
    uint64_t limit;    /* past this, the chain is "aborted"           */
    int status;        /* SLUICE_E_CANCELED once limit is passed      */
    /* Committed bytes kept for the caller in keep[0..keep_max) (the
     * caller's buffer, or NULL); keep_over is set when more were
     * committed than fit. */
    uint8_t *keep;
    size_t keep_len, keep_max;
    int keep_over;
};

struct sluice_host {
    const char *stage_name;
    int incomplete;
    int cancelled;
    const char *passphrase; /* handed out by api->passphrase            */
    unsigned listings;
    _Atomic int64_t memory; /* api->charge: bytes charged (ABI 1.2)     */
};

/* seed picks the split sizes; max_piece 0 means SLUICE_RESERVE_MAX. */
void mh_input_init(sluice_input *in, const uint8_t *data, size_t len,
                   uint64_t seed, size_t max_piece);
void mh_input_free(sluice_input *in);

/* keep: the caller's buffer of keep_max bytes for the output, or NULL.
 * At most two outputs may be open at a time (they share two arenas, so
 * the fuzzer allocates nothing large per input: large allocations are
 * slow under ASan). */
void mh_output_init(sluice_output *out, uint64_t seed, uint64_t limit,
                    uint8_t *keep, size_t keep_max);
void mh_output_free(sluice_output *out);

void mh_host_init(sluice_host *h, const char *stage_name);

const sluice_api *mh_api(void);

/* Fills args for one stage; params/options are the caller's arrays. */
void mh_args(sluice_stage_args *args, int direction, unsigned role,
             const sluice_kv *params, size_t n_params,
             const sluice_kv *options, size_t n_options, sluice_host *h);

/* Checks what a stage returned: a known status, and with an error a
 * one-line, NUL-terminated message.  Aborts (a fuzzer finding) if not. */
void mh_check_result(const char *stage, int rc, const sluice_error *err);

/* Aborts with a message: a contract violation found by fuzzing. */
void mh_bug(const char *fmt, ...) SLUICE_PRINTF(1, 2)
    __attribute__((noreturn));

/* xorshift64*: the harness's deterministic randomness. */
uint64_t mh_rand(uint64_t *state);

#endif
