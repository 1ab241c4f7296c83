#!/bin/sh
# bench/handshake_callgrind.sh — server-side instructions per full TLS 1.3 handshake (one request per
# connection) with mod_secure on, and with SecurePolicy intermediate, against SecureEngine off, counted by
# valgrind --tool=callgrind on a single-process httpd (-X). Instruction counts are repeatable whatever else
# the machine is doing, unlike handshake rates on a shared 2-core box. Each variant runs twice (N1 and N2
# handshakes); the difference divided by N2-N1 removes startup and shutdown.
# Usage: bench/handshake_callgrind.sh [N1=100] [N2=300]
set -eu
. "$(dirname "$0")/lib.sh"
N1=${1:-100}
N2=${2:-300}
OUT=$(mktemp -d /tmp/mod_secure-cg.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$OUT"' EXIT INT TERM
bench_cert "$OUT"
# no User/Group: callgrind writes its profile at exit, which an httpd that gave up root could not do
{
    bench_conf_head "$OUT"
    bench_vhost 9461 "$OUT" "SecureEngine off"
    bench_vhost 9462 "$OUT" "SecureEngine on"
    bench_vhost 9463 "$OUT" "SecureEngine on
 SecurePolicy intermediate"
} > "$OUT/httpd.conf"

count() {  # port, handshakes -> total instructions of the server run
    valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.%p" "$HTTPD" -X -f "$OUT/httpd.conf" \
        2>"$OUT/vg.log" &
    vg=$!                       # -X: no fork, so this is httpd itself, under valgrind
    i=0
    until curl -sk -o /dev/null "https://127.0.0.1:$1/" || [ $i -ge 150 ]; do sleep 0.2; i=$((i + 1)); done
    h2load --h1 -n "$2" -c 1 -H 'Connection: close' "https://127.0.0.1:$1/index.html" >/dev/null 2>&1
    kill -TERM "$vg"
    wait "$vg" || true
    sed -n 's/.*Collected : //p' "$OUT/vg.log"
}
per() {  # port -> instructions per handshake
    a=$(count "$1" "$N1"); b=$(count "$1" "$N2")
    echo $(( (b - a) / (N2 - N1) ))
}
off=$(per 9461); on=$(per 9462); pol=$(per 9463)
printf 'server instructions per full handshake (callgrind, %s-%s handshakes):\n' "$N1" "$N2"
printf '  SecureEngine off                       %10d\n' "$off"
printf '  SecureEngine on (vars, JA3/JA4)        %10d   cost ratio off/on %.4f\n' "$on" "$(echo "$off / $on" | bc -l)"
printf '  SecureEngine on + SecurePolicy inter.  %10d   cost ratio off/on %.4f\n' "$pol" "$(echo "$off / $pol" | bc -l)"
