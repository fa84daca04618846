/* objstore.c - named objects under a collection root; see objstore.h. */
#include "objstore.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../presets.h"
#include "../memstage.h"
#include "../util.h"

int os_is_local(const char *root)
{
    return strstr(root, "://") == NULL;
}

char *os_url(const char *root, const char *name)
{
    size_t lr = strlen(root);
    while (lr > 1 && root[lr - 1] == '/')
        lr--;
    size_t n = lr + strlen(name) + 2;
    char *u = malloc(n);
    if (u)
        snprintf(u, n, "%.*s/%s", (int)lr, root, name);
    return u;
}

int os_err_absent(const os_err *e)
{
    return strstr(e->msg, "no such object") != NULL;
}

static int set_err(os_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int set_err(os_err *err, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return rc;
}

typedef struct ep {
    preset_endpoint p;     /* the stage's name and options */
    char off[24], len[24]; /* offset=, length= */
} ep;

/* The endpoint stage for url, as the front end's (presets). */
static void endpoint(objstore *o, const char *url, ep *e, stage_spec *spec)
{
    preset_net net = {o->s3_endpoint, o->insecure, 0};
    preset_endpoint_for(url, &net, &e->p, spec);
}

static void add_opt(ep *e, stage_spec *spec, const char *k, const char *v)
{
    e->p.kv[e->p.n++] = (sluice_kv){k, v};
    spec->n_options = e->p.n;
}

/* The file stage for bytes offset..offset+length-1 of local file path. */
static void file_range(objstore *o, const char *path, ep *e,
                       stage_spec *spec, uint64_t offset, uint64_t length)
{
    snprintf(e->off, sizeof e->off, "%llu", (unsigned long long)offset);
    snprintf(e->len, sizeof e->len, "%llu", (unsigned long long)length);
    endpoint(o, path, e, spec);
    add_opt(e, spec, "offset", e->off);
    add_opt(e, spec, "length", e->len);
}

/* The failure, naming the object once: stages that name it themselves
 * (s3, file) are not prefixed with it again. */
static void describe(os_err *err, const char *url, const char *name,
                     const engine_error *fail)
{
    const char *m = fail->err.message[0] ? fail->err.message : "failed";
    if (strstr(m, name))
        set_err(err, 0, "%s: %s", fail->subject, m);
    else
        set_err(err, 0, "%s: %s: %s", url, fail->subject, m);
}

static int run(objstore *o, engine_job *job, const char *url,
               const char *name, os_err *err)
{
    engine_error fail = {0};
    sluice_kv threads = {"threads", o->threads};
    job->isolated = 1;
    job->moved = o->moved;
    job->moved_arg = o->moved_arg;
    if (o->threads && !job->n_transform_options) {
        job->transform_options = &threads;
        job->n_transform_options = 1;
    }
    int rc = engine_run(o->s, o->l, job, &fail);
    if (job->transform_options == &threads) { /* it goes with this frame */
        job->transform_options = NULL;
        job->n_transform_options = 0;
    }
    if (rc < 0)
        describe(err, url, name, &fail);
    return rc;
}

static int mkparents(const char *path, os_err *err)
{
    char *p = strdup(path);
    if (!p)
        return set_err(err, SLUICE_E_NOMEM, "out of memory");
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0777) < 0 && errno != EEXIST) {
            set_err(err, 0, "%s: cannot create: %s", p, strerror(errno));
            free(p);
            return SLUICE_E_IO;
        }
        *s = '/';
    }
    free(p);
    return 0;
}

static const header *empty_chain(void)
{
    static const header h; /* n_stages = 0: a plain copy */
    return &h;
}

static int put_sum(objstore *o, engine_job *job, const char *root,
                   const char *name, uint64_t *stored, os_sum *sum,
                   int exclusive, os_err *err);

/* Runs a forward job whose sink is object root/name, streaming into the
 * endpoint (local or remote alike); *stored = the bytes it took. */
static int put_job(objstore *o, engine_job *job, const char *root,
                   const char *name, uint64_t *stored, int exclusive,
                   os_err *err)
{
    return put_sum(o, job, root, name, stored, NULL, exclusive, err);
}

/* put_job measuring the object into *sum (when not NULL). */
static int put_sum(objstore *o, engine_job *job, const char *root,
                   const char *name, uint64_t *stored, os_sum *sum,
                   int exclusive, os_err *err)
{
    if (sum) {
        stored = &sum->size;
        sum->digest.kind = ENGINE_DIGEST_ANY; /* the best the chain has */
        job->digest = &sum->digest;
    }
    char *url = os_url(root, name);
    if (!url)
        return set_err(err, SLUICE_E_NOMEM, "out of memory");
    int rc = os_is_local(root) ? mkparents(url, err) : 0;
    if (rc == 0 && exclusive && !os_can_exclusive(o, root))
        rc = set_err(err, SLUICE_E_UNSUPPORTED, "%s: its stage cannot "
                     "create an object exclusively", url);
    ep e;
    endpoint(o, url, &e, &job->sink);
    if (exclusive)
        add_opt(&e, &job->sink, "exclusive", "1");
    job->bytes_out = stored;
    if (rc == 0)
        rc = run(o, job, url, name, err);
    free(url);
    return rc;
}

/* Puts what the memory source m gives as object `name`. */
static int put_from_mem(objstore *o, engine_mem *m, const char *root,
                        const char *name, int plain, int exclusive,
                        uint64_t *stored, os_err *err)
{
    engine_job job = {0};
    job.direction = SLUICE_FORWARD;
    job.chain = plain ? empty_chain() : o->fchain;
    job.no_header = 1;
    job.source.mem = m;
    return put_job(o, &job, root, name, stored, exclusive, err);
}

int os_put_mem(objstore *o, const char *root, const char *name,
               const void *data, size_t len, int plain, int exclusive,
               uint64_t *stored, os_err *err)
{
    engine_mem m = {.data = data, .len = len};
    return put_from_mem(o, &m, root, name, plain, exclusive, stored, err);
}

int os_put_produce(objstore *o, const char *root, const char *name,
                   const void *data, size_t len,
                   ptrdiff_t (*produce)(void *arg, const uint8_t **p),
                   void *arg, uint64_t *stored, os_err *err)
{
    engine_mem m = {.data = data, .len = len, .produce = produce,
                    .produce_arg = arg};
    return put_from_mem(o, &m, root, name, 0, 0, stored, err);
}

int os_put_range(objstore *o, const char *root, const char *name,
                 const char *src, uint64_t offset, uint64_t length,
                 os_sum *sum, os_err *err)
{
    engine_job job = {0};
    ep se;
    job.direction = SLUICE_FORWARD;
    job.chain = o->fchain;
    job.no_header = 1;
    file_range(o, src, &se, &job.source, offset, length);
    return put_sum(o, &job, root, name, NULL, sum, 0, err);
}

int os_put_archive(objstore *o, const char *root, const char *name,
                   const char *dir, const char *list, os_sum *sum,
                   os_err *err)
{
    engine_job job = {0};
    sluice_kv kv[6];
    size_t n = 0;
    kv[n++] = (sluice_kv){"files-from", list};
    kv[n++] = (sluice_kv){"null", "1"};
    kv[n++] = (sluice_kv){"no-recursion", "1"};
    kv[n++] = (sluice_kv){"scanned", "1"}; /* list: "TYPE INO PATH" */
    if (dir)
        kv[n++] = (sluice_kv){"directory", dir};
    job.direction = SLUICE_FORWARD;
    job.chain = o->fchain;
    job.no_header = 1;
    job.source.name = preset_archive_stage();
    job.source.options = kv;
    job.source.n_options = n;
    return put_sum(o, &job, root, name, NULL, sum, 0, err);
}

/* Runs a reverse job whose source is object root/name; chain: BARE
 * (the collection's), PLAIN (none) or OWN_HEADER (a sluice/1 stream). */
enum { BARE, PLAIN, OWN_HEADER };
static int get_sum(objstore *o, engine_job *job, const char *root,
                   const char *name, const os_sum *want, os_err *err);

static int get_job(objstore *o, engine_job *job, const char *root,
                   const char *name, int chain, os_err *err)
{
    char *url = os_url(root, name);
    if (!url)
        return set_err(err, SLUICE_E_NOMEM, "out of memory");
    ep se;
    job->direction = SLUICE_REVERSE;
    job->chain = chain == OWN_HEADER ? NULL
                 : chain == PLAIN || !o->rchain ? empty_chain() : o->rchain;
    job->no_header = chain != OWN_HEADER;
    job->require_auth = o->require_auth;
    endpoint(o, url, &se, &job->source);
    int rc = run(o, job, url, name, err);
    free(url);
    return rc;
}

/* get_job of a bare data object, checked against *want (when not NULL)
 * as it streams: the size of the bytes the source read, and their
 * SHA-256 or the binding of the stage that authenticated them. */
static int get_sum(objstore *o, engine_job *job, const char *root,
                   const char *name, const os_sum *want, os_err *err)
{
    engine_digest got = {0};
    uint64_t size = 0;
    if (want) {
        got.kind = want->digest.kind; /* what the record holds */
        job->digest = &got;
        job->bytes_in = &size;
    }
    int rc = get_job(o, job, root, name, BARE, err);
    job->digest = NULL; /* got ends here */
    if (want && rc == 0 &&
        (size != want->size ||
         memcmp(got.v, want->digest.v, sizeof got.v))) {
        char *url = os_url(root, name);
        rc = set_err(err, SLUICE_E_AUTH, "%s: not the object this backup "
                     "stored (size/%s differ): swapped or replaced",
                     url ? url : name,
                     got.kind == ENGINE_DIGEST_BINDING ? "binding"
                                                       : "SHA-256");
        free(url);
    }
    return rc;
}

int os_get_mem(objstore *o, const char *root, const char *name, int plain,
               char **out, size_t *len, os_err *err)
{
    engine_mem m = {0};
    engine_job job = {0};
    job.sink.mem = &m;
    int rc = get_job(o, &job, root, name, plain ? PLAIN : BARE, err);
    *out = rc == 0 ? m.out : NULL;
    if (len)
        *len = m.out_len;
    if (rc != 0)
        free(m.out);
    return rc;
}

int os_get_range(objstore *o, const char *root, const char *name,
                 const char *dst, uint64_t offset, uint64_t length,
                 const os_sum *want, uint64_t *got, os_err *err)
{
    engine_job job = {0};
    ep de;
    file_range(o, dst, &de, &job.sink, offset, length);
    job.bytes_out = got;
    return get_sum(o, &job, root, name, want, err);
}

/* A consumer that keeps nothing: verify authenticates and counts. */
static int discard(void *arg, const uint8_t *p, size_t n)
{
    (void)arg;
    (void)p;
    (void)n;
    return 0;
}

int os_get_consume(objstore *o, const char *root, const char *name,
                   int (*consume)(void *, const uint8_t *, size_t),
                   void *arg, const os_sum *want, uint64_t *got,
                   os_err *err)
{
    engine_mem m = {0};
    m.consume = consume ? consume : discard;
    m.consume_arg = arg;
    engine_job job = {0};
    job.sink.mem = &m;
    job.bytes_out = got;
    return get_sum(o, &job, root, name, want, err);
}

int os_extract(objstore *o, const char *root, const char *name,
               const char *dir, char **members, size_t n, int list_only,
               const os_sum *want, os_err *err)
{
    sluice_kv *kv = malloc((n + 5) * sizeof *kv);
    if (!kv)
        return set_err(err, SLUICE_E_NOMEM, "out of memory");
    size_t k = 0;
    kv[k++] = (sluice_kv){"no-recursion", "1"};
    if (list_only) {
        kv[k++] = (sluice_kv){"list", "1"};
    } else {
        kv[k++] = (sluice_kv){"directory", dir};
        /* The modes and owners the manifest records: exact (no umask,
         * also for a user other than root), numbers as scanned. */
        kv[k++] = (sluice_kv){"numeric-owner", "1"};
        kv[k++] = (sluice_kv){"preserve-permissions", "1"};
    }
    for (size_t i = 0; i < n; i++)
        kv[k++] = (sluice_kv){"arg", members[i]};
    engine_job job = {0};
    engine_mem m = {.consume = discard};
    if (list_only) {
        job.tail.name = preset_archive_stage();
        job.tail.options = kv;
        job.tail.n_options = k;
        job.sink.mem = &m;
    } else {
        job.sink.name = preset_archive_stage();
        job.sink.options = kv;
        job.sink.n_options = k;
    }
    int rc = get_sum(o, &job, root, name, want, err);
    free(kv);
    return rc;
}

int os_extract_data(objstore *o, const char *root, const char *name,
                    const char *member,
                    int (*consume)(void *, const uint8_t *, size_t),
                    void *arg, const os_sum *want, os_err *err)
{
    sluice_kv kv[] = {{"no-recursion", "1"}, {"to-stdout", "1"},
                      {"arg", member}};
    engine_job job = {0};
    engine_mem m = {.consume = consume, .consume_arg = arg};
    job.tail.name = preset_archive_stage();
    job.tail.options = kv;
    job.tail.n_options = sizeof kv / sizeof kv[0];
    job.sink.mem = &m;
    return get_sum(o, &job, root, name, want, err);
}

/* The stage behind a remote root, or NULL. */
static const loaded_stage *remote_stage(objstore *o, const char *root)
{
    ep e;
    stage_spec spec = {0};
    endpoint(o, root, &e, &spec);
    const loaded_stage *ls = NULL;
    sluice_error err = {0};
    if (loader_find(o->l, spec.name, &ls, &err) < 0)
        return NULL;
    return ls;
}

int os_can_exclusive(objstore *o, const char *root)
{
    if (os_is_local(root))
        return 1;
    const loaded_stage *ls = remote_stage(o, root);
    return ls && ls->abi_minor >= 1 &&
           (ls->vt.flags & SLUICE_STAGE_EXCLUSIVE);
}

int os_can_delete(objstore *o, const char *root)
{
    if (os_is_local(root))
        return 1;
    const loaded_stage *ls = remote_stage(o, root);
    return ls && ls->abi_minor >= 1 && ls->vt.remove;
}

int os_delete(objstore *o, const char *root, const char *name, os_err *err)
{
    char *url = os_url(root, name);
    if (!url)
        return set_err(err, SLUICE_E_NOMEM, "out of memory");
    int rc = 0;
    if (os_is_local(root)) {
        if (unlink(url) < 0 && errno != ENOENT)
            rc = set_err(err, SLUICE_E_IO, "%s: %s", url, strerror(errno));
    } else if (!os_can_delete(o, root)) {
        rc = 1;
    } else {
        ep e;
        stage_spec spec = {0};
        endpoint(o, url, &e, &spec);
        engine_error fail = {0};
        rc = engine_remove(o->s, o->l, &spec, &fail);
        if (rc < 0)
            describe(err, url, name, &fail);
    }
    free(url);
    return rc;
}

int os_list_refusal(objstore *o, const char *root, char *why, size_t cap)
{
    if (os_is_local(root))
        return 0;
    ep e;
    stage_spec spec = {0};
    endpoint(o, root, &e, &spec);
    const loaded_stage *ls = NULL;
    sluice_error err = {0};
    if (loader_find(o->l, spec.name, &ls, &err) < 0) {
        snprintf(why, cap, "%s", err.message);
        return 1;
    }
    if (ls->abi_minor >= 3 && ls->vt.list)
        return 0;
    if (ls->abi_minor < 3)
        snprintf(why, cap, "the %s stage cannot list objects (a plugin "
                 "built for ABI %u.%u; listing came in 1.3)", spec.name,
                 ls->abi_major, ls->abi_minor);
    else
        snprintf(why, cap, "the %s stage cannot list objects", spec.name);
    return 1;
}

int os_list(objstore *o, const char *root, sluice_list_fn fn, void *arg,
            os_err *err)
{
    ep e;
    stage_spec spec = {0};
    endpoint(o, root, &e, &spec);
    engine_error fail = {0};
    int rc = engine_list(o->s, o->l, &spec, fn, arg, &fail);
    if (rc < 0 && fail.subject[0])
        describe(err, root, root, &fail);
    else if (rc < 0)
        err->msg[0] = '\0'; /* fn's own status: the caller said why */
    return rc;
}

int os_abort_upload(objstore *o, const char *root, const char *name,
                    const char *upload_id, os_err *err)
{
    char *url = os_url(root, name);
    if (!url)
        return set_err(err, SLUICE_E_NOMEM, "out of memory");
    ep e;
    stage_spec spec = {0};
    endpoint(o, url, &e, &spec);
    add_opt(&e, &spec, "upload-id", upload_id);
    engine_error fail = {0};
    int rc = engine_remove(o->s, o->l, &spec, &fail);
    if (rc < 0)
        describe(err, url, name, &fail);
    free(url);
    return rc;
}

int os_read_header(objstore *o, const char *root, const char *name,
                   header **out, os_err *err)
{
    char *url = os_url(root, name);
    if (!url)
        return set_err(err, SLUICE_E_NOMEM, "out of memory");
    ep se;
    stage_spec src = {0};
    endpoint(o, url, &se, &src);
    engine_error fail = {0};
    int rc = engine_read_header(o->s, o->l, &src, out, &fail);
    if (rc < 0)
        describe(err, url, name, &fail);
    free(url);
    return rc;
}

int os_put_descriptor(objstore *o, const char *root, const char *name,
                      int exclusive, os_err *err)
{
    engine_mem m = {0};
    engine_job job = {0};
    job.direction = SLUICE_FORWARD;
    job.chain = o->fchain;
    job.source.mem = &m;
    return put_job(o, &job, root, name, NULL, exclusive, err);
}

int os_check_descriptor(objstore *o, const char *root, const char *name,
                        os_err *err)
{
    engine_job job = {0};
    engine_mem m = {.consume = discard};
    job.sink.mem = &m;
    return get_job(o, &job, root, name, OWN_HEADER, err);
}
