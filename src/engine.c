/* engine.c - threads, queues and the header seam; see engine.h. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "engine.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "memstage.h"
#include "progress.h"
#include "sha256.h"
#include "stagekeys.h"
#include "stream.h"
#include "util.h"

/* ENGINE_BLOCK_SIZE (host.h) blocks, 4 waiting per link: memory is
 * bounded by 1.5 MiB per link whatever the stream's length. */
#define BLOCK_SIZE ENGINE_BLOCK_SIZE
#define LINK_DEPTH 4
#define MAX_RUNNING (HEADER_MAX_STAGES + 2)

typedef struct chain_run chain_run;

typedef struct running_stage {
    chain_run *run;
    const loaded_stage *ls;
    const char *name;
    sluice_host host;
    sluice_stage_args args;
    void *ctx;
    int opened;
    sluice_input in;
    sluice_output out;
    int has_in, has_out;
    pthread_t thread;
    int started;
    engine_mem *mem; /* the built-in memory endpoint: its context    */
    int done;  /* run() and the host's end-of-stream work returned 0 */
    sluice_error err;
} running_stage;

struct chain_run {
    session *sess;
    running_stage st[MAX_RUNNING];
    size_t n;
    blockq *links[MAX_RUNNING];
    size_t n_links;
    pthread_mutex_t lock;
    engine_error *fail;
    int failed;
    running_stage *sink; /* once added */
    unsigned source_depth; /* blocks waiting after the source; 0: default */
    unsigned sink_depth;   /* blocks waiting before the sink; 0: default  */
    char context[SLUICE_ERROR_MAX]; /* from stages that were cancelled */
    run_budget budget; /* api->charge: what this run's stages spent */
    int isolated;        /* a failure aborts this run, not the session */
    uint64_t in_base;    /* header bytes in the first link            */
    sha256_ctx hash;     /* engine_job.digest SHA-256: stored bytes    */
    running_stage *binder; /* engine_job.digest binding: its stage    */
    const engine_job *job; /* its moved() while the run lasts         */
    chain_run *next_run; /* the session's other runs (abort fan-out)   */
};

static int set_fail(chain_run *r, const char *subject, const sluice_error *e)
{
    pthread_mutex_lock(&r->lock);
    if (!r->failed) {
        r->failed = 1;
        snprintf(r->fail->subject, sizeof r->fail->subject, "%s", subject);
        r->fail->err = *e;
        if (!r->fail->err.message[0])
            snprintf(r->fail->err.message, sizeof r->fail->err.message,
                     "failed (status %d)", e->code);
    }
    pthread_mutex_unlock(&r->lock);
    return e->code;
}

static int fail_msg(chain_run *r, const char *subject, int code,
                    const char *msg)
{
    sluice_error e = {0};
    sluice_error_set(&e, code, "%s", msg);
    return set_fail(r, subject, &e);
}

/* Whether rc is a status the plugin ABI defines (enum sluice_status). */
static int abi_status(int rc)
{
    return rc <= SLUICE_E_USAGE && rc >= SLUICE_E_PIPE;
}

static const char *status_name(int rc)
{
    switch (rc) {
    case SLUICE_E_USAGE: return "usage error";
    case SLUICE_E_IO: return "I/O error";
    case SLUICE_E_FORMAT: return "format error";
    case SLUICE_E_AUTH: return "authentication error";
    case SLUICE_E_NOMEM: return "out of memory";
    case SLUICE_E_UNSUPPORTED: return "unsupported";
    case SLUICE_E_CANCELED: return "canceled";
    case SLUICE_E_NETWORK: return "network error";
    case SLUICE_E_INTERNAL: return "internal error";
    case SLUICE_E_PIPE: return "broken pipe";
    default: return "unknown status";
    }
}

/* A stage function `fn` (open, run, header_mac, binding) returned rc != 0: records
 * the failure under the stage's name and returns the status the run ends
 * with.  A defined negative status wins over whatever the stage put in
 * err.code, and gets a generic message if the stage set none.  Anything
 * else (a positive number, an undefined negative one) breaks the ABI: a
 * plugin failure (exit 6, as for a plugin built for another ABI). */
static int stage_failed(chain_run *r, running_stage *rs, const char *fn,
                        int rc)
{
    rs->err.message[sizeof rs->err.message - 1] = '\0';
    if (abi_status(rc)) {
        rs->err.code = rc;
        if (!rs->err.message[0])
            snprintf(rs->err.message, sizeof rs->err.message,
                     "%s() failed (status %d, %s) without a message", fn, rc,
                     status_name(rc));
        return set_fail(r, rs->name, &rs->err);
    }
    sluice_error e = {0};
    sluice_error_set(&e, SLUICE_E_UNSUPPORTED,
                     "returned %d from %s(), which the plugin ABI does not "
                     "allow",
                     rc, fn);
    return set_fail(r, rs->name, &e);
}

/* session_abort's hook; runs under the session's abort_lock, like
 * new_link, so it sees every link created so far. */
static void abort_links(void *arg, int status)
{
    chain_run *r = arg;
    for (size_t i = 0; i < r->n_links; i++)
        blockq_abort(r->links[i], status);
}

/* The session's abort hook while runs are registered: session_abort
 * (a signal, or a failing run that is not isolated) reaches every run of
 * the session, however many run at once.  The session has one hook
 * slot; the runs form a list from its argument, kept under abort_lock. */
static void abort_all(void *arg, int status)
{
    for (chain_run *r = arg; r; r = r->next_run)
        abort_links(r, status);
}

static void engine_abort(chain_run *r)
{
    if (!r->isolated) {
        session_abort(r->sess, SLUICE_E_CANCELED);
        return;
    }
    pthread_mutex_lock(&r->sess->abort_lock);
    abort_links(r, SLUICE_E_CANCELED);
    pthread_mutex_unlock(&r->sess->abort_lock);
}

/* Adds r to the session's runs; under abort_lock. */
static void register_run(chain_run *r)
{
    session *s = r->sess;
    r->next_run = s->on_abort == abort_all ? s->abort_arg : NULL;
    s->on_abort = abort_all;
    s->abort_arg = r;
}

static void unregister_run(chain_run *r)
{
    session *s = r->sess;
    pthread_mutex_lock(&s->abort_lock);
    if (s->on_abort == abort_all) {
        chain_run **pp = (chain_run **)&s->abort_arg;
        while (*pp && *pp != r)
            pp = &(*pp)->next_run;
        if (*pp)
            *pp = r->next_run;
        if (!s->abort_arg)
            s->on_abort = NULL;
    }
    pthread_mutex_unlock(&s->abort_lock);
}

static void run_init(chain_run *r, session *s, engine_error *fail,
                     int isolated)
{
    memset(r, 0, sizeof *r);
    r->sess = s;
    r->fail = fail;
    memset(fail, 0, sizeof *fail);
    r->isolated = isolated;
    pthread_mutex_init(&r->lock, NULL);
    run_budget_init(&r->budget);
    pthread_mutex_lock(&s->abort_lock);
    /* A session may run several jobs (collections): an earlier job's
     * abort must not cancel this one, unless the user asked to stop.
     * Not while other runs go on: the flag is theirs too. */
    if (!atomic_load(&s->signal_number) && s->on_abort != abort_all)
        atomic_store(&s->cancelled, 0);
    register_run(r);
    /* A signal may have come at any moment before the hook was in place
     * (the signal thread stores signal_number before it sets cancelled
     * and takes the lock): its abort found no hook, or the old run's, and
     * the reset above may even have undone its flag.  Look again now
     * that the hook is in place; engine_run then starts nothing, and
     * new_link aborts any link created once cancelled is set. */
    if (atomic_load(&s->signal_number))
        atomic_store(&s->cancelled, 1);
    pthread_mutex_unlock(&s->abort_lock);
}

static void run_cleanup(chain_run *r)
{
    unregister_run(r);
    for (size_t i = r->n; i-- > 0;) {
        running_stage *rs = &r->st[i];
        if (rs->has_in)
            input_close(&rs->in);
        if (rs->has_out)
            output_close(&rs->out);
        if (rs->opened && !rs->mem)
            rs->ls->vt.close(rs->ctx);
        free((void *)rs->args.params);
        free((void *)rs->args.options);
    }
    for (size_t i = 0; i < r->n_links; i++)
        blockq_free(r->links[i]);
    pthread_mutex_destroy(&r->lock);
}

static const char *role_name(unsigned role)
{
    switch (role) {
    case SLUICE_ROLE_SOURCE: return "source";
    case SLUICE_ROLE_TRANSFORM: return "transform";
    default: return "sink";
    }
}

/* Loads stage `name` (or takes the built-in memory endpoint, with mem)
 * and checks it can play `role` in `direction`. */
static int add_stage_mem(chain_run *r, loader *l, const char *name,
                         engine_mem *mem, int direction, unsigned role,
                         running_stage **out)
{
    sluice_error e = {0};
    const loaded_stage *ls = memstage();
    if (r->n == MAX_RUNNING)
        return fail_msg(r, "chain", SLUICE_E_USAGE, "too many stages");
    int rc = mem ? 0 : loader_find(l, name, &ls, &e);
    if (rc < 0)
        return set_fail(r, name, &e);
    unsigned roles = direction == SLUICE_FORWARD ? ls->vt.forward_roles
                                                 : ls->vt.reverse_roles;
    if (!(roles & role)) {
        sluice_error_set(&e, SLUICE_E_USAGE, "cannot act as a %s on %s",
                         role_name(role),
                         direction == SLUICE_FORWARD ? "backup" : "restore");
        return set_fail(r, name, &e);
    }
    running_stage *rs = &r->st[r->n++];
    memset(rs, 0, sizeof *rs);
    rs->run = r;
    rs->ls = ls;
    rs->name = ls->vt.name;
    host_init(&rs->host, r->sess, rs->name);
    rs->host.direction = direction;
    rs->host.budget = &r->budget;
    rs->args.struct_size = sizeof rs->args;
    rs->args.direction = direction;
    rs->args.role = role;
    rs->args.api = host_api();
    rs->args.host = &rs->host;
    rs->mem = mem;
    if (role == SLUICE_ROLE_SINK)
        r->sink = rs;
    *out = rs;
    return 0;
}

static int add_stage(chain_run *r, loader *l, const char *name,
                     int direction, unsigned role, running_stage **out)
{
    return add_stage_mem(r, l, name, NULL, direction, role, out);
}

static int add_endpoint(chain_run *r, loader *l, const stage_spec *spec,
                        int direction, unsigned role, running_stage **out)
{
    return add_stage_mem(r, l, spec->name, spec->mem, direction, role, out);
}

static int open_stage(chain_run *r, running_stage *rs,
                      const sluice_kv *params, size_t n_params,
                      const sluice_kv *options, size_t n_options)
{
    if (rs->mem) { /* built in: its context is the caller's buffer */
        rs->ctx = rs->mem;
        rs->opened = 1;
        return 0;
    }
    /* The args keep their own copy of the parameter array. */
    sluice_kv *copy = NULL;
    if (n_params) {
        copy = malloc(n_params * sizeof *copy);
        if (!copy)
            return fail_msg(r, rs->name, SLUICE_E_NOMEM, "out of memory");
        memcpy(copy, params, n_params * sizeof *copy);
    }
    rs->args.params = copy;
    rs->args.n_params = n_params;
    /* ABI 1.2: keys checked against the stage's declaration; the args
     * keep the options it is to see. */
    sluice_kv *opts;
    int rc = stagekeys_apply(&rs->ls->vt, rs->args.direction, params,
                             n_params, options, n_options, &opts,
                             &rs->args.n_options, &rs->err);
    if (rc < 0)
        return set_fail(r, rs->name, &rs->err);
    rs->args.options = opts;
    rc = rs->ls->vt.open(&rs->args, &rs->ctx, &rs->err);
    if (rc != 0) {
        /* Not opened, so not closed: close() is only for a successful
         * open().  A failure without a message, or a status the ABI does
         * not define, still fails. */
        rs->ctx = NULL;
        return stage_failed(r, rs, "open", rc);
    }
    rs->opened = 1;
    if (rs->host.record_error)
        return fail_msg(r, rs->name, SLUICE_E_INTERNAL,
                        "recorded an invalid header parameter");
    return 0;
}

/* A new link, registered under the abort lock: an abort (a signal) that
 * came before is applied to it at once, one that comes later finds it. */
static blockq *new_link(chain_run *r, unsigned depth)
{
    blockq *q = blockq_new(BLOCK_SIZE, depth ? depth : LINK_DEPTH);
    if (!q)
        return NULL;
    blockq_use_pool(q, r->sess->blocks);
    pthread_mutex_lock(&r->sess->abort_lock);
    r->links[r->n_links] = q;
    r->n_links++;
    if (atomic_load(&r->sess->cancelled))
        blockq_abort(q, SLUICE_E_CANCELED);
    pthread_mutex_unlock(&r->sess->abort_lock);
    return q;
}

/* Connects st[0] -> st[1] -> ... -> st[n-1] with fresh links, except
 * where an input is already in place (restore: the header reader's). */
static int connect_stages(chain_run *r)
{
    for (size_t i = 0; i + 1 < r->n; i++) {
        running_stage *a = &r->st[i], *b = &r->st[i + 1];
        if (b->has_in)
            continue;
        blockq *q = new_link(r, i == 0           ? r->source_depth
                                : i + 2 == r->n ? r->sink_depth
                                                : 0);
        if (!q)
            return fail_msg(r, "engine", SLUICE_E_NOMEM, "out of memory");
        output_init(&a->out, q);
        a->has_out = 1;
        input_init(&b->in, q);
        b->has_in = 1;
    }
    return 0;
}

/* Drains what a stage left unread, so its producer can finish. */
static int drain(sluice_input *in)
{
    const uint8_t *p;
    ptrdiff_t n;
    while ((n = input_read_next(in, &p)) > 0)
        ;
    return (int)n;
}

static void *stage_thread(void *arg)
{
    running_stage *rs = arg;
    chain_run *r = rs->run;
    /* Named after its stage, for per-thread CPU in top -H and bench/run
     * (threads the stage starts inherit the name). */
    char tname[16];
    snprintf(tname, sizeof tname, "%s", rs->name);
    (void)pthread_setname_np(pthread_self(), tname);
    int rc = rs->ls->vt.run(rs->ctx, rs->has_in ? &rs->in : NULL,
                            rs->has_out ? &rs->out : NULL, &rs->err);
    rs->err.message[sizeof rs->err.message - 1] = '\0';
    if (rc > 0 || (rc < 0 && !abi_status(rc))) {
        /* Neither an end nor a status: the ABI allows neither. */
        stage_failed(r, rs, "run", rc);
        engine_abort(r);
        return NULL;
    }
    if (rc != 0 && rs->has_out && rs->out.misuse) {
        /* The stage's output refused a call that broke the ABI (and
         * whatever the stage made of that refusal): that is the cause. */
        sluice_error e = {0};
        sluice_error_set(&e, SLUICE_E_UNSUPPORTED,
                         "%s, which the plugin ABI does not allow",
                         rs->out.misuse);
        set_fail(r, rs->name, &e);
        engine_abort(r);
        return NULL;
    }
    if (rc == 0 && rs->has_out)
        rc = output_finish(&rs->out);
    if (rc == 0 && rs->has_in)
        rc = drain(&rs->in);
    if (rc == 0)
        rs->done = 1;
    if (rc == SLUICE_E_CANCELED && rs->err.message[0]) {
        pthread_mutex_lock(&r->lock);
        if (!r->context[0])
            snprintf(r->context, sizeof r->context, "%.60s: %.400s", rs->name,
                     rs->err.message);
        pthread_mutex_unlock(&r->lock);
    }
    if (rc < 0) {
        if (rc != SLUICE_E_CANCELED) {
            stage_failed(r, rs, "run", rc);
            /* What the stage wrote before it failed (the frames before a
             * corrupt one, say) goes on to the next stage first, as
             * zstd -d and tar -x do; the chain is aborted after. */
            if (rs->has_out)
                (void)output_hand_on(&rs->out);
        }
        engine_abort(r);
    }
    return NULL;
}

static int start_threads(chain_run *r, size_t from)
{
    for (size_t i = from; i < r->n; i++) {
        running_stage *rs = &r->st[i];
        if (pthread_create(&rs->thread, NULL, stage_thread, rs) != 0) {
            fail_msg(r, "engine", SLUICE_E_NOMEM, "cannot start a thread");
            engine_abort(r);
            return SLUICE_E_NOMEM;
        }
        rs->started = 1;
    }
    return 0;
}

static void join_threads(chain_run *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->st[i].started) {
            pthread_join(r->st[i].thread, NULL);
            r->st[i].started = 0;
        }
}

/* The outcome once every thread is joined. */
static int run_status(chain_run *r)
{
    int sig = atomic_load(&r->sess->signal_number);
    /* The sink's run() returned 0: it has made its output visible (a
     * sink checks api->cancelled before it does, and it saw end of
     * stream, so every stage before it finished too).  An abort or a
     * signal after that point came too late to stop anything: the run
     * succeeded, and sluice must not say otherwise (doc/SECURITY.md
     * section 4: an interrupted status means an untouched target). */
    if (!r->failed && r->sink && r->sink->done)
        return 0;
    if (sig && !r->failed)
        fail_msg(r, "interrupted", SLUICE_E_CANCELED,
                 sig == 2 ? "SIGINT received" : "SIGTERM received");
    if (r->failed && r->context[0]) {
        size_t len = strlen(r->fail->err.message);
        snprintf(r->fail->err.message + len,
                 sizeof r->fail->err.message - len, "; %s", r->context);
        r->context[0] = '\0';
    }
    if (r->failed)
        return r->fail->err.code < 0 ? r->fail->err.code : SLUICE_E_INTERNAL;
    if (atomic_load(&r->sess->cancelled))
        return fail_msg(r, "engine", SLUICE_E_CANCELED, "aborted");
    return 0;
}

/* Bytes in: what the source produced; out: what reaches the sink.
 * in_base: bytes in the first link that are not the source's (the
 * header, when no transform stands between source and sink). */
static progress *start_progress(chain_run *r, uint64_t in_base)
{
    if (r->n_links == 0)
        return NULL;
    return progress_start(r->sess->progress_mode, r->links[0],
                          r->links[r->n_links - 1], &r->st[0].host.total,
                          in_base);
}

/* Computes the MAC of h with the last stage that can, hex-encoded into
 * mac_hex; returns 0 and mac_hex[0] = 0 when no stage authenticates. */
static int header_mac_hex(chain_run *r, running_stage **macs, size_t n,
                          const header *h, char *mac_hex)
{
    mac_hex[0] = '\0';
    running_stage *ms = NULL;
    for (size_t i = 0; i < n; i++)
        if (macs[i]->ls->vt.flags & SLUICE_STAGE_HEADER_MAC)
            ms = macs[i];
    if (!ms)
        return 0;
    uint8_t mac[SLUICE_MAC_MAX];
    size_t mac_len = 0;
    int rc = ms->ls->vt.header_mac(ms->ctx, h->signed_bytes, h->signed_len,
                                   mac, &mac_len, &ms->err);
    if (rc != 0) {
        /* Never 0 here: that would mean "no stage authenticates", and a
         * backup would go out without its MAC. */
        return stage_failed(r, ms, "header_mac", rc);
    }
    if (mac_len == 0 || mac_len > SLUICE_MAC_MAX)
        return fail_msg(r, ms->name, SLUICE_E_INTERNAL,
                        "returned a MAC of impossible length");
    hex_encode(mac, mac_len, mac_hex);
    return 1;
}

/* ---- backup ------------------------------------------------------------ */

static void hash_tap(void *arg, const uint8_t *p, size_t n)
{
    sha256_update(arg, p, n);
}

static void moved_tap(void *arg, const uint8_t *p, size_t n)
{
    const chain_run *r = arg;
    (void)p;
    r->job->moved(r->job->moved_arg, n);
}

/* A link has one tap: the hash and the count, when both watch it. */
static void hash_moved_tap(void *arg, const uint8_t *p, size_t n)
{
    chain_run *r = arg;
    sha256_update(&r->hash, p, n);
    moved_tap(r, p, n);
}

static int wants_sha(const engine_job *job)
{
    return job->digest && job->digest->kind == ENGINE_DIGEST_SHA256;
}

/* engine_job.digest as a SHA-256: q is the link the stored bytes pass;
 * engine_job.moved: first, the link after the source. */
static void tap_stored(chain_run *r, const engine_job *job, blockq *q,
                       blockq *first)
{
    r->job = job;
    if (wants_sha(job) && q) {
        sha256_init(&r->hash);
        blockq_tap(q, job->moved && q == first ? hash_moved_tap : hash_tap,
                   q == first && job->moved ? (void *)r : (void *)&r->hash);
    }
    if (job->moved && first && !(wants_sha(job) && q == first))
        blockq_tap(first, moved_tap, r);
}

/* engine_job.digest: the stage whose binding (ABI 1.4) identifies the
 * object, the last in header order that has one: byorder[0..n) in header
 * order.  Forward, ENGINE_DIGEST_ANY settles on it, or on a SHA-256 when
 * there is none; reverse, a binding asked for and not offered fails the
 * run before anything flows. */
static int pick_binder(chain_run *r, const engine_job *job,
                       running_stage **byorder, size_t n)
{
    engine_digest *d = job->digest;
    if (!d || d->kind == ENGINE_DIGEST_SHA256)
        return 0;
    for (size_t i = n; i-- > 0 && !r->binder;)
        if (byorder[i]->ls->vt.binding)
            r->binder = byorder[i];
    if (r->binder)
        d->kind = ENGINE_DIGEST_BINDING;
    else if (d->kind == ENGINE_DIGEST_ANY)
        d->kind = ENGINE_DIGEST_SHA256;
    else
        return fail_msg(r, "engine", SLUICE_E_UNSUPPORTED,
                        "no stage of the chain binds what it reads (ABI "
                        "1.4): cannot check the object");
    return 0;
}

/* After a run that succeeded: the digest engine_job.digest asked for. */
static int finish_digest(chain_run *r, const engine_job *job)
{
    engine_digest *d = job->digest;
    if (d->kind == ENGINE_DIGEST_SHA256) {
        sha256_final(&r->hash, d->v);
        return 0;
    }
    running_stage *b = r->binder;
    int rc = b->ls->vt.binding(b->ctx, d->v, &b->err);
    return rc == 0 ? 0 : stage_failed(r, b, "binding", rc);
}

static int run_forward(chain_run *r, loader *l, const engine_job *job)
{
    running_stage *rs, *transforms[HEADER_MAX_STAGES];
    size_t nt = job->chain ? job->chain->n_stages : 0;
    header *h = header_new();
    uint8_t *hdr = NULL;
    size_t hdr_len = 0;
    int rc = h ? 0 : fail_msg(r, "engine", SLUICE_E_NOMEM, "out of memory");

    if (rc == 0)
        rc = add_endpoint(r, l, &job->source, SLUICE_FORWARD,
                          SLUICE_ROLE_SOURCE, &rs);
    for (size_t i = 0; rc == 0 && i < nt; i++)
        rc = add_stage(r, l, job->chain->stages[i].name, SLUICE_FORWARD,
                       SLUICE_ROLE_TRANSFORM, &transforms[i]);
    running_stage *sink = NULL;
    if (rc == 0)
        rc = add_endpoint(r, l, &job->sink, SLUICE_FORWARD,
                          SLUICE_ROLE_SINK, &sink);
    /* Transforms open first (they may prompt for a passphrase), each
     * recording its header line; then the endpoints. */
    for (size_t i = 0; rc == 0 && i < nt; i++) {
        const header_stage *spec = &job->chain->stages[i];
        sluice_error e = {0};
        rc = header_add_stage(h, spec->name, NULL, 0, &e);
        if (rc < 0) {
            set_fail(r, spec->name, &e);
            break;
        }
        transforms[i]->host.record_into = &h->stages[h->n_stages - 1];
        rc = open_stage(r, transforms[i], spec->params, spec->n_params,
                        job->transform_options, job->n_transform_options);
        transforms[i]->host.record_into = NULL;
    }
    if (rc == 0) {
        sluice_error e = {0};
        rc = header_seal(h, &e);
        if (rc < 0)
            set_fail(r, "header", &e);
    }
    char mac_hex[2 * SLUICE_MAC_MAX + 1];
    if (rc == 0)
        rc = header_mac_hex(r, transforms, nt, h, mac_hex);
    if (rc >= 0)
        rc = header_render(h, mac_hex[0] ? mac_hex : NULL, &hdr, &hdr_len);
    if (rc < 0 && !r->failed)
        fail_msg(r, "header", rc, "cannot build the header");
    if (rc == 0)
        rc = open_stage(r, &r->st[0], NULL, 0, job->source.options,
                        job->source.n_options);
    if (rc == 0)
        rc = open_stage(r, sink, NULL, 0, job->sink.options,
                        job->sink.n_options);
    r->source_depth = job->source_depth;
    if (rc == 0)
        rc = connect_stages(r);
    if (rc == 0)
        rc = pick_binder(r, job, transforms, nt);
    if (rc == 0)
        tap_stored(r, job, r->links[r->n_links - 1], r->links[0]);
    /* The header goes first into the sink's input, ahead of the body. */
    if (rc == 0 && !job->no_header)
        rc = output_write(&r->st[r->n - 2].out, hdr, hdr_len);
    if (rc == 0)
        rc = start_threads(r, 0);
    r->in_base = r->n == 2 && !job->no_header ? hdr_len : 0;
    progress *pg = rc == 0 ? start_progress(r, r->in_base) : NULL;
    join_threads(r);
    progress_stop(pg);
    free(hdr);
    header_free(h);
    return run_status(r);
}

/* ---- restore ----------------------------------------------------------- */

/* Reads and parses the header from in; leaves in positioned after it
 * (or, for a plain stream, at its first byte). */
static int read_stream_header(sluice_input *in, header **out,
                              int *not_sluice, sluice_error *err)
{
    uint8_t *acc = NULL;
    size_t len = 0;
    sluice_error e = {0};
    int rc;
    *out = NULL;
    *not_sluice = 0;
    for (int first = 1;; first = 0) {
        const uint8_t *p;
        ptrdiff_t n = input_read_next(in, &p);
        if (n < 0) {
            rc = (int)n;
            break;
        }
        if (n == 0) {
            if (len == 0) {
                *not_sluice = 1;
                rc = sluice_error_set(&e, SLUICE_E_FORMAT,
                                      "empty input: not a sluice stream");
            } else {
                rc = header_parse(acc, len, out, not_sluice, &e);
                if (rc == 0)
                    rc = sluice_error_set(&e, SLUICE_E_FORMAT,
                                          "truncated header (input ends "
                                          "after %zu bytes)", len);
                else if (rc == 1)
                    rc = 0;
                if (rc < 0 && *not_sluice)
                    input_unread(in, acc, len);
            }
            break;
        }
        if (first) {
            /* Common case: the whole header is in the first block; parse it
             * in place and give the rest back without copying. */
            rc = header_parse(p, (size_t)n, out, not_sluice, &e);
            if (rc == 1) {
                input_giveback(in, (size_t)n - (*out)->total_len);
                rc = 0;
                break;
            }
            if (rc < 0) {
                if (*not_sluice)
                    input_giveback(in, (size_t)n);
                break;
            }
        }
        uint8_t *grown = realloc(acc, len + (size_t)n);
        if (!grown) {
            rc = sluice_error_set(&e, SLUICE_E_NOMEM, "out of memory");
            break;
        }
        acc = grown;
        memcpy(acc + len, p, (size_t)n);
        len += (size_t)n;
        if (first)
            continue;
        rc = header_parse(acc, len, out, not_sluice, &e);
        if (rc == 1) {
            rc = input_unread(in, acc + (*out)->total_len,
                              len - (*out)->total_len);
            break;
        }
        if (rc < 0) {
            if (*not_sluice)
                input_unread(in, acc, len);
            break;
        }
    }
    free(acc);
    *err = e;
    return rc;
}

static int check_header_mac(chain_run *r, running_stage **order, size_t n,
                            const header *h)
{
    char mac_hex[2 * SLUICE_MAC_MAX + 1];
    int rc = header_mac_hex(r, order, n, h, mac_hex);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        if (h->mac_hex)
            return fail_msg(r, "header", SLUICE_E_AUTH,
                            "the header carries a MAC but no stage in its "
                            "chain can check it");
        return 0;
    }
    if (!h->mac_hex)
        return fail_msg(r, "header", SLUICE_E_AUTH,
                        "the header has no MAC although its chain "
                        "authenticates: stream tampered with");
    size_t len = strlen(mac_hex);
    if (strlen(h->mac_hex) != len || ct_memcmp(h->mac_hex, mac_hex, len) != 0)
        return fail_msg(r, "header", SLUICE_E_AUTH,
                        "authentication failed: wrong passphrase, or the "
                        "header was tampered with");
    return 0;
}

/* Whether the chain authenticates its input: a stage in it checks the
 * header MAC (check_header_mac has then verified it, or failed).  Decided
 * by capability, never by a stage's name. */
static int authenticated(running_stage **transforms, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (transforms[i]->ls->vt.flags & SLUICE_STAGE_HEADER_MAC)
            return 1;
    return 0;
}

/* A plain stream, or a chain without an authenticating stage, where the
 * caller asked for authentication: whoever can write the stored data
 * could otherwise swap an encrypted stream for one of their making. */
static int refuse_unauthenticated(chain_run *r, const char *why)
{
    char msg[SLUICE_ERROR_MAX];
    snprintf(msg, sizeof msg,
             "not encrypted, but %s: refusing; --allow-unencrypted to "
             "accept", why);
    return fail_msg(r, "input", SLUICE_E_AUTH, msg);
}

/* Restore.  Longer than a screen on purpose: the order of its steps is the
 * security argument (header read and parsed, every stage opened, MAC
 * checked, authentication required, only then tail and sink opened), and
 * it reads best as one sequence. */
static int run_reverse(chain_run *r, loader *l, const engine_job *job)
{
    running_stage *src, *sink, *transforms[HEADER_MAX_STAGES];
    progress *pg = NULL;
    header *h = NULL;
    const header *chain = job->chain;
    int rc = add_endpoint(r, l, &job->source, SLUICE_REVERSE,
                          SLUICE_ROLE_SOURCE, &src);
    if (rc == 0)
        rc = open_stage(r, src, NULL, 0, job->source.options,
                        job->source.n_options);
    blockq *q = rc == 0 ? new_link(r, 0) : NULL;
    if (rc == 0 && !q)
        rc = fail_msg(r, "engine", SLUICE_E_NOMEM, "out of memory");
    tap_stored(r, job, q, q);
    /* The source runs at once; this thread reads the header off its
     * output and hands the rest to the first reverse transform. */
    sluice_input head_in;
    if (rc == 0) {
        output_init(&src->out, q);
        src->has_out = 1;
        input_init(&head_in, q);
        rc = start_threads(r, 0);
    }
    if (rc == 0 && !chain) {
        int not_sluice;
        sluice_error e;
        rc = read_stream_header(&head_in, &h, &not_sluice, &e);
        if (rc < 0 && not_sluice && job->allow_plain)
            rc = 0; /* a plain stream: no transforms */
        else if (rc < 0 && rc != SLUICE_E_CANCELED)
            set_fail(r, "header", &e);
        chain = h;
    }
    size_t nt = chain ? chain->n_stages : 0;
    /* Restore undoes the chain: last header line first. */
    for (size_t i = 0; rc == 0 && i < nt; i++)
        rc = add_stage(r, l, chain->stages[nt - 1 - i].name, SLUICE_REVERSE,
                       SLUICE_ROLE_TRANSFORM, &transforms[i]);
    /* The stage after the chain (the archive stage of -x and -t) loads
     * on a thread while the chain's stages open and the header's MAC is
     * checked (the key is derived then: 7 ms; libarchive and its
     * libraries take about 10).  Not before: plugins load one at a time,
     * and the chain's are needed first. */
    const char *next = job->tail.name ? job->tail.name
                       : job->sink.mem  ? NULL
                                        : job->sink.name;
    loader_preload *pre = rc == 0 && nt && next
                              ? loader_preload_start(l, next)
                              : NULL;
    for (size_t i = 0; rc == 0 && i < nt; i++) {
        const header_stage *hs = &chain->stages[nt - 1 - i];
        rc = open_stage(r, transforms[i], hs->params, hs->n_params,
                        job->transform_options, job->n_transform_options);
    }
    running_stage *hdr_order[HEADER_MAX_STAGES];
    for (size_t i = 0; rc == 0 && i < nt; i++)
        hdr_order[i] = transforms[nt - 1 - i];
    /* Authenticate before a single byte reaches the sink.  The MAC stage
     * is the last in header order = the first in reverse. */
    if (rc == 0 && h)
        rc = check_header_mac(r, hdr_order, nt, h);
    if (rc == 0)
        rc = pick_binder(r, job, hdr_order, nt);
    int authentic = rc == 0 && authenticated(transforms, nt);
    if (rc == 0 && job->require_auth && !authentic)
        rc = refuse_unauthenticated(r, job->require_auth);
    loader_preload_end(pre);
    if (rc == 0 && job->tail.name) {
        running_stage *tail;
        rc = add_stage(r, l, job->tail.name, SLUICE_REVERSE,
                       SLUICE_ROLE_TRANSFORM, &tail);
        if (rc == 0)
            rc = open_stage(r, tail, NULL, 0, job->tail.options,
                            job->tail.n_options);
    }
    if (rc == 0)
        rc = add_endpoint(r, l, &job->sink, SLUICE_REVERSE,
                          SLUICE_ROLE_SINK, &sink);
    if (rc == 0 && authentic && job->auth_sink_options)
        rc = open_stage(r, sink, NULL, 0, job->auth_sink_options,
                        job->n_auth_sink_options);
    else if (rc == 0)
        rc = open_stage(r, sink, NULL, 0, job->sink.options,
                        job->sink.n_options);
    if (rc == 0) {
        /* The stage after the source takes over the header reader's
         * input, with its position and any bytes given back. */
        r->st[1].in = head_in;
        r->st[1].has_in = 1;
        r->sink_depth = job->sink_depth;
        rc = connect_stages(r);
        if (rc == 0)
            rc = start_threads(r, 1);
        if (rc == 0)
            pg = start_progress(r, 0);
    } else if (q) {
        input_close(&head_in);
    }
    if (rc < 0)
        engine_abort(r);
    join_threads(r);
    progress_stop(pg);
    header_free(h);
    return run_status(r);
}

int engine_run(session *s, loader *l, const engine_job *job,
               engine_error *fail)
{
    chain_run *r = malloc(sizeof *r);
    if (!r) {
        memset(fail, 0, sizeof *fail);
        snprintf(fail->subject, sizeof fail->subject, "engine");
        sluice_error_set(&fail->err, SLUICE_E_NOMEM, "out of memory");
        return SLUICE_E_NOMEM;
    }
    run_init(r, s, fail, job->isolated);
    int rc;
    if (atomic_load(&s->cancelled))
        rc = run_status(r); /* a signal came first: start nothing */
    else
        rc = job->direction == SLUICE_FORWARD ? run_forward(r, l, job)
                                              : run_reverse(r, l, job);
    if (job->bytes_in)
        *job->bytes_in = r->n_links ? blockq_bytes(r->links[0]) - r->in_base
                                    : 0;
    if (job->bytes_out)
        *job->bytes_out =
            r->n_links ? blockq_bytes(r->links[r->n_links - 1]) : 0;
    if (job->digest && rc == 0)
        rc = finish_digest(r, job);
    run_cleanup(r);
    free(r);
    return rc;
}

int engine_read_header(session *s, loader *l, const stage_spec *source,
                       header **out, engine_error *fail)
{
    chain_run *r = malloc(sizeof *r);
    if (!r)
        return SLUICE_E_NOMEM;
    run_init(r, s, fail, 0);
    running_stage *src;
    sluice_input in;
    int have_in = 0, not_sluice = 0;
    blockq *q = NULL;
    int rc = atomic_load(&s->cancelled) /* a signal came first */
                 ? run_status(r)
                 : add_stage(r, l, source->name, SLUICE_REVERSE,
                             SLUICE_ROLE_SOURCE, &src);
    if (rc == 0)
        rc = open_stage(r, src, NULL, 0, source->options, source->n_options);
    if (rc == 0 && !(q = new_link(r, 0)))
        rc = fail_msg(r, "engine", SLUICE_E_NOMEM, "out of memory");
    if (rc == 0) {
        output_init(&src->out, q);
        src->has_out = 1;
        input_init(&in, q);
        have_in = 1;
        rc = start_threads(r, 0);
    }
    if (rc == 0) {
        sluice_error e;
        rc = read_stream_header(&in, out, &not_sluice, &e);
        if (rc < 0 && rc != SLUICE_E_CANCELED)
            set_fail(r, "header", &e);
    }
    /* Only the header was wanted: stop the source. */
    abort_links(r, SLUICE_E_CANCELED);
    join_threads(r);
    if (have_in)
        input_close(&in);
    /* The source's own failure (a 404, say) is the cause, not the
     * cancellation the header reader saw. */
    if (rc < 0)
        rc = r->failed ? r->fail->err.code : run_status(r);
    run_cleanup(r);
    free(r);
    return rc;
}

/* The endpoint stage for remove()/list(): loaded, its options checked
 * against its keys (as a forward sink's), and its op present; minor: the
 * ABI that added the op. */
static int endpoint_stage(chain_run *r, loader *l, const stage_spec *target,
                          int (*has_op)(const sluice_stage *),
                          unsigned minor, const char *cannot,
                          running_stage **out)
{
    running_stage *rs;
    int rc = add_stage(r, l, target->name, SLUICE_FORWARD, SLUICE_ROLE_SINK,
                       &rs);
    if (rc < 0)
        return rc;
    if (rs->ls->abi_minor < minor || !has_op(&rs->ls->vt)) {
        char m[160];
        if (rs->ls->abi_minor < minor)
            snprintf(m, sizeof m, "cannot %s (a plugin built for ABI %u.%u)",
                     cannot, rs->ls->abi_major, rs->ls->abi_minor);
        else
            snprintf(m, sizeof m, "cannot %s", cannot);
        return fail_msg(r, rs->name, SLUICE_E_UNSUPPORTED, m);
    }
    sluice_kv *opts;
    rc = stagekeys_apply(&rs->ls->vt, SLUICE_FORWARD, NULL, 0,
                         target->options, target->n_options, &opts,
                         &rs->args.n_options, &rs->err);
    rs->args.options = opts;
    if (rc < 0)
        set_fail(r, rs->name, &rs->err);
    *out = rs;
    return rc;
}

/* A stage's op returned rc: 0, or a status with the failure set. */
static int endpoint_status(chain_run *r, running_stage *rs, int rc)
{
    if (rc > 0 || (rc < 0 && rs->err.code == 0))
        rs->err.code = rc = rc > 0 ? SLUICE_E_INTERNAL : rc;
    if (rc < 0)
        set_fail(r, rs->name, &rs->err);
    return rc;
}

static int has_remove(const sluice_stage *vt)
{
    return vt->remove != NULL;
}

static int has_list(const sluice_stage *vt)
{
    return vt->list != NULL;
}

int engine_remove(session *s, loader *l, const stage_spec *target,
                  engine_error *fail)
{
    chain_run *r = malloc(sizeof *r);
    if (!r)
        return SLUICE_E_NOMEM;
    run_init(r, s, fail, 0);
    running_stage *rs = NULL;
    int rc = endpoint_stage(r, l, target, has_remove, 1, "remove objects",
                            &rs);
    if (rc == 0)
        rc = endpoint_status(r, rs, rs->ls->vt.remove(&rs->args, &rs->err));
    run_cleanup(r);
    free(r);
    return rc;
}

/* Between a stage's list() and the caller's callback: every entry is
 * checked (a stage's bug must not become a prune's wrong delete) and
 * copied into the host's struct, whatever the stage's struct_size. */
typedef struct list_relay {
    sluice_list_fn fn;
    void *arg;
    int stopped;  /* fn's status, when it stopped the listing */
    int bad;      /* a malformed entry */
} list_relay;

/* A name as plugin.h promises it: relative, no empty, "." or ".."
 * component (a request would fold "a/../b" into "b"). */
static int entry_name_ok(const char *n)
{
    if (!n || !*n ||
        strnlen(n, SLUICE_ENTRY_NAME_MAX + 1) > SLUICE_ENTRY_NAME_MAX)
        return 0;
    for (;;) {
        size_t l = strcspn(n, "/");
        if (l == 0 || (l == 1 && n[0] == '.') ||
            (l == 2 && n[0] == '.' && n[1] == '.'))
            return 0;
        if (!n[l])
            return 1;
        n += l + 1;
    }
}

static int relay(void *arg, const sluice_entry *e)
{
    list_relay *lr = arg;
    sluice_entry c = {0};
    size_t need = offsetof(sluice_entry, upload_id) + sizeof c.upload_id;
    if (!e || e->struct_size < need || e->struct_size > 4096) {
        lr->bad = 1;
        return SLUICE_E_INTERNAL;
    }
    memcpy(&c, e, need);
    c.struct_size = sizeof c;
    if (!entry_name_ok(c.name) || c.kind < SLUICE_ENTRY_OBJECT ||
        c.kind > SLUICE_ENTRY_OTHER ||
        (c.kind == SLUICE_ENTRY_UPLOAD) != (c.upload_id != NULL)) {
        lr->bad = 1;
        return SLUICE_E_INTERNAL;
    }
    int rc = lr->fn(lr->arg, &c);
    if (rc)
        lr->stopped = rc = rc > 0 ? SLUICE_E_INTERNAL : rc;
    return rc;
}

int engine_list(session *s, loader *l, const stage_spec *target,
                sluice_list_fn fn, void *arg, engine_error *fail)
{
    chain_run *r = malloc(sizeof *r);
    if (!r)
        return SLUICE_E_NOMEM;
    run_init(r, s, fail, 0);
    running_stage *rs = NULL;
    list_relay lr = {fn, arg, 0, 0};
    int rc = endpoint_stage(r, l, target, has_list, 3, "list objects", &rs);
    if (rc == 0) {
        rc = rs->ls->vt.list(&rs->args, relay, &lr, &rs->err);
        if (lr.bad)
            rc = fail_msg(r, rs->name, SLUICE_E_INTERNAL,
                          "listed a malformed entry (a bug in the stage)");
        else if (!(lr.stopped && rc == lr.stopped))
            rc = endpoint_status(r, rs, rc);
    }
    run_cleanup(r);
    free(r);
    return rc;
}
