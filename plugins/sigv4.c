/*
 * sigv4.c - AWS Signature Version 4 (see sigv4.h).
 *
 * Canonical request:
 *   METHOD \n URI \n QUERY \n name:value\n... \n signed;names \n PAYLOAD
 * String to sign:
 *   AWS4-HMAC-SHA256 \n DATE \n yyyymmdd/region/service/aws4_request \n
 *   hex(sha256(canonical request))
 * Key: HMAC chain "AWS4"+secret -> yyyymmdd -> region -> service ->
 * "aws4_request"; signature = hex(HMAC(key, string to sign)).
 */
#include "sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void sigv4_sha256_hex(const void *data, size_t len, char *out)
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    hex(md, sizeof md, out);
}

void sigv4_amz_date(time_t t, char *out)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, SIGV4_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

char *sigv4_uri_encode(const char *s, int keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~' || (c == '/' && keep_slash)) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = digits[c >> 4];
            *o++ = digits[c & 15];
        }
    }
    *o = '\0';
    return out;
}

/* A growing string. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* Appends v with leading/trailing spaces trimmed and inner runs of
 * spaces collapsed to one, as the canonical form wants. */
static void sb_trimmed(sbuf *b, const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == ' ' || v[i] == '\t') {
            space = 1;
            continue;
        }
        if (space)
            sb_add(b, " ", 1);
        space = 0;
        sb_add(b, &v[i], 1);
    }
}

static int cmp_header(const void *a, const void *b)
{
    const sigv4_header *x = *(const sigv4_header *const *)a;
    const sigv4_header *y = *(const sigv4_header *const *)b;
    return strcmp(x->name, y->name);
}

static int hmac(const void *key, size_t key_len, const char *msg,
                uint8_t out[SHA256_DIGEST_LENGTH])
{
    unsigned len = 0;
    return HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg,
                strlen(msg), out, &len) != NULL &&
                   len == SHA256_DIGEST_LENGTH
               ? 0
               : -1;
}

/* The canonical request into canon, and the signed header names, sorted
 * and joined by ';', into names.  Returns 0, or -1 when out of memory. */
static int canonical_request(const sigv4_request *r, sbuf *canon,
                             sbuf *names)
{
    const sigv4_header **sorted = NULL;
    if (r->n_headers) {
        sorted = malloc(r->n_headers * sizeof *sorted);
        if (!sorted)
            return -1;
        for (size_t i = 0; i < r->n_headers; i++)
            sorted[i] = &r->headers[i];
        qsort(sorted, r->n_headers, sizeof *sorted, cmp_header);
    }
    sb_str(canon, r->method);
    sb_str(canon, "\n");
    sb_str(canon, r->canonical_uri);
    sb_str(canon, "\n");
    sb_str(canon, r->canonical_query ? r->canonical_query : "");
    sb_str(canon, "\n");
    for (size_t i = 0; i < r->n_headers; i++) {
        sb_str(canon, sorted[i]->name);
        sb_str(canon, ":");
        sb_trimmed(canon, sorted[i]->value);
        sb_str(canon, "\n");
        if (i)
            sb_str(names, ";");
        sb_str(names, sorted[i]->name);
    }
    free(sorted);
    sb_str(canon, "\n");
    sb_str(canon, names->p ? names->p : "");
    sb_str(canon, "\n");
    sb_str(canon, r->payload_hash);
    return canon->failed || names->failed || !names->p ? -1 : 0;
}

/* The credential scope: day/region/service/aws4_request. */
static void sb_scope(sbuf *b, const sigv4_request *r, const char *date8)
{
    sb_str(b, date8);
    sb_str(b, "/");
    sb_str(b, r->region);
    sb_str(b, "/");
    sb_str(b, r->service);
    sb_str(b, "/aws4_request");
}

/* The string to sign, over the canonical request's hash. */
static int string_to_sign(const sigv4_request *r, const char *date8,
                          const sbuf *canon, sbuf *sts)
{
    char canon_hash[SIGV4_HEX_LEN + 1];
    sigv4_sha256_hex(canon->p, canon->len, canon_hash);
    sb_str(sts, "AWS4-HMAC-SHA256\n");
    sb_str(sts, r->amz_date);
    sb_str(sts, "\n");
    sb_scope(sts, r, date8);
    sb_str(sts, "\n");
    sb_str(sts, canon_hash);
    return sts->failed ? -1 : 0;
}

/* The signature of sts in hex, with the signing key derived from the
 * secret key for the day, region and service (wiped after). */
static int signature(const sigv4_request *r, const char *date8,
                     const char *sts, char sig[SIGV4_HEX_LEN + 1])
{
    size_t slen = strlen(r->secret_key);
    char *k0 = malloc(slen + 5);
    if (!k0)
        return -1;
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, r->secret_key, slen + 1);
    uint8_t k[SHA256_DIGEST_LENGTH], k2[SHA256_DIGEST_LENGTH];
    int bad = hmac(k0, slen + 4, date8, k) < 0 ||
              hmac(k, sizeof k, r->region, k2) < 0 ||
              hmac(k2, sizeof k2, r->service, k) < 0 ||
              hmac(k, sizeof k, "aws4_request", k2) < 0 ||
              hmac(k2, sizeof k2, sts, k) < 0;
    OPENSSL_cleanse(k0, slen + 4);
    free(k0);
    OPENSSL_cleanse(k2, sizeof k2);
    if (!bad)
        hex(k, sizeof k, sig);
    OPENSSL_cleanse(k, sizeof k);
    return bad ? -1 : 0;
}

/* The Authorization header's value. */
static int authorization_value(const sigv4_request *r, const char *date8,
                               const char *names, const char *sig,
                               sbuf *auth)
{
    sb_str(auth, "AWS4-HMAC-SHA256 Credential=");
    sb_str(auth, r->access_key);
    sb_str(auth, "/");
    sb_scope(auth, r, date8);
    sb_str(auth, ", SignedHeaders=");
    sb_str(auth, names);
    sb_str(auth, ", Signature=");
    sb_str(auth, sig);
    return auth->failed ? -1 : 0;
}

char *sigv4_authorization(const sigv4_request *r, char **canonical_out)
{
    sbuf canon = {0}, names = {0}, sts = {0}, auth = {0};
    char *result = NULL;
    if (canonical_out)
        *canonical_out = NULL;
    char date8[9];
    memcpy(date8, r->amz_date, 8);
    date8[8] = '\0';
    char sig[SIGV4_HEX_LEN + 1];
    if (canonical_request(r, &canon, &names) == 0 &&
        string_to_sign(r, date8, &canon, &sts) == 0 &&
        signature(r, date8, sts.p, sig) == 0 &&
        authorization_value(r, date8, names.p, sig, &auth) == 0) {
        result = auth.p;
        auth.p = NULL;
        if (canonical_out) {
            *canonical_out = canon.p;
            canon.p = NULL;
        }
    }
    free(canon.p);
    free(names.p);
    free(sts.p);
    free(auth.p);
    return result;
}
