/* archive-madeset.c - a set of names, open addressing; see
 * archive-madeset.h. */
#include "archive-madeset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct madeset {
    char **slot; /* NUL-terminated names; NULL: empty */
    size_t cap;  /* a power of two, or 0            */
    size_t n;
};

static uint64_t hash(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

madeset *madeset_new(void)
{
    return calloc(1, sizeof(madeset));
}

void madeset_free(madeset *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->slot[i]);
    free(m->slot);
    free(m);
}

static size_t find(const madeset *m, const char *p, size_t len)
{
    size_t i = (size_t)hash(p, len) & (m->cap - 1);
    while (m->slot[i] &&
           !(strlen(m->slot[i]) == len && !memcmp(m->slot[i], p, len)))
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* Doubles the table (at most half full, so a probe ends soon). */
static int grow(madeset *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    char **old = m->slot, **slot = calloc(cap, sizeof *slot);
    if (!slot)
        return -1;
    size_t ocap = m->cap;
    m->slot = slot;
    m->cap = cap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i])
            m->slot[find(m, old[i], strlen(old[i]))] = old[i];
    free(old);
    return 0;
}

int madeset_add(madeset *m, const char *path, size_t len)
{
    if ((m->n + 1) * 2 > m->cap && grow(m) < 0)
        return -1;
    size_t i = find(m, path, len);
    if (m->slot[i])
        return 0;
    char *c = malloc(len + 1);
    if (!c)
        return -1;
    memcpy(c, path, len);
    c[len] = '\0';
    m->slot[i] = c;
    m->n++;
    return 0;
}

int madeset_has(const madeset *m, const char *path, size_t len)
{
    return m->cap && m->slot[find(m, path, len)] != NULL;
}
