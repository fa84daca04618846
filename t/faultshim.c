/*
 * faultshim.c - an LD_PRELOAD shim for t/faults.t: injects I/O faults into
 * the sluice process, controlled by environment variables.  Built by `make
 * check` only (t/.libs/faultshim.so), never installed.
 *
 *   LD_PRELOAD=t/.libs/faultshim.so FAULT_WRITE_PATH='*.sluice-*' \
 *       FAULT_WRITE_AFTER=100000 FAULT_WRITE_ERRNO=ENOSPC sluice -z -o x big
 *
 * Writes (write, pwrite, pwrite64, writev) to a descriptor whose path
 * (readlink of /proc/self/fd/N) matches FAULT_WRITE_PATH (an fnmatch(3)
 * pattern, '*' also matching '/'):
 *   FAULT_WRITE_AFTER=N     once N bytes in total went to matching paths,
 *                           further writes fail with FAULT_WRITE_ERRNO
 *                           (ENOSPC, EIO, EDQUOT, EFBIG, EPIPE or a
 *                           number; default ENOSPC); the write that
 *                           crosses N is cut short at N, as a disk
 *                           filling up would do
 *   FAULT_WRITE_SHORT=K     every write moves at most K bytes
 *   FAULT_WRITE_EINTR=K     every K-th write fails with EINTR, moving
 *                           nothing
 *   FAULT_FSYNC_ERRNO=E     fsync/fdatasync on a matching path fail with E
 *                           (a write-back error reported late, as ext4
 *                           does)
 * Reads (read, pread, pread64, readv) from a descriptor whose path matches
 * FAULT_READ_PATH ("pipe:*" for a pipe on stdin, a file's path...):
 *   FAULT_READ_SHORT=K      every read returns at most K bytes (at least 1)
 *   FAULT_READ_EINTR=K      every K-th read fails with EINTR
 *   FAULT_READ_AFTER=N      and FAULT_READ_ERRNO=E (default EIO): reads
 *                           fail once N bytes were read
 * FAULT_LOG=FILE            appends one line per kind of fault the first
 *                           time it is injected, so a test can check that
 *                           its fault really happened.
 *
 * Without FAULT_* variables the shim changes nothing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*readv_fn)(int, const struct iovec *, int);
typedef int (*fsync_fn)(int);

static struct {
    write_fn write;
    pwrite_fn pwrite, pwrite64;
    writev_fn writev;
    read_fn read;
    pread_fn pread, pread64;
    readv_fn readv;
    fsync_fn fsync, fdatasync;
} real;

static struct {
    const char *write_path, *read_path, *log;
    long long write_after, read_after;
    long write_short, write_eintr, read_short, read_eintr;
    int write_errno, read_errno, fsync_errno;
} cfg = {NULL, NULL, NULL, -1, -1, 0, 0, 0, 0, ENOSPC, EIO, 0};

static atomic_llong written, was_read;
static atomic_long n_writes, n_reads;
static atomic_int logged[8];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int parse_errno(const char *s, int dflt)
{
    static const struct {
        const char *name;
        int value;
    } names[] = {{"ENOSPC", ENOSPC}, {"EIO", EIO},     {"EDQUOT", EDQUOT},
                 {"EFBIG", EFBIG},   {"EPIPE", EPIPE}, {"EINTR", EINTR},
                 {"EAGAIN", EAGAIN}, {"EROFS", EROFS}, {"EACCES", EACCES}};
    if (!s || !*s)
        return dflt;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i].name))
            return names[i].value;
    int v = atoi(s);
    return v > 0 ? v : dflt;
}

static long long env_ll(const char *name, long long dflt)
{
    const char *s = getenv(name);
    return s && *s ? atoll(s) : dflt;
}

static void setup(void)
{
    real.write = (write_fn)dlsym(RTLD_NEXT, "write");
    real.pwrite = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite");
    real.pwrite64 = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite64");
    real.writev = (writev_fn)dlsym(RTLD_NEXT, "writev");
    real.read = (read_fn)dlsym(RTLD_NEXT, "read");
    real.pread = (pread_fn)dlsym(RTLD_NEXT, "pread");
    real.pread64 = (pread_fn)dlsym(RTLD_NEXT, "pread64");
    real.readv = (readv_fn)dlsym(RTLD_NEXT, "readv");
    real.fsync = (fsync_fn)dlsym(RTLD_NEXT, "fsync");
    real.fdatasync = (fsync_fn)dlsym(RTLD_NEXT, "fdatasync");
    cfg.write_path = getenv("FAULT_WRITE_PATH");
    cfg.read_path = getenv("FAULT_READ_PATH");
    cfg.log = getenv("FAULT_LOG");
    cfg.write_after = env_ll("FAULT_WRITE_AFTER", -1);
    cfg.read_after = env_ll("FAULT_READ_AFTER", -1);
    cfg.write_short = (long)env_ll("FAULT_WRITE_SHORT", 0);
    cfg.write_eintr = (long)env_ll("FAULT_WRITE_EINTR", 0);
    cfg.read_short = (long)env_ll("FAULT_READ_SHORT", 0);
    cfg.read_eintr = (long)env_ll("FAULT_READ_EINTR", 0);
    cfg.write_errno = parse_errno(getenv("FAULT_WRITE_ERRNO"), ENOSPC);
    cfg.read_errno = parse_errno(getenv("FAULT_READ_ERRNO"), EIO);
    cfg.fsync_errno = parse_errno(getenv("FAULT_FSYNC_ERRNO"), 0);
}

static void init(void)
{
    pthread_once(&once, setup);
}

__attribute__((constructor)) static void shim_ctor(void)
{
    init();
}

/* One line per kind of fault, the first time (no stdio: may run in any
 * thread, and write() here must be the real one). */
enum { LOG_WRITE_ERR, LOG_WRITE_SHORT, LOG_WRITE_EINTR, LOG_FSYNC,
       LOG_READ_SHORT, LOG_READ_EINTR, LOG_READ_ERR };
static void note(int kind, const char *what, const char *path)
{
    if (!cfg.log || atomic_exchange(&logged[kind], 1))
        return;
    int fd = open(cfg.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    char line[600];
    int n = snprintf(line, sizeof line, "%s %s\n", what, path);
    if (n > 0)
        (void)!real.write(fd, line, (size_t)n < sizeof line ? (size_t)n
                                                            : sizeof line - 1);
    close(fd);
}

static int fd_matches(int fd, const char *pattern, char *path, size_t cap)
{
    if (!pattern)
        return 0;
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    int saved = errno;
    ssize_t n = readlink(link, path, cap - 1);
    errno = saved;
    if (n < 0)
        return 0;
    path[n] = '\0';
    return fnmatch(pattern, path, 0) == 0;
}

/* How many of len bytes a write to fd may move: len, fewer, or -1 with
 * errno set. */
static ssize_t write_allowance(int fd, size_t len)
{
    char path[4096];
    init();
    if (!fd_matches(fd, cfg.write_path, path, sizeof path))
        return (ssize_t)len;
    long k = atomic_fetch_add(&n_writes, 1) + 1;
    if (cfg.write_eintr > 0 && k % cfg.write_eintr == 0) {
        note(LOG_WRITE_EINTR, "write-eintr", path);
        errno = EINTR;
        return -1;
    }
    if (cfg.write_short > 0 && len > (size_t)cfg.write_short) {
        note(LOG_WRITE_SHORT, "write-short", path);
        len = (size_t)cfg.write_short;
    }
    if (cfg.write_after >= 0) {
        long long before = atomic_load(&written);
        if (before >= cfg.write_after) {
            note(LOG_WRITE_ERR, "write-error", path);
            errno = cfg.write_errno;
            return -1;
        }
        if ((long long)len > cfg.write_after - before)
            len = (size_t)(cfg.write_after - before);
    }
    return (ssize_t)len;
}

static void wrote(int fd, ssize_t n)
{
    (void)fd;
    if (n > 0 && cfg.write_path && cfg.write_after >= 0)
        atomic_fetch_add(&written, n);
}

ssize_t write(int fd, const void *buf, size_t len)
{
    ssize_t allow = write_allowance(fd, len);
    if (allow < 0)
        return -1;
    if (len > 0 && allow == 0) {
        errno = cfg.write_errno;
        return -1;
    }
    ssize_t n = real.write(fd, buf, (size_t)allow);
    if (n > 0)
        wrote(fd, n);
    return n;
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
    ssize_t allow = write_allowance(fd, len);
    if (allow < 0)
        return -1;
    if (len > 0 && allow == 0) {
        errno = cfg.write_errno;
        return -1;
    }
    ssize_t n = real.pwrite(fd, buf, (size_t)allow, off);
    if (n > 0)
        wrote(fd, n);
    return n;
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
    ssize_t allow = write_allowance(fd, len);
    if (allow < 0)
        return -1;
    if (len > 0 && allow == 0) {
        errno = cfg.write_errno;
        return -1;
    }
    ssize_t n = real.pwrite64(fd, buf, (size_t)allow, off);
    if (n > 0)
        wrote(fd, n);
    return n;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    size_t len = 0;
    for (int i = 0; i < cnt; i++)
        len += iov[i].iov_len;
    ssize_t allow = write_allowance(fd, len);
    if (allow < 0)
        return -1;
    if ((size_t)allow == len) {
        ssize_t n = real.writev(fd, iov, cnt);
        if (n > 0)
            wrote(fd, n);
        return n;
    }
    if (allow == 0) {
        errno = cfg.write_errno;
        return -1;
    }
    /* Cut short: the first `allow` bytes, in order. */
    struct iovec v[64];
    int m = 0;
    size_t left = (size_t)allow;
    for (int i = 0; i < cnt && left > 0 && m < 64; i++, m++) {
        v[m] = iov[i];
        if (v[m].iov_len > left)
            v[m].iov_len = left;
        left -= v[m].iov_len;
    }
    ssize_t n = real.writev(fd, v, m);
    if (n > 0)
        wrote(fd, n);
    return n;
}

static int sync_fault(int fd)
{
    char path[4096];
    init();
    if (cfg.fsync_errno && fd_matches(fd, cfg.write_path, path, sizeof path)) {
        note(LOG_FSYNC, "fsync-error", path);
        errno = cfg.fsync_errno;
        return -1;
    }
    return 0;
}

int fsync(int fd)
{
    if (sync_fault(fd) < 0)
        return -1;
    return real.fsync(fd);
}

int fdatasync(int fd)
{
    if (sync_fault(fd) < 0)
        return -1;
    return real.fdatasync(fd);
}

static ssize_t read_allowance(int fd, size_t len)
{
    char path[4096];
    init();
    if (len == 0 || !fd_matches(fd, cfg.read_path, path, sizeof path))
        return (ssize_t)len;
    long k = atomic_fetch_add(&n_reads, 1) + 1;
    if (cfg.read_eintr > 0 && k % cfg.read_eintr == 0) {
        note(LOG_READ_EINTR, "read-eintr", path);
        errno = EINTR;
        return -1;
    }
    if (cfg.read_after >= 0 && atomic_load(&was_read) >= cfg.read_after) {
        note(LOG_READ_ERR, "read-error", path);
        errno = cfg.read_errno;
        return -1;
    }
    if (cfg.read_short > 0) {
        /* 1..K bytes, varying, so every split point gets tried. */
        size_t k2 = 1 + (size_t)(k * 7919 % cfg.read_short);
        if (len > k2) {
            note(LOG_READ_SHORT, "read-short", path);
            len = k2;
        }
    }
    return (ssize_t)len;
}

static void did_read(ssize_t n)
{
    if (n > 0 && cfg.read_after >= 0)
        atomic_fetch_add(&was_read, n);
}

ssize_t read(int fd, void *buf, size_t len)
{
    ssize_t allow = read_allowance(fd, len);
    if (allow < 0)
        return -1;
    ssize_t n = real.read(fd, buf, (size_t)allow);
    did_read(n);
    return n;
}

ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen);
ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
    if (len > buflen)
        abort();
    return read(fd, buf, len);
}

ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
    ssize_t allow = read_allowance(fd, len);
    if (allow < 0)
        return -1;
    ssize_t n = real.pread(fd, buf, (size_t)allow, off);
    did_read(n);
    return n;
}

ssize_t pread64(int fd, void *buf, size_t len, off_t off)
{
    ssize_t allow = read_allowance(fd, len);
    if (allow < 0)
        return -1;
    ssize_t n = real.pread64(fd, buf, (size_t)allow, off);
    did_read(n);
    return n;
}

ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    size_t len = 0;
    for (int i = 0; i < cnt; i++)
        len += iov[i].iov_len;
    ssize_t allow = read_allowance(fd, len);
    if (allow < 0)
        return -1;
    if ((size_t)allow == len) {
        ssize_t n = real.readv(fd, iov, cnt);
        did_read(n);
        return n;
    }
    /* Short: into the first buffer(s) only. */
    struct iovec v[64];
    int m = 0;
    size_t left = (size_t)allow;
    for (int i = 0; i < cnt && left > 0 && m < 64; i++, m++) {
        v[m] = iov[i];
        if (v[m].iov_len > left)
            v[m].iov_len = left;
        left -= v[m].iov_len;
    }
    ssize_t n = real.readv(fd, v, m);
    did_read(n);
    return n;
}
