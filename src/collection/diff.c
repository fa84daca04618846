/* diff.c - `sluice diff --from URL ID1 ID2`: what changed from backup ID1
 * to backup ID2, from their MANIFESTs alone (no data object is read).
 * Each MANIFEST lists the whole tree as of its backup, so any two
 * backups compare, of one incremental line or not: entries of paths
 * only one of them covers show as added or removed (said once on
 * stderr when the backups' -C base or PATHs differ).
 *
 * A line per difference, in path order (doc/sluice.1, DIFF):
 *   + PATH      added             - PATH   removed
 *   M PATH      contents changed  T PATH   type changed
 *   U PATH      metadata only (mode, owner, or a non-directory's mtime)
 * then one count line; --json: one object a difference, then a summary
 * object (doc/FORMAT.md, "JSON output"). */
#define _GNU_SOURCE
#include "coll.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../progress.h"
#include "../status.h"

typedef struct diff_count {
    uint64_t added, removed, changed, type, meta;
    uint64_t bytes_added, bytes_removed;
} diff_count;

static const char *type_name(char t)
{
    switch (t) {
    case 'f': return "regular file";
    case 'd': return "directory";
    case 'l': return "symlink";
    case 'c': return "character device";
    case 'b': return "block device";
    case 'p': return "fifo";
    default: return "entry";
    }
}

/* Whether a's contents differ from b's (same type): a file's size, its
 * SHA-256 when both record one (--checksum), else its mtime (as backup
 * itself decides); a symlink's target; a device's number. */
static int contents_differ(const mentry *a, const mentry *b)
{
    switch (a->type) {
    case 'f':
        if (a->size != b->size)
            return 1;
        if (a->sha && b->sha)
            return strcmp(a->sha, b->sha) != 0;
        return a->mtime_ns != b->mtime_ns;
    case 'l':
        return strcmp(a->link ? a->link : "", b->link ? b->link : "") != 0;
    case 'c':
    case 'b':
        return a->rdev != b->rdev;
    default:
        return 0;
    }
}

/* A directory's mtime changes with every entry added or removed in it:
 * not reported (its entries are). */
static int meta_differ(const mentry *a, const mentry *b)
{
    return a->mode != b->mode || a->uid != b->uid || a->gid != b->gid ||
           (a->type != 'd' && a->mtime_ns != b->mtime_ns);
}

/* The change from a to b (either may be NULL), or 0: none. */
static char classify(const mentry *a, const mentry *b)
{
    if (!a)
        return '+';
    if (!b)
        return '-';
    if (a->type != b->type)
        return 'T';
    if (contents_differ(a, b))
        return 'M';
    return meta_differ(a, b) ? 'U' : 0;
}

static void count(diff_count *n, char c, const mentry *a, const mentry *b)
{
    uint64_t old = a && a->type == 'f' ? a->size : 0;
    uint64_t new = b && b->type == 'f' ? b->size : 0;
    switch (c) {
    case '+': n->added++; break;
    case '-': n->removed++; break;
    case 'M': n->changed++; break;
    case 'T': n->type++; break;
    default: n->meta++; return; /* 'U': no bytes */
    }
    n->bytes_added += new;
    n->bytes_removed += old;
}

static void json_entry(const mentry *e)
{
    if (!e) {
        fputs("null", stdout);
        return;
    }
    putchar('{');
    json_fields(e);
    if (e->sha)
        printf(",\"sha256\":\"%s\"", e->sha);
    fputc('}', stdout);
}

/* What changed, after the path: sizes, types, metadata. */
static void detail(char c, const mentry *a, const mentry *b, char *d,
                   size_t cap)
{
    const mentry *e = b ? b : a;
    d[0] = '\0';
    if ((c == '+' || c == '-') && e->type == 'f')
        snprintf(d, cap, " (%" PRIu64 " bytes)", e->size);
    else if (c == 'T')
        snprintf(d, cap, " (%s -> %s)", type_name(a->type),
                 type_name(b->type));
    else if (c == 'M' && a->type == 'f')
        snprintf(d, cap, " (%" PRIu64 " -> %" PRIu64 " bytes)", a->size,
                 b->size);
    else if (c == 'U' && (a->uid != b->uid || a->gid != b->gid))
        snprintf(d, cap, " (mode %04o -> %04o, owner %u/%u -> %u/%u)",
                 a->mode, b->mode, a->uid, a->gid, b->uid, b->gid);
    else if (c == 'U' && a->mode != b->mode)
        snprintf(d, cap, " (mode %04o -> %04o)", a->mode, b->mode);
    else if (c == 'U')
        snprintf(d, cap, " (mtime)");
}

static void print_change(const coll *k, char c, const mentry *a,
                         const mentry *b)
{
    const mentry *e = b ? b : a;
    if (k->c->json) {
        printf("{\"change\":\"%c\",\"path\":", c);
        json_str(stdout, e->path);
        fputs(",\"old\":", stdout);
        json_entry(a);
        fputs(",\"new\":", stdout);
        json_entry(b);
        fputs("}\n", stdout);
        return;
    }
    char d[200], line[9000];
    const char *tail = e->type == 'l' && e->link ? e->link : "";
    if (c == 'M' && e->type == 'l') { /* the new target and the old */
        snprintf(line, sizeof line, "M %s -> %s (was -> %s)", e->path,
                 tail, a->link ? a->link : "");
    } else {
        detail(c, a, b, d, sizeof d);
        snprintf(line, sizeof line, "%c %s%s%s%s%s", c, e->path,
                 e->type == 'd' && strcmp(e->path, ".") ? "/" : "",
                 *tail ? " -> " : "", tail, d);
    }
    host_print_listing(stdout, line); /* names come from the storage */
}

static void print_summary(const coll *k, const diff_count *n,
                          const manifest *a, const manifest *b, int same)
{
    if (k->c->json) {
        printf("{\"summary\":{\"from\":\"%s\",\"to\":\"%s\",\"same_paths\":"
               "%s,\"added\":%" PRIu64 ",\"removed\":%" PRIu64
               ",\"changed\":%" PRIu64 ",\"type_changed\":%" PRIu64
               ",\"metadata_changed\":%" PRIu64 ",\"bytes_added\":%" PRIu64
               ",\"bytes_removed\":%" PRIu64 "}}\n",
               a->id, b->id, same ? "true" : "false", n->added, n->removed,
               n->changed, n->type, n->meta, n->bytes_added,
               n->bytes_removed);
        return;
    }
    if (k->c->quiet)
        return;
    char ad[32], rm[32];
    progress_bytes(n->bytes_added, ad, sizeof ad);
    progress_bytes(n->bytes_removed, rm, sizeof rm);
    printf("%" PRIu64 " added, %" PRIu64 " removed, %" PRIu64
           " changed, %" PRIu64 " type changed, %" PRIu64
           " metadata changed; %s added, %s removed\n",
           n->added, n->removed, n->changed, n->type, n->meta, ad, rm);
}

/* Both lists are sorted by path (strcmp, manifest_parse): one merge. */
static void compare(const coll *k, const manifest *ma, const manifest *mb,
                    diff_count *n)
{
    const mlist *a = &ma->entries, *b = &mb->entries;
    size_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        int c = i == a->n   ? 1
                : j == b->n ? -1
                            : strcmp(a->e[i].path, b->e[j].path);
        const mentry *x = c <= 0 ? &a->e[i++] : NULL;
        const mentry *y = c >= 0 ? &b->e[j++] : NULL;
        char ch = classify(x, y);
        if (!ch)
            continue;
        count(n, ch, x, y);
        print_change(k, ch, x, y);
    }
}

int cmd_diff(coll *k)
{
    int ex = open_existing(k);
    if (ex)
        return ex;
    const ixent *ba = select_backup_spec(k, k->c->args[0], "diff: ");
    const ixent *bb = ba ? select_backup_spec(k, k->c->args[1], "diff: ")
                         : NULL;
    if (!bb)
        return EXIT_USAGE;
    manifest ma = {0}, mb = {0};
    ex = load_manifest(k, ba->id, &ma);
    if (!ex)
        ex = load_manifest(k, bb->id, &mb);
    if (!ex) {
        /* Manifests older than the paths record match any. */
        int same = !ma.paths || !mb.paths || !strcmp(ma.paths, mb.paths);
        if (!same && !k->c->quiet)
            say("diff: %s and %s are backups of different paths (-C base "
                "or PATHs): what only one of them covers shows as added "
                "or removed", ma.id, mb.id);
        diff_count n = {0};
        compare(k, &ma, &mb, &n);
        print_summary(k, &n, &ma, &mb, same);
        if (fflush(stdout) != 0) {
            say("diff: cannot write the output");
            ex = EXIT_IO;
        }
    }
    manifest_free(&ma);
    manifest_free(&mb);
    return ex;
}
