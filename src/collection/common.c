/* common.c - opening a collection and reading/writing its records; the
 * command dispatch.  See coll.h and doc/FORMAT.md section 5. */
#define _GNU_SOURCE
#include "coll.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../presets.h"
#include "../passphrase.h"
#include "../sha256.h"
#include "../status.h"
#include "state.h"

int say(const char *fmt, ...)
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

int worse(int a, int b) { return a ? a : b; }

unsigned coll_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4096 ? 4096 : (unsigned)n;
}

unsigned coll_width(void)
{
    unsigned n = coll_cores();
    /* Two at least: one's network waits are the other's turn. */
    return n < 2 ? 2 : n < COLL_JOBS ? n : COLL_JOBS;
}

int object_exit(int rc)
{
    /* A stored object that does not hold the members its manifest gives
     * it (the archive stage: "Not found in archive", a usage error on
     * the command line) was swapped or edited: tampering, not usage
     * (doc/FORMAT.md 5.8: 5 tampered, 3 missing). */
    return rc == SLUICE_E_USAGE ? EXIT_AUTH : status_to_exit(rc);
}

int interrupted(coll *k)
{
    int sig = atomic_load(&k->o.s->signal_number);
    if (sig && !atomic_exchange(&k->said_interrupted, 1))
        say("%s: interrupted: %s received", k->cmd,
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    return sig != 0;
}

int fail_os(coll *k, int rc, const os_err *e)
{
    if (!interrupted(k)) /* else it said so, once */
        say("%s", e->msg);
    return status_to_exit(rc);
}

const char *host_name(const coll_opts *c)
{
    static char buf[256];
    if (c->host)
        return c->host;
    if (gethostname(buf, sizeof buf - 1) < 0)
        strcpy(buf, "localhost");
    buf[sizeof buf - 1] = '\0';
    return buf;
}

void fmt_time(int64_t t, char *buf, size_t cap, int compact)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ",
             &tm);
}

/* The forward chain from the descriptor (presets: which recorded
 * parameters a stage takes back on the forward side). */
static int forward_from(const header *d, header *f)
{
    sluice_error err = {0};
    if (preset_forward_from(d, f, &err) < 0) {
        say("%s: %s", DESCRIPTOR, err.message);
        return -1;
    }
    return 0;
}

int open_collection(coll *k, int *absent)
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
    os_err e;
    int rc = os_read_header(&k->o, k->root, DESCRIPTOR, &k->desc, &e);
    if (rc < 0) {
        if (absent && !local && os_err_absent(&e)) {
            *absent = 1;
            return 0;
        }
        return fail_os(k, rc, &e);
    }
    if (absent)
        *absent = 0;
    if (k->o.require_auth && !preset_encrypts(k->desc)) {
        say("%s: not encrypted, but %s: refusing; --allow-unencrypted to "
            "accept", k->root, k->o.require_auth);
        return EXIT_AUTH;
    }
    rc = os_check_descriptor(&k->o, k->root, DESCRIPTOR, &e);
    if (rc == SLUICE_E_AUTH) {
        say("%s: wrong passphrase: it does not match the one this "
            "collection was created with (nothing was written)", k->root);
        return EXIT_AUTH;
    }
    if (rc < 0)
        return fail_os(k, rc, &e);
    k->fchain = header_new();
    if (!k->fchain || forward_from(k->desc, k->fchain) < 0)
        return EXIT_FORMAT;
    k->o.fchain = k->fchain;
    k->o.rchain = k->desc;
    return 0;
}

int put_record(coll *k, const char *name,
               int (*writer)(FILE *, const void *), const void *arg,
               uint64_t *stored, os_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        snprintf(err->msg, sizeof err->msg, "%s: out of memory", name);
        return SLUICE_E_NOMEM;
    }
    flockfile(f); /* one lock for the record's many small writes */
    int w = writer(f, arg);
    funlockfile(f);
    if (fclose(f) != 0 || w < 0) {
        free(buf);
        snprintf(err->msg, sizeof err->msg, "%s: out of memory", name);
        return SLUICE_E_NOMEM;
    }
    int rc = os_put_mem(&k->o, k->root, name, buf, len, 0, 0, stored, err);
    free(buf);
    return rc;
}

/* The next INDEX: sequence + 1 (1 for the first, or after a
 * sluice-index/1), chained to the one read by its SHA-256; the client
 * records it once stored. */
int put_index(coll *k, os_err *err)
{
    index_t *ix = &k->ix;
    uint64_t seq = ix->seq;
    uint8_t prev[32];
    memcpy(prev, ix->prev, sizeof prev);
    if (ix->seq)
        memcpy(ix->prev, ix->hash, sizeof ix->prev);
    else /* sequence 1 has no predecessor (not even a sluice-index/1) */
        memset(ix->prev, 0, sizeof ix->prev);
    ix->seq++;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int w = f ? index_write(f, ix) : -1;
    if (!f || fclose(f) != 0 || w < 0) {
        free(buf);
        ix->seq = seq;
        memcpy(ix->prev, prev, sizeof prev);
        snprintf(err->msg, sizeof err->msg, "INDEX: out of memory");
        return SLUICE_E_NOMEM;
    }
    int rc = os_put_mem(&k->o, k->root, "INDEX", buf, len, 0, 0, NULL, err);
    if (rc == 0) {
        sha256_ctx c;
        sha256_init(&c);
        sha256_update(&c, buf, len);
        sha256_final(&c, ix->hash);
        state_record_index(k);
    }
    free(buf);
    return rc;
}

int load_index(coll *k, int must)
{
    os_err e;
    char *t = NULL;
    int rc = os_get_mem(&k->o, k->root, "INDEX", 0, &t, NULL, &e);
    size_t len = 0;
    if (rc < 0) {
        /* A collection whose first backup failed before its INDEX (or
         * whose INDEX was removed: the client's state says which). */
        if (!must && (os_is_local(k->root) || os_err_absent(&e)))
            return state_check_index(k);
        return fail_os(k, rc, &e);
    }
    len = strlen(t);
    uint8_t hash[32];
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, t, len);
    sha256_final(&c, hash);
    char err[128];
    if (index_parse(t, &k->ix, err, sizeof err) < 0) {
        free(t);
        say("%s/INDEX: %s", k->root, err);
        return EXIT_FORMAT;
    }
    free(t);
    memcpy(k->ix.hash, hash, sizeof hash);
    k->have_index = 1;
    if ((rc = state_check_index(k)))
        return rc;
    if (os_get_mem(&k->o, k->root, "LOCALITIES", 0, &t, NULL, &e) == 0) {
        loc_parse(t, &k->locs, err, sizeof err);
        free(t);
    }
    return 0;
}

const ixent *find_backup(const coll *k, const char *id)
{
    size_t i = backup_pos(k, id);
    return i == (size_t)-1 ? NULL : &k->ix.e[i];
}

size_t backup_pos(const coll *k, const char *id)
{
    for (size_t i = 0; i < k->ix.n; i++)
        if (!strcmp(k->ix.e[i].id, id))
            return i;
    return (size_t)-1;
}

const char *data_root(const coll *k, const char *bid)
{
    const ixent *b = find_backup(k, bid);
    /* "default" is wherever the collection was opened: it moves along. */
    const char *u = b && strcmp(b->dest, "default")
                        ? loc_url(&k->locs, b->dest) : NULL;
    return u ? u : k->root;
}

static int feed_manifest(void *arg, const uint8_t *d, size_t n)
{
    return mparse_feed(arg, (const char *)d, n) < 0 ? SLUICE_E_FORMAT : 0;
}

static int load(coll *k, const char *id, manifest *m, int head_only)
{
    char name[512];
    snprintf(name, sizeof name, "backups/%s/MANIFEST", id);
    os_err e;
    char err[256];
    /* Parsed as it is decoded: no copy of the whole text (5 MB for 35k
     * entries, every page of it a fault), its lines parsed while the
     * rest is still being decrypted and decompressed.  Nothing is used
     * unless the whole run succeeds (authenticated to its end). */
    mparse *p = head_only ? mparse_new_head(m) : mparse_new(m);
    if (!p)
        return say("%s/%s: out of memory", k->root, name), EXIT_INTERNAL;
    int rc = os_get_consume(&k->o, k->root, name, feed_manifest, p, NULL,
                            NULL, &e);
    if (rc < 0 && !mparse_failed(p)) { /* the run's failure, not the text's */
        mparse_free(p);
        return fail_os(k, rc, &e);
    }
    if (mparse_end(p, err, sizeof err) < 0) {
        say("%s/%s: %s", k->root, name, err);
        return EXIT_FORMAT;
    }
    for (size_t i = 0; i < m->entries.n; i++)
        m->entries.e[i].in = m; /* its object records, where it stays */
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

int load_manifest(coll *k, const char *id, manifest *m)
{
    return load(k, id, m, 0);
}

int load_manifest_head(coll *k, const char *id, manifest *m)
{
    return load(k, id, m, 1);
}

const os_sum *object_sum(const mentry *e, unsigned n, os_sum *s)
{
    const mobj *o = e->in ? manifest_obj(e->in, e->bid, n) : NULL;
    if (!o)
        return NULL;
    s->size = o->size;
    s->digest.kind = o->binding ? ENGINE_DIGEST_BINDING : ENGINE_DIGEST_SHA256;
    memcpy(s->digest.v, o->digest, sizeof s->digest.v);
    return s;
}

int open_existing(coll *k)
{
    /* The URL given to --to, tag and all, opens the collection too. */
    const char *q = strstr(k->c->from, "?locality=");
    k->root = k->c->from;
    if (q && !strchr(q + 1, '?') && !strchr(q + 1, '/')) {
        k->root = k->from_url =
            strndup(k->c->from, (size_t)(q - k->c->from));
        if (!k->root)
            return EXIT_INTERNAL;
    }
    int ex = open_collection(k, NULL);
    if (!ex)
        ex = load_index(k, 1);
    return ex;
}

/* restore and verify: why every object must be authenticated by the
 * collection's encryption (issue 14, downgrade), or NULL.  A passphrase
 * given by any means or -e means an encrypted collection is expected; a
 * storage holder who replaced every object by unencrypted ones must not
 * pass for it.  --allow-unencrypted is the way out. */
static const char *auth_required(const char *cmd, const coll_opts *o,
                                 const session *s)
{
    if (o->allow_unencrypted ||
        (strcmp(cmd, "restore") && strcmp(cmd, "verify")))
        return NULL;
    if (o->encrypt)
        return "-e was given";
    return passphrase_given(&s->passphrase) ? "a passphrase was given"
                                            : NULL;
}

int collection_run(const char *cmd, const coll_opts *o, session *s,
                   loader *l)
{
    coll k;
    memset(&k, 0, sizeof k);
    k.cmd = cmd;
    k.c = o;
    k.o.s = s;
    k.o.l = l;
    k.o.s3_endpoint = o->s3_endpoint;
    k.o.insecure = o->insecure;
    k.o.require_auth = auth_required(cmd, o, s);
    int ex;
    if (!strcmp(cmd, "backup"))
        ex = cmd_backup(&k);
    else if (!strcmp(cmd, "backups"))
        ex = cmd_backups(&k);
    else if (!strcmp(cmd, "ls"))
        ex = cmd_ls(&k);
    else if (!strcmp(cmd, "diff"))
        ex = cmd_diff(&k);
    else if (!strcmp(cmd, "restore"))
        ex = cmd_restore(&k);
    else if (!strcmp(cmd, "forget"))
        ex = cmd_forget(&k);
    else if (!strcmp(cmd, "prune"))
        ex = cmd_prune(&k);
    else if (!strcmp(cmd, "unlock"))
        ex = cmd_unlock(&k);
    else
        ex = cmd_verify(&k);
    feedback_stop(&k);
    if (ex == EXIT_OK && atomic_load(&s->incomplete))
        ex = EXIT_INCOMPLETE;
    /* Stopped early by a signal (it said so): not a success, so the
     * process dies of the signal.  A signal that came after the work was
     * done (a backup's INDEX committed) changes nothing: exit 0. */
    if (ex == EXIT_OK && atomic_load(&k.said_interrupted))
        ex = EXIT_INCOMPLETE;
    free(k.from_url);
    header_free(k.desc);
    header_free(k.fchain);
    index_free(&k.ix);
    loc_free(&k.locs);
    return ex;
}
