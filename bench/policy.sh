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
MaxRequestWorkers 150
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

# one run: prints the request rate (one request per connection = full handshakes per second)
run() {
    out=$(timeout 120 h2load --h1 -n "$N" -c "$C" -H 'Connection: close' "https://127.0.0.1:$1/x.html" 2>&1)
    ok=$(echo "$out" | sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p')
    [ "$ok" = "$N" ] || { echo "bench/policy.sh: run against port $1 did not succeed: $(echo "$out" | grep requests:)" >&2; exit 1; }
    echo "$out" | sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p'
}

names="policy engine off"
port_of() { case $1 in policy) echo "$PORT";; engine) echo $((PORT + 1));; off) echo $((PORT + 2));; esac; }
for n in $names; do run "$(port_of $n)" >/dev/null; done      # warm-up (session caches, page cache)

echo "bench/policy.sh: $REPEATS repeats x 3 ports, $N full handshakes per run, concurrency $C, $(openssl version)"
printf '%-6s %10s %10s %10s\n' round policy engine off
r=1
: > "$DIR/rates"
while [ $r -le "$REPEATS" ]; do
    case $((r % 3)) in 0) order="policy engine off";; 1) order="engine off policy";; 2) order="off policy engine";; esac
    for n in $order; do echo "$n $(run "$(port_of $n)")" >> "$DIR/rates"; done
    printf '%-6s %10s %10s %10s\n' "$r" \
        "$(grep '^policy ' "$DIR/rates" | tail -1 | cut -d' ' -f2)" \
        "$(grep '^engine ' "$DIR/rates" | tail -1 | cut -d' ' -f2)" \
        "$(grep '^off ' "$DIR/rates" | tail -1 | cut -d' ' -f2)"
    r=$((r + 1))
done

med() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
col() { grep "^$1 " "$DIR/rates" | cut -d' ' -f2; }
mp=$(col policy | med); me=$(col engine | med); mo=$(col off | med)
printf '%-6s %10s %10s %10s\n' median "$mp" "$me" "$mo"
# per round: the three runs of a round are adjacent in time, so their ratio is less exposed to the machine's
# other load than a ratio of medians
col policy > "$DIR/p"; col engine > "$DIR/e"; col off > "$DIR/o"
rpo=$(paste "$DIR/p" "$DIR/o" | awk '{print $1 / $2}' | med)
rpe=$(paste "$DIR/p" "$DIR/e" | awk '{print $1 / $2}' | med)
reo=$(paste "$DIR/e" "$DIR/o" | awk '{print $1 / $2}' | med)
awk -v p="$mp" -v e="$me" -v o="$mo" -v rpo="$rpo" -v rpe="$rpe" -v reo="$reo" 'BEGIN {
    printf "ratio policy/off    = %.3f (of medians), %.3f (median of per-round ratios)  target >= 0.98\n", p / o, rpo
    printf "ratio policy/engine = %.3f (of medians), %.3f (median of per-round ratios)\n", p / e, rpe
    printf "ratio engine/off    = %.3f (of medians), %.3f (median of per-round ratios)\n", e / o, reo
}'
if grep -E 'SEC[0-9]+|AH[0-9]+: .*(error|fail)' "$DIR/logs/error_log" | grep -v 'AH01909' | head -5 | grep -q .; then
    echo "error log:"; grep -E 'SEC[0-9]+|error' "$DIR/logs/error_log" | head -5
fi
