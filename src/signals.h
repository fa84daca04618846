/*
 * signals.h - INT, TERM and USR1 are blocked in every thread and taken by
 * one thread with sigwait(): on INT/TERM it aborts whatever chain runs,
 * so stages clean up (no half-written destination, no open upload) and
 * sluice then dies of the same signal.  SIGPIPE is ignored: a write to a
 * closed pipe fails with EPIPE, the stage reports SLUICE_E_PIPE, and
 * sluice re-raises SIGPIPE after cleaning up.
 */
#ifndef SLUICE_SIGNALS_H
#define SLUICE_SIGNALS_H

#include <pthread.h>
#include <signal.h>

#include "host.h"

typedef struct signal_watch {
    pthread_t thread;
    sigset_t set;
    session *sess;
} signal_watch;

/* Call before any other thread starts. */
int signals_start(signal_watch *sw, session *s);
void signals_stop(signal_watch *sw);
/* Dies of sig with its default action, as a filter killed by it would. */
void die_of_signal(int sig);

#endif
