/*
 * tap.h - a tiny Test Anything Protocol producer for the C unit tests.
 *
 *   plan(n)                 "1..n" (or plan_no_plan() and done() at the end)
 *   ok(cond, fmt, ...)      "ok N - ..." / "not ok N - ..."; returns cond
 *   is_int(got, want, ...)  ok() with a diagnostic showing both values
 *   is_str(got, want, ...)  ditto for strings (NULL-safe)
 *   like(got, needle, ...)  got contains needle
 *   skip(n, why)            n "ok N # SKIP why" lines
 *   diag(fmt, ...)          "# ..." on stdout (stderr would interleave)
 *   bail(fmt, ...)          "Bail out! ..." and exit(1)
 *   done()                  prints the plan if none was given; returns the
 *                           exit status for main(): 0 if all passed
 *
 * Header-only and static, so each test program gets its own counters.
 * Thread safe enough for the tests: ok() takes a lock.
 */
#ifndef SLUICE_T_TAP_H
#define SLUICE_T_TAP_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define TAP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define TAP_UNUSED __attribute__((unused))
#else
#define TAP_PRINTF(f, a)
#define TAP_UNUSED
#endif

static int tap_run_, tap_failed_, tap_planned_ = -1;
static pthread_mutex_t tap_lock_ = PTHREAD_MUTEX_INITIALIZER;

static TAP_UNUSED void plan(int n)
{
    tap_planned_ = n;
    printf("1..%d\n", n);
    fflush(stdout);
}

static TAP_UNUSED void plan_no_plan(void)
{
    tap_planned_ = -1;
}

static TAP_UNUSED void skip_all(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    fflush(stdout);
    exit(0);
}

static void vdiag_(const char *fmt, va_list ap)
{
    char buf[4096];
    vsnprintf(buf, sizeof buf, fmt, ap);
    /* One "# " per line, so a multi-line diagnostic stays a comment. */
    for (char *line = buf, *nl;; line = nl + 1) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        printf("# %s\n", line);
        if (!nl || !nl[1])
            break;
    }
    fflush(stdout);
}

static TAP_UNUSED TAP_PRINTF(1, 2) void diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdiag_(fmt, ap);
    va_end(ap);
}

static TAP_UNUSED TAP_PRINTF(1, 2) void bail(const char *fmt, ...)
{
    va_list ap;
    char buf[1024];
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    printf("Bail out! %s\n", buf);
    fflush(stdout);
    exit(1);
}

static int vok_(int cond, const char *fmt, va_list ap)
{
    char name[1024];
    vsnprintf(name, sizeof name, fmt, ap);
    /* '#' would start a directive in the test name. */
    for (char *p = name; *p; p++)
        if (*p == '#' || *p == '\n')
            *p = ' ';
    pthread_mutex_lock(&tap_lock_);
    int n = ++tap_run_;
    if (!cond)
        tap_failed_++;
    printf("%sok %d - %s\n", cond ? "" : "not ", n, name);
    fflush(stdout);
    pthread_mutex_unlock(&tap_lock_);
    return cond;
}

static TAP_UNUSED TAP_PRINTF(2, 3) int ok(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vok_(cond, fmt, ap);
    va_end(ap);
    return cond;
}

static TAP_UNUSED TAP_PRINTF(3, 4) int is_int(long long got, long long want,
                                              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vok_(got == want, fmt, ap);
    va_end(ap);
    if (!r)
        diag("     got: %lld\n expected: %lld", got, want);
    return r;
}

static TAP_UNUSED TAP_PRINTF(3, 4) int is_str(const char *got,
                                              const char *want,
                                              const char *fmt, ...)
{
    int same = (got == NULL && want == NULL) ||
               (got && want && strcmp(got, want) == 0);
    va_list ap;
    va_start(ap, fmt);
    int r = vok_(same, fmt, ap);
    va_end(ap);
    if (!r)
        diag("     got: %s%s%s\n expected: %s%s%s", got ? "'" : "",
             got ? got : "(null)", got ? "'" : "", want ? "'" : "",
             want ? want : "(null)", want ? "'" : "");
    return r;
}

static TAP_UNUSED TAP_PRINTF(3, 4) int like(const char *got,
                                            const char *needle,
                                            const char *fmt, ...)
{
    int found = got && needle && strstr(got, needle) != NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vok_(found, fmt, ap);
    va_end(ap);
    if (!r)
        diag("     got: '%s'\n expected to contain: '%s'",
             got ? got : "(null)", needle ? needle : "(null)");
    return r;
}

static TAP_UNUSED void skip(int n, const char *why)
{
    pthread_mutex_lock(&tap_lock_);
    for (int i = 0; i < n; i++)
        printf("ok %d # SKIP %s\n", ++tap_run_, why);
    fflush(stdout);
    pthread_mutex_unlock(&tap_lock_);
}

static TAP_UNUSED int done(void)
{
    if (tap_planned_ < 0)
        printf("1..%d\n", tap_run_);
    else if (tap_planned_ != tap_run_)
        diag("planned %d tests but ran %d", tap_planned_, tap_run_);
    fflush(stdout);
    if (tap_failed_)
        diag("failed %d of %d tests", tap_failed_, tap_run_);
    return tap_failed_ || (tap_planned_ >= 0 && tap_planned_ != tap_run_);
}

#endif
