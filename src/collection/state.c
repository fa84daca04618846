/* state.c - the client's record of each collection's INDEX sequence;
 * see state.h and doc/FORMAT.md 5.10. */
#define _GNU_SOURCE
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../status.h"
#include "../util.h"

/* The descriptor's salt (hex, as recorded): the collection's identity.
 * NULL: no salt, nothing authenticates the INDEX, nothing to track. */
static const char *coll_salt(const coll *k)
{
    for (size_t i = 0; k->desc && i < k->desc->n_stages; i++) {
        const header_stage *st = &k->desc->stages[i];
        for (size_t j = 0; j < st->n_params; j++)
            if (!strcmp(st->params[j].key, "salt"))
                return st->params[j].value;
    }
    return NULL;
}

/* $XDG_STATE_HOME/sluice/collections (made 0700 as needed) into buf;
 * -1 when there is no home to keep it in. */
static int state_dir(char *buf, size_t cap)
{
    const char *x = getenv("XDG_STATE_HOME"), *h = getenv("HOME");
    int n;
    if (x && x[0] == '/') /* the spec: a relative value is ignored */
        n = snprintf(buf, cap, "%s/sluice", x);
    else if (h && h[0] == '/')
        n = snprintf(buf, cap, "%s/.local/state/sluice", h);
    else
        return -1;
    if (n < 0 || (size_t)n + 16 >= cap)
        return -1;
    /* mkdir -p, each level private to the user when it is made. */
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = '\0';
            int bad = mkdir(buf, 0700) < 0 && errno != EEXIST;
            *p = c;
            if (bad)
                return -1;
            if (!c)
                break;
        }
    }
    strcat(buf, "/collections");
    return mkdir(buf, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

typedef struct seen {
    uint64_t seq; /* 0: nothing recorded */
    char hash[65];
} seen;

static void read_seen(const char *path, seen *s)
{
    memset(s, 0, sizeof *s);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    uint64_t q;
    char h[65];
    if (fscanf(f, "sluice-state/1\nseq %" SCNu64 "\nhash %64s\n", &q, h) ==
            2 && strlen(h) == 64) {
        s->seq = q;
        memcpy(s->hash, h, sizeof s->hash);
    }
    fclose(f);
}

/* Writes path atomically (a temporary file renamed over it), mode 0600. */
static int write_seen(const char *path, const seen *s)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -1;
    char text[128];
    int n = snprintf(text, sizeof text, "sluice-state/1\nseq %" PRIu64
                     "\nhash %s\n", s->seq, s->hash);
    int bad = fchmod(fd, 0600) < 0 || write(fd, text, (size_t)n) != n ||
              fsync(fd) < 0;
    bad |= close(fd) < 0;
    if (bad || rename(tmp, path) < 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Records seq/hash unless a higher sequence is already recorded (another
 * sluice of this user got further meanwhile): under an flock of
 * PATH.lock, re-read, then replace. */
static void record(const coll *k, const char *path, uint64_t seq,
                   const char *hash)
{
    char lk[4200];
    snprintf(lk, sizeof lk, "%s.lock", path);
    int fd = open(lk, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0)
        flock(fd, LOCK_EX);
    seen s;
    read_seen(path, &s);
    if (s.seq < seq || (s.seq == seq && strcmp(s.hash, hash))) {
        s.seq = seq;
        snprintf(s.hash, sizeof s.hash, "%s", hash);
        if (write_seen(path, &s) < 0)
            say("%s: warning: cannot record INDEX sequence %" PRIu64
                " in %s: %s", k->root, seq, path, strerror(errno));
    }
    if (fd >= 0)
        close(fd);
}

static int state_path(const coll *k, char *path, size_t cap)
{
    const char *salt = coll_salt(k);
    char dir[4096];
    if (!salt || !k->ix.seq || state_dir(dir, sizeof dir) < 0)
        return -1;
    snprintf(path, cap, "%s/%.64s", dir, salt);
    return 0;
}

int state_check_index(coll *k)
{
    const char *salt = coll_salt(k);
    char dir[4096], path[4200], hash[65];
    if (!salt)
        return 0;
    if (state_dir(dir, sizeof dir) < 0) {
        say("%s: warning: no $XDG_STATE_HOME or $HOME to record the INDEX "
            "sequence in: rollback is not detected", k->root);
        return 0;
    }
    snprintf(path, sizeof path, "%s/%.64s", dir, salt);
    seen s;
    read_seen(path, &s);
    hex_encode(k->ix.hash, 32, hash);
    char prev[65];
    hex_encode(k->ix.prev, 32, prev);
    const char *fix = "if this is intended (a restored copy of the "
                      "collection), remove";
    if (s.seq && k->ix.seq < s.seq) {
        say("%s/INDEX went back from sequence %" PRIu64 " to %" PRIu64
            "%s: an older INDEX was put back (rollback); %s %s to accept it",
            k->root, s.seq, k->ix.seq,
            k->ix.seq ? "" : " (an INDEX without sequence number, or none)", fix,
            path);
        return EXIT_AUTH;
    }
    if (s.seq && ((k->ix.seq == s.seq && strcmp(hash, s.hash)) ||
                  (k->ix.seq == s.seq + 1 && strcmp(prev, s.hash)))) {
        say("%s/INDEX sequence %" PRIu64 " (SHA-256 %.16s...) does not "
            "follow sequence %" PRIu64 " seen before (SHA-256 %.16s...): "
            "the collection forked; %s %s to accept it", k->root, k->ix.seq,
            hash, s.seq, s.hash, fix, path);
        return EXIT_AUTH;
    }
    if (k->ix.seq)
        record(k, path, k->ix.seq, hash);
    return 0;
}

void state_record_index(coll *k)
{
    char path[4200], hash[65];
    if (state_path(k, path, sizeof path) < 0)
        return;
    hex_encode(k->ix.hash, 32, hash);
    record(k, path, k->ix.seq, hash);
}
