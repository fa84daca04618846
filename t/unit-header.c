/*
 * unit-header.c - the sluice/1 header: header_parse on valid, incomplete
 * and hostile input (doc/FORMAT.md section 1), and header_seal/render
 * round trips.  Speaks TAP.
 *
 * Every buffer handed to header_parse is an exact-size heap copy, so a
 * sanitizer build catches any read past its end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/header.h"
#include "tap.h"

/* Parses an exact-size copy of s[0..len). */
static int parse_n(const char *s, size_t len, header **h, int *not_sluice,
                   sluice_error *err)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        bail("out of memory");
    memcpy(copy, s, len);
    memset(err, 0, sizeof *err);
    *h = NULL;
    int rc = header_parse(copy, len, h, not_sluice, err);
    free(copy);
    return rc;
}

static int parse_s(const char *s, header **h, int *not_sluice,
                   sluice_error *err)
{
    return parse_n(s, strlen(s), h, not_sluice, err);
}

/* Expects s to be refused as SLUICE_E_FORMAT with a message containing
 * `needle` (if given), not flagged as "not sluice". */
static void refused(const char *s, size_t len, const char *needle,
                    const char *what)
{
    header *h;
    int ns = -1;
    sluice_error err;
    int rc = parse_n(s, len, &h, &ns, &err);
    is_int(rc, SLUICE_E_FORMAT, "%s: refused as a format error", what);
    ok(h == NULL, "%s: no header returned", what);
    ok(err.code == SLUICE_E_FORMAT && err.message[0] != '\0',
       "%s: error has code and message", what);
    ok(strchr(err.message, '\n') == NULL, "%s: message is one line", what);
    if (needle)
        like(err.message, needle, "%s: message names the problem", what);
    ok(ns == 0, "%s: still recognised as a sluice stream", what);
    header_free(h);
}

static void refused_s(const char *s, const char *needle, const char *what)
{
    refused(s, strlen(s), needle, what);
}

static void accepted(const char *s, size_t len, const char *what)
{
    header *h;
    int ns;
    sluice_error err;
    int rc = parse_n(s, len, &h, &ns, &err);
    if (!is_int(rc, 1, "%s: accepted", what))
        diag("error: %s", err.message);
    header_free(h);
}

/* A string of n copies of c. */
static char *rep(char c, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        bail("out of memory");
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void test_valid(void)
{
    header *h;
    int ns;
    sluice_error err;

    const char *min = "sluice/1\n---\n";
    is_int(parse_s(min, &h, &ns, &err), 1, "minimal header parses");
    if (h) {
        is_int((long long)h->n_stages, 0, "minimal: no stages");
        is_int((long long)h->total_len, 13, "minimal: total_len 13");
        is_int((long long)h->signed_len, 12, "minimal: signed through ---");
        ok(h->mac_hex == NULL, "minimal: no MAC");
        ok(memcmp(h->signed_bytes, "sluice/1\n---", 12) == 0,
           "minimal: signed bytes");
    } else {
        skip(5, "no header");
    }
    header_free(h);

    const char *z = "sluice/1\nzstd level=3\n---\n\x28\xb5\x2f\xfd body";
    is_int(parse_s(z, &h, &ns, &err), 1, "zstd header with a body parses");
    if (h) {
        is_int((long long)h->n_stages, 1, "zstd: one stage");
        is_str(h->stages[0].name, "zstd", "zstd: stage name");
        is_int((long long)h->stages[0].n_params, 1, "zstd: one parameter");
        if (h->stages[0].n_params == 1) {
            is_str(h->stages[0].params[0].key, "level", "zstd: key");
            is_str(h->stages[0].params[0].value, "3", "zstd: value");
        } else {
            skip(2, "no parameter");
        }
        is_int((long long)h->total_len, 26,
               "zstd: total_len stops at the header's newline");
        is_int((long long)h->signed_len, 25, "zstd: signed_len");
    } else {
        skip(7, "no header");
    }
    header_free(h);

    /* The vector of doc/FORMAT.md for -z -e (MAC made up). */
    const char *mac64 =
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    char buf[512];
    snprintf(buf, sizeof buf,
             "sluice/1\nzstd level=3\naes-256-gcm kdf=pbkdf2-sha256 "
             "iter=64000 salt=000102030405060708090a0b0c0d0e0f\n--- %s\n",
             mac64);
    is_int(parse_s(buf, &h, &ns, &err), 1, "header with MAC parses");
    if (h) {
        is_int((long long)h->n_stages, 2, "MAC: two stages");
        is_str(h->mac_hex, mac64, "MAC: hex kept");
        is_int((long long)h->total_len, (long long)strlen(buf),
               "MAC: total_len");
        const char *dashes = strstr(buf, "---");
        is_int((long long)h->signed_len, (long long)(dashes + 3 - buf),
               "MAC: signed bytes end with the dashes");
        is_int((long long)h->stages[1].n_params, 3, "MAC: three params");
        is_str(sluice_kv_get(h->stages[1].params, h->stages[1].n_params,
                             "salt"),
               "000102030405060708090a0b0c0d0e0f", "MAC: salt value");
    } else {
        skip(6, "no header");
    }
    header_free(h);

    accepted("sluice/1\nzstd\n---\n", 18, "stage without parameters");
    const char *twice = "sluice/1\nzstd level=3\nzstd level=19\n---\n";
    is_int(parse_s(twice, &h, &ns, &err), 1,
           "the same stage twice is allowed");
    if (h)
        is_str(h->stages[1].params[0].value, "19", "second line's value");
    else
        skip(1, "no header");
    header_free(h);
    accepted("sluice/1\nx k=\n---\n", 18, "empty value allowed");
    const char *allv =
        "sluice/1\na0._-z k_-0=AZaz09._:/+=-\n---\n";
    accepted(allv, strlen(allv), "every allowed name/key/value character");
    accepted("sluice/1\nzstd x=---\n---\n", 24,
             "'---' inside a value is not a terminator");

    /* A name of exactly 64 and a key of exactly 64 characters. */
    char *n64 = rep('a', 64), *k64 = rep('k', 64);
    snprintf(buf, sizeof buf, "sluice/1\n%s %s=1\n---\n", n64, k64);
    accepted(buf, strlen(buf), "64-character name and key");
    free(n64);
    free(k64);

    /* Body bytes after the header can be anything. */
    const char bin[] = "sluice/1\n---\n\x00\xff\x80\n---\n";
    is_int(parse_n(bin, sizeof bin - 1, &h, &ns, &err), 1,
           "binary body after the header");
    if (h)
        is_int((long long)h->total_len, 13, "binary body: total_len");
    else
        skip(1, "no header");
    header_free(h);
}

static void test_incomplete(void)
{
    const char *full = "sluice/1\nzstd level=3\n--- abcd\n";
    size_t len = strlen(full);
    int bad = 0;
    for (size_t i = 0; i < len; i++) {
        header *h;
        int ns;
        sluice_error err;
        int rc = parse_n(full, i, &h, &ns, &err);
        if (rc != 0 || h != NULL || ns != 0) {
            if (!bad)
                diag("prefix of %zu bytes: rc %d ns %d (%s)", i, rc, ns,
                     err.message);
            bad++;
        }
        header_free(h);
    }
    is_int(bad, 0, "every proper prefix (0..%zu bytes) asks for more", len - 1);
    accepted(full, len, "the full header");

    header *h;
    int ns;
    sluice_error err;
    is_int(parse_s("sluice/", &h, &ns, &err), 0, "'sluice/' asks for more");
    is_int(parse_s("sluice/1\nzstd level=3\n--", &h, &ns, &err), 0,
           "'--' at a line start asks for more");
    is_int(parse_s("sluice/1\nzstd level=3\n---", &h, &ns, &err), 0,
           "'---' without newline asks for more");
}

static void test_not_sluice(void)
{
    struct {
        const char *s;
        size_t len;
        const char *what;
    } cases[] = {
        {"hello world\n", 12, "text"},
        {"\x28\xb5\x2f\xfd\x00\x00", 6, "a bare zstd frame"},
        {"\x1f\x8b\x08\x00", 4, "gzip"},
        {"Sluice/1\n---\n", 13, "capitalised magic"},
        {"\n", 1, "a newline"},
        {"x", 1, "one byte"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        header *h;
        int ns = 0;
        sluice_error err;
        int rc = parse_n(cases[i].s, cases[i].len, &h, &ns, &err);
        is_int(rc, SLUICE_E_FORMAT, "%s: refused", cases[i].what);
        ok(ns == 1, "%s: flagged not_sluice", cases[i].what);
        like(err.message, "not a sluice stream", "%s: says so",
             cases[i].what);
        header_free(h);
    }

    /* 4 KiB of pseudo-random bytes. */
    uint8_t rnd[4096];
    unsigned x = 12345;
    for (size_t i = 0; i < sizeof rnd; i++) {
        x = x * 1103515245u + 12345u;
        rnd[i] = (uint8_t)(x >> 16);
    }
    rnd[0] = 0x9c; /* not 's' */
    header *h;
    int ns;
    sluice_error err;
    is_int(parse_n((const char *)rnd, sizeof rnd, &h, &ns, &err),
           SLUICE_E_FORMAT, "random bytes: refused");
    ok(ns == 1, "random bytes: not_sluice");
}

static void test_version(void)
{
    refused_s("sluice/2\nzstd level=3\n---\n", "unsupported", "sluice/2");
    refused_s("sluice/2\n", "sluice/2", "sluice/2 names the version");
    refused_s("sluice/10\n---\n", "unsupported", "sluice/10");
    refused_s("sluice/0\n---\n", "unsupported", "sluice/0");
    refused_s("sluice/1\r\n---\r\n", "line ends in CR: the stream was "
              "converted to CRLF text", "CRLF magic");
    refused_s("sluice/x\n---\n", NULL, "sluice/x");
}

/* Hints follow a colon, as in every other message ("what: hint"), never
 * in parentheses. */
static void test_hint_style(void)
{
    static const struct {
        const char *s, *hint;
    } cases[] = {
        {"sluice/2\n---\n", "'sluice/2': this sluice reads sluice/1"},
        {"sluice/1\r\n---\r\n", "CR: the stream was converted"},
        {"Sluice/1\n---\n", "not a sluice stream: no sluice/1 header"},
        {"sluice/1\nZstd\n---\n", "'Zstd': names match"},
        {"sluice/1\nzstd lev\n---\n", "malformed parameter: expected"},
        {"sluice/1\nzstd\n---x\n", "'---' line: expected"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        header *h;
        int ns;
        sluice_error err;
        parse_s(cases[i].s, &h, &ns, &err);
        like(err.message, cases[i].hint, "hint after a colon: %s",
             cases[i].hint);
        ok(!strchr(err.message, '('), "no parenthesis: %s", err.message);
        header_free(h);
    }
}

static void test_stage_count(void)
{
    char buf[8192];
    for (int n = 31; n <= 33; n++) {
        size_t len = (size_t)snprintf(buf, sizeof buf, "sluice/1\n");
        for (int i = 0; i < n; i++)
            len += (size_t)snprintf(buf + len, sizeof buf - len,
                                    "zstd level=%d\n", i + 1);
        len += (size_t)snprintf(buf + len, sizeof buf - len, "---\n");
        if (n <= HEADER_MAX_STAGES) {
            header *h;
            int ns;
            sluice_error err;
            is_int(parse_n(buf, len, &h, &ns, &err), 1, "%d stages parse",
                   n);
            if (h)
                is_int((long long)h->n_stages, n, "%d stages kept", n);
            else
                skip(1, "no header");
            header_free(h);
        } else {
            refused(buf, len, "32", "33 stages");
        }
    }
    size_t len = (size_t)snprintf(buf, sizeof buf, "sluice/1\n");
    for (int i = 0; i < 40; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "zstd\n");
    len += (size_t)snprintf(buf + len, sizeof buf - len, "---\n");
    refused(buf, len, "stages", "40 stages");
}

static void test_names(void)
{
    refused_s("sluice/1\n../x\n---\n", "invalid stage name", "name '../x'");
    refused_s("sluice/1\n../../tmp/evil\n---\n", "invalid stage name",
              "name '../../tmp/evil'");
    refused_s("sluice/1\n/tmp/x\n---\n", "invalid stage name",
              "name '/tmp/x'");
    refused_s("sluice/1\nzstd/../x\n---\n", "invalid stage name",
              "name with a slash inside");
    refused_s("sluice/1\nZstd\n---\n", "invalid stage name", "uppercase name");
    refused_s("sluice/1\n.hidden\n---\n", "invalid stage name",
              "name starting with a dot");
    refused_s("sluice/1\n-x\n---\n", "invalid stage name",
              "name starting with a dash");
    refused_s("sluice/1\n_x\n---\n", "invalid stage name",
              "name starting with an underscore");
    refused_s("sluice/1\n\n---\n", "invalid stage name", "empty stage line");
    refused_s("sluice/1\n level=3\n---\n", "invalid stage name",
              "line starting with a space");
    refused_s("sluice/1\nzs~td\n---\n", "invalid stage name", "name with '~'");
    char *n65 = rep('a', 65);
    char buf[256];
    snprintf(buf, sizeof buf, "sluice/1\n%s\n---\n", n65);
    refused_s(buf, "invalid stage name", "65-character name");
    free(n65);
}

static void test_params(void)
{
    refused_s("sluice/1\nzstd Level=3\n---\n", "invalid parameter name",
              "uppercase key");
    refused_s("sluice/1\nzstd le.vel=3\n---\n", "invalid parameter name",
              "key with a dot");
    refused_s("sluice/1\nzstd =3\n---\n", "invalid parameter name",
              "empty key");
    refused_s("sluice/1\nzstd level\n---\n", "malformed", "key without '='");
    refused_s("sluice/1\nzstd level=3 \n---\n", "malformed",
              "trailing space");
    refused_s("sluice/1\nzstd  level=3\n---\n", "malformed", "double space");
    refused_s("sluice/1\nzstd level=3  x=1\n---\n", "malformed",
              "double space between parameters");
    refused_s("sluice/1\nzstd \n---\n", "malformed", "name and a space");
    refused_s("sluice/1\nzstd level=a\"b\n---\n", "invalid value",
              "value with a quote");
    refused_s("sluice/1\nzstd level=a,b\n---\n", "invalid value",
              "value with a comma");
    refused_s("sluice/1\nzstd p=~/x\n---\n", "invalid value",
              "value with a tilde");
    refused_s("sluice/1\nzstd level=3 level=4\n---\n", "twice",
              "duplicate key");
    refused_s("sluice/1\nzstd a=1 b=2 a=3\n---\n", "twice",
              "duplicate key, not adjacent");
    char *k65 = rep('k', 65);
    char buf[256];
    snprintf(buf, sizeof buf, "sluice/1\nzstd %s=1\n---\n", k65);
    refused_s(buf, "invalid parameter name", "65-character key");
    free(k65);
}

static void test_bytes(void)
{
    refused_s("sluice/1\nzstd level=3\t\n---\n", "non-printable",
              "tab (FORMAT.md vector)");
    refused_s("sluice/1\nzstd level=3\r\n---\n", "non-printable",
              "carriage return");
    refused_s("sluice/1\nz\xc3\xa9std\n---\n", "non-ASCII", "UTF-8 in a name");
    refused_s("sluice/1\nzstd v=\xff\n---\n", "non-ASCII",
              "0xff in a value");
    refused_s("sluice/1\nzstd v=\x7f\n---\n", NULL, "DEL in a value");
    const char nul[] = "sluice/1\nzs\0td\n---\n";
    refused(nul, sizeof nul - 1, "offset", "NUL in a name");
    refused_s("sluice/1\nzstd\n--- ab\x01\n", NULL, "control byte in the MAC");
}

static void test_mac(void)
{
    header *h;
    int ns;
    sluice_error err;
    is_int(parse_s("sluice/1\nzstd\n--- abcd\n", &h, &ns, &err), 1,
           "'--- abcd' parses");
    if (h) {
        is_str(h->mac_hex, "abcd", "MAC kept");
        is_int((long long)h->signed_len, 17, "MAC excluded from signed bytes");
    } else {
        skip(2, "no header");
    }
    header_free(h);
    char *hex128 = rep('f', 128), *hex130 = rep('0', 130);
    char buf[512];
    snprintf(buf, sizeof buf, "sluice/1\n--- %s\n", hex128);
    accepted(buf, strlen(buf), "128 hex digits (SLUICE_MAC_MAX bytes)");
    snprintf(buf, sizeof buf, "sluice/1\n--- %s\n", hex130);
    refused_s(buf, "malformed '---'", "130 hex digits");
    free(hex128);
    free(hex130);
    refused_s("sluice/1\nzstd\n--- ABCD\n", "malformed '---'",
              "uppercase MAC (FORMAT.md vector)");
    refused_s("sluice/1\nzstd\n---x\n", "malformed '---'",
              "'---x' (FORMAT.md vector)");
    refused_s("sluice/1\nzstd\n----\n", "malformed '---'", "'----'");
    refused_s("sluice/1\nzstd\n--- abc\n", "malformed '---'",
              "odd number of hex digits");
    refused_s("sluice/1\nzstd\n--- \n", "malformed '---'", "'--- ' alone");
    refused_s("sluice/1\nzstd\n---  abcd\n", "malformed '---'",
              "two spaces before the MAC");
    refused_s("sluice/1\nzstd\n--- abcd \n", "malformed '---'",
              "space after the MAC");
    refused_s("sluice/1\nzstd\n--- 00gg\n", "malformed '---'",
              "non-hex MAC");
}

static void test_size(void)
{
    /* One stage line with a long value: header of exactly `total` bytes. */
    const char *pre = "sluice/1\nx v=", *post = "\n---\n";
    for (size_t total = HEADER_MAX_BYTES - 1; total <= HEADER_MAX_BYTES + 1;
         total++) {
        size_t vlen = total - strlen(pre) - strlen(post);
        char *buf = malloc(total + 16);
        if (!buf)
            bail("out of memory");
        memcpy(buf, pre, strlen(pre));
        memset(buf + strlen(pre), 'v', vlen);
        memcpy(buf + strlen(pre) + vlen, post, strlen(post));
        memcpy(buf + total, "BODYBODYBODY", 12);
        header *h;
        int ns;
        sluice_error err;
        int rc = parse_n(buf, total + 12, &h, &ns, &err);
        if (total <= HEADER_MAX_BYTES) {
            if (!is_int(rc, 1, "header of %zu bytes parses", total))
                diag("%s", err.message);
            if (h)
                is_int((long long)h->total_len, (long long)total,
                       "header of %zu bytes: total_len", total);
            else
                skip(1, "no header");
        } else {
            is_int(rc, SLUICE_E_FORMAT, "header of %zu bytes refused", total);
            like(err.message, "larger than", "oversize message");
        }
        header_free(h);
        free(buf);
    }

    /* No terminator at all. */
    size_t len = HEADER_MAX_BYTES + 100;
    char *buf = malloc(len);
    if (!buf)
        bail("out of memory");
    memcpy(buf, "sluice/1\n", 9);
    for (size_t i = 9; i < len; i++)
        buf[i] = (i % 20 == 19) ? '\n' : 'a';
    header *h;
    int ns;
    sluice_error err;
    is_int(parse_n(buf, HEADER_MAX_BYTES - 1, &h, &ns, &err), 0,
           "64 KiB - 1 bytes of stage lines: asks for more");
    refused(buf, HEADER_MAX_BYTES, "larger than",
            "64 KiB of stage lines without terminator");
    refused(buf, len, "larger than",
            "more than 64 KiB without terminator");
    /* Many stage lines, terminated only after 64 KiB. */
    memcpy(buf + len - 4, "---\n", 4);
    refused(buf, len, "larger than", "terminator after 64 KiB");
    free(buf);
}

/* Builds a header, renders it, parses it back. */
static void test_roundtrip(void)
{
    sluice_error err = {0};
    header *h = header_new();
    ok(h != NULL, "header_new");
    sluice_kv zp[] = {{"level", "19"}};
    sluice_kv ap[] = {{"kdf", "pbkdf2-sha256"},
                      {"iter", "64000"},
                      {"salt", "000102030405060708090a0b0c0d0e0f"}};
    is_int(header_add_stage(h, "zstd", zp, 1, &err), 0, "add zstd");
    is_int(header_add_stage(h, "aes-256-gcm", ap, 3, &err), 0, "add aes");
    is_int(header_add_stage(h, "x.y_z-0", NULL, 0, &err), 0,
           "add a stage without params");
    is_int(header_seal(h, &err), 0, "seal");
    const char *want = "sluice/1\nzstd level=19\naes-256-gcm kdf=pbkdf2-sha256 "
                       "iter=64000 salt=000102030405060708090a0b0c0d0e0f\n"
                       "x.y_z-0\n---";
    is_int((long long)h->signed_len, (long long)strlen(want),
           "signed_len as expected");
    ok(h->signed_bytes && memcmp(h->signed_bytes, want, strlen(want)) == 0,
       "signed bytes as expected");

    for (int with_mac = 0; with_mac <= 1; with_mac++) {
        uint8_t *out = NULL;
        size_t out_len = 0;
        const char *mac = with_mac ? "0123456789abcdef" : NULL;
        is_int(header_render(h, mac, &out, &out_len), 0, "render (mac %d)",
               with_mac);
        size_t expect_len = strlen(want) + 1 + (mac ? 1 + strlen(mac) : 0);
        is_int((long long)out_len, (long long)expect_len,
               "rendered length (mac %d)", with_mac);
        header *back;
        int ns;
        sluice_error e2;
        int rc = parse_n((const char *)out, out_len, &back, &ns, &e2);
        is_int(rc, 1, "rendered header parses back (mac %d)", with_mac);
        if (back) {
            int same = back->n_stages == h->n_stages;
            for (size_t i = 0; same && i < h->n_stages; i++) {
                same = strcmp(back->stages[i].name, h->stages[i].name) == 0 &&
                       back->stages[i].n_params == h->stages[i].n_params;
                for (size_t j = 0; same && j < h->stages[i].n_params; j++)
                    same = !strcmp(back->stages[i].params[j].key,
                                   h->stages[i].params[j].key) &&
                           !strcmp(back->stages[i].params[j].value,
                                   h->stages[i].params[j].value);
            }
            ok(same, "stages and params survive (mac %d)", with_mac);
            is_int((long long)back->total_len, (long long)out_len,
                   "total_len = rendered length (mac %d)", with_mac);
            ok(back->signed_len == h->signed_len &&
                   memcmp(back->signed_bytes, h->signed_bytes,
                          h->signed_len) == 0,
               "signed bytes survive (mac %d)", with_mac);
            is_str(back->mac_hex, mac, "MAC survives (mac %d)", with_mac);
        } else {
            skip(4, "no header");
        }
        header_free(back);
        free(out);
    }
    header_free(h);

    /* An empty chain renders as the FORMAT.md vector. */
    h = header_new();
    uint8_t *out = NULL;
    size_t out_len = 0;
    ok(header_seal(h, &err) == 0 && header_render(h, NULL, &out, &out_len) == 0,
       "empty chain seals and renders");
    ok(out && out_len == 13 && memcmp(out, "sluice/1\n---\n", 13) == 0,
       "empty chain renders as \"sluice/1\\n---\\n\"");
    free(out);
    header_free(h);

    /* 32 stages round trip; a 33rd is refused when building too. */
    h = header_new();
    int rc = 0;
    for (int i = 0; i < HEADER_MAX_STAGES && rc == 0; i++)
        rc = header_add_stage(h, "zstd", zp, 1, &err);
    is_int(rc, 0, "32 stages can be built");
    rc = header_add_stage(h, "zstd", zp, 1, &err);
    ok(rc < 0, "a 33rd stage is refused");
    ok(header_seal(h, &err) == 0 && header_render(h, NULL, &out, &out_len) == 0,
       "32 stages seal and render");
    header *back;
    int ns;
    sluice_error e2;
    is_int(parse_n((const char *)out, out_len, &back, &ns, &e2), 1,
           "32 rendered stages parse back");
    header_free(back);
    free(out);
    header_free(h);
}

static void test_build_validation(void)
{
    sluice_error err;
    header *h = header_new();
    memset(&err, 0, sizeof err);
    ok(header_add_stage(h, "../x", NULL, 0, &err) < 0,
       "building: name '../x' refused");
    ok(header_add_stage(h, "", NULL, 0, &err) < 0,
       "building: empty name refused");
    sluice_kv badv[] = {{"level", "3 x=1"}};
    ok(header_add_stage(h, "zstd", badv, 1, &err) < 0,
       "building: a value with a space is refused (no header injection)");
    sluice_kv badnl[] = {{"level", "3\nevil"}};
    header_free(h);
    h = header_new();
    ok(header_add_stage(h, "zstd", badnl, 1, &err) < 0,
       "building: a value with a newline is refused");
    header_free(h);
    h = header_new();
    sluice_kv badk[] = {{"Level", "3"}};
    ok(header_add_stage(h, "zstd", badk, 1, &err) < 0,
       "building: an uppercase key is refused");
    header_free(h);
    h = header_new();
    sluice_kv dup[] = {{"level", "3"}, {"level", "4"}};
    ok(header_add_stage(h, "zstd", dup, 2, &err) < 0,
       "building: a duplicate key is refused");
    header_free(h);

    /* A header too big to seal (values of ~4000 bytes on 32 lines). */
    h = header_new();
    char *big = rep('v', 4000);
    sluice_kv bp[] = {{"v", big}};
    int rc = 0;
    for (int i = 0; i < 20 && rc == 0; i++)
        rc = header_add_stage(h, "zstd", bp, 1, &err);
    is_int(rc, 0, "20 stages with 4000-byte values can be added");
    rc = header_seal(h, &err);
    ok(rc < 0, "but sealing them (80 KB) is refused");
    like(err.message, "exceed", "seal: message says the header is too big");
    free(big);
    header_free(h);

    ok(stage_name_valid("zstd", 4), "stage_name_valid: zstd");
    ok(stage_name_valid("aes-256-gcm", 11), "stage_name_valid: aes-256-gcm");
    ok(!stage_name_valid("zstd", 0), "stage_name_valid: length 0");
    ok(!stage_name_valid("a/b", 3), "stage_name_valid: slash");
    ok(!stage_name_valid("..", 2), "stage_name_valid: '..'");
    ok(stage_name_valid("a..", 3), "stage_name_valid: 'a..' (dots inside)");
    ok(param_key_valid("a_b-1", 5), "param_key_valid: a_b-1");
    ok(!param_key_valid("", 0), "param_key_valid: empty");
    ok(param_value_valid("", 0), "param_value_valid: empty");
    ok(!param_value_valid(" ", 1), "param_value_valid: space");
}

int main(void)
{
    plan_no_plan();
    test_valid();
    test_incomplete();
    test_not_sluice();
    test_version();
    test_hint_style();
    test_stage_count();
    test_names();
    test_params();
    test_bytes();
    test_mac();
    test_size();
    test_roundtrip();
    test_build_validation();
    return done();
}
