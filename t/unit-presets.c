/*
 * unit-presets.c - the presets (src/presets.c), the one place in the
 * core that names stages: shorthand chains, the forward chain a recorded
 * descriptor implies, endpoints for paths and URLs, file:/// paths.
 * Speaks TAP.
 */
#include <string.h>

#include "../src/presets.h"
#include "tap.h"

static const char *param(const header_stage *st, const char *key)
{
    for (size_t i = 0; i < st->n_params; i++)
        if (!strcmp(st->params[i].key, key))
            return st->params[i].value;
    return NULL;
}

static void chains(void)
{
    sluice_error err = {0};
    header *h = header_new();
    preset_opts z = {1, 0, 0, NULL, NULL};
    is_int(preset_chain(&z, h, &err), 0, "-z makes a chain");
    is_int((long long)h->n_stages, 1, "... of one stage");
    is_str(h->stages[0].name, "zstd", "... zstd");
    is_str(param(&h->stages[0], "level"), "3", "... at the default level 3");
    header_free(h);

    h = header_new();
    preset_opts ze = {1, -5, 1, "1000", "00112233445566778899aabbccddeeff"};
    is_int(preset_chain(&ze, h, &err), 0, "-z -e with a salt");
    is_int((long long)h->n_stages, 2, "... two stages");
    is_str(param(&h->stages[0], "level"), "-5", "... the level as given (the stage checks it)");
    is_str(h->stages[1].name, "aes-256-gcm", "... then the encryption stage");
    is_str(param(&h->stages[1], "iter"), "1000", "... with --kdf-iter");
    is_str(param(&h->stages[1], "salt"), ze.salt_hex, "... and the salt");

    header *d = header_new(), *f = header_new(), *none = header_new();
    sluice_kv rec[] = {{"kdf", "pbkdf2-sha256"}, {"iter", "9"}, {"salt", "ab"}};
    header_add_stage(d, "aes-256-gcm", rec, 3, &err);
    is_int(preset_forward_from(d, f, &err), 0, "forward chain from a descriptor");
    ok(!param(&f->stages[0], "kdf"), "... the encryption stage's kdf is left out");
    is_str(param(&f->stages[0], "iter"), "9", "... its iter and salt kept");
    ok(preset_encrypts(h) && !preset_encrypts(none), "preset_encrypts");
    header_free(none);
    header_free(d);
    header_free(f);
    header_free(h);
}

static void endpoints(void)
{
    preset_endpoint e;
    stage_spec sp = {0};
    preset_net net = {"http://127.0.0.1:1", 1, 0};
    preset_endpoint_for("S3://b/k", &net, &e, &sp);
    is_str(sp.name, "s3", "S3://: the s3 stage, scheme lower-cased");
    is_int((long long)sp.n_options, 3, "... url, s3-endpoint, insecure");
    preset_endpoint_for("https://h/x", NULL, &e, &sp);
    is_str(sp.name, "http", "https://: the http stage");
    preset_endpoint_for("file:///tmp/x", NULL, &e, &sp);
    is_str(sp.name, "file", "file:///PATH: the file stage");
    is_str(sp.options[0].value, "/tmp/x", "... with the path");
    preset_endpoint_for("-", NULL, &e, &sp);
    is_str(sp.options[0].value, "-", "'-': the file stage's stdin/stdout");
    is_str(preset_local_path("file://localhost/a/b"), "/a/b", "file://localhost/PATH");
    is_str(preset_local_path("file://host/a"), "file://host/a", "another host: as is");
    is_str(preset_local_path("rel/x"), "rel/x", "a path: as is");
}

int main(void)
{
    plan_no_plan();
    chains();
    endpoints();
    return done();
}
