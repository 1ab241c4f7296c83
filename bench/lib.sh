# bench/lib.sh — shared by the benchmark scripts (sourced, not run). Sets TOP, APXS, MODDIR, HTTPD and
# provides the pieces every bench httpd config starts with.

TOP=$(cd "$(dirname "$0")/.." && pwd)
APXS=$(command -v apxs || command -v apxs2)
MODDIR=$($APXS -q LIBEXECDIR)
HTTPD=$($APXS -q SBINDIR)/$($APXS -q TARGET)

# bench_cert DIR: a throw-away RSA-2048 server certificate DIR/cert.pem + DIR/key.pem, and DIR/index.html.
bench_cert() {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1/key.pem" -out "$1/cert.pem" -days 2 \
        -subj /CN=localhost >/dev/null 2>&1
    echo ok > "$1/index.html"
}

# bench_conf_head DIR [USER-LINES]: the self-contained top of an httpd config serving DIR, with mod_ssl and
# the mod_secure of this build tree, sessions off (every connection is a full handshake).
bench_conf_head() {
    cat <<CONF
ServerRoot "$1"
ServerName localhost
DefaultRuntimeDir "$1"
PidFile "$1/httpd.pid"
Mutex file:$1 default
ErrorLog "$1/error_log"
LogLevel warn
${2:-}
LoadModule mpm_event_module $MODDIR/mod_mpm_event.so
LoadModule authz_core_module $MODDIR/mod_authz_core.so
LoadModule mime_module $MODDIR/mod_mime.so
LoadModule socache_shmcb_module $MODDIR/mod_socache_shmcb.so
LoadModule ssl_module $MODDIR/mod_ssl.so
LoadModule secure_module $TOP/mod_secure/.libs/mod_secure.so
TypesConfig /etc/mime.types
DocumentRoot "$1"
SSLSessionCache none
SSLSessionTickets off
CONF
}

# bench_vhost PORT DIR LINES: a TLS vhost on 127.0.0.1:PORT with DIR's certificate and LINES inside.
bench_vhost() {
    printf 'Listen 127.0.0.1:%s\n<VirtualHost 127.0.0.1:%s>\n SSLEngine on\n' "$1" "$1"
    printf ' SSLCertificateFile "%s/cert.pem"\n SSLCertificateKeyFile "%s/key.pem"\n %s\n</VirtualHost>\n' \
        "$2" "$2" "$3"
}

# bench_client_pki: in the current folder, a CA (ca.crt/ca.key), server.crt/.key (also as cert.pem/key.pem
# for bench_vhost), client.crt/.key issued by it, and ./gen_crl built from bench/gen_crl.c.
bench_client_pki() {
    cc -std=c11 -O2 -o gen_crl "$TOP/bench/gen_crl.c" -lcrypto
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -subj "/CN=bench CA" -days 30 \
        -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1
    for n in server client; do
        openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj "/CN=$n" >/dev/null 2>&1
        openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -set_serial 0x$(openssl rand -hex 8) -days 30 \
            -out $n.crt >/dev/null 2>&1
    done
    cp server.crt cert.pem
    cp server.key key.pem
}
