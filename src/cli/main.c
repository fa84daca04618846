/*
 * main.c - sluice: parse the command line (cli.h), start what every
 * command shares (session, loader, signal watcher), run the command, and
 * turn the outcome into a documented exit status.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "progress.h"
#include "signals.h"
#include "status.h"
#include "util.h"

static void session_from_cli(session *s, const cli *c)
{
    s->verbosity = c->quiet ? -1 : c->verbose;
    s->passphrase.file = c->passphrase_file;
    s->passphrase.fd = c->passphrase_fd;
    /* -v in filter mode: the byte counts at the end. */
    int v = c->verbose && !c->cmd->name &&
            (c->mode == MODE_FILTER_FORWARD || c->mode == MODE_FILTER_REVERSE);
    int asked = c->progress || v ? PROGRESS_ASKED : 0;
    if (c->quiet || !(c->cmd->groups & G_PROGRESS))
        s->progress_mode = PROGRESS_OFF;
    else if (isatty(STDERR_FILENO))
        s->progress_mode = PROGRESS_TTY | asked;
    else if (c->progress)
        s->progress_mode = PROGRESS_LINES | asked;
    else if (v)
        s->progress_mode = PROGRESS_SUMMARY | asked;
}

int main(int argc, char **argv)
{
    cli c;
    if (cli_parse(&c, argc, argv) < 0)
        return EXIT_USAGE;
    if (c.help) {
        cli_usage();
        return EXIT_OK;
    }
    if (c.version) {
        printf("sluice %s (plugin ABI %d.%d)\n", PACKAGE_VERSION,
               SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR);
        return EXIT_OK;
    }
    session s;
    session_init(&s);
    session_from_cli(&s, &c);
    sluice_error budget_err = {0};
    if (session_set_budget(&s, c.max_memory, c.max_kdf_iter,
                           &budget_err) < 0) {
        host_report("usage", budget_err.message);
        session_cleanup(&s);
        return EXIT_USAGE;
    }
    /* Before the first thread: the restore's directories and the walk
     * keep thousands of descriptors (util.h says why). */
    fdtable_presize(16384);
    loader *l = loader_new();
    signal_watch sw;
    if (!l || signals_start(&sw, &s) < 0) {
        fputs("sluice: startup: cannot start: out of memory or threads\n",
              stderr);
        loader_free(l);
        return EXIT_INTERNAL;
    }
    int ex = c.cmd->run(&c, &s, l);
    if (ex == EXIT_OK && atomic_load(&s.incomplete)) {
        if (!c.cmd->signal_wins)
            host_report("warning", "finished, but incomplete: some entries "
                                   "were skipped (see messages above)");
        ex = EXIT_INCOMPLETE;
    }
    int sig = atomic_load(&s.signal_number);
    signals_stop(&sw);
    session_cleanup(&s);
    loader_free(l);
    fflush(stdout);
    /* Interrupted: die of the signal, as a filter would.  But a signal
     * that came after the sink made its output visible came too late to
     * stop anything (engine_run then returns 0): a status of 128+N always
     * means the target was left untouched.  Collection commands stop
     * between objects: one they stopped early (incomplete) dies of the
     * signal too; one the signal found finished exits 0. */
    if (sig && ex != EXIT_OK && (c.cmd->signal_wins || ex != EXIT_INCOMPLETE))
        die_of_signal(sig);
    return ex;
}
