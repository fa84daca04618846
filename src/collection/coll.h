/*
 * coll.h - what the collection commands share (internal): the open
 * collection, its records, and the helpers that read and write them.
 */
#ifndef SLUICE_COLL_H
#define SLUICE_COLL_H

#include "../progress.h"
#include "collection.h"
#include "manifest.h"
#include "objstore.h"

#define DESCRIPTOR "SLUICE-COLLECTION"
/* Data objects moving at once at most (each one engine run: about 1.5
 * MiB per link plus the stages' own state, so memory stays bounded). */
#define COLL_JOBS 4

typedef struct coll {
    const char *cmd;
    const coll_opts *c;
    objstore o;
    const char *root;
    header *desc;     /* the descriptor as read                     */
    header *fchain;   /* forward chain built from it                */
    index_t ix;
    loclist locs;
    int have_index;
    char lock_token[400]; /* what this backup wrote into LOCK        */
    int locked;
    _Atomic int said_interrupted; /* "interrupted" was said (once)   */
    char *from_url;   /* --from without its "?locality=" tag         */
    progress_count count; /* feedback.c: what the line shows         */
    progress *pg;         /* the line, while shown                   */
} coll;

/* The online cores (at least 1). */
unsigned coll_cores(void);
/* Data objects to encode or decode at once: one a core, 2..COLL_JOBS.
 * More runs than cores only take turns on them, and each run's working
 * set (zstd's tables) then falls out of the caches: on 2 cores, 4 runs
 * cost a third more CPU than 2 (doc/PERFORMANCE.md). */
unsigned coll_width(void);

/* "sluice: ..." on stderr, one line (host_print_line); returns 0. */
int say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Says the failure (unless a signal came: that is said once) and returns
 * its exit status. */
int fail_os(coll *k, int rc, const os_err *e);
/* SIGINT or SIGTERM came: said once; every loop stops. */
int interrupted(coll *k);
int worse(int a, int b);
/* The exit status for a failed get of a data object: one that does not
 * hold what its manifest says is tampered with (5), never usage. */
int object_exit(int rc);

const char *host_name(const coll_opts *c);
void fmt_time(int64_t t, char *buf, size_t cap, int compact);

/* The descriptor: read it and check the passphrase against it; absent
 * (backup only): *absent = 1 and 0. */
int open_collection(coll *k, int *absent);
/* open_collection + load_index, for backups/restore/verify. */
int open_existing(coll *k);
/* Reads INDEX and checks it against the client's state (state.h). */
int load_index(coll *k, int must);
/* Writes k->ix as the next INDEX (sequence + 1, chained to the one read)
 * and records it in the client's state: every INDEX write goes here. */
int put_index(coll *k, os_err *err);
int load_manifest(coll *k, const char *id, manifest *m);
/* The same, its header lines only (mparse_new_head): no entries. */
int load_manifest_head(coll *k, const char *id, manifest *m);
/* Writes a record (manifest_write, index_write, loc_write) as an object. */
int put_record(coll *k, const char *name,
               int (*writer)(FILE *, const void *), const void *arg,
               uint64_t *stored, os_err *err);
const ixent *find_backup(const coll *k, const char *id);
size_t backup_pos(const coll *k, const char *id);
/* The root holding a backup's data objects. */
const char *data_root(const coll *k, const char *bid);

/* What backups/BID/data-N must be (e->in's record), into *s: s, or NULL
 * when the manifest records none (sluice-manifest/1 and /2). */
const os_sum *object_sum(const mentry *e, unsigned n, os_sum *s);

int lock_collection(coll *k, const char *host);
void unlock_collection(coll *k);

/* chain.c: a new collection's chain from -z/-e/--chain (k->fchain);
 * an existing one's descriptor checked against the flags given. */
int chain_new(coll *k);
int chain_check(coll *k);

/* select.c: the backup's operands (PATHs and --files-from; the caller
 * frees them), and the scan filtered by the selection options. */
int select_operands(coll *k, char ***args, int *n);
int select_filter(coll *k, mlist *l);
/* The -C base and the sorted PATHs, '\n'-separated (malloc'd; NULL
 * when they cannot be read): a backup's parent has the same. */
char *select_paths_key(coll *k);

/* summary.c: the line that ends a backup. */
typedef struct backup_summary {
    uint64_t added, changed, unchanged, deleted, bytes_read, bytes_stored;
    double seconds;
} backup_summary;
void summary_count(backup_summary *s, const manifest *cur,
                   const manifest *prev, const char *id);
/* json: one object on stdout instead of the id; else the id unless
 * quiet, and the summary line on stderr when line and not quiet. */
void summary_print(const backup_summary *s, const char *id, int json,
                   int quiet, int line);

/* feedback.c: the progress line of backup, restore, verify, forget and
 * prune (on a terminal or with --progress; else nothing is started and
 * the counting costs an atomic add an object).  Start it once the
 * passphrase was asked for, stop it before the command's last words; a
 * new start replaces the line (forget --prune: the prune's). */
void feedback_start(coll *k, const char *unit);
void feedback_stop(coll *k);
void feedback_done(coll *k, uint64_t items, uint64_t bytes);
/* restore, verify: the totals from the records of the entries they
 * fetch (items: the entries; bytes: their objects' stored sizes), and
 * from now on the stored bytes of every get are counted as they come. */
void feedback_expect(coll *k, mentry **v, size_t n);
/* One object put (backup): *o a copy of k->o whose run counts its bytes
 * live, at most `bytes` (the file data it holds: a tar stream's headers
 * are not counted); feedback_put_done adds what was not and the files. */
typedef struct feed_put {
    coll *k;
    uint64_t left;
} feed_put;
void feedback_put(coll *k, objstore *o, feed_put *f, uint64_t bytes);
void feedback_put_done(feed_put *f, uint64_t files, int ok);

/* restore.c: the backup --as-of names (else the host's latest), or
 * NULL (said). */
const ixent *select_backup(coll *k);
/* The backup spec a names (when.h: latest, an id or unique prefix, a
 * date...), or NULL, said as "ROOT: <what>'a': why". */
const ixent *select_backup_spec(coll *k, const char *a, const char *what);
/* Whether path is one of the PATH arguments sel[0..n) or below one (n 0:
 * every path); parents: also the directories leading to one (restore.c). */
int path_selected(const char *path, char **sel, int n, int parents);
/* open_existing, select_backup, load_manifest. */
int open_selected(coll *k, const ixent **b, manifest *m);

/* ls.c: s as a JSON string (control characters, '"', '\\' escaped). */
void json_str(FILE *f, const char *s);
/* ls.c: an entry's "type", "mode", "uid", "gid", "size", "mtime" and
 * "link" members, on stdout (ls --json, diff --json). */
void json_fields(const mentry *e);

int cmd_ls(coll *k);
int cmd_diff(coll *k);
int cmd_backup(coll *k);
int cmd_backups(coll *k);
int cmd_restore(coll *k);
int cmd_verify(coll *k);
int cmd_forget(coll *k);
int cmd_prune(coll *k);
int cmd_unlock(coll *k);
/* Deletes every object no backup in k->ix references (prune.c); dry:
 * only says what would go.  Under the lock. */
int prune_locked(coll *k, int dry);
/* --prune-grace (default 1d; "0": none): incomplete uploads started
 * before *cutoff are aborted.  0, or EXIT_USAGE (said). */
int prune_grace(coll *k, int64_t *cutoff);
/* The time of day for backup ids and retention: time(NULL), or with
 * configure --enable-test-clock, SLUICE_TEST_NOW (unix seconds). */
int64_t coll_now(void);

#endif
