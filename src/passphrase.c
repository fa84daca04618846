/* passphrase.c - obtaining the passphrase without argv. */
#include "passphrase.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

#include "util.h"

void passphrase_init(passphrase_source *ps)
{
    memset(ps, 0, sizeof *ps);
    ps->fd = -1;
    pthread_mutex_init(&ps->lock, NULL);
}

/* Reads the first line of fd: its bytes up to the first '\n' (or the end
 * of input), without the '\n', and without one '\r' just before it (a
 * file written on Windows).  Every other byte is kept as it is.  buf holds
 * PASSPHRASE_BUF bytes: room for PASSPHRASE_MAX bytes, that '\r' and a
 * NUL.  Reads one byte at a time so that nothing after the line is
 * consumed from a descriptor the caller shares. */
static int read_line_fd(int fd, char *buf, size_t *len, const char *what,
                        sluice_error *err)
{
    size_t n = 0;
    int too_long = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return sluice_error_set(err, SLUICE_E_IO,
                                    "cannot read passphrase from %s: %s",
                                    what, strerror(errno));
        if (r == 0 || c == '\n')
            break;
        if (n + 1 >= PASSPHRASE_BUF) {
            too_long = 1; /* stop reading: the line is refused anyway */
            break;
        }
        buf[n++] = c;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (too_long || n > PASSPHRASE_MAX)
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "passphrase from %s is longer than %d bytes",
                                what, PASSPHRASE_MAX);
    *len = n;
    return 0;
}

/* The terminal state to restore if a signal arrives mid-prompt. */
static struct {
    int fd;
    struct termios saved;
    volatile int active;
} prompt_state = {-1, {0}, 0};

int passphrase_abort_prompt(void)
{
    if (!prompt_state.active)
        return 0;
    tcsetattr(prompt_state.fd, TCSAFLUSH, &prompt_state.saved);
    (void)!write(prompt_state.fd, "\n", 1);
    return 1;
}

static int prompt_once(int tty, const char *prompt, char *buf, size_t *len,
                       sluice_error *err)
{
    struct termios saved, quiet;
    if (tcgetattr(tty, &saved) < 0)
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "cannot prompt for a passphrase: not a "
                                "terminal");
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    prompt_state.fd = tty;
    prompt_state.saved = saved;
    prompt_state.active = 1;
    /* Echo off (and what was typed ahead discarded) before the prompt
     * shows: a line typed once it is visible is never thrown away. */
    tcsetattr(tty, TCSAFLUSH, &quiet);
    (void)!write(tty, prompt, strlen(prompt));
    int rc = read_line_fd(tty, buf, len, "the terminal", err);
    tcsetattr(tty, TCSAFLUSH, &saved);
    prompt_state.active = 0;
    (void)!write(tty, "\n", 1);
    return rc;
}

static int prompt_tty(unsigned flags, char *buf, size_t *len,
                      sluice_error *err)
{
    int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (tty < 0)
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "no passphrase given: use --passphrase-file, "
                                "--passphrase-fd or SLUICE_PASSPHRASE (no "
                                "terminal to prompt on)");
    int rc = prompt_once(tty, "Passphrase: ", buf, len, err);
    if (rc == 0 && (flags & SLUICE_PASSPHRASE_CONFIRM)) {
        char again[PASSPHRASE_BUF];
        size_t again_len = 0;
        rc = prompt_once(tty, "Repeat passphrase: ", again, &again_len, err);
        if (rc == 0 && (again_len != *len || memcmp(again, buf, *len) != 0))
            rc = sluice_error_set(err, SLUICE_E_USAGE,
                                  "the passphrases do not match");
        secure_wipe(again, sizeof again);
    }
    close(tty);
    return rc;
}

/* Into buf (PASSPHRASE_BUF bytes): the passphrase from the first source
 * given.  doc/FORMAT.md 3.1 says which bytes each source hands over. */
static int fetch(passphrase_source *ps, unsigned flags, char *buf,
                 size_t *len, sluice_error *err)
{
    const char *env = ps->env ? ps->env : getenv("SLUICE_PASSPHRASE");
    if (ps->file) {
        int fd = open(ps->file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return sluice_error_set(err, SLUICE_E_USAGE,
                                    "cannot open passphrase file %s: %s",
                                    ps->file, strerror(errno));
        int rc = read_line_fd(fd, buf, len, ps->file, err);
        close(fd);
        return rc;
    }
    if (ps->fd >= 0)
        return read_line_fd(ps->fd, buf, len, "--passphrase-fd", err);
    if (env) {
        /* The value exactly as it is: no line ending to strip. */
        size_t n = strlen(env);
        if (n > PASSPHRASE_MAX)
            return sluice_error_set(err, SLUICE_E_USAGE,
                                    "SLUICE_PASSPHRASE is longer than %d "
                                    "bytes", PASSPHRASE_MAX);
        memcpy(buf, env, n + 1);
        *len = n;
        return 0;
    }
    return prompt_tty(flags, buf, len, err);
}

/* While a passphrase or a key derived from it is in memory, no core
 * file and no ptrace by other processes of the same user: the process
 * is not dumpable until passphrase_secrets_gone() (session cleanup,
 * every secret wiped). */
static void no_core_dump(void)
{
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

void passphrase_secrets_gone(void)
{
    /* Nothing secret is left to dump.  Dumpable again, so that what runs
     * at exit and needs it works (LeakSanitizer's tracer cannot attach
     * to a process that is not). */
    (void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

int passphrase_take_env(passphrase_source *ps)
{
    char *v = getenv("SLUICE_PASSPHRASE");
    if (!v)
        return 0;
    size_t n = strlen(v);
    ps->env = malloc(n + 1);
    if (!ps->env)
        return -1; /* left where it is: fetch() falls back to getenv */
    (void)mlock(ps->env, n + 1); /* best effort */
    no_core_dump();
    memcpy(ps->env, v, n + 1);
    /* The string lives in the environment block the kernel shows as
     * /proc/PID/environ: wipe it there, then drop the variable. */
    secure_wipe(v, n);
    unsetenv("SLUICE_PASSPHRASE");
    return 0;
}

int passphrase_given(const passphrase_source *ps)
{
    return ps->file || ps->fd >= 0 || ps->env || getenv("SLUICE_PASSPHRASE");
}

int passphrase_get(passphrase_source *ps, unsigned flags, char *buf,
                   size_t cap, size_t *len, sluice_error *err)
{
    int rc = 0;
    pthread_mutex_lock(&ps->lock);
    if (!ps->have) {
        char tmp[PASSPHRASE_BUF];
        size_t n = 0;
        rc = fetch(ps, flags, tmp, &n, err);
        if (rc == 0 && n == 0)
            rc = sluice_error_set(err, SLUICE_E_USAGE,
                                  "the passphrase is empty");
        if (rc == 0) {
            ps->cached = malloc(PASSPHRASE_BUF);
            if (!ps->cached) {
                rc = sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
            } else {
                (void)mlock(ps->cached, PASSPHRASE_BUF); /* best effort */
                no_core_dump();
                memcpy(ps->cached, tmp, n);
                ps->len = n;
                ps->have = 1;
            }
        }
        secure_wipe(tmp, sizeof tmp);
    }
    if (rc == 0) {
        if (ps->len + 1 > cap) {
            rc = sluice_error_set(err, SLUICE_E_USAGE,
                                  "the passphrase is too long (%zu bytes)",
                                  ps->len);
        } else {
            memcpy(buf, ps->cached, ps->len);
            buf[ps->len] = '\0';
            *len = ps->len;
        }
    }
    pthread_mutex_unlock(&ps->lock);
    return rc;
}

void passphrase_wipe(passphrase_source *ps)
{
    pthread_mutex_lock(&ps->lock);
    if (ps->cached) {
        secure_wipe(ps->cached, PASSPHRASE_BUF);
        munlock(ps->cached, PASSPHRASE_BUF);
        free(ps->cached);
    }
    if (ps->env) {
        size_t n = strlen(ps->env);
        secure_wipe(ps->env, n);
        munlock(ps->env, n + 1);
        free(ps->env);
        ps->env = NULL;
    }
    ps->cached = NULL;
    ps->have = 0;
    ps->len = 0;
    pthread_mutex_unlock(&ps->lock);
}
