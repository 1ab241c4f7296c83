#!/bin/sh
# bench/revoke_callgrind.sh — server-side instructions per full handshake WITH a client certificate:
# SecureEngine off, mod_secure with an empty CRL, and with a 1,000,000-entry CRL, counted by
# valgrind --tool=callgrind on a single-process httpd (-X). Shows that the CRL lookup does not grow with the
# CRL (O(log n)) without the noise of handshake rates. N1 and N2 handshakes per variant; the difference
# divided by N2-N1 removes startup (where the big CRL is parsed) and shutdown.
# Usage: [THREADS=n] bench/revoke_callgrind.sh [N1=40] [N2=120]   (about 10 minutes: the big CRL loads under
# valgrind). THREADS sets ThreadsPerChild (default 25, httpd's): the per-thread fact cache (secure_factcache)
# answers a repeat certificate only on a thread that saw it, so with 25 threads and sequential connections
# most handshakes are cold, and with THREADS=4 most are warm, as on a busy server.
set -eu
. "$(dirname "$0")/lib.sh"
N1=${1:-40}
N2=${2:-120}
B=$(mktemp -d /tmp/mod_secure-rcg.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$B"' EXIT INT TERM
cd "$B"
bench_client_pki
mkdir -p crl-empty crl-big logs
./gen_crl ca.crt ca.key crl-empty/empty.der 0
./gen_crl ca.crt ca.key crl-big/big.der 1000000
echo ok > index.html

conf() {  # engine crl-dir extra-directives
    bench_conf_head "$B"
    printf 'ThreadsPerChild %s\nMaxRequestWorkers %s\n' "${THREADS:-25}" "${THREADS:-25}"
    bench_vhost 9471 "$B" "SSLCACertificateFile $B/ca.crt
 SSLVerifyClient require
 SecureEngine $1
 ${2:+SecureCRL $2}
 ${3:-}"
}
count() {  # conf-file handshakes -> total server instructions
    valgrind --tool=callgrind --callgrind-out-file="$B/cg.%p" "$HTTPD" -X -f "$B/$1" 2>"$B/vg.log" &
    vg=$!
    i=0
    until echo | openssl s_client -connect 127.0.0.1:9471 -cert client.crt -key client.key >/dev/null 2>&1 \
          || [ $i -ge 600 ]; do sleep 0.5; i=$((i + 1)); done
    i=0
    while [ $i -lt "$2" ]; do
        printf 'GET /index.html HTTP/1.0\r\n\r\n' | openssl s_client -quiet -no_ign_eof -tls1_3 \
            -connect 127.0.0.1:9471 -cert client.crt -key client.key >/dev/null 2>&1 || true
        i=$((i + 1))
    done
    kill -TERM "$vg"
    wait "$vg" || true
    sed -n 's/.*Collected : //p' "$B/vg.log"
}
per() { a=$(count "$1" "$N1"); b=$(count "$1" "$N2"); echo $(( (b - a) / (N2 - N1) )); }
conf off "" > off.conf
conf on "$B/crl-empty" > empty.conf
conf on "$B/crl-big" > big.conf
# the shared-cache path: OCSP on, no CRL; the responder port is closed, so the first check is UNKNOWN
# (allowed) and every later handshake is answered by the verdict cache (SecureRevocationUnknownTTL 30 s)
conf on "" "SecureOCSP on
  SecureOCSPResponder http://127.0.0.1:9/
  SecureOCSPTimeout 1
  SecureRevocationUnknown allow" > cache.conf
off=$(per off.conf); empty=$(per empty.conf); big=$(per big.conf); cache=$(per cache.conf)
printf 'server instructions per full TLS 1.3 handshake with a client certificate (callgrind, %s-%s, ThreadsPerChild %s):\n' "$N1" "$N2" "${THREADS:-25}"
printf '  SecureEngine off                      %10d\n' "$off"
printf '  SecureCRL with an empty CRL           %10d   off/this %.4f\n' "$empty" "$(echo "$off / $empty" | bc -l)"
printf '  SecureCRL with 1,000,000 entries      %10d   off/this %.4f   empty/this %.4f\n' "$big" \
    "$(echo "$off / $big" | bc -l)" "$(echo "$empty / $big" | bc -l)"
printf '  SecureOCSP, answered by the cache     %10d   off/this %.4f\n' "$cache" "$(echo "$off / $cache" | bc -l)"
