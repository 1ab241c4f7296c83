#!/bin/sh
# bench/handshake.sh — full-handshake rate with mod_secure on (variables exported, JA3/JA4 computed) against
# the same httpd with SecureEngine off, interleaved in one run. Prints each round and the ratio.
# Usage: bench/handshake.sh [ROUNDS=7] [REQUESTS=3000]   (needs a built module: make)
set -eu
. "$(dirname "$0")/lib.sh"
ROUNDS=${1:-7}
N=${2:-3000}
OUT=$(mktemp -d /tmp/mod_secure-bench.XXXXXX)
trap '[ -f "$OUT/httpd.pid" ] && kill "$(cat "$OUT/httpd.pid")" 2>/dev/null; sleep 1; rm -rf "$OUT"' EXIT INT TERM

bench_cert "$OUT"
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="User www-data
Group www-data"
{
    bench_conf_head "$OUT" "$USER_LINE"
    printf 'StartServers 2\nServerLimit 4\nThreadsPerChild 25\nMaxRequestWorkers 100\n'
    bench_vhost 9441 "$OUT" "SecureEngine off"
    bench_vhost 9442 "$OUT" "SecureEngine on
 ${SECURE_BENCH_EXTRA:-}"
} > "$OUT/httpd.conf"
[ "$(id -u)" = 0 ] && chown -R www-data "$OUT"
"$HTTPD" -f "$OUT/httpd.conf" -k start
sleep 1

rate() {  # full TLS 1.3 handshakes per second: one request per new connection
    h2load --h1 -n "$N" -c 50 -H 'Connection: close' "https://127.0.0.1:$1/index.html" 2>/dev/null |
        awk '/^finished in/ { gsub(",", "", $4); print $4 }'
}
rate 9441 >/dev/null; rate 9442 >/dev/null        # warm-up
echo "round  SecureEngine-off(req/s)  SecureEngine-on(req/s)  ratio"
i=1; sum_off=0; sum_on=0
while [ "$i" -le "$ROUNDS" ]; do
    if [ $((i % 2)) = 1 ]; then off=$(rate 9441); on=$(rate 9442); else on=$(rate 9442); off=$(rate 9441); fi
    printf '%5d  %23s  %22s  %5.3f\n' "$i" "$off" "$on" "$(echo "$on / $off" | bc -l)"
    sum_off=$(echo "$sum_off + $off" | bc -l); sum_on=$(echo "$sum_on + $on" | bc -l)
    i=$((i + 1))
done
printf 'mean ratio (on/off over %d interleaved rounds of %d handshakes): %.3f\n' "$ROUNDS" "$N" \
    "$(echo "$sum_on / $sum_off" | bc -l)"
grep -E "SEC[0-9]{5}|AddressSanitizer|runtime error" "$OUT/error_log" | head -5 || true
