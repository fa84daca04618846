/*
 * fuzz-aesgcm.c - libFuzzer target for the aes-256-gcm decryptor
 * (aesgcm_dec_* in plugins/aesgcm-object.c, no host needed), fed in
 * random split sizes under a fixed key.
 *
 * Input: byte 0 = control (bit 0: mode; bits 1..7: the split seed).
 *
 * Mode 0, raw: the rest is an object.  The decoder must not crash, leak
 * or misbehave on any bytes, and:
 *   - statuses are known ones; READY hands out <= 65,536 bytes; OK means
 *     all input was taken; after an error every call fails alike;
 *   - after an error the output buffer holds no unverified plaintext
 *     (every byte is either the harness's fill pattern or wiped to 0);
 *   - success means the object is authentic: encrypting the plaintext
 *     again under the same key and IV gives exactly the input bytes.
 *
 * Mode 1, round trip with an edit: bytes 1..5 = repeat count, edit and
 * edit position; the rest, repeated, is a plaintext (up to ~1 MiB, so
 * objects span many chunks).  It is encrypted (version 2 through
 * aesgcm_enc_*, or version 1 directly with EVP), optionally edited
 * (truncated, a bit flipped, a byte appended, deleted or inserted), then
 * decrypted.  Unedited, the plaintext must come back exactly; edited, the
 * decoder must fail, and what it released before failing must be a
 * prefix of the true plaintext (no unauthenticated byte ever comes out).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "aesgcm-object.h"

#define BUG(...)                                                          \
    do {                                                                  \
        fprintf(stderr, "\n*** fuzz-aesgcm: " __VA_ARGS__);               \
        fputc('\n', stderr);                                              \
        abort();                                                          \
    } while (0)

static const uint8_t key[AESGCM_KEY_LEN] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
    0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
    0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};

#define FILL 0xa5

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

static size_t piece(uint64_t *s, size_t left)
{
    uint64_t r = rnd(s);
    size_t n;
    switch (r & 7) {
    case 0: n = 1; break;
    case 1: n = 1 + (r >> 8) % 17; break;
    case 2: n = 1 + (r >> 8) % 100; break;
    case 3: n = 65536 + 16 - 3 + (r >> 8) % 7; break;
    default: n = 1 + (r >> 8) % 200000; break;
    }
    return n < left ? n : left;
}

typedef struct outbuf {
    uint8_t *p;
    size_t len, cap;
} outbuf;

static void out_add(outbuf *o, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 65536;
        while (cap < o->len + n)
            cap *= 2;
        o->p = realloc(o->p, cap);
        if (!o->p)
            abort();
        o->cap = cap;
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
}

static uint8_t *fresh_chunk(void)
{
    uint8_t *b = malloc(AESGCM_CHUNK);
    if (!b)
        abort();
    memset(b, FILL, AESGCM_CHUNK);
    return b;
}

/* After an error: the chunk buffer holds no plaintext. */
static void check_wiped(const uint8_t *b)
{
    for (size_t i = 0; i < AESGCM_CHUNK; i++)
        if (b[i] != FILL && b[i] != 0)
            BUG("unverified plaintext left in the output buffer at %zu "
                "after an error", i);
}

static void check_status(int rc)
{
    if (rc != AESGCM_OK && rc != AESGCM_READY && rc != AESGCM_E_FORMAT &&
        rc != AESGCM_E_AUTH && rc != AESGCM_E_LIMIT && rc != AESGCM_E_NOMEM)
        BUG("unexpected status %d", rc);
}

/* Decrypts obj[0..len) in pieces; returns the final status (0 = the
 * whole object verified) with the released plaintext in *out. */
static int decrypt(const uint8_t *obj, size_t len, uint64_t seed,
                   size_t v1_max, outbuf *out)
{
    aesgcm_dec *d = aesgcm_dec_new(key, v1_max);
    if (!d)
        return AESGCM_E_NOMEM;
    uint8_t *chunk = fresh_chunk();
    size_t pos = 0;
    int rc = AESGCM_OK;
    while (pos < len) {
        size_t n = piece(&seed, len - pos);
        /* An exact-size copy: over-reads are ASan reports. */
        uint8_t *in = malloc(n);
        if (!in)
            abort();
        memcpy(in, obj + pos, n);
        size_t off = 0;
        while (off < n) {
            size_t used = 99999999, ready = 99999999;
            rc = aesgcm_dec_update(d, in + off, n - off, &used, chunk, &ready);
            check_status(rc);
            if (used > n - off)
                BUG("used %zu of %zu", used, n - off);
            if (rc < 0)
                break;
            if (rc == AESGCM_OK && used != n - off)
                BUG("OK but only %zu of %zu bytes taken", used, n - off);
            if (rc == AESGCM_READY) {
                if (ready > AESGCM_CHUNK)
                    BUG("ready %zu > chunk", ready);
                out_add(out, chunk, ready);
                free(chunk);
                chunk = fresh_chunk();
            } else if (ready != 0) {
                BUG("ready %zu without AESGCM_READY", ready);
            }
            if (used == 0 && rc != AESGCM_READY)
                BUG("no progress");
            off += used;
        }
        free(in);
        if (rc < 0)
            break;
        pos += n;
    }
    if (rc >= 0) {
        for (int guard = 0; !aesgcm_dec_done(d); guard++) {
            size_t ready = 99999999;
            rc = aesgcm_dec_finish(d, chunk, &ready);
            check_status(rc);
            if (rc < 0)
                break;
            if (rc != AESGCM_READY || ready > AESGCM_CHUNK)
                BUG("finish: status %d ready %zu", rc, ready);
            out_add(out, chunk, ready);
            free(chunk);
            chunk = fresh_chunk();
            if (guard > (int)(v1_max / AESGCM_CHUNK) + 4)
                BUG("finish never ends");
        }
    }
    if (rc < 0) {
        check_wiped(chunk);
        const char *msg = aesgcm_dec_error(d);
        if (!msg[0] || strchr(msg, '\n'))
            BUG("bad error message '%s'", msg);
        /* Sticky failure. */
        size_t used, ready;
        uint8_t one = 0;
        int again = aesgcm_dec_update(d, &one, 1, &used, chunk, &ready);
        if (again != rc)
            BUG("after failing with %d, update returns %d", rc, again);
        again = aesgcm_dec_finish(d, chunk, &ready);
        if (again != rc)
            BUG("after failing with %d, finish returns %d", rc, again);
    } else {
        rc = 0;
    }
    /* A binding (FORMAT.md 3.9) only for a whole version-2 object. */
    uint8_t bound[AESGCM_BINDING_LEN];
    int has = aesgcm_dec_binding(d, bound) == AESGCM_OK;
    if (has != (rc == 0 && aesgcm_dec_version(d) == AESGCM_VERSION_V2))
        BUG("binding %s after status %d, version %d", has ? "given" : "none",
            rc, aesgcm_dec_version(d));
    free(chunk);
    aesgcm_dec_free(d);
    return rc;
}

/* Version 2, as the stage writes it. */
static uint8_t *encrypt_v2(const uint8_t iv[AESGCM_IV_LEN], const uint8_t *pt,
                           size_t len, size_t *olen)
{
    static const uint8_t none[1];
    size_t cap = (size_t)aesgcm_object_size(len);
    uint8_t *o = malloc(cap);
    if (!pt)
        pt = none; /* no plaintext at all (pt + 0 on NULL is UB) */
    aesgcm_enc *e = aesgcm_enc_new(key, iv);
    if (!o || !e)
        abort();
    aesgcm_enc_header(e, o);
    size_t at = AESGCM_HEADER_LEN;
    for (;;) {
        size_t n = len < AESGCM_CHUNK ? len : AESGCM_CHUNK;
        if (aesgcm_enc_chunk(e, pt, n, o + at) != AESGCM_OK)
            abort();
        at += n + AESGCM_TAG_LEN;
        pt += n;
        len -= n;
        if (n < AESGCM_CHUNK)
            break;
    }
    aesgcm_enc_free(e);
    if (at != cap)
        BUG("v2 object of %zu bytes, expected %zu", at, cap);
    *olen = at;
    return o;
}

/* Version 1: "encrypt" | 1 | IV | GCM(whole, nonce = IV) | tag. */
static uint8_t *encrypt_v1(const uint8_t iv[AESGCM_IV_LEN], const uint8_t *pt,
                           size_t len, size_t *olen)
{
    uint8_t *o = malloc(AESGCM_HEADER_LEN + len + AESGCM_TAG_LEN);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0;
    if (!o || !c)
        abort();
    memcpy(o, AESGCM_MAGIC, AESGCM_MAGIC_LEN);
    o[AESGCM_MAGIC_LEN] = AESGCM_VERSION_V1;
    memcpy(o + AESGCM_MAGIC_LEN + 1, iv, AESGCM_IV_LEN);
    if (!EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) ||
        (len && !EVP_EncryptUpdate(c, o + AESGCM_HEADER_LEN, &outl, pt,
                                   (int)len)) ||
        !EVP_EncryptFinal_ex(c, o + AESGCM_HEADER_LEN + len, &outl) ||
        !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, AESGCM_TAG_LEN,
                             o + AESGCM_HEADER_LEN + len))
        abort();
    EVP_CIPHER_CTX_free(c);
    *olen = AESGCM_HEADER_LEN + len + AESGCM_TAG_LEN;
    return o;
}

static void raw(const uint8_t *obj, size_t len, uint8_t ctl)
{
    size_t v1_max = (ctl & 2) ? 4096 : ((size_t)1 << 20);
    outbuf out = {0};
    int rc = decrypt(obj, len, ctl >> 1, v1_max, &out);
    if (out.len > len)
        BUG("%zu bytes of plaintext from a %zu-byte object", out.len, len);
    if (rc == 0) {
        /* Authentic: it must be exactly the encryption of what came out. */
        if (len < AESGCM_HEADER_LEN)
            BUG("success on a %zu-byte object", len);
        size_t elen = 0;
        uint8_t *again = obj[AESGCM_MAGIC_LEN] == AESGCM_VERSION_V1
                             ? encrypt_v1(obj + AESGCM_MAGIC_LEN + 1, out.p,
                                          out.len, &elen)
                             : encrypt_v2(obj + AESGCM_MAGIC_LEN + 1, out.p,
                                          out.len, &elen);
        if (elen != len || memcmp(again, obj, len) != 0)
            BUG("accepted an object that is not the encryption of the "
                "plaintext it released (%zu vs %zu bytes)", len, elen);
        free(again);
    }
    free(out.p);
}

static void roundtrip(const uint8_t *data, size_t size, uint8_t ctl)
{
    if (size < 5)
        return;
    unsigned rep = 1 + data[0] % 24;
    /* At most ~400 KB of plaintext: enough for six chunks, still fast. */
    if (size > 5 && (size - 5) * rep > 400000)
        rep = (unsigned)(400000 / (size - 5)) + 1;
    unsigned op = data[1];
    size_t where = (size_t)data[2] | (size_t)data[3] << 8 |
                   (size_t)data[4] << 16;
    const uint8_t *unit = data + 5;
    size_t ulen = size - 5;
    size_t len = ulen * rep;
    uint8_t *pt = malloc(len ? len : 1);
    if (!pt)
        abort();
    for (unsigned i = 0; i < rep; i++)
        memcpy(pt + i * ulen, unit, ulen);
    uint8_t iv[AESGCM_IV_LEN];
    for (size_t i = 0; i < AESGCM_IV_LEN; i++)
        iv[i] = (uint8_t)(ctl * 31 + i * 7 + (i == 11 ? 0xff : 0));
    /* IVs near the counter wrap, too. */
    if (op & 0x40)
        memset(iv + 4, 0xff, 8);
    int v1 = (op & 0x80) != 0;
    size_t olen = 0;
    uint8_t *obj = v1 ? encrypt_v1(iv, pt, len, &olen)
                      : encrypt_v2(iv, pt, len, &olen);
    /* The edit. */
    uint8_t *ed = malloc(olen + 1);
    if (!ed)
        abort();
    memcpy(ed, obj, olen);
    size_t elen = olen, at = where % (olen + 1);
    int edited = 1;
    switch (op & 7) {
    case 1: /* truncate */
        elen = at;
        edited = at < olen;
        break;
    case 2: /* flip a bit */
        if (at == olen)
            at--;
        ed[at] ^= (uint8_t)(1u << ((op >> 3) & 7));
        break;
    case 3: /* append a byte */
        ed[olen] = (uint8_t)where;
        elen = olen + 1;
        break;
    case 4: /* delete a byte */
        if (at == olen)
            at--;
        memmove(ed + at, ed + at + 1, olen - at - 1);
        elen = olen - 1;
        break;
    case 5: /* insert a byte */
        memmove(ed + at + 1, ed + at, olen - at);
        ed[at] = (uint8_t)(where >> 8);
        elen = olen + 1;
        break;
    default:
        edited = 0;
    }
    /* An insert/delete that leaves the bytes equal is no edit. */
    if (edited && elen == olen && memcmp(ed, obj, olen) == 0)
        edited = 0;
    outbuf out = {0};
    int rc = decrypt(ed, elen, ctl >> 1, v1 ? len + 1 : ((size_t)1 << 20),
                     &out);
    if (!edited) {
        if (rc != 0)
            BUG("an intact v%d object of %zu bytes failed: %d", v1 ? 1 : 2,
                len, rc);
        if (out.len != len || (len && memcmp(out.p, pt, len) != 0))
            BUG("an intact object decrypted to other bytes");
    } else {
        if (rc == 0)
            BUG("an edited object (edit %u at %zu) was accepted", op & 7,
                at);
        if (out.len > len || (out.len && memcmp(out.p, pt, out.len) != 0))
            BUG("an edited object released %zu bytes that are not a prefix "
                "of the plaintext (edit %u at %zu)", out.len, op & 7, at);
    }
    free(out.p);
    free(ed);
    free(obj);
    free(pt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    if (ctl & 1)
        roundtrip(data + 1, size - 1, ctl);
    else
        raw(data + 1, size - 1, ctl);
    return 0;
}
