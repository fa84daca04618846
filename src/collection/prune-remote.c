/* prune-remote.c - prune's sweep of a root that is not a local directory
 * (s3://BUCKET/PREFIX), through its stage's list() (ABI 1.3; prune.h).
 *
 * The listing is read whole first and only the unreferenced entries are
 * kept (a listing that fails removes nothing at that root).  Then, in
 * this order: data objects and strays under backups/, incomplete
 * multipart uploads started before the grace cutoff, and MANIFESTs last,
 * so that an interrupted prune leaves every forgotten backup that still
 * has objects anywhere recognisable (prune_ours) by the next one.  No
 * order matters for the INDEX's backups: nothing they reference is ever
 * a candidate.  A name is acted on only when it is backups/ID[/OBJ] with
 * plain components: whatever else a listing holds (the INDEX, the LOCK,
 * another program's keys) is left alone. */
#include "prune.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../status.h"

typedef struct cand {
    char *rel, *upload_id;
    uint64_t size;
    int64_t mtime;
} cand;

typedef struct cands {
    cand *v;
    size_t n, cap;
} cands;

typedef struct sweep {
    coll *k;
    tally *t;
    const live *L;
    const prune_dflt *dflt;
    live *found; /* prune_manifests: only collects ID/MANIFEST */
    cands data, uploads, manifests;
    int nomem;
} sweep;

static int add(sweep *w, cands *c, const sluice_entry *e)
{
    if (c->n == c->cap) {
        size_t n = c->cap ? 2 * c->cap : 64;
        cand *v = realloc(c->v, n * sizeof *v);
        if (!v)
            return w->nomem = SLUICE_E_NOMEM;
        c->v = v;
        c->cap = n;
    }
    cand *x = &c->v[c->n];
    x->rel = strdup(e->name);
    x->upload_id = e->upload_id ? strdup(e->upload_id) : NULL;
    x->size = e->size;
    x->mtime = e->mtime;
    if (!x->rel || (e->upload_id && !x->upload_id)) {
        free(x->rel);
        free(x->upload_id);
        return w->nomem = SLUICE_E_NOMEM;
    }
    c->n++;
    return 0;
}

static void cands_free(cands *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].rel);
        free(c->v[i].upload_id);
    }
    free(c->v);
}

/* A component a collection writes: [A-Za-z0-9._-]{1,200}, not . or .. */
static size_t component(const char *s)
{
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789._-");
    if (n == 0 || n > 200 || (n == 1 && s[0] == '.') ||
        (n == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    return n;
}

/* "backups/ID/OBJ" -> 3, "backups/ID" -> 2 (id, *obj set), else 0. */
static int split(const char *name, char id[256], const char **obj)
{
    if (strncmp(name, "backups/", 8) != 0)
        return 0;
    const char *p = name + 8;
    size_t n = component(p);
    if (!n)
        return 0;
    memcpy(id, p, n);
    id[n] = '\0';
    *obj = "";
    if (!p[n])
        return 2;
    size_t m = p[n] == '/' ? component(p + n + 1) : 0;
    if (!m || p[n + 1 + m])
        return 0;
    *obj = p + n + 1;
    return 3;
}

static int on_entry(void *arg, const sluice_entry *e)
{
    sweep *w = arg;
    if (interrupted(w->k))
        return SLUICE_E_CANCELED;
    char id[256];
    const char *obj;
    int parts = split(e->name, id, &obj);
    if (!parts)
        return 0; /* not backups/ID[/OBJ]: left alone, uploads too */
    if (e->kind == SLUICE_ENTRY_UPLOAD) {
        if (w->found || (w->dflt && !prune_ours(w->dflt, id, w->L)))
            return 0; /* another collection's, at a shared destination */
        if (e->mtime >= w->t->cutoff) {
            w->t->young++;
            return 0;
        }
        return add(w, &w->uploads, e);
    }
    if (w->found)
        return parts == 3 && !strcmp(obj, "MANIFEST") &&
                       live_add(w->found, id, "MANIFEST") < 0
                   ? (w->nomem = SLUICE_E_NOMEM)
                   : 0;
    if (w->dflt && !prune_ours(w->dflt, id, w->L))
        return 0; /* another collection's, at a shared destination */
    if (parts == 3 && live_has(w->L, id, obj))
        return 0;
    return add(w, parts == 3 && !strcmp(obj, "MANIFEST") ? &w->manifests
                                                          : &w->data,
               e);
}

/* Lists root into w; 0, or -1 (said; t->failed set unless a signal). */
static int list_root(sweep *w, const char *root)
{
    os_err err = {{0}};
    int rc = os_list(&w->k->o, root, on_entry, w, &err);
    if (rc == 0 || interrupted(w->k))
        return rc == 0 ? 0 : -1;
    if (w->nomem || !err.msg[0])
        say("prune: %s: listing: out of memory; nothing removed there",
            root);
    else
        say("prune: %s; nothing removed there", err.msg);
    w->t->failed = 1;
    return -1;
}

/* Removes (or, dry, names) the candidates of one kind. */
static void drop_all(sweep *w, const char *root, const cands *c, int upload)
{
    coll *k = w->k;
    tally *t = w->t;
    for (size_t i = 0; i < c->n && !interrupted(k); i++) {
        const cand *x = &c->v[i];
        os_err err = {{0}};
        int rc = t->dry ? 0
                 : upload
                     ? os_abort_upload(&k->o, root, x->rel, x->upload_id, &err)
                     : os_delete(&k->o, root, x->rel, &err);
        if (rc > 0)
            snprintf(err.msg, sizeof err.msg, "%s/%s: its stage cannot "
                     "remove objects", root, x->rel);
        if (rc != 0) {
            if (!interrupted(k))
                say("prune: %s", err.msg);
            t->failed = 1;
            continue;
        }
        if (!upload) {
            prune_count(k, t, root, x->rel, x->size);
            continue;
        }
        t->uploads++;
        if (k->c->verbose || t->dry) {
            char line[1400], when[40];
            fmt_time(x->mtime, when, sizeof when, 0);
            snprintf(line, sizeof line, "%s incomplete upload %s/%s "
                     "(started %s)", t->dry ? "would abort" : "aborted",
                     root, x->rel, when);
            host_print_listing(stdout, line);
        }
    }
}

void prune_remote(coll *k, tally *t, const char *root, const live *L,
                  const prune_dflt *dflt)
{
    sweep w = {k, t, L, dflt, NULL, {0}, {0}, {0}, 0};
    if (list_root(&w, root) == 0) {
        drop_all(&w, root, &w.data, 0);
        drop_all(&w, root, &w.uploads, 1);
        drop_all(&w, root, &w.manifests, 0);
    }
    cands_free(&w.data);
    cands_free(&w.uploads);
    cands_free(&w.manifests);
}

int prune_manifests(coll *k, const char *root, live *out)
{
    tally t = {0};
    sweep w = {k, &t, NULL, NULL, out, {0}, {0}, {0}, 0};
    int rc = list_root(&w, root);
    live_sort(out);
    return rc;
}
