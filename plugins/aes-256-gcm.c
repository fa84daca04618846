/*
 * aes-256-gcm.c - the aes-256-gcm stage: passphrase-based encryption and
 * authentication of the stream (doc/FORMAT.md, section 3).
 *
 * Forward (backup) encrypts the whole stream body into one chunked
 * AES-256-GCM object; reverse (restore) decrypts it, releasing each chunk
 * only once its tag has verified.  The stage also authenticates the
 * stream header (SLUICE_STAGE_HEADER_MAC), so a restore with the wrong
 * passphrase or an edited header fails before any data flows.
 *
 * This file is only the glue to the host; the format itself lives in
 * aesgcm-object.c, which has no host dependency and is unit-tested
 * against known-answer vectors (t/unit-aes-vectors.c).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <sluice/plugin.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "aesgcm-encinfo.h"
#include "aesgcm-object.h"

#if AESGCM_BINDING_LEN != SLUICE_BINDING_LEN
#error "the binding's length is the ABI's"
#endif

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

/* Longest passphrase accepted, in bytes. */
#define PASSPHRASE_MAX 1024

typedef struct aes_stage {
    const sluice_api *api;
    sluice_host *host;
    int direction;
    uint8_t key[AESGCM_KEY_LEN];     /* AES-256 key, from the passphrase */
    uint8_t mac_key[AESGCM_KEY_LEN]; /* header MAC key, from key          */
    /* Reverse: the derivation, charged and checked at open(), is done
     * when the key is first needed (header_mac or run), so a header
     * asking for too much work in all is refused before any is done. */
    int pending;
    uint8_t salt[AESGCM_SALT_LEN];
    uint32_t iter;
    /* ABI 1.4: the object's binding, once run() moved all of it. */
    uint8_t bound[AESGCM_BINDING_LEN];
    int have_bound;
} aes_stage;

/* ---- open: parameters --------------------------------------------------- */

/* Forward: the only knob is iter, and it may only be raised - the salt is
 * always fresh and the KDF fixed, so neither is a parameter. */
/* Forward parameters: iter, and salt for a caller that encrypts several
 * objects under one key (a backup collection: one salt per collection,
 * a fresh IV per object).  Without salt, a random one is drawn. */
static int forward_params(const sluice_stage_args *a, uint32_t *iter,
                          uint8_t salt[AESGCM_SALT_LEN], int *have_salt,
                          sluice_error *err)
{
    int seen = 0;
    *iter = AESGCM_ITER_DEFAULT;
    *have_salt = 0;
    for (size_t i = 0; i < a->n_params; i++) {
        const char *k = a->params[i].key, *v = a->params[i].value;
        if (strcmp(k, "salt") == 0) {
            if (*have_salt || aesgcm_parse_salt(v, salt) != AESGCM_OK)
                return sluice_error_set(err, SLUICE_E_USAGE,
                                        "salt must be given once, as 32 "
                                        "lowercase hex digits");
            *have_salt = 1;
            continue;
        }
        if (strcmp(k, "iter") != 0)
            return sluice_error_set(err, SLUICE_E_USAGE,
                                    "unknown parameter '%.64s': "
                                    "aes-256-gcm takes iter=N and salt=HEX",
                                    k);
        if (seen++)
            return sluice_error_set(err, SLUICE_E_USAGE,
                                    "iter given more than once");
        int rc =
            aesgcm_parse_iter(v, AESGCM_ITER_DEFAULT, AESGCM_ITER_MAX, iter);
        if (rc == AESGCM_E_FORMAT)
            return sluice_error_set(err, SLUICE_E_USAGE,
                                    "iter=%.40s: not a decimal number", v);
        if (rc != AESGCM_OK)
            return sluice_error_set(err, SLUICE_E_USAGE,
                                    "iter=%.40s: must be between %u and %u", v,
                                    AESGCM_ITER_DEFAULT, AESGCM_ITER_MAX);
    }
    return 0;
}

/* Stores the value of header parameter k into the slot it belongs to. */
static int take_header_param(const char *k, const char *v, const char **kdf,
                             const char **iter, const char **salt,
                             sluice_error *err)
{
    const char **slot = strcmp(k, "kdf") == 0    ? kdf
                        : strcmp(k, "iter") == 0 ? iter
                        : strcmp(k, "salt") == 0 ? salt
                                                 : NULL;
    if (!slot) /* the stream's content is bad (or from a newer sluice) */
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "unknown header parameter '%.64s'", k);
    if (*slot)
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "header parameter '%.64s' appears twice", k);
    *slot = v;
    return 0;
}

/* Reverse: the header is not authenticated yet (its MAC needs the key
 * derived from these very values), so treat every value as hostile. */
static int reverse_params(const sluice_stage_args *a, uint32_t *iter,
                          uint8_t salt[AESGCM_SALT_LEN], sluice_error *err)
{
    const char *kdf = NULL, *it = NULL, *sa = NULL;
    for (size_t i = 0; i < a->n_params; i++) {
        int rc = take_header_param(a->params[i].key, a->params[i].value, &kdf,
                                   &it, &sa, err);
        if (rc < 0)
            return rc;
    }
    /* A bare object of the reference system: its salt is in the
     * ENCRYPTION-INFO file beside it, not in a header. */
    const char *ei =
        sluice_kv_get(a->options, a->n_options, "encryption-info");
    if (ei && sa)
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "give the salt or encryption-info=, not "
                                "both");
    if (ei && kdf && it) {
        int rc = encinfo_read_file(ei, salt, err);
        if (rc < 0)
            return rc;
        sa = "";
    }
    if (!kdf || !it || !sa)
        return sluice_error_set(err, SLUICE_E_FORMAT, "header lacks %s=",
                                !kdf  ? "kdf"
                                : !it ? "iter"
                                      : "salt");
    /* An unknown kdf is a header no sluice writes: corrupt input. */
    if (strcmp(kdf, AESGCM_KDF_NAME) != 0)
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "unknown kdf '%.40s': only %s is supported",
                                kdf, AESGCM_KDF_NAME);
    int rc = aesgcm_parse_iter(it, AESGCM_ITER_MIN, AESGCM_ITER_MAX, iter);
    if (rc == AESGCM_E_FORMAT)
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "iter=%.40s: not a decimal number", it);
    if (rc != AESGCM_OK)
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "iter=%.40s: outside the accepted range "
                                "[%u, %u]",
                                it, AESGCM_ITER_MIN, AESGCM_ITER_MAX);
    if (!ei && aesgcm_parse_salt(sa, salt) != AESGCM_OK)
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "salt=%.40s: not %d lowercase hex digits", sa,
                                AESGCM_SALT_HEX_LEN);
    return 0;
}

/* ---- open: keys --------------------------------------------------------- */

/* Whether the host's table has the ABI 1.2 services (secret cache,
 * budget).  A plugin built for 1.2 loads only in a 1.2 host, but the
 * table is what says so. */
static int host_has_v12(const sluice_api *api)
{
    return api->struct_size >= offsetof(sluice_api, charge) + sizeof api->charge;
}

/* What the key depends on besides the passphrase: the cache's id. */
static size_t key_id(const uint8_t salt[AESGCM_SALT_LEN], uint32_t iter,
                     uint8_t id[SLUICE_SECRET_MAX])
{
    size_t n = sizeof AESGCM_KDF_NAME; /* with its NUL */
    memcpy(id, AESGCM_KDF_NAME, n);
    for (int i = 3; i >= 0; i--)
        id[n++] = (uint8_t)(iter >> (8 * i));
    memcpy(id + n, salt, AESGCM_SALT_LEN);
    return n + AESGCM_SALT_LEN;
}

/* Fetches the passphrase into pass[PASSPHRASE_MAX + 1] (the host adds a
 * NUL); *len its length. */
static int get_passphrase(aes_stage *st, unsigned flags, char *pass,
                          size_t *len, sluice_error *err)
{
    int rc = st->api->passphrase(st->host, flags, pass, PASSPHRASE_MAX + 1, len,
                                 err);
    if (rc < 0) {
        if (err && !err->message[0])
            sluice_error_set(err, rc, "cannot get the passphrase");
        return rc;
    }
    if (*len == 0 || *len > PASSPHRASE_MAX)
        return sluice_error_set(err, *len ? SLUICE_E_INTERNAL : SLUICE_E_USAGE,
                                *len ? "passphrase length out of range"
                                     : "empty passphrase");
    return 0;
}

/* Runs PBKDF2 for (st->salt, st->iter) into st->key and caches the key
 * for the session; the passphrase never outlives this function. */
static int run_kdf(aes_stage *st, unsigned pass_flags, sluice_error *err)
{
    char pass[PASSPHRASE_MAX + 1]; /* the host adds a NUL */
    size_t len = 0;
    int rc = get_passphrase(st, pass_flags, pass, &len, err);
    if (rc == 0 && aesgcm_kdf(pass, len, st->salt, st->iter, st->key) !=
                       AESGCM_OK)
        rc = sluice_error_set(err, SLUICE_E_INTERNAL,
                              "key derivation failed (OpenSSL)");
    OPENSSL_cleanse(pass, sizeof pass);
    if (rc < 0)
        return rc;
    /* Counted by tests: one line per PBKDF2 actually run. */
    st->api->log(st->host, SLUICE_LOG_DEBUG, "key derived (%s, %u iterations)",
                 AESGCM_KDF_NAME, st->iter);
    if (host_has_v12(st->api)) { /* a full cache: derive again next time */
        uint8_t id[SLUICE_SECRET_MAX];
        size_t id_len = key_id(st->salt, st->iter, id);
        (void)st->api->secret_put(st->host, id, id_len, st->key,
                                  sizeof st->key);
    }
    if (aesgcm_header_mac_key(st->key, st->mac_key) != AESGCM_OK)
        return sluice_error_set(err, SLUICE_E_INTERNAL,
                                "key derivation failed (OpenSSL)");
    return 0;
}

/* Both keys for (salt, iter): from the session's cache when this session
 * derived them already (a collection opens one stage per object), else
 * by PBKDF2 - charged to the run's budget first.  lazy (restore): only
 * charge and make sure there is a passphrase now (prompting here, not
 * on a run thread); ensure_key derives when the key is needed. */
static int derive_keys(aes_stage *st, unsigned pass_flags,
                       const uint8_t salt[AESGCM_SALT_LEN], uint32_t iter,
                       int lazy, sluice_error *err)
{
    memcpy(st->salt, salt, AESGCM_SALT_LEN);
    st->iter = iter;
    if (host_has_v12(st->api)) {
        uint8_t id[SLUICE_SECRET_MAX];
        size_t id_len = key_id(salt, iter, id);
        if (st->api->secret_get(st->host, id, id_len, st->key,
                                sizeof st->key) == 1)
            return aesgcm_header_mac_key(st->key, st->mac_key) == AESGCM_OK
                       ? 0
                       : sluice_error_set(err, SLUICE_E_INTERNAL,
                                          "key derivation failed (OpenSSL)");
        int rc = st->api->charge(st->host, SLUICE_RESOURCE_KDF_ITER, iter,
                                 err);
        if (rc < 0)
            return rc;
    }
    if (!lazy)
        return run_kdf(st, pass_flags, err);
    char pass[PASSPHRASE_MAX + 1]; /* the host adds a NUL */
    size_t len = 0;
    int rc = get_passphrase(st, pass_flags, pass, &len, err);
    OPENSSL_cleanse(pass, sizeof pass);
    st->pending = rc == 0;
    return rc;
}

static int ensure_key(aes_stage *st, sluice_error *err)
{
    if (!st->pending)
        return 0;
    st->pending = 0;
    return run_kdf(st, 0, err);
}

/* Forward: the header line gets kdf, iter and salt, in that order. */
static int record_params(aes_stage *st, uint32_t iter,
                         const uint8_t salt[AESGCM_SALT_LEN], sluice_error *err)
{
    char iter_s[16], salt_s[AESGCM_SALT_HEX_LEN + 1];
    snprintf(iter_s, sizeof iter_s, "%u", iter);
    aesgcm_hex(salt, AESGCM_SALT_LEN, salt_s);
    const char *kv[3][2] = {
        {"kdf", AESGCM_KDF_NAME}, {"iter", iter_s}, {"salt", salt_s}};
    for (size_t i = 0; i < 3; i++) {
        int rc = st->api->record(st->host, kv[i][0], kv[i][1]);
        if (rc < 0)
            return sluice_error_set(
                err, rc, "cannot record header parameter %s", kv[i][0]);
    }
    return 0;
}

static int open_forward(aes_stage *st, const sluice_stage_args *a,
                        sluice_error *err)
{
    uint32_t iter;
    uint8_t salt[AESGCM_SALT_LEN];
    int have_salt;
    /* Check parameters before prompting: a typo should not cost the user
     * typing the passphrase twice. */
    int rc = forward_params(a, &iter, salt, &have_salt, err);
    if (rc < 0)
        return rc;
    if (!have_salt && RAND_bytes(salt, sizeof salt) != 1)
        return sluice_error_set(err, SLUICE_E_INTERNAL,
                                "no random bytes for the salt (OpenSSL)");
    rc = derive_keys(st, SLUICE_PASSPHRASE_CONFIRM, salt, iter, 0, err);
    if (rc < 0)
        return rc;
    return record_params(st, iter, salt, err);
}

static int open_reverse(aes_stage *st, const sluice_stage_args *a,
                        sluice_error *err)
{
    uint32_t iter;
    uint8_t salt[AESGCM_SALT_LEN];
    int rc = reverse_params(a, &iter, salt, err);
    if (rc < 0)
        return rc;
    return derive_keys(st, 0, salt, iter, 1, err);
}

/* The host tables must be recent enough to hold every entry we call. */
static int host_usable(const sluice_stage_args *a)
{
    return a->struct_size >=
               offsetof(sluice_stage_args, host) + sizeof a->host &&
           a->api &&
           a->api->struct_size >=
               offsetof(sluice_api, record) + sizeof a->api->record;
}

static void aes_close(void *ctx)
{
    aes_stage *st = ctx;
    if (!st)
        return;
    OPENSSL_cleanse(st, sizeof *st);
    free(st);
}

static int aes_open(const sluice_stage_args *args, void **ctx,
                    sluice_error *err)
{
    if (!host_usable(args))
        return sluice_error_set(err, SLUICE_E_INTERNAL,
                                "host ABI tables too old for this stage");
    if (args->role != SLUICE_ROLE_TRANSFORM)
        return sluice_error_set(err, SLUICE_E_USAGE,
                                "can only be used as a transform");
    aes_stage *st = calloc(1, sizeof *st);
    if (!st)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    st->api = args->api;
    st->host = args->host;
    st->direction = args->direction;
    int rc = args->direction == SLUICE_FORWARD ? open_forward(st, args, err)
             : args->direction == SLUICE_REVERSE
                 ? open_reverse(st, args, err)
                 : sluice_error_set(err, SLUICE_E_INTERNAL,
                                    "unknown direction %d", args->direction);
    if (rc < 0) {
        aes_close(st);
        return rc;
    }
    *ctx = st;
    return 0;
}

/* ---- header MAC --------------------------------------------------------- */

static int aes_header_mac(void *ctx, const uint8_t *header, size_t len,
                          uint8_t *mac, size_t *mac_len, sluice_error *err)
{
    aes_stage *st = ctx;
    int rc = ensure_key(st, err);
    if (rc < 0)
        return rc;
    if (aesgcm_header_mac(st->mac_key, header, len, mac) != AESGCM_OK)
        return sluice_error_set(err, SLUICE_E_INTERNAL,
                                "cannot compute the header MAC (OpenSSL)");
    *mac_len = AESGCM_MAC_LEN;
    return 0;
}

/* ---- run: shared -------------------------------------------------------- */

/* A failed host call: cancellation passes through silently, as the ABI
 * asks; anything else gets a message naming what failed. */
static int host_failed(sluice_error *err, ptrdiff_t rc, const char *what)
{
    if (rc == SLUICE_E_CANCELED)
        return SLUICE_E_CANCELED;
    return sluice_error_set(err, rc < 0 ? (int)rc : SLUICE_E_INTERNAL,
                            "%s failed", what);
}

/* ---- run: encrypt ------------------------------------------------------- */

/* Encrypts in[0..len) (all within the current chunk) straight into the
 * output blocks, as much per block as fits, so output blocks are filled
 * completely and no byte is copied on the way. */
static int emit_ciphertext(aes_stage *st, aesgcm_enc *e, sluice_output *out,
                           const uint8_t *in, size_t len, sluice_error *err)
{
    while (len > 0) {
        size_t avail = 0;
        uint8_t *dst = st->api->reserve(out, 1, &avail);
        if (!dst)
            return SLUICE_E_CANCELED;
        size_t n = len < avail ? len : avail;
        if (aesgcm_enc_update(e, in, n, dst) != AESGCM_OK)
            return sluice_error_set(err, SLUICE_E_INTERNAL,
                                    "encryption failed (OpenSSL)");
        int rc = st->api->commit(out, n);
        if (rc < 0)
            return host_failed(err, rc, "writing output");
        in += n;
        len -= n;
    }
    return 0;
}

/* Ends the current chunk: its 16-byte tag follows its ciphertext. */
static int emit_tag(aes_stage *st, aesgcm_enc *e, sluice_output *out,
                    sluice_error *err)
{
    uint8_t tag[AESGCM_TAG_LEN];
    if (aesgcm_enc_seal(e, tag) != AESGCM_OK)
        return sluice_error_set(err, SLUICE_E_INTERNAL,
                                "encryption failed (OpenSSL)");
    int rc = st->api->write(out, tag, sizeof tag);
    return rc < 0 ? host_failed(err, rc, "writing output") : 0;
}

/* Cuts a span of input into chunks; a chunk may span input blocks. */
static int encrypt_span(aes_stage *st, aesgcm_enc *e, sluice_output *out,
                        const uint8_t *p, size_t len, sluice_error *err)
{
    while (len > 0) {
        size_t room = aesgcm_enc_room(e);
        size_t n = len < room ? len : room;
        int rc = emit_ciphertext(st, e, out, p, n, err);
        if (rc == 0 && n == room) /* chunk full: seal it, start the next */
            rc = emit_tag(st, e, out, err);
        if (rc < 0)
            return rc;
        p += n;
        len -= n;
    }
    return 0;
}

static int encrypt_stream(aes_stage *st, aesgcm_enc *e, sluice_input *in,
                          sluice_output *out, sluice_error *err)
{
    uint8_t hdr[AESGCM_HEADER_LEN];
    aesgcm_enc_header(e, hdr);
    int rc = st->api->write(out, hdr, sizeof hdr);
    if (rc < 0)
        return host_failed(err, rc, "writing output");
    for (;;) {
        const uint8_t *p;
        ptrdiff_t n = st->api->read_next(in, &p);
        if (n < 0)
            return host_failed(err, n, "reading input");
        if (n == 0)
            break;
        rc = encrypt_span(st, e, out, p, (size_t)n, err);
        if (rc < 0)
            return rc;
    }
    /* The final chunk is always short - empty if the plaintext filled
     * the last chunk exactly - so a reader can tell the end from a cut. */
    return emit_tag(st, e, out, err);
}

static int encrypt_run(aes_stage *st, sluice_input *in, sluice_output *out,
                       sluice_error *err)
{
    uint8_t iv[AESGCM_IV_LEN];
    if (RAND_bytes(iv, sizeof iv) != 1)
        return sluice_error_set(err, SLUICE_E_INTERNAL,
                                "no random bytes for the IV (OpenSSL)");
    aesgcm_enc *e = aesgcm_enc_new(st->key, iv);
    if (!e)
        return sluice_error_set(err, SLUICE_E_NOMEM,
                                "cannot set up the cipher (OpenSSL)");
    int rc = encrypt_stream(st, e, in, out, err);
    if (rc == 0 && aesgcm_enc_binding(e, st->bound) == AESGCM_OK)
        st->have_bound = 1;
    aesgcm_enc_free(e);
    return rc;
}

/* ---- run: decrypt ------------------------------------------------------- */

static int decoder_failed(const aesgcm_dec *d, int rc, sluice_error *err)
{
    int code = rc == AESGCM_E_FORMAT  ? SLUICE_E_FORMAT
               : rc == AESGCM_E_AUTH  ? SLUICE_E_AUTH
               : rc == AESGCM_E_LIMIT ? SLUICE_E_UNSUPPORTED
               : rc == AESGCM_E_NOMEM ? SLUICE_E_NOMEM
                                      : SLUICE_E_INTERNAL;
    return sluice_error_set(err, code, "%s", aesgcm_dec_error(d));
}

/* The decryptor writes a chunk's plaintext into a reserved (not yet
 * committed) stretch of the output block; it becomes output only when
 * committed here, after its tag verified.  So plaintext is never copied,
 * and never released unauthenticated. */
typedef struct dec_run {
    aes_stage *st;
    aesgcm_dec *d;
    sluice_output *out;
    uint8_t *dst; /* the reservation for the current chunk, or NULL */
    int logged_v1;
} dec_run;

static int dec_reserve(dec_run *r)
{
    if (r->dst)
        return 0;
    size_t avail = 0;
    r->dst = r->st->api->reserve(r->out, AESGCM_CHUNK, &avail);
    return r->dst ? 0 : SLUICE_E_CANCELED;
}

static int dec_release(dec_run *r, size_t ready, sluice_error *err)
{
    r->dst = NULL;
    int rc = r->st->api->commit(r->out, ready);
    return rc < 0 ? host_failed(err, rc, "writing output") : 0;
}

static int decrypt_span(dec_run *r, const uint8_t *p, size_t len,
                        sluice_error *err)
{
    while (len > 0) {
        size_t used = 0, ready = 0;
        int rc = dec_reserve(r);
        if (rc < 0)
            return rc;
        rc = aesgcm_dec_update(r->d, p, len, &used, r->dst, &ready);
        if (rc < 0)
            return decoder_failed(r->d, rc, err);
        if (!r->logged_v1 && aesgcm_dec_version(r->d) == AESGCM_VERSION_V1) {
            r->st->api->log(r->st->host, SLUICE_LOG_INFO,
                            "version-1 object: decrypting in memory (at "
                            "most %zu MiB)",
                            AESGCM_V1_MAX >> 20);
            r->logged_v1 = 1;
        }
        if (rc == AESGCM_READY && (rc = dec_release(r, ready, err)) < 0)
            return rc;
        p += used;
        len -= used;
    }
    return 0;
}

static int decrypt_stream(dec_run *r, sluice_input *in, sluice_error *err)
{
    for (;;) {
        const uint8_t *p;
        ptrdiff_t n = r->st->api->read_next(in, &p);
        if (n < 0)
            return host_failed(err, n, "reading input");
        if (n == 0)
            break;
        int rc = decrypt_span(r, p, (size_t)n, err);
        if (rc < 0)
            return rc;
    }
    /* End of input: the held-back tail must be a valid final chunk. */
    while (!aesgcm_dec_done(r->d)) {
        size_t ready = 0;
        int rc = dec_reserve(r);
        if (rc < 0)
            return rc;
        rc = aesgcm_dec_finish(r->d, r->dst, &ready);
        if (rc < 0)
            return decoder_failed(r->d, rc, err);
        if ((rc = dec_release(r, ready, err)) < 0)
            return rc;
    }
    return 0;
}

static int decrypt_run(aes_stage *st, sluice_input *in, sluice_output *out,
                       sluice_error *err)
{
    int rc = ensure_key(st, err);
    if (rc < 0)
        return rc;
    dec_run r = {st, NULL, out, NULL, 0};
    r.d = aesgcm_dec_new(st->key, AESGCM_V1_MAX);
    if (!r.d)
        return sluice_error_set(err, SLUICE_E_NOMEM,
                                "cannot set up the cipher (OpenSSL)");
    rc = decrypt_stream(&r, in, err);
    if (rc == 0 && aesgcm_dec_binding(r.d, st->bound) == AESGCM_OK)
        st->have_bound = 1;
    aesgcm_dec_free(r.d);
    return rc;
}

static int aes_run(void *ctx, sluice_input *in, sluice_output *out,
                   sluice_error *err)
{
    aes_stage *st = ctx;
    return st->direction == SLUICE_FORWARD ? encrypt_run(st, in, out, err)
                                           : decrypt_run(st, in, out, err);
}

/* ABI 1.4: the binding of the object run() wrote or read (FORMAT.md 3.9).
 * A version-1 object has none. */
static int aes_binding(void *ctx, uint8_t *out, sluice_error *err)
{
    aes_stage *st = ctx;
    if (!st->have_bound)
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "no binding: not a whole version-2 object");
    memcpy(out, st->bound, AESGCM_BINDING_LEN);
    return 0;
}

/* ---- plugin entry ------------------------------------------------------- */

/* ABI 1.2: the keys this stage accepts (`sluice stages -v`). */
static const sluice_key keys[] = {
    {"iter", SLUICE_KEY_PARAM | SLUICE_KEY_BOTH,
     "PBKDF2 iterations (default 64000; 64000..10000000 on backup)"},
    {"salt", SLUICE_KEY_PARAM | SLUICE_KEY_BOTH,
     "32 hex digits: the KDF salt (backup: random unless given)"},
    {"kdf", SLUICE_KEY_PARAM | SLUICE_KEY_REVERSE,
     "key derivation function: pbkdf2-sha256"},
    {"encryption-info", SLUICE_KEY_OPTION | SLUICE_KEY_REVERSE,
     "file holding the salt as the reference system's ENCRYPTION-INFO"},
    {NULL, 0, NULL},
};

static const sluice_stage stages[] = {
    {"aes-256-gcm",
     "AES-256-GCM encryption and authentication (PBKDF2 passphrase)",
     SLUICE_ROLE_TRANSFORM, SLUICE_ROLE_TRANSFORM, SLUICE_STAGE_HEADER_MAC,
     aes_open, aes_run, aes_header_mac, aes_close, NULL, keys,
     NULL /* list (ABI 1.3) */, aes_binding}};

static const sluice_plugin plugin =
    SLUICE_PLUGIN_INIT("aes-256-gcm", PACKAGE_VERSION, stages);

SLUICE_EXPORT const sluice_plugin *sluice_plugin_entry(void)
{
    return &plugin;
}
