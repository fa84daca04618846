/* chain.c - the chain a collection records in its descriptor: made once
 * by its first backup (from -z/-e or --chain SPEC), then the descriptor
 * says; later flags may only agree with it.  doc/FORMAT.md 5.1. */
#define _GNU_SOURCE
#include "coll.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../chainspec.h"
#include "../presets.h"
#include "../status.h"
#include "../util.h"

/* The chain the flags ask for (no salt); 0 stages when none was given. */
static int asked_chain(const coll_opts *c, header *h, sluice_error *err)
{
    if (c->chain)
        return chainspec_parse(c->chain, h, err);
    preset_opts po = {c->zstd, c->level, c->encrypt, c->kdf_iter, NULL};
    return preset_chain(&po, h, err);
}

static const char *param(const header_stage *st, const char *key)
{
    for (size_t j = 0; j < st->n_params; j++)
        if (!strcmp(st->params[j].key, key))
            return st->params[j].value;
    return NULL;
}

/* Does stage a (asked) contradict stage b (recorded)?  A parameter asked
 * for must be recorded with the same value. */
static const char *clash(const coll_opts *c, const header_stage *a,
                         const header_stage *b)
{
    for (size_t j = 0; j < a->n_params; j++) {
        const char *key = a->params[j].key;
        /* -z and -e fill in defaults: only a value given is compared. */
        if (!c->chain && ((!c->level && !strcmp(key, "level")) ||
                          (!c->kdf_iter && !strcmp(key, "iter"))))
            continue;
        const char *v = param(b, a->params[j].key);
        if (!v || strcmp(v, a->params[j].value))
            return a->params[j].key;
    }
    return NULL;
}

/* "zstd | aes-256-gcm" */
static void names(const header *h, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < h->n_stages && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? " | " : "",
                              h->stages[i].name);
    if (!h->n_stages)
        snprintf(buf, cap, "no stages");
}

/* -z/-e name stages that must be in the recorded chain (in that order);
 * --chain must name exactly the recorded stages. */
static int agrees(const coll_opts *c, const header *a, const header *d,
                  char *why, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; i < a->n_stages; i++) {
        while (j < d->n_stages && strcmp(d->stages[j].name, a->stages[i].name)
               && !c->chain)
            j++;
        if (j >= d->n_stages ||
            strcmp(d->stages[j].name, a->stages[i].name)) {
            snprintf(why, cap, "has no %s stage where asked",
                     a->stages[i].name);
            return 0;
        }
        const char *k = clash(c, &a->stages[i], &d->stages[j]);
        if (k) {
            snprintf(why, cap, "records %s with another %s",
                     a->stages[i].name, k);
            return 0;
        }
        j++;
    }
    if (c->chain && j != d->n_stages) {
        snprintf(why, cap, "has more stages");
        return 0;
    }
    return 1;
}

int chain_check(coll *k)
{
    const coll_opts *c = k->c;
    sluice_error err = {0};
    header *a = header_new();
    if (!a)
        return EXIT_INTERNAL;
    int ex = 0;
    char why[200], rec[300];
    if (asked_chain(c, a, &err) < 0) {
        say("backup: %s", err.message);
        ex = EXIT_USAGE;
    } else if (!agrees(c, a, k->desc, why, sizeof why)) {
        names(k->desc, rec, sizeof rec);
        say("%s: the collection's chain (%s) %s: a backup appends with the "
            "recorded chain; omit -z/-e/--chain%s", k->root, rec, why,
            (c->encrypt || c->chain) &&
                    preset_encrypts(a) != preset_encrypts(k->desc)
                ? preset_encrypts(k->desc) ? " (this collection is encrypted)"
                                           : " (this collection is not "
                                             "encrypted)"
                : "");
        ex = EXIT_USAGE;
    }
    header_free(a);
    return ex;
}

int chain_new(coll *k)
{
    const coll_opts *c = k->c;
    sluice_error err = {0};
    k->fchain = header_new();
    if (!k->fchain)
        return EXIT_INTERNAL;
    if (asked_chain(c, k->fchain, &err) < 0)
        return say("backup: %s", err.message), EXIT_USAGE;
    if (preset_encrypts(k->fchain)) {
        /* One salt for every object the collection will hold. */
        uint8_t salt[16];
        char hex[33];
        if (getrandom(salt, sizeof salt, 0) != sizeof salt)
            return say("no random bytes for the salt"), EXIT_INTERNAL;
        hex_encode(salt, sizeof salt, hex);
        if (preset_collection_salt(k->fchain, hex, c->kdf_iter, &err) < 0)
            return say("backup: %s", err.message), EXIT_USAGE;
    }
    k->o.fchain = k->fchain;
    return 0;
}
