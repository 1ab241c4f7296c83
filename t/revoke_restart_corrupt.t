# A graceful restart while a SecureCRL file is corrupt keeps the revocations it had (finding 10). Config:
# a server of its own (start_instance), so the test may restart it:
#     SecureCRL <dir>                 one file in it, ca.crl, rewritten by the test
#     SecureCRLCheckInterval 1
#     SecureRevocationUnknown allow   fail-open: a forgotten CRL would let client_revoked in (200)
# Every CRL that verified is kept as DefaultRuntimeDir/mod_secure-crl/<key>.<sha256>.crl; when the file
# does not verify at startup, the newest kept copy is verified again and used (SEC11150).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use SecureTest qw(s_client cert_file key_file sslca run_cmd httpd_bin wait_until);
use SecurePKI qw(scratch_ca revoke gencrl);
use SecureRevoke qw(install_file);
use SecureTest qw(alert_of);
use SecureOCSP qw(start_instance stop_instance spare_port_base);
use SecureTest qw(t_logs);

plan tests => 14, need_module('mod_ssl.c', 'mod_secure.c');

my $port = spare_port_base() + 4;
my $crldir = t_logs() . '/revoke-restart-crl';
File::Path::remove_tree($crldir);
File::Path::make_path($crldir);
my $file = "$crldir/ca.crl";
my $root = start_instance(name => 'restart', ports => [$port], conf => <<"CONF");
<VirtualHost 127.0.0.1:$port>
    SSLEngine on
    SSLCertificateFile "\@SSLCA\@/certs/server.crt"
    SSLCertificateKeyFile "\@SSLCA\@/keys/server.pem"
    SSLCACertificateFile "\@SSLCA\@/certs/ca.crt"
    SSLVerifyClient optional
    SecureEngine on
    SecureCRL "$crldir"
    SecureCRLCheckInterval 1
    SecureRevocationUnknown allow
    <Location /info>
        SetHandler secure-info
    </Location>
</VirtualHost>
CONF
my $log = "$root/logs/error_log";

sub log_size { return -s $log || 0 }
sub log_since {
    my $mark = shift;
    open my $fh, '<', $log or return '';
    seek $fh, $mark, 0;
    local $/;
    return <$fh> // '';
}

# (alert the client received, HTTP status or 0, SECURE_CLIENT_REVOCATION) over TLS 1.3
sub check {
    my $name = shift;
    my ($rc, $out) = s_client(port => $port, path => '/info',
                              args => ['-tls1_3', '-cert', cert_file($name), '-key', key_file($name)]);
    my $status = $out =~ /HTTP\/1\.1 (\d{3})/ ? $1 : 0;
    my $rev = $out =~ /"SECURE_CLIENT_REVOCATION"\s*:\s*"(\w+)"/ ? $1 : '';
    return (alert_of($out) // 0, $status, $rev);
}

# The same answer on several new connections (a change reaches each child within the interval).
sub settled {
    my ($name, $want_alert, $want_rev) = @_;
    return wait_until(8, sub {
        for (1 .. 3) {
            my ($alert, $status, $rev) = check($name);
            return 0 unless $alert == $want_alert && ($want_rev eq '' || $rev eq $want_rev);
        }
        return 1;
    });
}

# 1. a CRL revoking client_revoked arrives while the server runs (the children load it, and keep a copy)
my $asf_crl = sslca() . '/crl/ca-bundle.crl';
install_file($file, src => $asf_crl);
ok(settled('client_revoked', 44, ''), 'the CRL is loaded live: client_revoked refused with alert 44');
ok(settled('client_ok', 0, 'GOOD'), '... client_ok GOOD');
my @copies = glob(t_logs() . '/inst-restart/logs/mod_secure-crl/*.crl');
is(scalar @copies, 1, 'one verified copy is kept in DefaultRuntimeDir/mod_secure-crl') or diag("@copies");

# 2. the file is half-written (an operator copying a new CRL in place)
my $crl = do { open my $fh, '<', $asf_crl or die; local $/; <$fh> };
my $mark = log_size();
install_file($file, data => substr($crl, 0, int(length($crl) / 2)));
ok(wait_until(5, sub { log_since($mark) =~ /SEC10405: .*CRL file \Q$file\E refused: .*stays in force/ }),
   'the half-written file is refused while running, the loaded CRL stays in force');
ok(settled('client_revoked', 44, ''), '... client_revoked still refused');

# 3. graceful restart now: the new generation must not forget the revocation
$mark = log_size();
my ($rc, $out) = run_cmd([httpd_bin(), '-f', "$root/httpd.conf", '-k', 'graceful'], '', 30);
is($rc, 0, 'graceful restart sent') or diag($out);
ok(wait_until(20, sub { log_since($mark) =~ /resuming normal operations/ }), '... and done');
my $since = log_since($mark);
like($since, qr/SEC10405: .*CRL file \Q$file\E refused: .*its last verified copy is used instead/,
     'at startup the corrupt file is refused and the kept copy named');
like($since, qr/SEC11150: .*CRL file \Q$file\E does not verify, so its last verified copy \S+mod_secure-crl\/\S+\.crl is in force instead/,
     '... with a tagged warning');
my ($alert, $status, $rev) = check('client_revoked');
is($alert, 44, 'after the restart client_revoked is still refused with alert 44 (was 200 under allow)');
is($status, 0, '... and gets no response');
ok(settled('client_ok', 0, 'GOOD'), '... client_ok is still GOOD (the copy is a complete, fresh CRL)');

# 4. a valid new CRL takes effect, replacing the copy
my $ca = scratch_ca(t_logs() . '/revoke-restart-ca');
revoke($ca, cert_file('client_ok'), 'keyCompromise');
install_file($file, src => gencrl($ca, t_logs() . '/revoke-restart-ca/new.crl'));
ok(settled('client_ok', 44, ''), 'a new valid CRL revoking client_ok takes effect: client_ok refused');
ok(settled('client_revoked', 44, ''), '... and client_revoked stays refused');

stop_instance('restart');
