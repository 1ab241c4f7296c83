#!/bin/sh
# bench/async.sh — issue 12: revocation that never makes a handshake wait on the network.
#  1. warm p99: full TLS 1.3 handshakes with one client certificate (bench/tls_load.c -L, CONC threads)
#     against mod_secure with SecureOCSP on (responder DELAY_MS away, SecureRevocationCacheTTL TTL,
#     SecureRevocationRefreshAhead TTL/2), the same without refresh ahead, and mod_secure with OCSP off;
#     rounds interleaved, REPEATS each, SECS seconds per run; p50 / p99 / max per run.
#  2. the herd: HERD_N new connections over 40 threads with one certificate the server has not seen,
#     responder DELAY_MS away: responder queries counted on the responder side.
# One httpd (127.0.0.1 only, event MPM, 2 processes) serves the responder (t/htdocs/ocsp/resp.cgi over
# `openssl ocsp -index`) and the TLS vhosts. With an ASan build of the module set
# SANITIZER_RUNTIME=/usr/lib/gcc/x86_64-linux-gnu/12/libasan.so (preloaded into httpd): absolute times are
# then the sanitizer's, the ratios still compare like with like.
# Usage: bench/async.sh  (env: REPEATS=5 SECS=12 CONC=4 DELAY_MS=300 TTL=10 HERD_N=1000 PORT=9690
#                          HTTPD=/usr/sbin/apache2 SANITIZER_RUNTIME=)
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
REPEATS=${REPEATS:-5}; SECS=${SECS:-12}; CONC=${CONC:-4}; DELAY_MS=${DELAY_MS:-300}; TTL=${TTL:-10}
HERD_N=${HERD_N:-1000}; PORT=${PORT:-9690}
HTTPD=${HTTPD:-/usr/sbin/apache2}; MODDIR=$(apxs -q LIBEXECDIR)
SO="$SRC/mod_secure/.libs/mod_secure.so"; [ -f "$SO" ] || { echo "build first" >&2; exit 1; }
D=$(mktemp -d /tmp/async-bench-XXXXXX); chmod 755 "$D"
PRELOAD=${SANITIZER_RUNTIME:-}
run_httpd() { if [ -n "$PRELOAD" ]; then ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD="$PRELOAD" "$HTTPD" "$@"; else "$HTTPD" "$@"; fi; }
trap 'run_httpd -f "$D/httpd.conf" -k stop >/dev/null 2>&1 || true; sleep 1; rm -rf "$D"' EXIT
cc -std=c11 -O2 -pthread -o "$D/tls_load" "$SRC/bench/tls_load.c" -lssl -lcrypto
mkdir -p "$D/pki/certs" "$D/pki/keys" "$D/logs" "$D/cgi"
cp "$SRC/t/htdocs/ocsp/resp.cgi" "$D/cgi/"; echo ok > "$D/cgi/index.html"
cd "$D/pki"
q() { "$@" >/dev/null 2>&1; }
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout keys/ca.pem -out certs/ca.crt \
  -days 2 -subj "/CN=bench CA" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
: > index.txt
for n in server warm nowarm herd; do
  q openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout keys/$n.pem -out $n.csr -subj "/CN=$n"
  printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' > $n.ext
  q openssl x509 -req -in $n.csr -CA certs/ca.crt -CAkey keys/ca.pem -set_serial 0x$(openssl rand -hex 8) -days 1 \
    -extfile $n.ext -out certs/$n.crt
  ser=$(openssl x509 -in certs/$n.crt -noout -serial | cut -d= -f2)
  printf 'V\t%s\t\t%s\tunknown\t/CN=%s\n' "$(date -u -d '+1 day' +%y%m%d%H%M%SZ)" "$ser" "$n" >> index.txt
done
chmod -R a+rX "$D"; chmod 777 "$D/logs"
RESP="http://127.0.0.1:$PORT/ocsp/resp.cgi/asf/delay$DELAY_MS"
vh() { # port, extra directives
cat <<V
Listen 127.0.0.1:$1
<VirtualHost 127.0.0.1:$1>
  SSLEngine on
  SSLCertificateFile $D/pki/certs/server.crt
  SSLCertificateKeyFile $D/pki/keys/server.pem
  SSLCACertificateFile $D/pki/certs/ca.crt
  SSLVerifyClient require
  SecureEngine on
$2
</VirtualHost>
V
}
cat > "$D/httpd.conf" <<C
ServerRoot "$D"
ServerName localhost
DefaultRuntimeDir "$D/logs"
PidFile "$D/logs/httpd.pid"
ErrorLog "$D/logs/error_log"
LogLevel warn
Mutex file:$D/logs
TypesConfig /etc/mime.types
DocumentRoot "$D/cgi"
LoadModule mpm_event_module $MODDIR/mod_mpm_event.so
LoadModule authz_core_module $MODDIR/mod_authz_core.so
LoadModule mime_module $MODDIR/mod_mime.so
LoadModule alias_module $MODDIR/mod_alias.so
LoadModule env_module $MODDIR/mod_env.so
LoadModule cgid_module $MODDIR/mod_cgid.so
LoadModule socache_shmcb_module $MODDIR/mod_socache_shmcb.so
LoadModule ssl_module $MODDIR/mod_ssl.so
LoadModule secure_module $SO
StartServers 2
ServerLimit 2
ThreadsPerChild 25
MaxRequestWorkers 50
ScriptSock "$D/logs/cgisock"
SSLSessionCache none
SecureRevocationCacheTTL $TTL
Listen 127.0.0.1:$PORT
ScriptAlias /ocsp/ "$D/cgi/"
<Directory "$D/cgi">
  SetEnv OCSP_T_LOGS "$D/logs"
  SetEnv OCSP_SSLCA "$D/pki"
</Directory>
$(vh $((PORT+1)) "  SecureOCSP on
  SecureOCSPResponder $RESP/warm
  SecureRevocationRefreshAhead $((TTL / 2))")
$(vh $((PORT+2)) "  SecureOCSP on
  SecureOCSPResponder $RESP/nowarm")
$(vh $((PORT+3)) "")
$(vh $((PORT+4)) "  SecureOCSP on
  SecureOCSPResponder $RESP/herd")
C
cd "$D"
run_httpd -f "$D/httpd.conf" -k start
sleep 2
load() { # port, cert, connections, threads, seconds
  timeout -k 5 $(($5 + 30)) ./tls_load -p "$1" -C pki/certs/$2.crt -K pki/keys/$2.pem -n "$3" -c "$4" -t "$5" -P /index.html -L \
    2>/dev/null | awk '/^latency_ms/ { printf "%s %s %s", $3, $7, $9 } /^connections/ { c = $4 } END { printf " %s\n", c }'
}
queries() { [ -f "logs/ocsp-count-$1.log" ] && wc -l < "logs/ocsp-count-$1.log" || echo 0; }
# warm up: one query each, then the verdicts are cached
load $((PORT+1)) warm 1 1 10 >/dev/null; load $((PORT+2)) nowarm 1 1 10 >/dev/null
echo "responder ${DELAY_MS} ms away, SecureRevocationCacheTTL $TTL, refresh ahead $((TTL / 2)) s, $CONC threads, ${SECS} s per run"
echo "round  warm(p50 p99 max conns)  no-refresh(p50 p99 max conns)  ocsp-off(p50 p99 max conns)"
for r in $(seq 1 "$REPEATS"); do
  a=$(load $((PORT+1)) warm 1000000 "$CONC" "$SECS")
  b=$(load $((PORT+2)) nowarm 1000000 "$CONC" "$SECS")
  c=$(load $((PORT+3)) warm 1000000 "$CONC" "$SECS")
  echo "$r  $a  $b  $c"
done | tee "$D/rounds"
echo "responder queries during the rounds: warm $(queries warm), no-refresh $(queries nowarm) (each includes the warm-up query)"
awk '{ wa += $3; wo += $11; na += $7; if ($4 > wm) wm = $4; if ($8 > nm) nm = $8; if ($12 > om) om = $12; n++ }
     END { printf "mean p99: warm %.2f ms, no-refresh %.2f ms, OCSP off %.2f ms; warm / off = %.3f\n", wa/n, na/n, wo/n, wa/wo;
           printf "worst max: warm %.1f ms, no-refresh %.1f ms, OCSP off %.1f ms\n", wm, nm, om }' "$D/rounds"
# the herd: a certificate nobody asked about yet, 40 threads at once
h=$(timeout -k 5 120 ./tls_load -p $((PORT+4)) -C pki/certs/herd.crt -K pki/keys/herd.pem -n "$HERD_N" -c 40 -t 90 -P /index.html 2>&1 | head -1)
echo "herd: $h"
echo "herd: responder queries for $HERD_N new connections over 40 threads: $(queries herd)"
