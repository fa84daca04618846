/* util.h - small helpers shared by the core: growable strings, hex. */
#ifndef SLUICE_UTIL_H
#define SLUICE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* A growable byte string; sticky failure flag instead of checks at each
 * append. */
typedef struct strbuf {
    char *data; /* NUL-terminated when not failed */
    size_t len, cap;
    int failed;
} strbuf;

void sb_add(strbuf *sb, const void *p, size_t n);
void sb_adds(strbuf *sb, const char *s);
void sb_addf(strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

char *xstrndup(const char *s, size_t n);
void hex_encode(const uint8_t *in, size_t n, char *out); /* out: 2n+1 */
/* Wipes memory in a way the compiler may not elide. */
void secure_wipe(void *p, size_t n);
/* A new private anonymous mapping of n bytes rounded up to 2 MiB,
 * 2 MiB-aligned, with transparent huge pages asked for (*len: its length;
 * munmap it whole), or NULL.  Memory first touched costs a fault a page
 * (about 12 us in a VM that returns freed pages to its host): a huge
 * page takes one fault for 512 of them.  Reserved, not committed: only
 * what is touched is memory. */
void *map_huge(size_t n, size_t *len);

/* Sizes the process's descriptor table for up to max descriptors (at
 * most the soft RLIMIT_NOFILE).  Call before the first thread starts:
 * the kernel grows a table that threads share only after an RCU grace
 * period, with every open of every thread waiting, once per doubling
 * (a restore's kept directories took 5 of them, 130 ms); a table grown
 * while there is one thread costs an allocation. */
void fdtable_presize(unsigned max);
/* Constant-time comparison: 0 when equal. */
int ct_memcmp(const void *a, const void *b, size_t n);

#endif
