# Silent passes in the verify wrapper and the request-time re-check (issue 9, finding 9): each failure
# must refuse, log and count. No client can make OpenSSL fail on purpose, so a scratch httpd runs with
# t/lib/secure_fault_shim.c preloaded, which fails chosen calls for mod_secure only:
#   - the SSL_CTX ex_data index for the verify wrapper cannot be had: startup must fail (SEC11104), not
#     run without mod_secure's certificate checks;
#   - the SHA-256 of a resumed session's client certificate cannot be computed: 403 (SEC11100), not 200;
#   - the verify wrapper finds no connection state: the handshake fails (SEC11103), not passes.
# The vhost: SSLVerifyClient optional, SecureRevocationUnknown allow (no source), so without the faults
# client_ok gets 200.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use JSON::PP ();
use Time::HiRes ();
use SecureTest qw(tls_request client_ctx cert_file key_file sslca run_cmd httpd_bin s_client alert_of client);
use SecureOCSP ();

plan tests => 14, need_module('mod_ssl.c', 'mod_secure.c');

my $cfg = Apache::Test::config();
my $root = $cfg->{vars}->{t_logs} . '/failclosed-request';
my $port = SecureOCSP::spare_port_base() + 9;
File::Path::remove_tree($root);
File::Path::make_path("$root/logs", "$root/htdocs", "$root/faults");

# the shim, and an httpd launcher that preloads it (after the sanitizer runtime, when there is one)
my $shim = "$root/secure_fault_shim.so";
my ($rc, $out) = run_cmd(['cc', '-shared', '-fPIC', '-O1', '-o', $shim, $cfg->{vars}->{t_dir} . '/lib/secure_fault_shim.c',
                          '-ldl', '-lcrypto'], '', 120);
die "cannot build the fault shim: $out" if $rc != 0;
my $httpd = httpd_bin();
my $launcher = "$root/httpd-faults";
{
    my $text;
    if (-T $httpd && open my $in, '<', $httpd) {           # t/run-tests' sanitizer wrapper
        local $/;
        $text = <$in>;
        $text =~ s/^export LD_PRELOAD="([^"]*)"$/export LD_PRELOAD="$1 $shim"/m or die "no LD_PRELOAD in $httpd";
    }
    else {
        $text = "#!/bin/sh\nexport LD_PRELOAD=\"$shim\"\nexec \"$httpd\" \"\$@\"\n";
    }
    open my $fh, '>', $launcher or die "$launcher: $!";
    print {$fh} $text;
    close $fh;
    chmod 0755, $launcher;
}

my $moddir = `apxs -q LIBEXECDIR 2>/dev/null` || '/usr/lib/apache2/modules';
chomp $moddir;
my $mods = '';
open my $base, '<', $cfg->{vars}->{t_conf} . '/httpd-base.conf' or die "httpd-base.conf: $!";
while (<$base>) {
    $mods .= $_ if /^LoadModule\s+(authz_core|mime|socache_shmcb|ssl|secure)_module/;
}
close $base;
my $ca = sslca();
open my $conf, '>', "$root/httpd.conf" or die;
print {$conf} <<"CONF";
ServerRoot "$root"
ServerName localhost
DefaultRuntimeDir "$root/logs"
PidFile "$root/logs/httpd.pid"
ErrorLog "$root/logs/error_log"
LogLevel info
Mutex file:$root/logs
TypesConfig /etc/mime.types
DocumentRoot "$root/htdocs"
LoadModule mpm_event_module $moddir/mod_mpm_event.so
$mods
StartServers 1
ThreadsPerChild 4
MaxRequestWorkers 4
Listen 127.0.0.1:$port
SSLSessionCache "shmcb:$root/logs/ssl_scache(65536)"
<VirtualHost 127.0.0.1:$port>
    ServerName failclosed.request
    SSLEngine on
    SSLCertificateFile "$ca/certs/server.crt"
    SSLCertificateKeyFile "$ca/keys/server.pem"
    SSLCACertificateFile "$ca/certs/ca.crt"
    SSLVerifyClient optional
    SSLVerifyDepth 3
    SecureEngine on
    SecureRevocationUnknown allow
    <Location /info>
        SetHandler secure-info
    </Location>
    <Location /status>
        SetHandler secure-status
    </Location>
</VirtualHost>
CONF
close $conf;

sub log_text { open my $fh, '<', "$root/logs/error_log" or return ''; local $/; return <$fh> // '' }
sub start {
    my %env = @_;
    local @ENV{keys %env} = values %env;
    local $ENV{SECURE_FAULT_DIR} = "$root/faults";
    my ($rc, $out) = run_cmd([$launcher, '-f', "$root/httpd.conf", '-k', 'start'], '', 60);
    return SecureOCSP::wait_port($port, 1, 10);
}
sub stop {
    run_cmd([$launcher, '-f', "$root/httpd.conf", '-k', 'stop'], '', 30);
    my $deadline = Time::HiRes::time() + 15;
    Time::HiRes::sleep(0.1) while -e "$root/logs/httpd.pid" && Time::HiRes::time() < $deadline;
    SecureOCSP::wait_port($port, 0, 5);
}
sub fault { my ($name, $on) = @_; my $f = "$root/faults/$name"; if ($on) { open my $fh, '>', $f or die; close $fh } else { unlink $f } }
my %client_ok = (client('client_ok'));

# ---- no ex_data index for the verify wrapper: startup fails ----------------------------------------
my $up = start(SECURE_FAULT_NO_CTX_INDEX => 1);
ok(!$up, 'without the verify wrapper\'s ex_data index httpd does not start');
like(log_text(), qr/SEC11104: failclosed\.request\S*: cannot install mod_secure's certificate checks on the vhost's TLS context: OpenSSL gave no SSL_CTX ex_data index/,
     '... SEC11104 says which vhost and why');
stop() if $up;
unlink "$root/logs/error_log";

# ---- the same server without faults: 200 ------------------------------------------------------------
ok(start(), 'without faults httpd starts') or diag(log_text());
my $ctx = client_ctx(SSL_version => 'TLSv1_2', %client_ok);
my $r = tls_request(port => $port, path => '/info', ctx => $ctx);
is($r->{status}, 200, 'client_ok: 200 (unknown status, allow)') or diag($r->{error} // '');

# ---- hashing a resumed session's certificate fails: 403 -----------------------------------------------
fault('digest-sha256', 1);
my $before = log_text();
$r = tls_request(port => $port, path => '/info', ctx => $ctx);
fault('digest-sha256', 0);
is($r->{reused}, 1, 'the session is resumed (its certificate is re-checked at the first request)');
is($r->{status}, 403, 'SHA-256 of the client certificate fails: 403, not 200');
my $log = substr(log_text(), length $before);
like($log, qr/SEC11100: failclosed\.request\S*: client 127\.0\.0\.1 refused \(403\): cannot compute the SHA-256 of its client certificate '[^']*CN=client_ok/,
     '... SEC11100 names the vhost, the client and the certificate');
$r = tls_request(port => $port, path => '/info', ctx => client_ctx(SSL_version => 'TLSv1_2', %client_ok));
is($r->{status}, 200, 'the fault gone, a new connection gets 200 again');

# ---- the verify wrapper finds no connection state: the handshake fails --------------------------------
fault('no-conn-state', 1);
$before = log_text();
($rc, $out) = s_client(port => $port, path => '/info',
                       args => ['-tls1_2', '-cert', cert_file('client_ok'), '-key', key_file('client_ok')]);
fault('no-conn-state', 0);
unlike($out, qr/HTTP\/1\.1 200/, 'no connection state in the verify wrapper: no 200');
ok(defined alert_of($out), '... the handshake ends with an alert (alert ' . (alert_of($out) // 'none') . ')');
$log = substr(log_text(), length $before);
like($log, qr/SEC11103: failclosed\.request\S*: client 127\.0\.0\.1 refused at the handshake: its connection has no mod_secure state/,
     '... SEC11103 names the vhost, the client and the reason');

# ---- the counters -----------------------------------------------------------------------------------
$r = tls_request(port => $port, path => '/status?json');
my $c = eval { JSON::PP->new->decode($r->{body} // '') } || {};
is($c->{revocation_hash_failed}, 1, 'secure-status: revocation_hash_failed 1');
is($c->{verify_refused_no_state}, 1, 'secure-status: verify_refused_no_state 1');
stop();
ok(!SecureOCSP::wait_port($port, 1, 1), 'the scratch server is stopped');
