/*
 * hugemap.h - anonymous mappings in 2 MiB huge pages, for plugins that
 * fill large buffers afresh (the s3 stage's parts, the archive stage's
 * member buffers).  In this VM a 4 KiB page costs 12-25 us to fault in;
 * a huge page covers 512 of them for about the price of one.  Compiled
 * into each plugin that uses it (plugins share no code at run time).
 */
#ifndef SLUICE_HUGEMAP_H
#define SLUICE_HUGEMAP_H

#include <stddef.h>
#include <stdint.h>

#define HUGEMAP_PAGE (2u * 1024u * 1024u)

/* Under AddressSanitizer, callers use malloc instead: its checks of a
 * buffer's bounds need malloc's blocks. */
#if defined(__SANITIZE_ADDRESS__)
#define HUGEMAP_USE_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HUGEMAP_USE_MALLOC 1
#endif
#endif
#ifndef HUGEMAP_USE_MALLOC
#define HUGEMAP_USE_MALLOC 0
#endif

/* len bytes rounded up to whole huge pages. */
size_t hugemap_len(size_t len);
/* A 2 MiB-aligned mapping of hugemap_len(len) bytes, advised to use huge
 * pages (a hint: without them it is ordinary memory), or NULL. */
uint8_t *hugemap_new(size_t len);
/* Unmaps what hugemap_new(len) gave (NULL: nothing). */
void hugemap_free(uint8_t *p, size_t len);

#endif
