#!/bin/sh
# Instructions per ClientHello for secure_hello, measured with callgrind.
#
# Builds a tiny driver (-O2, linked with the build's core library mod_secure/libsecurecore.la, so configure
# a plain build first: ./configure --enable-werror CFLAGS='-O2 -g'; libcrypto) that parses a real
# Chromium ClientHello and computes its JA3 and JA4, N times (default 1000, first argument), and runs
# it under `valgrind --tool=callgrind` with collection switched on only inside the timed loop: the
# one-off costs (process start, OpenSSL's lazy provider loading on the first digest) stay out.
# Prints instructions per hello in total and split into parse / JA3 / JA4.
#
# usage: bench/hello_callgrind.sh [N] [hello.bin]
set -eu

n=${1:-1000}
top=$(cd "$(dirname "$0")/.." && pwd)
hello=${2:-$top/t/unit/data/chromium_0.bin}
CC=${CC:-cc}
work=$(mktemp -d "${TMPDIR:-/tmp}/hello_callgrind.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

cat > "$work/driver.c" <<'EOC'
#include <stdio.h>
#include <stdlib.h>
#include "secure_hello.h"

static unsigned char msg[SECURE_HELLO_MAX_LEN];
static size_t msg_len;
static secure_hello_t h;
static char out[64];

/* noinline keeps each step a separate function in callgrind's inclusive costs. */
__attribute__((noinline)) static void step_parse(void)
{
    if (secure_hello_parse(msg, msg_len, &h, NULL) != SECURE_HELLO_OK)
        abort();
}

__attribute__((noinline)) static void step_ja3(void)
{
    if (secure_hello_ja3(&h, out, sizeof out) != 0)
        abort();
}

__attribute__((noinline)) static void step_ja4(void)
{
    if (secure_hello_ja4(&h, out, sizeof out) != 0)
        abort();
}

__attribute__((noinline)) void bench_loop(long n);
__attribute__((noinline)) void bench_loop(long n)
{
    long i;
    for (i = 0; i < n; i++) {
        step_parse();
        step_ja3();
        step_ja4();
    }
}

int main(int argc, char **argv)
{
    FILE *f;
    long n;

    if (argc != 3)
        return 2;
    n = atol(argv[1]);
    if (!(f = fopen(argv[2], "rb")))
        return 2;
    msg_len = fread(msg, 1, sizeof msg, f);
    fclose(f);
    /* warm-up outside bench_loop (not collected): OpenSSL loads providers on the first digest */
    step_parse();
    step_ja3();
    step_ja4();
    bench_loop(n);
    printf("%s\n", out);
    return 0;
}
EOC

make -C "$top" -s mod_secure/libsecurecore.la
core="$top/mod_secure/.libs/libsecurecore.a"
if case $(nm "$core" 2>/dev/null) in *__asan_*) true ;; *) false ;; esac; then
    echo "$core is a sanitized build: measure a plain one (./configure --enable-werror CFLAGS='-O2 -g')" >&2
    exit 1
fi
$CC -std=c11 -O2 -g -I"$top/mod_secure" "$work/driver.c" "$core" -lcrypto -o "$work/driver"

valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" --toggle-collect=bench_loop \
    "$work/driver" "$n" "$hello" > "$work/driver.log" 2> "$work/valgrind.log" || {
    cat "$work/valgrind.log" >&2
    exit 1
}

callgrind_annotate --inclusive=yes "$work/cg.out" > "$work/annotate.txt"
total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }' "$work/annotate.txt")
fn_ir() {
    awk -v fn="$1" '$0 ~ ":" fn " " || $0 ~ ":" fn "$" { gsub(",", "", $1); print $1; exit }' "$work/annotate.txt"
}
parse=$(fn_ir step_parse)
ja3=$(fn_ir step_ja3)
ja4=$(fn_ir step_ja4)

echo "hello:      $hello ($(wc -c < "$hello") bytes)"
echo "JA4:        $(cat "$work/driver.log")"
echo "iterations: $n"
awk -v t="$total" -v p="${parse:-0}" -v a="${ja3:-0}" -v b="${ja4:-0}" -v n="$n" 'BEGIN {
    k = n
    printf "instructions per hello (parse + JA3 + JA4): %.0f\n", t / k
    printf "  parse: %.0f   JA3: %.0f   JA4: %.0f\n", p / k, a / k, b / k
}'
