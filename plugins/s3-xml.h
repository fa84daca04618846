/*
 * s3-xml.h - a strict, bounded reader of the two S3 listing answers the
 * s3 stage's list() asks for: ListObjectsV2 (ListBucketResult) and
 * ListMultipartUploads (ListMultipartUploadsResult).
 *
 * The answer comes from the network, which may be an attacker: the reader
 * takes a buffer of known length, never reads past it, allocates nothing,
 * recurses nowhere, bounds nesting and every field it copies, and refuses
 * (rather than guesses at) anything that is not well-formed XML of the
 * expected shape: comments, CDATA, DOCTYPE, an unknown entity, text where
 * elements belong, a missing required field, an unparsable size or time.
 * Elements it does not know are skipped whole.  Pure: no I/O, no globals
 * (t/unit-s3xml.c feeds it hostile answers).
 */
#ifndef SLUICE_S3_XML_H
#define SLUICE_S3_XML_H

#include <stddef.h>
#include <stdint.h>

/* Longest key, continuation token, marker or upload id accepted. */
#define S3X_FIELD_MAX 1024

/* One entry of a page: an object (upload_id NULL) or an upload. */
typedef struct s3x_entry {
    const char *key;       /* decoded, NUL-free                      */
    uint64_t size;         /* objects: <Size>; uploads: 0            */
    int64_t mtime;         /* <LastModified> / <Initiated>, unix s   */
    const char *upload_id; /* uploads: <UploadId>                    */
} s3x_entry;

/* What a page says about the next one. */
typedef struct s3x_page {
    int truncated;                    /* <IsTruncated>true             */
    char next[S3X_FIELD_MAX + 1];     /* NextContinuationToken, or
                                         NextKeyMarker (uploads)       */
    char next_id[S3X_FIELD_MAX + 1];  /* NextUploadIdMarker (uploads)  */
} s3x_page;

/* Called once per entry, in document order: 0 to go on, or a negative
 * status that stops the parse and is returned. */
typedef int (*s3x_fn)(void *arg, const s3x_entry *e);

/* Parses one page (xml[0..len), need not be NUL-terminated).  Returns 0,
 * fn's status, or -1 with why[] saying what is wrong (one line). */
int s3x_parse_objects(const char *xml, size_t len, s3x_fn fn, void *arg,
                      s3x_page *pg, char *why, size_t cap);
int s3x_parse_uploads(const char *xml, size_t len, s3x_fn fn, void *arg,
                      s3x_page *pg, char *why, size_t cap);

/* Whether rel (a key with the listed prefix taken off) is a name the
 * host may act on: non-empty, at most S3X_FIELD_MAX bytes, no control
 * character, no empty, "." or ".." component (curl would fold "a/../b"
 * into "b": a listing must not steer a delete outside the prefix). */
int s3x_safe_name(const char *rel);

/* "YYYY-MM-DDTHH:MM:SS[.fff]Z" -> unix seconds; 0, or -1 if malformed. */
int s3x_parse_time(const char *s, int64_t *out);

#endif
