#!/bin/bash
# bench/pairs.sh — every row of issue 11's table in one command: mod_secure on against mod_secure off, as
# two separate httpds whose configs differ only in `SecureEngine on` / `SecureEngine off` (the module is
# loaded in both; variables exported by default), measured in interleaved pairs (odd pairs start with the
# "on" server, even pairs with "off"). Prints every pair and the median of the per-pair ratios on/off.
#
#   bench/pairs.sh [--quick] [--pairs N] [ROW ...]
#     ROW: full cert resume h2 download syscalls syscalls-cert (default: the first six, in that order)
#     --quick: 3 pairs and small loads, for development; --pairs N: N pairs (default 7)
#   SECURE_SO=/path/mod_secure.so   the module to measure (default: this tree's mod_secure/.libs/mod_secure.so).
#                                   Use a plain -O2 build, never the sanitized one (the script refuses ASan).
#   CRL_ENTRIES=1000000             size of the CRL of the "cert" row
#   PAIRS_EXTRA='SecureExportVars off'   a line added to both vhosts (to split a cost; not part of the table)
#   PAIRS_KEEP=1, PAIRS_LOGLEVEL='warn http2:info'   keep the scratch folder / log more (debugging)
#
# Rows (sizes without / with --quick):
#   full      full TLS 1.3 handshakes, no client certificate, both configs with `SecurePolicy intermediate`:
#             h2load --h1 -n 3000/600 -c 40 -H 'Connection: close'
#   cert      full TLS 1.3 handshakes with a client certificate (SSLVerifyClient require), `SecureCRL` with
#             CRL_ENTRIES entries: bench/tls_load.c, 1500/300 connections over 8 threads, one GET each
#   resume    resumed TLS 1.3 handshakes (SSLSessionTickets on): bench/tls_load.c -r, 6000/1000 connections
#             over 8 threads, each thread resuming the newest ticket it received; the last run's line says
#             how many connections resumed (h2load resumes too, 196 of 200 connections in a check with
#             %{SSL_SESSION_RESUMED}x, but does not report it)
#   h2        HTTP/2, 10 concurrent streams per connection: h2load -n 20000/3000 -c 40 -m 10
#   download  50 MB downloads over HTTP/1.1 keep-alive: h2load --h1 -n 40/8 -c 2
#   (a run in which some requests fail is retried once and marked '*'; a pair that fails twice is left out
#   of the median, and the median line says how many pairs it used)
#   syscalls  one child per server; N = 1000/200 full-handshake HTTP/1.1 connections without a client
#             certificate (as in "full", without the policy): `strace -f -c` on the child, then
#             `perf stat -e task-clock,page-faults,context-switches` on the child; per-connection counts
#             for on, off and on minus off
#   syscalls-cert  the same with a client certificate and the CRL of the cert row (bench/tls_load.c -c 1);
#             not in the default set
#
# Servers: event MPM, StartServers = ServerLimit = 2, ThreadsPerChild 32 (syscalls: 1 child), on 127.0.0.1
# ports 9201 ("on") and 9202 ("off"); as root they run as www-data. Every load run is bounded by a count
# and by `timeout`; the servers are stopped on exit. Scratch files: a fresh /tmp/mst-pairs.XXXXXX.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
SO=${SECURE_SO:-$TOP/mod_secure/.libs/mod_secure.so}
PORT_ON=9201
PORT_OFF=9202
CRL_ENTRIES=${CRL_ENTRIES:-1000000}
PAIRS=7
QUICK=0
ROWS=()
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1; PAIRS=3 ;;
    --pairs) PAIRS=${2:?--pairs needs a number}; shift ;;
    full|cert|resume|h2|download|syscalls|syscalls-cert) ROWS+=("$1") ;;
    *) echo "usage: $0 [--quick] [--pairs N] [full|cert|resume|h2|download|syscalls|syscalls-cert ...]" >&2; exit 2 ;;
    esac
    shift
done
[ ${#ROWS[@]} -gt 0 ] || ROWS=(full cert resume h2 download syscalls)
case "$PAIRS" in ''|*[!0-9]*) echo "--pairs: a whole number, please" >&2; exit 2 ;; esac
[ "$PAIRS" -ge 1 ] && [ "$PAIRS" -le 50 ] || { echo "--pairs: 1 to 50" >&2; exit 2; }
if [ "$QUICK" = 1 ]; then
    N_FULL=600 N_CERT=300 N_RESUME=1000 N_H2=3000 N_DL=8 N_SYS=200 LIMIT=120
else
    N_FULL=3000 N_CERT=1500 N_RESUME=6000 N_H2=20000 N_DL=40 N_SYS=1000 LIMIT=300
fi

[ -f "$SO" ] || { echo "no module at $SO (build it, or set SECURE_SO)" >&2; exit 1; }
if case $(nm -D "$SO" 2>/dev/null) in *__asan_init*) true ;; *) false ;; esac; then
    echo "$SO is a sanitized build: benchmark a plain one (./configure --enable-werror CFLAGS='-O2 -g')" >&2
    exit 1
fi

B=$(mktemp -d /tmp/mst-pairs.XXXXXX)
stop_server() {  # ROLE: stop the httpd we started for ROLE, if any (bounded wait)
    local pidf="$B/$1/httpd.pid" pid i
    [ -s "$pidf" ] || return 0
    pid=$(cat "$pidf")
    kill "$pid" 2>/dev/null || true
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$pidf"
}
cleanup() { stop_server on; stop_server off; if [ -n "${PAIRS_KEEP:-}" ]; then echo "kept $B" >&2; else rm -rf "$B"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

RUNAS_LINES=""
if [ "$(id -u)" = 0 ]; then RUNAS_LINES=$'User www-data\nGroup www-data'; fi

# ---- material: PKI, documents, load client -------------------------------------------------------------
cd "$B"
bench_client_pki                                   # ca.*, server.*, client.*, ./gen_crl
mkdir -p htdocs crl-big on off
echo ok > htdocs/index.html
head -c $((50 * 1024 * 1024)) /dev/zero > htdocs/big.bin
cc -std=c11 -O2 -pthread -o tls_load "$TOP/bench/tls_load.c" -lssl -lcrypto
if printf '%s\n' "${ROWS[@]}" | grep -qxE 'cert|syscalls-cert'; then
    t0=$(date +%s.%N)
    ./gen_crl ca.crt ca.key crl-big/big.der "$CRL_ENTRIES"
    printf 'CRL with %s entries: %s bytes, generated in %.1f s\n' "$CRL_ENTRIES" \
        "$(stat -c %s crl-big/big.der)" "$(echo "$(date +%s.%N) - $t0" | bc)"
fi
chmod -R a+rX "$B"
[ "$(id -u)" = 0 ] && chown www-data on off

# conf ROLE ENGINE PORT ROW: the config of one server; ROLE's files live in $B/ROLE
conf() {
    local role=$1 engine=$2 port=$3 row=$4 mpm vhost_extra="" global_extra="" tickets=off
    mpm=$'StartServers 2\nServerLimit 2\nThreadsPerChild 32\nMaxRequestWorkers 64\nMinSpareThreads 1\nMaxSpareThreads 128'
    case "$row" in
    full) vhost_extra="SecurePolicy intermediate" ;;
    cert) vhost_extra=$"SSLCACertificateFile $B/ca.crt
 SSLVerifyClient require
 SecureCRL $B/crl-big" ;;
    resume) tickets=on ;;
    h2) global_extra="LoadModule http2_module $MODDIR/mod_http2.so"; vhost_extra="Protocols h2 http/1.1" ;;
    syscalls) mpm=$'StartServers 1\nServerLimit 1\nThreadsPerChild 32\nMaxRequestWorkers 32\nMinSpareThreads 1\nMaxSpareThreads 64' ;;
    syscalls-cert) mpm=$'StartServers 1\nServerLimit 1\nThreadsPerChild 32\nMaxRequestWorkers 32\nMinSpareThreads 1\nMaxSpareThreads 64'
        vhost_extra=$"SSLCACertificateFile $B/ca.crt
 SSLVerifyClient require
 SecureCRL $B/crl-big" ;;
    esac
    cat <<CONF
ServerRoot "$B"
ServerName localhost
DefaultRuntimeDir "$B/$role"
PidFile "$B/$role/httpd.pid"
Mutex file:$B/$role default
ErrorLog "$B/$role/error_log"
LogLevel ${PAIRS_LOGLEVEL:-warn}
$RUNAS_LINES
LoadModule mpm_event_module $MODDIR/mod_mpm_event.so
LoadModule authz_core_module $MODDIR/mod_authz_core.so
LoadModule mime_module $MODDIR/mod_mime.so
LoadModule socache_shmcb_module $MODDIR/mod_socache_shmcb.so
LoadModule ssl_module $MODDIR/mod_ssl.so
LoadModule secure_module $SO
$global_extra
$mpm
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
TypesConfig /etc/mime.types
DocumentRoot "$B/htdocs"
SSLSessionCache none
SSLSessionTickets $tickets
Listen 127.0.0.1:$port
<VirtualHost 127.0.0.1:$port>
 SSLEngine on
 SSLCertificateFile "$B/server.crt"
 SSLCertificateKeyFile "$B/server.key"
 $vhost_extra
 ${PAIRS_EXTRA:-}
 SecureEngine $engine
 <Location /tls-info>
  SetHandler secure-info
 </Location>
</VirtualHost>
CONF
}

start_server() {  # ROLE ENGINE PORT ROW
    local i
    conf "$1" "$2" "$3" "$4" > "$B/$1/httpd.conf"
    : > "$B/$1/error_log"
    "$HTTPD" -f "$B/$1/httpd.conf" -k start
    for i in $(seq 300); do   # at most 30 s (a million-entry CRL is parsed at startup)
        (exec 3<>"/dev/tcp/127.0.0.1/$3") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "the $1 server did not start listening on $3:" >&2
    tail -5 "$B/$1/error_log" >&2
    exit 1
}

start_both() {  # ROW
    local cert=()
    stop_server on; stop_server off
    start_server on on $PORT_ON "$1"
    start_server off off $PORT_OFF "$1"
    # the "on" server must really run mod_secure (its variables), the "off" one must not
    case "$1" in cert|syscalls-cert) cert=(--cert "$B/client.crt" --key "$B/client.key") ;; esac
    if ! curl -sk --max-time 10 "${cert[@]}" "https://127.0.0.1:$PORT_ON/tls-info" | grep -q SECURE_TLS_VERSION \
        || curl -sk --max-time 10 "${cert[@]}" "https://127.0.0.1:$PORT_OFF/tls-info" | grep -q SECURE_TLS_VERSION; then
        echo "sanity check failed: /tls-info must show SECURE_TLS_VERSION on $PORT_ON and not on $PORT_OFF" >&2
        exit 1
    fi
}

# h2load_rate PORT ARGS...: requests/s, or FAIL when not every request succeeded (the reason goes to stderr)
h2load_rate() {
    local port=$1 out rate; shift
    out=$(timeout -k 5 "$LIMIT" h2load "$@" "https://127.0.0.1:$port${H2PATH:-/index.html}" 2>&1) || true
    rate=$(echo "$out" | awk -v proto_want="${WANT_PROTO:-}" '
        /^requests:/ { want = $2; ok = $8 }
        /^finished in/ { gsub(",", "", $4); rate = $4 }
        /^Application protocol:/ { proto = $3 }
        END { if (rate == "" || want == "" || ok != want || (proto_want != "" && proto != proto_want)) print "FAIL";
              else print rate }')
    if [ "$rate" = FAIL ]; then
        echo "h2load on port $port: $(echo "$out" | grep -E '^(requests|status codes|Application protocol):' |
                                      tr '\n' ' ')" >&2
    fi
    echo "$rate"
}

# tls_rate PORT ARGS...: connections/s from bench/tls_load.c, or FAIL
tls_rate() {
    local port=$1 out; shift
    out=$(timeout -k 5 "$LIMIT" ./tls_load -p "$port" -t "$((LIMIT - 10))" "$@" 2>&1) || { echo FAIL; return; }
    echo "$out" | awk '/^connections/ { sub("/s", "", $12); print $12; found = 1 } END { if (!found) print "FAIL" }'
    echo "$out" >> "$B/tls_load.log"
}

load() {  # ROW PORT -> one rate; a failed run (some requests errored) is retried once, marked with '*'
    local rate
    rate=$(load_once "$1" "$2")
    if [ "$rate" = FAIL ]; then
        rate=$(load_once "$1" "$2")
        [ "$rate" = FAIL ] || rate="$rate*"
    fi
    echo "$rate"
}

load_once() {  # ROW PORT -> one rate, or FAIL
    case "$1" in
    full)     h2load_rate "$2" --h1 -n "$N_FULL" -c 40 -H 'Connection: close' ;;
    cert)     tls_rate "$2" -n "$N_CERT" -c 8 -C client.crt -K client.key ;;
    resume)   tls_rate "$2" -n "$N_RESUME" -c 8 -r ;;
    h2)       WANT_PROTO=h2 h2load_rate "$2" -n "$N_H2" -c 40 -m 10 ;;
    download) H2PATH=/big.bin h2load_rate "$2" --h1 -n "$N_DL" -c 2 ;;
    esac
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR + 1) / 2];
                                               else printf "%.4f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

describe() {
    case "$1" in
    full)     echo "full TLS 1.3 handshakes, no client cert, SecurePolicy intermediate: h2load --h1 -n $N_FULL -c 40 -H 'Connection: close' (req/s)" ;;
    cert)     echo "full handshakes with a client cert, SecureCRL $CRL_ENTRIES entries: tls_load -n $N_CERT -c 8 -C client.crt (conn/s)" ;;
    resume)   echo "resumed TLS 1.3 handshakes (tickets): tls_load -r -n $N_RESUME -c 8 (conn/s)" ;;
    h2)       echo "HTTP/2, 10 streams per connection: h2load -n $N_H2 -c 40 -m 10 (req/s)" ;;
    download) echo "50 MB downloads over keep-alive: h2load --h1 -n $N_DL -c 2 (downloads/s)" ;;
    esac
}

run_pairs() {  # ROW
    local row=$1 i first on off ratio ratios="" ons="" offs=""
    start_both "$row"
    echo "== $row: $(describe "$row")"
    load "$row" $PORT_ON >/dev/null; load "$row" $PORT_OFF >/dev/null     # warm-up, not counted
    printf '%-5s %-6s %12s %12s %8s\n' pair first on off on/off
    for i in $(seq "$PAIRS"); do
        if [ $((i % 2)) = 1 ]; then
            first=on;  on=$(load "$row" $PORT_ON);  off=$(load "$row" $PORT_OFF)
        else
            first=off; off=$(load "$row" $PORT_OFF); on=$(load "$row" $PORT_ON)
        fi
        if [ "$on" = FAIL ] || [ "$off" = FAIL ]; then
            ratio=FAIL
        else
            ratio=$(printf "%.4f" "$(echo "scale=6; ${on%\*} / ${off%\*}" | bc)")
            ratios+="$ratio"$'\n'; ons+="${on%\*}"$'\n'; offs+="${off%\*}"$'\n'
        fi
        printf '%-5s %-6s %12s %12s %8s\n' "$i" "$first" "$on" "$off" "$ratio"
    done
    printf 'median on/off %s (%s pairs; min %s, max %s); median rate on %s, off %s\n' \
        "$(printf '%s' "$ratios" | median)" "$(printf '%s' "$ratios" | grep -c . || true)" \
        "$(printf '%s' "$ratios" | sort -g | head -1)" "$(printf '%s' "$ratios" | sort -g | tail -1)" \
        "$(printf '%s' "$ons" | median)" "$(printf '%s' "$offs" | median)"
    case "$row" in cert|resume) echo "last tls_load run: $(tail -1 "$B/tls_load.log")" ;; esac
    grep -hE "SEC[0-9]{5}|AddressSanitizer|runtime error|\[(crit|alert|emerg)\]" "$B/on/error_log" "$B/off/error_log" |
        grep -v "SEC10408" | head -5 || true
}

# ---- syscalls and perf stat per connection ---------------------------------------------------------------
child_of() { ps -o pid= --ppid "$(cat "$B/$1/httpd.pid")" | head -1 | tr -d ' '; }

one_batch() {  # PORT [CONCURRENCY=1]: N_SYS full-handshake HTTP/1.1 connections (with a client
               # certificate in the syscalls-cert row: tls_load, one thread)
    if [ "${SYS_CERT:-0}" = 1 ]; then
        timeout -k 5 "$LIMIT" ./tls_load -p "$1" -t "$((LIMIT - 10))" -n "$N_SYS" -c "${2:-1}" -C client.crt \
            -K client.key >/dev/null 2>&1 || true
        return
    fi
    timeout -k 5 "$LIMIT" h2load --h1 -n "$N_SYS" -c "${2:-1}" -H 'Connection: close' \
        "https://127.0.0.1:$1/index.html" >/dev/null 2>&1 || true
}

stop_tracer() {  # PID: SIGINT (strace and perf print their summary), bounded wait
    kill -INT "$1" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    wait "$1" 2>/dev/null || true
}

strace_counts() {  # ROLE PORT -> lines "syscall calls" over N_SYS connections (strace -f -c on the child)
    local out=$B/strace.$1 spid
    strace -f -c -o "$out" -p "$(child_of "$1")" 2>/dev/null &
    spid=$!
    sleep 1                                   # let strace attach to every thread
    one_batch "$2"
    sleep 0.5
    stop_tracer "$spid"
    awk '$1 ~ /^[0-9.]+$/ && NF >= 5 { print $NF, $4 }' "$out"
}

perf_counts() {  # ROLE PORT EVENTS -> values in the order of EVENTS, over N_SYS connections
    local out=$B/perf.$1 ppid
    perf stat -x, -e "$3" -o "$out" -p "$(child_of "$1")" 2>/dev/null &
    ppid=$!
    sleep 1
    one_batch "$2"
    stop_tracer "$ppid"
    awk -F, '/^[0-9.<]/ { printf "%s ", $1 } END { print "" }' "$out"
}

run_syscalls() {  # [syscalls-cert]
    local i events perf_ok=1 pon poff names first ratios row=${1:-syscalls}
    start_both "$row"
    if [ "$row" = syscalls-cert ]; then
        SYS_CERT=1
        echo "== syscalls-cert: one child per server, $N_SYS connections with a client certificate per run, one at a time (tls_load -c 1 -C client.crt; SecureCRL $CRL_ENTRIES entries), per connection"
    else
        SYS_CERT=0
        echo "== syscalls: one child per server, $N_SYS HTTP/1.1 connections per run, one at a time (h2load --h1 -c 1 -H 'Connection: close'), per connection"
    fi
    one_batch $PORT_ON; one_batch $PORT_OFF   # warm-up: threads started, allocator free lists filled
    if command -v strace >/dev/null; then
        strace_counts on $PORT_ON > "$B/sys.on"; strace_counts off $PORT_OFF > "$B/sys.off"
        printf '%-16s %10s %10s %10s\n' "strace -f -c" on off on-off
        # the requested ones always, then every other syscall whose count differs by >= 0.05 per connection
        awk -v n="$N_SYS" '
            FNR == NR { on[$1] = $2; seen[$1] = 1; next }
            { off[$1] = $2; seen[$1] = 1 }
            END {
                split("mmap munmap brk futex", fixed, " ")
                for (i = 1; i <= 4; i++) { k = fixed[i]; printf "%-16s %10.2f %10.2f %+10.2f\n", k, on[k] / n, off[k] / n, (on[k] - off[k]) / n; done[k] = 1 }
                for (k in seen) if (!(k in done) && k != "total" && ((on[k] - off[k]) / n >= 0.05 || (off[k] - on[k]) / n >= 0.05))
                    printf "%-16s %10.2f %10.2f %+10.2f\n", k, on[k] / n, off[k] / n, (on[k] - off[k]) / n
                k = "total"; printf "%-16s %10.2f %10.2f %+10.2f\n", k, on[k] / n, off[k] / n, (on[k] - off[k]) / n
            }' "$B/sys.on" "$B/sys.off"
    else
        echo "strace is not installed"
    fi
    events=task-clock,page-faults,context-switches
    if ! perf stat -e task-clock true >/dev/null 2>&1; then
        echo "perf stat is not permitted here (perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null))"
        perf_ok=0
    elif perf stat -x, -e instructions true 2>&1 | grep -q '<not'; then
        echo "perf: hardware counters (instructions) are not supported on this machine; software events only"
    else
        events=$events,instructions
    fi
    [ $perf_ok = 1 ] || return 0
    IFS=, read -r -a names <<< "$events"
    echo "perf stat -p CHILD -e $events, per connection, $PAIRS interleaved pairs (task-clock in ms)"
    printf '%-5s %-6s' pair first
    for i in "${names[@]}"; do printf ' %21s' "$i on/off"; done; echo
    : > "$B/perf.pairs"
    for p in $(seq "$PAIRS"); do
        if [ $((p % 2)) = 1 ]; then
            first=on;  pon=($(perf_counts on $PORT_ON $events)); poff=($(perf_counts off $PORT_OFF $events))
        else
            first=off; poff=($(perf_counts off $PORT_OFF $events)); pon=($(perf_counts on $PORT_ON $events))
        fi
        printf '%-5s %-6s' "$p" "$first"
        for i in "${!names[@]}"; do
            case "${pon[$i]:-x}${poff[$i]:-x}" in
            *[!0-9.]*) printf ' %21s' "?/?" ;;
            *) printf ' %10.4f/%-10.4f' "$(echo "${pon[$i]} / $N_SYS" | bc -l)" "$(echo "${poff[$i]} / $N_SYS" | bc -l)"
               echo "${names[$i]} $(echo "${pon[$i]} / $N_SYS" | bc -l) $(echo "${poff[$i]} / $N_SYS" | bc -l)" >> "$B/perf.pairs" ;;
            esac
        done
        echo
    done
    for i in "${names[@]}"; do
        printf '%-16s median on %.4f, off %.4f, on/off %s\n' "$i" \
            "$(awk -v k="$i" '$1 == k { print $2 }' "$B/perf.pairs" | median)" \
            "$(awk -v k="$i" '$1 == k { print $3 }' "$B/perf.pairs" | median)" \
            "$(awk -v k="$i" '$1 == k && $3 > 0 { printf "%.4f\n", $2 / $3 }' "$B/perf.pairs" | median)"
    done
}

echo "mod_secure: $SO"
echo "httpd: $("$HTTPD" -v | head -1 | sed 's/.*: //'); $(openssl version); load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
echo "pairs: $PAIRS$([ "$QUICK" = 1 ] && echo ' (--quick)'); ports $PORT_ON (SecureEngine on) and $PORT_OFF (SecureEngine off)"
for row in "${ROWS[@]}"; do
    case "$row" in syscalls|syscalls-cert) run_syscalls "$row" ;; *) run_pairs "$row" ;; esac
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
