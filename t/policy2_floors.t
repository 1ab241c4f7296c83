# Floors without SecurePolicy (t/conf/policy2.conf.in): each of SecureMinProtocol, SecureCipherExclude,
# SecureGroups, SecureClientKeyMin and SecureClientAllowSHA1 applies on its own, on top of mod_ssl's
# settings, at the same enforcement points as with a profile; report mode records instead of refusing.
#   policy2_ctl       no floor, security level 0, client certificates optional: the control
#   policy2_keymin    SecureClientKeyMin rsa:3072
#   policy2_report    SecureClientKeyMin rsa:3072 + SecureMinProtocol TLSv1.3, SecurePolicyMode report
#   policy2_minproto  SecureMinProtocol TLSv1.3
#   policy2_exclude   SecureCipherExclude ECDHE-RSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256
#   policy2_groups    SecureGroups secp384r1
#   policy2_sha1      SecureClientAllowSHA1 off, security level 0
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Net::SSLeay ();
use SecureTest qw(tls_request info_json cert_file key_file run_cmd s_client error_log_mark error_log_since
                  alert_of config_test);
use SecurePolicy qw(client_cert);

plan tests => 50, need_module('mod_ssl.c', 'mod_secure.c');

my ($rsa3072_crt, $rsa3072_key) = client_cert('rsa3072', key => 'rsa:3072');
my ($sha1_crt, $sha1_key) = client_cert('rsa2048sha1', key => 'rsa:2048', md => 'sha1');
my (undef, $txt) = run_cmd(['openssl', 'x509', '-in', $rsa3072_crt, '-noout', '-text'], '', 20);
like($txt, qr/Public-Key: \(3072 bit\)/, 'made: an RSA-3072 client certificate');
(undef, $txt) = run_cmd(['openssl', 'x509', '-in', cert_file('client_ok'), '-noout', '-text'], '', 20);
like($txt, qr/Public-Key: \(2048 bit\)/, 'the asf client_ok certificate has an RSA-2048 key');

sub refused { my $r = shift; return defined $r->{error} && !defined $r->{status} }

# TLS 1.2 (a refused client certificate fails the handshake itself), the client at security level 0 so
# that its own OpenSSL loads every certificate.
sub with_cert {
    my ($vhost, $crt, $key, %ssl) = @_;
    my $load = sub {
        my $ctx = shift;
        Net::SSLeay::CTX_set_security_level($ctx, 0);
        Net::SSLeay::CTX_use_certificate_chain_file($ctx, $crt) or die "client certificate $crt";
        Net::SSLeay::CTX_use_PrivateKey_file($ctx, $key, Net::SSLeay::FILETYPE_PEM()) or die "client key $key";
    };
    return tls_request(vhost => $vhost, path => '/info',
                       ssl => { SSL_version => 'TLSv1_2', SSL_cipher_list => 'DEFAULT:@SECLEVEL=0',
                                SSL_create_ctx_callback => $load, %ssl });
}

# --- the control accepts everything used below ---
my $r = with_cert('policy2_ctl', cert_file('client_ok'), key_file('client_ok'));
is($r->{status}, 200, 'control (no floor): the RSA-2048 client certificate gets through');
my $v = info_json($r);
is($v->{SECURE_POLICY}, undef, 'control: SECURE_POLICY unset');
is($v->{SECURE_POLICY_VERSION}, undef, 'control: SECURE_POLICY_VERSION unset');
$r = with_cert('policy2_ctl', $sha1_crt, $sha1_key);
is($r->{status}, 200, 'control: the SHA-1-signed client certificate gets through');

# --- SecureClientKeyMin rsa:3072 alone ---
my $mark = error_log_mark();
$r = with_cert('policy2_keymin', cert_file('client_ok'), key_file('client_ok'));
ok(refused($r), 'SecureClientKeyMin rsa:3072 alone: the RSA-2048 client certificate fails the handshake');
is(alert_of($r), 42, '... with a TLS alert (bad certificate)');
like(error_log_since($mark), qr/SEC10221: vhost [^,]+, client 127\.0\.0\.1: the Secure\* floors \(no SecurePolicy\) refused the client certificate: client_key:rsa:2048 at chain depth 0 \(floors rsa:3072 ec:0/,
     '... the error log names the floor (SEC10221)');
$r = with_cert('policy2_keymin', $rsa3072_crt, $rsa3072_key);
is($r->{status}, 200, 'SecureClientKeyMin rsa:3072 alone: the RSA-3072 client certificate gets through');
$v = info_json($r);
is($v->{SECURE_POLICY}, 'none', 'SECURE_POLICY = none');
is($v->{SECURE_POLICY_VERSION}, 'none', 'SECURE_POLICY_VERSION = none');
is($v->{SECURE_POLICY_MODE}, 'enforce', 'SECURE_POLICY_MODE = enforce');
is($v->{SECURE_POLICY_RESULT}, 'pass', 'SECURE_POLICY_RESULT = pass');
$r = with_cert('policy2_keymin', $sha1_crt, $sha1_key);
ok(refused($r), 'SecureClientKeyMin alone: a SHA-1 RSA-2048 certificate fails (key floor; OpenSSL level too)');
$r = tls_request(vhost => 'policy2_keymin', path => '/info', ssl => { SSL_version => 'TLSv1_2' });
is($r->{status}, 200, 'SecureClientKeyMin alone: no client certificate (optional): 200');
$r = tls_request(vhost => 'policy2_keymin', path => '/info',
                 ssl => { SSL_version => 'TLSv1_2', SSL_cipher_list => 'AES128-SHA' });
is($r->{status}, 200, 'SecureClientKeyMin alone narrows no cipher: mod_ssl\'s AES128-SHA still works');

# --- report mode: the same floors record, not refuse ---
$mark = error_log_mark();
$r = with_cert('policy2_report', cert_file('client_ok'), key_file('client_ok'));
is($r->{status}, 200, 'report mode: TLS 1.2 with the RSA-2048 client certificate gets through');
$v = info_json($r);
is($v->{SECURE_POLICY_MODE}, 'report', 'SECURE_POLICY_MODE = report');
is($v->{SECURE_POLICY_RESULT}, 'violation', 'SECURE_POLICY_RESULT = violation');
is($v->{SECURE_POLICY_VIOLATION}, 'protocol:TLSv1.2 client_key:rsa:2048',
   'SECURE_POLICY_VIOLATION names both floors broken');
like(error_log_since($mark), qr/SEC10230: vhost [^,]+, client 127\.0\.0\.1: the Secure\* floors \(no SecurePolicy\) \(report mode\) would refuse this connection: protocol:TLSv1\.2 client_key:rsa:2048/,
     '... and the report line says what would be refused (SEC10230)');
$r = with_cert('policy2_report', $rsa3072_crt, $rsa3072_key, SSL_version => 'TLSv1_3');
is($r->{status}, 200, 'report mode: TLS 1.3 with the RSA-3072 client certificate gets through');
is(info_json($r)->{SECURE_POLICY_RESULT}, 'pass', '... SECURE_POLICY_RESULT = pass');

# --- SecureMinProtocol TLSv1.3 alone ---
my ($rc, $out) = s_client(vhost => 'policy2_minproto', path => '/info', args => ['-tls1_2']);
unlike($out, qr/HTTP\/1\.1 200/, 'SecureMinProtocol TLSv1.3 alone: openssl s_client -tls1_2 gets no answer');
like($out, qr/alert protocol version|no protocols available|wrong version number|unsupported protocol/i,
     '... the handshake fails on the protocol version');
($rc, $out) = s_client(vhost => 'policy2_minproto', path => '/info', args => ['-tls1_3']);
like($out, qr/HTTP\/1\.1 200/, 'SecureMinProtocol TLSv1.3 alone: openssl s_client -tls1_3 gets 200');
$r = tls_request(vhost => 'policy2_minproto', path => '/info', ssl => { SSL_version => 'TLSv1_3' });
$v = info_json($r);
is($v->{SECURE_POLICY}, 'none', '... SECURE_POLICY = none');
is($v->{SECURE_TLS_VERSION} // $r->{version}, 'TLSv1.3', '... over TLS 1.3');
($rc, $out) = s_client(vhost => 'policy2_ctl', path => '/info', args => ['-tls1_2']);
like($out, qr/HTTP\/1\.1 200/, 'control: openssl s_client -tls1_2 gets 200 (the refusal above is the floor\'s)');

# --- SecureCipherExclude alone ---
$r = tls_request(vhost => 'policy2_exclude', path => '/info',
                 ssl => { SSL_version => 'TLSv1_2', SSL_cipher_list => 'ECDHE-RSA-AES128-GCM-SHA256' });
ok(refused($r), 'SecureCipherExclude alone: a client offering only ECDHE-RSA-AES128-GCM-SHA256 fails');
$r = tls_request(vhost => 'policy2_exclude', path => '/info',
                 ssl => { SSL_version => 'TLSv1_2', SSL_cipher_list => 'ECDHE-RSA-AES256-GCM-SHA384' });
is($r->{status}, 200, 'SecureCipherExclude alone: ECDHE-RSA-AES256-GCM-SHA384 gets through');
$r = tls_request(vhost => 'policy2_exclude', path => '/info',
                 ssl => { SSL_version => 'TLSv1_2', SSL_cipher_list => 'AES128-SHA' });
is($r->{status}, 200, 'SecureCipherExclude alone: mod_ssl\'s AES128-SHA (no profile to drop it) gets through');
($rc, $out) = s_client(vhost => 'policy2_exclude', path => '/info',
                       args => ['-tls1_3', '-ciphersuites', 'TLS_AES_128_GCM_SHA256']);
unlike($out, qr/HTTP\/1\.1 200/, 'SecureCipherExclude alone: a TLS_AES_128_GCM_SHA256-only TLS 1.3 client gets no answer');
($rc, $out) = s_client(vhost => 'policy2_ctl', path => '/info',
                       args => ['-tls1_3', '-ciphersuites', 'TLS_AES_128_GCM_SHA256']);
like($out, qr/HTTP\/1\.1 200/, 'control: the same client gets 200');
($rc, $out) = s_client(vhost => 'policy2_exclude', path => '/info',
                       args => ['-tls1_3', '-ciphersuites', 'TLS_AES_256_GCM_SHA384']);
like($out, qr/HTTP\/1\.1 200/, 'SecureCipherExclude alone: TLS_AES_256_GCM_SHA384 gets 200');

# --- SecureGroups alone ---
$r = tls_request(vhost => 'policy2_groups', path => '/info', ssl => { SSL_version => 'TLSv1_3', SSL_ecdh_curve => 'X25519' });
ok(refused($r), 'SecureGroups secp384r1 alone: an X25519-only TLS 1.3 client fails the handshake');
$r = tls_request(vhost => 'policy2_ctl', path => '/info', ssl => { SSL_version => 'TLSv1_3', SSL_ecdh_curve => 'X25519' });
is($r->{status}, 200, 'control: the X25519-only client gets through');
$r = tls_request(vhost => 'policy2_groups', path => '/info',
                 ssl => { SSL_version => 'TLSv1_3', SSL_ecdh_curve => 'X25519:secp384r1' });
is($r->{status}, 200, 'SecureGroups alone: a client that also offers secp384r1 gets through');
is(info_json($r)->{SECURE_KEX_GROUP}, 'secp384r1', '... over secp384r1');
($rc, $out) = s_client(vhost => 'policy2_groups', path => '/info',
                       args => ['-tls1_2', '-cipher', 'ECDHE', '-groups', 'P-256']);
unlike($out, qr/HTTP\/1\.1 200/, 'SecureGroups alone: a TLS 1.2 ECDHE client offering only P-256 gets no answer');
($rc, $out) = s_client(vhost => 'policy2_ctl', path => '/info', args => ['-tls1_2', '-cipher', 'ECDHE', '-groups', 'P-256']);
like($out, qr/HTTP\/1\.1 200/, 'control: the same client gets 200');

# --- SecureClientAllowSHA1 off alone ---
$mark = error_log_mark();
$r = with_cert('policy2_sha1', $sha1_crt, $sha1_key);
ok(refused($r), 'SecureClientAllowSHA1 off alone: the SHA-1-signed client certificate fails the handshake');
is(alert_of($r), 42, '... with a TLS alert (bad certificate)');
like(error_log_since($mark), qr/SEC10221: .*the Secure\* floors \(no SecurePolicy\) refused the client certificate: client_sig:sha1WithRSAEncryption/,
     '... refused by mod_secure\'s signature rule (SEC10221)');
$r = with_cert('policy2_sha1', cert_file('client_ok'), key_file('client_ok'));
is($r->{status}, 200, 'SecureClientAllowSHA1 off alone: the SHA-256-signed RSA-2048 certificate gets through (no key floor)');

# --- httpd -t: a floor that leaves mod_ssl nothing fails the configuration test, without SecurePolicy too ---
my $load = "LoadModule ssl_module \@MODDIR\@/mod_ssl.so\nLoadModule secure_module \@SECURE_SO\@\n";
($rc, $out) = config_test(<<"CONF");
$load<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName floors.test
    SSLEngine on
    SSLCertificateFile "\@SSLCA\@/certs/server.crt"
    SSLCertificateKeyFile "\@SSLCA\@/keys/server.pem"
    SSLProtocol TLSv1.2
    SecureEngine on
    SecureMinProtocol TLSv1.3
</VirtualHost>
CONF
isnt($rc, 0, 'httpd -t refuses SecureMinProtocol TLSv1.3 alone over SSLProtocol TLSv1.2');
like($out, qr/SEC10204: vhost floors\.test:\d+: the Secure\* floors \(no SecurePolicy\) and SSLProtocol 'TLSv1\.2' .* leave no protocol version to negotiate/,
     '... naming the vhost, the floors and the mod_ssl directive (SEC10204)');
($rc, $out) = config_test(<<"CONF");
$load<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName floors.test
    SSLEngine on
    SSLCertificateFile "\@SSLCA\@/certs/server.crt"
    SSLCertificateKeyFile "\@SSLCA\@/keys/server.pem"
    SecureEngine on
    SecureClientKeyMin rsa:3072
    SecureGroups secp384r1
</VirtualHost>
CONF
is($rc, 0, 'httpd -t accepts floors alone (no SEC10200 "no effect" refusal)') or diag($out);
unlike($out, qr/SEC10200/, '... and no longer warns that they have no effect');
