/*
 * objstore.h - a collection's storage: "put a named object" and "get a
 * named object" under a root (a local directory, s3://bucket/prefix,
 * http(s)://...), each one engine job with the endpoint stage for
 * root + "/" + name.  Objects are bare: the collection's chain is given
 * explicitly (forward: `fchain`, reverse: `rchain`), never a header.
 */
#ifndef SLUICE_OBJSTORE_H
#define SLUICE_OBJSTORE_H

#include <stdint.h>

#include "engine.h"

typedef struct objstore {
    session *s;
    loader *l;
    const char *s3_endpoint;
    int insecure, verbose;
    const header *fchain; /* forward chain (params: level, iter, salt) */
    const header *rchain; /* reverse chain (the descriptor's stages)    */
    const char *tmpdir;   /* scratch directory for remote transfers     */
    char msg[1024];       /* the last failure: "subject: message"       */
} objstore;

int os_is_local(const char *root);
/* root + "/" + name (malloc'ed). */
char *os_url(const char *root, const char *name);

/* Encodes local file `src` into object `name`; *stored = its size. */
int os_put_file(objstore *o, const char *root, const char *name,
                const char *src, uint64_t *stored);
/* Encodes bytes offset .. offset+length-1 of local regular file `src`
 * (the file stage's offset=/length= options: fails if the file is
 * shorter) into object `name`: a chunk of a split file. */
int os_put_range(objstore *o, const char *root, const char *name,
                 const char *src, uint64_t offset, uint64_t length,
                 uint64_t *stored);
/* Archives the NUL-separated paths listed in `list` (relative to dir),
 * without recursion, into object `name`. */
int os_put_archive(objstore *o, const char *root, const char *name,
                   const char *dir, const char *list, uint64_t *stored);
/* Decodes object `name` into local file `dst`. */
int os_get_file(objstore *o, const char *root, const char *name,
                const char *dst);
/* Extracts members (exact names) of archive object `name` into dir;
 * with list_only, lists them to /dev/null (authenticates, checks every
 * member is present) and writes nothing. */
int os_extract(objstore *o, const char *root, const char *name,
               const char *dir, char **members, size_t n, int list_only);
/* Copies local file `src` as it is (no chain) to object `name`;
 * exclusive: create only, atomically; fail if it exists (a remote root
 * whose stage lacks SLUICE_STAGE_EXCLUSIVE: SLUICE_E_UNSUPPORTED). */
int os_put_plain(objstore *o, const char *root, const char *name,
                 const char *src, int exclusive);
/* Whether objects under root can be created exclusively / removed: a
 * local root, or a stage with SLUICE_STAGE_EXCLUSIVE / remove() (ABI
 * 1.1: s3 has both, http neither). */
int os_can_exclusive(objstore *o, const char *root);
int os_can_delete(objstore *o, const char *root);
/* Removes an object (absent: fine); returns 1 if the root's stage
 * cannot remove. */
int os_delete(objstore *o, const char *root, const char *name);

/* Runs the endpoint for root/name as a reverse source, reading only a
 * sluice/1 header (the collection descriptor); 0, or a status. */
int os_read_header(objstore *o, const char *root, const char *name,
                   header **out);
/* Writes a descriptor: an empty body under the forward chain, with its
 * sluice/1 header (MAC'd when the chain authenticates). */
int os_put_descriptor(objstore *o, const char *root, const char *name,
                      int exclusive);
/* Decodes a descriptor with its own header chain (checks the MAC: the
 * passphrase); 0 or a status (SLUICE_E_AUTH: wrong passphrase). */
int os_check_descriptor(objstore *o, const char *root, const char *name);

#endif
