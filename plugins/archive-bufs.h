/*
 * archive-bufs.h - buffers for the data of members handed to writer
 * threads (archive-extract.c), kept for the next members instead of
 * freed.  Freeing and allocating megabytes of them in turn made glibc
 * give the top of its heap back and take it again: a page fault for every
 * 4 KiB the stage's thread copied, 9k of them restoring /usr/share, at
 * 12-25 us each in a VM.  Buffers are powers of two from 4 KiB to 1 MiB,
 * carved from 2 MiB huge-page slabs (at most BUFS_SLABS of them; then
 * malloc), and kept for reuse until bufs_free: all carved ones, and
 * malloc'd ones up to BUFS_KEEP bytes, so memory stays bounded whatever
 * the sizes of the members.  One thread only.
 */
#ifndef SLUICE_ARCHIVE_BUFS_H
#define SLUICE_ARCHIVE_BUFS_H

#include <stddef.h>
#include <stdint.h>

#define BUFS_MAX (1u << 20) /* the largest buffer                       */
#define BUFS_CLASSES 9      /* 4 KiB, 8 KiB, ..., 1 MiB                 */
#define BUFS_SLABS 8        /* 16 MiB of slabs at most                  */
#define BUFS_KEEP (4u << 20) /* malloc'd bytes kept on the free lists   */

typedef struct bufs {
    void *free_list[BUFS_CLASSES]; /* a free buffer holds the next one */
    uint8_t *slab[BUFS_SLABS];
    int n_slabs;
    size_t carved;                 /* bytes used of the newest slab    */
    size_t kept;                   /* malloc'd bytes on the free lists */
} bufs;

/* A buffer of at least n (1..BUFS_MAX) bytes, its size in *cap; NULL when
 * out of memory. */
uint8_t *bufs_take(bufs *b, size_t n, size_t *cap);
/* Gives back what bufs_take returned (NULL: nothing), with its cap. */
void bufs_give(bufs *b, uint8_t *p, size_t cap);
/* Frees every buffer; those taken must all have been given back. */
void bufs_free(bufs *b);

#endif
