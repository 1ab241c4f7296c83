/* tap.h — a tiny TAP producer for the C unit tests (no external framework).
 *
 * Exactly one translation unit (unit_main.c) defines TAP_IMPLEMENTATION before including this
 * header; the others get declarations only, so all test groups share one counter and one plan.
 *
 *   ok(cond, "fmt", ...)              one test point
 *   is_int(got, want, "fmt", ...)     integer equality, prints both on failure
 *   is_str(got, want, "fmt", ...)     string equality (NULL-safe), prints both on failure
 *   diag("fmt", ...)                  a "# ..." comment line
 *   plan(n)                           optional up-front plan
 *   done_testing()                    prints the trailing plan if none was given; returns the exit status
 */
#ifndef TAP_H
#define TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define TAP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TAP_PRINTF(f, a)
#endif

int tap_ok(int cond, const char *file, int line, const char *fmt, ...) TAP_PRINTF(4, 5);
int tap_is_int(long long got, long long want, const char *file, int line, const char *fmt, ...) TAP_PRINTF(5, 6);
int tap_is_str(const char *got, const char *want, const char *file, int line, const char *fmt, ...)
    TAP_PRINTF(5, 6);
void diag(const char *fmt, ...) TAP_PRINTF(1, 2);
void plan(int n);
int done_testing(void);

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)

#ifdef TAP_IMPLEMENTATION

static int tap_count, tap_failed, tap_planned = -1;

static int tap_vreport(int cond, const char *file, int line, const char *fmt, va_list ap) TAP_PRINTF(4, 0);

static int tap_vreport(int cond, const char *file, int line, const char *fmt, va_list ap)
{
    tap_count++;
    if (!cond)
        tap_failed++;
    printf("%sok %d - ", cond ? "" : "not ", tap_count);
    vprintf(fmt, ap);
    printf("\n");
    if (!cond)
        printf("#   Failed test at %s line %d.\n", file, line);
    fflush(stdout);
    return cond;
}

int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cond = tap_vreport(cond, file, line, fmt, ap);
    va_end(ap);
    return cond;
}

int tap_is_int(long long got, long long want, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    int cond = got == want;
    va_start(ap, fmt);
    tap_vreport(cond, file, line, fmt, ap);
    va_end(ap);
    if (!cond)
        printf("#          got: %lld\n#     expected: %lld\n", got, want);
    return cond;
}

int tap_is_str(const char *got, const char *want, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    int cond = (got == NULL || want == NULL) ? got == want : strcmp(got, want) == 0;
    va_start(ap, fmt);
    tap_vreport(cond, file, line, fmt, ap);
    va_end(ap);
    if (!cond)
        printf("#          got: %s%s%s\n#     expected: %s%s%s\n", got ? "'" : "", got ? got : "NULL", got ? "'" : "",
               want ? "'" : "", want ? want : "NULL", want ? "'" : "");
    return cond;
}

void diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

void plan(int n)
{
    tap_planned = n;
    printf("1..%d\n", n);
}

int done_testing(void)
{
    if (tap_planned < 0)
        printf("1..%d\n", tap_count);
    else if (tap_planned != tap_count)
        printf("# planned %d tests but ran %d\n", tap_planned, tap_count);
    printf("# %d passed, %d failed\n", tap_count - tap_failed, tap_failed);
    fflush(stdout);
    return (tap_failed || (tap_planned >= 0 && tap_planned != tap_count)) ? 1 : 0;
}

#endif /* TAP_IMPLEMENTATION */
#endif /* TAP_H */
