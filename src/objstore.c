/* objstore.c - named objects under a collection root; see objstore.h. */
#include "objstore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/presets.h"
#include "util.h"

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

typedef preset_endpoint ep;

/* The endpoint stage for url, as the front end's. */
static void endpoint(objstore *o, const char *url, ep *e, stage_spec *spec)
{
    preset_net net = {o->s3_endpoint, o->insecure, 0};
    preset_endpoint_for(url, &net, e, spec);
}

static void file_spec(ep *e, stage_spec *spec, const char *path)
{
    preset_file_endpoint(path, e, spec);
}

static int run(objstore *o, engine_job *job, const char *what)
{
    engine_error fail = {0};
    int rc = engine_run(o->s, o->l, job, &fail);
    if (rc < 0)
        snprintf(o->msg, sizeof o->msg, "%s: %s: %s", what, fail.subject,
                 fail.err.message[0] ? fail.err.message : "failed");
    return rc;
}

static int mkparents(objstore *o, const char *path)
{
    char *p = strdup(path);
    if (!p)
        return SLUICE_E_NOMEM;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0777) < 0 && errno != EEXIST) {
            snprintf(o->msg, sizeof o->msg, "%s: cannot create: %s", p,
                     strerror(errno));
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
    static header h; /* n_stages = 0: a plain copy */
    return &h;
}

/* A scratch file name for remote transfers. */
static char *scratch(objstore *o)
{
    size_t n = strlen(o->tmpdir) + 32;
    char *p = malloc(n);
    static unsigned seq;
    if (p)
        snprintf(p, n, "%s/obj-%u", o->tmpdir, seq++);
    return p;
}

/* Runs a forward job whose sink is object root/name: directly for a
 * local root, else through a scratch file (which gives the size). */
static int put_job(objstore *o, engine_job *job, const char *root,
                   const char *name, uint64_t *stored, int exclusive)
{
    char *url = os_url(root, name);
    if (!url)
        return SLUICE_E_NOMEM;
    ep e;
    int rc;
    if (os_is_local(root)) {
        rc = mkparents(o, url);
        if (rc == 0) {
            file_spec(&e, &job->sink, url);
            if (exclusive) {
                e.kv[e.n++] = (sluice_kv){"exclusive", "1"};
                job->sink.n_options = e.n;
            }
            rc = run(o, job, url);
        }
        struct stat st;
        if (rc == 0 && stored)
            *stored = stat(url, &st) == 0 ? (uint64_t)st.st_size : 0;
        free(url);
        return rc;
    }
    if (exclusive && !os_can_exclusive(o, root)) {
        snprintf(o->msg, sizeof o->msg, "%s: its stage cannot create an "
                 "object exclusively", url);
        free(url);
        return SLUICE_E_UNSUPPORTED;
    }
    char *tmp = scratch(o);
    file_spec(&e, &job->sink, tmp);
    rc = run(o, job, url);
    struct stat st;
    if (rc == 0 && stored)
        *stored = stat(tmp, &st) == 0 ? (uint64_t)st.st_size : 0;
    if (rc == 0) {
        engine_job up = {0};
        ep se, de;
        up.direction = SLUICE_FORWARD;
        up.chain = empty_chain();
        up.no_header = 1;
        file_spec(&se, &up.source, tmp);
        endpoint(o, url, &de, &up.sink);
        if (exclusive) {
            de.kv[de.n++] = (sluice_kv){"exclusive", "1"};
            up.sink.n_options = de.n;
        }
        rc = run(o, &up, url);
    }
    unlink(tmp);
    free(tmp);
    free(url);
    return rc;
}

int os_put_file(objstore *o, const char *root, const char *name,
                const char *src, uint64_t *stored)
{
    engine_job job = {0};
    ep se;
    job.direction = SLUICE_FORWARD;
    job.chain = o->fchain;
    job.no_header = 1;
    file_spec(&se, &job.source, src);
    return put_job(o, &job, root, name, stored, 0);
}

int os_put_range(objstore *o, const char *root, const char *name,
                 const char *src, uint64_t offset, uint64_t length,
                 uint64_t *stored)
{
    engine_job job = {0};
    ep se;
    char off[24], len[24];
    snprintf(off, sizeof off, "%llu", (unsigned long long)offset);
    snprintf(len, sizeof len, "%llu", (unsigned long long)length);
    job.direction = SLUICE_FORWARD;
    job.chain = o->fchain;
    job.no_header = 1;
    file_spec(&se, &job.source, src);
    se.kv[se.n++] = (sluice_kv){"offset", off};
    se.kv[se.n++] = (sluice_kv){"length", len};
    job.source.n_options = se.n;
    return put_job(o, &job, root, name, stored, 0);
}

int os_put_plain(objstore *o, const char *root, const char *name,
                 const char *src, int exclusive)
{
    engine_job job = {0};
    ep se;
    job.direction = SLUICE_FORWARD;
    job.chain = empty_chain();
    job.no_header = 1;
    file_spec(&se, &job.source, src);
    return put_job(o, &job, root, name, NULL, exclusive);
}

int os_put_archive(objstore *o, const char *root, const char *name,
                   const char *dir, const char *list, uint64_t *stored)
{
    engine_job job = {0};
    sluice_kv kv[5];
    size_t n = 0;
    kv[n++] = (sluice_kv){"files-from", list};
    kv[n++] = (sluice_kv){"null", "1"};
    kv[n++] = (sluice_kv){"no-recursion", "1"};
    if (dir)
        kv[n++] = (sluice_kv){"directory", dir};
    job.direction = SLUICE_FORWARD;
    job.chain = o->fchain;
    job.no_header = 1;
    job.source.name = preset_archive_stage();
    job.source.options = kv;
    job.source.n_options = n;
    return put_job(o, &job, root, name, stored, 0);
}

int os_get_file(objstore *o, const char *root, const char *name,
                const char *dst)
{
    char *url = os_url(root, name);
    if (!url)
        return SLUICE_E_NOMEM;
    engine_job job = {0};
    ep se, de;
    job.direction = SLUICE_REVERSE;
    job.chain = o->rchain ? o->rchain : empty_chain();
    job.no_header = 1;
    endpoint(o, url, &se, &job.source);
    file_spec(&de, &job.sink, dst);
    int rc = run(o, &job, url);
    free(url);
    return rc;
}

int os_extract(objstore *o, const char *root, const char *name,
               const char *dir, char **members, size_t n, int list_only)
{
    char *url = os_url(root, name);
    sluice_kv *kv = malloc((n + 4) * sizeof *kv);
    if (!url || !kv) {
        free(url);
        free(kv);
        return SLUICE_E_NOMEM;
    }
    size_t k = 0;
    kv[k++] = (sluice_kv){"no-recursion", "1"};
    if (list_only)
        kv[k++] = (sluice_kv){"list", "1"};
    else
        kv[k++] = (sluice_kv){"directory", dir};
    for (size_t i = 0; i < n; i++)
        kv[k++] = (sluice_kv){"arg", members[i]};
    engine_job job = {0};
    ep se, de;
    job.direction = SLUICE_REVERSE;
    job.chain = o->rchain ? o->rchain : empty_chain();
    job.no_header = 1;
    endpoint(o, url, &se, &job.source);
    if (list_only) {
        job.tail.name = preset_archive_stage();
        job.tail.options = kv;
        job.tail.n_options = k;
        file_spec(&de, &job.sink, "/dev/null");
    } else {
        job.sink.name = preset_archive_stage();
        job.sink.options = kv;
        job.sink.n_options = k;
    }
    int rc = run(o, &job, url);
    free(kv);
    free(url);
    return rc;
}

/* The stage behind a remote root, or NULL (o->msg says why). */
static const loaded_stage *remote_stage(objstore *o, const char *root)
{
    ep e;
    stage_spec spec = {0};
    endpoint(o, root, &e, &spec);
    const loaded_stage *ls = NULL;
    sluice_error err = {0};
    if (loader_find(o->l, spec.name, &ls, &err) < 0) {
        snprintf(o->msg, sizeof o->msg, "%s: %s", spec.name, err.message);
        return NULL;
    }
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

int os_delete(objstore *o, const char *root, const char *name)
{
    char *url = os_url(root, name);
    if (!url)
        return SLUICE_E_NOMEM;
    int rc = 0;
    if (os_is_local(root)) {
        if (unlink(url) < 0 && errno != ENOENT) {
            snprintf(o->msg, sizeof o->msg, "%s: %s", url, strerror(errno));
            rc = SLUICE_E_IO;
        }
    } else if (!os_can_delete(o, root)) {
        rc = 1;
    } else {
        ep e;
        stage_spec spec = {0};
        endpoint(o, url, &e, &spec);
        engine_error fail = {0};
        rc = engine_remove(o->s, o->l, &spec, &fail);
        if (rc < 0)
            snprintf(o->msg, sizeof o->msg, "%s: %s: %s", url, fail.subject,
                     fail.err.message);
    }
    free(url);
    return rc;
}

int os_read_header(objstore *o, const char *root, const char *name,
                   header **out)
{
    char *url = os_url(root, name);
    if (!url)
        return SLUICE_E_NOMEM;
    ep se;
    stage_spec src = {0};
    endpoint(o, url, &se, &src);
    engine_error fail = {0};
    int rc = engine_read_header(o->s, o->l, &src, out, &fail);
    if (rc < 0)
        snprintf(o->msg, sizeof o->msg, "%s: %s: %s", url, fail.subject,
                 fail.err.message);
    free(url);
    return rc;
}

int os_put_descriptor(objstore *o, const char *root, const char *name,
                      int exclusive)
{
    engine_job job = {0};
    ep se;
    job.direction = SLUICE_FORWARD;
    job.chain = o->fchain;
    file_spec(&se, &job.source, "/dev/null");
    return put_job(o, &job, root, name, NULL, exclusive);
}

int os_check_descriptor(objstore *o, const char *root, const char *name)
{
    char *url = os_url(root, name);
    if (!url)
        return SLUICE_E_NOMEM;
    engine_job job = {0};
    ep se, de;
    job.direction = SLUICE_REVERSE;
    endpoint(o, url, &se, &job.source);
    file_spec(&de, &job.sink, "/dev/null");
    int rc = run(o, &job, url);
    free(url);
    return rc;
}
