/*
 * unit-chainspec.c - the --chain syntax (src/chainspec.c):
 *     stage[:key=value]...[,stage[:key=value]...]...
 * Valid specs become header stages with their parameters; anything else is
 * a usage error (SLUICE_E_USAGE) with a one-line message.  Speaks TAP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/chainspec.h"
#include "tap.h"

static header *parse(const char *spec, int *rc, sluice_error *err)
{
    header *h = header_new();
    if (!h)
        bail("out of memory");
    memset(err, 0, sizeof *err);
    *rc = chainspec_parse(spec, h, err);
    return h;
}

static void good(const char *spec, const char *want_sealed)
{
    int rc;
    sluice_error err;
    header *h = parse(spec, &rc, &err);
    if (!is_int(rc, 0, "'%s' parses", spec))
        diag("error: %s", err.message);
    sluice_error e2 = {0};
    if (rc == 0 && header_seal(h, &e2) == 0) {
        char *got = malloc(h->signed_len + 1);
        memcpy(got, h->signed_bytes, h->signed_len);
        got[h->signed_len] = '\0';
        /* Compare the stage lines only, without magic and dashes. */
        const char *body = got + strlen("sluice/1\n");
        size_t blen = strlen(body) - strlen("---");
        char *lines = malloc(blen + 1);
        memcpy(lines, body, blen);
        lines[blen] = '\0';
        is_str(lines, want_sealed, "'%s' becomes these header lines", spec);
        free(lines);
        free(got);
    } else {
        skip(1, "not parsed");
    }
    header_free(h);
}

static void bad(const char *spec, const char *needle, const char *what)
{
    int rc;
    sluice_error err;
    header *h = parse(spec, &rc, &err);
    is_int(rc, SLUICE_E_USAGE, "%s: '%s' is a usage error", what, spec);
    is_int(err.code, SLUICE_E_USAGE, "%s: error code set", what);
    ok(err.message[0] && !strchr(err.message, '\n'),
       "%s: one-line message", what);
    if (needle)
        like(err.message, needle, "%s: message names the problem", what);
    header_free(h);
}

int main(void)
{
    plan_no_plan();

    good("zstd", "zstd\n");
    good("zstd:level=9", "zstd level=9\n");
    good("zstd:level=-5", "zstd level=-5\n");
    good("zstd:level=9,aes-256-gcm:iter=200000",
         "zstd level=9\naes-256-gcm iter=200000\n");
    good("a:x=1:y=2,b,c:z=", "a x=1 y=2\nb\nc z=\n");
    good("zstd,zstd", "zstd\nzstd\n");
    good("x:path=a/b+c=d.e_f-g", "x path=a/b+c=d.e_f-g\n");
    good("failing:after=100000:on=restore",
         "failing after=100000 on=restore\n");

    /* 32 stages are fine, 33 are not. */
    char spec[1024] = "";
    for (int i = 0; i < 32; i++)
        strcat(spec, i ? ",zstd" : "zstd");
    int rc;
    sluice_error err;
    header *h = parse(spec, &rc, &err);
    is_int(rc, 0, "32 stages parse");
    is_int((long long)h->n_stages, 32, "32 stages kept");
    header_free(h);
    strcat(spec, ",zstd");
    bad(spec, "32", "33 stages");

    /* 32 parameters are fine, 33 are not. */
    char many[2048] = "x";
    for (int i = 0; i < 32; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), ":k%d=%d", i,
                 i);
    h = parse(many, &rc, &err);
    is_int(rc, 0, "32 parameters parse");
    is_int((long long)(h->n_stages ? h->stages[0].n_params : 0), 32,
           "32 parameters kept");
    header_free(h);
    strcat(many, ":k32=32");
    bad(many, "too many", "33 parameters");

    bad("", "empty", "empty chain");
    bad(",", "empty", "a lone comma");
    bad("zstd,", "empty", "trailing comma");
    bad(",zstd", "empty", "leading comma");
    bad("zstd,,aes", "empty", "two commas");
    bad(":level=3", "empty stage name", "no stage name");
    bad("zstd:level", "key=value", "parameter without '='");
    bad("zstd::level=3", "empty parameter in 'zstd::level=3': remove the stray ':'",
        "two colons");
    bad("zstd:", "empty parameter in 'zstd:'",
        "trailing colon");
    bad("zstd:level=3:", "empty parameter", "trailing colon after a value");
    bad("zstd:level=3::x=1,aes-256-gcm", "in 'zstd:level=3::x=1'",
        "two colons between parameters: the message names the stage item");
    bad("zstd,aes-256-gcm::iter=1", "stage aes-256-gcm: empty parameter",
        "two colons in the second stage");
    bad("::", "empty stage name", "colons alone");
    bad("zstd:=3", "key=value", "parameter without key");
    bad("zstd:level=3:level=4", "twice", "duplicate parameter");
    bad("../x", "invalid stage name", "path-like name '../x'");
    bad("/tmp/x", "invalid stage name", "path-like name '/tmp/x'");
    bad("zstd/x", "invalid stage name", "name with a slash");
    bad("Zstd", "invalid stage name", "uppercase name");
    bad("-zstd", "invalid stage name", "name starting with '-'");
    bad("zstd:Level=3", "invalid parameter name", "uppercase key");
    bad("zstd:level=3 4", "invalid value", "value with a space");
    bad("zstd:level=a\nb", "invalid value", "value with a newline");
    bad("zstd:level=\xc3\xa9", "invalid value", "value with UTF-8");
    char n65[80];
    memset(n65, 'a', 65);
    n65[65] = '\0';
    bad(n65, "invalid stage name", "65-character name");
    return done();
}
