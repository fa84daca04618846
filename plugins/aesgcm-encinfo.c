/* aesgcm-encinfo.c - the salt from an ENCRYPTION-INFO protobuf; see
 * aesgcm-encinfo.h. */
#include "aesgcm-encinfo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ENCINFO_MAX 4096 /* the real file is 18 bytes; refuse the absurd */

static int read_varint(const uint8_t *buf, size_t len, size_t *pos,
                       uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= len)
            return -1;
        uint8_t b = buf[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

int encinfo_salt(const uint8_t *buf, size_t len,
                 uint8_t salt[AESGCM_SALT_LEN], sluice_error *err)
{
    size_t pos = 0;
    int found = 0;
    while (pos < len) {
        uint64_t key, v;
        if (read_varint(buf, len, &pos, &key) < 0)
            goto bad;
        unsigned field = (unsigned)(key >> 3), wire = (unsigned)(key & 7);
        switch (wire) {
        case 0: /* varint */
            if (read_varint(buf, len, &pos, &v) < 0)
                goto bad;
            break;
        case 1: /* 64-bit */
            if (len - pos < 8)
                goto bad;
            pos += 8;
            break;
        case 5: /* 32-bit */
            if (len - pos < 4)
                goto bad;
            pos += 4;
            break;
        case 2: /* length-delimited */
            if (read_varint(buf, len, &pos, &v) < 0 || v > len - pos)
                goto bad;
            if (field == 2) {
                if (v != AESGCM_SALT_LEN)
                    return sluice_error_set(err, SLUICE_E_FORMAT,
                                            "salt field holds %llu bytes, "
                                            "expected %d",
                                            (unsigned long long)v,
                                            AESGCM_SALT_LEN);
                memcpy(salt, buf + pos, AESGCM_SALT_LEN);
                found = 1;
            }
            pos += (size_t)v;
            break;
        default:
            goto bad;
        }
    }
    if (!found)
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "no salt (field 2) in ENCRYPTION-INFO");
    return 0;
bad:
    return sluice_error_set(err, SLUICE_E_FORMAT,
                            "not an ENCRYPTION-INFO protobuf (malformed at "
                            "byte %zu)", pos);
}

int encinfo_read_file(const char *path, uint8_t salt[AESGCM_SALT_LEN],
                      sluice_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sluice_error_set(err, SLUICE_E_IO, "cannot open %s: %s", path,
                                strerror(errno));
    uint8_t buf[ENCINFO_MAX + 1];
    size_t n = fread(buf, 1, sizeof buf, f);
    int failed = ferror(f);
    fclose(f);
    if (failed)
        return sluice_error_set(err, SLUICE_E_IO, "cannot read %s", path);
    if (n > ENCINFO_MAX)
        return sluice_error_set(err, SLUICE_E_FORMAT,
                                "%s is too large for an ENCRYPTION-INFO file",
                                path);
    return encinfo_salt(buf, n, salt, err);
}
