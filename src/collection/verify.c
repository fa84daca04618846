/* verify.c - `sluice verify` (doc/FORMAT.md 5.8): every manifest, every
 * tar object listed to nothing (authenticated, members checked), every
 * chunk object decoded and counted; several objects at once. */
#define _GNU_SOURCE
#include "coll.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../presets.h"
#include "../status.h"
#include "chunks.h"
#include "restore.h"

/* Entries pointing to an older backup must name one the INDEX lists. */
static int check_refs(coll *k, const manifest *ms)
{
    int ex = 0;
    for (size_t i = 0; i < k->ix.n; i++)
        for (size_t j = 0; j < ms[i].entries.n; j++) {
            const mentry *e = &ms[i].entries.e[j];
            if (!find_backup(k, e->bid)) {
                say("verify: backups/%s/MANIFEST: %s refers to unknown "
                    "backup %s", ms[i].id, e->path, e->bid);
                ex = worse(ex, EXIT_FORMAT);
            }
        }
    return ex;
}

/* The entries each backup stored itself: v, members of its tar objects
 * (sorted by object); sp, its split files; *nobj counts both kinds. */
static void stored_entries(const coll *k, manifest *ms, mentry **v,
                           size_t *n, mentry **sp, size_t *nsp, size_t *nobj)
{
    for (size_t i = 0; i < k->ix.n; i++)
        for (size_t j = 0; j < ms[i].entries.n; j++) {
            mentry *e = &ms[i].entries.e[j];
            if (!e->bid || strcmp(e->bid, ms[i].id)) /* an older one's */
                continue;
            if (e->nchunks)
                sp[(*nsp)++] = e, *nobj += e->nchunks;
            else
                v[(*n)++] = e;
        }
    qsort_r(v, *n, sizeof *v, cmp_group, NULL);
    for (size_t i = 0; i < *n; i++)
        if (i == 0 || strcmp(v[i]->bid, v[i - 1]->bid) ||
            v[i]->obj != v[i - 1]->obj)
            (*nobj)++;
}

int cmd_verify(coll *k)
{
    int ex = open_existing(k);
    if (ex)
        return ex;
    /* Every object any manifest names, with the members it must hold. */
    manifest *ms = calloc(k->ix.n + 1, sizeof *ms);
    size_t total = 0, nobj = 0, n = 0, nsp = 0;
    for (size_t i = 0; ms && i < k->ix.n && !interrupted(k); i++) {
        ex = worse(ex, load_manifest(k, k->ix.e[i].id, &ms[i]));
        total += ms[i].entries.n;
    }
    mentry **v = malloc((total + 1) * sizeof *v);
    mentry **sp = malloc((total + 1) * sizeof *sp);
    if (!ms || !v || !sp) {
        say("verify: out of memory");
        ex = EXIT_INTERNAL;
    } else {
        stored_entries(k, ms, v, &n, sp, &nsp, &nobj);
        feedback_start(k, "files");
        feedback_expect(k, v, n);
        feedback_expect(k, sp, nsp);
        ex = worse(ex, check_refs(k, ms));
        ex = worse(ex, extract_groups(k, v, n, NULL, 1, "verify"));
        /* Split files: every chunk decoded (authenticated), sizes checked. */
        for (size_t i = 0; i < nsp && !interrupted(k); i++)
            ex = worse(ex, chunks_fetch(k, sp[i], -1, "verify"));
    }
    /* Only an encrypted collection's objects are authenticated: an
     * unencrypted one is said to be what was checked, never authentic. */
    int sealed = preset_encrypts(k->desc);
    feedback_stop(k);
    if (!k->c->quiet && !interrupted(k))
        printf("%zu backups, %zu objects %s\n", k->ix.n, nobj,
               ex ? "checked: DAMAGED (see above)"
               : sealed ? "checked, all authentic and complete"
                        : "decoded and complete; not authenticated: the "
                          "collection is not encrypted");
    for (size_t i = 0; ms && i < k->ix.n; i++)
        manifest_free(&ms[i]);
    free(ms);
    free(v);
    free(sp);
    return ex;
}
