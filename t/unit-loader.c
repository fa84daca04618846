/*
 * unit-loader.c - plugin discovery and ABI checks (src/loader.c).  Speaks
 * TAP.
 *
 * Needs the built plugins: $SLUICE_PLUGIN_PATH (plugins/.libs, with
 * zstd.so and file.so) and $SLUICE_TEST_PLUGINS (t/plugins/.libs, with
 * badabi.so, badminor.so and failing.so); `make check` sets both.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/loader.h"
#include "tap.h"

static char tmpdir[] = "/tmp/sluice-unit-loader.XXXXXX";

/* Strings made here live until the end of main (freed by free_all, so a
 * sanitizer build sees no leak). */
static char *owned[128];
static size_t n_owned;

static char *own(char *p)
{
    if (!p || n_owned == sizeof owned / sizeof owned[0])
        bail("out of memory");
    owned[n_owned++] = p;
    return p;
}

static void free_all(void)
{
    while (n_owned)
        free(owned[--n_owned]);
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = own(malloc(n));
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = -1, rc = -1;
    if (in < 0)
        return -1;
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (out >= 0) {
        char buf[65536];
        ssize_t n;
        rc = 0;
        while ((n = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)n) != n)
                rc = -1;
        if (n < 0)
            rc = -1;
        close(out);
    }
    close(in);
    return rc;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        bail("cannot write %s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

/* The first directory of a colon-separated list that has file. */
static char *find_in(const char *list, const char *file)
{
    if (!list)
        return NULL;
    char *copy = strdup(list), *save = NULL;
    char *found = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !found;
         d = strtok_r(NULL, ":", &save)) {
        char *p = path_join(d, file);
        if (exists(p))
            found = own(strdup(d));
    }
    free(copy);
    return found;
}

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
}

static loader *loader_with_path(const char *path)
{
    setenv("SLUICE_PLUGIN_PATH", path, 1);
    loader *l = loader_new();
    if (!l)
        bail("loader_new failed");
    return l;
}

typedef struct list_acc {
    int zstd, file, failing, badabi_unusable, shadowed_zstd, n;
    char abi_msg[SLUICE_ERROR_MAX];
} list_acc;

static void on_list(void *arg, const loaded_stage *st, int shadowed,
                    const char *load_error)
{
    list_acc *a = arg;
    a->n++;
    if (load_error) {
        if (st->path && strstr(st->path, "badabi.so")) {
            a->badabi_unusable = 1;
            snprintf(a->abi_msg, sizeof a->abi_msg, "%s", load_error);
        }
        return;
    }
    if (!strcmp(st->vt.name, "zstd")) {
        if (shadowed)
            a->shadowed_zstd = 1;
        else
            a->zstd = 1;
    }
    if (!strcmp(st->vt.name, "file"))
        a->file = 1;
    if (!strcmp(st->vt.name, "failing"))
        a->failing = 1;
}

/* ---- descriptions are copied by their declared struct_size ------------- */

static int dummy_open(const sluice_stage_args *a, void **c, sluice_error *e)
{
    (void)a;
    (void)c;
    (void)e;
    return SLUICE_E_INTERNAL;
}

static const sluice_stage dummy_stages[] = {
    {"dummy", "a stage never run", SLUICE_ROLE_TRANSFORM,
     SLUICE_ROLE_TRANSFORM, 0, dummy_open, NULL, NULL, NULL},
};

static void test_description_copy(void)
{
    sluice_error err = {0};
    sluice_plugin copy;
    const size_t min_size = offsetof(sluice_plugin, n_stages) + sizeof(size_t);
    const sluice_plugin base =
        SLUICE_PLUGIN_INIT("dummy", "0-test", dummy_stages);

    int rc = loader_check_plugin("exact.so", &base, &copy, &err);
    is_int(rc, 0, "description: this ABI's own struct is accepted");
    ok(copy.stages == dummy_stages && copy.n_stages == 1 &&
           !strcmp(copy.name, "dummy") && copy.stage_size == sizeof(sluice_stage),
       "description: copied member by member");

    /* A longer struct (members a newer minor might add, at the end): only
     * what this host knows is copied (ASan would see an overflow). */
    struct {
        sluice_plugin p;
        uint64_t later[8];
    } longer;
    memset(&longer, 0xa5, sizeof longer);
    longer.p = base;
    longer.p.struct_size = sizeof longer;
    rc = loader_check_plugin("longer.so", &longer, &copy, &err);
    is_int(rc, 0, "description: a longer struct is accepted");
    ok(copy.n_stages == 1 && copy.stages == dummy_stages,
       "description: its known members are read");

    /* The shortest struct there is, right before an unmapped page: the
     * loader must not read a byte past struct_size. */
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        bail("mmap: %s", strerror(errno));
    if (mprotect(map + page, (size_t)page, PROT_NONE) != 0)
        bail("mprotect: %s", strerror(errno));
    unsigned char *at = map + page - min_size;
    sluice_plugin shortest = base;
    shortest.struct_size = (uint32_t)min_size;
    memcpy(at, &shortest, min_size);
    memset(&copy, 0xff, sizeof copy);
    rc = loader_check_plugin("short.so", at, &copy, &err);
    is_int(rc, 0, "description: the shortest struct, at the end of mapped "
                  "memory, is read within its size");
    ok(copy.n_stages == 1 && copy.stages == dummy_stages,
       "description: and its members are all there");
    const unsigned char *tail = (const unsigned char *)&copy + min_size;
    size_t zero = 1;
    for (size_t i = 0; i < sizeof copy - min_size; i++)
        zero &= tail[i] == 0;
    ok(zero, "description: what it lacks reads as zero (%zu bytes)",
       sizeof copy - min_size);

    /* Too short, or absurd: refused before anything else is read. */
    shortest.struct_size = (uint32_t)(min_size - sizeof(size_t));
    memcpy(at, &shortest, min_size);
    memset(&err, 0, sizeof err);
    rc = loader_check_plugin("tooshort.so", at, &copy, &err);
    is_int(rc, SLUICE_E_UNSUPPORTED, "description: shorter than ABI 1.0's "
                                     "is refused");
    like(err.message, "tooshort.so: impossible struct sizes",
         "description: saying so, with the file");
    ok(copy.stages == NULL && copy.n_stages == 0,
       "description: nothing of a refused one is kept");
    longer.p.struct_size = 1u << 20;
    memset(&err, 0, sizeof err);
    rc = loader_check_plugin("huge.so", &longer, &copy, &err);
    is_int(rc, SLUICE_E_UNSUPPORTED, "description: a struct_size of 1 MiB "
                                     "is refused");
    memset(&err, 0, sizeof err);
    rc = loader_check_plugin("null.so", NULL, &copy, &err);
    is_int(rc, SLUICE_E_UNSUPPORTED, "description: none at all is refused");
    like(err.message, "no description", "description: saying so");
    sluice_plugin newer = base;
    newer.abi_minor = SLUICE_ABI_MINOR + 1;
    newer.struct_size = 12; /* irrelevant: the ABI is checked first */
    memset(&err, 0, sizeof err);
    rc = loader_check_plugin("newer.so", &newer, &copy, &err);
    is_int(rc, SLUICE_E_UNSUPPORTED, "description: a newer minor is refused "
                                     "first");
    like(err.message, "built for ABI", "description: naming the ABI");
    munmap(map, (size_t)page * 2);
}

int main(void)
{
    const char *plugins_env = getenv("SLUICE_PLUGIN_PATH");
    const char *test_env = getenv("SLUICE_TEST_PLUGINS");
    char *plugins = find_in(plugins_env, "zstd.so");
    char *testplugins = find_in(test_env, "badabi.so");
    if (!plugins || !testplugins)
        skip_all("needs SLUICE_PLUGIN_PATH (zstd.so) and SLUICE_TEST_PLUGINS "
                 "(badabi.so): run through make check");
    if (!mkdtemp(tmpdir))
        bail("mkdtemp: %s", strerror(errno));
    /* No per-user plugins may interfere. */
    char *home = path_join(tmpdir, "home");
    setenv("HOME", home, 1);
    plan_no_plan();
    test_description_copy();

    /* ---- search path -------------------------------------------------- */
    char *both = own(malloc(strlen(plugins) + strlen(testplugins) + 8));
    sprintf(both, "%s::%s:", plugins, testplugins);
    loader *l = loader_with_path(both);
    const char *const *dirs = loader_dirs(l);
    is_str(dirs[0], plugins, "first search dir: SLUICE_PLUGIN_PATH[0]");
    is_str(dirs[1], testplugins, "empty path elements are skipped");
    char *homedir = path_join(home, ".local/lib/sluice/plugins");
    is_str(dirs[2], homedir, "then ~/.local/lib/sluice/plugins");
    ok(dirs[3] != NULL && dirs[4] == NULL, "then the install dir (%s), last",
       dirs[3] ? dirs[3] : "none");

    /* ---- a real plugin ------------------------------------------------ */
    const loaded_stage *st = NULL;
    sluice_error err = {0};
    int rc = loader_find(l, "zstd", &st, &err);
    if (!is_int(rc, 0, "finds zstd"))
        diag("%s", err.message);
    if (st) {
        is_str(st->vt.name, "zstd", "stage name zstd");
        char *want = path_join(plugins, "zstd.so");
        is_str(st->path, want, "from zstd.so in the first dir");
        ok(st->vt.open && st->vt.run && st->vt.close, "vtable complete");
        ok(st->vt.forward_roles == SLUICE_ROLE_TRANSFORM &&
               st->vt.reverse_roles == SLUICE_ROLE_TRANSFORM,
           "zstd is a transform both ways");
        is_int(st->abi_major, SLUICE_ABI_MAJOR, "ABI major recorded");
        ok(st->vt.summary && *st->vt.summary, "has a summary");
    } else {
        skip(6, "zstd not loaded");
    }
    const loaded_stage *again = NULL;
    loader_find(l, "zstd", &again, &err);
    ok(again == st, "a second lookup returns the same stage");
    rc = loader_find(l, "file", &st, &err);
    is_int(rc, 0, "finds file");
    ok(rc == 0 && (st->vt.forward_roles & SLUICE_ROLE_SOURCE) &&
           (st->vt.forward_roles & SLUICE_ROLE_SINK),
       "file is a source and a sink");
    rc = loader_find(l, "failing", &st, &err);
    is_int(rc, 0, "finds the test stage failing");

    /* ---- wrong ABI ------------------------------------------------------ */
    char expect_major[32], expect_minor[32], host_abi[32];
    snprintf(expect_major, sizeof expect_major, "ABI %d.%d",
             SLUICE_ABI_MAJOR + 1, SLUICE_ABI_MINOR);
    snprintf(expect_minor, sizeof expect_minor, "ABI %d.%d", SLUICE_ABI_MAJOR,
             SLUICE_ABI_MINOR + 1);
    snprintf(host_abi, sizeof host_abi, "ABI %d.%d", SLUICE_ABI_MAJOR,
             SLUICE_ABI_MINOR);
    memset(&err, 0, sizeof err);
    rc = loader_find(l, "badabi", &st, &err);
    is_int(rc, SLUICE_E_UNSUPPORTED, "badabi (major + 1) refused");
    like(err.message, expect_major, "message names the plugin's ABI");
    like(err.message, host_abi, "message names the host's ABI");
    like(err.message, "badabi.so", "message names the file");
    memset(&err, 0, sizeof err);
    rc = loader_find(l, "badminor", &st, &err);
    is_int(rc, SLUICE_E_UNSUPPORTED, "badminor (minor + 1) refused");
    like(err.message, expect_minor, "message names the plugin's ABI");
    like(err.message, host_abi, "message names the host's ABI");
    char *bad_path = path_join(testplugins, "badabi.so");
    memset(&err, 0, sizeof err);
    rc = loader_load_path(l, bad_path, NULL, NULL, &err);
    is_int(rc, SLUICE_E_UNSUPPORTED, "loader_load_path refuses badabi too");
    like(err.message, expect_major, "with the same message");
    memset(&err, 0, sizeof err);
    rc = loader_load_path(l, bad_path, NULL, NULL, &err);
    is_int(rc, SLUICE_E_UNSUPPORTED, "and again (a refusal is not cached "
                                     "as a success)");
    /* (badabi's functions abort(): reaching here proves none ran.) */

    /* ---- invalid names never touch the file system --------------------- */
    /* Plant plugins where a name used as a path would find them. */
    char *deep = path_join(tmpdir, "a/b");
    char *a_dir = path_join(tmpdir, "a");
    mkdir(a_dir, 0755);
    mkdir(deep, 0755);
    char *marker = path_join(tmpdir, "loaded-marker");
    setenv("SLUICE_T_MARKER", marker, 1);
    char *planted = path_join(tmpdir, "x.so");
    char *planted2 = path_join(tmpdir, "evil.so");
    copy_file(bad_path, planted);
    copy_file(bad_path, planted2);
    loader *l2 = loader_with_path(deep);
    const char *names[] = {"../../x", "../../evil", "..", ".", "", "a/b",
                           "/x", "X", "-x", ".x", "x y", "x\n"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        memset(&err, 0, sizeof err);
        rc = loader_find(l2, names[i], &st, &err);
        char shown[32];
        snprintf(shown, sizeof shown, "%s", names[i]);
        for (char *p = shown; *p; p++)
            if (*p == '\n')
                *p = '~';
        is_int(rc, SLUICE_E_USAGE, "name '%s' refused as invalid", shown);
        like(err.message, "invalid stage name", "name '%s': says why", shown);
    }
    char abs_name[512];
    snprintf(abs_name, sizeof abs_name, "%s/x", tmpdir);
    rc = loader_find(l2, abs_name, &st, &err);
    is_int(rc, SLUICE_E_USAGE, "an absolute path as a name is refused");
    char *n65 = own(malloc(66));
    memset(n65, 'a', 65);
    n65[65] = '\0';
    rc = loader_find(l2, n65, &st, &err);
    is_int(rc, SLUICE_E_USAGE, "a 65-character name is refused");
    ok(!exists(marker), "no planted plugin was ever loaded");
    /* Control: the marker works when a plugin really is loaded. */
    rc = loader_load_path(l2, planted, NULL, NULL, &err);
    ok(exists(marker), "(control: loading a planted copy does set the "
                       "marker)");
    unsetenv("SLUICE_T_MARKER");
    loader_free(l2);

    /* ---- missing and odd plugins --------------------------------------- */
    char *odd = path_join(tmpdir, "odd");
    mkdir(odd, 0755);
    char *other = path_join(odd, "other.so");
    copy_file(path_join(testplugins, "failing.so"), other);
    char *junk = path_join(odd, "junk.so");
    write_file(junk, "this is not an ELF file\n");
    char *dirso = path_join(odd, "dir.so");
    mkdir(dirso, 0755);
    loader *l3 = loader_with_path(odd);
    memset(&err, 0, sizeof err);
    rc = loader_find(l3, "nosuchstage", &st, &err);
    is_int(rc, SLUICE_E_UNSUPPORTED, "a missing stage: plugin error");
    like(err.message, "'nosuchstage' not found", "names the stage");
    like(err.message, "nosuchstage.so", "names the file it looked for");
    like(err.message, "SLUICE_PLUGIN_PATH", "says where it looked");
    ok(!strchr(err.message, '\n'), "one line");
    memset(&err, 0, sizeof err);
    rc = loader_find(l3, "other", &st, &err);
    is_int(rc, SLUICE_E_UNSUPPORTED, "other.so providing only 'failing'");
    like(err.message, "does not provide stage 'other'", "says so");
    memset(&err, 0, sizeof err);
    rc = loader_find(l3, "junk", &st, &err);
    is_int(rc, SLUICE_E_UNSUPPORTED, "a .so that is not a shared object");
    like(err.message, "cannot load plugin", "says it cannot load it");
    memset(&err, 0, sizeof err);
    rc = loader_find(l3, "dir", &st, &err);
    is_int(rc, SLUICE_E_UNSUPPORTED, "a directory named dir.so is skipped");
    like(err.message, "not found", "and the stage is not found");
    loader_free(l3);

    /* ---- shadowing and listing ----------------------------------------- */
    char *shadow = path_join(tmpdir, "shadow");
    mkdir(shadow, 0755);
    char *zcopy = path_join(shadow, "zstd.so");
    copy_file(path_join(plugins, "zstd.so"), zcopy);
    char *lp = own(malloc(strlen(shadow) + strlen(plugins) +
                          strlen(testplugins) + 4));
    sprintf(lp, "%s:%s:%s", shadow, plugins, testplugins);
    loader *l4 = loader_with_path(lp);
    rc = loader_find(l4, "zstd", &st, &err);
    ok(rc == 0 && !strcmp(st->path, zcopy),
       "the first directory with zstd.so wins");
    list_acc acc = {0};
    loader_list(l4, on_list, &acc);
    ok(acc.zstd && acc.file && acc.failing, "loader_list visits zstd, file "
                                            "and failing");
    ok(acc.shadowed_zstd, "the second zstd is reported as shadowed");
    ok(acc.badabi_unusable, "badabi is listed as unusable");
    like(acc.abi_msg, expect_major, "with the ABI message");
    loader_free(l4);
    loader_free(l);

    rm_rf(tmpdir);
    free_all();
    return done();
}
