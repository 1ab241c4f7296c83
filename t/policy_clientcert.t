# Client-certificate floors (t/conf/policy.conf.in). Extra client certificates are made here, signed by the
# asf test CA: RSA-1024, RSA-2048 signed with SHA-1, EC P-256; client_ok is the CA's own RSA-2048 one.
#   policy_clientkey: SecureClientKeyMin rsa:3072 ec:256 over OpenSSL's default security level
#   policy_weak:      default floors (rsa:2048 ec:256, no SHA-1) with OpenSSL's security level at 0, so that
#                     the refusals below are mod_secure's, not OpenSSL's
#   policy_sha1ok:    the same with SecureClientAllowSHA1 on
#   policy_reneg:     rsa:3072 with a per-directory SSLVerifyClient (renegotiation, mod_ssl's own callback)
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use IO::Socket::SSL qw(SSL_VERIFY_NONE);
use Net::SSLeay ();
use SecureTest qw(tls_request info_json cert_file key_file vhost_port run_cmd error_log_mark error_log_since client alert_of);
use SecurePolicy qw(client_cert);

plan tests => 29, need_module('mod_ssl.c', 'mod_secure.c');

my ($rsa1024_crt, $rsa1024_key) = client_cert('rsa1024', key => 'rsa:1024');
my ($sha1_crt, $sha1_key) = client_cert('rsa2048sha1', key => 'rsa:2048', md => 'sha1');
my ($ec_crt, $ec_key) = client_cert('ec256', key => 'ec:P-256');

# What the certificate files themselves say (independent of the server).
my (undef, $txt) = run_cmd(['openssl', 'x509', '-in', $rsa1024_crt, '-noout', '-text'], '', 20);
like($txt, qr/Public-Key: \(1024 bit\)/, 'made: an RSA-1024 client certificate');
(undef, $txt) = run_cmd(['openssl', 'x509', '-in', $sha1_crt, '-noout', '-text'], '', 20);
like($txt, qr/Signature Algorithm: sha1WithRSAEncryption/, 'made: a SHA-1-signed client certificate');
(undef, $txt) = run_cmd(['openssl', 'x509', '-in', $ec_crt, '-noout', '-text'], '', 20);
like($txt, qr/NIST CURVE: P-256/, 'made: an EC P-256 client certificate');

# TLS 1.2, so that a refused client certificate fails the handshake itself (TLS 1.3 clients finish first).
# The client's own OpenSSL would refuse to load a 1024-bit or SHA-1 certificate at its default security
# level, so the context is set to level 0 before the certificate goes in.
sub with_cert {
    my ($vhost, $crt, $key) = @_;
    my $load = sub {
        my $ctx = shift;
        Net::SSLeay::CTX_set_security_level($ctx, 0);
        Net::SSLeay::CTX_use_certificate_chain_file($ctx, $crt) or die "client certificate $crt";
        Net::SSLeay::CTX_use_PrivateKey_file($ctx, $key, Net::SSLeay::FILETYPE_PEM()) or die "client key $key";
    };
    return tls_request(vhost => $vhost, path => '/info',
                       ssl => { SSL_version => 'TLSv1_2', SSL_cipher_list => 'DEFAULT:@SECLEVEL=0',
                                SSL_create_ctx_callback => $load });
}

# --- rsa:3072 over OpenSSL's own level: a 2048-bit key is refused by mod_secure, EC P-256 passes ---
my $mark = error_log_mark();
my $r = with_cert('policy_clientkey', cert_file('client_ok'), key_file('client_ok'));
ok(!defined $r->{status}, 'SecureClientKeyMin rsa:3072: the RSA-2048 client certificate fails the handshake');
is(alert_of($r), 42, '... with a TLS alert (bad certificate)');
like(error_log_since($mark), qr/SEC10221: vhost [^,]+, client 127\.0\.0\.1: SecurePolicy intermediate refused the client certificate: client_key:rsa:2048 at chain depth 0 \(floors rsa:3072 ec:256/,
     '... and the error log says which floor (SEC10221)');
$r = with_cert('policy_clientkey', $ec_crt, $ec_key);
is($r->{status}, 200, 'SecureClientKeyMin ec:256: the EC P-256 client certificate passes');
my $v = info_json($r);
is($v->{SECURE_POLICY_RESULT}, 'pass', '... SECURE_POLICY_RESULT = pass');
$r = tls_request(vhost => 'policy_clientkey', path => '/info', ssl => { SSL_version => 'TLSv1_2' });
is($r->{status}, 200, 'no client certificate (SSLVerifyClient optional): 200');

# --- the default floors, with OpenSSL out of the way ---
$r = with_cert('policy_weak', cert_file('client_ok'), key_file('client_ok'));
is($r->{status}, 200, 'default floors: the CA\'s RSA-2048 SHA-256 client certificate passes');
$mark = error_log_mark();
$r = with_cert('policy_weak', $rsa1024_crt, $rsa1024_key);
ok(!defined $r->{status}, 'default floors: the RSA-1024 client certificate fails the handshake');
is(alert_of($r), 42, '... with a TLS alert (bad certificate)');
like(error_log_since($mark), qr/SEC10221: .*client_key:rsa:1024 at chain depth 0 \(floors rsa:2048 ec:256/,
     '... refused by mod_secure\'s floor, not OpenSSL\'s (SEC10221)');
$mark = error_log_mark();
$r = with_cert('policy_weak', $sha1_crt, $sha1_key);
ok(!defined $r->{status}, 'default floors: the SHA-1-signed client certificate fails the handshake');
is(alert_of($r), 42, '... with a TLS alert (bad certificate)');
like(error_log_since($mark), qr/SEC10221: .*client_sig:sha1WithRSAEncryption at chain depth 0/,
     '... refused by mod_secure\'s signature rule (SEC10221)');
$r = with_cert('policy_sha1ok', $sha1_crt, $sha1_key);
is($r->{status}, 200, 'SecureClientAllowSHA1 on: the SHA-1-signed client certificate passes');
is(info_json($r)->{SECURE_POLICY_RESULT}, 'pass', '... SECURE_POLICY_RESULT = pass');
$r = with_cert('policy_sha1ok', $rsa1024_crt, $rsa1024_key);
ok(!defined $r->{status}, 'SecureClientAllowSHA1 on: the RSA-1024 client certificate still fails');
is(alert_of($r), 42, '... with a TLS alert (bad certificate)');

# --- at OpenSSL's default security level both fail as well (OpenSSL refuses them before mod_secure) ---
$r = with_cert('policy_clientkey', $rsa1024_crt, $rsa1024_key);
ok(!defined $r->{status}, 'default security level: the RSA-1024 client certificate fails the handshake');
is(alert_of($r), 42, '... with a TLS alert (bad certificate), from OpenSSL\'s security level');
$r = with_cert('policy_clientkey', $sha1_crt, $sha1_key);
ok(!defined $r->{status}, 'default security level: the SHA-1-signed client certificate fails the handshake');
is(alert_of($r), 42, '... with a TLS alert (bad certificate), from OpenSSL\'s security level');

# --- renegotiation: mod_ssl's own callback accepts the 2048-bit key; the request is refused, 403 and closed ---
{
    my $port = vhost_port('policy_reneg');
    $mark = error_log_mark();
    my $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $port, SSL_hostname => 'localhost',
                                 SSL_verify_mode => SSL_VERIFY_NONE, SSL_version => 'TLSv1_2',
                                 client('client_ok'),
                                 Timeout => 10);
    ok($s, 'TLS 1.2 connection to the per-directory SSLVerifyClient vhost') or diag($IO::Socket::SSL::SSL_ERROR);
    print $s "GET /certreq/env.pl HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n";
    my $resp = '';
    my $deadline = time + 10;
    while (time < $deadline) {
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $resp .= $buf;
    }
    like($resp, qr/^HTTP\/1\.1 403/, 'after the renegotiation: 403 (client_key:rsa:2048 under rsa:3072)');
    like($resp, qr/^Connection: close\r$/mi, '... and the connection is closed although the client asked keep-alive');
    like(error_log_since($mark), qr/SEC10231: vhost [^,]+, client 127\.0\.0\.1: SecurePolicy intermediate refuses this connection: client_key:rsa:2048; answered 403 and closed/,
         '... the error log names the rule (SEC10231)');
    close $s;
}
$r = tls_request(vhost => 'policy_reneg', path => '/cgi/env.pl', ssl => { SSL_version => 'TLSv1_2' });
is($r->{status}, 200, 'the same vhost outside /certreq: 200');
