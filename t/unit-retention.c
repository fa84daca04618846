/*
 * unit-retention.c - the forget policy (src/collection/retention.c):
 * restic's bucket rules, keep-within, per (host, path set) groups, the
 * host filter, parent chains of kept incrementals, and the refusal of an
 * empty policy.  Speaks TAP.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../src/collection/retention.h"
#include "tap.h"

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
    tm.tm_hour = h, tm.tm_min = mi;
    return (int64_t)timegm(&tm);
}

#define MAXB 64
static char ids[MAXB][40], parents[MAXB][40];
static ret_backup bk[MAXB];
static ret_decision out[MAXB];

/* One backup of host h at time t; parent: index of its parent or -1. */
static void mk(size_t i, const char *h, int64_t t, int parent,
               const char *pathset)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char ts[20];
    strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(ids[i], sizeof ids[i], "%s-%s-%04zx", ts, h, i);
    bk[i].id = ids[i];
    bk[i].host = h;
    bk[i].time = t;
    bk[i].pathset = pathset;
    parents[i][0] = '\0';
    if (parent >= 0)
        snprintf(parents[i], sizeof parents[i], "%s", ids[parent]);
    bk[i].parent = parents[i];
}

/* "1" for kept, "0" for forgotten, "-" for not judged, one per backup. */
static const char *verdicts(size_t n)
{
    static char v[MAXB + 1];
    for (size_t i = 0; i < n; i++)
        v[i] = out[i].verdict == RET_KEEP ? '1'
             : out[i].verdict == RET_OTHER ? '-' : '0';
    v[n] = '\0';
    return v;
}

static int apply(size_t n, const ret_policy *p, int64_t now)
{
    char err[256];
    int rc = retention_apply(bk, n, p, now, out, err, sizeof err);
    if (rc < 0)
        diag("retention_apply: %s", err);
    return rc;
}

/* 30 daily backups, 1..30 November 2026 at 03:00, all full. */
static void daily30(void)
{
    for (int d = 1; d <= 30; d++)
        mk((size_t)d - 1, "vm", utc(2026, 11, d, 3, 0), -1, NULL);
    int64_t now = utc(2026, 11, 30, 12, 0);
    ret_policy p = {0};
    char desc[200];

    p.daily = 7, p.weekly = 4;
    retention_policy_describe(&p, desc, sizeof desc);
    is_str(desc, "keep 7 daily, 4 weekly", "the policy describes itself");
    ok(apply(30, &p, now) == 0, "keep-daily 7 keep-weekly 4 applies");
    /* Daily: 24..30.  Weekly (ISO weeks, newest of each): 30 (W49, a
     * Monday), 29 (W48), 22 (W47), 15 (W46). */
    is_str(verdicts(30), "000000000000001000000101111111",
           "days 15, 22 and 24..30 are kept, 21 forgotten");
    is_str(out[29].why, "daily 1/7, weekly 1/4", "Nov 30: daily and weekly");
    is_str(out[28].why, "daily 2/7, weekly 2/4", "Nov 29: ends week 48");
    is_str(out[23].why, "daily 7/7", "Nov 24: the 7th daily");
    is_str(out[21].why, "weekly 3/4", "Nov 22: weekly only");
    is_str(out[14].why, "weekly 4/4", "Nov 15: the 4th weekly");
    ok(out[13].why == NULL, "a forgotten backup has no reason");
    retention_free(out, 30);

    memset(&p, 0, sizeof p);
    p.last = 3;
    ok(apply(30, &p, now) == 0, "keep-last 3");
    is_str(verdicts(30), "000000000000000000000000000111", "the 3 newest");
    is_str(out[27].why, "last 3/3", "... with their rank");
    retention_free(out, 30);

    /* The oldest rule (restic >= 0.17): counts left over keep the oldest. */
    memset(&p, 0, sizeof p);
    p.monthly = 3;
    ok(apply(30, &p, now) == 0, "keep-monthly 3 over one month");
    is_str(verdicts(30), "100000000000000000000000000001",
           "keeps the newest and, with counts left, the oldest");
    is_str(out[0].why, "oldest monthly 2/3", "... saying why");
    retention_free(out, 30);

    memset(&p, 0, sizeof p);
    p.daily = RET_ALL;
    ok(apply(30, &p, now) == 0 && !strcmp(verdicts(30), "111111111111111111111111111111"),
       "keep-daily all keeps one a day");
    is_str(out[0].why, "daily 30/all", "... counting without a limit");
    retention_free(out, 30);

    memset(&p, 0, sizeof p);
    when_parse_span("7d", &p.within, desc, sizeof desc);
    ok(apply(30, &p, now) == 0, "keep-within 7d");
    /* Newest: Nov 30 03:00; strictly after Nov 23 03:00 -> 24..30. */
    is_str(verdicts(30), "000000000000000000000001111111",
           "within 7d of the newest backup, strictly after");
    is_str(out[25].why, "within 7d", "... saying why");
    retention_free(out, 30);

    /* A backup from the future (a bad clock) does not anchor the window. */
    mk(30, "vm", utc(2027, 6, 1, 0, 0), -1, NULL);
    ok(apply(31, &p, now) == 0, "keep-within with a backup in the future");
    is_str(verdicts(31), "0000000000000000000000011111111",
           "the window is measured from the newest backup not in the future");
    retention_free(out, 31);

    memset(&p, 0, sizeof p);
    when_parse_span("3d", &p.within_daily, desc, sizeof desc);
    p.weekly = 1;
    ok(apply(30, &p, now) == 0, "keep-within-daily 3d + weekly 1");
    is_str(verdicts(30), "000000000000000000000000000111",
           "daily buckets within 3d");
    is_str(out[29].why, "weekly 1/1, daily within 3d", "reasons in rule order");
    retention_free(out, 30);
}

static void refusals(void)
{
    char err[256] = "";
    ret_policy p = {0};
    mk(0, "vm", utc(2026, 11, 1, 3, 0), -1, NULL);
    mk(1, "vm", utc(2026, 11, 2, 3, 0), -1, NULL);
    ok(retention_apply(bk, 2, &p, utc(2026, 12, 1, 0, 0), out, err,
                       sizeof err) == -1, "an empty policy is refused");
    like(err, "no policy given", "... saying so");
    p.allow_remove_all = 1;
    ok(apply(2, &p, utc(2026, 12, 1, 0, 0)) == 0 &&
           !strcmp(verdicts(2), "00"), "allow_remove_all forgets everything");
    retention_free(out, 2);
    memset(&p, 0, sizeof p);
    p.daily = -2;
    ok(retention_apply(bk, 2, &p, 0, out, err, sizeof err) == -1,
       "a negative count is refused");
    like(err, "keep-daily -2", "... naming the rule");
    p.daily = 1;
    mk(1, "vm", utc(2026, 11, 2, 3, 0), -1, NULL);
    bk[1].id = bk[0].id;
    ok(retention_apply(bk, 2, &p, 0, out, err, sizeof err) == -1,
       "an id listed twice is refused");
    like(err, "listed twice", "... saying so");
}

static void hosts(void)
{
    /* Alternating hosts, one backup an hour, and two path sets on vm. */
    for (int i = 0; i < 12; i++)
        mk((size_t)i, i % 2 ? "db" : "vm", utc(2026, 11, 27, i, 0), -1,
           i % 4 == 2 ? "home" : "etc");
    ret_policy p = {0};
    p.last = 2;
    ok(apply(12, &p, utc(2026, 12, 1, 0, 0)) == 0, "keep-last 2, three groups");
    /* vm/etc: 0 4 8 -> 4 8; vm/home: 2 6 10 -> 6 10; db: 1 3 5 7 9 11 ->
     * 9 11. */
    is_str(verdicts(12), "000010101111",
           "each (host, path set) group keeps its own last 2");
    retention_free(out, 12);
    p.host = "db";
    ok(apply(12, &p, utc(2026, 12, 1, 0, 0)) == 0, "with --host db");
    is_str(verdicts(12), "-0-0-0-0-1-1", "only db judged, the rest left alone");
    is_str(out[0].why, "host vm not selected", "... saying so");
    retention_free(out, 12);

    /* Two backups in one second: the later in INDEX order is the newer. */
    mk(0, "vm", utc(2026, 11, 27, 12, 0), -1, NULL);
    mk(1, "vm", utc(2026, 11, 27, 12, 0), -1, NULL);
    memset(&p, 0, sizeof p);
    p.last = 1;
    ok(apply(2, &p, utc(2026, 12, 1, 0, 0)) == 0 &&
           !strcmp(verdicts(2), "01"), "equal times: INDEX order decides");
    retention_free(out, 2);
}

static void chains(void)
{
    /* Two chains, one backup a day: full 0 <- 1 <- 2 <- 3, full 4 <- 5 <- 6. */
    int par[] = {-1, 0, 1, 2, -1, 4, 5};
    for (int i = 0; i < 7; i++)
        mk((size_t)i, "vm", utc(2026, 11, 20 + i, 3, 0), par[i], NULL);
    ret_policy p = {0};
    p.last = 1;
    ok(apply(7, &p, utc(2026, 12, 1, 0, 0)) == 0, "keep-last 1 on chains");
    is_str(verdicts(7), "0000111", "the newest and its chain down to its full");
    is_str(out[6].why, "last 1/1", "the newest by policy");
    char want[80];
    snprintf(want, sizeof want, "needed by %s", ids[6]);
    is_str(out[5].why, want, "its parent: needed by it");
    is_str(out[4].why, want, "the full: needed by the newest too");
    retention_free(out, 7);

    /* Only the first chain, keep-within 1d of its newest (an incremental):
     * the policy keeps one backup, the chain the rest. */
    memset(&p, 0, sizeof p);
    char err[64];
    when_parse_span("1d", &p.within, err, sizeof err);
    ok(apply(4, &p, utc(2026, 12, 1, 0, 0)) == 0, "within 1d on one chain");
    is_str(verdicts(4), "1111", "the newest incremental keeps its whole chain");
    snprintf(want, sizeof want, "needed by %s", ids[3]);
    is_str(out[0].why, want, "... the full included");
    retention_free(out, 4);

    /* A dangling parent and a cycle do not hang or crash. */
    snprintf(parents[0], sizeof parents[0], "nowhere");
    snprintf(parents[4], sizeof parents[4], "%s", ids[6]); /* 4 <- 6 <- 5 <- 4 */
    memset(&p, 0, sizeof p);
    p.last = 1;
    ok(apply(7, &p, utc(2026, 12, 1, 0, 0)) == 0 &&
           !strcmp(verdicts(7), "0000111"), "a parent cycle ends");
    retention_free(out, 7);
}

int main(void)
{
    daily30();
    refusals();
    hosts();
    chains();
    return done();
}
