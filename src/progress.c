/* progress.c - the progress line; see progress.h. */
#include "progress.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 250

/* stderr is one a process, shared by the lines of every run and every
 * message: whether a \r line stands on it now (so that a message first
 * clears it), and the lock that keeps a message and a redraw apart. */
static pthread_mutex_t term_lock = PTHREAD_MUTEX_INITIALIZER;
static int term_line;

struct progress {
    int mode;
    blockq *in_q, *out_q;
    const _Atomic uint64_t *total;
    uint64_t in_base;
    /* A collection command's line instead (progress_start_count). */
    const progress_count *count;
    const char *verb, *unit;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop;
    struct timespec start;
    int printed;
    int asked; /* PROGRESS_ASKED */
};

void progress_bytes(uint64_t n, char *buf, size_t cap)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, cap, "%.1f %s", v, units[u]);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) +
           (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void clock_str(double s, char *buf, size_t cap)
{
    unsigned long t = (unsigned long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%lu:%02lu", t / 60, t % 60);
}

/* "  43.1%  ETA 0:09" of done out of total (none when unknown); the
 * last line is a summary: how far it got, no ETA. */
static void pct_eta(uint64_t done, uint64_t total, double el, int final,
                    char *buf, size_t cap)
{
    buf[0] = '\0';
    if (total == 0 || done > total)
        return;
    double frac = (double)done / (double)total;
    char eta[32] = "--:--";
    if (frac > 0.001)
        clock_str(el / frac - el, eta, sizeof eta);
    if (final)
        snprintf(buf, cap, "  %5.1f%%", frac * 100);
    else
        snprintf(buf, cap, "  %5.1f%%  ETA %s", frac * 100, eta);
}

static void stream_line(progress *p, int final, double el, char *line,
                        size_t cap)
{
    uint64_t in = blockq_bytes(p->in_q), out = blockq_bytes(p->out_q);
    in = in > p->in_base ? in - p->in_base : 0;
    char bin[32], bout[32], rate[32], elapsed[32], tail[64];
    progress_bytes(in, bin, sizeof bin);
    progress_bytes(out, bout, sizeof bout);
    progress_bytes(el > 0 ? (uint64_t)((double)in / el) : 0, rate,
                   sizeof rate);
    clock_str(el, elapsed, sizeof elapsed);
    pct_eta(in, atomic_load(p->total), el, final, tail, sizeof tail);
    char ratio[32] = "";
    if (in > 0)
        snprintf(ratio, sizeof ratio, "  (%.2fx)",
                 out ? (double)in / (double)out : 0.0);
    snprintf(line, cap, "sluice: %s in -> %s out%s  %s/s  %s%s", bin, bout,
             ratio, rate, elapsed, tail);
}

/* Items and bytes, each "done/total" or "done of total" once the total
 * is known; the percentage and ETA by bytes, else by items. */
static void count_line(progress *p, int final, double el, char *line,
                       size_t cap)
{
    const progress_count *c = p->count;
    uint64_t items = atomic_load(&c->items), bytes = atomic_load(&c->bytes);
    uint64_t it = atomic_load(&c->items_total);
    uint64_t bt = atomic_load(&c->bytes_total);
    char n[64], b[80] = "", rate[48] = "", elapsed[32], tail[64];
    if (it)
        snprintf(n, sizeof n, "%llu/%llu", (unsigned long long)items,
                 (unsigned long long)it);
    else
        snprintf(n, sizeof n, "%llu", (unsigned long long)items);
    if (bytes || bt) {
        char d[32], t[32], r[32];
        progress_bytes(bytes, d, sizeof d);
        progress_bytes(bt, t, sizeof t);
        snprintf(b, sizeof b, ", %s%s%s", d, bt ? " of " : "", bt ? t : "");
        progress_bytes(el > 0 ? (uint64_t)((double)bytes / el) : 0, r,
                       sizeof r);
        snprintf(rate, sizeof rate, "  %s/s", r);
    }
    clock_str(el, elapsed, sizeof elapsed);
    if (bt)
        pct_eta(bytes, bt, el, final, tail, sizeof tail);
    else
        pct_eta(items, it, el, final, tail, sizeof tail);
    snprintf(line, cap, "sluice: %s: %s %s%s%s  %s%s", p->verb, n, p->unit,
             b, rate, elapsed, tail);
}

static void draw(progress *p, int final)
{
    double el = seconds_since(&p->start);
    char line[256];
    if (p->count)
        count_line(p, final, el, line, sizeof line);
    else
        stream_line(p, final, el, line, sizeof line);
    /* A redrawn line that wraps would leave a copy on every row: cut to
     * the terminal's width. */
    struct winsize ws;
    if (p->mode == PROGRESS_TTY && ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 &&
        ws.ws_col > 1 && strlen(line) >= ws.ws_col)
        line[ws.ws_col - 1] = '\0';
    pthread_mutex_lock(&term_lock);
    if (p->mode == PROGRESS_TTY)
        fprintf(stderr, "\r%s\033[K%s", line, final ? "\n" : "");
    else
        fprintf(stderr, "%s\n", line);
    fflush(stderr);
    term_line = p->mode == PROGRESS_TTY && !final;
    pthread_mutex_unlock(&term_lock);
    p->printed = 1;
}

void progress_message(const char *line)
{
    pthread_mutex_lock(&term_lock);
    if (term_line)
        fputs("\r\033[K", stderr);
    term_line = 0;
    fputs(line, stderr);
    pthread_mutex_unlock(&term_lock);
}

static void *progress_thread(void *arg)
{
    progress *p = arg;
    int ticks = 0;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->wake, &p->lock, &until);
        if (p->stop)
            break;
        ticks++;
        /* Stay quiet for short runs; lines mode: once a second. */
        if (ticks < 4 || (p->mode != PROGRESS_TTY && ticks % 4) ||
            p->mode == PROGRESS_SUMMARY)
            continue;
        pthread_mutex_unlock(&p->lock);
        draw(p, 0);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static progress *start(progress *p)
{
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    clock_gettime(CLOCK_MONOTONIC, &p->start);
    if (pthread_create(&p->thread, NULL, progress_thread, p) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

static progress *alloc(int mode)
{
    progress *p = mode == PROGRESS_OFF ? NULL : calloc(1, sizeof *p);
    if (p) {
        p->mode = mode & ~PROGRESS_ASKED;
        p->asked = !!(mode & PROGRESS_ASKED);
    }
    return p;
}

progress *progress_start(int mode, blockq *in_q, blockq *out_q,
                         const _Atomic uint64_t *total, uint64_t in_base)
{
    progress *p = in_q && out_q ? alloc(mode) : NULL;
    if (!p)
        return NULL;
    p->in_q = in_q;
    p->out_q = out_q;
    p->total = total;
    p->in_base = in_base;
    return start(p);
}

progress *progress_start_count(int mode, const char *verb, const char *unit,
                               const progress_count *c)
{
    progress *p = alloc(mode);
    if (!p)
        return NULL;
    p->count = c;
    p->verb = verb;
    p->unit = unit;
    return start(p);
}

void progress_stop(progress *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    /* A run shorter than the first redraw still gets its summary when it
     * was asked for (--progress, or -v in filter mode); else a short run
     * on a terminal stays quiet. */
    if (p->count && p->mode == PROGRESS_TTY) {
        /* A collection command ends with its own words: the line goes. */
        pthread_mutex_lock(&term_lock);
        if (term_line)
            fputs("\r\033[K", stderr);
        term_line = 0;
        pthread_mutex_unlock(&term_lock);
    } else if (p->printed || p->asked) {
        draw(p, 1);
    }
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
