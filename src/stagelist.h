/*
 * stagelist.h - `sluice stages [-v] [NAME]`: the stages the loader finds,
 * with their roles, ABI and file; with -v (or for one NAME) also the
 * parameters and options each declares (ABI 1.2).
 */
#ifndef SLUICE_STAGELIST_H
#define SLUICE_STAGELIST_H

#include "loader.h"

/* Prints the table on stdout.  name: only that stage (with its keys);
 * NULL: every stage.  Returns an exit status: 0; 2 when name is no stage
 * there is; 6 when no plugin was found at all. */
int stagelist_print(loader *l, const char *name, int verbose);

#endif
