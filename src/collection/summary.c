/* summary.c - the line that ends a backup: files new, changed, unchanged
 * and deleted, bytes read and stored, duration.  Said on stderr (stdout
 * keeps the backup id alone, for scripts), or with --json one object on
 * stdout in place of the id (doc/sluice.1, JSON OUTPUT). */
#include "coll.h"

#include "../progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void summary_count(backup_summary *s, const manifest *cur,
                   const manifest *prev, const char *id)
{
    for (size_t i = 0; i < cur->entries.n; i++) {
        const mentry *e = &cur->entries.e[i];
        if (!e->bid || strcmp(e->bid, id))
            s->unchanged++;
        else if (mlist_find(&prev->entries, e->path))
            s->changed++;
        else
            s->added++;
    }
    s->deleted = cur->n_deleted;
}

void summary_print(const backup_summary *s, const char *id, int json,
                   int quiet, int line)
{
    if (json) {
        /* The id is [A-Za-z0-9._-] (manifest_id_ok): no escaping. */
        printf("{\"id\":\"%s\",\"new\":%" PRIu64 ",\"changed\":%" PRIu64
               ",\"unchanged\":%" PRIu64 ",\"deleted\":%" PRIu64
               ",\"bytes_read\":%" PRIu64 ",\"bytes_stored\":%" PRIu64
               ",\"seconds\":%.3f}\n",
               id, s->added, s->changed, s->unchanged, s->deleted,
               s->bytes_read, s->bytes_stored, s->seconds);
        return;
    }
    if (!quiet)
        printf("%s\n", id);
    if (quiet || !line)
        return;
    char rd[32], st[32];
    progress_bytes(s->bytes_read, rd, sizeof rd);
    progress_bytes(s->bytes_stored, st, sizeof st);
    say("backup %s: files: %" PRIu64 " new, %" PRIu64 " changed, %" PRIu64
        " unchanged, %" PRIu64 " deleted; read %s, stored %s in %.1f s", id,
        s->added, s->changed, s->unchanged, s->deleted, rd, st, s->seconds);
}
