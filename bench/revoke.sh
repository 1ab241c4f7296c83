#!/bin/sh
# bench/revoke.sh — what a 1,000,000-entry CRL costs mod_secure: full-handshake rate with client
# certificates against the same httpd with an empty CRL and with mod_secure off (interleaved, REPEATS
# rounds), the time one child takes to reload the big CRL, the handshake rate while every child reloads
# it, and the resident memory per child process.
#   bench/revoke.sh [REPEATS=5] [SECS=4]      (needs a built mod_secure/.libs/mod_secure.so; ~2 minutes)
# Ports 9390-9392 on 127.0.0.1; scratch files in /tmp/mst-revoke-bench.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/bench/lib.sh"
REPEATS=${1:-5}
SECS=${2:-4}
N=${CRL_ENTRIES:-1000000}
B=/tmp/mst-revoke-bench
RUNAS=${BENCH_USER:-nobody}
P_OFF=9390 P_EMPTY=9391 P_BIG=9392

rm -rf "$B"; mkdir -p "$B/logs" "$B/crl-empty" "$B/crl-big"
cd "$B"
bench_client_pki
./gen_crl ca.crt ca.key crl-empty/empty.der 0
t0=$(date +%s.%N)
./gen_crl ca.crt ca.key crl-big/big.der "$N"
t1=$(date +%s.%N)
echo "generated a CRL with $N entries ($(stat -c %s crl-big/big.der) bytes DER) in $(echo "$t1 - $t0" | bc) s"
chmod -R a+rX "$B"; chown "$RUNAS" "$B/logs"

vhost() { # port engine crl-dir
    echo "Listen 127.0.0.1:$1"
    echo "<VirtualHost 127.0.0.1:$1>"
    echo "  SSLEngine on"
    echo "  SSLCertificateFile $B/server.crt"
    echo "  SSLCertificateKeyFile $B/server.key"
    echo "  SSLCACertificateFile $B/ca.crt"
    echo "  SSLVerifyClient require"
    echo "  SecureEngine $2"
    [ -n "${3:-}" ] && echo "  SecureCRL $3" && echo "  SecureCRLCheckInterval 1"
    echo "</VirtualHost>"
}
conf() { # file with-big
    {
        cat <<C
ServerRoot "$B"
ServerName localhost
DefaultRuntimeDir "$B/logs"
PidFile "$B/logs/httpd.pid"
ErrorLog "$B/logs/error_log"
LogLevel warn secure:info
Mutex file:$B/logs
User $RUNAS
Group nogroup
DocumentRoot "$B"
LoadModule mpm_event_module $MODDIR/mod_mpm_event.so
LoadModule authz_core_module $MODDIR/mod_authz_core.so
LoadModule mime_module $MODDIR/mod_mime.so
LoadModule socache_shmcb_module $MODDIR/mod_socache_shmcb.so
LoadModule ssl_module $MODDIR/mod_ssl.so
LoadModule secure_module $SRC/mod_secure/.libs/mod_secure.so
TypesConfig /etc/mime.types
SSLSessionCache none
StartServers 3
C
        vhost $P_OFF off
        vhost $P_EMPTY on "$B/crl-empty"
        if [ "$2" = yes ]; then vhost $P_BIG on "$B/crl-big"; fi
    } > "$1"
}
start() { "$HTTPD" -f "$B/$1" -k start; for i in $(seq 100); do [ -s "$B/logs/httpd.pid" ] && break; sleep 0.1; done; }
stop() { pid=$(cat "$B/logs/httpd.pid"); kill "$pid"; for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done; }
child_mem() { # average RSS and PSS (kB) of the children (PSS splits pages shared with the parent)
    for c in $(ps -o pid= --ppid "$(cat "$B/logs/httpd.pid")"); do
        awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r, p}' /proc/$c/smaps_rollup
    done | awk '{r+=$1; p+=$2; n++} END {printf "RSS %d kB, PSS %d kB (%d children)", r/n, p/n, n}'
}
rate() { # port -> full handshakes per second with the client certificate (s_time -new, one GET each)
    openssl s_time -connect 127.0.0.1:$1 -new -cert client.crt -key client.key -time "$SECS" -www / 2>/dev/null |
        awk '/connections in [0-9.]+ real seconds/ {printf "%.1f", $1 / $4}'
}

# 1. memory: the same server without and with the big CRL vhost
conf small.conf no; start small.conf; sleep 1; rss_small=$(child_mem); stop
t0=$(date +%s.%N)
conf httpd.conf yes; start httpd.conf
t1=$(date +%s.%N)
sleep 2; rss_big=$(child_mem)
echo "startup with the big CRL (parent load, config passes): $(echo "$t1 - $t0" | bc) s"
echo "memory per child without the big CRL: $rss_small"
echo "memory per child with the big CRL:    $rss_big"
echo "parent: RSS $(ps -o rss= -p "$(cat "$B/logs/httpd.pid")") kB"

# 2. handshake rates, interleaved
echo "round  off/s  emptyCRL/s  bigCRL/s  big/empty  big/off"
sum_be=0; sum_bo=0
for r in $(seq "$REPEATS"); do
    off=$(rate $P_OFF); empty=$(rate $P_EMPTY); big=$(rate $P_BIG)
    be=$(echo "scale=3; $big / $empty" | bc); bo=$(echo "scale=3; $big / $off" | bc)
    sum_be=$(echo "$sum_be + $be" | bc); sum_bo=$(echo "$sum_bo + $bo" | bc)
    echo "$r      $off  $empty  $big  $be  $bo"
done
echo "mean big/empty = $(echo "scale=3; $sum_be / $REPEATS" | bc)   mean big/off = $(echo "scale=3; $sum_bo / $REPEATS" | bc)"

# 3. reload: replace the big CRL (another million entries) while handshakes run on that vhost
./gen_crl ca.crt ca.key new.der "$N" 8
base=$(rate $P_BIG)
mark=$(wc -l < logs/error_log)
( sleep 1; cp new.der crl-big/.big.tmp; mv crl-big/.big.tmp crl-big/big.der ) &
during=$(rate $P_BIG)
wait
nchild=$(ps -o pid= --ppid "$(cat "$B/logs/httpd.pid")" | wc -l)
for i in $(seq 120); do    # every child has reloaded, at most 60 s
    [ "$(tail -n +"$((mark + 1))" logs/error_log | grep -c 'CRL set reloaded')" -ge "$nchild" ] && break
    sleep 0.5
done
echo "handshakes/s on the big-CRL vhost: $base before, $during in the $SECS s while every child reloads it"
tail -n +"$((mark + 1))" logs/error_log | grep -o 'CRL set reloaded in [0-9]* ms' | sed 's/^/child: /'
echo "memory per child after the reload: $(child_mem)"
# a single reload without load or competition from the other children: time it in one process
mark=$(wc -l < logs/error_log)
stop
conf one.conf yes; sed -i 's/^StartServers 3/StartServers 1\nServerLimit 1\nMaxRequestWorkers 25/' one.conf; start one.conf; sleep 2
./gen_crl ca.crt ca.key new2.der "$N" 9; cp new2.der crl-big/.big.tmp; mv crl-big/.big.tmp crl-big/big.der
for i in $(seq 120); do tail -n +"$((mark + 1))" logs/error_log | grep -q 'CRL set reloaded' && break; sleep 0.5; done
echo "one child alone: $(tail -n +"$((mark + 1))" logs/error_log | grep -o 'CRL set reloaded in [0-9]* ms')"
stop
# 4. the load and the lookup alone, without TLS noise, in the module's own CRL core
make -C "$SRC" -s bench/crl_lookup     # linked with the core library, built with the configured flags
"$SRC/bench/crl_lookup" crl-big/big.der ca.crt 1000000
