/*
 * tap.h - a minimal Test Anything Protocol emitter for the C unit tests.
 * ok(cond, fmt, ...) prints "ok N - ..." or "not ok N - ..."; done_testing() prints the plan
 * and returns the exit status (0 when every test passed).  skip_all(reason) exits with a
 * "1..0 # SKIP" plan so that a test that cannot run says so instead of passing.
 */
#ifndef ITIP_TAP_H
#define ITIP_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static int __attribute__((format(printf, 2, 3), unused)) ok(int cond, const char *fmt, ...)
{
    va_list ap;
    tap_n++;
    printf("%sok %d - ", cond ? "" : "not ", tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond)
        tap_failed++;
    fflush(stdout);
    return cond;
}

static void __attribute__((format(printf, 1, 2), unused)) diag(const char *fmt, ...)
{
    va_list ap;
    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static int __attribute__((format(printf, 3, 4), unused))
is_str(const char *got, const char *want, const char *fmt, ...)
{
    char name[512];
    va_list ap;
    int same = (got && want) ? strcmp(got, want) == 0 : got == want;

    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (!ok(same, "%s", name)) {
        diag("  got: '%s'", got ? got : "(null)");
        diag(" want: '%s'", want ? want : "(null)");
    }
    return same;
}

#define is_int(got, want, ...) \
    (ok((long long)(got) == (long long)(want), __VA_ARGS__) || \
     (diag("  got: %lld", (long long)(got)), diag("want: %lld", (long long)(want)), 0))

static void __attribute__((unused, noreturn)) skip_all(const char *reason)
{
    printf("1..0 # SKIP %s\n", reason);
    exit(0);
}

static int __attribute__((unused)) done_testing(void)
{
    printf("1..%d\n", tap_n);
    if (tap_n == 0) {
        printf("# no tests ran\n");
        return 1;
    }
    return tap_failed ? 1 : 0;
}

#endif
