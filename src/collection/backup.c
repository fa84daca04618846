/* backup.c - `sluice backup`: scan, plan, put the data objects (several
 * at once), then the MANIFEST, LOCALITIES and INDEX (the commit point).
 * doc/FORMAT.md 5.1-5.7. */
#define _GNU_SOURCE
#include "coll.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../presets.h"
#include "../status.h"
#include "../util.h"
#include "plan.h"
#include "premanifest.h"
#include "pool.h"
#include "scan.h"

typedef struct dest {
    char *url, *tag;
} dest;

/* One backup in the making. */
typedef struct bk {
    coll *k;
    const char *host;
    const char *droot;  /* where its data objects go               */
    const char *tag;    /* that destination's locality tag          */
    const char *parent; /* the host's previous backup, or NULL      */
    char id[400];
    manifest prev, cur;
    plan p;
    /* written[i]: data-(i+1) is stored (removed again on failure);
     * stored[i]: its size. */
    char *written;
    uint64_t *stored;
    os_sum *sums;       /* sums[i]: data-(i+1) as stored            */
    _Atomic int failed_once; /* the first failure is said, once  */
    _Atomic char *skip; /* skip[e]: entry e changed since the scan   */
    struct timespec start;   /* for the summary's duration           */
    uint64_t bytes_stored;   /* data objects and MANIFEST            */
    /* The scan, started at once on a thread of its own when it cannot
     * see the collection being written (early_scan_ok): it overlaps
     * the lock, the descriptor, the INDEX and the parent's manifest. */
    pthread_t scan_th;
    int scan_started, scan_ex, scan_changed;
    atomic_int scan_stop; /* the backup failed: the early scan ends */
    mlist scanned;
    char scan_err[512];
    premanifest *pre; /* the MANIFEST's head, written meanwhile */
    char threads[16]; /* each run's compression threads (put_objects) */
} bk;

/* "URL?locality=TAG" -> url, tag ("%3D" or a raw "=" in TAG). */
static int parse_dest(const char *arg, dest *d, int only)
{
    const char *q = strchr(arg, '?');
    d->url = q ? xstrndup(arg, (size_t)(q - arg)) : strdup(arg);
    if (!q) {
        d->tag = strdup(only ? "default" : "");
        return 0;
    }
    if (strncmp(q + 1, "locality=", 9) != 0)
        return -1;
    d->tag = strdup(q + 10);
    if (esc_decode(d->tag) < 0 || !*d->tag)
        return -1;
    if (strcmp(d->tag, "default") && !strchr(d->tag, '='))
        return -1;
    return 0;
}

static int usage(const char *msg)
{
    say("usage: %s: see sluice --help", msg);
    return EXIT_USAGE;
}

static int parse_dests(coll *k, dest *d)
{
    const coll_opts *c = k->c;
    int n_default = 0;
    for (int i = 0; i < c->n_to; i++) {
        if (parse_dest(c->to[i], &d[i], c->n_to == 1) < 0 || !*d[i].tag)
            return usage("--to URL?locality=default or "
                         "URL?locality=KEY%3DVALUE (one default)");
        n_default += !strcmp(d[i].tag, "default");
    }
    if (n_default != 1)
        return usage("exactly one --to must be ?locality=default");
    for (int i = 0; i < c->n_to; i++)
        if (!strcmp(d[i].tag, "default"))
            k->root = d[i].url;
    return 0;
}

/* A new collection: its chain and, on a local root, its directory
 * (*made: it was created here, so a failed first backup removes it). */
static int new_collection(coll *k, int *made)
{
    int ex = chain_new(k);
    if (ex || !os_is_local(k->root) || k->c->dry_run)
        return ex;
    char *p = strdup(k->root);
    for (char *q = p + 1; p && *q; q++)
        if (*q == '/') {
            *q = '\0';
            (void)mkdir(p, 0777);
            *q = '/';
        }
    free(p);
    if (mkdir(k->root, 0777) == 0)
        *made = 1;
    else if (errno != EEXIST)
        return say("%s: cannot create: %s", k->root, strerror(errno)),
               EXIT_IO;
    return 0;
}

/* Opens (or prepares) the collection; *absent: it is new. */
static int open_for_backup(coll *k, int *absent, int *made)
{
    int ex = open_collection(k, absent);
    if (ex)
        return ex;
    return *absent ? new_collection(k, made) : chain_check(k);
}

/* Under the lock: creates the descriptor only if still absent (another
 * backup may have made the collection since open_collection()). */
static int create_descriptor(coll *k)
{
    int excl = os_can_exclusive(&k->o, k->root);
    header *h = NULL;
    os_err e = {{0}}, e2;
    int rc = excl ? os_put_descriptor(&k->o, k->root, DESCRIPTOR, 1, &e)
                  : 0;
    if (rc < 0 && os_read_header(&k->o, k->root, DESCRIPTOR, &h, &e2) == 0) {
        header_free(h);
        say("%s: the collection was created by another backup "
            "meanwhile: nothing written; run the backup again", k->root);
        return EXIT_IO;
    }
    if (rc == 0 && !excl)
        rc = os_put_descriptor(&k->o, k->root, DESCRIPTOR, 0, &e);
    if (rc == 0)
        rc = os_read_header(&k->o, k->root, DESCRIPTOR, &k->desc, &e);
    if (rc < 0)
        return fail_os(k, rc, &e); /* the first failure's own message */
    k->o.rchain = k->desc;
    return 0;
}

/* May this backup write its data objects to tag's destination?  Only
 * to one the command line named, or to a remote one from an
 * authenticated (encrypted) LOCALITIES record: a stored record is the
 * storage holder's to edit, and must not send data to a local path of
 * their choosing (issue 14, item 6). */
static int dest_trusted(const coll *k, const dest *d, const char *tag)
{
    const char *url = loc_url(&k->locs, tag);
    for (int i = 0; i < k->c->n_to; i++)
        if (!strcmp(d[i].tag, tag))
            return url && !strcmp(d[i].url, url);
    return url && !os_is_local(url) && preset_encrypts(k->desc);
}

/* The destination of this host's data: its most specific tier that has
 * a trusted one (said when a stored one is passed over), else the
 * default (always the command line's). */
static const char *pick_tag(coll *k, const dest *d)
{
    const char *tag = "default";
    if (!k->c->locality)
        return tag;
    char *copy = strdup(k->c->locality), *save = NULL;
    char *tiers[32];
    int nt = 0;
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && nt < 32;
         t = strtok_r(NULL, ",", &save))
        tiers[nt++] = t;
    for (int i = nt - 1; i >= 0; i--) {
        if (loc_url(&k->locs, tiers[i]) && !dest_trusted(k, d, tiers[i])) {
            say("backup: LOCALITIES: the stored destination of %s is not "
                "used (%s); name it with --to to use it", tiers[i],
                preset_encrypts(k->desc) ? "a local path"
                                         : "the collection is not "
                                           "encrypted");
            continue;
        }
        if (loc_url(&k->locs, tiers[i])) {
            for (size_t j = 0; j < k->locs.n; j++)
                if (!strcmp(k->locs.e[j].tag, tiers[i]))
                    tag = k->locs.e[j].tag;
            break;
        }
    }
    free(copy);
    return tag;
}

/* The backup id: time, host, 4 random hex digits. */
static void make_id(bk *b)
{
    char ts[32], hs[64], rh[5];
    uint8_t r[2];
    int64_t now = coll_now();
    fmt_time(now, ts, sizeof ts, 1);
    size_t j = 0;
    for (const char *p = b->host; *p && j < sizeof hs - 1; p++)
        hs[j++] = (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
                          "QRSTUVWXYZ0123456789.", *p))
                      ? *p : '_';
    hs[j] = '\0';
    if (getrandom(r, 2, 0) != 2)
        r[0] = r[1] = 0;
    hex_encode(r, 2, rh);
    snprintf(b->id, sizeof b->id, "%s-%s-%s", ts, hs, rh);
    b->cur.id = strdup(b->id);
    b->cur.host = strdup(b->host);
    b->cur.parent = b->parent ? strdup(b->parent) : NULL;
    b->cur.time = now;
}

/* A split file's chunk: the file opened beneath its root, checked
 * against the scan (scan_open_beneath), and handed to the file stage as
 * /proc/self/fd/N, so nothing reopens it by path.  Another object there
 * now: the entry is left out of the backup (said once), which ends
 * incomplete. */
static int put_chunk(bk *b, objstore *os, const plan_obj *o,
                     const char *name, os_err *e)
{
    coll *k = b->k;
    const mentry *m = &b->cur.entries.e[o->entry];
    int fd = scan_open_beneath(k->c->directory, m);
    if (fd < 0 && errno == ESTALE) {
        if (!atomic_exchange(&b->skip[o->entry], 1))
            say("backup: %s: file changed as we read it; not dumped",
                m->disk);
        atomic_store(&k->o.s->incomplete, 1);
        return 0;
    }
    if (fd < 0) {
        snprintf(e->msg, sizeof e->msg, "backup: %s: cannot read: %s",
                 m->disk, strerror(errno));
        return SLUICE_E_IO;
    }
    char src[64];
    snprintf(src, sizeof src, "/proc/self/fd/%d", fd);
    int rc = os_put_range(os, b->droot, name, src, o->offset, o->length,
                          &b->sums[o - b->p.obj], e);
    close(fd);
    return rc;
}

/* Entries left out (changed since the scan) leave the manifest (and
 * the head written early goes: it lists them). */
static void drop_skipped(bk *b)
{
    mlist *l = &b->cur.entries;
    size_t k = 0, any = 0;
    for (size_t i = 0; i < l->n; i++)
        any |= b->skip[i];
    if (!any)
        return;
    premanifest_free(b->pre);
    b->pre = NULL;
    for (size_t i = 0; i < l->n; i++) {
        if (b->skip[i]) {
            free(l->e[i].path);
            free(l->e[i].disk);
            free(l->e[i].link);
            free(l->e[i].sha);
            continue;
        }
        l->e[k++] = l->e[i];
    }
    l->n = k;
}

/* The NUL-separated member list of a tar object, in a scratch file the
 * archive stage reads (files-from=). */
static char *write_list(const bk *b, const plan_obj *o, os_err *e)
{
    const char *td = getenv("TMPDIR");
    char *path = NULL;
    if (asprintf(&path, "%s/sluice-list-XXXXXX",
                 td && *td ? td : "/tmp") < 0)
        return NULL;
    int fd = mkostemp(path, O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    /* "TYPE INO PATH": the archive stage (scanned=1) reaches PATH one
     * component at a time and leaves it out unless it is still what the
     * scan saw (issue 14, item 1). */
    for (size_t j = 0; f && j < o->n_members; j++) {
        const mentry *m = &b->cur.entries.e[o->members[j]];
        fprintf(f, "%u %llu %s", scan_dtype(m->type),
                (unsigned long long)m->ino, m->disk);
        fputc('\0', f);
    }
    if (!f || fclose(f) != 0) {
        snprintf(e->msg, sizeof e->msg, "%s: cannot write: %s", path,
                 strerror(errno));
        if (fd >= 0 && !f)
            close(fd);
        unlink(path);
        free(path);
        return NULL;
    }
    return path;
}

/* The file data object o holds, and the files it completes (a split
 * file's: with its last chunk). */
static uint64_t object_data(const bk *b, const plan_obj *o, uint64_t *files)
{
    if (o->chunk) {
        *files = o->offset + o->length == b->cur.entries.e[o->entry].size;
        return o->length;
    }
    *files = o->n_members;
    return o->data;
}

/* Task i of the pool: stores data-(i+1), a tar object or a chunk. */
static int put_object(void *arg, size_t i)
{
    bk *b = arg;
    coll *k = b->k;
    const plan_obj *o = &b->p.obj[i];
    char name[512];
    os_err e = {{0}};
    int rc = SLUICE_E_IO;
    if (interrupted(k))
        return EXIT_INCOMPLETE;
    objstore os;
    feed_put fp;
    uint64_t files;
    feedback_put(k, &os, &fp, object_data(b, o, &files));
    snprintf(name, sizeof name, "backups/%s/data-%u", b->id, o->n);
    if (o->chunk) {
        rc = put_chunk(b, &os, o, name, &e);
    } else {
        char *list = write_list(b, o, &e);
        if (list)
            rc = os_put_archive(&os, b->droot, name, k->c->directory,
                                list, &b->sums[i], &e);
        if (list)
            unlink(list);
        free(list);
        /* What the archive stage left out as changed must leave the
         * manifest: anything not as scanned now goes (a member stored
         * anyway is never extracted, as restore names its members).
         * It leaves nothing out without marking the run incomplete, so
         * until some run did, there is nothing to look for (and no walk
         * from the root per member). */
        int left_out = atomic_load(&k->o.s->incomplete);
        for (size_t j = 0; rc == 0 && left_out && j < o->n_members; j++)
            if (!scan_unchanged(k->c->directory,
                                &b->cur.entries.e[o->members[j]]))
                b->skip[o->members[j]] = 1;
    }
    feedback_put_done(&fp, files, rc == 0);
    if (rc == 0) {
        b->stored[i] = b->sums[i].size;
        b->written[i] = 1;
        return 0;
    }
    if (!e.msg[0])
        snprintf(e.msg, sizeof e.msg, "%s: out of memory", name);
    if (atomic_exchange(&b->failed_once, 1)) /* the first one says it */
        return status_to_exit(rc);
    return fail_os(k, rc, &e);
}

/* The data objects go coll_width() at once.  When that many or more
 * are to go, each compresses on its share of the cores: a run's own
 * compression workers would only take turns with the other runs' (and
 * copy every byte once more into their jobs).  Set before the MANIFEST's
 * early put starts and kept until it ended (it reads it too). */
static void share_cores(bk *b)
{
    unsigned width = coll_width(), cores = coll_cores();
    if (b->p.n_obj < width)
        return;
    snprintf(b->threads, sizeof b->threads, "%u",
             cores / width ? cores / width : 1);
    b->k->o.threads = b->threads;
}

static int put_objects(bk *b)
{
    return pool_run(b->p.n_obj, coll_width(), 1, put_object, b);
}

/* Removes the objects of a failed backup (best effort: a stage that
 * cannot delete, or a signal, leaves them; they are unreferenced, and
 * the next backup gets another id). */
static void discard_backup(bk *b, int with_manifest)
{
    coll *k = b->k;
    char name[512];
    os_err e;
    int left = 0;
    premanifest_free(b->pre); /* its put given up: nothing of it left */
    b->pre = NULL;
    for (size_t i = 0; b->written && i < b->p.n_obj; i++)
        if (b->written[i]) {
            snprintf(name, sizeof name, "backups/%s/data-%zu", b->id, i + 1);
            left |= os_delete(&k->o, b->droot, name, &e) != 0;
        }
    if (with_manifest) {
        snprintf(name, sizeof name, "backups/%s/MANIFEST", b->id);
        left |= os_delete(&k->o, k->root, name, &e) != 0;
    }
    /* A local collection also has the backup's directory (or two). */
    const char *roots[2] = {b->droot, k->root};
    for (int i = 0; i < 2; i++)
        if (os_is_local(roots[i])) {
            snprintf(name, sizeof name, "%s/backups/%s", roots[i], b->id);
            (void)rmdir(name);
        }
    if (left)
        say("backup: the objects written so far (backups/%s/) could not "
            "all be removed; nothing refers to them", b->id);
}

/* A first backup failed: the collection it was making goes again (its
 * descriptor and locality records; the LOCK goes with the unlock). */
static void discard_collection(coll *k)
{
    os_err e;
    char name[512];
    (void)os_delete(&k->o, k->root, "LOCALITIES", &e);
    (void)os_delete(&k->o, k->root, DESCRIPTOR, &e);
    if (os_is_local(k->root)) {
        snprintf(name, sizeof name, "%s/backups", k->root);
        (void)rmdir(name);
    }
}

/* Walks the operands into *out; 0 or an exit status (err: what to
 * say, *changed: an entry was left out, said). */
static int scan(coll *k, const atomic_int *stop, mlist *out, int *changed,
                char *err, size_t cap)
{
    const coll_opts *c = k->c;
    char **ops = NULL;
    int n_ops = 0, ex = select_operands(k, &ops, &n_ops);
    if (!ex && scan_tree(c->directory, ops, n_ops, c->checksum, stop, out,
                         changed, err, cap) < 0)
        ex = EXIT_IO;
    for (int i = 0; i < n_ops; i++)
        free(ops[i]);
    free(ops);
    return ex;
}

static void *scan_thread(void *arg)
{
    bk *b = arg;
    b->scan_ex = scan(b->k, &b->scan_stop, &b->scanned, &b->scan_changed,
                      b->scan_err, sizeof b->scan_err);
    return NULL;
}

/* The real path of the nearest existing ancestor of path (a root not
 * made yet), or NULL. */
static char *real_ancestor(const char *path)
{
    char *p = strdup(path);
    for (size_t l = p ? strlen(p) : 0; l > 0;) {
        char *r = realpath(p, NULL);
        if (r) {
            free(p);
            return r;
        }
        while (l > 0 && p[l - 1] != '/')
            l--;
        while (l > 1 && p[l - 1] == '/')
            l--;
        p[l] = '\0';
        if (l == 1 && p[0] == '/')
            break;
    }
    char *r = p && *p ? realpath(p, NULL) : realpath(".", NULL);
    free(p);
    return r;
}

/* Whether the scan may run before the collection is locked and written:
 * only when it cannot meet the collection's own files half-written
 * (a local root below -C, where every operand is, would be).  Operands
 * come from the command line (--files-from is read once, in order),
 * relative and without "..". */
static int early_scan_ok(const coll *k)
{
    const coll_opts *c = k->c;
    if (c->files_from || c->dry_run)
        return 0;
    for (int i = 0; i < c->n_args; i++) {
        const char *a = c->args[i];
        if (a[0] == '/' || !strcmp(a, "..") || !strncmp(a, "../", 3) ||
            strstr(a, "/../") ||
            (strlen(a) >= 3 && !strcmp(a + strlen(a) - 3, "/..")))
            return 0;
    }
    if (!os_is_local(k->root))
        return 1;
    char *tree = realpath(c->directory ? c->directory : ".", NULL);
    char *root = real_ancestor(k->root);
    int ok = 0;
    if (tree && root && strcmp(tree, "/")) { /* outside the tree */
        size_t l = strlen(tree);
        ok = strncmp(root, tree, l) != 0 ||
             (root[l] != '/' && root[l] != '\0');
    }
    free(tree);
    free(root);
    return ok;
}

/* Scans the tree (or takes the early scan's list) and plans the backup
 * against the parent. */
static int scan_and_plan(bk *b)
{
    coll *k = b->k;
    const coll_opts *c = k->c;
    char err[512] = "";
    int changed = 0, ex;
    if (b->scan_started) {
        pthread_join(b->scan_th, NULL);
        b->scan_started = 0;
        b->cur.entries = b->scanned;
        memset(&b->scanned, 0, sizeof b->scanned);
        changed = b->scan_changed;
        ex = b->scan_ex;
        snprintf(err, sizeof err, "%s", b->scan_err);
    } else {
        ex = scan(k, NULL, &b->cur.entries, &changed, err, sizeof err);
    }
    if (ex == EXIT_IO)
        say("backup: %s", err);
    if (changed) /* said: an entry left out */
        atomic_store(&k->o.s->incomplete, 1);
    if (ex || (ex = select_filter(k, &b->cur.entries)))
        return ex;
    make_id(b);
    /* Tar objects of equal weight, two rounds of coll_width() at once. */
    if (plan_make(&b->cur.entries, &b->prev.entries, b->id, c->object_size,
                  2 * coll_width(), c->checksum, &b->p, err,
                  sizeof err) < 0) {
        say("backup: %s", err);
        return strstr(err, "2^32") ? EXIT_USAGE : EXIT_INTERNAL;
    }
    /* The manifest takes the deletions over. */
    b->cur.deleted = b->p.deleted;
    b->cur.n_deleted = b->p.n_deleted;
    b->p.deleted = NULL;
    b->p.n_deleted = 0;
    b->written = calloc(b->p.n_obj + 1, 1);
    b->stored = calloc(b->p.n_obj + 1, sizeof *b->stored);
    b->skip = calloc(b->cur.entries.n + 1, 1);
    b->sums = calloc(b->p.n_obj + 1, sizeof *b->sums);
    return b->written && b->stored && b->skip && b->sums ? 0 : EXIT_INTERNAL;
}

/* Stores MANIFEST: the head put early ends with the object records, or
 * all of it is written now. */
static int put_manifest(bk *b, const char *name, uint64_t *sz, os_err *e)
{
    premanifest *pre = b->pre;
    b->pre = NULL;
    int rc = pre ? premanifest_finish(pre, &b->cur, sz, e) : 0;
    if (rc != 0)
        return rc < 0 ? rc : 0;
    return put_record(b->k, name,
                      (int (*)(FILE *, const void *))manifest_write, &b->cur,
                      sz, e);
}

/* The manifest's object records: this backup's objects as measured while
 * stored, and the older objects its entries reference as the parent's
 * manifest recorded them (none when it predates the records). */
static int record_objects(bk *b)
{
    manifest *m = &b->cur;
    for (size_t i = 0; i < b->p.n_obj; i++)
        if (manifest_add_obj(m, b->id, b->p.obj[i].n, b->sums[i].size,
                             b->sums[i].digest.kind == ENGINE_DIGEST_BINDING,
                             b->sums[i].digest.v) < 0)
            return -1;
    for (size_t i = 0; i < m->entries.n; i++) {
        const mentry *e = &m->entries.e[i];
        if (!e->bid || !strcmp(e->bid, b->id))
            continue;
        for (unsigned j = 0; j < (e->nchunks ? e->nchunks : 1); j++) {
            const mobj *o = manifest_obj(&b->prev, e->bid, e->obj + j);
            if (o && manifest_add_obj(m, o->bid, o->n, o->size, o->binding,
                                      o->digest) < 0)
                return -1;
        }
    }
    /* Many entries share a tar object: sorted, each record kept once. */
    manifest_sort_objs(m);
    size_t w = 0;
    for (size_t i = 0; i < m->n_objs; i++) {
        if (w && !strcmp(m->objs[w - 1].bid, m->objs[i].bid) &&
            m->objs[w - 1].n == m->objs[i].n) {
            free(m->objs[i].bid);
            continue;
        }
        m->objs[w++] = m->objs[i];
    }
    m->n_objs = w;
    return 0;
}

/* --dry-run: what the backup would store ("A"dded or "M"odified) and
 * record as "D"eleted, one line each on stdout; nothing is written. */
static int dry_run_report(bk *b)
{
    const mlist *l = &b->cur.entries;
    char line[8192];
    for (size_t i = 0; i < l->n; i++) {
        const mentry *e = &l->e[i];
        if (!e->bid || strcmp(e->bid, b->id))
            continue;
        snprintf(line, sizeof line, "%c %s",
                 mlist_find(&b->prev.entries, e->path) ? 'M' : 'A', e->path);
        host_print_listing(stdout, line);
    }
    for (size_t i = 0; i < b->cur.n_deleted; i++) {
        snprintf(line, sizeof line, "D %s", b->cur.deleted[i]);
        host_print_listing(stdout, line);
    }
    if (!b->k->c->quiet)
        say("backup: dry run: %llu files, %llu bytes would be stored; "
            "nothing written", (unsigned long long)b->p.files,
            (unsigned long long)b->p.bytes_in);
    return 0;
}

/* The MANIFEST, then LOCALITIES and the INDEX; *committing once the
 * INDEX write was attempted (from then on nothing may be removed: a PUT
 * whose answer was lost may have stored it). */
static int commit(bk *b, int *wrote_manifest, int *committing)
{
    coll *k = b->k;
    char name[512];
    uint64_t sz = 0, stored = 0;
    os_err e = {{0}};
    snprintf(name, sizeof name, "backups/%s/MANIFEST", b->id);
    if (record_objects(b) < 0)
        return say("backup: out of memory"), EXIT_INTERNAL;
    int rc = put_manifest(b, name, &sz, &e);
    if (rc < 0)
        return fail_os(k, rc, &e);
    *wrote_manifest = 1;
    for (size_t i = 0; i < b->p.n_obj; i++)
        stored += b->stored[i];
    ixent *x = index_push(&k->ix);
    if (!x)
        return EXIT_INTERNAL;
    x->id = strdup(b->id);
    x->time = b->cur.time;
    x->host = strdup(b->host);
    x->parent = b->parent ? strdup(b->parent) : NULL;
    x->dest = strdup(b->tag);
    x->full = b->parent == NULL;
    x->files = b->p.files;
    x->bytes_in = b->p.bytes_in;
    x->bytes_stored = b->bytes_stored = stored + sz;
    rc = put_record(k, "LOCALITIES",
                    (int (*)(FILE *, const void *))loc_write, &k->locs, NULL,
                    &e);
    *committing = 1;
    if (rc == 0)
        rc = put_index(k, &e);
    return rc < 0 ? fail_os(k, rc, &e) : 0;
}

/* The parent: the host's latest backup of the same paths from the same
 * -C base (each path set is its own line of incrementals; a backup whose
 * manifest records no paths, from an older sluice, matches any). */
static int pick_parent(bk *b)
{
    coll *k = b->k;
    b->cur.paths = select_paths_key(k);
    if (!b->cur.paths)
        return EXIT_IO; /* --files-from unreadable: said */
    for (size_t i = k->ix.n; i-- > 0;) {
        if (strcmp(k->ix.e[i].host, b->host))
            continue;
        int ex = load_manifest(k, k->ix.e[i].id, &b->prev);
        if (ex)
            return ex;
        if (!b->prev.paths || !strcmp(b->prev.paths, b->cur.paths)) {
            b->parent = k->ix.e[i].id;
            return 0;
        }
        manifest_free(&b->prev);
    }
    return 0;
}

static void say_summary(bk *b)
{
    backup_summary s = {0};
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    summary_count(&s, &b->cur, &b->prev, b->id);
    s.bytes_read = b->p.bytes_in;
    s.bytes_stored = b->bytes_stored;
    s.seconds = (double)(now.tv_sec - b->start.tv_sec) +
                (double)(now.tv_nsec - b->start.tv_nsec) / 1e9;
    feedback_stop(b->k); /* the summary takes the progress line's place */
    /* The line is for people: on a terminal or with -v (scripts and
     * cron get the id alone on stdout, or --json). */
    summary_print(&s, b->id, b->k->c->json, b->k->c->quiet,
                  isatty(STDERR_FILENO) || b->k->c->verbose);
}

/* Under the lock: the records it needs, then scan, plan, store, commit. */
static int backup_locked(bk *b, int absent, dest *d)
{
    coll *k = b->k;
    int ex = absent ? (k->c->dry_run ? 0 : create_descriptor(k))
                    : load_index(k, 0);
    if (ex)
        return ex;
    for (int i = 0; i < k->c->n_to; i++)
        loc_set(&k->locs, d[i].tag, d[i].url);
    if (!loc_url(&k->locs, "default"))
        loc_set(&k->locs, "default", k->root);
    b->tag = pick_tag(k, d);
    b->droot = strcmp(b->tag, "default") ? loc_url(&k->locs, b->tag)
                                         : k->root;
    if (!k->c->dry_run)
        feedback_start(k, "files"); /* the passphrase was asked for */
    if ((ex = pick_parent(b)))
        return ex;
    if ((ex = scan_and_plan(b)))
        return ex;
    if (k->c->dry_run)
        return dry_run_report(b);
    atomic_store(&k->count.items_total, b->p.files);
    atomic_store(&k->count.bytes_total, b->p.bytes_in);
    char mname[512];
    snprintf(mname, sizeof mname, "backups/%s/MANIFEST", b->id);
    share_cores(b);
    b->pre = premanifest_start(&b->cur, &k->o, k->root, mname);
    /* The data objects, several at once; the first failure stops the
     * rest from starting and is the one said. */
    ex = put_objects(b);
    int wrote_manifest = 0, committing = 0;
    if (!ex)
        drop_skipped(b);
    if (!ex)
        ex = commit(b, &wrote_manifest, &committing);
    if (ex && !committing)
        discard_backup(b, wrote_manifest);
    else if (!ex)
        say_summary(b);
    return ex;
}

int cmd_backup(coll *k)
{
    dest d[COLL_MAX_TO];
    memset(d, 0, sizeof d);
    bk b;
    memset(&b, 0, sizeof b);
    b.k = k;
    b.host = host_name(k->c);
    clock_gettime(CLOCK_MONOTONIC, &b.start);
    int absent = 0, made = 0;
    int ex = parse_dests(k, d);
    if (!ex && early_scan_ok(k) &&
        pthread_create(&b.scan_th, NULL, scan_thread, &b) == 0)
        b.scan_started = 1;
    if (!ex)
        ex = open_for_backup(k, &absent, &made);
    if (!ex && k->c->dry_run) /* reads only: no lock */
        ex = backup_locked(&b, absent, d);
    else if (!ex && !(ex = lock_collection(k, b.host))) {
        ex = backup_locked(&b, absent, d);
        if (ex && absent && !k->ix.n)
            discard_collection(k);
        unlock_collection(k);
    }
    if (b.scan_started) { /* the backup failed before it needed it */
        atomic_store(&b.scan_stop, 1);
        pthread_join(b.scan_th, NULL);
    }
    premanifest_free(b.pre); /* a failed backup's */
    k->o.threads = NULL;    /* share_cores' */
    mlist_free(&b.scanned);
    if (ex && made && os_is_local(k->root))
        (void)rmdir(k->root); /* only if nothing else is in it */
    free(b.written);
    free(b.stored);
    free((char *)b.skip);
    free(b.sums);
    plan_free(&b.p);
    manifest_free(&b.prev);
    manifest_free(&b.cur);
    for (int i = 0; i < COLL_MAX_TO; i++) {
        free(d[i].url);
        free(d[i].tag);
    }
    return ex;
}
