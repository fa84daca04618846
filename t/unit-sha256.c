/*
 * unit-sha256.c - the core's SHA-256 (src/sha256.c) against OpenSSL:
 * the FIPS 180-4 examples, every length around the block boundaries,
 * and large inputs fed in pieces of every alignment.  Built twice:
 * t/unit-sha256 (the SHA-NI rounds where the CPU has them) and
 * t/unit-sha256-portable (SHA256_NO_NI: the portable rounds alone).
 * Speaks TAP.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "../src/sha256.h"

static void ours(const uint8_t *p, size_t n, size_t piece, uint8_t md[32])
{
    sha256_ctx c;
    sha256_init(&c);
    for (size_t at = 0; at < n;) {
        size_t k = piece && n - at > piece ? piece : n - at;
        sha256_update(&c, p + at, k);
        at += k;
    }
    sha256_final(&c, md);
}

static void theirs(const uint8_t *p, size_t n, uint8_t md[32])
{
    unsigned len = 32;
    EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
}

static void hex(const uint8_t md[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int main(void)
{
    plan_no_plan();
    diag("SHA-NI rounds: %s", sha256_accelerated() ? "yes" : "no");
    uint8_t md[32];
    char h[65];
    ours((const uint8_t *)"abc", 3, 0, md);
    hex(md, h);
    is_str(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
           "FIPS 180-4: \"abc\"");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    ours((const uint8_t *)two, strlen(two), 0, md);
    hex(md, h);
    is_str(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
           "FIPS 180-4: the two-block message");
    ours(NULL, 0, 0, md);
    hex(md, h);
    is_str(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
           "the empty message");

    size_t big = 1 << 20;
    uint8_t *buf = malloc(big + 64);
    if (!buf)
        bail("out of memory");
    srand(13);
    for (size_t i = 0; i < big + 64; i++)
        buf[i] = (uint8_t)rand();
    int bad = 0;
    uint8_t want[32];
    for (size_t n = 0; n <= 300; n++) /* every length near the blocks */
        for (size_t piece = 0; piece <= 65; piece += 13) {
            ours(buf + (n & 7), n, piece, md);
            theirs(buf + (n & 7), n, want);
            bad += memcmp(md, want, 32) != 0;
        }
    ok(!bad, "lengths 0..300, fed whole and in pieces of 13..65 bytes "
       "(%d differ)", bad);
    bad = 0;
    size_t pieces[] = {0, 1, 63, 64, 65, 4095, 65536, 262144};
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
        ours(buf + i, big - i, pieces[i], md);
        theirs(buf + i, big - i, want);
        bad += memcmp(md, want, 32) != 0;
    }
    ok(!bad, "1 MiB at odd alignments, in pieces up to 256 KiB (%d differ)",
       bad);
    /* An empty piece between others (a tap may see a 0-byte block) keeps
     * the bytes buffered so far. */
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, buf, 10);
    sha256_update(&c, NULL, 0);
    sha256_update(&c, buf + 10, 90);
    sha256_final(&c, md);
    theirs(buf, 100, want);
    ok(!memcmp(md, want, 32), "an empty piece after 10 bytes changes nothing");
    free(buf);
    return done();
}
