/*
 * unit-stream.c - a stage's input and output streams (src/stream.c) over a
 * block queue: input_read across block boundaries, read_next/read mixed,
 * giveback and unread (pushback), EOF and abort; output reserve/commit/
 * write/finish.  Speaks TAP.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/block.h"
#include "../src/stream.h"
#include "tap.h"

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "Bail out! watchdog: a stream operation hung\n";
    ssize_t w = write(STDOUT_FILENO, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 7u + (i >> 8));
}

/* Pushes total bytes of pattern as blocks of the given sizes (cycled),
 * then EOF.  The queue must be deep enough to hold them all. */
static void push_blocks(blockq *q, size_t total, const size_t *sizes,
                        size_t n_sizes)
{
    size_t pos = 0;
    for (size_t k = 0; pos < total; k++) {
        size_t len = sizes[k % n_sizes];
        if (len > total - pos)
            len = total - pos;
        block *b = blockq_get_empty(q);
        if (!b)
            bail("no block");
        for (size_t i = 0; i < len; i++)
            b->data[i] = pattern(pos + i);
        b->len = len;
        blockq_push(q, b);
        pos += len;
    }
    blockq_finish(q);
}

static int check_pattern(const uint8_t *p, size_t from, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != pattern(from + i))
            return 0;
    return 1;
}

/* Reads the whole input with input_read in chunks of `chunk`. */
static void test_read_chunks(size_t chunk)
{
    const size_t sizes[] = {7, 1, 16, 3, 16, 16, 5};
    const size_t total = 500;
    blockq *q = blockq_new(16, 200);
    push_blocks(q, total, sizes, sizeof sizes / sizeof sizes[0]);
    sluice_input in;
    input_init(&in, q);
    uint8_t *buf = malloc(chunk);
    size_t pos = 0;
    int good = 1, short_before_end = 0;
    for (;;) {
        ptrdiff_t n = input_read(&in, buf, chunk);
        if (n < 0) {
            good = 0;
            break;
        }
        if (n == 0)
            break;
        if ((size_t)n < chunk && pos + (size_t)n < total)
            short_before_end = 1;
        if (!check_pattern(buf, pos, (size_t)n))
            good = 0;
        pos += (size_t)n;
    }
    ok(good, "read(%zu): bytes in order across blocks of 1..16", chunk);
    is_int((long long)pos, (long long)total, "read(%zu): all %zu bytes", chunk,
           total);
    ok(!short_before_end, "read(%zu): short only at end of stream", chunk);
    is_int(input_read(&in, buf, chunk), 0, "read(%zu): 0 after EOF", chunk);
    const uint8_t *p;
    is_int(input_read_next(&in, &p), 0, "read(%zu): read_next 0 after EOF",
           chunk);
    input_close(&in);
    free(buf);
    blockq_free(q);
}

static void test_mixed(void)
{
    const size_t sizes[] = {10};
    blockq *q = blockq_new(16, 20);
    push_blocks(q, 35, sizes, 1); /* blocks: 0-9, 10-19, 20-29, 30-34 */
    sluice_input in;
    input_init(&in, q);
    uint8_t buf[64];
    const uint8_t *p;

    is_int(input_read(&in, buf, 4), 4, "read 4 of a 10-byte block");
    ok(check_pattern(buf, 0, 4), "bytes 0-3");
    ptrdiff_t n = input_read_next(&in, &p);
    is_int(n, 6, "read_next hands out the rest of that block (6)");
    ok(n == 6 && check_pattern(p, 4, 6), "bytes 4-9");
    n = input_read_next(&in, &p);
    is_int(n, 10, "read_next: next block whole");
    ok(n == 10 && check_pattern(p, 10, 10), "bytes 10-19");

    /* giveback: the last 3 bytes of that block again. */
    input_giveback(&in, 3);
    is_int(input_read(&in, buf, 5), 5, "after giveback(3), read 5");
    ok(check_pattern(buf, 17, 5), "bytes 17-21: given-back bytes first, "
                                  "then the next block");

    /* unread: pushback comes before anything else, latest first. */
    const uint8_t a[] = {0xa1, 0xa2}, b[] = {0xb1};
    is_int(input_unread(&in, a, 2), 0, "unread 2 bytes");
    is_int(input_unread(&in, b, 1), 0, "unread 1 more byte");
    is_int(input_read(&in, buf, 4), 4, "read 4 after unread");
    ok(buf[0] == 0xb1 && buf[1] == 0xa1 && buf[2] == 0xa2 &&
           buf[3] == pattern(22),
       "latest unread first, then earlier, then the stream (byte 22)");

    is_int(input_unread(&in, a, 2), 0, "unread again");
    n = input_read_next(&in, &p);
    ok(n == 2 && p[0] == 0xa1 && p[1] == 0xa2,
       "read_next serves the pushback alone");
    n = input_read_next(&in, &p);
    ok(n == 7 && check_pattern(p, 23, 7), "then the rest of the block "
                                          "(23-29)");

    /* A read larger than what is left ends at EOF with fewer bytes. */
    is_int(input_read(&in, buf, 64), 5, "read 64 near EOF returns the 5 left");
    ok(check_pattern(buf, 30, 5), "bytes 30-34");
    is_int(input_read(&in, buf, 64), 0, "then 0");
    is_int(input_unread(&in, a, 1), 0, "unread after EOF");
    is_int(input_read(&in, buf, 64), 1, "pushback is served even after EOF");
    is_int(input_read(&in, buf, 0), 0, "read of 0 bytes");
    input_close(&in);
    blockq_free(q);
}

static void test_header_like_split(void)
{
    /* The way the engine reads a header: read_next, giveback of the body
     * part, then the next stage reads on from there. */
    blockq *q = blockq_new(64, 4);
    const char *s = "sluice/1\n---\nBODY";
    block *bl = blockq_get_empty(q);
    memcpy(bl->data, s, strlen(s));
    bl->len = strlen(s);
    blockq_push(q, bl);
    blockq_finish(q);
    sluice_input in;
    input_init(&in, q);
    const uint8_t *p;
    ptrdiff_t n = input_read_next(&in, &p);
    is_int(n, (long long)strlen(s), "the whole block");
    input_giveback(&in, 4);
    char buf[16] = {0};
    is_int(input_read(&in, buf, sizeof buf), 4, "after giveback, 4 bytes");
    is_str(buf, "BODY", "the body");
    input_close(&in);
    blockq_free(q);
}

static void test_abort_input(void)
{
    blockq *q = blockq_new(16, 4);
    block *bl = blockq_get_empty(q);
    bl->len = 16;
    memset(bl->data, 'x', 16);
    blockq_push(q, bl);
    sluice_input in;
    input_init(&in, q);
    uint8_t buf[8];
    is_int(input_read(&in, buf, 8), 8, "read 8 of 16");
    blockq_abort(q, SLUICE_E_FORMAT);
    /* What is already in hand may still be served; after that, the
     * status. */
    ptrdiff_t n;
    int guard = 0;
    while ((n = input_read(&in, buf, 8)) > 0 && guard++ < 4)
        ;
    is_int(n, SLUICE_E_FORMAT, "read returns the abort status");
    const uint8_t *p;
    is_int(input_read_next(&in, &p), SLUICE_E_FORMAT,
           "read_next keeps returning it");
    input_close(&in);
    blockq_free(q);
}

/* ---- output -------------------------------------------------------------- */

typedef struct drain_run {
    blockq *q;
    uint8_t *got;
    size_t len, cap;
    int rc;
    size_t max_block;
} drain_run;

static void *drainer(void *arg)
{
    drain_run *d = arg;
    sluice_input in;
    input_init(&in, d->q);
    for (;;) {
        const uint8_t *p;
        ptrdiff_t n = input_read_next(&in, &p);
        if (n <= 0) {
            d->rc = (int)n;
            break;
        }
        if ((size_t)n > d->max_block)
            d->max_block = (size_t)n;
        if (d->len + (size_t)n > d->cap) {
            d->cap = (d->len + (size_t)n) * 2;
            d->got = realloc(d->got, d->cap);
        }
        memcpy(d->got + d->len, p, (size_t)n);
        d->len += (size_t)n;
    }
    input_close(&in);
    return NULL;
}

static void test_output(void)
{
    const size_t bs = 1000;
    drain_run d = {0};
    d.q = blockq_new(bs, 2);
    pthread_t t;
    pthread_create(&t, NULL, drainer, &d);
    sluice_output out;
    output_init(&out, d.q);

    const size_t total = 123457;
    uint8_t *src = malloc(total);
    for (size_t i = 0; i < total; i++)
        src[i] = pattern(i);
    /* Mixed: write in odd pieces, reserve/commit partial amounts. */
    size_t pos = 0;
    int rc = 0;
    for (int k = 0; pos < total && rc == 0; k++) {
        size_t want = (size_t)(k * 37 % 1500) + 1;
        if (want > total - pos)
            want = total - pos;
        if (k % 2) {
            rc = output_write(&out, src + pos, want);
            pos += want;
        } else {
            size_t avail = 0, min = want > bs ? bs : want;
            uint8_t *dst = output_reserve(&out, min, &avail);
            if (!dst) {
                rc = -1;
                break;
            }
            size_t n = want < avail ? want : avail;
            memcpy(dst, src + pos, n);
            rc = output_commit(&out, n);
            pos += n;
        }
    }
    is_int(rc, 0, "writes and reserve/commit succeed");
    is_int(output_finish(&out), 0, "finish");
    output_close(&out);
    pthread_join(t, NULL);
    is_int(d.rc, 0, "the reader sees EOF");
    is_int((long long)d.len, (long long)total, "every byte arrives");
    ok(d.len == total && memcmp(d.got, src, total) == 0,
       "in order and intact");
    ok(d.max_block <= bs, "no block larger than the block size");
    free(d.got);
    blockq_free(d.q);

    /* Misuse and abort. */
    blockq *q = blockq_new(bs, 2);
    output_init(&out, q);
    size_t avail;
    ok(output_reserve(&out, bs + 1, &avail) == NULL,
       "reserve more than a block fails");
    is_int(out.status, SLUICE_E_INTERNAL, "as an internal error");
    output_close(&out);
    output_init(&out, q);
    uint8_t *dst = output_reserve(&out, 10, &avail);
    ok(dst && avail >= 10, "reserve 10");
    is_int(output_commit(&out, avail + 1), SLUICE_E_INTERNAL,
           "commit more than reserved is refused");
    output_close(&out);

    output_init(&out, q);
    blockq_abort(q, SLUICE_E_CANCELED);
    int wrc = output_write(&out, src, 3 * bs);
    ok(wrc < 0, "write after abort fails (%d)", wrc);
    ok(output_reserve(&out, 1, &avail) == NULL, "reserve after abort: NULL");
    output_close(&out);
    blockq_free(q);

    /* An empty stream: finish alone gives EOF, no empty block. */
    q = blockq_new(bs, 2);
    output_init(&out, q);
    dst = output_reserve(&out, 1, &avail);
    output_commit(&out, 0);
    is_int(output_finish(&out), 0, "finish with nothing written");
    output_close(&out);
    block *b;
    is_int(blockq_pop(q, &b), 0, "the reader gets EOF and no empty block");
    blockq_free(q);
    free(src);
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    alarm(60);
    plan_no_plan();
    test_read_chunks(1);
    test_read_chunks(3);
    test_read_chunks(16);
    test_read_chunks(17);
    test_read_chunks(499);
    test_read_chunks(1000);
    test_mixed();
    test_header_like_split();
    test_abort_input();
    test_output();
    return done();
}
