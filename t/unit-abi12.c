/*
 * unit-abi12.c - the host side of plugin ABI 1.2: declared keys
 * (src/stagekeys.c), the session's secret cache (src/secretcache.c) and
 * the shared budget (api->charge, src/host.c).  Speaks TAP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/host.h"
#include "../src/stagekeys.h"
#include "tap.h"

static const sluice_key file_keys[] = {
    {"path", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH, "file"},
    {"offset", SLUICE_KEY_OPTION | SLUICE_KEY_BOTH, "start"},
    {"level", SLUICE_KEY_PARAM | SLUICE_KEY_FORWARD, "level"},
    {NULL, 0, NULL},
};

static void test_keys(void)
{
    sluice_stage vt = {0};
    vt.name = "t";
    vt.keys = file_keys;
    sluice_kv opts[] = {{"path", "x"}, {"threads", "2"}, {"offset", "5"}};
    sluice_kv *out;
    size_t n;
    sluice_error err = {0};
    int rc = stagekeys_apply(&vt, SLUICE_FORWARD, NULL, 0, opts, 3, &out,
                             &n, &err);
    is_int(rc, 0, "declared options pass");
    is_int((long long)n, 2, "... and a host-generic one not declared is "
                            "left out");
    ok(n == 2 && !strcmp(out[0].key, "path") && !strcmp(out[1].key, "offset"),
       "... the declared ones, in order");
    free(out);

    sluice_kv typo[] = {{"path", "x"}, {"ofset", "5"}};
    rc = stagekeys_apply(&vt, SLUICE_FORWARD, NULL, 0, typo, 2, &out, &n,
                         &err);
    is_int(rc, SLUICE_E_USAGE, "a misspelled option is a usage error");
    is_str(err.message, "unknown option 'ofset' (did you mean 'offset'?)",
           "... naming it and the closest declared key");
    sluice_kv far[] = {{"exclusive", "1"}};
    rc = stagekeys_apply(&vt, SLUICE_REVERSE, NULL, 0, far, 1, &out, &n,
                         &err);
    is_str(err.message, "unknown option 'exclusive'",
           "no hint when nothing is close");

    sluice_kv params[] = {{"levle", "3"}};
    rc = stagekeys_apply(&vt, SLUICE_FORWARD, params, 1, NULL, 0, &out, &n,
                         &err);
    is_int(rc, SLUICE_E_USAGE, "backup: an undeclared parameter is usage");
    like(err.message, "did you mean 'level'", "... with a hint");
    sluice_kv lv[] = {{"level", "3"}};
    rc = stagekeys_apply(&vt, SLUICE_REVERSE, lv, 1, NULL, 0, &out, &n, &err);
    is_int(rc, SLUICE_E_FORMAT,
           "restore: a parameter declared for backup only is corrupt input");

    vt.keys = NULL;
    rc = stagekeys_apply(&vt, SLUICE_FORWARD, params, 1, typo, 2, &out, &n,
                         &err);
    ok(rc == 0 && n == 2, "a stage that declares nothing gets everything");
    free(out);

    char why[160];
    is_int(stagekeys_valid(file_keys, why, sizeof why), 0,
           "a good table is valid");
    static const sluice_key bad_kind[] = {
        {"x", SLUICE_KEY_PARAM | SLUICE_KEY_OPTION | SLUICE_KEY_BOTH, "s"},
        {NULL, 0, NULL}};
    static const sluice_key bad_name[] = {
        {"X y", SLUICE_KEY_PARAM | SLUICE_KEY_BOTH, "s"}, {NULL, 0, NULL}};
    static const sluice_key no_dir[] = {
        {"x", SLUICE_KEY_PARAM, "s"}, {NULL, 0, NULL}};
    static const sluice_key no_summary[] = {
        {"x", SLUICE_KEY_PARAM | SLUICE_KEY_BOTH, NULL}, {NULL, 0, NULL}};
    ok(stagekeys_valid(bad_kind, why, sizeof why) < 0,
       "a key both PARAM and OPTION is refused");
    ok(stagekeys_valid(bad_name, why, sizeof why) < 0,
       "a key name outside [a-z0-9_-] is refused");
    ok(stagekeys_valid(no_dir, why, sizeof why) < 0,
       "a key without a direction is refused");
    ok(stagekeys_valid(no_summary, why, sizeof why) < 0,
       "a key without a summary is refused");
}

static void test_secrets(void)
{
    secretcache *c = secretcache_new();
    ok(c != NULL, "a secret cache");
    unsigned char key[32], got[32];
    memset(key, 0xa5, sizeof key);
    is_int(secretcache_get(c, "aes", "id1", 3, got, sizeof got), 0,
           "empty: not found");
    is_int(secretcache_put(c, "aes", "id1", 3, key, sizeof key), 0, "put");
    memset(got, 0, sizeof got);
    ok(secretcache_get(c, "aes", "id1", 3, got, sizeof got) == 1 &&
           !memcmp(got, key, sizeof key),
       "get returns what was put");
    is_int(secretcache_get(c, "other", "id1", 3, got, sizeof got), 0,
           "another stage's scope does not see it");
    is_int(secretcache_get(c, "aes", "id2", 3, got, sizeof got), 0,
           "another id does not find it");
    is_int(secretcache_get(c, "aes", "id1", 3, got, 16), 0,
           "another length does not find it");
    int full = 0;
    for (int i = 0; i < 100; i++) {
        char id[16];
        snprintf(id, sizeof id, "n%d", i);
        if (secretcache_put(c, "aes", id, strlen(id), key, sizeof key) < 0)
            full = 1;
    }
    ok(full, "the cache is bounded: a full one refuses more");
    ok(secretcache_put(c, "aes", "id1", 3, key, SLUICE_SECRET_MAX + 1) < 0,
       "a secret over SLUICE_SECRET_MAX is refused");
    secretcache_free(c);
}

static void test_charge(void)
{
    session s;
    session_init(&s);
    sluice_host h;
    run_budget b;
    run_budget_init(&b);
    host_init(&h, &s, "zstd");
    h.direction = SLUICE_REVERSE;
    h.budget = &b;
    const sluice_api *api = host_api();
    sluice_error err = {0};
    ok(api->struct_size >= offsetof(sluice_api, charge) + sizeof api->charge,
       "the host's table has charge (ABI 1.2)");
    is_int(session_set_budget(&s, "1M", "1000", &err), 0,
           "--max-memory 1M --max-kdf-iter 1000");
    is_int(api->charge(&h, SLUICE_RESOURCE_MEMORY, 600 << 10, &err), 0,
           "600 KiB of 1 MiB: fine");
    is_int(api->charge(&h, SLUICE_RESOURCE_MEMORY, 600 << 10, &err),
           SLUICE_E_FORMAT, "another 600 KiB on restore: exit 4");
    like(err.message, "--max-memory", "... naming the option to raise");
    is_int(api->charge(&h, SLUICE_RESOURCE_MEMORY, -(600 << 10), NULL), 0,
           "memory given back");
    is_int(api->charge(&h, SLUICE_RESOURCE_MEMORY, 600 << 10, &err), 0,
           "... can be charged again");
    h.direction = SLUICE_FORWARD;
    is_int(api->charge(&h, SLUICE_RESOURCE_KDF_ITER, 1001, &err),
           SLUICE_E_USAGE, "backup over the KDF budget: a usage error");
    like(err.message, "--max-kdf-iter", "... naming --max-kdf-iter");
    run_budget_init(&b);
    is_int(api->charge(&h, SLUICE_RESOURCE_KDF_ITER, 1000, &err), 0,
           "a new run starts with a full budget");
    ok(session_set_budget(&s, "1X", NULL, &err) < 0 &&
           session_set_budget(&s, "0", NULL, &err) < 0 &&
           session_set_budget(&s, NULL, "1k", &err) < 0 &&
           session_set_budget(&s, "99999999999999999999", NULL, &err) < 0,
       "bad sizes are refused (1X, 0, 1k for iterations, overflow)");
    ok(session_set_budget(&s, "2GiB", "5", &err) == 0 &&
           s.budget_memory == (uint64_t)2 << 30 && s.budget_kdf_iter == 5,
       "2GiB and 5 are taken");
    session_cleanup(&s);
}

int main(void)
{
    plan_no_plan();
    test_keys();
    test_secrets();
    test_charge();
    return done();
}
