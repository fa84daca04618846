/*
 * when.c - durations and --as-of specs (the rules are in when.h).
 */
#include "when.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define SPAN_MAX 100000 /* per unit: far beyond any retention, no overflow */

int when_span_zero(const when_span *d)
{
    return !d->years && !d->months && !d->weeks && !d->days && !d->hours;
}

int when_parse_span(const char *spec, when_span *d, char *err, size_t cap)
{
    static const char units[] = "ymwdh";
    int *field[] = {&d->years, &d->months, &d->weeks, &d->days, &d->hours};
    memset(d, 0, sizeof *d);
    const char *s = spec;
    size_t next = 0; /* units must come in order, each at most once */
    if (!*s) {
        snprintf(err, cap, "'': empty duration (write e.g. 7d, 12h, 1y2m)");
        return -1;
    }
    while (*s) {
        if (*s < '0' || *s > '9') {
            snprintf(err, cap, "'%s': expected a number at '%s' "
                     "(durations are like 7d, 12h, 2w, 1y2m3d)", spec, s);
            return -1;
        }
        long v = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (*s++ - '0');
            if (v > SPAN_MAX) {
                snprintf(err, cap, "'%s': number too large (at most %d)",
                         spec, SPAN_MAX);
                return -1;
            }
        }
        const char *u = *s ? strchr(units, *s) : NULL;
        if (!u && *s) {
            snprintf(err, cap, "'%s': unknown unit '%c' (units: y m w d h)",
                     spec, *s);
            return -1;
        }
        if (!u) {
            snprintf(err, cap, "'%s': no unit after the last number "
                     "(units: y m w d h)", spec);
            return -1;
        }
        size_t k = (size_t)(u - units);
        if (k < next) {
            snprintf(err, cap, "'%s': unit '%c' repeated or out of order "
                     "(write y m w d h, each once, in that order)", spec, *s);
            return -1;
        }
        *field[k] = (int)v;
        next = k + 1;
        s++;
    }
    if (when_span_zero(d)) {
        snprintf(err, cap, "'%s': a zero duration", spec);
        return -1;
    }
    return 0;
}

int64_t when_span_before(int64_t t, const when_span *d)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        return INT64_MIN;
    tm.tm_year -= d->years;
    tm.tm_mon -= d->months;
    tm.tm_mday -= d->days + 7 * d->weeks;
    tm.tm_isdst = 0;
    return (int64_t)timegm(&tm) - (int64_t)d->hours * 3600;
}

void when_span_format(const when_span *d, char *buf, size_t cap)
{
    int v[] = {d->years, d->months, d->weeks, d->days, d->hours};
    size_t o = 0;
    buf[0] = '\0';
    for (int k = 0; k < 5; k++)
        if (v[k] && o < cap) {
            int w = snprintf(buf + o, cap - o, "%d%c", v[k], "ymwdh"[k]);
            o += w > 0 ? (size_t)w : 0;
        }
    if (!o)
        snprintf(buf, cap, "0h");
}

/* Exactly n decimal digits at s; their value in *v. */
static int digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

static int days_in(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return dm[m - 1] + (m == 2 && leap);
}

/* Checks the fields and sets *t to the last second of the period given
 * (a day when h < 0, a minute when sec < 0). */
static int to_limit(const char *spec, int y, int mo, int d, int h, int mi,
                    int sec, int64_t *t, char *err, size_t cap)
{
    const char *bad = NULL;
    if (y < 1970)
        bad = "year before 1970";
    else if (mo < 1 || mo > 12)
        bad = "month not 01..12";
    else if (d < 1 || d > days_in(y, mo))
        bad = "no such day in that month";
    else if (h > 23)
        bad = "hour not 00..23";
    else if (mi > 59)
        bad = "minute not 00..59";
    else if (sec > 59)
        bad = "second not 00..59";
    if (bad) {
        snprintf(err, cap, "'%s': %s", spec, bad);
        return -1;
    }
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h < 0 ? 23 : h;
    tm.tm_min = h < 0 ? 59 : mi;
    tm.tm_sec = sec < 0 ? 59 : sec;
    *t = (int64_t)timegm(&tm);
    return 0;
}

static int parse_unix(const char *spec, int64_t *t, char *err, size_t cap)
{
    const char *s = spec + 1;
    int64_t v = 0;
    if (!*s)
        goto bad;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
            goto bad;
        v = v * 10 + (*s - '0');
    }
    *t = v;
    return 0;
bad:
    snprintf(err, cap, "'%s': not a time (@ takes decimal seconds since "
             "1970-01-01T00:00:00Z)", spec);
    return -1;
}

/* YYYY-MM-DD, YYYY-MM-DDTHH:MM[Z], YYYY-MM-DDTHH:MM:SS[Z]. */
static int parse_dashed(const char *spec, int64_t *t, char *err, size_t cap)
{
    const char *s = spec;
    int y, mo, d, h = -1, mi = 0, sec = -1;
    size_t len = strlen(s);
    if (len > 10 && s[len - 1] == 'Z')
        len--;
    int ok = len >= 10 && digits(s, 4, &y) && s[4] == '-' &&
             digits(s + 5, 2, &mo) && s[7] == '-' && digits(s + 8, 2, &d);
    if (ok && len > 10)
        ok = len >= 16 && s[10] == 'T' && digits(s + 11, 2, &h) &&
             s[13] == ':' && digits(s + 14, 2, &mi);
    if (ok && len > 16)
        ok = len == 19 && s[16] == ':' && digits(s + 17, 2, &sec);
    if (!ok || (len == 10 && strlen(s) != 10)) {
        snprintf(err, cap, "'%s': not a date or time (write YYYY-MM-DD, "
                 "YYYY-MM-DDTHH:MM[:SS][Z], YYYYMMDDTHHMMSS[Z] or @UNIX; "
                 "times are UTC)", spec);
        return -1;
    }
    return to_limit(spec, y, mo, d, h, mi, sec, t, err, cap);
}

/* YYYYMMDDTHHMMSS[Z]: 1 and *t set, 0 when s is not of that shape. */
static int parse_compact(const char *s, int64_t *t, char *err, size_t cap,
                         int *failed)
{
    int y, mo, d, h, mi, sec;
    size_t len = strlen(s);
    if (!(len == 15 || (len == 16 && s[15] == 'Z')) || !digits(s, 4, &y) ||
        !digits(s + 4, 2, &mo) || !digits(s + 6, 2, &d) || s[8] != 'T' ||
        !digits(s + 9, 2, &h) || !digits(s + 11, 2, &mi) ||
        !digits(s + 13, 2, &sec))
        return 0;
    *failed = to_limit(s, y, mo, d, h, mi, sec, t, err, cap) < 0;
    return 1;
}

static int id_chars_ok(const char *s)
{
    if (!*s || *s == '.')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
              *s == '-'))
            return 0;
    return 1;
}

int when_parse(const char *spec, when_spec *w, char *err, size_t cap)
{
    int y, failed = 0;
    memset(w, 0, sizeof *w);
    if (!strcmp(spec, "latest")) {
        w->kind = WHEN_LATEST;
        return 0;
    }
    w->kind = WHEN_TIME;
    if (spec[0] == '@')
        return parse_unix(spec, &w->limit, err, cap);
    if (digits(spec, 4, &y) && spec[4] == '-')
        return parse_dashed(spec, &w->limit, err, cap);
    if (parse_compact(spec, &w->limit, err, cap, &failed))
        return failed ? -1 : 0;
    if (!id_chars_ok(spec)) {
        snprintf(err, cap, "'%s': neither a backup id (prefix), 'latest', "
                 "a date (YYYY-MM-DD) nor a time (YYYY-MM-DDTHH:MM[:SS][Z], "
                 "YYYYMMDDTHHMMSS[Z], @UNIX)", spec);
        return -1;
    }
    w->kind = WHEN_ID;
    w->prefix = spec;
    return 0;
}

static void format_utc(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, cap, "@%lld", (long long)t);
}

/* The backup an id prefix names: an exact id wins, else a unique prefix. */
static int select_id(const when_backup *b, size_t n, const char *spec,
                     size_t *pos, char *err, size_t cap)
{
    size_t len = strlen(spec), hits = 0, first = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(b[i].id, spec)) {
            *pos = i;
            return 0;
        }
        if (!strncmp(b[i].id, spec, len) && !hits++)
            first = i;
    }
    if (hits == 1) {
        *pos = first;
        return 0;
    }
    if (!hits) {
        snprintf(err, cap, "'%s': no backup id starts with it (a time is "
                 "written YYYY-MM-DD[THH:MM[:SS]][Z], YYYYMMDDTHHMMSS[Z] or "
                 "@UNIX)", spec);
        return -1;
    }
    int o = snprintf(err, cap, "'%s': ambiguous, %zu backup ids start with "
                     "it:", spec, hits);
    size_t shown = 0;
    for (size_t i = first; i < n && shown < 5; i++)
        if (!strncmp(b[i].id, spec, len) && o >= 0 && (size_t)o < cap)
            o += snprintf(err + o, cap - (size_t)o, "%s %s",
                          shown++ ? "," : "", b[i].id);
    if (hits > shown && o >= 0 && (size_t)o < cap)
        snprintf(err + o, cap - (size_t)o, " and %zu more", hits - shown);
    return -1;
}

int when_select(const when_backup *b, size_t n, const char *host,
                const char *spec, size_t *pos, char *err, size_t cap)
{
    when_spec w;
    if (when_parse(spec, &w, err, cap) < 0)
        return -1;
    if (w.kind == WHEN_ID)
        return select_id(b, n, w.prefix, pos, err, cap);
    for (size_t i = n; i-- > 0;)
        if ((!host || !strcmp(b[i].host, host)) &&
            (w.kind == WHEN_LATEST || b[i].time <= w.limit)) {
            *pos = i;
            return 0;
        }
    char at[40] = "";
    if (w.kind == WHEN_TIME)
        format_utc(w.limit, at, sizeof at);
    snprintf(err, cap, "'%s': no backup%s%s%s%s", spec, host ? " of host " : "",
             host ? host : "", at[0] ? " at or before " : "", at);
    return -1;
}
