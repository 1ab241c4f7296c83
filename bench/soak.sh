#!/bin/sh
# bench/soak.sh — soak with faults: the sanitized mod_secure under mixed load while its revocation sources
# misbehave, for a bounded time; PASS only if nothing crashed, nothing leaked, no revoked or deny-listed
# certificate got in and good ones got in whenever their sources were healthy. Not part of build/check.
#
# Usage: bench/soak.sh [--quick] [--duration SECS] [--port BASE] [--seed N] [--so PATH] [--dir DIR] [--keep]
#   --quick         a 120 s run instead of the default 600 s (the maximum); the time covers everything:
#                   setup (~15 s), load and faults, shutdown and the report
#   --port BASE     uses BASE+1 .. BASE+5 on 127.0.0.1 (default 9100: 9101 allow vhost, 9102 deny vhost,
#                   9103 OCSP responder, 9104 memcached, 9105 redis)
#   --seed N        repeat a run's fault schedule and request mix
#   --so PATH       the module to soak (default: mod_secure/.libs/mod_secure.so of this tree, which must be built
#                   with ./configure --enable-sanitizers; a module without ASan is refused unless --no-asan, and
#                   such a run never passes: "0 sanitizer reports" would mean nothing)
#   --dir DIR       work folder, new or empty (default: a new /tmp/mod_secure-soak-XXXXXX); kept on FAIL or
#                   with --keep
# Environment: HTTPD (default /usr/sbin/apache2), SANITIZER_RUNTIME (default gcc 12's libasan.so), SOAK_USER.
#
# What runs (all on 127.0.0.1, all started and stopped here, by process id):
#   - httpd (event MPM, mod_ssl, mod_http2, socache shmcb/memcache/redis, mod_secure) with the ASan runtime
#     preloaded; as root its children run as SOAK_USER (default securetest, created like t/run-tests does);
#   - a throw-away PKI (bench/soak/pki.sh): a root, an intermediate covered by a CRL + a deny list and one
#     covered only by OCSP, client certificates good / revoked / denied / unknown / ocspgood / ocsprevoked;
#   - two vhosts with the same sources: "allow" (SecureRevocationUnknown allow) and "deny" (deny);
#   - an OCSP responder (bench/soak/ocsp-responder.pl) switched by a mode file, memcached, redis;
#   - bench/soak/driver.pl: load, faults, samples; bench/soak/report.pl: the summary table and the verdict.
# Exit status: 0 PASS, 1 FAIL, 2 the soak itself could not run.
set -eu

START=$(date +%s)
SRC=$(cd "$(dirname "$0")/.." && pwd)
DURATION=600
PORT=9100
SEED=""
SO="$SRC/mod_secure/.libs/mod_secure.so"
DIR=""
KEEP=no
NOASAN=no
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) DURATION=120 ;;
        --duration) DURATION=$2; shift ;;
        --port) PORT=$2; shift ;;
        --seed) SEED=$2; shift ;;
        --so) SO=$2; shift ;;
        --dir) DIR=$2; shift ;;
        --keep) KEEP=yes ;;
        --no-asan) NOASAN=yes ;;
        -h|--help) sed -n '2,/^# Exit status/p' "$0"; exit 0 ;;
        *) echo "soak.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$DURATION" in ''|*[!0-9]*) echo "soak.sh: --duration wants seconds" >&2; exit 2 ;; esac
[ "$DURATION" -ge 60 ] && [ "$DURATION" -le 600 ] || { echo "soak.sh: --duration must be 60..600 s" >&2; exit 2; }
case "$PORT" in ''|*[!0-9]*) echo "soak.sh: --port wants a number" >&2; exit 2 ;; esac

HTTPD=${HTTPD:-/usr/sbin/apache2}
ASAN_RT=${SANITIZER_RUNTIME:-/usr/lib/gcc/x86_64-linux-gnu/12/libasan.so}
SOAK_USER=${SOAK_USER:-securetest}
APXS=$(command -v apxs || command -v apxs2 || true)
MODDIR=${MODDIR:-$([ -n "$APXS" ] && $APXS -q LIBEXECDIR || echo /usr/lib/apache2/modules)}

# ------------------------------------------------------------------ prerequisites (build/deps installs them)
missing=""
for t in "$HTTPD" openssl perl curl h2load memcached redis-server timeout; do
    command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
for m in mpm_event authz_core mime socache_shmcb socache_memcache socache_redis ssl http2; do
    [ -f "$MODDIR/mod_$m.so" ] || missing="$missing mod_$m.so"
done
perl -MIO::Socket::SSL -e 1 2>/dev/null || missing="$missing IO::Socket::SSL"
[ -z "$missing" ] || { echo "soak.sh: missing:$missing (run build/deps)" >&2; exit 2; }
[ -f "$SO" ] || { echo "soak.sh: $SO not built (./configure --enable-sanitizers && make)" >&2; exit 2; }
case "$SO" in /*) ;; *) SO="$PWD/$SO" ;; esac
if nm -D "$SO" 2>/dev/null | grep -q '__asan_init'; then
    [ -f "$ASAN_RT" ] || { echo "soak.sh: ASan runtime $ASAN_RT not found (SANITIZER_RUNTIME)" >&2; exit 2; }
elif [ "$NOASAN" = yes ]; then
    ASAN_RT=""
else
    echo "soak.sh: $SO is not built with ASan (./configure --enable-sanitizers), or pass --no-asan" >&2
    exit 2
fi
busy=$(perl -MIO::Socket::INET -e 'for (1 .. 5) { my $p = $ARGV[0] + $_;
    print "$p " if IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $p, Timeout => 1) }' "$PORT")
[ -z "$busy" ] || { echo "soak.sh: port(s) $busy in use on 127.0.0.1 (choose --port)" >&2; exit 2; }

# ------------------------------------------------------------------ the work folder
if [ -z "$DIR" ]; then
    DIR=$(mktemp -d /tmp/mod_secure-soak-XXXXXX)
elif [ -e "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
    echo "soak.sh: $DIR is not empty (a run's records would mix with another's)" >&2
    exit 2
else
    mkdir -p "$DIR"
fi
DIR=$(cd "$DIR" && pwd)
mkdir -p "$DIR/pki" "$DIR/crl" "$DIR/deny" "$DIR/conf" "$DIR/run" "$DIR/logs" "$DIR/data" "$DIR/sanitizer" \
    "$DIR/htdocs" "$DIR/bin"
: > "$DIR/run/pids"
USERLINES=""
if [ "$(id -u)" = 0 ]; then
    id "$SOAK_USER" >/dev/null 2>&1 || useradd --system --create-home --shell /bin/sh "$SOAK_USER"
    USERLINES="User $SOAK_USER
Group $(id -gn "$SOAK_USER")"
fi

DRIVER=""
cleanup() {
    # an interrupted run: the driver stops what it started when told to (it is bounded to ~45 s)
    if [ -n "$DRIVER" ] && kill -0 "$DRIVER" 2>/dev/null; then
        kill -TERM "$DRIVER" 2>/dev/null || true
        i=0
        while kill -0 "$DRIVER" 2>/dev/null && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
    fi
    # whatever is left (the driver was killed itself): only the processes it recorded, by id, and only while
    # their command line still names this soak
    if [ -f "$DIR/run/pids" ]; then
        while read -r pid name; do
            [ -r "/proc/$pid/cmdline" ] || continue
            if tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -e "$DIR" -e " $((PORT + 4))" -e " $((PORT + 5))"; then
                kill "$pid" 2>/dev/null || true
            fi
        done < "$DIR/run/pids"
    fi
}
trap 'cleanup' EXIT
trap 'echo "soak.sh: interrupted" >&2; exit 2' INT TERM

echo "soak.sh: work folder $DIR, module $SO, ${DURATION} s"
printf 'so\t%s\nasan\t%s\n' "$SO" "$([ -n "$ASAN_RT" ] && echo yes || echo NO)" > "$DIR/data/module.tsv"
"$SRC/bench/soak/pki.sh" "$DIR/pki" "http://127.0.0.1:$((PORT + 3))/ocsp"
cp "$SRC/bench/soak/ocsp-responder.pl" "$DIR/bin/"
echo "soak ok" > "$DIR/htdocs/index.html"
# the verdict-cache secret, for a module that knows SecureRevocationCacheKey (a network cache needs one there)
(umask 077 && openssl rand 48 > "$DIR/conf/cache.key")

LOADS=""
for m in mpm_event authz_core mime socache_shmcb socache_memcache socache_redis ssl http2 watchdog; do
    [ -f "$MODDIR/mod_$m.so" ] && LOADS="$LOADS
LoadModule ${m}_module $MODDIR/mod_$m.so"
done

vhost() { # NAME PORT UNKNOWN-POLICY
cat <<V
Listen 127.0.0.1:$2
<VirtualHost 127.0.0.1:$2>
    ServerName soak-$1
    Protocols h2 http/1.1
    SSLEngine on
    SSLCertificateFile "$DIR/pki/server.crt"
    SSLCertificateKeyFile "$DIR/pki/server.key"
    SSLCACertificateFile "$DIR/pki/client-cas.pem"
    SSLVerifyClient optional
    SSLVerifyDepth 3
    SecureEngine on
    SecureCRL "$DIR/crl"
    SecureCRLCheckInterval 2
    SecureDenyList "$DIR/deny/deny.txt"
    # the responder is named by the AIA of ica-ocsp's leaves only (bench/soak/pki.sh)
    SecureOCSP on
    SecureOCSPTimeout 2
    SecureOCSPFailures 3
    SecureOCSPRetry 3
    SecureRevocationUnknown $3
    CustomLog "$DIR/logs/access_log" soak
    <Location /info>
        SetHandler secure-info
    </Location>
    <Location /status>
        SetHandler secure-status
    </Location>
</VirtualHost>
V
}

cat > "$DIR/conf/httpd.conf" <<CONF
# mod_secure soak (bench/soak.sh), generated $(date -u +%FT%TZ)
ServerRoot "$DIR"
ServerName localhost
DefaultRuntimeDir "$DIR/run"
PidFile "$DIR/run/httpd.pid"
Mutex file:$DIR/run default
ErrorLog "$DIR/logs/error_log"
LogLevel warn
$USERLINES
$LOADS
LoadModule secure_module $SO
TypesConfig /etc/mime.types
DocumentRoot "$DIR/htdocs"
StartServers 2
ServerLimit 16
ThreadsPerChild 16
MaxRequestWorkers 64
MinSpareThreads 16
MaxSpareThreads 48
Timeout 20
KeepAliveTimeout 3
SSLSessionCache "shmcb:$DIR/run/ssl_scache(512000)"
LogFormat "%{%s}t.%{msec_frac}t %p %H %>s %{SSL_PROTOCOL}x resumed=%{SSL_SESSION_RESUMED}x cn=\"%{SSL_CLIENT_S_DN_CN}x\" rev=%{SECURE_CLIENT_REVOCATION}e src=%{SECURE_CLIENT_REVOCATION_SOURCE}e" soak
# rewritten by the soak before each graceful restart: memcache and redis in turn
Include "$DIR/conf/cache.conf"
<IfDirective SecureRevocationCacheKey>
SecureRevocationCacheKey "$DIR/conf/cache.key"
</IfDirective>
SecureRevocationUnknownTTL 3
$(vhost allow $((PORT + 1)) allow)
$(vhost deny $((PORT + 2)) deny)
CONF

if [ "$(id -u)" = 0 ]; then
    # the children read the CRL and the deny list at every reload and write sanitizer logs and runtime files
    chown -R "$SOAK_USER" "$DIR/run" "$DIR/sanitizer"
    chmod 755 "$DIR" "$DIR/pki" "$DIR/crl" "$DIR/deny" "$DIR/htdocs"
    chmod 644 "$DIR"/pki/*.crt "$DIR"/pki/*.pem
    # the responder runs as SOAK_USER and signs with ica-ocsp's key
    chown "$SOAK_USER" "$DIR/pki/ica-ocsp.key" "$DIR/logs"
    chmod -R a+rX "$DIR/pki/ocsp" "$DIR/pki/crl-variants" "$DIR/pki/deny" "$DIR/bin"
fi

# ------------------------------------------------------------------ run and judge
# DURATION bounds the whole run: the load phase gets what setup left, minus 15 s for stopping and judging
# (the driver bounds its own shutdown to ~25 s; `timeout` is the backstop)
RUN=$((DURATION - ($(date +%s) - START) - 15))
[ "$RUN" -ge 20 ] || { echo "soak.sh: setup took too long for a ${DURATION} s run" >&2; exit 2; }
echo "soak.sh: load and faults for ${RUN} s"
rc=0
timeout --kill-after=10 $((RUN + 60)) perl "$SRC/bench/soak/driver.pl" --dir "$DIR" --duration "$RUN" \
    --port "$PORT" ${SEED:+--seed "$SEED"} --httpd "$HTTPD" --asan "$ASAN_RT" --user "$SOAK_USER" &
DRIVER=$!
wait "$DRIVER" || rc=$?
DRIVER=""
if [ $rc -ne 0 ] && [ $rc -ne 130 ]; then
    echo "soak.sh: the driver failed (exit $rc); logs in $DIR/logs" >&2
    tail -n 20 "$DIR/logs/error_log" "$DIR/logs/httpd.out" 2>/dev/null >&2 || true
    exit 2
fi
rc=0
perl "$SRC/bench/soak/report.pl" --dir "$DIR" --so "$SO" || rc=$?
echo "soak.sh: wall time $(( $(date +%s) - START )) s; everything is in $DIR"
if [ $rc -eq 0 ] && [ "$KEEP" = no ]; then rm -rf "$DIR"; fi
exit $rc
