/* secretcache.c - derived secrets kept for a session; see secretcache.h. */
#include "secretcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sluice/plugin.h"
#include "util.h"

/* A session derives one key per (salt, iterations) it meets: a handful.
 * A full cache only costs derivations again, never a failure. */
#define SECRETCACHE_ENTRIES 32
#define SCOPE_MAX 64

typedef struct entry {
    char scope[SCOPE_MAX + 1];
    unsigned char id[SLUICE_SECRET_MAX];
    size_t id_len;
    unsigned char secret[SLUICE_SECRET_MAX];
    size_t len; /* 0: free slot */
} entry;

typedef struct locked {
    entry e[SECRETCACHE_ENTRIES];
} locked;

struct secretcache {
    pthread_mutex_t lock;
    locked *mem; /* mmap()ed, mlock()ed */
};

secretcache *secretcache_new(void)
{
    secretcache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    void *p = mmap(NULL, sizeof(locked), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        free(c);
        return NULL;
    }
    (void)mlock(p, sizeof(locked)); /* best effort, as for the passphrase */
#ifdef MADV_DONTDUMP
    (void)madvise(p, sizeof(locked), MADV_DONTDUMP);
#endif
    c->mem = p;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void secretcache_free(secretcache *c)
{
    if (!c)
        return;
    secure_wipe(c->mem, sizeof *c->mem);
    (void)munlock(c->mem, sizeof *c->mem);
    munmap(c->mem, sizeof *c->mem);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static entry *find(secretcache *c, const char *scope, const void *id,
                   size_t id_len)
{
    for (size_t i = 0; i < SECRETCACHE_ENTRIES; i++) {
        entry *e = &c->mem->e[i];
        if (e->len && e->id_len == id_len && !strcmp(e->scope, scope) &&
            !memcmp(e->id, id, id_len))
            return e;
    }
    return NULL;
}

static int sizes_ok(const char *scope, size_t id_len, size_t len)
{
    return scope && strlen(scope) <= SCOPE_MAX && id_len <= SLUICE_SECRET_MAX &&
           len > 0 && len <= SLUICE_SECRET_MAX;
}

int secretcache_get(secretcache *c, const char *scope, const void *id,
                    size_t id_len, void *secret, size_t len)
{
    if (!c || !sizes_ok(scope, id_len, len))
        return 0;
    pthread_mutex_lock(&c->lock);
    entry *e = find(c, scope, id, id_len);
    int found = e && e->len == len;
    if (found)
        memcpy(secret, e->secret, len);
    pthread_mutex_unlock(&c->lock);
    return found;
}

int secretcache_put(secretcache *c, const char *scope, const void *id,
                    size_t id_len, const void *secret, size_t len)
{
    if (!c || !sizes_ok(scope, id_len, len))
        return -1;
    pthread_mutex_lock(&c->lock);
    entry *e = find(c, scope, id, id_len);
    for (size_t i = 0; !e && i < SECRETCACHE_ENTRIES; i++)
        if (!c->mem->e[i].len)
            e = &c->mem->e[i];
    if (e) {
        secure_wipe(e, sizeof *e);
        strcpy(e->scope, scope);
        memcpy(e->id, id, id_len);
        e->id_len = id_len;
        memcpy(e->secret, secret, len);
        e->len = len;
    }
    pthread_mutex_unlock(&c->lock);
    return e ? 0 : -1;
}
