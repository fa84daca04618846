/*
 * aesgcm-encinfo.h - reads the salt out of the reference system's
 * plaintext ENCRYPTION-INFO file: a protobuf message whose field 2
 * (bytes) holds the 16-byte salt, i.e. the bytes 0x12 0x10 followed by
 * the salt.  Other fields are skipped.  The aes-256-gcm stage's run-time
 * option encryption-info=PATH (`sluice decrypt-object --encryption-info`)
 * reads it; the core knows nothing of the format.
 */
#ifndef SLUICE_AESGCM_ENCINFO_H
#define SLUICE_AESGCM_ENCINFO_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>

#include "aesgcm-object.h"

/* 0 with salt filled, or SLUICE_E_FORMAT with err set. */
AESGCM_API int encinfo_salt(const uint8_t *buf, size_t len,
                            uint8_t salt[AESGCM_SALT_LEN], sluice_error *err);
/* As encinfo_salt, from a file: SLUICE_E_IO if it cannot be read. */
AESGCM_API int encinfo_read_file(const char *path,
                                 uint8_t salt[AESGCM_SALT_LEN],
                                 sluice_error *err);

#endif
