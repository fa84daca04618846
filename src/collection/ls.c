/* ls.c - `sluice ls --from URL [--as-of ID] [PATH...]`: a backup's
 * entries, tar -tv style, from its MANIFEST alone (no data object is
 * read).  --json: one object an entry. */
#define _GNU_SOURCE
#include "coll.h"

#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "../status.h"

static int selected(const char *path, char **sel, int n)
{
    return path_selected(path, sel, n, 0);
}

static void mode_string(const mentry *e, char m[11])
{
    static const char bits[] = "rwxrwxrwx";
    m[0] = e->type == 'f' ? '-' : e->type;
    for (int i = 0; i < 9; i++)
        m[i + 1] = e->mode & (0400u >> i) ? bits[i] : '-';
    m[10] = '\0';
}

void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == '"' || *p == '\\' || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    fputc('"', f);
}

void json_fields(const mentry *e)
{
    printf("\"type\":\"%c\",\"mode\":\"%04o\",\"uid\":%u,\"gid\":%u,"
           "\"size\":%" PRIu64 ",\"mtime\":%" PRId64 ",\"link\":",
           e->type, e->mode, e->uid, e->gid, e->size,
           e->mtime_ns / 1000000000);
    if (e->link)
        json_str(stdout, e->link);
    else
        fputs("null", stdout);
}

static void print_entry(const coll *k, const mentry *e)
{
    if (k->c->json) {
        printf("{\"path\":");
        json_str(stdout, e->path);
        putchar(',');
        json_fields(e);
        printf(",\"backup\":\"%s\"}\n", e->bid ? e->bid : "");
        return;
    }
    char m[11], ts[40], line[9000];
    mode_string(e, m);
    fmt_time(e->mtime_ns / 1000000000, ts, sizeof ts, 0);
    snprintf(line, sizeof line, "%s %u/%u %12" PRIu64 " %s %s%s%s", m,
             e->uid, e->gid, e->size, ts, e->path, e->link ? " -> " : "",
             e->link ? e->link : "");
    host_print_listing(stdout, line); /* names come from the storage */
}

int cmd_ls(coll *k)
{
    const ixent *b = NULL;
    manifest m = {0};
    int ex = open_selected(k, &b, &m);
    if (ex)
        return ex;
    int *hit = calloc((size_t)k->c->n_args + 1, sizeof *hit);
    for (size_t i = 0; hit && i < m.entries.n; i++) {
        const mentry *e = &m.entries.e[i];
        if (!selected(e->path, k->c->args, k->c->n_args))
            continue;
        for (int j = 0; j < k->c->n_args; j++)
            hit[j] |= selected(e->path, &k->c->args[j], 1);
        print_entry(k, e);
    }
    for (int j = 0; hit && j < k->c->n_args; j++)
        if (!hit[j]) {
            say("ls: %s: not found in backup %s", k->c->args[j], b->id);
            ex = EXIT_USAGE;
        }
    if (!hit)
        ex = EXIT_INTERNAL;
    free(hit);
    manifest_free(&m);
    return ex;
}
