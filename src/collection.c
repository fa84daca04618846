/* collection.c - backup, backups, restore, verify; see collection.h and
 * doc/FORMAT.md section 5. */
#define _GNU_SOURCE
#include "collection.h"
#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "host.h"
#include "loader.h"
#include "manifest.h"
#include "objstore.h"
#include "cli/presets.h"
#include "progress.h"
#include "scan.h"
#include "sha256.h"
#include "status.h"
#include "util.h"

#define DESCRIPTOR "SLUICE-COLLECTION"
#define MAX_TO COLL_MAX_TO

/* The options the front end parsed; cmd is set by collection_run. */
typedef coll_opts ccli;

static int say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int say(const char *fmt, ...)
{
    /* Messages carry stage errors and names from the storage: one line,
     * no control characters (host_print_line). */
    char text[4000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    host_print_line(text);
    return 0;
}

static int usage(const char *msg)
{
    fprintf(stderr, "sluice: usage: %s: see sluice --help\n", msg);
    return EXIT_USAGE;
}

/* ---- helpers ------------------------------------------------------------ */

typedef struct coll {
    ccli *c;
    objstore o;
    char tmpdir[64];
    const char *root;
    header *desc;     /* the descriptor as read                     */
    header *fchain;   /* forward chain built from it                */
    index_t ix;
    loclist locs;
    int have_index;
    char lock_token[400]; /* what this backup wrote into LOCK        */
    int locked;
    int said_interrupted; /* "interrupted" was said (once)            */
} coll;

static const char *host_name(const ccli *c)
{
    static char buf[256];
    if (c->host)
        return c->host;
    if (gethostname(buf, sizeof buf - 1) < 0)
        strcpy(buf, "localhost");
    buf[sizeof buf - 1] = '\0';
    return buf;
}

static char *tmpname(coll *k, const char *base)
{
    size_t n = strlen(k->tmpdir) + strlen(base) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", k->tmpdir, base);
    return p;
}

static int interrupted(coll *k);

static int fail_os(coll *k, int rc)
{
    if (!interrupted(k)) /* else it said so, once */
        say("%s", k->o.msg);
    return status_to_exit(rc);
}

static int forward_from(const header *d, header *f)
{
    sluice_error err = {0};
    if (preset_forward_from(d, f, &err) < 0) {
        say("%s: %s", DESCRIPTOR, err.message);
        return -1;
    }
    return 0;
}

/* Reads the descriptor and checks the passphrase against it. */
static int open_collection(coll *k, int *absent)
{
    struct stat st;
    char *url = os_url(k->root, DESCRIPTOR);
    int local = os_is_local(k->root);
    int missing = local && stat(url, &st) < 0;
    free(url);
    if (missing) {
        if (absent) {
            *absent = 1;
            return 0;
        }
        say("%s: not a sluice collection (no %s)", k->root, DESCRIPTOR);
        return EXIT_USAGE;
    }
    int rc = os_read_header(&k->o, k->root, DESCRIPTOR, &k->desc);
    if (rc < 0) {
        if (absent && !local && strstr(k->o.msg, "no such object")) {
            *absent = 1;
            return 0;
        }
        return fail_os(k, rc);
    }
    if (absent)
        *absent = 0;
    rc = os_check_descriptor(&k->o, k->root, DESCRIPTOR);
    if (rc == SLUICE_E_AUTH) {
        say("%s: wrong passphrase: it does not match the one this "
            "collection was created with (nothing was written)", k->root);
        return EXIT_AUTH;
    }
    if (rc < 0)
        return fail_os(k, rc);
    k->fchain = header_new();
    if (!k->fchain || forward_from(k->desc, k->fchain) < 0)
        return EXIT_FORMAT;
    k->o.fchain = k->fchain;
    k->o.rchain = k->desc;
    return 0;
}

/* Gets a text object into memory; NULL on failure (k->o.msg says). */
static char *get_text(coll *k, const char *root, const char *name, int *rc)
{
    char *tmp = tmpname(k, "get");
    *rc = os_get_file(&k->o, root, name, tmp);
    char *text = *rc == 0 ? slurp(tmp, NULL) : NULL;
    if (*rc == 0 && !text)
        *rc = SLUICE_E_NOMEM;
    unlink(tmp);
    free(tmp);
    return text;
}

static int put_text(coll *k, const char *root, const char *name,
                    int (*writer)(FILE *, const void *), const void *arg,
                    uint64_t *stored)
{
    char *tmp = tmpname(k, "put");
    FILE *f = fopen(tmp, "we");
    if (!f) {
        snprintf(k->o.msg, sizeof k->o.msg, "%s: %s", tmp, strerror(errno));
        free(tmp);
        return SLUICE_E_IO;
    }
    int w = writer(f, arg);
    if (fclose(f) != 0 || w < 0) {
        snprintf(k->o.msg, sizeof k->o.msg, "%s: write failed", tmp);
        unlink(tmp);
        free(tmp);
        return SLUICE_E_IO;
    }
    int rc = os_put_file(&k->o, root, name, tmp, stored);
    unlink(tmp);
    free(tmp);
    return rc;
}

static int w_index(FILE *f, const void *a) { return index_write(f, a); }
static int w_locs(FILE *f, const void *a) { return loc_write(f, a); }
static int w_manifest(FILE *f, const void *a) { return manifest_write(f, a); }

static int load_index(coll *k, int must)
{
    int rc;
    char *t = get_text(k, k->root, "INDEX", &rc);
    if (!t) {
        /* A collection whose first backup failed before its INDEX. */
        if (!must && (os_is_local(k->root) ||
                      strstr(k->o.msg, "no such object")))
            return 0;
        return fail_os(k, rc);
    }
    char err[128];
    if (index_parse(t, &k->ix, err, sizeof err) < 0) {
        free(t);
        say("%s/INDEX: %s", k->root, err);
        return EXIT_FORMAT;
    }
    free(t);
    k->have_index = 1;
    t = get_text(k, k->root, "LOCALITIES", &rc);
    if (t) {
        loc_parse(t, &k->locs, err, sizeof err);
        free(t);
    }
    return 0;
}

static const ixent *find_backup(const coll *k, const char *id)
{
    for (size_t i = 0; i < k->ix.n; i++)
        if (!strcmp(k->ix.e[i].id, id))
            return &k->ix.e[i];
    return NULL;
}

static size_t backup_pos(const coll *k, const char *id)
{
    for (size_t i = 0; i < k->ix.n; i++)
        if (!strcmp(k->ix.e[i].id, id))
            return i;
    return (size_t)-1;
}

/* The root holding a backup's data objects. */
static const char *data_root(const coll *k, const char *bid)
{
    const ixent *b = find_backup(k, bid);
    /* "default" is wherever the collection was opened: it moves along. */
    const char *u = b && strcmp(b->dest, "default")
                        ? loc_url(&k->locs, b->dest) : NULL;
    return u ? u : k->root;
}

static int load_manifest(coll *k, const char *id, manifest *m)
{
    char name[512];
    snprintf(name, sizeof name, "backups/%s/MANIFEST", id);
    int rc;
    char *t = get_text(k, k->root, name, &rc);
    if (!t)
        return fail_os(k, rc);
    char err[128];
    int bad = manifest_parse(t, m, err, sizeof err);
    free(t);
    if (bad < 0) {
        say("%s/%s: %s", k->root, name, err);
        return EXIT_FORMAT;
    }
    /* Every object of a collection is sealed with one key, so a MANIFEST
     * moved or copied from another backup still authenticates: its own
     * id says where it belongs. */
    if (strcmp(m->id, id)) {
        say("%s/%s: holds the manifest of backup %s (moved or swapped)",
            k->root, name, m->id);
        manifest_free(m);
        return EXIT_FORMAT;
    }
    return 0;
}

static void fmt_time(int64_t t, char *buf, size_t cap, int compact)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ",
             &tm);
}

/* ---- backup ------------------------------------------------------------- */

typedef struct dest {
    char *url, *tag;
} dest;

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

typedef struct unit_ref {
    size_t i;
} unit_ref;

static int cmp_inode(const void *a, const void *b, void *arg)
{
    const mentry *e = arg;
    const mentry *x = &e[*(const size_t *)a], *y = &e[*(const size_t *)b];
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return 0;
}

static int same_entry(const mentry *a, const mentry *b, int checksum)
{
    if (a->type != b->type || a->mode != b->mode || a->uid != b->uid ||
        a->gid != b->gid || a->size != b->size || a->rdev != b->rdev)
        return 0;
    if ((a->link || b->link) &&
        (!a->link || !b->link || strcmp(a->link, b->link)))
        return 0;
    if (checksum && a->type == 'f')
        return a->sha[0] && !strcmp(a->sha, b->sha);
    return a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns &&
           a->ino == b->ino;
}

/* ---- the lock (doc/FORMAT.md 5.7) ---------------------------------------- */

/* LOCK as it is now, or NULL (absent or unreadable; *rc says). */
static char *read_lock(coll *k, int *rc)
{
    const header *saved = k->o.rchain;
    k->o.rchain = NULL; /* LOCK is plain */
    char *t = get_text(k, k->root, "LOCK", rc);
    k->o.rchain = saved;
    return t;
}

/* Its first line, printable, for a message. */
static void lock_holder(const char *t, char *out, size_t cap)
{
    size_t j = 0;
    for (const char *p = t; *p && *p != '\n' && j + 1 < cap; p++)
        out[j++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
    out[j] = '\0';
}

/* Creates LOCK holding a token unique to this run ("HOST PID TIME
 * RANDOM"): atomically where the root allows (a local directory:
 * link(); s3: PUT with If-None-Match: *), else check, write, wait and
 * read back.  0, or an exit status after one line on stderr. */
static int lock_collection(coll *k, const char *host)
{
    uint8_t r[8];
    char rh[17], hs[256];
    if (getrandom(r, sizeof r, 0) != sizeof r) {
        uint64_t x = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
        memcpy(r, &x, sizeof r);
    }
    hex_encode(r, sizeof r, rh);
    lock_holder(host, hs, sizeof hs);
    for (char *p = hs; *p; p++)
        if (*p == ' ')
            *p = '_';
    snprintf(k->lock_token, sizeof k->lock_token, "%s %ld %ld %s\n", hs,
             (long)getpid(), (long)time(NULL), rh);
    char *lockf = tmpname(k, "lock");
    FILE *lf = lockf ? fopen(lockf, "we") : NULL;
    if (!lf || fputs(k->lock_token, lf) < 0 || fclose(lf) != 0) {
        say("%s: cannot write: %s", lockf ? lockf : "scratch",
            strerror(errno));
        free(lockf);
        return EXIT_IO;
    }
    int excl = os_can_exclusive(&k->o, k->root), rc, grc = 0;
    char *t = NULL;
    if (excl) {
        rc = os_put_plain(&k->o, k->root, "LOCK", lockf, 1);
    } else {
        /* No conditional create through this root's stage (http): LOCK
         * absent or "released" is free; write, wait, read back.  Two
         * backups that both find it free within a second of each other
         * can still both go on (doc/FORMAT.md 5.7). */
        t = read_lock(k, &grc);
        rc = t && strncmp(t, "released", 8) != 0 ? SLUICE_E_IO : 0;
        free(t);
        t = NULL;
        if (rc == 0)
            rc = os_put_plain(&k->o, k->root, "LOCK", lockf, 0);
        if (rc == 0)
            sleep(1);
    }
    unlink(lockf);
    free(lockf);
    if (excl && rc == 0) {
        k->locked = 1;
        return 0;
    }
    char putmsg[sizeof k->o.msg];
    snprintf(putmsg, sizeof putmsg, "%s", k->o.msg);
    t = read_lock(k, &grc);
    if (t && !strcmp(t, k->lock_token)) {
        /* Ours (an exclusive PUT retried after its answer was lost). */
        free(t);
        k->locked = 1;
        return 0;
    }
    if (!t && rc < 0) {
        say("%s", putmsg);
        return status_to_exit(rc);
    }
    char who[200] = "unreadable";
    if (t)
        lock_holder(t, who, sizeof who);
    free(t);
    if (!strcmp(who, "released") && excl)
        say("%s: collection is locked: %s/LOCK holds \"released\" (left by "
            "an older sluice): remove it; nothing written", k->root,
            k->root);
    else
        say("%s: collection is locked by another backup (%s/LOCK: %s): "
            "nothing written (%s %s/LOCK if that backup died)", k->root,
            k->root, who,
            os_can_delete(&k->o, k->root) ? "remove"
                                          : "write \"released\" into",
            k->root);
    return EXIT_IO;
}

/* Removes LOCK if it is still this backup's (else leaves it, saying so). */
static void unlock_collection(coll *k)
{
    if (!k->locked)
        return;
    k->locked = 0;
    int rc;
    char *t = read_lock(k, &rc);
    if (t && strcmp(t, k->lock_token) != 0) {
        char who[200];
        lock_holder(t, who, sizeof who);
        say("%s/LOCK is no longer this backup's (%s): left alone", k->root,
            who);
        free(t);
        return;
    }
    free(t);
    if (os_can_delete(&k->o, k->root)) {
        if (os_delete(&k->o, k->root, "LOCK") < 0)
            say("%s", k->o.msg);
        return;
    }
    char *rel = tmpname(k, "released");
    FILE *f = rel ? fopen(rel, "we") : NULL;
    if (f) {
        fputs("released\n", f);
        fclose(f);
        if (os_put_plain(&k->o, k->root, "LOCK", rel, 0) < 0)
            say("%s", k->o.msg);
        unlink(rel);
    }
    free(rel);
}

/* The backup proper; d[] (parsed here) is freed by the caller, whatever
 * path this takes out. */
/* Removes the objects of backup `id` that a failed backup wrote (best
 * effort: a stage that cannot delete, or a signal, leaves them; they are
 * unreferenced, and the next backup gets another id). */
static void discard_backup(coll *k, const char *droot, const char *id,
                           unsigned n_data, int with_manifest)
{
    char name[512];
    int left = 0;
    for (unsigned ob = 1; ob <= n_data; ob++) {
        snprintf(name, sizeof name, "backups/%s/data-%u", id, ob);
        left |= os_delete(&k->o, droot, name) != 0;
    }
    if (with_manifest) {
        snprintf(name, sizeof name, "backups/%s/MANIFEST", id);
        left |= os_delete(&k->o, k->root, name) != 0;
    }
    /* A local collection also has the backup's directory (or two). */
    const char *roots[2] = {droot, k->root};
    for (int i = 0; i < 2; i++)
        if (os_is_local(roots[i])) {
            snprintf(name, sizeof name, "%s/backups/%s", roots[i], id);
            (void)rmdir(name);
        }
    if (left)
        say("backup: the objects written so far (backups/%s/) could not "
            "all be removed; nothing refers to them", id);
}

/* Stores split file e as its chunk objects data-<e->obj>...; *written
 * and *stored follow.  0 or an exit status (said). */
static int put_split(coll *k, const char *droot, const char *id,
                     const mentry *e, unsigned *written, uint64_t *stored)
{
    const char *dir = k->c->directory;
    char *src = dir && e->disk[0] != '/' ? NULL : strdup(e->disk);
    if (!src && (src = malloc(strlen(dir) + strlen(e->disk) + 2)))
        sprintf(src, "%s/%s", dir, e->disk);
    if (!src)
        return EXIT_INTERNAL;
    int ex = 0;
    for (unsigned j = 0; j < e->nchunks; j++) {
        uint64_t off = (uint64_t)j * e->chunk;
        uint64_t len = e->size - off < e->chunk ? e->size - off : e->chunk;
        char name[512];
        uint64_t sz = 0;
        snprintf(name, sizeof name, "backups/%s/data-%u", id, e->obj + j);
        int rc = os_put_range(&k->o, droot, name, src, off, len, &sz);
        if (rc < 0) {
            ex = fail_os(k, rc);
            break;
        }
        *written = e->obj + j;
        *stored += sz;
    }
    free(src);
    return ex;
}

static int backup_with(coll *k, dest *d)
{
    ccli *c = k->c;
    int n_default = 0, ex = 0;
    const char *host = host_name(c);
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

    int absent = 0;
    ex = open_collection(k, &absent);
    if (ex)
        return ex;
    if (!absent && preset_encrypts(k->desc) != c->encrypt) {
        say("%s: %s", k->root,
            c->encrypt ? "this collection is not encrypted: an encrypted "
                         "backup cannot be appended to it (omit -e)"
                       : "this collection is encrypted: give -e (an "
                         "unencrypted backup cannot be appended)");
        return EXIT_USAGE;
    }
    if (absent) {
        /* A new collection: one salt for every object it will hold. */
        sluice_error err = {0};
        k->fchain = header_new();
        uint8_t salt[16];
        char hex[33];
        if (c->encrypt) {
            if (getrandom(salt, sizeof salt, 0) != sizeof salt)
                return say("no random bytes for the salt"), EXIT_INTERNAL;
            hex_encode(salt, sizeof salt, hex);
        }
        preset_opts po = {c->zstd, c->level, c->encrypt, c->kdf_iter,
                          c->encrypt ? hex : NULL};
        if (preset_chain(&po, k->fchain, &err) < 0)
            return say("%s", err.message), EXIT_USAGE;
        k->o.fchain = k->fchain;
        if (os_is_local(k->root)) {
            char *p = strdup(k->root);
            for (char *q = p + 1; p && *q; q++)
                if (*q == '/') {
                    *q = '\0';
                    (void)mkdir(p, 0777);
                    *q = '/';
                }
            free(p);
            if (mkdir(k->root, 0777) < 0 && errno != EEXIST)
                return say("%s: cannot create: %s", k->root,
                           strerror(errno)),
                       EXIT_IO;
        }
    }

    int rc;
    if ((ex = lock_collection(k, host)))
        return ex;

    manifest prev = {0}, cur = {0};
    char id[400];
    uint64_t bytes_in = 0, stored = 0, files = 0;
    size_t *order = NULL;
    unsigned *objof = NULL;
    /* What this backup has written so far, removed again if it fails
     * before the INDEX names it (the INDEX is the commit point). */
    unsigned written = 0;
    int wrote_manifest = 0, committing = 0;
    const char *droot = k->root;
    id[0] = '\0';
    if (absent) {
        /* Created only if still absent: another backup may have made the
         * collection (and released the lock) since open_collection(). */
        int excl = os_can_exclusive(&k->o, k->root);
        header *h = NULL;
        rc = excl ? os_put_descriptor(&k->o, k->root, DESCRIPTOR, 1)
                  : SLUICE_E_IO;
        if (rc < 0 && rc != SLUICE_E_USAGE &&
            os_read_header(&k->o, k->root, DESCRIPTOR, &h) == 0) {
            header_free(h);
            say("%s: the collection was created by another backup "
                "meanwhile: nothing written; run the backup again", k->root);
            ex = EXIT_IO;
            goto unlock;
        }
        if (!excl)
            rc = os_put_descriptor(&k->o, k->root, DESCRIPTOR, 0);
        if (rc < 0) {
            ex = fail_os(k, rc);
            goto unlock;
        }
        rc = os_read_header(&k->o, k->root, DESCRIPTOR, &k->desc);
        if (rc < 0) {
            ex = fail_os(k, rc);
            goto unlock;
        }
        k->o.rchain = k->desc;
    } else if ((ex = load_index(k, 0))) {
        goto unlock;
    }
    for (int i = 0; i < c->n_to; i++)
        loc_set(&k->locs, d[i].tag, d[i].url);
    if (!loc_url(&k->locs, "default"))
        loc_set(&k->locs, "default", k->root);

    /* The destination of this host's data: its most specific tier. */
    const char *tag = "default";
    if (c->locality) {
        char *copy = strdup(c->locality), *save = NULL;
        char *tiers[32];
        int nt = 0;
        for (char *t = strtok_r(copy, ",", &save); t && nt < 32;
             t = strtok_r(NULL, ",", &save))
            tiers[nt++] = t;
        for (int i = nt - 1; i >= 0; i--)
            if (loc_url(&k->locs, tiers[i])) {
                for (size_t j = 0; j < k->locs.n; j++)
                    if (!strcmp(k->locs.e[j].tag, tiers[i]))
                        tag = k->locs.e[j].tag;
                break;
            }
        free(copy);
    }
    droot = strcmp(tag, "default") ? loc_url(&k->locs, tag) : k->root;

    const char *parent = NULL;
    for (size_t i = k->ix.n; i-- > 0;)
        if (!strcmp(k->ix.e[i].host, host)) {
            parent = k->ix.e[i].id;
            break;
        }
    if (parent && (ex = load_manifest(k, parent, &prev)))
        goto unlock;

    char err[512] = "";
    if (scan_tree(c->directory, c->args, c->n_args, c->checksum,
                  &cur.entries, err, sizeof err) < 0) {
        say("backup: %s", err);
        ex = EXIT_IO;
        goto unlock;
    }
    /* The backup id: time, host, 4 random hex digits. */
    {
        char ts[32], hs[64];
        uint8_t r[2];
        char rh[5];
        int64_t now = time(NULL);
        fmt_time(now, ts, sizeof ts, 1);
        size_t j = 0;
        for (const char *p = host; *p && j < sizeof hs - 1; p++)
            hs[j++] = (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
                              "QRSTUVWXYZ0123456789.", *p))
                          ? *p : '_';
        hs[j] = '\0';
        if (getrandom(r, 2, 0) != 2)
            r[0] = r[1] = 0;
        hex_encode(r, 2, rh);
        snprintf(id, sizeof id, "%s-%s-%s", ts, hs, rh);
        cur.id = strdup(id);
        cur.host = strdup(host);
        cur.parent = parent ? strdup(parent) : NULL;
        cur.time = now;
    }

    /* What changed: need[i] = store entry i in this backup. */
    mlist *E = &cur.entries;
    objof = calloc(E->n + 1, sizeof *objof); /* 0 = unchanged */
    order = malloc((E->n + 1) * sizeof *order);
    if (!objof || !order) {
        ex = EXIT_INTERNAL;
        goto unlock;
    }
    for (size_t i = 0; i < E->n; i++) {
        mentry *e = &E->e[i];
        const mentry *p = mlist_find(&prev.entries, e->path);
        if (p && same_entry(e, p, c->checksum)) {
            e->bid = strdup(p->bid);
            e->obj = p->obj;
            e->nchunks = p->nchunks; /* a split file: its chunk objects */
            e->chunk = p->chunk;
        } else {
            objof[i] = 1; /* to store */
        }
    }
    /* Hard-linked files travel together: if one link is stored, all are. */
    size_t nl = 0;
    for (size_t i = 0; i < E->n; i++)
        if (E->e[i].type == 'f' && E->e[i].nlink > 1)
            order[nl++] = i;
    qsort_r(order, nl, sizeof *order, cmp_inode, E->e);
    for (size_t a = 0; a < nl;) {
        size_t b = a, any = 0;
        while (b < nl && !cmp_inode(&order[a], &order[b], E->e))
            any |= objof[order[b++]];
        for (size_t j = a; any && j < b; j++)
            objof[order[j]] = 1;
        a = b;
    }
    /* Pack into objects of at most object_size (about: 512 bytes of tar
     * header a member).  A regular file of one link larger than that is
     * split: raw chunk objects of object_size bytes of it (the last: the
     * rest), numbered on from the objects before; a tar object after
     * them starts anew.  Hard-linked files stay whole in one tar object
     * (one larger than object_size if they are). */
    unsigned nobj = 0;
    uint64_t fill = 0;
    int fresh = 0;
    for (size_t i = 0; i < E->n; i++) {
        if (objof[i] != 1 || E->e[i].bid)
            continue;
        mentry *big = &E->e[i];
        if (big->type == 'f' && big->nlink <= 1 &&
            big->size > c->object_size) {
            uint64_t nc = (big->size - 1) / c->object_size + 1;
            if (nc > UINT_MAX - nobj) {
                say("backup: %s: %" PRIu64 " bytes need more than 2^32 "
                    "objects of --object-size %" PRIu64, big->path,
                    big->size, c->object_size);
                ex = EXIT_USAGE;
                goto unlock;
            }
            big->bid = strdup(id);
            big->obj = nobj + 1;
            big->nchunks = (unsigned)nc;
            big->chunk = c->object_size;
            nobj += (unsigned)nc;
            fresh = 1;
            files++;
            bytes_in += big->size;
            continue;
        }
        /* the unit: entry i, plus its hard links */
        size_t unit[4096], nu = 0;
        uint64_t usize = E->e[i].size + 512;
        unit[nu++] = i;
        if (E->e[i].type == 'f' && E->e[i].nlink > 1)
            for (size_t j = i + 1; j < E->n && nu < 4096; j++)
                if (objof[j] == 1 && !E->e[j].bid && E->e[j].type == 'f' &&
                    E->e[j].dev == E->e[i].dev && E->e[j].ino == E->e[i].ino)
                    unit[nu++] = j;
        if (nobj == 0 || fresh ||
            (fill > 0 && fill + usize > c->object_size)) {
            nobj++;
            fill = 0;
            fresh = 0;
        }
        fill += usize;
        for (size_t u = 0; u < nu; u++) {
            mentry *e = &E->e[unit[u]];
            e->bid = strdup(id);
            e->obj = nobj;
            files++;
            if (u == 0)
                bytes_in += e->size;
        }
    }
    /* Deleted since the parent. */
    for (size_t i = 0; i < prev.entries.n; i++)
        if (!mlist_find(E, prev.entries.e[i].path)) {
            char **g = realloc(cur.deleted, (cur.n_deleted + 1) * sizeof *g);
            if (!g)
                break;
            cur.deleted = g;
            cur.deleted[cur.n_deleted++] = strdup(prev.entries.e[i].path);
        }
    /* Write the data objects: tar objects, and the chunks of split files
     * (whose numbers follow entry order, as assigned above). */
    size_t si = 0; /* the next split file this backup stores */
    for (unsigned ob = 1; ob <= nobj; ob++) {
        while (si < E->n && (!E->e[si].nchunks || strcmp(E->e[si].bid, id)))
            si++;
        if (si < E->n && E->e[si].obj == ob) {
            mentry *e = &E->e[si++];
            if ((ex = put_split(k, droot, id, e, &written, &stored)))
                goto unlock;
            ob += e->nchunks - 1;
            continue;
        }
        char *list = tmpname(k, "list");
        FILE *f = fopen(list, "we");
        for (size_t i = 0; f && i < E->n; i++)
            if (E->e[i].obj == ob && !strcmp(E->e[i].bid, id)) {
                fputs(E->e[i].disk, f);
                fputc('\0', f);
            }
        if (!f || fclose(f) != 0) {
            say("%s: cannot write", list);
            free(list);
            ex = EXIT_IO;
            goto unlock;
        }
        char name[512];
        uint64_t sz = 0;
        snprintf(name, sizeof name, "backups/%s/data-%u", id, ob);
        rc = os_put_archive(&k->o, droot, name, c->directory, list, &sz);
        unlink(list);
        free(list);
        if (rc < 0) {
            ex = fail_os(k, rc);
            goto unlock;
        }
        written = ob;
        stored += sz;
    }
    {
        char name[512];
        uint64_t sz = 0;
        snprintf(name, sizeof name, "backups/%s/MANIFEST", id);
        rc = put_text(k, k->root, name, w_manifest, &cur, &sz);
        if (rc < 0) {
            ex = fail_os(k, rc);
            goto unlock;
        }
        wrote_manifest = 1;
        stored += sz;
    }
    ixent *b = index_push(&k->ix);
    b->id = strdup(id);
    b->time = cur.time;
    b->host = strdup(host);
    b->parent = parent ? strdup(parent) : NULL;
    b->dest = strdup(tag);
    b->full = parent == NULL;
    b->files = files;
    b->bytes_in = bytes_in;
    b->bytes_stored = stored;
    rc = put_text(k, k->root, "LOCALITIES", w_locs, &k->locs, NULL);
    /* From here a failure may still have stored the INDEX (a PUT whose
     * answer was lost): nothing this backup wrote may be removed. */
    committing = 1;
    if (rc == 0)
        rc = put_text(k, k->root, "INDEX", w_index, &k->ix, NULL);
    if (rc < 0) {
        ex = fail_os(k, rc);
        goto unlock;
    }
    if (!c->quiet)
        printf("%s\n", id);
unlock:
    if (ex && !committing && id[0])
        discard_backup(k, droot, id, written, wrote_manifest);
    unlock_collection(k);
    free(order);
    free(objof);
    manifest_free(&prev);
    manifest_free(&cur);
    return ex;
}

static int cmd_backup(coll *k)
{
    dest d[MAX_TO];
    memset(d, 0, sizeof d);
    int ex = backup_with(k, d);
    for (int i = 0; i < MAX_TO; i++) {
        free(d[i].url);
        free(d[i].tag);
    }
    return ex;
}

/* ---- backups, restore, verify ------------------------------------------ */

static int open_existing(coll *k)
{
    k->root = k->c->from;
    int ex = open_collection(k, NULL);
    if (!ex)
        ex = load_index(k, 1);
    return ex;
}

static int cmd_backups(coll *k)
{
    int ex = open_existing(k);
    if (ex)
        return ex;
    for (size_t i = 0; i < k->ix.n; i++) {
        const ixent *e = &k->ix.e[i];
        if (k->c->host && strcmp(e->host, k->c->host))
            continue;
        if (k->c->quiet) {
            host_print_listing(stdout, e->id);
            continue;
        }
        char ts[40], line[1200];
        fmt_time(e->time, ts, sizeof ts, 0);
        snprintf(line, sizeof line,
                 "%s %s %s %s %" PRIu64 " %" PRIu64 " %" PRIu64, e->id, ts,
                 e->host, e->full ? "full" : "incremental", e->files,
                 e->bytes_in, e->bytes_stored);
        host_print_listing(stdout, line); /* the host name is stored */
    }
    return EXIT_OK;
}

/* --as-of: a backup id, or a time (2026-11-27T18:30:00Z, 20261127T183000Z
 * or @UNIX): the last backup of the host at or before it. */
static const ixent *select_backup(coll *k)
{
    const char *host = host_name(k->c);
    const char *a = k->c->as_of;
    if (a) {
        const ixent *e = find_backup(k, a);
        if (e)
            return e;
    }
    int64_t limit = INT64_MAX;
    if (a) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = NULL;
        if (a[0] == '@')
            limit = strtoll(a + 1, NULL, 10);
        else if ((end = strptime(a, "%Y-%m-%dT%H:%M:%S", &tm)) ||
                 (end = strptime(a, "%Y%m%dT%H%M%S", &tm)))
            limit = (int64_t)timegm(&tm);
        else {
            say("--as-of %s: neither a backup id of this collection nor a "
                "time (YYYY-MM-DDTHH:MM:SSZ, @UNIX)", a);
            return NULL;
        }
    }
    for (size_t i = k->ix.n; i-- > 0;)
        if (!strcmp(k->ix.e[i].host, host) && k->ix.e[i].time <= limit)
            return &k->ix.e[i];
    say("%s: no backup of host %s%s%s", k->root, host, a ? " as of " : "",
        a ? a : "");
    return NULL;
}

typedef struct objgroup {
    const char *bid;
    unsigned obj;
    size_t pos; /* of bid in the INDEX */
} objgroup;

static int cmp_group(const void *a, const void *b, void *arg)
{
    (void)arg;
    const mentry *x = *(mentry *const *)a, *y = *(mentry *const *)b;
    int c = strcmp(x->bid, y->bid);
    if (c)
        return c;
    if (x->obj != y->obj)
        return x->obj < y->obj ? -1 : 1;
    return strcmp(x->path, y->path);
}

static int under(const char *path, char **sel, int n)
{
    if (n == 0)
        return 1;
    for (int i = 0; i < n; i++) {
        const char *s = sel[i];
        while (s[0] == '.' && s[1] == '/')
            s += 2;
        size_t l = strlen(s);
        while (l > 1 && s[l - 1] == '/')
            l--;
        if (!strncmp(path, s, l) && (path[l] == '\0' || path[l] == '/'))
            return 1;
        /* the directories leading to a selected path */
        size_t pl = strlen(path);
        if (pl < l && !strncmp(path, s, pl) && s[pl] == '/')
            return 1;
    }
    return 0;
}

static int worse(int a, int b) { return a ? a : b; }

/* SIGINT or SIGTERM came: every run from now on fails at once, so a loop
 * over objects stops instead of reporting each of them; collection_main
 * then dies of the signal. */
static int interrupted(coll *k)
{
    int sig = atomic_load(&k->o.s->signal_number);
    if (sig && !k->said_interrupted) {
        k->said_interrupted = 1;
        say("%s: interrupted: %s received", k->c->cmd,
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    return sig != 0;
}

/* Runs one job per data object: extract (or list) the members needed. */
static int per_object(coll *k, mentry **v, size_t n, const char *dir,
                      int list_only, const char *verb)
{
    int ex = 0;
    for (size_t a = 0; a < n && !interrupted(k);) {
        size_t b = a;
        while (b < n && !strcmp(v[b]->bid, v[a]->bid) &&
               v[b]->obj == v[a]->obj)
            b++;
        char **members = malloc((b - a) * sizeof *members);
        for (size_t j = a; members && j < b; j++)
            members[j - a] = v[j]->path;
        char name[512];
        snprintf(name, sizeof name, "backups/%s/data-%u", v[a]->bid,
                 v[a]->obj);
        int rc = members ? os_extract(&k->o, data_root(k, v[a]->bid), name,
                                      dir, members, b - a, list_only)
                         : SLUICE_E_NOMEM;
        if (rc < 0 && interrupted(k)) {
            free(members);
            return EXIT_INCOMPLETE;
        }
        if (rc < 0) {
            say("%s: damaged or missing object: %s", verb, k->o.msg);
            ex = worse(ex, status_to_exit(rc));
        }
        free(members);
        a = b;
    }
    return ex;
}

/* Fetches the chunk objects of split file e in order, decoding each
 * into scratch and checking it holds the bytes the manifest says (all
 * but the last: e->chunk; the total: e->size; with --checksum, the
 * SHA-256); appends them to out unless it is -1 (verify).  0, or an
 * exit status after one line per problem ("verb: ..."). */
static int split_fetch(coll *k, const mentry *e, int out, const char *verb)
{
    const char *root = data_root(k, e->bid);
    char *scratch = tmpname(k, "chunk");
    uint8_t *buf = malloc(65536);
    if (!scratch || !buf) {
        free(scratch);
        free(buf);
        return EXIT_INTERNAL;
    }
    const size_t buf_size = 65536;
    sha256_ctx sc;
    sha256_init(&sc);
    uint64_t total = 0;
    int ex = 0;
    for (unsigned j = 0; j < e->nchunks && !ex; j++) {
        char name[512];
        snprintf(name, sizeof name, "backups/%s/data-%u", e->bid,
                 e->obj + j);
        int rc = os_get_file(&k->o, root, name, scratch);
        if (rc < 0) {
            if (interrupted(k)) {
                ex = EXIT_INCOMPLETE;
                break;
            }
            say("%s: damaged or missing object: %s", verb, k->o.msg);
            ex = status_to_exit(rc);
            break;
        }
        uint64_t want = j + 1 < e->nchunks ? e->chunk
                                           : e->size - (uint64_t)j * e->chunk;
        uint64_t got = 0;
        int in = open(scratch, O_RDONLY | O_CLOEXEC), rerr = errno;
        ssize_t r = in < 0 ? -1 : 0;
        while (in >= 0 && got <= want &&
               (r = read(in, buf, buf_size)) > 0) {
            got += (uint64_t)r; /* past want: stop, reported below */
            sha256_update(&sc, buf, (size_t)r);
            for (ssize_t w = 0, d; out >= 0 && w < r; w += d)
                if ((d = write(out, buf + w, (size_t)(r - w))) < 0) {
                    if (errno == EINTR) {
                        d = 0;
                        continue;
                    }
                    say("%s: %s: cannot write: %s", verb, e->path,
                        strerror(errno));
                    ex = EXIT_IO;
                    break;
                }
            if (ex)
                break;
        }
        if (r < 0)
            rerr = errno;
        if (in >= 0)
            close(in);
        unlink(scratch);
        if (!ex && r < 0) {
            say("%s: %s: cannot read: %s", verb, scratch, strerror(rerr));
            ex = EXIT_IO;
        }
        if (!ex && got != want) {
            char *url = os_url(root, name);
            say("%s: damaged object: %s: holds %s%" PRIu64 " bytes of %s "
                "(chunk %u of %u), the manifest says %" PRIu64, verb,
                url ? url : name, got > want ? "at least " : "", got,
                e->path, j + 1, e->nchunks, want);
            free(url);
            ex = EXIT_FORMAT;
        }
        total += got;
    }
    free(scratch);
    free(buf);
    if (!ex && total != e->size) { /* cannot happen after the checks */
        say("%s: %s: %" PRIu64 " bytes in its chunks, the manifest says %"
            PRIu64, verb, e->path, total, e->size);
        ex = EXIT_FORMAT;
    }
    if (!ex && e->sha[0]) {
        uint8_t d[32];
        char hex[65];
        sha256_final(&sc, d);
        hex_encode(d, sizeof d, hex);
        if (strcmp(hex, e->sha)) {
            say("%s: %s: its chunk objects (backups/%s/data-%u..%u) do not "
                "hold the contents backed up (SHA-256 differs)", verb,
                e->path, e->bid, e->obj, e->obj + e->nchunks - 1);
            ex = EXIT_FORMAT;
        }
    }
    return ex;
}

/* Opens the directory holding path's last component, beneath dfd,
 * without following any symlink on the way; *last gets that component.
 * Returns a descriptor (dfd itself for a top-level name) or -1. */
static int open_parent(int dfd, char *path, const char **last)
{
    int fd = dfd;
    char *c = path;
    for (char *slash; (slash = strchr(c, '/'));) {
        *slash = '\0';
        int next = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW |
                                     O_CLOEXEC);
        *slash = '/';
        if (fd != dfd)
            close(fd);
        if (next < 0)
            return -1;
        fd = next;
        c = slash + 1;
    }
    *last = c;
    return fd;
}

/* Sets the mode, owner (as root) and times of DIR/<e->path> from the
 * manifest, never following a symlink: whatever a data object put there
 * (a symlink where the manifest says directory, say), nothing outside DIR
 * is touched.  The path is canonical (manifest_parse checked it).
 * Returns -1 when a symlink or non-directory stands in the way or the
 * entry is a symlink/directory where the manifest says otherwise; 0
 * otherwise (a missing entry is left to the extraction's report). */
static int apply_meta(int dfd, const mentry *e, int is_root)
{
    struct timespec ts[2];
    ts[0].tv_sec = ts[1].tv_sec = (time_t)(e->mtime_ns / 1000000000);
    ts[0].tv_nsec = ts[1].tv_nsec = (long)(e->mtime_ns % 1000000000);
    if (ts[0].tv_nsec < 0) {
        ts[0].tv_nsec = ts[1].tv_nsec = ts[0].tv_nsec + 1000000000;
        ts[0].tv_sec = ts[1].tv_sec = ts[0].tv_sec - 1;
    }
    if (!strcmp(e->path, ".")) { /* DIR itself, as the user named it */
        if (is_root)
            (void)fchown(dfd, e->uid, e->gid);
        (void)fchmod(dfd, e->mode);
        (void)futimens(dfd, ts);
        return 0;
    }
    char *p = strdup(e->path);
    const char *last;
    int pfd = p ? open_parent(dfd, p, &last) : -1;
    if (pfd < 0) {
        int gone = errno == ENOENT; /* not extracted: reported already */
        free(p);
        return gone ? 0 : -1;
    }
    struct stat st;
    int rc = 0;
    if (fstatat(pfd, last, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (is_root)
            (void)fchownat(pfd, last, e->uid, e->gid, AT_SYMLINK_NOFOLLOW);
        /* glibc: through an O_PATH|O_NOFOLLOW descriptor, EOPNOTSUPP on
         * a symlink (which has no mode of its own on Linux). */
        if (e->type != 'l' && !S_ISLNK(st.st_mode))
            (void)fchmodat(pfd, last, e->mode, AT_SYMLINK_NOFOLLOW);
        (void)utimensat(pfd, last, ts, AT_SYMLINK_NOFOLLOW);
        if ((e->type == 'd') != S_ISDIR(st.st_mode) ||
            (e->type == 'l') != S_ISLNK(st.st_mode))
            rc = -1;
    }
    if (pfd != dfd)
        close(pfd);
    free(p);
    return rc;
}

/* Restores split file e: a new temporary file beside DIR/<e->path>
 * (reached without following symlinks), the chunks appended in order,
 * renamed into place once all are there and the size is right. */
static int restore_split(coll *k, int dfd, const mentry *e)
{
    const char *dir = k->c->directory, *last;
    char *p = strdup(e->path);
    int pfd = p ? open_parent(dfd, p, &last) : -1;
    if (pfd < 0) {
        say("restore: %s/%s: its directory is missing, or a symlink or "
            "non-directory stands in the way: not restored", dir, e->path);
        free(p);
        return EXIT_FORMAT;
    }
    char tmp[64];
    int fd = -1;
    for (int t = 0; t < 64 && fd < 0; t++) {
        uint8_t r[6];
        char rh[13];
        if (getrandom(r, sizeof r, 0) != sizeof r)
            memset(r, t, sizeof r);
        hex_encode(r, sizeof r, rh);
        snprintf(tmp, sizeof tmp, ".sluice-split-%s", rh);
        fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                                  O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    int ex = 0;
    if (fd < 0) {
        say("restore: %s/%s: cannot create a file beside it: %s", dir,
            e->path, strerror(errno));
        ex = EXIT_IO;
    } else {
        ex = split_fetch(k, e, fd, "restore");
        if (!ex && fsync(fd) < 0) {
            say("restore: %s/%s: cannot sync: %s", dir, e->path,
                strerror(errno));
            ex = EXIT_IO;
        }
        if (close(fd) < 0 && !ex) {
            say("restore: %s/%s: cannot close: %s", dir, e->path,
                strerror(errno));
            ex = EXIT_IO;
        }
        if (!ex && renameat(pfd, tmp, pfd, last) < 0) {
            say("restore: %s/%s: cannot rename into place: %s", dir,
                e->path, strerror(errno));
            ex = EXIT_IO;
        }
        if (ex)
            (void)unlinkat(pfd, tmp, 0);
    }
    if (pfd != dfd)
        close(pfd);
    free(p);
    return ex;
}

static int cmd_restore(coll *k)
{
    int ex = open_existing(k);
    if (ex)
        return ex;
    const ixent *b = select_backup(k);
    if (!b)
        return EXIT_USAGE;
    manifest m = {0};
    if ((ex = load_manifest(k, b->id, &m)))
        return ex;
    const char *dir = k->c->directory;
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        say("%s: %s", dir, strerror(errno));
        manifest_free(&m);
        return EXIT_IO;
    }
    /* v: the members of tar objects to extract; sp: split files. */
    mentry **v = malloc((m.entries.n + 1) * sizeof *v);
    mentry **sp = malloc((m.entries.n + 1) * sizeof *sp);
    size_t n = 0, nsp = 0;
    for (size_t i = 0; v && sp && i < m.entries.n; i++)
        if (under(m.entries.e[i].path, k->c->args, k->c->n_args)) {
            if (m.entries.e[i].nchunks)
                sp[nsp++] = &m.entries.e[i];
            else
                v[n++] = &m.entries.e[i];
        }
    if (!v || !sp) {
        say("restore: out of memory");
        free(v);
        free(sp);
        manifest_free(&m);
        return EXIT_INTERNAL;
    }
    if (k->c->n_args && n + nsp == 0) {
        say("restore: no such path in backup %s", b->id);
        free(v);
        free(sp);
        manifest_free(&m);
        return EXIT_USAGE;
    }
    /* Oldest objects first, so the parents of later ones exist. */
    qsort_r(v, n, sizeof *v, cmp_group, NULL);
    for (size_t i = 1; i < n; i++) { /* stable insertion by INDEX order */
        mentry *x = v[i];
        size_t j = i, px = backup_pos(k, x->bid);
        while (j > 0 && backup_pos(k, v[j - 1]->bid) > px) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    ex = per_object(k, v, n, dir, 0, "restore");
    if (interrupted(k)) {
        free(v);
        free(sp);
        manifest_free(&m);
        return ex;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        say("%s: %s", dir, strerror(errno));
        ex = worse(ex, EXIT_IO);
    }
    /* Split files, once the tar objects made their directories. */
    for (size_t i = 0; dfd >= 0 && i < nsp; i++) {
        int e = restore_split(k, dfd, sp[i]);
        ex = worse(ex, e);
        if (interrupted(k)) {
            close(dfd);
            free(v);
            free(sp);
            manifest_free(&m);
            return worse(ex, EXIT_INCOMPLETE);
        }
    }
    /* Metadata as of the backup, deepest first: extracting later objects
     * changed the times of the directories earlier ones made. */
    int is_root = geteuid() == 0;
    for (size_t i = m.entries.n; dfd >= 0 && i-- > 0;) {
        const mentry *e = &m.entries.e[i];
        if (!under(e->path, k->c->args, k->c->n_args))
            continue;
        if (apply_meta(dfd, e, is_root) < 0) {
            say("restore: %s/%s: not what the manifest says (a symlink "
                "there or on the way): metadata not applied",
                dir, e->path);
            ex = worse(ex, EXIT_FORMAT);
        }
    }
    if (dfd >= 0)
        close(dfd);
    free(v);
    free(sp);
    manifest_free(&m);
    return ex;
}

static int cmd_verify(coll *k)
{
    int ex = open_existing(k);
    if (ex)
        return ex;
    /* Every object any manifest names, with the members it must hold. */
    manifest *ms = calloc(k->ix.n + 1, sizeof *ms);
    size_t total = 0, bad = 0, nobj = 0;
    for (size_t i = 0; ms && i < k->ix.n && !interrupted(k); i++) {
        int e = load_manifest(k, k->ix.e[i].id, &ms[i]);
        if (e) {
            bad++;
            ex = worse(ex, e);
        }
        total += ms[i].entries.n;
    }
    mentry **v = malloc((total + 1) * sizeof *v);
    mentry **sp = malloc((total + 1) * sizeof *sp);
    size_t n = 0, nsp = 0;
    for (size_t i = 0; v && sp && i < k->ix.n; i++)
        for (size_t j = 0; j < ms[i].entries.n; j++) {
            mentry *e = &ms[i].entries.e[j];
            if (strcmp(e->bid, ms[i].id)) /* stored by an older backup */
                continue;
            if (e->nchunks)
                sp[nsp++] = e, nobj += e->nchunks;
            else
                v[n++] = e;
        }
    qsort_r(v, n, sizeof *v, cmp_group, NULL);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(v[i]->bid, v[i - 1]->bid) ||
            v[i]->obj != v[i - 1]->obj)
            nobj++;
    /* Entries pointing to an older backup must name an object it made. */
    for (size_t i = 0; i < k->ix.n; i++)
        for (size_t j = 0; j < ms[i].entries.n; j++) {
            const mentry *e = &ms[i].entries.e[j];
            if (!find_backup(k, e->bid)) {
                say("verify: backups/%s/MANIFEST: %s refers to unknown "
                    "backup %s", ms[i].id, e->path, e->bid);
                ex = worse(ex, EXIT_FORMAT);
            }
        }
    int e2 = per_object(k, v, n, NULL, 1, "verify");
    ex = worse(ex, e2);
    /* Split files: every chunk decoded (authenticated), sizes checked. */
    for (size_t i = 0; i < nsp && !interrupted(k); i++)
        ex = worse(ex, split_fetch(k, sp[i], -1, "verify"));
    if (!k->c->quiet && !interrupted(k))
        printf("%zu backups, %zu objects checked%s\n", k->ix.n, nobj,
               ex ? ": DAMAGED (see above)" : ", all authentic and complete");
    for (size_t i = 0; ms && i < k->ix.n; i++)
        manifest_free(&ms[i]);
    free(ms);
    free(v);
    free(sp);
    return ex;
}

/* ---- entry -------------------------------------------------------------- */

int collection_run(const char *cmd, const coll_opts *o, session *s,
                   loader *l)
{
    ccli c = *o;
    c.cmd = cmd;
    int ex;
    coll k;
    memset(&k, 0, sizeof k);
    k.c = &c;
    k.o.s = s;
    k.o.l = l;
    k.o.s3_endpoint = c.s3_endpoint;
    k.o.insecure = c.insecure;
    const char *td = getenv("TMPDIR");
    snprintf(k.tmpdir, sizeof k.tmpdir, "%s/sluice-XXXXXX",
             td && *td && strlen(td) < 40 ? td : "/tmp");
    if (!mkdtemp(k.tmpdir)) {
        say("cannot create a scratch directory: %s", strerror(errno));
        return EXIT_IO;
    }
    k.o.tmpdir = k.tmpdir;
    if (!strcmp(c.cmd, "backup"))
        ex = cmd_backup(&k);
    else if (!strcmp(c.cmd, "backups"))
        ex = cmd_backups(&k);
    else if (!strcmp(c.cmd, "restore"))
        ex = cmd_restore(&k);
    else
        ex = cmd_verify(&k);
    if (ex == EXIT_OK && atomic_load(&s->incomplete))
        ex = EXIT_INCOMPLETE;
    rmdir(k.tmpdir);
    header_free(k.desc);
    header_free(k.fchain);
    index_free(&k.ix);
    loc_free(&k.locs);
    return ex;
}
