/* chainspec.c - parse the --chain syntax into a stage list. */
#include "chainspec.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_PARAMS 32

static int parse_item(const char *item, size_t len, header *into,
                      sluice_error *err)
{
    char *copy = xstrndup(item, len);
    if (!copy)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    sluice_kv params[MAX_PARAMS];
    size_t n = 0;
    int rc = 0;
    /* Split on ':' by hand: strtok would merge "::" and drop a trailing
     * ':', accepting "zstd::level=3" and "zstd:" as if well written. */
    char *name = copy, *next = strchr(copy, ':');
    if (next)
        *next++ = '\0';
    if (!*name) {
        rc = sluice_error_set(err, SLUICE_E_USAGE,
                              "--chain: empty stage name in '%.*s'",
                              (int)len, item);
        goto out;
    }
    while (next) {
        char *tok = next;
        if ((next = strchr(tok, ':')))
            *next++ = '\0';
        if (!*tok) {
            rc = sluice_error_set(err, SLUICE_E_USAGE,
                                  "--chain: stage %s: empty parameter in "
                                  "'%.*s': remove the stray ':'",
                                  name, (int)len, item);
            goto out;
        }
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok) {
            rc = sluice_error_set(err, SLUICE_E_USAGE,
                                  "--chain: stage %s: expected key=value, "
                                  "got '%s'", name, tok);
            goto out;
        }
        if (n == MAX_PARAMS) {
            rc = sluice_error_set(err, SLUICE_E_USAGE,
                                  "--chain: stage %s: too many parameters",
                                  name);
            goto out;
        }
        *eq = '\0';
        params[n].key = tok;
        params[n].value = eq + 1;
        n++;
    }
    rc = header_add_stage(into, name, params, n, err);
    if (rc < 0)
        err->code = rc = (rc == SLUICE_E_NOMEM ? rc : SLUICE_E_USAGE);
out:
    free(copy);
    return rc;
}

int chainspec_parse(const char *spec, header *into, sluice_error *err)
{
    const char *p = spec;
    if (!*spec)
        return sluice_error_set(err, SLUICE_E_USAGE, "--chain: empty chain");
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0)
            return sluice_error_set(err, SLUICE_E_USAGE,
                                    "--chain: empty stage in '%s'", spec);
        int rc = parse_item(p, len, into, err);
        if (rc < 0)
            return rc;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}
