/* manifest.c - MANIFEST, INDEX and LOCALITIES records; see manifest.h. */
#define _GNU_SOURCE /* mremap */
#include "manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../memstage.h"
#include "../util.h"

/* From this size on, a list's entries are a mapping of their own,
 * aligned to 2 MiB and reserved well ahead, with transparent huge pages
 * asked for.  The entries are most of a large manifest's memory (35k:
 * 4.8 MB), and each 4 KiB page first touched took a fault of about 12 us
 * in a VM that returns freed pages to its host: 1.2k of them for that
 * manifest, on the thread that parses it while the restore waits.  Past
 * the reservation, mremap moves the pages (no copy). */
#define MLIST_MAP_MIN ((size_t)2 << 20)
#define MLIST_RESERVE ((size_t)64 << 20)
/* Version 4: an object record whose digest is a stage's binding. */
#define BINDING_PREFIX "binding:"

static int mlist_grow(mlist *l)
{
    size_t cap = l->cap ? 2 * l->cap : 256, bytes = cap * sizeof *l->e;
    if (l->mapped >= bytes) { /* reserved already */
        l->cap = cap;
        return 0;
    }
    if (bytes < MLIST_MAP_MIN) {
        mentry *g = realloc(l->e, bytes);
        if (!g)
            return -1;
        l->e = g;
        l->cap = cap;
        return 0;
    }
    size_t len = 0;
    void *g;
    if (l->mapped) {
        len = 2 * bytes;
        g = mremap(l->e, l->mapped, len, MREMAP_MAYMOVE);
        if (g != MAP_FAILED)
            (void)madvise(g, len, MADV_HUGEPAGE);
    } else {
        g = map_huge(bytes > MLIST_RESERVE ? bytes : MLIST_RESERVE, &len);
        if (g && l->n)
            memcpy(g, l->e, l->n * sizeof *l->e);
        if (g)
            free(l->e);
        else
            g = MAP_FAILED;
    }
    if (g == MAP_FAILED)
        return -1;
    l->e = g;
    l->cap = cap;
    l->mapped = len;
    return 0;
}

void mlist_release_array(mlist *l)
{
    if (l->mapped)
        munmap(l->e, l->mapped);
    else
        free(l->e);
    l->e = NULL;
    l->n = l->cap = 0;
    l->mapped = 0;
}

struct idtab {
    char **slot; /* open addressing: cap a power of 2, at most half full */
    size_t cap, n;
    size_t last; /* the slot found last: entries come in runs of one id */
};

static size_t id_hash(const char *s)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (size_t)h;
}

static int idtab_grow(struct idtab *t)
{
    size_t cap = t->cap ? 2 * t->cap : 16;
    char **slot = calloc(cap, sizeof *slot);
    if (!slot)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slot[i])
            continue;
        size_t j = id_hash(t->slot[i]) & (cap - 1);
        while (slot[j])
            j = (j + 1) & (cap - 1);
        slot[j] = t->slot[i];
    }
    free(t->slot);
    t->slot = slot;
    t->cap = cap;
    t->last = 0;
    return 0;
}

const char *mlist_id(mlist *l, const char *id)
{
    if (!l->ids && !(l->ids = calloc(1, sizeof *l->ids)))
        return NULL;
    struct idtab *t = l->ids;
    if (t->cap && t->slot[t->last] && !strcmp(t->slot[t->last], id))
        return t->slot[t->last];
    if (2 * (t->n + 1) > t->cap && idtab_grow(t) < 0)
        return NULL;
    size_t i = id_hash(id) & (t->cap - 1);
    for (; t->slot[i]; i = (i + 1) & (t->cap - 1))
        if (!strcmp(t->slot[i], id))
            return t->slot[t->last = i];
    if (!(t->slot[i] = strdup(id)))
        return NULL;
    t->n++;
    t->last = i;
    return t->slot[i];
}

static void idtab_free(struct idtab *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++)
        free(t->slot[i]);
    free(t->slot);
    free(t);
}

mentry *mlist_push(mlist *l)
{
    if (l->n == l->cap && mlist_grow(l) < 0)
        return NULL;
    mentry *e = &l->e[l->n++];
    memset(e, 0, sizeof *e);
    return e;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const mentry *)a)->path, ((const mentry *)b)->path);
}

void mlist_sort(mlist *l)
{
    /* Manifests are written in path order, and the scan walks in it
     * mostly: one pass says whether a sort is needed at all. */
    size_t i = 1;
    while (i < l->n && cmp_entry(&l->e[i - 1], &l->e[i]) < 0)
        i++;
    if (i < l->n)
        qsort(l->e, l->n, sizeof *l->e, cmp_entry);
}

mentry *mlist_find(const mlist *l, const char *path)
{
    mentry key;
    key.path = (char *)path;
    if (!l->n)
        return NULL;
    return bsearch(&key, l->e, l->n, sizeof *l->e, cmp_entry);
}

void mlist_free(mlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->e[i].path);
        free(l->e[i].disk);
        free(l->e[i].link);
        free(l->e[i].sha);
    }
    mlist_release_array(l);
    idtab_free(l->ids);
    l->ids = NULL;
}

int manifest_add_obj(manifest *m, const char *bid, unsigned n,
                     uint64_t size, int binding, const uint8_t digest[32])
{
    if (m->n_objs == m->cap_objs) {
        size_t cap = m->cap_objs ? 2 * m->cap_objs : 64;
        mobj *g = realloc(m->objs, cap * sizeof *g);
        if (!g)
            return -1;
        m->objs = g;
        m->cap_objs = cap;
    }
    mobj *o = &m->objs[m->n_objs];
    if (!(o->bid = strdup(bid)))
        return -1;
    o->n = n;
    o->size = size;
    o->binding = binding;
    memcpy(o->digest, digest, 32);
    m->n_objs++;
    return 0;
}

static int cmp_obj(const void *a, const void *b)
{
    const mobj *x = a, *y = b;
    int c = strcmp(x->bid, y->bid);
    return c ? c : x->n < y->n ? -1 : x->n > y->n;
}

void manifest_sort_objs(manifest *m)
{
    if (m->n_objs)
        qsort(m->objs, m->n_objs, sizeof *m->objs, cmp_obj);
}

const mobj *manifest_obj(const manifest *m, const char *bid, unsigned n)
{
    mobj key = {.bid = (char *)bid, .n = n};
    if (!m->n_objs)
        return NULL;
    return bsearch(&key, m->objs, m->n_objs, sizeof *m->objs, cmp_obj);
}

void manifest_free(manifest *m)
{
    for (size_t i = 0; i < m->n_objs; i++)
        free(m->objs[i].bid);
    free(m->objs);
    free(m->id);
    free(m->host);
    free(m->parent);
    free(m->paths);
    mlist_free(&m->entries);
    for (size_t i = 0; i < m->n_deleted; i++)
        free(m->deleted[i]);
    free(m->deleted);
    memset(m, 0, sizeof *m);
}

/* Whether byte c is written as %XX. */
static int needs_esc(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || c == '%';
}

void esc_write(FILE *f, const char *s)
{
    /* Runs of plain bytes in one fwrite: a manifest holds a path per
     * entry, and a call per byte was most of its writing time. */
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        const unsigned char *q = p;
        while (*q && !needs_esc(*q))
            q++;
        if (q > p)
            fwrite(p, 1, (size_t)(q - p), f);
        if (!*q)
            break;
        fprintf(f, "%%%02X", *q);
        p = q + 1;
    }
}

/* Appends " N" (decimal) at *w. */
static char *put_u64(char *w, uint64_t v)
{
    char t[24];
    size_t n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    *w++ = ' ';
    while (n > 0)
        *w++ = t[--n];
    return w;
}

static char *put_i64(char *w, int64_t v)
{
    if (v >= 0)
        return put_u64(w, (uint64_t)v);
    w = put_u64(w, -(uint64_t)v); /* " N" -> " -N" */
    char *space = w;
    while (*--space != ' ')
        ;
    memmove(space + 2, space + 1, (size_t)(w - space - 1));
    space[1] = '-';
    return w + 1;
}

/* An entry's line up to its path, as the fprintf format
 * "E %c %04o %u %u %llu %lld %lld %llu %llu %llu %llu %s %s %u" would
 * write it (one call per field was most of a big manifest's
 * writing time). */
static void write_fields(FILE *f, const mentry *e)
{
    char line[512], *w = line;
    *w++ = 'E';
    *w++ = ' ';
    *w++ = e->type;
    *w++ = ' ';
    for (int sh = 9; sh >= 0; sh -= 3) /* %04o: the mode is 07777 */
        *w++ = (char)('0' + ((e->mode >> sh) & 7));
    w = put_u64(w, e->uid);
    w = put_u64(w, e->gid);
    w = put_u64(w, e->size);
    w = put_i64(w, e->mtime_ns);
    w = put_i64(w, e->ctime_ns);
    w = put_u64(w, e->ino);
    w = put_u64(w, e->dev);
    w = put_u64(w, e->nlink);
    w = put_u64(w, e->rdev);
    *w++ = ' ';
    fwrite(line, 1, (size_t)(w - line), f);
    fputs(e->sha ? e->sha : "-", f);
    fputc(' ', f);
    fputs(e->bid, f);
    w = put_u64(line, e->obj);
    fwrite(line, 1, (size_t)(w - line), f);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int esc_decode(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '%') {
            int h = hexval(r[1]), l = h < 0 ? -1 : hexval(r[2]);
            if (l < 0 || (h == 0 && l == 0)) /* %00 would cut the string */
                return -1;
            *w++ = (char)(h * 16 + l);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return 0;
}

int manifest_write_head(FILE *f, const manifest *m)
{
    fprintf(f, "sluice-manifest/4\nid %s\nhost ", m->id);
    esc_write(f, m->host);
    fprintf(f, "\ntime %" PRId64 "\nparent %s\n", m->time,
            m->parent ? m->parent : "-");
    if (m->paths) { /* optional: older manifests have none */
        fputs("paths ", f);
        esc_write(f, m->paths);
        fputc('\n', f);
    }
    for (size_t i = 0; i < m->entries.n; i++) {
        const mentry *e = &m->entries.e[i];
        write_fields(f, e);
        if (e->nchunks)
            fprintf(f, ":%u:%" PRIu64, e->nchunks, e->chunk);
        fputc(' ', f);
        esc_write(f, e->path);
        if (e->link) {
            fputc(' ', f);
            esc_write(f, e->link);
        }
        fputc('\n', f);
    }
    for (size_t i = 0; i < m->n_deleted; i++) {
        fputs("D ", f);
        esc_write(f, m->deleted[i]);
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

int manifest_write_tail(FILE *f, const manifest *m)
{
    for (size_t i = 0; i < m->n_objs; i++) {
        const mobj *o = &m->objs[i];
        fprintf(f, "O %s %u %" PRIu64 " %s", o->bid, o->n, o->size,
                o->binding ? BINDING_PREFIX : "");
        for (size_t j = 0; j < 32; j++)
            fprintf(f, "%02x", o->digest[j]);
        fputc('\n', f);
    }
    fputs("end\n", f);
    return ferror(f) ? -1 : 0;
}

int manifest_write(FILE *f, const manifest *m)
{
    int rc = manifest_write_head(f, m);
    return manifest_write_tail(f, m) < 0 ? -1 : rc;
}

/* Splits line into at most max space-separated fields. */
/* The fields of line, as strtok_r(line, " ") gives them (runs of blanks
 * are one separator), at most max, each NUL-terminated.  One pass: the
 * restore of a 35k-entry backup parses its MANIFEST on one core before
 * any object starts, and strtok_r's strspn/strcspn were a third of it. */
static size_t split(char *line, char **fld, size_t max)
{
    size_t n = 0;
    char *c = line;
    while (n < max) {
        while (*c == ' ')
            c++;
        if (!*c)
            break;
        fld[n++] = c;
        c = strchrnul(c, ' ');
        if (!*c)
            break;
        *c++ = '\0';
    }
    return n;
}

static int perr(char *err, size_t cap, const char *what, size_t lineno)
{
    snprintf(err, cap, "malformed %s at line %zu", what, lineno);
    return -1;
}

/* A relative, canonical member name: "." or components separated by
 * single "/", none of them empty, "." or "..".  Restore applies metadata
 * to DIR/<path>, so anything else could name a file outside DIR. */
int manifest_path_ok(const char *p)
{
    if (!strcmp(p, "."))
        return 1;
    if (!*p || *p == '/')
        return 0;
    for (const char *c = p;;) {
        size_t n = strcspn(c, "/");
        if (n == 0 || (n == 1 && c[0] == '.') ||
            (n == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        c += n;
        if (!*c)
            return 1;
        c++; /* the "/"; a trailing one leaves an empty component */
    }
}

/* A backup id as object names use it ("backups/<id>/..."): bytes of
 * [A-Za-z0-9._-], not starting with "." (so never "." or ".."). */
int manifest_id_ok(const char *id)
{
    if (!*id || *id == '.' || strlen(id) > 255)
        return 0;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
              *p == '-'))
            return 0;
    return 1;
}

static int merr(manifest *m, char *err, size_t cap, const char *what,
                const char *detail, size_t lineno)
{
    manifest_free(m);
    if (detail)
        snprintf(err, cap, "%s at line %zu: %s", what, lineno, detail);
    else
        snprintf(err, cap, "malformed %s at line %zu", what, lineno);
    return -1;
}

/* Sets *slot to a copy of v once; a second line for it is an error. */
static int once(char **slot, int *seen, const char *v)
{
    if (*seen)
        return -1;
    *seen = 1;
    *slot = v ? strdup(v) : NULL;
    return v && !*slot ? -1 : 0;
}

/* One or more digits of base 8 or 10, at most max (no sign, no blank);
 * advances *s past them.  0, or -1 (no digit, or over max). */
static int digits(const char **s, unsigned base, uint64_t max, uint64_t *out)
{
    const char *p = *s;
    uint64_t v = 0;
    for (; (unsigned)(*p - '0') < base; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (max - d) / base)
            return -1;
        v = v * base + d;
    }
    if (p == *s)
        return -1;
    *s = p;
    *out = v;
    return 0;
}

/* A decimal number of digits only, 1..max; advances *s past it. */
static int num(const char **s, uint64_t max, uint64_t *out)
{
    uint64_t v;
    if (digits(s, 10, max, &v) < 0 || v == 0)
        return -1;
    *out = v;
    return 0;
}

/* 64 lowercase hex digits into out[32]; 0 or -1. */
static int hex32(const char *s, uint8_t out[32])
{
    if (strlen(s) != 64)
        return -1;
    for (size_t i = 0; i < 32; i++) {
        int h = hexval(s[2 * i]), l = hexval(s[2 * i + 1]);
        if (h < 0 || l < 0 || (s[2 * i] >= 'A' && s[2 * i] <= 'F') ||
            (s[2 * i + 1] >= 'A' && s[2 * i + 1] <= 'F'))
            return -1;
        out[i] = (uint8_t)(h * 16 + l);
    }
    return 0;
}

/* "O BID N SIZE DIGEST": NULL, or what is wrong.  DIGEST: the SHA-256
 * of the stored bytes, or since version 4 "binding:" and the binding of
 * the chain's authenticating stage (64 lowercase hex digits either). */
static const char *parse_objline(manifest *m, char **f, int version)
{
    const char *p = f[2], *q = f[3], *d = f[4];
    uint64_t n, size = 0;
    uint8_t digest[32];
    int binding = version >= 4 && !strncmp(d, BINDING_PREFIX,
                                           strlen(BINDING_PREFIX));
    if (!manifest_id_ok(f[1]))
        return "its backup is not a backup id";
    if (num(&p, UINT32_MAX, &n) < 0 || *p)
        return "object number not 1..4294967295";
    if (strcmp(q, "0") && (num(&q, UINT64_MAX, &size) < 0 || *q))
        return "malformed size";
    if (hex32(binding ? d + strlen(BINDING_PREFIX) : d, digest) < 0)
        return binding ? "binding not 64 lowercase hex digits"
                       : "SHA-256 not 64 lowercase hex digits";
    if (manifest_add_obj(m, f[1], (unsigned)n, size, binding, digest) < 0)
        return "out of memory";
    return NULL;
}

/* The object field: "N" (a member of tar object data-N), or, version 2,
 * "N:C:S" (a split regular file in raw chunk objects data-N ..
 * data-(N+C-1), each holding S bytes of it but the last, which holds the
 * rest: C is exactly ceil(size / S)).  NULL, or what is wrong. */
static const char *parse_obj(const char *s, int version, mentry *e)
{
    uint64_t n, c, sz;
    if (num(&s, UINT32_MAX, &n) < 0)
        return "object number not 1..4294967295";
    e->obj = (unsigned)n;
    if (!*s)
        return NULL;
    if (version < 2 || *s != ':')
        return "malformed object number";
    s++;
    if (num(&s, UINT32_MAX, &c) < 0 || *s++ != ':' ||
        num(&s, UINT64_MAX, &sz) < 0 || *s)
        return "malformed split object field (N:COUNT:CHUNK)";
    if (e->type != 'f')
        return "split object field on an entry that is not a regular file";
    if (c - 1 > UINT32_MAX - n)
        return "split file's objects beyond data-4294967295";
    if (e->size == 0 || (e->size - 1) / sz + 1 != c)
        return "split file's chunk count and size do not cover its size";
    e->nchunks = (unsigned)c;
    e->chunk = sz;
    return NULL;
}

/* A numeric field: digits of base 8 or 10 and nothing else (no sign,
 * blank or trailing byte), at most max: 0, or -1.  The records are
 * contracts (FORMAT.md 5.3, 5.4): what sluice writes parses, any other
 * text is refused rather than read as far as strtoull would go. */
static int field_u(const char *s, unsigned base, uint64_t max, uint64_t *v)
{
    return digits(&s, base, max, v) < 0 || *s ? -1 : 0;
}

/* The same with an optional '-', within int64_t (times before 1970). */
static int field_s(const char *s, int64_t *v)
{
    int neg = *s == '-';
    uint64_t x;
    if (field_u(s + neg, 10, (uint64_t)INT64_MAX + (unsigned)neg, &x) < 0)
        return -1;
    *v = !neg ? (int64_t)x : x > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)x;
    return 0;
}

/* The numbers of an "E" line, f[2] .. f[11], into e: 0 or -1. */
static int entry_numbers(char **f, mentry *e)
{
    uint64_t mode, uid, gid;
    if (field_u(f[2], 8, 07777, &mode) < 0 ||
        field_u(f[3], 10, UINT32_MAX, &uid) < 0 ||
        field_u(f[4], 10, UINT32_MAX, &gid) < 0 ||
        field_u(f[5], 10, UINT64_MAX, &e->size) < 0 ||
        field_s(f[6], &e->mtime_ns) < 0 || field_s(f[7], &e->ctime_ns) < 0 ||
        field_u(f[8], 10, UINT64_MAX, &e->ino) < 0 ||
        field_u(f[9], 10, UINT64_MAX, &e->dev) < 0 ||
        field_u(f[10], 10, UINT64_MAX, &e->nlink) < 0 ||
        field_u(f[11], 10, UINT64_MAX, &e->rdev) < 0)
        return -1;
    e->mode = (unsigned)mode;
    e->uid = (unsigned)uid;
    e->gid = (unsigned)gid;
    return 0;
}

/* Fields f[0..n) of an "E" line into e: NULL, or why it is refused
 * ("" for a malformed entry without more to say). */
static const char *parse_entry(mlist *l, mentry *e, char **f, size_t n,
                               int version)
{
    if (strlen(f[1]) != 1 || !strchr("fdlcbp", f[1][0]))
        return "";
    e->type = f[1][0];
    if (entry_numbers(f, e) < 0)
        return "a number field not plain digits (mode octal, up to 07777; "
               "times may be negative)";
    if (strcmp(f[12], "-") && !(e->sha = strndup(f[12], 64)))
        return "out of memory";
    if (!manifest_id_ok(f[13]))
        return "its backup is not a backup id";
    e->bid = mlist_id(l, f[13]);
    const char *why = parse_obj(f[14], version, e);
    if (why)
        return why;
    if (esc_decode(f[15]) < 0 || (n == 17 && esc_decode(f[16]) < 0))
        return "";
    if (!manifest_path_ok(f[15]))
        return "path not relative and canonical (\"..\", "
               "leading \"/\", empty or \".\" component)";
    e->path = strdup(f[15]);
    e->link = n == 17 ? strdup(f[16]) : NULL;
    if (!e->bid || !e->path || (n == 17 && !e->link))
        return "out of memory";
    return NULL;
}

/* The streaming parser's state: the manifest so far and what the
 * checks of doc/FORMAT.md 5.3 have seen. */
struct mparse {
    manifest *m;
    int version, ended, seen_id, seen_host, seen_time, seen_parent;
    size_t lineno, total;
    int failed, stopped; /* stopped: a NUL (the text ends there)     */
    int head_only;       /* E, D and O lines passed over             */
    char *line;          /* the line being put together              */
    size_t len, cap;
    char err[256];
};

/* The first line: the format version. */
static int parse_version(mparse *p, const char *line)
{
    if (!strcmp(line, "sluice-manifest/2")) {
        p->version = 2;
    } else if (!strcmp(line, "sluice-manifest/3")) {
        p->version = 3;
    } else if (!strcmp(line, "sluice-manifest/4")) {
        p->version = 4;
    } else if (strcmp(line, "sluice-manifest/1") != 0) {
        manifest_free(p->m);
        snprintf(p->err, sizeof p->err, "not a sluice-manifest/1, /2, /3 or /4 "
                 "(or a newer format version)");
        return -1;
    }
    return 0;
}

/* The header lines: id, host, time, parent, paths.  1: not one. */
static int parse_header(mparse *p, char **f, size_t n)
{
    manifest *m = p->m;
    char *err = p->err;
    size_t cap = sizeof p->err, lineno = p->lineno;
    if (!strcmp(f[0], "id") && n == 2) {
        if (!manifest_id_ok(f[1]))
            return merr(m, err, cap, "id", "not a backup id", lineno);
        if (once(&m->id, &p->seen_id, f[1]) < 0)
            return merr(m, err, cap, "manifest", "a second \"id\" line",
                        lineno);
    } else if (!strcmp(f[0], "host") && n == 2) {
        if (esc_decode(f[1]) < 0)
            return merr(m, err, cap, "host", NULL, lineno);
        if (once(&m->host, &p->seen_host, f[1]) < 0)
            return merr(m, err, cap, "manifest", "a second \"host\" line",
                        lineno);
    } else if (!strcmp(f[0], "time") && n == 2) {
        if (p->seen_time++)
            return merr(m, err, cap, "manifest", "a second \"time\" line",
                        lineno);
        if (field_s(f[1], &m->time) < 0)
            return merr(m, err, cap, "time", "not a decimal number", lineno);
    } else if (!strcmp(f[0], "parent") && n == 2) {
        const char *par = strcmp(f[1], "-") ? f[1] : NULL;
        if (par && !manifest_id_ok(par))
            return merr(m, err, cap, "parent", "not a backup id", lineno);
        if (once(&m->parent, &p->seen_parent, par) < 0)
            return merr(m, err, cap, "manifest", "a second \"parent\" line",
                        lineno);
    } else if (!strcmp(f[0], "paths") && n == 2) {
        if (esc_decode(f[1]) < 0 || m->paths)
            return merr(m, err, cap, "paths", NULL, lineno);
        if (!(m->paths = strdup(f[1])))
            return merr(m, err, cap, "paths", "out of memory", lineno);
    } else {
        return 1;
    }
    return 0;
}

/* One line (NUL-terminated, without its newline; empty lines are not
 * given): the checks of doc/FORMAT.md 5.3 in their order. */
static int parse_line(mparse *p, char *line)
{
    manifest *m = p->m;
    char *err = p->err, *f[20];
    size_t cap = sizeof p->err, lineno = ++p->lineno;
    if (lineno == 1)
        return parse_version(p, line);
    /* Head only: a line whose first field (as split makes it) is E, D
     * or O is passed over. */
    const char *c = line + strspn(line, " ");
    if (p->head_only && !p->ended && *c && strchr("EDO", *c) && c[1] == ' ')
        return 0;
    size_t n = split(line, f, 20);
    if (n == 0)
        return 0;
    if (p->ended)
        return merr(m, err, cap, "manifest", "text after \"end\"", lineno);
    int rc = parse_header(p, f, n);
    if (rc <= 0)
        return rc;
    if (!strcmp(f[0], "E") && (n == 16 || n == 17)) {
        mentry *e = mlist_push(&m->entries);
        const char *why =
            e ? parse_entry(&m->entries, e, f, n, p->version) : "";
        if (why)
            return merr(m, err, cap, "entry", *why ? why : NULL, lineno);
    } else if (!strcmp(f[0], "D") && n == 2) {
        char **g = realloc(m->deleted, (m->n_deleted + 1) * sizeof *g);
        if (g)
            m->deleted = g;
        if (!g || esc_decode(f[1]) < 0 || !manifest_path_ok(f[1]))
            return merr(m, err, cap, "deletion", NULL, lineno);
        if (!(m->deleted[m->n_deleted] = strdup(f[1])))
            return merr(m, err, cap, "deletion", "out of memory", lineno);
        m->n_deleted++;
    } else if (!strcmp(f[0], "O") && n == 5 && p->version >= 3) {
        const char *why = parse_objline(m, f, p->version);
        if (why)
            return merr(m, err, cap, "object", why, lineno);
    } else if (!strcmp(f[0], "end") && n == 1) {
        p->ended = 1;
    } else {
        return merr(m, err, cap, "manifest line", NULL, lineno);
    }
    return 0;
}

mparse *mparse_new(manifest *m)
{
    mparse *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    memset(m, 0, sizeof *m);
    p->m = m;
    p->version = 1;
    return p;
}

mparse *mparse_new_head(manifest *m)
{
    mparse *p = mparse_new(m);
    if (p)
        p->head_only = 1;
    return p;
}

/* Appends d[0..n) to the line being put together. */
static int line_add(mparse *p, const char *d, size_t n)
{
    if (p->len + n + 1 > p->cap) {
        size_t nc = p->cap ? p->cap : 512;
        while (nc < p->len + n + 1)
            nc *= 2;
        char *g = realloc(p->line, nc);
        if (!g)
            return -1;
        p->line = g;
        p->cap = nc;
    }
    memcpy(p->line + p->len, d, n);
    p->len += n;
    p->line[p->len] = '\0';
    return 0;
}

int mparse_feed(mparse *p, const char *d, size_t n)
{
    if (p->failed || p->stopped)
        return p->failed ? -1 : 0;
    if (n > MEM_RECORD_LIMIT - p->total) {
        manifest_free(p->m);
        snprintf(p->err, sizeof p->err, "record larger than the %zu-byte "
                 "limit", (size_t)MEM_RECORD_LIMIT);
        return p->failed = -1;
    }
    p->total += n;
    const char *nul = memchr(d, '\0', n);
    if (nul) { /* the text ends there, as a C string would */
        n = (size_t)(nul - d);
        p->stopped = 1;
    }
    while (n > 0) {
        const char *nl = memchr(d, '\n', n);
        size_t take = nl ? (size_t)(nl - d) : n;
        if (line_add(p, d, take) < 0) {
            manifest_free(p->m);
            snprintf(p->err, sizeof p->err, "out of memory");
            return p->failed = -1;
        }
        d += take + (nl != NULL);
        n -= take + (nl != NULL);
        if (!nl)
            break;
        if (p->len && parse_line(p, p->line) < 0)
            return p->failed = -1;
        p->len = 0;
    }
    return 0;
}

int mparse_failed(const mparse *p)
{
    return p->failed != 0;
}

void mparse_free(mparse *p)
{
    if (!p)
        return;
    if (!p->failed)
        manifest_free(p->m);
    free(p->line);
    free(p);
}

/* After the last line: what must have been there, and what must be
 * there once only. */
static int parse_finish(manifest *m, int ended, int seen_time,
                        int seen_parent, char *err, size_t cap)
{
    if (!ended) {
        manifest_free(m);
        snprintf(err, cap, "truncated manifest");
        return -1;
    }
    if (!m->id || !m->host || !seen_time || !seen_parent) {
        const char *what = !m->id ? "id" : !m->host ? "host"
                           : !seen_time ? "time" : "parent";
        manifest_free(m);
        snprintf(err, cap, "malformed manifest: no \"%s\" line", what);
        return -1;
    }
    manifest_sort_objs(m);
    for (size_t i = 1; i < m->n_objs; i++)
        if (!cmp_obj(&m->objs[i - 1], &m->objs[i])) {
            snprintf(err, cap, "malformed manifest: object backups/%s/"
                     "data-%u listed twice", m->objs[i].bid, m->objs[i].n);
            manifest_free(m);
            return -1;
        }
    mlist_sort(&m->entries);
    for (size_t i = 1; i < m->entries.n; i++)
        if (!strcmp(m->entries.e[i - 1].path, m->entries.e[i].path)) {
            snprintf(err, cap, "malformed manifest: entry %.200s appears "
                     "twice", m->entries.e[i].path);
            for (char *c = err; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                    *c = '?';
            manifest_free(m);
            return -1;
        }
    return 0;
}

int mparse_end(mparse *p, char *err, size_t cap)
{
    int rc = -1;
    if (!p->failed && p->len) /* a last line without \n (or cut by NUL) */
        p->failed = parse_line(p, p->line);
    if (p->failed)
        snprintf(err, cap, "%s", p->err);
    else
        rc = parse_finish(p->m, p->ended, p->seen_time, p->seen_parent, err,
                          cap);
    p->failed = 1; /* the manifest is the caller's now, or freed */
    mparse_free(p);
    return rc;
}

int manifest_parse(char *text, manifest *m, char *err, size_t cap)
{
    mparse *p = mparse_new(m);
    /* Room for every "E" line at once: one allocation, not a doubling
     * copy of a few MiB.  Each becomes an entry or fails the parse, so
     * no more is touched than the entries need. */
    size_t lines = 1;
    for (const char *c = text; (c = strchr(c, '\n')); c++)
        lines += c[1] == 'E' && c[2] == ' ';
    if (!p || !(m->entries.e = malloc(lines * sizeof *m->entries.e))) {
        free(p);
        snprintf(err, cap, "out of memory");
        return -1;
    }
    m->entries.cap = lines;
    mparse_feed(p, text, strlen(text));
    return mparse_end(p, err, cap);
}

ixent *index_push(index_t *ix)
{
    if (ix->n == ix->cap) {
        size_t cap = ix->cap ? 2 * ix->cap : 16;
        ixent *g = realloc(ix->e, cap * sizeof *g);
        if (!g)
            return NULL;
        ix->e = g;
        ix->cap = cap;
    }
    ixent *e = &ix->e[ix->n++];
    memset(e, 0, sizeof *e);
    return e;
}

void index_free(index_t *ix)
{
    for (size_t i = 0; i < ix->n; i++) {
        free(ix->e[i].id);
        free(ix->e[i].host);
        free(ix->e[i].parent);
        free(ix->e[i].dest);
    }
    free(ix->e);
    memset(ix, 0, sizeof *ix);
}

/* "seq N PREV": N 1..2^63, PREV 64 lowercase hex digits (all zeros
 * exactly when N is 1: the first INDEX has no predecessor). */
static int parse_seq(char **f, size_t n, index_t *ix)
{
    const char *p = n == 3 && !strcmp(f[0], "seq") ? f[1] : "";
    uint64_t v;
    if (num(&p, INT64_MAX, &v) < 0 || *p || hex32(f[2], ix->prev) < 0)
        return -1;
    int zero = 1;
    for (size_t i = 0; i < 32; i++)
        zero &= ix->prev[i] == 0;
    if (zero != (v == 1))
        return -1;
    ix->seq = v;
    return 0;
}

int index_parse(char *text, index_t *ix, char *err, size_t cap)
{
    memset(ix, 0, sizeof *ix);
    size_t lineno = 0;
    int version = 1;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (lineno == 1) {
            if (!strcmp(line, "sluice-index/2")) {
                version = 2;
            } else if (strcmp(line, "sluice-index/1") != 0) {
                snprintf(err, cap, "not a sluice-index/1 or /2 (or a newer "
                                   "format version)");
                return -1;
            }
            continue;
        }
        char *f[12];
        size_t n = split(line, f, 12);
        if (version == 2 && lineno == 2) {
            if (parse_seq(f, n, ix) < 0)
                return perr(err, cap, "index sequence line", lineno);
            continue;
        }
        if (n != 10 || strcmp(f[0], "B")) {
            index_free(ix);
            return perr(err, cap, "index line", lineno);
        }
        ixent *e = index_push(ix);
        if (!e || esc_decode(f[3]) < 0 || esc_decode(f[9]) < 0 ||
            !manifest_id_ok(f[1]) ||
            (strcmp(f[8], "-") && !manifest_id_ok(f[8])) ||
            (strcmp(f[4], "full") && strcmp(f[4], "incremental")) ||
            field_s(f[2], &e->time) < 0 ||
            field_u(f[5], 10, UINT64_MAX, &e->files) < 0 ||
            field_u(f[6], 10, UINT64_MAX, &e->bytes_in) < 0 ||
            field_u(f[7], 10, UINT64_MAX, &e->bytes_stored) < 0) {
            index_free(ix);
            return perr(err, cap, "index line", lineno);
        }
        e->id = strdup(f[1]);
        e->host = strdup(f[3]);
        e->full = !strcmp(f[4], "full");
        e->parent = strcmp(f[8], "-") ? strdup(f[8]) : NULL;
        e->dest = strdup(f[9]);
        if (!e->id || !e->host || !e->dest ||
            (strcmp(f[8], "-") && !e->parent)) {
            index_free(ix);
            return perr(err, cap, "index line", lineno);
        }
    }
    if (version == 2 && lineno < 2) {
        index_free(ix);
        snprintf(err, cap, "malformed sluice-index/2: no sequence line");
        return -1;
    }
    return 0;
}

int index_write(FILE *f, const index_t *ix)
{
    if (!ix->seq) { /* as read from a sluice-index/1 */
        fputs("sluice-index/1\n", f);
    } else {
        fprintf(f, "sluice-index/2\nseq %" PRIu64 " ", ix->seq);
        for (size_t i = 0; i < 32; i++)
            fprintf(f, "%02x", ix->prev[i]);
        fputc('\n', f);
    }
    for (size_t i = 0; i < ix->n; i++) {
        const ixent *e = &ix->e[i];
        fprintf(f, "B %s %" PRId64 " ", e->id, e->time);
        esc_write(f, e->host);
        fprintf(f, " %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %s ",
                e->full ? "full" : "incremental", e->files, e->bytes_in,
                e->bytes_stored, e->parent ? e->parent : "-");
        esc_write(f, e->dest);
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

int loc_parse(char *text, loclist *ll, char *err, size_t cap)
{
    memset(ll, 0, sizeof *ll);
    size_t lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (lineno == 1) {
            if (strcmp(line, "sluice-localities/1") != 0) {
                snprintf(err, cap, "not a sluice-localities/1");
                return -1;
            }
            continue;
        }
        char *f[3];
        if (split(line, f, 3) != 2 || esc_decode(f[0]) < 0 ||
            esc_decode(f[1]) < 0 || loc_set(ll, f[0], f[1]) < 0) {
            loc_free(ll);
            return perr(err, cap, "locality line", lineno);
        }
    }
    return 0;
}

int loc_write(FILE *f, const loclist *ll)
{
    fputs("sluice-localities/1\n", f);
    for (size_t i = 0; i < ll->n; i++) {
        esc_write(f, ll->e[i].tag);
        fputc(' ', f);
        esc_write(f, ll->e[i].url);
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

int loc_set(loclist *ll, const char *tag, const char *url)
{
    for (size_t i = 0; i < ll->n; i++)
        if (!strcmp(ll->e[i].tag, tag)) {
            char *u = strdup(url);
            if (!u)
                return -1;
            free(ll->e[i].url);
            ll->e[i].url = u;
            return 0;
        }
    if (ll->n == ll->cap) {
        size_t cap = ll->cap ? 2 * ll->cap : 8;
        locality *g = realloc(ll->e, cap * sizeof *g);
        if (!g)
            return -1;
        ll->e = g;
        ll->cap = cap;
    }
    ll->e[ll->n].tag = strdup(tag);
    ll->e[ll->n].url = strdup(url);
    if (!ll->e[ll->n].tag || !ll->e[ll->n].url)
        return -1;
    ll->n++;
    return 0;
}

const char *loc_url(const loclist *ll, const char *tag)
{
    for (size_t i = 0; i < ll->n; i++)
        if (!strcmp(ll->e[i].tag, tag))
            return ll->e[i].url;
    return NULL;
}

void loc_free(loclist *ll)
{
    for (size_t i = 0; i < ll->n; i++) {
        free(ll->e[i].tag);
        free(ll->e[i].url);
    }
    free(ll->e);
    memset(ll, 0, sizeof *ll);
}

char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rbe");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = cap ? 2 * cap : 131072;
            char *g = realloc(buf, cap);
            if (!g) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = g;
        }
        size_t r = fread(buf + n, 1, 65536, f);
        n += r;
        if (r == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}
