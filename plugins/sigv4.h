/*
 * sigv4.h - AWS Signature Version 4 for S3 requests (header-based), with
 * OpenSSL's SHA-256 and HMAC.  No I/O: the caller says what it will send,
 * gets back the Authorization header value.
 *
 * Every request is signed over at least host, x-amz-content-sha256 and
 * x-amz-date (and x-amz-security-token with temporary credentials); the
 * caller must send exactly those header values.  x-amz-content-sha256 is
 * the hex SHA-256 of the body (S3 checks it) or "UNSIGNED-PAYLOAD".
 */
#ifndef SLUICE_SIGV4_H
#define SLUICE_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SIGV4_HEX_LEN 64               /* a SHA-256, hex, without NUL   */
#define SIGV4_DATE_LEN 16              /* "20130524T000000Z"             */
#define SIGV4_EMPTY_SHA256 \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct sigv4_header {
    const char *name;  /* lower case                                   */
    const char *value; /* sent as given; signed with spaces trimmed    */
} sigv4_header;

typedef struct sigv4_request {
    const char *access_key;
    const char *secret_key;
    const char *region;         /* "us-east-1"                            */
    const char *service;        /* "s3"                                   */
    const char *method;         /* "PUT"                                  */
    const char *canonical_uri;  /* URI-encoded path, e.g. "/b/my%20key"   */
    const char *canonical_query;/* sorted, encoded: "partNumber=1&up..."  */
    const char *amz_date;       /* x-amz-date value                       */
    const char *payload_hash;   /* x-amz-content-sha256 value             */
    const sigv4_header *headers;/* every header to sign (host, x-amz-*...)*/
    size_t n_headers;
} sigv4_request;

/* Hex SHA-256 of data into out[SIGV4_HEX_LEN + 1]. */
void sigv4_sha256_hex(const void *data, size_t len, char *out);

/* The x-amz-date for t into out[SIGV4_DATE_LEN + 1]. */
void sigv4_amz_date(time_t t, char *out);

/* URI-encodes s as SigV4 wants it (RFC 3986 unreserved characters kept;
 * '/' kept when keep_slash).  Returns a malloc'd string or NULL. */
char *sigv4_uri_encode(const char *s, int keep_slash);

/* Computes the Authorization header value ("AWS4-HMAC-SHA256
 * Credential=..., SignedHeaders=..., Signature=...") into a malloc'd
 * string; NULL when out of memory.  When canonical_out is not NULL it
 * receives the canonical request (malloc'd), for debugging. */
char *sigv4_authorization(const sigv4_request *r, char **canonical_out);

#endif
