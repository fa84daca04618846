/*
 * passphrase.h - where the user's passphrase comes from: --passphrase-file,
 * --passphrase-fd, $SLUICE_PASSPHRASE, or a prompt on the terminal without
 * echo (twice when encrypting).  Never argv.  Read once, kept in locked
 * memory while sluice runs, wiped at the end.
 */
#ifndef SLUICE_PASSPHRASE_H
#define SLUICE_PASSPHRASE_H

#include <pthread.h>
#include <stddef.h>

#include "sluice/plugin.h"

/* Longest passphrase, in bytes (doc/FORMAT.md 3.1).  Buffers hold one
 * more byte for the '\r' a line may end with, and a NUL. */
#define PASSPHRASE_MAX 1024
#define PASSPHRASE_BUF (PASSPHRASE_MAX + 2)

typedef struct passphrase_source {
    const char *file; /* --passphrase-file, or NULL                     */
    int fd;           /* --passphrase-fd, or -1                         */
    pthread_mutex_t lock;
    char *cached;     /* mlock()ed copy once read                       */
    char *env;        /* $SLUICE_PASSPHRASE, taken by passphrase_take_env */
    size_t len;
    int have;
} passphrase_source;

void passphrase_init(passphrase_source *ps);
int passphrase_get(passphrase_source *ps, unsigned flags, char *buf,
                   size_t cap, size_t *len, sluice_error *err);
/* Called once every passphrase and derived key is wiped: the process may
 * be dumped again (it was not while they were held). */
void passphrase_secrets_gone(void);
void passphrase_wipe(passphrase_source *ps);

/* At startup, before any thread: moves $SLUICE_PASSPHRASE into locked
 * memory, wipes it from the process's environment block (what
 * /proc/PID/environ shows) and unsets it, so no program sluice runs
 * inherits it.  Returns -1 when out of memory. */
int passphrase_take_env(passphrase_source *ps);

/* Whether a passphrase was supplied other than by a prompt. */
int passphrase_given(const passphrase_source *ps);

/* From a signal handler thread: restores the terminal if a prompt is in
 * progress.  Returns 1 if it was. */
int passphrase_abort_prompt(void);

#endif
