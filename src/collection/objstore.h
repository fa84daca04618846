/*
 * objstore.h - a collection's storage: "put a named object" and "get a
 * named object" under a root (a local directory, s3://bucket/prefix,
 * http(s)://...).  Each put or get is ONE engine run, streaming from the
 * source to the endpoint stage for root + "/" + name (no scratch file,
 * also for remote roots: the byte counts come from the engine).  Objects
 * are bare: the collection's chain is given explicitly (forward:
 * `fchain`, reverse: `rchain`), never a header.  Small records go
 * through the engine's memory endpoint.
 *
 * Every call is safe from several threads at once (the runs are
 * isolated: one failing does not cancel the others) and returns 0 or a
 * status with the failure in *err, naming the object once.
 */
#ifndef SLUICE_OBJSTORE_H
#define SLUICE_OBJSTORE_H

#include <stdint.h>

#include "../engine.h"

typedef struct objstore {
    session *s;
    loader *l;
    const char *s3_endpoint;
    int insecure;
    const header *fchain; /* forward chain (params: level, iter, salt) */
    const header *rchain; /* reverse chain (the descriptor's stages)    */
    const char *require_auth; /* every get: engine_job.require_auth     */
    /* Optional: every run's transform option threads= (zstd's threads
     * in one run, compressing or decoding, when several run side by
     * side). */
    const char *threads;
    /* Optional: every run's engine_job.moved (the progress line). */
    void (*moved)(void *arg, size_t n);
    void *moved_arg;
} objstore;

/* A stored object's size and digest: what a put measured as the bytes
 * passed to the endpoint, or what a get must find as they come from it
 * (a difference fails the get with SLUICE_E_AUTH: a swapped or replaced
 * object).  The digest is the binding of the chain's authenticating
 * stage when it has one (ABI 1.4), else the SHA-256 of the stored bytes:
 * engine_digest, as the engine works it out.  A NULL os_sum: nothing
 * measured or checked. */
typedef struct os_sum {
    uint64_t size;
    engine_digest digest;
} os_sum;

/* A failure: one line, "OBJECT-URL: stage: message". */
typedef struct os_err {
    char msg[1024];
} os_err;

int os_is_local(const char *root);
/* root + "/" + name (malloc'ed). */
char *os_url(const char *root, const char *name);
/* Whether a failed get found no object there (absent, not damaged). */
int os_err_absent(const os_err *e);

/* Encodes data[0..len) into object `name` (plain: no chain, as it is;
 * exclusive: create only, fail if it exists); *stored = bytes written. */
int os_put_mem(objstore *o, const char *root, const char *name,
               const void *data, size_t len, int plain, int exclusive,
               uint64_t *stored, os_err *err);
/* Encodes data[0..len) and then every piece produce(arg, &p) gives (it
 * may wait; 0 ends the object, a negative status fails it, nothing
 * stored) into object `name`: a record written while it is made. */
int os_put_produce(objstore *o, const char *root, const char *name,
                   const void *data, size_t len,
                   ptrdiff_t (*produce)(void *arg, const uint8_t **p),
                   void *arg, uint64_t *stored, os_err *err);
/* Decodes object `name` (plain: as it is) into *out (malloc'ed,
 * NUL-terminated; at most MEM_RECORD_LIMIT bytes). */
int os_get_mem(objstore *o, const char *root, const char *name, int plain,
               char **out, size_t *len, os_err *err);
/* Encodes bytes offset .. offset+length-1 of local regular file `src`
 * (fails if it is shorter) into object `name`: a chunk of a split file. */
int os_put_range(objstore *o, const char *root, const char *name,
                 const char *src, uint64_t offset, uint64_t length,
                 os_sum *sum, os_err *err);
/* Archives the NUL-separated paths listed in file `list` (relative to
 * dir), without recursion, into object `name`. */
int os_put_archive(objstore *o, const char *root, const char *name,
                   const char *dir, const char *list, os_sum *sum,
                   os_err *err);
/* Decodes object `name` into bytes offset.. of the existing file `dst`
 * (at most `length` bytes, more fail); *got = the bytes decoded. */
int os_get_range(objstore *o, const char *root, const char *name,
                 const char *dst, uint64_t offset, uint64_t length,
                 const os_sum *want, uint64_t *got, os_err *err);
/* Decodes object `name`, handing each block to consume (may be NULL:
 * authenticate and count only); *got = the bytes decoded. */
int os_get_consume(objstore *o, const char *root, const char *name,
                   int (*consume)(void *, const uint8_t *, size_t),
                   void *arg, const os_sum *want, uint64_t *got,
                   os_err *err);
/* Extracts members (exact names) of archive object `name` into dir;
 * with list_only, lists them to nothing (authenticates, checks every
 * member is present) and writes nothing. */
int os_extract(objstore *o, const char *root, const char *name,
               const char *dir, char **members, size_t n, int list_only,
               const os_sum *want, os_err *err);
/* Decodes archive object `name`, handing the data of its member (exact
 * name; none: fails) to consume in order, as `sluice -xO` writes it. */
int os_extract_data(objstore *o, const char *root, const char *name,
                    const char *member,
                    int (*consume)(void *, const uint8_t *, size_t),
                    void *arg, const os_sum *want, os_err *err);
/* Whether objects under root can be created exclusively / removed: a
 * local root, or a stage with SLUICE_STAGE_EXCLUSIVE / remove() (ABI
 * 1.1: s3 has both, http neither). */
int os_can_exclusive(objstore *o, const char *root);
int os_can_delete(objstore *o, const char *root);
/* Removes an object (absent: fine); returns 1 if the root's stage
 * cannot remove. */
int os_delete(objstore *o, const char *root, const char *name, os_err *err);

/* Whether the objects under root cannot be listed: 0 for a local root
 * or a stage with list() (ABI 1.3: file, s3); else 1 with why[] saying
 * so, naming the stage (http, a plugin built for ABI 1.2 or older). */
int os_list_refusal(objstore *o, const char *root, char *why, size_t cap);
/* Calls fn for every entry under root (names relative to it, uploads
 * included: sluice_entry); 0, fn's status (err->msg empty), or a status
 * with err set. */
int os_list(objstore *o, const char *root, sluice_list_fn fn, void *arg,
            os_err *err);
/* Aborts the incomplete multipart upload upload_id of object `name`
 * (the stage's remove() with "upload-id"; gone already: fine). */
int os_abort_upload(objstore *o, const char *root, const char *name,
                    const char *upload_id, os_err *err);

/* Reads only the sluice/1 header of object `name` (the descriptor). */
int os_read_header(objstore *o, const char *root, const char *name,
                   header **out, os_err *err);
/* Writes a descriptor: an empty body under the forward chain, with its
 * sluice/1 header (MAC'd when the chain authenticates). */
int os_put_descriptor(objstore *o, const char *root, const char *name,
                      int exclusive, os_err *err);
/* Decodes a descriptor with its own header chain (checks the MAC: the
 * passphrase); 0 or a status (SLUICE_E_AUTH: wrong passphrase). */
int os_check_descriptor(objstore *o, const char *root, const char *name,
                        os_err *err);

#endif
