/*
 * unit-when.c - durations and --as-of specs (src/collection/when.c):
 * strict parsing (the whole argument, errors naming the token), the
 * id-prefix-or-time rule, end-of-period limits and host selection.
 * Speaks TAP.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../src/collection/when.h"
#include "tap.h"

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
    tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = s;
    return (int64_t)timegm(&tm);
}

static void spans(void)
{
    when_span d;
    char err[256], buf[64];
    ok(when_parse_span("7d", &d, err, sizeof err) == 0 && d.days == 7 &&
           !d.years && !d.months && !d.weeks && !d.hours, "7d");
    ok(when_parse_span("12h", &d, err, sizeof err) == 0 && d.hours == 12,
       "12h");
    ok(when_parse_span("2w", &d, err, sizeof err) == 0 && d.weeks == 2,
       "2w");
    ok(when_parse_span("1y2m3d", &d, err, sizeof err) == 0 && d.years == 1 &&
           d.months == 2 && d.days == 3, "1y2m3d");
    when_span_format(&d, buf, sizeof buf);
    is_str(buf, "1y2m3d", "formats back");
    static const struct {
        const char *spec, *msg;
    } bad[] = {
        {"", "empty duration"},
        {"7", "'7': no unit"},
        {"d", "'d': expected a number"},
        {"7x", "'7x': unknown unit 'x'"},
        {"3d1y", "'3d1y': unit 'y' repeated or out of order"},
        {"1d1d", "'1d1d': unit 'd' repeated"},
        {"-1d", "'-1d': expected a number"},
        {"7d ", "'7d ': expected a number at ' '"},
        {" 7d", "' 7d': expected a number"},
        {"0d", "'0d': a zero duration"},
        {"999999999999d", "number too large"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        int rc = when_parse_span(bad[i].spec, &d, err, sizeof err);
        ok(rc == -1, "duration '%s' refused", bad[i].spec);
        like(err, bad[i].msg, "... with a message naming it");
    }
    /* Calendar arithmetic like Go's AddDate: Mar 31 - 1m = "Feb 31" =
     * Mar 3 (2027 is not a leap year). */
    when_parse_span("1m", &d, err, sizeof err);
    is_int(when_span_before(utc(2027, 3, 31, 12, 0, 0), &d),
           utc(2027, 3, 3, 12, 0, 0), "31 March minus 1m is 3 March");
    when_parse_span("1y2w3h", &d, err, sizeof err);
    is_int(when_span_before(utc(2026, 11, 27, 18, 0, 0), &d),
           utc(2025, 11, 13, 15, 0, 0), "1y2w3h back");
}

static void parse_times(void)
{
    when_spec w;
    char err[256];
    static const struct {
        const char *spec;
        int64_t limit;
    } good[] = {
        {"2026-11-27", 0},      {"2026-11-27T18:30", 0},
        {"2026-11-27T18:30Z", 0}, {"2026-11-27T18:30:07", 0},
        {"2026-11-27T18:30:07Z", 0}, {"20261127T183007Z", 0},
        {"20261127T183007", 0}, {"@1795805757", 1795805757},
        {"2028-02-29", 0},
    };
    int64_t want[] = {utc(2026, 11, 27, 23, 59, 59), utc(2026, 11, 27, 18, 30, 59),
                      utc(2026, 11, 27, 18, 30, 59), utc(2026, 11, 27, 18, 30, 7),
                      utc(2026, 11, 27, 18, 30, 7),  utc(2026, 11, 27, 18, 30, 7),
                      utc(2026, 11, 27, 18, 30, 7),  1795805757,
                      utc(2028, 2, 29, 23, 59, 59)};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int rc = when_parse(good[i].spec, &w, err, sizeof err);
        ok(rc == 0 && w.kind == WHEN_TIME && w.limit == want[i],
           "'%s' is the time %lld (got rc %d kind %d limit %lld)",
           good[i].spec, (long long)want[i], rc, (int)w.kind,
           (long long)w.limit);
    }
    ok(when_parse("latest", &w, err, sizeof err) == 0 &&
           w.kind == WHEN_LATEST, "latest");
    ok(when_parse("20261127T183007Z-", &w, err, sizeof err) == 0 &&
           w.kind == WHEN_ID, "a time plus '-' is an id prefix");
    ok(when_parse("20261127", &w, err, sizeof err) == 0 && w.kind == WHEN_ID,
       "8 digits are an id prefix (dates need dashes)");
    static const struct {
        const char *spec, *msg;
    } bad[] = {
        {"2026-13-01", "'2026-13-01': month not 01..12"},
        {"2026-02-29", "'2026-02-29': no such day"},
        {"2026-11-27T24:00", "hour not 00..23"},
        {"2026-11-27T18:60", "minute not 00..59"},
        {"2026-11-27T18:30:60", "second not 00..59"},
        {"2026-11-27T18", "'2026-11-27T18': not a date or time"},
        {"2026-11-27Z", "not a date or time"},
        {"2026-11-27T18:30:00+01:00", "not a date or time"},
        {"2026-11-27 18:30", "not a date or time"},
        {"2026-1-27", "not a date or time"},
        {"20261327T183000Z", "month not 01..12"},
        {"1969-12-31", "year before 1970"},
        {"@", "'@': not a time"},
        {"@12x", "'@12x': not a time"},
        {"@99999999999999999999", "not a time"},
        {"", "neither a backup id"},
        {"yesterday 5pm", "'yesterday 5pm': neither a backup id"},
        {".hidden", "neither a backup id"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        ok(when_parse(bad[i].spec, &w, err, sizeof err) == -1,
           "'%s' refused", bad[i].spec);
        like(err, bad[i].msg, "... naming the token and the cause");
    }
}

static const when_backup ix[] = {
    {"20261127T100000Z-vm-aaaa", "vm", 1795773600},    /* 10:00 */
    {"20261127T110000Z-db-bbbb", "db", 1795777200},    /* 11:00 */
    {"20261127T120000Z-vm-cccc", "vm", 1795780800},    /* 12:00 */
    {"20261128T090000Z-vm-cc00", "vm", 1795856400},    /* next day 09:00 */
    {"20261128T093000Z-db-dddd", "db", 1795858200},
};
#define NIX (sizeof ix / sizeof *ix)

static void select_(void)
{
    size_t pos = 99;
    char err[512];
    is_int(ix[0].time, utc(2026, 11, 27, 10, 0, 0), "fixture times are right");
    ok(when_select(ix, NIX, "vm", "latest", &pos, err, sizeof err) == 0 &&
           pos == 3, "latest of vm");
    ok(when_select(ix, NIX, "db", "latest", &pos, err, sizeof err) == 0 &&
           pos == 4, "latest of db");
    ok(when_select(ix, NIX, NULL, "latest", &pos, err, sizeof err) == 0 &&
           pos == 4, "latest of any host");
    ok(when_select(ix, NIX, "vm", "2026-11-27", &pos, err, sizeof err) == 0 &&
           pos == 2, "a date means the end of that day");
    ok(when_select(ix, NIX, "vm", "2026-11-27T11:59", &pos, err,
                   sizeof err) == 0 && pos == 0,
       "11:59 is before the 12:00 backup");
    ok(when_select(ix, NIX, "vm", "2026-11-27T12:00", &pos, err,
                   sizeof err) == 0 && pos == 2,
       "12:00 includes the 12:00:00 backup");
    ok(when_select(ix, NIX, "vm", "20261127T120000Z", &pos, err,
                   sizeof err) == 0 && pos == 2,
       "the compact time of an id is a time, and picks that backup");
    ok(when_select(ix, NIX, "vm", "20261127T110000Z", &pos, err,
                   sizeof err) == 0 && pos == 0,
       "... as a time, the host's backup at or before it (not db's)");
    ok(when_select(ix, NIX, "vm", "20261127T110000Z-", &pos, err,
                   sizeof err) == 0 && pos == 1,
       "with the '-' it is an id prefix, of any host");
    ok(when_select(ix, NIX, "vm", "20261128T09", &pos, err, sizeof err) ==
           -1, "an ambiguous prefix is refused");
    like(err, "ambiguous, 2 backup ids start with it: "
              "20261128T090000Z-vm-cc00, 20261128T093000Z-db-dddd",
         "... listing the candidates");
    ok(when_select(ix, NIX, "vm", "20261127T12", &pos, err, sizeof err) ==
           0 && pos == 2, "a unique prefix");
    ok(when_select(ix, NIX, "vm", "20261127T120000Z-vm-cccc", &pos, err,
                   sizeof err) == 0 && pos == 2, "a whole id");
    ok(when_select(ix, NIX, "vm", "20261129", &pos, err, sizeof err) == -1,
       "an id prefix matching nothing is an error");
    like(err, "'20261129': no backup id starts with it",
         "... and is not tried as a time");
    ok(when_select(ix, NIX, "vm", "2026-11-26", &pos, err, sizeof err) == -1,
       "no backup before the time");
    like(err, "no backup of host vm at or before 2026-11-26T23:59:59Z",
         "... says so with the limit");
    ok(when_select(ix, NIX, "web", "latest", &pos, err, sizeof err) == -1,
       "no backup of an unknown host");
    like(err, "no backup of host web", "... says so");
    ok(when_select(ix, NIX, "vm", "2026-11-31", &pos, err, sizeof err) == -1,
       "a bad date is an error, not an id prefix");
    ok(when_select(ix, 0, "vm", "latest", &pos, err, sizeof err) == -1,
       "an empty collection has no latest");
}

int main(void)
{
    spans();
    parse_times();
    select_();
    return done();
}
