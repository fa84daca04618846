/* util.c - small helpers shared by the core. */
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <unistd.h>

static int sb_grow(strbuf *sb, size_t need)
{
    if (sb->failed)
        return -1;
    if (sb->len + need + 1 <= sb->cap)
        return 0;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + need + 1)
        cap *= 2;
    char *p = realloc(sb->data, cap);
    if (!p) {
        sb->failed = 1;
        return -1;
    }
    sb->data = p;
    sb->cap = cap;
    return 0;
}

void sb_add(strbuf *sb, const void *p, size_t n)
{
    if (sb_grow(sb, n) < 0)
        return;
    memcpy(sb->data + sb->len, p, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void sb_adds(strbuf *sb, const char *s)
{
    sb_add(sb, s, strlen(s));
}

void sb_addf(strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sb_grow(sb, (size_t)n) < 0) {
        sb->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void *map_huge(size_t n, size_t *len)
{
    const size_t huge = (size_t)2 << 20;
    size_t want = (n + huge - 1) & ~(huge - 1);
    uint8_t *p = mmap(NULL, want + huge, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    size_t head = (huge - (uintptr_t)p % huge) % huge;
    if (head)
        munmap(p, head);
    munmap(p + head + want, huge - head);
    (void)madvise(p + head, want, MADV_HUGEPAGE); /* a hint */
    *len = want;
    return p + head;
}

void secure_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

int ct_memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= x[i] ^ y[i];
    return d;
}

void fdtable_presize(unsigned max)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    rlim_t n = rl.rlim_cur < max ? rl.rlim_cur : max;
    if (n < 2)
        return;
    /* The table grows to hold the descriptor; it never shrinks. */
    for (int src = 0; src <= 2; src++) {
        int fd = fcntl(src, F_DUPFD_CLOEXEC, (int)(n - 1));
        if (fd >= 0) {
            close(fd);
            return;
        }
    }
}
