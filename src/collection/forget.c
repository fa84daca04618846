/* forget.c - `sluice forget` (doc/FORMAT.md 5.9): drops the INDEX lines of
 * the backups a retention policy (retention.h) does not keep, under the
 * lock; `--prune` then removes what nothing references (prune.c).
 *
 * Incremental backups: an entry unchanged since an older backup names
 * that backup's data object (FORMAT.md 5.3), and verify requires every
 * backup an entry names to be in the INDEX.  So a backup that a kept
 * backup's MANIFEST names is kept too ("needed by ID"), and so on for
 * the backups those name.  Only what is really referenced is kept, not
 * the whole parent chain (retention_apply is given no parents): a backup
 * whose every stored entry was changed again later is no longer needed,
 * so daily incrementals do free space.  The INDEX `parent` field of a
 * survivor may then name a forgotten backup: it is informational (the
 * next backup's parent is the host's newest, always kept). */
#define _GNU_SOURCE
#include "coll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../status.h"
#include "retention.h"

static int make_policy(coll *k, ret_policy *p)
{
    const coll_opts *c = k->c;
    memset(p, 0, sizeof *p);
    p->last = c->keep_last;
    p->hourly = c->keep_hourly;
    p->daily = c->keep_daily;
    p->weekly = c->keep_weekly;
    p->monthly = c->keep_monthly;
    p->yearly = c->keep_yearly;
    p->host = c->host;
    if (c->keep_within) {
        char err[200];
        if (when_parse_span(c->keep_within, &p->within, err, sizeof err) <
            0) {
            say("forget: --keep-within %s", err);
            return EXIT_USAGE;
        }
    }
    if (retention_policy_empty(p)) {
        say("forget: no policy given (--keep-last, --keep-daily, "
            "--keep-within, ...): refusing to forget every backup");
        return EXIT_USAGE;
    }
    return 0;
}

/* Keeps every backup a kept backup's MANIFEST names, transitively. */
static int keep_needed(coll *k, ret_decision *d)
{
    size_t n = k->ix.n, top = 0;
    size_t *work = malloc((n + 1) * sizeof *work);
    if (!work)
        return EXIT_INTERNAL;
    for (size_t i = n; i-- > 0;) /* newest first: "needed by" the newest */
        if (d[i].verdict != RET_FORGET)
            work[top++] = i;
    int ex = 0;
    while (top && !ex) {
        size_t i = work[--top];
        manifest m;
        memset(&m, 0, sizeof m);
        if ((ex = load_manifest(k, k->ix.e[i].id, &m)))
            break;
        feedback_done(k, 1, 0);
        /* Entries come in runs of one backup's: its INDEX place is
         * looked up once a run, not once an entry. */
        const char *last = NULL;
        size_t p = (size_t)-1;
        for (size_t j = 0; j < m.entries.n; j++) {
            const char *bid = m.entries.e[j].bid;
            if (!last || strcmp(last, bid))
                p = backup_pos(k, bid);
            last = bid;
            if (p == (size_t)-1 || d[p].verdict != RET_FORGET)
                continue;
            d[p].verdict = RET_KEEP;
            free(d[p].why);
            if (asprintf(&d[p].why, "needed by %s", k->ix.e[i].id) < 0)
                d[p].why = NULL;
            work[top++] = p;
        }
        manifest_free(&m);
    }
    free(work);
    return ex;
}

/* One line per backup of the selected hosts: what happens and why. */
static void report(coll *k, const ret_decision *d, int dry)
{
    char line[1400];
    for (size_t i = 0; i < k->ix.n; i++) {
        if (d[i].verdict == RET_OTHER || k->c->quiet)
            continue;
        if (d[i].verdict == RET_KEEP)
            snprintf(line, sizeof line, "keep %s (%s)", k->ix.e[i].id,
                     d[i].why ? d[i].why : "kept");
        else
            snprintf(line, sizeof line, "%s %s", dry ? "would forget"
                                                     : "forget",
                     k->ix.e[i].id);
        host_print_listing(stdout, line);
    }
}

/* Drops the forgotten lines from k->ix and, unless dry, stores the
 * INDEX again (whole, atomically: the file stage renames, s3 PUT
 * replaces) through put_index, which bumps its sequence and chains it to
 * the INDEX it replaces (FORMAT.md 5.4): other clients see a newer INDEX,
 * not a rollback.  dry: only drops them from k->ix (what a dry prune then
 * judges by). */
static int rewrite_index(coll *k, const ret_decision *d, int dry)
{
    size_t w = 0;
    for (size_t i = 0; i < k->ix.n; i++) {
        if (d[i].verdict != RET_FORGET) {
            k->ix.e[w++] = k->ix.e[i];
            continue;
        }
        free(k->ix.e[i].id);
        free(k->ix.e[i].host);
        free(k->ix.e[i].parent);
        free(k->ix.e[i].dest);
    }
    k->ix.n = w;
    os_err e = {{0}};
    int rc = dry ? 0 : put_index(k, &e);
    return rc < 0 ? fail_os(k, rc, &e) : 0;
}

static int forget_locked(coll *k, const ret_policy *p, int dry)
{
    int ex = load_index(k, 1);
    if (ex)
        return ex;
    size_t n = k->ix.n, gone = 0;
    ret_backup *b = calloc(n + 1, sizeof *b);
    ret_decision *d = calloc(n + 1, sizeof *d);
    char err[300];
    if (!b || !d) {
        free(b);
        free(d);
        return EXIT_INTERNAL;
    }
    for (size_t i = 0; i < n; i++) {
        b[i].id = k->ix.e[i].id;
        b[i].host = k->ix.e[i].host;
        b[i].time = k->ix.e[i].time;
    }
    if (retention_apply(b, n, p, coll_now(), d, err, sizeof err) < 0) {
        say("forget: %s", err);
        free(b);
        free(d);
        return EXIT_USAGE;
    }
    feedback_start(k, "manifests read");
    ex = keep_needed(k, d);
    feedback_stop(k); /* before the report on stdout */
    if (!ex) {
        report(k, d, dry);
        for (size_t i = 0; i < n; i++)
            gone += d[i].verdict == RET_FORGET;
        if (gone && (!dry || k->c->prune))
            ex = rewrite_index(k, d, dry);
        if (!ex && !k->c->quiet)
            printf("%s%zu of %zu backups %s\n", dry ? "dry run: " : "",
                   gone, n, dry ? "would be forgotten" : "forgotten");
    }
    retention_free(d, n);
    free(b);
    free(d);
    if (!ex && k->c->prune)
        ex = prune_locked(k, dry);
    return ex;
}

int cmd_forget(coll *k)
{
    ret_policy p;
    int64_t cutoff;
    int ex = make_policy(k, &p);
    if (ex)
        return ex;
    if (k->c->prune_grace && !k->c->prune)
        return say("forget: --prune-grace needs --prune"), EXIT_USAGE;
    if (k->c->prune && (ex = prune_grace(k, &cutoff)))
        return ex; /* checked before anything is forgotten */
    k->root = k->c->from;
    if ((ex = open_collection(k, NULL)))
        return ex;
    /* A dry run changes nothing, so it takes no lock. */
    if (k->c->dry_run)
        return forget_locked(k, &p, 1);
    if ((ex = lock_collection(k, host_name(k->c))))
        return ex;
    ex = forget_locked(k, &p, 0);
    unlock_collection(k);
    return ex;
}
