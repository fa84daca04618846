/* presets.c - the stage names and shorthand chains; see presets.h. */
#include "presets.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ZSTD "zstd"
#define AES "aes-256-gcm"
#define ZSTD_DEFAULT_LEVEL 3

int preset_chain(const preset_opts *p, header *chain, sluice_error *err)
{
    if (p->zstd) {
        char lv[16];
        snprintf(lv, sizeof lv, "%d",
                 p->level ? p->level : ZSTD_DEFAULT_LEVEL);
        sluice_kv level = {"level", lv};
        int rc = header_add_stage(chain, ZSTD, &level, 1, err);
        if (rc < 0)
            return rc;
    }
    if (p->encrypt) {
        sluice_kv kv[2];
        size_t n = 0;
        if (p->kdf_iter || p->salt_hex)
            kv[n++] = (sluice_kv){"iter", p->kdf_iter ? p->kdf_iter : "64000"};
        if (p->salt_hex)
            kv[n++] = (sluice_kv){"salt", p->salt_hex};
        return header_add_stage(chain, AES, kv, n, err);
    }
    return 0;
}

/* The encryption stage takes iter and salt back (its kdf is fixed); the
 * others take their parameters as recorded. */
int preset_forward_from(const header *d, header *f, sluice_error *err)
{
    for (size_t i = 0; i < d->n_stages; i++) {
        const header_stage *st = &d->stages[i];
        sluice_kv p[16];
        size_t n = 0;
        for (size_t j = 0; j < st->n_params && n < 16; j++) {
            if (!strcmp(st->name, AES) && !strcmp(st->params[j].key, "kdf"))
                continue;
            p[n++] = st->params[j];
        }
        int rc = header_add_stage(f, st->name, p, n, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int preset_encrypts(const header *h)
{
    for (size_t i = 0; i < h->n_stages; i++)
        if (!strcmp(h->stages[i].name, AES))
            return 1;
    return 0;
}

int preset_collection_salt(header *chain, const char *salt_hex,
                           const char *kdf_iter, sluice_error *err)
{
    for (size_t i = 0; i < chain->n_stages; i++) {
        header_stage *st = &chain->stages[i];
        if (strcmp(st->name, AES))
            continue;
        int has_iter = 0;
        for (size_t j = 0; j < st->n_params; j++) {
            if (!strcmp(st->params[j].key, "salt"))
                return 0; /* a salt the chain gave */
            has_iter |= !strcmp(st->params[j].key, "iter");
        }
        const char *iter = kdf_iter ? kdf_iter : "64000";
        if (!has_iter && header_stage_add_param(st, "iter", 4, iter,
                                                strlen(iter), err) < 0)
            return -1;
        return header_stage_add_param(st, "salt", 4, salt_hex,
                                      strlen(salt_hex), err);
    }
    return 0;
}

int preset_raw_object(const char *salt_hex, const char *kdf_iter,
                      header *chain, sluice_error *err)
{
    sluice_kv params[] = {
        {"kdf", "pbkdf2-sha256"},
        {"iter", kdf_iter ? kdf_iter : "64000"},
        {"salt", salt_hex},
    };
    /* Without salt_hex the stage reads it from --encryption-info. */
    return header_add_stage(chain, AES, params, salt_hex ? 3 : 2, err);
}

const char *preset_local_path(const char *url)
{
    static const char *const prefixes[] = {"file://localhost/", "file:///"};
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(prefixes[i]);
        if (!strncasecmp(url, prefixes[i], n))
            return url + n - 1; /* keep the path's leading '/' */
    }
    return url;
}

void preset_file_endpoint(const char *path, preset_endpoint *e,
                          stage_spec *spec)
{
    e->kv[0] = (sluice_kv){"path", preset_local_path(path)};
    spec->name = "file";
    spec->options = e->kv;
    spec->n_options = e->n = 1;
}

void preset_endpoint_for(const char *target, const preset_net *net,
                         preset_endpoint *e, stage_spec *spec)
{
    const char *sep = strstr(target, "://");
    size_t k = sep ? (size_t)(sep - target) : 0;
    if (!sep || k >= sizeof e->scheme || preset_local_path(target) != target) {
        preset_file_endpoint(target, e, spec);
        return;
    }
    for (size_t i = 0; i < k; i++)
        e->scheme[i] = (char)(target[i] >= 'A' && target[i] <= 'Z'
                                  ? target[i] - 'A' + 'a' : target[i]);
    e->scheme[k] = '\0';
    if (!strcmp(e->scheme, "https"))
        strcpy(e->scheme, "http");
    size_t n = 0;
    e->kv[n++] = (sluice_kv){"url", target};
    if (net && net->s3_endpoint)
        e->kv[n++] = (sluice_kv){"s3-endpoint", net->s3_endpoint};
    if (net && net->insecure)
        e->kv[n++] = (sluice_kv){"insecure", "1"};
    if (net && net->verbose)
        e->kv[n++] = (sluice_kv){"verbose", net->verbose > 1 ? "2" : "1"};
    spec->name = e->scheme;
    spec->options = e->kv;
    spec->n_options = e->n = n;
}

void preset_private_sink(preset_endpoint *e, const stage_spec *sink,
                         engine_job *job)
{
    if (strcmp(sink->name, "file") != 0 || e->n >= PRESET_EP_KV)
        return;
    /* After the options sink->options already counts: the plain run's
     * options are unchanged. */
    e->kv[e->n] = (sluice_kv){"mode", "0600"};
    job->auth_sink_options = e->kv;
    job->n_auth_sink_options = e->n + 1;
}

const char *preset_archive_stage(void)
{
    return "archive";
}
