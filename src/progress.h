/*
 * progress.h - a progress line on stderr while a chain runs: bytes in and
 * out, ratio, rate, elapsed time, and percentage and ETA when the source
 * announced its total.  On a terminal it redraws one line; with
 * --progress on a pipe or file it prints a line a second.  Never stdout.
 */
#ifndef SLUICE_PROGRESS_H
#define SLUICE_PROGRESS_H

#include <stdint.h>

#include "block.h"

enum progress_mode {
    PROGRESS_OFF = 0,
    PROGRESS_TTY = 1,   /* redraw one line with \r                   */
    PROGRESS_LINES = 2, /* one line a second                         */
    PROGRESS_SUMMARY = 3, /* the final line only (-v in filter mode)   */
    /* A flag on the above: --progress or -v asked for it, so a run
     * shorter than the first redraw still gets its last line. */
    PROGRESS_ASKED = 8
};

typedef struct progress progress;

/* in_q: the source's output link; out_q: the sink's input link; total:
 * where the source's announced size appears (0 = unknown); in_base:
 * bytes pushed into in_q that are not the source's (the stream header,
 * when the source feeds the sink directly), left out of "in". */
progress *progress_start(int mode, blockq *in_q, blockq *out_q,
                         const _Atomic uint64_t *total, uint64_t in_base);
/* What a collection command has done: items (files, objects) and bytes,
 * and their totals once known (0: not yet).  Several threads count at
 * once (the pool's tasks); the progress thread only reads. */
typedef struct progress_count {
    _Atomic uint64_t items, bytes, items_total, bytes_total;
} progress_count;

/* The line of a collection command, from c:
 * "sluice: VERB: 3/40 UNIT, 1.2 MiB of 3.4 MiB  ...  35.3%  ETA 0:05".
 * On a terminal it is cleared at the end (the command's own last words
 * follow); with --progress to a file or pipe the last line stays. */
progress *progress_start_count(int mode, const char *verb, const char *unit,
                               const progress_count *c);
/* Stops the thread and ends the line. */
void progress_stop(progress *p);

/* Writes a message line (ending in a newline) on stderr, first clearing
 * a progress line drawn there with \r: the message stays, the line is
 * drawn again below it at the next tick.  Every message goes here. */
void progress_message(const char *line);

/* Formats n bytes as "12.3 MiB" into buf. */
void progress_bytes(uint64_t n, char *buf, size_t cap);

#endif
