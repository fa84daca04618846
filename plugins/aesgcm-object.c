/*
 * aesgcm-object.c - the aes-256-gcm format engine (see aesgcm-object.h and
 * doc/FORMAT.md, section 3).  OpenSSL 3 EVP throughout, so AES-NI/PCLMUL
 * (or the platform's equivalent) are used whenever the CPU has them.
 */
/* SHA256_Transform: the KDF's loop is two compressions an iteration
 * (aesgcm_pbkdf2_sha256); OpenSSL 3 keeps it, deprecated. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "aesgcm-object.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/sha.h>

/* ---- small helpers ------------------------------------------------------ */

/* The nonce of chunk n: the IV's first 4 bytes, then its last 8 bytes read
 * as a big-endian counter plus n.  Unsigned arithmetic wraps mod 2^64,
 * which is exactly the format's rule. */
static void chunk_nonce(const uint8_t iv[AESGCM_IV_LEN], uint64_t n,
                        uint8_t nonce[AESGCM_IV_LEN])
{
    uint64_t ctr = 0;
    for (int i = 4; i < AESGCM_IV_LEN; i++)
        ctr = ctr << 8 | iv[i];
    ctr += n;
    memcpy(nonce, iv, 4);
    for (int i = AESGCM_IV_LEN - 1; i >= 4; i--) {
        nonce[i] = (uint8_t)ctr;
        ctr >>= 8;
    }
}

/* EVP takes int lengths; feed larger spans in pieces. */
static int cipher_update(EVP_CIPHER_CTX *ctx, int enc, uint8_t *out,
                         const uint8_t *in, size_t len)
{
    while (len > 0) {
        int n = len > (size_t)(INT_MAX / 2) ? INT_MAX / 2 : (int)len;
        int outl = 0;
        int ok = enc ? EVP_EncryptUpdate(ctx, out, &outl, in, n)
                     : EVP_DecryptUpdate(ctx, out, &outl, in, n);
        /* GCM is a stream mode: every byte in gives a byte out. */
        if (!ok || outl != n)
            return AESGCM_E_CRYPTO;
        out += n;
        in += n;
        len -= (size_t)n;
    }
    return AESGCM_OK;
}

/* A GCM context with the key schedule set up once; each chunk then only
 * sets its nonce. */
static EVP_CIPHER_CTX *gcm_ctx_new(int enc, const uint8_t key[AESGCM_KEY_LEN])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return NULL;
    int ok = enc ? EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, NULL)
                 : EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, NULL);
    if (!ok) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static int gcm_set_nonce(EVP_CIPHER_CTX *ctx, int enc,
                         const uint8_t nonce[AESGCM_IV_LEN])
{
    int ok = enc ? EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce)
                 : EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce);
    return ok ? AESGCM_OK : AESGCM_E_CRYPTO;
}

/* Checks tag against what was decrypted since the nonce was set. */
static int gcm_verify(EVP_CIPHER_CTX *ctx, const uint8_t tag[AESGCM_TAG_LEN])
{
    uint8_t scratch[AESGCM_TAG_LEN];
    int outl = 0;
    if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AESGCM_TAG_LEN,
                             (void *)tag))
        return AESGCM_E_CRYPTO;
    return EVP_DecryptFinal_ex(ctx, scratch, &outl) > 0 ? AESGCM_OK
                                                        : AESGCM_E_AUTH;
}

/* ---- keys and header MAC ------------------------------------------------ */

/* The state words of c, big-endian: a digest, without the padding that
 * SHA256_Final would add. */
static void sha256_state_out(const SHA256_CTX *c, uint8_t out[32])
{
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->h[i];
    }
}

/* HMAC's inner and outer states after the padded key block: every
 * iteration starts from them. */
static void hmac_states(const void *pass, size_t pass_len, SHA256_CTX *in,
                        SHA256_CTX *out)
{
    uint8_t k[64] = {0}, pad[64];
    if (pass_len > sizeof k)
        SHA256(pass, pass_len, k);
    else if (pass_len)
        memcpy(k, pass, pass_len);
    for (size_t i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    SHA256_Init(in);
    SHA256_Update(in, pad, 64);
    for (size_t i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    SHA256_Init(out);
    SHA256_Update(out, pad, 64);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
}

/* OpenSSL's PKCS5_PBKDF2_HMAC copies (allocating) an HMAC context at
 * each iteration: 14 ms for 64,000.  Here U(j+1) = HMAC(P, U(j)) is two
 * compressions from the saved states, on one block that holds U (or the
 * inner hash) and the padding for 64 + 32 bytes, laid out once: 6.7 ms. */
int aesgcm_pbkdf2_sha256(const void *pass, size_t pass_len, const void *salt,
                         size_t salt_len, uint32_t iter, uint8_t out[32])
{
    if (iter == 0 || pass_len > INT_MAX || salt_len > INT_MAX)
        return AESGCM_E_LIMIT;
    static const uint8_t block_one[4] = {0, 0, 0, 1};
    SHA256_CTX in, outer, c;
    uint8_t u[32], blk[64] = {0};
    hmac_states(pass, pass_len, &in, &outer);
    c = in; /* U1 = HMAC(P, S || INT(1)) */
    SHA256_Update(&c, salt, salt_len);
    SHA256_Update(&c, block_one, sizeof block_one);
    SHA256_Final(u, &c);
    c = outer;
    SHA256_Update(&c, u, sizeof u);
    SHA256_Final(u, &c);
    memcpy(out, u, sizeof u);
    blk[32] = 0x80;
    blk[62] = 0x03; /* 768 bits: the key block and 32 bytes */
    for (uint32_t j = 1; j < iter; j++) {
        memcpy(blk, u, sizeof u);
        memcpy(c.h, in.h, sizeof c.h);
        SHA256_Transform(&c, blk);
        sha256_state_out(&c, blk);
        memcpy(c.h, outer.h, sizeof c.h);
        SHA256_Transform(&c, blk);
        sha256_state_out(&c, u);
        for (size_t i = 0; i < sizeof u; i++)
            out[i] ^= u[i];
    }
    OPENSSL_cleanse(&in, sizeof in);
    OPENSSL_cleanse(&outer, sizeof outer);
    OPENSSL_cleanse(&c, sizeof c);
    OPENSSL_cleanse(u, sizeof u);
    OPENSSL_cleanse(blk, sizeof blk);
    return AESGCM_OK;
}

int aesgcm_kdf(const void *pass, size_t pass_len,
               const uint8_t salt[AESGCM_SALT_LEN], uint32_t iter,
               uint8_t key[AESGCM_KEY_LEN])
{
    if (iter > INT_MAX)
        return AESGCM_E_LIMIT;
    return aesgcm_pbkdf2_sha256(pass, pass_len, salt, AESGCM_SALT_LEN, iter,
                                key);
}

int aesgcm_header_mac_key(const uint8_t key[AESGCM_KEY_LEN],
                          uint8_t mac_key[AESGCM_KEY_LEN])
{
    int rc = AESGCM_E_CRYPTO;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    if (kctx) {
        /* No salt parameter: RFC 5869 then uses HashLen zero bytes. */
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                             (char *)"SHA256", 0),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key,
                                              AESGCM_KEY_LEN),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                              (void *)AESGCM_HMAC_INFO,
                                              sizeof AESGCM_HMAC_INFO - 1),
            OSSL_PARAM_construct_end()};
        if (EVP_KDF_derive(kctx, mac_key, AESGCM_KEY_LEN, params) > 0)
            rc = AESGCM_OK;
    }
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rc;
}

int aesgcm_header_mac(const uint8_t mac_key[AESGCM_KEY_LEN],
                      const uint8_t *data, size_t len,
                      uint8_t mac[AESGCM_MAC_LEN])
{
    size_t outl = 0;
    static const uint8_t none[1];
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, mac_key, AESGCM_KEY_LEN,
                   len ? data : none, len, mac, AESGCM_MAC_LEN, &outl) ||
        outl != AESGCM_MAC_LEN)
        return AESGCM_E_CRYPTO;
    return AESGCM_OK;
}

/* ---- header parameters -------------------------------------------------- */

int aesgcm_parse_iter(const char *s, uint32_t min, uint32_t max, uint32_t *iter)
{
    /* Canonical decimal only, so one value has one spelling in a header;
     * more than 10 digits cannot fit in 32 bits anyway. */
    size_t n = strlen(s);
    if (n == 0 || n > 10 || (s[0] == '0' && n > 1))
        return AESGCM_E_FORMAT;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return AESGCM_E_FORMAT;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v < min || v > max)
        return AESGCM_E_LIMIT;
    *iter = (uint32_t)v;
    return AESGCM_OK;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* uppercase too: the header spelling is canonical */
}

int aesgcm_parse_salt(const char *s, uint8_t salt[AESGCM_SALT_LEN])
{
    if (strlen(s) != AESGCM_SALT_HEX_LEN)
        return AESGCM_E_FORMAT;
    for (size_t i = 0; i < AESGCM_SALT_LEN; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return AESGCM_E_FORMAT;
        salt[i] = (uint8_t)(hi << 4 | lo);
    }
    return AESGCM_OK;
}

void aesgcm_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* ---- the binding ------------------------------------------------------- */

/* binding = SHA-256(object header (20 bytes) || tag of chunk 0 || ... ||
 * tag of the final chunk), FORMAT.md 3.9: it covers what the tags
 * authenticate, so it binds the whole object for whoever lacks the key,
 * at the cost of hashing 16 bytes a chunk. */
static EVP_MD_CTX *bind_new(void)
{
    EVP_MD_CTX *b = EVP_MD_CTX_new();
    if (b && !EVP_DigestInit_ex(b, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(b);
        b = NULL;
    }
    return b;
}

static int bind_update(EVP_MD_CTX *b, const uint8_t *p, size_t n)
{
    return EVP_DigestUpdate(b, p, n) ? AESGCM_OK : AESGCM_E_CRYPTO;
}

/* The digest, once: a second call gets the one the first computed. */
static int bind_final(EVP_MD_CTX *b, uint8_t done[AESGCM_BINDING_LEN],
                      int *have, uint8_t out[AESGCM_BINDING_LEN])
{
    unsigned len = 0;
    if (!*have) {
        if (!EVP_DigestFinal_ex(b, done, &len) || len != AESGCM_BINDING_LEN)
            return AESGCM_E_CRYPTO;
        *have = 1;
    }
    memcpy(out, done, AESGCM_BINDING_LEN);
    return AESGCM_OK;
}

/* ---- encryption --------------------------------------------------------- */

struct aesgcm_enc {
    EVP_CIPHER_CTX *ctx;
    uint8_t iv[AESGCM_IV_LEN];
    uint64_t chunk; /* index of the chunk being written              */
    size_t fill;    /* plaintext bytes in it so far                  */
    int open;       /* its nonce is set                              */
    int finished;   /* the final (short) chunk has been sealed       */
    int failed;     /* OpenSSL failed: the object is unusable        */
    EVP_MD_CTX *bind; /* the binding so far (header, tags)           */
    uint8_t bound[AESGCM_BINDING_LEN];
    int have_bound;
};

aesgcm_enc *aesgcm_enc_new(const uint8_t key[AESGCM_KEY_LEN],
                           const uint8_t iv[AESGCM_IV_LEN])
{
    aesgcm_enc *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->ctx = gcm_ctx_new(1, key);
    e->bind = bind_new();
    memcpy(e->iv, iv, AESGCM_IV_LEN);
    uint8_t hdr[AESGCM_HEADER_LEN];
    aesgcm_enc_header(e, hdr);
    if (!e->ctx || !e->bind || bind_update(e->bind, hdr, sizeof hdr)) {
        aesgcm_enc_free(e);
        return NULL;
    }
    return e;
}

void aesgcm_enc_free(aesgcm_enc *e)
{
    if (!e)
        return;
    EVP_CIPHER_CTX_free(e->ctx); /* wipes the key schedule */
    EVP_MD_CTX_free(e->bind);
    OPENSSL_cleanse(e, sizeof *e);
    free(e);
}

void aesgcm_enc_header(const aesgcm_enc *e, uint8_t out[AESGCM_HEADER_LEN])
{
    memcpy(out, AESGCM_MAGIC, AESGCM_MAGIC_LEN);
    out[AESGCM_MAGIC_LEN] = AESGCM_VERSION_V2;
    memcpy(out + AESGCM_MAGIC_LEN + 1, e->iv, AESGCM_IV_LEN);
}

size_t aesgcm_enc_room(const aesgcm_enc *e)
{
    return e->finished || e->failed ? 0 : AESGCM_CHUNK - e->fill;
}

static int enc_open_chunk(aesgcm_enc *e)
{
    if (e->open)
        return AESGCM_OK;
    uint8_t nonce[AESGCM_IV_LEN];
    chunk_nonce(e->iv, e->chunk, nonce);
    if (gcm_set_nonce(e->ctx, 1, nonce) != AESGCM_OK)
        return AESGCM_E_CRYPTO;
    e->open = 1;
    return AESGCM_OK;
}

int aesgcm_enc_update(aesgcm_enc *e, const uint8_t *in, size_t len,
                      uint8_t *out)
{
    if (e->failed || e->finished || len > AESGCM_CHUNK - e->fill)
        return AESGCM_E_STATE;
    if (len == 0)
        return AESGCM_OK;
    if (enc_open_chunk(e) != AESGCM_OK ||
        cipher_update(e->ctx, 1, out, in, len) != AESGCM_OK) {
        e->failed = 1;
        return AESGCM_E_CRYPTO;
    }
    e->fill += len;
    return AESGCM_OK;
}

int aesgcm_enc_seal(aesgcm_enc *e, uint8_t tag[AESGCM_TAG_LEN])
{
    uint8_t scratch[AESGCM_TAG_LEN];
    int outl = 0;
    if (e->failed || e->finished)
        return AESGCM_E_STATE;
    /* A tag-only final chunk still needs its own nonce. */
    if (enc_open_chunk(e) != AESGCM_OK ||
        !EVP_EncryptFinal_ex(e->ctx, scratch, &outl) ||
        !EVP_CIPHER_CTX_ctrl(e->ctx, EVP_CTRL_GCM_GET_TAG, AESGCM_TAG_LEN,
                             tag) ||
        bind_update(e->bind, tag, AESGCM_TAG_LEN) != AESGCM_OK) {
        e->failed = 1;
        return AESGCM_E_CRYPTO;
    }
    if (e->fill < AESGCM_CHUNK)
        e->finished = 1;
    e->chunk++;
    e->fill = 0;
    e->open = 0;
    return AESGCM_OK;
}

int aesgcm_enc_chunk(aesgcm_enc *e, const uint8_t *in, size_t len, uint8_t *out)
{
    if (e->fill != 0)
        return AESGCM_E_STATE;
    int rc = aesgcm_enc_update(e, in, len, out);
    return rc == AESGCM_OK ? aesgcm_enc_seal(e, out + len) : rc;
}

int aesgcm_enc_binding(aesgcm_enc *e, uint8_t out[AESGCM_BINDING_LEN])
{
    if (e->failed || !e->finished)
        return AESGCM_E_STATE;
    return bind_final(e->bind, e->bound, &e->have_bound, out);
}

uint64_t aesgcm_object_size(uint64_t len)
{
    return AESGCM_HEADER_LEN + len + (len / AESGCM_CHUNK + 1) * AESGCM_TAG_LEN;
}

/* ---- decryption --------------------------------------------------------- */

enum dec_state {
    DEC_HEADER, /* gathering "encrypt" | version | IV        */
    DEC_V2,     /* streaming chunks                          */
    DEC_V1,     /* gathering the whole version-1 body        */
    DEC_V1_OUT, /* verified; handing the plaintext out       */
    DEC_DONE,
    DEC_FAILED
};

struct aesgcm_dec {
    EVP_CIPHER_CTX *ctx;
    enum dec_state state;
    int version;
    size_t v1_max;
    uint8_t hdr[AESGCM_HEADER_LEN];
    size_t hdr_len;
    uint8_t iv[AESGCM_IV_LEN];

    /* version 2: the chunk being read */
    uint64_t chunk;
    size_t ct; /* its ciphertext bytes decrypted into out so far  */
    int open;  /* its nonce is set                                */
    /* The latest <= 16 bytes seen: they may turn out to be the tag, so
     * they are held back from decryption until more input (or the end)
     * says what they are. */
    uint8_t hold[AESGCM_TAG_LEN];
    size_t hold_len;

    /* version 1: the body (ciphertext || tag), decrypted in place */
    uint8_t *body;
    size_t body_len, body_cap, body_out;

    int failed_rc;
    char msg[160];
    EVP_MD_CTX *bind; /* version 2: the binding so far (header, tags) */
    uint8_t bound[AESGCM_BINDING_LEN];
    int have_bound;
};

#if defined(__GNUC__)
#define AESGCM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define AESGCM_PRINTF(f, a)
#endif

static int dec_fail(aesgcm_dec *d, int rc, const char *fmt, ...)
    AESGCM_PRINTF(3, 4);
static int dec_fail(aesgcm_dec *d, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    d->state = DEC_FAILED;
    d->failed_rc = rc;
    return rc;
}

aesgcm_dec *aesgcm_dec_new(const uint8_t key[AESGCM_KEY_LEN], size_t v1_max)
{
    aesgcm_dec *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->ctx = gcm_ctx_new(0, key);
    d->bind = bind_new();
    if (!d->ctx || !d->bind) {
        aesgcm_dec_free(d);
        return NULL;
    }
    d->v1_max = v1_max;
    return d;
}

void aesgcm_dec_free(aesgcm_dec *d)
{
    if (!d)
        return;
    EVP_CIPHER_CTX_free(d->ctx);
    EVP_MD_CTX_free(d->bind);
    if (d->body) {
        /* It holds (partly) decrypted plaintext. */
        OPENSSL_cleanse(d->body, d->body_cap);
        free(d->body);
    }
    OPENSSL_cleanse(d, sizeof *d);
    free(d);
}

int aesgcm_dec_done(const aesgcm_dec *d)
{
    return d->state == DEC_DONE;
}

const char *aesgcm_dec_error(const aesgcm_dec *d)
{
    return d->msg;
}

int aesgcm_dec_binding(aesgcm_dec *d, uint8_t out[AESGCM_BINDING_LEN])
{
    if (d->state != DEC_DONE || d->version != AESGCM_VERSION_V2)
        return AESGCM_E_STATE;
    return bind_final(d->bind, d->bound, &d->have_bound, out);
}

int aesgcm_dec_version(const aesgcm_dec *d)
{
    return d->version;
}

static int fail_crypto(aesgcm_dec *d)
{
    return dec_fail(d, AESGCM_E_CRYPTO, "OpenSSL failed unexpectedly");
}

static int fail_truncated(aesgcm_dec *d)
{
    return dec_fail(d, AESGCM_E_FORMAT,
                    "truncated: stream ends before the final chunk");
}

/* Takes object-header bytes; moves to DEC_V1/DEC_V2 once all are in. */
static int header_update(aesgcm_dec *d, const uint8_t *in, size_t len,
                         size_t *used)
{
    size_t n = AESGCM_HEADER_LEN - d->hdr_len;
    if (n > len)
        n = len;
    memcpy(d->hdr + d->hdr_len, in, n);
    d->hdr_len += n;
    *used = n;
    /* Reject foreign data as soon as the magic cannot match. */
    size_t m = d->hdr_len < AESGCM_MAGIC_LEN ? d->hdr_len : AESGCM_MAGIC_LEN;
    if (memcmp(d->hdr, AESGCM_MAGIC, m) != 0)
        return dec_fail(d, AESGCM_E_FORMAT,
                        "not an encrypted object (bad magic)");
    if (d->hdr_len < AESGCM_HEADER_LEN)
        return AESGCM_OK;
    unsigned v = d->hdr[AESGCM_MAGIC_LEN];
    memcpy(d->iv, d->hdr + AESGCM_MAGIC_LEN + 1, AESGCM_IV_LEN);
    if (v == AESGCM_VERSION_V2) {
        d->state = DEC_V2;
        if (bind_update(d->bind, d->hdr, AESGCM_HEADER_LEN) != AESGCM_OK)
            return fail_crypto(d);
    } else if (v == AESGCM_VERSION_V1) {
        d->state = DEC_V1;
    } else {
        /* Nothing newer than 2 exists, so this is damage, not a future
         * format. */
        return dec_fail(d, AESGCM_E_FORMAT, "unknown object version %u", v);
    }
    d->version = (int)v;
    return AESGCM_OK;
}

static int v2_open_chunk(aesgcm_dec *d)
{
    if (d->open)
        return AESGCM_OK;
    uint8_t nonce[AESGCM_IV_LEN];
    chunk_nonce(d->iv, d->chunk, nonce);
    if (gcm_set_nonce(d->ctx, 0, nonce) != AESGCM_OK)
        return AESGCM_E_CRYPTO;
    d->open = 1;
    return AESGCM_OK;
}

/* Decrypts in[0..len) into out at the current chunk position. */
static int v2_decrypt(aesgcm_dec *d, const uint8_t *in, size_t len,
                      uint8_t *out)
{
    if (len == 0)
        return AESGCM_OK;
    if (v2_open_chunk(d) != AESGCM_OK ||
        cipher_update(d->ctx, 0, out + d->ct, in, len) != AESGCM_OK)
        return AESGCM_E_CRYPTO;
    d->ct += len;
    return AESGCM_OK;
}

/* Verifies the current chunk against tag; on success its out[0..ct) is
 * released as *ready and the next chunk begins. */
static int v2_close_chunk(aesgcm_dec *d, const uint8_t tag[AESGCM_TAG_LEN],
                          uint8_t *out, size_t *ready)
{
    int rc = v2_open_chunk(d); /* a tag-only chunk was never opened */
    if (rc == AESGCM_OK)
        rc = gcm_verify(d->ctx, tag);
    if (rc != AESGCM_OK) {
        /* Never leave unauthenticated plaintext lying in the caller's
         * (output) buffer. */
        OPENSSL_cleanse(out, d->ct);
        if (rc == AESGCM_E_AUTH)
            /* The first chunk is where a wrong key shows when no header
             * MAC caught it (decrypt-object). */
            return dec_fail(d, AESGCM_E_AUTH,
                            "chunk %llu failed authentication: %s",
                            (unsigned long long)d->chunk,
                            d->chunk == 0
                                ? "wrong passphrase, or data corrupt or "
                                  "tampered"
                                : "data corrupt or tampered");
        return fail_crypto(d);
    }
    if (bind_update(d->bind, tag, AESGCM_TAG_LEN) != AESGCM_OK) {
        OPENSSL_cleanse(out, d->ct);
        return fail_crypto(d);
    }
    *ready = d->ct;
    d->chunk++;
    d->ct = 0;
    d->open = 0;
    return AESGCM_READY;
}

/* Pending input = hold[0..hold_len) followed by in[0..len).  Everything
 * but its last 16 bytes is ciphertext of the current chunk (up to the
 * chunk size); once a chunk has its full 65,536 ciphertext bytes, the
 * next 16 are its tag.  Whatever is left (never more than 16 bytes) is
 * held back for the next call. */
static int v2_update(aesgcm_dec *d, const uint8_t *in, size_t len, size_t *used,
                     uint8_t *out, size_t *ready)
{
    size_t pos = 0;
    size_t pending = d->hold_len + len;
    size_t room = AESGCM_CHUNK - d->ct;
    if (pending > AESGCM_TAG_LEN && room > 0) {
        size_t n = pending - AESGCM_TAG_LEN;
        if (n > room)
            n = room;
        size_t from_hold = n < d->hold_len ? n : d->hold_len;
        if (v2_decrypt(d, d->hold, from_hold, out) != AESGCM_OK ||
            v2_decrypt(d, in, n - from_hold, out) != AESGCM_OK) {
            OPENSSL_cleanse(out, d->ct);
            return fail_crypto(d);
        }
        memmove(d->hold, d->hold + from_hold, d->hold_len - from_hold);
        d->hold_len -= from_hold;
        pos = n - from_hold;
    }
    if (d->ct == AESGCM_CHUNK && d->hold_len + (len - pos) >= AESGCM_TAG_LEN) {
        uint8_t tag[AESGCM_TAG_LEN];
        size_t t = AESGCM_TAG_LEN - d->hold_len;
        memcpy(tag, d->hold, d->hold_len);
        memcpy(tag + d->hold_len, in + pos, t);
        d->hold_len = 0;
        *used = pos + t;
        return v2_close_chunk(d, tag, out, ready);
    }
    memcpy(d->hold + d->hold_len, in + pos, len - pos);
    d->hold_len += len - pos;
    *used = len;
    return AESGCM_OK;
}

/* Gathers the version-1 body, refusing to grow past the cap. */
static int v1_update(aesgcm_dec *d, const uint8_t *in, size_t len)
{
    size_t limit = d->v1_max + AESGCM_TAG_LEN;
    /* Nothing to gather (the header ended exactly at the end of this
     * update): d->body may still be NULL, and NULL + 0 or memcpy(NULL,
     * .., 0) is undefined. */
    if (len == 0)
        return AESGCM_OK;
    int in_mib = d->v1_max >= (1u << 20) && d->v1_max % (1u << 20) == 0;
    if (len > limit - d->body_len)
        return dec_fail(d, AESGCM_E_LIMIT,
                        "version-1 object holds more than %zu %s of data: "
                        "too large to decrypt (version 1 must be held in "
                        "memory)",
                        in_mib ? d->v1_max >> 20 : d->v1_max,
                        in_mib ? "MiB" : "bytes");
    if (d->body_len + len > d->body_cap) {
        size_t cap = d->body_cap ? d->body_cap : 64 * 1024;
        while (cap < d->body_len + len)
            cap = cap > limit / 2 ? limit : cap * 2;
        uint8_t *p = malloc(cap);
        if (!p)
            return dec_fail(d, AESGCM_E_NOMEM, "out of memory");
        /* Not realloc: the old buffer is wiped before it is let go. */
        if (d->body) {
            memcpy(p, d->body, d->body_len);
            OPENSSL_cleanse(d->body, d->body_cap);
            free(d->body);
        }
        d->body = p;
        d->body_cap = cap;
    }
    memcpy(d->body + d->body_len, in, len);
    d->body_len += len;
    return AESGCM_OK;
}

int aesgcm_dec_update(aesgcm_dec *d, const uint8_t *in, size_t len,
                      size_t *used, uint8_t *out, size_t *ready)
{
    size_t pos = 0;
    *used = 0;
    *ready = 0;
    if (d->state == DEC_FAILED)
        return d->failed_rc;
    if (len == 0)
        return AESGCM_OK;
    if (d->state == DEC_HEADER) {
        int rc = header_update(d, in, len, &pos);
        *used = pos;
        if (rc < 0 || d->state == DEC_HEADER)
            return rc;
    }
    switch (d->state) {
    case DEC_V2: {
        size_t n = 0;
        int rc = v2_update(d, in + pos, len - pos, &n, out, ready);
        *used = pos + n;
        return rc;
    }
    case DEC_V1: {
        int rc = v1_update(d, in + pos, len - pos);
        if (rc == AESGCM_OK)
            *used = len;
        return rc;
    }
    case DEC_DONE:
    case DEC_V1_OUT:
        if (len == pos)
            return AESGCM_OK;
        return dec_fail(d, AESGCM_E_FORMAT,
                        "trailing data after the final chunk");
    default:
        return dec_fail(d, AESGCM_E_STATE, "decoder used after end");
    }
}

static int v2_finish(aesgcm_dec *d, uint8_t *out, size_t *ready)
{
    /* The final chunk is short and complete (at least a tag).  A chunk
     * holding a full 65,536 ciphertext bytes is never final, so ending
     * right after one - or anywhere inside the tag - is truncation. */
    if (d->ct == AESGCM_CHUNK || d->hold_len < AESGCM_TAG_LEN) {
        OPENSSL_cleanse(out, d->ct);
        return fail_truncated(d);
    }
    int rc = v2_close_chunk(d, d->hold, out, ready);
    d->hold_len = 0;
    if (rc == AESGCM_READY)
        d->state = DEC_DONE;
    return rc;
}

static int v1_verify(aesgcm_dec *d)
{
    if (d->body_len < AESGCM_TAG_LEN)
        return dec_fail(d, AESGCM_E_FORMAT,
                        "truncated: version-1 object shorter than its tag");
    size_t n = d->body_len - AESGCM_TAG_LEN;
    if (gcm_set_nonce(d->ctx, 0, d->iv) != AESGCM_OK ||
        cipher_update(d->ctx, 0, d->body, d->body, n) != AESGCM_OK)
        return fail_crypto(d);
    int rc = gcm_verify(d->ctx, d->body + n);
    if (rc != AESGCM_OK) {
        OPENSSL_cleanse(d->body, d->body_cap);
        if (rc == AESGCM_E_AUTH)
            return dec_fail(d, AESGCM_E_AUTH,
                            "version-1 object failed authentication: "
                            "wrong passphrase, or data corrupt or "
                            "tampered");
        return fail_crypto(d);
    }
    d->body_len = n; /* the tag is spent; what is left is plaintext */
    d->body_out = 0;
    d->state = DEC_V1_OUT;
    return AESGCM_OK;
}

/* Hands the verified version-1 plaintext out one chunk-sized piece at a
 * time (the caller's buffer is AESGCM_CHUNK bytes). */
static int v1_drain(aesgcm_dec *d, uint8_t *out, size_t *ready)
{
    size_t n = d->body_len - d->body_out;
    if (n > AESGCM_CHUNK)
        n = AESGCM_CHUNK;
    memcpy(out, d->body + d->body_out, n);
    d->body_out += n;
    *ready = n;
    if (d->body_out == d->body_len)
        d->state = DEC_DONE;
    return AESGCM_READY;
}

int aesgcm_dec_finish(aesgcm_dec *d, uint8_t *out, size_t *ready)
{
    *ready = 0;
    switch (d->state) {
    case DEC_FAILED:
        return d->failed_rc;
    case DEC_HEADER:
        return dec_fail(d, AESGCM_E_FORMAT,
                        d->hdr_len ? "truncated: stream ends inside the "
                                     "object header"
                                   : "truncated: no encrypted object");
    case DEC_V2:
        return v2_finish(d, out, ready);
    case DEC_V1: {
        int rc = v1_verify(d);
        return rc < 0 ? rc : v1_drain(d, out, ready);
    }
    case DEC_V1_OUT:
        return v1_drain(d, out, ready);
    default:
        return dec_fail(d, AESGCM_E_STATE, "decoder used after end");
    }
}
