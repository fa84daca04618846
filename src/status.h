/*
 * status.h - exit statuses, documented in sluice(1) and doc/EXIT.md:
 *
 *   0  success
 *   1  completed, but incomplete: some input could not be read (as tar)
 *   2  usage: bad option, argument or parameter
 *   3  I/O: reading or writing storage failed (network included)
 *   4  format: input corrupt, truncated, or not a sluice stream
 *   5  authentication: wrong passphrase, or data tampered with
 *   6  plugin: a stage is missing or built for another ABI
 *   7  internal error or out of memory
 *   128+N  killed by signal N (SIGINT 130, SIGTERM 143, SIGPIPE 141),
 *          after cleaning up
 */
#ifndef SLUICE_STATUS_H
#define SLUICE_STATUS_H

enum exit_status {
    EXIT_OK = 0,
    EXIT_INCOMPLETE = 1,
    EXIT_USAGE = 2,
    EXIT_IO = 3,
    EXIT_FORMAT = 4,
    EXIT_AUTH = 5,
    EXIT_PLUGIN = 6,
    EXIT_INTERNAL = 7
};

int status_to_exit(int status);

#endif
