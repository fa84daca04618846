/*
 * host.h - what the host offers a stage: the sluice_api table, one
 * sluice_host per stage instance, and the session they share (settings
 * from the command line, the passphrase, the abort flag).
 */
#ifndef SLUICE_HOST_H
#define SLUICE_HOST_H

#include <stdatomic.h>
#include <stdio.h>

#include "blockpool.h"
#include "header.h"
#include "passphrase.h"
#include "secretcache.h"
#include "sluice/plugin.h"

/* The budget one engine run's stages share (api->charge), unless the
 * command line says otherwise (--max-memory, --max-kdf-iter).  1 GiB
 * holds any chain sluice writes itself many times over; 2e7 iterations
 * are twice the most one aes-256-gcm line may ask for (a few seconds of
 * CPU), so one honest line always fits and 32 hostile ones do not. */
#define BUDGET_MEMORY_DEFAULT ((uint64_t)1 << 30)
#define BUDGET_KDF_ITER_DEFAULT 20000000u

/* The blocks of every link (block.h): 256 KiB.  Larger blocks buy
 * nothing measurable (a hand-over costs well under a microsecond) but
 * make peak memory depend on whether a short stream fills the queues. */
#define ENGINE_BLOCK_SIZE (256u * 1024u)

typedef struct session {
    int verbosity;            /* -1 quiet, 0 normal, 1 -v, 2 -vv        */
    int progress_mode;        /* enum progress_mode                      */
    int stdout_is_data;       /* an endpoint writes the stream to stdout */
    passphrase_source passphrase;
    atomic_int incomplete;    /* a stage called mark_incomplete          */
    atomic_int cancelled;     /* the chain is being aborted              */
    atomic_int signal_number; /* SIGINT/SIGTERM received, or 0           */
    /* Called (under abort_lock) by session_abort: the engine run in
     * progress registers itself here to wake its threads. */
    pthread_mutex_t abort_lock;
    void (*on_abort)(void *arg, int status);
    void *abort_arg;
    secretcache *secrets;     /* api->secret_get/put; NULL: none     */
    blockpool *blocks;        /* the runs' block buffers; NULL: malloc */
    uint64_t budget_memory;   /* bytes per engine run; 0 = default    */
    uint64_t budget_kdf_iter; /* KDF iterations per run; 0 = default  */
} session;

/* What the stages of one engine run have charged (api->charge).  Each
 * run has its own, so runs of one session may go on at the same time. */
typedef struct run_budget {
    _Atomic int64_t memory;
    _Atomic int64_t kdf_iter;
} run_budget;

struct sluice_host {
    session *sess;
    const char *stage_name;
    int direction;             /* SLUICE_FORWARD or SLUICE_REVERSE     */
    run_budget *budget;        /* the run's; NULL: nothing can be charged */
    header_stage *record_into; /* forward open() only                  */
    int record_error;          /* a record() call was refused          */
    _Atomic uint64_t total;    /* progress_total(), read by progress.c */
};

void session_init(session *s);
void session_cleanup(session *s);

/* Aborts whatever runs now: sets the cancelled flag, wakes every stage. */
void session_abort(session *s, int status);

/* Sets the budget from --max-memory SIZE (bytes, or with a K, M, G or
 * T suffix: powers of 1024) and --max-kdf-iter N; either may be NULL
 * (the default).  0, or SLUICE_E_USAGE with err naming the option. */
int session_set_budget(session *s, const char *memory, const char *kdf_iter,
                       sluice_error *err);

/* An empty account, for the start of an engine run. */
void run_budget_init(run_budget *b);

void host_init(sluice_host *h, session *s, const char *stage_name);

/* The one API table handed to every stage. */
const sluice_api *host_api(void);

/* Prints "sluice: <subject>: <message>" on stderr: one line, whatever
 * the message holds (control characters become spaces). */
void host_report(const char *subject, const char *message);
/* Prints "sluice: <text>" on stderr, made one line in the same way. */
void host_print_line(const char *text);

/* Prints one line of a listing on f, control characters (C0, DEL, C1)
 * as octal escapes: names from an archive or the storage cannot drive
 * the terminal or break the one-line-per-entry rule. */
void host_print_listing(FILE *f, const char *line);

#endif
