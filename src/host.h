/*
 * host.h - what the host offers a stage: the sluice_api table, one
 * sluice_host per stage instance, and the session they share (settings
 * from the command line, the passphrase, the abort flag).
 */
#ifndef SLUICE_HOST_H
#define SLUICE_HOST_H

#include <stdatomic.h>
#include <stdio.h>

#include "header.h"
#include "passphrase.h"
#include "sluice/plugin.h"

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
} session;

struct sluice_host {
    session *sess;
    const char *stage_name;
    header_stage *record_into; /* forward open() only                  */
    int record_error;          /* a record() call was refused          */
    _Atomic uint64_t total;    /* progress_total(), read by progress.c */
};

void session_init(session *s);
void session_cleanup(session *s);

/* Aborts whatever runs now: sets the cancelled flag, wakes every stage. */
void session_abort(session *s, int status);

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
