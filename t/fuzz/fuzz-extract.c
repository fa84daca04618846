/*
 * fuzz-extract.c - libFuzzer target for the archive stage as a restore
 * SINK (sluice -x): plugins/archive*.c compiled in, driven through the
 * minimal host (minihost.c), extracting arbitrary archive bytes (any
 * format and filter libarchive reads) into a scratch directory.
 *
 * The claim under test (plugins/archive-extract.c, doc/SECURITY.md):
 * nothing is ever written outside the -C directory, and nothing is
 * written *into* a device or FIFO.  It is checked twice:
 *
 *  - before the fact: every call the stage makes that can change the file
 *    system is wrapped (ld --wrap, see fuzz.mk): openat for writing or
 *    creating, mkdirat, mknodat, mkfifoat, symlinkat, linkat, renameat,
 *    unlinkat, fchownat, fchmodat, utimensat, fchown, fchmod, futimens,
 *    fsetxattr, pwrite, ftruncate, ioctl.  Each resolves where it would
 *    act (the directory descriptor's path, and a final symlink when the
 *    call follows one) and aborts - before doing anything - if that is
 *    outside the target, or if data would go into something that is not
 *    a regular file.  So a bug is reported, not exploited on this machine
 *    (this matters: the fuzzer may run as root);
 *  - after the fact: the sandbox around the target (a canary directory and
 *    file next to it) must be unchanged, and no ".sluice-*.tmp" temporary
 *    may be left anywhere in the target, whatever the outcome.
 *
 * The wrappers strip FS_IMMUTABLE_FL/FS_APPEND_FL from FS_IOC_SETFLAGS so
 * that the target can be emptied between inputs.
 *
 * Also: an error message never carries libarchive's "INTERNAL ERROR" (an
 * API misuse by the stage, e.g. after ARCHIVE_RETRY).
 *
 * $FUZZ_SANDBOX: where to make the sandbox (default: $TMPDIR or /tmp).
 * No finding of this target is known (t/fuzz/known): the two there were
 * (a hard link's data written into a FIFO or device; "INTERNAL ERROR"
 * after ARCHIVE_RETRY) are fixed, their inputs now seeds in
 * t/fuzz/corpus/extract/.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "minihost.h"

const sluice_plugin *sluice_plugin_entry(void);

static char sandbox[PATH_MAX], target[PATH_MAX], canary[PATH_MAX];
static size_t target_len;
static int guard_on;
static struct stat canary_st, outside_st;

/* ---- where would a call act? ------------------------------------------------ */

static int fd_path(int fd, char *buf, size_t cap)
{
    if (fd == AT_FDCWD)
        return getcwd(buf, cap) ? 0 : -1;
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, buf, cap - 1);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    /* An unlinked file: still where it was. */
    char *del = strstr(buf, " (deleted)");
    if (del && del[10] == '\0')
        *del = '\0';
    return 0;
}

static int inside(const char *path)
{
    return strncmp(path, target, target_len) == 0 &&
           (path[target_len] == '\0' || path[target_len] == '/');
}

__attribute__((noreturn)) static void escape(const char *what,
                                             const char *where)
{
    fprintf(stderr,
            "\n*** fuzz-extract: %s would act outside the target directory "
            "(or on a device/FIFO): %s\n    target: %s\n",
            what, where, target);
    abort();
}

/* The directory a (dirfd, name) pair lands in, symlinks in the middle
 * resolved as the kernel would; checks it, and the name's last part. */
static void check_at(const char *what, int dirfd, const char *name,
                     int follow_final)
{
    if (!guard_on)
        return;
    char dir[PATH_MAX], full[2 * PATH_MAX + 2];
    if (name[0] == '/') {
        snprintf(full, sizeof full, "%s", name);
    } else {
        if (fd_path(dirfd, dir, sizeof dir) < 0)
            escape(what, "(unresolvable directory descriptor)");
        snprintf(full, sizeof full, "%s/%s", dir, name);
    }
    /* Split off the last component. */
    char parent[sizeof full];
    snprintf(parent, sizeof parent, "%s", full);
    char *slash = strrchr(parent, '/');
    const char *base = slash + 1;
    if (slash == parent)
        parent[1] = '\0';
    else
        *slash = '\0';
    char real_parent[PATH_MAX];
    if (!realpath(parent, real_parent))
        return; /* the call itself will fail (ENOENT...) */
    if (!inside(real_parent))
        escape(what, full);
    if (!strcmp(base, "..") && !strcmp(real_parent, target))
        escape(what, full);
    if (follow_final) {
        struct stat st;
        if (lstat(full, &st) == 0 && S_ISLNK(st.st_mode)) {
            char real[PATH_MAX];
            if (!realpath(full, real) || !inside(real)) {
                char msg[sizeof full + 48];
                snprintf(msg, sizeof msg, "%s (a symbolic link, followed)",
                         full);
                escape(what, msg);
            }
        }
    }
}

/* A descriptor the stage is about to change or write into. */
static void check_fd(const char *what, int fd, int data)
{
    if (!guard_on)
        return;
    char p[PATH_MAX];
    if (fd_path(fd, p, sizeof p) < 0)
        escape(what, "(unresolvable descriptor)");
    if (!inside(p))
        escape(what, p);
    struct stat st;
    if (data && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode))
        escape(what, "(data written into something not a regular file)");
}

/* ---- the wrappers (linked with -Wl,--wrap=NAME) ------------------------------ */

#define REAL(ret, name, ...)                                              \
    ret __real_##name(__VA_ARGS__);                                       \
    ret __wrap_##name(__VA_ARGS__)

REAL(int, openat, int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    int acc = flags & O_ACCMODE;
    if (acc == O_WRONLY || acc == O_RDWR || (flags & (O_CREAT | O_TRUNC))) {
        check_at("openat for writing", dirfd, path, !(flags & O_NOFOLLOW));
        /* O_CREAT|O_EXCL never opens what is there (it fails with
         * EEXIST), whatever it is: only other opens are checked. */
        int excl = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
        struct stat st;
        if (guard_on && !excl &&
            fstatat(dirfd, path, &st,
                    (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0) == 0 &&
            !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode) &&
            !S_ISDIR(st.st_mode))
            escape("openat for writing of a device, FIFO or socket", path);
    }
    return __real_openat(dirfd, path, flags, mode);
}

REAL(int, mkdirat, int dirfd, const char *path, mode_t mode)
{
    check_at("mkdirat", dirfd, path, 0);
    return __real_mkdirat(dirfd, path, mode);
}

REAL(int, unlinkat, int dirfd, const char *path, int flags)
{
    check_at("unlinkat", dirfd, path, 0);
    return __real_unlinkat(dirfd, path, flags);
}

REAL(int, renameat, int od, const char *op, int nd, const char *np)
{
    check_at("renameat (from)", od, op, 0);
    check_at("renameat (to)", nd, np, 0);
    return __real_renameat(od, op, nd, np);
}

REAL(int, linkat, int od, const char *op, int nd, const char *np, int flags)
{
    /* Linking to a file outside would let later writes reach it. */
    check_at("linkat (target)", od, op, (flags & AT_SYMLINK_FOLLOW) != 0);
    check_at("linkat (new name)", nd, np, 0);
    return __real_linkat(od, op, nd, np, flags);
}

REAL(int, symlinkat, const char *t, int nd, const char *np)
{
    check_at("symlinkat", nd, np, 0);
    return __real_symlinkat(t, nd, np);
}

REAL(int, mkfifoat, int dirfd, const char *path, mode_t mode)
{
    check_at("mkfifoat", dirfd, path, 0);
    return __real_mkfifoat(dirfd, path, mode);
}

REAL(int, mknodat, int dirfd, const char *path, mode_t mode, dev_t dev)
{
    check_at("mknodat", dirfd, path, 0);
    return __real_mknodat(dirfd, path, mode, dev);
}

REAL(int, fchownat, int dirfd, const char *path, uid_t u, gid_t g, int flags)
{
    check_at("fchownat", dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW));
    return __real_fchownat(dirfd, path, u, g, flags);
}

REAL(int, fchmodat, int dirfd, const char *path, mode_t mode, int flags)
{
    check_at("fchmodat", dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW));
    return __real_fchmodat(dirfd, path, mode, flags);
}

REAL(int, utimensat, int dirfd, const char *path, const struct timespec t[2],
     int flags)
{
    if (path)
        check_at("utimensat", dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW));
    else
        check_fd("utimensat", dirfd, 0);
    return __real_utimensat(dirfd, path, t, flags);
}

REAL(int, fchown, int fd, uid_t u, gid_t g)
{
    check_fd("fchown", fd, 0);
    return __real_fchown(fd, u, g);
}

REAL(int, fchmod, int fd, mode_t mode)
{
    check_fd("fchmod", fd, 0);
    return __real_fchmod(fd, mode);
}

REAL(int, futimens, int fd, const struct timespec t[2])
{
    check_fd("futimens", fd, 0);
    return __real_futimens(fd, t);
}

REAL(int, fsetxattr, int fd, const char *name, const void *v, size_t n,
     int flags)
{
    check_fd("fsetxattr", fd, 0);
    return __real_fsetxattr(fd, name, v, n, flags);
}

REAL(ssize_t, pwrite, int fd, const void *buf, size_t n, off_t off)
{
    check_fd("pwrite", fd, 1);
    return __real_pwrite(fd, buf, n, off);
}

REAL(int, ftruncate, int fd, off_t len)
{
    check_fd("ftruncate", fd, 1);
    return __real_ftruncate(fd, len);
}

REAL(int, ioctl, int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (req == FS_IOC_SETFLAGS) {
        check_fd("ioctl(FS_IOC_SETFLAGS)", fd, 0);
        int f = *(int *)arg & ~(FS_IMMUTABLE_FL | FS_APPEND_FL);
        return __real_ioctl(fd, req, &f);
    }
    return __real_ioctl(fd, req, arg);
}

/* ---- the sandbox ---------------------------------------------------------------- */

/* Empties directory fd (not following symlinks); returns entries seen. */
static void empty_dir(int fd)
{
    DIR *d = fdopendir(dup(fd));
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            fchmodat(fd, e->d_name, 0700, 0);
            int sub = openat(fd, e->d_name,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                int fl = 0;
                ioctl(sub, FS_IOC_SETFLAGS, &fl);
                empty_dir(sub);
                close(sub);
            }
            unlinkat(fd, e->d_name, AT_REMOVEDIR);
        } else {
            if (S_ISREG(st.st_mode)) {
                int f = openat(fd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (f >= 0) {
                    int fl = 0;
                    ioctl(f, FS_IOC_SETFLAGS, &fl);
                    close(f);
                }
            }
            unlinkat(fd, e->d_name, 0);
        }
    }
    closedir(d);
}

/* Fails if a temporary file of the stage is left anywhere below fd. */
static void find_temps(int fd, const char *rel)
{
    DIR *d = fdopendir(dup(fd));
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        size_t n = strlen(e->d_name);
        if (!strncmp(e->d_name, ".sluice-", 8) && n > 4 &&
            !strcmp(e->d_name + n - 4, ".tmp")) {
            fprintf(stderr,
                    "\n*** fuzz-extract: temporary file left behind: %s/%s\n",
                    rel, e->d_name);
            abort();
        }
        struct stat st;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISDIR(st.st_mode)) {
            int sub = openat(fd, e->d_name,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                char r[PATH_MAX];
                snprintf(r, sizeof r, "%s/%s", rel, e->d_name);
                find_temps(sub, r);
                close(sub);
            }
        }
    }
    closedir(d);
}

static void check_sandbox(void)
{
    struct stat st;
    if (stat(canary, &st) < 0 || st.st_size != canary_st.st_size ||
        st.st_mtim.tv_sec != canary_st.st_mtim.tv_sec ||
        st.st_mtim.tv_nsec != canary_st.st_mtim.tv_nsec ||
        st.st_ino != canary_st.st_ino || st.st_mode != canary_st.st_mode ||
        st.st_uid != canary_st.st_uid || st.st_nlink != canary_st.st_nlink) {
        fprintf(stderr, "\n*** fuzz-extract: the canary file next to the "
                        "target changed: %s\n", canary);
        abort();
    }
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/outside", sandbox);
    if (stat(p, &st) < 0 || st.st_mtim.tv_sec != outside_st.st_mtim.tv_sec ||
        st.st_mtim.tv_nsec != outside_st.st_mtim.tv_nsec ||
        st.st_mode != outside_st.st_mode) {
        fprintf(stderr, "\n*** fuzz-extract: the directory next to the "
                        "target changed: %s\n", p);
        abort();
    }
    DIR *d = opendir(sandbox);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            strcmp(e->d_name, "outside") && strcmp(e->d_name, "t")) {
            fprintf(stderr, "\n*** fuzz-extract: something was created next "
                            "to the target: %s/%s\n", sandbox, e->d_name);
            abort();
        }
    }
    if (d)
        closedir(d);
}

static void remove_sandbox(void)
{
    int fd = open(sandbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        empty_dir(fd);
        close(fd);
    }
    rmdir(sandbox);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *base = getenv("FUZZ_SANDBOX");
    if (!base)
        base = getenv("TMPDIR");
    if (!base)
        base = "/tmp";
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof tmpl, "%s/sluice-fuzz-extract.XXXXXX", base);
    if (!mkdtemp(tmpl) || !realpath(tmpl, sandbox)) {
        perror("fuzz-extract: sandbox");
        exit(1);
    }
    snprintf(target, sizeof target, "%s/t", sandbox);
    target_len = strlen(target);
    char outside[PATH_MAX + 16];
    snprintf(outside, sizeof outside, "%s/outside", sandbox);
    snprintf(canary, sizeof canary, "%s/outside/secret", sandbox);
    if (mkdir(target, 0700) < 0 || mkdir(outside, 0755) < 0) {
        perror("fuzz-extract: sandbox");
        exit(1);
    }
    FILE *f = fopen(canary, "w");
    if (!f || fputs("secret\n", f) < 0 || fclose(f) != 0) {
        perror("fuzz-extract: canary");
        exit(1);
    }
    if (stat(canary, &canary_st) < 0 || stat(outside, &outside_st) < 0)
        exit(1);
    atexit(remove_sandbox);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int tfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tfd < 0) {
        fprintf(stderr, "\n*** fuzz-extract: the target directory is gone\n");
        abort();
    }
    empty_dir(tfd);

    const sluice_plugin *pl = sluice_plugin_entry();
    const sluice_stage *st = &pl->stages[0];
    sluice_kv options[2] = {{"directory", target}, {"verbose", "1"}};
    sluice_host host;
    mh_host_init(&host, "archive");
    sluice_stage_args args;
    mh_args(&args, SLUICE_REVERSE, SLUICE_ROLE_SINK, NULL, 0, options, 2,
            &host);
    void *ctx = NULL;
    sluice_error err = {0};
    int rc = st->open(&args, &ctx, &err);
    if (rc < 0)
        mh_bug("archive open failed: %s", err.message);
    sluice_input in;
    uint64_t seed = size ? data[size / 2] * 131u + size : 1;
    mh_input_init(&in, data, size, seed, 0);
    memset(&err, 0, sizeof err);
    guard_on = 1;
    rc = st->run(ctx, &in, NULL, &err);
    guard_on = 0;
    mh_check_result("archive run", rc, &err);
    /* (Unless the input itself spells it, in a member name: libFuzzer
     * learns strstr's needle and writes it into names.) */
    if (rc < 0 && strstr(err.message, "INTERNAL ERROR") &&
        !memmem(data, size, "INTERNAL ERROR", 14))
        mh_bug("libarchive API misuse reached the message: %s", err.message);
    if (rc == SLUICE_E_CANCELED)
        mh_bug("archive returned CANCELED but nothing cancelled it");
    st->close(ctx);
    mh_input_free(&in);

    find_temps(tfd, target);
    check_sandbox();
    close(tfd);
    return 0;
}
