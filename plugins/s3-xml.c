/* s3-xml.c - the strict S3 listing reader; see s3-xml.h.
 *
 * XML is read as a sequence of elements over a span (pointer + length):
 * element() takes one element off the front of a span and returns its
 * name and its content; a container's content is read the same way, a
 * leaf's is decoded as text.  Finding an element's end counts nesting in
 * one linear pass (bounded depth), so the whole parse is linear in the
 * answer's size. */
#define _GNU_SOURCE
#include "s3-xml.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define XML_DEPTH 16

typedef struct span {
    const char *p;
    size_t n;
} span;

typedef struct px {
    char *why;
    size_t cap;
} px;

static int bad(px *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(px *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->why, x->cap, fmt, ap);
    va_end(ap);
    /* Messages quote the answer's text (a bad size or time, decoded):
     * keep the network's control characters out of the one line. */
    for (char *c = x->why; x->cap && *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    return -1;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void skip_ws(span *s)
{
    while (s->n && is_ws(*s->p)) {
        s->p++;
        s->n--;
    }
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
           c == ':';
}

static int is_name(span n, const char *want)
{
    return strlen(want) == n.n && memcmp(n.p, want, n.n) == 0;
}

/* From q (just after "<NAME") to just past the tag's '>': attributes,
 * quoted values may hold '>'; never '<'.  Returns the offset past '>' or
 * 0 when malformed; *empty = 1 for "/>". */
static size_t tag_end(const char *q, size_t n, int *empty)
{
    char quote = 0;
    for (size_t i = 0; i < n; i++) {
        char c = q[i];
        if (quote) {
            if (c == quote)
                quote = 0;
            else if (c == '<')
                return 0;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '<') {
            return 0;
        } else if (c == '>') {
            *empty = i > 0 && q[i - 1] == '/';
            return i + 1;
        }
    }
    return 0;
}

/* Takes one element off the front of *s (after white space): its name
 * and content.  Returns 1, 0 when *s holds only white space, or -1. */
static int element(px *x, span *s, span *name, span *body)
{
    skip_ws(s);
    if (!s->n)
        return 0;
    const char *p = s->p, *end = s->p + s->n;
    if (*p != '<' || s->n < 2 || !name_char(p[1]) || p[1] == '-' ||
        p[1] == '.')
        return bad(x, "text or markup where an element belongs");
    name->p = ++p;
    while (p < end && name_char(*p))
        p++;
    name->n = (size_t)(p - name->p);
    int empty = 0;
    size_t t = tag_end(p, (size_t)(end - p), &empty);
    if (!t)
        return bad(x, "an unterminated tag");
    p += t;
    body->p = p;
    if (empty) {
        body->n = 0;
        s->n -= (size_t)(p - s->p);
        s->p = p;
        return 1;
    }
    for (int depth = 0;;) {
        const char *q = memchr(p, '<', (size_t)(end - p));
        if (!q || end - q < 2)
            return bad(x, "element <%.*s> is not closed", (int)name->n,
                       name->p);
        if (q[1] == '!' || q[1] == '?')
            return bad(x, "comments, CDATA and processing instructions "
                          "are not expected here");
        if (q[1] == '/') {
            const char *c = q + 2;
            const char *ce = c;
            while (ce < end && name_char(*ce))
                ce++;
            const char *gt = ce;
            while (gt < end && is_ws(*gt))
                gt++;
            if (gt == end || *gt != '>')
                return bad(x, "a malformed closing tag");
            if (depth == 0) {
                if ((size_t)(ce - c) != name->n ||
                    memcmp(c, name->p, name->n))
                    return bad(x, "<%.*s> closed by </%.*s>", (int)name->n,
                               name->p, (int)(ce - c), c);
                body->n = (size_t)(q - body->p);
                s->n -= (size_t)(gt + 1 - s->p);
                s->p = gt + 1;
                return 1;
            }
            depth--;
            p = gt + 1;
            continue;
        }
        int e = 0;
        size_t te = tag_end(q + 1, (size_t)(end - q - 1), &e);
        if (!te)
            return bad(x, "an unterminated tag");
        if (!e && ++depth > XML_DEPTH)
            return bad(x, "elements nested more than %d deep", XML_DEPTH);
        p = q + 1 + te;
    }
}

/* One entity at s (after '&') into *out; returns its length past '&'
 * including ';', or 0 when unknown.  Only ASCII character references:
 * S3 escapes nothing else in what we read. */
static size_t entity(const char *s, size_t n, char *out)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'},
                 {"quot;", '"'}, {"apos;", '\''}};
    for (size_t i = 0; i < sizeof named / sizeof *named; i++) {
        size_t l = strlen(named[i].name);
        if (n >= l && !memcmp(s, named[i].name, l)) {
            *out = named[i].c;
            return l;
        }
    }
    if (n < 3 || s[0] != '#')
        return 0;
    int hex = s[1] == 'x';
    unsigned v = 0;
    size_t i = hex ? 2 : 1, digits = 0;
    for (; i < n && s[i] != ';' && digits < 6; i++, digits++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'             ? c - '0'
                : hex && c >= 'a' && c <= 'f'    ? c - 'a' + 10
                : hex && c >= 'A' && c <= 'F'    ? c - 'A' + 10
                                                 : -1;
        if (d < 0)
            return 0;
        v = v * (hex ? 16u : 10u) + (unsigned)d;
    }
    if (!digits || i == n || s[i] != ';' || v == 0 || v > 0x7f)
        return 0;
    *out = (char)v;
    return i + 1;
}

/* A leaf's text, decoded into out[cap] (NUL-terminated). */
static int text(px *x, span b, const char *what, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < b.n; i++) {
        char c = b.p[i];
        if (c == '<')
            return bad(x, "<%s> holds markup, not text", what);
        if (c == '\0')
            return bad(x, "<%s> holds a NUL byte", what);
        if (c == '&') {
            size_t l = entity(b.p + i + 1, b.n - i - 1, &c);
            if (!l)
                return bad(x, "<%s>: an unknown entity", what);
            i += l;
        }
        if (o + 1 >= cap)
            return bad(x, "<%s> is longer than %zu bytes", what, cap - 1);
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

static int parse_u64(px *x, span b, uint64_t *v)
{
    char t[24];
    if (text(x, b, "Size", t, sizeof t) < 0)
        return -1;
    uint64_t r = 0;
    size_t n = strlen(t);
    if (!n || n > 19)
        return bad(x, "<Size>%s</Size> is not a size", t);
    for (size_t i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9')
            return bad(x, "<Size>%s</Size> is not a size", t);
        r = r * 10 + (uint64_t)(t[i] - '0');
    }
    *v = r;
    return 0;
}

static int digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

int s3x_parse_time(const char *s, int64_t *out)
{
    int Y, M, D, h, m, sec;
    size_t n = strlen(s);
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
        s[13] != ':' || s[16] != ':' || s[n - 1] != 'Z' ||
        digits(s, 4, &Y) || digits(s + 5, 2, &M) || digits(s + 8, 2, &D) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &m) ||
        digits(s + 17, 2, &sec))
        return -1;
    if (n > 20) { /* fraction: ".d+" before the Z */
        int f;
        if (s[19] != '.' || n > 30 || digits(s + 20, (int)n - 21, &f) ||
            n == 21)
            return -1;
    }
    if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 ||
        sec > 60)
        return -1;
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    *out = (int64_t)timegm(&tm);
    return 0;
}

static int parse_time(px *x, span b, const char *what, int64_t *v)
{
    char t[40];
    if (text(x, b, what, t, sizeof t) < 0)
        return -1;
    if (s3x_parse_time(t, v) < 0)
        return bad(x, "<%s>%s</%s> is not a time", what, t, what);
    return 0;
}

/* The names of one list kind. */
typedef struct shape {
    const char *root, *item, *time, *next, *next_id;
    int uploads;
} shape;

/* One <Contents> or <Upload>: its fields, then fn. */
static int item(px *x, const shape *sh, span b, s3x_fn fn, void *arg)
{
    char key[S3X_FIELD_MAX + 1], id[S3X_FIELD_MAX + 1];
    int have_key = 0, have_time = 0, have_id = 0, have_size = 0;
    s3x_entry e = {key, 0, 0, NULL};
    span name, body;
    int r;
    while ((r = element(x, &b, &name, &body)) > 0) {
        if (is_name(name, "Key")) {
            r = text(x, body, "Key", key, sizeof key);
            have_key = 1;
        } else if (is_name(name, sh->time)) {
            r = parse_time(x, body, sh->time, &e.mtime);
            have_time = 1;
        } else if (!sh->uploads && is_name(name, "Size")) {
            r = parse_u64(x, body, &e.size);
            have_size = 1;
        } else if (sh->uploads && is_name(name, "UploadId")) {
            r = text(x, body, "UploadId", id, sizeof id);
            have_id = 1;
        }
        if (r < 0)
            return -1;
    }
    if (r < 0)
        return -1;
    if (!have_key || !key[0] || !have_time ||
        (sh->uploads ? !have_id || !id[0] : !have_size))
        return bad(x, "a <%s> without its Key, %s or %s", sh->item,
                   sh->time, sh->uploads ? "UploadId" : "Size");
    if (sh->uploads)
        e.upload_id = id;
    return fn(arg, &e);
}

static int parse(const shape *sh, const char *xml, size_t len, s3x_fn fn,
                 void *arg, s3x_page *pg, char *why, size_t cap)
{
    px x = {why, cap};
    memset(pg, 0, sizeof *pg);
    span s = {xml, len}, name, body;
    skip_ws(&s);
    if (s.n >= 5 && !memcmp(s.p, "<?xml", 5)) {
        const char *e = memmem(s.p, s.n, "?>", 2);
        if (!e)
            return bad(&x, "an unterminated XML declaration");
        s.n -= (size_t)(e + 2 - s.p);
        s.p = e + 2;
    }
    int r = element(&x, &s, &name, &body);
    if (r == 0)
        return bad(&x, "an empty answer");
    if (r < 0)
        return -1;
    if (!is_name(name, sh->root))
        return bad(&x, "<%.*s> where <%s> was expected",
                   (int)(name.n > 40 ? 40 : name.n), name.p, sh->root);
    skip_ws(&s);
    if (s.n)
        return bad(&x, "bytes after </%s>", sh->root);
    int have_trunc = 0;
    span in;
    while ((r = element(&x, &body, &name, &in)) > 0) {
        char t[8];
        if (is_name(name, sh->item)) {
            r = item(&x, sh, in, fn, arg);
        } else if (is_name(name, "IsTruncated")) {
            r = text(&x, in, "IsTruncated", t, sizeof t);
            if (r == 0 && strcmp(t, "true") && strcmp(t, "false"))
                r = bad(&x, "<IsTruncated>%s</IsTruncated>", t);
            pg->truncated = r == 0 && !strcmp(t, "true");
            have_trunc = 1;
        } else if (is_name(name, sh->next)) {
            r = text(&x, in, sh->next, pg->next, sizeof pg->next);
        } else if (sh->next_id && is_name(name, sh->next_id)) {
            r = text(&x, in, sh->next_id, pg->next_id, sizeof pg->next_id);
        }
        if (r < 0)
            return r; /* -1 or fn's status */
    }
    if (r < 0)
        return -1;
    if (!have_trunc)
        return bad(&x, "no <IsTruncated>");
    if (pg->truncated && !pg->next[0])
        return bad(&x, "truncated without <%s>", sh->next);
    return 0;
}

int s3x_parse_objects(const char *xml, size_t len, s3x_fn fn, void *arg,
                      s3x_page *pg, char *why, size_t cap)
{
    static const shape sh = {"ListBucketResult", "Contents", "LastModified",
                             "NextContinuationToken", NULL, 0};
    return parse(&sh, xml, len, fn, arg, pg, why, cap);
}

int s3x_parse_uploads(const char *xml, size_t len, s3x_fn fn, void *arg,
                      s3x_page *pg, char *why, size_t cap)
{
    static const shape sh = {"ListMultipartUploadsResult", "Upload",
                             "Initiated", "NextKeyMarker",
                             "NextUploadIdMarker", 1};
    return parse(&sh, xml, len, fn, arg, pg, why, cap);
}

int s3x_safe_name(const char *rel)
{
    size_t n = strlen(rel);
    if (!n || n > S3X_FIELD_MAX)
        return 0;
    const char *c = rel;
    for (;;) {
        size_t l = strcspn(c, "/");
        if (l == 0 || (l == 1 && c[0] == '.') ||
            (l == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        for (size_t i = 0; i < l; i++)
            if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f)
                return 0;
        if (!c[l])
            return 1;
        c += l + 1;
    }
}
