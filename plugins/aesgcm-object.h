/*
 * aesgcm-object.h - the aes-256-gcm stage's format engine: key derivation,
 * the header MAC, and a streaming encryptor/decryptor for the encrypted
 * object layout (doc/FORMAT.md, section 3).
 *
 * Nothing here knows about the sluice host: the stage (aes-256-gcm.c) maps
 * host I/O and status codes onto this, and t/unit-aes-vectors.c drives it
 * directly with fixed IVs and salts against the known-answer vectors.
 *
 * Object layout (version 2):
 *
 *   "encrypt" | 0x02 | IV (12) | chunk 0 | chunk 1 | ... | final chunk
 *
 * each chunk = AES-256-GCM(plaintext piece) || tag (16), no AAD; every
 * piece but the last is exactly AESGCM_CHUNK bytes, the last is shorter
 * (possibly empty).  Chunk n uses nonce IV[0..4] || be64(be64(IV[4..12]) + n
 * mod 2^64).  Version 1 = "encrypt" | 0x01 | IV | GCM(whole plaintext) | tag.
 */
#ifndef SLUICE_AESGCM_OBJECT_H
#define SLUICE_AESGCM_OBJECT_H

#include <stddef.h>
#include <stdint.h>

/* Shared with the plugin and its test only: keep it out of the .so's
 * dynamic symbol table even when built without libtool's symbol list. */
#if defined(__GNUC__)
#define AESGCM_API __attribute__((visibility("hidden")))
#else
#define AESGCM_API
#endif

#define AESGCM_KEY_LEN 32
#define AESGCM_SALT_LEN 16
#define AESGCM_SALT_HEX_LEN (2 * AESGCM_SALT_LEN)
#define AESGCM_IV_LEN 12
#define AESGCM_TAG_LEN 16
#define AESGCM_MAC_LEN 32
#define AESGCM_BINDING_LEN 32
#define AESGCM_MAGIC "encrypt"
#define AESGCM_MAGIC_LEN 7
#define AESGCM_HEADER_LEN (AESGCM_MAGIC_LEN + 1 + AESGCM_IV_LEN) /* 20 */
#define AESGCM_VERSION_V1 1
#define AESGCM_VERSION_V2 2
#define AESGCM_CHUNK 65536u                               /* plaintext  */
#define AESGCM_SEALED_MAX (AESGCM_CHUNK + AESGCM_TAG_LEN) /* on disk    */

#define AESGCM_KDF_NAME "pbkdf2-sha256"
#define AESGCM_ITER_DEFAULT 64000u
/* A reader accepts this range: wide enough for any sane writer, narrow
 * enough that a hostile header cannot make key derivation run for hours
 * (10^7 rounds of HMAC-SHA256 take a few seconds). */
#define AESGCM_ITER_MIN 10000u
#define AESGCM_ITER_MAX 10000000u
/* Version-1 objects are one GCM message, so they can only be decrypted
 * by holding all of them; refuse more plaintext than this. */
#define AESGCM_V1_MAX ((size_t)64 * 1024 * 1024)

#define AESGCM_HMAC_INFO "sluice/1 header"

/* Status codes of this module (the stage maps them to SLUICE_E_*). */
enum aesgcm_status {
    AESGCM_OK = 0,
    AESGCM_READY = 1,     /* a verified piece of plaintext is ready   */
    AESGCM_E_FORMAT = -1, /* truncated, bad magic, unknown version... */
    AESGCM_E_AUTH = -2,   /* a tag did not verify                     */
    AESGCM_E_LIMIT = -3,  /* outside a documented limit               */
    AESGCM_E_NOMEM = -4,
    AESGCM_E_CRYPTO = -5, /* OpenSSL failed unexpectedly              */
    AESGCM_E_STATE = -6   /* API misuse: a bug in the caller          */
};

/* ---- keys and header MAC ------------------------------------------------ */

/* out = PBKDF2-HMAC-SHA256(pass, salt, iter, 32 bytes): RFC 8018's
 * first block, which is all of a 32-byte key.  AESGCM_E_LIMIT when
 * iter is 0 or a length does not fit an int. */
AESGCM_API int aesgcm_pbkdf2_sha256(const void *pass, size_t pass_len,
                                    const void *salt, size_t salt_len,
                                    uint32_t iter, uint8_t out[32]);

/* key = PBKDF2-HMAC-SHA256(pass[0..pass_len), salt, iter, 32 bytes). */
AESGCM_API int aesgcm_kdf(const void *pass, size_t pass_len,
                          const uint8_t salt[AESGCM_SALT_LEN], uint32_t iter,
                          uint8_t key[AESGCM_KEY_LEN]);

/* mac_key = HKDF-SHA256(IKM = key, no salt, info = AESGCM_HMAC_INFO, 32). */
AESGCM_API int aesgcm_header_mac_key(const uint8_t key[AESGCM_KEY_LEN],
                                     uint8_t mac_key[AESGCM_KEY_LEN]);

/* mac = HMAC-SHA256(mac_key, data[0..len)). */
AESGCM_API int aesgcm_header_mac(const uint8_t mac_key[AESGCM_KEY_LEN],
                                 const uint8_t *data, size_t len,
                                 uint8_t mac[AESGCM_MAC_LEN]);

/* ---- header parameters -------------------------------------------------- */

/* Parses a canonical decimal (no sign, no leading zero) into *iter.
 * AESGCM_E_FORMAT if it is not one, AESGCM_E_LIMIT if outside [min, max]. */
AESGCM_API int aesgcm_parse_iter(const char *s, uint32_t min, uint32_t max,
                                 uint32_t *iter);

/* Parses exactly 32 lowercase hex digits; AESGCM_E_FORMAT otherwise. */
AESGCM_API int aesgcm_parse_salt(const char *s, uint8_t salt[AESGCM_SALT_LEN]);

/* Writes 2*n lowercase hex digits and a NUL to out. */
AESGCM_API void aesgcm_hex(const uint8_t *in, size_t n, char *out);

/* ---- encryption (version 2) --------------------------------------------- */

typedef struct aesgcm_enc aesgcm_enc;

/* NULL on allocation or cipher setup failure.  The IV must be fresh
 * random bytes for every object under a key. */
AESGCM_API aesgcm_enc *aesgcm_enc_new(const uint8_t key[AESGCM_KEY_LEN],
                                      const uint8_t iv[AESGCM_IV_LEN]);
AESGCM_API void aesgcm_enc_free(aesgcm_enc *e);

/* The 20 object-header bytes that precede the first chunk. */
AESGCM_API void aesgcm_enc_header(const aesgcm_enc *e,
                                  uint8_t out[AESGCM_HEADER_LEN]);

/* Plaintext bytes the current chunk still takes before it must be
 * sealed (0 once the object is finished). */
AESGCM_API size_t aesgcm_enc_room(const aesgcm_enc *e);

/* Encrypts in[0..len) into out[0..len) as the next bytes of the current
 * chunk; len <= aesgcm_enc_room().  Pieces of any size may follow each
 * other, so callers need not gather a chunk's plaintext contiguously. */
AESGCM_API int aesgcm_enc_update(aesgcm_enc *e, const uint8_t *in, size_t len,
                                 uint8_t *out);

/* Ends the current chunk and writes its tag.  A chunk sealed short of
 * AESGCM_CHUNK bytes is the final one: the object is then complete. */
AESGCM_API int aesgcm_enc_seal(aesgcm_enc *e, uint8_t tag[AESGCM_TAG_LEN]);

/* update + seal: one whole chunk, len + AESGCM_TAG_LEN bytes to out. */
AESGCM_API int aesgcm_enc_chunk(aesgcm_enc *e, const uint8_t *in, size_t len,
                                uint8_t *out);

/* Once the final chunk is sealed: the object's binding (FORMAT.md 3.9),
 * SHA-256 of its 20 header bytes and every chunk's tag in order.
 * AESGCM_E_STATE before then. */
AESGCM_API int aesgcm_enc_binding(aesgcm_enc *e,
                                  uint8_t out[AESGCM_BINDING_LEN]);

/* Size of the version-2 object for a plaintext of len bytes. */
AESGCM_API uint64_t aesgcm_object_size(uint64_t len);

/* ---- decryption (versions 1 and 2) -------------------------------------- */

typedef struct aesgcm_dec aesgcm_dec;

/* v1_max: the most plaintext a version-1 object may have (the stage
 * passes AESGCM_V1_MAX; tests pass small values). */
AESGCM_API aesgcm_dec *aesgcm_dec_new(const uint8_t key[AESGCM_KEY_LEN],
                                      size_t v1_max);
AESGCM_API void aesgcm_dec_free(aesgcm_dec *d);

/* Feeds sealed bytes in[0..len); *used gets how many were taken.
 *
 * out is the caller's buffer for the current chunk's plaintext, at least
 * AESGCM_CHUNK bytes, and must stay the same buffer (contents untouched)
 * from one call to the next until a chunk is reported ready: bytes are
 * decrypted into it as they arrive but are NOT plaintext to release until
 * the chunk's tag has verified.
 *
 * Returns AESGCM_READY with *ready set when out[0..*ready) is a verified
 * chunk (the caller releases it, then passes a fresh buffer and the rest
 * of its input); AESGCM_OK when all of in was taken and more is needed; or
 * a negative status (see aesgcm_dec_error), after which out holds no
 * unverified plaintext (it is wiped) and every later call fails alike. */
AESGCM_API int aesgcm_dec_update(aesgcm_dec *d, const uint8_t *in, size_t len,
                                 size_t *used, uint8_t *out, size_t *ready);

/* At end of input: verifies what remains.  Returns AESGCM_READY with
 * out[0..*ready) verified (possibly 0 bytes) while there is plaintext to
 * hand out - once for a version-2 final chunk (out being the same buffer
 * as in the preceding update calls), possibly several times for a
 * version-1 object; then aesgcm_dec_done() is true.  Negative on error. */
AESGCM_API int aesgcm_dec_finish(aesgcm_dec *d, uint8_t *out, size_t *ready);

/* Nonzero once the whole object has been verified and handed out. */
AESGCM_API int aesgcm_dec_done(const aesgcm_dec *d);

/* The message for the last error ("chunk 3 failed authentication: ..."),
 * or "" if none. */
AESGCM_API const char *aesgcm_dec_error(const aesgcm_dec *d);

/* Once a version-2 object is done (verified to its final chunk): its
 * binding, as aesgcm_enc_binding gives it.  AESGCM_E_STATE before then,
 * after a failure, and for a version-1 object (it has none). */
AESGCM_API int aesgcm_dec_binding(aesgcm_dec *d,
                                  uint8_t out[AESGCM_BINDING_LEN]);

/* The object version seen (1 or 2), 0 before the header is complete. */
AESGCM_API int aesgcm_dec_version(const aesgcm_dec *d);

#endif /* SLUICE_AESGCM_OBJECT_H */
