/*
 * fuzz-manifest.c - libFuzzer target for the collection text records
 * (src/manifest.c): MANIFEST, INDEX and LOCALITIES parsers, and the
 * percent-escaping of paths.
 *
 * Input: byte 0 picks the parser (0 MANIFEST, 1 INDEX, 2 LOCALITIES,
 * 3 esc_decode); the rest is the text (made NUL-terminated, as the callers
 * do after slurp()).  Checked besides no crash/leak/UB:
 *   - a failure comes with a one-line message;
 *   - what parses writes back (manifest_write, index_write, loc_write) as
 *     text that parses again to the same records and writes back to the
 *     very same bytes (write/parse/write is a fixed point), so nothing a
 *     parser accepts is lost or changed by a rewrite of the file;
 *   - esc_write then esc_decode gives back the decoded string;
 *   - the header-only parse (mparse_new_head) accepts what the whole
 *     parse accepts, with the same header;
 *   - an accepted MANIFEST has its id and host, and every entry path is
 *     a relative, canonical member name ("." or a/b, no "..", no empty or
 *     "." component, no leading "/"), each once: src/collection.c restore
 *     applies chmod/lchown/utimensat to DIR/<path>.
 *
 * (The findings manifest-missing and manifest-paths, once skipped through
 * $SLUICE_FUZZ_KNOWN, are fixed: their inputs are seeds in
 * t/fuzz/corpus/manifest/finding-*.)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collection/manifest.h"

#define BUG(...)                                                          \
    do {                                                                  \
        fprintf(stderr, "\n*** fuzz-manifest: " __VA_ARGS__);             \
        fputc('\n', stderr);                                              \
        abort();                                                          \
    } while (0)

/* A relative, canonical member name: "." or components without "..",
 * ".", empty ones, or a leading "/". */
static int canonical(const char *p)
{
    if (!strcmp(p, "."))
        return 1;
    if (!*p || *p == '/')
        return 0;
    for (const char *c = p; *c;) {
        const char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if (n == 0 || (n == 1 && c[0] == '.') ||
            (n == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        c += n;
        if (*c == '/')
            c++;
        else
            break;
        if (!*c)
            return 0; /* trailing "/" */
    }
    return 1;
}

static void check_manifest(const manifest *m)
{
    if (!m->id || !m->host)
        BUG("a MANIFEST without %s was accepted (NULL, and "
            "manifest_write/collection.c use it)", !m->id ? "id" : "host");
    for (size_t i = 0; i < m->entries.n; i++) {
        const mentry *e = &m->entries.e[i];
        if (!e->path || !canonical(e->path))
            BUG("a MANIFEST entry path '%s' was accepted: restore would "
                "chmod/chown DIR/%s", e->path ? e->path : "(null)",
                e->path ? e->path : "(null)");
        if (i > 0 && !strcmp(m->entries.e[i - 1].path, e->path))
            BUG("a MANIFEST with '%s' twice was accepted", e->path);
    }
}

static void check_err(const char *err)
{
    if (!err[0])
        BUG("failure without a message");
    if (strchr(err, '\n'))
        BUG("message spans lines: %s", err);
}

typedef int (*parse_fn)(char *, void *, char *, size_t);
typedef int (*write_fn)(FILE *, const void *);
typedef void (*free_fn)(void *);

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* What the header-only parse (sluice backups) makes of a text the whole
 * parse accepted: accepted too, with the same header and no entries. */
static void check_head(const char *text, const manifest *whole)
{
    manifest h;
    char err[512] = "";
    mparse *p = mparse_new_head(&h);
    if (!p)
        abort();
    if (mparse_feed(p, text, strlen(text)) < 0 ||
        mparse_end(p, err, sizeof err) < 0)
        BUG("the header-only parse refused an accepted MANIFEST: %s", err);
    if (!same_str(h.id, whole->id) || !same_str(h.host, whole->host) ||
        !same_str(h.parent, whole->parent) ||
        !same_str(h.paths, whole->paths) || h.time != whole->time)
        BUG("the header-only parse read another header");
    if (h.entries.n || h.n_objs || h.n_deleted)
        BUG("the header-only parse kept entries or records");
    manifest_free(&h);
}

/* An accepted MANIFEST's object records (version 3) are sorted and
 * each object is listed once: manifest_obj() bsearches them. */
static int p_manifest(char *t, void *o, char *e, size_t c)
{
    char *text = strdup(t);
    if (!text)
        abort();
    int rc = manifest_parse(t, o, e, c);
    const manifest *m = o;
    if (rc == 0)
        check_head(text, m);
    free(text);
    for (size_t i = 1; rc == 0 && i < m->n_objs; i++) {
        int d = strcmp(m->objs[i - 1].bid, m->objs[i].bid);
        if (d > 0 || (d == 0 && m->objs[i - 1].n >= m->objs[i].n))
            BUG("MANIFEST object records unsorted or repeated at %zu", i);
    }
    for (size_t i = 0; rc == 0 && i < m->n_objs; i++)
        if (manifest_obj(m, m->objs[i].bid, m->objs[i].n) != &m->objs[i])
            BUG("manifest_obj does not find record %zu", i);
    return rc;
}
static int w_manifest(FILE *f, const void *o) { return manifest_write(f, o); }
static void f_manifest(void *o) { manifest_free(o); }
/* An accepted INDEX: sequence 0 (sluice-index/1) or one whose chain
 * field is all zeros exactly for sequence 1 (doc/FORMAT.md 5.4). */
static int p_index(char *t, void *o, char *e, size_t c)
{
    int rc = index_parse(t, o, e, c);
    const index_t *ix = o;
    int zero = 1;
    for (size_t i = 0; rc == 0 && i < 32; i++)
        zero &= ix->prev[i] == 0;
    if (rc == 0 && ix->seq && zero != (ix->seq == 1))
        BUG("INDEX sequence %llu accepted with a %s previous hash",
            (unsigned long long)ix->seq, zero ? "zero" : "non-zero");
    return rc;
}
static int w_index(FILE *f, const void *o) { return index_write(f, o); }
static void f_index(void *o) { index_free(o); }
static int p_loc(char *t, void *o, char *e, size_t c)
{
    return loc_parse(t, o, e, c);
}
static int w_loc(FILE *f, const void *o) { return loc_write(f, o); }
static void f_loc(void *o) { loc_free(o); }

/* Writes o to a new heap string. */
static char *render(write_fn w, const void *o, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        abort();
    int rc = w(f, o);
    if (fclose(f) != 0 || rc < 0)
        BUG("writing back what was parsed failed (%d)", rc);
    return buf;
}

static void roundtrip(const char *text, parse_fn p, write_fn w, free_fn fr,
                      size_t objsize)
{
    char err[512] = "";
    void *o = calloc(1, objsize);
    char *t = strdup(text);
    if (!o || !t)
        abort();
    int rc = p(t, o, err, sizeof err);
    if (rc < 0) {
        check_err(err);
    } else {
        if (p == p_manifest)
            check_manifest(o);
        size_t l1 = 0, l2 = 0;
        char *once = render(w, o, &l1);
        void *o2 = calloc(1, objsize);
        char *t2 = strdup(once);
        char err2[512] = "";
        if (!o2 || !t2)
            abort();
        if (p(t2, o2, err2, sizeof err2) < 0)
            BUG("what was parsed and written back does not parse: %s\n"
                "--- written:\n%s", err2, once);
        char *twice = render(w, o2, &l2);
        if (l1 != l2 || memcmp(once, twice, l1) != 0)
            BUG("write/parse/write is not a fixed point:\n--- once:\n%s"
                "\n--- twice:\n%s", once, twice);
        free(twice);
        fr(o2);
        free(o2);
        free(t2);
        free(once);
    }
    fr(o);
    free(o);
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] % 4) {
    case 0:
        roundtrip(text, p_manifest, w_manifest, f_manifest, sizeof(manifest));
        break;
    case 1:
        roundtrip(text, p_index, w_index, f_index, sizeof(index_t));
        break;
    case 2:
        roundtrip(text, p_loc, w_loc, f_loc, sizeof(loclist));
        break;
    default: {
        /* esc_decode, then esc_write/esc_decode round trip. */
        char *s = strdup(text);
        if (!s)
            abort();
        if (esc_decode(s) == 0) {
            char *buf = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&buf, &len);
            if (!f)
                abort();
            esc_write(f, s);
            fclose(f);
            for (size_t i = 0; i < len; i++)
                if ((unsigned char)buf[i] <= 0x20 || buf[i] == 0x7f)
                    BUG("esc_write left byte 0x%02x unescaped", buf[i]);
            if (esc_decode(buf) != 0 || strcmp(buf, s) != 0)
                BUG("esc_write/esc_decode does not round-trip");
            free(buf);
        }
        free(s);
    }
    }
    free(text);
    return 0;
}
