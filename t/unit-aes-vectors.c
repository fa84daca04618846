/*
 * unit-aes-vectors.c - the aes-256-gcm format engine (plugins/aesgcm-object.c)
 * against the known-answer vectors in t/vectors/aes256gcm-v2.txt, plus
 * the ways a damaged or hostile object must fail.  Speaks TAP.
 *
 * Every non-comment line of the vector file must be understood and pass:
 * an unknown line type is a failure, so new vectors cannot be skipped by
 * accident.
 *
 * Usage: unit-aes-vectors [vector-file]
 *   default: $SLUICE_VECTORS/aes256gcm-v2.txt, else
 *            $SLUICE_SRCDIR/t/vectors/aes256gcm-v2.txt, else
 *            t/vectors/aes256gcm-v2.txt
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "aesgcm-object.h"
#include "tap.h"

#define VECTOR_FILE "t/vectors/aes256gcm-v2.txt"
#define MAX_FIELDS 16
#define MAX_LINES 256

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        bail("out of memory");
    return p;
}

/* ---- bytes -------------------------------------------------------------- */

typedef struct buf {
    uint8_t *p;
    size_t len;
} buf;

static void buf_free(buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
}

static int unhex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes hex into a fresh buffer; 0 if s is not even-length hex. */
static int unhex(const char *s, buf *out)
{
    size_t n = strlen(s);
    out->p = NULL;
    out->len = 0;
    if (n % 2)
        return 0;
    out->p = xmalloc(n / 2);
    out->len = n / 2;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = unhex_digit(s[2 * i]), lo = unhex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            buf_free(out);
            return 0;
        }
        out->p[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

/* Decodes hex of exactly n bytes into out. */
static int unhex_fixed(const char *s, uint8_t *out, size_t n)
{
    buf b;
    if (!s || !unhex(s, &b))
        return 0;
    int good = b.len == n;
    if (good)
        memcpy(out, b.p, n);
    buf_free(&b);
    return good;
}

static void pattern(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 7 + 3) % 256);
}

static void sha256_hex(const uint8_t *p, size_t n, char out[65])
{
    uint8_t md[32];
    unsigned mdlen = 0;
    EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
    aesgcm_hex(md, 32, out);
}

/* ---- the vector file ---------------------------------------------------- */

typedef struct field {
    char *key;
    char *value;
} field;

typedef struct vline {
    int lineno;
    char *type;
    field f[MAX_FIELDS];
    size_t n;
    char *text; /* the line, owned; fields point into it */
} vline;

static const char *vget(const vline *v, const char *key)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->f[i].key, key) == 0)
            return v->f[i].value;
    return NULL;
}

/* Splits "type k=v k='quoted v' k=(parenthesised v) ..." in place.  Quotes
 * are dropped, parentheses kept (they mark a description, not data). */
static int split_line(vline *v)
{
    char *s = v->text;
    v->type = s;
    s += strcspn(s, " ");
    if (*s)
        *s++ = '\0';
    while (*s) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        if (v->n == MAX_FIELDS)
            return 0;
        char *eq = strchr(s, '=');
        if (!eq)
            return 0;
        *eq = '\0';
        field *f = &v->f[v->n++];
        f->key = s;
        s = eq + 1;
        char *end;
        if (*s == '\'') {
            f->value = ++s;
            end = strchr(s, '\'');
        } else if (*s == '(') {
            f->value = s;
            end = strchr(s, ')');
            if (end)
                end++;
        } else {
            f->value = s;
            end = s + strcspn(s, " ");
        }
        if (!end)
            return 0;
        s = *end ? end + 1 : end;
        *end = '\0';
    }
    return 1;
}

typedef struct vfile {
    vline lines[MAX_LINES];
    size_t n;
} vfile;

static int load_vectors(const char *path, vfile *vf)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, good = 1;
    while ((len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        if (vf->n == MAX_LINES) {
            good = 0;
            break;
        }
        vline *v = &vf->lines[vf->n++];
        memset(v, 0, sizeof *v);
        v->lineno = lineno;
        v->text = strdup(line);
        if (!v->text || !split_line(v)) {
            diag("line %d: cannot parse", lineno);
            good = 0;
        }
    }
    free(line);
    fclose(fp);
    return good;
}

static void free_vectors(vfile *vf)
{
    for (size_t i = 0; i < vf->n; i++)
        free(vf->lines[i].text);
}

/* ---- driving the engine ------------------------------------------------- */

/* Seals pt into a fresh object, feeding the encryptor pieces of at most
 * `piece` bytes (0 = a whole chunk at a time). */
static int seal_object(const uint8_t key[32], const uint8_t iv[12],
                       const uint8_t *pt, size_t len, size_t piece, buf *out)
{
    aesgcm_enc *e = aesgcm_enc_new(key, iv);
    out->p = NULL;
    out->len = 0;
    if (!e)
        return 0;
    out->len = (size_t)aesgcm_object_size(len);
    out->p = xmalloc(out->len);
    uint8_t *o = out->p;
    aesgcm_enc_header(e, o);
    o += AESGCM_HEADER_LEN;
    int good = 1;
    size_t off = 0;
    while (good) {
        size_t room = aesgcm_enc_room(e);
        size_t n = len - off < room ? len - off : room;
        if (piece && n > piece)
            n = piece;
        good = aesgcm_enc_update(e, pt + off, n, o) == AESGCM_OK;
        o += n;
        off += n;
        int full = aesgcm_enc_room(e) == 0;
        if (good && (full || off == len)) {
            good = aesgcm_enc_seal(e, o) == AESGCM_OK;
            o += AESGCM_TAG_LEN;
            if (!full)
                break; /* sealed short: that was the final chunk */
        }
    }
    good = good && (size_t)(o - out->p) == out->len;
    aesgcm_enc_free(e);
    if (!good)
        buf_free(out);
    return good;
}

/* What a decryption produced. */
typedef struct opened {
    int rc;        /* 0 or the first negative status            */
    char msg[160]; /* the decoder's message                      */
    buf pt;        /* verified plaintext released, in order      */
    int leaked;    /* unverified plaintext left in the buffer    */
    int bound;     /* the decoder gave a binding (3.9)            */
    uint8_t binding[AESGCM_BINDING_LEN];
} opened;

/* Piece sizes: a fixed size, or (piece == 0) an irregular walk through
 * small and large pieces to hit every way a chunk can span blocks. */
static size_t next_piece(size_t piece, unsigned *state)
{
    static const size_t walk[] = {1,     5, 16,    17,     15, 4096,   65535,
                                  65552, 3, 65553, 200000, 31, 262144, 7};
    if (piece)
        return piece;
    return walk[(*state)++ % (sizeof walk / sizeof walk[0])];
}

static void opened_append(opened *o, const uint8_t *p, size_t n, size_t *cap)
{
    if (n == 0)
        return;
    if (o->pt.len + n > *cap) {
        *cap = (o->pt.len + n) * 2;
        uint8_t *q = realloc(o->pt.p, *cap);
        if (!q)
            bail("out of memory");
        o->pt.p = q;
    }
    memcpy(o->pt.p + o->pt.len, p, n);
    o->pt.len += n;
}

/* Decrypts obj as the stage would, in pieces.  After each release the
 * chunk buffer is scribbled over, so the engine cannot depend on it; after
 * a failure it is checked for leftover plaintext (which must be wiped). */
static void open_object(const uint8_t key[32], const uint8_t *obj, size_t len,
                        size_t piece, size_t v1_max, const uint8_t *expect,
                        size_t expect_len, opened *o)
{
    memset(o, 0, sizeof *o);
    size_t cap = 0;
    aesgcm_dec *d = aesgcm_dec_new(key, v1_max);
    uint8_t *chunk = xmalloc(AESGCM_CHUNK);
    memset(chunk, 0xa5, AESGCM_CHUNK);
    unsigned walk = 0;
    size_t off = 0;
    int rc = d ? AESGCM_OK : AESGCM_E_NOMEM;
    while (rc >= 0 && off < len) {
        size_t n = next_piece(piece, &walk), used = 0, ready = 0;
        if (n > len - off)
            n = len - off;
        rc = aesgcm_dec_update(d, obj + off, n, &used, chunk, &ready);
        if (rc == AESGCM_READY) {
            opened_append(o, chunk, ready, &cap);
            memset(chunk, 0xa5, AESGCM_CHUNK);
        }
        off += used;
    }
    while (rc >= 0 && !aesgcm_dec_done(d)) {
        size_t ready = 0;
        rc = aesgcm_dec_finish(d, chunk, &ready);
        if (rc == AESGCM_READY) {
            opened_append(o, chunk, ready, &cap);
            memset(chunk, 0xa5, AESGCM_CHUNK);
        }
    }
    if (rc < 0) {
        o->rc = rc;
        snprintf(o->msg, sizeof o->msg, "%s", d ? aesgcm_dec_error(d) : "");
        /* The next unreleased plaintext would start at expect + pt.len. */
        size_t at = o->pt.len, n = 32;
        if (expect && at < expect_len) {
            if (n > expect_len - at)
                n = expect_len - at;
            o->leaked = memcmp(chunk, expect + at, n) == 0;
        }
    }
    o->bound = d && aesgcm_dec_binding(d, o->binding) == AESGCM_OK;
    free(chunk);
    aesgcm_dec_free(d);
}

/* Opens obj and says whether it failed with status want (and, if msg is
 * given, a message containing it), having released only a prefix of
 * expect made of whole verified chunks. */
static int fails_as(const uint8_t key[32], const uint8_t *obj, size_t len,
                    size_t piece, const uint8_t *expect, size_t expect_len,
                    int want, const char *msg)
{
    opened o;
    open_object(key, obj, len, piece, AESGCM_V1_MAX, expect, expect_len, &o);
    int good = o.rc == want && !o.leaked && (!msg || strstr(o.msg, msg)) &&
               o.pt.len % AESGCM_CHUNK == 0 && o.pt.len <= expect_len &&
               (o.pt.len == 0 || memcmp(o.pt.p, expect, o.pt.len) == 0);
    if (!good)
        diag("length %zu: rc %d (want %d), message '%s', released %zu%s", len,
             o.rc, want, o.msg, o.pt.len, o.leaked ? ", leaked" : "");
    buf_free(&o.pt);
    return good;
}

static int opens_to(const uint8_t key[32], const uint8_t *obj, size_t len,
                    size_t piece, size_t v1_max, const uint8_t *expect,
                    size_t expect_len)
{
    opened o;
    open_object(key, obj, len, piece, v1_max, expect, expect_len, &o);
    int good = o.rc == 0 && o.pt.len == expect_len &&
               (expect_len == 0 || memcmp(o.pt.p, expect, expect_len) == 0);
    if (!good)
        diag("piece %zu: rc %d '%s', %zu of %zu bytes", piece, o.rc, o.msg,
             o.pt.len, expect_len);
    buf_free(&o.pt);
    return good;
}

/* ---- an independent check of the layout, with raw EVP ------------------- */

static int evp_gcm(int enc, const uint8_t key[32], const uint8_t nonce[12],
                   const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0, good = c != NULL;
    uint8_t scratch[16];
    good = good &&
           (enc ? EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce)
                : EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce));
    if (good && len)
        good = (enc ? EVP_EncryptUpdate(c, out, &outl, in, (int)len)
                    : EVP_DecryptUpdate(c, out, &outl, in, (int)len)) &&
               (size_t)outl == len;
    if (good && enc)
        good = EVP_EncryptFinal_ex(c, scratch, &outl) &&
               EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
    if (good && !enc)
        good = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) &&
               EVP_DecryptFinal_ex(c, scratch, &outl) > 0;
    EVP_CIPHER_CTX_free(c);
    return good;
}

/* The nonce rule written out again, independently of the engine. */
static void nonce_of(const uint8_t iv[12], uint64_t n, uint8_t nonce[12])
{
    uint64_t s = 0;
    for (int i = 4; i < 12; i++)
        s = (s << 8) | iv[i];
    s += n;
    memcpy(nonce, iv, 4);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(s >> (56 - 8 * i));
}

/* Decrypts every chunk of obj with plain EVP and compares with pt. */
static int layout_matches(const uint8_t key[32], const uint8_t *obj, size_t len,
                          const uint8_t *pt, size_t pt_len)
{
    if (len < AESGCM_HEADER_LEN || memcmp(obj, "encrypt\x02", 8) != 0)
        return 0;
    const uint8_t *iv = obj + 8, *p = obj + AESGCM_HEADER_LEN;
    size_t rest = len - AESGCM_HEADER_LEN, off = 0;
    uint8_t *tmp = xmalloc(AESGCM_CHUNK);
    int good = 1;
    for (uint64_t n = 0; good; n++) {
        size_t sealed = rest < AESGCM_SEALED_MAX ? rest : AESGCM_SEALED_MAX;
        if (sealed < 16) {
            good = 0;
            break;
        }
        size_t ct = sealed - 16;
        uint8_t nonce[12], tag[16];
        nonce_of(iv, n, nonce);
        memcpy(tag, p + ct, 16);
        good = evp_gcm(0, key, nonce, p, ct, tmp, tag) && off + ct <= pt_len &&
               memcmp(tmp, pt + off, ct) == 0;
        off += ct;
        p += sealed;
        rest -= sealed;
        if (ct < AESGCM_CHUNK)
            break; /* the final chunk is the short one */
    }
    free(tmp);
    return good && rest == 0 && off == pt_len;
}

/* A version-1 object: one GCM message over the whole plaintext. */
static void seal_v1(const uint8_t key[32], const uint8_t iv[12],
                    const uint8_t *pt, size_t len, buf *out)
{
    out->len = AESGCM_HEADER_LEN + len + 16;
    out->p = xmalloc(out->len);
    memcpy(out->p, "encrypt\x01", 8);
    memcpy(out->p + 8, iv, 12);
    if (!evp_gcm(1, key, iv, pt, len, out->p + 20, out->p + 20 + len))
        bail("EVP failed to seal a version-1 object");
}

/* ---- vector lines ------------------------------------------------------- */

static int get_plaintext(const vline *v, buf *pt)
{
    const char *h = vget(v, "plaintext_hex"), *pat = vget(v, "plaintext");
    if (h)
        return unhex(h, pt);
    size_t n;
    char tail;
    if (!pat || sscanf(pat, "pattern(%zu%c", &n, &tail) != 2 || tail != ')')
        return 0;
    pt->p = xmalloc(n);
    pt->len = n;
    pattern(pt->p, n);
    return 1;
}

static void check_kdf(const vline *v)
{
    const char *pass = vget(v, "passphrase"), *it = vget(v, "iterations");
    const char *hash = vget(v, "hash");
    uint8_t salt[16], want[32], key[32];
    int good = pass && it && hash && strcmp(hash, "sha256") == 0 &&
               unhex_fixed(vget(v, "salt"), salt, 16) &&
               unhex_fixed(vget(v, "key"), want, 32) &&
               aesgcm_kdf(pass, strlen(pass), salt, (uint32_t)atol(it), key) ==
                   AESGCM_OK &&
               memcmp(key, want, 32) == 0;
    ok(good, "line %d: kdf pbkdf2-%s passphrase=%s iterations=%s", v->lineno,
       hash ? hash : "?", pass ? pass : "?", it ? it : "?");
}

/* aesgcm_pbkdf2_sha256 (its own loop, not OpenSSL's PKCS5_PBKDF2_HMAC):
 * RFC 7914's PBKDF2-HMAC-SHA256 vectors (first 32 bytes), then the
 * same as OpenSSL's for passphrases of 0 to 130 bytes (a key longer than
 * a block is hashed first), salts of 0 to 40 and 1 to 3 iterations or
 * 1,000, and the limits. */
static void check_pbkdf2(void)
{
    static const struct {
        const char *pass, *salt;
        uint32_t iter;
        const char *want;
    } rfc[] = {
        {"passwd", "salt", 1,
         "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"},
        {"Password", "NaCl", 80000,
         "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"},
    };
    for (size_t i = 0; i < sizeof rfc / sizeof rfc[0]; i++) {
        uint8_t want[32], got[32];
        ok(unhex_fixed(rfc[i].want, want, 32) &&
               aesgcm_pbkdf2_sha256(rfc[i].pass, strlen(rfc[i].pass),
                                    rfc[i].salt, strlen(rfc[i].salt),
                                    rfc[i].iter, got) == AESGCM_OK &&
               memcmp(got, want, 32) == 0,
           "pbkdf2: RFC 7914 vector P=%s S=%s c=%u", rfc[i].pass,
           rfc[i].salt, (unsigned)rfc[i].iter);
    }
    uint8_t pass[130], salt[40];
    pattern(pass, sizeof pass);
    pattern(salt, sizeof salt);
    salt[0] ^= 0x5a;
    size_t bad = 0, n = 0;
    for (size_t pl = 0; pl <= sizeof pass; pl += pl < 70 ? 1 : 13)
        for (size_t sl = 0; sl <= sizeof salt; sl += 8)
            for (uint32_t it = 1; it <= 4; it++) {
                uint32_t iter = it == 4 ? 1000 : it;
                uint8_t a[32], b[32];
                n++;
                if (aesgcm_pbkdf2_sha256(pass, pl, salt, sl, iter, a) !=
                        AESGCM_OK ||
                    !PKCS5_PBKDF2_HMAC((const char *)pass, (int)pl, salt,
                                       (int)sl, (int)iter, EVP_sha256(), 32,
                                       b) ||
                    memcmp(a, b, 32) != 0)
                    bad++;
            }
    ok(bad == 0, "pbkdf2: the same as OpenSSL's in %zu cases (%zu differ)",
       n, bad);
    uint8_t out[32];
    ok(aesgcm_pbkdf2_sha256("p", 1, salt, 16, 0, out) == AESGCM_E_LIMIT,
       "pbkdf2: 0 iterations is refused");
}

/* Truncation anywhere is detected: exactly at a chunk boundary (and
 * inside the object header) as truncation, elsewhere as a chunk failing
 * authentication; only whole verified chunks are ever released. */
static void check_truncations(const vline *v, const uint8_t key[32],
                              const buf *obj, const buf *pt)
{
    size_t cases = 0, bad = 0;
    size_t nchunks = pt->len / AESGCM_CHUNK + 1;
    for (size_t k = 0; k < nchunks; k++) {
        size_t b = AESGCM_HEADER_LEN + k * AESGCM_SEALED_MAX;
        cases++;
        bad += !fails_as(key, obj->p, b, 0, pt->p, pt->len, AESGCM_E_FORMAT,
                         "truncated: stream ends before the final chunk");
        /* Just past the boundary, inside a tag, just short of the end. */
        size_t mids[] = {
            b + 1,        b + 15,       b + 16, b + 100, b + AESGCM_CHUNK + 8,
            obj->len - 1, obj->len - 16};
        for (size_t i = 0; i < sizeof mids / sizeof mids[0]; i++) {
            size_t m = mids[i];
            if (m >= obj->len || m <= AESGCM_HEADER_LEN ||
                (m - AESGCM_HEADER_LEN) % AESGCM_SEALED_MAX == 0)
                continue;
            cases++;
            int want = (obj->len - m) > 0 &&
                               (m - AESGCM_HEADER_LEN) % AESGCM_SEALED_MAX < 16
                           ? AESGCM_E_FORMAT /* a lone partial tag */
                           : AESGCM_E_AUTH;
            bad += !fails_as(key, obj->p, m, 0, pt->p, pt->len, want, NULL);
        }
    }
    for (size_t m = 0; m < AESGCM_HEADER_LEN; m++) {
        cases++;
        bad += !fails_as(key, obj->p, m, 0, pt->p, pt->len, AESGCM_E_FORMAT,
                         "truncated");
    }
    ok(bad == 0, "line %d: %s: %zu truncations detected", v->lineno,
       vget(v, "name"), cases);
}

/* Appended bytes are never accepted.  The object ends where the stream
 * does, so they show as the last chunk failing authentication. */
static void check_trailing(const vline *v, const uint8_t key[32],
                           const buf *obj, const buf *pt)
{
    size_t extra[] = {
        1, 15, 16, 17, 1000, AESGCM_SEALED_MAX, AESGCM_SEALED_MAX + 40};
    size_t bad = 0;
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        size_t n = obj->len + extra[i];
        uint8_t *p = xmalloc(n);
        memcpy(p, obj->p, obj->len);
        /* Garbage - or a copy of the object's own last bytes. */
        for (size_t j = obj->len; j < n; j++)
            p[j] = i % 2 ? (uint8_t)j
                         : obj->p[obj->len - 1 - (j - obj->len) % obj->len];
        bad += !fails_as(key, p, n, 0, pt->p, pt->len, AESGCM_E_AUTH,
                         "failed authentication");
        free(p);
    }
    ok(bad == 0, "line %d: %s: trailing data detected", v->lineno,
       vget(v, "name"));
}

/* Flipping any bit of a small object, or of each region of a large one,
 * is detected. */
static void check_flips(const vline *v, const uint8_t key[32], const buf *obj,
                        const buf *pt)
{
    size_t bad = 0, cases = 0;
    uint8_t *p = xmalloc(obj->len);
    memcpy(p, obj->p, obj->len);
    for (size_t i = 0; i < obj->len; i++) {
        int region = i < 7 ? 0 : i == 7 ? 1 : i < 20 ? 2 : 3;
        if (obj->len > 4096 && i >= 64 && i + 64 < obj->len && i % 9973)
            continue;
        cases++;
        p[i] ^= 0x04;
        int want = region < 2 ? AESGCM_E_FORMAT : AESGCM_E_AUTH;
        bad += !fails_as(key, p, obj->len, 0, pt->p, pt->len, want, NULL);
        p[i] ^= 0x04;
    }
    /* The version byte turned into 1: a version-1 parse.  A one-chunk
     * object uses nonce IV + 0 = IV, so it is also a valid version-1
     * object of the same plaintext; a longer one fails. */
    p[7] = 1;
    cases++;
    if (pt->len < AESGCM_CHUNK)
        bad += !opens_to(key, p, obj->len, 0, AESGCM_V1_MAX, pt->p, pt->len);
    else
        bad += !fails_as(key, p, obj->len, 0, pt->p, pt->len, AESGCM_E_AUTH,
                         "version-1 object failed authentication");
    free(p);
    ok(bad == 0, "line %d: %s: %zu flipped bytes detected", v->lineno,
       vget(v, "name"), cases);
}

/* Reordering chunks: swap 0 and 1, duplicate 0, drop 1. */
static void check_reorder(const vline *v, const uint8_t key[32], const buf *obj,
                          const buf *pt)
{
    const size_t S = AESGCM_SEALED_MAX, H = AESGCM_HEADER_LEN;
    if (pt->len < 2 * AESGCM_CHUNK)
        return;
    uint8_t *p = xmalloc(obj->len + S);
    int good = 1;

    memcpy(p, obj->p, obj->len); /* swap */
    memcpy(p + H, obj->p + H + S, S);
    memcpy(p + H + S, obj->p + H, S);
    good &= fails_as(key, p, obj->len, 0, pt->p, pt->len, AESGCM_E_AUTH,
                     "chunk 0 failed authentication");

    memcpy(p, obj->p, H + S); /* duplicate chunk 0 */
    memcpy(p + H + S, obj->p + H, obj->len - H);
    good &= fails_as(key, p, obj->len + S, 0, pt->p, pt->len, AESGCM_E_AUTH,
                     "chunk 1 failed authentication");

    memcpy(p, obj->p, H + S); /* drop chunk 1 */
    memcpy(p + H + S, obj->p + H + 2 * S, obj->len - H - 2 * S);
    good &= fails_as(key, p, obj->len - S, 0, pt->p, pt->len, AESGCM_E_AUTH,
                     "chunk 1 failed authentication");
    free(p);
    ok(good, "line %d: %s: swapped, duplicated, dropped chunks detected",
       v->lineno, vget(v, "name"));
}

/* The binding (FORMAT.md 3.9) worked out from the object's bytes alone:
 * SHA-256 of its 20 header bytes, then each chunk's tag (every full
 * chunk's last 16 bytes, and the object's last 16). */
static void binding_of_layout(const uint8_t *obj, size_t len,
                              uint8_t out[AESGCM_BINDING_LEN])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned n = 0;
    if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(c, obj, AESGCM_HEADER_LEN))
        bail("EVP_Digest failed");
    size_t off = AESGCM_HEADER_LEN;
    for (; len - off > AESGCM_SEALED_MAX; off += AESGCM_SEALED_MAX)
        EVP_DigestUpdate(c, obj + off + AESGCM_CHUNK, AESGCM_TAG_LEN);
    EVP_DigestUpdate(c, obj + len - AESGCM_TAG_LEN, AESGCM_TAG_LEN);
    EVP_DigestFinal_ex(c, out, &n);
    EVP_MD_CTX_free(c);
}

/* The encryptor's binding of pt sealed whole chunks at a time; 0 if it
 * gave none. */
static int sealed_binding(const uint8_t key[32], const uint8_t iv[12],
                          const uint8_t *pt, size_t len,
                          uint8_t out[AESGCM_BINDING_LEN])
{
    aesgcm_enc *e = aesgcm_enc_new(key, iv);
    uint8_t *o = xmalloc(AESGCM_SEALED_MAX);
    int good = e != NULL;
    size_t off = 0;
    do {
        size_t n = len - off < AESGCM_CHUNK ? len - off : AESGCM_CHUNK;
        good = good && aesgcm_enc_binding(e, out) == AESGCM_E_STATE &&
               aesgcm_enc_chunk(e, pt + off, n, o) == AESGCM_OK;
        off += n;
        if (n < AESGCM_CHUNK)
            break;
    } while (good);
    good = good && aesgcm_enc_binding(e, out) == AESGCM_OK;
    free(o);
    aesgcm_enc_free(e);
    return good;
}

/* 3.9: the encryptor, the decryptor and the layout agree on the binding;
 * a damaged object gives none. */
static void check_binding(const vline *v, const uint8_t key[32],
                          const uint8_t iv[12], const buf *obj, const buf *pt)
{
    const char *name = vget(v, "name");
    uint8_t want[AESGCM_BINDING_LEN], enc[AESGCM_BINDING_LEN];
    binding_of_layout(obj->p, obj->len, want);
    ok(sealed_binding(key, iv, pt->p, pt->len, enc) &&
           memcmp(enc, want, sizeof want) == 0,
       "line %d: %s: the encryptor's binding is SHA-256 of header and tags",
       v->lineno, name);
    opened o;
    open_object(key, obj->p, obj->len, 0, AESGCM_V1_MAX, NULL, 0, &o);
    ok(o.rc == 0 && o.bound && memcmp(o.binding, want, sizeof want) == 0,
       "line %d: %s: the decryptor gives the same binding", v->lineno, name);
    buf_free(&o.pt);
    obj->p[obj->len - 1] ^= 1;
    open_object(key, obj->p, obj->len, 0, AESGCM_V1_MAX, NULL, 0, &o);
    obj->p[obj->len - 1] ^= 1;
    ok(o.rc == AESGCM_E_AUTH && !o.bound,
       "line %d: %s: no binding from an object that fails", v->lineno, name);
    buf_free(&o.pt);
}

static void check_object(const vline *v)
{
    const char *name = vget(v, "name"), *hex = vget(v, "hex");
    const char *sha = vget(v, "sha256"), *clen = vget(v, "ciphertext_len");
    uint8_t key[32], iv[12];
    buf pt = {0}, obj = {0};
    if (!ok(name && clen && (hex || sha) && get_plaintext(v, &pt) &&
                unhex_fixed(vget(v, "key"), key, 32) &&
                unhex_fixed(vget(v, "iv"), iv, 12) &&
                seal_object(key, iv, pt.p, pt.len, 0, &obj),
            "line %d: object %s: parsed and sealed", v->lineno,
            name ? name : "?")) {
        buf_free(&pt);
        return;
    }
    ok(obj.len == strtoull(clen, NULL, 10) &&
           aesgcm_object_size(pt.len) == obj.len,
       "line %d: %s: ciphertext_len %s", v->lineno, name, clen);
    if (hex) {
        char *got = xmalloc(2 * obj.len + 1);
        aesgcm_hex(obj.p, obj.len, got);
        ok(strcmp(got, hex) == 0, "line %d: %s: bytes match", v->lineno, name);
        free(got);
    } else {
        char got[65];
        sha256_hex(obj.p, obj.len, got);
        ok(strcmp(got, sha) == 0, "line %d: %s: sha256 matches", v->lineno,
           name);
    }

    /* Streaming: any piece sizes give the same bytes. */
    size_t pieces[] = {1, 7, 16, 4095, 65535, 65537};
    int same = 1;
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        if (pieces[i] < 16 && pt.len > 200000)
            continue;
        buf o2;
        same &= seal_object(key, iv, pt.p, pt.len, pieces[i], &o2) &&
                o2.len == obj.len && memcmp(o2.p, obj.p, obj.len) == 0;
        buf_free(&o2);
    }
    ok(same, "line %d: %s: sealing in pieces gives the same bytes", v->lineno,
       name);
    ok(layout_matches(key, obj.p, obj.len, pt.p, pt.len),
       "line %d: %s: every chunk opens with plain EVP and the nonce rule",
       v->lineno, name);

    size_t feeds[] = {0, 1, 13, 16, 65552, 1u << 20};
    int opened_all = 1;
    for (size_t i = 0; i < sizeof feeds / sizeof feeds[0]; i++) {
        if (feeds[i] && feeds[i] < 16 && obj.len > 200000)
            continue;
        opened_all &= opens_to(key, obj.p, obj.len, feeds[i], AESGCM_V1_MAX,
                               pt.p, pt.len);
    }
    ok(opened_all, "line %d: %s: decrypts back, fed in any pieces", v->lineno,
       name);

    uint8_t wrong[32];
    memcpy(wrong, key, 32);
    wrong[31] ^= 1;
    ok(fails_as(wrong, obj.p, obj.len, 0, pt.p, pt.len, AESGCM_E_AUTH,
                "chunk 0 failed authentication: wrong passphrase"),
       "line %d: %s: wrong key fails at chunk 0", v->lineno, name);

    check_binding(v, key, iv, &obj, &pt);
    check_truncations(v, key, &obj, &pt);
    check_trailing(v, key, &obj, &pt);
    check_flips(v, key, &obj, &pt);
    check_reorder(v, key, &obj, &pt);
    buf_free(&obj);
    buf_free(&pt);
}

static void check_mac_key(const vline *v)
{
    uint8_t ikm[32], want[32], got[32], zero[32] = {0}, alt[32];
    const char *info = vget(v, "info"), *salt = vget(v, "hkdf_salt");
    int parsed = unhex_fixed(vget(v, "hkdf_ikm"), ikm, 32) &&
                 unhex_fixed(vget(v, "okm"), want, 32) && info && salt;
    ok(parsed && strcmp(info, AESGCM_HMAC_INFO) == 0 &&
           strncmp(salt, "(32 zero bytes", 14) == 0 &&
           aesgcm_header_mac_key(ikm, got) == AESGCM_OK &&
           memcmp(got, want, 32) == 0,
       "line %d: header-mac-key (HKDF-SHA256, no salt, info '%s')", v->lineno,
       info ? info : "?");

    /* "No salt" and "32 zero bytes" are the same HKDF (RFC 5869 2.2). */
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                         (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm, 32),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, zero, 32),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                          (char *)AESGCM_HMAC_INFO,
                                          strlen(AESGCM_HMAC_INFO)),
        OSSL_PARAM_construct_end()};
    ok(parsed && c && EVP_KDF_derive(c, alt, 32, p) > 0 &&
           memcmp(alt, want, 32) == 0,
       "line %d: header-mac-key equals HKDF with 32 zero bytes of salt",
       v->lineno);
    EVP_KDF_CTX_free(c);
    EVP_KDF_free(kdf);
}

/* Reads kdf, iter and salt from the aes-256-gcm line of a sluice/1
 * header, as the stage receives them. */
static int header_params(const buf *h, uint32_t *iter, uint8_t salt[16])
{
    static const char magic[] = "sluice/1\naes-256-gcm ";
    size_t m = sizeof magic - 1;
    if (h->len < m || memcmp(h->p, magic, m) != 0)
        return 0;
    char line[256];
    const uint8_t *end = memchr(h->p + m, '\n', h->len - m);
    size_t n = end ? (size_t)(end - h->p) - m : 0;
    if (!end || n >= sizeof line)
        return 0;
    memcpy(line, h->p + m, n);
    line[n] = '\0';
    if (h->len < 4 || memcmp(h->p + h->len - 4, "\n---", 4) != 0)
        return 0;
    int have = 0;
    for (char *tok = strtok(line, " "); tok; tok = strtok(NULL, " ")) {
        if (strcmp(tok, "kdf=" AESGCM_KDF_NAME) == 0)
            have |= 1;
        else if (strncmp(tok, "iter=", 5) == 0 &&
                 aesgcm_parse_iter(tok + 5, AESGCM_ITER_MIN, AESGCM_ITER_MAX,
                                   iter) == AESGCM_OK)
            have |= 2;
        else if (strncmp(tok, "salt=", 5) == 0 &&
                 aesgcm_parse_salt(tok + 5, salt) == AESGCM_OK)
            have |= 4;
        else
            return 0;
    }
    return have == 7;
}

/* Header bytes, MAC and key of a stream line, for its stream-bytes line. */
typedef struct stream_ctx {
    buf header;
    uint8_t key[32];
    char mac_hex[65];
} stream_ctx;

static int stream_derive(const vline *v, stream_ctx *s)
{
    const char *pass = vget(v, "passphrase");
    uint8_t salt[16], mac_key[32], mac[32];
    uint32_t iter = 0;
    if (!pass || !vget(v, "header_hex") ||
        !unhex(vget(v, "header_hex"), &s->header))
        return 0;
    if (!header_params(&s->header, &iter, salt) ||
        aesgcm_kdf(pass, strlen(pass), salt, iter, s->key) != AESGCM_OK ||
        aesgcm_header_mac_key(s->key, mac_key) != AESGCM_OK ||
        aesgcm_header_mac(mac_key, s->header.p, s->header.len, mac) !=
            AESGCM_OK)
        return 0;
    aesgcm_hex(mac, 32, s->mac_hex);
    return 1;
}

static void check_stream(const vline *v)
{
    stream_ctx s = {0};
    const char *want = vget(v, "mac");
    ok(want && stream_derive(v, &s) && strcmp(s.mac_hex, want) == 0,
       "line %d: stream %s: header MAC", v->lineno,
       vget(v, "name") ? vget(v, "name") : "?");
    buf_free(&s.header);
}

static const vline *find_line(const vfile *vf, const char *type,
                              const char *name)
{
    for (size_t i = 0; i < vf->n; i++) {
        const char *n = vget(&vf->lines[i], "name");
        if (strcmp(vf->lines[i].type, type) == 0 && n && name &&
            strcmp(n, name) == 0)
            return &vf->lines[i];
    }
    return NULL;
}

/* stream-bytes = header (ending in "---"), " ", MAC in hex, "\n", then
 * the object.  The object must open with the stream's key and
 * re-seal (with its own IV) to the very same bytes. */
static void check_stream_bytes(const vfile *vf, const vline *v)
{
    const char *name = vget(v, "name");
    const vline *sv = find_line(vf, "stream", name);
    stream_ctx s = {0};
    buf all = {0}, again = {0};
    opened o = {0};
    int good = sv && stream_derive(sv, &s) && vget(v, "hex") &&
               unhex(vget(v, "hex"), &all);
    size_t pre = s.header.len + 1 + 64 + 1;
    good = good && all.len >= pre &&
           memcmp(all.p, s.header.p, s.header.len) == 0 &&
           all.p[s.header.len] == ' ' &&
           memcmp(all.p + s.header.len + 1, s.mac_hex, 64) == 0 &&
           all.p[pre - 1] == '\n';
    ok(good, "line %d: stream-bytes %s: header, ' ', MAC, newline", v->lineno,
       name ? name : "?");
    if (good) {
        open_object(s.key, all.p + pre, all.len - pre, 0, AESGCM_V1_MAX, NULL,
                    0, &o);
        good =
            o.rc == 0 && all.len - pre >= AESGCM_HEADER_LEN &&
            seal_object(s.key, all.p + pre + 8, o.pt.p, o.pt.len, 0, &again) &&
            again.len == all.len - pre &&
            memcmp(again.p, all.p + pre, again.len) == 0;
    }
    ok(good,
       "line %d: stream-bytes %s: object opens and re-seals "
       "identically (%zu bytes of plaintext)",
       v->lineno, name ? name : "?", o.pt.len);
    buf_free(&o.pt);
    buf_free(&again);
    buf_free(&all);
    buf_free(&s.header);
}

/* t/vectors/aes256gcm-binding.txt: "binding name=N binding=HEX" for the
 * object vector N of vf, computed apart from sluice (t/gen-binding.py). */
static void check_binding_vectors(const char *path, const vfile *objs)
{
    vfile *vf = calloc(1, sizeof *vf);
    int loaded = vf && load_vectors(path, vf) && vf->n > 0;
    ok(loaded, "vector file %s loaded (%zu vectors)", path, vf ? vf->n : 0);
    for (size_t i = 0; loaded && i < vf->n; i++) {
        const vline *v = &vf->lines[i], *ov;
        const char *name = vget(v, "name");
        uint8_t key[32], iv[12], want[32], got[32];
        buf pt = {0};
        int good = strcmp(v->type, "binding") == 0 &&
                   (ov = find_line(objs, "object", name)) &&
                   unhex_fixed(vget(v, "binding"), want, 32) &&
                   get_plaintext(ov, &pt) &&
                   unhex_fixed(vget(ov, "key"), key, 32) &&
                   unhex_fixed(vget(ov, "iv"), iv, 12) &&
                   sealed_binding(key, iv, pt.p, pt.len, got) &&
                   memcmp(got, want, 32) == 0;
        ok(good, "line %d: binding of object %s", v->lineno,
           name ? name : "?");
        buf_free(&pt);
    }
    if (vf)
        free_vectors(vf);
    free(vf);
}

static void check_vectors(const char *path)
{
    vfile *vf = calloc(1, sizeof *vf);
    int loaded = vf && load_vectors(path, vf) && vf->n > 0;
    if (!ok(loaded, "vector file %s loaded (%zu vectors)", path,
            vf ? vf->n : 0)) {
        if (vf)
            free_vectors(vf);
        free(vf);
        return;
    }
    for (size_t i = 0; i < vf->n; i++) {
        const vline *v = &vf->lines[i];
        if (strcmp(v->type, "kdf") == 0)
            check_kdf(v);
        else if (strcmp(v->type, "object") == 0)
            check_object(v);
        else if (strcmp(v->type, "header-mac-key") == 0)
            check_mac_key(v);
        else if (strcmp(v->type, "stream") == 0)
            check_stream(v);
        else if (strcmp(v->type, "stream-bytes") == 0)
            check_stream_bytes(vf, v);
        else
            ok(0, "line %d: unknown vector type '%s'", v->lineno, v->type);
    }
    /* The binding vectors sit beside the object vectors they name. */
    char bpath[4096];
    const char *slash = strrchr(path, '/');
    int dir = slash ? (int)(slash - path + 1) : 0;
    snprintf(bpath, sizeof bpath, "%.*saes256gcm-binding.txt", dir, path);
    check_binding_vectors(bpath, vf);
    free_vectors(vf);
    free(vf);
}

/* ---- beyond the vectors ------------------------------------------------- */

static void check_nonce_wrap(void)
{
    /* The counter half of the IV at its maximum: chunk 1 wraps to 0, and
     * the first four bytes never change. */
    uint8_t key[32], iv[12] = {0xde, 0xad, 0xbe, 0xef, 0xff, 0xff,
                               0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint8_t n1[12] = {0xde, 0xad, 0xbe, 0xef};
    memset(key, 0x42, sizeof key);
    size_t len = AESGCM_CHUNK + 10;
    uint8_t *pt = xmalloc(len), *tmp = xmalloc(AESGCM_CHUNK);
    pattern(pt, len);
    buf obj;
    int good = seal_object(key, iv, pt, len, 0, &obj);
    const uint8_t *c1 =
        good ? obj.p + AESGCM_HEADER_LEN + AESGCM_SEALED_MAX : NULL;
    uint8_t tag[16];
    if (good)
        memcpy(tag, c1 + 10, 16);
    good = good && evp_gcm(0, key, n1, c1, 10, tmp, tag) &&
           memcmp(tmp, pt + AESGCM_CHUNK, 10) == 0;
    ok(good, "nonce counter wraps mod 2^64 and keeps the IV prefix");
    ok(good && opens_to(key, obj.p, obj.len, 0, AESGCM_V1_MAX, pt, len),
       "an object whose nonce wraps decrypts");
    if (good)
        buf_free(&obj);
    free(pt);
    free(tmp);
}

static void check_v1(void)
{
    uint8_t key[32], iv[12];
    memset(key, 0x17, sizeof key);
    memset(iv, 0x29, sizeof iv);
    size_t sizes[] = {0, 1, 12, 65536, 200003};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        uint8_t *pt = xmalloc(n);
        pattern(pt, n);
        buf obj;
        seal_v1(key, iv, pt, n, &obj);
        int good = opens_to(key, obj.p, obj.len, 0, AESGCM_V1_MAX, pt, n) &&
                   opens_to(key, obj.p, obj.len, 7, AESGCM_V1_MAX, pt, n) &&
                   opens_to(key, obj.p, obj.len, 0, n, pt, n);
        ok(good, "version-1 object of %zu bytes decrypts (also at the cap)", n);
        if (n > 0) {
            obj.p[obj.len - 20] ^= 1;
            ok(fails_as(key, obj.p, obj.len, 0, pt, n, AESGCM_E_AUTH,
                        "version-1 object failed authentication"),
               "version-1 object of %zu bytes: tampering detected", n);
            obj.p[obj.len - 20] ^= 1;
            opened o;
            open_object(key, obj.p, obj.len, 0, n - 1, pt, n, &o);
            ok(o.rc == AESGCM_E_LIMIT && o.pt.len == 0 &&
                   strstr(o.msg, "too large"),
               "version-1 object of %zu bytes refused beyond a cap of %zu "
               "(%s)",
               n, n - 1, o.msg);
            buf_free(&o.pt);
        }
        free(pt);
        buf_free(&obj);
    }
    uint8_t shorty[AESGCM_HEADER_LEN + 15];
    memcpy(shorty, "encrypt\x01", 8);
    memset(shorty + 8, 0, sizeof shorty - 8);
    ok(fails_as(key, shorty, sizeof shorty, 0, NULL, 0, AESGCM_E_FORMAT,
                "truncated"),
       "version-1 object shorter than its tag: truncated");
    opened o;
    uint8_t big[AESGCM_HEADER_LEN + 64];
    memcpy(big, "encrypt\x01", 8);
    memset(big + 8, 0, sizeof big - 8);
    open_object(key, big, sizeof big, 0, (size_t)64 << 20, NULL, 0, &o);
    ok(o.rc == AESGCM_E_AUTH,
       "a small version-1 object under the "
       "default cap is parsed (rc %d)",
       o.rc);
    buf_free(&o.pt);
    open_object(key, big, sizeof big, 0, 0, NULL, 0, &o);
    ok(o.rc == AESGCM_E_LIMIT && strstr(o.msg, "0 bytes"),
       "the cap is named in bytes when not whole MiB: %s", o.msg);
    buf_free(&o.pt);
}

static void check_garbage(void)
{
    uint8_t key[32] = {1};
    static const uint8_t hello[] = "hello, not an object at all";
    ok(fails_as(key, hello, 0, 0, NULL, 0, AESGCM_E_FORMAT,
                "truncated: no encrypted object"),
       "empty input: no object");
    ok(fails_as(key, hello, 3, 0, NULL, 0, AESGCM_E_FORMAT, "bad magic"),
       "foreign data is refused at its first wrong byte");
    ok(fails_as(key, hello, sizeof hello, 1, NULL, 0, AESGCM_E_FORMAT,
                "bad magic"),
       "foreign data: bad magic");
    uint8_t v9[AESGCM_HEADER_LEN + 16];
    memcpy(v9, "encrypt\x09", 8);
    memset(v9 + 8, 0, sizeof v9 - 8);
    ok(fails_as(key, v9, sizeof v9, 0, NULL, 0, AESGCM_E_FORMAT,
                "unknown object version 9"),
       "unknown version refused");
}

static void check_api_edges(void)
{
    uint8_t key[32] = {2}, iv[12] = {3}, out[AESGCM_SEALED_MAX], tag[16];
    uint8_t in[AESGCM_CHUNK + 1] = {0};
    aesgcm_enc *e = aesgcm_enc_new(key, iv);
    ok(e && aesgcm_enc_update(e, in, AESGCM_CHUNK + 1, out) == AESGCM_E_STATE,
       "encryptor: a piece larger than the chunk is refused");
    ok(e && aesgcm_enc_chunk(e, in, 5, out) == AESGCM_OK &&
           aesgcm_enc_room(e) == 0 &&
           aesgcm_enc_update(e, in, 1, out) == AESGCM_E_STATE &&
           aesgcm_enc_seal(e, tag) == AESGCM_E_STATE,
       "encryptor: nothing follows the final chunk");
    aesgcm_enc_free(e);

    /* A complete object, then more bytes through the API. */
    buf obj;
    uint8_t *chunk = xmalloc(AESGCM_CHUNK);
    size_t used, ready;
    int good = seal_object(key, iv, in, 3, 0, &obj);
    aesgcm_dec *d = aesgcm_dec_new(key, 0);
    good =
        good && d &&
        aesgcm_dec_update(d, obj.p, obj.len, &used, chunk, &ready) ==
            AESGCM_OK &&
        used == obj.len &&
        aesgcm_dec_finish(d, chunk, &ready) == AESGCM_READY && ready == 3 &&
        aesgcm_dec_done(d) &&
        aesgcm_dec_update(d, obj.p, 1, &used, chunk, &ready) ==
            AESGCM_E_FORMAT &&
        strcmp(aesgcm_dec_error(d), "trailing data after the final "
                                    "chunk") == 0 &&
        aesgcm_dec_update(d, obj.p, 0, &used, chunk, &ready) == AESGCM_E_FORMAT;
    ok(good, "decoder: bytes after the verified final chunk are refused, "
             "and errors stick");
    aesgcm_dec_free(d);
    free(chunk);
    if (obj.p)
        buf_free(&obj);
}

static void check_params(void)
{
    uint32_t it = 0;
    uint8_t salt[16];
    struct {
        const char *s;
        int want;
    } iters[] = {{"64000", AESGCM_OK},
                 {"10000", AESGCM_OK},
                 {"10000000", AESGCM_OK},
                 {"9999", AESGCM_E_LIMIT},
                 {"10000001", AESGCM_E_LIMIT},
                 {"4294967295", AESGCM_E_LIMIT},
                 {"99999999999", AESGCM_E_FORMAT},
                 {"064000", AESGCM_E_FORMAT},
                 {"", AESGCM_E_FORMAT},
                 {"+64000", AESGCM_E_FORMAT},
                 {"64000 ", AESGCM_E_FORMAT},
                 {"6.4e4", AESGCM_E_FORMAT},
                 {"0", AESGCM_E_LIMIT}};
    int good = 1;
    for (size_t i = 0; i < sizeof iters / sizeof iters[0]; i++) {
        int rc = aesgcm_parse_iter(iters[i].s, AESGCM_ITER_MIN, AESGCM_ITER_MAX,
                                   &it);
        if (rc != iters[i].want) {
            diag("iter '%s': %d, want %d", iters[i].s, rc, iters[i].want);
            good = 0;
        }
    }
    ok(good && aesgcm_parse_iter("200000", 0, AESGCM_ITER_MAX, &it) == 0 &&
           it == 200000,
       "iter: canonical decimal within [%u, %u] only", AESGCM_ITER_MIN,
       AESGCM_ITER_MAX);
    const char *bad_salts[] = {"000102030405060708090A0B0C0D0E0F",
                               "000102030405060708090a0b0c0d0e0",
                               "000102030405060708090a0b0c0d0e0f0",
                               "000102030405060708090a0b0c0d0e0g",
                               "",
                               "000102030405060708090a0b0c0d0e 0"};
    good = aesgcm_parse_salt("000102030405060708090a0b0c0d0e0f", salt) == 0 &&
           salt[0] == 0 && salt[15] == 15;
    for (size_t i = 0; i < sizeof bad_salts / sizeof bad_salts[0]; i++)
        good &= aesgcm_parse_salt(bad_salts[i], salt) == AESGCM_E_FORMAT;
    ok(good, "salt: exactly 32 lowercase hex digits only");
    uint8_t b[3] = {0x00, 0xab, 0xff};
    char h[7];
    aesgcm_hex(b, 3, h);
    ok(strcmp(h, "00abff") == 0, "hex is lowercase");
}

static const char *vector_path(int argc, char **argv, char *tmp, size_t cap)
{
    if (argc > 1)
        return argv[1];
    const char *dir = getenv("SLUICE_VECTORS");
    if (dir && *dir) {
        snprintf(tmp, cap, "%s/aes256gcm-v2.txt", dir);
        return tmp;
    }
    const char *src = getenv("SLUICE_SRCDIR");
    if (src && *src) {
        snprintf(tmp, cap, "%s/%s", src, VECTOR_FILE);
        return tmp;
    }
    return VECTOR_FILE;
}

int main(int argc, char **argv)
{
    char tmp[4096];
    check_vectors(vector_path(argc, argv, tmp, sizeof tmp));
    check_pbkdf2();
    check_nonce_wrap();
    check_v1();
    check_garbage();
    check_api_edges();
    check_params();
    return done();
}
