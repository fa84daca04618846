/*
 * retention.h - which backups `sluice forget` keeps: the retention policy
 * as a pure function of the backup list, the policy and "now".
 *
 * The rules are restic's `forget` (internal/data/snapshot_policy.go,
 * ApplyPolicy, as of restic 0.17/0.18):
 *
 *  - Backups are grouped by (host, path set); each group is judged alone.
 *    With a host filter only that host's backups are judged; the others
 *    are RET_OTHER (left alone, and kept).
 *  - In a group, backups are walked newest first (by time; equal times:
 *    the later one in the input, i.e. INDEX order, first).
 *  - keep-last N keeps the N newest.  keep-hourly/daily/weekly/monthly/
 *    yearly N: each backup falls in a bucket (its UTC hour, day, ISO 8601
 *    week, month, year); walking newest first, a backup whose bucket
 *    differs from that of the previous backup *kept by this rule* is kept
 *    and uses up one of the N, so each rule keeps the newest backup of
 *    each of the N newest buckets that have one.  RET_ALL (-1) means no
 *    limit.  Like restic >= 0.17, the oldest backup of the group is also
 *    kept ("oldest daily 5/7") by a rule that still has counts left, even
 *    when its bucket is that of the last one kept: a short history is
 *    kept as long as it can be.
 *  - keep-within D keeps every backup newer than (strictly after) the
 *    group's newest backup time minus D; the newest is the newest not in
 *    the future of `now` (a clock gone wrong cannot stretch the window).
 *    keep-within-hourly/daily/... D apply the bucket rule, without a
 *    count, to the backups within D.
 *  - A backup is kept when any rule keeps it; its reasons list them all,
 *    e.g. "last 1/3, daily 1/7, within 7d".
 *  - An empty policy (no count, no duration) is refused, like restic:
 *    forgetting everything needs allow_remove_all.
 *
 * Checked against restic's own golden files (policy_keep_snapshots_*: its
 * 103-snapshot list under the 37 policies that use no tags): the same
 * backups are kept.  Differences: no tags; durations are parsed strictly
 * (when.h: units in y m w d h order); the reasons are worded
 * "daily 2/7" where restic says "daily snapshot".
 *
 * Buckets are in UTC, not local time: backup times are UTC (ids, INDEX),
 * hosts of one collection may be in different zones, and a daily rule must
 * not shift with the machine forget runs on.  (restic uses each snapshot's
 * recorded local time; a daily backup at 00:30 local may therefore fall on
 * the previous UTC day here.)
 *
 * Incremental chains: we keep what the survivors reference.  An
 * incremental backup's manifest names objects of older backups of its
 * chain, so after the policy has decided, every backup on the parent
 * chain of a kept backup (its parent, the parent's parent, ... down to the
 * full backup) is kept too, with the reason "needed by ID" (ID: the newest
 * kept backup that needs it).  These extra backups use up no count of any
 * rule.  So a chain is forgotten only as a whole, from its newest
 * backup down: forgetting frees space only once a newer full backup starts
 * a new chain.  (The alternative, folding the needed objects into a
 * survivor, would rewrite stored data; restic and borg never need it as
 * they are content-addressed.)  A parent id that is not in the list is
 * ignored (nothing to keep).
 */
#ifndef SLUICE_COLLECTION_RETENTION_H
#define SLUICE_COLLECTION_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "when.h"

#define RET_ALL (-1) /* a count without limit ("all daily") */

/* One backup of the collection (an INDEX line plus its path set). */
typedef struct ret_backup {
    const char *id;
    const char *host;
    int64_t time;        /* UTC seconds                               */
    const char *parent;  /* NULL or "": a full backup                  */
    const char *pathset; /* key of its path set; NULL or "": the same
                            for every backup of the host               */
} ret_backup;

typedef struct ret_policy {
    int last, hourly, daily, weekly, monthly, yearly; /* 0, N or RET_ALL */
    when_span within;
    when_span within_hourly, within_daily, within_weekly, within_monthly,
        within_yearly;
    const char *host;     /* NULL: every host                          */
    int allow_remove_all; /* an empty policy forgets everything        */
} ret_policy;

typedef enum ret_verdict {
    RET_FORGET = 0, /* no rule keeps it                               */
    RET_KEEP = 1,   /* a rule, or a kept backup's chain, keeps it     */
    RET_OTHER = 2   /* not judged: another host than policy->host     */
} ret_verdict;

typedef struct ret_decision {
    ret_verdict verdict;
    char *why; /* RET_KEEP: "last 1/3, daily 2/7", "needed by ID";
                  RET_OTHER: "host H not selected"; RET_FORGET: NULL.
                  Allocated; retention_free() frees it.             */
} ret_decision;

/* 1 if the policy names no count and no duration. */
int retention_policy_empty(const ret_policy *p);

/* Describes the policy ("keep 7 daily, 4 weekly, within 30d"). */
void retention_policy_describe(const ret_policy *p, char *buf, size_t cap);

/* Decides for each of b[0..n-1] (any order; INDEX order breaks ties of
 * time) whether it is kept, into out[0..n-1]; now: the current time (UTC
 * seconds).  Returns 0, or -1 with a message in err (and out[] freed):
 * an empty policy without allow_remove_all, a negative count other than
 * RET_ALL, a backup without id or host, an id listed twice, or out of
 * memory. */
int retention_apply(const ret_backup *b, size_t n, const ret_policy *p,
                    int64_t now, ret_decision *out, char *err, size_t cap);

/* Frees the reasons of out[0..n-1]. */
void retention_free(ret_decision *out, size_t n);

#endif
