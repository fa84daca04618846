/*
 * hugemap.c - anonymous mappings in huge pages (see hugemap.h).
 */
#include "hugemap.h"

#include <sys/mman.h>

size_t hugemap_len(size_t len)
{
    return (len + HUGEMAP_PAGE - 1) / HUGEMAP_PAGE * HUGEMAP_PAGE;
}

uint8_t *hugemap_new(size_t len)
{
    len = hugemap_len(len);
    /* Over-map by one huge page, then trim to an aligned run. */
    uint8_t *p = mmap(NULL, len + HUGEMAP_PAGE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    size_t head = (HUGEMAP_PAGE - (uintptr_t)p % HUGEMAP_PAGE) % HUGEMAP_PAGE;
    if (head)
        munmap(p, head);
    munmap(p + head + len, HUGEMAP_PAGE - head);
    (void)madvise(p + head, len, MADV_HUGEPAGE);
    return p + head;
}

void hugemap_free(uint8_t *p, size_t len)
{
    if (p)
        munmap(p, hugemap_len(len));
}
