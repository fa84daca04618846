/* premanifest.c - a backup's MANIFEST written early; see premanifest.h. */
#define _GNU_SOURCE
#include "premanifest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum { TAIL_WAIT, TAIL_GIVEN, TAIL_DROPPED };

struct premanifest {
    const manifest *m;
    objstore *o;
    char *root, *name;
    pthread_t th;
    int running;       /* th started, not joined yet                 */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *head, *tail; /* the text before and after the object records */
    size_t head_len, tail_len;
    int tail_state;    /* TAIL_*, under mu                          */
    int tail_taken;    /* the put's source has passed the tail on   */
    int written;       /* the head was formatted and the put ran    */
    int rc;            /* the put's status, *stored and err with it */
    uint64_t stored;
    os_err err;
};

/* The put's source, after the head: the tail once the commit gives it,
 * then the end; a failure when the manifest was given up. */
static ptrdiff_t produce_tail(void *arg, const uint8_t **p)
{
    premanifest *pm = arg;
    if (pm->tail_taken)
        return 0;
    pthread_mutex_lock(&pm->mu);
    while (pm->tail_state == TAIL_WAIT)
        pthread_cond_wait(&pm->cv, &pm->mu);
    int state = pm->tail_state;
    pthread_mutex_unlock(&pm->mu);
    if (state == TAIL_DROPPED)
        return SLUICE_E_CANCELED;
    pm->tail_taken = 1;
    *p = (const uint8_t *)pm->tail;
    return pm->tail_len ? (ptrdiff_t)pm->tail_len : 0;
}

static void *write_head(void *arg)
{
    premanifest *p = arg;
    /* The objects come first: this takes what they leave (a thread's
     * own nice value, on Linux; the put's threads inherit it). */
    (void)setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
    FILE *f = open_memstream(&p->head, &p->head_len);
    if (!f)
        return NULL;
    flockfile(f);
    int w = manifest_write_head(f, p->m);
    funlockfile(f);
    if (fclose(f) != 0 || w != 0)
        return NULL;
    p->written = 1;
    p->rc = os_put_produce(p->o, p->root, p->name, p->head, p->head_len,
                           produce_tail, p, &p->stored, &p->err);
    return NULL;
}

premanifest *premanifest_start(const manifest *m, objstore *o,
                               const char *root, const char *name)
{
    premanifest *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->m = m;
    p->o = o;
    p->root = strdup(root);
    p->name = strdup(name);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (!p->root || !p->name ||
        pthread_create(&p->th, NULL, write_head, p) != 0) {
        premanifest_free(p);
        return NULL;
    }
    p->running = 1;
    return p;
}

/* Hands the tail over (NULL: the manifest is given up) and waits for
 * the thread. */
static void end_put(premanifest *p, char *tail, size_t len)
{
    pthread_mutex_lock(&p->mu);
    p->tail = tail;
    p->tail_len = len;
    p->tail_state = tail ? TAIL_GIVEN : TAIL_DROPPED;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->th, NULL);
    p->running = 0;
}

int premanifest_finish(premanifest *p, const manifest *m, uint64_t *stored,
                       os_err *err)
{
    char *tail = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&tail, &len);
    int ok = f && manifest_write_tail(f, m) == 0;
    ok = f && fclose(f) == 0 && ok;
    end_put(p, ok ? tail : NULL, len);
    int rc = !ok || !p->written ? 0 : p->rc < 0 ? p->rc : 1;
    if (rc < 0)
        *err = p->err;
    else if (rc > 0)
        *stored = p->stored;
    free(tail);
    p->tail = NULL;
    premanifest_free(p);
    return rc;
}

void premanifest_free(premanifest *p)
{
    if (!p)
        return;
    if (p->running)
        end_put(p, NULL, 0);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->head);
    free(p->root);
    free(p->name);
    free(p);
}
