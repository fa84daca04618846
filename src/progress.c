/* progress.c - the progress line; see progress.h. */
#include "progress.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define TICK_MS 250

struct progress {
    int mode;
    blockq *in_q, *out_q;
    const _Atomic uint64_t *total;
    uint64_t in_base;
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

static void draw(progress *p, int final)
{
    uint64_t in = blockq_bytes(p->in_q), out = blockq_bytes(p->out_q);
    in = in > p->in_base ? in - p->in_base : 0;
    uint64_t total = atomic_load(p->total);
    double el = seconds_since(&p->start);
    char bin[32], bout[32], rate[32], elapsed[32], tail[64] = "";
    progress_bytes(in, bin, sizeof bin);
    progress_bytes(out, bout, sizeof bout);
    progress_bytes(el > 0 ? (uint64_t)((double)in / el) : 0, rate,
                   sizeof rate);
    clock_str(el, elapsed, sizeof elapsed);
    if (total > 0 && in <= total) {
        /* The last line is a summary: how far it got, no ETA. */
        double frac = (double)in / (double)total;
        char eta[32] = "--:--";
        if (frac > 0.001)
            clock_str(el / frac - el, eta, sizeof eta);
        if (final)
            snprintf(tail, sizeof tail, "  %5.1f%%", frac * 100);
        else
            snprintf(tail, sizeof tail, "  %5.1f%%  ETA %s", frac * 100, eta);
    }
    char ratio[32] = "";
    if (in > 0)
        snprintf(ratio, sizeof ratio, "  (%.2fx)",
                 out ? (double)in / (double)out : 0.0);
    char line[256];
    snprintf(line, sizeof line, "sluice: %s in -> %s out%s  %s/s  %s%s",
             bin, bout, ratio, rate, elapsed, tail);
    if (p->mode == PROGRESS_TTY)
        fprintf(stderr, "\r%s\033[K%s", line, final ? "\n" : "");
    else
        fprintf(stderr, "%s\n", line);
    fflush(stderr);
    p->printed = 1;
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

progress *progress_start(int mode, blockq *in_q, blockq *out_q,
                         const _Atomic uint64_t *total, uint64_t in_base)
{
    if (mode == PROGRESS_OFF || !in_q || !out_q)
        return NULL;
    progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->mode = mode & ~PROGRESS_ASKED;
    p->asked = !!(mode & PROGRESS_ASKED);
    p->in_q = in_q;
    p->out_q = out_q;
    p->total = total;
    p->in_base = in_base;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    clock_gettime(CLOCK_MONOTONIC, &p->start);
    if (pthread_create(&p->thread, NULL, progress_thread, p) != 0) {
        free(p);
        return NULL;
    }
    return p;
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
    if (p->printed || p->asked)
        draw(p, 1);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
