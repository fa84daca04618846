/*
 * secretcache.h - the session's cache of derived secrets (api->secret_get
 * and api->secret_put, ABI 1.2): a stage that derives a key from the
 * passphrase (PBKDF2) does it once per session for given inputs, however
 * many engine runs the session makes.
 *
 * Entries live in one anonymous mapping, mlock()ed (best effort) and
 * excluded from core dumps, and are wiped by secretcache_free.  An entry
 * is found by (stage name, id); the secret itself is never compared, so
 * no lookup depends on key material, and nothing here ever logs.
 */
#ifndef SLUICE_SECRETCACHE_H
#define SLUICE_SECRETCACHE_H

#include <stddef.h>

typedef struct secretcache secretcache;

secretcache *secretcache_new(void);
/* Wipes every entry, unlocks and unmaps; NULL is fine. */
void secretcache_free(secretcache *c);

/* 1 and secret[0..len) filled when (scope, id) holds a secret of len
 * bytes; 0 otherwise.  Thread-safe. */
int secretcache_get(secretcache *c, const char *scope, const void *id,
                    size_t id_len, void *secret, size_t len);
/* 0, or -1 when the cache is full or a size is out of range.  An entry
 * already there is replaced. */
int secretcache_put(secretcache *c, const char *scope, const void *id,
                    size_t id_len, const void *secret, size_t len);

#endif
