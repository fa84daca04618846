/* lock.c - the collection's LOCK (doc/FORMAT.md 5.7): one backup at a
 * time writes a collection. */
#include "coll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "../status.h"
#include "../util.h"

/* LOCK as it is now (plain text), or NULL (absent or unreadable). */
static char *read_lock(coll *k, os_err *e)
{
    char *t = NULL;
    if (os_get_mem(&k->o, k->root, "LOCK", 1, &t, NULL, e) < 0)
        return NULL;
    return t;
}

static int put_lock(coll *k, const char *text, int exclusive, os_err *e)
{
    return os_put_mem(&k->o, k->root, "LOCK", text, strlen(text), 1,
                      exclusive, NULL, e);
}

/* Its first line, printable, for a message. */
static void lock_holder(const char *t, char *out, size_t cap)
{
    size_t j = 0;
    for (const char *p = t; *p && *p != '\n' && j + 1 < cap; p++)
        out[j++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
    out[j] = '\0';
}

/* "HOST PID TIME RANDOM\n", unique to this run. */
static void make_token(coll *k, const char *host)
{
    uint8_t r[8];
    char rh[17], hs[256];
    if (getrandom(r, sizeof r, 0) != sizeof r) {
        uint64_t x = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
        memcpy(r, &x, sizeof r);
    }
    hex_encode(r, sizeof r, rh);
    lock_holder(host, hs, sizeof hs);
    for (char *p = hs; *p; p++)
        if (*p == ' ')
            *p = '_';
    snprintf(k->lock_token, sizeof k->lock_token, "%s %ld %ld %s\n", hs,
             (long)getpid(), (long)time(NULL), rh);
}

/* The lock is someone else's: one line naming the holder. */
static int locked_by_other(coll *k, const char *t, int excl)
{
    char who[200] = "unreadable";
    if (t)
        lock_holder(t, who, sizeof who);
    if (!strcmp(who, "released") && excl)
        say("%s: collection is locked: %s/LOCK holds \"released\" (left by "
            "an older sluice): remove it; nothing written", k->root,
            k->root);
    else
        say("%s: collection is locked by another backup (%s/LOCK: %s): "
            "nothing written (%s %s/LOCK if that backup died)", k->root,
            k->root, who,
            os_can_delete(&k->o, k->root) ? "remove"
                                          : "write \"released\" into",
            k->root);
    return EXIT_IO;
}

/* Creates LOCK holding the run's token: atomically where the root allows
 * (a local directory: link(); s3: PUT with If-None-Match: *), else check,
 * write, wait and read back.  0, or an exit status after one line. */
int lock_collection(coll *k, const char *host)
{
    make_token(k, host);
    int excl = os_can_exclusive(&k->o, k->root), rc;
    os_err pe = {{0}}, ge;
    char *t = NULL;
    if (excl) {
        rc = put_lock(k, k->lock_token, 1, &pe);
    } else {
        /* No conditional create through this root's stage (http): LOCK
         * absent or "released" is free; write, wait, read back.  Two
         * backups that both find it free within a second of each other
         * can still both go on (doc/FORMAT.md 5.7). */
        t = read_lock(k, &ge);
        rc = t && strncmp(t, "released", 8) != 0 ? SLUICE_E_IO : 0;
        free(t);
        if (rc == 0)
            rc = put_lock(k, k->lock_token, 0, &pe);
        if (rc == 0)
            sleep(1);
    }
    if (excl && rc == 0) {
        k->locked = 1;
        return 0;
    }
    t = read_lock(k, &ge);
    if (t && !strcmp(t, k->lock_token)) {
        /* Ours (an exclusive PUT retried after its answer was lost). */
        free(t);
        k->locked = 1;
        return 0;
    }
    if (!t && rc < 0) {
        say("%s", pe.msg);
        return status_to_exit(rc);
    }
    int ex = locked_by_other(k, t, excl);
    free(t);
    return ex;
}

/* Removes LOCK if it is still this backup's (else leaves it, saying so). */
void unlock_collection(coll *k)
{
    if (!k->locked)
        return;
    k->locked = 0;
    os_err e;
    char *t = read_lock(k, &e);
    if (t && strcmp(t, k->lock_token) != 0) {
        char who[200];
        lock_holder(t, who, sizeof who);
        say("%s/LOCK is no longer this backup's (%s): left alone", k->root,
            who);
        free(t);
        return;
    }
    free(t);
    if (os_can_delete(&k->o, k->root)) {
        if (os_delete(&k->o, k->root, "LOCK", &e) < 0)
            say("%s", e.msg);
        return;
    }
    if (put_lock(k, "released\n", 0, &e) < 0)
        say("%s", e.msg);
}
