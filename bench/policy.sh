#!/bin/sh
# bench/policy.sh — what SecurePolicy costs per full TLS handshake.
#
# One httpd (Debian's, with mod_ssl and this build's mod_secure) listens on 127.0.0.1 on three ports with the
# same certificate and mod_ssl settings:
#   policy: SecureEngine on,  SecurePolicy intermediate (narrowing, cert callback, request check)
#   engine: SecureEngine on,  no SecurePolicy            (the rest of mod_secure)
#   off:    SecureEngine off                              (mod_secure loaded, not applied)
# h2load makes N new connections per run (HTTP/1.1, Connection: close: one full handshake per request);
# the three are interleaved, in a rotating order, REPEATS times. Printed: each run's rate, the median rate
# per port, and the ratios policy/off (the issue's number, target >= 0.98) and policy/engine (the policy's
# own share).
#
# Usage: bench/policy.sh [REPEATS] [N]      (defaults 7 and 4000; about 3 s per run here)
# Environment: SECURE_SO (default: build/out/release/... if built, else mod_secure/.libs/mod_secure.so),
#              HTTPD (default /usr/sbin/apache2), BENCH_PORT (first of three ports, default 9180),
#              CONCURRENCY (default 50).
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
REPEATS=${1:-7}
N=${2:-4000}
C=${CONCURRENCY:-50}
HTTPD=${HTTPD:-/usr/sbin/apache2}
PORT=${BENCH_PORT:-9180}
MODDIR=$(apxs -q LIBEXECDIR 2>/dev/null || echo /usr/lib/apache2/modules)
if [ -z "${SECURE_SO:-}" ]; then
    SECURE_SO=$TOP/mod_secure/.libs/mod_secure.so
    [ -f "$TOP/build/out/release/mod_secure/.libs/mod_secure.so" ] && SECURE_SO=$TOP/build/out/release/mod_secure/.libs/mod_secure.so
fi
[ -f "$SECURE_SO" ] || { echo "bench/policy.sh: $SECURE_SO not built (make first)" >&2; exit 1; }
command -v h2load >/dev/null || { echo "bench/policy.sh: h2load missing (apt-get install nghttp2-client)" >&2; exit 1; }

DIR=$(mktemp -d /tmp/secure-bench-policy.XXXXXX)
RUNAS=""
if [ "$(id -u)" = 0 ]; then
    chmod 755 "$DIR"
    RUNAS="User nobody
Group nogroup"
fi
mkdir -p "$DIR/logs" "$DIR/htdocs"
echo ok > "$DIR/htdocs/x.html"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$DIR/key.pem" -out "$DIR/cert.pem" -days 2 \
    -subj /CN=localhost >/dev/null 2>&1

vhost() {   # port, mod_secure lines
    cat <<V
Listen 127.0.0.1:$1
<VirtualHost 127.0.0.1:$1>
    SSLEngine on
    SSLCertificateFile "$DIR/cert.pem"
    SSLCertificateKeyFile "$DIR/key.pem"
$2
</VirtualHost>
V
}
cat > "$DIR/httpd.conf" <<CONF
ServerRoot "$DIR"
ServerName localhost
DefaultRuntimeDir "$DIR/logs"
PidFile "$DIR/logs/httpd.pid"
ErrorLog "$DIR/logs/error_log"
LogLevel warn
Mutex file:$DIR/logs
$RUNAS
LoadModule mpm_event_module $MODDIR/mod_mpm_event.so
LoadModule authz_core_module $MODDIR/mod_authz_core.so
LoadModule mime_module $MODDIR/mod_mime.so
LoadModule socache_shmcb_module $MODDIR/mod_socache_shmcb.so
LoadModule ssl_module $MODDIR/mod_ssl.so
LoadModule secure_module $SECURE_SO
TypesConfig /etc/mime.types
DocumentRoot "$DIR/htdocs"
SSLSessionCache "shmcb:$DIR/logs/scache(512000)"
# a fixed set of server processes, so that their CPU time can be read before and after each run
StartServers 2
ServerLimit 2
ThreadsPerChild 64
MaxRequestWorkers 128
MinSpareThreads 1
MaxSpareThreads 128
$(vhost "$PORT" "    SecureEngine on
    SecurePolicy intermediate")
$(vhost $((PORT + 1)) "    SecureEngine on")
$(vhost $((PORT + 2)) "    SecureEngine off")
CONF

cleanup() {
    [ -f "$DIR/logs/httpd.pid" ] && "$HTTPD" -f "$DIR/httpd.conf" -k stop >/dev/null 2>&1 || true
    sleep 1
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM
"$HTTPD" -f "$DIR/httpd.conf" -k start
sleep 1

# CPU time (clock ticks) the server processes have used so far: less exposed than a rate to whatever else
# runs on the machine.
MAIN_PID=$(cat "$DIR/logs/httpd.pid")
TICKS=$(getconf CLK_TCK)
server_ticks() {
    for p in $MAIN_PID $(ps -o pid= --ppid "$MAIN_PID"); do cat "/proc/$p/stat" 2>/dev/null; done |
        sed 's/^.*) //' | awk '{t += $12 + $13} END {print t}'
}

# one run: prints "rate cpu": the request rate (one request per connection = full handshakes per second) and
# the server's CPU microseconds per handshake
run() {
    t0=$(server_ticks)
    out=$(timeout 120 h2load --h1 -n "$N" -c "$C" -H 'Connection: close' "https://127.0.0.1:$1/x.html" 2>&1)
    t1=$(server_ticks)
    ok=$(echo "$out" | sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p')
    [ "$ok" = "$N" ] || { echo "bench/policy.sh: run against port $1 did not succeed: $(echo "$out" | grep requests:)" >&2; exit 1; }
    rate=$(echo "$out" | sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p')
    echo "$rate $(awk -v a="$t0" -v b="$t1" -v n="$N" -v hz="$TICKS" 'BEGIN {printf "%.0f", (b - a) * 1e6 / hz / n}')"
}

names="policy engine off"
port_of() { case $1 in policy) echo "$PORT";; engine) echo $((PORT + 1));; off) echo $((PORT + 2));; esac; }
for n in $names; do run "$(port_of $n)" >/dev/null; done      # warm-up (session caches, page cache)

echo "bench/policy.sh: $REPEATS repeats x 3 ports, $N full handshakes per run, concurrency $C, $(openssl version)"
echo "each cell: handshakes/s, server CPU microseconds per handshake"
printf '%-6s %18s %18s %18s\n' round policy engine off
r=1
: > "$DIR/rates"
while [ $r -le "$REPEATS" ]; do
    case $((r % 3)) in 0) order="policy engine off";; 1) order="engine off policy";; 2) order="off policy engine";; esac
    for n in $order; do echo "$n $(run "$(port_of $n)")" >> "$DIR/rates"; done
    last() { grep "^$1 " "$DIR/rates" | tail -1 | cut -d' ' -f2,3 | tr ' ' '/'; }
    printf '%-6s %18s %18s %18s\n' "$r" "$(last policy)" "$(last engine)" "$(last off)"
    r=$((r + 1))
done

med() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
col() { grep "^$1 " "$DIR/rates" | cut -d' ' -f"$2"; }
for n in policy engine off; do col $n 2 > "$DIR/$n.rate"; col $n 3 > "$DIR/$n.cpu"; done
printf '%-6s %18s %18s %18s\n' median "$(med < "$DIR/policy.rate")/$(med < "$DIR/policy.cpu")" \
    "$(med < "$DIR/engine.rate")/$(med < "$DIR/engine.cpu")" "$(med < "$DIR/off.rate")/$(med < "$DIR/off.cpu")"
# per round: the runs of a round are adjacent in time, so their ratio is less exposed to the machine's other
# load than a ratio of medians. Rate ratio a/b; CPU ratio b/a (less CPU = faster), both ">= 1: a is not slower".
ratio() {   # a b: median per-round rate ratio, median per-round CPU ratio
    rr=$(paste "$DIR/$1.rate" "$DIR/$2.rate" | awk '{print $1 / $2}' | med)
    cr=$(paste "$DIR/$1.cpu" "$DIR/$2.cpu" | awk '{print $2 / $1}' | med)
    printf 'ratio %-14s rate %.3f   CPU %.3f\n' "$1/$2" "$rr" "$cr"
}
ratio policy off
ratio policy engine
ratio engine off
echo "(the issue's target: policy/off >= 0.98)"
if grep -E 'SEC[0-9]+|AH[0-9]+: .*(error|fail)' "$DIR/logs/error_log" | grep -v 'AH01909' | head -5 | grep -q .; then
    echo "error log:"; grep -E 'SEC[0-9]+|error' "$DIR/logs/error_log" | head -5
fi
