/*
 * chainspec.h - the --chain syntax: stages separated by commas, each a
 * name followed by ":key=value" parameters, e.g.
 *     zstd:level=9,aes-256-gcm:iter=200000
 * The result is a header (stage list) not yet sealed.
 */
#ifndef SLUICE_CHAINSPEC_H
#define SLUICE_CHAINSPEC_H

#include "header.h"

int chainspec_parse(const char *spec, header *into, sluice_error *err);

#endif
