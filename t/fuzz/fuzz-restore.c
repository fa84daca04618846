/*
 * fuzz-restore.c - libFuzzer target for the whole restore chain: the
 * input is a complete stream (sluice/1 header + body) as `sluice -d`
 * reads it.  Linked with the core sources (all of src/ but main.c and
 * cli.c); runs engine_run() exactly as main.c does for `sluice -d -o
 * /dev/null FILE`: source = the file stage reading the input (through a
 * memfd), the transforms the header names, sink = the file stage writing
 * /dev/null.  The stages are the real plugins, loaded by the real loader
 * from $SLUICE_PLUGIN_PATH - by default the instrumented copies `make
 * fuzz` builds in t/fuzz/plugins/ next to this binary, so the fuzzer sees
 * their coverage too.  $SLUICE_PASSPHRASE defaults to "fuzz" (the seed
 * corpus's encrypted streams use it, with iter=10000 so that each key
 * derivation costs milliseconds, not tens of them).
 *
 * Checked beyond no crash/leak/UB/hang: the run ends with 0 or a known
 * negative status, never SLUICE_E_INTERNAL; on failure with a subject and
 * a one-line message that does not carry libarchive's "INTERNAL ERROR"
 * (an API misuse by the archive stage, as after ARCHIVE_RETRY once was).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine.h"
#include "host.h"
#include "loader.h"

#define BUG(...)                                                          \
    do {                                                                  \
        fprintf(stderr, "\n*** fuzz-restore: " __VA_ARGS__);              \
        fputc('\n', stderr);                                              \
        abort();                                                          \
    } while (0)

static loader *L;
static int memfd = -1;
static char src_path[64];
static char passphrase[1024] = "fuzz"; /* $SLUICE_PASSPHRASE, else this */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!getenv("SLUICE_PLUGIN_PATH")) {
        char exe[PATH_MAX], dir[PATH_MAX + 16];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = '\0';
            snprintf(dir, sizeof dir, "%s/plugins", dirname(exe));
            setenv("SLUICE_PLUGIN_PATH", dir, 1);
        }
    }
    if (getenv("SLUICE_PASSPHRASE"))
        snprintf(passphrase, sizeof passphrase, "%s",
                 getenv("SLUICE_PASSPHRASE"));
    /* No plugin from the user's own directory. */
    setenv("HOME", "/nonexistent", 1);
    L = loader_new();
    if (!L)
        BUG("no loader");
    /* Load every plugin now, before fuzzing starts, so their coverage
     * counters are registered from the first input on. */
    static const char *const names[] = {"file", "zstd", "aes-256-gcm",
                                        "archive"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const loaded_stage *ls;
        sluice_error err = {0};
        if (loader_find(L, names[i], &ls, &err) < 0) {
            fprintf(stderr, "fuzz-restore: %s (SLUICE_PLUGIN_PATH=%s)\n",
                    err.message, getenv("SLUICE_PLUGIN_PATH"));
            if (i < 2)
                exit(1);
        }
    }
    memfd = memfd_create("fuzz-restore", MFD_CLOEXEC);
    if (memfd < 0)
        BUG("memfd_create failed");
    snprintf(src_path, sizeof src_path, "/proc/self/fd/%d", memfd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ftruncate(memfd, 0) < 0 ||
        (size && pwrite(memfd, data, size, 0) != (ssize_t)size))
        BUG("cannot write the input to the memfd");

    /* session_init takes the passphrase out of the environment (as
     * sluice does at startup): put it back for every input. */
    setenv("SLUICE_PASSPHRASE", passphrase, 1);
    session s;
    session_init(&s);
    s.verbosity = -1; /* as -q: warnings would only be noise here */
    s.progress_mode = 0;
    sluice_kv src_opt[1] = {{"path", src_path}};
    sluice_kv sink_opt[1] = {{"path", "/dev/null"}};
    sluice_kv tr_opt[1] = {{"threads", "1"}};
    engine_job job;
    memset(&job, 0, sizeof job);
    job.direction = SLUICE_REVERSE;
    job.source.name = "file";
    job.source.options = src_opt;
    job.source.n_options = 1;
    job.sink.name = "file";
    job.sink.options = sink_opt;
    job.sink.n_options = 1;
    job.transform_options = tr_opt;
    job.n_transform_options = 1;
    engine_error fail;
    int rc = engine_run(&s, L, &job, &fail);
    if (rc > 0)
        BUG("engine_run returned %d", rc);
    if (rc == SLUICE_E_INTERNAL)
        BUG("internal error: %s: %s", fail.subject, fail.err.message);
    if (rc < 0) {
        if (!fail.subject[0] || !fail.err.message[0])
            BUG("failure %d without subject or message", rc);
        if (strchr(fail.err.message, '\n') || strchr(fail.subject, '\n'))
            BUG("failure message spans lines: %s", fail.err.message);
        /* (Unless the input itself spells it, in a member name:
         * libFuzzer learns strstr's needle and writes it into names.) */
        if (strstr(fail.err.message, "INTERNAL ERROR") &&
            !memmem(data, size, "INTERNAL ERROR", 14))
            BUG("libarchive API misuse reached the message: %s",
                fail.err.message);
    }
    session_cleanup(&s);
    pthread_mutex_destroy(&s.abort_lock);
    pthread_mutex_destroy(&s.passphrase.lock);
    return 0;
}
