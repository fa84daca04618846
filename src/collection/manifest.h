/*
 * manifest.h - the text records of a backup collection (doc/FORMAT.md
 * section 5): a backup's MANIFEST (the full listing of the tree as of the
 * backup, each entry naming the backup and data object holding its
 * contents, or the chunk objects of a split file, plus the paths deleted since the previous backup), the INDEX
 * of backups and the LOCALITIES of the collection's destinations.
 */
#ifndef SLUICE_MANIFEST_H
#define SLUICE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct mentry {
    char *path;        /* member name: relative, canonical ("." = root)  */
    char *disk;        /* backup only: the path to open (not recorded)   */
    char type;         /* f d l c b p                                    */
    unsigned mode;     /* permission bits (07777)                        */
    unsigned uid, gid;
    uint64_t size;     /* regular files; 0 otherwise                     */
    int64_t mtime_ns, ctime_ns;
    uint64_t ino, dev, nlink;
    uint64_t rdev;     /* devices                                        */
    char *link;        /* symlink target, else NULL                      */
    char *sha;         /* SHA-256 of the contents, 64 hex digits
                          (--checksum), or NULL: a pointer, as few files
                          have one (the entries are most of a manifest's
                          memory, and memory first touched costs)        */
    const char *bid;   /* backup holding the entry's data: one of its
                          list's ids (mlist_id), not the entry's own     */
    unsigned obj;      /* its data object number (split: the first one)  */
    unsigned nchunks;  /* 0: a member of tar object `obj`; else a split
                          file: raw chunk objects obj .. obj+nchunks-1   */
    uint64_t chunk;    /* split: the file bytes in each chunk object but
                          the last (which holds the rest, 1..chunk)      */
    const struct manifest *in; /* the manifest read (load_manifest): its
                          object records (NULL: none)                    */
} mentry;

typedef struct mlist {
    mentry *e;
    size_t n, cap;
    size_t mapped; /* e is a mapping of this many bytes (mlist_push),
                      else 0: malloc'ed; mlist_release_array frees it */
    struct idtab *ids; /* the backup ids the entries name, each once */
} mlist;

/* sluice-manifest/3 and 4: a data object the backup's entries reference
 * (its own or an older backup's), as stored: its size and digest (the
 * chain's binding, or the SHA-256 of its stored bytes).  Restore and
 * verify refuse an object that differs (a swapped or replaced object
 * authenticates: one key seals them all). */
typedef struct mobj {
    char *bid;
    unsigned n;        /* data-N                                         */
    uint64_t size;
    /* Version 4 (FORMAT.md 5.3): 1 when digest is the binding of the
     * chain's authenticating stage (ABI 1.4), 0 when it is the SHA-256
     * of the stored bytes (all records of version 3). */
    int binding;
    uint8_t digest[32];
} mobj;

typedef struct manifest manifest;
struct manifest {
    char *id, *host, *parent; /* parent: NULL for a full backup */
    char *paths; /* the backup's -C base and PATHs, '\n'-separated
                    (NULL: not recorded, an older manifest)          */
    int64_t time;
    mlist entries;     /* sorted by path                                 */
    char **deleted;    /* paths gone since the parent                    */
    size_t n_deleted;
    mobj *objs;        /* sorted by (bid, n); none before version 3      */
    size_t n_objs, cap_objs;
};

/* Adds an object record (copies bid); 0 or -1 (out of memory). */
int manifest_add_obj(manifest *m, const char *bid, unsigned n,
                     uint64_t size, int binding, const uint8_t digest[32]);
/* Sorts the object records (after adding; parse sorts). */
void manifest_sort_objs(manifest *m);
/* The record of backups/BID/data-N, or NULL (none: not checked). */
const mobj *manifest_obj(const manifest *m, const char *bid, unsigned n);

mentry *mlist_push(mlist *l);
/* id as one of l's ids (kept until mlist_free), for an entry's bid: a
 * manifest's entries name a few backups, and a copy of the id for each
 * was 35k allocations.  NULL when out of memory. */
const char *mlist_id(mlist *l, const char *id);
void mlist_sort(mlist *l);
mentry *mlist_find(const mlist *l, const char *path); /* sorted list */
void mlist_free(mlist *l);
/* Frees the array alone (its entries' strings moved elsewhere). */
void mlist_release_array(mlist *l);
void manifest_free(manifest *m);

/* Percent-escapes bytes <= 0x20, 0x7f and '%' (a path on one line). */
void esc_write(FILE *f, const char *s);
/* Decodes in place; returns 0, or -1 on a malformed escape or %00. */
int esc_decode(char *s);

/* "." or a relative path of components other than "", "." and "..". */
int manifest_path_ok(const char *path);
/* A backup id: [A-Za-z0-9._-]+, not starting with ".". */
int manifest_id_ok(const char *id);

/* Writes sluice-manifest/4 (split files: object field "N:C:S"; "O"
 * lines: the objects, sorted). */
int manifest_write(FILE *f, const manifest *m);
/* manifest_write in two: the head (up to the entries and deletions) and
 * the tail (the object records, "end"). */
int manifest_write_head(FILE *f, const manifest *m);
int manifest_write_tail(FILE *f, const manifest *m);
/* Parses a whole MANIFEST (sluice-manifest/1, /2 or /3); returns 0 or -1 with
 * a message in err (and m freed).  Refuses repeated or missing
 * id/host/time/parent lines, entry paths that manifest_path_ok() refuses,
 * a path listed twice, an object number that is not 1..2^32-1, and a
 * split-file field (version 2 only) whose count and chunk size do not
 * exactly cover the entry's size or whose objects overflow. */
int manifest_parse(char *text, manifest *m, char *err, size_t cap);
/* The same parse as the text streams in (load_manifest: no copy of the
 * whole text, and its lines parsed while the rest is still decoded):
 * mparse_new clears m; mparse_feed takes the next bytes (-1: the text
 * is refused already, m freed); mparse_end ends it as manifest_parse
 * would and frees the parser; mparse_free drops it (and m) unended. */
typedef struct mparse mparse;
mparse *mparse_new(manifest *m);
/* The same for what needs only a backup's header lines (id, host, time,
 * parent, paths): E, D and O lines are passed over unparsed, so m has no
 * entries and no object records; the text must still end with "end". */
mparse *mparse_new_head(manifest *m);
int mparse_feed(mparse *p, const char *data, size_t n);
/* Whether the text was refused already (mparse_end says why). */
int mparse_failed(const mparse *p);
int mparse_end(mparse *p, char *err, size_t cap);
void mparse_free(mparse *p);

/* One INDEX line per backup, oldest first. */
typedef struct ixent {
    char *id, *host, *parent, *dest; /* dest: locality tag of its data */
    int64_t time;
    int full;
    uint64_t files, bytes_in, bytes_stored;
} ixent;

typedef struct index_t {
    ixent *e;
    size_t n, cap;
    /* sluice-index/2 (doc/FORMAT.md 5.4): the record's sequence number
     * (1 for the first INDEX of a collection, +1 for each rewrite; 0: a
     * sluice-index/1 record, which has none) and the SHA-256 of the INDEX
     * record it replaced (zeros for sequence 1).  Not in the record:
     * hash, the SHA-256 of this INDEX's decoded bytes (set by whoever
     * read or wrote it; zeros when there was none). */
    uint64_t seq;
    uint8_t prev[32], hash[32];
} index_t;

/* Parses sluice-index/1 (seq 0) or /2. */
int index_parse(char *text, index_t *ix, char *err, size_t cap);
/* Writes sluice-index/2 with ix->seq and ix->prev as they are (the
 * caller sets them to succeed the INDEX it read: put_index); seq 0
 * writes a sluice-index/1, as read. */
int index_write(FILE *f, const index_t *ix);
ixent *index_push(index_t *ix);
void index_free(index_t *ix);

/* LOCALITIES: one "TAG URL" line per destination; TAG is "default" or
 * "key=value". */
typedef struct locality {
    char *tag, *url;
} locality;

typedef struct loclist {
    locality *e;
    size_t n, cap;
} loclist;

int loc_parse(char *text, loclist *ll, char *err, size_t cap);
int loc_write(FILE *f, const loclist *ll);
/* Adds or replaces tag's URL. */
int loc_set(loclist *ll, const char *tag, const char *url);
const char *loc_url(const loclist *ll, const char *tag);
void loc_free(loclist *ll);

/* Reads a whole file into a NUL-terminated buffer. */
char *slurp(const char *path, size_t *len);

#endif
