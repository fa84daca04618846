/* backups.c - `sluice backups`: the INDEX as a table, restic snapshots
 * style (a header, human sizes, the paths each backup's MANIFEST records,
 * a count), for people; -q the ids alone and --json one object a backup
 * (doc/FORMAT.md 5.12), for scripts: neither reads a MANIFEST. */
#define _GNU_SOURCE
#include "coll.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../progress.h"
#include "../status.h"
#include "pool.h"

/* backups --json: one object a line (the host name is escaped). */
static void json_backup(const ixent *e)
{
    printf("{\"id\":\"%s\",\"time\":%" PRId64 ",\"host\":\"", e->id,
           (int64_t)e->time);
    for (const unsigned char *p = (const unsigned char *)e->host; *p; p++)
        if (*p < 0x20 || *p == '"' || *p == '\\' || *p >= 0x7f)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    printf("\",\"parent\":%s%s%s,\"full\":%s,\"files\":%" PRIu64
           ",\"bytes_in\":%" PRIu64 ",\"bytes_stored\":%" PRIu64 "}\n",
           e->parent ? "\"" : "", e->parent ? e->parent : "null",
           e->parent ? "\"" : "", e->full ? "true" : "false", e->files,
           e->bytes_in, e->bytes_stored);
}

typedef struct row {
    const ixent *e;
    char *paths; /* as shown: "BASE/PATH ..."; NULL: unreadable */
    char files[24], in[32], stored[32], time[40];
} row;

typedef struct table {
    coll *k;
    row *r;
} table;

/* The recorded "-C base\nPATH\n..." as the paths backed up: each PATH
 * below the base, space-separated; "-" when the manifest records none
 * (written by an older sluice). */
static char *shown_paths(const char *rec)
{
    if (!rec)
        return strdup("-");
    const char *nl = strchr(rec, '\n');
    size_t bl = nl ? (size_t)(nl - rec) : strlen(rec);
    size_t cap = strlen(rec) + 1, n = 0;
    for (const char *p = rec; *p; p++)
        n += *p == '\n';
    cap += n * (bl + 2);
    char *out = malloc(cap), *w = out;
    if (!out)
        return NULL;
    *w = '\0';
    int slash = bl && rec[bl - 1] == '/';
    for (const char *p = nl; p; p = strchr(p + 1, '\n')) {
        const char *q = p + 1, *end = strchr(q, '\n');
        int ql = end ? (int)(end - q) : (int)strlen(q);
        if (w != out)
            *w++ = ' ';
        if (bl) /* the base, then the PATH below it ("." is the base) */
            w += sprintf(w, "%.*s", (int)bl, rec);
        if (bl && ql == 1 && *q == '.')
            continue;
        w += sprintf(w, "%s%.*s", bl && !slash ? "/" : "", ql, q);
    }
    return out;
}

/* Task i: backup i's paths, from its MANIFEST. */
static int load_row(void *arg, size_t i)
{
    table *t = arg;
    row *r = &t->r[i];
    manifest m = {0};
    int ex = load_manifest_head(t->k, r->e->id, &m);
    if (ex)
        return ex; /* said */
    r->paths = shown_paths(m.paths);
    manifest_free(&m);
    return r->paths ? 0 : (say("backups: out of memory"), EXIT_INTERNAL);
}

static void print_table(const row *r, size_t n)
{
    int w[6] = {2, 4, 4, 4, 5, 4}; /* ID TIME HOST TYPE FILES READ ... */
    int ws = 6;                    /* STORED */
    for (size_t i = 0; i < n; i++) {
        int l[6] = {(int)strlen(r[i].e->id), (int)strlen(r[i].time),
                    (int)strlen(r[i].e->host), r[i].e->full ? 4 : 11,
                    (int)strlen(r[i].files), (int)strlen(r[i].in)};
        for (int j = 0; j < 6; j++)
            if (l[j] > w[j])
                w[j] = l[j];
        if ((int)strlen(r[i].stored) > ws)
            ws = (int)strlen(r[i].stored);
    }
    char line[9000], dash[9000];
    int hl = snprintf(line, sizeof line, "%-*s  %-*s  %-*s  %-*s  %*s  %*s  "
                      "%*s  PATHS", w[0], "ID", w[1], "TIME", w[2], "HOST",
                      w[3], "TYPE", w[4], "FILES", w[5], "READ", ws,
                      "STORED");
    printf("%s\n", line);
    memset(dash, '-', sizeof dash);
    dash[hl < (int)sizeof dash ? hl : (int)sizeof dash - 1] = '\0';
    printf("%s\n", dash);
    for (size_t i = 0; i < n; i++) {
        snprintf(line, sizeof line, "%-*s  %-*s  %-*s  %-*s  %*s  %*s  %*s  "
                 "%s", w[0], r[i].e->id, w[1], r[i].time, w[2], r[i].e->host,
                 w[3], r[i].e->full ? "full" : "incremental", w[4],
                 r[i].files, w[5], r[i].in, ws, r[i].stored,
                 r[i].paths ? r[i].paths : "?");
        host_print_listing(stdout, line); /* host and paths are stored */
    }
    printf("%s\n%zu backup%s\n", dash, n, n == 1 ? "" : "s");
}

int cmd_backups(coll *k)
{
    int ex = open_existing(k);
    if (ex)
        return ex;
    table t = {k, calloc(k->ix.n + 1, sizeof *t.r)};
    if (!t.r)
        return say("backups: out of memory"), EXIT_INTERNAL;
    size_t n = 0;
    for (size_t i = 0; i < k->ix.n; i++) {
        const ixent *e = &k->ix.e[i];
        if (k->c->host && strcmp(e->host, k->c->host))
            continue;
        if (k->c->quiet)
            host_print_listing(stdout, e->id);
        else if (k->c->json)
            json_backup(e);
        else
            t.r[n++].e = e;
    }
    if (n) {
        ex = pool_run(n, COLL_JOBS, 0, load_row, &t);
        for (size_t i = 0; i < n; i++) {
            row *r = &t.r[i];
            snprintf(r->files, sizeof r->files, "%" PRIu64, r->e->files);
            progress_bytes(r->e->bytes_in, r->in, sizeof r->in);
            progress_bytes(r->e->bytes_stored, r->stored, sizeof r->stored);
            fmt_time(r->e->time, r->time, sizeof r->time, 0);
        }
    }
    if (!k->c->quiet && !k->c->json)
        print_table(t.r, n);
    for (size_t i = 0; i < n; i++)
        free(t.r[i].paths);
    free(t.r);
    return ex;
}
