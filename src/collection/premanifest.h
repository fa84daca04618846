/*
 * premanifest.h - a backup's MANIFEST written while its data objects are
 * stored.  Once planned, everything but the object records is known, and
 * writing 35k entries (5 MB) took 0.06 s after the last object, with the
 * cores otherwise idle.  The head is written on a thread of its own at a
 * low priority (it takes what the objects leave of the cores); the object
 * records are appended at the commit.  The manifest must not change in
 * between (an entry left out as changed: write it again whole instead).
 */
#ifndef SLUICE_PREMANIFEST_H
#define SLUICE_PREMANIFEST_H

#include <stddef.h>

#include "manifest.h"

typedef struct premanifest premanifest;

/* Starts writing m's head; NULL if no thread could start (write it all
 * at the commit then).  m is read until premanifest_finish/free. */
premanifest *premanifest_start(const manifest *m);
/* Waits for the head, appends m's tail and hands over the whole text in
 * *buf (malloc'ed), *len.  0, or -1 (out of memory).  p is freed. */
int premanifest_finish(premanifest *p, const manifest *m, char **buf,
                       size_t *len);
/* Waits for the head and drops it (NULL: nothing). */
void premanifest_free(premanifest *p);

#endif
