/* stagekeys.c - checking keys against a stage's declaration; see
 * stagekeys.h. */
#include "stagekeys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Options the host offers every stage that might want them, whatever the
 * stage: a declaring stage that does not list one simply does not get
 * it.  Any other option is meant for one stage, so an undeclared one is
 * a mistake worth an error. */
static const char *const host_generic[] = {
    "threads", "verbose", "progress", "insecure", "s3-endpoint", NULL,
};

static int is_generic(const char *key)
{
    for (size_t i = 0; host_generic[i]; i++)
        if (!strcmp(host_generic[i], key))
            return 1;
    return 0;
}

static int key_chars_ok(const char *k)
{
    if (!*k || strlen(k) > 64)
        return 0;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return 0;
    return 1;
}

int stagekeys_valid(const sluice_key *keys, char *why, size_t cap)
{
    const unsigned kinds = SLUICE_KEY_PARAM | SLUICE_KEY_OPTION;
    for (size_t i = 0;; i++) {
        if (i == STAGEKEYS_MAX) {
            snprintf(why, cap, "declares more than %d keys", STAGEKEYS_MAX);
            return -1;
        }
        const sluice_key *k = &keys[i];
        if (!k->key)
            return 0;
        unsigned kind = k->flags & kinds;
        if (!key_chars_ok(k->key) || kind == 0 || kind == kinds ||
            !(k->flags & SLUICE_KEY_BOTH) ||
            (k->flags & ~(kinds | SLUICE_KEY_BOTH)) || !k->summary) {
            snprintf(why, cap,
                     "declares key #%zu badly (a name matching "
                     "[a-z0-9_-]+, PARAM or OPTION, a direction and a "
                     "summary)",
                     i + 1);
            return -1;
        }
    }
}

static unsigned dir_flag(int direction)
{
    return direction == SLUICE_FORWARD ? SLUICE_KEY_FORWARD
                                       : SLUICE_KEY_REVERSE;
}

static const sluice_key *find_key(const sluice_key *keys, unsigned flags,
                                  const char *key)
{
    for (; keys->key; keys++)
        if ((keys->flags & flags) == flags && !strcmp(keys->key, key))
            return keys;
    return NULL;
}

/* Levenshtein distance, for keys of at most 64 bytes (longer: "far"). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[65];
    if (la > 64 || lb > 64)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *stagekeys_closest(const sluice_key *keys, unsigned flags,
                              const char *key)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (; keys->key; keys++) {
        if ((keys->flags & flags) != flags)
            continue;
        size_t d = distance(keys->key, key);
        if (d < best_d) {
            best_d = d;
            best = keys->key;
        }
    }
    /* A typo: one edit, or two in a key of four letters or more (a
     * swap of two letters counts two: "itre" for "iter"). */
    size_t len = strlen(key);
    return best && (best_d <= 1 || (best_d == 2 && len >= 4)) ? best : NULL;
}

static int unknown(const sluice_key *keys, unsigned flags, const char *what,
                   const char *key, int code, sluice_error *err)
{
    const char *hint = stagekeys_closest(keys, flags, key);
    if (hint)
        return sluice_error_set(err, code,
                                "unknown %s '%.64s' (did you mean '%s'?)",
                                what, key, hint);
    return sluice_error_set(err, code, "unknown %s '%.64s'", what, key);
}

int stagekeys_apply(const sluice_stage *vt, int direction,
                    const sluice_kv *params, size_t n_params,
                    const sluice_kv *options, size_t n_options,
                    sluice_kv **out, size_t *n_out, sluice_error *err)
{
    *out = NULL;
    *n_out = 0;
    const sluice_key *keys = vt->keys;
    unsigned dir = dir_flag(direction);
    for (size_t i = 0; keys && i < n_params; i++)
        if (!find_key(keys, SLUICE_KEY_PARAM | dir, params[i].key))
            return unknown(keys, SLUICE_KEY_PARAM | dir,
                           direction == SLUICE_FORWARD ? "parameter"
                                                       : "header parameter",
                           params[i].key,
                           direction == SLUICE_FORWARD ? SLUICE_E_USAGE
                                                       : SLUICE_E_FORMAT,
                           err);
    if (n_options == 0)
        return 0;
    sluice_kv *kept = malloc(n_options * sizeof *kept);
    if (!kept)
        return sluice_error_set(err, SLUICE_E_NOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < n_options; i++) {
        const char *k = options[i].key;
        if (keys && !find_key(keys, SLUICE_KEY_OPTION | dir, k)) {
            if (is_generic(k))
                continue;
            free(kept);
            return unknown(keys, SLUICE_KEY_OPTION | dir, "option", k,
                           SLUICE_E_USAGE, err);
        }
        kept[n++] = options[i];
    }
    if (n == 0) {
        free(kept);
        kept = NULL;
    }
    *out = kept;
    *n_out = n;
    return 0;
}
