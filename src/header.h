/*
 * header.h - the `sluice/1` chain descriptor at the start of every stream
 * (format: doc/FORMAT.md).
 *
 *   sluice/1\n
 *   <stage>[ <key>=<value>]...\n      one line per stage, backup order
 *   ---[ <mac>]\n
 */
#ifndef SLUICE_HEADER_H
#define SLUICE_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/plugin.h"

#define HEADER_MAGIC "sluice/1\n"
#define HEADER_MAGIC_LEN 9
#define HEADER_MAX_BYTES (64u * 1024u)
#define HEADER_MAX_STAGES 32
#define STAGE_NAME_MAX 64

typedef struct header_stage {
    char *name;
    sluice_kv *params;
    size_t n_params;
} header_stage;

typedef struct header {
    header_stage stages[HEADER_MAX_STAGES];
    size_t n_stages;
    /* The exact bytes from "sluice/1" through "---": what a MAC covers. */
    uint8_t *signed_bytes;
    size_t signed_len;
    char *mac_hex;  /* NULL when the line is "---" alone */
    size_t total_len; /* header bytes including the final newline */
} header;

/* Name rules shared by the header, the chain spec and the loader. */
int stage_name_valid(const char *s, size_t len);
int param_key_valid(const char *s, size_t len);
int param_value_valid(const char *s, size_t len);

header *header_new(void);
void header_free(header *h);
/* Appends a stage (name and params copied); validates them. */
int header_add_stage(header *h, const char *name, const sluice_kv *params,
                     size_t n_params, sluice_error *err);
/* Appends key=value (lengths given) to a stage; validates both. */
int header_stage_add_param(header_stage *st, const char *key, size_t key_len,
                           const char *value, size_t value_len,
                           sluice_error *err);
/* Builds signed_bytes from the stages. */
int header_seal(header *h, sluice_error *err);
/* Renders the final line ("---\n" or "--- <mac>\n") after signed_bytes. */
int header_render(const header *h, const char *mac_hex, uint8_t **out,
                  size_t *out_len);

/* Parses buf[0..len).  Returns 1 with *out set and (*out)->total_len the
 * bytes used; 0 when more bytes are needed (len < HEADER_MAX_BYTES and no
 * terminator yet); SLUICE_E_FORMAT with a message otherwise.  A buffer
 * that cannot start a sluice stream is reported with *not_sluice = 1. */
int header_parse(const uint8_t *buf, size_t len, header **out,
                 int *not_sluice, sluice_error *err);

#endif
