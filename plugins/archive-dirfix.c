/* archive-dirfix.c - directory metadata set at the end; see the header. */
#include "archive-dirfix.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Descriptors left for everything else: the writers' files, the
 * directory cache, libraries. */
#define FDS_SPARE 128
/* However high the limit: an open directory holds about 1 KiB of
 * kernel memory, and a hostile archive may hold any number of them.
 * Past it, directories are reached by name, as they all were before. */
#define FDS_MAX (1u << 14)
/* Records a thread takes at a time from the shared index. */
#define APPLY_STEP 32
/* Fewer records than this per thread are not worth one. */
#define APPLY_MIN_PER_THREAD 256
/* Threads started beside the caller's, at most. */
#define APPLY_THREADS_MAX 8

/* Directories held open by every extraction of the process: the limit
 * is the process's, and a collection restore extracts several objects
 * at once. */
static atomic_size_t kept_in_process;

static int budget_take(size_t budget)
{
    size_t cur = atomic_load(&kept_in_process);
    do {
        if (cur >= budget)
            return 0;
    } while (!atomic_compare_exchange_weak(&kept_in_process, &cur, cur + 1));
    return 1;
}

void dirfix_close(dirfix *f)
{
    if (f->fd < 0)
        return;
    close(f->fd);
    f->fd = -1;
    atomic_fetch_sub(&kept_in_process, 1);
}

void dirfixes_init(dirfixes *d)
{
    struct rlimit rl;
    memset(d, 0, sizeof *d);
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    rlim_t cur = rl.rlim_cur == RLIM_INFINITY ? 2 * FDS_MAX : rl.rlim_cur;
    if (cur / 2 > FDS_SPARE)
        d->budget = cur / 2 - FDS_SPARE;
    if (d->budget > FDS_MAX)
        d->budget = FDS_MAX;
}

static void record_free(dirfix *f)
{
    dirfix_close(f);
    archive_entry_free(f->e);
    f->e = NULL;
    free(f->path);
    f->path = NULL;
}

void dirfixes_free(dirfixes *d)
{
    for (size_t i = 0; i < d->n; i++)
        record_free(&d->v[i]);
    free(d->v);
    memset(d, 0, sizeof *d);
}

dirfix *dirfixes_add(dirfixes *d)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        dirfix *v = realloc(d->v, cap * sizeof *v);
        if (!v)
            return NULL;
        d->v = v;
        d->cap = cap;
    }
    dirfix *f = &d->v[d->n++];
    memset(f, 0, sizeof *f);
    f->fd = -1;
    return f;
}

void dirfixes_drop_last(dirfixes *d)
{
    if (d->n)
        record_free(&d->v[--d->n]);
}

void dirfixes_keep_open(dirfixes *d, dirfix *f, int dirfd, const char *name)
{
    f->fd = -1;
    if (!budget_take(d->budget))
        return;
    f->fd = name ? openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                           O_CLOEXEC)
                 : openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f->fd < 0)
        atomic_fetch_sub(&kept_in_process, 1);
}

/* Path descending ("a/b" > "a"), then the latest first. */
static int cmp_settle(const void *a, const void *b)
{
    const dirfix *x = a, *y = b;
    int c = strcmp(y->path, x->path);
    if (c)
        return c;
    return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

void dirfixes_settle(dirfixes *d)
{
    if (d->n < 2)
        return;
    qsort(d->v, d->n, sizeof *d->v, cmp_settle);
    size_t out = 1;
    for (size_t i = 1; i < d->n; i++) {
        if (!strcmp(d->v[i].path, d->v[out - 1].path)) {
            record_free(&d->v[i]); /* an earlier record of the same path */
            continue;
        }
        d->v[out++] = d->v[i];
    }
    d->n = out;
}

mode_t member_mode(mode_t perm, int preserve, mode_t umask, int chown_ok)
{
    mode_t m = perm & 07777;
    if (!preserve)
        m &= 0777 & ~umask;
    else if (!chown_ok)
        m &= ~(mode_t)(S_ISUID | S_ISGID);
    return m;
}

int member_fflags(int fd, unsigned long set, unsigned long clear)
{
    if (!set && !clear)
        return 0;
    int cur = 0;
    if (ioctl(fd, FS_IOC_GETFLAGS, &cur) < 0)
        cur = 0;
    int want = (int)(((unsigned long)cur | set) & ~clear);
    if (want != cur && ioctl(fd, FS_IOC_SETFLAGS, &want) < 0)
        return errno;
    return 0;
}

void dirfix_owner_mode(dirfix *f, int fd, int preserve, mode_t umask)
{
    int chown_ok = 1;
    if (f->do_chown && fchown(fd, f->uid, f->gid) < 0) {
        f->err_owner = errno;
        chown_ok = 0;
    }
    if (fchmod(fd, member_mode(f->perm, preserve, umask, chown_ok)) < 0)
        f->err_mode = errno;
}

void dirfix_times_flags(dirfix *f, int fd)
{
    if (futimens(fd, f->ts) < 0)
        f->err_times = errno;
    f->err_flags = member_fflags(fd, f->fset, f->fclear);
}

typedef struct apply_run {
    dirfixes *d;
    atomic_size_t next;
    int preserve;
    mode_t umask;
} apply_run;

static void *apply_worker(void *arg)
{
    apply_run *r = arg;
    size_t n = r->d->n, i;
    while ((i = atomic_fetch_add(&r->next, APPLY_STEP)) < n) {
        size_t end = i + APPLY_STEP < n ? i + APPLY_STEP : n;
        for (; i < end; i++) {
            dirfix *f = &r->d->v[i];
            if (f->fd < 0 || f->e)
                continue;
            dirfix_owner_mode(f, f->fd, r->preserve, r->umask);
            dirfix_times_flags(f, f->fd);
            dirfix_close(f);
        }
    }
    return NULL;
}

void dirfixes_apply_kept(dirfixes *d, int threads, int preserve,
                         mode_t umask)
{
    apply_run r = {.d = d, .preserve = preserve, .umask = umask};
    atomic_init(&r.next, 0);
    pthread_t th[APPLY_THREADS_MAX];
    int n = 0;
    if (threads > 1 + APPLY_THREADS_MAX)
        threads = 1 + APPLY_THREADS_MAX;
    while (n + 1 < threads && d->n / (size_t)(n + 2) >= APPLY_MIN_PER_THREAD &&
           pthread_create(&th[n], NULL, apply_worker, &r) == 0)
        n++;
    apply_worker(&r);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
}
