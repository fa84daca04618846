/* signals.c - SIGINT/SIGTERM abort the chain cleanly; see signals.h. */
#include "signals.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "passphrase.h"

/* ---- signals ------------------------------------------------------------
 * INT, TERM and USR1 are blocked in every thread and taken by one
 * thread with sigwait(): on INT/TERM it aborts the chain, so stages clean
 * up (no half-written destination) and sluice then dies of the same
 * signal.  USR1 only ends the signal thread at exit.  SIGPIPE is ignored:
 * a write to a closed pipe fails with EPIPE, the stage reports
 * SLUICE_E_PIPE, and sluice re-raises SIGPIPE after cleaning up. */

static void *signal_thread(void *arg)
{
    signal_watch *sw = arg;
    for (;;) {
        int sig;
        if (sigwait(&sw->set, &sig) != 0 || sig == SIGUSR1)
            return NULL;
        if (passphrase_abort_prompt()) {
            /* Nothing was started yet: leave at once, like a shell. */
            signal(sig, SIG_DFL);
            raise(sig);
            _exit(128 + sig);
        }
        atomic_store(&sw->sess->signal_number, sig);
        session_abort(sw->sess, SLUICE_E_CANCELED);
    }
}

int signals_start(signal_watch *sw, session *s)
{
    sw->sess = s;
    sigemptyset(&sw->set);
    sigaddset(&sw->set, SIGINT);
    sigaddset(&sw->set, SIGTERM);
    sigaddset(&sw->set, SIGUSR1);
    signal(SIGPIPE, SIG_IGN);
    if (pthread_sigmask(SIG_BLOCK, &sw->set, NULL) != 0)
        return -1;
    return pthread_create(&sw->thread, NULL, signal_thread, sw) == 0 ? 0 : -1;
}

void signals_stop(signal_watch *sw)
{
    pthread_kill(sw->thread, SIGUSR1);
    pthread_join(sw->thread, NULL);
}

/* Dies of sig with its default action, as a filter killed by it would. */
void die_of_signal(int sig)
{
    sigset_t set;
    fflush(stdout);
    signal(sig, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig);
}

