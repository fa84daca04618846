/*
 * fuzz-header.c - libFuzzer target for the sluice/1 header parser
 * (header_parse in src/header.c), linked with src/header.c and src/util.c.
 *
 * Beyond "no crash, no leak, no UB" it checks the parser's contract
 * (src/header.h, doc/FORMAT.md):
 *   - the result is 1, 0 (needs more; only below 64 KiB) or
 *     SLUICE_E_FORMAT/SLUICE_E_NOMEM, with a one-line message on error;
 *   - an accepted header obeys every rule of doc/FORMAT.md section 1:
 *     at most 32 stages, valid names/keys/values, no duplicate key,
 *     printable ASCII only, at most 64 KiB, MAC lowercase hex of even
 *     length <= 128;
 *   - it is canonical: rebuilding it from the parsed stages with
 *     header_add_stage/header_seal/header_render gives the same bytes;
 *   - parsing is prefix-stable: the header's own bytes alone parse the
 *     same, and every shorter prefix asks for more (returns 0) or fails
 *     the same way as the whole (so a stream arriving in pieces cannot be
 *     read differently from one arriving at once, as engine.c relies on).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "header.h"

#define BUG(...)                                                          \
    do {                                                                  \
        fprintf(stderr, "\n*** fuzz-header: " __VA_ARGS__);               \
        fputc('\n', stderr);                                              \
        abort();                                                          \
    } while (0)

static void check_message(int rc, const sluice_error *err)
{
    if (rc != SLUICE_E_FORMAT && rc != SLUICE_E_NOMEM)
        BUG("header_parse returned %d", rc);
    if (!memchr(err->message, '\0', sizeof err->message) || !err->message[0])
        BUG("error without a NUL-terminated message");
    if (strchr(err->message, '\n'))
        BUG("error message spans lines: %s", err->message);
}

static int same_header(const header *a, const header *b)
{
    if (a->n_stages != b->n_stages || a->total_len != b->total_len ||
        a->signed_len != b->signed_len ||
        memcmp(a->signed_bytes, b->signed_bytes, a->signed_len) != 0)
        return 0;
    if (!a->mac_hex != !b->mac_hex ||
        (a->mac_hex && strcmp(a->mac_hex, b->mac_hex) != 0))
        return 0;
    return 1;
}

static void check_accepted(const uint8_t *data, size_t size, const header *h)
{
    if (h->total_len == 0 || h->total_len > size ||
        h->total_len > HEADER_MAX_BYTES)
        BUG("total_len %zu out of range (input %zu)", h->total_len, size);
    if (data[h->total_len - 1] != '\n')
        BUG("header does not end in a newline");
    if (h->n_stages > HEADER_MAX_STAGES)
        BUG("%zu stages accepted", h->n_stages);
    for (size_t i = 0; i < h->total_len; i++)
        if (data[i] != '\n' && (data[i] < 0x20 || data[i] > 0x7e))
            BUG("byte 0x%02x at %zu accepted", data[i], i);
    for (size_t i = 0; i < h->n_stages; i++) {
        const header_stage *st = &h->stages[i];
        if (!stage_name_valid(st->name, strlen(st->name)))
            BUG("invalid stage name accepted: %s", st->name);
        for (size_t j = 0; j < st->n_params; j++) {
            const sluice_kv *kv = &st->params[j];
            if (!param_key_valid(kv->key, strlen(kv->key)) ||
                !param_value_valid(kv->value, strlen(kv->value)))
                BUG("invalid parameter accepted: %s=%s", kv->key, kv->value);
            for (size_t k = 0; k < j; k++)
                if (!strcmp(st->params[k].key, kv->key))
                    BUG("duplicate key accepted: %s", kv->key);
        }
    }
    if (h->mac_hex) {
        size_t n = strlen(h->mac_hex);
        if (n == 0 || n % 2 || n > 2 * SLUICE_MAC_MAX)
            BUG("MAC of %zu digits accepted", n);
        for (size_t i = 0; i < n; i++)
            if (!strchr("0123456789abcdef", h->mac_hex[i]))
                BUG("MAC digit '%c' accepted", h->mac_hex[i]);
    }

    /* Canonical: rebuilding it gives the same bytes. */
    header *r = header_new();
    sluice_error e = {0};
    if (!r)
        return;
    for (size_t i = 0; i < h->n_stages; i++)
        if (header_add_stage(r, h->stages[i].name, h->stages[i].params,
                             h->stages[i].n_params, &e) < 0)
            BUG("a parsed stage cannot be added again: %s", e.message);
    int rc = header_seal(r, &e);
    if (rc == 0) {
        uint8_t *bytes = NULL;
        size_t len = 0;
        if (header_render(r, h->mac_hex, &bytes, &len) == 0) {
            if (len != h->total_len || memcmp(bytes, data, len) != 0)
                BUG("rebuilding the parsed header gives other bytes");
            if (r->signed_len != h->signed_len ||
                memcmp(r->signed_bytes, h->signed_bytes, h->signed_len))
                BUG("signed bytes differ from the rebuilt header's");
        }
        free(bytes);
    } else if (rc != SLUICE_E_USAGE) {
        /* header_seal refuses a header that leaves no room for a MAC;
         * anything else is unexpected. */
        BUG("header_seal failed: %d %s", rc, e.message);
    }
    header_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    header *h = NULL;
    int not_sluice = 0;
    sluice_error err = {0};
    /* header_parse reads buf[0] etc.: give it an exact-size heap copy so
     * any over-read is an ASan report. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    int rc = header_parse(buf, size, &h, &not_sluice, &err);
    if (rc == 1) {
        if (!h)
            BUG("accepted without a header");
        check_accepted(buf, size, h);
        /* Its own bytes alone parse the same. */
        header *h2 = NULL;
        int ns2 = 0;
        sluice_error e2 = {0};
        int rc2 = header_parse(buf, h->total_len, &h2, &ns2, &e2);
        if (rc2 != 1 || !same_header(h, h2))
            BUG("the header alone parses differently (%d)", rc2);
        header_free(h2);
    } else if (rc == 0) {
        if (h)
            BUG("header set although more input is needed");
        if (size >= HEADER_MAX_BYTES)
            BUG("asks for more input after %zu bytes", size);
    } else {
        if (h)
            BUG("header set on error");
        check_message(rc, &err);
    }
    /* Shorter prefixes: need more, or the same verdict. */
    if (size > 0) {
        size_t cut = (size_t)data[size - 1] * 257 % size;
        header *h3 = NULL;
        int ns3 = 0;
        sluice_error e3 = {0};
        int rc3 = header_parse(buf, cut, &h3, &ns3, &e3);
        if (rc == 1 && cut < h->total_len && rc3 != 0)
            BUG("prefix of %zu bytes of a valid header: %d (%s)", cut, rc3,
                e3.message);
        if (rc == 1 && cut >= h->total_len && (rc3 != 1 || !same_header(h, h3)))
            BUG("a prefix holding the whole header parses differently");
        if (rc3 < 0)
            check_message(rc3, &e3);
        if (ns3 && !not_sluice && rc != 0 && cut >= 1)
            BUG("a prefix is 'not sluice' but the whole is not");
        header_free(h3);
    }
    header_free(h);
    free(buf);
    return 0;
}
