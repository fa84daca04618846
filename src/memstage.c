/* memstage.c - the built-in memory endpoint; see memstage.h. */
#include "memstage.h"

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "stream.h"

static int mem_source(engine_mem *m, sluice_output *out, sluice_error *err)
{
    int rc = m->len ? output_write(out, m->data, m->len) : 0;
    while (rc == 0 && m->produce) {
        const uint8_t *p = NULL;
        ptrdiff_t n = m->produce(m->produce_arg, &p);
        if (n <= 0) {
            if (n < 0)
                return sluice_error_set(err, (int)n, "the record was "
                                        "given up before its end");
            break;
        }
        rc = output_write(out, p, (size_t)n);
    }
    if (rc < 0 && rc != SLUICE_E_CANCELED)
        sluice_error_set(err, rc, "cannot pass the record on");
    return rc;
}

static int mem_collect(engine_mem *m, const uint8_t *p, size_t n,
                       char **buf, size_t *len, size_t *cap,
                       sluice_error *err)
{
    size_t limit = m->limit ? m->limit : MEM_RECORD_LIMIT;
    if (n > limit - *len)
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "record larger than the %zu-byte limit",
                                limit);
    if (*len + n + 1 > *cap) {
        size_t nc = *cap ? *cap : 4096;
        while (nc < *len + n + 1)
            nc *= 2;
        char *g = realloc(*buf, nc);
        if (!g)
            return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
        *buf = g;
        *cap = nc;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    return 0;
}

static int mem_sink(engine_mem *m, sluice_input *in, sluice_error *err)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        const uint8_t *p;
        ptrdiff_t n = input_read_next(in, &p);
        if (n <= 0) {
            rc = (int)n;
            break;
        }
        rc = m->consume ? m->consume(m->consume_arg, p, (size_t)n)
                        : mem_collect(m, p, (size_t)n, &buf, &len, &cap,
                                      err);
        if (rc < 0) {
            if (m->consume && !err->message[0])
                sluice_error_set(err, rc, "cannot take the stream");
            break;
        }
    }
    if (rc == 0 && !m->consume) {
        if (!buf && !(buf = malloc(1)))
            rc = sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
        else {
            buf[len] = '\0';
            m->out = buf;
            m->out_len = len;
            buf = NULL;
        }
    }
    free(buf);
    return rc;
}

static int mem_run(void *ctx, sluice_input *in, sluice_output *out,
                   sluice_error *err)
{
    return out ? mem_source(ctx, out, err) : mem_sink(ctx, in, err);
}

static int mem_open(const sluice_stage_args *args, void **ctx,
                    sluice_error *err)
{
    (void)args;
    (void)ctx;
    return sluice_error_set(err, SLUICE_E_INTERNAL, "built in: not opened");
}

static void mem_close(void *ctx) { (void)ctx; }

static const loaded_stage builtin = {
    .vt = {
        .name = "memory",
        .summary = "built-in memory endpoint (core records)",
        .forward_roles = SLUICE_ROLE_SOURCE | SLUICE_ROLE_SINK,
        .reverse_roles = SLUICE_ROLE_SOURCE | SLUICE_ROLE_SINK,
        .open = mem_open,
        .run = mem_run,
        .close = mem_close,
    },
    .path = "(built in)",
    .plugin_name = "sluice",
    .plugin_version = "core",
    .abi_major = SLUICE_ABI_MAJOR,
    .abi_minor = SLUICE_ABI_MINOR,
};

const loaded_stage *memstage(void) { return &builtin; }
