/*
 * unit-list.c - engine_list and the file stage's list() (ABI 1.3): the
 * tree under a directory, walked by descriptor: regular files are
 * objects, a symlink or a FIFO is "other" and never followed, names are
 * relative, the depth is bounded; a callback's status stops the listing
 * and comes back unchanged; a missing directory lists nothing; an
 * undeclared option is refused before list() runs; a stage without
 * list() cannot list (SLUICE_E_UNSUPPORTED; a plugin built for ABI 1.2:
 * t/prune-s3.t).
 *
 * Needs the built plugins: $SLUICE_PLUGIN_PATH (file.so, http.so); run
 * through make check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/engine.h"
#include "../src/host.h"
#include "../src/loader.h"
#include "tap.h"

typedef struct seen {
    char lines[4096];
    int n;
    int stop_after; /* 0: never */
} seen;

static int collect(void *arg, const sluice_entry *e)
{
    seen *s = arg;
    size_t l = strlen(s->lines);
    snprintf(s->lines + l, sizeof s->lines - l, "%s %s %llu\n",
             e->kind == SLUICE_ENTRY_OBJECT ? "object"
             : e->kind == SLUICE_ENTRY_OTHER ? "other"
                                             : "upload",
             e->name, (unsigned long long)e->size);
    return ++s->n == s->stop_after ? SLUICE_E_CANCELED : 0;
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The collected lines, sorted (list() gives no order). */
static void sort_lines(seen *s)
{
    char *v[64], buf[4096];
    size_t n = 0;
    for (char *p = strtok(s->lines, "\n"); p && n < 64; p = strtok(NULL, "\n"))
        v[n++] = p;
    qsort(v, n, sizeof *v, cmp_line);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s\n", v[i]);
    memcpy(s->lines, buf, sizeof buf);
}

static int list(session *ss, loader *l, const char *stage, const char *path,
                const char *extra, seen *s, engine_error *fail)
{
    sluice_kv kv[2] = {{"path", path}, {extra ? extra : "", "1"}};
    stage_spec spec = {stage, kv, extra ? 2 : 1, NULL};
    memset(s, 0, sizeof *s - sizeof s->stop_after);
    memset(fail, 0, sizeof *fail);
    return engine_list(ss, l, &spec, collect, s, fail);
}

static void put(const char *path, const char *data)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(data, f) < 0 || fclose(f))
        bail("%s: %s", path, strerror(errno));
}

int main(void)
{
    const char *pp = getenv("SLUICE_PLUGIN_PATH");
    if (!pp)
        skip_all("needs SLUICE_PLUGIN_PATH: run through make check");
    plan_no_plan();
    char dir[] = "/tmp/sluice-unit-list-XXXXXX";
    if (!mkdtemp(dir))
        bail("mkdtemp: %s", strerror(errno));
    char p[600], q[600];
    snprintf(p, sizeof p, "%s/t", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/t/a", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/t/a/b", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/t/a/b/file1", dir);
    put(p, "12345");
    snprintf(p, sizeof p, "%s/t/top", dir);
    put(p, "abc");
    snprintf(p, sizeof p, "%s/outside", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/outside/secret", dir);
    put(p, "x");
    snprintf(p, sizeof p, "%s/outside", dir);
    snprintf(q, sizeof q, "%s/t/link", dir);
    if (symlink(p, q) < 0)
        bail("symlink: %s", strerror(errno));
    snprintf(q, sizeof q, "%s/t/fifo", dir);
    if (mkfifo(q, 0600) < 0)
        bail("mkfifo: %s", strerror(errno));

    session ss;
    session_init(&ss);
    loader *l = loader_new();
    if (!l)
        bail("loader_new failed");
    seen s = {.stop_after = 0};
    engine_error fail;
    snprintf(p, sizeof p, "%s/t", dir);
    is_int(list(&ss, l, "file", p, NULL, &s, &fail), 0, "file: list a tree");
    sort_lines(&s);
    char want[800];
    snprintf(want, sizeof want,
             "object a/b/file1 5\nobject top 3\nother fifo 0\nother link %zu\n",
             strlen(dir) + strlen("/outside"));
    is_str(s.lines, want,
           "... files are objects, named relative to it; a symlink and a "
           "FIFO are other, the link not followed");
    ok(!strstr(s.lines, "secret"), "... nothing behind the symlink");

    s.stop_after = 1;
    is_int(list(&ss, l, "file", p, NULL, &s, &fail), SLUICE_E_CANCELED,
           "the callback's status stops the listing and comes back");
    ok(s.n == 1 && !fail.subject[0], "... after one entry, with no failure set");
    s.stop_after = 0;

    snprintf(q, sizeof q, "%s/nosuch", dir);
    ok(list(&ss, l, "file", q, NULL, &s, &fail) == 0 && s.n == 0,
       "a missing directory lists nothing");

    /* 20 levels: more than the 16 the walk accepts. */
    snprintf(q, sizeof q, "%s/deep", dir);
    mkdir(q, 0700);
    for (int i = 0; i < 20; i++) {
        strcat(q, "/d");
        mkdir(q, 0700);
    }
    snprintf(q, sizeof q, "%s/deep", dir);
    is_int(list(&ss, l, "file", q, NULL, &s, &fail), SLUICE_E_IO,
           "a tree deeper than 16 levels is an error");
    like(fail.err.message, "more than 16 directory levels", "... saying so");

    is_int(list(&ss, l, "file", p, "bogus", &s, &fail), SLUICE_E_USAGE,
           "an undeclared option is refused");
    ok(s.n == 0, "... before list() runs");

    is_int(list(&ss, l, "http", p, NULL, &s, &fail), SLUICE_E_UNSUPPORTED,
           "an endpoint stage without list() cannot list");
    is_str(fail.err.message, "cannot list objects", "... saying so");
    is_str(fail.subject, "http", "... naming the stage");

    /* A stage that breaks the contract: the entry never reaches the
     * caller (prune acts on what it is given). */
    const char *tp = getenv("SLUICE_TEST_PLUGINS");
    if (tp) {
        char both[8192];
        snprintf(both, sizeof both, "%s:%s", pp, tp);
        setenv("SLUICE_PLUGIN_PATH", both, 1);
        loader *l2 = loader_new();
        static const char *modes[] = {"dotdot", "empty", "noid"};
        sluice_kv kv[1] = {{"mode", "good"}};
        stage_spec spec = {"badlist", kv, 1, NULL};
        memset(&s, 0, sizeof s);
        ok(l2 && engine_list(&ss, l2, &spec, collect, &s, &fail) == 0 &&
               s.n == 1,
           "badlist: a well-formed entry passes");
        for (size_t i = 0; l2 && i < sizeof modes / sizeof *modes; i++) {
            kv[0].value = modes[i];
            memset(&s, 0, sizeof s);
            memset(&fail, 0, sizeof fail);
            int rc = engine_list(&ss, l2, &spec, collect, &s, &fail);
            ok(rc == SLUICE_E_INTERNAL && s.n == 0 &&
                   strstr(fail.err.message, "malformed entry"),
               "badlist mode=%s: refused by the host, never handed on (%s)",
               modes[i], fail.err.message);
        }
        if (l2)
            loader_free(l2);
    } else {
        skip(4, "needs SLUICE_TEST_PLUGINS (badlist.so)");
    }

    loader_free(l);
    session_cleanup(&ss);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    return done();
}
