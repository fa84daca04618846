/* lock.c - the collection's LOCK (doc/FORMAT.md 5.7): one backup at a
 * time writes a collection. */
#include "coll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
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

/* This boot's id (the kernel draws a new one at every boot), or "". */
static void boot_id(char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
    if (!f)
        return;
    if (fgets(out, (int)cap, f))
        out[strcspn(out, " \n")] = '\0';
    fclose(f);
    for (char *p = out; *p; p++)
        if (!strchr("0123456789abcdef-", *p)) {
            out[0] = '\0';
            break;
        }
}

/* A LOCK left by a run of this boot whose process is gone: same boot id,
 * and kill(pid, 0) finds no such process.  A LOCK without a boot id (an
 * older sluice) or from another machine is never judged stale here. */
static int lock_stale(const char *t, long *pid_out)
{
    char host[256], rnd[64], bid[64], mine[64];
    long pid, when;
    if (!t || sscanf(t, "%255s %ld %ld %63s %63s", host, &pid, &when, rnd,
                     bid) != 5 || pid <= 0)
        return 0;
    boot_id(mine, sizeof mine);
    if (pid_out)
        *pid_out = pid;
    return *mine && !strcmp(mine, bid) && kill((pid_t)pid, 0) < 0 &&
           errno == ESRCH;
}

/* "HOST PID TIME RANDOM BOOTID\n", unique to this run. */
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
    char bid[64];
    boot_id(bid, sizeof bid);
    snprintf(k->lock_token, sizeof k->lock_token, "%s %ld %ld %s%s%s\n", hs,
             (long)getpid(), (long)time(NULL), rh, *bid ? " " : "", bid);
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

/* Removes LOCK (a stage without delete: writes "released"). */
static int remove_lock(coll *k)
{
    os_err e;
    int rc = os_can_delete(&k->o, k->root)
                 ? os_delete(&k->o, k->root, "LOCK", &e)
                 : put_lock(k, "released\n", 0, &e);
    if (rc < 0)
        say("%s", e.msg);
    return rc < 0 ? status_to_exit(rc) : 0;
}

/* One attempt; *stale: the LOCK found is stale (lock_stale), its text in
 * stale_text (malloc'ed). */
static int try_lock(coll *k, char **stale_text)
{
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
    if (lock_stale(t, NULL)) {
        *stale_text = t;
        return -1;
    }
    int ex = locked_by_other(k, t, excl);
    free(t);
    return ex;
}

/* Creates LOCK holding the run's token: atomically where the root allows
 * (a local directory: link(); s3: PUT with If-None-Match: *), else check,
 * write, wait and read back.  A stale LOCK (a run of this boot whose
 * process is gone) is broken with a warning, once.  0, or an exit status
 * after one line. */
int lock_collection(coll *k, const char *host)
{
    make_token(k, host);
    char *st = NULL;
    int ex = try_lock(k, &st);
    if (ex != -1)
        return ex;
    char who[200];
    lock_holder(st, who, sizeof who);
    /* Read again just before removing: another run breaking the same
     * stale lock may have taken a fresh one meanwhile (a narrow race:
     * reading and deleting are two operations). */
    os_err e;
    char *again = read_lock(k, &e);
    int same = again && !strcmp(again, st);
    free(again);
    free(st);
    if (same) {
        say("warning: %s/LOCK (%s) was left by a process of this machine "
            "that is gone: breaking it", k->root, who);
        if ((ex = remove_lock(k)))
            return ex;
    }
    ex = try_lock(k, &st);
    if (ex == -1) {
        free(st);
        say("%s: could not break the stale LOCK", k->root);
        ex = EXIT_IO;
    }
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
    (void)remove_lock(k);
}

/* `sluice unlock`: shows LOCK; removes it when it is stale (this
 * machine, process gone) or with --remove-all (another machine's lock,
 * which no check here can judge: like restic's unlock --remove-all). */
int cmd_unlock(coll *k)
{
    k->root = k->c->from;
    os_err e;
    char *t = read_lock(k, &e);
    if (!t) {
        if (!k->c->quiet)
            printf("%s: not locked\n", k->root);
        return EXIT_OK;
    }
    char who[200], line[600];
    long pid = 0;
    lock_holder(t, who, sizeof who);
    int stale = lock_stale(t, &pid);
    free(t);
    snprintf(line, sizeof line, "%s/LOCK: %s", k->root, who);
    host_print_listing(stdout, line);
    if (!strcmp(who, "released") || stale || k->c->remove_all) {
        int ex = remove_lock(k);
        if (!ex && !k->c->quiet)
            printf("removed%s\n", stale ? " (its process is gone)" : "");
        return ex;
    }
    say("%s/LOCK is held by a run that may still be going (another "
        "machine, or process %ld here is alive): not removed; check, then "
        "run sluice unlock --remove-all", k->root, pid);
    return EXIT_IO;
}
