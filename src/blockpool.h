/*
 * blockpool.h - the buffers of a session's blocks (block.h), kept from
 * one engine run to the next.
 *
 * A collection makes an engine run an object, each with its own links
 * and blocks (up to 6 of 256 KiB a link).  Allocated and freed run by
 * run, every block's pages were faulted in again: 64 faults a block, each
 * about 12 us in a VM that returns freed pages to its host, some 1.3k a
 * restore of five objects.  The pool hands out buffers cut from 2 MiB
 * slabs with transparent huge pages asked for (a fault a slab, not 512),
 * takes them back when a link is freed, and keeps at most a bounded
 * number of slabs; past that, buffers come from malloc as before.
 */
#ifndef SLUICE_BLOCKPOOL_H
#define SLUICE_BLOCKPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct blockpool blockpool;

/* A pool of buffers of block_size bytes (a divisor of 2 MiB), in at most
 * max_slabs slabs of 2 MiB; NULL when out of memory. */
blockpool *blockpool_new(size_t block_size, unsigned max_slabs);
/* Frees the slabs: every buffer must have been put back. */
void blockpool_free(blockpool *p);

size_t blockpool_block_size(const blockpool *p);
/* A buffer of block_size bytes, or NULL (the pool is full, or out of
 * memory: the caller allocates one itself).  Safe from any thread. */
uint8_t *blockpool_get(blockpool *p);
/* Takes back buf; 0, or -1 when buf is not the pool's (the caller frees
 * it).  Safe from any thread. */
int blockpool_put(blockpool *p, uint8_t *buf);

#endif
