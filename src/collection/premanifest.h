/*
 * premanifest.h - a backup's MANIFEST written while its data objects are
 * stored.  Once planned, everything but the object records is known, and
 * writing 35k entries (5 MB of text) took 0.06 s after the last object,
 * then compressing and sealing them 0.03 s more, with the cores otherwise
 * idle.  So a thread of its own, at a low priority (it takes what the
 * objects leave of the cores), formats the head and stores it as far as
 * it can: the object is put as a stream that waits for its tail.  The
 * commit hands over the object records and the stream ends; until then
 * nothing is stored (a put ends as a whole object or not at all).  The
 * manifest must not change in between (an entry left out as changed:
 * drop this one and write the manifest again whole).
 */
#ifndef SLUICE_PREMANIFEST_H
#define SLUICE_PREMANIFEST_H

#include <stddef.h>

#include "manifest.h"
#include "objstore.h"

typedef struct premanifest premanifest;

/* Starts writing m's head and putting it as object `name` of root
 * (through o, which must outlive p); NULL if no thread could start
 * (write it all at the commit then).  m is read until
 * premanifest_finish/free. */
premanifest *premanifest_start(const manifest *m, objstore *o,
                               const char *root, const char *name);
/* Appends m's tail and waits for the put to end: 1, stored (*stored:
 * its size), or the put's negative status with *err; 0 when the head
 * could not be written (write the manifest whole instead).  p is freed. */
int premanifest_finish(premanifest *p, const manifest *m, uint64_t *stored,
                       os_err *err);
/* Gives the put up (nothing stored) and frees p (NULL: nothing). */
void premanifest_free(premanifest *p);

#endif
