/* premanifest.c - a backup's MANIFEST written early; see premanifest.h. */
#define _GNU_SOURCE
#include "premanifest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct premanifest {
    const manifest *m;
    pthread_t th;
    char *buf;
    size_t len;
    int ok;
};

static void *write_head(void *arg)
{
    premanifest *p = arg;
    /* The objects come first: this takes what they leave (a thread's
     * own nice value, on Linux). */
    (void)setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
    FILE *f = open_memstream(&p->buf, &p->len);
    if (!f)
        return NULL;
    flockfile(f);
    int w = manifest_write_head(f, p->m);
    funlockfile(f);
    p->ok = fclose(f) == 0 && w == 0;
    return NULL;
}

premanifest *premanifest_start(const manifest *m)
{
    premanifest *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->m = m;
    if (pthread_create(&p->th, NULL, write_head, p) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

int premanifest_finish(premanifest *p, const manifest *m, char **buf,
                       size_t *len)
{
    pthread_join(p->th, NULL);
    char *tail = NULL;
    size_t tlen = 0;
    FILE *f = p->ok ? open_memstream(&tail, &tlen) : NULL;
    int ok = f && manifest_write_tail(f, m) == 0;
    ok = f && fclose(f) == 0 && ok;
    char *all = ok ? realloc(p->buf, p->len + tlen + 1) : NULL;
    if (all) {
        memcpy(all + p->len, tail, tlen + 1);
        *buf = all;
        *len = p->len + tlen;
    } else {
        free(p->buf);
    }
    free(tail);
    free(p);
    return all ? 0 : -1;
}

void premanifest_free(premanifest *p)
{
    if (!p)
        return;
    pthread_join(p->th, NULL);
    free(p->buf);
    free(p);
}
