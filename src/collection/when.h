/*
 * when.h - the time arguments of collection commands, parsed strictly:
 * the whole argument or an error whose message names the token.  Pure
 * functions: no I/O, no clock, no globals (the caller passes "now").
 *
 * Durations (--keep-within and friends), restic style: one or more
 * NUMBER UNIT pairs, units y (years), m (months), w (weeks = 7 days),
 * d (days), h (hours), each at most once and in that order: "7d", "12h",
 * "2w", "1y2m3d".  Numbers are decimal, 0..100000; a duration whose every
 * number is 0 is refused (it would keep nothing).  restic has no "w" and
 * takes units in any order, a repeated one replacing the earlier; here
 * "3d1y" and "1d1d" are refused as the likely typos they are.  Going back by a
 * duration is calendar arithmetic in UTC, like restic's AddDate: years,
 * months and days on the calendar date (Mar 31 minus 1m is Mar 3, as
 * timegm normalises Feb 31), then hours as 3600 s each.
 *
 * Backup selection (--as-of SPEC), tried in this order:
 *
 *   latest                 the host's newest backup (last in INDEX order)
 *   @UNIX                  the host's newest backup at or before UNIX
 *   YYYY-MM-DD             ... at or before the end of that day, 23:59:59Z
 *   YYYY-MM-DDTHH:MM[Z]    ... at or before the end of that minute, HH:MM:59Z
 *   YYYY-MM-DDTHH:MM:SS[Z] ... at or before that second
 *   YYYYMMDDTHHMMSS[Z]     ... at or before that second (compact form)
 *   anything else          a backup id or a unique prefix of one
 *
 * All times are UTC (the trailing Z is optional; no other zone is
 * accepted), because backup ids and INDEX times are.  "Newest" means last
 * in INDEX order (doc/FORMAT.md 5.4), not the largest time.
 *
 * Id or time: backup ids start with their UTC time in the compact form
 * (FORMAT.md 5.4: YYYYMMDDTHHMMSSZ-host-xxxx), so "20261127T183000Z" is
 * both a complete time and a prefix of every id made in that second.  The
 * rule: a SPEC that is wholly one of the time forms above is a time,
 * never an id prefix; to name backups by id prefix, give more than the
 * time (at least the "-" after the Z, or the whole id).  A spec starting
 * with four digits and "-" is always a date and must be a valid one.  An
 * id prefix matching no backup is an error (never tried as a time); one
 * matching several is an error listing them.  Id prefixes match backups
 * of every host (an id names one backup); times and "latest" only those
 * of the given host.
 */
#ifndef SLUICE_COLLECTION_WHEN_H
#define SLUICE_COLLECTION_WHEN_H

#include <stddef.h>
#include <stdint.h>

/* A calendar duration; all fields >= 0. */
typedef struct when_span {
    int years, months, weeks, days, hours;
} when_span;

/* 1 if every field is 0 (no duration given). */
int when_span_zero(const when_span *d);

/* Parses a duration; returns 0, or -1 with "'SPEC': why" in err. */
int when_parse_span(const char *spec, when_span *d, char *err, size_t cap);

/* t minus d, calendar arithmetic in UTC (see above). */
int64_t when_span_before(int64_t t, const when_span *d);

/* Writes d in the parseable form ("1y2m3d", "2w"); "0h" when zero. */
void when_span_format(const when_span *d, char *buf, size_t cap);

typedef enum when_kind {
    WHEN_LATEST, /* the newest backup                                */
    WHEN_TIME,   /* the newest backup whose time is <= limit         */
    WHEN_ID      /* the backup whose id is, or starts with, prefix   */
} when_kind;

typedef struct when_spec {
    when_kind kind;
    int64_t limit;      /* WHEN_TIME: UTC seconds, inclusive        */
    const char *prefix; /* WHEN_ID: points into the parsed string   */
} when_spec;

/* Classifies and parses an --as-of SPEC; returns 0, or -1 with "'SPEC':
 * why" in err. */
int when_parse(const char *spec, when_spec *w, char *err, size_t cap);

/* What when_select() needs of each backup (the INDEX's B lines). */
typedef struct when_backup {
    const char *id, *host;
    int64_t time; /* UTC seconds */
} when_backup;

/* Picks the backup SPEC names among b[0..n-1] (INDEX order, oldest
 * first); host: the host whose backups times and "latest" consider (NULL:
 * every host).  Returns 0 with *pos set, or -1 with a one-line message in
 * err: a malformed SPEC, an id prefix that matches nothing or several
 * backups (listing up to five of them), or no backup of the host at or
 * before the time. */
int when_select(const when_backup *b, size_t n, const char *host,
                const char *spec, size_t *pos, char *err, size_t cap);

#endif
