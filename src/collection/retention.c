/*
 * retention.c - restic's forget policy over a collection's backups, plus
 * the parent chains of incrementals (the rules are in retention.h).
 */
#define _GNU_SOURCE /* qsort_r */
#include "retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { B_LAST, B_HOURLY, B_DAILY, B_WEEKLY, B_MONTHLY, B_YEARLY, B_N };

static const char *const bucket_name[B_N] = {"last",   "hourly",  "daily",
                                             "weekly", "monthly", "yearly"};

/* The bucket of time t for rule k (B_LAST: every backup its own, nr). */
static int64_t bucket_of(int k, int64_t t, size_t nr)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (k == B_LAST || !gmtime_r(&tt, &tm))
        return (int64_t)nr;
    int64_t y = tm.tm_year + 1900, m = tm.tm_mon + 1, d = tm.tm_mday;
    switch (k) {
    case B_HOURLY:
        return ((y * 100 + m) * 100 + d) * 100 + tm.tm_hour;
    case B_DAILY:
        return (y * 100 + m) * 100 + d;
    case B_WEEKLY: {
        /* ISO 8601: the week (Monday first) belongs to the year of its
         * Thursday, and is numbered from the one holding January 4. */
        int64_t thu = t - (int64_t)((tm.tm_wday + 6) % 7) * 86400 + 3 * 86400;
        time_t tth = (time_t)thu;
        struct tm th;
        if (!gmtime_r(&tth, &th))
            return (int64_t)nr;
        return (int64_t)(th.tm_year + 1900) * 100 + th.tm_yday / 7 + 1;
    }
    case B_MONTHLY:
        return y * 100 + m;
    default:
        return y;
    }
}

/* Appends ", r" (or r) to *why; -1 when out of memory. */
static int add_reason(char **why, const char *r)
{
    size_t old = *why ? strlen(*why) : 0, len = strlen(r);
    char *w = realloc(*why, old + 2 + len + 1);
    if (!w)
        return -1;
    if (old)
        memcpy(w + old, ", ", 2), old += 2;
    memcpy(w + old, r, len + 1);
    *why = w;
    return 0;
}

int retention_policy_empty(const ret_policy *p)
{
    return !p->last && !p->hourly && !p->daily && !p->weekly && !p->monthly &&
           !p->yearly && when_span_zero(&p->within) &&
           when_span_zero(&p->within_hourly) &&
           when_span_zero(&p->within_daily) &&
           when_span_zero(&p->within_weekly) &&
           when_span_zero(&p->within_monthly) &&
           when_span_zero(&p->within_yearly);
}

static void counts_of(const ret_policy *p, int c[B_N])
{
    c[B_LAST] = p->last, c[B_HOURLY] = p->hourly, c[B_DAILY] = p->daily;
    c[B_WEEKLY] = p->weekly, c[B_MONTHLY] = p->monthly;
    c[B_YEARLY] = p->yearly;
}

static void spans_of(const ret_policy *p, const when_span *s[B_N])
{
    s[B_LAST] = NULL, s[B_HOURLY] = &p->within_hourly;
    s[B_DAILY] = &p->within_daily, s[B_WEEKLY] = &p->within_weekly;
    s[B_MONTHLY] = &p->within_monthly, s[B_YEARLY] = &p->within_yearly;
}

/* Appends "SEP text" to buf at *o, SEP being " " first, then ", ". */
static void describe_add(char *buf, size_t cap, size_t *o, const char *text)
{
    if (*o < cap) {
        int w = snprintf(buf + *o, cap - *o, "%s%s", *o > 4 ? ", " : " ",
                         text);
        *o += w > 0 ? (size_t)w : 0;
    }
}

void retention_policy_describe(const ret_policy *p, char *buf, size_t cap)
{
    int c[B_N];
    const when_span *s[B_N];
    char d[64], t[128];
    size_t o = (size_t)snprintf(buf, cap, "keep");
    counts_of(p, c);
    spans_of(p, s);
    for (int k = 0; k < B_N; k++)
        if (c[k]) {
            if (c[k] == RET_ALL)
                snprintf(t, sizeof t, "all %s", bucket_name[k]);
            else
                snprintf(t, sizeof t, "%d %s", c[k], bucket_name[k]);
            describe_add(buf, cap, &o, t);
        }
    for (int k = B_HOURLY; k < B_N; k++)
        if (!when_span_zero(s[k])) {
            when_span_format(s[k], d, sizeof d);
            snprintf(t, sizeof t, "%s within %s", bucket_name[k], d);
            describe_add(buf, cap, &o, t);
        }
    if (!when_span_zero(&p->within)) {
        when_span_format(&p->within, d, sizeof d);
        snprintf(t, sizeof t, "all within %s of the newest", d);
        describe_add(buf, cap, &o, t);
    }
    if (retention_policy_empty(p))
        o = (size_t)snprintf(buf, cap, "keep nothing");
    if (p->host && o < cap)
        snprintf(buf + o, cap - o, " (host %s)", p->host);
}

static int str_or_empty_cmp(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

/* Groups (host, path set) together, each newest first; ties: later first. */
static int cmp_group(const void *x, const void *y, void *arg)
{
    const ret_backup *b = arg;
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    int c = strcmp(b[i].host, b[j].host);
    if (!c)
        c = str_or_empty_cmp(b[i].pathset, b[j].pathset);
    if (!c && b[i].time != b[j].time)
        c = b[i].time > b[j].time ? -1 : 1;
    return c ? c : (i > j ? -1 : i < j);
}

static int cmp_id(const void *x, const void *y, void *arg)
{
    const ret_backup *b = arg;
    return strcmp(b[*(const size_t *)x].id, b[*(const size_t *)y].id);
}

/* The position in b of id, by binary search of byid (sorted by id). */
static size_t find_id(const ret_backup *b, const size_t *byid, size_t n,
                      const char *id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(b[byid[mid]].id, id);
        if (!c)
            return byid[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (size_t)-1;
}

/* restic's bucket rule for one group, g[0..gn-1] newest first. */
static int judge_group(const ret_backup *b, const size_t *g, size_t gn,
                       const ret_policy *p, int64_t now, ret_decision *out)
{
    int count[B_N], left[B_N];
    int64_t last[B_N], wlast[B_N];
    int have[B_N] = {0}, whave[B_N] = {0}, kept[B_N] = {0};
    const when_span *span[B_N];
    char r[160], d[64];
    counts_of(p, count);
    counts_of(p, left);
    spans_of(p, span);
    /* The newest time not in the future; none: every backup is within. */
    int have_latest = 0;
    int64_t latest = 0;
    for (size_t i = 0; i < gn; i++)
        if (b[g[i]].time < now && (!have_latest || b[g[i]].time > latest))
            latest = b[g[i]].time, have_latest = 1;
    for (size_t nr = 0; nr < gn; nr++) {
        size_t i = g[nr];
        int oldest = nr == gn - 1;
        char **why = &out[i].why;
        if (!when_span_zero(&p->within) &&
            (!have_latest || b[i].time > when_span_before(latest, &p->within))) {
            when_span_format(&p->within, d, sizeof d);
            snprintf(r, sizeof r, "within %s", d);
            if (add_reason(why, r) < 0)
                return -1;
        }
        for (int k = 0; k < B_N; k++) {
            if (!left[k])
                continue;
            int64_t v = bucket_of(k, b[i].time, nr);
            if (have[k] && v == last[k] && !oldest)
                continue;
            if (left[k] > 0)
                left[k]--;
            char of[16] = "all";
            if (count[k] > 0)
                snprintf(of, sizeof of, "%d", count[k]);
            snprintf(r, sizeof r, "%s%s %d/%s", have[k] && v == last[k]
                     ? "oldest " : "", bucket_name[k], ++kept[k], of);
            last[k] = v, have[k] = 1;
            if (add_reason(why, r) < 0)
                return -1;
        }
        for (int k = B_HOURLY; k < B_N; k++) {
            if (when_span_zero(span[k]) ||
                (have_latest && b[i].time <= when_span_before(latest, span[k])))
                continue;
            int64_t v = bucket_of(k, b[i].time, nr);
            if (whave[k] && v == wlast[k] && !oldest)
                continue;
            when_span_format(span[k], d, sizeof d);
            snprintf(r, sizeof r, "%s%s within %s", whave[k] && v == wlast[k]
                     ? "oldest " : "", bucket_name[k], d);
            wlast[k] = v, whave[k] = 1;
            if (add_reason(why, r) < 0)
                return -1;
        }
        out[i].verdict = *why ? RET_KEEP : RET_FORGET;
    }
    return 0;
}

/* Keeps the parent chain of every kept backup, newest dependents first. */
static int keep_chains(const ret_backup *b, size_t n, const size_t *bytime,
                       const size_t *byid, ret_decision *out)
{
    char r[300];
    for (size_t t = 0; t < n; t++) {
        size_t k = bytime[t];
        if (out[k].verdict == RET_FORGET)
            continue;
        /* Walk up until a backup that is kept already: its own walk
         * (earlier, or later in this loop) covers the rest. */
        for (const char *par = b[k].parent; par && *par;) {
            size_t j = find_id(b, byid, n, par);
            if (j == (size_t)-1 || out[j].verdict != RET_FORGET)
                break;
            snprintf(r, sizeof r, "needed by %s", b[k].id);
            if (add_reason(&out[j].why, r) < 0)
                return -1;
            out[j].verdict = RET_KEEP;
            par = b[j].parent;
        }
    }
    return 0;
}

/* Checks the input; builds byid (sorted by id). */
static int check_input(const ret_backup *b, size_t n, const ret_policy *p,
                       size_t *byid, char *err, size_t cap)
{
    int c[B_N];
    counts_of(p, c);
    for (int k = 0; k < B_N; k++)
        if (c[k] < RET_ALL) {
            snprintf(err, cap, "keep-%s %d: a count is 0 or more (or all)",
                     bucket_name[k], c[k]);
            return -1;
        }
    if (retention_policy_empty(p) && !p->allow_remove_all) {
        snprintf(err, cap, "no policy given (keep-last, keep-daily, "
                 "keep-within, ...): refusing to forget every backup");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!b[i].id || !b[i].host) {
            snprintf(err, cap, "backup %zu has no id or host", i + 1);
            return -1;
        }
        byid[i] = i;
    }
    qsort_r(byid, n, sizeof *byid, cmp_id, (void *)b);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(b[byid[i]].id, b[byid[i - 1]].id)) {
            snprintf(err, cap, "backup %s is listed twice", b[byid[i]].id);
            return -1;
        }
    return 0;
}

static int cmp_time(const void *x, const void *y, void *arg)
{
    const ret_backup *b = arg;
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    if (b[i].time != b[j].time)
        return b[i].time > b[j].time ? -1 : 1;
    return i > j ? -1 : i < j;
}

int retention_apply(const ret_backup *b, size_t n, const ret_policy *p,
                    int64_t now, ret_decision *out, char *err, size_t cap)
{
    size_t *byid = malloc((n + 1) * sizeof *byid);
    size_t *ord = malloc((n + 1) * sizeof *ord);
    size_t m = 0;
    int rc = -1;
    memset(out, 0, n * sizeof *out);
    if (!byid || !ord) {
        snprintf(err, cap, "out of memory");
        goto done;
    }
    if (check_input(b, n, p, byid, err, cap) < 0)
        goto done;
    for (size_t i = 0; i < n; i++)
        if (p->host && strcmp(b[i].host, p->host)) {
            out[i].verdict = RET_OTHER;
            char r[300];
            snprintf(r, sizeof r, "host %s not selected", b[i].host);
            if (add_reason(&out[i].why, r) < 0)
                goto oom;
        } else
            ord[m++] = i;
    qsort_r(ord, m, sizeof *ord, cmp_group, (void *)b);
    for (size_t s = 0, e; s < m; s = e) {
        for (e = s + 1; e < m && !strcmp(b[ord[e]].host, b[ord[s]].host) &&
                        !str_or_empty_cmp(b[ord[e]].pathset, b[ord[s]].pathset);
             e++)
            ;
        if (judge_group(b, ord + s, e - s, p, now, out) < 0)
            goto oom;
    }
    for (size_t i = 0; i < n; i++)
        ord[i] = i;
    qsort_r(ord, n, sizeof *ord, cmp_time, (void *)b);
    if (keep_chains(b, n, ord, byid, out) < 0)
        goto oom;
    rc = 0;
    goto done;
oom:
    snprintf(err, cap, "out of memory");
done:
    if (rc < 0)
        retention_free(out, n);
    free(byid);
    free(ord);
    return rc;
}

void retention_free(ret_decision *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(out[i].why);
        out[i].why = NULL;
    }
}
