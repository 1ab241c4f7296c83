# Client-certificate revocation against Apache::TestSSLCA's CRL, and the three answers when no CRL
# covers the issuer. Config: t/conf/revoke.conf.in (revoke_crl, revoke_unk_*).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use SecureTest qw(tls_request info_json s_client cert_file key_file error_log_mark error_log_since config_test alert_of client);
use SecurePKI qw(serial_of);

plan tests => 32, need_module('mod_ssl.c', 'mod_secure.c');


# openssl s_client with a client certificate: (exit status, output, alert number the client received)
sub sclient {
    my ($vhost, $name, @ver) = @_;
    my ($rc, $out) = s_client(vhost => $vhost, path => '/info',
                              args => [@ver, '-cert', cert_file($name), '-key', key_file($name)]);
    return ($rc, $out, alert_of($out));
}

# The CRL file itself says client_revoked is revoked and client_ok is not (independent check).
my $crl_text = `openssl crl -in ${\ SecureTest::sslca()}/crl/ca-bundle.crl -noout -text`;
my $revoked_serial = serial_of(cert_file('client_revoked'));
like($crl_text, qr/Serial Number: 0*\Q$revoked_serial\E\b/i, 'the test CRL lists client_revoked');

my $mark = error_log_mark();
for my $ver (['-tls1_2'], ['-tls1_3']) {
    my ($rc, $out, $alert) = sclient('revoke_crl', 'client_revoked', @$ver);
    is($alert, 44, "client_revoked refused with alert 44 certificate_revoked ($ver->[0])");
    unlike($out, qr/HTTP\/1\.1 200/, "... and no response ($ver->[0])");
}
my $log = error_log_since($mark);
like($log, qr/SEC10301: \S+: client 127\.0\.0\.1 refused at the handshake: certificate '[^']*CN=client_revoked[^']*' \(serial 0*\Q$revoked_serial\E,.*source crl/,
     'the error log names the vhost, client, subject, serial and source');

my $r = tls_request(vhost => 'revoke_crl', path => '/info', ssl => { client('client_ok') });
my $v = info_json($r);
is($r->{status}, 200, 'client_ok gets 200');
is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', 'SECURE_CLIENT_REVOCATION GOOD');
is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'crl', 'SECURE_CLIENT_REVOCATION_SOURCE crl');
{
    # the revocation check hashed the certificate; the variable reuses that hash: it must still be this one's
    (my $fp = `openssl x509 -in ${\ cert_file('client_ok')} -noout -fingerprint -sha256`) =~ s/^.*=|:|\s//g;
    is($v->{SECURE_CLIENT_SHA256}, lc $fp, 'SECURE_CLIENT_SHA256 (from the revocation check\'s hash) = openssl x509 -fingerprint');
}

$r = tls_request(vhost => 'revoke_crl', path => '/info');
$v = info_json($r);
is($r->{status}, 200, 'no client certificate: 200 (SSLVerifyClient optional)');
is($v->{SECURE_CLIENT_REVOCATION}, 'NONE', 'SECURE_CLIENT_REVOCATION NONE without a client certificate');

$r = tls_request(vhost => 'revoke_crl', path => '/cgi/good/env.pl', ssl => { client('client_ok') });
is($r->{status}, 404, 'Require secure-revocation good lets client_ok through (404: no such file)');
$r = tls_request(vhost => 'revoke_crl', path => '/cgi/good/env.pl');
is($r->{status}, 403, 'Require secure-revocation good refuses a connection without certificate');

# No CRL covers the issuer: deny / allow / defer.
$mark = error_log_mark();
my ($rc, $out, $alert) = sclient('revoke_unk_deny', 'client_ok', '-tls1_2');
ok(defined $alert && $alert != 44, 'unknown + deny: handshake refused with an alert other than 44')
    or diag($out);
is($alert, 46, '... alert 46 certificate_unknown');
like(error_log_since($mark), qr/SEC10302: .*client 127\.0\.0\.1 refused at the handshake: revocation status of certificate '[^']*CN=client_ok.*is unknown \(.*no fresh CRL.*SecureRevocationUnknown is deny/,
     '... logged with the reason');
($rc, $out, $alert) = sclient('revoke_unk_deny', 'client_ok', '-tls1_3');
is($alert, 46, 'unknown + deny over TLS 1.3: the same alert');

$r = tls_request(vhost => 'revoke_unk_allow', path => '/info', ssl => { client('client_ok') });
$v = info_json($r);
is($r->{status}, 200, 'unknown + allow: 200');
is($v->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', '... SECURE_CLIENT_REVOCATION UNKNOWN');
is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'none', '... SECURE_CLIENT_REVOCATION_SOURCE none');

$r = tls_request(vhost => 'revoke_unk_defer', path => '/info', ssl => { client('client_ok') });
$v = info_json($r);
is($r->{status}, 200, 'unknown + defer: 200 where no rule asks');
is($v->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', '... SECURE_CLIENT_REVOCATION UNKNOWN');
$r = tls_request(vhost => 'revoke_unk_defer', path => '/good', ssl => { client('client_ok') });
is($r->{status}, 403, 'unknown + defer + Require secure-revocation good: 403');
$r = tls_request(vhost => 'revoke_unk_defer', path => '/good-or-unknown', ssl => { client('client_ok') });
is($r->{status}, 200, 'unknown + defer + Require secure-revocation good unknown: 200');

# Config-time checks: each bad value is refused by httpd -t, naming the directive and the value.
my $load = "LoadModule ssl_module \@MODDIR\@/mod_ssl.so\nLoadModule secure_module \@SECURE_SO\@\n";
for my $case (['SecureCRL /nonexistent/crl.pem', qr/SecureCRL: '\/nonexistent\/crl\.pem' cannot be read/],
              ['SecureCRLCheckInterval 0', qr/SecureCRLCheckInterval: '0' is not a valid duration; use 1 to 86400/],
              ['SecureCRLMaxStale soon', qr/SecureCRLMaxStale: 'soon' is not a valid duration/],
              ['SecureRevocationScope all', qr/SecureRevocationScope: 'all' is not allowed; use leaf or chain/],
              ['SecureRevocationUnknown maybe', qr/SecureRevocationUnknown: 'maybe' is not allowed; use deny, allow or defer/],
              ['SecureDenyList /nonexistent', qr/SecureDenyList: '\/nonexistent' cannot be read/],
              ["<Location />\nRequire secure-revocation fine\n</Location>", qr/Require secure-revocation: 'fine' is not allowed; use good, unknown or none/]) {
    my ($crc, $cout) = config_test("$load$case->[0]\n");
    ok($crc != 0 && $cout =~ $case->[1], "httpd -t refuses '" . (grep { /Secure|secure-/ } split /\n/, $case->[0])[0] . "' with a precise message")
        or diag($cout);
}
