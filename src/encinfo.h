/*
 * encinfo.h - reads the salt out of the reference system's plaintext
 * ENCRYPTION-INFO file: a protobuf message whose field 2 (bytes) holds
 * the 16-byte salt, i.e. the bytes 0x12 0x10 followed by the salt.  Other
 * fields are skipped.  Used by `sluice decrypt-object --encryption-info`.
 */
#ifndef SLUICE_ENCINFO_H
#define SLUICE_ENCINFO_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/plugin.h"

#define ENCINFO_SALT_LEN 16

int encinfo_salt(const uint8_t *buf, size_t len,
                 uint8_t salt[ENCINFO_SALT_LEN], sluice_error *err);
int encinfo_read_file(const char *path, uint8_t salt[ENCINFO_SALT_LEN],
                      sluice_error *err);

#endif
