/*
 * archive-madeset.h - the directories an extraction made itself, by
 * name: a file in one of them is created under its own name at once
 * (archive-extract.c, job_create).  In path order a directory's members
 * need not follow it: "a", "a-b", "a-b/x", then "a/y"; remembering only
 * the last one made sent most files of a real tree the temporary way.
 * Memory grows with the directories made, as the list of their final
 * metadata does.
 */
#ifndef SLUICE_ARCHIVE_MADESET_H
#define SLUICE_ARCHIVE_MADESET_H

#include <stddef.h>

typedef struct madeset madeset;

madeset *madeset_new(void);
void madeset_free(madeset *m);
/* Adds path[0..len); 0, or -1 out of memory (the set stays usable). */
int madeset_add(madeset *m, const char *path, size_t len);
/* 1 if path[0..len) was added. */
int madeset_has(const madeset *m, const char *path, size_t len);

#endif
