#!/bin/sh
# bench/ocsp.sh — OCSP for client certificates: responder queries per 1,000 new connections with one client
# certificate (mod_ssl SSLOCSPEnable vs mod_secure SecureOCSP), and the new-connection rate of mod_secure with
# OCSP on vs off. Optionally a responder DELAY_MS away (the CGI sleeps before answering).
# One httpd (127.0.0.1 only) serves the responder (t/htdocs/ocsp/resp.cgi over `openssl ocsp -index`) and three
# TLS vhosts; rounds are interleaved, REPEATS (>= 5) each, SECS seconds per run with `openssl s_time -new`.
# Usage: bench/ocsp.sh   (env: REPEATS=5 SECS=3 DELAY_MS=0 PORT=9590 HTTPD=/usr/sbin/apache2)
# Run as an unprivileged user or as root (httpd then drops to www-data for children; the dir is made readable).
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
REPEATS=${REPEATS:-5}; SECS=${SECS:-3}; DELAY_MS=${DELAY_MS:-0}; PORT=${PORT:-9590}
HTTPD=${HTTPD:-/usr/sbin/apache2}; MODDIR=$(apxs -q LIBEXECDIR)
SO="$SRC/mod_secure/.libs/mod_secure.so"; [ -f "$SO" ] || { echo "build first" >&2; exit 1; }
D=$(mktemp -d /tmp/ocsp-bench-XXXXXX); chmod 755 "$D"
trap '"$HTTPD" -f "$D/httpd.conf" -k stop >/dev/null 2>&1 || true; sleep 1; rm -rf "$D"' EXIT
mkdir -p "$D/pki/certs" "$D/pki/keys" "$D/logs" "$D/cgi"
cp "$SRC/t/htdocs/ocsp/resp.cgi" "$D/cgi/"
cd "$D/pki"
q() { "$@" >/dev/null 2>&1; }
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout keys/ca.pem -out certs/ca.crt \
  -days 2 -subj "/CN=bench CA" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
for n in server client; do
  q openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout keys/$n.pem -out $n.csr -subj "/CN=$n"
  printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' > $n.ext
  q openssl x509 -req -in $n.csr -CA certs/ca.crt -CAkey keys/ca.pem -set_serial 0x$(openssl rand -hex 8) -days 1 \
    -extfile $n.ext -out certs/$n.crt
done
ser=$(openssl x509 -in certs/client.crt -noout -serial | cut -d= -f2)
exp=$(date -u -d "+1 day" +%y%m%d%H%M%SZ)
printf 'V\t%s\t\t%s\tunknown\t/CN=client\n' "$exp" "$ser" > index.txt
chmod -R a+rX "$D"; chmod 777 "$D/logs"
MODE=good; [ "$DELAY_MS" -gt 0 ] && MODE=delay$DELAY_MS
RESP="http://127.0.0.1:$PORT/ocsp/resp.cgi/asf"
vh() { # port, extra directives
cat <<V
Listen 127.0.0.1:$1
<VirtualHost 127.0.0.1:$1>
  SSLEngine on
  SSLCertificateFile $D/pki/certs/server.crt
  SSLCertificateKeyFile $D/pki/keys/server.pem
  SSLCACertificateFile $D/pki/certs/ca.crt
  SSLVerifyClient require
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
ThreadsPerChild 25
ScriptSock "$D/logs/cgisock"
SSLSessionCache none
Listen 127.0.0.1:$PORT
ScriptAlias /ocsp/ "$D/cgi/"
<Directory "$D/cgi">
  SetEnv OCSP_T_LOGS "$D/logs"
  SetEnv OCSP_SSLCA "$D/pki"
</Directory>
$(vh $((PORT+1)) "  SSLOCSPEnable leaf
  SSLOCSPDefaultResponder $RESP/$MODE/modssl
  SSLOCSPOverrideResponder on")
$(vh $((PORT+2)) "  SecureEngine on
  SecureOCSP on
  SecureOCSPResponder $RESP/$MODE/secure")
$(vh $((PORT+3)) "  SecureEngine on")
C
"$HTTPD" -f "$D/httpd.conf" -k start
sleep 1
count() { [ -f "$D/logs/ocsp-count-$1.log" ] && wc -l < "$D/logs/ocsp-count-$1.log" || echo 0; }
run() { # port -> connections in SECS
  openssl s_time -connect 127.0.0.1:$1 -new -tls1_2 -cert "$D/pki/certs/client.crt" -key "$D/pki/keys/client.pem" \
    -time "$SECS" 2>/dev/null | awk '/connections in .* real seconds/ {print $1; exit}'
}
echo "round modssl_conns modssl_queries secure_conns secure_queries off_conns"
i=1; TM=0; TMQ=0; TS=0; TSQ=0; TO=0; RATIO_SUM=0
while [ $i -le "$REPEATS" ]; do
  m0=$(count modssl); a=$(run $((PORT+1))); m1=$(count modssl)
  s0=$(count secure); b=$(run $((PORT+2))); s1=$(count secure)
  c=$(run $((PORT+3)))
  echo "$i $a $((m1-m0)) $b $((s1-s0)) $c"
  TM=$((TM+a)); TMQ=$((TMQ+m1-m0)); TS=$((TS+b)); TSQ=$((TSQ+s1-s0)); TO=$((TO+c))
  i=$((i+1))
done
awk -v tm=$TM -v tmq=$TMQ -v ts=$TS -v tsq=$TSQ -v to=$TO -v secs=$SECS -v n=$REPEATS -v d=$DELAY_MS 'BEGIN {
  printf "responder %s ms away\n", d;
  printf "mod_ssl SSLOCSPEnable: %d connections, %d responder queries = %.1f per 1000 connections, %.0f conn/s\n", tm, tmq, tmq*1000/tm, tm/(n*secs);
  printf "mod_secure SecureOCSP: %d connections, %d responder queries = %.2f per 1000 connections, %.0f conn/s\n", ts, tsq, tsq*1000/ts, ts/(n*secs);
  printf "mod_secure OCSP off:   %d connections, %.0f conn/s\n", to, to/(n*secs);
  printf "new-connection rate, mod_secure OCSP on / off: %.3f\n", ts/to;
  printf "new-connection rate, mod_secure / mod_ssl (both OCSP): %.2fx\n", ts/tm }'
