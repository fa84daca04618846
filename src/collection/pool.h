/*
 * pool.h - runs independent tasks (one engine run each: an object put
 * or got) on a few threads at once.  Bounded: at most `width` tasks run,
 * so memory stays that of `width` engine runs.
 */
#ifndef SLUICE_POOL_H
#define SLUICE_POOL_H

#include <stddef.h>

/* A task returns 0 or an exit status (it says its own failure). */
typedef int (*pool_task)(void *arg, size_t i);

/* Runs fn(arg, 0..n-1), up to width at once, and returns the first
 * non-zero status (in task order).  stop_on_fail: once a task fails, no
 * new task starts (those running finish). */
int pool_run(size_t n, unsigned width, int stop_on_fail, pool_task fn,
             void *arg);

#endif
