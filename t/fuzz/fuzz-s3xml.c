/*
 * fuzz-s3xml.c - libFuzzer target for the s3 stage's listing reader
 * (plugins/s3-xml.c): the ListObjectsV2 and ListMultipartUploads answers
 * prune reads from the network, which may be an attacker.
 *
 * Input: byte 0 picks the parser (bit 0: 0 ListObjectsV2, 1
 * ListMultipartUploads) and, in bits 1..7, the entry k (1..127) at which
 * the callback stops the parse with a status of its own (0: never); the
 * rest is the answer, held in a buffer of exactly its length (no NUL
 * after it: ASan sees any read past the end).  Checked besides no
 * crash/leak/UB:
 *   - the status is 0, -1 (with a one-line message without control
 *     characters, written within the capacity given) or the callback's
 *     own, returned at entry k and not before;
 *   - every entry has a non-empty key of at most S3X_FIELD_MAX bytes;
 *     an upload has a non-empty upload id (of at most S3X_FIELD_MAX) and
 *     size 0, an object none; times lie in 1970..9999;
 *   - what the reader hands out fits in the input: the decoded keys, ids
 *     and markers together with the least markup an entry needs;
 *   - a page's markers are NUL-terminated in their buffers, and a
 *     truncated page names where to go on;
 *   - the name check s3.c list_emit applies to every key (with the
 *     prefix "" and "p/" taken off) agrees with an independent one: a
 *     name the host may act on has no empty, "." or ".." component, no
 *     control character, at most S3X_FIELD_MAX bytes;
 *   - an accepted answer with its last markup byte cut off is refused
 *     (the reader never accepts an unclosed document);
 *   - the same answer parsed again, into a page holding other garbage,
 *     gives the same status, message, page and entries.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3-xml.h"

#define BUG(...)                                                          \
    do {                                                                  \
        fprintf(stderr, "\n*** fuzz-s3xml: " __VA_ARGS__);                \
        fputc('\n', stderr);                                              \
        abort();                                                          \
    } while (0)

/* The callback's own status: distinct from the reader's -1. */
#define STOP (-77)
/* The least markup of one entry: <Contents><Key></Key><Size>0</Size>
 * <LastModified>1970-01-01T00:00:00Z</LastModified></Contents> is 95
 * bytes, <Upload>...</Upload> with <UploadId></UploadId> and <Initiated>
 * 92; "<K/>"-style empty elements cannot stand for the required ones. */
#define MIN_ENTRY 90
/* 9999-12-31T23:59:60Z */
#define MAX_TIME 253402300800LL
#define WHY_CAP 200

typedef struct run {
    int uploads;
    unsigned stop_at; /* 0: never */
    size_t len;       /* of the input */
    unsigned n;       /* entries seen */
    size_t bytes;     /* their keys and ids */
    uint64_t hash;    /* of everything they carried, in order */
} run;

static void mix(run *r, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        r->hash = (r->hash ^ b[i]) * 0x100000001b3ULL;
}

/* Independent of s3x_safe_name: non-empty, at most S3X_FIELD_MAX bytes,
 * no control character, no empty, "." or ".." component. */
static int plain_name(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > S3X_FIELD_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    const char *c = s;
    for (;;) {
        const char *e = strchr(c, '/');
        size_t l = e ? (size_t)(e - c) : strlen(c);
        if (l == 0 || (l == 1 && c[0] == '.') ||
            (l == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        if (!e)
            return 1;
        c = e + 1;
    }
}

static void check_name(const char *rel)
{
    int safe = s3x_safe_name(rel);
    if (safe != plain_name(rel))
        BUG("s3x_safe_name('%s') = %d: the host would %s", rel, safe,
            safe ? "act on a name with a dot, empty or control component"
                 : "refuse a plain name");
}

static int on_entry(void *arg, const s3x_entry *e)
{
    run *r = arg;
    if (!e || !e->key)
        BUG("an entry without a key");
    size_t kl = strnlen(e->key, S3X_FIELD_MAX + 1);
    if (kl == 0 || kl > S3X_FIELD_MAX)
        BUG("a key of %zu bytes was handed out", kl);
    if (e->mtime < 0 || e->mtime > MAX_TIME)
        BUG("a time of %lld", (long long)e->mtime);
    size_t il = 0;
    if (r->uploads) {
        if (!e->upload_id)
            BUG("an upload without its id");
        il = strnlen(e->upload_id, S3X_FIELD_MAX + 1);
        if (il == 0 || il > S3X_FIELD_MAX)
            BUG("an upload id of %zu bytes", il);
        if (e->size)
            BUG("an upload with a size (%llu)", (unsigned long long)e->size);
    } else if (e->upload_id) {
        BUG("an object with an upload id");
    }
    check_name(e->key);
    if (!strncmp(e->key, "p/", 2))
        check_name(e->key + 2);
    r->n++;
    r->bytes += kl + il;
    if (r->bytes + (size_t)r->n * MIN_ENTRY > r->len)
        BUG("%u entries carrying %zu bytes out of a %zu-byte answer", r->n,
            r->bytes, r->len);
    mix(r, e->key, kl + 1);
    mix(r, &e->size, sizeof e->size);
    mix(r, &e->mtime, sizeof e->mtime);
    if (e->upload_id)
        mix(r, e->upload_id, il + 1);
    if (r->stop_at && r->n > r->stop_at)
        BUG("the parse went on after the callback's status");
    return r->stop_at && r->n == r->stop_at ? STOP : 0;
}

typedef struct result {
    int rc;
    char why[WHY_CAP + 56];
    s3x_page pg;
    run r;
} result;

static void parse(const char *xml, size_t len, int uploads, unsigned stop_at,
                  unsigned char fill, result *out)
{
    memset(out, 0, sizeof *out);
    memset(out->why, 0xa5, sizeof out->why);
    memset(&out->pg, fill, sizeof out->pg);
    out->r = (run){uploads, stop_at, len, 0, 0, 0xcbf29ce484222325ULL};
    out->rc = (uploads ? s3x_parse_uploads : s3x_parse_objects)(
        xml, len, on_entry, &out->r, &out->pg, out->why, WHY_CAP);
}

static void check(const result *x, size_t len, int uploads)
{
    const run *r = &x->r;
    for (size_t i = WHY_CAP; i < sizeof x->why; i++)
        if ((unsigned char)x->why[i] != 0xa5)
            BUG("the message was written past its capacity");
    if (x->rc == STOP) {
        if (!r->stop_at || r->n != r->stop_at)
            BUG("the callback's status after %u entries (stop at %u)", r->n,
                r->stop_at);
        return;
    }
    if (r->stop_at && r->n >= r->stop_at)
        BUG("the callback's status was lost (rc %d)", x->rc);
    if (x->rc == -1) {
        size_t n = strnlen(x->why, WHY_CAP);
        if (n == 0 || n == WHY_CAP)
            BUG("refused with %s message", n ? "an unterminated" : "no");
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)x->why[i] < 0x20 || x->why[i] == 0x7f)
                BUG("the message holds byte 0x%02x: %s",
                    (unsigned char)x->why[i], x->why);
        return;
    }
    if (x->rc != 0)
        BUG("status %d", x->rc);
    const s3x_page *pg = &x->pg;
    if (pg->truncated != 0 && pg->truncated != 1)
        BUG("truncated = %d", pg->truncated);
    size_t nl = strnlen(pg->next, sizeof pg->next);
    size_t il = strnlen(pg->next_id, sizeof pg->next_id);
    if (nl == sizeof pg->next || il == sizeof pg->next_id)
        BUG("a marker without its NUL");
    if (pg->truncated && !nl)
        BUG("a truncated page that does not say where to go on");
    if (!uploads && il)
        BUG("an objects page with an upload id marker");
    if (r->bytes + nl + il + (size_t)r->n * MIN_ENTRY > len)
        BUG("%u entries and markers of %zu + %zu bytes out of a %zu-byte "
            "answer", r->n, nl, il, len);
}

static void same(const result *a, const result *b)
{
    if (a->rc != b->rc)
        BUG("the same answer parsed twice: status %d, then %d", a->rc,
            b->rc);
    if (a->r.n != b->r.n || a->r.hash != b->r.hash)
        BUG("the same answer parsed twice: other entries (%u, then %u)",
            a->r.n, b->r.n);
    if (a->rc == -1 && strcmp(a->why, b->why))
        BUG("the same answer refused twice: '%s', then '%s'", a->why,
            b->why);
    if (a->rc == 0 && memcmp(&a->pg, &b->pg, sizeof a->pg))
        BUG("the same answer parsed twice: another page (stale bytes?)");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int uploads = data[0] & 1;
    unsigned stop_at = data[0] >> 1;
    size_t len = size - 1;
    char *xml = malloc(len ? len : 1);
    if (!xml)
        return 0;
    memcpy(xml, data + 1, len);
    static result a, b, cut;
    parse(xml, len, uploads, stop_at, 0x00, &a);
    check(&a, len, uploads);
    parse(xml, len, uploads, stop_at, 0xff, &b);
    same(&a, &b);
    if (a.rc == 0) {
        /* Cut the last byte that is not white space: the answer's end. */
        size_t k = len;
        while (k && strchr(" \t\r\n", xml[k - 1]) && xml[k - 1])
            k--;
        if (!k)
            BUG("an answer of white space only was accepted");
        char *c = malloc(k - 1 ? k - 1 : 1);
        if (!c)
            abort();
        memcpy(c, xml, k - 1);
        parse(c, k - 1, uploads, 0, 0x00, &cut);
        free(c);
        if (cut.rc != -1)
            BUG("accepted with its last byte '%c' cut off (status %d)",
                xml[k - 1], cut.rc);
    }
    free(xml);
    return 0;
}
