/* stream.c - block-based input and output streams for stages. */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

void input_init(sluice_input *in, blockq *q)
{
    memset(in, 0, sizeof *in);
    in->q = q;
}

ptrdiff_t input_read_next(sluice_input *in, const uint8_t **data)
{
    if (in->pushback_off < in->pushback_len) {
        size_t n = in->pushback_len - in->pushback_off;
        *data = in->pushback + in->pushback_off;
        in->pushback_off = in->pushback_len;
        return (ptrdiff_t)n;
    }
    if (in->status < 0)
        return in->status;
    if (in->status == 1)
        return 0;
    for (;;) {
        if (in->cur && in->off < in->cur->len) {
            size_t n = in->cur->len - in->off;
            *data = in->cur->data + in->off;
            in->off = in->cur->len;
            return (ptrdiff_t)n;
        }
        if (in->cur) {
            blockq_release(in->q, in->cur);
            in->cur = NULL;
        }
        block *b;
        int rc = blockq_pop(in->q, &b);
        if (rc <= 0) {
            in->status = rc == 0 ? 1 : rc;
            return rc;
        }
        in->cur = b;
        in->off = 0;
    }
}

ptrdiff_t input_read(sluice_input *in, void *buf, size_t len)
{
    uint8_t *dst = buf;
    size_t got = 0;
    while (got < len) {
        /* Take from the pushback or the current block without handing
         * out more than asked for. */
        const uint8_t *src;
        size_t avail;
        if (in->pushback_off < in->pushback_len) {
            src = in->pushback + in->pushback_off;
            avail = in->pushback_len - in->pushback_off;
            if (avail > len - got)
                avail = len - got;
            in->pushback_off += avail;
        } else if (in->cur && in->off < in->cur->len) {
            src = in->cur->data + in->off;
            avail = in->cur->len - in->off;
            if (avail > len - got)
                avail = len - got;
            in->off += avail;
        } else {
            ptrdiff_t n = input_read_next(in, &src);
            if (n < 0)
                return n;
            if (n == 0)
                break;
            /* read_next consumed the whole remainder: give back the
             * part we do not take. */
            avail = (size_t)n;
            if (avail > len - got) {
                in->off -= avail - (len - got);
                avail = len - got;
            }
        }
        memcpy(dst + got, src, avail);
        got += avail;
    }
    return (ptrdiff_t)got;
}

void input_giveback(sluice_input *in, size_t n)
{
    if (in->cur && n <= in->off)
        in->off -= n;
}

int input_unread(sluice_input *in, const uint8_t *buf, size_t len)
{
    size_t rest = in->pushback_len - in->pushback_off;
    uint8_t *p = malloc(len + rest ? len + rest : 1);
    if (!p)
        return SLUICE_E_NOMEM;
    memcpy(p, buf, len);
    if (rest)
        memcpy(p + len, in->pushback + in->pushback_off, rest);
    free(in->pushback);
    in->pushback = p;
    in->pushback_len = len + rest;
    in->pushback_off = 0;
    return 0;
}

void input_close(sluice_input *in)
{
    if (in->cur)
        blockq_release(in->q, in->cur);
    in->cur = NULL;
    free(in->pushback);
    in->pushback = NULL;
    in->pushback_len = in->pushback_off = 0;
}

void output_init(sluice_output *out, blockq *q)
{
    memset(out, 0, sizeof *out);
    out->q = q;
}

static int push_current(sluice_output *out)
{
    block *b = out->cur;
    out->cur = NULL;
    if (!b)
        return 0;
    if (b->len == 0) {
        blockq_release(out->q, b);
        return 0;
    }
    int rc = blockq_push(out->q, b);
    if (rc < 0)
        out->status = rc;
    return rc;
}

uint8_t *output_reserve(sluice_output *out, size_t min, size_t *avail)
{
    if (out->status < 0)
        return NULL;
    if (min > SLUICE_RESERVE_MAX || min > blockq_block_size(out->q)) {
        out->misuse = "asked reserve() for more than SLUICE_RESERVE_MAX bytes";
        out->status = SLUICE_E_INTERNAL;
        return NULL;
    }
    if (min == 0)
        min = 1;
    if (out->cur && out->cur->cap - out->cur->len < min) {
        if (push_current(out) < 0)
            return NULL;
    }
    if (!out->cur) {
        out->cur = blockq_get_empty(out->q);
        if (!out->cur) {
            out->status = SLUICE_E_CANCELED;
            return NULL;
        }
    }
    *avail = out->cur->cap - out->cur->len;
    return out->cur->data + out->cur->len;
}

int output_commit(sluice_output *out, size_t len)
{
    if (out->status < 0)
        return out->status;
    if (!out->cur || len > out->cur->cap - out->cur->len) {
        out->misuse = out->cur ? "committed more than reserve() offered"
                               : "called commit() without a reservation";
        return out->status = SLUICE_E_INTERNAL;
    }
    out->cur->len += len;
    if (out->cur->len == out->cur->cap)
        return push_current(out);
    return 0;
}

int output_write(sluice_output *out, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        size_t avail;
        uint8_t *dst = output_reserve(out, 1, &avail);
        if (!dst)
            return out->status;
        size_t n = len < avail ? len : avail;
        memcpy(dst, p, n);
        p += n;
        len -= n;
        int rc = output_commit(out, n);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int output_finish(sluice_output *out)
{
    if (out->status < 0)
        return out->status;
    int rc = push_current(out);
    if (rc == 0)
        blockq_finish(out->q);
    return rc;
}

/* How long the next stage may take no block before the hand-on gives
 * up: a sink stuck on a full pipe ends the run a second late. */
#define HAND_ON_IDLE_MS 1000

int output_hand_on(sluice_output *out)
{
    if (out->status < 0 || out->misuse)
        return out->status;
    int rc = push_current(out);
    return rc < 0 ? rc : blockq_wait_taken(out->q, HAND_ON_IDLE_MS);
}

void output_close(sluice_output *out)
{
    if (out->cur)
        blockq_release(out->q, out->cur);
    out->cur = NULL;
}
