/*
 * collection.h - backup collections (doc/FORMAT.md section 5): the
 * subcommands backup, backups, restore and verify.
 */
#ifndef SLUICE_COLLECTION_H
#define SLUICE_COLLECTION_H

/* 1 if argv1 names a collection subcommand. */
int collection_command(const char *argv1);
/* Parses and runs one; returns the exit status. */
int collection_main(int argc, char **argv);

#endif
