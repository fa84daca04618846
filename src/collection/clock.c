/* clock.c - the time collection commands use: backup ids and times,
 * retention's "now".  Tests of retention need backups made on chosen
 * days; a build configured with --enable-test-clock takes the time from
 * SLUICE_TEST_NOW (unix seconds).  Other builds ignore the variable, so
 * a stray one cannot change what a real backup records. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "coll.h"

#include <stdlib.h>
#include <time.h>

int64_t coll_now(void)
{
#ifdef SLUICE_TEST_CLOCK
    const char *s = getenv("SLUICE_TEST_NOW");
    if (s && *s) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (!*end && v > 0)
            return (int64_t)v;
    }
#endif
    return (int64_t)time(NULL);
}
